"""Wrong answers that every chapter's trusted checks must reject, and the submissions built from them.

Each chapter has a file ``tests/fixtures/wrong_answers/<chapter>.py`` that lists plausible wrong
answers to its exercises (an off-by-one shape, a missing activation, a model over its parameter
budget, a model that trains but stays under the threshold, a result of the wrong dtype, ...), grouped
into a few submissions. A submission is the chapter's solution notebook with the listed answer cells
replaced by the wrong code and the lesson's ungraded code cells deleted (as a student may delete
them), so that it runs in seconds: only the set-up cell, the cells named in ``KEEP``, and the
exercises remain. ``tests/test_chapters.py`` grades these submissions in the same run as the
chapter's solution, so they share its reference run, and asserts for each wrong answer the exact
score (0) and the messages the student sees.

To see what the grader makes of a chapter's wrong answers while writing them, run::

    .venv/bin/python -m tests.wrong_answers 06_cnn

which grades them (the solution's reference exports are kept in ``$TFCOURSE_CACHE_DIR`` or
``~/.cache/tfcourse`` between runs) and prints each exercise's score, message and verdict.
"""

from __future__ import annotations

import argparse
import os
import runpy
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import nbformat

from grader import notebooks

REPO = Path(__file__).resolve().parent.parent
WRONG_ANSWERS = REPO / "tests" / "fixtures" / "wrong_answers"

#: The error name of a failed trusted check in an executed notebook (grader.verdicts.CHECK_FAILED).
CHECK_FAILED = "GraderCheckFailed"


@dataclass(frozen=True)
class Wrong:
    """One wrong answer and what the grader must say about it.

    Attributes
    ----------
    answer : str
        The ``grade_id`` of the answer cell it replaces, e.g. ``"ex3_answer"``.
    code : str
        The whole cell the student wrote instead of the solution.
    message : str
        Text that the student's message for the exercise must contain: the first error of the test
        cell, as ``tfcourse check`` and the feedback page show it. When the visible and hidden tests
        pass but the trusted check fails, this is the verifier's message (``GraderCheckFailed: ...``).
    verdict : str
        Text that the trusted check's verdict must contain. The verdict decides the score, whatever
        the test cell did, so every wrong answer states it.
    why : str
        The mistake in a few words, for the reader of the fixture.
    """

    answer: str
    code: str
    message: str
    verdict: str
    why: str = ""


def load(chapter: str) -> dict:
    """Return a chapter's wrong answers: ``{"keep": [...], "submissions": {name: [Wrong, ...]}}``.

    Returns an empty ``submissions`` mapping when the chapter has no wrong-answer file.
    """
    path = WRONG_ANSWERS / f"{chapter}.py"
    if not path.is_file():
        return {"keep": [], "submissions": {}}
    namespace = runpy.run_path(str(path))
    return {"keep": list(namespace.get("KEEP", [])), "submissions": dict(namespace["SUBMISSIONS"])}


def test_cell_of(notebook: nbformat.NotebookNode, answer: str) -> str:
    """Return the ``grade_id`` of the first test cell after answer cell ``answer``."""
    found = False
    for cell in notebook.cells:
        info = cell.metadata.get("nbgrader", {})
        if info.get("grade_id") == answer:
            found = True
        elif found and notebooks.is_test_cell(cell):
            return info["grade_id"]
    raise KeyError(f"no answer cell {answer!r} followed by a test cell in the notebook")


def build(solution: Path, wrong_answers: list[Wrong], keep: list[str]) -> nbformat.NotebookNode:
    """Return the solution notebook with ``wrong_answers`` in place and the lesson's code cells deleted.

    Kept are: every cell up to and including the first code cell (the set-up), markdown cells, the
    graded cells, and ungraded code cells that contain one of the ``keep`` strings.

    Raises
    ------
    KeyError
        When a wrong answer names an answer cell that the notebook lacks, or a ``keep`` string
        matches no cell (a fixture that no longer fits its chapter must fail loudly).
    """
    notebook = notebooks.read(solution)
    by_answer = {wrong.answer: wrong for wrong in wrong_answers}
    kept, seen_setup, used = [], False, set()
    for cell in notebook.cells:
        info = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "code" or info.get("grade") or info.get("solution"):
            if info.get("grade_id") in by_answer:
                cell.source = by_answer[info["grade_id"]].code.strip("\n")
                used.add(info["grade_id"])
            kept.append(cell)
        elif not seen_setup:
            kept.append(cell)
            seen_setup = True
        else:
            matches = [text for text in keep if text in cell.source]
            if matches:
                kept.append(cell)
                used.update(f"keep:{text}" for text in matches)
    missing = sorted(set(by_answer) - used) + sorted(f"keep:{t}" for t in keep if f"keep:{t}" not in used)
    if missing:
        raise KeyError(f"{solution.name} has no cell for {', '.join(missing)}")
    notebook.cells = kept
    return notebook


def submit(chapter: str, submitted: Path, solutions: Path = REPO / "solutions") -> dict[str, list[Wrong]]:
    """Write each wrong-answer submission of ``chapter`` as student ``wrong_<name>``; return them by student."""
    spec = load(chapter)
    students = {}
    for name, wrong_answers in spec["submissions"].items():
        folder = submitted / f"wrong_{name}" / chapter
        folder.mkdir(parents=True)
        for solution in sorted((solutions / chapter).glob("*.ipynb")):
            nbformat.write(build(solution, wrong_answers, spec["keep"]), folder / solution.name)
        students[f"wrong_{name}"] = wrong_answers
    return students


def count_by_exercise(chapter: str, solutions: Path = REPO / "solutions") -> dict[str, int]:
    """Return how many committed wrong answers each exercise (test cell) of ``chapter`` has."""
    solution = notebooks.read(next(iter(sorted((solutions / chapter).glob("*.ipynb")))))
    counts: dict[str, int] = {}
    for wrong_answers in load(chapter)["submissions"].values():
        for wrong in wrong_answers:
            test = test_cell_of(solution, wrong.answer)
            counts[test] = counts.get(test, 0) + 1
    return counts


def verdicts(executed: Path) -> dict[str, str]:
    """Return the trusted checks' failure messages by test cell in an executed notebook."""
    found = {}
    for cell in notebooks.read(executed).cells:
        if notebooks.is_test_cell(cell):
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error" and output.get("ename") == CHECK_FAILED:
                    found[cell.metadata["nbgrader"]["grade_id"]] = f"{CHECK_FAILED}: {output.get('evalue', '')}"
    return found


def outcome(result, autograded: Path) -> dict[str, tuple[float, str, str]]:
    """Return ``{test grade_id: (score, message, verdict)}`` for one graded submission."""
    found = {}
    for executed in sorted(autograded.glob("*.ipynb")):
        found.update(verdicts(executed))
    return {e.grade_id: (e.score, e.message, found.get(e.grade_id, "")) for e in result.exercises}


def problems(chapter: str, student: str, wrong_answers: list[Wrong], result, autograded: Path,
             solutions: Path = REPO / "solutions") -> list[str]:
    """Return what differs from the expectations for one wrong-answer submission ([] when all hold).

    Every wrong answer's exercise must score 0 with the stated message and verdict; every other
    exercise of the submission keeps the solution's answer and must score full marks.
    """
    if result.status != "graded":
        return [f"{student}: not graded: {result.message}"]
    solution = notebooks.read(next(iter(sorted((solutions / chapter).glob("*.ipynb")))))
    tests = {test_cell_of(solution, wrong.answer): wrong for wrong in wrong_answers}
    seen = outcome(result, autograded)
    found = []
    for exercise in result.exercises:
        score, message, verdict = seen[exercise.grade_id]
        wrong = tests.get(exercise.grade_id)
        if wrong is None:
            if score != exercise.max_score:
                found.append(f"{student} {exercise.grade_id}: the solution's answer scored {score:g}: {message}")
            continue
        if score != 0:
            found.append(f"{student} {exercise.grade_id} ({wrong.why}): scored {score:g}, expected 0")
        if wrong.message not in message:
            found.append(f"{student} {exercise.grade_id} ({wrong.why}): message {message!r} lacks {wrong.message!r}")
        if wrong.verdict not in verdict:
            found.append(f"{student} {exercise.grade_id} ({wrong.why}): verdict {verdict!r} lacks {wrong.verdict!r}")
    return found


def main(argv: list[str] | None = None) -> int:
    """Grade a chapter's wrong answers and print what the grader says about each exercise."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("chapter", help="a chapter folder name, e.g. 06_cnn")
    parser.add_argument("--seed", type=int, default=20261205, help="seed of the trusted checks' inputs")
    args = parser.parse_args(argv)
    os.environ.setdefault("TFCOURSE_OFFLINE", "1")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from grader import session
    from grader.options import GradingOptions
    from grader.selfcheck import cache_dir

    with tempfile.TemporaryDirectory(prefix="tfcourse-wrong-") as scratch:
        submitted = Path(scratch) / "submitted"
        students = submit(args.chapter, submitted)
        if not students:
            print(f"no wrong answers for {args.chapter} in {WRONG_ANSWERS}", file=sys.stderr)
            return 2
        run = session.grade(submitted, Path(scratch) / "grading", REPO / "solutions",
                            GradingOptions(feedback=False, progress=False, seed=args.seed,
                            reference_cache=cache_dir() / "reference"))
        failures = []
        for result in run.results:
            autograded = Path(scratch) / "grading" / "autograded" / result.student / args.chapter
            print(f"\n== {result.student}: {result.score:g} / {result.max_score:g} ({result.seconds:.0f} s)")
            if result.status != "graded":
                print(f"   not graded: {result.message}")
            for grade_id, (score, message, verdict) in outcome(result, autograded).items() if result.status == "graded" else ():
                print(f"   {grade_id}: {score:g}\n      message: {message}\n      verdict: {verdict}")
            failures += problems(args.chapter, result.student, students[result.student], result, autograded)
        shutil.rmtree(Path(scratch) / "grading", ignore_errors=True)
    print("\n" + ("\n".join(failures) if failures else "Every wrong answer is rejected as expected."))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
