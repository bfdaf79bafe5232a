"""Loading a chapter's trusted checks from its grading.py."""

import pytest

from grader import checks as specs


def test_no_grading_file_means_no_trusted_checks(tmp_path):
    assert specs.load_spec(tmp_path) is None


def test_the_mini_assignment_declares_its_checks(fixtures):
    spec = specs.load_spec(fixtures / "source" / "mini")
    assert sorted(spec.by_grade_id()) == ["ex1_test", "ex2_test"]


@pytest.mark.parametrize("body, message", [
    ("CHECKS = 'not a list'", "must define CHECKS as a list"),
    ("from grader.checks import FunctionCheck\n"
     "CHECKS = [FunctionCheck('ex1_test', ['f()']), FunctionCheck('ex1_test', ['g()'])]",
     "more than one check for ex1_test"),
])
def test_malformed_grading_files_are_refused(tmp_path, body, message):
    (tmp_path / specs.SPEC_FILENAME).write_text(body)
    with pytest.raises(specs.SpecError, match=message):
        specs.load_spec(tmp_path)
