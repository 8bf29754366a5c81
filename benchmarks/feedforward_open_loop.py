"""The dog's stride played open loop: `env.reference_feedforward` with zero actions, no policy.

Each environment starts standing at the walk bank's speed (the first bank's clock), the joint targets follow
the dog's mean joint angles at the clock's phase, and nothing corrects them. Reported, per setting: the
environments still standing after 1 s, their forward speed, and per foot the touchdowns per second over
0.3-1.0 s counted from the simulator's contacts (foot force > 1 N) as they are, after legged_gym's
one-step contact filter (a contact this step or the last) and after a two-step one, beside the clock's
scheduled touchdowns. The trained feedforward policies' feet touch down 5-8 times a second; if the stride
played alone does the same, the chatter comes from the stride and the contacts, not from the policy.

    python benchmarks/feedforward_open_loop.py walk.h5 trot.h5 [--envs 16] [--gains 20:0.5 80:1]
        [--contact-timeconst 0.02 0.01] [--json OUT]

`--contact-timeconst` sets MuJoCo's solref time constant of every geom (the MJCF's default is 0.02 s; 0.01
is the stiffest MuJoCo advises at a 5 ms step): whether stiffer contacts stop the flicker.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from amp_data.motion.gait import touchdowns_per_s  # noqa: E402
from learner import config as C  # noqa: E402
from learner import mujoco_backend  # noqa: E402
from learner import train as T  # noqa: E402

STEPS = 60                      # 1.2 s at 50 Hz
WINDOW = slice(15, 50)          # 0.3-1.0 s: after the first touchdowns, before most falls


def play(banks, envs: int, kp: float, kd: float, timeconst: float | None, seed: int = 3) -> dict:
    cfg = C.make_config("cpu", "sac")
    C.apply_overrides(cfg, [f"env.num_envs={envs}", "env.gait_clock=true", "env.reference_feedforward=true",
                            "randomization.enabled=false", "env.sim_threads=1", f"env.kp_nm_rad={kp}",
                            f"env.kd_nm_s_rad={kd}", "sac.hidden=32,32", "amp.hidden=32,32"])
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
        command = float(task.clocks.speed_m_s[0])
        standing = np.ones(envs, bool)
        contact, scheduled, vx = [], [], []
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
        c = np.array(contact)[WINDOW][:, standing]
        d = np.array(scheduled)[WINDOW][:, standing]
        dt = task.dt_s
        return {"kp": kp, "kd": kd, "contact_timeconst_s": timeconst, "command_vx_m_s": command,
                "standing_after_1s": int(standing.sum()), "envs": envs,
                "forward_speed_m_s": float(np.array(vx)[WINDOW][:, standing].mean()) if standing.any() else None,
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
    ap.add_argument("--json")
    a = ap.parse_args(argv)
    rows = []
    for gains in a.gains:
        kp, kd = (float(x) for x in gains.split(":"))
        for tc in a.contact_timeconst:
            rows.append(play(a.banks, a.envs, kp, kd, tc))
            r = rows[-1]
            f = lambda x: " ".join(f"{v:.1f}" for v in x)  # noqa: E731
            print(f"kp {kp:g} kd {kd:g} solref {tc or 'MJCF'}: standing after 1 s {r['standing_after_1s']}/{a.envs}, "
                  f"touchdowns/s FL FR RL RR raw {f(r['touchdowns_per_s'])} | 1-step filter "
                  f"{f(r['touchdowns_per_s_filter1'])} | 2-step {f(r['touchdowns_per_s_filter2'])} | "
                  f"scheduled {f(r['scheduled_per_s'])}", flush=True)
    if a.json:
        Path(a.json).write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
