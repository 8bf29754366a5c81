"""The Go2 AMP locomotion task, written once over a backend's state arrays (N environments).

A backend (the contract in `learner/backend.py`; `learner.mujoco_backend.MujocoBackend`) only resets, steps PD targets and returns
a `SimState`. Everything else is here: actions -> joint targets, observations, Table III task rewards, the
AMP observation (the same `amp_data.expert.amp_obs.amp_observation` the banks use), terminations kept apart from
time-outs, Table IV domain randomisation and reference state initialisation (RSI) from bank frames.

Policy observation (31 values, legged_gym scales):

| slice | value | scale |
|---|---|---|
| 0 | forward command v_x (m/s, base frame) | 2.0 |
| 1:13 | joint positions minus the default pose (rad, URDF order) | 1.0 |
| 13:25 | joint velocities (rad/s) | 0.05 |
| 25:28 | gravity direction in the base frame (unit; (0, 0, -1) upright) | 1.0 |
| 28:31 | base angular velocity (rad/s, base frame) | 0.25 |

With `env.action_filter_hz` the filtered action follows (12 values), with `env.gait_clock` sin and cos of the
gait clock's phase (2 values, `learner/gait_clock.py`). With `env.terrain = "waves"` two values follow: the
wave amplitude / 3 cm and its spatial frequency / the highest (`learner/terrain.py`), as the paper adds the
terrain's parameters. Heights (the base-height reward, the AMP observation's base height, the fall check, the
feet at a reset) are then above the ground under the point, not above z = 0. With `env.observe_last_action`
the policy's previous action comes last (12 values, as a joint-target offset in rad).

Action (12,): joint target = default pose + `action_scale` * action, clipped to the soft joint limits. With
`env.reference_feedforward` the dog's mean joint angles at the gait clock's phase take the default pose's
place (a trajectory generator under a residual policy, Iscen et al. 2018's PMTG with the dog's trajectory):
the policy's action is then a correction to the dog's stride, bounded by `env.residual_limit_rad` if set.
`env.stance_torque_feedforward` adds the torques that hold that pose on the clock's stance feet, over kp
(`learner/stance_torque.py`), so that the motors do not sag under the robot's weight.
`env.feedforward_swing_clearance_m` raises that pose's swing feet to a floor where the dog's skim the ground
(`learner/swing_clearance.py`).

Arrays: the task keeps its buffers in the kind of array its backend's `SimState` holds (`learner/arrays.py`):
numpy for CPU MuJoCo; torch tensors on the device for a backend that keeps its state there, so stepping
never copies the state to the host. Resets draw their states on the host (the random generator, the
reference frames) and send only the resetting environments' states over; the one host sync per step is the
indices of the environments that ended. The terrain's heights stay on the host.
"""

from __future__ import annotations

import dataclasses
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
from scipy.spatial.transform import Rotation

from amp_data.errors import InputError
from amp_data.expert.amp_obs import AMP_OBS_DIM, amp_observation
from learner import rewards
from learner.arrays import ArrayKind, copy, namespace, to_numpy
from learner.backend import pd_torques
from learner.command_curriculum import CommandCurriculum
from learner.gait_clock import GaitClocks, desired_contact, profile_at_phase
from learner.swing_clearance import lifted_joint_pos_rad
from learner.terrain import WaveCurriculum
from robots.go2.kinematics import feet_fk
from robots.go2 import model as go2

OBS_DIM = 31
TERRAIN_OBS_DIM = 2
FILTER_OBS_DIM = 12      # with env.action_filter_hz: the filtered action as a joint-target offset (rad)
CLOCK_OBS_DIM = 2        # with env.gait_clock: sin, cos of 2 pi phase
LAST_ACTION_OBS_DIM = 12  # with env.observe_last_action: the previous action as a joint-target offset (rad)


def observation_dim(action_filter_hz: float, terrain: str, gait_clock: bool = False,
                    last_action: bool = False) -> int:
    """The policy's observation size: the 31 base values, the filtered action with an action filter, the
    gait clock with one, the terrain's values on terrain, the previous action with env.observe_last_action
    (in that order)."""
    return (OBS_DIM + (FILTER_OBS_DIM if action_filter_hz > 0 else 0) + (CLOCK_OBS_DIM if gait_clock else 0)
            + (TERRAIN_OBS_DIM if terrain != "flat" else 0) + (LAST_ACTION_OBS_DIM if last_action else 0))
ACT_DIM = 12
OBS_SCALES = np.concatenate([[2.0], np.ones(12), np.full(12, 0.05), np.ones(3), np.full(3, 0.25)])


@dataclass
class StepResult:
    """One policy step of N environments (numpy arrays, or tensors of the task's kind: `Go2AmpTask.kind`).

    obs: (N, 31) observation to act on next (after resets, for environments that ended).
    next_obs: (N, 31) observation reached by this step, before any reset (the bootstrap state).
    amp_obs, next_amp_obs: (N, 43) the AMP pair (s, s') of this step, s' before any reset.
    amp_window: (N, K * 43) the discriminator's input for this step: the AMP observations at policy steps
    t + 1 - (K - 1) h, ..., t + 1 (h = amp.frame_stride), oldest first, ending at s'; for K = 2, h = 1 it is
    (s, s'). Steps before the episode's start are the reference motion's own past for RSI starts, the
    first state repeated for standing starts. With amp.gait_condition one-hot columns of the environment's
    gait clock's bank follow (N, K * 43 + banks).
    task_reward: (N,) Table III sum (scaled by dt); terms: {name: (N,)}.
    terminated: (N,) bool, a failure (base contact, fall, simulator blow-up); timed_out: (N,) bool, the
    episode reached its length without failing. Never both.
    """
    obs: np.ndarray
    next_obs: np.ndarray
    amp_obs: np.ndarray
    next_amp_obs: np.ndarray
    amp_window: np.ndarray
    task_reward: np.ndarray
    terms: dict
    terminated: np.ndarray
    timed_out: np.ndarray
    forward_vel_m_s: np.ndarray


def projected_gravity(base_quat_xyzw):
    """(N, 3) world gravity direction (0, 0, -1) in the base frame: -R^T e_z, the last row of R negated."""
    xp = namespace(base_quat_xyzw)
    x, y, z, w = (base_quat_xyzw[..., i] for i in range(4))
    # third row of the rotation matrix base -> world
    r20 = 2 * (x * z - w * y)
    r21 = 2 * (y * z + w * x)
    r22 = 1 - 2 * (x * x + y * y)
    return -xp.stack([r20, r21, r22], axis=-1)


def amp_obs_of_state(st, ground_z_m=0.0) -> np.ndarray:
    """AMP observation (N, 43) of a SimState, by the banks' own function; base height above `ground_z_m`."""
    return amp_observation(st.joint_pos, st.foot_pos_b, st.base_lin_vel_b, st.base_ang_vel_b,
                           st.joint_vel, st.base_pos_w[:, 2] - ground_z_m)


def lifted_base_z_m(base_quat_xyzw: np.ndarray, joint_pos: np.ndarray, base_z_m: np.ndarray,
                    ground_z_m=None) -> np.ndarray:
    """(n,) base heights at least `base_z_m`, raised so that no foot sphere starts inside the ground (the
    lowest 2 mm above it; bank heights are above flat ground). `ground_z_m(x, y)`: ground height under world
    offsets (n, 4) of the feet from the base origin (None: flat, z = 0). Host numpy."""
    rot = Rotation.from_quat(base_quat_xyzw).as_matrix()
    foot_w = np.einsum("nij,nkj->nki", rot, feet_fk(joint_pos))          # relative to the base origin
    ground = 0.0 if ground_z_m is None else ground_z_m(foot_w[..., 0], foot_w[..., 1])
    lowest = (base_z_m[:, None] + foot_w[..., 2] - ground).min(axis=1)
    return base_z_m + np.clip(go2.FOOT_RADIUS_M + 0.002 - lowest, 0.0, None)


class Go2AmpTask:
    """N Go2 environments doing the AMP locomotion task. `cfg`: TrainConfig (env, reward, randomization).

    `expert`: an `amp_data.expert.sampler.ExpertSampler` (reference states for RSI; its banks' mean base height
    is the base-height target when the config leaves it 0). `rng`: numpy Generator for every draw here.
    """

    def __init__(self, cfg, backend, expert, rng: np.random.Generator):
        self.cfg, self.env_cfg, self.rew_cfg, self.dr_cfg = cfg, cfg.env, cfg.reward, cfg.randomization
        self.backend, self.expert, self.rng = backend, expert, rng
        self.num_envs = backend.num_envs
        self.dt_s = self.env_cfg.sim_dt_s * self.env_cfg.decimation
        self.max_episode_steps = int(round(self.env_cfg.episode_length_s / self.dt_s))
        self.default_pose = go2.default_pose_rad()
        self.soft_limits = go2.soft_limits_rad()
        scale = self.env_cfg.action_scale
        # action range that keeps the joint target inside the soft limits (per joint, policy units), or the
        # feedforward's bounded correction
        self.action_low = (self.soft_limits[:, 0] - self.default_pose) / scale
        self.action_high = (self.soft_limits[:, 1] - self.default_pose) / scale
        if self.env_cfg.residual_limit_rad:
            self.action_high = np.full(12, self.env_cfg.residual_limit_rad / scale)
            self.action_low = -self.action_high
        self.torque_limit = backend.torque_limit_nm
        self.base_height_target_m = self.rew_cfg.base_height_target_m or float(
            expert.mean_base_height_m())
        # the backend's kind of array, and the constants the step uses in it (the host copies above stay
        # numpy: the learner's action bounds, the resets)
        self.kind = k = ArrayKind.of(backend.state().joint_pos)
        self._default_pose_k, self._soft_limits_k, self._action_low_k, self._action_high_k, self._torque_limit_k, \
            self._obs_scales_k = (k.asarray(x) for x in (self.default_pose, self.soft_limits, self.action_low,
                                                         self.action_high, self.torque_limit, OBS_SCALES))
        n = self.num_envs
        self.command_vx = k.zeros(n)
        self.episode_step = k.zeros(n, "int64")
        self.kp = k.asarray(np.full((n, 1), self.env_cfg.kp_nm_rad))
        self.kd = k.asarray(np.full((n, 1), self.env_cfg.kd_nm_s_rad))
        self.command_override: float | None = None   # evaluation: a fixed command
        self._clip_speed_m_s, self._bank_clip_cdf, self._cdf_bank = self._bank_command_tables(expert)
        self.command_curriculum = None
        if self.env_cfg.command_curriculum_step_m_s > 0:
            e = self.env_cfg
            fastest = (e.command_vx_range_m_s[1] if e.command_source == "range"
                       else float(self._clip_speed_m_s.max()) * (1 + e.command_bank_jitter))
            self.command_curriculum = CommandCurriculum(e.command_curriculum_start_m_s, e.command_curriculum_step_m_s,
                                                        fastest, e.command_curriculum_episodes)
        self._prev_joint_vel = k.zeros((n, 12))
        self._foot_air_time_s = k.zeros((n, 4))   # time since each foot last touched the floor
        self._last_foot_contact = k.zeros((n, 4), "bool")
        self.terrain = None
        if self.env_cfg.terrain == "waves":
            self.terrain = WaveCurriculum(n, self.env_cfg.terrain_levels, self.env_cfg.terrain_max_amplitude_m,
                                          tuple(self.env_cfg.terrain_wavelength_m), backend.height_field)
        # first-order low-pass of the actions (Peng et al. 2020 filter their imitation policy's actions the
        # same way): y += alpha (a - y) each policy step, alpha = 1 - exp(-2 pi f_c dt)
        f_c = self.env_cfg.action_filter_hz
        self.filter_alpha = 1.0 - np.exp(-2 * np.pi * f_c * self.dt_s) if f_c > 0 else None
        self._filtered_action = k.zeros((n, 12))
        self._last_action = k.zeros((n, 12))     # the policy's previous action (clipped, policy units)
        self.obs_dim = observation_dim(f_c, self.env_cfg.terrain, self.env_cfg.gait_clock,
                                       self.env_cfg.observe_last_action)
        self.clocks = None
        if self.env_cfg.gait_clock:
            self.clocks = GaitClocks(expert)
            self._clock_freq_k, self._clock_duty_k, self._clock_offset_k, self._clock_foot_height_k = (
                k.asarray(x) for x in (self.clocks.freq_hz, self.clocks.duty, self.clocks.offset,
                                       self.clocks.foot_height_m))
        self._clock_stance_torque = self._clock_stance_torque_k = None   # (gaits, 12, bins) N m, host and kind
        if self.env_cfg.reference_feedforward:
            self.set_feedforward_swing_clearance(self.env_cfg.feedforward_swing_clearance_m)
        self.gait = k.zeros(n, "int64")          # the bank whose clock each environment runs
        # kp of each gait (env.kp_by_gait_nm_rad; else env.kp_run_nm_rad for running gaits; else kp_nm_rad),
        # indexed by `gait`, times each environment's domain-randomisation factor
        kp_by_gait = self.env_cfg.kp_by_gait_nm_rad
        if kp_by_gait and len(kp_by_gait) != len(self.clocks.gaits):
            names = ", ".join(g.bank_name for g in self.clocks.gaits)
            raise InputError(None, f"env.kp_by_gait_nm_rad has {len(kp_by_gait)} gains for "
                             f"{len(self.clocks.gaits)} banks ({names}): give one per bank, in their order")
        if not kp_by_gait and self.env_cfg.kp_run_nm_rad and self.clocks is not None:
            kp_by_gait = [self.env_cfg.kp_run_nm_rad if g.is_run else self.env_cfg.kp_nm_rad
                          for g in self.clocks.gaits]
        gaits = len(self.clocks.gaits) if self.clocks is not None else 1
        # reward.gait_clock_swing_height_run_only: the term's factor by gait, 1 for running gaits, else 0
        self._swing_height_gait_k = None
        if self.rew_cfg.gait_clock_swing_height_run_only and self.clocks is not None:
            if not any(g.is_run for g in self.clocks.gaits):
                names = ", ".join(g.bank_name for g in self.clocks.gaits)
                raise InputError(None, f"reward.gait_clock_swing_height_run_only pays running gaits only, and no "
                                 f"bank ({names}) holds one (hind duty factor below 0.5): the term would pay "
                                 f"nothing; add a running bank or set it to false")
            self._swing_height_gait_k = k.asarray(np.array([float(g.is_run) for g in self.clocks.gaits]))
        self._kp_gait_k = k.asarray(np.array(kp_by_gait or [self.env_cfg.kp_nm_rad] * gaits, dtype=float))
        self._kp_factor = k.asarray(np.ones(n))
        self.clock_phase = k.zeros(n)            # in [0, 1), 0 at FL's touchdown
        self._path_m = k.zeros(n)           # horizontal path length of each episode so far (terrain curriculum)
        self._obs = k.zeros((n, self.obs_dim), "float32")
        # AMP observations of the last `history_steps` policy steps, a ring buffer over axis 1 (newest at
        # `_head`); the discriminator's window is every `frame_stride`-th of them
        amp = cfg.amp
        self.window_frames, self.frame_stride = amp.window_frames, amp.frame_stride
        self.history_steps = (amp.window_frames - 1) * amp.frame_stride + 1
        self._amp_history = k.zeros((n, self.history_steps, AMP_OBS_DIM))
        self._head = 0
        # amp.gait_condition: each window ends with its gait clock's bank as a one-hot label
        self._gait_label_k = k.asarray(np.eye(len(self.clocks.gaits))) if amp.gait_condition else None

    @staticmethod
    def _bank_command_tables(expert):
        """Each clip's mean forward speed; per bank with a weight the clips' cumulative probabilities within
        it, and that bank's index."""
        speed = expert.clip_forward_speed_m_s()
        bank = np.array([c.bank_index for c in expert.clips])
        prob = np.asarray(expert.clip_probabilities)
        cdf, cdf_bank = [], []
        for b in range(len(expert.banks)):
            p = np.where(bank == b, prob, 0.0)
            if p.sum() > 0:
                cdf.append(np.cumsum(p) / p.sum())
                cdf_bank.append(b)
        return speed, cdf, np.array(cdf_bank, dtype=np.int64)

    def sample_commands(self, n: int) -> tuple[np.ndarray, np.ndarray | None]:
        """(n,) forward commands, m/s, as `env.command_source` says, before any curriculum's cap; and with
        banks commands the bank each was drawn from (n,), else None."""
        e = self.env_cfg
        if e.command_source == "range":
            return self.rng.uniform(*e.command_vx_range_m_s, n), None
        u = self.rng.random((3, n))
        bank = np.minimum((u[0] * len(self._bank_clip_cdf)).astype(np.int64), len(self._bank_clip_cdf) - 1)
        clip = np.empty(n, dtype=np.int64)
        for b, cdf in enumerate(self._bank_clip_cdf):   # a loop over banks
            m = bank == b
            clip[m] = np.minimum(np.searchsorted(cdf, u[1, m], side="right"), len(cdf) - 1)
        jitter = 1.0 + e.command_bank_jitter * (2.0 * u[2] - 1.0)
        return self._clip_speed_m_s[clip] * jitter, self._cdf_bank[bank]

    @property
    def command_cap_m_s(self) -> float | None:
        """The command curriculum's cap (m/s), or None without one."""
        return None if self.command_curriculum is None else self.command_curriculum.cap_m_s

    # ------------------------------------------------------------------ observations

    def observation(self, st, command_vx, env_ids=None):
        """(n, obs_dim) float32 observations of a state of all environments or of `env_ids` (host indices)."""
        k = self.kind
        obs = k.concat([command_vx[:, None], st.joint_pos - self._default_pose_k, st.joint_vel,
                        projected_gravity(st.base_quat_xyzw), st.base_ang_vel_b], axis=1)
        parts = [k.astype(obs * self._obs_scales_k, "float32")]
        if self.filter_alpha is not None:
            filtered = self._filtered_action if env_ids is None else self._filtered_action[k.indices(env_ids)]
            parts.append(k.astype(self.env_cfg.action_scale * filtered, "float32"))
        if self.clocks is not None:
            angle = 2 * np.pi * (self.clock_phase if env_ids is None else self.clock_phase[k.indices(env_ids)])
            parts.append(k.astype(k.xp.stack([k.xp.sin(angle), k.xp.cos(angle)], axis=1), "float32"))
        if self.terrain is not None:
            parts.append(k.asarray(self.terrain.observation(env_ids), "float32"))
        if self.env_cfg.observe_last_action:
            last = self._last_action if env_ids is None else self._last_action[k.indices(env_ids)]
            parts.append(k.astype(self.env_cfg.action_scale * last, "float32"))
        return parts[0] if len(parts) == 1 else k.concat(parts, axis=1)

    def ground_z_m(self, env_ids, x_m, y_m) -> np.ndarray:
        """Ground height (m) under world points of environments `env_ids`; 0 on flat ground."""
        if self.terrain is None:
            return np.zeros(np.shape(x_m))
        return self.terrain.height_m(env_ids, x_m, y_m)

    def _ground_under_base_m(self, st, env_ids=None):
        """Ground height (m) under each base of `st` (all environments, or `env_ids`), in the task's kind;
        0.0 on flat ground."""
        if self.terrain is None:
            return 0.0
        ids = np.arange(self.num_envs) if env_ids is None else env_ids
        return self.kind.asarray(self.ground_z_m(ids, to_numpy(st.base_pos_w[:, 0]), to_numpy(st.base_pos_w[:, 1])))

    def set_terrain_level(self, level: int, env_ids=None) -> None:
        """Put environments (default all) on one wave level, from their next reset on (evaluation)."""
        ids = np.arange(self.num_envs) if env_ids is None else np.asarray(env_ids)
        self.terrain.level[ids] = level
        self.backend.set_ground(ids, self.terrain.grid(int(level)))

    @property
    def terrain_amplitude_m(self) -> np.ndarray | None:
        """(N,) each environment's wave amplitude (the curriculum's state), or None without terrain."""
        return None if self.terrain is None else self.terrain.amplitude_m(self.terrain.level)

    # ------------------------------------------------------------------ resets

    def reset(self):
        """Reset every environment; returns the observation (N, obs_dim)."""
        self._reset_envs(np.arange(self.num_envs))
        return copy(self._obs)

    def _initial_states(self, n: int, env_ids=None):
        """qpos (n, 19) xyzw and qvel (n, 18) base-frame: random bank frames (RSI, a share `rsi_fraction`)
        or standing still in the default pose; the AMP history before them (n, history_steps, 43),
        the reference's own for RSI starts, NaN for standing starts; and the sampler clip (n,) and time
        (n,) s of each start's bank frame (clip -1 for standing starts)."""
        qpos, qvel = np.zeros((n, 19)), np.zeros((n, 18))
        ref_clip, ref_time_s = np.full(n, -1, dtype=np.int64), np.zeros(n)
        history = np.full((n, self.history_steps, AMP_OBS_DIM), np.nan)
        qpos[:, 6] = 1.0
        qpos[:, 7:] = self.default_pose
        z = np.zeros(n)                        # standing: the lift below puts the feet on the floor
        if self.env_cfg.reference_state_init:
            ids = np.flatnonzero(self.rng.random(n) < self.env_cfg.rsi_fraction)
            ref = self.expert.reference_states(len(ids), self.rng)
            qpos[ids, 3:7] = ref["root_quat"]
            if self.terrain is not None and len(ids):
                # face +x, along the height field, whatever way the dog faced in the mocap: the observations
                # do not depend on the heading, the ground does (the grid runs along +x from the origin)
                rot = Rotation.from_quat(qpos[ids, 3:7])
                qpos[ids, 3:7] = (Rotation.from_euler("z", -rot.as_euler("ZYX")[:, :1]) * rot).as_quat()
            qpos[ids, 7:] = np.clip(ref["joint_pos"], self.soft_limits[:, 0], self.soft_limits[:, 1])
            qvel[ids, 0:3], qvel[ids, 3:6], qvel[ids, 6:] = ref["base_lin_vel"], ref["base_ang_vel"], ref["joint_vel"]
            z[ids] = ref["root_pos"][:, 2]
            if len(ids):
                history[ids] = self.expert.amp_history_at(ref["clip"], ref["time_s"], self.history_steps)
                ref_clip[ids], ref_time_s[ids] = ref["clip"], ref["time_s"]
        ground = (lambda x, y: self.ground_z_m(env_ids, x, y)) if env_ids is not None else None
        qpos[:, 2] = lifted_base_z_m(qpos[:, 3:7], qpos[:, 7:], z, ground)
        return qpos, qvel, history, ref_clip, ref_time_s

    def _reset_envs(self, ids: np.ndarray) -> None:
        """Reset environments `ids` (host indices): draws and reference states on the host, the rest in
        the task's kind of array."""
        if len(ids) == 0:
            return
        n = len(ids)
        k, xp = self.kind, self.kind.xp
        kid = k.indices(ids)
        dr = self.dr_cfg
        if dr.enabled:
            self.backend.set_base_mass_offset(ids, self.rng.uniform(*dr.base_mass_offset_kg, n))
            self.backend.set_friction(ids, self.rng.uniform(*dr.friction, n))
            self._kp_factor[kid] = k.asarray(self.rng.uniform(*dr.pd_gain_factor, n))
            self.kd[kid, 0] = k.asarray(self.env_cfg.kd_nm_s_rad * self.rng.uniform(*dr.pd_gain_factor, n))
        qpos, qvel, history, ref_clip, ref_time_s = self._initial_states(n, ids)
        self.backend.reset(ids, qpos, qvel)
        command, bank = (self.sample_commands(n) if self.command_override is None
                         else (np.full(n, self.command_override), None))
        capped = self.command_curriculum is not None and self.command_override is None
        if capped:
            command = self.command_curriculum.apply(command)
        self.command_vx[kid] = k.asarray(command)
        base_pose = self.default_pose
        if self.clocks is not None:
            gait = bank if capped and bank is not None else self.clocks.gait_for_command(command)
            phase = self.clocks.start_phase(gait, ref_clip, ref_time_s, self.rng)
            self.gait[kid] = k.asarray(gait, "int64")
            self.clock_phase[kid] = k.asarray(phase)
        self._set_kp(kid)
        if self.clocks is not None and self.env_cfg.reference_feedforward:
            base_pose = self._feedforward_rad(phase, gait, to_numpy(self.kp[kid]), self._feedforward_joint_pos,
                                              self._clock_stance_torque)
        # the filter and the previous action start where the joints are: no jump of the targets at the
        # first step, and no action-rate cost for holding them
        holding = k.asarray(np.clip((qpos[:, 7:] - base_pose) / self.env_cfg.action_scale,
                                    self.action_low, self.action_high))
        self._filtered_action[kid] = holding
        self._last_action[kid] = holding
        self.episode_step[kid] = 0
        self._path_m[kid] = 0.0
        self._foot_air_time_s[kid] = 0.0
        self._last_foot_contact[kid] = False
        full = self.backend.state()
        st = type(full)(**{f.name: getattr(full, f.name)[kid] for f in dataclasses.fields(full)})
        self._prev_joint_vel[kid] = st.joint_vel
        self._obs[kid] = self.observation(st, self.command_vx[kid], ids)
        amp_now = amp_obs_of_state(st, self._ground_under_base_m(st, ids))
        # the history ends at the state actually reached (lifted, clipped to the limits); standing starts
        # (NaN rows) repeat it
        history = k.asarray(history)
        history[:, -1] = amp_now
        history = xp.where(xp.isnan(history), amp_now[:, None, :], history)
        ring = (self._head - (self.history_steps - 1) + np.arange(self.history_steps)) % self.history_steps
        self._amp_history[kid[:, None], k.indices(ring)[None, :]] = history

    def set_command(self, command_vx_m_s: float) -> np.ndarray:
        """Every environment's forward command becomes `command_vx_m_s` now, mid-episode (a command schedule
        of `amp-data play`); returns the current observations, which carry it from this step on."""
        self.command_vx[:] = command_vx_m_s
        if self.clocks is not None:
            self.gait[:] = int(self.clocks.gait_for_command(np.array([command_vx_m_s]))[0])
            self._set_kp(slice(None))
        if self.command_override is not None:
            self.command_override = float(command_vx_m_s)     # so a reset keeps it too
        self._obs[:, 0] = float(np.float32(command_vx_m_s * OBS_SCALES[0]))
        return copy(self._obs)

    def set_feedforward_swing_clearance(self, clearance_m: float) -> None:
        """The feedforward's joint angles (gaits, 12, bins): the dog's, with clearance_m > 0 its swing feet raised
        to that floor (`learner/swing_clearance.py`), and with env.stance_torque_feedforward the torques that
        hold them. Set at construction from env.feedforward_swing_clearance_m; `benchmarks/clock_match.py`
        sets it on a trained policy's task to ask what a floor would change."""
        c, k = self.clocks, self.kind
        self._feedforward_joint_pos = (lifted_joint_pos_rad(c.joint_pos_rad, c.foot_height_m, c.duty, c.offset,
                                                            clearance_m) if clearance_m else c.joint_pos_rad)
        self._clock_joint_pos_k = k.asarray(self._feedforward_joint_pos)
        if self.env_cfg.stance_torque_feedforward:
            from learner.stance_torque import clock_stance_torques_nm     # MuJoCo's model of the Go2: only here
            self._clock_stance_torque = clock_stance_torques_nm(c, self._feedforward_joint_pos)
            self._clock_stance_torque_k = k.asarray(self._clock_stance_torque)

    def _set_kp(self, idx) -> None:
        """kp of environments `idx` (this kind's indices or a slice): their gait's, times their factor."""
        self.kp[idx, 0] = self._kp_gait_k[self.gait[idx]] * self._kp_factor[idx]

    def reference_foot_height_m(self):
        """(N, 4) m: the dog's foot centre heights at each environment's clock phase."""
        return profile_at_phase(self.clock_phase, self._clock_foot_height_k[self.gait])

    def desired_foot_contact(self):
        """(N, 4) in [0, 1]: how much each foot should be on the floor now, by each environment's gait clock."""
        g = self.gait
        return desired_contact(self.clock_phase, self._clock_duty_k[g], self._clock_offset_k[g])

    def _terrain_curriculum(self, done_ids, st, terminated) -> None:
        """Episode ends move environments a wave level up or down (`WaveCurriculum.episode_end`); the
        backend gets the new ground before their reset."""
        # the path walked, not the displacement: nothing commands the heading, and policies drift and turn
        distance = to_numpy(self._path_m)[done_ids]
        commanded = to_numpy(self.command_vx)[done_ids] * to_numpy(self.episode_step)[done_ids] * self.dt_s
        changed = self.terrain.episode_end(done_ids, distance, commanded, to_numpy(terminated)[done_ids])
        for level in np.unique(self.terrain.level[changed]):
            ids = changed[self.terrain.level[changed] == level]
            self.backend.set_ground(ids, self.terrain.grid(int(level)))

    def amp_window(self):
        """(N, K * 43 [+ banks]) the discriminator's window ending at the newest AMP observation, oldest frame
        first; with amp.gait_condition followed by the one-hot bank of each environment's gait clock."""
        back = (self.window_frames - 1 - np.arange(self.window_frames)) * self.frame_stride
        frames = self.kind.indices((self._head - back) % self.history_steps)
        window = self._amp_history[:, frames].reshape(self.num_envs, -1)
        if self._gait_label_k is None:
            return window
        return self.kind.concat([window, self._gait_label_k[self.gait]], axis=1)

    @contextmanager
    def evaluation_episodes(self, command_vx_m_s: float, steps: int, reference_starts: bool = False,
                            randomize: bool = False):
        """Within: every episode runs at a fixed command, is not timed out before `steps` steps, starts
        standing still in the default pose (or from bank frames with `reference_starts`) and has no domain
        randomisation unless `randomize`. The task's settings come back afterwards."""
        saved = (self.command_override, self.env_cfg.reference_state_init, self.env_cfg.rsi_fraction,
                 self.dr_cfg.enabled, self.max_episode_steps)
        self.command_override = float(command_vx_m_s)
        self.env_cfg.reference_state_init, self.env_cfg.rsi_fraction = reference_starts, 1.0
        self.dr_cfg.enabled = randomize
        self.max_episode_steps = steps + 1
        try:
            yield self
        finally:
            (self.command_override, self.env_cfg.reference_state_init, self.env_cfg.rsi_fraction,
             self.dr_cfg.enabled, self.max_episode_steps) = saved

    # ------------------------------------------------------------------ stepping

    def joint_targets(self, actions):
        """Joint targets (N, 12) rad of actions (N, 12) of the task's kind; with env.reference_feedforward
        about the dog's mean joint angles at each environment's clock phase, within the soft limits."""
        xp = self.kind.xp
        a = xp.clip(actions, self._action_low_k, self._action_high_k)
        if not self.env_cfg.reference_feedforward:
            return self._default_pose_k + self.env_cfg.action_scale * a
        base = self._feedforward_rad(self.clock_phase, self.gait, self.kp, self._clock_joint_pos_k,
                                     self._clock_stance_torque_k)
        return xp.clip(base + self.env_cfg.action_scale * a, self._soft_limits_k[:, 0], self._soft_limits_k[:, 1])

    @staticmethod
    def _feedforward_rad(phase, gait, kp, joint_pos_profile, stance_torque_profile):
        """(n, 12) the feedforward's joint targets at clock phases (n,) of gaits (n,): the dog's mean joint
        angles, plus the stance torques over kp (n, 1) where given (env.stance_torque_feedforward)."""
        base = profile_at_phase(phase, joint_pos_profile[gait])
        if stance_torque_profile is not None:
            base = base + profile_at_phase(phase, stance_torque_profile[gait]) / kp
        return base

    def step(self, actions) -> StepResult:
        """One policy step of every environment; actions (N, 12): numpy or a tensor of the task's kind."""
        k, xp = self.kind, self.kind.xp
        actions = k.asarray(actions)
        if not bool(xp.all(xp.isfinite(actions))):
            raise FloatingPointError("the policy produced non-finite actions")
        policy_action = xp.clip(actions, self._action_low_k, self._action_high_k)
        prev_action, self._last_action = self._last_action, policy_action
        if self.filter_alpha is not None:
            self._filtered_action += self.filter_alpha * (policy_action - self._filtered_action)
            actions = self._filtered_action
        if self.clocks is not None:    # the phase the step ends at: the feedforward's targets lead by a step
            self.clock_phase = (self.clock_phase + self._clock_freq_k[self.gait] * self.dt_s) % 1.0
        q_target = self.joint_targets(actions)
        self.backend.step_pd(q_target, self.kp, self.kd, substeps=self.env_cfg.decimation)
        st = self.backend.state()
        self.episode_step += 1

        tau = pd_torques(q_target, st.joint_pos, st.joint_vel, self.kp, self.kd, self._torque_limit_k)
        height = st.base_pos_w[:, 2] - self._ground_under_base_m(st)
        self._path_m += xp.sqrt(xp.sum(st.base_lin_vel_w[:, :2] ** 2, axis=1)) * self.dt_s
        first_contact = air_time_s = None
        if self.rew_cfg.feet_air_time:
            contact = st.foot_contact | self._last_foot_contact  # legged_gym's filter (rewards.feet_air_time)
            self._last_foot_contact = copy(st.foot_contact)
            first_contact = (self._foot_air_time_s > 0) & contact
            self._foot_air_time_s += self.dt_s
            air_time_s = copy(self._foot_air_time_s)
            self._foot_air_time_s *= ~contact
        desired = None if self.clocks is None else self.desired_foot_contact()
        terms = rewards.reward_terms(
            self.rew_cfg, command_vx_m_s=self.command_vx, base_lin_vel_b=st.base_lin_vel_b,
            base_ang_vel_b=st.base_ang_vel_b, base_height_m=height,
            base_height_target_m=self.base_height_target_m, body_contact=st.body_contact,
            foot_force_n=st.foot_force_n, joint_pos=st.joint_pos, joint_vel=st.joint_vel,
            prev_joint_vel=self._prev_joint_vel, torques_nm=tau, soft_limits_rad=self._soft_limits_k,
            dt_s=self.dt_s, foot_first_contact=first_contact, foot_air_time_s=air_time_s,
            foot_contact=st.foot_contact, foot_contact_desired=desired,
            foot_vel_w=st.foot_vel_w if self.rew_cfg.gait_clock_stance_still else None,
            foot_height_m=(st.foot_pos_w[:, :, 2] - (st.base_pos_w[:, 2] - height)[:, None]
                           if self.rew_cfg.gait_clock_swing_height else None),
            foot_height_reference_m=(self.reference_foot_height_m() if self.rew_cfg.gait_clock_swing_height
                                     else None),
            action=policy_action, prev_action=prev_action)
        if self._swing_height_gait_k is not None:
            terms["gait_clock_swing_height"] = terms["gait_clock_swing_height"] * self._swing_height_gait_k[self.gait]
        task_reward = sum(terms.values())
        if self.rew_cfg.only_positive:
            task_reward = xp.clip(task_reward, 0.0, None)

        gravity_b = projected_gravity(st.base_quat_xyzw)
        tilt = k.acos(xp.clip(-gravity_b[:, 2], -1.0, 1.0))
        terminated = (st.base_contact | st.sim_unstable | (height < self.env_cfg.fall_height_m)
                      | (tilt > self.env_cfg.fall_tilt_rad))
        timed_out = (self.episode_step >= self.max_episode_steps) & ~terminated

        next_obs = self.observation(st, self.command_vx)
        next_amp = amp_obs_of_state(st, st.base_pos_w[:, 2] - height)
        amp_obs = copy(self._amp_history[:, self._head])     # the newest before this step: s
        self._obs = copy(next_obs)
        self._head = (self._head + 1) % self.history_steps
        self._amp_history[:, self._head] = next_amp
        amp_window = self.amp_window()
        self._prev_joint_vel = st.joint_vel
        forward = copy(st.base_lin_vel_b[:, 0])
        done_ids = np.flatnonzero(to_numpy(terminated | timed_out))     # the step's one host sync
        if self.terrain is not None and len(done_ids) and self.command_override is None:
            self._terrain_curriculum(done_ids, st, terminated)
        if self.command_curriculum is not None and len(done_ids) and self.command_override is None:
            self.command_curriculum.episode_end(
                to_numpy(self.command_vx)[done_ids], to_numpy(self._path_m)[done_ids],
                to_numpy(self.episode_step)[done_ids] * self.dt_s, to_numpy(terminated)[done_ids])
        self._reset_envs(done_ids)
        return StepResult(obs=copy(self._obs), next_obs=next_obs, amp_obs=amp_obs,
                          next_amp_obs=next_amp, amp_window=amp_window, task_reward=task_reward, terms=terms,
                          terminated=terminated, timed_out=timed_out, forward_vel_m_s=forward)
