"""Which runs of a study the cloud evaluation uses, and how its tables name a model.

The runs are the study's Figure 2 runs, as every page selects them
(:func:`xmodal.analysis.tables.final_runs` of :func:`xmodal.results.load_results`: the
finished runs on the whole training split, or a method's largest training set when it
has none; runs on disjoint scenes and alignment ablations are methods of their own), of
the methods asked for. A *model* is a method trained on its sensors, named by
:func:`model_of` from the one method label (:func:`xmodal.analysis.tables.method_label`):
the single-sensor Baselines of a seed are one model, :data:`BASELINE_MODEL` (two
separate networks).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Final

# The run selection and the method label of every page (the report layer's).
from xmodal.analysis.tables import final_runs, method_label
from xmodal.config import METHODS
from xmodal.data.clouds import CLOUD_FREE_SENSOR, CLOUDED_SENSOR
from xmodal.results import load_results, method_of
from xmodal.rundir import Result, RunDir

from .errors import CloudEvalError

__all__ = ["BASELINE_MODEL", "DEFAULT_METHODS", "figure2_runs", "model_of", "select_runs"]

#: Methods evaluated by default (those a study has of them): the paper's Baseline, C and C+T+M.
DEFAULT_METHODS: Final[tuple[str, ...]] = ("baseline", "C", "C+T+M")
#: Name of the "model" made of every single-sensor Baseline of a seed (two separate networks).
BASELINE_MODEL: Final[str] = method_label("baseline")


def model_of(method: str, modalities: Sequence[str]) -> str:
    """The cloud tables' model: the method's label, with its sensors unless they are S1 and S2.

    ``Baseline`` (every single-sensor Baseline), ``C+T+M`` (on S1 and S2), ``C+T+M (s1+s2+rgb)``.
    """
    if method == "baseline":
        return BASELINE_MODEL
    if sorted(modalities) == sorted((CLOUD_FREE_SENSOR, CLOUDED_SENSOR)):
        return method_label(method)
    return f"{method_label(method)} ({'+'.join(modalities)})"


def figure2_runs(study_dir: str | os.PathLike[str], methods: Sequence[str] | None = None,
                 ) -> list[tuple[RunDir, Result]]:
    """``(run, result)`` of a study's Figure 2 runs (of ``methods``, default all), sorted by run folder.

    ``methods`` are names of the results table (:func:`xmodal.results.method_of`: ``"C+T+M"``,
    not its ablation ``"C+T+M (confusion)"``).
    """
    table = final_runs(load_results(study_dir))
    if methods is not None:
        table = table[table["method"].isin(list(methods))]
    runs = [RunDir(p) for p in sorted({Path(p) for p in table["run_dir"]})]
    return [(run, run.result()) for run in runs]


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
    runs = figure2_runs(study, wanted)
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
        found = sorted({f"{method_of(res.config)} {'+'.join(res.modalities)}" for _, res in figure2_runs(study)})
        raise CloudEvalError(
            f"{study} has no runs for the cloud evaluation: it needs the Figure 2 runs of the Baseline on "
            f"{radar} and {optical}, or of a cross-modal method ({', '.join(DEFAULT_METHODS[1:])}) on both; found "
            f"{found or 'no finished run'}; {hint}")
    return runs
