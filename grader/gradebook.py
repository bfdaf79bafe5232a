"""Every read and write of nbgrader's gradebook, in one place.

nbgrader's own steps (generate_assignment, autograde, generate_feedback) keep the gradebook up to
date on their own. The grader adds to them: it registers students who could not be graded (so the
CSV lists them with 0), replaces the kernel's score of each trusted check with the verifier's
verdict, reads a submission's grades back for its results, moves a parallel worker's scores into
the course's gradebook, and exports the CSV. Each of those opens the gradebook here, for as short a
time as it can (a gradebook is one SQLite file, and several processes may use it).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry
from nbgrader.plugins import CsvExportPlugin


@dataclass(frozen=True)
class GradeRow:
    """One graded cell of a submission, as the gradebook holds it."""

    notebook: str
    grade_id: str
    score: float
    max_score: float


def url(root: Path) -> str:
    """Return the database URL of the gradebook of the grading folder ``root``."""
    return f"sqlite:///{Path(root) / 'gradebook.db'}"


def register_students(db_url: str, students: list[str]) -> None:
    """Make sure every student appears in the gradebook, so that the CSV lists them (with 0)."""
    with Gradebook(db_url) as gradebook:
        for student in students:
            gradebook.update_or_create_student(student)


def export_csv(db_url: str, path: Path) -> None:
    """Export the gradebook's scores to CSV with nbgrader's own exporter."""
    with Gradebook(db_url) as gradebook:
        CsvExportPlugin(to=str(path)).export(gradebook)


def known_cells(db_url: str, assignment: str, notebook: str) -> set[str]:
    """Return the ``grade_id`` of every source cell the gradebook knows for a notebook (empty if none)."""
    with Gradebook(db_url) as gradebook:
        try:
            return {cell.name for cell in gradebook.find_notebook(notebook, assignment).source_cells}
        except MissingEntry:
            return set()


def grade_rows(db_url: str, assignment: str, student: str) -> list[GradeRow]:
    """Return the graded cells of one submission (empty when it was never autograded)."""
    with Gradebook(db_url) as gradebook:
        try:
            submission = gradebook.find_submission(assignment, student)
        except MissingEntry:
            return []
        return [GradeRow(notebook.name, grade.name, float(grade.score or 0.0), float(grade.max_score))
                for notebook in submission.notebooks for grade in notebook.grades]


def set_check_scores(db_url: str, assignment: str, student: str, passed: dict[str, bool]) -> list[str]:
    """Give each trusted check's grade full marks or 0, by ``grade_id``; return the submission's notebook names."""
    with Gradebook(db_url) as gradebook:
        submission = gradebook.find_submission(assignment, student)
        names = []
        for submitted_notebook in submission.notebooks:
            names.append(submitted_notebook.name)
            for grade in submitted_notebook.grades:
                if grade.name in passed:
                    grade.auto_score = float(grade.max_score) if passed[grade.name] else 0.0
        gradebook.db.commit()
        return names


def read_scores(db_url: str, assignment: str, student: str) -> dict:
    """Read what a gradebook recorded for one submission: timestamp, automatic scores and comments."""
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
    """Write scores read by :func:`read_scores` (in a worker's gradebook) into this gradebook.

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
