"""Start JupyterLab exactly as ``make lab`` does, for the tests that talk to it (HTTP or a real browser)."""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import REPO

#: The token the tests' JupyterLab accepts (a learner's gets a random one).
TOKEN = "tfcourse-test"


def lab_command() -> tuple[dict[str, str], list[str]]:
    """Return the environment and arguments of the command `make lab` runs (printed by `make -n`)."""
    printed = subprocess.run(["make", "-n", "-s", "lab"], cwd=REPO, capture_output=True, text=True, check=True)
    lines = [line for line in printed.stdout.replace("\\\n", " ").splitlines() if "jupyter lab" in line]
    assert len(lines) == 1, printed.stdout
    environment, arguments = {}, []
    for part in shlex.split(lines[0]):
        if not arguments and "=" in part:
            key, value = part.split("=", 1)
            environment[key] = value
        else:
            arguments.append(part)
    return environment, arguments


def free_port() -> int:
    """Return a TCP port of 127.0.0.1 that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(url: str):
    """GET ``url`` with the tests' token, without following redirects; return the response or the HTTP error."""
    request = urllib.request.Request(url, headers={"Authorization": f"token {TOKEN}"})

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        return opener.open(request, timeout=5)
    except urllib.error.HTTPError as error:
        return error


@dataclass
class Lab:
    """A running JupyterLab: its address, the folder it serves and its log file."""

    base: str
    root: Path
    log: Path

    def url(self, path: str = "/") -> str:
        """Return the address of ``path`` with the token, as the link JupyterLab prints on start."""
        separator = "&" if "?" in path else "?"
        return f"{self.base}{path}{separator}token={TOKEN}"


@contextlib.contextmanager
def running_lab(root: Path, scratch: Path, startup_seconds: float = 90) -> Iterator[Lab]:
    """Run `make lab`'s JupyterLab command in ``root`` (its ``.`` is then ``root``) until the block ends.

    Parameters
    ----------
    root : Path
        The folder the server is started in: the repository, or a copy of the course in a test's folder.
    scratch : Path
        A folder of the test's own for the server's log, runtime files and workspace state.
    startup_seconds : float
        How long the server may take to answer.
    """
    environment, arguments = lab_command()
    # The command names the virtual environment's jupyter relative to the repository (.venv/bin/jupyter).
    program = Path(arguments[0])
    if not program.is_absolute() and (REPO / program).exists():
        arguments[0] = str(REPO / program)
    port = free_port()
    arguments += ["--no-browser", f"--port={port}", f"--IdentityProvider.token={TOKEN}"]
    log = scratch / "lab.log"
    workspaces = scratch / "workspaces"
    workspaces.mkdir(parents=True, exist_ok=True)
    with log.open("w") as output:
        server = subprocess.Popen(arguments, cwd=root, stdout=output, stderr=subprocess.STDOUT,
                                  env={**os.environ, **environment, "JUPYTER_RUNTIME_DIR": str(scratch),
                                       "JUPYTERLAB_WORKSPACES_DIR": str(workspaces)},
                                  start_new_session=True)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + startup_seconds
        while True:
            try:
                if get(f"{base}/api/status").status == 200:
                    break
            except OSError:
                pass
            assert server.poll() is None, log.read_text()
            assert time.monotonic() < deadline, f"JupyterLab did not start in {startup_seconds:.0f} s:\n{log.read_text()}"
            time.sleep(0.5)
        yield Lab(base, Path(root), log)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=30)
