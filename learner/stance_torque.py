"""Joint torques that hold the Go2 still in a pose on the feet that are meant to be on the floor (statics).

A PD motor holds a load only by lagging its target: at kp 20 N m/rad the Go2's own weight on four feet
bends its calves 0.30-0.35 rad off the default pose and drops its base from 0.32 to 0.27 m (measured by
`tests/test_stance_torque.py`'s standing check). Unitree's motor command carries a feedforward torque for
this (tau = kp (q* - q) + kd (qd* - qd) + tau_ff); `env.stance_torque_feedforward` adds these torques to
the dog's stride, folded into the position target as q* + tau_ff / kp.

For a pose q (base level) and a weight w_i in [0, 1] per foot (how much foot i is meant to be on the
floor: the gait clock's `desired_contact`), the ground forces F_i (world frame, at the foot spheres'
centres) are the regularised least-squares balance of the base's six equations of static equilibrium,

    min_F  || J_base^T F - g_base ||^2  +  lam * sum_i || F_i ||^2 / w_i,

so that feet in the air carry nothing, stance feet carry the weight, and a moment two feet cannot balance
(a trot's diagonal) is left unbalanced rather than pushed onto a swing foot. The joint torques are then
tau = g_joints - J_joints^T F (MuJoCo's qfrc_bias at rest is gravity). The nominal robot: domain
randomisation's payload (+-1 kg) is left to the policy. Written by hand: MuJoCo's
inverse dynamics needs the contacts' penetration, and the force distribution here is the point.
"""

from __future__ import annotations

import mujoco
import numpy as np

from learner.mujoco_backend import load_go2_model
from robots.go2 import FOOT_NAMES
from robots.go2.build_mjcf import MJCF_PATH

REGULARISATION = 1e-4      # lam above, N^-2 scale: a foot at w = 1 takes its share to within about 1e-4
MIN_WEIGHT = 1e-9          # w below this counts as this: feet all in the air carry ~1e-5 of the weight


def stance_torques_nm(joint_pos_rad: np.ndarray, foot_weight: np.ndarray, mjcf_path=MJCF_PATH) -> np.ndarray:
    """(n, 12) joint torques (N m, the contract's joint order) that hold poses `joint_pos_rad` (n, 12) still
    with the base level, the Go2's weight on the feet as weighted by `foot_weight` (n, 4) in [0, 1] (FL, FR,
    RL, RR). A loop over poses: meant for setup (a gait clock's 2 x 50 phase bins), not for a step."""
    return stance_statics(joint_pos_rad, foot_weight, mjcf_path)[0]


def stance_statics(joint_pos_rad: np.ndarray, foot_weight: np.ndarray, mjcf_path=MJCF_PATH):
    """`stance_torques_nm`'s torques (n, 12) N m and the ground forces on the feet they balance, (n, 4, 3) N
    in the world frame (base level)."""
    joint_pos_rad = np.asarray(joint_pos_rad, dtype=float)
    foot_weight = np.asarray(foot_weight, dtype=float)
    n = len(joint_pos_rad)
    if joint_pos_rad.shape != (n, 12) or foot_weight.shape != (n, 4):
        raise ValueError(f"need joint_pos_rad (n, 12) and foot_weight (n, 4), got {joint_pos_rad.shape} "
                         f"and {foot_weight.shape}")
    model = load_go2_model(mjcf_path)
    data = mujoco.MjData(model)
    feet = [mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_GEOM, f) for f in FOOT_NAMES]
    jac = np.zeros((3, model.nv))
    tau, force = np.zeros((n, 12)), np.zeros((n, 4, 3))
    for i in range(n):
        data.qpos[:] = 0.0
        data.qpos[2], data.qpos[3] = 0.4, 1.0        # base level (wxyz); its height does not enter statics
        data.qpos[7:] = joint_pos_rad[i]
        data.qvel[:] = 0.0
        mujoco.mj_forward(model, data)
        J = np.empty((12, model.nv))                  # rows: the 4 feet's x, y, z
        for f, geom in enumerate(feet):
            mujoco.mj_jacGeom(model, data, jac, None, geom)
            J[3 * f:3 * f + 3] = jac
        A, b = J[:, :6].T, data.qfrc_bias[:6]         # the base's equilibrium: A F = b
        w = np.repeat(np.clip(foot_weight[i], MIN_WEIGHT, 1.0), 3)
        F = np.linalg.solve(A.T @ A + np.diag(REGULARISATION / w), A.T @ b)
        tau[i] = data.qfrc_bias[6:] - J[:, 6:].T @ F
        force[i] = F.reshape(4, 3)
    return tau, force


def clock_stance_torques_nm(clocks, joint_pos_profile_rad=None, mjcf_path=MJCF_PATH) -> np.ndarray:
    """(gaits, 12, PHASE_BINS): `stance_torques_nm` of each gait clock's mean joint angles at its phase bins'
    centres (or of `joint_pos_profile_rad`, the same shape: the feedforward's, where it differs), the feet
    weighted by the clock's desired contact there; a profile for `profile_at_phase`."""
    from learner.gait_clock import PHASE_BINS, desired_contact

    gaits = len(clocks.gaits)
    centres = (np.arange(PHASE_BINS) + 0.5) / PHASE_BINS
    profile = clocks.joint_pos_rad if joint_pos_profile_rad is None else joint_pos_profile_rad
    pose = profile.transpose(0, 2, 1).reshape(-1, 12)                        # (gaits * bins, 12)
    weight = np.concatenate([desired_contact(centres, np.tile(clocks.duty[g], (PHASE_BINS, 1)),
                                             np.tile(clocks.offset[g], (PHASE_BINS, 1))) for g in range(gaits)])
    tau = stance_torques_nm(pose, weight, mjcf_path)
    return tau.reshape(gaits, PHASE_BINS, 12).transpose(0, 2, 1)
