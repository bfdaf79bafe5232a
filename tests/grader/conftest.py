"""One grading run of every fixture submission, shared by the end-to-end grading tests."""

import fcntl
import pickle
import shutil

import pytest

from grader import sandbox, session
from grader.options import GradingOptions
from tests.conftest import FIXTURES

#: Per-cell timeout of the fixture runs, in seconds.
TIMEOUT = 10

#: Seed of the inputs that the trusted checks draw in the shared run.
SEED = 20261123

#: Fixtures that need a grading run of their own, with other limits.
SEPARATE_RUNS = {"whole_notebook_time_limit", "memory_and_files"}

#: Fixtures that only the sandbox stops. Without it they are not graded at all: a process bomb run
#: as root is not stopped by a process limit, and the others would read or write the real files.
NEEDS_SANDBOX = {"network_access", "process_bomb", "reading_solutions", "writing_gradebook"}

#: Fixtures that only a cap on files stops, by the cap (a key of sandbox.missing_caps). Without it they
#: are not graded at all: they would fill the machine's /tmp or disk.
NEEDS_CAP = {"filling_tmp": "tmp", "filling_working_folder": "working folder"}

#: Resource limits of the shared run: a memory bomb of 64 GiB must fail, a normal kernel must not, and
#: 250 MB files fill /tmp and the working folder at the second file.
LIMITS = sandbox.Limits(memory_bytes=4 * 1024**3, notebook_seconds=180, tmp_bytes=256 * 1024**2,
                        disk_bytes=256 * 1024**2)


def submit(submitted, name, notebook_name="mini.ipynb", fixture=None):
    """Copy fixture submission ``fixture`` (default ``name``) as student ``name``'s mini notebook."""
    folder = submitted / name / "mini"
    folder.mkdir(parents=True)
    shutil.copyfile(FIXTURES / "submissions" / f"{fixture or name}.ipynb", folder / notebook_name)


@pytest.fixture(scope="session")
def graded(tmp_path_factory, request):
    """Grade every fixture submission once, plus a renamed and a missing notebook and a student named Zoë O'Brien.

    test_attacks.py and test_session.py both use this run, and pytest-xdist may give them to
    different workers: the first worker grades and saves the run in the session's shared temporary
    folder, and the other waits for it and reads it, so the grading happens once per session.
    """
    worker = getattr(request.config, "workerinput", None)
    if worker is None:
        return grade_fixtures(tmp_path_factory)
    shared = tmp_path_factory.getbasetemp().parent  # One folder per pytest session, shared by its workers.
    with (shared / "graded.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        saved = shared / "graded.pickle"
        if saved.is_file():
            return pickle.loads(saved.read_bytes())  # Written by this session's own tests, above.
        outcome = grade_fixtures(tmp_path_factory)
        saved.write_bytes(pickle.dumps(outcome))
        return outcome


def grade_fixtures(tmp_path_factory):
    """Grade the fixture submissions; return the run and the results by student."""
    submitted = tmp_path_factory.mktemp("submitted")
    mode = sandbox.detect()
    missing = sandbox.missing_caps(mode)
    skipped = SEPARATE_RUNS | (set() if mode.isolated else NEEDS_SANDBOX)
    skipped |= {fixture for fixture, cap in NEEDS_CAP.items() if missing[cap]}
    for fixture in sorted((FIXTURES / "submissions").glob("*.ipynb")):
        if fixture.stem not in skipped:
            submit(submitted, fixture.stem)
    submit(submitted, "renamed_notebook", "mini-Copy1.ipynb", fixture="reference_solution")
    submit(submitted, "Zoë O'Brien", fixture="reference_solution")
    (submitted / "missing_notebook" / "mini").mkdir(parents=True)
    root = tmp_path_factory.mktemp("grading")
    run = session.grade(submitted, root, FIXTURES / "source", GradingOptions(timeout=TIMEOUT, progress=False,
                        limits=LIMITS, seed=SEED))
    return run, {result.student: result for result in run.results}


def require_cap(cap: str) -> None:
    """Skip the test, saying why, unless this machine can apply ``cap`` (a key of sandbox.missing_caps)."""
    reason = sandbox.missing_caps(sandbox.detect())[cap]
    if reason:
        pytest.skip(f"the grader cannot cap the {cap} here: {reason}")


@pytest.fixture(scope="session")
def isolated():
    """Skip the test unless kernels are sandboxed on this machine (bubblewrap works here)."""
    mode = sandbox.detect()
    if not mode.isolated:
        pytest.skip(f"the grading sandbox is not available here: {mode.description}")
    return mode
