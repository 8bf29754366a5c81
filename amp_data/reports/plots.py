"""Figures of motion banks, in the style of the AMP+SAC paper (Fig. 4-7): PNG files, matplotlib Agg.

One function per figure, each taking the banks by label ({label: Bank}) and returning a Figure;
`FIGURES` maps the file name to the function and `write_figures` writes them all. To add a figure,
add a function with that signature and an entry in `FIGURES`.

Colours follow the paper where it compares a reference with a policy: the first bank red, the second
blue, then the usual matplotlib cycle.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from amp_data.format.bank import Bank
from amp_data.format.atomic import atomic_output
from amp_data.errors import InputError
from amp_data.motion.cycle_select import representative_cycle
from amp_data.reports.inspect_report import short_labels
from amp_data.motion.rom import compare_banks

COLOURS = ("tab:red", "tab:blue", "tab:green", "tab:orange", "tab:purple", "tab:brown", "tab:pink",
           "tab:olive", "tab:cyan", "tab:gray")
# The paper shows one side of the robot: the left legs, front and rear.
LEFT_SIDE_JOINTS = ("FL_hip_joint", "FL_thigh_joint", "FL_calf_joint",
                    "RL_hip_joint", "RL_thigh_joint", "RL_calf_joint")
DPI = 120


def colour(i: int) -> str:
    return COLOURS[i % len(COLOURS)]


def _joint_label(name: str) -> str:
    return name.removesuffix("_joint").replace("_", " ")


def rom_figure(banks: dict[str, Bank], joints=LEFT_SIDE_JOINTS) -> Figure:
    """Joint ROM, mean +- std (rad), of the left legs' joints: grouped bars, one bar per bank."""
    comparison = compare_banks(banks)
    idx = [comparison.joint_names.index(j) for j in joints]
    mean, std = comparison.stat("mean")[:, idx], comparison.stat("std")[:, idx]
    n_banks = len(comparison.labels)
    fig = Figure(figsize=(8.0, 4.5), dpi=DPI, layout="constrained")
    ax = fig.add_subplot()
    x = np.arange(len(joints))
    width = 0.8 / n_banks
    for b, label in enumerate(short_labels(comparison.labels)):
        ax.bar(x + (b - (n_banks - 1) / 2) * width, mean[b], width * 0.9, yerr=std[b], capsize=3,
               color=colour(b), alpha=0.85, label=label, error_kw={"elinewidth": 1})
    ax.set_xticks(x, [_joint_label(j) for j in joints])
    ax.axhline(0.0, color="black", linewidth=0.6)
    ax.set_ylabel("joint angle (rad)")
    ax.set_title("Joint range of motion, left side (mean ± std)")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(frameon=False)
    return fig


def velocity_lines(banks: dict[str, Bank]) -> list[tuple[str, float, np.ndarray]]:
    """(label, fps, base_lin_vel (T, 3) m/s) per clip: one line per bank, or per clip of a multi-clip bank."""
    lines = []
    for label, bank in zip(short_labels(banks), banks.values()):
        for clip in bank.clips:
            name = label if len(bank.clips) == 1 else f"{label}: {clip.name}"
            lines.append((name, bank.fps, bank["base_lin_vel"][clip.start:clip.stop]))
    return lines


def base_velocity_figure(banks: dict[str, Bank]) -> Figure:
    """Base x (forward) and z (vertical) velocity in the base frame over time (s), one line per
    bank or clip, each clip from t = 0; dotted: the line's mean (as the paper's Fig. 6 and 7)."""
    fig = Figure(figsize=(9.0, 6.0), dpi=DPI, layout="constrained")
    ax_x, ax_z = fig.subplots(2, 1, sharex=True)
    for i, (name, fps, vel) in enumerate(velocity_lines(banks)):
        t = np.arange(len(vel)) / fps
        for ax, axis in ((ax_x, 0), (ax_z, 2)):
            ax.plot(t, vel[:, axis], color=colour(i), linewidth=1.2, label=name)
            ax.axhline(vel[:, axis].mean(), color=colour(i), linestyle=":", linewidth=1.2)
    ax_x.set_ylabel("base x velocity (m/s)")
    ax_z.set_ylabel("base z velocity (m/s)")
    ax_z.set_xlabel("time (s)")
    ax_x.set_title("Base velocity (base frame); dotted: mean")
    for ax in (ax_x, ax_z):
        ax.grid(alpha=0.3)
    ax_x.legend(frameon=False, fontsize="small", ncol=2)
    return fig


CYCLE_JOINTS = ("FL_hip_joint", "FL_thigh_joint", "FL_calf_joint")


def cycle_lines(banks: dict[str, Bank]) -> list[tuple[str, np.ndarray | None, object]]:
    """(label, frame indices of one cycle from FL touchdown, Cycle) per clip; indices None without a cycle."""
    lines = []
    for label, bank in zip(short_labels(banks), banks.values()):
        for clip in bank.clips:
            name = label if len(bank.clips) == 1 else f"{label}: {clip.name}"
            found = representative_cycle(bank, clip)
            lines.append((name, bank, None, None) if found is None else (name, bank, *found))
    return lines


def gait_diagram_figure(banks: dict[str, Bank]) -> Figure:
    """Foot contacts over one normalised gait cycle (0-100 %, from FL's touchdown), one panel per clip:
    a bar per foot where it is on the ground (the paper's Fig. 3 and 10, top)."""
    lines = cycle_lines(banks)
    fig = Figure(figsize=(8.0, 1.0 + 1.3 * len(lines)), dpi=DPI, layout="constrained")
    axes = np.atleast_1d(fig.subplots(len(lines), 1, sharex=True))
    for i, (ax, (name, bank, idx, cyc)) in enumerate(zip(axes, lines)):
        feet = [f.removesuffix("_foot") for f in bank.foot_names]
        if idx is None:
            ax.text(0.5, 0.5, "no complete gait cycle", ha="center", va="center", transform=ax.transAxes)
        else:
            contacts = np.asarray(bank["contacts"][idx], dtype=bool)
            edges = np.linspace(0.0, 100.0, len(idx) + 1)
            for f in range(contacts.shape[1]):
                runs = np.flatnonzero(np.diff(np.concatenate([[0], contacts[:, f].astype(int), [0]])))
                spans = [(edges[a], edges[b] - edges[a]) for a, b in zip(runs[::2], runs[1::2])]
                ax.broken_barh(spans, (f - 0.35, 0.7), color=colour(i))
            name = f"{name}: {cyc.gait}, {cyc.period_s:.2f} s cycle"
        ax.set_yticks(range(len(feet)), feet)
        ax.set_ylim(len(feet) - 0.5, -0.5)
        ax.set_title(name, fontsize="medium", loc="left")
        ax.grid(axis="x", alpha=0.3)
    axes[-1].set_xlim(0, 100)
    axes[-1].set_xlabel("gait cycle (%)")
    fig.suptitle("Foot contacts over one gait cycle")
    return fig


def joint_cycle_figure(banks: dict[str, Bank], joints=CYCLE_JOINTS) -> Figure:
    """Front-left hip, thigh and calf angles (rad) over one normalised gait cycle, one line per clip; the
    first bank dotted red (the reference, as in the paper's Fig. 3 and 10, bottom)."""
    fig = Figure(figsize=(8.0, 7.0), dpi=DPI, layout="constrained")
    axes = fig.subplots(len(joints), 1, sharex=True)
    for i, (name, bank, idx, cyc) in enumerate(cycle_lines(banks)):
        if idx is None:
            continue
        pct = np.arange(len(idx)) * 100.0 / len(idx)
        for ax, joint in zip(axes, joints):
            q = bank["joint_pos"][idx, list(bank.joint_names).index(joint)]
            ax.plot(pct, q, color=colour(i), linestyle=":" if i == 0 else "-", linewidth=1.6,
                    label=f"{name} ({cyc.gait})")
    for ax, joint in zip(axes, joints):
        ax.set_ylabel(f"{_joint_label(joint)} (rad)")
        ax.grid(alpha=0.3)
    axes[0].legend(frameon=False, fontsize="small")
    axes[-1].set_xlim(0, 100)
    axes[-1].set_xlabel("gait cycle (%)")
    fig.suptitle("Front-left leg joint angles over one gait cycle")
    return fig


# file name -> figure function; `amp-data inspect --plot DIR` writes each.
FIGURES: dict[str, Callable[[dict[str, Bank]], Figure]] = {
    "rom.png": rom_figure,
    "base_velocity.png": base_velocity_figure,
    "gait_diagram.png": gait_diagram_figure,
    "joint_cycle.png": joint_cycle_figure,
}


def save_png(fig: Figure, path: Path) -> Path:
    """Write `fig` as PNG atomically (a temporary file next to `path`, then rename)."""
    FigureCanvasAgg(fig)
    with atomic_output(path) as tmp:
        fig.savefig(tmp, format="png")
    return path


def plot_folder(out_dir: str | Path) -> Path:
    """`out_dir`, created if missing; InputError naming it if it is a file or cannot be made."""
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError(out_dir, "is a file; --plot needs a folder")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise InputError(out_dir, f"cannot create plot folder ({e.strerror})") from None
    return out_dir


def write_figures(banks: dict[str, Bank], out_dir: str | Path, figures=None) -> list[Path]:
    """Write every figure of `figures` (default FIGURES) into `out_dir` (created if missing); their paths."""
    out_dir = plot_folder(out_dir)
    return [save_png(make(banks), out_dir / name) for name, make in (figures or FIGURES).items()]
