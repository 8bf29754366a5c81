#!/usr/bin/env python
"""Benchmark: the warp backend (MuJoCo Warp) against CPU MuJoCo, and AMP+SAC updates at the paper's sizes.

    python benchmarks/gpu_throughput.py [--worlds 1024 4096 16384] [--device cuda:0] [--banks walk.h5 trot.h5]
                                        [--seconds 5] [--cpu-worlds 256] [--json FILE]

Needs torch, mujoco and mujoco-warp (`pip install '.[gpu]'`). On a machine without a CUDA GPU it runs on
Warp's CPU device at small sizes (default worlds 4 and 16): a smoke test of the script, not a benchmark.

One env step = one policy step at decimation 4 (4 sim steps of 5 ms, PD at every sim step), new joint
targets q_default + 0.1 rad x N(0, 1) each step, as `benchmarks/mujoco_backend.py`.

1. Bare backend, env steps/s at each number of worlds:
   - `warp step_pd`: targets uploaded, 4 PD kernels and 4 `mujoco_warp.step` (a CUDA graph on a GPU), the
     overflow check; what stays on the device.
   - `warp step_pd + state()`: the same plus the snapshot copied to the host, which the numpy task needs.
   - `CPU MuJoCo`: `MujocoBackend` (mujoco's rollout, one thread per core) at `--cpu-worlds`, in the same
     run; the ratios are warp / CPU MuJoCo.
2. Task: `Go2AmpTask.step` on the warp backend (paper preset: observations, Table III rewards, AMP
   observation, resets, Table IV randomisation), zero actions, with the state kept on the device as torch
   tensors (`env.sim_arrays=torch`, the default on a GPU) and, for the ratio, copied to the host as numpy.
3. AMP+SAC gradient steps/s at the paper's sizes (batch 16384, [1024, 512] actor, critics and discriminator,
   discriminator batch 8192, 8 gradient steps per round) on the torch device (`cuda` where there is one),
   replay filled with the task's own transitions; beside it the env steps/s those 8 gradient steps per 4096
   env steps ask of the simulator, to say which side bounds a paper-preset run.

Every figure is the best of `--repeats` runs of about `--seconds` each; the GPU's name is printed with them.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.learner_throughput import _best, default_banks  # noqa: E402

DECIMATION, KP, KD, TARGET_NOISE_RAD = 4, 20.0, 0.5, 0.1


def bare_rates(backend, seconds: float, repeats: int) -> tuple[float, float]:
    """(env steps/s of step_pd alone, of step_pd + state()) for a backend of N worlds."""
    n = backend.num_envs
    rng = np.random.default_rng(0)
    default = backend.default_qpos[7:]
    targets = [default + TARGET_NOISE_RAD * rng.standard_normal((n, 12)) for _ in range(8)]
    backend.reset(np.arange(n), np.tile(backend.default_qpos, (n, 1)), np.zeros((n, 18)))
    k = [0]

    def step():
        backend.step_pd(targets[k[0] % 8], KP, KD, substeps=DECIMATION)
        k[0] += 1

    def step_and_read():
        step()
        st = backend.state()
        fallen = np.flatnonzero(st.body_contact)
        if len(fallen):
            backend.reset(fallen, np.tile(backend.default_qpos, (len(fallen), 1)), np.zeros((len(fallen), 18)))

    step()                                   # compile / capture outside the timing
    return _best(step, seconds, repeats) * n, _best(step_and_read, seconds, repeats) * n


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--worlds", type=int, nargs="*")
    ap.add_argument("--cpu-worlds", type=int, default=256)
    ap.add_argument("--device", help="Warp device (default: cuda:0 where there is one, else cpu)")
    ap.add_argument("--banks", nargs="*")
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--skip-updates", action="store_true")
    ap.add_argument("--json")
    args = ap.parse_args()

    import torch
    import warp as wp
    from learner import config as C
    from learner.mujoco_backend import MujocoBackend
    from learner.train import build
    from learner.warp_backend import WarpBackend, default_device

    device = wp.get_device(args.device or default_device())
    on_gpu = device.is_cuda
    worlds = args.worlds or ([1024, 4096, 16384] if on_gpu else [4, 16])
    cpu_worlds = args.cpu_worlds if on_gpu else min(args.cpu_worlds, max(worlds))
    gpu_name = device.name if on_gpu else "none (Warp's CPU device: a smoke test, not a GPU figure)"
    results = {"machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "torch": torch.__version__,
                           "warp": wp.config.version, "warp_device": str(device), "gpu": gpu_name,
                           "load_avg_start": os.getloadavg()[0]}}
    print(f"GPU: {gpu_name}; warp device {device}; {os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.2f}",
          flush=True)

    # 1. bare backends
    with MujocoBackend(cpu_worlds) as cpu:
        cpu_step, cpu_read = bare_rates(cpu, args.seconds, args.repeats)
    print(f"CPU MuJoCo, {cpu_worlds} worlds, {cpu.threads} threads: step_pd {cpu_step:12,.0f} env steps/s, "
          f"+ state() {cpu_read:12,.0f}", flush=True)
    bare = {"cpu_mujoco": {"worlds": cpu_worlds, "step_pd": cpu_step, "step_pd_and_state": cpu_read}}
    for n in worlds:
        t0 = time.perf_counter()
        with WarpBackend(n, device=str(device), arrays="numpy") as w:
            built_s = time.perf_counter() - t0
            step, read = bare_rates(w, args.seconds, args.repeats)
        bare[f"warp_{n}"] = {"worlds": n, "step_pd": step, "step_pd_and_state": read, "build_s": built_s,
                             "vs_cpu_mujoco": read / cpu_read}
        print(f"warp, {n:6d} worlds: step_pd {step:12,.0f} env steps/s, + state() {read:12,.0f} "
              f"(x{read / cpu_read:.1f} CPU MuJoCo; built in {built_s:.1f} s)", flush=True)
    results["bare_backend"] = bare

    # 2. the task on warp
    banks = default_banks(args.banks)
    task_rates, task_rates_host = {}, {}
    for n in worlds:
        for arrays, rates in (("torch", task_rates), ("numpy", task_rates_host)):
            cfg = C.make_config("paper", "sac")
            cfg.env.backend, cfg.env.sim_device, cfg.env.num_envs = "warp", str(device), n
            cfg.env.sim_arrays = arrays
            cfg.sac.replay_size, cfg.amp.replay_size = 1000, 1000
            backend, task, _, _, _ = build(cfg, banks, seed=0)
            task.reset()
            zeros = task.kind.zeros((n, 12))     # actions where the task keeps its arrays
            task.step(zeros)
            rates[n] = _best(lambda: task.step(zeros), args.seconds, args.repeats) * n
            backend.close()
        rate = task_rates[n]
        print(f"task on warp, {n:6d} worlds: {rate:12,.0f} env steps/s with the state on the device "
              f"(x{rate / task_rates_host[n]:.2f} of the task on host copies, {task_rates_host[n]:,.0f}; "
              f"the bare backend: x{bare[f'warp_{n}']['step_pd_and_state'] / rate:.2f} of it)", flush=True)
    results["task_on_warp"] = task_rates
    results["task_on_warp_host_arrays"] = task_rates_host

    # 3. AMP+SAC at the paper's sizes
    if not args.skip_updates:
        cfg = C.make_config("paper", "sac")
        n = max(worlds) if on_gpu else 64
        cfg.env.backend, cfg.env.sim_device, cfg.env.num_envs = "warp", str(device), n
        cfg.sac.replay_size, cfg.amp.replay_size = 200_000, 200_000
        if not on_gpu:     # a CPU smoke test of the same code path at sizes that finish
            cfg.sac.batch_size, cfg.amp.batch_size = 1024, 512
        backend, task, _, agent, _ = build(cfg, banks, seed=0)
        obs = task.reset()
        for _ in range(max(cfg.sac.n_step + 2, cfg.sac.batch_size // n + 2)):
            a = agent.act(obs)
            res = task.step(a)
            agent.observe(obs, a, res)
            obs = res.obs
        agent.update()
        if on_gpu:
            torch.cuda.synchronize()

        def round_():
            agent.update()
            if on_gpu:
                torch.cuda.synchronize()
        rate = _best(round_, args.seconds, repeats=2) * cfg.sac.updates_per_step
        backend.close()
        # the paper's ratio: updates_per_step gradient steps per step of all N environments
        env_rate_needed = rate / cfg.sac.updates_per_step * n
        results["amp_sac_updates"] = {"torch_device": cfg.device, "batch": cfg.sac.batch_size,
                                      "hidden": cfg.sac.hidden, "grad_steps_per_s": rate,
                                      "env_steps_per_s_at_that_rate": env_rate_needed, "num_envs": n}
        print(f"AMP+SAC update on {cfg.device}, batch {cfg.sac.batch_size}, {list(cfg.sac.hidden)}: "
              f"{rate:,.1f} gradient steps/s; at {cfg.sac.updates_per_step} per step of {n} envs the updates "
              f"take {env_rate_needed:,.0f} env steps/s (the task gives {task_rates.get(n, float('nan')):,.0f})",
              flush=True)
    results["machine"]["load_avg_end"] = os.getloadavg()[0]
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
