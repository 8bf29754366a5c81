"""The AMP discriminator: network, least-squares loss with gradient penalty (eq. 2), style reward (eq. 5),
running normaliser of AMP observations and the replay of policy transitions it is trained against.

Inputs are pairs (s, s') of `amp_data.amp_obs` observations (43 each), normalised by one running
normaliser fed with both expert and policy states (AMP_for_hardware). Expert pairs come from
`amp_data.sampler.ExpertSampler`.
"""

from __future__ import annotations

import torch
from torch import nn

from learner.networks import ACTIVATIONS, RunningNorm
from learner.rewards import amp_reward


class Discriminator(nn.Module):
    """D(s, s'): ReLU trunk (Table II: [1024, 512]) and a linear head. Expert -> +1, policy -> -1."""

    def __init__(self, amp_obs_dim: int, hidden, min_std: float = 0.01):
        super().__init__()
        layers, d = [], 2 * amp_obs_dim
        for h in hidden:
            layers += [nn.Linear(d, h), ACTIVATIONS["relu"]()]
            d = h
        self.trunk = nn.Sequential(*layers)
        self.head = nn.Linear(d, 1)
        self.normalizer = RunningNorm(amp_obs_dim, min_std=min_std)

    def forward(self, s: torch.Tensor, s_next: torch.Tensor) -> torch.Tensor:
        """D of already-normalised pairs, (B,)."""
        return self.head(self.trunk(torch.cat([s, s_next], dim=-1))).squeeze(-1)

    def score(self, s: torch.Tensor, s_next: torch.Tensor) -> torch.Tensor:
        """D of raw AMP observations (normalised here), (B,)."""
        return self(self.normalizer.normalize(s), self.normalizer.normalize(s_next))

    @torch.no_grad()
    def style_reward(self, s: torch.Tensor, s_next: torch.Tensor) -> torch.Tensor:
        """r_AMP = max(0, 1 - 0.25 (D - 1)^2) in [0, 1], (B,) (eq. 5, before the reward coefficient)."""
        return amp_reward(self.score(s, s_next))

    def param_groups(self, trunk_weight_decay: float, head_weight_decay: float) -> list[dict]:
        return [{"params": self.trunk.parameters(), "weight_decay": trunk_weight_decay},
                {"params": self.head.parameters(), "weight_decay": head_weight_decay}]


def gradient_penalty(disc: Discriminator, s: torch.Tensor, s_next: torch.Tensor) -> torch.Tensor:
    """E ||grad_x D(x)||^2 over the normalised expert inputs x = (s, s'), differentiable (create_graph)."""
    x_s = s.detach().clone().requires_grad_(True)
    x_n = s_next.detach().clone().requires_grad_(True)
    d = disc(x_s, x_n)
    g_s, g_n = torch.autograd.grad(d.sum(), (x_s, x_n), create_graph=True)
    return (g_s.square().sum(-1) + g_n.square().sum(-1)).mean()


def discriminator_loss(disc: Discriminator, expert_s, expert_next, policy_s, policy_next, grad_pen_coef: float):
    """Eq. 2 on raw AMP observations: (L_AMP, L_grad, stats).

    L_AMP = 0.5 (E_expert (D - 1)^2 + E_policy (D + 1)^2) (AMP_for_hardware's halving);
    L_grad = grad_pen_coef * E_expert ||grad_x D||^2. Both differentiable w.r.t. the discriminator.
    """
    norm = disc.normalizer.normalize
    e_s, e_n, p_s, p_n = norm(expert_s), norm(expert_next), norm(policy_s), norm(policy_next)
    d_expert, d_policy = disc(e_s, e_n), disc(p_s, p_n)
    l_amp = 0.5 * ((d_expert - 1).square().mean() + (d_policy + 1).square().mean())
    l_grad = grad_pen_coef * gradient_penalty(disc, e_s, e_n)
    stats = {"disc_expert": d_expert.mean().item(), "disc_policy": d_policy.mean().item()}
    return l_amp, l_grad, stats


class PairReplay:
    """Circular buffer of policy AMP pairs (s, s') on `device`, for the discriminator's negatives."""

    def __init__(self, obs_dim: int, capacity: int, device):
        self.s = torch.zeros((capacity, obs_dim), device=device)
        self.s_next = torch.zeros((capacity, obs_dim), device=device)
        self.capacity, self.pos, self.size = capacity, 0, 0

    def add(self, s: torch.Tensor, s_next: torch.Tensor) -> None:
        n = s.shape[0]
        idx = (self.pos + torch.arange(n, device=self.s.device)) % self.capacity
        self.s[idx], self.s_next[idx] = s.to(self.s.dtype), s_next.to(self.s.dtype)
        self.pos = (self.pos + n) % self.capacity
        self.size = min(self.size + n, self.capacity)

    def sample(self, n: int, generator: torch.Generator | None = None):
        idx = torch.randint(0, self.size, (n,), device=self.s.device, generator=generator)
        return self.s[idx], self.s_next[idx]

    def state_dict(self) -> dict:
        return {"s": self.s[: self.size].cpu(), "s_next": self.s_next[: self.size].cpu(), "pos": self.pos}

    def load_state_dict(self, d: dict) -> None:
        n = d["s"].shape[0]
        self.s[:n], self.s_next[:n] = d["s"].to(self.s.device), d["s_next"].to(self.s.device)
        self.size, self.pos = n, d["pos"]


class PairReservoir:
    """A uniform sample of every policy AMP pair ever added (reservoir sampling, Vitter's algorithm R).

    After `seen` pairs each of them is held with probability capacity / seen. The recent-pairs replay
    forgets within minutes what the policy did before, and a discriminator that no longer sees, say,
    standing still stops scoring it as fake: the policy can then drift back to it (GAN mode hopping).
    A share of negatives from this history (Shrivastava et al. 2017, SimGAN's history buffer) keeps
    earlier behaviours judged. Random numbers come from torch's global generator (seeded, checkpointed).
    """

    def __init__(self, obs_dim: int, capacity: int, device):
        self.s = torch.zeros((capacity, obs_dim), device=device)
        self.s_next = torch.zeros((capacity, obs_dim), device=device)
        self.capacity, self.size, self.seen = capacity, 0, 0

    def add(self, s: torch.Tensor, s_next: torch.Tensor) -> None:
        n, dev = s.shape[0], self.s.device
        fill = min(n, self.capacity - self.size)
        if fill:
            self.s[self.size:self.size + fill] = s[:fill].to(self.s.dtype)
            self.s_next[self.size:self.size + fill] = s_next[:fill].to(self.s.dtype)
            self.size += fill
        if fill < n:
            # item k of the stream (0-based) replaces slot j ~ U{0..k} when j < capacity; within one batch a
            # later item that draws the same slot overwrites an earlier one, as the sequential algorithm does
            k = self.seen + torch.arange(fill, n, dtype=torch.float64)
            slot = (torch.rand(n - fill, dtype=torch.float64) * (k + 1)).floor().long()
            keep = torch.nonzero(slot < self.capacity).squeeze(1)
            if keep.numel():
                slot, src = slot[keep].flip(0), (keep + fill).flip(0)
                uniq, first = _first_occurrence(slot)
                slot, src = uniq.to(dev), src[first].to(s.device)
                self.s[slot], self.s_next[slot] = s[src].to(self.s.dtype), s_next[src].to(self.s.dtype)
        self.seen += n

    def sample(self, n: int):
        idx = torch.randint(0, self.size, (n,), device=self.s.device)
        return self.s[idx], self.s_next[idx]


def _first_occurrence(x: torch.Tensor):
    """Unique values of a 1-D tensor and the index of each one's first occurrence."""
    uniq, inverse = torch.unique(x, return_inverse=True)
    pos = torch.arange(x.numel())
    first = torch.full((uniq.numel(),), x.numel(), dtype=torch.long).scatter_reduce_(0, inverse, pos, "amin")
    return uniq, first


class PolicyPairs:
    """The discriminator's negatives: recent policy pairs, and with `history_capacity` > 0 a
    `history_fraction` share of each batch drawn from a reservoir of the whole run's pairs."""

    def __init__(self, obs_dim: int, recent_capacity: int, history_capacity: int, history_fraction: float,
                 device):
        self.recent = PairReplay(obs_dim, recent_capacity, device)
        self.history = PairReservoir(obs_dim, history_capacity, device) if history_capacity > 0 else None
        self.history_fraction = history_fraction if self.history is not None else 0.0

    def add(self, s: torch.Tensor, s_next: torch.Tensor) -> None:
        self.recent.add(s, s_next)
        if self.history is not None:
            self.history.add(s, s_next)

    def sample(self, n: int):
        n_hist = int(round(n * self.history_fraction))
        if n_hist == 0:
            return self.recent.sample(n)
        h_s, h_n = self.history.sample(n_hist)
        r_s, r_n = self.recent.sample(n - n_hist)
        return torch.cat([r_s, h_s]), torch.cat([r_n, h_n])
