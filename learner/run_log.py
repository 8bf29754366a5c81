"""What a training run writes as it goes: metrics.csv, eval.csv, TensorBoard scalars and the progress line.

`TrainingLog` gathers per-step figures (rewards, speeds, finished episodes) between log rows and writes one
row of `METRIC_COLUMNS` per interval; `eval_row` writes one row of `EVAL_COLUMNS` per evaluation.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np

from learner.arrays import to_numpy

METRIC_COLUMNS = ("time_s", "env_steps", "iterations", "env_steps_per_s", "updates_per_s", "task_reward",
                  "style_reward", "reward", "episode_length_s", "episode_task_return", "fall_rate",
                  "forward_vel_m_s", "command_vx_m_s",
                  # SAC
                  "critic_loss", "actor_loss", "alpha", "entropy", "q",
                  # PPO
                  "surrogate", "value_loss", "kl", "lr", "action_std",
                  # discriminator
                  "disc_loss", "grad_pen", "disc_expert", "disc_policy",
                  # wave terrain: the curriculum's mean amplitude
                  "terrain_amplitude_m",
                  # env.command_curriculum_step_m_s: the command curriculum's cap
                  "command_cap_m_s")
EVAL_COLUMNS = ("time_s", "env_steps", "episodes", "command_vx_m_s", "forward_vel_m_s", "speed_ratio",
                "no_fall_rate", "style_reward", "task_reward", "episode_length_s")


class CsvLog:
    def __init__(self, path: Path, columns):
        self.path, self.columns = path, columns
        new = not path.exists() or path.stat().st_size == 0
        if not new:   # a resumed run keeps its file's columns (one written by an older version may lack some)
            with open(path, newline="") as f:
                columns = next(csv.reader(f), None) or columns
        self.f = open(path, "a", newline="")
        self.w = csv.DictWriter(self.f, fieldnames=columns, extrasaction="ignore")
        if new:
            self.w.writeheader()

    def row(self, values: dict) -> None:
        self.w.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in values.items()})
        self.f.flush()

    def close(self):
        self.f.close()


class TensorBoard:
    def __init__(self, path: Path, say):
        self.writer = None
        try:
            from torch.utils.tensorboard import SummaryWriter
            self.writer = SummaryWriter(str(path))
        except (ImportError, ModuleNotFoundError):
            say("tensorboard is not installed: metrics go to CSV only (pip install tensorboard)")

    def scalars(self, prefix: str, values: dict, step: int) -> None:
        if self.writer is None:
            return
        for k, v in values.items():
            if isinstance(v, (int, float)) and k not in ("env_steps",) and math.isfinite(v):
                self.writer.add_scalar(f"{prefix}/{k}", v, step)

    def close(self):
        if self.writer is not None:
            self.writer.close()


def fmt_time(s: float) -> str:
    s = int(s)
    return f"{s // 3600:d}:{s // 60 % 60:02d}:{s % 60:02d}"


def _num(x, fmt: str) -> str:
    """x formatted, or '-' in the same width when no episode has ended yet (nan)."""
    x = np.nan if x is None else float(x)
    return format(x, fmt) if np.isfinite(x) else "-".rjust(len(format(0.0, fmt)))


class TrainingLog:
    """The run's logs (metrics.csv, eval.csv, tb/) and the figures gathered between two metric rows."""

    def __init__(self, out_dir: Path, num_envs: int, algo: str, say):
        self.metrics = CsvLog(out_dir / "metrics.csv", METRIC_COLUMNS)
        self.evals = CsvLog(out_dir / "eval.csv", EVAL_COLUMNS)
        self.tb = TensorBoard(out_dir / "tb", say)
        self.algo, self.say = algo, say
        self.ep_return, self.ep_len = np.zeros(num_envs), np.zeros(num_envs, dtype=np.int64)
        self._reset_window()
        self.last_update: dict = {}

    def _reset_window(self) -> None:
        self.window = {"task_reward": [], "style_reward": [], "reward": [], "forward_vel_m_s": [],
                       "command_vx_m_s": []}
        self.finished_len, self.finished_ret, self.finished_fall = [], [], []

    def record_step(self, res, agent_stats: dict, command_vx: np.ndarray, dt_s: float,
                    terrain_amplitude_m: np.ndarray | None = None, command_cap_m_s: float | None = None) -> None:
        """One step of all envs: the step's means, and the episodes it ended. Arrays of either kind (a task
        on a device backend: its (N,) rewards, flags and speeds come to the host here, not its state)."""
        task_reward, terminated, timed_out, forward = (to_numpy(x) for x in (
            res.task_reward, res.terminated, res.timed_out, res.forward_vel_m_s))
        self.ep_return += task_reward
        self.ep_len += 1
        done = terminated | timed_out
        if done.any():
            self.finished_len += list(self.ep_len[done] * dt_s)
            self.finished_ret += list(self.ep_return[done])
            self.finished_fall += list(terminated[done])
            self.ep_return[done], self.ep_len[done] = 0.0, 0
        for k in ("style_reward", "reward"):
            self.window[k].append(agent_stats[k])
        self.window["task_reward"].append(float(task_reward.mean()))
        self.window["forward_vel_m_s"].append(float(forward.mean()))
        self.window["command_vx_m_s"].append(float(to_numpy(command_vx).mean()))
        if terrain_amplitude_m is not None:
            self.window.setdefault("terrain_amplitude_m", []).append(float(terrain_amplitude_m.mean()))
        if command_cap_m_s is not None:
            self.window.setdefault("command_cap_m_s", []).append(float(command_cap_m_s))

    def metrics_row(self, time_s: float, env_steps: int, iterations: int, env_steps_per_s: float,
                    updates_per_s: float, left: str = "") -> None:
        """Write the row of the figures gathered since the last one, print the progress line, start afresh."""
        row = {"time_s": time_s, "env_steps": env_steps, "iterations": iterations,
               "env_steps_per_s": env_steps_per_s, "updates_per_s": updates_per_s,
               **{k: float(np.mean(v)) for k, v in self.window.items() if v}, **self.last_update}
        if self.finished_len:
            row.update(episode_length_s=float(np.mean(self.finished_len)),
                       episode_task_return=float(np.mean(self.finished_ret)),
                       fall_rate=float(np.mean(self.finished_fall)))
        self.metrics.row(row)
        self.tb.scalars("train", row, env_steps)
        u = self.last_update
        self.say(f"{fmt_time(time_s)} {env_steps:>11,} steps {env_steps_per_s:>7,.0f}/s "
                 f"| style {row.get('style_reward', float('nan')):.3f} task {row.get('task_reward', float('nan')):.3f} "
                 f"| ep {_num(row.get('episode_length_s'), '4.1f')} s fall {_num(100 * row.get('fall_rate', np.nan), '3.0f')} % "
                 f"| v {row.get('forward_vel_m_s', float('nan')):.2f}/{row.get('command_vx_m_s', float('nan')):.2f} m/s | "
                 + (f"alpha {u.get('alpha', float('nan')):.3g}" if self.algo == "sac"
                    else f"kl {u.get('kl', float('nan')):.4f} lr {u.get('lr', float('nan')):.2g}")
                 + (f" | waves {100 * row['terrain_amplitude_m']:.1f} cm" if "terrain_amplitude_m" in row else "")
                 + (f" | cap {row['command_cap_m_s']:.2f} m/s" if "command_cap_m_s" in row else "")
                 + (f" | {left}" if left else ""))
        self._reset_window()

    def eval_row(self, time_s: float, env_steps: int, r) -> None:
        """One evaluation (`train.EvalResult`): eval.csv, TensorBoard and a line."""
        row = {"time_s": time_s, "env_steps": env_steps, "episodes": r.episodes, "command_vx_m_s": r.command_vx_m_s,
               "forward_vel_m_s": r.forward_vel_m_s, "speed_ratio": r.speed_ratio, "no_fall_rate": r.no_fall_rate,
               "style_reward": r.style_reward, "task_reward": r.task_reward, "episode_length_s": r.episode_length_s}
        self.evals.row(row)
        self.tb.scalars("eval", row, env_steps)
        self.say(f"eval @ {env_steps:,} steps: forward {r.forward_vel_m_s:.2f} m/s of {r.command_vx_m_s:.2f} "
                 f"({100 * r.speed_ratio:.0f} %), no fall {100 * r.no_fall_rate:.0f} %, style reward "
                 f"{r.style_reward:.3f}, task reward {r.task_reward:.3f}/step")

    def close(self) -> None:
        self.metrics.close(), self.evals.close(), self.tb.close()
