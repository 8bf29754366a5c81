"""Wave terrain and its curriculum (the AMP+SAC paper's Sec. IV-B: waves of up to 3 cm after a flat start).

The ground of environment i is h(x, y) = A_i (sin(2 pi f_i x) + sin(2 pi f_i y)) / 2 (m, world frame, z up),
so it stays within +-A_i and its mean is 0. A curriculum level l_i in 0 .. L - 1 sets both:
A = A_max l / (L - 1) and f = f_min + (f_max - f_min) l / (L - 1), f the spatial frequency (1/m) between
the longest and shortest wavelength. Level 0 is flat.

The curriculum (after legged_gym's terrain curriculum, per environment): when an episode ends, an
environment that went at least `PROMOTE_SHARE` of its commanded distance without falling moves a level up;
one that fell, or went less than `DEMOTE_SHARE` of it, moves a level down.

A backend holds the ground as a height grid (`HeightField`, the same extent for every environment); the
task computes heights analytically wherever it needs them (the base's height above the ground, the feet at
a reset), so nothing reads the grid back.
"""

from __future__ import annotations

import numpy as np

from learner.backend import HeightField

PROMOTE_SHARE = 0.8
DEMOTE_SHARE = 0.4
TERRAINS = ("flat", "waves")


class WaveCurriculum:
    """Per-environment wave levels; analytic ground heights; the curriculum's update at episode ends."""

    def __init__(self, num_envs: int, levels: int, max_amplitude_m: float, wavelength_m: tuple[float, float],
                 field: HeightField | None = None):
        if levels < 2:
            raise ValueError(f"terrain levels must be at least 2 (flat and the hardest), got {levels}")
        longest, shortest = wavelength_m
        if not 0 < shortest <= longest:
            raise ValueError(f"terrain wavelengths must be positive, longest first, got {wavelength_m}")
        self.levels, self.max_amplitude_m = levels, float(max_amplitude_m)
        self.f_min, self.f_max = 1.0 / longest, 1.0 / shortest
        self.level = np.zeros(num_envs, dtype=np.int64)
        self.field = field or HeightField(max_abs_height_m=max(self.max_amplitude_m, 1e-3))
        self._grids: dict[int, np.ndarray] = {}

    def amplitude_m(self, level) -> np.ndarray:
        return self.max_amplitude_m * np.asarray(level) / (self.levels - 1)

    def frequency_per_m(self, level) -> np.ndarray:
        return self.f_min + (self.f_max - self.f_min) * np.asarray(level) / (self.levels - 1)

    def height_m(self, env_ids, x_m, y_m) -> np.ndarray:
        """Ground height (m) of environments `env_ids` (n,) at world points x, y of shape (n,) or (n, k)."""
        level = self.level[np.asarray(env_ids)]
        x_m, y_m = np.asarray(x_m, dtype=float), np.asarray(y_m, dtype=float)
        shape = (-1,) + (1,) * (x_m.ndim - 1)
        a = self.amplitude_m(level).reshape(shape)
        f = self.frequency_per_m(level).reshape(shape)
        return a * 0.5 * (np.sin(2 * np.pi * f * x_m) + np.sin(2 * np.pi * f * y_m))

    def grid(self, level: int) -> np.ndarray:
        """(nrow, ncol) ground heights (m) of one level on the backend's grid."""
        if level not in self._grids:
            x, y = self.field.grid_xy()
            a, f = float(self.amplitude_m(level)), float(self.frequency_per_m(level))
            self._grids[level] = a * 0.5 * (np.sin(2 * np.pi * f * x) + np.sin(2 * np.pi * f * y))
        return self._grids[level]

    def episode_end(self, env_ids, distance_m, commanded_m, fell) -> np.ndarray:
        """Move the environments whose episodes ended up or down a level; returns the ids that changed."""
        env_ids = np.asarray(env_ids, dtype=np.int64)
        distance_m, commanded_m = np.asarray(distance_m, float), np.asarray(commanded_m, float)
        fell = np.asarray(fell, dtype=bool)
        up = ~fell & (distance_m >= PROMOTE_SHARE * commanded_m)
        down = fell | (distance_m < DEMOTE_SHARE * commanded_m)
        new = np.clip(self.level[env_ids] + up.astype(np.int64) - (down & ~up).astype(np.int64), 0, self.levels - 1)
        changed = env_ids[new != self.level[env_ids]]
        self.level[env_ids] = new
        return changed

    def observation(self, env_ids=None) -> np.ndarray:
        """(n, 2) the terrain's parameters for the policy: amplitude / A_max and frequency / f_max."""
        level = self.level if env_ids is None else self.level[np.asarray(env_ids)]
        return np.stack([self.amplitude_m(level) / max(self.max_amplitude_m, 1e-9),
                         self.frequency_per_m(level) / self.f_max], axis=1)
