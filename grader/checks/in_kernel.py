"""Code that runs in the student's kernel: the export cell's helpers.

These functions are not imported by the kernel: :mod:`grader.checks.export_cell` copies their source
into each export cell, nested in one function, so that the cell needs nothing of the grader on the
kernel's side. That is why each function imports what it uses and refers to no other name of this
module than ``encode`` and ``decode`` (which the cell defines beside it). A check type's own kernel
function (``kernel_export``, see :class:`grader.checks.base.Check`) follows the same rules.
"""

from __future__ import annotations


def decode(value):
    """Turn an input that the grader encoded (see :func:`grader.checks.export_files.encode_array`) into an array."""
    import numpy as np

    if isinstance(value, dict) and "__array__" in value:
        return np.asarray(value["__array__"], dtype=value["dtype"]).reshape(value["shape"])
    return value


def encode(value, depth=0):
    """Turn an answer's value into JSON-ready data: tensors and arrays spelled out, nothing pickled."""
    import numpy as np

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
        return {"__array__": array.tolist(), "dtype": str(array.dtype), "shape": list(array.shape)}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [encode(item, depth + 1) for item in value]
    if isinstance(value, dict):
        return {str(key): encode(item, depth + 1) for key, item in value.items()}
    raise TypeError("cannot export a value of type " + type(value).__name__)


def run_exports(plan, folder, namespace, exporters):
    """Export every item of ``plan`` with the exporter of its kind, and record in ``report.json`` how it went.

    An item that fails is recorded with its error and the others still run: the verifier then tells
    the student that calling the answer failed, and why.
    """
    import json
    import os

    os.makedirs(folder, exist_ok=True)
    report_path = os.path.join(folder, "report.json")
    try:
        with open(report_path) as handle:
            report = dict(json.load(handle))
    except (OSError, ValueError, TypeError):
        report = {}
    for item in plan:
        grade_id = item["grade_id"]
        try:
            exporters[item["kind"]](item, folder, namespace)
            report[grade_id] = "exported"
        except BaseException as error:
            report[grade_id] = (type(error).__name__ + ": " + str(error))[:500]
    with open(report_path, "w") as handle:
        json.dump(report, handle)
