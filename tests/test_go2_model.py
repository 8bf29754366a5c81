"""The project's Go2 model against facts derived by hand from Unitree's link offsets."""

import numpy as np
import pinocchio as pin

from robots.go2.kinematics import feet_fk
from robots.go2.pinocchio_model import go2_model
from robots.go2 import FOOT_NAMES, JOINT_NAMES
from robots.go2 import build_urdf
from robots.go2.model import default_pose_rad, hard_limits_rad, soft_limits_rad


def test_joint_and_foot_names_in_canonical_order():
    assert JOINT_NAMES[:3] == ("FL_hip_joint", "FL_thigh_joint", "FL_calf_joint")
    assert [n.split("_")[0] for n in JOINT_NAMES] == [leg for leg in ("FL", "FR", "RL", "RR") for _ in range(3)]
    assert FOOT_NAMES == ("FL_foot", "FR_foot", "RL_foot", "RR_foot")
    model = go2_model()
    assert tuple(model.names[2:]) == JOINT_NAMES
    assert all(model.existFrame(f) for f in FOOT_NAMES)


def test_feet_at_zero_pose_from_link_offsets():
    # hip (+-0.1934, +-0.0465, 0) + thigh (0, +-0.0955, 0) + calf (0, 0, -0.213) + foot (0, 0, -0.213)
    expected = np.array([[0.1934, 0.142, -0.426], [0.1934, -0.142, -0.426],
                         [-0.1934, 0.142, -0.426], [-0.1934, -0.142, -0.426]])
    model = go2_model()
    data = model.createData()
    pin.framesForwardKinematics(model, data, pin.neutral(model))
    got = np.array([data.oMf[model.getFrameId(f)].translation for f in FOOT_NAMES])
    np.testing.assert_allclose(got, expected, atol=1e-12)
    np.testing.assert_allclose(feet_fk(np.zeros((1, 12)))[0], expected, atol=1e-12)


def test_knee_bend_by_hand():
    # FL thigh at 0, calf at -pi/2: the calf points forward from the knee, so the foot is 0.213 m ahead.
    q = np.zeros((1, 12))
    q[0, 2] = -np.pi / 2
    np.testing.assert_allclose(feet_fk(q)[0, 0], [0.1934 + 0.213, 0.142, -0.213], atol=1e-12)
    # FL hip abducted by +pi/2 about x: the leg points along +y.
    q = np.zeros((1, 12))
    q[0, 0] = np.pi / 2
    np.testing.assert_allclose(feet_fk(q)[0, 0], [0.1934, 0.0465 + 0.426, 0.0955], atol=1e-12)


def test_limits_mass_and_default_pose():
    model = go2_model()
    np.testing.assert_allclose(model.lowerPositionLimit[7:], hard_limits_rad()[:, 0])
    assert hard_limits_rad()[1].tolist() == [-1.5708, 3.4907]      # front thigh
    assert hard_limits_rad()[7].tolist() == [-0.5236, 4.5379]      # rear thigh
    assert hard_limits_rad()[2].tolist() == [-2.7227, -0.83776]    # calf
    soft, hard = soft_limits_rad(), hard_limits_rad()
    assert np.all(soft[:, 0] > hard[:, 0]) and np.all(soft[:, 1] < hard[:, 1])
    q0 = default_pose_rad()
    assert np.all((q0 > soft[:, 0]) & (q0 < soft[:, 1]))
    # 6.921 trunk + 4 x (0.678 hip + 1.152 thigh + 0.154 calf + 0.04 foot)
    assert abs(pin.computeTotalMass(model) - (6.921 + 4 * 2.024)) < 1e-9


def test_committed_urdf_is_what_the_generator_writes():
    assert build_urdf.URDF_PATH.read_text() == build_urdf.urdf_text()
