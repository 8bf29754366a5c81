#!/usr/bin/env python
"""Benchmark: env steps/s of the batched MuJoCo backend of the Go2, and of the alternatives to it.

    python benchmarks/mujoco_backend.py [--envs 1 8 32 64] [--seconds 2] [--repeats 3] [--threads W] [--json FILE]

One env step = one policy step at decimation 4: 4 sim steps of 5 ms (20 ms of simulated time). Every
policy step draws new joint targets q_default + 0.1 rad x N(0, 1) per joint (random torques near the
default pose) for every environment, runs the PD law (Kp 20, Kd 0.5) and reads `state()` (base pose and
velocities, joints, feet by FK, contact forces): what the learner does. Environments whose body touches
the floor are reset to the default pose.

Columns (W = --threads, default os.cpu_count()):
- `rollout, 1 thread` / `rollout, W threads`: `MujocoBackend` as the learner uses it (`step_pd`, 4 sim
  steps, each one `mujoco.rollout` call over all N environments, PD recomputed in between).
- `rollout, W threads, pyramidal`: the same with `MujocoBackend(cone="pyramidal")`.
- `thread pool, W threads`: the alternative design: a Python thread pool over per-environment MjData,
  each thread running the PD law and `mj_step` for its chunk of environments (same state read-out).
- `rollout, 4-step hold, W threads`: `MujocoBackend.step` with the PD torque computed once per policy
  step and held for its 4 sim steps (one rollout call of 4 steps): PD at 50 Hz instead of 200 Hz, not what
  the task does; the rollout module's best case, for reference.

Each figure is the best of `--repeats` runs of about `--seconds` each. The machine may be shared: the load
average is printed, and the CPU/wall ratio of each best run (in brackets) shows how many cores it got.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import mujoco  # noqa: E402

from learner.mujoco_backend import FULLPHYSICS, MujocoBackend, pd_torques  # noqa: E402
from robots.go2.model import default_pose_rad  # noqa: E402

DECIMATION = 4
KP, KD = 20.0, 0.5
TARGET_NOISE_RAD = 0.1


class ThreadPoolBackend(MujocoBackend):
    """The alternative: per-environment MjData stepped by a Python thread pool (step_pd and reset only)."""

    def __init__(self, num_envs: int, threads: int, **kw):
        self._datas = None
        super().__init__(num_envs, threads=1, **kw)
        self._datas = [self.mj_data(i) for i in range(num_envs)]
        self._pool = ThreadPoolExecutor(threads)
        self._env_chunks = [c for c in np.array_split(np.arange(num_envs), threads) if len(c)]

    def reset(self, env_ids, qpos, qvel):
        super().reset(env_ids, qpos, qvel)
        if self._datas is not None:
            for i in np.atleast_1d(env_ids):
                self._datas[i] = self.mj_data(i)

    def step_pd(self, q_target_rad, kp, kd, substeps=1, torque_limit_nm=None):
        limit = self.torque_limit_nm

        def work(env_ids):
            for i in env_ids:
                mj, d = self.models[i], self._datas[i]
                for _ in range(substeps):
                    d.ctrl[:] = pd_torques(q_target_rad[i], d.qpos[7:], d.qvel[6:], kp, kd, limit)
                    mujoco.mj_step(mj, d)
                mujoco.mj_getState(mj, d, self._state[i], FULLPHYSICS)
                self._sensors[i] = d.sensordata

        list(self._pool.map(work, self._env_chunks))

    def close(self):
        self._pool.shutdown()
        super().close()


def _timed(policy_step, n: int, seconds: float) -> tuple[float, float]:
    """Run policy_step() for about `seconds`; return (env steps/s, CPU/wall)."""
    policy_step()  # warm-up
    steps, t0, c0 = 0, time.perf_counter(), time.process_time()
    while time.perf_counter() - t0 < seconds:
        policy_step()
        steps += 1
    wall = time.perf_counter() - t0
    return n * steps / wall, (time.process_time() - c0) / wall


def bench(make_sim, n: int, seconds: float, hold: bool = False):
    rng = np.random.default_rng(0)
    with make_sim(n) as sim:
        home = np.tile(sim.default_qpos, (n, 1))

        def policy_step():
            target = default_pose_rad() + TARGET_NOISE_RAD * rng.standard_normal((n, 12))
            if hold:
                s = sim.state()
                sim.step(pd_torques(target, s.joint_pos, s.joint_vel, KP, KD, sim.torque_limit_nm), DECIMATION)
            else:
                sim.step_pd(target, KP, KD, DECIMATION)
            fallen = np.flatnonzero(sim.state().body_contact)
            if len(fallen):
                sim.reset(fallen, home[fallen], np.zeros((len(fallen), 18)))

        return _timed(policy_step, n, seconds)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--envs", type=int, nargs="+", default=[1, 8, 32, 64])
    ap.add_argument("--seconds", type=float, default=2.0, help="length of one timed run")
    ap.add_argument("--repeats", type=int, default=3, help="runs per figure; the best is kept")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--json", type=Path, help="also write every number to this file")
    args = ap.parse_args(argv)
    w, sec = args.threads, args.seconds
    methods = {
        "rollout, 1 thread": lambda n: bench(lambda k: MujocoBackend(k, threads=1), n, sec),
        f"rollout, {w} threads": lambda n: bench(lambda k: MujocoBackend(k, threads=w), n, sec),
        f"rollout, {w} threads, pyramidal": lambda n: bench(lambda k: MujocoBackend(k, threads=w, cone="pyramidal"),
                                                            n, sec),
        f"thread pool, {w} threads": lambda n: bench(lambda k: ThreadPoolBackend(k, threads=w), n, sec),
        f"rollout, 4-step hold, {w} threads": lambda n: bench(lambda k: MujocoBackend(k, threads=w), n, sec, hold=True),
    }
    print(f"MuJoCo backend benchmark: Go2, sim dt 5 ms, decimation {DECIMATION}, PD Kp {KP} Kd {KD}")
    print(f"machine : {os.cpu_count()} CPUs, {platform.platform()}, Python {platform.python_version()}, "
          f"mujoco {mujoco.__version__}, numpy {np.__version__}")
    print(f"load avg: {[round(x, 2) for x in os.getloadavg()]} at start")
    print(f"figures : env steps/s (x{DECIMATION} = sim steps/s), best of {args.repeats} x {sec} s; "
          "CPU/wall of the best run in brackets\n")
    width = max(len(name) for name in methods) + 2
    header = f"{'N':>4}" + "".join(f"{name:>{width}}" for name in methods)
    print(header + "\n" + "-" * len(header))
    results = []
    for n in args.envs:
        row = {"num_envs": n}
        cells = []
        for name, fn in methods.items():
            rate, cpu = max(fn(n) for _ in range(args.repeats))
            row[name] = {"env_steps_per_s": rate, "cpu_per_wall": cpu}
            cells.append(f"{rate:,.0f} [{cpu:4.2f}]")
        results.append(row)
        print(f"{n:>4}" + "".join(f"{c:>{width}}" for c in cells), flush=True)
    print(f"\nload avg: {[round(x, 2) for x in os.getloadavg()]} at end")
    if args.json:
        args.json.write_text(json.dumps({"cpus": os.cpu_count(), "mujoco": mujoco.__version__,
                                         "platform": platform.platform(), "decimation": DECIMATION,
                                         "results": results}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
