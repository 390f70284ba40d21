"""Evaluation metrics: multi-label F1 at the paper's 30 % threshold, and homogeneity (eq. 5).

Eq. (5) is defined here only: :func:`histogram_intersection` per pair, :func:`homogeneity` its mean.

The paper counts a class as *predicted* for a patch when its predicted
probability exceeds 30 %. It does not say how the ground-truth histogram becomes
binary labels; the natural reading, used here, applies the same rule: a class is
*present* in a patch when it covers more than 30 % of its label histogram. So a
class covering 20 % of a patch is not required (missing it is no false negative),
while predicting it above 30 % counts as a false positive.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.metrics import f1_score

__all__ = ["F1_THRESHOLD", "binarize", "f1_scores", "histogram_intersection", "homogeneity"]

#: The paper's decision threshold on class probabilities (and, here, on label shares).
F1_THRESHOLD: float = 0.3


def binarize(hist: np.ndarray, threshold: float = F1_THRESHOLD) -> np.ndarray:
    """Multi-label indicator matrix: ``hist > threshold`` as int (``[N, C]``)."""
    return (np.asarray(hist) > threshold).astype(np.int64)


def f1_scores(
    target_hist: np.ndarray,
    pred_prob: np.ndarray,
    threshold: float = F1_THRESHOLD,
    class_names: Sequence[str] | None = None,
) -> dict:
    """Multi-label F1 scores (macro, weighted, micro, per class) as in Sec. 3.1.

    Args:
        target_hist: ``[N, C]`` ground-truth class histograms (soft labels).
        pred_prob: ``[N, C]`` predicted class probabilities.
        threshold: a class is positive when its share / probability is ``> threshold``.
        class_names: names for the per-class entries (default ``"0".."C-1"``).

    Returns:
        ``{"macro", "weighted", "micro", "per_class": {name: f1}, "support":
        {name: n_positive_targets}, "threshold", "n_samples"}``. Per-class F1
        uses ``zero_division=0``. ``macro`` averages the classes that occur in
        the targets *or* the predictions: a class absent from both plays no role
        in the task and would otherwise count as a fake 0. ``weighted`` weights
        by support (absent classes weigh 0); ``micro`` pools all decisions.
    """
    y_true = np.asarray(target_hist, dtype=np.float64)
    prob = np.asarray(pred_prob, dtype=np.float64)
    if y_true.ndim != 2 or y_true.shape != prob.shape:
        raise ValueError(
            f"f1_scores: target_hist {y_true.shape} and pred_prob {prob.shape} must be equal [N, C] arrays"
        )
    n, c = y_true.shape
    names = [str(i) for i in range(c)] if class_names is None else [str(s) for s in class_names]
    if len(names) != c:
        raise ValueError(f"f1_scores: {len(names)} class_names for {c} classes")
    t = binarize(y_true, threshold)
    p = binarize(prob, threshold)
    support = t.sum(axis=0)
    per = f1_score(t, p, average=None, zero_division=0) if n else np.zeros(c)
    active = (support > 0) | (p.sum(axis=0) > 0)
    macro = float(per[active].mean()) if active.any() else 0.0
    weighted = float((per * support).sum() / support.sum()) if support.sum() else 0.0
    micro = float(f1_score(t, p, average="micro", zero_division=0)) if n else 0.0
    return {
        "macro": macro,
        "weighted": weighted,
        "micro": micro,
        "per_class": {name: float(v) for name, v in zip(names, per, strict=True)},
        "support": {name: int(s) for name, s in zip(names, support, strict=True)},
        "threshold": float(threshold),
        "n_samples": int(n),
    }


def histogram_intersection(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The summand of eq. (5), per row: ``sum_c min(a[i, c], b[i, c])`` (``[N]``, float64).

    1 where two class distributions are identical, 0 where they share nothing.
    :func:`homogeneity` is its mean over aligned pairs.

    Args:
        a: ``[N, C]`` class distributions.
        b: ``[N, C]`` class distributions of the same rows, or one ``[C]`` distribution
            compared with every row of ``a`` (a constant predictor).

    Raises:
        ValueError: other shapes (the message gives them).
    """
    x = np.asarray(a, dtype=np.float64)
    y = np.asarray(b, dtype=np.float64)
    if x.ndim != 2 or not (y.shape == x.shape or y.shape == x.shape[1:]):
        raise ValueError(f"histogram_intersection: a {x.shape} must be [N, C] and b {y.shape} [N, C] or [C]")
    return np.minimum(x, y).sum(axis=1)


def homogeneity(prob_a: np.ndarray, prob_b: np.ndarray) -> float:
    """Eq. (5): ``s = 1/N sum_i sum_c min(p_a[i, c], p_b[i, c])``.

    The mean histogram intersection of the predictions for aligned pairs (row
    ``i`` of both arrays shows the same place at the same time from two
    sensors): 1 for identical predictions, 0 for disjoint ones.

    Args:
        prob_a, prob_b: ``[N, C]`` predicted class distributions of the two modalities.
    """
    a = np.asarray(prob_a, dtype=np.float64)
    b = np.asarray(prob_b, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 2:
        raise ValueError(f"homogeneity: prob_a {a.shape} and prob_b {b.shape} must be equal [N, C] arrays")
    if a.shape[0] == 0:
        raise ValueError("homogeneity: no aligned pairs (N = 0)")
    return float(histogram_intersection(a, b).mean())
