"""Tests for the feedback steps of grader.preprocessors: concise errors, hidden tests cleared, the results table."""

import nbformat

from grader.preprocessors import ClearHiddenTestsInTestCells, ConciseTestErrors, ResultsSummary


def test_feedback_errors_are_cut_to_one_line():
    cell = nbformat.v4.new_code_cell("check(answer())\n### BEGIN HIDDEN TESTS\nsecret()\n### END HIDDEN TESTS")
    cell.metadata["nbgrader"] = {"grade": True, "solution": False, "grade_id": "t", "points": 1}
    cell.outputs = [nbformat.v4.new_output("error", ename="CheckFailed", evalue="wrong", traceback=["secret()"])]
    notebook = nbformat.v4.new_notebook(cells=[cell])
    notebook, _ = ConciseTestErrors().preprocess(notebook, {})
    assert notebook.cells[0].outputs[0].traceback == ["CheckFailed: wrong"]


def test_answer_cells_keep_their_tracebacks():
    cell = nbformat.v4.new_code_cell("def f():\n    return 1 / 0\nf()")
    cell.metadata["nbgrader"] = {"grade": False, "solution": True, "grade_id": "a"}
    cell.outputs = [nbformat.v4.new_output("error", ename="ZeroDivisionError", evalue="division by zero",
                                           traceback=["line 1", "line 2"])]
    notebook, _ = ConciseTestErrors().preprocess(nbformat.v4.new_notebook(cells=[cell]), {})
    assert notebook.cells[0].outputs[0].traceback == ["line 1", "line 2"]


def graded_test_cell(grade_id, score, points, outputs=()):
    cell = nbformat.v4.new_code_cell("check(answer())\n### BEGIN HIDDEN TESTS\nsecret()\n### END HIDDEN TESTS")
    cell.metadata["nbgrader"] = {"grade": True, "solution": False, "grade_id": grade_id, "points": points,
                                 "score": score}
    cell.outputs = list(outputs)
    return cell


def test_results_summary_lists_each_exercise_and_what_to_fix():
    failed = nbformat.v4.new_output("error", ename="CheckFailed", evalue="expected shape (None, 10) | got <5>",
                                    traceback=["secret()"])
    notebook = nbformat.v4.new_notebook(cells=[graded_test_cell("ex1_test", 2, 2),
                                               graded_test_cell("ex2_test", 0, 3, [failed])])
    notebook, _ = ResultsSummary().preprocess(notebook, {"nbgrader": {"score": 2.0, "max_score": 5.0}})
    summary = notebook.cells[0].source
    assert summary.splitlines()[0] == "## Your results: 2 / 5"
    assert "| ex1_test | 2 / 2 | passed |" in summary
    assert "| ex2_test | 0 / 3 | CheckFailed: expected shape (None, 10) \\| got &lt;5> |" in summary
    assert "secret" not in summary


def test_markers_in_a_student_cell_do_not_stop_feedback():
    answer = nbformat.v4.new_code_cell('text = "### BEGIN HIDDEN TESTS"')
    answer.metadata["nbgrader"] = {"grade": False, "solution": True, "grade_id": "ex1_answer"}
    notebook = nbformat.v4.new_notebook(cells=[answer, graded_test_cell("ex1_test", 1, 1)])
    notebook, _ = ClearHiddenTestsInTestCells().preprocess(notebook, {})
    assert notebook.cells[0].source == 'text = "### BEGIN HIDDEN TESTS"'
    assert "secret" not in notebook.cells[1].source
