"""Checks called by the exercise test cells, each failing with a message that says what to fix.

Every check raises :class:`CheckFailed` (an ``AssertionError``) with a specific message when the
answer is wrong, and returns quietly (or with the measured value) when it is right. A test cell then
reads as one clear line, for example::

    checks.check_output_shape(model, (None, 10))

The checks are device-agnostic: values are compared with tolerances, so they pass on CPU and GPU.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


class CheckFailed(AssertionError):
    """An answer did not pass a check; the message says what was expected and what to look at."""


def _fail(message: str) -> None:
    raise CheckFailed(message)


def _shape_text(shape) -> str:
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


def _dtype_name(value) -> str | None:
    dtype = getattr(value, "dtype", None)
    if dtype is None:
        return None
    return getattr(dtype, "name", str(dtype))


def _value_text(value) -> str:
    """Render one element as plain Python (``5.0``, ``'héllo'``), not as a NumPy scalar repr."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    return repr(value)


def _to_numpy(value) -> np.ndarray:
    """Convert tensors, variables, sparse and ragged tensors, lists and scalars to a NumPy array."""
    type_name = type(value).__name__
    if type_name == "SparseTensor":
        import tensorflow as tf

        value = tf.sparse.to_dense(value)
    elif type_name == "RaggedTensor":
        return np.asarray(value.to_list(), dtype=object)
    return np.asarray(value)


def check_not_none(value: Any, name: str = "result") -> None:
    """Fail when ``value`` is None, the usual sign of a missing ``return``."""
    if value is None:
        _fail(f"{name} is None: did you forget a return statement?")


def check_type(value: Any, expected_type: type | tuple[type, ...], name: str = "result") -> None:
    """Fail unless ``value`` is an instance of ``expected_type``."""
    check_not_none(value, name)
    if not isinstance(value, expected_type):
        names = (expected_type,) if isinstance(expected_type, type) else expected_type
        expected = " or ".join(t.__name__ for t in names)
        _fail(f"{name} should be of type {expected}, got {type(value).__name__}")


def check_equal(actual: Any, expected: Any, name: str = "result") -> None:
    """Fail unless two plain Python values (numbers, strings, tuples, lists) are equal."""
    if actual != expected:
        _fail(f"{name} should be {expected!r}, got {actual!r}")


def _with_hint(message: str, hint: str | None) -> str:
    return f"{message}: {hint}" if hint else message


def check_less_than(value: float, limit: float, name: str = "result", hint: str | None = None) -> None:
    """Fail unless a number (a loss, an error, a time) is strictly below ``limit``.

    Parameters
    ----------
    value, limit : float
        The measured number and the bound it must stay under.
    name : str
        What the number is, for the message.
    hint : str, optional
        What to try when the bound is missed.
    """
    check_not_none(value, name)
    if not float(value) < float(limit):
        _fail(_with_hint(f"{name} is {float(value):.4g}, but it must be below {float(limit):.4g}", hint))


def check_at_least(value: float, minimum: float, name: str = "result", hint: str | None = None) -> None:
    """Fail unless a number (a score, a count, a rate) is at least ``minimum``.

    Parameters
    ----------
    value, minimum : float
        The measured number and the least it may be.
    name : str
        What the number is, for the message.
    hint : str, optional
        What to try when the minimum is missed.
    """
    check_not_none(value, name)
    if not float(value) >= float(minimum):
        _fail(_with_hint(f"{name} is {float(value):.4g}, below the minimum of {float(minimum):.4g}", hint))


def check_tensor(actual: Any, expected: Any, name: str = "result", dtype: Any = None,
                 rtol: float = 1e-5, atol: float = 1e-6) -> None:
    """Compare a tensor's shape, dtype and values with the expected ones.

    Parameters
    ----------
    actual : tensor-like
        The learner's answer: a ``tf.Tensor``, ``tf.Variable``, sparse or ragged tensor, NumPy array,
        list or scalar.
    expected : tensor-like
        The reference value.
    name : str
        What to call the answer in messages.
    dtype : str or tf.DType, optional
        The dtype the answer must have. By default the dtype of ``expected`` when it has one.
    rtol, atol : float
        Tolerances for floating-point values (wide enough for GPU and CPU to agree).

    Raises
    ------
    CheckFailed
        When the shape, the dtype or the values differ, saying which and where.
    """
    check_not_none(actual, name)
    wanted_dtype = getattr(dtype, "name", dtype) if dtype is not None else _dtype_name(expected)
    got_dtype = _dtype_name(actual)
    if wanted_dtype is not None and got_dtype is not None and got_dtype != wanted_dtype:
        _fail(f"{name} has dtype {got_dtype}, expected {wanted_dtype}: use tf.cast or the dtype= argument")
    if type(expected).__name__ == "RaggedTensor" or type(actual).__name__ == "RaggedTensor":
        got, want = _to_numpy(actual).tolist(), _to_numpy(expected).tolist()
        if type(actual).__name__ != type(expected).__name__:
            _fail(f"{name} should be of type {type(expected).__name__}, got {type(actual).__name__}")
        if got != want:
            _fail(f"{name} holds {got}, expected {want}")
        return
    got, want = _to_numpy(actual), _to_numpy(expected)
    if got.shape != want.shape:
        _fail(f"{name} has shape {_shape_text(got.shape)}, expected {_shape_text(want.shape)}")
    if got.dtype.kind in "fc" or want.dtype.kind in "fc":
        try:
            close = np.isclose(got.astype(np.float64), want.astype(np.float64), rtol=rtol, atol=atol)
        except (TypeError, ValueError):
            _fail(f"{name} holds values of type {got.dtype}, expected numbers")
        if not close.all():
            index = tuple(int(i) for i in np.argwhere(~close)[0])
            worst = float(np.max(np.abs(got.astype(np.float64) - want.astype(np.float64))))
            where = f" at index {index}" if index else ""
            _fail(f"{name} differs from the expected values{where}: got {_value_text(got[index])}, expected "
                  f"{_value_text(want[index])} ({int((~close).sum())} of {close.size} values differ, largest "
                  f"difference {worst:.3g})")
    else:
        equal = got == want
        if not np.all(equal):
            if np.ndim(equal) == 0:
                _fail(f"{name} is {_value_text(got[()])}, expected {_value_text(want[()])}")
            index = tuple(int(i) for i in np.argwhere(~np.asarray(equal))[0])
            _fail(f"{name} differs from the expected values at index {index}: got {_value_text(got[index])}, "
                  f"expected {_value_text(want[index])}")


def _output_shapes(model) -> list[tuple]:
    outputs = getattr(model, "outputs", None)
    if not outputs:
        _fail("the model has no known output shape yet: start it with keras.Input(shape=...) or "
              "call it once on a batch of data")
    return [tuple(output.shape) for output in outputs]


def check_output_shape(model, expected: Sequence, name: str = "model") -> None:
    """Check a single-output model's output shape, with a hint about which layer to look at.

    Parameters
    ----------
    model : keras.Model
        The learner's model.
    expected : sequence of int or None
        The expected shape, with ``None`` for the batch dimension, e.g. ``(None, 10)``.
    """
    shapes = _output_shapes(model)
    if len(shapes) != 1:
        _fail(f"{name} has {len(shapes)} outputs, expected 1")
    actual, expected = shapes[0], tuple(expected)
    if actual == expected:
        return
    message = f"expected output shape {_shape_text(expected)}, got {_shape_text(actual)}"
    if len(actual) != len(expected):
        hint = "check for a missing or extra Flatten, Reshape or pooling layer"
    elif actual[0] != expected[0]:
        hint = "give keras.Input the shape of one example, without the batch size"
    elif actual[-1] != expected[-1]:
        hint = "check the units of your last Dense layer"
    else:
        hint = "check the input shape and the layers that change the inner dimensions"
    _fail(f"{message}: {hint}")


def check_param_count(model, expected: int, trainable: bool = False, name: str = "model") -> None:
    """Check the number of parameters (all of them, or only the trainable ones).

    Parameters
    ----------
    model : keras.Model or keras.layers.Layer
        A built model or layer.
    expected : int
        The expected count.
    trainable : bool
        Count only trainable weights (useful for frozen layers).
    """
    if not getattr(model, "built", True):
        _fail(f"{name} is not built yet, so it has no weights: give it a keras.Input or call it on data")
    if trainable:
        actual = int(sum(np.prod(weight.shape) for weight in model.trainable_weights))
        kind = "trainable parameters"
    else:
        actual = int(model.count_params())
        kind = "parameters"
    if actual != expected:
        _fail(f"{name} has {actual:,} {kind}, expected {expected:,} ({actual - expected:+,}): compare "
              f"each layer's count in model.summary() with units x inputs + biases")


def describe_layers(model) -> list[tuple[str, tuple | None, int]]:
    """Return ``(layer class, output shape, parameter count)`` for each layer of a model."""
    rows = []
    for layer in model.layers:
        try:
            shape = tuple(layer.output.shape)
        except (AttributeError, ValueError):
            shape = None
        rows.append((type(layer).__name__, shape, int(layer.count_params())))
    return rows


def check_layers(model, expected: Sequence[tuple[str, Sequence | None, int | None]], name: str = "model") -> None:
    """Compare a model layer by layer with a specification.

    Parameters
    ----------
    model : keras.Model
        The learner's model.
    expected : sequence of (str, tuple or None, int or None)
        For each layer: its class name, its output shape and its parameter count; ``None`` skips
        that comparison. ``InputLayer`` rows are not listed (Sequential models do not expose them).

    Raises
    ------
    CheckFailed
        At the first layer that differs, with both layer tables side by side.
    """
    _output_shapes(model)  # A model without known shapes fails here with advice, not a Keras error.
    actual = [row for row in describe_layers(model) if row[0] != "InputLayer"]

    def table() -> str:
        lines = [f"  {'#':>2}  {'expected':<40} got"]
        for index in range(max(len(actual), len(expected))):
            want = expected[index] if index < len(expected) else None
            got = actual[index] if index < len(actual) else None
            want_text = "-" if want is None else f"{want[0]} {want[1] and _shape_text(want[1])} {want[2]}"
            got_text = "-" if got is None else f"{got[0]} {got[1] and _shape_text(got[1])} {got[2]}"
            lines.append(f"  {index:>2}  {want_text:<40} {got_text}")
        return "\n".join(lines)

    if len(actual) != len(expected):
        _fail(f"{name} has {len(actual)} layers, expected {len(expected)}:\n{table()}")
    for index, ((got_class, got_shape, got_params), (want_class, want_shape, want_params)) in enumerate(
            zip(actual, expected)):
        if got_class != want_class:
            _fail(f"layer {index} is a {got_class}, expected a {want_class}:\n{table()}")
        if want_shape is not None and got_shape != tuple(want_shape):
            _fail(f"layer {index} ({got_class}) outputs {got_shape and _shape_text(got_shape)}, expected "
                  f"{_shape_text(want_shape)}:\n{table()}")
        if want_params is not None and got_params != want_params:
            _fail(f"layer {index} ({got_class}) has {got_params:,} parameters, expected {want_params:,}:\n"
                  f"{table()}")


def accuracy(model, x, y, batch_size: int = 256) -> float:
    """Measure a classifier's accuracy on ``(x, y)``.

    Outputs with one unit (or none) are read as probabilities of the positive class (threshold 0.5);
    wider outputs are read with ``argmax``. Labels may be integers or one-hot rows.
    """
    predictions = np.asarray(model.predict(x, batch_size=batch_size, verbose=0))
    labels = np.asarray(y)
    if labels.ndim > 1 and labels.shape[-1] > 1:
        labels = labels.argmax(axis=-1)
    labels = labels.reshape(-1)
    if predictions.ndim == 1 or predictions.shape[-1] == 1:
        predicted = (predictions.reshape(-1) > 0.5).astype(int)
    else:
        predicted = predictions.argmax(axis=-1).reshape(-1)
    if predicted.shape != labels.shape:
        _fail(f"the model made {predicted.shape[0]} predictions for {labels.shape[0]} labels")
    return float(np.mean(predicted == labels))


def check_accuracy(model, x, y, min_accuracy: float, name: str = "model", hint: str | None = None) -> None:
    """Check that a classifier reaches ``min_accuracy`` on held-out data, and print what it reached.

    Like every check, it returns None: nbgrader reads a number left as a test cell's last value as
    partial credit, so a check must never leave one. Use :func:`accuracy` to get the value.

    Parameters
    ----------
    model : keras.Model
        The learner's classifier.
    x, y : array-like
        Held-out inputs and labels (integers or one-hot rows).
    min_accuracy : float
        The target, between 0 and 1.
    name : str
        What to call the model in messages.
    hint : str, optional
        What to try when the target is missed; by default, advice about training and the last layer.
    """
    reached = accuracy(model, x, y)
    if reached < min_accuracy:
        advice = hint or ("train for more epochs, adjust the learning rate, or check that the last "
                          "layer's activation matches the loss")
        _fail(f"{name} reaches {reached:.1%} accuracy on held-out data, below the target of "
              f"{min_accuracy:.0%}: {advice}")
    print(f"{name} reaches {reached:.1%} accuracy on held-out data (target {min_accuracy:.0%}).")
