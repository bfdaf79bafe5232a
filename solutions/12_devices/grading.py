"""Trusted checks of chapter 12 (see grader/checks/): a balanced cut of a model, a forward pass split over two
devices, the epoch plan of a strategy, a debugged distributed training function, and a mixed-precision
classifier trained on two replicas of real Fashion-MNIST."""

import functools

import numpy as np

from grader.checks import FunctionCheck, ModelCheck
from grader.checks.library import compare_results, fashion_test_images

# An expression that makes a MirroredStrategy on the first `{count}` logical CPUs, as the tests do.
CPU_STRATEGY = ("tf.distribute.MirroredStrategy(cpu_devices[:{count}], "
                "cross_device_ops=tf.distribute.ReductionToOneDevice())")


def with_helper(source, call):
    """Return an expression that defines the helper ``describe`` of ``source`` in a scope of its own and evaluates ``call``."""
    return ("[exec(" + repr(source) + ", scope := {'tf': tf, 'np': np, 'keras': keras, 'layers': layers, "
            "'devices': devices, 'cpu_devices': cpu_devices}), scope['describe'](" + call + ")][-1]")


# Exercise 1: random stacks of 2 to 6 Dense layers (widths padded with zeros), a fixed stack on which
# cutting after half of the layers is wrong, and a tie that the smaller split must win.
def split_inputs(rng):
    """Draw 8 stacks: ``features`` (1 to 899 inputs each) and ``widths`` (rows of 2 to 6 widths, padded with 0)."""
    widths = np.zeros((8, 6), dtype="int64")
    for row in widths:
        count = int(rng.integers(2, 7))
        row[:count] = rng.integers(1, 300, size=count)
    return {"features": rng.integers(1, 900, size=8), "widths": widths}


SPLIT_CALLS = [
    "balanced_split(784, [256, 128, 64, 10])",
    "[balanced_split(int(count), [int(width) for width in row if width > 0]) for count, row in zip(features, widths)]",
    "balanced_split(1, [1, 1, 1])",
    "balanced_split(10, [100, 3, 100, 3, 1])",
]

# Exercise 2: a helper that builds seeded, unbuilt Dense layers, calls split_forward and describes
# the outputs, the devices returned and the devices of the kernels.
DESCRIBE_SPLIT = '''
def describe(split_forward, x, widths, split, device_names):
    dense_layers = [layers.Dense(int(width), activation="relu" if index < len(widths) - 1 else None,
                                 kernel_initializer=keras.initializers.GlorotUniform(seed=7 + index),
                                 bias_initializer=keras.initializers.RandomNormal(seed=57 + index))
                    for index, width in enumerate(widths)]
    outputs, output_devices = split_forward(dense_layers, x, int(split), list(device_names))
    kernels = [devices.short_name(layer.kernel.value.device) if layer.built else "not built" for layer in dense_layers]
    return [np.asarray(outputs), [str(name) for name in output_devices], kernels]
'''


def forward_inputs(rng):
    """Draw inputs, a device order and cuts for split_forward: ``x`` (6, 9), ``order`` (a permutation of 0-3), ``splits``."""
    return {"x": rng.normal(size=(6, 9)).astype("float32"), "order": rng.permutation(4),
            "splits": np.array([rng.integers(1, 3), rng.integers(1, 5)])}


FORWARD_CALLS = [
    with_helper(DESCRIBE_SPLIT, "split_forward, x, [8, 8, 4], 1, ['/CPU:2', '/CPU:3']"),
    with_helper(DESCRIBE_SPLIT, "split_forward, x, [16, 8, 4], splits[0], [f'/CPU:{order[0]}', f'/CPU:{order[1]}']"),
    with_helper(DESCRIBE_SPLIT, "split_forward, x, [5, 7, 3, 6, 2], splits[1], [f'/CPU:{order[2]}', f'/CPU:{order[3]}']"),
]


# Exercise 3: random datasets, and three fixed ones: 10 examples left for 4 replicas, 1 example
# left for 3 replicas, and a dataset that fills its last batch.
def plan_inputs(rng):
    """Draw 10 cases ``(num_examples, per_replica_batch_size, num_replicas)``."""
    return {"cases": np.stack([rng.integers(1, 600, 10), rng.integers(1, 40, 10), rng.integers(1, 5, 10)], axis=1)}


PLAN_CALLS = [
    "plan_epoch(50, 5, 4)",
    "plan_epoch(7, 2, 3)",
    "plan_epoch(40, 5, 4)",
    "[plan_epoch(int(n), int(size), int(replicas)) for n, size, replicas in cases]",
]

# Exercise 4: a helper that trains with fit_on_replicas on a fresh strategy and describes the result:
# whether the model belongs to the strategy, the numbers of copies of its weights, the steps of an
# epoch and the optimizer's updates.
DESCRIBE_FIT = '''
def describe(fit_on_replicas, num_replicas, x, y, per_replica_batch_size, num_epochs):
    strategy = tf.distribute.MirroredStrategy(cpu_devices[:int(num_replicas)], cross_device_ops=tf.distribute.ReductionToOneDevice())
    model, history = fit_on_replicas(strategy, x, y, int(per_replica_batch_size), int(num_epochs))
    copies = sorted({len(getattr(weight.value, "values", [weight.value])) for weight in model.weights})
    return [model.distribute_strategy is strategy, copies, history.params.get("steps"), int(model.optimizer.iterations.numpy())]
'''


def fit_inputs(rng):
    """Draw a small training set of 20 features (``x_fit``, ``y_fit``) and ``settings``: replicas and batch sizes.

    In TensorFlow 2.21, ``fit`` fails with an ``AddN`` shape error when a replica gets no example in a
    step. The number of examples (30 to 148) and the first per-replica batch size (up to 12) are
    multiples of the replica count (2 to 4), so that neither the solution's batches nor those of an
    answer that passes the per-replica size as the global one leave a replica empty, and such an
    answer is rejected for its step count on every seed rather than for a crash.
    """
    replicas = int(rng.integers(2, 5))
    count = replicas * int(rng.integers(15, 38))
    return {"x_fit": rng.normal(size=(count, 20)).astype("float32"), "y_fit": rng.integers(0, 10, size=count),
            "settings": np.array([replicas, replicas * int(rng.integers(1, 4)), rng.integers(5, 40)])}


FIT_CALLS = [
    with_helper(DESCRIBE_FIT, "fit_on_replicas, settings[0], x_fit, y_fit, settings[1], 2"),
    with_helper(DESCRIBE_FIT, "fit_on_replicas, 1, x_fit, y_fit, settings[2], 1"),
]

# Exercise 5 exports the classifier that the test cell trained on 2 replicas. What the saved model does
# not record (the loss scaling, the loss, the global policy after a call) is checked in the kernel with
# the test cell's helper; a failure there fails the export.
MIXED_MODEL = (
    "[checks.check_type(mixed_classifier.optimizer, keras.optimizers.LossScaleOptimizer, "
    "name='the optimizer of mixed_classifier (without loss scaling, small float16 gradients underflow to 0)'), "
    "checks.check_equal(mixed_classifier.loss in ('sparse_categorical_crossentropy',) or "
    "isinstance(mixed_classifier.loss, keras.losses.SparseCategoricalCrossentropy), True, "
    "name='mixed_classifier is compiled with the sparse_categorical_crossentropy loss'), "
    "checks.check_equal(bool(getattr(mixed_classifier.loss, 'get_config', dict)().get('from_logits')), False, "
    "name='from_logits of the loss of mixed_classifier (its last layer applies a softmax already)'), "
    "other := build_mixed_precision_classifier(7, 3), policy := keras.mixed_precision.global_policy().name, "
    "keras.mixed_precision.set_global_policy('float32'), "
    "checks.check_equal(policy, 'float32', name='the global policy after build_mixed_precision_classifier(7, 3)'), "
    "check_mixed_classifier(other, 7, 3, name='build_mixed_precision_classifier(7, 3)'), "
    "mixed_classifier][-1]")


def mixed_rules(model, reference):
    """Check the precision decisions of the trained classifier, as loaded from its ``.keras`` file.

    Parameters
    ----------
    model, reference : keras.Model
        The student's trained classifier and the solution's (unused: the student decides the policies).

    Returns
    -------
    str or None
        The first rule broken, or None.
    """
    weights = [f"{weight.path} ({weight.dtype})" for weight in model.weights if str(weight.dtype) != "float32"]
    if weights:
        return f"weights must be stored in float32, but {', '.join(weights)} are not: use a mixed policy"
    in_float16 = sum(layer.count_params() for layer in model.layers if layer.compute_dtype == "float16")
    share = in_float16 / max(model.count_params(), 1)
    if share < 0.95:
        return f"only {share:.1%} of the parameters compute in float16, below the 95 % asked for"
    if str(model.outputs[0].dtype) != "float32":
        return f"the model outputs {model.outputs[0].dtype}, expected float32: the softmax must compute in float32"
    images, _ = fashion_held_out()
    outputs = np.asarray(model.predict(images[:500], verbose=0), dtype="float64")
    if not np.all(np.isfinite(outputs)) or not np.allclose(outputs.sum(axis=-1), 1.0, atol=1e-3):
        return "the model's outputs are not finite probabilities that sum to 1: end it with a float32 softmax"
    return None


#: The second half of the Fashion-MNIST test set, flattened to 784 values in [0, 1], and its labels. The notebook
#: trains on the first 8,000 training photos and measures on the first 2,000 test photos, so these 5,000 are
#: never seen by it. On a machine without Fashion-MNIST the loader falls back to digits, and so does the
#: notebook: the measurement is then of digits.
fashion_held_out = functools.partial(fashion_test_images, "second half", layout="flat")


CHECKS = [
    FunctionCheck("ex1_test", calls=SPLIT_CALLS, inputs=split_inputs, dtypes=True,
                  verify=functools.partial(compare_results, dtypes=True, labels=[
                      "balanced_split(784, [256, 128, 64, 10])", "balanced_split of the grader's stacks",
                      "balanced_split(1, [1, 1, 1]) (a tie: the smaller split)",
                      "balanced_split(10, [100, 3, 100, 3, 1])"])),
    FunctionCheck("ex2_test", calls=FORWARD_CALLS, inputs=forward_inputs,
                  verify=functools.partial(compare_results, rtol=1e-4, atol=1e-5, labels=[
                      f"[outputs, output devices, kernel devices] of split_forward({case})" for case in [
                          "widths [8, 8, 4], split 1, CPU:2 and CPU:3",
                          "widths [16, 8, 4], the grader's split and devices",
                          "widths [5, 7, 3, 6, 2], the grader's split and devices"]])),
    FunctionCheck("ex3_test", calls=PLAN_CALLS, inputs=plan_inputs, dtypes=True,
                  verify=functools.partial(compare_results, dtypes=True, labels=[
                      "plan_epoch(50, 5, 4)", "plan_epoch(7, 2, 3)", "plan_epoch(40, 5, 4)",
                      "plan_epoch of the grader's cases"])),
    FunctionCheck("ex4_test", calls=FIT_CALLS, inputs=fit_inputs,
                  verify=functools.partial(compare_results, labels=[
                      "[built in the strategy's scope, copies of the weights, steps per epoch, optimizer updates] "
                      f"of fit_on_replicas({case})" for case in [
                          "several replicas, the grader's data, 2 epochs", "1 replica, the grader's data, 1 epoch"]])),
    ModelCheck("ex5_test", call=MIXED_MODEL, verify=mixed_rules, held_out=fashion_held_out, threshold=0.78),
]
