"""`amp-data retarget` on bad input: one clear line on stderr naming the file and the problem,
exit code 2, and no partial output (no bank, no temporary file in the output folder).

The bad BVH files are edits of a small valid dog BVH (the hierarchy and first 30 frames of a MANN
clip, read from the clip folder at test time) or hand-written human skeletons; see bvh_samples.py.
Most cases run the typer app in-process (CliRunner); a few run the installed `amp-data` command in
a subprocess so that the real exit code and stderr are covered too.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from amp_data.format.bank import read_bank
from bvh_samples import (
    MOCAP_DIR, NL, REFERENCE_CLIP, human_bvh_text, join_bvh, split_bvh, dog_bvh_text, write_bvh,
)
from cli import app

needs_mocap = pytest.mark.skipif(not REFERENCE_CLIP.is_file(),
                                 reason=f"MANN BVH clip {REFERENCE_CLIP.name} not available in {MOCAP_DIR}")


# --- running the CLI ------------------------------------------------------------------------------

@dataclass
class Run:
    code: int
    stdout: str
    stderr: str


def run_cli(*args: str) -> Run:
    """`amp-data retarget ARGS` in-process. Click >= 8.2 keeps stderr apart; older needs mix_stderr=False."""
    try:
        runner = CliRunner(mix_stderr=False)
    except TypeError:
        runner = CliRunner()
    result = runner.invoke(app, ["retarget", *args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Run(result.exit_code, result.stdout, result.stderr)


def run_subprocess(*args: str, cwd: Path) -> Run:
    """`amp-data retarget ARGS` as a user runs it: the installed console script, in its own process."""
    exe = shutil.which("amp-data")
    cmd = [exe] if exe else [sys.executable, "-c", "import sys, cli; sys.exit(cli.main())"]
    proc = subprocess.run([*cmd, "retarget", *args], capture_output=True, text=True, cwd=cwd, timeout=300)
    return Run(proc.returncode, proc.stdout, proc.stderr)


def leftovers(folder: Path) -> list[str]:
    """Banks and temporary files under `folder` (write_bank's temp files are `.NAME.*.tmp`)."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*")
                  if p.is_file() and (p.suffix in (".h5", ".tmp") or p.name.startswith(".")))


def assert_one_error(run: Run, file_name: str, problem: str, out_dir: Path) -> str:
    """Exit code 2; exactly one non-empty stderr line naming `file_name` and then the problem
    (`problem`: regex, case-insensitive); nothing on stdout; no bank or temp file in `out_dir` or
    next to it. Returns the line."""
    assert run.code == 2, f"exit code {run.code}\nstdout:\n{run.stdout}\nstderr:\n{run.stderr}"
    lines = [ln for ln in run.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, f"expected one stderr line, got {len(lines)}:\n{run.stderr}"
    line = lines[0]
    assert file_name in line, f"{file_name!r} not named in: {line}"
    after_name = line.split(file_name, 1)[1]       # the problem, not the (tmp_path) folder names
    assert re.search(problem, after_name, re.IGNORECASE), f"problem /{problem}/ not named in: {line}"
    assert not run.stdout.strip(), f"unexpected stdout:\n{run.stdout}"
    assert sorted(os.listdir(out_dir)) == [], f"partial output left in {out_dir}"
    assert leftovers(out_dir.parent) == [], f"stray output next to it (default CLIP.h5 in the cwd?)"
    return line


@pytest.fixture
def out_dir(tmp_path: Path, monkeypatch) -> Path:
    """An empty output folder; the tests run from tmp_path so a stray default output would show."""
    monkeypatch.chdir(tmp_path)
    d = tmp_path / "out"
    d.mkdir()
    return d


@pytest.fixture(scope="module")
def dog_text() -> str:
    if not REFERENCE_CLIP.is_file():
        pytest.skip(f"MANN BVH clip {REFERENCE_CLIP.name} not available in {MOCAP_DIR}")
    return dog_bvh_text(frames=30)


# --- edits of the small valid dog BVH -------------------------------------------------------------

def motion_start(text: str) -> int:
    return text.index(NL + "MOTION" + NL) + len(NL)


def cut_in_row(text: str, row: int) -> str:
    """Cut in the middle of motion row `row`."""
    _, _, rows = split_bvh(text)
    at = text.index(rows[row], motion_start(text))
    return text[: at + len(rows[row]) // 2]


def cut_after_row(text: str, row: int) -> str:
    """Keep motion rows 0..row (whole lines); the Frames: line still declares them all."""
    _, _, rows = split_bvh(text)
    at = text.index(rows[row], motion_start(text))
    return text[: at + len(rows[row]) + len(NL)]


def cut_after_frame_time(text: str) -> str:
    _, _, rows = split_bvh(text)
    return text[: text.index(rows[0], motion_start(text))]


def cut_after(marker: str, keep: int | None = None):
    """Cut the hierarchy after the first `marker` (or after its first `keep` characters)."""
    def cut(text: str) -> str:
        at = text.index(marker)
        return text[: at + (len(marker) if keep is None else keep)]
    return cut


def set_value(value: str, row: int = 10, col: int = 5):
    """Replace one motion value."""
    def edit(text: str) -> str:
        hierarchy, _, rows = split_bvh(text)
        values = rows[row].split()
        values[col] = value
        rows = [*rows[:row], " ".join(values), *rows[row + 1:]]
        return join_bvh(hierarchy, rows)
    return edit


def map_rows(fn, only: int | None = None):
    def edit(text: str) -> str:
        hierarchy, _, rows = split_bvh(text)
        return join_bvh(hierarchy, [fn(r) if only in (None, i) else r for i, r in enumerate(rows)])
    return edit


def drop_last_value(row: str) -> str:
    return " ".join(row.split()[:-1])


def replace_first(old: str, new: str):
    def edit(text: str) -> str:
        assert old in text
        return text.replace(old, new, 1)
    return edit


SPINE_CHANNELS = "CHANNELS 3 Zrotation Xrotation Yrotation"   # the first 3-channel joint: Spine
ROOT_CHANNELS = "CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation"

BAD_BVH = [
    # name, edit of the valid text, the problem the line must name (regex)
    pytest.param("empty", lambda t: "", r"empty", id="empty"),
    pytest.param("blank", lambda t: NL + " \t" + NL, r"empty", id="only-whitespace"),
    pytest.param("cut_row", lambda t: cut_in_row(t, 15), r"truncated", id="truncated-motion-mid-row"),
    pytest.param("cut_rows", lambda t: cut_after_row(t, 15), r"truncated", id="truncated-motion-at-row-end"),
    pytest.param("cut_header", cut_after_frame_time, r"truncated", id="truncated-after-frame-time",
                 # in-process the warning is pytest's; test_subprocess_truncated_after_frame_time shows it
                 marks=pytest.mark.filterwarnings("ignore:loadtxt. input contained no data")),
    pytest.param("cut_motion", lambda t: t[: motion_start(t) + len("MOTION" + NL)], r"truncated|lacks 'Frames",
                 id="truncated-after-MOTION"),
    pytest.param("cut_joint", cut_after("JOINT LeftForeArm" + NL), r"truncated", id="truncated-hierarchy-after-joint"),
    pytest.param("cut_offset", cut_after("OFFSET 15.2"), r"truncated", id="truncated-hierarchy-in-offset"),
    pytest.param("cut_name", cut_after("JOINT LeftUpLeg", keep=len("JOINT Left")), r"truncated",
                 id="truncated-hierarchy-in-joint-name"),
    pytest.param("cut_channel", cut_after(SPINE_CHANNELS, keep=len(SPINE_CHANNELS) - 4), r"truncated",
                 id="truncated-hierarchy-in-channel-name"),
    pytest.param("cut_keyword", cut_after(SPINE_CHANNELS, keep=len("CHANN")), r"truncated",
                 id="truncated-hierarchy-in-keyword"),
    pytest.param("word", set_value("abc"), r"non-numeric", id="non-numeric-word"),
    pytest.param("comma", set_value("1,5"), r"non-numeric", id="non-numeric-decimal-comma"),
    pytest.param("nan", set_value("nan"), r"NaN", id="nan"),
    pytest.param("NaN", set_value("NaN"), r"NaN", id="NaN"),
    pytest.param("inf", set_value("-inf"), r"NaN or infinite", id="infinite"),
    pytest.param("short_rows", map_rows(drop_last_value), r"channels", id="rows-fewer-values-than-channels"),
    pytest.param("long_rows", map_rows(lambda r: r + " 0"), r"channels", id="rows-more-values-than-channels"),
    pytest.param("short_row", map_rows(drop_last_value, only=10), r"channels|different lengths",
                 id="one-row-fewer-values"),
    pytest.param("fewer_channels", replace_first(SPINE_CHANNELS, "CHANNELS 2 Zrotation Xrotation"), r"channels",
                 id="hierarchy-declares-fewer-channels-than-rows-hold"),
    pytest.param("count_low", replace_first(SPINE_CHANNELS, SPINE_CHANNELS.replace("3", "2")), r"CHANNELS|count",
                 id="CHANNELS-count-below-names"),
    pytest.param("count_high", replace_first(SPINE_CHANNELS, SPINE_CHANNELS.replace("3", "4")), r"CHANNELS|count",
                 id="CHANNELS-count-above-names"),
    pytest.param("root_count", replace_first(ROOT_CHANNELS, ROOT_CHANNELS.replace("6", "5")), r"CHANNELS|count",
                 id="root-CHANNELS-count-below-names"),
]


# --- the positive control -------------------------------------------------------------------------

def test_small_valid_bvh_retargets(tmp_path, out_dir, dog_text):
    src = write_bvh(tmp_path / "clip.bvh", dog_text)
    run = run_cli(str(src), "-o", str(out_dir / "clip.h5"))
    assert run.code == 0, run.stderr
    assert "error" not in run.stderr
    assert sorted(os.listdir(out_dir)) == ["clip.h5"]          # the bank, and no temp file
    bank = read_bank(out_dir / "clip.h5")
    assert bank.num_frames == 25                                # 30 frames at 60 fps -> 0.5 s at 50 fps
    assert tuple(bank.attrs["source_frames"]) == (0, 30)


# --- bad BVH files --------------------------------------------------------------------------------

@pytest.mark.parametrize("name, edit, problem", BAD_BVH)
def test_bad_bvh(tmp_path, out_dir, dog_text, name, edit, problem):
    src = write_bvh(tmp_path / f"{name}.bvh", edit(dog_text))
    assert_one_error(run_cli(str(src), "-o", str(out_dir / f"{name}.h5")), src.name, problem, out_dir)


@pytest.mark.parametrize("dog_names, problem", [
    pytest.param(False, r"not a quadruped.*LeftHand_end", id="cmu-like-names"),
    pytest.param(True, r"not a quadruped", id="dog-names-upright"),
])
def test_human_skeleton_is_not_a_quadruped(tmp_path, out_dir, dog_names, problem):
    src = write_bvh(tmp_path / "human.bvh", human_bvh_text(dog_names=dog_names))
    assert_one_error(run_cli(str(src), "-o", str(out_dir / "human.h5")), src.name, problem, out_dir)


# --- frame ranges ---------------------------------------------------------------------------------

@needs_mocap
@pytest.mark.parametrize("frames", ["0:999999", "50:10", "20:20"])
def test_frame_range_outside_real_clip(out_dir, frames):
    run = run_cli(str(REFERENCE_CLIP), "--frames", frames, "-o", str(out_dir / "clip.h5"))
    line = assert_one_error(run, REFERENCE_CLIP.name, r"frame range", out_dir)
    assert frames in line


@needs_mocap
def test_reversed_frame_range_is_not_called_outside(out_dir):
    run = run_cli(str(REFERENCE_CLIP), "--frames", "50:10", "-o", str(out_dir / "clip.h5"))
    line = assert_one_error(run, REFERENCE_CLIP.name, r"frame range", out_dir)
    assert "outside" not in line


@pytest.mark.parametrize("frames", ["abc", "10-20", "a:b"])
def test_malformed_frame_range(tmp_path, out_dir, frames):
    src = write_bvh(tmp_path / "human.bvh", human_bvh_text(dog_names=True))   # never read: --frames fails first
    run = run_cli(str(src), "--frames", frames, "-o", str(out_dir / "x.h5"))
    line = assert_one_error(run, "--frames", r"START:END|integers", out_dir)
    assert repr(frames) in line


def test_malformed_frame_range_names_the_file(tmp_path, out_dir):
    src = write_bvh(tmp_path / "human.bvh", human_bvh_text(dog_names=True))
    assert_one_error(run_cli(str(src), "--frames", "abc", "-o", str(out_dir / "x.h5")), src.name, "frames", out_dir)


# --- unwritable outputs ---------------------------------------------------------------------------

def test_output_parent_is_a_regular_file(tmp_path, out_dir, dog_text):
    src = write_bvh(tmp_path / "clip.bvh", dog_text)
    not_a_folder = tmp_path / "somefile.txt"
    not_a_folder.write_text("not a folder\n")
    assert_one_error(run_cli(str(src), "-o", str(not_a_folder / "x.h5")), "x.h5", r"cannot write", out_dir)
    assert not_a_folder.read_text() == "not a folder\n"


def test_output_parent_is_a_regular_file_message(tmp_path, out_dir, dog_text):
    src = write_bvh(tmp_path / "clip.bvh", dog_text)
    not_a_folder = tmp_path / "somefile.txt"
    not_a_folder.write_text("not a folder\n")
    line = assert_one_error(run_cli(str(src), "-o", str(not_a_folder / "x.h5")), "x.h5", r"cannot write", out_dir)
    assert "does not exist" not in line


def test_output_in_read_only_folder(tmp_path, out_dir, dog_text):
    src = write_bvh(tmp_path / "clip.bvh", dog_text)
    if os.geteuid() == 0:   # root writes through chmod; procfs refuses new files even to root
        target = Path("/proc") / f"amp_data_test_{os.getpid()}.h5"
        run = run_cli(str(src), "-o", str(target))
        assert not target.exists()
    else:
        read_only = out_dir / "read_only"
        read_only.mkdir()
        read_only.chmod(0o555)
        try:
            run = run_cli(str(src), "-o", str(read_only / "x.h5"))
            assert os.listdir(read_only) == []
        finally:
            read_only.chmod(0o755)
        read_only.rmdir()
        target = read_only / "x.h5"
    assert_one_error(run, target.name, r"cannot write", out_dir)


# --- the same through the installed command (real exit code, real stderr) ----------------------

def test_subprocess_upright_human_with_dog_names(tmp_path, out_dir):
    src = write_bvh(tmp_path / "upright_human.bvh", human_bvh_text(dog_names=True))
    run = run_subprocess(str(src), "-o", str(out_dir / "upright_human.h5"), cwd=tmp_path)
    assert_one_error(run, src.name, r"not a quadruped", out_dir)


def test_subprocess_output_folder_does_not_exist(tmp_path, out_dir, dog_text):
    src = write_bvh(tmp_path / "clip.bvh", dog_text)
    run = run_subprocess(str(src), "-o", "/nonexistent_dir/x.h5", cwd=tmp_path)
    assert_one_error(run, "/nonexistent_dir/x.h5", r"cannot write|does not exist", out_dir)
    assert not Path("/nonexistent_dir").exists()


def test_subprocess_non_numeric_motion(tmp_path, out_dir, dog_text):
    src = write_bvh(tmp_path / "bad value.bvh", set_value("12.5x")(dog_text))   # a space in the name, too
    run = run_subprocess(str(src), "-o", str(out_dir / "bad.h5"), cwd=tmp_path)
    assert_one_error(run, src.name, r"non-numeric", out_dir)


def test_subprocess_truncated_after_frame_time(tmp_path, out_dir, dog_text):
    src = write_bvh(tmp_path / "cut.bvh", cut_after_frame_time(dog_text))
    run = run_subprocess(str(src), "-o", str(out_dir / "cut.h5"), cwd=tmp_path)
    assert_one_error(run, src.name, r"truncated", out_dir)
