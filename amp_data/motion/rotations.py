"""Quaternion helpers over frames. Quaternions are xyzw (scipy's and the bank's convention)."""

from __future__ import annotations

import numpy as np


def continuous_quat(quat_xyzw: np.ndarray) -> np.ndarray:
    """Flip signs so consecutive quaternions have a non-negative dot product (q and -q are one rotation).

    Without this a finite difference across a sign flip is ~2/dt, the angular-velocity spikes seen
    in released motion files.
    """
    q = np.array(quat_xyzw, dtype=np.float64)
    if len(q) == 0:
        return q
    flips = np.einsum("ti,ti->t", q[1:], q[:-1]) < 0
    sign = np.cumprod(np.where(np.concatenate([[q[0, 3] < 0], flips]), -1.0, 1.0))
    return q * sign[:, None]


def quat_multiply(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Hamilton product a (x) b of xyzw quaternions, broadcast over leading axes."""
    av, aw = a[..., :3], a[..., 3:]
    bv, bw = b[..., :3], b[..., 3:]
    vec = aw * bv + bw * av + np.cross(av, bv)
    w = aw * bw - np.sum(av * bv, axis=-1, keepdims=True)
    return np.concatenate([vec, w], axis=-1)


def quat_conjugate(q: np.ndarray) -> np.ndarray:
    return q * np.array([-1.0, -1.0, -1.0, 1.0])


def body_angular_velocity(quat_xyzw: np.ndarray, dt: float) -> np.ndarray:
    """Angular velocity in the body frame (T, 3) rad/s, from the quaternion derivative.

    omega_body = 2 vec(q* (x) dq/dt), with dq/dt by central differences on sign-continuous q.
    """
    q = continuous_quat(quat_xyzw)
    if len(q) < 2:
        return np.zeros((len(q), 3))
    dq = np.gradient(q, dt, axis=0)
    return 2.0 * quat_multiply(quat_conjugate(q), dq)[:, :3] / np.sum(q * q, axis=1, keepdims=True)


def yaw_matrix(yaw_rad: np.ndarray | float) -> np.ndarray:
    c, s = np.cos(yaw_rad), np.sin(yaw_rad)
    z, o = np.zeros_like(c), np.ones_like(c)
    return np.stack([np.stack([c, -s, z], -1), np.stack([s, c, z], -1), np.stack([z, z, o], -1)], -2)


def heading_rad(rot: np.ndarray) -> np.ndarray:
    """Yaw of the body x axis projected on the ground plane, for rotation matrices (..., 3, 3)."""
    return np.arctan2(rot[..., 1, 0], rot[..., 0, 0])


def yaw_quat_xyzw(yaw_rad: np.ndarray) -> np.ndarray:
    """Rotations about +z by `yaw_rad`, as xyzw quaternions (..., 4)."""
    yaw_rad = np.asarray(yaw_rad, dtype=np.float64)
    z = np.zeros_like(yaw_rad)
    return np.stack([z, z, np.sin(0.5 * yaw_rad), np.cos(0.5 * yaw_rad)], axis=-1)


def heading_of_quat_rad(quat_xyzw: np.ndarray) -> np.ndarray:
    """Yaw of the body x axis projected on the ground plane (heading_rad of the quaternion's matrix)."""
    x, y, z, w = np.moveaxis(np.asarray(quat_xyzw, dtype=np.float64), -1, 0)
    return np.arctan2(2.0 * (x * y + w * z), 1.0 - 2.0 * (y * y + z * z))
