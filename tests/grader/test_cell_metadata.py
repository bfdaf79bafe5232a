"""Tests for grader.cell_metadata: pasted copies of graded cells and invented grading metadata."""

import copy

from nbformat.v4 import new_code_cell, new_markdown_cell

from grader.cell_metadata import keepers, note_cell, notes, shown_id
from grader.preprocessors import KnownGradingCells


def graded(grade_id, cell_id, **info):
    cell = new_code_cell("pass")
    cell.id = cell_id
    cell.metadata["nbgrader"] = {"grade_id": grade_id, "grade": True, "solution": False, "locked": True, **info}
    return cell


def test_the_original_keeps_its_metadata_even_when_a_copy_is_pasted_above_it():
    original = graded("ex1_test", "aaaa1111")
    pasted = copy.deepcopy(original)
    pasted.id = "bbbb2222"
    assert keepers([pasted, original], {"ex1_test"}, {"ex1_test": "aaaa1111"}) == {"ex1_test": 1}
    assert keepers([original, pasted], {"ex1_test"}, {"ex1_test": "aaaa1111"}) == {"ex1_test": 0}


def test_without_the_source_ids_the_first_copy_is_the_original():
    first, second = graded("ex1_test", "c1"), graded("ex1_test", "c2")
    assert keepers([first, second], {"ex1_test"}, {}) == {"ex1_test": 0}
    assert keepers([first, second], set(), {}) == {}, "an unknown id has no original"


def test_demotion_says_which_cell_and_where_the_original_is():
    chosen = {"ex1_test": 2}
    assert KnownGradingCells.demotion("ex1_test", "test cell", 2, chosen, {"ex1_test"}) == ""
    assert KnownGradingCells.demotion("ex1_test", "test cell", 5, chosen, {"ex1_test"}) == (
        "a copy of test cell `ex1_test` counts as an ordinary cell and earns nothing; the original, above it, is graded.")
    assert "the original, below it" in KnownGradingCells.demotion("ex1_test", "test cell", 0, chosen, {"ex1_test"})
    assert KnownGradingCells.demotion("bonus", "test cell", 3, chosen, {"ex1_test"}).startswith(
        "a cell with grading metadata for `bonus`, which this assignment does not have")


def test_an_invented_id_is_quoted_safely():
    assert shown_id("x` <script>alert(1)</script> `") == "x???script?alert?1???script???"
    assert len(shown_id("a" * 500)) == 60


def test_notes_are_found_in_order_and_only_in_note_cells():
    cells = [note_cell("first"), new_markdown_cell("**Note from the grader:** typed by a student"), note_cell("second")]

    class Notebook:
        pass

    notebook = Notebook()
    notebook.cells = cells
    assert notes(notebook) == ["first", "second"]
