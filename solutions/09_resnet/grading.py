"""Trusted checks of chapter 9: gradient norms, residual and bottleneck blocks, a small ResNet for Fashion-MNIST
on two budgets, and ImageNet ResNets."""

import functools

import numpy as np

from grader.checks import FunctionCheck, ModelCheck
from grader.checks.library import fashion_test_images, gated, parameter_budget


def gradient_inputs(rng):
    """Draw a batch of 64-pixel vectors and digit labels, and a seed for building the models.

    Parameters
    ----------
    rng : numpy.random.Generator
        The grader's generator.

    Returns
    -------
    dict of numpy.ndarray
        ``x`` (64, 64) float32 in [0, 1], ``images`` (50, 8, 8, 1), ``y`` (64,) ints and ``seed``.
    """
    x = rng.uniform(size=(64, 64)).astype("float32")
    return {"x": x, "images": x[:50].reshape(50, 8, 8, 1), "y": rng.integers(0, 10, size=64),
            "seed": np.array(rng.integers(0, 1000))}


def layer_signatures(model):
    """Return the sorted configurations of the Conv2D, BatchNormalization and Add layers of a model.

    Parameters
    ----------
    model : keras.Model

    Returns
    -------
    list of str
        One line per layer: class, output shape, and kernel size, strides, filters and bias of a
        convolution or momentum of a batch normalization. Sorted, so that the order in which a
        correct answer creates its layers does not matter.
    """
    rows = []
    for layer in model.layers:
        kind = type(layer).__name__
        if kind == "Conv2D":
            rows.append(f"Conv2D {tuple(layer.output.shape)} kernel {tuple(layer.kernel_size)} strides "
                        f"{tuple(layer.strides)} filters {layer.filters} bias {layer.use_bias}")
        elif kind == "BatchNormalization":
            rows.append(f"BatchNormalization {tuple(layer.output.shape)} momentum {layer.momentum:g}")
        elif kind == "Add":
            rows.append(f"Add {tuple(layer.output.shape)}")
    return sorted(rows)


def same_signatures(model, reference):
    """Require the reference's convolutions, batch normalizations and additions (see layer_signatures).

    Returns
    -------
    str or None
        The first layer that the student's model lacks or has in excess, or None.
    """
    got, expected = layer_signatures(model), layer_signatures(reference)
    missing = [row for row in expected if row not in got]
    extra = [row for row in got if row not in expected]
    if missing or extra:
        return f"the layers differ from the specification: missing {missing[:2]}, unexpected {extra[:2]}"
    return None


def branches_switched_off(model, offsets=False):
    """Return the model's output once every branch outputs a constant and every projection is an identity.

    Like the notebook's tests, sets gamma to zero in each BatchNormalization that does not follow a
    1x1 convolution, so that it outputs its beta whatever its input; then every 1x1 kernel becomes
    ``eye(in, out)`` (in a bottleneck branch they only see constants), so that the output no longer
    depends on the random initial weights and can be compared with the solution's.

    Parameters
    ----------
    model : keras.Model
        A chain of blocks, changed in place.
    offsets : bool
        Give every BatchNormalization the beta ``linspace(-1, 1, channels)`` instead of the
        notebook's zeros. Negative values then reach the addition, so that a ReLU between the last
        batch normalization of a branch (or of a projection) and the Add changes the output, which
        it does not when the branches output zeros.

    Returns
    -------
    numpy.ndarray
        The output on two fixed random inputs, in inference mode.
    """
    for layer in model.layers:
        if type(layer).__name__ == "BatchNormalization":
            source = layer.input._keras_history.operation
            after_1x1 = type(source).__name__ == "Conv2D" and tuple(source.kernel_size) == (1, 1)
            gamma, beta, moving_mean, moving_variance = layer.get_weights()
            if offsets:
                beta = np.linspace(-1, 1, len(beta), dtype=beta.dtype)
            elif not after_1x1:
                beta = np.zeros_like(beta)
            if not after_1x1:
                gamma = np.zeros_like(gamma)
            layer.set_weights([gamma, beta, moving_mean, moving_variance])
    for layer in model.layers:
        if type(layer).__name__ == "Conv2D" and tuple(layer.kernel_size) == (1, 1):
            kernel = layer.get_weights()[0]
            layer.set_weights([np.eye(kernel.shape[2], kernel.shape[3], dtype="float32")[None, None]])
    inputs = np.random.default_rng(0).normal(size=(2,) + tuple(model.inputs[0].shape[1:])).astype("float32")
    return np.asarray(model(inputs, training=False))


def same_blocks(model, reference):
    """Require the reference's layers and outputs, with branches that output zeros, then constants of both signs.

    Parameters
    ----------
    model, reference : keras.Model
        Chains of the student's and the solution's blocks.

    Returns
    -------
    str or None
        Why the blocks differ, or None.
    """
    problem = same_signatures(model, reference)
    if problem:
        return problem
    got, expected = branches_switched_off(model), branches_switched_off(reference)
    if got.shape != expected.shape or not np.allclose(got, expected, rtol=1e-4, atol=1e-5):
        return ("with the branches switched off, the blocks do not compute ReLU(shortcut(x)) "
                "(add the shortcut to the branch, then apply the ReLU; project only when the shape changes)")
    # A ReLU before the addition passes the zeros above unchanged; constants of both signs do not.
    got, expected = branches_switched_off(model, offsets=True), branches_switched_off(reference, offsets=True)
    if not np.allclose(got, expected, rtol=1e-4, atol=1e-5):
        return ("with branches that output constants of both signs, the blocks do not compute "
                "ReLU(shortcut(x) + F(x)): apply no ReLU to the branch or to the projection before the Add "
                "(each ends with its BatchNormalization), only one ReLU after it")
    return None


def conv_macs(model):
    """Return the multiply-adds that a model's Conv2D layers perform on one image, as the notebook counts them."""
    total = 0
    for layer in model.layers:
        if type(layer).__name__ == "Conv2D":
            kernel_height, kernel_width, in_channels, out_channels = layer.kernel.shape
            _, out_height, out_width, _ = layer.output.shape
            total += out_height * out_width * kernel_height * kernel_width * in_channels * out_channels
    return int(total)


def small_resnet_rules(model, reference):
    """Require at least 3 Add layers, at most 50,000 parameters and at most 4 million multiply-adds per photo.

    Parameters
    ----------
    model, reference : keras.Model
        The student's trained ResNet and the solution's (unused).

    Returns
    -------
    str or None
        The first rule broken, or None.
    """
    additions = sum(type(layer).__name__ == "Add" for layer in model.layers)
    if additions < 3:
        return f"the model has {additions} Add layers, expected at least 3 residual blocks"
    problem = parameter_budget(model, max_parameters=PARAMETER_BUDGET)
    if problem:
        return problem
    macs = conv_macs(model)
    if macs > MAC_BUDGET:
        return (f"the model's convolutions perform {macs:,} multiply-adds per photo, above the budget of "
                f"{MAC_BUDGET:,}: downsample before the first residual block")
    return None


#: The second half of the Fashion-MNIST test set as ``(x, y)``, photos ``(28, 28, 1)`` in [0, 1]. The notebook
#: trains on the first 6,000 training photos, validates on the next 1,000 and tests on the first 2,000 test
#: photos, so these 5,000 are never seen by it. On a machine without Fashion-MNIST the loader falls back to
#: digits, and so does the notebook: the measurement is then of digits.
fashion_held_out = functools.partial(fashion_test_images, "second half", layout="channels")


#: The budgets of exercise 4: parameters (``count_params()``) and multiply-adds of the Conv2D layers per photo.
PARAMETER_BUDGET = 50_000
MAC_BUDGET = 4_000_000


def relu_count(model):
    """Return how many ReLUs a model applies.

    Parameters
    ----------
    model : keras.Model

    Returns
    -------
    int
        The ReLU layers, the relu operations (``keras.ops.relu`` or ``keras.activations.relu`` on a
        symbolic tensor, which are not layers) and the layers with a relu activation, such as
        ``Activation("relu")``.
    """
    return sum(type(operation).__name__ in ("ReLU", "Relu")
               or getattr(getattr(operation, "activation", None), "__name__", None) == "relu"
               for operation in model.operations)


def same_resnet(model, reference):
    """Require the reference ResNet's layers, the input shape of its global pooling, its softmax and its ReLUs.

    Parameters
    ----------
    model, reference : keras.Model
        The student's and the solution's networks.

    Returns
    -------
    str or None
        Why the networks differ, or None.
    """
    def pooled(net):
        return [tuple(layer.input.shape) for layer in net.layers if type(layer).__name__ == "GlobalAveragePooling2D"]

    if pooled(model) != pooled(reference):
        return f"the global pooling layers read shapes {pooled(model)}, expected {pooled(reference)}"
    problem = same_signatures(model, reference)
    if problem:
        return problem
    # A network without its softmax, or without the ReLU of its stem, has the solution's shapes and
    # parameters: its outputs must be probabilities, and it must apply as many ReLUs.
    inputs = np.random.default_rng(0).normal(size=(2,) + tuple(model.inputs[0].shape[1:])).astype("float32")
    sums = np.asarray(model(inputs, training=False)).sum(axis=-1)
    if not np.allclose(sums, 1, atol=1e-4):
        return (f"the outputs on two images sum to {sums[0]:.3g} and {sums[1]:.3g} over the classes, not to 1: "
                'end the network with Dense(num_classes, activation="softmax")')
    if relu_count(model) != relu_count(reference):
        return (f"the network applies {relu_count(model)} ReLUs, expected {relu_count(reference)}: the stem is "
                "Conv-BN-ReLU before its max pooling, and each block applies the ReLUs of its exercise")
    return None


# Exercise 1: models built after the same seed, so that the student's norms and the solution's are
# computed for the same weights: a deep plain network, one with batch normalization (which needs
# training=True) and a model with a Conv2D layer (only Dense kernels count).
GRADIENT_CALLS = [
    "(keras.utils.set_random_seed(int(seed)), kernel_gradient_norms(build_mlp(10, residual=False, units=16), x, y))[1]",
    "(keras.utils.set_random_seed(int(seed)), kernel_gradient_norms(build_mlp(4, residual=True, batch_norm=True, units=16), x, y))[1]",
    "(keras.utils.set_random_seed(int(seed)), kernel_gradient_norms(build_mlp(2, residual=False, batch_norm=True, units=16), x, y))[1]",
    ('(keras.utils.set_random_seed(int(seed)), kernel_gradient_norms(keras.Sequential([keras.Input((8, 8, 1)), '
     'layers.Conv2D(4, 3, activation="relu"), layers.Flatten(), layers.Dense(5, activation="relu"), '
     'layers.Dense(10, activation="softmax")]), images, y[:50]))[1]'),
    # A list of Python floats, as asked.
    ('(lambda norms: [type(norms).__name__] + [type(norm).__name__ for norm in norms])'
     '(kernel_gradient_norms(build_mlp(1, residual=False, units=16), x, y))'),
]

# Exercises 2 and 3 chain three blocks: a stride 2 that keeps the channels, a change of channels at
# stride 1 and an identity block (for Exercise 3 in another order), all with momentum=0.9.
RESIDUAL_CALL = ("keras.Model((block_input := keras.Input((9, 9, 16))), residual_block(residual_block(residual_block("
                 "block_input, 16, strides=2, momentum=0.9), 24, momentum=0.9), 24, momentum=0.9))")
BOTTLENECK_CALL = ("keras.Model((block_input := keras.Input((9, 9, 32))), bottleneck_block(bottleneck_block(bottleneck_block("
                   "block_input, 16, strides=2, momentum=0.9), 16, momentum=0.9), 8, momentum=0.9))")

# Exercise 4 exports the model its test trained; the verifier's file has no loss, so the export
# refuses another loss than the tests accept.
SMALL_RESNET_CALL = gated(
    "small_resnet",
    'small_resnet.loss in ("sparse_categorical_crossentropy", keras.losses.sparse_categorical_crossentropy) '
    'or isinstance(small_resnet.loss, keras.losses.SparseCategoricalCrossentropy)',
    "the model must be compiled with the sparse_categorical_crossentropy loss")

# Exercise 5 exports a two-stage ResNet of bottleneck blocks (small enough to save); the plain-block
# path is checked in the export itself with the hidden test's [1, 1] network (314,954 trainable
# parameters), and the verifier compares the exported network with the solution's layer by layer.
RESNET_CALL = gated(
    "build_resnet([1, 2], bottleneck=True, input_shape=(32, 32, 1), num_classes=5)",
    "sum(map(lambda weight: int(np.prod(weight.shape)), build_resnet([1, 1], input_shape=(64, 64, 3), "
    "num_classes=10).trainable_weights)) == 314_954",
    "build_resnet([1, 1], input_shape=(64, 64, 3), num_classes=10) should have 314,954 trainable parameters")

CHECKS = [
    FunctionCheck("ex1_test", calls=GRADIENT_CALLS, inputs=gradient_inputs, rtol=1e-3, atol=1e-9),
    ModelCheck("ex2_test", call=RESIDUAL_CALL, verify=same_blocks),
    ModelCheck("ex3_test", call=BOTTLENECK_CALL, verify=same_blocks),
    # Exercise 4 is measured on the 5,000 test photos that the notebook never uses; the solution
    # reaches about 0.82 there, a model whose batch normalization keeps momentum 0.99 about 0.2.
    ModelCheck("ex4_test", call=SMALL_RESNET_CALL, same_parameters=False, held_out=fashion_held_out,
               threshold=0.78, verify=small_resnet_rules),
    ModelCheck("ex5_test", call=RESNET_CALL, verify=same_resnet),
]
