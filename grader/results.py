"""What grading produces: per-exercise results, per-submission results, a run's results, and their text forms.

Scores come from the gradebook (:mod:`grader.gradebook`); messages come from the executed notebook,
so that a student reads the check's own words.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from . import gradebook, notebooks

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


@dataclass
class SubmissionResult:
    """The outcome of grading one student's submission of one assignment.

    Attributes
    ----------
    student, assignment : str
        Whose submission, of what.
    status : str
        ``"graded"`` or ``"error"`` (the submission could not be graded; see ``message``).
    exercises : list of ExerciseResult
        Per-exercise scores and messages (empty on error).
    message : str
        What went wrong, for ``"error"``.
    seconds : float
        Wall-clock time of grading this submission. The work done once per assignment and run
        (generating it into the gradebook, and running the solution for the reference exports,
        whose time is in :attr:`GradingRun.reference_usage`) is not counted.
    measurements : dict
        What the grader measured on held-out data for model checks, by ``grade_id``
        (``{"metric", "value", "threshold", "lower_is_better"}``; see :meth:`grader.checks.ModelCheck.measure`).
    notes : list of str
        The grader's notes about the submission's cells (a pasted copy of a test cell, say; see
        :mod:`grader.cell_metadata`).
    phases : dict
        Seconds spent in each step of grading this submission (see :mod:`grader.submission`).
    """

    student: str
    assignment: str
    status: str
    exercises: list[ExerciseResult] = field(default_factory=list)
    message: str = ""
    seconds: float = 0.0
    measurements: dict[str, dict] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    phases: dict[str, float] = field(default_factory=dict)

    @property
    def score(self) -> float:
        """Points earned."""
        return sum(e.score for e in self.exercises)

    @property
    def max_score(self) -> float:
        """Points available (0 when the submission could not be graded)."""
        return sum(e.max_score for e in self.exercises)


@dataclass
class GradingRun:
    """Everything one grading run produced: per-submission results and the files written."""

    results: list[SubmissionResult]
    gradebook: Path
    grades_csv: Path
    feedback: Path
    sandbox: str = ""
    seed: int = 0
    reference_usage: dict[str, dict] = field(default_factory=dict)
    #: Seconds the session spent on the outcomes of parallel workers: merging scores, writing feedback.
    session_seconds: float = 0.0
    #: Wall-clock seconds of the whole run, from taking the grading folder until the CSV is written and the
    #: sandbox stopped (0: not measured).
    seconds: float = 0.0
    #: Local worker processes that graded the submissions (1: one after the other in the grading process).
    workers: int = 1
    #: The address of the Dask scheduler whose workers graded the submissions, or '' for local grading.
    scheduler: str = ""
    #: The instructor's class report (:mod:`grader.class_report`), or None when it could not be written.
    class_report: Path | None = None
    #: Why the class report could not be written, or '' when it was.
    class_report_error: str = ""


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
    rows = gradebook.grade_rows(db_url, assignment, student)
    for name in dict.fromkeys(row.notebook for row in rows):
        executed = Path(autograded) / f"{name}.ipynb"
        messages = messages_by_cell(executed, timeout) if executed.is_file() else {}
        order = {grade_id: index for index, grade_id in enumerate(messages)}
        grades = sorted((row for row in rows if row.notebook == name),
                        key=lambda row: (order.get(row.grade_id, len(order)), row.grade_id))
        for row in grades:
            message = messages.get(row.grade_id, "")
            if row.score < row.max_score and not message:
                message = "the test did not pass"
            results.append(ExerciseResult(row.grade_id, row.score, row.max_score, message))
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


def format_summary(results: list[SubmissionResult]) -> str:
    """Format one line per submission: student, assignment, score or error, and time taken."""
    lines = []
    for r in results:
        outcome = f"{r.score:g} / {r.max_score:g}" if r.status == "graded" else f"ERROR: {r.message}"
        lines.append(f"{r.student:<20} {r.assignment:<24} {outcome}  ({r.seconds:.1f} s)")
        lines.extend(f"{'':<20} note: {note}" for note in r.notes)
    return "\n".join(lines)
