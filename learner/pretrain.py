"""Pretrained initialisation of actor and critics (`amp-data pretrain`), after Fan et al. 2025
(`../shared/papers/pretraining-actor-critic-summary.txt`): task-agnostic exploration in the simulator, a
proprioceptive inverse-dynamics model (PIDM) (s, s') -> a trained on it, and its weights loaded into the
actor and the critics before the task (`amp-data train --init-from PRETRAIN.pt --init-parts actor,norm,critics`).

1. **Exploration.** The task's N environments, with domain randomisation and reference-state starts as in
   training, driven by random joint targets: each environment holds a target drawn uniformly from the
   actions' range scaled by `target_scale`, redrawn with probability `redraw_prob` per step, plus Gaussian
   noise each step. No reward is used. Transitions that end in a reset are dropped.
2. **The PIDM** has the actor's layout, except that its first layer reads (s, s'): the policy observation
   before and after the step, normalised by one running normaliser fitted on the data. Its output is the
   action in the actor's own units (SAC: the pre-tanh mean u with a = centre + half tanh(u); PPO: a).
   Trained by MSE with Adam; a held-out 10 % gives the share of action variance it explains.
3. **Loading.** The actor gets the PIDM's hidden layers, its output layer, and the s-columns of its first
   layer (the s'-columns have no place in a policy of s; the PIDM learnt features of the state that
   predict actions). The critics (SAC's Q(s, a), PPO's V(s)) get the hidden layers and the s-columns of
   the first layer; their other inputs and output stay freshly initialised. SAC's observation normaliser
   is the one fitted on the exploration data (PPO reads the task's scaled observation as it is).

The output is a checkpoint in the agent's own format (`algo`, `config`, `agent`), so `--init-from` checks
and loads it like any run's.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from amp_data.errors import InputError


@dataclass
class PretrainResult:
    transitions: int
    env_steps: int
    explore_s: float
    train_s: float
    epochs: int
    train_loss: list[float]
    heldout_explained: float          # 1 - MSE / Var of the held-out actions (all joints)
    heldout_explained_per_joint: list[float]
    output: Path


def explore(cfg, bank_paths, env_steps: int, seed: int, target_scale: float = 0.5, redraw_prob: float = 0.05,
            noise: float = 0.1, on_progress=None):
    """(obs, next_obs, actions) of task-agnostic exploration, float32 arrays (M, D), (M, D), (M, 12)."""
    from learner.train import build

    backend, task, _, agent, rng = build(cfg, bank_paths, seed)
    n = task.num_envs
    low, high = task.action_low, task.action_high
    centre, half = (high + low) / 2, (high - low) / 2
    obs_list, next_list, act_list = [], [], []
    try:
        obs = task.reset()
        target = centre + target_scale * half * rng.uniform(-1, 1, (n, 12))
        steps = max(1, env_steps // n)
        for k in range(steps):
            redraw = rng.random(n) < redraw_prob
            target[redraw] = centre + target_scale * half * rng.uniform(-1, 1, (int(redraw.sum()), 12))
            action = np.clip(target + noise * half * rng.standard_normal((n, 12)), low, high)
            res = task.step(action)
            keep = ~(res.terminated | res.timed_out)
            obs_list.append(obs[keep])
            next_list.append(res.next_obs[keep])
            act_list.append(action[keep].astype(np.float32))
            obs = res.obs
            if on_progress is not None:
                on_progress((k + 1) * n, steps * n)
    finally:
        backend.close()
    return np.concatenate(obs_list), np.concatenate(next_list), np.concatenate(act_list), agent, task


def _action_target(agent, algo: str, actions):
    """What the actor's output layer produces for `actions`: SAC's pre-tanh mean, PPO's action."""
    import torch
    a = torch.as_tensor(actions)
    if algo == "sac":
        actor = agent.actor
        return torch.atanh(((a - actor.center.cpu()) / actor.half_range.cpu()).clamp(-0.995, 0.995))
    return a


def _pidm_layers(agent, algo: str, obs_dim: int):
    """A PIDM with the actor's layout on (s, s'): the list of its Linear layers and the module."""
    from torch import nn

    from learner.networks import ACTIVATIONS, mlp
    if algo == "sac":
        hidden, activation = agent.sac.hidden, agent.sac.activation
    else:
        hidden, activation = agent.ppo.hidden, agent.ppo.activation
    # the actor's MLP: Linear layers with the activation between them, and after the last hidden one
    net = nn.Sequential(mlp(2 * obs_dim, hidden[:-1], hidden[-1], activation), ACTIVATIONS[activation](),
                        nn.Linear(hidden[-1], 12))
    return net


def train_pidm(agent, algo: str, obs, next_obs, actions, epochs: int, batch_size: int, lr: float, seed: int):
    """(PIDM, normaliser, per-epoch train loss, held-out explained variance overall and per joint)."""
    import torch

    from learner.networks import RunningNorm

    g = torch.Generator().manual_seed(seed)
    obs_dim = obs.shape[1]
    norm = None
    s, s_next = torch.as_tensor(obs), torch.as_tensor(next_obs)
    if algo == "sac":       # SAC's actor and critics read normalised observations; PPO's the task's own
        norm = RunningNorm(obs_dim)
        norm.update(torch.cat([s, s_next]))
        s, s_next = norm.normalize(s), norm.normalize(s_next)
    x = torch.cat([s, s_next], dim=1).float()
    y = _action_target(agent, algo, actions).float()
    perm = torch.randperm(len(x), generator=g)
    n_val = max(1, len(x) // 10)
    val, tr = perm[:n_val], perm[n_val:]
    net = _pidm_layers(agent, algo, obs_dim)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    losses = []
    for _ in range(epochs):
        order = tr[torch.randperm(len(tr), generator=g)]
        total = 0.0
        for i in range(0, len(order), batch_size):
            b = order[i:i + batch_size]
            loss = torch.nn.functional.mse_loss(net(x[b]), y[b])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += loss.item() * len(b)
        losses.append(total / len(order))
    with torch.no_grad():
        err = (net(x[val]) - y[val]).square().mean(0)
        var = y[val].var(0, unbiased=False).clamp(min=1e-12)
    explained = (1 - err / var).tolist()
    overall = float(1 - err.sum() / var.sum())
    return net, norm, losses, overall, explained


def load_pidm_into_agent(agent, algo: str, pidm, norm, obs_dim: int) -> None:
    """The PIDM's weights into the agent's actor and critics (module doc, step 3)."""
    import torch
    from torch import nn

    pidm_linears = [m for m in pidm.modules() if isinstance(m, nn.Linear)]
    first, hidden, head = pidm_linears[0], pidm_linears[1:-1], pidm_linears[-1]

    def load(linears, with_head: bool):
        with torch.no_grad():
            linears[0].weight[:, :obs_dim] = first.weight[:, :obs_dim]    # Q(s, a): the a-columns stay fresh
            linears[0].bias.copy_(first.bias)
            for dst, src in zip(linears[1:len(hidden) + 1], hidden):
                dst.weight.copy_(src.weight)
                dst.bias.copy_(src.bias)
            if with_head:
                linears[-1].weight.copy_(head.weight)
                linears[-1].bias.copy_(head.bias)

    if algo == "sac":
        actor_linears = [m for m in agent.actor.trunk.modules() if isinstance(m, nn.Linear)] + [agent.actor.mean_head]
        load(actor_linears, with_head=True)
        for q, target in ((agent.q1, agent.q1_target), (agent.q2, agent.q2_target)):
            load([m for m in q.net.modules() if isinstance(m, nn.Linear)], with_head=False)
            target.load_state_dict(q.state_dict())
        agent.obs_norm.load_state_dict(norm.state_dict())
    else:
        load([m for m in agent.ac.actor.modules() if isinstance(m, nn.Linear)], with_head=True)
        load([m for m in agent.ac.critic.modules() if isinstance(m, nn.Linear)], with_head=False)


def pretrain(bank_paths, cfg, output: Path, env_steps: int = 200_000, epochs: int = 20, batch_size: int = 1024,
             lr: float = 1e-3, say=print, on_progress=None) -> PretrainResult:
    """Explore, train the PIDM, and write a checkpoint `--init-from` loads (atomically)."""
    import torch

    from learner import config as C
    from learner.run_folder import save_state_file

    output = Path(output)
    if output.suffix != ".pt":
        raise InputError(output, "the pretrained weights are a checkpoint: the file must end in .pt")
    if output.is_dir():
        raise InputError(output, "is a folder; give a .pt file name")
    if not output.parent.is_dir():
        raise InputError(output, f"cannot write: folder {output.parent} does not exist")
    t0 = time.perf_counter()
    obs, next_obs, actions, agent, task = explore(cfg, bank_paths, env_steps, cfg.seed, on_progress=on_progress)
    t1 = time.perf_counter()
    say(f"explored {len(obs):,} transitions ({env_steps:,} env steps) in {t1 - t0:.0f} s; training the "
        f"inverse-dynamics model for {epochs} epochs")
    pidm, norm, losses, overall, per_joint = train_pidm(agent, cfg.algo, obs, next_obs, actions, epochs,
                                                        batch_size, lr, cfg.seed)
    load_pidm_into_agent(agent, cfg.algo, pidm, norm, obs.shape[1])
    t2 = time.perf_counter()
    state = {"config": C.to_dict(cfg), "algo": cfg.algo, "agent": agent.state_dict(), "env_steps": 0,
             "bank_paths": [str(Path(p).resolve()) for p in bank_paths],
             "pretrain": {"kind": "proprioceptive inverse dynamics (s, s') -> a", "transitions": len(obs),
                          "explore_env_steps": env_steps, "epochs": epochs, "train_loss": losses,
                          "heldout_explained": overall, "heldout_explained_per_joint": per_joint}}
    save_state_file(output, state)
    return PretrainResult(len(obs), env_steps, t1 - t0, t2 - t1, epochs, losses, overall, per_joint, output)
