"""The backend contract (`learner/backend.py`): every registered backend that imports here satisfies it,
and the registry answers unknown or planned backends in one line."""

from __future__ import annotations

import importlib

import numpy as np
import pytest

from amp_data.errors import InputError
from learner.backend import BACKENDS, Backend, SimState, make_backend
from robots.go2.model import default_pose_rad


def available():
    out = []
    for name, (module, _, _) in BACKENDS.items():
        try:
            importlib.import_module(module)
            out.append(name)
        except ImportError:
            pass
    return out


@pytest.mark.parametrize("name", available())
def test_backend_satisfies_the_contract_and_a_partial_reset_leaves_the_others(name):
    backend = make_backend(name, 3)
    try:
        assert isinstance(backend, Backend) and backend.num_envs == 3
        assert np.shape(backend.torque_limit_nm) == (12,)
        q = np.zeros((3, 19))
        q[:, 2], q[:, 6], q[:, 7:] = 0.45, 1.0, default_pose_rad()
        backend.reset(np.arange(3), q, np.zeros((3, 18)))
        backend.step_pd(np.tile(default_pose_rad(), (3, 1)), 20.0, 0.5, substeps=8)
        before = backend.state()
        assert isinstance(before, SimState) and before.joint_pos.shape == (3, 12)
        q2 = q[:1].copy()
        q2[0, 2] = 0.6
        backend.reset(np.array([1]), q2, np.zeros((1, 18)))
        after = backend.state()
        for field in ("base_pos_w", "base_quat_xyzw", "joint_pos", "joint_vel"):
            np.testing.assert_array_equal(getattr(after, field)[[0, 2]], getattr(before, field)[[0, 2]])
        assert after.base_pos_w[1, 2] == pytest.approx(0.6)
    finally:
        backend.close()


def test_registry_answers_in_one_line():
    with pytest.raises(InputError, match="unknown backend 'ode'"):
        make_backend("ode", 1)
    with pytest.raises(InputError, match="isaacgym backend is not implemented yet"):
        make_backend("isaacgym", 1)


def test_the_task_does_not_import_a_simulator():
    import ast
    from pathlib import Path

    import learner.task
    tree = ast.parse(Path(learner.task.__file__).read_text())
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)} | \
        {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert not {m for m in imported if m and ("mujoco" in m or "isaacgym" in m or "warp" in m)}
