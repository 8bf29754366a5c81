"""`amp-data view`: the dog beside the retargeted Go2 as a GIF.

Truth used here: the Go2 geometry of robots/go2/model.py (hip offsets, thigh and calf lengths, box
size), the bank's own `foot_pos_base` turned into the world with an explicitly written quaternion
matrix, the retargeter's definition of the root (mid-point of the dog's shoulder and hip joints,
scaled), and frame counts worked out by hand from the frame rates.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from amp_data.reports import view
from amp_data.format.bank import ClipRange, read_bank, write_bank
from cli import app
from robots.go2.model import (BASE_BOX_SIZE_M, CALF_LENGTH_M, LEGS, THIGH_LENGTH_M, THIGH_OFFSET_Y_M,
                              hip_position_base_m)


def _runner() -> CliRunner:
    try:
        return CliRunner(mix_stderr=False)   # click < 8.2
    except TypeError:
        return CliRunner()


def run_view(*args: str):
    """`amp-data view` with matplotlib's drawing (this file checks its geometry; MuJoCo's renderer is
    tests/test_mujoco_view.py's)."""
    args = tuple(map(str, args))
    if "--renderer" not in args:
        args += ("--renderer", "matplotlib")
    result = _runner().invoke(app, ["view", *args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


@pytest.fixture(scope="module")
def trot0(mocap, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("banks") / "trot0.h5"
    result = _runner().invoke(app, ["retarget", "trot0", "-o", str(path)])
    assert result.exit_code == 0, result.output
    return path


def quat_matrix(q_xyzw: np.ndarray) -> np.ndarray:
    """Rotation matrices (T, 3, 3) of unit xyzw quaternions, written out."""
    x, y, z, w = np.moveaxis(q_xyzw, -1, 0)
    return np.stack([
        np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)], -1),
        np.stack([2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)], -1),
        np.stack([2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)], -1)], -2)


def gif_frames(path: Path) -> tuple[int, tuple[int, int], list[int]]:
    with Image.open(path) as im:
        durations = []
        for k in range(im.n_frames):
            im.seek(k)
            durations.append(im.info["duration"])
        return im.n_frames, im.size, durations


# --- the video ---------------------------------------------------------------------------------------

def test_gif_has_the_requested_frames_and_size(trot0, tmp_path):
    n_bank = read_bank(trot0).num_frames                      # 50 fps
    out = tmp_path / "clip.gif"
    result = run_view(trot0, "-o", out, "--fps", "25", "--size", "640x320")
    assert result.exit_code == 0, result.output
    n, size, durations = gif_frames(out)
    assert n == (n_bank - 1) // 2 + 1                         # every second bank frame, both ends kept
    assert size == (640, 320)
    assert set(durations) == {40}                             # ms per frame at 25 fps
    assert [p.name for p in tmp_path.iterdir()] == ["clip.gif"]

    result = run_view(trot0, "-o", out, "--fps", "50", "--frames", "3:23")
    assert result.exit_code == 0, result.output
    n, size, _ = gif_frames(out)
    assert (n, size) == (20, (960, 480))


def test_a_frame_shows_both_panels(trot0, tmp_path):
    """Not blank: the dog's and the robot's limb colours appear, in their own halves of the picture."""
    out = tmp_path / "clip.gif"
    assert run_view(trot0, "-o", out, "--frames", "0:2", "--fps", "50").exit_code == 0
    with Image.open(out) as im:
        rgb = np.asarray(im.convert("RGB")).astype(int)
    blue = (rgb[..., 2] > 150) & (rgb[..., 0] < 90)           # tab:blue left limbs
    red = (rgb[..., 0] > 170) & (rgb[..., 1] < 80) & (rgb[..., 2] < 80)   # tab:red right limbs
    half = rgb.shape[1] // 2
    for mask in (blue, red):
        assert mask[:, :half].sum() > 200 and mask[:, half:].sum() > 200


# --- the geometry drawn -----------------------------------------------------------------------------

def test_drawn_feet_are_the_banks_feet_in_the_world(trot0):
    bank = read_bank(trot0)
    plan = view.plan_view(bank, view.ViewOptions(fps=bank.fps))
    np.testing.assert_array_equal(plan.bank_frames, np.arange(bank.num_frames))
    rot = quat_matrix(bank["root_quat"])
    feet_world = bank["root_pos"][:, None] + np.einsum("tij,tlj->tli", rot, bank["foot_pos_base"])
    np.testing.assert_allclose(plan.legs_world[:, :, 3], feet_world, atol=1e-9)
    hips_world = bank["root_pos"][:, None] + np.einsum(
        "tij,lj->tli", rot, np.array([hip_position_base_m(leg) for leg in LEGS]))
    np.testing.assert_allclose(plan.legs_world[:, :, 0], hips_world, atol=1e-9)
    seg = np.linalg.norm(np.diff(plan.legs_world, axis=2), axis=-1)       # (T, 4, 3) link lengths
    np.testing.assert_allclose(seg[..., 0], THIGH_OFFSET_Y_M, atol=1e-9)
    np.testing.assert_allclose(seg[..., 1], THIGH_LENGTH_M, atol=1e-9)
    np.testing.assert_allclose(seg[..., 2], CALF_LENGTH_M, atol=1e-9)
    np.testing.assert_array_equal(plan.contacts, bank["contacts"])


def test_go2_points_at_zero_joints_hang_straight_down():
    """Identity base at (1, 2, 0.5), all joints 0: each leg hangs straight below its thigh joint."""
    pts = view.go2_points_world(np.array([[1.0, 2.0, 0.5]]), np.array([[0, 0, 0, 1.0]]), np.zeros((1, 12)))[0]
    for i, leg in enumerate(LEGS):
        sy = 1.0 if leg[1] == "L" else -1.0
        thigh = np.array([1.0, 2.0, 0.5]) + hip_position_base_m(leg) + [0, sy * THIGH_OFFSET_Y_M, 0]
        np.testing.assert_allclose(pts[i, 1], thigh, atol=1e-12)
        np.testing.assert_allclose(pts[i, 2], thigh - [0, 0, THIGH_LENGTH_M], atol=1e-12)
        np.testing.assert_allclose(pts[i, 3], thigh - [0, 0, THIGH_LENGTH_M + CALF_LENGTH_M], atol=1e-12)


def test_trunk_box_has_the_go2s_size_and_turns_with_the_base():
    yaw = np.pi / 2                                           # heading +y: box length along y
    q = np.array([[0, 0, np.sin(yaw / 2), np.cos(yaw / 2)]])
    corners, head = view.trunk_box_world(np.array([[0.0, 0.0, 0.3]]), q)
    lo, hi = corners[0].min(axis=0), corners[0].max(axis=0)
    sx, sy, sz = BASE_BOX_SIZE_M
    np.testing.assert_allclose(hi - lo, [sy, sx, sz], atol=1e-12)
    np.testing.assert_allclose(0.5 * (hi + lo), [0, 0, 0.3], atol=1e-12)
    assert head[0, 1] > 0.25 and abs(head[0, 0]) < 1e-12      # the head leads, along +y


# --- time alignment -----------------------------------------------------------------------------------

def test_output_frames_subsample_the_bank_by_time():
    np.testing.assert_array_equal(view.output_frames(11, 50.0, 25.0, 0, 11), [0, 2, 4, 6, 8, 10])
    np.testing.assert_array_equal(view.output_frames(11, 50.0, 50.0, 3, 7), [3, 4, 5, 6])
    np.testing.assert_array_equal(view.output_frames(100, 50.0, 20.0, 10, 21), [10, 12, 15, 18, 20])
    with pytest.raises(ValueError):
        view.output_frames(10, 50.0, 25.0, 5, 11)


def test_source_rows_are_nearest_in_time_within_the_clip():
    clip = ClipRange(name="c", start=0, stop=10, keypoint_start=10, keypoint_stop=20)
    # 60 fps source: 0 s -> row 0, 0.1 s -> 6, 0.125 s -> 7.5 -> 8 (nearest), 1 s -> past the end: last row
    np.testing.assert_array_equal(view.source_rows(np.array([0.0, 0.1, 0.124, 1.0]), clip, 60.0),
                                  [10, 16, 17, 19])


def test_dog_and_robot_are_shown_at_the_same_instant(trot0):
    """At 10 fps every output frame falls on a bank frame (50 fps) and a source frame (60 fps) at the
    same time; there the robot root is the scaled mid-point of the dog's shoulder and hip joints."""
    bank = read_bank(trot0)
    plan = view.plan_view(bank, view.ViewOptions(fps=10.0))
    assert abs(bank.attrs["source_fps"] - 60.0) < 1e-3
    np.testing.assert_array_equal(plan.bank_frames, np.arange(0, bank.num_frames, 5))
    np.testing.assert_array_equal(plan.dog_rows, np.arange(0, bank.num_frames, 5) * 6 // 5)
    names = list(bank.keypoint_names)
    idx = [names.index(n) for n in ("LeftArm", "RightArm", "LeftUpLeg", "RightUpLeg")]
    dog_root = plan.dog_points[:, idx].mean(axis=1)
    np.testing.assert_allclose(plan.root_world[:, :2], bank.attrs["scale"] * dog_root[:, :2], atol=1e-4)
    # the check can fail: one source frame later the dog has moved on
    late = bank.keypoints[np.minimum(plan.dog_rows + 1, len(bank.keypoints) - 1)][:, idx].mean(axis=1)
    assert np.abs(plan.root_world[:-1, 0] - bank.attrs["scale"] * late[:-1, 0]).max() > 1e-3


def test_clip_of_a_merged_bank_and_a_bank_without_keypoints(trot0, tmp_path):
    bank = read_bank(trot0)
    n, n_kp = bank.num_frames, len(bank.keypoints)
    bank.clips = [ClipRange("first", 0, 12, keypoint_start=0, keypoint_stop=15),
                  ClipRange("second", 12, n, keypoint_start=14, keypoint_stop=n_kp)]
    two = write_bank(tmp_path / "two.h5", bank)
    plan = view.plan_view(read_bank(two), view.ViewOptions(clip="second", fps=50.0))
    np.testing.assert_array_equal(plan.bank_frames, np.arange(12, n))
    assert plan.dog_rows[0] == 14 and plan.times_s[0] == 0.0

    out = tmp_path / "second.gif"
    assert run_view(two, "-o", out, "--clip", "second", "--fps", "50").exit_code == 0
    assert gif_frames(out)[0] == n - 12

    bank = read_bank(trot0)
    bank.keypoints, bank.keypoint_names, bank.keypoint_parents = None, (), None   # as an imported bank
    bank.clips[0].keypoint_start = bank.clips[0].keypoint_stop = 0
    bare = write_bank(tmp_path / "bare.h5", bank)
    plan = view.plan_view(read_bank(bare), view.ViewOptions(fps=25.0))
    assert plan.dog_points is None
    out = tmp_path / "bare.gif"
    result = run_view(bare, "-o", out, "--fps", "25")
    assert result.exit_code == 0, result.output
    assert gif_frames(out)[:2] == ((n - 1) // 2 + 1, (960, 480))


def test_keypoints_without_parents_are_drawn_as_points(trot0, tmp_path):
    bank = read_bank(trot0)
    bank.keypoint_parents = None
    path = write_bank(tmp_path / "noparents.h5", bank)
    plan = view.plan_view(read_bank(path), view.ViewOptions(fps=25.0))
    assert plan.dog_bones is None and plan.dog_points is not None
    assert run_view(path, "-o", tmp_path / "p.gif").exit_code == 0


# --- bad input ----------------------------------------------------------------------------------------

def assert_one_error(result, name: str, problem: str, folder: Path, keep: tuple[str, ...] = ()) -> None:
    assert result.exit_code == 2, result.output
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("amp-data: error: ") and name in lines[0] and problem in lines[0], lines[0]
    assert not result.stdout.strip()
    assert sorted(p.name for p in folder.iterdir()) == sorted(keep)   # no video, no temp file


def test_not_a_bank(tmp_path):
    (tmp_path / "x.h5").write_text("not hdf5")
    out = tmp_path / "out"
    out.mkdir()
    assert_one_error(run_view(tmp_path / "x.h5", "-o", out / "a.gif"), "x.h5", "not an HDF5 file", out)
    assert_one_error(run_view(tmp_path / "missing.h5", "-o", out / "a.gif"), "missing.h5", "no such bank", out)


def test_unknown_clip_and_bad_options(trot0, tmp_path):
    for args, name, problem in [
        (("--clip", "nope"), "trot0.h5", "no clip named 'nope'"),
        (("--frames", "20:10"), "--frames", "empty"),
        (("--frames", "0:500"), "trot0.h5", "outside the"),
        (("--fps", "0"), "--fps", "positive"),
        (("--fps", "100"), "trot0.h5", "above the bank's 50 fps"),
        (("--seconds", "abc"), "--seconds", "START:END"),
        (("--size", "12x8"), "--size", "width"),
        (("--frames", "0:5", "--seconds", "1"), "--frames", "not both"),
    ]:
        assert_one_error(run_view(trot0, "-o", tmp_path / "a.gif", *args), name, problem, tmp_path)


def test_mp4_without_ffmpeg_says_use_gif(trot0, tmp_path, monkeypatch):
    monkeypatch.setattr(view.shutil, "which", lambda *a, **k: None)
    assert_one_error(run_view(trot0, "-o", tmp_path / "a.mp4"), "a.mp4", "ffmpeg", tmp_path)
    result = run_view(trot0, "-o", tmp_path / "a.mp4")
    assert ".gif" in result.stderr


def test_unwritable_outputs(trot0, tmp_path):
    (tmp_path / "file").write_text("x")
    (tmp_path / "dir.gif").mkdir()
    keep = ("file", "dir.gif")
    assert_one_error(run_view(trot0, "-o", tmp_path / "nodir" / "a.gif"), "a.gif", "does not exist", tmp_path, keep)
    assert_one_error(run_view(trot0, "-o", tmp_path / "file" / "a.gif"), "a.gif", "not a folder", tmp_path, keep)
    assert_one_error(run_view(trot0, "-o", tmp_path / "dir.gif"), "dir.gif", "is a folder", tmp_path, keep)
    assert_one_error(run_view(trot0, "-o", tmp_path / "a.png"), "a.png", "use .gif or .mp4", tmp_path, keep)
    if os.geteuid() != 0:                                     # root writes anywhere
        ro = tmp_path / "ro"
        ro.mkdir(mode=0o555)
        assert_one_error(run_view(trot0, "-o", ro / "a.gif"), "a.gif", "cannot write", ro)


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg not installed (the .mp4 path needs it)")
def test_mp4_with_ffmpeg(trot0, tmp_path):
    out = tmp_path / "clip.mp4"
    result = run_view(trot0, "-o", out, "--size", "640x320")
    assert result.exit_code == 0, result.output
    assert out.read_bytes()[4:8] == b"ftyp" and [p.name for p in tmp_path.iterdir()] == ["clip.mp4"]


def test_failure_while_rendering_keeps_the_old_video(trot0, tmp_path, monkeypatch):
    out = tmp_path / "clip.gif"
    out.write_bytes(b"old video")
    calls = []

    def disk_full(self, i):
        calls.append(i)
        if i == 3:
            raise OSError(28, "No space left on device")
        return original(self, i)

    original = view._Scene.frame
    monkeypatch.setattr(view._Scene, "frame", disk_full)
    assert_one_error(run_view(trot0, "-o", out), "clip.gif", "No space left", tmp_path, keep=("clip.gif",))
    assert calls == [0, 1, 2, 3] and out.read_bytes() == b"old video"
