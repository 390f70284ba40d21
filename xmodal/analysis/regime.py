"""The regime map's statistics: per cell of a grid of worlds, what the joint methods gain over the Baselines.

A cell is one combination of the map's two knob levels. Its runs are rows of the tidy results
table with one column per axis (:func:`xmodal.worlds.regime.regime_cells` adds them) and a
``shared`` flag for a Baseline that serves every level of the training axis (the S2 Baseline when
only S1's training patches vary). For every cell, method and sensor :func:`regime_differences`
gives the paired difference over seeds (:func:`xmodal.analysis.stats.paired_difference`):

- ``f1``: weighted F1 of the method minus the Baseline of that sensor (same seed), the test scenes'
  bootstrap share added when predictions are given (:func:`xmodal.analysis.bootstrap.scene_se`);
- ``homogeneity``: eq. (5) homogeneity of the method minus that of the two Baselines' predictions
  (same seed, one pair per cell: :func:`cell_baseline_pairs`), over seeds.

A cell's interval is its own, at the stated confidence, not adjusted for the number of cells: of
many cells where nothing happens about 5% would still exclude 0, and the pages say so.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Final

import pandas as pd

from xmodal.analysis.bootstrap import scene_se
from xmodal.analysis.stats import CONFIDENCE, paired_difference
from xmodal.rundir import Predictions

__all__ = ["REGIME_COLUMNS", "cell_baseline_pairs", "cell_rows", "cells_of", "regime_differences"]

#: Columns of :func:`regime_differences` after the axis columns.
REGIME_COLUMNS: Final[tuple[str, ...]] = ("quantity", "method", "sensor", "estimate", "low", "high", "half_width",
                                          "n", "p", "se_scene", "significant")


def _same(series: pd.Series, value: Any) -> pd.Series:
    """``series == value``, with None/NaN equal to None/NaN."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return series.isna()
    return series == value


def cells_of(cells: pd.DataFrame, axes: Sequence[str]) -> list[tuple[Any, ...]]:
    """The cells (one tuple of levels per combination of ``axes``) that have runs of their own, in grid order."""
    own = cells[~cells["shared"].astype(bool)]
    seen: list[tuple[Any, ...]] = []
    for key in own[list(axes)].itertuples(index=False, name=None):
        key = tuple(None if (isinstance(v, float) and math.isnan(v)) else v for v in key)
        if key not in seen:
            seen.append(key)

    def order(k: tuple[Any, ...]) -> tuple[Any, ...]:  # "all" (None) after every number
        return tuple((1, 0.0) if v is None else (0, float(v)) for v in k)

    return sorted(seen, key=order)


def cell_rows(cells: pd.DataFrame, axes: Sequence[str], cell: Sequence[Any]) -> pd.DataFrame:
    """The rows of one cell: its own runs, and the shared Baselines of its world (the generator axes' levels)."""
    shared = cells["shared"].astype(bool)
    own = ~shared
    world = pd.Series(True, index=cells.index)
    for axis, level in zip(axes, cell, strict=True):
        own &= _same(cells[axis], level)
        if not cells.loc[shared, axis].isna().all():  # a generator axis: the shared runs carry its level
            world &= _same(cells[axis], level)
    return cells[own | (shared & world)]


def cell_baseline_pairs(cells: pd.DataFrame, axes: Sequence[str]) -> pd.DataFrame:
    """Per cell and seed, the pair of single-sensor Baselines whose homogeneity the cell's Baseline has.

    Columns as :func:`xmodal.analysis.homogeneity.baseline_pairs` (study, method, pairing, sensor_a,
    sensor_b, n_train, seed, run_dir_a, run_dir_b), ``n_train`` the S1 Baseline's training patches.
    """
    cols = ["study", "method", "pairing", "sensor_a", "sensor_b", "n_train", "seed", "run_dir_a", "run_dir_b"]
    rows = []
    for cell in cells_of(cells, axes):
        sub = cell_rows(cells, axes, cell)
        base = sub[(sub["method"] == "baseline") & (sub["status"] == "ok")]
        a = base[base["modality"] == "s1"].drop_duplicates("seed").set_index("seed")
        b = base[base["modality"] == "s2"].drop_duplicates("seed").set_index("seed")
        for seed in sorted(set(a.index) & set(b.index)):
            rows.append({"study": a.loc[seed, "study"], "method": "baseline", "pairing": "aligned",
                         "sensor_a": "s1", "sensor_b": "s2", "n_train": a.loc[seed, "n_train"], "seed": seed,
                         "run_dir_a": a.loc[seed, "run_dir"], "run_dir_b": b.loc[seed, "run_dir"]})
    return pd.DataFrame(rows, columns=cols)


def _per_seed(rows: pd.DataFrame, method: str, sensor: str, column: str) -> pd.Series:
    sub = rows[(rows["method"] == method) & (rows["modality"] == sensor) & (rows["status"] == "ok")]
    return sub.groupby("seed")[column].mean()


def regime_differences(
    cells: pd.DataFrame,
    axes: Sequence[str],
    methods: Sequence[str],
    pairs: pd.DataFrame | None = None,
    predictions: Mapping[str, Predictions] | None = None,
    *,
    confidence: float = CONFIDENCE,
) -> pd.DataFrame:
    """Every cell's gains of ``methods`` over the Baselines (see the module docstring).

    Args:
        cells: results rows with the axis columns and ``shared`` (:func:`xmodal.worlds.regime.regime_cells`).
        axes: the two axis columns, in the map's order (rows, columns).
        methods: the joint methods compared with the Baselines.
        pairs: homogeneity pairs holding the cells' Baseline pairs (:func:`cell_baseline_pairs` with their
            ``homogeneity``), matched by the S1 Baseline's run; None: no homogeneity rows.
        predictions: run folder -> test predictions, for the test scenes' share of the F1 intervals.
        confidence: the intervals' level.

    Returns:
        One row per cell, quantity (``f1`` per sensor, ``homogeneity``) and method: the axis columns
        then :data:`REGIME_COLUMNS`; ``significant`` is True when the interval excludes 0.
    """
    out = []
    base_h = None
    if pairs is not None and len(pairs):
        bp = pairs[pairs["method"] == "baseline"]
        base_h = bp.set_index("run_dir_a")["homogeneity"]
    for cell in cells_of(cells, axes):
        rows = cell_rows(cells, axes, cell)
        key = dict(zip(axes, cell, strict=True))
        for method in methods:
            for sensor in ("s1", "s2"):
                a = _per_seed(rows, method, sensor, "weighted")
                b = _per_seed(rows, "baseline", sensor, "weighted")
                if not len(a) or not len(b):
                    continue
                se = (scene_se(rows, predictions, (method, sensor), ("baseline", sensor), "weighted")
                      if predictions is not None else math.nan)
                d = paired_difference(a, b, confidence=confidence, se_scene=se)
                out.append({**key, "quantity": "f1", "method": method, "sensor": sensor, **_fields(d)})
            if base_h is None:
                continue
            h = _per_seed(rows, method, "s1", "homogeneity")
            s1 = rows[(rows["method"] == "baseline") & (rows["modality"] == "s1")].drop_duplicates("seed")
            hb = pd.Series({int(str(r.seed)): base_h.get(r.run_dir, math.nan) for r in s1.itertuples()}, dtype=float)
            if len(h) and hb.notna().any():
                d = paired_difference(h, hb.dropna(), confidence=confidence)
                out.append({**key, "quantity": "homogeneity", "method": method, "sensor": "s1|s2", **_fields(d)})
    return pd.DataFrame(out, columns=[*axes, *REGIME_COLUMNS])


def _fields(d: Any) -> dict[str, Any]:
    sig = bool(d.n > 1 and (d.low > 0 or d.high < 0))
    return {"estimate": d.estimate, "low": d.low, "high": d.high, "half_width": d.half_width, "n": d.n, "p": d.p,
            "se_scene": d.se_scene, "significant": sig}
