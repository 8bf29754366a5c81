"""Motion banks: write and read the HDF5 files described in SCHEMA.md (next to this file)."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import h5py
import numpy as np

from amp_data.errors import InputError

SCHEMA_VERSION = 1
ROBOT = "go2"
# name -> trailing shape (T first)
DATASETS = {
    "joint_pos": (12,),
    "joint_vel": (12,),
    "root_pos": (3,),
    "root_quat": (4,),
    "base_lin_vel": (3,),
    "base_ang_vel": (3,),
    "foot_pos_base": (4, 3),
    "foot_vel_base": (4, 3),
}
REQUIRED_ATTRS = ("fps", "joint_names", "foot_names", "robot", "schema_version", "source_file",
                  "source_sha256", "source_frames", "scale")


def _version() -> str:
    try:
        return metadata.version("amp-data")
    except metadata.PackageNotFoundError:
        return "dev"


@dataclass
class Bank:
    """A bank in memory: datasets by name, attributes, and the source group."""

    path: Path | None
    data: dict[str, np.ndarray]
    attrs: dict
    keypoints: np.ndarray | None = None
    keypoint_names: tuple[str, ...] = ()

    @property
    def fps(self) -> float:
        return float(self.attrs["fps"])

    @property
    def num_frames(self) -> int:
        return self.data["joint_pos"].shape[0]

    def __getitem__(self, name: str) -> np.ndarray:
        return self.data[name]


def bank_from_motion(motion) -> Bank:
    """A Bank from a retarget.pipeline.Motion."""
    data = {name: np.asarray(getattr(motion, name), dtype=np.float64) for name in DATASETS}
    attrs = {
        "schema_version": SCHEMA_VERSION,
        "robot": ROBOT,
        "fps": float(motion.fps),
        "joint_names": list(motion.joint_names),
        "foot_names": list(motion.foot_names),
        "quat_convention": "xyzw",
        "source_file": motion.source_file,
        "source_sha256": motion.source_sha256,
        "source_frames": np.asarray(motion.source_frames, dtype=np.int64),
        "source_fps": float(motion.source_fps),
        "scale": float(motion.scale),
        "ground_height_m": float(motion.ground_height_m),
        **motion.attrs,
    }
    return Bank(None, data, attrs, motion.keypoints, tuple(motion.keypoint_names))


def write_bank(path: str | Path, bank: Bank) -> Path:
    """Write atomically: a temporary file next to `path`, then rename. Raises InputError if unwritable."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if folder.exists() and not folder.is_dir():
        raise InputError(path, f"cannot write: {folder} is a file, not a folder")
    if not folder.is_dir():
        raise InputError(path, f"cannot write: folder {folder} does not exist")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    except OSError as e:
        raise InputError(path, f"cannot write ({e.strerror})") from None
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)   # mkstemp makes 0600; a bank is an ordinary file
    try:
        with h5py.File(tmp, "w") as f:
            for name in DATASETS:
                f.create_dataset(name, data=bank.data[name])
            for key, value in bank.attrs.items():
                f.attrs[key] = value
            f.attrs["created_by"] = f"amp-data {_version()}"
            if bank.keypoints is not None:
                src = f.create_group("source")
                src.create_dataset("keypoints", data=bank.keypoints)
                src.attrs["names"] = list(bank.keypoint_names)
        os.replace(tmp, path)
    except OSError as e:
        raise InputError(path, f"cannot write ({e.strerror or e})") from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def _str_list(value) -> tuple[str, ...]:
    return tuple(v.decode() if isinstance(v, bytes) else str(v) for v in value)


def read_bank(path: str | Path) -> Bank:
    """Read and check a bank. Raises InputError naming the file and the problem."""
    path = Path(path)
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
            if int(version) != SCHEMA_VERSION:
                raise InputError(path, f"unknown bank schema version {version} (this amp-data reads {SCHEMA_VERSION})")
            missing = [k for k in REQUIRED_ATTRS if k not in attrs]
            if missing:
                raise InputError(path, f"bank lacks attribute(s) {', '.join(missing)}")
            data = {}
            for name, shape in DATASETS.items():
                if name not in f:
                    raise InputError(path, f"bank lacks dataset {name!r}")
                arr = f[name][()]
                if arr.ndim != 1 + len(shape) or arr.shape[1:] != shape:
                    raise InputError(path, f"dataset {name!r} has shape {arr.shape}, expected (T, {', '.join(map(str, shape))})")
                data[name] = arr
            lengths = {a.shape[0] for a in data.values()}
            if len(lengths) != 1:
                raise InputError(path, f"datasets disagree on the frame count: {sorted(lengths)}")
            keypoints, names = None, ()
            if "source" in f and "keypoints" in f["source"]:
                keypoints = f["source/keypoints"][()]
                names = _str_list(f["source"].attrs.get("names", []))
    except OSError as e:
        raise InputError(path, f"cannot read bank ({e})") from None
    attrs["joint_names"] = _str_list(attrs["joint_names"])
    attrs["foot_names"] = _str_list(attrs["foot_names"])
    return Bank(path, data, attrs, keypoints, names)
