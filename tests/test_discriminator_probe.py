"""benchmarks/discriminator_probe.py's per-field gaps between the policy's windows and the reference's."""

import numpy as np
import pytest

from amp_data.expert.amp_obs import AMP_OBS_DIM, AMP_OBS_LAYOUT
from benchmarks import discriminator_probe


def test_field_gaps_find_a_shifted_and_a_widened_field_and_ignore_the_gait_label():
    rng = np.random.default_rng(0)
    frames, n = 3, 20000
    reference = rng.normal(size=(n, frames * AMP_OBS_DIM + 2))
    policy = reference.copy()
    motion = policy[:, :frames * AMP_OBS_DIM].reshape(n, frames, AMP_OBS_DIM)
    height_std = reference[:, :frames * AMP_OBS_DIM].reshape(-1, AMP_OBS_DIM)[:, AMP_OBS_LAYOUT["base_height"]].std()
    motion[:, :, AMP_OBS_LAYOUT["base_height"]] += height_std  # one reference std higher
    motion[:, :, AMP_OBS_LAYOUT["joint_vel"]] *= 2.0          # twice as wide, same mean
    policy[:, :frames * AMP_OBS_DIM] = motion.reshape(n, -1)
    policy[:, -2:] += 100.0                                   # a label is not a field

    gaps = discriminator_probe.field_gaps(policy, reference, frames)
    assert set(gaps) == set(AMP_OBS_LAYOUT)
    assert abs(gaps["base_height"]["mean_gap_std"] - 1.0) < 1e-9
    assert abs(gaps["base_height"]["std_ratio"] - 1.0) < 1e-9
    assert gaps["joint_vel"]["mean_gap_std"] < 0.02
    assert abs(gaps["joint_vel"]["std_ratio"] - 2.0) < 1e-9
    for name in ("joint_pos", "foot_pos_base", "base_lin_vel", "base_ang_vel"):
        assert gaps[name]["mean_gap_std"] == 0.0 and abs(gaps[name]["std_ratio"] - 1.0) < 1e-12


def test_mean_base_height_reads_the_height_field_of_every_frame():
    frames = 3
    w = np.zeros((4, frames * AMP_OBS_DIM + 2))
    heights = np.arange(4 * frames, dtype=float).reshape(4, frames) * 0.01
    motion = w[:, :frames * AMP_OBS_DIM].reshape(4, frames, AMP_OBS_DIM)
    motion[:, :, AMP_OBS_LAYOUT["base_height"]] = heights[:, :, None]
    w[:, :frames * AMP_OBS_DIM] = motion.reshape(4, -1)
    w[:, -2:] = 9.0                                           # labels are not heights
    assert discriminator_probe.mean_base_height_m(w, frames) == pytest.approx(heights.mean())
