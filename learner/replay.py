"""SAC replay buffer of vectorised-env transitions, with n-step returns built when sampling.

Stored per step and env: obs, action, reward, next_obs (the observation the step reached, *before* any reset:
the bootstrap state of rsl-rl-sac's time-out fix), terminated and timed_out, and optionally `aux_dim` extra
values per step (AMP uses them to recompute the style reward with the current discriminator when sampling).
Rows are time-major (T, N) so a window of n consecutive steps of one env is n rows of one column.
"""

from __future__ import annotations

import torch


def nstep_returns(rewards, terminated, timed_out, gamma: float, stop_at_done: bool = True,
                  timeout_bootstrap: bool = True):
    """n-step return of windows of n transitions (B, n): (G (B,), k (B,), discount (B,)).

    The critic target is G + discount * V(next_obs[k]), with V the soft value at the pre-reset
    observation reached by transition k of the window.

    stop_at_done: the sum stops at the first episode end within the window (that transition's reward
        included) and bootstraps from there (rsl-rl-sac eq. 11); off: a plain sum over all n transitions,
        bootstrapping from the last, across episode boundaries (the naive estimator).
    timeout_bootstrap: a time-out keeps the bootstrap (discount gamma^(k+1)); off: it zeroes it as a
        failure does.
    """
    b, n = rewards.shape
    ended = terminated | timed_out
    fails = terminated if timeout_bootstrap else ended
    powers = gamma ** torch.arange(n, dtype=rewards.dtype, device=rewards.device)
    if stop_at_done:
        ended_before = (torch.cumsum(ended.to(torch.int64), dim=1) - ended.to(torch.int64)) > 0
        ret = (rewards * powers * (~ended_before)).sum(1)
        any_end = ended.any(1)
        k = torch.where(any_end, ended.to(torch.int64).argmax(1), torch.full_like(any_end, n - 1, dtype=torch.int64))
    else:
        ret = (rewards * powers).sum(1)
        k = torch.full((b,), n - 1, dtype=torch.int64, device=rewards.device)
    fail_k = fails.gather(1, k[:, None]).squeeze(1)
    discount = gamma ** (k + 1).to(rewards.dtype) * (~fail_k).to(rewards.dtype)
    return ret, k, discount


class NStepReplay:
    """Circular (T, N) buffer of transitions of N envs on `device`, capacity ~ `capacity` transitions."""

    def __init__(self, num_envs: int, capacity: int, obs_dim: int, act_dim: int, device, n_step: int,
                 aux_dim: int = 0):
        self.num_envs, self.n_step = num_envs, n_step
        self.rows = max(capacity // num_envs, n_step + 1)
        t, e = self.rows, num_envs
        self.obs = torch.zeros((t, e, obs_dim), device=device)
        self.next_obs = torch.zeros((t, e, obs_dim), device=device)
        self.act = torch.zeros((t, e, act_dim), device=device)
        self.rew = torch.zeros((t, e), device=device)
        self.terminated = torch.zeros((t, e), dtype=torch.bool, device=device)
        self.timed_out = torch.zeros((t, e), dtype=torch.bool, device=device)
        self.aux = torch.zeros((t, e, aux_dim), device=device) if aux_dim else None
        self.pos, self.size = 0, 0

    def __len__(self) -> int:
        return self.size * self.num_envs

    def add(self, obs, act, rew, next_obs, terminated, timed_out, aux=None) -> None:
        p = self.pos
        self.obs[p], self.act[p], self.rew[p], self.next_obs[p] = obs, act, rew, next_obs
        self.terminated[p], self.timed_out[p] = terminated, timed_out
        if self.aux is not None:
            self.aux[p] = aux
        self.pos = (p + 1) % self.rows
        self.size = min(self.size + 1, self.rows)

    def sample(self, batch: int, gamma: float, stop_at_done: bool, timeout_bootstrap: bool,
               generator: torch.Generator | None = None, reward_of=None):
        """(obs, act, G, bootstrap_obs, discount), each with leading dim `batch`.

        reward_of: optional `f(stored_rew (B, n), aux (B, n, aux_dim)) -> rew (B, n)` applied to each window
        before the n-step sum (a reward that changes during training, recomputed at sampling time).
        """
        n, dev = self.n_step, self.obs.device
        starts = self.size - n + 1
        if starts < 1:
            raise RuntimeError("replay holds fewer steps than the n-step window")
        oldest = (self.pos - self.size) % self.rows
        t0 = (oldest + torch.randint(0, starts, (batch,), device=dev, generator=generator)) % self.rows
        env = torch.randint(0, self.num_envs, (batch,), device=dev, generator=generator)
        rows = (t0[:, None] + torch.arange(n, device=dev)) % self.rows          # (B, n)
        cols = env[:, None].expand(-1, n)
        rew = self.rew[rows, cols]
        if reward_of is not None:
            rew = reward_of(rew, self.aux[rows, cols])
        ret, k, discount = nstep_returns(rew, self.terminated[rows, cols],
                                         self.timed_out[rows, cols], gamma, stop_at_done, timeout_bootstrap)
        boot_rows = rows.gather(1, k[:, None]).squeeze(1)
        return self.obs[t0, env], self.act[t0, env], ret, self.next_obs[boot_rows, env], discount

    def _keys(self) -> tuple:
        keys = ("obs", "next_obs", "act", "rew", "terminated", "timed_out")
        return keys + ("aux",) if self.aux is not None else keys

    def state_dict(self) -> dict:
        keys = self._keys()
        return {"pos": self.pos, "size": self.size, **{k: getattr(self, k)[: self.size].cpu() for k in keys}}

    def load_state_dict(self, d: dict) -> None:
        for k in self._keys():
            getattr(self, k)[: d["size"]] = d[k].to(getattr(self, k).device)
        self.pos, self.size = d["pos"], d["size"]
