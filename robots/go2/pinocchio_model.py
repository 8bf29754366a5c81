"""The Go2 as a pinocchio model, read from `go2.urdf`: for inverse kinematics and as the independent check of
the numpy kinematics in `kinematics.py`. Importing this module imports pinocchio."""

from __future__ import annotations

from functools import lru_cache

import pinocchio as pin

from robots.go2 import JOINT_NAMES, URDF_PATH


@lru_cache(maxsize=1)
def go2_model() -> pin.Model:
    """Go2 with a free-flyer base (q = [xyz, quat xyzw, 12 joints]), joints in canonical order."""
    model = pin.buildModelFromUrdf(str(URDF_PATH), pin.JointModelFreeFlyer())
    names = [model.names[i] for i in range(2, model.njoints)]
    if tuple(names) != JOINT_NAMES:
        raise RuntimeError(f"go2.urdf joint order {names} is not the canonical {JOINT_NAMES}")
    return model
