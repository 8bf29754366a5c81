"""MuJoCo's offscreen renderer for `amp-data view` and `play --video`: frames of the Go2 model where the
camera looks, a ghost and the dog beside it, and the matplotlib fallback (with a note) where no OpenGL
context opens."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

import cli
from conftest import RENDER_PROBLEM
from amp_data.format.bank import read_bank

ROOT = Path(__file__).resolve().parents[1]
needs_gl = pytest.mark.skipif(RENDER_PROBLEM is not None, reason=f"no offscreen OpenGL: {RENDER_PROBLEM}")


@pytest.fixture(scope="module")
def walk(walk_trot_cycle_banks):
    return walk_trot_cycle_banks[0]


@needs_gl
def test_the_camera_sees_the_robot_at_the_centre_and_the_ghost_beside_it(walk):
    from amp_data.reports.mujoco_view import MujocoScene, _qpos_wxyz

    bank = read_bank(walk)
    qpos = _qpos_wxyz(bank["root_pos"][0], bank["root_quat"][0], bank["joint_pos"][0])
    scene = MujocoScene((320, 240))
    try:
        with_robot = scene.frame(qpos, np.ones(4, bool)).astype(int)
        buried = qpos.copy()
        buried[2] -= 5.0                       # the robot under the floor; the camera aims at the same x, y
        empty = scene.frame(buried, np.ones(4, bool)).astype(int)
        with_ghost = scene.frame(qpos, np.ones(4, bool), ghost_qpos=qpos + np.r_[0, 0.55, 0, np.zeros(16)])
    finally:
        scene.close()
    assert with_robot.shape == (240, 320, 3)
    changed = np.abs(with_robot - empty).sum(axis=2) > 30
    ys, xs = np.nonzero(changed)
    assert changed.sum() > 2000                # the robot covers a good part of the picture ...
    assert abs(xs.mean() - 160) < 60 and abs(ys.mean() - 120) < 60   # ... around the centre
    assert not changed[:20, :].any()           # and not the sky at the top
    ghost = np.abs(with_ghost.astype(int) - with_robot).sum(axis=2) > 30
    assert ghost.sum() > 500 and not (ghost & changed).all()


@needs_gl
def test_view_renders_the_go2_with_mujoco_and_a_ghost(walk, tmp_path):
    out = tmp_path / "v.gif"
    r = CliRunner().invoke(cli.app, ["view", walk, "-o", str(out), "--frames", "0:6", "--fps", "50",
                                     "--size", "320x240", "--ghost", walk])
    assert r.exit_code == 0, r.output
    assert "mujoco" in r.output
    with Image.open(out) as im:
        assert (im.n_frames, im.size) == (6, (320, 240))
        im.seek(3)
        rgb = np.asarray(im.convert("RGB")).astype(int)
    # the dog's capsules: its left limbs blue and right limbs red, as in the matplotlib view
    blue = (rgb[..., 2] > 120) & (rgb[..., 0] < 60) & (rgb[..., 1] > 60)
    red = (rgb[..., 0] > 120) & (rgb[..., 1] < 60) & (rgb[..., 2] < 60)
    assert blue.sum() > 20 and red.sum() > 20


def _cli(args, env_extra, cwd):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env.update(env_extra)
    return subprocess.run([sys.executable, str(ROOT / "cli.py"), *args], env=env, cwd=cwd, capture_output=True,
                          text=True, timeout=300)


def test_without_an_opengl_context_matplotlib_draws_and_says_why(walk, tmp_path):
    """GLX without a display cannot open: auto falls back with a note, --renderer mujoco and --ghost stop
    in one line and write nothing."""
    out = tmp_path / "v.gif"
    p = _cli(["view", walk, "-o", str(out), "--frames", "0:3", "--fps", "50", "--size", "320x240"],
             {"MUJOCO_GL": "glx"}, tmp_path)
    assert p.returncode == 0, p.stderr
    assert "note: drew with matplotlib (the fallback)" in p.stderr and "matplotlib" in p.stdout
    with Image.open(out) as im:
        assert im.n_frames == 3
    for extra in (["--renderer", "mujoco"], ["--ghost", walk]):
        gone = tmp_path / "w.gif"
        p = _cli(["view", walk, "-o", str(gone), *extra], {"MUJOCO_GL": "glx"}, tmp_path)
        assert p.returncode == 2 and not gone.exists()
        lines = [ln for ln in p.stderr.splitlines() if ln.strip()]
        assert len(lines) == 1 and "offscreen OpenGL context" in lines[0], p.stderr


def test_viewer_needs_a_display(walk, tmp_path):
    p = _cli(["play", str(tmp_path / "nope"), "--viewer"], {}, tmp_path)
    assert p.returncode == 2 and "needs a display" in p.stderr
