"""Where the sandbox is chosen: bubblewrap when it works here, resource and time limits only otherwise."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from . import cgroup
from .bubblewrap import namespace_options, privilege_drop
from .limits import Limits, gib
from .policy import sandbox_uid
from .scratch import mount_scratch, run_quietly, unmount_scratch

@dataclass(frozen=True)
class Mode:
    """How kernels are isolated on this machine.

    Attributes
    ----------
    isolated : bool
        True when bubblewrap works here and kernels run in their own namespaces.
    description : str
        One line for the grader's output, saying what protects the grading machine.
    sized_tmp : bool
        bubblewrap can give the kernel's ``/tmp`` a fixed size (its ``--size`` option, 0.7.0 and later).
    """

    isolated: bool
    description: str
    sized_tmp: bool = False


def detect(uid: int | None = None) -> Mode:
    """Find out whether kernels can be sandboxed with bubblewrap here.

    bubblewrap is tried for real (a no-op command in new namespaces, as the user the kernels will run
    as), because it can be installed and still fail, for instance in a container that forbids user
    namespaces.
    """
    uid = sandbox_uid() if uid is None else uid
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return Mode(False, "NOT ISOLATED: bubblewrap is not installed (Debian/Ubuntu: apt install bubblewrap); "
                           "kernels run with resource and time limits only")
    if os.geteuid() == 0 and shutil.which("setpriv") is None:
        return Mode(False, "NOT ISOLATED: setpriv (util-linux) is missing, so root cannot drop privileges; "
                           "kernels run with resource and time limits only")
    options = [bwrap, *namespace_options(), "--die-with-parent", "--ro-bind", "/", "/", "--proc", "/proc",
               "--dev", "/dev"]
    command = ["--", *privilege_drop(uid), "true"]
    probe = options + command
    # bubblewrap before 0.7.0 has no --size: it still isolates, with a /tmp of no fixed size.
    sized_probe = options + ["--size", str(1024**2), "--tmpfs", "/tmp"] + command
    try:
        completed = run_quietly(probe)
        sized = completed.returncode == 0 and run_quietly(sized_probe).returncode == 0
    except (OSError, subprocess.TimeoutExpired) as error:
        return Mode(False, f"NOT ISOLATED: bubblewrap could not be started ({error}); "
                           "kernels run with resource and time limits only")
    if completed.returncode != 0:
        reason = (completed.stderr or completed.stdout).strip().splitlines()
        return Mode(False, "NOT ISOLATED: bubblewrap cannot create namespaces here "
                           f"({reason[-1] if reason else 'exit ' + str(completed.returncode)}); "
                           "kernels run with resource and time limits only")
    user = f"user id {uid}" if os.geteuid() == 0 else "the grading user"
    return Mode(True, f"isolated with bubblewrap: no network, read-only system, only the submission's folder "
                      f"writable, runs as {user}", sized_tmp=sized)


def no_sized_tmp(mode: Mode) -> str:
    """Return why kernels of ``mode`` get no ``/tmp`` of fixed size, or '' when they do."""
    if not mode.isolated:
        return "it is the machine's own"
    return "" if mode.sized_tmp else "bubblewrap without --size"


def missing_caps(mode: Mode) -> dict[str, str]:
    """Return, for each cap of :class:`Limits` on files and memory, why this machine cannot apply it ('' if it can).

    The keys are ``"tmp"`` (a fixed-size ``/tmp``), ``"working folder"`` (a fixed-size working folder)
    and ``"memory cgroup"`` (one cap on memory and files together). The working folder is tried for
    real, on a temporary folder.
    """
    with tempfile.TemporaryDirectory(prefix="tfcourse-probe-") as probe:
        no_mount = mount_scratch(Path(probe) / "scratch", 1024**2)
        unmount_scratch(Path(probe) / "scratch")
    return {"tmp": no_sized_tmp(mode), "working folder": no_mount, "memory cgroup": cgroup.find()[1]}


def caps_description(limits: Limits, missing: dict[str, str]) -> str:
    """Say in one clause how a submission's memory and files are capped (and what is not, and why).

    ``missing`` says why each cap cannot be applied ('' where it can), as :func:`missing_caps` does.
    """
    tmp = f"/tmp {gib(limits.tmp_bytes)}" if not missing["tmp"] else f"/tmp not capped ({missing['tmp']})"
    work = (f"working folder {gib(limits.disk_bytes)}" if not missing["working folder"] else
            f"working folder not capped ({missing['working folder']})")
    if not missing["memory cgroup"]:
        return f"memory {gib(limits.memory_bytes)} in all, files in memory included (memory cgroup); {tmp}; {work}"
    return (f"address space {gib(limits.memory_bytes)}, and files in memory on top of it (no memory cgroup: "
            f"{missing['memory cgroup']}); {tmp}; {work}")
