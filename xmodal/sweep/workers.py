"""Long-lived training processes for a sweep: the ``process`` executor.

A sweep's ``notebook`` executor runs every point in a fresh Jupyter kernel, which
pays kernel start, the torch and xmodal imports and the notebook's figures once per
run: about 9 s on a 2-core CPU, a third of the job time of short runs. The
``process`` executor trains the points in ``jobs`` worker processes started once (the
``spawn`` start method, so no thread or CUDA state is inherited) that call
:func:`xmodal.training.run_experiment` directly: same config, same run folder, same
files, bit for bit the same results. The executed notebook, the record a reader
opens, is then rendered by papermill for the points the study asks for (its
``notebooks`` key): :func:`xmodal.training.run_experiment` finds the finished result and
the notebook only loads and draws it.

A worker never raises across the process boundary: it returns ``{"status": "ok"}``
or the failure as plain strings, which the sweep turns into the run's error record.
Stopping (SIGINT, SIGTERM) kills the workers; a killed run keeps its last
checkpoint and resumes next time, as with the notebook executor.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import threading
import traceback
import warnings
from concurrent.futures import ProcessPoolExecutor
from typing import Any

__all__ = ["WorkerPool", "train_point"]


def _init_worker() -> None:
    """Import torch and the trainer once per worker, and leave Ctrl-C to the sweep (it kills the workers)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # tqdm's default lock is a multiprocessing lock, a semaphore registered with the sweep's resource
    # tracker: a worker killed on Ctrl-C never unregisters it, and the tracker then warns at exit of a
    # "leaked semaphore". A worker's bars are its own, so a thread lock is all it needs.
    from tqdm import tqdm

    tqdm.set_lock(threading.RLock())
    import xmodal.training  # noqa: F401  (the import is the point: paid once per worker)


def train_point(config: dict[str, Any], out_dir: str) -> dict[str, Any]:
    """Train and evaluate one point in a worker (resuming from its checkpoint); never raises.

    Warnings (e.g. skipped patches, also recorded in the result) are not printed: the
    notebook executor keeps them in the executed notebook, this one in ``warnings``.

    Returns:
        ``{"status": "ok", "warnings": [...]}`` or ``{"status": "failed", "exception": name,
        "message": text, "traceback": lines}``.
    """
    try:
        from xmodal.config import ExperimentConfig
        from xmodal.training import run_experiment

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            run_experiment(ExperimentConfig.from_dict(config), out_dir, resume=True)
        return {"status": "ok", "warnings": sorted({str(w.message) for w in caught})}
    except BaseException as exc:  # noqa: BLE001 - everything is reported, nothing crosses the process boundary
        return {"status": "failed", "exception": type(exc).__name__, "message": str(exc),
                "traceback": traceback.format_exception(exc)}


class WorkerPool:
    """``jobs`` spawned worker processes training points, and the means to kill them at once.

    Args:
        jobs: number of workers (points trained at once).
    """

    def __init__(self, jobs: int) -> None:
        self._pool = ProcessPoolExecutor(max_workers=max(1, jobs), mp_context=multiprocessing.get_context("spawn"),
                                         initializer=_init_worker)
        self._lock = threading.Lock()
        self._killed = False

    def train(self, config: dict[str, Any], out_dir: str) -> dict[str, Any]:
        """Train one point in a worker and wait for it (called from one of the sweep's threads)."""
        with self._lock:
            if self._killed:
                return {"status": "interrupted"}
            future = self._pool.submit(train_point, config, out_dir)
        try:
            return future.result()
        except Exception as exc:  # the worker died (killed, out of memory): BrokenProcessPool
            if self._killed:
                return {"status": "interrupted"}
            return {"status": "failed", "exception": type(exc).__name__,
                    "message": f"the worker process training {out_dir} died: {exc}",
                    "traceback": traceback.format_exception(exc)}

    def pids(self) -> list[int]:
        """Process ids of the running workers."""
        processes = getattr(self._pool, "_processes", None) or {}
        return [int(pid) for pid in processes]

    def kill(self) -> None:
        """Kill every worker now (their runs keep their last checkpoint)."""
        with self._lock:
            self._killed = True
            for pid in self.pids():
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)

    def close(self) -> None:
        """Shut the workers down and wait until they are gone.

        Also after :meth:`kill`: killed workers end at once, and none outlives the sweep.
        """
        self._pool.shutdown(wait=True, cancel_futures=True)
