"""Tests for course_utils.selfcheck: the chapters' score cell and the progress it shows."""

import os
import shutil
import sys
from datetime import datetime, timezone

import nbformat
import pytest

from course_utils import selfcheck
from grader import progress
from grader.sandbox import policy
from tests.conftest import REPO

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


class Shown:
    """Stands in for IPython's ``display``: records what the cell shows, in order, updates included."""

    def __init__(self):
        self.views = []

    def __call__(self, view, display_id=False):
        self.views.append(view)
        return self if display_id else None

    def update(self, view):
        self.views.append(view)


@pytest.fixture
def shown(monkeypatch):
    """Record what score_chapter and show_progress display."""
    recorder = Shown()
    monkeypatch.setattr(selfcheck, "display", recorder)
    return recorder


@pytest.fixture
def learner_kernel(monkeypatch):
    """A kernel a learner runs: neither the grader's variable nor nbgrader's is set."""
    monkeypatch.delenv(selfcheck.GRADING_VARIABLE, raising=False)
    monkeypatch.delenv(selfcheck.NBGRADER_VARIABLE, raising=False)


@pytest.fixture
def graded_outcome():
    """What ``tfcourse check --json`` prints for a notebook with one exercise passed and one failed."""
    return {"status": "graded", "message": "", "notebook": "/c/01_tensors/01_tensors.ipynb", "chapter": "01_tensors",
            "score": 2.0, "max_score": 5.0, "seconds": 7.4,
            "exercises": [{"grade_id": "ex1_test", "score": 2.0, "max_score": 2.0, "passed": True, "message": ""},
                          {"grade_id": "ex2_test", "score": 0.0, "max_score": 3.0, "passed": False,
                           "message": "AssertionError: expected shape (2, 3), got (3, 2)"}],
            "notes": [], "table": "exercise  points  result\n(the table of tfcourse check)", "progress_problems": []}


@pytest.fixture
def hostile_outcome(graded_outcome):
    """A graded outcome whose failure message, note and chapter hold HTML that would run script."""
    graded_outcome["exercises"][1]["message"] = f"AssertionError: {HOSTILE}"
    graded_outcome["notes"] = [f"a copy of test cell `{HOSTILE}` counts as an ordinary cell"]
    graded_outcome["chapter"] = HOSTILE
    return graded_outcome


@pytest.fixture
def course_with_one_check(tmp_path):
    """A course folder with two chapters, the first checked once."""
    for chapter in ("01_tensors", "02_regression"):
        (tmp_path / "course" / chapter).mkdir(parents=True)
        (tmp_path / "course" / chapter / f"{chapter}.ipynb").write_text("{}")
    progress.record(tmp_path / "course", "01_tensors", 9, 15, datetime(2026, 12, 1, 9, 30, tzinfo=timezone.utc))
    return tmp_path / "course"


@pytest.fixture
def chapter_one_copy(tmp_path, monkeypatch):
    """Chapter 1's untouched release notebook in a learner's course folder, the kernel's working folder."""
    folder = tmp_path / "course" / "01_tensors"
    folder.mkdir(parents=True)
    shutil.copyfile(REPO / "course" / "01_tensors" / "01_tensors.ipynb", folder / "01_tensors.ipynb")
    monkeypatch.chdir(folder)
    monkeypatch.setenv("TFCOURSE_CACHE_DIR", str(tmp_path / "cache"))
    return folder / "01_tensors.ipynb"


def test_score_table_shows_every_exercise_and_what_to_fix(graded_outcome):
    view = selfcheck.ScoreView(graded_outcome, note="Scoring 01_tensors.ipynb as last saved at ...")
    page = view.html()
    assert f'<table class="{selfcheck.SCORE_CLASS}"' in page
    assert "Chapter 01_tensors: 2 / 5 points" in page
    assert "ex1_test" in page and "&#10003; passed" in page
    assert "AssertionError: expected shape (2, 3), got (3, 2)" in page
    assert "Scoring 01_tensors.ipynb as last saved at ..." in page
    # The plain-text form is tfcourse check's table, for nbconvert and terminals.
    text = repr(view)
    assert text.splitlines()[:3] == ["Scoring 01_tensors.ipynb as last saved at ...", "exercise  points  result",
                                     "(the table of tfcourse check)"]
    assert text.splitlines()[-1].startswith("Scored in 7 s by executing the saved notebook")


def test_score_table_escapes_what_the_notebook_and_grader_wrote(hostile_outcome):
    page = selfcheck.ScoreView(hostile_outcome).html()
    assert "<script" not in page and "<img" not in page
    assert page.count("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;") == 3


def test_an_error_is_a_message_not_a_table():
    view = selfcheck.ScoreView({"status": "error", "message": f"the grader stopped: {HOSTILE}", "exercises": []})
    page = view.html()
    assert f'class="{selfcheck.SCORE_CLASS}-error"' in page and "<table" not in page
    assert "Could not score the notebook:" in page and "<script" not in page
    assert repr(view) == f"Could not score the notebook: the grader stopped: {HOSTILE}"


@pytest.mark.parametrize("variable, value", [(selfcheck.GRADING_VARIABLE, "1"),
                                             (selfcheck.NBGRADER_VARIABLE, "validate")])
def test_inside_the_grader_the_cell_prints_one_line_and_grades_nothing(variable, value, learner_kernel, shown,
                                                                        monkeypatch, capsys):
    monkeypatch.setenv(variable, value)
    monkeypatch.setattr(selfcheck, "run_check", lambda *args, **kwargs: pytest.fail("graded inside the grader"))
    assert selfcheck.score_chapter("01_tensors.ipynb") is None
    printed = capsys.readouterr()
    assert printed.out == selfcheck.SKIPPED_LINE + "\n" and printed.err == ""
    assert shown.views == []


def test_the_grader_sets_the_variable_in_its_kernels(tmp_path):
    assert policy.GRADING_VARIABLE == selfcheck.GRADING_VARIABLE
    kernel_policy = policy.Policy(python=sys.executable, readable=[], runtime_dir=str(tmp_path),
                                  scratch_dir=str(tmp_path / "scratch"), isolated=False)
    environment = policy.kernel_environment(kernel_policy)
    assert selfcheck.grading_reason(environment) == "TFCOURSE_GRADING=1"
    assert selfcheck.grading_reason({}) == ""


def test_a_notebook_that_is_not_saved_gives_a_message(tmp_path, learner_kernel, shown, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    selfcheck.score_chapter("01_tensors.ipynb")
    (view,) = shown.views
    assert not view.graded
    assert f"{tmp_path / '01_tensors.ipynb'} was not found. Save the notebook (Ctrl+S)" in repr(view)
    assert capsys.readouterr().err == ""


def test_the_note_says_when_the_notebook_was_saved(tmp_path):
    notebook = tmp_path / "01_tensors.ipynb"
    notebook.write_text("{}")
    saved = datetime(2026, 12, 5, 10, 0, 0).timestamp()
    os.utime(notebook, (saved, saved))
    note = selfcheck.saved_note(notebook, now=saved + 185)
    assert note.startswith("Scoring 01_tensors.ipynb as last saved at 2026-12-05 10:00:00 (3 minutes ago).")
    assert "Save (Ctrl+S) before running this cell" in note
    assert "(less than a minute ago)" in selfcheck.saved_note(notebook, now=saved + 20)


def test_the_outcome_is_the_last_json_line_after_any_noise(graded_outcome):
    import json

    stdout = "some line a library printed\n" + json.dumps(graded_outcome) + "\n"
    assert selfcheck.parse_check_output(0, stdout, "") == graded_outcome


def test_a_grader_crash_is_reported_with_its_last_lines(tmp_path, monkeypatch):
    notebook = tmp_path / "01_tensors.ipynb"
    notebook.write_text("{}")
    crash = "import sys; print('Traceback (most recent call last):', file=sys.stderr); " \
            "print('ModuleNotFoundError: No module named nbgrader', file=sys.stderr); sys.exit(1)"
    monkeypatch.setattr(selfcheck, "check_command", lambda path: [sys.executable, "-c", crash])
    outcome = selfcheck.run_check(notebook)
    assert outcome["status"] == "error"
    assert outcome["message"] == ("the grader stopped without a result (exit status 1): Traceback (most recent "
                                  "call last):\nModuleNotFoundError: No module named nbgrader")


def test_a_check_that_takes_too_long_is_stopped(tmp_path, monkeypatch):
    notebook = tmp_path / "01_tensors.ipynb"
    notebook.write_text("{}")
    monkeypatch.setattr(selfcheck, "check_command", lambda path: [sys.executable, "-c", "import time; time.sleep(60)"])
    outcome = selfcheck.run_check(notebook, timeout=0.5)
    assert outcome["status"] == "error"
    assert outcome["message"].startswith("the check did not finish within 0.5 s and was stopped")


def test_progress_shows_every_chapter_and_a_chart(course_with_one_check, shown):
    view = selfcheck.show_progress(course_with_one_check)
    assert [type(v).__name__ for v in shown.views] == ["ProgressView", "ChartView"]
    page = view.html()
    assert f'<table class="{selfcheck.PROGRESS_CLASS}"' in page
    assert "01_tensors" in page and "9 / 15" in page and "60%" in page and "not checked yet" in page
    assert "not checked yet" in repr(view) and "1 of 2 chapter(s) checked" in repr(view)
    assert shown.views[1]._repr_png_().startswith(b"\x89PNG\r\n\x1a\n")


def test_progress_escapes_chapter_names_and_reports_a_damaged_file(course_with_one_check, shown):
    (course_with_one_check / HOSTILE.replace("/", "")).mkdir()
    (course_with_one_check / HOSTILE.replace("/", "") / "x.ipynb").write_text("{}")
    progress.progress_file(course_with_one_check).write_text("{")
    page = selfcheck.show_progress(course_with_one_check).html()
    assert "<script" not in page and "<img" not in page and "&lt;script&gt;" in page
    assert "is damaged" in page and "the next check replaces it (keeping a copy)" in page


@pytest.mark.slow
def test_score_chapter_on_the_untouched_chapter_one(chapter_one_copy, learner_kernel, shown, capsys):
    selfcheck.score_chapter("01_tensors.ipynb")
    assert capsys.readouterr().err == ""
    status, score, progress_view, chart = shown.views
    assert "Scoring runs every cell of the saved notebook" in repr(status)
    assert score.graded, score.outcome["message"]
    release = nbformat.read(chapter_one_copy, as_version=4)
    tests = [c.metadata["nbgrader"]["grade_id"] for c in release.cells
             if c.metadata.get("nbgrader", {}).get("grade") and not c.metadata["nbgrader"].get("solution")]
    assert [e["grade_id"] for e in score.outcome["exercises"]] == tests
    assert score.outcome["score"] == 0 and score.outcome["max_score"] == 15
    unanswered = [e for e in score.outcome["exercises"] if "has not been answered yet" in e["message"]]
    assert len(unanswered) == 6  # Exercise 6 asks to fix given code, which fails with its own message.
    page = score.html()
    assert page.count("NotImplementedError: the exercise has not been answered yet") == 6
    assert "Scoring 01_tensors.ipynb as last saved at" in page
    assert progress_view.rows[0][0] == "01_tensors" and progress_view.rows[0][1].max_score == 15
    assert chart._repr_png_().startswith(b"\x89PNG")
