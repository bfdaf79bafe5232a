"""Tests for grader.config and the settings in grader/nbgrader_config.py."""

from pathlib import Path

from traitlets.config.loader import PyFileConfigLoader

from grader import config


def test_deliberate_settings():
    settings = config.load_settings()
    assert settings.Execute.timeout == 300
    assert settings.Execute.interrupt_on_timeout is True
    assert settings.OverwriteCells.add_missing_cells is True
    assert settings.LimitOutput.max_lines == 1000
    assert settings.CourseDirectory.source_directory == "solutions"
    assert settings.CourseDirectory.release_directory == "course"
    names = [p.__name__ for p in settings.GenerateFeedback.preprocessors]
    assert names[:4] == ["GetGrades", "ResultsSummary", "ClearHiddenTestsInTestCells", "ConciseTestErrors"]
    steps = [p.__name__ for p in settings.Autograde.autograde_preprocessors]
    assert steps[:3] == ["InsertExportCells", "ResilientExecute", "RemoveExportCell"]
    assert "grading.py" in settings.CourseDirectory.ignore, "a chapter's trusted checks are never released"


def test_sandboxed_kernel_settings(tmp_path):
    made = config.make_config(tmp_path, Path("solutions"), connection_file=tmp_path / "kernel.json")
    assert made.Execute.kernel_name == "tfcourse-sandbox"
    assert made.KernelManager.transport == "ipc"
    assert made.KernelManager.connection_file == str(tmp_path / "kernel.json")


def test_course_root_config_loads_the_same_settings(repo):
    root_settings = PyFileConfigLoader("nbgrader_config.py", path=str(repo)).load_config()
    assert root_settings.Execute.timeout == config.load_settings().Execute.timeout
    assert root_settings.OverwriteCells.add_missing_cells is True


def test_make_config_points_at_the_run_folders(tmp_path):
    made = config.make_config(tmp_path, Path("solutions"), submitted=tmp_path / "in", timeout=12)
    assert made.CourseDirectory.root == str(tmp_path.resolve())
    assert Path(made.CourseDirectory.source_directory).is_absolute()
    assert made.CourseDirectory.release_directory == str(tmp_path.resolve() / "release")
    assert made.CourseDirectory.submitted_directory == str((tmp_path / "in").resolve())
    assert made.CourseDirectory.db_url == f"sqlite:///{tmp_path.resolve() / 'gradebook.db'}"
    assert config.cell_timeout(made) == 12
