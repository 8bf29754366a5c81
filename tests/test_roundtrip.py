"""Round trip: a known Go2 trajectory written as BVH on a Go2-proportioned skeleton retargets back to itself."""

import numpy as np
import pinocchio as pin
import pytest
from scipy.spatial.transform import Rotation

from retarget.go2_bvh import write_go2_bvh
from robots.go2.pinocchio_model import go2_model
from retarget.pipeline import RetargetConfig, retarget_clip
from amp_data.motion.rotations import yaw_matrix
from retarget.skeleton_map import MAPS_DIR
from robots.go2 import FOOT_NAMES
from robots.go2.model import FOOT_RADIUS_M, default_pose_rad

FPS = 50.0


def known_trajectory(T=250, seed=0):
    """A trotting-like joint trajectory with a moving, turning, rocking base whose lowest foot rests on
    the floor every frame. Foot heights come from pinocchio's FK, not the code under test."""
    rng = np.random.default_rng(seed)
    t = np.arange(T) / FPS
    phase = np.array([0.0, np.pi, np.pi, 0.0])  # trot: diagonal pairs together
    amp = np.array([0.12, 0.35, 0.3])
    joint_pos = np.empty((T, 12))
    for i in range(4):
        for k in range(3):
            joint_pos[:, 3 * i + k] = (default_pose_rad()[3 * i + k]
                                       + amp[k] * np.sin(2 * np.pi * 2.0 * t + phase[i] + 0.7 * k)
                                       + 0.02 * rng.standard_normal())
    yaw = 0.8 + 0.6 * np.sin(0.9 * t)
    rot = Rotation.from_euler("ZYX", np.stack([yaw, 0.08 * np.sin(3 * t), 0.06 * np.cos(2.3 * t)], 1))
    root_pos = np.stack([0.5 * t + 1.0, 0.1 * np.sin(t) - 2.0, np.zeros(T)], axis=1)
    model = go2_model()
    data = model.createData()
    ids = [model.getFrameId(f) for f in FOOT_NAMES]
    q = pin.neutral(model)
    lowest = np.empty(T)
    for f in range(T):
        q[7:] = joint_pos[f]
        pin.framesForwardKinematics(model, data, q)
        feet_base = np.array([data.oMf[i].translation for i in ids])
        lowest[f] = (rot[f].as_matrix() @ feet_base.T)[2].min()
    root_pos[:, 2] = FOOT_RADIUS_M - lowest
    return joint_pos, root_pos, rot


@pytest.fixture(scope="module")
def roundtrip(tmp_path_factory):
    joint_pos, root_pos, rot = known_trajectory()
    path = write_go2_bvh(tmp_path_factory.mktemp("rt") / "go2.bvh", joint_pos, root_pos, rot.as_quat(), FPS)
    motion, quality = retarget_clip(path, RetargetConfig(fps=FPS, map_path=MAPS_DIR / "go2.toml"))
    return joint_pos, root_pos, rot, motion, quality


def test_joint_trajectory_comes_back(roundtrip):
    joint_pos, _, _, motion, quality = roundtrip
    assert motion.joint_pos.shape == joint_pos.shape
    assert np.abs(motion.joint_pos - joint_pos).max() < 0.01
    assert quality.limit_clamps == 0
    assert quality.foot_error_max_mm < 0.1


def test_root_pose_comes_back_in_the_aligned_world(roundtrip):
    _, root_pos, rot, motion, _ = roundtrip
    # The retargeter puts frame 0's base above the origin, heading +x.
    r0 = rot[0].as_matrix()
    align = yaw_matrix(-np.arctan2(r0[1, 0], r0[0, 0]))
    expected_pos = (align @ (root_pos - [root_pos[0, 0], root_pos[0, 1], 0.0]).T).T
    assert np.abs(motion.root_pos - expected_pos).max() < 1e-4
    expected_rot = align @ rot.as_matrix()
    got_rot = Rotation.from_quat(motion.root_quat).as_matrix()
    assert np.abs(got_rot - expected_rot).max() < 1e-4


def test_roundtrip_with_resampling(tmp_path):
    """Written at 100 fps, retargeted at 50: every other frame, which linear resampling hits exactly."""
    joint_pos, root_pos, rot = known_trajectory(T=201, seed=1)
    path = write_go2_bvh(tmp_path / "go2_100.bvh", joint_pos, root_pos, rot.as_quat(), 100.0)
    motion, _ = retarget_clip(path, RetargetConfig(fps=50.0, map_path=MAPS_DIR / "go2.toml"))
    assert motion.joint_pos.shape == (101, 12)
    assert np.abs(motion.joint_pos - joint_pos[::2]).max() < 0.01
