"""Small BVH texts for tests: a short valid dog clip (cut from a real MANN clip) and human skeletons.

The dog clip is built at test time from the header and first frames of a MANN clip found where
amp-data finds clips ($AMP_DATA_MOCAP, raw_mocap/, ../shared/raw_mocap; never copied into the repository). The human skeletons are written here.
All texts keep the MANN files' CRLF line endings; write them with `write_bvh` (bytes, no newline
translation).
"""

from __future__ import annotations

from pathlib import Path

import raw_mocap

MOCAP_DIR = raw_mocap.find_mocap_dir() or Path("no MANN clip folder (set AMP_DATA_MOCAP)")
REFERENCE_CLIP = MOCAP_DIR / "D1_009_KAN01_001.bvh"
NL = "\r\n"


def write_bvh(path: Path, text: str) -> Path:
    path.write_bytes(text.encode("ascii"))
    return path


def split_bvh(text: str) -> tuple[str, str, list[str]]:
    """(hierarchy up to and including the MOTION line, the Frames/Frame Time lines, motion rows)."""
    lines = text.split(NL)
    m = lines.index("MOTION")
    hierarchy = NL.join(lines[: m + 1]) + NL
    frame_lines = NL.join(lines[m + 1: m + 3]) + NL
    rows = [ln for ln in lines[m + 3:] if ln.strip()]
    return hierarchy, frame_lines, rows


def join_bvh(hierarchy: str, rows: list[str], frame_time: str = "0.0166667", frames: int | None = None) -> str:
    n = len(rows) if frames is None else frames
    return hierarchy + f"Frames:\t{n}{NL}Frame Time:\t{frame_time}{NL}" + "".join(r + NL for r in rows)


def dog_bvh_text(frames: int = 30) -> str:
    """The reference MANN clip's hierarchy and its first `frames` motion rows: a small valid dog BVH."""
    hierarchy, frame_lines, rows = split_bvh(REFERENCE_CLIP.read_bytes().decode("ascii"))
    frame_time = frame_lines.split(NL)[1].split()[-1]
    return join_bvh(hierarchy, rows[:frames], frame_time)


# A joint: (name, OFFSET in cm (Y up), children). A joint without children gets an End Site 5 cm
# further up or down (the way its own offset points).
def _joint(name, offset, *children):
    return (name, offset, children)


def _arm(side: str, sx: int, hand_end: bool):
    hand_children = () if hand_end else (_joint(f"{side}HandIndex1", (0, -4, 0)),)
    return _joint(f"{side}Shoulder", (sx * 4, 18, 0),
                  _joint(f"{side}Arm", (sx * 12, 0, 0),
                         _joint(f"{side}ForeArm", (0, -28, 0),
                                _joint(f"{side}Hand", (0, -25, 0), *hand_children))))


def _leg(side: str, sx: int, foot_end: bool):
    foot_children = () if foot_end else (_joint(f"{side}ToeBase", (0, -5, 12)),)
    return _joint(f"{side}UpLeg", (sx * 9, -5, 0),
                  _joint(f"{side}Leg", (0, -42, 0),
                         _joint(f"{side}Foot", (0, -40, 0), *foot_children)))


def human_tree(dog_names: bool):
    """An upright human (spine along +Y, cm). dog_names=True: end sites directly under the hands
    and feet, so every joint the MANN dog map needs exists (Hips, Neck, LeftArm, ..., LeftHand_end,
    LeftFoot_end); False: CMU-like fingers and toe bases, so the dog map's toe end sites are missing."""
    return _joint("Hips", (0, 0, 0),
                  _joint("Spine", (0, 10, 0),
                         _joint("Spine1", (0, 20, 0),
                                _joint("Neck", (0, 20, 0), _joint("Head", (0, 10, 0))),
                                _arm("Left", 1, dog_names), _arm("Right", -1, dog_names))),
                  _leg("Left", 1, dog_names), _leg("Right", -1, dog_names))


def _hierarchy_lines(node, depth: int, root: bool) -> list[str]:
    name, (x, y, z), children = node
    pad = "  " * depth
    out = [f"{pad}{'ROOT' if root else 'JOINT'} {name}", f"{pad}{{", f"{pad}  OFFSET {x} {y} {z}"]
    out.append(f"{pad}  CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation" if root
               else f"{pad}  CHANNELS 3 Zrotation Xrotation Yrotation")
    for child in children:
        out += _hierarchy_lines(child, depth + 1, False)
    if not children:
        out += [f"{pad}  End Site", f"{pad}  {{", f"{pad}    OFFSET 0 -5 0" if y < 0 else f"{pad}    OFFSET 0 5 0",
                f"{pad}  }}"]
    out.append(f"{pad}}}")
    return out


def _count_joints(node) -> int:
    return 1 + sum(_count_joints(c) for c in node[2])


def human_bvh_text(dog_names: bool, frames: int = 30) -> str:
    """An upright human BVH (Y up, cm, 60 fps) standing with a slight sway; see `human_tree`."""
    tree = human_tree(dog_names)
    hierarchy = NL.join(["HIERARCHY", *_hierarchy_lines(tree, 0, True), "MOTION"]) + NL
    rotations = " ".join(["0"] * (3 * (_count_joints(tree) - 1)))
    rows = [f"{0.5 * (t % 7):g} 95 {2.0 * t:g} 0 0 0 {rotations}" for t in range(frames)]
    return join_bvh(hierarchy, rows)
