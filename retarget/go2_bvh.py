"""Write a Go2 trajectory as a BVH file on a Go2-proportioned skeleton (cm, Y up, like the MANN clips).

Its skeleton map is `maps/go2.toml`. Retargeting such a file at scale 1 must give back the joint
trajectory it was made from: the round-trip test of the retargeter. It also lets a bank be
viewed in any BVH viewer.

Skeleton: root `Base` (the trunk frame), body-fixed markers `Pelvis`/`Neck` on the trunk axis and
`<leg>Mark` at each thigh joint's zero-abduction position (the retargeter's limb roots), and per leg
a `<leg>Hip` (about x) -> `<leg>Thigh` (about y) -> `<leg>Calf` (about y) chain ending at the foot
centre (`<leg>Calf_end`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

from robots.go2 import LEGS
from robots.go2.model import (THIGH_JOINT_BASE_M, CALF_LENGTH_M, HIP_OFFSET_X_M, THIGH_LENGTH_M, THIGH_OFFSET_Y_M,
                              hip_position_base_m, leg_signs)

# file = FILE_FROM_WORLD @ world: Z-up world (x fwd, y left) -> Y-up file, as the MANN map's inverse.
FILE_FROM_WORLD = np.array([[1.0, 0, 0], [0, 0, 1], [0, -1, 0]])
CM = 100.0
_ORDER = "ZXY"


def _euler_deg(rot_world: np.ndarray) -> np.ndarray:
    """Rotation matrices (T, 3, 3) in world axes -> BVH 'Zrotation Xrotation Yrotation' degrees in file axes."""
    rot_file = FILE_FROM_WORLD @ rot_world @ FILE_FROM_WORLD.T
    return Rotation.from_matrix(rot_file).as_euler(_ORDER, degrees=True)


def _axis_rot(axis: str, angle: np.ndarray) -> np.ndarray:
    return Rotation.from_euler(axis, np.asarray(angle)[:, None]).as_matrix()


def _offset(world_m) -> str:
    return " ".join(f"{v:.6f}" for v in FILE_FROM_WORLD @ np.asarray(world_m, float) * CM)


def write_go2_bvh(path: str | Path, joint_pos: np.ndarray, root_pos: np.ndarray, root_quat_xyzw: np.ndarray,
                  fps: float) -> Path:
    """joint_pos (T, 12) rad canonical order, root_pos (T, 3) m and root_quat (T, 4) xyzw in a Z-up world."""
    rot_chan = "CHANNELS 3 Zrotation Xrotation Yrotation"
    lines = ["HIERARCHY", "ROOT Base", "{", "  OFFSET 0 0 0",
             "  CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation"]

    def fixed(name, offset):
        lines.extend([f"  JOINT {name}", "  {", f"    OFFSET {_offset(offset)}", f"    {rot_chan}",
                      "    End Site", "    {", "      OFFSET 0 0 0", "    }", "  }"])

    fixed("Pelvis", (-HIP_OFFSET_X_M, 0, 0))
    fixed("Neck", (HIP_OFFSET_X_M, 0, 0))
    for leg, mark in zip(LEGS, THIGH_JOINT_BASE_M):
        fixed(f"{leg}Mark", mark)
    for leg in LEGS:
        _, sy = leg_signs(leg)
        lines += [f"  JOINT {leg}Hip", "  {", f"    OFFSET {_offset(hip_position_base_m(leg))}", f"    {rot_chan}",
                  f"    JOINT {leg}Thigh", "    {", f"      OFFSET {_offset((0, sy * THIGH_OFFSET_Y_M, 0))}",
                  f"      {rot_chan}",
                  f"      JOINT {leg}Calf", "      {", f"        OFFSET {_offset((0, 0, -THIGH_LENGTH_M))}",
                  f"        {rot_chan}", "        End Site", "        {",
                  f"          OFFSET {_offset((0, 0, -CALF_LENGTH_M))}", "        }", "      }", "    }", "  }"]
    lines.append("}")

    T = joint_pos.shape[0]
    zeros = np.zeros((T, 3))
    columns = [(FILE_FROM_WORLD @ np.asarray(root_pos).T).T * CM,
               _euler_deg(Rotation.from_quat(root_quat_xyzw).as_matrix())]
    columns += [zeros] * (2 + len(LEGS))            # Pelvis, Neck, marks: no rotation
    for i in range(len(LEGS)):
        q = joint_pos[:, 3 * i: 3 * i + 3]
        columns += [_euler_deg(_axis_rot("x", q[:, 0])), _euler_deg(_axis_rot("y", q[:, 1])),
                    _euler_deg(_axis_rot("y", q[:, 2]))]
    motion = np.concatenate(columns, axis=1)
    lines += ["MOTION", f"Frames: {T}", f"Frame Time: {1.0 / fps:.7f}"]
    body = "\n".join(" ".join(f"{v:.6f}" for v in row) for row in motion)
    path = Path(path)
    path.write_text("\n".join(lines) + "\n" + body + "\n")
    return path
