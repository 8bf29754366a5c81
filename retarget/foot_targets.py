"""Foot targets the Go2 can perform, from the dog's toes: its stance width, feet planted on the floor.

The dog's own proportions do not fit the Go2: it places its fore paws near its midline, its paw markers sit
11-24 mm above the floor in stance, and its limb roots slide inside its body. Each foot target is therefore
the dog's scaled toe in the world, moved by one constant offset per foot in the heading frame (yaw only,
so the offset stays horizontal), then locked to the floor while the dog's toe is in stance:

1. **Offsets** (per clip): longitudinally, the Go2's thigh joint minus the dog's mean limb-root position
   relative to the root (the feet keep the dog's placement relative to its shoulder / hip); laterally, what
   brings the foot's mean position to half the stance width (default the Go2's thigh-joint width, 0.284 m:
   the feet under the thigh joints), the fore feet 15 mm further out and the hind feet 15 mm further in
   (`FORE_HIND_SPLIT_M`); vertically, minus the toe marker's resting height, so a paw in stance
   is a foot sphere resting on the floor.
2. **Contacts** of the dog's toes (amp_data.motion.contacts, with hysteresis), which then hold for the robot.
3. **Root height**: where the dog's legs extend further than the Go2's reach allows, the root is lowered by
   one constant per clip so that 95 % of the stance legs' extensions (thigh joint to foot target) stay within
   88 % of the Go2 leg's reach with the knee at its soft limit (0.385 m), by at most 6 cm. Without it the Go2 would stand on
   straight legs and lose its hind feet at push-off (IK errors up to 77 mm in the trot segment).
4. **Stance locking**: during each stance the target sits still at the mean of its (offset) positions, with
   the sphere's bottom on the floor. In swing, the difference between the locked and the free target is
   carried from one stance to the next by a cubic Hermite curve whose slopes match the stance ends, so the
   target's velocity is continuous at lift-off and touchdown (zero there): no spike. Swing feet stay above
   the floor.

Vectorised over frames; loops run over the 4 feet only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from amp_data.motion.contacts import detect_contacts, runs
from amp_data.motion.rotations import heading_rad, yaw_matrix
from robots.go2 import LEGS
from robots.go2.model import (CALF_LENGTH_M, FOOT_RADIUS_M, HIP_OFFSET_X_M, THIGH_JOINT_BASE_M,
                              THIGH_JOINT_WIDTH_M, THIGH_LENGTH_M, leg_signs, soft_limits_rad)

GO2_STANCE_WIDTH_M = THIGH_JOINT_WIDTH_M     # default stance width: the feet under the thigh joints
STANCE_REACH_FRACTION = 0.88   # 95 % of stance legs extend at most this share of LEG_REACH_M
# Fore feet 3 cm wider apart than the stance width, hind feet 3 cm narrower (0.314 and 0.254 m for the Go2,
# both within 11 % of its thigh joints): in a fast trot the dog's hind paw lands where its fore paw just
# left, which on the Go2's shorter body makes the two legs meet; 15 mm to each side lets them pass (6 -> 9
# clean trot strides in the MANN set, 0.05 m gives 12 but leaves the Go2's width by 18 %).
FORE_HIND_SPLIT_M = 0.03
MIDLINE_MARGIN_M = 0.04  # a foot target stays at least this far on its own side of the base's x-z plane
MAX_ROOT_DROP_M = 0.06   # the root is never lowered further than this below the dog's scaled height
REST_PERCENTILE = 5.0     # a toe's resting height: this percentile of its height over the clip ...
MAX_REST_HEIGHT_M = 0.03  # ... up to this (a paw marker sits 11-24 mm up; a foot held up all clip is not resting)
# Thigh joint to foot centre with the knee at the calf's soft upper limit (least bent): 0.385 m.
LEG_REACH_M = float(np.sqrt(THIGH_LENGTH_M**2 + CALF_LENGTH_M**2
                            + 2 * THIGH_LENGTH_M * CALF_LENGTH_M * np.cos(soft_limits_rad()[2, 1])))


@dataclass(frozen=True)
class TargetConfig:
    stance_width_m: float | None = None    # None: the Go2's thigh-joint width (feet under the thigh joints)
    lock_stance: bool = True               # plant stance feet on the floor (False: the offset toes as they are)
    stance_reach_fraction: float = STANCE_REACH_FRACTION


@dataclass
class FootTargets:
    world: np.ndarray          # (T, 4, 3) m, robot world
    contacts: np.ndarray       # (T, 4) bool, from the dog's toes
    offsets_heading: np.ndarray  # (4, 3) m, per foot, heading frame (z: minus the toe's resting height)
    root_drop_m: float = 0.0     # how far the root is to be lowered (>= 0) to keep the stance legs in reach


def lock_stance(target: np.ndarray, stance: np.ndarray, fps: float, floor_z_m: float) -> np.ndarray:
    """One foot's target (T, 3) with its stances held still on the floor and smooth swings between them.

    Stance: the mean horizontal position of the run, z = floor_z_m. Swing: target + d(t), d a cubic Hermite
    from the correction at the last stance frame to that at the next stance's first frame, its slopes the
    corrections' own (so the locked target's velocity is continuous). A swing at a clip end keeps the
    correction of its one stance neighbour.
    """
    T = len(target)
    stance = np.asarray(stance, dtype=bool)
    if not stance.any():
        return target.copy()
    starts, stops, _ = runs(stance)
    lengths = stops - starts
    run_of = np.repeat(np.arange(len(starts)), lengths)
    locked = np.add.reduceat(target, starts, axis=0) / lengths[:, None]
    locked[:, 2] = floor_z_m
    d = locked[run_of] - target                       # the correction; used in stance frames
    vel = np.gradient(target, 1.0 / fps, axis=0) if T > 1 else np.zeros_like(target)
    slope = np.where(stance[:, None], -vel, 0.0)      # d' in stance (the locked point does not move)

    swing = ~stance
    out = target + np.where(stance[:, None], d, 0.0)
    if not swing.any():
        return out
    r = run_of[swing]
    a = starts[r] - 1                                 # last stance frame before (-1: none)
    b = stops[r]                                      # first stance frame after (T: none)
    has_a, has_b = a >= 0, b < T
    a_c, b_c = np.clip(a, 0, T - 1), np.clip(b, 0, T - 1)
    d0 = np.where(has_a[:, None], d[a_c], d[b_c])
    d1 = np.where(has_b[:, None], d[b_c], d0)
    m0 = np.where((has_a & has_b)[:, None], slope[a_c], 0.0)
    m1 = np.where((has_a & has_b)[:, None], slope[b_c], 0.0)
    t = np.flatnonzero(swing)
    span = np.where(has_a & has_b, b - a, 1).astype(float)
    s = np.where(has_a & has_b, (t - a) / span, 0.0)[:, None]
    h = span[:, None] / fps                           # seconds from a to b
    h00, h10, h01, h11 = 2 * s**3 - 3 * s**2 + 1, s**3 - 2 * s**2 + s, -2 * s**3 + 3 * s**2, s**3 - s**2
    out[swing] = target[swing] + h00 * d0 + h10 * h * m0 + h01 * d1 + h11 * h * m1
    out[swing, 2] = np.maximum(out[swing, 2], floor_z_m)
    return out


def lateral_targets_m(stance_width_m: float, split_m: float | None = None) -> np.ndarray:
    """(4,) each foot's mean lateral position (heading frame, from the root): half the stance width, the fore
    feet `split_m` / 2 further out and the hind feet as much further in, so a hind foot swinging past the
    fore foot of its side misses it."""
    split = FORE_HIND_SPLIT_M if split_m is None else split_m
    return np.array([leg_signs(leg)[1] * 0.5 * (stance_width_m + leg_signs(leg)[0] * split) for leg in LEGS])


def keep_off_midline(foot_y: np.ndarray, margin_m: float = MIDLINE_MARGIN_M) -> np.ndarray:
    """Lateral foot positions (..., 4) (heading frame, from the root) with left feet at y >= margin and
    right feet at y <= -margin."""
    left = np.array([leg[1] == "L" for leg in LEGS])
    return np.where(left, np.maximum(foot_y, margin_m), np.minimum(foot_y, -margin_m))


def root_drop_m(target_world: np.ndarray, contacts: np.ndarray, root_pos: np.ndarray, root_rot: np.ndarray,
                reach_m: float, percentile: float = 95.0, max_drop_m: float = MAX_ROOT_DROP_M) -> float:
    """How far to lower the root (0 ... max_drop_m) so that `percentile` of the stance legs' extension (thigh
    joint to foot target) is at most `reach_m`. Feet already out of reach horizontally (lying, stretching)
    are left out: lowering the body does not help them. Bisection on the drop (extension falls as it grows)."""
    thigh = root_pos[:, None] + np.einsum("tij,lj->tli", root_rot, THIGH_JOINT_BASE_M)
    rel = (target_world - thigh)[contacts]
    rel = rel[np.linalg.norm(rel[:, :2], axis=1) < reach_m]
    if not len(rel):
        return 0.0

    def ext(drop):
        return np.percentile(np.linalg.norm(rel + np.array([0.0, 0.0, drop]), axis=-1), percentile)

    if ext(0.0) <= reach_m:
        return 0.0
    if ext(max_drop_m) > reach_m:
        return max_drop_m
    lo, hi = 0.0, max_drop_m
    for _ in range(30):
        mid = 0.5 * (lo + hi)
        lo, hi = (lo, mid) if ext(mid) <= reach_m else (mid, hi)
    return hi


def foot_targets(toes: np.ndarray, limb_roots: np.ndarray, root_pos: np.ndarray, root_rot: np.ndarray,
                 fps: float, cfg: TargetConfig = TargetConfig()) -> FootTargets:
    """Foot-centre targets (robot world) from the dog's toes and limb roots (T, 4, 3), robot world, legs in
    canonical order, and the root pose (T, 3), (T, 3, 3)."""
    width = GO2_STANCE_WIDTH_M if cfg.stance_width_m is None else float(cfg.stance_width_m)
    heading = yaw_matrix(heading_rad(root_rot))                       # (T, 3, 3)
    toe_rel = np.einsum("tji,tlj->tli", heading, toes - root_pos[:, None])
    root_rel = np.einsum("tji,tlj->tli", heading, limb_roots - root_pos[:, None])
    offsets = np.zeros((4, 3))
    for i, leg in enumerate(LEGS):
        sx, sy = leg_signs(leg)
        offsets[i, 0] = sx * HIP_OFFSET_X_M - root_rel[:, i, 0].mean()
        offsets[i, 1] = lateral_targets_m(width)[i] - toe_rel[:, i, 1].mean()
        rest = np.percentile(toes[:, i, 2], REST_PERCENTILE) - FOOT_RADIUS_M
        offsets[i, 2] = -float(np.clip(rest, 0.0, MAX_REST_HEIGHT_M))
    free = toes + np.einsum("tij,lj->tli", heading, offsets)
    contacts = detect_contacts(free, fps)
    world = free
    if cfg.lock_stance:
        world = np.stack([lock_stance(free[:, i], contacts[:, i], fps, FOOT_RADIUS_M) for i in range(4)], axis=1)
    reach = cfg.stance_reach_fraction * LEG_REACH_M
    return FootTargets(world, contacts, offsets, root_drop_m(world, contacts, root_pos, root_rot, reach))
