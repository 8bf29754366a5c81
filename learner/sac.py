"""AMP+SAC (the AMP+SAC paper, Sec. II-C, Tables I-II) with rsl-rl-sac's fixes, each switchable.

Per training iteration (one step of all N envs):
1. act with the squashed-Gaussian actor; step the task;
2. style reward r_AMP = max(0, 1 - 0.25 (D(x) - 1)^2) of the step's AMP window x (`learner/amp.py`; the
   pair (s, s') by default) from the current discriminator;
   reward r = w_task r_task + w_amp * coef * r_AMP (eq. 6), stored with the transition (or, with
   `sac.relabel_style_reward`, the task part and the AMP window are stored and r_AMP is recomputed with the
   discriminator of the moment each time the transition is sampled);
3. `updates_per_step` times: critic (twin Q, clipped double-Q, n-step target from the pre-reset
   observation), actor (eq. 3), temperature (towards -scale * action dims), Polyak targets (tau).
   The actor's AdamW also holds the discriminator, and for the first `amp.updates_per_iter` updates of an
   iteration the actor loss carries the discriminator terms (eq. 4):
   J = E[alpha log pi - min Q] + lambda_AMP L_AMP + L_grad,
   with L_AMP the least-squares loss on expert windows vs the replay of policy windows and L_grad the
   gradient penalty on expert windows (eq. 2). These terms do not depend on the actor, so in effect the discriminator
   is trained by the actor's optimiser, as the paper describes ("optimized with the policy parameters").
"""

from __future__ import annotations

import copy

import numpy as np
import torch
import torch.nn.functional as F

from amp_data.expert.amp_obs import AMP_OBS_DIM
from learner.amp import Discriminator, PolicyWindows, discriminator_batch_loss
from learner.networks import QNetwork, RunningNorm, SquashedGaussianActor, adamw, polyak_
from learner.replay import NStepReplay
from learner.rewards import combined_reward, style_part


class AmpSac:
    def __init__(self, cfg, obs_dim: int, act_dim: int, action_low, action_high, expert, device):
        self.cfg, self.sac, self.amp_cfg, self.rew_cfg = cfg, cfg.sac, cfg.amp, cfg.reward
        self.device = torch.device(device)
        self.expert = expert
        s = self.sac
        if not s.action_bounds_from_limits:
            action_low, action_high = -np.ones(act_dim), np.ones(act_dim)
        self.actor = SquashedGaussianActor(obs_dim, act_dim, s.hidden, s.activation, action_low, action_high,
                                           small_init=s.actor_init, init_std=s.init_std).to(self.device)
        self.q1 = QNetwork(obs_dim, act_dim, s.hidden, s.activation).to(self.device)
        self.q2 = QNetwork(obs_dim, act_dim, s.hidden, s.activation).to(self.device)
        self.q1_target, self.q2_target = copy.deepcopy(self.q1), copy.deepcopy(self.q2)
        for p in list(self.q1_target.parameters()) + list(self.q2_target.parameters()):
            p.requires_grad_(False)
        self.log_alpha = torch.tensor(np.log(s.init_alpha), dtype=torch.float32, device=self.device,
                                      requires_grad=True)
        self.target_entropy = -s.target_entropy_scale * act_dim
        self.obs_norm = RunningNorm(obs_dim).to(self.device)
        self.disc = Discriminator(AMP_OBS_DIM, self.amp_cfg.hidden, self.amp_cfg.min_std,
                                  self.amp_cfg.window_frames, self.amp_cfg.spectral_norm,
                                  label_dim=getattr(expert, "label_dim", 0)).to(self.device)

        self.actor_opt = adamw(
            [{"params": self.actor.parameters(), "weight_decay": s.weight_decay}]
            + self.disc.param_groups(self.amp_cfg.trunk_weight_decay, self.amp_cfg.head_weight_decay),
            self.device, lr=s.actor_lr)
        self._critic_params = list(self.q1.parameters()) + list(self.q2.parameters())
        self.critic_opt = adamw(self._critic_params, self.device, lr=s.critic_lr, weight_decay=s.weight_decay)
        self.alpha_opt = adamw([self.log_alpha], self.device, lr=s.alpha_lr, weight_decay=0.0)
        self._actor_params = list(self.actor.parameters())
        self._target_params = list(self.q1_target.parameters()) + list(self.q2_target.parameters())

        self.replay = NStepReplay(cfg.env.num_envs, s.replay_size, obs_dim, act_dim, self.device, s.n_step,
                                  aux_dim=self.disc.window_dim if s.relabel_style_reward else 0)
        self.amp_replay = PolicyWindows(self.disc.window_dim, self.amp_cfg.replay_size, self.amp_cfg.history_size,
                                        self.amp_cfg.history_fraction, self.device)
        self.steps_collected = 0   # iterations (steps of all envs)
        self._noise = None         # the AR(1) exploration noise's state (sac.exploration_tau_s > 0)
        self.grad_steps_per_update = s.updates_per_step

    # ------------------------------------------------------------------ acting

    def _t(self, x) -> torch.Tensor:
        """numpy arrays or tensors (a task on a device backend) as float32 tensors on the agent's device."""
        return torch.as_tensor(x, dtype=torch.float32, device=self.device)

    @torch.no_grad()
    def act(self, obs, deterministic: bool = False):
        """Actions (N, 12) for observations (N, obs_dim): numpy for numpy, a tensor (agent's device) for a tensor."""
        o = self.obs_norm.normalize(self._t(obs))
        if deterministic:
            a = self.actor.deterministic(o)
        elif self.sac.exploration_tau_s > 0:
            a = self.actor.with_noise(o, self._correlated_noise(o.shape[0], self.actor.center.shape[0]))
        else:
            a = self.actor.sample(o)[0]
        return a if torch.is_tensor(obs) else a.cpu().numpy()

    def _correlated_noise(self, n: int, act_dim: int) -> torch.Tensor:
        """The next (n, act_dim) draw of the AR(1) exploration noise: eps' = rho eps + sqrt(1 - rho^2) xi,
        rho = exp(-dt / tau), xi ~ N(0, I); N(0, 1) at every step, correlated over about tau seconds. A new
        number of environments starts it afresh."""
        dt_s = self.cfg.env.sim_dt_s * self.cfg.env.decimation
        rho = float(np.exp(-dt_s / self.sac.exploration_tau_s))
        xi = torch.randn(n, act_dim, device=self.device)
        if self._noise is None or self._noise.shape != xi.shape:
            self._noise = xi
        else:
            self._noise = rho * self._noise + float(np.sqrt(1.0 - rho * rho)) * xi
        return self._noise

    def observe(self, obs: np.ndarray, actions: np.ndarray, res) -> dict:
        """Store one step of all envs; returns the step's mean style and total reward."""
        window = self._t(res.amp_window)
        r_style = self.disc.style_reward(window)
        r_task = self._t(res.task_reward)
        r = combined_reward(self.rew_cfg, r_task, r_style)
        relabel = self.sac.relabel_style_reward
        self.replay.add(self._t(obs), self._t(actions), self.rew_cfg.w_task * r_task if relabel else r,
                        self._t(res.next_obs), torch.as_tensor(res.terminated, device=self.device),
                        torch.as_tensor(res.timed_out, device=self.device), aux=window if relabel else None)
        self.amp_replay.add(window)
        self.obs_norm.update(self._t(obs))
        self.steps_collected += 1
        return {"style_reward": r_style.mean().item(), "reward": r.mean().item()}

    def ready(self) -> bool:
        """True when an update round is due: after the warm-up, every `steps_per_iter` steps."""
        return (self.steps_collected >= max(self.sac.warmup_steps, self.sac.n_step)
                and self.steps_collected % self.sac.steps_per_iter == 0)

    # ------------------------------------------------------------------ learning

    @property
    def alpha(self) -> torch.Tensor:
        return self.log_alpha.exp()

    def update(self) -> dict:
        s, out = self.sac, {}
        for i in range(s.updates_per_step):
            with_disc = i < self.amp_cfg.updates_per_iter
            out = self._update_once(with_disc, out)
        return out

    def _critics_require_grad(self, flag: bool) -> None:
        for p in self._critic_params:
            p.requires_grad_(flag)

    def _task_plus_current_style(self, r_task: torch.Tensor, amp_windows: torch.Tensor) -> torch.Tensor:
        """Stored (weighted) task reward plus the style part of eq. 6 of the stored AMP windows under the
        current D."""
        return r_task + style_part(self.rew_cfg, self.disc.style_reward(amp_windows))

    def _update_once(self, with_disc: bool, prev: dict) -> dict:
        s, stats = self.sac, dict(prev)
        obs, act, ret, boot_obs, discount = self.replay.sample(
            s.batch_size, s.gamma, s.nstep_stop_at_termination, s.timeout_bootstrap,
            reward_of=self._task_plus_current_style if s.relabel_style_reward else None)
        o, bo = self.obs_norm.normalize(obs), self.obs_norm.normalize(boot_obs)
        alpha = self.alpha.detach()

        with torch.no_grad():
            a_next, logp_next = self.actor.sample(bo)
            q_next = torch.min(self.q1_target(bo, a_next), self.q2_target(bo, a_next)) - alpha * logp_next
            target = ret + discount * q_next
        q1, q2 = self.q1(o, act), self.q2(o, act)
        critic_loss = F.mse_loss(q1, target) + F.mse_loss(q2, target)
        self.critic_opt.zero_grad(set_to_none=True)
        critic_loss.backward()
        torch.nn.utils.clip_grad_norm_(self._critic_params, s.max_grad_norm)
        self.critic_opt.step()
        stats["critic_loss"] = critic_loss.item()
        return self._actor_step(o, alpha, with_disc, stats)

    def _actor_step(self, o: torch.Tensor, alpha: torch.Tensor, with_disc: bool, stats: dict) -> dict:
        """After the critics' step: the actor's (with the discriminator's terms when `with_disc`), the
        temperature's and the target critics' Polyak step, on normalised observations `o`."""
        s = self.sac
        a_pi, logp = self.actor.sample(o)
        # the actor's loss needs dQ/da, not the critics' weight gradients (which its optimiser never uses)
        self._critics_require_grad(False)
        q_pi = torch.min(self.q1(o, a_pi), self.q2(o, a_pi))
        self._critics_require_grad(True)
        actor_loss = (alpha * logp - q_pi).mean()
        loss = actor_loss
        if with_disc:
            l_amp, l_grad, dstats = discriminator_batch_loss(self.disc, self.expert, self.amp_replay,
                                                             self.amp_cfg.batch_size, self.amp_cfg)
            loss = loss + self.amp_cfg.loss_coef * l_amp + l_grad
            stats.update(disc_loss=l_amp.item(), grad_pen=l_grad.item(), **dstats)
        self.actor_opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self._actor_params, s.max_grad_norm)
        self.actor_opt.step()

        alpha_loss = -(self.log_alpha * (logp.detach() + self.target_entropy)).mean()
        self.alpha_opt.zero_grad(set_to_none=True)
        alpha_loss.backward()
        self.alpha_opt.step()

        with torch.no_grad():
            polyak_(self._target_params, self._critic_params, s.tau)
        stats.update(actor_loss=actor_loss.item(), alpha=self.alpha.item(), entropy=-logp.mean().item(),
                     q=q_pi.mean().item())
        return stats

    # ------------------------------------------------------------------ checkpoints

    def state_dict(self) -> dict:
        return {"actor": self.actor.state_dict(), "q1": self.q1.state_dict(), "q2": self.q2.state_dict(),
                "q1_target": self.q1_target.state_dict(), "q2_target": self.q2_target.state_dict(),
                "log_alpha": self.log_alpha.detach().cpu(), "obs_norm": self.obs_norm.state_dict(),
                "disc": self.disc.state_dict(), "actor_opt": self.actor_opt.state_dict(),
                "critic_opt": self.critic_opt.state_dict(), "alpha_opt": self.alpha_opt.state_dict()}

    def load_state_dict(self, d: dict) -> None:
        for k in ("actor", "q1", "q2", "q1_target", "q2_target", "obs_norm", "disc"):
            getattr(self, k).load_state_dict(d[k])
        for k in ("actor_opt", "critic_opt", "alpha_opt"):
            opt = getattr(self, k)
            fused = [g["fused"] for g in opt.param_groups]   # this torch's choice, not the saving one's
            opt.load_state_dict(d[k])
            for g, f in zip(opt.param_groups, fused):
                g["fused"] = f
        with torch.no_grad():
            self.log_alpha.copy_(d["log_alpha"])
        # the replays are not saved (up to GBs): after a resume the agent refills them for
        # `warmup_steps` iterations before updating again
        self.steps_collected = 0
