"""Tests for the clip manifest, the gait segments and the clip lookup (raw_mocap)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

import raw_mocap  # noqa: E402
from raw_mocap import ClipNotFound, load_manifest, load_segments, resolve  # noqa: E402

SHARED_MOCAP = REPO_ROOT.parent / "shared" / "raw_mocap"
needs_mocap = pytest.mark.skipif(
    not any(SHARED_MOCAP.glob("*.bvh")),
    reason=f"MANN BVH clips not available at {SHARED_MOCAP}",
)


def _frames_line(path: Path) -> int:
    with open(path, "rb") as f:
        for line in f:
            if line.startswith(b"Frames:"):
                return int(line.split()[1])
    raise AssertionError(f"no Frames: line in {path}")


@pytest.fixture
def shared_env(monkeypatch, tmp_path):
    """Point AMP_DATA_MOCAP at the shared clips and run from an empty folder."""
    monkeypatch.setenv(raw_mocap.ENV_VAR, str(SHARED_MOCAP))
    monkeypatch.chdir(tmp_path)
    return SHARED_MOCAP.resolve()


def test_manifest_rows_and_total():
    clips = load_manifest()
    assert len(clips) == 46
    assert len({c.name for c in clips}) == 46
    assert sum(c.frames for c in clips) == 96221
    for c in clips:
        assert c.fps == 60
        assert c.duration_s == round(c.frames / 60, 2)
        assert c.content
    by_name = {c.name: c for c in clips}
    assert by_name["D1_009_KAN01_001"].locomotion and by_name["D1_009_KAN01_001"].content == "walk"
    assert by_name["D1_007_KAN01_001"].content == "walk (fast lateral gait)"
    assert by_name["D1_047_KAN01_001"].locomotion
    assert not by_name["D1_057_KAN01_001"].locomotion
    assert not by_name["D1_ex02_KAN02_001"].locomotion  # sit and walk


@needs_mocap
def test_manifest_matches_files():
    clips = load_manifest()
    for c in clips:
        path = SHARED_MOCAP / f"{c.name}.bvh"
        assert path.is_file(), path
        assert _frames_line(path) == c.frames, c.name
    on_disk = {p.stem for p in SHARED_MOCAP.glob("*.bvh")}
    assert on_disk == {c.name for c in clips}


def test_segments_inside_clips():
    segs = load_segments()
    assert set(segs) == {"trot0", "pace0", "canter0", "trot2", "walk", "trot"}
    frames = {c.name: c.frames for c in load_manifest()}
    for s in segs.values():
        assert s.clip in frames, s
        assert 0 <= s.start < s.end <= frames[s.clip], s
    assert (segs["trot0"].clip, segs["trot0"].start, segs["trot0"].end) == ("D1_009_KAN01_001", 448, 481)


def test_resolve_existing_path(tmp_path):
    f = tmp_path / "anything.bvh"
    f.write_text("HIERARCHY\n")
    assert resolve(str(f)) == (f, None)


@needs_mocap
def test_resolve_clip_stem(shared_env):
    expected = shared_env / "D1_009_KAN01_001.bvh"
    assert resolve("D1_009_KAN01_001") == (expected, None)
    assert resolve("D1_009_KAN01_001.bvh") == (expected, None)


@needs_mocap
def test_resolve_segment(shared_env):
    path, rng = resolve("trot0")
    assert path == shared_env / "D1_009_KAN01_001.bvh"
    assert rng == (448, 481)


@needs_mocap
def test_default_clips(shared_env):
    clips = raw_mocap.default_clips()
    assert [p.stem for p in clips] == [c.name for c in load_manifest()]


def test_resolve_unknown_raises(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ClipNotFound, match="no_such_clip"):
        resolve("no_such_clip")


def test_unknown_message_without_folders(monkeypatch, tmp_path):
    monkeypatch.setattr(raw_mocap, "mocap_dirs", lambda: [])
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ClipNotFound) as exc:
        resolve("D1_009_KAN01_001")
    msg = str(exc.value)
    assert raw_mocap.ENV_VAR in msg and "\n" not in msg


def test_env_var_takes_precedence(monkeypatch, tmp_path):
    fake = tmp_path / "fake_mocap"
    fake.mkdir()
    (fake / "D1_009_KAN01_001.bvh").write_text("HIERARCHY\n")
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv(raw_mocap.ENV_VAR, str(fake))
    assert raw_mocap.mocap_dirs()[0] == fake.resolve()
    assert raw_mocap.find_mocap_dir() == fake.resolve()
    assert resolve("D1_009_KAN01_001") == (fake.resolve() / "D1_009_KAN01_001.bvh", None)
    path, rng = resolve("trot0")
    assert path == fake.resolve() / "D1_009_KAN01_001.bvh" and rng == (448, 481)
    # default_clips() uses only the first folder: just the one fake clip
    assert raw_mocap.default_clips() == [fake.resolve() / "D1_009_KAN01_001.bvh"]


def test_env_var_ignored_when_empty_folder(monkeypatch, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(raw_mocap.ENV_VAR, str(empty))
    assert empty.resolve() not in raw_mocap.mocap_dirs()


def test_cwd_raw_mocap_found(monkeypatch, tmp_path):
    (tmp_path / "raw_mocap").mkdir()
    (tmp_path / "raw_mocap" / "x.bvh").write_text("HIERARCHY\n")
    monkeypatch.delenv(raw_mocap.ENV_VAR, raising=False)
    monkeypatch.chdir(tmp_path)
    assert raw_mocap.find_mocap_dir() == (tmp_path / "raw_mocap").resolve()
