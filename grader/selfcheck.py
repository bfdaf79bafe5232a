"""Score one learner's notebook, for self-study, with the same grader instructors use."""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
from pathlib import Path

from . import notebooks, progress
from .options import GradingOptions
from .results import SubmissionResult, format_table
from .session import grade

#: The student id a self-learner's notebook is graded under.
LEARNER = "learner"


def cache_dir() -> Path:
    """Return where ``tfcourse check`` keeps what it can reuse: ``$TFCOURSE_CACHE_DIR``, or ``~/.cache/tfcourse``."""
    configured = os.environ.get("TFCOURSE_CACHE_DIR")
    if configured:
        return Path(configured)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "tfcourse"


def learner_seed() -> int:
    """Return this learner's seed for the inputs of trusted checks, drawn once and kept in the cache.

    A fixed seed lets ``check`` reuse the solution's reference exports, so only the first check of
    a chapter runs the solution. (Instructors' ``grade`` draws a fresh seed every run instead.)
    """
    path = cache_dir() / "check-seed"
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        seed = secrets.randbelow(2**31)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(f"{seed}\n")
        except OSError:
            pass  # A read-only home: the seed holds for this check only.
        return seed


class CheckError(ValueError):
    """The notebook cannot be checked (not found, not a notebook, unknown chapter)."""


def source_notebook(notebook: Path, source: Path) -> Path:
    """Find the source notebook that a learner's notebook is a copy of.

    The chapter is the name of the notebook's folder (``course/01_tensors/...`` is ``01_tensors``).
    A renamed copy (``01_tensors-Copy1.ipynb``) is matched when the chapter has one notebook.
    """
    chapter = notebook.parent.name
    folder = source / chapter
    candidates = sorted(folder.glob("*.ipynb")) if folder.is_dir() else []
    if not candidates:
        raise CheckError(
            f"{notebook} is not in a chapter folder that {source} knows: keep the notebook in its "
            f"chapter folder (e.g. course/01_tensors/01_tensors.ipynb)"
        )
    for candidate in candidates:
        if candidate.name == notebook.name:
            return candidate
    if len(candidates) == 1:
        return candidates[0]
    names = ", ".join(c.name for c in candidates)
    raise CheckError(f"chapter {chapter} has several notebooks ({names}); {notebook.name} matches none of them")


def check(notebook: Path, source: Path, timeout: int | None = None) -> SubmissionResult:
    """Execute a learner's notebook with the hidden tests and return the per-exercise scores.

    The learner's file is copied, never modified; the grading happens in a scratch folder.

    Raises
    ------
    CheckError
        When the notebook does not exist, is damaged, or belongs to no known chapter.
    """
    notebook, source = Path(notebook).resolve(), Path(source).resolve()
    if not notebook.is_file():
        raise CheckError(f"{notebook} does not exist")
    try:
        notebooks.read(notebook)
    except notebooks.NotebookError as error:
        raise CheckError(str(error)) from error
    original = source_notebook(notebook, source)
    chapter = original.parent.name
    with tempfile.TemporaryDirectory(prefix="tfcourse-check-") as scratch:
        submitted = Path(scratch) / "submitted"
        folder = submitted / LEARNER / chapter
        folder.mkdir(parents=True)
        shutil.copyfile(notebook, folder / original.name)
        options = GradingOptions(timeout=timeout, feedback=False, class_report=False, progress=False,
                                 seed=learner_seed(), reference_cache=cache_dir() / "reference")
        run = grade(submitted, Path(scratch) / "grading", source, options)
    return run.results[0]


def record_progress(notebook: Path, result: SubmissionResult) -> list[str]:
    """Record a graded check in the progress file of the notebook's course folder (see :mod:`grader.progress`).

    Returns
    -------
    list of str
        What went wrong recording it (empty when it was recorded).
    """
    return progress.record(progress.course_dir_of(notebook), result.assignment, result.score, result.max_score)


def result_data(notebook: Path, result: SubmissionResult, problems: list[str] | None = None) -> dict:
    """Return a check's outcome as JSON-ready data, for ``tfcourse check --json`` and the notebook's score cell.

    Parameters
    ----------
    notebook : Path
        The notebook that was checked.
    result : SubmissionResult
        Its result.
    problems : list of str, optional
        Problems met recording the progress (see :func:`record_progress`).

    Returns
    -------
    dict
        ``status`` (``"graded"`` or ``"error"``), ``message``, ``notebook``, ``chapter``, ``score``,
        ``max_score``, ``seconds``, ``exercises`` (``grade_id``, ``score``, ``max_score``, ``passed``,
        ``message`` each), ``notes``, ``table`` (the plain-text table of ``tfcourse check``) and
        ``progress_problems``.
    """
    return {
        "status": result.status,
        "message": result.message,
        "notebook": str(notebook),
        "chapter": result.assignment,
        "score": result.score,
        "max_score": result.max_score,
        "seconds": round(result.seconds, 1),
        "exercises": [{"grade_id": e.grade_id, "score": e.score, "max_score": e.max_score, "passed": e.passed,
                       "message": e.message} for e in result.exercises],
        "notes": list(result.notes),
        "table": format_table(result.exercises, title=f"Chapter {result.assignment}: {notebook}")
        if result.status == "graded" else "",
        "progress_problems": list(problems or []),
    }
