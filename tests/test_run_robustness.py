"""Run folders are owned and never hold bad state: the lock, refusing foreign folders, --set on --resume,
non-finite weights, the newest complete checkpoint, log truncation, argument errors, and SIGKILL of
`retarget` and `train` at random moments."""

from __future__ import annotations

import csv
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from typer.testing import CliRunner  # noqa: E402

import cli  # noqa: E402
from learner.run_folder import NonFiniteState, RunFolder  # noqa: E402
from test_robustness import assert_clean_failure, snapshot  # noqa: E402

TINY = ["env.num_envs=4", "sac.batch_size=64", "sac.warmup_steps=5", "sac.hidden=32,32", "amp.hidden=32,32",
        "amp.batch_size=64", "ppo.hidden=32,32", "ppo.steps_per_env=8", "log_every_s=0",
        "sac.replay_size=20000", "amp.replay_size=20000", "amp.history_size=2000"]
runner = CliRunner()

pytestmark = pytest.mark.slow   # training runs and SIGKILLs: `pytest -m "not slow"` skips them


@pytest.fixture(scope="module")
def banks(walk_trot_cycle_banks):
    return walk_trot_cycle_banks


def train_args(banks, out, steps, *extra):
    args = ["train", *banks, "--steps", str(steps), "--out", str(out), "--set", "checkpoint_every_min=100"]
    for s in TINY:
        args += ["--set", s]
    return args + list(extra)


@pytest.fixture(scope="module")
def short_run(banks, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "r"
    r = runner.invoke(cli.app, train_args(banks, out, 160))
    assert r.exit_code == 0, r.output
    return out


# --- the folder ---------------------------------------------------------------------------------------------

def test_a_held_run_folder_stops_a_second_train(banks, tmp_path):
    out = tmp_path / "r"
    holder = RunFolder(out)
    holder.claim()
    try:
        assert_clean_failure(tmp_path, train_args(banks, out, 64), "in use by another amp-data train",
                             f"pid {os.getpid()}")
    finally:
        holder.release()
    r = runner.invoke(cli.app, train_args(banks, out, 64))   # free again: a dead holder's lock is gone
    assert r.exit_code == 0, r.output


def test_folders_that_are_not_runs_are_refused(banks, tmp_path):
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "metrics.csv").write_text("mine\n")
    (tmp_path / "notes" / "thesis.tex").write_text("mine\n")
    assert_clean_failure(tmp_path, train_args(banks, tmp_path / "notes", 64), "metrics.csv", "not a run")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "metrics.csv").write_text("time_s,env_steps\n1,5\n")   # someone else's log
    assert_clean_failure(tmp_path, train_args(banks, tmp_path / "other", 64), "metrics.csv", "not a run")
    (tmp_path / "file").write_text("x")
    assert_clean_failure(tmp_path, train_args(banks, tmp_path / "file", 64), "is a file")
    assert_clean_failure(tmp_path, ["train", "--resume", "--out", tmp_path / "nowhere", "--steps", "10"],
                         "no such run folder")


@pytest.mark.parametrize("setting, words", [
    ("device=tpu", "device"), ("sac.batch_size=-5", "sac.batch_size"), ("sac.batch_size=0", "sac.batch_size"),
    ("sac.actor_lr=-1e-3", "sac.actor_lr"), ("ppo.lr=nan", "ppo.lr"), ("sac.hidden=0,32", "sac.hidden"),
])
def test_bad_settings_are_one_line_and_write_nothing(banks, tmp_path, setting, words):
    assert_clean_failure(tmp_path, train_args(banks, tmp_path / "r", 64, "--set", setting), words)


def test_negative_steps_is_one_line(banks, tmp_path):
    assert_clean_failure(tmp_path, train_args(banks, tmp_path / "r", -5), "--steps")


# --- checkpoints and resume ---------------------------------------------------------------------------------

def test_non_finite_weights_are_never_saved(tmp_path):
    folder = RunFolder(tmp_path / "r")
    folder.claim()
    good = {"agent": {"actor": {"w": torch.ones(3)}}, "env_steps": 10}
    folder.save_checkpoint(good)
    before = snapshot(tmp_path)
    bad = {"agent": {"actor": {"w": torch.tensor([1.0, float("nan"), 2.0])}}, "env_steps": 20}
    with pytest.raises(NonFiniteState, match=r"agent.actor.w .*checkpoint.pt"):
        folder.save_checkpoint(bad)
    assert snapshot(tmp_path) == before
    assert torch.load(folder.checkpoint_path, weights_only=False)["env_steps"] == 10
    folder.release()


def test_newest_complete_checkpoint_and_log_truncation(tmp_path):
    folder = RunFolder(tmp_path / "r")
    folder.claim()
    for steps in (100, 200):
        folder.save_checkpoint({"agent": {}, "env_steps": steps})
    # a newer step file that a kill left half-written, and an older checkpoint.pt (a crash between the renames)
    (folder.steps_dir / "step_000000000300.pt").write_bytes(b"PK\x03\x04 truncated")
    torch.save({"agent": {}, "env_steps": 100}, folder.checkpoint_path)
    (folder.path / ".checkpoint.pt.tmp999").write_bytes(b"half")
    path, state = folder.newest_checkpoint()
    assert state["env_steps"] == 200 and path.name == "step_000000000200.pt"
    assert [p.name for p in folder.remove_temp_files()] == [".checkpoint.pt.tmp999"]
    with open(folder.path / "metrics.csv", "w", newline="") as f:
        csv.writer(f).writerows([["time_s", "env_steps"], [1, 100], [2, 200], [3, 250], [4, 300]])
    assert folder.truncate_logs(200) == 2
    rows = list(csv.DictReader(open(folder.path / "metrics.csv")))
    assert [r["env_steps"] for r in rows] == ["100", "200"]
    folder.release()


def test_set_on_resume_applies_the_resumable_fields_and_refuses_the_rest(short_run, tmp_path):
    assert_clean_failure(short_run.parent, ["train", "--resume", "--out", short_run, "--steps", "400",
                                            "--set", "sac.batch_size=128"], "sac.batch_size", "--resume")
    r = runner.invoke(cli.app, ["train", "--resume", "--out", str(short_run), "--steps", "320",
                                "--set", "sac.actor_lr=2.5e-4", "--set", "amp.loss_coef=0.5"])
    assert r.exit_code == 0, r.output
    state = torch.load(short_run / "checkpoint.pt", weights_only=False)
    assert state["env_steps"] >= 320
    assert {g["lr"] for g in state["agent"]["actor_opt"]["param_groups"]} == {2.5e-4}
    assert state["config"]["amp"]["loss_coef"] == 0.5 and state["config"]["sac"]["batch_size"] == 64
    steps = [int(r["env_steps"]) for r in csv.DictReader(open(short_run / "metrics.csv"))]
    assert steps == sorted(steps)


# --- SIGKILL at random moments ------------------------------------------------------------------------------

def _amp_data(*args):
    return [sys.executable, "-c", "import sys, cli; sys.exit(cli.main())", *map(str, args)]


def _children(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    return [int(x) for x in out.split()]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split()[2] == "Z")


def test_sigkill_of_a_batch_retarget_leaves_whole_banks_and_no_workers(mocap, tmp_path):
    from amp_data.format.bank import read_bank

    rng = random.Random(7)
    out = tmp_path / "banks"
    clips = sorted(Path(mocap).glob("*.bvh"))[:12]
    proc = subprocess.Popen(_amp_data("retarget", *clips, "-o", out, "-j", "2"), cwd=Path(cli.__file__).parent,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    while time.time() < deadline and not (out.exists() and any(out.glob("*.h5"))):
        time.sleep(0.05)
    time.sleep(rng.uniform(0.0, 0.5))
    workers = _children(proc.pid)
    assert workers, "the batch ended before the kill: the test would prove nothing"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    time.sleep(1.0)
    assert not [w for w in workers if _alive(w)], "pool workers outlived their parent"
    for bank in out.glob("*.h5"):
        read_bank(bank)            # complete: atomic writes never leave half a bank under its name
    assert not [p for p in out.iterdir() if not p.name.endswith(".h5") and not p.name.startswith(".")]


def test_sigkill_of_train_leaves_a_checkpoint_that_resumes(banks, tmp_path):
    rng = random.Random(11)
    out = tmp_path / "r"
    args = train_args(banks, out, 100000)
    args[args.index("checkpoint_every_min=100")] = "checkpoint_every_min=0.005"   # every 0.3 s
    proc = subprocess.Popen(_amp_data(*args[0:]), cwd=Path(cli.__file__).parent,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and not (out / "checkpoint.pt").exists():
        time.sleep(0.05)
    time.sleep(rng.uniform(0.5, 2.0))
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    _, state = RunFolder(out).newest_checkpoint()      # InputError if no complete checkpoint is left
    killed_at = int(state["env_steps"])
    r = runner.invoke(cli.app, ["train", "--resume", "--out", str(out), "--steps", str(killed_at + 64)])
    assert r.exit_code == 0, r.output
    assert "resuming from" in r.output
    state = torch.load(out / "checkpoint.pt", weights_only=False)
    assert state["env_steps"] >= killed_at + 64
    steps = [int(r["env_steps"]) for r in csv.DictReader(open(out / "metrics.csv"))]
    assert steps == sorted(steps)
    assert not list(out.glob(".*.tmp*")) and not list((out / "checkpoints").glob(".*.tmp*"))


def test_a_resumed_log_keeps_its_columns_when_newer_code_logs_more(tmp_path):
    """metrics.csv written before a column existed: rows appended later line up under its own header."""
    import csv

    from learner.run_log import CsvLog

    path = tmp_path / "metrics.csv"
    path.write_text("time_s,env_steps,style_reward\n1,100,0.5\n")
    log = CsvLog(path, ("time_s", "env_steps", "style_reward", "terrain_amplitude_m"))
    log.row({"time_s": 2.0, "env_steps": 200, "style_reward": 0.25, "terrain_amplitude_m": 0.01})
    log.close()
    rows = list(csv.reader(open(path)))
    assert rows == [["time_s", "env_steps", "style_reward"], ["1", "100", "0.5"], ["2", "200", "0.25"]]
