"""Diagnostic: each foot's height over its scheduled swing, the policy's beside the dog's, for a gait-clock run.

    python benchmarks/swing_profile.py RUN [--gait walk] [--seconds 12]

The deterministic policy from standing at the gait's bank speed (as `amp-data eval` plays it; the first 2 s
dropped); per foot, the median height of the foot centre above the floor (m -> mm, the foot's radius
included: a foot at rest reads about 23 mm) in each fifth of the swing the clock schedules, beside the dog's
mean height at the same phases (`GaitClocks.foot_height_m`), and the mean joint error from the dog's angles
at the clock's phase in swing and in stance; the base's pitch and height beside the bank's. A foot whose
reference skims the floor late in its swing (the dog's walk's hind paws) touches down there on the robot,
early against the clock (`benchmarks/clock_match.py`'s touchdown lag).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
from scipy.spatial.transform import Rotation  # noqa: E402

from learner.gait_clock import profile_at_phase  # noqa: E402
from learner.play import load_policy  # noqa: E402
from learner.swing_clearance import swing_progress  # noqa: E402

FEET = ("FL", "FR", "RL", "RR")
SETTLE_S = 2.0


def pitch_rad(quat_xyzw: np.ndarray) -> np.ndarray:
    return Rotation.from_quat(quat_xyzw).as_euler("ZYX")[..., 1]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run", type=Path)
    ap.add_argument("--gait", default="walk", help="the bank's name (default walk)")
    ap.add_argument("--seconds", type=float, default=12.0)
    a = ap.parse_args(argv)
    policy = load_policy(a.run)
    task, agent, clocks = policy.task, policy.agent, policy.task.clocks
    if clocks is None:
        print(f"{a.run}: not trained with env.gait_clock=true; there is no clock to compare against", file=sys.stderr)
        return 2
    names = [Path(g.bank_name).stem for g in clocks.gaits]
    if a.gait not in names:
        print(f"{a.run}: no bank {a.gait!r} (the run's: {', '.join(names)})", file=sys.stderr)
        return 2
    g = names.index(a.gait)
    steps, skip = int(round(a.seconds / task.dt_s)), int(round(SETTLE_S / task.dt_s))
    phase, quat, height, foot_z, q = [], [], [], [], []
    with task.evaluation_episodes(float(clocks.speed_m_s[g]), steps):
        obs = task.reset()
        for _ in range(steps):
            r = task.step(agent.act(obs, deterministic=True))
            if bool(r.terminated[0]):
                print(f"{a.run}: fell at the {a.gait}'s speed", file=sys.stderr)
                return 1
            st = task.backend.state()
            phase.append(float(task.clock_phase[0]))
            quat.append(np.asarray(st.base_quat_xyzw[0]).copy())
            height.append(float(np.asarray(st.base_pos_w[0])[2]))
            foot_z.append(np.asarray(st.foot_pos_w[0])[:, 2].copy())
            q.append(np.asarray(st.joint_pos[0]).copy())
            obs = r.obs
    task.backend.close()
    phase, quat, height, foot_z, q = (np.array(x[skip:]) for x in (phase, quat, height, foot_z, q))
    pitch = pitch_rad(quat)

    def bank_profile(field, fn):
        return clocks._phase_profile(task.expert, g, lambda bank, rows: fn(np.asarray(bank[field][rows])))[0]

    dog_pitch = bank_profile("root_quat", lambda x: pitch_rad(x)[:, None])
    dog_height = bank_profile("root_pos", lambda x: x[:, 2:3])
    print(f"{a.run}, {a.gait} at {clocks.speed_m_s[g]:.2f} m/s: base pitch {np.degrees(pitch).mean():+.1f} deg "
          f"(the dog's {np.degrees(dog_pitch).mean():+.1f}; > 0 nose down), base height {height.mean():.3f} m "
          f"(the dog's {dog_height.mean():.3f})")
    def dog_at_phase(profile):        # (T, C): the dog's profile at the policy's clock phases, as the rewards read it
        return profile_at_phase(phase, np.broadcast_to(profile, (len(phase),) + profile.shape))

    dog_foot_z, dog_q = dog_at_phase(clocks.foot_height_m[g]), dog_at_phase(clocks.joint_pos_rad[g])
    progress = swing_progress(phase, clocks.duty[g], clocks.offset[g])       # (T, 4) 0..1 through a swing, else NaN
    swing = np.isfinite(progress)
    for f, foot in enumerate(FEET):
        fifths = [swing[:, f] & (progress[:, f] >= k / 5) & (progress[:, f] < (k + 1) / 5) for k in range(5)]
        mm = lambda z: " ".join(f"{1000 * np.median(z[m]):4.0f}" if m.any() else "   -" for m in fifths)  # noqa: E731
        err = q[:, 3 * f:3 * f + 3] - dog_q[:, 3 * f:3 * f + 3]
        e = lambda m: " ".join(f"{x:+.2f}" for x in err[m].mean(0))  # noqa: E731
        print(f"  {foot}: height over its swing, by fifths (mm) {mm(foot_z[:, f])} | the dog's "
              f"{mm(dog_foot_z[:, f])}; joint error hip/thigh/calf in swing {e(swing[:, f])}, "
              f"in stance {e(~swing[:, f])} rad")
    return 0


if __name__ == "__main__":
    sys.exit(main())
