"""Sanitize step: copies of graded cells, and cells the gradebook does not know, become ordinary cells.

nbgrader's own DeduplicateIds keeps the last copy of a graded cell and then fails the whole
submission on the others. This step decides which cell keeps each ``grade_id`` (see
:func:`grader.cell_metadata.keepers`), strips the grading metadata of the others and puts a note
above each, so that the student and the instructor see what happened.
"""

from __future__ import annotations

from pathlib import Path

from nbformat import NotebookNode
from nbgrader.preprocessors import NbGraderPreprocessor

from .. import gradebook
from ..cell_metadata import grading_info, keepers, kind, note_cell, original_cell_ids, shown_id


class KnownGradingCells(NbGraderPreprocessor):
    """Strip grading metadata from copies of graded cells and from cells the gradebook does not know."""

    def preprocess(self, nb: NotebookNode, resources: dict) -> tuple[NotebookNode, dict]:
        """Decide which cell keeps each ``grade_id``, demote the others and add a note above each."""
        notebook_id = resources["nbgrader"]["notebook"]
        assignment_id = resources["nbgrader"]["assignment"]
        known = gradebook.known_cells(resources["nbgrader"]["db_url"], assignment_id, notebook_id)
        source = Path(str(self.config.CourseDirectory.source_directory or "")) / assignment_id / f"{notebook_id}.ipynb"
        chosen = keepers(nb.cells, known, original_cell_ids(source))
        cells = []
        for index, cell in enumerate(nb.cells):
            info = grading_info(cell)
            if "nbgrader" in cell.get("metadata", {}) and not (info and info.get("grade_id")):
                # Without an id (or not even a dictionary) the metadata cannot be graded, and nbgrader's
                # OverwriteCells would fail on it: it goes, with a note when it claimed a grading role.
                del cell.metadata["nbgrader"]
                if info and any(info.get(role) for role in ("grade", "solution", "task", "locked")):
                    cells.append(self.note(notebook_id, "a cell with grading metadata but no id counts as an "
                                                        "ordinary cell and earns nothing."))
            elif info is not None:
                text = self.demotion(info["grade_id"], kind(info), index, chosen, known)
                if text:
                    del cell.metadata["nbgrader"]
                    cells.append(self.note(notebook_id, text))
            cells.append(cell)
        nb.cells = cells
        return nb, resources

    def note(self, notebook_id: str, text: str) -> NotebookNode:
        """Log ``text`` for the instructor and return it as a note cell for the student."""
        self.log.warning("%s: %s", notebook_id, text)
        return note_cell(text)

    @staticmethod
    def demotion(grade_id: str, cell_kind: str, index: int, chosen: dict[str, int], known: set[str]) -> str:
        """Return why the cell at ``index`` loses its grading metadata, or '' when it keeps it."""
        if grade_id not in known:
            return (f"a cell with grading metadata for `{shown_id(grade_id)}`, which this assignment does not have, counts "
                    "as an ordinary cell and earns nothing.")
        if chosen[grade_id] != index:
            where = "above" if chosen[grade_id] < index else "below"
            return (f"a copy of {cell_kind} `{grade_id}` counts as an ordinary cell and earns nothing; the "
                    f"original, {where} it, is graded.")
        return ""
