"""Cut one gait cycle out of a retargeted clip and close it into a seamless loop, in task space.

The cycle is frames [start, stop) of the clip; frame `stop` is where the loop should be back at frame
`start`. Heading and horizontal position keep moving: one loop moves the root by the cycle offset, a rigid
motion G about the vertical (translation in the first frame's heading frame, plus a yaw). What else differs
between frame `stop` and G(frame `start`) (the closure error) is removed from the root and the foot targets,
not from joint angles (a ramp on joint angles moves the feet off their targets and off the floor):

- the root: a linear drift correction of base height and of roll and pitch (a fraction of the rotation
  between the two tilts) over the cycle;
- each foot target: its error G^-1(target[stop]) - target[start] is taken out during that foot's swings
  only, along a smooth ramp (sin^2 bumps over each swing), so planted feet stay planted;
- then IK is solved again on the corrected targets, so forward kinematics meets them as in the unclosed clip.

Velocities are differenced periodically, the frame after the last being G(first), so the loop has no seam
in positions or velocities. The cycle is moved so its first frame sits over the origin heading +x (the
bank's world convention).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from scipy.spatial.transform import Rotation

from amp_data.motion.contacts import runs
from amp_data.motion.derive import derive_motion
from retarget.foot_targets import LEG_REACH_M, STANCE_REACH_FRACTION, lateral_targets_m, root_drop_m
from retarget.ik import IkResult, solve_legs
from amp_data.motion.rotations import heading_rad, yaw_matrix


def swing_ramp(contacts: np.ndarray, last_swing_only: bool = False) -> np.ndarray:
    """(n + 1, F) from 0 at frame 0 to 1 at frame n, rising only during each foot's swing frames (smooth
    sin^2 bumps over each swing run; with `last_swing_only`, over its last swing run alone, so every stance
    before it keeps the weight 0); a foot that never swings in the n frames rises linearly."""
    c = np.asarray(contacts, dtype=bool)
    n, feet = c.shape
    inc = np.zeros((n, feet))
    for f in range(feet):   # a loop over the feet, not the frames
        swing = ~c[:, f]
        starts, stops, _ = runs(swing)
        lengths = stops - starts
        run_of = np.repeat(np.arange(len(starts)), lengths)
        pos = (np.arange(n) - starts[run_of] + 0.5) / lengths[run_of]
        inc[:, f] = np.where(swing, np.sin(np.pi * pos) ** 2, 0.0)
        if last_swing_only and swing.any():
            inc[:starts[run_of[np.flatnonzero(swing)[-1]]], f] = 0.0
    total = inc.sum(axis=0)
    inc[:, total == 0] = 1.0
    ramp = np.concatenate([np.zeros((1, feet)), np.cumsum(inc, axis=0)])
    return ramp / ramp[-1]


def close_loop(motion, start: int, stop: int, contacts: np.ndarray | None = None,
               stance_width_m: float | None = None) -> tuple[object, IkResult, float]:
    """The cycle [start, stop) of `motion` as a seamless loop (loop_mode 'wrap'), its IK result, and the
    largest foot-target correction (m) that closed it. `contacts` (T, 4): the clip's, to keep stances planted.
    `stance_width_m`: re-centre each foot's mean lateral position over the cycle on half this width (a
    clip's offsets fit the clip, not necessarily each of its strides), by one constant shift in the world
    along the cycle's mean heading, which keeps planted feet planted."""
    n = stop - start
    if not (0 <= start and stop < motion.num_frames and n >= 3):
        raise ValueError(f"cycle {start}:{stop} needs frames up to {stop} of {motion.num_frames}")
    dt = 1.0 / motion.fps
    ramp = (np.arange(n) / n)[:, None]

    rot = Rotation.from_quat(motion.root_quat[start:stop + 1]).as_matrix()
    targets = motion.root_pos[start:stop + 1, None] + np.einsum("tij,tlj->tli", rot, motion.foot_target_base[start:stop + 1])
    yaw = np.unwrap(heading_rad(rot))
    tilt = np.einsum("tji,tjk->tik", yaw_matrix(yaw), rot)             # Rz(yaw)^T R
    tilt_error = Rotation.from_matrix(tilt[n] @ tilt[0].T).as_rotvec()  # tilt[n] = E tilt[0]
    tilt = Rotation.from_rotvec(-ramp * tilt_error).as_matrix() @ tilt[:n]

    # Re-origin: the first frame over the origin heading +x; the foot targets move with the root.
    pos = motion.root_pos[start:stop + 1].copy()
    origin_xy, yaw0 = pos[0, :2].copy(), yaw[0]
    pos[:, :2] -= origin_xy
    pos = np.einsum("ij,tj->ti", yaw_matrix(-yaw0), pos)
    targets[..., :2] -= origin_xy
    targets = np.einsum("ij,tlj->tli", yaw_matrix(-yaw0), targets)
    yaw = yaw - yaw0
    pos[:n, 2] -= ramp[:, 0] * (pos[n, 2] - pos[0, 2])
    pos[n, 2] = pos[0, 2]
    rot = np.einsum("tij,tjk->tik", yaw_matrix(yaw[:n]), tilt)

    # The loop's rigid motion G: frame 0 -> frame n.
    offset_yaw = float(yaw[n] - yaw[0])
    g_rot = yaw_matrix(offset_yaw)
    g_trans = pos[n] - g_rot @ pos[0]

    # Foot targets: G^-1(target[n]) - target[0] is removed during each foot's swings; with a stance width, a
    # constant shift re-centres each foot (iterated: the closing moves the mean a little).
    cycle_contacts = None if contacts is None else np.asarray(contacts[start:stop], dtype=bool)
    # Height: corrected over each foot's last swing only, so its stances stay on the floor.
    no_contacts = np.zeros((n, 4), bool)
    weights = np.stack([swing_ramp(cycle_contacts if cycle_contacts is not None else no_contacts)] * 2
                       + [swing_ramp(cycle_contacts if cycle_contacts is not None else no_contacts, True)], axis=-1)
    heading_y = yaw_matrix(yaw[:n])[:, :, 1]                           # (n, 3) the heading frame's y axis
    mean_heading_y = yaw_matrix(float(np.arctan2(np.sin(yaw[:n]).mean(), np.cos(yaw[:n]).mean())))[:, 1]
    shift = np.zeros(4)
    for _ in range(3 if stance_width_m is not None else 1):
        moved = targets + (shift[:, None] * mean_heading_y)[None]
        foot_error = np.einsum("ji,lj->li", g_rot, moved[n] - g_trans) - moved[0]
        closed = moved[:n] - weights[:n] * foot_error[None]
        if stance_width_m is None:
            break
        lateral = np.einsum("ti,tli->tl", heading_y, closed - pos[:n, None])
        shift += lateral_targets_m(stance_width_m) - lateral.mean(axis=0)
    targets = closed
    if stance_width_m is not None and cycle_contacts is not None:   # this stride's legs within reach
        drop = root_drop_m(targets, cycle_contacts, pos[:n], rot, STANCE_REACH_FRACTION * LEG_REACH_M)
        pos = pos - np.array([0.0, 0.0, drop])
        g_trans = pos[n] - g_rot @ pos[0]
    foot_target_base = np.einsum("tji,tlj->tli", rot, targets - pos[:n, None])
    ik = solve_legs(foot_target_base, clamp_reach=True)
    joint_pos = ik.joint_pos

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

    cycle = replace(
        motion, joint_pos=joint_pos, root_pos=pos[:n], **derived, keypoints=keypoints, source_frames=(s0 + k0, s0 + k1),
        foot_target_base=foot_target_base, contacts=cycle_contacts,
        loop_mode="wrap", cycle_offset_pos_m=tuple(float(x) for x in pos[n] - pos[0]),
        cycle_offset_yaw_rad=offset_yaw)
    return cycle, ik, float(np.linalg.norm(foot_error, axis=1).max())
