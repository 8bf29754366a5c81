"""Where the MANN dog motion-capture clips live, and what is in them.

The BVH clips are not part of this repository (CC BY-NC 4.0, see manifest.csv).
This package holds only two small tables next to this module:

* ``manifest.csv`` - one row per clip (frames, fps, duration, content label);
* ``segments.csv`` - named gait segments used by prior work (half-open frame ranges).

Clip folders are searched in this order (see :func:`mocap_dirs`):

1. ``$AMP_DATA_MOCAP``, if set;
2. ``./raw_mocap`` relative to the current working directory;
3. ``../shared/raw_mocap`` relative to the current working directory;
4. ``raw_mocap/`` in the repository root that contains this package;
5. ``../shared/raw_mocap`` relative to that repository root.

Only existing folders holding at least one ``.bvh`` file count; the first one wins.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

ENV_VAR = "AMP_DATA_MOCAP"

_HERE = Path(__file__).resolve().parent
_REPO_ROOT = _HERE.parent
MANIFEST_CSV = _HERE / "manifest.csv"
SEGMENTS_CSV = _HERE / "segments.csv"

__all__ = [
    "ENV_VAR",
    "Clip",
    "ClipNotFound",
    "Segment",
    "default_clips",
    "find_mocap_dir",
    "load_manifest",
    "load_segments",
    "mocap_dirs",
    "resolve",
]


@dataclass(frozen=True)
class Clip:
    name: str
    frames: int
    fps: float
    duration_s: float
    content: str
    locomotion: bool


@dataclass(frozen=True)
class Segment:
    """Frames [start, end) of ``clip`` (0-based, half-open, Python-slice semantics)."""

    name: str
    clip: str
    start: int
    end: int
    gait: str
    source: str


class ClipNotFound(LookupError):
    """A clip, segment or path could not be found."""


def _candidate_dirs() -> list[Path]:
    cands: list[Path] = []
    env = os.environ.get(ENV_VAR)
    if env:
        cands.append(Path(env).expanduser())
    cwd = Path.cwd()
    cands += [cwd / "raw_mocap", cwd.parent / "shared" / "raw_mocap"]
    cands += [_REPO_ROOT / "raw_mocap", _REPO_ROOT.parent / "shared" / "raw_mocap"]
    seen: set[Path] = set()
    out: list[Path] = []
    for c in cands:
        r = c.resolve()
        if r not in seen:
            seen.add(r)
            out.append(r)
    return out


def mocap_dirs() -> list[Path]:
    """Existing candidate folders that hold at least one .bvh file, in lookup order."""
    return [d for d in _candidate_dirs() if d.is_dir() and any(d.glob("*.bvh"))]


def find_mocap_dir() -> Path | None:
    """The first folder of :func:`mocap_dirs`, or None if there is none."""
    dirs = mocap_dirs()
    return dirs[0] if dirs else None


def _rows(path: Path) -> Iterator[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as f:
        yield from csv.DictReader(line for line in f if not line.lstrip().startswith("#"))


def load_manifest() -> list[Clip]:
    """All clips of manifest.csv, in file order."""
    return [
        Clip(
            name=r["clip"],
            frames=int(r["frames"]),
            fps=float(r["fps"]),
            duration_s=float(r["duration_s"]),
            content=r["content"],
            locomotion=r["locomotion"].strip().lower() == "true",
        )
        for r in _rows(MANIFEST_CSV)
    ]


def load_segments() -> dict[str, Segment]:
    """Named gait segments of segments.csv, keyed by name."""
    segs = (
        Segment(r["name"], r["clip"], int(r["start"]), int(r["end"]), r["gait"], r["source"])
        for r in _rows(SEGMENTS_CSV)
    )
    return {s.name: s for s in segs}


def _not_found(name: str, dirs: list[Path]) -> ClipNotFound:
    if not dirs:
        return ClipNotFound(
            f"clip {name!r} not found: no mocap folder found (searched "
            f"{', '.join(str(d) for d in _candidate_dirs())}); "
            f"set {ENV_VAR} to the folder holding the MANN BVH clips"
        )
    return ClipNotFound(
        f"clip {name!r} not found as a path, segment name or clip stem in "
        f"{', '.join(str(d) for d in dirs)}"
    )


def _find_clip(stem: str, dirs: list[Path]) -> Path | None:
    for d in dirs:
        p = d / f"{stem}.bvh"
        if p.is_file():
            return p
    return None


def resolve(name_or_path: str) -> tuple[Path, tuple[int, int] | None]:
    """Turn a file path, segment name or clip stem into (bvh path, frame range or None).

    The frame range is the half-open [start, end) of a named segment; None means the whole clip.
    Raises ClipNotFound if nothing matches.
    """
    p = Path(name_or_path).expanduser()
    if p.is_file():
        return p, None
    dirs = mocap_dirs()
    seg = load_segments().get(name_or_path)
    stem = seg.clip if seg else (name_or_path[:-4] if name_or_path.endswith(".bvh") else name_or_path)
    found = _find_clip(stem, dirs)
    if found is None:
        raise _not_found(name_or_path, dirs)
    return found, ((seg.start, seg.end) if seg else None)


def default_clips() -> list[Path]:
    """Every manifest clip present in the first mocap folder, in manifest order."""
    d = find_mocap_dir()
    if d is None:
        return []
    return [d / f"{c.name}.bvh" for c in load_manifest() if (d / f"{c.name}.bvh").is_file()]
