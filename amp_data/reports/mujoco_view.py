"""Render a motion bank with MuJoCo's own renderer: the Go2 model itself, lit and shaded, offscreen.

`amp-data view` and `amp-data play --video` use it when MuJoCo and an offscreen OpenGL context (EGL, or
OSMesa; `MUJOCO_GL` picks, EGL by default without a display) are at hand; otherwise they draw with
matplotlib (`view.py`) and say why. What is drawn, for each output frame of a `ViewPlan`:

- the Go2 at the bank frame's qpos (root position, root quaternion xyzw -> MuJoCo's wxyz, joint angles),
  feet dark in contact and light in swing (the bank's `contacts`);
- a ghost: a second Go2, translucent, at a reference bank's frames (looped) `GHOST_OFFSET_M` to its left,
  on the robot's path and heading, so a policy and its mocap move side by side;
- the source dog (a retarget bank's keypoints), as capsules between keypoints, to the robot's right at its
  own (unscaled) size, left limbs blue and right limbs red as in the matplotlib view.

The camera follows the base from the front right, as the matplotlib view's. Frames go through the same
GIF / MP4 writers as `view.py`.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Callable

import numpy as np

from amp_data.errors import InputError
from amp_data.format.bank import Bank
from amp_data.reports.view import VIEW_AZIM_DEG, VIEW_ELEV_DEG, ViewPlan, check_output

GHOST_OFFSET_M = np.array([0.0, 0.55, 0.0])        # the reference's ghost: to the robot's left
DOG_OFFSET_M = np.array([0.0, -0.75, 0.0])         # the dog: to its right
GHOST_RGBA = (0.55, 0.75, 1.0, 0.35)
STANCE_RGBA, SWING_RGBA = (0.1, 0.1, 0.1, 1.0), (0.95, 0.95, 0.95, 1.0)
SIDE_RGBA = {"tab:blue": (0.12, 0.47, 0.71, 1.0), "tab:red": (0.84, 0.15, 0.16, 1.0)}
MID_RGBA = (0.35, 0.35, 0.35, 1.0)


_PROBE = """
import mujoco
m = mujoco.MjModel.from_xml_string("<mujoco><worldbody><geom size='1'/></worldbody></mujoco>")
r = mujoco.Renderer(m, 8, 8)
r.update_scene(mujoco.MjData(m))
assert r.render().shape == (8, 8, 3)
r.close()
"""
_probed: dict[str, str | None] = {}


def _gl_wanted() -> str:
    """The MUJOCO_GL to use: the user's, else EGL on a Linux machine without a display (MuJoCo's own
    default, GLFW, needs one)."""
    if "MUJOCO_GL" in os.environ:
        return os.environ["MUJOCO_GL"]
    return "egl" if sys.platform.startswith("linux") and not os.environ.get("DISPLAY") else ""


def renderer_problem() -> str | None:
    """None when MuJoCo can render offscreen in this process; else why not, in a few words.

    Before mujoco is imported, the context is tried in a subprocess first (a missing EGL or OSMesa library
    can make `import mujoco` itself fail), and MUJOCO_GL is set here only when it works. Once mujoco is
    imported its GL backend is fixed, so the probe runs in-process."""
    if "mujoco" in sys.modules:
        try:
            exec(_PROBE, {})       # the subprocess's probe, here
            return None
        except Exception as e:   # no context on this GL backend: any failure means "fall back"
            return f"MuJoCo cannot render offscreen here ({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''})"
    gl = _gl_wanted()
    if gl not in _probed:
        import subprocess
        env = {**os.environ, "MUJOCO_GL": gl} if gl else dict(os.environ)
        try:
            out = subprocess.run([sys.executable, "-c", _PROBE], env=env, capture_output=True, text=True, timeout=60)
            lines = [ln for ln in out.stderr.strip().splitlines() if ln.strip()]
            _probed[gl] = None if out.returncode == 0 else (lines[-1] if lines else f"exit code {out.returncode}")
        except (OSError, subprocess.TimeoutExpired) as e:
            _probed[gl] = str(e)
    if _probed[gl] is None:
        if gl:
            os.environ["MUJOCO_GL"] = gl
        return None
    return f"MuJoCo cannot open an offscreen OpenGL context (MUJOCO_GL={gl!r}: {_probed[gl]})"


def _qpos_wxyz(root_pos: np.ndarray, root_quat_xyzw: np.ndarray, joint_pos: np.ndarray) -> np.ndarray:
    return np.concatenate([root_pos, root_quat_xyzw[..., [3, 0, 1, 2]], joint_pos], axis=-1)


class MujocoScene:
    """One Go2 model and renderer; `frame(qpos, ...)` returns an RGB image (H, W, 3) uint8."""

    def __init__(self, size_px: tuple[int, int]):
        import mujoco
        from robots.go2.build_mjcf import MJCF_PATH
        from robots.go2 import FOOT_NAMES

        self.mujoco = mujoco
        self.model = mujoco.MjModel.from_xml_path(str(MJCF_PATH))
        width, height = size_px
        self.model.vis.global_.offwidth = max(self.model.vis.global_.offwidth, width)
        self.model.vis.global_.offheight = max(self.model.vis.global_.offheight, height)
        self.renderer = mujoco.Renderer(self.model, height, width)
        self.data = mujoco.MjData(self.model)
        self.ghost_data = mujoco.MjData(self.model)
        self.foot_geoms = [mujoco.mj_name2id(self.model, mujoco.mjtObj.mjOBJ_GEOM, f) for f in FOOT_NAMES]
        self.camera = mujoco.MjvCamera()
        self.camera.type = mujoco.mjtCamera.mjCAMERA_FREE
        self.camera.distance = 1.9
        self.camera.azimuth = VIEW_AZIM_DEG + 180.0 + 90.0   # the matplotlib view's direction, in MuJoCo's angles
        self.camera.elevation = -VIEW_ELEV_DEG
        self.option = mujoco.MjvOption()

    def close(self) -> None:
        self.renderer.close()

    def frame(self, qpos: np.ndarray, contacts: np.ndarray, ghost_qpos: np.ndarray | None = None,
              dog_points: np.ndarray | None = None, dog_bones=None, dog_sides=None) -> np.ndarray:
        mj = self.mujoco
        for g, on in zip(self.foot_geoms, contacts):
            self.model.geom_rgba[g] = STANCE_RGBA if on else SWING_RGBA
        self.data.qpos[:] = qpos
        mj.mj_forward(self.model, self.data)
        self.camera.lookat[:] = [qpos[0], qpos[1] + (0.0 if dog_points is None else -0.2), 0.25]
        self.renderer.update_scene(self.data, self.camera, self.option)
        scene = self.renderer.scene
        if ghost_qpos is not None:
            self.ghost_data.qpos[:] = ghost_qpos
            mj.mj_kinematics(self.model, self.ghost_data)
            first = scene.ngeom
            mj.mjv_addGeoms(self.model, self.ghost_data, self.option, mj.MjvPerturb(), mj.mjtCatBit.mjCAT_DYNAMIC,
                            scene)
            for i in range(first, scene.ngeom):
                scene.geoms[i].rgba[:] = GHOST_RGBA
        if dog_points is not None:
            self._add_dog(scene, dog_points, dog_bones, dog_sides)
        return self.renderer.render()

    def _add_dog(self, scene, points: np.ndarray, bones, sides) -> None:
        mj = self.mujoco
        pairs = bones if bones is not None else []
        for child, parent in pairs:
            if scene.ngeom >= scene.maxgeom:
                return
            g = scene.geoms[scene.ngeom]
            colour = SIDE_RGBA.get(str(sides[child]) if sides is not None else "", MID_RGBA)
            mj.mjv_initGeom(g, mj.mjtGeom.mjGEOM_CAPSULE, np.zeros(3), np.zeros(3), np.zeros(9),
                            np.asarray(colour, dtype=np.float32))
            mj.mjv_connector(g, mj.mjtGeom.mjGEOM_CAPSULE, 0.012, points[child], points[parent])
            scene.ngeom += 1


def render_mujoco(plan: ViewPlan, bank: Bank, output: str | Path, ghost: Bank | None = None,
                  on_frame: Callable[[], None] | None = None) -> Path:
    """Render `plan` (from `view.plan_view(bank)`) with MuJoCo into `output` (.gif or .mp4), atomically;
    `ghost`: a reference bank whose first clip is drawn beside the robot, looped at its own frame rate."""
    from PIL import Image

    from amp_data.reports.view import write_video

    path = Path(output)
    check_output(path, plan.size_px)
    frames = plan.bank_frames
    qpos = _qpos_wxyz(bank["root_pos"][frames], bank["root_quat"][frames], bank["joint_pos"][frames])
    ghost_qpos = None
    if ghost is not None:
        clip = ghost.clips[0]
        t = plan.times_s
        rows = clip.start + np.round(t * ghost.fps).astype(int) % clip.num_frames
        from scipy.spatial.transform import Rotation

        # the ghost walks beside the robot: its own gait and height, the robot's path and heading
        robot_yaw = Rotation.from_quat(bank["root_quat"][frames]).as_euler("ZYX")[:, :1]
        ghost_rot = Rotation.from_quat(ghost["root_quat"][rows])
        turned = Rotation.from_euler("z", robot_yaw - ghost_rot.as_euler("ZYX")[:, :1]) * ghost_rot
        g = _qpos_wxyz(ghost["root_pos"][rows], turned.as_quat(), ghost["joint_pos"][rows])
        side = Rotation.from_euler("z", robot_yaw).apply(GHOST_OFFSET_M)
        g[:, :2] = qpos[:, :2] + side[:, :2]
        ghost_qpos = g
    dog = None
    if plan.dog_points is not None:
        # the dog beside the robot: its keypoints relative to their centroid, placed at the robot's x, y
        centre = plan.dog_points.mean(axis=1, keepdims=True)
        dog = plan.dog_points - centre * np.array([1.0, 1.0, 0.0])
        dog = dog + (qpos[:, None, :3] * np.array([1.0, 1.0, 0.0])) + DOG_OFFSET_M
    try:
        scene = MujocoScene(plan.size_px)
    except Exception as e:
        raise InputError(path, f"MuJoCo's renderer failed to start ({type(e).__name__}: {e})") from None
    frames = (Image.fromarray(scene.frame(qpos[i], plan.contacts[i], None if ghost_qpos is None else ghost_qpos[i],
                                          None if dog is None else dog[i], plan.dog_bones, plan.dog_sides))
              for i in range(plan.num_frames))
    try:
        return write_video(path, frames, plan.out_fps, plan.size_px, on_frame)
    finally:
        scene.close()


RENDERERS = ("auto", "mujoco", "matplotlib")


def pick_renderer(renderer: str = "auto", ghost: bool = False) -> tuple[str, str | None]:
    """("mujoco" or "matplotlib", a note saying why matplotlib when MuJoCo was wanted but cannot run).
    Call it before mujoco is first imported (see `renderer_problem`). InputError when the asked renderer,
    or --ghost, cannot run."""
    if renderer not in RENDERERS:
        raise InputError(None, f"--renderer must be one of {', '.join(RENDERERS)}, got {renderer!r}")
    if renderer == "matplotlib":
        if ghost:
            raise InputError(None, "--ghost needs MuJoCo's renderer, not --renderer matplotlib")
        return "matplotlib", None
    problem = renderer_problem()
    if problem is None:
        return "mujoco", None
    if renderer == "mujoco" or ghost:
        raise InputError(None, f"{'--ghost needs MuJoCo' if ghost else '--renderer mujoco'}: {problem}; install an "
                               "EGL or OSMesa library (Debian: apt-get install libegl1 libgl1-mesa-dri, or "
                               "libosmesa6 with MUJOCO_GL=osmesa), or use --renderer matplotlib")
    return "matplotlib", f"drew with matplotlib (the fallback): {problem}"


def render_video(plan: ViewPlan, bank: Bank, output: str | Path, renderer: str = "auto", ghost: Bank | None = None,
                 on_frame: Callable[[], None] | None = None) -> tuple[Path, str, str | None]:
    """Render with MuJoCo where it can (`auto`), or as asked; returns (path, renderer used, the note of
    `pick_renderer`). Where mujoco is imported already, call `pick_renderer` before that import."""
    from amp_data.reports.view import render_view

    used, note = pick_renderer(renderer, ghost is not None)
    if used == "mujoco":
        return render_mujoco(plan, bank, output, ghost, on_frame), used, note
    return render_view(plan, output, on_frame), used, note


def viewer_problem() -> str | None:
    """None when MuJoCo's interactive viewer can open a window here; else why not."""
    if sys.platform.startswith("linux") and not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        return "MuJoCo's interactive viewer needs a display (DISPLAY is not set); write a video with --video instead"
    return None


def show_in_viewer(bank: Bank, clip: int = 0) -> None:
    """Play a bank's clip in MuJoCo's interactive viewer at its own frame rate, looping, until the window
    is closed (foot contacts shown dark, as in the videos)."""
    import time

    import mujoco
    import mujoco.viewer
    from robots.go2 import FOOT_NAMES
    from robots.go2.build_mjcf import MJCF_PATH

    model = mujoco.MjModel.from_xml_path(str(MJCF_PATH))
    data = mujoco.MjData(model)
    c = bank.clips[clip]
    qpos = _qpos_wxyz(bank["root_pos"][c.start:c.stop], bank["root_quat"][c.start:c.stop],
                      bank["joint_pos"][c.start:c.stop])
    contacts = bank["contacts"][c.start:c.stop]
    feet = [mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_GEOM, f) for f in FOOT_NAMES]
    with mujoco.viewer.launch_passive(model, data) as viewer:
        k = 0
        while viewer.is_running():
            t0 = time.perf_counter()
            data.qpos[:] = qpos[k]
            for g, on in zip(feet, contacts[k]):
                model.geom_rgba[g] = STANCE_RGBA if on else SWING_RGBA
            mujoco.mj_forward(model, data)
            viewer.sync()
            k = (k + 1) % len(qpos)
            time.sleep(max(0.0, 1.0 / bank.fps - (time.perf_counter() - t0)))
