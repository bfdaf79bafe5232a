"""The files of an export folder: JSON with NumPy arrays spelled out, ``.keras`` models, a report.

The export cell (:mod:`grader.checks.export_cell`) writes them in the student's kernel; the verifier
(:mod:`grader.checks.verifier`) reads them here. Nothing is ever unpickled. This module imports only
NumPy, so that the verifier starts quickly.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

#: The largest export file the verifier reads, in bytes.
MAX_EXPORT_BYTES = 64 * 1024**2

#: The file of an export folder that says, per ``grade_id``, whether the export worked.
REPORT_FILE = "report.json"


class ExportError(Exception):
    """An export is missing, too large or unreadable; the message says which and why."""


def encode_array(array: np.ndarray) -> dict:
    """Encode a NumPy array as JSON-ready data (no pickling)."""
    return {"__array__": array.tolist(), "dtype": str(array.dtype), "shape": list(array.shape)}


def decode(value: Any) -> Any:
    """Decode JSON data written by the export cell back into Python and NumPy values."""
    if isinstance(value, dict):
        if "__array__" in value:
            dtype = np.dtype(value["dtype"])
            if dtype.hasobject:
                raise ValueError("object arrays are not accepted")
            return np.asarray(value["__array__"], dtype=dtype).reshape(value["shape"])
        return {key: decode(item) for key, item in value.items()}
    if isinstance(value, list):
        return [decode(item) for item in value]
    return value


def read_bytes(path: Path) -> bytes:
    """Read an export file, refusing one that is missing or larger than :data:`MAX_EXPORT_BYTES`."""
    path = Path(path)
    if not path.is_file():
        raise ExportError(f"{path.name} was not exported")
    if path.stat().st_size > MAX_EXPORT_BYTES:
        raise ExportError(f"{path.name} is larger than {MAX_EXPORT_BYTES // 1024**2} MB")
    return path.read_bytes()


def read_report(folder: Path) -> dict[str, str]:
    """Return ``report.json`` of an export folder: what the export cell managed, per ``grade_id``."""
    path = Path(folder) / REPORT_FILE
    if not path.is_file():
        return {}
    try:
        report = json.loads(read_bytes(path))
    except (ValueError, ExportError):
        return {}
    return {str(key): str(value)[:500] for key, value in report.items()} if isinstance(report, dict) else {}


def read_results(folder: Path, grade_id: str) -> list[Any]:
    """Read the exported results of one function check."""
    try:
        results = decode(json.loads(read_bytes(Path(folder) / f"{grade_id}.json")))
    except ValueError as error:
        raise ExportError(f"the exported results are not readable ({error})") from error
    if not isinstance(results, list):
        raise ExportError("the exported results are not a list")
    return results
