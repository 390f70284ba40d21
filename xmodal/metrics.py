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

__all__ = ["F1_THRESHOLD", "binarize", "f1_scores", "histogram_intersection", "homogeneity", "pairwise_intersection"]

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
    from sklearn.metrics import f1_score  # scikit-learn (about a second) when a score is computed

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


def histogram_intersection(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Per-pair histogram intersection ``sum_c min(p[i, c], q[i, c])``: the summand of eq. (5), ``[N]``.

    1 for identical class distributions, 0 for disjoint ones. The one numpy definition of
    the measure: :func:`homogeneity` is its mean over aligned pairs, the homogeneity
    references (:mod:`xmodal.analysis.homogeneity`) compare predictions with labels through
    it. (Training mines triplets with the all-pairs torch form,
    :func:`xmodal.losses.histogram_intersection`; :func:`pairwise_intersection` is its numpy twin.)

    Args:
        p: ``[N, C]`` class distributions.
        q: ``[N, C]`` class distributions aligned with ``p`` row by row, or one ``[C]``
            distribution compared with every row (a constant predictor).

    Raises:
        ValueError: ``p`` is not ``[N, C]`` or ``q`` neither ``[N, C]`` nor ``[C]``.
    """
    a = np.asarray(p, dtype=np.float64)
    b = np.asarray(q, dtype=np.float64)
    if a.ndim != 2 or not (b.shape == a.shape or b.shape == a.shape[1:]):
        raise ValueError(f"histogram_intersection: p {a.shape} must be [N, C] and q {b.shape} [N, C] or [C]")
    return np.minimum(a, b).sum(axis=1)


def pairwise_intersection(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """All-pairs histogram intersection ``S[i, j] = sum_c min(p[i, c], q[j, c])``, ``[N_p, N_q]``.

    The numpy form of :func:`xmodal.losses.histogram_intersection` (the label similarity
    eq. (3)'s triplet mining thresholds), for measures computed after training.
    """
    a = np.asarray(p)
    b = np.asarray(q)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"pairwise_intersection: p {a.shape} and q {b.shape} must be [N, C] arrays of equal C")
    return np.minimum(a[:, None, :], b[None, :, :]).sum(axis=-1)


def homogeneity(prob_a: np.ndarray, prob_b: np.ndarray) -> float:
    """Eq. (5): ``s = 1/N sum_i sum_c min(p_a[i, c], p_b[i, c])``.

    The mean histogram intersection (:func:`histogram_intersection`) of the predictions for
    aligned pairs (row ``i`` of both arrays shows the same place at the same time from two
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
