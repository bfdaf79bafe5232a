"""Parallel grading: local worker processes and a Dask cluster on loopback give the sequential scores."""

import shutil

import pytest
from nbgrader.api import Gradebook

from grader import session, workers
from grader.options import GradingOptions
from grader.reference import References
from tests.conftest import FIXTURES
from tests.grader.conftest import LIMITS, SEED, TIMEOUT, submit
from tests.grader.test_attacks import EXPECTED

#: Submissions of the parallel runs: right, untouched, a kernel that dies, and a patched check helper.
CASES = ["reference_solution", "untouched", "os_exit", "monkeypatched_checks"]


def submit_cases(submitted):
    for case in CASES:
        submit(submitted, case)
    # A damaged notebook is refused by the coordinator and never becomes a task.
    submit(submitted, "invalid_json")


def assert_expected_scores(run):
    results = {result.student: result for result in run.results}
    assert sorted(results) == sorted(CASES + ["invalid_json"])
    assert results["invalid_json"].status == "error"
    assert "mini.ipynb: is not valid JSON (line" in results["invalid_json"].message
    for case in CASES:
        result = results[case]
        assert result.status == "graded", result.message
        ex1, ex2, message = EXPECTED[case]
        assert [(e.grade_id, e.score) for e in result.exercises] == [("ex1_test", ex1), ("ex2_test", ex2)]
        if message is not None:
            assert message in [e for e in result.exercises if not e.passed][0].message
    with Gradebook(f"sqlite:///{run.gradebook}") as gradebook:
        for case in CASES:
            ex1, ex2, _ = EXPECTED[case]
            assert gradebook.find_submission("mini", case).score == ex1 + ex2
    assert run.grades_csv.is_file()


def test_two_local_workers_give_the_sequential_scores_and_keep_manual_grades(tmp_path):
    submitted = tmp_path / "submitted"
    submit_cases(submitted)
    root = tmp_path / "grading"
    run = session.grade(submitted, root, FIXTURES / "source", GradingOptions(timeout=TIMEOUT, progress=False,
                        limits=LIMITS, seed=SEED, workers=2))
    assert_expected_scores(run)
    assert (root / "feedback" / "reference_solution" / "mini" / "mini.html").is_file()
    assert (root / "autograded" / "os_exit" / "mini" / "mini.ipynb").is_file()

    with Gradebook(f"sqlite:///{run.gradebook}") as gradebook:
        gradebook.find_grade("ex1_test", "mini", "mini", "monkeypatched_checks").manual_score = 1.5
        gradebook.find_comment("ex1_answer", "mini", "mini", "monkeypatched_checks").manual_comment = "See me."
        gradebook.db.commit()
    again = session.grade(submitted, root, FIXTURES / "source", GradingOptions(timeout=TIMEOUT, progress=False,
                          feedback=False, limits=LIMITS, seed=SEED + 1, workers=2))
    assert [(r.student, r.score) for r in again.results] == [(r.student, r.score) for r in run.results]
    with Gradebook(f"sqlite:///{run.gradebook}") as gradebook:
        grade = gradebook.find_grade("ex1_test", "mini", "mini", "monkeypatched_checks")
        assert (grade.manual_score, grade.auto_score, grade.needs_manual_grade) == (1.5, 0.0, True)
        assert gradebook.find_comment("ex1_answer", "mini", "mini", "monkeypatched_checks").manual_comment == "See me."


def test_a_dask_cluster_on_loopback_gives_the_sequential_scores(tmp_path):
    distributed = pytest.importorskip("distributed")
    submitted = tmp_path / "submitted"
    submit_cases(submitted)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None, silence_logs=50) as cluster:
        run = session.grade(submitted, tmp_path / "grading", FIXTURES / "source", GradingOptions(timeout=TIMEOUT,
                            progress=False, feedback=False, limits=LIMITS, seed=SEED,
                            scheduler=cluster.scheduler_address))
    assert_expected_scores(run)


def test_a_failed_task_becomes_an_error_result_and_the_batch_goes_on():
    done = []
    good = {"student": "a", "assignment": "mini"}  # Lacks every other key: the worker raises KeyError.
    executor, release = workers.open_executor(workers=2, scheduler=None)
    try:
        workers.run_tasks([good, {"student": "b", "assignment": "mini"}], executor, progress=False,
                           on_done=lambda task, outcome, error: done.append((task["student"], outcome, error)))
    finally:
        release()
    assert sorted(student for student, _, _ in done) == ["a", "b"]
    assert all(outcome is None and error.startswith("the worker grading this submission failed (KeyError")
               for _, outcome, error in done)


def test_an_unreachable_scheduler_is_a_clear_error_before_any_notebook_runs(tmp_path, monkeypatch):
    pytest.importorskip("distributed")
    monkeypatch.setattr(workers, "CONNECT_TIMEOUT", "2s")
    reference_runs = []
    monkeypatch.setattr(References, "_run", lambda self, *args: reference_runs.append(args))
    submitted = tmp_path / "submitted"
    submit(submitted, "reference_solution")
    with pytest.raises(OSError, match="127.0.0.1:9"):
        session.grade(submitted, tmp_path / "grading", FIXTURES / "source", GradingOptions(timeout=TIMEOUT,
                      progress=False, limits=LIMITS, seed=SEED, scheduler="tcp://127.0.0.1:9"))
    assert reference_runs == []


def test_workers_must_be_positive(tmp_path):
    with pytest.raises(ValueError, match="workers must be at least 1, got 0"):
        session.grade(tmp_path, tmp_path / "grading", FIXTURES / "source", GradingOptions(workers=0))


def test_task_files_cannot_leave_their_folder(tmp_path):
    with pytest.raises(workers.TaskError, match="outside"):
        workers.write_tree(tmp_path / "task", {"../escaped.txt": b"x"})
    assert not (tmp_path / "escaped.txt").exists()


def test_oversized_submissions_are_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(workers, "MAX_TASK_BYTES", 10)
    (tmp_path / "big.bin").write_bytes(b"x" * 11)
    with pytest.raises(workers.TaskError, match="holds more than"):
        workers.read_tree(tmp_path)


def test_trees_round_trip_without_links(tmp_path):
    source = tmp_path / "source"
    (source / "sub").mkdir(parents=True)
    (source / "sub" / "a.txt").write_bytes(b"a")
    (source / "link.txt").symlink_to(source / "sub" / "a.txt")
    files = workers.read_tree(source)
    assert files == {"sub/a.txt": b"a"}
    workers.write_tree(tmp_path / "copy", files)
    assert (tmp_path / "copy" / "sub" / "a.txt").read_bytes() == b"a"
    shutil.rmtree(source)


def test_local_workers_get_their_own_cores_when_there_are_enough():
    assert workers.core_shares(2, [0, 1]) == [[0], [1]]
    assert workers.core_shares(2, [0, 1, 2, 3, 4]) == [[0, 1], [2, 3]]
    assert workers.core_shares(3, [0, 1]) == [], "fewer cores than workers: no shares, every worker uses every core"
    assert workers.core_shares(1, [0, 1]) == [], "one worker keeps every core"


def test_a_worker_keeps_its_course_between_tasks_of_one_run_and_not_across_runs(tmp_path, monkeypatch):
    opened = []

    class FakeCourse:
        def __init__(self, key):
            self.key, self.digests, self.closed = key, {}, False
            opened.append(self)

        def open(self, task):
            self.digests[task["assignment"]] = workers.task_digest(task)
            self.context = object()
            return self.context

        def add_assignment(self, task):
            self.digests[task["assignment"]] = workers.task_digest(task)

        def close(self):
            self.closed = True

    monkeypatch.setattr(workers, "WorkerCourse", FakeCourse)
    monkeypatch.setattr(workers, "_COURSE", None)
    task = {"assignment": "mini", "source": {"mini.ipynb": b"1"}, "reference": None, "seed": 1, "timeout": 10,
            "limits": {"memory_bytes": 1}}
    first = workers.worker_context(task)
    assert workers.worker_context(dict(task)) is first and len(opened) == 1
    workers.worker_context(dict(task, assignment="other"))
    assert len(opened) == 1 and set(opened[0].digests) == {"mini", "other"}
    workers.worker_context(dict(task, seed=2))
    assert len(opened) == 2 and opened[0].closed, "another seed is another run: a fresh course"
    workers.worker_context(dict(task, seed=2, source={"mini.ipynb": b"changed"}))
    assert len(opened) == 3 and opened[1].closed, "changed files are another run too"
