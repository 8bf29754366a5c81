"""Batched Go2 leg kinematics: foot position and Jacobian in the base frame for many frames at once.

The chain of each leg (joint placements, axes, limits, foot frame) is read from the pinocchio model
of `robots/go2/go2.urdf`, so this module holds no robot numbers of its own. Pinocchio evaluates one
configuration per call; for ~100k frames x 4 legs a Python loop over it costs seconds, so the hot
path evaluates the same chain with numpy over all frames, and the tests check it against pinocchio.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pinocchio as pin

from robots.go2 import FOOT_NAMES, JOINT_NAMES, LEGS, URDF_PATH


@lru_cache(maxsize=1)
def go2_model() -> pin.Model:
    """Go2 with a free-flyer base (q = [xyz, quat xyzw, 12 joints]), joints in canonical order."""
    model = pin.buildModelFromUrdf(str(URDF_PATH), pin.JointModelFreeFlyer())
    names = [model.names[i] for i in range(2, model.njoints)]
    if tuple(names) != JOINT_NAMES:
        raise RuntimeError(f"go2.urdf joint order {names} is not the canonical {JOINT_NAMES}")
    return model


def _axis(joint_model) -> np.ndarray:
    shortname = joint_model.shortname()
    if shortname in ("JointModelRX", "JointModelRY", "JointModelRZ"):
        return np.eye(3)["XYZ".index(shortname[-1])]
    if shortname == "JointModelRevoluteUnaligned":
        return np.asarray(joint_model.axis, dtype=float)
    raise ValueError(f"unsupported leg joint type {shortname}")


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
    model = go2_model()
    chains = []
    for leg, foot in zip(LEGS, FOOT_NAMES):
        ids = [model.getJointId(f"{leg}_{k}_joint") for k in ("hip", "thigh", "calf")]
        frame = model.frames[model.getFrameId(foot)]
        if frame.parentJoint != ids[-1] or model.parents[ids[1]] != ids[0] or model.parents[ids[2]] != ids[1]:
            raise RuntimeError(f"{leg} is not a hip-thigh-calf-foot chain in go2.urdf")
        idx_q = [model.joints[i].idx_q for i in ids]
        chains.append(LegChain(
            leg=leg,
            rotations=np.array([model.jointPlacements[i].rotation for i in ids]),
            translations=np.array([model.jointPlacements[i].translation for i in ids]),
            axes=np.array([_axis(model.joints[i]) for i in ids]),
            foot_rotation=np.array(frame.placement.rotation),
            foot_translation=np.array(frame.placement.translation),
            limits_rad=np.stack([model.lowerPositionLimit[idx_q], model.upperPositionLimit[idx_q]], axis=1),
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
