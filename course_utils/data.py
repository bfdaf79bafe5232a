"""Offline-first data loading that always says where the data came from.

Real loading code stays real: :func:`load_mnist` and :func:`load_fashion_mnist` call
``keras.datasets`` whenever the files are in the Keras cache (``$KERAS_HOME/datasets``) or a download
is allowed. Without either, they fall back to scikit-learn's handwritten digits, which ship with
scikit-learn, so every chapter runs with no network at all.

Set the environment variable ``TFCOURSE_OFFLINE=1`` to forbid downloads (the tests and CI do).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

#: Files that ``keras.datasets`` reads from the Keras cache, per data set.
KERAS_CACHE_FILES = {
    "mnist": ["mnist.npz"],
    "fashion_mnist": [
        "fashion-mnist/train-labels-idx1-ubyte.gz",
        "fashion-mnist/train-images-idx3-ubyte.gz",
        "fashion-mnist/t10k-labels-idx1-ubyte.gz",
        "fashion-mnist/t10k-images-idx3-ubyte.gz",
    ],
}

DIGIT_NAMES = [str(digit) for digit in range(10)]
FASHION_NAMES = [
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
]


@dataclass
class Split:
    """A train/test split of a labelled data set, with the source it was loaded from.

    Attributes
    ----------
    x_train, y_train, x_test, y_test : numpy.ndarray
        Features and integer labels.
    class_names : list of str
        A readable name for each label.
    source : str
        Where the arrays came from, in words.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: list[str] = field(default_factory=list)
    source: str = ""

    def describe(self) -> str:
        """Return a one-line summary: source, shapes and number of classes."""
        return (
            f"{self.source}: train {self.x_train.shape}, test {self.x_test.shape}, "
            f"{len(self.class_names)} classes"
        )


def downloads_allowed() -> bool:
    """Return False when ``TFCOURSE_OFFLINE`` is set to a true value."""
    return os.environ.get("TFCOURSE_OFFLINE", "").strip().lower() not in {"1", "true", "yes"}


def keras_cache_dir() -> Path:
    """Return the folder that ``keras.datasets`` reads and writes (``$KERAS_HOME/datasets``)."""
    home = os.environ.get("KERAS_HOME")
    if home is None:
        base = Path.home() if os.access(Path.home(), os.W_OK) else Path("/tmp")
        home = str(base / ".keras")
    return Path(home) / "datasets"


def is_cached(name: str) -> bool:
    """Return True when every file of the Keras data set ``name`` is in the Keras cache."""
    if name not in KERAS_CACHE_FILES:
        raise ValueError(f"unknown Keras data set {name!r}; expected one of {sorted(KERAS_CACHE_FILES)}")
    return all((keras_cache_dir() / relative).is_file() for relative in KERAS_CACHE_FILES[name])


def _train_test_split(x, y, test_fraction: float, seed: int):
    """Shuffle with a fixed seed and split off the last ``test_fraction`` of the rows."""
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be between 0 and 1, got {test_fraction}")
    order = np.random.default_rng(seed).permutation(len(x))
    x, y = x[order], y[order]
    n_test = int(round(len(x) * test_fraction))
    return x[:-n_test], y[:-n_test], x[-n_test:], y[-n_test:]


def load_digits(test_fraction: float = 0.2, seed: int = 0) -> Split:
    """Load scikit-learn's 8x8 handwritten digits (1,797 images) as floats in [0, 1].

    Parameters
    ----------
    test_fraction : float
        Share of the images held out for testing.
    seed : int
        Seed of the shuffle before the split.

    Returns
    -------
    Split
        Images of shape ``(n, 8, 8)`` in float32 and labels 0-9 in int64.
    """
    from sklearn.datasets import load_digits as sklearn_digits

    digits = sklearn_digits()
    images = (digits.images / 16.0).astype("float32")
    labels = digits.target.astype("int64")
    x_train, y_train, x_test, y_test = _train_test_split(images, labels, test_fraction, seed)
    return Split(x_train, y_train, x_test, y_test, DIGIT_NAMES, "scikit-learn digits (8x8, shipped offline)")


def digits_as_mnist(test_fraction: float = 0.2, seed: int = 0) -> Split:
    """Turn scikit-learn's digits into MNIST-like 28x28 uint8 images.

    Each 8x8 image is enlarged three times (24x24), padded by 2 pixels on each side and rescaled to
    0-255, so that code written for MNIST runs unchanged on real handwriting that ships offline.
    """
    small = load_digits(test_fraction, seed)

    def enlarge(images: np.ndarray) -> np.ndarray:
        big = np.kron(images, np.ones((3, 3), dtype="float32"))
        big = np.pad(big, ((0, 0), (2, 2), (2, 2)))
        return np.round(big * 255).astype("uint8")

    return Split(
        enlarge(small.x_train), small.y_train, enlarge(small.x_test), small.y_test,
        DIGIT_NAMES, "fallback: scikit-learn digits enlarged to 28x28 (no Keras cache, no download)",
    )


def _load_keras(name: str, class_names: list[str], verbose: bool) -> Split:
    """Load a Keras data set, falling back to :func:`digits_as_mnist` when it cannot be had."""
    cached = is_cached(name)
    if cached or downloads_allowed():
        import keras

        loader = getattr(keras.datasets, name)
        try:
            (x_train, y_train), (x_test, y_test) = loader.load_data()
        except Exception as error:  # A failed download must not stop the chapter.
            if verbose:
                print(f"Could not load {name} through keras.datasets ({type(error).__name__}: {error}).")
        else:
            where = "Keras cache" if cached else "download into the Keras cache"
            split = Split(x_train, y_train.astype("int64"), x_test, y_test.astype("int64"), class_names,
                          f"keras.datasets.{name} ({where}, {keras_cache_dir()})")
            if verbose:
                print(split.describe())
            return split
    split = digits_as_mnist()
    if verbose:
        print(split.describe())
    return split


def load_mnist(verbose: bool = True) -> Split:
    """Load MNIST through ``keras.datasets``, or the offline digits fallback.

    Parameters
    ----------
    verbose : bool
        Print the source and shapes.

    Returns
    -------
    Split
        28x28 uint8 images and labels 0-9; ``source`` says which data set was used.
    """
    return _load_keras("mnist", DIGIT_NAMES, verbose)


def load_fashion_mnist(verbose: bool = True) -> Split:
    """Load Fashion-MNIST through ``keras.datasets``, or the offline digits fallback.

    The fallback has digits, not clothes: ``class_names`` and ``source`` say so.
    """
    return _load_keras("fashion_mnist", FASHION_NAMES, verbose)
