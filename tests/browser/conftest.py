"""A real browser for the tests of what learners and instructors see: Playwright driving Debian's Chromium.

Playwright comes from PyPI (the ``test`` extra); the browser is the system's ``chromium`` package,
used through its executable path, so nothing downloads a browser build. Where either is missing the
tests are skipped with the reason, except under ``CI=true``, where they fail: CI installs both.

Each test writes a screenshot of every step it takes, and the time each step took, to a folder of its
own (``browser-screenshots/<test name>/``, or under ``$TFCOURSE_SCREENSHOTS``); a failing test names
that folder in its report.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO

#: Where the Debian and Ubuntu packages put Chromium, in the order tried (``$TFCOURSE_CHROMIUM`` first).
CHROMIUM_NAMES = ("chromium", "chromium-browser", "/usr/lib/chromium/chromium")


def in_ci() -> bool:
    """Return True when running under CI (``CI=true``), where a missing browser is a failure, not a skip."""
    return os.environ.get("CI", "").lower() in ("true", "1", "yes")


def unavailable(reason: str) -> None:
    """Skip the test with ``reason``, or fail it under CI."""
    if in_ci():
        pytest.fail(f"{reason} (CI=true: .ci/run installs it, so the browser tests must run)", pytrace=False)
    pytest.skip(reason)


def find_chromium() -> str | None:
    """Return the path of the system's Chromium, or None when it is not installed."""
    configured = os.environ.get("TFCOURSE_CHROMIUM")
    if configured:
        return configured if Path(configured).is_file() else None
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


@pytest.fixture(scope="session")
def browser():
    """A headless Chromium driven by Playwright, shared by the browser tests of one pytest process."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("Playwright is not installed: pip install -e '.[test]'")
    executable = find_chromium()
    if executable is None:
        unavailable("Chromium is not installed: sudo apt-get install chromium (Debian) or set TFCOURSE_CHROMIUM")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, headless=True)
        try:
            yield browser
        finally:
            browser.close()


class Steps:
    """Record each step of a browser test: a screenshot after it, and the seconds it took.

    Parameters
    ----------
    folder : Path
        Where the screenshots (``01-<step>.png``, ...) and ``steps.json`` go.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.seconds: dict[str, float] = {}

    @contextlib.contextmanager
    def step(self, name: str, page) -> Iterator[None]:
        """Time the block as step ``name``, then screenshot ``page``; on failure, screenshot it as failed."""
        number = len(self.seconds) + 1
        slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
        started = time.monotonic()
        try:
            yield
        except BaseException:
            self._record(name, started, page, f"{number:02d}-{slug}-FAILED.png")
            raise
        self._record(name, started, page, f"{number:02d}-{slug}.png")

    def detail(self, locator, name: str) -> Path:
        """Screenshot one element (a cell, a table) as ``detail-<name>.png``, e.g. for README; return its path."""
        path = self.folder / f"detail-{name}.png"
        locator.scroll_into_view_if_needed()
        locator.screenshot(path=str(path))
        return path

    def _record(self, name: str, started: float, page, screenshot: str) -> None:
        """Write the step's seconds to ``steps.json`` and a screenshot of ``page`` (which may fail: then none)."""
        self.seconds[name] = round(time.monotonic() - started, 1)
        (self.folder / "steps.json").write_text(json.dumps(self.seconds, indent=1) + "\n")
        with contextlib.suppress(Exception):
            page.screenshot(path=str(self.folder / screenshot), full_page=False)


def screenshot_root() -> Path:
    """Return the folder that holds each browser test's screenshots."""
    return Path(os.environ.get("TFCOURSE_SCREENSHOTS") or REPO / "browser-screenshots")


@pytest.fixture
def steps(request) -> Steps:
    """The step recorder of this test; its folder is named after the test and emptied first."""
    folder = screenshot_root() / re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    request.node.screenshot_folder = folder
    return Steps(folder)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Name the screenshot folder in the report of a failing browser test."""
    outcome = yield
    report = outcome.get_result()
    folder = getattr(item, "screenshot_folder", None)
    if folder is not None and report.failed:
        report.sections.append(("browser screenshots", f"Screenshots of each step and their times: {folder}"))
