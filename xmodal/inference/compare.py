"""Systems compared on one scene: each system's S2, S1 and fallback maps, scored against the truth.

What the book's page "A map from either sensor" shows, as functions: a *system* is a set of
run folders that answers from both sensors (two single-sensor Baselines, or one cross-modal
model); :func:`compare_systems` maps a synthetic scene with each and scores every map
against the scene's true land cover (:mod:`xmodal.inference.score`); :func:`map_panels` and
:func:`scores_frame` turn the result into the page's figure and table.

The book reads a study's runs as they are: a run trained before ``model.json`` existed is
used through the record derived from its ``result.json`` in memory (nothing is written into
the run folder).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from xmodal.data.normalize import modality_label
from xmodal.rundir import Result, RunDir

from .fallback import FALLBACK_THRESHOLD
from .model import load_models
from .scene import SceneMap, predict_scene
from .score import DEFAULT_BLOCK, MapScore, cell_truth, score_map

if TYPE_CHECKING:
    import pandas as pd

    from xmodal.data.scene import SyntheticScene
    from xmodal.data.synthetic import SyntheticParams

__all__ = [
    "SystemMaps", "compare_systems", "describe_systems", "map_panels", "page_systems", "reading", "scene_params",
    "scores_frame",
]

#: The maps of a system, in the page's order: each sensor alone, then the fallback.
MAPS: tuple[str, ...] = ("S2", "S1", "fallback")


@dataclass
class SystemMaps:
    """One system's maps of a scene and their scores.

    Attributes:
        name: the system's name (``Baseline``, ``C+T+M``, ...).
        runs: the run folders it is made of.
        result: its :class:`~xmodal.inference.scene.SceneMap` (arrays kept).
        truth: the cells' true class histograms ``[rows, cols, C]`` (NaN where no label).
        scores: map name (:data:`MAPS`) -> :class:`~xmodal.inference.score.MapScore`.
    """

    name: str
    runs: list[str]
    result: SceneMap
    truth: np.ndarray
    scores: dict[str, MapScore]

    def prob(self, which: str) -> np.ndarray:
        """The probabilities ``[rows, cols, C]`` of one of :data:`MAPS`."""
        assert self.result.prob is not None and self.result.answer is not None
        return self.result.answer if which == "fallback" else self.result.prob[which.lower()]

    @property
    def clear(self) -> np.ndarray:
        """``[rows, cols]`` bool: the cells the fallback answered from S2."""
        assert self.result.source is not None
        return self.result.source == 0


def scene_params(result: Result) -> SyntheticParams | None:
    """The synthetic generator's parameters a run's data was made with (``None``: not synthetic data)."""
    from xmodal.data.synthetic import SyntheticParams

    params = (result.data.get("description") or {}).get("synthetic_params")
    return SyntheticParams.from_dict(dict(params)) if params else None


def compare_systems(
    systems: Mapping[str, Sequence[str | os.PathLike[str]]],
    scene: SyntheticScene,
    *,
    stride: int | None = None,
    threshold: float = FALLBACK_THRESHOLD,
    block: int = DEFAULT_BLOCK,
    threads: int | None = 1,
    n_boot: int = 1000,
) -> dict[str, SystemMaps]:
    """Map ``scene`` with every system and score its S2, S1 and fallback maps against the truth.

    Args:
        systems: name -> run folders answering for S1 and S2 together.
        scene: a scene of :func:`xmodal.data.scene.make_scene` (its cloud mask drives the fallback).
        stride: the maps' stride (default: half a patch).
        threshold: the fallback's cloud threshold.
        block: side in cells of the blocks the intervals resample.
        threads: torch threads.
        n_boot: bootstrap resamples.
    """
    out: dict[str, SystemMaps] = {}
    for name, runs in systems.items():
        models = load_models(list(runs), derive_record=True)
        res = predict_scene(list(models.values()), s1=scene.s1, s2=scene.s2, clouds=scene.clouds, stride=stride,
                            cloud_threshold=threshold, threads=threads, keep=True, progress=False)
        scheme = next(iter(models.values())).record.label_scheme
        truth = cell_truth(scene.truth(), res.stride, scheme, res.rows, res.cols)
        sm = SystemMaps(name, [str(r) for r in runs], res, truth, {})
        sm.scores = {which: score_map(sm.prob(which), truth, block=block, n_boot=n_boot) for which in MAPS}
        out[name] = sm
    return out


def _truth_classes(truth: np.ndarray) -> np.ndarray:
    has = np.isfinite(truth).all(axis=-1)
    return np.where(has, np.argmax(np.nan_to_num(truth), axis=-1), -1)


def map_panels(maps: Mapping[str, SystemMaps]) -> tuple[dict[str, dict[str, np.ndarray]], dict[tuple[str, str], str]]:
    """The panels of :func:`xmodal.inference.figures.maps_figure`, and each map's accuracy as a second title line.

    Per system: the truth, the S2, S1 and fallback maps, and where its two sensors disagree.
    """
    rows: dict[str, dict[str, np.ndarray]] = {}
    titles: dict[tuple[str, str], str] = {}
    for name, sm in maps.items():
        res = sm.result
        panels = {"truth (majority per cell)": _truth_classes(sm.truth)}
        for which in MAPS:
            title = f"{which} map" if which != "fallback" else f"fallback (S1 from {res.threshold:.0%} cloud)"
            panels[title] = res.class_map(which.lower()) if which != "fallback" else res.class_map()
            a = sm.scores[which].accuracy
            titles[(name, title)] = f"accuracy {a.estimate:.2f} [{a.low:.2f}, {a.high:.2f}]"
        panels["disagreement S1 / S2"] = res.disagreement("s1", "s2")
        titles[(name, "disagreement S1 / S2")] = f"{np.nanmean(panels['disagreement S1 / S2']):.0%} of the cells"
        rows[name] = panels
    return rows, titles


def scores_frame(maps: Mapping[str, SystemMaps]) -> pd.DataFrame:
    """One row per system and map: accuracy and weighted F1 with their intervals, homogeneity and disagreement.

    Homogeneity (eq. 5 per cell, mean) on the clear and on the clouded cells; disagreement (share
    of cells whose S1 and S2 dominant classes differ) on the clear cells.
    """
    import pandas as pd

    rows: list[dict[str, Any]] = []
    for name, sm in maps.items():
        res = sm.result
        assert res.homogeneity is not None
        dis = res.disagreement("s1", "s2")
        for which in MAPS:
            s = sm.scores[which]
            rows.append({
                "system": name, "map": which,
                "accuracy": s.accuracy.estimate,
                "accuracy 95% interval": f"[{s.accuracy.low:.3f}, {s.accuracy.high:.3f}]",
                "weighted F1": s.weighted_f1.estimate,
                "F1 95% interval": f"[{s.weighted_f1.low:.3f}, {s.weighted_f1.high:.3f}]",
                "cells": s.n_cells, "blocks": s.n_blocks,
                "homogeneity (clear cells)": float(np.nanmean(res.homogeneity[sm.clear])),
                "homogeneity (clouded cells)": float(np.nanmean(res.homogeneity[~sm.clear]))
                if (~sm.clear).any() else float("nan"),
                "disagreement (clear cells)": float(np.nanmean(dis[sm.clear])),
            })
    return pd.DataFrame(rows)


def describe_systems(maps: Mapping[str, SystemMaps]) -> str:
    """Markdown: which run answers for which sensor in every system."""
    lines = []
    for name, sm in maps.items():
        parts = [f"{modality_label(m)} from `{RunDir(path).name}`" for m, path in sm.result.runs.items()]
        lines.append(f"* **{name}**: " + ", ".join(parts))
    return "\n".join(lines)


def page_systems(ctx: Any, model: str = "C+T+M") -> tuple[bool, str, dict[str, list[str]], Any, int]:
    """What the map page shows, from a book page's context (:func:`xmodal.book.page_context`).

    The lowest seed of each model trained on the full training set: the S1 and the S2 Baseline
    (one system) and ``model``.

    Returns:
        ``(ready, note, systems, params, footprint)``: whether the page can map a scene, a Markdown
        note saying which runs and data it shows (or why it cannot), system name -> run folders,
        the generator's parameters of the runs' data and the runs' patch footprint.
    """
    from xmodal.rundir import model_record_of

    base = [ctx.run_dir("baseline", s) for s in ("s1", "s2")]
    cross = ctx.run_dir(model)
    systems: dict[str, list[str]] = {}
    if all(b is not None for b in base):
        systems["Baseline"] = [str(b) for b in base]
    if cross is not None:
        systems[model] = [str(cross)]
    if not systems:
        return False, (f"Study `{ctx.study}` has neither a finished pair of Baselines (S1 and S2) nor a finished "
                       f"{model} run on the full training set: there is nothing to map."), {}, None, 0
    result = RunDir(next(iter(systems.values()))[0]).result()
    params = scene_params(result)
    if params is None:
        return False, (f"Study `{ctx.study}` ran on {result.data_kind} data: this page renders its scene with the "
                       "synthetic generator, whose physics must be the training data's, so it shows synthetic "
                       "studies only. Map a scene of your own with `xmodal predict`."), systems, None, 0
    footprint = model_record_of(result).footprint
    runs = "; ".join(f"{name}: " + ", ".join(f"`{RunDir(r).name}`" for r in paths) for name, paths in systems.items())
    note = (f"**Runs** of study `{ctx.study}` (synthetic SEN12MS-like data), the lowest seed of each model trained "
            f"on the whole training set: {runs}. **Data**: one scene rendered for this page by the generator with "
            f"the parameters recorded in these runs' data, at their patch size ({footprint} px); nothing is "
            "trained here.")
    if len(systems) < 2:
        note += f" Only {', '.join(systems)} is available: the page shows it alone."
    return True, note, systems, params, footprint


def reading(maps: Mapping[str, SystemMaps], model: str) -> str:
    """Markdown sentences reading the scores of :func:`compare_systems`, never stronger than their intervals."""
    def fmt(score: MapScore) -> str:
        a = score.accuracy
        return f"{a.estimate:.2f} [{a.low:.2f}, {a.high:.2f}]"

    lines = []
    for name, sm in maps.items():
        sc = sm.scores
        lines.append(f"* **{name}**: accuracy of the fallback map {fmt(sc['fallback'])}, of S2 alone "
                     f"{fmt(sc['S2'])}, of S1 alone {fmt(sc['S1'])}.")
    if "Baseline" in maps and model in maps:
        a, b = maps[model].scores["fallback"].accuracy, maps["Baseline"].scores["fallback"].accuracy
        overlap = a.low <= b.high and b.low <= a.high
        lines.append(
            f"\nOn this scene the fallback map of {model} is "
            + ("within the interval of" if overlap else ("above" if a.estimate > b.estimate else "below"))
            + f" that of the Baselines (their 95 % intervals {'overlap' if overlap else 'do not overlap'}). "
            "One scene and one seed per model make this an illustration, not a test: the clouds page "
            "compares the two systems over the test split and every seed.")
    return "\n".join(lines)
