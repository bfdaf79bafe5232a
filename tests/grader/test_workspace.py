"""The grading folder is held by one grading run at a time."""

import pytest

from grader import cli, session, workspace
from grader.options import GradingOptions


def test_a_second_run_is_refused_and_changes_nothing(tmp_path, fixtures):
    root = tmp_path / "grading"
    with workspace.exclusive(root):
        with pytest.raises(workspace.WorkspaceBusyError, match="another grading run is using .*grading .pid "):
            session.grade(fixtures / "submissions", root, fixtures / "source", GradingOptions(progress=False))
    assert sorted(path.name for path in root.iterdir()) == [workspace.LOCK_NAME]


def test_the_folder_is_free_again_after_a_run(tmp_path):
    root = tmp_path / "grading"
    with workspace.exclusive(root):
        pass
    with workspace.exclusive(root):
        pass


def test_cli_reports_a_busy_folder(tmp_path, fixtures, capsys):
    root = tmp_path / "grading"
    (tmp_path / "submitted").mkdir()
    with workspace.exclusive(root):
        status = cli.main(["grade", str(tmp_path / "submitted"), "--workdir", str(root), "--source",
                           str(fixtures / "source"), "--quiet"])
    assert status == 2
    assert "another grading run is using" in capsys.readouterr().err
