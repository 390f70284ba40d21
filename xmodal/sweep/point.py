"""One point of a sweep, start to end, whichever way it runs (a kernel or a worker).

Before a point starts, leftovers of killed processes are removed from its folder and the
free space is checked against what a run needs (:func:`~xmodal.sweep.grid.space_needed`).
The point then runs under its run folder's lock (a point held by another sweep is
reported as running elsewhere and does not count as a failure): its notebook in a
Jupyter kernel (:mod:`xmodal.sweep.kernel`) or its training in a worker process
(:mod:`xmodal.sweep.workers`). A failing point leaves its error record (its exception,
message and the tail of its traceback) and the failed notebook; a point stopped on
purpose (SIGINT, SIGTERM) leaves neither, only its checkpoint, and resumes next time.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import time
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from xmodal import atomic
from xmodal.atomic import DiskFullError
from xmodal.rundir import RunDir, RunError
from xmodal.sweep.grid import StudyPoint, space_needed
from xmodal.sweep.kernel import ANSI, Stop, execute_notebook, traceback_tail
from xmodal.sweep.workers import WorkerPool

__all__ = ["KILLED_WRITER_SECONDS", "execute_point", "point_status", "render_point", "run_lock"]

#: How long a stopped point waits for its killed kernel or worker to be gone before removing its temporaries.
KILLED_WRITER_SECONDS = 10.0


def point_status(run_dir: str | os.PathLike[str]) -> str:
    """``"ok"``, ``"failed"``, ``"partial"`` or ``"pending"``: :meth:`xmodal.rundir.RunDir.status`."""
    return RunDir(run_dir).status()


@contextlib.contextmanager
def run_lock(run: RunDir) -> Iterator[bool]:
    """An advisory lock on a run folder (released when the process dies); yields whether it was taken."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield True
        return
    fh = open(run.lock_path, "a")
    try:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            yield False
            return
        yield True
    finally:
        fh.close()


def _mb(n: float) -> str:
    return f"{n / 2**20:,.0f} MB" if n < 2**30 else f"{n / 2**30:,.1f} GB"


def execute_point(
    point: StudyPoint, study_dir: Path, notebook: Path, kernel_name: str, stop: Stop | None = None,
    pool: WorkerPool | None = None,
) -> dict[str, Any]:
    """Run one point with papermill or in a worker of ``pool``; return a summary (never raises for a failing run).

    Statuses: ``ok``, ``failed`` (an error record was written: ``error_file``),
    ``busy`` (another sweep holds the point), ``interrupted`` (stopped: partial
    notebook removed, no error record, checkpoint kept), ``not started`` (the
    sweep was stopping), ``no space`` (not enough free disk to start).
    """
    import papermill as pm

    stop = stop or Stop()
    run = RunDir(study_dir / point.dir_name)
    summary: dict[str, Any] = {"point": point.name, "dir": point.dir_name, "seconds": 0.0}
    if stop.is_set():
        return {**summary, "status": "not started"}
    need = space_needed(point.config)
    free = shutil.disk_usage(study_dir).free
    if free < need:
        stop.no_space(
            f"Not enough free space for run {point.name} in {study_dir}: {_mb(free)} free, a run of this study needs "
            f"about {_mb(need)} (checkpoint with optimiser state, written twice, and outputs); free some space "
            "there or choose another --runs folder, and run the same command again: finished runs are kept"
        )
        return {**summary, "status": "no space"}
    run.prepare()  # the folder, without temporaries of killed processes
    t0 = time.time()
    with run_lock(run) as locked:
        if not locked:
            return {**summary, "status": "busy", "error": "running in another sweep"}
        if run.status() == "ok":  # finished meanwhile by another sweep
            return {**summary, "status": "ok", "skipped": True}
        if stop.is_set():
            return {**summary, "status": "not started"}
        run.clear_error()
        run.notebook_path.unlink(missing_ok=True)  # the record of an earlier attempt is being replaced
        partial = run.partial_notebook_path
        error: RunError | None = None
        try:
            if pool is not None:
                outcome = pool.train(point.config.to_dict(), str(run.path))
                if outcome["status"] == "failed":
                    error = RunError(outcome["exception"], outcome["message"],
                                     traceback_tail(outcome.get("traceback") or []))
                elif run.status() != "ok":
                    error = RunError("MissingResult" if outcome["status"] == "ok" else "WorkerStopped",
                                     f"the run ended ({outcome['status']}) but {run.result_path} is missing or not ok")
            else:
                execute_notebook(point, run, notebook, kernel_name, stop)
                if run.status() != "ok":
                    error = RunError("MissingResult",
                                     f"the notebook finished but {run.result_path} is missing or not ok")
        except pm.PapermillExecutionError as exc:
            error = RunError(exc.ename, ANSI.sub("", str(exc.evalue)), traceback_tail(exc.traceback))
        except Exception as exc:  # kernel died or was killed, notebook unreadable, ...
            error = RunError(type(exc).__name__, str(exc), traceback_tail(traceback.format_exception(exc)))
        finally:
            stop.kernel_ended(point.name)
        seconds = time.time() - t0
        summary["seconds"] = seconds
        if run.status() == "ok":
            with contextlib.suppress(FileNotFoundError):
                os.replace(partial, run.notebook_path)
            return {**summary, "status": "ok"}
        if stop.signum is not None:  # stopped on purpose: resumable, no error record
            partial.unlink(missing_ok=True)
            # its kernel or worker was just killed: wait for it to be gone, then remove what it was writing
            atomic.remove_stale_temps(run.path, wait=KILLED_WRITER_SECONDS)
            return {**summary, "status": "interrupted"}
        assert error is not None
        with contextlib.suppress(FileNotFoundError):
            os.replace(partial, run.notebook_path)  # the failed notebook is kept for inspection
        atomic.remove_stale_temps(run.path)
        if error.exception == DiskFullError.__name__:  # the kernel ran out of space: start no further point
            stop.no_space(re.sub(r"^\[Errno \d+\] ", "", error.message))
        record = RunError(error.exception, error.message, error.traceback, {
            "point": point.name, "study": point.study, "config_hash": point.config.hash(),
            "config": point.config.to_dict(), "seconds": seconds, "time": time.strftime("%Y-%m-%dT%H:%M:%S%z")})
        out = {**summary, "status": "failed", "error": error.summary}
        try:
            run.write_error(record)
            out["error_file"] = str(run.error_path)
        except OSError as exc:  # a full or read-only disk: say so, point at no file
            out["error"] = f"{error.summary} (its error record could not be written: {exc})"
            if isinstance(exc, DiskFullError):
                stop.no_space(str(exc.strerror))
        return out


def render_point(point: StudyPoint, study_dir: Path, notebook: Path, kernel_name: str, stop: Stop) -> dict[str, Any]:
    """Execute the notebook of a finished point (it loads the result: nothing is trained again)."""
    run = RunDir(study_dir / point.dir_name)
    summary: dict[str, Any] = {"point": point.name, "dir": point.dir_name, "seconds": 0.0}
    if stop.is_set() or run.status() != "ok" or run.has_notebook():
        return {**summary, "status": "not started" if stop.is_set() else "ok", "skipped": True}
    t0 = time.time()
    with run_lock(run) as locked:
        if not locked:
            return {**summary, "status": "busy"}
        partial = run.partial_notebook_path
        try:
            execute_notebook(point, run, notebook, kernel_name, stop)
            os.replace(partial, run.notebook_path)
            status, error = "ok", None
        except Exception as exc:  # noqa: BLE001 - reported; the run itself stays finished
            partial.unlink(missing_ok=True)
            status, error = ("interrupted" if stop.signum is not None else "failed"), f"{type(exc).__name__}: {exc}"
        finally:
            stop.kernel_ended(point.name)
    return {**summary, "status": status, "error": error, "seconds": time.time() - t0}
