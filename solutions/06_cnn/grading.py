"""Trusted checks of chapter 6: shape and parameter formulas, pooling and convolution by hand, and two CNNs."""

import functools

from grader.checklib import same_layers
from grader.specs import FunctionCheck, ModelCheck


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


def separable_cases(rng):
    """Draw ``(in_channels, out_channels, kernel_height, kernel_width, depth_multiplier, use_bias)`` rows.

    Parameters
    ----------
    rng : numpy.random.Generator
        The grader's generator.

    Returns
    -------
    dict of numpy.ndarray
        ``cases``: 12 rows of ints; ``use_bias`` alternates between 1 and 0.
    """
    import numpy as np

    cases = np.stack([rng.integers(1, 257, 12), rng.integers(1, 257, 12), rng.integers(1, 8, 12),
                      rng.integers(1, 8, 12), rng.integers(1, 5, 12), np.arange(12) % 2], axis=1)
    return {"cases": cases}


def budget_rules(model, reference):
    """Require at most 2,000 parameters, a ``Conv2D`` layer, a single ``Dense`` layer and a softmax output.

    Parameters
    ----------
    model, reference : keras.Model
        The student's trained budget CNN and the solution's (unused).

    Returns
    -------
    str or None
        The first rule broken, or None.
    """
    import numpy as np
    from keras import layers

    if model.count_params() > 2000:
        return f"the model has {model.count_params():,} parameters, above the budget of 2,000"
    if not any(isinstance(layer, layers.Conv2D) for layer in model.layers):
        return "the model has no Conv2D layer"
    dense = [layer for layer in model.layers if isinstance(layer, layers.Dense)]
    if len(dense) != 1:
        return f"the model has {len(dense)} Dense layers, expected only the output layer"
    # The accuracy takes the argmax of the outputs, which a sigmoid output layer also gets right:
    # the outputs for held-out digits must be probabilities that sum to 1, as a softmax's do (in the
    # Dense layer or in an Activation layer after it).
    images, _ = digits_test_set()
    outputs = np.asarray(model.predict(images, verbose=0), dtype="float64")
    sums = outputs.sum(axis=-1)
    if outputs.min() < 0 or not np.allclose(sums, 1.0, rtol=0.0, atol=1e-3):
        farthest = sums[np.argmax(np.abs(sums - 1.0))]
        found = (f"an output is {outputs.min():.3g}" if outputs.min() < 0
                 else f"the outputs for one test digit sum to {farthest:.3g}")
        return f"the model's outputs are not probabilities that sum to 1: end the model with a softmax ({found})"
    return None


def digits_test_set():
    """Return the 359 test digits of ``data.load_digits()`` as ``(x, y)``, images shaped ``(8, 8, 1)``."""
    from course_utils import data

    digits = data.load_digits()
    return digits.x_test[..., None], digits.y_test


# Exercise 1 compares every shape with the solution's on random configurations, with int and tuple
# kernel sizes and strides, both paddings and the default arguments; the last two calls check that
# the answer is a tuple of Python ints, as the tests require. The first call, a "same" padding whose
# stride does not divide the size, fails an answer that rounds down whatever configurations are drawn.
SQUARE_CALL = ('[conv_output_shape((int(c[0]), int(c[1]), int(c[2])), int(c[3]), int(c[4]), strides=int(c[5]), '
               'padding=("valid", "same")[c[6]]) for c in square]')
RECTANGULAR_CALL = ('[conv_output_shape((int(c[0]), int(c[1]), int(c[2])), int(c[3]), (int(c[4]), int(c[5])), '
                    'strides=(int(c[6]), int(c[7])), padding=("valid", "same")[c[8]]) for c in rectangular]')
DEFAULTS_CALL = '[conv_output_shape((int(c[0]), int(c[1]), int(c[2])), int(c[3]), int(c[4])) for c in square]'

# Exercise 4 counts parameters for int and tuple kernel sizes, with and without biases. The first
# call of its check, with a depth multiplier of 2, fails an answer that ignores the multiplier in
# either step whatever multipliers are drawn.
SEPARABLE_CALL = ('[separable_conv_params(int(c[0]), int(c[1]), (int(c[2]), int(c[3])), depth_multiplier=int(c[4]), '
                  'use_bias=bool(c[5])) for c in cases]')
SQUARE_SEPARABLE_CALL = ('[separable_conv_params(int(c[0]), int(c[1]), int(c[2]), depth_multiplier=int(c[4]), '
                         'use_bias=bool(c[5])) for c in cases]')

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
        'separable_conv_params(32, 64, 3, depth_multiplier=2)',
        SEPARABLE_CALL, SQUARE_SEPARABLE_CALL, 'separable_conv_params(64, 128, 3)',
        'separable_conv_params(1, 1, 1)',
        'isinstance(separable_conv_params(3, 16, 5, use_bias=False), (int, np.integer))',
    ], inputs=separable_cases),
    # Exercise 5 builds a block with a stride of 2 on a non-square input with an odd height, so that
    # the output shapes also check the strides and the "same" padding.
    ModelCheck("ex5_test", call="build_mobilenet_block((15, 9, 24), 48, strides=2)",
               verify=functools.partial(same_layers, what="the block")),
    # Exercise 6 exports the model the test cell trained (`budget_model`). The `.keras` file loaded by
    # the verifier has no loss, so the export itself refuses a model compiled with another loss.
    # The hidden test also trains a second copy from another random start; only the first copy is
    # exported and measured here.
    ModelCheck("ex6_test",
               call=('budget_model if budget_model.loss == "sparse_categorical_crossentropy" else '
                     '(_ for _ in ()).throw(ValueError("the model must be compiled with '
                     'loss=\'sparse_categorical_crossentropy\'"))'),
               same_parameters=False, held_out=digits_test_set, threshold=0.94, verify=budget_rules),
]
