"""Tests for grader.sandbox.cgroup: finding a memory hierarchy and one group's files."""

from pathlib import Path

from grader.sandbox import cgroup


def fake_v1(root: Path) -> Path:
    (root / "memory").mkdir(parents=True)
    (root / "memory" / "memory.limit_in_bytes").write_text("9223372036854771712\n")
    return root


def test_a_v1_hierarchy_is_found_and_the_course_folder_made(tmp_path):
    hierarchy, reason = cgroup.find(fake_v1(tmp_path))
    assert reason == "" and hierarchy == cgroup.Hierarchy(tmp_path / "memory" / cgroup.PARENT, 1)
    assert hierarchy.path.is_dir() and hierarchy.limit_file == "memory.limit_in_bytes"


def test_no_hierarchy_says_why(tmp_path):
    assert cgroup.find(tmp_path) == (None, "no cgroup hierarchy with the memory controller is mounted")
    (tmp_path / "cgroup.controllers").write_text("cpu io pids\n")
    assert cgroup.find(tmp_path)[0] is None


def test_a_group_writes_its_limit_and_reads_its_counters(tmp_path):
    hierarchy, _ = cgroup.find(fake_v1(tmp_path))
    group = cgroup.MemoryGroup(hierarchy, "42-1", 512 * 1024**2)
    assert (group.path / "memory.limit_in_bytes").read_text() == str(512 * 1024**2)
    assert group.out_of_memory_kills() == 0 and group.peak_bytes() is None
    (group.path / "memory.oom_control").write_text("oom_kill_disable 0\nunder_oom 0\noom_kill 2\n")
    (group.path / "memory.max_usage_in_bytes").write_text("123456\n")
    assert group.out_of_memory_kills() == 2 and group.peak_bytes() == 123456
    group.join(4242)
    assert (group.path / "cgroup.procs").read_text() == "4242"


def test_a_v2_group_gets_the_controller_handed_down(tmp_path):
    (tmp_path / "cgroup.controllers").write_text("cpu memory pids\n")
    hierarchy, reason = cgroup.find(tmp_path)
    assert reason == "" and hierarchy.version == 2 and hierarchy.limit_file == "memory.max"
    assert (hierarchy.path / "cgroup.subtree_control").read_text() == "+memory"
    group = cgroup.MemoryGroup(hierarchy, "7-1", 1024**3)
    assert (group.path / "memory.max").read_text() == str(1024**3)
    (group.path / "memory.events").write_text("low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n")
    assert group.out_of_memory_kills() == 1
