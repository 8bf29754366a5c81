"""The training loop behind `amp-data train`: banks -> expert sampler, backend + task, agent, and the run folder.

Run folder (`--out`):
- `config.json`  the resolved config (preset + overrides), written at start;
- `metrics.csv`  one row per log interval (columns `METRIC_COLUMNS`); `eval.csv` one row per checkpoint;
- `tb/`          the same scalars for TensorBoard (when the `tensorboard` package is installed);
- `checkpoint.pt` the latest good checkpoint (atomic: written to a temp file, then renamed), and
  `checkpoints/step_<env steps>.pt`, the last `KEEP_CHECKPOINTS` of them.

A checkpoint holds the agent (networks, optimisers, normalisers, temperature), the counters, the RNG states
(numpy task generator, expert sampler, torch) and the bank paths. `--resume` restores all of it; the
replays are refilled (they are not saved). A non-finite loss stops the run without overwriting the last
good checkpoint.
"""

from __future__ import annotations

import csv
import json
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from amp_data.errors import InputError
from learner import config as C
from learner.run_folder import NonFiniteState, RunFolder
from learner.torch_dep import require_torch

METRIC_COLUMNS = ("time_s", "env_steps", "iterations", "env_steps_per_s", "updates_per_s", "task_reward",
                  "style_reward", "reward", "episode_length_s", "episode_task_return", "fall_rate",
                  "forward_vel_m_s", "command_vx_m_s",
                  # SAC
                  "critic_loss", "actor_loss", "alpha", "entropy", "q",
                  # PPO
                  "surrogate", "value_loss", "kl", "lr", "action_std",
                  # discriminator
                  "disc_loss", "grad_pen", "disc_expert", "disc_policy")
EVAL_COLUMNS = ("time_s", "env_steps", "episodes", "command_vx_m_s", "forward_vel_m_s", "speed_ratio",
                "no_fall_rate", "style_reward", "task_reward", "episode_length_s")


class TrainingStopped(RuntimeError):
    """A non-finite loss or action: the message says where the last good checkpoint is."""


def make_backend(cfg):
    from learner.backend import make_backend as by_name
    options = {}
    if cfg.env.backend == "mujoco":
        options = {"threads": cfg.env.sim_threads or None, "cone": cfg.env.friction_cone}
    return by_name(cfg.env.backend, cfg.env.num_envs, **options)


def make_expert(bank_paths, cfg, seed: int):
    from amp_data.expert.sampler import ExpertSampler
    dt = cfg.env.sim_dt_s * cfg.env.decimation
    return ExpertSampler(bank_paths, policy_dt_s=dt, seed=seed, window_frames=cfg.amp.window_frames,
                         frame_stride=cfg.amp.frame_stride)


def make_agent(cfg, task, expert):
    from learner.task import ACT_DIM, OBS_DIM
    if cfg.algo == "sac":
        from learner.sac import AmpSac
        return AmpSac(cfg, OBS_DIM, ACT_DIM, task.action_low, task.action_high, expert, cfg.device)
    from learner.ppo import AmpPpo
    return AmpPpo(cfg, OBS_DIM, ACT_DIM, task.action_low, task.action_high, expert, cfg.device)


def build(cfg, bank_paths, seed: int, num_envs: int | None = None):
    """(backend, task, expert, agent, rng) for a config; `num_envs` overrides the config's (evaluation)."""
    from learner.task import Go2AmpTask
    torch = require_torch()
    if cfg.device == "auto":
        cfg.device = "cuda" if torch.cuda.is_available() else "cpu"
    torch.manual_seed(seed)
    if cfg.torch_threads:
        torch.set_num_threads(cfg.torch_threads)
    expert = make_expert(bank_paths, cfg, seed)
    if num_envs is not None:
        cfg.env.num_envs = num_envs
    backend = make_backend(cfg)
    rng = np.random.default_rng(seed)
    task = Go2AmpTask(cfg, backend, expert, rng)
    agent = make_agent(cfg, task, expert)
    return backend, task, expert, agent, rng


# ---------------------------------------------------------------------------------- evaluation

@dataclass
class EvalResult:
    episodes: int
    command_vx_m_s: float
    forward_vel_m_s: float      # mean base-frame forward speed over the episodes' alive steps
    no_fall_rate: float
    style_reward: float         # mean r_AMP (0..1) of the policy's transitions
    task_reward: float          # mean task reward per step
    episode_length_s: float

    @property
    def speed_ratio(self) -> float:
        return self.forward_vel_m_s / self.command_vx_m_s if self.command_vx_m_s else float("nan")


def style_reward(agent, res) -> np.ndarray:
    """r_AMP (N,) in 0..1 of a step's AMP windows under the agent's discriminator."""
    torch = require_torch()
    window = torch.as_tensor(res.amp_window, dtype=torch.float32, device=agent.device)
    return agent.disc.style_reward(window).cpu().numpy()


def _num(x, fmt: str) -> str:
    """x formatted, or '-' in the same width when no episode has ended yet (nan)."""
    x = np.nan if x is None else float(x)
    return format(x, fmt) if np.isfinite(x) else "-".rjust(len(format(0.0, fmt)))


def evaluate(agent, task, seconds: float, command_vx_m_s: float, randomize: bool = False,
             reference_starts: bool = False, deterministic: bool = True) -> EvalResult:
    """One episode per env of `task` (its N envs), `seconds` long, at a fixed command, with the policy's mean
    action (or sampled actions if not `deterministic`), starting standing still in the default pose (or,
    with `reference_starts`, from random bank frames), without domain randomisation unless `randomize`
    (then Table IV's draws per episode). Leaves the task's settings as they were."""
    steps = int(round(seconds / task.dt_s))
    n = task.num_envs
    alive = np.ones(n, dtype=bool)
    fell = np.zeros(n, dtype=bool)
    vel_sum, alive_steps = np.zeros(n), np.zeros(n)
    style, task_r = [], []
    with task.evaluation_episodes(command_vx_m_s, steps, reference_starts, randomize):
        obs = task.reset()
        for _ in range(steps):
            res = task.step(agent.act(obs, deterministic=deterministic))
            vel_sum += np.where(alive, res.forward_vel_m_s, 0.0)
            alive_steps += alive
            r_style = style_reward(agent, res)
            style.append(r_style[alive].mean() if alive.any() else np.nan)
            task_r.append(res.task_reward[alive].mean() if alive.any() else np.nan)
            fell |= alive & res.terminated
            alive &= ~res.terminated
            obs = res.obs
    return EvalResult(episodes=n, command_vx_m_s=command_vx_m_s,
                      forward_vel_m_s=float(np.mean(vel_sum / np.maximum(alive_steps, 1))),
                      no_fall_rate=float(1.0 - fell.mean()), style_reward=float(np.nanmean(style)),
                      task_reward=float(np.nanmean(task_r)),
                      episode_length_s=float(alive_steps.mean() * task.dt_s))


# ---------------------------------------------------------------------------------- run folder

def set_learning_rates(agent, cfg, changed_keys) -> None:
    """After loading a checkpoint (whose optimisers carry their old learning rates), put in the ones `--set`
    changed on --resume."""
    if cfg.algo == "sac":
        for key, opt, lr in (("sac.actor_lr", agent.actor_opt, cfg.sac.actor_lr),
                             ("sac.critic_lr", agent.critic_opt, cfg.sac.critic_lr),
                             ("sac.alpha_lr", agent.alpha_opt, cfg.sac.alpha_lr)):
            if key in changed_keys:
                for group in opt.param_groups:
                    group["lr"] = lr
    elif "ppo.lr" in changed_keys:
        agent.lr = cfg.ppo.lr
        for group in agent.opt.param_groups:
            group["lr"] = cfg.ppo.lr


class CsvLog:
    def __init__(self, path: Path, columns):
        self.path, self.columns = path, columns
        new = not path.exists()
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


def _rng_state(task, expert) -> dict:
    torch = require_torch()
    return {"task": task.rng.bit_generator.state, "expert": expert.rng.bit_generator.state,
            "torch": torch.get_rng_state()}


def _set_rng_state(task, expert, d: dict) -> None:
    torch = require_torch()
    task.rng.bit_generator.state = d["task"]
    expert.rng.bit_generator.state = d["expert"]
    torch.set_rng_state(d["torch"])


def load_checkpoint(path: Path) -> dict:
    torch = require_torch()
    try:
        return torch.load(path, map_location="cpu", weights_only=False)
    except Exception as e:  # a truncated or foreign file
        raise InputError(path, f"not a readable amp-data checkpoint ({type(e).__name__}: {e})") from None


# ---------------------------------------------------------------------------------- training

def train(bank_paths, cfg, out_dir, resume: bool = False, say=print, eval_envs: int = 16,
          eval_seconds: float = 10.0, resume_overrides: list[str] | None = None) -> dict:
    """Train `cfg.algo` on `bank_paths` into `out_dir`; returns the final evaluation and counters.

    With `resume`, the run's newest complete checkpoint and its config are restored; the stopping rule and
    logging of `cfg` apply, and `resume_overrides` (`--set` strings) may change the fields of
    `config.RESUMABLE_FIELDS` (learning rates, loss and reward weights, stopping, logging)."""
    require_torch()
    out_dir = Path(out_dir)
    folder = RunFolder(out_dir)
    folder.check_writable(resume)
    state = None
    if resume:
        try:
            C.check_resumable(resume_overrides or [])
        except ValueError as e:
            raise InputError(None, str(e)) from None
        removed = folder.remove_temp_files()
        ckpt_path, state = folder.newest_checkpoint()
        saved_cfg = C.from_dict(state["config"])
        # a resumed run keeps its config; the stopping rule, logging and --set's resumable fields may change
        for k in ("max_env_steps", "minutes", "checkpoint_every_min", "log_every_s"):
            setattr(saved_cfg, k, getattr(cfg, k))
        try:
            C.validate(C.apply_overrides(saved_cfg, resume_overrides or []))
        except ValueError as e:
            raise InputError(None, str(e)) from None
        cfg = saved_cfg
        bank_paths = bank_paths or state["bank_paths"]
        dropped = folder.truncate_logs(int(state["env_steps"]))
        say(f"resuming from {ckpt_path} ({int(state['env_steps']):,} env steps)"
            + (f"; dropped {dropped} log row(s) written after it" if dropped else "")
            + (f"; removed {len(removed)} temporary file(s) of a killed run" if removed else ""))
    if not (cfg.max_env_steps or cfg.minutes):
        raise InputError(None, "give a stopping rule: --steps N or --minutes M")
    bank_paths = [str(Path(p).resolve()) for p in bank_paths]

    backend, task, expert, agent, rng = build(cfg, bank_paths, cfg.seed)
    env_steps, iteration, updates, elapsed_before = 0, 0, 0, 0.0
    if state is not None:
        agent.load_state_dict(state["agent"])
        set_learning_rates(agent, cfg, C.override_keys(resume_overrides or []))
        _set_rng_state(task, expert, state["rng"])
        env_steps, iteration, updates = state["env_steps"], state["iteration"], state["updates"]
        elapsed_before = state["time_s"]
    try:
        folder.claim()
    except InputError:
        backend.close()
        raise
    ckpt_path = folder.checkpoint_path
    if state is None:
        tmp = out_dir / ".config.json.tmp"
        tmp.write_text(C.to_json(cfg))
        os.replace(tmp, out_dir / "config.json")
        (out_dir / "banks.txt").write_text("\n".join(bank_paths) + "\n")
    say(f"{'resuming' if state else 'training'} AMP+{cfg.algo.upper()} ({cfg.preset} preset) on "
        f"{len(bank_paths)} bank(s): {expert.summary()}")
    say(f"{cfg.env.num_envs} envs on {cfg.env.backend}, policy dt {task.dt_s:g} s, run folder {out_dir}")

    metrics_log = CsvLog(out_dir / "metrics.csv", METRIC_COLUMNS)
    eval_log = CsvLog(out_dir / "eval.csv", EVAL_COLUMNS)
    tb = TensorBoard(out_dir / "tb", say)
    eval_backend_task = None

    def checkpoint(now_s: float) -> None:
        payload = {"config": C.to_dict(cfg), "algo": cfg.algo, "agent": agent.state_dict(),
                   "env_steps": env_steps, "iteration": iteration, "updates": updates, "time_s": now_s,
                   "rng": _rng_state(task, expert), "bank_paths": bank_paths}
        try:
            folder.save_checkpoint(payload)
        except NonFiniteState as e:
            raise TrainingStopped(f"at {env_steps:,} env steps {e}: lower the learning rates (--set) and "
                                  "--resume from it, or start again") from None

    closed = False

    def close_all() -> None:
        nonlocal closed
        if closed:
            return
        closed = True
        metrics_log.close(), eval_log.close(), tb.close(), backend.close()
        if eval_backend_task is not None:
            eval_backend_task.backend.close()
        folder.release()

    def run_eval(now_s: float) -> EvalResult:
        nonlocal eval_backend_task
        if eval_backend_task is None:
            from learner.task import Go2AmpTask
            ecfg = C.from_dict(C.to_dict(cfg))
            ecfg.env.num_envs = eval_envs
            eb = make_backend(ecfg)
            eval_backend_task = Go2AmpTask(ecfg, eb, expert, np.random.default_rng(cfg.seed + 1))
        r = evaluate(agent, eval_backend_task, eval_seconds, cfg.eval_command_vx_m_s)
        row = {"time_s": now_s, "env_steps": env_steps, "episodes": r.episodes, "command_vx_m_s": r.command_vx_m_s,
               "forward_vel_m_s": r.forward_vel_m_s, "speed_ratio": r.speed_ratio, "no_fall_rate": r.no_fall_rate,
               "style_reward": r.style_reward, "task_reward": r.task_reward, "episode_length_s": r.episode_length_s}
        eval_log.row(row)
        tb.scalars("eval", row, env_steps)
        say(f"eval @ {env_steps:,} steps: forward {r.forward_vel_m_s:.2f} m/s of {r.command_vx_m_s:.2f} "
            f"({100 * r.speed_ratio:.0f} %), no fall {100 * r.no_fall_rate:.0f} %, style reward "
            f"{r.style_reward:.3f}, task reward {r.task_reward:.3f}/step")
        return r

    n = cfg.env.num_envs
    ep_return, ep_len = np.zeros(n), np.zeros(n, dtype=np.int64)
    window = {"task_reward": [], "style_reward": [], "reward": [], "forward_vel_m_s": [], "command_vx_m_s": []}
    finished_len, finished_ret, finished_fall = [], [], []
    last_metrics: dict = {}
    t_start = time.time()
    t_log, t_ckpt = t_start, t_start
    steps_at_log, updates_at_log = env_steps, updates
    sim_time = update_time = 0.0
    deadline = t_start + cfg.minutes * 60 - elapsed_before if cfg.minutes else math.inf
    status = "completed"
    def log_row(now: float) -> None:
        nonlocal t_log, steps_at_log, updates_at_log, finished_len, finished_ret, finished_fall
        dt = now - t_log
        row = {"time_s": elapsed_before + now - t_start, "env_steps": env_steps, "iterations": iteration,
               "env_steps_per_s": (env_steps - steps_at_log) / dt,
               "updates_per_s": (updates - updates_at_log) / dt,
               **{k: float(np.mean(v)) for k, v in window.items() if v},
               **last_metrics}
        if finished_len:
            row.update(episode_length_s=float(np.mean(finished_len)),
                       episode_task_return=float(np.mean(finished_ret)),
                       fall_rate=float(np.mean(finished_fall)))
        metrics_log.row(row)
        tb.scalars("train", row, env_steps)
        line = (f"{_fmt_time(row['time_s'])} {env_steps:>11,} steps {row['env_steps_per_s']:>7,.0f}/s "
                f"| style {row.get('style_reward', float('nan')):.3f} task {row.get('task_reward', float('nan')):.3f} "
                f"| ep {_num(row.get('episode_length_s'), '4.1f')} s fall {_num(100 * row.get('fall_rate', np.nan), '3.0f')} % "
                f"| v {row.get('forward_vel_m_s', float('nan')):.2f}/{row.get('command_vx_m_s', float('nan')):.2f} m/s | "
                + (f"alpha {last_metrics.get('alpha', float('nan')):.3g}" if cfg.algo == "sac"
                   else f"kl {last_metrics.get('kl', float('nan')):.4f} lr {last_metrics.get('lr', float('nan')):.2g}"))
        say(line)
        for v in window.values():
            v.clear()
        finished_len, finished_ret, finished_fall = [], [], []
        t_log, steps_at_log, updates_at_log = now, env_steps, updates

    first = None
    try:
        first = run_eval(elapsed_before) if state is None else None
        obs = task.reset()
        while True:
            if (cfg.max_env_steps and env_steps >= cfg.max_env_steps) or time.time() >= deadline:
                break
            t0 = time.time()
            actions = agent.act(obs)
            res = task.step(actions)
            t1 = time.time()
            st = agent.observe(obs, actions, res)
            obs = res.obs
            env_steps += n
            iteration += 1
            ep_return += res.task_reward
            ep_len += 1
            done = res.terminated | res.timed_out
            if done.any():
                finished_len += list(ep_len[done] * task.dt_s)
                finished_ret += list(ep_return[done])
                finished_fall += list(res.terminated[done])
                ep_return[done], ep_len[done] = 0.0, 0
            for k in ("style_reward", "reward"):
                window[k].append(st[k])
            window["task_reward"].append(float(res.task_reward.mean()))
            window["forward_vel_m_s"].append(float(res.forward_vel_m_s.mean()))
            window["command_vx_m_s"].append(float(task.command_vx.mean()))
            t2 = time.time()
            if agent.ready():
                last_metrics = agent.update()
                updates += agent.grad_steps_per_update
                bad = [k for k, v in last_metrics.items() if not math.isfinite(v)]
                if bad:
                    raise TrainingStopped(
                        f"non-finite {', '.join(bad)} at {env_steps:,} env steps; the last good checkpoint "
                        f"is {ckpt_path if ckpt_path.exists() else '(none yet)'}: lower the learning rates "
                        f"(--set) and --resume from it, or start again")
            t3 = time.time()
            sim_time += t1 - t0
            update_time += t3 - t2
            now = time.time()
            if now - t_log >= cfg.log_every_s:
                log_row(now)
            if now - t_ckpt >= cfg.checkpoint_every_min * 60:
                checkpoint(elapsed_before + now - t_start)
                run_eval(elapsed_before + now - t_start)
                t_ckpt = time.time()
    except KeyboardInterrupt:
        status = "interrupted"
        say("interrupted: saving a checkpoint (Ctrl-C again to abort)")
    except (TrainingStopped, FloatingPointError) as e:
        close_all()
        raise TrainingStopped(str(e)) from None
    except BaseException:
        close_all()
        raise
    try:
        if env_steps > steps_at_log:
            log_row(time.time())
        total_s = elapsed_before + time.time() - t_start
        checkpoint(total_s)
        final = run_eval(total_s)
    finally:
        close_all()
    steps_here = env_steps - (state["env_steps"] if state else 0)
    summary = {"status": status, "env_steps": env_steps, "updates": updates, "time_s": total_s,
               "sim_env_steps_per_s": steps_here / max(sim_time, 1e-9),
               "update_steps_per_s": (updates - (state["updates"] if state else 0)) / max(update_time, 1e-9),
               "first_eval": first.__dict__ if first else None, "final_eval": {**final.__dict__,
                                                                              "speed_ratio": final.speed_ratio}}
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2))
    return summary


def _fmt_time(s: float) -> str:
    s = int(s)
    return f"{s // 3600:d}:{s // 60 % 60:02d}:{s % 60:02d}"
