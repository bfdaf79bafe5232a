"""Grade submissions in parallel: local worker processes, or a Dask distributed cluster.

The session (:mod:`grader.session`) keeps the course's gradebook and does the work that must happen
once per run: it generates each assignment into the gradebook and runs each solution for the
reference exports of its trusted checks. Each submission then becomes a *task*: plain data (the
submission's files, the source assignment's files, the reference exports, the seed and the limits)
that a worker grades with the same pipeline as a sequential run (:mod:`grader.submission`), in a
private scratch course of its own. The worker returns plain data as well: the result, the executed
notebooks and the scores its gradebook recorded, which the session merges into the course's
gradebook (keeping manual grades and comments) before it writes the feedback pages.

A worker keeps its scratch course, sandbox and generated assignment from one task to the next of
the same run (:func:`worker_context`), so that only the first task pays for setting them up. Local
workers each get their own share of the machine's cores (:func:`core_shares`): two TensorFlow
kernels that both use every core slow each other down.

Because tasks carry their files, a worker needs no shared file system: the same code runs in a
local process pool and on Dask workers on other machines (which need this package installed and
bubblewrap for isolation, like the local machine). A task that fails, or a worker that dies,
gives that submission an ``"error"`` result; the other submissions are still graded.

This module never imports the session: the session imports it.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import hashlib
import multiprocessing
import multiprocessing.util
import os
import shutil
import sys
import tempfile
import threading
import traceback
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from tqdm import tqdm

from . import gradebook
from .context import GradingContext
from .options import GradingOptions
from .sandbox import Limits
from .submission import grade_submission

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


def make_task(student: str, assignment: str, submission: Path, source: Path, reference: Path | None,
              seed: int, timeout: int | None, limits: Limits) -> dict:
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


class WorkerCourse:
    """A worker's scratch course and grading context, kept from one task to the next."""

    def __init__(self, key: tuple):
        self.key = key
        self.folder = Path(tempfile.mkdtemp(prefix="tfcourse-worker-"))
        self.digests: dict[str, str] = {}
        self._stack = contextlib.ExitStack()
        self.context: GradingContext | None = None

    def open(self, task: dict) -> GradingContext:
        """Open the grading context on the first task and give it the task's assignment."""
        options = GradingOptions(timeout=task["timeout"], feedback=False, progress=False,
                                 limits=Limits(**task["limits"]), seed=task["seed"])
        for folder in ("source", "submitted"):
            (self.folder / folder).mkdir(exist_ok=True)
        self.context = self._stack.enter_context(GradingContext.open(
            self.folder / "grading", self.folder / "source", self.folder / "submitted", options, task["seed"]))
        self.add_assignment(task)
        return self.context

    def add_assignment(self, task: dict) -> None:
        """Give the open context an assignment of this run: its source and the session's reference exports."""
        assignment = task["assignment"]
        write_tree(self.folder / "source" / assignment, task["source"])
        self.context.known.add(assignment)
        if task["reference"] is not None:
            write_tree(self.folder / "reference" / assignment, task["reference"])
            self.context.references.use(assignment, self.folder / "source" / assignment,
                                        self.folder / "reference" / assignment)
        self.digests[assignment] = task_digest(task)

    def close(self) -> None:
        """Remove the sandbox and the scratch course."""
        self._stack.close()
        shutil.rmtree(self.folder, ignore_errors=True)


#: This worker process's course, if it has graded a task (see :func:`worker_context`).
_COURSE: WorkerCourse | None = None


def task_digest(task: dict) -> str:
    """Return a digest of what a task's assignment is graded against (its source files and reference exports)."""
    digest = hashlib.sha256()
    for part in (task["source"], task["reference"] or {}):
        for name in sorted(part):
            digest.update(name.encode() + b"\0" + part[name] + b"\0")
    return digest.hexdigest()


def worker_context(task: dict) -> GradingContext:
    """Return this worker's grading context for ``task``, opened on its first task and kept for the next.

    A task with another seed, timeout or limits, or whose assignment's files differ from those the
    context was given (another run), gets a fresh context; the old one is removed.
    """
    global _COURSE
    key = (task["seed"], task["timeout"], tuple(sorted(task["limits"].items())))
    assignment = task["assignment"]
    if _COURSE is not None and (_COURSE.key != key or _COURSE.digests.get(assignment, task_digest(task))
                                != task_digest(task)):
        _COURSE.close()
        _COURSE = None
    if _COURSE is None:
        course = WorkerCourse(key)
        try:
            context = course.open(task)
        except BaseException:
            course.close()  # A course that could not be opened is not kept for the next task.
            raise
        _COURSE = course
        # Spawned workers end without running atexit handlers; multiprocessing's finalizers do run.
        multiprocessing.util.Finalize(course, course.close, exitpriority=10)
        return context
    if assignment not in _COURSE.digests:
        _COURSE.add_assignment(task)
    return _COURSE.context


def grade_task(task: dict) -> dict:
    """Grade one submission from a task built by :func:`make_task`; runs in a worker.

    Returns
    -------
    dict
        ``result`` (a :class:`grader.results.SubmissionResult`), ``autograded`` (the executed
        notebooks as ``{name: bytes}``), ``scores`` (see :func:`grader.gradebook.read_scores`) and
        ``sandbox`` (how this worker isolated the kernel).
    """
    student, assignment = task["student"], task["assignment"]
    with _TASK_LOCK:
        context = worker_context(task)
        folder = context.submitted / student / assignment
        shutil.rmtree(folder, ignore_errors=True)
        write_tree(folder, task["submission"])
        try:
            result = grade_submission(context, folder, feedback=False)
            outcome = {"result": result, "autograded": {}, "scores": None,
                       "sandbox": context.sandbox.mode.description}
            if result.status == "graded":
                outcome["autograded"] = read_tree(context.autograded / student / assignment)
                outcome["scores"] = gradebook.read_scores(context.db_url, assignment, student)
            return outcome
        finally:
            shutil.rmtree(folder, ignore_errors=True)
            shutil.rmtree(context.autograded / student / assignment, ignore_errors=True)


def core_shares(workers: int, cores: list[int]) -> list[list[int]]:
    """Split ``cores`` into ``workers`` equal shares, or return no shares when there are too few cores.

    Each local worker, and the kernels and verifier it starts, then run on their own cores.
    """
    if workers < 2 or len(cores) < workers:
        return []
    size = len(cores) // workers
    return [cores[index * size:(index + 1) * size] for index in range(workers)]


def _take_share(shares) -> None:
    """Worker initializer: keep to one share of the cores (its kernels inherit it); None means every core."""
    try:
        share = shares.get(timeout=10)
    except Exception:  # noqa: BLE001 - no share left (a worker started again): run on every core.
        return
    if share and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, share)


def _started() -> None:
    """A task that does nothing: submitted once per worker so that the pool starts them all at once."""


def open_executor(workers: int, scheduler: str | None) -> tuple[concurrent.futures.Executor, Callable[[], None]]:
    """Return an executor of tasks and the function that releases it.

    With ``scheduler`` (a Dask scheduler address such as ``tcp://10.0.0.5:8786``) the tasks go to
    that cluster; otherwise to ``workers`` local processes, each on its own share of the cores.
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
    spawn = multiprocessing.get_context("spawn")
    cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    shares = spawn.Queue()
    for share in core_shares(workers, cores) or [None] * workers:
        shares.put(share)
    executor = concurrent.futures.ProcessPoolExecutor(max_workers=workers, mp_context=spawn,
                                                      initializer=_take_share, initargs=(shares,))
    # Start every worker now: they import the grader while the session runs the solutions for the
    # reference exports, instead of after it.
    for _ in range(workers):
        executor.submit(_started)
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
    gradebook.merge_scores(db_url, task["assignment"], task["student"], outcome["scores"])
