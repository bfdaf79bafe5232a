"""The order in which tests/conftest.py hands out the tests: the longest first."""

from pathlib import Path
from types import SimpleNamespace

from tests.conftest import BENCHMARK_TABLE, REPO, grading_seconds, schedule_key


def fake_item(path: str, parent: str = "", chapter: str | None = None) -> SimpleNamespace:
    """Return the attributes of a pytest item that the schedule reads (``chapter``: a parameter)."""
    item = SimpleNamespace(path=Path(path), parent=SimpleNamespace(name=parent))
    if chapter is not None:
        item.callspec = SimpleNamespace(params={"chapter": chapter})
    return item


def test_grading_seconds_reads_the_benchmark_table_and_skips_bad_rows(tmp_path):
    table = tmp_path / "latest.csv"
    table.write_text("chapter,run time (s),grading time (s)\n"
                     "01_tensors,10,9\n"
                     "02_regression,27,not measured\n"
                     "10_hyperparameter_search,60,67\n")
    assert grading_seconds(table) == {"01_tensors": 9.0, "10_hyperparameter_search": 67.0}


def test_a_missing_table_gives_no_times(tmp_path):
    assert grading_seconds(tmp_path / "missing.csv") == {}


def test_the_committed_table_times_every_chapter():
    chapters = {path.parent.name for path in (REPO / "solutions").glob("*/*.ipynb")}
    assert chapters
    seconds = grading_seconds(BENCHMARK_TABLE)
    assert set(seconds) >= chapters
    assert all(value > 0 for value in seconds.values())


def test_chapters_go_first_longest_first_then_notebooks_then_the_rest():
    seconds = {"01_tensors": 9.0, "10_hyperparameter_search": 67.0}
    items = [
        fake_item("tests/grader/test_build.py"),
        fake_item("course/01_tensors/01_tensors.ipynb"),
        fake_item("tests/test_chapters.py", "TestChapter_01_tensors"),
        fake_item("course/10_hyperparameter_search/10_hyperparameter_search.ipynb"),
        fake_item("tests/test_chapters.py", "TestChapter_10_hyperparameter_search"),
        fake_item("tests/test_chapters.py", "TestChapter_99_not_benchmarked"),
        fake_item("tests/test_fallback_data.py", chapter="01_tensors"),
    ]
    ordered = sorted(items, key=lambda item: schedule_key(item, seconds))
    assert [(item.path.name, item.parent.name) for item in ordered] == [
        ("test_chapters.py", "TestChapter_10_hyperparameter_search"),
        ("test_chapters.py", "TestChapter_01_tensors"),
        ("test_fallback_data.py", ""),
        ("test_chapters.py", "TestChapter_99_not_benchmarked"),
        ("10_hyperparameter_search.ipynb", ""),
        ("01_tensors.ipynb", ""),
        ("test_build.py", ""),
    ]
