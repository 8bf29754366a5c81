"""Write `go2.xml`, the project's MuJoCo model of the Go2, from the facts in `model.py`.

Run `python -m robots.go2.build_mjcf` after changing a number; a test checks the committed file is
what this script writes. It is the MuJoCo twin of `go2.urdf` (`build_urdf.py`): the same bodies, joint
placements, axes, limits, inertials and collision primitives, taken from the same tables.

What the MJCF adds to the URDF (simulation settings, not robot geometry):
- a floating base (free joint) and a ground plane named `floor`;
- timestep 0.005 s (the learner's sim dt; decimation 4 gives a 50 Hz policy);
- elliptic friction cones with impratio 100, joint armature 0.01 kg m^2, damping 0.1 N m s/rad and
  friction loss 0.2 N m: the values of Unitree's own MuJoCo model (unitree_mujoco's go2.xml);
- torque actuators (`motor`, one per joint, named like the joint without `_joint`, in URDF order) with
  ctrlrange = the URDF effort limits of `model.EFFORT_LIMITS_NM`. The PD law is computed outside MuJoCo
  (`learner.mujoco_backend.pd_torques`) so that its gains can be randomised per environment;
- the robot's geoms collide with the floor only (no self-collision, as unitree_rl_gym's Go2 config);
- a `home` keyframe: the default pose, base at `standing_height_m()` (the lowest foot sphere on the floor);
- one `touch` sensor per body, `<body>_touch` (`base_touch`, `FL_hip_touch`, ..., `RR_foot_touch`): the
  sum of the normal forces (N) of all the body's contacts. Its zone is a 0.5 m sphere site on the body;
  MuJoCo counts only contacts of the site's own body, so the zone just has to enclose the body's geoms.
  (These sensors come back from mujoco's `rollout` as arrays; see `learner/mujoco_backend.py`.)

Geom names (a termination check relies on them): the foot spheres are `FL_foot` ... `RR_foot`; every
other robot geom is named `<part>_collision` (`base_collision`, `head_upper_collision`,
`head_lower_collision`, `FL_hip_collision`, `FL_thigh_collision`, `FL_calf_collision`, ...).
Bodies are named as the URDF links (`base`, `FL_hip`, `FL_thigh`, `FL_calf`, `FL_foot`, ...); the foot
body's origin is the foot frame of the URDF (0.213 m below the knee), the sphere sits 2 mm behind it.
"""

from __future__ import annotations

import math
from pathlib import Path

from robots.go2 import model as m
from robots.go2.build_urdf import _f, _mirror_inertial, _v

MJCF_PATH = Path(__file__).with_name("go2.xml")

TIMESTEP_S = 0.005
# Joint and contact settings of Unitree's MuJoCo model of the Go2 (unitree_mujoco, go2.xml).
JOINT_ARMATURE_KG_M2 = 0.01
JOINT_DAMPING_NMS_RAD = 0.1
JOINT_FRICTIONLOSS_NM = 0.2
IMPRATIO = 100
GEOM_MARGIN_M = 0.001
FRICTION = 0.4               # sliding friction of every geom (the learner randomises it per environment)
FOOT_CONDIM = 3              # normal + 2D sliding friction (Unitree's model uses 6: + torsion and rolling)
# Touch zone of a body: a sphere larger than the body, so its touch sensor adds up every contact of the body.
TOUCH_ZONE_RADIUS_M = 0.5


def standing_height_m() -> float:
    """Base height (m) at which the lowest foot sphere touches the floor in the default pose, base level.

    Per leg, in the base frame: the thigh and calf turn the leg in the sagittal plane by t and t + c, so
    the foot frame origin is at z = -L1 cos(t) - L2 cos(t + c) and the calf's x axis at (cos, 0, -sin)(t + c);
    the sphere centre sits `FOOT_SPHERE_X_M` along that axis. The hip abduction h then rotates
    (y = +-0.0955, z) about x. The base sits so that the lowest sphere centre is one radius up.
    """
    lowest = 0.0
    for leg in m.LEGS:
        hip, thigh, calf = m.DEFAULT_POSE_RAD[leg]
        _, sy = m.leg_signs(leg)
        z_sagittal = (-m.THIGH_LENGTH_M * math.cos(thigh) - m.CALF_LENGTH_M * math.cos(thigh + calf)
                      - m.FOOT_SPHERE_X_M * math.sin(thigh + calf))
        z = math.sin(hip) * sy * m.THIGH_OFFSET_Y_M + math.cos(hip) * z_sagittal
        lowest = min(lowest, z)
    return -lowest + m.FOOT_RADIUS_M


def _touch_site(body: str, indent: str) -> str:
    return f'{indent}<site name="{body}_touch" size="{_f(TOUCH_ZONE_RADIUS_M)}" group="5" rgba="0 0 0 0"/>\n'


def _inertial(inertial, indent: str) -> str:
    mass, com, (ixx, iyy, izz, ixy, ixz, iyz) = inertial
    return (f'{indent}<inertial pos="{_v(com)}" mass="{_f(mass)}" '
            f'fullinertia="{_v((ixx, iyy, izz, ixy, ixz, iyz))}"/>\n')


def _cylinder(name, xyz, rpy, radius, length, indent: str) -> str:
    # MuJoCo cylinders take (radius, half-length); the URDF gives the full length. Both along local z.
    return (f'{indent}<geom name="{name}" type="cylinder" size="{_f(radius)} {_f(length / 2)}" '
            f'pos="{_v(xyz)}" euler="{_v(rpy)}"/>\n')


def _box(name, xyz, rpy, size, indent: str) -> str:
    half = [s / 2 for s in size]  # MuJoCo boxes take half-sizes
    return f'{indent}<geom name="{name}" type="box" size="{_v(half)}" pos="{_v(xyz)}" euler="{_v(rpy)}"/>\n'


def _leg(leg: str) -> str:
    half_pi = math.pi / 2
    sx, sy = m.leg_signs(leg)
    rear, right = sx < 0, sy < 0
    limits = m.joint_limits_rad(leg)
    calf_cyl = m.CALF_CYLINDER_REAR if rear else m.CALF_CYLINDER_FRONT
    i1, i2, i3, i4 = (" " * n for n in (6, 8, 10, 12))
    s = f'{i1}<body name="{leg}_hip" pos="{_v(m.hip_position_base_m(leg))}">\n'
    s += _inertial(_mirror_inertial(m.FL_HIP_INERTIAL, rear, right), i2)
    s += f'{i2}<joint name="{leg}_hip_joint" axis="1 0 0" range="{_v(limits[0])}"/>\n'
    s += _touch_site(f"{leg}_hip", i2)
    s += _cylinder(f"{leg}_hip_collision", (0, sy * m.HIP_CYLINDER["y"], 0), (half_pi, 0, 0),
                   m.HIP_CYLINDER["radius"], m.HIP_CYLINDER["length"], i2)
    s += f'{i2}<body name="{leg}_thigh" pos="{_v((0, sy * m.THIGH_OFFSET_Y_M, 0))}">\n'
    s += _inertial(_mirror_inertial(m.FL_THIGH_INERTIAL, False, right), i3)
    s += f'{i3}<joint name="{leg}_thigh_joint" axis="0 1 0" range="{_v(limits[1])}"/>\n'
    s += _touch_site(f"{leg}_thigh", i3)
    s += _box(f"{leg}_thigh_collision", (0, 0, m.THIGH_BOX["z"]), (0, half_pi, 0), m.THIGH_BOX["size"], i3)
    s += f'{i3}<body name="{leg}_calf" pos="{_v((0, 0, -m.THIGH_LENGTH_M))}">\n'
    s += _inertial(_mirror_inertial(m.FL_CALF_INERTIAL, False, right), i4)
    s += f'{i4}<joint name="{leg}_calf_joint" axis="0 1 0" range="{_v(limits[2])}"/>\n'
    s += _touch_site(f"{leg}_calf", i4)
    s += _cylinder(f"{leg}_calf_collision", calf_cyl["xyz"], (0, calf_cyl["pitch"], 0),
                   calf_cyl["radius"], calf_cyl["length"], i4)
    s += f'{i4}<body name="{leg}_foot" pos="{_v((0, 0, -m.CALF_LENGTH_M))}">\n'
    s += _inertial(m.FOOT_INERTIAL, i4 + "  ")
    s += _touch_site(f"{leg}_foot", i4 + "  ")
    s += (f'{i4}  <geom name="{leg}_foot" class="foot" type="sphere" size="{_f(m.FOOT_RADIUS_M)}" '
          f'pos="{_v((m.FOOT_SPHERE_X_M, 0, 0))}"/>\n')
    s += f"{i4}</body>\n{i3}</body>\n{i2}</body>\n{i1}</body>\n"
    return s


def mjcf_text() -> str:
    height = standing_height_m()
    kinds = [kind for _ in m.LEGS for kind in m.JOINT_KINDS]
    out = [
        '<?xml version="1.0" encoding="utf-8"?>\n',
        "<!-- Generated by robots/go2/build_mjcf.py from robots/go2/model.py. Do not edit by hand. -->\n",
        '<mujoco model="go2">\n',
        # eulerseq XYZ (extrinsic x, then y, then z) is the URDF's rpy convention.
        '  <compiler angle="radian" eulerseq="XYZ" autolimits="true"/>\n',
        f'  <option timestep="{_f(TIMESTEP_S)}" cone="elliptic" impratio="{_f(IMPRATIO)}"/>\n',
        "  <default>\n",
        '    <default class="go2">\n',
        f'      <joint armature="{_f(JOINT_ARMATURE_KG_M2)}" damping="{_f(JOINT_DAMPING_NMS_RAD)}" '
        f'frictionloss="{_f(JOINT_FRICTIONLOSS_NM)}"/>\n',
        # contype 0 / conaffinity 1 on the robot, 1 / 1 (MuJoCo's default) on the floor: robot-floor
        # pairs only.
        f'      <geom contype="0" conaffinity="1" condim="1" friction="{_f(FRICTION)}" '
        f'margin="{_f(GEOM_MARGIN_M)}" rgba="0.75 0.78 0.85 1"/>\n',
        '      <default class="foot">\n',
        f'        <geom condim="{FOOT_CONDIM}" priority="1" rgba="0.1 0.1 0.1 1"/>\n',
        "      </default>\n",
        "    </default>\n",
        "  </default>\n",
        "  <asset>\n",
        '    <texture name="grid" type="2d" builtin="checker" rgb1="0.2 0.3 0.4" rgb2="0.1 0.2 0.3" '
        'width="256" height="256"/>\n',
        '    <material name="grid" texture="grid" texrepeat="4 4" texuniform="true"/>\n',
        "  </asset>\n",
        "  <worldbody>\n",
        '    <light name="sun" pos="0 0 3" dir="0 0 -1" directional="true"/>\n',
        '    <geom name="floor" type="plane" size="0 0 0.05" material="grid" '
        f'friction="{_f(FRICTION)}"/>\n',
        f'    <body name="base" pos="0 0 {_f(height)}" childclass="go2">\n',
        '      <freejoint name="base"/>\n',
        _inertial(m.BASE_INERTIAL, "      "),
        _touch_site("base", "      "),
        _box("base_collision", (0, 0, 0), (0, 0, 0), m.BASE_BOX_SIZE_M, "      "),
        _cylinder("head_upper_collision", m.HEAD_CYLINDER["xyz"], (0, 0, 0),
                  m.HEAD_CYLINDER["radius"], m.HEAD_CYLINDER["length"], "      "),
        f'      <geom name="head_lower_collision" type="sphere" size="{_f(m.HEAD_SPHERE["radius"])}" '
        f'pos="{_v(m.HEAD_SPHERE["xyz"])}"/>\n',
    ]
    out += [_leg(leg) for leg in m.LEGS]
    out += ["    </body>\n", "  </worldbody>\n", "  <actuator>\n"]
    for name, kind in zip(m.JOINT_NAMES, kinds):
        limit = m.EFFORT_LIMITS_NM[kind]
        out.append(f'    <motor name="{name.removesuffix("_joint")}" joint="{name}" '
                   f'ctrlrange="{_f(-limit)} {_f(limit)}"/>\n')
    out += ["  </actuator>\n", "  <sensor>\n"]
    bodies = ["base"] + [f"{leg}_{part}" for leg in m.LEGS for part in ("hip", "thigh", "calf", "foot")]
    out += [f'    <touch name="{b}_touch" site="{b}_touch"/>\n' for b in bodies]
    out.append("  </sensor>\n")
    home = [0.0, 0.0, height, 1.0, 0.0, 0.0, 0.0] + [q for leg in m.LEGS for q in m.DEFAULT_POSE_RAD[leg]]
    out += ["  <keyframe>\n", f'    <key name="home" qpos="{_v(home)}"/>\n', "  </keyframe>\n", "</mujoco>\n"]
    return "".join(out)


def main() -> None:
    MJCF_PATH.write_text(mjcf_text())
    print(f"wrote {MJCF_PATH}")


if __name__ == "__main__":
    main()
