"""Tests for grader.results: failure messages and the score table."""

from grader.results import ExerciseResult, failure_message, format_table


def error_cell(ename, evalue):
    return {"outputs": [{"output_type": "error", "ename": ename, "evalue": evalue, "traceback": []}]}


def test_failure_messages():
    assert failure_message({"outputs": [{"output_type": "stream", "name": "stdout", "text": "ok"}]}) == ""
    assert failure_message(error_cell("CheckFailed", "expected (None, 10)\ntable")) == "CheckFailed: expected (None, 10)"
    assert "not been answered" in failure_message(error_cell("NotImplementedError", ""))
    assert failure_message(error_cell("CellTimeoutError", ""), timeout=9) == (
        "the cell did not finish within the time limit of 9 s and was interrupted")
    stderr = {"outputs": [{"output_type": "stream", "name": "stderr", "text": "WARNING: noise\n"}]}
    assert failure_message(stderr) == "the cell wrote to standard error, which scores 0: WARNING: noise"
    assert len(failure_message(error_cell("ValueError", "x" * 5000))) == 400


def test_an_error_says_more_than_the_standard_error_before_it():
    noisy = {"outputs": [{"output_type": "stream", "name": "stderr", "text": "E0000 oneDNN supports DT_INT32 ...\n"},
                         *error_cell("CheckFailed", "result has shape (2, 4, 1, 3), expected (2, 4, 3, 1)")["outputs"]]}
    assert failure_message(noisy) == "CheckFailed: result has shape (2, 4, 1, 3), expected (2, 4, 3, 1)"


def test_table_lists_each_exercise_and_the_total():
    table = format_table([ExerciseResult("ex1_test", 2, 2), ExerciseResult("ex2_test", 0, 3, "CheckFailed: no")],
                         title="Chapter mini")
    lines = table.splitlines()
    assert lines[0] == "Chapter mini"
    assert "ex1_test" in lines[3] and "passed" in lines[3]
    assert "CheckFailed: no" in lines[4]
    assert lines[-1].split()[:4] == ["total", "2", "/", "5"]

