"""The helpers of grader.checklib that chapters' grading.py files share."""

import functools

import numpy as np
import pytest

from grader import checklib


@pytest.fixture(scope="module")
def keras():
    import keras

    return keras


def dense_model(keras, units=3, activation="relu", name=None):
    """Return a small model: 4 inputs, a Dense layer of ``units``, then one sigmoid output."""
    from keras import layers

    inputs = keras.Input(shape=(4,))
    hidden = layers.Dense(units, activation=activation)(inputs)
    return keras.Model(inputs, layers.Dense(1, activation="sigmoid")(hidden), name=name)


class ConstantModel:
    """A stand-in for a model whose predictions are given, for the metrics."""

    def __init__(self, predictions):
        self.predictions = predictions

    def predict(self, x, verbose=0):
        return self.predictions[: len(x)]


def test_compare_results_names_calls_by_number():
    problem = checklib.compare_results([np.array([1.0])], [np.array([2.0])])
    assert problem == "the result of call 1 differs from the expected values (largest difference 1)"


def test_compare_results_names_calls_by_label():
    problem = checklib.compare_results([1, 5], [1, 2], labels=["first", "second"])
    assert problem == "second is 5, expected 2"


def test_compare_results_ignores_dtypes_by_default():
    assert checklib.compare_results([np.array([1], dtype="int32")], [np.array([1], dtype="int64")]) is None


def test_compare_results_with_dtypes_rejects_another_dtype():
    problem = checklib.compare_results([np.array([1], dtype="int32")], [np.array([1], dtype="int64")], dtypes=True)
    assert problem == "the result of call 1 has dtype int32, expected int64"


def test_compare_results_holds_float64_results_to_their_own_tolerances():
    value, expected = np.array([1.0 + 1e-6]), np.array([1.0])
    assert checklib.compare_results([value], [expected], rtol=1e-4, atol=1e-5) is None
    assert checklib.compare_results([value], [expected], rtol=1e-4, atol=1e-5, rtol64=1e-9, atol64=1e-9) is not None


def test_compare_results_keeps_float32_tolerances_when_float64_ones_are_given():
    value, expected = np.array([1.0 + 1e-6], dtype="float32"), np.array([1.0], dtype="float32")
    assert checklib.compare_results([value], [expected], rtol=1e-4, atol=1e-5, rtol64=1e-9, atol64=1e-9) is None


def test_layer_rows_default_to_class_output_shape_and_parameters(keras):
    assert checklib.layer_rows(dense_model(keras)) == [("Dense", (None, 3), 15), ("Dense", (None, 1), 4)]


def test_layer_rows_read_activations_and_other_attributes(keras):
    rows = checklib.layer_rows(dense_model(keras), attributes=("activation", "units"))
    assert rows == [("Dense", "relu", 3), ("Dense", "sigmoid", 1)]


def test_layer_rows_expand_nested_models_when_asked(keras):
    inner = dense_model(keras, name="inner")
    inputs = keras.Input(shape=(4,))
    outer = keras.Model(inputs, keras.layers.Dense(2)(inner(inputs)))
    assert [row[0] for row in checklib.layer_rows(outer)] == ["Functional", "Dense"]
    assert [row[0] for row in checklib.layer_rows(outer, nested=True)] == ["Dense", "Dense", "Dense"]


def test_same_layers_accepts_the_reference_architecture(keras):
    assert checklib.same_layers(dense_model(keras), dense_model(keras)) is None


def test_same_layers_names_the_first_differing_layer(keras):
    problem = checklib.same_layers(dense_model(keras, units=5), dense_model(keras, units=3))
    assert problem == ("layer 0 is ('Dense', (None, 5), 25), expected ('Dense', (None, 3), 15) "
                       "(class, output shape, parameters)")


def test_same_layers_names_the_compared_columns(keras):
    problem = checklib.same_layers(dense_model(keras, activation="tanh"), dense_model(keras), attributes=("activation",))
    assert problem == "layer 0 is ('Dense', 'tanh'), expected ('Dense', 'relu') (class, activation)"


def test_same_layers_reports_a_different_number_of_layers(keras):
    from keras import layers

    inputs = keras.Input(shape=(4,))
    short = keras.Model(inputs, layers.Dense(1)(inputs))
    problem = checklib.same_layers(short, dense_model(keras), what="the block")
    assert problem == "the block has 1 layers, expected 2: ['Dense', 'Dense']"


def test_worst_metric_takes_the_lowest_accuracy_of_the_splits():
    model = ConstantModel(np.array([[0.9], [0.1], [0.9], [0.9]]))
    x = [np.zeros((4, 1)), np.zeros((2, 1))]
    y = [np.array([1, 0, 1, 1]), np.array([1, 1])]
    assert checklib.worst_metric(model, x, y) == 0.5


def test_worst_metric_takes_the_largest_error_when_lower_is_better():
    def error(model, x, y):
        return float(np.mean(np.abs(x - y)))

    worst_error = functools.partial(checklib.worst_metric, metric=error, lower_is_better=True)
    assert worst_error(None, [np.zeros(2), np.zeros(2)], [np.ones(2), np.full(2, 3.0)]) == 3.0
