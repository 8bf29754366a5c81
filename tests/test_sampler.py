"""AMP observation layout and the expert sampler, against analytic motions, scipy and the bank's frames."""

import subprocess
import sys

import numpy as np
import pytest
from scipy.spatial.transform import Rotation, Slerp
from scipy.stats import chi2

from amp_data.expert.amp_obs import (AMP_OBS_DIM, AMP_OBS_LAYOUT, amp_observation, amp_observation_from_frames,
                              split_amp_observation)
from amp_data.format.bank import Bank, ClipRange, read_bank, write_bank
from amp_data.errors import InputError
from amp_data.expert.sampler import ExpertSampler, alias_table, slerp_xyzw
from robots.go2.model import FOOT_NAMES, JOINT_NAMES

FPS = 50.0
OBS = AMP_OBS_DIM


# -- synthetic banks -----------------------------------------------------------------------------

def make_bank(frames: dict, clips: list[ClipRange], fps=FPS, path=None, **attrs) -> Bank:
    """A Bank from per-frame arrays (T first); missing datasets are zeros, root_quat identity."""
    T = len(next(iter(frames.values())))
    shapes = {"joint_pos": (12,), "joint_vel": (12,), "root_pos": (3,), "base_lin_vel": (3,),
              "base_ang_vel": (3,), "foot_pos_base": (4, 3), "foot_vel_base": (4, 3)}
    data = {k: np.asarray(frames[k], float) if k in frames else np.zeros((T, *s)) for k, s in shapes.items()}
    data["root_quat"] = np.asarray(frames["root_quat"], float) if "root_quat" in frames else np.tile([0, 0, 0, 1.0], (T, 1))
    data["contacts"] = np.ones((T, 4), bool)
    a = {"schema_version": 2, "robot": "go2", "fps": fps, "joint_names": list(JOINT_NAMES),
         "foot_names": list(FOOT_NAMES), "quat_convention": "xyzw", **attrs}
    return Bank(path, data, a, clips=clips)


def yaw_pitch_quat(yaw, pitch=0.3):
    """Rz(yaw) Ry(pitch), xyzw (..., 4)."""
    return (Rotation.from_euler("z", np.ravel(yaw)[:, None]) * Rotation.from_euler("y", pitch)).as_quat()


# Analytic motion: every vector component linear in time, the root turning at a constant rate about
# the world z axis (so linear interpolation and SLERP between frames are exact).
JP0, JP1 = np.linspace(-1, 1, 12), np.linspace(0.5, -0.3, 12)     # joint_pos = JP0 + JP1 t
FP0, FP1 = np.linspace(-0.3, 0.3, 12).reshape(4, 3), np.linspace(0.2, -0.1, 12).reshape(4, 3)
LV0, LV1 = np.array([1.0, -0.2, 0.1]), np.array([0.3, 0.1, -0.2])
AV0, AV1 = np.array([0.1, 0.4, -1.0]), np.array([-0.5, 0.2, 0.3])
JV0, JV1 = np.linspace(3, -3, 12), np.linspace(-1, 2, 12)
Z0, Z1 = 0.30, 0.05
YAW_RATE = 0.8


def analytic(t):
    t = np.asarray(t, float)[..., None]
    return {"joint_pos": JP0 + JP1 * t, "foot_pos_base": FP0 + FP1 * t[..., None], "base_lin_vel": LV0 + LV1 * t,
            "base_ang_vel": AV0 + AV1 * t, "joint_vel": JV0 + JV1 * t,
            "root_pos": np.concatenate([0.7 * t, -0.2 * t, Z0 + Z1 * t], -1), "root_quat": yaw_pitch_quat(YAW_RATE * t)}


def analytic_obs(t):
    a = analytic(t)
    obs = np.concatenate([a["joint_pos"], a["foot_pos_base"].reshape(-1, 12), a["base_lin_vel"], a["base_ang_vel"],
                          a["joint_vel"], a["root_pos"][:, 2:]], axis=1)
    assert obs.shape[1] == 43
    return obs


def analytic_bank(n=40, loop_mode="clamp"):
    return make_bank(analytic(np.arange(n) / FPS), [ClipRange("lin", 0, n, loop_mode=loop_mode)])


def random_bank(n_frames: list[int], loop_modes: list[str], seed=0, **clip_kw) -> Bank:
    rng = np.random.default_rng(seed)
    T = sum(n_frames)
    frames = {"joint_pos": rng.normal(size=(T, 12)), "joint_vel": rng.normal(size=(T, 12)),
              "root_pos": rng.normal(size=(T, 3)), "base_lin_vel": rng.normal(size=(T, 3)),
              "base_ang_vel": rng.normal(size=(T, 3)), "foot_pos_base": rng.normal(size=(T, 4, 3)),
              "root_quat": Rotation.random(T, random_state=seed).as_quat()}
    starts = np.concatenate([[0], np.cumsum(n_frames)])
    clips = [ClipRange(f"c{i}", int(starts[i]), int(starts[i + 1]), loop_mode=m, **clip_kw)
             for i, m in enumerate(loop_modes)]
    return make_bank(frames, clips)


# -- AMP observation -----------------------------------------------------------------------------

def _parts(lead, offset=0.0):
    base = {"joint_pos": 12, "foot_pos_base": 12, "base_lin_vel": 3, "base_ang_vel": 3, "joint_vel": 12,
            "base_height": 1}
    out, v = {}, offset
    for name, size in base.items():
        n = int(np.prod(lead)) * size
        out[name] = (v + np.arange(n, dtype=np.float64)).reshape(*lead, size)
        v += 1000.0
    out["foot_pos_base"] = out["foot_pos_base"].reshape(*lead, 4, 3)
    out["base_height"] = out["base_height"][..., 0]
    return out


def test_layout_is_amp_for_hardware_order():
    # AMP_for_hardware LeggedRobot.get_amp_observations:
    # cat(joint_pos, foot_pos, base_lin_vel, base_ang_vel, joint_vel, z_pos)
    published = [("joint_pos", 12), ("foot_pos_base", 12), ("base_lin_vel", 3), ("base_ang_vel", 3),
                 ("joint_vel", 12), ("base_height", 1)]
    assert list(AMP_OBS_LAYOUT) == [n for n, _ in published]
    start = 0
    for name, size in published:
        assert AMP_OBS_LAYOUT[name] == slice(start, start + size)
        start += size
    assert AMP_OBS_DIM == start == 43


@pytest.mark.parametrize("lead", [(), (7,), (2, 3)])
def test_each_slice_holds_its_input(lead):
    p = _parts(lead)
    obs = amp_observation(**p)
    assert obs.shape == (*lead, 43)
    np.testing.assert_array_equal(obs[..., AMP_OBS_LAYOUT["joint_pos"]], p["joint_pos"])
    # feet foot-major: FL xyz, FR xyz, RL xyz, RR xyz
    feet = obs[..., AMP_OBS_LAYOUT["foot_pos_base"]]
    for leg in range(4):
        np.testing.assert_array_equal(feet[..., 3 * leg:3 * leg + 3], p["foot_pos_base"][..., leg, :])
    for name in ("base_lin_vel", "base_ang_vel", "joint_vel"):
        np.testing.assert_array_equal(obs[..., AMP_OBS_LAYOUT[name]], p[name])
    np.testing.assert_array_equal(obs[..., 42], p["base_height"])
    back = split_amp_observation(obs)
    for name, value in p.items():
        np.testing.assert_array_equal(back[name], value)


def test_flat_feet_and_column_height_are_accepted():
    p = _parts((5,))
    flat = dict(p, foot_pos_base=p["foot_pos_base"].reshape(5, 12), base_height=p["base_height"][:, None])
    np.testing.assert_array_equal(amp_observation(**flat), amp_observation(**p))
    with pytest.raises(ValueError, match="base_lin_vel"):
        amp_observation(**dict(p, base_lin_vel=np.zeros((4, 3))))


def test_numpy_and_torch_agree():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    p = {k: rng.normal(size=v.shape).astype(np.float32) for k, v in _parts((4, 6)).items()}
    obs_np = amp_observation(**p)
    obs_t = amp_observation(**{k: torch.from_numpy(v) for k, v in p.items()})
    assert isinstance(obs_t, torch.Tensor) and obs_t.dtype == torch.float32 and obs_t.shape == (4, 6, 43)
    np.testing.assert_array_equal(obs_t.numpy(), obs_np)


def test_from_frames_uses_root_z():
    bank = analytic_bank(10)
    obs = amp_observation_from_frames(bank)
    np.testing.assert_allclose(obs, analytic_obs(np.arange(10) / FPS), atol=1e-12)


def test_modules_do_not_import_torch():
    code = ("import sys, numpy as np; import amp_data.expert.sampler, amp_data.expert.amp_obs as a; "
            "a.amp_observation(np.zeros(12), np.zeros((4, 3)), np.zeros(3), np.zeros(3), np.zeros(12), 0.0); "
            "assert 'torch' not in sys.modules, 'torch imported'")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


# -- slerp ---------------------------------------------------------------------------------------

def test_slerp_matches_scipy_including_signs():
    rng = np.random.default_rng(0)
    q0 = Rotation.random(300, random_state=1).as_quat()
    q1 = Rotation.random(300, random_state=2).as_quat()
    q1[:20] = (Rotation.from_quat(q0[:20]) * Rotation.from_rotvec(rng.normal(size=(20, 3)) * 1e-7)).as_quat()
    alpha = rng.random(300)
    alpha[:3] = [0.0, 1.0, 0.5]
    want = np.array([Slerp([0, 1], Rotation.from_quat([a, b]))(t).as_quat() for a, b, t in zip(q0, q1, alpha)])
    for s0 in (1, -1):
        for s1 in (1, -1):
            got = slerp_xyzw(s0 * q0, s1 * q1, alpha)
            np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1, atol=1e-12)
            # same rotation (q and -q), and the result in the hemisphere of the first argument
            np.testing.assert_allclose(np.abs(np.sum(got * want, axis=1)), 1, atol=1e-12)
            assert np.all(np.sum(got * s0 * q0, axis=1) > 0)
    np.testing.assert_allclose(slerp_xyzw(q0, q1, 0.0), q0, atol=1e-12)


def test_slerp_constant_rate():
    # rotation about one axis at a constant rate: slerp of the ends gives the intermediate angles
    t = np.linspace(0, 1, 11)
    got = slerp_xyzw(yaw_pitch_quat(0.0)[0], yaw_pitch_quat(2.5)[0], t)
    np.testing.assert_allclose(np.abs(np.sum(got * yaw_pitch_quat(2.5 * t), axis=1)), 1, atol=1e-12)


def test_alias_table_reproduces_the_distribution():
    p = np.array([0.0, 1.0, 2.0, 0.5, 7.0, 0.0, 3.0])
    accept, alias = alias_table(p)
    implied = accept / len(p)
    np.add.at(implied, alias, (1 - accept) / len(p))
    np.testing.assert_allclose(implied, p / p.sum(), atol=1e-15)


# -- interpolation -------------------------------------------------------------------------------

@pytest.mark.parametrize("dt,sub", [(0.02, 1), (0.03, 2), (0.05, 3)])
def test_pairs_are_analytic_states_at_t_and_t_plus_dt(dt, sub):
    n = 40
    s = ExpertSampler(analytic_bank(n), policy_dt_s=dt, start_substeps=sub)
    t = s.pair_time_s
    np.testing.assert_allclose(t, np.arange(len(t)) / (FPS * sub), atol=1e-12)
    assert t[-1] <= (n - 1) / FPS - dt + 1e-9 < t[-1] + 1 / (FPS * sub)   # clamp: last start that fits
    np.testing.assert_allclose(s.pairs[:, :OBS], analytic_obs(t), atol=2e-6)        # float32 storage
    np.testing.assert_allclose(s.pairs[:, OBS:], analytic_obs(t + dt), atol=2e-6)
    assert s.pairs.dtype == np.float32 and s.pairs.flags["C_CONTIGUOUS"]


def test_states_at_is_analytic_between_frames():
    s = ExpertSampler(analytic_bank(30))
    t = np.random.default_rng(0).uniform(0, 29 / FPS, 200)
    st = s.states_at(np.zeros(200, int), t)
    want = analytic(t)
    for k in ("joint_pos", "foot_pos_base", "base_lin_vel", "base_ang_vel", "joint_vel", "root_pos"):
        np.testing.assert_allclose(st[k], want[k], atol=1e-12, err_msg=k)
    np.testing.assert_allclose(np.abs(np.sum(st["root_quat"] * want["root_quat"], axis=1)), 1, atol=1e-12)
    assert np.all(st["root_quat"][:, 3] >= 0)


@pytest.mark.parametrize("dt,sub,shift", [(0.04, 1, 2), (0.03, 2, 3), (0.02, 4, 4)])
def test_next_state_is_the_state_of_the_pair_dt_later(dt, sub, shift):
    # random frames: holds for any data, not only for linear motion
    s = ExpertSampler(random_bank([37, 23], ["clamp", "wrap"]), policy_dt_s=dt, start_substeps=sub)
    for c in range(2):
        rows = np.flatnonzero(s.pair_clip == c)
        a, b = rows[:-shift], rows[shift:]
        np.testing.assert_array_equal(s.pairs[a, OBS:], s.pairs[b, :OBS])
    # wrap clip: around the seam too, with the cycle position offset zero
    rows = np.flatnonzero(s.pair_clip == 1)
    np.testing.assert_allclose(s.pairs[rows, OBS:], s.pairs[np.roll(rows, -shift), :OBS], rtol=1e-6, atol=1e-6)


def test_pairs_at_frame_times_are_the_bank_frames():
    bank = random_bank([50], ["clamp"])
    s = ExpertSampler(bank, policy_dt_s=1 / FPS)
    frames = amp_observation_from_frames(bank)
    np.testing.assert_allclose(s.pairs[:, :OBS], frames[:-1], rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(s.pairs[:, OBS:], frames[1:], rtol=1e-6, atol=1e-6)


# -- wrap clips and clip boundaries ---------------------------------------------------------------

def test_wrap_pair_at_the_end_takes_next_state_from_the_start():
    n = 20
    bank = random_bank([n], ["wrap"], cycle_offset_pos_m=(0.5, 0.2, 0.01), cycle_offset_yaw_rad=0.3)
    frames = amp_observation_from_frames(bank)
    s = ExpertSampler(bank, policy_dt_s=1 / FPS, start_substeps=2)
    assert s.num_pairs == 2 * n and s.clips[0].duration_s == pytest.approx(n / FPS)
    last_frame = np.flatnonzero(np.isclose(s.pair_time_s, (n - 1) / FPS))[0]
    halfway = np.flatnonzero(np.isclose(s.pair_time_s, (n - 0.5) / FPS))[0]
    want = frames[0].copy()
    want[42] += 0.01                      # base height one cycle on: root z moved by the offset's z
    np.testing.assert_allclose(s.pairs[last_frame, OBS:], want, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(s.pairs[last_frame, :OBS], frames[-1], rtol=1e-6, atol=1e-6)
    half = 0.5 * (frames[0] + frames[1])
    half[42] += 0.01
    np.testing.assert_allclose(s.pairs[halfway, OBS:], half, rtol=1e-6, atol=1e-6)


def test_wrap_root_pose_moves_by_the_cycle_offset():
    n = 16
    d, dyaw = np.array([0.6, -0.1, 0.02]), 0.4
    bank = random_bank([n], ["wrap"], cycle_offset_pos_m=tuple(d), cycle_offset_yaw_rad=dyaw)
    p0, q0 = bank["root_pos"][0], bank["root_quat"][0]
    r0 = Rotation.from_quat(q0).as_matrix()
    heading = np.arctan2(r0[1, 0], r0[0, 0])
    G = Rotation.from_euler("z", dyaw)
    closing_pos = p0 + Rotation.from_euler("z", heading).apply(d)

    def moved(p, q, k):
        """k cycles on: rigid motion turning by k dyaw about the vertical through p0, then shifted."""
        for _ in range(k):
            p = G.apply(p - p0) + closing_pos
            q = (G * Rotation.from_quat(q)).as_quat()
        return p, q

    s = ExpertSampler(bank)
    for k, i in [(1, 0), (1, 5), (2, 3)]:
        st = s.states_at([0], [(k * n + i) / FPS])
        p, q = moved(bank["root_pos"][i], bank["root_quat"][i], k)
        np.testing.assert_allclose(st["root_pos"][0], p, atol=1e-12)
        assert abs(np.dot(st["root_quat"][0], q)) == pytest.approx(1, abs=1e-12)
        np.testing.assert_allclose(st["joint_pos"][0], bank["joint_pos"][i], atol=1e-12)
    # halfway between the last frame and the closing frame: root position halfway, orientation slerped
    st = s.states_at([0], [(n - 0.5) / FPS])
    np.testing.assert_allclose(st["root_pos"][0], 0.5 * (bank["root_pos"][-1] + closing_pos), atol=1e-12)
    mid = Slerp([0, 1], Rotation.from_quat([bank["root_quat"][-1], (G * Rotation.from_quat(q0)).as_quat()]))(0.5)
    assert abs(np.dot(st["root_quat"][0], mid.as_quat())) == pytest.approx(1, abs=1e-12)


def test_no_pair_crosses_clips():
    # two banks, three clips of distinct constant values; wrap and clamp
    def const_bank(values, modes):
        n = [9, 14, 5][:len(values)]
        T = sum(n)
        v = np.repeat(values, n)[:, None]
        frames = {"joint_pos": v * np.ones((T, 12)), "joint_vel": v * np.ones((T, 12)),
                  "root_pos": v * np.ones((T, 3)), "base_lin_vel": v * np.ones((T, 3)),
                  "base_ang_vel": v * np.ones((T, 3)), "foot_pos_base": v[:, :, None] * np.ones((T, 4, 3))}
        starts = np.concatenate([[0], np.cumsum(n)])
        return make_bank(frames, [ClipRange(f"v{x}", int(starts[i]), int(starts[i + 1]), loop_mode=m)
                                  for i, (x, m) in enumerate(zip(values, modes))])

    s = ExpertSampler([const_bank([1.0, 2.0], ["wrap", "clamp"]), const_bank([3.0, 4.0, 5.0], ["clamp", "wrap", "wrap"])],
                      policy_dt_s=0.05, start_substeps=3)
    value = np.array([1.0, 2.0, 3.0, 4.0, 5.0])[s.pair_clip]
    np.testing.assert_array_equal(s.pairs, np.repeat(value[:, None], 2 * OBS, axis=1).astype(np.float32))
    assert set(np.unique(s.pair_clip)) == {0, 1, 2, 3, 4}
    # clip sizes: wrap N * sub starts; clamp starts t <= (N - 1) / fps - dt on the grid
    counts = np.bincount(s.pair_clip)
    assert list(counts) == [9 * 3, int(np.floor((13 - 2.5) * 3)) + 1, int(np.floor((8 - 2.5) * 3)) + 1, 14 * 3, 5 * 3]


def test_short_clamp_clip_gives_no_pairs_and_a_warning():
    bank = random_bank([2, 30], ["clamp", "clamp"])
    with pytest.warns(UserWarning, match="c0"):
        s = ExpertSampler(bank, policy_dt_s=0.04)
    assert s.clips[0].num_pairs == 0 and s.clip_probabilities[0] == 0
    assert np.all(s.pair_clip[s.sample_indices(5000)] == 1)


# -- sampling ------------------------------------------------------------------------------------

def _chi2_ok(counts, probs):
    n = counts.sum()
    expected = n * probs
    keep = expected > 0
    assert np.all(counts[~keep] == 0)
    stat = np.sum((counts[keep] - expected[keep]) ** 2 / expected[keep])
    return stat < chi2.ppf(1 - 1e-6, keep.sum() - 1), stat


def _two_banks():
    a = random_bank([30, 12], ["clamp", "wrap"], seed=1)
    b = random_bank([50], ["wrap"], seed=2)
    a.clips[0].weight, a.clips[1].weight, b.clips[0].weight = 1.0, 2.0, 5.0
    return a, b


def test_clip_frequencies_follow_weights_times_bank_weights():
    a, b = _two_banks()
    s = ExpertSampler([a, b], bank_weights=[1.0, 3.0], seed=0)
    want = np.array([1.0, 2.0, 15.0]) / 18.0
    np.testing.assert_allclose(s.clip_probabilities, want)
    idx = s.sample_indices(300_000)
    counts = np.bincount(s.pair_clip[idx], minlength=3)
    ok, stat = _chi2_ok(counts, want)
    assert ok, (counts, stat)
    # within a clip every pair equally likely
    rows = np.flatnonzero(s.pair_clip == 2)
    within = np.bincount(idx[s.pair_clip[idx] == 2] - rows[0], minlength=len(rows))
    ok, stat = _chi2_ok(within, np.full(len(rows), 1 / len(rows)))
    assert ok, stat
    # reference states use the same clip probabilities
    ref = s.reference_states(100_000)
    ok, stat = _chi2_ok(np.bincount(ref["clip"], minlength=3), want)
    assert ok, stat


def test_zero_weight_clip_is_never_drawn():
    a, b = _two_banks()
    a.clips[1].weight = 0.0
    s = ExpertSampler([a, b], seed=1)
    assert not np.any(s.pair_clip[s.sample_indices(50_000)] == 1)


def test_uniform_weighting_draws_every_pair_alike():
    a, b = _two_banks()
    s = ExpertSampler([a, b], weighting="uniform", seed=0)
    counts = np.bincount(s.sample_indices(400_000), minlength=s.num_pairs)
    ok, stat = _chi2_ok(counts, np.full(s.num_pairs, 1 / s.num_pairs))
    assert ok, stat


def test_batches_are_preloaded_pairs():
    a, b = _two_banks()
    s = ExpertSampler([a, b], seed=5)
    idx = s.sample_indices(1000, np.random.default_rng(9))
    x, y = s.sample(1000, np.random.default_rng(9))
    assert x.shape == y.shape == (1000, OBS) and x.dtype == np.float32
    np.testing.assert_array_equal(x, s.pairs[idx, :OBS])
    np.testing.assert_array_equal(y, s.pairs[idx, OBS:])


def test_torch_cpu_batches_equal_numpy():
    torch = pytest.importorskip("torch")
    a, b = _two_banks()
    s_np = ExpertSampler([a, b], seed=7)
    s_t = ExpertSampler([a, b], seed=7, device="cpu")
    for _ in range(3):
        x, y = s_np.sample(512)
        xt, yt = s_t.sample(512)
        assert isinstance(xt, torch.Tensor) and xt.dtype == torch.float32 and xt.device.type == "cpu"
        np.testing.assert_array_equal(xt.numpy(), x)
        np.testing.assert_array_equal(yt.numpy(), y)


def test_torch_on_device_draw_is_weighted():
    # the draw used on accelerators (alias table and gather in torch), exercised on the CPU
    torch = pytest.importorskip("torch")
    a, b = _two_banks()
    s = ExpertSampler([a, b], bank_weights=[1.0, 3.0], seed=0, device="cpu")
    s._build_device_tables(seed=0)
    idx = s._sample_indices_torch(300_000, None)
    assert idx.dtype == torch.int64
    idx = idx.numpy()
    ok, stat = _chi2_ok(np.bincount(s.pair_clip[idx], minlength=3), np.array([1.0, 2.0, 15.0]) / 18)
    assert ok, stat
    rows = np.flatnonzero(s.pair_clip == 2)
    ok, stat = _chi2_ok(np.bincount(idx[s.pair_clip[idx] == 2] - rows[0], minlength=len(rows)),
                        np.full(len(rows), 1 / len(rows)))
    assert ok, stat


def test_cuda_batches_are_preloaded_pairs():
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    a, b = _two_banks()
    s = ExpertSampler([a, b], seed=0, device="cuda")
    x, y = s.sample(1000)
    assert x.device.type == "cuda" and x.shape == y.shape == (1000, OBS)
    rows = {tuple(r) for r in s.pairs.tolist()}
    assert all(tuple(r) in rows for r in torch.cat([x, y], 1).cpu().numpy().tolist())


def test_bad_device_raises():
    pytest.importorskip("torch")
    with pytest.raises(InputError, match="device"):
        ExpertSampler(random_bank([20], ["clamp"]), device="nonsense")


def test_reference_states_are_analytic_states():
    s = ExpertSampler([analytic_bank(30), analytic_bank(25, "wrap")], seed=3)
    ref = s.reference_states(500)
    clamp = ref["clip"] == 0
    assert np.all(ref["time_s"][clamp] <= 29 / FPS) and np.all(ref["time_s"][~clamp] < 25 / FPS)
    want = analytic(ref["time_s"])
    np.testing.assert_allclose(ref["joint_pos"][clamp], want["joint_pos"][clamp], atol=1e-12)
    np.testing.assert_allclose(np.abs(np.sum(ref["root_quat"][clamp] * want["root_quat"][clamp], axis=1)), 1, atol=1e-12)
    for k, shape in [("joint_pos", (12,)), ("joint_vel", (12,)), ("root_pos", (3,)), ("root_quat", (4,)),
                     ("base_lin_vel", (3,)), ("base_ang_vel", (3,)), ("foot_pos_base", (4, 3))]:
        assert ref[k].shape == (500, *shape)


# -- bad input -----------------------------------------------------------------------------------

@pytest.mark.parametrize("key,value", [("fps", 60.0), ("robot", "a1"),
                                       ("joint_names", list(JOINT_NAMES[3:6] + JOINT_NAMES[:3] + JOINT_NAMES[6:])),
                                       ("foot_names", ["FR_foot", "FL_foot", "RL_foot", "RR_foot"])])
def test_mismatching_banks_raise_naming_both_files(tmp_path, key, value):
    a = random_bank([20], ["clamp"])
    b = random_bank([20], ["clamp"])
    b.attrs[key] = value
    pa, pb = write_bank(tmp_path / "a.h5", a), write_bank(tmp_path / "b.h5", b)
    if key.endswith("_names"):
        ExpertSampler([pa, pb])      # files are read by name: columns put in the canonical order on read
    else:
        with pytest.raises(InputError) as e:
            ExpertSampler([pa, pb])
        msg = str(e.value)
        assert str(pb) in msg and key in msg
        assert str(pa) in msg or key == "robot"      # a bank not for the Go2 is refused on its own
    with pytest.raises(InputError, match=key):      # Bank objects: named by position
        ExpertSampler([a, b])


def test_mismatch_is_reported_before_bad_options(tmp_path):
    a, b = random_bank([20], ["clamp"]), random_bank([20], ["clamp"])
    b.attrs["fps"] = 30.0
    with pytest.raises(InputError, match="fps"):
        ExpertSampler([a, b], policy_dt_s=-1)


@pytest.mark.parametrize("kw,match", [({"policy_dt_s": 0}, "policy_dt_s"), ({"policy_dt_s": float("nan")}, "policy_dt_s"),
                                      ({"start_substeps": 0}, "start_substeps"), ({"weighting": "pairs"}, "weighting"),
                                      ({"bank_weights": [1, 2]}, "bank_weights"), ({"bank_weights": [-1]}, "bank_weights"),
                                      ({"weighting": "uniform", "bank_weights": [1]}, "bank_weights"),
                                      ({"policy_dt_s": 5.0}, "long enough")])
def test_bad_options_raise(kw, match):
    with pytest.raises(InputError, match=match):
        ExpertSampler(random_bank([20], ["clamp"]), **kw)


def test_all_zero_weights_raise():
    bank = random_bank([20], ["clamp"])
    bank.clips[0].weight = 0.0
    with pytest.raises(InputError, match="weight"):
        ExpertSampler(bank)


def test_missing_bank_file_raises(tmp_path):
    with pytest.raises(InputError, match="no such bank"):
        ExpertSampler([tmp_path / "nope.h5"])


# -- a real retargeted clip ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def trot_cycle_bank(mocap, tmp_path_factory):
    from typer.testing import CliRunner

    from cli import app
    out = tmp_path_factory.mktemp("sampler") / "trot_cycle.h5"
    r = CliRunner().invoke(app, ["retarget", "D1_031_KAN01_001", "--cycle", "trot", "-o", str(out)])
    assert r.exit_code == 0, r.output
    return read_bank(out)


def test_real_wrap_clip_pairs_are_its_frames_and_close_the_loop(trot_cycle_bank):
    bank = trot_cycle_bank
    assert bank.clips[0].loop_mode == "wrap"
    s = ExpertSampler(bank, policy_dt_s=1 / bank.fps)
    frames = amp_observation_from_frames(bank)
    np.testing.assert_allclose(s.pairs[:, :OBS], frames, rtol=1e-6, atol=1e-5)
    np.testing.assert_allclose(s.pairs[:, OBS:], np.roll(frames, -1, axis=0), rtol=1e-6, atol=1e-5)
    # the root one frame after the last continues at the recorded base velocity (seamless loop)
    n = bank.num_frames
    st = s.states_at([0, 0], [(n - 1) / bank.fps, n / bank.fps])
    step = st["root_pos"][1] - st["root_pos"][0]
    world_vel = Rotation.from_quat(bank["root_quat"][[-1, 0]]).apply(bank["base_lin_vel"][[-1, 0]])
    vel_end = Rotation.from_euler("z", bank.clips[0].cycle_offset_yaw_rad).apply(world_vel[1])
    np.testing.assert_allclose(step * bank.fps, 0.5 * (world_vel[0] + vel_end), atol=0.15)


# -- windows of K frames -------------------------------------------------------------------------------

@pytest.mark.parametrize("k,stride,dt", [(3, 1, 0.02), (4, 3, 0.02), (5, 2, 0.03)])
def test_windows_are_analytic_states_every_stride_steps(k, stride, dt):
    n = 60
    s = ExpertSampler(analytic_bank(n), policy_dt_s=dt, window_frames=k, frame_stride=stride)
    t = s.pair_time_s
    span = (k - 1) * stride * dt
    assert s.window_dim == k * OBS and s.pairs.shape == (len(t), k * OBS) and s.window_span_s == pytest.approx(span)
    assert t[-1] <= (n - 1) / FPS - span + 1e-9 < t[-1] + 1 / FPS     # clamp: the whole window fits
    for j in range(k):
        np.testing.assert_allclose(s.pairs[:, j * OBS:(j + 1) * OBS], analytic_obs(t + j * stride * dt), atol=2e-6)
    frames = s.sample(7, np.random.default_rng(0))
    assert len(frames) == k and all(f.shape == (7, OBS) for f in frames)


def test_pair_windows_are_the_old_pairs():
    bank = random_bank([37, 23], ["clamp", "wrap"])
    pairs = ExpertSampler(bank, policy_dt_s=0.03).pairs
    windows = ExpertSampler(bank, policy_dt_s=0.03, window_frames=2, frame_stride=1).pairs
    np.testing.assert_array_equal(pairs, windows)
    long = ExpertSampler(bank, policy_dt_s=0.03, window_frames=3, frame_stride=2)
    # the wrap clip (23 frames) gives a window at every frame; the clamp clip (37) only where the whole window
    # (4 policy steps) fits before its last frame
    assert long.num_pairs == 23 + int(np.floor(36 - 4 * 0.03 * FPS + 1e-9)) + 1


def test_amp_history_is_the_reference_before_the_start():
    bank = random_bank([40, 30], ["clamp", "wrap"], cycle_offset_pos_m=(0.4, 0.0, 0.0))
    s = ExpertSampler(bank, policy_dt_s=0.02)
    clip, t = np.array([0, 0, 1, 1]), np.array([0.3, 0.01, 0.05, 0.4])
    hist = s.amp_history_at(clip, t, 6)
    assert hist.shape == (4, 6, OBS)
    for j in range(6):
        back = t - (5 - j) * 0.02
        back = np.where(clip == 0, np.maximum(back, 0.0), back)    # clamp clips hold their first frame
        np.testing.assert_allclose(hist[:, j], s.amp_obs_at(clip, back), atol=1e-12)
    # the wrap clip runs backwards over its seam: 0.02 s before its start is 0.02 s before its cycle's end
    np.testing.assert_allclose(s.amp_obs_at([1], [-0.02])[0], s.amp_obs_at([1], [30 / FPS - 0.02])[0], atol=1e-9)


@pytest.mark.parametrize("bad", [{"window_frames": 1}, {"frame_stride": 0}, {"window_frames": 2.5}])
def test_bad_window_settings_are_one_line_errors(bad):
    with pytest.raises(InputError, match=next(iter(bad))):
        ExpertSampler(analytic_bank(20), **bad)


def test_clip_forward_speed_is_the_mean_base_velocity():
    bank = random_bank([20, 15], ["clamp", "wrap"])
    s = ExpertSampler(bank)
    v = bank.data["base_lin_vel"][:, 0]
    np.testing.assert_allclose(s.clip_forward_speed_m_s(), [v[:20].mean(), v[20:].mean()], atol=1e-12)
