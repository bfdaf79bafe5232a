"""Grade folders of submissions with nbgrader into a real gradebook, a CSV and feedback pages."""

from __future__ import annotations

import concurrent.futures
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

from . import notebooks, parallel, sandbox, workspace
from .specs import ChapterSpec, SpecError
from .trusted import TrustedScoring, TrustedScoringError, apply_verdicts
from .cell_metadata import notes_in
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
        Wall-clock time of grading this submission. The work done once per assignment and run
        (generating it into the gradebook, and running the solution for the reference exports,
        whose time is in :attr:`GradingRun.reference_usage`) is not counted.
    measurements : dict
        What the grader measured on held-out data for model checks, by ``grade_id``
        (``{"metric", "value", "threshold", "lower_is_better"}``; see :func:`grader.verify.measure`).
    notes : list of str
        The grader's notes about the submission's cells (a pasted copy of a test cell, say; see
        :mod:`grader.cell_metadata`).
    """

    student: str
    assignment: str
    status: str
    exercises: list[ExerciseResult] = field(default_factory=list)
    message: str = ""
    seconds: float = 0.0
    measurements: dict[str, dict] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

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
          progress: bool = True, limits: sandbox.Limits | None = None, seed: int | None = None,
          workers: int = 1, scheduler: str | None = None, references: dict[str, Path] | None = None,
          reference_cache: Path | None = None) -> GradingRun:
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
    workers : int
        Submissions graded at the same time, each in its own local worker process (see
        :mod:`grader.parallel`); 1 grades them one after the other in this process.
    scheduler : str, optional
        The address of a Dask distributed scheduler: grade on that cluster's workers instead.
    references : dict, optional
        Reference exports already computed with ``seed``, by assignment (used by parallel workers).
    reference_cache : Path, optional
        Keep reference exports in this folder between runs with the same seed (see
        :class:`grader.trusted.TrustedScoring`).

    Raises
    ------
    grader.workspace.WorkspaceBusyError
        When another grading run is using ``root`` (nothing is changed).
    FileNotFoundError
        When ``submitted`` does not exist.
    ValueError
        When ``workers`` is below 1.
    """
    if int(workers) < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    root, source, submitted = Path(root).resolve(), Path(source).resolve(), Path(submitted)
    with workspace.exclusive(root):
        return _grade_locked(submitted, root, source, timeout, feedback, progress, limits, seed,
                             int(workers), scheduler, references or {}, reference_cache)


def _grade_locked(submitted: Path, root: Path, source: Path, timeout: int | None, feedback: bool, progress: bool,
                  limits: sandbox.Limits | None, seed: int | None, workers: int, scheduler: str | None,
                  references: dict[str, Path], reference_cache: Path | None) -> GradingRun:
    """Grade while holding the grading folder (see :func:`grade`)."""
    # Find the submissions first: a missing folder must fail before any sandbox files are made.
    pairs = discover(submitted)
    # Whatever an interrupted run left in .sandbox/ is stale: this run holds the folder alone.
    for stale in sorted((root / ".sandbox").glob("grader-*")):
        sandbox.cleanup(stale)
    private = root / ".sandbox" / f"grader-{os.getpid()}"
    limits = limits or sandbox.Limits()
    kernels, connection_file, mode = sandbox.prepare(private, limits)
    config = make_config(root, source, submitted=submitted, timeout=timeout, connection_file=connection_file)
    seed = secrets.randbelow(2**31) if seed is None else int(seed)
    trusted = TrustedScoring(private, config, seed, reference_cache)
    for assignment, folder in references.items():
        trusted.use_reference(assignment, source / assignment, folder)
    config.InsertExportCells.code_folder = str(trusted.code_folder)
    known = set(list_assignments(source))
    sandboxes = {mode.description}
    try:
        with warnings.catch_warnings(), jupyter_path(kernels):
            # nbgrader's gradebook code triggers SQLAlchemy autoflush warnings that say nothing to a
            # grader, and cells that nbgrader restores have no cell id, which nbformat warns about.
            warnings.filterwarnings("ignore", module="nbgrader")
            warnings.filterwarnings("ignore", message=".*not in session.*")
            warnings.filterwarnings("ignore", category=nbformat.validator.MissingIDFieldWarning)
            api = make_api(config)
            if workers > 1 or scheduler:
                results = _grade_in_parallel(api, config, submitted, source, pairs, known, trusted, feedback,
                                             progress, workers, scheduler, timeout, limits, sandboxes)
            else:
                results = _grade_in_order(api, config, submitted, source, pairs, known, trusted, feedback, progress)
            register_students(config.CourseDirectory.db_url, [r.student for r in results if r.status != "graded"])
            grades_csv = root / "grades.csv"
            export_csv(config.CourseDirectory.db_url, grades_csv)
    finally:
        sandbox.cleanup(private)
    described = mode.description if len(sandboxes) == 1 else "; ".join(sorted(sandboxes))
    return GradingRun(results, root / "gradebook.db", grades_csv, root / "feedback", described, seed,
                      dict(trusted.reference_usage))


def unknown_assignment(student: str, assignment: str, source: Path, known: set[str]) -> SubmissionResult:
    """Return the error result of a submission to an assignment that ``source`` does not have."""
    return SubmissionResult(student, assignment, "error", message=(
        f"there is no assignment '{assignment}' in {source} (known: {', '.join(sorted(known)) or 'none'})"))


def _grade_in_order(api, config, submitted: Path, source: Path, pairs: list[tuple[str, str]], known: set[str],
                    trusted: TrustedScoring, feedback: bool, progress: bool) -> list[SubmissionResult]:
    """Grade the submissions one after the other in this process."""
    results = []
    generated: set[str] = set()
    for student, assignment in tqdm(pairs, desc="Grading", unit="submission", disable=not progress, file=sys.stderr):
        if assignment not in known:
            result = unknown_assignment(student, assignment, source, known)
        else:
            result = grade_submission(api, config, submitted / student / assignment, source / assignment,
                                      generated, feedback, trusted)
        results.append(result)
    return results


def _grade_in_parallel(api, config, submitted: Path, source: Path, pairs: list[tuple[str, str]], known: set[str],
                       trusted: TrustedScoring, feedback: bool, progress: bool, workers: int, scheduler: str | None,
                       timeout: int | None, limits: sandbox.Limits, sandboxes: set[str]) -> list[SubmissionResult]:
    """Grade the submissions as tasks on workers and merge their scores here (see :mod:`grader.parallel`).

    The workers (or the cluster) are reached first, so that a wrong scheduler address stops the run
    before the solutions run for their reference exports.
    """
    executor, release = parallel.open_executor(workers, scheduler)
    try:
        return _grade_tasks(api, config, submitted, source, pairs, known, trusted, feedback, progress, executor,
                            timeout, limits, sandboxes)
    finally:
        release()


def _grade_tasks(api, config, submitted: Path, source: Path, pairs: list[tuple[str, str]], known: set[str],
                 trusted: TrustedScoring, feedback: bool, progress: bool, executor: concurrent.futures.Executor,
                 timeout: int | None, limits: sandbox.Limits, sandboxes: set[str]) -> list[SubmissionResult]:
    """Make one task per submission, run the tasks on ``executor`` and merge each outcome as it comes."""
    results: dict[tuple[str, str], SubmissionResult] = {}
    tasks = []
    generated: set[str] = set()
    for student, assignment in pairs:
        if assignment not in known:
            results[student, assignment] = unknown_assignment(student, assignment, source, known)
            continue
        folder = submitted / student / assignment
        result = SubmissionResult(student, assignment, "error", message=validate_submission(folder, source / assignment))
        if not result.message:
            try:
                spec = prepare_assignment(api, assignment, source / assignment, generated, trusted)
                reference = trusted.reference_folder(assignment) if spec is not None else None
                tasks.append(parallel.make_task(student, assignment, folder, source / assignment, reference,
                                                trusted.seed, timeout, limits))
                continue
            except (NbgraderStepError, SpecError, TrustedScoringError, parallel.TaskError) as error:
                result.message = str(error)
        results[student, assignment] = result

    def on_done(task: dict, outcome: dict | None, error: str) -> None:
        key = (task["student"], task["assignment"])
        if outcome is None:
            results[key] = SubmissionResult(*key, "error", message=error)
            return
        result = outcome["result"]
        sandboxes.add(outcome["sandbox"])
        if result.status == "graded":
            parallel.install_outcome(config.CourseDirectory.root, task, outcome, config.CourseDirectory.db_url)
            if feedback:
                write_feedback(api, result)
        results[key] = result

    parallel.run_tasks(tasks, executor, progress, on_done)
    return [results[pair] for pair in pairs]


def grade_submission(api, config, folder: Path, source: Path, generated: set[str], feedback: bool,
                     trusted: TrustedScoring | None = None) -> SubmissionResult:
    """Validate and autograde one submission folder (``<student>/<assignment>``).

    ``generated`` holds the assignments already generated into the gradebook during this run (see
    :func:`prepare_assignment`). With ``trusted``, the exercises that the
    assignment's ``grading.py`` checks are scored by the verifier instead of the kernel.
    """
    student, assignment = folder.parent.name, folder.name
    result = SubmissionResult(student, assignment, "error", message=validate_submission(folder, source))
    if result.message:
        return result
    started = time.perf_counter()
    try:
        prepare_assignment(api, assignment, source, generated, trusted)
        started = time.perf_counter()  # The preparation is once per run: it is not this submission's time.
        run_step(api.autograde(assignment, student, force=True, create=True), f"autograde {student}/{assignment}")
        autograded = Path(config.CourseDirectory.root) / "autograded" / student / assignment
        if trusted is not None:
            verdicts = trusted.verify(student, assignment)
            apply_verdicts(config.CourseDirectory.db_url, assignment, student, autograded, verdicts)
            result.measurements = {v.grade_id: v.measured for v in verdicts if v.measured is not None}
        result.exercises = exercise_results(config.CourseDirectory.db_url, assignment, student, autograded,
                                            cell_timeout(config))
        result.notes = [note for executed in sorted(autograded.glob("*.ipynb")) for note in notes_in(executed)]
        result.status = "graded"
    except (NbgraderStepError, SpecError, TrustedScoringError) as error:
        result.status, result.message = "error", str(error)
        result.seconds = time.perf_counter() - started
        return result
    if feedback:
        write_feedback(api, result)
    result.seconds = time.perf_counter() - started
    return result


def prepare_assignment(api, assignment: str, source: Path, generated: set[str],
                       trusted: TrustedScoring | None) -> ChapterSpec | None:
    """Generate ``assignment`` into the gradebook (once per run) and prepare its trusted checks.

    ``generated`` holds the assignments already generated during this run. Returns the
    assignment's checks, or None when it has none (or ``trusted`` is None).
    """
    if assignment not in generated:
        run_step(api.generate_assignment(assignment, force=True, create=True), f"generate_assignment {assignment}")
        generated.add(assignment)
    return trusted.prepare(assignment, source) if trusted is not None else None


def write_feedback(api, result: SubmissionResult) -> None:
    """Write the feedback page of a graded submission; a failure is noted in ``result.message``."""
    try:
        run_step(api.generate_feedback(result.assignment, result.student),
                 f"generate_feedback {result.student}/{result.assignment}")
    except NbgraderStepError as error:
        # The grades are in the gradebook; only the feedback page is missing, and the message says so.
        result.message = f"graded, but no feedback page: {error}"


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
        lines.extend(f"{'':<20} note: {note}" for note in r.notes)
    return "\n".join(lines)
