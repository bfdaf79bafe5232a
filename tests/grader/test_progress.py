"""Tests for grader.progress and the commands that use it: `tfcourse check` records, `tfcourse progress` shows."""

import json
import shutil
from datetime import datetime, timezone

import pytest

from grader import progress
from grader.cli import main

MORNING = datetime(2026, 12, 1, 9, 30, tzinfo=timezone.utc)
EVENING = datetime(2026, 12, 1, 19, 45, tzinfo=timezone.utc)


@pytest.fixture
def course(tmp_path):
    """A learner's course folder with three chapters and no check yet."""
    for chapter in ("01_tensors", "02_regression", "03_neural_networks"):
        (tmp_path / "course" / chapter).mkdir(parents=True)
        (tmp_path / "course" / chapter / f"{chapter}.ipynb").write_text("{}")
    return tmp_path / "course"


@pytest.fixture
def damaged_course(course):
    """A course folder whose progress file was cut short."""
    progress.progress_file(course).write_text('{"version": 1, "chapters": {"01_tens')
    return course


@pytest.fixture
def mini_course(tmp_path, fixtures):
    """The fixture chapter ``mini``, untouched, in a learner's course folder."""
    folder = tmp_path / "course" / "mini"
    folder.mkdir(parents=True)
    shutil.copyfile(fixtures / "submissions" / "untouched.ipynb", folder / "mini.ipynb")
    return tmp_path / "course"


def test_record_then_read(course):
    assert progress.record(course, "01_tensors", 12, 15, MORNING) == []
    assert progress.record(course, "02_regression", 3, 14, EVENING) == []
    found = progress.read(course)
    assert found.problem == ""
    assert found.chapters == {
        "01_tensors": progress.ChapterProgress("01_tensors", 12.0, 15.0, MORNING),
        "02_regression": progress.ChapterProgress("02_regression", 3.0, 14.0, EVENING)}
    assert found.chapters["01_tensors"].percent == 80.0
    # Written atomically: no temporary file is left beside the record.
    assert sorted(p.name for p in course.iterdir() if p.is_file()) == [progress.PROGRESS_FILENAME]


def test_a_later_check_replaces_the_chapters_record(course):
    progress.record(course, "01_tensors", 4, 15, MORNING)
    progress.record(course, "01_tensors", 15, 15, EVENING)
    assert progress.read(course).chapters["01_tensors"] == progress.ChapterProgress("01_tensors", 15, 15, EVENING)


def test_no_file_is_no_progress_yet(course):
    assert progress.read(course) == progress.Progress({})


def test_a_damaged_file_is_reported_kept_and_replaced(damaged_course):
    damaged = progress.progress_file(damaged_course).read_text()
    assert "is damaged" in progress.read(damaged_course).problem
    problems = progress.record(damaged_course, "02_regression", 7, 14, EVENING)
    assert len(problems) == 2 and "is damaged (Unterminated string" in problems[0]
    kept = damaged_course / f"{progress.PROGRESS_FILENAME}.damaged"
    assert f"it was kept as {kept}" in problems[1]
    assert kept.read_text() == damaged
    assert progress.read(damaged_course).chapters == {
        "02_regression": progress.ChapterProgress("02_regression", 7, 14, EVENING)}
    # A second damaged file is kept under a new name, never over the first copy.
    progress.progress_file(damaged_course).write_text("[]")
    assert "kept as" in progress.record(damaged_course, "01_tensors", 1, 15, MORNING)[1]
    assert kept.read_text() == damaged
    assert (damaged_course / f"{progress.PROGRESS_FILENAME}.damaged-2").read_text() == "[]"


def test_an_entry_of_the_wrong_shape_makes_the_file_damaged(course):
    progress.progress_file(course).write_text(json.dumps(
        {"version": 1, "chapters": {"01_tensors": {"score": "twelve", "max_score": 15,
                                                   "checked_at": MORNING.isoformat()}}}))
    assert "the entry of chapter '01_tensors' is not a score" in progress.read(course).problem
    progress.progress_file(course).write_text(json.dumps(
        {"chapters": {"01_tensors": {"score": 1, "max_score": 15, "checked_at": "2026-12-01T09:30:00"}}}))
    assert "has no time zone" in progress.read(course).problem


def test_a_folder_that_cannot_be_written_is_reported_not_raised(tmp_path):
    problems = progress.record(tmp_path / "no-such-course", "01_tensors", 1, 2, MORNING)
    assert len(problems) == 1 and "could not be recorded in" in problems[0]


def test_the_table_lists_every_chapter_checked_or_not(course):
    progress.record(course, "02_regression", 7, 14, EVENING)
    lines = progress.format_progress(course).splitlines()
    assert [line.split()[0] for line in lines[2:5]] == ["01_tensors", "02_regression", "03_neural_networks"]
    assert lines[2].endswith("not checked yet") and lines[4].endswith("not checked yet")
    assert lines[3].split()[1:5] == ["7", "/", "14", "50%"]
    assert lines[3].endswith(progress.local_time(EVENING))
    assert lines[-1] == "1 of 3 chapter(s) checked; 7 of 14 points in those."


def test_progress_command_prints_every_chapter(course, capsys):
    progress.record(course, "01_tensors", 15, 15, MORNING)
    assert main(["progress", str(course)]) == 0
    out = capsys.readouterr().out
    assert f"Progress in {course}:" in out
    assert "01_tensors" in out and "100%" in out and out.count("not checked yet") == 2


def test_progress_command_warns_of_a_damaged_file(damaged_course, capsys):
    assert main(["progress", str(damaged_course)]) == 0
    printed = capsys.readouterr()
    assert "is damaged" in printed.err and "the next 'tfcourse check' replaces it" in printed.err
    assert printed.out.count("not checked yet") == 3


def test_progress_command_refuses_a_missing_folder(tmp_path, capsys):
    assert main(["progress", str(tmp_path / "nowhere")]) == 2
    assert "is not a folder" in capsys.readouterr().err


def test_check_records_the_score_and_prints_json(mini_course, fixtures, capsys):
    notebook = mini_course / "mini" / "mini.ipynb"
    assert main(["check", "--json", str(notebook), "--source", str(fixtures / "source")]) == 0
    out = capsys.readouterr().out
    assert len(out.splitlines()) == 1, "with --json, standard output is one JSON line"
    outcome = json.loads(out)
    assert (outcome["status"], outcome["chapter"], outcome["score"], outcome["max_score"]) == ("graded", "mini", 0, 5)
    assert [(e["grade_id"], e["passed"]) for e in outcome["exercises"]] == [("ex1_test", False), ("ex2_test", False)]
    assert "NotImplementedError" in outcome["exercises"][0]["message"]
    assert outcome["table"].splitlines()[-1].split()[:4] == ["total", "0", "/", "5"]
    recorded = progress.read(mini_course).chapters["mini"]
    assert (recorded.score, recorded.max_score) == (0, 5)
    assert (datetime.now(timezone.utc) - recorded.checked_at).total_seconds() < 600


def test_check_json_reports_what_it_cannot_grade(tmp_path, capsys):
    assert main(["check", "--json", str(tmp_path / "missing.ipynb")]) == 2
    outcome = json.loads(capsys.readouterr().out)
    assert outcome["status"] == "error" and "does not exist" in outcome["message"]
    assert not progress.progress_file(tmp_path).exists()
