"""Compare groups of runs over seeds: mean and 95 % bootstrap confidence interval of each metric on a
common grid, as the AMP+SAC paper's Figs. 8 and 9 (Sec. IV-E: each seed's curve linearly interpolated onto
a common grid, then normalised globally; the shaded band is a bootstrap CI of the mean across seeds).

Runs are grouped by a config field (`--by algo`, `--by amp.window_frames`), by folder name without its seed
suffix (`--by name`), or, by default, by every config field in which the runs differ, seed and bookkeeping
fields aside (`--by auto`): runs whose configs differ only in the seed are one group.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from amp_data.errors import InputError
from learner.curves import read_run

# (key, csv, column, title, unit, normalised in the figures)
METRICS = (
    ("style_reward", "metrics", "style_reward", "discriminator reward r_AMP per step (Fig. 8)", "0..2", True),
    ("task_return", "metrics", "episode_task_return", "task return per episode (Fig. 9)", "Table III sum", True),
    ("speed_ratio", "eval", "speed_ratio", "eval: forward speed / command", "ratio", False),
    ("no_fall_rate", "eval", "no_fall_rate", "eval: episodes without a fall", "fraction", False),
    # PPO's deterministic mean action may stand still while the actions it samples walk: both are shown
    ("train_speed_ratio", "metrics", "train_speed_ratio", "training: forward speed / command (sampled actions)",
     "ratio", False),
)
METRIC_KEYS = tuple(m[0] for m in METRICS)

# config fields that do not make two runs different experiments
NOT_AN_EXPERIMENT = ("seed", "checkpoint_every_min", "eval_every_steps", "log_every_s", "max_env_steps", "minutes", "torch_threads",
                     "device", "env.sim_threads", "init_from")   # init_parts tells a warm start
ALGO_LABELS = {"sac": "AMP+SAC", "ppo": "AMP+PPO"}
X_AXES = {"steps": ("env_steps", 1e-6, "environment steps (millions)"),
          "minutes": ("time_s", 1 / 60, "wall-clock minutes")}
_SEED_SUFFIX = re.compile(r"[-_.](s|seed)\d+$")
# the imitation issue's first target, met by one deterministic evaluation
TARGET_SPEED_RATIO, TARGET_NO_FALL_RATE = 0.5, 0.9


def first_at_target(eval_df, x_col: str = "env_steps", until: float = np.inf,
                    speed_ratio: float = TARGET_SPEED_RATIO, no_fall_rate: float = TARGET_NO_FALL_RATE):
    """x (env steps or seconds) of the first evaluation at or before `until` whose forward speed is at least
    `speed_ratio` of the command with at least `no_fall_rate` of its episodes without a fall; None if none is.
    An evaluation is only as early as the run's grid of evaluations (`eval_every_steps`) lets it be."""
    if not len(eval_df) or not {x_col, "speed_ratio", "no_fall_rate"} <= set(eval_df.columns):
        return None
    d = eval_df[[x_col, "speed_ratio", "no_fall_rate"]].dropna().sort_values(x_col)
    d = d[d[x_col] <= until]
    met = d[(d["speed_ratio"] >= speed_ratio) & (d["no_fall_rate"] >= no_fall_rate)]
    return float(met[x_col].iloc[0]) if len(met) else None


def bootstrap_mean_ci(values: np.ndarray, confidence: float = 0.95, n_resamples: int = 10_000,
                      seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean over axis 0 (seeds) and its percentile-bootstrap confidence interval, for every column at once.

    values: (n_seeds, ...) array. With one seed the interval is NaN (one sample says nothing about spread).
    Returns (mean, low, high), each values.shape[1:]."""
    from scipy.stats import bootstrap

    values = np.asarray(values, dtype=float)
    mean = values.mean(axis=0)
    if values.shape[0] < 2:
        nan = np.full_like(mean, np.nan)
        return mean, nan, nan.copy()
    ci = bootstrap((values,), np.mean, axis=0, vectorized=True, method="percentile", n_resamples=n_resamples,
                   confidence_level=confidence, rng=np.random.default_rng(seed)).confidence_interval
    return mean, np.asarray(ci.low, dtype=float), np.asarray(ci.high, dtype=float)


def _flatten(config: dict, prefix: str = "") -> dict[str, object]:
    out = {}
    for k, v in config.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(_flatten(v, key + "."))
        else:
            out[key] = tuple(v) if isinstance(v, list) else v
    return out


def read_config(run: Path) -> dict[str, object]:
    """A run's config.json, flattened to dotted keys (`amp.window_frames`)."""
    path = Path(run) / "config.json"
    if not path.is_file():
        raise InputError(run, "is not a run folder (no config.json)")
    try:
        return _flatten(json.loads(path.read_text()))
    except (json.JSONDecodeError, UnicodeDecodeError, AttributeError) as e:
        raise InputError(path, f"is not a run config (JSON): {e}") from None


def _show(v: object) -> str:
    if isinstance(v, tuple):
        return "(" + ", ".join(_show(x) for x in v) + ")"
    return f"{v:g}" if isinstance(v, float) else str(v)


def _preset_defaults(config: dict) -> dict[str, object]:
    """The flattened defaults of the run's own preset and algo (empty if the config names neither)."""
    from learner.config import make_config, to_dict

    try:
        return _flatten(to_dict(make_config(str(config.get("preset")), str(config.get("algo")))))
    except ValueError:
        return {}


@functools.lru_cache(maxsize=1)
def _dataclass_defaults() -> tuple[tuple[str, object], ...]:
    from learner.config import TrainConfig, to_dict

    return tuple(_flatten(to_dict(TrainConfig())).items())


def _with_fields_from_before(config: dict) -> dict[str, object]:
    """The run's config with every field it lacks (written before the field existed) at the field's
    dataclass default: a new field's default is the behaviour from before it (switches start off), whatever
    a preset sets it to now (cpu-dog's env.kp_run_nm_rad=40 is not what its earlier runs ran)."""
    return {**dict(_dataclass_defaults()), **config}


def _experiment(config: dict, defaults: dict) -> dict[str, str]:
    """What makes a run's experiment: algo, preset and every field set away from its preset's `defaults`,
    fields of the other algorithm's section and bookkeeping fields aside."""
    other = {"sac": "ppo.", "ppo": "sac."}.get(str(config.get("algo")), "")
    out = {k: _show(config[k]) for k in ("algo", "preset") if k in config}
    for k, v in config.items():
        if k in NOT_AN_EXPERIMENT or (other and k.startswith(other)) or k in out:
            continue
        if k not in defaults or _show(defaults[k]) != _show(v):
            out[k] = _show(v)
    return out


def _preset_only_renames(configs: list[dict], defaults: list[dict], value: list[dict], differ: list[str]) -> bool:
    """True when runs that agree on every differing field but the preset also agree on every resolved
    field (each run's config over its preset's defaults): then the preset names the same experiment twice."""
    rest = [k for k in differ if k != "preset"]
    resolved = {}
    for c, d, v in zip(configs, defaults, value):
        full = {k: _show(x) for k, x in {**d, **c}.items() if k not in NOT_AN_EXPERIMENT and k != "preset"}
        if resolved.setdefault(tuple(v[k] for k in rest), full) != full:
            return False
    return True


def group_runs(runs: list[Path], configs: list[dict], by: str = "auto") -> dict[str, list[int]]:
    """Group label -> indices into `runs`, in the order groups first appear."""
    if by == "name":
        keys = [_SEED_SUFFIX.sub("", Path(r).resolve().name) for r in runs]
    elif by == "auto":
        configs = [_with_fields_from_before(c) for c in configs]
        defaults = [_preset_defaults(c) for c in configs]
        exps = [_experiment(c, d) for c, d in zip(configs, defaults)]
        fields = list(dict.fromkeys(k for e in exps for k in e))
        # a field a run leaves at its preset's default counts as that default
        value = [{k: e.get(k, _show(d.get(k, "-"))) for k in fields} for e, d in zip(exps, defaults)]
        differ = [k for k in fields if len({v[k] for v in value}) > 1]
        if "preset" in differ and _preset_only_renames(configs, defaults, value, differ):
            differ.remove("preset")   # e.g. cpu-dog runs beside cpu runs with the same switches set by hand
        keys = []
        for v in value:
            parts = [ALGO_LABELS.get(v["algo"], v["algo"])] if "algo" in differ else []
            parts += [f"{k}={v[k]}" for k in differ if k != "algo"]
            keys.append(" ".join(parts) or "all runs")
    else:
        values = []
        for r, c in zip(runs, configs):
            v = _with_fields_from_before(c).get(by, KeyError)
            if v is KeyError:
                near = [k for k in c if k.endswith("." + by) or k.startswith(by + ".")]
                hint = f" (did you mean {', '.join(near[:3])}?)" if near else ""
                raise InputError(Path(r) / "config.json", f"has no config field {by!r}{hint}")
            values.append(v)
        keys = [ALGO_LABELS.get(str(v), str(v)) if by == "algo" else f"{by}={_show(v)}" for v in values]
    groups: dict[str, list[int]] = {}
    for i, k in enumerate(keys):
        groups.setdefault(k, []).append(i)
    return groups


@dataclass
class GroupCurves:
    """One group's runs on the common grid: per metric, (n_seeds, n_points) values (NaN-free) and the runs
    that have the metric."""
    label: str
    runs: list[str]
    seeds: list[int]
    values: dict[str, np.ndarray] = field(default_factory=dict)
    runs_with: dict[str, list[str]] = field(default_factory=dict)
    to_target: list = field(default_factory=list)        # per run: x of first_at_target, None if never
    eval_spacing: list = field(default_factory=list)     # per run: median x between its evaluations


@dataclass
class Comparison:
    x_axis: str                    # "steps" or "minutes"
    grid: np.ndarray               # in the x axis' CSV unit (env steps or seconds)
    groups: list[GroupCurves]
    notes: list[str]
    confidence: float
    n_resamples: int
    _bands: dict = field(default_factory=dict, repr=False)   # (group, metric, normalised) -> band

    def band(self, group: GroupCurves, key: str, normalised: bool = False):
        """(mean, low, high) over the grid; `normalised`: after global min-max scaling of this metric.
        Each band is bootstrapped once (the table, figures and curves.csv share them)."""
        v = group.values.get(key)
        if v is None:
            return None
        memo = (group.label, key, normalised)
        if memo not in self._bands:
            if normalised:
                lo, hi = self.global_range(key)
                v = (v - lo) / (hi - lo) if hi > lo else np.zeros_like(v)
            self._bands[memo] = bootstrap_mean_ci(v, self.confidence, self.n_resamples)
        return self._bands[memo]

    def global_range(self, key: str) -> tuple[float, float]:
        """Min and max of a metric over every group, seed and grid point: the paper's global normalisation."""
        every = [g.values[key] for g in self.groups if key in g.values]
        if not every:
            return float("nan"), float("nan")
        return float(min(v.min() for v in every)), float(max(v.max() for v in every))

    def final(self) -> list[dict]:
        """Per group: seeds, and each metric's mean and CI (raw units) at the grid's end."""
        rows = []
        for g in self.groups:
            row = {"group": g.label, "n_seeds": len(g.runs), "runs": g.runs, "seeds": g.seeds,
                   "at_" + self.x_axis: float(self.grid[-1] * (1 / 60 if self.x_axis == "minutes" else 1))}
            for key in METRIC_KEYS:
                band = self.band(g, key)
                if band is None:
                    row[key] = None
                    continue
                m, lo, hi = (float(a[-1]) for a in band)
                row[key] = {"mean": m, "ci_low": None if np.isnan(lo) else lo,
                            "ci_high": None if np.isnan(hi) else hi, "n": len(g.runs_with[key]),
                            "per_seed": [float(x) for x in g.values[key][:, -1]]}
            row["to_target"] = self.to_target_summary(g)
            rows.append(row)
        return rows

    def to_target_summary(self, g: GroupCurves) -> dict:
        """When each seed first met the speed target within the grid (x-axis units: env steps or minutes):
        per seed (None: never), how many did, their median (inf when half did not), and the mean with its
        bootstrap CI when every seed did (otherwise the mean is not defined)."""
        scale = 1 / 60 if self.x_axis == "minutes" else 1
        per_seed = [None if x is None else x * scale for x in g.to_target]
        reached = [x for x in per_seed if x is not None]
        out = {"per_seed": per_seed, "reached": len(reached), "n": len(per_seed),
               "median": float(np.median([np.inf if x is None else x for x in per_seed])) if per_seed else None,
               "mean": None, "ci_low": None, "ci_high": None,
               "eval_spacing_median": float(np.median(g.eval_spacing)) * scale if g.eval_spacing else None,
               "speed_ratio": TARGET_SPEED_RATIO, "no_fall_rate": TARGET_NO_FALL_RATE}
        if per_seed and len(reached) == len(per_seed):
            m, lo, hi = bootstrap_mean_ci(np.array(reached)[:, None], self.confidence, self.n_resamples)
            out.update(mean=float(m[0]), ci_low=None if np.isnan(lo[0]) else float(lo[0]),
                       ci_high=None if np.isnan(hi[0]) else float(hi[0]))
        return out

    def as_json(self) -> dict:
        return {"x_axis": self.x_axis, "confidence": self.confidence, "n_resamples": self.n_resamples,
                "grid_points": len(self.grid), "notes": self.notes, "groups": self.final()}


def _series(df, x_col: str, col: str, smooth: int):
    if col not in df or x_col not in df:
        return None
    d = df[[x_col, col]].dropna()
    if d.empty:
        return None
    y = d[col].astype(float)
    if smooth > 1:
        y = y.rolling(smooth, min_periods=1).mean()
    return d[x_col].to_numpy(float), y.to_numpy(float)


def compare_runs(runs: list[Path], by: str = "auto", x_axis: str = "steps", points: int = 200, smooth: int = 5,
                 confidence: float = 0.95, n_resamples: int = 10_000) -> Comparison:
    """Read every run, group them and put each seed's metrics on one grid shared by all groups: from the
    latest first log row to the earliest last one, so no curve is extrapolated."""
    if x_axis not in X_AXES:
        raise InputError(None, f"--x must be one of {', '.join(X_AXES)}, got {x_axis!r}")
    if points < 2:
        raise InputError(None, f"--points must be at least 2, got {points}")
    if not 0 < confidence < 1:
        raise InputError(None, f"--ci must be between 0 and 1 (0.95 for 95 %), got {confidence}")
    if smooth < 1:
        raise InputError(None, f"--smooth must be at least 1 row, got {smooth}")
    if len({Path(r).resolve() for r in runs}) < len(runs):
        raise InputError(None, "a run folder is given twice; each seed must count once")
    configs = [read_config(r) for r in runs]
    data = [read_run(r) for r in runs]
    for d in data:
        m = d["metrics"]
        if {"forward_vel_m_s", "command_vx_m_s"} <= set(m.columns):
            m["train_speed_ratio"] = m["forward_vel_m_s"] / m["command_vx_m_s"].where(m["command_vx_m_s"] != 0)
    groups = group_runs(runs, configs, by)
    x_col = X_AXES[x_axis][0]

    starts, ends = [], []
    for r, d in zip(runs, data):
        x = d["metrics"][x_col].dropna().to_numpy(float)
        starts.append(x.min())
        ends.append(x.max())
    start, end = max(starts), min(ends)
    if end <= start:
        raise InputError(runs[int(np.argmin(ends))], "ends before the other runs have logged anything; "
                         "nothing to compare on a common grid")
    notes = []
    if max(ends) > 1.05 * end:
        unit = "env steps" if x_axis == "steps" else "s"
        notes.append(f"runs end between {end:,.0f} and {max(ends):,.0f} {unit}; all are compared up to "
                     f"{end:,.0f} ({Path(runs[int(np.argmin(ends))]).name} ends first)")
    grid = np.linspace(start, end, points)

    out = []
    for label, idx in groups.items():
        seeds = [int(configs[i].get("seed", -1)) for i in idx]
        if len(set(seeds)) < len(seeds):
            notes.append(f"group {label!r} holds the same seed twice ({seeds}); its CI is too narrow")
        g = GroupCurves(label, [Path(runs[i]).name for i in idx], seeds)
        for i in idx:
            ev = data[i]["eval"]
            g.to_target.append(first_at_target(ev, x_col, until=end))
            xs = np.sort(ev[x_col].dropna().to_numpy(float)) if x_col in ev else np.array([])
            if len(xs) > 1:
                g.eval_spacing.append(float(np.median(np.diff(xs))))
        for key, kind, col, *_ in METRICS:
            rows, names = [], []
            for i in idx:
                df = data[i][kind]
                if kind == "eval" and len(df) and x_col not in df:
                    continue          # an old eval.csv without time_s cannot go on a minutes grid
                s = _series(df, x_col, col, smooth if kind == "metrics" else 1)
                if s is None:
                    continue
                rows.append(np.interp(grid, *s))
                names.append(Path(runs[i]).name)
            if rows:
                g.values[key] = np.stack(rows)
                g.runs_with[key] = names
        out.append(g)
    return Comparison(x_axis, grid, out, notes, confidence, n_resamples)


def write_curves_csv(cmp: Comparison, path: Path, normalised: bool) -> None:
    """Long table of every band: group, metric, x, mean, ci_low, ci_high, n_seeds."""
    import pandas as pd

    from amp_data.format.atomic import atomic_output

    x_name = "env_steps" if cmp.x_axis == "steps" else "minutes"
    x = cmp.grid if cmp.x_axis == "steps" else cmp.grid / 60
    frames = []
    for g in cmp.groups:
        for key, *_rest, norm in METRICS:
            band = cmp.band(g, key, normalised and norm)
            if band is None:
                continue
            frames.append(pd.DataFrame({"group": g.label, "metric": key, x_name: x, "mean": band[0],
                                        "ci_low": band[1], "ci_high": band[2], "n_seeds": len(g.runs_with[key]),
                                        "normalised": bool(normalised and norm)}))
    with atomic_output(path) as tmp:
        pd.concat(frames).to_csv(tmp, index=False)


def _legend(ax, confidence: float) -> None:
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8, title=f"mean, {100 * confidence:g} % bootstrap CI", title_fontsize=8)


def plot_comparison(cmp: Comparison, folder: Path, normalised: bool = True) -> list[Path]:
    """Fig. 8 (style_reward.png), Fig. 9 (task_return.png) and the speeds and falls (eval.png) into `folder`,
    plus curves.csv with the plotted numbers."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from amp_data.format.atomic import atomic_output

    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise InputError(folder, "is a file; -o takes a folder for the figures")
    folder.mkdir(parents=True, exist_ok=True)
    _, scale, xlabel = X_AXES[cmp.x_axis]
    x = cmp.grid * scale
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]

    def draw(ax, key, title, unit, norm):
        for k, g in enumerate(cmp.groups):
            band = cmp.band(g, key, norm)
            if band is None:
                continue
            m, lo, hi = band
            c = colours[k % len(colours)]
            ax.plot(x, m, color=c, label=f"{g.label} (n={len(g.runs_with[key])})")
            if not np.isnan(lo).all():
                ax.fill_between(x, lo, hi, color=c, alpha=0.25, lw=0)
        ax.set_title(title)
        ax.set_xlabel(xlabel)
        ax.set_ylabel("normalised over all runs (0..1)" if norm else unit)
        ax.grid(alpha=0.3)

    written = []
    for key, _, _, title, unit, norm in METRICS[:2]:
        fig, ax = plt.subplots(figsize=(7, 4.5))
        draw(ax, key, title, unit, normalised and norm)
        _legend(ax, cmp.confidence)
        fig.tight_layout()
        path = folder / f"{key}.png"
        with atomic_output(path) as tmp:
            fig.savefig(tmp, dpi=100, format="png")
        plt.close(fig)
        written.append(path)

    fig, axes = plt.subplots(1, 3, figsize=(18, 4.5))
    for ax, (key, _, _, title, unit, norm) in zip(axes, METRICS[2:]):
        draw(ax, key, title, unit, False)
        ax.axhline(TARGET_NO_FALL_RATE if key == "no_fall_rate" else TARGET_SPEED_RATIO, color="grey", ls="--", lw=0.8)
    _legend(axes[0], cmp.confidence)
    fig.tight_layout()
    path = folder / "eval.png"
    with atomic_output(path) as tmp:
        fig.savefig(tmp, dpi=100, format="png")
    plt.close(fig)
    written.append(path)

    path = folder / "curves.csv"
    write_curves_csv(cmp, path, normalised)
    written.append(path)
    return written
