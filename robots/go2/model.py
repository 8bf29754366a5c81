"""Unitree Go2: the numbers of the robot, written once.

Every value here is a fact read off Unitree's Go2 description (unitree_rl_gym's URDF and
unitree_mujoco's MJCF): link offsets, joint axes and limits, masses, inertias, collision shapes.
`build_urdf.py` turns them into this package's `go2.urdf`; the retargeter and the learner read them
from here or from that file, never from Unitree's files.

Conventions (see also SCHEMA.md of the motion bank):
- base frame: x forward, y left, z up, origin at the trunk centre; units m, kg, rad.
- canonical leg order FL, FR, RL, RR (the URDF's), each leg as hip (abduction, about x),
  thigh (about y), calf (knee, about y).
- The foot point is the foot frame origin, 0.213 m below the knee along the calf; Unitree's
  collision sphere (radius 0.022 m) sits 2 mm behind it (FOOT_SPHERE_X_M), which we neglect in
  kinematics (foot point = sphere centre within 2 mm).
"""

from __future__ import annotations

import numpy as np

LEGS = ("FL", "FR", "RL", "RR")
JOINT_KINDS = ("hip", "thigh", "calf")
JOINT_NAMES = tuple(f"{leg}_{kind}_joint" for leg in LEGS for kind in JOINT_KINDS)
FOOT_NAMES = tuple(f"{leg}_foot" for leg in LEGS)

# Leg geometry (m). Left legs at +y, front legs at +x.
HIP_OFFSET_X_M = 0.1934      # base origin -> hip (abduction) joint, along x
HIP_OFFSET_Y_M = 0.0465      # base origin -> hip joint, along y
THIGH_OFFSET_Y_M = 0.0955    # hip joint -> thigh joint, along y
THIGH_LENGTH_M = 0.213       # thigh joint -> calf joint, along -z
CALF_LENGTH_M = 0.213        # calf joint -> foot centre, along -z
FOOT_RADIUS_M = 0.022

# Hard joint limits (rad) from the URDF. Front and rear thighs differ.
HIP_LIMITS_RAD = (-1.0472, 1.0472)
FRONT_THIGH_LIMITS_RAD = (-1.5708, 3.4907)
REAR_THIGH_LIMITS_RAD = (-0.5236, 4.5379)
CALF_LIMITS_RAD = (-2.7227, -0.83776)
# Actuator limits: effort (N m), velocity (rad/s), per joint kind.
EFFORT_LIMITS_NM = {"hip": 23.7, "thigh": 23.7, "calf": 35.55}
VELOCITY_LIMITS_RAD_S = {"hip": 30.1, "thigh": 30.1, "calf": 20.07}

# Soft limits: the hard range shrunk about its middle, as legged_gym's soft_dof_pos_limit.
SOFT_LIMIT_FRACTION = 0.95

# Default standing pose (rad), as unitree_rl_gym's go2 config: hips 0.1 (left) / -0.1 (right),
# thighs 0.8 front / 1.0 rear, calves -1.5.
DEFAULT_POSE_RAD = {
    "FL": (0.1, 0.8, -1.5),
    "FR": (-0.1, 0.8, -1.5),
    "RL": (0.1, 1.0, -1.5),
    "RR": (-0.1, 1.0, -1.5),
}

# Inertial facts of the FL leg and the trunk: (mass kg, com xyz m, inertia ixx iyy izz ixy ixz iyz).
BASE_INERTIAL = (6.921, (0.021112, 0.0, -0.005366), (0.02448, 0.098077, 0.107, 0.00012166, 0.0014849, -3.12e-05))
FL_HIP_INERTIAL = (0.678, (-0.0054, 0.00194, -0.000105), (0.00048, 0.000884, 0.000596, -3.01e-06, 1.11e-06, -1.42e-06))
FL_THIGH_INERTIAL = (1.152, (-0.00374, -0.0223, -0.0327), (0.00584, 0.0058, 0.00103, 8.72e-05, -0.000289, 0.000808))
FL_CALF_INERTIAL = (0.154, (0.00548, -0.000975, -0.115), (0.00108, 0.0011, 3.29e-05, 3.4e-07, 1.72e-05, 8.28e-06))
FOOT_INERTIAL = (0.04, (0.0, 0.0, 0.0), (9.6e-06, 9.6e-06, 9.6e-06, 0.0, 0.0, 0.0))

# Collision primitives.
BASE_BOX_SIZE_M = (0.3762, 0.0935, 0.114)
HEAD_CYLINDER = {"xyz": (0.285, 0.0, 0.01), "radius": 0.05, "length": 0.09}
HEAD_SPHERE = {"xyz": (0.293, 0.0, -0.06), "radius": 0.047}
HIP_CYLINDER = {"y": 0.08, "radius": 0.046, "length": 0.04}
THIGH_BOX = {"z": -0.1065, "size": (0.11, 0.0245, 0.034)}
CALF_CYLINDER_FRONT = {"xyz": (0.008, 0.0, -0.06), "pitch": -0.21, "radius": 0.012, "length": 0.12}
CALF_CYLINDER_REAR = {"xyz": (0.01, 0.0, -0.06), "pitch": -0.2, "radius": 0.013, "length": 0.12}
FOOT_SPHERE_X_M = -0.002


def leg_signs(leg: str) -> tuple[float, float]:
    """(sx, sy): +1/-1 for front/rear and left/right."""
    return (1.0 if leg[0] == "F" else -1.0), (1.0 if leg[1] == "L" else -1.0)


# Thigh joints at zero hip abduction (base frame), one row per leg: where the retargeter puts the dog's limb
# roots; the left and right ones are THIGH_JOINT_WIDTH_M (0.284 m) apart.
THIGH_JOINT_BASE_M = np.array([[sx * HIP_OFFSET_X_M, sy * (HIP_OFFSET_Y_M + THIGH_OFFSET_Y_M), 0.0]
                               for sx, sy in map(leg_signs, LEGS)])
THIGH_JOINT_WIDTH_M = 2 * (HIP_OFFSET_Y_M + THIGH_OFFSET_Y_M)


def hip_position_base_m(leg: str) -> np.ndarray:
    sx, sy = leg_signs(leg)
    return np.array([sx * HIP_OFFSET_X_M, sy * HIP_OFFSET_Y_M, 0.0])


def joint_limits_rad(leg: str) -> np.ndarray:
    """(3, 2) hard limits [lower, upper] of hip, thigh, calf."""
    thigh = FRONT_THIGH_LIMITS_RAD if leg[0] == "F" else REAR_THIGH_LIMITS_RAD
    return np.array([HIP_LIMITS_RAD, thigh, CALF_LIMITS_RAD])


def hard_limits_rad() -> np.ndarray:
    """(12, 2) hard limits in canonical order."""
    return np.concatenate([joint_limits_rad(leg) for leg in LEGS])


def soft_limits_rad(fraction: float = SOFT_LIMIT_FRACTION) -> np.ndarray:
    """(12, 2) soft limits: the hard range scaled by `fraction` about its middle."""
    hard = hard_limits_rad()
    mid = hard.mean(axis=1, keepdims=True)
    half = 0.5 * (hard[:, 1:] - hard[:, :1])
    return np.concatenate([mid - fraction * half, mid + fraction * half], axis=1)


def default_pose_rad() -> np.ndarray:
    """(12,) default standing pose in canonical order."""
    return np.array([q for leg in LEGS for q in DEFAULT_POSE_RAD[leg]])
