"""The Unitree Go2 model: facts in `model.py`, the URDF built from them in `go2.urdf`."""

from pathlib import Path

from robots.go2.model import FOOT_NAMES, JOINT_NAMES, LEGS  # noqa: F401

URDF_PATH = Path(__file__).with_name("go2.urdf")
