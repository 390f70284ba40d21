"""Running a point's notebook in a Jupyter kernel (papermill), and stopping kernels at once.

Every point of the ``notebook`` executor runs ``experiment.ipynb`` with papermill in a
kernel of its own (:func:`execute_notebook`); the ``process`` executor uses the same call
afterwards to render the executed notebook of a finished run (which only loads it). A
sweep's threads share one :class:`Stop`: why the sweep stops (a signal, a full disk) and
the process id of every running kernel, so a stop kills them all (each kernel leads its
own process group, which takes its children with it).
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from xmodal.rundir import RunDir
from xmodal.sweep.grid import StudyPoint

__all__ = ["ANSI", "TRACEBACK_LINES", "Stop", "execute_notebook", "notebook_parameters", "traceback_tail"]

#: Lines of traceback kept in a run's error record.
TRACEBACK_LINES = 40
#: Terminal colour codes (papermill's tracebacks carry them).
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def traceback_tail(lines: Sequence[str]) -> list[str]:
    """The last :data:`TRACEBACK_LINES` non-empty lines of a traceback, without colour codes."""
    text = ANSI.sub("", "\n".join(lines))
    out = [ln for ln in text.splitlines() if ln.strip()]
    return out[-TRACEBACK_LINES:]


def _kill_kernel(pid: int) -> None:
    """Kill a kernel and everything it started (it leads its own process group)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, signal.SIGKILL)


class Stop:
    """Why a sweep stops, shared by its threads, and the kernels to kill then.

    The signal handler only sets :attr:`signum` and the event (nothing that
    takes a lock); the main thread's loop then calls :meth:`kill_kernels`, and a
    kernel that starts after that kills itself in :meth:`kernel_started`.
    """

    def __init__(self) -> None:
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._kernels: dict[str, int] = {}
        self.signum: int | None = None
        self.disk_full: str | None = None

    def is_set(self) -> bool:
        """Whether the sweep is stopping (a signal or a full disk)."""
        return self._event.is_set()

    def interrupt(self, signum: int) -> None:
        """Stop because of a signal (safe to call from a signal handler)."""
        if self.signum is None:
            self.signum = signum
        self._event.set()

    def no_space(self, message: str) -> None:
        """Stop starting points: the disk is full (``message`` says where and how much)."""
        if self.disk_full is None:
            self.disk_full = message
        self._event.set()

    def kernel_started(self, point: str, pid: int) -> None:
        """Record the kernel of ``point`` (killed at once when the sweep is already stopping)."""
        with self._lock:
            self._kernels[point] = pid
        if self.signum is not None:
            _kill_kernel(pid)

    def kernel_ended(self, point: str) -> None:
        """Forget the kernel of ``point``."""
        with self._lock:
            self._kernels.pop(point, None)

    def kill_kernels(self) -> None:
        """Kill every recorded kernel now."""
        with self._lock:
            pids = list(self._kernels.values())
        for pid in pids:
            _kill_kernel(pid)


def _tracked_kernel_manager(stop: Stop, point: str) -> type:
    """A kernel manager class that reports its kernel's pid to ``stop`` (so an interrupt can end it)."""
    from jupyter_client.manager import AsyncKernelManager

    class TrackedKernelManager(AsyncKernelManager):
        async def start_kernel(self, **kw: Any) -> None:  # type: ignore[override]
            await super().start_kernel(**kw)
            pid = getattr(self.provisioner, "pid", None)
            if pid is not None:
                stop.kernel_started(point, int(pid))

    return TrackedKernelManager


def notebook_parameters(point: StudyPoint, run: RunDir) -> dict[str, Any]:
    """The notebook parameters of a point: every config field and ``out_dir``, its run folder."""
    return {**point.config.to_dict(), "out_dir": str(run.path)}


def execute_notebook(point: StudyPoint, run: RunDir, notebook: Path, kernel_name: str, stop: Stop) -> None:
    """Execute the experiment notebook of ``point`` into the run's partial notebook (its kernel tracked by ``stop``).

    Raises:
        papermill.PapermillExecutionError: a cell failed (its exception's name, message and traceback).
    """
    import papermill as pm

    pm.execute_notebook(str(notebook), str(run.partial_notebook_path), parameters=notebook_parameters(point, run),
                        kernel_name=kernel_name, progress_bar=False, log_output=False,
                        kernel_manager_class=_tracked_kernel_manager(stop, point.name))
