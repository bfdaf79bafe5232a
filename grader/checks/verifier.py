"""The verifier: score trusted checks from exports, with no student code in the process.

Run as ``python -m grader.checks.verifier SOURCE_ASSIGNMENT STUDENT_EXPORTS REFERENCE_EXPORTS``; it
prints one JSON object mapping each check's ``grade_id`` to ``{"passed": bool, "message": str}``,
plus ``"measured"`` for model checks that evaluate the model on held-out data. The grader runs it in
the sandbox (:mod:`grader.sandbox`), so even a ``.keras`` file crafted to crash TensorFlow only ends
this process (and the checks it was scoring fail).

Started with ``--wait``, it loads the chapter's checks first and then waits on standard input before
it reads the exports: the grader starts it while the student's notebook is still running, so that
this start-up costs no time of its own. The line ``warm`` (sent once the kernel has exported a
model) has it load Keras in the meantime; ``go`` (sent when the notebook has run) starts the
verification. A submission that exports no model never pays for loading Keras.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
from pathlib import Path

from .export_files import ExportError, read_report
from .model import ModelCheck
from .spec import ChapterSpec, load_spec


def verify(spec: ChapterSpec, student: Path, reference: Path) -> dict[str, dict]:
    """Score every check of ``spec``: ``{grade_id: {"passed": bool, "message": str}}`` (plus ``"measured"``)."""
    report = read_report(student)
    reference_report = read_report(reference)
    verdicts = {}
    for check in spec.checks:
        grade_id = check.grade_id
        if reference_report.get(grade_id) != "exported":
            verdicts[grade_id] = {"passed": False, "message": (
                f"the solution's export failed ({reference_report.get(grade_id, 'missing')}): "
                "the check cannot be scored; tell the instructor")}
            continue
        status = report.get(grade_id, "no export: the notebook did not finish")
        if status != "exported":
            verdicts[grade_id] = {"passed": False, "message": f"calling your answer failed: {status}"}
            continue
        measured: dict = {}
        try:
            problem = check.judge(student, reference, measured)
        except ExportError as error:
            problem = str(error)
        except Exception as error:  # noqa: BLE001 - a failing comparison is a failed check, not a crash.
            problem = f"the check could not be completed ({type(error).__name__}: {str(error)[:200]})"
        verdicts[grade_id] = {"passed": problem is None, "message": problem or "", **measured}
    return verdicts


def warm_up(spec: ChapterSpec) -> None:
    """Load what the checks of ``spec`` will need before the exports exist (Keras, for model checks)."""
    if any(isinstance(check, ModelCheck) for check in spec.checks):
        importlib.import_module("keras")  # Imported for its start-up time only.


def main(argv: list[str] | None = None) -> int:
    """Entry point: ``python -m grader.checks.verifier [--wait] SOURCE STUDENT_EXPORTS REFERENCE_EXPORTS``."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    wait = bool(arguments) and arguments[0] == "--wait"
    if wait:
        arguments = arguments[1:]
    if len(arguments) != 3:
        print("usage: python -m grader.checks.verifier [--wait] SOURCE_ASSIGNMENT_FOLDER STUDENT_EXPORTS "
              "REFERENCE_EXPORTS", file=sys.stderr)
        return 2
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    spec = load_spec(Path(arguments[0]))
    if spec is None:
        print(f"no {arguments[0]}/grading.py", file=sys.stderr)
        return 2
    if wait:
        for line in sys.stdin:
            if line.strip() == "warm":
                warm_up(spec)
            elif line.strip() == "go":
                break
        else:
            print("the grader did not ask for a verdict", file=sys.stderr)
            return 2
    print(json.dumps(verify(spec, Path(arguments[1]), Path(arguments[2]))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
