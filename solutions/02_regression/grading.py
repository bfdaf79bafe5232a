"""Trusted checks of chapter 2: update rules on random inputs, the fixed diabetes loop and the stability limit on fresh
splits and tables, and the trained logistic regression's accuracy on held-out tumours and wines."""

from functools import partial

import numpy as np

from grader.checks import FunctionCheck
from grader.checks.library import compare_results

#: The accuracy that the logistic regression of exercise 6 must reach on held-out points.
LOGISTIC_MIN_ACCURACY = 0.90

#: How many test patients exercise 2's second call predicts again, among unusual ones (their features times 10).
FEW_PATIENTS = 6


#: Compare exported results with the reference's: structure, dtypes and values. The notebook's
#: ``checks.check_tensor`` rejects a tensor of the wrong dtype, so the dtypes count. ``rtol`` and ``atol``
#: (by default 1e-4 and 1e-5) apply to ``float32`` results, ``rtol64`` and ``atol64`` (1e-6) to ``float64`` ones.
same_tensors = partial(compare_results, rtol64=1e-6, atol64=1e-6, dtypes=True)


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


def gradient_step_call(suffix):
    """Return the call of exercise 1: the result's type, the gradients, and the variables afterwards."""
    return (f"{{'type': type(gradients := mse_gradient_step(tf.constant(x{suffix}), tf.constant(y{suffix}), "
            f"(w_variable := tf.Variable(w{suffix})), (b_variable := tf.Variable(b{suffix})), "
            f"float(learning_rate{suffix}))).__name__, "
            "'gradients': gradients, 'w_after': w_variable, 'b_after': b_variable}")


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


def diabetes_split(rng):
    """Split the raw diabetes table at random, in float64 with a 1-D target, as load_diabetes returns it."""
    from sklearn.datasets import load_diabetes

    diabetes = load_diabetes(scaled=False)
    order = rng.permutation(len(diabetes.target))
    num_train = int(rng.integers(300, 381))
    return {"x_train": diabetes.data[order[:num_train]], "y_train": diabetes.target[order[:num_train]],
            "x_test": diabetes.data[order[num_train:]], "y_test": diabetes.target[order[num_train:]]}


def bug_fix_verdict(results, expected):
    """Check exercise 2's fixed loop: shape, independence from the other test rows, and the reference's predictions.

    The targets of the test patients come from the reference's export, never from the submission.
    """
    value, wanted = results[0], expected[0]
    y_test = np.asarray(wanted["y_test"], dtype=np.float64)
    reference = np.asarray(wanted["full"], dtype=np.float64)
    try:
        full = np.asarray(value["full"], dtype=np.float64)
        few = np.asarray(value["few"], dtype=np.float64)
    except (KeyError, TypeError, ValueError):
        return "fit_and_predict should return an array or tensor of numbers, one per test patient"
    if full.shape != reference.shape:
        return f"fit_and_predict returned predictions of shape {full.shape} for {len(y_test)} test patients, expected {reference.shape}"
    if few.shape != (FEW_PATIENTS,) or not np.all(np.isfinite(full)):
        return f"fit_and_predict returned predictions of shape {few.shape} for {FEW_PATIENTS} test patients, or values that are not finite"
    if not np.allclose(few, full[:FEW_PATIENTS], rtol=1e-4, atol=1e-2):
        change = float(np.max(np.abs(few - full[:FEW_PATIENTS])))
        return (f"the predictions for the first {FEW_PATIENTS} test patients change (by up to {change:.3g}) when unusual patients "
                "join the test set: take the standardization's statistics from the training set only")
    mse, reference_mse = float(np.mean((full - y_test) ** 2)), float(np.mean((reference - y_test) ** 2))
    if not np.allclose(full, reference, rtol=1e-3, atol=0.05):
        return (f"the predictions reach a test MSE of {mse:.4g} where a correct fix gets {reference_mse:.4g} "
                f"(they differ from it by up to {float(np.max(np.abs(full - reference))):.3g})")
    return None


def stability_tables(rng):
    """Draw feature tables: raw-scale columns, tiny centred columns where the bias decides, and float64 columns."""
    num_rows = int(rng.integers(40, 120))
    means, scales = rng.normal(size=5) * 50, np.exp(rng.uniform(-2, 4, size=5))
    return {
        "x_raw": rng.normal(means, scales, size=(num_rows, 5)).astype(np.float32),
        "x_small": (rng.normal(size=(int(rng.integers(30, 80)), 3)) * rng.uniform(0.01, 0.1)).astype(np.float32),
        "x_64": rng.normal(rng.normal(size=4) * 3, np.exp(rng.uniform(-2, 1, size=4)), size=(60, 4)),
    }


def logistic_data(rng):
    """Return the notebook's split of the tumours, another random split, and a random wine cultivar against the others.

    Each data set is raw (unscaled) features in float32 with labels 0 and 1 of shape (n, 1).
    """
    from sklearn.datasets import load_breast_cancer, load_wine

    cancer, wine = load_breast_cancer(), load_wine()
    notebook_order = np.random.default_rng(0).permutation(len(cancer.target))
    random_order = rng.permutation(len(cancer.target))
    wine_order = rng.permutation(len(wine.target))
    cultivar = int(rng.integers(0, 3))
    data_sets = [(cancer.data[notebook_order], cancer.target[notebook_order], 400),
                 (cancer.data[random_order], cancer.target[random_order], 400),
                 (wine.data[wine_order], (wine.target[wine_order] == cultivar).astype(int), 120)]
    data = {}
    for name, (x, labels, num_train) in zip("abc", data_sets):
        x, y = x.astype(np.float32), labels.reshape(-1, 1).astype(np.float32)
        data.update({f"x_{name}": x[:num_train], f"y_{name}": y[:num_train],
                     f"x_{name}_test": x[num_train:], f"y_{name}_test": y[num_train:]})
    return data


def logistic_call(name):
    """Return the call of exercise 6: the result's type, the trained weights, and the held-out data."""
    return (f"{{'type': type(weights := train_logistic_regression(x_{name}, y_{name})).__name__, "
            f"'weights': weights, 'test': [x_{name}_test, y_{name}_test]}}")


BUG_FIX_CALL = ("{'full': np.asarray(fit_and_predict(x_train, y_train, x_test)), "
                f"'few': np.asarray(fit_and_predict(x_train, y_train, np.concatenate([x_test[:{FEW_PATIENTS}], 10.0 * x_test])))[:{FEW_PATIENTS}], "
                "'y_test': y_test}")

STABILITY_LABELS = ["the limit for five raw-scale features", "the limit for centred features with tiny values (where the bias matters most)",
                    "the limit for float64 features"]

CHECKS = [
    FunctionCheck("ex1_test", calls=[gradient_step_call(""), gradient_step_call("_64"), gradient_step_call("_fit")],
                  inputs=linear_problems, verify=same_tensors),
    FunctionCheck("ex2_test", calls=[BUG_FIX_CALL], inputs=diabetes_split, verify=bug_fix_verdict),
    FunctionCheck("ex3_test", calls=[nesterov_call("", 0.1, 0.9),
                                     nesterov_call("_64", "learning_rate_64", "momentum_64"),
                                     nesterov_call("_plain", 0.25, 0.0)],
                  inputs=momentum_steps, verify=partial(same_tensors, rtol=1e-5, atol=1e-6, rtol64=1e-6, atol64=1e-7)),
    FunctionCheck("ex4_test", calls=[
        adam_call("_64", "dict(zip(['learning_rate', 'beta_1', 'beta_2', 'epsilon'], hyperparameters_64.tolist()))"),
        adam_call("", "{'learning_rate': float(learning_rate)}"),
        adam_call("_tiny", "{}"),
    ], inputs=adam_steps, verify=partial(same_tensors, rtol=1e-6, atol=1e-6, rtol64=1e-7, atol64=1e-9)),
    FunctionCheck("ex5_test", calls=[f"float(largest_stable_learning_rate({name}))" for name in ("x_raw", "x_small", "x_64")],
                  inputs=stability_tables,
                  verify=partial(compare_results, labels=STABILITY_LABELS, rtol=1e-3, atol=0.0, dtypes=True)),
    FunctionCheck("ex6_test", calls=[logistic_call(name) for name in "abc"], inputs=logistic_data, verify=logistic_accuracy),
]
