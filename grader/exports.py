"""Ask a graded kernel for the exports that trusted checks verify (see :mod:`grader.specs`).

The grader inserts an export cell after each checked test cell of the notebook it executes. The
cell calls the answer function on inputs drawn by the grader and writes what it returns into
``.tfcourse-export/`` in the kernel's working folder: a JSON file for a
:class:`~grader.specs.FunctionCheck`, a ``.keras`` file for a :class:`~grader.specs.ModelCheck`, and
a line in ``report.json`` saying whether it worked. Exporting right after each test means that a
submission whose kernel dies later keeps the exercises it had already answered. The cells are
removed from the notebook again after execution, so students never see them in their feedback.

The cell runs in the student's kernel, so a submission can tamper with it. That is harmless: it can
only change what is exported, and the verifier accepts an export only if it is right for inputs
that were drawn after the submission was written.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
from nbformat import NotebookNode
from nbformat.v4 import new_code_cell
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Unicode

from .export_data import encode_array
from .sandbox import RESERVED_FOLDER
from .specs import ChapterSpec, FunctionCheck

#: The folder, inside the kernel's working folder, that receives the exports (with a size cap of its own
#: where the sandbox caps the working folder).
EXPORT_FOLDER = RESERVED_FOLDER

#: Metadata that marks the appended cell, so that it can be removed after execution.
EXPORT_MARK = "tfcourse_export"

def draw_inputs(spec: ChapterSpec, seed: int) -> dict[str, dict[str, np.ndarray]]:
    """Draw the inputs of every function check from one seed (the same for students and reference)."""
    drawn = {}
    for index, check in enumerate(spec.checks):
        if isinstance(check, FunctionCheck) and check.inputs is not None:
            rng = np.random.default_rng([seed, index])
            drawn[check.grade_id] = {name: np.asarray(value) for name, value in check.inputs(rng).items()}
    return drawn


def plan(spec: ChapterSpec, seed: int) -> list[dict]:
    """Return the JSON-ready list of exports that the appended cell performs."""
    inputs = draw_inputs(spec, seed)
    items = []
    for check in spec.checks:
        if isinstance(check, FunctionCheck):
            items.append({"grade_id": check.grade_id, "kind": "function", "calls": list(check.calls),
                          "inputs": {name: encode_array(array) for name, array in inputs.get(check.grade_id, {}).items()}})
        else:
            items.append({"grade_id": check.grade_id, "kind": "model", "call": check.call})
    return items


#: The code of an export cell; ``{plan}`` is replaced by the base64 of its plan's JSON.
CELL_TEMPLATE = '''def _tfcourse_export(plan, folder):
    import json, os
    import numpy as np

    def decode(value):
        if isinstance(value, dict) and "__array__" in value:
            return np.asarray(value["__array__"], dtype=value["dtype"]).reshape(value["shape"])
        return value

    def encode(value, depth=0):
        if depth > 20:
            raise TypeError("the value is nested too deeply to export")
        if hasattr(value, "numpy") and callable(value.numpy):
            value = value.numpy()
        if isinstance(value, (np.ndarray, np.generic)):
            array = np.asarray(value)
            if array.dtype.kind == "S":
                array = np.char.decode(array, "utf-8")
            if array.dtype.hasobject:
                raise TypeError("cannot export an array of Python objects")
            return {{"__array__": array.tolist(), "dtype": str(array.dtype), "shape": list(array.shape)}}
        if value is None or isinstance(value, (bool, int, float, str)):
            return value
        if isinstance(value, (list, tuple)):
            return [encode(item, depth + 1) for item in value]
        if isinstance(value, dict):
            return {{str(key): encode(item, depth + 1) for key, item in value.items()}}
        raise TypeError("cannot export a value of type " + type(value).__name__)

    os.makedirs(folder, exist_ok=True)
    report_path = os.path.join(folder, "report.json")
    try:
        with open(report_path) as handle:
            report = dict(json.load(handle))
    except (OSError, ValueError, TypeError):
        report = {{}}
    for item in plan:
        grade_id = item["grade_id"]
        try:
            if item["kind"] == "function":
                results = []
                for call in item["calls"]:
                    # One namespace (the notebook's names, then the inputs), so that comprehensions
                    # and lambdas in a call see the inputs too.
                    namespace = dict(globals())
                    namespace.update({{name: decode(value) for name, value in item["inputs"].items()}})
                    results.append(encode(eval(call, namespace)))
                with open(os.path.join(folder, grade_id + ".json"), "w") as handle:
                    json.dump(results, handle)
            else:
                model = eval(item["call"], globals(), {{}})
                model.save(os.path.join(folder, grade_id + ".keras"))
            report[grade_id] = "exported"
        except BaseException as error:
            report[grade_id] = (type(error).__name__ + ": " + str(error))[:500]
    with open(report_path, "w") as handle:
        json.dump(report, handle)


_tfcourse_export(__import__("json").loads(__import__("base64").b64decode("{plan}")), "{folder}")
del _tfcourse_export
'''


def export_cells(spec: ChapterSpec, seed: int) -> dict[str, str]:
    """Return the source of the export cell of each check of ``spec``, keyed by ``grade_id``."""
    sources = {}
    for item in plan(spec, seed):
        encoded = base64.b64encode(json.dumps([item]).encode()).decode()
        sources[item["grade_id"]] = CELL_TEMPLATE.format(plan=encoded, folder=EXPORT_FOLDER)
    return sources


def write_export_cells(folder: Path, assignment: str, sources: dict[str, str]) -> Path:
    """Write the export cells of ``assignment`` where :class:`InsertExportCells` finds them."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{assignment}.json"
    path.write_text(json.dumps(sources))
    return path


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


class InsertExportCells(NbGraderPreprocessor):
    """Insert the export cells of the assignment being autograded, if the grader wrote them."""

    code_folder = Unicode("", help="Folder of <assignment>.json files holding export cells.").tag(config=True)

    def preprocess(self, nb, resources):
        """Insert the cells when ``code_folder/<assignment>.json`` exists."""
        assignment = resources.get("nbgrader", {}).get("assignment", "")
        if self.code_folder and assignment:
            path = Path(self.code_folder) / f"{assignment}.json"
            if path.is_file():
                insert_export_cells(nb, json.loads(path.read_text()))
        return nb, resources


class RemoveExportCell(NbGraderPreprocessor):
    """Remove the export cell again after execution."""

    def preprocess(self, nb, resources):
        """Drop every cell marked as an export cell."""
        remove_export_cells(nb)
        return nb, resources
