import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TESTS = Path(__file__).resolve().parent
sys.path[:0] = [str(ROOT), str(TESTS)]

# Before any test imports mujoco: pick an offscreen OpenGL context (EGL without a display) where one works,
# so MuJoCo's renderer can be tested in this process; None, or why not (tests/test_mujoco_view.py skips).
from amp_data.reports.mujoco_view import renderer_problem  # noqa: E402

RENDER_PROBLEM = renderer_problem()


@pytest.fixture(scope="session")
def mocap():
    import raw_mocap

    d = raw_mocap.find_mocap_dir()
    if d is None:
        pytest.skip("MANN clips not found: set AMP_DATA_MOCAP or place them in ../shared/raw_mocap")
    return d


@pytest.fixture(scope="session")
def walk_trot_cycle_banks(mocap, tmp_path_factory) -> list[str]:
    """walk.h5 and trot.h5 of `amp-data retarget walk trot --cycle auto`: small banks for training runs."""
    from typer.testing import CliRunner

    import cli
    out = tmp_path_factory.mktemp("cycle_banks")
    r = CliRunner().invoke(cli.app, ["retarget", "walk", "trot", "--cycle", "auto", "-o", str(out)])
    assert r.exit_code == 0, r.output
    return [str(out / "walk.h5"), str(out / "trot.h5")]
