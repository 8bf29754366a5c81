"""Joint range of motion (ROM) of motion banks: min, max, mean, std and range of each joint angle.

All angles in rad, joints in the bank's `joint_names` order (URDF order FL, FR, RL, RR; hip, thigh,
calf). `std` is the population standard deviation over frames (ddof = 0). Statistics are over frames,
so a clip's weight in the clip table does not enter: a bank's ROM is that of all its frames together.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from amp_data.format.bank import Bank

STATS = ("min", "max", "mean", "std", "range")


@dataclass(frozen=True)
class RangeOfMotion:
    """Per-joint statistics of joint angles (rad) over `frames` frames; arrays of shape (J,)."""

    joint_names: tuple[str, ...]
    frames: int
    min_rad: np.ndarray
    max_rad: np.ndarray
    mean_rad: np.ndarray
    std_rad: np.ndarray

    @property
    def range_rad(self) -> np.ndarray:
        return self.max_rad - self.min_rad

    def stat(self, name: str) -> np.ndarray:
        """One of STATS as a (J,) array, rad."""
        if name not in STATS:
            raise KeyError(f"unknown statistic {name!r}; one of {', '.join(STATS)}")
        return getattr(self, f"{name}_rad")

    def joint(self, name: str) -> dict[str, float]:
        i = self.joint_names.index(name)
        return {s: float(self.stat(s)[i]) for s in STATS}

    def as_dict(self) -> dict[str, dict[str, float]]:
        """{joint_name: {min, max, mean, std, range}} in rad, in joint order (JSON-ready)."""
        return {j: self.joint(j) for j in self.joint_names}


def joint_rom(joint_pos_rad: np.ndarray, joint_names) -> RangeOfMotion:
    """ROM of a (T, J) array of joint angles (rad), T >= 1."""
    q = np.asarray(joint_pos_rad, dtype=np.float64)
    names = tuple(joint_names)
    if q.ndim != 2 or q.shape[1] != len(names) or q.shape[0] == 0:
        raise ValueError(f"joint angles of shape {q.shape} do not match {len(names)} joint names")
    return RangeOfMotion(names, q.shape[0], q.min(axis=0), q.max(axis=0), q.mean(axis=0), q.std(axis=0))


def bank_rom(bank: Bank) -> RangeOfMotion:
    """ROM of all the bank's frames (every clip together)."""
    return joint_rom(bank["joint_pos"], bank.joint_names)


def clip_roms(bank: Bank) -> dict[str, RangeOfMotion]:
    """ROM of each clip of the bank, by clip name, in clip-table order."""
    return {c.name: joint_rom(bank["joint_pos"][c.start:c.stop], bank.joint_names) for c in bank.clips}


@dataclass(frozen=True)
class RomComparison:
    """ROM of several banks (or clips) over the same joints, for side-by-side tables and plots.

    `labels` name the columns (e.g. the bank paths as given); `stat(name)` is a (B, J) array.
    """

    labels: tuple[str, ...]
    joint_names: tuple[str, ...]
    roms: tuple[RangeOfMotion, ...]

    def stat(self, name: str) -> np.ndarray:
        return np.stack([r.stat(name) for r in self.roms])

    def as_dict(self) -> dict[str, dict[str, dict[str, float]]]:
        """{label: {joint_name: {min, max, mean, std, range}}} (rad)."""
        return {label: r.as_dict() for label, r in zip(self.labels, self.roms)}


def compare_roms(roms: dict[str, RangeOfMotion]) -> RomComparison:
    """Put ROMs side by side; they must name the same joints in the same order."""
    if not roms:
        raise ValueError("no ROM to compare")
    items = list(roms.items())
    names = items[0][1].joint_names
    for label, r in items[1:]:
        if r.joint_names != names:
            raise ValueError(f"{label} names joints {r.joint_names}, {items[0][0]} names {names}")
    return RomComparison(tuple(k for k, _ in items), names, tuple(r for _, r in items))


def compare_banks(banks: dict[str, Bank]) -> RomComparison:
    """ROM of each bank (all its clips together), side by side, labelled by the dict's keys."""
    return compare_roms({label: bank_rom(b) for label, b in banks.items()})
