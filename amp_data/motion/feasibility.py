"""Can the Go2 perform this motion? Stance width, feet on the floor, slip, leg clearance, per clip.

The figures a roboticist checks before training on a bank (all from the bank's own arrays, so they apply
to any bank, retargeted or imported):

- **stance width** (m): the lateral distance between the left and right foot of a girdle in the base frame
  (y_left - y_right), mean and minimum over the clip's frames, beside the Go2's thigh-joint width (0.284 m);
- **midline crossings**: frames on which some foot lies on the other side of the base's x-z plane;
- **stance height** (mm): the foot sphere's bottom above the floor (z = 0 in a bank's world) on the frames
  `contacts` calls stance; median, and the share above 5 mm and above 15 mm;
- **slip** (mm/s): the median horizontal world speed of stance feet, from the position differences of
  consecutive stance frames; and the dog's own toes' speed (scaled to the robot) on the same frame pairs,
  where the bank keeps the source keypoints;
- **leg clearance** (mm): the smallest distance between the collision shapes of two different legs. The
  legs' geoms (`robots/go2/go2.xml`) are approximated by capsules: thigh joint to knee (radius
  `THIGH_RADIUS_M`, the thigh box's half depth), knee to foot centre (`CALF_RADIUS_M`), and the foot sphere;
- peaks of |joint velocity| and |base angular velocity|, and the FL hip's range.

Everything is vectorised over frames.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from itertools import combinations

import numpy as np
from scipy.spatial.transform import Rotation

from robots.go2.kinematics import legs_points_fk
from robots.go2.model import FOOT_RADIUS_M, THIGH_JOINT_WIDTH_M

ROBOT_STANCE_WIDTH_M = THIGH_JOINT_WIDTH_M   # the Go2's thigh joints, 0.284 m apart
THIGH_RADIUS_M = 0.017     # half the thigh box's 0.034 m depth
CALF_RADIUS_M = 0.013      # the rear calf cylinder's radius (front 0.012)
CLEARANCE_MIN_M = 0.030    # legs closer than this count as a clearance violation
STANCE_HIGH_MM = (5.0, 15.0)
TOE_KEYPOINTS = ("LeftHand_end", "RightHand_end", "LeftFoot_end", "RightFoot_end")   # MANN map, FL FR RL RR


@dataclass(frozen=True)
class Feasibility:
    frames: int
    fore_width_m: float
    hind_width_m: float
    fore_width_min_m: float
    hind_width_min_m: float
    robot_width_m: float
    midline_crossing_frames: int
    stance_height_median_mm: float
    stance_above_5mm: float          # share of stance foot-frames with the sphere bottom > 5 mm above the floor
    stance_above_15mm: float
    slip_mm_s: float                 # robot: median horizontal speed of stance feet
    dog_slip_mm_s: float             # the dog's scaled toes on the same frames; NaN without source keypoints
    min_clearance_mm: float
    clearance_violations: int        # frames with two legs closer than CLEARANCE_MIN_M
    fl_hip_min_rad: float
    fl_hip_max_rad: float
    max_joint_vel_rad_s: float
    max_ang_vel_rad_s: float

    def as_dict(self) -> dict:
        return asdict(self)


# --- geometry ---------------------------------------------------------------------------------------

def segment_distance(p0: np.ndarray, p1: np.ndarray, q0: np.ndarray, q1: np.ndarray) -> np.ndarray:
    """Smallest distance between segments [p0, p1] and [q0, q1], broadcast over leading axes (..., 3).

    The clamped closed form of Ericson, Real-Time Collision Detection, 5.1.9 (degenerate segments too).
    """
    d1, d2, r = p1 - p0, q1 - q0, p0 - q0
    a = np.einsum("...i,...i", d1, d1)
    e = np.einsum("...i,...i", d2, d2)
    f = np.einsum("...i,...i", d2, r)
    c = np.einsum("...i,...i", d1, r)
    b = np.einsum("...i,...i", d1, d2)
    eps = 1e-12
    denom = a * e - b * b
    s = np.where(denom > eps, np.clip((b * f - c * e) / np.where(denom > eps, denom, 1.0), 0.0, 1.0), 0.0)
    s = np.where(a > eps, s, 0.0)
    t = np.where(e > eps, (b * s + f) / np.where(e > eps, e, 1.0), 0.0)
    # t outside [0, 1]: clamp it and recompute s for the clamped t.
    t_clamped = np.clip(t, 0.0, 1.0)
    s_re = np.where(a > eps, np.clip((t_clamped * b - c) / np.where(a > eps, a, 1.0), 0.0, 1.0), 0.0)
    s = np.where((t < 0.0) | (t > 1.0) | (e <= eps), s_re, s)   # (a point [q0, q1]: t = 0)
    t = t_clamped
    diff = (p0 + s[..., None] * d1) - (q0 + t[..., None] * d2)
    return np.linalg.norm(diff, axis=-1)


def leg_capsules(joint_pos: np.ndarray) -> list[tuple[np.ndarray, np.ndarray, float]]:
    """Per leg (FL, FR, RL, RR) a list of capsules (start (T, 3), end (T, 3), radius) in the base frame."""
    pts = legs_points_fk(np.asarray(joint_pos, dtype=np.float64))   # (T, 4, 4, 3): hip, thigh, knee, foot
    return [[(pts[:, leg, 1], pts[:, leg, 2], THIGH_RADIUS_M),
             (pts[:, leg, 2], pts[:, leg, 3], CALF_RADIUS_M),
             (pts[:, leg, 3], pts[:, leg, 3], FOOT_RADIUS_M)] for leg in range(4)]


def leg_clearance_m(joint_pos: np.ndarray) -> np.ndarray:
    """(T,) the smallest surface distance between any two legs' capsules (negative: they overlap)."""
    legs = leg_capsules(joint_pos)
    best = np.full(len(joint_pos), np.inf)
    for a, b in combinations(range(4), 2):
        for p0, p1, rp in legs[a]:
            for q0, q1, rq in legs[b]:
                best = np.minimum(best, segment_distance(p0, p1, q0, q1) - rp - rq)
    return best


# --- the figures -----------------------------------------------------------------------------------

def dog_toes_xy(keypoints: np.ndarray, names, source_fps: float, fps: float, num_frames: int,
                scale: float) -> np.ndarray | None:
    """(num_frames, 4, 2) the dog's toes in the plane (scaled to the robot) at the bank's frame times."""
    idx = [list(names).index(n) for n in TOE_KEYPOINTS if n in names]
    if len(idx) != 4 or len(keypoints) < 2:
        return None
    toes = keypoints[:, idx, :2] * scale
    t_src = np.arange(len(toes)) / source_fps
    t = np.minimum(np.arange(num_frames) / fps, t_src[-1])
    out = np.empty((num_frames, 4, 2))
    for k in range(4):
        for axis in range(2):
            out[:, k, axis] = np.interp(t, t_src, toes[:, k, axis])
    return out


def stance_speed_mm_s(xy: np.ndarray, contacts: np.ndarray, fps: float) -> np.ndarray:
    """Horizontal speeds (mm/s) between consecutive frames on which a foot is in stance on both: the
    position differences themselves (not a sum of differenced base and joint velocities, whose
    discretisation errors read as slip)."""
    both = contacts[1:] & contacts[:-1]
    speed = np.linalg.norm(np.diff(xy, axis=0), axis=-1) * fps * 1e3
    return speed[both]


def assess_arrays(data: dict[str, np.ndarray], fps: float, dog_toes_xy: np.ndarray | None = None) -> Feasibility:
    """The figures of one clip's arrays (bank datasets: joint_pos ... contacts, frames in time order);
    `dog_toes_xy` (T, 4, 2): the dog's scaled toes on the same frames."""
    joint_pos = data["joint_pos"]
    feet_base = data["foot_pos_base"]
    contacts = np.asarray(data["contacts"], dtype=bool)
    rot = Rotation.from_quat(data["root_quat"]).as_matrix()
    feet_world = data["root_pos"][:, None] + np.einsum("tij,tlj->tli", rot, feet_base)
    fore = feet_base[:, 0, 1] - feet_base[:, 1, 1]
    hind = feet_base[:, 2, 1] - feet_base[:, 3, 1]
    crossing = (feet_base[:, [0, 2], 1] < 0).any(axis=1) | (feet_base[:, [1, 3], 1] > 0).any(axis=1)
    height_mm = (feet_world[..., 2] - FOOT_RADIUS_M) * 1e3
    stance_h = height_mm[contacts]
    slip = stance_speed_mm_s(feet_world[..., :2], contacts, fps)
    dog_slip = None if dog_toes_xy is None else stance_speed_mm_s(dog_toes_xy, contacts, fps)
    clearance = leg_clearance_m(joint_pos)
    nan = float("nan")
    return Feasibility(
        frames=len(joint_pos),
        fore_width_m=float(fore.mean()), hind_width_m=float(hind.mean()),
        fore_width_min_m=float(fore.min()), hind_width_min_m=float(hind.min()),
        robot_width_m=ROBOT_STANCE_WIDTH_M,
        midline_crossing_frames=int(crossing.sum()),
        stance_height_median_mm=float(np.median(stance_h)) if stance_h.size else nan,
        stance_above_5mm=float(np.mean(stance_h > STANCE_HIGH_MM[0])) if stance_h.size else nan,
        stance_above_15mm=float(np.mean(stance_h > STANCE_HIGH_MM[1])) if stance_h.size else nan,
        slip_mm_s=float(np.median(slip)) if slip.size else nan,
        dog_slip_mm_s=float(np.median(dog_slip)) if dog_slip is not None and dog_slip.size else nan,
        min_clearance_mm=float(clearance.min() * 1e3),
        clearance_violations=int(np.sum(clearance < CLEARANCE_MIN_M)),
        fl_hip_min_rad=float(joint_pos[:, 0].min()), fl_hip_max_rad=float(joint_pos[:, 0].max()),
        max_joint_vel_rad_s=float(np.abs(data["joint_vel"]).max()),
        max_ang_vel_rad_s=float(np.linalg.norm(data["base_ang_vel"], axis=1).max()),
    )


def assess_clip(bank, clip=0) -> Feasibility:
    """The figures of one clip of an amp_data.format.bank.Bank (the dog's slip from its source keypoints)."""
    c = bank.clip(clip)
    d = bank.clip_data(c)
    dog = None
    if bank.keypoints is not None and c.keypoint_stop > c.keypoint_start:
        src_fps = float(bank.attrs.get("source_fps", 0) or 0)
        scale = float(bank.attrs.get("scale", 0) or 0)
        if src_fps > 0 and scale > 0:
            dog = dog_toes_xy(bank.keypoints[c.keypoint_start:c.keypoint_stop], bank.keypoint_names,
                              src_fps, bank.fps, c.num_frames, scale)
    return assess_arrays(d, bank.fps, dog)
