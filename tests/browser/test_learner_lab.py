"""Chapter 1 in JupyterLab, in a real browser, as a learner meets it after `make lab`.

JupyterLab runs with `make lab`'s command and environment, in a folder of the test's own that holds a
copy of chapter 1 in which the learner has answered exercise 1 (the course in the repository is never
touched). The test walks through what a learner does first: open the chapter, run Setup, run a solved
exercise's visible test, score the chapter from its last cell, and press nbgrader's Validate button.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import nbformat
import pytest

from tests.conftest import REPO
from tests.course_utils.test_setup import REPORT
from tests.lab_server import running_lab

CHAPTER = "01_tensors"
NOTEBOOK = f"course/{CHAPTER}/{CHAPTER}.ipynb"
#: The exercise the learner has answered, by the grade id of its answer cell.
SOLVED = "ex1_answer"

pytestmark = pytest.mark.skipif(not (REPO / ".venv").is_dir(), reason="make lab uses the .venv that make creates")


def solved_copy(root: Path) -> nbformat.NotebookNode:
    """Write chapter 1's release into ``root`` with exercise 1 answered by the solution's code; return it."""
    release = nbformat.read(REPO / NOTEBOOK, as_version=4)
    solution = nbformat.read(REPO / "solutions" / CHAPTER / f"{CHAPTER}.ipynb", as_version=4)
    answer = next(cell.source for cell in solution.cells
                  if cell.metadata.get("nbgrader", {}).get("grade_id") == SOLVED)
    answer = "\n".join(line for line in answer.splitlines() if "### BEGIN SOLUTION" not in line
                       and "### END SOLUTION" not in line)
    for cell in release.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == SOLVED:
            cell.source = answer
    target = root / NOTEBOOK
    target.parent.mkdir(parents=True)
    nbformat.write(release, target)
    shutil.copyfile(REPO / "nbgrader_config.py", root / "nbgrader_config.py")
    return release


def cell_index(notebook: nbformat.NotebookNode, grade_id: str) -> int:
    """Return the position of the cell with nbgrader id ``grade_id``."""
    for index, cell in enumerate(notebook.cells):
        if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id:
            return index
    raise AssertionError(f"chapter 1 has no cell {grade_id}")


def select_cell(page, index: int, count: int) -> None:
    """Select cell ``index`` (0-based) in command mode, as a learner does with the arrow keys.

    JupyterLab draws only the cells near the view, so the cell is reached by moving the selection,
    which scrolls it into view; the status bar's "Cell i/n" confirms where the selection is.
    """
    active_cell(page).locator(".jp-InputPrompt").first.click()  # Focus the notebook, in command mode.
    page.keyboard.press("Escape")
    status = page.locator(".jp-StatusBar-Widget", has_text=re.compile(r"Cell \d+/\d+")).first
    current = int(re.search(r"Cell (\d+)/", status.inner_text()).group(1)) - 1
    key = "ArrowDown" if index > current else "ArrowUp"
    for _ in range(abs(index - current)):
        page.keyboard.press(key)
    status.filter(has_text=f"Cell {index + 1}/{count}").wait_for(timeout=10_000)


def active_cell(page):
    """Return the selected cell of the notebook."""
    return page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell.jp-mod-active")


def run_selected(page, cell, timeout_ms: int) -> None:
    """Run the selected cell in place (Ctrl+Enter) and wait until it has finished (its prompt shows a number)."""
    prompt = cell.locator(".jp-InputPrompt").first
    page.keyboard.press("Control+Enter")
    page.wait_for_function(
        "prompt => /\\[\\d+\\]/.test(prompt.textContent)", arg=prompt.element_handle(), timeout=timeout_ms)


def test_a_learner_opens_chapter_1_runs_setup_solves_scores_and_validates(browser, steps, tmp_path):
    root = tmp_path / "lab"
    notebook = solved_copy(root)
    count = len(notebook.cells)
    with running_lab(root, tmp_path) as lab:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.set_default_timeout(60_000)

        with steps.step("open chapter 1", page):
            page.goto(lab.url("/"))
            assert page.url.split("?")[0].endswith(f"/lab/tree/{NOTEBOOK}")
            page.locator(".jp-Notebook .jp-Cell").first.wait_for()
            page.locator(".jp-StatusBar-Widget", has_text="Idle").first.wait_for(timeout=60_000)
            news = page.get_by_role("button", name="No", exact=True)
            if news.count():
                news.click()  # JupyterLab asks once whether to fetch news; a learner answers it too.

        setup_index = next(i for i, cell in enumerate(notebook.cells) if cell.cell_type == "code")
        with steps.step("run the Setup cell", page):
            select_cell(page, setup_index, count)
            cell = active_cell(page)
            run_selected(page, cell, timeout_ms=120_000)
            outputs = cell.locator(".jp-OutputArea-output")
            assert outputs.count() == 1, f"the Setup cell shows {outputs.count()} outputs: {cell.inner_text()}"
            assert cell.locator("[data-mime-type='application/vnd.jupyter.stderr']").count() == 0
            assert re.fullmatch(REPORT, outputs.first.inner_text().strip() + "\n"), outputs.first.inner_text()
            steps.detail(cell, "setup-cell")

        test_index = cell_index(notebook, SOLVED.replace("_answer", "_test"))
        with steps.step("run exercise 1 and its visible test", page):
            select_cell(page, test_index, count)
            page.get_by_role("menuitem", name="Run").click()
            page.get_by_role("menuitem", name=re.compile("Run All Above Selected Cell")).click()
            cell = active_cell(page)
            run_selected(page, cell, timeout_ms=120_000)
            assert cell.locator(".jp-OutputArea-output").inner_text().strip() == "Visible tests passed."
            cell.scroll_into_view_if_needed()

        with steps.step("save and score the chapter in its last cell", page):
            page.keyboard.press("Control+s")
            page.wait_for_function(
                "() => !document.querySelector('.lm-TabBar-tab.jp-mod-current.jp-mod-dirty')", timeout=30_000)
            select_cell(page, count - 1, count)
            cell = active_cell(page)
            run_selected(page, cell, timeout_ms=240_000)
            table = cell.locator("table.tfcourse-score")
            table.wait_for()
            text = table.inner_text()
            assert re.search(r"ex1_test\s+2\s*/\s*2", text), text
            assert "not been answered" in text or "NotImplementedError" in text, text
            assert cell.locator("[data-mime-type='application/vnd.jupyter.stderr']").count() == 0
            steps.detail(cell.locator(".jp-OutputArea").first, "score-cell")
            table.scroll_into_view_if_needed()

        with steps.step("validate with nbgrader", page):
            page.get_by_role("button", name="Validate").click()
            dialog = page.locator(".jp-Dialog")
            dialog.wait_for(timeout=120_000)
            assert dialog.inner_text().strip(), "the Validate dialog is empty"
            assert "failed" in dialog.inner_text().lower() or "error" in dialog.inner_text().lower()
        page.close()
