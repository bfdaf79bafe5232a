"""Resource limits of a sandboxed process, and how they are applied."""

from __future__ import annotations

import resource
from dataclasses import dataclass

@dataclass(frozen=True)
class Limits:
    """Resource limits of one sandboxed kernel.

    Attributes
    ----------
    memory_bytes : int
        Address-space limit (``RLIMIT_AS``). TensorFlow reserves about 2.5 GB of address space on
        start-up, so this is larger than the memory a notebook really uses.
    processes : int
        Processes and threads the sandbox user may have (``RLIMIT_NPROC``).
    notebook_seconds : float
        Wall-clock limit for the whole notebook, on top of nbgrader's per-cell timeout.
    file_bytes : int
        Largest file the kernel may write (``RLIMIT_FSIZE``).
    open_files : int
        Open file descriptors (``RLIMIT_NOFILE``).
    tmp_bytes : int
        Size of the kernel's ``/tmp``, a tmpfs.
    disk_bytes : int
        Size of the kernel's working folder, a tmpfs (the per-submission disk quota).

    Where a memory cgroup can be made, ``memory_bytes`` also caps the kernel's resident memory and
    its files in ``/tmp`` and the working folder together.
    """

    memory_bytes: int = 8 * 1024**3
    processes: int = 512
    notebook_seconds: float = 1800.0
    file_bytes: int = 256 * 1024**2
    open_files: int = 1024
    tmp_bytes: int = 1024**3
    disk_bytes: int = 1024**3


def set_limits(limits: Limits) -> None:
    """Apply the resource limits to this process (inherited by the kernel it becomes)."""
    for name, value in (("RLIMIT_AS", limits.memory_bytes), ("RLIMIT_NPROC", limits.processes),
                        ("RLIMIT_FSIZE", limits.file_bytes), ("RLIMIT_NOFILE", limits.open_files),
                        ("RLIMIT_CORE", 0)):
        kind = getattr(resource, name, None)
        if kind is not None:
            resource.setrlimit(kind, (value, value))


def gib(value: float) -> str:
    """Format a number of bytes in GiB (or MiB below 1 GiB) for messages."""
    return f"{value / 1024**3:g} GiB" if value >= 1024**3 else f"{value / 1024**2:g} MiB"
