"""The benchmark: rows from a real grading run of the mini assignment, and the report files."""

import csv

import pytest

from grader import bench, cli
from tests.conftest import FIXTURES


def test_a_chapter_row_comes_from_grading_its_solution(tmp_path):
    row = bench.bench_chapter("mini", FIXTURES / "source", tmp_path)
    assert (row.status, row.exercises, row.points, row.score) == ("graded", 2, 5.0, 5.0)
    assert row.run_seconds > 0
    assert row.grading_seconds > 0
    # A kernel that has imported NumPy holds tens of MiB at least, and far less than the memory limit.
    assert 30 * 1024**2 < row.peak_memory_bytes < 4 * 1024**3


@pytest.mark.parametrize(("measured", "expected"), [
    ({"metric": "accuracy", "value": 0.874, "threshold": 0.8}, "accuracy 0.874 >= 0.8 (+0.074, met)"),
    ({"metric": "accuracy", "value": 0.805, "threshold": 0.8}, "accuracy 0.805 >= 0.8 (+0.005, barely)"),
    ({"metric": "accuracy", "value": 0.75, "threshold": 0.8}, "accuracy 0.750 >= 0.8 (-0.050, MISSED)"),
    ({"metric": "MAE", "value": 0.046, "threshold": 0.07, "lower_is_better": True}, "MAE 0.046 <= 0.07 (+0.024, met)"),
])
def test_margins_say_whether_a_threshold_is_met_by_a_margin(measured, expected):
    assert bench.margin_text(measured) == expected


def test_the_report_is_written_as_markdown_and_csv(tmp_path):
    rows = [bench.ChapterRow("05_cnn", 95.2, 120.0, 900 * 1024**2, 5, 12, 12,
                             {"ex5_test": {"metric": "accuracy", "value": 0.97, "threshold": 0.95}}),
            bench.ChapterRow("08_resnet", 200.0, 230.0, None, 5, 13, 10)]
    throughput = [bench.ThroughputRow(1, 4, 200.0, 40.0), bench.ThroughputRow(2, 4, 120.0, 40.0)]
    text = bench.report(rows, throughput, {"cpu": "test CPU, 2 cores"}, tmp_path / "bench" / "latest.md")
    assert "| 05_cnn | 95 | yes | 900 | 5 | 12 | 12 | 120 | 1.26x | ex5_test: accuracy 0.970 >= 0.95 (+0.020, met) |" in text
    assert "| 08_resnet | 200 | NO | ? | 5 | 13 | 10 | 230 | 1.15x | - |" in text
    assert "| 2 | 4 | 120 | 40 | 3.00 | 2.00x | 0 |" in text
    assert (tmp_path / "bench" / "latest.md").read_text() == text
    table = list(csv.reader((tmp_path / "bench" / "latest.csv").open()))
    assert table[0][0] == "chapter" and [r[0] for r in table[1:]] == ["05_cnn", "08_resnet"]
    assert list(csv.reader((tmp_path / "bench" / "latest-grading.csv").open()))[2][5] == "2.00x"


def test_a_class_is_projected_from_the_measured_rate_and_the_sessions_share():
    # 3 submissions per minute per machine; the session spends 2 s per submission (30 per minute).
    row = bench.ThroughputRow(2, 4, 120.0, 40.0, session_seconds=8.0)
    one = bench.project(row, 500, 1, reference_seconds=60.0)
    assert (round(one.minutes, 1), one.limited_by) == (round(500 / 3 + 1, 1), "the workers")
    many = bench.project(row, 500, 16, reference_seconds=60.0)
    assert (round(many.minutes, 1), many.limited_by) == (round(500 / 30 + 1, 1), "the session's merging and feedback")


def test_an_unknown_chapter_is_refused_before_anything_runs(tmp_path, capsys):
    status = cli.main(["bench", "99_nothing", "--source", str(FIXTURES / "source"),
                       "--output", str(tmp_path / "out.md")])
    assert status == 2
    assert "no chapter 99_nothing in" in capsys.readouterr().err
    assert not (tmp_path / "out.md").exists()


def test_the_class_hands_in_the_chapter_that_takes_longest_to_grade():
    rows = [bench.ThroughputRow(1, 4, 240.0, 40.0), bench.ThroughputRow(2, 4, 140.0, 40.0)]
    chapters = [bench.ChapterRow("04_keras_models", 50.0, 50.0, None, 6, 15, 15),
                bench.ChapterRow("05_regularization", 60.0, 100.0, None, 7, 15, 15)]
    lines = bench.projection_lines(rows, "04_keras_models", 40.0, chapters)
    # 2 workers grade 2.4 chapter-4 submissions a minute; chapter 5 takes twice as long: 1.2 a minute.
    assert lines[0].startswith(f"- projected, not measured: 500 submissions of 05_regularization on 1 machine(s) like "
                               f"this one with 2 worker(s) each: {500 / 1.2 + 1:.0f} minutes (from the rate measured "
                               "on 04_keras_models times 0.50")
    assert f"on 8 machine(s) like this one with 2 worker(s) each: {500 / 9.6 + 1:.0f} minutes" in lines[1]
