"""Write a file so that readers never see it half-written: a temporary file beside it, then a rename."""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from amp_data.errors import InputError


def check_output_folder(path: str | Path) -> Path:
    """The folder `path` would be written into; InputError naming `path` if that is a file or missing."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if folder.exists() and not folder.is_dir():
        raise InputError(path, f"cannot write: {folder} is a file, not a folder")
    if not folder.is_dir():
        raise InputError(path, f"cannot write: folder {folder} does not exist")
    return folder


BANK_SUFFIXES = (".h5", ".hdf5")


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def check_output_file(path: str | Path, suffixes: tuple[str, ...], inputs=()) -> Path:
    """An output file's path, checked before anything is written: InputError naming it when it is a folder,
    its suffix is not one of `suffixes` (a bank must end in .h5, a video in .gif ...), its folder is missing,
    or it is one of the command's `inputs` (writing there would replace the user's input)."""
    path = Path(path)
    if path.is_dir():
        raise InputError(path, "is a folder; give an output file name")
    if path.suffix.lower() not in suffixes:
        raise InputError(path, f"output must end in {' or '.join(suffixes)} (the file's format)")
    for source in inputs:
        source = Path(source)
        if _same_file(path, source) or path.resolve() == source.resolve():
            raise InputError(path, "is also an input of this command; writing it would replace the input")
    check_output_folder(path)
    return path


def unique_output_names(paths: list[Path]) -> tuple[list[Path], list[str]]:
    """`paths` with repeats renamed NAME_2.h5, NAME_3.h5, ... (two clips of one name from two folders), and
    one note per rename."""
    seen: dict[Path, int] = {}
    taken = {p.resolve() for p in paths}
    out, notes = [], []
    for p in paths:
        key = p.resolve()
        if key not in seen:
            seen[key] = 1
            out.append(p)
            continue
        k = seen[key]
        while True:
            k += 1
            new = p.with_name(f"{p.stem}_{k}{p.suffix}")
            if new.resolve() not in taken:
                break
        seen[key] = k
        taken.add(new.resolve())
        out.append(new)
        notes.append(f"{p} is the output of two inputs; the second is written to {new}")
    return out, notes


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_temp_files(path: Path, suffix: str = ".tmp") -> list[Path]:
    """Temporary files of `path` (`.NAME.PID.XXXX.tmp`) whose writer is gone (a killed run): removed."""
    stale = []
    for tmp in path.parent.glob(f".{glob_escape(path.name)}.*{glob_escape(suffix)}"):
        parts = tmp.name[len(path.name) + 2:].split(".")
        if parts and parts[0].isdigit() and not _pid_alive(int(parts[0])):
            try:
                tmp.unlink()
                stale.append(tmp)
            except OSError:
                pass
    return stale


def glob_escape(text: str) -> str:
    return "".join(f"[{c}]" if c in "*?[" else c for c in text)


@contextmanager
def atomic_output(path: str | Path, suffix: str = ".tmp") -> Iterator[str]:
    """Yield a temporary path next to `path`; on success rename it to `path`, on any error remove it.

    The old file at `path`, if any, stays untouched until the rename. Unwritable places raise InputError.
    """
    path = Path(path)
    folder = check_output_folder(path)
    remove_stale_temp_files(path, suffix)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=suffix, dir=folder)
    except OSError as e:
        raise InputError(path, f"cannot write ({e.strerror})") from None
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)   # mkstemp makes 0600; outputs are ordinary files
    try:
        yield tmp
        os.replace(tmp, path)
    except OSError as e:
        raise InputError(path, f"cannot write ({e.strerror or e})") from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
