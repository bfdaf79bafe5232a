"""Trusted checks: how the grader scores an exercise outside the student's process.

nbgrader scores an exercise by running its test cell in the student's kernel, so a submission that
patches NumPy, the check helpers or IPython can award itself points. A *trusted check* takes that
decision away from the kernel:

1. After the notebook has run, the grader asks the kernel for *exports*: the answer function called
   on inputs the grader draws at run time (:class:`FunctionCheck`), or the model it returns saved in
   Keras's ``.keras`` format (:class:`ModelCheck`). Exports are plain data: JSON and ``.keras``
   files, nothing pickled.
2. The solution notebook is run the same way, with the same inputs, for the reference exports.
3. A separate verifier process, with no student code in it, compares the two and applies the
   chapter's thresholds (:mod:`grader.verify`). Its verdict replaces the kernel's score of that
   exercise in the gradebook.

A chapter declares its checks in ``grading.py`` beside its solution notebook
(``solutions/<chapter>/grading.py``), as a list named ``CHECKS``. The file is never released to
students and never visible to the kernel.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

#: The file, beside a solution notebook, that declares the chapter's trusted checks.
SPEC_FILENAME = "grading.py"


@dataclass(frozen=True)
class FunctionCheck:
    """Compare what the student's function returns with what the solution's returns.

    Attributes
    ----------
    grade_id : str
        The nbgrader ``grade_id`` of the exercise's test cell.
    calls : list of str
        Python expressions evaluated in the notebook's namespace, e.g. ``"double(a)"``. The names
        that ``inputs`` returns are available to them.
    inputs : callable, optional
        ``inputs(rng)`` returns a dict of NumPy arrays drawn from ``rng`` (a ``numpy.random.Generator``
        seeded freshly by each grading run), so answers cannot be hard-coded.
    rtol, atol : float
        Tolerances for floating-point results (loose enough for GPU and CPU to agree).
    verify : callable, optional
        ``verify(student_results, reference_results)`` returns a failure message or None, for
        comparisons that equality cannot express. The default compares every result.
    dtypes : bool
        Make the default comparison require the solution's dtypes too: arrays of the same dtype
        (int32 is not int64, float32 is not float64) and Python numbers of the same type (a bool,
        an int or a float), at every level of the results (see :func:`grader.verify.compare`).
        A ``verify`` function does its own comparison and ignores this.
    """

    grade_id: str
    calls: list[str]
    inputs: Callable[[np.random.Generator], dict[str, np.ndarray]] | None = None
    rtol: float = 1e-4
    atol: float = 1e-5
    verify: Callable[[list[Any], list[Any]], str | None] | None = None
    dtypes: bool = False


@dataclass(frozen=True)
class ModelCheck:
    """Check a Keras model that the student's code returns.

    The model is saved by the kernel as a ``.keras`` file and loaded by the verifier with
    ``safe_mode=True`` (a model that needs code to load, such as a ``Lambda`` layer, fails).

    Attributes
    ----------
    grade_id : str
        The nbgrader ``grade_id`` of the exercise's test cell.
    call : str
        A Python expression evaluated in the notebook's namespace that returns the model,
        e.g. ``"build_model()"``.
    same_parameters : bool
        Require exactly the reference model's number of parameters (and of trainable parameters).
    same_shapes : bool
        Require the reference model's input and output shapes.
    held_out : callable, optional
        ``held_out()`` returns ``(x, y)``: data the verifier evaluates the model on (loaded in the
        verifier, for example with :mod:`course_utils.data`; never data the submission provides).
    threshold : float, optional
        The value of ``metric`` on ``held_out`` that the model must reach: at least this much, or
        at most this much when ``lower_is_better``.
    metric : callable, optional
        ``metric(model, x, y)`` returns a float. The default is accuracy: argmax of the outputs
        against integer labels, or a 0.5 threshold for one sigmoid output.
    metric_name : str
        What ``metric`` measures, for messages and the benchmark table (e.g. ``"accuracy"``, ``"MAE"``).
    lower_is_better : bool
        True for errors and losses: the model passes when ``metric`` is at most ``threshold``.
    verify : callable, optional
        ``verify(model, reference_model)`` returns a failure message or None, for anything else.
    """

    grade_id: str
    call: str
    same_parameters: bool = True
    same_shapes: bool = True
    held_out: Callable[[], tuple[Any, Any]] | None = None
    threshold: float | None = None
    metric: Callable[[Any, Any, Any], float] | None = None
    metric_name: str = "accuracy"
    lower_is_better: bool = False
    verify: Callable[[Any, Any], str | None] | None = None


Check = FunctionCheck | ModelCheck


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
    if not isinstance(checks, list) or not all(isinstance(c, (FunctionCheck, ModelCheck)) for c in checks):
        raise SpecError(f"{path} must define CHECKS as a list of FunctionCheck and ModelCheck")
    grade_ids = [check.grade_id for check in checks]
    duplicates = sorted({g for g in grade_ids if grade_ids.count(g) > 1})
    if duplicates:
        raise SpecError(f"{path} declares more than one check for {', '.join(duplicates)}")
    return ChapterSpec(path, checks)
