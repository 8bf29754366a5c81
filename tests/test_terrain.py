"""Wave terrain: the analytic ground and its curriculum, the MuJoCo height field against physics, the task
on waves (observation, heights above the ground, resets on the ground), and `train --terrain waves` with a
warm start from a flat run."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from learner.backend import HeightField
from learner.terrain import DEMOTE_SHARE, PROMOTE_SHARE, WaveCurriculum


def test_wave_levels_run_from_flat_to_the_largest_amplitude_and_frequency():
    c = WaveCurriculum(3, levels=5, max_amplitude_m=0.03, wavelength_m=(2.0, 0.5))
    np.testing.assert_allclose(c.amplitude_m([0, 2, 4]), [0.0, 0.015, 0.03])
    np.testing.assert_allclose(c.frequency_per_m([0, 4]), [0.5, 2.0])
    c.level[:] = [0, 2, 4]
    x, y = np.random.default_rng(0).uniform(-5, 30, (2, 3, 1000))
    h = c.height_m(np.arange(3), x, y)
    assert np.all(h[0] == 0) and np.abs(h[1]).max() <= 0.015 + 1e-12 and np.abs(h[2]).max() <= 0.03 + 1e-12
    assert np.abs(h[2]).max() > 0.029                       # the peaks are reached
    # the grid holds the same heights at its points (x along columns, y along rows)
    gx, gy = c.field.grid_xy()
    np.testing.assert_allclose(c.grid(4), c.height_m(np.full(gx.size, 2), gx.ravel(), gy.ravel()).reshape(gx.shape))
    assert gx[0, 0] == c.field.centre_x_m - c.field.half_x_m and gy[0, 0] == -c.field.half_y_m
    np.testing.assert_allclose(c.observation(), [[0.0, 0.25], [0.5, 0.625], [1.0, 1.0]])


def test_the_curriculum_promotes_good_episodes_and_demotes_falls_and_short_ones():
    c = WaveCurriculum(6, levels=3, max_amplitude_m=0.03, wavelength_m=(2.0, 0.6))
    c.level[:] = [0, 1, 2, 1, 0, 1]
    commanded = np.full(6, 10.0)
    distance = np.array([PROMOTE_SHARE * 10, PROMOTE_SHARE * 10, 9.9, 6.0, 0.0, DEMOTE_SHARE * 10 - 0.01])
    fell = np.array([False, False, False, False, False, False])
    changed = c.episode_end(np.arange(6), distance, commanded, fell)
    np.testing.assert_array_equal(c.level, [1, 2, 2, 1, 0, 0])   # up, up, top stays, middle stays, 0 stays, down
    np.testing.assert_array_equal(changed, [0, 1, 5])
    c.episode_end([1], [10.0], [10.0], [True])                     # a fall goes down however far it went
    assert c.level[1] == 1


mujoco = pytest.importorskip("mujoco", reason="the terrain's simulation needs mujoco")


def _stand(backend, steps=1500):
    from robots.go2 import model as go2
    q = np.tile(go2.default_pose_rad(), (backend.num_envs, 1))
    for _ in range(steps):
        backend.step_pd(q, 20.0, 0.5, substeps=1)
    return backend.state()


def _backends():
    import importlib.util
    return ["mujoco"] + (["warp"] if importlib.util.find_spec("mujoco_warp") else [])


def _ground_backend(name, n, hf):
    """A backend with terrain: CPU MuJoCo on one thread, Warp on AMP_DATA_WARP_DEVICE (default its CPU) with
    numpy arrays on any device."""
    import os
    from learner.backend import make_backend
    device = os.environ.get("AMP_DATA_WARP_DEVICE", "cpu")
    options = {"threads": 1} if name == "mujoco" else {"device": device, "arrays": "numpy"}
    return make_backend(name, n, height_field=hf, **options)


@pytest.mark.parametrize("name", _backends())
def test_height_field_ground_holds_the_robot_where_the_plane_would_and_per_environment(name):
    """On a flat grid the Go2 stands as on the plane; grids raised by +2 cm and lowered by 2.5 cm in two
    environments shift their standing height by just that, and the third is untouched. On every backend
    with terrain (Warp: per-world height-field ids, `learner/warp_backend.py`)."""
    from learner.mujoco_backend import MujocoBackend

    with MujocoBackend(1, threads=1) as plane:
        z_plane = _stand(plane).base_pos_w[0, 2]
    hf = HeightField(max_abs_height_m=0.03, grids=3)
    with _ground_backend(name, 3, hf) as b:
        b.set_ground([1], np.full((hf.nrow, hf.ncol), 0.02))
        b.set_ground([2], np.full((hf.nrow, hf.ncol), -0.025))
        q0 = np.tile(b.default_qpos, (3, 1))
        q0[1, 2] += 0.02
        q0[2, 2] -= 0.025
        b.reset(np.arange(3), q0, np.zeros((3, 18)))
        st = _stand(b)
        z = st.base_pos_w[:, 2]
        # Warp collides spheres with height fields by its convex (CCD) path: the feet rest 1.1 mm higher on
        # the flat grid than on CPU MuJoCo's plane (the relative heights below agree to 1e-4 there too)
        assert abs(z[0] - z_plane) < (5e-4 if name == "mujoco" else 1.5e-3)
        np.testing.assert_allclose(z[1:] - z[0], [0.02, -0.025], atol=5e-4)
        assert st.foot_contact.all()
        with pytest.raises(ValueError, match="within"):
            b.set_ground([0], np.full((hf.nrow, hf.ncol), 0.05))


@pytest.mark.skipif("warp" not in _backends(), reason="mujoco-warp is not installed (pip install '.[gpu]')")
def test_warp_keeps_as_many_grounds_as_it_has_grids_and_reuses_those_left():
    """Warp stores each ground once: `grids` different ones at once, a grid no world stands on any more
    taken for the next new ground, and one line when a call would need more."""
    hf = HeightField(max_abs_height_m=0.03, grids=2)
    up, down = np.full((hf.nrow, hf.ncol), 0.02), np.full((hf.nrow, hf.ncol), -0.02)
    with _ground_backend("warp", 4, hf) as b:
        b.set_ground([0, 1], up)                  # worlds 2 and 3 stay on the flat grid 0
        np.testing.assert_array_equal(b.ground_grid, [1, 1, 0, 0])
        with pytest.raises(ValueError, match="more than 2 different grounds at once"):
            b.set_ground([3], down)               # flat, up and down at once
        np.testing.assert_array_equal(b.ground_grid, [1, 1, 0, 0])     # nothing changed
        b.set_ground([2, 3], up)                  # everyone on up: the flat grid is free ...
        b.set_ground([0], down)                   # ... and takes the new ground
        np.testing.assert_array_equal(b.ground_grid, [0, 1, 1, 1])
        q = np.tile(b.default_qpos, (4, 1))
        q[0, 2] -= 0.02
        q[1:, 2] += 0.02
        b.reset(np.arange(4), q, np.zeros((4, 18)))
        z = _stand(b, 1000).base_pos_w[:, 2]
        np.testing.assert_allclose(z - z[1], [-0.04, 0.0, 0.0, 0.0], atol=5e-4)


@pytest.fixture(scope="module")
def banks(walk_trot_cycle_banks):
    return walk_trot_cycle_banks


def _wave_cfg(num_envs=4):
    from learner import config as C
    cfg = C.from_options("cpu", "sac", terrain="waves", num_envs=num_envs)
    cfg.randomization.enabled = False
    return cfg


def _elevation(backend, env: int) -> np.ndarray:
    """The height-field data (MuJoCo's [0, 1] elevation) environment `env` stands on, flat."""
    if hasattr(backend, "models"):
        return backend.models[env].hfield_data.copy()
    hf, grid = backend.height_field, backend.ground_grid[env]
    adr = int(backend._grid_adr[grid])
    return backend.model.hfield_data.numpy()[adr: adr + hf.nrow * hf.ncol]


@pytest.mark.parametrize("name", _backends())
def test_task_on_waves_observes_the_terrain_and_measures_heights_above_the_ground(banks, name):
    from learner import train as T

    cfg = _wave_cfg()
    cfg.env.backend, cfg.env.sim_device = name, "cpu"
    backend, task, _, agent, _ = T.build(cfg, banks, seed=0)
    try:
        assert task.obs_dim == 33 and agent.actor.trunk[0].weight.shape[1] == 33
        top = task.terrain.levels - 1
        task.set_terrain_level(top)
        obs = task.reset()
        np.testing.assert_allclose(obs[:, 31:], [[1.0, 1.0]] * 4, atol=1e-6)
        # starts from bank frames face +x, along the height field (the mocap's heading is dropped)
        task.env_cfg.rsi_fraction = 1.0
        task.reset()
        from scipy.spatial.transform import Rotation
        heading = Rotation.from_quat(backend.state().base_quat_xyzw).as_euler("ZYX")[:, 0]
        np.testing.assert_allclose(heading, 0.0, atol=1e-9)
        obs = task.reset()
        st = backend.state()
        # every foot starts on or above the waves, the lowest just touching (2 mm clearance)
        feet = st.foot_pos_w
        ground = task.ground_z_m(np.repeat(np.arange(4), 4), feet[..., 0].ravel(), feet[..., 1].ravel()).reshape(4, 4)
        from robots.go2 import model as go2
        clearance = (feet[..., 2] - ground).min(axis=1) - go2.FOOT_RADIUS_M
        assert np.all(clearance > -1e-3) and np.all(clearance < 0.01)
        # the AMP observation's base height is above the ground under the base, not above z = 0
        res = task.step(np.zeros((4, 12)))
        st = backend.state()
        under = task.ground_z_m(np.arange(4), st.base_pos_w[:, 0], st.base_pos_w[:, 1])
        np.testing.assert_allclose(res.next_amp_obs[:, 42], st.base_pos_w[:, 2] - under, atol=1e-12)
        assert np.abs(under).max() > 1e-3                   # the waves are there under some robot
        # an episode that went far enough moves its environment up, and the backend gets that level's grid
        task.terrain.level[:] = 3
        task.command_vx[:] = 0.5
        task.episode_step[:] = task.max_episode_steps
        task._path_m[:] = [5.0, 0.0, 5.0, 5.0]
        task._terrain_curriculum(np.arange(4), st, np.array([False, False, True, False]))
        np.testing.assert_array_equal(task.terrain.level, [4, 2, 2, 4])
        for env, level in enumerate([4, 2, 2, 4]):
            expected = (task.terrain.grid(level) + 0.03) / 0.06
            np.testing.assert_allclose(_elevation(backend, env).reshape(expected.shape), expected, atol=1e-6)
    finally:
        backend.close()


@pytest.mark.slow
def test_train_on_waves_warm_started_from_a_flat_run(banks, tmp_path):
    """`train --terrain waves --init-from FLAT`: the policy acts as the flat one did (zero weights on the two
    new inputs), the curriculum's state is logged, and the evaluation runs on the hardest waves."""
    import torch
    from typer.testing import CliRunner

    import cli
    from learner import train as T
    from learner.run_folder import load_checkpoint

    tiny = ["env.num_envs=4", "sac.batch_size=64", "sac.warmup_steps=5", "sac.hidden=32,32", "amp.hidden=32,32",
            "amp.batch_size=64", "log_every_s=0", "checkpoint_every_min=100", "sac.replay_size=20000",
            "amp.replay_size=20000", "amp.history_size=20000"]
    runner = CliRunner()

    def train(out, *extra, sets=()):
        args = ["train", *banks, "--preset", "cpu", "--out", str(out), *extra]   # 31 observations before the terrain's
        for s in [*tiny, *sets]:
            args += ["--set", s]
        r = runner.invoke(cli.app, args)
        assert r.exit_code == 0, r.output
        return r.output

    train(tmp_path / "flat", "--steps", "128")
    out = train(tmp_path / "waves", "--steps", "64", "--terrain", "waves", "--init-from", str(tmp_path / "flat"),
                sets=["sac.warmup_steps=1000"])
    assert "warm start: actor, norm" in out and "waves" in out
    flat = load_checkpoint(tmp_path / "flat" / "checkpoint.pt")
    waves = load_checkpoint(tmp_path / "waves" / "checkpoint.pt")
    w_flat, w_waves = flat["agent"]["actor"]["trunk.0.weight"], waves["agent"]["actor"]["trunk.0.weight"]
    assert w_waves.shape[1] == w_flat.shape[1] + 2
    assert torch.equal(w_waves[:, :31], w_flat) and torch.all(w_waves[:, 31:] == 0)
    # just after the warm start, the same actions from the same proprioception, whatever the terrain values
    from learner.warm_start import warm_start
    cfg = T.C.from_dict(waves["config"])
    _, task, _, agent, _ = T.build(cfg, banks, seed=0)
    warm_start(agent, "sac", flat, ("actor", "norm"), tmp_path / "flat", task.obs_dim)
    fcfg = T.C.from_dict(flat["config"])
    _, ftask, _, fagent, _ = T.build(fcfg, banks, seed=0)
    fagent.load_state_dict(flat["agent"])
    obs31 = np.random.default_rng(1).normal(size=(5, 31)).astype(np.float32)
    obs33 = np.concatenate([obs31, np.random.default_rng(2).uniform(0, 1, (5, 2)).astype(np.float32)], axis=1)
    np.testing.assert_allclose(agent.act(obs33, deterministic=True), fagent.act(obs31, deterministic=True),
                               atol=1e-5)
    task.backend.close(), ftask.backend.close()
    rows = list(csv.DictReader(open(tmp_path / "waves" / "metrics.csv")))
    assert rows and all(r["terrain_amplitude_m"] != "" for r in rows)
    r = runner.invoke(cli.app, ["curves", str(tmp_path / "flat"), str(tmp_path / "waves"), "-o",
                                str(tmp_path / "c.png")])
    assert r.exit_code == 0 and (tmp_path / "c.png").stat().st_size > 0, r.output
    config = json.loads((tmp_path / "waves" / "config.json").read_text())
    assert config["env"]["terrain"] == "waves" and config["reward"]["dof_pos_limits"] == -2.0
