"""Tests for course_utils.checks: each check passes right answers and explains wrong ones."""

import numpy as np
import pytest

from course_utils import checks
from course_utils.checks import CheckFailed


@pytest.fixture(scope="module")
def model():
    import keras
    from keras import layers

    return keras.Sequential([keras.Input(shape=(4,)), layers.Dense(8, activation="relu"),
                             layers.Dense(3, activation="softmax")])


def test_check_failed_is_an_assertion_error():
    assert issubclass(CheckFailed, AssertionError)


def test_not_none_type_and_equal():
    checks.check_not_none(0)
    with pytest.raises(CheckFailed, match="forget a return"):
        checks.check_not_none(None, "answer")
    checks.check_type(3, (int, float))
    with pytest.raises(CheckFailed, match="should be of type int or float, got str"):
        checks.check_type("3", (int, float))
    checks.check_equal((1, 2), (1, 2))
    with pytest.raises(CheckFailed, match=r"should be \(1, 2\), got \(2, 1\)"):
        checks.check_equal((2, 1), (1, 2))


def test_check_tensor_accepts_close_values_and_tensors():
    import tensorflow as tf

    checks.check_tensor(tf.constant([1.0, 2.0]), np.array([1.0, 2.0 + 1e-7], dtype="float32"))
    checks.check_tensor(tf.Variable([[1, 2]]), tf.constant([[1, 2]]))
    checks.check_tensor(tf.constant(["a", "b"]), tf.constant(["a", "b"]))


def test_check_tensor_messages_name_shape_dtype_and_value():
    import tensorflow as tf

    with pytest.raises(CheckFailed, match=r"has shape \(3, 2\), expected \(2, 3\)"):
        checks.check_tensor(tf.zeros((3, 2)), tf.zeros((2, 3)))
    with pytest.raises(CheckFailed, match="dtype int32, expected float32: use tf.cast"):
        checks.check_tensor(tf.constant([1]), tf.constant([1.0]))
    with pytest.raises(CheckFailed, match=r"at index \(1,\): got 5.0, expected 2.0"):
        checks.check_tensor(tf.constant([1.0, 5.0]), tf.constant([1.0, 2.0]), name="result")
    with pytest.raises(CheckFailed, match="got 'x', expected 'y'"):
        checks.check_tensor(tf.constant(["x"]), tf.constant(["y"]))
    with pytest.raises(CheckFailed, match="forget a return"):
        checks.check_tensor(None, tf.constant(1.0))


def test_check_tensor_compares_ragged_and_sparse():
    import tensorflow as tf

    ragged = tf.ragged.constant([[1, 2], [3]])
    checks.check_tensor(tf.ragged.constant([[1, 2], [3]]), ragged)
    with pytest.raises(CheckFailed, match=r"holds \[\[1, 2\], \[4\]\]"):
        checks.check_tensor(tf.ragged.constant([[1, 2], [4]]), ragged)
    with pytest.raises(CheckFailed, match="should be of type RaggedTensor, got EagerTensor"):
        checks.check_tensor(tf.constant([[1, 2], [3, 0]]), ragged)
    sparse = tf.sparse.SparseTensor(indices=[[0, 1]], values=[2.0], dense_shape=[2, 2])
    checks.check_tensor(sparse, np.array([[0.0, 2.0], [0.0, 0.0]], dtype="float32"))


def test_output_shape_hints(model):
    checks.check_output_shape(model, (None, 3))
    with pytest.raises(CheckFailed, match=r"expected output shape \(None, 10\), got \(None, 3\): check the units"):
        checks.check_output_shape(model, (None, 10))
    with pytest.raises(CheckFailed, match="Flatten"):
        checks.check_output_shape(model, (None, 3, 1))


def test_shape_checks_of_a_model_without_inputs():
    import keras
    from keras import layers

    class Unbuilt(keras.Model):
        def call(self, inputs):
            return inputs

    with pytest.raises(CheckFailed, match="no known output shape"):
        checks.check_output_shape(Unbuilt(), (None, 1))
    no_input = keras.Sequential([layers.Dense(2)])
    with pytest.raises(CheckFailed, match="no known output shape"):
        checks.check_layers(no_input, [("Dense", None, None)])


def test_param_count(model):
    checks.check_param_count(model, 4 * 8 + 8 + 8 * 3 + 3)
    with pytest.raises(CheckFailed, match=r"has 67 parameters, expected 70 \(-3\)"):
        checks.check_param_count(model, 70)
    model.layers[0].trainable = False
    try:
        checks.check_param_count(model, 27, trainable=True)
    finally:
        model.layers[0].trainable = True


def test_layers_diff_names_the_first_difference(model):
    checks.check_layers(model, [("Dense", (None, 8), 40), ("Dense", (None, 3), None)])
    with pytest.raises(CheckFailed, match="layer 1 is a Dense, expected a Dropout"):
        checks.check_layers(model, [("Dense", None, None), ("Dropout", None, None)])
    with pytest.raises(CheckFailed, match=r"layer 0 \(Dense\) outputs \(None, 8\), expected \(None, 16\)"):
        checks.check_layers(model, [("Dense", (None, 16), None), ("Dense", None, None)])
    with pytest.raises(CheckFailed, match="has 2 layers, expected 1"):
        checks.check_layers(model, [("Dense", None, None)])


def test_accuracy_reads_softmax_sigmoid_and_one_hot():
    class Fixed:
        def __init__(self, outputs):
            self.outputs = np.asarray(outputs)

        def predict(self, x, batch_size=None, verbose=0):
            return self.outputs

    softmax = Fixed([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7]])
    assert checks.accuracy(softmax, None, [0, 1, 1, 1]) == 0.75
    assert checks.accuracy(softmax, None, np.eye(2)[[0, 1, 1, 1]]) == 0.75
    assert checks.accuracy(Fixed([[0.9], [0.2]]), None, [1, 0]) == 1.0
    assert checks.check_accuracy(softmax, None, [0, 1, 1, 1], 0.7) is None, "a number would be partial credit"
    with pytest.raises(CheckFailed, match="reaches 75.0% accuracy on held-out data, below the target of 80%: train"):
        checks.check_accuracy(softmax, None, [0, 1, 1, 1], 0.8)
    with pytest.raises(CheckFailed, match="target of 80%: add dropout$"):
        checks.check_accuracy(softmax, None, [0, 1, 1, 1], 0.8, hint="add dropout")
    with pytest.raises(CheckFailed, match="4 predictions for 3 labels"):
        checks.accuracy(softmax, None, [0, 1, 1])


def test_accuracy_of_a_trained_model():
    import keras
    from keras import layers

    keras.utils.set_random_seed(0)
    x = np.random.default_rng(0).normal(size=(400, 2)).astype("float32")
    y = (x[:, 0] + x[:, 1] > 0).astype("int64")
    model = keras.Sequential([keras.Input(shape=(2,)), layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=keras.optimizers.Adam(0.1), loss="binary_crossentropy")
    model.fit(x, y, epochs=20, verbose=0)
    checks.check_accuracy(model, x, y, 0.9)
    assert checks.accuracy(model, x, y) >= 0.9


def test_bounds_on_numbers_say_what_and_what_to_try():
    checks.check_less_than(0.01, 0.02)
    with pytest.raises(CheckFailed, match=r"^the test MSE is 0.03, but it must be below 0.02: use more units$"):
        checks.check_less_than(0.03, 0.02, name="the test MSE", hint="use more units")
    with pytest.raises(CheckFailed, match="must be below"):
        checks.check_less_than(0.02, 0.02)
    with pytest.raises(CheckFailed, match="forget a return"):
        checks.check_less_than(None, 1.0)
    checks.check_at_least(3, 3)
    with pytest.raises(CheckFailed, match=r"^the score is 2, below the minimum of 3$"):
        checks.check_at_least(2, 3, name="the score")
    with pytest.raises(CheckFailed, match="below the minimum"):
        checks.check_at_least(float("nan"), 0.0)
