"""The backend contract (`learner/backend.py`) and its conformance suite: every registered backend that imports
on this machine (MuJoCo Warp on its CPU device here) satisfies the contract, obeys the physics it promises
(weight on the feet, Coulomb sliding, per-environment mass and friction, partial resets) and agrees with the
CPU MuJoCo backend from the same states; the registry answers unknown or planned backends in one line."""

from __future__ import annotations

import importlib
import os

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


G_M_S2 = 9.81


WARP_DEVICE = os.environ.get("AMP_DATA_WARP_DEVICE", "cpu")    # benchmarks/gpu_check.sh sets cuda:0


def build(name: str, num_envs: int, **options):
    """A backend on this machine's CPU (one MuJoCo thread), Warp's on `AMP_DATA_WARP_DEVICE` (default its CPU),
    handing out numpy arrays on any device (the task's tensor path has its own tests in tests/test_train.py)."""
    options = ({"threads": 1, **options} if name == "mujoco"
               else {"device": WARP_DEVICE, "arrays": "numpy", **options} if name == "warp" else options)
    return make_backend(name, num_envs, **options)


def standing_state(backend, n: int, dz_m: float = 0.0):
    q = np.tile(backend.default_qpos, (n, 1))
    q[:, 2] += dz_m
    return q, np.zeros((n, 18))


def total_mass_kg() -> float:
    import mujoco
    from robots.go2.build_mjcf import MJCF_PATH
    return float(mujoco.MjModel.from_xml_path(str(MJCF_PATH)).body_mass.sum())


def com_x_m(state: SimState) -> np.ndarray:
    """(N,) world x of the whole robot's centre of mass, by CPU MuJoCo's kinematics of the state's qpos."""
    import mujoco
    from robots.go2.build_mjcf import MJCF_PATH
    m = mujoco.MjModel.from_xml_path(str(MJCF_PATH))
    d = mujoco.MjData(m)
    out = []
    for i in range(len(state.base_pos_w)):
        d.qpos[:3], d.qpos[3:7], d.qpos[7:] = state.base_pos_w[i], state.base_quat_xyzw[i][[3, 0, 1, 2]], state.joint_pos[i]
        mujoco.mj_kinematics(m, d)
        mujoco.mj_comPos(m, d)
        out.append(d.subtree_com[0, 0])
    return np.array(out)


@pytest.mark.parametrize("name", available())
def test_at_rest_the_feet_carry_the_weight_and_a_heavier_trunk_adds_its_weight(name):
    """Standing still, the normal forces on the four feet sum to m g; +1 kg on one trunk adds 9.81 N there only."""
    with build(name, 3) as backend:
        q, v = standing_state(backend, 3)
        backend.reset(np.arange(3), q, v)
        backend.set_base_mass_offset([1, 2], [1.0, -1.0])
        forces = []
        for k in range(100):                      # 2 s; the last second averaged
            backend.step_pd(q[:, 7:], 20.0, 0.5, substeps=4)
            if k >= 50:
                forces.append(backend.state().foot_force_n.sum(axis=1))
        weight_n = np.mean(forces, axis=0)
        mg = total_mass_kg() * G_M_S2
        np.testing.assert_allclose(weight_n, [mg, mg + G_M_S2, mg - G_M_S2], rtol=0.005)
        assert backend.state().foot_contact.all() and not backend.state().body_contact.any()


@pytest.mark.parametrize("name", available())
def test_a_sliding_robot_stops_after_v2_over_2_mu_g_with_its_own_friction(name):
    """Launched at 1 m/s with stiff joints, the centre of mass slides v^2 / (2 mu g) before the floor stops it
    (Coulomb friction, all contacts at the environment's mu)."""
    mu = np.array([0.5, 0.25])
    with build(name, 2) as backend:
        backend.set_friction([0, 1], mu)
        q, v = standing_state(backend, 2)
        v[:, 0] = 1.0
        backend.reset([0, 1], q, v)
        x0 = com_x_m(backend.state())
        slid = []
        for _ in range(40):                       # 0.8 s; it stops within 0.45 s
            backend.step_pd(q[:, 7:], 200.0, 5.0, substeps=4)
            slid.append(com_x_m(backend.state()) - x0)
        np.testing.assert_allclose(np.max(slid, axis=0), 1.0 / (2 * mu * G_M_S2), rtol=0.08)
        assert not backend.state().body_contact.any()


@pytest.mark.parametrize("name", [n for n in available() if n != "mujoco"])
def test_the_backend_agrees_with_cpu_mujoco_from_the_same_states(name):
    """100 sim steps of PD from the same perturbed states: qpos within 1e-4 and the same foot contacts."""
    from learner.mujoco_backend import MujocoBackend
    rng = np.random.default_rng(3)
    n = 4
    with build(name, n) as backend, MujocoBackend(n, threads=1) as reference:
        q, v = standing_state(backend, n, dz_m=0.02)
        q[:, 7:] += rng.normal(0.0, 0.05, (n, 12))
        v[:, 0], v[:, 5] = rng.uniform(0.0, 0.5, n), rng.uniform(-0.5, 0.5, n)
        target = q[:, 7:] + 0.1 * np.sin(np.arange(12))
        contacts, reference_contacts = [], []
        for b in (backend, reference):
            b.set_friction(np.arange(n), [0.3, 0.6, 1.0, 1.5])
            b.set_base_mass_offset(np.arange(n), [-1.0, 0.0, 0.5, 1.0])
            b.reset(np.arange(n), q, v)
        for _ in range(25):
            for b, flags in ((backend, contacts), (reference, reference_contacts)):
                b.step_pd(target, 20.0, 0.5, substeps=4)
                flags.append(b.state().foot_contact)
        s, r = backend.state(), reference.state()
        qpos = lambda x: np.concatenate([x.base_pos_w, x.base_quat_xyzw * np.sign(x.base_quat_xyzw[:, 3:]), x.joint_pos], 1)
        np.testing.assert_allclose(qpos(s), qpos(r), atol=1e-4)
        assert np.mean(np.array(contacts) == np.array(reference_contacts)) >= 0.98
        np.testing.assert_allclose(s.foot_force_n, r.foot_force_n, atol=0.5)


@pytest.mark.parametrize("name", available())
def test_a_partial_reset_leaves_the_other_trajectories_as_they_were(name):
    """Resetting env 0 midway changes nothing in envs 1-2: their trajectories equal an untouched twin's."""
    with build(name, 3) as backend, build(name, 3) as twin:
        q, v = standing_state(backend, 3, dz_m=0.03)
        target = q[:, 7:] + 0.2 * np.cos(np.arange(12))
        for b in (backend, twin):
            b.reset(np.arange(3), q, v)
            for _ in range(5):
                b.step_pd(target, 20.0, 0.5, substeps=4)
        q0, v0 = standing_state(backend, 1, dz_m=0.1)
        backend.reset([0], q0, v0)
        assert backend.state().base_pos_w[0, 2] == pytest.approx(q0[0, 2])
        for _ in range(10):
            for b in (backend, twin):
                b.step_pd(target, 20.0, 0.5, substeps=4)
        s, t = backend.state(), twin.state()
        # On a GPU the contact solver sums with atomics, so two identical runs differ at float32 rounding,
        # which 40 contact-rich sim steps amplify. This test failed on an H200 at 1e-6 (docs/gpu/h200; the run
        # was cut before its message, so the size is unknown, and 1e-3 has not run there yet). A reset leaking
        # into the other worlds moves them by centimetres.
        tol = 1e-3 if name == "warp" and WARP_DEVICE.startswith("cuda") else 1e-6
        for field in ("base_pos_w", "joint_pos", "joint_vel", "foot_force_n"):
            np.testing.assert_allclose(getattr(s, field)[1:], getattr(t, field)[1:], rtol=tol, atol=tol,
                                       err_msg=field)


@pytest.mark.parametrize("name", available())
def test_backend_satisfies_the_contract_and_a_partial_reset_leaves_the_others(name):
    backend = build(name, 3)
    try:
        assert isinstance(backend, Backend) and backend.num_envs == 3
        assert np.shape(backend.torque_limit_nm) == (12,)
        q, v = standing_state(backend, 3)
        backend.reset(np.arange(3), q, v)
        backend.step_pd(np.tile(default_pose_rad(), (3, 1)), 20.0, 0.5, substeps=8)
        before = backend.state()
        assert isinstance(before, SimState) and before.joint_pos.shape == (3, 12)
        assert before.foot_contact.any(axis=1).all()
        q2 = q[:1].copy()
        q2[0, 2] = 0.6
        backend.reset(np.array([1]), q2, np.zeros((1, 18)))
        after = backend.state()
        for field in ("base_pos_w", "base_quat_xyzw", "joint_pos", "joint_vel", "foot_force_n"):
            np.testing.assert_array_equal(getattr(after, field)[[0, 2]], getattr(before, field)[[0, 2]])
        assert after.base_pos_w[1, 2] == pytest.approx(0.6)
    finally:
        backend.close()


def test_registry_answers_in_one_line():
    with pytest.raises(InputError, match="unknown backend 'ode'"):
        make_backend("ode", 1)
    with pytest.raises(InputError, match="isaacgym backend is not implemented yet"):
        make_backend("isaacgym", 1)


@pytest.mark.skipif("warp" not in available(), reason="mujoco-warp is not installed (pip install '.[gpu]')")
def test_warp_stops_on_a_contact_buffer_overflow():
    from learner.warp_backend import BufferOverflowError
    with build("warp", 2, contacts_per_world=1) as backend:    # 2 worlds x 4 feet on the floor > 2 contacts
        q, v = standing_state(backend, 2)
        with pytest.raises(BufferOverflowError, match="ran out of .*contacts"):
            backend.reset([0, 1], q, v)
            backend.step_pd(q[:, 7:], 20.0, 0.5, substeps=2)


def test_the_task_does_not_import_a_simulator():
    import ast
    from pathlib import Path

    import learner.task
    tree = ast.parse(Path(learner.task.__file__).read_text())
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)} | \
        {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert not {m for m in imported if m and ("mujoco" in m or "isaacgym" in m or "warp" in m)}
