"""The ``tfcourse`` command: build the release, check a notebook, show progress, grade a class, format notebooks."""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import sys
import tempfile
from pathlib import Path

from . import build as build_module
from . import notebooks, progress
from .options import GradingOptions
from .paths import RELEASE_DIRNAME, SOURCE_DIRNAME, course_root
from .results import format_summary, format_table
from .sandbox import Limits
from .selfcheck import CheckError, check, record_progress, result_data
from .session import grade
from .workspace import WorkspaceBusyError


def _source(args) -> Path:
    return Path(args.source) if args.source else course_root(Path.cwd()) / SOURCE_DIRNAME


def cmd_build(args) -> int:
    """Regenerate course/ from solutions/, or with --check report any difference."""
    source = _source(args)
    release = Path(args.release) if args.release else source.parent / RELEASE_DIRNAME
    if args.check:
        found = build_module.out_of_date(source, release)
        if found:
            print(f"{release} is not what 'tfcourse build' generates from {source}:", file=sys.stderr)
            for line in found:
                print(f"  {line}", file=sys.stderr)
            print("Run 'tfcourse build' and commit the result.", file=sys.stderr)
            return 1
        print(f"{release} is up to date with {source}.")
        return 0
    try:
        names = build_module.build(source, release, force=args.force)
    except build_module.LearnerWorkError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"Built {len(names)} chapter(s) into {release}: {', '.join(names)}")
    return 0


def _check_error(message: str, as_json: bool) -> int:
    """Report a check that could not be done, as ``tfcourse check`` does (JSON on stdout with ``--json``)."""
    if as_json:
        print(json.dumps({"status": "error", "message": message, "notebook": "", "exercises": []}))
    else:
        print(f"error: {message}", file=sys.stderr)
    return 2


def cmd_check(args) -> int:
    """Execute a learner's notebook with the hidden tests, print the score per exercise and record the progress.

    With ``--json`` the outcome is one line of JSON on standard output (see
    :func:`grader.selfcheck.result_data`), which the notebooks' score cell reads; anything else
    the grading prints goes to standard error.
    """
    try:
        # With --json, standard output carries the JSON line only.
        with contextlib.redirect_stdout(sys.stderr) if args.json else contextlib.nullcontext():
            result = check(Path(args.notebook), _source(args), timeout=args.timeout)
    except CheckError as error:
        return _check_error(str(error), args.json)
    if result.status != "graded":
        return _check_error(result.message, args.json)
    problems = record_progress(Path(args.notebook), result)
    if args.json:
        print(json.dumps(result_data(Path(args.notebook), result, problems)))
        return 0
    print(format_table(result.exercises, title=f"Chapter {result.assignment}: {args.notebook}"))
    for note in result.notes:
        print(f"Note from the grader: {note}")
    print(f"\nChecked in {result.seconds:.0f} s by executing the notebook with the hidden tests.")
    for problem in problems:
        print(f"Progress: {problem}.")
    return 0


def cmd_progress(args) -> int:
    """Print the learner's progress: every chapter of the course folder, its last score and when it was checked."""
    course_dir = Path(args.course_dir) if args.course_dir else course_root(Path.cwd()) / RELEASE_DIRNAME
    if not course_dir.is_dir():
        print(f"error: {course_dir} is not a folder: pass your course folder, e.g. 'tfcourse progress course'",
              file=sys.stderr)
        return 2
    found = progress.read(course_dir)
    if found.problem:
        print(f"warning: {found.problem}; the next 'tfcourse check' replaces it (keeping a copy)", file=sys.stderr)
    print(f"Progress in {course_dir}:")
    print(progress.format_progress(course_dir, found))
    return 0


def cmd_grade(args) -> int:
    """Autograde a folder of submissions into a gradebook, a CSV and feedback pages."""
    try:
        limits = Limits(memory_bytes=int(args.memory_limit * 1024**3), notebook_seconds=args.notebook_timeout,
                        tmp_bytes=int(args.tmp_limit * 1024**3), disk_bytes=int(args.disk_limit * 1024**3))
        options = GradingOptions(timeout=args.timeout, feedback=not args.no_feedback, progress=not args.quiet,
                                 limits=limits, workers=args.workers, scheduler=args.scheduler)
        run = grade(Path(args.submitted), Path(args.workdir), _source(args), options)
    except (FileNotFoundError, WorkspaceBusyError, ValueError, RuntimeError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"Sandbox: {run.sandbox}")
    print(format_summary(run.results))
    errors = sum(r.status != "graded" for r in run.results)
    print(f"\nGraded {len(run.results) - errors} of {len(run.results)} submission(s); gradebook {run.gradebook}; "
          f"grades {run.grades_csv}; feedback {run.feedback}/")
    if run.class_report is None:
        # The grades are safe on disk: say plainly that only the report is missing.
        print(f"warning: {run.class_report_error}; the grades above are saved.", file=sys.stderr)
    else:
        print(f"Class report: {run.class_report.as_uri()}")
    return 1 if errors else 0


def cmd_bench(args) -> int:
    """Grade every chapter's solution, print the benchmark table and write it to a file."""
    from . import bench
    from .paths import assignments

    source = _source(args)
    release = Path(args.release) if args.release else source.parent / RELEASE_DIRNAME
    known = assignments(source)
    chapters = args.chapters or known
    unknown = [chapter for chapter in chapters if chapter not in known]
    if unknown:
        print(f"error: no chapter {', '.join(unknown)} in {source} (known: {', '.join(known)})", file=sys.stderr)
        return 2
    if args.submissions < 1 or any(count < 1 for count in args.workers):
        print("error: --submissions and --workers must be at least 1", file=sys.stderr)
        return 2
    about = bench.machine()
    print("\n".join(f"{key}: {value}" for key, value in about.items()), flush=True)
    rows = []
    with tempfile.TemporaryDirectory(prefix="tfcourse-bench-") as scratch:
        for chapter in chapters:
            row = bench.bench_chapter(chapter, source, Path(scratch), timeout=args.timeout)
            rows.append(row)
            print(f"{chapter}: ran in {row.run_seconds:.0f} s, {row.score:g}/{row.points:g} points", flush=True)
        throughput = []
        if args.throughput_chapter:
            if args.throughput_chapter not in known:
                print(f"error: no chapter {args.throughput_chapter} in {source}", file=sys.stderr)
                return 2
            throughput = bench.bench_throughput(args.throughput_chapter, source, release, Path(scratch),
                                                args.submissions, args.workers, timeout=args.timeout)
    print()
    print(bench.report(rows, throughput, about, Path(args.output), args.throughput_chapter or ""))
    print(f"Written to {args.output} and {Path(args.output).with_suffix('.csv')}.")
    return 0 if all(r.status == "graded" and r.score == r.points for r in rows) else 1


def cmd_format(args) -> int:
    """Rewrite notebooks in canonical form (no outputs), or with --check list those that are not."""
    paths = notebooks.find_notebooks([Path(p) for p in args.paths])
    try:
        changed = notebooks.format_files(paths, check=args.check)
    except notebooks.NotebookError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for path in changed:
        print(f"{'not canonical' if args.check else 'reformatted'}: {path}")
    if args.check and changed:
        print("Run 'tfcourse format' to strip outputs and normalize these notebooks.", file=sys.stderr)
        return 1
    print(f"{len(paths)} notebook(s) checked, {len(changed)} {'to fix' if args.check else 'rewritten'}.")
    return 0


def make_parser() -> argparse.ArgumentParser:
    """Build the argument parser of ``tfcourse``."""
    parser = argparse.ArgumentParser(prog="tfcourse", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    def add_source(sub):
        sub.add_argument("--source", help="folder of source notebooks (default: solutions/ of this course)")

    sub = commands.add_parser("build", help="regenerate course/ from solutions/ through nbgrader")
    add_source(sub)
    sub.add_argument("--release", help="where to write the student notebooks (default: course/)")
    sub.add_argument("--check", action="store_true", help="only report whether course/ is up to date")
    sub.add_argument("--force", action="store_true",
                     help="overwrite release notebooks even if they hold answers or outputs")
    sub.set_defaults(handler=cmd_build)

    sub = commands.add_parser("check", help="score your notebook, exercise by exercise")
    sub.add_argument("notebook", help="your notebook, e.g. course/01_tensors/01_tensors.ipynb")
    add_source(sub)
    sub.add_argument("--timeout", type=int, help="seconds allowed per cell (default 300)")
    sub.add_argument("--json", action="store_true",
                     help="print the outcome as one line of JSON (for the notebooks' score cell)")
    sub.set_defaults(handler=cmd_check)

    sub = commands.add_parser("progress", help="show your score and the date of your last check, chapter by chapter")
    sub.add_argument("course_dir", nargs="?", metavar="COURSE_DIR",
                     help="your course folder, holding the chapter folders (default: course/ of this course)")
    sub.set_defaults(handler=cmd_progress)

    sub = commands.add_parser("grade", help="autograde a folder of submissions")
    sub.add_argument("submitted", help="submissions laid out as <student>/<chapter>/<notebook>.ipynb")
    add_source(sub)
    sub.add_argument("--workdir", default="grading",
                     help="where the gradebook, executed notebooks, grades.csv and feedback go (default: grading/)")
    sub.add_argument("--timeout", type=int, help="seconds allowed per cell (default 300)")
    sub.add_argument("--notebook-timeout", type=float, default=Limits.notebook_seconds,
                     help=f"seconds allowed for a whole notebook (default {Limits.notebook_seconds:g})")
    sub.add_argument("--memory-limit", type=float, default=Limits.memory_bytes / 1024**3,
                     help="memory allowed to each kernel, in GiB: its address space, and where a memory cgroup can be "
                          f"made, its memory and files in /tmp and its working folder together "
                          f"(default {Limits.memory_bytes / 1024**3:g})")
    sub.add_argument("--tmp-limit", type=float, default=Limits.tmp_bytes / 1024**3,
                     help=f"size of each kernel's /tmp, in GiB (default {Limits.tmp_bytes / 1024**3:g})")
    sub.add_argument("--disk-limit", type=float, default=Limits.disk_bytes / 1024**3,
                     help="size of each kernel's working folder, in GiB (needs root; "
                          f"default {Limits.disk_bytes / 1024**3:g})")
    sub.add_argument("--workers", type=int, default=1,
                     help="submissions graded at the same time, in local worker processes (default 1)")
    sub.add_argument("--scheduler", metavar="ADDRESS",
                     help="grade on a Dask distributed cluster, e.g. tcp://10.0.0.5:8786 (needs tfcourse[cluster])")
    sub.add_argument("--no-feedback", action="store_true", help="skip the feedback pages")
    sub.add_argument("--quiet", action="store_true", help="no progress bar")
    sub.set_defaults(handler=cmd_grade)

    sub = commands.add_parser("bench", help="time every chapter through the grader and tabulate the results")
    sub.add_argument("chapters", nargs="*", help="chapters to run (default: all)")
    add_source(sub)
    sub.add_argument("--release", help="the student notebooks, for the throughput run (default: course/)")
    sub.add_argument("--output", default="bench/latest.md",
                     help="Markdown report; the CSV goes beside it (default: bench/latest.md)")
    sub.add_argument("--timeout", type=int, help="seconds allowed per cell (default 300)")
    sub.add_argument("--throughput-chapter", metavar="CHAPTER",
                     help="also measure grading throughput on copies of this chapter, e.g. 01_tensors")
    sub.add_argument("--submissions", type=int, default=4, help="submissions in the throughput run (default 4)")
    sub.add_argument("--workers", type=int, nargs="+", default=[1, 2],
                     help="worker counts to compare in the throughput run (default: 1 2)")
    sub.set_defaults(handler=cmd_bench)

    sub = commands.add_parser("format", help="strip outputs and write notebooks in canonical form")
    sub.add_argument("paths", nargs="*", default=[SOURCE_DIRNAME, RELEASE_DIRNAME],
                     help="notebooks or folders (default: solutions/ and course/)")
    sub.add_argument("--check", action="store_true", help="only list the notebooks that are not canonical")
    sub.set_defaults(handler=cmd_format)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run ``tfcourse`` with ``argv`` (default: the command line) and return its exit status."""
    args = make_parser().parse_args(argv)
    if argv is None:
        # A terminated tfcourse still removes its scratch folders and stops its sandboxed kernels.
        signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    try:
        return args.handler(args)
    except FileNotFoundError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
