"""Every command against odd and bad input, as a hostile but realistic user types it: each case must end
with exit code 0 or 2, never a traceback; a failure is one line on stderr and leaves the inputs unchanged
and no new file. `python -m pytest tests/test_cli_matrix.py -q -rA` lists the cases."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

import cli

ODD_NUMBERS = ["nan", "inf", "-1", "0", "1e30", "abc", ""]

pytestmark = pytest.mark.slow   # its workspace trains a run: `pytest -m "not slow"` skips it


def _snapshot(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def ws(tmp_path_factory, mocap):
    """A workspace: a dog BVH, a bank, a motion file, odd files, and a tiny run folder."""
    from bvh_samples import dog_bvh_text

    d = tmp_path_factory.mktemp("ws")
    (d / "dog.bvh").write_text(dog_bvh_text())
    (d / "empty.bvh").write_bytes(b"")
    (d / "binary.bvh").write_bytes(os.urandom(2000))
    (d / "empty.h5").write_bytes(b"")
    (d / "text.h5").write_text("not hdf5\n")
    (d / "folder.h5").mkdir()
    (d / "notes.txt").write_text("hello\n")
    (d / "binary.toml").write_bytes(os.urandom(300))
    runner = CliRunner()
    r = runner.invoke(cli.app, ["retarget", str(d / "dog.bvh"), "-o", str(d / "bank.h5")])
    assert r.exit_code == 0, r.output
    r = runner.invoke(cli.app, ["export", str(d / "bank.h5"), "-o", str(d / "motion.txt")])
    assert r.exit_code == 0, r.output
    if pytest.importorskip("torch"):
        # the sample clip holds no complete stride, which the default preset's gait clock needs
        args = ["train", str(d / "bank.h5"), "--preset", "cpu", "--steps", "64", "--out", str(d / "run")]
        for s in ("env.num_envs=4", "sac.batch_size=32", "sac.warmup_steps=2", "sac.hidden=16,16",
                  "amp.hidden=16,16", "amp.batch_size=32", "log_every_s=0", "checkpoint_every_min=100",
                  "sac.replay_size=2000", "amp.replay_size=2000", "amp.history_size=200"):
            args += ["--set", s]
        r = runner.invoke(cli.app, args)
        assert r.exit_code == 0, r.output
    return d


def cases() -> list[tuple[str, list[str]]]:
    """(id, args) with {d} for the workspace. Numbers and paths a user may get wrong, per command."""
    out: list[tuple[str, list[str]]] = []

    def add(cmd, *variants):
        for v in variants:
            out.append((f"{cmd}: {' '.join(v)}", v))

    add("retarget",
        ["retarget", "{d}/nope.bvh"], ["retarget", "{d}/empty.bvh", "-o", "{d}/x.h5"],
        ["retarget", "{d}/binary.bvh", "-o", "{d}/x.h5"], ["retarget", "{d}/folder.h5"],
        ["retarget", "{d}/dog.bvh", "-o", "{d}/dog.bvh"], ["retarget", "{d}/dog.bvh", "-o", "{d}/x.txt"],
        ["retarget", "{d}/dog.bvh", "--map", "{d}/binary.toml", "-o", "{d}/x.h5"],
        ["retarget", "{d}/dog.bvh", "--map", "{d}/nope.toml", "-o", "{d}/x.h5"],
        ["retarget", "{d}/dog.bvh", "--cycle", "gallop", "-o", "{d}/x.h5"],
        ["retarget", "{d}/dog.bvh", "--frames", "5:2", "-o", "{d}/x.h5"],
        ["retarget", "{d}/dog.bvh", "--frames", "a:b", "-o", "{d}/x.h5"],
        ["retarget", "{d}/dog.bvh", "--frames", "0:99999", "-o", "{d}/x.h5"],
        ["retarget", "{d}/dog.bvh", "-o", "{d}/missing/dir/x.h5"],
        *[["retarget", "{d}/dog.bvh", opt, v, "-o", "{d}/x.h5"] for opt in ("--fps", "--scale", "--stance-width", "--jobs")
          for v in ODD_NUMBERS])
    add("inspect",
        ["inspect", "{d}/nope.h5"], ["inspect", "{d}/empty.h5"], ["inspect", "{d}/text.h5"],
        ["inspect", "{d}/folder.h5"], ["inspect", "{d}/notes.txt"], ["inspect", "--rom"],
        ["inspect", "{d}/bank.h5", "--per-clip"], ["inspect", "{d}/bank.h5", "--plot", "{d}/notes.txt"],
        ["inspect", "{d}/bank.h5", "--rom", "--json", "--phase", "--quality"])
    add("view",
        ["view", "{d}/nope.h5", "-o", "{d}/v.gif"], ["view", "{d}/bank.h5", "-o", "{d}/v.txt"],
        ["view", "{d}/bank.h5", "-o", "{d}/bank.h5"], ["view", "{d}/bank.h5", "-o", "{d}/v.gif", "--clip", "nope"],
        ["view", "{d}/bank.h5", "-o", "{d}/v.gif", "--size", "0x0"],
        ["view", "{d}/bank.h5", "-o", "{d}/v.gif", "--size", "99999x99999"],
        ["view", "{d}/bank.h5", "-o", "{d}/v.gif", "--seconds", "5:1"],
        *[["view", "{d}/bank.h5", "-o", "{d}/v.gif", "--fps", v] for v in ODD_NUMBERS])
    add("bank merge",
        ["bank", "merge", "{d}/bank.h5", "-o", "{d}/bank.h5"], ["bank", "merge", "{d}/bank.h5", "-o", "{d}/m.txt"],
        ["bank", "merge", "{d}/bank.h5", "{d}/empty.h5", "-o", "{d}/m.h5"],
        *[["bank", "merge", "{d}/bank.h5", "{d}/bank.h5", "-o", "{d}/m.h5", "--weights", v]
          for v in ("1", "a,b", "-1,1", "nan,1", "1,2,3", "")])
    add("bank gather",
        ["bank", "gather", "gallop"], ["bank", "gather", "walk", "walk"],
        ["bank", "gather", "walk", "--from", "{d}/nope.bvh", "-o", "{d}"],
        ["bank", "gather", "walk", "--from", "{d}/dog.bvh", "-o", "{d}/g.txt"],
        *[["bank", "gather", "walk", "--from", "{d}/dog.bvh", "-o", "{d}", opt, v]
          for opt in ("--fps", "--stance-width", "--max-strides", "--max-ik-error") for v in ("nan", "-1", "abc")])
    add("export",
        ["export", "{d}/nope.h5", "-o", "{d}/e.txt"], ["export", "{d}/bank.h5", "-o", "{d}/bank.h5"],
        ["export", "{d}/bank.h5", "-o", "{d}/e.csv"], ["export", "{d}/bank.h5", "-f", "bvh", "-o", "{d}/e.txt"],
        ["export", "{d}/bank.h5", "--clip", "nope", "-o", "{d}/e.txt"],
        ["export", "{d}/bank.h5", "--leg-order", "sdk", "-o", "{d}/e.txt"],
        *[["export", "{d}/bank.h5", "--weight", v, "-o", "{d}/e.txt"] for v in ODD_NUMBERS])
    add("import",
        ["import", "{d}/nope.txt", "-o", "{d}/i.h5"], ["import", "{d}/notes.txt", "-o", "{d}/i.h5"],
        ["import", "{d}/bank.h5", "-o", "{d}/i.h5"], ["import", "{d}/motion.txt", "-o", "{d}/motion.txt"],
        ["import", "{d}/motion.txt", "-o", "{d}/i.txt"], ["import", "{d}/motion.txt", "-f", "csv", "-o", "{d}/i.h5"],
        ["import", "{d}/motion.txt", "--leg-order", "x", "-o", "{d}/i.h5"], ["import", "{d}/binary.bvh", "-o", "{d}/i.h5"])
    add("train",
        ["train"], ["train", "{d}/nope.h5", "--steps", "10", "--out", "{d}/t1"],
        ["train", "{d}/text.h5", "--steps", "10", "--out", "{d}/t1"],
        ["train", "{d}/bank.h5", "--steps", "10", "--out", "{d}/notes.txt"],
        ["train", "{d}/bank.h5", "--steps", "10", "--out", "{d}"],
        ["train", "{d}/bank.h5", "--steps", "10", "--out", "{d}/run"],
        ["train", "--resume", "--out", "{d}/nope", "--steps", "10"],
        ["train", "--resume", "--out", "{d}/run", "--steps", "10", "--set", "sac.hidden=8,8"],
        ["train", "{d}/bank.h5", "--algo", "dqn", "--steps", "10", "--out", "{d}/t1"],
        ["train", "{d}/bank.h5", "--preset", "huge", "--steps", "10", "--out", "{d}/t1"],
        ["train", "{d}/bank.h5", "--backend", "isaacgym", "--steps", "10", "--out", "{d}/t1"],
        ["train", "{d}/bank.h5", "--set", "nonsense", "--steps", "10", "--out", "{d}/t1"],
        ["train", "{d}/bank.h5", "--set", "sac.nope=1", "--steps", "10", "--out", "{d}/t1"],
        ["train", "{d}/bank.h5", "--set", "device=tpu", "--steps", "10", "--out", "{d}/t1"],
        *[["train", "{d}/bank.h5", "--steps", "10", "--out", "{d}/t1", "--set", f"{k}={v}"]
          for k in ("sac.batch_size", "sac.actor_lr", "env.num_envs", "amp.batch_size") for v in ("-1", "0", "nan")],
        *[["train", "{d}/bank.h5", "--out", "{d}/t1", opt, v] for opt in ("--steps", "--minutes", "--num-envs")
          for v in ("-5", "nan", "abc")])
    add("play",
        ["play", "{d}/nope"], ["play", "{d}/notes.txt"], ["play", "{d}/run", "-o", "{d}/r.txt"],
        ["play", "{d}/run", "-o", "{d}/bank.h5", "--video", "{d}/bank.h5"],
        ["play", "{d}/run", "--checkpoint", "{d}/notes.txt"], ["play", "{d}/run", "--video", "{d}/v.avi"],
        *[["play", "{d}/run", opt, v] for opt in ("--seconds", "--command") for v in ("nan", "-1", "abc", "1e30")])
    add("curves",
        ["curves", "{d}/nope"], ["curves", "{d}/run", "-o", "{d}/c.txt"], ["curves", "{d}/run", "-o", "{d}/run"],
        ["curves", "{d}/run", "--smooth", "0"], ["curves", "{d}"])
    add("compare",
        ["compare", "{d}/nope"], ["compare", "{d}"], ["compare", "{d}/run", "-o", "{d}/notes.txt"],
        ["compare", "{d}/run", "{d}/run"], ["compare", "{d}/run", "--by", "amp.nope"],
        ["compare", "{d}/run", "-o", "{d}/cmp"], ["compare", "{d}/run", "--json", "-o", "{d}/cmp"],
        *[["compare", "{d}/run", "-o", "{d}/cmp", opt, v] for opt, v in (
            ("--x", "episodes"), ("--points", "1"), ("--ci", "1.5"), ("--ci", "nan"), ("--resamples", "5"),
            ("--smooth", "0"))])
    add("pretrain",
        ["pretrain", "{d}/nope.h5"], ["pretrain", "{d}/bank.h5", "-o", "{d}/p.h5"],
        ["pretrain", "{d}/bank.h5", "-o", "{d}/folder.h5"], ["pretrain", "{d}/bank.h5", "--algo", "dqn"],
        ["pretrain", "{d}/bank.h5", "--terrain", "hills"],
        *[["pretrain", "{d}/bank.h5", "-o", "{d}/p.pt", opt, v] for opt in ("--steps", "--epochs")
          for v in ("-1", "0", "abc")])
    add("warm starts and terrain",
        ["train", "{d}/bank.h5", "--out", "{d}/t2", "--init-from", "{d}/nope"],
        ["train", "{d}/bank.h5", "--out", "{d}/t2", "--init-from", "{d}/notes.txt", "--steps", "8"],
        ["train", "{d}/bank.h5", "--out", "{d}/t2", "--init-from", "{d}/run", "--init-parts", "brain"],
        ["train", "{d}/bank.h5", "--out", "{d}/t2", "--terrain", "hills"],
        ["train", "{d}/bank.h5", "--out", "{d}/t2", "--terrain", "waves", "--set", "env.terrain_levels=1"])
    add("play schedules and rendering",
        *[["play", "{d}/run", "--command", v] for v in ("0.5@", "a@1", "0.5@1,", "0.5@1,2", "1@-1", "99@1")],
        ["play", "{d}/run", "--command", "0.5@1", "--seconds", "2"],
        ["play", "{d}/run", "--ghost", "{d}/bank.h5"], ["play", "{d}/run", "--video", "{d}/v.gif", "--renderer", "vulkan"],
        ["play", "{d}/run", "--video", "{d}/v.gif", "--ghost", "{d}/nope.h5"],
        ["view", "{d}/bank.h5", "-o", "{d}/v.gif", "--renderer", "vulkan"],
        ["view", "{d}/bank.h5", "-o", "{d}/v.gif", "--ghost", "{d}/text.h5"],
        ["inspect", "{d}/bank.h5", "--reference"])
    add("clips", ["clips", "extra"])
    return out


CASES = cases()


@pytest.mark.parametrize("args", [a for _, a in CASES], ids=[i for i, _ in CASES])
def test_no_traceback_and_clean_failures(ws, args):
    args = [a.replace("{d}", str(ws)) for a in args]
    before = _snapshot(ws)
    try:
        r = CliRunner(mix_stderr=False).invoke(cli.app, args)
    except TypeError:
        r = CliRunner().invoke(cli.app, args)
    assert r.exception is None or isinstance(r.exception, SystemExit), f"traceback: {r.exception!r}"
    assert r.exit_code in (0, 2), (r.exit_code, r.output)
    assert "Traceback" not in r.output
    assert ("amp-data: error:" in r.stderr) == (r.exit_code == 2), (r.exit_code, r.stderr)
    if r.exit_code == 2:
        err = [ln for ln in r.stderr.splitlines() if ln.strip()]
        assert len(err) == 1 and err[0].startswith("amp-data: error:"), r.stderr
        assert _snapshot(ws) == before, "a failed command changed or left files"
    else:   # it worked: clean up what it wrote so the next case sees the same workspace
        after = _snapshot(ws)
        for name in set(after) - set(before):
            (ws / name).unlink()
        assert {k: v for k, v in after.items() if k in before} == before, "an input changed"
