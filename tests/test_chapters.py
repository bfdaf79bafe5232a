"""Every chapter through the real grader: the solution scores full marks, the release scores 0."""

import shutil

import pytest

from grader import autograde, paths
from tests.conftest import REPO

CHAPTERS = paths.assignments(REPO / "solutions")


@pytest.mark.slow
@pytest.mark.parametrize("chapter", CHAPTERS)
def test_solution_full_marks_and_release_zero(chapter, tmp_path):
    submitted = tmp_path / "submitted"
    for student, origin in (("reference", REPO / "solutions"), ("untouched", REPO / "course")):
        folder = submitted / student / chapter
        folder.mkdir(parents=True)
        for notebook in (origin / chapter).glob("*.ipynb"):
            shutil.copyfile(notebook, folder / notebook.name)
    run = autograde.grade(submitted, tmp_path / "grading", REPO / "solutions", feedback=False, progress=False)
    results = {result.student: result for result in run.results}

    reference = results["reference"]
    assert reference.status == "graded", reference.message
    failed = [(e.grade_id, e.message) for e in reference.exercises if not e.passed]
    assert failed == []
    assert len(reference.exercises) >= 5 and reference.max_score >= 10, "each chapter has >= 5 exercises, >= 10 points"
    assert reference.score == reference.max_score

    untouched = results["untouched"]
    assert untouched.status == "graded", untouched.message
    assert untouched.max_score == reference.max_score
    assert [e.grade_id for e in untouched.exercises if e.score > 0] == []
