"""The dog's stride played open loop: `env.reference_feedforward` with zero actions, no policy.

Each environment starts standing at a bank's speed (each bank's clock in turn), the joint targets follow
the dog's mean joint angles at the clock's phase, and nothing corrects them. Reported, per setting: the
environments still standing after 1 s, their forward speed, base height (against the banks' mean, the
base-height target) and joint RMS error from the dog's angles, and per foot the touchdowns per second over
0.3-1.0 s counted from the simulator's contacts (foot force > 1 N) as they are, after legged_gym's
one-step contact filter (a contact this step or the last) and after a two-step one, beside the clock's
scheduled touchdowns. The trained feedforward policies' feet touch down 5-8 times a second; if the stride
played alone does the same, the chatter comes from the stride and the contacts, not from the policy.

    python benchmarks/feedforward_open_loop.py walk.h5 trot.h5 [--envs 16] [--gains 20:0.5 80:1]
        [--contact-timeconst 0.02 0.01] [--stance-torque off on] [--json OUT]

`--contact-timeconst` sets MuJoCo's solref time constant of every geom (the MJCF's default is 0.02 s; 0.01
is the stiffest MuJoCo advises at a 5 ms step): whether stiffer contacts stop the flicker. `--stance-torque
on` adds `env.stance_torque_feedforward` (the torques that hold the pose on the clock's stance feet): whether
the motors still sag under the robot's weight.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from amp_data.motion.gait import touchdowns_per_s  # noqa: E402
from learner import config as C  # noqa: E402
from learner import mujoco_backend  # noqa: E402
from learner import train as T  # noqa: E402
from learner.gait_clock import profile_at_phase  # noqa: E402

STEPS = 60                      # 1.2 s at 50 Hz
WINDOW = slice(15, 50)          # 0.3-1.0 s: after the first touchdowns, before most falls


def play(banks, envs: int, kp: float, kd: float, timeconst: float | None, seed: int = 3, gait: int = 0,
         stance_torque: bool = False) -> dict:
    cfg = C.make_config("cpu", "sac")
    C.apply_overrides(cfg, [f"env.num_envs={envs}", "env.gait_clock=true", "env.reference_feedforward=true",
                            "randomization.enabled=false", "env.sim_threads=1", f"env.kp_nm_rad={kp}",
                            f"env.kd_nm_s_rad={kd}", "sac.hidden=32,32", "amp.hidden=32,32",
                            f"env.stance_torque_feedforward={str(stance_torque).lower()}"])
    load = mujoco_backend.load_go2_model
    if timeconst is not None:
        def stiffer(*a, **k):
            model = load(*a, **k)
            model.geom_solref[:, 0] = timeconst
            return model
        mujoco_backend.load_go2_model = stiffer
    try:
        backend, task, _, _, _ = T.build(cfg, banks, seed=seed)
    finally:
        mujoco_backend.load_go2_model = load
    try:
        command = float(task.clocks.speed_m_s[gait])
        standing = np.ones(envs, bool)
        contact, scheduled, vx, height, joint_err = [], [], [], [], []
        with task.evaluation_episodes(command, STEPS):
            task.reset()
            for i in range(STEPS):
                r = task.step(np.zeros((envs, 12)))
                if i < WINDOW.stop:
                    standing &= ~np.asarray(r.terminated)
                st = backend.state()
                contact.append(np.asarray(st.foot_force_n) > 1.0)
                scheduled.append(task.desired_foot_contact() > 0.5)
                vx.append(np.asarray(st.base_lin_vel_b)[:, 0])
                height.append(np.asarray(st.base_pos_w)[:, 2])
                dog = profile_at_phase(task.clock_phase, task.clocks.joint_pos_rad[task.gait])
                joint_err.append(np.sqrt(np.mean((np.asarray(st.joint_pos) - dog) ** 2, axis=1)))
        c = np.array(contact)[WINDOW][:, standing]
        d = np.array(scheduled)[WINDOW][:, standing]
        dt = task.dt_s
        def mean(x):
            return float(np.array(x)[WINDOW][:, standing].mean()) if standing.any() else None

        return {"kp": kp, "kd": kd, "contact_timeconst_s": timeconst, "stance_torque": stance_torque,
                "bank": task.clocks.gaits[gait].bank_name, "command_vx_m_s": command,
                "standing_after_1s": int(standing.sum()), "envs": envs,
                "forward_speed_m_s": mean(vx), "base_height_m": mean(height),
                "base_height_target_m": task.base_height_target_m, "joint_rms_err_rad": mean(joint_err),
                # per foot, the mean over the standing environments (axis 1 of (T, N, 4))
                "touchdowns_per_s": touchdowns_per_s(c, dt).mean(0).tolist(),
                "touchdowns_per_s_filter1": touchdowns_per_s(c[1:] | c[:-1], dt).mean(0).tolist(),
                "touchdowns_per_s_filter2": touchdowns_per_s(c[2:] | c[1:-1] | c[:-2], dt).mean(0).tolist(),
                "scheduled_per_s": touchdowns_per_s(d, dt).mean(0).tolist()}
    finally:
        backend.close()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("banks", nargs="+")
    ap.add_argument("--envs", type=int, default=16)
    ap.add_argument("--gains", nargs="+", default=["20:0.5"], help="kp:kd pairs (N m/rad : N m s/rad)")
    ap.add_argument("--contact-timeconst", nargs="+", type=float, default=[None])
    ap.add_argument("--stance-torque", nargs="+", choices=["off", "on"], default=["off"],
                    help="without and/or with env.stance_torque_feedforward (default: off)")
    ap.add_argument("--json")
    a = ap.parse_args(argv)
    rows = []
    for gains in a.gains:
        kp, kd = (float(x) for x in gains.split(":"))
        for tc, held, gait in itertools.product(a.contact_timeconst, a.stance_torque, range(len(a.banks))):
            rows.append(play(a.banks, a.envs, kp, kd, tc, gait=gait, stance_torque=held == "on"))
            r = rows[-1]
            f = lambda x: " ".join(f"{v:.1f}" for v in x)  # noqa: E731
            g = lambda x: "-" if x is None else f"{x:.3f}"  # noqa: E731
            print(f"{r['bank']}: kp {kp:g} kd {kd:g} solref {tc or 'MJCF'} stance torque {held}: standing after 1 s "
                  f"{r['standing_after_1s']}/{a.envs}, speed {g(r['forward_speed_m_s'])} of {r['command_vx_m_s']:.2f} "
                  f"m/s, base height {g(r['base_height_m'])} m (target {r['base_height_target_m']:.3f}), joint RMS "
                  f"error {g(r['joint_rms_err_rad'])} rad, touchdowns/s FL FR RL RR raw {f(r['touchdowns_per_s'])} | 1-step filter "
                  f"{f(r['touchdowns_per_s_filter1'])} | 2-step {f(r['touchdowns_per_s_filter2'])} | "
                  f"scheduled {f(r['scheduled_per_s'])}", flush=True)
    if a.json:
        Path(a.json).write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
