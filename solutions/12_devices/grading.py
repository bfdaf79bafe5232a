"""Trusted checks of chapter 12 (see grader/specs.py): device placement, strategies, batch sizes and distributed training."""

import functools

import numpy as np

from grader.checklib import compare_results, same_layers
from grader.specs import FunctionCheck, ModelCheck
from grader.verify import accuracy

# An expression that is None when calling `function` with `arguments` raises a ValueError, and fails
# the export (an AssertionError) when it returns instead. Exceptions cannot be caught in an expression.
RAISES_VALUE_ERROR = "__import__('unittest').TestCase().assertRaises(ValueError, {function}, {arguments})"

# An expression that makes a MirroredStrategy on the first `{count}` logical CPUs, as the tests do.
CPU_STRATEGY = ("tf.distribute.MirroredStrategy(cpu_devices[:{count}], "
                "cross_device_ops=tf.distribute.ReductionToOneDevice())")

# Exercise 2: what a strategy made by make_cpu_strategy is, as plain data.
DESCRIBE_STRATEGY = ("(lambda strategy: [type(strategy).__name__, strategy.num_replicas_in_sync, "
                     "[devices.short_name(device) for device in strategy.extended.worker_devices], "
                     "type(strategy.extended._cross_device_ops).__name__])")

# Exercise 4: a function, defined in a scope of its own in the kernel, that walks through the
# distributed dataset and describes it: whether it is a DistributedDataset, the number of steps, the
# distinct (slices per step, features shape, labels shape) of the steps, whether every example kept
# its label (the labels are the example indices), and whether every step holds a run of consecutive
# examples. A dataset batched before it is shuffled (or not shuffled at all) has only such steps, at
# every seed; the steps of a shuffled dataset are all runs with a probability below 1e-15 for the
# drawn sizes. Asking this of the first step alone would wrongly reject a correct answer shuffled with
# another seed up to 0.17 % of the time (3 examples of 60 in a row), and asking whether it holds the
# first examples would miss whole batches shuffled after batching.
DESCRIBE_BATCHES = '''
def describe(distribute_batches, strategy, x, y, per_replica_batch_size):
    distributed = distribute_batches(strategy, x, y, per_replica_batch_size)
    steps, shapes, paired, consecutive = 0, set(), True, True
    for features, labels in distributed:
        feature_slices = strategy.experimental_local_results(features)
        label_slices = strategy.experimental_local_results(labels)
        for features_slice, labels_slice in zip(feature_slices, label_slices):
            shapes.add(repr((len(feature_slices), len(label_slices), tuple(features_slice.shape), tuple(labels_slice.shape))))
            paired = paired and bool(np.array_equal(features_slice.numpy(), x[labels_slice.numpy()]))
        step_labels = np.sort(np.concatenate([labels_slice.numpy() for labels_slice in label_slices]))
        consecutive = consecutive and step_labels.size > 0 and bool(np.array_equal(step_labels, np.arange(step_labels.min(), step_labels.min() + len(step_labels))))
        steps += 1
    return [isinstance(distributed, tf.distribute.DistributedDataset), steps, sorted(shapes), paired, steps > 0 and consecutive]
'''


def batches_call(count, suffix, index):
    """Return the expression that describes distribute_batches(strategy of ``count`` replicas, ``x<suffix>``, indices, sizes[index])."""
    return ("[exec(" + repr(DESCRIBE_BATCHES) + ", scope := {'tf': tf, 'np': np}), scope['describe'](distribute_batches, "
            + CPU_STRATEGY.format(count=count) + f", x{suffix}, np.arange(len(x{suffix})), int(sizes[{index}]))][-1]")

# Exercises 5 and 6 return trained models, which the verifier checks. What the saved models do not
# record (the strategy's mirrored variables, the loss, the optimizer, the global dtype policy, the
# other configurations of the hidden tests) is checked in the kernel by the calls themselves, with the
# test cells' helpers; a failure there fails the export.
# Both models end in a softmax, so their loss must take probabilities: a SparseCategoricalCrossentropy
# with from_logits=True applies a second softmax, which still trains but is not what the exercise asks.
LOSS_CHECKS = (
    "checks.check_equal({model}.loss in ('sparse_categorical_crossentropy',) or "
    "isinstance({model}.loss, keras.losses.SparseCategoricalCrossentropy), True, "
    "name='{model} is compiled with the sparse_categorical_crossentropy loss'), "
    "checks.check_equal(bool(getattr({model}.loss, 'get_config', dict)().get('from_logits')), False, "
    "name='from_logits of the loss of {model} (its last layer applies a softmax already: leave from_logits=False)'), ")
DISTRIBUTED_MODEL = (
    "[check_mirrored(distributed_classifier, strategy_of_2, name='distributed_classifier'), "
    + LOSS_CHECKS.format(model="distributed_classifier") +
    "hidden := build_distributed_classifier(strategy_3 := " + CPU_STRATEGY.format(count=3) + ", 20, 3), "
    "checks.check_layers(hidden, [('Dense', (None, 64), 20 * 64 + 64), ('Dense', (None, 3), 64 * 3 + 3)], "
    "name='build_distributed_classifier(strategy with 3 replicas, 20, 3)'), "
    "check_mirrored(hidden, strategy_3, name='build_distributed_classifier(strategy with 3 replicas, 20, 3)'), "
    "checks.check_equal(hidden.compiled, True, name='the model of 3 replicas is compiled'), "
    "distributed_classifier][-1]")
MIXED_MODEL = (
    "[checks.check_type(mixed_classifier.optimizer, keras.optimizers.LossScaleOptimizer, "
    "name='the optimizer of mixed_classifier'), "
    + LOSS_CHECKS.format(model="mixed_classifier") +
    "other := build_mixed_precision_classifier(7, 3), policy := keras.mixed_precision.global_policy().name, "
    "keras.mixed_precision.set_global_policy('float32'), "
    "checks.check_equal(policy, 'float32', name='the global policy after build_mixed_precision_classifier(7, 3)'), "
    "check_mixed_classifier(other, 7, 3, name='build_mixed_precision_classifier(7, 3)'), "
    "mixed_classifier][-1]")


def matmul_inputs(rng):
    """Draw two matrices of small integers (exact products on every device) and an order of the 4 logical CPUs.

    Parameters
    ----------
    rng : numpy.random.Generator
        The grader's random generator.

    Returns
    -------
    dict
        ``a`` and ``b``, float32 matrices of compatible random shapes, and ``order``, a permutation of 0-3.
    """
    rows, inner, columns = (int(size) for size in rng.integers(1, 7, size=3))
    return {"a": rng.integers(-3, 4, size=(rows, inner)).astype("float32"),
            "b": rng.integers(-3, 4, size=(inner, columns)).astype("float32"),
            "order": rng.permutation(4)}


def strategy_inputs(rng):
    """Draw a replica count from 1 to 4, and invalid counts below 1 and above 4.

    Parameters
    ----------
    rng : numpy.random.Generator
        The grader's random generator.

    Returns
    -------
    dict
        ``count``, ``low`` (0 or less) and ``high`` (5 or more).
    """
    return {"count": np.int64(rng.integers(1, 5)), "low": np.int64(rng.integers(-3, 1)),
            "high": np.int64(rng.integers(5, 9))}


def batch_size_inputs(rng):
    """Draw replica counts, per-replica batch sizes, and global batch sizes that do not split evenly.

    Parameters
    ----------
    rng : numpy.random.Generator
        The grader's random generator.

    Returns
    -------
    dict
        ``replicas`` (1 to 4, one per strategy of the calls), ``sizes`` (per-replica batch sizes) and
        ``uneven`` (global batch sizes that 3 and 4 replicas cannot split).
    """
    uneven = [3 * int(rng.integers(1, 40)) + int(rng.integers(1, 3)), 4 * int(rng.integers(1, 40)) + int(rng.integers(1, 4))]
    return {"replicas": np.array([1, 2, 3, 4]), "sizes": rng.integers(1, 100, size=4), "uneven": np.array(uneven)}


def batches_inputs(rng):
    """Draw examples of rank 2 and 3 and per-replica batch sizes for distribute_batches.

    Parameters
    ----------
    rng : numpy.random.Generator
        The grader's random generator.

    Returns
    -------
    dict
        ``x`` (float32, 60 to 120 examples of shape (2, 3)), ``x_flat`` (its first column, rank 2) and
        ``sizes``, three per-replica batch sizes.
    """
    count = int(rng.integers(60, 121))
    return {"x": rng.normal(size=(count, 2, 3)).astype("float32"),
            "x_flat": rng.normal(size=(count, 4)).astype("float32"),
            "sizes": rng.integers(3, 12, size=3)}


def same_classifier_layers(model, reference):
    """Check the layer classes, activations and dtype policies of a trained classifier, and its output dtype.

    Parameters
    ----------
    model, reference : keras.Model
        The student's and the solution's models.

    Returns
    -------
    str or None
        Why the layers differ, or None.
    """
    problem = same_layers(model, reference, attributes=("activation", "dtype_policy"))
    if problem:
        return problem
    if model.outputs[0].dtype != reference.outputs[0].dtype:
        return f"the model's output has dtype {model.outputs[0].dtype}, expected {reference.outputs[0].dtype}"
    return None


def check_trained_classifier(model, reference):
    """Check the layers of a trained classifier and its training accuracy of at least 90 % (a hidden test).

    The test accuracy is measured by the check's ``held_out`` and ``threshold``.
    """
    problem = same_classifier_layers(model, reference)
    if problem:
        return problem
    x_train, y_train = digits_split("train")
    train_accuracy = accuracy(model, x_train, y_train)
    if train_accuracy < 0.90:
        return f"the model's training accuracy is {train_accuracy:.4g}, below the target of 0.9"
    return None


@functools.lru_cache(maxsize=2)
def digits_split(which):
    """Return the flattened training or test images of scikit-learn's digits and their labels, as the notebook does.

    Parameters
    ----------
    which : str
        ``"train"`` or ``"test"``.

    Returns
    -------
    tuple of numpy.ndarray
        Images of shape ``(n, 64)`` and integer labels.
    """
    from course_utils import data

    digits = data.load_digits()
    x, y = (digits.x_train, digits.y_train) if which == "train" else (digits.x_test, digits.y_test)
    return x.reshape(len(x), -1), y


def digits_test_set():
    """Return the flattened test images of the digits and their labels (the tests' held-out data)."""
    return digits_split("test")


CHECKS = [
    # Each call returns the product and the short name of the device that computed it. The last call
    # uses the first logical GPU when there is one (the machine is the same for solution and student).
    FunctionCheck("ex1_test",
                  calls=[f"[result := matmul_on(f'/CPU:{{int(order[{index}])}}', a, b), devices.short_name(result.device)]"
                         for index in range(4)]
                  + ["[result := matmul_on((devices.logical_device_names('GPU') + ['/CPU:0'])[0], a, b), "
                     "devices.short_name(result.device)]"],
                  inputs=matmul_inputs,
                  verify=functools.partial(compare_results, rtol=1e-6, atol=1e-6, dtypes=True, labels=[
                      f"[matmul_on(logical CPU number {index + 1} of the grader's order, a, b), its device]"
                      for index in range(4)] + ["[matmul_on(the first GPU, or CPU:0, a, b), its device]"])),
    FunctionCheck("ex2_test",
                  calls=[DESCRIBE_STRATEGY + "(make_cpu_strategy(int(count)))",
                         DESCRIBE_STRATEGY + "(make_cpu_strategy(len(cpu_devices)))",
                         DESCRIBE_STRATEGY + "(make_cpu_strategy(1))",
                         RAISES_VALUE_ERROR.format(function="make_cpu_strategy", arguments="int(low)"),
                         # MirroredStrategy([]) uses every device instead of failing, so a lower bound
                         # that lets 0 through must be caught by this call on every seed.
                         RAISES_VALUE_ERROR.format(function="make_cpu_strategy", arguments="0"),
                         RAISES_VALUE_ERROR.format(function="make_cpu_strategy", arguments="int(high)")],
                  inputs=strategy_inputs,
                  verify=functools.partial(compare_results, rtol=1e-6, atol=1e-6, dtypes=True, labels=[
                      "[the class, replicas, devices and cross_device_ops of make_cpu_strategy(count)]",
                      "[the class, replicas, devices and cross_device_ops of make_cpu_strategy(len(cpu_devices))]",
                      "[the class, replicas, devices and cross_device_ops of make_cpu_strategy(1)]",
                      "make_cpu_strategy(a count below 1) raising a ValueError",
                      "make_cpu_strategy(0) raising a ValueError",
                      "make_cpu_strategy(a count above the number of logical CPUs) raising a ValueError"])),
    # Each call returns the value and whether it is a Python int.
    FunctionCheck("ex3_test",
                  calls=[f"[value := {function}({CPU_STRATEGY.format(count=f'int(replicas[{index}])')}, {size}), "
                         "isinstance(value, int)]"
                         for index in range(4)
                         for function, size in [("compute_global_batch_size", f"int(sizes[{index}])"),
                                                ("compute_per_replica_batch_size",
                                                 f"int(sizes[{index}] * replicas[{index}])")]]
                  + [RAISES_VALUE_ERROR.format(function="compute_per_replica_batch_size",
                                               arguments=CPU_STRATEGY.format(count=count) + f", int(uneven[{index}])")
                     for index, count in enumerate([3, 4])],
                  inputs=batch_size_inputs,
                  verify=functools.partial(compare_results, rtol=1e-6, atol=1e-6, dtypes=True, labels=[
                      f"[{function}(strategy with {replicas} replicas, the grader's size), it is an int]"
                      for replicas in range(1, 5)
                      for function in ("compute_global_batch_size", "compute_per_replica_batch_size")]
                      + [f"compute_per_replica_batch_size(strategy with {count} replicas, a global batch that does "
                         "not split evenly) raising a ValueError" for count in (3, 4)])),
    FunctionCheck("ex4_test",
                  calls=[batches_call(count, suffix, index)
                         for index, (count, suffix) in enumerate([(2, ""), (3, ""), (1, "_flat")])],
                  inputs=batches_inputs,
                  verify=functools.partial(compare_results, rtol=1e-6, atol=1e-6, dtypes=True, labels=[
                      f"[is a DistributedDataset, steps, (slices, features shape, labels shape) of the steps, every "
                      f"example keeps its label, every step is a run of consecutive examples (shuffle before "
                      f"batching)] for {count} replicas"
                      for count in (2, 3, 1)])),
    # Training is not deterministic: the trained models are checked by their layers and accuracies.
    ModelCheck("ex5_test", call=DISTRIBUTED_MODEL, verify=check_trained_classifier,
               held_out=digits_test_set, threshold=0.90),
    ModelCheck("ex6_test", call=MIXED_MODEL, verify=check_trained_classifier,
               held_out=digits_test_set, threshold=0.90),
]
