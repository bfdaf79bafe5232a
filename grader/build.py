"""Generate the student release (``course/``) from the source notebooks (``solutions/``)."""

from __future__ import annotations

import filecmp
import shutil
import tempfile
from pathlib import Path

from . import notebooks
from .config import load_settings, make_config
from .nbgrader_api import make_api, run_step
from .paths import assignments

#: The nbval tag that lets a cell raise: the stubs in answer cells, and the test cells after them.
RAISES_TAG = "raises-exception"

#: The line nbgrader puts in place of every answer: the last line of the configured code stub.
STUB_LINE = load_settings().ClearSolutions.code_stub["python"].splitlines()[-1]


class LearnerWorkError(RuntimeError):
    """The release folder holds a learner's work, which a build would overwrite."""


def learner_work(path: Path) -> str:
    """Say why a release notebook looks like a learner's work ('' when it is a pristine release).

    A generated notebook has no outputs and a stub in every answer cell; anything else (answers
    written, cells run and saved, a damaged file) may be someone's work.
    """
    try:
        notebook = notebooks.read(path)
    except notebooks.NotebookError:
        return "it cannot be read as a notebook, so it may hold edits"
    answered = [c for c in notebook.cells if notebooks.is_solution_cell(c) and STUB_LINE not in c.source]
    if answered:
        return f"{len(answered)} exercise(s) answered"
    if any(c.get("outputs") for c in notebook.cells if c.cell_type == "code"):
        return "it was run and saved with outputs"
    return ""


def check_no_learner_work(release: Path) -> None:
    """Raise :class:`LearnerWorkError` when any notebook under ``release`` holds a learner's work."""
    found = []
    for path in notebooks.find_notebooks([release]) if release.is_dir() else []:
        reason = learner_work(path)
        if reason:
            found.append(f"{path} ({reason})")
    if found:
        raise LearnerWorkError(
            "building would overwrite work in these notebooks:\n  " + "\n  ".join(found) + "\nCopy them "
            "somewhere else first (or commit them on a branch), or pass --force to overwrite them."
        )


def tag_stub_cells(notebook) -> None:
    """Tag answer and test cells so that nbval accepts the errors the untouched stubs raise.

    Only the release gets these tags: in ``solutions/`` every cell must run without error.
    """
    for cell in notebook.cells:
        if notebooks.is_solution_cell(cell) or notebooks.is_test_cell(cell):
            tags = cell.metadata.setdefault("tags", [])
            if RAISES_TAG not in tags:
                tags.append(RAISES_TAG)


def generate(source: Path, output: Path) -> list[str]:
    """Run nbgrader's ``generate_assignment`` for every assignment into ``output``.

    The gradebook nbgrader needs for this lives in a scratch folder and is thrown away.

    Returns
    -------
    list of str
        The assignments generated.
    """
    names = assignments(source)
    with tempfile.TemporaryDirectory(prefix="tfcourse-build-") as scratch:
        api = make_api(make_config(Path(scratch), source, release=Path(scratch) / "release"))
        for name in names:
            run_step(api.generate_assignment(name, force=True, create=True), f"generate_assignment {name}")
        output.mkdir(parents=True, exist_ok=True)
        for name in names:
            released = Path(scratch) / "release" / name
            target = output / name
            shutil.copytree(released, target)
            for path in target.glob("*.ipynb"):
                notebook = notebooks.read(path)
                tag_stub_cells(notebook)
                notebooks.write(notebook, path)
    return names


def differences(expected: Path, actual: Path) -> list[str]:
    """List the files that differ between two folder trees, as paths relative to them."""
    found = []
    comparison = filecmp.dircmp(expected, actual, ignore=[".ipynb_checkpoints", "__pycache__"])

    def walk(node, prefix: Path) -> None:
        found.extend(f"missing in {actual.name}/: {prefix / name}" for name in node.left_only)
        found.extend(f"not generated from the source: {prefix / name}" for name in node.right_only)
        for name in node.common_files:
            if not filecmp.cmp(Path(node.left) / name, Path(node.right) / name, shallow=False):
                found.append(f"differs: {prefix / name}")
        for name, child in node.subdirs.items():
            walk(child, prefix / name)

    walk(comparison, Path())
    return sorted(found)


def build(source: Path, release: Path, force: bool = False) -> list[str]:
    """Regenerate ``release`` from ``source``, replacing its previous content.

    Parameters
    ----------
    source, release : Path
        The source notebooks and the release folder to regenerate.
    force : bool
        Overwrite release notebooks even when they hold a learner's work.

    Returns
    -------
    list of str
        The assignments built.

    Raises
    ------
    LearnerWorkError
        When ``release`` holds answered or executed notebooks and ``force`` is false; nothing is
        changed then.
    """
    if not force:
        check_no_learner_work(release)
    with tempfile.TemporaryDirectory(prefix="tfcourse-release-") as staging:
        staged = Path(staging) / "course"
        names = generate(source, staged)
        release.mkdir(parents=True, exist_ok=True)
        for old in release.iterdir():
            if old.is_dir() and old.name not in names:
                shutil.rmtree(old)
        for name in names:
            if (release / name).exists():
                shutil.rmtree(release / name)
            shutil.copytree(staged / name, release / name)
    return names


def out_of_date(source: Path, release: Path) -> list[str]:
    """Build into a scratch folder and list how ``release`` differs from it (empty when up to date)."""
    with tempfile.TemporaryDirectory(prefix="tfcourse-release-") as staging:
        staged = Path(staging) / "course"
        generate(source, staged)
        if not release.is_dir():
            return [f"{release} does not exist"]
        return differences(staged, release)
