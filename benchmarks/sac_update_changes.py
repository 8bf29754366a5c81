#!/usr/bin/env python
"""Benchmark: the same-maths change to the AMP+SAC update, as a ratio measured in one run.

    python benchmarks/sac_update_changes.py [--banks walk.h5 trot.h5] [--seconds 6]

The cpu preset's update round (batch 512, [256, 256], discriminator, relabelled style reward, negatives'
history) at one torch thread, with the change undone: the actor's loss computing the critics' weight
gradients again (they were never used). Rounds alternate between the variants, best of `--repeats`.
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

    skip_critic_grads = AmpSac._critics_require_grad
    variants = {"this code": skip_critic_grads,
                "undone: critics' weight gradients in the actor's loss": lambda self, flag: None}
    best = {k: 0.0 for k in variants}
    for _ in range(args.repeats):
        for name, critics_require_grad in variants.items():
            AmpSac._critics_require_grad = critics_require_grad
            agent.update()
            n, t0 = 0, time.perf_counter()
            while time.perf_counter() - t0 < args.seconds / args.repeats:
                agent.update()
                n += cfg.sac.updates_per_step
            best[name] = max(best[name], n / (time.perf_counter() - t0))
    AmpSac._critics_require_grad = skip_critic_grads
    base = best["undone: critics' weight gradients in the actor's loss"]
    for name, rate in best.items():
        print(f"{name:56s} {rate:6.1f} gradient steps/s  x{rate / base:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
