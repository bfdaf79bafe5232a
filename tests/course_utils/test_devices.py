"""Tests for course_utils.devices.

Splitting the CPU or turning on GPU memory growth only works before TensorFlow's runtime starts, and
the runtime starts once per process, so those tests run their code in a fresh Python process.
"""

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from course_utils import devices

REPO = Path(__file__).resolve().parents[2]


#: What TensorFlow's C++ runtime prints when it loads, on some CPUs, whatever TF_CPP_MIN_LOG_LEVEL says:
#: absl's note that logging is not set up yet, and the notice that oneDNN's custom operations are on.
RUNTIME_NOTICE = re.compile(r"WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
                            r"|I\d{4} [\d:. ]+\d+ port\.cc:\d+\] oneDNN custom operations are on\..*")


def unexpected_stderr(stderr: str) -> list[str]:
    """Return the lines of ``stderr`` other than TensorFlow's load-time notices (warnings, errors)."""
    return [line for line in stderr.splitlines() if line.strip() and not RUNTIME_NOTICE.fullmatch(line)]


def test_only_load_time_notices_are_ignored():
    notices = ("WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
               "I0000 00:00:1796378949.627481   12543 port.cc:153] oneDNN custom operations are on. You may see "
               "slightly different numerical results.\n")
    assert unexpected_stderr(notices) == []
    warning = "UserWarning: the CPU was already split"
    assert unexpected_stderr(notices + warning + "\n") == [warning]


def run_fresh(code: str) -> subprocess.CompletedProcess:
    """Run code in a new interpreter that imports this checkout's course_utils."""
    environment = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    environment["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), environment.get("PYTHONPATH")]))
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          timeout=300, env=environment, cwd=REPO)


def small_model(policy: str = "float32"):
    import keras
    from keras import layers

    keras.utils.set_random_seed(0)
    inputs = keras.Input(shape=(8,))
    hidden = layers.Dense(16, activation="relu", dtype=policy)(inputs)
    outputs = layers.Dense(3, activation="softmax", dtype="float32")(hidden)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    return model


def small_data(num_examples: int = 640):
    rng = np.random.default_rng(0)
    return rng.normal(size=(num_examples, 8)).astype("float32"), rng.integers(0, 3, size=num_examples)


@pytest.mark.parametrize("name, expected", [
    ("/job:localhost/replica:0/task:0/device:CPU:1", "CPU:1"),
    ("/device:GPU:0", "GPU:0"),
    ("/physical_device:CPU:0", "CPU:0"),
    ("/job:localhost/replica:0/task:0/device:gpu:3", "GPU:3"),
    ("CPU:2", "CPU:2"),
    ("/CPU:0", "CPU:0"),
    ("", ""),
])
def test_short_name(name, expected):
    assert devices.short_name(name) == expected


def test_importing_the_module_does_not_import_tensorflow():
    completed = run_fresh("""
        import sys
        from course_utils import devices
        print("tensorflow" in sys.modules)
    """)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == "False"


def test_has_gpu_agrees_with_tensorflow():
    import tensorflow as tf

    assert devices.has_gpu() == bool(tf.config.list_physical_devices("GPU"))


@pytest.mark.parametrize("bad", [0, -1, 2.5, "2", True, None])
def test_split_cpu_rejects_bad_counts(bad):
    with pytest.raises(ValueError, match="positive integer"):
        devices.split_cpu(bad)


def test_split_cpu_and_memory_growth_in_a_fresh_process():
    completed = run_fresh("""
        from course_utils import devices, setup
        setup.init(seed=0, report=False)  # Lists physical devices only: the split must still work.
        import tensorflow as tf
        print("first", devices.split_cpu(2))
        names = devices.split_cpu(3)  # split_cpu does not start the runtime: this still works...
        gpus = devices.enable_gpu_memory_growth()  # ...and so does memory growth.
        physical_gpus = tf.config.list_physical_devices("GPU")
        print("gpus", gpus == [gpu.name for gpu in physical_gpus])
        print("names", names)
        print("listed", devices.logical_device_names("CPU") == names)
        print("growth", all(tf.config.experimental.get_memory_growth(gpu) for gpu in physical_gpus))
        print("growth-again", devices.enable_gpu_memory_growth() == gpus)  # Harmless when already on.
        print("again", devices.split_cpu(3) == names)  # Re-running a Setup cell is harmless.
        with tf.device("/CPU:2"):
            product = tf.matmul(tf.ones((2, 2)), tf.ones((2, 2)))
        print("placed", devices.short_name(product.device))
        try:
            devices.split_cpu(2)
        except devices.DeviceConfigurationError as error:
            print("error", isinstance(error, RuntimeError), "|", error)
    """)
    assert completed.returncode == 0, completed.stderr
    lines = dict(line.split(" ", 1) for line in completed.stdout.strip().splitlines())
    assert lines["gpus"] == lines["growth"] == lines["growth-again"] == "True"
    assert lines["first"] == "['/device:CPU:0', '/device:CPU:1']"
    assert lines["names"] == "['/device:CPU:0', '/device:CPU:1', '/device:CPU:2']"
    assert lines["listed"] == "True"
    assert lines["again"] == "True"
    assert lines["placed"] == "CPU:2"
    assert lines["error"].startswith("True |")
    assert "restart the kernel" in lines["error"] and "3 logical CPU" in lines["error"]
    assert unexpected_stderr(completed.stderr) == []


def test_split_cpu_into_one_device_after_the_runtime_started_is_accepted():
    completed = run_fresh("""
        from course_utils import devices
        import tensorflow as tf
        tf.constant(1.0)  # Starts the runtime with one logical CPU.
        print(devices.split_cpu(1))
    """)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == "['/device:CPU:0']"


def test_device_table_lists_physical_and_logical_devices():
    import tensorflow as tf

    table = devices.device_table()
    lines = table.splitlines()
    assert lines[0].split() == ["kind", "type", "name", "details"]
    assert "/physical_device:CPU:0" in table and "/device:CPU:0" in table
    assert f"{os.cpu_count()} cores" in table
    rows = devices.device_rows()
    assert {row["kind"] for row in rows} == {"physical", "logical"}
    assert sum(row["kind"] == "logical" for row in rows) == len(tf.config.list_logical_devices())
    assert len(lines) == 2 + len(rows)


def test_logical_device_names():
    import tensorflow as tf

    assert devices.logical_device_names("CPU") == [device.name for device in tf.config.list_logical_devices("CPU")]
    assert devices.logical_device_names("GPU") == [device.name for device in tf.config.list_logical_devices("GPU")]


def test_measure_throughput_fit_trains_and_returns_a_rate(capsys):
    model = small_model()
    x, y = small_data()
    before = [weight.numpy().copy() for weight in model.weights]
    rate = devices.measure_throughput(model, x, y, batch_size=64)
    assert isinstance(rate, float) and rate > 0
    assert any(not np.array_equal(old, new.numpy()) for old, new in zip(before, model.weights))
    assert capsys.readouterr().err == ""


def test_measure_throughput_predict_leaves_the_weights_alone():
    model = small_model()
    x, _ = small_data()
    before = [weight.numpy().copy() for weight in model.weights]
    rate = devices.measure_throughput(model, x, batch_size=64, mode="predict", warmup_steps=2)
    assert rate > 0
    assert all(np.array_equal(old, new.numpy()) for old, new in zip(before, model.weights))


def test_measure_throughput_keeps_the_best_of_several_runs(monkeypatch):
    rates = iter([10.0, 30.0, 20.0])
    monkeypatch.setattr(devices, "_timed_run", lambda *args: next(rates))
    x, y = small_data()
    assert devices.measure_throughput(small_model(), x, y, batch_size=64, repeats=3) == 30.0


def test_measure_throughput_handles_a_partial_last_batch():
    model = small_model()
    x, y = small_data(600)  # 9 full batches of 64 and one of 24.
    assert devices.measure_throughput(model, x, y, batch_size=64, warmup_steps=1) > 0


def test_measure_throughput_with_steps_per_execution():
    model = small_model()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", steps_per_execution=4)
    x, y = small_data(12 * 64)  # Keras reports batches 3, 7 and 11 only.
    assert devices.measure_throughput(model, x, y, batch_size=64) > 0


@pytest.mark.parametrize("kwargs, message", [
    ({"mode": "evaluate"}, "mode must be"),
    ({"mode": "fit", "y": None}, "needs the targets"),
    ({"warmup_steps": 0}, "at least 1"),
    ({"repeats": 0}, "repeats must be at least 1"),
    ({"batch_size": 256}, "too few to time"),
])
def test_measure_throughput_rejects_bad_arguments(kwargs, message):
    x, y = small_data()
    arguments = {"x": x, "y": y, "batch_size": 64}
    arguments.update(kwargs)
    with pytest.raises(ValueError, match=message):
        devices.measure_throughput(small_model(), **arguments)


def test_throughput_table_compares_with_the_first_configuration():
    table = devices.throughput_table({"one device": 1000.0, "two replicas": 1500.0, "mixed": 500.0})
    lines = table.splitlines()
    assert lines[0].split() == ["configuration", "examples/s", "relative"]
    assert lines[2].split()[-2:] == ["1,000", "1.00x"]
    assert lines[3].split()[-2:] == ["1,500", "1.50x"]
    assert lines[4].split()[-2:] == ["500", "0.50x"]


def test_throughput_table_with_a_chosen_baseline():
    table = devices.throughput_table({"a": 1000.0, "b": 2000.0}, baseline="b")
    assert table.splitlines()[2].endswith("0.50x")
    with pytest.raises(ValueError, match="baseline"):
        devices.throughput_table({"a": 1.0}, baseline="missing")
    with pytest.raises(ValueError, match="no results"):
        devices.throughput_table({})


def test_run_in_fresh_process_returns_the_output():
    output = devices.run_in_fresh_process("import os\nprint('level', os.environ['TF_CPP_MIN_LOG_LEVEL'])",
                                          env={"TF_CPP_MIN_LOG_LEVEL": "3"})
    assert output.strip() == "level 3"


def test_run_in_fresh_process_reports_failures():
    with pytest.raises(RuntimeError, match="exit status 1") as raised:
        devices.run_in_fresh_process("raise SystemExit('something broke')")
    assert "something broke" in str(raised.value)


def test_describe_strategy():
    import tensorflow as tf

    assert devices.describe_strategy(tf.distribute.get_strategy()).startswith("default strategy (no distribution)")
    strategy = tf.distribute.OneDeviceStrategy("/CPU:0")
    assert devices.describe_strategy(strategy) == "OneDeviceStrategy: 1 replica on CPU:0"


def test_mirrored_strategy_on_logical_cpus_trains_in_a_fresh_process():
    completed = run_fresh("""
        from course_utils import devices, setup
        setup.init(seed=0, report=False)
        import numpy as np
        import tensorflow as tf
        import keras
        names = devices.split_cpu(2)
        strategy = tf.distribute.MirroredStrategy(names, cross_device_ops=tf.distribute.ReductionToOneDevice())
        print(devices.describe_strategy(strategy))
        with strategy.scope():
            inputs = keras.Input(shape=(4,))
            model = keras.Model(inputs, keras.layers.Dense(1)(inputs))
            model.compile(optimizer="sgd", loss="mse")
        x = np.random.default_rng(0).normal(size=(256, 4)).astype("float32")
        rate = devices.measure_throughput(model, x, x.sum(axis=1, keepdims=True), batch_size=32)
        copies = [copy.numpy() for copy in model.layers[1].kernel.value.values]
        print(rate > 0, np.array_equal(copies[0], copies[1]))
    """)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.splitlines() == ["MirroredStrategy: 2 replicas on CPU:0, CPU:1", "True True"]
    assert unexpected_stderr(completed.stderr) == []


@pytest.mark.gpu
def test_gpu_table_shows_memory_growth_in_a_fresh_process():
    completed = run_fresh("""
        from course_utils import devices
        devices.enable_gpu_memory_growth()
        print(devices.device_table())
    """)
    assert completed.returncode == 0, completed.stderr
    assert "memory growth on" in completed.stdout
    assert "/device:GPU:0" in completed.stdout


@pytest.mark.gpu
def test_memory_growth_after_the_runtime_started_explains_the_restart():
    completed = run_fresh("""
        from course_utils import devices
        import tensorflow as tf
        tf.constant(1.0)  # Starts the runtime, which reserves the GPU memory without growth.
        try:
            devices.enable_gpu_memory_growth()
        except devices.DeviceConfigurationError as error:
            print("error:", error)
    """)
    assert completed.returncode == 0, completed.stderr
    assert "error:" in completed.stdout and "restart the kernel" in completed.stdout


@pytest.mark.gpu
def test_measure_throughput_on_the_gpu():
    import tensorflow as tf

    x, y = small_data()
    with tf.device("/GPU:0"):
        model = small_model()
        rate = devices.measure_throughput(model, x, y, batch_size=64)
    assert rate > 0
    assert devices.short_name(model.weights[0].value.device) == "GPU:0"
