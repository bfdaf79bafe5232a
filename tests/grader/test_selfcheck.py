"""Tests for grader.selfcheck: a learner scores their own notebook."""

import shutil

import pytest

from grader import selfcheck as check
from grader import session


@pytest.fixture
def learner_copy(tmp_path, fixtures):
    """Place a fixture submission where a learner would have it: in its chapter folder."""

    def place(fixture, name="mini.ipynb"):
        folder = tmp_path / "course" / "mini"
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(fixtures / "submissions" / f"{fixture}.ipynb", folder / name)
        return folder / name

    return place


def test_check_scores_a_renamed_copy_and_leaves_it_untouched(learner_copy, fixtures, monkeypatch):
    reports = []
    monkeypatch.setattr(session, "write_class_report", reports.append)
    notebook = learner_copy("reference_solution", name="mini-Copy1.ipynb")
    before = notebook.read_bytes()
    result = check.check(notebook, fixtures / "source", timeout=10)
    assert [(e.grade_id, e.score, e.max_score) for e in result.exercises] == [
        ("ex1_test", 2.0, 2.0), ("ex2_test", 3.0, 3.0)]
    assert notebook.read_bytes() == before
    assert reports == [], "a learner's check draws no class report (its grading folder is thrown away)"


def test_check_refuses_what_it_cannot_grade(tmp_path, learner_copy, fixtures):
    with pytest.raises(check.CheckError, match="does not exist"):
        check.check(tmp_path / "nope.ipynb", fixtures / "source")
    broken = learner_copy("invalid_json")
    with pytest.raises(check.CheckError, match="is not valid JSON"):
        check.check(broken, fixtures / "source")
    stray = tmp_path / "elsewhere" / "mini.ipynb"
    stray.parent.mkdir()
    shutil.copyfile(fixtures / "submissions" / "untouched.ipynb", stray)
    with pytest.raises(check.CheckError, match="not in a chapter folder"):
        check.check(stray, fixtures / "source")
