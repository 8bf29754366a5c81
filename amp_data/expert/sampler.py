"""Expert AMP transitions from motion banks: preloaded (s, s') pairs, weighted batches, reference states.

`ExpertSampler` reads one or more banks, interpolates their frames at start times on a grid and at
those times plus the policy step, builds the AMP observation (`amp_data.expert.amp_obs`) of both, and keeps
the pairs in one contiguous float32 array. A batch is then random indices and one gather.

Time inside a clip of N frames at `fps` (frame i at t = i / fps):
- `clamp` clips play once: states exist for t in [0, (N - 1) / fps]; a pair starts at t <= that - dt.
- `wrap` clips are one cycle: frame N is frame 0 again, so the cycle lasts N / fps and time runs on
  past it. Each further cycle moves the root by the clip's `cycle_offset_pos_m` (given in the heading
  frame of the clip's first frame) and turns it by `cycle_offset_yaw_rad` about the vertical; base-frame
  quantities (joints, feet, velocities) just repeat.
Vectors are interpolated linearly between neighbouring frames, `root_quat` by SLERP. A pair never spans
two clips.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from amp_data.expert.amp_obs import AMP_OBS_DIM, amp_observation
from amp_data.format.bank import DATASETS, Bank, ClipRange, check_compatible, read_bank
from amp_data.errors import InputError
from amp_data.motion.rotations import heading_of_quat_rad, quat_multiply, yaw_quat_xyzw
from robots.go2.model import FOOT_NAMES, JOINT_NAMES

# bank datasets a state is made of -> trailing shape
STATE_DATASETS = {k: DATASETS[k] for k in ("joint_pos", "joint_vel", "root_pos", "root_quat", "base_lin_vel",
                                           "base_ang_vel", "foot_pos_base")}
WEIGHTINGS = ("clip", "uniform")
_SNAP = 1e-9   # frame positions this close to an integer are that frame (float noise of t * fps)


def slerp_xyzw(q0: np.ndarray, q1: np.ndarray, alpha: np.ndarray | float) -> np.ndarray:
    """Spherical linear interpolation of xyzw quaternions along the shorter arc, over leading axes.

    q0, q1: (..., 4), normalised here; alpha: (...) or scalar, 0 gives q0's rotation, 1 gives q1's.
    q and -q are the same rotation: q1 is flipped into q0's hemisphere first, so the result follows
    q0's sign. The angle comes from atan2 (accurate for nearly equal quaternions, where arccos is not);
    below 1e-9 rad it falls back to normalised linear interpolation.
    """
    q0 = np.asarray(q0, dtype=np.float64)
    q1 = np.asarray(q1, dtype=np.float64)
    q0 = q0 / np.linalg.norm(q0, axis=-1, keepdims=True)
    q1 = q1 / np.linalg.norm(q1, axis=-1, keepdims=True)
    q1 = np.where(np.sum(q0 * q1, axis=-1, keepdims=True) < 0, -q1, q1)
    a = np.asarray(alpha, dtype=np.float64)[..., None]
    half = 2.0 * np.arctan2(np.linalg.norm(q1 - q0, axis=-1), np.linalg.norm(q1 + q0, axis=-1))[..., None]
    small = half < 1e-9
    sin_half = np.where(small, 1.0, np.sin(half))
    w0 = np.where(small, 1.0 - a, np.sin((1.0 - a) * half) / sin_half)
    w1 = np.where(small, a, np.sin(a * half) / sin_half)
    out = w0 * q0 + w1 * q1
    return out / np.linalg.norm(out, axis=-1, keepdims=True)


def alias_table(probabilities: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Walker's alias table (Vose's construction) of a discrete distribution over K outcomes.

    Draw: j uniform in [0, K), then j with probability accept[j], else alias[j]. O(1) per draw, no
    search. probabilities: (K,) >= 0, normalised here. Returns (accept (K,) float64, alias (K,) int64).
    """
    p = np.asarray(probabilities, dtype=np.float64)
    k = len(p)
    scaled = p * (k / p.sum())
    accept = np.ones(k)
    alias = np.arange(k, dtype=np.int64)
    small = [i for i in range(k) if scaled[i] < 1.0]   # a loop over clips, not frames
    large = [i for i in range(k) if scaled[i] >= 1.0]
    while small and large:
        s, g = small.pop(), large.pop()
        accept[s], alias[s] = scaled[s], g
        scaled[g] -= 1.0 - scaled[s]
        (small if scaled[g] < 1.0 else large).append(g)
    return accept, alias   # leftovers (float round-off) keep accept 1, alias themselves


def _rotate_z(vec: np.ndarray, yaw_rad: np.ndarray) -> np.ndarray:
    c, s = np.cos(yaw_rad), np.sin(yaw_rad)
    return np.stack([c * vec[..., 0] - s * vec[..., 1], s * vec[..., 0] + c * vec[..., 1], vec[..., 2]], -1)


@dataclass(frozen=True)
class SamplerClip:
    """One clip as the sampler sees it: which bank, the clip row, and where its frames are."""

    bank_index: int
    bank_name: str
    clip: ClipRange
    first_row: int          # row of its frame 0 in the sampler's concatenated frames
    num_frames: int
    duration_s: float       # wrap: N / fps (one cycle); clamp: (N - 1) / fps
    num_pairs: int
    probability: float      # chance that a sampled pair comes from this clip

    @property
    def name(self) -> str:
        return self.clip.name


def _bank_name(bank: Bank, index: int) -> str:
    return str(bank.path) if bank.path is not None else f"<bank {index}>"


def load_consistent_banks(banks: Sequence[str | Path | Bank] | str | Path | Bank) -> list[Bank]:
    """Read the banks and check they can be sampled together: same robot, fps, joint and foot names
    (and those the Go2's canonical ones, which the AMP observation assumes). InputError otherwise."""
    if isinstance(banks, (str, Path, Bank)):
        banks = [banks]
    banks = [b if isinstance(b, Bank) else read_bank(b) for b in banks]
    if not banks:
        raise InputError(None, "no motion banks given")
    check_compatible(banks, "sample together")
    first, first_name = banks[0], _bank_name(banks[0], 0)
    for key, want in (("joint_names", JOINT_NAMES), ("foot_names", FOOT_NAMES)):
        if tuple(getattr(first, key)) != want:
            raise InputError(first_name, f"{key} {list(getattr(first, key))} are not the Go2's canonical "
                                         f"{list(want)}, which the AMP observation assumes")
    for i, bank in enumerate(banks):
        for key, shape in STATE_DATASETS.items():
            arr = bank.data.get(key)
            if arr is None or np.shape(arr) != (bank.num_frames, *shape):
                raise InputError(_bank_name(bank, i), f"dataset {key!r} has shape "
                                 f"{None if arr is None else np.shape(arr)}, expected ({bank.num_frames}, "
                                 f"{', '.join(map(str, shape))})")
    return banks


class ExpertSampler:
    """Expert (s, s') AMP observation pairs from motion banks, preloaded, sampled in batches.

    banks: bank files or `Bank`s (all must share robot, fps, joint and foot names).
    policy_dt_s: time between s and s' (the policy's control step), seconds.
    start_substeps: pair start times every 1 / (fps * start_substeps) s (1: at every bank frame).
    window_frames: AMP observations per discriminator input, K >= 2 (2: the pair (s, s') of AMP).
    frame_stride: policy steps between consecutive frames of a window (1: every policy step). A window
        starting at t holds the observations at t, t + h, ..., t + (K - 1) h with h = frame_stride *
        policy_dt_s; it spans (K - 1) h seconds. Windows long enough to hold part of a stride carry the
        gait's rhythm, which a pair 0.02 s apart cannot (a 12 Hz shuffle matches a 1.4 Hz walk's joint
        speeds at a tenth of its amplitude).
    weighting: "clip": a pair's clip is drawn with probability proportional to its `weight` column
        times `bank_weights[bank]`, then the pair uniformly within the clip (AMP_for_hardware's
        per-motion weights); "uniform": every preloaded pair is equally likely (weights ignored).
    bank_weights: one factor >= 0 per bank ("clip" weighting only); default all 1.
    bank_one_hot: every window ends with one 0/1 column per bank, 1 at its clip's bank: the label a
        gait-conditioned discriminator judges a window against (`window_dim` = K * 43 + banks).
    device: None for numpy arrays; "cpu", "cuda", ... (or a torch.device) for torch tensors there.
    seed: seeds the sampler's own generators (numpy; and torch's on non-CPU devices, which draw there).

    Attributes: `clips` (SamplerClip per clip, over all banks), `pair_clip` (P,) clip index of each
    window, `pair_time_s` (P,) its start time in the clip, `pairs` (P, K * 43) float32: the windows'
    frames in time order (for K = 2, s then s') and with `bank_one_hot` the bank's label, `window_dim` =
    K * 43 + `label_dim` (0, or the number of banks).
    """

    def __init__(self, banks, policy_dt_s: float = 0.02, start_substeps: int = 1, weighting: str = "clip",
                 bank_weights: Sequence[float] | None = None, device=None, seed: int | None = None,
                 window_frames: int = 2, frame_stride: int = 1, bank_one_hot: bool = False):
        banks = load_consistent_banks(banks)
        if not (isinstance(policy_dt_s, (int, float)) and math.isfinite(policy_dt_s) and policy_dt_s > 0):
            raise InputError(None, f"policy_dt_s must be a positive number of seconds, got {policy_dt_s!r}")
        if not (isinstance(start_substeps, (int, np.integer)) and start_substeps >= 1):
            raise InputError(None, f"start_substeps must be an integer >= 1, got {start_substeps!r}")
        for name, value, low in (("window_frames", window_frames, 2), ("frame_stride", frame_stride, 1)):
            if isinstance(value, bool) or not (isinstance(value, (int, np.integer)) and value >= low):
                raise InputError(None, f"{name} must be an integer >= {low}, got {value!r}")
        if weighting not in WEIGHTINGS:
            raise InputError(None, f"weighting must be one of {', '.join(WEIGHTINGS)}, got {weighting!r}")
        if bank_weights is not None:
            if weighting != "clip":
                raise InputError(None, "bank_weights only apply with weighting='clip'")
            try:
                bank_weights = np.asarray(bank_weights, dtype=np.float64)
            except (TypeError, ValueError):
                raise InputError(None, f"bank_weights must be numbers, got {bank_weights!r}") from None
            if bank_weights.shape != (len(banks),) or not np.all(np.isfinite(bank_weights) & (bank_weights >= 0)):
                raise InputError(None, f"bank_weights must be {len(banks)} number(s) >= 0 (one per bank), "
                                       f"got {bank_weights.tolist()}")
        self.banks = banks
        self.fps = banks[0].fps
        self.policy_dt_s = float(policy_dt_s)
        self.start_substeps = int(start_substeps)
        self.weighting = weighting
        self.obs_dim = AMP_OBS_DIM
        self.window_frames, self.frame_stride = int(window_frames), int(frame_stride)
        self.label_dim = len(banks) if bank_one_hot else 0
        self.window_dim = self.window_frames * AMP_OBS_DIM + self.label_dim
        self.window_span_s = (self.window_frames - 1) * self.frame_stride * self.policy_dt_s
        self._gather_frames(banks)
        self._preload_pairs()
        self._build_clip_table(banks, bank_weights)
        self._mean_q = None
        self.rng = np.random.default_rng(seed)
        self.device = None
        if device is not None:
            self._to_torch(device, seed)

    # -- loading -------------------------------------------------------------------------------

    def _gather_frames(self, banks: list[Bank]) -> None:
        """All clips' frames in one set of float64 arrays, and per-clip arrays for vectorised lookup."""
        rows = {k: [] for k in STATE_DATASETS}
        meta = []   # (bank index, bank name, clip, first row)
        n = 0
        for b, bank in enumerate(banks):
            for clip in bank.clips:
                for k in STATE_DATASETS:
                    rows[k].append(np.asarray(bank.data[k][clip.start:clip.stop], dtype=np.float64))
                meta.append((b, _bank_name(bank, b), clip, n))
                n += clip.num_frames
        self._frames = {k: np.concatenate(v) for k, v in rows.items()}
        q = self._frames["root_quat"]
        self._frames["root_quat"] = q / np.linalg.norm(q, axis=1, keepdims=True)
        self._meta = meta
        self._clip_bank = np.array([m[0] for m in meta], dtype=np.int64)
        self._clip_row0 = np.array([m[3] for m in meta], dtype=np.int64)
        self._clip_frames = np.array([m[2].num_frames for m in meta], dtype=np.int64)
        self._clip_wrap = np.array([m[2].loop_mode == "wrap" for m in meta])
        self._clip_offset_pos = np.array([m[2].cycle_offset_pos_m for m in meta], dtype=np.float64).reshape(-1, 3)
        self._clip_offset_yaw = np.array([m[2].cycle_offset_yaw_rad for m in meta], dtype=np.float64)
        self._clip_root0 = self._frames["root_pos"][self._clip_row0]
        self._clip_heading0 = heading_of_quat_rad(self._frames["root_quat"][self._clip_row0])
        self._clip_duration = np.where(self._clip_wrap, self._clip_frames, self._clip_frames - 1) / self.fps

    def _preload_pairs(self) -> None:
        step = self.frame_stride * self.policy_dt_s * self.fps    # between a window's frames, in frames
        span = (self.window_frames - 1) * step
        sub = self.start_substeps
        counts = []
        for nf, wrap in zip(self._clip_frames, self._clip_wrap):
            if wrap:
                counts.append(int(nf) * sub)
            else:
                last_start = (nf - 1) - span            # in frames
                counts.append(int(math.floor(last_start * sub + _SNAP)) + 1 if last_start >= -_SNAP else 0)
        counts = np.array(counts, dtype=np.int64)
        clip = np.repeat(np.arange(len(counts)), counts)
        offsets = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
        g0 = (np.arange(len(clip)) - np.repeat(offsets, counts)) / sub
        frames = [self._obs_at_frame(clip, g0 + k * step) for k in range(self.window_frames)]
        self.pairs = np.ascontiguousarray(np.concatenate(frames + [self._bank_labels(clip)], axis=1),
                                          dtype=np.float32)
        self.pair_clip = clip
        self.pair_time_s = g0 / self.fps
        self._pair_offset = offsets
        self._pair_count = counts

    def _bank_labels(self, clip: np.ndarray) -> np.ndarray:
        """(n, label_dim) the one-hot bank of each of clips `clip` ((n, 0) without `bank_one_hot`)."""
        if not self.label_dim:
            return np.zeros((len(clip), 0), dtype=np.float32)
        return np.eye(self.label_dim, dtype=np.float32)[self._clip_bank[clip]]

    def _build_clip_table(self, banks: list[Bank], bank_weights: np.ndarray | None) -> None:
        counts = self._pair_count
        if len(self.pairs) == 0:
            raise InputError(None, f"no clip is long enough for one window of {self.window_frames} frames "
                                   f"{self.frame_stride * self.policy_dt_s:g} s apart "
                                   f"(longest clamp clip: {self._clip_duration.max():.3f} s)")
        if self.weighting == "uniform":
            weights = counts.astype(np.float64)
        else:
            bw = np.ones(len(banks)) if bank_weights is None else bank_weights
            weights = np.array([m[2].weight * bw[m[0]] for m in self._meta]) * (counts > 0)
        empty = [m[2].name for m, c in zip(self._meta, counts) if c == 0]
        if empty:
            warnings.warn(f"{len(empty)} clip(s) shorter than one policy step ({self.policy_dt_s} s) give no "
                          f"pairs and are never sampled: {', '.join(empty[:5])}{' ...' if len(empty) > 5 else ''}",
                          stacklevel=3)
        if weights.sum() <= 0:
            raise InputError(None, "all clips that give pairs have weight 0: nothing to sample")
        self.clip_probabilities = weights / weights.sum()
        self._alias_accept, self._alias = alias_table(self.clip_probabilities)
        self.clips = [SamplerClip(m[0], m[1], m[2], int(m[3]), int(m[2].num_frames), float(d), int(c), float(p))
                      for m, d, c, p in zip(self._meta, self._clip_duration, counts, self.clip_probabilities)]

    def _to_torch(self, device, seed: int | None) -> None:
        try:
            import torch
        except ImportError:
            raise InputError(None, f"device={device!r} asks for torch tensors, but torch is not installed "
                                   "(pip install 'amp-data[learn]'); pass device=None for numpy") from None
        try:
            self.device = torch.device(device)
            torch.empty(0, device=self.device)
        except (RuntimeError, AssertionError, TypeError) as e:
            raise InputError(None, f"device={device!r} cannot be used: {str(e).splitlines()[0]}") from None
        self._torch_from_numpy = torch.from_numpy
        if self.device.type != "cpu":
            self._build_device_tables(seed)
        # On the CPU numpy draws and gathers and torch wraps the batch without a copy: torch's own
        # index ops on 8192 rows were as fast at best but erratic (10x slower) on a busy 2-core machine.

    def _build_device_tables(self, seed: int | None) -> None:
        """The pairs and the draw tables as tensors on `self.device`, and a torch generator there."""
        import torch
        self._pairs_t = torch.from_numpy(self.pairs).to(self.device)
        self._alias_accept_t = torch.from_numpy(self._alias_accept).to(self.device)
        self._alias_t = torch.from_numpy(self._alias).to(self.device)
        self._offset_t = torch.from_numpy(self._pair_offset).to(self.device)
        self._count_t = torch.from_numpy(self._pair_count).to(self.device)
        self._torch_gen = torch.Generator(device=self.device)
        if seed is None:
            self._torch_gen.seed()
        else:
            self._torch_gen.manual_seed(int(seed))

    # -- states at times -------------------------------------------------------------------------

    def _frame_rows(self, clip: np.ndarray, frame: np.ndarray):
        """Bank rows of integer frame positions, and the completed cycles (wrap clips; 0 for clamp)."""
        nf = self._clip_frames[clip]
        cycles = np.where(self._clip_wrap[clip], np.floor_divide(frame, nf), 0)
        local = np.where(self._clip_wrap[clip], frame - cycles * nf, np.clip(frame, 0, nf - 1))
        return self._clip_row0[clip] + local, cycles

    def _cycle_moved(self, clip: np.ndarray, cycles: np.ndarray, pos: np.ndarray, quat: np.ndarray):
        """Root pose `cycles` whole cycles later: each cycle turns the root by the clip's yaw offset
        about the vertical through its first frame's root and shifts it by the position offset."""
        pos, quat = pos.copy(), quat.copy()
        for k in np.unique(cycles):
            if k == 0:
                continue
            m = cycles == k
            c = clip[m]
            p0, yaw0 = self._clip_root0[c], self._clip_heading0[c]
            dyaw, d = self._clip_offset_yaw[c], self._clip_offset_pos[c]
            p, q = pos[m], quat[m]
            for _ in range(abs(int(k))):
                if k > 0:
                    p = _rotate_z(p - p0, dyaw) + p0 + _rotate_z(d, yaw0)
                    q = quat_multiply(yaw_quat_xyzw(dyaw), q)
                else:
                    p = _rotate_z(p - p0 - _rotate_z(d, yaw0), -dyaw) + p0
                    q = quat_multiply(yaw_quat_xyzw(-dyaw), q)
            pos[m], quat[m] = p, q
        return pos, quat

    def _states_at_frame(self, clip: np.ndarray, frame_pos: np.ndarray, names=tuple(STATE_DATASETS)) -> dict:
        clip = np.asarray(clip, dtype=np.int64)
        g = np.asarray(frame_pos, dtype=np.float64)
        g = np.where(np.abs(g - np.round(g)) < _SNAP, np.round(g), g)
        nf, wrap = self._clip_frames[clip], self._clip_wrap[clip]
        i0 = np.floor(g).astype(np.int64)
        # clamp clips: hold the ends; the last interval is [N-2, N-1] so t = duration gives frame N-1
        i0 = np.where(wrap, i0, np.clip(i0, 0, np.maximum(nf - 2, 0)))
        alpha = np.where(wrap, g - i0, np.clip(g - i0, 0.0, 1.0))
        alpha = np.where(wrap | (nf > 1), alpha, 0.0)
        r0, k0 = self._frame_rows(clip, i0)
        r1, k1 = self._frame_rows(clip, i0 + 1)
        a = alpha[:, None]
        out = {}
        for k in names:
            if k in ("root_pos", "root_quat"):
                continue
            x0, x1 = self._frames[k][r0], self._frames[k][r1]
            aa = a[..., None] if x0.ndim == 3 else a
            out[k] = x0 + aa * (x1 - x0)
        if "root_pos" in names or "root_quat" in names:
            p0, q0 = self._cycle_moved(clip, k0, self._frames["root_pos"][r0], self._frames["root_quat"][r0])
            p1, q1 = self._cycle_moved(clip, k1, self._frames["root_pos"][r1], self._frames["root_quat"][r1])
            out["root_pos"] = p0 + a * (p1 - p0)
            if "root_quat" in names:
                out["root_quat"] = slerp_xyzw(q0, q1, alpha)
        return out

    def _obs_at_frame(self, clip: np.ndarray, frame_pos: np.ndarray) -> np.ndarray:
        st = self._states_at_frame(clip, frame_pos, names=("joint_pos", "joint_vel", "root_pos", "base_lin_vel",
                                                           "base_ang_vel", "foot_pos_base"))
        return amp_observation(st["joint_pos"], st["foot_pos_base"], st["base_lin_vel"], st["base_ang_vel"],
                               st["joint_vel"], st["root_pos"][:, 2])

    def states_at(self, clip, time_s) -> dict[str, np.ndarray]:
        """Full states (float64, numpy) of clips `clip` (index into `clips`) at `time_s` seconds.

        Keys: joint_pos (n, 12) rad, joint_vel (n, 12) rad/s, root_pos (n, 3) m (robot world),
        root_quat (n, 4) xyzw unit with w >= 0, base_lin_vel (n, 3) m/s and base_ang_vel (n, 3) rad/s
        (base frame), foot_pos_base (n, 4, 3) m. Clamp clips hold their end frames outside
        [0, duration]; wrap clips run on cycle after cycle (see the module docstring).
        """
        clip, time_s = np.broadcast_arrays(np.asarray(clip, dtype=np.int64), np.asarray(time_s, dtype=np.float64))
        clip, time_s = clip.ravel(), time_s.ravel()
        if len(clip) and (clip.min() < 0 or clip.max() >= len(self.clips)):
            raise IndexError(f"clip index out of range 0..{len(self.clips) - 1}")
        st = self._states_at_frame(clip, time_s * self.fps)
        st["root_quat"] = np.where(st["root_quat"][:, 3:] < 0, -st["root_quat"], st["root_quat"])
        return st

    def amp_obs_at(self, clip, time_s) -> np.ndarray:
        """AMP observations (n, 43) float64 of clips at times, as `states_at`."""
        clip, time_s = np.broadcast_arrays(np.asarray(clip, dtype=np.int64), np.asarray(time_s, dtype=np.float64))
        return self._obs_at_frame(clip.ravel(), time_s.ravel() * self.fps)

    # -- sampling --------------------------------------------------------------------------------

    @property
    def num_pairs(self) -> int:
        return len(self.pairs)

    def sample_indices(self, batch_size: int, rng: np.random.Generator | None = None) -> np.ndarray:
        """Pair indices (numpy int64) drawn as the weighting says; `pair_clip[idx]` are their clips."""
        rng = self.rng if rng is None else rng
        if self.weighting == "uniform":
            return rng.integers(0, self.num_pairs, batch_size)
        u = rng.random((2, batch_size))
        c = self._draw_clips(u[0])
        count = self._pair_count[c]
        return self._pair_offset[c] + np.minimum((u[1] * count).astype(np.int64), count - 1)

    def _draw_clips(self, u: np.ndarray) -> np.ndarray:
        """Clip indices with `clip_probabilities`, from uniforms in [0, 1) (alias method: the integer
        part of u * C picks a column, the fractional part is the coin)."""
        x = u * len(self._alias)
        j = x.astype(np.int64)
        return np.where(x - j < self._alias_accept[j], j, self._alias[j])

    def _sample_indices_torch(self, batch_size: int, gen):
        import torch
        gen = self._torch_gen if gen is None else gen
        if self.weighting == "uniform":
            return torch.randint(0, self.num_pairs, (batch_size,), generator=gen, device=self.device)
        u = torch.rand((2, batch_size), generator=gen, device=self.device, dtype=torch.float64)
        x = u[0] * len(self._alias)
        j = x.long()
        c = torch.where(x - j < self._alias_accept_t[j], j, self._alias_t[j])
        count = self._count_t[c]
        within = torch.minimum((u[1] * count).long(), count - 1)
        return self._offset_t[c] + within

    def sample_windows(self, batch_size: int, rng=None):
        """A batch of windows (batch_size, window_dim) float32, frames in time order (then the bank's label).

        numpy arrays, or torch tensors on `device` when the sampler was made with one. rng: a numpy
        Generator (numpy arrays and torch on the CPU, whose indices numpy draws) or a torch.Generator
        on the device (other torch devices, which draw and gather there); default the sampler's own.
        """
        if self.device is None:
            batch = np.take(self.pairs, self.sample_indices(batch_size, rng), axis=0)
        elif self.device.type == "cpu":
            batch = self._torch_from_numpy(np.take(self.pairs, self.sample_indices(batch_size, rng), axis=0))
        else:
            batch = self._pairs_t.index_select(0, self._sample_indices_torch(batch_size, rng))
        return batch

    def sample(self, batch_size: int, rng=None):
        """A batch as K arrays (batch_size, 43), one per frame of the windows (for K = 2: (s, s_next)):
        views into one fresh `sample_windows` batch. rng as `sample_windows`."""
        batch = self.sample_windows(batch_size, rng)
        return tuple(batch[:, k * AMP_OBS_DIM:(k + 1) * AMP_OBS_DIM] for k in range(self.window_frames))

    def batches(self, num_batches: int, batch_size: int) -> Iterator[tuple]:
        """`num_batches` batches from `sample` (AMP_for_hardware's `feed_forward_generator`)."""
        for _ in range(num_batches):
            yield self.sample(batch_size)

    def distorted_windows(self, n: int, speedups: Sequence[float], reversed_share: float,
                          rng: np.random.Generator | None = None, bank_index: int | None = None) -> np.ndarray:
        """n windows (n, window_dim) float32 made of the reference's motion with its rhythm wrong: a share
        `reversed_share` are reference windows with their frames in reverse order, the others the gait
        played k times faster (k drawn uniformly from `speedups`) with the joints' swings about the clip's
        mean pose k times smaller, so that forward speed and joint speeds stay the reference's (feet by FK
        of the new angles). Clips drawn with `clip_probabilities` (of bank `bank_index` only, if given),
        start times uniform. Negatives that make a discriminator judge rhythm and the direction of time,
        not only poses and speeds."""
        from robots.go2.kinematics import feet_fk

        rng = self.rng if rng is None else rng
        prob = np.asarray(self.clip_probabilities, dtype=np.float64)
        if bank_index is not None:
            prob = prob * (self._clip_bank == bank_index)
        clip = rng.choice(len(self.clips), n, p=prob / prob.sum())
        start = rng.random(n) * self._clip_duration[clip]
        reverse = rng.random(n) < reversed_share
        k = np.where(reverse, 1.0, np.asarray(speedups, dtype=np.float64)[rng.integers(0, max(len(speedups), 1), n)]
                     if len(speedups) else 1.0)
        frames = self.window_frames
        offsets = np.arange(frames) * self.frame_stride * self.policy_dt_s
        times = start[:, None] + offsets[None, :] * k[:, None]
        st = self._states_at_frame(np.repeat(clip, frames), times.ravel() * self.fps,
                                   names=("joint_pos", "joint_vel", "root_pos", "base_lin_vel", "base_ang_vel"))
        mean_q = np.repeat(self._clip_mean_joint_pos()[clip], frames, axis=0)
        q = mean_q + (st["joint_pos"] - mean_q) / np.repeat(k, frames)[:, None]
        obs = amp_observation(q, feet_fk(q), st["base_lin_vel"], st["base_ang_vel"], st["joint_vel"],
                              st["root_pos"][:, 2]).reshape(n, frames, AMP_OBS_DIM)
        obs[reverse] = obs[reverse, ::-1]
        return np.concatenate([obs.reshape(n, -1), self._bank_labels(clip)], axis=1).astype(np.float32)

    def _clip_mean_joint_pos(self) -> np.ndarray:
        """(clips, 12) each clip's mean joint angles over its frames (cached)."""
        if self._mean_q is None:
            q = self._frames["joint_pos"]
            self._mean_q = np.stack([q[r0:r0 + nf].mean(0) for r0, nf in zip(self._clip_row0, self._clip_frames)])
        return self._mean_q

    def reference_states(self, n: int, rng: np.random.Generator | None = None) -> dict[str, np.ndarray]:
        """n random full states for reference state initialisation, as `states_at` returns, plus
        `clip` (n,) and `time_s` (n,). Clips are drawn with `clip_probabilities`; times uniformly over
        [0, duration] for clamp clips and [0, N / fps) for wrap clips (continuous, not on the grid)."""
        rng = self.rng if rng is None else rng
        u = rng.random((2, n))
        clip = self._draw_clips(u[0])
        time_s = u[1] * self._clip_duration[clip]
        st = self.states_at(clip, time_s)
        st["clip"] = clip
        st["time_s"] = time_s
        return st

    def amp_history_at(self, clip, time_s, num_steps: int) -> np.ndarray:
        """AMP observations (n, num_steps, 43) float64 at `time_s - j * policy_dt_s`, j = num_steps - 1 ... 0
        (oldest first, the last at `time_s`): what a policy started from a reference state at `time_s` would
        have seen before it. Clamp clips hold their first frame before t = 0; wrap clips run backwards."""
        clip, time_s = np.broadcast_arrays(np.asarray(clip, dtype=np.int64), np.asarray(time_s, dtype=np.float64))
        back = (num_steps - 1 - np.arange(num_steps)) * self.policy_dt_s
        t = time_s.ravel()[:, None] - back[None, :]
        c = np.repeat(clip.ravel()[:, None], num_steps, axis=1)
        obs = self._obs_at_frame(c.ravel(), np.maximum(t.ravel(), np.where(self._clip_wrap[c.ravel()], -np.inf, 0.0))
                                 * self.fps)
        return obs.reshape(len(t), num_steps, AMP_OBS_DIM)

    def mean_base_height_m(self) -> float:
        """The base origin's mean height above the floor over all frames of all clips, m."""
        return float(np.mean(self._frames["root_pos"][:, 2]))

    def clip_forward_speed_m_s(self) -> np.ndarray:
        """(C,) each clip's mean forward speed: base-frame x velocity averaged over its frames, m/s."""
        v = self._frames["base_lin_vel"][:, 0]
        return np.array([v[r0:r0 + n].mean() for r0, n in zip(self._clip_row0, self._clip_frames)])

    def summary(self) -> str:
        kinds = {m: int(np.sum(self._clip_wrap == (m == "wrap"))) for m in ("clamp", "wrap")}
        return (f"{len(self.banks)} bank(s), {len(self.clips)} clip(s) ({kinds['clamp']} clamp, {kinds['wrap']} "
                f"wrap), {len(self._frames['joint_pos'])} frames at {self.fps:g} fps, {self.num_pairs} "
                + (f"pairs {self.policy_dt_s:g} s apart" if self.window_frames == 2 and self.frame_stride == 1 else
                   f"windows of {self.window_frames} frames {self.frame_stride * self.policy_dt_s:g} s apart "
                   f"({self.window_span_s:g} s)")
                + (", labelled by bank" if self.label_dim else "")
                + f", weighting {self.weighting!r}, "
                f"{'numpy' if self.device is None else f'torch on {self.device}'}")
