"""learner/stance_torque.py: the statics of holding a pose on the stance feet, checked against the simulator."""

import numpy as np
import pytest

pytest.importorskip("mujoco")

from learner.mujoco_backend import MujocoBackend  # noqa: E402
from learner.stance_torque import stance_statics, stance_torques_nm  # noqa: E402

G = 9.81


@pytest.fixture(scope="module")
def sim():
    with MujocoBackend(1, threads=1) as s:
        yield s


def _total_mass_kg(sim) -> float:
    return float(sim.models[0].body_subtreemass[1])    # the base's subtree: the whole robot


def test_forces_carry_the_weight_on_the_stance_feet_only(sim):
    """Four feet down: the ground forces add up to the robot's weight, mirror left and right, and the front
    feet carry more (the base's centre of mass lies ahead of the hips' midpoint); a diagonal pair down: the
    swing feet carry nothing and their legs' torques are those of a leg in the air; all feet up: no force."""
    q0 = sim.default_qpos[7:]
    weights = np.array([[1, 1, 1, 1], [1, 0, 0, 1], [0, 0, 0, 0]], dtype=float)
    tau, force = stance_statics(np.tile(q0, (3, 1)), weights)
    weight_n = _total_mass_kg(sim) * G
    assert force[0, :, 2].sum() == pytest.approx(weight_n, rel=1e-3)
    np.testing.assert_allclose(force[0, 0], force[0, 1] * [1, -1, 1], atol=1e-6)        # FL mirrors FR
    assert force[0, 0, 2] > force[0, 2, 2] > 0
    assert np.abs(force[1, [1, 2]]).max() < 0.05                                          # FR, RL swing
    assert force[1, [0, 3], 2].sum() == pytest.approx(weight_n, rel=0.02)
    assert np.abs(force[2]).max() < 0.05
    in_air = tau[2]
    np.testing.assert_allclose(tau[1, 3:9], in_air[3:9], atol=0.05)                      # FR's and RL's legs
    assert np.abs(in_air).max() < 1.5                                                     # a leg's own weight
    np.testing.assert_allclose(stance_torques_nm(q0[None], weights[:1]), tau[:1])
    with pytest.raises(ValueError, match="foot_weight"):
        stance_torques_nm(q0[None], np.ones((1, 3)))


def test_torques_hold_the_standing_robot_where_kp_alone_sags(sim):
    """Simulated, standing on four feet in the default pose at kp 20 N m/rad: the targets q0 + tau / kp hold
    every joint within 0.03 rad of q0 and the base within 1 cm of the home height; q0 alone sags (calves by
    more than 0.25 rad, the base 4 cm lower)."""
    q0, home = sim.default_qpos[7:], sim.default_qpos
    tau = stance_torques_nm(q0[None], np.ones((1, 4)))
    kp = np.array([[20.0]])
    result = {}
    for held in (False, True):
        sim.reset([0], home[None], np.zeros((1, 18)))
        for _ in range(100):                       # 2 s of 0.02 s policy steps
            sim.step_pd(q0[None] + (tau / kp if held else 0.0), kp, 0.5, substeps=4)
        st = sim.state()
        result[held] = (np.abs(st.joint_pos[0] - q0), float(st.base_pos_w[0, 2]))
    err_held, z_held = result[True]
    err_sag, z_sag = result[False]
    assert err_held.max() < 0.03 and abs(z_held - home[2]) < 0.01, result
    assert err_sag[2::3].min() > 0.25 and z_sag < home[2] - 0.04, result


def test_the_feedforward_carries_the_stance_torques_and_the_robot_rides_at_the_dog_s_height(walk_trot_cycle_banks):
    """env.stance_torque_feedforward: zero actions give the dog's angles plus the clock's stance torques over
    each environment's kp (randomised gains included) as targets; played open loop from reference starts
    the base then rides within 3 cm of the banks' mean height in both gaits, where without the torques it
    sags more than 4 cm below it. Refused without the feedforward."""
    pytest.importorskip("torch")
    from learner import config as C
    from learner import train as T
    from learner.gait_clock import PHASE_BINS, desired_contact, profile_at_phase
    n = 8
    height = {}
    for held in (True, False):
        cfg = C.make_config("cpu-dog", "sac")
        C.apply_overrides(cfg, [f"env.num_envs={n}", "sac.hidden=32,32", "amp.hidden=32,32",
                                f"env.stance_torque_feedforward={str(held).lower()}"])
        backend, task, _, _, _ = T.build(cfg, walk_trot_cycle_banks, seed=4)
        clocks = task.clocks
        if held:
            task.reset()
            kp = task.kp.copy()
            assert np.ptp(kp) > 0                                   # gains randomised per environment
            g, b = 1, 7                                             # one bin, recomputed from the statics
            centre = np.array([(b + 0.5) / PHASE_BINS])
            w = desired_contact(centre, clocks.duty[g][None], clocks.offset[g][None])
            tau = stance_torques_nm(clocks.joint_pos_rad[g][:, b][None], w)[0]
            np.testing.assert_allclose(task._clock_stance_torque_k[g][:, b], tau, atol=1e-9)
            want = (profile_at_phase(task.clock_phase, clocks.joint_pos_rad[task.gait])
                    + profile_at_phase(task.clock_phase, task._clock_stance_torque_k[task.gait]) / kp)
            want = np.clip(want, task.soft_limits[:, 0], task.soft_limits[:, 1])
            np.testing.assert_allclose(task.joint_targets(np.zeros((n, 12))), want, atol=1e-12)
        C.apply_overrides(cfg, ["randomization.enabled=false"])
        for gait in range(2):
            z = []
            with task.evaluation_episodes(float(clocks.speed_m_s[gait]), 60):
                task.reset()
                for k in range(50):
                    task.step(np.zeros((n, 12)))
                    if k >= 10:
                        z.append(backend.state().base_pos_w[:, 2])
            height[held, gait] = float(np.mean(z))
        target = task.base_height_target_m
        backend.close()
    for gait in range(2):
        assert abs(height[True, gait] - target) < 0.03, (height, target)
        assert height[False, gait] < target - 0.04, (height, target)
    with pytest.raises(ValueError, match="env.stance_torque_feedforward needs env.reference_feedforward"):
        C.validate(C.apply_overrides(C.make_config("cpu", "sac"), ["env.stance_torque_feedforward=true"]))
