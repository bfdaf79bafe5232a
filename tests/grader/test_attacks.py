"""The attack suite: submissions that try to raise their own score or harm the grading machine.

Each fixture in tests/fixtures/submissions/ is the mini assignment's reference solution with one
attack added (its first cell says which). The shared grading run of tests/grader/conftest.py grades
them all; each test asserts the exact score and the message the student sees. Attacks that only the
sandbox stops are skipped, with the reason, where bubblewrap is not available.
"""

import shutil
import subprocess
from html.parser import HTMLParser

import nbformat
import pytest
from nbgrader.api import Gradebook

from grader import sandbox, session
from grader.options import GradingOptions
from tests.conftest import FIXTURES
from tests.grader.conftest import LIMITS, NEEDS_CAP, SEED, TIMEOUT, require_cap, submit

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
    "pasted_test_cell": (2, 3, None),
    "copied_answer_cell": (2, 3, None),
    "invented_grade_cell": (2, 3, None),
    "html_in_output": (2, 3, None),
    "inflated_points": (2, 3, None),
    "swapped_kernelspec": (2, 3, None),
    "partial_answers": (2, 0, "NotImplementedError: the exercise has not been answered yet"),
    "nbformat_4_4_stale_outputs": (0, 3, "CheckFailed: double([1, 2]) differs from the expected values"),
    "Zoë O'Brien": (2, 3, None),
}

#: Cases whose cells the grader changes, with the one note the student gets about it.
NOTES = {
    "pasted_test_cell": "a copy of test cell `ex1_test` counts as an ordinary cell and earns nothing; the original, "
                        "above it, is graded.",
    "copied_answer_cell": "a copy of answer cell `ex1_answer` counts as an ordinary cell and earns nothing; the "
                          "original, above it, is graded.",
    "invented_grade_cell": "a cell with grading metadata for `bonus_test`, which this assignment does not have, "
                           "counts as an ordinary cell and earns nothing.",
    "html_in_output": "a Markdown cell held HTML that could run code in a reader's browser (a script, an event "
                      "handler or a link of another kind than http, https or mailto), so it is shown as text.",
}

#: Cases that only a cap on files stops (tests/grader/conftest.py says which cap), with what it makes of them.
EXPECTED_CAPPED = {
    "filling_tmp": (0, 3, "OSError: [Errno 28] No space left on device"),
    "filling_working_folder": (0, 3, "OSError: [Errno 28] No space left on device"),
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
        again = session.grade(submitted, root, FIXTURES / "source", GradingOptions(timeout=TIMEOUT,
                              progress=False, feedback=False, limits=LIMITS, seed=seed))
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


@pytest.mark.parametrize("case", sorted(EXPECTED_CAPPED))
def test_files_stop_at_their_cap(graded, case):
    require_cap(NEEDS_CAP[case])
    check_case(graded[1], case, EXPECTED_CAPPED[case])


@pytest.mark.parametrize("case", sorted(set(EXPECTED) - set(NOTES)))
def test_untouched_cells_get_no_note(graded, case):
    assert graded[1][case].notes == []


@pytest.mark.parametrize("case", sorted(NOTES))
def test_changed_cells_get_one_note_in_the_results_and_the_feedback(graded, case):
    run, results = graded
    assert results[case].notes == [NOTES[case]]
    assert results[case].max_score == 5, "a cell the gradebook does not know adds no points"
    feedback = (run.feedback / case / "mini" / "mini.html").read_text()
    assert feedback.count("Note from the grader") == 2, "once above the changed cell, once under the results table"


def test_inflated_points_are_not_counted(graded):
    run, results = graded
    assert results["inflated_points"].max_score == 5
    with Gradebook(f"sqlite:///{run.gradebook}") as gradebook:
        assert gradebook.find_submission("mini", "inflated_points").max_score == 5.0


def test_a_student_name_with_accents_and_an_apostrophe_gets_feedback_and_a_grade_row(graded):
    run, _ = graded
    assert (run.feedback / "Zoë O'Brien" / "mini" / "mini.html").is_file()
    assert "Zoë O'Brien" in run.grades_csv.read_text(encoding="utf-8")


def test_pasted_cells_do_not_stop_the_grading_of_the_others(graded):
    with Gradebook(f"sqlite:///{graded[0].gradebook}") as gradebook:
        for case in ("pasted_test_cell", "copied_answer_cell", "invented_grade_cell"):
            assert gradebook.find_submission("mini", case).score == 5.0


class ActiveContent(HTMLParser):
    """Collect what would run in a browser: scripts, event handlers and javascript: links."""

    def __init__(self):
        super().__init__()
        self.found = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name.lower().startswith("on"):
                self.found.append(f"<{tag} {name}=...>")
            if name.lower() in ("href", "src", "action") and (value or "").strip().lower().startswith("javascript:"):
                self.found.append(f"<{tag} {name}=javascript:...>")
        if tag == "script":
            self.found.append(f"<script {dict(attrs).get('src') or 'inline'}>")


def active_content(page: str) -> list[str]:
    """Return the scripts, event handlers and javascript: links of an HTML page, in order."""
    parser = ActiveContent()
    parser.feed(page)
    return parser.found


def test_student_html_cannot_run_in_the_feedback_page(graded):
    run, _ = graded
    page = (run.feedback / "html_in_output" / "mini" / "mini.html").read_text()
    reference = (run.feedback / "reference_solution" / "mini" / "mini.html").read_text()
    # The page's own scripts (MathJax) are the same as for a submission without HTML; the student adds none.
    assert active_content(page) == active_content(reference)
    assert not any("inline" not in item and "mathjax" not in item.lower() for item in active_content(page))
    assert "pwned-by-output-script" in page and "pwned-by-markdown-onerror" in page, "shown as text, not dropped"


def formgrader_page(notebook) -> str:
    """Render an autograded notebook as nbgrader's formgrader does, with the course's settings."""
    from nbconvert import HTMLExporter
    from nbgrader.server_extensions.formgrader import handlers

    from grader.config import load_settings

    config = load_settings()
    config.HTMLExporter.template_name = "formgrade"
    config.HTMLExporter.extra_template_basedirs = [handlers.template_path]
    resources = {"assignment_id": "mini", "notebook_id": "mini", "submission_id": "x", "index": 0, "total": 1,
                 "base_url": "", "student": "someone", "last_name": None, "first_name": None,
                 "notebook_path": "mini.ipynb"}
    page, _ = HTMLExporter(config=config).from_filename(str(notebook), resources=resources)
    return page


def test_student_html_cannot_run_in_the_formgrader_view(graded):
    autograded = graded[0].gradebook.parent / "autograded"
    page = formgrader_page(autograded / "html_in_output" / "mini" / "mini.ipynb")
    assert active_content(page) == active_content(formgrader_page(autograded / "reference_solution" / "mini" / "mini.ipynb"))
    assert "pwned-by-output-onerror" in page and "pwned-by-markdown-link" in page, "shown as text, not dropped"


def test_whole_notebook_time_limit_stops_the_kernel(tmp_path, isolated):
    submitted = tmp_path / "submitted"
    submit(submitted, "whole_notebook_time_limit")
    run = session.grade(submitted, tmp_path / "grading", FIXTURES / "source", GradingOptions(timeout=120,
                        progress=False, limits=sandbox.Limits(memory_bytes=LIMITS.memory_bytes,
                        notebook_seconds=20), seed=SEED))
    result = run.results[0]
    assert result.status == "graded", result.message
    assert [(e.grade_id, e.score) for e in result.exercises] == [("ex1_test", 2.0), ("ex2_test", 0.0)]
    assert result.exercises[1].message.startswith("KernelDied: not run: the kernel stopped in cell")
    assert result.seconds < 120


def test_memory_and_files_together_stop_at_the_memory_cap(tmp_path, isolated):
    require_cap("memory cgroup")
    require_cap("working folder")
    submitted = tmp_path / "submitted"
    submit(submitted, "memory_and_files")
    limits = sandbox.Limits(memory_bytes=2 * 1024**3, notebook_seconds=120, tmp_bytes=768 * 1024**2,
                            disk_bytes=768 * 1024**2)
    run = session.grade(submitted, tmp_path / "grading", FIXTURES / "source", GradingOptions(timeout=60,
                        progress=False, limits=limits, seed=SEED))
    result = run.results[0]
    assert result.status == "graded", result.message
    assert [(e.grade_id, e.score) for e in result.exercises] == [("ex1_test", 0.0), ("ex2_test", 0.0)]
    assert result.exercises[0].message == (
        "KernelDied: the kernel stopped while running this cell: the submission used more than 2 GiB of memory, "
        "counting the files it wrote to /tmp and to its working folder, and the grader stopped it")
    assert "memory 2 GiB in all, files in memory included (memory cgroup)" in run.sandbox


def test_sandbox_is_weaker_but_says_so_without_bubblewrap(monkeypatch):
    real_which = shutil.which
    monkeypatch.setattr(shutil, "which", lambda name: None if name == "bwrap" else real_which(name))
    mode = sandbox.detect()
    assert not mode.isolated
    assert mode.description.startswith("NOT ISOLATED: bubblewrap is not installed")
