import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TESTS = Path(__file__).resolve().parent
sys.path[:0] = [str(ROOT), str(TESTS)]


@pytest.fixture(scope="session")
def mocap():
    import raw_mocap

    d = raw_mocap.find_mocap_dir()
    if d is None:
        pytest.skip("MANN clips not found: set AMP_DATA_MOCAP or place them in ../shared/raw_mocap")
    return d
