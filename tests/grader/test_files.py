"""Tests for grader.files: a file is replaced whole or not at all."""

import stat

import pytest

from grader import files


def test_the_file_is_written_and_replaced_with_ordinary_permissions(tmp_path):
    path = tmp_path / "record.json"
    files.write_text_atomically(path, "first\n")
    files.write_text_atomically(path, "second\n")
    assert path.read_text() == "second\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert sorted(p.name for p in tmp_path.iterdir()) == ["record.json"]


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary_file(tmp_path, monkeypatch):
    path = tmp_path / "record.json"
    path.write_text("old\n")

    def refuse(source, target):
        raise OSError("disk full")

    monkeypatch.setattr(files.os, "replace", refuse)
    with pytest.raises(OSError, match="disk full"):
        files.write_text_atomically(path, "new\n")
    assert path.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["record.json"]
