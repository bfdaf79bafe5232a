"""What every check type provides: how the kernel exports an answer, and how the verifier judges it.

A trusted check takes the decision on an exercise away from the student's kernel (see
:mod:`grader.checks`). Each check type is one class, a frozen dataclass that subclasses
:class:`Check`, and owns the whole of its life:

1. :meth:`Check.draw` draws the inputs of the grading run from its seed (most types draw none);
2. :meth:`Check.export_plan` says, as JSON-ready data, what the student's kernel must export;
3. ``kernel_export(item, folder, namespace)`` runs **in the student's kernel** and writes the export
   (its source is copied into the export cell, so it must import what it uses and call no other
   function than ``encode`` and ``decode`` of :mod:`grader.checks.in_kernel`);
4. :meth:`Check.judge` runs **in the verifier** (no student code in the process) and compares the
   student's export with the solution's.

Adding a check type therefore means one new module with one class, and its tests; the export cell,
the verifier and ``grading.py`` files pick it up through this interface.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import numpy as np


class Check:
    """The base of check types (see the module's docstring for the life of a check).

    Attributes
    ----------
    grade_id : str
        The nbgrader ``grade_id`` of the exercise's test cell (a dataclass field of each subclass).
    kind : str
        A short name of the check type, unique among check types; it is sent to the kernel.
    kernel_export : callable
        ``kernel_export(item, folder, namespace)``: writes the export of one plan item into ``folder``
        inside the student's kernel, whose names are ``namespace``.
    """

    grade_id: str
    kind: ClassVar[str] = ""
    kernel_export: ClassVar[Callable[[dict, str, dict], None]]

    def draw(self, rng: np.random.Generator) -> dict[str, np.ndarray] | None:
        """Return the inputs this check draws for one grading run, or None when it draws none."""
        return None

    def export_plan(self, drawn: dict[str, np.ndarray]) -> dict:
        """Return what the kernel must export, as JSON-ready data (``grade_id`` and ``kind`` are added)."""
        raise NotImplementedError

    def judge(self, student: Path, reference: Path, measured: dict[str, Any]) -> str | None:
        """Compare the student's export with the solution's; return why the check fails, or None.

        Parameters
        ----------
        student, reference : Path
            The export folders of the submission and of the solution.
        measured : dict
            Filled with ``{"measured": {...}}`` by checks that measure something on held-out data,
            passed or not, for reports and the benchmark.
        """
        raise NotImplementedError


def check_types() -> list[type[Check]]:
    """Return every check type defined so far (the subclasses of :class:`Check`, recursively), by kind."""
    found, pending = [], list(Check.__subclasses__())
    while pending:
        cls = pending.pop()
        found.append(cls)
        pending.extend(cls.__subclasses__())
    return sorted(found, key=lambda cls: (cls.kind, cls.__qualname__))
