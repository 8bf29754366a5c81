"""Contacts, gait cycles and labels on synthetic footfall patterns with known truth; cycle choice; loops."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from typer.testing import CliRunner

from amp_data.motion.contacts import ContactConfig, detect_contacts, hysteresis, remove_short_runs
from amp_data.motion.cycle_select import choose_cycle
from amp_data.motion.gait import (GRAVITY_M_S2, analyze, classify, classify_full, diagonality, lifts, touchdowns,
                                  touchdowns_per_s)
from robots.go2.model import FOOT_RADIUS_M

FPS = 50.0
HIP_HEIGHT_M = 0.30


def footfall_contacts(phases, duty, period_frames: int, cycles: int, lead_in: int = 7) -> np.ndarray:
    """(T, 4) contacts: foot f lands at (k + phase_f) * period, stays down duty * period frames."""
    t = np.arange(lead_in + cycles * period_frames + period_frames)
    out = np.zeros((len(t), 4), dtype=bool)
    for f, (ph, d) in enumerate(zip(phases, np.broadcast_to(duty, 4))):
        local = np.mod(t - lead_in - ph * period_frames, period_frames)
        out[:, f] = local < d * period_frames
    return out


def synthetic_clip(contacts: np.ndarray, speed_m_s: float = 1.0, swing_height_m: float = 0.08):
    """Root, feet and velocities of a robot moving straight at speed, feet lifted in swing."""
    n = len(contacts)
    root_pos = np.zeros((n, 3))
    root_pos[:, 0] = speed_m_s * np.arange(n) / FPS
    root_pos[:, 2] = HIP_HEIGHT_M
    root_quat = np.tile([0.0, 0.0, 0.0, 1.0], (n, 1))
    feet = np.zeros((n, 4, 3))
    feet[..., 2] = -HIP_HEIGHT_M + FOOT_RADIUS_M + np.where(contacts, 0.0, swing_height_m)
    lin_vel = np.tile([speed_m_s, 0.0, 0.0], (n, 1))
    return root_pos, root_quat, feet, lin_vel


def feet_world_from_contacts(contacts: np.ndarray, swing_height_m=0.08, swing_speed_m_s=2.0, ramp_frames=3):
    """Feet world positions: resting in stance; in swing rising over `ramp_frames` and moving forward."""
    n = len(contacts)
    feet = np.zeros((n, 4, 3))
    for f in range(4):
        swing = ~contacts[:, f]
        # distance into the swing phase, ramped so lift-off and touch-down are not instant
        run = np.zeros(n)
        for t in range(1, n):   # test fixture only
            run[t] = run[t - 1] + 1 if swing[t] else 0
        rev = np.zeros(n)
        for t in range(n - 2, -1, -1):
            rev[t] = rev[t + 1] + 1 if swing[t] else 0
        lift = np.minimum(1.0, np.minimum(run, rev) / ramp_frames) * swing
        feet[:, f, 2] = FOOT_RADIUS_M + swing_height_m * lift
        feet[:, f, 0] = np.cumsum(swing * swing_speed_m_s / FPS)
    return feet


# --- contacts ---------------------------------------------------------------------------------------------

def test_hysteresis_holds_between_thresholds():
    on = np.array([0, 1, 0, 0, 0, 0, 0, 1, 0], bool)
    off = np.array([1, 0, 0, 0, 1, 0, 0, 0, 0], bool)
    np.testing.assert_array_equal(hysteresis(on, off), [0, 1, 1, 1, 0, 0, 0, 1, 1])


def test_short_runs_are_merged_but_not_at_the_ends():
    x = np.array([1, 0, 1, 1, 1, 0, 0, 0, 1, 1, 0], bool)
    np.testing.assert_array_equal(remove_short_runs(x, 2), [1, 1, 1, 1, 1, 0, 0, 0, 1, 1, 0])


def test_contacts_recover_known_stances():
    truth = footfall_contacts([0.0, 0.5, 0.5, 0.0], 0.6, period_frames=30, cycles=4)
    feet = feet_world_from_contacts(truth)
    found = detect_contacts(feet, FPS)
    # the ramp makes the first/last swing frame low: allow one frame at each transition
    edges = np.zeros_like(truth)
    edges[1:] |= truth[1:] != truth[:-1]
    edges[:-1] |= truth[1:] != truth[:-1]
    assert np.all((found == truth) | edges)
    assert abs(found.mean() - truth.mean()) < 0.05
    assert [len(t) for t in touchdowns(found)] == [len(t) for t in touchdowns(truth)]


def test_contacts_do_not_chatter_near_a_threshold():
    """A resting foot whose height wobbles across the touch-down threshold stays in contact."""
    n = 60
    feet = np.zeros((n, 4, 3))
    feet[..., 2] = FOOT_RADIUS_M
    wobble = 0.018 + 0.01 * (np.arange(n) % 2)   # 18 and 28 mm: across on (20) but below off (35)
    feet[5:, 0, 2] += wobble[5:]
    found = detect_contacts(feet, FPS, ContactConfig(), ground_m=0.0)
    assert found[:, 0].all()
    naive = feet[:, 0, 2] - FOOT_RADIUS_M < ContactConfig().on_height_m
    assert not naive.all()       # a plain threshold would flicker


def test_fore_and_hind_rest_levels_may_differ():
    truth = footfall_contacts([0.0, 0.5, 0.5, 0.0], 0.6, period_frames=30, cycles=4)
    feet = feet_world_from_contacts(truth)
    feet[:, :2, 2] += 0.022      # fore-paw markers sit 22 mm higher than hind ones
    found = detect_contacts(feet, FPS)
    assert abs(found[:, :2].mean() - truth[:, :2].mean()) < 0.05


# --- gait ---------------------------------------------------------------------------------------------------

GAITS = {   # phases FL, FR, RL, RR; duty
    "walk": ([0.0, 0.5, 0.75, 0.25], 0.65),
    "trot": ([0.0, 0.5, 0.5, 0.0], 0.4),
    "pace": ([0.0, 0.5, 0.0, 0.5], 0.45),
    "canter/gallop": ([0.0, 0.1, 0.6, 0.7], 0.25),
}
# Hildebrand's walks, duty 0.7: the hind foot of a side lands at L = phase(RL) after its fore foot, so the
# fore foot follows the hind by D = 1 - L.
WALKS = {   # kind: (phases, D)
    "lateral-couplets": ([0.0, 0.5, 0.95, 0.45], 0.05),
    "lateral-sequence": ([0.0, 0.5, 0.75, 0.25], 0.25),
    "diagonal-couplets": ([0.0, 0.5, 0.55, 0.05], 0.45),
    "diagonal-sequence": ([0.0, 0.5, 0.3, 0.8], 0.70),
}


@pytest.mark.parametrize("kind", list(WALKS))
def test_walks_by_diagonality(kind):
    phases, d = WALKS[kind]
    contacts = footfall_contacts(phases, 0.7, 40, cycles=4)
    report = analyze(contacts, *synthetic_clip(contacts, 0.8), FPS)
    assert report.gait == "walk"
    for c in report.cycles:
        assert (c.gait, c.walk_kind, c.label) == ("walk", kind, f"walk ({kind})")
        assert c.diagonality == pytest.approx(d, abs=1.0 / 40)


def test_duty_factor_separates_walk_from_run():
    """Same footfall orders; at hind duty >= 0.5 a walk, below a trot (diagonal) or a pace (lateral)."""
    for phases, run_label in (([0.0, 0.5, 0.5, 0.0], "trot"), ([0.0, 0.5, 0.0, 0.5], "pace")):
        for duty, label in ((0.62, "walk"), (0.40, run_label)):
            contacts = footfall_contacts(phases, duty, 40, cycles=3)
            report = analyze(contacts, *synthetic_clip(contacts, 1.0), FPS)
            assert {c.gait for c in report.cycles} == {label}, (phases, duty)
    # D1_053's "pace": lateral couplets at duty 0.62 are a walk now
    assert classify([0, 0.5, 0.95, 0.45], np.full(4, 0.62), 1.0) == "walk"
    assert classify([0, 0.5, 0.95, 0.45], np.array([0.7, 0.7, 0.45, 0.45]), 1.0) == "pace"   # hind duty decides


def test_diagonality_is_the_circular_mean_of_both_sides():
    assert diagonality([0.0, 0.5, 0.75, 0.25]) == pytest.approx(0.25)
    assert diagonality([0.0, 0.5, 0.98, 0.48]) == pytest.approx(0.02)
    assert diagonality([0.0, 0.5, 0.0, 0.5]) == 0.0
    assert diagonality([0.0, 0.5, 0.02, 0.46]) == pytest.approx(0.01, abs=1e-12)   # sides 0.98 and 0.04



@pytest.mark.parametrize("gait", list(GAITS))
def test_known_footfall_patterns(gait):
    phases, duty = GAITS[gait]
    period, speed = 25, 1.5
    contacts = footfall_contacts(phases, duty, period, cycles=5)
    report = analyze(contacts, *synthetic_clip(contacts, speed), FPS)
    assert report.gait == gait
    assert len(report.cycles) == 5
    for c in report.cycles:
        assert c.gait == gait
        assert c.stop - c.start == period
        assert c.period_s == pytest.approx(period / FPS)
        assert c.stride_freq_hz == pytest.approx(FPS / period)
        np.testing.assert_allclose(c.duty, duty, atol=1.0 / period)
        np.testing.assert_allclose(c.phase, phases, atol=1.0 / period)
        assert c.forward_speed_m_s == pytest.approx(speed)
        assert c.froude == pytest.approx(speed ** 2 / (GRAVITY_M_S2 * HIP_HEIGHT_M), rel=1e-6)


def test_phases_wrap_for_a_foot_landing_just_before_fl():
    phases, duty = [0.0, 0.5, 0.96, 0.46], 0.55
    contacts = footfall_contacts(phases, duty, 25, cycles=4)
    report = analyze(contacts, *synthetic_clip(contacts), FPS)
    assert all(abs(c.phase[2] - 0.96) <= 0.04 for c in report.cycles)
    assert report.gait == "walk" and {c.walk_kind for c in report.cycles} == {"lateral-couplets"}


def test_standing_is_stand_and_three_legs_are_irregular():
    contacts = np.ones((100, 4), bool)
    assert analyze(contacts, *synthetic_clip(contacts, 0.0), FPS).gait == "stand"
    contacts = footfall_contacts([0.0, 0.5, 0.5, 0.0], 0.4, 25, cycles=4)
    contacts[:, 3] = True    # RR never lifts
    report = analyze(contacts, *synthetic_clip(contacts), FPS)
    assert {c.gait for c in report.cycles} == {"irregular"} and report.gait == "-"


def test_classify_rules_at_boundaries():
    run, walk, v = np.full(4, 0.45), np.full(4, 0.5), 1.0
    assert classify([0, 0.5, 0.5, 0.0], run, v) == "trot"
    assert classify([0, 0.5, 0.74, 0.24], run, v) == "trot"        # D 0.26: nearer diagonal couplets
    assert classify([0, 0.5, 0.76, 0.26], run, v) == "pace"        # D 0.24
    assert classify([0, 0.5, 0.9, 0.4], run, v) == "pace"
    assert classify_full([0, 0.5, 0.7, 0.2], walk, v)[2] == "lateral-sequence"    # hind duty 0.5: a walk
    assert classify_full([0, 0.5, 0.3, 0.8], walk, v)[2] == "diagonal-sequence"
    assert classify_full([0, 0.5, 0.5, 0.0], walk, v)[2] == "diagonal-couplets"
    assert classify_full([0, 0.5, 0.0, 0.5], walk, v)[2] == "lateral-couplets"
    assert classify([0, 0.5, 0.5, 0.0], run, 0.0) == "irregular"   # stepping on the spot
    assert classify([0, 0.1, 0.6, 0.7], np.full(4, 0.8), v) == "irregular"  # asymmetric shuffle
    assert classify([0, np.nan, 0.5, 0.0], run, v) == "irregular"


def test_wrap_clip_of_one_cycle_is_analysed_as_a_loop():
    phases, duty = GAITS["trot"]
    contacts = footfall_contacts(phases, duty, 25, cycles=1, lead_in=0)[:25]
    report = analyze(contacts, *synthetic_clip(contacts), FPS, wrap=True)
    assert len(report.cycles) == 1 and report.gait == "trot"
    np.testing.assert_allclose(report.cycles[0].phase, phases, atol=0.04)


# --- cycle choice -------------------------------------------------------------------------------------------

def test_choose_cycle_prefers_the_clean_periodic_stride():
    phases, duty = GAITS["trot"]
    period, cycles = 25, 6
    contacts = footfall_contacts(phases, duty, period, cycles=cycles)
    report = analyze(contacts, *synthetic_clip(contacts), FPS)
    t = np.arange(len(contacts))
    state = np.stack([np.sin(2 * np.pi * (t - 7) / period + k) for k in range(10)], axis=1)
    rng = np.random.default_rng(0)
    clean = 3
    for i, c in enumerate(report.cycles):   # every stride but one gets its own distortion
        if i != clean:
            state[c.start:c.stop + 1] += rng.normal(0, 0.3, size=(1, 10)) * np.linspace(0, 1, c.stop + 1 - c.start)[:, None]
    choice = choose_cycle(report, state, "trot")
    assert choice.start == report.cycles[clean].start
    assert choice.candidates == cycles
    with pytest.raises(ValueError, match="no walk cycle; found: trot"):
        choose_cycle(report, state, "walk")


# --- loop closing on an analytic motion --------------------------------------------------------------------

def analytic_motion(n: int, yaw_rate: float, speed: float, drift_world_m=(0.0, 0.0, 0.0), swing=(10, 30)):
    """A Motion on a circle whose feet stand in the default pose (rigid with the base), except that FL's
    target drifts by `drift_world_m` (world) linearly over its swing frames [swing) of each n-frame stride.
    A vertical drift is the same in every heading, so one loop's closure error is exactly the drift."""
    from robots.go2.kinematics import feet_fk
    from retarget.pipeline import Motion
    from amp_data.motion.rotations import yaw_matrix
    from scipy.spatial.transform import Rotation
    from robots.go2.model import default_pose_rad

    t = np.arange(n + 5)
    joint_pos = np.tile(default_pose_rad(), (len(t), 1))
    yaw = yaw_rate * t / FPS
    root_pos = np.stack([speed / yaw_rate * np.sin(yaw), speed / yaw_rate * (1 - np.cos(yaw)),
                         0.3 + 0.01 * np.sin(2 * np.pi * t / n)], axis=1)
    rot = yaw_matrix(yaw)
    root_quat = Rotation.from_matrix(rot).as_quat()
    targets = feet_fk(joint_pos)
    a, b = swing
    phase = np.mod(t - 2, n)
    drift = np.clip((phase - a) / (b - a), 0, 1) + np.floor((t - 2) / n)   # 0 ... 1 over each swing
    targets[:, 0] += np.einsum("tji,j->ti", rot, np.asarray(drift_world_m)) * drift[:, None]   # in the base frame
    contacts = np.ones((len(t), 4), dtype=bool)
    contacts[(phase >= a) & (phase < b), 0] = False
    zeros3 = np.zeros((len(t), 3))
    motion = Motion(
        fps=FPS, joint_pos=joint_pos, joint_vel=np.zeros_like(joint_pos), root_pos=root_pos, root_quat=root_quat,
        base_lin_vel=zeros3, base_ang_vel=zeros3, foot_pos_base=targets.copy(),
        foot_vel_base=np.zeros((len(t), 4, 3)), keypoints=np.zeros((len(t), 2, 3)), keypoint_names=("a", "b"),
        keypoint_parents=np.array([-1, 0]), source_fps=FPS, source_file="x.bvh", source_sha256="0" * 64,
        source_frames=(0, len(t)), scale=1.0, ground_height_m=0.0, foot_target_base=targets)
    return motion, contacts


def test_close_loop_removes_a_known_foot_drift_in_swing_and_has_no_seam():
    from robots.go2.kinematics import feet_fk
    from retarget.loop import close_loop, swing_ramp
    from robots.go2.model import default_pose_rad

    n, yaw_rate, speed, drift = 40, 0.5, 1.2, np.array([0.0, 0.0, 0.03])
    motion, contacts = analytic_motion(n, yaw_rate, speed, drift)
    loop, ik, closure_m = close_loop(motion, 2, 2 + n, contacts)
    assert closure_m == pytest.approx(np.linalg.norm(drift), abs=1e-9)   # the drift is the closure error
    default = np.tile(default_pose_rad(), (n, 1))
    # Stance frames of FL and every frame of the other legs are the default pose again (the drift is gone);
    # the drift is taken out in FL's swing only, so stance targets are untouched.
    stance = contacts[2:2 + n, 0]
    np.testing.assert_allclose(loop.joint_pos[:, 3:], default[:, 3:], atol=1e-6)
    np.testing.assert_allclose(loop.joint_pos[stance, :3], default[stance, :3], atol=1e-6)
    fl_off = np.linalg.norm(loop.foot_target_base[:, 0] - feet_fk(default)[:, 0], axis=1)
    assert fl_off.max() < np.linalg.norm(drift) and fl_off[~stance].max() > 1e-3
    # IK meets the closed targets; feet are FK of the joints
    assert ik.foot_error_m.max() < 1e-6
    np.testing.assert_allclose(loop.foot_pos_base, feet_fk(loop.joint_pos), atol=1e-12)
    # the ramp rises only in swing, from 0 to 1
    w = swing_ramp(contacts[2:2 + n])
    assert w[0, 0] == 0 and w[-1, 0] == pytest.approx(1) and np.all(np.diff(w[:, 0])[stance] == 0)
    # base on a circle: constant forward speed and yaw rate, also across the seam
    np.testing.assert_allclose(loop.base_lin_vel[:, 0], speed, rtol=2e-3)
    np.testing.assert_allclose(loop.base_lin_vel[:, 1:2], 0, atol=0.02)
    np.testing.assert_allclose(loop.base_ang_vel, np.tile([0, 0, yaw_rate], (n, 1)), atol=1e-4)
    # one loop turns by yaw_rate * period and moves along the chord of the circle
    period = n / FPS
    assert loop.cycle_offset_yaw_rad == pytest.approx(yaw_rate * period)
    chord = 2 * speed / yaw_rate * np.sin(yaw_rate * period / 2)
    assert np.linalg.norm(loop.cycle_offset_pos_m) == pytest.approx(chord, rel=1e-9)
    # re-origined: first frame over the origin heading +x
    np.testing.assert_allclose(loop.root_pos[0, :2], 0, atol=1e-12)
    np.testing.assert_allclose(loop.root_quat[0], [0, 0, 0, 1], atol=1e-12)
    assert loop.loop_mode == "wrap"
    # joint velocities are periodic differences: zero where the pose repeats the default pose on both sides
    assert np.abs(loop.joint_vel[:, 3:]).max() < 1e-4


# --- the CLI on the real clips -------------------------------------------------------------------------------

def test_cli_cycle_writes_looping_walk_and_trot(mocap, tmp_path, monkeypatch):
    from amp_data.format.bank import read_bank
    from amp_data.motion.gait import analyze_clip
    from cli import app

    monkeypatch.setenv("AMP_DATA_MOCAP", str(mocap))
    result = CliRunner().invoke(app, ["retarget", "walk", "trot", "--cycle", "auto", "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    for name in ("walk", "trot"):
        bank = read_bank(tmp_path / f"{name}.h5")
        assert bank.attrs["loop_mode"] == "wrap" and bank.clips[0].loop_mode == "wrap"
        report = analyze_clip(bank)
        assert report.gait == name and len(report.cycles) == 1
        assert 0.3 < bank.num_frames / bank.fps < 1.5      # one stride
        # seam: stepping from the last frame to the first is like the steps inside the loop
        q = bank["joint_pos"]
        steps = np.abs(np.diff(np.concatenate([q, q[:1]]), axis=0))
        assert np.all(steps[-1] <= 1.2 * steps[:-1].max(axis=0))
        v = bank["joint_vel"]
        np.testing.assert_allclose(v, (np.roll(q, -1, 0) - np.roll(q, 1, 0)) * bank.fps / 2, atol=1e-9)
        kp = bank.keypoints
        assert kp is not None and abs(len(kp) / bank.attrs["source_fps"] - bank.num_frames / bank.fps) < 0.05


def test_cli_cycle_errors(mocap, tmp_path, monkeypatch):
    from cli import app

    monkeypatch.setenv("AMP_DATA_MOCAP", str(mocap))
    runner = CliRunner()
    out = tmp_path / "x.h5"
    result = runner.invoke(app, ["retarget", "walk", "--cycle", "canter", "-o", str(out)])
    assert result.exit_code == 2
    assert "--cycle canter: has no canter/gallop cycle; found:" in result.output
    assert "walk (5 cycles)" in result.output and result.output.count("\n") == 1
    result = runner.invoke(app, ["retarget", "trot0", "--cycle", "trot", "-o", str(out)])
    assert result.exit_code == 2 and "no complete gait cycle" in result.output
    result = runner.invoke(app, ["retarget", "walk", "--cycle", "amble", "-o", str(out)])
    assert result.exit_code == 2 and "choose one of walk, trot" in result.output
    assert not out.exists() and list(tmp_path.iterdir()) == []


# --- inspect --phase and the gait figures --------------------------------------------------------------------

@pytest.fixture(scope="module")
def cycle_banks(tmp_path_factory):
    from amp_data.format.bank import read_bank  # noqa: F401  (fail early if banks cannot be read)
    from cli import app
    import raw_mocap

    folder = raw_mocap.find_mocap_dir()
    if folder is None:
        pytest.skip("MANN clips not found: set AMP_DATA_MOCAP or put them in ../shared/raw_mocap")
    out = tmp_path_factory.mktemp("cycles")
    result = CliRunner().invoke(app, ["retarget", "walk", "trot", "--cycle", "auto", "-o", str(out)])
    assert result.exit_code == 0, result.output
    return out / "walk.h5", out / "trot.h5"


def test_inspect_phase_json_matches_the_contacts(cycle_banks, tmp_path):
    import json

    import h5py
    from cli import app

    result = CliRunner().invoke(app, ["inspect", *map(str, cycle_banks), "--phase", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    for path, name in zip(cycle_banks, ("walk", "trot")):
        p = payload[str(path)]
        assert p["gait"] == name
        (cycle,) = p["clips"][name]["cycles"]
        with h5py.File(path) as f:
            contacts = f["contacts"][()]
            fps = f.attrs["fps"]
        n = len(contacts)
        assert cycle["period_s"] == pytest.approx(n / fps)
        rolled = np.roll(contacts, -cycle["start"], axis=0)
        np.testing.assert_allclose(cycle["duty"], rolled.mean(axis=0), atol=1e-12)
        assert rolled[0, 0] and not rolled[-1, 0]            # the cycle starts at FL's touchdown
        for foot in range(1, 4):                              # each phase is that foot's touchdown
            landing = np.flatnonzero(rolled[:, foot] & ~np.roll(rolled[:, foot], 1))
            assert np.min(np.abs(((landing / n - cycle["phase"][foot]) + 0.5) % 1.0 - 0.5)) < 1e-9


def test_inspect_phase_table_and_gait_figures(cycle_banks, tmp_path):
    from cli import app
    from PIL import Image

    result = CliRunner().invoke(app, ["inspect", *map(str, cycle_banks), "--phase", "--plot", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "gait walk" in result.output and "gait trot" in result.output and "Froude" in result.output
    for name in ("gait_diagram.png", "joint_cycle.png"):
        with Image.open(tmp_path / name) as im:
            assert im.width > 500 and im.height > 300
            assert len(np.unique(np.asarray(im.convert("L")))) > 10    # not a blank canvas


def test_lifts_are_the_off_spans_between_two_contacts():
    """Off spans closed by contact on both sides, as [start, end) frames; a record that starts or ends in
    the air leaves that span out; a foot always down or always up has none; the spans' total length is the
    off frames between the first and last contact."""
    c = np.zeros((12, 4), dtype=bool)
    c[[0, 1, 4, 5, 6, 8, 11], 0] = True          # off 2-3 (a swing of 2), 7 (a bounce of 1), 9-10
    c[[3, 4, 7], 1] = True                       # starts and ends in the air: only 5-6 counts
    c[:, 2] = True
    spans = lifts(c)
    np.testing.assert_array_equal(spans[0], [[2, 4], [7, 8], [9, 11]])
    np.testing.assert_array_equal(spans[1], [[5, 7]])
    assert spans[2].shape == spans[3].shape == (0, 2)
    first, last = 0, 11
    assert (spans[0][:, 1] - spans[0][:, 0]).sum() == (~c[first:last + 1, 0]).sum()


def test_touchdowns_per_s_counts_rising_edges_over_the_span():
    """A foot down for 3 of every 10 frames at 50 Hz touches down 5 times a second; one always down, never;
    an (T, N, 4) array gives (N, 4), agreeing with `touchdowns`."""
    t = np.arange(201)
    down = (t % 10) >= 7                                      # rising at 7, 17, ..., 197: 20 in 4 s
    c = np.stack([down, np.ones_like(down), np.roll(down, 3), np.zeros_like(down)], axis=1)
    rate = touchdowns_per_s(c, 0.02)
    np.testing.assert_allclose(rate, [5.0, 0.0, 5.0, 0.0])
    np.testing.assert_allclose(rate * 200 * 0.02, [len(x) for x in touchdowns(c)])
    assert touchdowns_per_s(np.stack([c, ~c], axis=1), 0.02).shape == (2, 4)
