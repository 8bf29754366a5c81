"""The command curriculum (env.command_curriculum_step_m_s): the cap's rule, the task's use of it (capped
commands keep their bank's clock; evaluations are not capped), and checkpoints that carry it."""

import csv

import numpy as np
import pytest

from learner import command_curriculum as CC
from learner.command_curriculum import CommandCurriculum


def test_the_cap_rises_when_half_the_window_at_it_kept_up():
    cc = CommandCurriculum(start_m_s=1.0, step_m_s=0.2, max_m_s=1.5, episodes=4)
    cmd = np.array([1.0, 1.0, 0.8])          # the third is below the cap: it does not count
    duration = np.full(3, 10.0)
    kept = np.array([9.0, 5.0, 0.0])         # 90 % and 50 % of the 10 m asked at the cap
    assert not cc.episode_end(cmd, kept, duration, np.zeros(3, bool))
    assert cc.state_dict() == {"cap_m_s": 1.0, "ended": 2, "kept_up": 1}
    # the window's 4th episode at the cap: a fall, whatever its path; 2 of 4 kept up -> the cap rises
    assert cc.episode_end(np.array([1.0, 1.0]), np.array([20.0, 8.0]), np.full(2, 10.0), np.array([True, False]))
    assert cc.cap_m_s == pytest.approx(1.2)
    assert cc.state_dict()["ended"] == 0
    np.testing.assert_allclose(cc.apply(np.array([0.5, 1.19, 2.0])), [0.5, 1.19, 1.2])


def test_a_window_that_did_not_keep_up_leaves_the_cap_and_starts_afresh():
    cc = CommandCurriculum(1.0, 0.2, 1.5, episodes=4)
    assert not cc.episode_end(np.ones(4), np.array([9.0, 1.0, 1.0, 1.0]), np.full(4, 10.0), np.zeros(4, bool))
    assert cc.state_dict() == {"cap_m_s": 1.0, "ended": 0, "kept_up": 0}


def test_the_cap_stops_at_the_fastest_command_and_round_trips():
    cc = CommandCurriculum(1.4, 0.2, 1.5, episodes=1)
    assert cc.episode_end(np.array([1.4]), np.array([14.0]), np.array([10.0]), np.array([False]))
    assert cc.cap_m_s == 1.5
    assert not cc.episode_end(np.array([1.5]), np.array([15.0]), np.array([10.0]), np.array([False]))
    other = CommandCurriculum(1.0, 0.2, 1.5, episodes=1)
    other.load_state_dict(cc.state_dict())
    assert other.state_dict() == cc.state_dict()
    with pytest.raises(ValueError, match="step must be > 0"):
        CommandCurriculum(1.0, 0.0, 1.5, episodes=1)


# ---------------------------------------------------------------------------------- in the task and a run

torch = pytest.importorskip("torch", reason="the learner needs PyTorch (pip install 'amp-data[learn]')")
pytest.importorskip("mujoco", reason="the learner's default backend needs mujoco")

from learner import config as C  # noqa: E402
from learner import train as T  # noqa: E402
from learner.run_folder import load_checkpoint  # noqa: E402

TINY = ["env.num_envs=16", "sac.batch_size=64", "sac.warmup_steps=5", "sac.hidden=32,32", "amp.hidden=32,32",
        "amp.batch_size=64", "log_every_s=0", "checkpoint_every_min=100", "sac.replay_size=20000",
        "amp.replay_size=20000", "amp.history_size=20000"]


@pytest.fixture(scope="module")
def banks(walk_trot_cycle_banks):
    return walk_trot_cycle_banks


def curriculum_cfg(start_m_s=1.0, step_m_s=0.1, episodes=32, steps=256):
    cfg = C.make_config("cpu", "sac")
    C.apply_overrides(cfg, TINY + ["env.command_source=banks", "env.gait_clock=true",
                                   f"env.command_curriculum_start_m_s={start_m_s}",
                                   f"env.command_curriculum_step_m_s={step_m_s}",
                                   f"env.command_curriculum_episodes={episodes}"])
    cfg.max_env_steps, cfg.minutes = steps, 0.0
    return C.validate(cfg)


def test_bad_curriculum_settings_are_refused_by_name():
    for key, value in (("env.command_curriculum_step_m_s", "-0.1"), ("env.command_curriculum_start_m_s", "0"),
                       ("env.command_curriculum_episodes", "0")):
        cfg = curriculum_cfg()
        C.apply_overrides(cfg, [f"{key}={value}"])
        with pytest.raises(ValueError, match=key.replace(".", r"\.")):
            C.validate(cfg)


def test_capped_commands_keep_their_banks_clock_and_evaluations_are_not_capped(banks):
    backend, task, expert, _, _ = T.build(curriculum_cfg(start_m_s=1.0), banks, seed=0)
    clocks = task.clocks
    trot = int(np.argmax(clocks.speed_m_s))
    assert clocks.speed_m_s[trot] > 1.3 and int(clocks.gait_for_command(np.array([1.0]))[0]) != trot, \
        "the test needs a trot bank faster than the cap and a cap nearer the walk's speed"
    assert task.command_curriculum.max_m_s == pytest.approx(expert.clip_forward_speed_m_s().max() * 1.1)
    for _ in range(4):                        # fresh draws for every environment
        task._reset_envs(np.arange(task.num_envs))
        cmd, gait = np.asarray(task.command_vx), np.asarray(task.gait)
        assert cmd.max() <= 1.0 + 1e-12
        capped = cmd >= 1.0 - 1e-12
        assert capped.any()
        np.testing.assert_array_equal(gait[capped], trot)       # a capped trot command runs the trot's clock
        np.testing.assert_array_equal(gait[~capped], clocks.gait_for_command(cmd[~capped]))
    with task.evaluation_episodes(1.8, steps=10):
        task._reset_envs(np.arange(task.num_envs))
        assert np.all(np.asarray(task.command_vx) == 1.8) and np.all(np.asarray(task.gait) == trot)
    backend.close()


def test_episode_ends_move_the_cap_and_checkpoints_carry_it(banks, tmp_path, monkeypatch):
    cfg = curriculum_cfg(start_m_s=0.5, step_m_s=0.1, episodes=1, steps=256)
    cfg.env.episode_length_s = 0.1           # 5 policy steps: many episode ends
    monkeypatch.setattr(CC, "KEEP_UP_SHARE", 1e6)   # no episode keeps up: the cap stays where it starts
    T.train(banks, cfg, tmp_path / "strict", say=lambda m: None, eval_seconds=0.2)
    assert load_checkpoint(tmp_path / "strict" / "checkpoint.pt")["command_curriculum"]["cap_m_s"] == 0.5
    monkeypatch.setattr(CC, "KEEP_UP_SHARE", 0.0)   # every episode without a fall keeps up
    T.train(banks, cfg, tmp_path / "lax", say=lambda m: None, eval_seconds=0.2)
    ckpt = load_checkpoint(tmp_path / "lax" / "checkpoint.pt")
    cap = ckpt["command_curriculum"]["cap_m_s"]
    assert cap > 0.5
    rows = list(csv.DictReader(open(tmp_path / "lax" / "metrics.csv")))
    logged = [float(r["command_cap_m_s"]) for r in rows]
    assert logged == sorted(logged) and 0.5 <= logged[0] and logged[-1] <= cap + 1e-9
    from learner.curves import plot_runs
    png = plot_runs([tmp_path / "strict", tmp_path / "lax"], tmp_path / "curves.png")
    assert png.stat().st_size > 0
    # --resume restores the cap (a fresh task starts at 0.5)
    cfg2 = C.from_dict(ckpt["config"])
    backend, task, expert, agent, _ = T.build(cfg2, banks, seed=cfg2.seed)
    assert task.command_cap_m_s == 0.5
    T._restore(agent, task, expert, cfg2, ckpt, [])
    assert task.command_cap_m_s == cap
    backend.close()
