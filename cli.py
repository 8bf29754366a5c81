"""`amp-data`: dog motion capture -> Unitree Go2 motion banks.

Commands: `retarget` (BVH clips -> HDF5 banks) and `clips` (the MANN clips and named gait segments).
Errors in the user's input print one line naming the file and the problem, and exit with code 2.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import List, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

import raw_mocap
from amp_data.errors import InputError

app = typer.Typer(
    help="Turn German Shepherd motion capture into Unitree Go2 motion banks for imitation learning.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
# Rich falls back to 80 columns when not on a terminal; the quality table needs more.
console = Console(width=None if sys.stdout.isatty() else 120)
err_console = Console(stderr=True, width=None if sys.stderr.isatty() else 120)

DEFAULT_OUT_DIR = Path("banks")


def fail(message: str) -> None:
    err_console.print(f"amp-data: error: {message}", markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(2)


def _resolve_sources(clips: list[str]) -> list[tuple[Path, str, tuple[int, int] | None]]:
    """(path, bank stem, frames) for each argument: a file, a folder, a clip name or a segment name."""
    if not clips:
        found = raw_mocap.default_clips()
        if not found:
            raise InputError(None, "no clips given and no MANN clip folder found: pass BVH files, or set "
                                   f"{raw_mocap.ENV_VAR} to the folder holding the MANN BVH clips")
        return [(p, p.stem, None) for p in found]
    out = []
    for arg in clips:
        p = Path(arg)
        if p.is_dir():
            files = sorted(p.glob("*.bvh")) + sorted(p.glob("*.BVH"))
            if not files:
                raise InputError(p, "folder holds no .bvh files")
            out += [(f, f.stem, None) for f in files]
            continue
        try:
            path, frames = raw_mocap.resolve(arg)
        except raw_mocap.ClipNotFound as e:
            raise InputError(None, str(e)) from None
        stem = arg if frames is not None else path.stem   # a segment keeps its name: trot0.h5
        out.append((path, stem, frames))
    return out


def _quality_table(outcomes) -> Table:
    table = Table(title="Retarget quality", title_justify="left", caption_justify="left", caption=(
        "IK err: foot centre to target, mm (median, max; large max = dog pose out of the Go2's reach). "
        "clamps: (frame, joint) held at a soft limit. slip: median horizontal speed of feet on the floor, "
        "mm/s, Go2 and the dog's own. |w|: peak base angular speed, rad/s."))
    for col in ("bank", "frames", "sec", "IK err med", "IK err max", "clamps", "slip", "dog slip", "max |w|"):
        table.add_column(col, justify="left" if col == "bank" else "right", no_wrap=True)
    for o in outcomes:
        if o.quality is None:
            table.add_row(str(o.job.output), *["-"] * 7, "[red]failed[/red]")
            continue
        q = o.quality
        table.add_row(str(o.job.output), str(q.frames), f"{q.duration_s:.1f}", f"{q.foot_error_median_mm:.2f}",
                      f"{q.foot_error_max_mm:.1f}", str(q.limit_clamps), f"{q.stance_slip_mm_s:.0f}",
                      f"{q.source_slip_mm_s:.0f}", f"{q.max_ang_vel_rad_s:.1f}")
    return table


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
    fps: float = typer.Option(50.0, "--fps", help="Frame rate of the bank (Hz); the source is resampled."),
    scale: Optional[float] = typer.Option(
        None, "--scale", help="Dog-to-Go2 scale. Default: the skeleton map's (0.9 for the MANN dog)."),
    skeleton_map: Path = typer.Option(
        None, "--map", help="Skeleton map TOML for another quadruped skeleton (default: MANN dog)."),
    jobs: int = typer.Option(0, "--jobs", "-j", help="Parallel worker processes (0: one per core)."),
) -> None:
    """Retarget dog BVH clips to Unitree Go2 motion banks (HDF5, see amp_data/SCHEMA.md).

    \b
    Examples:
      amp-data retarget D1_009_KAN01_001 -o walk.h5
      amp-data retarget trot0                      # AMP_for_hardware's trot0 segment -> trot0.h5
      amp-data retarget dog.bvh --frames 100:400 --fps 60
      amp-data retarget ../shared/raw_mocap -o banks/   # every clip, in parallel

    Prints a quality table: IK foot error, joint-limit clamps, stance foot slip (robot and the dog's own),
    peak base angular velocity.
    """
    from retarget.batch import Job, run_jobs
    from retarget.pipeline import RetargetConfig, parse_frames
    from retarget.skeleton_map import DEFAULT_MAP

    try:
        sources = _resolve_sources(clips or [])
        if frames and len(sources) > 1:
            raise InputError(None, "--frames applies to one clip; several were given")
        frame_range = parse_frames(frames, sources[0][0]) if frames else None
        single = len(sources) == 1 and bool(clips)
        if single and output is not None and not output.is_dir() and output.suffix:
            outputs = [output]
        else:
            out_dir = output if output is not None else (Path(".") if single else DEFAULT_OUT_DIR)
            if out_dir.exists() and not out_dir.is_dir():
                raise InputError(out_dir, "is a file; several clips need an output folder")
            try:
                out_dir.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                raise InputError(out_dir, f"cannot create output folder ({e.strerror})") from None
            outputs = [out_dir / f"{stem}.h5" for _, stem, _ in sources]
        job_list = [Job(src, out, frame_range or seg) for (src, _, seg), out in zip(sources, outputs)]
        if not (fps > 0):
            raise InputError(None, f"--fps must be positive, got {fps:g}")
        if scale is not None and not (scale > 0):
            raise InputError(None, f"--scale must be positive, got {scale:g}")
        cfg = RetargetConfig(fps=fps, scale=scale, map_path=skeleton_map or DEFAULT_MAP)
    except InputError as e:
        fail(str(e))

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
        total = sum(o.quality.frames for o in good)
        console.print(f"{len(good)} bank(s), {total} frames at {fps:g} fps, in {elapsed:.1f} s")
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


def main() -> None:
    app()


if __name__ == "__main__":
    sys.exit(main())
