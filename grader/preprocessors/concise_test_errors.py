"""Feedback step: each test cell's error traceback cut to its last line, so hidden test code never shows."""

from __future__ import annotations

from nbgrader.preprocessors import NbGraderPreprocessor

from .. import notebooks


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
