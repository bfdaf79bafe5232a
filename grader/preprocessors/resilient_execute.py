"""Autograde step: nbgrader's Execute, made to keep grading when a submission's kernel dies.

A submission can end its own kernel (``os._exit``, a segmentation fault, the memory limit, the
whole-notebook time limit of :mod:`grader.sandbox`). nbgrader's Execute then stops with an exception
and the submission gets no grade at all. :class:`ResilientExecute` instead records, in the cell where
the kernel died and in every later code cell, an error that says what happened; nbgrader then scores
the tests that already passed and gives 0 to the rest.
"""

from __future__ import annotations

from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat import NotebookNode
from nbgrader.preprocessors import Execute

from ..sandbox import take_stop_reason

KERNEL_DIED = "KernelDied"


def error_output(name: str, message: str) -> NotebookNode:
    """Return a notebook error output with ``name`` and a one-line ``message``."""
    return NotebookNode(output_type="error", ename=name, evalue=message, traceback=[f"{name}: {message}"])


class ResilientExecute(Execute):
    """Execute every cell; after the kernel dies, mark the remaining code cells as not run."""

    def preprocess(self, nb, resources=None, km=None):
        """Execute the notebook, remembering whether the kernel has died."""
        self._died_in_cell = None
        return super().preprocess(nb, resources, km)

    def preprocess_cell(self, cell, resources, index):
        """Execute one cell, or record why it could not run."""
        if cell.cell_type != "code":
            return cell, resources
        if self._died_in_cell is not None:
            cell.outputs = [error_output(KERNEL_DIED, (
                f"not run: the kernel stopped in cell {self._died_in_cell + 1} (see that cell)"))]
            return cell, resources
        try:
            return super().preprocess_cell(cell, resources, index)
        except CellTimeoutError:
            # The cell passed its time limit and ignored the interrupt: the kernel is shut down with
            # the rest of the notebook unrun (a kernel that ignores interrupts cannot be trusted to
            # run anything else).
            self._died_in_cell = index
            cell.setdefault("outputs", []).append(error_output(KERNEL_DIED, (
                f"this cell ran longer than {self.timeout} s and did not stop when interrupted, so the "
                "kernel was stopped")))
            return cell, resources
        except DeadKernelError:
            self._died_in_cell = index
            # The sandbox's launcher says why when it stopped the kernel itself (a limit).
            reason = take_stop_reason(self.km.connection_file) if self.km is not None else ""
            cell.setdefault("outputs", []).append(error_output(KERNEL_DIED, (
                f"the kernel stopped while running this cell: {reason}" if reason else
                "the kernel stopped while running this cell: the code exited the Python process "
                "(os._exit), crashed, ran out of memory, or the notebook passed its total time limit")))
            return cell, resources
