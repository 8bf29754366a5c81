"""benchmarks/clock_match.py: the touchdown lag against the schedule, on clocks whose events are placed by hand;
the command line on tiny runs."""

import json

import numpy as np
import pytest

from benchmarks import clock_match
from benchmarks.clock_match import event_lag_cycles, support_pattern
from tiny_runs import tiny_run


def test_event_lag_is_the_circular_mean_offset_from_the_schedule():
    phase = (np.arange(2000) * 0.013) % 1.0          # a clock over many cycles, events picked by phase below
    for scheduled, true_lag in ((0.0, 0.07), (0.96, 0.08), (0.05, -0.12), (0.5, 0.0)):
        want = (scheduled + true_lag) % 1.0
        gap = np.abs((phase - want + 0.5) % 1.0 - 0.5)
        steps = np.flatnonzero(gap < 0.0066)          # every step within half a clock step of the event phase
        assert len(steps) > 20
        assert event_lag_cycles(phase, steps, scheduled) == pytest.approx(true_lag, abs=0.004)
    # events that straddle the wrap (0.98 and 0.02 against 0.0): a mean of 0, not 0.5
    assert event_lag_cycles(np.array([0.98, 0.02]), np.array([0, 1]), 0.0) == pytest.approx(0.0, abs=1e-12)
    assert event_lag_cycles(np.array([0.3, 0.5]), np.array([1]), 0.9) == pytest.approx(-0.4)
    assert np.isnan(event_lag_cycles(phase, np.array([], dtype=int), 0.3))


def test_a_swing_clearance_what_if_plays_a_feedforward_run_and_refuses_others(walk_trot_cycle_banks, tmp_path,
                                                                              capsys):
    """--swing-clearance-m on a feedforward run: both gaits played, the floor recorded in the JSON; on a run
    without the feedforward, or with a floor outside [0, 0.1] m: exit 2, one line naming the run, no JSON."""
    pytest.importorskip("torch")
    pytest.importorskip("mujoco")
    clock = ["env.gait_clock=true"]
    run = tiny_run(walk_trot_cycle_banks, tmp_path / "ff", clock + ["env.reference_feedforward=true"])
    out = tmp_path / "cm.json"
    assert clock_match.main([str(run), "--seconds", "2.5", "--swing-clearance-m", "0.03", "--json", str(out)]) == 0
    res = json.loads(out.read_text())
    assert res["swing_clearance_m"] == 0.03 and sorted(res["gaits"]) == ["trot", "walk"]
    plain = tiny_run(walk_trot_cycle_banks, tmp_path / "clock", clock)
    for bad_run, floor in ((plain, "0.03"), (run, "0.5")):
        capsys.readouterr()
        no = tmp_path / "no.json"
        assert clock_match.main([str(bad_run), "--swing-clearance-m", floor, "--json", str(no)]) == 2
        err = capsys.readouterr().err
        assert str(bad_run) in err and "--swing-clearance-m" in err and len(err.strip().splitlines()) == 1
        assert not no.exists()


def test_support_pattern_counts_feet_and_pairs_of_hand_made_gaits():
    """A pace (lateral pairs alternate), a trot (diagonal pairs alternate) and a walk whose four feet land a
    quarter cycle apart with duty 0.75 (always three feet down): shares from the definition."""
    t = np.arange(400) / 100.0                      # 4 cycles, 100 steps each
    half = (t % 1.0) < 0.5
    pace = np.stack([half, ~half, half, ~half], axis=1)          # FL+RL, then FR+RR
    trot = np.stack([half, ~half, ~half, half], axis=1)          # FL+RR, then FR+RL
    offsets = np.array([0.0, 0.5, 0.75, 0.25])                   # FL, FR, RL, RR
    walk = ((t[:, None] - offsets) % 1.0) < 0.75
    p, tr, w = support_pattern(pace), support_pattern(trot), support_pattern(walk)
    assert p["feet_down_share"] == [0, 0, 1, 0, 0] and p["lateral_pair_share"] == 1 and p["diagonal_pair_share"] == 0
    assert tr["diagonal_pair_share"] == 1 and tr["lateral_pair_share"] == 0
    assert w["feet_down_share"] == [0, 0, 0, 1, 0] and w["lateral_pair_share"] == 0
    assert support_pattern(np.ones((10, 4), dtype=bool))["feet_down_share"] == [0, 0, 0, 0, 1]


def test_lateral_balance_of_a_policy_reads_its_pairs_lines_and_phases():
    """Hand-made: left pair 13 steps, three feet 4 steps, right pair 13 steps, ...; feet 0.10 m either side
    of the base (fore 0.2 m ahead, hind 0.2 m behind), the base swaying at up to 0.3 m/s."""
    from benchmarks.clock_match import lateral_balance
    from benchmarks.lateral_balance import pendulum_sway
    block = [[1, 0, 1, 0]] * 13 + [[1, 1, 1, 0]] * 4 + [[0, 1, 0, 1]] * 13 + [[0, 1, 1, 1]] * 4
    stance = np.array(block * 5, dtype=bool)
    n = len(stance)
    feet = np.tile(np.array([[0.2, 0.1], [0.2, -0.1], [-0.2, 0.1], [-0.2, -0.1]]), (n, 1, 1))
    v_lat = 0.3 * np.sin(np.arange(n) * 2 * np.pi / 34)
    out = lateral_balance(stance, feet, v_lat, np.full(n, 0.3), 0.02)
    assert out["lateral_pair_share"] == pytest.approx(26 / 34)
    assert out["line_m"] == pytest.approx(0.1)
    assert out["phase_s"] == pytest.approx(13 * 0.02)
    assert (out["needed_speed_m_s"], out["needed_sway_m"]) == pytest.approx(pendulum_sway(0.1, 0.26, 0.3))
    assert out["base_lateral_speed_p95_m_s"] == pytest.approx(np.percentile(np.abs(v_lat), 95))
    # a body on three feet all the time has no pairs to ride
    three = lateral_balance(np.tile([True, True, True, False], (n, 1)), feet, v_lat, np.full(n, 0.3), 0.02)
    assert three["lateral_pair_share"] == 0.0 and "line_m" not in three
