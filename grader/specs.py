"""Temporary: the old place of the check types, kept until every grading.py imports grader.checks."""

from .checks import SPEC_FILENAME, ChapterSpec, FunctionCheck, ModelCheck, SpecError, load_spec  # noqa: F401
