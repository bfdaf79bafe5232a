"""Tests for course_utils.data: offline-first loaders that report their source."""

import gzip
import os
from pathlib import Path

import numpy as np
import pytest

from course_utils import data

#: The first ten training labels of the real Fashion-MNIST.
FASHION_FIRST_LABELS = [9, 0, 0, 3, 0, 2, 7, 2, 5, 5]


def write_idx(path, array):
    """Write ``array`` (uint8) as a gzipped IDX file, the format of the Fashion-MNIST files."""
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(size).to_bytes(4, "big") for size in array.shape)
    with gzip.open(path, "wb") as stream:
        stream.write(header + array.astype(np.uint8).tobytes())


def use_keras_home(monkeypatch, folder):
    """Point ``KERAS_HOME`` at ``folder`` for this test, for the loaders and for Keras.

    Keras reads ``KERAS_HOME`` once, when it is imported, so it is imported first and its copy is
    patched too: a first import under the test's variable would otherwise keep the test's folder for
    the rest of the session.
    """
    from keras.src.backend import config as keras_config

    monkeypatch.setenv("KERAS_HOME", str(folder))
    monkeypatch.setattr(keras_config, "_KERAS_DIR", str(folder))


@pytest.fixture
def fake_system_package(tmp_path, monkeypatch):
    """A system data folder with a small Fashion-MNIST in the package's layout (3 + 2 images)."""
    folder = tmp_path / "system" / "fashion-mnist"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    arrays = {
        "train-labels-idx1-ubyte.gz": np.array([9, 0, 3], dtype=np.uint8),
        "train-images-idx3-ubyte.gz": rng.integers(0, 256, (3, 28, 28)).astype(np.uint8),
        "t10k-labels-idx1-ubyte.gz": np.array([1, 2], dtype=np.uint8),
        "t10k-images-idx3-ubyte.gz": rng.integers(0, 256, (2, 28, 28)).astype(np.uint8),
    }
    for name, array in arrays.items():
        write_idx(folder / name, array)
    monkeypatch.setenv("TFCOURSE_SYSTEM_DATA", str(tmp_path / "system"))
    use_keras_home(monkeypatch, tmp_path / "keras")
    monkeypatch.setenv("TFCOURSE_OFFLINE", "1")
    return arrays


@pytest.fixture
def no_system_package(tmp_path, monkeypatch):
    """A machine without the data packages and with an empty Keras cache."""
    monkeypatch.setenv("TFCOURSE_SYSTEM_DATA", str(tmp_path / "no-system-data"))
    use_keras_home(monkeypatch, tmp_path / "keras")


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


def test_offline_without_cache_falls_back_and_says_so(tmp_path, monkeypatch, capsys, no_system_package):
    use_keras_home(monkeypatch, tmp_path)
    monkeypatch.setenv("TFCOURSE_OFFLINE", "1")
    split = data.load_mnist()
    assert split.source.startswith("fallback:")
    assert split.x_train.shape[1:] == (28, 28)
    assert "fallback" in capsys.readouterr().out
    assert not any(tmp_path.rglob("*")), "an offline load must not write into the Keras cache"


def test_fashion_fallback_keeps_the_digit_names(monkeypatch, no_system_package):
    monkeypatch.setenv("TFCOURSE_OFFLINE", "1")
    split = data.load_fashion_mnist(verbose=False)
    assert split.class_names == data.DIGIT_NAMES
    assert "digits" in split.source
    assert not data.real_source(split)


def test_the_system_package_is_copied_into_the_keras_cache_and_read_by_keras(fake_system_package, capsys):
    split = data.load_fashion_mnist()
    assert data.is_cached("fashion_mnist")
    assert split.source.startswith("keras.datasets.fashion_mnist (Keras cache")
    assert "dataset-fashion-mnist" in split.source
    assert "dataset-fashion-mnist" in capsys.readouterr().out
    np.testing.assert_array_equal(split.y_train, [9, 0, 3])
    np.testing.assert_array_equal(split.x_test, fake_system_package["t10k-images-idx3-ubyte.gz"])
    assert split.class_names == data.FASHION_NAMES and data.real_source(split)
    # The second load finds the files in the cache and no longer mentions the package.
    again = data.load_fashion_mnist(verbose=False)
    assert "dataset-fashion-mnist" not in again.source and "Keras cache" in again.source
    assert not list(data.keras_cache_dir().rglob("*.partial"))


def test_an_unwritable_keras_cache_reads_the_system_files_directly(fake_system_package, tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    use_keras_home(monkeypatch, blocker / "keras")  # Creating a folder under a file fails.
    split = data.load_fashion_mnist(verbose=False)
    assert "read from" in split.source and "could not be written" in split.source
    np.testing.assert_array_equal(split.x_train, fake_system_package["train-images-idx3-ubyte.gz"])
    np.testing.assert_array_equal(split.y_test, [1, 2])
    assert split.y_train.dtype == np.int64


def test_a_read_only_keras_cache_is_read_directly(fake_system_package, monkeypatch):
    """keras.datasets ignores a Keras home it cannot write (the grader's sandbox mounts it read-only)."""
    assert data.seed_keras_cache("fashion_mnist")
    home = data.keras_cache_dir().parent
    writable = os.access
    monkeypatch.setattr(data.os, "access", lambda path, mode: False if Path(path) == home else writable(path, mode))
    split = data.load_fashion_mnist(verbose=False)
    assert "read from the Keras cache" in split.source and "read-only" in split.source
    np.testing.assert_array_equal(split.y_train, [9, 0, 3])
    np.testing.assert_array_equal(split.x_test, fake_system_package["t10k-images-idx3-ubyte.gz"])
    assert data.real_source(split)


def test_a_package_with_a_missing_file_is_not_used(fake_system_package, tmp_path):
    (tmp_path / "system" / "fashion-mnist" / "t10k-labels-idx1-ubyte.gz").unlink()
    assert data.system_files("fashion_mnist") is None
    assert data.load_fashion_mnist(verbose=False).source.startswith("fallback:")


def test_read_idx_rejects_a_file_that_is_not_idx(tmp_path):
    path = tmp_path / "bad.gz"
    with gzip.open(path, "wb") as stream:
        stream.write(b"PK\x03\x04 this is a zip file")
    with pytest.raises(ValueError, match="not an IDX file"):
        data.read_idx(path)
    write_idx(path, np.zeros((2, 3), dtype=np.uint8))
    with gzip.open(path, "rb") as stream:
        truncated = stream.read()[:-1]
    with gzip.open(path, "wb") as stream:
        stream.write(truncated)
    with pytest.raises(ValueError, match="its header announces"):
        data.read_idx(path)


def test_the_command_seeds_the_cache_and_fails_when_a_required_set_is_missing(fake_system_package, capsys):
    assert data.main(["--require", "fashion_mnist"]) == 0
    assert data.is_cached("fashion_mnist")
    assert "fashion_mnist: in the Keras cache" in capsys.readouterr().out


def test_the_command_names_the_package_to_install(no_system_package, monkeypatch, capsys):
    monkeypatch.setenv("TFCOURSE_OFFLINE", "1")
    assert data.main(["--require", "fashion_mnist"]) == 1
    captured = capsys.readouterr()
    assert "apt-get install dataset-fashion-mnist" in captured.out
    assert "required data set(s) not available offline: fashion_mnist" in captured.err


def test_real_fashion_mnist_is_available_offline():
    """From now on the image chapters are tested on the real Fashion-MNIST: in CI its absence is a failure."""
    split = data.load_fashion_mnist(verbose=False)
    if not data.real_source(split):
        message = ("the real Fashion-MNIST was not found in the Keras cache nor in "
                   f"{data.system_data_dir()}/fashion-mnist: install the package dataset-fashion-mnist")
        if os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}:
            pytest.fail(message)
        pytest.skip(message)
    assert split.x_train.shape == (60000, 28, 28) and split.x_test.shape == (10000, 28, 28)
    assert split.x_train.dtype == np.uint8
    assert split.y_train[:10].tolist() == FASHION_FIRST_LABELS
    assert np.bincount(split.y_test).tolist() == [1000] * 10
    assert split.class_names == data.FASHION_NAMES


@pytest.mark.parametrize("value, allowed", [("1", False), ("true", False), ("", True), ("0", True)])
def test_downloads_allowed_reads_the_environment(monkeypatch, value, allowed):
    monkeypatch.setenv("TFCOURSE_OFFLINE", value)
    assert data.downloads_allowed() is allowed


def test_is_cached_looks_in_keras_home(tmp_path, monkeypatch):
    use_keras_home(monkeypatch, tmp_path)
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
