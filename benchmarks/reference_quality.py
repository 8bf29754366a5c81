#!/usr/bin/env python
"""Benchmark: can the Go2 perform the reference motions? The reference-motions issue's figures, in one run.

    python benchmarks/reference_quality.py [--main-job "bank gather walk trot"] [--json FILE]

1. Runs the README's main job (`amp-data <main-job> -o TMP`) in a subprocess and reads walk.h5 and trot.h5.
2. Retargets every MANN clip, whole, as `amp-data retarget` does (`run_jobs`, one worker per core), timed,
   and keeps the clips whose main gait is walk, trot or pace (amp_data.motion.gait).
3. Per bank (all clips of the bank pooled) and over the whole clips (pooled), from amp_data.motion.feasibility:
   fore / hind stance width against the Go2's thigh-joint width, midline crossings, FL hip range, stance
   foot slip (Go2 and the dog's own toes on the same frames), the share of stance foot-frames above 5 mm,
   leg clearance (frames under 30 mm), IK error and joint-limit clamps (whole clips), peak joint and base
   angular velocity, and the wall time of the whole set.

Exit code 2 if no clip folder is found ($AMP_DATA_MOCAP, see raw_mocap.find_mocap_dir).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import raw_mocap  # noqa: E402
from amp_data.format.bank import read_bank  # noqa: E402
from amp_data.motion.contacts import feet_world_m  # noqa: E402
from amp_data.motion.feasibility import ROBOT_STANCE_WIDTH_M, assess_arrays, dog_toes_xy, stance_speed_mm_s  # noqa: E402
from amp_data.motion.gait import analyze_clip  # noqa: E402

MAIN_GAITS = ("walk", "trot", "pace")
WIDTH_TOL = 0.15


def pooled(banks) -> dict:
    """Feasibility over all clips of several banks, frames pooled (each clip's own arrays, no differencing across)."""
    datas, slips, dog_slips = [], [], []
    for bank in banks:
        for c in bank.clips:
            d = bank.clip_data(c)
            datas.append(d)
            dog = None
            if bank.keypoints is not None and c.keypoint_stop > c.keypoint_start:
                dog = dog_toes_xy(bank.keypoints[c.keypoint_start:c.keypoint_stop], bank.keypoint_names,
                                  float(bank.attrs.get("source_fps", 60.0)), bank.fps, c.num_frames,
                                  float(bank.attrs.get("scale", 1.0)))
            feet = feet_world_m(d["root_pos"], d["root_quat"], d["foot_pos_base"])
            slips.append(stance_speed_mm_s(feet[..., :2], d["contacts"], bank.fps))
            if dog is not None:
                dog_slips.append(stance_speed_mm_s(dog, d["contacts"], bank.fps))
    data = {k: np.concatenate([d[k] for d in datas]) for k in datas[0]}
    f = assess_arrays(data, banks[0].fps).as_dict()
    f["slip_mm_s"] = float(np.median(np.concatenate(slips)))
    f["dog_slip_mm_s"] = float(np.median(np.concatenate(dog_slips))) if dog_slips else float("nan")
    f["clips"] = sum(len(b.clips) for b in banks)
    return f


def targets(f: dict, is_walk: bool = False) -> list[str]:
    misses = []
    for girdle in ("fore", "hind"):
        if abs(f[f"{girdle}_width_m"] / ROBOT_STANCE_WIDTH_M - 1) > WIDTH_TOL:
            misses.append(f"{girdle} width")
    if is_walk and not (f["fl_hip_max_rad"] >= 0.0 and f["fl_hip_min_rad"] <= 0.2):
        misses.append("FL hip ROM")
    if not (f["slip_mm_s"] <= 10 and (not np.isfinite(f["dog_slip_mm_s"]) or f["slip_mm_s"] <= f["dog_slip_mm_s"])):
        misses.append("slip")
    if not f["stance_above_5mm"] <= 0.01:
        misses.append("feet on floor")
    if f["clearance_violations"]:
        misses.append("clearance")
    return misses


def row(name: str, f: dict) -> str:
    return (f"{name:<14} {f['clips']:>5} {f['frames']:>7} {f['fore_width_m']:6.3f} {f['hind_width_m']:6.3f} "
            f"{f['fore_width_min_m']:6.3f} {f['midline_crossing_frames']:>6} "
            f"{f['fl_hip_min_rad']:+6.2f}..{f['fl_hip_max_rad']:+5.2f} {f['slip_mm_s']:6.0f} {f['dog_slip_mm_s']:6.0f} "
            f"{100 * f['stance_above_5mm']:6.1f} {f['stance_height_median_mm']:6.1f} {f['min_clearance_mm']:7.1f} "
            f"{f['clearance_violations']:>6} {f['max_joint_vel_rad_s']:6.1f} {f['max_ang_vel_rad_s']:6.1f}")


HEADER = (f"{'bank':<14} {'clips':>5} {'frames':>7} {'fore':>6} {'hind':>6} {'fore_mn':>6} {'cross':>6} "
          f"{'FL hip rad':>14} {'slip':>6} {'dog':>6} {'>5mm%':>6} {'h_med':>6} {'clr_mm':>7} {'<30mm':>6} "
          f"{'|qd|':>6} {'|w|':>6}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--main-job", default="bank gather walk trot",
                    help="the README's main job after `amp-data` (it must write walk.h5 and trot.h5 into -o)")
    ap.add_argument("--workers", type=int, default=0)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    folder = raw_mocap.find_mocap_dir()
    if folder is None:
        print("no MANN clip folder found: set AMP_DATA_MOCAP", file=sys.stderr)
        return 2
    from retarget.batch import Job, run_jobs
    from retarget.pipeline import RetargetConfig

    out: dict = {"main_job": args.main_job}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        main_dir = tmp / "main"
        main_dir.mkdir()
        cmd = [sys.executable, "-c", "import cli; cli.main()", *shlex.split(args.main_job), "-o", str(main_dir)]
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, env={**os.environ, "COLUMNS": "200"})
        out["main_job_s"] = time.perf_counter() - t0
        if proc.returncode != 0:
            print(proc.stdout, proc.stderr, file=sys.stderr)
            return 1
        print(proc.stdout)
        main_banks = {name: read_bank(main_dir / f"{name}.h5") for name in ("walk", "trot")}

        clips = sorted(folder.glob("*.bvh"))
        jobs = [Job(p, tmp / "clips" / f"{p.stem}.h5") for p in clips]
        (tmp / "clips").mkdir()
        t0 = time.perf_counter()
        outcomes = run_jobs(jobs, RetargetConfig(), workers=args.workers or None)
        out["whole_set_s"] = time.perf_counter() - t0
        good = [o for o in outcomes if o.quality is not None]
        banks, quals = [], []
        for o in good:
            bank = read_bank(o.job.output)
            if analyze_clip(bank).gait in MAIN_GAITS:
                banks.append(bank)
                quals.append(o.quality)

    out["banks"] = {name: pooled([b]) for name, b in main_banks.items()}
    out["whole_clips"] = pooled(banks)
    err = np.array([q.foot_error_median_mm for q in quals])
    out["whole_clips"].update(
        ik_error_median_mm=float(np.median(err)), ik_error_max_mm=float(max(q.foot_error_max_mm for q in quals)),
        limit_clamps=int(sum(q.limit_clamps for q in quals)), clip_names=[b.clips[0].name for b in banks])
    print(f"Go2 thigh-joint width {ROBOT_STANCE_WIDTH_M:.3f} m; widths in m, slip mm/s (median, stance feet), "
          ">5mm%: stance foot-frames above 5 mm, clearance between legs' capsules (mm)")
    print(HEADER)
    for name, f in out["banks"].items():
        print(row(name + ".h5", f))
    print(row("whole clips", out["whole_clips"]))
    w = out["whole_clips"]
    print(f"whole clips (main gait walk/trot/pace): {len(banks)} of {len(clips)}; IK error median of clip medians "
          f"{w['ik_error_median_mm']:.2f} mm, max {w['ik_error_max_mm']:.1f} mm, joint-limit clamps {w['limit_clamps']}")
    print(f"whole set retargeted in {out['whole_set_s']:.1f} s ({len(clips)} clips); main job {out['main_job_s']:.1f} s")
    for name, f in out["banks"].items():
        miss = targets(f, is_walk=name == "walk")
        print(f"targets {name}.h5: {'all met' if not miss else 'missed ' + ', '.join(miss)}")
    miss = [m for m in targets(w) if m != "clearance"]
    print(f"targets whole clips: {'all met' if not miss else 'missed ' + ', '.join(miss)}")
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
