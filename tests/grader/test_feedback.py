"""Tests for grader.feedback."""

import nbformat

from grader.feedback import ConciseTestErrors


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
