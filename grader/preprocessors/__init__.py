"""The course's nbgrader preprocessors, one per file, named after the step they take.

:file:`grader/nbgrader_config.py` puts them into nbgrader's pipelines:

- sanitize (before a submission runs): :mod:`.known_grading_cells`;
- autograde: :mod:`.insert_export_cells` -> :mod:`.resilient_execute` -> :mod:`.remove_export_cells`
  -> :mod:`.sanitize_markdown` (between nbgrader's own steps);
- feedback: :mod:`.results_summary` -> :mod:`.clear_hidden_tests` -> :mod:`.concise_test_errors`
  -> :mod:`.sanitize_markdown`.
"""

from .clear_hidden_tests import ClearHiddenTestsInTestCells
from .concise_test_errors import ConciseTestErrors
from .insert_export_cells import InsertExportCells
from .known_grading_cells import KnownGradingCells
from .remove_export_cells import RemoveExportCell
from .resilient_execute import ResilientExecute
from .results_summary import ResultsSummary
from .sanitize_markdown import SanitizeMarkdown

__all__ = ["ClearHiddenTestsInTestCells", "ConciseTestErrors", "InsertExportCells", "KnownGradingCells",
           "RemoveExportCell", "ResilientExecute", "ResultsSummary", "SanitizeMarkdown"]
