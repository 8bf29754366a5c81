"""Small torch building blocks: MLPs, a running observation normaliser, the squashed-Gaussian actor."""

from __future__ import annotations

import math

import torch
from torch import nn
import torch.nn.functional as F

ACTIVATIONS = {"gelu": nn.GELU, "relu": nn.ReLU, "elu": nn.ELU, "silu": nn.SiLU, "tanh": nn.Tanh}
LOG_STD_MIN, LOG_STD_MAX = -10.0, 2.0


_CPU_FUSED_ADAM = tuple(int(v) for v in torch.__version__.split("+")[0].split(".")[:2]) >= (2, 4)


def adamw(params, device, **kwargs) -> torch.optim.AdamW:
    """AdamW with PyTorch's fused kernel where this torch has one for `device` (CPU: torch >= 2.4; the same
    update, one kernel for all tensors instead of a Python loop: x1.04 gradient steps/s of the cpu preset's
    AMP+SAC round, benchmarks/sac_update_changes.py), the for-loop implementation otherwise."""
    fused = torch.device(device).type == "cuda" or _CPU_FUSED_ADAM
    return torch.optim.AdamW(params, fused=fused or None, **kwargs)


def polyak_(targets, sources, tau: float) -> None:
    """target <- target + tau (source - target) for each pair of tensors, in one foreach call."""
    torch._foreach_lerp_(list(targets), list(sources), tau)


def mlp(in_dim: int, hidden, out_dim: int, activation: str = "gelu") -> nn.Sequential:
    if activation not in ACTIVATIONS:
        raise ValueError(f"unknown activation {activation!r}; choose one of {', '.join(ACTIVATIONS)}")
    layers, d = [], in_dim
    for h in hidden:
        layers += [nn.Linear(d, h), ACTIVATIONS[activation]()]
        d = h
    layers.append(nn.Linear(d, out_dim))
    return nn.Sequential(*layers)


class RunningNorm(nn.Module):
    """Running mean/std of observations (parallel Welford merge); `normalize` maps to ~zero mean, unit std.

    State lives in buffers, so it is saved and restored with the module's state_dict. `min_std` floors
    the std (Table II's minimum normalised std) so constant features do not blow up.
    """

    def __init__(self, dim: int, min_std: float = 0.01, clip: float = 10.0):
        super().__init__()
        self.register_buffer("mean", torch.zeros(dim, dtype=torch.float64))
        self.register_buffer("var", torch.ones(dim, dtype=torch.float64))
        self.register_buffer("count", torch.zeros((), dtype=torch.float64))
        self.min_std, self.clip = min_std, clip

    @torch.no_grad()
    def update(self, x: torch.Tensor) -> None:
        x = x.reshape(-1, x.shape[-1]).to(torch.float64)
        n = x.shape[0]
        if n == 0:
            return
        b_mean, b_var = x.mean(0), x.var(0, unbiased=False)
        total = self.count + n
        delta = b_mean - self.mean
        self.mean += delta * n / total
        self.var = (self.var * self.count + b_var * n + delta.square() * self.count * n / total) / total
        self.count = total

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        std = self.var.sqrt().clamp(min=self.min_std).to(x.dtype)
        return ((x - self.mean.to(x.dtype)) / std).clamp(-self.clip, self.clip)


def squash(u: torch.Tensor, center: torch.Tensor, half: torch.Tensor):
    """a = center + half * tanh(u) and log |da/du| summed over the last axis (stable form of
    log(half * (1 - tanh(u)^2)) = log half + 2 (log 2 - u - softplus(-2u)))."""
    a = center + half * torch.tanh(u)
    log_det = (torch.log(half) + 2.0 * (math.log(2.0) - u - F.softplus(-2.0 * u))).sum(-1)
    return a, log_det


class SquashedGaussianActor(nn.Module):
    """pi(a|s): u ~ N(mu(s), sigma(s)), a = center + half * tanh(u), per joint bounds [low, high].

    log pi(a|s) = log N(u) - sum_j log(half_j (1 - tanh(u_j)^2)) (change of variables).
    `small_init` (rsl-rl-sac's actor initialisation): the mean head gets small uniform weights and a bias
    that puts tanh's output at action 0 (the default pose) even for asymmetric bounds; the log-std head
    gets zero weights and the constant bias log(init_std).
    """

    def __init__(self, obs_dim: int, act_dim: int, hidden, activation: str, low, high,
                 small_init: bool = True, init_std: float = 0.1):
        super().__init__()
        self.trunk = mlp(obs_dim, hidden[:-1], hidden[-1], activation)
        self.act = ACTIVATIONS[activation]()
        self.mean_head = nn.Linear(hidden[-1], act_dim)
        self.log_std_head = nn.Linear(hidden[-1], act_dim)
        low, high = torch.as_tensor(low, dtype=torch.float32), torch.as_tensor(high, dtype=torch.float32)
        self.register_buffer("center", (high + low) / 2)
        self.register_buffer("half_range", (high - low) / 2)
        if small_init:
            nn.init.uniform_(self.mean_head.weight, -1e-3, 1e-3)
            zero_u = torch.atanh((-self.center / self.half_range).clamp(-0.999, 0.999))
            with torch.no_grad():
                self.mean_head.bias.copy_(zero_u)
            nn.init.zeros_(self.log_std_head.weight)
            nn.init.constant_(self.log_std_head.bias, math.log(init_std))

    def forward(self, obs: torch.Tensor):
        h = self.act(self.trunk(obs))
        mu = self.mean_head(h)
        log_std = self.log_std_head(h).clamp(LOG_STD_MIN, LOG_STD_MAX)
        return mu, log_std

    def sample(self, obs: torch.Tensor):
        """Reparameterised action (B, A) and its log-probability (B,)."""
        mu, log_std = self(obs)
        std = log_std.exp()
        u = mu + std * torch.randn_like(mu)
        log_n = (-0.5 * ((u - mu) / std).square() - log_std - 0.5 * math.log(2 * math.pi)).sum(-1)
        a, log_det = squash(u, self.center, self.half_range)
        return a, log_n - log_det

    def deterministic(self, obs: torch.Tensor) -> torch.Tensor:
        mu, _ = self(obs)
        return self.center + self.half_range * torch.tanh(mu)

    def with_noise(self, obs: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
        """The action for a given standard-normal draw eps (B, A): center + half tanh(mu + std eps). `sample`
        is this with eps ~ N(0, I) drawn afresh (and its log-probability)."""
        mu, log_std = self(obs)
        return self.center + self.half_range * torch.tanh(mu + log_std.exp() * eps)


class QNetwork(nn.Module):
    def __init__(self, obs_dim: int, act_dim: int, hidden, activation: str):
        super().__init__()
        self.net = mlp(obs_dim + act_dim, hidden, 1, activation)

    def forward(self, obs, act):
        return self.net(torch.cat([obs, act], dim=-1)).squeeze(-1)
