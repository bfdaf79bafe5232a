"""Run a submission's Jupyter kernel in a sandbox.

nbgrader executes a submission in an ordinary Jupyter kernel, so the student's code runs with the
grader's rights. This module puts that kernel in a sandbox built from maintained Linux tools:

- `bubblewrap <https://github.com/containers/bubblewrap>`_ (Debian package ``bubblewrap``) gives the
  kernel its own network namespace (no network), process namespace (every process it starts dies with
  it) and a file system made of read-only binds of what Python needs (the interpreter, the virtual
  environment, ``course_utils``, the Keras cache) plus one writable folder: the submission's own
  autograded folder. ``solutions/``, the gradebook and other students' files are simply not there.
- ``setpriv`` (util-linux) drops root to an unprivileged user id, so that the process limit applies.
- Resource limits (address space, processes, file size, open files, no core files) are set with
  :mod:`resource` before the kernel starts, and a whole-notebook wall-clock limit kills the kernel and
  everything it started.
- Files cannot fill the machine: the kernel's ``/tmp`` is a tmpfs of a fixed size (bubblewrap's
  ``--size``), and its working folder is a tmpfs of a fixed size that the grader mounts (as root), so
  writing past either fails with ``No space left on device``. Those files live in memory, which the
  address-space limit does not count, so a memory cgroup (:mod:`grader.sandbox.cgroup`, as root) caps the
  kernel's memory and its files together: the grading machine never loses more than that cap.

Where bubblewrap is missing (macOS, Windows, a container without user namespaces) grading still runs,
with the resource limits and the wall-clock limit only, and says so: see :func:`detect`.

The kernel talks to nbgrader over Unix sockets (Jupyter's ``ipc`` transport) in a private runtime
folder, because TCP on the loopback interface is not reachable from the kernel's own network namespace.
nbgrader starts the kernel through the Jupyter kernel specification written by
:func:`~grader.sandbox.launcher.install_kernel`, whose command is
``python -m grader.sandbox POLICY CONNECTION_FILE``: the launcher then reads the policy and
starts the sandboxed kernel.

The rest of the grader sees only this module: :class:`Sandbox` (open one per grading process, give
its kernel name and connection file to nbgrader, run the verifier with :meth:`Sandbox.start_trusted`,
close it), :class:`Limits` and :func:`take_stop_reason`. Inside the package:

- :mod:`.mode` chooses how kernels are isolated on this machine (:func:`detect`) and says which caps apply;
- :mod:`.policy` is what a sandboxed process is allowed (stored as JSON for the launcher);
- :mod:`.bubblewrap` builds bubblewrap's command line;
- :mod:`.processes` starts, limits and kills sandboxed processes, :mod:`.cgroup` caps their memory;
- :mod:`.scratch` is the kernel's size-capped working folder;
- :mod:`.launcher` is the program Jupyter starts for each kernel.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

from . import cgroup
from .launcher import KERNEL_NAME, install_kernel, take_stop_reason
from .limits import Limits
from .mode import Mode, caps_description, detect, missing_caps, no_sized_tmp
from .policy import Policy, course_utils_path, grader_path, keras_home, load_policy, python_paths, sandbox_uid, trusted_uid
from .processes import TrustedProcess, run_trusted, start_trusted
from .scratch import RESERVED_FOLDER, mount_scratch, unmount_scratch

__all__ = ["KERNEL_NAME", "Limits", "Mode", "RESERVED_FOLDER", "Sandbox", "TrustedProcess", "cleanup", "detect",
           "missing_caps", "prepare", "take_stop_reason"]


@dataclass
class Sandbox:
    """The sandbox of one grading process: where its kernels and its verifier run.

    Attributes
    ----------
    folder : Path
        The folder private to this grading process (policy, kernel specification, working folder).
    kernels : Path
        The Jupyter data folder that holds the sandboxed kernel's specification (put it on
        ``JUPYTER_PATH``).
    connection_file : Path
        The connection file nbgrader must give kernels (Unix sockets beside it).
    mode : Mode
        How kernels are isolated here, and which caps apply (``mode.description`` says it in words).
    """

    folder: Path
    kernels: Path
    connection_file: Path
    mode: Mode

    kernel_name = KERNEL_NAME

    @classmethod
    def open(cls, folder: Path, limits: Limits | None = None, mode: Mode | None = None) -> "Sandbox":
        """Prepare the sandbox of a grading process in ``folder`` (see :func:`prepare`)."""
        kernels, connection_file, described = prepare(folder, limits, mode)
        return cls(Path(folder).resolve(), kernels, connection_file, described)

    @functools.cached_property
    def policy(self) -> Policy:
        """What the sandboxed processes of this grading process may do (read once from its folder)."""
        return load_policy(self.folder)

    @property
    def scratch_dir(self) -> Path:
        """The kernel's working folder, as the grader sees it (the exports land in it)."""
        return Path(self.policy.scratch_dir)

    @property
    def python(self) -> str:
        """The interpreter that sandboxed processes run."""
        return self.policy.python

    @property
    def trusted_policy(self) -> Policy:
        """The policy of trusted processes: the kernels' limits and binds, under a user id of their own.

        The verifier may run while a kernel does, so it must not share the kernel's process limit
        (which counts per user id) or be reachable by it.
        """
        policy = self.policy
        return replace(policy, uid=trusted_uid(policy.uid))

    def start_trusted(self, command: list[str], readable: list[Path], work_dir: Path) -> TrustedProcess:
        """Start trusted code over untrusted data in this sandbox (see :func:`grader.sandbox.processes.start_trusted`)."""
        return start_trusted(self.trusted_policy, command, readable, work_dir)

    def run_trusted(self, command: list[str], readable: list[Path], work_dir: Path,
                    timeout: float) -> subprocess.CompletedProcess:
        """Run trusted code over untrusted data in this sandbox and wait for it."""
        return run_trusted(self.trusted_policy, command, readable, work_dir, timeout)

    def close(self) -> None:
        """Remove what :meth:`open` created (see :func:`cleanup`)."""
        cleanup(self.folder)


def prepare(folder: Path, limits: Limits | None = None, mode: Mode | None = None,
            uid: int | None = None) -> tuple[Path, Path, Mode]:
    """Write the policy and kernel specification of one grading process into ``folder``.

    Parameters
    ----------
    folder : Path
        A folder private to this grading process (it holds the kernel's connection file and sockets).
    limits : Limits, optional
        Resource limits (the defaults otherwise).
    mode : Mode, optional
        The result of :func:`detect` (detected here when not given).
    uid : int, optional
        The user id kernels run as when grading runs as root (default: :func:`sandbox_uid`).

    Returns
    -------
    tuple of (Path, Path, Mode)
        The Jupyter data folder to put on ``JUPYTER_PATH``, the connection file kernels use, and the
        sandbox mode.
    """
    folder = Path(folder).resolve()
    uid = sandbox_uid() if uid is None else uid
    mode = mode or detect(uid)
    limits = limits or Limits()
    folder.mkdir(parents=True, exist_ok=True)
    # Unix socket paths are limited to about 100 characters, so the kernel's sockets go in a short
    # private folder of the system's temporary folder rather than under the grading folder.
    runtime = Path(tempfile.mkdtemp(prefix="tfcourse-"))
    (folder / "runtime").write_text(str(runtime))
    scratch = folder / "scratch"
    readable = python_paths() + [course_utils_path(), grader_path()]
    environment = {}
    cache = keras_home()
    if cache is not None:
        # Read-only inside the sandbox: a notebook that wants to add to the cache works in memory.
        readable.append(cache)
        environment["KERAS_HOME"] = cache
    missing = {"tmp": no_sized_tmp(mode), "working folder": mount_scratch(scratch, limits.disk_bytes),
               "memory cgroup": cgroup.find()[1]}
    policy = Policy(python=sys.executable, readable=readable, runtime_dir=str(runtime), scratch_dir=str(scratch),
                    limits=limits, isolated=mode.isolated, uid=uid, environment=environment,
                    sized_tmp=not missing["tmp"], memory_group=not missing["memory cgroup"])
    policy_file = folder / "policy.json"
    policy.save(policy_file)
    install_kernel(folder, policy_file)
    caps = caps_description(limits, missing)
    return folder, runtime / "kernel.json", replace(mode, description=f"{mode.description}; {caps}")


def cleanup(folder: Path) -> None:
    """Remove what :func:`prepare` created: ``folder`` (its working-folder tmpfs unmounted) and the runtime folder."""
    folder = Path(folder)
    pointer = folder / "runtime"
    if pointer.is_file():
        shutil.rmtree(pointer.read_text().strip(), ignore_errors=True)
    unmount_scratch(folder / "scratch")
    shutil.rmtree(folder, ignore_errors=True)
