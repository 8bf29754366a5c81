"""Motion banks: write and read the HDF5 files described in SCHEMA.md (next to this file)."""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import h5py
import numpy as np

from amp_data.format.atomic import atomic_output
from amp_data.errors import InputError
from robots.go2 import FOOT_NAMES, JOINT_NAMES

SCHEMA_VERSION = 2
READABLE_VERSIONS = (1, 2)   # v1 banks (no contacts, no clip table) are upgraded in memory on read
ROBOT = "go2"
LOOP_MODES = ("clamp", "wrap")
# name -> trailing shape (T first); all float64 except contacts (bool)
DATASETS = {
    "joint_pos": (12,),
    "joint_vel": (12,),
    "root_pos": (3,),
    "root_quat": (4,),
    "base_lin_vel": (3,),
    "base_ang_vel": (3,),
    "foot_pos_base": (4, 3),
    "foot_vel_base": (4, 3),
    "contacts": (4,),
}
REQUIRED_ATTRS = ("fps", "joint_names", "foot_names", "robot", "schema_version")
# clip table columns (group `clips`, one row per clip) -> numpy dtype kind; see SCHEMA.md
CLIP_COLUMNS = ("name", "start", "stop", "weight", "loop_mode", "source_file", "source_sha256",
                "source_start", "source_stop", "keypoint_start", "keypoint_stop", "cycle_offset_pos_m",
                "cycle_offset_yaw_rad")


@dataclass
class ClipRange:
    """One clip inside a bank: frames [start, stop) of the bank's datasets, and where they came from.

    A `wrap` clip is one gait cycle: the frame after its last is its first, moved by the root's
    `cycle_offset_pos_m` (heading frame of the first frame) and turned by `cycle_offset_yaw_rad`.
    """

    name: str
    start: int
    stop: int
    weight: float = 1.0
    loop_mode: str = "clamp"
    source_file: str = ""
    source_sha256: str = ""
    source_start: int = 0
    source_stop: int = 0
    keypoint_start: int = 0     # rows [keypoint_start, keypoint_stop) of source/keypoints
    keypoint_stop: int = 0
    cycle_offset_pos_m: tuple[float, float, float] = (0.0, 0.0, 0.0)
    cycle_offset_yaw_rad: float = 0.0

    @property
    def num_frames(self) -> int:
        return self.stop - self.start


def _version() -> str:
    try:
        return metadata.version("amp-data")
    except metadata.PackageNotFoundError:
        return "dev"


@dataclass
class Bank:
    """A bank in memory: datasets by name, attributes, the clip table and the source group.

    Built without `contacts`, it detects them (amp_data.motion.contacts); built without `clips`, it is one
    clip over all frames, named after `attrs["source_file"]`.
    """

    path: Path | None
    data: dict[str, np.ndarray]
    attrs: dict
    keypoints: np.ndarray | None = None
    keypoint_names: tuple[str, ...] = ()
    keypoint_parents: np.ndarray | None = None
    clips: list[ClipRange] = field(default_factory=list)
    quality: dict[str, np.ndarray] = field(default_factory=dict)   # figure -> (C,) one value per clip

    def __post_init__(self):
        if "contacts" not in self.data:
            from amp_data.motion.contacts import bank_contacts
            self.data["contacts"] = bank_contacts(self.data["root_pos"], self.data["root_quat"],
                                                  self.data["foot_pos_base"], self.fps)
        if not self.clips:
            name = Path(str(self.attrs.get("source_file", "") or "clip")).stem
            frames = self.attrs.get("source_frames", (0, 0))
            n_kp = 0 if self.keypoints is None else len(self.keypoints)
            self.clips = [ClipRange(
                name=name, start=0, stop=self.num_frames, loop_mode=str(self.attrs.get("loop_mode", "clamp")),
                source_file=str(self.attrs.get("source_file", "")),
                source_sha256=str(self.attrs.get("source_sha256", "")),
                source_start=int(frames[0]), source_stop=int(frames[1]), keypoint_start=0, keypoint_stop=n_kp)]
        modes = {c.loop_mode for c in self.clips}
        self.attrs["loop_mode"] = modes.pop() if len(modes) == 1 else "mixed"

    @property
    def fps(self) -> float:
        return float(self.attrs["fps"])

    @property
    def num_frames(self) -> int:
        return self.data["joint_pos"].shape[0]

    @property
    def joint_names(self) -> tuple[str, ...]:
        return tuple(self.attrs["joint_names"])

    @property
    def foot_names(self) -> tuple[str, ...]:
        return tuple(self.attrs["foot_names"])

    def __getitem__(self, name: str) -> np.ndarray:
        return self.data[name]

    def clip_data(self, clip: ClipRange | int | str) -> dict[str, np.ndarray]:
        """The datasets of one clip (views)."""
        c = self.clip(clip)
        return {k: v[c.start:c.stop] for k, v in self.data.items()}

    def clip(self, key: ClipRange | int | str) -> ClipRange:
        if isinstance(key, ClipRange):
            return key
        if isinstance(key, int):
            return self.clips[key]
        for c in self.clips:
            if c.name == key:
                return c
        raise InputError(self.path, f"no clip named {key!r} (clips: {', '.join(c.name for c in self.clips)})")


def bank_from_motion(motion, name: str | None = None, quality: dict[str, float] | None = None) -> Bank:
    """A Bank from a retarget.pipeline.Motion (contacts detected here unless the motion has them), with the
    retarget's quality figures (group `quality`) when given."""
    data = {k: np.asarray(getattr(motion, k), dtype=np.float64) for k in DATASETS if k != "contacts"}
    if getattr(motion, "contacts", None) is not None:
        data["contacts"] = np.asarray(motion.contacts, dtype=bool)
    loop_mode = getattr(motion, "loop_mode", "clamp")
    attrs = {
        **go2_bank_attrs(motion.fps),
        "joint_names": list(motion.joint_names),
        "foot_names": list(motion.foot_names),
        "source_file": motion.source_file,
        "source_sha256": motion.source_sha256,
        "source_frames": np.asarray(motion.source_frames, dtype=np.int64),
        "source_fps": float(motion.source_fps),
        "scale": float(motion.scale),
        "ground_height_m": float(motion.ground_height_m),
        "loop_mode": loop_mode,
        **motion.attrs,
    }
    parents = getattr(motion, "keypoint_parents", None)
    bank = Bank(None, data, attrs, motion.keypoints, tuple(motion.keypoint_names),
                None if parents is None else np.asarray(parents, dtype=np.int64))
    c = bank.clips[0]
    c.cycle_offset_pos_m = tuple(float(x) for x in getattr(motion, "cycle_offset_pos_m", (0.0, 0.0, 0.0)))
    c.cycle_offset_yaw_rad = float(getattr(motion, "cycle_offset_yaw_rad", 0.0))
    if name:
        c.name = name
    if quality:
        bank.quality = {k: np.array([float(v)]) for k, v in quality.items()}
    return bank


def _checked_arrays(bank: Bank, path: Path | None = None) -> dict[str, np.ndarray]:
    """The datasets as arrays of their stored dtype; ValueError if one has the wrong shape, InputError naming
    `path` if one holds NaN or inf (a diverged rollout never reaches disk)."""
    out = {}
    for name, shape in DATASETS.items():
        arr = np.asarray(bank.data[name], dtype=bool if name == "contacts" else np.float64)
        if arr.shape != (bank.num_frames, *shape):
            raise ValueError(f"dataset {name!r} has shape {arr.shape}, expected ({bank.num_frames}, "
                             f"{', '.join(map(str, shape))})")
        if name != "contacts" and not np.isfinite(arr).all():
            t = int(np.argmax(~np.isfinite(arr).reshape(len(arr), -1).all(axis=1)))
            raise InputError(path, f"not written: dataset {name!r} holds NaN or inf (first at frame {t})")
        out[name] = arr
    return out


def write_bank(path: str | Path, bank: Bank) -> Path:
    """Write atomically: a temporary file next to `path`, then rename. Raises InputError if unwritable."""
    path = Path(path)
    arrays = _checked_arrays(bank, path)
    with atomic_output(path) as tmp:
        with h5py.File(tmp, "w") as f:
            for name, arr in arrays.items():
                f.create_dataset(name, data=arr)
            for key, value in bank.attrs.items():
                f.attrs[key] = value
            f.attrs["schema_version"] = SCHEMA_VERSION
            f.attrs["created_by"] = f"amp-data {_version()}"
            clips = f.create_group("clips")
            for col in CLIP_COLUMNS:
                values = [getattr(c, col) for c in bank.clips]
                if isinstance(values[0], str):
                    clips.create_dataset(col, data=np.array(values, dtype=h5py.string_dtype()))
                else:
                    clips.create_dataset(col, data=np.asarray(values))
            if bank.quality and all(np.size(v) == len(bank.clips) for v in bank.quality.values()):
                group = f.create_group("quality")
                for key, values in bank.quality.items():
                    group.create_dataset(key, data=np.asarray(values, dtype=np.float64).reshape(len(bank.clips)))
            if bank.keypoints is not None:
                src = f.create_group("source")
                src.create_dataset("keypoints", data=bank.keypoints)
                src.attrs["names"] = list(bank.keypoint_names)
                if bank.keypoint_parents is not None:
                    src.attrs["parents"] = np.asarray(bank.keypoint_parents, dtype=np.int64)
    return path


def _str_list(value) -> tuple[str, ...]:
    return tuple(v.decode() if isinstance(v, bytes) else str(v) for v in value)


STR_COLUMNS = ("name", "loop_mode", "source_file", "source_sha256")


def _clip_value(path: Path, column: str, x):
    """One clip-table cell as its column's type; InputError naming the column otherwise."""
    try:
        if column in STR_COLUMNS:
            if not isinstance(x, (bytes, str)):
                raise TypeError
            return x.decode() if isinstance(x, bytes) else x
        if isinstance(x, (bytes, str)):
            raise TypeError
        if column == "cycle_offset_pos_m":
            out = tuple(float(a) for a in x)
            if len(out) != 3 or not np.isfinite(out).all():
                raise ValueError
            return out
        if column in ("weight", "cycle_offset_yaw_rad"):
            out = float(x)
            if not np.isfinite(out):
                raise ValueError
            return out
        return _int_value(path, f"clip table column {column!r}", x)
    except (TypeError, ValueError, UnicodeDecodeError):
        raise InputError(path, f"clip table column {column!r} holds {x!r}, not a valid "
                               f"{'name' if column in STR_COLUMNS else 'number'}") from None


def _read_clips(path: Path, group, num_frames: int, num_keypoints: int) -> list[ClipRange]:
    missing = [c for c in CLIP_COLUMNS if c not in group]
    if missing:
        raise InputError(path, f"bank's clip table lacks column(s) {', '.join(missing)}")
    cols = {c: group[c][()] for c in CLIP_COLUMNS}
    n = len(cols["name"])
    if n == 0 or any(len(v) != n for v in cols.values()):
        raise InputError(path, "bank's clip table is empty or its columns differ in length")
    clips = []
    for i in range(n):
        row = {}
        for c, v in cols.items():
            row[c] = _clip_value(path, c, v[i])
        clip = ClipRange(**row)
        if not (0 <= clip.start < clip.stop <= num_frames):
            raise InputError(path, f"clip {clip.name!r} spans frames {clip.start}:{clip.stop}, outside the "
                                   f"bank's {num_frames}")
        if not (clip.weight >= 0 and np.isfinite(clip.weight)):
            raise InputError(path, f"clip {clip.name!r} has weight {clip.weight}; weights must be >= 0")
        if clip.loop_mode not in LOOP_MODES:
            raise InputError(path, f"clip {clip.name!r} has loop_mode {clip.loop_mode!r}; expected "
                                   f"{' or '.join(LOOP_MODES)}")
        if not (0 <= clip.keypoint_start <= clip.keypoint_stop <= num_keypoints):
            raise InputError(path, f"clip {clip.name!r} points at source keypoints "
                                   f"{clip.keypoint_start}:{clip.keypoint_stop}, outside {num_keypoints}")
        clips.append(clip)
    return clips


def read_bank(path: str | Path) -> Bank:
    """Read and check a bank. Raises InputError naming the file and the problem."""
    path = Path(path)
    if path.is_dir():
        raise InputError(path, "is a folder, not a bank file")
    if not path.is_file():
        raise InputError(path, "no such bank file")
    if not h5py.is_hdf5(path):
        raise InputError(path, "not an HDF5 file (is it a motion bank?)")
    try:
        with h5py.File(path, "r") as f:
            attrs = {k: f.attrs[k] for k in f.attrs}
            version = attrs.get("schema_version")
            if version is None:
                raise InputError(path, "not a motion bank: no schema_version attribute")
            version = _int_value(path, "attribute schema_version", version)
            if version not in READABLE_VERSIONS:
                raise InputError(path, f"unknown bank schema version {version} (this amp-data reads "
                                       f"{', '.join(map(str, READABLE_VERSIONS))})")
            missing = [k for k in REQUIRED_ATTRS if k not in attrs]
            if missing:
                raise InputError(path, f"bank lacks attribute(s) {', '.join(missing)}")
            data = {}
            for name, shape in DATASETS.items():
                if name == "contacts" and version == 1:
                    continue
                if name not in f:
                    raise InputError(path, f"bank lacks dataset {name!r}")
                if not isinstance(f[name], h5py.Dataset):
                    raise InputError(path, f"{name!r} is a group, not a dataset")
                arr = f[name][()]
                arr = np.asarray(arr)
                if arr.ndim != 1 + len(shape) or arr.shape[1:] != shape:
                    raise InputError(path, f"dataset {name!r} has shape {arr.shape}, expected (T, {', '.join(map(str, shape))})")
                data[name] = _checked_values(path, name, arr)
            lengths = {a.shape[0] for a in data.values()}
            if len(lengths) != 1:
                raise InputError(path, f"datasets disagree on the frame count: {sorted(lengths)}")
            if lengths == {0}:
                raise InputError(path, "bank holds no frames")
            keypoints, names, parents = None, (), None
            if "source" in f and "keypoints" in f["source"]:
                keypoints = np.asarray(f["source/keypoints"][()])
                if keypoints.ndim != 3 or keypoints.shape[2] != 3 or keypoints.dtype.kind not in "fiu":
                    raise InputError(path, f"source/keypoints has shape {keypoints.shape} and type {keypoints.dtype}; "
                                           "expected (T_src, K, 3) numbers")
                names = _str_list(f["source"].attrs.get("names", []))
                if "parents" in f["source"].attrs:
                    parents = np.asarray(f["source"].attrs["parents"], dtype=np.int64)
            clips = []
            if version >= 2:
                if "clips" not in f or not isinstance(f["clips"], h5py.Group):
                    raise InputError(path, "bank lacks its clip table (group 'clips')")
                clips = _read_clips(path, f["clips"], lengths.pop(), 0 if keypoints is None else len(keypoints))
            quality = _read_quality(path, f["quality"], len(clips)) if "quality" in f and clips else {}
    except OSError as e:
        raise InputError(path, f"cannot read bank ({e})") from None
    except (TypeError, ValueError, UnicodeDecodeError) as e:   # a value of the wrong kind where h5py or numpy read it
        raise InputError(path, f"bank holds a value of the wrong type ({e})") from None
    for k, v in list(attrs.items()):
        if isinstance(v, bytes):
            attrs[k] = v.decode(errors="replace")
    _check_attrs(path, attrs)
    data = _canonical_order(path, attrs, data)
    attrs["schema_version"] = SCHEMA_VERSION
    return Bank(path, data, attrs, keypoints, names, parents, clips, quality)


MAX_FPS = 1000.0
MAX_JOINT_RAD = 4 * np.pi       # beyond this a joint angle is not an angle
MAX_POSITION_M = 1e5           # a position (m) or speed beyond 100 km is a corrupt number


def _int_value(path, what: str, value) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer, float, np.floating)) \
            or not float(value).is_integer():
        raise InputError(path, f"{what} is {value!r}; expected an integer")
    return int(value)


def _checked_values(path: Path, name: str, arr: np.ndarray) -> np.ndarray:
    """A dataset's values: numbers (bool or 0/1 for contacts), finite, in their range."""
    if name == "contacts":
        if arr.dtype.kind == "b":
            return arr.astype(bool)
        if arr.dtype.kind in "iu" and np.isin(arr, (0, 1)).all():
            return arr.astype(bool)
        raise InputError(path, f"dataset 'contacts' holds {arr.dtype} values; expected booleans (or 0/1)")
    if arr.dtype.kind not in "fiu":
        raise InputError(path, f"dataset {name!r} holds {arr.dtype} values; expected numbers")
    arr = arr.astype(np.float64)
    if not np.all(np.isfinite(arr)):
        raise InputError(path, f"dataset {name!r} holds NaN or infinite values")
    if name == "root_quat":
        norm = np.linalg.norm(arr, axis=1)
        bad = np.abs(norm - 1.0) > 1e-3
        if bad.any():
            t = int(np.argmax(bad))
            raise InputError(path, f"root_quat of frame {t} has norm {norm[t]:.4g}; expected unit quaternions (xyzw)")
    elif name == "joint_pos" and np.abs(arr).max() > MAX_JOINT_RAD:
        raise InputError(path, f"joint_pos reaches {np.abs(arr).max():.4g} rad; expected angles in radians")
    elif np.abs(arr).max() > MAX_POSITION_M:
        raise InputError(path, f"dataset {name!r} reaches {np.abs(arr).max():.4g}: not a value in metres or "
                               "seconds (corrupt?)")
    return arr


def _check_attrs(path: Path, attrs: dict) -> None:
    fps = attrs["fps"]
    if isinstance(fps, (bool, np.bool_, str, bytes)) or not isinstance(fps, (int, float, np.number)) \
            or not (0 < float(fps) <= MAX_FPS):
        raise InputError(path, f"attribute fps is {fps!r}; expected a frame rate in (0, {MAX_FPS:g}] Hz")
    attrs["fps"] = float(fps)
    if attrs["robot"] != ROBOT:
        raise InputError(path, f"bank is for robot {attrs['robot']!r}; this amp-data handles {ROBOT!r}")
    if "quat_convention" in attrs and attrs["quat_convention"] != "xyzw":
        raise InputError(path, f"quat_convention is {attrs['quat_convention']!r}; banks hold 'xyzw'")
    for key, canonical in (("joint_names", JOINT_NAMES), ("foot_names", FOOT_NAMES)):
        value = attrs[key]
        if isinstance(value, (str, bytes)) or np.ndim(value) != 1:
            raise InputError(path, f"attribute {key} must be a list of names")
        names = _str_list(value)
        if sorted(names) != sorted(canonical):
            unknown = sorted(set(names) - set(canonical)) or sorted(set(canonical) - set(names))
            raise InputError(path, f"attribute {key} does not name the Go2's {len(canonical)} "
                                   f"{key.split('_')[0]}s (differs at {', '.join(unknown[:3]) or 'a repeat'})")
        attrs[key] = names


def _canonical_order(path: Path, attrs: dict, data: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Datasets with joints and feet in the canonical order (FL, FR, RL, RR; hip, thigh, calf), whatever
    order the file's `joint_names` / `foot_names` gave: convert at the edge, by name."""
    joints = [attrs["joint_names"].index(n) for n in JOINT_NAMES]
    feet = [attrs["foot_names"].index(n) for n in FOOT_NAMES]
    if joints != list(range(12)) or feet != list(range(4)):
        data = dict(data)
        for name in ("joint_pos", "joint_vel"):
            data[name] = data[name][:, joints]
        for name in ("foot_pos_base", "foot_vel_base", "contacts"):
            if name in data:
                data[name] = data[name][:, feet]
    attrs["joint_names"], attrs["foot_names"] = JOINT_NAMES, FOOT_NAMES
    return data


def _read_quality(path: Path, group, num_clips: int) -> dict[str, np.ndarray]:
    out = {}
    for key in group:
        values = group[key][()]
        if not (isinstance(values, np.ndarray) and values.dtype.kind == "f" and values.shape == (num_clips,)):
            raise InputError(path, f"quality/{key} must hold {num_clips} float(s), one per clip")
        out[key] = values
    return out


# attributes that banks used together (merged, sampled together) must share
SHARED_ATTRS = ("robot", "fps", "joint_names", "foot_names", "quat_convention")


def go2_bank_attrs(fps: float, **more) -> dict:
    """The attributes every Go2 bank carries (schema version, robot, fps, joint and foot names, quaternion
    order), plus `more`."""
    return {"schema_version": SCHEMA_VERSION, "robot": ROBOT, "fps": float(fps), "joint_names": list(JOINT_NAMES),
            "foot_names": list(FOOT_NAMES), "quat_convention": "xyzw", **more}


def same_attr_value(a, b) -> bool:
    """Two attribute values alike: strings equal, arrays of one shape equal (floats to 1e-12 relative)."""
    if isinstance(a, (str, bytes)) or isinstance(b, (str, bytes)):
        return a == b
    try:
        a, b = np.asarray(a), np.asarray(b)
        if a.shape != b.shape:
            return False
        if a.dtype.kind in "fc" or b.dtype.kind in "fc":
            return bool(np.allclose(a, b, rtol=1e-12, atol=0))
        return bool(np.all(a == b))
    except (TypeError, ValueError):
        return False


def show_attr_value(value) -> str:
    """An attribute value for a message: numbers with %g, sequences in brackets."""
    if isinstance(value, (tuple, list, np.ndarray)):
        return "[" + ", ".join(show_attr_value(v) for v in value) + "]"
    if isinstance(value, (float, np.floating)):
        return f"{float(value):g}"
    return str(value)


def check_compatible(banks: list[Bank], what: str) -> None:
    """InputError naming two banks and their first difference in `SHARED_ATTRS`, which banks used together
    (merged, sampled together) must share. `what`: the action, for the message ("merge")."""
    first = banks[0]
    for other in banks[1:]:
        for key in SHARED_ATTRS:
            a, b = first.attrs.get(key), other.attrs.get(key)
            if a is None and b is None:
                continue
            if a is None or b is None or not same_attr_value(a, b):
                if isinstance(a, (tuple, list, np.ndarray)) and isinstance(b, (tuple, list, np.ndarray)) \
                        and len(a) == len(b):
                    i = next(i for i, (x, y) in enumerate(zip(a, b)) if x != y)
                    diff = f"{key}[{i}] is {show_attr_value(a[i])} vs {show_attr_value(b[i])}"
                else:
                    diff = f"{key} is {show_attr_value(a)} vs {show_attr_value(b)}"
                raise InputError(None, f"cannot {what} {_name(first, banks)} and {_name(other, banks)}: {diff}")


def _name(bank: Bank, banks: list[Bank]) -> str:
    if bank.path is not None:
        return str(bank.path)
    return f"<bank {next(i for i, b in enumerate(banks) if b is bank)}>"
