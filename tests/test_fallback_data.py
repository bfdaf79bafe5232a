"""The chapters that load Fashion-MNIST, on a machine that has neither it nor a network.

CI tests every image chapter on the real Fashion-MNIST (see ``tests/course_utils/test_data.py``,
which fails in CI without it). This test covers the other path: with an empty Keras cache, no system
package and downloads forbidden, ``course_utils.data`` falls back to scikit-learn's digits, and each
such chapter's solution must still run from start to end under the real grader, saying in its output
that it used the fallback. Its accuracy on those digits is printed (``pytest -s``), not graded: the
thresholds are calibrated on the real data.
"""

import json
import shutil
from pathlib import Path

import nbformat
import pytest

from grader import autograde, bench
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
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "empty-keras-home"))
    monkeypatch.setenv("TFCOURSE_SYSTEM_DATA", str(tmp_path / "no-system-data"))
    monkeypatch.setenv("TFCOURSE_OFFLINE", "1")
    folder = tmp_path / "submitted" / "fallback" / chapter
    folder.mkdir(parents=True)
    for notebook in (REPO / "solutions" / chapter).glob("*.ipynb"):
        shutil.copyfile(notebook, folder / notebook.name)
    run = autograde.grade(tmp_path / "submitted", tmp_path / "grading", REPO / "solutions", feedback=False,
                          progress=False)
    result = run.results[0]
    assert result.status == "graded", result.message
    for executed in (tmp_path / "grading" / "autograded" / "fallback" / chapter).glob("*.ipynb"):
        errors, text = outputs_of(executed)
        assert errors == [], f"{executed.name} raised {errors} on the digits fallback"
        assert "fallback: scikit-learn digits" in text, "the chapter must say that it used the fallback"
        assert "keras.datasets.fashion_mnist" not in text
    print(f"\n{chapter} on the digits fallback: {result.score:g} of {result.max_score:g} points")
    for grade_id, measured in sorted(result.measurements.items()):
        print(f"  {grade_id}: {bench.margin_text(measured)} (digits, not Fashion-MNIST: reported, not graded)")
