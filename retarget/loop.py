"""Cut one gait cycle out of a retargeted clip and close it into a seamless loop.

The cycle is frames [start, stop) of the clip; frame `stop` is where the loop should be back at frame
`start`. What differs between the two (the closure error) is removed by a linear drift correction over
the cycle: joint angles, base height, and base roll and pitch (a fraction of the rotation between the two
tilts). Heading and horizontal position keep moving: one loop moves the root by the cycle offset, a rigid
motion G about the vertical (translation in the first frame's heading frame, plus a yaw).

Velocities are then differenced periodically, the frame after the last being G(first), so the loop has
no seam in positions or velocities. Foot positions are forward kinematics of the corrected angles. The
cycle is moved so its first frame sits over the origin heading +x (the bank's world convention).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from scipy.spatial.transform import Rotation

from retarget.derive import derive_motion
from retarget.rotations import heading_rad, yaw_matrix


def close_loop(motion, start: int, stop: int, contacts: np.ndarray | None = None):
    """A Motion holding the cycle [start, stop) of `motion` as a seamless loop (loop_mode 'wrap')."""
    n = stop - start
    if not (0 <= start and stop < motion.num_frames and n >= 3):
        raise ValueError(f"cycle {start}:{stop} needs frames up to {stop} of {motion.num_frames}")
    dt = 1.0 / motion.fps
    ramp = (np.arange(n) / n)[:, None]

    joint_pos = motion.joint_pos[start:stop] - ramp * (motion.joint_pos[stop] - motion.joint_pos[start])

    rot = Rotation.from_quat(motion.root_quat[start:stop + 1]).as_matrix()
    yaw = np.unwrap(heading_rad(rot))
    tilt = np.einsum("tji,tjk->tik", yaw_matrix(yaw), rot)             # Rz(yaw)^T R
    tilt_error = Rotation.from_matrix(tilt[n] @ tilt[0].T).as_rotvec()  # tilt[n] = E tilt[0]
    tilt = Rotation.from_rotvec(-ramp * tilt_error).as_matrix() @ tilt[:n]

    # Re-origin: the first frame over the origin heading +x.
    pos = motion.root_pos[start:stop + 1].copy()
    origin_xy, yaw0 = pos[0, :2].copy(), yaw[0]
    pos[:, :2] -= origin_xy
    pos = np.einsum("ij,tj->ti", yaw_matrix(-yaw0), pos)
    yaw = yaw - yaw0
    pos[:n, 2] -= ramp[:, 0] * (pos[n, 2] - pos[0, 2])
    pos[n, 2] = pos[0, 2]
    rot = np.einsum("tij,tjk->tik", yaw_matrix(yaw[:n]), tilt)

    # The loop's rigid motion G: frame 0 -> frame n.
    offset_yaw = float(yaw[n] - yaw[0])
    g_rot = yaw_matrix(offset_yaw)
    g_trans = pos[n] - g_rot @ pos[0]

    # Periodic central differences: the frame before the first is G^-1(last), the one after the last G(first).
    quat = Rotation.from_matrix(np.stack([g_rot.T @ rot[n - 1], g_rot @ rot[0]])).as_quat()
    before = (joint_pos[-1], g_rot.T @ (pos[n - 1] - g_trans), quat[0])
    after = (joint_pos[0], pos[n], quat[1])
    derived = derive_motion(joint_pos, pos[:n], Rotation.from_matrix(rot).as_quat(), dt, before, after)

    # Source keypoints of the same time span, moved like the robot (robot world = scale x source world).
    ratio = motion.source_fps / motion.fps
    k0, k1 = int(round(start * ratio)), int(round(stop * ratio))
    keypoints = motion.keypoints[k0:k1].copy()
    keypoints[..., :2] -= origin_xy / motion.scale
    keypoints = np.einsum("ij,tkj->tki", yaw_matrix(-yaw0), keypoints)
    s0 = motion.source_frames[0]

    return replace(
        motion, joint_pos=joint_pos, root_pos=pos[:n], **derived, keypoints=keypoints, source_frames=(s0 + k0, s0 + k1),
        foot_target_base=motion.foot_target_base[start:stop],
        contacts=None if contacts is None else np.asarray(contacts[start:stop], dtype=bool),
        loop_mode="wrap", cycle_offset_pos_m=tuple(float(x) for x in pos[n] - pos[0]),
        cycle_offset_yaw_rad=offset_yaw)
