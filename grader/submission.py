"""One submission's run through the grader.

:func:`grade_submission` takes one ``<student>/<assignment>`` folder through the pipeline:

1. validate: every notebook of the assignment is there and readable;
2. prepare the assignment, once per grading context (generate it into the gradebook, run the
   solution for the reference exports of its trusted checks);
3. start the verifier (:class:`grader.verdicts.Verification`), which loads while the notebook runs;
4. autograde with nbgrader (the preprocessors of :mod:`grader.preprocessors`, the kernel in the
   sandbox);
5. verify the exports and apply the verdicts to the gradebook and the executed notebook;
6. read the per-exercise results and the grader's notes;
7. write the feedback page.

It runs in the session's process for sequential grading and in each worker for parallel grading.
"""

from __future__ import annotations

import time
from pathlib import Path

from . import notebooks
from .cell_metadata import notes_in
from .checks import SpecError
from .config import cell_timeout
from .context import GradingContext
from .nbgrader_api import NbgraderStepError, run_step
from .reference import ReferenceRunError
from .results import SubmissionResult, exercise_results
from .verdicts import Verification, apply_verdicts

#: The errors that make one submission ungradable, reported in its result (the others are still graded).
SUBMISSION_ERRORS = (NbgraderStepError, SpecError, ReferenceRunError)


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


def unknown_assignment(student: str, assignment: str, context: GradingContext) -> SubmissionResult:
    """Return the error result of a submission to an assignment that the source does not have."""
    known = ", ".join(sorted(context.known)) or "none"
    return SubmissionResult(student, assignment, "error", message=(
        f"there is no assignment '{assignment}' in {context.source} (known: {known})"))


def grade_submission(context: GradingContext, folder: Path, feedback: bool | None = None) -> SubmissionResult:
    """Grade one submission folder (``<student>/<assignment>``) in ``context``; see the module's docstring.

    ``feedback`` overrides the session's option (a parallel worker leaves the page to the session).
    A submission that cannot be graded gets a result with status ``"error"`` and the reason.
    """
    student, assignment = folder.parent.name, folder.name
    if assignment not in context.known:
        return unknown_assignment(student, assignment, context)
    result = SubmissionResult(student, assignment, "error",
                              message=validate_submission(folder, context.source / assignment))
    if result.message:
        return result
    started = time.perf_counter()
    phases = result.phases
    try:
        context.prepare(assignment)
        started = mark = time.perf_counter()  # The preparation is once per run: not this submission's time.
        verification = Verification(context.sandbox, context.references, student, assignment)
        mark = _phase(phases, "starting the verifier", mark)
        try:
            run_step(context.api.autograde(assignment, student, force=True, create=True),
                     f"autograde {student}/{assignment}")
        except BaseException:
            verification.cancel()
            raise
        mark = _phase(phases, "autograde: the notebook in the sandbox", mark)
        autograded = context.autograded / student / assignment
        verdicts = verification.finish()
        mark = _phase(phases, "the verifier, after the notebook", mark)
        apply_verdicts(context.db_url, assignment, student, autograded, verdicts)
        result.measurements = {v.grade_id: v.measured for v in verdicts if v.measured is not None}
        result.exercises = exercise_results(context.db_url, assignment, student, autograded,
                                            cell_timeout(context.config))
        result.notes = [note for executed in sorted(autograded.glob("*.ipynb")) for note in notes_in(executed)]
        result.status = "graded"
        mark = _phase(phases, "verdicts and results", mark)
    except SUBMISSION_ERRORS as error:
        result.status, result.message = "error", str(error)
        result.seconds = time.perf_counter() - started
        return result
    if context.options.feedback if feedback is None else feedback:
        write_feedback(context, result)
        _phase(phases, "feedback page", mark)
    result.seconds = time.perf_counter() - started
    return result


def _phase(phases: dict[str, float], name: str, since: float) -> float:
    """Record the seconds since ``since`` as phase ``name``; return the time now."""
    now = time.perf_counter()
    phases[name] = now - since
    return now


def write_feedback(context: GradingContext, result: SubmissionResult) -> None:
    """Write the feedback page of a graded submission; a failure is noted in ``result.message``."""
    try:
        run_step(context.api.generate_feedback(result.assignment, result.student),
                 f"generate_feedback {result.student}/{result.assignment}")
    except NbgraderStepError as error:
        # The grades are in the gradebook; only the feedback page is missing, and the message says so.
        result.message = f"graded, but no feedback page: {error}"
