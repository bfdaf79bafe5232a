"""Tests for course_utils.data: offline-first loaders that report their source."""

import numpy as np
import pytest

from course_utils import data


def test_load_digits_is_scaled_split_and_labelled():
    split = data.load_digits(test_fraction=0.25, seed=3)
    assert split.x_train.shape[1:] == (8, 8)
    assert len(split.x_train) + len(split.x_test) == 1797
    assert len(split.x_test) == round(1797 * 0.25)
    assert split.x_train.dtype == np.float32
    assert 0.0 <= split.x_train.min() and split.x_train.max() <= 1.0
    assert set(np.unique(split.y_train)) == set(range(10))
    assert "scikit-learn digits" in split.source


def test_load_digits_rejects_a_bad_fraction():
    with pytest.raises(ValueError, match="test_fraction"):
        data.load_digits(test_fraction=1.5)


def test_digits_as_mnist_looks_like_mnist():
    split = data.digits_as_mnist()
    assert split.x_train.shape[1:] == (28, 28)
    assert split.x_train.dtype == np.uint8
    assert split.x_train.max() == 255
    # The 2-pixel border is empty, as in MNIST.
    assert split.x_train[:, :2, :].max() == 0


def test_offline_without_cache_falls_back_and_says_so(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.setenv("TFCOURSE_OFFLINE", "1")
    split = data.load_mnist()
    assert split.source.startswith("fallback:")
    assert split.x_train.shape[1:] == (28, 28)
    assert "fallback" in capsys.readouterr().out
    assert not any(tmp_path.rglob("*")), "an offline load must not write into the Keras cache"


def test_fashion_fallback_keeps_the_digit_names(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    split = data.load_fashion_mnist(verbose=False)
    assert split.class_names == data.DIGIT_NAMES
    assert "digits" in split.source


@pytest.mark.parametrize("value, allowed", [("1", False), ("true", False), ("", True), ("0", True)])
def test_downloads_allowed_reads_the_environment(monkeypatch, value, allowed):
    monkeypatch.setenv("TFCOURSE_OFFLINE", value)
    assert data.downloads_allowed() is allowed


def test_is_cached_looks_in_keras_home(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    assert not data.is_cached("mnist")
    (tmp_path / "datasets").mkdir()
    (tmp_path / "datasets" / "mnist.npz").write_bytes(b"")
    assert data.is_cached("mnist")
    with pytest.raises(ValueError, match="unknown Keras data set"):
        data.is_cached("imagenet")


@pytest.mark.skipif(not data.is_cached("mnist"), reason="MNIST is not in the Keras cache on this machine")
def test_mnist_from_the_keras_cache():
    split = data.load_mnist(verbose=False)
    assert split.x_train.shape == (60000, 28, 28)
    assert "Keras cache" in split.source
