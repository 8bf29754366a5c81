"""The gait of every kept checkpoint of a run (`checkpoints/step_*.pt`), as `amp-data eval` measures it: how the
policy's rhythm changes while it trains. Writes RUN/gait_by_checkpoint.csv and prints it.

    python benchmarks/gait_by_checkpoint.py RUN [--banks walk.h5 trot.h5] [--seconds 12]

Columns, per checkpoint: env steps, then for each bank of the run (its mean speed as the command): forward
speed, stride frequency from the simulator's contacts, leg swing frequency, steps detected as the banks detect
contacts, mean duty, share of time with no foot down, gait label, and whether it fell. The run keeps its last
five checkpoints (`learner.run_folder.KEEP_CHECKPOINTS`); copy them aside while it trains for a longer history.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from learner.imitation import evaluate_imitation  # noqa: E402


def gait_row(report) -> dict:
    row = {"env_steps": report.env_steps}
    for name, g in report.gaits.items():
        pol, det = g["policy"], g.get("policy_detected")
        row[f"{name}_speed_m_s"] = pol["forward_speed_m_s"] if pol else np.nan
        row[f"{name}_contacts_hz"] = pol["stride_freq_hz"] if pol else np.nan
        row[f"{name}_legs_hz"] = pol["leg_swing_freq_hz"] if pol else np.nan
        row[f"{name}_detected_steps_hz"] = det["stride_freq_hz"] if det else np.nan
        row[f"{name}_mean_duty"] = float(np.mean(pol["duty"])) if pol else np.nan
        row[f"{name}_flight_share"] = pol["flight_share"] if pol else np.nan
        row[f"{name}_label"] = pol["label"] if pol else "-"
        row[f"{name}_fell"] = g["fell"]
    return row


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run", type=Path)
    ap.add_argument("--banks", type=Path, nargs="*", default=None, help="the run's banks, when they have moved")
    ap.add_argument("--seconds", type=float, default=12.0)
    args = ap.parse_args(argv)
    paths = sorted((args.run / "checkpoints").glob("step_*.pt"))
    if not paths:
        print(f"{args.run}: no checkpoints/step_*.pt", file=sys.stderr)
        return 2
    rows = []
    for p in paths:
        rows.append(gait_row(evaluate_imitation(args.run, p, seconds=args.seconds, banks=args.banks or None)))
        print(", ".join(f"{k} {v:.2f}" if isinstance(v, float) else f"{k} {v}" for k, v in rows[-1].items()),
              flush=True)
    with open(args.run / "gait_by_checkpoint.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
