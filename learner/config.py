"""Training configuration: plain dataclasses, three presets, and `--set a.b=value` overrides.

`paper` is the AMP+SAC paper's Tables I-IV (4096 environments on a GPU). `cpu` keeps the task and shrinks
sizes (environments, networks, batches, replay) so that a run learns on a 2-core machine; for AMP+SAC it
also changes what the evidence runs showed it must (discriminator weights, entropy target, relabelled
style reward, a history of negatives), each with its reason below. `cpu-dog` (AMP+SAC) is `cpu` plus the
switches that brought its gait nearest the dog's: the dog's stride as a feedforward under its gait clock.
`amp-data train` and `pretrain` run `cpu-dog` for AMP+SAC and `cpu` for AMP+PPO unless told otherwise
(`default_preset`). A run saves its resolved config as
`config.json` and prints it at start.

Values the papers give are cited where they are set; values they do not give (learning rates of the
critic and temperature, initial temperature, initial action std) are this project's choices.
"""

from __future__ import annotations

import dataclasses
import json
import typing
from dataclasses import dataclass, field

from learner.rewards import CLOCK_TERMS

PRESETS = ("paper", "cpu", "cpu-dog")
ALGOS = ("sac", "ppo")
# What a plain `amp-data train walk.h5 trot.h5` runs: for AMP+SAC the preset that met the gait
# targets in 4 seeds of 5 (README, "kp by gait on the preset"); cpu-dog has no AMP+PPO evidence runs.
DEFAULT_PRESETS = {"sac": "cpu-dog", "ppo": "cpu"}
COMMAND_SOURCES = ("range", "banks")


@dataclass
class EnvConfig:
    num_envs: int = 4096
    backend: str = "mujoco"
    sim_threads: int = 0                  # MuJoCo rollout threads; 0: one per CPU core
    sim_device: str = "auto"              # warp backend: "cpu", "cuda", "cuda:1"; auto: a CUDA GPU if Warp sees one
    # warp backend: "torch" keeps the state on the device as torch tensors and the task computes there;
    # "numpy" copies it to the host each step; auto: torch on a CUDA device (learner/arrays.py)
    sim_arrays: str = "auto"
    friction_cone: str = "pyramidal"      # "elliptic" (Unitree's model) costs about twice per sim step
    sim_dt_s: float = 0.005
    decimation: int = 4                   # policy step = 4 sim steps = 0.02 s (50 Hz)
    kp_nm_rad: float = 20.0
    kd_nm_s_rad: float = 0.5
    # (needs gait_clock) one kp per bank, in the order the banks are given, e.g. 20,40 for walk.h5 trot.h5:
    # each environment's joints get the kp of the gait its clock runs (the bank nearest its command), in
    # place of kp_nm_rad; kp 40 trotted like the dog in 3 seeds of 5 and lost the walk (README)
    kp_by_gait_nm_rad: tuple[float, ...] = ()
    # > 0 (needs gait_clock): the joints of each environment whose clock runs a running gait (its bank's hind
    # duty factor below 0.5, Hildebrand's walk/run line) get this kp in place of kp_nm_rad, whatever order
    # the banks come in; 40 under cpu-dog (README, "kp by gait on the preset": the trot's duty at the dog's)
    kp_run_nm_rad: float = 0.0
    action_scale: float = 0.25            # joint target = default pose + 0.25 * action
    # > 0: the actions pass a first-order low-pass filter with this cutoff (Hz) before they become joint
    # targets, and the filtered action (the joint target's offset, rad) joins the observation (12 values)
    action_filter_hz: float = 0.0
    # true: the policy's previous action (the joint target's offset, rad) joins the observation (12 values,
    # last), as legged_gym's does; reward.action_rate needs it, else its cost depends on what the policy
    # cannot see
    observe_last_action: bool = False
    episode_length_s: float = 20.0
    command_vx_range_m_s: tuple[float, float] = (0.4, 1.0)   # forward command, base frame, per episode
    # "range": uniform in command_vx_range_m_s; "banks": the mean forward speed of a reference clip (each bank
    # equally often, clips by their weights within it) times U(1 - jitter, 1 + jitter), so every command has
    # a reference gait at its speed
    command_source: str = "range"
    command_bank_jitter: float = 0.1
    # > 0: a curriculum on the fastest commands (learner/command_curriculum.py, after legged_gym's): commands
    # are capped, from command_curriculum_start_m_s, and the cap rises by this (m/s) whenever at least half of
    # the last command_curriculum_episodes episodes at the cap kept up with it; with env.gait_clock and
    # banks commands a capped command keeps its bank's clock (a capped trot is still a trot)
    command_curriculum_step_m_s: float = 0.0
    command_curriculum_start_m_s: float = 1.0
    command_curriculum_episodes: int = 32
    # true: each environment runs the gait clock of the bank nearest its command (the dog's stride frequency,
    # duty factors and footfall phases, learner/gait_clock.py), and sin, cos of its phase join the
    # observation (2 values); reward.gait_clock pays feet that follow it
    gait_clock: bool = False
    # true (needs gait_clock): joint target = the dog's mean joint angles at the clock's phase (the clock's
    # bank, learner/gait_clock.py) + action_scale * action instead of default pose + ...: a trajectory
    # generator under a residual policy (Iscen et al. 2018's PMTG), the dog's stride as the feedforward
    reference_feedforward: bool = False
    # > 0 (needs reference_feedforward): the policy's correction to the dog's stride is bounded to +- this
    # (rad per joint; the action range becomes +- residual_limit_rad / action_scale), so that it adjusts the
    # stride instead of replacing it; 0: the action spans the soft joint limits as without the feedforward
    # (corrections of up to 2-3 rad)
    residual_limit_rad: float = 0.0
    # true (needs reference_feedforward): the feedforward also carries the joint torques that hold the dog's
    # pose still on the feet the clock puts on the floor (learner/stance_torque.py; Unitree's motor command
    # has a torque feedforward), folded into the target as + tau / kp. Without it a kp-20 motor holds the
    # robot's weight only by sagging: 0.30-0.35 rad at the calves standing, cpu-dog's whole correction bound
    stance_torque_feedforward: bool = False
    # > 0 (needs reference_feedforward): the feedforward's swing feet are raised, where the dog's are lower, to
    # a floor of this (m) times sin(pi s) above their stance height, s the share of the scheduled swing gone
    # (learner/swing_clearance.py): the dog carries its walk's hind paws forward 1-2 mm above the floor, which
    # a Go2 under PD control lands on a fifth of a cycle early (benchmarks/clock_match.py); 0: the dog's angles
    feedforward_swing_clearance_m: float = 0.0
    reference_state_init: bool = True     # start episodes from random bank frames (else the default pose)
    rsi_fraction: float = 0.75            # with reference_state_init: this share of resets from bank frames,
    #                                       the rest standing still in the default pose (how play starts)
    fall_height_m: float = 0.12           # base origin below this: a fall
    fall_tilt_rad: float = 1.0            # base tilted more than this from upright: a fall
    terrain: str = "flat"                 # "waves": wave ground with a curriculum (learner/terrain.py)
    terrain_levels: int = 10              # curriculum levels, flat (0) to the hardest
    terrain_max_amplitude_m: float = 0.03   # the paper's 3 cm undulation
    terrain_wavelength_m: tuple[float, float] = (2.0, 0.6)   # wavelength at level 0 and at the hardest


@dataclass
class RewardConfig:
    """Table III of the AMP+SAC paper, legged_gym convention: each scale is multiplied by the policy dt."""
    tracking_lin_vel_x: float = 240.0
    lin_vel_z: float = -15.0
    ang_vel_xy: float = -1.0
    ang_vel_z: float = -5.0
    base_height: float = -2.0
    collision: float = -1.0
    feet_contact_forces: float = -2.0
    dof_acc: float = -2.5e-7
    dof_pos_limits: float = -4.0
    torques: float = -5.0e-5
    # not in Table III (legged_gym's action rate, also among the SAC-for-legged-locomotion paper's terms):
    # scale * sum over joints of (a_t - a_{t-1})^2, policy units; 0: off. legged_gym has -0.01 beside a
    # tracking scale of 1; at Table III's tracking scale (240) the same share is -2.4. Needs
    # env.observe_last_action
    action_rate: float = 0.0
    # not in Table III (legged_gym's feet air time, learner/rewards.py): at each touchdown, scale * (time in
    # the air - target); 0: off. The target is the dog's swing time: 0.29 s in the walk bank, 0.30 s in the
    # trot bank ((1 - duty) / stride frequency, `amp-data eval`'s reference rows)
    feet_air_time: float = 0.0
    feet_air_time_target_s: float = 0.3
    # not in Table III (a periodic reward after Siekmann et al. 2021, with the dog's contact schedule): scale *
    # the share of feet whose contact is what env.gait_clock's schedule asks for (0..1); 0: off
    gait_clock: float = 0.0
    # not in Table III (Walk These Ways' contact-schedule terms under env.gait_clock's schedule, as rewards;
    # 0: off): scale * the mean over feet of (1 - desired) exp(-F^2 / sigma_F), swing feet free of force, and
    # of desired exp(-|v_foot|^2 / sigma_v), stance feet still. Walk These Ways has them as costs; these differ
    # from its costs by the schedule's mean share, which no action changes, and stay positive, so that
    # only_positive's clip does not swallow them (as costs of 240 they did: task reward 0 at 100 k steps).
    # sigma_F is Walk These Ways' 100 N^2 (10 N loses 0.63 of the term); sigma_v is 0.25 (m/s)^2 instead of
    # its 10, so that a stance foot sliding at the walk's 0.7 m/s loses 0.86 instead of 0.05
    gait_clock_swing_free: float = 0.0
    gait_clock_stance_still: float = 0.0
    # not in Table III nor Walk These Ways: scale * the mean over feet of desired (1 - exp(-F^2 / sigma_F)),
    # stance feet bearing weight (20 N keeps 0.98 of it); the stance term above pays a still foot whether it
    # stands or hovers; 0: off
    gait_clock_stance_loaded: float = 0.0
    gait_clock_force_sigma_n2: float = 100.0
    gait_clock_speed_sigma_m2_s2: float = 0.25
    # not in Table III: scale * the mean over feet of (1 - desired) exp(-(h - h_dog)^2 / sigma_h), swing feet at
    # the dog's foot height for the clock's phase (the bank's mean over its strides, learner/gait_clock.py;
    # Walk These Ways' clearance term with the dog's heights, as a reward); 0: off. sigma_h = 0.001 m^2: 3 cm
    # off loses 0.59 of the term. Heights above the ground under the base (exact on flat ground)
    gait_clock_swing_height: float = 0.0
    gait_clock_height_sigma_m2: float = 0.001
    # true: gait_clock_swing_height pays only the environments whose clock runs a running gait (its bank's hind
    # duty factor below 0.5, Hildebrand's line, as env.kp_run_nm_rad), so the trot's feet are paid for the
    # dog's heights and the walk's are left alone; paid in both gaits the term lost the walk (README, "Swing
    # height on the preset")
    gait_clock_swing_height_run_only: bool = False
    # > 0: gait_clock_swing_height judges only how far a swing foot rises above the dog's height plus this (m),
    # one-sided: a foot lower than that earns the whole term, so the term brings high feet down without
    # pulling them to the dog's 1-2 mm over the floor (paid two-sided, in both gaits, it lost the walk);
    # 0: two-sided, as above
    gait_clock_swing_height_ceiling_m: float = 0.0
    # true: the clock terms above are multiplied by the velocity tracking's exp(-err^2 / tracking_sigma)
    # (0..1), so that a robot standing while asked to walk earns little of them; ungated, a standing robot
    # earned about 2.7 of its 3.46 per step from the stance term (wtw240-s1's first evaluation)
    gait_clock_gate_by_tracking: bool = False
    tracking_sigma: float = 0.25          # legged_gym: exp(-err^2 / sigma)
    # not in legged_gym: for commands faster than this (m/s) the tracking error is taken as a share of the
    # command, err * this / |v_cmd|, so the kernel widens with the command; 0: off. With sigma 0.25 a policy
    # at 0.64 m/s asked for the trot's 1.79 earns 0.005 of the term and a slope toward faster of 0.05 per m/s
    # (0.35 m/s short of the walk's 0.84: 1.7); with 0.84 here it earns 0.31, slope 0.63
    tracking_relative_above_m_s: float = 0.0
    base_height_target_m: float = 0.0     # 0: the banks' mean base height
    max_contact_force_n: float = 100.0
    only_positive: bool = True            # legged_gym: a negative task reward sum is clipped to 0, else
    #                                       ending an episode early (falling) pays
    w_task: float = 0.4                   # Sec. III-D
    w_amp: float = 0.6
    amp_reward_coef: float = 2.0          # Table II: r_AMP = coef * max(0, 1 - 0.25 (D - 1)^2)


@dataclass
class RandomizationConfig:
    """Table IV, resampled at every reset."""
    enabled: bool = True
    base_mass_offset_kg: tuple[float, float] = (-1.0, 1.0)
    pd_gain_factor: tuple[float, float] = (0.9, 1.1)
    friction: tuple[float, float] = (0.25, 1.75)


@dataclass
class AMPConfig:
    """Discriminator (Table II) and its loss weights in the algorithm's objective."""
    hidden: tuple[int, ...] = (1024, 512)
    window_frames: int = 2                # AMP observations per discriminator input (2: AMP's pair (s, s'))
    frame_stride: int = 1                 # policy steps between a window's frames
    batch_size: int = 8192                # expert and policy windows per discriminator update
    updates_per_iter: int = 1             # discriminator batches per training iteration
    loss_coef: float = 0.1                # lambda_AMP of eq. 4 (SAC); AMP_for_hardware's PPO uses 1.0
    grad_pen_coef: float = 0.01           # multiplies E ||grad_x D||^2 on expert pairs (eq. 2's w_GP / 2)
    replay_size: int = 1_000_000          # recent policy (s, s') pairs kept for the discriminator
    history_size: int = 0                 # > 0: also a uniform reservoir of this many pairs from the whole run
    history_fraction: float = 0.5         # share of each negative batch drawn from that reservoir
    min_std: float = 0.01                 # running normaliser's std floor
    input_noise_std: float = 0.0          # > 0: instance noise on D's normalised inputs in training (amp.py)
    spectral_norm: bool = False           # every layer of D spectrally normalised: D at most 1-Lipschitz (amp.py)
    # > 0: this share of each batch of negatives is the reference's own motion with the rhythm wrong (sped
    # up by one of rhythm_speedups with swings shrunk as much, or, a rhythm_reversed_share of them, played
    # backwards; ExpertSampler.distorted_windows), so that D must judge rhythm, not only poses and speeds
    rhythm_negatives: float = 0.0
    rhythm_speedups: tuple[float, ...] = (2.0, 3.0, 4.0)
    rhythm_reversed_share: float = 0.25
    # D is told which gait each window should be (a one-hot of the bank: the expert's clip's, the policy's
    # gait clock's) and judges p(motion | gait): a walk at the trot's command is fake. Needs env.gait_clock
    gait_condition: bool = False
    trunk_weight_decay: float = 1e-3      # AMP_for_hardware's weight decay of the trunk and of the head
    head_weight_decay: float = 1e-2


@dataclass
class SACConfig:
    """Tables I-II of the AMP+SAC paper and the fixes of rsl-rl-sac (each switchable)."""
    hidden: tuple[int, ...] = (1024, 512)
    activation: str = "gelu"
    actor_lr: float = 1e-3
    critic_lr: float = 1e-3
    alpha_lr: float = 1e-3
    weight_decay: float = 0.0             # AdamW's decoupled decay of actor and critics
    gamma: float = 0.99
    tau: float = 0.05
    n_step: int = 3
    batch_size: int = 16384
    updates_per_step: int = 8
    replay_size: int = 10_000_000
    warmup_steps: int = 100               # environment steps (per env) before the first update
    steps_per_iter: int = 1               # environment steps (per env) collected between update rounds
    init_alpha: float = 0.01
    target_entropy_scale: float = 1.0     # target entropy = -scale * action dims
    max_grad_norm: float = 1.0
    # rsl-rl-sac fixes
    action_bounds_from_limits: bool = True   # off: actions in [-1, 1]
    actor_init: bool = True                  # off: PyTorch's default init, log-std bias 0
    init_std: float = 0.1                    # initial std of the pre-tanh Gaussian (actor_init)
    # > 0: the exploration noise of the actions sent to the environments is correlated over time, an AR(1)
    # (discretised Ornstein-Uhlenbeck) process with this time constant, still N(0, 1) at every step, so the
    # policy's std scales it as before; 0: white, drawn afresh each step (SAC's own). Updates are unchanged.
    exploration_tau_s: float = 0.0
    timeout_bootstrap: bool = True           # off: time-outs end the return like failures
    nstep_stop_at_termination: bool = True   # off: the n-step sum runs across episode ends
    # not in the paper (its "future work"): the replay keeps each step's AMP pair and the style reward is
    # recomputed with the current discriminator when a batch is sampled, instead of frozen at collection
    relabel_style_reward: bool = False


@dataclass
class PPOConfig:
    """Escontrela et al. (AMP_for_hardware / rsl_rl) settings."""
    hidden: tuple[int, ...] = (512, 256, 128)
    activation: str = "elu"
    steps_per_env: int = 24
    epochs: int = 5
    minibatches: int = 4
    lr: float = 1e-3
    desired_kl: float = 0.01              # adaptive learning rate
    clip: float = 0.2
    gamma: float = 0.99
    lam: float = 0.95
    value_coef: float = 1.0
    entropy_coef: float = 0.01
    max_grad_norm: float = 1.0
    init_std: float = 1.0


@dataclass
class TrainConfig:
    algo: str = "sac"
    preset: str = "paper"
    seed: int = 1
    device: str = "auto"                  # torch device of networks and buffers; auto: cuda if available
    torch_threads: int = 0                # 0: torch's default
    max_env_steps: int = 0                # 0: no limit (then `minutes` must be set)
    minutes: float = 0.0
    checkpoint_every_min: float = 5.0
    eval_every_steps: int = 0             # also evaluate every N env steps (0: only at checkpoints): a grid that
                                          # is the same on any machine, for steps-to-target over seeds
    log_every_s: float = 5.0              # progress line and CSV row
    eval_command_vx_m_s: float = 0.7
    init_from: str = ""                   # warm start: the checkpoint the new run's weights came from
    init_parts: tuple[str, ...] = ()      # which of its parts (learner/warm_start.py); () without init_from
    env: EnvConfig = field(default_factory=EnvConfig)
    reward: RewardConfig = field(default_factory=RewardConfig)
    randomization: RandomizationConfig = field(default_factory=RandomizationConfig)
    amp: AMPConfig = field(default_factory=AMPConfig)
    sac: SACConfig = field(default_factory=SACConfig)
    ppo: PPOConfig = field(default_factory=PPOConfig)


def default_preset(algo: str) -> str:
    """The preset `amp-data train --algo ALGO` runs without --preset (`cpu` for an unknown algo, which
    `make_config` then refuses by name)."""
    return DEFAULT_PRESETS.get(algo, "cpu")


def make_config(preset: str = "cpu", algo: str = "sac") -> TrainConfig:
    """The preset's config for `algo`."""
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; choose one of {', '.join(PRESETS)}")
    if algo not in ALGOS:
        raise ValueError(f"unknown algo {algo!r}; choose one of {', '.join(ALGOS)}")
    cfg = TrainConfig(algo=algo, preset=preset)
    if algo == "ppo":
        # AMP_for_hardware's discriminator terms in the PPO loss (amp loss weight 1, grad penalty 10),
        # expert and policy batches the size of a PPO minibatch
        cfg.amp.loss_coef, cfg.amp.grad_pen_coef = 1.0, 10.0
    if preset == "cpu":
        # One MuJoCo thread, two torch threads: the simulator and the updates take turns, so the updates use
        # both cores of a 2-core machine (AMP+SAC: x1.5-1.7 gradient steps/s, x1.3 env steps/s of the whole
        # loop, measured here). With two MuJoCo threads as well, MuJoCo's pool and torch's threads contended
        # and an update round took 4-7x longer. Two runs at once on 2 cores: --set torch_threads=1 each.
        cfg.torch_threads, cfg.env.sim_threads, cfg.device = 2, 1, "cpu"
        cfg.env.num_envs = 32 if algo == "sac" else 128
        cfg.env.episode_length_s = 10.0
        cfg.amp.hidden = (256, 256)
        cfg.amp.batch_size = 512
        cfg.amp.replay_size = 200_000
        # Table II's lambda_AMP 0.1 and lambda_GP 0.01 let the discriminator separate policy from expert
        # perfectly here (D = +-0.99, r_AMP ~ 0.02 after 2 minutes: runs/sac-cpu-tableII in the README);
        # AMP_for_hardware's weights (1, 10), which the PPO baseline uses too, keep r_AMP informative.
        cfg.amp.loss_coef, cfg.amp.grad_pen_coef = 1.0, 10.0
        # same 8 updates and 1 discriminator batch per round as the paper, on 4 steps of 32 envs
        cfg.sac.hidden = (256, 256)
        cfg.sac.batch_size = 512
        cfg.sac.steps_per_iter = 4
        cfg.sac.replay_size = 1_000_000
        # Target entropy -12 (scale 1) held the policy at a geometric-mean std of ~0.09 action units
        # (0.02 rad) and it stood still for 400k steps (runs/sac-cpu-ent12 in the README). The per-joint
        # bounds span 6-23 action units here, so aim for ~0.4 units (0.1 rad): +0.5 nats per joint.
        cfg.sac.target_entropy_scale = -0.5
        # Budgets in environment steps, not minutes: a run then ends in the same state on any machine (the
        # same seed gives the same weights, tests/test_train.py), only later on a slower one. The numbers
        # are what 30 (PPO) and 60 (SAC) minutes gave on the 2-core machine the evidence runs used.
        cfg.max_env_steps, cfg.minutes = 1_500_000, 0.0
        if algo == "sac":
            # What met the three targets in 3 seeds of 4 at 60 minutes, 2 of 4 at 30 (README,
            # docs/runs/sac-cpu-s*): the style reward recomputed with the current discriminator at sampling,
            # an entropy target of 0 nats, and a history of the run's policy pairs among the discriminator's
            # negatives. Without the history the final discriminator scored standing still above the
            # walking policy in one seed of two.
            cfg.sac.relabel_style_reward = True
            cfg.sac.target_entropy_scale = 0.0
            cfg.amp.history_size = 200_000
            cfg.max_env_steps = 1_280_000
    if preset == "cpu-dog":
        if algo != "sac":
            raise ValueError("preset cpu-dog is AMP+SAC's (its evidence runs are); for AMP+PPO use --preset cpu")
        cfg = make_config("cpu", algo)
        cfg.preset = preset
        # The configuration nearest the dog's gait (README, "The bounded correction over five seeds"): the
        # discriminator judges 5 observations 3 steps apart (0.24 s); commands are the banks' clip speeds;
        # each env runs the dog's contact schedule as a clock, is paid for swing feet free of force and
        # stance feet still under it, and its joint target is the dog's stride at the clock's phase plus a
        # correction of at most 0.3 rad
        cfg.amp.window_frames, cfg.amp.frame_stride = 5, 3
        cfg.env.gait_clock, cfg.env.command_source = True, "banks"
        cfg.reward.gait_clock_swing_free = cfg.reward.gait_clock_stance_still = 120.0
        cfg.env.reference_feedforward, cfg.env.residual_limit_rad = True, 0.3
        # Half the episodes command the trot's 1.79 m/s, where legged_gym's fixed kernel pays ~nothing for
        # going faster; the error of commands above the walk's 0.84 m/s is taken as a share of the command
        # (README, "Relative tracking over five seeds": the dog's walk label in 4 seeds of 5 against 1 of 5
        # before, and the trot's command run at 0.73-1.36 m/s against 0.24-0.64)
        cfg.reward.tracking_relative_above_m_s = 0.84
        # The motors get the torques that hold the dog's pose on the clock's stance feet (it rides at the
        # dog's height instead of 2-5 cm below), and the discriminator is told which gait each window should
        # be (README, "Stance torques and the gait label over five seeds": the trot's label in 5 seeds of 5
        # against 1 of 5, the walk at the dog's 1.43 Hz and duty in 5 of 5, as a lateral-sequence walk)
        cfg.env.stance_torque_feedforward, cfg.amp.gait_condition = True, True
        # kp 40 under the clocks of running gaits (the trot), 20 under the walk's: at 20 the motors trail the
        # trot's stride by 0.31 rad and the feet stay down too long (README, "kp by gait on the preset": the
        # trot's duty at the dog's, 0.31-0.42 against 0.37, and the targets in 4 seeds of 5 against 3)
        cfg.env.kp_run_nm_rad = 40.0
    return cfg


# ---------------------------------------------------------------------------------- (de)serialising

def to_dict(cfg) -> dict:
    return dataclasses.asdict(cfg)


def from_dict(d: dict, cls=TrainConfig):
    """Rebuild a config from `to_dict` output (e.g. a run's config.json); unknown keys are an error."""
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for f in dataclasses.fields(cls):
        if f.name not in d:
            continue
        v, t = d[f.name], hints[f.name]
        if dataclasses.is_dataclass(t):
            kwargs[f.name] = from_dict(v, t)
        elif typing.get_origin(t) is tuple:
            kwargs[f.name] = tuple(v)
        else:
            kwargs[f.name] = v
    unknown = set(d) - {f.name for f in dataclasses.fields(cls)}
    if unknown:
        raise ValueError(f"unknown config field(s) {', '.join(sorted(unknown))} in {cls.__name__}")
    return cls(**kwargs)


def to_json(cfg) -> str:
    return json.dumps(to_dict(cfg), indent=2)


def _parse_value(text: str, t, key: str):
    origin = typing.get_origin(t)
    try:
        if t is bool:
            low = text.strip().lower()
            if low in ("1", "true", "yes", "on"):
                return True
            if low in ("0", "false", "no", "off"):
                return False
            raise ValueError
        if t is int:
            return int(float(text)) if float(text).is_integer() else int(text)
        if t is float:
            return float(text)
        if t is str:
            return text
        if origin is tuple:
            args = typing.get_args(t)
            elem = args[0]
            parts = [p for p in text.strip("()[] ").replace(",", " ").split()]
            vals = tuple(_parse_value(p, elem, key) for p in parts)
            if len(args) == 2 and args[1] is not Ellipsis and len(vals) != 2:
                raise ValueError
            return vals
    except ValueError:
        pass
    raise ValueError(f"--set {key}={text}: not a valid {getattr(t, '__name__', str(t))}")


def apply_overrides(cfg: TrainConfig, overrides: list[str]) -> TrainConfig:
    """Apply `section.field=value` (or `field=value` for top-level fields) strings, in place.

    Values are parsed as the field's type: numbers, true/false, tuples as `256,256`.
    """
    for item in overrides or []:
        if "=" not in item:
            raise ValueError(f"--set {item}: expected key=value, e.g. sac.batch_size=4096")
        key, text = item.split("=", 1)
        path = key.strip().split(".")
        obj = cfg
        for name in path[:-1]:
            if not dataclasses.is_dataclass(getattr(obj, name, None)):
                raise ValueError(f"--set {key}: no config section {name!r}; sections: "
                                 f"{', '.join(f.name for f in dataclasses.fields(cfg) if dataclasses.is_dataclass(getattr(cfg, f.name)))}")
            obj = getattr(obj, name)
        leaf = path[-1]
        names = {f.name for f in dataclasses.fields(obj)}
        if leaf not in names or dataclasses.is_dataclass(getattr(obj, leaf)):
            raise ValueError(f"--set {key}: no such field; {type(obj).__name__} has {', '.join(sorted(names))}")
        t = typing.get_type_hints(type(obj))[leaf]
        setattr(obj, leaf, _parse_value(text, t, key))
    return cfg


# Fields `--set` may change on `--resume`: stopping, logging, learning rates and loss/reward weights. The rest
# shape networks, buffers or the task, which a checkpoint fixes.
RESUMABLE_FIELDS = (
    "max_env_steps", "minutes", "checkpoint_every_min", "eval_every_steps", "log_every_s", "eval_command_vx_m_s",
    "torch_threads", "sac.actor_lr", "sac.critic_lr", "sac.alpha_lr", "sac.max_grad_norm", "sac.target_entropy_scale",
    "ppo.lr", "ppo.entropy_coef", "ppo.value_coef", "ppo.max_grad_norm", "ppo.desired_kl",
    "amp.loss_coef", "amp.grad_pen_coef", "reward.w_task", "reward.w_amp", "reward.amp_reward_coef",
    # the same physics on another simulator (tests/test_backend_contract.py): a run moves between machines
    "env.backend", "env.sim_device", "env.sim_threads", "env.sim_arrays", "device",
)
DEVICES = ("auto", "cpu", "cuda", "mps")


def override_keys(overrides: list[str]) -> list[str]:
    return [item.split("=", 1)[0].strip() for item in overrides or []]


def check_resumable(overrides: list[str]) -> None:
    """ValueError naming the first `--set` key that a resumed run cannot change."""
    for key in override_keys(overrides):
        if key not in RESUMABLE_FIELDS:
            raise ValueError(f"--set {key} cannot change on --resume (it shapes the networks, buffers or task the "
                             f"checkpoint holds); fields that can: {', '.join(RESUMABLE_FIELDS)}")


def validate(cfg: TrainConfig) -> TrainConfig:
    """ValueError, with the field's name, for a value no run can use (before anything is built or written)."""
    def positive(name, value, integer=False):
        if integer and (isinstance(value, bool) or not isinstance(value, int)):
            raise ValueError(f"{name} must be a whole number, got {value!r}")
        if not (isinstance(value, (int, float)) and value > 0 and value == value and value != float("inf")):
            raise ValueError(f"{name} must be positive, got {value!r}")

    def non_negative(name, value):
        if not (isinstance(value, (int, float)) and value >= 0 and value != float("inf")):
            raise ValueError(f"{name} must be >= 0, got {value!r}")

    if cfg.algo not in ALGOS:
        raise ValueError(f"algo must be one of {', '.join(ALGOS)}, got {cfg.algo!r}")
    dev = str(cfg.device)
    if not (dev in DEVICES or (dev.startswith("cuda:") and dev[5:].isdigit())):
        raise ValueError(f"device must be auto, cpu, cuda, cuda:N or mps, got {cfg.device!r}")
    for name in ("max_env_steps", "minutes", "torch_threads", "checkpoint_every_min", "log_every_s"):
        non_negative(name, getattr(cfg, name))
    if isinstance(cfg.eval_every_steps, bool) or not isinstance(cfg.eval_every_steps, int) or cfg.eval_every_steps < 0:
        raise ValueError(f"eval_every_steps must be a whole number >= 0, got {cfg.eval_every_steps!r}")
    e = cfg.env
    positive("env.num_envs", e.num_envs, integer=True)
    positive("env.decimation", e.decimation, integer=True)
    for name in ("sim_dt_s", "episode_length_s", "action_scale"):
        positive(f"env.{name}", getattr(e, name))
    non_negative("amp.input_noise_std", cfg.amp.input_noise_std)
    a = cfg.amp
    if not (0 <= a.rhythm_negatives < 1 and 0 <= a.rhythm_reversed_share <= 1):
        raise ValueError(f"amp.rhythm_negatives must be in [0, 1) and amp.rhythm_reversed_share in [0, 1], got "
                         f"{a.rhythm_negatives!r} and {a.rhythm_reversed_share!r}")
    if a.rhythm_negatives and a.rhythm_reversed_share < 1 and not (
            a.rhythm_speedups and all(k > 1 for k in a.rhythm_speedups)):
        raise ValueError(f"amp.rhythm_speedups must be speed-up factors > 1, got {tuple(a.rhythm_speedups)}")
    policy_hz = 1.0 / (e.sim_dt_s * e.decimation)
    if not (isinstance(e.action_filter_hz, (int, float)) and 0 <= e.action_filter_hz < policy_hz / 2):
        raise ValueError(f"env.action_filter_hz must be 0 (off) or a cutoff below the policy's Nyquist "
                         f"frequency {policy_hz / 2:g} Hz, got {e.action_filter_hz!r}")
    lo, hi = e.command_vx_range_m_s
    if not lo <= hi:
        raise ValueError(f"env.command_vx_range_m_s must be (low, high) with low <= high, got {e.command_vx_range_m_s}")
    for name in CLOCK_TERMS + ("tracking_relative_above_m_s",):
        non_negative(f"reward.{name}", getattr(cfg.reward, name))
    for name in ("gait_clock_force_sigma_n2", "gait_clock_speed_sigma_m2_s2", "gait_clock_height_sigma_m2"):
        positive(f"reward.{name}", getattr(cfg.reward, name))
    if cfg.reward.action_rate > 0:
        raise ValueError(f"reward.action_rate is a cost: a scale <= 0, got {cfg.reward.action_rate!r}")
    if cfg.reward.action_rate and not e.observe_last_action:
        raise ValueError("reward.action_rate needs env.observe_last_action=true (the policy must see the action "
                         "its next one is charged against)")
    if not (isinstance(e.residual_limit_rad, (int, float)) and 0 <= e.residual_limit_rad < float("inf")):
        raise ValueError(f"env.residual_limit_rad must be >= 0 rad (0: off), got {e.residual_limit_rad!r}")
    if any(not (isinstance(x, (int, float)) and 0 < x < float("inf")) for x in e.kp_by_gait_nm_rad):
        raise ValueError(f"env.kp_by_gait_nm_rad must be > 0 N m/rad each, got {e.kp_by_gait_nm_rad!r}")
    if cfg.amp.gait_condition and not e.gait_clock:
        raise ValueError("amp.gait_condition labels the policy's windows with its gait clock's bank: it needs "
                         "env.gait_clock=true")
    if e.kp_by_gait_nm_rad and not e.gait_clock:
        raise ValueError("env.kp_by_gait_nm_rad picks kp by the gait clock's bank: it needs env.gait_clock=true")
    if not (isinstance(e.kp_run_nm_rad, (int, float)) and 0 <= e.kp_run_nm_rad < float("inf")):
        raise ValueError(f"env.kp_run_nm_rad must be >= 0 N m/rad (0: off), got {e.kp_run_nm_rad!r}")
    if e.kp_run_nm_rad and not e.gait_clock:
        raise ValueError("env.kp_run_nm_rad picks kp by the gait clock's gait: it needs env.gait_clock=true")
    if e.kp_run_nm_rad and e.kp_by_gait_nm_rad:
        raise ValueError("env.kp_run_nm_rad and env.kp_by_gait_nm_rad both set each gait's kp: give one "
                         "(set env.kp_run_nm_rad=0 to use env.kp_by_gait_nm_rad)")
    if e.residual_limit_rad and not e.reference_feedforward:
        raise ValueError("env.residual_limit_rad bounds the correction to the dog's stride: it needs "
                         "env.reference_feedforward=true")
    if e.stance_torque_feedforward and not e.reference_feedforward:
        raise ValueError("env.stance_torque_feedforward needs env.reference_feedforward=true (the torques hold "
                         "the dog's stride)")
    if not (isinstance(e.feedforward_swing_clearance_m, (int, float))
            and 0 <= e.feedforward_swing_clearance_m <= 0.1):
        raise ValueError("env.feedforward_swing_clearance_m must be in [0, 0.1] m (0: off), got "
                         f"{e.feedforward_swing_clearance_m!r}")
    if e.feedforward_swing_clearance_m and not e.reference_feedforward:
        raise ValueError("env.feedforward_swing_clearance_m raises the swing feet of the dog's stride: it needs "
                         "env.reference_feedforward=true")
    if e.reference_feedforward and not e.gait_clock:
        raise ValueError("env.reference_feedforward needs env.gait_clock=true (the feedforward follows the clock's "
                         "phase)")
    if cfg.reward.gait_clock_gate_by_tracking and not any(getattr(cfg.reward, n) for n in CLOCK_TERMS):
        raise ValueError("reward.gait_clock_gate_by_tracking=true gates the clock's terms, but none is on "
                         "(set reward.gait_clock, gait_clock_swing_free, gait_clock_stance_still, "
                         "gait_clock_stance_loaded or gait_clock_swing_height)")
    ceiling = cfg.reward.gait_clock_swing_height_ceiling_m
    if not (isinstance(ceiling, (int, float)) and 0 <= ceiling <= 0.2):
        raise ValueError(f"reward.gait_clock_swing_height_ceiling_m must be in [0, 0.2] m (0: off), got {ceiling!r}")
    if ceiling and not cfg.reward.gait_clock_swing_height:
        raise ValueError("reward.gait_clock_swing_height_ceiling_m makes reward.gait_clock_swing_height one-sided, "
                         "but that term is off (set reward.gait_clock_swing_height, e.g. 120)")
    if cfg.reward.gait_clock_swing_height_run_only and not cfg.reward.gait_clock_swing_height:
        raise ValueError("reward.gait_clock_swing_height_run_only=true picks the gaits reward.gait_clock_swing_height "
                         "pays, but that term is off (set reward.gait_clock_swing_height, e.g. 120)")
    for name in CLOCK_TERMS:
        if getattr(cfg.reward, name) and not e.gait_clock:
            raise ValueError(f"reward.{name} needs env.gait_clock=true (the policy must see the clock it is "
                             "paid to follow)")
    if e.terrain not in ("flat", "waves"):
        raise ValueError(f"env.terrain must be flat or waves, got {e.terrain!r}")
    if e.terrain == "waves":
        if isinstance(e.terrain_levels, bool) or not isinstance(e.terrain_levels, int) or e.terrain_levels < 2:
            raise ValueError(f"env.terrain_levels must be a whole number >= 2, got {e.terrain_levels!r}")
        if not 0 < e.terrain_max_amplitude_m <= 0.2:
            raise ValueError(f"env.terrain_max_amplitude_m must be in (0, 0.2] m, got {e.terrain_max_amplitude_m}")
        longest, shortest = e.terrain_wavelength_m
        if not 0.1 <= shortest <= longest:
            raise ValueError("env.terrain_wavelength_m must be (longest, shortest) with shortest >= 0.1 m, got "
                             f"{e.terrain_wavelength_m}")
    if not (isinstance(cfg.sac.exploration_tau_s, (int, float)) and 0 <= cfg.sac.exploration_tau_s < float("inf")):
        raise ValueError(f"sac.exploration_tau_s must be >= 0 s, got {cfg.sac.exploration_tau_s!r}")
    if cfg.sac.exploration_tau_s and cfg.algo != "sac":
        raise ValueError("sac.exploration_tau_s is for AMP+SAC (PPO's ratio needs its own white noise)")
    if e.sim_arrays not in ("auto", "numpy", "torch"):
        raise ValueError(f"env.sim_arrays must be auto, numpy or torch, got {e.sim_arrays!r}")
    if e.sim_arrays == "torch" and e.backend != "warp":
        raise ValueError(f"env.sim_arrays=torch needs --backend warp (the {e.backend} backend's state is numpy)")
    if e.command_source not in COMMAND_SOURCES:
        raise ValueError(f"env.command_source must be one of {', '.join(COMMAND_SOURCES)}, got {e.command_source!r}")
    if not 0 <= e.command_bank_jitter < 1:
        raise ValueError(f"env.command_bank_jitter must be in [0, 1), got {e.command_bank_jitter}")
    if e.command_curriculum_step_m_s < 0:
        raise ValueError(f"env.command_curriculum_step_m_s must be >= 0, got {e.command_curriculum_step_m_s}")
    if e.command_curriculum_step_m_s > 0:
        positive("env.command_curriculum_start_m_s", e.command_curriculum_start_m_s)
        positive("env.command_curriculum_episodes", e.command_curriculum_episodes, integer=True)
    a = cfg.amp
    positive("amp.batch_size", a.batch_size, integer=True)
    positive("amp.replay_size", a.replay_size, integer=True)
    positive("amp.updates_per_iter", a.updates_per_iter, integer=True)
    positive("amp.frame_stride", a.frame_stride, integer=True)
    if isinstance(a.window_frames, bool) or not isinstance(a.window_frames, int) or a.window_frames < 2:
        raise ValueError(f"amp.window_frames must be a whole number >= 2, got {a.window_frames!r}")
    non_negative("amp.history_size", a.history_size)
    non_negative("amp.loss_coef", a.loss_coef)
    non_negative("amp.grad_pen_coef", a.grad_pen_coef)
    if not 0 <= a.history_fraction <= 1:
        raise ValueError(f"amp.history_fraction must be in [0, 1], got {a.history_fraction}")
    for section, net in (("amp", a), ("sac", cfg.sac), ("ppo", cfg.ppo)):
        if not net.hidden or any(isinstance(h, bool) or not isinstance(h, int) or h < 1 for h in net.hidden):
            raise ValueError(f"{section}.hidden must be layer sizes >= 1, got {net.hidden}")
    s = cfg.sac
    for name in ("actor_lr", "critic_lr", "alpha_lr", "init_alpha", "init_std", "max_grad_norm"):
        positive(f"sac.{name}", getattr(s, name))
    for name in ("batch_size", "updates_per_step", "replay_size", "n_step", "steps_per_iter"):
        positive(f"sac.{name}", getattr(s, name), integer=True)
    non_negative("sac.warmup_steps", s.warmup_steps)
    if not (0 < s.gamma <= 1 and 0 < s.tau <= 1):
        raise ValueError(f"sac.gamma and sac.tau must be in (0, 1], got {s.gamma}, {s.tau}")
    p = cfg.ppo
    for name in ("lr", "desired_kl", "clip", "init_std", "max_grad_norm"):
        positive(f"ppo.{name}", getattr(p, name))
    for name in ("steps_per_env", "epochs", "minibatches"):
        positive(f"ppo.{name}", getattr(p, name), integer=True)
    if not (0 < p.gamma <= 1 and 0 <= p.lam <= 1):
        raise ValueError(f"ppo.gamma must be in (0, 1] and ppo.lam in [0, 1], got {p.gamma}, {p.lam}")
    if cfg.algo == "ppo" and (p.steps_per_env * e.num_envs) < p.minibatches:
        raise ValueError("ppo.minibatches exceeds the steps of one iteration (ppo.steps_per_env x env.num_envs)")
    return cfg


def from_options(preset: str | None, algo: str, *, backend: str = "mujoco", seed: int = 1, num_envs: int | None = None,
                 steps: int | None = None, minutes: float | None = None, overrides: list[str] | None = None,
                 resume: bool = False, init_from: str | None = None, init_parts: str = "actor,norm",
                 terrain: str | None = None) -> TrainConfig:
    """The config `amp-data train` runs: the preset's, then the options, then `--set` overrides (on --resume
    only checked: the run's own config is restored from its checkpoint); preset None: the algo's default
    (`default_preset`). ValueError names the bad option."""
    cfg = make_config(default_preset(algo) if preset is None else preset, algo)
    cfg.env.backend, cfg.seed = backend, seed
    if num_envs is not None:
        cfg.env.num_envs = num_envs
    if steps is not None and steps < 0:
        raise ValueError(f"--steps must be >= 0, got {steps}")
    if minutes is not None and not (minutes >= 0 and minutes != float("inf")):
        raise ValueError(f"--minutes must be >= 0, got {minutes}")
    if steps is not None or minutes is not None:
        cfg.max_env_steps, cfg.minutes = steps or 0, minutes or 0.0
    if terrain is not None:
        if resume:
            raise ValueError("--terrain cannot change on --resume (the observation has the terrain's parameters)")
        cfg.env.terrain = terrain
        if terrain == "waves":
            cfg.reward.dof_pos_limits = -2.0     # the paper's terrain runs: a milder joint-limit penalty
    if init_from:
        if resume:
            raise ValueError("--init-from starts a new run from another run's weights; --resume continues this "
                             "run from its own: give one of them")
        from learner.warm_start import parse_parts

        cfg.init_from, cfg.init_parts = str(init_from), parse_parts(init_parts)
    if resume:
        check_resumable(overrides or [])
    else:
        apply_overrides(cfg, overrides or [])
    return validate(cfg)


def describe(cfg, prefix: str = "") -> list[str]:
    """`section.field = value` lines, for printing at the start of a run."""
    lines = []
    for f in dataclasses.fields(cfg):
        v = getattr(cfg, f.name)
        if dataclasses.is_dataclass(v):
            lines += describe(v, f"{prefix}{f.name}.")
        else:
            lines.append(f"{prefix}{f.name} = {v}")
    return lines
