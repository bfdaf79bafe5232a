"""The options of a grading session, in one object."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .sandbox import Limits


@dataclass(frozen=True)
class GradingOptions:
    """How a grading session runs (every field has the course's default).

    Attributes
    ----------
    timeout : int, optional
        Per-cell timeout in seconds (the course default of :file:`grader/nbgrader_config.py` otherwise).
    feedback : bool
        Generate a feedback HTML page per graded submission.
    class_report : bool
        Write the instructor's class report beside ``grades.csv`` (:mod:`grader.class_report`);
        ``tfcourse check`` leaves it out, since its grading folder is thrown away.
    progress : bool
        Show a progress bar on standard error.
    limits : Limits
        Resource limits of each submission's kernel.
    seed : int, optional
        Seed of the inputs that trusted checks draw (a fresh random one by default; give one to
        repeat a run exactly).
    workers : int
        Submissions graded at the same time, each in its own local worker process (see
        :mod:`grader.workers`); 1 grades them one after the other in this process.
    scheduler : str, optional
        The address of a Dask distributed scheduler: grade on that cluster's workers instead.
    reference_cache : Path, optional
        Keep the solutions' reference exports in this folder between runs with the same seed (see
        :class:`grader.reference.References`).

    Raises
    ------
    ValueError
        When ``workers`` is below 1.
    """

    timeout: int | None = None
    feedback: bool = True
    class_report: bool = True
    progress: bool = True
    limits: Limits = field(default_factory=Limits)
    seed: int | None = None
    workers: int = 1
    scheduler: str | None = None
    reference_cache: Path | None = None

    def __post_init__(self) -> None:
        if int(self.workers) < 1:
            raise ValueError(f"workers must be at least 1, got {self.workers}")

    @property
    def parallel(self) -> bool:
        """True when submissions go to worker processes or a cluster rather than this process."""
        return self.workers > 1 or bool(self.scheduler)
