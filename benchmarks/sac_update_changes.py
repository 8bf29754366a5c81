#!/usr/bin/env python
"""Benchmark: the same-maths changes to the AMP+SAC update, each as a ratio measured in one run.

    python benchmarks/sac_update_changes.py [--banks walk.h5 trot.h5] [--seconds 24] [--repeats 4]

Part 1, the changes this code makes: the cpu preset's update round (batch 512, [256, 256], discriminator,
relabelled style reward, negatives' history) at one torch thread, with each change undone alone and all of
them undone together:
- fused AdamW (one kernel for all of an optimiser's tensors; `learner.networks.adamw`);
- one foreach call for the Polyak averaging of the target critics (instead of a loop over tensors);
- the critics' weight gradients skipped in the actor's loss (they are never used);
and one change measured and not made: the relabelled style reward of each step of the n-step windows
scored apart (3 x 512 rows instead of 1536 at once: D's forward alone is faster in blocks that fit the
core's L2 cache; the same numbers).
Rounds alternate between the variants (best of `--repeats`), so a busy machine slows all of them alike.

Part 2, two changes measured and not made, on the twin critics alone (fwd + bwd of both at batch 512, 43
inputs, [256, 256] GELU): the two critics batched into one network with stacked weights (`torch.baddbmm`),
and `torch.compile` of a critic (its compile time printed apart).

Part 3, measured and not made: the second core used by a worker thread instead of torch's intra-op threads.
`side_stream_update_once` is `AmpSac._update_once` with its independent parts side by side, one torch thread
each: the return with its relabelled style reward (worker) beside the bootstrap value (caller), then critic 2
(worker) beside critic 1 (caller); only the caller draws random numbers, so it gives the same numbers bit for
bit. Against the serial round at one and at two torch threads, cpu-dog preset. On a machine whose OpenMP
threads spin while they wait (libgomp's default), the caller's idle intra-op thread takes the worker's core:
run once more with `GOMP_SPINCOUNT=20000` set to see the rates without that.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def _interleaved(variants: dict, seconds: float, repeats: int, unit: int = 1) -> dict:
    """Best rate (calls x unit per second) of each variant; variants = {name: (enter, call, leave)}."""
    best = {k: 0.0 for k in variants}
    for _ in range(repeats):
        for name, (enter, call, leave) in variants.items():
            enter()
            call()
            n, t0 = 0, time.perf_counter()
            while time.perf_counter() - t0 < seconds / repeats / len(variants):
                call()
                n += unit
            best[name] = max(best[name], n / (time.perf_counter() - t0))
            leave()
    return best


def agent_with_replay(preset: str, threads: int, banks):
    """A preset's AMP+SAC agent (seed 0, `threads` torch threads) after 150 steps of its envs."""
    import torch
    from learner import config as C
    from learner.train import build

    cfg = C.make_config(preset, "sac")
    cfg.torch_threads = threads
    backend, task, expert, agent, _ = build(cfg, banks, seed=0)
    torch.set_num_threads(threads)
    obs = task.reset()
    for _ in range(150):
        a = agent.act(obs)
        res = task.step(a)
        agent.observe(obs, a, res)
        obs = res.obs
    backend.close()
    return agent


def update_changes(banks, seconds: float, repeats: int) -> dict:
    from learner import sac as S

    agent = agent_with_replay("cpu", 1, banks)

    import torch
    from learner.rewards import style_part

    optimisers = (agent.actor_opt, agent.critic_opt, agent.alpha_opt)
    fused = [[g["fused"] for g in opt.param_groups] for opt in optimisers]
    this = {"fused": True, "foreach": True, "freeze": True, "per_slice": False}

    def set_fused(on: bool):
        for opt, flags in zip(optimisers, fused):
            for g, f in zip(opt.param_groups, flags):
                g["fused"] = f if on else None

    polyak, freeze = S.polyak_, S.AmpSac._critics_require_grad

    def polyak_loop(targets, sources, tau):
        for t, s in zip(targets, sources):
            t.lerp_(s, tau)

    def set_foreach(on: bool):
        S.polyak_ = polyak if on else polyak_loop

    def set_freeze(on: bool):
        S.AmpSac._critics_require_grad = freeze if on else (lambda self, flag: None)

    relabel = S.AmpSac._task_plus_current_style

    def relabel_per_slice(self, r_task, windows):
        r_style = torch.stack([self.disc.style_reward(windows[:, j]) for j in range(windows.shape[1])], 1)
        return r_task + style_part(self.rew_cfg, r_style)

    def set_per_slice(on: bool):
        S.AmpSac._task_plus_current_style = relabel_per_slice if on else relabel

    def setter(**state):
        def enter():
            s = {**this, **state}
            set_fused(s["fused"])
            set_foreach(s["foreach"])
            set_freeze(s["freeze"])
            set_per_slice(s["per_slice"])
        return enter

    variants = {
        "this code": (setter(), agent.update, setter()),
        "undone: fused AdamW": (setter(fused=False), agent.update, setter()),
        "undone: foreach Polyak": (setter(foreach=False), agent.update, setter()),
        "undone: critics' weight gradients in the actor's loss": (setter(freeze=False), agent.update, setter()),
        "all three undone": (setter(fused=False, foreach=False, freeze=False), agent.update, setter()),
        "not made: style reward relabelled per n-step slice": (setter(per_slice=True), agent.update, setter()),
    }
    return _interleaved(variants, seconds, repeats, unit=agent.sac.updates_per_step)


def critic_alternatives(seconds: float, repeats: int) -> dict:
    import torch
    import torch.nn.functional as F
    from torch import nn
    from learner.networks import mlp

    torch.manual_seed(0)
    torch.set_num_threads(1)
    q1, q2 = mlp(43, (256, 256), 1, "gelu"), mlp(43, (256, 256), 1, "gelu")
    x = torch.randn(512, 43)
    dims = [43, 256, 256, 1]
    weights = [nn.Parameter(torch.randn(2, i, o) / math.sqrt(i)) for i, o in zip(dims[:-1], dims[1:])]
    biases = [nn.Parameter(torch.zeros(2, 1, o)) for o in dims[1:]]

    def twin_batched(inp):
        h = inp.expand(2, *inp.shape)
        for k, (w, b) in enumerate(zip(weights, biases)):
            h = torch.baddbmm(b, h, w)
            if k < len(weights) - 1:
                h = F.gelu(h)
        return h.squeeze(-1)

    def separate():
        (q1(x).square().mean() + q2(x).square().mean()).backward()

    def batched():
        twin_batched(x).square().mean(0).sum().backward()

    t0 = time.perf_counter()
    c1, c2 = torch.compile(q1), torch.compile(q2)

    def compiled():
        (c1(x).square().mean() + c2(x).square().mean()).backward()
    compiled()
    compile_s = time.perf_counter() - t0
    nothing = lambda: None   # noqa: E731
    best = _interleaved({"two critics, eager": (nothing, separate, nothing),
                         "two critics batched (baddbmm)": (nothing, batched, nothing),
                         "two critics, torch.compile": (nothing, compiled, nothing)}, seconds, repeats)
    best["compile_s"] = compile_s
    return best


def side_stream_update_once(agent, side: ThreadPoolExecutor, with_disc: bool, prev: dict) -> dict:
    """`AmpSac._update_once` with two streams (part 3 of this script); then `AmpSac._actor_step` as there."""
    import torch
    import torch.nn.functional as F

    def critic_loss_backward(q, obs, act, target):
        loss = F.mse_loss(q(obs, act), target)
        loss.backward()
        return loss.detach()

    s, stats = agent.sac, dict(prev)
    b = agent.replay.sample_windows(s.batch_size, s.gamma, s.nstep_stop_at_termination, s.timeout_bootstrap)
    o, bo = agent.obs_norm.normalize(b.obs), agent.obs_norm.normalize(b.boot_obs)
    alpha = agent.alpha.detach()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    ret = side.submit(lambda: b.nstep_return(agent._task_plus_current_style(b.rew, b.aux)))
    with torch.no_grad():
        a_next, logp_next = agent.actor.sample(bo)
        q_next = torch.min(agent.q1_target(bo, a_next), agent.q2_target(bo, a_next)) - alpha * logp_next
        target = ret.result() + b.discount * q_next
    agent.critic_opt.zero_grad(set_to_none=True)
    l2 = side.submit(critic_loss_backward, agent.q2, o, b.act, target)
    critic_loss = critic_loss_backward(agent.q1, o, b.act, target) + l2.result()
    torch.set_num_threads(threads)
    torch.nn.utils.clip_grad_norm_(agent._critic_params, s.max_grad_norm)
    agent.critic_opt.step()
    stats["critic_loss"] = critic_loss.item()
    return agent._actor_step(o, alpha, with_disc, stats)


def side_stream(banks, seconds: float, repeats: int) -> dict:
    import torch

    agents, built = {}, {}
    for name, threads, side in (("serial, one torch thread", 1, False), ("serial, two torch threads", 2, False),
                                ("side by side (two streams of one thread)", 2, True)):
        agent = agent_with_replay("cpu-dog", threads, banks)
        if side:
            pool = ThreadPoolExecutor(1, initializer=torch.set_num_threads, initargs=(1,))

            def update(agent=agent, pool=pool):
                out = {}
                for i in range(agent.sac.updates_per_step):
                    out = side_stream_update_once(agent, pool, i < agent.amp_cfg.updates_per_iter, out)
                return out
        else:
            update = agent.update
        agents[name] = ((lambda t=threads: torch.set_num_threads(t)), update, (lambda: None))
        built[name] = agent
    # the two agents at two threads were built alike: one round of each from the same random state
    same = []
    for name in ("serial, two torch threads", "side by side (two streams of one thread)"):
        torch.set_num_threads(2)
        torch.manual_seed(1)
        agents[name][1]()
        same.append([t.clone() for t in built[name].state_dict()["q1"].values()]
                    + [t.clone() for t in built[name].state_dict()["actor"].values()])
    best = _interleaved(agents, seconds, repeats, unit=agent.sac.updates_per_step)
    best["bit for bit"] = all(torch.equal(a, b) for a, b in zip(*same))
    return best


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--banks", nargs="*", default=None)
    ap.add_argument("--seconds", type=float, default=24.0, help="per part, shared among its variants")
    ap.add_argument("--repeats", type=int, default=4)
    args = ap.parse_args()

    from learner_throughput import default_banks

    banks = default_banks(args.banks)
    best = update_changes(banks, args.seconds, args.repeats)
    base = best["this code"]
    print("AMP+SAC update round, cpu preset, one torch thread (ratio: this code / variant)")
    for name, rate in best.items():
        print(f"  {name:56s} {rate:6.1f} gradient steps/s  this code x{base / rate:.2f}")
    alt = critic_alternatives(args.seconds, args.repeats)
    ref = alt["two critics, eager"]
    print(f"twin critics fwd + bwd, batch 512 (torch.compile took {alt.pop('compile_s'):.0f} s)")
    for name, rate in alt.items():
        print(f"  {name:56s} {rate:6.1f} calls/s  x{rate / ref:.2f} of eager")
    two = side_stream(banks, args.seconds, args.repeats)
    one = two["serial, one torch thread"]
    print(f"AMP+SAC update round, cpu-dog preset, the second core (GOMP_SPINCOUNT="
          f"{os.environ.get('GOMP_SPINCOUNT', 'unset')}); side by side gives the serial round's numbers bit "
          f"for bit: {two.pop('bit for bit')}")
    for name, rate in two.items():
        print(f"  {name:56s} {rate:6.1f} gradient steps/s  x{rate / one:.2f} of one thread")
    return 0


if __name__ == "__main__":
    sys.exit(main())
