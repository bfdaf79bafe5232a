"""Trusted checks of chapter 3: mish and its derivative, parity weights, initial spreads, a training loop that matches fit, a macro-recall metric and a Fashion-MNIST MLP on a budget."""

import functools

import numpy as np

from grader.checks import FunctionCheck, ModelCheck
from grader.checks.library import compare_results, fashion_test_images

#: The accuracy that exercise 6's MLP must reach on the second half of the Fashion-MNIST test images.
FASHION_MIN_ACCURACY = 0.84

#: Exercise 6's parameter budget.
FASHION_MAX_PARAMETERS = 110_000

#: The layers an MLP of exercise 6 may hold (no convolutions).
MLP_LAYERS = {"Flatten", "Dense", "Dropout", "BatchNormalization", "Activation", "LeakyReLU", "ReLU"}

#: The share of the variance of a centred input that each activation of exercise 3 keeps near 0.
KEPT_SHARE = {"relu": 0.5, "leaky_relu": (1 + 0.2**2) / 2, "tanh": 1.0, "linear": 1.0}


def mish_problem(rng):
    """Draw float32 points spread over [-8, 8] with extremes, and float64 points of another shape."""
    points = np.concatenate([rng.uniform(-8, 8, size=int(rng.integers(150, 250))), [-100.0, -40.0, 0.0, 40.0, 100.0]])
    return {"x32": rng.permutation(points).astype(np.float32),
            "x64": rng.normal(scale=5.0, size=(int(rng.integers(2, 5)), int(rng.integers(3, 8)))).astype(np.float64)}


MISH_CALLS = ["mish(x32)", "mish_derivative(x32)", "mish(x64)", "mish_derivative(x64)"]
MISH_LABELS = ["mish on the grader's float32 points", "mish_derivative on the grader's float32 points",
               "mish on the grader's float64 points", "mish_derivative on the grader's float64 points"]


def parity_calls():
    """Return calls that export the answer's weights for the drawn number of bits and for XOR."""
    return [f"{{'num_inputs': {size}, 'weights': [np.asarray(w, dtype='float64') for w in parity_network_weights({size})]}}"
            for size in ("int(n)", "2")]


def parity_works(results, expected):
    """Check each exported network on every input of its number of bits, with NumPy."""
    for result, wanted in zip(results, expected):
        num_inputs = wanted["num_inputs"]
        if not isinstance(result, dict) or result.get("num_inputs") != num_inputs:
            return f"the weights were not exported for {num_inputs} inputs"
        weights = [np.asarray(w, dtype=float) for w in result["weights"]]
        if len(weights) != 4:
            return f"parity_network_weights({num_inputs}) returned {len(weights)} arrays, expected 4"
        hidden_units = weights[0].shape[1] if weights[0].ndim == 2 else -1
        shapes = [w.shape for w in weights]
        if not 1 <= hidden_units <= num_inputs or shapes != [(num_inputs, hidden_units), (hidden_units,), (hidden_units, 1), (1,)]:
            return (f"parity_network_weights({num_inputs}) returned arrays of shapes {shapes}: expected "
                    f"({num_inputs}, h), (h,), (h, 1), (1,) with 1 <= h <= {num_inputs}")
        bits = ((np.arange(2**num_inputs)[:, None] >> np.arange(num_inputs)) & 1).astype(float)
        outputs = (np.maximum(bits @ weights[0] + weights[1], 0.0) @ weights[2] + weights[3]).ravel()
        errors = np.abs(outputs - bits.sum(axis=1) % 2)
        if not np.all(np.isfinite(errors)) or errors.max() >= 0.25:
            worst = int(np.nanargmax(np.where(np.isfinite(errors), errors, np.inf)))
            return (f"with {num_inputs} inputs, the network outputs {outputs[worst]:.3f} for "
                    f"{bits[worst].astype(int).tolist()}, whose parity is {int(bits[worst].sum()) % 2}")
    return None


def widths_problem(rng):
    """Draw 21 layer widths that jump between narrow and wide, so that fan_in and fan_out differ by far."""
    narrow, wide = rng.integers(16, 97, size=21), rng.integers(256, 1025, size=21)
    start = int(rng.integers(0, 2))
    return {"widths": np.where((np.arange(21) + start) % 2 == 0, wide, narrow).astype(np.int64)}


INIT_CALLS = ["[int(width) for width in widths]"] + [
    f"[float(init_stddev(int(fan_in), int(fan_out), {activation!r})) for fan_in, fan_out in zip(widths[:-1], widths[1:])]"
    for activation in KEPT_SHARE]


def spreads_kept(results, expected):
    """Check that every layer, and the stack of 20, keeps the spread of the signal near 0."""
    widths = expected[0]
    if results[0] != widths:
        return "the widths were not exported as drawn"
    for activation, stddevs in zip(KEPT_SHARE, results[1:]):
        stddevs = np.asarray(stddevs, dtype=float)
        if stddevs.shape != (20,) or not np.all(np.isfinite(stddevs)) or not np.all(stddevs > 0):
            return f"init_stddev(..., {activation!r}) should return a positive float for each of the 20 layers"
        gains = np.sqrt(np.asarray(widths[:-1], dtype=float) * stddevs**2 * KEPT_SHARE[activation])
        for index, gain in enumerate(gains):
            if not 0.8 < gain < 1.25:
                return (f"with {activation}, layer {index + 1} ({widths[index]} inputs, {widths[index + 1]} units) "
                        f"multiplies the spread of the signal by {gain:.2f}")
        if not 0.5 < np.prod(gains) < 2.0:
            return f"with {activation}, the spread at layer 20 is {np.prod(gains):.3g} times that of the input"
    return None


def loop_problem(rng):
    """Draw a seed for the model's weights, data whose size the batch size does not divide, and settings."""
    num_examples, batch_size = int(rng.integers(40, 120)), int(rng.integers(6, 20))
    if num_examples % batch_size == 0:
        num_examples += 1
    x = rng.normal(size=(num_examples, 6)).astype(np.float32)
    return {"seed": np.array(int(rng.integers(0, 10_000))), "x": x, "y": rng.integers(0, 3, size=num_examples),
            "batch_size": np.array(batch_size), "learning_rate": np.array(float(rng.choice([0.003, 0.01, 0.03]))),
            "penalty": np.array(float(rng.choice([0.003, 0.01, 0.03])))}


LOOP_CALLS = [
    "(lambda model: {'loss': train_one_epoch(model, tf.data.Dataset.from_tensor_slices((x, y)).batch(int(batch_size)), "
    f"{optimizer}, keras.losses.SparseCategoricalCrossentropy()), 'weights': model.get_weights()}})"
    "(exercise_4_model(int(seed), float(penalty)))"
    for optimizer in ("keras.optimizers.Adam(learning_rate=float(learning_rate))",
                      "keras.optimizers.SGD(learning_rate=10 * float(learning_rate), momentum=0.9)")]


def metric_problem(rng):
    """Draw labels that miss one class, class probabilities, and cut points that split them into batches."""
    num_classes, num_examples = int(rng.integers(3, 7)), int(rng.integers(40, 90))
    present = np.delete(np.arange(num_classes), int(rng.integers(0, num_classes)))
    labels = rng.choice(present, size=num_examples, p=rng.dirichlet(np.ones(len(present))) * 0.5 + 0.5 / len(present))
    probabilities = rng.dirichlet(np.ones(num_classes), size=num_examples)
    probabilities[np.arange(num_examples), labels] += rng.uniform(0, 0.6, size=num_examples)
    cuts = np.concatenate([[0], np.sort(rng.choice(np.arange(1, num_examples), size=3, replace=False)), [num_examples]])
    return {"num_classes": np.array(num_classes), "labels": labels.astype(np.int64),
            "probabilities": (probabilities / probabilities.sum(axis=1, keepdims=True)).astype(np.float32),
            "cuts": cuts.astype(np.int64)}


METRIC_CALLS = [
    # Batch after batch, then a reset, then one batch again.
    "(lambda metric: {'is_metric': isinstance(metric, keras.metrics.Metric), 'name': metric.name, "
    "'results': [(metric.update_state(labels[a:b], probabilities[a:b]), float(metric.result()))[1] "
    "for a, b in zip(cuts[:-1], cuts[1:])], "
    "'after_reset': (metric.reset_state(), float(metric.result()))[1], "
    "'again': (metric.update_state(labels[cuts[1]:], probabilities[cuts[1]:]), float(metric.result()))[1]})"
    "(MacroRecall(int(num_classes)))",
    # Inside compile and evaluate, where update_state runs in a graph; the model passes the probabilities on.
    "(lambda model: (model.compile(loss='sparse_categorical_crossentropy', metrics=[MacroRecall(int(num_classes))]), "
    "model.evaluate(np.log(probabilities), labels, batch_size=8, verbose=0, return_dict=True)['macro_recall'])[1])"
    "(keras.Sequential([keras.Input(shape=(int(num_classes),)), layers.Activation('softmax')]))",
]


#: Exercise 6's held-out data: the second half of the Fashion-MNIST test images, scaled as in the notebook,
#: and their labels.
fashion_second_half = functools.partial(fashion_test_images, "second half")


def within_budget(model, reference):
    """Require an MLP (Flatten and Dense layers and their helpers) of at most the budgeted parameters."""
    kinds = sorted({type(layer).__name__ for layer in model.layers} - {"InputLayer"})
    if not set(kinds) <= MLP_LAYERS:
        return f"the model holds {kinds}: this exercise is about MLPs, use Flatten and Dense layers"
    if model.count_params() > FASHION_MAX_PARAMETERS:
        return f"the model has {model.count_params():,} parameters, over the budget of {FASHION_MAX_PARAMETERS:,}"
    return None


CHECKS = [
    FunctionCheck("ex1_test", calls=MISH_CALLS, inputs=mish_problem,
                  verify=lambda results, expected: compare_results(results, expected, labels=MISH_LABELS, rtol=1e-4,
                                                                   atol=1e-5, rtol64=1e-7, atol64=1e-9, dtypes=True)),
    FunctionCheck("ex2_test", calls=parity_calls(), inputs=lambda rng: {"n": np.array(int(rng.integers(3, 8)))},
                  verify=parity_works),
    FunctionCheck("ex3_test", calls=INIT_CALLS, inputs=widths_problem, verify=spreads_kept),
    FunctionCheck("ex4_test", calls=LOOP_CALLS, inputs=loop_problem,
                  verify=lambda results, expected: compare_results(
                      results, expected, labels=["one epoch with Adam", "one epoch with SGD and momentum"],
                      rtol=1e-4, atol=1e-5)),
    FunctionCheck("ex5_test", calls=METRIC_CALLS, inputs=metric_problem,
                  verify=lambda results, expected: compare_results(
                      results, expected, labels=["MacroRecall over batches, a reset and one more batch",
                                                 "MacroRecall in model.evaluate with batches of 8"],
                      rtol=1e-5, atol=1e-6)),
    ModelCheck("ex6_test", call="fashion_model", same_parameters=False, held_out=fashion_second_half,
               threshold=FASHION_MIN_ACCURACY, verify=within_budget),
]
