"""`amp-data play`: a tiny trained run replayed through the CLI, its rollout bank checked against a direct
rollout of the same policy, against the simulator's physics (frame 0 is the reset state, contacts only on
low feet) and against the bank tools; clear one-line errors and no partial files on bad input."""

import re
import shutil

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="playing a policy needs PyTorch (pip install 'amp-data[learn]')")
pytest.importorskip("mujoco", reason="playing a policy needs mujoco (pip install 'amp-data[learn]')")

from typer.testing import CliRunner  # noqa: E402

import cli  # noqa: E402
from amp_data.expert.amp_obs import amp_observation_from_frames  # noqa: E402
from amp_data.format.bank import read_bank  # noqa: E402
from amp_data.motion.contacts import feet_world_m  # noqa: E402
from learner import config as C  # noqa: E402
from learner import train as T  # noqa: E402
from robots.go2.kinematics import feet_fk  # noqa: E402
from robots.go2 import model as go2  # noqa: E402

runner = CliRunner()
SECONDS = 2.0
FPS = 50


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory, mocap):
    """A run folder on a walk cycle with two checkpoints: after 8 env steps (2 iterations, inside the
    warm-up: the initial policy, which stands) and, resumed, after 400 (a policy that may well fall)."""
    tmp = tmp_path_factory.mktemp("play")
    r = runner.invoke(cli.app, ["retarget", "walk", "--cycle", "auto", "-o", str(tmp / "walk.h5")])
    assert r.exit_code == 0, r.output
    cfg = C.make_config("cpu", "sac")
    cfg.env.num_envs, cfg.max_env_steps, cfg.minutes = 4, 8, 0.0
    cfg.sac.batch_size, cfg.sac.warmup_steps, cfg.amp.batch_size = 64, 5, 64
    cfg.sac.hidden = cfg.amp.hidden = (32, 32)
    cfg.sac.replay_size = cfg.amp.replay_size = cfg.amp.history_size = 20_000
    cfg.env.sim_threads, cfg.torch_threads = 1, 1
    T.train([str(tmp / "walk.h5")], cfg, tmp / "run", say=lambda m: None, eval_envs=1, eval_seconds=0.2)
    cfg.max_env_steps = 400
    T.train([], cfg, tmp / "run", resume=True, say=lambda m: None, eval_envs=1, eval_seconds=0.2)
    return tmp / "run", tmp / "walk.h5"


EARLY = "checkpoints/step_000000000008.pt"


@pytest.fixture(scope="module", params=["checkpoint.pt", EARLY])
def played(tiny_run, tmp_path_factory, request):
    """`amp-data play RUN [--checkpoint ...] -o rollout.h5`: (bank path, output, checkpoint played)."""
    run, _ = tiny_run
    out = tmp_path_factory.mktemp("out") / "rollout.h5"
    pick = [] if request.param == "checkpoint.pt" else ["--checkpoint", request.param]
    r = runner.invoke(cli.app, ["play", str(run), *pick, "-o", str(out), "--seconds", f"{SECONDS:g}"])
    assert r.exit_code == 0, r.output
    return out, r.output, run / request.param


def direct_rollout(checkpoint, seconds, command):
    """The policy played by hand: states before each step, the AMP pairs and per-step values."""
    state = torch.load(checkpoint, map_location="cpu", weights_only=False)
    cfg = C.from_dict(state["config"])
    backend, task, _, agent, _ = T.build(cfg, state["bank_paths"], seed=0, num_envs=1)
    agent.load_state_dict(state["agent"])
    task.command_override, task.env_cfg.reference_state_init, task.dr_cfg.enabled = command, False, False
    task.max_episode_steps = 10 ** 6
    obs = task.reset()
    rec = {"root_pos": [], "joint_pos": [], "amp_obs": [], "vel": [], "task": [], "style": []}
    fell = False
    for _ in range(int(round(seconds * FPS))):
        st = backend.state()
        rec["root_pos"].append(st.base_pos_w[0])
        rec["joint_pos"].append(st.joint_pos[0])
        res = task.step(agent.act(obs, deterministic=True))
        rec["amp_obs"].append(res.amp_obs[0])
        rec["vel"].append(res.forward_vel_m_s[0])
        rec["task"].append(res.task_reward[0])
        rec["style"].append(agent.disc.style_reward(torch.as_tensor(res.amp_window, dtype=torch.float32))[0].item())
        if res.terminated[0]:
            fell = True
            break
        obs = res.obs
    backend.close()
    return {k: np.array(v) for k, v in rec.items()}, fell, cfg


def number(pattern, text):
    m = re.search(pattern, text)
    assert m, f"{pattern!r} not in {text!r}"
    return float(m.group(1))


def test_rollout_bank_is_the_direct_rollout(played):
    out, output, checkpoint = played
    bank = read_bank(out)
    direct, fell, cfg = direct_rollout(checkpoint, SECONDS, 0.7)
    assert cfg.eval_command_vx_m_s == 0.7          # play's default command is the run's eval command
    n = len(direct["root_pos"])
    assert bank.num_frames == n and bank.fps == FPS
    if checkpoint.name == EARLY.split("/")[1]:
        assert not fell                          # the untrained policy stands: the full-length branch
    if fell:
        assert f"fell at t = {n / FPS:.2f} s (step {n} of {int(SECONDS * FPS)})" in output
    else:
        assert n == SECONDS * FPS and f"{SECONDS:.2f} s without a fall" in output
    np.testing.assert_allclose(bank["root_pos"], direct["root_pos"], atol=1e-9)
    np.testing.assert_allclose(bank["joint_pos"], direct["joint_pos"], atol=1e-9)
    # every field in its place: the bank's AMP observations are the ones the task built from the simulator
    np.testing.assert_allclose(amp_observation_from_frames(bank.data), direct["amp_obs"], atol=1e-9)
    # the printed summary is the mean of the per-step values
    assert number(r"forward speed (-?[\d.]+) m/s", output) == pytest.approx(direct["vel"].mean(), abs=0.006)
    assert number(r"style reward (-?[\d.]+)", output) == pytest.approx(direct["style"].mean(), abs=6e-4)
    assert number(r"task reward (-?[\d.]+)/step", output) == pytest.approx(direct["task"].mean(), abs=6e-4)
    assert f"wrote {out}: {n} frames at 50 fps" in output and str(checkpoint) in output
    assert [c.name for c in bank.clips] == ["run"] and bank.clips[0].loop_mode == "clamp"
    assert bank.attrs["policy_command_vx_m_s"] == 0.7 and bool(bank.attrs["policy_fell"]) == fell


def test_rollout_bank_obeys_the_physics(played):
    bank = read_bank(played[0])
    # frame 0 is the reset state: default pose, upright over the origin, at rest
    np.testing.assert_allclose(bank["joint_pos"][0], go2.default_pose_rad(), atol=1e-12)
    np.testing.assert_allclose(bank["root_pos"][0, :2], 0.0, atol=1e-12)
    np.testing.assert_allclose(bank["root_quat"][0], [0, 0, 0, 1], atol=1e-12)
    for k in ("joint_vel", "base_lin_vel", "base_ang_vel"):
        np.testing.assert_allclose(bank[k][0], 0.0, atol=1e-12)
    # a unit, sign-continuous quaternion; joints within the hard limits (MuJoCo's joint limits are soft
    # constraints: a robot crashing into the floor overshoots them, by 0.13 rad measured)
    q = bank["root_quat"]
    np.testing.assert_allclose(np.linalg.norm(q, axis=1), 1.0, atol=1e-9)
    assert np.all(np.einsum("ti,ti->t", q[1:], q[:-1]) >= 0)
    hard = go2.hard_limits_rad()
    assert np.all(bank["joint_pos"] > hard[:, 0] - 0.2) and np.all(bank["joint_pos"] < hard[:, 1] + 0.2)
    # feet: FK of the joints; foot velocity = d foot / dq . q_dot (a numerical directional derivative)
    np.testing.assert_allclose(bank["foot_pos_base"], feet_fk(bank["joint_pos"]), atol=1e-12)
    eps = 1e-6
    qd = bank["joint_vel"]
    numeric = (feet_fk(bank["joint_pos"] + eps * qd) - feet_fk(bank["joint_pos"] - eps * qd)) / (2 * eps)
    np.testing.assert_allclose(bank["foot_vel_base"], numeric, atol=1e-6)
    # the simulator's contacts: a foot pressing on the floor is low, a foot well above it is not pressing
    bottom_m = feet_world_m(bank["root_pos"], bank["root_quat"], bank["foot_pos_base"])[..., 2] - go2.FOOT_RADIUS_M
    c = bank["contacts"]
    assert c.dtype == bool and c.shape == (bank.num_frames, 4)
    assert np.all(bottom_m[c] < 0.01)
    assert not np.any(c[bottom_m > 0.015])


def test_bank_tools_read_the_rollout(tiny_run, played):
    _, walk = tiny_run
    out, _, _ = played
    r = runner.invoke(cli.app, ["inspect", str(out), str(walk), "--rom"])
    assert r.exit_code == 0, r.output
    assert "FL_hip_joint" in r.output and out.name in r.output
    r = runner.invoke(cli.app, ["inspect", str(out), "--phase"])
    assert r.exit_code == 0, r.output
    assert "clip run" in r.output


def test_moved_banks_need_banks_option_and_video(tiny_run, tmp_path):
    run, walk = tiny_run
    state = torch.load(run / "checkpoint.pt", map_location="cpu", weights_only=False)
    state["bank_paths"] = [str(tmp_path / "gone" / "walk.h5")]
    moved = tmp_path / "moved.pt"
    torch.save(state, moved)
    r = runner.invoke(cli.app, ["play", str(moved), "--seconds", "0.2"])
    assert r.exit_code == 2
    lines = r.output.strip().splitlines()
    assert len(lines) == 1 and "gone/walk.h5" in lines[0] and "--banks" in lines[0]
    gif = tmp_path / "policy.gif"
    r = runner.invoke(cli.app, ["play", str(moved), "--seconds", "0.2", "--banks", str(walk), "--video", str(gif)])
    assert r.exit_code == 0, r.output
    from PIL import Image
    with Image.open(gif) as im:
        assert im.n_frames == int(re.search(r"wrote \S+: (\d+) frames \((?:mujoco|matplotlib)\)\n", r.output).group(1)) >= 1


def test_bad_run_and_outputs_exit_2_without_files(tiny_run, tmp_path):
    run, _ = tiny_run

    def one_line_error(args, *words):
        r = runner.invoke(cli.app, ["play", *map(str, args)])
        assert r.exit_code == 2, r.output
        lines = r.output.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("amp-data: error:"), r.output
        for w in words:
            assert w in lines[0]

    one_line_error([tmp_path / "nope"], "nope", "no such run folder")
    (tmp_path / "empty").mkdir()
    one_line_error([tmp_path / "empty"], "no checkpoint.pt")
    (tmp_path / "bad.pt").write_bytes(b"not a checkpoint")
    one_line_error([tmp_path / "bad.pt"], "bad.pt", "not a readable amp-data checkpoint")
    one_line_error([run, "--checkpoint", "checkpoints/step_000000000001.pt"], "no such checkpoint file")
    one_line_error([run, "--seconds", "0"], "--seconds")
    # outputs: checked before the rollout; nothing written anywhere
    before = sorted(p.name for p in tmp_path.iterdir())
    one_line_error([run, "-o", tmp_path / "missing" / "rollout.h5"], "does not exist")
    one_line_error([run, "-o", tmp_path / "bad.pt" / "rollout.h5"], "is a file, not a folder")
    one_line_error([run, "-o", tmp_path / "empty"], "is a folder")
    one_line_error([run, "--video", tmp_path / "policy.txt"], "unknown video format")
    if shutil.which("ffmpeg") is None:
        one_line_error([run, "--video", tmp_path / "policy.mp4"], "ffmpeg", "--video policy.gif")
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    assert not (tmp_path / "missing").exists() and list((tmp_path / "empty").iterdir()) == []


def test_command_schedule_parses_and_refuses_in_one_line():
    from amp_data.errors import InputError
    from learner.play import CommandSchedule

    assert CommandSchedule.parse("0.7", 3.0).segments == ((0.7, 3.0),)
    assert CommandSchedule.parse("0.7").seconds == 10.0
    s = CommandSchedule.parse(" 0.5@5, 1.2@2.5 ")
    assert s.segments == ((0.5, 5.0), (1.2, 2.5)) and s.seconds == 7.5 and s.text() == "0.5@5,1.2@2.5"
    np.testing.assert_array_equal(s.per_step(0.02), np.r_[np.full(250, 0.5), np.full(125, 1.2)])
    for text, seconds, message in (("0.5@5", 3.0, "leave out --seconds"), ("0.5@5,1.2", None, "SPEED@SECONDS"),
                                   ("0.5@x", None, "not a duration"), ("nan", None, "not a speed"),
                                   ("0.5@5,20@1", None, "within +-10"), ("0.5@0", None, "(0, 3600]"),
                                   ("1@3000,1@3000", None, "more than 3600")):
        with pytest.raises(InputError, match=re.escape(message)):
            CommandSchedule.parse(text, seconds)


def test_a_schedule_changes_the_command_the_policy_sees_at_its_step(tiny_run, tmp_path):
    """The observation's command entry (scaled by 2) follows the schedule from the step it changes; the
    bank gets one clip per command, and the summary a line per command."""
    from learner.play import CommandSchedule, load_policy, roll_out

    run, _ = tiny_run
    policy = load_policy(run, EARLY)
    seen = []

    class Recording:
        def __init__(self, agent):
            self.agent = agent

        def act(self, obs, deterministic=False):
            seen.append(float(obs[0, 0]))
            return self.agent.act(obs, deterministic=deterministic)

        def __getattr__(self, name):
            return getattr(self.agent, name)

    schedule = CommandSchedule(((0.3, 0.4), (0.9, 0.6)))
    try:
        r = roll_out(Recording(policy.agent), policy.task, schedule.seconds, schedule)
    finally:
        policy.task.backend.close()
    assert not r.fell and r.steps == 50
    np.testing.assert_allclose(seen, 2.0 * np.r_[np.full(20, 0.3), np.full(30, 0.9)], atol=1e-6)
    assert r.segments == [(0.3, 0, 20), (0.9, 20, 50)]

    out = tmp_path / "sched.h5"
    res = runner.invoke(cli.app, ["play", str(run), "--checkpoint", EARLY, "--command", "0.3@0.4,0.9@0.6",
                                  "-o", str(out)])
    assert res.exit_code == 0, res.output
    bank = read_bank(out)
    assert [(c.name, c.start, c.stop) for c in bank.clips] == [("run@0.3", 0, 20), ("run@0.9", 20, 50)]
    assert bank.attrs["policy_command_schedule"] == "0.3@0.4,0.9@0.6"
    assert "0.0-0.4 s: forward speed" in res.output and "0.4-1.0 s: forward speed" in res.output
    res = runner.invoke(cli.app, ["play", str(run), "--command", "0.3@1", "--seconds", "2"])
    assert res.exit_code == 2 and "leave out --seconds" in res.output
