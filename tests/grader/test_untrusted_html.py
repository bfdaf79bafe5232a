"""Tests for grader.untrusted_html: Markdown and raw cells that could run code in a reader's browser."""

import glob

import nbformat
import pytest
from nbformat.v4 import new_markdown_cell, new_notebook, new_raw_cell

from grader.cell_metadata import NOTE_KEY
from grader.preprocessors import SanitizeMarkdown
from grader.untrusted_html import is_safe, markdown_is_safe
from tests.conftest import REPO

UNSAFE_MARKDOWN = [
    "<script>alert(1)</script>",
    '<img src="x" onerror="alert(1)">',
    "<IMG SRC=x OnError=alert(1)>",
    "[click](javascript:alert(1))",
    "[click]( JaVaScRiPt:alert(1))",
    '<a href="&#106;avascript:alert(1)">click</a>',
    '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">click</a>',
    "<svg onload=alert(1)></svg>",
    '<iframe src="https://example.org"></iframe>',
    "<style>body { display: none }</style>",
    '<div style="background: url(javascript:alert(1))">x</div>',
    "<details open ontoggle=alert(1)>x</details>",
    '<form action="https://example.org"><input type="submit"></form>',
]

SAFE_MARKDOWN = [
    "# A heading\n\nSome **bold** and *italic* text, `code < 3`, and $a < b$ in math.",
    "> A quote\n\n- a list\n- [a link](https://keras.io)\n\n| a | b |\n|---|---|\n| 1 | 2 |",
    "```python\nif a < b:\n    print('<script>')\n```",
    "Line<br>break, <sub>low</sub> and <sup>high</sup>, <b>bold</b>.",
]


@pytest.mark.parametrize("source", UNSAFE_MARKDOWN)
def test_markdown_that_could_run_code_is_unsafe(source):
    assert not markdown_is_safe(new_markdown_cell(source))


@pytest.mark.parametrize("source", SAFE_MARKDOWN)
def test_ordinary_markdown_is_safe(source):
    assert markdown_is_safe(new_markdown_cell(source))


def test_every_markdown_cell_of_the_course_is_left_as_written():
    unsafe = []
    for path in sorted(glob.glob(str(REPO / "solutions" / "*" / "*.ipynb"))):
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type == "markdown" and not markdown_is_safe(cell):
                unsafe.append((path, cell.source[:60]))
    assert unsafe == []


def test_is_safe_on_html():
    assert is_safe('<table><thead><tr><th>a</th></tr></thead><tbody><tr><td>1</td></tr></tbody></table>')
    assert not is_safe('<a href="javascript:alert(1)">x</a>')
    assert not is_safe("<object data=x></object>")


def test_unsafe_cells_are_shown_as_text_with_a_note():
    notebook = new_notebook(cells=[
        new_markdown_cell("Fine **text**."),
        new_markdown_cell("Fences of ```` four backticks, and <script>alert(1)</script>"),
        new_raw_cell("<script>alert(2)</script>"),
    ])
    notebook.cells[1].metadata["nbgrader"] = {"grade_id": "md_answer", "solution": True}
    original_id = notebook.cells[1].id
    sanitized, _ = SanitizeMarkdown().preprocess(notebook, {})
    assert sanitized.cells[0].source == "Fine **text**."
    shown = sanitized.cells[1]
    assert shown.cell_type == "markdown" and shown.id == original_id
    assert shown.metadata["nbgrader"]["grade_id"] == "md_answer", "nbgrader's metadata is kept"
    assert shown.source.startswith("**Note from the grader:** a Markdown cell held HTML")
    assert "`````text\nFences of ```` four" in shown.source, "the fence is longer than any run of backticks"
    assert markdown_is_safe(shown)
    assert sanitized.cells[2].cell_type == "markdown" and "a raw cell held HTML" in sanitized.cells[2].metadata[NOTE_KEY]
