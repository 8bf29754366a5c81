#!/usr/bin/env python
"""Can the Go2 balance on the dog's lateral pairs? A linear inverted pendulum's answer, from a bank.

    python benchmarks/lateral_balance.py walk.h5 [trot.h5 ...] [--json FILE]

The dog walks in lateral couplets: most of its walk stands on a lateral pair (FL and RL, or FR and RR).
On a lateral pair the body is held up along one line only, and a body beside that line falls away from
it unless it sways over to meet it. For every frame of a bank on exactly a lateral pair (its `contacts`):
the horizontal distance d from the base origin (standing in for the centre of mass) to the line through
the two stance feet, in the base's heading frame, for the Go2's feet (`foot_pos_base`) and for the dog's
toes (`source/keypoints`, scaled). A linear inverted pendulum of height h (the base height, tau =
sqrt(h / g)) that stands on such lines, one side then the other, T seconds each (the median lateral-pair
phase), sways periodically only with the lateral speed

    v = d tanh(T / (2 tau)) / tau       as it crosses the midline, and sways d (1 - 1 / cosh(T / (2 tau)))

to each side. The reference's own lateral base speed (its 95th percentile, `base_lin_vel`; the base follows
the dog's body) sets the widest line it can balance: d_max = v_ref tau / tanh(T / (2 tau)).
The double-support phases on three or four feet need no sway and are left out. Written by hand: the
pendulum is three lines of closed form (checked against integration in `tests/test_lateral_balance.py`).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import h5py  # noqa: E402
import numpy as np  # noqa: E402
from scipy.spatial.transform import Rotation  # noqa: E402

from amp_data.motion.feasibility import dog_toes_xy  # noqa: E402

G_M_S2 = 9.81
LEFT_PAIR, RIGHT_PAIR = (0, 2), (1, 3)           # FL+RL, FR+RR in the banks' foot order


def lateral_pair_side(contacts: np.ndarray) -> np.ndarray:
    """(T,) +1 on exactly the left pair down, -1 on exactly the right pair, 0 otherwise; contacts (T, 4)."""
    c = np.asarray(contacts, dtype=bool)
    two = c.sum(axis=1) == 2
    left = two & c[:, LEFT_PAIR[0]] & c[:, LEFT_PAIR[1]]
    right = two & c[:, RIGHT_PAIR[0]] & c[:, RIGHT_PAIR[1]]
    return left.astype(int) - right.astype(int)


def distance_to_line_m(a_xy: np.ndarray, b_xy: np.ndarray, p_xy=None) -> np.ndarray:
    """Distance (...,) of p (default the origin) from the line through a and b, all (..., 2)."""
    p = np.zeros(2) if p_xy is None else np.asarray(p_xy)
    ab, ap = b_xy - a_xy, p - a_xy
    return np.abs(ab[..., 0] * ap[..., 1] - ab[..., 1] * ap[..., 0]) / np.linalg.norm(ab, axis=-1)


def heading_xy(rel_xy: np.ndarray, yaw_rad: np.ndarray) -> np.ndarray:
    """Horizontal offsets (T, K, 2) from the base, world axes, turned into the base's heading frame (x along
    its yaw, y to its left); yaw (T,)."""
    c, s = np.cos(yaw_rad)[:, None], np.sin(yaw_rad)[:, None]
    return np.stack([c * rel_xy[..., 0] + s * rel_xy[..., 1], c * rel_xy[..., 1] - s * rel_xy[..., 0]], axis=-1)


def pair_line_m(side: np.ndarray, feet_xy: np.ndarray) -> np.ndarray:
    """Distance from the base of the stance pair's line on each frame on a lateral pair (`side` != 0, from
    `lateral_pair_side`); feet (T, 4, 2) in the base's heading frame."""
    i = np.flatnonzero(side != 0)
    pair = np.where(side[i, None] > 0, np.array(LEFT_PAIR), np.array(RIGHT_PAIR))
    return distance_to_line_m(feet_xy[i, pair[:, 0]], feet_xy[i, pair[:, 1]])


def pair_phase_steps(side: np.ndarray) -> np.ndarray:
    """Lengths (frames) of the spells on one lateral pair, left and right."""
    return np.concatenate([run_lengths(side == 1), run_lengths(side == -1)])


def pendulum_sway(d_m, half_period_s, height_m):
    """A linear inverted pendulum's periodic sway over support lines d either side of the midline, T each:
    (lateral speed at the midline m/s, sway to each side m)."""
    tau = np.sqrt(height_m / G_M_S2)
    x = half_period_s / (2 * tau)
    return d_m * np.tanh(x) / tau, d_m * (1 - 1 / np.cosh(x))


def widest_line_m(speed_m_s, half_period_s, height_m):
    """The inverse: the distance d a sway with this midline speed balances."""
    tau = np.sqrt(height_m / G_M_S2)
    return speed_m_s * tau / np.tanh(half_period_s / (2 * tau))


def run_lengths(mask: np.ndarray) -> np.ndarray:
    """Lengths of the runs of True in a 1-D bool array."""
    m = np.concatenate([[False], np.asarray(mask, dtype=bool), [False]])
    edges = np.flatnonzero(np.diff(m.astype(int)))
    return edges[1::2] - edges[::2]


def bank_balance(path) -> dict:
    with h5py.File(path, "r") as f:
        fps, scale = float(f.attrs["fps"]), float(f.attrs["scale"])
        contacts = f["contacts"][:].astype(bool)
        feet = f["foot_pos_base"][:]
        root_pos, root_quat = f["root_pos"][:], f["root_quat"][:]
        v_lat = f["base_lin_vel"][:, 1]
        clips = {k: f["clips"][k][:] for k in ("start", "stop", "keypoint_start", "keypoint_stop")}
        has_kp = "source" in f and "keypoints" in f["source"]
        keypoints = f["source/keypoints"][:] if has_kp else None
        names = [str(n) for n in f["source"].attrs["names"]] if has_kp else []
        source_fps = float(f.attrs["source_fps"])

    side = lateral_pair_side(contacts)
    on_pair = side != 0
    phases = np.concatenate([pair_phase_steps(side[a:b]) for a, b in zip(clips["start"], clips["stop"])])
    half_period_s = float(np.median(phases)) / fps if len(phases) else float("nan")
    height_m = float(np.median(root_pos[:, 2]))

    out = {"bank": str(path), "frames": int(len(contacts)), "lateral_pair_share": float(on_pair.mean()),
           "lateral_pair_phase_s": half_period_s, "base_height_m": height_m,
           "tau_s": float(np.sqrt(height_m / G_M_S2)),
           "reference_lateral_speed_p95_m_s": float(np.percentile(np.abs(v_lat), 95))}
    if not on_pair.any():
        return out
    # the feet in the base's heading frame (yaw only), as the toes below: the base's roll moves a foot 0.3 m
    # below it by 5 mm a degree in the base frame
    rot = Rotation.from_quat(root_quat)                                  # banks are xyzw
    yaw = rot.as_euler("ZYX")[:, 0]
    feet_world = np.einsum("tij,tkj->tki", rot.as_matrix(), feet)
    d_go2 = float(np.median(pair_line_m(side, heading_xy(feet_world[..., :2], yaw))))
    out["go2_line_m"] = d_go2
    out["go2_speed_m_s"], out["go2_sway_m"] = (float(x) for x in pendulum_sway(d_go2, half_period_s, height_m))
    if keypoints is not None:
        toes = np.full((len(contacts), 4, 2), np.nan)
        for a, b, ka, kb in zip(clips["start"], clips["stop"], clips["keypoint_start"], clips["keypoint_stop"]):
            xy = dog_toes_xy(keypoints[ka:kb], names, source_fps, fps, b - a, scale) if kb > ka else None
            if xy is not None:
                toes[a:b] = xy
        d = pair_line_m(side, heading_xy(toes - root_pos[:, None, :2], yaw))
        d = d[np.isfinite(d)]
        if len(d):
            d_dog = float(np.median(d))
            out["dog_line_m"] = d_dog
            out["dog_speed_m_s"], out["dog_sway_m"] = (float(x) for x in pendulum_sway(d_dog, half_period_s,
                                                                                        height_m))
    out["widest_line_at_reference_sway_m"] = float(widest_line_m(out["reference_lateral_speed_p95_m_s"],
                                                                 half_period_s, height_m))
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("banks", nargs="+")
    ap.add_argument("--json")
    args = ap.parse_args(argv)
    for p in args.banks:
        if not Path(p).is_file():
            print(f"error: {p}: no such bank file", file=sys.stderr)
            return 2
    rows = [bank_balance(p) for p in args.banks]
    for r in rows:
        print(f"{Path(r['bank']).name}: on a lateral pair {100 * r['lateral_pair_share']:.0f} % of frames, "
              f"{r['lateral_pair_phase_s']:.2f} s at a time; base {r['base_height_m']:.2f} m (tau "
              f"{r['tau_s']:.3f} s)")
        if "go2_line_m" not in r:
            continue
        print(f"  Go2's feet: line {100 * r['go2_line_m']:.1f} cm from the base -> sway speed "
              f"{r['go2_speed_m_s']:.2f} m/s, {100 * r['go2_sway_m']:.1f} cm each way")
        if "dog_line_m" in r:
            print(f"  dog's toes: line {100 * r['dog_line_m']:.1f} cm from the base -> sway speed "
                  f"{r['dog_speed_m_s']:.2f} m/s, {100 * r['dog_sway_m']:.1f} cm each way")
        print(f"  the reference sways at {r['reference_lateral_speed_p95_m_s']:.2f} m/s (95th percentile): it "
              f"balances a line up to {100 * r['widest_line_at_reference_sway_m']:.1f} cm from the base")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
