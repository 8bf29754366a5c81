#!/usr/bin/env python
"""Benchmark: what the wave terrain costs the task, flat and waves measured in one run.

    python benchmarks/terrain_cost.py [--envs 32] [--steps 300] [--repeats 3] [--banks walk.h5 trot.h5]

The cpu preset's task (`learner/task.py`) at N environments, one MuJoCo thread, random actions around the
default pose (0.3 action units x N(0, 1)), with resets: env steps/s on flat ground (MuJoCo's plane) and
on waves at the hardest level (3 cm, a 0.05 m height field per environment), best of --repeats. MuJoCo's
height-field contacts cost more than the plane's (several contacts per foot, a convex test per prism).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def rate(terrain: str, banks, envs: int, steps: int, repeats: int) -> float:
    from learner import config as C
    from learner import train as T

    cfg = C.from_options("cpu", "sac", num_envs=envs, terrain=None if terrain == "flat" else terrain)
    backend, task, _, _, rng = T.build(cfg, banks, seed=0)
    try:
        if task.terrain is not None:
            task.set_terrain_level(task.terrain.levels - 1)
        task.reset()
        best = 0.0
        for _ in range(repeats):
            t0 = time.perf_counter()
            for _ in range(steps):
                task.step(0.3 * rng.standard_normal((envs, 12)))
            best = max(best, envs * steps / (time.perf_counter() - t0))
        return best
    finally:
        backend.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--envs", type=int, default=32)
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--banks", nargs="*")
    args = ap.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from learner_throughput import default_banks
    args.banks = default_banks(args.banks)
    flat = rate("flat", args.banks, args.envs, args.steps, args.repeats)
    waves = rate("waves", args.banks, args.envs, args.steps, args.repeats)
    print(f"task at {args.envs} envs: flat {flat:,.0f} env steps/s, waves (3 cm) {waves:,.0f} env steps/s "
          f"(x{waves / flat:.2f})")


if __name__ == "__main__":
    main()
