"""SAC replay buffer of vectorised-env transitions, with n-step returns built when sampling.

Stored per step and env: obs, action, reward, next_obs (the observation the step reached, *before* any reset:
the bootstrap state of rsl-rl-sac's time-out fix), terminated and timed_out, and optionally `aux_dim` extra
values per step (AMP uses them to recompute the style reward with the current discriminator when sampling).
Rows are time-major (T, N) so a window of n consecutive steps of one env is n rows of one column.
"""

from __future__ import annotations

from dataclasses import dataclass

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
    weights, k, discount = nstep_weights(terminated, timed_out, gamma, stop_at_done, timeout_bootstrap,
                                         rewards.dtype)
    return (rewards * weights).sum(1), k, discount


def nstep_weights(terminated, timed_out, gamma: float, stop_at_done: bool = True, timeout_bootstrap: bool = True,
                  dtype=torch.float32):
    """The rewards' part of `nstep_returns` apart: (weights (B, n), k (B,), discount (B,)) with
    G = sum_j weights_j r_j (gamma^j up to the window's first episode end, 0 after it), so that the
    bootstrap (k, discount) is known before the rewards are (they may be recomputed meanwhile)."""
    b, n = terminated.shape
    ended = terminated | timed_out
    fails = terminated if timeout_bootstrap else ended
    powers = gamma ** torch.arange(n, dtype=dtype, device=terminated.device)
    if stop_at_done:
        ended_before = (torch.cumsum(ended.to(torch.int64), dim=1) - ended.to(torch.int64)) > 0
        weights = powers * (~ended_before)
        any_end = ended.any(1)
        k = torch.where(any_end, ended.to(torch.int64).argmax(1), torch.full_like(any_end, n - 1, dtype=torch.int64))
    else:
        weights = powers.expand(b, n)
        k = torch.full((b,), n - 1, dtype=torch.int64, device=terminated.device)
    fail_k = fails.gather(1, k[:, None]).squeeze(1)
    discount = gamma ** (k + 1).to(dtype) * (~fail_k).to(dtype)
    return weights, k, discount


@dataclass
class NStepBatch:
    """A batch of n-step windows before their return is summed: the first transition's obs and act, the
    bootstrap observation and discount, and per step the stored reward and aux values (B, n, ...).
    `nstep_return(rew)` sums a (possibly recomputed) reward of the same windows."""
    obs: torch.Tensor
    act: torch.Tensor
    boot_obs: torch.Tensor
    discount: torch.Tensor
    rew: torch.Tensor
    aux: torch.Tensor | None
    weights: torch.Tensor

    def nstep_return(self, rew: torch.Tensor) -> torch.Tensor:
        return (rew * self.weights).sum(1)


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
        b = self.sample_windows(batch, gamma, stop_at_done, timeout_bootstrap, generator)
        rew = b.rew if reward_of is None else reward_of(b.rew, b.aux)
        return b.obs, b.act, b.nstep_return(rew), b.boot_obs, b.discount

    def sample_windows(self, batch: int, gamma: float, stop_at_done: bool, timeout_bootstrap: bool,
                       generator: torch.Generator | None = None) -> NStepBatch:
        """`sample` before the rewards are summed (same random draws): an `NStepBatch`."""
        n, dev = self.n_step, self.obs.device
        starts = self.size - n + 1
        if starts < 1:
            raise RuntimeError("replay holds fewer steps than the n-step window")
        oldest = (self.pos - self.size) % self.rows
        t0 = (oldest + torch.randint(0, starts, (batch,), device=dev, generator=generator)) % self.rows
        env = torch.randint(0, self.num_envs, (batch,), device=dev, generator=generator)
        rows = (t0[:, None] + torch.arange(n, device=dev)) % self.rows          # (B, n)
        cols = env[:, None].expand(-1, n)
        weights, k, discount = nstep_weights(self.terminated[rows, cols], self.timed_out[rows, cols], gamma,
                                             stop_at_done, timeout_bootstrap)
        boot_rows = rows.gather(1, k[:, None]).squeeze(1)
        return NStepBatch(self.obs[t0, env], self.act[t0, env], self.next_obs[boot_rows, env], discount,
                          self.rew[rows, cols], self.aux[rows, cols] if self.aux is not None else None, weights)

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
