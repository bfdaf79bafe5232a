"""Course-root nbgrader configuration: the settings live in grader/nbgrader_config.py."""

load_subconfig("grader/nbgrader_config.py")  # noqa: F821 (provided by traitlets)
