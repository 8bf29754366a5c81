"""Reference motions the Go2 can perform: geometry of the clearance check, stance locking, gathered strides."""

from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

from amp_data.motion.feasibility import leg_clearance_m, segment_distance
from retarget.foot_targets import keep_off_midline, lock_stance
from robots.go2.model import FOOT_RADIUS_M, default_pose_rad

FPS = 50.0


def brute_segment_distance(p0, p1, q0, q1, samples=401):
    s = np.linspace(0, 1, samples)
    a = p0 + s[:, None] * (p1 - p0)
    b = q0 + s[:, None] * (q1 - q0)
    return np.linalg.norm(a[:, None] - b[None], axis=-1).min()


def test_segment_distance_matches_dense_sampling():
    rng = np.random.default_rng(0)
    p0, p1, q0, q1 = (rng.normal(size=(200, 3)) for _ in range(4))
    p1[:20] = p0[:20]                     # degenerate segments (points) too
    q1[10:30] = q0[10:30]
    q1[40:60] = q0[40:60] + 2.0 * (p1[40:60] - p0[40:60])   # parallel
    got = segment_distance(p0, p1, q0, q1)
    want = np.array([brute_segment_distance(*x) for x in zip(p0, p1, q0, q1)])
    assert np.all(got <= want + 1e-12)                   # never above a sampled distance
    np.testing.assert_allclose(got, want, atol=5e-3)     # and within the sampling step


def test_clearance_of_the_default_pose_and_of_crossed_feet():
    q = default_pose_rad()[None]
    clearance = leg_clearance_m(q)[0]
    # default pose: nearest legs are FL/FR or RL/RR feet, 0.345 m apart, minus two foot radii, or the thighs
    assert 0.15 < clearance < 0.345 - 2 * FOOT_RADIUS_M + 1e-9
    crossed = q.copy()
    crossed[0, 0], crossed[0, 3] = -0.6, 0.6     # both fore hips pulled inward: the feet meet under the body
    assert leg_clearance_m(crossed)[0] < 0.0


def stance_runs(n=120):
    t = np.arange(n)
    stance = (t % 40) < 24                # 24 frames down, 16 up
    target = np.zeros((n, 3))
    target[:, 0] = 0.9 * t / FPS          # the dog's toe slides forward at 0.9 m/s ... minus what it really does
    target[:, 0] += np.where(stance, 0.0, 0.02 * np.sin(np.pi * (t % 40 - 24) / 16))
    target[:, 2] = FOOT_RADIUS_M + 0.012 + np.where(stance, 0.0, 0.06 * np.sin(np.pi * (t % 40 - 24) / 16))
    return target, stance


def test_lock_stance_plants_feet_and_keeps_the_velocity_continuous():
    target, stance = stance_runs()
    out = lock_stance(target, stance, FPS, FOOT_RADIUS_M)
    # every stance run is one point on the floor
    edges = np.flatnonzero(np.diff(stance.astype(int))) + 1
    for run in np.split(np.arange(len(stance)), edges):
        if stance[run[0]]:
            assert np.ptp(out[run], axis=0).max() < 1e-12
            assert out[run[0], 2] == pytest.approx(FOOT_RADIUS_M)
    # swing: above the floor, and the velocity has no jump at lift-off or touchdown: the largest frame-to-frame
    # change of velocity stays within what the dog's own swing has
    assert np.all(out[~stance, 2] >= FOOT_RADIUS_M - 1e-12)
    vel = np.diff(out, axis=0) * FPS
    dog_vel = np.diff(target, axis=0) * FPS
    assert np.abs(np.diff(vel, axis=0)).max() < 3.0 * np.abs(np.diff(dog_vel, axis=0)).max() + 0.5
    # a naive lock (hold, then jump back to the free target in swing) would jump by the stance slip
    naive = np.where(stance[:, None], out, target)
    assert np.abs(np.diff(naive, axis=0) * FPS).max() > 2 * np.abs(vel).max()


def test_keep_off_midline():
    y = np.array([[0.1, -0.1, -0.02, 0.05]])
    np.testing.assert_allclose(keep_off_midline(y, 0.04), [[0.1, -0.1, 0.04, -0.04]])


# --- the real clips ------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def gathered(mocap, tmp_path_factory):
    import os

    from cli import app
    out = tmp_path_factory.mktemp("gather")
    old = os.environ.get("AMP_DATA_MOCAP")
    os.environ["AMP_DATA_MOCAP"] = str(mocap)
    try:
        result = CliRunner().invoke(app, ["bank", "gather", "walk", "trot", "-o", str(out), "--from", str(mocap)])
    finally:
        if old is None:
            os.environ.pop("AMP_DATA_MOCAP")
        else:
            os.environ["AMP_DATA_MOCAP"] = old
    assert result.exit_code == 0, result.output
    return out, result.output


@pytest.mark.slow
def test_gather_writes_multi_stride_banks_the_go2_can_perform(gathered):
    from amp_data.format.bank import read_bank
    from amp_data.motion.feasibility import ROBOT_STANCE_WIDTH_M, assess_clip
    from amp_data.motion.gait import analyze_clip
    from robots.go2.kinematics import feet_fk

    out, text = gathered
    for gait, at_least in (("walk", 30), ("trot", 3)):
        bank = read_bank(out / f"{gait}.h5")
        assert len(bank.clips) >= at_least and f"{gait} strides from" in text
        assert {c.loop_mode for c in bank.clips} == {"wrap"}
        weights = np.array([c.weight for c in bank.clips])
        np.testing.assert_allclose(weights, [c.num_frames / bank.fps for c in bank.clips])
        assert set(bank.quality) >= {"fore_width_m", "slip_mm_s", "min_clearance_mm", "closure_mm"}
        widths, above, labels = [], [], []
        for i, c in enumerate(bank.clips):
            f = assess_clip(bank, c)     # recomputed from the arrays, against what the bank stores
            assert f.fore_width_m == pytest.approx(bank.quality["fore_width_m"][i], abs=1e-9)
            assert f.min_clearance_mm >= 30.0 and f.midline_crossing_frames == 0
            labels.append(analyze_clip(bank, c).gait)   # the stride alone, played as a loop
            widths += [f.fore_width_m, f.hind_width_m]
            above.append(f.stance_above_5mm)
            d = bank.clip_data(c)
            np.testing.assert_allclose(d["foot_pos_base"], feet_fk(d["joint_pos"]), atol=1e-12)
        assert np.mean(np.array(labels) == gait) >= 0.8    # a loop at the walk/run duty boundary may flip
        assert abs(np.mean(widths) / ROBOT_STANCE_WIDTH_M - 1) < 0.15
        assert np.median(bank.quality["slip_mm_s"]) <= 10.0
        assert np.all(bank.quality["slip_mm_s"] <= bank.quality["dog_slip_mm_s"] + 1e-9)
        assert np.mean(above) <= 0.02


def test_gather_takes_a_stance_width_per_gait(mocap, tmp_path, monkeypatch):
    from amp_data.format.bank import read_bank
    from amp_data.motion.feasibility import assess_clip
    from cli import app
    from retarget.foot_targets import lateral_targets_m

    monkeypatch.setenv("AMP_DATA_MOCAP", str(mocap))
    r = CliRunner().invoke(app, ["bank", "gather", "walk", "trot", "--from", "D1_007_KAN01_001", "--from",
                                 "D1_031_KAN01_001", "--stance-width", "0.2", "--stance-width", "walk=0.14",
                                 "-o", str(tmp_path), "-j", "1"])
    assert r.exit_code == 0, r.output
    for gait, width in (("walk", 0.14), ("trot", 0.2)):     # GAIT=W wins over W for its gait only
        bank = read_bank(tmp_path / f"{gait}.h5")
        feas = [assess_clip(bank, c) for c in bank.clips]
        fore, hind = np.mean([[f.fore_width_m, f.hind_width_m] for f in feas], axis=0)
        y = lateral_targets_m(width)       # FL FR RL RR: fore pair wider than the hind by the split
        # gather re-centres each stride's mean foot on its target; planting moves the stance mean by mm
        assert fore == pytest.approx(y[0] - y[1], abs=0.01) and hind == pytest.approx(y[2] - y[3], abs=0.01)


def test_clamp_to_reach_moves_only_targets_out_of_the_legs_shell():
    from retarget.ik import clamp_to_reach, solve_legs
    from robots.go2.kinematics import leg_chains
    from robots.go2.model import soft_limits_rad

    chain, lim = leg_chains()[3], soft_limits_rad()[9:12]     # RR
    hip = chain.translations[0]
    # a path from under the thigh joint up into the body (a paw tucked under a lying dog) and out again
    s = np.concatenate([np.linspace(0, 1, 30), np.linspace(1, 0, 30)])
    path = hip + np.array([0.0, -0.0955, 0.0]) + s[:, None] * np.array([0.0, 0.0, -0.03]) + \
        (1 - s)[:, None] * np.array([0.0, 0.0, -0.30])
    moved = clamp_to_reach(chain, path, lim[:, 0], lim[:, 1])
    d = abs(chain.translations[1][1])
    r_leg = np.sqrt(np.linalg.norm(moved - hip, axis=1) ** 2 - d ** 2)
    l1, l2 = 0.213, 0.213
    r_min = np.sqrt(l1**2 + l2**2 + 2 * l1 * l2 * np.cos(lim[2, 0]))
    assert r_leg.min() == pytest.approx(r_min, abs=1e-9)
    inside = np.linalg.norm(path - moved, axis=1) == 0
    assert inside.any() and not inside.all()
    targets = np.tile(np.array([[0.19, 0.14, -0.3], [0.19, -0.14, -0.3], [-0.19, 0.14, -0.3], [-0.19, -0.14, -0.3]]),
                      (len(path), 1, 1))
    targets[:, 3] = path
    ik = solve_legs(targets, clamp_reach=True)
    assert np.abs(np.diff(ik.joint_pos[:, 9:], axis=0)).max() < 0.3        # no jump through the unreachable core
    np.testing.assert_allclose(ik.foot_error_m[:, 3], np.linalg.norm(path - moved, axis=1), atol=1e-5)


@pytest.mark.parametrize("segment, gait", [("walk", "walk"), ("trot", "trot")])
def test_loops_closed_in_task_space_meet_their_targets_as_the_open_clip(mocap, segment, gait):
    import os

    import raw_mocap
    from retarget.foot_targets import GO2_STANCE_WIDTH_M
    from retarget.pipeline import RetargetConfig, cut_cycle, retarget_clip

    os.environ.setdefault("AMP_DATA_MOCAP", str(mocap))
    path, frames = raw_mocap.resolve(segment)
    motion, _ = retarget_clip(path, RetargetConfig(frames=frames))
    cycle, ik, (a, b), _, closure_m = cut_cycle(motion, gait, path, GO2_STANCE_WIDTH_M)
    open_error = np.linalg.norm(motion.foot_pos_base - motion.foot_target_base, axis=-1)[a:b]
    assert np.median(ik.foot_error_m) <= 1e-3
    assert ik.foot_error_m.max() <= open_error.max() + 1e-6
    # and the planted feet stay planted across the closed loop: stance feet still in the world
    from amp_data.motion.contacts import feet_world_m
    feet = feet_world_m(cycle.root_pos, cycle.root_quat, cycle.foot_pos_base)
    both = cycle.contacts[1:] & cycle.contacts[:-1]
    step = np.linalg.norm(np.diff(feet, axis=0), axis=-1)[both]
    assert np.median(step) < 1e-6 and step.max() < 2e-3
    assert 0 < closure_m < 0.2


def test_stance_width_option_and_bad_input(mocap, tmp_path, monkeypatch):
    from amp_data.format.bank import read_bank
    from amp_data.motion.feasibility import assess_clip
    from cli import app

    monkeypatch.setenv("AMP_DATA_MOCAP", str(mocap))
    runner = CliRunner()
    out = tmp_path / "t.h5"
    r = runner.invoke(app, ["retarget", "trot", "--stance-width", "0.34", "-o", str(out)])
    assert r.exit_code == 0, r.output
    f = assess_clip(read_bank(out))
    # a whole clip: offsets centre the toes over the clip; planting moves the mean by up to ~1 cm
    # (bank gather re-centres each stride exactly)
    assert 0.5 * (f.fore_width_m + f.hind_width_m) == pytest.approx(0.34, abs=0.02)
    assert f.fore_width_m - f.hind_width_m == pytest.approx(0.06, abs=0.015)     # fore 3 cm out, hind 3 cm in
    for args, message in ((["retarget", "trot", "--stance-width", "3", "-o", str(tmp_path / "x.h5")], "--stance-width"),
                          (["bank", "gather", "gallop", "-o", str(tmp_path)], "unknown gait 'gallop'"),
                          (["bank", "gather", "walk", "trot", "-o", str(tmp_path / "w.h5")], "several gaits"),
                          (["bank", "gather", "walk", "--from", "nope", "-o", str(tmp_path)], "nope"),
                          (["bank", "gather", "walk", "--stance-width", "trot=0.1", "-o", str(tmp_path)],
                           "'trot' is not a gait being gathered"),
                          (["bank", "gather", "walk", "--stance-width", "walk=0.3m", "-o", str(tmp_path)], "GAIT=W"),
                          (["bank", "gather", "walk", "--stance-width", "walk=0.1", "--stance-width", "walk=0.2", "-o",
                            str(tmp_path)], "for walk is given twice")):
        r = runner.invoke(app, args)
        assert r.exit_code == 2 and message in r.output and "Traceback" not in r.output, args
        assert r.output.count("\n") == 1
    assert not (tmp_path / "x.h5").exists() and not (tmp_path / "walk.h5").exists()
    # the trot clip has no walk stride: its trot is gathered first, but nothing is written
    r = runner.invoke(app, ["bank", "gather", "trot", "walk", "--from", "D1_031_KAN01_001", "-o", str(tmp_path), "-j", "1"])
    assert r.exit_code == 2 and "no clean walk stride" in r.output and r.output.count("\n") == 1, r.output
    assert not (tmp_path / "trot.h5").exists() and not (tmp_path / "walk.h5").exists()
