"""The attack suite: submissions that try to raise their own score or harm the grading machine.

Each fixture in tests/fixtures/submissions/ is the mini assignment's reference solution with one
attack added (its first cell says which). The shared grading run of tests/grader/conftest.py grades
them all; each test asserts the exact score and the message the student sees. Attacks that only the
sandbox stops are skipped, with the reason, where bubblewrap is not available.
"""

import shutil
import subprocess

import nbformat
import pytest
from nbgrader.api import Gradebook

from grader import autograde, sandbox
from tests.conftest import FIXTURES
from tests.grader.conftest import LIMITS, SEED, TIMEOUT, submit

#: case -> (score of ex1_test, score of ex2_test, text in the message of the first failed exercise).
EXPECTED = {
    "reference_solution": (2, 3, None),
    "untouched": (0, 0, "NotImplementedError: the exercise has not been answered yet"),
    "memory_bomb": (0, 3, "MemoryError"),
    "os_exit": (2, 0, "KernelDied: not run: the kernel stopped in cell"),
    "sys_exit": (2, 3, None),
    "loop_ignoring_sigint": (2, 0, "KernelDied: not run: the kernel stopped in cell"),
    "detached_background_process": (2, 3, None),
    "monkeypatched_checks": (0, 3, "GraderCheckFailed: double(values) on the grader's inputs differs"),
    "input_transformer": (0, 0, "GraderCheckFailed: double(values) on the grader's inputs differs"),
    "overridden_builtins": (0, 3, "CheckFailed: double([1, 2]) differs from the expected values"),
    "fake_success_output": (0, 3, "CheckFailed: double([1, 2]) differs from the expected values"),
    "output_flood": (2, 3, None),
    "stderr_noise": (2, 3, None),
    "test_cell_turned_into_markdown": (2, 3, None),
}

#: Cases that only the sandbox stops, with what it makes of them.
EXPECTED_ISOLATED = {
    "network_access": (0, 3, "OSError: [Errno 101] Network is unreachable"),
    "reading_solutions": (0, 3, "FileNotFoundError: no solutions or hidden tests of this assignment found on disk"),
    "writing_gradebook": (0, 3, "FileNotFoundError: no gradebook of this course found on disk"),
    "process_bomb": (0, 3, "RuntimeError: process limit reached after"),
}


def check_case(results, case, expected):
    ex1, ex2, message = expected
    result = results[case]
    assert result.status == "graded", result.message
    assert [(e.grade_id, e.score) for e in result.exercises] == [("ex1_test", ex1), ("ex2_test", ex2)]
    failed = [e for e in result.exercises if not e.passed]
    if message is None:
        assert failed == []
    else:
        assert message in failed[0].message


@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_attack_scores_and_messages(graded, case):
    check_case(graded[1], case, EXPECTED[case])


@pytest.mark.parametrize("case", sorted(EXPECTED_ISOLATED))
def test_attack_stopped_by_the_sandbox(graded, isolated, case):
    check_case(graded[1], case, EXPECTED_ISOLATED[case])


def test_checked_exercises_are_marked_in_the_executed_notebook(graded):
    run, _ = graded
    executed = nbformat.read(run.gradebook.parent / "autograded" / "monkeypatched_checks" / "mini" / "mini.ipynb", 4)
    texts = [str(output) for cell in executed.cells for output in cell.get("outputs", [])]
    assert any("GraderCheckFailed" in text for text in texts)
    assert any("Verified independently by the grader: passed." in text for text in texts)
    assert not any("_tfcourse_export" in cell.source for cell in executed.cells), "export cells must be removed"


def test_stderr_noise_keeps_its_points_in_the_gradebook(graded):
    run, _ = graded
    with Gradebook(f"sqlite:///{run.gradebook}") as gradebook:
        assert gradebook.find_submission("mini", "stderr_noise").score == 5.0
        assert gradebook.find_submission("mini", "monkeypatched_checks").score == 3.0


def test_no_process_outlives_grading(graded):
    listed = subprocess.run(["pgrep", "-f", "sleep 4242"], capture_output=True, text=True)
    assert listed.stdout.strip() == "", "a submission's background process is still running"


def test_output_flood_is_capped(graded):
    run, _ = graded
    executed = nbformat.read(run.gradebook.parent / "autograded" / "output_flood" / "mini" / "mini.ipynb", 4)
    lines = sum(str(output.get("text", "")).count("\n") for cell in executed.cells for output in cell.get("outputs", []))
    assert lines <= 1100


def test_gradebook_is_untouched_by_the_submission(graded, isolated):
    run, _ = graded
    with Gradebook(f"sqlite:///{run.gradebook}") as gradebook:
        submission = gradebook.find_submission("mini", "writing_gradebook")
        assert submission.score == 3.0
        assert all(grade.manual_score is None for notebook in submission.notebooks for grade in notebook.grades)


def test_sandbox_mode_is_reported(graded):
    run, _ = graded
    # The user id part names the grading process's own id, and another worker may have graded.
    assert run.sandbox.split(", runs as user id")[0] == sandbox.detect().description.split(", runs as user id")[0]
    assert run.seed == SEED


def test_grading_again_gives_identical_scores_and_keeps_manual_grades(graded, tmp_path):
    run, results = graded
    # A copy of the shared grading folder, so that the other tests see it unchanged.
    root = tmp_path / "grading"
    shutil.copytree(run.gradebook.parent, root)
    gradebook_url = f"sqlite:///{root / 'gradebook.db'}"
    cases = ["reference_solution", "monkeypatched_checks", "os_exit", "stderr_noise"]
    submitted = tmp_path / "submitted"
    for case in cases:
        submit(submitted, case)

    def grade_again(seed):
        again = autograde.grade(submitted, root, FIXTURES / "source", timeout=TIMEOUT, progress=False,
                                feedback=False, limits=LIMITS, seed=seed)
        return {r.student: [(e.grade_id, e.score) for e in r.exercises] for r in again.results}

    first = {case: [(e.grade_id, e.score) for e in results[case].exercises] for case in cases}
    assert grade_again(SEED + 1) == first, "grading again, with other random inputs, must give the same scores"

    with Gradebook(gradebook_url) as gradebook:
        gradebook.find_grade("ex1_test", "mini", "mini", "monkeypatched_checks").manual_score = 1.5
        gradebook.find_comment("ex1_answer", "mini", "mini", "monkeypatched_checks").manual_comment = "See me."
        gradebook.db.commit()
    grade_again(SEED + 2)
    with Gradebook(gradebook_url) as gradebook:
        grade = gradebook.find_grade("ex1_test", "mini", "mini", "monkeypatched_checks")
        assert (grade.manual_score, grade.auto_score) == (1.5, 0.0), "the instructor's grade must survive"
        assert gradebook.find_comment("ex1_answer", "mini", "mini", "monkeypatched_checks").manual_comment == "See me."


def test_whole_notebook_time_limit_stops_the_kernel(tmp_path, isolated):
    submitted = tmp_path / "submitted"
    submit(submitted, "whole_notebook_time_limit")
    run = autograde.grade(submitted, tmp_path / "grading", FIXTURES / "source", timeout=120, progress=False,
                          limits=sandbox.Limits(memory_bytes=LIMITS.memory_bytes, notebook_seconds=20), seed=SEED)
    result = run.results[0]
    assert result.status == "graded", result.message
    assert [(e.grade_id, e.score) for e in result.exercises] == [("ex1_test", 2.0), ("ex2_test", 0.0)]
    assert result.exercises[1].message.startswith("KernelDied: not run: the kernel stopped in cell")
    assert result.seconds < 120


def test_sandbox_is_weaker_but_says_so_without_bubblewrap(monkeypatch):
    real_which = shutil.which
    monkeypatch.setattr(shutil, "which", lambda name: None if name == "bwrap" else real_which(name))
    mode = sandbox.detect()
    assert not mode.isolated
    assert mode.description.startswith("NOT ISOLATED: bubblewrap is not installed")
