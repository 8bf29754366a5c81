"""A gait clock read off the reference banks: when each foot of the dog is on the floor, as a phase.

Each bank's gait (`amp_data.motion.gait.gait_figures`: median stride frequency, duty factor per foot, footfall
phases of FR, RL and RR after FL) becomes a clock. An environment runs the clock of the bank whose mean
forward speed is nearest its command; its phase phi in [0, 1) advances by f dt each policy step, phi = 0 at
FL's touchdown. Foot i is meant to be on the floor while (phi - offset_i) mod 1 < duty_i (offset_FL = 0),
smoothed at the edges as Margolis and Agrawal's Walk These Ways smooths its contact schedule (normal CDFs
of width `EDGE_WIDTH` of a cycle; here their logistic approximation). The policy sees sin, cos of 2 pi phi;
`rewards.gait_clock_match` pays the feet that do what the clock says (Siekmann et al. 2021's periodic
reward, with the dog's own schedule instead of a hand-set one).

The clock also carries each bank's mean foot heights over FL's stride phase (`GaitClocks.foot_height_m`),
for `rewards.gait_clock_swing_height`, and its mean joint angles (`GaitClocks.joint_pos_rad`), the joint
targets' feedforward under `env.reference_feedforward`.

Starts from a bank frame take the phase of that frame (time since FL's last touchdown in the clip, over the
time to its next) when the clip is of the clock's bank; other starts draw it uniformly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from amp_data.errors import InputError
from amp_data.motion.contacts import feet_world_m
from amp_data.motion.gait import gait_figures, is_running, touchdowns
from learner.arrays import namespace

EDGE_WIDTH = 0.07       # of a cycle: Walk These Ways' kappa
PHASE_BINS = 50         # the dog's mean foot heights and joint angles per bank over FL's stride phase, in bins


@dataclass
class Gait:
    """One bank's contact schedule."""
    bank_name: str
    speed_m_s: float              # the bank's mean forward speed
    stride_freq_hz: float
    duty: np.ndarray              # (4,) FL, FR, RL, RR
    offset: np.ndarray            # (4,) touchdown phase of each foot after FL's (FL: 0)

    @property
    def is_run(self) -> bool:
        """A running gait by Hildebrand's line: the hind feet's mean duty factor below 0.5."""
        return is_running(self.duty)


def gaits_of_banks(banks) -> list[Gait]:
    """Each bank's gait (amp_data `Bank`s); InputError naming a bank without a complete stride."""
    out = []
    for bank in banks:
        g = gait_figures(bank)
        if not g.strides or not np.isfinite(g.stride_freq_hz):
            raise InputError(bank.path, "no complete stride in its contacts: env.gait_clock (on in the default "
                             "preset cpu-dog) needs one per bank; --preset cpu trains without it")
        out.append(Gait(str(bank.path), g.forward_speed_m_s, g.stride_freq_hz, np.asarray(g.duty, dtype=float),
                        np.concatenate([[0.0], np.nan_to_num(np.asarray(g.phase, dtype=float))])))
    return out


def reference_phase(contact_fl: np.ndarray, fps: float, wrap: bool, time_s: np.ndarray):
    """FL's stride phase (n,) in [0, 1) at times within one clip, and the stride's period (n,) s: time since
    its last touchdown over the time from that touchdown to the next. NaN where a clamp clip has no
    touchdown before or after the time, or the clip none at all. `contact_fl`: (T,) FL contacts of the
    clip's frames."""
    t = np.asarray(time_s, dtype=float)
    c = np.asarray(contact_fl, dtype=bool)
    nan = np.full(t.shape, np.nan)
    if wrap:      # the last frame goes first, so that a touchdown across the wrap counts at frame 0
        duration = len(c) / fps
        td = (touchdowns(np.concatenate([c[-1:], c])[:, None])[0] - 1) / fps
        if not len(td):
            return nan, nan
        td = np.concatenate([td - duration, td, td + duration])
        t = np.mod(t, duration)
    else:
        td = touchdowns(c[:, None])[0] / fps
        if len(td) < 2:
            return nan, nan
    i = np.searchsorted(td, t, side="right") - 1
    ok = (i >= 0) & (i + 1 < len(td))
    i = np.clip(i, 0, len(td) - 2)
    period = td[i + 1] - td[i]
    return np.where(ok, np.mod((t - td[i]) / period, 1.0), np.nan), np.where(ok, period, np.nan)


def profile_at_phase(phase, profile):
    """(n, C): a profile over the clock's phase at phases (n,), linear between the bins of `profile` (n, C,
    bins), each environment's bank's row of `GaitClocks.foot_height_m` (C = 4 feet, m) or
    `GaitClocks.joint_pos_rad` (C = 12 joints, rad). numpy or torch (the phase's namespace)."""
    xp = namespace(phase)
    bins = profile.shape[-1]
    x = phase * bins - 0.5                              # bin centres at (i + 0.5) / bins
    lo = xp.floor(x)
    w = (x - lo)[:, None]
    i0 = xp.astype(lo, xp.int64) % bins
    i1 = (i0 + 1) % bins
    rows = xp.arange(profile.shape[0])[:, None]
    channels = xp.arange(profile.shape[1])[None, :]
    return (1 - w) * profile[rows, channels, i0[:, None]] + w * profile[rows, channels, i1[:, None]]


def desired_contact(phase, duty, offset, edge_width: float = EDGE_WIDTH):
    """(n, 4) in [0, 1]: how much each foot should be on the floor at clock phases (n,), for gaits given per
    environment as duty (n, 4) and offset (n, 4). numpy or torch (the phase's namespace)."""
    xp = namespace(phase)

    def cdf(x):
        return 1.0 / (1.0 + xp.exp(-1.702 * x / edge_width))

    p = (phase[:, None] - offset) % 1.0
    return cdf(p) * (1 - cdf(p - duty)) + cdf(p - 1) * (1 - cdf(p - duty - 1))


class GaitClocks:
    """The banks' gaits as arrays, and FL's stride phase at every frame of the expert sampler's clips."""

    def __init__(self, expert):
        self.gaits = gaits_of_banks(expert.banks)
        self.speed_m_s = np.array([g.speed_m_s for g in self.gaits])
        self.freq_hz = np.array([g.stride_freq_hz for g in self.gaits])
        self.duty = np.stack([g.duty for g in self.gaits])
        self.offset = np.stack([g.offset for g in self.gaits])
        self.fps = expert.fps
        self._clip_bank = np.array([c.bank_index for c in expert.clips])
        self._clip_row0 = np.array([c.first_row for c in expert.clips])
        self._clip_frames = np.array([c.num_frames for c in expert.clips])
        phase, period = [], []
        for c in expert.clips:                  # a loop over clips, once
            contact = np.asarray(expert.banks[c.bank_index]["contacts"][c.clip.start:c.clip.stop, 0], dtype=bool)
            p, t = reference_phase(contact, self.fps, c.clip.loop_mode == "wrap", np.arange(c.num_frames) / self.fps)
            phase.append(p)
            period.append(t)
        self._frame_phase, self._frame_period_s = np.concatenate(phase), np.concatenate(period)
        def foot_height(bank, rows):
            feet_w = feet_world_m(*(np.asarray(bank[k][rows]) for k in ("root_pos", "root_quat", "foot_pos_base")))
            return feet_w[:, :, 2]

        def joint_pos(bank, rows):
            return np.asarray(bank["joint_pos"][rows])

        banks = range(len(self.gaits))
        self.foot_height_m = np.stack([self._phase_profile(expert, b, foot_height) for b in banks])
        self.joint_pos_rad = np.stack([self._phase_profile(expert, b, joint_pos) for b in banks])

    def _phase_profile(self, expert, bank_index: int, values) -> np.ndarray:
        """(C, PHASE_BINS): the mean of `values(bank, rows)` (frames, C) over the bank's clips, per bin of
        FL's stride phase (bins without a frame interpolated around the cycle)."""
        phase, value = [], []
        bank = expert.banks[bank_index]
        for c in (c for c in expert.clips if c.bank_index == bank_index):      # a loop over clips, once
            value.append(values(bank, slice(c.clip.start, c.clip.stop)))
            phase.append(self._frame_phase[c.first_row:c.first_row + c.num_frames])
        phase, value = np.concatenate(phase), np.concatenate(value)
        ok = np.isfinite(phase)
        b = np.minimum((phase[ok] * PHASE_BINS).astype(int), PHASE_BINS - 1)
        count = np.bincount(b, minlength=PHASE_BINS)
        centres = (np.arange(PHASE_BINS) + 0.5) / PHASE_BINS
        out = np.empty((value.shape[1], PHASE_BINS))
        for ch in range(value.shape[1]):
            mean = np.bincount(b, weights=value[ok, ch], minlength=PHASE_BINS) / np.maximum(count, 1)
            out[ch] = np.interp(centres, centres[count > 0], mean[count > 0], period=1.0)
        return out

    def gait_for_command(self, command_vx_m_s: np.ndarray) -> np.ndarray:
        """(n,) index of the bank whose mean forward speed is nearest each command."""
        return np.argmin(np.abs(np.asarray(command_vx_m_s, dtype=float)[:, None] - self.speed_m_s[None, :]), axis=1)

    def start_phase(self, gait: np.ndarray, clip: np.ndarray, time_s: np.ndarray,
                    rng: np.random.Generator) -> np.ndarray:
        """(n,) phases at episode starts: the reference's own (FL's phase at the frame before the time,
        advanced by the time since it) where `clip` >= 0 is a clip of the gait's bank whose FL stride is
        defined there, else uniform draws from `rng` (one per start, always drawn)."""
        phase = rng.random(len(gait))
        clip = np.asarray(clip, dtype=np.int64)
        from_ref = clip >= 0
        c = np.where(from_ref, clip, 0)
        frame_pos = np.asarray(time_s, dtype=float) * self.fps
        frame = np.minimum(np.floor(frame_pos).astype(np.int64), self._clip_frames[c] - 1)
        row = self._clip_row0[c] + np.maximum(frame, 0)
        ref = self._frame_phase[row] + (frame_pos - frame) / self.fps / self._frame_period_s[row]
        use = from_ref & (self._clip_bank[c] == gait) & np.isfinite(ref)
        phase[use] = np.mod(ref[use], 1.0)
        return phase
