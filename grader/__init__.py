"""Build, check and grade the course's nbgrader notebooks.

- :mod:`grader.notebooks` reads and writes notebooks in the course's canonical JSON form.
- :mod:`grader.config` loads the course's nbgrader settings (:file:`grader/nbgrader_config.py`).
- :mod:`grader.build` generates the student release in ``course/`` from ``solutions/``.
- :mod:`grader.autograde` grades folders of submissions into a real nbgrader gradebook.
- :mod:`grader.report` turns gradebook rows and executed notebooks into per-exercise results.
- :mod:`grader.check` scores one learner's notebook for self-study.
- :mod:`grader.cli` is the ``tfcourse`` command.
"""

__version__ = "0.1.0"
