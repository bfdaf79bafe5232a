"""Start-up for every chapter: quiet logs, reproducible seeds and a one-line environment report."""

from __future__ import annotations

import contextlib
import io
import logging
import os
import platform
import sys
import tempfile
import warnings
from collections.abc import Iterator

#: The TensorFlow C++ log level the course uses: 2 hides INFO and WARNING lines, keeps errors.
TF_LOG_LEVEL = "2"


def quiet_tensorflow() -> None:
    """Keep TensorFlow's start-up and runtime chatter off standard error.

    nbgrader scores a test cell 0 when it writes anything to standard error, so the course hides
    TensorFlow's INFO and WARNING lines. oneDNN stays enabled: it makes convolutions faster on CPU.
    This must run before TensorFlow is imported; the few lines TensorFlow writes while it loads,
    before these settings apply, are held back by :func:`captured_stderr` in :func:`init`.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", TF_LOG_LEVEL)
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    logging.getLogger("absl").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", category=DeprecationWarning)


class StartupLog:
    """What TensorFlow wrote to standard error while it loaded (see :func:`captured_stderr`)."""

    def __init__(self) -> None:
        self.text = ""


@contextlib.contextmanager
def captured_stderr() -> Iterator[StartupLog]:
    """Hold back everything written to standard error, by Python or by C++ code, until the block ends.

    TensorFlow 2.21 writes a few lines to the process's standard error while it loads (``All log
    messages before absl::InitializeLog() ...`` and the oneDNN notice), before its log settings take
    effect, so ``TF_CPP_MIN_LOG_LEVEL`` cannot hide them, and JupyterLab shows them as a red box. This
    points file descriptor 2 and ``sys.stderr`` at a temporary file for the duration of the block and
    puts them back afterwards. If the block raises, what was captured is written to standard error
    before the exception goes on, so a failed load still shows its reason; otherwise it is dropped
    (and kept in the yielded :class:`StartupLog`).

    Yields
    ------
    StartupLog
        Its ``text`` holds what was captured once the block has ended.
    """
    log = StartupLog()
    python_stream = io.StringIO()
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        failed = False
        try:
            with contextlib.redirect_stderr(python_stream):
                yield log
        except BaseException:
            failed = True
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            log.text = capture.read().decode("utf-8", "replace") + python_stream.getvalue()
            if failed and log.text:
                sys.stderr.write(log.text)
                sys.stderr.flush()


def environment_report() -> str:
    """Describe the software and devices in one line.

    Returns
    -------
    str
        For example ``"TensorFlow 2.21.0 | Keras 3.15.1 | Python 3.11.7 | CPU: 2 cores | GPU: none"``.
    """
    import keras
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        names = []
        for gpu in gpus:
            details = tf.config.experimental.get_device_details(gpu)
            names.append(details.get("device_name", gpu.name))
        gpu_text = f"{len(gpus)} ({', '.join(names)})"
    else:
        gpu_text = "none"
    return (
        f"TensorFlow {tf.__version__} | Keras {keras.__version__} | "
        f"Python {platform.python_version()} | CPU: {os.cpu_count()} cores | GPU: {gpu_text}"
    )


def init(seed: int = 42, report: bool = True) -> str:
    """Prepare a notebook: quiet TensorFlow, seed Python, NumPy and TensorFlow, report devices.

    Parameters
    ----------
    seed : int
        The seed given to :func:`keras.utils.set_random_seed`, which seeds Python's ``random``,
        NumPy and TensorFlow together.
    report : bool
        Print the environment report when true.

    Returns
    -------
    str
        The environment report.
    """
    quiet_tensorflow()
    # Loading TensorFlow writes start-up lines that its log level cannot hide: hold them back, and show
    # them only if loading fails. Nothing here may start TensorFlow's runtime (chapter 12 configures
    # the devices after this call).
    with captured_stderr():
        import keras
        import tensorflow as tf

        tf.get_logger().setLevel(logging.ERROR)
        keras.utils.set_random_seed(seed)
        text = environment_report()
    if report:
        print(text)
    return text
