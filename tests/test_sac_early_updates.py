"""benchmarks/sac_early_updates.py: the first update rounds' diagnostics come out for every round."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytest.importorskip("torch", reason="the learner needs torch (pip install '.[learn]')")
pytest.importorskip("mujoco", reason="the learner needs mujoco (pip install '.[learn]')")


def test_it_reports_each_round_and_the_bound_from_the_returns(walk_trot_cycle_banks, tmp_path):
    out = tmp_path / "early.json"
    r = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "sac_early_updates.py"), "--preset", "cpu",
                        "--num-envs", "4", "--batch", "64", "--rounds", "2", "--banks", *walk_trot_cycle_banks,
                        "--set", "sac.warmup_steps=20", "--json", str(out)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    d = json.loads(out.read_text())
    assert d["config"]["sac"]["warmup_steps"] == 20 and d["config"]["env"]["num_envs"] == 4
    assert [row["gradient_steps"] for row in d["rounds"]] == [8, 16]
    for row in d["rounds"]:
        assert all(math.isfinite(v) for v in row.values())
        assert row["mu_abs_max"] >= row["mu_abs_mean"] >= 0.0
    # the bound is the largest n-step return over (1 - gamma^n): positive and finite for the task's rewards
    assert 0.0 < d["q_bound"] < 1e6
