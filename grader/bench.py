"""The course benchmark: every chapter's solution through the real grader, in one table.

For each chapter, ``tfcourse bench`` grades the solution notebook as a submission, with the same
sandboxed grader and trusted checks instructors use, and records:

- the run time of the solution (the grader's reference run: the whole notebook, kernel start-up
  included) against the course's target of :data:`TARGET_SECONDS`;
- the peak memory of the kernel;
- the number of exercises and points, and the score (full marks expected);
- what each trusted model check measured on the grader's held-out data, against its threshold;
- the device the kernel used, and the grading time of the submission.

It can also measure grading throughput: the same chapter submitted several times, graded with 1
and then with 2 local workers (:mod:`grader.workers`).

The tables are printed and written as Markdown and CSV, so that runs can be compared between
versions of the course.
"""

from __future__ import annotations

import csv
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from . import sandbox
from .options import GradingOptions
from .session import grade

#: Each chapter should run in under this many seconds on 2 CPU cores.
TARGET_SECONDS = 180

#: A measured value closer to its threshold than this (relative) is flagged as "barely".
MARGIN = 0.02

#: Seed of the trusted checks' inputs, so that benchmark runs are repeatable.
SEED = 20261123


@dataclass
class ChapterRow:
    """One chapter's line of the benchmark table."""

    chapter: str
    run_seconds: float | None
    grading_seconds: float
    peak_memory_bytes: int | None
    exercises: int
    points: float
    score: float
    measurements: dict[str, dict] = field(default_factory=dict)
    status: str = "graded"
    message: str = ""

    @property
    def within_target(self) -> bool:
        """True when the solution ran in under :data:`TARGET_SECONDS`."""
        return self.run_seconds is not None and self.run_seconds < TARGET_SECONDS


@dataclass
class ThroughputRow:
    """Grading throughput with a number of workers.

    ``session_seconds`` is the time the session itself spent per run on the workers' outcomes
    (merging scores, writing feedback pages): work that one coordinator does for every machine.
    """

    workers: int
    submissions: int
    seconds: float
    reference_seconds: float
    session_seconds: float = 0.0

    @property
    def per_minute(self) -> float:
        """Submissions graded per minute, not counting the run's one reference run of the solution."""
        return 60.0 * self.submissions / max(self.seconds - self.reference_seconds, 1e-9)


@dataclass
class Projection:
    """How long a class would take to grade, projected from a measured throughput row (not measured itself)."""

    submissions: int
    machines: int
    workers_per_machine: int
    minutes: float
    limited_by: str


def project(row: ThroughputRow, submissions: int, machines: int, reference_seconds: float) -> Projection:
    """Project the time to grade ``submissions`` on ``machines`` machines like this one, each with ``row.workers`` workers.

    The machines grade at ``machines`` times the measured rate, unless the one session that merges
    every outcome and writes every feedback page cannot keep up (its measured seconds per
    submission); the solution runs once for the reference. Moving a task's files over the network
    is not counted.
    """
    workers_rate = machines * row.per_minute
    per_submission = row.session_seconds / max(row.submissions, 1)
    session_rate = 60.0 / per_submission if per_submission > 0 else float("inf")
    rate = min(workers_rate, session_rate)
    limited_by = "the workers" if workers_rate <= session_rate else "the session's merging and feedback"
    return Projection(submissions, machines, row.workers, submissions / rate + reference_seconds / 60.0, limited_by)


def margin_text(measured: dict) -> str:
    """Describe a measurement against its threshold, e.g. ``accuracy 0.874 >= 0.80 (+0.074)``."""
    value, threshold = measured["value"], measured["threshold"]
    lower = measured.get("lower_is_better", False)
    margin = threshold - value if lower else value - threshold
    verdict = "MISSED" if margin < 0 else ("barely" if abs(margin) < MARGIN * max(abs(threshold), 1e-9) else "met")
    sign = "<=" if lower else ">="
    return f"{measured['metric']} {value:.3f} {sign} {threshold:.3g} ({margin:+.3f}, {verdict})"


def copy_chapter(origin: Path, chapter: str, submitted: Path, student: str) -> None:
    """Copy a chapter's notebooks as ``student``'s submission."""
    folder = submitted / student / chapter
    folder.mkdir(parents=True)
    for notebook in sorted((origin / chapter).glob("*.ipynb")):
        shutil.copyfile(notebook, folder / notebook.name)


def bench_chapter(chapter: str, source: Path, scratch: Path, timeout: int | None = None) -> ChapterRow:
    """Grade the solution of ``chapter`` as a submission and return its row."""
    work = Path(tempfile.mkdtemp(prefix=f"bench-{chapter}-", dir=scratch))
    copy_chapter(source, chapter, work / "submitted", "solution")
    run = grade(work / "submitted", work / "grading", source,
                GradingOptions(timeout=timeout, feedback=False, progress=False, seed=SEED))
    result = run.results[0]
    reference = run.reference_usage.get(chapter, {})
    row = ChapterRow(chapter, reference.get("seconds"), result.seconds, reference.get("peak_memory_bytes"),
                     len(result.exercises), result.max_score, result.score, dict(result.measurements),
                     result.status, result.message)
    if row.run_seconds is None:
        # A chapter without trusted checks has no reference run: its grading run is the closest figure.
        row.run_seconds = result.seconds
    shutil.rmtree(work, ignore_errors=True)
    return row


def bench_throughput(chapter: str, source: Path, release: Path, scratch: Path, submissions: int,
                     workers: list[int], timeout: int | None = None) -> list[ThroughputRow]:
    """Grade ``submissions`` copies of a chapter (solutions and untouched releases, alternating)."""
    rows = []
    for count in workers:
        work = Path(tempfile.mkdtemp(prefix=f"throughput-{count}-", dir=scratch))
        for index in range(submissions):
            origin = source if index % 2 == 0 else release
            copy_chapter(origin, chapter, work / "submitted", f"student{index:03d}")
        started = time.perf_counter()
        run = grade(work / "submitted", work / "grading", source,
                    GradingOptions(timeout=timeout, feedback=True, progress=False, seed=SEED, workers=count))
        seconds = time.perf_counter() - started
        failed = [r for r in run.results if r.status != "graded"]
        if failed:
            raise RuntimeError(f"throughput run with {count} worker(s): {failed[0].student}: {failed[0].message}")
        rows.append(ThroughputRow(count, submissions, seconds, run.reference_usage.get(chapter, {}).get("seconds", 0.0),
                                  run.session_seconds))
        shutil.rmtree(work, ignore_errors=True)
    return rows


def machine() -> dict[str, str]:
    """Describe this machine and the device a sandboxed kernel sees."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        kib = int(Path("/proc/meminfo").read_text().split("MemTotal:")[1].split()[0])
        memory = f"{kib / 1024**2:.0f} GiB"
    except (OSError, IndexError, ValueError):
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {"cpu": f"{model}, {cores} cores available", "memory": memory, "python": platform.python_version(),
            "device": kernel_device()}


#: Run in a sandboxed kernel's place to report the device TensorFlow uses there.
_DEVICE_PROBE = (
    "import os; os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '3'); import tensorflow as tf; "
    "gpus = tf.config.list_physical_devices('GPU'); "
    "print(f'GPU x{len(gpus)} (TensorFlow {tf.__version__})' if gpus else f'CPU (TensorFlow {tf.__version__})')"
)


def kernel_device() -> str:
    """Return the device that TensorFlow finds inside the grading sandbox, e.g. ``CPU (TensorFlow 2.21.0)``."""
    with tempfile.TemporaryDirectory(prefix="tfcourse-probe-") as folder:
        box = sandbox.Sandbox.open(Path(folder) / "private")
        try:
            completed = box.run_trusted([sys.executable, "-c", _DEVICE_PROBE], readable=[],
                                        work_dir=Path(folder) / "work", timeout=300)
        except (OSError, subprocess.SubprocessError) as error:
            return f"unknown ({type(error).__name__})"
        finally:
            box.close()
    lines = completed.stdout.strip().splitlines()
    return lines[-1] if completed.returncode == 0 and lines else "unknown (the probe failed)"


def _mib(value: int | None) -> str:
    return f"{value / 1024**2:,.0f}" if value else "?"


def chapter_table(rows: list[ChapterRow]) -> list[list[str]]:
    """Return the chapter table as rows of cells, header first."""
    table = [["chapter", "run time (s)", f"under {TARGET_SECONDS // 60} min", "peak memory (MiB)", "exercises",
              "points", "score", "grading time (s)", "grading / run", "accuracy on the grader's held-out data"]]
    for row in rows:
        measured = "; ".join(f"{grade_id}: {margin_text(m)}" for grade_id, m in sorted(row.measurements.items()))
        if row.status != "graded":
            measured = f"ERROR: {row.message[:200]}"
        table.append([row.chapter, f"{row.run_seconds:.0f}" if row.run_seconds is not None else "?",
                      "yes" if row.within_target else "NO", _mib(row.peak_memory_bytes), str(row.exercises),
                      f"{row.points:g}", f"{row.score:g}", f"{row.grading_seconds:.0f}", ratio(row), measured or "-"])
    return table


def ratio(row: ChapterRow) -> str:
    """Return the grading time of a chapter's submission over its notebook's run time, e.g. ``1.05x``."""
    return f"{row.grading_seconds / row.run_seconds:.2f}x" if row.run_seconds else "?"


def projection_lines(rows: list[ThroughputRow], chapter: str, reference_seconds: float,
                     chapters: list[ChapterRow] = ()) -> list[str]:
    """Describe the projections for a class of 500 on this machine and on 8 such machines (one line each).

    With the chapter rows, the class hands in the chapter that takes longest to grade, and the
    measured rate is scaled by the ratio of the two chapters' grading times.
    """
    best = max(rows, key=lambda row: row.per_minute)
    measured = next((row for row in chapters if row.chapter == chapter), None)
    longest = max(chapters, key=lambda row: row.grading_seconds, default=None)
    how = "measured on it"
    if measured is not None and longest is not None and longest.grading_seconds > 0:
        scale = measured.grading_seconds / longest.grading_seconds
        best = replace(best, seconds=best.reference_seconds + (best.seconds - best.reference_seconds) / scale)
        how = (f"the rate measured on {chapter} times {scale:.2f}, the ratio of the two chapters' grading times "
               f"({measured.grading_seconds:.0f} s and {longest.grading_seconds:.0f} s)")
        chapter, reference_seconds = longest.chapter, longest.run_seconds or reference_seconds
    lines = []
    for machines in (1, 8):
        estimate = project(best, 500, machines, reference_seconds)
        lines.append(f"- projected, not measured: 500 submissions of {chapter} on {machines} machine(s) like this one "
                     f"with {best.workers} worker(s) each: {estimate.minutes:.0f} minutes (from {how}; limited by "
                     f"{estimate.limited_by})")
    return lines


def throughput_table(rows: list[ThroughputRow]) -> list[list[str]]:
    """Return the throughput table as rows of cells, header first."""
    table = [["workers", "submissions", "wall time (s)", "of which reference run (s)", "submissions per minute",
              "speed-up", "session's merging and feedback (s)"]]
    base = rows[0].per_minute if rows else 1.0
    for row in rows:
        table.append([str(row.workers), str(row.submissions), f"{row.seconds:.0f}", f"{row.reference_seconds:.0f}",
                      f"{row.per_minute:.2f}", f"{row.per_minute / base:.2f}x", f"{row.session_seconds:.0f}"])
    return table


def markdown(table: list[list[str]]) -> str:
    """Format rows of cells as a Markdown table."""
    lines = ["| " + " | ".join(table[0]) + " |", "|" + "|".join("---" for _ in table[0]) + "|"]
    lines += ["| " + " | ".join(cell.replace("|", "/") for cell in row) + " |" for row in table[1:]]
    return "\n".join(lines)


def write_csv(path: Path, table: list[list[str]]) -> None:
    """Write rows of cells as CSV."""
    with Path(path).open("w", newline="") as handle:
        csv.writer(handle).writerows(table)


def report(rows: list[ChapterRow], throughput: list[ThroughputRow], about: dict[str, str], output: Path,
           throughput_chapter: str = "") -> str:
    """Write the Markdown report to ``output`` and the tables as CSV beside it; return the Markdown."""
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    lines = [f"# Course benchmark, {time.strftime('%Y-%m-%d %H:%M')}", "",
             *(f"- {key}: {value}" for key, value in about.items()), "", "## Chapters", "",
             markdown(chapter_table(rows))]
    write_csv(output.with_suffix(".csv"), chapter_table(rows))
    if throughput:
        lines += ["", "## Grading throughput", "", markdown(throughput_table(throughput)), "",
                  *projection_lines(throughput, throughput_chapter or "the chapter",
                                    max(row.reference_seconds for row in throughput), rows)]
        write_csv(output.with_name(output.stem + "-grading.csv"), throughput_table(throughput))
    text = "\n".join(lines) + "\n"
    output.write_text(text)
    return text
