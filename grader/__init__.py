"""Build, check and grade the course's nbgrader notebooks.

The path of one submission, in the order it travels (see README.md, "How grading works"):

- :mod:`grader.cli` is the ``tfcourse`` command; ``tfcourse grade`` calls the session.
- :mod:`grader.session` is the orchestrator: the grading folder's lock (:mod:`grader.workspace`),
  the submissions found, sequential or parallel grading, the CSV. Its options are one
  :class:`grader.options.GradingOptions`.
- :mod:`grader.context` is what one grading process sets up once: the sandbox, nbgrader's
  configuration (:mod:`grader.config`, :file:`grader/nbgrader_config.py`, :mod:`grader.nbgrader_api`)
  and the trusted checks' reference exports (:mod:`grader.reference`).
- :mod:`grader.workers` runs submissions on local worker processes or a Dask cluster; each worker
  grades with the same one-submission pipeline.
- :mod:`grader.submission` is one submission's pipeline: validate, autograde, verify, results, feedback.
- :mod:`grader.preprocessors` holds the course's nbgrader steps, one per file.
- :mod:`grader.sandbox` is where kernels and the verifier run (how is chosen in :mod:`grader.sandbox.mode`).
- :mod:`grader.checks` holds the trusted check types, each owning its export and its verification,
  the verifier, and the helpers of chapters' ``grading.py`` (:mod:`grader.checks.library`).
- :mod:`grader.verdicts` runs the verifier on a submission and applies its verdicts.
- :mod:`grader.gradebook` is every read and write of nbgrader's gradebook.
- :mod:`grader.results` turns gradebook rows and executed notebooks into per-exercise results.

Around grading: :mod:`grader.build` generates the student release in ``course/`` from
``solutions/``; :mod:`grader.selfcheck` scores one learner's notebook (``tfcourse check``);
:mod:`grader.bench` is the benchmark; :mod:`grader.notebooks` reads and writes notebooks in the
course's canonical JSON form; :mod:`grader.cell_metadata` and :mod:`grader.untrusted_html` hold the
rules that two preprocessors apply; :mod:`grader.paths` finds the course's folders.
"""

__version__ = "0.1.0"
