"""BVH clip -> Go2 motion: ground, affine transform, root pose, IK, derived quantities, quality.

Every step works on all frames at once. Frames of the world used here:
- file: the BVH's own axes and units.
- world: metres, z up, the clip's floor at z = 0, origin under the dog's root at the first selected
  frame, +x the dog's heading there. `source/keypoints` are stored in this frame.
- robot world: the world scaled by `scale` about its origin, then raised by the foot radius, so a
  toe on the floor becomes a foot sphere resting on it: p_robot = scale * p_world + (0, 0, r_foot).
- base: the Go2 trunk frame (x forward, y left, z up) at root_pos / root_quat.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

from amp_data.motion.contacts import feet_world_m
from amp_data.format.bank import MAX_FPS, MAX_POSITION_M
from amp_data.errors import InputError
from amp_data.motion.feasibility import Feasibility, assess_arrays
from retarget import bvh
from retarget.foot_targets import GO2_STANCE_WIDTH_M, TargetConfig, foot_targets, keep_off_midline
from retarget.ik import solve_legs
from amp_data.motion.derive import derive_motion
from amp_data.motion.rotations import heading_rad, yaw_matrix
from retarget.skeleton_map import DEFAULT_MAP, SkeletonMap, load_map
from robots.go2 import FOOT_NAMES, JOINT_NAMES
from robots.go2.model import FOOT_RADIUS_M, THIGH_JOINT_BASE_M

MAX_BODY_PITCH_DEG = 70.0  # median pelvis->neck pitch above this: not a quadruped (MANN dogs: <= 51 sitting)


@dataclass(frozen=True)
class RetargetConfig:
    fps: float = 50.0
    frames: tuple[int, int] | None = None   # source frames [start, end), Python slice semantics
    scale: float | None = None              # None: the skeleton map's
    map_path: Path = DEFAULT_MAP
    ground_percentile: float = 5.0
    cycle: str | None = None                # cut the best single cycle of this gait (amp_data.motion.cycle_select)
    stance_width_m: float | None = None     # None: the skeleton map's, else the Go2's thigh-joint width


@dataclass
class Motion:
    """One retargeted clip: what a bank holds (see amp_data/SCHEMA.md)."""

    fps: float
    joint_pos: np.ndarray        # (T, 12) rad
    joint_vel: np.ndarray        # (T, 12) rad/s
    root_pos: np.ndarray         # (T, 3) m, robot world
    root_quat: np.ndarray        # (T, 4) xyzw, sign-continuous
    base_lin_vel: np.ndarray     # (T, 3) m/s, base frame
    base_ang_vel: np.ndarray     # (T, 3) rad/s, base frame
    foot_pos_base: np.ndarray    # (T, 4, 3) m
    foot_vel_base: np.ndarray    # (T, 4, 3) m/s
    keypoints: np.ndarray        # (T_src, K, 3) m, world, unscaled, source rate
    keypoint_names: tuple[str, ...]
    keypoint_parents: np.ndarray  # (K,) int, -1 for the root
    source_fps: float
    source_file: str
    source_sha256: str
    source_frames: tuple[int, int]
    scale: float
    ground_height_m: float       # floor height in the file's vertical axis, metres
    foot_target_base: np.ndarray  # (T, 4, 3) m: the IK targets (not stored in the bank)
    joint_names: tuple[str, ...] = JOINT_NAMES
    foot_names: tuple[str, ...] = FOOT_NAMES
    attrs: dict = field(default_factory=dict)
    contacts: np.ndarray | None = None       # (T, 4) bool; None: the bank detects them
    loop_mode: str = "clamp"                  # "wrap": one gait cycle, closed (retarget/loop.py)
    cycle_offset_pos_m: tuple[float, float, float] = (0.0, 0.0, 0.0)
    cycle_offset_yaw_rad: float = 0.0

    @property
    def num_frames(self) -> int:
        return self.joint_pos.shape[0]


@dataclass(frozen=True)
class Quality:
    clip: str
    frames: int
    duration_s: float
    foot_error_median_mm: float
    foot_error_max_mm: float
    foot_error_stance_max_mm: float   # the same on stance feet only (a swing foot may miss at full stretch)
    limit_clamps: int            # (frame, joint) pairs held at a soft limit by the target
    feasibility: Feasibility     # stance width, feet on the floor, slip (Go2 and dog), clearance, peaks
    cycle: str = ""              # with --cycle: the cycle found (gait, period, frames, closure)
    closure_mm: float = float("nan")   # with --cycle: the largest foot-target move that closed the loop

    @property
    def stance_slip_mm_s(self) -> float:
        return self.feasibility.slip_mm_s

    @property
    def source_slip_mm_s(self) -> float:
        return self.feasibility.dog_slip_mm_s

    @property
    def max_ang_vel_rad_s(self) -> float:
        return self.feasibility.max_ang_vel_rad_s

    def as_attrs(self) -> dict:
        """Flat numbers to store with the bank (group `quality`, SCHEMA.md)."""
        out = {k: v for k, v in self.feasibility.as_dict().items() if k != "frames"}
        out.update(ik_error_median_mm=self.foot_error_median_mm, ik_error_max_mm=self.foot_error_max_mm,
                   ik_error_stance_max_mm=self.foot_error_stance_max_mm, limit_clamps=self.limit_clamps,
                   closure_mm=self.closure_mm)
        return out


MAX_OUTPUT_FRAMES = 1_000_000    # 5.5 h at 50 fps; a bank's arrays then take about 1.5 GB in memory


def check_retarget_numbers(fps: float, scale: float | None = None, stance_width_m: float | None = None,
                           cycle: str | None = None) -> None:
    """The retarget's numeric options, checked before any file is read or written."""
    from amp_data.motion.cycle_select import CYCLE_GAITS

    if not (0 < fps <= MAX_FPS):
        raise InputError(None, f"--fps must be in (0, {MAX_FPS:g}] Hz, got {fps:g}")
    if scale is not None and not (0 < scale < 100):
        raise InputError(None, f"--scale must be a positive number below 100, got {scale:g}")
    if stance_width_m is not None and not (0.05 <= stance_width_m <= 1.0):
        raise InputError(None, f"--stance-width must be between 0.05 and 1.0 m, got {stance_width_m:g}")
    if cycle is not None and cycle not in CYCLE_GAITS:
        raise InputError(None, f"--cycle {cycle!r}: choose one of {', '.join(CYCLE_GAITS)}")


def parse_frames(text: str, path: Path | None = None) -> tuple[int | None, int | None]:
    """'A:B', 'A:' or ':B' -> (A, B); Python slice semantics, no negative indices."""
    parts = text.split(":")
    if len(parts) != 2:
        raise InputError(path, f"--frames {text!r}: expected START:END, e.g. 100:400")
    try:
        start, end = (int(p) if p.strip() else None for p in parts)
    except ValueError:
        raise InputError(path, f"--frames {text!r}: START and END must be integers") from None
    if (start is not None and start < 0) or (end is not None and end < 0):
        raise InputError(path, f"--frames {text!r}: negative frame numbers are not allowed")
    return start, end


def select_frames(path: Path, num_frames: int, frames: tuple[int | None, int | None] | None) -> tuple[int, int]:
    start, end = (None, None) if frames is None else frames
    start = 0 if start is None else start
    end = num_frames if end is None else end
    if start >= end:
        raise InputError(path, f"frame range {start}:{end} is empty: END must be greater than START")
    if not (0 <= start and end <= num_frames):
        raise InputError(path, f"frame range {start}:{end} is outside the clip's {num_frames} frames (0:{num_frames})")
    if end - start < 2:
        raise InputError(path, f"frame range {start}:{end} holds fewer than 2 frames")
    return start, end


def resample(x: np.ndarray, src_fps: float, dst_fps: float) -> np.ndarray:
    """Linear interpolation along axis 0 from src_fps to dst_fps, same start time, no extrapolation."""
    n = x.shape[0]
    n_out = int(np.floor((n - 1) * dst_fps / src_fps + 1e-9)) + 1
    s = np.arange(n_out) * (src_fps / dst_fps)
    i0 = np.minimum(np.floor(s).astype(int), n - 1)
    i1 = np.minimum(i0 + 1, n - 1)
    w = (s - i0).reshape((-1,) + (1,) * (x.ndim - 1))
    return (1 - w) * x[i0] + w * x[i1]


def root_pose(kp: np.ndarray, idx: dict[str, int], smap: SkeletonMap) -> tuple[np.ndarray, np.ndarray]:
    """Root position (T, 3) and rotation matrices (T, 3, 3) from pelvis, neck, shoulders and hips."""
    shoulders = kp[:, [idx[n] for n in smap.shoulders]]
    hips = kp[:, [idx[n] for n in smap.hips]]
    forward = kp[:, idx[smap.neck]] - kp[:, idx[smap.pelvis]]
    left = (shoulders[:, 0] - shoulders[:, 1]) + (hips[:, 0] - hips[:, 1])
    x = forward / np.linalg.norm(forward, axis=1, keepdims=True)
    z = np.cross(x, left)
    z /= np.linalg.norm(z, axis=1, keepdims=True)
    y = np.cross(z, x)
    pos = 0.5 * (shoulders.mean(axis=1) + hips.mean(axis=1))
    return pos, np.stack([x, y, z], axis=-1)


def _check_quadruped(path: Path, names: tuple[str, ...], kp: np.ndarray, smap: SkeletonMap) -> dict[str, int]:
    missing = [n for n in smap.required_joints if n not in names]
    if missing:
        raise InputError(path, f"skeleton is not a quadruped the map {smap.name!r} knows: no joint(s) "
                               f"{', '.join(missing)}")
    idx = {n: i for i, n in enumerate(names)}
    axis = kp[:, idx[smap.neck]] - kp[:, idx[smap.pelvis]]
    pitch = np.degrees(np.arctan2(axis[:, 2], np.linalg.norm(axis[:, :2], axis=1)))
    if np.median(np.abs(pitch)) > MAX_BODY_PITCH_DEG:
        raise InputError(path, f"skeleton is not a quadruped: its {smap.pelvis}->{smap.neck} axis stands "
                               f"{np.median(np.abs(pitch)):.0f} deg from horizontal (a biped?)")
    return idx


def dog_keypoints(clip: bvh.BvhClip, smap: SkeletonMap, start: int, end: int, ground_percentile: float = 5.0):
    """World-frame keypoints (T, J, 3) m of the selected frames, name->index, and the floor height (m)."""
    kp_file = bvh.forward_kinematics(clip, slice(start, end))
    kp = np.einsum("ij,tkj->tki", smap.world_from_file, kp_file) * smap.units_to_m
    if not np.isfinite(kp).all() or np.abs(kp).max() > MAX_POSITION_M:
        raise InputError(clip.path, f"joint positions are not finite or lie beyond {MAX_POSITION_M:g} m: "
                                    "corrupt channel values or offsets?")
    idx = _check_quadruped(clip.path, clip.skeleton.names, kp, smap)
    toes_z = kp[:, [idx[n] for n in smap.toes], 2]
    ground = float(np.percentile(toes_z.min(axis=1), ground_percentile))
    kp[..., 2] -= ground
    pos0, rot0 = root_pose(kp[:1], idx, smap)
    yaw0 = heading_rad(rot0[0])
    kp[..., :2] -= pos0[0, :2]
    kp = np.einsum("ij,tkj->tki", yaw_matrix(-yaw0), kp)
    return kp, idx, ground


def retarget_clip(path: str | Path, cfg: RetargetConfig = RetargetConfig(), smap: SkeletonMap | None = None):
    """Retarget one BVH clip. Returns (Motion, Quality); raises InputError for bad input."""
    path = Path(path)
    smap = smap or load_map(cfg.map_path)
    scale = smap.scale if cfg.scale is None else cfg.scale
    if not (scale > 0 and np.isfinite(scale)):
        raise InputError(None, f"--scale must be a positive number, got {scale}")
    if not (cfg.fps > 0 and np.isfinite(cfg.fps)):
        raise InputError(None, f"--fps must be a positive number, got {cfg.fps}")
    clip = bvh.read_bvh(path)
    start, end = select_frames(path, clip.num_frames, cfg.frames)
    out_frames = (end - start - 1) * cfg.fps / clip.fps + 1
    if out_frames > MAX_OUTPUT_FRAMES:
        raise InputError(path, f"{end - start} frames at {clip.fps:g} fps resampled to {cfg.fps:g} fps would be "
                               f"{out_frames:,.0f} frames, over the limit of {MAX_OUTPUT_FRAMES:,} (Frame Time "
                               f"{1 / clip.fps:g} s: is it right?)")
    kp, idx, ground = dog_keypoints(clip, smap, start, end, cfg.ground_percentile)

    # Affine transform to the robot world: scale about the origin, toe-on-floor -> foot sphere on floor.
    kp_robot = resample(kp, clip.fps, cfg.fps) * scale
    kp_robot[..., 2] += FOOT_RADIUS_M
    if kp_robot.shape[0] < 2:
        raise InputError(path, f"frame range {start}:{end} is shorter than one frame at {cfg.fps:g} fps")
    dt = 1.0 / cfg.fps
    root_pos, root_rot = root_pose(kp_robot, idx, smap)

    limb_roots = kp_robot[:, [idx[n] for n in smap.limb_roots]]
    toes = kp_robot[:, [idx[n] for n in smap.toes]]
    heading = yaw_matrix(heading_rad(root_rot))
    contacts = None
    stance_width = cfg.stance_width_m if cfg.stance_width_m is not None else smap.stance_width_m
    if smap.foot_targets == "planted":
        targets = foot_targets(toes, limb_roots, root_pos, root_rot, cfg.fps, TargetConfig(stance_width_m=stance_width))
        target_world, contacts = targets.world, targets.contacts
        root_pos = root_pos - np.array([0.0, 0.0, targets.root_drop_m])
    else:
        # The Go2 thigh joint plus the dog's scaled limb-root-to-toe vector, at the toe's own height.
        thigh_world = root_pos[:, None] + np.einsum("tij,lj->tli", root_rot, THIGH_JOINT_BASE_M)
        target_world = thigh_world + (toes - limb_roots)
        target_world[..., 2] = toes[..., 2]
    target_world = target_world + np.einsum("tij,lj->tli", heading, smap.foot_offset_m)
    if smap.foot_targets == "planted":
        # No foot on the other side of the body (turning on the spot): a horizontal move along the heading
        # frame's y, so a foot on the floor stays on it.
        heading_y = heading[:, :, 1]
        lateral = np.einsum("ti,tli->tl", heading_y, target_world - root_pos[:, None])
        target_world = target_world + (keep_off_midline(lateral) - lateral)[..., None] * heading_y[:, None]
    foot_target_base = np.einsum("tji,tlj->tli", root_rot, target_world - root_pos[:, None])

    ik = solve_legs(foot_target_base, clamp_reach=True)
    joint_pos = ik.joint_pos
    derived = derive_motion(joint_pos, root_pos, Rotation.from_matrix(root_rot).as_quat(), dt)

    motion = Motion(
        fps=float(cfg.fps), joint_pos=joint_pos, root_pos=root_pos, **derived, keypoints=kp, keypoint_names=clip.skeleton.names,
        keypoint_parents=clip.skeleton.parents,
        source_fps=clip.fps, source_file=path.name, source_sha256=clip.sha256,
        source_frames=(start, end), scale=float(scale), ground_height_m=ground, foot_target_base=foot_target_base,
        attrs={"skeleton_map": smap.name, "foot_targets": smap.foot_targets}, contacts=contacts,
    )
    if cfg.cycle is None:
        return motion, assess(motion, ik.foot_error_m, ik.at_limit, toes)
    width = None
    if smap.foot_targets == "planted":
        width = GO2_STANCE_WIDTH_M if stance_width is None else stance_width
    cycle_motion, cycle_ik, (a, b), note, closure_m = cut_cycle(motion, cfg.cycle, path, width)
    quality = assess(cycle_motion, cycle_ik.foot_error_m, cycle_ik.at_limit, toes[a:b])
    return cycle_motion, replace(quality, cycle=note, closure_mm=closure_m * 1e3)


def cut_cycle(motion: Motion, gait: str, path: Path, stance_width_m: float | None = None):
    """The best `gait` cycle of a motion as a closed loop: (Motion, IkResult, (start, stop), one-line
    description, closure in m)."""
    from amp_data.motion.cycle_select import choose_cycle, cycle_state
    from amp_data.motion.gait import analyze
    from retarget.loop import close_loop

    contacts = motion_contacts(motion)
    report = analyze(contacts, motion.root_pos, motion.root_quat, motion.foot_pos_base, motion.base_lin_vel,
                     motion.fps)
    state = cycle_state(motion.joint_pos, motion.joint_vel, motion.root_pos, motion.root_quat,
                        motion.base_lin_vel, motion.base_ang_vel)
    try:
        choice = choose_cycle(report, state, gait)
    except ValueError as e:
        raise InputError(path, f"--cycle {gait}: {e}") from None
    cycle, ik, closure_m = close_loop(motion, choice.start, choice.stop, contacts, stance_width_m)
    cycle.attrs["cycle"] = gait
    c = choice.cycle
    note = (f"{c.label} {(choice.stop - choice.start) / motion.fps:.2f} s, frames {choice.start}:{choice.stop} "
            f"of {choice.candidates}, closure {choice.closure:.2f}, periodicity {choice.periodicity:.2f}, "
            f"foot targets moved <= {closure_m * 1e3:.0f} mm")
    return cycle, ik, (choice.start, choice.stop), note, closure_m


def feet_world(motion: Motion) -> np.ndarray:
    return feet_world_m(motion.root_pos, motion.root_quat, motion.foot_pos_base)


def motion_contacts(motion: Motion) -> np.ndarray:
    """The motion's contacts: the dog's (planted targets), else detected from the robot's feet."""
    if motion.contacts is not None:
        return np.asarray(motion.contacts, dtype=bool)
    from amp_data.motion.contacts import bank_contacts
    return bank_contacts(motion.root_pos, motion.root_quat, motion.foot_pos_base, motion.fps)


def assess(motion: Motion, foot_error_m: np.ndarray, at_limit: np.ndarray, toes_robot_world: np.ndarray) -> Quality:
    """Quality of a motion; `toes_robot_world` (T, 4, 3): the dog's scaled toes on the motion's frames."""
    data = {k: getattr(motion, k) for k in ("joint_pos", "joint_vel", "root_pos", "root_quat", "base_lin_vel",
                                            "base_ang_vel", "foot_pos_base", "foot_vel_base")}
    data["contacts"] = motion_contacts(motion)
    return Quality(
        clip=Path(motion.source_file).stem,
        frames=motion.num_frames,
        duration_s=(motion.num_frames - 1) / motion.fps,
        foot_error_median_mm=float(np.median(foot_error_m) * 1e3),
        foot_error_max_mm=float(foot_error_m.max() * 1e3),
        foot_error_stance_max_mm=float(foot_error_m[data["contacts"]].max() * 1e3) if data["contacts"].any() else 0.0,
        limit_clamps=int(at_limit.sum()),
        feasibility=assess_arrays(data, motion.fps, toes_robot_world[..., :2]),
    )
