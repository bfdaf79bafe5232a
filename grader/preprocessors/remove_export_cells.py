"""Autograde step: remove the export cells again after execution, so that feedback never shows them."""

from __future__ import annotations

from nbgrader.preprocessors import NbGraderPreprocessor

from ..checks.export_cell import remove_export_cells


class RemoveExportCell(NbGraderPreprocessor):
    """Remove the export cell again after execution."""

    def preprocess(self, nb, resources):
        """Drop every cell marked as an export cell."""
        remove_export_cells(nb)
        return nb, resources
