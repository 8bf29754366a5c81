"""`amp-data eval`: the policy's gait beside the reference bank's."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

import cli
from amp_data.format.bank import Bank, ClipRange
from learner.imitation import compare, gait_figures, meets_targets
from robots.go2 import FOOT_NAMES, JOINT_NAMES

FPS = 50.0


def footfall_bank(phases, duty, period_frames=25, cycles=6, speed=1.0) -> Bank:
    """A bank whose contacts follow a known footfall pattern (foot f lands at phase f of each period)."""
    n = cycles * period_frames + 7
    t = np.arange(n)
    contacts = np.zeros((n, 4), bool)
    for f, ph in enumerate(phases):
        contacts[:, f] = np.mod(t - 3 - ph * period_frames, period_frames) < duty * period_frames
    q = np.tile(np.linspace(-0.2, 0.2, n)[:, None], (1, 12))
    data = {"joint_pos": q, "joint_vel": np.zeros((n, 12)),
            "root_pos": np.stack([speed * t / FPS, np.zeros(n), np.full(n, 0.3)], 1),
            "root_quat": np.tile([0.0, 0, 0, 1], (n, 1)), "base_lin_vel": np.tile([speed, 0, 0], (n, 1)),
            "base_ang_vel": np.zeros((n, 3)), "foot_pos_base": np.zeros((n, 4, 3)),
            "foot_vel_base": np.zeros((n, 4, 3)), "contacts": contacts}
    attrs = {"schema_version": 2, "robot": "go2", "fps": FPS, "joint_names": list(JOINT_NAMES),
             "foot_names": list(FOOT_NAMES), "source_file": "synthetic"}
    return Bank(None, data, attrs, clips=[ClipRange("c", 0, n)])


def test_gait_figures_of_a_known_trot_and_walk():
    trot = gait_figures(footfall_bank([0.0, 0.5, 0.5, 0.0], 0.4))
    assert trot.label == "trot" and trot.strides >= 5
    assert trot.stride_freq_hz == pytest.approx(FPS / 25)
    np.testing.assert_allclose(trot.duty, 0.4, atol=1 / 25)
    np.testing.assert_allclose(trot.phase, [0.5, 0.5, 0.0], atol=1 / 25)
    assert trot.fl_rom_rad[0] == pytest.approx([-0.2, 0.2]) and trot.forward_speed_m_s == pytest.approx(1.0)
    # each diagonal pair down 0.4 of the period, half a period apart: both pairs up 1 - 2 * 0.4 of it
    assert trot.flight_share == pytest.approx(0.2, abs=0.02)
    walk = gait_figures(footfall_bank([0.0, 0.5, 0.75, 0.25], 0.7, period_frames=40))
    assert walk.label == "walk (lateral-sequence)" and walk.stride_freq_hz == pytest.approx(FPS / 40)
    assert walk.flight_share == 0


def test_compare_against_itself_and_against_a_faster_shuffle():
    ref = gait_figures(footfall_bank([0.0, 0.5, 0.5, 0.0], 0.4))
    same = compare(ref, ref)
    assert same["stride_freq_ratio"] == pytest.approx(1) and same["mean_duty_diff"] == pytest.approx(0)
    assert np.allclose(same["phase_diff"], 0) and same["reference_label_share"] == pytest.approx(1)
    assert same["flight_share_diff"] == 0
    assert meets_targets(same) == {"stride_freq": True, "duty": True, "label": True}
    shuffle = gait_figures(footfall_bank([0.0, 0.5, 0.0, 0.5], 0.6, period_frames=10))   # 5 Hz, lateral
    c = compare(shuffle, ref)
    assert c["stride_freq_ratio"] == pytest.approx(2.5) and c["mean_duty_diff"] == pytest.approx(0.2, abs=0.05)
    assert c["flight_share_diff"] == pytest.approx(-ref.flight_share)   # duty 0.6 in pairs: never all up
    assert c["reference_label_share"] == 0 and meets_targets(c) == {"stride_freq": False, "duty": False, "label": False}
    assert c["phase_diff"][1] == pytest.approx(-0.5, abs=0.05) or c["phase_diff"][1] == pytest.approx(0.5, abs=0.05)


@pytest.mark.slow
def test_eval_command_on_a_run(walk_trot_cycle_banks, tmp_path):
    pytest.importorskip("torch")
    runner = CliRunner()
    out = tmp_path / "run"
    args = ["train", *walk_trot_cycle_banks, "--steps", "64", "--out", str(out)]
    for s in ("env.num_envs=4", "sac.batch_size=32", "sac.warmup_steps=2", "sac.hidden=16,16", "amp.hidden=16,16",
              "amp.batch_size=32", "log_every_s=0", "sac.replay_size=2000", "amp.replay_size=2000",
              "amp.history_size=200"):
        args += ["--set", s]
    assert runner.invoke(cli.app, args).exit_code == 0
    r = runner.invoke(cli.app, ["eval", str(out), "--seconds", "4", "--json"])
    assert r.exit_code == 0, r.output
    report = json.loads(r.output)
    assert set(report["gaits"]) == {"walk", "trot"}
    for g in report["gaits"].values():
        assert g["reference"]["strides"] >= 1 and g["command_vx_m_s"] == pytest.approx(g["reference"]["forward_speed_m_s"])
        assert set(g["targets"]) == set(g["targets_detected"]) == {"stride_freq", "duty", "label"}
        assert g["fell"] or g["policy_detected"] is not None
        if g["compare_detected"] is not None:        # like with like: the detected contacts' figures
            c = g["compare_detected"]
            assert c["stride_freq_ratio"] == pytest.approx(g["policy_detected"]["stride_freq_hz"]
                                                           / g["reference"]["stride_freq_hz"])
            assert g["targets_detected"] == meets_targets(c)
        assert 0 <= g["reference"]["flight_share"] <= 1
    r = runner.invoke(cli.app, ["eval", str(out), "--seconds", "4"])
    assert r.exit_code == 0 and "with feet* (as the dog's contacts are found)" in r.output
    r = runner.invoke(cli.app, ["eval", str(out), "--seconds", "1"])
    assert r.exit_code == 2 and "--seconds" in r.output


def _thighs(t, *waves):
    q = np.zeros((len(t), 12))
    for amp, hz in waves:
        q[:, 1::3] += amp * np.sin(2 * np.pi * hz * t)[:, None]
    return q


def test_leg_swing_frequency_of_known_waves():
    from amp_data.motion.gait import leg_swing_freq_hz

    t = np.arange(500) / FPS                                          # 10 s: 0.1 Hz resolution
    assert leg_swing_freq_hz(_thighs(t, (0.4, 1.3)), FPS) == pytest.approx(1.3, abs=0.05)
    # feet tapping fast under legs that swing slowly: the swing wins (contacts would say 12 Hz)
    assert leg_swing_freq_hz(_thighs(t, (0.4, 1.0), (0.02, 12.0)), FPS) == pytest.approx(1.0, abs=0.05)
    assert leg_swing_freq_hz(_thighs(t, (0.01, 1.0), (0.05, 12.0)), FPS) == pytest.approx(12.0, abs=0.05)
    # one cycle of a wrap clip (35 frames = 0.7 s): its repetition's fundamental, 1 / 0.7 s
    cycle = np.arange(35) / FPS
    q = _thighs(cycle, (0.4, FPS / 35)) + _thighs(cycle, (0.1, 2 * FPS / 35))
    assert leg_swing_freq_hz(q, FPS, wrap=True) == pytest.approx(FPS / 35, rel=1e-9)
    assert np.isnan(leg_swing_freq_hz(q[:5], FPS))


def test_leg_swing_frequency_of_the_gathered_walk_is_its_stride_frequency(walk_trot_cycle_banks):
    from amp_data.format.bank import read_bank

    for path in walk_trot_cycle_banks:
        f = gait_figures(read_bank(path))
        assert f.leg_swing_freq_hz == pytest.approx(f.stride_freq_hz, rel=0.1), path


def test_detected_contacts_see_through_feet_that_bounce_in_stance(walk_trot_cycle_banks):
    """Flicker the walk bank's contacts off every third frame of each stance (a bouncing foot): the simulator-
    style contacts then show many short strides, the banks' detector on the same foot positions the walk."""
    from amp_data.format.bank import read_bank
    from learner.imitation import _with_detected_contacts

    walk = read_bank(walk_trot_cycle_banks[0])
    true = gait_figures(walk)
    bouncing = _with_detected_contacts(walk)          # a copy; the bank itself is untouched
    flicker = walk["contacts"].copy()
    flicker[::3] = False
    bouncing.data["contacts"] = flicker
    assert gait_figures(bouncing).stride_freq_hz > 3 * true.stride_freq_hz
    detected = gait_figures(_with_detected_contacts(bouncing))
    assert detected.stride_freq_hz == pytest.approx(true.stride_freq_hz, rel=0.1)
    assert abs(np.mean(detected.duty) - np.mean(true.duty)) < 0.1
    np.testing.assert_array_equal(walk["contacts"], read_bank(walk_trot_cycle_banks[0])["contacts"])
