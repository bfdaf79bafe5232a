"""Helpers for the authors of trusted checks (``solutions/<chapter>/grading.py``).

The checks of several chapters need the same few comparisons: every exported result against the
solution's, dtypes included; a model's layers against the reference model's; a metric on the
worse of two held-out splits; a parameter budget; outputs that must be probabilities; and the
held-out Fashion-MNIST test images, prepared as each notebook prepares its own. They live here so
that each ``grading.py`` keeps only the rules of its own chapter. Everything here runs in the
verifier (:mod:`grader.checks.verifier`), on exports and on models loaded in Keras's safe mode; nothing here
runs student code, except :func:`gated`, which only writes the text of an export call.

Keras is imported only by the functions that need a model, so that chapters whose checks compare
plain exports load quickly.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .compare import compare
from .model import accuracy

#: How :func:`same_layers` names the columns of :func:`layer_rows` in its messages.
COLUMN_NAMES = {"output_shape": "output shape", "parameters": "parameters", "activation": "activation",
                "dtype_policy": "dtype policy"}


def compare_results(results: list[Any], expected: list[Any], *, labels: Sequence[str] | None = None,
                    rtol: float = 1e-4, atol: float = 1e-5, rtol64: float | None = None,
                    atol64: float | None = None, dtypes: bool = False) -> str | None:
    """Compare the exported results of a function check with the solution's, one call at a time.

    This is the comparison that :class:`~grader.checks.FunctionCheck` makes by default, with the
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
        Also require the solution's dtypes and Python number types (see :func:`grader.checks.compare.compare`).

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
        ``metric(model, x_split, y_split)`` returns a float. By default, :func:`grader.checks.accuracy`.
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


def parameter_budget(model: Any, reference: Any = None, *, max_parameters: int) -> str | None:
    """Require at most ``max_parameters`` parameters, for ``ModelCheck.verify`` or inside a chapter's rules.

    With :func:`functools.partial` fixing ``max_parameters``, this is a ``verify`` function on its own.

    Parameters
    ----------
    model : keras.Model
        The student's model.
    reference : keras.Model, optional
        The solution's model (unused: the budget is the chapter's).
    max_parameters : int
        The most parameters (``model.count_params()``, trainable or not) the model may have.

    Returns
    -------
    str or None
        ``"the model has N parameters, above the budget of B"`` (numbers with thousands separators),
        or None within the budget.
    """
    if model.count_params() > max_parameters:
        return f"the model has {model.count_params():,} parameters, above the budget of {max_parameters:,}"
    return None


def probabilities_problem(model: Any, x: Any, *, atol: float = 1e-3, what: str = "example") -> str | None:
    """Say why a classifier's outputs are not probabilities (non-negative, summing to 1), or return None.

    The accuracy takes the argmax of the outputs, which a sigmoid or linear output layer also gets
    right, so checks that ask for a softmax look at the outputs themselves.

    Parameters
    ----------
    model : keras.Model
        The model, called through ``model.predict(x, verbose=0)``.
    x : array_like
        The inputs, e.g. a few hundred held-out images.
    atol : float
        How far from 1 the sum of one example's outputs may be.
    what : str
        What one input is, for the message, e.g. ``"test photo"``.

    Returns
    -------
    str or None
        ``"an output is V"`` when an output is negative, else ``"the outputs for one <what> sum to S"``
        for the sum farthest from 1 when one is farther than ``atol`` (or not finite), else None.
    """
    outputs = np.asarray(model.predict(x, verbose=0), dtype="float64")
    sums = outputs.sum(axis=-1)
    if outputs.min() < 0:
        return f"an output is {outputs.min():.3g}"
    if not np.allclose(sums, 1.0, rtol=0.0, atol=atol):
        farthest = sums[np.argmax(np.abs(sums - 1.0))]
        return f"the outputs for one {what} sum to {farthest:.3g}"
    return None


def gated(value: str, condition: str, message: str) -> str:
    """Return an export call that evaluates to ``value`` when ``condition`` holds, and raises ``message`` otherwise.

    Some properties (a model left uncompiled, its loss, an optimizer's step counter) do not survive
    saving a model, so the export call checks them in the kernel before saving; a failure becomes
    the check's message, ``"calling your answer failed: ValueError: <message>"``.

    Parameters
    ----------
    value, condition : str
        Python expressions evaluated in the notebook's namespace, ``condition`` first (``value`` only
        when it holds).
    message : str
        What the student sees when ``condition`` is false.

    Returns
    -------
    str
        The expression, for ``ModelCheck.call`` or inside a ``FunctionCheck`` call.
    """
    return f"{value} if ({condition}) else exec({f'raise ValueError({message!r})'!r})"


#: The parts of the Fashion-MNIST test set that :func:`fashion_test_images` can return.
TEST_PARTS = ("all", "second half")

#: The layouts of the images that :func:`fashion_test_images` can return.
IMAGE_LAYOUTS = ("images", "channels", "flat")


@functools.lru_cache(maxsize=1)
def _fashion_mnist() -> Any:
    """Load Fashion-MNIST (or the digits fallback) once per verifier process."""
    from course_utils import data

    return data.load_fashion_mnist(verbose=False)


def fashion_test_images(part: str = "all", *, scale: bool = True, pool: int = 1, layout: str = "images",
                        split: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """Return Fashion-MNIST test images prepared as a notebook prepares them, and their labels, for ``held_out``.

    A chapter's ``held_out`` is usually this function with its arguments fixed by
    :func:`functools.partial`. On a machine without Fashion-MNIST, the course's loader falls back to
    scikit-learn's digits as 28x28 uint8 images (it says so), as in the notebooks.

    Parameters
    ----------
    part : {"all", "second half"}
        All test images, or the second half (``x_test[len(x_test) // 2:]``), which notebooks that
        measure on the first test images never see.
    scale : bool
        Return float32 images in [0, 1] (the pixels divided by 255). Otherwise the images keep their
        dtype (uint8) and values.
    pool : int
        Shrink each image by averaging blocks of ``pool`` x ``pool`` pixels first (28x28 becomes 14x14
        with 2). The height and width must be multiples of ``pool``.
    layout : {"images", "channels", "flat"}
        Images of shape ``(n, height, width)``, with a channel axis ``(n, height, width, 1)``, or
        flattened to ``(n, height * width)``.
    split : course_utils.data.Split, optional
        The data to take the test images from (anything with ``x_test`` and ``y_test``). By default,
        ``course_utils.data.load_fashion_mnist()``, loaded once per process.

    Returns
    -------
    x : numpy.ndarray
        The images, in the order of the test set.
    y : numpy.ndarray
        Their integer labels.

    Notes
    -----
    Scaling casts to float32 before dividing. For integer pixels (0 to 255) and for their averages
    over 2x2 blocks, this gives the same float32 values as dividing in float64 and casting after.
    """
    if part not in TEST_PARTS:
        raise ValueError(f"part must be one of {TEST_PARTS}, got {part!r}")
    if layout not in IMAGE_LAYOUTS:
        raise ValueError(f"layout must be one of {IMAGE_LAYOUTS}, got {layout!r}")
    split = _fashion_mnist() if split is None else split
    x, y = split.x_test, split.y_test
    if part == "second half":
        half = len(x) // 2
        x, y = x[half:], y[half:]
    if pool > 1:
        count, height, width = x.shape[:3]
        x = x.reshape(count, height // pool, pool, width // pool, pool).mean(axis=(2, 4))
    if layout == "channels":
        x = x[..., None]
    elif layout == "flat":
        x = x.reshape(len(x), -1)
    if scale:
        x = x.astype("float32") / 255.0
    return x, y
