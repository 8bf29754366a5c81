"""Errors a user can fix: bad input files, bad arguments, unwritable outputs.

The CLI prints them as one line and exits with code 2; anything else is a bug.
"""

from __future__ import annotations

from pathlib import Path


class InputError(Exception):
    """A problem with a user's file or argument. The message names the file and the problem."""

    def __init__(self, path: str | Path | None, problem: str):
        self.path = None if path is None else str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}" if self.path else problem)
