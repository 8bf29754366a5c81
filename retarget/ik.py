"""Inverse kinematics of the Go2 legs: joint angles that put each foot centre on its target.

`solve_legs` is the hot path: damped least squares (Levenberg-Marquardt) on the pinocchio chain of
each leg, over all frames at once, each step projected onto the soft joint limits. Every frame starts
from the closed-form solution on the default standing pose's branch (the default pose itself for a
chain of another shape), so a few steps suffice. The calf range keeps the knee bent backwards and
the thigh range is under 2 pi; of the two hip solutions (2 acos(0.0955 / r) apart, r the foot's
distance from the hip axis) only one fits the +-60 deg hip range while r > 0.19 m, as in standing
and walking. Closer in (a leg folded up), the branch with the foot below the hip is taken. So frames
solved independently are continuous: no knee flips, no branch jumps.
An unreachable target converges to the nearest reachable point inside the limits.

`solve_legs_pinocchio` runs the same method one frame at a time through pinocchio itself: the
reference the tests compare against, and the baseline the benchmark reports.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pinocchio as pin

from robots.go2.kinematics import leg_chains, leg_fk
from robots.go2.pinocchio_model import go2_model
from robots.go2 import FOOT_NAMES
from robots.go2.model import default_pose_rad, soft_limits_rad


@dataclass(frozen=True)
class IkResult:
    joint_pos: np.ndarray      # (T, 12) rad
    foot_error_m: np.ndarray   # (T, 4) |FK(q) - target|
    at_limit: np.ndarray       # (T, 12) bool: joint held at a soft limit by the target


def _wrap_into(angle: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """angle + 2 pi k inside [lo, hi] where such k exists, else the angle wrapped nearest the interval."""
    mid = 0.5 * (lo + hi)
    return mid + (angle - mid + np.pi) % (2 * np.pi) - np.pi


def _closed_form_start(chain, target: np.ndarray, default: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Closed-form IK of a hip(x)-thigh(y)-calf(y) leg with the knee bent backwards (the calf range).

    Of the two hip solutions the one inside the hip limits is taken (they are ~2.6 rad apart, the hip
    range is 2.1 rad); the thigh is unique modulo 2 pi. A chain of another shape starts from `default`.
    """
    t = chain.translations
    shaped = (np.allclose(chain.axes, np.eye(3)[[0, 1, 1]]) and np.allclose(chain.rotations, np.eye(3))
              and np.allclose(chain.foot_rotation, np.eye(3)) and np.allclose(t[1][[0, 2]], 0)
              and np.allclose(t[2][:2], 0) and np.allclose(chain.foot_translation[:2], 0))
    if not shaped:
        return np.tile(default, (len(target), 1))
    p = target - t[0]
    d, l1, l2 = t[1][1], -t[2][2], -chain.foot_translation[2]
    r = np.hypot(p[:, 1], p[:, 2])
    phi = np.arctan2(p[:, 2], p[:, 1])
    half = np.arccos(np.clip(d / np.maximum(r, 1e-9), -1, 1))
    below, above = _wrap_into(phi + half, lo[0], hi[0]), _wrap_into(phi - half, lo[0], hi[0])

    def outside(a):
        return np.maximum(lo[0] - a, 0) + np.maximum(a - hi[0], 0)

    hip = np.where(outside(above) < outside(below), above, below)
    z_leg = -np.sin(hip) * p[:, 1] + np.cos(hip) * p[:, 2]
    x_leg = p[:, 0]
    cos_knee = (x_leg**2 + z_leg**2 - l1**2 - l2**2) / (2 * l1 * l2)
    knee = -np.arccos(np.clip(cos_knee, -1, 1))
    thigh = np.arctan2(-x_leg, -z_leg) - np.arctan2(l2 * np.sin(knee), l1 + l2 * np.cos(knee))
    return np.stack([hip, _wrap_into(thigh, lo[1], hi[1]), knee], axis=1)


def clamp_to_reach(chain, target: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Targets (N, 3) of one hip-thigh-calf leg moved radially from the hip joint into the shell the leg
    reaches with its knee inside [lo, hi] (calf limits): the thigh-joint-to-foot distance in the leg plane,
    sqrt(|p - hip|^2 - d^2), kept between its values at the two calf limits. Targets inside are unchanged.

    Without it a target the leg cannot reach (a paw tucked under a lying dog's body, closer to the hip than
    the folded leg) has no unique nearest point, and frames solved independently jump between several."""
    t = chain.translations
    if not (np.allclose(chain.axes, np.eye(3)[[0, 1, 1]]) and np.allclose(t[1][[0, 2]], 0)
            and np.allclose(t[2][:2], 0) and np.allclose(chain.foot_translation[:2], 0)):
        return target
    d, l1, l2 = t[1][1], -t[2][2], -chain.foot_translation[2]
    reach = np.sqrt(l1**2 + l2**2 + 2 * l1 * l2 * np.cos([lo[2], hi[2]]))
    r_min, r_max = reach.min(), reach.max()
    rel = target - t[0]
    dist = np.linalg.norm(rel, axis=1)
    r_leg = np.sqrt(np.maximum(dist**2 - d**2, 0.0))
    r_new = np.clip(r_leg, r_min, r_max)
    scale = np.sqrt(d**2 + r_new**2) / np.maximum(dist, 1e-9)
    return np.where((r_new != r_leg)[:, None], t[0] + rel * scale[:, None], target)


def _damped_least_squares(chain, target, q, lo, hi, iterations, damping, tol_m) -> np.ndarray:
    """Levenberg-Marquardt steps on every frame at once, each projected on [lo, hi], from q (N, 3)."""
    q = q.copy()
    active = np.ones(len(q), dtype=bool)
    for _ in range(iterations):
        foot, jac = leg_fk(chain, q[active])
        err = target[active] - foot
        jt = np.swapaxes(jac, 1, 2)
        step = np.linalg.solve(jt @ jac + damping**2 * np.eye(3), (jt @ err[..., None]))[..., 0]
        q_new = np.clip(q[active] + step, lo, hi)
        moved = np.abs(q_new - q[active]).max(axis=1)
        q[active] = q_new
        done = (np.linalg.norm(err, axis=1) < tol_m) | (moved < 1e-10)
        idx = np.flatnonzero(active)
        active[idx[done]] = False
        if not active.any():
            break
    return q


def solve_legs(foot_target_base: np.ndarray, limits: np.ndarray | None = None, iterations: int = 40,
               damping: float = 1e-3, tol_m: float = 1e-7, clamp_reach: bool = False) -> IkResult:
    """Joint positions (T, 12) for foot-centre targets (T, 4, 3) in the base frame (m). With `clamp_reach`,
    targets out of the leg's radial reach are first moved onto it (clamp_to_reach); errors and clamps are
    still measured against the targets given."""
    limits = soft_limits_rad() if limits is None else limits
    default = default_pose_rad()
    T = foot_target_base.shape[0]
    joint_pos = np.empty((T, 12))
    errors = np.empty((T, 4))
    at_limit = np.zeros((T, 12), dtype=bool)
    for i, chain in enumerate(leg_chains()):
        cols = slice(3 * i, 3 * i + 3)
        lo, hi = limits[cols, 0], limits[cols, 1]
        given = foot_target_base[:, i]
        target = clamp_to_reach(chain, given, lo, hi) if clamp_reach else given
        q = np.clip(_closed_form_start(chain, target, default[cols], lo, hi), lo, hi)
        q = _damped_least_squares(chain, target, q, lo, hi, iterations, damping, tol_m)
        foot, jac = leg_fk(chain, q)
        err = given - foot
        errors[:, i] = np.linalg.norm(err, axis=1)
        # A joint is clamped when it sits on a limit and the error still pulls it outwards.
        pull = np.einsum("tkj,tk->tj", jac, err)
        at_lo = (q <= lo + 1e-9) & (pull < 0)
        at_hi = (q >= hi - 1e-9) & (pull > 0)
        at_limit[:, cols] = (at_lo | at_hi) & (errors[:, i:i + 1] > 1e-4)
        joint_pos[:, cols] = q
    return IkResult(joint_pos, errors, at_limit)


def solve_legs_pinocchio(foot_target_base: np.ndarray, limits: np.ndarray | None = None,
                         iterations: int = 40, damping: float = 1e-3, tol_m: float = 1e-7,
                         start: np.ndarray | None = None, warm_start: bool = False) -> np.ndarray:
    """The same damped least squares, one frame and one pinocchio call at a time. Slow; a reference.

    Each frame starts from `start` (default: the default pose), or with `warm_start` from the
    previous frame's answer, which follows one continuous branch along a trajectory.
    """
    limits = soft_limits_rad() if limits is None else limits
    start = default_pose_rad() if start is None else start
    model = go2_model()
    data = model.createData()
    foot_ids = [model.getFrameId(f) for f in FOOT_NAMES]
    q = pin.neutral(model)
    q[7:] = np.clip(start, limits[:, 0], limits[:, 1])
    out = np.empty((foot_target_base.shape[0], 12))
    for t, targets in enumerate(foot_target_base):
        if not warm_start:
            q[7:] = np.clip(start, limits[:, 0], limits[:, 1])
        for _ in range(iterations):
            pin.computeJointJacobians(model, data, q)
            pin.updateFramePlacements(model, data)
            worst = 0.0
            for i, fid in enumerate(foot_ids):
                err = targets[i] - data.oMf[fid].translation
                worst = max(worst, float(np.linalg.norm(err)))
                jac = pin.getFrameJacobian(model, data, fid, pin.LOCAL_WORLD_ALIGNED)[:3, 6 + 3 * i: 9 + 3 * i]
                step = np.linalg.solve(jac.T @ jac + damping**2 * np.eye(3), jac.T @ err)
                cols = slice(7 + 3 * i, 10 + 3 * i)
                q[cols] = np.clip(q[cols] + step, limits[3 * i: 3 * i + 3, 0], limits[3 * i: 3 * i + 3, 1])
            if worst < tol_m:
                break
        out[t] = q[7:]
    return out
