"""Shared test set-up: no downloads, quiet TensorFlow, a headless Matplotlib backend."""

import os
import tempfile
from pathlib import Path

import matplotlib
import pytest

os.environ["TFCOURSE_OFFLINE"] = "1"
# tfcourse check keeps reference exports and a seed in a cache; tests never touch the user's own.
os.environ["TFCOURSE_CACHE_DIR"] = tempfile.mkdtemp(prefix="tfcourse-test-cache-")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
matplotlib.use("Agg")

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "tests" / "fixtures"


def _visible_gpus() -> list[str]:
    """Return the names of the GPUs TensorFlow can see (imports TensorFlow, so call it lazily)."""
    import tensorflow as tf

    return [device.name for device in tf.config.list_physical_devices("GPU")]


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Put the chapter gradings first, and skip ``gpu`` tests with a clear reason when there is no GPU.

    With ``--dist loadscope`` (see the Makefile) each test file, and each test class, goes to one
    pytest-xdist worker: a notebook's nbval cells share a kernel, and a file's tests share module
    fixtures. Each chapter's grading is a class of its own (tests/test_chapters.py), so the chapters
    spread over the workers; they are the longest tests, so they are scheduled first.
    """
    items.sort(key=lambda item: item.path.name != "test_chapters.py")

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
