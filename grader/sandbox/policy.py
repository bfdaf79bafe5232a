"""What the launcher needs to start one sandboxed process (stored as JSON), and the process's environment."""

from __future__ import annotations

import json
import os
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .limits import Limits

#: Kernels of a grading process that runs as root run as an unprivileged user id of their own, picked
#: from this range by process id, so that one submission's processes never count against (or can
#: signal) another grading process's. No account needs to exist for it.
UID_RANGE = (200_000, 250_000)


def trusted_uid(kernel_uid: int) -> int:
    """Return the user id of the trusted processes (the verifier) of the grading process whose kernels run as ``kernel_uid``.

    It lies just above :data:`UID_RANGE`, so that it is never another grading process's kernel user.
    """
    low, high = UID_RANGE
    return kernel_uid + (high - low)


def sandbox_uid(pid: int | None = None) -> int:
    """Return the user id that the kernels of grading process ``pid`` (default: this one) run as."""
    low, high = UID_RANGE
    return low + (os.getpid() if pid is None else pid) % (high - low)


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


def load_policy(folder: Path) -> Policy:
    """Return the policy that :func:`prepare` wrote into ``folder``."""
    return Policy.load(Path(folder) / "policy.json")


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
    return str(Path(__file__).resolve().parent.parent)


def keras_home() -> str | None:
    """Return the Keras folder (``$KERAS_HOME``: data sets, pretrained bases) if it exists, else None."""
    from course_utils import data

    folder = Path(data.keras_cache_dir()).resolve().parent
    return str(folder) if folder.is_dir() else None


#: The variable set to "1" in every kernel the grader starts (see :func:`kernel_environment`).
GRADING_VARIABLE = "TFCOURSE_GRADING"

#: Variables of the grader's environment that the kernel inherits (everything else is dropped).
PASSED_THROUGH = ("LANG", "LC_ALL", "KERAS_HOME", "TFCOURSE_OFFLINE", "TFCOURSE_SYSTEM_DATA",
                  "TF_CPP_MIN_LOG_LEVEL", "CUDA_VISIBLE_DEVICES", "PYTHONHASHSEED")


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
        # Tells code in the notebook that the grader runs it: the chapters' score cell then does not
        # grade the notebook again from inside the grading (course_utils.selfcheck).
        GRADING_VARIABLE: "1",
    })
    environment.setdefault("LANG", "C.UTF-8")
    environment.update(policy.environment)
    return environment
