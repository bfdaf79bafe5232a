"""Feedback step: nbgrader's ClearHiddenTests, applied to the test cells only."""

from __future__ import annotations

from nbgrader.preprocessors import ClearHiddenTests

from .. import notebooks


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
