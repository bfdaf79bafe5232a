"""Tests for grader.notebooks: reading, validating and the canonical form."""

import json

import nbformat
import pytest

from grader import notebooks


def make_notebook():
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["language_info"] = {"name": "python", "version": "3.11.7"}
    cell = nbformat.v4.new_code_cell("print(1)")
    cell.outputs = [nbformat.v4.new_output("stream", text="1\n")]
    cell.execution_count = 3
    cell.metadata["execution"] = {"iopub.execute_input": "2026-01-01"}
    notebook.cells.append(cell)
    return notebook


def test_normalize_strips_outputs_counts_and_run_metadata():
    notebook = notebooks.normalize(make_notebook())
    cell = notebook.cells[0]
    assert cell.outputs == [] and cell.execution_count is None
    assert "execution" not in cell.metadata
    assert notebook.metadata["language_info"] == {"name": "python"}


def test_write_then_check_is_canonical(tmp_path):
    path = tmp_path / "a.ipynb"
    nbformat.write(make_notebook(), path)
    assert not notebooks.is_canonical(path)
    assert notebooks.format_files([path], check=True) == [path]
    assert not notebooks.is_canonical(path), "--check must not rewrite"
    assert notebooks.format_files([path]) == [path]
    assert notebooks.is_canonical(path)
    assert notebooks.format_files([path]) == []


def test_read_invalid_json_names_the_file_and_position(tmp_path):
    path = tmp_path / "broken.ipynb"
    path.write_text('{"cells": [', encoding="utf-8")
    with pytest.raises(notebooks.NotebookError, match=r"broken.ipynb: is not valid JSON \(line 1"):
        notebooks.read(path)


def test_read_rejects_json_that_is_not_a_notebook(tmp_path):
    path = tmp_path / "list.ipynb"
    path.write_text(json.dumps({"cells": "nope", "nbformat": 4, "nbformat_minor": 5, "metadata": {}}))
    with pytest.raises(notebooks.NotebookError, match="is not a valid Jupyter notebook"):
        notebooks.read(path)


def test_read_fills_in_missing_cell_ids(tmp_path):
    notebook = nbformat.v4.new_notebook()
    notebook.cells.append(nbformat.v4.new_markdown_cell("hi"))
    raw = json.loads(nbformat.writes(notebook))
    del raw["cells"][0]["id"]
    path = tmp_path / "old.ipynb"
    path.write_text(json.dumps(raw))
    assert notebooks.read(path).cells[0].id


def test_cell_roles(fixtures):
    notebook = notebooks.read(fixtures / "source" / "mini" / "mini.ipynb")
    roles = [(notebooks.is_solution_cell(c), notebooks.is_test_cell(c)) for c in notebook.cells]
    assert roles.count((True, False)) == 2
    assert roles.count((False, True)) == 2


def test_committed_notebooks_are_canonical(repo):
    paths = notebooks.find_notebooks([repo / "solutions", repo / "course", repo / "tests" / "fixtures" / "source"])
    assert paths, "no notebooks found"
    not_canonical = [str(p.relative_to(repo)) for p in paths if not notebooks.is_canonical(p)]
    assert not_canonical == [], "run 'tfcourse format' on these"
