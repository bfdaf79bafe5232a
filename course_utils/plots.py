"""Plots a learner would rather look at than read: curves, images, confusion matrices, diagrams."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np


class GraphvizMissingError(RuntimeError):
    """Raised when a model diagram is asked for but Graphviz or pydot is not installed."""


def plot_history(history, metrics: Sequence[str] | None = None):
    """Plot training (and validation) curves from a Keras ``History`` or its ``history`` dict.

    Parameters
    ----------
    history : keras.callbacks.History or dict
        What ``model.fit`` returned, or its ``.history`` dictionary.
    metrics : sequence of str, optional
        Metrics to plot, one panel each; by default every metric without a ``val_`` prefix.

    Returns
    -------
    matplotlib.figure.Figure
        The figure, with one panel per metric and epochs on the x axis.
    """
    logs = history.history if hasattr(history, "history") else dict(history)
    if not logs:
        raise ValueError("the history is empty: was the model trained for at least one epoch?")
    if metrics is None:
        metrics = [name for name in logs if not name.startswith("val_")]
    missing = [name for name in metrics if name not in logs]
    if missing:
        raise ValueError(f"metrics {missing} are not in the history, which has {sorted(logs)}")
    figure, axes = plt.subplots(1, len(metrics), figsize=(4.5 * len(metrics), 3.5), squeeze=False)
    for axis, name in zip(axes[0], metrics):
        epochs = np.arange(1, len(logs[name]) + 1)
        axis.plot(epochs, logs[name], marker="o", label=f"training {name}")
        if f"val_{name}" in logs:
            axis.plot(epochs, logs[f"val_{name}"], marker="o", label=f"validation {name}")
        axis.set_xlabel("epoch")
        axis.set_ylabel(name)
        axis.grid(alpha=0.3)
        axis.legend()
    figure.tight_layout()
    return figure


def show_images(images, labels=None, class_names: Sequence[str] | None = None, num_columns: int = 8,
                predictions=None):
    """Show images in a grid, titled with their labels (and predictions, wrong ones in red).

    Parameters
    ----------
    images : array-like
        Shape ``(n, height, width)`` for grey images or ``(n, height, width, channels)``.
    labels, predictions : array-like of int, optional
        True and predicted labels, shown as titles.
    class_names : sequence of str, optional
        Names for the labels.
    num_columns : int
        Images per row.

    Returns
    -------
    matplotlib.figure.Figure
    """
    images = np.asarray(images)
    if images.ndim not in (3, 4):
        raise ValueError(f"expected images of shape (n, height, width[, channels]), got {images.shape}")
    count = len(images)
    num_columns = max(1, min(num_columns, count))
    num_rows = int(np.ceil(count / num_columns))
    figure, axes = plt.subplots(num_rows, num_columns, figsize=(1.3 * num_columns, 1.5 * num_rows),
                                squeeze=False)

    def name(label) -> str:
        return class_names[int(label)] if class_names is not None else str(label)

    for index, axis in enumerate(axes.flat):
        axis.axis("off")
        if index >= count:
            continue
        image = images[index]
        if image.ndim == 3 and image.shape[-1] == 1:
            image = image[..., 0]
        axis.imshow(image, cmap="gray" if image.ndim == 2 else None)
        if labels is not None and predictions is not None:
            wrong = int(labels[index]) != int(predictions[index])
            axis.set_title(f"{name(predictions[index])} ({name(labels[index])})", fontsize=8,
                           color="red" if wrong else "black")
        elif labels is not None:
            axis.set_title(name(labels[index]), fontsize=8)
    figure.tight_layout()
    return figure


def plot_confusion_matrix(y_true, y_pred, class_names: Sequence[str] | None = None, normalize: bool = False):
    """Draw the confusion matrix of integer labels, counts written in each cell.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from sklearn.metrics import confusion_matrix

    y_true = np.asarray(y_true).astype(int).ravel()
    y_pred = np.asarray(y_pred).astype(int).ravel()
    num_classes = len(class_names) if class_names is not None else int(max(y_true.max(), y_pred.max())) + 1
    matrix = confusion_matrix(y_true, y_pred, labels=list(range(num_classes))).astype(float)
    if normalize:
        matrix = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    names = list(class_names) if class_names is not None else [str(i) for i in range(num_classes)]
    figure, axis = plt.subplots(figsize=(0.55 * num_classes + 2, 0.55 * num_classes + 1.5))
    image = axis.imshow(matrix, cmap="Blues")
    figure.colorbar(image, ax=axis)
    axis.set_xticks(range(num_classes), names, rotation=45, ha="right")
    axis.set_yticks(range(num_classes), names)
    axis.set_xlabel("predicted label")
    axis.set_ylabel("true label")
    threshold = matrix.max() / 2 if matrix.size else 0
    for row in range(num_classes):
        for column in range(num_classes):
            value = matrix[row, column]
            text = f"{value:.2f}" if normalize else f"{int(value)}"
            axis.text(column, row, text, ha="center", va="center", fontsize=7,
                      color="white" if value > threshold else "black")
    figure.tight_layout()
    return figure


def graphviz_available() -> bool:
    """Return True when both pydot and Graphviz's ``dot`` program can be found."""
    try:
        import pydot  # noqa: F401
    except ImportError:
        return False
    return shutil.which("dot") is not None


def plot_model_diagram(model, to_file: str | None = None, show_shapes: bool = True, **kwargs):
    """Draw a Keras model as a diagram with :func:`keras.utils.plot_model`.

    Parameters
    ----------
    model : keras.Model
        The model to draw.
    to_file : str, optional
        Where to write the image; by default a file in a fresh temporary folder, so that nothing is
        written next to the notebook.
    show_shapes : bool
        Show each layer's input and output shapes.
    **kwargs
        Passed on to :func:`keras.utils.plot_model`.

    Raises
    ------
    GraphvizMissingError
        With installation instructions when Graphviz or pydot is missing.
    """
    if not graphviz_available():
        raise GraphvizMissingError(
            "Model diagrams need pydot and Graphviz's 'dot' program. Install Graphviz with "
            "'sudo apt-get install graphviz' (Debian/Ubuntu), 'brew install graphviz' (macOS) or "
            "'conda install graphviz', then restart the kernel. model.summary() shows the same "
            "structure as text."
        )
    import keras

    if to_file is None:
        to_file = str(Path(tempfile.mkdtemp(prefix="tfcourse-diagram-")) / "model.png")
    return keras.utils.plot_model(model, to_file=to_file, show_shapes=show_shapes, **kwargs)
