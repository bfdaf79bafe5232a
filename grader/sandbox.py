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
  address-space limit does not count, so a memory cgroup (:mod:`grader.cgroup`, as root) caps the
  kernel's memory and its files together: the grading machine never loses more than that cap.

Where bubblewrap is missing (macOS, Windows, a container without user namespaces) grading still runs,
with the resource limits and the wall-clock limit only, and says so: see :func:`detect`.

The kernel talks to nbgrader over Unix sockets (Jupyter's ``ipc`` transport) in a private runtime
folder, because TCP on the loopback interface is not reachable from the kernel's own network namespace.
nbgrader starts the kernel through the Jupyter kernel specification written by
:func:`install_kernel`, whose command is ``python -m grader.sandbox POLICY CONNECTION_FILE``: this
module's :func:`main` then reads the policy and starts the sandboxed kernel.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from . import cgroup

#: A folder of the kernel's working folder with a size cap of its own (:data:`RESERVED_BYTES`): the
#: grader's export cells write there (see :mod:`grader.exports`), so a submission that fills its
#: working folder still has the answers it got right exported and verified.
RESERVED_FOLDER = ".tfcourse-export"

#: Size of :data:`RESERVED_FOLDER` where the working folder has a size cap.
RESERVED_BYTES = 256 * 1024**2

#: The name of the Jupyter kernel that grading uses.
KERNEL_NAME = "tfcourse-sandbox"

#: Exit status of the launcher when the whole-notebook time limit killed the kernel.
WALL_CLOCK_EXIT = 124

#: Kernels of a grading process that runs as root run as an unprivileged user id of their own, picked
#: from this range by process id, so that one submission's processes never count against (or can
#: signal) another grading process's. No account needs to exist for it.
UID_RANGE = (200_000, 250_000)


def sandbox_uid(pid: int | None = None) -> int:
    """Return the user id that the kernels of grading process ``pid`` (default: this one) run as."""
    low, high = UID_RANGE
    return low + (os.getpid() if pid is None else pid) % (high - low)



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


@dataclass
class Policy:
    """Everything the launcher needs to start one sandboxed kernel (stored as JSON).

    Attributes
    ----------
    python : str
        The interpreter that runs the kernel (the course's virtual environment).
    readable : list of str
        Folders bound read-only inside the sandbox at the same path.
    runtime_dir : str
        The folder holding the kernel's connection file and sockets (bound writable).
    scratch_dir : str
        The kernel's working folder (bound writable where the notebook's folder would be). It starts
        with the assignment's files but not the notebook, whose hidden tests the kernel must not read.
    limits : Limits
        Resource limits.
    isolated : bool
        Use bubblewrap (True) or only the resource and time limits (False).
    uid : int
        The user id the kernel runs as when the launcher runs as root.
    environment : dict
        Extra environment variables for the kernel.
    sized_tmp : bool
        Give the kernel's ``/tmp`` the size ``limits.tmp_bytes`` (see :class:`Mode`).
    memory_group : bool
        Put each sandboxed process in a memory cgroup limited to ``limits.memory_bytes``.
    """

    python: str
    readable: list[str]
    runtime_dir: str
    scratch_dir: str
    limits: Limits = field(default_factory=Limits)
    isolated: bool = True
    uid: int = UID_RANGE[0]
    environment: dict[str, str] = field(default_factory=dict)
    sized_tmp: bool = False
    memory_group: bool = False

    def save(self, path: Path) -> None:
        """Write the policy as JSON."""
        data = asdict(self)
        Path(path).write_text(json.dumps(data, indent=1))

    @classmethod
    def load(cls, path: Path) -> "Policy":
        """Read a policy written by :meth:`save`."""
        data = json.loads(Path(path).read_text())
        data["limits"] = Limits(**data["limits"])
        return cls(**data)


def _run_quietly(command: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)


def _privilege_drop(uid: int) -> list[str]:
    """Return the command prefix that drops root to ``uid`` inside the sandbox, or nothing when not root.

    bubblewrap itself runs as root so that it can bind folders that only root may enter (a Python
    under ``/root``, say); the kernel then runs as ``uid``, whose process count the process limit caps.
    """
    if os.geteuid() != 0:
        return []
    return ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--"]


def _namespace_options() -> list[str]:
    """Return bubblewrap's namespace options for the user grading runs as.

    An unprivileged user needs a user namespace to create the others. Root does not, and must not
    have one: ``setpriv`` could not switch to an unprivileged user id that the namespace does not map,
    and a process limit does not apply to a process that is root outside the namespace.
    """
    if os.geteuid() != 0:
        return ["--unshare-all"]
    return ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try",
            "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]


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
    options = [bwrap, *_namespace_options(), "--die-with-parent", "--ro-bind", "/", "/", "--proc", "/proc",
               "--dev", "/dev"]
    command = ["--", *_privilege_drop(uid), "true"]
    probe = options + command
    # bubblewrap before 0.7.0 has no --size: it still isolates, with a /tmp of no fixed size.
    sized_probe = options + ["--size", str(1024**2), "--tmpfs", "/tmp"] + command
    try:
        completed = _run_quietly(probe)
        sized = completed.returncode == 0 and _run_quietly(sized_probe).returncode == 0
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


def python_paths() -> list[str]:
    """Return the folders the kernel's Python needs: the base installation and the virtual environment."""
    folders = {Path(sys.base_prefix).resolve(), Path(sys.prefix).resolve()}
    return sorted(str(folder) for folder in folders)


def course_utils_path() -> str:
    """Return the folder of the ``course_utils`` package that notebooks import."""
    import course_utils

    return str(Path(course_utils.__file__).resolve().parent)


def grader_path() -> str:
    """Return the folder of this ``grader`` package (the verifier imports it; it holds no secrets)."""
    return str(Path(__file__).resolve().parent)


def keras_home() -> str | None:
    """Return the Keras folder (``$KERAS_HOME``: data sets, pretrained bases) if it exists, else None."""
    from course_utils import data

    folder = Path(data.keras_cache_dir()).resolve().parent
    return str(folder) if folder.is_dir() else None


#: The size of the kernel's shared-memory folder, /dev/shm.
SHM_BYTES = 64 * 1024**2


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
    command = ["bwrap", *_namespace_options(), "--die-with-parent", "--new-session",
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
    return command + ["--"] + _privilege_drop(policy.uid) + kernel


#: Variables of the grader's environment that the kernel inherits (everything else is dropped).
PASSED_THROUGH = ("LANG", "LC_ALL", "KERAS_HOME", "TFCOURSE_OFFLINE", "TFCOURSE_SYSTEM_DATA",
                  "TF_CPP_MIN_LOG_LEVEL", "CUDA_VISIBLE_DEVICES", "PYTHONHASHSEED")


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


def kernel_environment(policy: Policy) -> dict[str, str]:
    """Return the kernel's environment: a short, explicit list rather than the grader's own."""
    environment = {name: os.environ[name] for name in PASSED_THROUGH if name in os.environ}
    scratch = "/tmp" if policy.isolated else os.environ.get("TMPDIR", "/tmp")
    environment.update({
        "PATH": os.pathsep.join([str(Path(policy.python).parent), "/usr/local/bin", "/usr/bin", "/bin"]),
        "HOME": "/tmp" if policy.isolated else os.environ.get("HOME", "/tmp"),
        "TMPDIR": scratch,
        # ipykernel exits when its parent process looks gone; inside a process namespace its parent is
        # the namespace's first process, so parent polling is switched off (the sandbox ends the
        # kernel when the grader goes away).
        "JPY_PARENT_PID": "1",
    })
    environment.setdefault("LANG", "C.UTF-8")
    environment.update(policy.environment)
    return environment


def set_limits(limits: Limits) -> None:
    """Apply the resource limits to this process (inherited by the kernel it becomes)."""
    for name, value in (("RLIMIT_AS", limits.memory_bytes), ("RLIMIT_NPROC", limits.processes),
                        ("RLIMIT_FSIZE", limits.file_bytes), ("RLIMIT_NOFILE", limits.open_files),
                        ("RLIMIT_CORE", 0)):
        kind = getattr(resource, name, None)
        if kind is not None:
            resource.setrlimit(kind, (value, value))


def _die_with_parent(signum: int = signal.SIGKILL) -> None:
    """Ask for ``signum`` when the parent process dies (Linux only; a no-op elsewhere)."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signum)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _become_subreaper() -> bool:
    """Adopt this process's orphaned descendants (Linux only); return whether that worked.

    A process that the kernel starts in a session of its own escapes the kill of the kernel's process
    group. As a child subreaper the launcher inherits such processes when their parent dies, instead
    of init, so :func:`_kill_orphans` can still find them. Bubblewrap's process namespace does the
    same on its own; this covers kernels that run without it.
    """
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(36, 1, 0, 0, 0) == 0  # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        return False


def _children(pid: int, proc: Path = Path("/proc")) -> list[int]:
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


def _kill_orphans(rounds: int = 100) -> None:
    """Kill and reap every process left to this launcher, until none is left (see :func:`_become_subreaper`)."""
    for _ in range(rounds):
        children = _children(os.getpid())
        if not children:
            return
        for pid in children:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for pid in children:
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass


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


def _gib(value: float) -> str:
    """Format a number of bytes in GiB (or MiB below 1 GiB) for messages."""
    return f"{value / 1024**3:g} GiB" if value >= 1024**3 else f"{value / 1024**2:g} MiB"


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
    _become_subreaper()
    reason_file = Path(connection_file).parent / STOP_REASON
    reason_file.unlink(missing_ok=True)  # A reason left by an earlier kernel is not this one's.
    group = memory_group(policy)
    child = start(policy, kernel, work_dir, writable=[scratch, Path(policy.runtime_dir)], group=group)

    def finish() -> None:
        _kill_orphans()
        if group is not None:
            if group.out_of_memory_kills():
                reason_file.write_text(
                    f"the submission used more than {_gib(group.limit_bytes)} of memory, counting the files it "
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
        _kill_group(child)
        status = WALL_CLOCK_EXIT
    finish()
    return status


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
        _die_with_parent()
        set_limits(policy.limits)
        if group is not None:
            group.join()

    return subprocess.Popen(full_command, cwd=cwd, env=kernel_environment(policy), preexec_fn=prepare_child, **popen)


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


def _kill_group(child: subprocess.Popen) -> None:
    """Kill the kernel's process group (and with bubblewrap, its whole process namespace)."""
    try:
        os.killpg(child.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    child.wait()


def load_policy(folder: Path) -> Policy:
    """Return the policy that :func:`prepare` wrote into ``folder``."""
    return Policy.load(Path(folder) / "policy.json")


def run_trusted(policy: Policy, command: list[str], readable: list[Path], work_dir: Path,
                timeout: float) -> subprocess.CompletedProcess:
    """Run trusted code (the verifier) over untrusted data, in the same sandbox as the kernels.

    Parameters
    ----------
    policy : Policy
        The grading process's policy (its limits, readable folders and mode).
    command : list of str
        The command, e.g. ``[python, "-m", "grader.verify", ...]``.
    readable : list of Path
        Extra folders or files bound read-only (the exports, the chapter's checks).
    work_dir : Path
        An empty folder to run in (bound writable).
    timeout : float
        Wall-clock limit in seconds; the process and everything it started are killed after it.

    Returns
    -------
    subprocess.CompletedProcess
        With the captured standard output and error (``returncode`` -9 after a timeout).
    """
    work_dir = Path(work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    extra = [str(Path(path).resolve()) for path in readable]
    private = replace(policy, readable=[*policy.readable, *extra], scratch_dir=str(work_dir))
    group = memory_group(private)
    child = start(private, command, work_dir, writable=[work_dir], group=group, stdout=subprocess.PIPE,
                  stderr=subprocess.PIPE, text=True)
    try:
        try:
            stdout, stderr = child.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(child)
            stdout, stderr = child.communicate()
            return subprocess.CompletedProcess(child.args, -9, stdout, stderr + f"\nstopped after {timeout:g} s")
        return subprocess.CompletedProcess(child.args, child.returncode, stdout, stderr)
    finally:
        if group is not None:
            group.remove()


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
    missing = {"tmp": _no_sized_tmp(mode), "working folder": mount_scratch(scratch, limits.disk_bytes),
               "memory cgroup": cgroup.find()[1]}
    policy = Policy(python=sys.executable, readable=readable, runtime_dir=str(runtime), scratch_dir=str(scratch),
                    limits=limits, isolated=mode.isolated, uid=uid, environment=environment,
                    sized_tmp=not missing["tmp"], memory_group=not missing["memory cgroup"])
    policy_file = folder / "policy.json"
    policy.save(policy_file)
    install_kernel(folder, policy_file)
    caps = caps_description(limits, missing)
    return folder, runtime / "kernel.json", replace(mode, description=f"{mode.description}; {caps}")


def _no_sized_tmp(mode: Mode) -> str:
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
    return {"tmp": _no_sized_tmp(mode), "working folder": no_mount, "memory cgroup": cgroup.find()[1]}


def caps_description(limits: Limits, missing: dict[str, str]) -> str:
    """Say in one clause how a submission's memory and files are capped (and what is not, and why).

    ``missing`` says why each cap cannot be applied ('' where it can), as :func:`missing_caps` does.
    """
    tmp = f"/tmp {_gib(limits.tmp_bytes)}" if not missing["tmp"] else f"/tmp not capped ({missing['tmp']})"
    work = (f"working folder {_gib(limits.disk_bytes)}" if not missing["working folder"] else
            f"working folder not capped ({missing['working folder']})")
    if not missing["memory cgroup"]:
        return f"memory {_gib(limits.memory_bytes)} in all, files in memory included (memory cgroup); {tmp}; {work}"
    return (f"address space {_gib(limits.memory_bytes)}, and files in memory on top of it (no memory cgroup: "
            f"{missing['memory cgroup']}); {tmp}; {work}")


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
            completed = _run_quietly(["mount", "-t", "tmpfs", "-o", f"size={int(size)},mode={mode},nosuid,nodev",
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
            _run_quietly(["umount", "--lazy", str(folder)])


def cleanup(folder: Path) -> None:
    """Remove what :func:`prepare` created: ``folder`` (its working-folder tmpfs unmounted) and the runtime folder."""
    folder = Path(folder)
    pointer = folder / "runtime"
    if pointer.is_file():
        shutil.rmtree(pointer.read_text().strip(), ignore_errors=True)
    unmount_scratch(folder / "scratch")
    shutil.rmtree(folder, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the kernel launcher: ``python -m grader.sandbox POLICY CONNECTION_FILE [ARGS...]``."""
    arguments = sys.argv[1:] if argv is None else argv
    if len(arguments) < 2:
        print("usage: python -m grader.sandbox POLICY_JSON CONNECTION_FILE [KERNEL_ARGUMENTS...]", file=sys.stderr)
        return 2
    # If the grader is killed, the launcher hears SIGTERM and takes the kernel down with it.
    parent = os.getppid()
    _die_with_parent(signal.SIGTERM)
    if os.getppid() != parent:
        return 1
    policy = Policy.load(Path(arguments[0]))
    return launch(policy, arguments[1], Path.cwd(), arguments[2:])


if __name__ == "__main__":
    sys.exit(main())
