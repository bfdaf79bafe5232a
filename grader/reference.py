"""The reference exports: the solution notebook run once per assignment and seed, with the export cells.

For each assignment with a ``grading.py``, :class:`References` loads its checks, writes the export
cells (inputs drawn from the run's seed) where the InsertExportCells preprocessor finds them, and
runs the solution notebook once in the sandbox, so that the verifier has the solution's exports to
compare each submission's with. A cache folder can keep the exports between runs with the same
seed (``tfcourse check`` uses one, so that a learner's second check does not run the solution again).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

import nbformat
from traitlets.config import Config

from .checks import ChapterSpec, load_spec
from .checks.export_cell import EXPORT_FOLDER, export_cells, insert_export_cells, kernel_code, write_export_cells
from .preprocessors.resilient_execute import KERNEL_DIED, ResilientExecute
from .sandbox import Sandbox

#: The file, among the reference exports, that holds the solution kernel's peak memory.
USAGE_FILE = "usage.json"

#: Appended to the solution's reference run (trusted code): record the kernel's peak resident memory.
USAGE_CELL = f"""import json as _json, os as _os, resource as _resource
_os.makedirs("{EXPORT_FOLDER}", exist_ok=True)
with open("{EXPORT_FOLDER}/{USAGE_FILE}", "w") as _handle:
    _json.dump({{"peak_memory_bytes": 1024 * max(_resource.getrusage(_resource.RUSAGE_SELF).ru_maxrss,
                                               _resource.getrusage(_resource.RUSAGE_CHILDREN).ru_maxrss)}}, _handle)
"""


class ReferenceRunError(RuntimeError):
    """The solution could not be run for the reference exports: the run cannot score trusted checks."""


def stopping_error(notebook: nbformat.NotebookNode) -> str:
    """Return the first error that stopped a cell of an executed notebook (a timeout, the kernel's death), or ''.

    Errors that a cell raised are the solution's own business (a lesson may show one on purpose).
    """
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error" and output.get("ename") in (KERNEL_DIED, "CellTimeoutError"):
                value = str(output.get("evalue", "")).strip().splitlines()
                return f"{output['ename']}: {value[0][:200] if value else 'the cell did not finish in time'}"
    return ""


def read_peak_memory(folder: Path) -> int | None:
    """Return the peak memory that :data:`USAGE_CELL` recorded in a reference export folder, or None."""
    try:
        return int(json.loads((Path(folder) / USAGE_FILE).read_text())["peak_memory_bytes"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def cache_key(source: Path, seed: int) -> str:
    """Return the name under which reference exports of ``source`` with ``seed`` are cached.

    It changes whenever a file of the source assignment (notebooks, ``grading.py``), the seed, or the
    code that export cells run changes.
    """
    digest = hashlib.sha256(f"{seed}\n{kernel_code()}\n{USAGE_CELL}".encode())
    for path in sorted(p for p in Path(source).rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        digest.update(path.relative_to(source).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return f"{Path(source).name}-{digest.hexdigest()[:24]}"


def keep(folder: Path, cached: Path) -> None:
    """Copy reference exports into the cache atomically (a concurrent reader never sees half a copy)."""
    cached.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=cached.parent))
    try:
        shutil.copytree(folder, staging / "exports", symlinks=False)
        os.replace(staging / "exports", cached)
    except OSError:
        pass  # Another run cached the same exports first, or the cache is read-only: both are fine.
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def take_exports(sandbox: Sandbox, destination: Path) -> bool:
    """Copy the exports of the kernel that just ran into ``destination``; False when there were none.

    ``destination`` is emptied in place rather than replaced, so that a verifier started earlier
    with it bound into its sandbox sees the new files.
    """
    exported = sandbox.scratch_dir / EXPORT_FOLDER
    destination = Path(destination)
    if destination.is_dir() and not destination.is_symlink():
        for path in destination.iterdir():
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
    else:
        shutil.rmtree(destination, ignore_errors=True)
        destination.mkdir(parents=True)
    if exported.is_dir() and not exported.is_symlink():
        shutil.copytree(exported, destination, symlinks=False, ignore_dangling_symlinks=True, dirs_exist_ok=True,
                        ignore=lambda folder, names: [n for n in names if (Path(folder) / n).is_symlink()])
        return True
    return False


class References:
    """The checks and reference exports of the assignments of one grading process.

    Parameters
    ----------
    sandbox : Sandbox
        This grading process's sandbox (the solution runs in it).
    config : traitlets.config.Config
        The run's nbgrader configuration (its timeout and kernel arguments).
    seed : int
        Seed of the inputs drawn for function checks (the same for the reference and every student).
    cache : Path, optional
        A folder that keeps reference exports between runs, keyed by the source assignment's files
        and the seed. Without it, each run computes its own.
    """

    def __init__(self, sandbox: Sandbox, config: Config, seed: int, cache: Path | None = None):
        self.sandbox = sandbox
        self.config = config
        self.seed = seed
        self.cache = Path(cache) if cache is not None else None
        #: Where the export cells are written, for the InsertExportCells preprocessor.
        self.code_folder = sandbox.folder / "export-code"
        self.specs: dict[str, ChapterSpec | None] = {}
        self.sources: dict[str, Path] = {}
        self.failures: dict[str, str] = {}
        #: Per assignment: seconds the solution took to run for the reference, and its kernel's peak memory.
        self.usage: dict[str, dict] = {}

    def prepare(self, assignment: str, source: Path) -> ChapterSpec | None:
        """Load the checks of ``assignment`` and compute its reference exports (once per run).

        Raises
        ------
        ReferenceRunError
            When the solution cannot be run for the reference exports; every later call for the
            same assignment raises it again, so each of its submissions reports the reason.
        """
        if assignment in self.failures:
            raise ReferenceRunError(self.failures[assignment])
        if assignment in self.specs:
            return self.specs[assignment]
        spec = load_spec(source)
        cached = self.cache / cache_key(Path(source), self.seed) if self.cache is not None else None
        if spec is not None and cached is not None and (cached / "report.json").is_file():
            return self.use(assignment, source, cached)
        if spec is not None:
            sources = export_cells(spec, self.seed)
            try:
                self._run(assignment, Path(source), sources)
            except ReferenceRunError as error:
                self.failures[assignment] = str(error)
                raise
            write_export_cells(self.code_folder, assignment, sources)
            if cached is not None:
                keep(self.folder(assignment), cached)
        self.specs[assignment], self.sources[assignment] = spec, Path(source)
        return spec

    def use(self, assignment: str, source: Path, folder: Path) -> ChapterSpec | None:
        """Use reference exports computed elsewhere (the coordinator of a parallel run, a cache) for ``assignment``.

        They must have been computed with this run's seed.
        """
        spec = load_spec(source)
        if spec is not None:
            shutil.rmtree(self.folder(assignment), ignore_errors=True)
            shutil.copytree(folder, self.folder(assignment), symlinks=False)
            write_export_cells(self.code_folder, assignment, export_cells(spec, self.seed))
        self.specs[assignment], self.sources[assignment] = spec, Path(source)
        return spec

    def folder(self, assignment: str) -> Path:
        """Return where the reference exports of ``assignment`` are kept."""
        return self.sandbox.folder / "reference" / assignment

    def _run(self, assignment: str, source: Path, sources: dict[str, str]) -> None:
        run_dir = self.sandbox.folder / "reference-run" / assignment
        shutil.rmtree(run_dir, ignore_errors=True)
        run_dir.mkdir(parents=True)
        started = time.perf_counter()
        for notebook_path in sorted(source.glob("*.ipynb")):
            notebook = nbformat.read(notebook_path, as_version=4)
            insert_export_cells(notebook, sources)
            notebook.cells.append(nbformat.v4.new_code_cell(USAGE_CELL))
            # The same execution step as a submission's (the sandboxed kernel, the course's timeouts).
            try:
                ResilientExecute(config=self.config).preprocess(notebook, {"metadata": {"path": str(run_dir)}})
                failure = stopping_error(notebook)
            except RuntimeError as error:  # The kernel could not be started, for one.
                lines = str(error).strip().splitlines()
                failure = f"{type(error).__name__}: {lines[0][:200] if lines else ''}"
            if failure:
                # The batch goes on: every submission of this assignment gets this message instead.
                raise ReferenceRunError(f"the solution of {assignment} could not be run for the reference exports "
                                        f"({failure})")
        seconds = time.perf_counter() - started
        exported = take_exports(self.sandbox, self.folder(assignment))
        if not exported:
            raise ReferenceRunError(f"the solution of {assignment} exported nothing: run it to see why")
        self.usage[assignment] = {"seconds": seconds, "peak_memory_bytes": read_peak_memory(self.folder(assignment))}
