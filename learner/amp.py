"""The AMP discriminator: network, least-squares loss with gradient penalty (eq. 2), style reward (eq. 5),
running normaliser of AMP observations and the replay of policy transitions it is trained against.

Inputs are windows of K `amp_data.expert.amp_obs` observations (43 each) in time order, `amp.frame_stride`
policy steps apart; K = 2 with stride 1 is AMP's pair (s, s'). Every frame is normalised by one running
normaliser fed with both expert and policy states (AMP_for_hardware). With `amp.gait_condition` a window
ends with a one-hot label of the gait it should be (expert: its clip's bank; policy: its gait clock's), which
passes unnormalised: D then judges p(motion | gait), and a walk at the trot's command is fake. Expert
windows come from `amp_data.expert.sampler.ExpertSampler`, policy windows from the task's AMP history
(`learner/task.py`).
"""

from __future__ import annotations

import torch
from torch import nn

from learner.networks import ACTIVATIONS, RunningNorm
from learner.rewards import amp_reward


class Discriminator(nn.Module):
    """D(x) of a window x = (o_1, ..., o_K) of K AMP observations in time order (K = 2: AMP's (s, s')).

    ReLU trunk (Table II: [1024, 512]) and a linear head; expert -> +1, policy -> -1. Every frame of a
    window is normalised by the same running normaliser of single AMP observations. `spectral_norm`
    divides every layer's weight by its largest singular value (Miyato et al. 2018, torch's power-iteration
    parametrisation), so that D is at most 1-Lipschitz in the normalised window: its score can only change
    as fast as the window does, and a policy part of the way to the reference is scored part of the way.
    """

    def __init__(self, amp_obs_dim: int, hidden, min_std: float = 0.01, window_frames: int = 2,
                 spectral_norm: bool = False, label_dim: int = 0):
        super().__init__()
        self.amp_obs_dim, self.window_frames, self.label_dim = amp_obs_dim, window_frames, label_dim
        linear = ((lambda i, o: nn.utils.parametrizations.spectral_norm(nn.Linear(i, o))) if spectral_norm
                  else nn.Linear)
        layers, d = [], window_frames * amp_obs_dim + label_dim
        for h in hidden:
            layers += [linear(d, h), ACTIVATIONS["relu"]()]
            d = h
        self.trunk = nn.Sequential(*layers)
        self.head = linear(d, 1)
        self.normalizer = RunningNorm(amp_obs_dim, min_std=min_std)

    @property
    def window_dim(self) -> int:
        return self.window_frames * self.amp_obs_dim + self.label_dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """D of already-normalised windows (..., window_dim), (...)."""
        return self.head(self.trunk(x)).squeeze(-1)

    def normalize(self, window: torch.Tensor) -> torch.Tensor:
        """Raw windows (..., K * obs + label) -> normalised frame by frame, the label as it is."""
        lead, n = window.shape[:-1], self.window_frames * self.amp_obs_dim
        frames = self.normalizer.normalize(window[..., :n].reshape(*lead, self.window_frames, self.amp_obs_dim))
        frames = frames.reshape(*lead, n)
        return torch.cat([frames, window[..., n:]], dim=-1) if self.label_dim else frames

    def update_normalizer(self, windows: torch.Tensor) -> None:
        """Feed the normaliser the first frame of each window (for K = 2, the s of AMP_for_hardware)."""
        self.normalizer.update(windows[:, :self.amp_obs_dim])

    def score(self, window: torch.Tensor) -> torch.Tensor:
        """D of raw windows (..., window_dim) (normalised here), (...)."""
        return self(self.normalize(window))

    @torch.no_grad()
    def style_reward(self, window: torch.Tensor) -> torch.Tensor:
        """r_AMP = max(0, 1 - 0.25 (D - 1)^2) in [0, 1], (B,) (eq. 5, before the reward coefficient)."""
        return amp_reward(self.score(window))

    def param_groups(self, trunk_weight_decay: float, head_weight_decay: float) -> list[dict]:
        return [{"params": self.trunk.parameters(), "weight_decay": trunk_weight_decay},
                {"params": self.head.parameters(), "weight_decay": head_weight_decay}]


def gradient_penalty(disc: Discriminator, x: torch.Tensor) -> torch.Tensor:
    """E ||grad_x D(x)||^2 over normalised expert windows x, differentiable (create_graph); with a gait
    label only the motion's gradient: the label is discrete, and penalising D's slope across it would
    forbid D to score the same motion differently under another gait."""
    x = x.detach().clone().requires_grad_(True)
    (g,) = torch.autograd.grad(disc(x).sum(), (x,), create_graph=True)
    return g[..., :disc.window_dim - disc.label_dim].square().sum(-1).mean()


def discriminator_loss(disc: Discriminator, expert_windows, policy_windows, grad_pen_coef: float,
                       input_noise_std: float = 0.0):
    """Eq. 2 on raw AMP windows: (L_AMP, L_grad, stats).

    L_AMP = 0.5 (E_expert (D - 1)^2 + E_policy (D + 1)^2) (AMP_for_hardware's halving);
    L_grad = grad_pen_coef * E_expert ||grad_x D||^2 (x: the motion, not a gait label). Both differentiable
    w.r.t. the discriminator.
    The expert and policy batches go through the network as one batch. `input_noise_std` > 0: instance
    noise, N(0, std^2) added to every normalised motion input of both batches while training (the style reward
    scores clean windows), so that the two distributions overlap and D cannot separate them perfectly.
    """
    x = disc.normalize(torch.cat([expert_windows, policy_windows]))
    if input_noise_std > 0:
        noise = input_noise_std * torch.randn_like(x)
        if disc.label_dim:
            noise[:, -disc.label_dim:] = 0.0            # the gait label stays exact
        x = x + noise
    n_e = expert_windows.shape[0]
    d = disc(x)
    d_expert, d_policy = d[:n_e], d[n_e:]
    l_amp = 0.5 * ((d_expert - 1).square().mean() + (d_policy + 1).square().mean())
    l_grad = grad_pen_coef * gradient_penalty(disc, x[:n_e])
    stats = {"disc_expert": d_expert.mean().item(), "disc_policy": d_policy.mean().item()}
    return l_amp, l_grad, stats


def discriminator_batch_loss(disc: Discriminator, expert, negatives: "PolicyWindows", batch_size: int, amp_cfg):
    """One discriminator batch, as both algorithms train it: `batch_size` expert windows from `expert`
    (an `ExpertSampler`) and as many negatives: policy windows from `negatives`, and with
    `amp_cfg.rhythm_negatives` > 0 that share of them the reference's motion with its rhythm wrong
    (`ExpertSampler.distorted_windows`); the normaliser is fed the expert and policy windows, then eq. 2 is
    evaluated with `amp_cfg`'s gradient penalty and input noise. Returns `discriminator_loss`'s
    (L_AMP, L_grad, stats)."""
    dev = disc.head.weight.device
    e = torch.as_tensor(expert.sample_windows(batch_size), dtype=torch.float32, device=dev)
    n_rhythm = int(round(batch_size * amp_cfg.rhythm_negatives))
    p = negatives.sample(batch_size - n_rhythm)
    disc.update_normalizer(torch.cat([e, p]))
    if n_rhythm:
        wrong = expert.distorted_windows(n_rhythm, amp_cfg.rhythm_speedups, amp_cfg.rhythm_reversed_share)
        p = torch.cat([p, torch.as_tensor(wrong, dtype=torch.float32, device=dev)])
    return discriminator_loss(disc, e, p, amp_cfg.grad_pen_coef, amp_cfg.input_noise_std)


class WindowReplay:
    """Circular buffer of policy AMP windows (n, window_dim) on `device`, for the discriminator's negatives."""

    def __init__(self, window_dim: int, capacity: int, device):
        self.x = torch.zeros((capacity, window_dim), device=device)
        self.capacity, self.pos, self.size = capacity, 0, 0

    def add(self, x: torch.Tensor) -> None:
        n = x.shape[0]
        idx = (self.pos + torch.arange(n, device=self.x.device)) % self.capacity
        self.x[idx] = x.to(self.x.dtype)
        self.pos = (self.pos + n) % self.capacity
        self.size = min(self.size + n, self.capacity)

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        idx = torch.randint(0, self.size, (n,), device=self.x.device, generator=generator)
        return self.x[idx]


class WindowReservoir:
    """A uniform sample of every policy AMP window ever added (reservoir sampling, Vitter's algorithm R).

    After `seen` windows each of them is held with probability capacity / seen. The recent-windows replay
    forgets within minutes what the policy did before, and a discriminator that no longer sees, say,
    standing still stops scoring it as fake: the policy can then drift back to it (GAN mode hopping).
    A share of negatives from this history (Shrivastava et al. 2017, SimGAN's history buffer) keeps
    earlier behaviours judged. Random numbers come from torch's global generator (seeded, checkpointed).
    """

    def __init__(self, window_dim: int, capacity: int, device):
        self.x = torch.zeros((capacity, window_dim), device=device)
        self.capacity, self.size, self.seen = capacity, 0, 0

    def add(self, x: torch.Tensor) -> None:
        n, dev = x.shape[0], self.x.device
        fill = min(n, self.capacity - self.size)
        if fill:
            self.x[self.size:self.size + fill] = x[:fill].to(self.x.dtype)
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
                slot, src = uniq.to(dev), src[first].to(x.device)
                self.x[slot] = x[src].to(self.x.dtype)
        self.seen += n

    def sample(self, n: int) -> torch.Tensor:
        idx = torch.randint(0, self.size, (n,), device=self.x.device)
        return self.x[idx]


def _first_occurrence(x: torch.Tensor):
    """Unique values of a 1-D tensor and the index of each one's first occurrence."""
    uniq, inverse = torch.unique(x, return_inverse=True)
    pos = torch.arange(x.numel())
    first = torch.full((uniq.numel(),), x.numel(), dtype=torch.long).scatter_reduce_(0, inverse, pos, "amin")
    return uniq, first


class PolicyWindows:
    """The discriminator's negatives: recent policy windows, and with `history_capacity` > 0 a
    `history_fraction` share of each batch drawn from a reservoir of the whole run's windows."""

    def __init__(self, window_dim: int, recent_capacity: int, history_capacity: int, history_fraction: float,
                 device):
        self.recent = WindowReplay(window_dim, recent_capacity, device)
        self.history = WindowReservoir(window_dim, history_capacity, device) if history_capacity > 0 else None
        self.history_fraction = history_fraction if self.history is not None else 0.0

    def add(self, x: torch.Tensor) -> None:
        self.recent.add(x)
        if self.history is not None:
            self.history.add(x)

    def sample(self, n: int) -> torch.Tensor:
        n_hist = int(round(n * self.history_fraction))
        if n_hist == 0:
            return self.recent.sample(n)
        return torch.cat([self.recent.sample(n - n_hist), self.history.sample(n_hist)])
