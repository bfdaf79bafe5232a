"""Tests for grader.build: course/ is exactly what nbgrader generates from solutions/."""

import pytest

from grader import build, notebooks


def test_course_is_up_to_date_with_solutions(repo):
    assert build.out_of_date(repo / "solutions", repo / "course") == [], "run 'tfcourse build' and commit course/"


def released_notebooks(repo):
    return notebooks.find_notebooks([repo / "course"])


def test_release_hides_answers_and_hidden_tests(repo):
    paths = released_notebooks(repo)
    assert paths
    for path in paths:
        text = path.read_text(encoding="utf-8")
        assert "BEGIN SOLUTION" not in text and "BEGIN HIDDEN TESTS" not in text, path
        notebook = notebooks.read(path)
        answers = [c for c in notebook.cells if notebooks.is_solution_cell(c)]
        assert answers and all("raise NotImplementedError()" in c.source for c in answers), path


def test_only_answer_and_test_cells_may_raise(repo):
    for path in released_notebooks(repo):
        for cell in notebooks.read(path).cells:
            graded = notebooks.is_solution_cell(cell) or notebooks.is_test_cell(cell)
            assert (build.RAISES_TAG in cell.metadata.get("tags", [])) == graded


def test_build_replaces_stale_chapters(fixtures, tmp_path):
    release = tmp_path / "course"
    (release / "99_removed").mkdir(parents=True)
    assert build.build(fixtures / "source", release) == ["mini"]
    assert not (release / "99_removed").exists()
    assert build.out_of_date(fixtures / "source", release) == []


def test_check_reports_edits_and_strays(fixtures, tmp_path):
    release = tmp_path / "course"
    build.build(fixtures / "source", release)
    (release / "mini" / "mini.ipynb").write_text("{}")
    (release / "mini" / "notes.txt").write_text("by hand")
    assert build.out_of_date(fixtures / "source", release) == [
        "differs: mini/mini.ipynb", "not generated from the source: mini/notes.txt"]


def test_generate_fails_clearly_on_a_missing_source(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        build.build(tmp_path / "nothing", tmp_path / "course")


def test_build_refuses_to_overwrite_a_learners_work(fixtures, tmp_path):
    release = tmp_path / "course"
    build.build(fixtures / "source", release)
    notebook = release / "mini" / "mini.ipynb"
    assert build.learner_work(notebook) == ""
    answered = (fixtures / "submissions" / "reference_solution.ipynb").read_text(encoding="utf-8")
    notebook.write_text(answered, encoding="utf-8")
    with pytest.raises(build.LearnerWorkError, match=r"(?s)mini.ipynb \(2 exercise\(s\) answered\).*--force"):
        build.build(fixtures / "source", release)
    assert notebook.read_text(encoding="utf-8") == answered, "the learner's work must be untouched"
    build.build(fixtures / "source", release, force=True)
    assert build.learner_work(notebook) == ""


def test_learner_work_counts_outputs_and_damage(fixtures, tmp_path):
    import nbformat

    notebook = nbformat.read(fixtures / "submissions" / "untouched.ipynb", as_version=4)
    notebook.cells[1].outputs = [nbformat.v4.new_output("stream", text="ran\n")]
    executed = tmp_path / "executed.ipynb"
    nbformat.write(notebook, executed)
    assert build.learner_work(executed) == "it was run and saved with outputs"
    damaged = tmp_path / "damaged.ipynb"
    damaged.write_text("{", encoding="utf-8")
    assert "cannot be read" in build.learner_work(damaged)
