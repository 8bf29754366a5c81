"""Pick the best single gait cycle of a clip: the most periodic, with the smallest loop-closure error.

Each candidate is a stride [start, stop) between two touchdowns of FL (amp_data.motion.gait) with the asked gait
label. Its state trajectory (joint positions and velocities, base height, roll and pitch, base linear and
angular velocities), standardised per dimension by the clip's spread, gives two numbers:

- closure: the RMS difference between the state at `stop` (the first frame after the cycle) and at
  `start`; the end `stop` may move by up to `stop_slack` frames to where the loop closes best;
- periodicity: the RMS difference between the cycle and its neighbouring strides (resampled to the same
  number of phase samples); 1.0 when it has no neighbour of the same gait (one standard deviation).

The best cycle has the smallest closure + periodicity.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial.transform import Rotation

from amp_data.motion.gait import Cycle, GaitReport, analyze_clip

CYCLE_GAITS = {"walk": "walk", "trot": "trot", "pace": "pace", "canter": "canter/gallop",
               "gallop": "canter/gallop", "auto": None}
PHASE_SAMPLES = 32
NO_NEIGHBOUR_PERIODICITY = 1.0


@dataclass(frozen=True)
class CycleChoice:
    cycle: Cycle
    start: int
    stop: int              # frames [start, stop); frame `stop` of the clip closes the loop
    closure: float         # standardised RMS
    periodicity: float     # standardised RMS
    candidates: int        # cycles of that gait in the clip

    @property
    def score(self) -> float:
        return self.closure + self.periodicity


def cycle_state(joint_pos, joint_vel, root_pos, root_quat_xyzw, base_lin_vel, base_ang_vel) -> np.ndarray:
    """(T, D) per-frame state compared between frames: everything but heading and horizontal position."""
    roll_pitch = Rotation.from_quat(root_quat_xyzw).as_euler("ZYX")[:, 1:]
    return np.concatenate([joint_pos, joint_vel, root_pos[:, 2:3], roll_pitch, base_lin_vel, base_ang_vel], axis=1)


def _resample_cycle(x: np.ndarray, start: int, stop: int, samples: int = PHASE_SAMPLES) -> np.ndarray:
    t = np.linspace(start, stop, samples, endpoint=False)
    i0 = np.floor(t).astype(int)
    w = (t - i0)[:, None]
    return (1 - w) * x[i0] + w * x[np.minimum(i0 + 1, len(x) - 1)]


def score_cycles(report: GaitReport, state: np.ndarray, label: str, stop_slack: int = 2) -> list[CycleChoice]:
    """Every cycle labelled `label` (a gait of amp_data.motion.gait) with its closure and periodicity, in time order."""
    candidates = [c for c in report.cycles if c.gait == label]
    sigma = np.maximum(state.std(axis=0), 1e-3 + 0.05 * np.abs(state).mean(axis=0))
    z = state / sigma
    n = len(z)
    scored = []
    for c in candidates:
        stops = [b for b in range(c.stop - stop_slack, c.stop + stop_slack + 1) if c.start + 2 < b < n]
        closures = [float(np.sqrt(np.mean((z[b] - z[c.start]) ** 2))) for b in stops]
        k = int(np.argmin(closures))
        shape = _resample_cycle(z, c.start, stops[k])
        neighbours = [d for d in candidates if d is not c and (d.stop == c.start or d.start == c.stop)]
        diffs = [float(np.sqrt(np.mean((shape - _resample_cycle(z, d.start, d.stop)) ** 2))) for d in neighbours]
        periodicity = float(np.mean(diffs)) if diffs else NO_NEIGHBOUR_PERIODICITY
        scored.append(CycleChoice(c, c.start, stops[k], closures[k], periodicity, len(candidates)))
    return scored


def choose_cycle(report: GaitReport, state: np.ndarray, gait: str, stop_slack: int = 2) -> CycleChoice:
    """The best cycle of `gait` (a key of CYCLE_GAITS) in a clip. ValueError when the clip has none."""
    if gait not in CYCLE_GAITS:
        raise ValueError(f"unknown gait {gait!r}: choose one of {', '.join(CYCLE_GAITS)}")
    label = CYCLE_GAITS[gait] if gait != "auto" else report.gait
    found = sorted({c.gait for c in report.cycles} - {"irregular"})
    scored = score_cycles(report, state, label, stop_slack)
    if not scored:
        have = ", ".join(f"{g} ({sum(c.gait == g for c in report.cycles)} cycles)" for g in found) or "no complete gait cycle"
        want = f"its own gait ({report.gait})" if gait == "auto" else label
        raise ValueError(f"has no {want} cycle; found: {have}")
    return min(scored, key=lambda choice: choice.score)


def representative_cycle(bank, clip=0, report: GaitReport | None = None):
    """(frame indices of one cycle in time order, starting at FL's touchdown; its Cycle), or None.

    A `wrap` clip: its loop. A `clamp` clip: the best cycle of its main gait (`choose_cycle`), or its
    first cycle when no gait dominates. Indices are into the bank's datasets.
    """
    c = bank.clip(clip)
    report = report or analyze_clip(bank, c)
    if not report.cycles:
        return None
    if c.loop_mode == "wrap":
        cyc = report.cycles[0]
        return c.start + (cyc.start + np.arange(c.num_frames)) % c.num_frames, cyc
    d = bank.clip_data(c)
    labelled = [x for x in report.cycles if x.gait == report.gait]
    if labelled:
        state = cycle_state(d["joint_pos"], d["joint_vel"], d["root_pos"], d["root_quat"], d["base_lin_vel"],
                            d["base_ang_vel"])
        choice = choose_cycle(report, state, "auto")
        cyc, start, stop = choice.cycle, choice.start, choice.stop
    else:
        cyc = report.cycles[0]
        start, stop = cyc.start, cyc.stop
    return c.start + np.arange(start, stop), cyc
