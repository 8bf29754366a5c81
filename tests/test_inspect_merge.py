"""`amp-data inspect` (summary, ROM, JSON, plots, listing) and `amp-data bank merge`.

Numbers are checked against the datasets read with h5py directly and computed here with numpy,
never against the code's own output. Banks: AMP_for_hardware's trot0 segment and 120 frames of a
walk of the same clip (so their clip names collide), retargeted once per module; variants are h5py
edits of copies of them.
"""

from __future__ import annotations

import json
import re
import shutil
import struct
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np
import pytest
from typer.testing import CliRunner

from amp_data.format.bank import DATASETS, read_bank
from cli import app


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str


def cli(*args: str) -> Run:
    try:
        runner = CliRunner(mix_stderr=False)
    except TypeError:       # click >= 8.2 keeps stderr apart by default
        runner = CliRunner()
    result = runner.invoke(app, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Run(result.exit_code, result.stdout, result.stderr)


def assert_one_error(run: Run, *needles: str) -> str:
    """Exit 2, one stderr line containing every needle (regex, case-insensitive), nothing on stdout."""
    assert run.code == 2, f"exit {run.code}\nstdout:\n{run.stdout}\nstderr:\n{run.stderr}"
    lines = [ln for ln in run.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, run.stderr
    for needle in needles:
        assert re.search(needle, lines[0], re.IGNORECASE), f"/{needle}/ not in: {lines[0]}"
    assert not run.stdout.strip(), run.stdout
    return lines[0]


@pytest.fixture(scope="module")
def banks(mocap, tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("inspect")
    for args in (["trot0", "-o", str(d / "trot0.h5")],
                 ["D1_009_KAN01_001", "--frames", "100:244", "-o", str(d / "walk.h5")]):
        r = cli("retarget", *args)
        assert r.code == 0, r.stdout + r.stderr
    return {"trot0": d / "trot0.h5", "walk": d / "walk.h5"}


def h5(path: Path, name: str) -> np.ndarray:
    with h5py.File(path, "r") as f:
        return f[name][()]


def copy_bank(src: Path, dst: Path, edit=None) -> Path:
    shutil.copy(src, dst)
    if edit is not None:
        with h5py.File(dst, "r+") as f:
            edit(f)
    return dst


def clip_names(path) -> list[str]:
    with h5py.File(path) as f:
        return list(f["clips/name"].asstr()[()])


def set_clip_column(f: h5py.File, column: str, values) -> None:
    old = f[f"clips/{column}"]
    dtype = old.dtype
    del f[f"clips/{column}"]
    if h5py.check_string_dtype(dtype) is not None:
        f["clips"].create_dataset(column, data=np.array(values, dtype=h5py.string_dtype()))
    else:
        f["clips"].create_dataset(column, data=np.asarray(values, dtype=dtype))


# --- ROM -------------------------------------------------------------------------------------------

def numpy_rom(q: np.ndarray) -> dict[str, np.ndarray]:
    return {"min": q.min(0), "max": q.max(0), "mean": q.sum(0) / len(q),
            "std": np.sqrt(((q - q.sum(0) / len(q)) ** 2).sum(0) / len(q)), "range": q.max(0) - q.min(0)}


def test_rom_json_matches_numpy_on_the_datasets(banks):
    paths = [str(banks["walk"]), str(banks["trot0"])]
    r = cli("inspect", *paths, "--rom", "--json")
    assert r.code == 0, r.stderr
    data = json.loads(r.stdout)
    assert list(data) == paths                                    # keys: the paths as given, in order
    for p in paths:
        q = h5(Path(p), "joint_pos")
        with h5py.File(p) as f:
            joints = [j.decode() if isinstance(j, bytes) else j for j in f.attrs["joint_names"]]
        truth = numpy_rom(q)
        assert list(data[p]) == joints                            # the bank's joint order
        for j, joint in enumerate(joints):
            assert set(data[p][joint]) >= {"min", "max", "mean", "std"}
            for stat, values in truth.items():
                assert data[p][joint][stat] == pytest.approx(values[j], abs=1e-12), (p, joint, stat)


def test_rom_module_per_clip_and_comparison(banks, tmp_path):
    from amp_data.motion.rom import bank_rom, clip_roms, compare_banks

    merged = tmp_path / "m.h5"
    assert cli("bank", "merge", str(banks["walk"]), str(banks["trot0"]), "-o", str(merged)).code == 0
    bank = read_bank(merged)
    q = h5(merged, "joint_pos")
    starts, stops = h5(merged, "clips/start"), h5(merged, "clips/stop")
    per_clip = clip_roms(bank)
    assert len(per_clip) == 2
    for rom, a, b in zip(per_clip.values(), starts, stops):
        truth = numpy_rom(q[a:b])
        for stat in truth:
            np.testing.assert_allclose(rom.stat(stat), truth[stat], atol=1e-12)
        assert rom.frames == b - a
    whole = bank_rom(bank)
    np.testing.assert_allclose(whole.std_rad, q.std(0), atol=1e-12)
    cmp = compare_banks({"w": read_bank(banks["walk"]), "t": read_bank(banks["trot0"])})
    np.testing.assert_allclose(cmp.stat("max"), np.stack([h5(banks["walk"], "joint_pos").max(0),
                                                          h5(banks["trot0"], "joint_pos").max(0)]))


def test_rom_per_clip_json(banks, tmp_path):
    merged = tmp_path / "m.h5"
    assert cli("bank", "merge", str(banks["walk"]), str(banks["trot0"]), "-o", str(merged)).code == 0
    r = cli("inspect", str(merged), "--rom", "--per-clip", "--json")
    assert r.code == 0, r.stderr
    data = json.loads(r.stdout)[str(merged)]
    q = h5(merged, "joint_pos")
    names = clip_names(merged)
    assert list(data["clips"]) == names
    stop0 = int(h5(merged, "clips/stop")[0])
    assert data["clips"][names[1]]["RL_calf_joint"]["min"] == pytest.approx(q[stop0:, 8].min(), abs=1e-12)
    assert data["all"]["RL_calf_joint"]["min"] == pytest.approx(q[:, 8].min(), abs=1e-12)


def test_rom_tables_side_by_side_fit_120_columns(banks, tmp_path):
    paths = [str(banks["walk"]), str(banks["trot0"])]
    r = cli("inspect", *paths, "--rom")
    assert r.code == 0, r.stderr
    lines = r.stdout.splitlines()
    assert max(len(ln) for ln in lines) <= 120
    row = next(ln for ln in lines if "FL_thigh_joint" in ln)
    numbers = [float(x) for x in re.findall(r"[+-]?\d+\.\d+", row)]
    q_w, q_t = h5(banks["walk"], "joint_pos"), h5(banks["trot0"], "joint_pos")
    expect = [q_w[:, 1].min(), q_w[:, 1].max(), q_w[:, 1].mean(), q_w[:, 1].std(), np.ptp(q_w[:, 1]),
              q_t[:, 1].min(), q_t[:, 1].max(), q_t[:, 1].mean(), q_t[:, 1].std(), np.ptp(q_t[:, 1])]
    np.testing.assert_allclose(numbers, expect, atol=5e-4)
    # four banks do not fit side by side: one table per statistic, still within 120 columns
    copies = [str(shutil.copy(p, tmp_path / f"copy_{Path(p).name}")) for p in paths]
    r = cli("inspect", *paths, *copies, "--rom")
    assert r.code == 0
    assert max(len(ln) for ln in r.stdout.splitlines()) <= 120
    for stat in ("min", "max", "mean", "std", "range"):
        assert f": {stat}" in r.stdout


# --- summary ---------------------------------------------------------------------------------------

def test_summary_json_matches_the_datasets(banks):
    p = str(banks["walk"])
    r = cli("inspect", p, "--json")
    assert r.code == 0, r.stderr
    s = json.loads(r.stdout)[p]
    with h5py.File(p) as f:
        T, fps = f["joint_pos"].shape[0], float(f.attrs["fps"])
        vx = f["base_lin_vel"][:, 0]
        contacts = f["contacts"][()]
        src = (int(f["clips/source_start"][0]), int(f["clips/source_stop"][0]))
    assert s["frames"] == T and s["fps"] == fps and s["loop_mode"] == "clamp"
    assert s["duration_s"] == pytest.approx((T - 1) / fps)      # clamp: first to last frame
    assert s["mean_forward_speed_m_s"] == pytest.approx(vx.mean(), abs=1e-12)
    assert list(s["duty_factor"]) == ["FL_foot", "FR_foot", "RL_foot", "RR_foot"]
    np.testing.assert_allclose(list(s["duty_factor"].values()), contacts.sum(0) / T)
    (clip,) = s["clips"]
    assert clip["name"] == clip_names(p)[0] and clip["frames"] == T and clip["weight"] == 1.0
    assert (clip["source_file"], clip["source_start"], clip["source_stop"]) == ("D1_009_KAN01_001.bvh", *src)
    assert src == (100, 244)
    assert 0.1 < s["mean_forward_speed_m_s"] < 3.0 and all(0 < d <= 1 for d in s["duty_factor"].values())


def test_summary_text_shows_bank_and_clip(banks):
    r = cli("inspect", str(banks["trot0"]))
    assert r.code == 0, r.stderr
    T = h5(banks["trot0"], "joint_pos").shape[0]
    assert f"{T} frames at 50 fps" in r.stdout
    assert "D1_009_KAN01_001.bvh 448:481" in r.stdout
    vx = h5(banks["trot0"], "base_lin_vel")[:, 0].mean()
    assert f"mean forward speed {vx:.3f} m/s" in r.stdout


# --- plots -----------------------------------------------------------------------------------------

def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_plot_writes_pngs(banks, tmp_path):
    out = tmp_path / "figs"
    r = cli("inspect", str(banks["walk"]), str(banks["trot0"]), "--rom", "--plot", str(out))
    assert r.code == 0, r.stderr
    written = sorted(p.name for p in out.iterdir())
    assert written == ["base_velocity.png", "gait_diagram.png", "joint_cycle.png", "rom.png"]
    for name in written:
        assert str(out / name) in r.stdout
        w, h = png_size(out / name)
        assert 600 <= w <= 3000 and 400 <= h <= 3000
        assert (out / name).stat().st_size > 10_000
    # with --json, stdout holds the JSON alone; the written paths go to stderr
    r = cli("inspect", str(banks["walk"]), "--json", "--plot", str(out))
    assert r.code == 0
    json.loads(r.stdout)
    assert "rom.png" in r.stderr


def test_rom_figure_bars_are_left_side_means(banks):
    from amp_data.reports.plots import LEFT_SIDE_JOINTS, rom_figure

    fig = rom_figure({str(banks[k]): read_bank(banks[k]) for k in ("walk", "trot0")})
    ax = fig.axes[0]
    heights = np.array([p.get_height() for p in ax.patches]).reshape(2, 6)
    cols = [0, 1, 2, 6, 7, 8]                                  # FL and RL: hip, thigh, calf
    assert LEFT_SIDE_JOINTS == ("FL_hip_joint", "FL_thigh_joint", "FL_calf_joint",
                                "RL_hip_joint", "RL_thigh_joint", "RL_calf_joint")
    np.testing.assert_allclose(heights[0], h5(banks["walk"], "joint_pos")[:, cols].mean(0))
    np.testing.assert_allclose(heights[1], h5(banks["trot0"], "joint_pos")[:, cols].mean(0))
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["walk.h5", "trot0.h5"]


def test_plot_folder_that_is_a_file(banks, tmp_path):
    (tmp_path / "f").write_text("x")
    assert_one_error(cli("inspect", str(banks["walk"]), "--plot", str(tmp_path / "f")), "f", "is a file")


# --- merge -----------------------------------------------------------------------------------------

def test_merge_concatenates_datasets_and_clip_rows(banks, tmp_path):
    walk, trot = banks["walk"], banks["trot0"]
    out = tmp_path / "multi.h5"
    r = cli("bank", "merge", str(walk), str(trot), "-o", str(out))
    assert r.code == 0, r.stderr
    Tw, Tt = h5(walk, "joint_pos").shape[0], h5(trot, "joint_pos").shape[0]
    for name in DATASETS:
        np.testing.assert_array_equal(h5(out, name), np.concatenate([h5(walk, name), h5(trot, name)]))
    with h5py.File(out) as f, h5py.File(walk) as fw, h5py.File(trot) as ft:
        clips = f["clips"]
        assert list(clips["name"].asstr()[()]) == clip_names(walk) + clip_names(trot)   # no collision: kept
        assert list(clips["start"][()]) == [0, Tw] and list(clips["stop"][()]) == [Tw, Tw + Tt]
        assert list(clips["source_start"][()]) == [100, 448] and list(clips["source_stop"][()]) == [244, 481]
        assert list(clips["source_sha256"].asstr()[()]) == [fw.attrs["source_sha256"], ft.attrs["source_sha256"]]
        assert list(clips["weight"][()]) == [1.0, 1.0]
        # source keypoints: same skeleton, so concatenated with shifted row ranges
        Kw, Kt = fw["source/keypoints"].shape[0], ft["source/keypoints"].shape[0]
        np.testing.assert_array_equal(f["source/keypoints"][()],
                                      np.concatenate([fw["source/keypoints"][()], ft["source/keypoints"][()]]))
        assert list(clips["keypoint_start"][()]) == [0, Kw]
        assert list(clips["keypoint_stop"][()]) == [Kw, Kw + Kt]
        # root: no single-clip provenance; shared settings kept
        for key in ("source_file", "source_sha256", "source_frames", "ground_height_m"):
            assert key not in f.attrs, key
        assert f.attrs["fps"] == 50.0 and f.attrs["schema_version"] == 2 and f.attrs["loop_mode"] == "clamp"
        assert f.attrs["scale"] == fw.attrs["scale"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["multi.h5"]   # no temp file left


def test_merge_prefixes_colliding_clip_names_with_the_bank_stem(banks, tmp_path):
    (tmp_path / "a").mkdir()
    fast = copy_bank(banks["trot0"], tmp_path / "fast.h5")                 # its clip is named as trot0's
    same_stem = copy_bank(banks["trot0"], tmp_path / "a" / "trot0.h5")
    (name,) = clip_names(banks["trot0"])
    out = tmp_path / "m.h5"
    r = cli("bank", "merge", str(banks["trot0"]), str(fast), str(same_stem), str(banks["walk"]), "-o", str(out))
    assert r.code == 0, r.stderr
    assert clip_names(out) == [f"trot0_{name}", f"fast_{name}", f"trot0_{name}_2", *clip_names(banks["walk"])]
    assert len(read_bank(out).clips) == 4


def test_inspect_lists_a_merged_banks_clips(banks, tmp_path):
    out = tmp_path / "multi.h5"
    assert cli("bank", "merge", str(banks["walk"]), str(banks["trot0"]), "-o", str(out)).code == 0
    r = cli("inspect", str(out))
    assert r.code == 0, r.stderr
    names = clip_names(banks["walk"]) + clip_names(banks["trot0"])
    assert all(n in r.stdout for n in names) and "2 clip(s)" in r.stdout
    s = json.loads(cli("inspect", str(out), "--json").stdout)[str(out)]
    vx = h5(out, "base_lin_vel")[:, 0]
    Tw = h5(banks["walk"], "joint_pos").shape[0]
    assert [c["name"] for c in s["clips"]] == names
    assert s["clips"][1]["mean_forward_speed_m_s"] == pytest.approx(vx[Tw:].mean(), abs=1e-12)
    assert s["clips"][0]["duty_factor"]["RR_foot"] == pytest.approx(h5(out, "contacts")[:Tw, 3].mean())


def test_merge_weights_rule(banks, tmp_path):
    # a two-clip bank with weights 1 and 3, merged with a one-clip bank, --weights 0.4,0.6:
    # the two clips keep their ratio 1:3 and sum to 0.4; the single clip gets 0.6
    two = tmp_path / "two.h5"
    assert cli("bank", "merge", str(banks["walk"]), str(banks["trot0"]), "-o", str(two)).code == 0
    with h5py.File(two, "r+") as f:
        set_clip_column(f, "weight", [1.0, 3.0])
    other = copy_bank(banks["trot0"], tmp_path / "other.h5", lambda f: set_clip_column(f, "name", ["other"]))
    out = tmp_path / "w.h5"
    r = cli("bank", "merge", str(two), str(other), "-o", str(out), "--weights", "0.4,0.6")
    assert r.code == 0, r.stderr
    np.testing.assert_allclose(h5(out, "clips/weight"), [0.1, 0.3, 0.6])
    assert clip_names(out) == clip_names(two) + ["other"]
    # without --weights the clips keep their own
    assert cli("bank", "merge", str(two), str(other), "-o", str(out)).code == 0
    np.testing.assert_allclose(h5(out, "clips/weight"), [1.0, 3.0, 1.0])


@pytest.mark.parametrize("weights, problem", [("0.3", "1 weight.*2 bank"), ("a,b", "numbers"),
                                              ("-1,2", ">= 0"), ("0,0", "not all 0")])
def test_merge_bad_weights(banks, tmp_path, weights, problem):
    out = tmp_path / "m.h5"
    r = cli("bank", "merge", str(banks["walk"]), str(banks["trot0"]), "-o", str(out), "--weights", weights)
    assert_one_error(r, "--weights|weight", problem)
    assert not out.exists()


def test_merge_keeps_loop_modes_and_cycle_offsets(banks, tmp_path):
    def as_cycle(f):
        set_clip_column(f, "loop_mode", ["wrap"])
        set_clip_column(f, "cycle_offset_pos_m", [[0.41, -0.02, 0.003]])
        set_clip_column(f, "cycle_offset_yaw_rad", [0.05])
        f.attrs["loop_mode"] = "wrap"
    cyc = copy_bank(banks["trot0"], tmp_path / "cyc.h5", as_cycle)
    out = tmp_path / "m.h5"
    assert cli("bank", "merge", str(banks["walk"]), str(cyc), "-o", str(out)).code == 0
    with h5py.File(out) as f:
        assert list(f["clips/loop_mode"].asstr()[()]) == ["clamp", "wrap"]
        np.testing.assert_array_equal(f["clips/cycle_offset_pos_m"][()], [[0, 0, 0], [0.41, -0.02, 0.003]])
        np.testing.assert_array_equal(f["clips/cycle_offset_yaw_rad"][()], [0.0, 0.05])
        assert f.attrs["loop_mode"] == "mixed"
    s = json.loads(cli("inspect", str(out), "--json").stdout)[str(out)]
    assert s["loop_mode"] == "mixed"
    T = h5(cyc, "joint_pos").shape[0]
    assert s["clips"][1]["duration_s"] == pytest.approx(T / 50.0)   # wrap: a full cycle


def test_merge_drops_keypoints_of_other_skeletons_with_a_note(banks, tmp_path):
    other = copy_bank(banks["trot0"], tmp_path / "o.h5",
                      lambda f: f["source"].attrs.__setitem__("names", [f"k{i}" for i in range(
                          f["source/keypoints"].shape[1])]))
    out = tmp_path / "m.h5"
    r = cli("bank", "merge", str(banks["walk"]), str(other), "-o", str(out))
    assert r.code == 0, r.stderr
    assert "keypoints dropped" in r.stderr and "different source keypoints" in r.stderr
    with h5py.File(out) as f:
        assert "source" not in f
        assert list(f["clips/keypoint_stop"][()]) == [0, 0]
    assert read_bank(out).keypoints is None


def test_merge_of_mismatched_fps_fails_cleanly(banks, tmp_path):
    slow = copy_bank(banks["trot0"], tmp_path / "slow.h5", lambda f: f.attrs.__setitem__("fps", 30.0))
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    r = cli("bank", "merge", str(banks["walk"]), str(slow), "-o", str(out_dir / "m.h5"))
    line = assert_one_error(r, "walk.h5", "slow.h5", r"fps is 50 vs 30")
    assert line.startswith("amp-data: error:")
    assert list(out_dir.iterdir()) == []


def test_a_bank_with_permuted_joint_names_is_read_by_name(banks, tmp_path):
    """Columns follow `joint_names`: a file that lists them in another order is put in the canonical order
    on read, so merge (and export, the sampler ...) map every column by its name."""
    def swap(f):
        names = [n.decode() if isinstance(n, bytes) else n for n in f.attrs["joint_names"]]
        names[0], names[3] = names[3], names[0]
        f.attrs["joint_names"] = names
    odd = copy_bank(banks["trot0"], tmp_path / "odd.h5", swap)
    r = cli("bank", "merge", str(banks["walk"]), str(odd), "-o", str(tmp_path / "m.h5"))
    assert r.code == 0, r.stderr
    merged, original = read_bank(tmp_path / "m.h5"), read_bank(banks["trot0"])
    part = merged.clip_data(merged.clips[-1])["joint_pos"]
    np.testing.assert_array_equal(part[:, 0], original["joint_pos"][:, 3])   # the file's FL_hip column
    np.testing.assert_array_equal(part[:, 3], original["joint_pos"][:, 0])
    np.testing.assert_array_equal(part[:, 4:], original["joint_pos"][:, 4:])


# --- bad banks -------------------------------------------------------------------------------------

def _drop_joint_vel(f):
    del f["joint_vel"]


def _short_joint_pos(f):
    q = f["joint_pos"][()]
    del f["joint_pos"]
    f["joint_pos"] = q[:, :11]


def _schema_9(f):
    f.attrs["schema_version"] = 9


BAD = {
    "missing dataset": (_drop_joint_vel, "lacks dataset 'joint_vel'"),
    "wrong shape": (_short_joint_pos, r"joint_pos.*shape"),
    "schema 9": (_schema_9, "unknown bank schema version 9"),
}


@pytest.fixture
def bad_bank(request, banks, tmp_path):
    kind = request.param
    if kind == "text file":
        p = tmp_path / "bad.h5"
        p.write_text("this is not a bank\n")
        return p, "not an HDF5 file"
    if kind == "missing file":
        return tmp_path / "bad.h5", "no such bank file"
    edit, problem = BAD[kind]
    return copy_bank(banks["trot0"], tmp_path / "bad.h5", edit), problem


KINDS = [*BAD, "text file", "missing file"]


@pytest.mark.parametrize("bad_bank", KINDS, indirect=True)
@pytest.mark.parametrize("flags", [[], ["--rom", "--json"]], ids=["summary", "rom-json"])
def test_inspect_of_a_bad_bank(bad_bank, flags, banks):
    path, problem = bad_bank
    assert_one_error(cli("inspect", str(banks["walk"]), str(path), *flags), "bad.h5", problem)


@pytest.mark.parametrize("bad_bank", KINDS, indirect=True)
def test_merge_of_a_bad_bank(bad_bank, banks, tmp_path):
    path, problem = bad_bank
    out = tmp_path / "merged.h5"
    assert_one_error(cli("bank", "merge", str(banks["walk"]), str(path), "-o", str(out)), "bad.h5", problem)
    assert not out.exists() and not list(tmp_path.glob(".merged*"))


def test_bad_bank_in_a_real_process(tmp_path):
    (tmp_path / "x.h5").write_text("hello")
    exe = shutil.which("amp-data")
    cmd = [exe] if exe else [sys.executable, "-c", "import sys, cli; sys.exit(cli.main())"]
    proc = subprocess.run([*cmd, "inspect", "x.h5", "--json"], capture_output=True, text=True, cwd=tmp_path,
                          timeout=120)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.strip() == "amp-data: error: x.h5: not an HDF5 file (is it a motion bank?)"


# --- listing ---------------------------------------------------------------------------------------

def test_listing_with_a_corrupt_bank(banks, tmp_path, monkeypatch):
    shutil.copy(banks["walk"], tmp_path / "walk.h5")
    (tmp_path / "banks").mkdir()
    shutil.copy(banks["trot0"], tmp_path / "banks" / "trot0.h5")
    (tmp_path / "corrupt.h5").write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 100)   # an HDF5 signature, then nothing
    (tmp_path / "notes.txt").write_text("not listed")
    monkeypatch.chdir(tmp_path)
    r = cli("inspect")
    assert r.code == 0, r.stderr
    for name in ("walk.h5", "corrupt.h5", "banks/trot0.h5", "gait"):
        assert name in r.stdout
    assert "notes.txt" not in r.stdout
    row = next(ln for ln in r.stdout.splitlines() if "corrupt.h5" in ln)
    assert "HDF5" in row or "read" in row
    data = json.loads(cli("inspect", "--json").stdout)
    assert set(data) == {"walk.h5", "corrupt.h5", "banks/trot0.h5"}
    assert data["corrupt.h5"]["error"] and data["corrupt.h5"]["frames"] is None
    T = h5(banks["walk"], "joint_pos").shape[0]
    from amp_data.motion.gait import bank_gait_label
    from amp_data.format.bank import read_bank
    assert data["walk.h5"] == {"frames": T, "duration_s": pytest.approx((T - 1) / 50), "fps": 50.0, "clips": 1,
                               "loop_mode": "clamp", "gait": bank_gait_label(read_bank(banks["walk"])),
                               "error": None}
    assert data["banks/trot0.h5"]["error"] is None


def test_listing_of_an_empty_folder_and_misused_flags(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    r = cli("inspect")
    assert r.code == 0 and "no banks" in r.stdout
    assert_one_error(cli("inspect", "--rom"), "need bank files")
    assert_one_error(cli("inspect", "x.h5", "--per-clip"), "--per-clip goes with --rom")
