"""Batched MuJoCo Warp backend for the Go2: N worlds of the same MJCF stepped by MuJoCo Warp's kernels.

It implements the contract of `learner/backend.py` (`Backend`, `SimState`), like `learner/mujoco_backend.py`
and with the same MJCF, touch sensors and conventions; what differs is where the physics runs. MuJoCo Warp
(`pip install 'amp-data[gpu]'`) compiles its kernels for a CUDA GPU or for the CPU: on a GPU it is the
backend for thousands of worlds, on a CPU it is slow and serves tests and development.

How it steps: one `mujoco_warp.Data` holds all N worlds. A policy step at decimation k is k times a small
Warp kernel (the PD law `learner.backend.pd_torques`, float32, into `ctrl`) and `mujoco_warp.step`. On a
CUDA device the k sim steps are captured once as a CUDA graph per k and replayed. Mass and friction are per
world (`put_model(..., batch_sizes=...)`). Per-environment terrain (`GroundBackend`): MuJoCo Warp stores
each height field once for all worlds, but which one a geom uses (`geom_dataid`) is per world. So the model
carries `height_field.grids` height-field assets of the same extent, `set_ground` writes a new grid into
a free one (a grid no world stands on any more is free) and points the worlds' terrain geom at it: any
number of worlds, at most `grids` different grounds at once (the terrain curriculum's levels).

Numbers are float32 in the simulator (MuJoCo's CPU engine: float64); `tests/test_backend_conformance.py`
holds both to the same physics and to each other. Contacts and constraints live in buffers sized when the
backend is built (`contacts_per_world`, `constraints_per_world`): when a step overflows one, the backend
stops with `BufferOverflowError` naming the buffer, instead of MuJoCo Warp's printed warning and dropped
contacts.

`arrays="torch"` (the default on a CUDA device) keeps the state there: `state()` returns a `SimState` of
torch tensors (float32) made from Warp's arrays without a copy to the host (`wp.to_torch`), and `step_pd`
takes its targets and gains as tensors on that device. `arrays="numpy"` (the default on the CPU) copies the
state to the host once per step, as float64 numpy arrays like the CPU backend's. Resets and domain
randomisation take numpy arrays in both modes: they touch the worlds being reset, not every world each step.

Warp caches compiled kernels in `warp.config.kernel_cache_dir` (default `~/.cache/warp/<version>`; set
`WARP_CACHE_PATH` to move it): the first backend on a machine compiles for about 20-60 s, later ones load
in about a second.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import mujoco
import mujoco_warp as mjw
import numpy as np
import warp as wp

from learner.backend import HeightField, SimState  # noqa: F401 (SimState: what state() returns)
from learner.mujoco_backend import (NJ, NV, Go2Layout, hfield_elevation, load_go2_model, sim_state_of_mujoco,
                                    to_mujoco_state)
from robots.go2 import FOOT_NAMES, JOINT_NAMES
from robots.go2.build_mjcf import MJCF_PATH

wp.config.quiet = True

# Overflows of buffers sized at construction (dropped contacts or constraints); solver iteration limits are
# not errors.
_BUFFER_OVERFLOWS = {
    mjw.OverflowType.NEFC: "constraints (constraints_per_world)",
    mjw.OverflowType.BROADPHASE: "broadphase contact pairs (contacts_per_world)",
    mjw.OverflowType.NARROWPHASE: "contacts (contacts_per_world)",
    mjw.OverflowType.CCD: "convex-collision contacts (contacts_per_world)",
    mjw.OverflowType.HFIELD: "height-field contacts",
    mjw.OverflowType.NVMAX: "active degrees of freedom",
}
# The free joint: [pos 3, quat wxyz 4] in qpos, [linear velocity (world) 3, angular (body) 3] in qvel.
JOINT_QPOS, JOINT_QVEL = 7, 6
# a world whose state leaves this range (or is not finite) has diverged; MuJoCo's CPU engine uses 1e10
MAX_ABS_STATE = 1e6


class BufferOverflowError(RuntimeError):
    """A MuJoCo Warp step needed more contacts or constraints than were allocated."""


@wp.kernel
def _pd_ctrl_kernel(q_target: wp.array2d(dtype=wp.float32), qpos: wp.array2d(dtype=wp.float32),
                    qvel: wp.array2d(dtype=wp.float32), kp: wp.array2d(dtype=wp.float32),
                    kd: wp.array2d(dtype=wp.float32), limit: wp.array2d(dtype=wp.float32),
                    ctrl: wp.array2d(dtype=wp.float32)):
    world, j = wp.tid()
    tau = kp[world, j] * (q_target[world, j] - qpos[world, JOINT_QPOS + j]) - kd[world, j] * qvel[world, JOINT_QVEL + j]
    ctrl[world, j] = wp.clamp(tau, -limit[world, j], limit[world, j])


def _grid_key(elevation: np.ndarray) -> bytes:
    """What identifies a ground: a digest of its elevation data as the simulator stores it (float32)."""
    return hashlib.blake2b(np.ascontiguousarray(elevation, dtype=np.float32).tobytes(), digest_size=16).digest()


def default_device() -> str:
    """"cuda:0" where Warp sees a CUDA GPU, else "cpu"."""
    return "cuda:0" if wp.is_cuda_available() else "cpu"


class WarpBackend:
    """N Go2 worlds in MuJoCo Warp on `device` ("cpu", "cuda", "cuda:1"; None: `default_device()`).

    `contact_threshold_n` and `cone` as in `MujocoBackend`. `contacts_per_world` / `constraints_per_world`:
    buffer sizes (a Go2 lying on its side has about 12 contacts, 4-6 constraint rows each).
    `cuda_graph`: replay the decimated step as a CUDA graph (default: on CUDA devices).
    `arrays`: "torch" (state as tensors on the device), "numpy" (host copies) or "auto" (torch on a CUDA
    device, numpy on the CPU).
    """

    supports_height_field = True      # up to height_field.grids different grounds at once

    def __init__(self, num_envs: int, device: str | None = None, mjcf_path: str | Path = MJCF_PATH,
                 contact_threshold_n: float = 1.0, cone: str | None = None,
                 height_field: HeightField | None = None, contacts_per_world: int = 48,
                 constraints_per_world: int = 256, cuda_graph: bool | None = None, arrays: str = "auto"):
        if num_envs < 1:
            raise ValueError(f"num_envs must be >= 1, got {num_envs}")
        self.height_field = height_field
        grids = height_field.grids if height_field is not None else 1
        if grids < 1:
            raise ValueError(f"height_field.grids must be >= 1, got {grids}")
        mj = load_go2_model(mjcf_path, cone, height_field, grids)
        self.mj_model = mj
        self.device = wp.get_device(device or default_device())
        self.num_envs = num_envs
        self.sim_dt = float(mj.opt.timestep)
        self.contact_threshold_n = float(contact_threshold_n)
        self.joint_names, self.foot_names = JOINT_NAMES, FOOT_NAMES
        self.cuda_graph = self.device.is_cuda if cuda_graph is None else bool(cuda_graph and self.device.is_cuda)
        if arrays not in ("auto", "numpy", "torch"):
            raise ValueError(f"arrays must be auto, numpy or torch, got {arrays!r}")
        self.arrays = ("torch" if self.device.is_cuda else "numpy") if arrays == "auto" else arrays
        if self.arrays == "torch":
            import torch
            self._torch = torch

        self.layout = Go2Layout.of(mj)
        self._base_body = self.layout.base_body
        self.torque_limit_nm = self.layout.torque_limit_nm.copy()
        self.nominal_base_mass_kg = self.layout.nominal_base_mass_kg
        self.default_qpos = self.layout.default_qpos

        with wp.ScopedDevice(self.device):
            batch = {"body_mass": num_envs, "geom_friction": num_envs}
            if height_field is not None:
                batch["geom_dataid"] = num_envs        # each world's terrain geom picks its height field
            self.model = mjw.put_model(mj, batch_sizes=batch)
            self.model.opt.warn_overflow = 0      # checked after every step instead (BufferOverflowError)
            self.data = mjw.make_data(mj, nworld=num_envs, nconmax=contacts_per_world, njmax=constraints_per_world)
            zeros = np.zeros((num_envs, NJ), dtype=np.float32)
            self._q_target, self._kp, self._kd, self._limit = (wp.array(zeros, dtype=wp.float32) for _ in range(4))
        self._graphs: dict[int, wp.Graph] = {}
        if height_field is not None:
            self._terrain_geom = mujoco.mj_name2id(mj, mujoco.mjtObj.mjOBJ_GEOM, "terrain")
            self._grid_hfield = [mujoco.mj_name2id(mj, mujoco.mjtObj.mjOBJ_HFIELD, "terrain" if k == 0 else f"terrain_{k}")
                                 for k in range(grids)]
            self._grid_adr = mj.hfield_adr[self._grid_hfield].copy()
            self._grid_key: list[bytes | None] = [None] * grids   # the elevation each grid holds (None: unused)
            self._world_grid = np.zeros(num_envs, dtype=np.int64)  # every world starts on grid 0, flat
            self._grid_key[0] = _grid_key(np.full((height_field.nrow, height_field.ncol), 0.5))
        self._host = None        # (qpos, qvel, sensordata) on the host since the last step, or None
        self._unstable = np.zeros(num_envs, dtype=bool)
        self._unstable_on_device = None     # arrays="torch": a copy of _unstable there, made when it changes
        self.reset(np.arange(num_envs), np.tile(self.default_qpos, (num_envs, 1)), np.zeros((num_envs, NV)))

    @classmethod
    def options_from(cls, env) -> dict:
        """Constructor options from an `EnvConfig`."""
        return {"device": None if env.sim_device == "auto" else env.sim_device, "cone": env.friction_cone,
                "arrays": env.sim_arrays}

    def close(self) -> None:
        self._graphs.clear()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ------------------------------------------------------------------ reset and step

    def reset(self, env_ids, qpos: np.ndarray, qvel: np.ndarray) -> None:
        """Put worlds `env_ids` (n,) into qpos (n, 19), qvel (n, 18) (conventions of the module doc of
        `learner/backend.py`); contacts and sensors are computed at the new state; other worlds keep their
        state and sensor readings."""
        env_ids = np.atleast_1d(np.asarray(env_ids, dtype=int))
        mj_qpos, mj_qvel = to_mujoco_state(qpos, qvel, len(env_ids))
        mask = np.zeros(self.num_envs, dtype=bool)
        mask[env_ids] = True
        d = self.data
        sensors_before = d.sensordata.numpy().copy()
        with wp.ScopedDevice(self.device):
            mjw.reset_data(self.model, d, reset=wp.array(mask, dtype=bool))
            all_qpos, all_qvel = d.qpos.numpy().copy(), d.qvel.numpy().copy()
            all_qpos[env_ids], all_qvel[env_ids] = mj_qpos, mj_qvel
            d.qpos.assign(all_qpos)
            d.qvel.assign(all_qvel)
            mjw.forward(self.model, d)
            sensors = d.sensordata.numpy().copy()
            sensors[~mask] = sensors_before[~mask]
            d.sensordata.assign(sensors)
        self._unstable[env_ids] = False
        self._unstable_on_device = None
        self._host = None

    def step_pd(self, q_target_rad: np.ndarray, kp, kd, substeps: int = 1, torque_limit_nm=None) -> None:
        """Track joint targets (N, 12) rad with the PD law `pd_torques`, recomputed at every sim step
        (arguments as `MujocoBackend.step_pd`)."""
        if int(substeps) != substeps or substeps < 1:
            raise ValueError(f"substeps must be a positive integer, got {substeps}")
        if tuple(q_target_rad.shape) != (self.num_envs, NJ):
            raise ValueError(f"q_target_rad must be ({self.num_envs}, {NJ}), got {tuple(q_target_rad.shape)}")
        limit = self.torque_limit_nm if torque_limit_nm is None else torque_limit_nm
        shape = (self.num_envs, NJ)
        for dst, src in ((self._q_target, q_target_rad), (self._kp, kp), (self._kd, kd), (self._limit, limit)):
            if isinstance(src, (np.ndarray, float, int)):
                dst.assign(np.ascontiguousarray(np.broadcast_to(np.asarray(src, dtype=np.float32), shape)))
            else:       # a tensor on this device: copied there, never through the host
                wp.copy(dst, wp.from_torch(src.to(self._torch.float32).expand(shape).contiguous()))
        if self.cuda_graph:
            if substeps not in self._graphs:
                with wp.ScopedCapture(device=self.device) as capture:
                    self._substeps(substeps)
                self._graphs[substeps] = capture.graph
            wp.capture_launch(self._graphs[substeps])
        else:
            self._substeps(substeps)
        self._check_after_step()

    def _substeps(self, substeps: int) -> None:
        d = self.data
        with wp.ScopedDevice(self.device):
            for _ in range(substeps):
                wp.launch(_pd_ctrl_kernel, dim=(self.num_envs, NJ),
                          inputs=[self._q_target, d.qpos, d.qvel, self._kp, self._kd, self._limit], outputs=[d.ctrl])
                mjw.step(self.model, d)

    def _check_after_step(self) -> None:
        overflow = self.data.overflow.numpy()
        for bit, what in _BUFFER_OVERFLOWS.items():
            worlds = np.flatnonzero(overflow & int(bit))
            if len(worlds):
                raise BufferOverflowError(
                    f"MuJoCo Warp ran out of {what} in {len(worlds)} of {self.num_envs} worlds (first: {worlds[0]}); "
                    f"build WarpBackend with a larger buffer")
        if self.arrays == "torch":
            t = self._torch
            qpos, qvel = wp.to_torch(self.data.qpos), wp.to_torch(self.data.qvel)
            diverged = ~(t.isfinite(qpos).all(dim=1) & t.isfinite(qvel).all(dim=1)
                         & (qpos.abs().amax(dim=1) < MAX_ABS_STATE) & (qvel.abs().amax(dim=1) < MAX_ABS_STATE))
            ids = np.flatnonzero(diverged.cpu().numpy()) if bool(diverged.any()) else np.zeros(0, dtype=int)
        else:
            # one copy of the state to the host per step, shared with state()
            self._host = tuple(a.numpy() for a in (self.data.qpos, self.data.qvel, self.data.sensordata))
            qpos, qvel = self._host[:2]
            diverged = ~(np.isfinite(qpos).all(axis=1) & np.isfinite(qvel).all(axis=1)
                         & (np.abs(qpos).max(axis=1) < MAX_ABS_STATE) & (np.abs(qvel).max(axis=1) < MAX_ABS_STATE))
            ids = np.flatnonzero(diverged)
        if len(ids):
            # as MuJoCo's CPU engine does: back to the default state, flagged until the env's next reset
            self.reset(ids, np.tile(self.default_qpos, (len(ids), 1)), np.zeros((len(ids), NV)))
            self._unstable[ids] = True
            self._unstable_on_device = None

    # ------------------------------------------------------------------ reading the state

    def state(self) -> SimState:
        """The snapshot after the last reset/step (see `SimState`): float64 copies on the host, or with
        `arrays="torch"` float32 tensors on the device."""
        if self.arrays == "torch":
            if self._unstable_on_device is None:
                self._unstable_on_device = self._torch.as_tensor(self._unstable, device=wp.device_to_torch(self.device))
            return sim_state_of_mujoco(*(wp.to_torch(a) for a in (self.data.qpos, self.data.qvel, self.data.sensordata)),
                                       self.layout, self.contact_threshold_n, self._unstable_on_device)
        if self._host is None:
            self._host = tuple(a.numpy() for a in (self.data.qpos, self.data.qvel, self.data.sensordata))
        return sim_state_of_mujoco(*self._host, self.layout, self.contact_threshold_n, self._unstable)

    # ------------------------------------------------------------------ domain randomisation

    def set_base_mass_offset(self, env_ids, offset_kg) -> None:
        """Trunk mass = nominal + offset_kg, per world (inertia tensor and centre of mass kept)."""
        env_ids = np.atleast_1d(np.asarray(env_ids, dtype=int))
        offset_kg = np.broadcast_to(np.asarray(offset_kg, dtype=float), env_ids.shape)
        if np.any(self.nominal_base_mass_kg + offset_kg <= 0):
            raise ValueError("base mass offset would make the trunk mass non-positive")
        mass = self.model.body_mass.numpy().copy()
        mass[env_ids, self._base_body] = self.nominal_base_mass_kg + offset_kg
        self.model.body_mass.assign(mass)

    def set_friction(self, env_ids, mu) -> None:
        """Sliding friction coefficient of every geom, per world (see `MujocoBackend.set_friction`)."""
        env_ids = np.atleast_1d(np.asarray(env_ids, dtype=int))
        mu = np.broadcast_to(np.asarray(mu, dtype=float), env_ids.shape)
        if np.any(mu < 0):
            raise ValueError("friction coefficients must be >= 0")
        friction = self.model.geom_friction.numpy().copy()
        friction[env_ids, :, 0] = mu[:, None]
        self.model.geom_friction.assign(friction)

    def set_ground(self, env_ids, heights_m: np.ndarray) -> None:
        """Ground heights (m) per environment on the `height_field` grid (see `GroundBackend`); ValueError when
        more than `height_field.grids` different grounds would be in use at once."""
        one_grid = np.ndim(heights_m) == 2
        env_ids, elevation = hfield_elevation(self.height_field, env_ids, heights_m)
        keys = [_grid_key(elevation[0])] * len(env_ids) if one_grid else [_grid_key(e) for e in elevation]
        world_grid = self._world_grid.copy()
        world_grid[env_ids] = -1                               # these worlds leave their grounds
        for key in dict.fromkeys(keys):                        # each different ground once
            members = env_ids[np.array([k == key for k in keys])]
            if key in self._grid_key:
                grid = self._grid_key.index(key)
            else:
                in_use = set(world_grid[world_grid >= 0].tolist())
                free = [g for g in range(len(self._grid_key)) if g not in in_use]
                if not free:
                    raise ValueError(f"set_ground: more than {len(self._grid_key)} different grounds at once; build "
                                     f"the backend with HeightField(grids=...) of at least as many")
                grid = free[0]
                data = np.ascontiguousarray(elevation[keys.index(key)], dtype=np.float32).ravel()
                wp.copy(self.model.hfield_data, wp.array(data, dtype=wp.float32, device=self.device),
                        dest_offset=int(self._grid_adr[grid]), count=data.size)
                self._grid_key[grid] = key
            world_grid[members] = grid
        self._world_grid = world_grid
        dataid = self.model.geom_dataid.numpy()
        dataid[:, self._terrain_geom] = np.asarray(self._grid_hfield)[world_grid]
        self.model.geom_dataid.assign(dataid)

    @property
    def ground_grid(self) -> np.ndarray:
        """(N,) which of the `height_field.grids` stored grounds each world stands on."""
        return self._world_grid.copy()

    @property
    def base_mass_kg(self) -> np.ndarray:
        return self.model.body_mass.numpy()[:, self._base_body].astype(float)

    @property
    def friction(self) -> np.ndarray:
        return self.model.geom_friction.numpy()[:, 0, 0].astype(float)
