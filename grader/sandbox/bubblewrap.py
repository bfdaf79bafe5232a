"""The bubblewrap command line of a sandboxed process: namespaces, read-only system, binds."""

from __future__ import annotations

import os
from pathlib import Path

from .policy import Policy

#: The size of the kernel's shared-memory folder, /dev/shm.
SHM_BYTES = 64 * 1024**2


def privilege_drop(uid: int) -> list[str]:
    """Return the command prefix that drops root to ``uid`` inside the sandbox, or nothing when not root.

    bubblewrap itself runs as root so that it can bind folders that only root may enter (a Python
    under ``/root``, say); the kernel then runs as ``uid``, whose process count the process limit caps.
    """
    if os.geteuid() != 0:
        return []
    return ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--"]


def namespace_options() -> list[str]:
    """Return bubblewrap's namespace options for the user grading runs as.

    An unprivileged user needs a user namespace to create the others. Root does not, and must not
    have one: ``setpriv`` could not switch to an unprivileged user id that the namespace does not map,
    and a process limit does not apply to a process that is root outside the namespace.
    """
    if os.geteuid() != 0:
        return ["--unshare-all"]
    return ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try",
            "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]


def bubblewrap_command(policy: Policy, work_dir: Path, kernel: list[str]) -> list[str]:
    """Return the bubblewrap command that runs ``kernel`` in ``work_dir``.

    Inside the sandbox ``work_dir`` is the policy's scratch folder; it and the runtime folder are the
    only writable places apart from a private ``/tmp``.
    """
    size = ["--size", str(policy.limits.tmp_bytes)] if policy.sized_tmp else []
    # POSIX shared memory (/dev/shm) backs multiprocessing's locks and thread pools, which Keras uses
    # to index folders of images (keras.utils.image_dataset_from_directory); bubblewrap's minimal /dev
    # has none. Its pages count against the memory cgroup, as /tmp's do.
    shm_size = ["--size", str(SHM_BYTES)] if policy.sized_tmp else []
    command = ["bwrap", *namespace_options(), "--die-with-parent", "--new-session",
               "--proc", "/proc", "--dev", "/dev", "--perms", "1777", *size, "--tmpfs", "/tmp",
               "--perms", "1777", *shm_size, "--tmpfs", "/dev/shm"]
    command += gpu_binds()
    for system_folder in ("/usr", "/etc"):
        command += ["--ro-bind", system_folder, system_folder]
    for link in ("bin", "lib", "lib64", "sbin"):
        target = Path("/") / link
        if target.is_symlink():
            command += ["--symlink", os.readlink(target), str(target)]
        elif target.is_dir():
            command += ["--ro-bind", str(target), str(target)]
    # bubblewrap creates the parents of a bind's destination as root-only folders; the kernel runs as
    # another user and must be able to walk through them.
    binds = [*policy.readable, policy.runtime_dir, str(work_dir)]
    for parent in _parents_to_create(binds):
        command += ["--perms", "0755", "--dir", parent]
    for folder in policy.readable:
        command += ["--ro-bind", folder, folder]
    command += ["--bind", policy.runtime_dir, policy.runtime_dir, "--bind", policy.scratch_dir, str(work_dir),
                "--chdir", str(work_dir), "--setenv", "HOME", "/tmp", "--setenv", "TMPDIR", "/tmp"]
    return command + ["--"] + privilege_drop(policy.uid) + kernel


def gpu_binds(dev: Path = Path("/dev")) -> list[str]:
    """Return the bubblewrap options that let a kernel use this machine's NVIDIA GPUs, if it has any.

    Graded tests must pass on CPU or GPU, and a class graded on a GPU machine should use it: the
    GPU's device files are bound in, and ``/sys`` read-only (CUDA reads the PCI topology there).
    """
    devices = sorted(str(path) for path in Path(dev).glob("nvidia*") if path.exists())
    if not devices:
        return []
    options = []
    for device in devices:
        options += ["--dev-bind", device, device]
    return options + ["--ro-bind", "/sys", "/sys"]


def _parents_to_create(folders: list[str]) -> list[str]:
    """Return the ancestors of ``folders`` that the sandbox must create, parents first."""
    system = {"/", "/usr", "/etc", "/tmp", "/proc", "/dev", "/bin", "/lib", "/lib64", "/sbin"}
    parents: set[str] = set()
    for folder in folders:
        for parent in Path(folder).parents:
            if str(parent) not in system:
                parents.add(str(parent))
    return sorted(parents, key=lambda path: (path.count("/"), path))
