"""The task's arrays: numpy on the host, or torch tensors on the backend's device, through one namespace.

A backend's `SimState` holds numpy arrays (CPU MuJoCo) or torch tensors (the Warp backend with
`arrays="torch"`, whose state then stays on its device). The task, its rewards and the derived state are
written once against the array API (https://data-apis.org/array-api/) through `namespace(x)`: numpy
itself for numpy arrays, so the CPU path makes the numpy calls it always made, and array-api-compat's torch
namespace for tensors (the library scipy and scikit-learn use for the same purpose). `ArrayKind` makes
constants and buffers of the backend's kind. torch is never imported here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def namespace(x):
    """numpy for numpy arrays (and Python or numpy scalars); array-api-compat's namespace for tensors."""
    if isinstance(x, (np.ndarray, np.generic, float, int, bool)):
        return np
    from array_api_compat import array_namespace
    return array_namespace(x)


def to_numpy(x) -> np.ndarray:
    """A host numpy array of either kind (a tensor is copied off its device)."""
    if isinstance(x, np.ndarray):
        return x
    if hasattr(x, "detach"):
        return x.detach().cpu().numpy()
    return np.asarray(x)


def copy(x):
    return x.copy() if isinstance(x, np.ndarray) else x.clone()


@dataclass(frozen=True)
class ArrayKind:
    """Where and in what a task keeps its arrays: numpy (host) or a torch device, and the float dtype."""

    xp: object
    device: object = None
    float_dtype: object = np.float64

    @classmethod
    def of(cls, x) -> "ArrayKind":
        """The kind of an existing float array (a backend's `SimState.joint_pos`)."""
        xp = namespace(x)
        return cls(np) if xp is np else cls(xp, x.device, x.dtype)

    @property
    def is_numpy(self) -> bool:
        return self.xp is np

    def _dtype(self, dtype: str | None):
        if dtype is None:
            return self.float_dtype
        return np.dtype(dtype) if self.is_numpy else getattr(self.xp, dtype)

    def asarray(self, value, dtype: str | None = None):
        """`value` (numbers, a numpy array or an array of this kind) as this kind's array: the float dtype,
        or `dtype` ("bool", "int64", "float32"). numpy values are copied only when the dtype changes."""
        if self.is_numpy:
            return np.asarray(to_numpy(value), dtype=self._dtype(dtype))
        return self.xp.asarray(value, dtype=self._dtype(dtype), device=self.device)

    def zeros(self, shape, dtype: str | None = None):
        if self.is_numpy:
            return np.zeros(shape, dtype=self._dtype(dtype))
        return self.xp.zeros(shape, dtype=self._dtype(dtype), device=self.device)

    def indices(self, ids: np.ndarray):
        """Host indices (n,) as an index array of this kind."""
        return ids if self.is_numpy else self.xp.asarray(np.asarray(ids, dtype=np.int64), device=self.device)

    # the calls whose names differ between numpy (>= 1.26) and the array API
    def concat(self, parts, axis: int = 0):
        return np.concatenate(parts, axis=axis) if self.is_numpy else self.xp.concat(parts, axis=axis)

    def astype(self, x, dtype: str):
        return x.astype(dtype) if self.is_numpy else self.xp.astype(x, getattr(self.xp, dtype))

    def acos(self, x):
        return np.arccos(x) if self.is_numpy else self.xp.acos(x)
