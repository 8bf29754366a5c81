"""The training loop behind `amp-data train`: banks -> expert sampler, backend + task, agent, and the run folder.

Run folder (`--out`):
- `config.json`  the resolved config (preset + overrides), written at start;
- `metrics.csv`  one row per log interval (columns `run_log.METRIC_COLUMNS`); `eval.csv` one row per checkpoint;
- `tb/`          the same scalars for TensorBoard (when the `tensorboard` package is installed);
- `checkpoint.pt` the latest good checkpoint (atomic: written to a temp file, then renamed), and
  `checkpoints/step_<env steps>.pt`, the last `KEEP_CHECKPOINTS` of them.

A checkpoint holds the agent (networks, optimisers, normalisers, temperature), the counters, the RNG states
(numpy task generator, expert sampler, torch) and the bank paths. `--resume` restores all of it; the
replays are refilled (they are not saved). A non-finite loss stops the run without overwriting the last
good checkpoint.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from amp_data.errors import InputError
from learner import config as C
from learner.arrays import to_numpy
from learner.run_folder import NonFiniteState, RunFolder
from learner.run_log import TrainingLog
from learner.torch_dep import require_torch
from learner.warm_start import source_checkpoint, warm_start

class TrainingStopped(RuntimeError):
    """A non-finite loss or action: the message says where the last good checkpoint is."""


def make_backend(cfg):
    from learner.backend import make_backend_for
    return make_backend_for(cfg.env)


def make_expert(bank_paths, cfg, seed: int):
    from amp_data.expert.sampler import ExpertSampler
    dt = cfg.env.sim_dt_s * cfg.env.decimation
    return ExpertSampler(bank_paths, policy_dt_s=dt, seed=seed, window_frames=cfg.amp.window_frames,
                         frame_stride=cfg.amp.frame_stride, bank_one_hot=cfg.amp.gait_condition)


def make_agent(cfg, task, expert):
    from learner.task import ACT_DIM
    if cfg.algo == "sac":
        from learner.sac import AmpSac
        return AmpSac(cfg, task.obs_dim, ACT_DIM, task.action_low, task.action_high, expert, cfg.device)
    from learner.ppo import AmpPpo
    return AmpPpo(cfg, task.obs_dim, ACT_DIM, task.action_low, task.action_high, expert, cfg.device)


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
            forward, reward, terminated = (to_numpy(x) for x in (res.forward_vel_m_s, res.task_reward, res.terminated))
            vel_sum += np.where(alive, forward, 0.0)
            alive_steps += alive
            r_style = style_reward(agent, res)
            style.append(r_style[alive].mean() if alive.any() else np.nan)
            task_r.append(reward[alive].mean() if alive.any() else np.nan)
            fell |= alive & terminated
            alive &= ~terminated
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


def _rng_state(task, expert) -> dict:
    torch = require_torch()
    return {"task": task.rng.bit_generator.state, "expert": expert.rng.bit_generator.state,
            "torch": torch.get_rng_state()}


def _set_rng_state(task, expert, d: dict) -> None:
    torch = require_torch()
    task.rng.bit_generator.state = d["task"]
    expert.rng.bit_generator.state = d["expert"]
    torch.set_rng_state(d["torch"])


# ---------------------------------------------------------------------------------- training

@dataclass
class Progress:
    """The counters a checkpoint carries across --resume."""
    env_steps: int = 0
    iteration: int = 0           # steps of all envs
    updates: int = 0             # gradient steps
    time_before_s: float = 0.0   # training time of the run's earlier sessions


class Clock:
    """Wall time of this session: the budget's deadline, when the next log row and checkpoint are due, and how
    long stepping and updating took."""

    def __init__(self, cfg, progress: Progress):
        self.cfg, self.progress = cfg, progress
        self.start = self.last_log = self.last_checkpoint = time.time()
        self.deadline = self.start + cfg.minutes * 60 - progress.time_before_s if cfg.minutes else math.inf
        self.steps_at_log, self.updates_at_log = progress.env_steps, progress.updates
        self.sim_s = self.update_s = 0.0
        self.next_eval_steps = self._next_eval_boundary()

    def _next_eval_boundary(self) -> float:
        every = self.cfg.eval_every_steps
        return (self.progress.env_steps // every + 1) * every if every else math.inf

    def eval_due(self) -> bool:
        """True once per `eval_every_steps` boundary the run's env steps cross."""
        if self.progress.env_steps < self.next_eval_steps:
            return False
        self.next_eval_steps = self._next_eval_boundary()
        return True

    def run_time_s(self) -> float:
        """Training time of the run so far, earlier sessions included."""
        return self.progress.time_before_s + time.time() - self.start

    def budget_spent(self) -> bool:
        steps = self.cfg.max_env_steps
        return bool(steps and self.progress.env_steps >= steps) or time.time() >= self.deadline

    def log_due(self) -> bool:
        return time.time() - self.last_log >= self.cfg.log_every_s

    def checkpoint_due(self) -> bool:
        return time.time() - self.last_checkpoint >= self.cfg.checkpoint_every_min * 60

    def left(self, env_steps_per_s: float) -> str:
        """What is left of the budget, for the progress line: '43 %, ~21 min left'."""
        p, cfg = self.progress, self.cfg
        parts = []
        if cfg.max_env_steps:
            parts.append((p.env_steps / cfg.max_env_steps, (cfg.max_env_steps - p.env_steps) / max(env_steps_per_s, 1e-9)))
        if cfg.minutes:
            parts.append((self.run_time_s() / (cfg.minutes * 60), self.deadline - time.time()))
        if not parts:
            return ""
        done, seconds = min(parts, key=lambda part: part[1])   # the budget that ends first
        return f"{100 * min(done, 1.0):.0f} %, ~{max(seconds, 0) / 60:.0f} min left"

    def rates(self) -> tuple[float, float]:
        """(env steps/s, gradient steps/s) since the last log row; marks this row."""
        now = time.time()
        dt = max(now - self.last_log, 1e-9)
        p = self.progress
        out = ((p.env_steps - self.steps_at_log) / dt, (p.updates - self.updates_at_log) / dt)
        self.last_log, self.steps_at_log, self.updates_at_log = now, p.env_steps, p.updates
        return out


class Evaluator:
    """The deterministic evaluation at each checkpoint (`evaluate`), on `eval_envs` environments of their own,
    built at first use."""

    def __init__(self, cfg, expert, eval_envs: int, seconds: float):
        self.cfg, self.expert, self.eval_envs, self.seconds = cfg, expert, eval_envs, seconds
        self.task = None

    def __call__(self, agent) -> EvalResult:
        if self.task is None:
            from learner.task import Go2AmpTask
            ecfg = C.from_dict(C.to_dict(self.cfg))
            ecfg.env.num_envs = self.eval_envs
            self.task = Go2AmpTask(ecfg, make_backend(ecfg), self.expert, np.random.default_rng(self.cfg.seed + 1))
            if self.task.terrain is not None:
                self.task.set_terrain_level(self.task.terrain.levels - 1)   # evaluate on the hardest waves
        return evaluate(agent, self.task, self.seconds, self.cfg.eval_command_vx_m_s)

    def close(self) -> None:
        if self.task is not None:
            self.task.backend.close()


def _resume(folder: RunFolder, cfg, bank_paths, overrides: list[str], say):
    """(config, bank paths, checkpoint) of the run in `folder`: its saved config with this call's stopping rule
    and logging and the resumable `--set` fields; its banks unless others are given."""
    try:
        C.check_resumable(overrides)
    except ValueError as e:
        raise InputError(None, str(e)) from None
    removed = folder.remove_temp_files()
    ckpt_path, state = folder.newest_checkpoint()
    saved_cfg = C.from_dict(state["config"])
    for k in ("max_env_steps", "minutes", "checkpoint_every_min", "log_every_s"):   # the run keeps eval_every_steps
        setattr(saved_cfg, k, getattr(cfg, k))
    try:
        C.validate(C.apply_overrides(saved_cfg, overrides))
    except ValueError as e:
        raise InputError(None, str(e)) from None
    dropped = folder.truncate_logs(int(state["env_steps"]))
    say(f"resuming from {ckpt_path} ({int(state['env_steps']):,} env steps)"
        + (f"; dropped {dropped} log row(s) written after it" if dropped else "")
        + (f"; removed {len(removed)} temporary file(s) of a killed run" if removed else ""))
    return saved_cfg, bank_paths or state["bank_paths"], state


def _restore(agent, task, expert, cfg, state: dict, overrides: list[str]) -> Progress:
    agent.load_state_dict(state["agent"])
    set_learning_rates(agent, cfg, C.override_keys(overrides))
    _set_rng_state(task, expert, state["rng"])
    if task.command_curriculum is not None and "command_curriculum" in state:
        task.command_curriculum.load_state_dict(state["command_curriculum"])
    return Progress(state["env_steps"], state["iteration"], state["updates"], state["time_s"])


def _checked(update_stats: dict, progress: Progress, folder: RunFolder) -> dict:
    bad = [k for k, v in update_stats.items() if not math.isfinite(v)]
    if bad:
        ckpt = folder.checkpoint_path
        raise TrainingStopped(f"non-finite {', '.join(bad)} at {progress.env_steps:,} env steps; the last good "
                              f"checkpoint is {ckpt if ckpt.exists() else '(none yet)'}: lower the learning rates "
                              "(--set) and --resume from it, or start again")
    return update_stats


def train(bank_paths, cfg, out_dir, resume: bool = False, say=print, eval_envs: int = 16,
          eval_seconds: float = 10.0, resume_overrides: list[str] | None = None) -> dict:
    """Train `cfg.algo` on `bank_paths` into `out_dir`; returns the final evaluation and counters.

    With `resume`, the run's newest complete checkpoint and its config are restored; the stopping rule and
    logging of `cfg` apply, and `resume_overrides` (`--set` strings) may change the fields of
    `config.RESUMABLE_FIELDS` (learning rates, loss and reward weights, stopping, logging)."""
    require_torch()
    out_dir, overrides = Path(out_dir), resume_overrides or []
    folder = RunFolder(out_dir)
    folder.check_writable(resume)
    state = None
    if resume:
        cfg, bank_paths, state = _resume(folder, cfg, bank_paths, overrides, say)
    if not (cfg.max_env_steps or cfg.minutes):
        raise InputError(None, "give a stopping rule: --steps N or --minutes M")
    bank_paths = [str(Path(p).resolve()) for p in bank_paths]
    init = source_checkpoint(cfg.init_from) if cfg.init_from and state is None else None

    backend, task, expert, agent, _ = build(cfg, bank_paths, cfg.seed)
    progress = _restore(agent, task, expert, cfg, state, overrides) if state else Progress()
    if init is not None:
        init_path, init_state = init
        try:
            loaded = warm_start(agent, cfg.algo, init_state, cfg.init_parts, init_path, task.obs_dim)
        except InputError:
            backend.close()
            raise
        cfg.init_from = str(init_path.resolve())
        say(f"warm start: {', '.join(loaded)} from {init_path} ({int(init_state['env_steps']):,} env steps); "
            "optimisers, replays and counters start afresh")
    try:
        folder.claim()
    except InputError:
        backend.close()
        raise
    if state is None:
        folder.write_run_files(C.to_json(cfg), bank_paths)
    say(f"{'resuming' if state else 'training'} AMP+{cfg.algo.upper()} ({cfg.preset} preset) on "
        f"{len(bank_paths)} bank(s): {expert.summary()}")
    say(f"{cfg.env.num_envs} envs on {cfg.env.backend}, policy dt {task.dt_s:g} s, run folder {out_dir}")
    log = TrainingLog(out_dir, cfg.env.num_envs, cfg.algo, say)
    evaluator = Evaluator(cfg, expert, eval_envs, eval_seconds)
    clock = Clock(cfg, progress)

    def close_all() -> None:
        log.close(), backend.close(), evaluator.close(), folder.release()

    def checkpoint_and_eval(time_s: float) -> EvalResult:
        payload = {"config": C.to_dict(cfg), "algo": cfg.algo, "agent": agent.state_dict(),
                   "env_steps": progress.env_steps, "iteration": progress.iteration, "updates": progress.updates,
                   "time_s": time_s, "rng": _rng_state(task, expert), "bank_paths": bank_paths}
        if task.command_curriculum is not None:
            payload["command_curriculum"] = task.command_curriculum.state_dict()
        try:
            folder.save_checkpoint(payload)
        except NonFiniteState as e:
            raise TrainingStopped(f"at {progress.env_steps:,} env steps {e}: lower the learning rates (--set) "
                                  "and --resume from it, or start again") from None
        return evaluate_and_log(time_s)

    def evaluate_and_log(time_s: float) -> EvalResult:
        r = evaluator(agent)
        log.eval_row(time_s, progress.env_steps, r)
        return r

    status, first = "completed", None
    try:
        first = evaluate_and_log(progress.time_before_s) if state is None else None
        obs = task.reset()
        while not clock.budget_spent():
            t0 = time.time()
            actions = agent.act(obs)
            res = task.step(actions)
            t1 = time.time()
            log.record_step(res, agent.observe(obs, actions, res), task.command_vx, task.dt_s,
                            task.terrain_amplitude_m, task.command_cap_m_s)
            obs = res.obs
            progress.env_steps += cfg.env.num_envs
            progress.iteration += 1
            t2 = time.time()
            if agent.ready():
                log.last_update = _checked(agent.update(), progress, folder)
                progress.updates += agent.grad_steps_per_update
            clock.sim_s += t1 - t0
            clock.update_s += time.time() - t2
            if clock.log_due():
                steps_per_s, updates_per_s = clock.rates()
                log.metrics_row(clock.run_time_s(), progress.env_steps, progress.iteration, steps_per_s,
                                updates_per_s, clock.left(steps_per_s))
            eval_due = clock.eval_due()      # a checkpoint's evaluation counts for the step grid too
            if clock.checkpoint_due():
                checkpoint_and_eval(clock.run_time_s())
                clock.last_checkpoint = time.time()
            elif eval_due and not clock.budget_spent():
                evaluate_and_log(clock.run_time_s())
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
        if progress.env_steps > clock.steps_at_log:
            log.metrics_row(clock.run_time_s(), progress.env_steps, progress.iteration, *clock.rates())
        total_s = clock.run_time_s()
        final = checkpoint_and_eval(total_s)
    finally:
        close_all()
    earlier = state or {"env_steps": 0, "updates": 0}
    summary = {"status": status, "env_steps": progress.env_steps, "updates": progress.updates, "time_s": total_s,
               "sim_env_steps_per_s": (progress.env_steps - earlier["env_steps"]) / max(clock.sim_s, 1e-9),
               "update_steps_per_s": (progress.updates - earlier["updates"]) / max(clock.update_s, 1e-9),
               "first_eval": first.__dict__ if first else None,
               "final_eval": {**final.__dict__, "speed_ratio": final.speed_ratio}}
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2))
    return summary
