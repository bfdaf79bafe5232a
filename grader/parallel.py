"""Grade submissions in parallel: local worker processes, or a Dask distributed cluster.

The coordinator (the ``tfcourse grade`` process) keeps the course's gradebook and does the work
that must happen once per run: it generates each assignment into the gradebook and runs each
solution for the reference exports of its trusted checks (:mod:`grader.trusted`). Each submission
then becomes a *task*: plain data (the submission's files, the source assignment's files, the
reference exports, the seed and the limits) that a worker grades on its own, with the same
sandboxed grader as a sequential run, in a private scratch course. The worker returns plain data
as well: the result, the executed notebooks and the scores its gradebook recorded. The coordinator
merges them into the course's gradebook, keeping manual grades and comments, and writes the
feedback pages.

Because tasks carry their files, a worker needs no shared file system: the same code runs in a
local process pool and on Dask workers on other machines (which need this package installed and
bubblewrap for isolation, like the local machine). A task that fails, or a worker that dies,
gives that submission an ``"error"`` result; the other submissions are still graded.
"""

from __future__ import annotations

import concurrent.futures
import datetime
import multiprocessing
import shutil
import sys
import tempfile
import threading
import traceback
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from nbgrader.api import Gradebook
from tqdm import tqdm

#: Largest total size of the files of one submission or one source assignment that a task carries.
MAX_TASK_BYTES = 200 * 1024**2

#: How long to keep trying to reach a Dask scheduler before grading stops with an error.
CONNECT_TIMEOUT = "30s"

#: One task at a time per worker process: grading changes process-wide state (environment, signals).
_TASK_LOCK = threading.Lock()


class TaskError(RuntimeError):
    """A task could not be built from a folder (too large, unreadable)."""


def read_tree(folder: Path) -> dict[str, bytes]:
    """Return the regular files under ``folder`` as ``{relative path: bytes}`` (links are skipped).

    Raises
    ------
    TaskError
        When the files add up to more than :data:`MAX_TASK_BYTES`.
    """
    folder = Path(folder)
    files, total = {}, 0
    for path in sorted(folder.rglob("*")):
        if path.is_symlink() or not path.is_file() or ".ipynb_checkpoints" in path.parts:
            continue
        total += path.stat().st_size
        if total > MAX_TASK_BYTES:
            raise TaskError(f"{folder} holds more than {MAX_TASK_BYTES // 1024**2} MB of files")
        files[path.relative_to(folder).as_posix()] = path.read_bytes()
    return files


def write_tree(folder: Path, files: dict[str, bytes]) -> None:
    """Write ``{relative path: bytes}`` under ``folder``, refusing paths that would leave it."""
    folder = Path(folder).resolve()
    for name, data in files.items():
        target = (folder / name).resolve()
        if folder not in target.parents:
            raise TaskError(f"refusing to write {name!r} outside {folder}")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


def gradebook_scores(db_url: str, assignment: str, student: str) -> dict:
    """Read what a gradebook recorded for one submission: timestamp, auto scores and auto comments."""
    with Gradebook(db_url) as gradebook:
        submission = gradebook.find_submission(assignment, student)
        return {
            "timestamp": submission.timestamp.isoformat() if submission.timestamp else None,
            "notebooks": {
                notebook.name: {"grades": {grade.name: grade.auto_score for grade in notebook.grades},
                                "comments": {comment.name: comment.auto_comment for comment in notebook.comments}}
                for notebook in submission.notebooks
            },
        }


def merge_scores(db_url: str, assignment: str, student: str, scores: dict) -> None:
    """Write a worker's scores of one submission into the course's gradebook.

    Only automatic scores and comments change: a manual score or comment that an instructor gave
    stays, and a grade with a manual score is marked for review, as nbgrader's own autograde does.
    """
    timestamp = scores.get("timestamp")
    with Gradebook(db_url) as gradebook:
        gradebook.update_or_create_student(student)
        extra = {"timestamp": datetime.datetime.fromisoformat(timestamp)} if timestamp else {}
        submission = gradebook.update_or_create_submission(assignment, student, **extra)
        for notebook in submission.notebooks:
            recorded = scores["notebooks"].get(notebook.name, {"grades": {}, "comments": {}})
            for grade in notebook.grades:
                if grade.name in recorded["grades"]:
                    grade.auto_score = recorded["grades"][grade.name]
                    grade.needs_manual_grade = grade.manual_score is not None or grade.auto_score is None
            for comment in notebook.comments:
                if comment.name in recorded["comments"]:
                    comment.auto_comment = recorded["comments"][comment.name]
        gradebook.db.commit()


def grade_task(task: dict) -> dict:
    """Grade one submission from a task built by :func:`make_task`; runs in a worker.

    Returns
    -------
    dict
        ``result`` (a :class:`grader.autograde.SubmissionResult`), ``autograded`` (the executed
        notebooks as ``{name: bytes}``), ``scores`` (see :func:`gradebook_scores`) and ``sandbox``
        (how this worker isolated the kernel).
    """
    from . import autograde
    from .sandbox import Limits

    student, assignment = task["student"], task["assignment"]
    with _TASK_LOCK, tempfile.TemporaryDirectory(prefix="tfcourse-task-") as scratch:
        scratch = Path(scratch)
        write_tree(scratch / "source" / assignment, task["source"])
        write_tree(scratch / "submitted" / student / assignment, task["submission"])
        references = None
        if task["reference"] is not None:
            write_tree(scratch / "reference", task["reference"])
            references = {assignment: scratch / "reference"}
        run = autograde.grade(scratch / "submitted", scratch / "grading", scratch / "source",
                              timeout=task["timeout"], feedback=False, progress=False,
                              limits=Limits(**task["limits"]), seed=task["seed"], references=references)
        result = run.results[0]
        outcome = {"result": result, "autograded": {}, "scores": None, "sandbox": run.sandbox}
        if result.status == "graded":
            outcome["autograded"] = read_tree(scratch / "grading" / "autograded" / student / assignment)
            outcome["scores"] = gradebook_scores(f"sqlite:///{run.gradebook}", assignment, student)
        return outcome


def make_task(student: str, assignment: str, submission: Path, source: Path, reference: Path | None,
              seed: int, timeout: int | None, limits) -> dict:
    """Build the plain-data task of one submission (see :func:`grade_task`)."""
    return {
        "student": student,
        "assignment": assignment,
        "submission": read_tree(submission),
        # The source folder also holds grading.py; the worker needs it for the verifier.
        "source": read_tree(source),
        "reference": read_tree(reference) if reference is not None else None,
        "seed": seed,
        "timeout": timeout,
        "limits": asdict(limits),
    }


def open_executor(workers: int, scheduler: str | None) -> tuple[concurrent.futures.Executor, Callable[[], None]]:
    """Return an executor of tasks and the function that releases it.

    With ``scheduler`` (a Dask scheduler address such as ``tcp://10.0.0.5:8786``) the tasks go to
    that cluster; otherwise to ``workers`` local processes.
    """
    if scheduler:
        try:
            from distributed import Client
        except ImportError as error:
            raise RuntimeError("grading on a cluster needs Dask: pip install 'tfcourse[cluster]'") from error
        client = Client(scheduler, timeout=CONNECT_TIMEOUT, set_as_default=False)
        executor = client.get_executor(pure=False)

        def release() -> None:
            executor.shutdown(wait=False)
            client.close()

        return executor, release
    # Spawned, not forked: the grader's process holds threads and open gradebook connections.
    executor = concurrent.futures.ProcessPoolExecutor(max_workers=workers,
                                                      mp_context=multiprocessing.get_context("spawn"))
    return executor, lambda: executor.shutdown(wait=True, cancel_futures=True)


def run_tasks(tasks: list[dict], executor: concurrent.futures.Executor, progress: bool,
              on_done: Callable[[dict, dict | None, str], None]) -> None:
    """Run ``tasks`` on ``executor`` and call ``on_done(task, outcome, error)`` as each finishes.

    ``on_done`` runs in the calling thread; ``outcome`` is None and ``error`` says why when the task
    or its worker failed. The caller opens the executor first, so that a cluster that cannot be
    reached is an error before any work, and releases it (see :func:`open_executor`).
    """
    if not tasks:
        return
    futures = {executor.submit(grade_task, task): task for task in tasks}
    bar = tqdm(total=len(tasks), desc="Grading", unit="submission", disable=not progress, file=sys.stderr)
    for future in concurrent.futures.as_completed(futures):
        task = futures[future]
        try:
            outcome, error = future.result(), ""
        except Exception as failure:  # noqa: BLE001 - one failed task must not stop the batch.
            outcome = None
            error = f"the worker grading this submission failed ({type(failure).__name__}: {str(failure)[:300]})"
            traceback.print_exception(failure, file=sys.stderr)
        on_done(task, outcome, error)
        bar.update()
    bar.close()


def install_outcome(root: Path, task: dict, outcome: dict, db_url: str) -> None:
    """Put a worker's executed notebooks and scores where the course's gradebook and feedback expect them."""
    folder = Path(root) / "autograded" / task["student"] / task["assignment"]
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    write_tree(folder, outcome["autograded"])
    merge_scores(db_url, task["assignment"], task["student"], outcome["scores"])
