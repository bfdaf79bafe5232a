"""Trusted checks of chapter 2: update rules, scaling and losses on random inputs, and the trained logistic regression's accuracy."""

from functools import partial

import numpy as np

from grader.checklib import compare_results
from grader.specs import FunctionCheck

#: The accuracy that the logistic regression of exercise 6 must reach on held-out points.
LOGISTIC_MIN_ACCURACY = 0.90

#: The blobs of exercise 6's visible and hidden tests: centres, standard deviation, random state.
NOTEBOOK_BLOBS = [([[3.0, 4.0], [5.0, 6.5]], 0.8, 5),
                  ([[1.0, -1.0, 3.0], [-1.0, 1.5, 1.0]], 1.0, 21),
                  ([[-8.0, 10.0, 1.0, 5.0], [-6.0, 11.5, 2.5, 3.5]], 0.9, 8)]


def same_tensors(results, expected, rtol=1e-4, atol=1e-5, rtol64=1e-6, atol64=1e-6):
    """Compare exported results with the reference's: structure, dtypes and values.

    The notebook's ``checks.check_tensor`` rejects a tensor of the wrong dtype, so the dtypes count.
    ``rtol`` and ``atol`` apply to ``float32`` results, ``rtol64`` and ``atol64`` to ``float64`` ones.
    """
    return compare_results(results, expected, rtol=rtol, atol=atol, rtol64=rtol64, atol64=atol64, dtypes=True)


def logistic_accuracy(results, expected):
    """Check the trained logistic regressions: a tuple ``(w, b)`` of the right shapes, and accuracy.

    The held-out points come from the reference's export (the solution's kernel passes them
    through unchanged), never from the submission.

    Parameters
    ----------
    results, expected : list
        One dict per data set with the result's ``type``, its ``weights`` and the ``test`` data.

    Returns
    -------
    str or None
        Why a regression fails, or None when every one reaches the target accuracy.
    """
    for index, (value, wanted) in enumerate(zip(results, expected)):
        x_test, y_test = wanted["test"]
        num_features = x_test.shape[1]
        where = f"train_logistic_regression on data set {index + 1} ({num_features} features)"
        if value.get("type") != "tuple" or len(value.get("weights", [])) != 2:
            return f"{where} should return a tuple (w, b), got a {value.get('type')}"
        w, b = (np.asarray(weights, dtype=np.float64) for weights in value["weights"])
        if w.shape != (num_features, 1) or b.shape != (1,):
            return f"{where} returned w of shape {w.shape} and b of shape {b.shape}, expected ({num_features}, 1) and (1,)"
        predicted = (x_test.astype(np.float64) @ w + b).reshape(-1) > 0.0
        accuracy = float(np.mean(predicted == (y_test.reshape(-1) > 0.5)))
        if not accuracy >= LOGISTIC_MIN_ACCURACY:
            return f"{where} reaches {accuracy:.1%} accuracy on held-out points, below the target of {LOGISTIC_MIN_ACCURACY:.0%}"
    return None


def linear_problems(rng):
    """Draw linear regression problems in float32 and float64, and one the model already fits."""
    n, d = int(rng.integers(4, 10)), int(rng.integers(1, 5))
    x_fit = rng.integers(-3, 4, size=(3, 2)).astype(np.float32)
    w_fit = rng.integers(-3, 4, size=(2, 1)).astype(np.float32)
    b_fit = np.array([0.5], dtype=np.float32)
    return {
        "x": rng.normal(size=(n, d)).astype(np.float32), "y": rng.normal(size=(n, 1)).astype(np.float32),
        "w": rng.normal(size=(d, 1)).astype(np.float32), "b": rng.normal(size=1).astype(np.float32),
        "learning_rate": np.array(rng.uniform(0.01, 0.2)),
        "x_64": rng.normal(size=(5, 2)), "y_64": rng.normal(size=(5, 1)),
        "w_64": rng.normal(size=(2, 1)), "b_64": rng.normal(size=1),
        "learning_rate_64": np.array(0.1),
        "x_fit": x_fit, "y_fit": x_fit @ w_fit + b_fit, "w_fit": w_fit, "b_fit": b_fit,
        "learning_rate_fit": np.array(1.0),
    }


def feature_tables(rng):
    """Draw training and test tables whose statistics differ, in float32 and float64."""
    means, scales = rng.normal(size=4) * 20, np.exp(rng.uniform(-2, 3, size=4))
    train = rng.normal(means, scales, size=(int(rng.integers(40, 100)), 4)).astype(np.float32)
    test = rng.normal(means + scales, scales * 2, size=(25, 4)).astype(np.float32)
    return {
        "train": train, "test": test, "one_row": test[:1],
        "train_64": rng.normal(size=(3, 2)) * 3, "test_64": rng.normal(size=(2, 2)) * 3,
    }


def momentum_steps(rng):
    """Draw starting points and gradients for a few steps of Nesterov momentum."""
    return {
        "start": rng.normal(size=3).astype(np.float32), "gradients": rng.normal(size=(3, 3)).astype(np.float32),
        "start_64": rng.normal(size=(2, 3)), "gradients_64": rng.normal(size=(5, 2, 3)),
        "learning_rate_64": np.array(rng.uniform(0.01, 0.2)), "momentum_64": np.array(rng.uniform(0.3, 0.95)),
        "start_plain": rng.normal(size=2), "gradients_plain": rng.normal(size=(2, 2)),
    }


def adam_steps(rng):
    """Draw starting points, gradients (some large, tiny or zero) and hyperparameters for Adam."""
    gradients_64 = rng.normal(size=(6, 3, 2))
    gradients_64[2] *= 10.0
    tiny = rng.normal(size=(4, 3)).astype(np.float32) * 1e-3
    tiny[1] = 0.0
    tiny[3, 0] = 0.0
    return {
        "start_64": rng.normal(size=(3, 2)), "gradients_64": gradients_64,
        "hyperparameters_64": np.array([rng.uniform(0.01, 0.2), rng.uniform(0.5, 0.95), rng.uniform(0.9, 0.999),
                                        rng.choice([0.1, 0.5])]),
        "start": rng.normal(size=3).astype(np.float32), "gradients": rng.normal(size=(3, 3)).astype(np.float32),
        "learning_rate": np.array(rng.uniform(0.005, 0.05)),
        "start_tiny": rng.normal(size=3).astype(np.float32), "gradients_tiny": tiny,
    }


def cross_entropy_problems(rng):
    """Draw labels and probabilities: ordinary ones, exact 0s and 1s, and perfect predictions."""
    labels = rng.integers(0, 2, size=(60, 1)).astype(np.float32)
    mixed_labels = rng.integers(0, 2, size=12).astype(np.float32)
    mixed = rng.uniform(0.0, 1.0, size=12).astype(np.float32)
    mixed[:4] = [0.0, 1.0, 0.0, 1.0]
    mixed_labels[:4] = [1.0, 0.0, 0.0, 1.0]
    perfect = rng.integers(0, 2, size=7).astype(np.float32)
    return {
        "labels": labels, "probabilities": rng.uniform(0.01, 0.99, size=(60, 1)).astype(np.float32),
        "mixed_labels": mixed_labels, "mixed": mixed, "perfect": perfect,
        "wrong_labels": np.array([1.0, 0.0], dtype=np.float32), "wrong": np.array([0.0, 1.0], dtype=np.float32),
    }


def blobs(rng):
    """Draw two-class data sets far from the origin: 300 training and 200 held-out points each.

    The first three are the notebook's own (its visible test's and its hidden tests'); two more
    are drawn at random, with class centres 4.2 standard deviations apart, so that the best linear
    boundary classifies about 98% of their points correctly.
    """
    from sklearn.datasets import make_blobs

    data_sets = [make_blobs(n_samples=500, centers=centers, cluster_std=spread, random_state=seed)
                 for centers, spread, seed in NOTEBOOK_BLOBS]
    for _ in range(2):
        num_features = int(rng.integers(2, 6))
        centre = rng.uniform(-10.0, 10.0, size=num_features)
        direction = rng.normal(size=num_features)
        spread = rng.uniform(0.5, 1.5)
        other_centre = centre + 4.2 * spread * direction / np.linalg.norm(direction)
        labels = rng.integers(0, 2, size=500)
        x = np.where(labels[:, None] == 1, other_centre, centre) + rng.normal(scale=spread, size=(500, num_features))
        data_sets.append((x, labels))
    data = {}
    for name, (x, labels) in zip("abcde", data_sets):
        x, y = x.astype(np.float32), labels.reshape(-1, 1).astype(np.float32)
        data.update({f"x_{name}": x[:300], f"y_{name}": y[:300], f"x_{name}_test": x[300:], f"y_{name}_test": y[300:]})
    return data


def gradient_step_call(suffix):
    """Return the call of exercise 1: the result's type, the gradients, and the variables afterwards."""
    return (f"{{'type': type(gradients := mse_gradient_step(tf.constant(x{suffix}), tf.constant(y{suffix}), "
            f"(w_variable := tf.Variable(w{suffix})), (b_variable := tf.Variable(b{suffix})), "
            f"float(learning_rate{suffix}))).__name__, "
            "'gradients': gradients, 'w_after': w_variable, 'b_after': b_variable}")


def standardize_call(train, test):
    """Return the call of exercise 2: the result's type and the two scaled tables."""
    return f"{{'type': type(scaled := standardize_features({train}, {test})).__name__, 'scaled': scaled}}"


def nesterov_call(suffix, learning_rate, momentum):
    """Return the call of exercise 3: the variable and the velocity after each step."""
    return ("(lambda variable, velocity, gradients, learning_rate, momentum: "
            "[(nesterov_update(variable, tf.constant(gradient), velocity, learning_rate=learning_rate, momentum=momentum), "
            "np.array(variable), np.array(velocity))[1:] for gradient in gradients])"
            f"(tf.Variable(start{suffix}), tf.Variable(tf.zeros_like(start{suffix})), gradients{suffix}, "
            f"float({learning_rate}), float({momentum}))")


def adam_call(suffix, hyperparameters):
    """Return the call of exercise 4: the variable, m and v after each step."""
    return ("(lambda variable, m, v, gradients, hyperparameters: "
            "[(adam_update(variable, tf.constant(gradient), m, v, step, **hyperparameters), "
            "np.array(variable), np.array(m), np.array(v))[1:] for step, gradient in enumerate(gradients, start=1)])"
            f"(tf.Variable(start{suffix}), tf.Variable(tf.zeros_like(start{suffix})), "
            f"tf.Variable(tf.zeros_like(start{suffix})), gradients{suffix}, {hyperparameters})")


def logistic_call(name):
    """Return the call of exercise 6: the result's type, the trained weights, and the held-out data."""
    return (f"{{'type': type(weights := train_logistic_regression(x_{name}, y_{name})).__name__, "
            f"'weights': weights, 'test': [x_{name}_test, y_{name}_test]}}")


CHECKS = [
    FunctionCheck("ex1_test", calls=[gradient_step_call(""), gradient_step_call("_64"), gradient_step_call("_fit")],
                  inputs=linear_problems, verify=same_tensors),
    FunctionCheck("ex2_test", calls=[standardize_call("train", "test"), standardize_call("train", "one_row"),
                                     standardize_call("train_64", "test_64")],
                  inputs=feature_tables, verify=partial(same_tensors, atol=1e-4)),
    FunctionCheck("ex3_test", calls=[nesterov_call("", 0.1, 0.9),
                                     nesterov_call("_64", "learning_rate_64", "momentum_64"),
                                     nesterov_call("_plain", 0.25, 0.0)],
                  inputs=momentum_steps, verify=partial(same_tensors, rtol=1e-5, atol=1e-6, rtol64=1e-6, atol64=1e-7)),
    FunctionCheck("ex4_test", calls=[
        adam_call("_64", "dict(zip(['learning_rate', 'beta_1', 'beta_2', 'epsilon'], hyperparameters_64.tolist()))"),
        adam_call("", "{'learning_rate': float(learning_rate)}"),
        adam_call("_tiny", "{}"),
    ], inputs=adam_steps, verify=partial(same_tensors, rtol=1e-6, atol=1e-6, rtol64=1e-7, atol64=1e-9)),
    FunctionCheck("ex5_test", calls=["binary_cross_entropy(tf.constant(labels), tf.constant(probabilities))",
                                     "binary_cross_entropy(tf.constant(mixed_labels), tf.constant(mixed))",
                                     "binary_cross_entropy(tf.constant(perfect), tf.constant(perfect))",
                                     "binary_cross_entropy(tf.constant(wrong_labels), tf.constant(wrong))"],
                  inputs=cross_entropy_problems, verify=partial(same_tensors, rtol=1e-4, atol=1e-6)),
    FunctionCheck("ex6_test", calls=[logistic_call(name) for name in "abcde"], inputs=blobs, verify=logistic_accuracy),
]
