"""Batched leg FK/IK against pinocchio and analytic facts."""

import numpy as np
import pinocchio as pin

from retarget.ik import solve_legs, solve_legs_pinocchio
from robots.go2.kinematics import feet_fk
from robots.go2.pinocchio_model import go2_model
from robots.go2 import FOOT_NAMES
from robots.go2.model import soft_limits_rad


def _walking_like_configs(n, seed=0):
    """Poses with every foot over 0.2 m from its hip axis, as in standing and walking (IK is unique there)."""
    rng = np.random.default_rng(seed)
    lo = np.tile([-0.5, -0.3, -2.5], 4)
    hi = np.tile([0.5, 1.8, -1.0], 4)
    q = rng.uniform(lo, hi, size=(20 * n, 12))
    feet = feet_fk(q)
    hips_y = np.array([0.0465, -0.0465, 0.0465, -0.0465])
    r = np.hypot(feet[..., 1] - hips_y, feet[..., 2])
    return q[(r > 0.2).all(axis=1)][:n]


def test_batched_fk_and_jacobian_match_pinocchio():
    model = go2_model()
    data = model.createData()
    lim = soft_limits_rad()
    q_all = np.random.default_rng(1).uniform(lim[:, 0], lim[:, 1], size=(40, 12))
    feet, jac = feet_fk(q_all, with_jacobian=True)
    q = pin.neutral(model)
    for t in range(len(q_all)):
        q[7:] = q_all[t]
        pin.computeJointJacobians(model, data, q)
        pin.updateFramePlacements(model, data)
        for i, f in enumerate(FOOT_NAMES):
            fid = model.getFrameId(f)
            np.testing.assert_allclose(feet[t, i], data.oMf[fid].translation, atol=1e-12)
            j = pin.getFrameJacobian(model, data, fid, pin.LOCAL_WORLD_ALIGNED)[:3, 6 + 3 * i: 9 + 3 * i]
            np.testing.assert_allclose(jac[t, i], j, atol=1e-12)


def test_ik_recovers_known_poses():
    q_true = _walking_like_configs(5000)
    assert len(q_true) == 5000
    res = solve_legs(feet_fk(q_true))
    assert np.abs(res.joint_pos - q_true).max() < 1e-6
    assert res.foot_error_m.max() < 1e-8
    assert not res.at_limit.any()


def test_ik_matches_pinocchio_reference():
    targets = feet_fk(_walking_like_configs(30, seed=2))
    np.testing.assert_allclose(solve_legs(targets).joint_pos, solve_legs_pinocchio(targets), atol=1e-6)


def test_unreachable_target_respects_limits_and_is_flagged():
    lim = soft_limits_rad()
    far = np.tile([[0.0, 0.0, -1.0]], (4, 1))[None] + feet_fk(np.zeros((1, 12))) * [1, 1, 0]
    res = solve_legs(far)   # feet 1 m below the hips: out of reach
    q = res.joint_pos[0]
    assert np.all(q >= lim[:, 0] - 1e-12) and np.all(q <= lim[:, 1] + 1e-12)
    assert res.at_limit[0, 2::3].all()          # every knee held at its straightest soft limit
    assert np.all(res.foot_error_m[0] > 0.5)


def test_ik_is_continuous_along_a_smooth_path():
    t = np.linspace(0, 4 * np.pi, 2000)
    q_true = np.tile([0.1, 0.8, -1.5], 4) + np.outer(np.sin(t), np.tile([0.3, 0.6, 0.5], 4))
    res = solve_legs(feet_fk(q_true))
    assert np.abs(np.diff(res.joint_pos, axis=0)).max() < 0.02   # no branch jumps
