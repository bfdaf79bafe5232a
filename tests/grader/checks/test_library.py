"""The helpers of grader.checks.library that chapters' grading.py files share."""

import functools

import numpy as np
import pytest

from grader.checks import library as checklib


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


class CountedModel:
    """A stand-in for a model with a given number of parameters."""

    def __init__(self, num_parameters):
        self.num_parameters = num_parameters

    def count_params(self):
        return self.num_parameters


def test_parameter_budget_accepts_a_model_at_the_budget():
    assert checklib.parameter_budget(CountedModel(20_000), max_parameters=20_000) is None


def test_parameter_budget_names_the_count_and_the_budget():
    problem = checklib.parameter_budget(CountedModel(20_001), None, max_parameters=20_000)
    assert problem == "the model has 20,001 parameters, above the budget of 20,000"


def test_parameter_budget_is_a_verify_function_with_partial():
    verify = functools.partial(checklib.parameter_budget, max_parameters=5_000)
    assert verify(CountedModel(5_200), CountedModel(4_000)) == "the model has 5,200 parameters, above the budget of 5,000"


def test_probabilities_problem_accepts_softmax_rows():
    model = ConstantModel(np.array([[0.2, 0.8], [0.5, 0.5], [1.0, 0.0]]))
    assert checklib.probabilities_problem(model, np.zeros((3, 1))) is None


def test_probabilities_problem_names_a_negative_output():
    model = ConstantModel(np.array([[1.5, -0.5], [0.5, 0.5]]))
    assert checklib.probabilities_problem(model, np.zeros((2, 1))) == "an output is -0.5"


def test_probabilities_problem_names_the_sum_farthest_from_one():
    model = ConstantModel(np.array([[0.5, 0.6], [0.9, 0.9], [0.5, 0.5]]))
    problem = checklib.probabilities_problem(model, np.zeros((3, 1)), what="test photo")
    assert problem == "the outputs for one test photo sum to 1.8"


def test_probabilities_problem_allows_sums_within_atol():
    model = ConstantModel(np.array([[0.5, 0.5005]], dtype="float32"))
    assert checklib.probabilities_problem(model, np.zeros((1, 1))) is None
    assert checklib.probabilities_problem(model, np.zeros((1, 1)), atol=1e-4) == "the outputs for one example sum to 1"


def test_probabilities_problem_rejects_outputs_that_are_not_finite():
    model = ConstantModel(np.array([[np.nan, 0.5]]))
    assert checklib.probabilities_problem(model, np.zeros((1, 1))) == "the outputs for one example sum to nan"


def test_gated_evaluates_the_value_when_the_condition_holds():
    call = checklib.gated("model", "model > 2", "the model must be above 2")
    assert eval(call, {"model": 3}, {}) == 3


def test_gated_raises_the_message_when_the_condition_fails():
    call = checklib.gated("model", "model > 2", "the model must use loss='mse' and \"quotes\"")
    with pytest.raises(ValueError) as error:
        eval(call, {"model": 1}, {})
    assert str(error.value) == "the model must use loss='mse' and \"quotes\""


def test_gated_evaluates_the_value_only_when_the_condition_holds():
    call = checklib.gated("1 / 0", "False", "no")
    with pytest.raises(ValueError, match="no"):
        eval(call, {}, {})


class FakeSplit:
    """A stand-in for course_utils.data.Split: 5 test images of 4x6 uint8 pixels."""

    def __init__(self):
        self.x_test = np.arange(5 * 4 * 6, dtype="uint8").reshape(5, 4, 6)
        self.y_test = np.array([3, 1, 4, 1, 5])


def test_fashion_test_images_scales_all_images_to_float32():
    split = FakeSplit()
    x, y = checklib.fashion_test_images(split=split)
    assert x.dtype == np.float32 and x.shape == (5, 4, 6)
    np.testing.assert_array_equal(x, split.x_test.astype("float32") / 255.0)
    np.testing.assert_array_equal(y, split.y_test)


def test_fashion_test_images_takes_the_second_half_in_order():
    split = FakeSplit()
    x, y = checklib.fashion_test_images("second half", scale=False, split=split)
    assert x.dtype == np.uint8
    np.testing.assert_array_equal(x, split.x_test[2:])
    np.testing.assert_array_equal(y, [4, 1, 5])


def test_fashion_test_images_adds_a_channel_axis_or_flattens():
    split = FakeSplit()
    channels, _ = checklib.fashion_test_images("second half", layout="channels", split=split)
    flat, _ = checklib.fashion_test_images("second half", layout="flat", split=split)
    assert channels.shape == (3, 4, 6, 1) and flat.shape == (3, 24)
    np.testing.assert_array_equal(flat, split.x_test[2:].reshape(3, -1).astype("float32") / 255.0)


def test_fashion_test_images_averages_blocks_when_pooling():
    split = FakeSplit()
    x, _ = checklib.fashion_test_images(pool=2, layout="flat", split=split)
    expected = split.x_test.reshape(5, 2, 2, 3, 2).mean(axis=(2, 4)).reshape(5, -1) / 255.0
    assert x.shape == (5, 6) and x.dtype == np.float32
    np.testing.assert_array_equal(x, expected.astype("float32"))


def test_fashion_test_images_rejects_unknown_parts_and_layouts():
    with pytest.raises(ValueError, match="part"):
        checklib.fashion_test_images("first half", split=FakeSplit())
    with pytest.raises(ValueError, match="layout"):
        checklib.fashion_test_images(layout="nchw", split=FakeSplit())


def test_fashion_test_images_loads_fashion_mnist_once(monkeypatch):
    from course_utils import data

    calls = []
    monkeypatch.setattr(data, "load_fashion_mnist", lambda verbose=True: calls.append(verbose) or FakeSplit())
    checklib._fashion_mnist.cache_clear()
    try:
        first, _ = checklib.fashion_test_images("second half")
        second, _ = checklib.fashion_test_images("second half")
    finally:
        checklib._fashion_mnist.cache_clear()
    assert calls == [False]
    np.testing.assert_array_equal(first, second)


def test_scaling_in_float32_equals_scaling_in_float64_for_pixels_and_their_2x2_means():
    # Chapters 5 and 11 divided in float64 and cast after; fashion_test_images casts first. Every
    # value those notebooks can produce gives the same float32 either way.
    for values in (np.arange(256, dtype="uint8"), np.arange(0, 255.25, 0.25)):
        np.testing.assert_array_equal(values.astype("float32") / 255.0, (values / 255.0).astype("float32"))
