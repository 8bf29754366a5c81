"""`amp-data inspect ROLLOUT --reference REF... --plot`: the policy-against-reference figures. A "rollout"
made of the reference cycles themselves must match its references exactly: same stride frequency, gait
and joint curves over the normalised cycle; pairing follows the rollout's commands."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

import cli
from amp_data.format.bank import Bank, ClipRange, read_bank, write_bank
from amp_data.motion.gait import analyze_clip
from amp_data.reports import policy_figures as pf


def test_resampling_is_exact_for_linear_motion():
    frames = np.linspace(0.0, 3.0, 31)[:, None] * np.array([1.0, -2.0])      # 30 frames + the next touchdown
    out = pf._resample(frames)
    np.testing.assert_allclose(out, np.linspace(0.0, 3.0, pf.PHASE_POINTS)[:, None] * np.array([1.0, -2.0]))


def _repeated(bank: Bank, times: int) -> dict[str, np.ndarray]:
    """A wrap clip's loop played `times` times in a row (root x carried on, so the base keeps going)."""
    data = {k: np.concatenate([v] * times) for k, v in bank.data.items()}
    n = bank.num_frames
    step = bank["root_pos"][-1, 0] - bank["root_pos"][0, 0] + bank["base_lin_vel"][0, 0] / bank.fps
    data["root_pos"] = data["root_pos"].copy()
    data["root_pos"][:, 0] += np.repeat(np.arange(times), n) * step
    return data


@pytest.fixture(scope="module")
def fake_rollout(walk_trot_cycle_banks, tmp_path_factory):
    """A rollout-like bank: the walk loop 6 times (command 0.5), then the trot loop 10 times (command 1.5)."""
    walk, trot = (read_bank(p) for p in walk_trot_cycle_banks)
    parts = [_repeated(walk, 6), _repeated(trot, 10)]
    data = {k: np.concatenate([p[k] for p in parts]) for k in parts[0] if k in parts[1]}
    n0 = len(parts[0]["joint_pos"])
    clips = [ClipRange(name="policy@0.5", start=0, stop=n0, loop_mode="clamp"),
             ClipRange(name="policy@1.5", start=n0, stop=len(data["joint_pos"]), loop_mode="clamp")]
    keep = {k: v for k, v in walk.attrs.items() if not k.startswith("source")}
    attrs = {**keep, "loop_mode": "clamp", "source_file": "", "policy_command_vx_m_s": 0.5,
             "policy_command_schedule": f"0.5@{n0 / walk.fps:g},1.5@{(len(data['joint_pos']) - n0) / walk.fps:g}",
             "policy_checkpoint": "none"}
    path = tmp_path_factory.mktemp("rollout") / "rollout.h5"
    write_bank(path, Bank(None, data, attrs, clips=clips))
    return path, walk_trot_cycle_banks


def test_cycles_of_repeated_reference_loops_are_the_references(fake_rollout):
    path, (walk_path, trot_path) = fake_rollout
    rollout, walk, trot = read_bank(path), read_bank(walk_path), read_bank(trot_path)
    pairs = pf.pair_clips({"rollout.h5": rollout}, {"walk.h5": walk, "trot.h5": trot})
    assert [(p.reference_label, p.clip.name) for p in pairs] == [("walk.h5", "policy@0.5"), ("trot.h5", "policy@1.5")]
    for p, ref_bank in zip(pairs, (walk, trot)):
        ref = pf.cycle_stats(ref_bank, list(ref_bank.clips))
        pol = pf.cycle_stats(rollout, [p.clip], skip_s=pf.SKIP_S)
        assert ref.n == 1 and pol.n >= 3
        assert pol.gait == ref.gait == analyze_clip(ref_bank).gait
        assert pol.stride_freq_hz == pytest.approx(ref.stride_freq_hz, rel=1e-6)
        # every repeated cycle is the loop itself: the same curve, and it closes (100 % = 0 %)
        np.testing.assert_allclose(pol.joint_pos.mean(axis=0), ref.joint_pos[0], atol=1e-9)
        np.testing.assert_allclose(ref.joint_pos[0, -1], ref.joint_pos[0, 0], atol=1e-9)
        np.testing.assert_array_equal(pol.contact.mean(axis=0), ref.contact[0])


def test_pairing_follows_the_commands_and_else_the_measured_speed(fake_rollout):
    path, (walk_path, trot_path) = fake_rollout
    rollout, walk, trot = read_bank(path), read_bank(walk_path), read_bank(trot_path)
    # commands swapped: a policy that trots when asked to walk still pairs by what it was asked
    rollout.attrs["policy_command_schedule"] = "1.5@1,0.5@1"
    swapped = pf.pair_clips({"r": rollout}, {"walk": walk, "trot": trot})
    assert [p.clip.name for p in swapped] == ["policy@1.5", "policy@0.5"]
    rollout.attrs["policy_command_schedule"] = ""
    by_speed = pf.pair_clips({"r": rollout}, {"walk": walk, "trot": trot})
    assert [p.clip.name for p in by_speed] == ["policy@0.5", "policy@1.5"]


def test_inspect_reference_writes_the_figures_and_the_table(fake_rollout, tmp_path):
    path, refs = fake_rollout
    runner = CliRunner()
    r = runner.invoke(cli.app, ["inspect", str(path), "--reference", *refs, "--plot", str(tmp_path / "figs")])
    assert r.exit_code == 0, r.output
    for name in ("policy_cycle.png", "policy_rom.png", "policy_velocity.png"):
        assert (tmp_path / "figs" / name).read_bytes()[:4] == b"\x89PNG"
    assert not (tmp_path / "figs" / "gait_diagram.png").exists()
    assert "rollout.h5: policy@1.5" in r.output
    r = runner.invoke(cli.app, ["inspect", str(path), "--reference", *refs, "--json"])
    assert r.exit_code == 0, r.output
    rows = json.loads(r.stdout)["policy_vs_reference"]
    assert [row["policy_clip"] for row in rows] == ["rollout.h5: policy@0.5", "rollout.h5: policy@1.5"]
    for row in rows:
        assert row["policy"]["stride_freq_hz"] == pytest.approx(row["reference"]["stride_freq_hz"], rel=1e-6)
        assert row["policy"]["gait"] == row["reference"]["gait"]
    r = runner.invoke(cli.app, ["inspect", str(path), "--reference"])
    assert r.exit_code == 2 and "needs a policy bank and at least one reference bank" in r.output
