"""Helpers that the course notebooks import.

The package is split into one small module per responsibility:

- :mod:`course_utils.setup` quiets TensorFlow (holding back the lines it writes while it loads),
  seeds every generator and reports the environment.
- :mod:`course_utils.data` loads data sets offline first and says where they came from.
- :mod:`course_utils.plots` draws training curves, image grids, confusion matrices and model diagrams.
- :mod:`course_utils.checks` holds the feedback-giving checks that the exercise test cells call.
- :mod:`course_utils.synthetic` generates text data sets with real signal (support tickets, sentence
  pairs, questions and passages) for the functional-API chapter.
- :mod:`course_utils.pretrained` trains and caches the course's own pretrained base model, offline.
- :mod:`course_utils.devices` lists and configures devices, splits the CPU into logical devices and
  measures throughput.
- :mod:`course_utils.selfcheck` scores the saved notebook from its last cell (``tfcourse check`` in
  a separate process) and shows the learner's progress over all chapters.

Importing the package itself is cheap: TensorFlow is only imported by the functions that need it.
"""

__version__ = "0.1.0"
