"""Autograde step: insert the export cells of trusted checks after their test cells (see :mod:`grader.checks`)."""

from __future__ import annotations

from pathlib import Path

from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Unicode

from ..checks.export_cell import insert_export_cells, read_export_cells


class InsertExportCells(NbGraderPreprocessor):
    """Insert the export cells of the assignment being autograded, if the grader wrote them."""

    code_folder = Unicode("", help="Folder of <assignment>.json files holding export cells.").tag(config=True)

    def preprocess(self, nb, resources):
        """Insert the cells when ``code_folder/<assignment>.json`` exists."""
        assignment = resources.get("nbgrader", {}).get("assignment", "")
        if self.code_folder and assignment:
            sources = read_export_cells(Path(self.code_folder), assignment)
            if sources is not None:
                insert_export_cells(nb, sources)
        return nb, resources
