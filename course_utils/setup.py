"""Start-up for every chapter: quiet logs, reproducible seeds and a one-line environment report."""

from __future__ import annotations

import logging
import os
import platform
import warnings

#: The TensorFlow C++ log level the course uses: 2 hides INFO and WARNING lines, keeps errors.
TF_LOG_LEVEL = "2"


def quiet_tensorflow() -> None:
    """Keep TensorFlow's start-up and runtime chatter off standard error.

    nbgrader scores a test cell 0 when it writes anything to standard error, so the course hides
    TensorFlow's INFO and WARNING lines. oneDNN stays enabled: it makes convolutions faster on CPU.
    This must run before TensorFlow is imported to silence the C++ start-up lines.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", TF_LOG_LEVEL)
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    logging.getLogger("absl").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", category=DeprecationWarning)


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
    import keras
    import tensorflow as tf

    tf.get_logger().setLevel(logging.ERROR)
    keras.utils.set_random_seed(seed)
    text = environment_report()
    if report:
        print(text)
    return text
