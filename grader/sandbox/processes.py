"""Starting, limiting and killing sandboxed processes: kernels (through the launcher) and the verifier."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from dataclasses import replace
from pathlib import Path

from . import cgroup
from .bubblewrap import bubblewrap_command
from .limits import set_limits
from .policy import Policy, kernel_environment

def die_with_parent(signum: int = signal.SIGKILL) -> None:
    """Ask for ``signum`` when the parent process dies (Linux only; a no-op elsewhere)."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signum)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def become_subreaper() -> bool:
    """Adopt this process's orphaned descendants (Linux only); return whether that worked.

    A process that the kernel starts in a session of its own escapes the kill of the kernel's process
    group. As a child subreaper the launcher inherits such processes when their parent dies, instead
    of init, so :func:`kill_orphans` can still find them. Bubblewrap's process namespace does the
    same on its own; this covers kernels that run without it.
    """
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(36, 1, 0, 0, 0) == 0  # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        return False


def children(pid: int, proc: Path = Path("/proc")) -> list[int]:
    """Return the ids of the processes whose parent is ``pid``, read from ``/proc`` ([] without it)."""
    found = []
    for entry in proc.glob("[0-9]*"):
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # The process ended while the folder was read.
        # The command name, in parentheses, may hold spaces: the state and parent id follow its end.
        fields = stat.rsplit(")", 1)[-1].split()
        if len(fields) > 1 and fields[1] == str(pid):
            found.append(int(entry.name))
    return found


def kill_orphans(rounds: int = 100) -> None:
    """Kill and reap every process left to this launcher, until none is left (see :func:`become_subreaper`)."""
    for _ in range(rounds):
        left = children(os.getpid())
        if not left:
            return
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for pid in left:
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass


def kill_group(child: subprocess.Popen) -> None:
    """Kill the kernel's process group (and with bubblewrap, its whole process namespace)."""
    try:
        os.killpg(child.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    child.wait()


def memory_group(policy: Policy) -> cgroup.MemoryGroup | None:
    """Make the memory cgroup of one sandboxed process, or return None where the policy or machine has none."""
    if not policy.memory_group:
        return None
    hierarchy, _ = cgroup.find()
    if hierarchy is None:
        return None
    try:
        return cgroup.MemoryGroup(hierarchy, f"{os.getpid()}-{time.monotonic_ns()}", policy.limits.memory_bytes)
    except OSError:
        return None


def start(policy: Policy, command: list[str], work_dir: Path, writable: list[Path],
          group: cgroup.MemoryGroup | None = None, **popen) -> subprocess.Popen:
    """Start ``command`` under ``policy``, in ``work_dir`` (the policy's scratch folder inside the sandbox).

    The process gets its own session (so that its whole group can be killed), dies with its parent,
    carries the policy's resource limits, and joins the memory cgroup ``group`` if one is given. As
    root, the ``writable`` folders are handed to the sandbox's user id first.
    """
    if policy.isolated:
        if os.geteuid() == 0:
            for folder in writable:
                for path in [folder, *folder.rglob("*")]:
                    os.chown(path, policy.uid, policy.uid, follow_symlinks=False)
        full_command, cwd = bubblewrap_command(policy, work_dir, command), work_dir
    else:
        full_command, cwd = command, Path(policy.scratch_dir)

    def prepare_child() -> None:
        os.setsid()
        die_with_parent()
        set_limits(policy.limits)
        if group is not None:
            group.join()

    return subprocess.Popen(full_command, cwd=cwd, env=kernel_environment(policy), preexec_fn=prepare_child, **popen)


class TrustedProcess:
    """Trusted code (the verifier) started in the sandbox, that may be given one line of input and then waited for.

    Starting it early lets its own start-up (imports, data) run while the grader does something else;
    :meth:`finish` then sends the line, waits for the process and removes its memory cgroup.
    """

    def __init__(self, child: subprocess.Popen, group: cgroup.MemoryGroup | None):
        self.child = child
        self.group = group

    def send(self, line: str) -> None:
        """Send one line without waiting (a process that has ended is not an error: :meth:`finish` reports it)."""
        try:
            self.child.stdin.write(line + "\n")
            self.child.stdin.flush()
        except (BrokenPipeError, OSError, ValueError):
            pass

    def finish(self, line: str | None, timeout: float) -> subprocess.CompletedProcess:
        """Send ``line`` (if any) and wait at most ``timeout`` seconds for the process to end.

        Returns
        -------
        subprocess.CompletedProcess
            With the captured standard output and error (``returncode`` -9 after a timeout).
        """
        child = self.child
        try:
            try:
                stdout, stderr = child.communicate(input=None if line is None else line + "\n", timeout=timeout)
            except subprocess.TimeoutExpired:
                kill_group(child)
                stdout, stderr = child.communicate()
                return subprocess.CompletedProcess(child.args, -9, stdout,
                                                   (stderr or "") + f"\nstopped after {timeout:g} s")
            except BrokenPipeError:
                # The process ended before it read its line (it failed while starting): its output says why.
                stdout, stderr = child.communicate()
            return subprocess.CompletedProcess(child.args, child.returncode, stdout, stderr)
        finally:
            self._remove_group()

    def abandon(self) -> None:
        """Kill the process and everything it started, without waiting for a result."""
        kill_group(self.child)
        for stream in (self.child.stdin, self.child.stdout, self.child.stderr):
            if stream is not None:
                stream.close()
        self._remove_group()

    def _remove_group(self) -> None:
        if self.group is not None:
            self.group.remove()
            self.group = None


def start_trusted(policy: Policy, command: list[str], readable: list[Path], work_dir: Path) -> TrustedProcess:
    """Start trusted code (the verifier) over untrusted data, in the same sandbox as the kernels.

    Parameters
    ----------
    policy : Policy
        The grading process's policy (its limits, readable folders and mode).
    command : list of str
        The command, e.g. ``[python, "-m", "grader.checks.verifier", ...]``.
    readable : list of Path
        Extra folders or files bound read-only (the exports, the chapter's checks). A folder is bound
        as it is: files put into it later are seen inside, a folder put in its place is not.
    work_dir : Path
        An empty folder to run in (bound writable).
    """
    work_dir = Path(work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    extra = [str(Path(path).resolve()) for path in readable]
    private = replace(policy, readable=[*policy.readable, *extra], scratch_dir=str(work_dir))
    group = memory_group(private)
    child = start(private, command, work_dir, writable=[work_dir], group=group, stdin=subprocess.PIPE,
                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return TrustedProcess(child, group)


def run_trusted(policy: Policy, command: list[str], readable: list[Path], work_dir: Path,
                timeout: float) -> subprocess.CompletedProcess:
    """Run trusted code over untrusted data in the sandbox and wait for it (see :func:`start_trusted`).

    ``timeout`` is a wall-clock limit in seconds; the process and everything it started are killed
    after it (``returncode`` -9).
    """
    return start_trusted(policy, command, readable, work_dir).finish(None, timeout)
