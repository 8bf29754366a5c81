"""benchmarks/correction_use.py: how much of its bounded correction a feedforward policy uses."""

import json

import numpy as np
import pytest

from benchmarks import correction_use
from tiny_runs import tiny_run


def test_correction_stats_per_joint_kind():
    c = np.zeros((10, 12))
    c[:, 2::3] = 0.3                  # every calf at the bound
    c[:5, 1::3] = -0.29               # thighs at -0.29 (within 5 % of 0.3) half the time
    c[:, 0::3] = 0.1                  # hips inside
    s = correction_use.correction_stats(c, 0.3)
    assert s["calf"] == {"mean_rad": pytest.approx(0.3), "at_bound_share": 1.0}
    assert s["thigh"] == {"mean_rad": pytest.approx(-0.145), "at_bound_share": 0.5}
    assert s["hip"] == {"mean_rad": pytest.approx(0.1), "at_bound_share": 0.0}


def test_a_feedforward_run_s_corrections_stay_within_its_bound(walk_trot_cycle_banks, tmp_path, capsys):
    """Played at both banks' commands, the corrections' means lie within the bound and the shares in [0, 1],
    one row per bank; a run without a bound is refused with exit 2 and no JSON."""
    pytest.importorskip("torch")
    pytest.importorskip("mujoco")
    run = tiny_run(walk_trot_cycle_banks, tmp_path / "ff", ["env.gait_clock=true", "env.reference_feedforward=true",
                                                             "env.residual_limit_rad=0.2"])
    out = tmp_path / "use.json"
    assert correction_use.main([str(run), "--seconds", "2.5", "--json", str(out)]) == 0
    rows = json.loads(out.read_text())
    assert [r["bank"] for r in rows] == ["walk.h5", "trot.h5"]
    for r in rows:
        assert r["limit_rad"] == 0.2
        for kind in ("hip", "thigh", "calf"):
            assert abs(r[kind]["mean_rad"]) <= 0.2 + 1e-6 and 0.0 <= r[kind]["at_bound_share"] <= 1.0
    plain = tiny_run(walk_trot_cycle_banks, tmp_path / "plain", [])
    capsys.readouterr()
    assert correction_use.main([str(plain), "--json", str(tmp_path / "no.json")]) == 2
    assert "residual_limit_rad" in capsys.readouterr().err and not (tmp_path / "no.json").exists()
