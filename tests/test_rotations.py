import numpy as np
from scipy.spatial.transform import Rotation

from amp_data.motion.rotations import body_angular_velocity, continuous_quat


def test_sign_flips_do_not_make_spikes():
    dt = 0.02
    t = np.arange(300) * dt
    omega_body = np.array([0.3, -0.5, 1.2])            # constant body rate: R(t) = R0 exp(t [w])
    rot = Rotation.from_euler("z", 0.4) * Rotation.from_rotvec(np.outer(t, omega_body))
    q = rot.as_quat()
    flipped = q * np.where(np.random.default_rng(0).random(len(q)) < 0.5, -1, 1)[:, None]
    w = body_angular_velocity(flipped, dt)
    np.testing.assert_allclose(w, np.tile(omega_body, (len(t), 1)), atol=2e-3)
    qc = continuous_quat(flipped)
    assert np.all(np.einsum("ti,ti->t", qc[1:], qc[:-1]) > 0)
    assert np.allclose(np.abs(np.einsum("ti,ti->t", qc, q)), 1)


def test_angular_velocity_matches_relative_rotation_method():
    dt = 1 / 50
    t = np.arange(500) * dt
    rot = Rotation.from_euler("ZYX", np.stack([2 * np.sin(t), 0.3 * np.sin(3 * t), 0.2 * np.cos(2 * t)], 1))
    w = body_angular_velocity(rot.as_quat(), dt)
    # independent: body rate from R_{t-1}^T R_{t+1} over 2 dt
    w_ref = (rot[:-2].inv() * rot[2:]).as_rotvec() / (2 * dt)
    np.testing.assert_allclose(w[1:-1], w_ref, atol=5e-3)
