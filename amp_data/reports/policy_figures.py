"""A policy's motion against its reference banks, as the AMP+SAC paper draws it (Figs. 3-7, 10, 11).

`amp-data inspect rollout.h5 --reference walk.h5 trot.h5 --plot figs/` writes:

- `policy_cycle.png` (Fig. 3): per reference gait, the policy's foot contacts and front-left hip, thigh
  and calf angles over the normalised gait cycle (0-100 %, from FL's touchdown), the reference dotted red;
- `policy_rom.png` (Figs. 4, 5): per gait, joint range of motion of the left legs, mean +- std, policy
  beside reference;
- `policy_velocity.png` (Figs. 6, 7): the policy's base x and z velocity over time, each reference's mean
  dotted.

Each reference bank is paired with the policy clip whose command is nearest the reference's mean forward
speed (a rollout of `amp-data play --command 0.5@5,1.2@5` has a clip per command; banks that are not
rollouts pair by their mean speed). Cycles come from the banks' own gait
analysis (`analyze_clip`), never fixed frame ranges: every complete cycle of the clip's main gait, after a
start-up of `SKIP_S` (the rollout starts standing), is resampled onto 0-100 % and averaged; the reference
averages over all its clips' cycles the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from amp_data.format.bank import Bank, ClipRange
from amp_data.motion.gait import analyze_clip
from amp_data.motion.rom import joint_rom
from amp_data.reports.inspect_report import short_labels
from amp_data.reports.plots import CYCLE_JOINTS, DPI, LEFT_SIDE_JOINTS, plot_folder, save_png

POLICY, REFERENCE = "tab:blue", "tab:red"
PHASE_POINTS = 101          # 0, 1, ..., 100 % of the cycle
SKIP_S = 1.0                # a rollout's first second: the start from standing


@dataclass
class CycleStats:
    """Cycles of one clip or bank on a common 0-100 % phase axis."""
    joint_pos: np.ndarray        # (n_cycles, PHASE_POINTS, 12) rad
    contact: np.ndarray          # (n_cycles, PHASE_POINTS, 4) 0/1
    stride_freq_hz: float        # median over the cycles
    gait: str                    # the main label of the cycles used

    @property
    def n(self) -> int:
        return len(self.joint_pos)


@dataclass
class Pairing:
    reference_label: str
    reference: Bank
    policy_label: str            # "rollout.h5: clip"
    policy: Bank
    clip: ClipRange
    reference_speed_m_s: float
    policy_speed_m_s: float

    @cached_property
    def reference_cycles(self) -> "CycleStats | None":
        return cycle_stats(self.reference, list(self.reference.clips))

    @cached_property
    def policy_cycles(self) -> "CycleStats | None":
        return cycle_stats(self.policy, [self.clip], skip_s=SKIP_S)


def is_rollout(bank: Bank) -> bool:
    """Written by `amp-data play` (it records the checkpoint it played)."""
    return "policy_checkpoint" in bank.attrs or "policy_command_vx_m_s" in bank.attrs


def split_policy_and_references(banks: dict[str, Bank]) -> tuple[dict[str, Bank], dict[str, Bank]]:
    """Rollouts of `amp-data play` are the policy's banks and the others the references; without any
    rollout, the first bank is the subject and the rest its references."""
    policy = {k: b for k, b in banks.items() if is_rollout(b)}
    if not policy:
        first = next(iter(banks))
        policy = {first: banks[first]}
    references = {k: b for k, b in banks.items() if k not in policy}
    return policy, references


def _resample(frames: np.ndarray) -> np.ndarray:
    """(L + 1, ...) frames from one touchdown to the next, inclusive -> (PHASE_POINTS, ...) at 0..100 %."""
    src = np.linspace(0.0, 100.0, len(frames))
    dst = np.linspace(0.0, 100.0, PHASE_POINTS)
    flat = frames.reshape(len(frames), -1)
    out = np.stack([np.interp(dst, src, flat[:, j]) for j in range(flat.shape[1])], axis=1)
    return out.reshape(PHASE_POINTS, *frames.shape[1:])


def cycle_stats(bank: Bank, clips: list[ClipRange], skip_s: float = 0.0) -> CycleStats | None:
    """Every complete cycle of the clips' main gait (after `skip_s` into each clip), resampled; None if
    there is none."""
    chosen = []
    for clip in clips:
        report = analyze_clip(bank, clip)
        cycles = [c for c in report.cycles if c.start >= skip_s * bank.fps] or report.cycles
        chosen += [(clip, c) for c in cycles]
    if not chosen:
        return None
    labels, counts = np.unique([c.gait for _, c in chosen], return_counts=True)
    main = str(labels[np.argmax(counts)])
    chosen = [(clip, c) for clip, c in chosen if c.gait == main]
    joints, contacts = [], []
    for clip, c in chosen:
        # from FL's touchdown to its next one, both included (a wrap clip's cycle runs over its seam)
        idx = clip.start + (c.start + np.arange(c.stop - c.start + 1)) % clip.num_frames
        joints.append(_resample(bank["joint_pos"][idx]))
        contacts.append(np.round(_resample(bank["contacts"][idx].astype(float))))
    return CycleStats(np.stack(joints), np.stack(contacts), float(np.median([c.stride_freq_hz for _, c in chosen])),
                      main)


def _mean_speed(bank: Bank, clip: ClipRange) -> float:
    return float(np.mean(bank["base_lin_vel"][clip.start:clip.stop, 0]))


def clip_commands_m_s(bank: Bank) -> list[float] | None:
    """The forward command of each clip of a rollout (`policy_command_schedule`: one SPEED@SECONDS per
    clip), or None when the bank does not say."""
    text = str(bank.attrs.get("policy_command_schedule", ""))
    try:
        speeds = [float(piece.split("@")[0]) for piece in text.split(",")] if text else []
    except ValueError:
        return None
    return speeds if len(speeds) == len(bank.clips) else None


def pair_clips(policy: dict[str, Bank], references: dict[str, Bank]) -> list[Pairing]:
    """Each reference with the policy clip whose command (a rollout's; else its mean forward speed) is
    nearest the reference's mean forward speed: a policy that lags its command still pairs by intent."""
    candidates = []
    for label, bank in zip(short_labels(policy), policy.values()):
        commands = clip_commands_m_s(bank)
        for k, clip in enumerate(bank.clips):
            speed = _mean_speed(bank, clip)
            candidates.append((label, bank, clip, speed, commands[k] if commands else speed))
    pairs = []
    for ref_label, ref in zip(short_labels(references), references.values()):
        ref_speed = float(np.mean(ref["base_lin_vel"][:, 0]))
        label, bank, clip, speed, _ = min(candidates, key=lambda c: abs(c[4] - ref_speed))
        name = label if len(bank.clips) == 1 else f"{label}: {clip.name}"
        pairs.append(Pairing(ref_label, ref, name, bank, clip, ref_speed, speed))
    return pairs


def pairing_rows(pairs: list[Pairing]) -> list[dict]:
    """Per pair: speeds, stride frequency, gait and cycles of reference and policy (JSON-ready)."""
    rows = []
    for p in pairs:
        ref, pol = p.reference_cycles, p.policy_cycles

        def side(stats, speed):
            return {"speed_m_s": speed, "stride_freq_hz": stats.stride_freq_hz if stats else None,
                    "gait": stats.gait if stats else "-", "cycles": stats.n if stats else 0}

        rows.append({"reference_bank": p.reference_label, "policy_clip": p.policy_label,
                     "reference": side(ref, p.reference_speed_m_s), "policy": side(pol, p.policy_speed_m_s)})
    return rows


def _joint_label(name: str) -> str:
    return name.removesuffix("_joint").replace("_", " ")


def cycle_figure(pairs: list[Pairing], joints=CYCLE_JOINTS) -> Figure:
    """Fig. 3: columns = reference gaits; rows = foot contacts, then each joint over the cycle."""
    fig = Figure(figsize=(4.5 * len(pairs) + 1.0, 2.0 + 2.2 * len(joints)), dpi=DPI, layout="constrained")
    axes = np.array(fig.subplots(1 + len(joints), len(pairs), sharex=True, squeeze=False))
    pct = np.linspace(0.0, 100.0, PHASE_POINTS)
    for col, p in enumerate(pairs):
        pol, ref = p.policy_cycles, p.reference_cycles
        top = axes[0, col]
        feet = [f.removesuffix("_foot") for f in p.reference.foot_names]
        for stats, colour, offset, height in ((ref, REFERENCE, -0.3, 0.2), (pol, POLICY, -0.05, 0.35)):
            if stats is None:
                continue
            on = stats.contact.mean(axis=0) >= 0.5          # in contact in most cycles at this phase
            for f in range(on.shape[1]):
                edges = np.flatnonzero(np.diff(np.r_[0, on[:, f].astype(int), 0]))
                spans = [(pct[a], pct[min(b, PHASE_POINTS - 1)] - pct[a]) for a, b in zip(edges[::2], edges[1::2])]
                top.broken_barh(spans, (f + offset, height), color=colour, alpha=0.9 if colour == POLICY else 0.6)
        top.set_yticks(range(len(feet)), feet)
        top.set_ylim(len(feet) - 0.4, -0.6)
        title = f"{p.reference_label} ({ref.gait if ref else 'no cycle'}, {ref.stride_freq_hz:.2f} Hz)" if ref \
            else p.reference_label
        pol_text = (f"policy {p.policy_label}: {pol.gait}, {pol.stride_freq_hz:.2f} Hz, {pol.n} cycles"
                    if pol else f"policy {p.policy_label}: no complete cycle")
        top.set_title(f"{title}\n{pol_text}", fontsize="small", loc="left")
        for row, joint in enumerate(joints, start=1):
            ax = axes[row, col]
            j = list(p.reference.joint_names).index(joint)
            if pol is not None:
                m, s = pol.joint_pos[:, :, j].mean(axis=0), pol.joint_pos[:, :, j].std(axis=0)
                ax.plot(pct, m, color=POLICY, lw=1.6, label="policy (mean of cycles)")
                ax.fill_between(pct, m - s, m + s, color=POLICY, alpha=0.15, lw=0)
            if ref is not None:
                ax.plot(pct, ref.joint_pos[:, :, j].mean(axis=0), color=REFERENCE, lw=1.6, ls=":",
                        label="reference")
            ax.set_ylabel(f"{_joint_label(joint)} (rad)")
            ax.grid(alpha=0.3)
        axes[-1, col].set_xlabel("gait cycle (%)")
        axes[-1, col].set_xlim(0, 100)
    axes[1, 0].legend(frameon=False, fontsize="small")
    fig.suptitle("Policy (blue) against reference (red): foot contacts and front-left joints over the gait cycle")
    return fig


def rom_figure(pairs: list[Pairing], joints=LEFT_SIDE_JOINTS) -> Figure:
    """Figs. 4, 5: per gait, ROM (mean +- std) of the left legs' joints, reference and policy side by side."""
    fig = Figure(figsize=(8.0, 3.2 * len(pairs) + 0.6), dpi=DPI, layout="constrained")
    axes = np.atleast_1d(fig.subplots(len(pairs), 1, squeeze=False)[:, 0])
    x = np.arange(len(joints))
    for ax, p in zip(axes, pairs):
        names = list(p.reference.joint_names)
        idx = [names.index(j) for j in joints]
        policy_q = p.policy["joint_pos"][p.clip.start:p.clip.stop]
        skip = min(int(SKIP_S * p.policy.fps), len(policy_q) - 1)
        for b, (label, q, colour) in enumerate(((f"reference {p.reference_label}", p.reference["joint_pos"], REFERENCE),
                                                (f"policy {p.policy_label}", policy_q[skip:], POLICY))):
            rom = joint_rom(q, names)
            ax.bar(x + (b - 0.5) * 0.4, rom.stat("mean")[idx], 0.36, yerr=rom.stat("std")[idx], capsize=3,
                   color=colour, alpha=0.85, label=label, error_kw={"elinewidth": 1})
        ax.set_xticks(x, [_joint_label(j) for j in joints])
        ax.axhline(0.0, color="black", linewidth=0.6)
        ax.set_ylabel("joint angle (rad)")
        ax.grid(axis="y", alpha=0.3)
        ax.legend(frameon=False, fontsize="small")
    fig.suptitle("Joint range of motion, left side (mean ± std): policy against reference")
    return fig


def velocity_figure(policy: dict[str, Bank], references: dict[str, Bank]) -> Figure:
    """Figs. 6, 7: the policy's base x and z velocity over time; each reference's mean dotted."""
    fig = Figure(figsize=(9.0, 6.0), dpi=DPI, layout="constrained")
    ax_x, ax_z = fig.subplots(2, 1, sharex=True)
    ref_colours = ("tab:red", "tab:orange", "tab:purple", "tab:brown", "tab:pink")
    for i, (label, bank) in enumerate(zip(short_labels(policy), policy.values())):
        t = np.arange(bank.num_frames) / bank.fps
        vel = bank["base_lin_vel"]
        for ax, axis in ((ax_x, 0), (ax_z, 2)):
            ax.plot(t, vel[:, axis], color=POLICY if i == 0 else f"C{i}", lw=1.0, label=f"policy {label}")
        for clip in bank.clips[1:]:
            for ax in (ax_x, ax_z):
                ax.axvline(clip.start / bank.fps, color="grey", lw=0.8, ls="--")
    for k, (label, ref) in enumerate(zip(short_labels(references), references.values())):
        c = ref_colours[k % len(ref_colours)]
        for ax, axis in ((ax_x, 0), (ax_z, 2)):
            mean = float(np.mean(ref["base_lin_vel"][:, axis]))
            ax.axhline(mean, color=c, ls=":", lw=1.6, label=f"{label} mean {mean:+.2f} m/s")
    ax_x.set_ylabel("base x velocity (m/s)")
    ax_z.set_ylabel("base z velocity (m/s)")
    ax_z.set_xlabel("time (s); dashed: command changes")
    ax_x.set_title("Base velocity of the policy (base frame) against the references' means")
    for ax in (ax_x, ax_z):
        ax.grid(alpha=0.3)
        ax.legend(frameon=False, fontsize="small", ncol=2)
    return fig


def write_policy_figures(banks: dict[str, Bank], out_dir: str | Path) -> tuple[list[Path], list[Pairing]]:
    """The three figures into `out_dir` (created if missing); their paths and the pairing."""
    out_dir = plot_folder(out_dir)
    policy, references = split_policy_and_references(banks)
    pairs = pair_clips(policy, references)
    written = [save_png(cycle_figure(pairs), out_dir / "policy_cycle.png"),
               save_png(rom_figure(pairs), out_dir / "policy_rom.png"),
               save_png(velocity_figure(policy, references), out_dir / "policy_velocity.png")]
    return written, pairs
