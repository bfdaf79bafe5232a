"""Load the course's nbgrader settings and point them at the folders of one run."""

from __future__ import annotations

from pathlib import Path

from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

SETTINGS_FILE = Path(__file__).with_name("nbgrader_config.py")


def load_settings() -> Config:
    """Return the settings in :file:`grader/nbgrader_config.py` as a traitlets ``Config``."""
    loader = PyFileConfigLoader(SETTINGS_FILE.name, path=str(SETTINGS_FILE.parent))
    return loader.load_config()


def make_config(root: Path, source: Path, release: Path | None = None, submitted: Path | None = None,
                timeout: int | None = None, connection_file: Path | None = None) -> Config:
    """Build the nbgrader configuration of one run.

    Parameters
    ----------
    root : Path
        The nbgrader course root of this run: it receives ``gradebook.db``, ``autograded/`` and
        ``feedback/``.
    source : Path
        The folder of source (solution) notebooks, one sub-folder per assignment.
    release : Path, optional
        Where generated student notebooks go; by default ``root/release``.
    submitted : Path, optional
        The folder of submissions laid out as ``<student>/<assignment>/<notebook>.ipynb``.
    timeout : int, optional
        Per-cell execution timeout in seconds, overriding the course default.
    connection_file : Path, optional
        Execute notebooks in the sandboxed kernel of :mod:`grader.sandbox`, which talks over Unix
        sockets next to this connection file (see :func:`grader.sandbox.prepare`).
    """
    config = load_settings()
    root = Path(root).resolve()
    config.CourseDirectory.root = str(root)
    config.CourseDirectory.source_directory = str(Path(source).resolve())
    config.CourseDirectory.release_directory = str(Path(release).resolve() if release else root / "release")
    if submitted is not None:
        config.CourseDirectory.submitted_directory = str(Path(submitted).resolve())
    config.CourseDirectory.db_url = f"sqlite:///{root / 'gradebook.db'}"
    if timeout is not None:
        config.Execute.timeout = int(timeout)
    if connection_file is not None:
        from grader.sandbox import KERNEL_NAME

        config.Execute.kernel_name = KERNEL_NAME
        config.KernelManager.transport = "ipc"
        config.KernelManager.connection_file = str(connection_file)
    return config


def cell_timeout(config: Config) -> int:
    """Return the per-cell timeout that a configuration sets, in seconds."""
    return int(config.Execute.timeout)
