"""Does the policy move like the dog? Its gait at each reference bank's speed, beside the bank's own.

For every reference bank of a run: the deterministic policy is played from standing at the bank's mean
forward speed (`play.roll_out`, no domain randomisation), the first `settle_s` seconds are dropped, and the
rollout's gait (amp_data.motion.gait, contacts from the simulator's foot forces) is set beside the bank's:

- stride frequency (Hz, median over strides) and their ratio;
- leg swing frequency (Hz): the dominant frequency of the thigh angles (`amp_data.motion.gait.leg_swing_freq_hz`),
  which does not depend on contact detection (feet tapping at 12 Hz under legs that swing at 1 Hz show 1 Hz);
- duty factor per foot (mean) and the difference of the means;
- footfall phases of FR, RL and RR after FL (circular means) and their circular differences;
- the share of stride time of each gait label, the main label, and whether the policy's is the bank's;
- the FL hip, thigh and calf range of motion (rad) and the ratio of the ranges;
- forward speed;
- the share of time with no foot on the floor (flight) and its difference: the dog's walk has none, its trot
  about 0.17 (a flying trot); a policy that hops has flights at the walk.

Beside the simulator's contacts, the same rollout's gait with contacts found as the banks find them
(`amp_data.motion.contacts.bank_contacts`: foot height and speed, with hysteresis), `policy_detected`: a
stance foot that bounces on the floor flickers the simulator's contacts (force > 1 N) at 10 Hz and more
while the detector sees one stance; where the two disagree, the policy's feet chatter. The dog's own contacts
come from that detector, so `compare_detected` and `targets_detected` (the same figures and targets with
the policy's detected contacts) compare like with like; `compare` and `targets` also count the chatter.

The targets of the imitation issue: stride frequency within +-25 %, mean duty within +-0.10, the bank's label
in most strides (`ImitationReport.meets_targets`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from amp_data.motion.gait import GaitFigures, gait_figures  # noqa: F401  (gait_figures: the banks' side)

FREQ_TOL = 0.25
DUTY_TOL = 0.10


def compare(policy: GaitFigures, reference: GaitFigures) -> dict:
    """Ratios and differences of the policy's figures to the reference's."""
    def circ(a, b):
        d = np.mod(a - b + 0.5, 1.0) - 0.5
        return float(d)
    ref_range = [hi - lo for lo, hi in reference.fl_rom_rad]
    pol_range = [hi - lo for lo, hi in policy.fl_rom_rad]
    same = policy.label_share.get(reference.label, 0.0)
    return {
        "stride_freq_ratio": policy.stride_freq_hz / reference.stride_freq_hz if reference.stride_freq_hz else float("nan"),
        "leg_swing_freq_ratio": (policy.leg_swing_freq_hz / reference.leg_swing_freq_hz
                                 if reference.leg_swing_freq_hz else float("nan")),
        "duty_diff": [p - r for p, r in zip(policy.duty, reference.duty)],
        "mean_duty_diff": float(np.mean(policy.duty) - np.mean(reference.duty)),
        "phase_diff": [circ(p, r) for p, r in zip(policy.phase, reference.phase)],
        "reference_label_share": same,
        "fl_rom_range_ratio": [p / r if r else float("nan") for p, r in zip(pol_range, ref_range)],
        "speed_ratio": policy.forward_speed_m_s / reference.forward_speed_m_s if reference.forward_speed_m_s else float("nan"),
        "flight_share_diff": policy.flight_share - reference.flight_share,
    }


def _with_detected_contacts(bank):
    """A copy of a rollout bank whose contacts are the banks' detector's on its own foot positions."""
    import copy

    from amp_data.motion.contacts import bank_contacts

    out = copy.copy(bank)
    out.data = dict(bank.data)
    out.data["contacts"] = bank_contacts(bank["root_pos"], bank["root_quat"], bank["foot_pos_base"], bank.fps)
    return out


def meets_targets(cmp: dict | None) -> dict[str, bool]:
    """Which targets a comparison meets; none without one (a fall, no stride)."""
    if cmp is None:
        return {"stride_freq": False, "duty": False, "label": False}
    return {"stride_freq": bool(abs(cmp["stride_freq_ratio"] - 1) <= FREQ_TOL),
            "duty": bool(abs(cmp["mean_duty_diff"]) <= DUTY_TOL),
            "label": bool(cmp["reference_label_share"] > 0.5)}


@dataclass
class ImitationReport:
    run: str
    env_steps: int
    seconds: float
    settle_s: float
    gaits: dict = field(default_factory=dict)    # bank name -> {command, fell, policy, reference, compare, targets}

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def evaluate_imitation(run, checkpoint=None, seconds: float = 12.0, settle_s: float = 2.0,
                       banks=None) -> ImitationReport:
    """Play the run's policy at each reference bank's mean speed and compare the gaits (module docstring)."""
    from pathlib import Path

    from amp_data.format.bank import read_bank
    from amp_data.errors import InputError
    from learner.play import load_policy, roll_out, rollout_bank

    if not (0 < settle_s < seconds <= 600):
        raise InputError(None, f"--seconds must be in ({settle_s:g}, 600] and above the settling time, got {seconds}")
    policy = load_policy(run, checkpoint, banks)
    state, task, agent, paths = policy.state, policy.task, policy.agent, policy.bank_paths
    report = ImitationReport(run=str(run), env_steps=int(state["env_steps"]), seconds=seconds, settle_s=settle_s)
    skip = int(round(settle_s / task.dt_s))
    try:
        for path in paths:
            reference = read_bank(path)
            ref = gait_figures(reference)
            r = roll_out(agent, task, seconds, ref.forward_speed_m_s)
            bank = rollout_bank(r, Path(path).stem)
            if r.fell or len(r.joint_pos) <= skip + 2:
                pol = None
            else:
                bank.data = {k: v[skip:] for k, v in bank.data.items()}
                bank.clips[0].stop = len(bank.data["joint_pos"])
                pol = gait_figures(bank)
            cmp = compare(pol, ref) if pol is not None and pol.strides else None
            detected = None if pol is None else gait_figures(_with_detected_contacts(bank))
            cmp_detected = compare(detected, ref) if detected is not None and detected.strides else None
            report.gaits[Path(path).stem] = {
                "command_vx_m_s": ref.forward_speed_m_s, "fell": bool(r.fell),
                "policy": None if pol is None else pol.as_dict(), "reference": ref.as_dict(), "compare": cmp,
                "policy_detected": None if detected is None else detected.as_dict(),
                "targets": meets_targets(cmp),
                "compare_detected": cmp_detected, "targets_detected": meets_targets(cmp_detected)}
    finally:
        task.backend.close()
    return report
