"""Score a chapter from inside its notebook, and show the learner's progress over all chapters.

The last cell of every chapter calls :func:`score_chapter`. It never grades inside the learner's
kernel: it runs ``tfcourse check --json`` on the *saved* notebook in a separate process (the real
grader, hidden tests and sandbox included, exactly as on the command line) and shows the result as a
table in the notebook. Every string that comes from the notebook or the grader is HTML-escaped, and
each display also carries a plain-text form (the table ``tfcourse check`` prints) for terminals and
nbconvert.

When the grader itself runs the notebook (autograding, ``tfcourse check``, nbgrader's Validate), the
cell prints one line and returns: it must not grade the notebook again from inside the grading.
"""

from __future__ import annotations

import contextlib
import html
import io
import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

from IPython.display import display

#: The variable the grader sets to "1" in its kernels (``grader.sandbox.policy.GRADING_VARIABLE``).
GRADING_VARIABLE = "TFCOURSE_GRADING"

#: The variable nbgrader sets while it executes a notebook itself (Validate, autograde).
NBGRADER_VARIABLE = "NBGRADER_EXECUTION"

#: The line the cell prints instead of scoring when the grader runs the notebook.
SKIPPED_LINE = "Scoring skipped: the grader is running this notebook (run this cell yourself in JupyterLab)."

#: Seconds a check may take before it is stopped: the longest chapter, plus its first reference run.
DEFAULT_TIMEOUT = 1800

#: Seconds a stopped check gets to remove its scratch folders before it is killed.
STOP_GRACE = 30

#: The class of the score table's HTML element (the browser tests look for it).
SCORE_CLASS = "tfcourse-score"

#: The class of the progress table's HTML element.
PROGRESS_CLASS = "tfcourse-progress"

_STYLE = ("border-collapse: collapse; margin: 0.4em 0;", "padding: 2px 10px; text-align: left; "
          "border-bottom: 1px solid #ccc; vertical-align: top;")


def grading_reason(environment: dict[str, str] | None = None) -> str:
    """Say why this kernel is run by a grader ('' when a learner runs it).

    Parameters
    ----------
    environment : dict, optional
        The environment to look at (default: this process's).
    """
    environment = os.environ if environment is None else environment
    if environment.get(GRADING_VARIABLE) == "1":
        return f"{GRADING_VARIABLE}=1"
    if environment.get(NBGRADER_VARIABLE):
        return f"{NBGRADER_VARIABLE}={environment[NBGRADER_VARIABLE]}"
    return ""


def saved_note(notebook: Path, now: float | None = None) -> str:
    """Say when the notebook was last saved, and remind the learner to save before scoring.

    Parameters
    ----------
    notebook : Path
        The notebook file (it must exist).
    now : float, optional
        The current time as a POSIX timestamp (default: now).
    """
    saved = Path(notebook).stat().st_mtime
    now = time.time() if now is None else now
    minutes = max(0, int((now - saved) // 60))
    ago = "less than a minute ago" if minutes == 0 else f"{minutes} minute{'s' if minutes != 1 else ''} ago"
    when = datetime.fromtimestamp(saved).strftime("%Y-%m-%d %H:%M:%S")
    return (f"Scoring {Path(notebook).name} as last saved at {when} ({ago}). Save (Ctrl+S) before running "
            f"this cell: changes that are not saved are not scored.")


def check_command(notebook: Path) -> list[str]:
    """Return the command that scores a notebook: ``tfcourse check --json`` with this kernel's Python."""
    return [sys.executable, "-m", "grader.cli", "check", "--json", str(notebook)]


def _error(message: str) -> dict:
    """Return the outcome of a check that could not be done, in the form of ``tfcourse check --json``."""
    return {"status": "error", "message": message, "exercises": []}


def _last_lines(text: str, count: int = 5) -> str:
    """Return the last non-empty lines of a process's output, to quote in an error message."""
    lines = [line for line in text.splitlines() if line.strip()]
    return "\n".join(lines[-count:])


def parse_check_output(returncode: int, stdout: str, stderr: str) -> dict:
    """Turn what ``tfcourse check --json`` printed into its outcome, or into an error that says what happened.

    The outcome is the last line of standard output that holds a JSON object.
    """
    for line in reversed(stdout.splitlines()):
        if line.startswith("{"):
            try:
                data = json.loads(line)
            except json.JSONDecodeError:
                break
            if isinstance(data, dict) and data.get("status") in ("graded", "error"):
                return data
            break
    details = _last_lines(stderr) or _last_lines(stdout) or "it printed nothing"
    return _error(f"the grader stopped without a result (exit status {returncode}): {details}")


def run_check(notebook: Path, timeout: float = DEFAULT_TIMEOUT) -> dict:
    """Score a saved notebook with ``tfcourse check --json`` in a separate process and return its outcome.

    Never raises for the check itself: a grader failure, a timeout or an interruption comes back as
    ``{"status": "error", "message": ...}``.

    Parameters
    ----------
    notebook : Path
        The saved notebook.
    timeout : float
        Seconds the whole check may take; it is then stopped.
    """
    notebook = Path(notebook).resolve()
    try:
        process = subprocess.Popen(check_command(notebook), cwd=notebook.parent, stdin=subprocess.DEVNULL,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, encoding="utf-8",
                                   errors="replace", start_new_session=True)
    except OSError as error:
        return _error(f"the grader could not be started ({error})")
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except (subprocess.TimeoutExpired, KeyboardInterrupt) as error:
        _stop(process)
        if isinstance(error, KeyboardInterrupt):
            return _error("the check was interrupted before it finished")
        return _error(f"the check did not finish within {timeout:g} s and was stopped; "
                      f"run 'tfcourse check {notebook}' in a terminal to see how far it gets")
    return parse_check_output(process.returncode, stdout, stderr)


def _signal(process: subprocess.Popen, number: int) -> None:
    """Send a signal to a check's process group (to the process alone where there are no process groups)."""
    with contextlib.suppress(ProcessLookupError):
        if hasattr(os, "killpg"):
            os.killpg(process.pid, number)
        else:
            process.send_signal(number)


def _stop(process: subprocess.Popen) -> None:
    """Stop a check: ask it to end (it then removes its scratch folders and kernels), kill it if it does not."""
    _signal(process, signal.SIGTERM)
    try:
        process.communicate(timeout=STOP_GRACE)
    except subprocess.TimeoutExpired:
        _signal(process, getattr(signal, "SIGKILL", signal.SIGTERM))
        process.communicate()


def _cell(text: str, header: bool = False, style: str = "") -> str:
    """Return one table cell holding ``text`` (already escaped), a header cell when ``header`` is true."""
    tag = "th" if header else "td"
    return f'<{tag} style="{_STYLE[1]}{style}">{text}</{tag}>'


class ScoreView:
    """The score of one check, shown as an HTML table in JupyterLab and as ``tfcourse check``'s table elsewhere.

    Parameters
    ----------
    outcome : dict
        What ``tfcourse check --json`` printed (see ``grader.selfcheck.result_data``), or an error.
    note : str
        A line shown above the table (when the notebook was saved).
    """

    def __init__(self, outcome: dict, note: str = ""):
        self.outcome = outcome
        self.note = note

    @property
    def graded(self) -> bool:
        """True when the check produced scores."""
        return self.outcome.get("status") == "graded"

    def _footer(self) -> str:
        return (f"Scored in {float(self.outcome.get('seconds', 0)):.0f} s by executing the saved notebook with "
                f"the hidden tests, as 'tfcourse check' does.")

    def text(self) -> str:
        """Return the plain-text form: the note, then the table of ``tfcourse check`` (or the error)."""
        lines = [self.note] if self.note else []
        if not self.graded:
            lines.append(f"Could not score the notebook: {self.outcome.get('message', '')}")
            return "\n".join(lines)
        lines.append(str(self.outcome.get("table", "")))
        lines.extend(f"Note from the grader: {note}" for note in self.outcome.get("notes", []))
        lines.extend(f"Progress: {problem}." for problem in self.outcome.get("progress_problems", []))
        lines.append(self._footer())
        return "\n".join(lines)

    def html(self) -> str:
        """Return the HTML form; every string from the notebook or the grader is escaped."""
        escape = html.escape
        parts = [f'<p style="margin: 0.2em 0;"><em>{escape(self.note)}</em></p>'] if self.note else []
        if not self.graded:
            parts.append(f'<div class="{SCORE_CLASS}-error" style="padding: 6px 10px; border-left: 4px solid '
                         f'#c62828; background: #fdecea;"><strong>Could not score the notebook:</strong> '
                         f'{escape(str(self.outcome.get("message", "")))}</div>')
            return "\n".join(parts)
        rows = []
        for exercise in self.outcome.get("exercises", []):
            passed = bool(exercise.get("passed"))
            verdict = ("&#10003; passed" if passed else escape(str(exercise.get("message", "")))
                       or "the test did not pass")
            colour = "color: #2e7d32;" if passed else "color: #c62828;"
            rows.append("<tr>" + _cell(escape(str(exercise.get("grade_id", "")))) +
                        _cell(f"{float(exercise.get('score', 0)):g} / {float(exercise.get('max_score', 0)):g}") +
                        _cell(verdict, style=colour) + "</tr>")
        total = (f"{float(self.outcome.get('score', 0)):g} / {float(self.outcome.get('max_score', 0)):g}")
        caption = f"Chapter {escape(str(self.outcome.get('chapter', '')))}: {total} points"
        parts.append(
            f'<table class="{SCORE_CLASS}" style="{_STYLE[0]}">'
            f'<caption style="text-align: left; font-weight: bold;">{caption}</caption>'
            f"<thead><tr>{_cell('exercise', True)}{_cell('points', True)}{_cell('result: what to fix', True)}"
            f"</tr></thead><tbody>{''.join(rows)}</tbody>"
            f"<tfoot><tr>{_cell('<strong>total</strong>')}{_cell(f'<strong>{total}</strong>')}{_cell('')}</tr>"
            f"</tfoot></table>")
        for note in self.outcome.get("notes", []):
            parts.append(f"<p>Note from the grader: {escape(str(note))}</p>")
        for problem in self.outcome.get("progress_problems", []):
            parts.append(f"<p>Progress: {escape(str(problem))}.</p>")
        parts.append(f"<p><small>{escape(self._footer())}</small></p>")
        return "\n".join(parts)

    def _repr_html_(self) -> str:
        return self.html()

    def __repr__(self) -> str:
        return self.text()


class MessageView:
    """A one-line message shown in the score cell, as HTML and as text."""

    def __init__(self, message: str):
        self.message = message

    def _repr_html_(self) -> str:
        return f'<p class="{SCORE_CLASS}-status"><em>{html.escape(self.message)}</em></p>'

    def __repr__(self) -> str:
        return self.message


class ProgressView:
    """The learner's progress over all chapters, as an HTML table and as ``tfcourse progress``'s table.

    Parameters
    ----------
    course_dir : Path
        The learner's course folder.
    """

    def __init__(self, course_dir: Path):
        from grader import progress

        self.course_dir = Path(course_dir)
        self.progress = progress.read(self.course_dir)
        self.rows = progress.rows(self.course_dir, self.progress)
        self.table = progress.format_progress(self.course_dir, self.progress)
        self._local_time = progress.local_time

    def _problem(self) -> str:
        if not self.progress.problem:
            return ""
        return f"{self.progress.problem}; the next check replaces it (keeping a copy)"

    def text(self) -> str:
        """Return the plain-text form (``tfcourse progress``'s table)."""
        problem = self._problem()
        return "\n".join(([f"Progress: {problem}."] if problem else []) + ["Your progress:", self.table])

    def html(self) -> str:
        """Return the HTML form; chapter names and the file's problems are escaped."""
        escape = html.escape
        rows = []
        for name, entry in self.rows:
            if entry is None:
                cells = _cell(escape(name)) + _cell("") + _cell("") + _cell("not checked yet", style="color: #777;")
            else:
                cells = (_cell(escape(name)) + _cell(f"{entry.score:g} / {entry.max_score:g}") +
                         _cell(f"{entry.percent:.0f}%") + _cell(escape(self._local_time(entry.checked_at))))
            rows.append(f"<tr>{cells}</tr>")
        problem = self._problem()
        head = f"<p>Progress: {escape(problem)}.</p>" if problem else ""
        return (f'{head}<table class="{PROGRESS_CLASS}" style="{_STYLE[0]}">'
                f'<caption style="text-align: left; font-weight: bold;">Your progress</caption>'
                f"<thead><tr>{_cell('chapter', True)}{_cell('score', True)}{_cell('%', True)}"
                f"{_cell('last check', True)}</tr></thead><tbody>{''.join(rows)}</tbody></table>")

    def chart_png(self) -> bytes:
        """Return a bar chart of the percent scored per chapter as PNG bytes (unchecked chapters have no bar)."""
        from matplotlib.figure import Figure

        names = [name for name, _ in self.rows]
        percents = [entry.percent if entry else 0.0 for _, entry in self.rows]
        figure = Figure(figsize=(max(4.0, 0.55 * len(names) + 1.5), 2.6), dpi=90)
        axes = figure.subplots()
        bars = axes.bar(range(len(names)), percents, color=["#2e7d32" if p >= 100 else "#1f77b4" for p in percents])
        for bar, (_, entry) in zip(bars, self.rows):
            label = f"{entry.percent:.0f}%" if entry else "-"
            axes.annotate(label, (bar.get_x() + bar.get_width() / 2, bar.get_height()), ha="center", va="bottom",
                          fontsize=7, xytext=(0, 1), textcoords="offset points")
        axes.set_xticks(range(len(names)), [name.split("_")[0] for name in names], fontsize=8)
        axes.set_ylim(0, 110)
        axes.set_ylabel("% of points")
        axes.set_xlabel("chapter ('-': not checked yet)")
        axes.set_title("Score of your last check, per chapter", fontsize=9)
        figure.tight_layout()
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
        return buffer.getvalue()

    def _repr_html_(self) -> str:
        return self.html()

    def __repr__(self) -> str:
        return self.text()


class ChartView:
    """The progress chart: a PNG image in JupyterLab, one line of text elsewhere (the table says it all)."""

    def __init__(self, png: bytes):
        self.png = png

    def _repr_png_(self) -> bytes:
        return self.png

    def __repr__(self) -> str:
        return "(A bar chart of the percent scored per chapter is shown here in JupyterLab.)"


def show_progress(course_dir: str | Path = "..") -> ProgressView:
    """Show the progress over all chapters (table and bar chart) of a course folder.

    Parameters
    ----------
    course_dir : str or Path
        The course folder, holding the chapter folders (default: the parent of the notebook's
        folder, which is the kernel's working folder in JupyterLab).

    Returns
    -------
    ProgressView
        What was shown.
    """
    view = ProgressView(Path(course_dir).resolve())
    display(view)
    if view.rows:
        display(ChartView(view.chart_png()))
    return view


def score_chapter(notebook: str | Path, timeout: float = DEFAULT_TIMEOUT, progress: bool = True) -> None:
    """Score the saved notebook as ``tfcourse check`` does, show the table, then the progress over all chapters.

    Parameters
    ----------
    notebook : str or Path
        The chapter's notebook file, relative to the kernel's working folder (the notebook's folder
        in JupyterLab), e.g. ``"01_tensors.ipynb"``.
    timeout : float
        Seconds the check may take before it is stopped.
    progress : bool
        Show the progress table and chart after the score.
    """
    reason = grading_reason()
    if reason:
        print(SKIPPED_LINE)
        return
    path = Path(notebook).resolve()
    if not path.is_file():
        display(ScoreView(_error(
            f"{path} was not found. Save the notebook (Ctrl+S) under its chapter's name in its chapter folder, "
            f"and run this cell from the notebook itself (the kernel's working folder is {Path.cwd()})")))
        return
    note = saved_note(path)
    handle = display(MessageView(f"{note} Scoring runs every cell of the saved notebook in a separate process "
                                 f"(up to a few minutes; the first check of a chapter also runs the solution once)."),
                     display_id=True)
    view = ScoreView(run_check(path, timeout=timeout), note)
    if handle is not None:
        handle.update(view)
    else:
        display(view)
    if progress and view.graded:
        show_progress(path.parent.parent)
