"""Build, check and grade the course's nbgrader notebooks.

- :mod:`grader.notebooks` reads and writes notebooks in the course's canonical JSON form.
- :mod:`grader.config` loads the course's nbgrader settings (:file:`grader/nbgrader_config.py`).
- :mod:`grader.build` generates the student release in ``course/`` from ``solutions/``.
- :mod:`grader.autograde` grades folders of submissions into a real nbgrader gradebook.
- :mod:`grader.sandbox` runs each submission's kernel in a bubblewrap sandbox with resource limits.
- :mod:`grader.execute` keeps grading when a kernel dies or ignores an interrupt.
- :mod:`grader.specs`, :mod:`grader.exports`, :mod:`grader.export_data`, :mod:`grader.verify` and
  :mod:`grader.trusted` score exercises outside the student's process (trusted checks).
- :mod:`grader.workspace` lets one grading run at a time use a grading folder.
- :mod:`grader.feedback` holds the preprocessors of the students' feedback pages.
- :mod:`grader.report` turns gradebook rows and executed notebooks into per-exercise results.
- :mod:`grader.check` scores one learner's notebook for self-study.
- :mod:`grader.cli` is the ``tfcourse`` command.
"""

__version__ = "0.1.0"
