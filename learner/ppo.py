"""AMP+PPO baseline with Escontrela et al.'s settings (AMP_for_hardware's `AMPPPO` on rsl_rl's PPO).

rsl-rl-lib's PPO is not used directly: its runner owns the environment loop and storage, and the AMP reward
mixing, the time-out bootstrap and the discriminator terms in the same optimiser would need a fork of both.
This compact PPO keeps those hyper-parameters: GAE lambda 0.95, clip 0.2, adaptive learning rate on a KL
target of 0.01, [512, 256, 128] ELU actor and critic, 24 steps per env, 5 epochs x 4 minibatches, a
state-independent log-std, clipped value loss.

Per iteration: 24 steps of all N envs; reward r = w_task r_task + w_amp * coef * r_AMP (eq. 6) with the
discriminator of the moment; time-outs add gamma V(pre-reset obs) to the reward (rsl_rl's bootstrap). Each
minibatch's loss also carries the discriminator's least-squares loss and gradient penalty on a batch of
expert pairs and of policy pairs from the replay, in the same Adam optimiser (AMP_for_hardware).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from amp_data.expert.amp_obs import AMP_OBS_DIM
from learner.amp import Discriminator, PolicyWindows, discriminator_batch_loss
from learner.networks import mlp
from learner.rewards import combined_reward


class ActorCritic(nn.Module):
    def __init__(self, obs_dim: int, act_dim: int, hidden, activation: str, init_std: float):
        super().__init__()
        self.actor = mlp(obs_dim, hidden, act_dim, activation)
        self.critic = mlp(obs_dim, hidden, 1, activation)
        self.log_std = nn.Parameter(torch.full((act_dim,), math.log(init_std)))

    def dist(self, obs) -> torch.distributions.Normal:
        return torch.distributions.Normal(self.actor(obs), self.log_std.exp().expand(obs.shape[0], -1))

    def value(self, obs) -> torch.Tensor:
        return self.critic(obs).squeeze(-1)


class AmpPpo:
    def __init__(self, cfg, obs_dim: int, act_dim: int, action_low, action_high, expert, device):
        self.cfg, self.ppo, self.amp_cfg, self.rew_cfg = cfg, cfg.ppo, cfg.amp, cfg.reward
        self.device = torch.device(device)
        self.expert = expert
        p = self.ppo
        self.ac = ActorCritic(obs_dim, act_dim, p.hidden, p.activation, p.init_std).to(self.device)
        self.disc = Discriminator(AMP_OBS_DIM, self.amp_cfg.hidden, self.amp_cfg.min_std,
                                  self.amp_cfg.window_frames, self.amp_cfg.spectral_norm,
                                  label_dim=getattr(expert, "label_dim", 0)).to(self.device)
        self.lr = p.lr
        self.opt = torch.optim.Adam([{"params": self.ac.parameters(), "weight_decay": 0.0}]
                                    + self.disc.param_groups(self.amp_cfg.trunk_weight_decay,
                                                             self.amp_cfg.head_weight_decay), lr=self.lr)
        t, n = p.steps_per_env, cfg.env.num_envs
        z = lambda *shape: torch.zeros((t, n, *shape), device=self.device)
        self.obs, self.act_buf, self.logp, self.values = z(obs_dim), z(act_dim), z(), z()
        self.rewards, self.dones = z(), z()
        self.mu, self.sigma = z(act_dim), z(act_dim)
        self.amp_replay = PolicyWindows(self.disc.window_dim, self.amp_cfg.replay_size, self.amp_cfg.history_size,
                                       self.amp_cfg.history_fraction, self.device)
        self.t = 0
        self.grad_steps_per_update = p.epochs * p.minibatches
        self._pending = None
        self._last_obs = None

    def _t(self, x) -> torch.Tensor:
        """numpy arrays or tensors (a task on a device backend) as float32 tensors on the agent's device."""
        return torch.as_tensor(x, dtype=torch.float32, device=self.device)

    @torch.no_grad()
    def act(self, obs, deterministic: bool = False):
        """Actions (N, 12) for observations (N, obs_dim): numpy for numpy, a tensor (agent's device) for a tensor."""
        o = self._t(obs)
        d = self.ac.dist(o)
        a = d.mean if deterministic else d.sample()
        if not deterministic:
            self._pending = (a, d.log_prob(a).sum(-1), self.ac.value(o), d.mean, d.stddev)
        return a if torch.is_tensor(obs) else a.cpu().numpy()

    @torch.no_grad()
    def observe(self, obs: np.ndarray, actions: np.ndarray, res) -> dict:
        a, logp, value, mu, sigma = self._pending
        window = self._t(res.amp_window)
        r_style = self.disc.style_reward(window)
        r = combined_reward(self.rew_cfg, self._t(res.task_reward), r_style)
        timed_out = torch.as_tensor(res.timed_out, device=self.device)
        r_boot = r + self.ppo.gamma * self.ac.value(self._t(res.next_obs)) * timed_out
        i = self.t
        self.obs[i], self.act_buf[i], self.logp[i], self.values[i] = self._t(obs), a, logp, value
        self.mu[i], self.sigma[i] = mu, sigma
        self.rewards[i] = r_boot
        self.dones[i] = torch.as_tensor(res.terminated | res.timed_out, device=self.device, dtype=torch.float32)
        self.amp_replay.add(window)
        self._last_obs = res.obs
        self.t += 1
        return {"style_reward": r_style.mean().item(), "reward": r.mean().item()}

    def ready(self) -> bool:
        return self.t >= self.ppo.steps_per_env

    @torch.no_grad()
    def _advantages(self):
        p = self.ppo
        last_value = self.ac.value(self._t(self._last_obs))
        adv = torch.zeros_like(self.rewards)
        gae = torch.zeros_like(last_value)
        for i in reversed(range(self.t)):
            next_value = last_value if i == self.t - 1 else self.values[i + 1]
            not_done = 1.0 - self.dones[i]
            delta = self.rewards[i] + p.gamma * next_value * not_done - self.values[i]
            gae = delta + p.gamma * p.lam * not_done * gae
            adv[i] = gae
        return adv, adv + self.values

    def update(self) -> dict:
        p = self.ppo
        adv, returns = self._advantages()
        adv = (adv - adv.mean()) / (adv.std() + 1e-8)
        flat = lambda x: x.reshape(-1, *x.shape[2:])
        obs, act, old_logp, old_v = flat(self.obs), flat(self.act_buf), flat(self.logp), flat(self.values)
        old_mu, old_sigma, adv, returns = flat(self.mu), flat(self.sigma), flat(adv), flat(returns)
        total = obs.shape[0]
        mb = total // p.minibatches
        stats = {k: 0.0 for k in ("surrogate", "value_loss", "entropy", "kl", "disc_loss", "grad_pen",
                                  "disc_expert", "disc_policy")}
        count = 0
        for _ in range(p.epochs):
            perm = torch.randperm(total, device=self.device)
            for j in range(p.minibatches):
                idx = perm[j * mb:(j + 1) * mb]
                d = self.ac.dist(obs[idx])
                logp = d.log_prob(act[idx]).sum(-1)
                with torch.no_grad():
                    kl = (torch.log(d.stddev / old_sigma[idx]) + (old_sigma[idx].square()
                          + (old_mu[idx] - d.mean).square()) / (2 * d.stddev.square()) - 0.5).sum(-1).mean()
                    if kl > 2 * p.desired_kl:
                        self.lr = max(1e-5, self.lr / 1.5)
                    elif 0 < kl < p.desired_kl / 2:
                        self.lr = min(1e-2, self.lr * 1.5)
                    for g in self.opt.param_groups:
                        g["lr"] = self.lr
                ratio = torch.exp(logp - old_logp[idx])
                surrogate = -torch.min(ratio * adv[idx], ratio.clamp(1 - p.clip, 1 + p.clip) * adv[idx]).mean()
                v = self.ac.value(obs[idx])
                v_clipped = old_v[idx] + (v - old_v[idx]).clamp(-p.clip, p.clip)
                value_loss = torch.max((v - returns[idx]).square(), (v_clipped - returns[idx]).square()).mean()
                entropy = d.entropy().sum(-1).mean()

                l_amp, l_grad, dstats = discriminator_batch_loss(self.disc, self.expert, self.amp_replay, mb,
                                                                 self.amp_cfg)

                loss = (surrogate + p.value_coef * value_loss - p.entropy_coef * entropy
                        + self.amp_cfg.loss_coef * l_amp + l_grad)
                self.opt.zero_grad(set_to_none=True)
                loss.backward()
                nn.utils.clip_grad_norm_(self.ac.parameters(), p.max_grad_norm)
                self.opt.step()
                for k, val in (("surrogate", surrogate.item()), ("value_loss", value_loss.item()),
                               ("entropy", entropy.item()), ("kl", kl.item()), ("disc_loss", l_amp.item()),
                               ("grad_pen", l_grad.item()), ("disc_expert", dstats["disc_expert"]),
                               ("disc_policy", dstats["disc_policy"])):
                    stats[k] += val
                count += 1
        self.t = 0
        out = {k: v / count for k, v in stats.items()}
        out.update(lr=self.lr, action_std=self.ac.log_std.exp().mean().item())
        return out

    def state_dict(self) -> dict:
        return {"ac": self.ac.state_dict(), "disc": self.disc.state_dict(), "opt": self.opt.state_dict(),
                "lr": self.lr}

    def load_state_dict(self, d: dict) -> None:
        self.ac.load_state_dict(d["ac"])
        self.disc.load_state_dict(d["disc"])
        self.opt.load_state_dict(d["opt"])
        self.lr = d["lr"]
        self.t = 0   # a resumed run starts a fresh rollout
