"""The ``sensors`` profile: models trained with cloudy S2, and a third sensor (RGB).

:func:`sensor_scores` and :func:`pair_homogeneity` read a study's Figure 2 runs (every
sensor of every model, eq. (5) for every pair of sensors); :func:`sensors_section` is what
the clouds chapter shows of the profile beside the study it is built for.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from xmodal.data.clouds import CLOUD_FREE_SENSOR, CLOUDED_SENSOR
from xmodal.metrics import homogeneity
from xmodal.report.selection import method_label
from xmodal.results import method_of
from xmodal.rundir import RunDir, align_ids
from xmodal.sweep.spec import DEFAULT_STUDY, SENSORS_STUDY

from .evaluation import CloudEvaluation, load_evaluation
from .selection import BASELINE_MODEL, figure2_results
from .text import sensors_note

__all__ = ["SENSORS_STUDY", "SensorsSection", "pair_homogeneity", "sensor_scores", "sensors_section"]



def sensor_scores(study_dir: str | os.PathLike[str]) -> pd.DataFrame:
    """F1 of every Figure 2 run of a study on each of its sensors (as trained and tested).

    Returns:
        Columns ``model, method, modalities, sensor, seed, macro, weighted, run``.
    """
    rows = []
    for run, res in figure2_results(study_dir):
        method = method_of(res.config)
        for sensor, m in res.metrics.items():
            rows.append({"model": method_label(method, modalities=res.modalities), "method": method,
                         "modalities": "+".join(res.modalities), "sensor": sensor, "seed": res.seed,
                         "macro": m.get("macro"), "weighted": m.get("weighted"), "run": run.name})
    return pd.DataFrame(rows, columns=["model", "method", "modalities", "sensor", "seed", "macro", "weighted", "run"])


def _pair(a: str, b: str) -> str:
    """``"s1|s2"``: a pair of sensors in a fixed order (S1, S2, then the others by name)."""
    order = {CLOUD_FREE_SENSOR: 0, CLOUDED_SENSOR: 1}
    return "|".join(sorted((a, b), key=lambda m: (order.get(m, 2), m)))


def pair_homogeneity(study_dir: str | os.PathLike[str]) -> pd.DataFrame:
    """Eq. (5) for every pair of sensors, per model and seed, on a study's Figure 2 runs.

    A cross-modal model's pairs come from its result; the Baseline's from the
    predictions of its separately trained single-sensor runs of the same seed, aligned by
    patch.

    Returns:
        Columns ``model, pair, seed, homogeneity`` (``pair`` like ``"s1|s2"``).
    """
    rows = []
    baselines: dict[int, dict[str, RunDir]] = {}
    for run, res in figure2_results(study_dir):
        if res.method == "baseline":
            baselines.setdefault(int(res.seed or 0), {})[res.modalities[0]] = run
            continue
        for pair, s in res.homogeneity.items():
            rows.append({"model": method_label(method_of(res.config), modalities=res.modalities),
                         "pair": _pair(*pair.split("|")),
                         "seed": res.seed, "homogeneity": s})
    for seed, by_sensor in sorted(baselines.items()):
        sensors = list(by_sensor)
        preds = {m: by_sensor[m].predictions() for m in sensors}
        for i, a in enumerate(sensors):
            for b in sensors[i + 1:]:
                ia, ib = align_ids(preds[a].ids[a], preds[b].ids[b])
                if len(ia):
                    rows.append({"model": BASELINE_MODEL, "pair": _pair(a, b), "seed": seed,
                                 "homogeneity": homogeneity(preds[a].prob[a][ia], preds[b].prob[b][ib])})
    return pd.DataFrame(rows, columns=["model", "pair", "seed", "homogeneity"])


@dataclass(frozen=True)
class SensorsSection:
    """What the chapter shows of the ``sensors`` profile.

    Attributes:
        study_dir: the profile's study folder.
        scores: :func:`sensor_scores` (None when the profile has no finished run).
        homogeneity: :func:`pair_homogeneity` (None likewise).
        clear: the cloud evaluation of the study trained on clear S2 (``default``), if made.
        cloudy: the cloud evaluation of the ``sensors`` study (trained with cloudy S2), if made.
        note: Markdown saying what is shown, or how to produce it (:func:`~xmodal.clouds.text.sensors_note`).
    """

    study_dir: Path
    scores: pd.DataFrame | None
    homogeneity: pd.DataFrame | None
    clear: CloudEvaluation | None
    cloudy: CloudEvaluation | None
    note: str


def sensors_section(runs_dir: str | os.PathLike[str], clear_study: str = DEFAULT_STUDY, *,
                    shown_as: str | None = None) -> SensorsSection:
    """The ``sensors`` profile's results under ``runs_dir`` (whatever study the book shows).

    Args:
        runs_dir: the folder holding one folder per study.
        clear_study: the study trained on clear S2 whose cloud evaluation it is compared with.
        shown_as: how the page names ``runs_dir`` (relative to the project, e.g. by
            :func:`xmodal.book.display_path`); default its folder name, never its absolute path.
    """
    runs = Path(runs_dir)
    study = runs / SENSORS_STUDY
    folder = f"{shown_as if shown_as is not None else runs.name}/{SENSORS_STUDY}"
    scores = sensor_scores(study) if study.is_dir() else None
    if scores is None or scores.empty:
        return SensorsSection(study, None, None, None, None, sensors_note(SENSORS_STUDY, folder))
    hom = pair_homogeneity(study)
    cloudy_ev = load_evaluation(study, missing_ok=True)
    clear_ev = load_evaluation(runs / clear_study, missing_ok=True) if (runs / clear_study).is_dir() else None
    seeds = sorted({int(s) for s in scores["seed"].dropna()})
    note = sensors_note(SENSORS_STUDY, folder, runs=sorted(set(scores["run"])), seeds=seeds,
                        evaluations=[(clear_study, clear_ev), (SENSORS_STUDY, cloudy_ev)])
    return SensorsSection(study, scores, hom, clear_ev, cloudy_ev, note)
