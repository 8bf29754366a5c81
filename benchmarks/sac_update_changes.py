#!/usr/bin/env python
"""Benchmark: each same-maths change to the AMP+SAC update, as a ratio measured in one run.

    python benchmarks/sac_update_changes.py [--banks walk.h5 trot.h5] [--seconds 6]

The cpu preset's update round (batch 512, [256, 256], discriminator, relabelled style reward, negatives'
history) at one torch thread, with each change undone in turn: (a) the actor's loss computing the critics'
weight gradients again (they were never used), (b) the running normalisers casting their float64 statistics
at every call instead of once per update. Rounds alternate between variants, best of `--repeats`.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--banks", nargs="*", default=None)
    ap.add_argument("--seconds", type=float, default=6.0)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()

    from learner import config as C
    from learner.networks import RunningNorm
    from learner.sac import AmpSac
    from learner.train import build

    from learner_throughput import default_banks

    banks = default_banks(args.banks)
    cfg = C.make_config("cpu", "sac")
    cfg.torch_threads = 1
    backend, task, expert, agent, _ = build(cfg, banks, seed=0)
    obs = task.reset()
    for _ in range(150):
        a = agent.act(obs)
        res = task.step(a)
        agent.observe(obs, a, res)
        obs = res.obs
    backend.close()

    new_norm, new_grad = RunningNorm.normalize, AmpSac._critics_require_grad

    def old_norm(self, x):
        std = self.var.sqrt().clamp(min=self.min_std).to(x.dtype)
        return ((x - self.mean.to(x.dtype)) / std).clamp(-self.clip, self.clip)

    variants = {
        "this code": (new_norm, new_grad),
        "(a) undone: critics' weight gradients in the actor's loss": (new_norm, lambda self, flag: None),
        "(b) undone: statistics cast at every call": (old_norm, new_grad),
        "both undone (the update before these changes)": (old_norm, lambda self, flag: None),
    }
    best = {k: 0.0 for k in variants}
    for _ in range(args.repeats):
        for name, (norm, grad) in variants.items():
            RunningNorm.normalize, AmpSac._critics_require_grad = norm, grad
            agent.update()
            n, t0 = 0, time.perf_counter()
            while time.perf_counter() - t0 < args.seconds / args.repeats:
                agent.update()
                n += cfg.sac.updates_per_step
            best[name] = max(best[name], n / (time.perf_counter() - t0))
    RunningNorm.normalize, AmpSac._critics_require_grad = new_norm, new_grad
    base = best["both undone (the update before these changes)"]
    for name, rate in best.items():
        print(f"{name:58s} {rate:6.1f} gradient steps/s  x{rate / base:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
