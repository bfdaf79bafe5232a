"""The kernel's working folder: a tmpfs of fixed size (as root), emptied and filled for each submission."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

#: A folder of the kernel's working folder with a size cap of its own (:data:`RESERVED_BYTES`): the
#: grader's export cells write there (see :mod:`grader.checks.export_cell`), so a submission that fills its
#: working folder still has the answers it got right exported and verified.
RESERVED_FOLDER = ".tfcourse-export"


#: Size of :data:`RESERVED_FOLDER` where the working folder has a size cap.
RESERVED_BYTES = 256 * 1024**2


def run_quietly(command: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)


def mount_scratch(scratch: Path, size_bytes: int) -> str:
    """Mount tmpfs of fixed sizes on the kernels' working folder and its export folder; return '' or why not.

    A tmpfs has a fixed size, so a submission that writes more gets "No space left on device" and
    the grading machine's disk is untouched. The export folder (:data:`RESERVED_FOLDER`) gets a tmpfs
    of its own. Mounting needs root (and a system that allows it).
    """
    scratch.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        return "mounting a folder of fixed size needs root"
    if shutil.which("mount") is None:
        return "the mount command is missing"
    # The export folder is readable by all, as the kernel would make it: the verifier, which runs as
    # the sandbox's user, reads copies of it that keep its permissions.
    for folder, size, mode in ((scratch, size_bytes, "0700"), (scratch / RESERVED_FOLDER, RESERVED_BYTES, "0755")):
        folder.mkdir(exist_ok=True)
        try:
            completed = run_quietly(["mount", "-t", "tmpfs", "-o", f"size={int(size)},mode={mode},nosuid,nodev",
                                      "tfcourse-scratch", str(folder)])
        except (OSError, subprocess.TimeoutExpired) as error:
            unmount_scratch(scratch)
            return f"mount could not run: {error}"
        if completed.returncode != 0:
            unmount_scratch(scratch)
            lines = (completed.stderr or completed.stdout).strip().splitlines()
            return f"mount failed: {lines[-1] if lines else 'exit ' + str(completed.returncode)}"
    return ""


def unmount_scratch(scratch: Path) -> None:
    """Unmount what :func:`mount_scratch` mounted, if anything (the files go with it)."""
    for folder in (scratch / RESERVED_FOLDER, scratch):
        if os.path.ismount(folder):
            run_quietly(["umount", "--lazy", str(folder)])


def prepare_scratch(scratch: Path, work_dir: Path) -> Path:
    """Empty ``scratch`` and copy the assignment's files into it, except notebooks and hidden files.

    The notebook that nbgrader executes holds the hidden tests, so the kernel never sees it on disk:
    nbgrader sends it the cells one by one. ``scratch`` is emptied in place, since it and its export
    folder may be mount points of size-capped tmpfs (see :func:`mount_scratch`).
    """
    scratch.mkdir(parents=True, exist_ok=True)
    _empty(scratch)
    for path in work_dir.iterdir():
        if path.suffix == ".ipynb" or path.name.startswith(".") or path.is_symlink():
            continue
        if path.is_dir():
            shutil.copytree(path, scratch / path.name, symlinks=True)
        elif path.is_file():
            shutil.copy2(path, scratch / path.name)
    return scratch


def _empty(folder: Path) -> None:
    """Delete what ``folder`` holds, keeping the folders that are mount points (emptied in turn)."""
    for path in folder.iterdir():
        if os.path.ismount(path):
            _empty(path)
        elif path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()
