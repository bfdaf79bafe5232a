"""Trusted checks of chapter 5: dropout, penalties and batch norm on random inputs, the augmenter's layers, early stopping, and the regularized model's accuracy."""

import functools

import numpy as np

from grader.checklib import compare_results
from grader.specs import FunctionCheck, ModelCheck

#: The accuracy the regularized model of exercise 6 must reach on the validation and test sets.
REGULARIZED_MIN_ACCURACY = 0.80


def dropout_behaves(results, expected):
    """Check exercise 1: zeros in the right proportion, kept values scaled, and no change when asked.

    The inputs come from the reference's export (the solution's kernel passes them through).

    Parameters
    ----------
    results, expected : list
        Dicts with ``outputs`` (the student's) and ``inputs``, ``rate``, ``training`` (the reference's).
    """
    for index, (value, wanted) in enumerate(zip(results, expected)):
        inputs, rate, training = wanted["inputs"], wanted["rate"], wanted["training"]
        outputs = value.get("outputs") if isinstance(value, dict) else None
        where = f"inverted_dropout(inputs of shape {inputs.shape} and dtype {inputs.dtype}, {rate}, training={training})"
        if not isinstance(outputs, np.ndarray) or outputs.shape != inputs.shape or outputs.dtype != inputs.dtype:
            return f"{where} should return a tensor of shape {inputs.shape} and dtype {inputs.dtype}"
        if not training or rate == 0.0:
            if not np.allclose(outputs, inputs, rtol=1e-6, atol=0.0):
                return f"{where} should return the inputs unchanged"
            continue
        dropped = outputs == 0
        # The notebook allows 1.5 points of percentage for high rates and 1 point otherwise.
        if abs(dropped.mean() - rate) > (0.015 if rate > 0.5 else 0.01):
            return f"{where} drops {dropped.mean():.1%} of the values, expected about {rate:.0%}"
        scaled = inputs / np.asarray(1.0 - rate, dtype=inputs.dtype)
        if not np.allclose(outputs[~dropped], scaled[~dropped], rtol=1e-5, atol=0.0):
            return f"{where} should divide the values it keeps by 1 - rate"
        if "second_outputs" in wanted and np.mean(value.get("second_outputs") != outputs) <= 0.3:
            return "two calls of inverted_dropout drop the same values: draw a new random mask for every call"
    return None


def batch_norm_matches(results, expected):
    """Check exercise 3: every call matches the solution, and a non-default epsilon changes the result.

    The calls come in pairs (see ``BATCH_NORM_CALLS``): the same inputs without ``epsilon``, then with
    the drawn ``epsilon``, which is never the default of 1e-3. An answer whose second call returns what
    its first returned ignores the argument (typically a hard-coded ``variance_epsilon=1e-3``).

    Parameters
    ----------
    results, expected : list
        The student's and the solution's results, one array per call.
    """
    for index, (value, wanted) in enumerate(zip(results, expected)):
        problem = compare_results([value], [wanted], labels=[f"the result of call {index + 1}"], dtypes=True)
        if not problem:
            continue
        # A result with epsilon that equals the same answer's result without it shows the argument is ignored.
        default = results[index - 1] if index % 2 == 1 else None
        if (isinstance(value, np.ndarray) and isinstance(default, np.ndarray) and value.shape == default.shape
                and np.allclose(value, default, rtol=1e-6, atol=0.0)):
            return (f"batch_norm({BATCH_NORM_LABELS[index]}) with a non-default epsilon returns the same values as "
                    "with the default: use the epsilon argument in the formula, not a fixed 1e-3")
        return problem
    return None


def augmenter_config(model):
    """Return the settings of an augmenter's layers that the notebook's tests look at.

    Parameters
    ----------
    model : keras.Model
        A loaded augmenter.
    """
    table = [type(model).__name__]
    for layer in model.layers:
        config = layer.get_config()
        factors = {key: None if config.get(key) is None else round(float(np.max(np.abs(config[key]))), 6)
                   for key in ("factor", "height_factor", "width_factor") if key in config}
        table.append((type(layer).__name__, tuple(layer.output.shape), config.get("fill_mode"), factors))
    return table


def same_augmenter(model, reference):
    """Fail unless the augmenter has the reference's layers and factors, and leaves images alone at inference."""
    actual, expected = augmenter_config(model), augmenter_config(reference)
    if actual != expected:
        return f"the model and its layers (class, output shape, fill_mode, factors) are {actual}, expected {expected}"
    images = np.random.default_rng(0).uniform(size=(4,) + tuple(reference.inputs[0].shape[1:])).astype("float32")
    if not np.allclose(np.asarray(model(images, training=False)), images, atol=1e-6):
        return "the augmenter changes images with training=False"
    return None


def classification_splits():
    """Return the notebook's validation and test sets: ``(x_val, y_val, x_test, y_test)``."""
    from sklearn.datasets import make_classification

    features, labels = make_classification(
        n_samples=3000, n_features=50, n_informative=6, n_redundant=0, n_repeated=0, n_classes=3,
        n_clusters_per_class=2, class_sep=1.2, flip_y=0.0, shuffle=False, random_state=0)
    order = np.random.default_rng(0).permutation(len(features))
    features, labels = features[order].astype("float32"), labels[order]
    return features[1000:2000], labels[1000:2000], features[2000:], labels[2000:]


def test_set():
    """Return the notebook's test set, on which the regularized model is measured."""
    return classification_splits()[2:]


def regularized_structure(model, reference):
    """Fail unless the model has three Dense layers (256, 256, then the output) and 80% validation accuracy."""
    from grader.verify import accuracy

    units = [layer.units for layer in model.layers if type(layer).__name__ == "Dense"]
    if len(units) != 3 or units[:2] != [256, 256]:
        return f"the Dense layers have {units} units, expected two hidden layers of 256 and the output layer"
    x_val, y_val, _, _ = classification_splits()
    reached = accuracy(model, x_val, y_val)
    if reached < REGULARIZED_MIN_ACCURACY:
        return f"the model's accuracy on the validation set is {reached:.4g}, below the target of {REGULARIZED_MIN_ACCURACY}"
    return None


def dropout_problem(rng):
    """Draw inputs and dropout rates."""
    return {
        "small": rng.normal(size=(100, 500)).astype(np.float32), "rate_small": np.array(rng.choice([0.2, 0.3, 0.4])),
        "large": rng.normal(2.0, 1.0, size=(20, 50, 50)), "rate_large": np.array(rng.choice([0.6, 0.7, 0.8])),
    }


def penalty_problem(rng):
    """Draw the weights of a model with three Dense layers, batch normalization and dropout."""
    shapes = [(6, 5), (5,), (5,), (5,), (5,), (5,), (5, 4), (4,), (4, 2), (2,)]
    weights = {f"w{index}": rng.normal(size=shape).astype(np.float32) for index, shape in enumerate(shapes)}
    weights["w5"] = np.abs(weights["w5"]) + 0.5  # The moving variance of batch normalization is positive.
    return weights


def batch_norm_problem(rng):
    """Draw dense and image batches with their four batch normalization weights."""
    def weights(prefix, num_features):
        return {f"{prefix}_gamma": rng.uniform(0.5, 2.0, size=num_features).astype(np.float32),
                f"{prefix}_beta": rng.normal(size=num_features).astype(np.float32),
                f"{prefix}_mean": rng.normal(size=num_features).astype(np.float32),
                f"{prefix}_variance": rng.uniform(0.5, 3.0, size=num_features).astype(np.float32)}

    return {"dense": rng.normal(3.0, 2.0, size=(int(rng.integers(4, 20)), 3)).astype(np.float32), **weights("dense", 3),
            "images": rng.normal(3.0, 2.0, size=(5, 4, 3, 6)).astype(np.float32), **weights("images", 6),
            # Epsilon is never the default of 1e-3, so that an answer that ignores it gets other values.
            "epsilon": np.array(rng.choice([0.01, 0.05, 0.1]))}


def loss_histories(rng):
    """Draw validation losses with plateaus and ties, and a patience for each."""
    histories = {}
    for index in range(8):
        length = int(rng.integers(1, 20))
        histories[f"losses_{index}"] = np.round(rng.uniform(0.5, 1.0, size=length) - 0.02 * np.arange(length), 1)
        histories[f"patience_{index}"] = np.array(int(rng.integers(1, 5)))
    return histories


DROPOUT_CALLS = [
    "{'inputs': small, 'rate': float(rate_small), 'training': True, "
    "'outputs': inverted_dropout(tf.constant(small), float(rate_small), training=True)}",
    "{'inputs': large, 'rate': float(rate_large), 'training': True, "
    "'outputs': inverted_dropout(tf.constant(large), float(rate_large), training=True)}",
    "{'inputs': large, 'rate': 0.0, 'training': True, 'outputs': inverted_dropout(tf.constant(large), 0.0, training=True)}",
    "{'inputs': large, 'rate': 0.5, 'training': False, 'outputs': inverted_dropout(tf.constant(large), 0.5, training=False)}",
    "{'inputs': small, 'rate': 0.5, 'training': True, 'outputs': inverted_dropout(tf.constant(small), 0.5, training=True), "
    "'second_outputs': inverted_dropout(tf.constant(small), 0.5, training=True)}",
]

# A functional model with three Dense layers (with non-zero biases), batch normalization and dropout.
PENALTY_MODEL = (
    "(model := keras.Model(inputs := keras.Input(shape=(6,)), layers.Dense(2)(layers.Dense(4, activation='relu')("
    "layers.Dropout(0.5)(layers.BatchNormalization()(layers.Dense(5)(inputs)))))))"
    ".set_weights([w0, w1, w2, w3, w4, w5, w6, w7, w8, w9])"
)

BATCH_NORM_CALLS = [
    f"batch_norm(tf.constant({prefix}), tf.constant({prefix}_gamma), tf.constant({prefix}_beta), "
    f"tf.constant({prefix}_mean), tf.constant({prefix}_variance), training={training}{epsilon})"
    for prefix in ("dense", "images") for training in (False, True) for epsilon in ("", ", epsilon=float(epsilon)")
]

#: The inputs of each of ``BATCH_NORM_CALLS``, in words, for messages.
BATCH_NORM_LABELS = [
    f"{inputs}, ..., training={training}"
    for inputs in ("x of shape (batch, 3)", "images of shape (5, 4, 3, 6)") for training in (False, True) for _ in range(2)
]

FIXED_HISTORIES = [([1.0, 0.8, 0.7, 0.75, 0.72, 0.9, 0.6], 3), ([5.0, 4.0, 3.0, 2.0, 1.0], 1), ([1.0, 2.0, 3.0, 4.0, 5.0], 2),
                   ([1.0, 1.0, 1.0, 0.9], 2), ([3.0, 2.0, 2.5, 2.4], 3), ([0.5], 4),
                   ([1.0, 0.9, 1.1, 0.8, 1.2, 1.3, 0.7, 0.6], 1), ([1.0, 0.9, 1.1, 0.8, 1.2, 1.3, 0.7, 0.6], 2)]


def early_stopping_call(losses, patience):
    """Return the call of exercise 5: the result's type and its two numbers as ints."""
    return f"(lambda result: [type(result).__name__, list(map(int, result))])(early_stopping_epochs({losses}, {patience}))"


CHECKS = [
    FunctionCheck("ex1_test", calls=DROPOUT_CALLS, inputs=dropout_problem, verify=dropout_behaves),
    FunctionCheck("ex2_test", calls=[f"[{PENALTY_MODEL}, weight_penalty(model, {l1}, {l2})][1]"
                                     for l1, l2 in [(0.01, 0.1), (0.0, 0.5), (0.2, 0.0), (0.0, 0.0), (0.003, 0.07)]],
                  inputs=penalty_problem, verify=functools.partial(compare_results, rtol=1e-5, atol=1e-7, dtypes=True)),
    FunctionCheck("ex3_test", calls=BATCH_NORM_CALLS, inputs=batch_norm_problem,
                  verify=batch_norm_matches),
    ModelCheck("ex4_test", call="build_augmenter(20, 27, 4, 0.15)", verify=same_augmenter),
    FunctionCheck("ex5_test", calls=[early_stopping_call(losses, patience) for losses, patience in FIXED_HISTORIES]
                  + [early_stopping_call(f"losses_{index}.tolist()", f"int(patience_{index})") for index in range(8)],
                  inputs=loss_histories),
    ModelCheck("ex6_test", call="regularized_model", same_parameters=False, held_out=test_set,
               threshold=REGULARIZED_MIN_ACCURACY, verify=regularized_structure),
]
