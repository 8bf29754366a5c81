"""Gait cycles, footfall phases and gait labels from per-foot contacts.

A *gait cycle* (stride) runs from one touchdown of the reference foot (FL) to its next touchdown.
Per cycle: period, stride frequency, duty factor per foot (fraction of the cycle in contact), footfall
phase of each foot (its first touchdown in the cycle, as a fraction of the period after FL's), mean
forward speed and Froude number v^2 / (g h), h the mean hip height (base height above the ground; the
Go2's thigh joints lie in the base's xy plane).

`gait_figures(bank)` pools a bank's strides into its figures (median stride frequency, mean duty per foot,
circular-mean footfall phases, label shares, FL range of motion, mean speed): what `amp-data eval` sets a
policy's gait beside, and what the learner's gait clock runs on.

Gait labels after Hildebrand (Symmetrical gaits of horses, Science 150:701, 1965; Analysis of tetrapod gaits,
in Neural Control of Locomotion, 1976), as used for dogs and primates by Cartmill, Lemelin & Schmitt (Support
polygons and symmetrical gaits in mammals, Zool. J. Linn. Soc. 136:401, 2002). Two numbers per stride:

- **duty factor**: the share of the stride a foot is on the ground; Hildebrand's walk/run boundary is the
  hind feet's duty factor at 0.5 (here the mean of RL and RR);
- **diagonality** D: the share of the stride by which a fore footfall follows the hind footfall of the same
  side (Hildebrand's "limb phase"), the circular mean of the left and right sides. With L = phase(RL), the lag
  of the hind footfall after the fore (the number the phase table shows), D = 1 - L on the left.

Thresholds are in `GaitRules`:

- `stand`: the reference foot does not step (no complete cycle), the base moves slower than
  `stand_speed_m_s` and every foot is in contact at least `stand_duty` of the time.
- A stride is *symmetrical* when the two fore feet, and the two hind feet, land half a stride apart
  (within `symmetry_tol` of 0.5). Symmetrical strides:
  - hind duty >= `run_duty` (0.5): `walk`, qualified by D in quarters centred on Hildebrand's four
    footfall orders: `lateral-couplets` (D < 0.125 or >= 0.875: the fore foot lands with the hind foot of its
    side), `lateral-sequence` (0.125-0.375: hind, fore of the same side, other hind, other fore),
    `diagonal-couplets` (0.375-0.625: diagonal feet land together), `diagonal-sequence` (0.625-0.875);
  - hind duty < `run_duty`: running; `trot` when |D - 0.5| <= `trot_band` (0.25: closer to diagonal
    couplets), else `pace` (lateral couplets).
- `canter/gallop`: not symmetrical (left and right feet of a girdle land close together or unevenly), with a
  mean duty factor below `gallop_max_duty` (a suspended, running gait).
- `irregular`: some foot does not touch down within the stride (standing on three legs); the base moves
  slower than `stand_speed_m_s` (stepping on the spot, turning); or an asymmetric footfall pattern at a
  walking duty factor (shuffling, changing gait).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field

import numpy as np
from scipy.spatial.transform import Rotation

from amp_data.motion.contacts import estimate_ground_m, feet_world_m, runs

GRAVITY_M_S2 = 9.81
GAITS = ("stand", "walk", "trot", "pace", "canter/gallop")
FEET = ("FL", "FR", "RL", "RR")


WALK_KINDS = ("lateral-couplets", "lateral-sequence", "diagonal-couplets", "diagonal-sequence")


@dataclass(frozen=True)
class GaitRules:
    symmetry_tol: float = 0.15      # |phase(FR) - 0.5| and |phase(RR) - phase(RL) - 0.5| below this: symmetric
    run_duty: float = 0.5           # hind duty factor below this: a running gait (Hildebrand)
    trot_band: float = 0.25         # running with |D - 0.5| <= this: trot, else pace
    stand_speed_m_s: float = 0.10
    stand_duty: float = 0.90
    gallop_max_duty: float = 0.55


@dataclass
class Cycle:
    start: int                    # frame of FL's touchdown
    stop: int                     # frame of FL's next touchdown (the cycle's frames are [start, stop))
    period_s: float
    stride_freq_hz: float
    duty: tuple[float, ...]       # per foot, FL, FR, RL, RR
    phase: tuple[float, ...]      # footfall phase per foot in [0, 1), FL = 0; NaN: no touchdown in the cycle
    forward_speed_m_s: float
    froude: float
    gait: str
    diagonality: float = float("nan")   # D in [0, 1): fore footfall after the same side's hind, share of the stride
    walk_kind: str = ""                 # walks: lateral-couplets, lateral-sequence, diagonal-couplets, -sequence

    @property
    def label(self) -> str:
        """The gait with its qualifier: `walk (lateral-sequence)`, `trot`, ..."""
        return f"{self.gait} ({self.walk_kind})" if self.walk_kind else self.gait

    def as_dict(self) -> dict:
        d = asdict(self)
        d["duty"] = list(self.duty)
        d["phase"] = [None if np.isnan(p) else p for p in self.phase]
        d["diagonality"] = None if np.isnan(self.diagonality) else self.diagonality
        return d


@dataclass
class GaitReport:
    cycles: list[Cycle]
    gait: str                     # the label covering most cycle time; `stand` or `-` without cycles
    duty: tuple[float, ...]       # per foot over all frames
    forward_speed_m_s: float      # mean over all frames
    time_share: dict[str, float] = field(default_factory=dict)   # label -> fraction of cycle time

    def as_dict(self) -> dict:
        return {"gait": self.gait, "duty": list(self.duty), "forward_speed_m_s": self.forward_speed_m_s,
                "time_share": self.time_share, "cycles": [c.as_dict() for c in self.cycles]}


def touchdowns(contacts: np.ndarray) -> list[np.ndarray]:
    """Frames where each foot's contact switches on (rising edges), one array per foot."""
    c = np.asarray(contacts, dtype=np.int8)
    rising = np.diff(c, axis=0) == 1
    return [np.flatnonzero(rising[:, f]) + 1 for f in range(c.shape[1])]


def touchdowns_per_s(contacts: np.ndarray, dt_s: float) -> np.ndarray:
    """Rising edges of contacts (T, ...) bool per second of the span they cover, over axis 0: (...)."""
    c = np.asarray(contacts, dtype=bool)
    return ((~c[:-1]) & c[1:]).sum(axis=0) / ((len(c) - 1) * dt_s)


def lifts(contacts: np.ndarray) -> list[np.ndarray]:
    """Per foot, (K, 2) [start, end) frames of each span where contacts (T, 4) bool are off between two
    frames on (a swing, or a bounce when short); spans open at either end of the record are left out."""
    c = np.asarray(contacts, dtype=bool)
    out = []
    for f in range(c.shape[1]):             # a loop over the feet
        starts, stops, on = runs(c[:, f])
        inner = ~on & (starts > 0) & (stops < len(c))
        out.append(np.stack([starts[inner], stops[inner]], axis=1))
    return out


def _circular_gap(a: np.ndarray | float, b: np.ndarray | float) -> np.ndarray:
    """Distance between phases a and b on the unit circle, in [0, 0.5]."""
    d = np.mod(np.asarray(a) - np.asarray(b), 1.0)
    return np.minimum(d, 1.0 - d)


def diagonality(phase: np.ndarray) -> float:
    """Hildebrand's D in [0, 1) from footfall phases (FL, FR, RL, RR): the circular mean, over the left and
    right sides, of the share of the stride by which the fore footfall follows the same side's hind footfall."""
    phase = np.asarray(phase, dtype=float)
    sides = np.mod([phase[0] - phase[2], phase[1] - phase[3]], 1.0)
    d = float(np.mod(np.angle(np.exp(2j * np.pi * sides).mean()) / (2 * np.pi), 1.0))
    return 0.0 if d >= 1.0 - 1e-12 else d


def walk_kind(d: float) -> str:
    """The walk's footfall order from its diagonality (quarters centred on 0, 0.25, 0.5, 0.75)."""
    return WALK_KINDS[int(np.floor(np.mod(d + 0.125, 1.0) * 4)) % 4]


def is_running(duty: np.ndarray, rules: GaitRules = GaitRules()) -> bool:
    """Hildebrand's walk/run line: the hind feet's mean duty factor (duty: FL, FR, RL, RR) below `run_duty`."""
    return float(np.mean(np.asarray(duty, dtype=float)[2:])) < rules.run_duty


def classify_full(phase: np.ndarray, duty: np.ndarray, forward_speed_m_s: float,
                  rules: GaitRules = GaitRules()) -> tuple[str, float, str]:
    """(gait, diagonality, walk kind) of one cycle from its footfall phases (FL, FR, RL, RR; FL = 0), duty
    factors (FL, FR, RL, RR) and forward speed."""
    phase = np.asarray(phase, dtype=float)
    duty = np.asarray(duty, dtype=float)
    if np.isnan(phase).any():
        return "irregular", float("nan"), ""
    d = diagonality(phase)
    if abs(forward_speed_m_s) < rules.stand_speed_m_s:
        return "irregular", d, ""
    fore_half = abs(_circular_gap(phase[1], phase[0]) - 0.5) <= rules.symmetry_tol
    hind_half = abs(_circular_gap(phase[3], phase[2]) - 0.5) <= rules.symmetry_tol
    if not (fore_half and hind_half):
        return ("canter/gallop" if float(np.mean(duty)) < rules.gallop_max_duty else "irregular"), d, ""
    if not is_running(duty, rules):
        return "walk", d, walk_kind(d)
    return ("trot" if abs(d - 0.5) <= rules.trot_band else "pace"), d, ""


def classify(phase: np.ndarray, duty: np.ndarray, forward_speed_m_s: float, rules: GaitRules = GaitRules()) -> str:
    """Gait label of one cycle (see classify_full)."""
    return classify_full(phase, duty, forward_speed_m_s, rules)[0]


def forward_speed_m_s(root_quat_xyzw: np.ndarray, base_lin_vel: np.ndarray) -> np.ndarray:
    """Forward speed (T,) m/s: the base velocity in the world, along the heading (base x on the ground)."""
    rot = Rotation.from_quat(root_quat_xyzw)
    vel = rot.apply(base_lin_vel)[:, :2]
    x_axis = rot.apply([1.0, 0.0, 0.0])[:, :2]
    x_axis /= np.maximum(np.linalg.norm(x_axis, axis=1, keepdims=True), 1e-9)
    return np.sum(vel * x_axis, axis=1)


def cycle_metrics(contacts: np.ndarray, forward_speed: np.ndarray, hip_height_m: np.ndarray, fps: float,
                  start: int, stop: int, rules: GaitRules = GaitRules(),
                  foot_touchdowns: list[np.ndarray] | None = None) -> Cycle:
    """The numbers of the cycle [start, stop) (start and stop: FL touchdowns). `foot_touchdowns`: the
    clip's touchdowns(contacts), when the caller has them already."""
    period = (stop - start) / fps
    c = contacts[start:stop]
    # A foot's footfall is its first touchdown in a window shifted back by `early` of the period, so a foot
    # landing a frame before FL counts as phase 0.97, not as missing.
    early = int(round(0.1 * (stop - start)))
    phase = []
    for tds in foot_touchdowns if foot_touchdowns is not None else touchdowns(contacts):
        inside = tds[(tds >= start - early) & (tds <= stop - early)]
        phase.append(((inside[0] - start) / (stop - start)) % 1.0 if len(inside) else np.nan)
    phase[0] = 0.0
    speed = float(np.mean(forward_speed[start:stop]))
    duty = c.mean(axis=0)
    froude = speed ** 2 / (GRAVITY_M_S2 * float(np.mean(hip_height_m[start:stop])))
    gait, d, kind = classify_full(np.array(phase), duty, speed, rules)
    return Cycle(start=int(start), stop=int(stop), period_s=period, stride_freq_hz=1.0 / period,
                 duty=tuple(float(x) for x in duty), phase=tuple(float(p) for p in phase),
                 forward_speed_m_s=speed, froude=froude, gait=gait, diagonality=d, walk_kind=kind)


def analyze(contacts: np.ndarray, root_pos: np.ndarray, root_quat_xyzw: np.ndarray, foot_pos_base: np.ndarray,
            base_lin_vel: np.ndarray, fps: float, wrap: bool = False, rules: GaitRules = GaitRules()) -> GaitReport:
    """Cycles and gait label of one clip's arrays (one clip, frames in time order).

    `wrap`: the clip is one loop (frame T is frame 0 again); its cycle is found on the loop played three times
    and reported with frames modulo T.
    """
    contacts = np.asarray(contacts, dtype=bool)
    n = len(contacts)
    forward = forward_speed_m_s(root_quat_xyzw, base_lin_vel)
    ground = estimate_ground_m(feet_world_m(root_pos, root_quat_xyzw, foot_pos_base))
    hip_height = root_pos[:, 2] - ground
    if wrap:
        contacts, forward, hip_height = (np.concatenate([x, x, x]) for x in (contacts, forward, hip_height))
    foot_touchdowns = touchdowns(contacts)
    fl = foot_touchdowns[0]
    pairs = list(zip(fl[:-1], fl[1:]))
    if wrap:
        pairs = [(a, b) for a, b in pairs if n <= a < 2 * n]
    cycles = [cycle_metrics(contacts, forward, hip_height, fps, a, b, rules, foot_touchdowns) for a, b in pairs]
    if wrap:
        for c in cycles:
            c.start, c.stop = c.start - n, c.stop - n
        contacts, forward = contacts[:n], forward[:n]
    duty = tuple(float(x) for x in contacts.mean(axis=0))
    speed = float(forward.mean())
    share: Counter = Counter()
    for c in cycles:
        share[c.gait] += c.period_s
    total = sum(share.values())
    time_share = {k: v / total for k, v in share.most_common()} if total else {}
    labelled = [(v, k) for k, v in share.items() if k != "irregular"]
    if abs(speed) < rules.stand_speed_m_s and min(duty) >= rules.stand_duty:
        gait = "stand"
    elif labelled:
        gait = max(labelled)[1]
    else:
        gait = "-"
    return GaitReport(cycles=cycles, gait=gait, duty=duty, forward_speed_m_s=speed, time_share=time_share)


def analyze_clip(bank, clip=0, rules: GaitRules = GaitRules()) -> GaitReport:
    """GaitReport of one clip of an amp_data.format.bank.Bank."""
    c = bank.clip(clip)
    d = bank.clip_data(c)
    return analyze(d["contacts"], d["root_pos"], d["root_quat"], d["foot_pos_base"], d["base_lin_vel"], bank.fps,
                   wrap=c.loop_mode == "wrap", rules=rules)


def bank_gait_label(bank) -> str:
    """One label for a bank: its clips' labels joined with '+' when they differ (merged banks)."""
    labels = []
    for i in range(len(bank.clips)):
        label = analyze_clip(bank, i).gait
        if label not in labels:
            labels.append(label)
    return "+".join(labels)


def leg_swing_freq_hz(joint_pos: np.ndarray, fps: float, wrap: bool = False, min_hz: float = 0.3) -> float:
    """The dominant frequency (Hz) of the thigh angles (T, 12 joint positions in canonical order): the peak
    of their summed power spectrum above `min_hz`, after removing each thigh's mean. Independent of contact
    detection: feet that tap the floor at 12 Hz while the legs swing at 1 Hz show 1 Hz here. A `wrap` clip
    (one cycle) is repeated to at least 8 s first, so its spectrum holds only its harmonics. NaN for fewer
    than 8 frames."""
    thighs = np.asarray(joint_pos, dtype=np.float64)[:, 1::3]
    if len(thighs) < 8:
        return float("nan")
    if wrap:
        thighs = np.tile(thighs, (int(np.ceil(8.0 * fps / len(thighs))), 1))
    thighs = thighs - thighs.mean(axis=0)
    freq = np.fft.rfftfreq(len(thighs), 1.0 / fps)
    power = (np.abs(np.fft.rfft(thighs, axis=0)) ** 2).sum(axis=1)
    power[freq < min_hz] = 0.0
    return float(freq[np.argmax(power)]) if power.any() else float("nan")


# ---------------------------------------------------------------------------------- a bank's figures

@dataclass
class GaitFigures:
    strides: int
    stride_freq_hz: float
    leg_swing_freq_hz: float            # median over clips (each weighted by its frames)
    duty: list[float]                   # FL, FR, RL, RR
    phase: list[float]                  # FR, RL, RR after FL, circular mean in [0, 1)
    label_share: dict[str, float]       # label (walk kinds included) -> share of stride time
    label: str                          # the label with the largest share ('-' without strides)
    fl_rom_rad: list[list[float]]       # hip, thigh, calf: [min, max]
    forward_speed_m_s: float
    flight_share: float = float("nan")  # share of the clips' frames with no foot down (a walk has none)

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def _circular_mean(x) -> float:
    x = np.asarray([v for v in x if v is not None and np.isfinite(v)], dtype=float)
    if not len(x):
        return float("nan")
    return float(np.mod(np.angle(np.exp(2j * np.pi * x).mean()) / (2 * np.pi), 1.0))


def gait_figures(bank) -> GaitFigures:
    """The gait figures of all clips of a bank (strides pooled, weighted by their time)."""
    cycles, speed_w = [], []
    for c in bank.clips:
        report = analyze_clip(bank, c)
        cycles += report.cycles
        speed_w.append((report.forward_speed_m_s, c.num_frames))
    share: dict[str, float] = {}
    for cyc in cycles:
        share[cyc.label] = share.get(cyc.label, 0.0) + cyc.period_s
    total = sum(share.values())
    share = {k: v / total for k, v in sorted(share.items(), key=lambda kv: -kv[1])} if total else {}
    q = bank["joint_pos"][:, :3]
    speeds, weights = zip(*speed_w)
    down = np.concatenate([np.asarray(bank["contacts"][c.start:c.stop]) > 0.5 for c in bank.clips])
    swing = [leg_swing_freq_hz(bank["joint_pos"][c.start:c.stop], bank.fps, c.loop_mode == "wrap") for c in bank.clips]
    return GaitFigures(
        strides=len(cycles),
        stride_freq_hz=float(np.median([c.stride_freq_hz for c in cycles])) if cycles else float("nan"),
        leg_swing_freq_hz=_weighted_median(swing, weights),
        duty=[float(np.mean([c.duty[f] for c in cycles])) if cycles else float("nan") for f in range(4)],
        phase=[_circular_mean([c.phase[f] for c in cycles]) for f in range(1, 4)],
        label_share=share, label=next(iter(share), "-"),
        fl_rom_rad=[[float(q[:, j].min()), float(q[:, j].max())] for j in range(3)],
        forward_speed_m_s=float(np.average(speeds, weights=weights)),
        flight_share=float((~down.any(axis=1)).mean()) if len(down) else float("nan"))


def _weighted_median(values, weights) -> float:
    v, w = np.asarray(values, dtype=float), np.asarray(weights, dtype=float)
    ok = np.isfinite(v)
    if not ok.any():
        return float("nan")
    v, w = v[ok], w[ok]
    order = np.argsort(v)
    cum = np.cumsum(w[order])
    return float(v[order][np.searchsorted(cum, 0.5 * cum[-1])])
