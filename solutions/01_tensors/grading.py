"""Trusted checks of chapter 1: each tensor function is called on random inputs and compared, dtype included, with the solution's."""

from functools import partial

import numpy as np

from grader.checks import FunctionCheck
from grader.checks.library import compare_results


#: Compare exported results with the reference's: structure, dtypes and values. The notebook's
#: ``checks.check_tensor`` rejects a tensor of the wrong dtype, so the dtypes count. ``float32`` values
#: get compare_results's tolerances (rtol 1e-4, atol 1e-5); ``float64`` values must agree as closely as the
#: notebook's checks require (rtol 1e-5, atol 1e-6).
same_tensors = partial(compare_results, rtol64=1e-5, atol64=1e-6, dtypes=True)


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


def row_updates(rng):
    """Draw tables with ids that repeat (one id at least three times), in float32 and float64, and
    a table whose ids are all different."""
    inputs = {}
    for name, dtype in (("a", np.float32), ("b", np.float64)):
        num_rows, dim, batch = int(rng.integers(5, 10)), int(rng.integers(1, 5)), int(rng.integers(6, 12))
        ids = rng.integers(0, num_rows, size=batch)
        ids[:3] = ids[0]
        inputs[f"table_{name}"] = rng.normal(size=(num_rows, dim)).astype(dtype)
        inputs[f"ids_{name}"] = rng.permutation(ids).astype(np.int32)
        inputs[f"updates_{name}"] = rng.normal(size=(batch, dim)).astype(dtype)
    inputs["table_c"] = rng.normal(size=(6, 2)).astype(np.float32)
    inputs["ids_c"] = rng.permutation(6)[:4].astype(np.int32)
    inputs["updates_c"] = rng.normal(size=(4, 2)).astype(np.float32)
    return inputs


def token_batches(rng):
    """Draw ragged batches of token ids (int32 and int64, with empty rows) and start and end ids."""
    inputs = {}
    for name, dtype in (("a", np.int32), ("b", np.int64), ("c", np.int32)):
        lengths = rng.integers(0, 6, size=int(rng.integers(1, 7)) if name != "c" else 3)
        if name == "c":
            lengths[:] = 0
        else:
            lengths[rng.integers(0, len(lengths))] = 0
        inputs[f"values_{name}"] = rng.integers(3, 1000, size=int(lengths.sum())).astype(dtype)
        inputs[f"lengths_{name}"] = lengths.astype(np.int64)
    inputs["start"], inputs["end"] = np.array(int(rng.integers(0, 3))), np.array(int(rng.integers(1000, 1010)))
    return inputs


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


def saliency_problems(rng):
    """Draw images and kernels for the gradients of sum(tanh(images @ kernel)), float32 and float64."""
    batch, features, units = int(rng.integers(2, 9)), int(rng.integers(2, 7)), int(rng.integers(1, 5))
    return {
        "images": rng.normal(size=(batch, features)).astype(np.float32),
        "kernel": rng.normal(scale=0.5, size=(features, units)).astype(np.float32),
        "images_64": rng.normal(size=(3, 4)),
        "kernel_64": rng.normal(scale=0.5, size=(4, 2)),
    }


def linear_problems(rng):
    """Draw linear regression problems with targets of shape (n,): rows and features of scikit-learn's
    diabetes data, random data, and a problem the model already fits exactly."""
    from sklearn.datasets import load_diabetes

    diabetes_x, diabetes_y = load_diabetes(return_X_y=True)
    rows = rng.choice(len(diabetes_y), size=int(rng.integers(8, 21)), replace=False)
    columns = rng.choice(diabetes_x.shape[1], size=int(rng.integers(1, 5)), replace=False)
    n, d = int(rng.integers(4, 10)), int(rng.integers(1, 5))
    x_fit = rng.integers(-3, 4, size=(3, 2)).astype(np.float32)
    w_fit = rng.integers(-3, 4, size=(2, 1)).astype(np.float32)
    b_fit = rng.integers(-3, 4, size=1).astype(np.float32)
    return {
        "x": diabetes_x[rows][:, columns].astype(np.float32),
        "y": (diabetes_y[rows] / 100).astype(np.float32),
        "w": rng.normal(size=(len(columns), 1)).astype(np.float32),
        "b": rng.normal(size=1).astype(np.float32),
        "x_random": rng.normal(size=(n, d)).astype(np.float32),
        "y_random": rng.normal(size=n).astype(np.float32),
        "w_random": rng.normal(size=(d, 1)).astype(np.float32),
        "b_random": rng.normal(size=1).astype(np.float32),
        "x_fit": x_fit, "y_fit": (x_fit @ w_fit + b_fit).reshape(-1), "w_fit": w_fit, "b_fit": b_fit,
    }


def channels_first_call(name):
    """Return the call of exercise 1 on the flattened images ``flat_<name>``."""
    return f"flat_to_channels_first(tf.constant(flat_{name}), *[int(n) for n in shape_{name}])"


def add_to_rows_call(name):
    """Return the call of exercise 3: the caller's variable after ``add_to_rows`` changed it in place."""
    return (f"(lambda table: (add_to_rows(table, tf.constant(ids_{name}), tf.constant(updates_{name})), table)[1])"
            f"(tf.Variable(table_{name}))")


def start_and_end_call(name):
    """Return the call of exercise 4: the result's type and, for each part, its type, rows and dtype."""
    return (f"{{'type': type(pair := add_start_and_end(tf.RaggedTensor.from_row_lengths(tf.constant(values_{name}), "
            f"tf.constant(lengths_{name})), int(start), int(end))).__name__, "
            "'parts': [{'type': type(part).__name__, "
            "'rows': part.to_list() if isinstance(part, tf.RaggedTensor) else None, "
            "'dtype': part.dtype.name} for part in pair]}")


def gradients_call(suffix):
    """Return the call of exercise 7: the result's type, the gradients, and the variables afterwards."""
    return (f"{{'type': type(gradients := linear_mse_gradients(tf.constant(x{suffix}), tf.constant(y{suffix}), "
            f"(w_variable := tf.Variable(w{suffix})), (b_variable := tf.Variable(b{suffix})))).__name__, "
            "'gradients': gradients, 'w_after': w_variable, 'b_after': b_variable}")


CHECKS = [
    FunctionCheck("ex1_test", calls=[channels_first_call(name) for name in "abcde"],
                  inputs=flat_images, verify=same_tensors),
    FunctionCheck("ex2_test", calls=["predicted_shapes()"], verify=same_tensors),
    FunctionCheck("ex3_test", calls=[add_to_rows_call(name) for name in "abc"],
                  inputs=row_updates, verify=same_tensors),
    FunctionCheck("ex4_test", calls=[start_and_end_call(name) for name in "abc"],
                  inputs=token_batches, verify=same_tensors),
    FunctionCheck("ex5_test", calls=["confident_labels(tf.constant(rows), float(threshold))",
                                     "confident_labels(tf.constant(rows), float(exact_threshold))",
                                     "confident_labels(tf.constant(rows), 0.0)",
                                     "confident_labels(tf.constant(ties), 0.0)",
                                     "confident_labels(tf.constant(ties), 0.5)",
                                     "confident_labels(tf.constant(ties), 0.95)",
                                     "confident_labels(tf.constant(one_hot), 0.99)"],
                  inputs=probabilities, verify=same_tensors),
    FunctionCheck("ex6_test", calls=["score_gradients(tf.constant(images), tf.Variable(kernel))",
                                     "score_gradients(tf.constant(images_64), tf.Variable(kernel_64))"],
                  inputs=saliency_problems, verify=same_tensors),
    FunctionCheck("ex7_test", calls=[gradients_call(""), gradients_call("_random"), gradients_call("_fit")],
                  inputs=linear_problems, verify=same_tensors),
]
