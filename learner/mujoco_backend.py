"""Batched MuJoCo backend for the Go2: N independent simulations on the CPU, read and driven as arrays.

It implements the contract of `learner/backend.py` (`Backend`, `SimState`), whose docstring gives the
frames, units, joint order and qpos / qvel layout at this API.
MuJoCo stores the quaternion as wxyz and the free joint's linear velocity in the world frame (its angular
velocity in the body frame); the conversion happens in `reset` and `state` only.

How it steps: the N simulations are rows of one array of MuJoCo states (mjSTATE_FULLPHYSICS: time, qpos,
qvel). Every sim step is one call of mujoco's `rollout` with the torques of all N environments: its
C++ threads step the rows in parallel, outside the GIL, each with that environment's own MjModel copy (so
mass and friction can differ per environment). The PD law needs the state of every sim step, so a policy
step at decimation 4 is 4 such calls with the torques recomputed in between, vectorised over N.
`benchmarks/mujoco_backend.py` measures this against a Python thread pool over per-environment MjData
on the 2-core machine: the pool is 10-25 % faster at N = 8-32, the two are equal at N = 64 and rollout is
ahead from there (the pool's per-environment Python work holds the GIL); the learner runs N >= 64.

Contacts come from the MJCF's touch sensors, one per body (the total normal force on it). Like Isaac
Gym's net contact forces, they are the forces of the last sim step, i.e. computed at the state one sim
step (5 ms) before the snapshot; positions and velocities are those of the snapshot itself. MuJoCo's
solver starts each sim step cold (no warm start across `rollout` calls): same physics, a few more solver
iterations.

Needs a mujoco with the `rollout.Rollout` thread pool (3.3 or newer; developed with 4.0.0).
"""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass

from pathlib import Path

import mujoco
import numpy as np
from scipy.spatial.transform import Rotation
from mujoco import rollout

from learner.arrays import ArrayKind, copy as copy_array
from learner.backend import HeightField, SimState, pd_torques  # noqa: F401 (pd_torques: part of this module's API)
from robots.go2 import FOOT_NAMES, JOINT_NAMES, LEGS
from robots.go2.build_mjcf import MJCF_PATH

NQ, NV, NJ = 19, 18, 12
FULLPHYSICS = mujoco.mjtState.mjSTATE_FULLPHYSICS
# Rows of the state array: [time, qpos (19, quaternion wxyz), qvel (18, linear velocity in the world)].
TIME, QPOS, QVEL = 0, slice(1, 1 + NQ), slice(1 + NQ, 1 + NQ + NV)
JOINT_POS, JOINT_VEL = slice(1 + 7, 1 + NQ), slice(1 + NQ + 6, 1 + NQ + NV)
# MuJoCo's clock of an environment restarts here at each reset. When a simulation diverges (NaN or huge
# qpos, qvel or qacc), mj_step resets it to the model's qpos0 with time 0: time going backwards flags it.
TIME_AT_RESET_S = 1.0
CONES = {"elliptic": mujoco.mjtCone.mjCONE_ELLIPTIC, "pyramidal": mujoco.mjtCone.mjCONE_PYRAMIDAL}


class MujocoBackend:
    """N Go2 simulations in MuJoCo, stepped on the CPU by mujoco's `rollout` with `threads` threads.

    `threads`: default one per CPU core, at most num_envs; 1 steps in the calling thread.
    `contact_threshold_n`: a normal force above this (N) counts as contact (legged_gym uses 1 N).
    `cone`: None keeps the MJCF's friction cone (elliptic, impratio 100, as Unitree's model);
    "pyramidal" is MuJoCo's default cone: about half the cost per sim step on this model, and the feet
    creep a little more under load.
    """

    supports_height_field = True

    def __init__(self, num_envs: int, threads: int | None = None, mjcf_path: str | Path = MJCF_PATH,
                 contact_threshold_n: float = 1.0, cone: str | None = None, height_field: HeightField | None = None):
        if num_envs < 1:
            raise ValueError(f"num_envs must be >= 1, got {num_envs}")
        if not hasattr(rollout, "Rollout"):
            raise ImportError(f"mujoco {mujoco.__version__} has no rollout.Rollout: pip install 'mujoco>=3.3'")
        self.height_field = height_field
        base_model = load_go2_model(mjcf_path, cone, height_field)
        self.num_envs = num_envs
        self.sim_dt = float(base_model.opt.timestep)
        self.contact_threshold_n = float(contact_threshold_n)
        self.joint_names, self.foot_names = JOINT_NAMES, FOOT_NAMES
        self.models = [copy.deepcopy(base_model) for _ in range(num_envs)]
        self.threads = max(1, min(threads or os.cpu_count() or 1, num_envs))
        self._thread_datas = [mujoco.MjData(base_model) for _ in range(self.threads)]
        self._rollout = rollout.Rollout(nthread=self.threads if self.threads > 1 else 0)
        self._scratch = mujoco.MjData(base_model)
        self.layout = Go2Layout.of(base_model)
        self._base_body = self.layout.base_body
        self._floor = mujoco.mj_name2id(base_model, mujoco.mjtObj.mjOBJ_GEOM, "floor")
        self.torque_limit_nm = self.layout.torque_limit_nm.copy()
        self.nominal_base_mass_kg = self.layout.nominal_base_mass_kg
        self.default_qpos = self.layout.default_qpos

        self._state = np.zeros((num_envs, mujoco.mj_stateSize(base_model, FULLPHYSICS)))
        self._sensors = np.zeros((num_envs, base_model.nsensordata))
        self._unstable = np.zeros(num_envs, dtype=bool)
        self.reset(np.arange(num_envs), np.tile(self.default_qpos, (num_envs, 1)), np.zeros((num_envs, NV)))

    @classmethod
    def options_from(cls, env) -> dict:
        """Constructor options from an `EnvConfig`."""
        return {"threads": env.sim_threads or None, "cone": env.friction_cone}

    def close(self) -> None:
        """Stop rollout's threads (also done when the backend is garbage collected)."""
        if self._rollout is not None:
            self._rollout.close()
            self._rollout = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ------------------------------------------------------------------ reset and step

    def reset(self, env_ids, qpos: np.ndarray, qvel: np.ndarray) -> None:
        """Put environments `env_ids` (n,) exactly into the state qpos (n, 19), qvel (n, 18).

        Conventions as in the module doc: quaternion xyzw (normalised here), base velocities in the base
        frame. Contact forces are those MuJoCo computes at the new state. Model parameters (mass,
        friction) are kept.
        """
        env_ids = np.atleast_1d(np.asarray(env_ids, dtype=int))
        mj_qpos, mj_qvel = to_mujoco_state(qpos, qvel, len(env_ids))
        d = self._scratch
        for k, i in enumerate(env_ids):
            mj = self.models[i]
            mujoco.mj_resetData(mj, d)
            d.time = TIME_AT_RESET_S
            d.qpos[:] = mj_qpos[k]
            d.qvel[:] = mj_qvel[k]
            mujoco.mj_forward(mj, d)  # contacts and touch sensors at the new state
            mujoco.mj_getState(mj, d, self._state[i], FULLPHYSICS)
            self._sensors[i] = d.sensordata
        self._unstable[env_ids] = False

    def step(self, torques_nm: np.ndarray, substeps: int = 1) -> None:
        """Apply joint torques (N, 12) N m, held constant, for `substeps` sim steps of `sim_dt`.

        MuJoCo clamps them to the actuators' ctrlrange (`torque_limit_nm`).
        """
        torques_nm = self._check_joints(torques_nm, "torques_nm", substeps)
        self._advance(np.repeat(torques_nm[:, None, :], substeps, axis=1))

    def step_pd(self, q_target_rad: np.ndarray, kp, kd, substeps: int = 1, torque_limit_nm=None) -> None:
        """Track joint targets (N, 12) rad with the PD law `pd_torques`, recomputed at every sim step.

        kp (N m/rad) and kd (N m s/rad): scalars, (12,) per joint, (N, 1) per environment or (N, 12)
        (for gain randomisation). torque_limit_nm defaults to the actuators' limits.
        """
        q_target_rad = self._check_joints(q_target_rad, "q_target_rad", substeps)
        limit = self.torque_limit_nm if torque_limit_nm is None else torque_limit_nm
        for _ in range(substeps):
            tau = pd_torques(q_target_rad, self._state[:, JOINT_POS], self._state[:, JOINT_VEL], kp, kd, limit)
            self._advance(tau[:, None, :])

    def _advance(self, ctrl: np.ndarray) -> None:
        """Step every environment through the controls ctrl (N, nstep, 12), one sim step each."""
        n, nstep, _ = ctrl.shape
        states = np.empty((n, nstep, self._state.shape[1]))
        sensors = np.empty((n, nstep, self._sensors.shape[1]))
        self._rollout.rollout(self.models, self._thread_datas, self._state, np.ascontiguousarray(ctrl),
                              control_spec=mujoco.mjtState.mjSTATE_CTRL, skip_checks=True, nstep=nstep,
                              state=states, sensordata=sensors)
        # a diverged environment restarts from time 0 (and rollout stops it there): its clock is off
        expected_time = self._state[:, TIME] + nstep * self.sim_dt
        self._unstable |= np.abs(states[:, -1, TIME] - expected_time) > 1e-6
        self._state = np.ascontiguousarray(states[:, -1])
        self._sensors = np.ascontiguousarray(sensors[:, -1])

    def _check_joints(self, x, name: str, substeps: int) -> np.ndarray:
        if int(substeps) != substeps or substeps < 1:
            raise ValueError(f"substeps must be a positive integer, got {substeps}")
        x = np.asarray(x, dtype=float)
        if x.shape != (self.num_envs, NJ):
            raise ValueError(f"{name} must be ({self.num_envs}, {NJ}), got {x.shape}")
        return x

    # ------------------------------------------------------------------ reading the state

    def state(self) -> SimState:
        """The snapshot after the last reset/step (see `SimState`)."""
        return sim_state_of_mujoco(self._state[:, QPOS], self._state[:, QVEL], self._sensors, self.layout,
                                   self.contact_threshold_n, self._unstable)

    def mj_data(self, env_id: int) -> mujoco.MjData:
        """A new MjData holding environment env_id's current state, after mj_forward (for rendering or
        inspection; MuJoCo's own conventions: quaternion wxyz, free-joint linear velocity in the world)."""
        mj = self.models[env_id]
        d = mujoco.MjData(mj)
        mujoco.mj_setState(mj, d, self._state[env_id], FULLPHYSICS)
        mujoco.mj_forward(mj, d)
        return d

    # ------------------------------------------------------------------ domain randomisation

    def set_base_mass_offset(self, env_ids, offset_kg) -> None:
        """Trunk mass = nominal + offset_kg, per environment (the trunk's inertia tensor and centre of mass
        are kept, as legged_gym's added base mass). Takes effect at the next step."""
        env_ids = np.atleast_1d(np.asarray(env_ids, dtype=int))
        offset_kg = np.broadcast_to(np.asarray(offset_kg, dtype=float), env_ids.shape)
        if np.any(self.nominal_base_mass_kg + offset_kg <= 0):
            raise ValueError("base mass offset would make the trunk mass non-positive")
        for i, dm in zip(env_ids, offset_kg):
            self.models[i].body_mass[self._base_body] = self.nominal_base_mass_kg + dm

    def set_friction(self, env_ids, mu) -> None:
        """Sliding friction coefficient of the floor contacts, per environment. Takes effect at the next step.

        Set on every geom of that environment's model: a foot contact uses the foot's coefficient (foot
        geoms have priority), other contacts the larger of the two, so every contact gets `mu`.
        Torsional and rolling coefficients are kept.
        """
        env_ids = np.atleast_1d(np.asarray(env_ids, dtype=int))
        mu = np.broadcast_to(np.asarray(mu, dtype=float), env_ids.shape)
        if np.any(mu < 0):
            raise ValueError("friction coefficients must be >= 0")
        for i, m in zip(env_ids, mu):
            self.models[i].geom_friction[:, 0] = m

    def set_ground(self, env_ids, heights_m: np.ndarray) -> None:
        """Ground heights (m) per environment on the `height_field` grid (see `GroundBackend`)."""
        env_ids, normalised = hfield_elevation(self.height_field, env_ids, heights_m)
        for i, grid in zip(env_ids, normalised):
            self.models[i].hfield_data[:] = grid.ravel()

    @property
    def base_mass_kg(self) -> np.ndarray:
        return np.array([mj.body_mass[self._base_body] for mj in self.models])

    @property
    def friction(self) -> np.ndarray:
        return np.array([mj.geom_friction[self._floor, 0] for mj in self.models])


# ---------------------------------------------------------------------------------- shared by the MuJoCo backends
# (this one and learner/warp_backend.py: the same MJCF, sensors and conventions)

def load_go2_model(mjcf_path, cone: str | None = None, height_field: HeightField | None = None,
                   grids: int = 1) -> mujoco.MjModel:
    """The Go2 MJCF (with a height field if given, and `grids` height-field assets for it to choose from),
    the friction cone set (None: the MJCF's), checked."""
    model = (mujoco.MjModel.from_xml_path(str(mjcf_path)) if height_field is None
             else _model_with_height_field(mjcf_path, height_field, grids))
    if cone is not None:
        if cone not in CONES:
            raise ValueError(f"cone must be one of {sorted(CONES)}, got {cone!r}")
        model.opt.cone = CONES[cone]
    _check_model(model)
    return model


@dataclass(frozen=True)
class Go2Layout:
    """Where the Go2's sensors, base body, motor limits and home pose sit in an MjModel."""
    foot_touch: np.ndarray          # (4,) sensordata addresses of the feet's touch sensors, FOOT_NAMES order
    base_touch: int
    body_touch: np.ndarray          # every body but the feet: trunk, hips, thighs, calves
    base_body: int
    torque_limit_nm: np.ndarray     # (12,)
    nominal_base_mass_kg: float
    default_qpos: np.ndarray        # (19,) xyzw: the MJCF's `home` key (default pose, level, feet on the floor)

    @classmethod
    def of(cls, model: mujoco.MjModel) -> "Go2Layout":
        def touch_adr(body: str) -> int:
            return int(model.sensor_adr[mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_SENSOR, f"{body}_touch")])

        legs = [f"{leg}_{part}" for leg in LEGS for part in ("hip", "thigh", "calf")]
        base_body = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, "base")
        home = model.key_qpos[mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_KEY, "home")]
        return cls(foot_touch=np.array([touch_adr(f) for f in FOOT_NAMES]), base_touch=touch_adr("base"),
                   body_touch=np.array([touch_adr(b) for b in ["base", *legs]]), base_body=base_body,
                   torque_limit_nm=model.actuator_ctrlrange[:, 1].copy(),
                   nominal_base_mass_kg=float(model.body_mass[base_body]),
                   default_qpos=np.concatenate([home[:3], home[[4, 5, 6, 3]], home[7:]]))


def to_mujoco_state(qpos: np.ndarray, qvel: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Reset states of n envs in the contract's conventions (qpos (n, 19) xyzw, base velocities in the base
    frame) -> MuJoCo's (quaternion wxyz, normalised; free-joint linear velocity in the world). ValueError
    for wrong shapes, a zero quaternion or non-finite values."""
    qpos, qvel = np.asarray(qpos, dtype=float), np.asarray(qvel, dtype=float)
    if qpos.shape != (n, NQ) or qvel.shape != (n, NV):
        raise ValueError(f"reset of {n} envs needs qpos ({n}, {NQ}) and qvel ({n}, {NV}), "
                         f"got {qpos.shape} and {qvel.shape}")
    norm = np.linalg.norm(qpos[:, 3:7], axis=1, keepdims=True)
    if np.any(norm < 1e-9) or not np.all(np.isfinite(qpos)) or not np.all(np.isfinite(qvel)):
        raise ValueError("reset state has a zero quaternion or non-finite values")
    quat_xyzw = qpos[:, 3:7] / norm
    lin_vel_w = Rotation.from_quat(quat_xyzw).apply(qvel[:, :3])
    return (np.concatenate([qpos[:, :3], quat_xyzw[:, [3, 0, 1, 2]], qpos[:, 7:]], axis=1),
            np.concatenate([lin_vel_w, qvel[:, 3:]], axis=1))


def sim_state_of_mujoco(qpos, qvel, sensors, layout: Go2Layout, contact_threshold_n: float, unstable) -> SimState:
    """A `SimState` of new arrays from MuJoCo's qpos (N, 19) wxyz, qvel (N, 18) and sensordata: float64
    numpy for numpy input; for torch tensors (MuJoCo Warp's arrays seen through `wp.to_torch`) tensors on
    their device, in their dtype (`unstable` may then be a bool tensor there)."""
    kind = ArrayKind.of(qpos)                       # numpy: float64, whatever the input's float type
    qpos, qvel, sensors = (kind.asarray(x) for x in (qpos, qvel, sensors))
    foot_force = sensors[:, kind.indices(layout.foot_touch)]
    pressing = sensors > contact_threshold_n
    return SimState(
        base_pos_w=copy_array(qpos[:, :3]),
        base_quat_xyzw=qpos[:, kind.indices(np.array([4, 5, 6, 3]))],
        base_lin_vel_w=copy_array(qvel[:, :3]),
        base_ang_vel_b=copy_array(qvel[:, 3:6]),
        joint_pos=copy_array(qpos[:, 7:]),
        joint_vel=copy_array(qvel[:, 6:]),
        foot_force_n=foot_force,
        foot_contact=foot_force > contact_threshold_n,
        base_contact=pressing[:, int(layout.base_touch)],
        body_contact=kind.xp.any(pressing[:, kind.indices(layout.body_touch)], axis=1),
        sim_unstable=copy_array(kind.asarray(unstable, "bool")),
    )


def hfield_elevation(hf: HeightField | None, env_ids, heights_m) -> tuple[np.ndarray, np.ndarray]:
    """`set_ground`'s arguments checked: env_ids (K,) and MuJoCo's elevation data (K, nrow, ncol), heights
    in [0, 1] of the height field's z size above its geom at z = -max_abs_height_m."""
    if hf is None:
        raise ValueError("set_ground needs a backend built with height_field=HeightField(...)")
    env_ids = np.atleast_1d(np.asarray(env_ids, dtype=int))
    heights_m = np.broadcast_to(np.asarray(heights_m, dtype=float), (len(env_ids), hf.nrow, hf.ncol))
    if np.any(np.abs(heights_m) > hf.max_abs_height_m + 1e-9):
        raise ValueError(f"ground heights must lie within +-{hf.max_abs_height_m} m")
    return env_ids, (heights_m + hf.max_abs_height_m) / (2 * hf.max_abs_height_m)


def _model_with_height_field(mjcf_path, hf: HeightField, grids: int = 1) -> mujoco.MjModel:
    """The MJCF with a height field `terrain` (flat at z = 0 until `set_ground`), the floor plane lowered
    under it to -max_abs_height_m (the ground beyond the grid's edges). The terrain copies the floor's
    friction, solver parameters and material. `grids` > 1 adds height-field assets `terrain_1`, ... of the
    same extent, for a backend whose worlds point the terrain geom at one of them each (Warp)."""
    spec = mujoco.MjSpec.from_file(str(mjcf_path))
    floor = spec.geom("floor")
    h = hf.max_abs_height_m
    for k in range(grids):
        spec.add_hfield(name="terrain" if k == 0 else f"terrain_{k}", size=[hf.half_x_m, hf.half_y_m, 2 * h, 0.1],
                        nrow=hf.nrow, ncol=hf.ncol, userdata=[0.5] * (hf.nrow * hf.ncol))
    g = spec.worldbody.add_geom(name="terrain", type=mujoco.mjtGeom.mjGEOM_HFIELD, hfieldname="terrain",
                                pos=[hf.centre_x_m, 0.0, -h])
    for attr in ("friction", "material", "condim", "solref", "solimp", "margin", "priority"):
        setattr(g, attr, getattr(floor, attr))
    floor.pos = [0.0, 0.0, -h]
    model = spec.compile()
    model.hfield_data[:] = 0.5
    return model


def _check_model(mj: mujoco.MjModel) -> None:
    names = tuple(mujoco.mj_id2name(mj, mujoco.mjtObj.mjOBJ_JOINT, j) for j in range(1, mj.njnt))
    if mj.nq != NQ or mj.nv != NV or mj.jnt_type[0] != mujoco.mjtJoint.mjJNT_FREE or names != JOINT_NAMES:
        raise ValueError(f"not the Go2 MJCF this backend expects (free base + {JOINT_NAMES}): {names}")
    if mj.actuator_trnid[:, 0].tolist() != list(range(1, 13)):
        raise ValueError("actuators must drive the 12 joints in URDF order")
    if mj.na or mujoco.mj_stateSize(mj, FULLPHYSICS) != 1 + NQ + NV:
        raise ValueError("the state array layout assumes no actuator activations or plugin state")
