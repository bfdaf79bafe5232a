"""A memory cgroup per sandboxed process: one cap on its memory, files in tmpfs included.

``RLIMIT_AS`` limits a kernel's address space, but files that the kernel writes into a tmpfs (its
``/tmp``, or a working folder in memory) live in the page cache and do not count against it. A memory
cgroup counts both: the kernel's resident memory and every tmpfs page it writes. When the group
reaches its limit, the kernel is stopped by the system's out-of-memory killer, inside the group
only, and the grading machine never loses more than the limit.

Creating a cgroup needs write access to a cgroup hierarchy with the memory controller: root on
most Linux machines (cgroup v1 at ``/sys/fs/cgroup/memory``, or cgroup v2 at ``/sys/fs/cgroup``
with ``memory`` in ``cgroup.subtree_control``). Where that is missing, :func:`find` says why, and
the sandbox reports the weaker mode.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

#: Where cgroup hierarchies are mounted.
CGROUP_ROOT = Path("/sys/fs/cgroup")

#: The folder, inside the hierarchy, that holds the course's groups.
PARENT = "tfcourse"


@dataclass(frozen=True)
class Hierarchy:
    """A writable cgroup hierarchy with the memory controller.

    Attributes
    ----------
    path : Path
        The folder under which the course's groups are created.
    version : int
        1 or 2: the files that set the limit and report usage differ.
    """

    path: Path
    version: int

    @property
    def limit_file(self) -> str:
        """The file that sets a group's memory limit."""
        return "memory.limit_in_bytes" if self.version == 1 else "memory.max"


def find(root: Path = CGROUP_ROOT) -> tuple[Hierarchy | None, str]:
    """Return the writable memory hierarchy of this machine, or None and the reason there is none.

    The course's parent group is created on the way, so a hierarchy is only returned when a group
    can really be made in it.
    """
    candidates = []
    if (root / "memory" / "memory.limit_in_bytes").is_file():
        candidates.append(Hierarchy(root / "memory" / PARENT, 1))
    if "memory" in _read(root / "cgroup.controllers").split():
        candidates.append(Hierarchy(root / PARENT, 2))
    if not candidates:
        return None, "no cgroup hierarchy with the memory controller is mounted"
    reasons = []
    for hierarchy in candidates:
        try:
            hierarchy.path.mkdir(exist_ok=True)
            if hierarchy.version == 2:
                # A v2 group's children get the memory controller only when the group hands it down.
                if "memory" not in _read(hierarchy.path / "cgroup.subtree_control").split():
                    (hierarchy.path / "cgroup.subtree_control").write_text("+memory")
            return hierarchy, ""
        except OSError as error:
            reasons.append(f"cgroup v{hierarchy.version}: {error.strerror or error}")
    return None, "cannot create a memory cgroup (" + "; ".join(reasons) + ")"


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


class MemoryGroup:
    """One memory cgroup with a limit, for one sandboxed process and everything it starts.

    Parameters
    ----------
    hierarchy : Hierarchy
        Where to create it (see :func:`find`).
    name : str
        Its folder name (unique per launcher: the launcher's process id).
    limit_bytes : int
        The most memory, tmpfs pages included, that its processes may hold together.
    """

    def __init__(self, hierarchy: Hierarchy, name: str, limit_bytes: int):
        self.hierarchy = hierarchy
        self.path = hierarchy.path / name
        self.limit_bytes = int(limit_bytes)
        self.path.mkdir(exist_ok=True)
        (self.path / hierarchy.limit_file).write_text(str(self.limit_bytes))
        if hierarchy.version == 1:
            # With swap, tmpfs pages could move to swap instead: cap memory and swap together too.
            try:
                (self.path / "memory.memsw.limit_in_bytes").write_text(str(self.limit_bytes))
            except OSError:
                pass  # No swap accounting on this kernel: the memory limit alone applies.
        else:
            try:
                (self.path / "memory.swap.max").write_text("0")
            except OSError:
                pass

    def join(self, pid: int | None = None) -> None:
        """Move process ``pid`` (default: the calling process) into the group; its children follow."""
        (self.path / "cgroup.procs").write_text(str(os.getpid() if pid is None else pid))

    def out_of_memory_kills(self) -> int:
        """Return how many processes of the group the out-of-memory killer has stopped."""
        name = "memory.oom_control" if self.hierarchy.version == 1 else "memory.events"
        for line in _read(self.path / name).splitlines():
            key, _, value = line.partition(" ")
            if key == "oom_kill" and value.strip().isdigit():
                return int(value)
        return 0

    def peak_bytes(self) -> int | None:
        """Return the group's peak memory use in bytes, or None where the kernel does not report it."""
        name = "memory.max_usage_in_bytes" if self.hierarchy.version == 1 else "memory.peak"
        text = _read(self.path / name).strip()
        return int(text) if text.isdigit() else None

    def remove(self, attempts: int = 50) -> None:
        """Delete the group once its processes are gone (they may take a moment to be reaped)."""
        for _ in range(attempts):
            try:
                self.path.rmdir()
                return
            except FileNotFoundError:
                return
            except OSError:
                time.sleep(0.1)
