"""The project's MuJoCo model of the Go2 (`robots/go2/go2.xml`) against the model facts, the URDF and the
independent numpy/pinocchio forward kinematics of `robots.go2.kinematics`."""

import xml.etree.ElementTree as ET

import numpy as np
import pytest

from robots.go2.kinematics import feet_fk
from robots.go2 import FOOT_NAMES, JOINT_NAMES, URDF_PATH
from robots.go2 import build_mjcf
from robots.go2.model import EFFORT_LIMITS_NM, FOOT_RADIUS_M, default_pose_rad, hard_limits_rad

try:
    import mujoco
except ImportError:  # an optional extra; the generator test below runs without it
    mujoco = None


@pytest.fixture(scope="module")
def mj():
    if mujoco is None:
        pytest.skip("mujoco is an optional extra: pip install '.[learn]'")
    return mujoco.MjModel.from_xml_path(str(build_mjcf.MJCF_PATH))


def _name(model, objtype, i):
    return mujoco.mj_id2name(model, objtype, i)


def test_committed_mjcf_is_what_the_generator_writes():
    assert build_mjcf.MJCF_PATH.read_text() == build_mjcf.mjcf_text()


def test_joint_order_limits_and_actuators(mj):
    assert mj.nq == 19 and mj.nv == 18 and mj.nu == 12
    assert mj.jnt_type[0] == mujoco.mjtJoint.mjJNT_FREE
    names = tuple(_name(mj, mujoco.mjtObj.mjOBJ_JOINT, j) for j in range(1, mj.njnt))
    assert names == JOINT_NAMES
    # hinge j has qpos address 7 + (j - 1): joint order = qpos order
    assert mj.jnt_qposadr[1:].tolist() == list(range(7, 19))
    np.testing.assert_array_equal(mj.jnt_range[1:], hard_limits_rad())
    # actuator i drives joint i+1, with the URDF effort limit of its joint kind
    assert mj.actuator_trnid[:, 0].tolist() == list(range(1, 13))
    effort = np.array([EFFORT_LIMITS_NM[n.split("_")[1]] for n in JOINT_NAMES])
    np.testing.assert_array_equal(mj.actuator_ctrlrange, np.stack([-effort, effort], axis=1))
    assert mj.opt.timestep == 0.005


def test_total_and_per_link_masses(mj):
    expected = {"base": 6.921, "hip": 0.678, "thigh": 1.152, "calf": 0.154, "foot": 0.04}
    for b in range(1, mj.nbody):
        name = _name(mj, mujoco.mjtObj.mjOBJ_BODY, b)
        assert mj.body_mass[b] == pytest.approx(expected[name.split("_")[-1]], abs=1e-12), name
    assert mj.nbody == 1 + 1 + 4 * 4
    assert mj.body_mass.sum() == pytest.approx(6.921 + 4 * (0.678 + 1.152 + 0.154 + 0.04), abs=1e-9)


def _urdf_inertials():
    """{link: (mass, com (3,), inertia (3, 3))} read straight from go2.urdf."""
    out = {}
    for link in ET.parse(URDF_PATH).getroot().iter("link"):
        inertial = link.find("inertial")
        if inertial is None:
            continue
        i = {k: float(v) for k, v in inertial.find("inertia").attrib.items()}
        inertia = np.array([[i["ixx"], i["ixy"], i["ixz"]], [i["ixy"], i["iyy"], i["iyz"]],
                            [i["ixz"], i["iyz"], i["izz"]]])
        com = np.array(inertial.find("origin").attrib["xyz"].split(), dtype=float)
        out[link.attrib["name"]] = (float(inertial.find("mass").attrib["value"]), com, inertia)
    return out


def test_inertials_equal_the_urdf(mj):
    urdf = _urdf_inertials()
    assert len(urdf) == mj.nbody - 1
    for b in range(1, mj.nbody):
        name = _name(mj, mujoco.mjtObj.mjOBJ_BODY, b)
        mass, com, inertia = urdf[name]
        rot = np.zeros(9)
        mujoco.mju_quat2Mat(rot, mj.body_iquat[b])
        rot = rot.reshape(3, 3)
        # MuJoCo stores principal moments and the principal axes' orientation; rebuild the full tensor.
        np.testing.assert_allclose(rot @ np.diag(mj.body_inertia[b]) @ rot.T, inertia, atol=1e-9, err_msg=name)
        np.testing.assert_allclose(mj.body_ipos[b], com, atol=1e-12, err_msg=name)
        assert mj.body_mass[b] == mass


def test_geom_names_tell_feet_from_body(mj):
    names = [_name(mj, mujoco.mjtObj.mjOBJ_GEOM, g) for g in range(mj.ngeom)]
    assert names[0] == "floor"
    robot = names[1:]
    assert sorted(n for n in robot if not n.endswith("_collision")) == sorted(FOOT_NAMES)
    assert {"base_collision", "FL_thigh_collision", "RR_calf_collision"} <= set(robot)
    for foot in FOOT_NAMES:
        g = mujoco.mj_name2id(mj, mujoco.mjtObj.mjOBJ_GEOM, foot)
        assert mj.geom_type[g] == mujoco.mjtGeom.mjGEOM_SPHERE and mj.geom_size[g, 0] == FOOT_RADIUS_M
        assert _name(mj, mujoco.mjtObj.mjOBJ_BODY, mj.geom_bodyid[g]) == foot


def _mujoco_feet_world(mj, qpos_wxyz: np.ndarray) -> np.ndarray:
    data = mujoco.MjData(mj)
    data.qpos[:] = qpos_wxyz
    mujoco.mj_kinematics(mj, data)
    return np.array([data.xpos[mujoco.mj_name2id(mj, mujoco.mjtObj.mjOBJ_BODY, f)] for f in FOOT_NAMES])


def test_feet_fk_matches_retarget_kinematics(mj):
    rng = np.random.default_rng(7)
    lo, hi = hard_limits_rad().T
    for _ in range(5):
        q = rng.uniform(lo, hi)
        got = _mujoco_feet_world(mj, np.concatenate([[0, 0, 0, 1, 0, 0, 0], q]))
        np.testing.assert_allclose(got, feet_fk(q[None])[0], atol=1e-9)
    # with the base moved and turned: world feet = p + R foot_base (R from the wxyz quaternion, by hand)
    q = rng.uniform(lo, hi)
    w, x, y, z = np.array([0.9, 0.1, -0.3, 0.2]) / np.linalg.norm([0.9, 0.1, -0.3, 0.2])
    rot = np.array([[1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
                    [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
                    [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)]])
    pos = np.array([0.3, -1.2, 0.5])
    got = _mujoco_feet_world(mj, np.concatenate([pos, [w, x, y, z], q]))
    np.testing.assert_allclose(got, pos + feet_fk(q[None])[0] @ rot.T, atol=1e-9)


def test_home_keyframe_stands_on_the_lowest_feet(mj):
    data = mujoco.MjData(mj)
    mujoco.mj_resetDataKeyframe(mj, data, mujoco.mj_name2id(mj, mujoco.mjtObj.mjOBJ_KEY, "home"))
    mujoco.mj_forward(mj, data)
    np.testing.assert_allclose(data.qpos[7:], default_pose_rad())
    np.testing.assert_allclose(data.qpos[3:7], [1, 0, 0, 0])
    sphere_bottom = [data.geom_xpos[mujoco.mj_name2id(mj, mujoco.mjtObj.mjOBJ_GEOM, f)][2] - FOOT_RADIUS_M
                     for f in FOOT_NAMES]
    # front thighs 0.8 rad, rear 1.0 rad: the front feet are lower and touch, the rear ones are ~1 cm up
    assert min(sphere_bottom) == pytest.approx(0.0, abs=1e-8)
    assert np.argsort(sphere_bottom)[:2].tolist() == [0, 1]
    assert 0.30 < data.qpos[2] < 0.35


def test_one_touch_sensor_per_body(mj):
    """`<body>_touch` for every body but the world, on a site of that body enclosing all its geoms."""
    assert mj.nsensor == mj.nbody - 1
    for b in range(1, mj.nbody):
        body = _name(mj, mujoco.mjtObj.mjOBJ_BODY, b)
        sensor = mujoco.mj_name2id(mj, mujoco.mjtObj.mjOBJ_SENSOR, f"{body}_touch")
        assert mj.sensor_type[sensor] == mujoco.mjtSensor.mjSENS_TOUCH
        site = mj.sensor_objid[sensor]
        assert mj.site_bodyid[site] == b and mj.site_type[site] == mujoco.mjtGeom.mjGEOM_SPHERE
        for g in np.flatnonzero(mj.geom_bodyid == b):
            reach = np.linalg.norm(mj.geom_pos[g] - mj.site_pos[site]) + mj.geom_rbound[g]
            assert reach < mj.site_size[site, 0], (body, _name(mj, mujoco.mjtObj.mjOBJ_GEOM, g))
