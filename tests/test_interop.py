"""AMP_for_hardware (amp-hw) and motion_imitation motion files <-> banks (amp_data/interop/motion_files.py, CLI export/import).

The expected column layouts are written out here from the published sources, not taken from interop.py:
- AMP_for_hardware, rsl_rl/rsl_rl/datasets/motion_loader.py, AMPLoader: root pos 0:3, root rot 3:7,
  joint pos 7:19, toe pos local 19:31, linear vel 31:34, angular vel 34:37, joint vel 37:49, toe vel local
  49:61; legs in Isaac Gym order FL, FR, RL, RR; quaternion x, y, z, w (pybullet / Isaac Gym root state).
- motion_imitation, motion_imitation/utilities/motion_data.py (root pos 0:3, root rot 3:7, joints 7:) and
  motion_imitation/robots/a1.py MOTOR_NAMES: FR, FL, RR, RL, each hip, upper (thigh), lower (calf).
- Header keys: output_motion in motion_imitation retarget_motion/retarget_motion.py and AMP_for_hardware
  datasets/retarget_utils.py (the latter adds MotionWeight).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.transform import Rotation
from typer.testing import CliRunner

from amp_data.interop import motion_files as interop
from amp_data.format.bank import DATASETS, Bank, ClipRange, read_bank, write_bank
from cli import app
from robots.go2.kinematics import feet_fk
from robots.go2 import FOOT_NAMES, JOINT_NAMES

runner = CliRunner()

AMP_HW_SLICES = {"root_pos": (0, 3), "root_quat": (3, 7), "joint_pos": (7, 19), "foot_pos_base": (19, 31),
                 "base_lin_vel": (31, 34), "base_ang_vel": (34, 37), "joint_vel": (37, 49),
                 "foot_vel_base": (49, 61)}
AMP_HW_LEGS = ("FL", "FR", "RL", "RR")
MOTION_IMITATION_LEGS = ("FR", "FL", "RR", "RL")
KINDS = ("hip", "thigh", "calf")
AMP_HW_KEYS = {"LoopMode", "FrameDuration", "EnableCycleOffsetPosition", "EnableCycleOffsetRotation",
               "MotionWeight", "Frames"}
MOTION_IMITATION_KEYS = AMP_HW_KEYS - {"MotionWeight"}


def attrs_for(fps: float, loop_mode: str = "clamp", name: str = "synthetic.bvh") -> dict:
    return {"schema_version": 2, "robot": "go2", "fps": fps, "joint_names": list(JOINT_NAMES),
            "foot_names": list(FOOT_NAMES), "quat_convention": "xyzw", "source_file": name,
            "source_sha256": "0" * 64, "source_frames": np.array([0, 0]), "loop_mode": loop_mode}


def invoke(*args: str):
    result = runner.invoke(app, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def read_json(path: Path) -> dict:
    return json.loads(path.read_text())


# --- layout: hand-built frames with distinct known values ------------------------------------------

@pytest.fixture
def marked_bank(tmp_path) -> Path:
    """3 frames at 50 fps, every number distinct; FR_calf is 0.123 at frame 0."""
    T = 3
    t = np.arange(T)[:, None]
    joint_pos = 0.3 + 0.01 * np.arange(12) + 0.1 * t
    joint_pos[0, JOINT_NAMES.index("FR_calf_joint")] = 0.123
    foot = (np.arange(12).reshape(4, 3) * 0.01 + np.array([0.2, 0.1, -0.3]))[None] + 0.001 * t[:, :, None]
    quat = Rotation.from_euler("ZYX", [[0.3 + 0.01 * i, 0.1, -0.05] for i in range(T)]).as_quat()   # scipy: xyzw
    data = {
        "joint_pos": joint_pos, "joint_vel": -1 - 0.1 * np.arange(12) - t,
        "root_pos": np.array([0.0, 0.0, 0.3]) + 0.01 * t, "root_quat": quat,
        "base_lin_vel": np.array([1.1, 1.2, 1.3]) + 0 * t, "base_ang_vel": np.array([2.1, 2.2, 2.3]) + 0 * t,
        "foot_pos_base": foot, "foot_vel_base": 3 + foot,
    }
    bank = Bank(None, data, attrs_for(50.0))
    bank.clips[0].weight = 0.7
    return write_bank(tmp_path / "marked.h5", bank)


@pytest.mark.parametrize("order", ["default", "pybullet", "isaac"])
def test_amp_hw_columns_follow_the_published_layout(marked_bank, tmp_path, order):
    out = tmp_path / "m.txt"
    extra = [] if order == "default" else ["--leg-order", order]
    assert invoke("export", str(marked_bank), "-o", str(out), *extra).exit_code == 0
    doc = read_json(out)
    frames = np.array(doc["Frames"])
    bank = read_bank(marked_bank)
    assert frames.shape == (3, 61)
    legs = ("FL", "FR", "RL", "RR") if order == "isaac" else ("FR", "FL", "RR", "RL")   # default: upstream's
    fr = legs.index("FR")
    assert frames[0, 7 + 3 * fr + 2] == 0.123                    # FR, calf (3rd joint)
    for i, name in enumerate(f"{leg}_{k}_joint" for leg in legs for k in KINDS):
        np.testing.assert_array_equal(frames[:, 7 + i], bank["joint_pos"][:, JOINT_NAMES.index(name)])
        np.testing.assert_array_equal(frames[:, 37 + i], bank["joint_vel"][:, JOINT_NAMES.index(name)])
    x, y, z, w = bank["root_quat"].T                            # bank: xyzw
    np.testing.assert_array_equal(frames[:, 3:7], np.stack([x, y, z, w], axis=1))
    for j, leg in enumerate(legs):
        b = FOOT_NAMES.index(f"{leg}_foot")
        np.testing.assert_array_equal(frames[:, 19 + 3 * j: 22 + 3 * j], bank["foot_pos_base"][:, b])
        np.testing.assert_array_equal(frames[:, 49 + 3 * j: 52 + 3 * j], bank["foot_vel_base"][:, b])
    assert frames[0, 19 + 3 * fr + 1] == bank["foot_pos_base"][0, 1, 1]   # FR foot y
    np.testing.assert_array_equal(frames[:, 31:34], bank["base_lin_vel"])
    np.testing.assert_array_equal(frames[:, 34:37], bank["base_ang_vel"])
    np.testing.assert_array_equal(frames[:, 0:3], bank["root_pos"])
    assert set(doc) == AMP_HW_KEYS
    assert doc["LoopMode"] == "Clamp" and doc["FrameDuration"] == 0.02 and doc["MotionWeight"] == 0.7
    assert out.read_text().startswith('{\n"LoopMode": "Clamp",\n"FrameDuration": 0.02,\n')


def test_motion_imitation_columns_follow_the_published_layout(marked_bank, tmp_path):
    out = tmp_path / "m.txt"
    assert invoke("export", str(marked_bank), "--format", "motion-imitation", "-o", str(out)).exit_code == 0
    doc = read_json(out)
    frames = np.array(doc["Frames"])
    bank = read_bank(marked_bank)
    assert frames.shape == (3, 19)
    assert frames[0, 7 + 3 * 0 + 2] == 0.123                     # FR is motion_imitation's first leg
    for i, name in enumerate(f"{leg}_{k}_joint" for leg in MOTION_IMITATION_LEGS for k in KINDS):
        np.testing.assert_array_equal(frames[:, 7 + i], bank["joint_pos"][:, JOINT_NAMES.index(name)])
    np.testing.assert_array_equal(frames[:, 3:7], bank["root_quat"])      # xyzw, as pybullet
    np.testing.assert_array_equal(frames[:, 0:3], bank["root_pos"])
    assert set(doc) == MOTION_IMITATION_KEYS
    assert doc["LoopMode"] == "Clamp" and doc["FrameDuration"] == 0.02
    assert doc["EnableCycleOffsetPosition"] is False and doc["EnableCycleOffsetRotation"] is False


def test_weight_option_overrides_the_clip_weight(marked_bank, tmp_path):
    out = tmp_path / "w.txt"
    assert invoke("export", str(marked_bank), "--weight", "2.5", "-o", str(out)).exit_code == 0
    assert read_json(out)["MotionWeight"] == 2.5
    back = tmp_path / "w.h5"
    assert invoke("import", str(out), "-o", str(back)).exit_code == 0
    assert read_bank(back).clips[0].weight == 2.5


def test_columns_to_bank_inverts_bank_to_columns():
    """Pure numpy: arrays -> columns -> text -> columns -> arrays, both formats, random numbers."""
    rng = np.random.default_rng(0)
    T = 50
    data = {name: rng.normal(size=(T, *shape)) for name, shape in DATASETS.items() if name != "contacts"}
    for fmt in (interop.AMP_HW, interop.MOTION_IMITATION):
        cols = interop.bank_to_columns(data, fmt)
        assert cols.shape == (T, fmt.num_columns)
        mf = interop.MotionFile(frames=cols, frame_duration_s=1 / 60, motion_weight=0.25)
        back = interop.parse_motion_file(interop.format_motion_file(mf))
        np.testing.assert_array_equal(back.frames, cols)            # repr: exact
        assert back.frame_duration_s == 1 / 60 and interop.fps_from_frame_duration(back.frame_duration_s) == 60.0
        arrays = interop.columns_to_bank(back.frames, fmt)
        assert set(arrays) == {name for name, _ in fmt.fields}
        for name, arr in arrays.items():
            np.testing.assert_array_equal(arr, data[name])


# --- a real retargeted clip -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def trot0(mocap, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("interop") / "trot0.h5"
    result = invoke("retarget", "trot0", "-o", str(out))
    assert result.exit_code == 0, result.output
    return out


def round_trip(bank_path: Path, fmt: str, folder: Path) -> tuple[Path, Bank]:
    txt, back = folder / f"trot0_{fmt}.txt", folder / f"trot0_{fmt}.h5"
    r = invoke("export", str(bank_path), "--format", fmt, "-o", str(txt))
    assert r.exit_code == 0, r.output
    r = invoke("import", str(txt), "-o", str(back))
    assert r.exit_code == 0, r.output
    return txt, read_bank(back)


def expected_root_pos(bank: Bank) -> np.ndarray:
    """Exported files start at x = y = 0, as the published writers' new_frames[:, 0:2] -= new_frames[0, 0:2]."""
    p = bank["root_pos"].copy()
    p[:, :2] -= p[0, :2]
    return p


def check_provenance(again: Bank, txt: Path, frames: int):
    a = again.attrs
    assert a["source_file"] == txt.name
    assert a["source_sha256"] == hashlib.sha256(txt.read_bytes()).hexdigest()
    assert list(a["source_frames"]) == [0, frames]
    assert a["scale"] == 1.0 and a["ground_height_m"] == 0.0 and a["skeleton_map"] == "none"
    assert a["joint_names"] == JOINT_NAMES and a["foot_names"] == FOOT_NAMES and a["fps"] == 50.0
    assert again.clips[0].name == txt.stem and again.clips[0].source_file == txt.name


def test_amp_hw_round_trip_of_a_retargeted_clip(trot0, tmp_path):
    bank = read_bank(trot0)
    txt, again = round_trip(trot0, "amp-hw", tmp_path)
    assert again.num_frames == bank.num_frames
    for name in DATASETS:
        if name in ("root_pos", "root_quat", "contacts"):
            continue
        np.testing.assert_array_equal(again[name], bank[name], err_msg=name)
    np.testing.assert_array_equal(again["root_pos"], expected_root_pos(bank))
    np.testing.assert_allclose(again["root_quat"], bank["root_quat"], rtol=0, atol=1e-15)
    # amp-hw files hold no contacts: import detects them on the robot's feet, the bank has the dog's (which
    # planted those feet); they agree but for a frame at a touchdown or lift-off
    assert np.mean(again["contacts"] == bank["contacts"]) > 0.97
    check_provenance(again, txt, bank.num_frames)
    assert again.attrs["loop_mode"] == "clamp" and again.clips[0].weight == bank.clips[0].weight


def test_motion_imitation_round_trip_of_a_retargeted_clip(trot0, tmp_path):
    bank = read_bank(trot0)
    txt, again = round_trip(trot0, "motion-imitation", tmp_path)
    np.testing.assert_array_equal(again["joint_pos"], bank["joint_pos"])
    np.testing.assert_array_equal(again["root_pos"], expected_root_pos(bank))
    np.testing.assert_allclose(again["root_quat"], bank["root_quat"], rtol=0, atol=1e-15)
    # derived from positions alone: central differences, FK, J q_dot, R^T dp/dt, quaternion derivative
    for name in ("joint_vel", "base_lin_vel", "base_ang_vel", "foot_pos_base", "foot_vel_base"):
        scale = max(1.0, np.abs(bank[name]).max())
        np.testing.assert_allclose(again[name], bank[name], rtol=0, atol=1e-9 * scale, err_msg=name)
    assert np.mean(again["contacts"] == bank["contacts"]) > 0.97   # detected again, see the amp-hw round trip
    check_provenance(again, txt, bank.num_frames)


# --- a synthetic wrap clip: one cycle of a turning trot-like motion, closed form --------------------

FPS, T = 100.0, 40                  # one cycle: 0.4 s
YAW_PER_CYCLE_RAD, SPEED_M_S = 0.3, 0.8


def cycle_pose(t: np.ndarray):
    """Closed-form pose at times t: the base runs on a circle (constant speed and yaw rate) with a sway,
    bob, roll and pitch that repeat every cycle. Returns root pos, quat xyzw, joint pos, and their exact
    time derivatives (world velocity, body angular velocity, joint velocity)."""
    period = T / FPS
    w = 2 * np.pi / period
    psi_dot = YAW_PER_CYCLE_RAD / period
    r = SPEED_M_S / psi_dot
    psi = psi_dot * t
    sway, sway_dot = 0.01 * np.sin(w * t), 0.01 * w * np.cos(w * t)
    c, s = np.cos(psi), np.sin(psi)
    pos = np.stack([r * s - s * sway, r - r * c + c * sway, 0.3 + 0.01 * np.sin(2 * w * t)], axis=1)
    vel = np.stack([SPEED_M_S * c - psi_dot * c * sway - s * sway_dot,
                    SPEED_M_S * s - psi_dot * s * sway + c * sway_dot,
                    0.02 * w * np.cos(2 * w * t)], axis=1)
    roll, roll_dot = 0.05 * np.sin(w * t), 0.05 * w * np.cos(w * t)
    pitch, pitch_dot = 0.04 * np.cos(w * t), -0.04 * w * np.sin(w * t)
    rz, rx, ry = (Rotation.from_euler(a, v[:, None]) for a, v in (("z", psi), ("x", roll), ("y", pitch)))
    rot = rz * rx * ry
    # body angular velocity of Rz(psi) Rx(roll) Ry(pitch)
    omega = (ry.inv() * rx.inv()).apply(np.stack([0 * t, 0 * t, psi_dot + 0 * t], 1)) \
        + ry.inv().apply(np.stack([roll_dot, 0 * t, 0 * t], 1)) + np.stack([0 * t, pitch_dot, 0 * t], 1)
    phase = np.arange(12) * 0.7
    joint_pos = np.array([0.0, 0.9, -1.6] * 4) + 0.3 * np.sin(w * t[:, None] + phase)
    joint_vel = 0.3 * w * np.cos(w * t[:, None] + phase)
    return pos, rot, joint_pos, vel, omega, joint_vel


@pytest.fixture
def wrap_bank(tmp_path) -> Path:
    t = np.arange(T) / FPS
    pos, rot, joint_pos, vel, omega, joint_vel = cycle_pose(t)
    feet, jac = feet_fk(joint_pos, with_jacobian=True)
    mats = rot.as_matrix()
    data = {"joint_pos": joint_pos, "joint_vel": joint_vel, "root_pos": pos, "root_quat": rot.as_quat(),
            "base_lin_vel": np.einsum("tji,tj->ti", mats, vel), "base_ang_vel": omega, "foot_pos_base": feet,
            "foot_vel_base": np.einsum("tlij,tlj->tli", jac, joint_vel.reshape(T, 4, 3))}
    bank = Bank(None, data, attrs_for(FPS, "wrap", "cycle.bvh"))
    end_pos = cycle_pose(np.array([T / FPS]))[0][0]
    h0 = np.arctan2(mats[0, 1, 0], mats[0, 0, 0])
    yaw0 = np.array([[np.cos(h0), -np.sin(h0), 0], [np.sin(h0), np.cos(h0), 0], [0, 0, 1]])
    clip = bank.clips[0]
    clip.cycle_offset_pos_m = tuple(yaw0.T @ (end_pos - pos[0]))
    clip.cycle_offset_yaw_rad = YAW_PER_CYCLE_RAD
    clip.weight = 1.5
    return write_bank(tmp_path / "cycle.h5", bank)


def test_wrap_clip_gets_its_closing_frame(wrap_bank, tmp_path):
    out = tmp_path / "cycle.txt"
    assert invoke("export", str(wrap_bank), "-o", str(out)).exit_code == 0
    doc = read_json(out)
    frames = np.array(doc["Frames"])
    assert frames.shape == (T + 1, 61)
    assert doc["LoopMode"] == "Wrap" and doc["EnableCycleOffsetPosition"] and doc["EnableCycleOffsetRotation"]
    assert doc["FrameDuration"] == 1 / FPS and doc["MotionWeight"] == 1.5
    pos_end, rot_end, *_ = cycle_pose(np.array([T / FPS]))
    np.testing.assert_allclose(frames[-1, 0:3], pos_end[0], atol=1e-12)
    q = frames[-1, 3:7]
    np.testing.assert_allclose(q * np.sign(q @ rot_end.as_quat()[0]), rot_end.as_quat()[0], atol=1e-12)
    np.testing.assert_array_equal(frames[-1, 7:], frames[0, 7:])   # joints, feet, base-frame velocities repeat


def test_wrap_clip_round_trips_through_amp_hw(wrap_bank, tmp_path):
    bank = read_bank(wrap_bank)
    txt, back = tmp_path / "cycle.txt", tmp_path / "back.h5"
    assert invoke("export", str(wrap_bank), "-o", str(txt)).exit_code == 0
    assert invoke("import", str(txt), "-o", str(back)).exit_code == 0
    again = read_bank(back)
    assert again.num_frames == T and again.attrs["loop_mode"] == "wrap" and again.fps == FPS
    for name in ("joint_pos", "joint_vel", "root_pos", "base_lin_vel", "base_ang_vel", "foot_pos_base",
                 "foot_vel_base", "contacts"):
        np.testing.assert_array_equal(again[name], bank[name], err_msg=name)
    np.testing.assert_allclose(again["root_quat"], bank["root_quat"], rtol=0, atol=1e-15)
    c, c0 = again.clips[0], bank.clips[0]
    np.testing.assert_allclose(c.cycle_offset_pos_m, c0.cycle_offset_pos_m, atol=1e-12)
    assert c.cycle_offset_yaw_rad == pytest.approx(YAW_PER_CYCLE_RAD, abs=1e-12)
    assert c.weight == 1.5 and c.loop_mode == "wrap"


def test_wrap_clip_through_motion_imitation_gets_periodic_velocities(wrap_bank, tmp_path):
    bank = read_bank(wrap_bank)
    txt, back = tmp_path / "cycle.txt", tmp_path / "back.h5"
    assert invoke("export", str(wrap_bank), "-f", "motion-imitation", "-o", str(txt)).exit_code == 0
    assert np.array(read_json(txt)["Frames"]).shape == (T + 1, 19)
    assert invoke("import", str(txt), "-o", str(back)).exit_code == 0
    again = read_bank(back)
    assert again.num_frames == T and again.clips[0].loop_mode == "wrap"
    np.testing.assert_array_equal(again["joint_pos"], bank["joint_pos"])
    np.testing.assert_array_equal(again["root_pos"], bank["root_pos"])
    assert again.clips[0].cycle_offset_yaw_rad == pytest.approx(YAW_PER_CYCLE_RAD, abs=1e-12)
    # Central differences against the closed-form derivatives, at every frame, the first and last
    # included: one-sided differences there would be off by ~0.4 rad/s (joints), ~0.06 rad/s (roll).
    np.testing.assert_allclose(again["joint_vel"], bank["joint_vel"], rtol=0, atol=0.03)
    np.testing.assert_allclose(again["base_ang_vel"], bank["base_ang_vel"], rtol=0, atol=0.01)
    np.testing.assert_allclose(again["base_lin_vel"], bank["base_lin_vel"], rtol=0, atol=0.01)
    np.testing.assert_allclose(again["foot_vel_base"], bank["foot_vel_base"], rtol=0, atol=0.02)
    np.testing.assert_allclose(again["foot_pos_base"], bank["foot_pos_base"], rtol=0, atol=1e-12)


# --- several clips in a bank --------------------------------------------------------------------------

@pytest.fixture
def two_clip_bank(tmp_path) -> Path:
    t = np.arange(2 * T) / FPS
    pos, rot, joint_pos, vel, omega, joint_vel = cycle_pose(t)
    data = {"joint_pos": joint_pos, "joint_vel": joint_vel, "root_pos": pos, "root_quat": rot.as_quat(),
            "base_lin_vel": vel, "base_ang_vel": omega, "foot_pos_base": feet_fk(joint_pos),
            "foot_vel_base": np.zeros((2 * T, 4, 3))}
    clips = [ClipRange("walk", 0, T, weight=0.5), ClipRange("trot", T, 2 * T, weight=2.0)]
    return write_bank(tmp_path / "multi.h5", Bank(None, data, attrs_for(FPS), clips=clips))


def test_export_picks_one_clip_of_several(two_clip_bank, tmp_path):
    out = tmp_path / "trot.txt"
    r = invoke("export", str(two_clip_bank), "--clip", "trot", "-o", str(out), "--leg-order", "isaac")
    assert r.exit_code == 0, r.output
    doc = read_json(out)
    frames = np.array(doc["Frames"])
    bank = read_bank(two_clip_bank)
    assert frames.shape == (T, 61) and doc["MotionWeight"] == 2.0
    np.testing.assert_array_equal(frames[:, 7:19], bank["joint_pos"][T:])
    np.testing.assert_array_equal(frames[0, 0:2], [0.0, 0.0])
    np.testing.assert_allclose(frames[:, 0:2], bank["root_pos"][T:, :2] - bank["root_pos"][T, :2], atol=1e-15)


# --- bad input: one line naming the file, exit 2, no output -------------------------------------------

def run_split(*args: str):
    try:
        r = CliRunner(mix_stderr=False).invoke(app, list(args))
    except TypeError:
        r = CliRunner().invoke(app, list(args))
    if r.exception is not None and not isinstance(r.exception, SystemExit):
        raise r.exception
    return r


def assert_one_line_error(r, name: str, problem: str, folder: Path, before: set[str]):
    assert r.exit_code == 2, r.output
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, r.stderr
    assert name in lines[0], lines[0]
    assert problem.lower() in lines[0].split(name, 1)[1].lower(), lines[0]
    assert set(os.listdir(folder)) == before, "output or temporary file left behind"


ROW61 = "[" + ", ".join(["0.1"] * 3 + ["0", "0", "0", "1"] + ["0.5"] * 54) + "]"
ROW19 = "[" + ", ".join(["0.1"] * 3 + ["0", "0", "0", "1"] + ["0.5"] * 12) + "]"


def motion_text(rows: list[str], header: str = '"LoopMode": "Clamp", "FrameDuration": 0.02,') -> str:
    return "{" + header + ' "Frames": [' + ", ".join(rows) + "]}"


BAD_FILES = {
    "not_json": ("LoopMode: Wrap\nFrames: 1 2 3\n", "not a JSON motion file"),
    "json_list": ("[[1, 2, 3]]", "not an object"),
    "no_frames": ('{"LoopMode": "Wrap", "FrameDuration": 0.02}', "lacks 'Frames'"),
    "empty_frames": (motion_text([]), "empty"),
    "wrong_columns": (motion_text(["[" + ", ".join(["0.1"] * 20) + "]"] * 3), "20 columns"),
    "ragged": (motion_text([ROW61, ROW61, ROW19]), "frame 2 has 19 columns"),
    "nan": (motion_text([ROW61, ROW61.replace("0.5", "NaN", 1)]), "NaN"),
    "text_value": (motion_text([ROW19, ROW19.replace("0.5", '"a"', 1)]), "not numbers"),
    "zero_duration": (motion_text([ROW19] * 3, '"FrameDuration": 0,'), "FrameDuration is 0"),
    "negative_duration": (motion_text([ROW19] * 3, '"FrameDuration": -0.02,'), "must be positive"),
    "no_duration": (motion_text([ROW19] * 3, '"LoopMode": "Clamp",'), "lacks 'FrameDuration'"),
    "bad_loop_mode": (motion_text([ROW19] * 3, '"LoopMode": "Bounce", "FrameDuration": 0.02,'), "LoopMode"),
    "one_frame": (motion_text([ROW19]), "at least 2"),
    "wrap_two_rows": (motion_text([ROW19] * 2, '"LoopMode": "Wrap", "FrameDuration": 0.02,'), "closes the cycle"),
    "zero_quaternion": (motion_text([ROW19, ROW19.replace("0, 0, 0, 1", "0, 0, 0, 0")]), "unit quaternion"),
    "negative_weight": (motion_text([ROW61] * 2, '"FrameDuration": 0.02, "MotionWeight": -1,'), "MotionWeight"),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_motion_file_is_one_line_error(case, tmp_path):
    text, problem = BAD_FILES[case]
    src = tmp_path / f"{case}.txt"
    src.write_text(text)
    before = set(os.listdir(tmp_path))
    r = run_split("import", str(src), "-o", str(tmp_path / "out.h5"))
    assert_one_line_error(r, src.name, problem, tmp_path, before)


def test_bad_format_options_are_one_line_errors(tmp_path):
    src = tmp_path / "mi.txt"
    src.write_text(motion_text([ROW19] * 3))
    before = set(os.listdir(tmp_path))
    r = run_split("import", str(src), "--format", "amp-hw", "-o", str(tmp_path / "out.h5"))
    assert_one_line_error(r, src.name, "19 columns", tmp_path, before)
    r = run_split("import", str(src), "--format", "bvh", "-o", str(tmp_path / "out.h5"))
    assert_one_line_error(r, "amp-data: error", "unknown format 'bvh'", tmp_path, before)
    r = run_split("import", str(tmp_path / "missing.txt"), "-o", str(tmp_path / "out.h5"))
    assert_one_line_error(r, "missing.txt", "no such motion file", tmp_path, before)
    binary = tmp_path / "binary.txt"
    binary.write_bytes(b"\x89HDF\r\n\x1a\n\xff\xfe")
    before = set(os.listdir(tmp_path))
    r = run_split("import", str(binary), "-o", str(tmp_path / "out.h5"))
    assert_one_line_error(r, binary.name, "not a text file", tmp_path, before)


def test_bad_export_options_are_one_line_errors(two_clip_bank, tmp_path):
    folder = two_clip_bank.parent
    before = set(os.listdir(folder))
    out = str(folder / "x.txt")
    r = run_split("export", str(two_clip_bank), "-o", out)
    assert_one_line_error(r, two_clip_bank.name, "holds 2 clips (walk, trot); choose one with --clip", folder, before)
    r = run_split("export", str(two_clip_bank), "--clip", "gallop", "-o", out)
    assert_one_line_error(r, two_clip_bank.name, "no clip named 'gallop'", folder, before)
    r = run_split("export", str(two_clip_bank), "--clip", "trot", "--weight", "-1", "-o", out)
    assert_one_line_error(r, "amp-data: error", "--weight must be", folder, before)
    r = run_split("export", str(two_clip_bank), "--clip", "trot", "-f", "motion-imitation", "--weight", "2", "-o", out)
    assert_one_line_error(r, "amp-data: error", "no MotionWeight", folder, before)
    r = run_split("export", str(two_clip_bank), "--clip", "trot", "-f", "bvh", "-o", out)
    assert_one_line_error(r, "amp-data: error", "unknown format", folder, before)
    r = run_split("export", str(folder / "nope.h5"), "-o", out)
    assert_one_line_error(r, "nope.h5", "no such bank file", folder, before)


def test_import_makes_sign_flipped_quaternions_continuous(tmp_path):
    """motion_imitation standardises quaternions (w >= 0 per frame); a flip must not become a spike."""
    quat = Rotation.from_euler("z", np.linspace(2.9, 3.4, 20)[:, None]).as_quat()    # w changes sign mid-way
    quat[quat[:, 3] < 0] *= -1
    frames = np.concatenate([np.tile([0.0, 0.0, 0.3], (20, 1)), quat, np.tile([0.0, 0.9, -1.6] * 4, (20, 1))], 1)
    src = tmp_path / "flip.txt"
    src.write_text(interop.format_motion_file(interop.MotionFile(frames, 0.02)))
    assert invoke("import", str(src), "-o", str(tmp_path / "flip.h5")).exit_code == 0
    bank = read_bank(tmp_path / "flip.h5")
    q = bank["root_quat"]
    assert (np.einsum("ti,ti->t", q[1:], q[:-1]) > 0).all()
    yaw_rate = 0.5 / (19 * 0.02)
    # a sign flip left in would be a ~2 / dt = 100 rad/s spike; finite differences of q are off by (w dt)^2 / 24
    np.testing.assert_allclose(bank["base_ang_vel"], np.tile([0, 0, yaw_rate], (20, 1)), atol=1e-4)


def test_import_notes_feet_of_another_robot(trot0, tmp_path):
    txt = tmp_path / "a.txt"
    assert invoke("export", str(trot0), "-o", str(txt)).exit_code == 0
    doc = read_json(txt)
    frames = np.array(doc["Frames"])
    frames[:, 19:31] += 0.02            # feet 2 cm off the Go2's FK: e.g. an A1 file
    doc["Frames"] = frames.tolist()
    txt.write_text(json.dumps(doc))
    r = run_split("import", str(txt), "-o", str(tmp_path / "a.h5"))
    assert r.exit_code == 0 and "forward kinematics" in r.stderr and (tmp_path / "a.h5").is_file()


# --- leg order of amp-hw files: detected from the file's own numbers ------------------------------------

ROBOTS = {   # hip x, hip y, thigh offset y, thigh, calf (m): the Go2's and the A1's URDF numbers
    "go2": (0.1934, 0.0465, 0.0955, 0.213, 0.213),
    "a1": (0.1805, 0.047, 0.0838, 0.2, 0.2),
}


def leg_fk(robot: str, leg: str, q: np.ndarray) -> np.ndarray:
    """Foot centre in the base frame for (N, 3) hip/thigh/calf angles, written out (independent of feet_fk)."""
    hx, hy, d, l1, l2 = ROBOTS[robot]
    sx, sy = (1 if leg[0] == "F" else -1), (1 if leg[1] == "L" else -1)
    q0, q1, q2 = q.T
    # in the thigh frame: knee at -l1 z, foot l2 further along the calf
    x = -l1 * np.sin(q1) - l2 * np.sin(q1 + q2)
    z = -l1 * np.cos(q1) - l2 * np.cos(q1 + q2)
    y = sy * d
    return np.stack([sx * hx + x, sy * hy + y * np.cos(q0) - z * np.sin(q0), y * np.sin(q0) + z * np.cos(q0)], 1)


def amp_hw_frames(robot: str, legs, n=40) -> tuple[np.ndarray, np.ndarray]:
    """amp-hw frames (n, 61) of a trotting-like joint trajectory with legs in `legs` order, and the joints
    in bank order (n, 12)."""
    t = np.arange(n) / 50.0
    joint = np.empty((n, 12))
    for i, leg in enumerate(("FL", "FR", "RL", "RR")):
        ph = 0.0 if leg in ("FL", "RR") else np.pi
        base = (0.1 if leg[1] == "L" else -0.1, 0.8 if leg[0] == "F" else 1.0, -1.5)
        joint[:, 3 * i:3 * i + 3] = np.array(base) + np.stack(
            [0.05 * np.sin(6 * t + ph), 0.3 * np.sin(6 * t + ph), 0.3 * np.cos(6 * t + ph)], 1)
    frames = np.zeros((n, 61))
    frames[:, 2] = 0.3
    frames[:, 6] = 1.0
    for j, leg in enumerate(legs):
        b = ("FL", "FR", "RL", "RR").index(leg)
        q = joint[:, 3 * b:3 * b + 3]
        frames[:, 7 + 3 * j:10 + 3 * j] = q
        frames[:, 19 + 3 * j:22 + 3 * j] = leg_fk(robot, leg, q)
    return frames, joint


@pytest.mark.parametrize("robot", list(ROBOTS))
@pytest.mark.parametrize("order", ["pybullet", "isaac"])
def test_import_detects_the_leg_order(tmp_path, robot, order):
    from amp_data.interop.motion_files import LEG_ORDERS, MotionFile, detect_leg_order, format_motion_file

    frames, joint = amp_hw_frames(robot, LEG_ORDERS[order])
    guess = detect_leg_order(frames)
    assert guess.order == order
    other = next(k for k in LEG_ORDERS if k != order)
    assert guess.fk_error_m[other] > 0.1                   # the wrong order puts feet on the other side
    assert guess.fk_error_m[order] < (1e-9 if robot == "go2" else 0.05)   # an A1 misses by its other links
    src = tmp_path / "m.txt"
    src.write_text(format_motion_file(MotionFile(frames, 0.02, motion_weight=1.0)))
    r = invoke("import", str(src), "-o", str(tmp_path / "m.h5"))
    assert r.exit_code == 0, r.output
    assert f"leg order {order}" in r.output and ", ".join(LEG_ORDERS[order]) in r.output
    bank = read_bank(tmp_path / "m.h5")
    np.testing.assert_array_equal(bank["joint_pos"], joint)   # back in the bank's order, whatever the file's


def test_leg_order_round_trip_and_an_explicit_order(marked_bank, tmp_path):
    for order in ("pybullet", "isaac"):
        txt, h5 = tmp_path / f"{order}.txt", tmp_path / f"{order}.h5"
        assert invoke("export", str(marked_bank), "-o", str(txt), "--leg-order", order).exit_code == 0
        r = invoke("import", str(txt), "-o", str(h5), "--leg-order", order)
        assert r.exit_code == 0 and "as asked" in r.output
        np.testing.assert_array_equal(read_bank(h5)["joint_pos"], read_bank(marked_bank)["joint_pos"])
    r = invoke("export", str(marked_bank), "-f", "motion-imitation", "-o", str(tmp_path / "x.txt"),
               "--leg-order", "isaac")
    assert r.exit_code == 2 and "applies to amp-hw files" in r.output
    r = invoke("import", str(tmp_path / "isaac.txt"), "-o", str(tmp_path / "y.h5"), "--leg-order", "sdk")
    assert r.exit_code == 2 and "--leg-order 'sdk'" in r.output
