"""A training run's folder: owned by one process at a time, its logs and its checkpoints.

- **Ownership.** `RunFolder.claim()` takes an exclusive `flock` on `.lock` for the life of the process. A
  second `amp-data train` on the same folder stops with one line naming the holder's pid. The kernel releases
  the lock when its process dies, however it dies, so a lock left by a crash is stale by construction: the
  file stays, the lock does not.
- **What may be written into.** A new run needs a missing or empty folder; a folder holding a run is
  continued with `--resume`; any other folder with files is refused (a new run would append to a
  `metrics.csv` it found).
- **Checkpoints.** Written atomically (temporary file, then rename), after checking that every tensor in
  them is finite: a diverged agent is never saved, and the last good checkpoint is kept and named. On
  `--resume`, the newest complete checkpoint wins (`checkpoint.pt` or a newer `checkpoints/step_*.pt`),
  temporary files left by a kill are removed, and metric rows logged after the restored step are dropped,
  so the CSVs never step backwards.
"""

from __future__ import annotations

import csv
import math
import os
from pathlib import Path

from amp_data.errors import InputError
from learner.torch_dep import require_torch

KEEP_CHECKPOINTS = 5


def load_checkpoint(path: Path) -> dict:
    """A checkpoint file's state; InputError naming the file if it does not load."""
    torch = require_torch()
    try:
        return torch.load(path, map_location="cpu", weights_only=False)
    except Exception as e:  # a truncated or foreign file
        raise InputError(path, f"not a readable amp-data checkpoint ({type(e).__name__}: {e})") from None


class NonFiniteState(RuntimeError):
    """The agent's state holds NaN or infinite values; the message names where."""


def save_state_file(path: Path, state: dict) -> Path:
    """A checkpoint-format file outside a run folder (pretrained weights), atomically; NonFiniteState,
    writing nothing, if any agent tensor is not finite."""
    bad = non_finite_entries(state.get("agent", {}), "agent")
    if bad:
        raise NonFiniteState(f"the agent's {', '.join(bad[:3])} hold NaN or inf; nothing was saved")
    RunFolder._atomic_save(state, Path(path))
    return Path(path)


def non_finite_entries(obj, prefix: str = "") -> list[str]:
    """Names of the tensors (or floats) in a nested dict/list state that hold NaN or inf."""
    torch = require_torch()
    bad = []
    if isinstance(obj, torch.Tensor):
        if obj.is_floating_point() and not torch.isfinite(obj).all():
            bad.append(prefix or "tensor")
    elif isinstance(obj, float):
        if not math.isfinite(obj):
            bad.append(prefix or "value")
    elif isinstance(obj, dict):
        for k, v in obj.items():
            bad += non_finite_entries(v, f"{prefix}.{k}" if prefix else str(k))
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            bad += non_finite_entries(v, f"{prefix}[{i}]")
    return bad


class RunFolder:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.checkpoint_path = self.path / "checkpoint.pt"
        self.steps_dir = self.path / "checkpoints"
        self._lock_fd: int | None = None

    # -- ownership ------------------------------------------------------------------------------

    def check_writable(self, resume: bool) -> None:
        """InputError unless this folder can hold a new run (or, with `resume`, holds one)."""
        if self.path.exists() and not self.path.is_dir():
            raise InputError(self.path, "is a file; --out must be a run folder")
        parent = self.path.parent if str(self.path.parent) else Path(".")
        if not self.path.exists():
            if resume:
                raise InputError(self.path, "--resume: no such run folder")
            probe = parent
            while not probe.exists() and probe != probe.parent:
                probe = probe.parent
            if not probe.is_dir() or not os.access(probe, os.W_OK | os.X_OK):
                raise InputError(self.path, f"cannot create the run folder: {probe} is not writable")
            return
        if not os.access(self.path, os.W_OK | os.X_OK):
            raise InputError(self.path, "run folder is not writable")
        names = {p.name for p in self.path.iterdir()}
        if resume:
            if not self.checkpoint_path.is_file() and not any(self.steps_dir.glob("step_*.pt")):
                raise InputError(self.path, "--resume: no checkpoint in this run folder")
            return
        if self.checkpoint_path.exists() or (self.path / "config.json").exists():
            raise InputError(self.path, "holds a run already: pass --resume to continue it, or choose another --out")
        # a new run starts in an empty folder (a lock or empty sub-folders of an aborted start may remain):
        # it would append to any metrics.csv it found
        kept = {".lock"} | {n for n in ("checkpoints", "tb") if (self.path / n).is_dir()
                            and not any((self.path / n).iterdir())}
        other = sorted(names - kept)
        if other:
            raise InputError(self.path, f"holds files that are not a run's to start from ({', '.join(other[:3])}"
                                        f"{', ...' if len(other) > 3 else ''}); choose another --out")

    def claim(self) -> None:
        """Create the folder and hold its lock until `release` (or until this process dies)."""
        import fcntl

        self.path.mkdir(parents=True, exist_ok=True)
        self.steps_dir.mkdir(exist_ok=True)
        fd = os.open(self.path / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.read(fd, 32).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise InputError(self.path, f"is in use by another amp-data train (pid {holder}); wait for it to "
                                        "finish or choose another --out") from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._lock_fd = fd

    def write_run_files(self, config_json: str, bank_paths: list[str]) -> None:
        """A new run's config.json (atomically) and banks.txt."""
        tmp = self.path / ".config.json.tmp"
        tmp.write_text(config_json)
        os.replace(tmp, self.path / "config.json")
        (self.path / "banks.txt").write_text("\n".join(bank_paths) + "\n")

    def release(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)     # closing the descriptor drops the flock
            self._lock_fd = None

    # -- checkpoints ----------------------------------------------------------------------------

    def remove_temp_files(self) -> list[Path]:
        """Temporary files a killed run left behind (`.NAME.tmpPID`), removed; returns them."""
        found = [p for folder in (self.path, self.steps_dir) if folder.is_dir()
                 for p in folder.glob(".*.tmp*") if p.is_file()]
        for p in found:
            p.unlink()
        return found

    @staticmethod
    def _load(path: Path) -> dict | None:
        """A checkpoint's state, or None when it is missing, truncated, foreign or half-written."""
        if not path.is_file():
            return None
        try:
            state = require_torch().load(path, map_location="cpu", weights_only=False)
            int(state["env_steps"])
            return state
        except Exception:
            return None

    def newest_checkpoint(self) -> tuple[Path, dict]:
        """(path, state) of the newest checkpoint that loads: the newest complete step file (their names
        order them) or `checkpoint.pt`, whichever holds more steps (checkpoint.pt on a tie). Each file is
        read at most once, and step files only until the first complete one."""
        best = None
        for p in sorted(self.steps_dir.glob("step_*.pt"), reverse=True):
            state = self._load(p)
            if state is not None:
                best = (p, state)
                break
        latest = self._load(self.checkpoint_path)
        if latest is not None and (best is None or int(latest["env_steps"]) >= int(best[1]["env_steps"])):
            best = (self.checkpoint_path, latest)
        if best is None:
            raise InputError(self.path, "--resume: no complete checkpoint in this run folder")
        return best

    def save_checkpoint(self, payload: dict) -> Path:
        """Write `payload` as checkpoints/step_N.pt and checkpoint.pt (atomically), keep the newest few.
        NonFiniteState, writing nothing, if any tensor in it is not finite."""
        bad = non_finite_entries(payload.get("agent", {}), "agent")
        if bad:
            last = self.checkpoint_path if self.checkpoint_path.exists() else None
            raise NonFiniteState(f"the agent's {', '.join(bad[:3])} hold NaN or inf; nothing was saved, the last "
                                 f"good checkpoint is {last or '(none yet)'}")
        step_path = self.steps_dir / f"step_{int(payload['env_steps']):012d}.pt"
        self._atomic_save(payload, step_path)
        self._atomic_save(payload, self.checkpoint_path)
        for old in sorted(self.steps_dir.glob("step_*.pt"))[:-KEEP_CHECKPOINTS]:
            old.unlink()
        return step_path

    @staticmethod
    def _atomic_save(obj, path: Path) -> None:
        torch = require_torch()
        tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
        torch.save(obj, tmp)
        os.replace(tmp, path)

    # -- logs -----------------------------------------------------------------------------------

    def truncate_logs(self, env_steps: int) -> int:
        """Drop CSV rows logged after `env_steps` (a resume from an older checkpoint); returns how many."""
        dropped = 0
        for name in ("metrics.csv", "eval.csv"):
            path = self.path / name
            if not path.is_file():
                continue
            with open(path, newline="") as f:
                rows = list(csv.reader(f))
            if not rows or "env_steps" not in rows[0]:
                continue
            col = rows[0].index("env_steps")

            def keep(r):
                try:
                    return float(r[col]) <= env_steps
                except (ValueError, IndexError):
                    return False
            kept = [rows[0]] + [r for r in rows[1:] if keep(r)]
            if len(kept) < len(rows):
                dropped += len(rows) - len(kept)
                tmp = path.with_name(f".{name}.tmp{os.getpid()}")
                with open(tmp, "w", newline="") as f:
                    csv.writer(f).writerows(kept)
                os.replace(tmp, path)
        return dropped
