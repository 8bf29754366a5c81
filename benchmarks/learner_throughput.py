#!/usr/bin/env python
"""Benchmark: the learner's two loops, measured apart: the simulator (env steps/s) and the updates (gradient
steps/s), at the cpu preset's sizes and at the paper's network and batch sizes.

    python benchmarks/learner_throughput.py [--banks walk.h5 trot.h5] [--seconds 5] [--json FILE]

Needs torch and mujoco (`pip install '.[learn]'`) and two banks (default: made with
`amp-data retarget walk trot --cycle auto` into a temporary folder).

1. Simulator: policy steps of N environments with zero actions (`Go2AmpTask.step`: PD at 200 Hz,
   observations, Table III rewards, AMP observation, resets), against the bare backend
   (`MujocoBackend.step_pd` + `state()`) at the same N: the ratio is the task's overhead.
2. Updates: one AMP+SAC update round (8 gradient steps of actor, twin critics, temperature, plus one
   discriminator batch) and one AMP+PPO update (5 epochs x 4 minibatches with the discriminator terms),
   replays filled with real transitions; gradient steps/s = grad steps / wall time.
   "naive" is the same SAC round with one-step targets and the discriminator terms switched off: what a
   plain SAC pays, for reference.

Threads: torch and MuJoCo get one thread each, as the cpu preset sets (see learner/config.py).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def _best(fn, seconds: float, repeats: int = 3) -> float:
    """Best rate (calls/s) over `repeats` runs of about `seconds` each."""
    best = 0.0
    for _ in range(repeats):
        n, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < seconds / repeats or n == 0:
            fn()
            n += 1
        best = max(best, n / (time.perf_counter() - t0))
    return best


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--banks", nargs="*")
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--json")
    args = ap.parse_args()

    import torch
    from learner import config as C
    from learner.train import build

    torch.set_num_threads(1)
    banks = args.banks
    if not banks:
        tmp = tempfile.mkdtemp()
        subprocess.run(["amp-data", "retarget", "walk", "trot", "--cycle", "auto", "-o", tmp], check=True,
                       capture_output=True)
        banks = [f"{tmp}/walk.h5", f"{tmp}/trot.h5"]
    results = {"machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "torch": torch.__version__,
                           "load_avg_start": os.getloadavg()[0]}}
    print(f"{os.cpu_count()} CPUs, torch {torch.__version__}, load average {os.getloadavg()[0]:.2f}", flush=True)

    # 1. simulator
    sim = {}
    for n in (32, 128):
        cfg = C.make_config("cpu", "sac")
        cfg.env.num_envs = n
        backend, task, expert, agent, rng = build(cfg, banks, seed=0)
        task.reset()
        zeros = np.zeros((n, 12))
        task_rate = _best(lambda: task.step(zeros), args.seconds) * n
        q = np.tile(task.default_pose, (n, 1))

        def bare():
            backend.step_pd(q, 20.0, 0.5, substeps=4)
            backend.state()
        bare_rate = _best(bare, args.seconds) * n
        backend.close()
        sim[n] = {"task_env_steps_per_s": task_rate, "bare_backend_env_steps_per_s": bare_rate,
                  "task_overhead": bare_rate / task_rate}
        print(f"simulator N={n:4d}: task {task_rate:8,.0f} env steps/s, bare backend {bare_rate:8,.0f} "
              f"(task costs x{bare_rate / task_rate:.2f})", flush=True)
    results["simulator"] = sim

    # 2. updates
    upd = {}

    def sac_round(label, overrides):
        cfg = C.make_config("cpu", "sac")
        C.apply_overrides(cfg, overrides)
        backend, task, expert, agent, rng = build(cfg, banks, seed=0)
        obs = task.reset()
        for _ in range(max(cfg.sac.warmup_steps, 20)):
            a = agent.act(obs)
            res = task.step(a)
            agent.observe(obs, a, res)
            obs = res.obs
        agent.update()   # warm-up of the allocator
        rate = _best(agent.update, args.seconds, repeats=2) * cfg.sac.updates_per_step
        backend.close()
        upd[label] = {"grad_steps_per_s": rate, "overrides": overrides}
        print(f"{label:44s} {rate:8.1f} gradient steps/s", flush=True)

    sac_round("AMP+SAC cpu preset (batch 512, [256, 256])", [])
    sac_round("AMP+SAC cpu, without the negatives' history", ["amp.history_size=0"])
    sac_round("AMP+SAC cpu, without history or relabelling",
              ["amp.history_size=0", "sac.relabel_style_reward=false"])
    sac_round("naive SAC, cpu sizes (1-step, no discriminator)",
              ["sac.n_step=1", "amp.updates_per_iter=0"])
    sac_round("AMP+SAC paper sizes (batch 16384, [1024, 512])",
              ["sac.batch_size=16384", "sac.hidden=1024,512", "amp.hidden=1024,512", "amp.batch_size=8192",
               "env.num_envs=64"])

    cfg = C.make_config("cpu", "ppo")
    backend, task, expert, agent, rng = build(cfg, banks, seed=0)
    obs = task.reset()

    def ppo_iteration():
        nonlocal obs
        while not agent.ready():
            a = agent.act(obs)
            res = task.step(a)
            agent.observe(obs, a, res)
            obs = res.obs
        t0 = time.perf_counter()
        agent.update()
        return time.perf_counter() - t0
    ppo_iteration()
    times = [ppo_iteration() for _ in range(3)]
    rate = agent.grad_steps_per_update / min(times)
    upd["AMP+PPO cpu preset"] = {"grad_steps_per_s": rate}
    print(f"{'AMP+PPO cpu preset (128 x 24 steps, 5 x 4 minibatches)':44s} {rate:8.1f} gradient steps/s")
    backend.close()
    results["updates"] = upd
    results["machine"]["load_avg_end"] = os.getloadavg()[0]
    print(f"load average at end {os.getloadavg()[0]:.2f}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
