"""`amp-data compare`: the bootstrap against a known distribution, the common grid against exact linear
curves, grouping by config, and the command's outputs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import cli
from learner.compare import bootstrap_mean_ci, compare_runs
from learner.config import make_config, to_dict


def test_bootstrap_ci_covers_the_true_mean_at_its_level():
    """400 independent samples of 20 draws from N(3, 2^2), one per column: the 95 % percentile interval
    holds the true mean in about 95 % of them (a little less: the percentile bootstrap is narrow at n = 20)
    and is about as wide as the normal theory's 2 * 1.96 * sigma / sqrt(n)."""
    rng = np.random.default_rng(7)
    n, experiments, sigma = 20, 400, 2.0
    x = rng.normal(3.0, sigma, size=(n, experiments))
    mean, lo, hi = bootstrap_mean_ci(x, 0.95, n_resamples=1000, seed=1)
    np.testing.assert_allclose(mean, x.mean(axis=0))
    assert np.all(lo <= mean) and np.all(mean <= hi)
    coverage = np.mean((lo <= 3.0) & (3.0 <= hi))
    assert 0.89 <= coverage <= 0.98, coverage
    width = np.mean(hi - lo)
    expected = 2 * 1.959964 * sigma / np.sqrt(n) * np.sqrt((n - 1) / n)
    assert abs(width / expected - 1) < 0.08, (width, expected)
    # a 50 % interval is narrower, and covers about half
    _, lo50, hi50 = bootstrap_mean_ci(x, 0.5, n_resamples=1000, seed=1)
    assert np.all(hi50 - lo50 < hi - lo)
    assert 0.4 <= np.mean((lo50 <= 3.0) & (3.0 <= hi50)) <= 0.6


def test_bootstrap_of_one_seed_has_no_interval_and_constant_seeds_a_point():
    mean, lo, hi = bootstrap_mean_ci(np.array([[1.0, 2.0]]))
    np.testing.assert_array_equal(mean, [1.0, 2.0])
    assert np.isnan(lo).all() and np.isnan(hi).all()
    mean, lo, hi = bootstrap_mean_ci(np.full((4, 3), 2.5), n_resamples=200)
    np.testing.assert_allclose([mean, lo, hi], 2.5)


def fake_run(folder: Path, seed: int, offset: float, end_steps: int = 100_000, algo: str = "sac", **overrides):
    """A run folder whose style reward is offset + 1e-5 * steps and task return 10 * that, logged at
    irregular steps; eval every 20k steps with speed ratio offset."""
    cfg = to_dict(make_config("cpu", algo))
    cfg["seed"] = seed
    for key, v in overrides.items():
        section, name = key.split("__")
        cfg[section][name] = v
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps(cfg))
    rng = np.random.default_rng(seed)
    steps = np.unique(np.r_[0, np.sort(rng.integers(1, end_steps, 40)), end_steps]).astype(float)
    style = offset + 1e-5 * steps
    pd.DataFrame({"time_s": steps / 1000, "env_steps": steps, "style_reward": style,
                  "episode_task_return": 10 * style, "forward_vel_m_s": 0.35 * offset, "command_vx_m_s": 0.7,
                  }).to_csv(folder / "metrics.csv", index=False)
    ev = np.arange(0, end_steps + 1, 20_000, dtype=float)
    pd.DataFrame({"time_s": ev / 1000, "env_steps": ev, "speed_ratio": offset, "no_fall_rate": 1.0}
                 ).to_csv(folder / "eval.csv", index=False)
    return folder


def test_linear_curves_land_exactly_on_the_grid_and_groups_split_by_config(tmp_path):
    runs = [fake_run(tmp_path / f"pair-s{s}", s, 0.1 * s) for s in (1, 2, 3)]
    runs += [fake_run(tmp_path / f"win-s{s}", s, 1.0 + 0.1 * s, amp__window_frames=5) for s in (1, 2)]
    runs += [fake_run(tmp_path / "long-win-s3", 3, 1.3, end_steps=150_000, amp__window_frames=5)]
    cmp = compare_runs(runs, points=11, smooth=1, n_resamples=500)
    assert [g.label for g in cmp.groups] == ["amp.window_frames=2", "amp.window_frames=5"]
    assert [g.seeds for g in cmp.groups] == [[1, 2, 3], [1, 2, 3]]
    np.testing.assert_allclose(cmp.grid, np.linspace(0, 100_000, 11))   # the shortest run's end
    assert any("compared up to 100,000" in n for n in cmp.notes)
    pair, win = cmp.groups
    np.testing.assert_allclose(pair.values["style_reward"], 0.1 * np.arange(1, 4)[:, None] + 1e-5 * cmp.grid)
    np.testing.assert_allclose(win.values["task_return"], 10 * (np.array([1.1, 1.2, 1.3])[:, None] + 1e-5 * cmp.grid))
    final = {row["group"]: row for row in cmp.final()}
    assert final["amp.window_frames=2"]["style_reward"]["mean"] == pytest.approx(0.2 + 1.0)
    assert final["amp.window_frames=5"]["speed_ratio"]["per_seed"] == pytest.approx([1.1, 1.2, 1.3])
    # global normalisation: over both groups, the lowest value is 0 and the highest 1
    lows = [cmp.band(g, "style_reward", normalised=True)[0].min() for g in cmp.groups]
    highs = [cmp.band(g, "style_reward", normalised=True)[0].max() for g in cmp.groups]
    assert min(lows) == pytest.approx((0.2 - 0.1) / (2.3 - 0.1)) and max(highs) == pytest.approx((2.2 - 0.1) / 2.2)
    # the same runs by folder name, and by algo (one group)
    by_name = compare_runs(runs, by="name", points=5, smooth=1, n_resamples=200)
    assert [g.label for g in by_name.groups] == ["pair", "win", "long-win"]
    assert [g.label for g in compare_runs(runs, by="algo", points=5, n_resamples=200).groups] == ["AMP+SAC"]


def test_auto_grouping_names_algorithms_and_ignores_their_other_section(tmp_path):
    runs = [fake_run(tmp_path / f"sac-s{s}", s, 0.5) for s in (1, 2)]
    runs += [fake_run(tmp_path / f"ppo-s{s}", s, 0.2, algo="ppo") for s in (1, 2)]
    cmp = compare_runs(runs, points=5, n_resamples=200)
    assert [g.label for g in cmp.groups] == ["AMP+SAC", "AMP+PPO"]


def test_the_command_writes_figures_csv_and_json(tmp_path):
    runs = [str(fake_run(tmp_path / f"a-s{s}", s, 0.1 * s)) for s in (1, 2, 3)]
    runs += [str(fake_run(tmp_path / f"b-s{s}", s, 0.5 + 0.1 * s, sac__n_step=1)) for s in (1, 2)]
    out = tmp_path / "figs"
    r = CliRunner().invoke(cli.app, ["compare", *runs, "-o", str(out), "--points", "21", "--resamples", "500"])
    assert r.exit_code == 0, r.output
    assert "sac.n_step=3" in r.output and "sac.n_step=3 1, 2, 3" in r.output
    for name in ("style_reward.png", "task_return.png", "eval.png"):
        assert (out / name).read_bytes()[:4] == b"\x89PNG"
    curves = pd.read_csv(out / "curves.csv")
    assert set(curves["metric"]) == {"style_reward", "task_return", "speed_ratio", "no_fall_rate", "train_speed_ratio"}
    assert curves.groupby(["group", "metric"]).size().eq(21).all()
    speed = curves[(curves.metric == "speed_ratio") & (curves.group == "sac.n_step=1")]
    np.testing.assert_allclose(speed["mean"], 0.65)          # seeds at 0.6 and 0.7, constant
    train = curves[(curves.metric == "train_speed_ratio") & (curves.group == "sac.n_step=1")]
    np.testing.assert_allclose(train["mean"], 0.65 / 2)      # 0.35 * offset m/s over 0.7 m/s
    r = CliRunner().invoke(cli.app, ["compare", *runs, "-o", str(out), "--json", "--resamples", "500",
                                     "--x", "minutes", "--smooth", "1"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["x_axis"] == "minutes" and [g["n_seeds"] for g in doc["groups"]] == [3, 2]
    assert doc["groups"][0]["style_reward"]["mean"] == pytest.approx(0.2 + 1.0)


def test_steps_to_target_is_the_first_evaluation_that_meets_speed_and_falls_within_the_grid(tmp_path):
    """Known first evaluations at the target (speed >= 50 % of the command, >= 90 % without a fall): one
    that is fast but falls does not count, one after the common grid's end does not count."""
    def with_evals(run, rows):
        pd.DataFrame(rows, columns=["env_steps", "speed_ratio", "no_fall_rate"]).assign(
            time_s=lambda d: d.env_steps / 1000).to_csv(run / "eval.csv", index=False)
        return run

    a = [with_evals(fake_run(tmp_path / "a-s1", 1, 0.1), [(0, 0.0, 1), (20_000, 0.6, 1), (40_000, 0.2, 1)]),
         with_evals(fake_run(tmp_path / "a-s2", 2, 0.1), [(0, 0.0, 1), (40_000, 0.9, 0.8), (60_000, 0.5, 0.9)]),
         with_evals(fake_run(tmp_path / "a-s3", 3, 0.1), [(0, 0.0, 1), (30_000, 0.4, 1), (60_000, 1.2, 1)])]
    b = [with_evals(fake_run(tmp_path / "b-s1", 1, 0.1, end_steps=150_000, sac__n_step=1),
                    [(0, 0.0, 1), (120_000, 0.8, 1)]),             # after the grid's end (a-*: 100k)
         with_evals(fake_run(tmp_path / "b-s2", 2, 0.1, sac__n_step=1), [(0, 0.0, 1), (100_000, 0.3, 1)])]
    cmp = compare_runs([*a, *b], points=11, smooth=1, n_resamples=500)
    ta, tb = (row["to_target"] for row in cmp.final())
    assert ta["per_seed"] == [20_000, 60_000, 60_000] and ta["reached"] == 3
    assert ta["mean"] == pytest.approx(140_000 / 3) and 20_000 <= ta["ci_low"] <= ta["mean"] <= ta["ci_high"] <= 60_000
    assert ta["eval_spacing_median"] == pytest.approx(30_000)      # per run 20k, 30k, 30k
    assert tb["per_seed"] == [None, None] and tb["reached"] == 0 and tb["median"] == np.inf and tb["mean"] is None
    r = CliRunner().invoke(cli.app, ["compare", *map(str, a + b), "-o", str(tmp_path / "figs"), "--resamples", "500"])
    assert r.exit_code == 0, r.output
    assert "3/3" in r.output and "0/2" in r.output and "median never" in r.output
    assert "0.02 M, 0.06 M, 0.06 M" in r.output


def test_a_field_missing_from_an_older_config_counts_as_it_was_before_the_field(tmp_path):
    """A run written before a field existed ran with the field's dataclass default (switches start off),
    even where its preset sets the field now: cpu-dog's earlier runs had no kp_run_nm_rad and ran without
    it, so they stay apart from the present preset's."""
    old = fake_run(tmp_path / "old-s1", 1, 0.1)
    cfg = json.loads((old / "config.json").read_text())
    del cfg["init_parts"], cfg["amp"]["window_frames"]                  # written before these fields existed
    (old / "config.json").write_text(json.dumps(cfg))
    new = fake_run(tmp_path / "new-s1", 1, 0.2, amp__window_frames=5)
    groups = [g.label for g in compare_runs([old, new], by="amp.window_frames", points=5, n_resamples=200).groups]
    assert groups == ["amp.window_frames=2", "amp.window_frames=5"]
    assert [g.label for g in compare_runs([old, new], by="init_parts", points=5, n_resamples=200).groups] == [
        "init_parts=()"]
    r = CliRunner().invoke(cli.app, ["compare", str(old), str(new), "--by", "amp.nope", "-o", str(tmp_path / "f")])
    assert r.exit_code == 2 and "has no config field 'amp.nope'" in r.output
    dog = to_dict(make_config("cpu-dog", "sac"))
    assert dog["env"]["kp_run_nm_rad"] == 40.0
    dog_runs = [fake_run(tmp_path / f"dog{n}-s1", 1, 0.1 * n) for n in (1, 2)]
    for run, written_before in zip(dog_runs, (True, False)):
        cfg = json.loads((run / "config.json").read_text())
        cfg.update({k: dog[k] for k in ("preset", "amp", "env", "reward")})
        if written_before:
            cfg["env"] = {k: v for k, v in cfg["env"].items() if k != "kp_run_nm_rad"}
        (run / "config.json").write_text(json.dumps(cfg))
    assert [g.label for g in compare_runs(dog_runs, points=5, n_resamples=200).groups] == [
        "env.kp_run_nm_rad=0", "env.kp_run_nm_rad=40"]
    assert [g.label for g in compare_runs(dog_runs, by="env.kp_run_nm_rad", points=5, n_resamples=200).groups
            ] == ["env.kp_run_nm_rad=0", "env.kp_run_nm_rad=40"]


def test_a_preset_that_names_the_same_switches_set_by_hand_is_one_group(tmp_path):
    """--preset cpu-dog and the cpu preset with the same --set switches resolve to one config: one group;
    cpu-dog with one switch set back (the preset's earlier runs), or the plain cpu preset, stays apart."""
    dog = to_dict(make_config("cpu-dog", "sac"))
    by_hand = fake_run(tmp_path / "hand-s1", 1, 0.1, **{k.replace(".", "__"): v for k, v in (
        ("amp.window_frames", 5), ("amp.frame_stride", 3), ("env.gait_clock", True),
        ("env.command_source", "banks"), ("reward.gait_clock_swing_free", 120.0),
        ("reward.gait_clock_stance_still", 120.0), ("env.reference_feedforward", True),
        ("env.residual_limit_rad", 0.3), ("reward.tracking_relative_above_m_s", 0.84),
        ("env.stance_torque_feedforward", True), ("amp.gait_condition", True),
        ("env.kp_run_nm_rad", 40.0))})
    preset = fake_run(tmp_path / "dog-s2", 2, 0.2)
    preset_before = fake_run(tmp_path / "dog0-s1", 1, 0.3)
    plain = fake_run(tmp_path / "cpu-s1", 1, 0.4)
    for run, extra in ((preset, {}), (preset_before, {"tracking_relative_above_m_s": 0.0})):
        cfg = json.loads((run / "config.json").read_text())
        cfg.update({k: dog[k] for k in ("preset", "amp", "env")}, reward={**dog["reward"], **extra})
        (run / "config.json").write_text(json.dumps(cfg))
    labels = lambda runs: [g.label for g in compare_runs(runs, points=5, n_resamples=200).groups]  # noqa: E731
    assert labels([by_hand, preset]) == ["all runs"]
    assert labels([preset_before, by_hand, preset]) == ["reward.tracking_relative_above_m_s=0",
                                                       "reward.tracking_relative_above_m_s=0.84"]
    assert labels([plain, preset]) == ["preset=cpu", "preset=cpu-dog"]


def test_bad_runs_fail_in_one_line_and_write_nothing(tmp_path):
    run = fake_run(tmp_path / "a-s1", 1, 0.1)
    (tmp_path / "empty").mkdir()
    for args, problem in (([str(tmp_path / "empty")], "no config.json"),
                          ([str(run), "--by", "amp.windows"], "no config field 'amp.windows'"),
                          ([str(run), str(run)], "given twice")):
        r = CliRunner().invoke(cli.app, ["compare", *args, "-o", str(tmp_path / "figs")])
        assert r.exit_code == 2, r.output
        assert problem in r.output and r.output.count("error") == 1, r.output
        assert not (tmp_path / "figs").exists()
