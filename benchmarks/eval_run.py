#!/usr/bin/env python
"""Evaluate a training run against the issue's targets, in 10 s episodes at a fixed forward command.

    python benchmarks/eval_run.py runs/sac-cpu-dog-1 [--episodes 32] [--seconds 10] [--command 0.7] [--json FILE]

For the run's last checkpoint (or --checkpoint): deterministic policy, episodes from the default pose, no
domain randomisation (what `amp-data train` logs in eval.csv, with more episodes), then the same with
domain randomisation of Table IV on, then from random bank frames (moving starts, as most training
episodes begin), then from standing with actions sampled from the policy (as in training). Targets: mean
forward speed >= 50 % of the command, >= 90 % of the episodes without a fall.

The style reward r_AMP in [0, 1] is scored by the run's *final* discriminator, for the final policy and
for the initial policy (the same networks freshly initialised with the run's seed, i.e. the policy the run
started from). That compares the two under one judge; the training curve's first values come from an
untrained discriminator (D ~ 0 gives r_AMP ~ 0.75 for anything) and are not a baseline.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("run", type=Path)
    ap.add_argument("--checkpoint", type=Path)
    ap.add_argument("--episodes", type=int, default=32)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--command", type=float)
    ap.add_argument("--json")
    args = ap.parse_args()

    import torch
    from learner import config as C
    from learner.run_folder import load_checkpoint
    from learner.train import build, evaluate

    torch.set_num_threads(1)
    ckpt = load_checkpoint(args.checkpoint or args.run / "checkpoint.pt")
    cfg = C.from_dict(ckpt["config"])
    cfg.env.sim_threads = 1
    command = args.command if args.command is not None else cfg.eval_command_vx_m_s
    backend, task, expert, agent, _ = build(cfg, ckpt["bank_paths"], seed=cfg.seed, num_envs=args.episodes)
    fresh_backend, _, _, fresh, _ = build(C.from_dict(ckpt["config"]), ckpt["bank_paths"], seed=cfg.seed, num_envs=1)
    agent.load_state_dict(ckpt["agent"])
    fresh.disc.load_state_dict(agent.disc.state_dict())           # one judge for both policies
    if hasattr(fresh, "obs_norm"):
        fresh.obs_norm.load_state_dict(agent.obs_norm.state_dict())

    out = {"run": str(args.run), "env_steps": ckpt["env_steps"], "train_minutes": ckpt["time_s"] / 60,
           "command_vx_m_s": command, "episodes": args.episodes, "seconds": args.seconds}
    final = evaluate(agent, task, args.seconds, command)
    start = evaluate(fresh, task, args.seconds, command)
    dr_eval = evaluate(agent, task, args.seconds, command, randomize=True)
    moving = evaluate(agent, task, args.seconds, command, reference_starts=True)
    sampled = evaluate(agent, task, args.seconds, command, deterministic=False)
    for name, r in (("final_policy", final), ("initial_policy", start), ("final_policy_randomised", dr_eval),
                    ("final_policy_reference_starts", moving), ("final_policy_sampled_actions", sampled)):
        out[name] = {**r.__dict__, "speed_ratio": r.speed_ratio}
    out["targets"] = {"speed_ratio>=0.5": final.speed_ratio >= 0.5, "no_fall>=0.9": final.no_fall_rate >= 0.9,
                      "style_above_initial_policy": final.style_reward > start.style_reward}
    print(json.dumps(out, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2))
    backend.close(), fresh_backend.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
