"""What `amp-data inspect` reports about motion banks: summaries, joint ROM, and the bank listing.

A report is built from *sections*. Each section computes a JSON-ready payload per bank and renders
the payloads of all banks as rich tables (all at once, so banks can be shown side by side).
`SECTIONS` holds them by name; a new section (e.g. gait phase) is a `Section` added there and a CLI
flag that asks for it.

JSON: with one section, `{bank: payload}`; with several, `{bank: {section: payload}}`. The bank key
is the path as given on the command line. Payloads:

- `summary`: frames, fps, duration_s, loop_mode, mean_forward_speed_m_s, duty_factor {foot: fraction},
  clips [{name, start, stop, frames, duration_s, weight, loop_mode, source_file, source_start,
  source_stop, mean_forward_speed_m_s, duty_factor}], and robot, schema_version, gait.
- `rom`: {joint_name: {min, max, mean, std, range}} (rad); with per-clip ROM
  {"all": {joint_name: ...}, "clips": {clip_name: {joint_name: ...}}}.
- `phase`: {gait, clips: {clip_name: {gait, duty [FL, FR, RL, RR], forward_speed_m_s, time_share {label: fraction},
  cycles [{start, stop, period_s, stride_freq_hz, duty [4], phase [4] (FL = 0; null: no footfall),
  forward_speed_m_s, froude, gait}]}}} (amp_data/motion/gait.py: rules and thresholds).

Durations: a `clamp` clip of T frames lasts (T - 1) / fps (first to last frame, as the retarget table);
a `wrap` clip T / fps (one full cycle: its last frame is followed by its first). A bank lasts the sum
of its clips. Mean forward speed: the mean of `base_lin_vel` x (base frame) over frames. Duty factor:
the fraction of frames a foot is in contact (`contacts`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
from rich import box
from rich.columns import Columns
from rich.console import Console, RenderableType
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from amp_data.motion import gait
from amp_data.format.bank import Bank, ClipRange, read_bank
from amp_data.errors import InputError
from amp_data.motion.rom import STATS, RangeOfMotion, bank_rom, clip_roms, compare_roms

LISTING_FOLDERS = (Path("."), Path("banks"))
REPORT_WIDTH = 120   # what a table is laid out for when the terminal's width is unknown


@dataclass
class ReportOptions:
    per_clip: bool = False          # ROM of each clip besides the whole bank
    width: int = REPORT_WIDTH       # console width the tables should fit


# --- numbers ---------------------------------------------------------------------------------------

def clip_duration_s(clip: ClipRange, fps: float) -> float:
    frames = clip.num_frames if clip.loop_mode == "wrap" else clip.num_frames - 1
    return frames / fps


def bank_gait_label(bank: Bank) -> str:
    """The bank's gait for the listing: each clip's label (amp_data.motion.gait), joined with '+' when they differ."""
    return gait.bank_gait_label(bank)


def _motion_stats(bank: Bank, start: int, stop: int) -> dict:
    contacts = np.asarray(bank["contacts"][start:stop], dtype=bool)
    return {
        "mean_forward_speed_m_s": float(bank["base_lin_vel"][start:stop, 0].mean()),
        "duty_factor": {foot: float(d) for foot, d in zip(bank.foot_names, contacts.mean(axis=0))},
    }


def clip_summary(bank: Bank, clip: ClipRange) -> dict:
    return {
        "name": clip.name, "start": clip.start, "stop": clip.stop, "frames": clip.num_frames,
        "duration_s": clip_duration_s(clip, bank.fps), "weight": clip.weight, "loop_mode": clip.loop_mode,
        "source_file": clip.source_file, "source_start": clip.source_start, "source_stop": clip.source_stop,
        **_motion_stats(bank, clip.start, clip.stop),
    }


def bank_summary(bank: Bank, options: ReportOptions | None = None) -> dict:
    """The `summary` payload of one bank (see the module docstring)."""
    return {
        "robot": str(bank.attrs.get("robot", "")),
        "schema_version": int(bank.attrs["schema_version"]),
        "frames": bank.num_frames,
        "fps": bank.fps,
        "duration_s": sum(clip_duration_s(c, bank.fps) for c in bank.clips),
        "loop_mode": str(bank.attrs["loop_mode"]),
        "gait": bank_gait_label(bank),
        **_motion_stats(bank, 0, bank.num_frames),
        "clips": [clip_summary(bank, c) for c in bank.clips],
    }


def bank_rom_payload(bank: Bank, options: ReportOptions | None = None) -> dict:
    whole = bank_rom(bank).as_dict()
    if options is None or not options.per_clip:
        return whole
    return {"all": whole, "clips": {name: r.as_dict() for name, r in clip_roms(bank).items()}}


# --- rendering -------------------------------------------------------------------------------------

def _foot_short(name: str) -> str:
    return name.removesuffix("_foot")


def render_summary(payloads: dict[str, dict], options: ReportOptions) -> list[RenderableType]:
    out: list[RenderableType] = []
    for label, s in payloads.items():
        duty = "  ".join(f"{_foot_short(f)} {d:.2f}" for f, d in s["duty_factor"].items())
        head = Text.assemble(
            (label, "bold"), "\n",
            f"{s['frames']} frames at {s['fps']:g} fps, {s['duration_s']:.2f} s, loop {s['loop_mode']}, "
            f"{len(s['clips'])} clip(s), {s['robot']}, schema v{s['schema_version']}\n",
            f"mean forward speed {s['mean_forward_speed_m_s']:.3f} m/s, duty factor {duty}")
        feet = list(s["duty_factor"])
        table = Table(box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True, show_edge=False)
        longest = max(len(c["name"]) for c in s["clips"])
        table.add_column("clip", no_wrap=True, min_width=min(longest, 40))
        for col in ("frames", "s", "weight", "loop", "source", "vx"):
            table.add_column(col, justify="left" if col in ("loop", "source") else "right", no_wrap=col == "source")
        table.add_column("duty " + " ".join(f"{_foot_short(f):>4}" for f in feet), no_wrap=True)
        for c in s["clips"]:
            src = f"{c['source_file']} {c['source_start']}:{c['source_stop']}" if c["source_file"] else "-"
            table.add_row(c["name"], f"{c['start']}:{c['stop']}", f"{c['duration_s']:.2f}", f"{c['weight']:.3g}",
                          c["loop_mode"], src, f"{c['mean_forward_speed_m_s']:.2f}",
                          "     " + " ".join(f"{c['duty_factor'][f]:.2f}" for f in feet))
        out += [head, table, Text("")]
    out.append(Text("frames: [start:stop) in the bank; source: the BVH and its frames [start:stop); vx: mean base x "
                    "velocity, m/s; duty: fraction of frames each foot is in contact", style="dim"))
    return out


def short_labels(labels) -> list[str]:
    """File names of the banks where they are unique, else the labels (paths) as given."""
    labels = [str(x) for x in labels]
    names = [Path(x).name for x in labels]
    return names if len(set(names)) == len(names) else labels


def _angle(rom: RangeOfMotion, stat: str, j: int) -> str:
    value = rom.stat(stat)[j]
    return f"{value:.3f}" if stat in ("std", "range") else f"{value:+.3f}"


def rom_table_grouped(roms: dict[str, RangeOfMotion], title: str) -> Table:
    """Joints as rows; per bank a group of columns min, max, mean, std, range (rad)."""
    labels = list(roms)
    first = roms[labels[0]]
    table = Table(title=title, title_justify="left")
    table.add_column("joint", no_wrap=True)
    for g, label in enumerate(short_labels(labels)):
        style = "" if g % 2 == 0 else "cyan"
        for k, stat in enumerate(STATS):
            header = f"{label.replace(': ', ':' + chr(10))}\n{stat}" if k == 0 else f"\n{stat}"
            table.add_column(header, justify="right", style=style, header_style=f"bold {style}".strip())
    for j, joint in enumerate(first.joint_names):
        cells = [_angle(roms[label], stat, j) for label in labels for stat in STATS]
        table.add_row(joint, *cells, end_section=joint.endswith("calf_joint"))
    return table


def rom_tables_per_stat(roms: dict[str, RangeOfMotion], title: str) -> list[Table]:
    """One table per statistic: joints as rows, banks as columns."""
    labels = list(roms)
    names = roms[labels[0]].joint_names
    tables = []
    for stat in STATS:
        table = Table(title=f"{title}: {stat}", title_justify="left")
        table.add_column("joint", no_wrap=True)
        for label in short_labels(labels):
            table.add_column(label.replace(": ", ":\n"), justify="right")
        for j, joint in enumerate(names):
            table.add_row(joint, *(_angle(roms[label], stat, j) for label in labels),
                          end_section=joint.endswith("calf_joint"))
        tables.append(table)
    return tables


def _fits(table: Table, width: int) -> bool:
    console = Console(width=10_000)
    return Measurement.get(console, console.options, table).maximum <= width


def rom_renderables(roms: dict[str, RangeOfMotion], width: int, title: str = "Joint range of motion (rad)"):
    """Side by side if that fits in `width` columns, else one table per statistic."""
    grouped = rom_table_grouped(roms, title)
    if len(roms) == 1 or _fits(grouped, width):
        return [grouped]
    return [Columns(rom_tables_per_stat(roms, title), padding=(0, 2))]


def _rom_from_payload(joints: dict[str, dict]) -> RangeOfMotion:
    names = tuple(joints)
    col = {s: np.array([joints[j][s] for j in names]) for s in ("min", "max", "mean", "std")}
    return RangeOfMotion(names, 0, col["min"], col["max"], col["mean"], col["std"])


def render_rom(payloads: dict[str, dict], options: ReportOptions) -> list[RenderableType]:
    roms: dict[str, RangeOfMotion] = {}
    labels = short_labels(list(payloads))
    for (label, p), short in zip(payloads.items(), labels):
        if options.per_clip:
            roms[label] = _rom_from_payload(p["all"])
            if len(p["clips"]) > 1:
                roms.update({f"{short}: {clip}": _rom_from_payload(j) for clip, j in p["clips"].items()})
        else:
            roms[label] = _rom_from_payload(p)
    try:
        compare_roms(roms)
    except ValueError as e:
        raise InputError(None, f"banks cannot be compared joint by joint: {e}") from None
    return rom_renderables(roms, options.width)


def bank_phase_payload(bank: Bank, options: ReportOptions | None = None) -> dict:
    clips = {c.name: gait.analyze_clip(bank, c).as_dict() for c in bank.clips}
    labels = list(dict.fromkeys(v["gait"] for v in clips.values()))
    return {"gait": "+".join(labels), "clips": clips}


def render_phase(payloads: dict[str, dict], options: ReportOptions) -> list[RenderableType]:
    out: list[RenderableType] = []
    for label, p in payloads.items():
        for name, r in p["clips"].items():
            share = ", ".join(f"{g} {f:.0%}" for g, f in r["time_share"].items()) or "no complete cycle"
            out.append(Text.assemble((f"{label}", "bold"), f"  clip {name}: gait ", (r["gait"], "bold green"),
                                     f"  (cycle time: {share}; mean forward speed {r['forward_speed_m_s']:.2f} m/s)"))
            if not r["cycles"]:
                out.append(Text("  no complete gait cycle (FL touchdown to FL touchdown) in this clip", style="dim"))
                continue
            table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
            for col in ("frames", "period s", "freq Hz", "duty FL FR RL RR", "phase FR RL RR", "D %", "speed m/s",
                        "Froude", "gait"):
                table.add_column(col, justify="left" if col in ("gait", "frames") else "right", no_wrap=True)
            for c in r["cycles"]:
                phase = " ".join("  - " if x is None else f"{x:.2f}" for x in c["phase"][1:])
                table.add_row(f"{c['start']}:{c['stop']}", f"{c['period_s']:.2f}", f"{c['stride_freq_hz']:.2f}",
                              " ".join(f"{d:.2f}" for d in c["duty"]), phase,
                              "-" if c["diagonality"] is None else f"{100 * c['diagonality']:.0f}",
                              f"{c['forward_speed_m_s']:.2f}", f"{c['froude']:.2f}",
                              c["gait"] + (f" ({c['walk_kind']})" if c["walk_kind"] else ""))
            out += [table, Text("")]
    out.append(Text("A cycle runs from one FL touchdown to the next. duty: fraction of the cycle each foot is down; "
                    "phase: when each foot lands, as a fraction of the cycle after FL; D: Hildebrand's diagonality, the "
                    "% of the cycle by which a fore footfall follows the same side's hind footfall; Froude: "
                    "v^2 / (g h), h the base height. Walk (hind duty >= 0.5) or run (trot, pace) after "
                    "Hildebrand: amp_data/motion/gait.py.", style="dim"))
    return out


QUALITY_COLUMNS = (   # (figure, header, format)
    ("fore_width_m", "fore m", "{:.3f}"), ("hind_width_m", "hind m", "{:.3f}"),
    ("midline_crossing_frames", "cross", "{:.0f}"), ("stance_above_5mm", ">5mm %", "{:.1%}"),
    ("slip_mm_s", "slip", "{:.0f}"), ("dog_slip_mm_s", "dog slip", "{:.0f}"),
    ("min_clearance_mm", "clear mm", "{:.0f}"), ("ik_error_max_mm", "IK max mm", "{:.1f}"),
    ("closure_mm", "closure mm", "{:.0f}"),
)


def bank_quality_payload(bank: Bank, options: ReportOptions | None = None) -> dict:
    """The retarget's figures stored in the bank (group `quality`), per clip."""
    return {c.name: {k: float(v[i]) for k, v in bank.quality.items()} for i, c in enumerate(bank.clips)}


def render_quality(payloads: dict[str, dict], options: ReportOptions) -> list[RenderableType]:
    out: list[RenderableType] = []
    for label, clips in payloads.items():
        if not clips or not next(iter(clips.values())):
            out.append(Text(f"{label}: no quality figures stored (banks written by amp-data retarget or bank gather "
                            "have them)", style="dim"))
            continue
        table = Table(title=f"{label}: what the Go2 is asked for (Go2 stance width 0.284 m)", title_justify="left",
                      box=box.SIMPLE_HEAD)
        table.add_column("clip", no_wrap=True)
        for _, head, _ in QUALITY_COLUMNS:
            table.add_column(head, justify="right", no_wrap=True)
        rows = list(clips.items())
        for name, q in rows[:40]:
            table.add_row(name, *[fmt.format(q.get(k, float("nan"))) for k, _, fmt in QUALITY_COLUMNS])
        if len(rows) > 40:
            table.add_row(f"... {len(rows) - 40} more (--json for all)", *[""] * len(QUALITY_COLUMNS))
        out += [table]
    out.append(Text("slip: median horizontal speed of stance feet (mm/s), Go2 and the dog's toes on the same frames; "
                    ">5mm: stance foot-frames more than 5 mm above the floor; clear: smallest distance between two "
                    "legs; closure: the largest foot-target move that closed a loop. amp_data/motion/feasibility.py.",
                    style="dim"))
    return out


# --- sections and reports --------------------------------------------------------------------------

@dataclass(frozen=True)
class Section:
    name: str
    compute: Callable[[Bank, ReportOptions], Any]                               # bank -> JSON-ready payload
    render: Callable[[dict[str, Any], ReportOptions], list[RenderableType]]     # {label: payload} -> tables


SECTIONS: dict[str, Section] = {
    "summary": Section("summary", bank_summary, render_summary),
    "rom": Section("rom", bank_rom_payload, render_rom),
    "phase": Section("phase", bank_phase_payload, render_phase),
    "quality": Section("quality", bank_quality_payload, render_quality),
}


def load_banks(paths) -> dict[str, Bank]:
    """Read and check each bank; keys are the paths as given. InputError on the first bad one."""
    banks = {}
    for p in paths:
        banks[str(p)] = read_bank(p)
    return banks


@dataclass
class Report:
    sections: list[str]
    payloads: dict[str, dict[str, Any]]          # section -> {bank label: payload}
    options: ReportOptions = field(default_factory=ReportOptions)

    def as_json(self) -> dict:
        labels = list(next(iter(self.payloads.values())))
        if len(self.sections) == 1:
            return dict(self.payloads[self.sections[0]])
        return {label: {s: self.payloads[s][label] for s in self.sections} for label in labels}

    def renderables(self) -> list[RenderableType]:
        out = []
        for s in self.sections:
            out += SECTIONS[s].render(self.payloads[s], self.options)
        return out


def build_report(banks: dict[str, Bank], sections: list[str], options: ReportOptions | None = None) -> Report:
    options = options or ReportOptions()
    unknown = [s for s in sections if s not in SECTIONS]
    if unknown:
        raise ValueError(f"unknown report section(s) {unknown}")
    payloads = {s: {label: SECTIONS[s].compute(b, options) for label, b in banks.items()} for s in sections}
    return Report(list(sections), payloads, options)


# --- listing (bare `amp-data inspect`) --------------------------------------------------------------

@dataclass
class ListedBank:
    path: str
    frames: int | None = None
    duration_s: float | None = None
    fps: float | None = None
    clips: int | None = None
    loop_mode: str | None = None
    gait: str | None = None
    error: str | None = None

    def as_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "path"}


def find_bank_files(folders=LISTING_FOLDERS) -> list[Path]:
    files: list[Path] = []
    for folder in folders:
        if folder.is_dir():
            files += sorted(p for p in folder.glob("*.h5") if p.is_file())
    return files


def list_banks(folders=LISTING_FOLDERS) -> list[ListedBank]:
    """Every *.h5 in `folders`, read and checked; unreadable ones carry the problem in `error`."""
    rows = []
    for path in find_bank_files(folders):
        try:
            bank = read_bank(path)
        except InputError as e:
            rows.append(ListedBank(str(path), error=e.problem))
            continue
        rows.append(ListedBank(str(path), bank.num_frames, sum(clip_duration_s(c, bank.fps) for c in bank.clips),
                               bank.fps, len(bank.clips), str(bank.attrs["loop_mode"]), bank_gait_label(bank)))
    return rows


def listing_json(rows: list[ListedBank]) -> dict:
    return {r.path: r.as_dict() for r in rows}


def listing_renderables(rows: list[ListedBank], folders=LISTING_FOLDERS) -> list[RenderableType]:
    where = " and ".join(f"{f}/" if str(f) != "." else "this folder" for f in folders)
    if not rows:
        return [Text(f"no banks (*.h5) in {where}; make one with `amp-data retarget CLIP -o BANK.h5`")]
    table = Table(title=f"Motion banks in {where}", title_justify="left")
    for col in ("bank", "frames", "s", "fps", "clips", "loop", "gait", "problem"):
        table.add_column(col, justify="right" if col in ("frames", "s", "fps", "clips") else "left",
                         no_wrap=col == "bank")
    for r in rows:
        if r.error:
            table.add_row(r.path, *["-"] * 6, Text(r.error, style="red"))
        else:
            table.add_row(r.path, str(r.frames), f"{r.duration_s:.2f}", f"{r.fps:g}", str(r.clips), r.loop_mode,
                          r.gait, "")
    return [table]
