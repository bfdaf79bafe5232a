"""Every chapter through the real grader: the solution scores full marks, the release scores 0, and
every committed wrong answer (``tests/fixtures/wrong_answers/``) scores 0 with its own message.

The grader executes every cell of both notebooks, so the same runs also check what nbval would check
with ``--nbval-lax``: no cell of the solution raises, and in the release only the exercise cells
(answers and their tests) raise. That is why ``make test`` runs nbval over chapter 1 only (to keep its
set-up working): running it over every notebook of ``course/`` or ``solutions/`` as well would
execute each of them again and find nothing new. ``make nbval`` still runs it over ``course/``.
"""

import re
import shutil
from pathlib import Path

import nbformat
import pytest

from course_utils import data
from grader import notebooks, paths, session
from grader.options import GradingOptions
from tests import wrong_answers
from tests.conftest import REPO
from tests.course_utils.test_setup import REPORT
from tests.test_fallback_data import chapters_loading_fashion_mnist, outputs_of

CHAPTERS = paths.assignments(REPO / "solutions")


def cells_with_errors(notebook_path: Path) -> list[tuple[int, str, bool]]:
    """Return (index, error name, is an exercise cell) for each executed cell that raised."""
    notebook = nbformat.read(notebook_path, as_version=4)
    found = []
    for index, cell in enumerate(notebook.cells):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                exercise = notebooks.is_solution_cell(cell) or notebooks.is_test_cell(cell)
                found.append((index, output.get("ename", "?"), exercise))
    return found


def setup_cell_problem(executed: Path) -> str:
    """Return what is wrong with the Setup cell's outputs in an executed notebook, or '' when it is clean.

    The Setup cell (the first code cell) must show exactly one output, the environment report on
    standard output, in the fresh kernel the grader starts: no standard-error box, no other line.
    """
    setup_cell = next(cell for cell in nbformat.read(executed, as_version=4).cells if cell.cell_type == "code")
    outputs = setup_cell.get("outputs", [])
    if [(output.get("output_type"), output.get("name")) for output in outputs] != [("stream", "stdout")]:
        return f"the Setup cell of {executed.name} shows {len(outputs)} outputs: {outputs}"
    if not re.fullmatch(REPORT, outputs[0]["text"]):
        return f"the Setup cell of {executed.name} prints more than the environment report: {outputs[0]['text']!r}"
    return ""


def real_fashion_mnist_here() -> bool:
    """Return True when the real Fashion-MNIST is in the Keras cache or a system package of this machine."""
    return data.is_cached("fashion_mnist") or data.system_files("fashion_mnist") is not None


def grade_chapter(chapter: str, tmp_path: Path) -> None:
    """Grade the solution, the untouched release and the wrong answers of ``chapter`` and check each outcome.

    The wrong answers are graded in the same run, so they share the run's one reference run of the
    solution; each is a short notebook (see :mod:`tests.wrong_answers`).
    """
    submitted = tmp_path / "submitted"
    for student, origin in (("reference", REPO / "solutions"), ("untouched", REPO / "course")):
        folder = submitted / student / chapter
        folder.mkdir(parents=True)
        for notebook in (origin / chapter).glob("*.ipynb"):
            shutil.copyfile(notebook, folder / notebook.name)
    wrong = wrong_answers.submit(chapter, submitted)
    run = session.grade(submitted, tmp_path / "grading", REPO / "solutions", GradingOptions(feedback=False,
                        progress=False))
    results = {result.student: result for result in run.results}
    autograded = tmp_path / "grading" / "autograded"

    reference = results["reference"]
    assert reference.status == "graded", reference.message
    failed = [(e.grade_id, e.message) for e in reference.exercises if not e.passed]
    assert failed == []
    assert len(reference.exercises) >= 5 and reference.max_score >= 12, "each chapter has >= 5 exercises, >= 12 points"
    assert reference.score == reference.max_score
    needs_real_data = chapter in chapters_loading_fashion_mnist() and real_fashion_mnist_here()
    for executed in (autograded / "reference" / chapter).glob("*.ipynb"):
        assert cells_with_errors(executed) == [], f"a cell of the solution {executed.name} raised"
        assert setup_cell_problem(executed) == ""
        if needs_real_data:
            # The sandboxed kernel must find the real data too (its Keras cache is read-only).
            printed = outputs_of(executed)[1]
            assert "fallback:" not in printed, f"{executed.name} fell back to the digits in the grader's sandbox"

    untouched = results["untouched"]
    assert untouched.status == "graded", untouched.message
    assert untouched.max_score == reference.max_score
    assert [e.grade_id for e in untouched.exercises if e.score > 0] == []
    for executed in (autograded / "untouched" / chapter).glob("*.ipynb"):
        errors = cells_with_errors(executed)
        outside_exercises = [(index, name) for index, name, exercise in errors if not exercise]
        assert outside_exercises == [], f"cells of the release {executed.name} raised outside the exercises"
        assert errors, "the untouched release must fail its exercises"
        assert setup_cell_problem(executed) == ""

    for student, answers in wrong.items():
        assert wrong_answers.problems(chapter, student, answers, results[student], autograded / student / chapter) == []
    counts = wrong_answers.count_by_exercise(chapter)
    assert sorted(counts) == sorted(e.grade_id for e in reference.exercises) and min(counts.values()) >= 2, (
        f"every exercise needs at least two committed wrong answers: {counts}")


def chapter_class(chapter: str) -> type:
    """Return a test class for one chapter.

    pytest-xdist's ``loadscope`` keeps a class in one worker but spreads classes over the workers, so
    one class per chapter lets the chapters' gradings run side by side.
    """

    @pytest.mark.slow
    class TestChapter:
        def test_solution_full_marks_and_release_zero(self, tmp_path):
            grade_chapter(chapter, tmp_path)

    TestChapter.__name__ = TestChapter.__qualname__ = f"TestChapter_{chapter}"
    return TestChapter


for _chapter in CHAPTERS:
    globals()[f"TestChapter_{_chapter}"] = chapter_class(_chapter)
