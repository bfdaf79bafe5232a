"""Tests for course_utils.pretrained: the course's cached base model and the ImageNet-weights look-up.

Every test runs with its own Keras home (``KERAS_HOME`` in a temporary folder), and pretraining is
cut to a few steps on a few images, so the tests are fast and never touch the real cache.
"""

import os
import time

import numpy as np
import pytest

from course_utils import data, pretrained

# Keras converts tensors with np.array(x), which NumPy 2 reports as deprecated; not our concern here.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture
def keras_home(tmp_path, monkeypatch):
    """An empty Keras home, and a pretraining recipe short enough for tests."""
    home = tmp_path / "keras_home"
    home.mkdir()
    monkeypatch.setenv("KERAS_HOME", str(home))
    monkeypatch.setattr(pretrained, "PRETRAIN_STEPS", 4)
    monkeypatch.setattr(pretrained, "NUM_SOURCE_IMAGES", 128)
    return home


@pytest.fixture(scope="module")
def fallback_split():
    """The offline digits, as load_fashion_mnist returns them without the real data."""
    return data.digits_as_mnist()


def cached_files(home):
    return sorted(path.name for path in (home / "tfcourse").glob("*")) if (home / "tfcourse").exists() else []


def test_preprocess_input_maps_pixels_to_minus_one_one():
    images = np.array([[[0, 255], [127.5, 51]]], dtype="float32") * np.ones((2, 1, 1), dtype="float32")
    images = np.pad(images, ((0, 0), (0, 26), (0, 26)))
    prepared = pretrained.preprocess_input(images.astype("uint8"))
    assert prepared.shape == (2, 28, 28, 1) and prepared.dtype == np.float32
    assert prepared[0, 0, 0, 0] == -1.0 and prepared[0, 0, 1, 0] == 1.0
    assert pretrained.preprocess_input(prepared[..., 0] * 0 + 255).max() == 1.0
    with pytest.raises(ValueError, match="28, 28"):
        pretrained.preprocess_input(np.zeros((2, 8, 8)))


def test_shift_digits_moves_pixels_without_losing_centred_ones():
    images = np.zeros((50, 28, 28), dtype="uint8")
    images[:, 10:18, 10:18] = 200
    shifted = pretrained.shift_digits(images, max_shift=3, seed=4)
    assert shifted.shape == images.shape and shifted.dtype == images.dtype
    # A centred square stays whole: the same number of bright pixels, most of them moved.
    assert np.all(shifted.reshape(50, -1).sum(axis=1) == images.reshape(50, -1).sum(axis=1))
    assert np.mean([not np.array_equal(a, b) for a, b in zip(shifted, images)]) > 0.5
    assert np.array_equal(pretrained.shift_digits(images, max_shift=3, seed=4), shifted), "the same seed gives the same shifts"
    assert np.array_equal(pretrained.shift_digits(images, max_shift=0), images)
    with pytest.raises(ValueError, match="height, width"):
        pretrained.shift_digits(images[..., np.newaxis])


def test_build_base_model_has_the_documented_layers():
    model = pretrained.build_base_model()
    assert tuple(model.output.shape) == (None, 5)
    assert tuple(model.get_layer(pretrained.FEATURES_LAYER).output.shape) == (None, 576)
    assert model.layers[-1].name == pretrained.TOP_LAYER
    batch_norms = [layer for layer in model.layers if type(layer).__name__ == "BatchNormalization"]
    assert len(batch_norms) == 3
    assert model.count_params() == 400 + 4608 + 18432 + 4 * (16 + 32 + 64) + 576 * 5 + 5


def test_the_two_halves_split_the_ten_classes():
    assert sorted(pretrained.SOURCE_CLASSES + pretrained.TARGET_CLASSES) == list(range(10))
    assert list(pretrained.TARGET_CLASSES) == sorted(pretrained.TARGET_CLASSES)
    names = [data.FASHION_NAMES[label] for label in pretrained.TARGET_CLASSES]
    assert names == ["Pullover", "Dress", "Shirt", "Sneaker", "Ankle boot"]


def test_source_data_keeps_the_source_classes(fallback_split, monkeypatch):
    monkeypatch.setattr(pretrained, "NUM_SOURCE_IMAGES", 2000)
    x_source, y_source = pretrained.source_data(fallback_split)
    # The labels are numbered 0-4 in the order of SOURCE_CLASSES.
    assert set(np.unique(y_source)) == set(range(len(pretrained.SOURCE_CLASSES)))
    assert x_source.shape[1:] == (28, 28, 1) and len(x_source) == len(y_source)
    assert -1.0 <= x_source.min() and x_source.max() <= 1.0
    # The small fallback is repeated: about twice its source images, never more than four times; the
    # first copy is the images as they are, the second is shifted.
    keep = np.isin(fallback_split.y_train, pretrained.SOURCE_CLASSES)
    num_images = int(keep.sum())
    assert len(x_source) == 2 * num_images
    np.testing.assert_array_equal(x_source[:num_images], pretrained.preprocess_input(fallback_split.x_train[keep]))
    assert not np.array_equal(x_source[num_images:], x_source[:num_images])
    original = fallback_split.y_train[keep]
    np.testing.assert_array_equal(np.asarray(pretrained.SOURCE_CLASSES)[y_source[:num_images]], original)


def test_first_call_trains_and_caches_then_later_calls_load(keras_home, fallback_split, capsys):
    start = time.perf_counter()
    first = pretrained.load_base_model(include_top=True, split=fallback_split)
    first_seconds = time.perf_counter() - start
    message = capsys.readouterr().out
    path = pretrained.base_model_path("digits28")
    assert "trained now" in message and str(path) in message
    assert path.is_file() and path.parent == keras_home / "tfcourse"
    assert cached_files(keras_home) == [path.name], "no temporary file may be left behind"
    assert path.stat().st_mode & 0o044 == 0o044, "other users (the grading sandbox) must be able to read it"

    start = time.perf_counter()
    second = pretrained.load_base_model(include_top=True, split=fallback_split)
    second_seconds = time.perf_counter() - start
    message = capsys.readouterr().out
    assert "loaded from the cache" in message and str(path) in message
    assert message.count("\n") == 1, "one line per call"
    assert second_seconds < max(2.0, first_seconds), "loading must be faster than training"
    assert second is not first
    for got, want in zip(second.get_weights(), first.get_weights()):
        np.testing.assert_array_equal(got, want)

    headless = pretrained.load_base_model(split=fallback_split, verbose=False)
    assert capsys.readouterr().out == ""
    assert tuple(headless.output.shape) == (None, 576)
    assert pretrained.TOP_LAYER not in [layer.name for layer in headless.layers]
    import keras

    features_of_second = keras.Model(second.input, second.get_layer(pretrained.FEATURES_LAYER).output)
    images = pretrained.preprocess_input(fallback_split.x_test[:3])
    np.testing.assert_allclose(headless.predict(images, verbose=0), features_of_second.predict(images, verbose=0),
                               rtol=1e-5, atol=1e-6)


def test_the_file_is_written_atomically(keras_home, fallback_split, monkeypatch):
    replaced = []
    real_replace = os.replace

    def spy_replace(source, target):
        replaced.append((str(source), str(target)))
        assert os.path.getsize(source) > 0, "the temporary file must be complete before the rename"
        assert not os.path.exists(target), "the final file must not exist before the rename"
        real_replace(source, target)

    monkeypatch.setattr(pretrained.os, "replace", spy_replace)
    pretrained.load_base_model(split=fallback_split, verbose=False)
    path = pretrained.base_model_path("digits28")
    assert len(replaced) == 1
    temporary, target = replaced[0]
    assert target == str(path) and temporary != target
    assert os.path.dirname(temporary) == str(path.parent), "same folder, so that the rename is atomic"
    assert not os.path.exists(temporary)


def test_a_failed_save_leaves_no_file(keras_home, fallback_split, monkeypatch, capsys):
    import keras

    def broken_save(self, filepath, *args, **kwargs):
        with open(filepath, "wb") as handle:
            handle.write(b"half a model")
        raise OSError("disk full")

    monkeypatch.setattr(keras.Model, "save", broken_save)
    monkeypatch.setattr(pretrained, "_UNSAVED", {})
    model = pretrained.load_base_model(split=fallback_split)
    assert tuple(model.output.shape) == (None, 576)
    assert "could not be cached" in capsys.readouterr().out
    assert cached_files(keras_home) == [], "neither a partial model nor a temporary file may remain"


def test_an_unwritable_cache_trains_and_says_so(tmp_path, monkeypatch, fallback_split, capsys):
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("a file where the Keras home should be")
    monkeypatch.setenv("KERAS_HOME", str(blocker / "keras"))
    monkeypatch.setattr(pretrained, "PRETRAIN_STEPS", 4)
    monkeypatch.setattr(pretrained, "NUM_SOURCE_IMAGES", 128)
    monkeypatch.setattr(pretrained, "_UNSAVED", {})
    model = pretrained.load_base_model(split=fallback_split)
    message = capsys.readouterr().out
    assert tuple(model.output.shape) == (None, 576)
    assert "trained now" in message and "could not be cached" in message and "KERAS_HOME" in message

    # The next call in the same session reuses the trained weights instead of training again.
    again = pretrained.load_base_model(split=fallback_split)
    message = capsys.readouterr().out
    assert "reused" in message and "trained now" not in message
    assert again is not model
    for got, want in zip(again.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(got, want)
    # And every later call too (Keras's from_config changes the config it is given).
    third = pretrained.load_base_model(split=fallback_split, include_top=True)
    assert len(third.get_weights()) == len(pretrained.load_base_model(split=fallback_split, include_top=True).get_weights())
    assert len(third.get_weights()) > len(model.get_weights())


def test_a_different_source_uses_a_different_file(keras_home, fallback_split, capsys):
    assert pretrained.source_tag(fallback_split) == "digits28"
    real_like = data.Split(fallback_split.x_train, fallback_split.y_train, fallback_split.x_test,
                           fallback_split.y_test, data.FASHION_NAMES,
                           "keras.datasets.fashion_mnist (Keras cache, /x)")
    assert pretrained.source_tag(real_like) == "fashion"
    mnist_like = data.Split(fallback_split.x_train, fallback_split.y_train, fallback_split.x_test,
                            fallback_split.y_test, data.DIGIT_NAMES, "keras.datasets.mnist (Keras cache, /x)")
    assert pretrained.source_tag(mnist_like) == "mnist"
    paths = {pretrained.base_model_path(tag) for tag in ("fashion", "mnist", "digits28")}
    assert len(paths) == 3
    assert all(f"v{pretrained.BASE_VERSION}" in path.name for path in paths)
    assert pretrained.BASE_VERSION >= 2, "version 1 was pretrained on digits 0-4: its files must not be reused"

    pretrained.load_base_model(split=fallback_split, verbose=False)
    pretrained.load_base_model(split=real_like)
    assert "trained now" in capsys.readouterr().out, "a model of another source must not be reused"
    assert cached_files(keras_home) == sorted([pretrained.base_model_path("digits28").name,
                                               pretrained.base_model_path("fashion").name])


def test_a_corrupt_cache_file_is_replaced(keras_home, fallback_split, capsys):
    path = pretrained.base_model_path("digits28")
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not a keras file")
    model = pretrained.load_base_model(split=fallback_split)
    message = capsys.readouterr().out
    assert "Could not load" in message and "trained now" in message
    assert tuple(model.output.shape) == (None, 576)
    import keras

    keras.saving.load_model(path, compile=False)  # The replacement is a valid model file.


def test_imagenet_weights_are_found_only_when_cached(keras_home):
    name = pretrained.imagenet_weights_file("MobileNetV2", include_top=False, image_size=96)
    assert name == "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_96_no_top.h5"
    assert pretrained.cached_imagenet_weights("MobileNetV2", image_size=96) is None
    (keras_home / "models").mkdir()
    (keras_home / "models" / name).write_bytes(b"weights")
    assert pretrained.cached_imagenet_weights("MobileNetV2", image_size=96) == keras_home / "models" / name
    assert pretrained.cached_imagenet_weights("MobileNetV2", image_size=224) is None
    assert pretrained.cached_imagenet_weights("MobileNetV2", include_top=True, image_size=96) is None


def test_imagenet_file_names_follow_keras_applications():
    assert pretrained.imagenet_weights_file("MobileNetV2", include_top=True, image_size=100, alpha=0.5) == \
        "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.5_224.h5", "other sizes load the 224 weights"
    assert pretrained.imagenet_weights_file("ResNet50") == "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5"
    assert pretrained.imagenet_weights_file("VGG16", include_top=True) == "vgg16_weights_tf_dim_ordering_tf_kernels.h5"
    assert pretrained.imagenet_weights_file("EfficientNetB0") == "efficientnetb0_notop.h5"
    with pytest.raises(ValueError, match="unknown application"):
        pretrained.imagenet_weights_file("AlexNet")


def test_imagenet_instructions_say_how_to_get_the_weights(keras_home):
    text = pretrained.imagenet_instructions("MobileNetV2", image_size=96)
    assert 'weights="imagenet"' in text and "input_shape=(96, 96, 3)" in text
    assert pretrained.imagenet_weights_file("MobileNetV2", image_size=96) in text
    assert str(keras_home / "models") in text
