"""`amp-data`: dog motion capture -> Unitree Go2 motion banks.

Commands: `retarget` (BVH clips -> HDF5 banks), `clips` (the MANN clips and named gait segments),
`inspect` (what banks hold: clips, speed, duty factors, joint ROM, plots) and `bank merge` (banks -> one).
Errors in the user's input print one line naming the file and the problem, and exit with code 2.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import List, Optional

import numpy as np
import typer
from typer.core import TyperGroup

try:   # typer >= 0.20 carries its own copy of click
    from typer._click import exceptions as click_errors
    from typer._click import echo
except ImportError:
    from click import echo
    from click import exceptions as click_errors
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

import raw_mocap
from amp_data.errors import InputError

_ABORT = getattr(click_errors, "Abort", None) or typer.Abort
_EXIT = getattr(click_errors, "Exit", None) or typer.Exit


class OneLineErrors(TyperGroup):
    """Argument errors (a bad number, an unknown option, a missing argument) as one line on stderr and exit
    code 2, like every other error of amp-data, instead of click's usage block."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        try:
            rv = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except getattr(click_errors, "NoArgsIsHelpError", ()) as e:   # `amp-data bank`: its help, as asked
            echo(e.ctx.get_help() if e.ctx else str(e), err=True)
            sys.exit(2)
        except click_errors.UsageError as e:
            where = f"{e.ctx.command_path}: " if e.ctx is not None else ""
            echo(f"amp-data: error: {where}{e.format_message()} (see --help)", err=True)
            sys.exit(2)
        except click_errors.ClickException as e:
            echo(f"amp-data: error: {e.format_message()}", err=True)
            sys.exit(2)
        except _ABORT:
            echo("amp-data: aborted", err=True)
            sys.exit(1)
        except _EXIT as e:
            sys.exit(e.exit_code)
        sys.exit(rv if isinstance(rv, int) else 0)   # click returns typer.Exit's code when not standalone


app = typer.Typer(
    cls=OneLineErrors,
    help="Turn German Shepherd motion capture into Unitree Go2 motion banks for imitation learning.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
# Rich falls back to 80 columns when not on a terminal; the quality table needs more.
console = Console(width=None if sys.stdout.isatty() else 120)
err_console = Console(stderr=True, width=None if sys.stderr.isatty() else 120)



def fail(message: str) -> None:
    err_console.print(f"amp-data: error: {message}", markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(2)


def _hz(value) -> str:
    return "-" if value is None else f"{value:.2f}"


def _quality_table(outcomes) -> Table:
    table = Table(title="Retarget quality", title_justify="left", caption_justify="left", caption=(
        "IK med / max: foot centre to target, mm (a large max = a dog pose out of the Go2's reach). "
        "clamps: (frame, joint) held at a soft limit. fore/hind: stance width, m (Go2 0.284). >5mm: stance "
        "feet above the floor. slip: median horizontal speed of stance feet, mm/s, Go2 and (dog) the dog's own on "
        "the same frames. cross: frames with a foot over the midline. clear: smallest distance between two legs, "
        "mm. |w|: peak base angular speed, rad/s."))
    name_width = max([len(o.job.output.name) for o in outcomes] + [4])
    for col in ("bank", "frames", "sec", "IK med", "IK max", "clamps", "fore", "hind", ">5mm", "slip", "dog",
                "cross", "clear", "|w|"):
        table.add_column(col, justify="left" if col == "bank" else "right", no_wrap=True,
                         min_width=name_width if col == "bank" else None)
    for o in outcomes:
        if o.quality is None:
            table.add_row(o.job.output.name, *["-"] * 12, "[red]failed[/red]")
            continue
        q, f = o.quality, o.quality.feasibility
        table.add_row(o.job.output.name, str(q.frames), f"{q.duration_s:.1f}", f"{q.foot_error_median_mm:.2f}",
                      f"{q.foot_error_max_mm:.1f}", str(q.limit_clamps), f"{f.fore_width_m:.3f}",
                      f"{f.hind_width_m:.3f}", f"{f.stance_above_5mm:.0%}", f"{q.stance_slip_mm_s:.0f}",
                      f"{q.source_slip_mm_s:.0f}", str(f.midline_crossing_frames), f"{f.min_clearance_mm:.0f}",
                      f"{q.max_ang_vel_rad_s:.1f}")
    return table


def _cycle_lines(outcomes) -> list[str]:
    return [f"{o.job.output}: {o.quality.cycle}" for o in outcomes if o.quality is not None and o.quality.cycle]


@app.command()
def retarget(
    clips: List[str] = typer.Argument(
        None, help="BVH files, folders of them, MANN clip names (D1_009_KAN01_001) or gait segments "
                   "(trot0, pace0, canter0, trot2; see `amp-data clips`). None: every MANN clip found."),
    output: Optional[Path] = typer.Option(
        None, "-o", "--output",
        help="Bank file for one clip (default CLIP.h5), or folder for several (default banks/)."),
    frames: Optional[str] = typer.Option(
        None, "--frames", help="Source frames START:END, 0-based, END excluded (one clip only)."),
    fps: float = typer.Option(50.0, "--fps", help="Frame rate of the bank (Hz, at most 1000); the source is "
                                                  "resampled. A clip may give at most 1,000,000 frames."),
    scale: Optional[float] = typer.Option(
        None, "--scale", help="Dog-to-Go2 scale. Default: the skeleton map's (0.9 for the MANN dog)."),
    skeleton_map: Path = typer.Option(
        None, "--map", help="Skeleton map TOML for another quadruped skeleton (default: MANN dog)."),
    jobs: int = typer.Option(0, "--jobs", "-j", help="Parallel worker processes (0: one per core)."),
    cycle: Optional[str] = typer.Option(
        None, "--cycle", help="Keep only the best single cycle of this gait, closed into a seamless loop "
                              "(loop_mode wrap): walk, trot, pace, canter, or auto (the clip's main gait)."),
    stance_width: Optional[float] = typer.Option(
        None, "--stance-width", help="Left-right distance of the feet (m), averaged over a clip (fore feet 3 cm "
                                     "wider, hind 3 cm narrower). Default: the skeleton map's, else the Go2's "
                                     "thigh joints' 0.284."),
) -> None:
    """Retarget dog BVH clips to Unitree Go2 motion banks (HDF5, see amp_data/SCHEMA.md).

    \b
    Examples:
      amp-data retarget D1_009_KAN01_001 -o walk.h5
      amp-data retarget trot0                      # AMP_for_hardware's trot0 segment -> trot0.h5
      amp-data retarget dog.bvh --frames 100:400 --fps 60
      amp-data retarget ../shared/raw_mocap -o banks/   # every clip, in parallel
      amp-data retarget walk trot --cycle auto -o .     # one walk and one trot cycle: walk.h5, trot.h5
      amp-data retarget D1_031_KAN01_001 --cycle trot -o trot.h5

    With --cycle the bank holds one stride (FL touchdown to FL touchdown): the most periodic cycle of that
    gait with the smallest loop-closure error, its seam removed, so a learner can loop it.

    Foot targets: the dog's toes moved to the Go2's stance width, stance feet planted on the floor (contacts
    from the dog's toes), the root lowered where the dog's legs reach further than the Go2's.

    Prints a quality table: IK foot error, joint-limit clamps, stance width, stance feet above the floor,
    stance foot slip (robot and the dog's own), midline crossings, leg clearance, peak base angular velocity.
    For many strides of one gait in one bank, see `amp-data bank gather`.
    """
    from retarget.batch import plan_retarget, run_jobs
    from retarget.pipeline import RetargetConfig
    from retarget.skeleton_map import DEFAULT_MAP

    cfg = RetargetConfig(fps=fps, scale=scale, map_path=skeleton_map or DEFAULT_MAP, cycle=cycle,
                         stance_width_m=stance_width)
    try:
        job_list, notes = plan_retarget(clips or [], output, frames, cfg)
    except InputError as e:
        fail(str(e))
    for note in notes:
        err_console.print(f"amp-data: note: {note}", markup=False, highlight=False, soft_wrap=True)

    t0 = time.perf_counter()
    with Progress(TextColumn("[bold]retarget"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  TextColumn("{task.description}"), console=err_console, transient=True,
                  disable=len(job_list) < 2) as progress:
        task = progress.add_task("", total=len(job_list))
        outcomes = run_jobs(job_list, cfg, workers=jobs or None,
                            on_done=lambda o: progress.update(task, advance=1, description=o.job.source.stem))
    elapsed = time.perf_counter() - t0

    good = [o for o in outcomes if o.quality is not None]
    if good:
        console.print(_quality_table(outcomes))
        for line in _cycle_lines(outcomes):
            console.print(f"cycle {line}", markup=False, highlight=False)
        total = sum(o.quality.frames for o in good)
        folders = sorted({str(o.job.output.parent) for o in good})
        console.print(f"{len(good)} bank(s) in {', '.join(folders)}, {total} frames at {fps:g} fps, in {elapsed:.1f} s",
                      markup=False, highlight=False)
    errors = [o.error for o in outcomes if o.error]
    for e in errors:
        err_console.print(f"amp-data: error: {e}", markup=False, highlight=False, soft_wrap=True)
    if errors:
        raise typer.Exit(2)


@app.command("clips")
def list_clips() -> None:
    """List the MANN German Shepherd clips, the named gait segments of prior work, and where clips are found."""
    folder = raw_mocap.find_mocap_dir()
    table = Table(title="MANN German Shepherd clips (CC BY-NC 4.0, AI4Animation)", title_justify="left")
    for col in ("clip", "frames", "seconds", "content", "found"):
        table.add_column(col)
    for c in raw_mocap.load_manifest():
        found = folder is not None and (folder / f"{c.name}.bvh").is_file()
        table.add_row(c.name, str(c.frames), f"{c.duration_s:.1f}", c.content, "yes" if found else "[red]no[/red]")
    console.print(table)
    seg = Table(title="Gait segments of prior work (frames [start, end))", title_justify="left")
    for col in ("name", "clip", "frames", "gait", "source"):
        seg.add_column(col)
    for s in raw_mocap.load_segments().values():
        seg.add_row(s.name, s.clip, f"{s.start}:{s.end}", s.gait, s.source)
    console.print(seg)
    console.print(f"clip folder: {folder}" if folder else
                  f"no clip folder found: set {raw_mocap.ENV_VAR} to the folder holding the MANN BVH clips")


@app.command("inspect")
def inspect_banks(
    banks: List[str] = typer.Argument(
        None, help="Bank files (.h5). None: list the banks in this folder and in ./banks/."),
    rom: bool = typer.Option(False, "--rom", help="Joint range of motion (rad): min, max, mean, std, range."),
    per_clip: bool = typer.Option(False, "--per-clip", help="With --rom: each clip of the bank as well."),
    phase: bool = typer.Option(False, "--phase", help="Gait cycles: period, stride frequency, duty factor and "
                                                      "footfall phase per foot, speed, Froude number, gait label."),
    quality: bool = typer.Option(False, "--quality", help="What the Go2 is asked for, per clip: stance width, "
                                                          "feet on the floor, slip (Go2 and dog), leg clearance."),
    json_out: bool = typer.Option(False, "--json", help="The same numbers as JSON on stdout, nothing else."),
    plot: Optional[Path] = typer.Option(
        None, "--plot", help="Folder to write figures into (PNG): rom.png, base_velocity.png, gait_diagram.png, "
                             "joint_cycle.png."),
    reference: bool = typer.Option(False, "--reference", help="Policy against reference: rollouts of `amp-data "
                                   "play` (else the first bank) against the other banks, paired by speed; with "
                                   "--plot also policy_cycle.png, policy_rom.png, policy_velocity.png."),
) -> None:
    """Show what motion banks hold: clips, speed, duty factors, joint range of motion, gait; plot them.

    \b
    Examples:
      amp-data inspect                          # the banks here and in ./banks/
      amp-data inspect walk.h5                  # frames, fps, clips, speed, duty
      amp-data inspect walk.h5 trot0.h5 --rom   # joint ROM side by side
      amp-data inspect walk.h5 --rom --json     # {bank: {joint: {min, max, ...}}}
      amp-data inspect walk.h5 trot0.h5 --plot figs/
      amp-data inspect trot.h5 --phase          # gait cycles and the gait label
      amp-data inspect rollout.h5 --reference walk.h5 trot.h5 --plot figs/   # a policy against its mocap

    \b
    Duty factor: the fraction of frames a foot is in contact.
    Forward speed: the mean base x velocity (base frame), m/s.
    --plot writes rom.png (left legs, mean +- std), base_velocity.png (x, z), gait_diagram.png (foot
    contacts over one normalised cycle) and joint_cycle.png (FL hip, thigh, calf over that cycle).

    \b
    --reference pairs each reference bank with the policy clip of the nearest mean speed (play --command
    0.5@5,1.2@5 gives a clip per command) and prints their stride frequency and gait side by side. With
    --plot, the paper's figures from them: policy_cycle.png (Fig. 3: contacts and FL joints over the
    normalised cycle, reference dotted), policy_rom.png (Figs. 4, 5) and policy_velocity.png (Figs. 6, 7).
    Cycles come from the banks' gait analysis; the rollout's first second (its start) is left out.
    """
    import json

    from amp_data.reports import inspect_report as report

    try:
        if not banks:
            if rom or per_clip or plot is not None:
                raise InputError(None, "--rom, --per-clip and --plot need bank files: amp-data inspect BANK.h5 --rom")
            rows = report.list_banks()
            if json_out:
                typer.echo(json.dumps(report.listing_json(rows), indent=2))
            else:
                for r in report.listing_renderables(rows):
                    console.print(r)
            return
        if per_clip and not rom:
            raise InputError(None, "--per-clip goes with --rom: amp-data inspect BANK.h5 --rom --per-clip")
        loaded = report.load_banks(banks)
        options = report.ReportOptions(per_clip=per_clip, width=console.width)
        sections = (["rom"] if rom else []) + (["phase"] if phase else []) + (["quality"] if quality else [])
        result = report.build_report(loaded, sections or ["summary"], options) if sections or not reference else None
        if reference and len(loaded) < 2:
            raise InputError(None, "--reference needs a policy bank and at least one reference bank: "
                                   "amp-data inspect rollout.h5 --reference walk.h5 trot.h5")
        written, pairs = [], []
        if reference:
            from amp_data.reports import policy_figures as pf
            if plot is not None:
                written, pairs = pf.write_policy_figures(loaded, plot)
            else:
                pairs = pf.pair_clips(*pf.split_policy_and_references(loaded))
        elif plot is not None:
            from amp_data.reports.plots import write_figures
            written = write_figures(loaded, plot)
    except InputError as e:
        fail(str(e))
    rows = []
    if pairs:
        from amp_data.reports.policy_figures import pairing_rows
        rows = pairing_rows(pairs)
    if json_out:
        doc = result.as_json() if result else None
        typer.echo(json.dumps({"banks": doc, "policy_vs_reference": rows} if reference else doc, indent=2))
    else:
        for r in result.renderables() if result else []:
            console.print(r)
        if rows:
            table = Table(title="policy against reference (cycles of the main gait; rollout's first second left "
                                "out)", title_justify="left")
            for col in ("reference", "policy clip", "speed m/s", "stride Hz", "gait", "cycles"):
                table.add_column(col, overflow="fold")
            for r in rows:
                ref, pol = r["reference"], r["policy"]
                table.add_row(r["reference_bank"], r["policy_clip"],
                              f"{ref['speed_m_s']:.2f} / {pol['speed_m_s']:.2f}",
                              f"{_hz(ref['stride_freq_hz'])} / {_hz(pol['stride_freq_hz'])}",
                              f"{ref['gait']} / {pol['gait']}", f"{ref['cycles']} / {pol['cycles']}")
            console.print(table)
            console.print("(reference / policy)", markup=False, highlight=False)
    for path in written:
        (err_console if json_out else console).print(f"wrote {path}", markup=False, highlight=False)


bank_app = typer.Typer(help="Build and combine motion banks: gather every clean stride of a gait, merge banks.",
                       no_args_is_help=True)
app.add_typer(bank_app, name="bank")


@bank_app.command("merge")
def bank_merge(
    banks: List[Path] = typer.Argument(..., help="Bank files to merge, in order."),
    output: Path = typer.Option(..., "-o", "--output", help="The merged bank (.h5)."),
    weights: Optional[str] = typer.Option(
        None, "--weights", help="One weight per input bank, e.g. 0.3,0.7: each bank's clips are scaled "
                                "(keeping their ratios) to sum to it. Default: clips keep their weights."),
) -> None:
    """Merge banks (e.g. a walk and a trot) into one multi-clip bank for multi-gait imitation.

    \b
    Examples:
      amp-data bank merge walk.h5 trot0.h5 -o multi.h5
      amp-data bank merge walk.h5 trot0.h5 -o multi.h5 --weights 0.3,0.7
      amp-data inspect multi.h5                 # the merged clip table

    \b
    The banks must share fps, joints, feet and robot.
    Each clip keeps its frames, weight, loop mode, cycle offsets and source.
    A clip name found in several banks is prefixed with its bank's file stem.
    Source keypoints are kept if all banks share the skeleton, else dropped.
    """
    from amp_data.format.atomic import BANK_SUFFIXES, check_output_file
    from amp_data.format.bank import write_bank
    from amp_data.format.merge import merge_files, parse_weights

    try:
        check_output_file(output, BANK_SUFFIXES, banks)
        result = merge_files(banks, parse_weights(weights, len(banks)))
        write_bank(output, result.bank)
    except InputError as e:
        fail(str(e))
    for note in result.notes:
        err_console.print(f"amp-data: note: {note}", markup=False, highlight=False, soft_wrap=True)
    bank = result.bank
    console.print(f"{output}: {len(bank.clips)} clips, {bank.num_frames} frames at {bank.fps:g} fps, "
                  f"loop mode {bank.attrs['loop_mode']}", markup=False, highlight=False)


@bank_app.command("gather")
def bank_gather(
    gaits: List[str] = typer.Argument(..., help="Gaits to gather, one bank each: walk, trot, pace, canter."),
    output: Path = typer.Option(
        Path("."), "-o", "--output", help="Folder for GAIT.h5 (default: here), or the bank file for one gait."),
    sources: List[str] = typer.Option(
        None, "--from", help="Clips to search (files, folders, MANN clip names); repeat it. Default: every MANN clip."),
    max_strides: int = typer.Option(0, "--max-strides", help="Keep at most this many (the best-scoring); 0: all."),
    max_ik_error_mm: float = typer.Option(2.0, "--max-ik-error", help="Reject strides whose IK misses a "
                                                                     "foot target by more (mm)."),
    max_closure_mm: float = typer.Option(60.0, "--max-closure", help="Reject strides whose loop closing moves "
                                                                    "a foot target further (mm)."),
    fps: float = typer.Option(50.0, "--fps", help="Frame rate of the bank (Hz)."),
    stance_width: List[str] = typer.Option(
        None, "--stance-width", help="Left-right foot distance (m) for every gait, or GAIT=W for one gait; "
        "repeat it. Default: the Go2's thigh joints', 0.284."),
    jobs: int = typer.Option(0, "--jobs", "-j", help="Parallel worker processes (0: one per core)."),
) -> None:
    """Gather every clean stride of a gait across the clips into one multi-clip bank per gait.

    \b
    Examples:
      amp-data bank gather walk trot              # walk.h5 and trot.h5 from all 46 MANN clips
      amp-data bank gather trot -o trot_all.h5 --max-strides 20
      amp-data bank gather walk --from D1_053_KAN01_001 --from D1_ex03_KAN02_012 -o walk.h5
      amp-data bank gather walk trot --stance-width walk=0.12   # the walk's feet 0.12 m apart, the trot's 0.284

    \b
    Each stride (FL touchdown to FL touchdown, labelled after Hildebrand: amp_data/motion/gait.py) is closed as its
    own seamless loop (a wrap clip named CLIP_FRAME) and kept when its IK meets the foot targets, its loop
    closes without moving a foot target far, it is periodic, and no two legs come within 30 mm.
    Clips are weighted by their duration (uniform over stride time). Prints what was kept and rejected,
    and the bank's stance width, slip, feet-on-floor and clearance figures.
    """
    from amp_data.format.bank import write_bank
    from retarget.gather import gather_strides, gathered_bank, plan_gather

    try:
        plan = plan_gather(list(gaits), list(sources or []), output, fps, list(stance_width or []), max_strides,
                           max_ik_error_mm, max_closure_mm)
    except InputError as e:
        fail(str(e))

    gathered = {}      # every gait gathered before any bank is written: a gait without strides writes nothing
    for gait in gaits:
        t0 = time.perf_counter()
        with Progress(TextColumn(f"[bold]gather {gait}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      TextColumn("{task.description}"), console=err_console, transient=True,
                      disable=not err_console.is_terminal) as progress:     # a log gets no blank lines
            task = progress.add_task("", total=len(plan.clips))
            results = gather_strides(plan.clips, gait, plan.cfgs[gait], plan.filt, workers=jobs or None,
                                     on_done=lambda r: progress.update(task, advance=1, description=r.source.stem))
        for r in results:
            if r.error:
                err_console.print(f"amp-data: warning: skipped {r.error}", markup=False, highlight=False,
                                  soft_wrap=True)
        merged, found, rejected = gathered_bank(results, plan.max_strides)
        if merged is None:
            fail(f"no clean {gait} stride in {len(plan.clips)} clip(s): {found} found, rejected "
                 + (", ".join(f"{n} {why}" for why, n in rejected.most_common()) or "none"))
        gathered[gait] = (merged, found, rejected, time.perf_counter() - t0)
    for gait, (merged, found, rejected, seconds) in gathered.items():
        try:
            write_bank(plan.outputs[gait], merged)
        except InputError as e:
            fail(str(e))
        console.print(_gather_summary(gait, plan.outputs[gait], merged, len(plan.clips), found, rejected, seconds),
                      markup=False, highlight=False)


def _gather_summary(gait, path, bank, num_clips, found, rejected, seconds) -> str:
    from amp_data.motion.feasibility import ROBOT_STANCE_WIDTH_M

    q = bank.quality
    clips = {c.source_file for c in bank.clips}
    rej = ", ".join(f"{n} {why}" for why, n in rejected.most_common()) or "none"
    weights = np.array([c.num_frames for c in bank.clips], float)
    mean = lambda k: float(np.average(q[k], weights=weights))   # noqa: E731
    return (f"{path}: {len(bank.clips)} {gait} strides from {len(clips)} of {num_clips} clips, {bank.num_frames} "
            f"frames ({bank.num_frames / bank.fps:.1f} s) in {seconds:.1f} s; {found} found, rejected: {rej}\n"
            f"  stance width fore {mean('fore_width_m'):.3f} m, hind {mean('hind_width_m'):.3f} m "
            f"(Go2 {ROBOT_STANCE_WIDTH_M:.3f}); stance slip {mean('slip_mm_s'):.0f} mm/s (dog "
            f"{mean('dog_slip_mm_s'):.0f}); stance feet above 5 mm {100 * mean('stance_above_5mm'):.1f} %; "
            f"min leg clearance {float(q['min_clearance_mm'].min()):.0f} mm; IK error max "
            f"{float(q['ik_error_max_mm'].max()):.2f} mm; loop closing moved feet <= {float(q['closure_mm'].max()):.0f} mm")


@app.command("view")
def view(
    bank: Path = typer.Argument(..., help="Motion bank (.h5)."),
    output: Path = typer.Option(..., "-o", "--output", help="Video to write: .gif, or .mp4 (needs ffmpeg)."),
    clip: Optional[str] = typer.Option(None, "--clip", help="Clip of a merged bank (default: the first)."),
    fps: float = typer.Option(25.0, "--fps", help="Output frame rate (Hz); bank frames are subsampled."),
    frames: Optional[str] = typer.Option(
        None, "--frames", help="Bank frames of the clip START:END, 0-based, END excluded."),
    seconds: Optional[str] = typer.Option(
        None, "--seconds", help="Time range of the clip in s, START:END, or END alone for 0:END."),
    size: str = typer.Option("960x480", "--size", help="Video size WIDTHxHEIGHT in pixels."),
    renderer: str = typer.Option("auto", "--renderer", help="mujoco (the Go2 model, offscreen EGL/OSMesa), "
                                 "matplotlib (stick figures), or auto: MuJoCo where it can render."),
    ghost: Optional[Path] = typer.Option(None, "--ghost", help="A reference bank drawn as a translucent Go2 "
                                         "beside the robot (MuJoCo renderer)."),
) -> None:
    """Render a bank as a video: the source dog skeleton beside the retargeted Go2, to check a retarget.

    \b
    Examples:
      amp-data view trot0.h5 -o trot0.gif
      amp-data view walk.h5 -o walk.gif --seconds 2:6 --fps 20
      amp-data view multi.h5 --clip trot0 -o trot.mp4   # needs ffmpeg
      amp-data view walk.h5 -o walk.gif --frames 0:100 --size 640x320

    \b
    Left limbs blue, right limbs red, in both panels: a mirrored retarget shows at once.
    Go2 feet: filled = in contact (the bank's `contacts`), open = swing; grey dots: feet on the floor.
    Each camera follows its root; the dog is drawn at its own size (unscaled), at the nearest source frame.
    With MuJoCo's renderer the Go2 is its model, the dog capsules to its right, --ghost a second Go2 to
    its left; without an offscreen OpenGL context, matplotlib draws and a note says why.
    """
    from amp_data.format.bank import read_bank
    from amp_data.reports import view as v
    from amp_data.reports.mujoco_view import render_video

    try:
        options = v.ViewOptions(
            clip=clip, fps=fps, size_px=v.parse_size(size),
            frames=v.parse_range(frames, "--frames") if frames is not None else None,
            seconds=v.parse_range(seconds, "--seconds", seconds=True) if seconds is not None else None)
        v.check_output(output, options.size_px)
        loaded = read_bank(bank)
        ghost_bank = read_bank(ghost) if ghost is not None else None
        plan = v.plan_view(loaded, options)
        t0 = time.perf_counter()
        with Progress(TextColumn("[bold]view"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=err_console, transient=True, disable=plan.num_frames < 50) as progress:
            task = progress.add_task("", total=plan.num_frames)
            _, used, note = render_video(plan, loaded, output, renderer, ghost_bank,
                                         on_frame=lambda: progress.advance(task))
    except InputError as e:
        fail(str(e))
    if note:
        err_console.print(f"amp-data: note: {note}", markup=False, highlight=False, soft_wrap=True)
    console.print(f"wrote {output}: {plan.num_frames} frames at {fps:g} fps, {plan.size_px[0]}x{plan.size_px[1]}, "
                  f"{used}, in {time.perf_counter() - t0:.1f} s", markup=False, highlight=False)


@app.command("export")
def export_motion(
    bank: Path = typer.Argument(..., help="Bank file (.h5)."),
    fmt: str = typer.Option("amp-hw", "--format", "-f",
                            help="amp-hw (AMP_for_hardware, 61 columns) or motion-imitation (19 columns)."),
    output: Optional[Path] = typer.Option(None, "-o", "--output", help="Motion file (.txt). Default: BANK.txt, or CLIP.txt with --clip."),
    clip: Optional[str] = typer.Option(None, "--clip", help="Clip to export from a bank holding several."),
    weight: Optional[float] = typer.Option(
        None, "--weight", help="MotionWeight (amp-hw only). Default: the clip's weight in the bank."),
    leg_order: Optional[str] = typer.Option(
        None, "--leg-order", help="amp-hw: pybullet (FR, FL, RR, RL; the default: upstream AMP_for_hardware's "
                                  "loader reorders it to Isaac Gym's) or isaac (FL, FR, RL, RR; for forks that "
                                  "load files as they are)."),
) -> None:
    """Write one clip of a bank as an AMP_for_hardware or motion_imitation motion file (JSON text).

    \b
    Examples:
      amp-data export trot0.h5 -o trot0.txt        # for AMP_for_hardware
      amp-data export trot0.h5 -f motion-imitation -o trot0.txt
      amp-data export multi.h5 --clip trot0 --weight 0.5 -o trot0.txt

    \b
    amp-hw, 61 columns: root pos 3, root quat xyzw 4, joint pos 12, feet 12,
      base lin vel 3, base ang vel 3, joint vel 12, foot vel 12; feet and
      velocities in the base frame; legs in --leg-order (default pybullet:
      FR, FL, RR, RL, as upstream's datasets/mocap_motions files).
    motion-imitation, 19 columns: root pos 3, root quat xyzw 4, joint pos 12
      (A1 URDF leg order FR, FL, RR, RL).
    A wrap clip gets LoopMode "Wrap" and one more frame: its first, moved by
    the clip's cycle offset (motion_imitation's looping convention).
    """
    from amp_data.interop.motion_files import export_motion as export

    try:
        if output is None:
            output = Path(f"{clip or bank.stem}.txt")
        report = export(bank, output, fmt, clip, weight, leg_order)
    except InputError as e:
        fail(str(e))
    closing = " (the last closes the cycle)" if report.closing_frame else ""
    console.print(f"{report.output}: clip {report.clip}, {report.frames} frames{closing} at {report.fps:g} fps, "
                  f"{report.format}, legs {report.leg_order}, loop mode {report.loop_mode}", markup=False,
                  highlight=False)


@app.command("import")
def import_motion(
    motion_file: Path = typer.Argument(..., help="AMP_for_hardware or motion_imitation motion file (.txt)."),
    fmt: str = typer.Option("auto", "--format", "-f",
                            help="auto (by column count: 61 amp-hw, 19 motion-imitation), amp-hw or motion-imitation."),
    output: Optional[Path] = typer.Option(None, "-o", "--output", help="Bank file (.h5). Default: FILE.h5."),
    leg_order: str = typer.Option(
        "auto", "--leg-order", help="auto (amp-hw: detected from the file's own numbers and reported), pybullet "
                                    "(FR, FL, RR, RL) or isaac (FL, FR, RL, RR)."),
) -> None:
    """Read an AMP_for_hardware or motion_imitation motion file into a motion bank (schema v2).

    \b
    Examples:
      amp-data import trot0.txt -o trot0.h5
      amp-data import pace0.txt --format motion-imitation -o pace0.h5

    \b
    A motion-imitation file has no velocities or feet: joint velocities are
    central differences, feet the Go2's forward kinematics, base velocities
    come from the root trajectory (periodic in a Wrap file). Contacts are
    detected. A Wrap file's last frame closes the cycle: it becomes the
    clip's cycle offset.
    """
    from amp_data.interop.motion_files import import_motion as load

    try:
        report = load(motion_file, output if output is not None else Path(f"{motion_file.stem}.h5"), fmt, leg_order)
    except InputError as e:
        fail(str(e))
    console.print(f"{report.output}: {report.frames} frames at {report.fps:g} fps from {report.format} file "
                  f"{motion_file.name}, loop mode {report.loop_mode}, weight {report.weight:g}",
                  markup=False, highlight=False)
    if report.leg_order:
        console.print(f"  {report.leg_order}", markup=False, highlight=False, soft_wrap=True)
    if report.foot_fk_error_m > 0.005:
        err_console.print(f"amp-data: note: the file's feet are up to {report.foot_fk_error_m * 1e3:.0f} mm from "
                          "the Go2's forward kinematics of its joints: a file of another robot?",
                          markup=False, highlight=False, soft_wrap=True)



@app.command("train")
def train_cmd(
    banks: List[Path] = typer.Argument(None, help="Motion banks (.h5) to imitate, e.g. walk.h5 trot.h5 (with --resume: optional)."),
    algo: str = typer.Option("sac", "--algo", help="sac (AMP+SAC, the paper's method) or ppo (AMP+PPO baseline)."),
    preset: Optional[str] = typer.Option(None, "--preset", help="cpu-dog (AMP+SAC's default): cpu plus the "
                                         "dog's stride under its gait clock, the gait nearest the dog's; cpu "
                                         "(AMP+PPO's default): plain AMP at sizes that learn on a laptop-class "
                                         "CPU; paper: the paper's tables (4096 envs, GPU)."),
    backend: str = typer.Option("mujoco", "--backend", help="Simulator: mujoco (CPU MuJoCo, the default) or warp "
                                                      "(MuJoCo Warp on a CUDA GPU, or on the CPU for tests; pip install "
                                                      "'amp-data[gpu]'; --set env.sim_device=cuda:1 picks a GPU)."),
    num_envs: Optional[int] = typer.Option(None, "--num-envs", help="Parallel environments (default: the preset's)."),
    steps: Optional[int] = typer.Option(None, "--steps", help="Stop after this many environment steps (all envs). "
                                                             "Default: the preset's; cpu and cpu-dog: 1.28 M for sac, "
                                                             "1.5 M for ppo (60 and 30 min on a 2-core machine)."),
    minutes: Optional[float] = typer.Option(None, "--minutes", help="Stop after this many minutes of training "
                                                                 "instead (with --steps: whichever comes first)."),
    seed: int = typer.Option(1, "--seed", help="Seed of networks, environments and samplers."),
    out: Optional[Path] = typer.Option(None, "--out", help="Run folder (default runs/<algo>-<preset>-<seed>)."),
    resume: bool = typer.Option(False, "--resume", help="Continue the run in --out from its last checkpoint."),
    overrides: List[str] = typer.Option(None, "--set", help="Override any config field: section.field=value "
                                                            "(repeatable), e.g. --set sac.batch_size=4096. On "
                                                            "--resume only learning rates, loss and reward "
                                                            "weights, stopping and logging may change."),
    init_from: Optional[Path] = typer.Option(None, "--init-from", help="Warm start: begin with weights of another "
                                             "run (its folder: newest checkpoint; or a .pt file)."),
    init_parts: str = typer.Option("actor,norm", "--init-parts", help="What --init-from loads, comma-separated: "
                                   "actor, norm (observation normaliser), critics, disc, alpha, or all."),
    terrain: Optional[str] = typer.Option(None, "--terrain", help="flat (default) or waves: wave ground whose "
                                          "amplitude (to 3 cm) and frequency a curriculum raises; adds the "
                                          "terrain to the observation and sets reward.dof_pos_limits=-2."),
    show_config: bool = typer.Option(False, "--show-config", help="Print the resolved config and exit."),
) -> None:
    """Train an AMP policy for the Go2 on motion banks (AMP+SAC or the AMP+PPO baseline).

    \b
    Examples:
      amp-data train walk.h5 trot.h5                              # AMP+SAC, cpu-dog preset, 1.28 M steps
      amp-data train walk.h5 trot.h5 --algo ppo --minutes 30      # the AMP+PPO baseline (cpu preset)
      amp-data train walk.h5 trot.h5 --preset cpu                 # plain AMP+SAC, no gait clock
      amp-data train walk.h5 --steps 200000 --set sac.batch_size=512 --out runs/try
      amp-data train --resume --out runs/sac-cpu-dog-1 --steps 2000000  # continue to 2 M steps in all
      amp-data train walk.h5 trot.h5 --preset paper --set device=cuda --show-config
      amp-data train walk.h5 trot.h5 --init-from runs/sac-cpu-dog-1 --out runs/warm  # start from its actor
      amp-data train walk.h5 trot.h5 --terrain waves --init-from runs/sac-cpu-dog-1   # the paper's terrain run

    \b
    The default for AMP+SAC, --preset cpu-dog (the gait nearest the dog's: the issue's gait targets in 4
    of seeds 1-5 and in held-out seed 6, README "Where it stands"), is
      amp-data train walk.h5 trot.h5 --preset cpu --set amp.window_frames=5 --set amp.frame_stride=3
        --set env.gait_clock=true --set env.command_source=banks --set reward.gait_clock_swing_free=120
        --set reward.gait_clock_stance_still=120 --set env.reference_feedforward=true
        --set env.residual_limit_rad=0.3 --set reward.tracking_relative_above_m_s=0.84
        --set env.stance_torque_feedforward=true --set amp.gait_condition=true --set env.kp_run_nm_rad=40

    \b
    The run folder gets config.json, metrics.csv (and tb/ for TensorBoard), eval.csv (a deterministic
    10 s evaluation at every checkpoint: forward speed vs command, falls, style reward),
    checkpoint.pt (atomic, every 5 min and at the end) and summary.json. Ctrl-C saves a checkpoint.
    Replay the policy with `amp-data play RUN`.

    \b
    Budgets are environment steps, so a run reproduces: the same seed and steps give the same weights on
    any machine; a slower one takes longer (the progress line shows what is left). --minutes stops by time.
    Evaluations come at every checkpoint (by time); --set eval_every_steps=N adds one every N env steps.

    \b
    A run folder belongs to one `train` at a time (a second one stops at once); a folder holding other
    files is refused. A checkpoint is saved only if every weight is finite. --resume continues from the
    newest complete checkpoint and drops log rows written after it.

    \b
    --init-from starts a new run (step 0, fresh optimisers and replays) with parts of another run's
    weights; every shape must match (same algo, network sizes, observations, AMP windows), and so must
    what an action means (a --preset cpu run cannot start a cpu-dog one). The source is
    recorded as init_from in config.json. The actor needs the normaliser it was trained with, hence the
    default actor,norm.
    """
    from learner import config as C

    try:
        cfg = C.from_options(preset, algo, backend=backend, seed=seed, num_envs=num_envs, steps=steps,
                             minutes=minutes, overrides=overrides, resume=resume,
                             init_from=str(init_from) if init_from else None, init_parts=init_parts,
                             terrain=terrain)
    except ValueError as e:
        fail(str(e))
    if show_config:
        console.print("\n".join(C.describe(cfg)), markup=False, highlight=False)
        return
    out = out or Path("runs") / f"{algo}-{cfg.preset}-{seed}"
    if not banks and not resume:
        fail("give at least one motion bank (.h5)")
    try:
        from learner.run_folder import RunFolder
        from learner.train import TrainingStopped, train
    except ImportError as e:
        fail(f"training needs the learn extra ({e}): pip install 'amp-data[learn]'")
    try:
        RunFolder(out).check_writable(resume)
    except InputError as e:
        fail(str(e))
    if not resume:
        from amp_data.expert.sampler import load_consistent_banks
        try:
            load_consistent_banks([str(b) for b in banks])   # fail on bad banks before printing anything
        except InputError as e:
            fail(str(e))
        if init_from is not None and not init_from.exists():
            fail(f"{init_from}: --init-from: no such run folder or checkpoint file")
        console.print("\n".join(C.describe(cfg)), markup=False, highlight=False)
    try:
        summary = train([str(b) for b in banks or []], cfg, out, resume=resume,
                        say=lambda m: console.print(m, markup=False, highlight=False),
                        resume_overrides=overrides if resume else None)
    except InputError as e:
        fail(str(e))
    except TrainingStopped as e:
        fail(f"training stopped: {e}")
    fe = summary["final_eval"]
    console.print(f"done: {summary['env_steps']:,} env steps in {summary['time_s'] / 60:.1f} min; simulator "
                  f"{summary['sim_env_steps_per_s']:,.0f} env steps/s, {summary['update_steps_per_s']:.1f} "
                  f"gradient steps/s; final eval: {fe['forward_vel_m_s']:.2f} m/s of {fe['command_vx_m_s']:.2f} "
                  f"({100 * fe['speed_ratio']:.0f} %), no fall {100 * fe['no_fall_rate']:.0f} %, "
                  f"style reward {fe['style_reward']:.3f}. Run folder: {out}", markup=False, highlight=False)


@app.command("pretrain")
def pretrain_cmd(
    banks: List[Path] = typer.Argument(..., help="Motion banks (.h5): reference-state starts for the exploration."),
    output: Path = typer.Option(Path("pretrain.pt"), "-o", "--output", help="Weights to write (.pt)."),
    algo: str = typer.Option("sac", "--algo", help="The learner the weights are for: sac or ppo."),
    preset: Optional[str] = typer.Option(None, "--preset", help="Network sizes and task of this preset, as "
                                         "train's (default as train's: cpu-dog for sac, cpu for ppo)."),
    steps: int = typer.Option(200_000, "--steps", help="Environment steps of task-agnostic exploration."),
    epochs: int = typer.Option(20, "--epochs", help="Passes over the exploration data."),
    seed: int = typer.Option(1, "--seed", help="Seed of the exploration and the model."),
    terrain: Optional[str] = typer.Option(None, "--terrain", help="flat or waves (as the train run will use)."),
    overrides: List[str] = typer.Option(None, "--set", help="Config field overrides, as for train (network sizes "
                                                            "must match the train run's)."),
) -> None:
    """Pretrain actor and critics on an inverse-dynamics model of random exploration (Fan et al. 2025).

    \b
    Examples:
      amp-data pretrain walk.h5 trot.h5 -o pretrain.pt
      amp-data train walk.h5 trot.h5 --init-from pretrain.pt --init-parts actor,norm,critics

    \b
    Drives the task's environments with random joint targets (no reward), trains a model (s, s') -> a of
    the actor's shape, and writes its weights into a checkpoint of the agent: the actor gets all its
    layers (the first for s only), the critics its hidden layers. The share of held-out action variance
    it explains is printed. Whether it helps a learner is measured in the README, not assumed.
    """
    from learner import config as C

    try:
        cfg = C.from_options(preset, algo, seed=seed, overrides=overrides, terrain=terrain)
    except ValueError as e:
        fail(str(e))
    try:
        from learner.pretrain import pretrain
    except ImportError as e:
        fail(f"pretraining needs the learn extra ({e}): pip install 'amp-data[learn]'")
    try:
        if steps < cfg.env.num_envs or epochs < 1:
            raise InputError(None, f"--steps must be at least the {cfg.env.num_envs} environments and --epochs "
                                   f"at least 1, got {steps} and {epochs}")
        from amp_data.expert.sampler import load_consistent_banks
        load_consistent_banks([str(b) for b in banks])
        with Progress(TextColumn("[bold]explore"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=err_console, transient=True) as progress:
            task = progress.add_task("", total=steps)
            result = pretrain([str(b) for b in banks], cfg, output, env_steps=steps, epochs=epochs,
                              say=lambda m: console.print(m, markup=False, highlight=False),
                              on_progress=lambda done, total: progress.update(task, completed=done, total=total))
    except InputError as e:
        fail(str(e))
    joints = " ".join(f"{x:.2f}" for x in result.heldout_explained_per_joint)
    console.print(f"inverse dynamics: training loss {result.train_loss[0]:.3f} -> {result.train_loss[-1]:.3f}; "
                  f"held-out actions explained {100 * result.heldout_explained:.0f} % (per joint: {joints}); "
                  f"{result.explore_s:.0f} s exploring, {result.train_s:.0f} s training", markup=False,
                  highlight=False)
    console.print(f"wrote {result.output}: load it with amp-data train ... --init-from {result.output} "
                  "--init-parts actor,norm,critics", markup=False, highlight=False)


@app.command("play")
def play_cmd(
    run: Path = typer.Argument(..., help="Run folder (from `amp-data train --out`) or a checkpoint file (.pt)."),
    checkpoint: Optional[Path] = typer.Option(
        None, "--checkpoint", help="Another checkpoint of the run, e.g. checkpoints/step_000000123456.pt "
                                   "(a path, or relative to RUN)."),
    output: Optional[Path] = typer.Option(None, "-o", "--output", help="Write the rollout as a motion bank (.h5)."),
    video: Optional[Path] = typer.Option(None, "--video", help="Render the rollout: .gif, or .mp4 (needs ffmpeg)."),
    seconds: Optional[float] = typer.Option(None, "--seconds", help="Length of the rollout (s, at most 3600; "
                                            "default 10); it stops earlier on a fall."),
    command: Optional[str] = typer.Option(
        None, "--command", help="Forward speed command (m/s, base frame), or a schedule SPEED@SECONDS,... "
                                "(0.5@5,1.2@5: walk 5 s, then trot 5 s); default: the run's eval command."),
    seed: Optional[int] = typer.Option(None, "--seed", help="Seed of torch and the task (default: the run's); "
                                                            "the deterministic rollout does not depend on it."),
    banks: List[Path] = typer.Option(None, "--banks", help="The run's motion banks, when they have moved "
                                                           "(repeat: --banks A.h5 --banks B.h5)."),
    renderer: str = typer.Option("auto", "--renderer", help="Video renderer: mujoco, matplotlib, or auto (MuJoCo "
                                 "where it can render offscreen)."),
    ghost: Optional[Path] = typer.Option(None, "--ghost", help="With --video: a reference bank (e.g. walk.h5) "
                                         "drawn as a translucent Go2 beside the policy."),
    viewer: bool = typer.Option(False, "--viewer", help="Show the rollout in MuJoCo's interactive viewer "
                                "(needs a display), looping until the window is closed."),
) -> None:
    """Replay a trained policy: one Go2 in MuJoCo from the default pose, deterministic actions, a command or a schedule.

    \b
    Examples:
      amp-data play runs/sac-cpu-dog-1                          # 10 s at the eval command, print a summary
      amp-data play runs/sac-cpu-dog-1 --command 1.0 --seconds 20
      amp-data play runs/sac-cpu-dog-1 --command 0.5@5,1.2@5 -o rollout.h5   # walk, then trot: one clip each
      amp-data inspect rollout.h5 --reference walk.h5 trot.h5 --plot figs/  # the paper's Figs. 3-7
      amp-data play runs/sac-cpu-dog-1 -o rollout.h5 --video policy.gif
      amp-data play runs/sac-cpu-dog-1 --video policy.gif --ghost walk.h5   # the mocap beside it
      amp-data play runs/sac-cpu-dog-1 --viewer                  # MuJoCo's viewer (with a display)
      amp-data play runs/sac-cpu-dog-1 --checkpoint checkpoints/step_000000123456.pt
      amp-data inspect rollout.h5 walk.h5 --rom             # the policy's joint ROM beside the mocap's
      amp-data inspect rollout.h5 --phase                   # its gait cycles and gait label

    \b
    No domain randomisation, no resets: a fall (trunk contact, base too low or tilted) ends the rollout.
    Summary: seconds played, fall time, mean forward speed vs command, mean style reward (r_AMP, 0..1)
    and mean task reward per step. -o writes a schema v2 bank at the policy rate (50 fps) with the
    simulator's states and foot contacts, one clip named after the run (RUN@SPEED per command of a
    schedule).
    """
    try:
        from learner.play import play
    except ImportError as e:
        fail(f"playing a policy needs the learn extra ({e}): pip install 'amp-data[learn]'")
    progress = Progress(TextColumn("[bold]video"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                        console=err_console, transient=True)
    bar = []

    def on_video_frame(done: int, total: int) -> None:
        # a bar on a terminal once drawing starts (Progress.stop writes a blank line elsewhere)
        if not err_console.is_terminal:
            return
        if not bar:
            progress.start()
            bar.append(progress.add_task("", total=total))
        progress.update(bar[0], completed=done)

    try:
        from amp_data.reports.mujoco_view import viewer_problem
        if viewer and viewer_problem():
            raise InputError(None, f"--viewer: {viewer_problem()}")
        result = play(run, checkpoint=checkpoint, seconds=seconds, command_vx_m_s=command, seed=seed,
                      banks=[str(b) for b in banks] if banks else None, output=output, video=video,
                      on_video_frame=on_video_frame, renderer=renderer, ghost=ghost)
    except InputError as e:
        fail(str(e))
    finally:
        if bar:
            progress.stop()
    if result.note:
        err_console.print(f"amp-data: note: {result.note}", markup=False, highlight=False, soft_wrap=True)
    console.print("\n".join(result.summary_lines()), markup=False, highlight=False, soft_wrap=True)
    if viewer:
        from amp_data.reports.mujoco_view import show_in_viewer
        from learner.play import rollout_bank
        show_in_viewer(rollout_bank(result.rollout, result.source.run_name))


@app.command("eval")
def eval_cmd(
    run: Path = typer.Argument(..., help="Run folder (from `amp-data train --out`) or a checkpoint file (.pt)."),
    checkpoint: Optional[Path] = typer.Option(None, "--checkpoint", help="Another checkpoint of the run."),
    seconds: float = typer.Option(12.0, "--seconds", help="Length of each rollout (s); the first 2 s are dropped."),
    banks: List[Path] = typer.Option(None, "--banks", help="The run's motion banks, when they have moved."),
    json_out: bool = typer.Option(False, "--json", help="The same numbers as JSON on stdout, nothing else."),
) -> None:
    """Does the policy move like the dog? Its gait at each reference bank's speed, beside the bank's.

    \b
    Examples:
      amp-data eval runs/sac-cpu-dog-1
      amp-data eval runs/sac-cpu-dog-1 --json > gait.json

    \b
    For each bank the run imitates (walk.h5, trot.h5): the deterministic policy, from standing, at the bank's
    mean forward speed; stride frequency, duty factor per foot, footfall phases, share of time with no foot
    down, gait label (after Hildebrand) and FL hip/thigh/calf range, each beside the bank's with their ratio
    or difference.
    Targets: stride frequency within +-25 %, mean duty within +-0.10, the bank's gait in most strides.
    """
    import json

    from learner.imitation import evaluate_imitation

    try:
        report = evaluate_imitation(run, checkpoint, seconds=seconds, banks=banks or None)
    except InputError as e:
        fail(str(e))
    if json_out:
        typer.echo(json.dumps(report.as_dict(), indent=2))
        return
    table = Table(title=f"imitation: {run} at {report.env_steps:,} env steps", title_justify="left")
    for col in ("bank", "", "strides", "freq Hz", "legs Hz", "duty FL FR RL RR", "phase FR RL RR", "flight", "gait",
                "FL ROM rad"):
        # names and numbers keep their width; the multi-number cells and the label wrap on a narrow terminal
        table.add_column(col, no_wrap=col in ("bank", "", "strides", "freq Hz", "legs Hz", "flight"),
                         min_width=10 if col == "" else None)
    for name, g in report.gaits.items():
        rows = [("dog", g["reference"]), ("policy", g["policy"])]
        if g.get("policy_detected") is not None:
            rows.append(("policy, feet*", g["policy_detected"]))
        for who, f in rows:
            if f is None:
                table.add_row(name, who, "fell" if g["fell"] else "no stride", *[""] * 7)
                continue
            table.add_row(name, who, str(f["strides"]), f"{f['stride_freq_hz']:.2f}", f"{f['leg_swing_freq_hz']:.2f}",
                          " ".join(f"{d:.2f}" for d in f["duty"]), " ".join(f"{p:.2f}" for p in f["phase"]),
                          f"{f['flight_share']:.2f}",
                          f["label"], " ".join(f"{hi - lo:.2f}" for lo, hi in f["fl_rom_rad"]))
        c = g["compare"]
        if c is not None:
            table.add_row(name, "policy/dog", "", f"x{c['stride_freq_ratio']:.2f}", f"x{c['leg_swing_freq_ratio']:.2f}",
                          " ".join(f"{d:+.2f}" for d in c["duty_diff"]), " ".join(f"{d:+.2f}" for d in c["phase_diff"]),
                          f"{c['flight_share_diff']:+.2f}",
                          f"{100 * c['reference_label_share']:.0f} % dog's", " ".join(f"x{r:.2f}" for r in c["fl_rom_range_ratio"]))
        else:
            table.add_row(name, "policy/dog", *[""] * 8)
    console.print(table)
    for name, g in report.gaits.items():
        met = ", ".join(k for k, v in g["targets"].items() if v) or "none"
        met_detected = ", ".join(k for k, v in g["targets_detected"].items() if v) or "none"
        console.print(f"{name}: policy at {g['command_vx_m_s']:.2f} m/s (the bank's mean speed)"
                      f"{', fell' if g['fell'] else ''}; targets met: {met}; with feet* (as the dog's contacts "
                      f"are found): {met_detected}", markup=False, highlight=False)
    console.print("freq: median stride frequency (from foot contacts); legs: dominant frequency of the thigh "
                  "angles (independent of contacts); *feet: the same rollout with contacts detected as in the banks "
                  "(foot height and speed) instead of foot force > 1 N, blind to feet that bounce in stance; "
                  "duty: share of the stride each foot is down; phase: footfall "
                  "after FL as a share of the stride; flight: share of the time with no foot down (the dog's walk: "
                  "0; a policy that hops: more); FL ROM: range of hip, thigh, calf. Targets: freq within "
                  "+-25 %, mean duty within +-0.10, the bank's gait in most strides.", markup=False,
                  highlight=False)


@app.command("curves")
def curves_cmd(
    runs: List[Path] = typer.Argument(..., help="Run folders of `amp-data train` (with metrics.csv)."),
    output: Path = typer.Option(Path("curves.png"), "-o", "--output", help="PNG to write."),
    smooth: int = typer.Option(5, "--smooth", help="Rolling mean over this many log rows (training panels)."),
) -> None:
    """Plot learning curves of runs side by side, and print each run's last evaluation.

    \b
    Examples:
      amp-data curves runs/sac-cpu-dog-1 runs/ppo-cpu-1 -o curves.png

    Panels: style reward, task reward and episode length during training; forward speed over the command,
    the share of episodes without a fall and the style reward of the deterministic evaluations; for
    --terrain waves runs also the curriculum's mean wave amplitude.
    """
    from learner.curves import final_table, plot_runs, read_run

    try:
        if smooth < 1:
            raise InputError(None, f"--smooth must be at least 1 row, got {smooth}")
        loaded = [read_run(r) for r in runs]
        rows = final_table(runs, loaded)
        plot_runs(runs, output, smooth=smooth, loaded=loaded)
    except InputError as e:
        fail(str(e))
    table = Table(title=f"learning curves: {output}")
    for col in ("run", "env steps", "min", "env steps/s", "grad steps/s", "speed/cmd", "no fall", "style"):
        table.add_column(col, justify="right")
    for r in rows:
        table.add_row(r["run"], f"{r['env_steps']:,}", f"{r['minutes']:.1f}", f"{r['env_steps_per_s']:,.0f}",
                      f"{r['updates_per_s']:.1f}", f"{100 * r.get('eval_speed_ratio', float('nan')):.0f} %",
                      f"{100 * r.get('eval_no_fall_rate', float('nan')):.0f} %",
                      f"{r.get('eval_style_reward', float('nan')):.3f}")
    console.print(table)


@app.command("compare")
def compare_cmd(
    runs: List[Path] = typer.Argument(..., help="Run folders of `amp-data train` (several seeds per group)."),
    by: str = typer.Option("auto", "--by", help="Group runs by: auto (every config field in which they differ, "
                           "seed aside; a preset's name only where the resolved configs differ), name "
                           "(folder name without -sN), algo, or any config field "
                           "(amp.window_frames)."),
    output: Path = typer.Option(Path("compare"), "-o", "--output", help="Folder for the figures and curves.csv."),
    x_axis: str = typer.Option("steps", "--x", help="Common grid over environment steps (equal samples) or "
                               "wall-clock minutes (equal time on one machine)."),
    points: int = typer.Option(200, "--points", help="Points of the common grid."),
    smooth: int = typer.Option(5, "--smooth", help="Rolling mean over this many log rows before interpolating "
                               "(training metrics)."),
    raw: bool = typer.Option(False, "--raw", help="Plot training metrics in their units, not normalised over "
                             "all runs as the paper does."),
    confidence: float = typer.Option(0.95, "--ci", help="Confidence level of the bootstrap interval."),
    resamples: int = typer.Option(10_000, "--resamples", help="Bootstrap resamples."),
    json_out: bool = typer.Option(False, "--json", help="The table's numbers as JSON on stdout, nothing else."),
) -> None:
    """Compare groups of runs over seeds: mean and 95 % bootstrap CI, as the AMP+SAC paper's Figs. 8 and 9.

    \b
    Examples:
      amp-data compare runs/sac-s1 runs/sac-s2 runs/sac-s3 runs/ppo-s1 runs/ppo-s2 runs/ppo-s3 -o figs/
      amp-data compare runs/*/ --by amp.window_frames --x minutes
      amp-data compare runs/win-s* runs/pair-s* --json > compare.json

    \b
    Every seed's curve is put on one grid (linear interpolation, from the latest first log row to the
    earliest last one, so nothing is extrapolated), then each group's mean and the percentile-bootstrap CI
    of that mean across seeds are drawn. Writes into -o: style_reward.png (discriminator reward, Fig. 8),
    task_return.png (task return per episode, Fig. 9) - both normalised globally over all runs unless
    --raw - and eval.png (evaluation speed / command, episodes without a fall, and the training rollouts'
    speed / command with sampled actions), with curves.csv holding every plotted number. The table gives each group's seeds and the final values (raw units) with CIs.
    A group of one seed has no interval.
    """
    import json

    from learner.compare import TARGET_NO_FALL_RATE, TARGET_SPEED_RATIO, compare_runs, plot_comparison

    try:
        if resamples < 100:
            raise InputError(None, f"--resamples must be at least 100, got {resamples}")
        cmp = compare_runs(runs, by=by, x_axis=x_axis, points=points, smooth=smooth, confidence=confidence,
                           n_resamples=resamples)
        written = plot_comparison(cmp, output, normalised=not raw)
    except InputError as e:
        fail(str(e))
    for note in cmp.notes:
        err_console.print(f"amp-data: note: {note}", markup=False, highlight=False, soft_wrap=True)
    if json_out:
        typer.echo(json.dumps(cmp.as_json(), indent=2))
        return
    at = cmp.grid[-1]
    at_text = f"{at:,.0f} env steps" if x_axis == "steps" else f"{at / 60:.1f} min"
    table = Table(title=f"{100 * confidence:g} % bootstrap CI of the mean over seeds, at {at_text}",
                  title_justify="left")
    table.add_column("group", overflow="fold", min_width=24)
    for col in ("n", "r_AMP/step", "task return", "speed/cmd", "no fall"):
        table.add_column(col, justify="right")

    def x_text(v):
        if v is None or not np.isfinite(v):
            return "never"
        return f"{v / 1e6:.2f} M" if x_axis == "steps" else f"{v:.0f} min"

    def target_cell(t):
        if not t["n"]:
            return "-"
        if t["mean"] is None:
            return f"median {x_text(t['median'])}"
        ci = f" [{x_text(t['ci_low'])}, {x_text(t['ci_high'])}]" if t["ci_low"] is not None else ""
        return x_text(t["mean"]) + ci

    def cell(m, scale=1.0, fmt="{:.2f}"):
        if m is None:
            return "-"
        text = fmt.format(scale * m["mean"])
        if m["ci_low"] is not None:
            text += f" [{fmt.format(scale * m['ci_low'])}, {fmt.format(scale * m['ci_high'])}]"
        return text

    final = cmp.final()
    for row in final:
        table.add_row(row["group"], str(row["n_seeds"]),
                      cell(row["style_reward"], fmt="{:.3f}"), cell(row["task_return"], fmt="{:.0f}"),
                      cell(row["speed_ratio"]), cell(row["no_fall_rate"]))
    console.print(table)
    reached = Table(title=f"{'env steps' if x_axis == 'steps' else 'minutes'} to the speed target", title_justify="left")
    for col in ("group", "seeds there", "mean [CI] or median", "per seed", "train speed/cmd (sampled)"):
        reached.add_column(col, overflow="fold")
    for row in final:
        t = row["to_target"]
        reached.add_row(row["group"], f"{t['reached']}/{t['n']}", target_cell(t),
                        ", ".join(x_text(x) for x in t["per_seed"]), cell(row["train_speed_ratio"]))
    console.print(reached)
    spacing = ", ".join(f"{row['group']} {x_text(row['to_target']['eval_spacing_median'])}" for row in final
                        if row["to_target"]["eval_spacing_median"] is not None)
    console.print(f"to target: the first evaluation with speed >= {100 * TARGET_SPEED_RATIO:.0f} % of the command "
                  f"and >= {100 * TARGET_NO_FALL_RATE:.0f} % of episodes without a fall, within the grid (mean and CI "
                  "when every seed got there, else the median; seeds that did / all); a run is only as early as "
                  f"its evaluations, median spacing: {spacing or 'none'} (--set eval_every_steps=N)",
                  markup=False, highlight=False, soft_wrap=True)
    console.print("seeds: " + "; ".join(f"{row['group']} {', '.join(map(str, row['seeds']))}" for row in final),
                  markup=False, highlight=False, soft_wrap=True)
    for path in written:
        console.print(f"wrote {path}", markup=False, highlight=False)


def main() -> None:
    app()


if __name__ == "__main__":
    sys.exit(main())
