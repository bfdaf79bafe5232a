"""Function checks: the student's function, called on inputs drawn at grading time, against the solution's."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from .base import Check
from .compare import compare
from .export_files import encode_array, read_results
from .in_kernel import decode, encode


def export_results(item, folder, namespace):
    """In the kernel: evaluate each call of ``item`` with the drawn inputs and write the results as JSON."""
    import json
    import os

    results = []
    for call in item["calls"]:
        # One namespace (the notebook's names, then the inputs), so that comprehensions and lambdas
        # in a call see the inputs too; the notebook's own names are not changed.
        names = dict(namespace)
        names.update({name: decode(value) for name, value in item["inputs"].items()})
        results.append(encode(eval(call, names)))
    with open(os.path.join(folder, item["grade_id"] + ".json"), "w") as handle:
        json.dump(results, handle)


@dataclass(frozen=True)
class FunctionCheck(Check):
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
        an int or a float), at every level of the results (see :func:`grader.checks.compare.compare`).
        A ``verify`` function does its own comparison and ignores this.
    """

    grade_id: str
    calls: list[str]
    inputs: Callable[[np.random.Generator], dict[str, np.ndarray]] | None = None
    rtol: float = 1e-4
    atol: float = 1e-5
    verify: Callable[[list[Any], list[Any]], str | None] | None = None
    dtypes: bool = False

    kind: ClassVar[str] = "function"
    kernel_export: ClassVar = staticmethod(export_results)

    def draw(self, rng: np.random.Generator) -> dict[str, np.ndarray] | None:
        """Draw the inputs from ``rng`` (None when the check has no ``inputs``)."""
        if self.inputs is None:
            return None
        return {name: np.asarray(value) for name, value in self.inputs(rng).items()}

    def export_plan(self, drawn: dict[str, np.ndarray]) -> dict:
        """The calls to evaluate and the drawn inputs, encoded."""
        return {"calls": list(self.calls), "inputs": {name: encode_array(array) for name, array in drawn.items()}}

    def judge(self, student: Path, reference: Path, measured: dict[str, Any]) -> str | None:
        """Compare each result with the solution's (or apply ``verify``)."""
        results = read_results(student, self.grade_id)
        expected = read_results(reference, self.grade_id)
        if len(results) != len(self.calls):
            return f"{len(results)} results were exported for {len(self.calls)} calls"
        if self.verify is not None:
            return self.verify(results, expected)
        for call, value, expected_value in zip(self.calls, results, expected):
            problem = compare(value, expected_value, self.rtol, self.atol, where=f"{call} on the grader's inputs",
                              dtypes=self.dtypes)
            if problem:
                return problem
        return None
