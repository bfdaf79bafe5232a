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


def _visible_gpus() -> list[str]:
    """Return the names of the GPUs TensorFlow can see (imports TensorFlow, so call it lazily)."""
    import tensorflow as tf

    return [device.name for device in tf.config.list_physical_devices("GPU")]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip tests marked ``gpu`` with a clear reason when TensorFlow sees no GPU."""
    gpu_items = [item for item in items if item.get_closest_marker("gpu") is not None]
    if not gpu_items or _visible_gpus():
        return
    skip = pytest.mark.skip(reason="needs a GPU: TensorFlow sees none on this machine (tests marked 'gpu')")
    for item in gpu_items:
        item.add_marker(skip)


@pytest.fixture
def repo() -> Path:
    """The course repository's root folder."""
    return REPO


@pytest.fixture
def fixtures() -> Path:
    """The folder of test fixtures (a mini assignment and one submission per scenario)."""
    return FIXTURES
