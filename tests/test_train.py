"""The learner end to end on tiny sizes: task invariants, a CLI smoke run (a few hundred env steps),
checkpoints and --resume, the NaN stop, and clear errors on bad banks and options."""

import csv
import json

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the learner needs PyTorch (pip install 'amp-data[learn]')")
pytest.importorskip("mujoco", reason="the learner's default backend needs mujoco")

from typer.testing import CliRunner  # noqa: E402

import cli  # noqa: E402
from learner import config as C  # noqa: E402
from learner import train as T  # noqa: E402
from learner.run_folder import load_checkpoint  # noqa: E402
from learner.task import amp_obs_of_state  # noqa: E402

runner = CliRunner()

TINY = ["env.num_envs=4", "sac.batch_size=64", "sac.warmup_steps=5", "sac.hidden=32,32", "amp.hidden=32,32",
        "amp.batch_size=64", "ppo.hidden=32,32", "ppo.steps_per_env=8", "log_every_s=0",
        "checkpoint_every_min=100", "sac.replay_size=20000", "amp.replay_size=20000", "amp.history_size=20000"]


@pytest.fixture(scope="module")
def banks(walk_trot_cycle_banks):
    return walk_trot_cycle_banks


def tiny_cfg(algo="sac", steps=256):
    cfg = C.make_config("cpu", algo)
    C.apply_overrides(cfg, TINY)
    cfg.max_env_steps, cfg.minutes = steps, 0.0
    return cfg


# ---------------------------------------------------------------------------------- the task

def test_reference_state_init_reproduces_the_bank_amp_observation(banks):
    """A reset to a bank frame gives back that frame's AMP observation (the same function on both sides);
    only the base height may be lifted, and only so that no foot starts inside the floor."""
    cfg = tiny_cfg()
    cfg.randomization.enabled = False
    cfg.env.rsi_fraction = 1.0
    backend, task, expert, _, rng = T.build(cfg, banks, seed=3)
    state = rng.bit_generator.state
    task.reset()
    rng.bit_generator.state = state            # the same draws again, to compare
    rng.random(4)                              # reset's draw per env against rsi_fraction (1.0: all from the bank)
    ref = expert.reference_states(4, rng)
    sim = amp_obs_of_state(backend.state())
    bank = expert.amp_obs_at(ref["clip"], ref["time_s"])
    feet = slice(12, 24)   # the bank interpolates foot positions linearly between frames, the sim takes FK
    np.testing.assert_allclose(np.delete(sim[:, :42], np.r_[feet], axis=1),
                               np.delete(bank[:, :42], np.r_[feet], axis=1), atol=1e-6)
    np.testing.assert_allclose(sim[:, feet], bank[:, feet], atol=5e-3)
    lift = sim[:, 42] - bank[:, 42]
    assert np.all(lift >= -1e-9) and np.all(lift < 0.05)
    backend.close()


def test_a_share_of_resets_start_standing(banks):
    cfg = tiny_cfg()
    cfg.env.num_envs, cfg.env.rsi_fraction = 64, 0.75
    backend, task, _, _, _ = T.build(cfg, banks, seed=0)
    task.reset()
    st = backend.state()
    standing = np.all(np.abs(st.joint_pos - task.default_pose) < 1e-9, axis=1)
    assert np.all(np.abs(st.base_lin_vel_w[standing]) < 1e-9)
    assert 4 <= standing.sum() <= 30          # 16 expected of 64
    # standing starts rest on the floor: lowest foot sphere 2 mm above it
    foot_z = st.foot_pos_w[standing, :, 2].min(axis=1)
    np.testing.assert_allclose(foot_z, 0.022 + 0.002, atol=1e-6)
    backend.close()


@pytest.mark.parametrize("k,stride", [(2, 1), (3, 2)])
def test_amp_window_holds_the_last_steps_of_the_episode(banks, k, stride):
    """The discriminator's window is the AMP observations the task produced every `stride` steps, ending at s';
    before the episode's start it is the reference's own past (RSI) or the first state repeated (standing)."""
    cfg = tiny_cfg()
    cfg.amp.window_frames, cfg.amp.frame_stride = k, stride
    cfg.env.num_envs, cfg.env.rsi_fraction = 8, 0.5
    cfg.randomization.enabled = False
    backend, task, expert, _, rng = T.build(cfg, banks, seed=4)
    state = rng.bit_generator.state
    task.reset()
    first = task.amp_window().reshape(8, k, 43)
    rng.bit_generator.state = state
    rsi = rng.random(8) < 0.5
    ref = expert.reference_states(int(rsi.sum()), rng)
    hist = expert.amp_history_at(ref["clip"], ref["time_s"], (k - 1) * stride + 1)[:, ::stride]
    np.testing.assert_allclose(first[rsi, :-1], hist[:, :-1], atol=1e-9)
    np.testing.assert_allclose(first[~rsi], np.repeat(first[~rsi, -1:], k, axis=1), atol=0)
    seen = [first[:, -1]]
    for step in range(6):
        res = task.step(np.zeros((8, 12)))
        seen.append(res.next_amp_obs)
        assert not (res.terminated | res.timed_out).any()
        w = res.amp_window.reshape(8, k, 43)
        np.testing.assert_array_equal(w[:, -1], res.next_amp_obs)
        for j in range(k - 1):
            back = len(seen) - 1 - (k - 1 - j) * stride
            if back >= 0:
                np.testing.assert_array_equal(w[:, j], seen[back])
        if k == 2:
            np.testing.assert_array_equal(res.amp_window, np.concatenate([res.amp_obs, res.next_amp_obs], 1))
    backend.close()


def test_bank_commands_are_reference_speeds(banks):
    """command_source banks: each bank's clips half the time, each command within the jitter of a clip's speed."""
    cfg = tiny_cfg()
    cfg.env.command_source, cfg.env.command_bank_jitter = "banks", 0.1
    backend, task, expert, _, _ = T.build(cfg, banks, seed=0)
    speeds = expert.clip_forward_speed_m_s()
    bank_of = np.array([c.bank_index for c in expert.clips])
    cmd, bank = task.sample_commands(20000)
    ratio = cmd[:, None] / speeds[None, :]
    nearest = np.argmin(np.abs(np.log(ratio)), axis=1)
    assert np.all(np.abs(ratio[np.arange(len(cmd)), nearest] - 1) <= 0.1 + 1e-12)
    np.testing.assert_array_equal(bank, bank_of[nearest])    # the bank returned is the drawn clip's
    share_walk = np.mean(bank_of[nearest] == 0)
    assert abs(share_walk - 0.5) < 0.02                     # one walk clip, one trot clip: each bank half
    cfg.env.command_source = "range"
    cmd, bank = task.sample_commands(1000)
    assert cmd.min() >= 0.4 and cmd.max() <= 1.0 and bank is None
    backend.close()


def test_timeouts_and_terminations_are_distinct(banks):
    cfg = tiny_cfg()
    cfg.env.episode_length_s = 0.1          # 5 policy steps
    backend, task, _, _, _ = T.build(cfg, banks, seed=0)
    task.reset()
    seen_timeout = False
    for i in range(12):
        res = task.step(np.zeros((4, 12)))
        assert not np.any(res.terminated & res.timed_out)
        if res.timed_out.any():
            seen_timeout = True
            # a time-out's bootstrap observation is the state reached, not the reset state
            k = np.flatnonzero(res.timed_out)[0]
            assert not np.allclose(res.next_obs[k], res.obs[k])
    assert seen_timeout
    # a robot put upside down fails at once
    q = np.zeros((4, 19)); q[:, 2] = 0.3; q[:, 3] = 1.0; q[:, 7:] = task.default_pose
    backend.reset(np.arange(4), q, np.zeros((4, 18)))
    res = task.step(np.zeros((4, 12)))
    assert res.terminated.all() and not res.timed_out.any()
    backend.close()


# ---------------------------------------------------------------------------------- CLI runs

@pytest.mark.slow
@pytest.mark.parametrize("algo", ["sac", "ppo"])
def test_cli_smoke_run_writes_a_complete_run_folder(banks, tmp_path, algo):
    out = tmp_path / algo
    args = ["train", *banks, "--algo", algo, "--steps", "320", "--out", str(out), "--seed", "2"]
    for s in [*TINY, "amp.history_size=64"]:   # the negatives' reservoir fills and wraps in the run
        args += ["--set", s]
    r = runner.invoke(cli.app, args)
    assert r.exit_code == 0, r.output
    assert "done:" in r.output and "eval @" in r.output
    cfg = C.from_dict(json.loads((out / "config.json").read_text()))
    assert cfg.algo == algo and cfg.env.num_envs == 4 and cfg.sac.hidden == (32, 32) and cfg.amp.history_size == 64
    rows = list(csv.DictReader(open(out / "metrics.csv")))
    assert rows and int(rows[-1]["env_steps"]) >= 320
    # eq. 6 holds for the logged window means (the mix is linear): reward = w_task r_task + w_amp coef r_AMP,
    # with the logged values' 6 significant digits
    for row in rows:
        task, style, total = (float(row[k]) for k in ("task_reward", "style_reward", "reward"))
        mixed = cfg.reward.w_task * task + cfg.reward.w_amp * cfg.reward.amp_reward_coef * style
        assert total == pytest.approx(mixed, rel=1e-4, abs=1e-5)
    ckpt = load_checkpoint(out / "checkpoint.pt")
    assert ckpt["algo"] == algo and ckpt["env_steps"] >= 320
    summary = json.loads((out / "summary.json").read_text())
    assert summary["final_eval"]["episodes"] == 16
    assert (out / "tb").is_dir()


@pytest.mark.slow
def test_resume_continues_counters_networks_and_rng(banks, tmp_path):
    out = tmp_path / "run"
    first = T.train(banks, tiny_cfg(steps=256), out, say=lambda m: None)
    ckpt = load_checkpoint(out / "checkpoint.pt")
    assert ckpt["env_steps"] == first["env_steps"]
    # what --resume loads is what was saved: networks, optimiser, normalisers, temperature, RNG
    cfg = C.from_dict(ckpt["config"])
    _, task, expert, agent, _ = T.build(cfg, banks, seed=cfg.seed)
    agent.load_state_dict(ckpt["agent"])
    T._set_rng_state(task, expert, ckpt["rng"])
    for k, v in ckpt["agent"]["actor"].items():
        assert torch.equal(agent.actor.state_dict()[k], v)
    assert agent.log_alpha.item() == pytest.approx(ckpt["agent"]["log_alpha"].item())
    assert agent.obs_norm.count.item() == ckpt["agent"]["obs_norm"]["count"].item() > 0
    assert task.rng.bit_generator.state == ckpt["rng"]["task"]
    assert agent.critic_opt.state_dict()["state"][0]["step"] == ckpt["agent"]["critic_opt"]["state"][0]["step"]

    # the CLI continues the same run to more steps instead of restarting it
    r = runner.invoke(cli.app, ["train", "--resume", "--out", str(out), "--steps", "512"])
    assert r.exit_code == 0, r.output
    assert "resuming" in r.output
    again = load_checkpoint(out / "checkpoint.pt")
    assert again["env_steps"] >= 512 and again["updates"] > ckpt["updates"]
    steps = [int(r["env_steps"]) for r in csv.DictReader(open(out / "metrics.csv"))]
    assert steps == sorted(steps) and steps[-1] >= 512


@pytest.mark.slow
def test_a_step_budget_reproduces_the_run_bit_for_bit(banks, tmp_path):
    """Same seed and step budget: the same weights, whatever the wall clock does (here: logging and
    checkpoint-evaluation intervals that differ, as a slower machine's would); another seed differs."""
    def run(name, seed, log_every_s, checkpoint_every_min, eval_every_steps=0):
        cfg = tiny_cfg(steps=256)
        cfg.seed, cfg.log_every_s, cfg.checkpoint_every_min = seed, log_every_s, checkpoint_every_min
        cfg.eval_every_steps = eval_every_steps
        T.train(banks, cfg, tmp_path / name, say=lambda m: None, eval_seconds=0.5)
        return load_checkpoint(tmp_path / name / "checkpoint.pt")["agent"]

    a = run("a", 3, 0.0, 100.0)
    b = run("b", 3, 1000.0, 0.003)   # no log rows in between, checkpoints and evaluations every 0.2 s
    c = run("c", 4, 0.0, 100.0)
    d = run("d", 3, 0.0, 100.0, eval_every_steps=64)   # evaluations on a grid of steps
    # 4 envs: the start, every 64 steps, and the end (256 is the budget: evaluated once, by the final checkpoint)
    assert [int(r["env_steps"]) for r in csv.DictReader(open(tmp_path / "d" / "eval.csv"))] == [0, 64, 128, 192, 256]
    for k, v in a["actor"].items():
        assert torch.equal(v, d["actor"][k]), f"actor.{k}: evaluations on a step grid changed the run"
    # --resume keeps the run's grid (the call's own config leaves eval_every_steps at 0)
    T.train(banks, tiny_cfg(steps=384), tmp_path / "d", resume=True, say=lambda m: None, eval_seconds=0.5)
    assert [int(r["env_steps"]) for r in csv.DictReader(open(tmp_path / "d" / "eval.csv"))][-2:] == [320, 384]
    for net in ("actor", "q1", "disc"):
        for k, v in a[net].items():
            assert torch.equal(v, b[net][k]), f"{net}.{k} differs between two runs of seed 3"
    assert not torch.equal(a["actor"]["mean_head.weight"], c["actor"]["mean_head.weight"])


@pytest.mark.slow
def test_non_finite_loss_stops_and_keeps_the_last_good_checkpoint(banks, tmp_path, monkeypatch):
    out = tmp_path / "run"
    T.train(banks, tiny_cfg(steps=192), out, say=lambda m: None)
    good = (out / "checkpoint.pt").read_bytes()
    from learner.sac import AmpSac
    monkeypatch.setattr(AmpSac, "update", lambda self: {"critic_loss": float("nan"), "alpha": 0.1})
    cfg = tiny_cfg(steps=512)
    with pytest.raises(T.TrainingStopped, match="non-finite critic_loss.*last good checkpoint"):
        T.train(banks, cfg, out, resume=True, say=lambda m: None)
    assert (out / "checkpoint.pt").read_bytes() == good


@pytest.mark.slow
def test_existing_run_needs_resume(banks, tmp_path):
    out = tmp_path / "run"
    T.train(banks, tiny_cfg(steps=64), out, say=lambda m: None)
    r = runner.invoke(cli.app, ["train", *banks, "--steps", "64", "--out", str(out)])
    assert r.exit_code == 2 and "--resume" in r.output


# ---------------------------------------------------------------------------------- bad input

def test_banks_that_disagree_fail_before_training(banks, tmp_path):
    from amp_data.format.bank import read_bank, write_bank
    b = read_bank(banks[0])
    b.attrs["fps"] = 60.0
    odd = write_bank(tmp_path / "odd.h5", b)
    out = tmp_path / "run"
    r = runner.invoke(cli.app, ["train", banks[1], str(odd), "--steps", "64", "--out", str(out)])
    assert r.exit_code == 2
    assert "fps" in r.output and len(r.output.strip().splitlines()) == 1
    assert not out.exists()


@pytest.mark.parametrize("args, message", [
    (["--set", "sac.nope=1"], "no such field"),
    (["--set", "sac.batch_size=big"], "not a valid int"),
    (["--algo", "td3"], "unknown algo"),
    (["--preset", "gpu"], "unknown preset"),
    (["--set", "eval_every_steps=-5"], "eval_every_steps must be a whole number >= 0"),
    (["--set", "sac.exploration_tau_s=-1"], "sac.exploration_tau_s must be >= 0 s"),
    (["--algo", "ppo", "--set", "sac.exploration_tau_s=0.1"], "is for AMP+SAC"),
])
def test_bad_options_give_one_line(banks, tmp_path, args, message):
    r = runner.invoke(cli.app, ["train", *banks, "--steps", "64", "--out", str(tmp_path / "r"), *args])
    assert r.exit_code == 2 and message in r.output
    assert not (tmp_path / "r").exists()


def test_show_config_prints_paper_values():
    r = runner.invoke(cli.app, ["train", "x.h5", "--preset", "paper", "--show-config"])
    assert r.exit_code == 0
    for line in ("sac.batch_size = 16384", "sac.updates_per_step = 8", "sac.n_step = 3", "sac.tau = 0.05",
                 "reward.w_amp = 0.6", "amp.hidden = (1024, 512)", "env.num_envs = 4096"):
        assert line in r.output


@pytest.mark.parametrize("algo, preset", [("sac", "cpu-dog"), ("ppo", "cpu")])
def test_train_without_preset_runs_the_algos_default(algo, preset):
    """AMP+SAC's default is the gait-clock preset (the issue's gait targets); AMP+PPO has no cpu-dog runs."""
    r = runner.invoke(cli.app, ["train", "x.h5", "--algo", algo, "--show-config"])
    assert r.exit_code == 0
    assert f"preset = {preset}" in r.output
    explicit = runner.invoke(cli.app, ["train", "x.h5", "--algo", algo, "--preset", preset, "--show-config"])
    assert explicit.output == r.output
    gait_clock = "env.gait_clock = True" in r.output
    assert gait_clock == (algo == "sac") == C.make_config(preset, algo).env.gait_clock


# ---------------------------------------------------------------------------------- warm starts

def _weights(state: dict, net: str) -> dict:
    return {k: v.clone() for k, v in state[net].items()}


@pytest.mark.slow
def test_init_from_starts_a_new_run_with_the_chosen_parts(banks, tmp_path):
    """A run warm-started from another holds, before its first update, exactly the source's actor and
    normaliser and not its critics; with all parts, the critics and discriminator too. Its counters start
    at 0, and its config names the source checkpoint."""
    source = tmp_path / "flat"
    T.train(banks, tiny_cfg(steps=256), source, say=lambda m: None)
    src = load_checkpoint(source / "checkpoint.pt")["agent"]

    def warm(name, parts):
        args = ["train", *banks, "--preset", "cpu", "--steps", "32", "--out", str(tmp_path / name),
                "--init-from", str(source), "--init-parts", parts, "--seed", "9"]
        for s in [*TINY, "sac.warmup_steps=1000"]:          # no update: the weights stay as loaded
            args += ["--set", s]
        r = runner.invoke(cli.app, args)
        assert r.exit_code == 0, r.output
        shown = "actor, norm, critics, disc, alpha" if parts == "all" else parts.replace(",", ", ")
        assert "warm start: " + shown in r.output
        return load_checkpoint(tmp_path / name / "checkpoint.pt")

    ckpt = warm("actor", "actor,norm")
    assert ckpt["env_steps"] == 32 and ckpt["updates"] == 0
    for k, v in src["actor"].items():
        assert torch.equal(ckpt["agent"]["actor"][k], v), k
    # the normaliser keeps counting from the source's statistics
    assert ckpt["agent"]["obs_norm"]["count"].item() > src["obs_norm"]["count"].item()
    assert not torch.equal(ckpt["agent"]["q1"]["net.0.weight"], src["q1"]["net.0.weight"])
    assert not torch.equal(ckpt["agent"]["disc"]["head.weight"], src["disc"]["head.weight"])
    cfg = json.loads((tmp_path / "actor" / "config.json").read_text())
    assert cfg["init_from"] == str((source / "checkpoint.pt").resolve()) and cfg["init_parts"] == ["actor", "norm"]

    ckpt = warm("all", "all")
    for net in ("actor", "q1", "q2", "q1_target", "disc"):
        for k, v in src[net].items():
            if not k.startswith("normalizer"):          # the discriminator's normaliser kept counting
                assert torch.equal(ckpt["agent"][net][k], v), f"{net}.{k}"
    assert ckpt["agent"]["log_alpha"].item() == pytest.approx(src["log_alpha"].item())


@pytest.mark.slow
@pytest.mark.parametrize("extra,message", [
    (["--set", "sac.hidden=16,16"], "actor.trunk.0.weight has shape (32, "),
    (["--set", "amp.window_frames=3", "--init-parts", "disc"], "disc.trunk.0.weight has shape"),
    (["--algo", "ppo"], "an AMP+SAC checkpoint cannot start an AMP+PPO run"),
    # the shapes fit (the gait clock's two inputs are bridged like the terrain's), the actions do not
    (["--preset", "cpu-dog"], "its actions mean something else (env.reference_feedforward = False"),
    (["--init-parts", "actor,brain"], "unknown part(s) brain"),
    (["--resume"], "give one of them"),
])
def test_init_from_refuses_what_does_not_fit_in_one_line(banks, tmp_path, extra, message):
    source = tmp_path / "flat"
    T.train(banks, tiny_cfg(steps=64), source, say=lambda m: None)
    out = tmp_path / "warm"
    args = ["train", *banks, "--preset", "cpu", "--steps", "32", "--out", str(out), "--init-from", str(source)]
    for s in TINY:
        args += ["--set", s]
    r = runner.invoke(cli.app, args + extra)
    assert r.exit_code == 2, r.output
    errors = [ln for ln in r.output.splitlines() if "error" in ln]
    assert len(errors) == 1 and message in errors[0], r.output
    assert not out.exists() or not any(out.iterdir())


def test_init_from_a_missing_source_fails_before_training(banks, tmp_path):
    r = runner.invoke(cli.app, ["train", *banks, "--out", str(tmp_path / "w"), "--init-from",
                                str(tmp_path / "nope")])
    assert r.exit_code == 2 and "no such run folder or checkpoint file" in r.output
    assert not (tmp_path / "w").exists()


# ---------------------------------------------------------------------------------- other backends

@pytest.mark.skipif(__import__("importlib").util.find_spec("mujoco_warp") is None,
                    reason="mujoco-warp is not installed (pip install '.[gpu]')")
def test_the_task_on_warp_matches_the_task_on_cpu_mujoco(banks):
    """The same seed, resets (bank frames, Table IV randomisation) and actions give the same observations,
    AMP observations and rewards on MuJoCo Warp (float32) as on CPU MuJoCo, step after step."""
    runs = {}
    for name in ("mujoco", "warp"):
        cfg = tiny_cfg()
        cfg.env.backend, cfg.env.sim_device = name, "cpu"
        backend, task, _, _, _ = T.build(cfg, banks, seed=5)
        actions = np.random.default_rng(0).uniform(-0.5, 0.5, (12, 4, 12))
        obs, amp, reward = [task.reset()], [], []
        for a in actions:
            r = task.step(a)
            obs.append(r.next_obs), amp.append(r.next_amp_obs), reward.append(r.task_reward)
        runs[name] = [np.array(x) for x in (obs, amp, reward)]
        backend.close()
    for cpu, warp in zip(runs["mujoco"], runs["warp"]):
        np.testing.assert_allclose(warp, cpu, atol=2e-3)


@pytest.mark.skipif(__import__("importlib").util.find_spec("mujoco_warp") is None,
                    reason="mujoco-warp is not installed (pip install '.[gpu]')")
@pytest.mark.parametrize("extra", [[], ["env.action_filter_hz=3", "reward.feet_air_time=1.0"],
                                   ["env.gait_clock=true", "reward.gait_clock=50",
                                    "reward.gait_clock_swing_free=30", "reward.gait_clock_stance_still=20",
                                    "reward.gait_clock_swing_height=10", "reward.gait_clock_gate_by_tracking=true",
                                    "env.reference_feedforward=true", "env.observe_last_action=true",
                                    "reward.action_rate=-2.4", "reward.gait_clock_stance_loaded=40",
                                    "reward.tracking_relative_above_m_s=0.5"]])
def test_the_task_on_device_tensors_matches_the_task_on_host_arrays(banks, extra):
    """env.sim_arrays=torch: the Warp backend's state stays in torch tensors and the task computes on them
    (here on Warp's CPU device). The same seed, resets and actions give the numpy path's observations, AMP
    windows, rewards, terms and episode ends. The difference is float32 arithmetic: the joint targets are
    rounded to float32 before the simulator on one path, after it on the other, and contacts amplify that
    over 24 steps to about 1e-3 in joint velocities (the tolerance of the Warp-against-CPU test too)."""
    runs = {}
    for arrays in ("numpy", "torch"):
        cfg = tiny_cfg()
        C.apply_overrides(cfg, ["env.backend=warp", "env.sim_device=cpu", f"env.sim_arrays={arrays}",
                                "env.episode_length_s=0.2", *extra])   # time-outs every 10 steps: resets inside
        backend, task, _, _, _ = T.build(cfg, banks, seed=5)
        assert task.kind.is_numpy == (arrays == "numpy")
        actions = np.random.default_rng(0).uniform(-0.5, 0.5, (24, 4, 12))
        out = {"obs": [task.reset()]}
        for a in actions:
            r = task.step(a if arrays == "numpy" else torch.as_tensor(a, dtype=torch.float32))
            for name in ("obs", "next_obs", "amp_window", "task_reward", "terminated", "timed_out", "forward_vel_m_s"):
                out.setdefault(name, []).append(getattr(r, name))
            for name, v in r.terms.items():
                out.setdefault(f"term {name}", []).append(v)
        if arrays == "torch":
            assert isinstance(r.obs, torch.Tensor) and isinstance(r.amp_window, torch.Tensor)
            out = {k: [x.numpy() for x in v] for k, v in out.items()}
        runs[arrays] = {k: np.array(v, dtype=float) for k, v in out.items()}
        backend.close()
    ended = runs["numpy"]["timed_out"] + runs["numpy"]["terminated"]
    assert ended.sum() >= 8                 # every env ended twice (time-outs or, with the feedforward, a fall):
    #                                         resets were compared
    assert runs["numpy"].keys() == runs["torch"].keys()
    for name, host in runs["numpy"].items():
        np.testing.assert_allclose(runs["torch"][name], host, atol=2e-3, rtol=1e-3, err_msg=name)


@pytest.mark.slow
@pytest.mark.skipif(__import__("importlib").util.find_spec("mujoco_warp") is None,
                    reason="mujoco-warp is not installed (pip install '.[gpu]')")
def test_a_run_trained_on_warp_resumes_on_cpu_mujoco_and_plays_there(banks, tmp_path):
    out = tmp_path / "warp"
    tiny = [a for s in [*TINY, "env.sim_device=cpu"] for a in ("--set", s)]
    r = runner.invoke(cli.app, ["train", *banks, "--backend", "warp", "--steps", "96", "--out", str(out), *tiny])
    assert r.exit_code == 0, r.output
    assert "4 envs on warp" in r.output
    assert json.loads((out / "config.json").read_text())["env"]["backend"] == "warp"
    r = runner.invoke(cli.app, ["train", "--resume", "--out", str(out), "--steps", "160", "--set", "env.backend=mujoco"])
    assert r.exit_code == 0, r.output
    assert "4 envs on mujoco" in r.output and load_checkpoint(out / "checkpoint.pt")["env_steps"] >= 160
    r = runner.invoke(cli.app, ["play", str(out), "--seconds", "1", "-o", str(tmp_path / "rollout.h5")])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "rollout.h5").exists()


@pytest.mark.slow
@pytest.mark.skipif(__import__("importlib").util.find_spec("mujoco_warp") is None,
                    reason="mujoco-warp is not installed (pip install '.[gpu]')")
@pytest.mark.parametrize("algo", ["sac", "ppo"])
def test_a_run_on_device_tensors_trains_evaluates_and_resumes(banks, tmp_path, algo):
    """The whole loop with the task on tensors (Warp's CPU device standing in for a GPU): acting, storing,
    updates, logging and the evaluations take tensors; the run then resumes on CPU MuJoCo's numpy path."""
    out = tmp_path / algo
    tiny = [a for s in [*TINY, "env.sim_device=cpu", "env.sim_arrays=torch", "eval_every_steps=64"]
            for a in ("--set", s)]
    r = runner.invoke(cli.app, ["train", *banks, "--algo", algo, "--backend", "warp", "--steps", "128",
                                "--out", str(out), *tiny])
    assert r.exit_code == 0, r.output
    rows = list(csv.DictReader(open(out / "eval.csv")))
    assert len(rows) >= 2 and all(np.isfinite(float(x["forward_vel_m_s"])) for x in rows)
    r = runner.invoke(cli.app, ["train", "--resume", "--out", str(out), "--steps", "192", "--set", "env.backend=mujoco",
                                "--set", "env.sim_arrays=auto"])
    assert r.exit_code == 0, r.output
    assert load_checkpoint(out / "checkpoint.pt")["env_steps"] >= 192


def test_tensor_state_needs_the_warp_backend(banks, tmp_path):
    r = runner.invoke(cli.app, ["train", *banks, "--steps", "64", "--out", str(tmp_path / "x"),
                                "--set", "env.sim_arrays=torch"])
    assert r.exit_code == 2 and "env.sim_arrays=torch needs --backend warp" in r.output
    assert not (tmp_path / "x").exists()


# ---------------------------------------------------------------------------------- action filter

def test_the_action_filter_is_a_first_order_low_pass_seen_in_the_observation(banks):
    """env.action_filter_hz: the joint targets follow y += alpha (a - y); a sinusoidal action comes out with
    the discrete first-order filter's gain |alpha / (1 - (1 - alpha) e^{-i w})|, and the observation's last 12
    values are the filtered joint-target offsets."""
    cfg = tiny_cfg()
    cfg.env.action_filter_hz, cfg.env.reference_state_init = 2.0, False
    cfg.randomization.enabled = False
    backend, task, _, _, _ = T.build(cfg, banks, seed=1)
    obs = task.reset()
    assert task.obs_dim == 31 + 12 and obs.shape == (4, 43)
    np.testing.assert_allclose(obs[:, 31:], 0.0, atol=1e-7)          # standing starts: targets at the default pose
    dt, f_hz = task.dt_s, 5.0
    alpha = 1 - np.exp(-2 * np.pi * 2.0 * dt)
    targets = []
    sent = []
    real_step_pd = backend.step_pd
    backend.step_pd = lambda q, *a, **k: (sent.append(q.copy()), real_step_pd(q, *a, **k))[1]
    for k in range(200):
        r = task.step(np.full((4, 12), 0.4 * np.sin(2 * np.pi * f_hz * k * dt)))
        assert not (r.terminated | r.timed_out).any()
        targets.append(r.next_obs[:, 31:])
    targets = np.array(targets)[100:] / cfg.env.action_scale      # back to action units, steady state
    gain = abs(alpha / (1 - (1 - alpha) * np.exp(-2j * np.pi * f_hz * dt)))
    assert np.ptp(targets, axis=0).mean() / 2 == pytest.approx(0.4 * gain, rel=0.02)
    assert 0.3 < gain < 0.45                                       # 5 Hz through a 2 Hz first-order filter
    np.testing.assert_allclose(np.array(sent)[100:] - task.default_pose, cfg.env.action_scale * targets, atol=1e-6)
    backend.close()


def test_the_action_rate_cost_charges_the_change_from_the_action_the_policy_sees(banks):
    """reward.action_rate with env.observe_last_action: the observation's last 12 values are the previous
    (clipped) action as a joint-target offset; after a reset it is the action that holds the start pose, so
    holding costs nothing; a change d costs scale * dt * sum(d^2), charged on the clipped actions; without
    the observation the config is refused."""
    cfg = tiny_cfg()
    C.apply_overrides(cfg, ["env.observe_last_action=true", "reward.action_rate=-2.4",
                            "randomization.enabled=false"])
    backend, task, _, _, _ = T.build(cfg, banks, seed=4)
    scale, dt = cfg.env.action_scale, task.dt_s
    obs = task.reset()
    assert task.obs_dim == 31 + 12 and obs.shape == (4, 43)
    # RSI starts: the previous action is the start's joint offset (obs 1:13), clipped to the action range
    held = np.clip(obs[:, 1:13] / scale, task.action_low, task.action_high)
    np.testing.assert_allclose(obs[:, 31:] / scale, held, atol=1e-5)
    assert np.abs(held).max() > 0.1                                  # not the default pose: a real check
    r = task.step(held)
    np.testing.assert_allclose(r.terms["action_rate"], 0.0, atol=1e-9)
    change = np.random.default_rng(0).uniform(-0.3, 0.3, (4, 12))
    inside = np.clip(held + change, task.action_low, task.action_high)
    r = task.step(held + change)
    ended = r.terminated | r.timed_out
    np.testing.assert_allclose(r.terms["action_rate"][~ended],
                               (-2.4 * dt * ((inside - held) ** 2).sum(1))[~ended], rtol=1e-5)
    np.testing.assert_allclose(r.next_obs[:, 31:], scale * inside, atol=1e-6)
    far = inside + 100.0                                             # clipped to the range before the cost
    r = task.step(far)
    hi = np.broadcast_to(task.action_high, far.shape)
    np.testing.assert_allclose(r.terms["action_rate"], -2.4 * dt * ((hi - inside) ** 2).sum(1), rtol=1e-5)
    backend.close()
    with pytest.raises(ValueError, match="needs env.observe_last_action=true"):
        C.validate(C.apply_overrides(tiny_cfg(), ["reward.action_rate=-1"]))
    with pytest.raises(ValueError, match="is a cost"):
        C.validate(C.apply_overrides(tiny_cfg(), ["env.observe_last_action=true", "reward.action_rate=1"]))


def test_feet_air_time_reward_times_a_drop_from_a_known_height(banks):
    """reward.feet_air_time: dropped 10 cm from standing (zero actions, no randomisation), the four feet touch
    down after the free-fall time sqrt(2 h / g), and the term pays scale * dt * sum(air time - target) at that
    step and nothing after, where the feet rest on the floor and their forces drop to 0 for single steps as
    the robot settles (legged_gym's one-step contact filter); with the scale 0 the term is absent."""
    cfg = tiny_cfg()
    cfg.env.reference_state_init = False
    cfg.randomization.enabled = False
    cfg.reward.feet_air_time, cfg.reward.feet_air_time_target_s = 10.0, 0.3
    backend, task, _, _, _ = T.build(cfg, banks, seed=2)
    task.reset()
    st = backend.state()
    drop_m = 0.10
    qpos = np.concatenate([st.base_pos_w + [0, 0, drop_m], st.base_quat_xyzw, st.joint_pos], axis=1)
    backend.reset(np.arange(4), qpos, np.zeros((4, 18)))
    gap_m = st.foot_pos_w[:, :, 2].min() - 0.022 + drop_m             # sphere bottoms above the floor
    fall_s = np.sqrt(2 * gap_m / 9.81)
    paid, force = [], []
    for _ in range(20):
        r = task.step(np.zeros((4, 12)))
        paid.append(r.terms["feet_air_time"])
        force.append(backend.state().foot_force_n)
    paid = np.array(paid)                                             # (steps, envs)
    assert (backend.state().foot_force_n > 1).all()
    k = np.argmax(paid != 0, axis=0)
    assert np.all(k == k[0]) and np.count_nonzero(paid) == 4          # one touchdown step, the same in all
    air_s = (k[0] + 1) * task.dt_s                                    # counted from the reset, that step included
    assert fall_s <= air_s < fall_s + 2 * task.dt_s
    on = np.array(force)[k[0]:] > 1
    assert (~on[1:-1] & on[:-2] & on[2:]).any()                      # single-step gaps did happen, unpaid
    np.testing.assert_allclose(paid[k[0]], 10.0 * task.dt_s * 4 * (air_s - 0.3), rtol=1e-9)
    backend.close()

    cfg.reward.feet_air_time = 0.0
    backend, task, _, _, _ = T.build(cfg, banks, seed=2)
    task.reset()
    assert "feet_air_time" not in task.step(np.zeros((4, 12))).terms
    backend.close()


def test_distorted_windows_are_the_dogs_motion_with_the_rhythm_wrong(banks):
    """ExpertSampler.distorted_windows (amp.rhythm_negatives, benchmarks/discriminator_probe.py): at speed-up
    1 they are the bank's own windows (feet by FK, within the bank's interpolation); at speed-up 3 the joint
    swings about each clip's mean pose are a third, joint speeds those of the bank at 3x faster times;
    reversed ones are the bank's windows back to front, in the share asked for."""
    from amp_data.expert.amp_obs import AMP_OBS_LAYOUT

    cfg = tiny_cfg()
    cfg.amp.window_frames, cfg.amp.frame_stride = 3, 2
    expert = T.make_expert(banks, cfg, seed=0)
    n, dt = 64, expert.policy_dt_s

    def bank_windows(seed, speedup):
        rng = np.random.default_rng(seed)                 # the draws distorted_windows makes, in its order
        p = np.asarray(expert.clip_probabilities)
        clip = rng.choice(len(expert.clips), n, p=p / p.sum())
        start = rng.random(n) * np.array([c.duration_s for c in expert.clips])[clip]
        times = start[:, None] + np.arange(3) * 2 * dt * speedup
        return expert.amp_obs_at(np.repeat(clip, 3), times.ravel()).reshape(n, 3, -1)

    feet, q, vel = AMP_OBS_LAYOUT["foot_pos_base"], AMP_OBS_LAYOUT["joint_pos"], AMP_OBS_LAYOUT["joint_vel"]
    same = expert.distorted_windows(n, (1.0,), 0.0, np.random.default_rng(5)).reshape(n, 3, -1)
    bank = bank_windows(5, 1.0)
    np.testing.assert_allclose(np.delete(same, np.r_[feet], axis=2), np.delete(bank, np.r_[feet], axis=2), atol=1e-5)
    np.testing.assert_allclose(same[..., feet], bank[..., feet], atol=5e-3)

    fast = expert.distorted_windows(n, (3.0,), 0.0, np.random.default_rng(6)).reshape(n, 3, -1)
    bank3 = bank_windows(6, 3.0)
    np.testing.assert_allclose(fast[..., vel], bank3[..., vel], atol=1e-5)
    assert np.abs(np.diff(fast[..., q], axis=1)).mean() == pytest.approx(
        np.abs(np.diff(bank3[..., q], axis=1)).mean() / 3, rel=1e-4)

    back = expert.distorted_windows(n, (3.0,), 1.0, np.random.default_rng(7)).reshape(n, 3, -1)
    bank = bank_windows(7, 1.0)
    np.testing.assert_allclose(np.delete(back, np.r_[feet], axis=2),
                               np.delete(bank[:, ::-1], np.r_[feet], axis=2), atol=1e-5)


def _train_discriminator(disc, expert, negative_windows, amp_cfg, updates: int = 300) -> None:
    """`updates` Adam steps of eq. 2 on batches of 128 expert windows against `negative_windows` (fixed)."""
    from learner.amp import PolicyWindows, discriminator_batch_loss

    negatives = PolicyWindows(disc.window_dim, len(negative_windows), 0, 0.0, "cpu")
    negatives.add(torch.as_tensor(negative_windows))
    opt = torch.optim.Adam(disc.parameters(), lr=1e-3)
    for _ in range(updates):
        l_amp, l_grad, _ = discriminator_batch_loss(disc, expert, negatives, 128, amp_cfg)
        opt.zero_grad()
        (l_amp + l_grad).backward()
        opt.step()


def test_rhythm_negatives_teach_the_discriminator_to_reject_a_faster_dog(banks):
    """amp.rhythm_negatives: a discriminator whose only policy negatives stand still scores the dog's walk
    sped up 3x (swings / 3) about as real as the walk itself; with a share of rhythm negatives (speed-ups 2
    and 4, none at 3) it scores it far below the walk."""
    import torch
    from learner.amp import Discriminator

    def trained(share):
        cfg = tiny_cfg()
        cfg.amp.window_frames, cfg.amp.frame_stride = 5, 3
        cfg.amp.rhythm_negatives, cfg.amp.rhythm_speedups, cfg.amp.rhythm_reversed_share = share, (2.0, 4.0), 0.0
        expert = T.make_expert(banks, cfg, seed=0)
        torch.manual_seed(0)
        disc = Discriminator(43, (64, 64), 0.01, 5)
        standing = np.tile(expert.amp_obs_at([0], [0.0]), (1, 5)).astype(np.float32)
        standing[:, 24:27] = 0.0                                  # base velocity 0 in every frame
        _train_discriminator(disc, expert, np.repeat(standing, 1000, axis=0), cfg.amp)
        rng = np.random.default_rng(1)
        with torch.no_grad():
            real = disc.score(torch.as_tensor(expert.sample_windows(512, rng))).mean().item()
            fast = disc.score(torch.as_tensor(expert.distorted_windows(512, (3.0,), 0.0, rng))).mean().item()
        return real, fast

    real, fast = trained(0.0)
    assert real - fast < 0.5                     # without: the faster dog nearly passes for the dog (0.26)
    real, fast = trained(0.5)
    assert real - fast > 1.0                     # with: it is rejected (1.40), though x3 was never shown


def test_gait_condition_labels_every_window_with_its_gait(banks, tmp_path):
    """amp.gait_condition: expert windows (sampled and distorted) end with the one-hot bank of their clip, the
    task's with its gait clock's (following a command change), the frames before the label unchanged; a
    short training run takes them end to end; without the gait clock the option is refused."""
    cfg = tiny_cfg(steps=128)
    C.apply_overrides(cfg, ["env.gait_clock=true", "env.command_source=banks", "amp.gait_condition=true",
                            "amp.window_frames=3", "amp.frame_stride=2"])
    C.validate(cfg)
    expert = T.make_expert(banks, cfg, seed=0)
    plain = T.make_expert(banks, tiny_cfg(), seed=0)
    assert expert.label_dim == 2 and expert.window_dim == 3 * 43 + 2
    bank_of_pair = np.array([c.bank_index for c in expert.clips])[expert.pair_clip]
    np.testing.assert_array_equal(expert.pairs[:, -2:], np.eye(2)[bank_of_pair])
    cfg_plain = tiny_cfg()
    C.apply_overrides(cfg_plain, ["amp.window_frames=3", "amp.frame_stride=2"])
    np.testing.assert_array_equal(expert.pairs[:, :-2], T.make_expert(banks, cfg_plain, seed=0).pairs)
    assert plain.label_dim == 0
    for b in (0, 1):
        w = expert.distorted_windows(16, (2.0,), 0.5, np.random.default_rng(b), bank_index=b)
        np.testing.assert_array_equal(w[:, -2:], np.tile(np.eye(2)[b], (16, 1)))

    backend, task, _, agent, _ = T.build(cfg, banks, seed=5)
    task.reset()
    res = task.step(np.zeros((cfg.env.num_envs, 12)))
    window = np.asarray(res.amp_window)
    assert window.shape == (cfg.env.num_envs, agent.disc.window_dim)
    np.testing.assert_array_equal(window[:, -2:], np.eye(2)[np.asarray(task.gait)])
    task.set_command(float(task.clocks.speed_m_s[1]))
    np.testing.assert_array_equal(np.asarray(task.amp_window())[:, -2:], np.tile([0.0, 1.0], (cfg.env.num_envs, 1)))
    backend.close()

    T.train(banks, cfg, tmp_path / "run", say=lambda m: None, eval_seconds=0.5)
    assert (tmp_path / "run" / "checkpoint.pt").exists()
    with pytest.raises(ValueError, match="gait_condition .* needs env.gait_clock=true"):
        C.validate(C.apply_overrides(C.make_config("cpu", "sac"), ["amp.gait_condition=true"]))


def test_gait_condition_lets_the_discriminator_reject_the_other_gait_s_motion(banks):
    """A gait-conditioned discriminator whose negatives are the dog's own windows under the other bank's
    label learns to score each gait real only under its own label: it can tell a walk at the trot's command
    from the trot. With the label inside the cpu preset's gradient penalty (weight 10) it could not (D 0.04
    against -0.05): the penalty acts on the motion only."""
    from learner.amp import Discriminator

    cfg = tiny_cfg()
    cfg.amp.window_frames, cfg.amp.frame_stride, cfg.amp.gait_condition = 5, 3, True
    expert = T.make_expert(banks, cfg, seed=0)
    torch.manual_seed(0)
    disc = Discriminator(43, (64, 64), 0.01, 5, label_dim=expert.label_dim)
    swapped = expert.sample_windows(4000, np.random.default_rng(0)).copy()
    swapped[:, -2:] = swapped[:, -2:][:, ::-1]
    _train_discriminator(disc, expert, swapped, cfg.amp)
    test = expert.sample_windows(512, np.random.default_rng(1)).copy()
    with torch.no_grad():
        real = disc.score(torch.as_tensor(test)).mean().item()
        test[:, -2:] = test[:, -2:][:, ::-1]
        other = disc.score(torch.as_tensor(test)).mean().item()
    assert real - other > 1.0, (real, other)
