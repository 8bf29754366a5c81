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


@contextmanager
def atomic_output(path: str | Path, suffix: str = ".tmp") -> Iterator[str]:
    """Yield a temporary path next to `path`; on success rename it to `path`, on any error remove it.

    The old file at `path`, if any, stays untouched until the rename. Unwritable places raise InputError.
    """
    path = Path(path)
    folder = check_output_folder(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=folder)
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
