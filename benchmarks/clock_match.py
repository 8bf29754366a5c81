"""Do a gait-clock policy's feet follow the clock? For a run trained with `env.gait_clock=true`: the
deterministic policy from standing at each bank's mean speed (as `amp-data eval` plays it), and per foot the
share of steps whose contact (foot force > 1 N) is what the clock's schedule says, beside the share a foot
would match by chance with its own contact share; the misses split into a foot up in its scheduled stance
and down in its scheduled swing; touchdowns per second and stance slip (the mean horizontal speed of a foot
while it touches the floor).

    python benchmarks/clock_match.py RUN [--seconds 12] [--checkpoint CKPT] [--json OUT]

Chance: a foot down a share c of the time against a schedule down a share d matches c d + (1 - c)(1 - d)
when the two are independent; a policy whose feet ignore the clock scores about that.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from amp_data.motion.gait import touchdowns_per_s  # noqa: E402
from learner.play import load_policy  # noqa: E402

SETTLE_S = 2.0


def clock_match(task, agent, command_vx_m_s: float, seconds: float) -> dict:
    steps = int(round(seconds / task.dt_s))
    skip = int(round(SETTLE_S / task.dt_s))
    contact, desired, foot_speed = [], [], []
    fell = False
    with task.evaluation_episodes(command_vx_m_s, steps):
        obs = task.reset()
        for _ in range(steps):
            r = task.step(agent.act(obs, deterministic=True))
            if bool(r.terminated[0]):
                fell = True
                break
            st = task.backend.state()
            contact.append(np.asarray(st.foot_contact[0], dtype=bool))
            foot_speed.append(np.linalg.norm(np.asarray(st.foot_vel_w[0])[:, :2], axis=1))
            desired.append(task.desired_foot_contact()[0] > 0.5)
            obs = r.obs
    c, d, v = np.array(contact[skip:]), np.array(desired[skip:]), np.array(foot_speed[skip:])
    if fell or len(c) < 2:
        return {"command_vx_m_s": command_vx_m_s, "fell": fell}
    share_c, share_d = c.mean(0), d.mean(0)
    return {"command_vx_m_s": command_vx_m_s, "fell": False,
            "match": (c == d).mean(0).tolist(),
            "chance": (share_c * share_d + (1 - share_c) * (1 - share_d)).tolist(),
            "contact_share": share_c.tolist(), "schedule_share": share_d.tolist(),
            # the two ways to miss: up where the clock has the foot down (hovering, landing late), and down
            # where it has the foot up (dragging, lifting late)
            "up_in_stance": [float((~c[d[:, f], f]).mean()) if d[:, f].any() else float("nan") for f in range(4)],
            "down_in_swing": [float(c[~d[:, f], f].mean()) if (~d[:, f]).any() else float("nan") for f in range(4)],
            "touchdowns_per_s": touchdowns_per_s(c, task.dt_s).tolist(),
            # the banks' "stance slip": mean horizontal speed of a foot while it touches the floor
            "stance_slip_m_s": [float(v[c[:, f], f].mean()) if c[:, f].any() else float("nan") for f in range(4)]}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run", type=Path)
    ap.add_argument("--checkpoint", type=Path, default=None)
    ap.add_argument("--seconds", type=float, default=12.0)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)
    policy = load_policy(args.run, args.checkpoint)
    task, agent = policy.task, policy.agent
    if task.clocks is None:
        print(f"{args.run}: not trained with env.gait_clock=true; there is no clock to follow", file=sys.stderr)
        return 2
    out = {"run": str(args.run), "env_steps": int(policy.state["env_steps"]), "gaits": {}}
    for gait in task.clocks.gaits:
        name = Path(gait.bank_name).stem
        res = out["gaits"][name] = clock_match(task, agent, gait.speed_m_s, args.seconds)
        if res["fell"]:
            print(f"{name} at {gait.speed_m_s:.2f} m/s: fell")
            continue
        f = lambda xs: " ".join(f"{x:.2f}" for x in xs)   # noqa: E731
        print(f"{name} at {gait.speed_m_s:.2f} m/s: match FL FR RL RR {f(res['match'])} (chance {f(res['chance'])}); "
              f"touchdowns/s {f(res['touchdowns_per_s'])} (the clock's {gait.stride_freq_hz:.2f}); "
              f"stance slip m/s {f(res['stance_slip_m_s'])}; up in stance {f(res['up_in_stance'])}, "
              f"down in swing {f(res['down_in_swing'])}")
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
