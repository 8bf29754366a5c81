"""Velocities and feet derived from joint angles and the root trajectory, for all frames at once.

Central differences inside, one-sided at the ends; or, given the poses just `before` the first frame and
just `after` the last (a loop's neighbours, see retarget/loop.py), central differences everywhere.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation

from robots.go2.kinematics import feet_fk
from amp_data.motion.rotations import body_angular_velocity, continuous_quat

Pose = tuple[np.ndarray, np.ndarray, np.ndarray]   # joint_pos (12,) rad, root_pos (3,) m, root_quat (4,) xyzw


def derive_motion(joint_pos: np.ndarray, root_pos: np.ndarray, root_quat_xyzw: np.ndarray, dt: float,
                  before: Pose | None = None, after: Pose | None = None) -> dict[str, np.ndarray]:
    """joint_vel, base_lin_vel and base_ang_vel (base frame), foot_pos_base, foot_vel_base (J q_dot) and the
    sign-continuous root_quat, for joint_pos (T, 12), root_pos (T, 3) and root_quat (T, 4) sampled every dt."""
    jp = np.asarray(joint_pos, dtype=np.float64)
    rp = np.asarray(root_pos, dtype=np.float64)
    rq = np.asarray(root_quat_xyzw, dtype=np.float64)
    if (before is None) != (after is None):
        raise ValueError("give both the pose before the first frame and the one after the last, or neither")
    inner = slice(None)
    if before is not None:
        jp, rp, rq = (np.concatenate([np.asarray(b, dtype=np.float64)[None], x, np.asarray(a, dtype=np.float64)[None]])
                      for b, x, a in zip(before, (jp, rp, rq), after))
        inner = slice(1, -1)
    rq = continuous_quat(rq)
    joint_vel = np.gradient(jp, dt, axis=0)[inner]
    rot = Rotation.from_quat(rq[inner]).as_matrix()
    base_lin_vel = np.einsum("tji,tj->ti", rot, np.gradient(rp, dt, axis=0)[inner])
    base_ang_vel = body_angular_velocity(rq, dt)[inner]
    foot_pos_base, foot_jac = feet_fk(np.asarray(joint_pos, dtype=np.float64), with_jacobian=True)
    foot_vel_base = np.einsum("tlij,tlj->tli", foot_jac, joint_vel.reshape(-1, 4, 3))
    return {"joint_vel": joint_vel, "base_lin_vel": base_lin_vel, "base_ang_vel": base_ang_vel,
            "foot_pos_base": foot_pos_base, "foot_vel_base": foot_vel_base, "root_quat": rq[inner]}
