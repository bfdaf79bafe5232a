"""The export cells: how the grader asks a graded kernel for what trusted checks verify.

The grader inserts an export cell after each checked test cell of the notebook it executes. The
cell runs the check type's ``kernel_export`` (see :class:`grader.checks.base.Check`) on inputs
drawn by the grader and writes the export into ``.tfcourse-export/`` in the kernel's working folder,
with a line in ``report.json`` saying whether it worked. Exporting right after each test means
that a submission whose kernel dies later keeps the exercises it had already answered. The cells
are removed again after execution (:mod:`grader.preprocessors.remove_export_cells`), so students
never see them in their feedback.

The cell runs in the student's kernel, so a submission can tamper with it. That is harmless: it can
only change what is exported, and the verifier accepts an export only if it is right for inputs
that were drawn after the submission was written.
"""

from __future__ import annotations

import ast
import base64
import inspect
import json
import textwrap
from pathlib import Path

import numpy as np
from nbformat import NotebookNode
from nbformat.v4 import new_code_cell

from ..sandbox.scratch import RESERVED_FOLDER
from .base import Check, check_types
from .in_kernel import decode, encode, run_exports
from .spec import ChapterSpec

#: The folder, inside the kernel's working folder, that receives the exports: the sandbox gives it a
#: size cap of its own, so that a submission that fills its working folder still exports its answers.
EXPORT_FOLDER = RESERVED_FOLDER

#: Metadata that marks an inserted cell, so that it can be removed after execution.
EXPORT_MARK = "tfcourse_export"

#: The frame of an export cell; ``{helpers}`` receives the kernel functions, indented.
CELL_TEMPLATE = '''def _tfcourse_export(plan, folder, namespace):
{helpers}
    run_exports(plan, folder, namespace, {exporters})


_tfcourse_export(__import__("json").loads(__import__("base64").b64decode("{plan}")), "{folder}", globals())
del _tfcourse_export
'''


def _nested_source(function) -> str:
    """Return a function's code, indented to sit inside the export cell's outer function.

    Docstrings and comments are left out: the cell stays short, and carries no words that a
    submission's input transformer could look for.
    """
    definition = ast.parse(textwrap.dedent(inspect.getsource(function))).body[0]
    first = definition.body[0]
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
        definition.body = definition.body[1:]
    return textwrap.indent(ast.unparse(definition), "    ")


def kernel_code() -> str:
    """Return all the code that export cells can run in a kernel (the reference cache depends on it)."""
    parts = [CELL_TEMPLATE, *(_nested_source(f) for f in (decode, encode, run_exports))]
    parts += [f"{cls.kind}\n{_nested_source(cls.kernel_export)}" for cls in check_types()]
    return "\n".join(parts)


def draw_inputs(spec: ChapterSpec, seed: int) -> dict[str, dict[str, np.ndarray]]:
    """Draw the inputs of every check that draws some, from one seed (the same for students and reference)."""
    drawn = {}
    for index, check in enumerate(spec.checks):
        inputs = check.draw(np.random.default_rng([seed, index]))
        if inputs is not None:
            drawn[check.grade_id] = inputs
    return drawn


def plan(spec: ChapterSpec, seed: int) -> list[dict]:
    """Return the JSON-ready list of exports that the export cells perform, one item per check."""
    inputs = draw_inputs(spec, seed)
    return [{"grade_id": check.grade_id, "kind": check.kind, **check.export_plan(inputs.get(check.grade_id, {}))}
            for check in spec.checks]


def cell_source(check: Check, item: dict) -> str:
    """Return the source of the export cell that performs ``item`` for ``check``."""
    helpers = "\n".join(_nested_source(f) for f in (decode, encode, run_exports, check.kernel_export))
    exporters = "{" + repr(check.kind) + ": " + check.kernel_export.__name__ + "}"
    encoded = base64.b64encode(json.dumps([item]).encode()).decode()
    return CELL_TEMPLATE.format(helpers=helpers, exporters=exporters, plan=encoded, folder=EXPORT_FOLDER)


def export_cells(spec: ChapterSpec, seed: int) -> dict[str, str]:
    """Return the source of the export cell of each check of ``spec``, keyed by ``grade_id``."""
    return {check.grade_id: cell_source(check, item) for check, item in zip(spec.checks, plan(spec, seed))}


def write_export_cells(folder: Path, assignment: str, sources: dict[str, str]) -> Path:
    """Write the export cells of ``assignment`` where the InsertExportCells preprocessor finds them."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{assignment}.json"
    path.write_text(json.dumps(sources))
    return path


def read_export_cells(folder: Path, assignment: str) -> dict[str, str] | None:
    """Return the export cells that :func:`write_export_cells` wrote for ``assignment``, or None."""
    path = Path(folder) / f"{assignment}.json"
    return json.loads(path.read_text()) if path.is_file() else None


def insert_export_cells(notebook: NotebookNode, sources: dict[str, str]) -> None:
    """Insert each export cell right after its test cell, marked for :func:`remove_export_cells`.

    A check whose test cell is missing gets its export cell at the end of the notebook.
    """
    cells, placed = [], set()
    for cell in notebook.cells:
        cells.append(cell)
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if cell.cell_type == "code" and grade_id in sources and grade_id not in placed:
            cells.append(_export_cell(sources[grade_id]))
            placed.add(grade_id)
    cells.extend(_export_cell(source) for grade_id, source in sources.items() if grade_id not in placed)
    notebook.cells = cells


def _export_cell(source: str) -> NotebookNode:
    cell = new_code_cell(source)
    cell.metadata[EXPORT_MARK] = True
    return cell


def remove_export_cells(notebook: NotebookNode) -> None:
    """Remove the cells that :func:`insert_export_cells` added."""
    notebook.cells = [cell for cell in notebook.cells if not cell.metadata.get(EXPORT_MARK)]
