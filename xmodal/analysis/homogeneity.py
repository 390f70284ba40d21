"""The homogeneity of eq. (5) between two sensors, and what it is to be compared with.

* :func:`baseline_pairs` and :func:`baseline_homogeneity`: the paper's Baseline
  homogeneity compares two *separately trained* single-sensor models; these pair the
  Baseline runs of every pair of sensors (same study, seed and size) and score their
  test predictions, aligned by patch id, with :func:`xmodal.metrics.homogeneity`.
* :func:`homogeneity_references` (one run, arrays in) and :func:`homogeneity_context`
  (every row of a pair table): the values of ``s`` that follow from the two sensors'
  accuracy alone, a constant predictor's scores, and how far the sensors' errors agree.

The pair tables have the columns :data:`PAIR_COLUMNS` (:func:`xmodal.results.load_homogeneity`
makes them from a study's runs). Which rows a page shows (the full training set) is the
report layer's choice (:func:`xmodal.report.selection.final_pairs`), made before calling
:func:`homogeneity_context`.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from typing import Any, Final

import numpy as np
import pandas as pd

from xmodal.analysis.tidy import ok_runs, sensor_pairs, sensors_in
from xmodal.metrics import f1_scores, histogram_intersection, homogeneity
from xmodal.rundir import Predictions, align_ids

__all__ = [
    "PAIR_COLUMNS",
    "CONTEXT_COLUMNS",
    "baseline_pairs",
    "baseline_homogeneity",
    "homogeneity_references",
    "homogeneity_context",
]

#: Columns of the pair homogeneity tables (:func:`baseline_homogeneity`,
#: :func:`xmodal.results.load_homogeneity`): ``pairing`` is the runs' config value (``aligned`` or
#: ``disjoint``); ``n_train`` is the requested training-set size (missing: the whole split);
#: ``run_dir_a`` and ``run_dir_b`` are the same folder for a joint model.
PAIR_COLUMNS: tuple[str, ...] = (
    "study", "method", "pairing", "sensor_a", "sensor_b", "n_train", "seed", "homogeneity", "n_pairs",
    "run_dir_a", "run_dir_b",
)

#: Columns of :func:`homogeneity_context`: the pair's keys, then :func:`homogeneity_references`' numbers.
CONTEXT_COLUMNS: tuple[str, ...] = (
    "method", "sensor_a", "sensor_b", "seed", "n", "s", "hi_a", "hi_b", "s_lower_bound", "s_lower_bound_per_patch",
    "s_constant", "hi_constant", "f1_weighted_constant", "error_correlation", "both_miss",
    "both_miss_if_independent", "same_top_class",
)

#: Rows of probabilities / labels must sum to 1 within this tolerance (:func:`homogeneity_references`).
_SUM_TOLERANCE: Final[float] = 1e-3


def baseline_pairs(results: pd.DataFrame) -> pd.DataFrame:
    """Pairs of single-sensor Baseline runs to compare: every pair of sensors, same study, seed, size.

    Returns:
        One row per pair: study, method (``"baseline"``), pairing (``"aligned"``), sensor_a,
        sensor_b, n_train (requested), seed, run_dir_a, run_dir_b; a sensor with several runs
        of the same study, seed and size uses the first.
    """
    cols = ["study", "method", "pairing", "sensor_a", "sensor_b", "n_train", "seed", "run_dir_a", "run_dir_b"]
    ok = ok_runs(results)
    base = ok[(ok["method"] == "baseline") & (ok["trained_modalities"] == ok["modality"])]
    keys = ["study", "n_train_requested", "seed"]
    runs = {s: base[base["modality"] == s].drop_duplicates(keys).set_index(keys)["run_dir"]
            for s in sensors_in(base)}
    rows = []
    for a, b in sensor_pairs(runs):
        for key in runs[a].index.intersection(runs[b].index):
            rows.append({"study": key[0], "method": "baseline", "pairing": "aligned", "sensor_a": a, "sensor_b": b,
                         "n_train": key[1], "seed": key[2], "run_dir_a": runs[a][key], "run_dir_b": runs[b][key]})
    return pd.DataFrame(rows, columns=cols)


def _aligned_pairs(pairs: pd.DataFrame, predictions: Mapping[str, Predictions]) -> Iterator[tuple[Any, ...]]:
    """Each row of a pair table with its two sides' predictions aligned by patch id (rows with none left out).

    Yields ``(row, (sensor_a, predictions_a, index_a), (sensor_b, predictions_b, index_b))``.
    """
    for _, p in pairs.iterrows():
        a, b = p["sensor_a"], p["sensor_b"]
        pa, pb = predictions[str(p["run_dir_a"])], predictions[str(p["run_dir_b"])]
        ia, ib = align_ids(pa.ids[a], pb.ids[b])
        if len(ia):
            yield p, (a, pa, ia), (b, pb, ib)


def baseline_homogeneity(pairs: pd.DataFrame, predictions: Mapping[str, Predictions]) -> pd.DataFrame:
    """Cross-modal homogeneity (eq. 5) of separately trained single-sensor Baselines.

    The paper's baseline homogeneity (0.63) compares a model trained on S1 only with one
    trained on S2 only. For every pair of :func:`baseline_pairs`, the test predictions of
    the two runs are aligned by patch id and compared with :func:`xmodal.metrics.homogeneity`.

    Args:
        pairs: :func:`baseline_pairs` of a results table.
        predictions: run folder (as in ``run_dir_a`` / ``run_dir_b``) -> its predictions.

    Returns:
        :data:`PAIR_COLUMNS`: one row per pair with at least one common test patch.
    """
    rows = []
    for p, (a, pa, ia), (b, pb, ib) in _aligned_pairs(pairs, predictions):
        rows.append({**{c: p[c] for c in pairs.columns if c in PAIR_COLUMNS},
                     "homogeneity": homogeneity(pa.prob[a][ia], pb.prob[b][ib]), "n_pairs": len(ia)})
    return pd.DataFrame(rows, columns=list(PAIR_COLUMNS))


def _distributions(name: str, x: Any) -> np.ndarray:
    a = np.asarray(x, dtype=np.float64)
    if a.ndim != 2 or a.shape[0] == 0:
        raise ValueError(f"homogeneity_references: {name} must be a non-empty [N, C] array, got shape {a.shape}")
    if (a < -_SUM_TOLERANCE).any() or not np.allclose(a.sum(axis=1), 1.0, atol=_SUM_TOLERANCE):
        raise ValueError(f"homogeneity_references: rows of {name} must be distributions (>= 0, summing to 1)")
    return a


def homogeneity_references(
    targets: np.ndarray,
    prob_a: np.ndarray,
    prob_b: np.ndarray,
    *,
    prior: np.ndarray | None = None,
) -> dict[str, float]:
    """What the homogeneity ``s`` of eq. (5) is to be compared with, for one run.

    ``s`` rewards agreement between the sensors' predictions, and two accurate sensors
    agree. These references separate agreement that follows from accuracy from
    agreement beyond it. With ``HI_m = 1/N sum_i sum_c min(p_m[i, c], y[i, c])``, the
    mean histogram intersection of sensor ``m``'s predictions with the soft labels:

    **Bound implied by accuracy.** For distributions ``p, q, y`` over the classes,
    ``sum_c min(p, q) >= sum_c min(p, y) + sum_c min(q, y) - 1``. Proof: for
    distributions, ``min(u, v) = (u + v - |u - v|) / 2`` summed over the classes gives
    ``sum min(u, v) = 1 - TV(u, v)`` with ``TV(u, v) = 1/2 sum |u - v|``; the triangle
    inequality ``|p - q| <= |p - y| + |y - q|`` (per class, then summed) gives
    ``TV(p, q) <= TV(p, y) + TV(y, q)``, i.e. ``1 - s_i <= (1 - hi_a,i) + (1 - hi_b,i)``.
    Averaging over patches: ``s >= HI_a + HI_b - 1`` (``s_lower_bound``); since also
    ``s_i >= 0``, ``s >= mean_i max(0, hi_a,i + hi_b,i - 1)`` (``s_lower_bound_per_patch``,
    tighter). The reverse triangle inequality ``TV(p, q) >= |TV(p, y) - TV(q, y)|``
    gives ``s <= 1 - mean_i |hi_a,i - hi_b,i|`` (``s_upper_bound_per_patch``): a sensor
    much closer to the labels than the other cannot agree with it. Two perfect
    sensors have ``s = 1``; ``s`` near the lower bound means the sensors agree no more
    than their accuracy forces them to.

    **Constant predictor.** Predicting the prior (the training set's mean label) for
    every patch, from either sensor, gives ``s = 1`` (``s_constant``): perfect
    homogeneity with no information, so ``s`` alone can never show a method is better.
    Its intersection with the labels, ``hi_constant``, is the accuracy a sensor must
    beat to have learnt anything; ``f1_weighted_constant`` is its weighted F1.

    **Error agreement.** Per patch, sensor ``m``'s error is ``1 - hi_m,i``;
    ``error_correlation`` is the Pearson correlation of the two sensors' errors
    (NaN if one is constant). On the dominant class (the label's largest share):
    ``dominant_hit_a`` / ``_b`` are the shares of patches whose top predicted class is
    it, ``both_hit`` / ``both_miss`` the shares where both sensors hit / miss it,
    ``both_miss_if_independent = (1 - dominant_hit_a) (1 - dominant_hit_b)`` the
    share expected if the misses were independent, and ``same_top_class`` the share
    where the two sensors' top classes agree (right or wrong).

    Args:
        targets: ``[N, C]`` soft labels of the aligned test pairs.
        prob_a, prob_b: ``[N, C]`` predictions of the two sensors (row ``i`` is the same patch).
        prior: ``[C]`` the constant predictor, normally the training labels' mean; None
            uses the mean of ``targets`` (the best constant for the test set: optimistic).

    Returns:
        A flat dict of floats (one row of a table): ``n, s, hi_a, hi_b, s_lower_bound,
        s_lower_bound_per_patch, s_upper_bound_per_patch, s_constant, hi_constant,
        f1_weighted_constant, error_correlation, dominant_hit_a, dominant_hit_b, both_hit,
        both_miss, both_miss_if_independent, same_top_class``.
    """
    y = _distributions("targets", targets)
    pa = _distributions("prob_a", prob_a)
    pb = _distributions("prob_b", prob_b)
    if not (y.shape == pa.shape == pb.shape):
        raise ValueError(
            f"homogeneity_references: shapes differ: targets {y.shape}, prob_a {pa.shape}, prob_b {pb.shape}"
        )
    n, c = y.shape
    const = y.mean(axis=0) if prior is None else np.asarray(prior, dtype=np.float64)
    if const.shape != (c,):
        raise ValueError(f"homogeneity_references: prior has shape {const.shape}, expected ({c},)")
    hi_a, hi_b = histogram_intersection(pa, y), histogram_intersection(pb, y)
    err_a, err_b = 1.0 - hi_a, 1.0 - hi_b
    if n > 1 and err_a.std() > 0 and err_b.std() > 0:
        err_corr = float(np.corrcoef(err_a, err_b)[0, 1])
    else:
        err_corr = math.nan
    dom = y.argmax(axis=1)
    top_a, top_b = pa.argmax(axis=1), pb.argmax(axis=1)
    hit_a, hit_b = top_a == dom, top_b == dom
    f1_const = f1_scores(y, np.broadcast_to(const, y.shape))["weighted"]
    return {
        "n": float(n),
        "s": homogeneity(pa, pb),
        "hi_a": float(hi_a.mean()),
        "hi_b": float(hi_b.mean()),
        "s_lower_bound": float(hi_a.mean() + hi_b.mean() - 1.0),
        "s_lower_bound_per_patch": float(np.maximum(0.0, hi_a + hi_b - 1.0).mean()),
        "s_upper_bound_per_patch": float(1.0 - np.abs(hi_a - hi_b).mean()),
        "s_constant": 1.0,
        "hi_constant": float(histogram_intersection(y, const).mean()),
        "f1_weighted_constant": float(f1_const),
        "error_correlation": err_corr,
        "dominant_hit_a": float(hit_a.mean()),
        "dominant_hit_b": float(hit_b.mean()),
        "both_hit": float((hit_a & hit_b).mean()),
        "both_miss": float((~hit_a & ~hit_b).mean()),
        "both_miss_if_independent": float((1.0 - hit_a.mean()) * (1.0 - hit_b.mean())),
        "same_top_class": float((top_a == top_b).mean()),
    }


def homogeneity_context(pairs: pd.DataFrame, predictions: Mapping[str, Predictions],
                        priors: Mapping[str, np.ndarray] | None = None) -> pd.DataFrame:
    """What each homogeneity score of ``pairs`` is to be compared with (s alone says little).

    For every row of ``pairs`` (select them first: the book passes the full-training-set
    rows, :func:`xmodal.report.selection.final_pairs`), the two sensors' test predictions
    are aligned by patch id and passed to :func:`homogeneity_references`: the
    accuracy-implied lower bound ``HI_a + HI_b - 1``, the score of a constant predictor (1 by
    construction) and its agreement with the labels, and how far the two sensors' errors
    coincide.

    Args:
        pairs: a pair homogeneity table (:data:`PAIR_COLUMNS`).
        predictions: run folder -> its predictions (every ``run_dir_a`` / ``run_dir_b``).
        priors: run folder -> the training labels' mean histogram (the constant
            predictor); a run without one uses its test labels' mean.

    Returns:
        :data:`CONTEXT_COLUMNS`, one row per pair with common test patches.
    """
    rows = []
    for p, (a, pa, ia), (b, pb, ib) in _aligned_pairs(pairs, predictions):
        prior = (priors or {}).get(str(p["run_dir_a"]))
        refs = homogeneity_references(pa.target[a][ia], pa.prob[a][ia], pb.prob[b][ib], prior=prior)
        rows.append({"method": p["method"], "sensor_a": a, "sensor_b": b, "seed": p["seed"],
                     **{k: refs[k] for k in CONTEXT_COLUMNS[4:]}})
    return pd.DataFrame(rows, columns=list(CONTEXT_COLUMNS))
