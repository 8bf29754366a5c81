import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def mocap_dir() -> Path | None:
    """The MANN clips: $AMP_DATA_MOCAP, else ../shared/raw_mocap beside the checkout."""
    env = os.environ.get("AMP_DATA_MOCAP")
    for d in ([Path(env)] if env else []) + [ROOT / "raw_mocap", ROOT.parent / "shared" / "raw_mocap"]:
        if d.is_dir() and any(d.glob("*.bvh")):
            return d
    return None


@pytest.fixture(scope="session")
def mocap():
    d = mocap_dir()
    if d is None:
        pytest.skip("MANN clips not found: set AMP_DATA_MOCAP or place them in ../shared/raw_mocap")
    return d
