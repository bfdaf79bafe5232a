"""Trusted checks of chapter 7: the SimpleRNN recurrence by hand, recurrent parameter counts and three recurrent models."""

import functools

import numpy as np

from grader.checklib import same_layers, worst_metric
from grader.specs import FunctionCheck, ModelCheck


def step_inputs(rng):
    """Draw one SimpleRNN step: inputs, a previous state and weights in the layout of ``layers.SimpleRNN``.

    Parameters
    ----------
    rng : numpy.random.Generator
        The grader's generator.

    Returns
    -------
    dict of numpy.ndarray
        ``x_t`` (5, 2), ``h_prev`` (5, 7), ``kernel`` (2, 7), ``recurrent`` (7, 7) and ``bias`` (7,),
        all float32.
    """
    return {"x_t": rng.normal(size=(5, 2)).astype("float32"),
            "h_prev": rng.normal(size=(5, 7)).astype("float32"),
            "kernel": rng.normal(scale=0.5, size=(2, 7)).astype("float32"),
            "recurrent": rng.normal(scale=0.4, size=(7, 7)).astype("float32"),
            "bias": rng.normal(size=7).astype("float32")}


def sequence_inputs(rng):
    """Draw a batch of sequences and SimpleRNN weights for ``simple_rnn_forward``.

    Parameters
    ----------
    rng : numpy.random.Generator
        The grader's generator.

    Returns
    -------
    dict of numpy.ndarray
        ``inputs`` (3, 9, 2), ``kernel`` (2, 6), ``recurrent`` (6, 6) and ``bias`` (6,), all float32.
    """
    return {"inputs": rng.normal(size=(3, 9, 2)).astype("float32"),
            "kernel": rng.normal(scale=0.5, size=(2, 6)).astype("float32"),
            "recurrent": rng.normal(scale=0.4, size=(6, 6)).astype("float32"),
            "bias": rng.normal(size=6).astype("float32")}


def size_pairs(rng):
    """Draw ``(input_dim, units)`` pairs, including the extreme sizes 1 and 100.

    Parameters
    ----------
    rng : numpy.random.Generator
        The grader's generator.

    Returns
    -------
    dict of numpy.ndarray
        ``pairs``: an int array of shape (10, 2).
    """
    random_pairs = rng.integers(1, 200, size=(7, 2))
    return {"pairs": np.concatenate([[[1, 1], [100, 1], [1, 100]], random_pairs])}


def make_series(num_series, num_steps, seed):
    """Return the noisy sums of two sine waves of Section 1, shape ``(num_series, num_steps, 1)``, float32."""
    rng = np.random.default_rng(seed)
    steps = np.arange(num_steps)
    slow_frequency = rng.uniform(0.02, 0.06, size=(num_series, 1))
    fast_frequency = rng.uniform(0.10, 0.20, size=(num_series, 1))
    slow_phase = rng.uniform(0, 2 * np.pi, size=(num_series, 1))
    fast_phase = rng.uniform(0, 2 * np.pi, size=(num_series, 1))
    series = (0.6 * np.sin(2 * np.pi * slow_frequency * steps + slow_phase)
              + 0.3 * np.sin(2 * np.pi * fast_frequency * steps + fast_phase)
              + rng.normal(0.0, 0.05, size=(num_series, num_steps)))
    return series[..., np.newaxis].astype("float32")


def series_val_and_test():
    """Return the notebook's 500 validation and 500 test windows of the sine series as ``([x_val, x_test], [y_val, y_test])``."""
    series = make_series(3000, 31, seed=0)
    return [series[2000:2500, :30], series[2500:, :30]], [series[2000:2500, 30], series[2500:, 30]]


def mse_over_naive(model, x, y):
    """Return the model's MSE divided by the naive forecast's (the last value of each window).

    Parameters
    ----------
    model : keras.Model
        The trained forecaster.
    x, y : numpy.ndarray
        Windows of one split and their next values.

    Returns
    -------
    float
        The ratio must stay below 0.5 on the validation and on the test windows, as in the notebook's tests.
    """
    predictions = np.asarray(model.predict(x, verbose=0)).reshape(y.shape)
    return float(np.mean((predictions - y) ** 2) / np.mean((x[:, -1] - y) ** 2))


def forecaster_rules(model, reference):
    """Require a ``(None, 30, 1)`` or ``(None, None, 1)`` input, a ``(None, 1)`` output and a recurrent layer.

    Parameters
    ----------
    model, reference : keras.Model
        The student's trained forecaster and the solution's (unused).

    Returns
    -------
    str or None
        The first rule broken, or None.
    """
    from keras import layers

    input_shapes = [tuple(tensor.shape) for tensor in model.inputs]
    if input_shapes not in ([(None, 30, 1)], [(None, None, 1)]):
        return f"the model's inputs have shapes {input_shapes}, expected [(None, 30, 1)] or [(None, None, 1)]"
    output_shapes = [tuple(tensor.shape) for tensor in model.outputs]
    if output_shapes != [(None, 1)]:
        return f"the model's outputs have shapes {output_shapes}, expected [(None, 1)]"
    recurrent = (layers.SimpleRNN, layers.LSTM, layers.GRU, layers.Bidirectional)
    if not any(isinstance(layer, recurrent) for layer in model.layers):
        return "the model has no recurrent layer (SimpleRNN, LSTM, GRU or Bidirectional)"
    return None


def make_order_task(num_sequences, seed, vocab_size=20, max_length=20):
    """Return the token sequences of Section 8, padded after their end, and their labels.

    The label is 1 when marker token 1 comes before marker token 2. Same draws as the notebook's
    ``make_order_task`` (which pads with ``keras.utils.pad_sequences(..., padding="post")``).
    """
    rng = np.random.default_rng(seed)
    padded = np.zeros((num_sequences, max_length), dtype="int32")
    labels = np.zeros(num_sequences, dtype="int64")
    for row in range(num_sequences):
        length = rng.integers(5, max_length + 1)
        sequence = rng.integers(3, vocab_size, size=length)
        first, second = rng.choice(length, size=2, replace=False)
        sequence[first], sequence[second] = 1, 2
        padded[row, :length] = sequence
        labels[row] = int(first < second)
    return padded, labels


def order_val_and_test():
    """Return the notebook's 500 validation and 500 test token sequences as ``([x_val, x_test], [y_val, y_test])``."""
    tokens_val, labels_val = make_order_task(500, seed=2)
    tokens_test, labels_test = make_order_task(500, seed=3)
    return [tokens_val, tokens_test], [labels_val, labels_test]


def ignores_padding(model, reference):
    """Require the same predictions with and without extra padding zeros, as the tests do.

    Parameters
    ----------
    model, reference : keras.Model
        The student's trained classifier and the solution's (unused).

    Returns
    -------
    str or None
        Why the padding changes the predictions, or None.
    """
    tokens_val, _ = make_order_task(500, seed=2)
    short = np.array([[5, 1, 7, 2], [2, 9, 9, 1]], dtype="int32")
    for name, tokens, extra in (("the validation sequences", tokens_val, 10), ("two short sequences", short, 6)):
        plain = np.asarray(model.predict(tokens, verbose=0))
        padded = np.asarray(model.predict(np.pad(tokens, ((0, 0), (0, extra))), verbose=0))
        if plain.shape != padded.shape or not np.allclose(padded, plain, rtol=1e-3, atol=1e-4):
            return (f"the predictions for {name} change when {extra} padding zeros are appended "
                    "(mask the padding, e.g. with mask_zero=True in the Embedding)")
    return None


# Exercises 5 and 6 export the model their test cell trained. The loss is not in the `.keras` file
# the verifier loads, and Exercise 6 also needs a classifier built for a larger vocabulary, so the
# export refuses models compiled with another loss than the exercise's, and classifiers that fail the
# larger vocabulary, with a clear error.
FORECASTER_CALL = (
    'my_forecaster if (my_forecaster.loss in ("mse", "mean_squared_error") '
    'or isinstance(my_forecaster.loss, keras.losses.MeanSquaredError)) '
    'else (_ for _ in ()).throw(ValueError("the forecaster must be compiled with the mse loss"))')
CLASSIFIER_CALL = (
    '(_ for _ in ()).throw(ValueError("the classifier must be compiled with the binary_crossentropy loss")) '
    'if not (order_classifier.loss == "binary_crossentropy" '
    'or isinstance(order_classifier.loss, keras.losses.BinaryCrossentropy)) '
    'else order_classifier if np.asarray(build_order_classifier(50).predict(np.array([[49, 1, 2]], dtype="int32"), '
    'verbose=0)).size == 1 else (_ for _ in ()).throw(ValueError("build_order_classifier(50) must make one '
    'prediction per sequence"))')

CHECKS = [
    # Exercises 1 and 2 compare with the solution at tolerances that allow TF32 matrix products on
    # GPUs; the dtype calls require float32 results, as the tests do.
    FunctionCheck("ex1_test", calls=[
        "simple_rnn_step(x_t, h_prev, kernel, recurrent, bias)",
        "simple_rnn_step(x_t[:1], h_prev[:1], kernel, recurrent, bias)",
        "simple_rnn_step(x_t, np.zeros_like(h_prev), kernel, recurrent, bias)",
        "np.asarray(simple_rnn_step(x_t, h_prev, kernel, recurrent, bias)).dtype.name",
    ], inputs=step_inputs, rtol=1e-3, atol=1e-3),
    FunctionCheck("ex2_test", calls=[
        "simple_rnn_forward(inputs, kernel, recurrent, bias)",
        "simple_rnn_forward(inputs, kernel, recurrent, bias, return_sequences=True)",
        "simple_rnn_forward(inputs[:, :1], kernel, recurrent, bias, return_sequences=True)",
        "simple_rnn_forward(inputs[:, :1], kernel, recurrent, bias)",
        "np.asarray(simple_rnn_forward(inputs, kernel, recurrent, bias)).dtype.name",
        "np.asarray(simple_rnn_forward(inputs, kernel, recurrent, bias, return_sequences=True)).dtype.name",
    ], inputs=sequence_inputs, rtol=1e-3, atol=1e-3),
    # Exercise 3 compares the counts exactly, and requires Python ints.
    FunctionCheck("ex3_test", calls=[
        "[lstm_param_count(int(f), int(u)) for f, u in pairs]",
        "[gru_param_count(int(f), int(u)) for f, u in pairs]",
        "[gru_param_count(int(f), int(u), reset_after=False) for f, u in pairs]",
        "[type(lstm_param_count(1, 32)).__name__, type(gru_param_count(1, 32)).__name__]",
    ], inputs=size_pairs),
    # Exercise 4 builds three GRUs on three features: only the last one returns its final state. The
    # activations are compared too: the GRUs keep their tanh and the output layer stays linear.
    ModelCheck("ex4_test", call="build_stacked_gru(3, [8, 8, 4])",
               verify=functools.partial(same_layers, attributes=("output_shape", "parameters", "activation"))),
    ModelCheck("ex5_test", call=FORECASTER_CALL, same_parameters=False, same_shapes=False,
               verify=forecaster_rules, held_out=series_val_and_test, threshold=0.5,
               metric=functools.partial(worst_metric, metric=mse_over_naive, lower_is_better=True),
               metric_name="MSE / naive MSE (worse of validation and test)",
               lower_is_better=True),
    ModelCheck("ex6_test", call=CLASSIFIER_CALL, same_parameters=False, verify=ignores_padding,
               held_out=order_val_and_test, threshold=0.90, metric=worst_metric,
               metric_name="accuracy (worse of validation and test)"),
]
