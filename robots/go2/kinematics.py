"""Batched Go2 leg kinematics: foot position and Jacobian in the base frame for many frames at once (numpy).

Each leg's chain (joint placements, axes, limits, foot frame) is built from `model.py`, the numbers
`go2.urdf` is written from. Pinocchio evaluates one configuration per call, so for ~100k frames x 4 legs
a Python loop over it costs seconds; this module evaluates the chains with numpy over all frames and
needs no pinocchio (the learner uses it on its training path). The tests check it against pinocchio's
model of `go2.urdf` (`robots.go2.pinocchio_model`).
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


def _axis_angle_matrix(axis: np.ndarray, angle: np.ndarray) -> np.ndarray:
    """Rotation matrices (N, 3, 3) about a fixed unit axis by angles (N,) (Rodrigues)."""
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    s, c = np.sin(angle)[:, None, None], np.cos(angle)[:, None, None]
    return np.eye(3) + s * k + (1 - c) * (k @ k)


def _walk_chain(chain: LegChain, q: np.ndarray):
    """Joint origins [(N, 3)] x 3, joint axes [(N, 3)] x 3 and the foot centre (N, 3), all in the base frame."""
    n = q.shape[0]
    rot = np.broadcast_to(np.eye(3), (n, 3, 3))
    pos = np.zeros((n, 3))
    origins, axes_world = [], []
    for k in range(3):
        pos = pos + rot @ chain.translations[k]
        rot = rot @ chain.rotations[k]
        origins.append(pos)
        axes_world.append(rot @ chain.axes[k])
        rot = rot @ _axis_angle_matrix(chain.axes[k], q[:, k])
    return origins, axes_world, pos + rot @ chain.foot_translation


def leg_fk(chain: LegChain, q: np.ndarray, with_jacobian: bool = True):
    """Foot centre in the base frame (N, 3) and its Jacobian d foot / d q (N, 3, 3) for joints q (N, 3)."""
    origins, axes_world, foot = _walk_chain(chain, q)
    if not with_jacobian:
        return foot, None
    jac = np.stack([np.cross(a, foot - o) for a, o in zip(axes_world, origins)], axis=-1)
    return foot, jac


def feet_fk(joint_pos: np.ndarray, with_jacobian: bool = False):
    """Foot centres in the base frame (T, 4, 3) for joint positions (T, 12); optionally Jacobians (T, 4, 3, 3)."""
    feet, jacs = [], []
    for i, chain in enumerate(leg_chains()):
        foot, jac = leg_fk(chain, joint_pos[:, 3 * i: 3 * i + 3], with_jacobian)
        feet.append(foot)
        jacs.append(jac)
    feet = np.stack(feet, axis=1)
    return (feet, np.stack(jacs, axis=1)) if with_jacobian else feet


def legs_points_fk(joint_pos: np.ndarray) -> np.ndarray:
    """Points of each leg in the base frame (T, 4, 4, 3) m for joint positions (T, 12): legs in canonical
    order, per leg the hip (abduction) joint, thigh joint, calf (knee) joint and foot centre. For drawing."""
    legs = []
    for i, chain in enumerate(leg_chains()):
        origins, _, foot = _walk_chain(chain, joint_pos[:, 3 * i: 3 * i + 3])
        legs.append(np.stack([*origins, foot], axis=1))
    return np.stack(legs, axis=1)
