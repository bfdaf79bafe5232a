"""The kernel sandbox: its command line, environment, scratch folder and what it really blocks."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from grader import sandbox
from grader.sandbox import bubblewrap, launcher, mode, policy, processes
from grader.sandbox import scratch as scratch_module
from tests.grader.conftest import require_cap


def make_policy(tmp_path, isolated=True):
    runtime, scratch = tmp_path / "runtime", tmp_path / "scratch"
    runtime.mkdir()
    return sandbox.Policy(python=sys.executable, readable=sandbox.python_paths(), runtime_dir=str(runtime),
                          scratch_dir=str(scratch), isolated=isolated,
                          environment={"KERAS_HOME": str(tmp_path / "keras")})


def test_policy_round_trips_through_json(tmp_path):
    policy = make_policy(tmp_path)
    policy.save(tmp_path / "policy.json")
    assert sandbox.Policy.load(tmp_path / "policy.json") == policy


def test_command_unshares_the_network_and_binds_only_what_is_needed(tmp_path):
    policy = make_policy(tmp_path)
    work_dir = tmp_path / "autograded" / "alice" / "mini"
    command = bubblewrap.bubblewrap_command(policy, work_dir, ["python", "-m", "ipykernel_launcher"])
    assert command[0] == "bwrap"
    assert "--unshare-net" in command or "--unshare-all" in command
    assert "--die-with-parent" in command
    writable = [command[i + 1:i + 3] for i, part in enumerate(command) if part == "--bind"]
    assert writable == [[policy.runtime_dir, policy.runtime_dir], [policy.scratch_dir, str(work_dir)]]
    assert command[command.index("--chdir") + 1] == str(work_dir)
    assert command[-3:] == ["python", "-m", "ipykernel_launcher"]


def test_parents_are_created_walkable_parents_first():
    parents = bubblewrap._parents_to_create(["/srv/course/.venv", "/srv/course/grading/x"])
    assert parents == ["/srv", "/srv/course", "/srv/course/grading"]


def test_kernel_environment_is_an_explicit_list(tmp_path, monkeypatch):
    monkeypatch.setenv("GRADER_SECRET_TOKEN", "do-not-leak")
    monkeypatch.setenv("TFCOURSE_OFFLINE", "1")
    environment = policy.kernel_environment(make_policy(tmp_path))
    assert "GRADER_SECRET_TOKEN" not in environment
    assert environment["TFCOURSE_OFFLINE"] == "1"
    assert environment["HOME"] == "/tmp" and environment["JPY_PARENT_PID"] == "1"
    assert environment["KERAS_HOME"] == str(tmp_path / "keras")


def test_scratch_gets_the_assignment_files_but_not_the_notebook(tmp_path):
    work_dir = tmp_path / "work"
    (work_dir / "data").mkdir(parents=True)
    (work_dir / "mini.ipynb").write_text("{}")
    (work_dir / ".hidden").write_text("x")
    (work_dir / "data" / "table.csv").write_text("a,b\n")
    (work_dir / "notes.txt").write_text("hello")
    scratch = tmp_path / "scratch"
    (scratch / "stale").mkdir(parents=True)
    scratch_module.prepare_scratch(scratch, work_dir)
    assert sorted(str(p.relative_to(scratch)) for p in scratch.rglob("*")) == ["data", "data/table.csv", "notes.txt"]


def test_each_grading_process_gets_its_own_user_id():
    low, high = policy.UID_RANGE
    assert low <= sandbox.sandbox_uid(1) < high
    assert sandbox.sandbox_uid(1) != sandbox.sandbox_uid(2)


def test_prepare_writes_a_kernel_that_starts_through_the_launcher(tmp_path):
    folder, connection_file, mode = sandbox.prepare(tmp_path / "private")
    try:
        spec = (folder / "kernels" / sandbox.KERNEL_NAME / "kernel.json").read_text()
        assert '"grader.sandbox"' in spec and '"interrupt_mode": "message"' in spec
        assert len(str(connection_file)) < 60, "Unix socket paths must stay short"
        assert sandbox.load_policy(folder).isolated == mode.isolated
    finally:
        sandbox.cleanup(folder)
    assert not folder.exists() and not connection_file.parent.exists()


def run_probe(tmp_path, code, timeout=60):
    """Run ``code`` sandboxed like a kernel, under the default limits."""
    return run_with_limits(tmp_path, code, None, timeout)


def test_sandboxed_process_has_no_network_and_cannot_see_the_course(tmp_path, isolated, repo):
    code = ("import os, socket\n"
            "try:\n    socket.create_connection(('192.0.2.10', 80), timeout=3); print('network open')\n"
            "except OSError as error:\n    print('network', error.errno)\n"
            f"print('solutions', os.path.exists({str(repo / 'solutions')!r}))\n"
            f"print('tests', os.path.exists({str(repo / 'tests')!r}))\n"
            "print('uid', os.getuid())\n")
    completed = run_probe(tmp_path, code)
    assert completed.returncode == 0, completed.stderr
    lines = completed.stdout.splitlines()
    assert lines[:3] == ["network 101", "solutions False", "tests False"]
    if os.geteuid() == 0:
        assert lines[3] != "uid 0", "root must be dropped inside the sandbox"


def test_sandboxed_process_is_killed_after_its_time_limit(tmp_path):
    completed = run_probe(tmp_path, "import time; time.sleep(60)", timeout=2)
    assert completed.returncode == -9 and "stopped after 2 s" in completed.stderr


def test_memory_limit_applies(tmp_path):
    completed = run_probe(tmp_path, "bytearray(64 * 1024**3)")
    assert completed.returncode != 0 and "MemoryError" in completed.stderr


def test_paths_exist():
    assert Path(sandbox.course_utils_path()).joinpath("checks.py").is_file()
    assert Path(sandbox.grader_path()).joinpath("sandbox", "launcher.py").is_file()


def test_gpu_device_files_are_bound_only_where_they_exist(tmp_path):
    assert bubblewrap.gpu_binds(tmp_path) == []
    for name in ("nvidia0", "nvidiactl", "nvidia-uvm"):
        (tmp_path / name).touch()
    options = bubblewrap.gpu_binds(tmp_path)
    assert options[:3] == ["--dev-bind", str(tmp_path / "nvidia-uvm"), str(tmp_path / "nvidia-uvm")]
    assert options.count("--dev-bind") == 3 and options[-3:] == ["--ro-bind", "/sys", "/sys"]


def test_children_are_read_from_proc_even_with_odd_command_names(tmp_path):
    for pid, stat in {"101": "101 (python) S 7 101 101", "102": "102 (sleep ) 7 (x)) S 7 1 1",
                      "103": "103 (bash) S 70 103 103", "self": "0 (x) S 7"}.items():
        (tmp_path / pid).mkdir()
        (tmp_path / pid / "stat").write_text(stat)
    (tmp_path / "104").mkdir()  # A process that ended while /proc was read: no stat file any more.
    assert sorted(processes.children(7, proc=tmp_path)) == [101, 102]


def test_orphans_left_to_the_launcher_are_killed(tmp_path):
    # A subreaper in a child process: its child starts a detached grandchild in a new session and exits,
    # as a kernel that started a background process would; the grandchild must be found and killed.
    code = (
        "import os, subprocess, sys, time\n"
        "from grader.sandbox import processes\n"
        "assert processes.become_subreaper()\n"
        "subprocess.run([sys.executable, '-c', \"import subprocess; subprocess.Popen(['sleep', '4243'], "
        "start_new_session=True)\"], check=True)\n"
        "time.sleep(0.5)\n"
        "orphans = processes.children(os.getpid())\n"
        "print(len(orphans))\n"
        "processes.kill_orphans()\n"
        "print(len(processes.children(os.getpid())), all(not os.path.exists(f'/proc/{pid}') for pid in orphans))\n"
    )
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                               cwd=Path(__file__).resolve().parents[3])
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.split() == ["1", "0", "True"]


def run_with_limits(tmp_path, code, limits, timeout=60):
    """Run ``code`` sandboxed like a kernel, under ``limits``, in a working folder prepared as a kernel's."""
    folder, _, _ = sandbox.prepare(tmp_path / "private", limits)
    try:
        policy = sandbox.load_policy(folder)
        return sandbox.run_trusted(policy, [policy.python, "-c", code], readable=[], work_dir=tmp_path / "work",
                                   timeout=timeout)
    finally:
        sandbox.cleanup(folder)


def test_tmp_has_a_fixed_size(tmp_path):
    require_cap("tmp")
    code = ("block = b'x' * (40 * 1024**2)\n"
            "for number in range(10):\n"
            "    open(f'/tmp/f{number}', 'wb').write(block)\n")
    completed = run_with_limits(tmp_path, code, sandbox.Limits(tmp_bytes=100 * 1024**2))
    assert completed.returncode != 0 and "No space left on device" in completed.stderr


def test_the_working_folder_has_a_fixed_size_and_the_export_folder_its_own(tmp_path):
    require_cap("working folder")
    scratch = tmp_path / "scratch"
    assert sandbox.mount_scratch(scratch, 2 * 1024**2) == ""
    try:
        with pytest.raises(OSError, match="No space left on device"):
            (scratch / "big").write_bytes(b"x" * 3 * 1024**2)
        (scratch / sandbox.RESERVED_FOLDER / "export").write_bytes(b"y" * 3 * 1024**2)
        (tmp_path / "assignment").mkdir()
        scratch_module.prepare_scratch(scratch, tmp_path / "assignment")
        assert os.path.ismount(scratch) and os.path.ismount(scratch / sandbox.RESERVED_FOLDER), "emptied in place"
        assert list(scratch.rglob("*")) == [scratch / sandbox.RESERVED_FOLDER]
    finally:
        sandbox.unmount_scratch(scratch)
    assert not os.path.ismount(scratch)


def test_memory_and_tmp_files_share_one_cap(tmp_path):
    require_cap("memory cgroup")
    require_cap("tmp")
    # 300 MB of files in /tmp and 300 MB in memory: each fits the 512 MiB cap, together they do not.
    code = ("open('/tmp/filler', 'wb').write(b'x' * (300 * 1000**2))\n"
            "hoard = b'y' * (300 * 1000**2)\n"
            "print('survived')\n")
    limits = sandbox.Limits(memory_bytes=512 * 1024**2, tmp_bytes=400 * 1024**2)
    completed = run_with_limits(tmp_path, code, limits)
    # Killed by the out-of-memory killer: bubblewrap reports it as 128 + SIGKILL.
    assert completed.returncode in (-9, 137) and "survived" not in completed.stdout
    alone = run_with_limits(tmp_path, "hoard = b'y' * (300 * 1000**2)\nprint('survived')", limits)
    assert alone.returncode == 0 and "survived" in alone.stdout, "the same memory without the files fits"


def test_the_launcher_says_why_it_stopped_a_kernel(tmp_path):
    connection_file = tmp_path / "kernel.json"
    assert sandbox.take_stop_reason(connection_file) == ""
    (tmp_path / launcher.STOP_REASON).write_text("the notebook ran longer than 5 s in all; the kernel was stopped\n")
    assert sandbox.take_stop_reason(connection_file) == "the notebook ran longer than 5 s in all; the kernel was stopped"
    assert sandbox.take_stop_reason(connection_file) == "", "a reason is given once"


def test_caps_description_names_what_is_capped_and_what_is_not():
    limits = sandbox.Limits(memory_bytes=4 * 1024**3, tmp_bytes=256 * 1024**2, disk_bytes=1024**3)
    assert sandbox.caps_description(limits, {"tmp": "", "working folder": "", "memory cgroup": ""}) == (
        "memory 4 GiB in all, files in memory included (memory cgroup); /tmp 256 MiB; working folder 1 GiB")
    weaker = sandbox.caps_description(limits, {
        "tmp": mode.no_sized_tmp(sandbox.Mode(False, "NOT ISOLATED")),
        "working folder": "mounting a folder of fixed size needs root",
        "memory cgroup": "no cgroup hierarchy with the memory controller is mounted"})
    assert weaker == ("address space 4 GiB, and files in memory on top of it (no memory cgroup: no cgroup hierarchy "
                      "with the memory controller is mounted); /tmp not capped (it is the machine's own); working "
                      "folder not capped (mounting a folder of fixed size needs root)")


def test_shared_memory_works_and_has_a_fixed_size(tmp_path):
    """multiprocessing's locks and thread pools need /dev/shm (Keras indexes image folders with one)."""
    require_cap("tmp")
    code = ("import multiprocessing, multiprocessing.pool\n"
            "multiprocessing.Lock()\n"
            "pool = multiprocessing.pool.ThreadPool(2)\n"
            "print(sum(pool.map(abs, [-1, -2, 3])))\n"
            "pool.close()\n"
            "open('/dev/shm/big', 'wb').write(b'x' * (2 * 64 * 1024**2))\n")
    completed = run_with_limits(tmp_path, code, sandbox.Limits())
    assert completed.stdout.strip() == "6", completed.stderr
    assert completed.returncode != 0 and "No space left on device" in completed.stderr
