"""Score trusted checks and write their verdicts into the gradebook (see :mod:`grader.specs`).

One :class:`TrustedScoring` serves one grading process. For each assignment with a ``grading.py``
it writes the export cell (inputs drawn from the run's seed) and runs the solution notebook once in
the sandbox for the reference exports. After nbgrader has autograded a submission, it collects the
submission's exports, has the verifier score them in a fresh sandboxed process, and replaces the
kernel's score of each checked exercise with the verifier's verdict, in the gradebook and in the
executed notebook that feedback is made from.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbgrader.api import Gradebook
from traitlets.config import Config

from . import notebooks, sandbox
from .exports import EXPORT_FOLDER, export_cells, insert_export_cells, write_export_cells
from .specs import ChapterSpec, load_spec

#: The error name that marks a failed trusted check in an executed notebook.
CHECK_FAILED = "GraderCheckFailed"

#: Seconds the verifier may take for one submission.
VERIFY_TIMEOUT = 600


@dataclass
class Verdict:
    """The verifier's decision on one exercise."""

    grade_id: str
    passed: bool
    message: str


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
    """

    def __init__(self, private: Path, config: Config, seed: int):
        self.private = Path(private)
        self.config = config
        self.seed = seed
        self.code_folder = self.private / "export-code"
        self.specs: dict[str, ChapterSpec | None] = {}
        self.sources: dict[str, Path] = {}

    def prepare(self, assignment: str, source: Path) -> ChapterSpec | None:
        """Load the checks of ``assignment`` and compute its reference exports (once per run)."""
        if assignment in self.specs:
            return self.specs[assignment]
        spec = load_spec(source)
        self.specs[assignment], self.sources[assignment] = spec, Path(source)
        if spec is None:
            return None
        sources = export_cells(spec, self.seed)
        self._run_reference(assignment, Path(source), sources)
        write_export_cells(self.code_folder, assignment, sources)
        return spec

    def _run_reference(self, assignment: str, source: Path, sources: dict[str, str]) -> None:
        run_dir = self.private / "reference-run" / assignment
        shutil.rmtree(run_dir, ignore_errors=True)
        run_dir.mkdir(parents=True)
        for notebook_path in sorted(source.glob("*.ipynb")):
            notebook = nbformat.read(notebook_path, as_version=4)
            insert_export_cells(notebook, sources)
            client = NotebookClient(notebook, kernel_name=sandbox.KERNEL_NAME, timeout=int(self.config.Execute.timeout),
                                    allow_errors=True, config=self.config,
                                    extra_arguments=list(self.config.Execute.extra_arguments),
                                    resources={"metadata": {"path": str(run_dir)}})
            client.execute()
        exported = self.take_exports(self.reference_folder(assignment))
        if not exported:
            raise TrustedScoringError(f"the solution of {assignment} exported nothing: run it to see why")

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
        return [Verdict(check.grade_id, bool(decided.get(check.grade_id, {}).get("passed")),
                        str(decided.get(check.grade_id, {}).get("message", "not verified"))[:400])
                for check in spec.checks]


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
