"""`amp-data pretrain`: the inverse-dynamics model learns what can be learnt (and reports nothing where
there is nothing), its weights land where the module doc says, and `train --init-from` takes them."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="pretraining needs PyTorch")
pytest.importorskip("mujoco", reason="pretraining explores in mujoco")

from typer.testing import CliRunner  # noqa: E402

import cli  # noqa: E402
from learner import config as C  # noqa: E402
from learner import pretrain as P  # noqa: E402
from learner import train as T  # noqa: E402

TINY = ["env.num_envs=4", "sac.hidden=32,32", "amp.hidden=16,16", "ppo.hidden=32,32,16", "sac.batch_size=64",
        "amp.batch_size=64", "sac.warmup_steps=1000", "log_every_s=0", "checkpoint_every_min=100",
        "sac.replay_size=5000", "amp.replay_size=5000", "amp.history_size=500", "ppo.steps_per_env=8"]


@pytest.fixture(scope="module")
def banks(walk_trot_cycle_banks):
    return walk_trot_cycle_banks


def _agent(banks, algo="sac"):
    cfg = C.from_options("cpu", algo, overrides=TINY)
    backend, task, _, agent, _ = T.build(cfg, banks, seed=0)
    backend.close()
    return agent, task.obs_dim


def test_the_model_explains_a_learnable_inverse_dynamics_and_not_noise(banks):
    agent, obs_dim = _agent(banks)
    rng = np.random.default_rng(0)
    s = rng.normal(size=(6000, obs_dim)).astype(np.float32)
    s_next = s + 0.1 * rng.normal(size=s.shape).astype(np.float32)
    centre, half = agent.actor.center.numpy(), agent.actor.half_range.numpy()
    # actions that follow from the step: a smooth function of (s' - s), inside the bounds
    w = rng.normal(size=(obs_dim, 12)).astype(np.float32) / np.sqrt(obs_dim)
    actions = centre + 0.6 * half * np.tanh(((s_next - s) * 10) @ w)
    *_, explained, per_joint = P.train_pidm(agent, "sac", s, s_next, actions.astype(np.float32), epochs=80,
                                            batch_size=256, lr=2e-3, seed=0)
    assert explained > 0.85 and min(per_joint) > 0.7, (explained, per_joint)
    noise = (centre + 0.6 * half * rng.uniform(-1, 1, (6000, 12))).astype(np.float32)
    *_, explained, _ = P.train_pidm(agent, "sac", s, s_next, noise, epochs=30, batch_size=256, lr=2e-3, seed=0)
    assert explained < 0.05, explained


@pytest.mark.parametrize("algo", ["sac", "ppo"])
def test_loaded_actor_acts_as_the_model_does_when_it_ignores_s_next(banks, algo):
    """With the model's s'-columns zeroed, the loaded actor's deterministic action equals the model's
    prediction; the critics got the hidden layers, and the Q action columns and heads stay as they were."""
    agent, obs_dim = _agent(banks, algo)
    rng = np.random.default_rng(1)
    obs = rng.normal(size=(3000, obs_dim)).astype(np.float32)
    acts = (agent.actor.center.numpy() if algo == "sac" else 0) + 0.1 * rng.normal(size=(3000, 12))
    pidm, norm, *_ = P.train_pidm(agent, algo, obs, obs, acts.astype(np.float32), 2, 256, 1e-3, 0)
    first = [m for m in pidm.modules() if isinstance(m, torch.nn.Linear)][0]
    with torch.no_grad():
        first.weight[:, obs_dim:] = 0
    q_before = None if algo == "ppo" else {k: v.clone() for k, v in agent.q1.state_dict().items()}
    P.load_pidm_into_agent(agent, algo, pidm, norm, obs_dim)
    x = torch.as_tensor(rng.normal(size=(7, obs_dim)).astype(np.float32))
    with torch.no_grad():
        if algo == "sac":
            xn = agent.obs_norm.normalize(x)
            predicted = agent.actor.center + agent.actor.half_range * torch.tanh(pidm(torch.cat([xn, xn], 1)))
            np.testing.assert_allclose(agent.actor.deterministic(xn), predicted, atol=1e-5)
            linears = [m for m in agent.q1.net.modules() if isinstance(m, torch.nn.Linear)]
            torch.testing.assert_close(linears[0].weight[:, :obs_dim], first.weight[:, :obs_dim])
            torch.testing.assert_close(linears[0].weight[:, obs_dim:], q_before["net.0.weight"][:, obs_dim:])
            torch.testing.assert_close(linears[-1].weight, q_before[f"net.{len(linears) * 2 - 2}.weight"])
            assert torch.equal(agent.q1_target.net[0].weight, agent.q1.net[0].weight)
        else:
            np.testing.assert_allclose(agent.ac.actor(x), pidm(torch.cat([x, x], 1)), atol=1e-5)


def test_pretrain_command_writes_weights_that_train_loads(banks, tmp_path):
    runner = CliRunner()
    args = ["pretrain", *banks, "-o", str(tmp_path / "p.pt"), "--steps", "400", "--epochs", "2"]
    for s in TINY:
        args += ["--set", s]
    r = runner.invoke(cli.app, args)
    assert r.exit_code == 0, r.output
    assert "held-out actions explained" in r.output
    state = torch.load(tmp_path / "p.pt", weights_only=False)
    assert state["algo"] == "sac" and state["pretrain"]["transitions"] > 300
    args = ["train", *banks, "--steps", "16", "--out", str(tmp_path / "run"), "--init-from", str(tmp_path / "p.pt"),
            "--init-parts", "actor,norm,critics"]
    for s in TINY:
        args += ["--set", s]
    r = runner.invoke(cli.app, args)
    assert r.exit_code == 0, r.output
    assert "warm start: actor, norm, critics" in r.output
    r = runner.invoke(cli.app, ["pretrain", *banks, "-o", str(tmp_path / "p.h5"), "--steps", "400"])
    assert r.exit_code == 2 and "must end in .pt" in r.output
