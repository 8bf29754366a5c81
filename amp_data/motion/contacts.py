"""Per-foot contact detection from foot height above the estimated ground and horizontal foot speed.

A foot *touches down* when it is low (`on_height_m` above resting on the ground) and slow (`on_speed_m_s`);
it *lifts off* when it rises above `off_height_m` or moves faster than `off_speed_m_s`. Between the two
thresholds it keeps its previous state (hysteresis), so a foot grazing the threshold does not chatter.
Stances and swings lasting at most `min_phase_s` are then merged into their neighbours.

Heights are of the foot sphere's bottom (centre minus `foot_radius_m`) above the ground, which is
estimated per clip as a low percentile of those bottoms over all feet and frames. Each foot's own resting
level may sit a little above it (mocap markers sit at different heights on fore and hind paws): a foot's low
percentile, up to `max_rest_offset_m` above the ground, counts as its zero.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial.transform import Rotation

from robots.go2.model import FOOT_RADIUS_M


@dataclass(frozen=True)
class ContactConfig:
    on_height_m: float = 0.02       # touch-down: sphere bottom below this above the ground ...
    on_speed_m_s: float = 0.40      # ... and horizontal speed below this
    off_height_m: float = 0.035     # lift-off: above this height ...
    off_speed_m_s: float = 0.80     # ... or faster than this
    min_phase_s: float = 0.04       # stances / swings this short or shorter are merged (2 frames at 50 Hz)
    ground_percentile: float = 2.0  # ground estimate: this percentile of all sphere bottoms
    max_rest_offset_m: float = 0.03  # a foot's own resting level may lie up to this above the ground
    foot_radius_m: float = FOOT_RADIUS_M


def feet_world_m(root_pos: np.ndarray, root_quat_xyzw: np.ndarray, foot_pos_base: np.ndarray) -> np.ndarray:
    """Foot centres (T, 4, 3) in the world from the base pose and the feet in the base frame."""
    rot = Rotation.from_quat(root_quat_xyzw).as_matrix()
    return root_pos[:, None] + np.einsum("tij,tlj->tli", rot, foot_pos_base)


def estimate_ground_m(feet_world: np.ndarray, cfg: ContactConfig = ContactConfig()) -> float:
    """The ground height: a low percentile of the foot spheres' bottoms over all frames and feet."""
    return float(np.percentile(feet_world[..., 2] - cfg.foot_radius_m, cfg.ground_percentile))


def hysteresis(on: np.ndarray, off: np.ndarray, initial: np.ndarray | bool = False) -> np.ndarray:
    """State along axis 0 that switches on where `on`, off where `off` (on wins ties), else holds.

    Vectorised: each frame takes the value of the most recent frame with an event.
    """
    on, off = np.asarray(on, bool), np.asarray(off, bool)
    event = on | off
    t = np.arange(on.shape[0]).reshape((-1,) + (1,) * (on.ndim - 1))
    last = np.maximum.accumulate(np.where(event, t, -1), axis=0)
    state = np.take_along_axis(on, np.maximum(last, 0), axis=0)
    return np.where(last >= 0, state, np.broadcast_to(initial, on.shape))


def runs(mask: np.ndarray):
    """Runs of equal values of a 1-D bool array: (starts, stops, values)."""
    edges = np.flatnonzero(np.diff(mask.astype(np.int8))) + 1
    starts = np.concatenate([[0], edges])
    stops = np.concatenate([edges, [len(mask)]])
    return starts, stops, mask[starts]


def remove_short_runs(state: np.ndarray, min_frames: int) -> np.ndarray:
    """Flip runs of equal values shorter than `min_frames` along axis 0 (per column), except at the ends.

    Short swings are removed first, then short stances, so a brief lift inside a stance does not split it.
    """
    out = np.array(state, dtype=bool)
    if min_frames <= 1 or out.shape[0] < 3:
        return out
    flat = out.reshape(out.shape[0], -1)
    for value in (False, True):
        for col in range(flat.shape[1]):   # a loop over the 4 feet, not over frames
            x = flat[:, col]
            edges = np.flatnonzero(np.diff(x.astype(np.int8))) + 1
            starts = np.concatenate([[0], edges])
            stops = np.concatenate([edges, [len(x)]])
            for a, b in zip(starts, stops):
                if x[a] == value and b - a < min_frames and a > 0 and b < len(x):
                    x[a:b] = not value
    return flat.reshape(out.shape)


def detect_contacts(feet_world: np.ndarray, fps: float, cfg: ContactConfig = ContactConfig(),
                    ground_m: float | None = None) -> np.ndarray:
    """Contacts (T, 4) bool from foot centres (T, 4, 3) in the world (z up), sampled at `fps`."""
    feet_world = np.asarray(feet_world, dtype=np.float64)
    if feet_world.shape[0] < 2:
        return np.ones(feet_world.shape[:2], dtype=bool)
    ground = estimate_ground_m(feet_world, cfg) if ground_m is None else ground_m
    bottom = feet_world[..., 2] - cfg.foot_radius_m
    rest = np.clip(np.percentile(bottom, cfg.ground_percentile, axis=0) - ground, 0.0, cfg.max_rest_offset_m)
    height = bottom - ground - rest
    speed = np.linalg.norm(np.gradient(feet_world[..., :2], 1.0 / fps, axis=0), axis=-1)
    on = (height < cfg.on_height_m) & (speed < cfg.on_speed_m_s)
    off = (height > cfg.off_height_m) | (speed > cfg.off_speed_m_s)
    state = hysteresis(on, off & ~on, initial=height[0] < 0.5 * (cfg.on_height_m + cfg.off_height_m))
    return remove_short_runs(state, int(round(cfg.min_phase_s * fps)) + 1)


def bank_contacts(root_pos, root_quat_xyzw, foot_pos_base, fps: float, cfg: ContactConfig = ContactConfig()):
    """Contacts (T, 4) of a bank's arrays."""
    return detect_contacts(feet_world_m(root_pos, root_quat_xyzw, foot_pos_base), fps, cfg)
