"""Motion banks through the CLI, as a user makes them."""

import os

import h5py
import numpy as np
import pytest
from typer.testing import CliRunner

from amp_data.format.bank import DATASETS, read_bank, write_bank
from amp_data.errors import InputError
from cli import app

runner = CliRunner()


@pytest.fixture(scope="module")
def trot0_bank(mocap, tmp_path_factory):
    out = tmp_path_factory.mktemp("banks")
    result = runner.invoke(app, ["retarget", "trot0", "-o", str(out / "trot0.h5")])
    assert result.exit_code == 0, result.output
    return out / "trot0.h5", result.output


def test_bank_holds_schema_v2(trot0_bank):
    path, output = trot0_bank
    assert "trot0" in output and "IK max" in output
    with h5py.File(path) as f:
        T = f["joint_pos"].shape[0]
        for name, shape in DATASETS.items():
            assert f[name].shape == (T, *shape)
        a = f.attrs
        assert a["schema_version"] == 2 and a["loop_mode"] == "clamp" and a["robot"] == "go2" and a["fps"] == 50.0
        assert list(a["joint_names"])[:3] == ["FL_hip_joint", "FL_thigh_joint", "FL_calf_joint"]
        assert list(a["foot_names"]) == ["FL_foot", "FR_foot", "RL_foot", "RR_foot"]
        assert a["source_file"] == "D1_009_KAN01_001.bvh"
        assert len(a["source_sha256"]) == 64
        assert list(a["source_frames"]) == [448, 481]
        assert 0.5 < a["scale"] < 1.5
        kp = f["source/keypoints"]
        names = list(f["source"].attrs["names"])
        assert kp.shape == (33, len(names), 3)
        assert "LeftHand_end" in names and "Hips" in names
        parents = f["source"].attrs["parents"]
        assert parents[0] == -1 and all(0 <= p < i for i, p in enumerate(parents) if i)
        assert f["contacts"].dtype == bool
        assert list(f["clips/name"].asstr()[()]) == ["trot0"]   # the bank's stem: the segment name
        assert (f["clips/start"][0], f["clips/stop"][0]) == (0, T)
        assert (f["clips/keypoint_start"][0], f["clips/keypoint_stop"][0]) == (0, 33)
        q = f["root_quat"][()]
        np.testing.assert_allclose(np.linalg.norm(q, axis=1), 1, atol=1e-9)


def test_sha256_is_the_source_files(trot0_bank, mocap):
    import hashlib
    path, _ = trot0_bank
    bank = read_bank(path)
    assert bank.attrs["source_sha256"] == hashlib.sha256((mocap / "D1_009_KAN01_001.bvh").read_bytes()).hexdigest()


def test_read_write_round_trip(trot0_bank, tmp_path):
    bank = read_bank(trot0_bank[0])
    copy = write_bank(tmp_path / "copy.h5", bank)
    again = read_bank(copy)
    for name in DATASETS:
        np.testing.assert_array_equal(again[name], bank[name])
    np.testing.assert_array_equal(again.keypoints, bank.keypoints)
    assert again.attrs["joint_names"] == bank.attrs["joint_names"]
    assert oct(os.stat(copy).st_mode & 0o777) != oct(0o600)


def test_failed_write_keeps_the_old_bank(trot0_bank, tmp_path):
    bank = read_bank(trot0_bank[0])
    target = tmp_path / "keep.h5"
    write_bank(target, bank)
    before = target.read_bytes()
    bank.data["joint_pos"] = None          # breaks the write half-way
    with pytest.raises(Exception):
        write_bank(target, bank)
    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.h5"]


def test_read_bank_rejects_non_banks(tmp_path):
    (tmp_path / "x.h5").write_text("not hdf5")
    with pytest.raises(InputError, match="not an HDF5 file"):
        read_bank(tmp_path / "x.h5")
    with h5py.File(tmp_path / "v9.h5", "w") as f:
        f.attrs["schema_version"] = 9
    with pytest.raises(InputError, match="unknown bank schema version 9"):
        read_bank(tmp_path / "v9.h5")


def test_folder_of_clips_gives_one_bank_each_in_parallel(mocap, tmp_path):
    src = tmp_path / "clips"
    src.mkdir()
    for name in ("D1_009_KAN01_001", "D1_007_KAN01_001", "D1_010_KAN01_002"):
        (src / f"{name}.bvh").symlink_to(mocap / f"{name}.bvh")
    result = runner.invoke(app, ["retarget", str(src), "-o", str(tmp_path / "out"), "--fps", "30", "-j", "2"])
    assert result.exit_code == 0, result.output
    made = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert made == ["D1_007_KAN01_001.h5", "D1_009_KAN01_001.h5", "D1_010_KAN01_002.h5"]
    assert read_bank(tmp_path / "out" / "D1_009_KAN01_001.h5").fps == 30.0
    assert "3 bank(s)" in result.output


def test_frames_option_selects_source_frames(mocap, tmp_path):
    result = runner.invoke(app, ["retarget", str(mocap / "D1_009_KAN01_001.bvh"), "--frames", "100:220",
                                 "-o", str(tmp_path / "w.h5")])
    assert result.exit_code == 0, result.output
    bank = read_bank(tmp_path / "w.h5")
    assert list(bank.attrs["source_frames"]) == [100, 220]
    assert bank.keypoints.shape[0] == 120 and bank.num_frames == 100


def test_clips_command_lists_manifest_and_segments():
    result = runner.invoke(app, ["clips"])
    assert result.exit_code == 0
    assert "D1_009_KAN01_001" in result.output and "trot0" in result.output and "CC BY-NC" in result.output
