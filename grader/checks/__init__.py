"""Trusted checks: how the grader scores an exercise outside the student's process.

nbgrader scores an exercise by running its test cell in the student's kernel, so a submission that
patches NumPy, the check helpers or IPython can award itself points. A *trusted check* takes that
decision away from the kernel:

1. After the notebook has run, the grader asks the kernel for *exports*: the answer function called
   on inputs the grader draws at run time (:class:`FunctionCheck`), or the model it returns saved in
   Keras's ``.keras`` format (:class:`ModelCheck`). Exports are plain data: JSON and ``.keras``
   files, nothing pickled (:mod:`grader.checks.export_cell`, :mod:`grader.checks.export_files`).
2. The solution notebook is run the same way, with the same inputs, for the reference exports
   (:mod:`grader.reference`).
3. A separate verifier process, with no student code in it, compares the two and applies the
   chapter's thresholds (:mod:`grader.checks.verifier`). Its verdict replaces the kernel's score of
   that exercise in the gradebook (:mod:`grader.verdicts`).

A chapter declares its checks in ``grading.py`` beside its solution notebook
(``solutions/<chapter>/grading.py``), as a list named ``CHECKS``, using the check types below and
the helpers of :mod:`grader.checks.library`. The file is never released to students and never
visible to the kernel. Each check type is one class (see :mod:`grader.checks.base` for how to add one).
"""

from .base import Check
from .function import FunctionCheck
from .model import ModelCheck, accuracy
from .spec import SPEC_FILENAME, ChapterSpec, SpecError, load_spec

__all__ = ["Check", "ChapterSpec", "FunctionCheck", "ModelCheck", "SPEC_FILENAME", "SpecError", "accuracy",
           "load_spec"]
