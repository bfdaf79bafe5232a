"""Keep grading metadata only on the cells that the gradebook knows, once each.

JupyterLab copies a cell's metadata with the cell, so a student who pastes a copy of a test cell, or
copies an answer cell to keep scratch work below it, hands in two cells with the same nbgrader
``grade_id``; a cell can also carry grading metadata that the assignment never had. nbgrader's own
``DeduplicateIds`` keeps the *last* copy and leaves the others with an empty ``nbgrader`` entry, on
which its ``OverwriteCells`` then fails (``KeyError: 'grade_id'``) and the whole submission scores 0.

:class:`~grader.preprocessors.known_grading_cells.KnownGradingCells` takes its place among nbgrader's sanitizing steps. For each ``grade_id`` it
keeps the metadata on the original cell (the one whose cell id is the source notebook's, else the
first), and turns every copy, and every cell whose ``grade_id`` the gradebook does not know, into an
ordinary cell: it still runs, earns nothing, and a one-line note from the grader above it says why.
The notes are listed again at the top of the feedback page (see :mod:`grader.preprocessors.results_summary`).
"""

from __future__ import annotations

import re
from pathlib import Path

from nbformat import NotebookNode
from nbformat.v4 import new_markdown_cell

from . import notebooks

#: Metadata key of the markdown cells that carry a note from the grader.
NOTE_KEY = "tfcourse_grader_note"


def grading_info(cell: NotebookNode) -> dict | None:
    """Return a cell's nbgrader metadata, or None when it has none."""
    info = cell.get("metadata", {}).get("nbgrader")
    return info if isinstance(info, dict) else None


def kind(info: dict) -> str:
    """Name the kind of grading cell that ``info`` describes, for the student's note."""
    if info.get("solution"):
        return "answer cell"
    if info.get("grade"):
        return "test cell"
    if info.get("task"):
        return "task cell"
    return "read-only cell"


def shown_id(grade_id: str) -> str:
    """Return a ``grade_id`` that a student wrote, made safe to quote in Markdown (at most 60 characters)."""
    return re.sub(r"[^A-Za-z0-9_.-]", "?", grade_id)[:60]


def note_cell(text: str) -> NotebookNode:
    """Return a markdown cell with a note from the grader (marked so that feedback can list it)."""
    cell = new_markdown_cell(f"**Note from the grader** on the cell below: {text}")
    cell.metadata[NOTE_KEY] = text
    return cell


def notes(notebook: NotebookNode) -> list[str]:
    """Return the grader's notes in a (sanitized or executed) notebook, in order."""
    return [cell.metadata[NOTE_KEY] for cell in notebook.cells
            if cell.cell_type == "markdown" and isinstance(cell.metadata.get(NOTE_KEY), str)]


def notes_in(executed: Path) -> list[str]:
    """Return the grader's notes in the notebook file ``executed`` ([] when it cannot be read)."""
    try:
        return notes(notebooks.read(executed))
    except notebooks.NotebookError:
        return []


def original_cell_ids(path: Path) -> dict[str, str]:
    """Return ``{grade_id: cell id}`` of the source notebook at ``path`` ({} when it cannot be read)."""
    try:
        source = notebooks.read(path)
    except notebooks.NotebookError:
        return {}
    found = {}
    for cell in source.cells:
        info = grading_info(cell)
        if info and isinstance(info.get("grade_id"), str) and cell.get("id"):
            found.setdefault(info["grade_id"], cell["id"])
    return found


def keepers(cells: list[NotebookNode], known: set[str], original_ids: dict[str, str]) -> dict[str, int]:
    """Return, for each known ``grade_id`` present, the index of the cell that keeps its metadata.

    That is the cell whose id is the source notebook's cell id (a pasted copy gets a new id), or
    else the first cell with that ``grade_id``.
    """
    chosen: dict[str, int] = {}
    for index, cell in enumerate(cells):
        info = grading_info(cell)
        grade_id = info.get("grade_id") if info else None
        if grade_id not in known:
            continue
        if grade_id not in chosen or (cell.get("id") and cell.get("id") == original_ids.get(grade_id)
                                      and cells[chosen[grade_id]].get("id") != original_ids.get(grade_id)):
            chosen[grade_id] = index
    return chosen
