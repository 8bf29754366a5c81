"""Every clean stride of one gait across many clips, each closed as its own loop, in one bank.

Per clip (in parallel across clips): retarget the whole clip, find its strides (FL touchdown to FL touchdown,
amp_data.motion.gait) with the asked label, score each (amp_data.motion.cycle_select: closure and periodicity), close each
as its own loop in task space (retarget/loop.py), and keep those that pass `StrideFilter`:

- the IK meets every stance foot's target within `max_ik_error_mm`, and every swing foot's within
  `max_swing_error_mm` (at push-off the dog's hind leg stretches further than the Go2's: the swing foot
  then stops at the nearest point the Go2 reaches);
- closing the loop moved no foot target further than `max_closure_mm`;
- closure + periodicity (standardised, see cycle_select) at most `max_score`;
- no two legs come closer than the clearance (amp_data.motion.feasibility) on any frame.

Kept strides become wrap clips named `<clip>_<first frame>`, weighted by their duration (so a sampler drawing
clips by weight, then a time in the clip, draws uniformly over all the strides' time).
"""

from __future__ import annotations

import os
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from amp_data.format.bank import Bank, bank_from_motion
from amp_data.errors import InputError
from amp_data.motion.feasibility import CLEARANCE_MIN_M
from retarget.batch import die_with_parent
from retarget.pipeline import RetargetConfig, assess, check_retarget_numbers, motion_contacts, retarget_clip

GATHER_GAITS = {"walk": "walk", "trot": "trot", "pace": "pace", "canter": "canter/gallop"}


@dataclass(frozen=True)
class StrideFilter:
    max_ik_error_mm: float = 2.0       # on stance feet
    max_swing_error_mm: float = 40.0   # a swing foot at full stretch may stop short of the dog's
    max_closure_mm: float = 60.0
    max_score: float = 2.5
    min_clearance_mm: float = CLEARANCE_MIN_M * 1e3


@dataclass
class ClipStrides:
    """What one clip gave: kept strides as one-clip banks, and counts of the rejected by reason."""

    source: Path
    banks: list[Bank] = field(default_factory=list)
    found: int = 0
    rejected: Counter = field(default_factory=Counter)
    error: str | None = None


def clip_strides(path: Path, gait: str, cfg: RetargetConfig, filt: StrideFilter = StrideFilter()) -> ClipStrides:
    from amp_data.motion.cycle_select import cycle_state, score_cycles
    from amp_data.motion.gait import analyze
    from retarget.foot_targets import GO2_STANCE_WIDTH_M
    from retarget.loop import close_loop

    out = ClipStrides(Path(path))
    try:
        motion, _ = retarget_clip(path, replace(cfg, cycle=None))
    except InputError as e:
        out.error = str(e)
        return out
    contacts = motion_contacts(motion)
    report = analyze(contacts, motion.root_pos, motion.root_quat, motion.foot_pos_base, motion.base_lin_vel,
                     motion.fps)
    state = cycle_state(motion.joint_pos, motion.joint_vel, motion.root_pos, motion.root_quat,
                        motion.base_lin_vel, motion.base_ang_vel)
    scored = score_cycles(report, state, GATHER_GAITS[gait])
    out.found = len(scored)
    width = None
    if motion.attrs.get("foot_targets") == "planted":
        width = cfg.stance_width_m if cfg.stance_width_m is not None else GO2_STANCE_WIDTH_M
    toes = _toes_robot_world(motion)
    for choice in scored:
        if choice.score > filt.max_score:
            out.rejected["not periodic (score)"] += 1
            continue
        cycle, ik, closure_m = close_loop(motion, choice.start, choice.stop, contacts, width)
        if closure_m * 1e3 > filt.max_closure_mm:
            out.rejected["loop closure"] += 1
            continue
        quality = replace(assess(cycle, ik.foot_error_m, ik.at_limit, toes[choice.start:choice.stop]),
                          closure_mm=closure_m * 1e3, cycle=f"{choice.cycle.label} {choice.start}:{choice.stop}")
        if quality.foot_error_stance_max_mm > filt.max_ik_error_mm or quality.foot_error_max_mm > filt.max_swing_error_mm:
            out.rejected["out of reach"] += 1
            continue
        if quality.feasibility.min_clearance_mm < filt.min_clearance_mm:
            out.rejected["legs collide"] += 1
            continue
        cycle.attrs["cycle"] = gait
        bank = bank_from_motion(cycle, name=f"{Path(path).stem}_{choice.start}", quality=quality.as_attrs())
        bank.clips[0].weight = cycle.num_frames / cycle.fps
        out.banks.append(bank)
    return out


def _toes_robot_world(motion) -> np.ndarray:
    """The dog's toes (robot world) on the motion's frames: the source keypoints resampled and scaled."""
    from amp_data.motion.feasibility import dog_toes_xy

    xy = dog_toes_xy(motion.keypoints, motion.keypoint_names, motion.source_fps, motion.fps, motion.num_frames,
                     motion.scale)
    if xy is None:
        return np.full((motion.num_frames, 4, 3), np.nan)
    return np.concatenate([xy, np.zeros((*xy.shape[:2], 1))], axis=-1)


def gather_strides(sources: list[Path], gait: str, cfg: RetargetConfig = RetargetConfig(),
                   filt: StrideFilter = StrideFilter(), workers: int | None = None,
                   on_done=None) -> list[ClipStrides]:
    """clip_strides for every source, in parallel; results in source order."""
    if gait not in GATHER_GAITS:
        raise InputError(None, f"unknown gait {gait!r}: choose one of {', '.join(GATHER_GAITS)}")
    workers = min(len(sources), workers or os.cpu_count() or 1)
    results: list[ClipStrides] = []
    if workers <= 1:
        for p in sources:
            results.append(clip_strides(p, gait, cfg, filt))
            if on_done:
                on_done(results[-1])
        return results
    with ProcessPoolExecutor(max_workers=workers, initializer=die_with_parent) as pool:
        for r in pool.map(clip_strides, sources, [gait] * len(sources), [cfg] * len(sources),
                          [filt] * len(sources)):
            results.append(r)
            if on_done:
                on_done(r)
    return results


@dataclass
class GatherPlan:
    """What `amp-data bank gather` will do: the clips, one output file and retarget settings per gait, the
    stride filter and the most strides to keep per gait (0: all)."""
    clips: list[Path]
    outputs: dict[str, Path]
    cfgs: dict[str, RetargetConfig]
    filt: StrideFilter
    max_strides: int


def stance_widths_m(gaits: list[str], values: list[str]) -> dict[str, float | None]:
    """Each gait's stance width (m; None: the Go2's thigh-joint width) from `--stance-width` values, each
    `W` (every gait) or `GAIT=W` (that gait; it wins over a plain `W`). InputError for a value that is not
    one of those; the width's range is `check_retarget_numbers`'."""
    every: float | None = None
    per_gait: dict[str, float] = {}
    for value in values:
        gait, _, number = value.rpartition("=")
        try:
            width = float(number)
        except ValueError:
            raise InputError(None, f"--stance-width {value!r}: expected W or GAIT=W, W in metres") from None
        if not gait:
            if every is not None:
                raise InputError(None, "--stance-width for every gait is given twice")
            every = width
        elif gait not in gaits:
            raise InputError(None, f"--stance-width {value!r}: {gait!r} is not a gait being gathered "
                                   f"({', '.join(gaits)})")
        elif gait in per_gait:
            raise InputError(None, f"--stance-width for {gait} is given twice")
        else:
            per_gait[gait] = width
    return {g: per_gait.get(g, every) for g in gaits}


def plan_gather(gaits: list[str], sources: list[str], output: Path, fps: float, stance_widths: list[str],
                max_strides: int, max_ik_error_mm: float, max_closure_mm: float) -> GatherPlan:
    """The plan, or InputError before anything is written for a bad gait, number, source or output (an
    output folder is created here)."""
    from amp_data.format.atomic import BANK_SUFFIXES, check_output_file
    from retarget.batch import resolve_sources

    bad = [g for g in gaits if g not in GATHER_GAITS]
    if bad:
        raise InputError(None, f"unknown gait {bad[0]!r}: choose from {', '.join(GATHER_GAITS)}")
    if len(set(gaits)) != len(gaits):
        raise InputError(None, "a gait is named twice")
    widths_m = stance_widths_m(gaits, stance_widths)
    for width_m in set(widths_m.values()):
        check_retarget_numbers(fps, stance_width_m=width_m)
    if max_strides < 0 or max_ik_error_mm < 0 or max_closure_mm < 0:
        raise InputError(None, "--max-strides, --max-ik-error and --max-closure must not be negative")
    clips = [p for p, _, _ in resolve_sources(list(sources or []))]
    if output.suffix and not output.is_dir():
        if len(gaits) > 1:
            raise InputError(output, "several gaits need an output folder")
        outputs = {gaits[0]: check_output_file(output, BANK_SUFFIXES)}
    else:
        try:
            output.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise InputError(output, f"cannot create output folder ({e.strerror})") from None
        outputs = {g: output / f"{g}.h5" for g in gaits}
    return GatherPlan(clips, outputs, {g: RetargetConfig(fps=fps, stance_width_m=widths_m[g]) for g in gaits},
                      StrideFilter(max_ik_error_mm=max_ik_error_mm, max_closure_mm=max_closure_mm), max_strides)


def gathered_bank(results: list[ClipStrides], max_strides: int = 0) -> tuple[Bank | None, int, Counter]:
    """The kept strides of all clips as one bank (at most `max_strides`, those of smallest loop closure; None
    when none was kept), the number of strides found and the rejections by reason."""
    from amp_data.format.merge import merge_banks

    banks = [b for r in results for b in r.banks]
    found = sum(r.found for r in results)
    rejected = sum((r.rejected for r in results), Counter())
    if not banks:
        return None, found, rejected
    if max_strides and len(banks) > max_strides:
        banks = sorted(banks, key=lambda b: float(b.quality["closure_mm"][0]))[:max_strides]
    return merge_banks(banks).bank, found, rejected
