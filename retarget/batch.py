"""Retarget many clips into banks, in parallel across cores."""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Iterable

import raw_mocap
from amp_data.format.atomic import BANK_SUFFIXES, check_output_file, unique_output_names
from amp_data.format.bank import bank_from_motion, write_bank
from amp_data.errors import InputError
from retarget.pipeline import Quality, RetargetConfig, retarget_clip


@dataclass(frozen=True)
class Job:
    source: Path
    output: Path
    frames: tuple[int | None, int | None] | None = None
    cycle: str | None = None      # overrides the config's (a named segment's own gait for --cycle auto)


@dataclass(frozen=True)
class Outcome:
    job: Job
    quality: Quality | None = None
    error: str | None = None


def run_job(job: Job, cfg: RetargetConfig) -> Outcome:
    """Retarget one clip and write its bank. Any failure becomes the outcome's one-line error, so a batch
    goes on past a bad clip (the bank is written atomically: a failed job leaves no file)."""
    try:
        motion, quality = retarget_clip(job.source, replace(cfg, frames=job.frames, cycle=job.cycle or cfg.cycle))
        write_bank(job.output, bank_from_motion(motion, name=job.output.stem, quality=quality.as_attrs()))
        return Outcome(job, quality=quality)
    except InputError as e:
        return Outcome(job, error=str(e))
    except MemoryError:
        return Outcome(job, error=f"{job.source}: out of memory retargeting this clip")
    except Exception as e:   # a bug or a file no check foresaw: name the clip, keep the batch going
        return Outcome(job, error=f"{job.source}: cannot retarget ({type(e).__name__}: {e})")


def die_with_parent() -> None:
    """Pool initializer: on Linux, have the kernel kill this worker when its parent dies (a SIGKILL of
    `amp-data` must not leave workers writing banks)."""
    try:
        import ctypes
        import signal

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        PR_SET_PDEATHSIG = 1
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() == 1:    # the parent died before prctl took effect
            os._exit(1)
    except (OSError, AttributeError):
        pass


def plan_outputs(sources: list[tuple[Path, str, object]], output: Path | None, single: bool,
                 default_dir: Path) -> tuple[list[Path], list[str]]:
    """Bank paths for (source, stem, frames) triples: `output` itself for one clip given a file name, else
    STEM.h5 in the output folder, repeats renamed STEM_2.h5 (with a note each). Checks every output (suffix,
    not an input); creates the folder last."""
    inputs = [src for src, _, _ in sources]
    if single and output is not None and not output.is_dir() and output.suffix:
        return [check_output_file(output, BANK_SUFFIXES, inputs)], []
    out_dir = output if output is not None else (Path(".") if single else default_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError(out_dir, "is a file; several clips need an output folder")
    outputs, notes = unique_output_names([out_dir / f"{stem}.h5" for _, stem, _ in sources])
    for out in outputs:
        if any(out.resolve() == Path(src).resolve() for src in inputs):
            raise InputError(out, "is also an input of this command; writing it would replace the input")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise InputError(out_dir, f"cannot create output folder ({e.strerror})") from None
    return outputs, notes


def run_jobs(jobs: Iterable[Job], cfg: RetargetConfig, workers: int | None = None,
             on_done: Callable[[Outcome], None] | None = None) -> list[Outcome]:
    """Run jobs; `on_done` is called as each finishes. Results come back in job order."""
    jobs = list(jobs)
    workers = min(len(jobs), workers or os.cpu_count() or 1)
    results: dict[int, Outcome] = {}
    if workers <= 1:
        for i, job in enumerate(jobs):
            results[i] = run_job(job, cfg)
            if on_done:
                on_done(results[i])
    else:
        # Longest clips first keeps both cores busy to the end.
        order = sorted(range(len(jobs)), key=lambda i: -_size(jobs[i].source))
        with ProcessPoolExecutor(max_workers=workers, initializer=die_with_parent) as pool:
            futures = {pool.submit(run_job, jobs[i], cfg): i for i in order}
            for fut in as_completed(futures):
                results[futures[fut]] = fut.result()
                if on_done:
                    on_done(results[futures[fut]])
    return [results[i] for i in range(len(jobs))]


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def resolve_sources(clips: list[str]) -> list[tuple[Path, str, tuple[int, int] | None]]:
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


def segment_cycle(cycle: str | None, segment) -> str | None:
    """--cycle auto on a named gait segment means the segment's own gait."""
    if cycle == "auto" and segment is not None and segment.gait in ("walk", "trot", "pace", "canter"):
        return segment.gait
    return None


DEFAULT_OUT_DIR = Path("banks")


def plan_retarget(clips: list[str], output: Path | None, frames: str | None, cfg: RetargetConfig,
                  default_out_dir: Path = DEFAULT_OUT_DIR) -> tuple[list[Job], list[str]]:
    """What `amp-data retarget CLIPS` will do: one Job per source (output file, frame range, cycle) and notes
    for the user (renamed outputs). InputError, before anything is written, for bad sources, frames, numbers
    or outputs. `cfg` holds fps, scale, stance width and cycle as given."""
    from retarget.pipeline import check_retarget_numbers, parse_frames

    sources = resolve_sources(clips or [])
    if frames and len(sources) > 1:
        raise InputError(None, "--frames applies to one clip; several were given")
    frame_range = parse_frames(frames, sources[0][0]) if frames else None
    check_retarget_numbers(cfg.fps, cfg.scale, cfg.stance_width_m, cfg.cycle)
    outputs, notes = plan_outputs(sources, output, len(sources) == 1 and bool(clips), default_out_dir)
    segments = raw_mocap.load_segments()
    jobs = [Job(src, out, frame_range or seg, segment_cycle(cfg.cycle, segments.get(stem) if seg else None))
            for (src, stem, seg), out in zip(sources, outputs)]
    return jobs, notes
