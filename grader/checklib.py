"""Helpers for the authors of trusted checks (``solutions/<chapter>/grading.py``).

The checks of several chapters need the same few comparisons: every exported result against the
solution's, dtypes included; a model's layers against the reference model's; and a metric on the
worse of two held-out splits. They live here so that each ``grading.py`` keeps only the rules of its
own chapter. Everything here runs in the verifier (:mod:`grader.verify`), on exports and on models
loaded in Keras's safe mode; nothing here runs student code.

Keras is imported only by the functions that need a model, so that chapters whose checks compare
plain exports load quickly.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .verify import accuracy, compare

#: How :func:`same_layers` names the columns of :func:`layer_rows` in its messages.
COLUMN_NAMES = {"output_shape": "output shape", "parameters": "parameters", "activation": "activation",
                "dtype_policy": "dtype policy"}


def compare_results(results: list[Any], expected: list[Any], *, labels: Sequence[str] | None = None,
                    rtol: float = 1e-4, atol: float = 1e-5, rtol64: float | None = None,
                    atol64: float | None = None, dtypes: bool = False) -> str | None:
    """Compare the exported results of a function check with the solution's, one call at a time.

    This is the comparison that :class:`~grader.specs.FunctionCheck` makes by default, with the
    messages naming each call by ``labels`` (or by its number) instead of by its expression, and
    with tighter tolerances for float64 results where they are given.

    Parameters
    ----------
    results, expected : list
        The decoded exports of the student and of the solution, one item per call.
    labels : sequence of str, optional
        What each call computes, in words, for messages. By default, "the result of call 1" and so on.
    rtol, atol : float
        Tolerances for floating-point values.
    rtol64, atol64 : float, optional
        Tolerances for a call whose expected result holds float64 arrays (the first floating-point
        array found in it decides). By default, ``rtol`` and ``atol``.
    dtypes : bool
        Also require the solution's dtypes and Python number types (see :func:`grader.verify.compare`).

    Returns
    -------
    str or None
        Why the first differing result differs, or None when all match.
    """
    for index, (value, wanted) in enumerate(zip(results, expected)):
        where = labels[index] if labels is not None else f"the result of call {index + 1}"
        # Float64 results can be held to the tighter tolerances that the notebook's own checks use.
        float64 = _first_float_dtype(wanted) == np.float64
        problem = compare(value, wanted,
                          rtol=rtol64 if float64 and rtol64 is not None else rtol,
                          atol=atol64 if float64 and atol64 is not None else atol,
                          where=where, dtypes=dtypes)
        if problem:
            return problem
    return None


def _first_float_dtype(value: Any) -> np.dtype | None:
    """Return the dtype of the first floating-point array in ``value`` (searched recursively), or None."""
    if isinstance(value, np.ndarray):
        return value.dtype if value.dtype.kind == "f" else None
    items = value.values() if isinstance(value, dict) else value if isinstance(value, list) else []
    for item in items:
        found = _first_float_dtype(item)
        if found is not None:
            return found
    return None


def _layer_value(layer: Any, attribute: str) -> Any:
    """Return one column of a layer's row in :func:`layer_rows`."""
    if attribute == "output_shape":
        return tuple(layer.output.shape)
    if attribute == "parameters":
        return layer.count_params()
    if attribute == "activation":
        # Keras stores activations as functions; their names compare across two loaded models.
        return getattr(getattr(layer, "activation", None), "__name__", None)
    if attribute == "dtype_policy":
        return layer.dtype_policy.name
    return getattr(layer, attribute, None)


def _layers(model: Any, nested: bool) -> list[Any]:
    """Return the layers of ``model`` but its input layers, those of nested models too when ``nested``."""
    found = []
    for layer in model.layers:
        if type(layer).__name__ == "InputLayer":
            continue
        if nested and hasattr(layer, "layers"):
            found.extend(_layers(layer, nested))
        else:
            found.append(layer)
    return found


def layer_rows(model: Any, attributes: Sequence[str] = ("output_shape", "parameters"),
               nested: bool = False) -> list[tuple]:
    """Describe the layers of a model as rows that compare with ``==``.

    Parameters
    ----------
    model : keras.Model
        A model loaded by the verifier.
    attributes : sequence of str
        The columns after the layer's class name, in order: ``"output_shape"`` (a tuple),
        ``"parameters"`` (the parameter count), ``"activation"`` (the activation's name, None for a
        layer without one), ``"dtype_policy"`` (the policy's name), or the name of any other layer
        attribute (None where a layer lacks it), such as ``"units"`` or ``"rate"``.
    nested : bool
        Replace a nested model (a layer with layers of its own) by its layers. By default a nested
        model is one row.

    Returns
    -------
    list of tuple
        One row ``(class name, *attributes)`` per layer, input layers left out, in the model's order.
    """
    return [(type(layer).__name__, *(_layer_value(layer, attribute) for attribute in attributes))
            for layer in _layers(model, nested)]


def same_layers(model: Any, reference: Any, attributes: Sequence[str] = ("output_shape", "parameters"),
                nested: bool = False, what: str = "the model") -> str | None:
    """Require the reference model's layers, in order, as :func:`layer_rows` describes them.

    Parameters
    ----------
    model, reference : keras.Model
        The student's and the solution's models.
    attributes : sequence of str
        The columns compared after the class name (see :func:`layer_rows`).
    nested : bool
        Compare the layers of nested models instead of the nested models as wholes.
    what : str
        What ``model`` is, for messages, e.g. ``"the block"``.

    Returns
    -------
    str or None
        The number of layers when it differs (with the classes expected), else the first layer that
        differs, by its index after the inputs, with its row and the expected one; None when all match.
    """
    got, expected = layer_rows(model, attributes, nested), layer_rows(reference, attributes, nested)
    if len(got) != len(expected):
        return f"{what} has {len(got)} layers, expected {len(expected)}: {[row[0] for row in expected]}"
    columns = ", ".join(["class", *(COLUMN_NAMES.get(attribute, attribute) for attribute in attributes)])
    for index, (row, expected_row) in enumerate(zip(got, expected)):
        if row != expected_row:
            return f"layer {index} is {row}, expected {expected_row} ({columns})"
    return None


def worst_metric(model: Any, x: Sequence[Any], y: Sequence[Any],
                 metric: Callable[[Any, Any, Any], float] | None = None, lower_is_better: bool = False) -> float:
    """Return the worst value of a metric over several held-out splits, for ``ModelCheck.metric``.

    A check that requires a target on both the validation and the test set declares
    ``held_out`` returning ``([x_val, x_test], [y_val, y_test])`` and this function as its metric
    (with :func:`functools.partial` for another ``metric`` or ``lower_is_better``).

    Parameters
    ----------
    model : keras.Model
        The model measured.
    x, y : sequence
        The inputs and the targets of each split, in the same order.
    metric : callable, optional
        ``metric(model, x_split, y_split)`` returns a float. By default, :func:`grader.verify.accuracy`.
    lower_is_better : bool
        True for errors: the worst value is then the largest.

    Returns
    -------
    float
        The lowest value over the splits, or the largest one when ``lower_is_better``.
    """
    measure = accuracy if metric is None else metric
    values = [float(measure(model, x_split, y_split)) for x_split, y_split in zip(x, y)]
    return max(values) if lower_is_better else min(values)
