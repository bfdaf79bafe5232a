"""The kernel launcher: ``python -m grader.sandbox POLICY CONNECTION_FILE``, started by Jupyter.

It reads the policy, starts the kernel in the sandbox with its limits, enforces the whole-notebook
time limit and says why it stopped a kernel (:func:`take_stop_reason`)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from .limits import gib
from .policy import Policy
from .processes import become_subreaper, die_with_parent, kill_group, kill_orphans, memory_group, start
from .scratch import prepare_scratch

#: The name of the Jupyter kernel that grading uses.
KERNEL_NAME = "tfcourse-sandbox"


#: Exit status of the launcher when the whole-notebook time limit killed the kernel.
WALL_CLOCK_EXIT = 124


#: The file, in the kernels' runtime folder, where the launcher says why it stopped a kernel.
STOP_REASON = "stop-reason.txt"


def take_stop_reason(connection_file: str | Path) -> str:
    """Return (and forget) why the launcher stopped the kernel of ``connection_file``, or ''."""
    path = Path(connection_file).parent / STOP_REASON
    try:
        reason = path.read_text().strip()
        path.unlink()
    except OSError:
        return ""
    return reason


def launch(policy: Policy, connection_file: str, work_dir: Path, kernel_arguments: list[str] = ()) -> int:
    """Start the kernel for ``connection_file`` under ``policy`` and wait for it.

    ``kernel_arguments`` are passed on to the kernel (nbgrader adds a few, such as an in-memory
    history file).

    The kernel is killed, with everything it started, when the whole-notebook time limit expires or
    when the launcher is told to stop; processes that it left behind when it exited are killed too.
    When the launcher stopped the kernel (the time limit, or the memory cgroup's cap), it writes why
    into the runtime folder, for :func:`take_stop_reason`.

    Returns
    -------
    int
        The kernel's exit status, or :data:`WALL_CLOCK_EXIT` when the time limit killed it.
    """
    kernel = [policy.python, "-m", "ipykernel_launcher", "-f", connection_file, *kernel_arguments]
    scratch = prepare_scratch(Path(policy.scratch_dir), work_dir)
    become_subreaper()
    reason_file = Path(connection_file).parent / STOP_REASON
    reason_file.unlink(missing_ok=True)  # A reason left by an earlier kernel is not this one's.
    group = memory_group(policy)
    child = start(policy, kernel, work_dir, writable=[scratch, Path(policy.runtime_dir)], group=group)

    def finish() -> None:
        kill_orphans()
        if group is not None:
            if group.out_of_memory_kills():
                reason_file.write_text(
                    f"the submission used more than {gib(group.limit_bytes)} of memory, counting the files it "
                    "wrote to /tmp and to its working folder, and the grader stopped it")
            group.remove()

    def stop(signum, frame):  # noqa: ARG001 - the signal handler's signature.
        # No Popen.wait() here: the handler may interrupt one that holds Popen's lock. os.waitpid takes
        # no lock; once the kernel is reaped, what it left behind has been handed to this launcher.
        try:
            os.killpg(child.pid, signal.SIGKILL)
            os.waitpid(child.pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
        finish()
        os._exit(128 + signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGHUP, stop)
    # Interrupts travel as Jupyter messages (the kernel specification says so), so SIGINT is ignored.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        status = child.wait(timeout=policy.limits.notebook_seconds)
    except subprocess.TimeoutExpired:
        message = f"the notebook ran longer than {policy.limits.notebook_seconds:g} s in all; the kernel was stopped"
        print(f"tfcourse sandbox: {message}", file=sys.stderr)
        reason_file.write_text(message)
        kill_group(child)
        status = WALL_CLOCK_EXIT
    finish()
    return status


def install_kernel(folder: Path, policy_file: Path) -> Path:
    """Write the Jupyter kernel specification that starts kernels through :func:`main`.

    Parameters
    ----------
    folder : Path
        A Jupyter data folder (put it on ``JUPYTER_PATH``); the specification goes into
        ``folder/kernels/tfcourse-sandbox``.
    policy_file : Path
        The JSON policy the launcher reads.

    Returns
    -------
    Path
        The kernel specification's folder.
    """
    spec_dir = Path(folder) / "kernels" / KERNEL_NAME
    spec_dir.mkdir(parents=True, exist_ok=True)
    spec = {
        "argv": [sys.executable, "-m", "grader.sandbox", str(policy_file), "{connection_file}"],
        "display_name": "Python 3 (tfcourse grading sandbox)",
        "language": "python",
        "interrupt_mode": "message",
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec, indent=1))
    return spec_dir


def main(argv: list[str] | None = None) -> int:
    """Entry point of the kernel launcher: ``python -m grader.sandbox POLICY CONNECTION_FILE [ARGS...]``."""
    arguments = sys.argv[1:] if argv is None else argv
    if len(arguments) < 2:
        print("usage: python -m grader.sandbox POLICY_JSON CONNECTION_FILE [KERNEL_ARGUMENTS...]", file=sys.stderr)
        return 2
    # If the grader is killed, the launcher hears SIGTERM and takes the kernel down with it.
    parent = os.getppid()
    die_with_parent(signal.SIGTERM)
    if os.getppid() != parent:
        return 1
    policy = Policy.load(Path(arguments[0]))
    return launch(policy, arguments[1], Path.cwd(), arguments[2:])


