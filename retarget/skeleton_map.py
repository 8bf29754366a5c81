"""Skeleton maps: which joints of a BVH quadruped drive the Go2, as data (`maps/*.toml`).

A map names the pelvis, neck, shoulders and hips (root pose), the limb root and toe of each Go2
leg, the file's units and axes, the dog-to-Go2 scale and the foot offsets. Mapping another
quadruped skeleton means writing another TOML file, not code.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from amp_data.errors import InputError
from robots.go2 import LEGS

MAPS_DIR = Path(__file__).with_name("maps")
DEFAULT_MAP = MAPS_DIR / "mann_dog.toml"


@dataclass(frozen=True)
class SkeletonMap:
    name: str
    units_to_m: float
    world_from_file: np.ndarray      # (3, 3) proper rotation
    scale: float
    pelvis: str
    neck: str
    shoulders: tuple[str, str]       # left, right
    hips: tuple[str, str]            # left, right
    limb_roots: tuple[str, ...]      # per Go2 leg, canonical order
    toes: tuple[str, ...]            # per Go2 leg, canonical order
    foot_offset_m: np.ndarray        # (4, 3) heading frame, added to the foot targets
    stance_width_m: float | None = None   # lateral distance of left and right feet; None: the Go2's thigh joints'
    foot_targets: str = "planted"    # "planted" (retarget/foot_targets.py) or "limb_vector" (thigh joint + limb)
    path: Path | None = None

    @property
    def required_joints(self) -> tuple[str, ...]:
        return (self.pelvis, self.neck, *self.shoulders, *self.hips, *self.limb_roots, *self.toes)


def load_map(path: str | Path = DEFAULT_MAP) -> SkeletonMap:
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise InputError(path, f"cannot read skeleton map ({e})") from None
    try:
        rot = np.array(raw["world_from_file"], dtype=float)
        if rot.shape != (3, 3) or not np.allclose(rot @ rot.T, np.eye(3)) or np.linalg.det(rot) < 0:
            raise InputError(path, "world_from_file must be a 3x3 rotation (orthonormal, det +1)")
        root = raw["root"]
        return SkeletonMap(
            name=raw.get("name", path.stem),
            units_to_m=float(raw["units_to_m"]),
            world_from_file=rot,
            scale=float(raw["scale"]),
            pelvis=root["pelvis"],
            neck=root["neck"],
            shoulders=tuple(root["shoulders"]),
            hips=tuple(root["hips"]),
            limb_roots=tuple(raw["legs"][leg]["root"] for leg in LEGS),
            toes=tuple(raw["legs"][leg]["toe"] for leg in LEGS),
            foot_offset_m=np.array([raw.get("foot_offset_m", {}).get(leg, [0.0, 0.0, 0.0]) for leg in LEGS], float),
            stance_width_m=_stance_width(path, raw.get("stance_width_m")),
            foot_targets=_foot_targets(path, raw.get("foot_targets", "planted")),
            path=path,
        )
    except KeyError as e:
        raise InputError(path, f"skeleton map lacks {e.args[0]!r}") from None


FOOT_TARGET_SCHEMES = ("planted", "limb_vector")


def _foot_targets(path: Path, value) -> str:
    if value not in FOOT_TARGET_SCHEMES:
        raise InputError(path, f"foot_targets is {value!r}; expected {' or '.join(map(repr, FOOT_TARGET_SCHEMES))}")
    return value


def _stance_width(path: Path, value) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.05 <= value <= 1.0:
        raise InputError(path, f"stance_width_m is {value!r}; expected metres between 0.05 and 1.0")
    return float(value)
