"""A map scored against a truth map, with a bootstrap interval over blocks of the scene.

The unit scored is the output cell (stride x stride pixels). A cell's truth is the class
histogram of its pixels in a truth map of IGBP codes (:func:`cell_truth`, through
:func:`xmodal.data.labels.soft_labels`, the definition of the training labels: under
``dfc9`` savanna pixels are ignored and a cell of savanna only has no label). Two scores:

* **accuracy**: the share of cells whose dominant predicted class is the dominant true class;
* **weighted F1**: the paper's multi-label F1 at the 0.3 threshold (:func:`xmodal.metrics.f1_scores`),
  a cell being one sample (its truth histogram against its predicted probabilities).

Neighbouring cells are not independent (they share patches and land-cover regions), so the
interval resamples square **blocks** of ``block`` x ``block`` cells with replacement (a
cluster bootstrap, :func:`xmodal.analysis.stats.bootstrap_interval` and
:func:`~xmodal.analysis.stats.bootstrap_f1`): blocks several patches wide make the interval
honest about the map's spatial correlation, for this one scene (another scene, another
interval). Cells without an answer or without a label are left out; :attr:`MapScore.coverage`
says how many labelled cells had an answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from xmodal.analysis.bootstrap import N_BOOT, BootstrapInterval, bootstrap_f1, bootstrap_interval
from xmodal.analysis.stats import CONFIDENCE
from xmodal.data.labels import soft_labels

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["DEFAULT_BLOCK", "MapScore", "cell_truth", "score_map", "score_table"]

#: Side of a bootstrap block, in cells.
DEFAULT_BLOCK = 4


def cell_truth(igbp: np.ndarray, stride: int, label_scheme: str = "dfc9", rows: int | None = None,
               cols: int | None = None) -> np.ndarray:
    """Class histogram ``[rows, cols, C]`` of every stride x stride cell of a truth map of IGBP codes.

    Args:
        igbp: ``[H, W]`` IGBP codes at the scene's resolution (the upper-left of the map's grid).
        stride: the map's stride (cell side in pixels).
        label_scheme: ``dfc9`` or ``dfc10``.
        rows, cols: the map's grid (default: every whole cell of ``igbp``).

    Returns:
        float ``[rows, cols, C]``; NaN for a cell holding no pixel of a kept class.
    """
    arr = np.asarray(igbp)
    rows = arr.shape[0] // stride if rows is None else rows
    cols = arr.shape[1] // stride if cols is None else cols
    if rows * stride > arr.shape[0] or cols * stride > arr.shape[1]:
        raise ValueError(f"cell_truth: a truth map of {arr.shape} pixels is smaller than {rows} x {cols} cells of "
                         f"{stride} px")
    cells = arr[:rows * stride, :cols * stride].reshape(rows, stride, cols, stride).transpose(0, 2, 1, 3)
    hist = soft_labels(cells.reshape(rows * cols, stride, stride), label_scheme).astype(np.float64)
    hist[hist.sum(axis=1) == 0] = np.nan
    return hist.reshape(rows, cols, -1)


@dataclass(frozen=True)
class MapScore:
    """How well a map matches its truth.

    Attributes:
        accuracy: share of cells whose dominant class is right, with its block-bootstrap interval.
        weighted_f1: weighted F1 (at the 0.3 threshold) over the cells, with its interval.
        n_cells: cells scored (labelled and answered).
        n_blocks: blocks resampled.
        coverage: share of the labelled cells that have an answer.
        block: block side in cells.
    """

    accuracy: BootstrapInterval
    weighted_f1: BootstrapInterval
    n_cells: int
    n_blocks: int
    coverage: float
    block: int


def score_map(prob: np.ndarray, truth: np.ndarray, *, block: int = DEFAULT_BLOCK, n_boot: int = N_BOOT,
              seed: int = 0, confidence: float = CONFIDENCE) -> MapScore:
    """Accuracy and weighted F1 of a map against its truth, each with a block-bootstrap interval.

    Args:
        prob: ``[rows, cols, C]`` the map's class probabilities (NaN where no answer).
        truth: ``[rows, cols, C]`` the cells' true class histograms (NaN where no label), e.g.
            from :func:`cell_truth`.
        block: block side in cells (the unit resampled).
        n_boot, seed, confidence: as in :func:`xmodal.analysis.stats.bootstrap_interval`.

    Raises:
        ValueError: arrays of other shapes, or fewer than two blocks with scored cells.
    """
    p = np.asarray(prob, dtype=np.float64)
    t = np.asarray(truth, dtype=np.float64)
    if p.ndim != 3 or p.shape != t.shape:
        raise ValueError(f"score_map: prob {p.shape} and truth {t.shape} must be equal [rows, cols, C] arrays")
    if not isinstance(block, int) or block < 1:
        raise ValueError(f"score_map: block {block!r} must be a positive number of cells")
    rows, cols = p.shape[:2]
    labelled = np.isfinite(t).all(axis=-1)
    use = labelled & np.isfinite(p).all(axis=-1)
    r, c = np.nonzero(use)
    groups = (r // block) * (-(-cols // block)) + c // block
    pt, tt = p[use], t[use]
    right = (np.argmax(pt, axis=1) == np.argmax(tt, axis=1)).astype(np.float64)
    accuracy = bootstrap_interval(right, groups, n_boot=n_boot, seed=seed, confidence=confidence)
    f1 = bootstrap_f1(tt, pt, groups, average="weighted", n_boot=n_boot, seed=seed, confidence=confidence)
    return MapScore(accuracy, f1, int(use.sum()), int(np.unique(groups).size),
                    float(use.sum() / labelled.sum()) if labelled.any() else float("nan"), block)


def score_table(scores: Mapping[str, MapScore]) -> pd.DataFrame:
    """One row per map: accuracy and weighted F1 with their intervals, cells, blocks, coverage."""
    import pandas as pd

    rows = []
    for name, s in scores.items():
        rows.append({"map": name, "accuracy": s.accuracy.estimate, "accuracy low": s.accuracy.low,
                     "accuracy high": s.accuracy.high, "weighted F1": s.weighted_f1.estimate,
                     "F1 low": s.weighted_f1.low, "F1 high": s.weighted_f1.high, "cells": s.n_cells,
                     "blocks": s.n_blocks, "coverage": s.coverage})
    return pd.DataFrame(rows)
