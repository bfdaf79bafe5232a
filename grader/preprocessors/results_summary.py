"""Feedback step: a table of the results at the top of the feedback page."""

from __future__ import annotations

from nbformat.v4 import new_markdown_cell
from nbgrader.preprocessors import NbGraderPreprocessor

from .. import notebooks
from ..cell_metadata import notes
from ..results import failure_message


class ResultsSummary(NbGraderPreprocessor):
    """Put a table of the results at the top of the feedback page: score and what to fix, per exercise.

    It runs after nbgrader's GetGrades (which writes each test cell's score into its metadata) and
    before the tracebacks are shortened; the messages are the checks' own, never hidden test code.
    """

    def preprocess(self, nb, resources):
        """Insert the summary as the notebook's first cell."""
        rows = []
        for cell in nb.cells:
            if notebooks.is_test_cell(cell):
                info = cell.metadata["nbgrader"]
                score, points = float(info.get("score") or 0), float(info.get("points") or 0)
                message = "passed" if score >= points else (failure_message(cell) or "the test did not pass")
                rows.append(f"| {info['grade_id']} | {score:g} / {points:g} | {_table_text(message)} |")
        if rows:
            total = resources.get("nbgrader", {}).get("score")
            available = resources.get("nbgrader", {}).get("max_score")
            heading = "## Your results" + (f": {total:g} / {available:g}" if total is not None else "")
            text = "\n".join([heading, "", "| exercise | points | result (what to fix) |", "|---|---|---|", *rows])
            text += "".join(f"\n\nNote from the grader: {note}" for note in notes(nb))
            nb.cells.insert(0, new_markdown_cell(text))
        return nb, resources


def _table_text(message: str) -> str:
    """Make a message (which a submission can influence) safe inside a Markdown table cell: no HTML, no links."""
    for character in "\\|[]`*_":
        message = message.replace(character, "\\" + character)
    return message.replace("\n", " ").replace("<", "&lt;")
