"""The verifier: comparisons, function checks, and models loaded only in Keras's safe mode."""

import json

import numpy as np
import pytest

from grader.checks import ChapterSpec, FunctionCheck, ModelCheck, export_files, verifier
from grader.checks.compare import compare
from grader.checks.export_files import ExportError, encode_array, read_results
from grader.checks.model import load_model


def write_export(folder, grade_id, results=None, status="exported"):
    folder.mkdir(parents=True, exist_ok=True)
    report_path = folder / "report.json"
    report = json.loads(report_path.read_text()) if report_path.exists() else {}
    report[grade_id] = status
    report_path.write_text(json.dumps(report))
    if results is not None:
        (folder / f"{grade_id}.json").write_text(json.dumps(results))


@pytest.mark.parametrize("value, expected, problem", [
    (np.array([1.0, 2.0]), np.array([1.0, 2.0 + 1e-7]), None),
    (np.array([1.0, 2.0]), np.array([1.0, 2.5]), "differs from the expected values (largest difference 0.5)"),
    (np.zeros((2, 3)), np.zeros((3, 2)), "has shape (2, 3), expected (3, 2)"),
    ({"a": 1.0}, {"a": 1.0, "b": 2.0}, "should be a dict with keys ['a', 'b']"),
    ([1, 2], [1, 2, 3], "should have 3 items"),
    (2.0000001, 2.0, None),
    ("cat", "dog", "is 'cat', expected 'dog'"),
])
def test_compare(value, expected, problem):
    found = compare(value, expected, rtol=1e-4, atol=1e-5)
    assert (found is None) if problem is None else (problem in found)


def test_function_check_passes_and_fails_on_the_values(tmp_path):
    check = FunctionCheck("ex1_test", calls=["double(values)"])
    spec = ChapterSpec(tmp_path / "grading.py", [check])
    write_export(tmp_path / "reference", "ex1_test", [encode_array(np.array([2.0, 4.0]))])
    write_export(tmp_path / "right", "ex1_test", [encode_array(np.array([2.0, 4.0]))])
    write_export(tmp_path / "wrong", "ex1_test", [encode_array(np.array([3.0, 6.0]))])
    write_export(tmp_path / "raised", "ex1_test", status="NotImplementedError: ")
    assert verifier.verify(spec, tmp_path / "right", tmp_path / "reference") == {
        "ex1_test": {"passed": True, "message": ""}}
    assert "differs from the expected values" in verifier.verify(spec, tmp_path / "wrong", tmp_path / "reference")[
        "ex1_test"]["message"]
    assert verifier.verify(spec, tmp_path / "raised", tmp_path / "reference")["ex1_test"] == {
        "passed": False, "message": "calling your answer failed: NotImplementedError: "}
    assert verifier.verify(spec, tmp_path / "missing", tmp_path / "reference")["ex1_test"]["message"] == (
        "calling your answer failed: no export: the notebook did not finish")


def test_oversized_exports_are_not_read(tmp_path, monkeypatch):
    monkeypatch.setattr(export_files, "MAX_EXPORT_BYTES", 10)
    write_export(tmp_path, "ex1_test", [encode_array(np.zeros(100))])
    with pytest.raises(ExportError, match="larger than"):
        read_results(tmp_path, "ex1_test")


@pytest.fixture(scope="module")
def keras():
    import keras

    return keras


def small_model(keras, units=3, activation="softmax"):
    from keras import layers

    inputs = keras.Input(shape=(4,))
    return keras.Model(inputs, layers.Dense(units, activation=activation)(layers.Dense(8, activation="relu")(inputs)))


def test_model_check_compares_parameters_and_accuracy(tmp_path, keras):
    keras.utils.set_random_seed(0)
    for folder, units in (("reference", 3), ("right", 3), ("wrong", 5)):
        (tmp_path / folder).mkdir()
        small_model(keras, units).save(tmp_path / folder / "ex1_test.keras")
    x, y = np.zeros((10, 4), "float32"), np.zeros(10, "int64")
    check = ModelCheck("ex1_test", call="build_model()", held_out=lambda: (x, y), threshold=0.0)
    assert check.judge(tmp_path / "right", tmp_path / "reference", {}) is None
    assert check.judge(tmp_path / "wrong", tmp_path / "reference", {}) == (
        "the model's outputs have shapes [(None, 5)], expected [(None, 3)]")
    strict = ModelCheck("ex1_test", call="build_model()", held_out=lambda: (x, y + 7), threshold=0.5)
    measured = {}
    assert strict.judge(tmp_path / "right", tmp_path / "reference", measured) == (
        "the model's accuracy on the grader's held-out data is 0, below the target of 0.5")
    assert measured["measured"] == {"metric": "accuracy", "value": 0.0, "threshold": 0.5, "lower_is_better": False}


def test_model_check_with_an_error_metric(tmp_path, keras):
    """A regression check passes when its error is at most the threshold, and reports what it measured."""
    keras.utils.set_random_seed(0)
    for folder in ("reference", "student"):
        (tmp_path / folder).mkdir()
        small_model(keras, 1, activation="sigmoid").save(tmp_path / folder / "ex1_test.keras")
    # Zero inputs give the sigmoid of a zero bias: 0.5, so the error against 1.0 is exactly 0.5.
    x, y = np.zeros((10, 4), "float32"), np.full(10, 1.0, "float32")

    def mean_absolute_error(model, x, y):
        return float(np.mean(np.abs(model.predict(x, verbose=0).reshape(-1) - y)))

    loose = ModelCheck("ex1_test", call="model", held_out=lambda: (x, y), threshold=0.6,
                       metric=mean_absolute_error, metric_name="MAE", lower_is_better=True)
    measured = {}
    assert loose.judge(tmp_path / "student", tmp_path / "reference", measured) is None
    assert measured["measured"]["metric"] == "MAE" and measured["measured"]["value"] == pytest.approx(0.5, abs=1e-6)
    tight = ModelCheck("ex1_test", call="model", held_out=lambda: (x, y), threshold=0.1,
                       metric=mean_absolute_error, metric_name="MAE", lower_is_better=True)
    assert tight.judge(tmp_path / "student", tmp_path / "reference", {}) == (
        "the model's MAE on the grader's held-out data is 0.5, above the maximum of 0.1")


def test_a_model_with_a_lambda_layer_is_never_run(tmp_path, keras):
    """A .keras file can carry Python code in a Lambda layer; safe mode must refuse to load it."""
    from keras import layers

    marker = tmp_path / "code-ran"
    inputs = keras.Input(shape=(4,))
    # The function carries no closure, so Keras stores its bytecode in the file.
    payload = eval(f"lambda x: x + len(open({str(marker)!r}, 'w').name) * 0")  # noqa: S307 - the test's own code.
    outputs = layers.Lambda(payload)(inputs)
    (tmp_path / "student").mkdir()
    keras.Model(inputs, outputs).save(tmp_path / "student" / "ex1_test.keras")
    marker.unlink(missing_ok=True)  # Building the model ran the lambda once, here, in the test.
    with pytest.raises(ExportError, match="could not be loaded safely"):
        load_model(tmp_path / "student" / "ex1_test.keras")
    assert not marker.exists(), "the Lambda layer's code must not run in the verifier"


def test_compare_ignores_dtypes_by_default():
    assert compare(np.array([1, 2], dtype="int32"), np.array([1, 2], dtype="int64"), rtol=0, atol=0) is None


def test_compare_with_dtypes_rejects_another_integer_dtype():
    problem = compare(np.array([1, 2], dtype="int32"), np.array([1, 2], dtype="int64"), rtol=0, atol=0,
                             dtypes=True)
    assert problem == "the result has dtype int32, expected int64"


def test_compare_with_dtypes_rejects_float64_for_float32():
    problem = compare(np.zeros(3), np.zeros(3, dtype="float32"), rtol=1e-4, atol=1e-5, where="x", dtypes=True)
    assert problem == "x has dtype float64, expected float32"


def test_compare_with_dtypes_accepts_the_same_dtype_within_tolerance():
    value, expected = np.array([1.0, 2.0], dtype="float32"), np.array([1.0, 2.0 + 1e-7], dtype="float32")
    assert compare(value, expected, rtol=1e-4, atol=1e-5, dtypes=True) is None


def test_compare_with_dtypes_requires_an_array_where_one_is_expected():
    problem = compare([1.0, 2.0], np.array([1.0, 2.0], dtype="float32"), rtol=1e-4, atol=1e-5, dtypes=True)
    assert problem == "the result should be a tensor of dtype float32, got a list"


def test_compare_with_dtypes_looks_inside_lists_and_dicts():
    expected = {"outputs": [np.zeros(2, dtype="float32"), np.zeros(2, dtype="int64")]}
    value = {"outputs": [np.zeros(2, dtype="float32"), np.zeros(2, dtype="int32")]}
    problem = compare(value, expected, rtol=1e-4, atol=1e-5, dtypes=True)
    assert problem == "the result['outputs'][1] has dtype int32, expected int64"


def test_compare_with_dtypes_rejects_an_int_for_a_float():
    assert compare(2, 2.0, rtol=1e-4, atol=1e-5) is None
    assert compare(2, 2.0, rtol=1e-4, atol=1e-5, dtypes=True) == "the result is the int 2, expected the float 2.0"


def test_compare_with_dtypes_rejects_a_bool_for_an_int():
    assert compare(True, 1, rtol=0, atol=0, dtypes=True) == "the result is True, expected 1"


def test_function_check_with_dtypes_fails_a_result_of_another_dtype(tmp_path):
    check = FunctionCheck("ex1_test", calls=["double(values)"], dtypes=True)
    loose = FunctionCheck("ex1_test", calls=["double(values)"])
    write_export(tmp_path / "reference", "ex1_test", [encode_array(np.array([2, 4], dtype="int64"))])
    write_export(tmp_path / "student", "ex1_test", [encode_array(np.array([2, 4], dtype="int32"))])
    assert loose.judge(tmp_path / "student", tmp_path / "reference", {}) is None
    assert check.judge(tmp_path / "student", tmp_path / "reference", {}) == (
        "double(values) on the grader's inputs has dtype int32, expected int64")
