"""Temporary: the old place of compare and accuracy, kept until every grading.py imports grader.checks."""

from .checks.compare import compare  # noqa: F401
from .checks.model import accuracy  # noqa: F401
