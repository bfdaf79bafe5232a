"""Grade folders of submissions with nbgrader into a real gradebook, a CSV and feedback pages."""

from __future__ import annotations

import contextlib
import os
import secrets
import sys
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook
from nbgrader.plugins import CsvExportPlugin
from tqdm import tqdm

from . import notebooks, sandbox, workspace
from .specs import SpecError
from .trusted import TrustedScoring, TrustedScoringError, apply_verdicts
from .config import cell_timeout, make_config
from .nbgrader_api import NbgraderStepError, make_api, run_step
from .paths import assignments as list_assignments
from .report import ExerciseResult, exercise_results


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
        Wall-clock grading time.
    """

    student: str
    assignment: str
    status: str
    exercises: list[ExerciseResult] = field(default_factory=list)
    message: str = ""
    seconds: float = 0.0

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


def discover(submitted: Path) -> list[tuple[str, str]]:
    """List ``(student, assignment)`` pairs in nbgrader's ``<student>/<assignment>/`` layout."""
    submitted = Path(submitted)
    if not submitted.is_dir():
        raise FileNotFoundError(f"submissions folder {submitted} does not exist")
    pairs = []
    for student in sorted(p for p in submitted.iterdir() if p.is_dir() and not p.name.startswith(".")):
        for assignment in sorted(p for p in student.iterdir() if p.is_dir() and not p.name.startswith(".")):
            pairs.append((student.name, assignment.name))
    return pairs


def validate_submission(folder: Path, source: Path) -> str:
    """Return why a submission folder cannot be graded, or '' when it can.

    Every notebook of the source assignment must be present under its own name and be a valid
    notebook; a damaged file gets a message naming it and the reason.
    """
    problems = []
    present = {p.name for p in folder.glob("*.ipynb")}
    for expected in sorted(p.name for p in source.glob("*.ipynb")):
        if expected not in present:
            found = ", ".join(sorted(present)) or "no notebooks"
            problems.append(f"notebook {expected} is missing from the submission (found: {found})")
            continue
        try:
            notebooks.read(folder / expected)
        except notebooks.NotebookError as error:
            problems.append(str(error))
    return "; ".join(problems)


@contextlib.contextmanager
def jupyter_path(folder: Path) -> Iterator[None]:
    """Put ``folder`` first on ``JUPYTER_PATH`` (where Jupyter looks for kernels) for a while."""
    previous = os.environ.get("JUPYTER_PATH")
    os.environ["JUPYTER_PATH"] = os.pathsep.join([str(folder), previous]) if previous else str(folder)
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("JUPYTER_PATH", None)
        else:
            os.environ["JUPYTER_PATH"] = previous


def grade(submitted: Path, root: Path, source: Path, timeout: int | None = None, feedback: bool = True,
          progress: bool = True, limits: sandbox.Limits | None = None, seed: int | None = None) -> GradingRun:
    """Autograde every submission under ``submitted`` and write the gradebook, CSV and feedback.

    A submission that cannot be graded (a missing or damaged notebook, an nbgrader failure) gets a
    result with status ``"error"`` and a clear message; the other submissions are still graded.

    Parameters
    ----------
    submitted : Path
        Submissions laid out as ``<student>/<assignment>/<notebook>.ipynb``.
    root : Path
        The grading workspace: receives ``gradebook.db``, ``autograded/``, ``feedback/`` and
        ``grades.csv``. Grading again into the same workspace updates it.
    source : Path
        The source (solution) notebooks with the hidden tests.
    timeout : int, optional
        Per-cell timeout in seconds (the course default otherwise).
    feedback : bool
        Generate a feedback HTML page per graded submission.
    progress : bool
        Show a progress bar on standard error.
    limits : sandbox.Limits, optional
        Resource limits of each submission's kernel (the defaults of :class:`sandbox.Limits` otherwise).
    seed : int, optional
        Seed of the inputs that trusted checks draw (a fresh random one by default; give one to
        repeat a run exactly).

    Raises
    ------
    grader.workspace.WorkspaceBusyError
        When another grading run is using ``root`` (nothing is changed).
    FileNotFoundError
        When ``submitted`` does not exist.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    root, source, submitted = Path(root).resolve(), Path(source).resolve(), Path(submitted)
    with workspace.exclusive(root):
        return _grade_locked(submitted, root, source, timeout, feedback, progress, limits, seed)


def _grade_locked(submitted: Path, root: Path, source: Path, timeout: int | None, feedback: bool, progress: bool,
                  limits: sandbox.Limits | None, seed: int | None) -> GradingRun:
    """Grade while holding the grading folder (see :func:`grade`)."""
    # Find the submissions first: a missing folder must fail before any sandbox files are made.
    pairs = discover(submitted)
    # Whatever an interrupted run left in .sandbox/ is stale: this run holds the folder alone.
    for stale in sorted((root / ".sandbox").glob("grader-*")):
        sandbox.cleanup(stale)
    private = root / ".sandbox" / f"grader-{os.getpid()}"
    kernels, connection_file, mode = sandbox.prepare(private, limits)
    config = make_config(root, source, submitted=submitted, timeout=timeout, connection_file=connection_file)
    seed = secrets.randbelow(2**31) if seed is None else int(seed)
    trusted = TrustedScoring(private, config, seed)
    config.InsertExportCells.code_folder = str(trusted.code_folder)
    known = set(list_assignments(source))
    results = []
    try:
        with warnings.catch_warnings(), jupyter_path(kernels):
            # nbgrader's gradebook code triggers SQLAlchemy autoflush warnings that say nothing to a
            # grader, and cells that nbgrader restores have no cell id, which nbformat warns about.
            warnings.filterwarnings("ignore", module="nbgrader")
            warnings.filterwarnings("ignore", message=".*not in session.*")
            warnings.filterwarnings("ignore", category=nbformat.validator.MissingIDFieldWarning)
            api = make_api(config)
            generated: set[str] = set()
            for student, assignment in tqdm(pairs, desc="Grading", unit="submission", disable=not progress,
                                            file=sys.stderr):
                started = time.perf_counter()
                if assignment not in known:
                    result = SubmissionResult(student, assignment, "error", message=(
                        f"there is no assignment '{assignment}' in {source} (known: {', '.join(sorted(known)) or 'none'})"))
                else:
                    result = grade_submission(api, config, submitted / student / assignment, source / assignment,
                                              generated, feedback, trusted)
                result.seconds = time.perf_counter() - started
                results.append(result)
            register_students(config.CourseDirectory.db_url, [r.student for r in results if r.status != "graded"])
            grades_csv = root / "grades.csv"
            export_csv(config.CourseDirectory.db_url, grades_csv)
    finally:
        sandbox.cleanup(private)
    return GradingRun(results, root / "gradebook.db", grades_csv, root / "feedback", mode.description, seed)


def grade_submission(api, config, folder: Path, source: Path, generated: set[str], feedback: bool,
                     trusted: TrustedScoring | None = None) -> SubmissionResult:
    """Validate and autograde one submission folder (``<student>/<assignment>``).

    ``generated`` holds the assignments already generated into the gradebook during this run;
    the first submission of an assignment generates it. With ``trusted``, the exercises that the
    assignment's ``grading.py`` checks are scored by the verifier instead of the kernel.
    """
    student, assignment = folder.parent.name, folder.name
    result = SubmissionResult(student, assignment, "error", message=validate_submission(folder, source))
    if result.message:
        return result
    try:
        if assignment not in generated:
            run_step(api.generate_assignment(assignment, force=True, create=True), f"generate_assignment {assignment}")
            generated.add(assignment)
        if trusted is not None:
            trusted.prepare(assignment, source)
        run_step(api.autograde(assignment, student, force=True, create=True), f"autograde {student}/{assignment}")
        autograded = Path(config.CourseDirectory.root) / "autograded" / student / assignment
        if trusted is not None:
            apply_verdicts(config.CourseDirectory.db_url, assignment, student, autograded,
                           trusted.verify(student, assignment))
        result.exercises = exercise_results(config.CourseDirectory.db_url, assignment, student, autograded,
                                            cell_timeout(config))
        result.status = "graded"
    except (NbgraderStepError, SpecError, TrustedScoringError) as error:
        result.status, result.message = "error", str(error)
        return result
    if feedback:
        try:
            run_step(api.generate_feedback(assignment, student), f"generate_feedback {student}/{assignment}")
        except NbgraderStepError as error:
            # The grades are in the gradebook; only the feedback page is missing, and the message says so.
            result.message = f"graded, but no feedback page: {error}"
    return result


def register_students(db_url: str, students: list[str]) -> None:
    """Make sure every student appears in the gradebook, so that the CSV lists them (with 0)."""
    with Gradebook(db_url) as gradebook:
        for student in students:
            gradebook.update_or_create_student(student)


def export_csv(db_url: str, path: Path) -> None:
    """Export the gradebook's scores to CSV with nbgrader's own exporter."""
    with Gradebook(db_url) as gradebook:
        CsvExportPlugin(to=str(path)).export(gradebook)


def format_summary(results: list[SubmissionResult]) -> str:
    """Format one line per submission: student, assignment, score or error, and time taken."""
    lines = []
    for r in results:
        outcome = f"{r.score:g} / {r.max_score:g}" if r.status == "graded" else f"ERROR: {r.message}"
        lines.append(f"{r.student:<20} {r.assignment:<24} {outcome}  ({r.seconds:.1f} s)")
    return "\n".join(lines)
