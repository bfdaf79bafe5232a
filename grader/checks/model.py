"""Model checks: the Keras model that the student's code returns, saved by the kernel and judged by the verifier."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from .base import Check
from .export_files import ExportError, read_bytes


def export_model(item, folder, namespace):
    """In the kernel: evaluate the call of ``item`` and save the model it returns in Keras's format."""
    import os

    model = eval(item["call"], namespace, {})
    model.save(os.path.join(folder, item["grade_id"] + ".keras"))


def load_model(path: Path):
    """Load an exported model with Keras's safe mode (no code from the file is run)."""
    import keras

    read_bytes(path)  # Missing or oversized files fail here with a clear message.
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


@dataclass(frozen=True)
class ModelCheck(Check):
    """Check a Keras model that the student's code returns.

    The model is saved by the kernel as a ``.keras`` file and loaded by the verifier with
    ``safe_mode=True`` (a model that needs code to load, such as a ``Lambda`` layer, fails).

    Attributes
    ----------
    grade_id : str
        The nbgrader ``grade_id`` of the exercise's test cell.
    call : str
        A Python expression evaluated in the notebook's namespace that returns the model,
        e.g. ``"build_model()"``.
    same_parameters : bool
        Require exactly the reference model's number of parameters (and of trainable parameters).
    same_shapes : bool
        Require the reference model's input and output shapes.
    held_out : callable, optional
        ``held_out()`` returns ``(x, y)``: data the verifier evaluates the model on (loaded in the
        verifier, for example with :mod:`course_utils.data`; never data the submission provides).
    threshold : float, optional
        The value of ``metric`` on ``held_out`` that the model must reach: at least this much, or
        at most this much when ``lower_is_better``.
    metric : callable, optional
        ``metric(model, x, y)`` returns a float. The default is accuracy: argmax of the outputs
        against integer labels, or a 0.5 threshold for one sigmoid output.
    metric_name : str
        What ``metric`` measures, for messages and the benchmark table (e.g. ``"accuracy"``, ``"MAE"``).
    lower_is_better : bool
        True for errors and losses: the model passes when ``metric`` is at most ``threshold``.
    verify : callable, optional
        ``verify(model, reference_model)`` returns a failure message or None, for anything else.
    """

    grade_id: str
    call: str
    same_parameters: bool = True
    same_shapes: bool = True
    held_out: Callable[[], tuple[Any, Any]] | None = None
    threshold: float | None = None
    metric: Callable[[Any, Any, Any], float] | None = None
    metric_name: str = "accuracy"
    lower_is_better: bool = False
    verify: Callable[[Any, Any], str | None] | None = None

    kind: ClassVar[str] = "model"
    kernel_export: ClassVar = staticmethod(export_model)

    def export_plan(self, drawn: dict[str, np.ndarray]) -> dict:
        """The call that returns the model."""
        return {"call": self.call}

    def measure(self, model) -> dict | None:
        """Evaluate ``model`` on the held-out data: ``{"metric", "value", "threshold", "lower_is_better"}``.

        Returns None when the check measures nothing (no ``held_out`` or no ``threshold``).
        """
        if self.held_out is None or self.threshold is None:
            return None
        x, y = self.held_out()
        value = float(self.metric(model, x, y)) if self.metric is not None else accuracy(model, x, y)
        return {"metric": self.metric_name, "value": value, "threshold": float(self.threshold),
                "lower_is_better": bool(self.lower_is_better)}

    def judge(self, student: Path, reference: Path, measured: dict[str, Any]) -> str | None:
        """Compare shapes and parameter counts with the solution's model, apply ``verify``, then measure.

        The measurement on held-out data is stored in ``measured["measured"]``, passed or not.
        """
        model = load_model(Path(student) / f"{self.grade_id}.keras")
        expected = load_model(Path(reference) / f"{self.grade_id}.keras")
        if self.same_shapes:
            if _shapes(model.inputs) != _shapes(expected.inputs):
                return f"the model's inputs have shapes {_shapes(model.inputs)}, expected {_shapes(expected.inputs)}"
            if _shapes(model.outputs) != _shapes(expected.outputs):
                return f"the model's outputs have shapes {_shapes(model.outputs)}, expected {_shapes(expected.outputs)}"
        if self.same_parameters:
            if model.count_params() != expected.count_params():
                return f"the model has {model.count_params():,} parameters, expected {expected.count_params():,}"
            trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
            expected_trainable = sum(int(np.prod(w.shape)) for w in expected.trainable_weights)
            if trainable != expected_trainable:
                return f"the model has {trainable:,} trainable parameters, expected {expected_trainable:,}"
        if self.verify is not None:
            problem = self.verify(model, expected)
            if problem:
                return problem
        result = self.measure(model)
        if result is not None:
            measured["measured"] = result
            value, threshold = result["value"], result["threshold"]
            if not np.isfinite(value) or (value > threshold if self.lower_is_better else value < threshold):
                relation = "above the maximum of" if self.lower_is_better else "below the target of"
                return (f"the model's {self.metric_name} on the grader's held-out data is {value:.4g}, "
                        f"{relation} {threshold:.4g}")
        return None
