"""A clearance floor under the feedforward's swing feet (`env.feedforward_swing_clearance_m`).

The dog carries its walk's hind paws forward a few millimetres above the floor: over the last two fifths of
the rear-left swing the walk bank's paw centre is at 24-25 mm against 24 mm at rest (benchmarks/
swing_profile.py). Played as the Go2's feedforward, such a swing lands as soon as the base sags a little, a
fifth of a cycle early, and the dog's lateral-couplets walk becomes a lateral-sequence one
(benchmarks/clock_match.py's touchdown lag). Here each gait clock's mean joint angles are changed where a foot
is scheduled in swing and the dog's foot is below a floor of `clearance_m * sin(pi s)` above its stance
height (s: the share of the scheduled swing gone, 0 at lift-off, 1 at touchdown): the leg's joints move the
foot straight up the base's z axis by the shortfall, its x and y kept (damped least squares on the leg's
Jacobian, within the soft joint limits). Stance, and swings already above the floor, keep the dog's angles.
"""

from __future__ import annotations

import numpy as np

from robots.go2.kinematics import feet_fk
from robots.go2.model import soft_limits_rad

IK_ITERATIONS = 30
IK_DAMPING = 1e-3        # m: Levenberg-Marquardt's lambda, small against the lifts (mm to cm)


def swing_progress(phase: np.ndarray, duty: np.ndarray, offset: np.ndarray) -> np.ndarray:
    """(n, 4): how much of its scheduled swing each foot has done at clock phases (n,) (0 at lift-off, up to
    1 at touchdown), NaN while it is scheduled on the floor. duty, offset (4,) as `gait_clock.Gait`'s."""
    p = (np.asarray(phase, dtype=float)[:, None] - offset[None, :]) % 1.0
    return np.where(p >= duty, (p - duty) / (1.0 - duty), np.nan)


def clearance_floor_m(progress: np.ndarray, clearance_m: float) -> np.ndarray:
    """The floor (m above the foot's stance height) at swing progress `progress`; 0 where it is NaN (stance)."""
    return np.where(np.isfinite(progress), clearance_m * np.sin(np.pi * np.nan_to_num(progress)), 0.0)


def lift_m(foot_height_m: np.ndarray, duty: np.ndarray, offset: np.ndarray, clearance_m: float) -> np.ndarray:
    """(bins, 4): how far each foot of one gait clock's profile must rise to meet the floor, from its mean
    heights `foot_height_m` (4, bins) (`GaitClocks.foot_height_m[g]`); the stance height is each foot's
    median over its scheduled stance bins."""
    bins = foot_height_m.shape[1]
    progress = swing_progress((np.arange(bins) + 0.5) / bins, duty, offset)       # (bins, 4)
    height = foot_height_m.T
    stance = np.where(np.isnan(progress), height, np.nan)
    above_stance = height - np.nanmedian(stance, axis=0)[None, :]
    shortfall = np.maximum(clearance_floor_m(progress, clearance_m) - above_stance, 0.0)
    return np.where(np.isfinite(progress), shortfall, 0.0)


def raise_feet_rad(joint_pos_rad: np.ndarray, lift: np.ndarray) -> np.ndarray:
    """(n, 12): joint angles (n, 12) changed so that each foot's centre is `lift` (n, 4) m higher along the
    base's z axis, x and y kept, within the soft limits. Legs with no lift keep their angles exactly."""
    q0 = np.asarray(joint_pos_rad, dtype=float)
    feet0 = feet_fk(q0)
    target = feet0 + np.stack([np.zeros_like(lift), np.zeros_like(lift), lift], axis=-1)
    limits = soft_limits_rad()
    q = q0.copy()
    eye = np.eye(3)
    for _ in range(IK_ITERATIONS):         # fixed count, every bin and leg at once
        feet, jac = feet_fk(q, with_jacobian=True)                                   # (n, 4, 3), (n, 4, 3, 3)
        err = target - feet
        jjt = jac @ np.swapaxes(jac, -1, -2) + IK_DAMPING ** 2 * eye
        dq = (np.swapaxes(jac, -1, -2) @ np.linalg.solve(jjt, err[..., None]))[..., 0]
        q = np.clip(q + dq.reshape(q.shape), limits[:, 0], limits[:, 1])
    moved = np.repeat(lift > 0, 3, axis=1)
    return np.where(moved, q, q0)


def lifted_joint_pos_rad(joint_pos_rad: np.ndarray, foot_height_m: np.ndarray, duty: np.ndarray,
                         offset: np.ndarray, clearance_m: float) -> np.ndarray:
    """(gaits, 12, bins): `GaitClocks.joint_pos_rad` with every scheduled swing foot raised to the floor of
    `clearance_m`; the profiles of `GaitClocks` (joint_pos_rad, foot_height_m, duty, offset) in."""
    out = np.array(joint_pos_rad, dtype=float, copy=True)
    for g in range(out.shape[0]):          # a loop over the banks, once
        lift = lift_m(foot_height_m[g], duty[g], offset[g], clearance_m)
        out[g] = raise_feet_rad(out[g].T, lift).T
    return out
