"""Find the course's folders, wherever the command is run from."""

from __future__ import annotations

from pathlib import Path

SOURCE_DIRNAME = "solutions"
RELEASE_DIRNAME = "course"


def course_root(start: Path | None = None) -> Path:
    """Return the course root: the nearest folder at or above ``start`` that holds ``solutions/``.

    Falls back to the folder this package was installed from (an editable install from a clone).

    Raises
    ------
    FileNotFoundError
        When no such folder exists.
    """
    candidates = []
    if start is not None:
        start = Path(start).resolve()
        candidates.extend([start, *start.parents])
    candidates.append(Path(__file__).resolve().parent.parent)
    for candidate in candidates:
        if (candidate / SOURCE_DIRNAME).is_dir():
            return candidate
    raise FileNotFoundError(
        f"could not find the course's '{SOURCE_DIRNAME}/' folder above {start or Path.cwd()}: run the "
        f"command inside the course clone or pass --source"
    )


def assignments(source: Path) -> list[str]:
    """Return the names of the assignments (chapters) in a source folder, in sorted order."""
    source = Path(source)
    if not source.is_dir():
        raise FileNotFoundError(f"source folder {source} does not exist")
    return sorted(p.name for p in source.iterdir() if p.is_dir() and any(p.glob("*.ipynb")))
