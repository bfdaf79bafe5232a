"""Score trusted checks and write their verdicts into the gradebook (see :mod:`grader.specs`).

One :class:`TrustedScoring` serves one grading process. For each assignment with a ``grading.py``
it writes the export cell (inputs drawn from the run's seed) and runs the solution notebook once in
the sandbox for the reference exports. After nbgrader has autograded a submission, it collects the
submission's exports, has the verifier score them in a fresh sandboxed process, and replaces the
kernel's score of each checked exercise with the verifier's verdict, in the gradebook and in the
executed notebook that feedback is made from.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbgrader.api import Gradebook
from traitlets.config import Config

from . import notebooks, sandbox
from .exports import CELL_TEMPLATE, EXPORT_FOLDER, export_cells, insert_export_cells, write_export_cells
from .specs import ChapterSpec, load_spec

#: The error name that marks a failed trusted check in an executed notebook.
CHECK_FAILED = "GraderCheckFailed"

#: The file, among the reference exports, that holds the solution kernel's peak memory.
USAGE_FILE = "usage.json"

#: Seconds the verifier may take for one submission.
VERIFY_TIMEOUT = 600


@dataclass
class Verdict:
    """The verifier's decision on one exercise."""

    grade_id: str
    passed: bool
    message: str
    measured: dict | None = None


#: Appended to the solution's reference run (trusted code): record the kernel's peak resident memory.
USAGE_CELL = f"""import json as _json, os as _os, resource as _resource
_os.makedirs("{EXPORT_FOLDER}", exist_ok=True)
with open("{EXPORT_FOLDER}/{USAGE_FILE}", "w") as _handle:
    _json.dump({{"peak_memory_bytes": 1024 * max(_resource.getrusage(_resource.RUSAGE_SELF).ru_maxrss,
                                               _resource.getrusage(_resource.RUSAGE_CHILDREN).ru_maxrss)}}, _handle)
"""


def read_peak_memory(folder: Path) -> int | None:
    """Return the peak memory that :data:`USAGE_CELL` recorded in a reference export folder, or None."""
    try:
        return int(json.loads((Path(folder) / USAGE_FILE).read_text())["peak_memory_bytes"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def cache_key(source: Path, seed: int) -> str:
    """Return the name under which reference exports of ``source`` with ``seed`` are cached.

    It changes whenever a file of the source assignment (notebooks, ``grading.py``), the seed, or the
    export cell's code changes.
    """
    digest = hashlib.sha256(f"{seed}\n{CELL_TEMPLATE}\n{USAGE_CELL}".encode())
    for path in sorted(p for p in Path(source).rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        digest.update(path.relative_to(source).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return f"{Path(source).name}-{digest.hexdigest()[:24]}"


def keep(folder: Path, cached: Path) -> None:
    """Copy reference exports into the cache atomically (a concurrent reader never sees half a copy)."""
    cached.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=cached.parent))
    try:
        shutil.copytree(folder, staging / "exports", symlinks=False)
        os.replace(staging / "exports", cached)
    except OSError:
        pass  # Another run cached the same exports first, or the cache is read-only: both are fine.
    finally:
        shutil.rmtree(staging, ignore_errors=True)


class TrustedScoringError(RuntimeError):
    """The reference exports or the verifier failed: the run cannot score trusted checks."""


class TrustedScoring:
    """Trusted checks for the assignments of one grading run.

    Parameters
    ----------
    private : Path
        This grading process's private folder (the one given to :func:`grader.sandbox.prepare`).
    config : traitlets.config.Config
        The run's nbgrader configuration (it selects the sandboxed kernel).
    seed : int
        Seed of the inputs drawn for function checks (the same for the reference and every student).
    cache : Path, optional
        A folder that keeps reference exports between runs, keyed by the source assignment's files
        and the seed (``tfcourse check`` uses one, so that a learner's second check does not run the
        solution again). Without it, each run computes its own.
    """

    def __init__(self, private: Path, config: Config, seed: int, cache: Path | None = None):
        self.private = Path(private)
        self.config = config
        self.seed = seed
        self.cache = Path(cache) if cache is not None else None
        self.code_folder = self.private / "export-code"
        self.specs: dict[str, ChapterSpec | None] = {}
        self.sources: dict[str, Path] = {}
        self.failures: dict[str, str] = {}
        #: Per assignment: seconds the solution took to run for the reference, and its kernel's peak memory.
        self.reference_usage: dict[str, dict] = {}

    def prepare(self, assignment: str, source: Path) -> ChapterSpec | None:
        """Load the checks of ``assignment`` and compute its reference exports (once per run).

        Raises
        ------
        TrustedScoringError
            When the solution cannot be run for the reference exports; every later call for the
            same assignment raises it again, so each of its submissions reports the reason.
        """
        if assignment in self.failures:
            raise TrustedScoringError(self.failures[assignment])
        if assignment in self.specs:
            return self.specs[assignment]
        spec = load_spec(source)
        cached = self.cache / cache_key(Path(source), self.seed) if self.cache is not None else None
        if spec is not None and cached is not None and (cached / "report.json").is_file():
            return self.use_reference(assignment, source, cached)
        if spec is not None:
            sources = export_cells(spec, self.seed)
            try:
                self._run_reference(assignment, Path(source), sources)
            except TrustedScoringError as error:
                self.failures[assignment] = str(error)
                raise
            write_export_cells(self.code_folder, assignment, sources)
            if cached is not None:
                keep(self.reference_folder(assignment), cached)
        self.specs[assignment], self.sources[assignment] = spec, Path(source)
        return spec

    def use_reference(self, assignment: str, source: Path, folder: Path) -> ChapterSpec | None:
        """Use reference exports computed elsewhere (by the coordinator of a parallel run) for ``assignment``.

        They must have been computed with this run's seed.
        """
        spec = load_spec(source)
        if spec is not None:
            shutil.rmtree(self.reference_folder(assignment), ignore_errors=True)
            shutil.copytree(folder, self.reference_folder(assignment), symlinks=False)
            write_export_cells(self.code_folder, assignment, export_cells(spec, self.seed))
        self.specs[assignment], self.sources[assignment] = spec, Path(source)
        return spec

    def _run_reference(self, assignment: str, source: Path, sources: dict[str, str]) -> None:
        run_dir = self.private / "reference-run" / assignment
        shutil.rmtree(run_dir, ignore_errors=True)
        run_dir.mkdir(parents=True)
        started = time.perf_counter()
        for notebook_path in sorted(source.glob("*.ipynb")):
            notebook = nbformat.read(notebook_path, as_version=4)
            insert_export_cells(notebook, sources)
            notebook.cells.append(nbformat.v4.new_code_cell(USAGE_CELL))
            client = NotebookClient(notebook, kernel_name=sandbox.KERNEL_NAME, timeout=int(self.config.Execute.timeout),
                                    allow_errors=True, config=self.config,
                                    extra_arguments=list(self.config.Execute.extra_arguments),
                                    resources={"metadata": {"path": str(run_dir)}})
            try:
                client.execute()
            except (CellTimeoutError, DeadKernelError, RuntimeError) as error:
                # The batch goes on: every submission of this assignment gets this message instead.
                raise TrustedScoringError(
                    f"the solution of {assignment} could not be run for the reference exports "
                    f"({type(error).__name__}: {str(error).strip().splitlines()[0][:200] if str(error).strip() else ''})"
                ) from error
        seconds = time.perf_counter() - started
        exported = self.take_exports(self.reference_folder(assignment))
        if not exported:
            raise TrustedScoringError(f"the solution of {assignment} exported nothing: run it to see why")
        self.reference_usage[assignment] = {"seconds": seconds,
                                            "peak_memory_bytes": read_peak_memory(self.reference_folder(assignment))}

    def reference_folder(self, assignment: str) -> Path:
        """Return where the reference exports of ``assignment`` are kept."""
        return self.private / "reference" / assignment

    def student_folder(self, student: str, assignment: str) -> Path:
        """Return where a submission's exports are kept."""
        return self.private / "exports" / student / assignment

    def take_exports(self, destination: Path) -> bool:
        """Move the exports of the kernel that just ran to ``destination``; False when there were none."""
        policy = sandbox.load_policy(self.private)
        exported = Path(policy.scratch_dir) / EXPORT_FOLDER
        shutil.rmtree(destination, ignore_errors=True)
        destination.parent.mkdir(parents=True, exist_ok=True)
        if exported.is_dir() and not exported.is_symlink():
            shutil.copytree(exported, destination, symlinks=False, ignore_dangling_symlinks=True,
                            ignore=lambda folder, names: [n for n in names if (Path(folder) / n).is_symlink()])
            return True
        destination.mkdir(parents=True)
        return False

    def verify(self, student: str, assignment: str) -> list[Verdict]:
        """Collect a submission's exports and score them in the verifier."""
        spec = self.specs.get(assignment)
        if spec is None:
            return []
        student_exports = self.student_folder(student, assignment)
        self.take_exports(student_exports)
        policy = sandbox.load_policy(self.private)
        source = self.sources[assignment]
        reference = self.reference_folder(assignment)
        completed = sandbox.run_trusted(
            policy, [policy.python, "-m", "grader.verify", str(source.resolve()), str(student_exports.resolve()),
                     str(reference.resolve())],
            readable=[source, student_exports, reference], work_dir=self.private / "verifier",
            timeout=VERIFY_TIMEOUT)
        try:
            decided = json.loads(completed.stdout.strip().splitlines()[-1]) if completed.returncode == 0 else None
        except (ValueError, IndexError):
            decided = None
        if not isinstance(decided, dict):
            reason = (completed.stderr or "").strip().splitlines()
            message = f"the grader could not verify this exercise ({reason[-1][:200] if reason else 'no output'})"
            return [Verdict(check.grade_id, False, message) for check in spec.checks]
        verdicts = []
        for check in spec.checks:
            decision = decided.get(check.grade_id)
            decision = decision if isinstance(decision, dict) else {}
            measured = decision.get("measured")
            verdicts.append(Verdict(check.grade_id, bool(decision.get("passed")),
                                    str(decision.get("message", "not verified"))[:400],
                                    measured if isinstance(measured, dict) else None))
        return verdicts


def apply_verdicts(db_url: str, assignment: str, student: str, autograded: Path, verdicts: list[Verdict]) -> None:
    """Replace the kernel's scores of checked exercises with the verifier's verdicts.

    The gradebook's automatic score becomes full marks or 0, and the executed notebook's test cell
    gets the verdict as its last output (an error output when it failed), so that feedback and
    ``tfcourse check`` show why.
    """
    if not verdicts:
        return
    by_id = {verdict.grade_id: verdict for verdict in verdicts}
    with Gradebook(db_url) as gradebook:
        submission = gradebook.find_submission(assignment, student)
        for submitted_notebook in submission.notebooks:
            for grade in submitted_notebook.grades:
                verdict = by_id.get(grade.name)
                if verdict is not None:
                    grade.auto_score = float(grade.max_score) if verdict.passed else 0.0
            executed = Path(autograded) / f"{submitted_notebook.name}.ipynb"
            if executed.is_file():
                annotate(executed, by_id)
        gradebook.db.commit()


def annotate(executed: Path, verdicts: dict[str, Verdict]) -> None:
    """Add each verdict to its test cell in an executed notebook."""
    notebook = nbformat.read(executed, as_version=4)
    for cell in notebook.cells:
        if not notebooks.is_test_cell(cell):
            continue
        verdict = verdicts.get(cell.metadata["nbgrader"]["grade_id"])
        if verdict is None:
            continue
        if verdict.passed:
            # The verdict decides the score, so a correct answer keeps its points even if the kernel's
            # copy of the test failed for a reason that is not the answer's (a warning on standard
            # error, say); the outputs stay as they were, for the record.
            cell.outputs.append(nbformat.v4.new_output("stream", name="stdout",
                                                       text="Verified independently by the grader: passed.\n"))
        else:
            cell.outputs.append(nbformat.v4.new_output("error", ename=CHECK_FAILED, evalue=verdict.message,
                                                       traceback=[f"{CHECK_FAILED}: {verdict.message}"]))
    nbformat.write(notebook, executed)
