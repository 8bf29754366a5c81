"""learner/swing_clearance.py and env.feedforward_swing_clearance_m: the feedforward's swing feet raised to a
floor, checked against the floor's definition, the legs' kinematics and the task's joint targets."""

import math

import numpy as np
import pytest

from learner.swing_clearance import lift_m, lifted_joint_pos_rad, raise_feet_rad, swing_progress
from robots.go2.kinematics import feet_fk
from robots.go2.model import default_pose_rad, soft_limits_rad


def test_lift_is_the_floor_s_shortfall_in_swing_and_nothing_in_stance():
    """A made-up gait: foot i down for duty_i after offset_i, its height 22 +- 1 mm in stance and a low bump
    in swing. The lift, bin by bin from the definition (floor c sin(pi s) above the stance height, minus the
    foot's own height above it, never below 0), with a plain loop."""
    bins, c = 40, 0.03
    duty, offset = np.array([0.6, 0.6, 0.55, 0.5]), np.array([0.0, 0.5, 0.95, 0.45])
    centres = (np.arange(bins) + 0.5) / bins
    height = 0.022 + np.random.default_rng(0).uniform(-0.001, 0.001, (4, bins))   # stance feet sink and rise
    for f in range(4):
        p = (centres - offset[f]) % 1.0
        swing = p >= duty[f]
        s = (p[swing] - duty[f]) / (1 - duty[f])
        height[f, swing] += (0.01 + 0.005 * f) * np.sin(np.pi * s) ** 3       # lower than the floor at the edges
    lift = lift_m(height, duty, offset, c)
    for b in range(bins):
        for f in range(4):
            p = (centres[b] - offset[f]) % 1.0
            if p < duty[f]:
                assert lift[b, f] == 0.0
                continue
            floor = c * math.sin(math.pi * (p - duty[f]) / (1 - duty[f]))
            stance_height = np.median(height[f][(centres - offset[f]) % 1.0 < duty[f]])
            assert lift[b, f] == pytest.approx(max(floor - (height[f, b] - stance_height), 0.0), abs=1e-12)
    assert (lift > 0.005).any()
    # a foot already above the floor everywhere in swing is not moved
    high = height + 0.05 * np.isfinite(swing_progress(centres, duty, offset)).T
    assert lift_m(high, duty, offset, c).max() == 0.0


def test_raised_legs_put_the_foot_straight_up_by_the_lift_within_the_limits():
    """Poses about the default, lifts of 0-40 mm: each lifted foot rises by its lift along the base's z axis
    (within 0.1 mm) and keeps x and y (within 0.1 mm); legs with no lift keep their angles bit for bit; all
    angles stay within the soft limits."""
    rng = np.random.default_rng(0)
    q0 = default_pose_rad() + rng.uniform(-0.2, 0.2, (64, 12))
    lift = rng.uniform(0.0, 0.04, (64, 4)) * (rng.random((64, 4)) < 0.7)
    q = raise_feet_rad(q0, lift)
    moved = feet_fk(q) - feet_fk(q0)
    np.testing.assert_allclose(moved[..., 2], lift, atol=1e-4)
    np.testing.assert_allclose(moved[..., :2], 0.0, atol=1e-4)
    still = np.repeat(lift == 0, 3, axis=1)
    assert (q[still] == q0[still]).all() and still.any()
    limits = soft_limits_rad()
    assert (q >= limits[:, 0] - 1e-12).all() and (q <= limits[:, 1] + 1e-12).all()


@pytest.fixture(scope="module")
def banks(walk_trot_cycle_banks):
    return walk_trot_cycle_banks


def test_the_task_s_feedforward_lifts_the_dog_s_skimming_swings(banks):
    """env.feedforward_swing_clearance_m=0.03 on the walk and trot banks: zero actions give the lifted
    profile's angles as targets; the feedforward's feet (forward kinematics of its angles) sit on the dog's
    wherever the clock has them in stance and rise by exactly the lift in swing; with the dog's feet
    skimming somewhere, some lift is > 5 mm; the stance torques are those of the lifted pose; the floor set
    afterwards on a task built without it gives the same targets; without the feedforward, or outside
    [0, 0.1] m, the setting is refused."""
    pytest.importorskip("torch")
    pytest.importorskip("mujoco")
    from learner import config as C
    from learner import train as T
    from learner.gait_clock import profile_at_phase
    from learner.stance_torque import clock_stance_torques_nm
    cfg = C.make_config("cpu", "sac")
    overrides = ["env.num_envs=4", "sac.hidden=32,32", "amp.hidden=32,32", "env.gait_clock=true",
                 "env.reference_feedforward=true", "env.stance_torque_feedforward=true",
                 "env.feedforward_swing_clearance_m=0.03"]
    C.apply_overrides(cfg, overrides)
    backend, task, _, _, _ = T.build(cfg, banks, seed=1)
    c = task.clocks
    lifted = lifted_joint_pos_rad(c.joint_pos_rad, c.foot_height_m, c.duty, c.offset, 0.03)
    task.reset()
    for _ in range(5):
        kp = task.kp
        want = profile_at_phase(task.clock_phase, lifted[task.gait])
        want = want + profile_at_phase(task.clock_phase, clock_stance_torques_nm(c, lifted)[task.gait]) / kp
        want = np.clip(want, task.soft_limits[:, 0], task.soft_limits[:, 1])
        np.testing.assert_allclose(task.joint_targets(np.zeros((4, 12))), want, atol=1e-9)
        task.step(np.zeros((4, 12)))
    # the what-if of benchmarks/clock_match.py: a floor set on a task built without one gives the same targets
    # as a task built with it, and 0 gives the dog's angles back
    cfg_plain = C.make_config("cpu", "sac")
    C.apply_overrides(cfg_plain, [o for o in overrides if "clearance" not in o])
    backend2, plain, _, _, _ = T.build(cfg_plain, banks, seed=1)
    plain.reset()
    plain.clock_phase, plain.gait, plain.kp = task.clock_phase.copy(), task.gait.copy(), task.kp.copy()
    dog = plain.joint_targets(np.zeros((4, 12)))
    plain.set_feedforward_swing_clearance(0.03)
    np.testing.assert_array_equal(plain.joint_targets(np.zeros((4, 12))), task.joint_targets(np.zeros((4, 12))))
    plain.set_feedforward_swing_clearance(0.0)
    np.testing.assert_array_equal(plain.joint_targets(np.zeros((4, 12))), dog)
    backend.close()
    backend2.close()
    for g in range(len(c.gaits)):
        lift = lift_m(c.foot_height_m[g], c.duty[g], c.offset[g], 0.03)
        rise = (feet_fk(lifted[g].T) - feet_fk(c.joint_pos_rad[g].T))[..., 2]
        np.testing.assert_allclose(rise, lift, atol=1e-4)
        bins = lift.shape[0]
        stance = np.isnan(swing_progress((np.arange(bins) + 0.5) / bins, c.duty[g], c.offset[g]))
        assert (lifted[g].T[np.repeat(stance, 3, axis=1)] == c.joint_pos_rad[g].T[np.repeat(stance, 3, axis=1)]).all()
    assert max(lift_m(c.foot_height_m[g], c.duty[g], c.offset[g], 0.03).max() for g in range(len(c.gaits))) > 0.005
    for bad, msg in (("env.feedforward_swing_clearance_m=0.03", "needs env.reference_feedforward=true"),
                     ("env.feedforward_swing_clearance_m=0.5", r"must be in \[0, 0.1\]")):
        with pytest.raises(ValueError, match=msg):
            C.validate(C.apply_overrides(C.make_config("cpu", "sac"), ["env.gait_clock=true", bad]))
