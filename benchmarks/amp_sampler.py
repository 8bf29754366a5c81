#!/usr/bin/env python
"""Benchmark: expert AMP transitions per second from `ExpertSampler`, against on-the-fly interpolation.

    python benchmarks/amp_sampler.py [--banks PATH ...] [--batch 8192] [--repeats 7] [--json FILE]

Measures, in one run (see benchmarks/README.md):

1. reading the banks and preloading the (s, s') pairs (start times at every frame, and 4 per frame);
2. batches of `--batch` transitions from the preloaded pairs: numpy arrays, and torch CPU tensors;
3. the naive baseline: AMP_for_hardware-style on-the-fly sampling (its `AMPLoader` without
   preload_transitions): per batch, draw clips by weight and times uniformly, then for t and t + dt
   gather the two neighbouring frames of each sample with a Python loop over the distinct clips in
   the batch, lerp the vectors, slerp the root quaternion, and build the observations (torch, CPU);
4. our own on-the-fly path (`ExpertSampler.amp_obs_at`, vectorised numpy, no preload), to separate
   the gain of preloading from that of vectorising;
5. the agreement of the baseline's observations with ours at the same clips and times.

Banks: `--banks` files or folders of *.h5; default: every MANN clip retargeted (`retarget.batch.run_jobs`,
one bank per clip, 50 fps) into a temporary folder first (not timed). Exit code 2 if neither is found.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # runnable from a plain checkout too
    sys.path.insert(0, str(REPO))

from amp_data.format.bank import read_bank  # noqa: E402
from amp_data.errors import InputError  # noqa: E402
from amp_data.expert.sampler import ExpertSampler  # noqa: E402

TARGET_PER_S = 10e6
CALLS_PER_REPEAT = 50


def rate_of(fn, batch: int, repeats: int, calls: int = CALLS_PER_REPEAT) -> dict:
    """Per-batch wall times of fn() over `repeats` x `calls` calls: best and median repeat."""
    fn()
    per = []
    for _ in range(repeats):
        gc.collect()
        t0 = time.perf_counter()
        for _ in range(calls):
            fn()
        per.append((time.perf_counter() - t0) / calls)
    best, med = min(per), float(np.median(per))
    return {"best_s": best, "median_s": med, "best_per_s": batch / best, "median_per_s": batch / med}


class OnTheFlyBaseline:
    """AMP_for_hardware's AMPLoader without preloaded transitions, on our banks (torch, CPU).

    Per trajectory a float32 tensor of full frames [root_pos 3, root_quat 4, joint_pos 12, foot_pos 12,
    lin_vel 3, ang_vel 3, joint_vel 12]; `get_full_frame_at_time_batch` loops over the distinct
    trajectories of the batch and blends low/high frames (lerp, quaternion slerp for the root). Frame
    indices use t * fps (AMP_for_hardware computes p * n with n frames over (n - 1) / fps, an off-by-one
    that would spoil the agreement check); clips are played as `clamp`.
    """

    def __init__(self, sampler: ExpertSampler, torch):
        self.torch = torch
        self.fps = sampler.fps
        self.dt = sampler.policy_dt_s
        f = sampler._frames
        full = np.concatenate([f["root_pos"], f["root_quat"], f["joint_pos"], f["foot_pos_base"].reshape(-1, 12),
                               f["base_lin_vel"], f["base_ang_vel"], f["joint_vel"]], axis=1)
        self.trajs = [torch.tensor(full[c.first_row:c.first_row + c.num_frames], dtype=torch.float32)
                      for c in sampler.clips]
        self.num_frames = np.array([c.num_frames for c in sampler.clips])
        self.lens = (self.num_frames - 1) / self.fps
        self.weights = sampler.clip_probabilities
        self.ids = np.arange(len(self.trajs))

    def _slerp(self, q0, q1, t):   # AMP_for_hardware utils.quaternion_slerp
        torch = self.torch
        cos_half = torch.sum(q0 * q1, dim=-1, keepdim=True)
        q1 = torch.where(cos_half < 0, -q1, q1)
        cos_half = torch.abs(cos_half)
        half = torch.acos(torch.clamp(cos_half, -1.0, 1.0))
        sin_half = torch.sqrt(1.0 - cos_half * cos_half)
        ra = torch.sin((1 - t) * half) / sin_half
        rb = torch.sin(t * half) / sin_half
        out = ra * q0 + rb * q1
        out = torch.where(torch.abs(sin_half) < 0.001, 0.5 * q0 + 0.5 * q1, out)
        return torch.where(torch.abs(cos_half) >= 1, q0, out)

    def frames_at(self, clips: np.ndarray, times: np.ndarray):
        torch = self.torch
        g = times * self.fps
        low = np.minimum(np.floor(g).astype(np.int64), self.num_frames[clips] - 1)
        high = np.minimum(low + 1, self.num_frames[clips] - 1)
        n = len(clips)
        start = torch.zeros(n, 49)
        end = torch.zeros(n, 49)
        for c in set(clips.tolist()):
            mask = clips == c
            m = torch.from_numpy(mask)
            start[m] = self.trajs[c][low[mask]]
            end[m] = self.trajs[c][high[mask]]
        blend = torch.tensor(g - low, dtype=torch.float32).unsqueeze(-1)
        pos = (1 - blend) * start[:, :3] + blend * end[:, :3]
        rot = self._slerp(start[:, 3:7], end[:, 3:7], blend)
        amp = (1 - blend) * start[:, 7:] + blend * end[:, 7:]
        return torch.cat([pos, rot, amp], dim=-1)

    def obs_at(self, clips, times):
        full = self.frames_at(clips, times)
        return self.torch.cat([full[:, 7:49], full[:, 2:3]], dim=-1)   # AMP_for_hardware feed_forward_generator

    def sample(self, batch: int, rng: np.random.Generator):
        clips = rng.choice(self.ids, size=batch, p=self.weights)
        times = rng.random(batch) * np.maximum(self.lens[clips] - self.dt, 0.0)
        return self.obs_at(clips, times), self.obs_at(clips, times + self.dt)


def find_banks(args) -> tuple[list[Path], str, tempfile.TemporaryDirectory | None]:
    if args.banks:
        files = []
        for p in map(Path, args.banks):
            files += sorted(p.glob("*.h5")) if p.is_dir() else [p]
        return files, f"{len(files)} bank file(s) given", None
    import raw_mocap
    from retarget.batch import Job, run_jobs
    from retarget.pipeline import RetargetConfig
    clips = raw_mocap.default_clips()
    if not clips:
        raise InputError(None, "no --banks given and no MANN clip folder found (set AMP_DATA_MOCAP)")
    tmp = tempfile.TemporaryDirectory(prefix="amp_sampler_bench_")
    print(f"retargeting {len(clips)} MANN clips into {tmp.name} (not timed) ...", file=sys.stderr)
    t0 = time.perf_counter()
    outcomes = run_jobs([Job(c, Path(tmp.name) / f"{c.stem}.h5") for c in clips], RetargetConfig())
    files = [o.job.output for o in outcomes if o.error is None]
    return files, f"every MANN clip retargeted ({len(files)} banks, {time.perf_counter() - t0:.1f} s)", tmp


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--banks", nargs="*", help="bank files or folders (default: retarget every MANN clip)")
    ap.add_argument("--batch", type=int, default=8192, help="transitions per batch (default 8192)")
    ap.add_argument("--repeats", type=int, default=7, help=f"timed repeats of {CALLS_PER_REPEAT} batches (default 7)")
    ap.add_argument("--json", type=Path, help="also write every number to this file")
    ap.add_argument("--torch-threads", type=int, default=1,
                    help="torch intra-op threads (default 1: on a shared 2-core machine 2 threads made the "
                         "baseline's small ops 100x slower and erratic)")
    args = ap.parse_args(argv)
    try:
        files, origin, tmp = find_banks(args)
        if not files:
            raise InputError(None, "no bank files found")
    except InputError as e:
        print(f"amp_sampler benchmark: error: {e}", file=sys.stderr)
        return 2
    try:
        import torch
        torch.set_num_threads(args.torch_threads)
    except ImportError:
        torch = None
    B, R = args.batch, args.repeats
    res: dict = {"batch": B, "repeats": R, "calls_per_repeat": CALLS_PER_REPEAT}
    load0 = os.getloadavg()

    t0 = time.perf_counter()
    banks = [read_bank(f) for f in files]
    res["read_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    sampler = ExpertSampler(banks, seed=0)
    res["preload_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    sampler4 = ExpertSampler(banks, start_substeps=4, seed=0)
    res["preload_sub4_s"] = time.perf_counter() - t0
    frames = sum(c.num_frames for c in sampler.clips)

    res["numpy"] = rate_of(lambda: sampler.sample(B), B, R)
    res["numpy_sub4"] = rate_of(lambda: sampler4.sample(B), B, R)
    if torch is not None:
        sampler_t = ExpertSampler(banks, seed=0, device="cpu")
        res["torch_cpu"] = rate_of(lambda: sampler_t.sample(B), B, R)
    rng = np.random.default_rng(1)
    probs = sampler.clip_probabilities
    dur = np.array([c.duration_s for c in sampler.clips])

    def ours_on_the_fly():
        clips = rng.choice(len(probs), size=B, p=probs)
        t = rng.random(B) * np.maximum(dur[clips] - sampler.policy_dt_s, 0.0)
        return sampler.amp_obs_at(clips, t), sampler.amp_obs_at(clips, t + sampler.policy_dt_s)

    res["ours_on_the_fly"] = rate_of(ours_on_the_fly, B, max(3, R // 2), calls=5)
    if torch is not None:
        base = OnTheFlyBaseline(sampler, torch)
        res["baseline"] = rate_of(lambda: base.sample(B, rng), B, max(3, R // 2), calls=5)
        clamp = np.flatnonzero([c.clip.loop_mode == "clamp" for c in sampler.clips])
        clips = rng.choice(clamp, size=B)
        t = rng.random(B) * np.array([sampler.clips[c].duration_s for c in clips])
        res["agreement_max_abs"] = float(np.abs(base.obs_at(clips, t).numpy() - sampler.amp_obs_at(clips, t)).max())
    load1 = os.getloadavg()

    print("AMP expert sampler benchmark")
    print(f"machine : {os.cpu_count()} CPUs, {platform.platform()}, Python {platform.python_version()}, "
          f"numpy {np.__version__}" + (f", torch {torch.__version__} ({torch.get_num_threads()} threads)" if torch else ", no torch"))
    print(f"banks   : {origin}: {len(sampler.clips)} clips, {frames:,} frames at {sampler.fps:g} fps, policy dt "
          f"{sampler.policy_dt_s} s, weighting {sampler.weighting!r}")
    print(f"load avg: {[round(x, 2) for x in load0]} at start, {[round(x, 2) for x in load1]} at end")
    print(f"batch   : {B} transitions; rates = batch / time per batch, best (median) of {R} repeats x "
          f"{CALLS_PER_REPEAT} batches (on-the-fly lines: fewer)\n")
    print(f"{'measurement':58s} {'time':>12s} {'transitions/s':>16s}  notes")
    print("-" * 110)
    print(f"{'read_bank, all banks':58s} {res['read_s'] * 1e3:9.1f} ms")
    print(f"{'preload: ExpertSampler(banks), a start at every frame':58s} {res['preload_s'] * 1e3:9.1f} ms "
          f"{'':16s}  {sampler.num_pairs:,} pairs, {sampler.pairs.nbytes / 1e6:.1f} MB float32")
    print(f"{'preload: start_substeps=4':58s} {res['preload_sub4_s'] * 1e3:9.1f} ms {'':16s}  "
          f"{sampler4.num_pairs:,} pairs, {sampler4.pairs.nbytes / 1e6:.1f} MB")

    def line(label, r, note=""):
        print(f"{label:58s} {r['best_s'] * 1e6:9.1f} us {r['best_per_s'] / 1e6:12.1f} M/s  "
              f"(median {r['median_per_s'] / 1e6:.1f} M/s) {note}")

    line("sample(8192): preloaded, numpy", res["numpy"],
         "MEETS >= 10 M/s" if res["numpy"]["best_per_s"] >= TARGET_PER_S else "BELOW 10 M/s")
    if "torch_cpu" in res:
        line("sample(8192): preloaded, torch CPU tensors", res["torch_cpu"],
             "MEETS >= 10 M/s" if res["torch_cpu"]["best_per_s"] >= TARGET_PER_S else "BELOW 10 M/s")
    line("sample(8192): preloaded, numpy, start_substeps=4", res["numpy_sub4"])
    line("ours on the fly: amp_obs_at(t), amp_obs_at(t + dt), numpy", res["ours_on_the_fly"])
    if "baseline" in res:
        line("baseline: AMP_for_hardware-style on the fly, torch CPU", res["baseline"])
        print(f"{'speed-up preloaded numpy / baseline':58s} {res['numpy']['best_per_s'] / res['baseline']['best_per_s']:12.0f}x")
        if "torch_cpu" in res:
            print(f"{'speed-up preloaded torch CPU / baseline':58s} "
                  f"{res['torch_cpu']['best_per_s'] / res['baseline']['best_per_s']:12.0f}x")
        print(f"{'agreement: baseline vs ours, same clips and times':58s} {res['agreement_max_abs']:12.1e}  "
              "max |obs difference| (float32 baseline)")
    res.update(load_start=load0, load_end=load1, banks=origin, clips=len(sampler.clips), frames=frames,
               pairs=sampler.num_pairs, pairs_sub4=sampler4.num_pairs)
    if args.json:
        args.json.write_text(json.dumps(res, indent=2))
    if tmp is not None:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
