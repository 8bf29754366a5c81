"""Motion files of AMP_for_hardware and motion_imitation <-> motion banks.

Both projects store a clip as one JSON text file: a header and `"Frames"`, one row of numbers per frame,
all rows of one length. The header keys are those of the writers `output_motion` in motion_imitation's
`retarget_motion/retarget_motion.py` and AMP_for_hardware's `datasets/retarget_utils.py`:

    {
    "LoopMode": "Wrap",                  # "Wrap" or "Clamp" (motion_utilities LoopMode enum names)
    "FrameDuration": 0.02,               # seconds per frame (1 / fps)
    "EnableCycleOffsetPosition": true,   # Wrap: each cycle starts where the last one ended ...
    "EnableCycleOffsetRotation": true,   # ... turned by its heading change
    "MotionWeight": 1.0,                 # AMP_for_hardware only: sampling weight of the clip
    "Frames": [[...], ...]
    }

Columns of a frame (0-based, end excluded):

| cols  | amp-hw (61 columns)                       | motion-imitation (19 columns)            |
|-------|-------------------------------------------|------------------------------------------|
| 0:3   | root position, world, m                   | root position, world, m                  |
| 3:7   | root orientation, quaternion x, y, z, w   | root orientation, quaternion x, y, z, w  |
| 7:19  | joint positions, rad, 4 legs (see below)  | joint positions, rad, legs FR, FL, RR, RL|
| 19:31 | foot (toe) positions, base frame, m, 4 legs |                                        |
| 31:34 | base linear velocity, base frame, m/s     |                                          |
| 34:37 | base angular velocity, base frame, rad/s  |                                          |
| 37:49 | joint velocities, rad/s, FL, FR, RL, RR   |                                          |
| 49:61 | foot velocities, base frame, m/s, FL, FR, RL, RR |                                   |

Each leg is hip (abduction, about x), thigh, calf, as in the URDF (same axes and signs on the A1 and Go2).

Where the layout comes from (Alescontrela/AMP_for_hardware and google-research/motion_imitation; read through
their public forks zerenluo123/AMP_for_hardware, rimim/AMP_for_hardware, erwincoumans/motion_imitation):

- amp-hw columns: `rsl_rl/rsl_rl/datasets/motion_loader.py`, class AMPLoader: POS_SIZE 3, ROT_SIZE 4,
  JOINT_POS_SIZE 12, TAR_TOE_POS_LOCAL_SIZE 12, LINEAR_VEL_SIZE 3, ANGULAR_VEL_SIZE 3, JOINT_VEL_SIZE 12,
  TAR_TOE_VEL_LOCAL_SIZE 12, in that order. **Leg order differs between files of this one format**:
  upstream's `datasets/mocap_motions/*.txt` hold every per-leg block (joints, toes, their velocities) in
  pybullet order FR, FL, RR, RL and its loader calls `reorder_from_pybullet_to_isaac`; several forks wrote
  their files in Isaac Gym order FL, FR, RL, RR and commented that call out. Export writes pybullet order by
  default (what upstream's loader expects; `--leg-order isaac` for the forks), import detects the order from
  the file's numbers (`detect_leg_order`). After the loader, `legged_gym/envs/base/legged_robot.py`
  (`_reset_dofs_amp`, `_reset_root_states_amp`) puts the joint columns straight into Isaac Gym's DOF order
  FL, FR, RL, RR, the quaternion straight into Isaac Gym's xyzw root state, and the velocities through
  `quat_rotate(root_orn, .)`: they are base-frame velocities.
- amp-hw foot columns: `datasets/retarget_kp_motions.py` concatenates the forward kinematics of
  `chain_foot_fl, _fr, _rl, _rr` (serial chains from the trunk to the URDF's `*_foot` frames, i.e. the foot
  sphere centres, in the base frame); linear velocity is `(p1 - p0) / dt` rotated by R^T (base frame),
  angular velocity is rotated by the inverse base orientation, toe velocities are time derivatives of the
  base-frame toe positions. In a published A1 file (`datasets/mocap_motions_a1/trot0.txt`), forward
  kinematics of the joint columns taken as FL, FR, RL, RR reproduces the toe columns to 2.5 mm; taken as
  FR, FL, RR, RL it misses by 0.23 m.
- motion-imitation columns: `motion_imitation/utilities/motion_data.py`, class MotionData: POS_SIZE 3,
  ROT_SIZE 4, then the joints. `motion_imitation/envs/env_wrappers/imitation_task.py` (`_set_state`) sets
  the root with pybullet's `resetBasePositionAndOrientation` (quaternion xyzw) and each joint at its URDF
  q-index. Joint order is the A1 URDF's as in `motion_imitation/robots/a1.py` MOTOR_NAMES (FR, FL, RR, RL;
  JOINT_DIRECTIONS all 1, JOINT_OFFSETS 0; base orientation identity, x forward, z up) and
  `retarget_motion/retarget_config_a1.py` (INIT_ROT (0, 0, 0, 1); toes 5, 15, 10, 20 = FR, RR, FL, RL
  links). The Laikago files of that repository (`retarget_config_laikago.py`: base rotated by INIT_ROT
  (pi/2, 0, pi/2), other joint zeros) are a different convention and are not what this module writes.
- Wrap semantics: MotionData plays frames over (n - 1) * FrameDuration seconds and moves each new cycle by
  the root displacement (z dropped) and heading change from the first to the last frame. So the last frame
  of a Wrap file is the first frame again, moved: the closing frame. A bank's wrap clip has no closing
  frame (frame `stop` would be frame `start` moved by the clip's cycle offsets), so export appends it and
  import drops it and turns it back into the clip's `cycle_offset_pos_m` / `cycle_offset_yaw_rad`.

Conventions of the bank (SCHEMA.md) are the same as amp-hw's apart from the column layout: joints FL, FR,
RL, RR; quaternions xyzw; velocities and feet in the base frame; foot = foot sphere centre. Conversion
happens at the edges only, through the named orders below. Numbers are written with Python's `repr`, the
shortest text that reads back as the same float64, so a round trip is exact. Exported root positions
start at x = y = 0 (as both published writers do: `new_frames[:, 0:2] -= new_frames[0, 0:2]`).

Importing a motion-imitation file derives what it lacks as the retargeter does (retarget/pipeline.py):
joint velocities by central differences, feet by forward kinematics of the Go2 (`feet_fk`), foot velocities
J(q) q_dot, base linear velocity R^T dp/dt, base angular velocity from the quaternion derivative
(`body_angular_velocity`); in a Wrap file the differences are periodic. An amp-hw file keeps its own
numbers; `ImportReport.foot_fk_error_m` says how far its feet are from the Go2's forward kinematics
(a file of another robot, e.g. the A1, shows centimetres).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

import numpy as np

from amp_data.format.atomic import BANK_SUFFIXES, atomic_output, check_output_file
from amp_data.format.bank import Bank, go2_bank_attrs, read_bank, write_bank
from amp_data.errors import InputError
from robots.go2.kinematics import feet_fk
from amp_data.motion.derive import derive_motion
from amp_data.motion.rotations import continuous_quat, heading_of_quat_rad, quat_multiply, yaw_matrix, yaw_quat_xyzw
from robots.go2 import LEGS

BANK_LEG_ORDER = LEGS                               # FL, FR, RL, RR (SCHEMA.md, the URDF's)
BANK_QUAT_ORDER = "xyzw"
AMP_HW_LEG_ORDER = ("FL", "FR", "RL", "RR")         # Isaac Gym DOF order (the layout below; see LEG_ORDERS)
# AMP_for_hardware files come in both leg orders: upstream's datasets/mocap_motions/*.txt hold legs (joints, feet,
# their velocities) in pybullet order and its loader calls reorder_from_pybullet_to_isaac; several forks wrote
# their files in Isaac Gym order and commented that call out. Export writes either; import detects which.
LEG_ORDERS = {"pybullet": ("FR", "FL", "RR", "RL"), "isaac": ("FL", "FR", "RL", "RR")}
DEFAULT_EXPORT_LEG_ORDER = "pybullet"                # what upstream's loader expects
AMP_HW_QUAT_ORDER = "xyzw"                          # pybullet / Isaac Gym
MOTION_IMITATION_LEG_ORDER = ("FR", "FL", "RR", "RL")  # A1 URDF / motion_imitation robots/a1.py MOTOR_NAMES
MOTION_IMITATION_QUAT_ORDER = "xyzw"                # pybullet
_JOINT_KINDS = ("hip", "thigh", "calf")
AMP_HW_JOINT_ORDER = tuple(f"{leg}_{k}_joint" for leg in AMP_HW_LEG_ORDER for k in _JOINT_KINDS)
MOTION_IMITATION_JOINT_ORDER = tuple(f"{leg}_{k}_joint" for leg in MOTION_IMITATION_LEG_ORDER for k in _JOINT_KINDS)

PER_LEG_FIELDS = ("joint_pos", "joint_vel", "foot_pos_base", "foot_vel_base")   # 4 legs x 3 columns
LOOP_MODE_TO_FILE = {"wrap": "Wrap", "clamp": "Clamp"}
FILE_TO_LOOP_MODE = {v: k for k, v in LOOP_MODE_TO_FILE.items()}
MIN_FRAMES = 2


@dataclass(frozen=True)
class MotionFormat:
    """One file format: its bank fields in column order (bank dataset name, columns), legs and quaternion order."""

    name: str
    fields: tuple[tuple[str, int], ...]
    leg_order: tuple[str, ...]
    quat_order: str
    has_motion_weight: bool

    @property
    def num_columns(self) -> int:
        return sum(n for _, n in self.fields)

    @property
    def columns(self) -> dict[str, slice]:
        out, start = {}, 0
        for name, n in self.fields:
            out[name] = slice(start, start + n)
            start += n
        return out

    @property
    def has_velocities(self) -> bool:
        return "joint_vel" in dict(self.fields)


AMP_HW = MotionFormat(
    name="amp-hw",
    fields=(("root_pos", 3), ("root_quat", 4), ("joint_pos", 12), ("foot_pos_base", 12), ("base_lin_vel", 3),
            ("base_ang_vel", 3), ("joint_vel", 12), ("foot_vel_base", 12)),
    leg_order=AMP_HW_LEG_ORDER, quat_order=AMP_HW_QUAT_ORDER, has_motion_weight=True)
MOTION_IMITATION = MotionFormat(
    name="motion-imitation",
    fields=(("root_pos", 3), ("root_quat", 4), ("joint_pos", 12)),
    leg_order=MOTION_IMITATION_LEG_ORDER, quat_order=MOTION_IMITATION_QUAT_ORDER, has_motion_weight=False)
FORMATS = {f.name: f for f in (AMP_HW, MOTION_IMITATION)}


def motion_format(name: str, path: str | Path | None = None) -> MotionFormat:
    if name not in FORMATS:
        raise InputError(path, f"unknown format {name!r}; expected {' or '.join(FORMATS)}")
    return FORMATS[name]


def with_leg_order(fmt: MotionFormat, leg_order: str, path: str | Path | None = None) -> MotionFormat:
    """`fmt` with its per-leg blocks in `leg_order` (a key of LEG_ORDERS); amp-hw only."""
    if leg_order not in LEG_ORDERS:
        raise InputError(path, f"unknown leg order {leg_order!r}; expected {' or '.join(LEG_ORDERS)}")
    if fmt.name != AMP_HW.name:
        if LEG_ORDERS[leg_order] != fmt.leg_order:
            raise InputError(path, f"{fmt.name} files have one leg order ({', '.join(fmt.leg_order)}); "
                                   "--leg-order applies to amp-hw files")
        return fmt
    return dataclasses.replace(fmt, leg_order=LEG_ORDERS[leg_order])


@dataclass(frozen=True)
class LegOrderGuess:
    order: str                       # a key of LEG_ORDERS
    fk_error_m: dict[str, float]     # per order: median over frames of the worst foot's FK distance to the toe columns
    toe0_y_m: float                  # mean lateral position of the first toe block, base frame

    def describe(self) -> str:
        other = next(k for k in LEG_ORDERS if k != self.order)
        side = "left" if self.toe0_y_m > 0 else "right"
        return (f"leg order {self.order} ({', '.join(LEG_ORDERS[self.order])}): the first toe block lies on the "
                f"{side} (y = {self.toe0_y_m:+.3f} m); Go2 forward kinematics of the joint blocks meets the toe "
                f"blocks within {self.fk_error_m[self.order] * 1e3:.1f} mm in this order, "
                f"{self.fk_error_m[other] * 1e3:.0f} mm in {other} order")


def detect_leg_order(frames: np.ndarray) -> LegOrderGuess:
    """Which leg order an amp-hw file's frames (N, 61) hold, from their own numbers: forward kinematics of each
    joint block against the toe blocks under each order, and which side the first toe block sits on (they
    agree on any quadruped file; FK decides when they do not, and the side when FK cannot tell)."""
    errors = {}
    for name in LEG_ORDERS:
        data = columns_to_bank(frames, with_leg_order(AMP_HW, name))
        fk = feet_fk(data["joint_pos"])
        errors[name] = float(np.median(np.linalg.norm(fk - data["foot_pos_base"], axis=-1).max(axis=1)))
    toe0_y = float(np.mean(frames[:, AMP_HW.columns["foot_pos_base"]][:, 1]))
    best, other = sorted(errors, key=errors.get)
    by_side = "isaac" if toe0_y > 0 else "pybullet"
    order = best if errors[other] > 2.0 * errors[best] else by_side
    return LegOrderGuess(order, errors, toe0_y)


def format_for_columns(num_columns: int, path: str | Path | None = None) -> MotionFormat:
    """The format whose frames have `num_columns` columns (61: amp-hw, 19: motion-imitation)."""
    for f in FORMATS.values():
        if f.num_columns == num_columns:
            return f
    raise InputError(path, f"frames have {num_columns} columns; an amp-hw file has {AMP_HW.num_columns}, a "
                           f"motion-imitation file {MOTION_IMITATION.num_columns}")


# --- arrays <-> columns ---------------------------------------------------------------------------

def _leg_index(order: tuple[str, ...]) -> list[int]:
    """For each leg of `order`, its index in the bank's leg order."""
    return [BANK_LEG_ORDER.index(leg) for leg in order]


def _quat_index(order: str) -> list[int]:
    """For each quaternion component of `order`, its index in the bank's xyzw."""
    return [BANK_QUAT_ORDER.index(c) for c in order]


def bank_to_columns(data: Mapping[str, np.ndarray], fmt: MotionFormat) -> np.ndarray:
    """Frames (T, fmt.num_columns) from bank datasets (bank conventions, see SCHEMA.md)."""
    legs, quat = _leg_index(fmt.leg_order), _quat_index(fmt.quat_order)
    parts = []
    for name, n in fmt.fields:
        x = np.asarray(data[name], dtype=np.float64)
        x = x.reshape(len(x), -1)
        if name in PER_LEG_FIELDS:
            x = x.reshape(len(x), 4, 3)[:, legs].reshape(len(x), 12)
        elif name == "root_quat":
            x = x[:, quat]
        parts.append(x)
    return np.concatenate(parts, axis=1)


def columns_to_bank(frames: np.ndarray, fmt: MotionFormat) -> dict[str, np.ndarray]:
    """Bank datasets from frames (T, fmt.num_columns): the fields the format holds, in bank conventions."""
    legs, quat = _leg_index(fmt.leg_order), _quat_index(fmt.quat_order)
    out = {}
    for name, cols in fmt.columns.items():
        x = frames[:, cols]
        if name in PER_LEG_FIELDS:
            y = np.empty((len(x), 4, 3))
            y[:, legs] = x.reshape(len(x), 4, 3)
            x = y.reshape(len(x), 12) if name.startswith("joint") else y
        elif name == "root_quat":
            y = np.empty_like(x)
            y[:, quat] = x
            x = y
        out[name] = np.array(x, dtype=np.float64)
    return out


# --- wrap clips: the closing frame ----------------------------------------------------------------

def closing_pose(root_pos0: np.ndarray, root_quat0: np.ndarray, cycle_offset_pos_m, cycle_offset_yaw_rad: float):
    """Root pose one cycle after frame 0: moved by the offset (heading frame of frame 0), turned by the yaw."""
    offset_world = yaw_matrix(heading_of_quat_rad(root_quat0)) @ np.asarray(cycle_offset_pos_m, dtype=np.float64)
    return root_pos0 + offset_world, quat_multiply(yaw_quat_xyzw(cycle_offset_yaw_rad), root_quat0)


def cycle_offsets(root_pos0, root_quat0, closing_pos, closing_quat) -> tuple[np.ndarray, float]:
    """(cycle_offset_pos_m in the heading frame of frame 0, cycle_offset_yaw_rad) from frame 0 and the closing frame.

    The yaw is the heading of q_closing q_0^-1, as motion_imitation's MotionData._calc_cycle_delta_heading.
    """
    offset_heading = yaw_matrix(heading_of_quat_rad(root_quat0)).T @ (np.asarray(closing_pos) - np.asarray(root_pos0))
    conj0 = np.asarray(root_quat0) * np.array([-1.0, -1.0, -1.0, 1.0])
    yaw = float(heading_of_quat_rad(quat_multiply(np.asarray(closing_quat), conj0)))
    return offset_heading, yaw


def _uncycle_pose(pos, quat, root_pos0, closing_pos, yaw_rad: float):
    """A pose moved back by one cycle: the inverse of the map taking frame 0 to the closing frame
    (rotation by the yaw about the vertical through frame 0's root, then translation to the closing root)."""
    back = yaw_matrix(-yaw_rad)
    return back @ (pos - closing_pos) + root_pos0, quat_multiply(yaw_quat_xyzw(-yaw_rad), quat)


# --- derived quantities ---------------------------------------------------------------------------

def derived_motion(joint_pos: np.ndarray, root_pos: np.ndarray, root_quat: np.ndarray, dt: float,
                   closing: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
                   yaw_rad: float = 0.0) -> dict[str, np.ndarray]:
    """Velocities and feet from joint positions (T, 12) and the root trajectory (amp_data/motion/derive.py).

    With `closing` = (joint_pos, root_pos, root_quat) of the closing frame of a wrap clip (and the cycle's
    `yaw_rad`), the differences are periodic: the frame after the last is the closing frame, the one before
    the first is the last moved back by one cycle.
    """
    joint_pos = np.asarray(joint_pos, dtype=np.float64)
    root_pos = np.asarray(root_pos, dtype=np.float64)
    before = None
    if closing is not None:
        prev_pos, prev_quat = _uncycle_pose(root_pos[-1], root_quat[-1], root_pos[0], closing[1], yaw_rad)
        before = (joint_pos[-1], prev_pos, prev_quat)
    derived = derive_motion(joint_pos, root_pos, root_quat, dt, before, closing)
    del derived["root_quat"]
    return derived


# --- text <-> MotionFile --------------------------------------------------------------------------

@dataclass
class MotionFile:
    """The content of one motion file. `frames` (N, C) as stored, closing frame of a Wrap file included."""

    frames: np.ndarray
    frame_duration_s: float
    loop_mode: str = "Clamp"                  # "Wrap" or "Clamp"
    enable_cycle_offset_position: bool = False
    enable_cycle_offset_rotation: bool = False
    motion_weight: float | None = None        # None: no MotionWeight key


def format_motion_file(mf: MotionFile) -> str:
    """The JSON text, laid out as the published writers do, numbers as Python's shortest exact repr."""
    head = [f'"LoopMode": {json.dumps(mf.loop_mode)}',
            f'"FrameDuration": {float(mf.frame_duration_s)!r}',
            f'"EnableCycleOffsetPosition": {json.dumps(bool(mf.enable_cycle_offset_position))}',
            f'"EnableCycleOffsetRotation": {json.dumps(bool(mf.enable_cycle_offset_rotation))}']
    if mf.motion_weight is not None:
        head.append(f'"MotionWeight": {float(mf.motion_weight)!r}')
    rows = ",\n".join("  [" + ", ".join(map(repr, row)) + "]" for row in np.asarray(mf.frames, float).tolist())
    return "{\n" + ",\n".join(head) + ',\n\n"Frames":\n[\n' + rows + "\n]\n}\n"


def _number(obj: dict, key: str, path) -> float:
    if key not in obj:
        raise InputError(path, f"motion file lacks {key!r}")
    value = obj[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InputError(path, f"{key} is {value!r}; expected a finite number")
    return float(value)


def parse_motion_file(text: str, path: str | Path | None = None) -> MotionFile:
    """Parse and check a motion file's text. Raises InputError naming `path` and the problem."""
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as e:
        raise InputError(path, f"not a JSON motion file ({e.msg} at line {e.lineno}, column {e.colno})") from None
    except RecursionError:
        raise InputError(path, "not a JSON motion file (nested too deeply)") from None
    if not isinstance(obj, dict):
        raise InputError(path, f"not a motion file: the JSON is a {type(obj).__name__}, not an object with 'Frames'")
    if "Frames" not in obj:
        raise InputError(path, "motion file lacks 'Frames'")
    rows = obj["Frames"]
    if not isinstance(rows, list) or not rows:
        raise InputError(path, "'Frames' is empty or not a list of frames")
    if not all(isinstance(r, list) for r in rows):
        bad = next(i for i, r in enumerate(rows) if not isinstance(r, list))
        raise InputError(path, f"frame {bad} of 'Frames' is not a list of numbers")
    lengths = np.fromiter(map(len, rows), dtype=np.int64, count=len(rows))
    if (lengths != lengths[0]).any():
        bad = int(np.argmax(lengths != lengths[0]))
        raise InputError(path, f"ragged 'Frames': frame {bad} has {lengths[bad]} columns, frame 0 has {lengths[0]}")
    try:
        frames = np.array(rows, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError(path, "'Frames' holds values that are not numbers") from None
    if frames.ndim != 2:
        raise InputError(path, "'Frames' must be a list of lists of numbers")
    if not np.isfinite(frames).all():
        t, c = np.argwhere(~np.isfinite(frames))[0]
        raise InputError(path, f"frame {t}, column {c} is NaN, infinite or null")
    dt = _number(obj, "FrameDuration", path)
    if not dt > 0:
        raise InputError(path, f"FrameDuration is {dt!r}; it must be positive (seconds per frame)")
    loop = obj.get("LoopMode", "Clamp")     # AMP_for_hardware's loader does not read it; motion_imitation needs it
    if loop not in FILE_TO_LOOP_MODE:
        raise InputError(path, f"LoopMode is {loop!r}; expected {' or '.join(map(repr, FILE_TO_LOOP_MODE))}")
    weight = _number(obj, "MotionWeight", path) if "MotionWeight" in obj else None
    if weight is not None and weight < 0:
        raise InputError(path, f"MotionWeight is {weight!r}; it must be >= 0")
    return MotionFile(frames=frames, frame_duration_s=dt, loop_mode=loop,
                      enable_cycle_offset_position=bool(obj.get("EnableCycleOffsetPosition", False)),
                      enable_cycle_offset_rotation=bool(obj.get("EnableCycleOffsetRotation", False)),
                      motion_weight=weight)


def fps_from_frame_duration(dt: float) -> float:
    """The frame rate with the fewest significant digits whose reciprocal is `dt` (0.02 -> 50.0, not 49.99...)."""
    exact = 1.0 / dt
    for digits in range(1, 18):
        fps = float(f"{exact:.{digits}g}")
        if 1.0 / fps == dt:
            return fps
    return exact


# --- bank <-> MotionFile --------------------------------------------------------------------------

def motion_file_from_clip(bank: Bank, clip, fmt: MotionFormat, weight: float | None = None) -> MotionFile:
    """One clip of a bank as a motion file (a wrap clip gets its closing frame appended)."""
    c = bank.clip(clip)
    data = {k: np.array(v, dtype=np.float64) for k, v in bank.clip_data(c).items() if k != "contacts"}
    data["root_pos"][:, :2] -= data["root_pos"][0, :2]
    wrap = c.loop_mode == "wrap"
    if wrap:
        pos, quat = closing_pose(data["root_pos"][0], data["root_quat"][0], c.cycle_offset_pos_m,
                                 c.cycle_offset_yaw_rad)
        if np.dot(quat, data["root_quat"][-1]) < 0:
            quat = -quat
        closing = {k: v[:1] for k, v in data.items()}    # joints, feet and base-frame velocities repeat frame 0
        closing["root_pos"], closing["root_quat"] = pos[None], quat[None]
        data = {k: np.concatenate([v, closing[k]]) for k, v in data.items()}
    if weight is None:
        weight = c.weight
    return MotionFile(frames=bank_to_columns(data, fmt), frame_duration_s=1.0 / bank.fps,
                      loop_mode=LOOP_MODE_TO_FILE[c.loop_mode], enable_cycle_offset_position=wrap,
                      enable_cycle_offset_rotation=wrap, motion_weight=float(weight) if fmt.has_motion_weight else None)


def bank_from_motion_file(mf: MotionFile, fmt: MotionFormat, source_file: str = "", source_sha256: str = "",
                          path: str | Path | None = None) -> Bank:
    """A one-clip bank (schema v2; contacts detected) from a motion file of format `fmt`."""
    if mf.frames.shape[1] != fmt.num_columns:
        raise InputError(path, f"frames have {mf.frames.shape[1]} columns; {fmt.name} files have {fmt.num_columns}")
    wrap = mf.loop_mode == "Wrap"
    need = MIN_FRAMES + (1 if wrap else 0)
    if len(mf.frames) < need:
        raise InputError(path, f"holds {len(mf.frames)} frame(s); a {mf.loop_mode} file needs at least {need}"
                               + (" (the last one closes the cycle)" if wrap else ""))
    data = columns_to_bank(mf.frames, fmt)
    norm = np.linalg.norm(data["root_quat"], axis=1)
    if (np.abs(norm - 1) > 0.01).any():
        t = int(np.argmax(np.abs(norm - 1)))
        raise InputError(path, f"root orientation of frame {t} has norm {norm[t]:.4g}; expected a unit quaternion")
    data["root_quat"] = continuous_quat(data["root_quat"] / norm[:, None])
    dt = mf.frame_duration_s
    offset_pos, offset_yaw, closing = (0.0, 0.0, 0.0), 0.0, None
    if wrap:
        closing = (data["joint_pos"][-1], data["root_pos"][-1], data["root_quat"][-1])
        offset_pos, offset_yaw = cycle_offsets(data["root_pos"][0], data["root_quat"][0], closing[1], closing[2])
        data = {k: v[:-1] for k, v in data.items()}
    if not fmt.has_velocities:
        data.update(derived_motion(data["joint_pos"], data["root_pos"], data["root_quat"], dt, closing, offset_yaw))
    num_frames = len(data["joint_pos"])
    fps = fps_from_frame_duration(dt)
    attrs = go2_bank_attrs(fps, **{
        "source_file": source_file,
        "source_sha256": source_sha256, "source_frames": np.array([0, num_frames], dtype=np.int64),
        "source_fps": fps, "scale": 1.0, "ground_height_m": 0.0, "skeleton_map": "none",
        "loop_mode": FILE_TO_LOOP_MODE[mf.loop_mode],
    })
    bank = Bank(None, data, attrs)
    clip = bank.clips[0]
    clip.weight = 1.0 if mf.motion_weight is None else float(mf.motion_weight)
    clip.cycle_offset_pos_m = tuple(float(x) for x in offset_pos)
    clip.cycle_offset_yaw_rad = float(offset_yaw)
    return bank


# --- files ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ExportReport:
    output: Path
    format: str
    clip: str
    frames: int            # rows written, closing frame included
    closing_frame: bool
    fps: float
    loop_mode: str
    leg_order: str = ""     # the legs' order in the file, e.g. "FR, FL, RR, RL"


@dataclass(frozen=True)
class ImportReport:
    output: Path
    format: str
    frames: int            # bank frames (a Wrap file's closing frame dropped)
    fps: float
    loop_mode: str
    weight: float
    foot_fk_error_m: float  # max distance of the file's feet from Go2 forward kinematics (0 when derived)
    leg_order: str = ""     # what the file holds, and how that was found (amp-hw)


def write_text_atomic(path: Path, text: str) -> Path:
    """Write `text` to a temporary file next to `path`, then rename it into place."""
    with atomic_output(path) as tmp, open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    return path


def export_motion(bank_path: str | Path, output: str | Path, fmt_name: str = AMP_HW.name,
                  clip: str | None = None, weight: float | None = None, leg_order: str | None = None) -> ExportReport:
    """Write one clip of a bank as an AMP_for_hardware or motion_imitation motion file. `leg_order` (amp-hw):
    pybullet (default, what upstream AMP_for_hardware's loader expects) or isaac."""
    fmt = motion_format(fmt_name)
    if fmt.name == AMP_HW.name or leg_order is not None:
        fmt = with_leg_order(fmt, leg_order or DEFAULT_EXPORT_LEG_ORDER)
    output = Path(output)
    if weight is not None:
        if not fmt.has_motion_weight:
            raise InputError(None, f"--weight applies to {AMP_HW.name} files; {fmt.name} files have no MotionWeight")
        if not (math.isfinite(weight) and weight >= 0):
            raise InputError(None, f"--weight must be a number >= 0, got {weight:g}")
    check_output_file(output, (".txt", ".json"), [bank_path])
    bank = read_bank(bank_path)
    if clip is None:
        if len(bank.clips) > 1:
            names = ", ".join(c.name for c in bank.clips)
            raise InputError(bank_path, f"holds {len(bank.clips)} clips ({names}); choose one with --clip NAME")
        clip = bank.clips[0].name
    c = bank.clip(clip)
    mf = motion_file_from_clip(bank, c, fmt, weight)
    write_text_atomic(output, format_motion_file(mf))
    return ExportReport(output, fmt.name, c.name, len(mf.frames), c.loop_mode == "wrap", bank.fps, c.loop_mode,
                        ", ".join(fmt.leg_order))


def import_motion(path: str | Path, output: str | Path, fmt_name: str = "auto", leg_order: str = "auto") -> ImportReport:
    """Read an AMP_for_hardware or motion_imitation motion file into a bank (`fmt_name` 'auto': by column count;
    `leg_order` 'auto': an amp-hw file's leg order detected from its numbers, see detect_leg_order)."""
    path, output = Path(path), Path(output)
    if fmt_name != "auto":
        motion_format(fmt_name)
    if leg_order != "auto" and leg_order not in LEG_ORDERS:
        raise InputError(None, f"--leg-order {leg_order!r}: expected auto, {' or '.join(LEG_ORDERS)}")
    check_output_file(output, BANK_SUFFIXES, [path])
    if path.is_dir():
        raise InputError(path, "is a folder, not a motion file")
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InputError(path, "no such motion file") from None
    except OSError as e:
        raise InputError(path, f"cannot read ({e.strerror or e})") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(path, "not a text file (is it a motion file?)") from None
    mf = parse_motion_file(text, path)
    fmt = format_for_columns(mf.frames.shape[1], path) if fmt_name == "auto" else motion_format(fmt_name, path)
    order_note = ""
    if fmt.name == AMP_HW.name and mf.frames.shape[1] == AMP_HW.num_columns:
        if leg_order == "auto":
            guess = detect_leg_order(mf.frames)
            fmt, order_note = with_leg_order(fmt, guess.order, path), "detected " + guess.describe()
        else:
            fmt, order_note = with_leg_order(fmt, leg_order, path), f"leg order {leg_order} (as asked)"
    elif leg_order != "auto":
        fmt = with_leg_order(fmt, leg_order, path)
    bank = bank_from_motion_file(mf, fmt, path.name, hashlib.sha256(raw).hexdigest(), path)
    fk_error = 0.0
    if fmt.has_velocities:
        fk = feet_fk(bank["joint_pos"])
        fk_error = float(np.linalg.norm(fk - bank["foot_pos_base"], axis=-1).max())
    write_bank(output, bank)
    c = bank.clips[0]
    return ImportReport(output, fmt.name, bank.num_frames, bank.fps, c.loop_mode, c.weight, fk_error, order_note)
