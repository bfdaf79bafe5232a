"""Autograde and feedback step: show as text every Markdown cell with unsafe HTML, and every raw cell.

The formgrader renders a submission's Markdown without sanitizing it, so a student could put a
script in front of the instructor; :mod:`grader.untrusted_html` decides what is safe.
"""

from __future__ import annotations

from nbformat import NotebookNode
from nbgrader.preprocessors import NbGraderPreprocessor

from ..untrusted_html import as_text, markdown_is_safe


class SanitizeMarkdown(NbGraderPreprocessor):
    """Show as text every Markdown cell with unsafe HTML, and every raw cell (see the module's docstring)."""

    def preprocess_cell(self, cell: NotebookNode, resources: dict, index: int) -> tuple[NotebookNode, dict]:
        """Replace one unsafe cell; leave safe Markdown and code cells as they are."""
        if cell.cell_type == "markdown" and not markdown_is_safe(cell):
            return as_text(cell, "Markdown cell"), resources
        if cell.cell_type == "raw" and cell.source.strip():
            return as_text(cell, "raw cell"), resources
        return cell, resources
