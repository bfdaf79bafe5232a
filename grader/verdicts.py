"""The verifier's verdicts on one submission: started early, collected, written into the gradebook and the notebook.

:class:`Verification` starts the verifier (:mod:`grader.checks.verifier`) in the sandbox before the
submission's notebook runs, so that its start-up (Python, the chapter's checks, TensorFlow when a
check needs it) overlaps the notebook. When the notebook has run, :meth:`Verification.finish`
copies the kernel's exports where the verifier can read them and tells it to go. Then
:func:`apply_verdicts` replaces the kernel's score of each checked exercise with the verdict, in the
gradebook and in the executed notebook that feedback is made from.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import threading
from dataclasses import dataclass
from pathlib import Path

import nbformat

from . import gradebook, notebooks
from .checks import ChapterSpec, ModelCheck
from .checks.export_cell import EXPORT_FOLDER
from .checks.export_files import REPORT_FILE
from .reference import References, take_exports
from .sandbox import Sandbox, TrustedProcess

#: The error name that marks a failed trusted check in an executed notebook.
CHECK_FAILED = "GraderCheckFailed"

#: Seconds the verifier may take for one submission, once its exports are ready.
VERIFY_TIMEOUT = 600

#: How often, in seconds, the grader looks whether the kernel has exported a model yet.
WATCH_SECONDS = 0.5

#: The largest ``report.json`` of a kernel that the grader reads while it runs.
MAX_REPORT_BYTES = 1024**2


def exported_any(report: Path, grade_ids: set[str]) -> bool:
    """Return whether a running kernel's ``report.json`` says that one of ``grade_ids`` was exported.

    The file is the student's: only a regular file of a sensible size is read, and anything odd
    counts as no. The answer only decides when the verifier loads Keras, never a verdict.
    """
    try:
        status = os.lstat(report)
        if not stat.S_ISREG(status.st_mode) or status.st_size > MAX_REPORT_BYTES:
            return False
        with open(report, "rb") as handle:
            recorded = json.loads(handle.read(MAX_REPORT_BYTES))
    except (OSError, ValueError):
        return False
    return isinstance(recorded, dict) and any(recorded.get(grade_id) == "exported" for grade_id in grade_ids)


@dataclass
class Verdict:
    """The verifier's decision on one exercise."""

    grade_id: str
    passed: bool
    message: str
    measured: dict | None = None


class Verification:
    """The verifier of one submission (nothing to verify when its assignment has no trusted checks).

    Parameters
    ----------
    sandbox : Sandbox
        The grading process's sandbox.
    references : References
        The assignment's checks and reference exports (already prepared).
    student, assignment : str
        The submission.
    """

    def __init__(self, sandbox: Sandbox, references: References, student: str, assignment: str):
        self.sandbox = sandbox
        self.spec: ChapterSpec | None = references.specs.get(assignment)
        self.exports = sandbox.folder / "exports" / student / assignment
        self.process: TrustedProcess | None = None
        if self.spec is None:
            return
        source, reference = references.sources[assignment].resolve(), references.folder(assignment).resolve()
        # The folder must exist (empty) to be bound into the verifier's sandbox; the exports come later.
        shutil.rmtree(self.exports, ignore_errors=True)
        self.exports.mkdir(parents=True)
        self.process = sandbox.start_trusted(
            [sandbox.python, "-m", "grader.checks.verifier", "--wait", str(source), str(self.exports.resolve()),
             str(reference)],
            readable=[source, self.exports, reference], work_dir=sandbox.folder / "verifier")
        # Keras takes seconds to load: the verifier loads it while the notebook runs, as soon as the
        # kernel has exported a model, and not at all for a submission that exports none.
        models = {check.grade_id for check in self.spec.checks if isinstance(check, ModelCheck)}
        self._stop = threading.Event()
        self._watcher = None
        if models:
            report = sandbox.scratch_dir / EXPORT_FOLDER / REPORT_FILE
            self._watcher = threading.Thread(target=self._watch, args=(report, models), daemon=True)
            self._watcher.start()

    def _watch(self, report: Path, models: set[str]) -> None:
        """Tell the verifier to load Keras once the kernel has exported one of ``models``."""
        while not self._stop.wait(WATCH_SECONDS):
            if exported_any(report, models):
                self.process.send("warm")
                return

    def _stop_watching(self) -> None:
        if self._watcher is not None:
            self._stop.set()
            self._watcher.join()
            self._watcher = None

    def finish(self) -> list[Verdict]:
        """Collect the exports of the kernel that just ran and return the verifier's verdicts."""
        if self.process is None:
            return []
        self._stop_watching()
        take_exports(self.sandbox, self.exports)
        completed = self.process.finish("go", VERIFY_TIMEOUT)
        self.process = None
        try:
            decided = json.loads(completed.stdout.strip().splitlines()[-1]) if completed.returncode == 0 else None
        except (ValueError, IndexError):
            decided = None
        if not isinstance(decided, dict):
            reason = (completed.stderr or "").strip().splitlines()
            message = f"the grader could not verify this exercise ({reason[-1][:200] if reason else 'no output'})"
            return [Verdict(check.grade_id, False, message) for check in self.spec.checks]
        verdicts = []
        for check in self.spec.checks:
            decision = decided.get(check.grade_id)
            decision = decision if isinstance(decision, dict) else {}
            measured = decision.get("measured")
            verdicts.append(Verdict(check.grade_id, bool(decision.get("passed")),
                                    str(decision.get("message", "not verified"))[:400],
                                    measured if isinstance(measured, dict) else None))
        return verdicts

    def cancel(self) -> None:
        """Stop the verifier without a verdict (the submission could not be run)."""
        if self.process is not None:
            self._stop_watching()
            self.process.abandon()
            self.process = None


def apply_verdicts(db_url: str, assignment: str, student: str, autograded: Path, verdicts: list[Verdict]) -> None:
    """Replace the kernel's scores of checked exercises with the verifier's verdicts.

    The gradebook's automatic score becomes full marks or 0, and the executed notebook's test cell
    gets the verdict as its last output (an error output when it failed), so that feedback and
    ``tfcourse check`` show why.
    """
    if not verdicts:
        return
    by_id = {verdict.grade_id: verdict for verdict in verdicts}
    names = gradebook.set_check_scores(db_url, assignment, student, {v.grade_id: v.passed for v in verdicts})
    for name in names:
        executed = Path(autograded) / f"{name}.ipynb"
        if executed.is_file():
            annotate(executed, by_id)


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
