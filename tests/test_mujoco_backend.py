"""The batched MuJoCo backend against hand-set numbers, statics (force balance), sliding friction and the
independent forward kinematics of `robots.go2.kinematics`."""

import numpy as np
import pytest

pytest.importorskip("mujoco", reason="mujoco is an optional extra: pip install '.[learn]'")

from learner.mujoco_backend import MujocoBackend, pd_torques  # noqa: E402
from robots.go2.kinematics import feet_fk  # noqa: E402
from robots.go2.model import FOOT_NAMES, default_pose_rad, hard_limits_rad  # noqa: E402

G = 9.81
TOTAL_MASS_KG = 6.921 + 4 * (0.678 + 1.152 + 0.154 + 0.04)
KP, KD = 20.0, 0.5


def _rot_xyzw(q):
    """Rotation matrix of a unit xyzw quaternion, written out by hand."""
    x, y, z, w = q
    return np.array([[1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
                     [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
                     [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)]])


def _hold_default(sim, policy_steps, check=None):
    q0 = np.tile(default_pose_rad(), (sim.num_envs, 1))
    for _ in range(policy_steps):
        sim.step_pd(q0, KP, KD, substeps=4)
        if check:
            check(sim.state())
    return sim.state()


def test_pd_law_on_hand_set_numbers():
    tau = pd_torques(q_target_rad=np.array([1.0, 0.0, 1.0]), q_rad=np.array([0.5, 0.1, 0.0]),
                     qd_rad_s=np.array([2.0, -4.0, 0.0]), kp=20.0, kd=0.5, torque_limit_nm=np.array([23.7, 23.7, 1.5]))
    # 20*0.5 - 0.5*2 = 9;  20*(-0.1) - 0.5*(-4) = 0;  20*1 = 20 -> clipped to 1.5
    np.testing.assert_allclose(tau, [9.0, 0.0, 1.5], atol=1e-12)
    # per-env gains (N, 1) broadcast over joints; a negative torque clipped at -limit
    tau = pd_torques(np.zeros((2, 2)), np.array([[0.1, -2.0], [0.1, 0.0]]), np.zeros((2, 2)),
                     kp=np.array([[10.0], [30.0]]), kd=0.0, torque_limit_nm=np.array([23.7, 35.55]))
    np.testing.assert_allclose(tau, [[-1.0, 20.0], [-3.0, 0.0]], atol=1e-12)


def test_dropped_robot_stands_on_its_feet():
    with MujocoBackend(2, threads=2) as sim:
        start = np.tile(sim.default_qpos, (2, 1))
        start[:, 2] = 0.45   # 13 cm above the standing height
        start[1, :2] = [3.0, -1.0]
        sim.reset([0, 1], start, np.zeros((2, 18)))
        seen_body_contact = []
        s = _hold_default(sim, 150, lambda st: seen_body_contact.append(st.body_contact.any()))
    assert not any(seen_body_contact)
    assert np.all((s.base_pos_w[:, 2] > 0.22) & (s.base_pos_w[:, 2] < 0.32))
    # upright: the base z axis (third column of R) within 5 degrees of the vertical
    for q in s.base_quat_xyzw:
        assert _rot_xyzw(q)[2, 2] > np.cos(np.radians(5))
    assert s.foot_contact.all() and not s.base_contact.any()
    # at rest the floor carries the whole robot: sum of the feet's normal forces = m g
    np.testing.assert_allclose(s.foot_force_n.sum(axis=1), TOTAL_MASS_KG * G, rtol=2e-3)
    assert np.abs(s.base_lin_vel_w).max() < 1e-2 and np.abs(s.joint_vel).max() < 0.1
    np.testing.assert_allclose(s.foot_pos_w[:, :, 2], 0.022, atol=5e-3)  # foot centres one radius up


def _random_state(rng, n):
    lo, hi = hard_limits_rad().T
    quat = rng.standard_normal((n, 4))
    quat /= np.linalg.norm(quat, axis=1, keepdims=True)
    qpos = np.concatenate([rng.uniform(-2, 2, (n, 3)) + [0, 0, 3], quat, rng.uniform(lo, hi, (n, 12))], axis=1)
    return qpos, rng.standard_normal((n, 18))


def test_foot_velocity_is_the_rate_of_change_of_the_foot_position():
    """SimState.foot_vel_w (FK Jacobians) against the change of foot_pos_w over one MuJoCo step of flying
    robots in random states. MuJoCo's semi-implicit Euler moves positions with the step's new velocities,
    so the rate matches the velocity after the step, up to O(dt |v|^2) (slow states keep that small); the
    velocity before the step differs by the step's acceleration. numpy and torch alike."""
    rng = np.random.default_rng(11)
    qpos, qvel = _random_state(rng, 6)
    with MujocoBackend(6, threads=1) as sim:
        sim.reset(np.arange(6), qpos, 0.1 * qvel)
        before = sim.state()
        sim.step(np.zeros((6, 12)), substeps=1)
        after = sim.state()
        dt = sim.sim_dt
    rate = (after.foot_pos_w - before.foot_pos_w) / dt
    assert np.abs(rate).max() > 0.1                         # the feet do move
    np.testing.assert_allclose(after.foot_vel_w, rate, atol=1e-3 * np.abs(rate).max())
    torch = pytest.importorskip("torch")
    from dataclasses import fields, replace
    as_tensors = replace(after, **{f.name: torch.as_tensor(getattr(after, f.name)) for f in fields(after)})
    np.testing.assert_allclose(as_tensors.foot_vel_w.numpy(), after.foot_vel_w, atol=1e-12)


def test_reset_puts_exactly_the_given_state():
    rng = np.random.default_rng(3)
    with MujocoBackend(5, threads=1) as sim:
        qpos, qvel = _random_state(rng, 3)
        before = sim.state()
        sim.reset([4, 0, 2], qpos, qvel)
        s = sim.state()
    for k, i in enumerate([4, 0, 2]):
        np.testing.assert_allclose(s.base_pos_w[i], qpos[k, :3], atol=1e-12)
        np.testing.assert_allclose(s.base_quat_xyzw[i], qpos[k, 3:7], atol=1e-12)
        np.testing.assert_allclose(s.joint_pos[i], qpos[k, 7:], atol=1e-12)
        np.testing.assert_allclose(s.base_lin_vel_b[i], qvel[k, :3], atol=1e-12)
        np.testing.assert_allclose(s.base_ang_vel_b[i], qvel[k, 3:6], atol=1e-12)
        np.testing.assert_allclose(s.joint_vel[i], qvel[k, 6:], atol=1e-12)
        np.testing.assert_allclose(s.base_lin_vel_w[i], _rot_xyzw(qpos[k, 3:7]) @ qvel[k, :3], atol=1e-12)
        # feet: world = p + R * (independent numpy/pinocchio FK in the base frame)
        feet = qpos[k, :3] + feet_fk(qpos[k, None, 7:])[0] @ _rot_xyzw(qpos[k, 3:7]).T
        np.testing.assert_allclose(s.foot_pos_w[i], feet, atol=1e-9)
    # untouched envs keep their state
    for i in (1, 3):
        np.testing.assert_array_equal(s.joint_pos[i], before.joint_pos[i])
        np.testing.assert_array_equal(s.base_pos_w[i], before.base_pos_w[i])


def test_quaternion_convention_round_trip():
    """xyzw at the API, wxyz inside MuJoCo: a 90 degree yaw turns the robot's front to +y."""
    s45 = np.sqrt(0.5)
    qpos = np.concatenate([[1.0, 2.0, 0.5], [0.0, 0.0, s45, s45], default_pose_rad()])[None]
    qvel = np.zeros((1, 18))
    qvel[0, 0] = 1.0   # forward in the base frame
    with MujocoBackend(1) as sim:
        sim.reset([0], qpos, qvel)
        s = sim.state()
        inside = sim.mj_data(0)
    np.testing.assert_allclose(inside.qpos[3:7], [s45, 0.0, 0.0, s45], atol=1e-15)  # wxyz inside
    np.testing.assert_allclose(inside.qvel[:3], [0.0, 1.0, 0.0], atol=1e-12)  # world frame inside
    np.testing.assert_allclose(s.base_quat_xyzw[0], [0.0, 0.0, s45, s45], atol=1e-15)
    np.testing.assert_allclose(s.base_lin_vel_w[0], [0.0, 1.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(s.base_lin_vel_b[0], [1.0, 0.0, 0.0], atol=1e-12)
    fl, fr, rl = (s.foot_pos_w[0, FOOT_NAMES.index(f)] for f in ("FL_foot", "FR_foot", "RL_foot"))
    assert fl[1] > 2.0 + 0.1 and rl[1] < 2.0 - 0.1   # front feet ahead along +y
    assert fl[0] < 1.0 < fr[0]                        # the left side now faces -x


def test_upside_down_robot_reports_base_contact():
    with MujocoBackend(1) as sim:
        upside_down = np.concatenate([[0.0, 0.0, 0.1], [1.0, 0.0, 0.0, 0.0], default_pose_rad()])[None]
        sim.reset([0], upside_down, np.zeros((1, 18)))
        s = _hold_default(sim, 25)
    assert s.base_contact[0] and s.body_contact[0]
    assert not s.foot_contact.any()
    assert s.base_pos_w[0, 2] < 0.1


def test_kneeling_robot_reports_body_but_not_base_contact():
    """Thighs straight down, calves folded up: the robot rests on its knees (calf geoms), feet and trunk
    in the air; the four calves carry its weight."""
    kneel = np.tile([0.0, 0.0, -2.7], 4)
    with MujocoBackend(1) as sim:
        sim.reset([0], np.concatenate([[0.0, 0.0, 0.26], [0.0, 0.0, 0.0, 1.0], kneel])[None], np.zeros((1, 18)))
        for _ in range(50):
            sim.step_pd(kneel[None], KP, KD, substeps=4)
        s = sim.state()
    assert s.body_contact[0] and not s.base_contact[0] and not s.foot_contact.any()
    assert np.all(s.foot_pos_w[0, :, 2] > 0.15)


def test_home_pose_touches_with_the_front_feet_only():
    """At the home key (front thighs 0.8 rad, rear 1.0 rad, base level) the front feet are the lower
    ones and touch the floor; the rear feet hang about 1 cm above it."""
    with MujocoBackend(1) as sim:
        s = sim.state()
    assert s.foot_contact[0].tolist() == [True, True, False, False]   # FL, FR, RL, RR
    np.testing.assert_array_equal(s.foot_force_n[0, 2:], 0.0)


def test_setting_fr_calf_moves_only_the_fr_foot():
    with MujocoBackend(2) as sim:
        qpos = np.tile(sim.default_qpos, (2, 1))
        qpos[:, 2] = 1.0   # in the air
        qpos[1, 7 + 5] = -2.2  # FR_calf_joint (index 5 in URDF order)
        sim.reset([0, 1], qpos, np.zeros((2, 18)))
        s = sim.state()
    moved = np.linalg.norm(s.foot_pos_w[1] - s.foot_pos_w[0], axis=1)
    assert moved[FOOT_NAMES.index("FR_foot")] > 0.05
    np.testing.assert_array_equal(np.delete(moved, FOOT_NAMES.index("FR_foot")), 0.0)


def test_thread_count_does_not_change_the_result():
    rng = np.random.default_rng(0)
    targets = default_pose_rad() + 0.2 * rng.standard_normal((20, 5, 12))
    finals = []
    for threads in (1, 2):
        with MujocoBackend(5, threads=threads) as sim:
            for t in targets:
                sim.step_pd(t, KP, KD, substeps=4)
            finals.append(sim.state())
    np.testing.assert_array_equal(finals[0].joint_pos, finals[1].joint_pos)
    np.testing.assert_array_equal(finals[0].base_pos_w, finals[1].base_pos_w)
    np.testing.assert_array_equal(finals[0].foot_force_n, finals[1].foot_force_n)


def test_step_holds_the_torque():
    """With the robot in the air, zero torque vs. a constant hip torque: only that hip moves, and the
    torque beyond the actuator limit is clamped to it (equal motion for 30 and 1000 N m)."""
    with MujocoBackend(3) as sim:
        qpos = np.tile(sim.default_qpos, (3, 1))
        qpos[:, 2] = 5.0
        sim.reset([0, 1, 2], qpos, np.zeros((3, 18)))
        tau = np.zeros((3, 12))
        tau[1, 0], tau[2, 0] = 30.0, 1000.0   # FL hip, limit 23.7 N m
        sim.step(tau, substeps=4)
        s = sim.state()
    assert s.joint_vel[1, 0] > 0.5
    np.testing.assert_allclose(s.joint_vel[2], s.joint_vel[1], atol=1e-12)
    assert np.all(np.abs(s.joint_vel[0]) < np.abs(s.joint_vel[1, 0]) / 10)


def test_base_mass_randomisation_changes_the_weight_on_the_feet():
    with MujocoBackend(3) as sim:
        sim.set_base_mass_offset([0, 1, 2], [-1.0, 0.0, 1.0])
        np.testing.assert_allclose(sim.base_mass_kg, [5.921, 6.921, 7.921])
        s = _hold_default(sim, 100)
    np.testing.assert_allclose(s.foot_force_n.sum(axis=1), (TOTAL_MASS_KG + np.array([-1.0, 0.0, 1.0])) * G,
                               rtol=2e-3)


@pytest.mark.parametrize("cone", [None, "pyramidal"])
def test_friction_randomisation_sets_the_sliding_distance(cone):
    """An upside-down robot sliding on its back at 1 m/s stops after v^2 / (2 mu g)."""
    mu = np.array([0.25, 0.5, 1.0])
    with MujocoBackend(3, cone=cone) as sim:
        sim.set_friction([0, 1, 2], mu)
        np.testing.assert_array_equal(sim.friction, mu)
        lying = np.tile(np.concatenate([[0.0, 0.0, 0.06], [1.0, 0.0, 0.0, 0.0], default_pose_rad()]), (3, 1))
        sim.reset([0, 1, 2], lying, np.zeros((3, 18)))
        s = _hold_default(sim, 25)   # settle on the back
        start = np.concatenate([s.base_pos_w, s.base_quat_xyzw, s.joint_pos], axis=1)
        qvel = np.zeros((3, 18))
        qvel[:, 0] = 1.0  # base x = world x when turned about x
        sim.reset([0, 1, 2], start, qvel)
        s = _hold_default(sim, 50)
    assert np.abs(s.base_lin_vel_w).max() < 1e-2   # stopped (pyramidal cones creep by ~1 mm/s)
    np.testing.assert_allclose(s.base_pos_w[:, 0] - start[:, 0], 1.0 / (2 * mu * G), rtol=0.1)


def test_bad_shapes_raise():
    with MujocoBackend(2) as sim:
        with pytest.raises(ValueError, match=r"\(2, 12\)"):
            sim.step_pd(np.zeros((3, 12)), KP, KD)
        with pytest.raises(ValueError, match="qpos"):
            sim.reset([0], np.zeros((1, 18)), np.zeros((1, 18)))
        with pytest.raises(ValueError, match="quaternion"):
            sim.reset([0], np.zeros((1, 19)), np.zeros((1, 18)))
        with pytest.raises(ValueError, match="substeps"):
            sim.step(np.zeros((2, 12)), substeps=0)
        with pytest.raises(ValueError, match="cone"):
            MujocoBackend(1, cone="round")


def test_a_diverged_env_is_flagged_until_its_reset():
    with MujocoBackend(2) as sim:
        qpos = np.tile(sim.default_qpos, (2, 1))
        qvel = np.zeros((2, 18))
        qvel[1, 8] = 1e11   # beyond MuJoCo's mjMAXVAL (1e10): mj_step resets that env and warns
        sim.reset([0, 1], qpos, qvel)
        assert not sim.state().sim_unstable.any()
        sim.step_pd(np.tile(default_pose_rad(), (2, 1)), KP, KD, substeps=4)
        assert sim.state().sim_unstable.tolist() == [False, True]
        sim.reset([1], qpos[1:], np.zeros((1, 18)))
        assert not sim.state().sim_unstable.any()


def test_step_pd_equals_plain_mj_step_with_the_pd_law():
    """The batched rollout stepping against MuJoCo's mj_step on one MjData, PD torques by hand."""
    import mujoco

    rng = np.random.default_rng(5)
    kp = rng.uniform(18.0, 22.0, (3, 1))
    targets = default_pose_rad() + 0.2 * rng.standard_normal((6, 3, 12))
    with MujocoBackend(3, threads=2) as sim:
        sim.set_friction([0, 1, 2], [0.3, 1.0, 1.7])
        datas = [sim.mj_data(i) for i in range(3)]
        for t in targets:
            sim.step_pd(t, kp, KD, substeps=4)
            for i, d in enumerate(datas):
                for _ in range(4):
                    q, qd = d.qpos[7:], d.qvel[6:]
                    d.ctrl[:] = np.clip(kp[i] * (t[i] - q) - KD * qd, -sim.torque_limit_nm, sim.torque_limit_nm)
                    d.qacc_warmstart[:] = 0.0   # rollout starts every sim step cold
                    mujoco.mj_step(sim.models[i], d)
        s = sim.state()
    for i, d in enumerate(datas):
        np.testing.assert_allclose(s.joint_pos[i], d.qpos[7:], atol=1e-10)
        np.testing.assert_allclose(s.base_pos_w[i], d.qpos[:3], atol=1e-10)
        np.testing.assert_allclose(s.base_lin_vel_w[i], d.qvel[:3], atol=1e-9)
