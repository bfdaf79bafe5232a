"""Tests for the tfcourse command line."""

import shutil

import nbformat

from grader import class_report
from grader.cli import main
from tests.grader.conftest import require_cap
from tests.grader.test_class_report import Page


def test_format_check_and_fix(tmp_path, capsys):
    path = tmp_path / "a.ipynb"
    notebook = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("1")
    cell.execution_count = 1
    notebook.cells.append(cell)
    nbformat.write(notebook, path)
    assert main(["format", "--check", str(tmp_path)]) == 1
    assert f"not canonical: {path}" in capsys.readouterr().out
    assert main(["format", str(tmp_path)]) == 0
    assert main(["format", "--check", str(tmp_path)]) == 0


def test_format_reports_a_damaged_notebook(tmp_path, capsys):
    (tmp_path / "bad.ipynb").write_text("{")
    assert main(["format", str(tmp_path)]) == 2
    assert "is not valid JSON" in capsys.readouterr().err


def test_build_and_build_check(tmp_path, fixtures, capsys):
    release = tmp_path / "course"
    args = ["--source", str(fixtures / "source"), "--release", str(release)]
    assert main(["build", "--check", *args]) == 1
    assert "does not exist" in capsys.readouterr().err
    assert main(["build", *args]) == 0
    assert "Built 1 chapter(s)" in capsys.readouterr().out
    assert main(["build", "--check", *args]) == 0


def test_check_prints_the_score_table(tmp_path, fixtures, capsys):
    folder = tmp_path / "mini"
    folder.mkdir()
    shutil.copyfile(fixtures / "submissions" / "untouched.ipynb", folder / "mini.ipynb")
    assert main(["check", str(folder / "mini.ipynb"), "--source", str(fixtures / "source")]) == 0
    out = capsys.readouterr().out
    assert "ex1_test     0 / 2    NotImplementedError" in out
    assert out.splitlines()[-3].split()[:4] == ["total", "0", "/", "5"]


def test_check_prints_the_graders_notes(tmp_path, fixtures, capsys):
    folder = tmp_path / "mini"
    folder.mkdir()
    shutil.copyfile(fixtures / "submissions" / "pasted_test_cell.ipynb", folder / "mini.ipynb")
    assert main(["check", str(folder / "mini.ipynb"), "--source", str(fixtures / "source")]) == 0
    out = capsys.readouterr().out
    assert "Note from the grader: a copy of test cell `ex1_test` counts as an ordinary cell" in out
    assert out.splitlines()[-4].split()[:4] == ["total", "5", "/", "5"]


def test_grade_takes_the_caps_on_files(tmp_path, fixtures, capsys):
    require_cap("tmp")
    folder = tmp_path / "submitted" / "alice" / "mini"
    folder.mkdir(parents=True)
    shutil.copyfile(fixtures / "submissions" / "reference_solution.ipynb", folder / "mini.ipynb")
    code = main(["grade", str(tmp_path / "submitted"), "--workdir", str(tmp_path / "w"), "--source",
                 str(fixtures / "source"), "--quiet", "--no-feedback", "--tmp-limit", "0.25", "--disk-limit", "0.5"])
    out = capsys.readouterr().out
    assert code == 0 and "/tmp 256 MiB" in out


def test_check_of_a_missing_notebook_fails_with_a_message(tmp_path, capsys):
    assert main(["check", str(tmp_path / "missing.ipynb")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_grade_of_a_missing_folder_fails_with_a_message(tmp_path, capsys):
    assert main(["grade", str(tmp_path / "nothing"), "--workdir", str(tmp_path / "w")]) == 2
    assert "submissions folder" in capsys.readouterr().err


def test_grade_exit_status_reports_errors(tmp_path, fixtures, capsys):
    folder = tmp_path / "submitted" / "bob" / "mini"
    folder.mkdir(parents=True)
    shutil.copyfile(fixtures / "submissions" / "invalid_json.ipynb", folder / "mini.ipynb")
    code = main(["grade", str(tmp_path / "submitted"), "--workdir", str(tmp_path / "w"),
                 "--source", str(fixtures / "source"), "--quiet"])
    out = capsys.readouterr().out
    assert code == 1
    assert "Graded 0 of 1 submission(s)" in out and "ERROR:" in out
    # The last line names the class report, which lists the submission that could not be graded.
    report = (tmp_path / "w" / class_report.REPORT_NAME).resolve()
    assert out.splitlines()[-1] == f"Class report: {report.as_uri()}"
    page = Page(report.read_text(encoding="utf-8"))
    assert "mini.ipynb: is not valid JSON" in page.text and "No submission could be graded" in page.text


def test_build_keeps_a_learners_work_without_force(tmp_path, fixtures, capsys):
    release = tmp_path / "course"
    args = ["--source", str(fixtures / "source"), "--release", str(release)]
    assert main(["build", *args]) == 0
    shutil.copyfile(fixtures / "submissions" / "infinite_loop.ipynb", release / "mini" / "mini.ipynb")
    capsys.readouterr()
    assert main(["build", *args]) == 2
    assert "building would overwrite work" in capsys.readouterr().err
    assert main(["build", "--force", *args]) == 0
