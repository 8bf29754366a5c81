"""Learning curves of one or more run folders (their metrics.csv and eval.csv) in one PNG."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from amp_data.atomic import atomic_output
from amp_data.errors import InputError

# (csv, column, title, y label)
PANELS = (
    ("metrics", "style_reward", "style reward r_AMP (training)", "0..1"),
    ("metrics", "task_reward", "task reward per step (training)", "Table III sum"),
    ("metrics", "episode_length_s", "episode length (training)", "s"),
    ("eval", "speed_ratio", "eval: forward speed / command", "ratio"),
    ("eval", "no_fall_rate", "eval: episodes without a fall", "fraction"),
    ("eval", "style_reward", "eval: style reward", "0..1"),
)


def read_run(run: Path) -> dict[str, pd.DataFrame]:
    run = Path(run)
    if not (run / "metrics.csv").is_file():
        raise InputError(run, "is not a run folder (no metrics.csv)")
    out = {"metrics": pd.read_csv(run / "metrics.csv")}
    out["eval"] = pd.read_csv(run / "eval.csv") if (run / "eval.csv").is_file() else pd.DataFrame()
    return out


def plot_runs(runs: list[Path], out_png: Path, smooth: int = 5) -> Path:
    """Six panels against environment steps, one line per run (training curves smoothed over `smooth` rows)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    data = [(Path(r).name, read_run(r)) for r in runs]
    fig, axes = plt.subplots(2, 3, figsize=(15, 7.5))
    for ax, (kind, col, title, ylabel) in zip(axes.ravel(), PANELS):
        for name, d in data:
            df = d[kind]
            if col not in df or df[col].dropna().empty:
                continue
            y = df[col].astype(float)
            if kind == "metrics" and smooth > 1:
                y = y.rolling(smooth, min_periods=1).mean()
            ax.plot(df["env_steps"] / 1e6, y, label=name, marker="o" if kind == "eval" else None, ms=3)
        if col == "speed_ratio":
            ax.axhline(0.5, color="grey", ls="--", lw=0.8)
        if col == "no_fall_rate":
            ax.axhline(0.9, color="grey", ls="--", lw=0.8)
        ax.set_title(title)
        ax.set_xlabel("environment steps (millions)")
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
    axes[0, 0].legend()
    fig.tight_layout()
    out_png = Path(out_png)
    with atomic_output(out_png) as tmp:
        fig.savefig(tmp, dpi=90, format="png")
    plt.close(fig)
    return out_png


def final_table(runs: list[Path]) -> list[dict]:
    """Last eval row and the run's mean throughput, per run."""
    rows = []
    for r in runs:
        d = read_run(r)
        m, e = d["metrics"], d["eval"]
        last = e.iloc[-1].to_dict() if len(e) else {}
        rows.append({"run": Path(r).name, "env_steps": int(m["env_steps"].iloc[-1]),
                     "minutes": float(m["time_s"].iloc[-1]) / 60,
                     "env_steps_per_s": float(np.nanmean(m["env_steps_per_s"])),
                     "updates_per_s": float(np.nanmean(m["updates_per_s"])), **{f"eval_{k}": v for k, v in last.items()}})
    return rows
