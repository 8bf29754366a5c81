"""Do a gait-clock policy's feet follow the clock? For a run trained with `env.gait_clock=true`: the
deterministic policy from standing at each bank's mean speed (as `amp-data eval` plays it), and per foot the
share of steps whose contact (foot force > 1 N) is what the clock's schedule says, beside the share a foot
would match by chance with its own contact share; the misses split into a foot up in its scheduled stance
and down in its scheduled swing; touchdowns per second, and how many of them end a bounce (a lift of at most
two policy steps between contacts) and how high it went; stance slip (the mean horizontal speed of a foot
while it touches the floor); and when each foot lands and lifts against the clock (the circular mean over its
swings of the clock's phase at touchdown minus the scheduled touchdown, in cycles, and the same at lift-off):
a hind foot that lands early against its fore foot turns the dog's lateral-couplets walk into a
lateral-sequence one; and the support the feet give (the share of the time on 2, 3 or 4 feet, and on a
lateral or a diagonal pair) beside the clock's.

    python benchmarks/clock_match.py RUN [--seconds 12] [--checkpoint CKPT] [--json OUT]
                                         [--swing-clearance-m M]

--swing-clearance-m M plays the policy with its feedforward's swing feet raised to a floor of M
(`env.feedforward_swing_clearance_m`) in place of the run's own: what a floor changes for a policy trained
without it (its corrections may undo it), not what training with one gives.

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

from amp_data.motion.gait import lifts, touchdowns_per_s  # noqa: E402
from benchmarks.lateral_balance import (heading_xy, lateral_pair_side, pair_line_m,  # noqa: E402
                                        pair_phase_steps, pendulum_sway)
from learner.play import load_policy  # noqa: E402

BOUNCE_MAX_STEPS = 2        # policy steps (40 ms at 50 Hz): a foot off this briefly between contacts bounced
SETTLE_S = 2.0


def event_lag_cycles(phase: np.ndarray, steps: np.ndarray, scheduled_phase: float) -> float:
    """The circular mean of clock phases (T,) at `steps` (K,) minus `scheduled_phase`, in (-0.5, 0.5] cycles:
    > 0 when the events come late against the schedule; nan without events."""
    if len(steps) == 0:
        return float("nan")
    z = np.exp(2j * np.pi * (phase[steps] - scheduled_phase)).mean()
    lag = float(np.angle(z) / (2 * np.pi))
    return lag + 1.0 if lag <= -0.5 else lag


def support_pattern(down: np.ndarray) -> dict:
    """How a gait holds the body up, from feet down (T, 4) bool (FL, FR, RL, RR): the share of the time on 0-4
    feet, and on exactly a lateral pair (FL and RL, or FR and RR: the support line along one side, which
    leaves the body to roll) or a diagonal pair (FL and RR, or FR and RL: the trot's)."""
    d = np.asarray(down, dtype=bool)
    n = d.sum(axis=1)
    two = n == 2
    return {"feet_down_share": [float((n == k).mean()) for k in range(5)],
            "lateral_pair_share": float((two & ((d[:, 0] & d[:, 2]) | (d[:, 1] & d[:, 3]))).mean()),
            "diagonal_pair_share": float((two & ((d[:, 0] & d[:, 3]) | (d[:, 1] & d[:, 2]))).mean())}


def lateral_balance(stance: np.ndarray, feet_heading_xy: np.ndarray, lateral_speed_m_s: np.ndarray,
                    base_height_m: np.ndarray, dt_s: float) -> dict:
    """`benchmarks/lateral_balance.py`'s figures for a policy's own feet: of its frames on exactly a lateral
    pair (stance (T, 4) bool), the median distance from the base to the pair's line (feet (T, 4, 2) in the
    base's heading frame), the median phase on one pair, the pendulum's sway speed for that line and phase,
    and the policy's own lateral base speed (95th percentile of |v_y|, base frame)."""
    side = lateral_pair_side(stance)
    out = {"lateral_pair_share": float((side != 0).mean()),
           "base_lateral_speed_p95_m_s": float(np.percentile(np.abs(lateral_speed_m_s), 95))}
    if not (side != 0).any():
        return out
    line_m = float(np.median(pair_line_m(side, feet_heading_xy)))
    phase_s = float(np.median(pair_phase_steps(side))) * dt_s
    speed, sway = pendulum_sway(line_m, phase_s, float(np.median(base_height_m)))
    out.update(line_m=line_m, phase_s=phase_s, needed_speed_m_s=float(speed), needed_sway_m=float(sway))
    return out


def clock_match(task, agent, command_vx_m_s: float, seconds: float, reference_swing_peak_mm: list) -> dict:
    steps = int(round(seconds / task.dt_s))
    skip = int(round(SETTLE_S / task.dt_s))
    contact, desired, foot_speed, foot_z, phase = [], [], [], [], []
    feet_rel_xy, yaw, v_lat, base_z = [], [], [], []
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
            foot_z.append(np.asarray(st.foot_pos_w[0])[:, 2])
            desired.append(task.desired_foot_contact()[0] > 0.5)
            phase.append(float(task.clock_phase[0]))
            feet_rel_xy.append(np.asarray(st.foot_pos_w[0])[:, :2] - np.asarray(st.base_pos_w[0])[:2])
            x_axis_w = np.asarray(st.base_rot_w[0])[:, 0]
            yaw.append(float(np.arctan2(x_axis_w[1], x_axis_w[0])))
            v_lat.append(float(np.asarray(st.base_lin_vel_b[0])[1]))
            base_z.append(float(np.asarray(st.base_pos_w[0])[2]))
            obs = r.obs
    c, d, v, z, ph = (np.array(x[skip:]) for x in (contact, desired, foot_speed, foot_z, phase))
    if fell or len(c) < 2:
        return {"command_vx_m_s": command_vx_m_s, "fell": fell}
    share_c, share_d = c.mean(0), d.mean(0)
    spans = lifts(c)
    bounce = [sp[sp[:, 1] - sp[:, 0] <= BOUNCE_MAX_STEPS] for sp in spans]
    swing = [sp[sp[:, 1] - sp[:, 0] > BOUNCE_MAX_STEPS] for sp in spans]
    stance_z = [np.median(z[c[:, f], f]) if c[:, f].any() else np.nan for f in range(4)]

    def peak_mm(sp, f):     # median over lifts of the foot's highest point above its median stance height
        return 1000 * float(np.median([z[a:e, f].max() for a, e in sp]) - stance_z[f]) if len(sp) else float("nan")

    span_s = (len(c) - 1) * task.dt_s
    gait = int(task.gait[0])            # the clock the fixed command runs
    offset, duty = np.asarray(task.clocks.offset[gait]), np.asarray(task.clocks.duty[gait])
    touchdown_lag = [event_lag_cycles(ph, sw[:, 1], offset[f]) for f, sw in enumerate(swing)]
    stance = c.copy()                   # bounces closed: a foot that hops for a step or two still holds
    for f, b in enumerate(bounce):
        for a, e in b:
            stance[a:e, f] = True
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
            "stance_slip_m_s": [float(v[c[:, f], f].mean()) if c[:, f].any() else float("nan") for f in range(4)],
            # of those touchdowns, the ones that end a lift of at most BOUNCE_MAX_STEPS steps (a bounce,
            # not a swing), how high the foot got in them, and in the swings
            "bounces_per_s": [len(b) / span_s for b in bounce],
            "bounce_peak_mm": [peak_mm(b, f) for f, b in enumerate(bounce)],
            "swing_peak_mm": [peak_mm(sw, f) for f, sw in enumerate(swing)],
            # when the swings end and start against the clock's schedule (cycles, > 0: late)
            "touchdown_lag_cycles": touchdown_lag,
            "liftoff_lag_cycles": [event_lag_cycles(ph, sw[:, 0], offset[f] + duty[f]) for f, sw in enumerate(swing)],
            # Hildebrand's limb phase of RL after FL: the schedule's (the dog's) and the policy's
            "hind_fore_lag_schedule": float((offset[2] - offset[0]) % 1.0),
            "hind_fore_lag_policy": float((offset[2] + touchdown_lag[2] - offset[0] - touchdown_lag[0]) % 1.0),
            "reference_swing_peak_mm": reference_swing_peak_mm,
            # the support the policy's feet give (bounces closed) and the one the clock asks for
            "support_policy": support_pattern(stance), "support_schedule": support_pattern(d),
            # can it ride its lateral pairs? (benchmarks/lateral_balance.py's pendulum, on the policy's feet)
            "lateral_balance": lateral_balance(stance, heading_xy(np.array(feet_rel_xy[skip:]), np.array(yaw[skip:])),
                                               np.array(v_lat[skip:]), np.array(base_z[skip:]), task.dt_s)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run", type=Path)
    ap.add_argument("--checkpoint", type=Path, default=None)
    ap.add_argument("--seconds", type=float, default=12.0)
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--swing-clearance-m", type=float, default=None,
                    help="play with the feedforward's swing feet raised to this floor (m) instead of the run's own")
    args = ap.parse_args(argv)
    policy = load_policy(args.run, args.checkpoint)
    task, agent = policy.task, policy.agent
    if task.clocks is None:
        print(f"{args.run}: not trained with env.gait_clock=true; there is no clock to follow", file=sys.stderr)
        return 2
    out = {"run": str(args.run), "env_steps": int(policy.state["env_steps"]), "gaits": {}}
    if args.swing_clearance_m is not None:
        if not policy.cfg.env.reference_feedforward or not 0 <= args.swing_clearance_m <= 0.1:
            print(f"{args.run}: --swing-clearance-m needs a run trained with env.reference_feedforward=true and a "
                  f"floor in [0, 0.1] m (got {args.swing_clearance_m})", file=sys.stderr)
            return 2
        task.set_feedforward_swing_clearance(args.swing_clearance_m)
        out["swing_clearance_m"] = args.swing_clearance_m
    for k, gait in enumerate(task.clocks.gaits):
        name = Path(gait.bank_name).stem
        # the dog's: its mean foot height over the stride phase, highest minus lowest point
        height = task.clocks.foot_height_m[k]
        ref_peak_mm = (1000 * (height.max(axis=1) - height.min(axis=1))).tolist()
        res = out["gaits"][name] = clock_match(task, agent, gait.speed_m_s, args.seconds, ref_peak_mm)
        if res["fell"]:
            print(f"{name} at {gait.speed_m_s:.2f} m/s: fell")
            continue
        f = lambda xs: " ".join(f"{x:.2f}" for x in xs)   # noqa: E731
        print(f"{name} at {gait.speed_m_s:.2f} m/s: match FL FR RL RR {f(res['match'])} (chance {f(res['chance'])}); "
              f"touchdowns/s {f(res['touchdowns_per_s'])} (the clock's {gait.stride_freq_hz:.2f}); "
              f"of them bounces (off <= {BOUNCE_MAX_STEPS} steps) {f(res['bounces_per_s'])}, "
              f"{f(res['bounce_peak_mm'])} mm high; swing peak mm {f(res['swing_peak_mm'])} "
              f"(the dog's {f(res['reference_swing_peak_mm'])}); stance slip m/s {f(res['stance_slip_m_s'])}; "
              f"up in stance {f(res['up_in_stance'])}, "
              f"down in swing {f(res['down_in_swing'])}; touchdown lag (cycles, > 0 late) "
              f"{f(res['touchdown_lag_cycles'])}, lift-off lag {f(res['liftoff_lag_cycles'])}; RL lands "
              f"{res['hind_fore_lag_policy']:.2f} of a cycle after FL (the clock's {res['hind_fore_lag_schedule']:.2f}); "
              f"on 2 / 3 / 4 feet {f(res['support_policy']['feet_down_share'][2:])} (the clock's "
              f"{f(res['support_schedule']['feet_down_share'][2:])}), on a lateral pair "
              f"{res['support_policy']['lateral_pair_share']:.2f} ({res['support_schedule']['lateral_pair_share']:.2f})")
        lb = res["lateral_balance"]
        if "line_m" in lb:
            print(f"  on its lateral pairs ({lb['phase_s']:.2f} s at a time) the line runs {100 * lb['line_m']:.1f} cm "
                  f"from the base: a pendulum sways across at {lb['needed_speed_m_s']:.2f} m/s; the policy's "
                  f"base moves sideways at up to {lb['base_lateral_speed_p95_m_s']:.2f} m/s (95th percentile)")
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
