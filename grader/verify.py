"""The verifier: score trusted checks from exports, with no student code in the process.

Run as ``python -m grader.verify SPEC STUDENT_EXPORTS REFERENCE_EXPORTS``; it prints one JSON object
mapping each check's ``grade_id`` to ``{"passed": bool, "message": str}``, plus ``"measured"`` for
model checks that evaluate the model on held-out data (see :func:`measure`). The grader runs it in the
sandbox of :mod:`grader.sandbox`, so even a ``.keras`` file crafted to crash TensorFlow only ends
this process (and the checks it was scoring fail).

Student exports are read as JSON (see :mod:`grader.exports`) and as ``.keras`` files loaded with
``safe_mode=True``; nothing is unpickled.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from .export_data import MAX_EXPORT_BYTES, decode
from .specs import ChapterSpec, FunctionCheck, ModelCheck, load_spec


class ExportError(Exception):
    """An export is missing, too large or unreadable; the message says which and why."""


def read_report(folder: Path) -> dict[str, str]:
    """Return ``report.json`` of an export folder: what the export cell managed, per ``grade_id``."""
    path = Path(folder) / "report.json"
    if not path.is_file():
        return {}
    try:
        report = json.loads(_read_bytes(path))
    except (ValueError, ExportError):
        return {}
    return {str(key): str(value)[:500] for key, value in report.items()} if isinstance(report, dict) else {}


def _read_bytes(path: Path) -> bytes:
    if not path.is_file():
        raise ExportError(f"{path.name} was not exported")
    if path.stat().st_size > MAX_EXPORT_BYTES:
        raise ExportError(f"{path.name} is larger than {MAX_EXPORT_BYTES // 1024**2} MB")
    return path.read_bytes()


def read_results(folder: Path, grade_id: str) -> list[Any]:
    """Read the exported results of one function check."""
    try:
        results = decode(json.loads(_read_bytes(Path(folder) / f"{grade_id}.json")))
    except ValueError as error:
        raise ExportError(f"the exported results are not readable ({error})") from error
    if not isinstance(results, list):
        raise ExportError("the exported results are not a list")
    return results


def compare(value: Any, expected: Any, rtol: float, atol: float, where: str = "the result",
            dtypes: bool = False) -> str | None:
    """Return why ``value`` does not match ``expected``, or None when it does.

    Parameters
    ----------
    value, expected : object
        Decoded exports: NumPy arrays, dicts, lists and plain Python values, nested in any way.
    rtol, atol : float
        Tolerances for floating-point values.
    where : str
        What ``value`` is, for the message.
    dtypes : bool
        Also require the dtypes of ``expected``: where ``expected`` holds an array, ``value`` must hold
        an array of the same dtype (int32 and int64 differ, so do float32 and float64), and where it
        holds a Python ``bool``, ``int`` or ``float``, ``value`` must hold one of the same type. By
        default an int matches an equal float, and arrays match whatever their dtypes.

    Returns
    -------
    str or None
        The first difference found, or None.
    """
    if dtypes:
        problem = _dtype_problem(value, expected, where)
        if problem:
            return problem
    if isinstance(expected, np.ndarray) or isinstance(value, np.ndarray):
        value_array, expected_array = np.asarray(value), np.asarray(expected)
        if value_array.shape != expected_array.shape:
            return f"{where} has shape {value_array.shape}, expected {expected_array.shape}"
        if expected_array.dtype.kind in "biuf" and value_array.dtype.kind in "biuf":
            if not np.allclose(value_array, expected_array, rtol=rtol, atol=atol, equal_nan=True):
                difference = np.nanmax(np.abs(value_array.astype(float) - expected_array.astype(float)))
                return f"{where} differs from the expected values (largest difference {difference:.3g})"
            return None
        if value_array.dtype.kind != expected_array.dtype.kind or not np.array_equal(value_array, expected_array):
            return f"{where} differs from the expected values"
        return None
    if isinstance(expected, dict):
        if not isinstance(value, dict) or sorted(value) != sorted(expected):
            return f"{where} should be a dict with keys {sorted(expected)}"
        for key in expected:
            problem = compare(value[key], expected[key], rtol, atol, f"{where}[{key!r}]", dtypes)
            if problem:
                return problem
        return None
    if isinstance(expected, list):
        if not isinstance(value, list) or len(value) != len(expected):
            return f"{where} should have {len(expected)} items"
        for index, (item, expected_item) in enumerate(zip(value, expected)):
            problem = compare(item, expected_item, rtol, atol, f"{where}[{index}]", dtypes)
            if problem:
                return problem
        return None
    if isinstance(expected, float) and isinstance(value, (int, float)) and not isinstance(value, bool):
        return None if np.isclose(value, expected, rtol=rtol, atol=atol) else f"{where} is {value!r}, expected {expected!r}"
    if type(value) is not type(expected) or value != expected:
        return f"{where} is {value!r:.80}, expected {expected!r:.80}"
    return None


def _dtype_problem(value: Any, expected: Any, where: str) -> str | None:
    """Return why ``value`` does not have the dtype or the type of ``expected`` at this level, or None.

    Only this level is looked at: :func:`compare` calls it again for the items of lists and dicts.
    """
    if isinstance(expected, np.ndarray):
        if not isinstance(value, np.ndarray):
            return f"{where} should be a tensor of dtype {expected.dtype}, got a {type(value).__name__}"
        if value.dtype != expected.dtype:
            return f"{where} has dtype {value.dtype}, expected {expected.dtype}"
    elif type(expected) is float and type(value) is int:
        # The value comparison accepts an int for a float; every other mix of bool, int and float
        # already fails there, since it requires the type of ``expected``.
        return f"{where} is the int {value!r}, expected the float {expected!r}"
    return None


def verify_function(check: FunctionCheck, student: Path, reference: Path) -> str | None:
    """Return why a function check fails, or None when it passes."""
    results = read_results(student, check.grade_id)
    expected = read_results(reference, check.grade_id)
    if len(results) != len(check.calls):
        return f"{len(results)} results were exported for {len(check.calls)} calls"
    if check.verify is not None:
        return check.verify(results, expected)
    for call, value, expected_value in zip(check.calls, results, expected):
        problem = compare(value, expected_value, check.rtol, check.atol, where=f"{call} on the grader's inputs",
                          dtypes=check.dtypes)
        if problem:
            return problem
    return None


def load_model(path: Path):
    """Load an exported model with Keras's safe mode (no code from the file is run)."""
    import keras

    _read_bytes(path)  # Missing or oversized files fail here with a clear message.
    try:
        return keras.saving.load_model(path, compile=False, safe_mode=True)
    except Exception as error:  # noqa: BLE001 - any failure to load means the check fails.
        raise ExportError(f"the model could not be loaded safely ({type(error).__name__}: {str(error)[:200]})") from error


def _shapes(tensors) -> list[tuple]:
    return [tuple(tensor.shape) for tensor in tensors]


def accuracy(model, x, y) -> float:
    """Return the accuracy of ``model`` on ``(x, y)``: argmax for several outputs, 0.5 for one."""
    predictions = np.asarray(model.predict(x, verbose=0))
    labels = np.asarray(y).reshape(-1)
    if predictions.ndim == 1 or predictions.shape[-1] == 1:
        predicted = (predictions.reshape(-1) > 0.5).astype(labels.dtype)
    else:
        predicted = predictions.argmax(axis=-1).reshape(-1)
    return float(np.mean(predicted == labels))


def measure(check: ModelCheck, model) -> dict | None:
    """Evaluate ``model`` on the check's held-out data: ``{"metric", "value", "threshold", "lower_is_better"}``.

    Returns None when the check measures nothing (no ``held_out`` or no ``threshold``).
    """
    if check.held_out is None or check.threshold is None:
        return None
    x, y = check.held_out()
    value = float(check.metric(model, x, y)) if check.metric is not None else accuracy(model, x, y)
    return {"metric": check.metric_name, "value": value, "threshold": float(check.threshold),
            "lower_is_better": bool(check.lower_is_better)}


def verify_model(check: ModelCheck, student: Path, reference: Path, measured: dict | None = None) -> str | None:
    """Return why a model check fails, or None when it passes.

    When the check measures the model on held-out data, the measurement is stored in ``measured``
    (if given) under ``"measured"``, passed or not, for reports and the benchmark.
    """
    model = load_model(Path(student) / f"{check.grade_id}.keras")
    expected = load_model(Path(reference) / f"{check.grade_id}.keras")
    if check.same_shapes:
        if _shapes(model.inputs) != _shapes(expected.inputs):
            return f"the model's inputs have shapes {_shapes(model.inputs)}, expected {_shapes(expected.inputs)}"
        if _shapes(model.outputs) != _shapes(expected.outputs):
            return f"the model's outputs have shapes {_shapes(model.outputs)}, expected {_shapes(expected.outputs)}"
    if check.same_parameters:
        if model.count_params() != expected.count_params():
            return f"the model has {model.count_params():,} parameters, expected {expected.count_params():,}"
        trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
        expected_trainable = sum(int(np.prod(w.shape)) for w in expected.trainable_weights)
        if trainable != expected_trainable:
            return f"the model has {trainable:,} trainable parameters, expected {expected_trainable:,}"
    if check.verify is not None:
        problem = check.verify(model, expected)
        if problem:
            return problem
    result = measure(check, model)
    if result is not None:
        if measured is not None:
            measured["measured"] = result
        value, threshold = result["value"], result["threshold"]
        if not np.isfinite(value) or (value > threshold if check.lower_is_better else value < threshold):
            relation = "above the maximum of" if check.lower_is_better else "below the target of"
            return (f"the model's {check.metric_name} on the grader's held-out data is {value:.4g}, "
                    f"{relation} {threshold:.4g}")
    return None


def verify(spec: ChapterSpec, student: Path, reference: Path) -> dict[str, dict]:
    """Score every check of ``spec``: ``{grade_id: {"passed": bool, "message": str}}``."""
    report = read_report(student)
    reference_report = read_report(reference)
    verdicts = {}
    for check in spec.checks:
        grade_id = check.grade_id
        if reference_report.get(grade_id) != "exported":
            verdicts[grade_id] = {"passed": False, "message": (
                f"the solution's export failed ({reference_report.get(grade_id, 'missing')}): "
                "the check cannot be scored; tell the instructor")}
            continue
        status = report.get(grade_id, "no export: the notebook did not finish")
        if status != "exported":
            verdicts[grade_id] = {"passed": False, "message": f"calling your answer failed: {status}"}
            continue
        measured: dict = {}
        try:
            if isinstance(check, FunctionCheck):
                problem = verify_function(check, student, reference)
            else:
                problem = verify_model(check, student, reference, measured)
        except ExportError as error:
            problem = str(error)
        except Exception as error:  # noqa: BLE001 - a failing comparison is a failed check, not a crash.
            problem = f"the check could not be completed ({type(error).__name__}: {str(error)[:200]})"
        verdicts[grade_id] = {"passed": problem is None, "message": problem or "", **measured}
    return verdicts


def main(argv: list[str] | None = None) -> int:
    """Entry point: ``python -m grader.verify SPEC_FOLDER STUDENT_EXPORTS REFERENCE_EXPORTS``."""
    arguments = sys.argv[1:] if argv is None else argv
    if len(arguments) != 3:
        print("usage: python -m grader.verify SOURCE_ASSIGNMENT_FOLDER STUDENT_EXPORTS REFERENCE_EXPORTS",
              file=sys.stderr)
        return 2
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    spec = load_spec(Path(arguments[0]))
    if spec is None:
        print(f"no {arguments[0]}/grading.py", file=sys.stderr)
        return 2
    print(json.dumps(verify(spec, Path(arguments[1]), Path(arguments[2]))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
