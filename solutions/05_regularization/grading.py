"""Trusted checks of chapter 5: dropout, penalties and batch norm on random inputs, the augmenter's layers, early stopping, the regularized Fashion-MNIST model (budget, accuracy and cross-entropy on the test images), and predictions of what image_dataset_from_directory finds in a folder."""

import functools

import numpy as np

from grader.checks import FunctionCheck, ModelCheck
from grader.checks.library import compare_results, fashion_test_images, parameter_budget

#: The accuracy the regularized model of exercise 6 must reach on the grader's held-out data.
REGULARIZED_MIN_ACCURACY = 0.79

#: The mean cross-entropy it must stay under on the same data (the unregularized network reaches about 0.63).
REGULARIZED_MAX_CROSS_ENTROPY = 0.57

#: The parameter budget of exercise 6 (the unregularized network of the notebook has 269,322).
REGULARIZED_MAX_PARAMETERS = 300_000


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


#: The grader's held-out data: the 10,000 Fashion-MNIST test images, scaled to [0, 1], and their labels. The
#: notebook never trains on them. Where the real data cannot be had offline, the loader falls back to
#: scikit-learn's digits (it says so), and the thresholds, calibrated on Fashion-MNIST, do not apply.
fashion_test_set = functools.partial(fashion_test_images, "all")


def cross_entropy(model, x, y):
    """Return the mean cross-entropy of the model's predicted probabilities against integer labels."""
    probabilities = np.asarray(model.predict(x, batch_size=1000, verbose=0), dtype="float64")
    picked = probabilities[np.arange(len(y)), np.asarray(y)]
    return float(np.mean(-np.log(np.clip(picked, 1e-7, 1.0))))


def regularized_rules(model, reference):
    """Require the parameter budget, probabilities as outputs, and the accuracy target on the held-out data.

    The cross-entropy target is the check's metric (measured after these rules pass).

    Parameters
    ----------
    model, reference : keras.Model
        The student's trained model and the solution's (unused: the check's ``same_shapes`` compares
        the input and output shapes with it).
    """
    from grader.checks import accuracy

    problem = parameter_budget(model, max_parameters=REGULARIZED_MAX_PARAMETERS)
    if problem:
        return f"{problem}: regularize the network rather than enlarge it"
    x_test, y_test = fashion_test_set()
    probabilities = np.asarray(model.predict(x_test[:100], verbose=0))
    if probabilities.min() < -1e-6 or not np.allclose(probabilities.sum(axis=-1), 1.0, atol=1e-3):
        return "the model's outputs are not probabilities that sum to 1: end the model with a softmax layer"
    reached = accuracy(model, x_test, y_test)
    if reached < REGULARIZED_MIN_ACCURACY:
        return (f"the model's accuracy on the grader's held-out data is {reached:.4g}, below the target of "
                f"{REGULARIZED_MIN_ACCURACY}: the model underfits, regularize it less")
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


#: Class folder names to draw from: upper and lower case, digits and spaces sort in ways a learner must know.
FOLDER_NAMES = ["Bag", "bag_old", "Coat", "coat", "Sandal", "sneaker", "T-shirt", "trouser", "10_dress", "9_shirt",
                "Ankle boot", "ankle_boot", "_misc"]

#: File name endings to draw from: image formats that Keras reads (in any case) and files it skips.
FILE_ENDINGS = [".png", ".PNG", ".jpg", ".jpeg", ".JPG", ".gif", ".bmp", ".Png", ".txt", ".csv", ".webp", ".json", ".tiff"]

#: How many folders ``image_folders`` draws.
NUM_FOLDER_CASES = 8


def image_folders(rng):
    """Draw folders of files (some in subfolders, some not images), batch sizes and validation splits.

    Every case has at least two images, and its split always sends at least one image to validation
    and at least one to training (Keras's split misbehaves otherwise).
    """
    image_endings = (".bmp", ".gif", ".jpeg", ".jpg", ".png")
    cases = {}
    for case in range(NUM_FOLDER_CASES):
        while True:
            names = rng.choice(FOLDER_NAMES, size=int(rng.integers(2, 6)), replace=False)
            paths = []
            for name in names:
                for index in range(int(rng.integers(1, 12))):
                    subfolder = "extra/" if rng.uniform() < 0.15 else ""
                    paths.append(f"{name}/{subfolder}{index:03d}{rng.choice(FILE_ENDINGS)}")
            num_images = sum(path.lower().endswith(image_endings) for path in paths)
            split = float(rng.choice([0.1, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5]))
            if 1 <= int(split * num_images) < num_images:
                break
        order = rng.permutation(len(paths))
        cases[f"paths_{case}"] = np.array([paths[index] for index in order])
        cases[f"batch_{case}"] = np.array(int(rng.choice([1, 2, 3, 4, 5, 8, 32])))
        cases[f"split_{case}"] = np.array(split)
    return cases


def image_folder_call(paths, batch_size, split):
    """Return the call of exercise 7: the result's type, its class names as strings and its two counts as ints."""
    return ("(lambda result: [type(result).__name__, [str(name) for name in result[0]], int(result[1]), int(result[2])])"
            f"(predict_image_folder({paths}, {batch_size}, {split}))")


FIXED_FOLDERS = [
    (["sneaker/a.png", "sneaker/b.PNG", "sneaker/notes.txt", "Bag/1.jpg", "Bag/2.jpeg", "Bag/old/3.png", "Coat/x.gif",
      "Coat/y.bmp", "Coat/z.webp", "ankle_boot/1.png", "ankle_boot/2.png", "ankle_boot/3.png"], 4, 0.25),
    ([f"class_{label}/{index}.png" for label in range(2) for index in range(7)], 2, 0.25),
    (["b/1.png", "b/2.png", "a/readme.txt", "C/1.jpg", "C/2.jpg", "C/3.jpg"], 2, 0.4),
]

#: The calls of exercise 7 in words, for messages (the calls themselves hold long lists of paths).
IMAGE_FOLDER_LABELS = [
    "predict_image_folder(example_paths, 4, 0.25) with the notebook's example_paths",
    "predict_image_folder(14 images in 2 folders, 2, 0.25)",
    "predict_image_folder(['b/1.png', 'b/2.png', 'a/readme.txt', 'C/1.jpg', 'C/2.jpg', 'C/3.jpg'], 2, 0.4)",
] + [f"predict_image_folder on the grader's folder {index + 1} of {NUM_FOLDER_CASES}" for index in range(NUM_FOLDER_CASES)]

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
    ModelCheck("ex6_test", call="regularized_model", same_parameters=False, held_out=fashion_test_set,
               threshold=REGULARIZED_MAX_CROSS_ENTROPY, metric=cross_entropy, metric_name="cross-entropy",
               lower_is_better=True, verify=regularized_rules),
    FunctionCheck("ex7_test", calls=[image_folder_call(paths, batch_size, split) for paths, batch_size, split in FIXED_FOLDERS]
                  + [image_folder_call(f"paths_{index}.tolist()", f"int(batch_{index})", f"float(split_{index})")
                     for index in range(NUM_FOLDER_CASES)],
                  inputs=image_folders, verify=functools.partial(compare_results, labels=IMAGE_FOLDER_LABELS)),
]
