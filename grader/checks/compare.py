"""Compare exported results with the solution's: values, shapes and, on request, dtypes.

Used by :class:`grader.checks.function.FunctionCheck` and by the chapters' own ``grading.py`` rules
(through :mod:`grader.checks.library`).
"""

from __future__ import annotations

from typing import Any

import numpy as np


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
