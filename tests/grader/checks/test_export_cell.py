"""The export cells: inputs drawn per seed, cells inserted after their tests, safe data format."""

import json

import nbformat
import numpy as np
import pytest

from grader import checks as specs
from grader.checks import export_cell as exports
from grader.checks import export_files as export_data


@pytest.fixture
def spec(fixtures):
    return specs.load_spec(fixtures / "source" / "mini")


def test_inputs_depend_on_the_seed_only(spec):
    first, again, other = (exports.draw_inputs(spec, seed) for seed in (1, 1, 2))
    assert np.array_equal(first["ex1_test"]["values"], again["ex1_test"]["values"])
    assert not np.array_equal(first["ex1_test"]["values"], other["ex1_test"]["values"])


def test_export_cells_go_right_after_their_tests_and_come_out_again(spec, fixtures):
    notebook = nbformat.read(fixtures / "source" / "mini" / "mini.ipynb", as_version=4)
    before = [cell.source for cell in notebook.cells]
    exports.insert_export_cells(notebook, exports.export_cells(spec, seed=3))
    marked = [i for i, cell in enumerate(notebook.cells) if cell.metadata.get(exports.EXPORT_MARK)]
    grade_ids = [notebook.cells[i - 1].metadata["nbgrader"]["grade_id"] for i in marked]
    assert grade_ids == ["ex1_test", "ex2_test"]
    exports.remove_export_cells(notebook)
    assert [cell.source for cell in notebook.cells] == before


def test_export_cell_writes_json_results_and_a_report(spec, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    namespace = {"np": np, "double": lambda values: np.asarray(values) * 2}
    sources = exports.export_cells(spec, seed=3)
    exec(sources["ex1_test"], namespace)
    exec(sources["ex2_test"], namespace)  # mean_of_squares is missing: reported, not raised.
    folder = tmp_path / exports.EXPORT_FOLDER
    report = json.loads((folder / "report.json").read_text())
    assert report["ex1_test"] == "exported"
    assert report["ex2_test"].startswith("NameError: name 'mean_of_squares' is not defined")
    results = export_data.decode(json.loads((folder / "ex1_test.json").read_text()))
    drawn = exports.draw_inputs(spec, seed=3)["ex1_test"]["values"]
    assert np.allclose(results[0], drawn * 2) and np.allclose(results[1], drawn * 2)


def test_object_arrays_are_refused():
    with pytest.raises(ValueError, match="object arrays"):
        export_data.decode({"__array__": [1], "dtype": "object", "shape": [1]})


def test_comprehensions_and_lambdas_in_calls_see_the_inputs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    check = specs.FunctionCheck("ex1_test", calls=["[double(row) for row in values]", "(lambda: double(values))()"],
                                inputs=lambda rng: {"values": rng.normal(size=(2, 3))})
    spec = specs.ChapterSpec(tmp_path / "grading.py", [check])
    namespace = {"np": np, "double": lambda values: np.asarray(values) * 2}
    exec(exports.export_cells(spec, seed=5)["ex1_test"], namespace)
    folder = tmp_path / exports.EXPORT_FOLDER
    assert json.loads((folder / "report.json").read_text()) == {"ex1_test": "exported"}
    results = export_data.decode(json.loads((folder / "ex1_test.json").read_text()))
    drawn = exports.draw_inputs(spec, seed=5)["ex1_test"]["values"]
    assert np.allclose(results[0], drawn * 2) and np.allclose(results[1], drawn * 2)
    assert "values" not in namespace, "the inputs must not leak into the notebook's names"
