"""Task reward terms of the AMP+SAC paper's Table III, as pure functions of state arrays (numpy, over N envs).

Each term returns its raw value (N,), before its scale (numpy arrays, or torch tensors of one device:
the arrays' own namespace, `learner.arrays.namespace`); `task_reward` multiplies by the Table III scales
and by the policy dt (legged_gym's convention, which the paper's scales follow: 240 for velocity tracking
is 4.8 per 0.02 s step). Definitions are legged_gym's (`legged_robot.py`, `_reward_*`); frames: base frame
for velocities, world for heights.
"""

from __future__ import annotations

import numpy as np

from learner.arrays import namespace

TERMS = ("tracking_lin_vel_x", "lin_vel_z", "ang_vel_xy", "ang_vel_z", "base_height", "collision",
         "feet_contact_forces", "dof_acc", "dof_pos_limits", "torques")


def tracking_lin_vel_x(command_vx_m_s, base_lin_vel_b, sigma, relative_above_m_s=0.0):
    """exp(-(v_cmd - v_x)^2 / sigma), base-frame forward velocity: 1 on target.

    With `relative_above_m_s` > 0 the error of a command faster than that speed is scaled by
    relative_above_m_s / |v_cmd|: the kernel's width grows with the command, so that it is as wide, as a share
    of the command, at every speed above that one."""
    xp = namespace(base_lin_vel_b)
    err = command_vx_m_s - base_lin_vel_b[:, 0]
    if relative_above_m_s > 0:
        speed = xp.abs(command_vx_m_s + 0.0 * err)       # broadcast a scalar command to (N,)
        err = err * relative_above_m_s / xp.maximum(speed, xp.full_like(speed, relative_above_m_s))
    return xp.exp(-xp.square(err) / sigma)


def lin_vel_z(base_lin_vel_b):
    return base_lin_vel_b[:, 2] ** 2


def ang_vel_xy(base_ang_vel_b):
    return namespace(base_ang_vel_b).sum(base_ang_vel_b[:, :2] ** 2, axis=1)


def ang_vel_z(base_ang_vel_b):
    """Yaw rate squared: the command is straight ahead, so any turning is penalised."""
    return base_ang_vel_b[:, 2] ** 2


def base_height(base_height_m, target_m):
    return (base_height_m - target_m) ** 2


def collision(body_contact):
    """1 where a trunk, hip, thigh or calf presses on the floor (legged_gym counts bodies; the backend
    reports any)."""
    if isinstance(body_contact, np.ndarray):
        return body_contact.astype(float)
    xp = namespace(body_contact)
    return xp.astype(body_contact, xp.float64)


def feet_contact_forces(foot_force_n, max_force_n):
    """Sum over feet of the normal force above `max_force_n` (N)."""
    xp = namespace(foot_force_n)
    return xp.sum(xp.clip(foot_force_n - max_force_n, 0.0, None), axis=1)


def dof_acc(joint_vel, prev_joint_vel, dt_s):
    return namespace(joint_vel).sum(((prev_joint_vel - joint_vel) / dt_s) ** 2, axis=1)


def action_rate(action, prev_action):
    return namespace(action).sum((action - prev_action) ** 2, axis=1)


def dof_pos_limits(joint_pos, soft_limits_rad):
    """Sum over joints of how far (rad) each is outside its soft limits (12, 2)."""
    xp = namespace(joint_pos)
    below = xp.clip(soft_limits_rad[:, 0] - joint_pos, 0.0, None)
    above = xp.clip(joint_pos - soft_limits_rad[:, 1], 0.0, None)
    return xp.sum(below + above, axis=1)


def torques(torques_nm):
    return namespace(torques_nm).sum(torques_nm ** 2, axis=1)


def feet_air_time(first_contact, air_time_s, target_s, command_vx_m_s):
    """Sum over the feet that touch down this step of (time in the air - target), s: negative for a hop
    shorter than the target swing, positive for a longer swing; 0 for a command under 0.1 m/s (standing).
    legged_gym's `_reward_feet_air_time` with the target as a parameter (0.5 s there). The task passes
    contacts through legged_gym's one-step filter (in contact now or at the last step): MuJoCo's foot
    forces also drop to 0 for single steps while a foot rests on the floor (seen after a drop with zero
    actions), so only gaps of two steps (0.04 s) or more count as time in the air."""
    xp = namespace(air_time_s)
    r = xp.sum((air_time_s - target_s) * first_contact, axis=1)
    return r * (xp.abs(command_vx_m_s) > 0.1)


def gait_clock_match(foot_contact, desired):
    """Mean over the feet of how far each does what a gait clock asks (N,) in [0, 1]: desired * contact +
    (1 - desired) * (1 - contact), `desired` (N, 4) in [0, 1], `foot_contact` (N, 4) bool. 1 for feet on the
    floor exactly in their stance phases, 0 for the opposite."""
    c = foot_contact * 1.0
    return namespace(desired).mean(desired * c + (1 - desired) * (1 - c), axis=1)


def gait_clock_swing_free(foot_force_n, desired, sigma_n2):
    """Mean over the feet of how freely each swings where the clock has it in the air (N,) in [0, 1]:
    (1 - desired) * exp(-F^2 / sigma). Walk These Ways' `tracking_contacts_shaped_force` plus the mean of
    (1 - desired), which no action changes: the same pull on the policy, but a reward, so that
    `only_positive`'s clip at 0 cannot swallow it. Unlike a contact match it falls smoothly with the force:
    a foot that brushes the floor loses less than one that bears weight out of its phase."""
    xp = namespace(foot_force_n)
    return xp.mean((1 - desired) * xp.exp(-foot_force_n ** 2 / sigma_n2), axis=1)


def gait_clock_stance_still(foot_vel_w, desired, sigma_m2_s2):
    """Mean over the feet of how still each stands where the clock has it on the floor (N,) in [0, 1]:
    desired * exp(-|v_foot|^2 / sigma), `foot_vel_w` (N, 4, 3) m/s. Walk These Ways'
    `tracking_contacts_shaped_vel` plus the mean of desired, as a reward: a stance foot that slides, lifts or
    bounces earns less."""
    xp = namespace(foot_vel_w)
    speed2 = xp.sum(foot_vel_w ** 2, axis=2)
    return xp.mean(desired * xp.exp(-speed2 / sigma_m2_s2), axis=1)


def gait_clock_stance_loaded(foot_force_n, desired, sigma_n2):
    """Mean over the feet of how far each bears weight where the clock has it on the floor (N,) in [0, 1]:
    desired * (1 - exp(-F^2 / sigma)). The counterpart of `gait_clock_swing_free`, which Walk These Ways does
    not have: its stance term (`gait_clock_stance_still`) pays a still foot whether it stands or hovers, so
    a foot may stay up into its stance and land late."""
    xp = namespace(foot_force_n)
    return xp.mean(desired * (1 - xp.exp(-foot_force_n ** 2 / sigma_n2)), axis=1)


def gait_clock_swing_height(foot_height_m, reference_height_m, desired, sigma_m2, ceiling_m=0.0):
    """Mean over the feet of how closely each follows the dog's foot height where the clock has it in the
    air (N,) in [0, 1]: (1 - desired) * exp(-(h - h_dog)^2 / sigma), heights (N, 4) m of the foot centres
    above the floor. Walk These Ways' `feet_clearance_cmd` with the dog's mean height at the clock's phase
    (`GaitClocks.foot_height_m`) in place of a commanded clearance, and as a reward. With `ceiling_m` > 0 only
    the height above h_dog + ceiling_m counts: (1 - desired) * exp(-max(h - h_dog - ceiling_m, 0)^2 / sigma),
    so a foot lower than that, even on the floor, loses nothing (the swing-free term judges that)."""
    xp = namespace(foot_height_m)
    err = foot_height_m - reference_height_m
    if ceiling_m > 0:
        err = xp.clip(err - ceiling_m, 0.0, None)
    return xp.mean((1 - desired) * xp.exp(-err ** 2 / sigma_m2), axis=1)


# the terms paid under env.gait_clock's schedule (RewardConfig fields of the same names)
CLOCK_TERMS = ("gait_clock", "gait_clock_swing_free", "gait_clock_stance_still", "gait_clock_swing_height",
               "gait_clock_stance_loaded")


def reward_terms(cfg, *, command_vx_m_s, base_lin_vel_b, base_ang_vel_b, base_height_m, base_height_target_m,
                 body_contact, foot_force_n, joint_pos, joint_vel, prev_joint_vel, torques_nm, soft_limits_rad,
                 dt_s, foot_first_contact=None, foot_air_time_s=None, foot_contact=None,
                 foot_contact_desired=None, foot_vel_w=None, foot_height_m=None,
                 foot_height_reference_m=None, action=None, prev_action=None) -> dict[str, np.ndarray]:
    """Every term, scaled by its Table III weight and by dt: {name: (N,)}. `cfg`: RewardConfig.

    With `cfg.feet_air_time` not 0 also that term, from `foot_first_contact` (N, 4) bool (feet that touch
    down this step) and `foot_air_time_s` (N, 4) (their time in the air up to this step). With
    `cfg.gait_clock` not 0 also `gait_clock_match` of `foot_contact` (N, 4) bool and the clock's
    `foot_contact_desired` (N, 4); with `cfg.gait_clock_swing_free` or `cfg.gait_clock_stance_still` not 0
    those terms of `foot_force_n` and `foot_vel_w` (N, 4, 3) under the same schedule (and
    `cfg.gait_clock_stance_loaded` of `foot_force_n`), and with
    `cfg.gait_clock_swing_height` not 0 that of `foot_height_m` (N, 4) against `foot_height_reference_m`.
    With `cfg.gait_clock_gate_by_tracking` the clock's terms are multiplied by the tracking term's factor.
    With `cfg.action_rate` not 0 also that term, of the policy's `action` and `prev_action` (N, 12)."""
    tracking = tracking_lin_vel_x(command_vx_m_s, base_lin_vel_b, cfg.tracking_sigma,
                                  cfg.tracking_relative_above_m_s)
    raw = {
        "tracking_lin_vel_x": tracking,
        "lin_vel_z": lin_vel_z(base_lin_vel_b),
        "ang_vel_xy": ang_vel_xy(base_ang_vel_b),
        "ang_vel_z": ang_vel_z(base_ang_vel_b),
        "base_height": base_height(base_height_m, base_height_target_m),
        "collision": collision(body_contact),
        "feet_contact_forces": feet_contact_forces(foot_force_n, cfg.max_contact_force_n),
        "dof_acc": dof_acc(joint_vel, prev_joint_vel, dt_s),
        "dof_pos_limits": dof_pos_limits(joint_pos, soft_limits_rad),
        "torques": torques(torques_nm),
    }
    if cfg.action_rate:
        raw["action_rate"] = action_rate(action, prev_action)
    if cfg.feet_air_time:
        raw["feet_air_time"] = feet_air_time(foot_first_contact, foot_air_time_s, cfg.feet_air_time_target_s,
                                             command_vx_m_s)
    if cfg.gait_clock:
        raw["gait_clock"] = gait_clock_match(foot_contact, foot_contact_desired)
    if cfg.gait_clock_swing_free:
        raw["gait_clock_swing_free"] = gait_clock_swing_free(foot_force_n, foot_contact_desired,
                                                             cfg.gait_clock_force_sigma_n2)
    if cfg.gait_clock_stance_still:
        raw["gait_clock_stance_still"] = gait_clock_stance_still(foot_vel_w, foot_contact_desired,
                                                                 cfg.gait_clock_speed_sigma_m2_s2)
    if cfg.gait_clock_stance_loaded:
        raw["gait_clock_stance_loaded"] = gait_clock_stance_loaded(foot_force_n, foot_contact_desired,
                                                                   cfg.gait_clock_force_sigma_n2)
    if cfg.gait_clock_swing_height:
        raw["gait_clock_swing_height"] = gait_clock_swing_height(foot_height_m, foot_height_reference_m,
                                                                 foot_contact_desired,
                                                                 cfg.gait_clock_height_sigma_m2,
                                                                 cfg.gait_clock_swing_height_ceiling_m)
    if cfg.gait_clock_gate_by_tracking:
        for k in CLOCK_TERMS:
            if k in raw:
                raw[k] = raw[k] * tracking
    return {k: getattr(cfg, k) * dt_s * v for k, v in raw.items()}


def amp_reward(d):
    """r_AMP = max(0, 1 - 0.25 (D - 1)^2) of the discriminator output D (eq. 5), in [0, 1]. numpy or torch."""
    r = 1.0 - 0.25 * (d - 1.0) ** 2
    return r.clamp(min=0.0) if hasattr(r, "clamp") else np.maximum(r, 0.0)


def combined_reward(rew_cfg, task_reward, style_reward):
    """r = w_task r_task + w_amp * coef * r_AMP (eq. 6; Table II's coef), with r_AMP in [0, 1] from
    `amp_reward`. numpy or torch."""
    return rew_cfg.w_task * task_reward + style_part(rew_cfg, style_reward)


def style_part(rew_cfg, style_reward):
    """The style share of eq. 6: w_amp * coef * r_AMP."""
    return rew_cfg.w_amp * rew_cfg.amp_reward_coef * style_reward
