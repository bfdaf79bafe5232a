"""Tests for course_utils.setup."""

import os

import numpy as np

from course_utils import setup


def test_quiet_tensorflow_sets_the_log_level(monkeypatch):
    monkeypatch.delenv("TF_CPP_MIN_LOG_LEVEL", raising=False)
    setup.quiet_tensorflow()
    assert os.environ["TF_CPP_MIN_LOG_LEVEL"] == setup.TF_LOG_LEVEL


def test_init_reports_versions_and_devices(capsys):
    import keras
    import tensorflow as tf

    report = setup.init(seed=1)
    printed = capsys.readouterr()
    assert report in printed.out
    assert f"TensorFlow {tf.__version__}" in report
    assert f"Keras {keras.__version__}" in report
    assert "GPU:" in report and "CPU:" in report
    assert printed.err == ""


def test_init_makes_random_numbers_repeat():
    import tensorflow as tf

    setup.init(seed=7, report=False)
    first = (tf.random.uniform((4,)).numpy(), np.random.rand(4))
    setup.init(seed=7, report=False)
    second = (tf.random.uniform((4,)).numpy(), np.random.rand(4))
    np.testing.assert_array_equal(first[0], second[0])
    np.testing.assert_array_equal(first[1], second[1])
