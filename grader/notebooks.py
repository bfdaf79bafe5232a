"""Read, validate and write notebooks in the course's one canonical JSON form.

The canonical form is what ``nbformat`` writes (one-space indent, sorted keys) with no outputs,
no execution counts, no per-cell execution timings and a language_info reduced to its name, so that
running a notebook and saving it changes nothing that git sees.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import nbformat

#: Cell metadata keys that record a particular run and never belong in the repository.
VOLATILE_CELL_METADATA = ("execution", "ExecuteTime", "collapsed", "scrolled")


class NotebookError(ValueError):
    """A file is not a readable, valid Jupyter notebook."""


def read(path: Path) -> nbformat.NotebookNode:
    """Read and validate a notebook.

    Raises
    ------
    NotebookError
        With the file name and the reason (invalid JSON, not a notebook, schema errors).
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise NotebookError(f"{path}: cannot be read ({error})") from error
    try:
        json.loads(text)
    except json.JSONDecodeError as error:
        raise NotebookError(
            f"{path}: is not valid JSON (line {error.lineno}, column {error.colno}: {error.msg}); "
            f"the file was probably damaged while editing, so restore it from a backup or re-download it"
        ) from error
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", nbformat.validator.MissingIDFieldWarning)
            notebook = nbformat.reads(text, as_version=4)
        # Older notebooks (and cells nbgrader restores) lack cell ids; give them ids, then validate.
        _, notebook = nbformat.validator.normalize(notebook)
        notebook = nbformat.from_dict(notebook)
        nbformat.validate(notebook)
    except Exception as error:  # nbformat raises several types for malformed notebooks.
        raise NotebookError(f"{path}: is not a valid Jupyter notebook ({type(error).__name__}: {error})") from error
    return notebook


def normalize(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Strip outputs, execution counts and run-specific metadata, in place, and return the notebook."""
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        for key in VOLATILE_CELL_METADATA:
            cell.metadata.pop(key, None)
    notebook.metadata.pop("widgets", None)
    if "language_info" in notebook.metadata:
        notebook.metadata["language_info"] = {"name": notebook.metadata["language_info"].get("name", "python")}
    return notebook


def dumps(notebook: nbformat.NotebookNode) -> str:
    """Return the canonical text of a notebook (with a final newline)."""
    text = nbformat.writes(notebook)
    return text if text.endswith("\n") else text + "\n"


def canonical_text(path: Path) -> str:
    """Return the canonical text of the notebook at ``path``."""
    return dumps(normalize(read(path)))


def is_canonical(path: Path) -> bool:
    """Return True when the file at ``path`` is already in canonical form."""
    return Path(path).read_text(encoding="utf-8") == canonical_text(path)


def write(notebook: nbformat.NotebookNode, path: Path) -> None:
    """Write a notebook in canonical form (outputs are stripped)."""
    Path(path).write_text(dumps(normalize(notebook)), encoding="utf-8")


def format_files(paths: list[Path], check: bool = False) -> list[Path]:
    """Rewrite notebooks in canonical form, or with ``check`` only list those that are not.

    Returns
    -------
    list of Path
        The notebooks that were (or, with ``check``, would be) changed.
    """
    changed = []
    for path in paths:
        text = canonical_text(path)
        if Path(path).read_text(encoding="utf-8") != text:
            changed.append(Path(path))
            if not check:
                Path(path).write_text(text, encoding="utf-8")
    return changed


def find_notebooks(folders: list[Path]) -> list[Path]:
    """List the notebooks under the given folders (or files), skipping checkpoints."""
    found = []
    for folder in folders:
        folder = Path(folder)
        if folder.is_file():
            found.append(folder)
            continue
        found.extend(p for p in sorted(folder.rglob("*.ipynb")) if ".ipynb_checkpoints" not in p.parts)
    return found


def is_solution_cell(cell) -> bool:
    """Return True for an nbgrader answer cell."""
    return bool(cell.metadata.get("nbgrader", {}).get("solution"))


def is_test_cell(cell) -> bool:
    """Return True for an nbgrader autograded test cell (graded and not an answer)."""
    info = cell.metadata.get("nbgrader", {})
    return bool(info.get("grade")) and not info.get("solution") and cell.cell_type == "code"
