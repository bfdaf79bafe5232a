"""The chapters that load Fashion-MNIST, on a machine that has neither it nor a network.

CI tests every image chapter on the real Fashion-MNIST (see ``tests/course_utils/test_data.py``,
which fails in CI without it). This test covers the other path: with an empty Keras cache, no system
package and downloads forbidden, ``course_utils.data`` falls back to scikit-learn's digits, and each
such chapter's solution must still run from start to end in a fresh kernel, saying in its output that
it used the fallback. What it prints about accuracy on those digits is shown (``pytest -s``), not
graded: the thresholds are calibrated on the real data, and the grader's runs of every chapter on
the real data are in ``tests/test_chapters.py``. (A plain run, not a grading run: the path under test
is the loader's, and one run per chapter keeps CI within its time.)
"""

import json
import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from tests.conftest import REPO


def chapters_loading_fashion_mnist() -> list[str]:
    """Return the chapters whose solution calls ``data.load_fashion_mnist()`` in a code cell."""
    found = []
    for notebook_path in sorted((REPO / "solutions").glob("*/*.ipynb")):
        notebook = json.loads(notebook_path.read_text())
        if any(cell["cell_type"] == "code" and "load_fashion_mnist(" in "".join(cell["source"])
               for cell in notebook["cells"]):
            found.append(notebook_path.parent.name)
    return found


def outputs_of(notebook_path: Path) -> tuple[list[str], str]:
    """Return the names of the errors a notebook's cells raised and all its printed text."""
    notebook = nbformat.read(notebook_path, as_version=4)
    errors, text = [], []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                errors.append(output.get("ename", "?"))
            elif output.get("output_type") == "stream":
                text.append(output.get("text", ""))
    return errors, "".join(text)


@pytest.mark.slow
@pytest.mark.parametrize("chapter", chapters_loading_fashion_mnist())
def test_the_digits_fallback_runs_end_to_end(chapter, tmp_path, monkeypatch):
    # The kernel inherits these: an empty Keras cache, no system data package, no downloads.
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "empty-keras-home"))
    monkeypatch.setenv("TFCOURSE_SYSTEM_DATA", str(tmp_path / "no-system-data"))
    monkeypatch.setenv("TFCOURSE_OFFLINE", "1")
    notebook_path = REPO / "solutions" / chapter / f"{chapter}.ipynb"
    notebook = nbformat.read(notebook_path, as_version=4)
    client = NotebookClient(notebook, timeout=600, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    executed = tmp_path / notebook_path.name
    nbformat.write(notebook, executed)
    errors, text = outputs_of(executed)
    assert errors == [], f"{notebook_path.name} raised {errors} on the digits fallback"
    assert "fallback: scikit-learn digits" in text, "the chapter must say that it used the fallback"
    assert "keras.datasets.fashion_mnist" not in text
    accuracy_lines = [line for line in text.splitlines() if re.search(r"accuracy", line, re.IGNORECASE)]
    print(f"\n{chapter} on the digits fallback, what it printed about accuracy:")
    print("\n".join(f"  {line}" for line in accuracy_lines) or "  (nothing)")
