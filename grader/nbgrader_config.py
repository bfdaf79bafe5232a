"""The course's nbgrader settings, each chosen deliberately.

``tfcourse`` loads this file and then fills in the folders of the run at hand (course root, source,
release, submissions, gradebook). The ``nbgrader_config.py`` at the course root loads it too, so
``nbgrader`` commands and the formgrader use the same settings.
"""

from nbconvert.preprocessors import ClearMetadataPreprocessor, CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import (AssignLatePenalties, CheckCellMetadata, ClearOutput, GetGrades, IgnorePattern,
                                    LimitOutput, OverwriteCells, OverwriteKernelspec, SaveAutoGrades)

from grader.preprocessors import (ClearHiddenTestsInTestCells, ConciseTestErrors, InsertExportCells, KnownGradingCells,
                                  RemoveExportCell, ResilientExecute, ResultsSummary, SanitizeMarkdown)

c = get_config()  # noqa: F821 (traitlets provides get_config to config files)

# solutions/ is the single source of truth; course/ is the student release generated from it.
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "course"
c.CourseDirectory.submitted_directory = "submitted"
c.CourseDirectory.autograded_directory = "autograded"
c.CourseDirectory.feedback_directory = "feedback"
# Never copy checkpoints, caches or hidden files between steps.
# grading.py holds a chapter's trusted checks (grader/checks/): it stays with the instructor.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", ".*", "*.keras", "*.h5", "grading.py"]
# Refuse to copy any single file over 20 MB out of a submission (a flood of data is not an answer).
c.CourseDirectory.max_file_size = 20_000

# The stub the students see in place of each answer.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.enforce_metadata = True

# Training cells take tens of seconds on a 2-core laptop; nbgrader's default of 30 s per cell would
# score correct answers 0. A cell that runs longer than this is interrupted, scored 0, and the rest
# of the notebook is still executed and graded.
c.Execute.timeout = 300
c.Execute.interrupt_on_timeout = True
# Importing TensorFlow takes several seconds; give a slow machine room to start the kernel.
c.Execute.startup_timeout = 120
# An in-memory history for each grading kernel, and no kernel log lines in the grader's terminal.
c.Execute.extra_arguments = ["--HistoryManager.hist_file=:memory:", "--IPKernelApp.log_level=ERROR"]
# nbgrader's own sanitizing steps, with DeduplicateIds replaced: a pasted copy of a graded cell, or a cell
# with grading metadata the gradebook does not know, becomes an ordinary cell with a note, instead of
# failing the whole submission (nbgrader keeps the last copy and then fails on the others).
c.Autograde.sanitize_preprocessors = [ClearOutput, KnownGradingCells, OverwriteKernelspec, OverwriteCells,
                                      CheckCellMetadata]
# nbgrader's own autograde steps, with Execute replaced by one that survives a kernel that dies
# (os._exit, a crash, a limit): the tests already run keep their scores and the rest score 0.
# The export cells of trusted checks (grader/checks/) are inserted before execution and removed after.
# Markdown and raw cells that hold unsafe HTML are shown as text in the autograded notebook, which the
# formgrader renders without sanitizing Markdown (grader/preprocessors/sanitize_markdown.py).
c.Autograde.autograde_preprocessors = [InsertExportCells, ResilientExecute, RemoveExportCell, IgnorePattern,
                                       SanitizeMarkdown, ClearMetadataPreprocessor, LimitOutput, SaveAutoGrades,
                                       AssignLatePenalties, CheckCellMetadata]

# A test cell that a student deleted is put back from the gradebook and graded, instead of leaving
# the grade empty ("needs manual grading") forever.
c.OverwriteCells.add_missing_cells = True

# Keep executed notebooks (and the gradebook and feedback built from them) small, whatever a
# submission prints.
c.LimitOutput.max_lines = 1000
c.LimitOutput.max_traceback = 100

# Feedback starts with a table of the results (score and what to fix, per exercise) and shows the
# failure message of each test, never the hidden test code: the hidden tests are cleared and
# tracebacks (which quote the lines around the failure) cut to one line.
# Student output is untrusted: feedback pages, and the formgrader's view of a submission (which loads
# this file too), render outputs through nbconvert's sanitizer (no scripts, event handlers or
# javascript: links; JavaScript outputs are left out). Markdown was made safe at autograding, and is
# checked again after the results table is added.
c.HTMLExporter.sanitize_html = True
c.GenerateFeedback.preprocessors = [GetGrades, ResultsSummary, ClearHiddenTestsInTestCells, ConciseTestErrors,
                                    SanitizeMarkdown, CSSHTMLHeaderPreprocessor]
