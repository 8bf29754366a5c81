"""Can the simulated Go2 follow the reference with its PD motors? Play a bank's joint angles as PD targets.

    python benchmarks/reference_tracking.py walk.h5 trot.h5                  # the gains 20:0.5 and 80:1
    python benchmarks/reference_tracking.py walk.h5 --gains 20:0.5 40:0.5 80:1 --envs 128 --json out.json

Each bank on its own: N environments start from random reference frames (the task's reference state
initialisation, without randomisation), then every policy step (0.02 s, 4 sim steps) the joint targets are
the reference's joint angles one step later: the open-loop feedforward a policy would send if the motors
tracked perfectly. Reported per gain pair, over the first second (envs still standing):

- joint RMS error (rad) between the simulated and the reference joint angles;
- the base's forward speed against the reference's (m/s);
- the share of envs not fallen after 2 s and the mean time to a fall (the task's fall test).

With `--velocity-target` the motors also get the reference's joint velocities as their velocity target (as
Unitree's motor command allows: tau = kp (q* - q) + kd (qd* - qd)), folded into the position target as
q* + kd / kp qd*, since the simulated PD law's velocity target is zero.

Open loop, the robot falls sooner or later whatever the gains: the numbers say how far the motors alone
put the legs from the reference, i.e. how much a policy must correct for by leading its targets. The
error at the cpu preset's gains (20, 0.5: unitree_rl_gym's Go2) against AMP_for_hardware's A1 gains
(80, 1.0) is the figure the README's gain comparison cites.
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

from amp_data.errors import InputError  # noqa: E402
from amp_data.expert.sampler import ExpertSampler  # noqa: E402
from learner.config import EnvConfig  # noqa: E402
from learner.mujoco_backend import MujocoBackend  # noqa: E402
from learner.task import lifted_base_z_m  # noqa: E402


def start_states(ref: dict) -> tuple[np.ndarray, np.ndarray]:
    """qpos (n, 19) xyzw, qvel (n, 18) base frame of reference states, lifted so no foot starts in the floor."""
    n = len(ref["joint_pos"])
    qpos, qvel = np.zeros((n, 19)), np.zeros((n, 18))
    qpos[:, 3:7], qpos[:, 7:] = ref["root_quat"], ref["joint_pos"]
    qvel[:, :3], qvel[:, 3:6], qvel[:, 6:] = ref["base_lin_vel"], ref["base_ang_vel"], ref["joint_vel"]
    qpos[:, 2] = lifted_base_z_m(qpos[:, 3:7], qpos[:, 7:], ref["root_pos"][:, 2])
    return qpos, qvel


def track(expert: ExpertSampler, kp: float, kd: float, num_envs: int, seconds: float = 2.0, seed: int = 0,
          env: EnvConfig | None = None, velocity_target: bool = False) -> dict:
    """Play the reference's joint angles as PD targets from `num_envs` random reference starts; with
    `velocity_target` its joint velocities as the velocity targets too."""
    env = env or EnvConfig()
    dt_s = env.sim_dt_s * env.decimation
    ref = expert.reference_states(num_envs, np.random.default_rng(seed))
    clip, t0_s = ref["clip"], ref["time_s"]
    standing = np.ones(num_envs, dtype=bool)
    survival_s = np.zeros(num_envs)
    err, vx, vx_ref = [], [], []
    with MujocoBackend(num_envs, threads=1, cone=env.friction_cone) as sim:
        sim.reset(np.arange(num_envs), *start_states(ref))
        for k in range(int(round(seconds / dt_s))):
            target = expert.states_at(clip, t0_s + (k + 1) * dt_s)
            q_target = target["joint_pos"] + (kd / kp * target["joint_vel"] if velocity_target else 0.0)
            sim.step_pd(q_target, kp, kd, substeps=env.decimation)
            st = sim.state()
            fell = (st.base_pos_w[:, 2] < env.fall_height_m) | (st.base_rot_w[:, 2, 2] < np.cos(env.fall_tilt_rad))
            standing &= ~fell
            survival_s += standing * dt_s
            if (k + 1) * dt_s <= 1.0 + 1e-9:
                err.append(np.sqrt(np.mean((st.joint_pos - target["joint_pos"]) ** 2, axis=1))[standing])
                vx.append(st.base_lin_vel_b[standing, 0])
                vx_ref.append(target["base_lin_vel"][standing, 0])
    return {"kp_nm_rad": kp, "kd_nm_s_rad": kd, "velocity_target": velocity_target, "envs": num_envs,
            "joint_rms_err_rad": float(np.concatenate(err).mean()),
            "base_vx_m_s": float(np.concatenate(vx).mean()), "reference_vx_m_s": float(np.concatenate(vx_ref).mean()),
            "standing_after_s": seconds, "standing_share": float(standing.mean()),
            "mean_survival_s": float(survival_s.mean())}


def _gain_pair(text: str) -> tuple[float, float]:
    try:
        kp, kd = (float(x) for x in text.split(":"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"gains must be KP:KD (N m/rad : N m s/rad), got {text!r}") from None
    if kp <= 0 or kd < 0:
        raise argparse.ArgumentTypeError(f"gains must be KP > 0 and KD >= 0, got {text!r}")
    return kp, kd


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("banks", nargs="+", help="motion bank files (.h5), each tracked on its own")
    ap.add_argument("--gains", nargs="+", type=_gain_pair, default=[(20.0, 0.5), (80.0, 1.0)],
                    help="KP:KD pairs (default: 20:0.5 80:1)")
    ap.add_argument("--envs", type=int, default=64, help="reference starts per bank (default 64)")
    ap.add_argument("--velocity-target", action="store_true",
                    help="also send the reference's joint velocities as the motors' velocity targets")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", type=Path, help="also write the rows to this file")
    args = ap.parse_args(argv)
    rows = []
    try:
        for bank in args.banks:
            expert = ExpertSampler([bank], policy_dt_s=0.02, seed=args.seed)
            for kp, kd in args.gains:
                row = {"bank": str(bank), **track(expert, kp, kd, args.envs, seed=args.seed,
                                                  velocity_target=args.velocity_target)}
                rows.append(row)
                gains = f"kp {kp:5.1f} kd {kd:4.2f}" + (" +qd*" if args.velocity_target else "")
                print(f"{Path(bank).name:>12}  {gains}:  joint RMS error {row['joint_rms_err_rad']:.3f} rad"
                      f"  base {row['base_vx_m_s']:.2f} of {row['reference_vx_m_s']:.2f} m/s"
                      f"  standing after 2 s {row['standing_share']:.0%}  mean survival {row['mean_survival_s']:.2f} s",
                      flush=True)
    except InputError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
