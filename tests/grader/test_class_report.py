"""The instructor's class report: plots, failure counts, ungradable submissions, run facts, and escaping.

Most tests build a grading run by hand, and one grades a damaged submission through ``tfcourse
grade``; the report of the shared fixture run (``graded`` in conftest.py) is read in
``test_session.py``, whose worker computes that run anyway.
"""

import base64
from html.parser import HTMLParser
from pathlib import Path

import pytest

from grader import class_report, session
from grader.cli import main
from grader.results import ExerciseResult, GradingRun, SubmissionResult
from tests.grader.test_layout import reaches

SCRIPT_MESSAGE = "<script>document.title='pwned'</script>"
IMAGE_MESSAGE = "<img src=x onerror=alert(1)>"
ISOLATED = "isolated with bubblewrap: no network, read-only system"
NOT_ISOLATED = "NOT ISOLATED: bubblewrap is not installed; kernels run with resource and time limits only"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class Page(HTMLParser):
    """An HTML page parsed as a browser would: its elements (tag and attributes) and its text."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str]]] = []
        self.text = ""
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text += data

    def find(self, tag: str, **attrs: str) -> list[dict[str, str]]:
        """Return the attributes of every ``tag`` element whose attributes include ``attrs``."""
        return [found for name, found in self.elements
                if name == tag and all(attrs[key] in found.get(key, "").split() for key in attrs)]


def exercise(grade_id: str, score: float, top: float, message: str = "") -> ExerciseResult:
    """Return an exercise result; a lost point without a message gets the grader's default one."""
    return ExerciseResult(grade_id, score, top, message if score < top else "")


def make_run(results: list[SubmissionResult], folder: Path, sandbox_description: str = ISOLATED,
             **facts) -> GradingRun:
    """Return a grading run of ``results`` whose files would be in ``folder``."""
    return GradingRun(results, folder / "gradebook.db", folder / "grades.csv", folder / "feedback",
                      sandbox_description, 7, {"mini": {"seconds": 4.0}}, **facts)


@pytest.fixture
def mixed_run(tmp_path):
    """Two chapters, failures that differ only in numbers, student output with HTML, and two ungradable submissions."""
    results = [
        SubmissionResult("ann", "mini", "graded", [exercise("ex1_test", 2, 2), exercise("ex2_test", 3, 3)], seconds=3),
        SubmissionResult("ben", "mini", "graded", [
            exercise("ex1_test", 0, 2, "AssertionError: expected 3.0, got 2.5"),
            exercise("ex2_test", 0, 3, SCRIPT_MESSAGE)], seconds=4),
        SubmissionResult("cat", "mini", "graded", [
            exercise("ex1_test", 0, 2, "AssertionError: expected 3.0, got 2.75"),
            exercise("ex2_test", 1.5, 3, IMAGE_MESSAGE)], seconds=5),
        SubmissionResult("dan", "mini", "graded", [
            exercise("ex1_test", 0, 2, "AssertionError: expected 3.0, got 2.5"),
            exercise("ex2_test", 3, 3)], seconds=6),
        SubmissionResult("eve", "02_layers", "graded", [
            exercise("ex1_test", 0, 4, "NotImplementedError: the exercise has not been answered yet")], seconds=2),
        SubmissionResult('<b onmouseover="alert(2)">mallory</b>', "mini", "error", message=IMAGE_MESSAGE),
        SubmissionResult("zoe", "99_nope", "error", message="there is no assignment '99_nope'"),
    ]
    return make_run(results, tmp_path, seconds=150.0, workers=2)


@pytest.fixture
def run_without_isolation(tmp_path):
    """One graded submission on a machine without bubblewrap."""
    results = [SubmissionResult("ann", "mini", "graded", [exercise("ex1_test", 2, 2)], seconds=1)]
    return make_run(results, tmp_path, NOT_ISOLATED, seconds=10.0)


@pytest.fixture
def empty_run(tmp_path):
    """A run that found no submissions."""
    return make_run([], tmp_path, seconds=1.0)


@pytest.fixture
def run_with_only_errors(tmp_path):
    """A run in which no submission could be graded."""
    return make_run([SubmissionResult("ann", "mini", "error", message="notebook mini.ipynb is missing")], tmp_path,
                    seconds=2.0)


@pytest.fixture
def twelve_chapter_run(tmp_path):
    """Twelve chapters of six exercises, thirty students each, with scores and failures of every kind."""
    results = []
    for chapter in range(1, 13):
        for student in range(30):
            exercises = []
            for number in range(1, 7):
                score = (student * number + chapter) % 3
                exercises.append(exercise(f"ex{number}_test", score, 2, f"AssertionError: got {student / 7:.4f}"))
            results.append(SubmissionResult(f"student{student}", f"{chapter:02d}_chapter", "graded", exercises))
    return make_run(results, tmp_path, seconds=3600.0, workers=4)


def test_failure_messages_are_grouped_by_wording_without_numbers(mixed_run):
    mini = [r for r in mixed_run.results if r.assignment == "mini"]
    groups = class_report.failure_groups(mini, "ex1_test")
    assert groups == [class_report.FailureGroup("AssertionError: expected 3.0, got 2.5", students=3, wordings=2)]
    assert class_report.normalise("shape (32, 10) is not (32, -5), loss 1.5e-3") == "shape (#, #) is not (#, #), loss #"


def test_student_output_is_shown_as_text_not_markup(mixed_run):
    html = class_report.render(mixed_run)
    page = Page(html)
    assert SCRIPT_MESSAGE in page.text and IMAGE_MESSAGE in page.text
    assert '<b onmouseover="alert(2)">mallory</b>' in page.text
    assert not page.find("script") and not page.find("b", onmouseover="alert(2)")
    assert page.find("img") == page.find("img", **{"class": "plot"}), "the only images are the plots"
    handlers = [(tag, name) for tag, attrs in page.elements for name in attrs if name.startswith("on")]
    assert handlers == []
    assert "&lt;script&gt;document.title=&#x27;pwned&#x27;&lt;/script&gt;" in html


def test_the_page_forbids_every_script(mixed_run):
    page = Page(class_report.render(mixed_run))
    policies = [attrs["content"] for attrs in page.find("meta") if attrs.get("http-equiv") == "Content-Security-Policy"]
    assert policies == [class_report.CONTENT_SECURITY_POLICY]
    assert "default-src 'none'" in policies[0] and "script-src" not in policies[0]
    assert not page.find("script") and not page.find("link") and not page.find("iframe")
    assert len(page.find("h1")) == 1


def test_plots_are_png_images_inside_the_page(mixed_run):
    page = Page(class_report.render(mixed_run))
    plots = page.find("img", **{"class": "plot"})
    assert [attrs.get("id") for attrs in plots if attrs.get("id")] == ["plot-overview"]
    assert [attrs["data-chapter"] for attrs in page.find("img", **{"class": "chapter-plot"})] == ["02_layers", "mini"]
    for attrs in plots:
        prefix = "data:image/png;base64,"
        assert attrs["src"].startswith(prefix) and attrs["alt"]
        assert base64.b64decode(attrs["src"][len(prefix):]).startswith(PNG_SIGNATURE)


def test_each_exercise_lists_its_most_frequent_failures_with_counts(mixed_run):
    page = Page(class_report.render(mixed_run))
    assert "3: AssertionError: expected 3.0, got 2.5 (2 wordings)" in page.text
    assert f"1: {SCRIPT_MESSAGE}" in page.text and f"1: {IMAGE_MESSAGE}" in page.text
    assert "1: NotImplementedError: the exercise has not been answered yet" in page.text


def test_chapters_show_their_mean_and_median(mixed_run):
    chapters = {summary.chapter: summary for summary in class_report.summarise(mixed_run)}
    assert sorted(chapters) == ["02_layers", "mini"]
    assert chapters["mini"].totals == [5, 0, 1.5, 3] and chapters["mini"].points == 5
    table = class_report.chapters_table(list(chapters.values()), mixed_run)
    cells = "".join(f'<td class="number">{value}</td>' for value in ["4", "1", "5", "2.38", "2.25", "0", "5"])
    assert f"<tr><td>mini</td>{cells}</tr>" in table


def test_ungradable_submissions_are_listed_with_the_reason(mixed_run):
    section = class_report.errors_section(mixed_run)
    page = Page(section)
    assert "2 submission(s) could not be graded" in page.text
    assert "99_nope" in page.text and "there is no assignment '99_nope'" in page.text
    assert page.text.index("mallory") < page.text.index(IMAGE_MESSAGE)
    assert not page.find("img")


def test_the_run_facts_give_mode_time_throughput_and_workers(mixed_run):
    page = Page(class_report.run_section(mixed_run, class_report.datetime(2026, 12, 5)))
    assert "Sandbox" + ISOLATED in page.text and "NOT isolated" not in page.text and "isolated: isolated" not in page.text
    assert "150.0 s (2 min 30 s)" in page.text
    assert "2.8 submissions per minute" in page.text  # 7 submissions in 2.5 minutes.
    assert "2 local worker processes" in page.text and "mean 4.0 s, longest 6.0 s" in page.text
    assert "Submissions7 (5 graded, 2 could not be graded)" in page.text


def test_a_run_without_isolation_is_flagged(run_without_isolation):
    page = Page(class_report.render(run_without_isolation))
    assert page.find("span", **{"class": "warning"}) and f"NOT isolated: {NOT_ISOLATED}" in page.text
    assert not class_report.is_isolated(f"{ISOLATED}; {NOT_ISOLATED}") and class_report.is_isolated(ISOLATED)


def test_a_run_without_submissions_says_so(empty_run):
    page = Page(class_report.render(empty_run))
    assert "No submissions were found in this run" in page.text
    assert not page.find("img") and "None: every submission was graded." in page.text


def test_a_run_where_nothing_was_graded_still_lists_why(run_with_only_errors):
    page = Page(class_report.render(run_with_only_errors))
    assert "No submission could be graded in this run" in page.text
    assert "notebook mini.ipynb is missing" in page.text and not page.find("img")


def test_twelve_chapters_fit_in_one_small_page(twelve_chapter_run):
    path = class_report.write(twelve_chapter_run)
    assert path == twelve_chapter_run.grades_csv.parent / class_report.REPORT_NAME
    assert len(Page(path.read_text(encoding="utf-8")).find("img", **{"class": "plot"})) == 13
    assert path.stat().st_size < 1024**2


def test_a_report_that_cannot_be_written_costs_no_grades(tmp_path, mixed_run):
    # A file where the grading folder should be: no user, root included, can write into it.
    (tmp_path / "not_a_folder").write_text("")
    mixed_run.grades_csv = tmp_path / "not_a_folder" / "grades.csv"
    session.write_class_report(mixed_run)
    assert mixed_run.class_report is None
    assert mixed_run.class_report_error.startswith(
        f"the class report could not be written to {tmp_path / 'not_a_folder' / class_report.REPORT_NAME}: ")


def test_the_summary_warns_when_the_report_is_missing(tmp_path, mixed_run, monkeypatch, capsys):
    mixed_run.class_report_error = "the class report could not be written to /x/class_report.html: denied"
    monkeypatch.setattr("grader.cli.grade", lambda *args: mixed_run)
    assert main(["grade", str(tmp_path), "--workdir", str(tmp_path / "w"), "--quiet"]) == 1
    captured = capsys.readouterr()
    assert captured.out.splitlines()[-1].startswith("Graded 5 of 7 submission(s); gradebook ")
    assert captured.err.strip() == ("warning: the class report could not be written to /x/class_report.html: "
                                    "denied; the grades above are saved.")


def test_the_report_does_not_depend_on_the_orchestrator():
    assert reaches("grader.class_report", "grader.session") is None
