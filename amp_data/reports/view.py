"""Render a motion bank as a GIF or MP4: the source dog skeleton beside the retargeted Go2.

Left panel: the dog's keypoints (`source/keypoints`, source world, metres, unscaled) joined by the bones
in `source/parents`. Right panel: the Go2 in the robot world: trunk box from the base pose, each leg's
hip, thigh, knee and foot points from forward kinematics of `joint_pos`, feet coloured by `contacts`.
Both worlds share their axes (SCHEMA.md, "Frames"), so both panels use one camera direction; each
camera follows its own root, so long clips stay in view. Left limbs are blue and right limbs red in
both panels, which makes a mirrored retarget obvious.

Time: output frame j shows the bank frame nearest to t_j = start + j / out_fps (bank fps) and the
source keypoint row nearest to t_j (source fps), counted from the clip's first keypoint row; the bank
and its source start at the same instant (retarget.pipeline.resample).

The geometry of all frames is computed first with numpy (`plan_view`); drawing then only moves the
artists of one figure (`render_view`).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

import numpy as np
from PIL import Image
from scipy.spatial.transform import Rotation

from amp_data.format.bank import Bank, ClipRange
from amp_data.format.atomic import atomic_output, check_output_folder
from amp_data.errors import InputError
from robots.go2.kinematics import legs_points_fk
from robots.go2.model import BASE_BOX_SIZE_M, HEAD_SPHERE, LEGS

FORMATS = (".gif", ".mp4")
DPI = 100
LEFT_COLOUR, RIGHT_COLOUR, MID_COLOUR = "tab:blue", "tab:red", "0.35"
STANCE_COLOUR, SWING_COLOUR = "black", "white"
GRID_SPACING_M = 0.2
VIEW_ELEV_DEG, VIEW_AZIM_DEG = 18.0, -62.0   # camera from the front right, a little above
# Trunk box: corner signs and the 12 edges between corners that differ in one sign.
_BOX_SIGNS = np.array([[sx, sy, sz] for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)], dtype=float)
_BOX_EDGES = [(a, b) for a in range(8) for b in range(a + 1, 8) if np.sum(_BOX_SIGNS[a] != _BOX_SIGNS[b]) == 1]


@dataclass(frozen=True)
class ViewOptions:
    """What to render. `frames` (bank frames of the clip, [start, stop), 0-based) or `seconds` (s from the
    clip's start, [start, stop], stop clamped to the clip's end) limit the range; `size_px` is (width, height)."""

    clip: str | None = None
    fps: float = 25.0
    frames: tuple[int | None, int | None] | None = None
    seconds: tuple[float | None, float | None] | None = None
    size_px: tuple[int, int] = (960, 480)
    robot_label: str = "Go2 retarget"           # robot panel title; e.g. "Go2 policy rollout"
    no_source_note: str = "no source keypoints in this bank (imported?): robot only"


@dataclass
class ViewPlan:
    """Everything drawn, for every output frame (N of them). Robot world and source world, metres."""

    clip: ClipRange
    out_fps: float
    bank_frames: np.ndarray        # (N,) int, bank frame shown (absolute index into the bank)
    times_s: np.ndarray            # (N,) s, time of that bank frame from the clip's start
    legs_world: np.ndarray         # (N, 4, 4, 3) Go2 hip, thigh, knee, foot per leg, robot world
    trunk_world: np.ndarray        # (N, 8, 3) trunk box corners, robot world
    head_world: np.ndarray         # (N, 3) head sphere centre, robot world
    root_world: np.ndarray         # (N, 3) base origin, robot world
    contacts: np.ndarray           # (N, 4) bool, foot on the ground
    dog_points: np.ndarray | None  # (N, K, 3) dog keypoints, source world; None when the bank has none
    dog_rows: np.ndarray | None    # (N,) int, source keypoint row shown
    dog_bones: np.ndarray | None   # (B, 2) int, (child, parent) keypoint pairs; None: draw points only
    dog_sides: np.ndarray | None   # (K,) str colour per keypoint (left, right, middle)
    dog_names: tuple[str, ...]     # (K,) keypoint names
    source_fps: float | None
    scale: float | None
    size_px: tuple[int, int]
    robot_label: str = "Go2 retarget"
    no_source_note: str = "no source keypoints in this bank (imported?): robot only"

    @property
    def num_frames(self) -> int:
        return len(self.bank_frames)


# --- geometry (pure functions, all frames at once) ---------------------------------------------------

def go2_points_world(root_pos: np.ndarray, root_quat_xyzw: np.ndarray, joint_pos: np.ndarray) -> np.ndarray:
    """Go2 leg points in the robot world (T, 4, 4, 3) m: legs FL, FR, RL, RR; per leg hip joint, thigh
    joint, knee (calf joint), foot centre. p_world = root_pos + R(root_quat) p_base."""
    rot = Rotation.from_quat(root_quat_xyzw).as_matrix()
    return root_pos[:, None, None] + np.einsum("tij,tlpj->tlpi", rot, legs_points_fk(joint_pos))


def trunk_box_world(root_pos: np.ndarray, root_quat_xyzw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Trunk collision box corners (T, 8, 3) and head sphere centre (T, 3) in the robot world, m."""
    rot = Rotation.from_quat(root_quat_xyzw).as_matrix()
    corners_base = 0.5 * _BOX_SIGNS * np.asarray(BASE_BOX_SIZE_M)
    corners = root_pos[:, None] + np.einsum("tij,cj->tci", rot, corners_base)
    head = root_pos + rot @ np.asarray(HEAD_SPHERE["xyz"])
    return corners, head


def output_frames(num_clip_frames: int, bank_fps: float, out_fps: float, start: int, stop: int) -> np.ndarray:
    """Clip frame indices (N,) shown at `out_fps` over clip frames [start, stop): frame j is the one
    nearest to start / bank_fps + j / out_fps; N covers the range's duration (stop - 1 - start) / bank_fps."""
    if not (0 <= start < stop <= num_clip_frames):
        raise ValueError(f"frame range {start}:{stop} outside the clip's {num_clip_frames} frames")
    duration_s = (stop - 1 - start) / bank_fps
    n = int(np.floor(duration_s * out_fps + 1e-9)) + 1
    t = start / bank_fps + np.arange(n) / out_fps
    return np.clip(np.rint(t * bank_fps).astype(np.int64), start, stop - 1)


def source_rows(times_s: np.ndarray, clip: ClipRange, source_fps: float) -> np.ndarray:
    """Rows of `source/keypoints` (N,) nearest to the clip times `times_s` (s from the clip's start)."""
    rows = clip.keypoint_start + np.rint(np.asarray(times_s) * source_fps).astype(np.int64)
    return np.clip(rows, clip.keypoint_start, clip.keypoint_stop - 1)


def keypoint_sides(names: tuple[str, ...]) -> np.ndarray:
    """Colour per keypoint: left limbs, right limbs, the rest (BVH names with Left / Right)."""
    def side(name: str) -> str:
        low = name.lower()
        if low.startswith("left") or "_left" in low or low.startswith("l_"):
            return LEFT_COLOUR
        if low.startswith("right") or "_right" in low or low.startswith("r_"):
            return RIGHT_COLOUR
        return MID_COLOUR
    return np.array([side(n) for n in names], dtype=object)


# --- options ---------------------------------------------------------------------------------------

def parse_range(text: str, option: str, seconds: bool = False) -> tuple[float | None, float | None]:
    """'A:B', 'A:', ':B' (and, for seconds, 'B' = '0:B') -> (start, stop); InputError when malformed."""
    conv = float if seconds else int
    if ":" not in text and not seconds:
        raise InputError(None, f"{option} must be START:END, got {text!r}")
    a, _, b = text.partition(":") if ":" in text else ("0", ":", text)
    try:
        start = conv(a) if a.strip() else None
        stop = conv(b) if b.strip() else None
    except ValueError:
        raise InputError(None, f"{option} must be START:END with {'numbers' if seconds else 'integers'}, "
                               f"got {text!r}") from None
    for v in (start, stop):
        if v is not None and not (np.isfinite(v) and v >= 0):
            raise InputError(None, f"{option} values must be >= 0, got {text!r}")
    if start is not None and stop is not None and stop <= start:
        raise InputError(None, f"{option} {text} is empty: END must be greater than START")
    return start, stop


def parse_size(text: str) -> tuple[int, int]:
    """'WIDTHxHEIGHT' in pixels -> (width, height)."""
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise InputError(None, f"--size must be WIDTHxHEIGHT in pixels, e.g. 960x480, got {text!r}") from None
    if not (160 <= w <= 4000 and 120 <= h <= 4000):
        raise InputError(None, f"--size {text}: width 160..4000 and height 120..4000 pixels")
    return w, h


def _clip_range(bank: Bank, clip: ClipRange, opts: ViewOptions) -> tuple[int, int]:
    n = clip.num_frames
    if opts.frames is not None and opts.seconds is not None:
        raise InputError(None, "give --frames or --seconds, not both")
    if opts.frames is not None:
        start = 0 if opts.frames[0] is None else int(opts.frames[0])
        stop = n if opts.frames[1] is None else int(opts.frames[1])
        if start >= n or stop > n:
            raise InputError(bank.path, f"--frames {start}:{stop} is outside the {n} frames of clip {clip.name!r}")
        return start, stop
    if opts.seconds is not None:
        duration = (n - 1) / bank.fps
        t0 = opts.seconds[0] or 0.0
        start = int(np.rint(t0 * bank.fps))
        stop = n if opts.seconds[1] is None else min(n, int(np.rint(opts.seconds[1] * bank.fps)) + 1)
        if start >= n:
            raise InputError(bank.path, f"--seconds starts at {t0:g} s, after the end of clip {clip.name!r} "
                                        f"({duration:.2f} s)")
        return start, max(stop, start + 1)
    return 0, n


def _source_fps(bank: Bank, clip: ClipRange) -> float:
    """The keypoints' frame rate: the `source_fps` attribute, else the clip's keypoint rows over its duration."""
    if "source_fps" in bank.attrs and float(bank.attrs["source_fps"]) > 0:
        return float(bank.attrs["source_fps"])
    rows = clip.keypoint_stop - clip.keypoint_start
    return (rows - 1) * bank.fps / max(clip.num_frames - 1, 1)


def plan_view(bank: Bank, opts: ViewOptions = ViewOptions()) -> ViewPlan:
    """The geometry of every output frame. InputError for an unknown clip or bad options."""
    if not (np.isfinite(opts.fps) and opts.fps > 0):
        raise InputError(None, f"--fps must be positive, got {opts.fps:g}")
    if opts.fps > bank.fps + 1e-9:
        raise InputError(bank.path, f"--fps {opts.fps:g} is above the bank's {bank.fps:g} fps")
    clip = bank.clip(opts.clip) if opts.clip is not None else bank.clips[0]
    start, stop = _clip_range(bank, clip, opts)
    local = output_frames(clip.num_frames, bank.fps, opts.fps, start, stop)
    frames = clip.start + local
    times = local / bank.fps
    root_pos, root_quat = bank["root_pos"][frames], bank["root_quat"][frames]
    trunk, head = trunk_box_world(root_pos, root_quat)
    legs = go2_points_world(root_pos, root_quat, bank["joint_pos"][frames])

    dog = rows = bones = sides = src_fps = None
    names = ()
    if bank.keypoints is not None and clip.keypoint_stop > clip.keypoint_start:
        src_fps = _source_fps(bank, clip)
        rows = source_rows(times, clip, src_fps)
        dog = np.asarray(bank.keypoints[rows], dtype=np.float64)
        k = dog.shape[1]
        names = bank.keypoint_names if len(bank.keypoint_names) == k else tuple(f"k{i}" for i in range(k))
        sides = keypoint_sides(names)
        parents = bank.keypoint_parents
        if parents is not None and len(parents) == k and np.all(parents < k):
            child = np.flatnonzero(parents >= 0)
            bones = np.stack([child, parents[child]], axis=1)
    return ViewPlan(clip=clip, out_fps=float(opts.fps), bank_frames=frames, times_s=times, legs_world=legs,
                    trunk_world=trunk, head_world=head, root_world=root_pos, contacts=bank["contacts"][frames],
                    dog_points=dog, dog_rows=rows, dog_bones=bones, dog_sides=sides, dog_names=names,
                    source_fps=src_fps,
                    scale=float(bank.attrs["scale"]) if "scale" in bank.attrs else None, size_px=opts.size_px,
                    robot_label=opts.robot_label, no_source_note=opts.no_source_note)


# --- output file -----------------------------------------------------------------------------------

def check_output(path: Path, size_px: tuple[int, int] = (960, 480)) -> None:
    """InputError unless `path` is a .gif, or an .mp4 with ffmpeg on PATH, in an existing folder."""
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise InputError(path, f"unknown video format {path.suffix or '(none)'!r}; use .gif or .mp4")
    if path.is_dir():
        raise InputError(path, "is a folder; give a .gif or .mp4 file name")
    check_output_folder(path)
    if suffix == ".mp4":
        import matplotlib as mpl
        if shutil.which(mpl.rcParams["animation.ffmpeg_path"]) is None:
            raise InputError(path, "writing .mp4 needs ffmpeg on PATH, which is not installed; "
                                   "write a .gif instead (-o clip.gif)")
        if size_px[0] % 2 or size_px[1] % 2:
            raise InputError(path, f"an .mp4 needs an even width and height, got {size_px[0]}x{size_px[1]}")


# --- drawing ---------------------------------------------------------------------------------------

def _half_width_m(points: np.ndarray, centre: np.ndarray) -> float:
    """Horizontal half-width (m) of a view centred on `centre` (N, 3) that holds all `points` (N, P, 3)."""
    reach = np.abs(points[..., :2] - centre[:, None, :2]).max()
    return float(reach) + 0.08


def _grid_segments(cx: float, cy: float, w: float) -> np.ndarray:
    """Floor lines (S, 2, 3) at multiples of GRID_SPACING_M inside the square [c - w, c + w]."""
    xs = np.arange(np.ceil((cx - w) / GRID_SPACING_M), np.floor((cx + w) / GRID_SPACING_M) + 1) * GRID_SPACING_M
    ys = np.arange(np.ceil((cy - w) / GRID_SPACING_M), np.floor((cy + w) / GRID_SPACING_M) + 1) * GRID_SPACING_M
    along_y = [[(x, cy - w, 0.0), (x, cy + w, 0.0)] for x in xs]
    along_x = [[(cx - w, y, 0.0), (cx + w, y, 0.0)] for y in ys]
    return np.array(along_y + along_x).reshape(-1, 2, 3)


class _Panel:
    """One 3D axes whose camera follows a centre point; fixed half-width w and height h (m)."""

    def __init__(self, ax, w: float, h: float, title: str):
        from mpl_toolkits.mplot3d.art3d import Line3DCollection
        self.ax, self.w, self.h = ax, w, h
        ax.set_proj_type("ortho")
        ax.view_init(elev=VIEW_ELEV_DEG, azim=VIEW_AZIM_DEG)
        ax.set_box_aspect((2 * w, 2 * w, h), zoom=1.5)
        ax.set_axis_off()
        box = ax.get_position()
        self.title_xy, self.title = (0.5 * (box.x0 + box.x1), 0.905), title
        ax.computed_zorder = False          # the floor is under everything: draw it first, not depth-sorted
        self.grid = Line3DCollection([], colors="0.8", linewidths=0.6, zorder=0)
        ax.add_collection3d(self.grid, autolim=False)
        ax.set_zlim(0.0, h)

    def follow(self, centre: np.ndarray) -> None:
        cx, cy = float(centre[0]), float(centre[1])
        self.ax.set_xlim(cx - self.w, cx + self.w)
        self.ax.set_ylim(cy - self.w, cy + self.w)
        self.grid.set_segments(_grid_segments(cx, cy, self.w))


class _Scene:
    """The figure and its artists; `update(i)` moves them to output frame i."""

    def __init__(self, plan: ViewPlan):
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        from mpl_toolkits.mplot3d.art3d import Line3DCollection

        self.plan = plan
        w_px, h_px = plan.size_px
        # Agg canvas of its own: no pyplot, no global backend state. +0.25 px so int(inches * dpi) is exact.
        self.fig = fig = Figure(figsize=((w_px + 0.25) / DPI, (h_px + 0.25) / DPI), dpi=DPI)
        FigureCanvasAgg(fig)
        has_dog = plan.dog_points is not None
        axes = [fig.add_subplot(1, 2 if has_dog else 1, i + 1, projection="3d") for i in range(2 if has_dog else 1)]
        fig.subplots_adjust(left=0.0, right=1.0, bottom=0.04, top=0.92, wspace=0.0)

        robot_pts = np.concatenate([plan.legs_world.reshape(plan.num_frames, -1, 3), plan.trunk_world,
                                    plan.head_world[:, None]], axis=1)
        scale = f", scale {plan.scale:g}" if plan.scale else ""
        self.robot = _Panel(axes[-1], _half_width_m(robot_pts, plan.root_world),
                            max(0.5, float(robot_pts[..., 2].max()) + 0.05),
                            f"{plan.robot_label} (robot world{scale}), grid {GRID_SPACING_M:g} m")
        self.legs = [axes[-1].plot([], [], [], "-o", color=LEFT_COLOUR if leg[1] == "L" else RIGHT_COLOUR,
                                   lw=2.2, ms=3.5)[0] for leg in LEGS]
        self.feet = [axes[-1].plot([], [], [], "o", ms=7, mew=1.5,
                                   mec=LEFT_COLOUR if leg[1] == "L" else RIGHT_COLOUR)[0] for leg in LEGS]
        self.trunk = Line3DCollection([], colors="0.2", linewidths=1.4)
        axes[-1].add_collection3d(self.trunk, autolim=False)
        self.head = axes[-1].plot([], [], [], "-o", color="0.2", lw=1.4, ms=6, markevery=[1])[0]
        self.shadows = axes[-1].plot([], [], [], "o", color="0.75", ms=4)[0]   # feet projected on the floor

        self.dog = None
        if has_dog:
            dog = plan.dog_points
            self.dog_centre = dog.mean(axis=1)
            self.dog = _Panel(axes[0], _half_width_m(dog, self.dog_centre), max(0.5, float(dog[..., 2].max()) + 0.05),
                              f"dog (source world, unscaled, {plan.source_fps:.0f} fps), grid {GRID_SPACING_M:g} m")
            if plan.dog_bones is not None:
                self.bones = Line3DCollection([], colors=list(plan.dog_sides[plan.dog_bones[:, 0]]), linewidths=2.0)
                axes[0].add_collection3d(self.bones, autolim=False)
            self.joints = [axes[0].plot([], [], [], "o", color=c, ms=2.5)[0] for c in (LEFT_COLOUR, RIGHT_COLOUR, MID_COLOUR)]
            self.joint_sets = [np.flatnonzero(plan.dog_sides == c) for c in (LEFT_COLOUR, RIGHT_COLOUR, MID_COLOUR)]
            heads = [i for i, n in enumerate(plan.dog_names) if "head" in n.lower()]
            if heads:
                self.joints.append(axes[0].plot([], [], [], "o", color=MID_COLOUR, ms=6)[0])
                self.joint_sets.append(np.array(heads))
            # shadows of the limbs' end points (paws), as for the robot's feet
            leaves = np.setdiff1d(np.arange(len(plan.dog_sides)), plan.dog_bones[:, 1]) \
                if plan.dog_bones is not None else np.array([], dtype=int)
            self.dog_paws = leaves[plan.dog_sides[leaves] != MID_COLOUR]
            self.dog_shadows = axes[0].plot([], [], [], "o", color="0.75", ms=4)[0]
        self._draw_static_overlay(has_dog, plan.no_source_note)
        self.title = fig.suptitle("", fontsize=10, y=0.975)
        self.front_signs = np.flatnonzero(_BOX_SIGNS[:, 0] > 0)

    def _draw_static_overlay(self, has_dog: bool, no_source_note: str) -> None:
        """Panel titles, note and legend, rasterised once and pasted as an image: text is most of the
        cost of a frame when drawn anew each time."""
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        from matplotlib.lines import Line2D

        static = Figure(figsize=self.fig.get_size_inches(), dpi=DPI)
        FigureCanvasAgg(static)
        static.patch.set_alpha(0.0)
        for panel in (self.dog, self.robot):
            if panel is not None:
                static.text(*panel.title_xy, panel.title, ha="center", fontsize=9)
        if not has_dog:
            static.text(0.5, 0.11, no_source_note, ha="center", fontsize=9, color="0.3")
        handles = [Line2D([], [], color=LEFT_COLOUR, lw=2, label="left limbs"),
                   Line2D([], [], color=RIGHT_COLOUR, lw=2, label="right limbs"),
                   Line2D([], [], ls="", marker="o", mfc=STANCE_COLOUR, mec="0.3", label="foot in stance"),
                   Line2D([], [], ls="", marker="o", mfc=SWING_COLOUR, mec="0.3", label="foot in swing")]
        static.legend(handles=handles, loc="lower center", ncol=4, fontsize=8, frameon=False)
        static.canvas.draw()
        self.overlay = Image.fromarray(np.asarray(static.canvas.buffer_rgba()).copy(), "RGBA")

    def frame(self, i: int):
        """Output frame i as an RGBA PIL image of exactly size_px."""
        self.update(i)
        self.fig.canvas.draw()
        drawn = Image.fromarray(np.asarray(self.fig.canvas.buffer_rgba()), "RGBA")
        if drawn.size != self.overlay.size:
            raise RuntimeError(f"figure drew {drawn.size}, expected {self.overlay.size}")
        return Image.alpha_composite(drawn, self.overlay)

    def update(self, i: int) -> None:
        p = self.plan
        self.robot.follow(p.root_world[i])
        for leg, foot, pts, stance in zip(self.legs, self.feet, p.legs_world[i], p.contacts[i]):
            leg.set_data_3d(pts[:, 0], pts[:, 1], pts[:, 2])
            foot.set_data_3d(pts[3:, 0], pts[3:, 1], pts[3:, 2])
            foot.set_markerfacecolor(STANCE_COLOUR if stance else SWING_COLOUR)
        self.trunk.set_segments(p.trunk_world[i][np.array(_BOX_EDGES)])
        neck = np.stack([p.trunk_world[i][self.front_signs].mean(axis=0), p.head_world[i]])
        self.head.set_data_3d(neck[:, 0], neck[:, 1], neck[:, 2])
        feet = p.legs_world[i, :, 3]
        self.shadows.set_data_3d(feet[:, 0], feet[:, 1], np.zeros(4))
        text = f"{p.clip.name}   frame {p.bank_frames[i] - p.clip.start}/{p.clip.num_frames - 1}   t = {p.times_s[i]:.2f} s"
        if self.dog is not None:
            kp = p.dog_points[i]
            self.dog.follow(self.dog_centre[i])
            if p.dog_bones is not None:
                self.bones.set_segments(kp[p.dog_bones])
            for artist, idx in zip(self.joints, self.joint_sets):
                artist.set_data_3d(kp[idx, 0], kp[idx, 1], kp[idx, 2])
            paws = kp[self.dog_paws]
            self.dog_shadows.set_data_3d(paws[:, 0], paws[:, 1], np.zeros(len(paws)))
            text += f"   (source row {p.dog_rows[i]})"
        self.title.set_text(text)


class _GifWriter:
    """Frames as 8-bit palette images (a quarter of RGBA's memory), saved as one looping GIF."""

    def __init__(self, path: str, fps: float, size_px: tuple[int, int]):
        self.path, self.fps, self.frames = path, fps, []

    def add(self, frame) -> None:
        self.frames.append(frame.convert("RGB").quantize(colors=128, method=2))

    def finish(self) -> None:
        self.frames[0].save(self.path, format="GIF", save_all=True, append_images=self.frames[1:],
                            duration=round(1000 / self.fps), loop=0)

    def abort(self) -> None:
        self.frames = []


class _Mp4Writer:
    """Frames piped to ffmpeg as raw RGBA; H.264, yuv420p (plays everywhere)."""

    def __init__(self, path: str, fps: float, size_px: tuple[int, int]):
        import subprocess
        import matplotlib as mpl
        cmd = [shutil.which(mpl.rcParams["animation.ffmpeg_path"]) or "ffmpeg", "-y", "-loglevel", "error",
               "-f", "rawvideo", "-pix_fmt", "rgba", "-s", f"{size_px[0]}x{size_px[1]}", "-r", f"{fps:g}",
               "-i", "-", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-f", "mp4", path]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stderr=subprocess.PIPE)

    def add(self, frame) -> None:
        self.proc.stdin.write((frame if frame.mode == "RGBA" else frame.convert("RGBA")).tobytes())

    def finish(self) -> None:
        self.proc.stdin.close()
        err = self.proc.stderr.read().decode(errors="replace").strip()
        if self.proc.wait() != 0:
            raise OSError(f"ffmpeg failed: {err.splitlines()[-1] if err else self.proc.returncode}")

    def abort(self) -> None:
        self.proc.kill()
        self.proc.wait()


def write_video(path: Path, frames: Iterable, fps: float, size_px: tuple[int, int],
                on_frame: Callable[[], None] | None = None) -> Path:
    """Write PIL images (`frames`, drawn one at a time) to `path` (.gif or .mp4), atomically: a failure
    while drawing or writing leaves no partial file and keeps an old one."""
    with atomic_output(path, suffix=path.suffix) as tmp:   # writers pick the format by suffix
        writer = (_Mp4Writer if path.suffix.lower() == ".mp4" else _GifWriter)(tmp, fps, size_px)
        try:
            for frame in frames:
                writer.add(frame)
                if on_frame is not None:
                    on_frame()
            writer.finish()
            writer = None
        finally:
            if writer is not None:
                writer.abort()
    return path


def render_view(plan: ViewPlan, output: str | Path, on_frame: Callable[[], None] | None = None) -> Path:
    """Draw every frame of `plan` into `output` (.gif or .mp4), atomically. InputError if unwritable."""
    path = Path(output)
    check_output(path, plan.size_px)
    scene = _Scene(plan)
    return write_video(path, (scene.frame(i) for i in range(plan.num_frames)), plan.out_fps, plan.size_px,
                       on_frame)
