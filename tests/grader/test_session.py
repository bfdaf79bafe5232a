"""End-to-end grading through real nbgrader, one fixture submission per scenario.

The fixtures are submissions of the mini assignment in tests/fixtures/source/mini (two exercises,
2 and 3 points, no TensorFlow so that each runs in about a second).
"""

import csv
import time

import pytest
from nbgrader.api import Gradebook

from grader import class_report, notebooks, sandbox, session
from grader.options import GradingOptions
from grader.reference import References
from tests.grader.conftest import LIMITS, NEEDS_CAP, NEEDS_SANDBOX, SEED, SEPARATE_RUNS, TIMEOUT, submit
from tests.grader.test_class_report import Page


def scores(result):
    return [(e.grade_id, e.score) for e in result.exercises]


def test_every_submission_is_reported(graded, fixtures):
    run, results = graded
    expected = {path.stem for path in (fixtures / "submissions").glob("*.ipynb")} - SEPARATE_RUNS
    mode = sandbox.detect()
    if not mode.isolated:
        expected -= NEEDS_SANDBOX
    missing = sandbox.missing_caps(mode)
    expected -= {fixture for fixture, cap in NEEDS_CAP.items() if missing[cap]}
    assert set(results) == expected | {"renamed_notebook", "missing_notebook", "Zoë O'Brien"}


def test_reference_solution_scores_full_marks(graded):
    result = graded[1]["reference_solution"]
    assert result.status == "graded"
    assert scores(result) == [("ex1_test", 2.0), ("ex2_test", 3.0)]
    assert all(e.message == "" for e in result.exercises)


def test_untouched_release_scores_zero(graded):
    result = graded[1]["untouched"]
    assert scores(result) == [("ex1_test", 0.0), ("ex2_test", 0.0)]
    assert all("not been answered" in e.message for e in result.exercises)


def test_test_cell_edited_to_pass_is_restored_and_scores_zero(graded):
    result = graded[1]["edited_test_cell"]
    assert scores(result) == [("ex1_test", 0.0), ("ex2_test", 0.0)]
    assert result.exercises[0].message == "NotImplementedError: the exercise has not been answered yet"


def test_deleted_test_cell_is_restored_and_graded(graded):
    run, results = graded
    assert scores(results["deleted_test_cell"]) == [("ex1_test", 2.0), ("ex2_test", 3.0)]
    executed = notebooks.read(run.gradebook.parent / "autograded" / "deleted_test_cell" / "mini" / "mini.ipynb")
    restored = [c for c in executed.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "ex2_test"]
    assert len(restored) == 1 and "was missing from the submission" in restored[0].source


def test_infinite_loop_times_out_and_later_exercises_are_graded(graded):
    result = graded[1]["infinite_loop"]
    assert scores(result) == [("ex1_test", 0.0), ("ex2_test", 3.0)]
    assert result.exercises[0].message == (
        f"the cell did not finish within the time limit of {TIMEOUT} s and was interrupted")


def test_invalid_json_gets_a_clear_error_and_a_zero_row(graded):
    run, results = graded
    result = results["invalid_json"]
    assert result.status == "error" and result.exercises == []
    assert "mini.ipynb: is not valid JSON (line" in result.message
    rows = {row["student_id"]: row for row in csv.DictReader(run.grades_csv.open())}
    assert rows["invalid_json"]["score"] == "0.0"


def test_renamed_notebook_is_reported_missing(graded):
    result = graded[1]["renamed_notebook"]
    assert result.status == "error"
    assert result.message == "notebook mini.ipynb is missing from the submission (found: mini-Copy1.ipynb)"


def test_gradebook_and_csv_hold_the_scores(graded):
    run, results = graded
    with Gradebook(f"sqlite:///{run.gradebook}") as gradebook:
        assert gradebook.find_submission("mini", "reference_solution").score == 5.0
        assert gradebook.find_submission("mini", "infinite_loop").score == 3.0
        assert gradebook.find_assignment("mini").max_score == 5.0
    rows = {row["student_id"]: row for row in csv.DictReader(run.grades_csv.open())}
    assert {name: float(row["score"]) for name, row in rows.items()} == {
        result.student: result.score for result in results.values()}
    assert float(rows["reference_solution"]["score"]) == 5.0 and float(rows["invalid_json"]["score"]) == 0.0


def test_feedback_shows_scores_but_not_hidden_tests(graded):
    run, _ = graded
    page = (run.feedback / "untouched" / "mini" / "mini.html").read_text(encoding="utf-8")
    assert "NotImplementedError" in page and "5.0 / 5" not in page
    assert "Your results: 0 / 5" in page and "the exercise has not been answered yet" in page
    assert "double([[0.5], [3.0]])" not in page and "HIDDEN TESTS" not in page
    executed = (run.gradebook.parent / "autograded" / "untouched" / "mini" / "mini.ipynb").read_text()
    assert "double([[0.5], [3.0]])" in executed, "the hidden tests must have run"


def test_unknown_assignment_is_an_error(tmp_path, fixtures):
    folder = tmp_path / "submitted" / "alice" / "99_nope"
    folder.mkdir(parents=True)
    run = session.grade(tmp_path / "submitted", tmp_path / "grading", fixtures / "source",
                        GradingOptions(progress=False))
    assert run.results[0].status == "error"
    assert run.results[0].message.startswith("there is no assignment '99_nope'")


def test_discover_requires_the_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        session.discover(tmp_path / "missing")


def test_a_submissions_time_leaves_out_the_reference_run(tmp_path, fixtures, monkeypatch):
    # The reference run is made 3 s longer: the first submission graded after it must not count them.
    run_reference = References._run

    def slow_reference_run(self, *args):
        run_reference(self, *args)
        time.sleep(3)

    monkeypatch.setattr(References, "_run", slow_reference_run)
    submitted = tmp_path / "submitted"
    submit(submitted, "reference_solution")
    started = time.perf_counter()
    run = session.grade(submitted, tmp_path / "grading", fixtures / "source", GradingOptions(timeout=TIMEOUT,
                        progress=False, limits=LIMITS, seed=SEED))
    total = time.perf_counter() - started
    result = run.results[0]
    assert result.status == "graded", result.message
    assert run.reference_usage["mini"]["seconds"] > 0
    assert 0 < result.seconds < total - 3


def test_workers_sandboxes_that_differ_only_in_their_user_ids_are_described_once():
    first = "isolated with bubblewrap: no network, runs as user id 232217; memory 8 GiB"
    second = "isolated with bubblewrap: no network, runs as user id 232229; memory 8 GiB"
    assert session.describe_sandboxes({first, second}) == (
        "isolated with bubblewrap: no network, runs as a user id of its own for each worker; memory 8 GiB")
    assert session.describe_sandboxes({first}) == first
    weaker = "NOT ISOLATED: bubblewrap is not installed"
    assert session.describe_sandboxes({first, weaker}).count(";") == 2


def test_the_shared_grading_run_writes_its_report(graded):
    run, results = graded
    assert run.class_report == run.grades_csv.parent / class_report.REPORT_NAME and run.class_report_error == ""
    assert 0 < sum(r.seconds for r in results.values()) <= run.seconds
    page = Page(run.class_report.read_text(encoding="utf-8"))
    isolated = sandbox.detect().isolated
    assert ("NOT isolated" not in page.text) == isolated
    assert page.find("img", id="plot-overview") and page.find("img", **{"class": "chapter-plot"})
    unanswered = "NotImplementedError: the exercise has not been answered yet"
    count = sum(e.message == unanswered for r in results.values() for e in r.exercises if e.grade_id == "ex1_test")
    assert count >= 1 and f"{count}: {unanswered}" in page.text
    assert "invalid_json" in page.text and "missing_notebook" in page.text
