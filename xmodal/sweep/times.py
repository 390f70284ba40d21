"""Where a study's job time went: each point's time as a sweep ran it (``sweep-times.json``).

A sweep adds the wall time of every point it ran (in its kernel or worker) and of every
executed notebook it rendered to the study folder's :data:`SWEEP_TIMES_FILE`;
:func:`sweep_time_summary` sets that beside the runs' own training time.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from xmodal import atomic
from xmodal.rundir import RunDir, read_json

__all__ = ["SWEEP_TIMES_FILE", "record_times", "sweep_time_summary"]

#: File in a study's folder: each point's job time and how it ran (``sweep`` writes it).
SWEEP_TIMES_FILE = "sweep-times.json"


def sweep_time_summary(study_dir: str | os.PathLike[str]) -> dict[str, Any] | None:
    """Where a study's job time went, from its :data:`SWEEP_TIMES_FILE` and its runs' results.

    Job time is each point's wall time in its kernel or worker, summed over points (with
    ``jobs`` points at once the sweep's wall time is about ``job / jobs``); training time is
    each run's ``timings.train_seconds``; rendering notebooks after a ``process`` sweep counts
    as job time outside training. Only points a sweep ran and timed (not those found finished)
    are counted.

    Returns:
        None without a times file, else ``runs``, ``job_seconds`` (training jobs),
        ``notebook_seconds``, ``train_seconds``, ``outside_seconds`` and ``outside_share``
        (of all job time), ``executors``.
    """
    folder = Path(study_dir)
    times = read_json(folder / SWEEP_TIMES_FILE)
    if not times:
        return None
    runs = dict(times.get("train") or {})
    job = train = 0.0
    n = 0
    for name, entry in runs.items():
        res = RunDir(folder / name).read_result()
        if res is None or not res.ok:
            continue
        n += 1
        job += float(entry["seconds"])
        train += float(res.timings.get("train_seconds") or 0.0)
    notebooks = sum(float(v["seconds"]) for v in (times.get("notebooks") or {}).values())
    total = job + notebooks
    return {"runs": n, "job_seconds": job, "notebook_seconds": notebooks, "train_seconds": train,
            "outside_seconds": total - train, "outside_share": (total - train) / total if total else math.nan,
            "executors": sorted({str(v.get("executor")) for v in runs.values()})}


def record_times(study_dir: Path, rows: Sequence[Mapping[str, Any]], executor: str, kind: str = "train") -> None:
    """Add the job time of the points run now to the study's :data:`SWEEP_TIMES_FILE` (none run: nothing written).

    Args:
        study_dir: the study's folder.
        rows: the points' summaries (``dir``, ``status``, ``seconds``, ``skipped``).
        executor: how they ran (``notebook``, ``process``).
        kind: ``train`` (the points' runs) or ``notebooks`` (executed notebooks rendered afterwards).
    """
    timed = {str(r["dir"]): {"seconds": round(float(r["seconds"]), 3), "executor": executor}
             for r in rows if r.get("status") == "ok" and not r.get("skipped") and r.get("seconds")}
    if not timed:
        return
    path = study_dir / SWEEP_TIMES_FILE
    times = read_json(path) or {}
    times.setdefault(kind, {}).update(timed)
    atomic.write_json(path, times)
