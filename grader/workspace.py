"""One grading run at a time per grading folder.

Two ``tfcourse grade`` runs writing into the same gradebook would interleave their writes and could
leave it inconsistent. :func:`exclusive` takes an exclusive lock on the folder for the whole run; a
second run is refused at once with a message that says who holds it, and changes nothing.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Iterator
from pathlib import Path

LOCK_NAME = ".grading.lock"


class WorkspaceBusyError(RuntimeError):
    """Another grading run holds the grading folder."""


@contextlib.contextmanager
def exclusive(root: Path) -> Iterator[None]:
    """Hold the grading folder ``root`` exclusively for the duration of the block.

    Raises
    ------
    WorkspaceBusyError
        When another process holds it (the lock is released automatically if that process dies).
    """
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    path = root / LOCK_NAME
    handle = open(path, "a+")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise WorkspaceBusyError(
                f"another grading run is using {root} ({holder}); wait for it to finish or grade into "
                "another --workdir") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}, started {time.strftime('%Y-%m-%d %H:%M:%S')}")
        handle.flush()
        yield
    finally:
        handle.close()
