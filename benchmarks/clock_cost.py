#!/usr/bin/env python
"""Benchmark: what the gait clock and its reward terms cost the task, every setting measured in one run.

    python benchmarks/clock_cost.py [--envs 32] [--steps 200] [--repeats 5] [--banks walk.h5 trot.h5]

The cpu preset's task (`learner/task.py`) at N environments, one MuJoCo thread, random actions around the
default pose (0.3 action units x N(0, 1)), with resets, for each setting: env steps/s, best of --repeats,
the settings taking turns within each repeat so that a busy machine slows them alike. Settings: the clock
off; the clock and its contact match (`reward.gait_clock`); the clock and all its terms (the match, swing
feet free, stance feet still, swing height).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

CLOCK = ["env.gait_clock=true"]
SETTINGS = {
    "clock off": [],
    "clock, match": [*CLOCK, "reward.gait_clock=120"],
    "clock, all terms": [*CLOCK, "reward.gait_clock=120", "reward.gait_clock_swing_free=240",
                         "reward.gait_clock_stance_still=240", "reward.gait_clock_swing_height=240"],
}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--envs", type=int, default=32)
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--banks", nargs="+", default=["walk.h5", "trot.h5"])
    args = ap.parse_args(argv)
    from learner import config as C
    from learner import train as T

    tasks = {}
    for name, overrides in SETTINGS.items():
        cfg = C.make_config("cpu", "sac")
        C.apply_overrides(cfg, [f"env.num_envs={args.envs}", *overrides])
        backend, task, _, _, _ = T.build(C.validate(cfg), args.banks, seed=0)
        task.reset()
        tasks[name] = (backend, task)
    rng = np.random.default_rng(0)
    actions = 0.3 * rng.standard_normal((args.steps, args.envs, 12))
    best = dict.fromkeys(SETTINGS, 0.0)
    for _ in range(args.repeats):
        for name, (_, task) in tasks.items():
            t0 = time.perf_counter()
            for a in actions:
                task.step(a)
            best[name] = max(best[name], args.envs * args.steps / (time.perf_counter() - t0))
    for backend, _ in tasks.values():
        backend.close()
    base = best["clock off"]
    for name, r in best.items():
        print(f"{name:18s} {r:8.0f} env steps/s  x{r / base:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
