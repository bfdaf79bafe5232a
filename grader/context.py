"""What one grading process sets up once and uses for every submission it grades.

A :class:`GradingContext` holds the process's sandbox (:mod:`grader.sandbox`), the nbgrader
configuration and API pointed at one grading folder, the trusted checks and their reference
exports (:mod:`grader.reference`), and the assignments already generated into the gradebook. The
session (:mod:`grader.session`) opens one for a run; each parallel worker (:mod:`grader.workers`)
opens its own and keeps it for the tasks that follow.
"""

from __future__ import annotations

import contextlib
import os
import warnings
from collections.abc import Iterator
from pathlib import Path

import nbformat

from . import gradebook
from .checks import ChapterSpec
from .config import make_config
from .nbgrader_api import make_api, run_step
from .options import GradingOptions
from .paths import assignments
from .reference import References
from .sandbox import Sandbox, cleanup


class GradingContext:
    """One grading process's sandbox, nbgrader configuration and trusted checks (see the module's docstring).

    Use :meth:`open`, a context manager, rather than the constructor.

    Attributes
    ----------
    root, source, submitted : Path
        The grading folder (gradebook, ``autograded/``, ``feedback/``), the source assignments and
        the submissions.
    options : GradingOptions
        The session's options.
    seed : int
        The seed of the trusted checks' inputs.
    sandbox : Sandbox
        Where kernels and the verifier run.
    config, api
        nbgrader's configuration and API for this grading folder.
    references : References
        The trusted checks and reference exports of each assignment.
    known : set of str
        The assignments that ``source`` has.
    """

    def __init__(self, root: Path, source: Path, submitted: Path, options: GradingOptions, seed: int,
                 sandbox: Sandbox):
        self.root, self.source, self.submitted = root, source, submitted
        self.options, self.seed, self.sandbox = options, seed, sandbox
        self.config = make_config(root, source, submitted=submitted, timeout=options.timeout,
                                  connection_file=sandbox.connection_file)
        self.references = References(sandbox, self.config, seed, options.reference_cache)
        self.config.InsertExportCells.code_folder = str(self.references.code_folder)
        self.api = make_api(self.config)
        self.known = set(assignments(source))
        self.generated: set[str] = set()

    @classmethod
    @contextlib.contextmanager
    def open(cls, root: Path, source: Path, submitted: Path, options: GradingOptions,
             seed: int) -> Iterator["GradingContext"]:
        """Set up grading into ``root`` for the duration of the block, and clean up after it."""
        # Whatever an interrupted run left in .sandbox/ is stale: the caller holds the folder alone.
        for stale in sorted((root / ".sandbox").glob("grader-*")):
            cleanup(stale)
        sandbox = Sandbox.open(root / ".sandbox" / f"grader-{os.getpid()}", options.limits)
        try:
            with warnings.catch_warnings(), jupyter_path(sandbox.kernels):
                # nbgrader's gradebook code triggers SQLAlchemy autoflush warnings that say nothing to a
                # grader, and cells that nbgrader restores have no cell id, which nbformat warns about.
                warnings.filterwarnings("ignore", module="nbgrader")
                warnings.filterwarnings("ignore", message=".*not in session.*")
                warnings.filterwarnings("ignore", category=nbformat.validator.MissingIDFieldWarning)
                yield cls(root, source, submitted, options, seed, sandbox)
        finally:
            sandbox.close()

    @property
    def db_url(self) -> str:
        """The gradebook's database URL."""
        return self.config.CourseDirectory.db_url

    @property
    def autograded(self) -> Path:
        """The folder of executed notebooks, ``autograded/<student>/<assignment>/``."""
        return Path(self.config.CourseDirectory.root) / "autograded"

    def prepare(self, assignment: str) -> ChapterSpec | None:
        """Generate ``assignment`` into the gradebook and prepare its trusted checks, once per context.

        Returns the assignment's checks, or None when it has none.

        Raises
        ------
        grader.nbgrader_api.NbgraderStepError, grader.checks.SpecError, grader.reference.ReferenceRunError
            When the assignment cannot be generated, its ``grading.py`` is malformed, or its solution
            cannot be run for the reference exports.
        """
        if assignment not in self.generated:
            run_step(self.api.generate_assignment(assignment, force=True, create=True),
                     f"generate_assignment {assignment}")
            self.generated.add(assignment)
        return self.references.prepare(assignment, self.source / assignment)

    def register_students(self, students: list[str]) -> None:
        """Make sure these students appear in the gradebook (see :func:`grader.gradebook.register_students`)."""
        gradebook.register_students(self.db_url, students)


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
