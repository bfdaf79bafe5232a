"""The course's own pretrained base model, trained once offline and cached, and a look-up for ImageNet weights.

Transfer learning needs a model that was trained on another task. The usual ones, the ImageNet
models of ``keras.applications``, are downloaded on first use, which the course cannot count on. So
the course pretrains its own: a small convolutional network with batch normalization, trained to
recognize five of the ten classes of :func:`course_utils.data.load_fashion_mnist`
(:data:`SOURCE_CLASSES`: T-shirt/top, Trouser, Coat, Sandal and Bag), the *source task*. Chapter 10
transfers it to the other five (:data:`TARGET_CLASSES`: Pullover, Dress, Shirt, Sneaker and Ankle
boot) with few labels. Each half holds upper-body garments and footwear, so the base has seen sleeves,
collars, soles and heels, and the target task asks for finer distinctions between things of the same
kinds. Where the real Fashion-MNIST is missing, the loader falls back to scikit-learn's digits
enlarged to 28x28, split into the same label numbers; that small set is repeated, shifted at random by
a few pixels (:func:`shift_digits`). :func:`load_base_model` trains the base the first time (about
ten seconds on two CPU cores), saves it as a ``.keras`` file in ``<Keras home>/tfcourse/`` and loads
that file on every later call, exactly like a downloaded model. The file's name holds the data source
(:func:`source_tag`) and :data:`BASE_VERSION`, so a base trained on other data is never reused.

:func:`cached_imagenet_weights` says whether the ImageNet weights of a ``keras.applications`` model
are already in the Keras cache, without downloading anything, and :func:`imagenet_instructions`
says how to get them.

TensorFlow and Keras are imported by the functions that need them, so importing this module is cheap.
"""

from __future__ import annotations

import copy
import os
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from course_utils import data

if TYPE_CHECKING:  # Only for the type hints: importing Keras here would slow every import down.
    import keras

#: Bump when the architecture or the training recipe changes, so that old cached files are not reused.
BASE_VERSION = 2
#: The labels the base model is pretrained on (the source task): T-shirt/top, Trouser, Coat, Sandal and
#: Bag in Fashion-MNIST (the digits 0, 1, 4, 5 and 8 in the fallback).
SOURCE_CLASSES = (0, 1, 4, 5, 8)
#: The other five labels, the target task of chapter 10: Pullover, Dress, Shirt, Sneaker and Ankle boot.
TARGET_CLASSES = (2, 3, 6, 7, 9)
#: The shape of one input image, after :func:`preprocess_input`.
IMAGE_SHAPE = (28, 28, 1)
#: The name of the layer whose output is the feature vector (the base without its classifier).
FEATURES_LAYER = "features"
#: The name of the base without its top, as a layer of a transfer model.
BASE_NAME = "pretrained_base"
#: The name of the source task's classifier layer, the "top" that ``include_top=False`` removes.
TOP_LAYER = "source_classifier"
#: Repeated fallback images are shifted at random by up to this many pixels (see :func:`shift_digits`).
MAX_SHIFT = 2
#: About this many source images are used for pretraining: real Fashion-MNIST has 30,000 training
#: images of the source classes and gives different ones; the small fallback repeats its images, the
#: copies shifted at random.
NUM_SOURCE_IMAGES = 9000
#: Optimizer steps of pretraining, whatever the number of source images.
PRETRAIN_STEPS = 400
PRETRAIN_BATCH_SIZE = 64

#: The files ``keras.applications`` reads from ``<Keras home>/models/`` for ``weights="imagenet"``.
_IMAGENET_FILES = {
    "MobileNetV2": ("mobilenet_v2_weights_tf_dim_ordering_tf_kernels_{alpha}_{size}.h5",
                    "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_{alpha}_{size}_no_top.h5"),
    "ResNet50": ("resnet50_weights_tf_dim_ordering_tf_kernels.h5",
                 "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5"),
    "VGG16": ("vgg16_weights_tf_dim_ordering_tf_kernels.h5",
              "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"),
    "EfficientNetB0": ("efficientnetb0.h5", "efficientnetb0_notop.h5"),
}
_MOBILENET_V2_SIZES = (96, 128, 160, 192, 224)


#: Base models that were trained in this process but could not be saved (an unwritable cache):
#: their configuration and weights, by cache path, so that the next call does not train again.
_UNSAVED: dict[Path, tuple[dict, list]] = {}


def keras_home() -> Path:
    """Return the Keras home folder (``$KERAS_HOME``, else ``~/.keras``), as :mod:`course_utils.data` does."""
    return data.keras_cache_dir().parent


def cache_dir() -> Path:
    """Return the folder where the course keeps its pretrained models: ``<Keras home>/tfcourse``."""
    return keras_home() / "tfcourse"


def source_tag(split: data.Split) -> str:
    """Name the data a base model is trained on, for its file name.

    Parameters
    ----------
    split : course_utils.data.Split
        What :func:`course_utils.data.load_fashion_mnist` returned.

    Returns
    -------
    str
        ``"fashion"`` for real Fashion-MNIST, ``"digits28"`` for the scikit-learn fallback and
        ``"mnist"`` for real MNIST (a split of :func:`course_utils.data.load_mnist`).
    """
    if split.source.startswith("fallback"):
        return "digits28"
    return "fashion" if "fashion" in split.source else "mnist"


def base_model_path(source: str) -> Path:
    """Return the cache file of the base model pretrained on ``source`` (see :func:`source_tag`).

    The data source and :data:`BASE_VERSION` are part of the name, so a model trained on other data
    or with another recipe is never loaded by mistake.
    """
    classes = "".join(str(label) for label in SOURCE_CLASSES)
    return cache_dir() / f"base_{source}_classes{classes}_v{BASE_VERSION}.keras"


def preprocess_input(images) -> np.ndarray:
    """Prepare images the way the base model expects them: float32 in [-1, 1], one channel.

    Like ``keras.applications.mobilenet_v2.preprocess_input``, pixels from 0 to 255 are mapped
    linearly to -1 to 1. Feeding the model anything else (raw pixels, or pixels in [0, 1]) shifts
    every activation and spoils its features.

    Parameters
    ----------
    images : array-like
        Pixels from 0 to 255, shape ``(n, 28, 28)`` or ``(n, 28, 28, 1)``.

    Returns
    -------
    numpy.ndarray
        Shape ``(n, 28, 28, 1)``, dtype float32.
    """
    images = np.asarray(images, dtype="float32")
    if images.ndim == 3:
        images = images[..., np.newaxis]
    if images.ndim != 4 or images.shape[1:] != IMAGE_SHAPE:
        raise ValueError(f"expected images of shape (n, 28, 28) or (n, 28, 28, 1), got {images.shape}")
    return images / 127.5 - 1.0


def build_base_model(num_classes: int = len(SOURCE_CLASSES), name: str = "source_cnn") -> keras.Model:
    """Build the base architecture, untrained: three convolution blocks, flattened features, a classifier.

    Each block is ``Conv2D`` (no bias) -> ``BatchNormalization`` -> ``ReLU``. The first convolution
    (16 filters of 5x5) has a stride of 2, the other two (32 and 64 filters of 3x3) are followed by
    ``MaxPooling2D``, so 28x28 images become 3x3x64 feature maps; ``Flatten`` (named ``"features"``)
    turns them into a vector of 576 numbers, and a ``Dense`` softmax layer (named
    ``"source_classifier"``) classifies it. The course trains it on the source classes; the same
    function gives the from-scratch baseline of the chapter.

    Parameters
    ----------
    num_classes : int
        Units of the classifier.
    name : str
        The model's name.

    Returns
    -------
    keras.Model
        A functional model from ``(None, 28, 28, 1)`` to ``(None, num_classes)``, not compiled.
    """
    import keras
    from keras import layers

    inputs = keras.Input(shape=IMAGE_SHAPE, name="image")
    x = inputs
    for block, (filters, kernel_size, strides) in enumerate([(16, 5, 2), (32, 3, 1), (64, 3, 1)], start=1):
        x = layers.Conv2D(filters, kernel_size, strides=strides, padding="same", use_bias=False,
                          name=f"block{block}_conv")(x)
        x = layers.BatchNormalization(name=f"block{block}_bn")(x)
        x = layers.ReLU(name=f"block{block}_relu")(x)
        if block > 1:
            x = layers.MaxPooling2D(2, name=f"block{block}_pool")(x)
    features = layers.Flatten(name=FEATURES_LAYER)(x)
    outputs = layers.Dense(num_classes, activation="softmax", name=TOP_LAYER)(features)
    return keras.Model(inputs, outputs, name=name)


def shift_digits(images, max_shift: int = MAX_SHIFT, seed: int = 0) -> np.ndarray:
    """Move each image by a random whole number of pixels, up to ``max_shift`` in each direction.

    The small offline fallback repeats its images to make a source set of a useful size; shifting
    the copies makes them differ, so the base learns to ignore where an object sits in the frame.
    The pixels that come into view are black (zero), like the background of the images.

    Parameters
    ----------
    images : array-like
        Shape ``(n, height, width)``.
    max_shift : int
        The largest shift in pixels, vertically and horizontally.
    seed : int
        Seed of the shifts: the same seed shifts the same images the same way.

    Returns
    -------
    numpy.ndarray
        The shifted images, same shape and dtype.
    """
    images = np.asarray(images)
    if images.ndim != 3:
        raise ValueError(f"expected images of shape (n, height, width), got {images.shape}")
    count, height, width = images.shape
    rng = np.random.default_rng(seed)
    padded = np.pad(images, ((0, 0), (max_shift, max_shift), (max_shift, max_shift)))
    rows = rng.integers(0, 2 * max_shift + 1, size=count)[:, None, None] + np.arange(height)[None, :, None]
    columns = rng.integers(0, 2 * max_shift + 1, size=count)[:, None, None] + np.arange(width)[None, None, :]
    return padded[np.arange(count)[:, None, None], rows, columns]


def source_data(split: data.Split) -> tuple[np.ndarray, np.ndarray]:
    """Return the pretraining images (preprocessed) and labels: the source classes of the training set.

    The labels are numbered 0 to 4 in the order of :data:`SOURCE_CLASSES`. About
    :data:`NUM_SOURCE_IMAGES` images are returned: the first ones of the training set when it has
    that many, otherwise up to four copies of each image, the first as it is and the others shifted
    at random (:func:`shift_digits`).
    """
    keep = np.isin(split.y_train, SOURCE_CLASSES)
    images = split.x_train[keep][:NUM_SOURCE_IMAGES]
    labels = np.searchsorted(SOURCE_CLASSES, split.y_train[keep][:NUM_SOURCE_IMAGES]).astype("int64")
    copies = int(np.clip(NUM_SOURCE_IMAGES // len(images), 1, 4))
    x_source = np.concatenate([images] + [shift_digits(images, seed=100 + copy) for copy in range(1, copies)])
    return preprocess_input(x_source), np.tile(labels, copies)


def train_base_model(split: data.Split, seed: int = 0) -> keras.Model:
    """Pretrain the base model on the source classes of ``split``, about :data:`PRETRAIN_STEPS` steps of Adam.

    Parameters
    ----------
    split : course_utils.data.Split
        The Fashion-MNIST split (or its fallback) from :func:`course_utils.data.load_fashion_mnist`.
    seed : int
        Seed of the weights and the shuffling.

    Returns
    -------
    keras.Model
        The trained model, with its source classifier, not compiled.
    """
    import keras

    x_source, y_source = source_data(split)
    steps_per_epoch = int(np.ceil(len(x_source) / PRETRAIN_BATCH_SIZE))
    num_epochs = max(1, int(round(PRETRAIN_STEPS / steps_per_epoch)))
    keras.utils.set_random_seed(seed)
    model = build_base_model()
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=2e-3),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x_source, y_source, epochs=num_epochs, batch_size=PRETRAIN_BATCH_SIZE, verbose=0)
    # Return a clean, uncompiled copy: the file then holds no optimizer state to warn about.
    clean = keras.Model.from_config(model.get_config())
    clean.set_weights(model.get_weights())
    return clean


def _save_atomically(model: keras.Model, path: Path) -> None:
    """Save ``model`` to ``path`` through a temporary file in the same folder and ``os.replace``.

    Several notebooks may train the base at the same time: each writes its own temporary file, and
    the rename is atomic, so a reader sees either no file or a complete one.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}-", suffix=".keras")
    os.close(handle)
    try:
        model.save(temporary)
        # mkstemp makes the file private (0600); a cache must be readable by other users, such as the
        # unprivileged user that the grader's sandbox runs notebooks as.
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)


def _without_top(model: keras.Model) -> keras.Model:
    """Return the base without its source classifier: images in, feature vectors out."""
    import keras

    return keras.Model(model.input, model.get_layer(FEATURES_LAYER).output, name=BASE_NAME)


def load_base_model(include_top: bool = False, split: data.Split | None = None,
                    verbose: bool = True) -> keras.Model:
    """Load the course's pretrained base from the cache, training and caching it the first time.

    The cache file is ``<Keras home>/tfcourse/base_<source>_classes01458_v<version>.keras`` (see
    :func:`base_model_path`). When that folder cannot be written (a read-only Keras cache, for
    example), the model is trained anyway, a message says so, and its weights are kept in memory so
    that later calls in the same session do not train it again.

    Parameters
    ----------
    include_top : bool
        Keep the source classifier (5 softmax outputs, one per source class). By default the model stops
        at the ``"features"`` layer and returns 576 numbers per image, like a
        ``keras.applications`` model with ``include_top=False``.
    split : course_utils.data.Split, optional
        The split to pretrain on when no cached model exists; by default
        :func:`course_utils.data.load_fashion_mnist` is called. Its source decides which file is used.
    verbose : bool
        Print one line saying whether the model was loaded or trained, and where its file is.

    Returns
    -------
    keras.Model
        A new model object on every call (its ``trainable`` flags are yours to change), expecting
        images prepared by :func:`preprocess_input`; not compiled.
    """
    import keras

    if split is None:
        split = data.load_fashion_mnist(verbose=False)
    path = base_model_path(source_tag(split))
    model = None
    if path.is_file():
        try:
            model = keras.saving.load_model(path, compile=False)
        except Exception as error:  # A file from another Keras version, say: train a new one.
            if verbose:
                print(f"Could not load the cached base model {path} ({type(error).__name__}: {error}); "
                      "training it again.")
        else:
            if verbose:
                print(f"Pretrained base model loaded from the cache: {path}")
    if model is None and path in _UNSAVED:
        config, weights = _UNSAVED[path]
        # from_config changes the dict it is given, so each call builds from a copy of the kept one.
        model = keras.Model.from_config(copy.deepcopy(config))
        model.set_weights(weights)
        if verbose:
            print(f"Pretrained base model reused from this session's memory: {path.parent} is not writable, "
                  "so it could not be cached.")
    if model is None:
        start = time.perf_counter()
        model = train_base_model(split)
        seconds = time.perf_counter() - start
        try:
            _save_atomically(model, path)
        except OSError as error:
            _UNSAVED[path] = (model.get_config(), model.get_weights())
            if verbose:
                print(f"Pretrained base model trained now on classes {SOURCE_CLASSES} ({split.source}) in {seconds:.0f} s, "
                      f"but it could not be cached in {path.parent} ({type(error).__name__}: {error}); it "
                      "is kept in memory until the kernel restarts. Set KERAS_HOME to a writable folder to keep it.")
        else:
            if verbose:
                print(f"Pretrained base model trained now on classes {SOURCE_CLASSES} ({split.source}) in {seconds:.0f} s "
                      f"and saved to {path}")
    return model if include_top else _without_top(model)


def imagenet_weights_file(application: str = "MobileNetV2", include_top: bool = False,
                          image_size: int = 224, alpha: float = 1.0) -> str:
    """Return the name of the file that ``keras.applications`` loads for ``weights="imagenet"``.

    Parameters
    ----------
    application : str
        ``"MobileNetV2"``, ``"ResNet50"``, ``"VGG16"`` or ``"EfficientNetB0"``.
    include_top : bool
        With or without the ImageNet classifier; the two are different files.
    image_size : int
        MobileNetV2 only: its weights exist for square inputs of 96, 128, 160, 192 and 224 pixels;
        other sizes load the 224 ones, as Keras does.
    alpha : float
        MobileNetV2 only: the width multiplier (0.35, 0.5, 0.75, 1.0, 1.3 or 1.4).

    Returns
    -------
    str
        A file name, for example ``"mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5"``.
    """
    if application not in _IMAGENET_FILES:
        raise ValueError(f"unknown application {application!r}; expected one of {sorted(_IMAGENET_FILES)}")
    size = image_size if image_size in _MOBILENET_V2_SIZES else 224
    template = _IMAGENET_FILES[application][0 if include_top else 1]
    return template.format(alpha=float(alpha), size=size)


def cached_imagenet_weights(application: str = "MobileNetV2", include_top: bool = False,
                            image_size: int = 224, alpha: float = 1.0) -> Path | None:
    """Return the path of the cached ImageNet weights of a ``keras.applications`` model, or None.

    Nothing is downloaded: this only looks for the file in ``<Keras home>/models/``, where
    ``keras.applications`` keeps what it downloads. The arguments are those of
    :func:`imagenet_weights_file`.
    """
    path = keras_home() / "models" / imagenet_weights_file(application, include_top, image_size, alpha)
    return path if path.is_file() else None


def imagenet_instructions(application: str = "MobileNetV2", include_top: bool = False,
                          image_size: int = 224, alpha: float = 1.0) -> str:
    """Say how to put the ImageNet weights of a ``keras.applications`` model into the Keras cache."""
    name = imagenet_weights_file(application, include_top, image_size, alpha)
    if application == "MobileNetV2":
        arguments = f"input_shape=({image_size}, {image_size}, 3), alpha={float(alpha)}, "
    else:
        arguments = ""
    return (
        f"The ImageNet weights of {application} ({name}) are not in the Keras cache "
        f"({keras_home() / 'models'}). To get them, run once, on a machine with a network connection:\n"
        f"    import keras\n"
        f"    keras.applications.{application}({arguments}include_top={include_top}, weights=\"imagenet\")\n"
        f"Keras downloads the file into the cache and loads it from there afterwards, offline. "
        f"To use them on a machine without a network, copy the file into <Keras home>/models/ there "
        f"(<Keras home> is $KERAS_HOME, by default ~/.keras)."
    )


if __name__ == "__main__":
    # `python -m course_utils.pretrained` trains and caches the base ahead of time (CI does this before
    # the tests, because the grading sandbox may read the Keras cache but not write it).
    load_base_model()
