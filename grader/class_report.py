"""The instructor's class report: one self-contained HTML page about a grading run, beside ``grades.csv``.

The page shows, per chapter, how total scores and per-exercise scores are distributed (plots), the
most frequent failure messages of each exercise with how many students hit each, the submissions
that could not be graded and why, and how the run went (sandbox mode, wall time, throughput, workers).

Everything shown that a student could have written (names, failure messages, which are the
student's own output, error messages, folder names) is escaped with :func:`html.escape`. The page
holds no JavaScript at all, and a Content-Security-Policy forbids any: only inline styles and
``data:`` images (the plots, PNG files rendered by matplotlib's Agg renderer) are allowed. The page
loads nothing from elsewhere, so it can be mailed or archived as one file.

Failure messages are grouped by their wording with every number replaced by ``#``: "expected 3.0,
got 2.5" and "expected 3.0, got 2.75" are one failure, shown in its most frequent exact wording with
the count of other wordings. A student counts once per group of an exercise.

This module renders and writes; :func:`grader.session.grade` calls :func:`write` after the CSV.
"""

from __future__ import annotations

import base64
import html
import io
import re
import statistics
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from .files import write_text_atomically
from .results import GradingRun, SubmissionResult

#: File name of the report, in the grading folder beside ``grades.csv``.
REPORT_NAME = "class_report.html"

#: No script of any kind, nothing fetched: only inline styles and images inlined as ``data:`` URLs.
CONTENT_SECURITY_POLICY = ("default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; "
                           "form-action 'none'")

#: Failure groups shown per exercise; the others are summed up in one line.
TOP_FAILURES = 5

#: Longest text shown for one message (failure messages are already cut at ``results.MAX_MESSAGE``).
MAX_SHOWN = 1000

#: Numbers in a failure message: integers, decimals, exponents, with a sign.
_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")

#: Control characters other than tab and newline, which a browser would show as boxes or drop.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")

#: Colours of full, partial and zero scores (colour-blind safe, from ColorBrewer's Dark2).
COLOURS = {"full marks": "#1b9e77", "partial": "#e6ab02", "zero": "#d95f02"}

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5em auto; max-width: 62em; padding: 0 1em; color: #222; }
table { border-collapse: collapse; margin: 0.6em 0 1.2em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
td.number, th.number { text-align: right; }
.message { white-space: pre-wrap; overflow-wrap: anywhere; font-family: ui-monospace, monospace; font-size: 0.9em; }
.warning { color: #a40000; font-weight: bold; }
ul.failures { margin: 0; padding-left: 1.2em; }
img.plot { display: block; max-width: 100%; height: auto; margin: 0.5em 0; }
section.chapter { border-top: 2px solid #ddd; margin-top: 2em; }
"""


@dataclass
class FailureGroup:
    """Failure messages of one exercise that read the same once numbers are left out.

    Attributes
    ----------
    example : str
        The group's most frequent exact wording.
    students : int
        How many submissions failed the exercise with a message of the group.
    wordings : int
        How many different exact wordings the group holds.
    """

    example: str
    students: int
    wordings: int


@dataclass
class ChapterSummary:
    """The graded submissions of one chapter, in numbers.

    Attributes
    ----------
    chapter : str
        The assignment's name.
    results : list of SubmissionResult
        Its graded submissions (those that could not be graded are not among them).
    exercises : list of str
        The graded exercises' ids, in notebook order.
    points : float
        Points available.
    """

    chapter: str
    results: list[SubmissionResult]
    exercises: list[str]
    points: float

    @property
    def totals(self) -> list[float]:
        """Each graded submission's total score."""
        return [r.score for r in self.results]

    def scores(self, grade_id: str) -> list[tuple[float, float]]:
        """Return ``(score, max_score)`` of one exercise for every submission that has it."""
        return [(e.score, e.max_score) for r in self.results for e in r.exercises if e.grade_id == grade_id]


def normalise(message: str) -> str:
    """Return the wording of a failure message with every number replaced by ``#`` (the grouping key)."""
    return _NUMBER.sub("#", message.strip())


def failure_groups(results: list[SubmissionResult], grade_id: str) -> list[FailureGroup]:
    """Group the failure messages of one exercise, most frequent first.

    A submission that lost points on the exercise counts once, in the group of its message; the
    groups are ordered by how many submissions they hold, then by wording.
    """
    wordings: dict[str, Counter] = {}
    for result in results:
        for exercise in result.exercises:
            if exercise.grade_id == grade_id and not exercise.passed:
                message = exercise.message.strip() or "the test did not pass"
                wordings.setdefault(normalise(message), Counter())[message] += 1
    groups = [FailureGroup(min(counts, key=lambda text: (-counts[text], text)), sum(counts.values()), len(counts))
              for counts in wordings.values()]
    return sorted(groups, key=lambda group: (-group.students, group.example))


def summarise(run: GradingRun) -> list[ChapterSummary]:
    """Return one summary per chapter with at least one graded submission, by chapter name."""
    chapters = []
    for chapter in sorted({r.assignment for r in run.results if r.status == "graded"}):
        graded = [r for r in run.results if r.status == "graded" and r.assignment == chapter]
        exercises = list(dict.fromkeys(e.grade_id for r in graded for e in r.exercises))
        chapters.append(ChapterSummary(chapter, graded, exercises, max(r.max_score for r in graded)))
    return chapters


def is_isolated(sandbox: str) -> bool:
    """Return True when every kernel of the run was isolated, from :attr:`GradingRun.sandbox`.

    :func:`grader.sandbox.detect` starts the description of a machine without isolation with
    "NOT ISOLATED", and a run on several workers joins its workers' descriptions.
    """
    return bool(sandbox) and "NOT ISOLATED" not in sandbox


def _text(value: object, limit: int = MAX_SHOWN) -> str:
    """Escape ``value`` for HTML text or a quoted attribute, without control characters, cut at ``limit``."""
    text = _CONTROL.sub("", str(value))
    if len(text) > limit:
        text = text[:limit] + " [...]"
    return html.escape(text, quote=True)


def _number(value: float) -> str:
    """Format a score with at most two decimals and no trailing zeros (``2``, ``2.5``, ``2.38``)."""
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _png(figure) -> str:
    """Render a matplotlib figure to a ``data:`` URL of a PNG image."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90, metadata={"Software": None})
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def overview_plot(chapters: list[ChapterSummary]) -> str:
    """Plot every chapter's total scores, as a percentage of its points, as box plots; return a data URL."""
    from matplotlib.figure import Figure  # Imported here: only runs that write a report pay for it.

    figure = Figure(figsize=(8, 0.32 * len(chapters) + 1.1), layout="constrained")
    axes = figure.subplots()
    percents = [[100 * total / summary.points if summary.points else 0.0 for total in summary.totals]
                for summary in chapters]
    axes.boxplot(percents, orientation="horizontal", tick_labels=[s.chapter for s in chapters], showmeans=True,
                 meanprops={"marker": "D", "markerfacecolor": "white", "markeredgecolor": "black"})
    axes.invert_yaxis()
    axes.set_xlim(-3, 103)
    axes.set_xlabel("total score, % of the chapter's points (box: quartiles; diamond: mean)")
    axes.grid(axis="x", alpha=0.3)
    return _png(figure)


def chapter_plot(summary: ChapterSummary) -> str:
    """Plot one chapter's distribution of total scores and of each exercise's scores; return a data URL."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    figure = Figure(figsize=(9, max(2.6, 0.32 * len(summary.exercises) + 1.3)), layout="constrained")
    totals_axes, exercise_axes = figure.subplots(1, 2, width_ratios=[1, 1.2])
    counts = Counter(summary.totals)
    width = max(summary.points, 1) / 30
    totals_axes.bar(list(counts), list(counts.values()), width=width, color="#4c72b0")
    totals_axes.set_xlim(-2 * width, max(summary.points, 1) + 2 * width)
    totals_axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    totals_axes.set_xlabel(f"total score (of {_number(summary.points)})")
    totals_axes.set_ylabel("submissions")
    totals_axes.set_title("Total scores", fontsize="medium")

    kinds = {kind: [] for kind in COLOURS}
    for grade_id in summary.exercises:
        scores = summary.scores(grade_id)
        kinds["full marks"].append(sum(score >= top for score, top in scores))
        kinds["zero"].append(sum(score <= 0 < top for score, top in scores))
        kinds["partial"].append(len(scores) - kinds["full marks"][-1] - kinds["zero"][-1])
    left = [0] * len(summary.exercises)
    for kind, values in kinds.items():
        exercise_axes.barh(summary.exercises, values, left=left, color=COLOURS[kind], label=kind)
        left = [a + b for a, b in zip(left, values)]
    exercise_axes.invert_yaxis()
    exercise_axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    exercise_axes.set_xlabel("submissions")
    exercise_axes.set_title("Scores per exercise", fontsize="medium")
    exercise_axes.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize="small", frameon=False)
    return _png(figure)


def _row(cells: list[str], header: bool = False, numeric: set[int] = frozenset()) -> str:
    """Return a table row of already escaped cells; ``numeric`` gives the right-aligned columns."""
    tag = "th" if header else "td"
    numbered = ' class="number"'
    return "<tr>" + "".join(f"<{tag}{numbered if i in numeric else ''}>{cell}</{tag}>"
                            for i, cell in enumerate(cells)) + "</tr>"


def _duration(seconds: float) -> str:
    """Say how long ``seconds`` is, e.g. ``75.0 s (1 min 15 s)``."""
    minutes, rest = divmod(round(seconds), 60)
    return f"{seconds:.1f} s" + (f" ({minutes} min {rest} s)" if minutes else "")


def run_section(run: GradingRun, generated: datetime) -> str:
    """Return the section about the run: sandbox, time, throughput, workers, files."""
    errors = sum(r.status != "graded" for r in run.results)
    isolated = is_isolated(run.sandbox)
    mode = "isolated" if isolated else '<span class="warning">NOT isolated</span>'
    if run.scheduler:
        workers = f"the workers of the Dask cluster at {_text(run.scheduler)}"
    elif run.workers > 1:
        workers = f"{run.workers} local worker processes"
    else:
        workers = "1 (submissions graded one after the other in the grading process)"
    per_minute = f"{60 * len(run.results) / run.seconds:.1f}" if run.seconds > 0 else "not measured"
    graded_seconds = [r.seconds for r in run.results if r.status == "graded"]
    reference = sum(usage.get("seconds", 0.0) for usage in run.reference_usage.values())
    rows = [
        ("Sandbox", _text(run.sandbox) if isolated and run.sandbox.startswith("isolated")
         else f"{mode}: {_text(run.sandbox or 'not recorded')}"),
        ("Submissions", f"{len(run.results)} ({len(run.results) - errors} graded, {errors} could not be graded)"),
        ("Wall time of the run", _text(_duration(run.seconds)) if run.seconds > 0 else "not measured"),
        ("Throughput", f"{per_minute} submissions per minute (all submissions over the wall time of the whole "
                       "run, which includes starting the sandbox and running each chapter's solution once)"),
        ("Workers", workers),
        ("Grading one submission", (f"mean {statistics.fmean(graded_seconds):.1f} s, longest "
                                    f"{max(graded_seconds):.1f} s") if graded_seconds else "no submission was graded"),
        ("Solutions run for the reference exports", f"{reference:.1f} s in all"),
        ("Seed of the trusted checks' inputs", str(run.seed)),
        ("Gradebook", _text(run.gradebook)),
        ("Grades (CSV)", _text(run.grades_csv)),
        ("Feedback pages", _text(run.feedback)),
        ("Report written", generated.strftime("%Y-%m-%d %H:%M:%S %Z")),
    ]
    body = "\n".join(f"<tr><th>{name}</th><td>{value}</td></tr>" for name, value in rows)
    return f'<section id="run">\n<h2>The grading run</h2>\n<table id="run-facts">\n{body}\n</table>\n</section>'


def chapters_table(chapters: list[ChapterSummary], run: GradingRun) -> str:
    """Return the table of every chapter's submissions, errors, and mean, median, lowest and highest totals."""
    numeric = set(range(1, 8))
    rows = [_row(["chapter", "graded", "could not be graded", "points", "mean", "median", "lowest", "highest"],
                 header=True, numeric=numeric)]
    for summary in chapters:
        totals = summary.totals
        errors = sum(r.status != "graded" and r.assignment == summary.chapter for r in run.results)
        rows.append(_row([_text(summary.chapter), str(len(totals)), str(errors), _number(summary.points),
                          _number(statistics.fmean(totals)), _number(statistics.median(totals)),
                          _number(min(totals)), _number(max(totals))], numeric=numeric))
    return '<table id="chapters">\n' + "\n".join(rows) + "\n</table>"


def chapter_section(summary: ChapterSummary) -> str:
    """Return one chapter's section: its plot, its exercises' scores and their most frequent failures."""
    chapter = _text(summary.chapter)
    totals = summary.totals
    parts = [f'<section class="chapter" data-chapter="{chapter}">', f"<h2>Chapter {chapter}</h2>",
             f"<p>{len(totals)} graded submission(s); total score mean {_number(statistics.fmean(totals))}, "
             f"median {_number(statistics.median(totals))} of {_number(summary.points)} points.</p>",
             f'<img class="plot chapter-plot" data-chapter="{chapter}" src="{chapter_plot(summary)}" '
             f'alt="Chapter {chapter}: distribution of total scores and of each exercise\'s scores">']
    numeric = {1, 2, 3, 4, 5}
    rows = [_row(["exercise", "points", "mean", "full marks", "partial", "zero", "most frequent failures "
                  "(submissions: message)"], header=True, numeric=numeric)]
    for grade_id in summary.exercises:
        scores = summary.scores(grade_id)
        full = sum(score >= top for score, top in scores)
        zero = sum(score <= 0 < top for score, top in scores)
        groups = failure_groups(summary.results, grade_id)
        shown = []
        for group in groups[:TOP_FAILURES]:
            variants = f" ({group.wordings} wordings)" if group.wordings > 1 else ""
            shown.append(f'<li><b>{group.students}</b>: <span class="message">{_text(group.example)}</span>'
                         f"{variants}</li>")
        rest = groups[TOP_FAILURES:]
        if rest:
            others = sum(group.students for group in rest)
            shown.append(f"<li>and {len(rest)} other message(s) from {others} submission(s)</li>")
        failures = f'<ul class="failures">{"".join(shown)}</ul>' if shown else "none"
        rows.append(_row([_text(grade_id), _number(max(top for _, top in scores)),
                          _number(statistics.fmean(score for score, _ in scores)), str(full),
                          str(len(scores) - full - zero), str(zero), failures], numeric=numeric))
    parts.append('<table class="exercises">\n' + "\n".join(rows) + "\n</table>")
    parts.append("</section>")
    return "\n".join(parts)


def errors_section(run: GradingRun) -> str:
    """Return the section listing the submissions that could not be graded, and why."""
    failed = [r for r in run.results if r.status != "graded"]
    if not failed:
        return '<section id="errors">\n<h2>Submissions that could not be graded</h2>\n' \
               "<p>None: every submission was graded.</p>\n</section>"
    rows = [_row(["student", "chapter", "why"], header=True)]
    rows += [_row([_text(r.student), _text(r.assignment), f'<span class="message">{_text(r.message)}</span>'])
             for r in sorted(failed, key=lambda r: (r.assignment, r.student))]
    return ('<section id="errors">\n<h2>Submissions that could not be graded</h2>\n'
            f"<p>{len(failed)} submission(s) could not be graded; <code>grades.csv</code> gives them 0 points.</p>\n"
            '<table id="error-list">\n' + "\n".join(rows) + "\n</table>\n</section>")


def render(run: GradingRun, generated: datetime | None = None) -> str:
    """Return the class report of ``run`` as one self-contained HTML page.

    Parameters
    ----------
    run : GradingRun
        The run; its ``seconds``, ``workers`` and ``scheduler`` describe how it went.
    generated : datetime, optional
        When the report is written (now, in UTC, by default).
    """
    generated = generated or datetime.now(timezone.utc)
    chapters = summarise(run)
    parts = [run_section(run, generated)]
    if not run.results:
        parts.append('<p id="no-results">No submissions were found in this run, so there are no scores to show.</p>')
    elif not chapters:
        parts.append('<p id="no-results">No submission could be graded in this run, so there are no scores '
                     "to show; the reasons are listed below.</p>")
    else:
        parts.append('<section id="overview">\n<h2>Scores per chapter</h2>\n'
                     "<p>Mean and median are over the graded submissions; those that could not be graded are "
                     "listed at the end of the page.</p>\n" + chapters_table(chapters, run) +
                     f'\n<img class="plot" id="plot-overview" src="{overview_plot(chapters)}" '
                     'alt="Total scores of every chapter, as a percentage of its points">\n</section>')
        parts.append("<p>Failure messages are the students' own output. Messages that differ only in their "
                     "numbers count as one, shown in their most frequent wording.</p>")
        parts.extend(chapter_section(summary) for summary in chapters)
    parts.append(errors_section(run))
    body = "\n".join(parts)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{CONTENT_SECURITY_POLICY}">
<meta name="referrer" content="no-referrer">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Class report</title>
<style>{_STYLE}</style>
</head>
<body>
<h1>Class report</h1>
{body}
</body>
</html>
"""


def write(run: GradingRun, path: Path | None = None) -> Path:
    """Write the class report of ``run`` (beside its ``grades.csv`` by default) and return its path.

    The page is written to a temporary file in the same folder and then renamed, so that a reader
    never sees half a page and a failed write leaves any earlier report as it was.

    Raises
    ------
    OSError
        When the folder cannot be written.
    """
    path = Path(path) if path is not None else Path(run.grades_csv).parent / REPORT_NAME
    write_text_atomically(path, render(run))
    return path.resolve()
