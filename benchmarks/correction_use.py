"""How much of its bounded correction a feedforward policy uses: `env.residual_limit_rad` runs.

    python benchmarks/correction_use.py RUN [RUN ...] [--seconds 10] [--json OUT]

Each run's policy plays deterministically, one robot from the default pose, at each bank's command (the
gait clocks' speeds) for `--seconds`; over all but the first 2 s (the first half, if it falls sooner) its
corrections to the dog's stride (action x action_scale, rad) are summarised per joint kind (hip, thigh,
calf): the mean (signed: whether the policy leans one way, as against a motor's sag) and the share of
steps within 5 % of the bound. A policy that sits at the bound wants more correction than the bound allows;
one that does not, does not.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

KINDS = ("hip", "thigh", "calf")
SETTLE_S = 2.0


def correction_stats(correction_rad: np.ndarray, limit_rad: float) -> dict:
    """Per joint kind of corrections (steps, 12) rad (legs FL, FR, RL, RR, each hip, thigh, calf): the mean
    correction and the share of joint-steps within 5 % of +-limit_rad."""
    c = np.asarray(correction_rad, dtype=float)
    at_bound = np.abs(c) >= 0.95 * limit_rad
    return {kind: {"mean_rad": float(c[:, j::3].mean()), "at_bound_share": float(at_bound[:, j::3].mean())}
            for j, kind in enumerate(KINDS)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("runs", nargs="+", help="run folders (or checkpoints) of env.residual_limit_rad runs")
    ap.add_argument("--seconds", type=float, default=10.0, help="per command (default 10; the first 2 s dropped)")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)

    from amp_data.errors import InputError
    from learner.play import load_policy, roll_out

    rows = []
    try:
        for run in args.runs:
            lp = load_policy(run)
            task, agent = lp.task, lp.agent
            limit = task.env_cfg.residual_limit_rad
            if not limit:
                raise InputError(Path(run), "not a run with env.residual_limit_rad: its correction is unbounded")
            real_step, actions = task.step, []

            def recording_step(a, real_step=real_step, actions=actions):
                actions.append(np.clip(np.asarray(a), task.action_low, task.action_high))
                return real_step(a)
            try:
                for gait in task.clocks.gaits:
                    actions.clear()
                    task.step = recording_step
                    rollout = roll_out(agent, task, args.seconds, gait.speed_m_s)
                    task.step = real_step
                    settled = min(int(SETTLE_S / task.dt_s), len(actions) // 2)   # a fall may come sooner
                    c = np.concatenate(actions[settled:]) * task.env_cfg.action_scale
                    stats = correction_stats(c, limit)
                    rows.append({"run": str(run), "bank": Path(gait.bank_name).name, "command_vx_m_s": gait.speed_m_s,
                                 "limit_rad": limit, "fell": bool(rollout.fell), **stats})
                    print(f"{Path(run).name:>24} {Path(gait.bank_name).name:>8}: mean correction hip/thigh/calf "
                          + " ".join(f"{stats[k]['mean_rad']:+.2f}" for k in KINDS)
                          + f" rad; within 5 % of +-{limit:g} rad "
                          + " ".join(f"{stats[k]['at_bound_share']:.0%}" for k in KINDS)
                          + (" (fell)" if rollout.fell else ""), flush=True)
            finally:
                task.backend.close()
    except InputError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if args.json:       # only once every run has played: no partial file
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
