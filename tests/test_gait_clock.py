"""The gait clock (learner/gait_clock.py): phases of known contact patterns, the contact schedule's duty and
footfalls, reference starts in step with the dog's feet, and the task's clock observation and reward."""

import numpy as np
import pytest

from learner.gait_clock import desired_contact, profile_at_phase, reference_phase

FPS = 50.0


def test_reference_phase_of_a_known_contact_pattern():
    """A wrapping one-second stride with FL down from frame 10 to 39: phase 0 at 0.2 s, 0.5 at 0.7 s, and
    across the wrap 0.9 at 0.1 s; a clamp clip is undefined before its first touchdown and after its last."""
    contact = np.zeros(50, dtype=bool)
    contact[10:40] = True
    phase, period = reference_phase(contact, FPS, True, np.array([0.2, 0.7, 0.1, 1.2]))
    np.testing.assert_allclose(phase, [0.0, 0.5, 0.9, 0.0], atol=1e-12)
    np.testing.assert_allclose(period, 1.0)
    two = np.concatenate([contact, contact, contact[:20]])      # touchdowns at 0.2 s and 1.2 s, then 2.2 s
    phase, period = reference_phase(two, FPS, False, np.array([0.1, 0.2, 0.95, 1.7, 2.3]))
    np.testing.assert_allclose(phase[1:4], [0.0, 0.75, 0.5], atol=1e-12)
    np.testing.assert_allclose(period[1:4], 1.0)
    assert np.isnan(phase[0]) and np.isnan(phase[4])         # nothing before the first, no next after the last
    assert np.isnan(reference_phase(np.ones(50, dtype=bool), FPS, True, np.array([0.3]))[0]).all()


def test_desired_contact_holds_each_foot_down_for_its_duty():
    """Over a cycle each foot's schedule averages to its duty; it is ~1 in mid-stance, ~0 in mid-swing, and
    crosses 0.5 at the foot's touchdown (its offset) and lift-off (offset + duty)."""
    duty = np.array([0.6, 0.55, 0.4, 0.35])
    offset = np.array([0.0, 0.5, 0.75, 0.25])
    phase = (np.arange(20000) + 0.5) / 20000
    d = desired_contact(phase, np.tile(duty, (len(phase), 1)), np.tile(offset, (len(phase), 1)))
    np.testing.assert_allclose(d.mean(axis=0), duty, atol=1e-3)
    mid_stance = (offset + duty / 2) % 1
    mid_swing = (offset + duty + (1 - duty) / 2) % 1
    for f in range(4):
        at = lambda p: desired_contact(np.array([p]), duty[None], offset[None])[0, f]   # noqa: E731
        assert at(mid_stance[f]) > 0.97 and at(mid_swing[f]) < 0.03
        assert at(offset[f]) == pytest.approx(0.5, abs=0.01)
        assert at((offset[f] + duty[f]) % 1) == pytest.approx(0.5, abs=0.01)


def test_profile_at_phase_interpolates_the_profile():
    """A smooth profile sampled at the bin centres comes back at the centres exactly and in between to the
    linear interpolation's error, across the wrap too; numpy and torch alike."""
    bins = 50
    centres = (np.arange(bins) + 0.5) / bins
    shift = np.array([0.0, 0.5, 0.25, 0.75])
    truth = lambda p: 0.05 + 0.02 * np.sin(2 * np.pi * (p[:, None] - shift))     # noqa: E731
    profile = np.tile(truth(centres).T[None], (3, 1, 1))                        # (envs, 4, bins)
    phase = np.array([centres[7], 0.003, 0.999])
    np.testing.assert_allclose(profile_at_phase(phase[:1], profile[:1]), truth(phase[:1]), atol=1e-12)
    h = profile_at_phase(phase, profile)
    np.testing.assert_allclose(h, truth(phase), atol=0.02 * (2 * np.pi / bins) ** 2 / 8 + 1e-9)
    torch = pytest.importorskip("torch")
    ht = profile_at_phase(torch.as_tensor(phase), torch.as_tensor(profile))
    np.testing.assert_allclose(ht.numpy(), h, atol=1e-12)


@pytest.fixture(scope="module")
def banks(walk_trot_cycle_banks):
    return walk_trot_cycle_banks


def test_reference_starts_take_the_reference_s_phase(banks):
    """Starts from bank frames get the frame's own phase: the schedule then says which feet are down as the
    bank's contacts do (a uniform phase agrees about half the time)."""
    from amp_data.expert.sampler import ExpertSampler
    from learner.gait_clock import GaitClocks
    ex = ExpertSampler(banks, policy_dt_s=0.02, seed=0)
    clocks = GaitClocks(ex)
    rng = np.random.default_rng(0)
    ref = ex.reference_states(2000, rng)
    gait = np.array([ex.clips[c].bank_index for c in ref["clip"]])
    frames = [ex.clips[c].clip.start + min(int(t * ex.fps), ex.clips[c].num_frames - 1)
              for c, t in zip(ref["clip"], ref["time_s"])]
    contact = np.array([ex.banks[b]["contacts"][f] for b, f in zip(gait, frames)])
    agree = {}
    for name, phase in (("reference", clocks.start_phase(gait, ref["clip"], ref["time_s"], rng)),
                        ("uniform", rng.random(len(gait)))):
        schedule = desired_contact(phase, clocks.duty[gait], clocks.offset[gait]) > 0.5
        agree[name] = (schedule == contact).mean(axis=0)
    assert agree["reference"].min() > 0.85, agree
    assert agree["uniform"].max() < 0.65, agree
    # a start of the other bank's clip, or a standing start, draws its phase
    other = 1 - gait
    assert not np.allclose(clocks.start_phase(other, ref["clip"], ref["time_s"], np.random.default_rng(1)),
                           clocks.start_phase(other, ref["clip"], ref["time_s"], np.random.default_rng(2)))


def test_the_dog_s_foot_heights_rest_on_the_floor_in_stance_and_lift_in_swing(banks):
    """The banks' feet are planted at the floor (foot centre at the 22 mm foot radius) where the dog's toes
    touch it: the height profile sits there wherever the clock's schedule has a foot in stance, and lifts
    at least 5 mm somewhere in its swing."""
    from amp_data.expert.sampler import ExpertSampler
    from learner.gait_clock import PHASE_BINS, GaitClocks
    from robots.go2.model import FOOT_RADIUS_M
    clocks = GaitClocks(ExpertSampler(banks, policy_dt_s=0.02, seed=0))
    centres = (np.arange(PHASE_BINS) + 0.5) / PHASE_BINS
    for g in range(len(clocks.gaits)):
        schedule = desired_contact(centres, np.tile(clocks.duty[g], (PHASE_BINS, 1)),
                                   np.tile(clocks.offset[g], (PHASE_BINS, 1))).T     # (4, bins)
        height = clocks.foot_height_m[g]
        np.testing.assert_allclose(height[schedule > 0.95], FOOT_RADIUS_M, atol=0.003)
        for foot in range(4):
            assert height[foot][schedule[foot] < 0.05].max() > FOOT_RADIUS_M + 0.005, (g, foot)


def test_the_dog_s_mean_joint_angles_over_the_phase_explain_its_strides(banks):
    """GaitClocks.joint_pos_rad: the bank's joint angles per bin of FL's phase, averaged. Read back at each
    frame's own phase, the profile follows the frames' thigh and calf angles: it explains most of their
    variance about their means (the stride-to-stride spread is the rest)."""
    from amp_data.expert.sampler import ExpertSampler
    from learner.gait_clock import GaitClocks
    ex = ExpertSampler(banks, policy_dt_s=0.02, seed=0)
    clocks = GaitClocks(ex)
    assert clocks.joint_pos_rad.shape == (len(clocks.gaits), 12, clocks.foot_height_m.shape[-1])
    for g in range(len(clocks.gaits)):
        rows = [np.arange(c.first_row, c.first_row + c.num_frames) for c in ex.clips if c.bank_index == g]
        frames = np.concatenate([np.arange(c.clip.start, c.clip.stop) for c in ex.clips if c.bank_index == g])
        phase = clocks._frame_phase[np.concatenate(rows)]
        ok = np.isfinite(phase)
        q = np.asarray(ex.banks[g]["joint_pos"])[frames][ok]
        fit = profile_at_phase(phase[ok], np.repeat(clocks.joint_pos_rad[g][None], ok.sum(), axis=0))
        for j in (1, 2, 4, 5, 7, 8, 10, 11):                        # thighs and calves
            explained = 1 - ((q[:, j] - fit[:, j]) ** 2).mean() / q[:, j].var()
            assert explained > 0.9, (g, j, explained)


def test_reference_feedforward_drives_the_legs_through_the_dog_s_stride(banks):
    """env.reference_feedforward: zero actions give the dog's mean joint angles at the clock's phase as
    targets (within the soft limits); played from standing with zero actions, the thighs swing at the
    clock's stride frequency, where the default pose's targets hold them still (std under 0.01 rad)."""
    pytest.importorskip("torch")
    pytest.importorskip("mujoco")
    from amp_data.motion.gait import leg_swing_freq_hz
    from learner import config as C
    from learner import train as T
    swing = {}
    for ff in (True, False):
        cfg = C.make_config("cpu", "sac")
        C.apply_overrides(cfg, ["env.num_envs=2", "sac.hidden=32,32", "amp.hidden=32,32", "env.gait_clock=true",
                                f"env.reference_feedforward={str(ff).lower()}", "randomization.enabled=false"])
        backend, task, _, _, _ = T.build(cfg, banks, seed=3)
        clocks = task.clocks
        walk_speed = float(clocks.speed_m_s[0])
        steps = 350
        q = []
        with task.evaluation_episodes(walk_speed, steps):
            task.reset()
            for _ in range(steps):
                task.step(np.zeros((2, 12)))
                q.append(backend.state().joint_pos[0].copy())
                if ff:
                    want = np.clip(profile_at_phase(task.clock_phase, clocks.joint_pos_rad[task.gait]),
                                   task.soft_limits[:, 0], task.soft_limits[:, 1])
                    np.testing.assert_allclose(task.joint_targets(np.zeros((2, 12))), want, atol=1e-12)
        backend.close()
        thighs = np.array(q[50:])[:, 1::3]
        swing[ff] = (leg_swing_freq_hz(np.array(q[50:]), 1 / task.dt_s, False), thighs.std(axis=0).min())
    assert swing[True][0] == pytest.approx(clocks.freq_hz[0], rel=0.15), swing
    assert swing[True][1] > 0.05 and swing[False][1] < 0.01, swing
    with pytest.raises(ValueError, match="env.reference_feedforward needs env.gait_clock"):
        C.validate(C.apply_overrides(C.make_config("cpu", "sac"), ["env.reference_feedforward=true"]))


def test_residual_limit_bounds_the_correction_to_the_dog_s_stride(banks):
    """env.residual_limit_rad: the action range becomes +- limit / action_scale on every joint, so the joint
    targets stay within the limit of the dog's angles at the clock's phase (and within the soft limits),
    and the actor's actions stay in that range; without the feedforward it is refused."""
    pytest.importorskip("torch")
    pytest.importorskip("mujoco")
    import torch
    from learner import config as C
    from learner import train as T
    cfg = C.make_config("cpu", "sac")
    C.apply_overrides(cfg, ["env.num_envs=3", "sac.hidden=32,32", "amp.hidden=32,32", "env.gait_clock=true",
                            "env.reference_feedforward=true", "env.residual_limit_rad=0.3"])
    backend, task, _, agent, _ = T.build(cfg, banks, seed=2)
    np.testing.assert_allclose(task.action_high, 0.3 / cfg.env.action_scale)
    np.testing.assert_allclose(task.action_low, -0.3 / cfg.env.action_scale)
    obs = task.reset()
    for big in (100.0, -100.0):
        profile = profile_at_phase(task.clock_phase, task.clocks.joint_pos_rad[task.gait])
        want = np.clip(profile + np.sign(big) * 0.3, task.soft_limits[:, 0], task.soft_limits[:, 1])
        np.testing.assert_allclose(task.joint_targets(np.full((3, 12), big)), want, atol=1e-12)
        assert np.abs(want - np.clip(profile, *task.soft_limits.T)).max() <= 0.3 + 1e-12
    # the actor squashes onto the same range: a = center + half * tanh(u)
    np.testing.assert_allclose(agent.actor.center.numpy(), 0.0, atol=1e-7)
    np.testing.assert_allclose(agent.actor.half_range.numpy(), 0.3 / cfg.env.action_scale, rtol=1e-6)
    with torch.no_grad():
        acts = np.concatenate([agent.act(obs) for _ in range(20)])
    assert np.abs(acts).max() <= 0.3 / cfg.env.action_scale + 1e-5
    backend.close()
    with pytest.raises(ValueError, match="needs env.reference_feedforward=true"):
        C.validate(C.apply_overrides(C.make_config("cpu", "sac"), ["env.residual_limit_rad=0.3"]))


def test_the_task_runs_the_clock_it_observes_and_pays(banks):
    """env.gait_clock: the observation ends with sin, cos of the phase, the phase advances by the stride
    frequency of the bank nearest the command, reward.gait_clock pays scale * dt * the share of feet whose
    contact matches the schedule, and Walk These Ways' terms pay swing feet free of force, stance feet still
    (and loaded) and swing feet at the dog's height (all recomputed here from the simulator's contacts, forces and foot
    velocities)."""
    pytest.importorskip("torch")
    pytest.importorskip("mujoco")
    from learner import config as C
    from learner import train as T
    cfg = C.make_config("cpu", "sac")
    C.apply_overrides(cfg, ["env.num_envs=4", "sac.hidden=32,32", "amp.hidden=32,32", "env.gait_clock=true",
                            "reward.gait_clock=50", "reward.gait_clock_swing_free=30",
                            "reward.gait_clock_stance_still=20", "reward.gait_clock_swing_height=10",
                            "reward.gait_clock_stance_loaded=40"])
    backend, task, _, _, _ = T.build(cfg, banks, seed=3)
    clocks = task.clocks
    assert task.obs_dim == 33
    obs = task.reset()
    np.testing.assert_allclose(obs[:, -2:], np.stack([np.sin(2 * np.pi * task.clock_phase),
                                                      np.cos(2 * np.pi * task.clock_phase)], 1), atol=1e-6)
    np.testing.assert_array_equal(task.gait, clocks.gait_for_command(task.command_vx))
    for command in clocks.speed_m_s:                        # each bank's speed runs its own clock
        task.set_command(float(command))
        assert (clocks.speed_m_s[task.gait] == command).all()
        before = task.clock_phase.copy()
        r = task.step(np.zeros((4, 12)))
        alive = ~(r.terminated | r.timed_out)
        np.testing.assert_allclose(((task.clock_phase - before) % 1.0)[alive],
                                   clocks.freq_hz[task.gait][alive] * task.dt_s)
        st = backend.state()
        contact = st.foot_contact
        schedule = desired_contact(task.clock_phase, clocks.duty[task.gait], clocks.offset[task.gait])
        match = (schedule * contact + (1 - schedule) * (1 - contact)).mean(axis=1)
        np.testing.assert_allclose(r.terms["gait_clock"][alive], (50 * task.dt_s * match)[alive], rtol=1e-9)
        swing_free = ((1 - schedule) * np.exp(-st.foot_force_n ** 2 / 100.0)).mean(axis=1)
        stance_still = (schedule * np.exp(-(st.foot_vel_w ** 2).sum(axis=2) / 0.25)).mean(axis=1)
        # neither saturates: some swing foot bears force, some stance foot moves
        assert (swing_free < (1 - schedule).mean(axis=1) - 1e-3)[alive].any()
        assert (stance_still < schedule.mean(axis=1) - 1e-3)[alive].any()
        np.testing.assert_allclose(r.terms["gait_clock_swing_free"][alive],
                                   (30 * task.dt_s * swing_free)[alive], rtol=1e-9)
        np.testing.assert_allclose(r.terms["gait_clock_stance_still"][alive],
                                   (20 * task.dt_s * stance_still)[alive], rtol=1e-9)
        stance_loaded = (schedule * (1 - np.exp(-st.foot_force_n ** 2 / 100.0))).mean(axis=1)
        np.testing.assert_allclose(r.terms["gait_clock_stance_loaded"][alive],
                                   (40 * task.dt_s * stance_loaded)[alive], rtol=1e-9)
        dog_height = profile_at_phase(task.clock_phase, clocks.foot_height_m[task.gait])
        swing_height = ((1 - schedule) * np.exp(-(st.foot_pos_w[:, :, 2] - dog_height) ** 2 / 0.001)).mean(axis=1)
        np.testing.assert_allclose(r.terms["gait_clock_swing_height"][alive],
                                   (10 * task.dt_s * swing_height)[alive], rtol=1e-9)
        np.testing.assert_allclose(r.next_obs[alive, -1], np.cos(2 * np.pi * task.clock_phase[alive]), atol=1e-6)
    backend.close()
    with pytest.raises(ValueError, match="reward.gait_clock needs env.gait_clock"):
        C.validate(C.apply_overrides(C.make_config("cpu", "sac"), ["reward.gait_clock=50"]))
    with pytest.raises(ValueError, match="reward.gait_clock_stance_still needs env.gait_clock"):
        C.validate(C.apply_overrides(C.make_config("cpu", "sac"), ["reward.gait_clock_stance_still=5"]))
    with pytest.raises(ValueError, match="reward.gait_clock_swing_free must be >= 0"):
        C.validate(C.apply_overrides(C.make_config("cpu", "sac"), ["env.gait_clock=true",
                                                                    "reward.gait_clock_swing_free=-5"]))


def test_kp_by_gait_gives_each_environment_its_clock_s_gain(banks):
    """env.kp_by_gait_nm_rad: after a reset each environment's kp is its gait's (the bank nearest its
    command), times domain randomisation's factor; a command change mid-episode switches it; the wrong
    number of gains, or no clock, is refused."""
    pytest.importorskip("torch")
    pytest.importorskip("mujoco")
    from learner import config as C
    from learner import train as T
    cfg = C.apply_overrides(C.make_config("cpu", "sac"), ["env.num_envs=16", "sac.hidden=32,32", "amp.hidden=32,32",
                                                          "env.gait_clock=true", "env.command_source=banks",
                                                          "env.kp_by_gait_nm_rad=20,40"])
    C.validate(cfg)
    backend, task, _, _, _ = T.build(cfg, banks, seed=5)
    task.reset()
    gains = np.array([20.0, 40.0])[np.asarray(task.gait)]
    factor = np.asarray(task.kp)[:, 0] / gains
    assert len(set(np.asarray(task.gait).tolist())) == 2, "both gaits drawn"
    lo, hi = cfg.randomization.pd_gain_factor
    assert ((factor >= lo) & (factor <= hi)).all() and factor.std() > 0
    for command, kp in ((task.clocks.speed_m_s[1], 40.0), (task.clocks.speed_m_s[0], 20.0)):
        task.set_command(float(command))
        np.testing.assert_allclose(np.asarray(task.kp)[:, 0], kp * factor)
    backend.close()
    three = C.apply_overrides(C.make_config("cpu", "sac"), ["env.num_envs=4", "env.gait_clock=true",
                                                           "env.kp_by_gait_nm_rad=20,30,40"])
    from amp_data.errors import InputError
    with pytest.raises(InputError, match="3 gains for 2 banks"):
        T.build(three, banks, seed=5)
    with pytest.raises(ValueError, match="kp_by_gait_nm_rad picks kp by the gait clock"):
        C.validate(C.apply_overrides(C.make_config("cpu", "sac"), ["env.kp_by_gait_nm_rad=20,40"]))
    with pytest.raises(ValueError, match="must be > 0"):
        C.validate(C.apply_overrides(C.make_config("cpu", "sac"), ["env.gait_clock=true",
                                                                    "env.kp_by_gait_nm_rad=20,0"]))


def test_kp_run_gives_the_running_gait_s_clock_its_gain_in_any_bank_order(banks):
    """env.kp_run_nm_rad: kp by Hildebrand's walk/run line, not by the banks' order. The trot's hind feet
    are down in less than half of its frames and the walk's in more (read off the banks' own contacts);
    walk.h5 trot.h5 gets what kp_by_gait 20,40 gives, trot.h5 walk.h5 the same gains swapped with the
    banks, a single walk bank kp_nm_rad alone; with kp_by_gait, or without a clock, it is refused."""
    pytest.importorskip("torch")
    pytest.importorskip("mujoco")
    import h5py
    from learner import config as C
    from learner import train as T
    hind_down = {}
    for path in banks:
        with h5py.File(path) as f:
            hind_down[path] = float(np.mean(np.asarray(f["contacts"])[:, 2:] > 0.5))
    walk, trot = banks
    assert hind_down[walk] > 0.5 > hind_down[trot]
    base = ["env.num_envs=4", "sac.hidden=32,32", "amp.hidden=32,32", "env.gait_clock=true",
            "env.command_source=banks"]

    def kp_of_gaits(bank_paths, extra):
        cfg = C.apply_overrides(C.make_config("cpu", "sac"), base + extra)
        C.validate(cfg)
        backend, task, _, _, _ = T.build(cfg, bank_paths, seed=5)
        kp = np.asarray(task._kp_gait_k, dtype=float)
        backend.close()
        return kp

    np.testing.assert_array_equal(kp_of_gaits([walk, trot], ["env.kp_run_nm_rad=40"]),
                                  kp_of_gaits([walk, trot], ["env.kp_by_gait_nm_rad=20,40"]))
    np.testing.assert_array_equal(kp_of_gaits([trot, walk], ["env.kp_run_nm_rad=40"]), [40.0, 20.0])
    np.testing.assert_array_equal(kp_of_gaits([walk], ["env.kp_run_nm_rad=40"]), [20.0])
    np.testing.assert_array_equal(kp_of_gaits([walk, trot], ["env.kp_run_nm_rad=40", "env.kp_nm_rad=25"]),
                                  [25.0, 40.0])
    with pytest.raises(ValueError, match="both set each gait's kp"):
        C.validate(C.apply_overrides(C.make_config("cpu", "sac"), base + ["env.kp_run_nm_rad=40",
                                                                           "env.kp_by_gait_nm_rad=20,40"]))
    with pytest.raises(ValueError, match="kp_run_nm_rad picks kp by the gait clock"):
        C.validate(C.apply_overrides(C.make_config("cpu", "sac"), ["env.kp_run_nm_rad=40"]))
    with pytest.raises(ValueError, match="must be >= 0"):
        C.validate(C.apply_overrides(C.make_config("cpu", "sac"), base + ["env.kp_run_nm_rad=-1"]))


def test_swing_height_run_only_pays_the_trot_s_feet_and_not_the_walk_s(banks):
    """reward.gait_clock_swing_height_run_only: the term (recomputed from the simulator's feet) is paid in the
    environments whose clock runs the trot, in either bank order, and is 0 in the walk's, where without the
    switch it pays; a walk bank alone, or the switch without the term, is refused."""
    pytest.importorskip("torch")
    pytest.importorskip("mujoco")
    from amp_data.errors import InputError
    from learner import config as C
    from learner import train as T
    base = ["env.num_envs=16", "sac.hidden=32,32", "amp.hidden=32,32", "env.gait_clock=true",
            "env.command_source=banks", "reward.gait_clock_swing_height=10"]
    walk, trot = banks

    def swing_height_terms(bank_paths, extra):
        cfg = C.apply_overrides(C.make_config("cpu", "sac"), base + extra)
        C.validate(cfg)
        backend, task, _, _, _ = T.build(cfg, bank_paths, seed=5)
        task.reset()
        r = task.step(np.zeros((16, 12)))
        st = backend.state()
        g = np.asarray(task.gait)
        schedule = desired_contact(task.clock_phase, task.clocks.duty[g], task.clocks.offset[g])
        dog_height = profile_at_phase(task.clock_phase, task.clocks.foot_height_m[g])
        paid = 10 * task.dt_s * ((1 - schedule) * np.exp(-(st.foot_pos_w[:, :, 2] - dog_height) ** 2 / 0.001)
                                 ).mean(axis=1)
        running = np.array([c.is_run for c in task.clocks.gaits])[g]
        alive = ~(r.terminated | r.timed_out)
        backend.close()
        return r.terms["gait_clock_swing_height"][alive], paid[alive], running[alive]

    for order in ([walk, trot], [trot, walk]):
        term, paid, running = swing_height_terms(order, ["reward.gait_clock_swing_height_run_only=true"])
        assert running.any() and (~running).any(), "both gaits drawn"
        np.testing.assert_allclose(term[running], paid[running], rtol=1e-9)
        assert (paid[running] > 0).any()
        np.testing.assert_array_equal(term[~running], 0.0)
    term, paid, running = swing_height_terms([walk, trot], [])
    np.testing.assert_allclose(term, paid, rtol=1e-9)
    assert (term[~running] > 0).any(), "without the switch the walk's swing feet are paid"
    with pytest.raises(InputError, match="no bank .* holds one"):
        swing_height_terms([walk], ["reward.gait_clock_swing_height_run_only=true"])
    with pytest.raises(ValueError, match="but that term is off"):
        C.validate(C.apply_overrides(C.make_config("cpu", "sac"), ["env.gait_clock=true",
                                                                    "reward.gait_clock_swing_height_run_only=true"]))


def test_a_bank_without_a_stride_is_refused_by_name(banks):
    """A bank whose feet never lift has no schedule to run: one error naming the file."""
    from amp_data.errors import InputError
    from amp_data.format.bank import read_bank
    from learner.gait_clock import gaits_of_banks
    bank = read_bank(banks[0])
    bank.data = dict(bank.data, contacts=np.ones_like(bank.data["contacts"]))
    with pytest.raises(InputError, match="no complete stride"):
        gaits_of_banks([bank])
    assert str(banks[0]) in str(pytest.raises(InputError, gaits_of_banks, [bank]).value)
