"""Which runs of a study the cloud evaluation uses, and how its tables name a model.

The runs are the study's Figure 2 runs, as every page selects them
(:func:`xmodal.report.selection.figure2_runs`: the finished runs on the whole training
split, or a method's largest training set when it has none; runs on disjoint scenes and
alignment ablations are methods of their own), of the methods asked for. A *model* is a
method trained on its sensors, named by the one method label
(:func:`xmodal.report.selection.method_label` with its sensors): the single-sensor
Baselines of a seed are one model, :data:`BASELINE_MODEL` (two separate networks).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Final

from xmodal.config import METHODS
from xmodal.data.clouds import CLOUD_FREE_SENSOR, CLOUDED_SENSOR
from xmodal.report.selection import figure2_runs, method_label
from xmodal.results import method_of
from xmodal.rundir import Result, RunDir

from .errors import CloudEvalError

__all__ = ["BASELINE_MODEL", "DEFAULT_METHODS", "figure2_results", "select_runs"]

#: Methods evaluated by default (those a study has of them): the paper's Baseline, C and C+T+M.
DEFAULT_METHODS: Final[tuple[str, ...]] = ("baseline", "C", "C+T+M")
#: Name of the "model" made of every single-sensor Baseline of a seed (two separate networks).
BASELINE_MODEL: Final[str] = method_label("baseline")


def select_runs(study_dir: str | os.PathLike[str], methods: Sequence[str] | None = None) -> list[tuple[RunDir, Result]]:
    """The runs of a study that the cloud evaluation uses: its Figure 2 runs of ``methods``.

    Args:
        study_dir: the study folder (``runs/<study>``).
        methods: methods to use; None: those of :data:`DEFAULT_METHODS` the study has.

    Returns:
        ``(run, result)`` pairs sorted by run folder: every single-sensor Baseline and every
        cross-modal run of the methods among the study's Figure 2 runs.

    Raises:
        ValueError: an unknown method.
        CloudEvalError: no such folder; a requested method without a run (a Baseline needs
            both its S1 and S2 runs); or (default methods) runs that make no fallback system.
    """
    radar, optical = CLOUD_FREE_SENSOR, CLOUDED_SENSOR
    study = Path(study_dir)
    if not study.is_dir():
        raise CloudEvalError(f"No study folder {study}: run `xmodal sweep --study {study.name}` first")
    wanted = DEFAULT_METHODS if methods is None else tuple(methods)
    for m in wanted:
        if m not in METHODS:
            raise ValueError(f"Unknown method {m!r}; choose from {list(METHODS)}")
    runs = figure2_results(study, wanted)
    base = {res.modalities[0] for _, res in runs if res.method == "baseline"}
    cross = {res.method for _, res in runs if res.method != "baseline" and {radar, optical} <= set(res.modalities)}
    hint = f"run `xmodal sweep --study {study.name}` to train them"
    if methods is not None:
        for m in wanted:
            if m == "baseline" and not {radar, optical} <= base:
                raise CloudEvalError(
                    f"{study} has no finished Figure 2 run of the Baseline on {sorted({radar, optical} - base)} "
                    f"(the fallback pairs the S1 and S2 Baselines); {hint}")
            if m != "baseline" and m not in cross:
                raise CloudEvalError(
                    f"{study} has no finished Figure 2 run of method {m!r} on [{radar}, {optical}]; {hint}")
    elif not ({radar, optical} <= base or cross):
        found = sorted({f"{method_of(res.config)} {'+'.join(res.modalities)}"
                        for _, res in figure2_results(study)})
        raise CloudEvalError(
            f"{study} has no runs for the cloud evaluation: it needs the Figure 2 runs of the Baseline on "
            f"{radar} and {optical}, or of a cross-modal method ({', '.join(DEFAULT_METHODS[1:])}) on both; found "
            f"{found or 'no finished run'}; {hint}")
    return runs


def figure2_results(study_dir: str | os.PathLike[str], methods: Sequence[str] | None = None,
                    ) -> list[tuple[RunDir, Result]]:
    """``(run, result)`` of a study's Figure 2 runs (:func:`xmodal.report.selection.figure2_runs`)."""
    return [(run, run.result()) for run in map(RunDir, figure2_runs(study_dir, methods))]
