"""Nothing a user types loses data or prints a traceback: bad banks, outputs that would clobber inputs,
bad numbers, a bad clip in a batch. Each case: exit code 2, one line naming the problem, no traceback,
inputs unchanged (checksums), no new files."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import h5py
import numpy as np
import pytest
from typer.testing import CliRunner

from amp_data.format.bank import Bank, write_bank
from cli import app
from robots.go2 import FOOT_NAMES, JOINT_NAMES
from robots.go2.model import default_pose_rad


def runner_invoke(args):
    try:
        r = CliRunner(mix_stderr=False).invoke(app, [str(a) for a in args])
    except TypeError:
        r = CliRunner().invoke(app, [str(a) for a in args])
    return r


def snapshot(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def assert_clean_failure(folder: Path, args, *needles):
    before = snapshot(folder)
    r = runner_invoke(args)
    text = (r.stderr if hasattr(r, "stderr") and r.stderr_bytes is not None else "") or r.output
    assert r.exit_code == 2, (args, r.output)
    assert r.exception is None or isinstance(r.exception, SystemExit), repr(r.exception)
    assert "Traceback" not in r.output
    lines = [ln for ln in text.splitlines() if ln.strip()]
    assert len(lines) == 1, text
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    assert snapshot(folder) == before, "inputs changed or files left behind"


def small_bank(n=30) -> Bank:
    t = np.arange(n) / 50.0
    joint_pos = np.tile(default_pose_rad(), (n, 1)) + 0.1 * np.sin(6 * t)[:, None]
    root_pos = np.stack([0.5 * t, np.zeros(n), np.full(n, 0.3)], 1)
    data = {"joint_pos": joint_pos, "joint_vel": np.gradient(joint_pos, 0.02, axis=0), "root_pos": root_pos,
            "root_quat": np.tile([0.0, 0.0, 0.0, 1.0], (n, 1)), "base_lin_vel": np.tile([0.5, 0, 0], (n, 1)),
            "base_ang_vel": np.zeros((n, 3)), "foot_pos_base": np.zeros((n, 4, 3)),
            "foot_vel_base": np.zeros((n, 4, 3)), "contacts": np.ones((n, 4), bool)}
    attrs = {"schema_version": 2, "robot": "go2", "fps": 50.0, "joint_names": list(JOINT_NAMES),
             "foot_names": list(FOOT_NAMES), "quat_convention": "xyzw", "source_file": "s.bvh"}
    return Bank(None, data, attrs)


def edit(path: Path, fn):
    with h5py.File(path, "r+") as f:
        fn(f)


def set_attr(key, value):
    def fn(f):
        f.attrs[key] = value
    return fn


def replace_dataset(name, value):
    def fn(f):
        del f[name]
        f.create_dataset(name, data=value)
    return fn


BAD_BANKS = {   # name: (edit, words the one line must hold)
    "fps_string": (set_attr("fps", "fifty"), ("fps", "frame rate")),
    "fps_zero": (set_attr("fps", 0.0), ("fps",)),
    "fps_negative": (set_attr("fps", -50.0), ("fps",)),
    "fps_nan": (set_attr("fps", np.nan), ("fps",)),
    "robot_a1": (set_attr("robot", "a1"), ("robot", "a1")),
    "joint_names_unknown": (set_attr("joint_names", [f"j{i}" for i in range(12)]), ("joint_names",)),
    "schema_text": (set_attr("schema_version", "two"), ("schema_version",)),
    "joint_pos_strings": (replace_dataset("joint_pos", np.full((30, 12), "x", dtype="S4")), ("joint_pos",)),
    "zero_quaternion": (replace_dataset("root_quat", np.zeros((30, 4))), ("root_quat", "norm")),
    "scalar_column": (replace_dataset("root_pos", 1.0), ("root_pos", "shape")),
    "joint_pos_degrees": (replace_dataset("joint_pos", np.full((30, 12), 90.0)), ("joint_pos", "rad")),
    "weight_text": (replace_dataset("clips/weight", np.array([b"heavy"])), ("weight",)),
    "contacts_float": (replace_dataset("contacts", np.full((30, 4), 0.5)), ("contacts",)),
}


@pytest.fixture()
def work(tmp_path):
    good = write_bank(tmp_path / "good.h5", small_bank())
    return tmp_path, good


@pytest.mark.parametrize("case", list(BAD_BANKS))
@pytest.mark.parametrize("command", ["inspect", "inspect --rom", "export", "merge", "view"])
def test_bad_bank_is_one_line_for_every_reader(work, case, command):
    folder, good = work
    bad = folder / f"{case}.h5"
    write_bank(bad, small_bank())
    fn, words = BAD_BANKS[case]
    edit(bad, fn)
    args = {
        "inspect": ["inspect", bad], "inspect --rom": ["inspect", bad, "--rom"],
        "export": ["export", bad, "-o", folder / "out.txt"],
        "merge": ["bank", "merge", good, bad, "-o", folder / "m.h5"],
        "view": ["view", bad, "-o", folder / "v.gif"],
    }[command]
    assert_clean_failure(folder, args, bad.name, *words)


def test_bad_bank_stops_train_before_anything_starts(work):
    pytest.importorskip("torch")
    folder, good = work
    bad = folder / "zero_fps.h5"
    write_bank(bad, small_bank())
    edit(bad, set_attr("fps", 0.0))
    assert_clean_failure(folder, ["train", bad, "--steps", "100", "--out", folder / "run"], bad.name, "fps")


def test_outputs_never_replace_inputs(work):
    folder, good = work
    assert_clean_failure(folder, ["bank", "merge", good, good, "-o", good], "good.h5", "input")
    assert_clean_failure(folder, ["bank", "merge", good, "-o", folder / "m.txt"], "m.txt", ".h5")
    assert_clean_failure(folder, ["import", good, "-o", good], "good.h5")


def test_retarget_never_replaces_its_bvh_and_bounds_memory(tmp_path):
    from bvh_samples import REFERENCE_CLIP, dog_bvh_text
    if not REFERENCE_CLIP.is_file():
        pytest.skip(f"MANN BVH clip {REFERENCE_CLIP.name} not available")
    text = dog_bvh_text()
    (tmp_path / "x.bvh").write_text(text)
    assert_clean_failure(tmp_path, ["retarget", tmp_path / "x.bvh", "-o", tmp_path / "x.bvh"], "x.bvh", ".h5")
    assert_clean_failure(tmp_path, ["retarget", tmp_path / "x.bvh", "--fps", "1e9", "-o", tmp_path / "y.h5"], "--fps")
    slow = tmp_path / "slow.bvh"
    slow.write_text("\n".join("Frame Time: 1000" if ln.startswith("Frame Time") else ln for ln in text.splitlines()))
    assert_clean_failure(tmp_path, ["retarget", slow, "-o", tmp_path / "slow.h5"], "slow.bvh", "frames")


def test_a_batch_goes_on_past_a_bad_clip_and_renames_repeated_outputs(tmp_path):
    from bvh_samples import REFERENCE_CLIP, dog_bvh_text
    if not REFERENCE_CLIP.is_file():
        pytest.skip(f"MANN BVH clip {REFERENCE_CLIP.name} not available")
    text = dog_bvh_text()
    head, motion = text.split("MOTION")
    rows = motion.strip().splitlines()
    absurd = head + "MOTION\n" + "\n".join(rows[:2] + [" ".join("1e300" for _ in r.split()) for r in rows[2:]]) + "\n"
    for folder, content in (("a", text), ("b", text), ("c", absurd)):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "x.bvh").write_text(content)
    r = runner_invoke(["retarget", tmp_path / "a" / "x.bvh", tmp_path / "b" / "x.bvh", tmp_path / "c" / "x.bvh",
                       "-o", tmp_path / "out"])
    assert r.exit_code == 2 and "Traceback" not in r.output
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["x.h5", "x_2.h5"]
    assert "not finite or lie beyond" in r.output and "x_2.h5" in r.output


@pytest.mark.parametrize("content", ["", "env_steps,time_s\n", "\x00\x01garbage\xff\n1,2,3\n", "a,b\n1,2\n"])
def test_curves_on_bad_csv_is_one_line_and_writes_nothing(tmp_path, content):
    run = tmp_path / "run"
    run.mkdir()
    (run / "metrics.csv").write_bytes(content.encode("latin-1"))
    assert_clean_failure(tmp_path, ["curves", run, "-o", tmp_path / "c.png"], "metrics.csv")


def test_curves_refuses_a_non_png_output(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "metrics.csv").write_text("env_steps,time_s\n100,1.0\n")
    assert_clean_failure(tmp_path, ["curves", run, "-o", tmp_path / "c.txt"], "c.txt", ".png")


def test_temp_files_of_a_killed_writer_are_removed_on_the_next_write(tmp_path):
    from amp_data.format.atomic import atomic_output

    dead = subprocess_pid_that_exited()
    stale = tmp_path / f".bank.h5.{dead}.abc123.tmp"
    stale.write_bytes(b"half a bank")
    mine = tmp_path / f".bank.h5.{os.getpid()}.live.tmp"    # a writer still running keeps its file
    mine.write_bytes(b"in progress")
    with atomic_output(tmp_path / "bank.h5") as tmp:
        Path(tmp).write_bytes(b"whole")
    assert not stale.exists() and mine.exists() and (tmp_path / "bank.h5").read_bytes() == b"whole"


def subprocess_pid_that_exited() -> int:
    import subprocess
    import sys
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def test_a_bank_with_nan_is_never_written(tmp_path):
    from amp_data.errors import InputError
    bank = small_bank()
    bank.data["joint_vel"][7, 3] = np.nan
    with pytest.raises(InputError, match="joint_vel.*frame 7"):
        write_bank(tmp_path / "b.h5", bank)
    assert list(tmp_path.iterdir()) == []
