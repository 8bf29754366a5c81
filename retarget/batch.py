"""Retarget many clips into banks, in parallel across cores."""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Iterable

from amp_data.bank import bank_from_motion, write_bank
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
    try:
        motion, quality = retarget_clip(job.source, replace(cfg, frames=job.frames, cycle=job.cycle or cfg.cycle))
        write_bank(job.output, bank_from_motion(motion, name=job.output.stem, quality=quality.as_attrs()))
        return Outcome(job, quality=quality)
    except InputError as e:
        return Outcome(job, error=str(e))


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
        with ProcessPoolExecutor(max_workers=workers) as pool:
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
