"""`make lab` really starts JupyterLab (as root too) on the course, with Chapter 1 open."""

import json
import os
import shlex
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request

import pytest

from tests.conftest import REPO

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
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(url: str):
    request = urllib.request.Request(url, headers={"Authorization": f"token {TOKEN}"})

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        return opener.open(request, timeout=5)
    except urllib.error.HTTPError as error:
        return error


@pytest.mark.skipif(not (REPO / ".venv").is_dir(), reason="make lab uses the .venv that make creates")
def test_make_lab_serves_the_course_and_opens_chapter_1(tmp_path):
    environment, arguments = lab_command()
    port = free_port()
    arguments += ["--no-browser", f"--port={port}", f"--IdentityProvider.token={TOKEN}"]
    log = tmp_path / "lab.log"
    with log.open("w") as output:
        server = subprocess.Popen(arguments, cwd=REPO, stdout=output, stderr=subprocess.STDOUT,
                                  env={**os.environ, **environment, "JUPYTER_RUNTIME_DIR": str(tmp_path)},
                                  start_new_session=True)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 90
        while True:
            try:
                response = get(f"{base}/api/status")
                if response.status == 200:
                    break
            except OSError:
                pass
            assert server.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "JupyterLab did not start in 90 s:\n" + log.read_text()
            time.sleep(1)
        chapter = get(f"{base}/api/contents/course/01_tensors/01_tensors.ipynb?content=0")
        assert chapter.status == 200 and json.load(chapter)["type"] == "notebook"
        landing = get(f"{base}/")
        assert landing.status == 302
        assert landing.headers["Location"].startswith("/lab/tree/course/01_tensors/01_tensors.ipynb")
        assert "[E " not in log.read_text(), log.read_text()
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
