"""Batched Go2 leg kinematics: foot position and Jacobian in the base frame for many frames at once.

Each leg's chain (joint placements, axes, limits, foot frame) is built from `model.py`, the numbers
`go2.urdf` is written from. Pinocchio evaluates one configuration per call, so for ~100k frames x 4 legs
a Python loop over it costs seconds; this module evaluates the chains with numpy over all frames and
needs no pinocchio (the learner uses it on its training path). The tests check it against pinocchio's
model of `go2.urdf` (`robots.go2.pinocchio_model`).

Joint angles may be numpy arrays or torch tensors (any device; the learner's task on a GPU backend): the
result is of the same kind, dtype and device. torch is never imported here; tensors get array-api-compat's
namespace.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from robots.go2 import model
from robots.go2.model import LEGS


@dataclass(frozen=True)
class LegChain:
    """One leg: 3 revolute joints, from the base to the foot centre."""

    leg: str
    rotations: np.ndarray     # (3, 3, 3) joint placement rotations in the parent frame
    translations: np.ndarray  # (3, 3) joint placement translations in the parent frame (m)
    axes: np.ndarray          # (3, 3) joint axes in the joint frame
    foot_rotation: np.ndarray  # (3, 3) foot frame in the last joint frame
    foot_translation: np.ndarray  # (3,)
    limits_rad: np.ndarray    # (3, 2) hard limits


@lru_cache(maxsize=1)
def leg_chains() -> tuple[LegChain, ...]:
    """The four legs in canonical order, from `model.py`'s numbers (the same that `build_urdf.py` writes)."""
    chains = []
    for leg in LEGS:
        _, sy = model.leg_signs(leg)
        chains.append(LegChain(
            leg=leg,
            rotations=np.broadcast_to(np.eye(3), (3, 3, 3)).copy(),
            translations=np.array([model.hip_position_base_m(leg), (0.0, sy * model.THIGH_OFFSET_Y_M, 0.0),
                                   (0.0, 0.0, -model.THIGH_LENGTH_M)]),
            axes=np.array([(1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 1.0, 0.0)]),
            foot_rotation=np.eye(3),
            foot_translation=np.array([0.0, 0.0, -model.CALF_LENGTH_M]),
            limits_rad=model.joint_limits_rad(leg),
        ))
    return tuple(chains)


def _namespace(q):
    """numpy for numpy arrays; array-api-compat's namespace for anything else (torch tensors)."""
    if isinstance(q, np.ndarray):
        return np
    from array_api_compat import array_namespace
    return array_namespace(q)


def _like(xp, const: np.ndarray, q):
    """A numpy constant as an array of q's kind, dtype and device."""
    return const if xp is np else xp.asarray(const, dtype=q.dtype, device=q.device)


def _axis_angle_matrix(xp, axis: np.ndarray, angle):
    """Rotation matrices (N, 3, 3) about a fixed unit axis by angles (N,) (Rodrigues)."""
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    s, c = xp.sin(angle)[:, None, None], xp.cos(angle)[:, None, None]
    return _like(xp, np.eye(3), angle) + s * _like(xp, k, angle) + (1 - c) * _like(xp, k @ k, angle)


def _walk_chain(chain: LegChain, q):
    """Joint origins [(N, 3)] x 3, joint axes [(N, 3)] x 3 and the foot centre (N, 3), all in the base frame."""
    xp = _namespace(q)
    n = q.shape[0]
    rot = xp.broadcast_to(_like(xp, np.eye(3), q), (n, 3, 3))
    pos = xp.zeros((n, 3), dtype=q.dtype) if xp is np else xp.zeros((n, 3), dtype=q.dtype, device=q.device)
    origins, axes_world = [], []
    for k in range(3):
        pos = pos + rot @ _like(xp, chain.translations[k], q)
        rot = rot @ _like(xp, chain.rotations[k], q)
        origins.append(pos)
        axes_world.append(rot @ _like(xp, chain.axes[k], q))
        rot = rot @ _axis_angle_matrix(xp, chain.axes[k], q[:, k])
    return origins, axes_world, pos + rot @ _like(xp, chain.foot_translation, q)


def leg_fk(chain: LegChain, q: np.ndarray, with_jacobian: bool = True):
    """Foot centre in the base frame (N, 3) and its Jacobian d foot / d q (N, 3, 3) for joints q (N, 3)."""
    origins, axes_world, foot = _walk_chain(chain, q)
    if not with_jacobian:
        return foot, None
    xp = _namespace(q)
    cross = np.cross if xp is np else xp.linalg.cross
    jac = xp.stack([cross(a, foot - o) for a, o in zip(axes_world, origins)], axis=-1)
    return foot, jac


def feet_fk(joint_pos, with_jacobian: bool = False):
    """Foot centres in the base frame (T, 4, 3) for joint positions (T, 12); optionally Jacobians (T, 4, 3, 3)."""
    xp = _namespace(joint_pos)
    feet, jacs = [], []
    for i, chain in enumerate(leg_chains()):
        foot, jac = leg_fk(chain, joint_pos[:, 3 * i: 3 * i + 3], with_jacobian)
        feet.append(foot)
        jacs.append(jac)
    feet = xp.stack(feet, axis=1)
    return (feet, xp.stack(jacs, axis=1)) if with_jacobian else feet


def legs_points_fk(joint_pos: np.ndarray) -> np.ndarray:
    """Points of each leg in the base frame (T, 4, 4, 3) m for joint positions (T, 12): legs in canonical
    order, per leg the hip (abduction) joint, thigh joint, calf (knee) joint and foot centre. For drawing."""
    legs = []
    for i, chain in enumerate(leg_chains()):
        origins, _, foot = _walk_chain(chain, joint_pos[:, 3 * i: 3 * i + 3])
        legs.append(np.stack([*origins, foot], axis=1))
    return np.stack(legs, axis=1)
