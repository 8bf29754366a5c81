"""Replay a trained policy, the engine of `amp-data play`: one Go2 in MuJoCo, deterministic actions.

The rollout is the setting of the training's evaluation (`learner.train.evaluate`), for one robot: it starts
from the default pose (no reference state initialisation), without domain randomisation, at a forward
command that is fixed or follows a schedule (`0.5@5,1.2@5`: 0.5 m/s for 5 s, then 1.2 m/s for 5 s, as the
paper's walk-to-trot transition), and takes the policy's mean action at every 0.02 s step. Nothing resets it: when the robot
falls (a termination of the task: trunk contact, base too low or too tilted, simulator blow-up), the
rollout stops at that step.

It can be written as a motion bank (SCHEMA.md, v2) at the policy rate (50 fps), so the tools for banks
(`amp-data inspect --rom/--phase`, `amp-data view`) compare what the policy does with its mocap:

- frame k is the simulator state at t = k * dt, k = 0 .. steps - 1 (frame 0: the reset state); a rollout
  of S seconds has S * 50 frames; one that falls during step k + 1 keeps frames 0 .. k (the fallen state
  itself is left out);
- joint_pos, root_pos (world, floor z = 0, the robot starts over the origin heading +x), root_quat (xyzw,
  sign-continuous), joint_vel and the base velocities (base frame) are the simulator's own values, not
  finite differences; foot_pos_base is `feet_fk(joint_pos)` and foot_vel_base = J(q) q_dot with the
  simulator's joint velocities (the exact derivative of foot_pos_base);
- contacts are the simulator's foot contacts (normal force on the foot above the backend's threshold,
  1 N), not `amp_data.motion.contacts` detection;
- one `clamp` clip per command of the schedule, named after the run (`RUN@0.5`, `RUN@1.2` when the command
  changes); attributes `policy_*` say which checkpoint and commands made it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from amp_data.format.atomic import BANK_SUFFIXES, check_output_file
from amp_data.errors import InputError
from learner.arrays import to_numpy

CHECKPOINT_NAME = "checkpoint.pt"
REQUIRED_KEYS = ("config", "algo", "agent", "bank_paths")


# ---------------------------------------------------------------------------------- the checkpoint

@dataclass
class PolicySource:
    """Which checkpoint to play and the name its rollout gets."""
    checkpoint: Path
    run_name: str


def resolve_checkpoint(run: str | Path, checkpoint: str | Path | None = None) -> PolicySource:
    """RUN (a run folder or a checkpoint file) and an optional --checkpoint -> the checkpoint file.

    --checkpoint is taken as given, else relative to a run folder (`checkpoints/step_...pt`).
    """
    run = Path(run)
    if not run.exists():
        raise InputError(run, "no such run folder or checkpoint file")
    run_dir = run if run.is_dir() else None
    if checkpoint is not None:
        ckpt = Path(checkpoint)
        if not ckpt.exists() and run_dir is not None and (run_dir / ckpt).exists():
            ckpt = run_dir / ckpt
        if not ckpt.exists():
            raise InputError(ckpt, "no such checkpoint file")
    elif run_dir is not None:
        ckpt = run_dir / CHECKPOINT_NAME
        if not ckpt.exists():
            steps = sorted((run_dir / "checkpoints").glob("step_*.pt"))
            hint = (f"; pick one with --checkpoint, e.g. --checkpoint {steps[-1].relative_to(run_dir)}" if steps
                    else "; is it an `amp-data train --out` folder?")
            raise InputError(run_dir, f"no {CHECKPOINT_NAME} in this run folder{hint}")
    else:
        ckpt = run
    if ckpt.is_dir():
        raise InputError(ckpt, "is a folder, not a checkpoint file")
    # the run's name: its folder (also for RUN/checkpoints/step_*.pt), else the file's stem
    folder = ckpt.resolve().parent
    if folder.name == "checkpoints" and (folder.parent / "config.json").exists():
        folder = folder.parent
    name = folder.name if (folder / "config.json").exists() else ckpt.stem
    return PolicySource(ckpt, name)


def load_policy_checkpoint(path: Path) -> dict:
    """The checkpoint dict; InputError if it is not a readable amp-data checkpoint."""
    from learner.run_folder import load_checkpoint
    state = load_checkpoint(path)
    if not isinstance(state, dict):
        raise InputError(path, "not an amp-data checkpoint (it holds no dict)")
    missing = [k for k in REQUIRED_KEYS if k not in state]
    if missing:
        raise InputError(path, f"not an amp-data checkpoint: lacks {', '.join(missing)}")
    return state


def playback_config(state: dict, path: Path):
    """The run's config, resized for one environment on the CPU: one thread each for torch and MuJoCo,
    replays (not saved in checkpoints, unused when playing) shrunk to almost nothing."""
    from learner import config as C
    try:
        cfg = C.from_dict(state["config"])
    except (ValueError, TypeError) as e:
        raise InputError(path, f"checkpoint's config is not one this amp-data reads ({e})") from None
    cfg.device = "cpu"
    cfg.torch_threads = 1
    cfg.env.backend = "mujoco"          # whichever simulator trained it: same physics, one CPU env is plenty
    cfg.env.sim_threads = 1
    cfg.env.num_envs = 1
    cfg.sac.replay_size = 1024
    cfg.amp.replay_size = 1024
    return cfg


def bank_paths_to_use(state: dict, path: Path, banks: list[str | Path] | None) -> list[str]:
    """--banks if given, else the run's; InputError naming the first missing one."""
    if banks:
        paths = [str(b) for b in banks]
        for p in paths:
            if not Path(p).is_file():
                raise InputError(p, "no such bank file (--banks)")
        return paths
    paths = [str(p) for p in state["bank_paths"]]
    gone = [p for p in paths if not Path(p).is_file()]
    if gone:
        raise InputError(gone[0], f"this run's motion bank no longer exists (the run of {path} trained on "
                                  f"{len(paths)} bank(s)); pass them with --banks A.h5 --banks B.h5")
    return paths


# ---------------------------------------------------------------------------------- the rollout

@dataclass(frozen=True)
class CommandSchedule:
    """Forward commands over a rollout: ((m/s, seconds), ...) in order."""
    segments: tuple[tuple[float, float], ...]

    @classmethod
    def parse(cls, text: str, seconds: float | None = None) -> "CommandSchedule":
        """'0.7' (for `seconds`) or '0.5@5,1.2@5' (speed m/s @ seconds, comma-separated); InputError naming
        what is wrong."""
        text = str(text).strip()
        pieces = [p.strip() for p in text.split(",")]
        if len(pieces) == 1 and "@" not in pieces[0]:
            speed = _number(pieces[0], "a speed (m/s)", text)
            return cls(((speed, DEFAULT_SECONDS if seconds is None else float(seconds)),))
        if seconds is not None:
            raise InputError(None, f"--command {text!r} is a schedule with its own durations; leave out --seconds")
        segments = []
        for piece in pieces:
            if piece.count("@") != 1:
                raise InputError(None, f"--command: {piece!r} in {text!r} is not SPEED@SECONDS (e.g. 0.5@5)")
            speed, secs = piece.split("@")
            segments.append((_number(speed, "a speed (m/s)", text), _number(secs, "a duration (s)", text)))
        return cls(tuple(segments))

    def __post_init__(self):
        for speed, secs in self.segments:
            if not abs(speed) <= MAX_COMMAND_M_S:
                raise InputError(None, f"--command must be a speed within +-{MAX_COMMAND_M_S:g} m/s, got {speed}")
            if not 0 < secs <= MAX_SECONDS:
                raise InputError(None, f"--seconds must be in (0, {MAX_SECONDS:g}] s, got {secs}")
        if self.seconds > MAX_SECONDS:
            raise InputError(None, f"the rollout lasts {self.seconds:g} s in all, more than {MAX_SECONDS:g} s")

    @property
    def seconds(self) -> float:
        return float(sum(secs for _, secs in self.segments))

    def per_step(self, dt_s: float) -> np.ndarray:
        """The command of each policy step; each segment rounded to whole steps (at least one)."""
        return np.concatenate([np.full(max(1, int(round(secs / dt_s))), speed) for speed, secs in self.segments])

    def text(self) -> str:
        if len(self.segments) == 1:
            return f"{self.segments[0][0]:g}"
        return ",".join(f"{speed:g}@{secs:g}" for speed, secs in self.segments)


def _number(text: str, what: str, whole: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise InputError(None, f"--command: {text.strip()!r} in {whole!r} is not {what}") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise InputError(None, f"--command: {text.strip()!r} in {whole!r} is not {what}")
    return value


@dataclass
class Rollout:
    """A deterministic rollout of one robot. Frames (T, ...) at the policy rate; steps (S,) per policy step.

    T = S: frame k is the state before step k + 1 (frame 0 the reset state). The per-step values are of
    the state each step reaches: forward_vel_m_s (base-frame x velocity), style_reward (r_AMP in 0..1 of
    the step's AMP pair, before the reward coefficient) and task_reward (Table III sum, dt-scaled).
    """
    dt_s: float
    command_per_step: np.ndarray   # (S requested,) m/s, the schedule's command of each step
    steps_requested: int
    fell: bool
    joint_pos: np.ndarray          # (T, 12) rad
    joint_vel: np.ndarray          # (T, 12) rad/s
    root_pos: np.ndarray           # (T, 3) m, world
    root_quat: np.ndarray          # (T, 4) xyzw
    base_lin_vel: np.ndarray       # (T, 3) m/s, base frame
    base_ang_vel: np.ndarray       # (T, 3) rad/s, base frame
    foot_contact: np.ndarray       # (T, 4) bool
    forward_vel_m_s: np.ndarray    # (S,)
    style_reward: np.ndarray       # (S,)
    task_reward: np.ndarray        # (S,)

    @property
    def steps(self) -> int:
        return len(self.task_reward)

    @property
    def segments(self) -> list[tuple[float, int, int]]:
        """(command m/s, first step, end step) of each constant-command stretch that was played."""
        played = self.command_per_step[:self.steps]
        cuts = np.flatnonzero(np.diff(played)) + 1
        bounds = np.r_[0, cuts, len(played)]
        return [(float(played[a]), int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:]) if b > a]

    @property
    def command_vx_m_s(self) -> float:
        """The command, when it is one for the whole rollout (else the first)."""
        return float(self.command_per_step[0])

    @property
    def seconds(self) -> float:
        return self.steps * self.dt_s

    @property
    def fall_time_s(self) -> float | None:
        """Time of the state in which the robot was found fallen (end of the last step), or None."""
        return self.seconds if self.fell else None


def roll_out(agent, task, seconds: float, command_vx_m_s: "float | CommandSchedule") -> Rollout:
    """Play `agent` deterministically on a one-environment `task` for `seconds` (or until it falls), from
    the default pose, without domain randomisation, at a fixed command or a `CommandSchedule` (then
    `seconds` is the schedule's). Leaves the task's settings as they were. One Python iteration per
    policy step: there is one robot."""
    from learner.train import style_reward
    if task.num_envs != 1:
        raise ValueError(f"roll_out plays one environment, the task has {task.num_envs}")
    schedule = command_vx_m_s if isinstance(command_vx_m_s, CommandSchedule) else \
        CommandSchedule(((float(command_vx_m_s), float(seconds)),))
    commands = schedule.per_step(task.dt_s)
    steps = len(commands)
    frames = {k: [] for k in ("joint_pos", "joint_vel", "root_pos", "root_quat", "base_lin_vel",
                              "base_ang_vel", "foot_contact")}
    vel, style, task_r = [], [], []
    fell = False
    with task.evaluation_episodes(commands[0], steps):   # no time-out (and so no reset) inside
        obs = task.reset()
        for k in range(steps):
            if k and commands[k] != commands[k - 1]:
                obs = task.set_command(commands[k])
            st = task.backend.state()             # the state this step starts from
            for name, v in (("joint_pos", st.joint_pos), ("joint_vel", st.joint_vel), ("root_pos", st.base_pos_w),
                            ("root_quat", st.base_quat_xyzw), ("base_lin_vel", st.base_lin_vel_b),
                            ("base_ang_vel", st.base_ang_vel_b), ("foot_contact", st.foot_contact)):
                frames[name].append(to_numpy(v[:1])[0])
            res = task.step(agent.act(obs, deterministic=True))
            style.append(float(style_reward(agent, res)[0]))
            vel.append(float(res.forward_vel_m_s[0]))
            task_r.append(float(res.task_reward[0]))
            if res.terminated[0]:
                fell = True                      # the task has reset the robot already: stop here
                break
            obs = res.obs
    from amp_data.motion.rotations import continuous_quat
    arrays = {k: np.stack(v) for k, v in frames.items()}
    arrays["root_quat"] = continuous_quat(arrays["root_quat"])
    return Rollout(dt_s=task.dt_s, command_per_step=commands, steps_requested=steps, fell=fell,
                   forward_vel_m_s=np.array(vel), style_reward=np.array(style), task_reward=np.array(task_r),
                   **arrays)


def rollout_bank(r: Rollout, name: str, attrs: dict | None = None):
    """The rollout as a motion bank (in memory): one clamp clip `name` per command (`name@0.5` when the
    command changes); extra `attrs` are stored too."""
    from amp_data.format.bank import Bank, ClipRange, go2_bank_attrs
    from robots.go2.kinematics import feet_fk

    foot_pos, foot_jac = feet_fk(r.joint_pos, with_jacobian=True)
    foot_vel = np.einsum("tlij,tlj->tli", foot_jac, r.joint_vel.reshape(-1, 4, 3))
    data = {"joint_pos": r.joint_pos, "joint_vel": r.joint_vel, "root_pos": r.root_pos, "root_quat": r.root_quat,
            "base_lin_vel": r.base_lin_vel, "base_ang_vel": r.base_ang_vel, "foot_pos_base": foot_pos,
            "foot_vel_base": foot_vel, "contacts": r.foot_contact.astype(bool)}
    base = go2_bank_attrs(1.0 / r.dt_s, **{
            "loop_mode": "clamp", "source_file": "", "contacts_source": "simulator foot normal force > 1 N",
            "policy_command_vx_m_s": r.command_vx_m_s, "policy_fell": bool(r.fell),
            "policy_command_schedule": ",".join(f"{v:g}@{(b - a) * r.dt_s:g}" for v, a, b in r.segments)})
    segments = r.segments
    clips = [ClipRange(name=name if len(segments) == 1 else f"{name}@{v:g}", start=a, stop=b, loop_mode="clamp")
             for v, a, b in segments]
    return Bank(None, data, {**base, **(attrs or {})}, clips=clips)


# ---------------------------------------------------------------------------------- the command

@dataclass
class PlayResult:
    source: PolicySource
    algo: str
    env_steps: int
    rollout: Rollout
    trained_command_range_m_s: tuple[float, float]
    output: Path | None = None
    video: Path | None = None
    video_frames: int = 0
    video_renderer: str = ""
    note: str | None = None

    def summary_lines(self) -> list[str]:
        r = self.rollout
        segments = r.segments
        commands = ", ".join(f"{v:.2f}" for v, _, _ in segments)
        lines = [f"played {self.source.run_name} ({self.source.checkpoint}; AMP+{self.algo.upper()}, "
                 f"{self.env_steps:,} env steps) at command {commands} m/s"]
        if r.fell:
            lines.append(f"fell at t = {r.fall_time_s:.2f} s (step {r.steps} of {r.steps_requested}): "
                         f"the rollout stops there")
        else:
            lines.append(f"{r.seconds:.2f} s without a fall")
        for v, a, b in segments:
            speed = r.forward_vel_m_s[a:b].mean()
            ratio = speed / v if v else float("nan")
            when = f"{a * r.dt_s:.1f}-{b * r.dt_s:.1f} s: " if len(segments) > 1 else ""
            lines.append(f"{when}forward speed {speed:.2f} m/s of {v:.2f} ({100 * ratio:.0f} %), style reward "
                         f"{r.style_reward[a:b].mean():.3f} (0..1), task reward {r.task_reward[a:b].mean():.3f}/step")
        lo, hi = self.trained_command_range_m_s
        outside = [v for v, _, _ in segments if not lo <= v <= hi]
        if outside:
            lines.append(f"note: the policy was trained on commands {lo:g}..{hi:g} m/s")
        if self.output is not None:
            names = ", ".join(repr(self.source.run_name if len(segments) == 1 else f"{self.source.run_name}@{v:g}")
                              for v, _, _ in segments)
            lines.append(f"wrote {self.output}: {len(r.joint_pos)} frames at {1 / r.dt_s:g} fps, "
                         f"clip{'s' if len(segments) > 1 else ''} {names}")
        if self.video is not None:
            lines.append(f"wrote {self.video}: {self.video_frames} frames ({self.video_renderer})")
        return lines


DEFAULT_SECONDS = 10.0
MAX_SECONDS = 3600.0      # an hour of rollout at 50 Hz holds 180k frames (a 100 MB bank)
MAX_COMMAND_M_S = 10.0


@dataclass
class LoadedPolicy:
    source: PolicySource
    state: dict
    cfg: object
    bank_paths: list[str]
    task: object        # a one-environment task on its own backend: close task.backend when done
    agent: object


def load_policy(run: str | Path, checkpoint: str | Path | None = None, banks=None, seed: int | None = None) -> LoadedPolicy:
    """A run's policy ready to play: its checkpoint, config and banks, and a one-environment task."""
    from learner.train import build

    source = resolve_checkpoint(run, checkpoint)
    state = load_policy_checkpoint(source.checkpoint)
    cfg = playback_config(state, source.checkpoint)
    bank_paths = bank_paths_to_use(state, source.checkpoint, banks)
    backend, task, _, agent, _ = build(cfg, bank_paths, cfg.seed if seed is None else seed, num_envs=1)
    if task.terrain is not None:
        task.set_terrain_level(task.terrain.levels - 1)     # a terrain run plays on its hardest waves
    try:
        agent.load_state_dict(state["agent"])
    except (RuntimeError, KeyError, ValueError) as e:
        backend.close()
        raise InputError(source.checkpoint, f"checkpoint's networks do not match its config "
                                            f"({type(e).__name__}: {str(e).splitlines()[0]})") from None
    return LoadedPolicy(source, state, cfg, bank_paths, task, agent)


def check_bank_output(path: Path) -> None:
    """InputError unless a bank can be written at `path` (an existing, writable folder; not a folder)."""
    if path.is_dir():
        raise InputError(path, "is a folder; give a bank file name, e.g. -o rollout.h5")
    folder = check_output_file(path, BANK_SUFFIXES).parent
    if not os.access(folder, os.W_OK | os.X_OK):
        raise InputError(path, f"cannot write: folder {folder} is not writable")


def play(run: str | Path, checkpoint: str | Path | None = None, seconds: float | None = None,
         command_vx_m_s: "float | str | CommandSchedule | None" = None, seed: int | None = None,
         banks: list | None = None, output: str | Path | None = None, video: str | Path | None = None,
         video_fps: float = 25.0, on_video_frame: Callable[[int, int], None] | None = None,
         renderer: str = "auto", ghost: str | Path | None = None) -> PlayResult:
    """Load a run's policy, roll it out (`roll_out`), optionally write the rollout as a bank and a video.

    `command_vx_m_s`: a speed, a schedule text ('0.5@5,1.2@5', see `CommandSchedule.parse`) or a
    CommandSchedule; default the run's eval command for `seconds` (default 10 s).
    `seed` seeds torch and the task's generator (default: the run's); the deterministic rollout from the
    default pose draws nothing, so it does not change the result. Outputs are checked before the rollout
    and written atomically: bad input leaves no file behind. `on_video_frame(done, total)` is called
    after each video frame drawn (a progress bar). `renderer` and `ghost` (a reference bank drawn beside
    the robot) as in `amp_data.reports.mujoco_view.render_video`.
    """
    from learner.torch_dep import require_torch
    require_torch()
    if seconds is not None and not (isinstance(seconds, (int, float)) and 0 < seconds <= MAX_SECONDS):
        raise InputError(None, f"--seconds must be in (0, {MAX_SECONDS:g}] s, got {seconds}")
    schedule = None
    if isinstance(command_vx_m_s, CommandSchedule):
        schedule = command_vx_m_s
    elif command_vx_m_s is not None:
        schedule = CommandSchedule.parse(str(command_vx_m_s), seconds)
    output = Path(output) if output is not None else None
    video = Path(video) if video is not None else None
    ghost_bank, result_note = None, None
    if output is not None:
        check_bank_output(output)
    if video is not None:
        import shutil

        import matplotlib as mpl

        from amp_data.reports import view as v
        if video.suffix.lower() == ".mp4" and shutil.which(mpl.rcParams["animation.ffmpeg_path"]) is None:
            raise InputError(video, "writing .mp4 needs ffmpeg on PATH, which is not installed; "
                                    "write a .gif instead (--video policy.gif)")
        v.check_output(video)
        if output is not None and video.resolve() == output.resolve():
            raise InputError(video, "-o and --video name the same file")
        from amp_data.format.bank import read_bank
        from amp_data.reports.mujoco_view import pick_renderer
        ghost_bank = read_bank(ghost) if ghost is not None else None
        renderer, result_note = pick_renderer(renderer, ghost is not None)   # before mujoco is imported
    elif ghost is not None:
        raise InputError(None, "--ghost goes with --video")

    policy = load_policy(run, checkpoint, banks, seed)
    source, state, cfg, task = policy.source, policy.state, policy.cfg, policy.task
    if schedule is None:
        schedule = CommandSchedule(((cfg.eval_command_vx_m_s, DEFAULT_SECONDS if seconds is None else seconds),))
    try:
        short = [secs for _, secs in schedule.segments if secs < task.dt_s / 2]
        if short:
            raise InputError(None, f"--seconds {short[0]:g} is shorter than one policy step ({task.dt_s:g} s)")
        r = roll_out(policy.agent, task, schedule.seconds, schedule)
    finally:
        task.backend.close()
    result = PlayResult(source=source, algo=str(state["algo"]), env_steps=int(state.get("env_steps", 0)),
                        rollout=r, trained_command_range_m_s=tuple(cfg.env.command_vx_range_m_s))
    if output is not None or video is not None:
        bank = rollout_bank(r, source.run_name, {
            "policy_checkpoint": str(source.checkpoint.resolve()), "policy_algo": result.algo,
            "policy_env_steps": result.env_steps})
        if video is not None:      # first: drawing is what can still fail (ffmpeg), the bank write cannot
            from amp_data.reports import view as v
            plan = v.plan_view(bank, v.ViewOptions(fps=min(video_fps, bank.fps), robot_label="Go2 policy rollout",
                                                   no_source_note=f"policy rollout of {source.run_name} at {schedule.text()} m/s"))
            done = iter(range(1, plan.num_frames + 1))
            from amp_data.reports.mujoco_view import render_video
            _, used, note = render_video(plan, bank, video, renderer, ghost_bank,
                                         on_frame=None if on_video_frame is None else
                                         lambda: on_video_frame(next(done), plan.num_frames))
            result.video, result.video_frames = video, plan.num_frames
            result.video_renderer, result.note = used, note or result_note
        if output is not None:
            from amp_data.format.bank import write_bank
            write_bank(output, bank)
            result.output = output
    return result
