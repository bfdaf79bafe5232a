"""Trusted checks of chapter 10 (see grader/checks/): parameter counts after freezing, a frozen base on raw pixels,
a fine-tuning recipe without its bugs, unfreezing the top layers, and transfer with 20 labels per class."""

import functools

import numpy as np

from grader.checks import FunctionCheck, ModelCheck

#: The layer names of the course's pretrained base (``pretrained.load_base_model()``), in order.
BASE_LAYERS = ["image", "block1_conv", "block1_bn", "block1_relu", "block2_conv", "block2_bn", "block2_relu",
               "block2_pool", "block3_conv", "block3_bn", "block3_relu", "block3_pool", "features"]

#: The accuracy that Exercises 3 and 5 require on the target images that the grader keeps apart (the second half
#: of the target classes' test images, which the notebook never uses). Measured with real Fashion-MNIST on
#: a CPU, the solutions reached 87 % (Exercise 3, 50 labels per class) and 80 % (Exercise 5, 20 per class;
#: a network trained from scratch on those 100 images reaches 42-72 %, the head of the weak wrong answer less).
FINE_TUNE_THRESHOLD = 0.80
FEW_LABELS_THRESHOLD = 0.75

# Exercise 4, applied to a model and a list of layer counts: it freezes the model,
# then calls unfreeze_top_layers with each count in turn, on the same model, and records after each
# call the count, what the function returned, model.trainable and the sorted paths of the trainable weights.
UNFREEZE_SEQUENCE = ("(lambda model, counts: [setattr(model, 'trainable', False)] and "
                     "[[int(count), unfreeze_top_layers(model, int(count)), model.trainable, "
                     "sorted(weight.path for weight in model.trainable_weights)] for count in counts])")


def count_cases(rng):
    """Draw the arguments of count_parameters: every freezing decision, each with a random head size.

    Parameters
    ----------
    rng : numpy.random.Generator
        The grader's random generator.

    Returns
    -------
    dict
        ``cases``: int64 rows ``(num_classes, num_unfrozen_blocks, batch_norm_trainable)``, the eight
        combinations of 0 to 3 unfrozen blocks and both BatchNormalization choices, then four more
        drawn at random, so that every answer that gets one decision wrong fails whatever the seed.
    """
    decisions = [(blocks, flag) for blocks in range(4) for flag in (0, 1)]
    decisions += [(int(rng.integers(0, 4)), int(rng.integers(0, 2))) for _ in range(4)]
    return {"cases": np.array([(int(rng.integers(2, 31)), blocks, flag) for blocks, flag in decisions], dtype="int64")}


def unfreeze_counts(rng):
    """Draw the sequences of layer counts passed to unfreeze_top_layers.

    Besides the random counts, each sequence holds every count that puts a Conv2D layer just below the
    cut: 4, 8 and 11 on the base (``block3_conv``, ``block2_conv`` and ``block1_conv`` are its layers 8, 4
    and 1 of 13), 5, 9 and 12 on a base with its top (14 layers). Only these counts reject an answer that
    unfreezes one layer too many (one that counts the InputLayer apart, say): below the other cuts lies a
    layer without weights or a BatchNormalization layer, which stays frozen anyway, so the trainable
    weights are the same as the solution's.

    Parameters
    ----------
    rng : numpy.random.Generator
        The grader's random generator.

    Returns
    -------
    dict
        ``base_counts`` for the base without its top (13 layers), including all layers and 2 layers,
        and ``top_counts`` for a base with its top (14 layers).
    """
    return {"base_counts": np.array([rng.integers(3, 13), 13, 2, 4, rng.integers(1, 13), 5, 8, 11, 9]),
            "top_counts": np.array([2, rng.integers(3, 15), 5, 6, 9, 12, 14])}


def check_unfreeze_steps(results, expected):
    """Compare, step by step, the state of the models after each call of unfreeze_top_layers.

    Parameters
    ----------
    results, expected : list
        For each model, a list of steps ``[count, returned value, model.trainable, trainable weight paths]``.

    Returns
    -------
    str or None
        Which call left the model in another state than the solution, or None. When the only extra
        trainable weights are those of the layer just below the last ``count`` layers, it says so.
    """
    # The layer names of each model, in order: the base, then the base with its Dense top.
    layer_names = [BASE_LAYERS, BASE_LAYERS + ["source_classifier"]]
    for model_name, names, steps, expected_steps in zip(["the base", "a base with its top"], layer_names,
                                                        results, expected):
        if not isinstance(steps, list) or len(steps) != len(expected_steps):
            return f"unfreeze_top_layers on {model_name}: unexpected results"
        for step, (count, returned, trainable, paths) in zip(steps, expected_steps):
            where = f"after unfreeze_top_layers({model_name}, {count}) (calls on one model follow each other)"
            if not isinstance(step, list) or len(step) != 4:
                return f"unfreeze_top_layers on {model_name}: unexpected results"
            if step[1] is not returned:
                return f"unfreeze_top_layers returned {step[1]!r:.60}, expected None (it works in place)"
            if step[2] is not trainable:
                return f"model.trainable is {step[2]!r}, expected {trainable!r}, {where}"
            if step[3] != paths:
                extra = sorted(set(step[3]) - set(paths))
                missing = sorted(set(paths) - set(step[3]))
                problem = (f"the trainable weights {where} differ: trainable but should be frozen {extra}, "
                           f"frozen but should be trainable {missing}")
                # An answer that unfreezes one layer too many makes only the layer below the cut trainable.
                below = names[len(names) - count - 1] if count < len(names) else None
                if not missing and {path.split("/")[0] for path in extra} == {below}:
                    problem += (f"; {below}, the layer just below the last {count} layers of model.layers, is "
                                f"trainable too (unfreeze exactly num_layers layers: the InputLayer is one of "
                                f"model.layers)")
                return problem
    return None


def nested_base(model):
    """Return the model's layer that is the pretrained base (a nested model with the base's layers), or None.

    Parameters
    ----------
    model : keras.Model
        A student's or the solution's model.

    Returns
    -------
    keras.Model or None
        The first layer of ``model`` that is itself a model with the layers of the course's base.
    """
    import keras

    for layer in model.layers:
        if isinstance(layer, keras.Model) and [inner.name for inner in layer.layers] == BASE_LAYERS:
            return layer
    return None


def base_problem(model):
    """Say why ``model`` does not contain the pretrained base, or return None.

    The base must be one layer of the model, and its BatchNormalization statistics must have moved from
    their initial values (a fresh, untrained copy of the architecture is not the pretrained base).
    """
    base = nested_base(model)
    if base is None:
        return ("the model does not contain the pretrained base as one of its layers "
                "(call base(...) inside your model)")
    moving_variance = base.get_layer("block1_bn").moving_variance.numpy()
    if np.allclose(moving_variance, 1.0):
        return "the base inside the model is not pretrained (use the base passed to your function)"
    return None


def check_pixel_classifier(model, reference):
    """Check Exercise 2: one Rescaling layer, the pretrained base, a Dense softmax head, no training-mode effect.

    On raw pixels, the model's output must be the head applied to the base's features of the pixels
    mapped to -1..1 (what ``pretrained.preprocess_input`` does), and the same in training mode.
    """
    import keras

    rescalings = sum(isinstance(layer, keras.layers.Rescaling) for layer in model.layers)
    if rescalings != 1:
        return f"the model has {rescalings} Rescaling layers, expected 1"
    problem = base_problem(model)
    if problem:
        return problem
    if len(model.trainable_weights) != len(reference.trainable_weights):
        return (f"the model has {len(model.trainable_weights)} trainable weight tensors, expected "
                f"{len(reference.trainable_weights)} (the head's kernel and bias)")
    head = model.layers[-1]
    if not isinstance(head, keras.layers.Dense):
        return f"the last layer is a {type(head).__name__}, expected the Dense softmax head"
    pixels = np.random.default_rng(0).integers(0, 256, size=(6, 28, 28, 1)).astype("float32")
    # The head itself computes the expected output, so that both sides use the same kernels (TF32 on a GPU).
    features = nested_base(model).predict(pixels / 127.5 - 1.0, verbose=0)
    expected = keras.ops.convert_to_numpy(head(features))
    output = np.asarray(model.predict(pixels, verbose=0))
    if output.shape != expected.shape or not np.allclose(output, expected, rtol=1e-3, atol=1e-5):
        return ("the model's output on raw pixels is not the head applied to the base's features of the pixels "
                "mapped to -1..1 (compare the Rescaling with pretrained.preprocess_input)")
    training = np.asarray(model(pixels, training=True))
    if not np.allclose(training, np.asarray(model(pixels, training=False)), rtol=1e-4, atol=1e-5):
        return ("the model's output differs in training mode (freeze the base so that its BatchNormalization "
                "layers stay in inference mode, and add no Dropout)")
    return None


@functools.lru_cache(maxsize=1)
def held_out_target():
    """Return the target images that the grader keeps apart, preprocessed, and their labels 0 to 4.

    They are the second half of the test images of :data:`course_utils.pretrained.TARGET_CLASSES`
    (the notebook's test set is the first half). On a machine without Fashion-MNIST the loader falls
    back to digits, and so does the notebook: the measurement is then of digits.

    Returns
    -------
    tuple of numpy.ndarray
        Images of shape ``(n, 28, 28, 1)`` mapped to -1..1, and integer labels.
    """
    from course_utils import data, pretrained

    fashion = data.load_fashion_mnist(verbose=False)
    keep = np.isin(fashion.y_test, pretrained.TARGET_CLASSES)
    images = fashion.x_test[keep]
    labels = np.searchsorted(pretrained.TARGET_CLASSES, fashion.y_test[keep])
    half = len(labels) // 2
    return pretrained.preprocess_input(images[half:]), labels[half:]


@functools.lru_cache(maxsize=1)
def _pretrained_base():
    """Load the course's pretrained base from the cache that the notebook read, once per verifier process."""
    from course_utils import data, pretrained

    return pretrained.load_base_model(split=data.load_fashion_mnist(verbose=False), verbose=False)


def five_outputs_problem(model):
    """Say why ``model`` does not map images to five class probabilities with the pretrained base inside."""
    shapes = [tuple(output.shape) for output in model.outputs]
    if len(shapes) != 1 or shapes[0][1:] != (5,):
        return f"the model's outputs have shapes {shapes}, expected [(None, 5)]"
    return base_problem(model)


def check_fine_tuned(model, reference):
    """Check Exercise 3: of the base's weights, training changed block3_conv's kernel and nothing else.

    Every weight of the base inside the student's trained model (trainable or not, the BatchNormalization
    moving statistics included) is compared with the pretrained base read from the Keras cache. The
    accuracy on the held-out target images is measured by the check's ``held_out`` and ``threshold``.
    """
    problem = five_outputs_problem(model)
    if problem:
        return problem
    trained, pretrained_base = nested_base(model), _pretrained_base()
    changed = []
    for name in BASE_LAYERS:
        for weight, original in zip(trained.get_layer(name).weights, pretrained_base.get_layer(name).weights):
            if not np.array_equal(np.asarray(weight), np.asarray(original)):
                changed.append(f"{name}/{weight.name}")
    convolutions = [path for path in changed if path.startswith(("block1_conv", "block2_conv"))]
    if convolutions:
        return (f"training changed the pretrained weights {convolutions}: freeze the base while the new head "
                f"trains, and unfreeze only block3_conv for fine-tuning")
    batch_norm = [path for path in changed if "_bn/" in path]
    if batch_norm:
        return (f"training changed the BatchNormalization weights {batch_norm}: keep every BatchNormalization "
                f"layer frozen, also after unfreezing the base")
    if "block3_conv/kernel" not in changed:
        return ("block3_conv's kernel is still the pretrained one: fine-tuning did not train it (compile the "
                "model again after changing trainable)")
    return None


def check_transfer_classifier(model, reference):
    """Check Exercise 5: five outputs and the pretrained base inside; the accuracy is the check's threshold."""
    return five_outputs_problem(model)


CHECKS = [
    FunctionCheck("ex1_test",
                  calls=["[list(count_parameters(int(case[0]), int(case[1]), bool(case[2]))) for case in cases]"],
                  inputs=count_cases, rtol=0.0, atol=0.0, dtypes=True),
    # The base of the hidden test: a fresh pretrained base and three classes.
    ModelCheck("ex2_test", call="build_pixel_classifier(pretrained.load_base_model(split=fashion, verbose=False), 3)",
               verify=check_pixel_classifier),
    # The model that the test cell trained (training is not deterministic): checked by its weights
    # against the pretrained base and by its accuracy on target images the notebook never sees.
    ModelCheck("ex3_test", call="tuned_model", same_parameters=False, held_out=held_out_target,
               threshold=FINE_TUNE_THRESHOLD, verify=check_fine_tuned),
    FunctionCheck("ex4_test",
                  calls=[UNFREEZE_SEQUENCE + "(pretrained.load_base_model(split=fashion, verbose=False), base_counts)",
                         UNFREEZE_SEQUENCE + "(pretrained.build_base_model(num_classes=3), top_counts)"],
                  inputs=unfreeze_counts, verify=check_unfreeze_steps),
    ModelCheck("ex5_test", call="my_transfer_model", same_parameters=False, same_shapes=False,
               held_out=held_out_target, threshold=FEW_LABELS_THRESHOLD, verify=check_transfer_classifier),
]
