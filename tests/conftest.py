"""Shared test set-up: no downloads, quiet TensorFlow, a headless Matplotlib backend."""

import csv
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


#: The latest benchmark's table (``make bench``): each chapter's grading time orders the chapter tests.
BENCHMARK_TABLE = REPO / "bench" / "latest.csv"


def grading_seconds(table: Path = BENCHMARK_TABLE) -> dict[str, float]:
    """Return each chapter's grading time in seconds from a benchmark table, or {} without one.

    Parameters
    ----------
    table : Path
        A CSV table written by ``tfcourse bench``.

    Returns
    -------
    dict[str, float]
        Seconds per chapter folder name; chapters the table lacks, or cannot parse, are left out.
    """
    try:
        with table.open(newline="") as handle:
            rows = list(csv.DictReader(handle))
    except OSError:
        return {}
    seconds = {}
    for row in rows:
        try:
            seconds[row["chapter"]] = float(row["grading time (s)"])
        except (KeyError, TypeError, ValueError):
            continue
    return seconds


def schedule_key(item: pytest.Item, seconds: dict[str, float]) -> tuple[int, float]:
    """Return the sort key that puts the longest tests first (see :func:`pytest_collection_modifyitems`).

    The chapter gradings come first (``tests/test_chapters.py``, and the runs of a chapter on the
    offline digits in ``tests/test_fallback_data.py``), then nbval's runs of the student notebooks in
    ``course/`` and the browser tests (``tests/browser/``), then everything else; within the first two groups, the chapter with the longest
    grading time in the latest benchmark goes first. The key depends only on the test's file and
    chapter, so the sort (which is stable) keeps each notebook's cells in order.
    """
    if item.path.name == "test_chapters.py":
        chapter = item.parent.name.removeprefix("TestChapter_") if item.parent is not None else ""
        return 0, -seconds.get(chapter, 0.0)
    if item.path.name == "test_fallback_data.py":
        callspec = getattr(item, "callspec", None)
        return 0, -seconds.get(callspec.params.get("chapter", "") if callspec else "", 0.0)
    if item.path.suffix == ".ipynb":
        return 1, -seconds.get(item.path.parent.name, 0.0)
    if item.path.parent.name == "browser":
        return 1, 0.0  # JupyterLab and Chromium at work for about a minute: not in the last gaps.
    return 2, 0.0


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Put the longest tests first, and skip ``gpu`` tests with a clear reason when there is no GPU.

    With ``--dist loadscope --no-loadscope-reorder`` (see the Makefile) each test file, and each test
    class, goes to one pytest-xdist worker, in the order of ``items``: a notebook's nbval cells share a
    kernel, and a file's tests share module fixtures. Each chapter's grading is a class of its own
    (tests/test_chapters.py), so the chapters spread over the workers. Handing out the longest work
    first lets the many short unit tests fill the gaps at the end, so no worker is left with a long
    chapter while the others sit idle.
    """
    seconds = grading_seconds()
    items.sort(key=lambda item: schedule_key(item, seconds))

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
