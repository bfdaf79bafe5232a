"""Per-exercise results: scores from the gradebook, messages from the executed notebook."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry

from . import notebooks

#: Longest failure message kept per exercise (the full output stays in the executed notebook).
MAX_MESSAGE = 400


@dataclass
class ExerciseResult:
    """The grade of one autograded test cell.

    Attributes
    ----------
    grade_id : str
        The nbgrader id of the test cell, e.g. ``ex1_test``.
    score, max_score : float
        Points earned and points available.
    message : str
        Why points were lost, or an empty string when the test passed.
    """

    grade_id: str
    score: float
    max_score: float
    message: str = ""

    @property
    def passed(self) -> bool:
        """True when the exercise earned all its points."""
        return self.score >= self.max_score


def failure_message(cell, timeout: int | None = None) -> str:
    """Explain in one line why an executed test cell failed, or return '' when it did not.

    An error says what to fix, so the first error of the cell is preferred to anything the cell wrote
    to standard error before it (TensorFlow's C++ notices, say, which also score 0).
    """
    outputs = cell.get("outputs", [])
    for output in outputs:
        if output.get("output_type") == "error":
            name, value = output.get("ename", "Error"), str(output.get("evalue", "")).strip()
            if name in ("CellTimeoutError", "KeyboardInterrupt"):
                limit = f" of {timeout} s" if timeout else ""
                return f"the cell did not finish within the time limit{limit} and was interrupted"
            if name == "NotImplementedError" and not value:
                return "NotImplementedError: the exercise has not been answered yet"
            text = f"{name}: {value.splitlines()[0] if value else ''}".strip()
            return text[:MAX_MESSAGE]
    for output in outputs:
        if output.get("output_type") == "stream" and output.get("name") == "stderr":
            first = str(output.get("text", "")).strip().splitlines()
            return ("the cell wrote to standard error, which scores 0: " + (first[0] if first else ""))[:MAX_MESSAGE]
    return ""


def messages_by_cell(executed: Path, timeout: int | None = None) -> dict[str, str]:
    """Map each graded test cell's id to its failure message in an executed notebook."""
    notebook = notebooks.read(executed)
    found = {}
    for cell in notebook.cells:
        if notebooks.is_test_cell(cell):
            found[cell.metadata["nbgrader"]["grade_id"]] = failure_message(cell, timeout)
    return found


def exercise_results(db_url: str, assignment: str, student: str, autograded: Path,
                     timeout: int | None = None) -> list[ExerciseResult]:
    """Read one submission's per-exercise grades, in notebook order, with their failure messages.

    Parameters
    ----------
    db_url : str
        The gradebook's database URL.
    assignment, student : str
        The submission.
    autograded : Path
        The folder of the executed notebooks of this submission.
    timeout : int, optional
        The per-cell timeout, quoted in timeout messages.
    """
    results = []
    with Gradebook(db_url) as gradebook:
        try:
            submission = gradebook.find_submission(assignment, student)
        except MissingEntry:
            return results
        for submitted_notebook in submission.notebooks:
            executed = Path(autograded) / f"{submitted_notebook.name}.ipynb"
            messages = messages_by_cell(executed, timeout) if executed.is_file() else {}
            order = {grade_id: index for index, grade_id in enumerate(messages)}
            grades = list(submitted_notebook.grades)
            grades.sort(key=lambda g: (order.get(g.name, len(order)), g.name))
            for grade in grades:
                score = float(grade.score or 0.0)
                message = messages.get(grade.name, "")
                if score < grade.max_score and not message:
                    message = "the test did not pass"
                results.append(ExerciseResult(grade.name, score, float(grade.max_score), message))
    return results


def format_table(results: list[ExerciseResult], title: str = "") -> str:
    """Format per-exercise results as a plain-text table with a total line."""
    width = max([len("exercise"), *(len(r.grade_id) for r in results)])
    lines = [title] if title else []
    lines.append(f"{'exercise':<{width}}  {'points':>9}  result")
    lines.append(f"{'-' * width}  {'-' * 9}  {'-' * 6}")
    for result in results:
        verdict = "passed" if result.passed else result.message
        lines.append(f"{result.grade_id:<{width}}  {result.score:>4g} / {result.max_score:<3g}  {verdict}")
    total = sum(r.score for r in results)
    available = sum(r.max_score for r in results)
    lines.append(f"{'-' * width}  {'-' * 9}")
    lines.append(f"{'total':<{width}}  {total:>4g} / {available:<3g}")
    return "\n".join(lines)
