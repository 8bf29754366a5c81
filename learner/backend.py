"""The contract between the learner's task and a simulator backend, written once.

The task (`learner/task.py`: rewards, observations, resets, terminations, domain randomisation) is written
against `Backend` and `SimState` only; `learner/mujoco_backend.py` is one implementation (CPU MuJoCo), and
another simulator plugs in by supplying the same arrays in the same conventions and an entry in `BACKENDS`.

Conventions at this API (the project's: the motion bank's SCHEMA.md, pinocchio's free flyer):
- N environments; every array's first axis is the environment. numpy float64 unless stated; a backend
  that keeps its state on a device returns torch tensors there instead (`SimState`, `learner/arrays.py`).
- joints, joint targets and torques: (N, 12) in URDF order FL, FR, RL, RR x hip, thigh, calf
  (`robots.go2.JOINT_NAMES`); feet (N, 4, ...) in `robots.go2.FOOT_NAMES` order; units m, kg, s, rad, N, N m.
- world frame: z up, floor at z = 0 (with a `HeightField`: the ground heights set by `set_ground`). Base frame: the trunk (x forward, y left, z up), origin at the trunk
  centre (not its centre of mass).
- qpos (19,) = base position in the world (3), base orientation quaternion **xyzw** (4), joint angles (12).
- qvel (18,) = base linear velocity in the **base** frame (3), base angular velocity in the base frame (3),
  joint velocities (12).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from functools import cached_property
from typing import Protocol, runtime_checkable

import numpy as np
from scipy.spatial.transform import Rotation

from amp_data.errors import InputError
from learner.arrays import ArrayKind, namespace
from robots.go2.kinematics import feet_fk


def pd_torques(q_target_rad, q_rad, qd_rad_s, kp, kd, torque_limit_nm):
    """PD law of the joint motors: tau = clip(kp (q_target - q) - kd qd, -limit, limit), in N m.

    All arguments broadcast against each other (e.g. (N, 12) joints with (N, 1) or (12,) gains). kp in
    N m/rad, kd in N m s/rad. The velocity target is zero, as in legged_gym's P control. numpy arrays, or
    torch tensors of one device (with numpy or scalar gains and limits, taken to the joints' device).
    """
    if isinstance(q_rad, np.ndarray):
        tau = np.asarray(kp) * (np.asarray(q_target_rad) - q_rad) - np.asarray(kd) * qd_rad_s
        limit = np.asarray(torque_limit_nm)
        return np.clip(tau, -limit, limit)
    kind = ArrayKind.of(q_rad)
    kp, kd, limit = (kind.asarray(x) for x in (kp, kd, torque_limit_nm))
    return kind.xp.clip(kp * (q_target_rad - q_rad) - kd * qd_rad_s, -limit, limit)


def rotation_matrix_xyzw(quat_xyzw):
    """(N, 3, 3) rotation matrices (base -> world) of quaternions (N, 4) xyzw, normalised here. Any array
    kind; numpy goes through scipy's Rotation."""
    if isinstance(quat_xyzw, np.ndarray):
        return Rotation.from_quat(quat_xyzw).as_matrix()
    xp = namespace(quat_xyzw)
    q = quat_xyzw / xp.sqrt(xp.sum(quat_xyzw * quat_xyzw, axis=-1, keepdims=True))
    x, y, z, w = q[..., 0], q[..., 1], q[..., 2], q[..., 3]
    rows = [[1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
            [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
            [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)]]
    return xp.stack([xp.stack(r, axis=-1) for r in rows], axis=-2)


@dataclass
class SimState:
    """A snapshot of N environments (new arrays, float64 unless stated); frames in the module doc.

    numpy arrays, or torch tensors on the backend's device (all fields of one kind; the floats may then be
    float32, the simulator's own precision); the field comments give numpy's types.

    The fields are what a backend supplies; `base_rot_w`, `base_lin_vel_b` and the feet's positions and
    velocities are derived from them on first access, the same way for every backend (the feet by the
    project's FK, `robots.go2.kinematics.feet_fk`, which the MJCF test checks against MuJoCo's to 1e-9 m).
    """

    base_pos_w: np.ndarray        # (N, 3) m, base origin in the world
    base_quat_xyzw: np.ndarray    # (N, 4) base orientation, xyzw, unit (q and -q: the same rotation)
    base_lin_vel_w: np.ndarray    # (N, 3) m/s, velocity of the base origin, world frame
    base_ang_vel_b: np.ndarray    # (N, 3) rad/s, base angular velocity, base frame
    joint_pos: np.ndarray         # (N, 12) rad, URDF order
    joint_vel: np.ndarray         # (N, 12) rad/s
    foot_force_n: np.ndarray      # (N, 4) N, normal contact force of the floor on each foot
    foot_contact: np.ndarray      # (N, 4) bool, foot_force_n > the contact threshold
    base_contact: np.ndarray      # (N,) bool, the trunk (base body: trunk box, head) presses on the floor
    body_contact: np.ndarray      # (N,) bool, the trunk, a hip, thigh or calf presses on the floor
    sim_unstable: np.ndarray      # (N,) bool, MuJoCo met a NaN/huge value since the env's last reset and
    #                               put it back to qpos0 itself: the episode should end there

    @cached_property
    def base_rot_w(self):
        """(N, 3, 3) rotation base -> world (columns: the base axes in the world)."""
        return rotation_matrix_xyzw(self.base_quat_xyzw)

    @cached_property
    def base_lin_vel_b(self):
        """(N, 3) m/s, velocity of the base origin in the base frame."""
        if isinstance(self.base_lin_vel_w, np.ndarray):
            return np.einsum("nji,nj->ni", self.base_rot_w, self.base_lin_vel_w)
        xp = namespace(self.base_lin_vel_w)
        return xp.sum(self.base_rot_w * self.base_lin_vel_w[:, :, None], axis=1)

    @cached_property
    def _feet_fk_b(self):
        return feet_fk(self.joint_pos, with_jacobian=True)

    @property
    def foot_pos_b(self):
        """(N, 4, 3) m, foot frame origins in the base frame (the project's FK of `joint_pos`)."""
        return self._feet_fk_b[0]

    @cached_property
    def foot_pos_w(self):
        """(N, 4, 3) m, foot frame origins (the URDF's foot links) in the world."""
        feet_b = self.foot_pos_b
        if isinstance(feet_b, np.ndarray):
            return self.base_pos_w[:, None, :] + np.einsum("nij,nkj->nki", self.base_rot_w, feet_b)
        xp = namespace(feet_b)
        return self.base_pos_w[:, None, :] + xp.matmul(feet_b, xp.matrix_transpose(self.base_rot_w))

    @cached_property
    def foot_vel_w(self):
        """(N, 4, 3) m/s, velocity of the foot frame origins in the world: the base's velocity at the foot
        plus the legs' own, v_base + w x (R p_foot_b) + R J_foot qdot (the project's FK Jacobians)."""
        feet_b, jac = self._feet_fk_b
        n = feet_b.shape[0]
        qdot_legs = self.joint_vel.reshape(n, 4, 3)
        rot = self.base_rot_w
        if isinstance(feet_b, np.ndarray):
            leg_vel_b = np.einsum("nkij,nkj->nki", jac, qdot_legs)
            ang_vel_w = np.einsum("nij,nj->ni", rot, self.base_ang_vel_b)
            arm_w = np.einsum("nij,nkj->nki", rot, feet_b)
            return (self.base_lin_vel_w[:, None, :] + np.cross(ang_vel_w[:, None, :], arm_w)
                    + np.einsum("nij,nkj->nki", rot, leg_vel_b))
        xp = namespace(feet_b)
        leg_vel_b = xp.matmul(jac, qdot_legs[..., None])[..., 0]
        ang_vel_w = xp.matmul(rot, self.base_ang_vel_b[:, :, None])[..., 0]
        rot_t = xp.matrix_transpose(rot)
        arm_w = xp.matmul(feet_b, rot_t)
        ang = xp.broadcast_to(ang_vel_w[:, None, :], arm_w.shape)
        return self.base_lin_vel_w[:, None, :] + xp.linalg.cross(ang, arm_w) + xp.matmul(leg_vel_b, rot_t)


@dataclass(frozen=True)
class HeightField:
    """The extent and resolution of the height grid a backend holds (world frame, m).

    The grid covers x in [centre_x - half_x, centre_x + half_x] and y in [-half_y, half_y]: robots start
    at the origin heading +x, and a 10 s episode at 2 m/s stays on it. Heights lie within
    +-max_abs_height_m."""
    max_abs_height_m: float
    grids: int = 1                  # different grounds in use at once at most (the terrain's levels): a
    #                                 backend that stores each grid once (Warp) holds this many
    half_x_m: float = 20.0
    half_y_m: float = 4.0
    centre_x_m: float = 16.0
    resolution_m: float = 0.05

    @property
    def ncol(self) -> int:           # along x
        return int(round(2 * self.half_x_m / self.resolution_m)) + 1

    @property
    def nrow(self) -> int:           # along y
        return int(round(2 * self.half_y_m / self.resolution_m)) + 1

    def grid_xy(self) -> tuple[np.ndarray, np.ndarray]:
        """(nrow, ncol) world x and y of every grid point (row 0 at y = -half_y, as MuJoCo's hfield)."""
        x = self.centre_x_m + np.linspace(-self.half_x_m, self.half_x_m, self.ncol)
        y = np.linspace(-self.half_y_m, self.half_y_m, self.nrow)
        return np.meshgrid(x, y)


@runtime_checkable
class Backend(Protocol):
    """N Go2 simulations driven and read as arrays (module docstring for frames and units)."""

    num_envs: int
    torque_limit_nm: np.ndarray      # (12,) N m, the motors' limits in joint order

    def reset(self, env_ids, qpos: np.ndarray, qvel: np.ndarray) -> None:
        """Put environments `env_ids` (K,) into the states qpos (K, 19), qvel (K, 18); the others are untouched."""

    def step_pd(self, q_target_rad: np.ndarray, kp, kd, substeps: int = 1, torque_limit_nm=None) -> None:
        """Advance all environments by `substeps` sim steps with `pd_torques` recomputed at every sim step."""

    def state(self) -> SimState:
        """The snapshot after the last reset or step."""

    def set_base_mass_offset(self, env_ids, offset_kg) -> None:
        """Trunk mass = nominal + offset_kg, per environment, from the next step on."""

    def set_friction(self, env_ids, mu) -> None:
        """Sliding friction coefficient of every contact, per environment, from the next step on."""

    def close(self) -> None:
        """Release threads and memory."""

    @classmethod
    def options_from(cls, env) -> dict:
        """The constructor's keywords from an `EnvConfig` (`make_backend_for` builds backends with them)."""


class GroundBackend(Backend, Protocol):
    """A backend built with `height_field=HeightField(...)`: every environment has its own ground."""

    height_field: HeightField

    def set_ground(self, env_ids, heights_m: np.ndarray) -> None:
        """Ground heights (m) of environments `env_ids` (K,): (K, nrow, ncol) or one (nrow, ncol) grid for all,
        within +-max_abs_height_m; from the next step on. Outside the grid the ground is flat, at
        -max_abs_height_m."""


# name -> (module, class, what to install): imported only when asked for
BACKENDS = {
    "mujoco": ("learner.mujoco_backend", "MujocoBackend", "pip install 'amp-data[learn]' (mujoco>=3.3)"),
    "warp": ("learner.warp_backend", "WarpBackend", "pip install 'amp-data[gpu]' (mujoco-warp>=4.0, warp-lang)"),
}
PLANNED = {"isaacgym": "not implemented yet (Isaac Gym is NVIDIA's preview download); use --backend mujoco"}


def backend_class(name: str):
    """The class registered as `name`, imported now; one-line InputError for an unknown, planned or not
    installed one."""
    if name in PLANNED:
        raise InputError(None, f"the {name} backend is {PLANNED[name]}")
    if name not in BACKENDS:
        raise InputError(None, f"unknown backend {name!r}; choose {', '.join(BACKENDS)}")
    module, cls, install = BACKENDS[name]
    try:
        return getattr(importlib.import_module(module), cls)
    except ImportError as e:
        raise InputError(None, f"the {name} backend needs its simulator ({e}): {install}") from None


def make_backend(name: str, num_envs: int, **options) -> Backend:
    """A backend by name, built with `options` (its constructor's keywords)."""
    cls = backend_class(name)
    if options.get("height_field") is not None and not getattr(cls, "supports_height_field", False):
        raise InputError(None, f"the {name} backend has no per-environment terrain; use --backend mujoco for --terrain")
    return cls(num_envs, **options)


def make_backend_for(env) -> Backend:
    """The backend an `EnvConfig` asks for: its class reads its own options from the config
    (`options_from(env)`), and a terrain other than flat adds the height field."""
    options = backend_class(env.backend).options_from(env)
    if env.terrain != "flat":
        options["height_field"] = HeightField(max_abs_height_m=env.terrain_max_amplitude_m, grids=env.terrain_levels)
    return make_backend(env.backend, env.num_envs, **options)
