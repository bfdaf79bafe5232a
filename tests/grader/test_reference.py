"""Reference exports: computed once per run, cached for tfcourse check, and a failing solution stops no batch."""

import shutil

import nbformat
import pytest

from grader import reference, session
from grader.options import GradingOptions
from tests.conftest import FIXTURES
from tests.grader.conftest import LIMITS, SEED, TIMEOUT, submit


def copy_source(tmp_path):
    source = tmp_path / "source"
    shutil.copytree(FIXTURES / "source", source)
    return source


def test_the_cache_key_follows_the_files_and_the_seed(tmp_path):
    source = copy_source(tmp_path) / "mini"
    key = reference.cache_key(source, 1)
    assert key.startswith("mini-") and key == reference.cache_key(source, 1)
    assert reference.cache_key(source, 2) != key
    (source / "grading.py").write_text((source / "grading.py").read_text() + "\n# changed\n")
    assert reference.cache_key(source, 1) != key


def test_cached_reference_exports_are_reused(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    submitted = tmp_path / "submitted"
    submit(submitted, "reference_solution")
    submit(submitted, "monkeypatched_checks")

    def grade(name):
        run = session.grade(submitted, tmp_path / name, FIXTURES / "source", GradingOptions(timeout=TIMEOUT,
                            progress=False, feedback=False, limits=LIMITS, seed=SEED,
                            reference_cache=cache))
        return [(r.student, r.score) for r in run.results]

    first = grade("first")
    assert first == [("monkeypatched_checks", 3.0), ("reference_solution", 5.0)]
    assert len(list(cache.iterdir())) == 1

    def no_second_run(*args, **kwargs):
        raise AssertionError("the solution ran again although its exports were cached")

    monkeypatch.setattr(reference.References, "_run", no_second_run)
    assert grade("second") == first


def test_a_solution_that_cannot_run_fails_its_submissions_with_the_reason(tmp_path):
    source = copy_source(tmp_path)
    notebook_path = source / "mini" / "mini.ipynb"
    notebook = nbformat.read(notebook_path, as_version=4)
    notebook.cells.append(nbformat.v4.new_code_cell("import time\ntime.sleep(60)"))
    nbformat.write(notebook, notebook_path)
    submitted = tmp_path / "submitted"
    submit(submitted, "reference_solution")
    submit(submitted, "untouched")
    run = session.grade(submitted, tmp_path / "grading", source, GradingOptions(timeout=3, progress=False,
                        feedback=False, limits=LIMITS, seed=SEED))
    assert [r.status for r in run.results] == ["error", "error"]
    for result in run.results:
        assert result.message.startswith("the solution of mini could not be run for the reference exports "
                                         "(CellTimeoutError")
    assert run.grades_csv.is_file(), "the batch must finish and export the grades"


@pytest.mark.parametrize("recorded", ['{"peak_memory_bytes": 123456}', "not json", None])
def test_peak_memory_is_read_when_recorded(tmp_path, recorded):
    if recorded is not None:
        (tmp_path / reference.USAGE_FILE).write_text(recorded)
    assert reference.read_peak_memory(tmp_path) == (123456 if recorded and recorded[0] == "{" else None)
