"""Running a study: every pending point, ``jobs`` at a time, resumably; and one prepared point.

**Running.** :func:`run_sweep` checks the data root up front (layout, season folder,
S1/S2/LC files paired, the synthetic marker complete; one clear error before any
kernel starts, :func:`~xmodal.sweep.check_data`), then executes every pending point
(:func:`~xmodal.sweep.point.execute_point`), ``jobs`` at a time, each in its own
Jupyter kernel (the ``notebook`` executor) or in one of ``jobs`` long-lived worker
processes (``process``, :mod:`xmodal.sweep.workers`). A finished point is never redone;
a failing point leaves its error record and the sweep goes on; a point held by another
sweep (its run folder's lock) is reported as running elsewhere and does not count as a
failure.

**Stopping.** Ctrl-C (SIGINT) or SIGTERM stops the sweep at once: points not
started are dropped, running points' kernels are killed, their partial notebooks
removed and no error is recorded for them (their checkpoints stay, so they resume
from their last epoch); :class:`SweepInterrupted` says in one line what finished,
what stopped and what never started. Every file is written atomically
(:mod:`xmodal.atomic`), so even ``kill -9`` loses no finished run; running the
same command again continues.

Running on a cluster (one Slurm array task per pending point)::

    xmodal sweep --study paper --data /scratch/SEN12MS --print-commands > points.txt
    sbatch --array=1-$(wc -l < points.txt) --gres=gpu:1 --cpus-per-task=8 --time=12:00:00 \
        --wrap 'eval "$(sed -n "${SLURM_ARRAY_TASK_ID}p" points.txt)"'
    # afterwards (or whenever): the same command without --print-commands skips the
    # finished points and reports the failed ones; ``xmodal results --study paper``
    # aggregates them.

``--print-commands`` writes each pending point's notebook parameters into its run
folder and prints one command per point, ``<python> -m xmodal.cli run-point
<run folder> --notebook ... --kernel ...`` with the absolute path of the Python
that ran the sweep, so it works without an activated virtual environment.
:func:`run_point` (``xmodal run-point``) runs that one point exactly as the
sweep would (same checks, lock, error record, interruption), so its failures show
up in ``xmodal results`` like any other.

The notebook is the one shipped in the package (:func:`~xmodal.sweep.notebook_path`);
``XMODAL_NOTEBOOK`` or ``notebook=`` runs another.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import os
import shlex
import signal
import sys
import threading
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path
from types import FrameType
from typing import Any

from xmodal import atomic
from xmodal.atomic import DiskFullError
from xmodal.config import ConfigError, ExperimentConfig
from xmodal.rundir import RunDir, read_json, study_meta_path
from xmodal.sweep.checks import check_data, missing_root_hint
from xmodal.sweep.grid import (
    StudyPoint,
    grid,
    notebook_points,
    resolve_data_root,
    root_summaries,
    space_needed,
    with_fingerprints,
)
from xmodal.sweep.kernel import Stop, notebook_parameters
from xmodal.sweep.notebook import notebook_path
from xmodal.sweep.point import execute_point, render_point
from xmodal.sweep.spec import EXECUTORS, StudyError, resolve_study
from xmodal.sweep.times import record_times
from xmodal.sweep.workers import WorkerPool

__all__ = ["SweepInterrupted", "run_point", "run_sweep"]

#: Seconds between two looks of the sweep's main thread at its points (and at a stop request).
_POLL_SECONDS = 0.2
#: What a point's status means, as the summary says it.
_STATUS_TEXT = {
    "ok": "ok",
    "failed": "failed",
    "busy": "running in another sweep",
    "interrupted": "stopped (resumable)",
    "not started": "not started",
    "no space": "not started (disk full)",
}


class SweepInterrupted(KeyboardInterrupt):
    """A sweep stopped by SIGINT or SIGTERM; the message says what finished, stopped and never started.

    Attributes:
        signum: the signal that stopped it.
        counts: points per status (``ok``, ``interrupted``, ``not started``, ...).
    """

    def __init__(self, message: str, signum: int, counts: Mapping[str, int]) -> None:
        super().__init__(message)
        self.signum = signum
        self.counts = dict(counts)

    @property
    def exit_code(self) -> int:
        """``128 + signal number``: 130 for Ctrl-C, 143 for SIGTERM (the shell's convention)."""
        return 128 + self.signum

    def __str__(self) -> str:
        return str(self.args[0])


def _command(run: RunDir, notebook: Path, kernel_name: str) -> str:
    """The shell command that runs one prepared point (see :func:`run_point`), without an active venv."""
    return shlex.join([sys.executable, "-m", "xmodal.cli", "run-point", str(run.path),
                       "--notebook", str(notebook), "--kernel", kernel_name])


def _summary_table(rows: list[dict[str, Any]], study_dir: Path) -> str:
    import pandas as pd

    table = []
    for r in rows:
        res = RunDir(study_dir / r["dir"]).read_result()
        scores = " ".join(
            f"{m}:{v.get('macro', float('nan')):.2f}/{v.get('weighted', float('nan')):.2f}"
            for m, v in (res.metrics if res is not None else {}).items()
        )
        table.append({"point": r["point"], "status": _STATUS_TEXT.get(r["status"], r["status"]),
                      "F1 macro/weighted": scores or "-",
                      "seconds": round(r.get("seconds", 0.0), 1),
                      "error": (r.get("error") or "")[:80]})
    return pd.DataFrame(table).to_string(index=False)


@contextlib.contextmanager
def _stop_on_signals(stop: Stop) -> Iterator[None]:
    """SIGINT and SIGTERM set ``stop`` instead of raising (main thread only; elsewhere a no-op)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        stop.interrupt(signum)

    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


def _run_points(
    points: Sequence[StudyPoint],
    study_dir: Path,
    notebook: Path,
    kernel_name: str,
    *,
    jobs: int,
    progress: bool,
    title: str,
    n_total: int | None = None,
    executor: str = "notebook",
) -> list[dict[str, Any]]:
    """Execute ``points`` (``jobs`` at a time) until done or stopped; one summary dict per point.

    ``executor``: ``notebook`` (a Jupyter kernel per point) or ``process`` (``jobs`` long-lived
    worker processes, :class:`xmodal.sweep.workers.WorkerPool`).

    Raises:
        SweepInterrupted: SIGINT or SIGTERM arrived (running kernels were killed).
        DiskFullError: the disk is full (no further point was started).
    """
    from tqdm.auto import tqdm

    stop = Stop()
    results: dict[str, dict[str, Any]] = {}
    n_total = len(points) if n_total is None else n_total
    for p in points:  # imports torch once, here, rather than in the point threads
        space_needed(p.config)
    bar = tqdm(total=n_total, initial=n_total - len(points), unit="run", desc=title,
               disable=not progress, file=sys.stderr)
    workers = WorkerPool(min(jobs, len(points))) if executor == "process" and points else None
    with _stop_on_signals(stop):
        pool = ThreadPoolExecutor(max_workers=max(1, min(jobs, len(points))))
        try:
            futures: dict[Future[dict[str, Any]], StudyPoint] = {
                pool.submit(execute_point, p, study_dir, notebook, kernel_name, stop, workers): p for p in points}
            pending = set(futures)
            while pending:
                try:
                    done, pending = wait(pending, timeout=_POLL_SECONDS, return_when=FIRST_COMPLETED)
                except KeyboardInterrupt:  # a signal the handler did not catch (handler not installed)
                    stop.interrupt(signal.SIGINT)
                    done = set()
                for fut in done:
                    p = futures[fut]
                    r: dict[str, Any]
                    if fut.cancelled():
                        r = {"point": p.name, "dir": p.dir_name, "status": "not started", "seconds": 0.0}
                    else:
                        try:
                            r = fut.result()
                        except Exception as exc:  # a bug or an I/O error of the sweep itself, not of the run
                            r = {"point": p.name, "dir": p.dir_name, "status": "failed", "seconds": 0.0,
                                 "error": f"{type(exc).__name__}: {exc}"}
                            if isinstance(exc, DiskFullError):
                                stop.no_space(str(exc.strerror))
                    results[p.name] = r
                    if r["status"] in ("ok", "failed", "busy"):
                        bar.update(1)
                    bar.set_postfix_str(f"{p.name}: {_STATUS_TEXT.get(r['status'], r['status'])}")
                if stop.is_set():
                    for fut in pending:
                        fut.cancel()
                    if stop.signum is not None:
                        stop.kill_kernels()
                        if workers is not None:
                            workers.kill()
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            if workers is not None:
                workers.close()
            bar.close()
    rows = [results.get(p.name) or {"point": p.name, "dir": p.dir_name, "status": "not started", "seconds": 0.0}
            for p in points]
    if stop.signum is not None:
        counts = {s: sum(r["status"] == s for r in rows) for s in _STATUS_TEXT}
        finished = counts["ok"] + n_total - len(points)
        parts = [f"{finished} of {n_total} points finished"]
        if counts["failed"]:
            parts.append(f"{counts['failed']} failed")
        if counts["busy"]:
            parts.append(f"{counts['busy']} running in another sweep")
        parts.append(f"{counts['interrupted']} stopped (resumable)")
        parts.append(f"{counts['not started'] + counts['no space']} not started")
        name = signal.Signals(stop.signum).name
        raise SweepInterrupted(f"Interrupted ({name}): {', '.join(parts)}; run the same command to continue",
                               stop.signum, counts)
    if stop.disk_full is not None:
        raise DiskFullError(errno.ENOSPC, stop.disk_full)
    return rows


def _report(rows: list[dict[str, Any]], study_dir: Path, title: str, n_run: int, grid_dirs: set[str]) -> None:
    n_ok = sum(r["status"] == "ok" for r in rows)
    print(f"{title}: {n_ok} of {len(rows)} points finished ({n_run} run now) in {study_dir}")
    print(_summary_table(rows, study_dir))
    others = sorted(d.name for d in study_dir.iterdir()
                    if d.is_dir() and d.name not in grid_dirs and RunDir(d).is_run())
    if others:
        print(f"Note: {len(others)} other run folder(s) in {study_dir} are not points of this study as it stands "
              f"(another config, data or hash version, e.g. {others[0]}); `xmodal results` still reads them.")
    busy = [r for r in rows if r["status"] == "busy"]
    if busy:
        print(f"{len(busy)} point(s) are running in another sweep; run this command again once it ends "
              "to see them here.")
    failed = [r for r in rows if r["status"] == "failed"]
    if failed:
        print(f"{len(failed)} point(s) failed:")
        for r in failed:
            where = f" (details: {r['error_file']})" if r.get("error_file") else ""
            print(f"  {r['point']}: {r.get('error', '')}{where}")


def _exit_code(rows: Sequence[Mapping[str, Any]]) -> int:
    """0 when every point finished or is running in another sweep, 1 when one failed."""
    return 1 if any(r["status"] not in ("ok", "busy") for r in rows) else 0


def run_sweep(
    study: str | os.PathLike[str] | Mapping[str, Any],
    *,
    jobs: int = 1,
    data_root: str | os.PathLike[str] | None = None,
    runs_dir: str | os.PathLike[str] = "runs",
    print_commands: bool = False,
    only: str | None = None,
    notebook: str | os.PathLike[str] | None = None,
    kernel_name: str = "python3",
    progress: bool = True,
    executor: str | None = None,
) -> int:
    """Run every pending point of a study through the experiment notebook.

    Checks the data first (:func:`~xmodal.sweep.check_data`: nothing starts on a wrong root).
    Finished points are skipped; a point that was killed or interrupted
    mid-training resumes from its checkpoint (the notebook calls
    :func:`xmodal.training.run_experiment` with ``resume=True``); a failing point
    writes its error record and the others go on. ``jobs`` points run at once,
    each in its own Jupyter kernel; a null ``threads`` in the spec becomes
    :func:`~xmodal.sweep.sweep_threads` of ``jobs`` (and enters the hash).

    Args:
        study: a profile's name (:func:`~xmodal.sweep.profiles`), a study YAML's path or a spec
            (:func:`~xmodal.sweep.resolve_study`).
        jobs: points run in parallel.
        data_root: SEN12MS root to use instead of the study's ``data.root``.
        runs_dir: folder holding one folder per study.
        print_commands: write each pending point's parameters and print one
            command per pending point (for a Slurm job array, see the module
            docstring) instead of running them.
        only: run only the points whose name contains this text.
        notebook: the experiment notebook (default: see :func:`~xmodal.sweep.notebook_path`).
        kernel_name: Jupyter kernel that executes the notebook.
        progress: show a tqdm bar over the grid and print the summary table.
        executor: ``notebook`` (a Jupyter kernel per point) or ``process`` (``jobs``
            long-lived workers, :mod:`xmodal.sweep.workers`; then the spec's ``notebooks``
            says which finished points get their executed notebook afterwards).
            None: the spec's ``executor`` (default ``notebook``).

    Returns:
        The exit code: 0 when every selected point finished (or is running in
        another sweep), 1 when one failed.

    Raises:
        StudyError, ConfigError: a bad study or option (before anything runs).
        xmodal.data.Sen12MSError: the data root is missing or malformed (before anything runs).
        SweepInterrupted: SIGINT/SIGTERM stopped the sweep (its message says what is left).
        DiskFullError: not enough free space to start a point, or the disk filled up.
    """
    if jobs < 1:
        raise StudyError(f"Invalid value for --jobs: {jobs!r}; must be >= 1")
    spec, folder = resolve_study(study)
    assert spec is not None
    executor = executor or spec["executor"]
    if executor not in EXECUTORS:
        raise StudyError(f"Invalid value for --executor: {executor!r}; choose one of {list(EXECUTORS)}")
    root = resolve_data_root(spec, data_root)
    points = grid(spec, data_root=root, jobs=jobs, fingerprints=False)
    everything = points
    if only:
        points = [p for p in points if only in p.name]
        if not points:
            raise StudyError(f"No point of study {spec['name']!r} matches --only {only!r}")
    given = "--data" if data_root is not None else f"data root of study {folder!r}"
    roots = check_data(points, hint=missing_root_hint(spec, data_root is not None), name=given)
    points = with_fingerprints(points, roots)
    grid_dirs = {p.dir_name for p in with_fingerprints(everything, root_summaries(everything, lenient=True))}
    points = [dataclasses.replace(p, config=p.config.replace(progress=False)) for p in points]
    nb = notebook_path(notebook)
    study_dir = Path(runs_dir).resolve() / folder
    study_dir.mkdir(parents=True, exist_ok=True)
    atomic.write_json(study_meta_path(study_dir), spec)

    pending = [p for p in points if RunDir(study_dir / p.dir_name).status() != "ok"]
    if print_commands:
        for p in pending:
            run = RunDir(study_dir / p.dir_name)
            run.prepare()
            run.write_parameters(notebook_parameters(p, run))
            print(_command(run, nb, kernel_name))
        return 0

    title = f"study {spec['name']}"
    rows = _run_points(pending, study_dir, nb, kernel_name, jobs=jobs, progress=progress, title=title,
                       n_total=len(points), executor=executor)
    record_times(study_dir, rows, executor)
    done = {r["point"]: r for r in rows}
    rows = [done.get(p.name) or {"point": p.name, "dir": p.dir_name, "status": "ok", "seconds": 0.0,
                                 "skipped": True} for p in points]
    if progress:
        _report(rows, study_dir, f"Study {spec['name']!r}", len(pending), grid_dirs)
    code = _exit_code(rows)
    if executor == "process":
        wanted = notebook_points(points, spec["notebooks"])
        failed = _render_notebooks(wanted, study_dir, nb, kernel_name, jobs=jobs, progress=progress)
        code = max(code, 1 if failed else 0)
    return code


def _render_notebooks(
    points: Sequence[StudyPoint], study_dir: Path, notebook: Path, kernel_name: str, *, jobs: int, progress: bool,
) -> int:
    """Render the executed notebooks of finished ``points`` that lack one; return how many failed.

    Raises:
        SweepInterrupted: SIGINT or SIGTERM arrived (the runs are all kept; the notebooks resume next time).
    """
    todo = [p for p in points if RunDir(study_dir / p.dir_name).status() == "ok"
            and not RunDir(study_dir / p.dir_name).has_notebook()]
    if not todo:
        return 0
    stop = Stop()
    rows: list[dict[str, Any]] = []
    with _stop_on_signals(stop), ThreadPoolExecutor(max_workers=max(1, min(jobs, len(todo)))) as pool:
        futures = [pool.submit(render_point, p, study_dir, notebook, kernel_name, stop) for p in todo]
        pending = set(futures)
        while pending:
            done, pending = wait(pending, timeout=_POLL_SECONDS, return_when=FIRST_COMPLETED)
            rows.extend(f.result() for f in done)
            if stop.signum is not None:
                stop.kill_kernels()
                for f in pending:
                    f.cancel()
    record_times(study_dir, rows, "notebook", kind="notebooks")
    if stop.signum is not None:
        n_ok = sum(r["status"] == "ok" and not r.get("skipped") for r in rows)
        raise SweepInterrupted(
            f"Interrupted ({signal.Signals(stop.signum).name}) while rendering notebooks: every run is finished, "
            f"{n_ok} of {len(todo)} notebooks rendered; run the same command to render the rest", stop.signum,
            {"ok": n_ok})
    failed = [r for r in rows if r["status"] == "failed"]
    if progress:
        seconds = sum(r["seconds"] for r in rows)
        print(f"Rendered {sum(r['status'] == 'ok' for r in rows)} executed notebook(s) of finished runs "
              f"in {seconds:.0f} s of job time")
        for r in failed:
            print(f"  notebook of {r['point']} failed: {r['error']}")
    return len(failed)


def run_point(
    run_dir: str | os.PathLike[str],
    *,
    notebook: str | os.PathLike[str] | None = None,
    kernel_name: str = "python3",
    progress: bool = True,
) -> int:
    """Run one prepared point (``xmodal sweep --print-commands``) exactly as the sweep would.

    Reads the point's notebook parameters from its run folder, checks that the
    folder's name ends in the config's hash and that the data root holds the
    recorded data (fingerprint), then runs the notebook through the sweep's own
    path: the folder's lock (a point running elsewhere is reported, exit 0),
    an error record on failure (seen by ``xmodal results``), and SIGINT/SIGTERM
    ending the kernel and leaving the point resumable.

    Args:
        run_dir: the point's run folder (holding its parameters).
        notebook: the experiment notebook (default: see :func:`~xmodal.sweep.notebook_path`).
        kernel_name: Jupyter kernel that executes the notebook.
        progress: print the point's one-line summary.

    Returns:
        0 when the point finished (or runs in another sweep), 1 when it failed.

    Raises:
        StudyError: the folder has no parameters or its name does not match them.
        ConfigError, xmodal.data.Sen12MSError: bad parameters or data.
        SweepInterrupted, DiskFullError: as :func:`run_sweep`.
    """
    import yaml

    run = RunDir(Path(run_dir).expanduser().resolve())
    try:
        params = yaml.safe_load(run.parameters_path.read_text())
    except FileNotFoundError:
        raise StudyError(f"{run.parameters_path} does not exist: prepare the point with "
                         "`xmodal sweep ... --print-commands` first") from None
    except yaml.YAMLError as exc:
        raise StudyError(f"{run.parameters_path} is not valid YAML: {exc}") from None
    if not isinstance(params, dict):
        raise StudyError(f"{run.parameters_path} must hold a mapping of notebook parameters")
    params.pop("out_dir", None)
    try:
        config = ExperimentConfig.from_dict(params)
    except ConfigError as exc:
        raise ConfigError(f"{run.parameters_path}: {exc}") from None
    suffix = f"-{config.hash()}"
    if not run.name.endswith(suffix):
        raise StudyError(f"{run.path}: the folder's name does not end in its parameters' config hash "
                         f"{config.hash()} (were the parameters edited?); prepare the point again "
                         "with --print-commands")
    meta = read_json(study_meta_path(run.path.parent)) or {}
    point = StudyPoint(str(meta.get("name") or run.path.parent.name), run.name[: -len(suffix)], config)
    check_data([point], hint="the parameters name the data root the sweep was given (--data)",
               name=f"data_root of {run.parameters_path}")
    rows = _run_points([point], run.path.parent, notebook_path(notebook), kernel_name, jobs=1,
                       progress=False, title=point.name)
    r = rows[0]
    if progress:
        where = f" (details: {r['error_file']})" if r.get("error_file") else ""
        extra = f": {r['error']}" if r.get("error") and r["status"] == "failed" else ""
        print(f"{point.name}: {_STATUS_TEXT.get(r['status'], r['status'])}{extra}{where}")
    return _exit_code(rows)
