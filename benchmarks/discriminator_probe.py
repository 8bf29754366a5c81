#!/usr/bin/env python
"""Diagnostic: what a run's discriminator scores. Does it see rhythm, or only poses and speeds?

    python benchmarks/discriminator_probe.py RUN [--bank walk] [--speedup 3] [--json FILE]

Scores, under the run's final discriminator (D, and the style reward r_AMP = max(0, 1 - (D - 1)^2 / 4)):
1. the reference: windows of the bank's clips at random times (as the discriminator trained on them);
2. the policy: its windows while it walks deterministically at the bank's mean speed (12 s, the first 2 s
   dropped; `amp-data eval`'s rollout);
3. the dog's gait `--speedup` times faster with its joint swings `--speedup` times smaller about each clip's
   mean pose: the same forward speed, the same joint speeds (amplitude / k times frequency k), feet by FK of
   the new angles: a shuffle made of the dog's own motion (`ExpertSampler.distorted_windows`, which
   `amp.rhythm_negatives` feeds the discriminator as negatives);
4. the reference's windows with their frames in reverse order (time run backwards);
5. standing still in the default pose.
A discriminator that scores 3 or 4 near 1 cannot tell the shuffle from the gait, or does not look at the
order of its frames: the style reward then cannot ask for the dog's rhythm.

Then, per field of the AMP observation (`amp_data/expert/amp_obs.py`), over every frame of the windows, how
far the policy's windows (2) lie from the reference's (1): the mean over the field's values of |policy mean
- reference mean| / reference std, and of policy std / reference std: what the policy does unlike the dog
(crouching, wobbling), whichever of it the discriminator uses.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("run")
    ap.add_argument("--bank", default=None, help="reference bank name (default: the first)")
    ap.add_argument("--speedup", type=float, default=3.0)
    ap.add_argument("-n", type=int, default=4096, help="windows per row")
    ap.add_argument("--json")
    args = ap.parse_args()

    import torch
    from learner.play import load_policy, roll_out
    from learner.rewards import amp_reward
    from learner.train import make_expert

    lp = load_policy(args.run)
    agent, task, cfg = lp.agent, lp.task, lp.cfg
    expert = make_expert(lp.bank_paths, cfg, seed=0)
    names = [Path(p).stem for p in lp.bank_paths]
    bank = names.index(args.bank) if args.bank else 0
    rng = np.random.default_rng(0)

    def score(windows) -> dict:
        with torch.no_grad():
            d = agent.disc.score(torch.as_tensor(np.asarray(windows), dtype=torch.float32, device=agent.device))
        return {"D": float(d.mean()), "r_amp": float(amp_reward(d).mean()), "n": int(len(d))}

    clips = np.array([i for i, c in enumerate(expert.clips) if c.bank_index == bank])
    speed = float(np.mean(expert.clip_forward_speed_m_s()[clips]))

    def windows(speedup: float, reversed_share: float) -> np.ndarray:
        # at speed-up 1, not reversed: the bank's own windows (feet by FK)
        return expert.distorted_windows(args.n, (speedup,), reversed_share, rng, bank_index=bank)

    policy_windows = []
    real_step = task.step

    def recording_step(actions):
        res = real_step(actions)
        policy_windows.append(res.amp_window.copy())
        return res
    task.step = recording_step
    rollout = roll_out(agent, task, 12.0, speed)
    task.step = real_step
    policy = np.concatenate(policy_windows[int(2.0 / task.dt_s):])

    k = task.window_frames
    reference = windows(1.0, 0.0)
    rows = {
        f"reference ({names[bank]} bank)": score(reference),
        f"policy at {speed:.2f} m/s" + (" (fell)" if rollout.fell else ""): score(policy),
        f"the dog's gait x{args.speedup:g} faster, swings / {args.speedup:g}": score(windows(args.speedup, 0.0)),
        "the reference, frames in reverse order": score(windows(1.0, 1.0)),
        "standing still in the default pose": score(_standing_obs(task)),
    }
    task.backend.close()
    print(f"{args.run}: discriminator of {lp.source.checkpoint.name}, windows of {k} frames "
          f"{task.frame_stride} steps apart")
    for name, r in rows.items():
        print(f"  {name:48s} D {r['D']:+.2f}   r_AMP {r['r_amp']:.2f}")
    gaps = field_gaps(policy, reference, k)
    print("  policy against the reference, per field: |mean gap| / reference std, std / reference std")
    for name, g in gaps.items():
        print(f"    {name:14s} {g['mean_gap_std']:5.2f}  {g['std_ratio']:5.2f}")
    height = {"policy": mean_base_height_m(policy, k), "reference": mean_base_height_m(reference, k)}
    print(f"  base height: policy {height['policy']:.3f} m, reference {height['reference']:.3f} m")
    if args.json:
        Path(args.json).write_text(json.dumps({**rows, "field_gaps": gaps, "base_height_m": height}, indent=2))
    return 0


def field_gaps(policy_windows, reference_windows, window_frames: int) -> dict:
    """Per AMP observation field: the mean over its values of |policy mean - reference mean| / reference std
    and of policy std / reference std, over every frame of windows (n, window_frames * AMP_OBS_DIM [+ label])."""
    from amp_data.expert.amp_obs import AMP_OBS_LAYOUT

    p, r = _frames(policy_windows, window_frames), _frames(reference_windows, window_frames)
    r_std = np.maximum(r.std(axis=0), 1e-9)
    gap, ratio = np.abs(p.mean(axis=0) - r.mean(axis=0)) / r_std, p.std(axis=0) / r_std
    return {name: {"mean_gap_std": float(gap[sl].mean()), "std_ratio": float(ratio[sl].mean())}
            for name, sl in AMP_OBS_LAYOUT.items()}


def mean_base_height_m(windows, window_frames: int) -> float:
    """The mean base height (m) over every frame of windows (n, window_frames * AMP_OBS_DIM [+ label])."""
    from amp_data.expert.amp_obs import AMP_OBS_LAYOUT
    return float(_frames(windows, window_frames)[:, AMP_OBS_LAYOUT["base_height"]].mean())


def _frames(windows, window_frames: int) -> np.ndarray:
    """(n * window_frames, AMP_OBS_DIM): every frame of windows, any gait label dropped."""
    from amp_data.expert.amp_obs import AMP_OBS_DIM
    return np.asarray(windows)[:, :window_frames * AMP_OBS_DIM].reshape(-1, AMP_OBS_DIM)


def _standing_obs(task) -> np.ndarray:
    """One window (1, window_dim) of standing still in the default pose: a standing start's history is its
    first state repeated (with amp.gait_condition, labelled with the slowest bank's gait)."""
    from learner.arrays import to_numpy
    with task.evaluation_episodes(0.0, 2):
        task.reset()
        return to_numpy(task.amp_window())[:1]


if __name__ == "__main__":
    sys.exit(main())
