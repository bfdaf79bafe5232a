"""Trusted checks of chapter 7: a GRU cell run by ``keras.layers.RNN``, what recurrent layers return, a
state carried across chunks by hand, a stateful reader, and a row-by-row Fashion-MNIST classifier on a
parameter budget."""

import functools

import numpy as np

from grader.checks import FunctionCheck, ModelCheck
from grader.checks.library import compare_results, fashion_test_images, gated, parameter_budget, probabilities_problem


def cell_inputs(rng):
    """Draw sequences, a start state and GRU weights in the layout of ``layers.GRU`` (6 units, 3 features).

    Parameters
    ----------
    rng : numpy.random.Generator
        The grader's generator.

    Returns
    -------
    dict of numpy.ndarray
        ``sequences`` (3, 8, 3) with large values (so that the gates saturate differently), ``start``
        (3, 6), ``kernel`` (3, 18), ``recurrent`` (6, 18) and ``bias`` (2, 18) with two different
        rows, all float32.
    """
    return {"sequences": rng.normal(scale=2.0, size=(3, 8, 3)).astype("float32"),
            "start": rng.normal(size=(3, 6)).astype("float32"),
            "kernel": rng.normal(scale=0.5, size=(3, 18)).astype("float32"),
            "recurrent": rng.normal(scale=0.4, size=(6, 18)).astype("float32"),
            "bias": rng.normal(size=(2, 18)).astype("float32")}


def layer_configurations(rng):
    """Draw random recurrent layer configurations for ``describe_recurrent``.

    Parameters
    ----------
    rng : numpy.random.Generator
        The grader's generator.

    Returns
    -------
    dict of numpy.ndarray
        ``kinds``: 24 strings, eight each of ``"simple"``, ``"lstm"`` and ``"gru"``; ``configurations``:
        24 rows ``(units, batch, steps, features, return_sequences, return_state, bidirectional)``, with
        every combination of the three flags for each kind.
    """
    kinds = np.repeat(np.array(["simple", "lstm", "gru"]), 8)
    flags = np.array([[(index >> bit) & 1 for bit in range(3)] for index in range(8)] * 3)
    sizes = np.stack([rng.integers(1, 65, 24), rng.integers(1, 9, 24), rng.integers(1, 31, 24),
                      rng.integers(1, 41, 24)], axis=1)
    return {"kinds": kinds, "configurations": np.concatenate([sizes, flags], axis=1).astype("int64")}


def chunk_inputs(rng):
    """Draw sequences and the weights of a SimpleRNN(5), a GRU(4) and an LSTM(3) on 2 features.

    Parameters
    ----------
    rng : numpy.random.Generator
        The grader's generator.

    Returns
    -------
    dict of numpy.ndarray
        ``sequences`` (3, 11, 2), and ``simple_weights``, ``gru_weights``, ``lstm_weights`` as three
        arrays each (``_kernel``, ``_recurrent``, ``_bias`` suffixes), all float32.
    """
    inputs = {"sequences": rng.normal(size=(3, 11, 2)).astype("float32")}
    for name, units, blocks, bias_shape in (("simple", 5, 1, (5,)), ("gru", 4, 3, (2, 12)), ("lstm", 3, 4, (12,))):
        inputs[f"{name}_kernel"] = rng.normal(scale=0.5, size=(2, blocks * units)).astype("float32")
        inputs[f"{name}_recurrent"] = rng.normal(scale=0.4, size=(units, blocks * units)).astype("float32")
        inputs[f"{name}_bias"] = rng.normal(size=bias_shape).astype("float32")
    return inputs


def recording_inputs(rng):
    """Draw three recordings and the weights of a stateful GRU(4) -> LSTM(3) stack on 2 features, batch 3.

    Parameters
    ----------
    rng : numpy.random.Generator
        The grader's generator.

    Returns
    -------
    dict of numpy.ndarray
        ``first`` (3, 13, 2), ``second`` (3, 7, 2), ``third`` (3, 9, 2), and the weights ``gru_kernel``
        (2, 12), ``gru_recurrent`` (4, 12), ``gru_bias`` (2, 12), ``lstm_kernel`` (4, 12),
        ``lstm_recurrent`` (3, 12), ``lstm_bias`` (12,), all float32.
    """
    return {"first": rng.normal(size=(3, 13, 2)).astype("float32"),
            "second": rng.normal(size=(3, 7, 2)).astype("float32"),
            "third": rng.normal(size=(3, 9, 2)).astype("float32"),
            "gru_kernel": rng.normal(scale=0.5, size=(2, 12)).astype("float32"),
            "gru_recurrent": rng.normal(scale=0.4, size=(4, 12)).astype("float32"),
            "gru_bias": rng.normal(size=(2, 12)).astype("float32"),
            "lstm_kernel": rng.normal(scale=0.5, size=(4, 12)).astype("float32"),
            "lstm_recurrent": rng.normal(scale=0.4, size=(3, 12)).astype("float32"),
            "lstm_bias": rng.normal(size=12).astype("float32")}


#: The second half of the Fashion-MNIST test set as ``(x, y)``, photos ``(28, 28)`` in [0, 1]. The notebook
#: trains on the first 10,000 training photos and measures on the first 2,000 test photos, so these 5,000 are
#: never seen by it. On a machine without Fashion-MNIST the loader falls back to digits, and so does the
#: notebook: the measurement is then of digits.
fashion_held_out = functools.partial(fashion_test_images, "second half")


#: The parameter budget of exercise 5.
BUDGET = 5_000


def budget_rules(model, reference):
    """Require at most 5,000 parameters, a recurrent layer and softmax probabilities as outputs.

    Parameters
    ----------
    model, reference : keras.Model
        The student's trained row classifier and the solution's (unused).

    Returns
    -------
    str or None
        The first rule broken, or None.
    """
    from keras import layers

    output_shapes = [tuple(tensor.shape) for tensor in model.outputs]
    if output_shapes != [(None, 10)]:
        return f"the model's outputs have shapes {output_shapes}, expected [(None, 10)]"
    problem = parameter_budget(model, max_parameters=BUDGET)
    if problem:
        return problem
    input_shapes = [tuple(tensor.shape) for tensor in model.inputs]
    if input_shapes not in ([(None, 28, 28)], [(None, None, 28)]):
        return f"the model's inputs have shapes {input_shapes}, expected [(None, 28, 28)] or [(None, None, 28)]"
    recurrent = (layers.SimpleRNN, layers.LSTM, layers.GRU, layers.RNN, layers.Bidirectional)
    if not any(isinstance(layer, recurrent) for layer in model.layers):
        return "the model has no recurrent layer (SimpleRNN, LSTM, GRU or Bidirectional)"
    # The accuracy takes the argmax of the outputs, which other output layers also get right: the
    # outputs for held-out photos must be probabilities that sum to 1, as a softmax's do.
    photos, _ = fashion_held_out()
    if probabilities_problem(model, photos[:500]):
        return "the model's outputs are not probabilities that sum to 1: end the model with a softmax"
    return None


# Exercise 1 runs the student's cell with the grader's GRU weights (two different bias rows, large
# inputs) through layers.RNN, from zeros and from a drawn initial state, and on a single step.
def _cell_call(units_inputs, call_arguments=""):
    return ('(lambda rnn: (rnn.build(' + units_inputs + '.shape), rnn.set_weights([kernel, recurrent, bias]), '
            'np.asarray(rnn(' + units_inputs + call_arguments + ')))[-1])'
            '(layers.RNN(MinimalGRUCell(6), return_sequences=True))')


CELL_CALLS = [
    _cell_call("sequences"),
    _cell_call("sequences", ", initial_state=[start]"),
    _cell_call("sequences[:1, :1]"),
]

# Exercise 2 compares the predictions for every kind with every combination of the flags. Its first
# call, a bidirectional LSTM that returns its states, fails an answer that concatenates the states of
# the two directions or returns only two of the four.
DESCRIBE_CALL = ('[describe_recurrent(str(kind), int(c[0]), (int(c[1]), int(c[2]), int(c[3])), bool(c[4]), bool(c[5]), '
                 'bool(c[6])) for kind, c in zip(kinds, configurations)]')


# Exercise 3 gives the student's function layers with the grader's weights; chunk lengths that do and
# do not divide the 11 steps, a chunk of one step, and a chunk longer than the sequence.
def _chunk_call(kind, layer, chunk_length):
    return (f'(lambda layer: (layer.build(sequences.shape), layer.set_weights([{kind}_kernel, {kind}_recurrent, '
            f'{kind}_bias]), np.asarray(run_in_chunks(layer, sequences, {chunk_length})))[-1])'
            f'({layer})')


CHUNK_CALLS = [
    _chunk_call("gru", "layers.GRU(4, return_sequences=True, return_state=True)", 4),
    _chunk_call("lstm", "layers.LSTM(3, return_sequences=True, return_state=True)", 3),
    _chunk_call("simple", "layers.SimpleRNN(5, return_sequences=True, return_state=True)", 1),
    _chunk_call("lstm", "layers.LSTM(3, return_sequences=True, return_state=True)", 20),
]

# Exercise 4 hands the student's function a stateful GRU -> LSTM stack with the grader's weights that
# already holds a state, and three recordings; the reference is the solution's reading, which the
# notebook's tests match against the same layers without stateful.
RECORDINGS_CALL = (
    '(lambda model: (model.layers[0].set_weights([gru_kernel, gru_recurrent, gru_bias]), '
    'model.layers[1].set_weights([lstm_kernel, lstm_recurrent, lstm_bias]), model.predict(third[:, :4], verbose=0), '
    '[np.asarray(outputs) for outputs in read_recordings(model, [first, second, third], 5)])[-1])'
    '(keras.Sequential([keras.Input(batch_shape=(3, None, 2)), layers.GRU(4, return_sequences=True, stateful=True), '
    'layers.LSTM(3, return_sequences=True, stateful=True)]))')

# Exercise 5 exports the model the test cell trained (`row_classifier`). The `.keras` file loaded by
# the verifier has no loss, so the export itself refuses a model compiled with another loss.
ROW_CLASSIFIER_CALL = gated("row_classifier", 'row_classifier.loss == "sparse_categorical_crossentropy"',
                            "the model must be compiled with loss='sparse_categorical_crossentropy'")

CELL_LABELS = ["layers.RNN(MinimalGRUCell(6)) with the grader's GRU weights, from zeros",
               "layers.RNN(MinimalGRUCell(6)) with the grader's GRU weights, from an initial_state",
               "layers.RNN(MinimalGRUCell(6)) with the grader's GRU weights, on one step of one sequence"]
CHUNK_LABELS = ["run_in_chunks(a GRU(4) with the grader's weights, 11 steps, chunks of 4)",
                "run_in_chunks(an LSTM(3) with the grader's weights, 11 steps, chunks of 3)",
                "run_in_chunks(a SimpleRNN(5) with the grader's weights, 11 steps, chunks of 1)",
                "run_in_chunks(an LSTM(3) with the grader's weights, 11 steps, one chunk of 20)"]
RECORDINGS_LABELS = ["read_recordings(a stateful GRU -> LSTM model that already holds a state, recordings of 13, 7 "
                     "and 9 steps, chunks of 5)"]

CHECKS = [
    FunctionCheck("ex1_test", calls=CELL_CALLS, inputs=cell_inputs,
                  verify=functools.partial(compare_results, labels=CELL_LABELS, rtol=1e-4, atol=1e-5)),
    FunctionCheck("ex2_test", calls=[
        'describe_recurrent("lstm", 3, (2, 5, 4), False, True, True)',
        'describe_recurrent("gru", 8, (4, 6, 2), True, True, False)',
        DESCRIBE_CALL,
        '[type(describe_recurrent(str(kind), 4, (2, 3, 5))[1]).__name__ for kind in kinds[::8]]',
    ], inputs=layer_configurations),
    FunctionCheck("ex3_test", calls=CHUNK_CALLS, inputs=chunk_inputs,
                  verify=functools.partial(compare_results, labels=CHUNK_LABELS, rtol=1e-4, atol=1e-5)),
    FunctionCheck("ex4_test", calls=[RECORDINGS_CALL], inputs=recording_inputs,
                  verify=functools.partial(compare_results, labels=RECORDINGS_LABELS, rtol=1e-4, atol=1e-5)),
    # The input may be (None, 28, 28) or (None, None, 28), so the shapes are checked by budget_rules.
    ModelCheck("ex5_test", call=ROW_CLASSIFIER_CALL, same_parameters=False, same_shapes=False, held_out=fashion_held_out,
               threshold=0.79, verify=budget_rules),
]
