"""Trusted checks of chapter 1: each tensor function is called on random inputs and compared, dtype included, with the solution's."""

from functools import partial

import numpy as np

from grader.checklib import compare_results
from grader.specs import FunctionCheck


def same_tensors(results, expected, rtol=1e-4, atol=1e-5):
    """Compare exported results with the reference's: structure, dtypes and values.

    The notebook's ``checks.check_tensor`` rejects a tensor of the wrong dtype, so the dtypes count.
    ``rtol`` and ``atol`` apply to ``float32`` values; ``float64`` values must agree as closely as the
    notebook's checks require (rtol 1e-5, atol 1e-6).
    """
    return compare_results(results, expected, rtol=rtol, atol=atol, rtol64=1e-5, atol64=1e-6, dtypes=True)


def flat_images(rng):
    """Draw flattened channels-last images: several dtypes, one image, one channel."""
    inputs = {}
    for name, dtype, (batch, height, width, channels) in [
        ("a", np.float32, (2, 3, 1, 4)),
        ("b", np.int64, (3, 2, 2, 3)),
        ("c", np.int32, (1, 2, 3, 2)),
        ("d", np.float32, (1, 2, 3, 1)),
        ("e", np.float32, tuple(rng.integers(2, 6, size=4))),
    ]:
        size = height * width * channels
        inputs[f"flat_{name}"] = rng.permutation(batch * size).reshape(batch, size).astype(dtype) * 3 - 7
        inputs[f"shape_{name}"] = np.array([height, width, channels])
    return inputs


def tables(rng):
    """Draw tables to standardize: float64 with small and large spreads, float32 with more rows."""
    scales = np.array([0.3, 1.0, 20.0])
    return {
        "table_64": rng.normal(rng.normal(size=3) * 5, scales, size=(int(rng.integers(4, 9)), 3)),
        "table_32": rng.normal(5.0, 2.0, size=(int(rng.integers(30, 80)), 4)).astype(np.float32),
        "table_2": rng.normal(size=(2, 5)).astype(np.float32),
    }


def probabilities(rng):
    """Draw softmax rows with a threshold that keeps half of them, ties, one-hot rows, and a threshold
    equal to one row's best probability."""
    rows = rng.dirichlet(np.ones(4), size=8).astype(np.float32)
    maxima = np.sort(rows.max(axis=1))
    ids = rng.integers(0, 5, size=6)
    return {
        "rows": rows,
        "threshold": np.array((float(maxima[3]) + float(maxima[4])) / 2),
        "exact_threshold": np.array(float(rows[3].max())),
        "ties": np.array([[0.2, 0.8], [0.6, 0.4], [0.5, 0.5], [0.25, 0.75]], dtype=np.float32),
        "one_hot": np.eye(5, dtype=np.float32)[ids],
    }


def sentences(rng):
    """Draw sentences of accented, Japanese and plain words, with runs of spaces and empty ones."""
    letters = list("abcdefghijklmnopqrstuvwxyzéèêëçàïöüñåø") + list("日本語ですテンソル")

    def sentence(words):
        pieces = ["".join(rng.choice(letters, size=rng.integers(1, 9))) for _ in range(words)]
        spaces = [" " * int(rng.integers(1, 4)) for _ in range(words + 1)]
        return spaces[0] * int(rng.integers(0, 2)) + "".join(p + s for p, s in zip(pieces, spaces[1:]))

    return {
        "batch": np.array([sentence(int(rng.integers(1, 7))) for _ in range(5)] + [""]),
        "blank": np.array(["   ", sentence(3)]),
    }


def points(rng):
    """Draw points where the derivative is evaluated: float32 of several shapes and float64."""
    return {
        "matrix": rng.uniform(-3, 3, size=(2, 3)).astype(np.float32),
        "vector": rng.uniform(-3, 3, size=13).astype(np.float32),
        "scalar": np.array(rng.uniform(-3, 3)),
        "cube": rng.uniform(-3, 3, size=(2, 2, 2)),
    }


def linear_problems(rng):
    """Draw linear regression problems, one of which the model already fits exactly."""
    n, d = int(rng.integers(4, 10)), int(rng.integers(1, 5))
    x_fit = rng.integers(-3, 4, size=(3, 2)).astype(np.float32)
    w_fit = rng.integers(-3, 4, size=(2, 1)).astype(np.float32)
    b_fit = rng.integers(-3, 4, size=1).astype(np.float32)
    return {
        "x": rng.normal(size=(n, d)).astype(np.float32),
        "y": rng.normal(size=(n, 1)).astype(np.float32),
        "w": rng.normal(size=(d, 1)).astype(np.float32),
        "b": rng.normal(size=1).astype(np.float32),
        "x_fit": x_fit, "y_fit": x_fit @ w_fit + b_fit, "w_fit": w_fit, "b_fit": b_fit,
    }


def channels_first_call(name):
    """Return the call of exercise 1 on the flattened images ``flat_<name>``."""
    return f"flat_to_channels_first(tf.constant(flat_{name}), *[int(n) for n in shape_{name}])"


def word_lengths_call(name):
    """Return the call of exercise 4: the result's type, its rows and its dtype."""
    return (f"{{'type': type(lengths := word_lengths(tf.constant({name}))).__name__, "
            "'rows': lengths.to_list() if isinstance(lengths, tf.RaggedTensor) else None, "
            "'dtype': lengths.dtype.name}")


def gradients_call(suffix):
    """Return the call of exercise 6: the result's type, the gradients, and the variables afterwards."""
    return (f"{{'type': type(gradients := linear_mse_gradients(tf.constant(x{suffix}), tf.constant(y{suffix}), "
            f"(w_variable := tf.Variable(w{suffix})), (b_variable := tf.Variable(b{suffix})))).__name__, "
            "'gradients': gradients, 'w_after': w_variable, 'b_after': b_variable}")


CHECKS = [
    FunctionCheck("ex1_test", calls=[channels_first_call(name) for name in "abcde"],
                  inputs=flat_images, verify=same_tensors),
    FunctionCheck("ex2_test", calls=["standardize_columns(tf.constant(table_64))",
                                     "standardize_columns(tf.constant(table_32))",
                                     "standardize_columns(tf.constant(table_2))"],
                  inputs=tables, verify=same_tensors),
    FunctionCheck("ex3_test", calls=["confident_labels(tf.constant(rows), float(threshold))",
                                     "confident_labels(tf.constant(rows), float(exact_threshold))",
                                     "confident_labels(tf.constant(rows), 0.0)",
                                     "confident_labels(tf.constant(ties), 0.0)",
                                     "confident_labels(tf.constant(ties), 0.5)",
                                     "confident_labels(tf.constant(ties), 0.95)",
                                     "confident_labels(tf.constant(one_hot), 0.99)"],
                  inputs=probabilities, verify=same_tensors),
    FunctionCheck("ex4_test", calls=[word_lengths_call("batch"), word_lengths_call("blank")],
                  inputs=sentences, verify=same_tensors),
    FunctionCheck("ex5_test", calls=[f"cubic_gradient(tf.constant({name}))" for name in ("matrix", "vector", "scalar", "cube")],
                  inputs=points, verify=partial(same_tensors, rtol=1e-5, atol=1e-6)),
    FunctionCheck("ex6_test", calls=[gradients_call(""), gradients_call("_fit")],
                  inputs=linear_problems, verify=same_tensors),
]
