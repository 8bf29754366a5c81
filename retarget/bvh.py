"""Read BVH motion capture and run its forward kinematics for all frames at once.

Supports any channel order and rotation order per joint, CRLF or LF line endings, and end sites
(named `<joint>_end`). Position channels of a joint give its local translation and replace its
OFFSET (bvhio and AI4Animation do the same; the MANN clips' root OFFSET is only the first frame's
position). Rotation channels compose as intrinsic rotations in the listed order: the BVH
`Zrotation Xrotation Yrotation` means R = Rz @ Rx @ Ry.

Units and axes are the file's; `retarget.skeleton_map` converts them.
"""

from __future__ import annotations

import hashlib
import io
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

from amp_data.errors import InputError

_AXES = "XYZ"
_CHANNEL = re.compile(r"[XYZ](position|rotation)")


@dataclass(frozen=True)
class Skeleton:
    """A BVH hierarchy. Joint index order is file order (depth first); end sites are joints too."""

    names: tuple[str, ...]
    parents: np.ndarray          # (J,) int, -1 for the root
    offsets: np.ndarray          # (J, 3) file units
    channels: tuple[tuple[str, ...], ...]  # per joint, e.g. ("Zrotation", "Xrotation", "Yrotation")
    channel_start: np.ndarray    # (J,) index of the joint's first channel in a motion row

    @property
    def num_channels(self) -> int:
        return sum(len(c) for c in self.channels)

    def index(self, name: str) -> int:
        try:
            return self.names.index(name)
        except ValueError:
            raise KeyError(name) from None


@dataclass(frozen=True)
class BvhClip:
    path: Path
    skeleton: Skeleton
    frame_time_s: float
    motion: np.ndarray           # (T, C) channel values: file units and degrees
    sha256: str = ""             # of the file's bytes

    @property
    def num_frames(self) -> int:
        return self.motion.shape[0]

    @property
    def fps(self) -> float:
        return 1.0 / self.frame_time_s


def _parse_hierarchy(path: Path, tokens: list[str]) -> Skeleton:
    names: list[str] = []
    parents: list[int] = []
    offsets: list[list[float]] = []
    channels: list[tuple[str, ...]] = []
    stack: list[int] = []
    pending: int | None = None   # joint declared, waiting for its "{"
    i = 0
    n = len(tokens)

    def need(k: int) -> list[str]:
        if i + k >= n:
            raise InputError(path, "BVH hierarchy ends early (truncated file?)")
        return tokens[i + 1: i + 1 + k]

    while i < n:
        tok = tokens[i]
        if tok in ("ROOT", "JOINT"):
            if tok == "ROOT" and names:
                raise InputError(path, "BVH has more than one ROOT; only one skeleton per file is supported")
            (name,) = need(1)
            names.append(name)
            parents.append(stack[-1] if stack else -1)
            offsets.append([0.0, 0.0, 0.0])
            channels.append(())
            pending = len(names) - 1
            i += 2
        elif tok == "End":
            if not stack or need(1)[0] != "Site":
                raise InputError(path, "malformed BVH hierarchy near 'End'")
            parent = stack[-1]
            names.append(f"{names[parent]}_end")
            parents.append(parent)
            offsets.append([0.0, 0.0, 0.0])
            channels.append(())
            pending = len(names) - 1
            i += 2
        elif tok == "{":
            if pending is None:
                raise InputError(path, "malformed BVH hierarchy: '{' without a joint")
            stack.append(pending)
            pending = None
            i += 1
        elif tok == "}":
            if not stack:
                raise InputError(path, "malformed BVH hierarchy: unbalanced '}'")
            stack.pop()
            i += 1
        elif tok == "OFFSET":
            if not stack:
                raise InputError(path, "malformed BVH hierarchy: OFFSET outside a joint")
            try:
                offsets[stack[-1]] = [float(x) for x in need(3)]
            except ValueError:
                raise InputError(path, f"non-numeric OFFSET for joint {names[stack[-1]]!r}") from None
            i += 4
        elif tok == "CHANNELS":
            if not stack:
                raise InputError(path, "malformed BVH hierarchy: CHANNELS outside a joint")
            try:
                count = int(need(1)[0])
            except ValueError:
                raise InputError(path, f"bad CHANNELS count for joint {names[stack[-1]]!r}") from None
            given = 0
            while i + 2 + given < n and _CHANNEL.fullmatch(tokens[i + 2 + given]):
                given += 1
            if given != count:
                raise InputError(path, f"CHANNELS count {count} for joint {names[stack[-1]]!r} does not match "
                                       f"the {given} channel names given")
            channels[stack[-1]] = tuple(tokens[i + 2: i + 2 + count])
            i += 2 + count
        else:
            raise InputError(path, f"unexpected token {tok!r} in BVH hierarchy")
    if not names:
        raise InputError(path, "BVH has no ROOT joint")
    if stack or pending is not None:
        raise InputError(path, "BVH hierarchy is not closed (truncated file?)")
    counts = np.array([len(c) for c in channels])
    start = np.concatenate([[0], np.cumsum(counts)[:-1]])
    return Skeleton(tuple(names), np.array(parents), np.array(offsets, dtype=np.float64),
                    tuple(channels), start)


def _diagnose_motion(body: bytes, num_channels: int, num_frames: int) -> str:
    """Why the motion block does not parse, with the frame it happens at (error path only)."""
    rows = [line.split() for line in body.decode("utf-8", "replace").splitlines() if line.strip()]
    for frame, row in enumerate(rows):
        for token in row:
            try:
                float(token)
            except ValueError:
                return f"non-numeric motion value {token!r} at frame {frame}"
        if len(row) != num_channels:
            last = frame == len(rows) - 1
            hint = " (truncated file?)" if last and len(row) < num_channels else ""
            return (f"frame {frame} has {len(row)} values but the hierarchy declares {num_channels} "
                    f"channels{hint}")
    return f"unreadable motion data ({len(rows)} rows for {num_frames} frames)"


def read_bvh(path: str | Path) -> BvhClip:
    """Parse a BVH file. Raises InputError naming the file and the problem."""
    path = Path(path)
    try:
        with open(path, "rb") as f:     # look at the start before reading a large file whole
            start = f.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n")
            if not start and not f.read(1):
                raise InputError(path, "file is empty")
            if start and not start.startswith(b"HIERARCHY"):
                try:
                    start[:64].decode("utf-8")
                except UnicodeDecodeError:
                    raise InputError(path, "not a BVH file (binary content)") from None
                raise InputError(path, "not a BVH file (does not start with HIERARCHY)")
            f.seek(0)
            raw = f.read()
    except IsADirectoryError:
        raise InputError(path, "is a folder, not a BVH file") from None
    except OSError as e:
        raise InputError(path, f"cannot read file ({e.strerror})") from None
    if not raw.strip():
        raise InputError(path, "file is empty")
    head, sep, rest = raw.partition(b"MOTION")
    try:
        head_text = head.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(path, "not a BVH file (binary content)") from None
    tokens = head_text.split()
    if not tokens or tokens[0] != "HIERARCHY":
        raise InputError(path, "not a BVH file (does not start with HIERARCHY)")
    if not sep:
        raise InputError(path, "BVH has no MOTION section (truncated file?)")
    skeleton = _parse_hierarchy(path, tokens[1:])

    m = re.match(rb"\s*Frames:\s*(\S+)\s*Frame Time:\s*(\S+)[^\n]*\n?", rest)
    if not m:
        raise InputError(path, "BVH MOTION section lacks 'Frames:' and 'Frame Time:' lines")
    try:
        num_frames, frame_time = int(m.group(1)), float(m.group(2))
    except ValueError:
        raise InputError(path, "non-numeric 'Frames:' or 'Frame Time:'") from None
    if num_frames <= 0:
        raise InputError(path, "BVH has no frames")
    if not (np.isfinite(frame_time) and frame_time > 0):
        raise InputError(path, f"bad Frame Time {frame_time}")

    body = rest[m.end():]
    num_channels = skeleton.num_channels
    if not body.strip():
        raise InputError(path, "BVH has no motion data (truncated file?)")
    try:
        motion = np.loadtxt(io.BytesIO(body), dtype=np.float64, ndmin=2)
    except ValueError:
        raise InputError(path, _diagnose_motion(body, num_channels, num_frames)) from None
    if motion.shape[1] != num_channels:
        raise InputError(path, f"motion rows have {motion.shape[1]} values but the hierarchy declares "
                               f"{num_channels} channels")
    if motion.shape[0] < num_frames:
        raise InputError(path, f"BVH declares {num_frames} frames but holds {motion.shape[0]} (truncated file?)")
    if motion.shape[0] > num_frames:
        raise InputError(path, f"BVH declares {num_frames} frames but holds {motion.shape[0]}")
    bad = ~np.isfinite(motion)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise InputError(path, f"motion data holds NaN or infinite values (first at frame {row}, channel {col})")
    return BvhClip(path, skeleton, frame_time, motion, hashlib.sha256(raw).hexdigest())


def local_transforms(clip: BvhClip, frames: slice = slice(None)) -> tuple[np.ndarray, np.ndarray]:
    """Per joint local rotation (T, J, 3, 3) and translation (T, J, 3), file units."""
    sk = clip.skeleton
    motion = clip.motion[frames]
    T, J = motion.shape[0], len(sk.names)
    rot = np.broadcast_to(np.eye(3), (T, J, 3, 3)).copy()
    trans = np.broadcast_to(sk.offsets, (T, J, 3)).copy()
    for j, chans in enumerate(sk.channels):
        if not chans:
            continue
        cols = sk.channel_start[j] + np.arange(len(chans))
        rot_axes = "".join(c[0] for c in chans if c.endswith("rotation"))
        rot_cols = [col for col, c in zip(cols, chans) if c.endswith("rotation")]
        pos_cols = {c[0]: col for col, c in zip(cols, chans) if c.endswith("position")}
        if rot_axes:
            rot[:, j] = Rotation.from_euler(rot_axes, motion[:, rot_cols], degrees=True).as_matrix()
        for axis, col in pos_cols.items():
            trans[:, j, _AXES.index(axis)] = motion[:, col]
    return rot, trans


def forward_kinematics(clip: BvhClip, frames: slice = slice(None)) -> np.ndarray:
    """World positions (T, J, 3) of every joint and end site, in the file's units and axes."""
    rot, trans = local_transforms(clip, frames)
    parents = clip.skeleton.parents
    world_rot = np.empty_like(rot)
    world_pos = np.empty_like(trans)
    for j, p in enumerate(parents):   # parents precede children in file order
        if p < 0:
            world_rot[:, j] = rot[:, j]
            world_pos[:, j] = trans[:, j]
        else:
            world_rot[:, j] = world_rot[:, p] @ rot[:, j]
            world_pos[:, j] = world_pos[:, p] + np.einsum("tab,tb->ta", world_rot[:, p], trans[:, j])
    return world_pos
