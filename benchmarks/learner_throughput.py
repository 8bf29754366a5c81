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
   "plain SAC" is the same round with one-step targets, no discriminator, no relabelling: what a plain SAC
   pays. The cpu-dog preset's round too (5-frame windows with the gait label: a wider discriminator input).
   All with one torch thread, except the cpu and cpu-dog presets' rounds once more with two (their default on a
   machine of their own, see learner/config.py). Beside each rate, the matrix products' floating-point
   operations per gradient step (`matmul_flops`): how much arithmetic the update does, apart from how fast.
3. Peers, in the same run and at the cpu preset's sizes (batch 512, [256, 256] GELU networks, 31 observations,
   12 actions, 8 gradient steps per call, one torch thread): Stable-Baselines3's SAC (`SAC.train`, replay
   filled with random transitions; skipped with a note when stable-baselines3 is not installed) and a
   CleanRL-style SAC (`cleanrl_style_sac` below: CleanRL's sac_continuous_action update in one function, the
   actor and temperature updated every step). Ratios are against SB3; SB3 once more with two torch threads,
   against the presets' rounds with two; and the ratio of matmul FLOPs per gradient step to SB3's.

Threads: MuJoCo gets one, torch one unless said otherwise, so that the rates compare at equal resources.
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


CPU_PRESET = "AMP+SAC cpu preset (batch 512, [256, 256])"
DOG_PRESET = "AMP+SAC cpu-dog preset (5-frame windows, gait label)"
PLAIN = "amp-data plain SAC (1-step, no discriminator)"


def default_banks(banks: list[str] | None) -> list[str]:
    """The given banks, or walk.h5 and trot.h5 of `amp-data retarget walk trot --cycle auto` in a temporary
    folder."""
    if banks:
        return banks
    tmp = tempfile.mkdtemp()
    subprocess.run(["amp-data", "retarget", "walk", "trot", "--cycle", "auto", "-o", tmp], check=True,
                   capture_output=True)
    return [f"{tmp}/walk.h5", f"{tmp}/trot.h5"]


def matmul_flops(fn) -> float:
    """Floating-point operations of the matrix products (linear layers, forward and backward) in one call of
    fn, counted with torch's own formulas (`torch.utils.flop_counter.flop_registry`): the arithmetic an update
    cannot avoid, whoever writes it. (FlopCounterMode itself hooks modules in a way that breaks the
    discriminator's double backward, hence this small dispatch mode.)"""
    from torch.utils._python_dispatch import TorchDispatchMode
    from torch.utils.flop_counter import flop_registry

    class Count(TorchDispatchMode):
        total = 0

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            kwargs = kwargs or {}
            out = func(*args, **kwargs)
            formula = flop_registry.get(func._overloadpacket)
            if formula is not None:
                self.total += formula(*args, **kwargs, out_val=out)
            return out

    with Count() as count:
        fn()
    return float(count.total)


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


def cleanrl_style_sac(obs_dim=31, act_dim=12, hidden=(256, 256), batch=512, buffer=100_000, seed=0):
    """A plain SAC update written as CleanRL writes it (two Q networks, their targets, a tanh-Gaussian actor,
    automatic temperature), on a replay of random transitions. Returns `update(steps)`."""
    import torch
    from torch import nn
    import torch.nn.functional as F

    torch.manual_seed(seed)

    def net(i, o):
        return nn.Sequential(nn.Linear(i, hidden[0]), nn.GELU(), nn.Linear(hidden[0], hidden[1]), nn.GELU(),
                             nn.Linear(hidden[1], o))

    q1, q2 = net(obs_dim + act_dim, 1), net(obs_dim + act_dim, 1)
    q1_t, q2_t = net(obs_dim + act_dim, 1), net(obs_dim + act_dim, 1)
    q1_t.load_state_dict(q1.state_dict()), q2_t.load_state_dict(q2.state_dict())
    actor = net(obs_dim, 2 * act_dim)
    log_alpha = torch.zeros(1, requires_grad=True)
    q_opt = torch.optim.Adam(list(q1.parameters()) + list(q2.parameters()), lr=1e-3)
    a_opt = torch.optim.Adam(actor.parameters(), lr=1e-3)
    alpha_opt = torch.optim.Adam([log_alpha], lr=1e-3)
    g = torch.Generator().manual_seed(seed)
    obs, nxt = torch.randn(buffer, obs_dim, generator=g), torch.randn(buffer, obs_dim, generator=g)
    act, rew = torch.rand(buffer, act_dim, generator=g) * 2 - 1, torch.randn(buffer, generator=g)
    done = torch.rand(buffer, generator=g) < 0.01

    def pi(o):
        mean, log_std = actor(o).chunk(2, -1)
        log_std = log_std.clamp(-5, 2)
        std = log_std.exp()
        u = mean + std * torch.randn_like(mean)
        a = torch.tanh(u)
        logp = (-0.5 * ((u - mean) / std) ** 2 - log_std - 0.9189385).sum(-1) - torch.log(1 - a ** 2 + 1e-6).sum(-1)
        return a, logp

    def update(steps: int) -> None:
        for _ in range(steps):
            i = torch.randint(0, buffer, (batch,))
            o, a, r, o2, d = obs[i], act[i], rew[i], nxt[i], done[i]
            alpha = log_alpha.exp().detach()
            with torch.no_grad():
                a2, logp2 = pi(o2)
                x2 = torch.cat([o2, a2], -1)
                target = r + 0.99 * (~d) * (torch.min(q1_t(x2), q2_t(x2)).squeeze(-1) - alpha * logp2)
            x = torch.cat([o, a], -1)
            q_loss = F.mse_loss(q1(x).squeeze(-1), target) + F.mse_loss(q2(x).squeeze(-1), target)
            q_opt.zero_grad()
            q_loss.backward()
            q_opt.step()
            a_pi, logp = pi(o)
            x_pi = torch.cat([o, a_pi], -1)
            actor_loss = (alpha * logp - torch.min(q1(x_pi), q2(x_pi)).squeeze(-1)).mean()
            a_opt.zero_grad()
            actor_loss.backward()
            a_opt.step()
            alpha_loss = -(log_alpha.exp() * (logp.detach() - act_dim)).mean()
            alpha_opt.zero_grad()
            alpha_loss.backward()
            alpha_opt.step()
            with torch.no_grad():
                for p, pt in zip(list(q1.parameters()) + list(q2.parameters()),
                                 list(q1_t.parameters()) + list(q2_t.parameters())):
                    pt.lerp_(p, 0.05)
    return update


def sb3_sac(obs_dim=31, act_dim=12, hidden=(256, 256), batch=512, buffer=100_000, seed=0):
    """Stable-Baselines3's SAC at the same sizes, its replay filled with random transitions; returns
    `update(steps)` (SAC.train), or None when stable-baselines3 is not installed."""
    try:
        import gymnasium as gym
        from stable_baselines3 import SAC
        from stable_baselines3.common.logger import configure
    except ImportError:
        return None
    from torch import nn

    class Blank(gym.Env):
        observation_space = gym.spaces.Box(-10, 10, (obs_dim,))
        action_space = gym.spaces.Box(-1, 1, (act_dim,))

        def reset(self, seed=None, options=None):
            return self.observation_space.sample(), {}

        def step(self, a):
            return self.observation_space.sample(), 0.0, False, False, {}

    model = SAC("MlpPolicy", Blank(), batch_size=batch, buffer_size=buffer, learning_starts=0, tau=0.05,
                policy_kwargs={"net_arch": list(hidden), "activation_fn": nn.GELU}, device="cpu", seed=seed)
    model.set_logger(configure(None, []))
    rng = np.random.default_rng(seed)
    rb = model.replay_buffer
    n = buffer
    rb.observations[:n, 0] = rng.normal(size=(n, obs_dim))
    rb.next_observations[:n, 0] = rng.normal(size=(n, obs_dim))
    rb.actions[:n, 0] = rng.uniform(-1, 1, (n, act_dim))
    rb.rewards[:n, 0] = rng.normal(size=n)
    rb.dones[:n, 0] = rng.random(n) < 0.01
    rb.full, rb.pos = True, 0

    def update(steps: int) -> None:
        model.train(gradient_steps=steps, batch_size=batch)
    return update


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
    banks = default_banks(args.banks)
    results = {"machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "torch": torch.__version__,
                           "load_avg_start": os.getloadavg()[0]}}
    print(f"{os.cpu_count()} CPUs, torch {torch.__version__}, load average {os.getloadavg()[0]:.2f}", flush=True)

    # 1. simulator
    sim = {}
    for n in (32, 128):
        cfg = C.make_config("cpu", "sac")
        cfg.env.num_envs, cfg.torch_threads = n, 1
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

    def sac_round(label, overrides, threads=1, preset="cpu"):
        cfg = C.make_config(preset, "sac")
        overrides = [*overrides, f"torch_threads={threads}"]
        C.apply_overrides(cfg, overrides)
        backend, task, expert, agent, rng = build(cfg, banks, seed=0)
        obs = task.reset()
        for _ in range(max(cfg.sac.warmup_steps, 20)):
            a = agent.act(obs)
            res = task.step(a)
            agent.observe(obs, a, res)
            obs = res.obs
        agent.update()   # warm-up of the allocator
        flops = matmul_flops(agent.update) / cfg.sac.updates_per_step
        rate = _best(agent.update, args.seconds, repeats=2) * cfg.sac.updates_per_step
        backend.close()
        torch.set_num_threads(1)
        upd[label] = {"grad_steps_per_s": rate, "overrides": overrides, "preset": preset,
                      "matmul_gflop_per_grad_step": flops / 1e9, "matmul_gflop_per_s": rate * flops / 1e9}
        print(f"{label:56s} {rate:8.1f} gradient steps/s, {flops / 1e9:5.2f} GFLOP of matmuls each "
              f"({rate * flops / 1e9:5.1f} GFLOP/s)", flush=True)

    sac_round(CPU_PRESET, [])
    sac_round("AMP+SAC cpu, without the negatives' history", ["amp.history_size=0"])
    sac_round("AMP+SAC cpu, without history or relabelling",
              ["amp.history_size=0", "sac.relabel_style_reward=false"])
    sac_round("AMP+SAC cpu, windows of 5 frames 3 steps apart", ["amp.window_frames=5", "amp.frame_stride=3"])
    sac_round(PLAIN, ["sac.n_step=1", "amp.updates_per_iter=0", "amp.history_size=0",
                      "sac.relabel_style_reward=false"])
    sac_round(CPU_PRESET + ", 2 torch threads", [], threads=2)
    sac_round(DOG_PRESET, [], preset="cpu-dog")
    sac_round(DOG_PRESET + ", 2 torch threads", [], threads=2, preset="cpu-dog")
    sac_round("AMP+SAC paper sizes (batch 16384, [1024, 512])",
              ["sac.batch_size=16384", "sac.hidden=1024,512", "amp.hidden=1024,512", "amp.batch_size=8192",
               "env.num_envs=64"])

    cfg = C.make_config("cpu", "ppo")
    cfg.torch_threads = 1
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

    # 3. peers at the cpu preset's sizes
    peers, flops = {}, {}
    sb3 = sb3_sac()
    if sb3 is None:
        print("stable-baselines3 is not installed: no SB3 peer (pip install stable-baselines3)")
    else:
        sb3(8)
        flops["SB3 SAC"] = matmul_flops(lambda: sb3(8)) / 8
        peers["SB3 SAC"] = _best(lambda: sb3(8), args.seconds, repeats=2) * 8
        torch.set_num_threads(2)
        peers["SB3 SAC, 2 torch threads"] = _best(lambda: sb3(8), args.seconds, repeats=2) * 8
        torch.set_num_threads(1)
    clean = cleanrl_style_sac()
    clean(8)
    flops["CleanRL-style SAC"] = matmul_flops(lambda: clean(8)) / 8
    peers["CleanRL-style SAC"] = _best(lambda: clean(8), args.seconds, repeats=2) * 8
    ours = upd[CPU_PRESET]["grad_steps_per_s"]
    naive = upd[PLAIN]["grad_steps_per_s"]
    two = upd[CPU_PRESET + ", 2 torch threads"]["grad_steps_per_s"]
    for label, rate in peers.items():
        f = flops.get(label, flops.get(label.split(",")[0], 0.0))
        print(f"{label:44s} {rate:8.1f} gradient steps/s, {f / 1e9:5.2f} GFLOP of matmuls each "
              f"({rate * f / 1e9:5.1f} GFLOP/s)", flush=True)
    if "SB3 SAC" in peers:
        ref = peers["SB3 SAC"]
        ratios = {"AMP+SAC cpu preset / SB3 SAC": ours / ref, "amp-data plain SAC / SB3 SAC": naive / ref,
                  "CleanRL-style SAC / SB3 SAC": peers["CleanRL-style SAC"] / ref,
                  "AMP+SAC cpu preset, 2 threads / SB3 SAC, 1 thread": two / ref,
                  "AMP+SAC cpu preset, 2 threads / SB3 SAC, 2 threads": two / peers["SB3 SAC, 2 torch threads"],
                  "AMP+SAC cpu-dog preset / SB3 SAC": upd[DOG_PRESET]["grad_steps_per_s"] / ref,
                  "AMP+SAC cpu-dog preset, 2 threads / SB3 SAC, 2 threads":
                      upd[DOG_PRESET + ", 2 torch threads"]["grad_steps_per_s"] / peers["SB3 SAC, 2 torch threads"],
                  "matmul FLOPs per gradient step, AMP+SAC cpu preset / SB3 SAC":
                      upd[CPU_PRESET]["matmul_gflop_per_grad_step"] * 1e9 / flops["SB3 SAC"],
                  "matmul FLOPs per gradient step, AMP+SAC cpu-dog preset / SB3 SAC":
                      upd[DOG_PRESET]["matmul_gflop_per_grad_step"] * 1e9 / flops["SB3 SAC"],
                  "matmul GFLOP/s, amp-data plain SAC / SB3 SAC":
                      upd[PLAIN]["matmul_gflop_per_s"] * 1e9 / (ref * flops["SB3 SAC"])}
        for k, v in ratios.items():
            print(f"{k:44s} x{v:.2f}")
        peers["ratios"] = ratios
    results["peers"] = peers
    results["peer_matmul_gflop_per_grad_step"] = {k: v / 1e9 for k, v in flops.items()}
    results["machine"]["load_avg_end"] = os.getloadavg()[0]
    print(f"load average at end {os.getloadavg()[0]:.2f}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
