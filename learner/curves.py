"""Learning curves of one or more run folders (their metrics.csv and eval.csv) in one PNG."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from amp_data.format.atomic import atomic_output
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


TERRAIN_PANEL = ("metrics", "terrain_amplitude_m", "wave terrain: curriculum's mean amplitude", "m")
COMMAND_CAP_PANEL = ("metrics", "command_cap_m_s", "command curriculum: cap on the commands", "m/s")
REQUIRED_METRICS = ("env_steps", "time_s")


def _read_csv(path: Path, required: tuple[str, ...]) -> pd.DataFrame:
    """A run's CSV with numeric columns; InputError naming the file if it is empty, garbled or lacks columns."""
    try:
        df = pd.read_csv(path)
    except pd.errors.EmptyDataError:
        raise InputError(path, "is empty (a run that logged nothing yet?)") from None
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as e:
        raise InputError(path, f"is not a metrics CSV ({str(e).splitlines()[0]})") from None
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise InputError(path, f"is not a metrics CSV: no column {', '.join(missing)}")
    if required and df.empty:
        raise InputError(path, "holds a header but no rows yet (a run that logged nothing yet?)")
    df = df.apply(pd.to_numeric, errors="coerce")
    if required and df[list(required)].isna().all().any():
        raise InputError(path, f"column(s) {', '.join(required)} hold no numbers")
    return df


def read_run(run: Path) -> dict[str, pd.DataFrame]:
    run = Path(run)
    if not (run / "metrics.csv").is_file():
        raise InputError(run, "is not a run folder (no metrics.csv)")
    out = {"metrics": _read_csv(run / "metrics.csv", REQUIRED_METRICS)}
    out["eval"] = _read_csv(run / "eval.csv", ()) if (run / "eval.csv").is_file() else pd.DataFrame()
    if len(out["eval"]) and "env_steps" not in out["eval"]:
        raise InputError(run / "eval.csv", "is not an evaluation CSV: no column env_steps")
    return out


def plot_runs(runs: list[Path], out_png: Path, smooth: int = 5, loaded: list[dict] | None = None) -> Path:
    """Six panels against environment steps, one line per run (training curves smoothed over `smooth` rows).
    Every run is read (or given, `loaded`: read_run of each) and checked before anything is drawn or written."""
    from amp_data.format.atomic import check_output_file

    check_output_file(out_png, (".png",), [Path(r) / "metrics.csv" for r in runs])
    data = [(Path(r).name, d) for r, d in zip(runs, loaded or [read_run(r) for r in runs])]
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    def logged(col):
        return any(col in d["metrics"] and d["metrics"][col].notna().any() for _, d in data)

    panels = PANELS + tuple(p for p in (TERRAIN_PANEL, COMMAND_CAP_PANEL) if logged(p[1]))
    rows = -(-len(panels) // 3)
    fig, axes = plt.subplots(rows, 3, figsize=(15, 3.75 * rows), squeeze=False)
    for ax in axes.ravel()[len(panels):]:
        ax.set_visible(False)
    for ax, (kind, col, title, ylabel) in zip(axes.ravel(), panels):
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


def final_table(runs: list[Path], loaded: list[dict] | None = None) -> list[dict]:
    """Last eval row and the run's mean throughput, per run (`loaded`: read_run of each, if read already)."""
    rows = []
    for r, d in zip(runs, loaded or [read_run(r) for r in runs]):
        m, e = d["metrics"], d["eval"]
        last = e.iloc[-1].to_dict() if len(e) else {}
        def mean(col):
            values = m[col].dropna() if col in m else ()
            return float(np.mean(values)) if len(values) else float("nan")

        rows.append({"run": Path(r).name, "env_steps": int(m["env_steps"].dropna().iloc[-1]),
                     "minutes": float(m["time_s"].dropna().iloc[-1]) / 60,
                     "env_steps_per_s": mean("env_steps_per_s"), "updates_per_s": mean("updates_per_s"),
                     **{f"eval_{k}": v for k, v in last.items()}})
    return rows
