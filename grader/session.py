"""A grading session: every submission of a folder, graded into a real gradebook, a CSV and feedback pages.

This is the orchestrator, and the entry point of ``tfcourse grade``: :func:`grade` takes the grading
folder's lock (:mod:`grader.workspace`), finds the submissions, opens the grading context (sandbox,
nbgrader, trusted checks: :mod:`grader.context`) and grades each submission with the one-submission
pipeline (:mod:`grader.submission`), in this process or on workers (:mod:`grader.workers`). Then it
registers the students who could not be graded, exports the CSV (:mod:`grader.gradebook`) and writes
the instructor's class report beside it (:mod:`grader.class_report`).

A submission that cannot be graded (a missing or damaged notebook, an nbgrader failure) gets a
result with status ``"error"`` and a clear message; the other submissions are still graded.
"""

from __future__ import annotations

import os
import re
import secrets
import sys
import time
from pathlib import Path

from tqdm import tqdm

from . import class_report, gradebook, workers, workspace
from .context import GradingContext
from .options import GradingOptions
from .results import GradingRun, SubmissionResult
from .submission import SUBMISSION_ERRORS, grade_submission, unknown_assignment, validate_submission, write_feedback


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


def grade(submitted: Path, root: Path, source: Path, options: GradingOptions | None = None) -> GradingRun:
    """Autograde every submission under ``submitted`` and write the gradebook, CSV, feedback and class report.

    Parameters
    ----------
    submitted : Path
        Submissions laid out as ``<student>/<assignment>/<notebook>.ipynb``.
    root : Path
        The grading folder: receives ``gradebook.db``, ``autograded/``, ``feedback/``,
        ``grades.csv`` and ``class_report.html`` (about this run's submissions only). Grading again
        into the same folder updates it. A class report that cannot be written is no error: see
        :attr:`GradingRun.class_report_error`.
    source : Path
        The source (solution) notebooks with the hidden tests, and each chapter's ``grading.py``.
    options : GradingOptions, optional
        How to grade (the defaults of :class:`GradingOptions` otherwise).

    Raises
    ------
    grader.workspace.WorkspaceBusyError
        When another grading run is using ``root`` (nothing is changed).
    FileNotFoundError
        When ``submitted`` does not exist.
    """
    options = options or GradingOptions()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    root, source, submitted = Path(root).resolve(), Path(source).resolve(), Path(submitted)
    with workspace.exclusive(root):
        started = time.perf_counter()
        # Find the submissions first: a missing folder must fail before any sandbox files are made.
        pairs = discover(submitted)
        seed = secrets.randbelow(2**31) if options.seed is None else int(options.seed)
        with GradingContext.open(root, source, submitted, options, seed) as context:
            session_seconds = 0.0
            if options.parallel:
                results, sandboxes, session_seconds = grade_in_parallel(context, pairs)
            else:
                results, sandboxes = grade_in_order(context, pairs), {context.sandbox.mode.description}
            context.register_students([r.student for r in results if r.status != "graded"])
            grades_csv = root / "grades.csv"
            gradebook.export_csv(context.db_url, grades_csv)
            usage = dict(context.references.usage)
            described = describe_sandboxes(sandboxes)
        run = GradingRun(results, root / "gradebook.db", grades_csv, root / "feedback", described, seed, usage,
                         session_seconds, seconds=time.perf_counter() - started, workers=options.workers,
                         scheduler=options.scheduler or "")
        if options.class_report:
            write_class_report(run)
    return run


def describe_sandboxes(descriptions: set[str]) -> str:
    """Return one description of the sandboxes a run's workers used.

    Each worker's kernels run under a user id of their own, so descriptions that differ only in that
    number are one; sandboxes that really differ (a worker without bubblewrap, say) are all named.
    """
    if len(descriptions) <= 1:
        return next(iter(descriptions), "")
    merged = {re.sub(r"user id \d+", "a user id of its own for each worker", text) for text in descriptions}
    return "; ".join(sorted(merged))


def write_class_report(run: GradingRun) -> None:
    """Write the run's class report beside its CSV and record where on ``run``, or why not.

    The gradebook, the CSV and the feedback pages are written by then: a report that cannot be made
    (a read-only folder, a full disk) only leaves :attr:`GradingRun.class_report_error` set, for the
    caller to show as a warning, and never costs the grades.
    """
    path = Path(run.grades_csv).parent / class_report.REPORT_NAME
    try:
        run.class_report = class_report.write(run, path)
    except OSError as error:
        run.class_report_error = f"the class report could not be written to {path}: {error}"
    except Exception as error:  # A fault in the report itself must not cost the grades either.  # noqa: BLE001
        run.class_report_error = f"the class report could not be made ({type(error).__name__}: {error})"


def grade_in_order(context: GradingContext, pairs: list[tuple[str, str]]) -> list[SubmissionResult]:
    """Grade the submissions one after the other in this process."""
    return [grade_submission(context, context.submitted / student / assignment)
            for student, assignment in tqdm(pairs, desc="Grading", unit="submission",
                                            disable=not context.options.progress, file=sys.stderr)]


def grade_in_parallel(context: GradingContext,
                      pairs: list[tuple[str, str]]) -> tuple[list[SubmissionResult], set[str], float]:
    """Grade the submissions as tasks on workers and merge their scores here (see :mod:`grader.workers`).

    The workers (or the cluster) are reached first, so that a wrong scheduler address stops the run
    before the solutions run for their reference exports. Returns the results, how each worker
    isolated its kernels, and the seconds this process spent merging outcomes and writing feedback.
    """
    options = context.options
    executor, release = workers.open_executor(options.workers, options.scheduler)
    try:
        return _grade_tasks(context, pairs, executor)
    finally:
        release()


def _grade_tasks(context: GradingContext, pairs: list[tuple[str, str]],
                 executor) -> tuple[list[SubmissionResult], set[str], float]:
    """Make one task per submission, run the tasks on ``executor`` and merge each outcome as it comes."""
    options = context.options
    results: dict[tuple[str, str], SubmissionResult] = {}
    sandboxes = {context.sandbox.mode.description}
    merging = 0.0
    tasks = []
    for student, assignment in pairs:
        if assignment not in context.known:
            results[student, assignment] = unknown_assignment(student, assignment, context)
            continue
        folder = context.submitted / student / assignment
        result = SubmissionResult(student, assignment, "error",
                                  message=validate_submission(folder, context.source / assignment))
        if not result.message:
            try:
                spec = context.prepare(assignment)
                reference = context.references.folder(assignment) if spec is not None else None
                tasks.append(workers.make_task(student, assignment, folder, context.source / assignment, reference,
                                               context.seed, options.timeout, options.limits))
                continue
            except (*SUBMISSION_ERRORS, workers.TaskError) as error:
                result.message = str(error)
        results[student, assignment] = result

    def on_done(task: dict, outcome: dict | None, error: str) -> None:
        nonlocal merging
        key = (task["student"], task["assignment"])
        if outcome is None:
            results[key] = SubmissionResult(*key, "error", message=error)
            return
        result = outcome["result"]
        sandboxes.add(outcome["sandbox"])
        started = time.perf_counter()
        if result.status == "graded":
            workers.install_outcome(context.root, task, outcome, context.db_url)
            if options.feedback:
                write_feedback(context, result)
        merging += time.perf_counter() - started
        results[key] = result

    workers.run_tasks(tasks, executor, options.progress, on_done)
    return [results[pair] for pair in pairs], sandboxes, merging
