"""A chapter's trusted checks, declared in ``grading.py`` beside its solution notebook."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from pathlib import Path

from .base import Check

#: The file, beside a solution notebook, that declares the chapter's trusted checks.
SPEC_FILENAME = "grading.py"


@dataclass
class ChapterSpec:
    """The trusted checks of one chapter, read from its ``grading.py``."""

    path: Path
    checks: list[Check] = field(default_factory=list)

    def by_grade_id(self) -> dict[str, Check]:
        """Return the checks keyed by test cell ``grade_id``."""
        return {check.grade_id: check for check in self.checks}


class SpecError(ValueError):
    """A chapter's ``grading.py`` is malformed."""


def spec_path(source_assignment: Path) -> Path:
    """Return where the trusted checks of the assignment in ``source_assignment`` live."""
    return Path(source_assignment) / SPEC_FILENAME


def load_spec(source_assignment: Path) -> ChapterSpec | None:
    """Import ``grading.py`` of a source assignment folder, or return None when there is none.

    Raises
    ------
    SpecError
        When the file does not define ``CHECKS`` as a list of checks, or repeats a ``grade_id``.
    """
    path = spec_path(source_assignment)
    if not path.is_file():
        return None
    module_spec = importlib.util.spec_from_file_location(f"tfcourse_grading_{Path(source_assignment).name}", path)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    checks = getattr(module, "CHECKS", None)
    if not isinstance(checks, list) or not all(isinstance(c, Check) for c in checks):
        raise SpecError(f"{path} must define CHECKS as a list of checks (FunctionCheck, ModelCheck, ...)")
    grade_ids = [check.grade_id for check in checks]
    duplicates = sorted({g for g in grade_ids if grade_ids.count(g) > 1})
    if duplicates:
        raise SpecError(f"{path} declares more than one check for {', '.join(duplicates)}")
    return ChapterSpec(path, checks)
