"""A learner's progress over all chapters: the score of each chapter's last ``tfcourse check``.

Every check records its chapter's score, the points available and the time of the check in a small
JSON file of the learner's course folder (the parent of the chapter folders), named
:data:`PROGRESS_FILENAME`. The file is written atomically (a temporary file renamed over it), so an
interrupted check never leaves half a file. A file that cannot be read as a progress record is
never fatal: it is moved aside (its content is kept), reported, and replaced by a new record.
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from .files import write_text_atomically

#: The progress file's name, in the learner's course folder.
PROGRESS_FILENAME = ".tfcourse-progress.json"

#: The version of the file's layout, stored in the file.
FORMAT_VERSION = 1


@dataclass(frozen=True)
class ChapterProgress:
    """The last check of one chapter.

    Attributes
    ----------
    chapter : str
        The chapter folder's name, e.g. ``01_tensors``.
    score, max_score : float
        Points earned and points available in that check.
    checked_at : datetime
        When the check finished (timezone-aware).
    """

    chapter: str
    score: float
    max_score: float
    checked_at: datetime

    @property
    def percent(self) -> float:
        """The score as a percentage of the points available (0 when there are none)."""
        return 100.0 * self.score / self.max_score if self.max_score else 0.0


@dataclass(frozen=True)
class Progress:
    """What a progress file holds, and what went wrong reading it.

    Attributes
    ----------
    chapters : dict of str to ChapterProgress
        The last check of each checked chapter, by chapter name.
    problem : str
        Why the file could not be used ('' when it was fine or did not exist yet).
    """

    chapters: dict[str, ChapterProgress]
    problem: str = ""


def progress_file(course_dir: Path) -> Path:
    """Return the progress file of a course folder."""
    return Path(course_dir) / PROGRESS_FILENAME


def course_dir_of(notebook: Path) -> Path:
    """Return the course folder of a chapter notebook: the parent of its chapter folder."""
    return Path(notebook).resolve().parent.parent


def _parse(text: str) -> dict[str, ChapterProgress]:
    """Parse a progress file's text, raising ValueError (with the reason) when it is not a valid record."""
    data = json.loads(text)
    if not isinstance(data, dict) or not isinstance(data.get("chapters"), dict):
        raise ValueError('it has no "chapters" object')
    chapters = {}
    for name, entry in data["chapters"].items():
        try:
            score, max_score = float(entry["score"]), float(entry["max_score"])
            checked_at = datetime.fromisoformat(entry["checked_at"])
        except (TypeError, KeyError, ValueError) as error:
            raise ValueError(f"the entry of chapter {name!r} is not a score, a maximum and a time ({error})") from error
        if checked_at.tzinfo is None:
            raise ValueError(f"the time of chapter {name!r} has no time zone")
        chapters[name] = ChapterProgress(name, score, max_score, checked_at)
    return chapters


def read(course_dir: Path) -> Progress:
    """Read the progress of a course folder; a missing file is no progress yet, a damaged one is reported.

    Never raises for the file's content: a damaged file gives an empty record and says why in
    :attr:`Progress.problem`.
    """
    path = progress_file(course_dir)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Progress({})
    except (OSError, UnicodeDecodeError) as error:
        return Progress({}, f"the progress file {path} cannot be read ({error})")
    try:
        return Progress(_parse(text))
    except ValueError as error:  # json.JSONDecodeError is a ValueError too.
        return Progress({}, f"the progress file {path} is damaged ({error})")


def _set_aside(path: Path) -> Path:
    """Rename a damaged progress file to a free ``.damaged`` name beside it and return the new path."""
    for index in range(1, 1000):
        target = path.with_name(f"{path.name}.damaged" + (f"-{index}" if index > 1 else ""))
        if not target.exists():
            path.rename(target)
            return target
    raise OSError(f"too many damaged copies of {path} already exist")


@contextlib.contextmanager
def _locked(folder: Path):
    """Hold an exclusive lock on ``folder`` while two checks could update its progress file at once.

    Uses ``flock`` on the folder itself where the platform has it (no lock file is left behind);
    elsewhere the update is simply not locked.
    """
    try:
        import fcntl
    except ImportError:  # Windows: no flock.
        yield
        return
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)


def record(course_dir: Path, chapter: str, score: float, max_score: float,
           checked_at: datetime | None = None) -> list[str]:
    """Record a chapter's check in the course folder's progress file.

    A damaged file is moved aside (nothing of it is lost) and replaced by a new record holding this
    check. Problems are returned as sentences rather than raised: a check's score matters more than
    its record.

    Parameters
    ----------
    course_dir : Path
        The learner's course folder (the parent of the chapter folders).
    chapter : str
        The chapter's folder name.
    score, max_score : float
        Points earned and available.
    checked_at : datetime, optional
        When the check finished (default: now, in UTC).

    Returns
    -------
    list of str
        What went wrong, for the learner to read (empty when the record was written as usual).
    """
    course_dir = Path(course_dir)
    path = progress_file(course_dir)
    checked_at = checked_at or datetime.now(timezone.utc)
    problems = []
    try:
        with _locked(course_dir):
            progress = read(course_dir)
            if progress.problem:
                problems.append(progress.problem)
                if path.exists():
                    kept = _set_aside(path)
                    problems.append(f"it was kept as {kept} and replaced by a new progress record")
            chapters = dict(progress.chapters)
            chapters[chapter] = ChapterProgress(chapter, float(score), float(max_score), checked_at)
            data = {"version": FORMAT_VERSION, "chapters": {
                name: {"score": entry.score, "max_score": entry.max_score,
                       "checked_at": entry.checked_at.isoformat(timespec="seconds")}
                for name, entry in sorted(chapters.items())}}
            write_text_atomically(path, json.dumps(data, indent=1) + "\n")
    except OSError as error:
        problems.append(f"the score could not be recorded in {path} ({error})")
    return problems


def chapter_names(course_dir: Path, progress: Progress) -> list[str]:
    """Return every chapter of a course folder (a subfolder holding a notebook) and every recorded one, sorted."""
    course_dir = Path(course_dir)
    present = {folder.name for folder in course_dir.iterdir()
               if folder.is_dir() and any(folder.glob("*.ipynb"))} if course_dir.is_dir() else set()
    return sorted(present | set(progress.chapters))


def rows(course_dir: Path, progress: Progress | None = None) -> list[tuple[str, ChapterProgress | None]]:
    """Return ``(chapter, last check or None)`` for every chapter of a course folder, in order."""
    progress = read(course_dir) if progress is None else progress
    return [(name, progress.chapters.get(name)) for name in chapter_names(course_dir, progress)]


def local_time(moment: datetime) -> str:
    """Format a timezone-aware time in this machine's time zone, to the minute."""
    return moment.astimezone().strftime("%Y-%m-%d %H:%M")


def format_progress(course_dir: Path, progress: Progress | None = None) -> str:
    """Format a course folder's progress as a plain-text table: chapter, score, percent, date of the last check."""
    table = rows(course_dir, progress)
    width = max([len("chapter"), *(len(name) for name, _ in table)])
    lines = [f"{'chapter':<{width}}  {'score':>11}  {'%':>4}  last check",
             f"{'-' * width}  {'-' * 11}  {'-' * 4}  {'-' * 16}"]
    for name, entry in table:
        if entry is None:
            lines.append(f"{name:<{width}}  {'':>11}  {'':>4}  not checked yet")
        else:
            lines.append(f"{name:<{width}}  {entry.score:>5g} / {entry.max_score:<3g}  {entry.percent:>3.0f}%  "
                         f"{local_time(entry.checked_at)}")
    checked = [entry for _, entry in table if entry is not None]
    lines.append(f"{len(checked)} of {len(table)} chapter(s) checked; "
                 f"{sum(e.score for e in checked):g} of {sum(e.max_score for e in checked):g} points in those.")
    return "\n".join(lines)
