"""Tests for course_utils.setup."""

import os
import re
import sys

import nbformat
import numpy as np
import pytest
from nbclient import NotebookClient

from course_utils import setup
from tests.conftest import REPO

#: The one line the Setup cell prints (see :func:`course_utils.setup.environment_report`).
REPORT = r"TensorFlow \S+ \| Keras \S+ \| Python \S+ \| CPU: \d+ cores \| GPU: .+\n"


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


def test_captured_stderr_holds_back_python_and_c_level_writes(capfd):
    with setup.captured_stderr() as log:
        os.write(2, b"written to file descriptor 2\n")
        print("written to sys.stderr", file=sys.stderr)
    assert capfd.readouterr().err == ""
    assert "written to file descriptor 2" in log.text
    assert "written to sys.stderr" in log.text


def test_captured_stderr_shows_what_it_held_back_when_the_block_fails(capfd):
    with pytest.raises(ImportError, match="no such module"):
        with setup.captured_stderr():
            os.write(2, b"the reason loading failed\n")
            raise ImportError("no such module")
    assert "the reason loading failed" in capfd.readouterr().err


def test_captured_stderr_puts_standard_error_back(capfd):
    with setup.captured_stderr():
        pass
    os.write(2, b"after the block\n")
    assert capfd.readouterr().err == "after the block\n"


def test_setup_cell_of_a_fresh_kernel_shows_only_the_environment_report():
    """Chapter 1's Setup cell, run as a learner runs it: its outputs, unfiltered, are one line on stdout.

    The kernel gets no ``TF_CPP_MIN_LOG_LEVEL``, as in a Jupyter started without ``make lab``, and no
    ``PYTEST_CURRENT_TEST``, with which ipykernel would stop forwarding what C++ code writes to file
    descriptor 2 (and the test would pass without the capture).
    """
    environment = {name: value for name, value in os.environ.items()
                   if name not in ("TF_CPP_MIN_LOG_LEVEL", "PYTEST_CURRENT_TEST")}
    release = nbformat.read(REPO / "course" / "01_tensors" / "01_tensors.ipynb", as_version=4)
    setup_cell = next(cell for cell in release.cells if cell.cell_type == "code")
    assert "setup.init(" in setup_cell.source
    notebook = nbformat.v4.new_notebook(cells=[setup_cell], metadata=release.metadata)
    NotebookClient(notebook, timeout=120, kernel_name="python3").execute(cwd=str(REPO / "course" / "01_tensors"),
                                                                         env=environment)
    outputs = notebook.cells[0].outputs
    assert [(output.output_type, output.get("name")) for output in outputs] == [("stream", "stdout")], outputs
    assert re.fullmatch(REPORT, outputs[0].text), outputs[0].text
