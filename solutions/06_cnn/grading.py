"""Trusted checks of chapter 6: the output-shape formula, pooling and convolution by hand, a stack's shapes and
parameters, MobileNetV2's inverted residual block, and a Fashion-MNIST CNN on a parameter budget."""

import functools

from grader.checks import FunctionCheck, ModelCheck
from grader.checks.library import fashion_test_images, gated, parameter_budget, probabilities_problem


def conv_cases(rng):
    """Draw random ``Conv2D`` configurations for ``conv_output_shape``.

    Parameters
    ----------
    rng : numpy.random.Generator
        The grader's generator.

    Returns
    -------
    dict of numpy.ndarray
        ``square`` rows ``(height, width, channels, filters, kernel, stride, same)`` with one int
        kernel size and stride, and ``rectangular`` rows ``(height, width, channels, filters,
        kernel_height, kernel_width, stride_height, stride_width, same)``. Kernels never exceed
        the input, strides may exceed the kernel, and ``same`` is 1 for ``padding="same"``.
    """
    import numpy as np

    def draw(count):
        height, width = rng.integers(1, 40, size=count), rng.integers(1, 40, size=count)
        kernel_height = rng.integers(1, np.minimum(height, 11) + 1)
        kernel_width = rng.integers(1, np.minimum(width, 11) + 1)
        return height, width, kernel_height, kernel_width

    height, width, kernel, _ = draw(16)
    kernel = np.minimum(kernel, width)
    square = np.stack([height, width, rng.integers(1, 8, 16), rng.integers(1, 65, 16), kernel,
                       rng.integers(1, 6, 16), np.arange(16) % 2], axis=1)
    height, width, kernel_height, kernel_width = draw(16)
    rectangular = np.stack([height, width, rng.integers(1, 8, 16), rng.integers(1, 65, 16), kernel_height,
                            kernel_width, rng.integers(1, 5, 16), rng.integers(1, 5, 16), np.arange(16) % 2], axis=1)
    return {"square": square, "rectangular": rectangular}


def pooling_inputs(rng):
    """Draw float32 images whose height and width are not multiples of the pool sizes.

    Parameters
    ----------
    rng : numpy.random.Generator
        The grader's generator.

    Returns
    -------
    dict of numpy.ndarray
        ``images`` of shape ``(3, 11, 9, 4)`` and ``negative``, the same shape with only negative values.
    """
    images = rng.normal(size=(3, 11, 9, 4)).astype("float32")
    return {"images": images, "negative": (-abs(images) - 1.0).astype("float32")}


def convolution_inputs(rng):
    """Draw images, Keras-layout kernels and biases for ``conv2d_by_hand``.

    Parameters
    ----------
    rng : numpy.random.Generator
        The grader's generator.

    Returns
    -------
    dict of numpy.ndarray
        Three problems (suffixes 1 to 3): a stride-2 rectangular kernel, a stride-3 kernel on one
        channel, and a kernel as large as the image.
    """
    shapes = [((9, 7, 3), (3, 2, 3, 5)), ((10, 11, 1), (4, 4, 1, 2)), ((4, 5, 2), (4, 5, 2, 3))]
    inputs = {}
    for index, (image_shape, kernel_shape) in enumerate(shapes, start=1):
        inputs[f"image{index}"] = rng.normal(size=image_shape).astype("float32")
        inputs[f"kernel{index}"] = rng.normal(size=kernel_shape).astype("float32")
        inputs[f"bias{index}"] = rng.normal(size=kernel_shape[-1]).astype("float32")
    return inputs


STACK_KINDS = ["conv", "transpose", "depthwise", "pool", "batchnorm"]


def stack_cases(rng):
    """Draw random stacks of layers for ``describe_stack``, each valid for its input shape.

    Parameters
    ----------
    rng : numpy.random.Generator
        The grader's generator.

    Returns
    -------
    dict of numpy.ndarray
        ``shapes``: 10 rows ``(height, width, channels)``; ``stacks``: 10 rows of 8 strings, one layer
        each (``"conv 16 3 2 same"``, ``"transpose 4 2 3 valid"``, ``"depthwise 3 1 valid"``,
        ``"pool 2"``, ``"batchnorm"``, ``"flatten"``, ``"dense 10"``), padded with empty strings.
        Every stack has a transposed convolution, and half of them end with ``flatten`` and ``dense``.
    """
    import numpy as np

    shapes, stacks = [], []
    for case in range(10):
        height, width = (int(size) for size in rng.integers(3, 17, size=2))
        channels = int(rng.integers(1, 6))
        shapes.append((height, width, channels))
        rows = []
        kinds = list(rng.choice(STACK_KINDS, size=int(rng.integers(2, 5))))
        kinds.insert(int(rng.integers(0, len(kinds) + 1)), "transpose")
        for kind in kinds:
            kernel, stride = int(rng.integers(1, 6)), int(rng.integers(1, 4))
            padding = str(rng.choice(["valid", "same"]))
            if kind in ("conv", "depthwise") and padding == "valid" and kernel > min(height, width):
                padding = "same"
            if kind == "transpose" and max(height, width) * stride > 64:
                stride = 1
            if kind == "pool" and min(height, width) < 2:
                kind = "batchnorm"
            if kind == "conv":
                filters = int(rng.integers(1, 33))
                rows.append(f"conv {filters} {kernel} {stride} {padding}")
                if padding == "same":
                    height, width = -(-height // stride), -(-width // stride)
                else:
                    height, width = (height - kernel) // stride + 1, (width - kernel) // stride + 1
                channels = filters
            elif kind == "depthwise":
                rows.append(f"depthwise {kernel} {stride} {padding}")
                if padding == "same":
                    height, width = -(-height // stride), -(-width // stride)
                else:
                    height, width = (height - kernel) // stride + 1, (width - kernel) // stride + 1
            elif kind == "transpose":
                filters = int(rng.integers(1, 17))
                rows.append(f"transpose {filters} {kernel} {stride} {padding}")
                extra = 0 if padding == "same" else max(kernel - stride, 0)
                height, width = height * stride + extra, width * stride + extra
                channels = filters
            elif kind == "pool":
                pool = int(rng.integers(2, min(height, width, 4) + 1))
                rows.append(f"pool {pool}")
                height, width = height // pool, width // pool
            else:
                rows.append("batchnorm")
        if case % 2:
            rows += ["flatten", f"dense {int(rng.integers(1, 12))}"]
        stacks.append(rows + [""] * (8 - len(rows)))
    return {"shapes": np.array(shapes, dtype="int64"), "stacks": np.array(stacks, dtype="<U32")}


def same_block_outputs(model, reference):
    """Give the student's chain of blocks the reference's weights and compare the blocks' outputs one by one.

    Parameters
    ----------
    model, reference : keras.Model
        Sequential chains of the four blocks of the ``ex5_test`` check, the student's and the solution's.

    Returns
    -------
    str or None
        The first block whose weights have other shapes, or whose outputs differ from the reference's
        on the same inputs, or None.
    """
    import numpy as np

    blocks, reference_blocks = model.layers, reference.layers
    if len(blocks) != len(reference_blocks):
        return f"the chain has {len(blocks)} blocks, expected {len(reference_blocks)}"
    inputs = np.random.default_rng(0).normal(scale=10.0, size=(4, 15, 9, 16)).astype("float32")
    for index, (block, reference_block) in enumerate(zip(blocks, reference_blocks)):
        call = INVERTED_BLOCK_CALLS[index]
        shapes = [tuple(weight.shape) for weight in block.get_weights()]
        expected_shapes = [tuple(weight.shape) for weight in reference_block.get_weights()]
        if shapes != expected_shapes:
            return (f"the weights of {call} have shapes {shapes}, expected {expected_shapes}: "
                    "check the layers, their order and their biases")
        block.set_weights(reference_block.get_weights())
        got = np.asarray(block(inputs, training=False))
        expected = np.asarray(reference_block(inputs, training=False))
        if got.shape != expected.shape:
            return f"{call} outputs shape {got.shape[1:]}, expected {expected.shape[1:]}"
        scale = max(1.0, float(np.abs(expected).max()))
        if not np.allclose(got, expected, rtol=1e-3, atol=1e-3 * scale):
            difference = float(np.abs(got - expected).max())
            return (f"{call} computes other values than the reference block with the same weights "
                    f"(largest difference {difference:.3g}): check the ReLU6 activations, the linear "
                    "projection and when the residual is added")
        inputs = expected
    return None


def budget_rules(model, reference):
    """Require at most 20,000 parameters, a ``Conv2D`` layer, a single ``Dense`` layer and a softmax output.

    Parameters
    ----------
    model, reference : keras.Model
        The student's trained budget CNN and the solution's (unused).

    Returns
    -------
    str or None
        The first rule broken, or None.
    """
    from keras import layers

    problem = parameter_budget(model, max_parameters=BUDGET)
    if problem:
        return problem
    if not any(isinstance(layer, layers.Conv2D) for layer in model.layers):
        return "the model has no Conv2D layer"
    dense = [layer for layer in model.layers if isinstance(layer, layers.Dense)]
    if len(dense) != 1:
        return f"the model has {len(dense)} Dense layers, expected only the output layer"
    # The accuracy takes the argmax of the outputs, which a sigmoid output layer also gets right:
    # the outputs for held-out photos must be probabilities that sum to 1, as a softmax's do (in the
    # Dense layer or in an Activation layer after it).
    images, _ = fashion_held_out()
    found = probabilities_problem(model, images[:500], what="test photo")
    if found:
        return f"the model's outputs are not probabilities that sum to 1: end the model with a softmax ({found})"
    return None


#: The second half of the Fashion-MNIST test set as ``(x, y)``, images ``(28, 28, 1)`` in [0, 1]. The notebook
#: trains on the first 10,000 training photos and measures on the first 2,000 test photos, so these 5,000 are
#: never seen by it. On a machine without Fashion-MNIST the loader falls back to digits, and so does the
#: notebook: the measurement is then of digits.
fashion_held_out = functools.partial(fashion_test_images, "second half", layout="channels")


#: The parameter budget of exercise 6.
BUDGET = 20_000


# Exercise 1 compares every shape with the solution's on random configurations, with int and tuple
# kernel sizes and strides, both paddings and the default arguments; the last two calls check that
# the answer is a tuple of Python ints, as the tests require. The first call, a "same" padding whose
# stride does not divide the size, fails an answer that rounds down whatever configurations are drawn.
SQUARE_CALL = ('[conv_output_shape((int(c[0]), int(c[1]), int(c[2])), int(c[3]), int(c[4]), strides=int(c[5]), '
               'padding=("valid", "same")[c[6]]) for c in square]')
RECTANGULAR_CALL = ('[conv_output_shape((int(c[0]), int(c[1]), int(c[2])), int(c[3]), (int(c[4]), int(c[5])), '
                    'strides=(int(c[6]), int(c[7])), padding=("valid", "same")[c[8]]) for c in rectangular]')
DEFAULTS_CALL = '[conv_output_shape((int(c[0]), int(c[1]), int(c[2])), int(c[3]), int(c[4])) for c in square]'

# Exercise 4 predicts shapes and parameter counts for random stacks. Its first call, a transposed
# convolution with "valid" padding and a kernel smaller than its stride followed by one with "same"
# padding, fails an answer that uses (n - 1) * s + k or one that divides by the stride as a
# convolution does, whatever stacks are drawn; its second fails one that forgets the biases of a
# depthwise convolution or counts only the trainable half of batch normalization.
STACK_CALL = ('[describe_stack(tuple(int(size) for size in shape), [tuple(int(part) if part.isdigit() else part '
              'for part in str(row).split()) for row in stack if str(row)]) for shape, stack in zip(shapes, stacks)]')

# Exercise 5 chains four blocks, renamed so that the chain's layer names are unique: a residual
# block with no expansion, a stride-2 block on an odd height, a residual block with an expansion of 4,
# and a stride-1 block that changes the channels (no residual).
INVERTED_BLOCK_CALLS = [
    "build_inverted_residual_block((15, 9, 16), 16, expansion=1)",
    "build_inverted_residual_block((15, 9, 16), 24, expansion=6, strides=2)",
    "build_inverted_residual_block((8, 5, 24), 24, expansion=4)",
    "build_inverted_residual_block((8, 5, 24), 32, expansion=6)",
]
INVERTED_CHAIN_CALL = ('keras.Sequential([keras.Input(shape=(15, 9, 16))] + [setattr(block, "name", f"block_{index}") '
                       'or block for index, block in enumerate([' + ", ".join(INVERTED_BLOCK_CALLS) + '])], '
                       'name="inverted_residual_chain")')

CHECKS = [
    FunctionCheck("ex1_test", calls=[
        'conv_output_shape((7, 7, 1), 4, 3, strides=3, padding="same")',
        SQUARE_CALL, RECTANGULAR_CALL, DEFAULTS_CALL,
        'conv_output_shape((227, 227, 3), 96, 11, strides=4)',
        'type(conv_output_shape((28, 28, 1), 32, 3)).__name__',
        '[type(size).__name__ for size in conv_output_shape((20, 11, 3), 2, (5, 3), strides=(2, 1), padding="same")]',
    ], inputs=conv_cases),
    # Exercise 2 compares the pooled values and requires float32 results, as the tests do.
    FunctionCheck("ex2_test", calls=[
        'pool2d(images, 1, "max")', 'pool2d(images, 2, "max")', 'pool2d(images, 3, "max")',
        'pool2d(images, 1, "average")', 'pool2d(images, 2, "average")', 'pool2d(images, 3, "average")',
        'pool2d(negative, 4, "max")',
        'np.asarray(pool2d(images, 2, "max")).dtype.name', 'np.asarray(pool2d(images, 2, "average")).dtype.name',
    ], inputs=pooling_inputs, rtol=1e-5, atol=1e-6),
    FunctionCheck("ex3_test", calls=[
        'conv2d_by_hand(image1, kernel1, bias1, 2)', 'conv2d_by_hand(image1, kernel1, bias1, 1)',
        'conv2d_by_hand(image2, kernel2, bias2, 3)', 'conv2d_by_hand(image3, kernel3, bias3, 1)',
        'np.asarray(conv2d_by_hand(image1, kernel1, bias1, 2)).dtype.name',
    ], inputs=convolution_inputs, rtol=1e-4, atol=1e-4),
    FunctionCheck("ex4_test", calls=[
        'describe_stack((5, 5, 3), [("transpose", 4, 2, 3, "valid"), ("transpose", 2, 3, 2, "same")])',
        'describe_stack((9, 9, 6), [("depthwise", 3, 2, "valid"), ("batchnorm",), ("pool", 2), ("flatten",), ("dense", 10)])',
        STACK_CALL,
        'describe_stack((6, 6, 1), [("transpose", 2, 5, 1, "valid"), ("transpose", 3, 2, 4, "same"), ("conv", 1, 1, 5, "valid")])',
    ], inputs=stack_cases),
    # Exercise 5: the chain's input and output shapes and its parameter counts (all and trainable)
    # must be the reference's, then each block, given the reference's weights, must compute the
    # reference block's outputs on large inputs (so that ReLU6 clips where a ReLU would not).
    ModelCheck("ex5_test", call=INVERTED_CHAIN_CALL, verify=same_block_outputs),
    # Exercise 6 exports the model the test cell trained (`budget_model`). The `.keras` file loaded by
    # the verifier has no loss, so the export itself refuses a model compiled with another loss.
    # The model is measured on the second half of the Fashion-MNIST test set, which the notebook
    # never uses.
    ModelCheck("ex6_test",
               call=gated("budget_model", 'budget_model.loss == "sparse_categorical_crossentropy"',
                          "the model must be compiled with loss='sparse_categorical_crossentropy'"),
               same_parameters=False, held_out=fashion_held_out, threshold=0.80, verify=budget_rules),
]
