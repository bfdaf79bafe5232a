"""Shared test set-up: no downloads, quiet TensorFlow, a headless Matplotlib backend."""

import os
from pathlib import Path

import matplotlib
import pytest

os.environ["TFCOURSE_OFFLINE"] = "1"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
matplotlib.use("Agg")

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "tests" / "fixtures"


@pytest.fixture
def repo() -> Path:
    """The course repository's root folder."""
    return REPO


@pytest.fixture
def fixtures() -> Path:
    """The folder of test fixtures (a mini assignment and one submission per scenario)."""
    return FIXTURES
