"""Preprocessors for the students' feedback pages."""

from __future__ import annotations

from nbformat.v4 import new_markdown_cell
from nbgrader.preprocessors import ClearHiddenTests, NbGraderPreprocessor

from . import notebooks
from .cell_metadata import notes
from .report import failure_message


class ConciseTestErrors(NbGraderPreprocessor):
    """Reduce each test cell's error traceback to its last line (``CheckFailed: expected ...``).

    A full IPython traceback prints the source lines around the failing line, and in a test cell
    those include the hidden tests. Students keep the score and the check's message, which says what
    to fix, without seeing the hidden test code.
    """

    def preprocess_cell(self, cell, resources, index):
        """Shorten the tracebacks of one cell if it is an autograded test cell."""
        if notebooks.is_test_cell(cell):
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error":
                    output["traceback"] = [f"{output.get('ename', 'Error')}: {output.get('evalue', '')}"]
        return cell, resources


class ClearHiddenTestsInTestCells(ClearHiddenTests):
    """nbgrader's ClearHiddenTests, applied to the test cells only.

    nbgrader looks for the hidden-test markers in every cell. A student's own cell that merely
    contains the marker text (in a string, say) then stops feedback for the whole submission with
    "No end hidden tests statement found". Test cells are restored from the source notebook before
    grading, so they are the only cells whose markers mean anything.
    """

    def preprocess_cell(self, cell, resources, index):
        """Remove the hidden tests of a test cell; leave every other cell as the student wrote it."""
        if notebooks.is_test_cell(cell):
            return super().preprocess_cell(cell, resources, index)
        return cell, resources


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
