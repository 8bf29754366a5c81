"""The AMP observation of the Go2: one state vector, defined once for the expert data and the simulator.

The discriminator sees pairs (s, s') of this vector, one policy step apart. Both sides must build it
with `amp_observation` so the layout cannot drift. The order is AMP_for_hardware's
(`LeggedRobot.get_amp_observations`: joint_pos, foot_pos, base_lin_vel, base_ang_vel, joint_vel, z_pos):

| name | size | unit | frame / order |
|---|---|---|---|
| `joint_pos` | 12 | rad | joint order FL, FR, RL, RR (hip, thigh, calf), the bank's `joint_names` |
| `foot_pos_base` | 12 | m | foot centres in the base frame, (4, 3) flattened foot-major: FL xyz, FR xyz, RL xyz, RR xyz |
| `base_lin_vel` | 3 | m/s | base frame |
| `base_ang_vel` | 3 | rad/s | base frame |
| `joint_vel` | 12 | rad/s | as `joint_pos` |
| `base_height` | 1 | m | root z above the ground (world z of the base origin; floor at z = 0) |

43 values in all (`AMP_OBS_DIM`). Absolute joint angles are used, not offsets from a default pose.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

# (name, size, unit) in observation order
AMP_OBS_FIELDS: tuple[tuple[str, int, str], ...] = (
    ("joint_pos", 12, "rad"),
    ("foot_pos_base", 12, "m"),
    ("base_lin_vel", 3, "m/s"),
    ("base_ang_vel", 3, "rad/s"),
    ("joint_vel", 12, "rad/s"),
    ("base_height", 1, "m"),
)


def _layout() -> dict[str, slice]:
    out, start = {}, 0
    for name, size, _ in AMP_OBS_FIELDS:
        out[name] = slice(start, start + size)
        start += size
    return out


AMP_OBS_LAYOUT: dict[str, slice] = _layout()
AMP_OBS_DIM: int = sum(size for _, size, _ in AMP_OBS_FIELDS)   # 43


def _is_torch(x) -> bool:
    return type(x).__module__.split(".")[0] == "torch"


def _as_flat(x, lead: tuple[int, ...], size: int, name: str, trailing: tuple[int, ...]):
    """x of shape lead + trailing, reshaped to lead + (size,)."""
    shape = tuple(x.shape)
    if shape != lead + trailing:
        raise ValueError(f"amp_observation: {name} has shape {shape}, expected "
                         f"{lead + trailing} (leading dims {lead} of joint_pos)")
    return x.reshape(*lead, size)


def amp_observation(joint_pos, foot_pos_base, base_lin_vel, base_ang_vel, joint_vel, base_height):
    """The AMP observation (..., 43) from its parts, numpy arrays or torch tensors (not mixed).

    Shapes, with the leading dims `...` of joint_pos for all: joint_pos (..., 12) rad; foot_pos_base
    (..., 4, 3) or (..., 12) m, base frame; base_lin_vel (..., 3) m/s and base_ang_vel (..., 3) rad/s,
    base frame; joint_vel (..., 12) rad/s; base_height (...,) or (..., 1) m. The result has the inputs'
    promoted dtype (and, for torch, their device). torch is never imported here: tensors are
    recognised by their type and concatenated with their own `torch.cat`.
    """
    torch_in = _is_torch(joint_pos)
    if not torch_in:
        joint_pos, foot_pos_base, base_lin_vel, base_ang_vel, joint_vel, base_height = map(
            np.asarray, (joint_pos, foot_pos_base, base_lin_vel, base_ang_vel, joint_vel, base_height))
    lead = tuple(joint_pos.shape[:-1])
    if tuple(joint_pos.shape[-1:]) != (12,):
        raise ValueError(f"amp_observation: joint_pos has shape {tuple(joint_pos.shape)}, expected (..., 12)")
    parts = [
        joint_pos,
        _as_flat(foot_pos_base, lead, 12, "foot_pos_base",
                 (4, 3) if tuple(foot_pos_base.shape[-2:]) == (4, 3) else (12,)),
        _as_flat(base_lin_vel, lead, 3, "base_lin_vel", (3,)),
        _as_flat(base_ang_vel, lead, 3, "base_ang_vel", (3,)),
        _as_flat(joint_vel, lead, 12, "joint_vel", (12,)),
        _as_flat(base_height, lead, 1, "base_height", () if tuple(base_height.shape) == lead else (1,)),
    ]
    if torch_in:
        return _torch_cat(parts)
    return np.concatenate(parts, axis=-1)


def _torch_cat(parts):
    import torch   # only reached with tensors, so torch is already imported by the caller
    return torch.cat(parts, dim=-1)


def amp_observation_from_frames(frames: Mapping[str, np.ndarray]):
    """The AMP observation (T, 43) of a bank's frames (a Bank, `Bank.clip_data(...)` or a dict of its
    datasets): joint_pos, foot_pos_base, base_lin_vel, base_ang_vel, joint_vel, and base_height from
    root_pos[..., 2]. Works on any leading dims, numpy or torch."""
    return amp_observation(frames["joint_pos"], frames["foot_pos_base"], frames["base_lin_vel"],
                           frames["base_ang_vel"], frames["joint_vel"], frames["root_pos"][..., 2])


def split_amp_observation(obs) -> dict:
    """The named parts of observations (..., 43) as views; foot_pos_base comes back as (..., 4, 3)."""
    out = {name: obs[..., sl] for name, sl in AMP_OBS_LAYOUT.items()}
    out["foot_pos_base"] = out["foot_pos_base"].reshape(*obs.shape[:-1], 4, 3)
    out["base_height"] = out["base_height"][..., 0]
    return out
