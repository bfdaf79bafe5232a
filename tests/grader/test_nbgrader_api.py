"""Tests for grader.nbgrader_api."""

import os
import sys

import pytest

from grader import nbgrader_api


def test_run_step_returns_the_log_of_a_success():
    assert nbgrader_api.run_step({"success": True, "log": "done"}, "step") == "done"


def test_run_step_raises_with_log_and_error():
    with pytest.raises(nbgrader_api.NbgraderStepError, match=r"autograde bob/mini failed:\n\[ERROR\] why\nTraceback"):
        nbgrader_api.run_step({"success": False, "log": "[ERROR] why", "error": "Traceback"}, "autograde bob/mini")
    with pytest.raises(nbgrader_api.NbgraderStepError, match="no details"):
        nbgrader_api.run_step({"success": False}, "step")


def test_environment_scripts_are_put_on_path(monkeypatch):
    monkeypatch.setenv("PATH", "/usr/bin")
    nbgrader_api.expose_environment_scripts()
    nbgrader_api.expose_environment_scripts()
    parts = os.environ["PATH"].split(os.pathsep)
    assert parts == [os.path.dirname(sys.executable), "/usr/bin"]
