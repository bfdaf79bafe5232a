"""A thin wrapper around nbgrader's Python API that turns failed steps into exceptions."""

from __future__ import annotations

import logging
import os
import sys

from nbgrader.apps import NbGraderAPI
from nbgrader.coursedir import CourseDirectory
from traitlets.config import Config


class NbgraderStepError(RuntimeError):
    """An nbgrader step (generate_assignment, autograde, generate_feedback) failed."""


def expose_environment_scripts() -> None:
    """Put this interpreter's script folder on PATH.

    nbgrader runs helper programs (``alembic``) by name, so a ``tfcourse`` started as
    ``.venv/bin/tfcourse`` without activating the virtual environment must still find them.
    """
    scripts = os.path.dirname(sys.executable)
    path = os.environ.get("PATH", "")
    if scripts not in path.split(os.pathsep):
        os.environ["PATH"] = os.pathsep.join([scripts, path]) if path else scripts


def make_api(config: Config) -> NbGraderAPI:
    """Create an nbgrader API object bound to one configuration."""
    expose_environment_scripts()
    api = NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)
    api.log.setLevel(logging.ERROR)
    return api


def run_step(result: dict, what: str) -> str:
    """Raise :class:`NbgraderStepError` when an nbgrader API call did not succeed.

    Returns
    -------
    str
        The step's captured log.
    """
    if not result.get("success"):
        parts = [result.get("log", "").strip(), result.get("error", "").strip()]
        detail = "\n".join(part for part in parts if part) or "no details"
        raise NbgraderStepError(f"{what} failed:\n{detail}")
    return result.get("log", "")
