"""Tests for grader.paths."""

import pytest

from grader import paths


def test_course_root_from_a_subfolder(repo):
    assert paths.course_root(repo / "course" / "01_tensors") == repo


def test_course_root_falls_back_to_the_installed_clone(tmp_path, repo):
    assert paths.course_root(tmp_path) == repo


def test_assignments_lists_folders_with_notebooks(tmp_path):
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "b.ipynb").write_text("{}")
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "a.ipynb").write_text("{}")
    (tmp_path / "empty").mkdir()
    assert paths.assignments(tmp_path) == ["a", "b"]
    with pytest.raises(FileNotFoundError, match="does not exist"):
        paths.assignments(tmp_path / "missing")
