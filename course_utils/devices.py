"""Devices: list them, split the CPU into logical devices, and measure how fast a model runs on them.

TensorFlow sets up its devices once per process, when its runtime starts. The runtime starts the
first time something needs it: running an operation, creating a tensor or a variable, or listing
the *logical* devices. Listing the *physical* devices does not start it. Everything that changes
the device set-up (splitting a device into logical devices, GPU memory growth, visible devices)
must therefore happen before that moment; :func:`split_cpu` and :func:`enable_gpu_memory_growth`
say so clearly, and how to recover, when it is too late.

Like the rest of :mod:`course_utils`, this module imports TensorFlow only inside the functions that
need it, so importing it is cheap and never starts the runtime.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Mapping
from typing import Any

import numpy as np

#: What to do when TensorFlow's device set-up can no longer change.
RESTART_ADVICE = (
    "restart the kernel (Kernel > Restart Kernel... in Jupyter, or start a new Python process) and "
    "run the Setup cell first, before any other cell that uses TensorFlow"
)


class DeviceConfigurationError(RuntimeError):
    """The device set-up cannot change any more because TensorFlow's runtime has already started."""


def has_gpu() -> bool:
    """Return True when TensorFlow can see at least one GPU.

    Listing physical devices does not start TensorFlow's runtime, so this is safe to call before
    :func:`split_cpu` or :func:`enable_gpu_memory_growth`.
    """
    import tensorflow as tf

    return bool(tf.config.list_physical_devices("GPU"))


def short_name(device: str) -> str:
    """Shorten a TensorFlow device name to its type and index.

    Parameters
    ----------
    device : str
        A full name such as ``"/job:localhost/replica:0/task:0/device:CPU:1"``, a logical device
        name such as ``"/device:GPU:0"`` or a physical one such as ``"/physical_device:CPU:0"``.

    Returns
    -------
    str
        For example ``"CPU:1"``; an empty string for an empty name (a tensor with no device yet).

    Examples
    --------
    >>> short_name("/job:localhost/replica:0/task:0/device:CPU:1")
    'CPU:1'
    """
    if not device:
        return ""
    last = device.rstrip("/").split("/")[-1]
    for prefix in ("device:", "physical_device:"):
        if last.startswith(prefix):
            last = last[len(prefix):]
    parts = last.split(":")
    if len(parts) >= 2:
        return f"{parts[-2].upper()}:{parts[-1]}"
    return last.upper()


def logical_device_names(device_type: str = "CPU") -> list[str]:
    """Return the names of the logical devices of one type, e.g. ``["/device:CPU:0", ...]``.

    Parameters
    ----------
    device_type : str
        ``"CPU"`` or ``"GPU"``.

    Notes
    -----
    Listing logical devices starts TensorFlow's runtime: after this call, the device set-up is fixed.
    """
    import tensorflow as tf

    return [device.name for device in tf.config.list_logical_devices(device_type)]


def split_cpu(num_devices: int) -> list[str]:
    """Split the physical CPU into ``num_devices`` logical CPU devices.

    The logical devices share the same cores and memory, so they make nothing faster; they let
    code written for several accelerators, such as ``tf.distribute.MirroredStrategy``, run for real
    on a laptop. Call this before TensorFlow's runtime starts (right after the imports).

    Parameters
    ----------
    num_devices : int
        How many logical CPUs to create, at least 1.

    Returns
    -------
    list of str
        The names of the logical CPU devices, ``["/device:CPU:0", "/device:CPU:1", ...]``. The call
        itself does not start the runtime, so other device settings may follow it.

    Raises
    ------
    ValueError
        When ``num_devices`` is not a positive integer.
    DeviceConfigurationError
        When the runtime has already started with a different number of logical CPUs. Calling
        again with the number already in place (re-running a Setup cell) is fine.
    """
    if isinstance(num_devices, bool) or not isinstance(num_devices, (int, np.integer)) or num_devices < 1:
        raise ValueError(f"num_devices must be a positive integer, got {num_devices!r}")
    num_devices = int(num_devices)
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    configurations = [tf.config.LogicalDeviceConfiguration() for _ in range(num_devices)]
    try:
        tf.config.set_logical_device_configuration(cpu, configurations)
    except RuntimeError as error:
        current = logical_device_names("CPU")
        if len(current) == num_devices:
            return current
        raise DeviceConfigurationError(
            f"Cannot split the CPU into {num_devices} logical devices: TensorFlow's runtime has already "
            f"started with {len(current)} logical CPU device(s), and its devices are fixed once it runs. "
            f"To change them, {RESTART_ADVICE}."
        ) from error
    # Listing the logical devices would start the runtime; their names are known without it, which
    # leaves room for more set-up (GPU memory growth, visible devices) after this call.
    return [f"/device:CPU:{index}" for index in range(num_devices)]


def enable_gpu_memory_growth() -> list[str]:
    """Let TensorFlow take GPU memory as it needs it instead of reserving nearly all of it at start.

    Without memory growth, the first operation on a GPU reserves almost all of its memory for this
    process, so a second notebook or program cannot use the same GPU. With it, the process starts
    small and grows (memory is never given back before the process ends).

    Returns
    -------
    list of str
        The physical GPUs now set to grow their memory; empty on a machine without a GPU.

    Raises
    ------
    DeviceConfigurationError
        When the runtime has already started with memory growth off.
    """
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    for gpu in gpus:
        try:
            tf.config.experimental.set_memory_growth(gpu, True)
        except RuntimeError as error:
            raise DeviceConfigurationError(
                f"Cannot turn on memory growth for {gpu.name}: TensorFlow's runtime has already started "
                f"and has reserved its GPU memory. To change it, {RESTART_ADVICE}."
            ) from error
    return [gpu.name for gpu in gpus]


def _gpu_details(gpu) -> str:
    import tensorflow as tf

    details = tf.config.experimental.get_device_details(gpu)
    parts = [details.get("device_name", "GPU")]
    if "compute_capability" in details:
        major, minor = details["compute_capability"]
        parts.append(f"compute capability {major}.{minor}")
    growth = tf.config.experimental.get_memory_growth(gpu)
    parts.append(f"memory growth {'on' if growth else 'off'}")
    return ", ".join(parts)


def device_rows() -> list[dict[str, str]]:
    """Describe every physical and logical device, one dictionary per device.

    Returns
    -------
    list of dict
        Keys ``"kind"`` (``"physical"`` or ``"logical"``), ``"type"`` (``"CPU"``, ``"GPU"``...),
        ``"name"`` (TensorFlow's name) and ``"details"`` (for a physical CPU, how many logical devices
        it is split into; for a GPU, its model, compute capability and memory growth state).

    Notes
    -----
    Listing logical devices starts TensorFlow's runtime.
    """
    import tensorflow as tf

    physical = tf.config.list_physical_devices()
    logical = tf.config.list_logical_devices()
    rows = []
    for device in physical:
        if device.device_type == "GPU":
            details = _gpu_details(device)
        elif device.device_type == "CPU":
            count = sum(1 for item in logical if item.device_type == "CPU")
            details = f"{os.cpu_count()} cores, {count} logical device{'s' if count != 1 else ''}"
        else:
            details = ""
        rows.append({"kind": "physical", "type": device.device_type, "name": device.name, "details": details})
    for device in logical:
        rows.append({"kind": "logical", "type": device.device_type, "name": device.name, "details": ""})
    return rows


def device_table() -> str:
    """Return a readable table of the physical and logical devices (see :func:`device_rows`).

    Returns
    -------
    str
        One line per device under a header, ready to ``print``.

    Notes
    -----
    Listing logical devices starts TensorFlow's runtime: call :func:`split_cpu` and
    :func:`enable_gpu_memory_growth` first.
    """
    rows = device_rows()
    widths = {key: max(len(key), *(len(row[key]) for row in rows)) for key in ("kind", "type", "name")}
    lines = [f"{'kind':<{widths['kind']}}  {'type':<{widths['type']}}  {'name':<{widths['name']}}  details"]
    lines.append("-" * (len(lines[0]) + 20))
    for row in rows:
        lines.append(f"{row['kind']:<{widths['kind']}}  {row['type']:<{widths['type']}}  "
                     f"{row['name']:<{widths['name']}}  {row['details']}".rstrip())
    return "\n".join(lines)


def _batch_clock(hook: str):
    """Return a Keras callback that records ``(batch index, time)`` at the end of every batch of ``hook``."""
    import keras

    class BatchClock(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.records = []

        def on_train_batch_end(self, batch, logs=None):
            if hook == "train":
                self.records.append((batch, time.perf_counter()))

        def on_predict_batch_end(self, batch, logs=None):
            if hook == "predict":
                self.records.append((batch, time.perf_counter()))

    return BatchClock()


def measure_throughput(model, x, y=None, batch_size: int = 256, mode: str = "fit",
                       warmup_steps: int = 3, repeats: int = 1) -> float:
    """Measure how many examples per second a model trains on (or predicts), in the steady state.

    The first batches of a run are slow for reasons that have nothing to do with the device:
    TensorFlow traces and optimizes the step function, and the input pipeline starts. So the model
    runs one epoch (``mode="fit"``) or one pass of predictions (``mode="predict"``) over ``x``, and
    only the batches after the first ``warmup_steps`` are timed. With ``repeats`` above 1 it does
    this several times and keeps the best rate, which is the one least disturbed by other programs.

    Parameters
    ----------
    model : keras.Model
        A model; compiled when ``mode="fit"``. Training changes its weights.
    x, y : numpy.ndarray
        Inputs and targets (``y`` only for ``mode="fit"``). Together they must make more than
        ``warmup_steps + 1`` batches.
    batch_size : int
        The (global) batch size.
    mode : {"fit", "predict"}
        Time ``model.fit`` (forward and backward passes, weight updates) or ``model.predict``
        (forward passes only).
    warmup_steps : int
        Batches run before the clock starts, at least 1.
    repeats : int
        How many timed runs to make, at least 1; the best one counts.

    Returns
    -------
    float
        Examples per second over the timed batches (of the best run).

    Raises
    ------
    ValueError
        For an unknown mode, a missing ``y``, or too few batches to time.
    RuntimeError
        When Keras reported too few batches to time (a large ``steps_per_execution``).
    """
    if mode not in ("fit", "predict"):
        raise ValueError(f"mode must be 'fit' or 'predict', got {mode!r}")
    if mode == "fit" and y is None:
        raise ValueError("mode='fit' needs the targets y")
    if warmup_steps < 1:
        raise ValueError(f"warmup_steps must be at least 1, got {warmup_steps}")
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1, got {repeats}")
    num_examples = len(x)
    num_batches = -(-num_examples // batch_size)
    if num_batches < warmup_steps + 2:
        raise ValueError(
            f"{num_examples} examples make {num_batches} batches of {batch_size}, too few to time after "
            f"{warmup_steps} warm-up batches: use at least {(warmup_steps + 2) * batch_size} examples")
    return max(_timed_run(model, x, y, batch_size, mode, warmup_steps) for _ in range(repeats))


def _timed_run(model, x, y, batch_size: int, mode: str, warmup_steps: int) -> float:
    """Run one epoch of fit (or one pass of predict) and return the examples per second after the warm-up."""
    if mode == "fit":
        clock = _batch_clock("train")
        model.fit(x, y, batch_size=batch_size, epochs=1, verbose=0, callbacks=[clock])
    else:
        clock = _batch_clock("predict")
        model.predict(x, batch_size=batch_size, verbose=0, callbacks=[clock])
    # With steps_per_execution > 1, Keras reports only every few batches: start at the first report
    # at or after the warm-up, and count the examples between the two reports.
    timed = [(batch, moment) for batch, moment in clock.records if batch >= warmup_steps - 1]
    if len(timed) < 2:
        raise RuntimeError("too few batches were reported to time the run: lower warmup_steps or "
                           "steps_per_execution, or pass more examples")
    (first_batch, start), (last_batch, end) = timed[0], timed[-1]
    timed_examples = min(len(x), (last_batch + 1) * batch_size) - (first_batch + 1) * batch_size
    return timed_examples / (end - start)


def throughput_table(results: Mapping[str, float], baseline: str | None = None) -> str:
    """Format throughputs as a table with the speed of each configuration relative to a baseline.

    Parameters
    ----------
    results : mapping of str to float
        Examples per second for each configuration, in the order to show them.
    baseline : str, optional
        The configuration the others are compared with; the first one by default.

    Returns
    -------
    str
        The table, ready to ``print``.
    """
    if not results:
        raise ValueError("no results to show")
    names = list(results)
    baseline = names[0] if baseline is None else baseline
    if baseline not in results:
        raise ValueError(f"baseline {baseline!r} is not one of the configurations {names}")
    reference = float(results[baseline])
    width = max(len("configuration"), *(len(name) for name in names))
    lines = [f"{'configuration':<{width}}  {'examples/s':>11}  {'relative':>8}"]
    lines.append("-" * len(lines[0]))
    for name in names:
        value = float(results[name])
        lines.append(f"{name:<{width}}  {value:>11,.0f}  {value / reference:>7.2f}x")
    return "\n".join(lines)


def run_in_fresh_process(code: str, timeout: float = 180.0, env: Mapping[str, str] | None = None) -> str:
    """Run Python code in a new interpreter, with a TensorFlow runtime of its own, and return its output.

    Some settings (placement logging, visible devices, memory growth, logical devices) only take
    effect before TensorFlow's runtime starts. A fresh process lets a notebook whose runtime is
    already running show them anyway.

    Parameters
    ----------
    code : str
        The Python source to run.
    timeout : float
        Seconds to wait before giving up.
    env : mapping of str to str, optional
        Extra environment variables. ``TF_CPP_MIN_LOG_LEVEL`` defaults to this process's value or
        ``"2"``.

    Returns
    -------
    str
        What the process printed: standard output, then standard error if it wrote any.

    Raises
    ------
    RuntimeError
        When the code fails, with its output.
    """
    environment = dict(os.environ)
    environment.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    environment.update(env or {})
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout,
                               env=environment)
    output = completed.stdout + (completed.stderr if completed.stderr.strip() else "")
    if completed.returncode != 0:
        raise RuntimeError(f"the code failed with exit status {completed.returncode}:\n{output}")
    return output


def describe_strategy(strategy: Any) -> str:
    """Summarize a ``tf.distribute`` strategy in one line: its class, replica count and devices.

    Parameters
    ----------
    strategy : tf.distribute.Strategy
        For example a ``MirroredStrategy``.

    Returns
    -------
    str
        For example ``"MirroredStrategy: 2 replicas on CPU:0, CPU:1"``; the default strategy (what
        ``tf.distribute.get_strategy()`` returns outside any scope) is described as such.
    """
    count = strategy.num_replicas_in_sync
    try:
        devices = [short_name(device) for device in strategy.extended.worker_devices]
    except RuntimeError:  # The default strategy (no distribution) has no device list of its own.
        return "default strategy (no distribution): 1 replica on the default device"
    return f"{type(strategy).__name__}: {count} replica{'s' if count != 1 else ''} on {', '.join(devices)}"
