"""The test scenes' share of the uncertainty: bootstrap over whole scenes.

How much of a single run's score is the luck of its test scenes? Patches of one scene
overlap and share their land cover, so they are not independent test units: every
function here resamples whole *scenes*.

* :func:`bootstrap_interval` and :func:`bootstrap_f1`: a percentile interval of one
  test-set statistic (a mean of per-patch values, or an F1 from per-scene counts);
* :func:`scene_bootstrap_se`: the standard error the choice of test scenes adds to a
  seed-mean F1 difference between two methods scored on the same patches, which
  :func:`xmodal.analysis.stats.paired_difference` adds to the seeds' spread;
* :func:`scene_se`: the same, for two (method, sensor) rows of a results table and the
  runs' predictions (NaN when the runs were not all tested on the same patches).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import numpy as np

from xmodal.analysis.stats import CONFIDENCE, check_confidence
from xmodal.data.layout import parse_patch_id
from xmodal.metrics import F1_THRESHOLD, binarize
from xmodal.rundir import align_ids

if TYPE_CHECKING:
    import pandas as pd

    from xmodal.rundir import Predictions

__all__ = [
    "N_BOOT",
    "F1_AVERAGES",
    "BootstrapInterval",
    "resample_counts",
    "bootstrap_interval",
    "bootstrap_f1",
    "scene_counts",
    "scene_bootstrap_se",
    "scene_ids",
    "seed_predictions",
    "scene_se",
]

#: Default number of bootstrap resamples (the percentile interval's tails hold 25 resamples each at 95 %).
N_BOOT: Final[int] = 1000

#: F1 averages that :func:`bootstrap_f1` computes (as :func:`xmodal.metrics.f1_scores`).
F1_AVERAGES: Final[tuple[str, ...]] = ("macro", "weighted", "micro")


@dataclass(frozen=True)
class BootstrapInterval:
    """A statistic of the test set with a percentile bootstrap interval over resampled groups.

    Attributes:
        estimate: the statistic on the test set as it is.
        low, high: percentile interval of the resampled statistics.
        half_width: ``(high - low) / 2``.
        se: standard deviation of the resampled statistics (bootstrap standard error).
        n_boot: resamples whose statistic was finite (those used).
        n_groups: number of groups (scenes) resampled.
        confidence: the interval's level.
    """

    estimate: float
    low: float
    high: float
    half_width: float
    se: float
    n_boot: int
    n_groups: int
    confidence: float


def _group_codes(groups: Any, n: int | None, where: str) -> tuple[np.ndarray, int]:
    g = np.asarray(groups)
    if g.ndim != 1:
        raise ValueError(f"{where}: groups must be 1-d (one group id per test unit), got shape {g.shape}")
    if n is not None and g.size != n:
        raise ValueError(f"{where}: {g.size} group ids for {n} test units")
    _, codes = np.unique(g, return_inverse=True)
    n_groups = int(codes.max()) + 1 if codes.size else 0
    if n_groups < 2:
        raise ValueError(f"{where}: need at least 2 groups (scenes) to resample, got {n_groups}")
    return codes.ravel(), n_groups


def resample_counts(n_groups: int, n_boot: int = N_BOOT, seed: int = 0) -> np.ndarray:
    """How often each of ``n_groups`` groups is drawn in each of ``n_boot`` resamples with replacement.

    Every resample draws ``n_groups`` groups uniformly with replacement (the cluster
    bootstrap: a scene enters with all its patches or not at all).

    Returns:
        ``[n_boot, n_groups]`` int64 counts; every row sums to ``n_groups``.
    """
    if n_groups < 1:
        raise ValueError(f"resample_counts: invalid n_groups {n_groups}")
    if n_boot < 1:
        raise ValueError(f"Invalid n_boot {n_boot}; need at least 1 resample")
    draws = np.random.default_rng(seed).integers(0, n_groups, size=(n_boot, n_groups))
    flat = (draws + n_groups * np.arange(n_boot)[:, None]).ravel()
    return np.bincount(flat, minlength=n_boot * n_groups).reshape(n_boot, n_groups)


def _interval(estimate: float, boot: np.ndarray, n_groups: int, conf: float) -> BootstrapInterval:
    boot = boot[np.isfinite(boot)]
    if boot.size == 0:
        raise ValueError("bootstrap: the statistic is not finite on any resample")
    lo, hi = np.quantile(boot, [0.5 - conf / 2.0, 0.5 + conf / 2.0])
    se = float(boot.std(ddof=1)) if boot.size > 1 else math.nan
    return BootstrapInterval(float(estimate), float(lo), float(hi), float(hi - lo) / 2.0, se, int(boot.size),
                             n_groups, conf)


def bootstrap_interval(
    values_or_fn: np.ndarray | Sequence[float] | Callable[[np.ndarray], float],
    groups: Any,
    n_boot: int = N_BOOT,
    seed: int = 0,
    confidence: float = CONFIDENCE,
) -> BootstrapInterval:
    """Percentile bootstrap interval of a test-set statistic, resampling whole groups (scenes).

    Patches of one scene overlap (stride 128 on 256 px) and share their land cover, so
    the scene, not the patch, is the independent test unit: each resample draws the
    scenes with replacement and keeps all patches of every drawn scene (a cluster
    bootstrap; Davison & Hinkley 1997, Sec. 3.8). The interval is the percentile
    interval (Efron & Tibshirani 1993, Ch. 13); with few scenes (under ~20) it is
    too narrow, so read it as a lower bound on the test set's contribution to the spread.

    Args:
        values_or_fn: either per-unit values ``[N]`` -- the statistic is their mean,
            computed for all resamples at once (e.g. per-patch histogram intersections of
            :func:`xmodal.metrics.histogram_intersection`, whose mean is eq. 5) -- or a function of the unit
            indices of a resample (``idx [n] int``, units of a scene drawn twice appear
            twice) returning the statistic, e.g. ``lambda idx: f1_scores(t[idx], p[idx])["weighted"]``
            (:func:`bootstrap_f1` does that one vectorised).
        groups: ``[N]`` group (scene) id of every unit, any hashable dtype.
        n_boot: number of resamples.
        seed: seed of the resampling (the same seed draws the same scenes in every
            function of this module, so intervals of two statistics are comparable).
        confidence: level of the interval.

    Returns:
        A :class:`BootstrapInterval`; resamples with a non-finite statistic are dropped.
    """
    conf = check_confidence(confidence, "bootstrap_interval")
    if callable(values_or_fn):
        codes, n_groups = _group_codes(groups, None, "bootstrap_interval")
        counts = resample_counts(n_groups, n_boot, seed)
        units = np.arange(codes.size)
        estimate = float(values_or_fn(units))
        boot = np.array([float(values_or_fn(np.repeat(units, row[codes]))) for row in counts])
        return _interval(estimate, boot, n_groups, conf)
    values = np.asarray(values_or_fn, dtype=np.float64)
    if values.ndim != 1:
        raise ValueError(f"bootstrap_interval: values must be 1-d per-unit values, got shape {values.shape}")
    if not np.isfinite(values).all():
        raise ValueError(f"bootstrap_interval: {int((~np.isfinite(values)).sum())} values are not finite")
    codes, n_groups = _group_codes(groups, values.size, "bootstrap_interval")
    counts = resample_counts(n_groups, n_boot, seed).astype(np.float64)
    sums = np.bincount(codes, weights=values, minlength=n_groups)
    sizes = np.bincount(codes, minlength=n_groups).astype(np.float64)
    boot = (counts @ sums) / (counts @ sizes)
    return _interval(float(values.mean()), boot, n_groups, conf)


def _f1_from_counts(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray, average: str) -> np.ndarray:
    """F1 averages from ``[..., C]`` counts, with the conventions of :func:`xmodal.metrics.f1_scores`."""
    denom = 2 * tp + fp + fn
    with np.errstate(invalid="ignore", divide="ignore"):
        per = np.where(denom > 0, 2 * tp / np.where(denom > 0, denom, 1), 0.0)
        if average == "micro":
            t, f = tp.sum(-1), (fp + fn).sum(-1)
            return np.where(2 * t + f > 0, 2 * t / np.where(2 * t + f > 0, 2 * t + f, 1), 0.0)
        if average == "weighted":
            support = tp + fn
            tot = support.sum(-1)
            return np.where(tot > 0, (per * support).sum(-1) / np.where(tot > 0, tot, 1), 0.0)
        active = (tp + fn > 0) | (tp + fp > 0)
        n_active = active.sum(-1)
        return np.where(n_active > 0, (per * active).sum(-1) / np.where(n_active > 0, n_active, 1), 0.0)


def bootstrap_f1(
    target_hist: np.ndarray,
    pred_prob: np.ndarray,
    groups: Any,
    *,
    average: str = "weighted",
    threshold: float = F1_THRESHOLD,
    n_boot: int = N_BOOT,
    seed: int = 0,
    confidence: float = CONFIDENCE,
) -> BootstrapInterval:
    """F1 of one run with a bootstrap interval over test scenes, all resamples at once.

    Gives the same numbers as :func:`bootstrap_interval` with
    ``lambda idx: f1_scores(target_hist[idx], pred_prob[idx], threshold)[average]`` (same
    seed, same resamples), but from per-scene true/false positive/negative counts: a
    resample's counts are ``counts [B, G] @ per-scene counts [G, C]``, so 1,000 resamples
    cost one matrix product instead of 1,000 calls.

    Args:
        target_hist: ``[N, C]`` soft labels of the test patches.
        pred_prob: ``[N, C]`` predicted probabilities.
        groups: ``[N]`` scene id of every patch.
        average: one of :data:`F1_AVERAGES`.
        threshold: decision threshold of :func:`xmodal.metrics.binarize`.
        n_boot, seed, confidence: as in :func:`bootstrap_interval`.
    """
    conf = check_confidence(confidence, "bootstrap_f1")
    if average not in F1_AVERAGES:
        raise ValueError(f"Invalid F1 average {average!r}; choose one of {list(F1_AVERAGES)}")
    y = np.asarray(target_hist, dtype=np.float64)
    p = np.asarray(pred_prob, dtype=np.float64)
    if y.ndim != 2 or y.shape != p.shape:
        raise ValueError(f"bootstrap_f1: target_hist {y.shape} and pred_prob {p.shape} must be equal [N, C] arrays")
    codes, n_groups = _group_codes(groups, y.shape[0], "bootstrap_f1")
    t = binarize(y, threshold).astype(np.float64)
    q = binarize(p, threshold).astype(np.float64)
    tp, fp, fn = (np.zeros((n_groups, y.shape[1])) for _ in range(3))  # per-scene counts [G, C]
    np.add.at(tp, codes, t * q)
    np.add.at(fp, codes, (1 - t) * q)
    np.add.at(fn, codes, t * (1 - q))
    estimate = float(_f1_from_counts(tp.sum(0), fp.sum(0), fn.sum(0), average))
    counts = resample_counts(n_groups, n_boot, seed).astype(np.float64)
    boot = _f1_from_counts(counts @ tp, counts @ fp, counts @ fn, average)
    return _interval(estimate, boot, n_groups, conf)


def scene_counts(
    target_hist: np.ndarray, pred_prob: np.ndarray, codes: np.ndarray, n_groups: int,
    threshold: float = F1_THRESHOLD,
) -> np.ndarray:
    """Per-scene true positives, false positives and false negatives, ``[3, G, C]``.

    Args:
        target_hist, pred_prob: ``[N, C]`` soft labels and predicted probabilities.
        codes: ``[N]`` scene index in ``0 .. n_groups - 1`` of every patch.
        n_groups: number of scenes.
        threshold: decision threshold of :func:`xmodal.metrics.binarize`.
    """
    y = np.asarray(target_hist, dtype=np.float64)
    p = np.asarray(pred_prob, dtype=np.float64)
    if y.ndim != 2 or y.shape != p.shape:
        raise ValueError(f"scene_counts: target_hist {y.shape} and pred_prob {p.shape} must be equal [N, C] arrays")
    if codes.shape != (y.shape[0],):
        raise ValueError(f"scene_counts: {codes.size} scene codes for {y.shape[0]} patches")
    t = binarize(y, threshold).astype(np.float64)
    q = binarize(p, threshold).astype(np.float64)
    out = np.zeros((3, n_groups, y.shape[1]))
    np.add.at(out[0], codes, t * q)
    np.add.at(out[1], codes, (1 - t) * q)
    np.add.at(out[2], codes, t * (1 - q))
    return out


def scene_bootstrap_se(
    a: Sequence[tuple[np.ndarray, np.ndarray]],
    b: Sequence[tuple[np.ndarray, np.ndarray]] | None,
    groups: Any,
    *,
    average: str = "weighted",
    threshold: float = F1_THRESHOLD,
    n_boot: int = N_BOOT,
    seed: int = 0,
) -> float:
    """Standard error that the choice of test scenes gives the seed-mean F1 difference ``a - b``.

    Every seed of both methods is scored on the same test patches (one split). Each of
    ``n_boot`` resamples draws the test scenes with replacement (a scene enters with
    all its patches, as in :func:`bootstrap_f1`), recomputes every run's F1 on the
    resample and takes ``mean over seeds of (F1_a - F1_b)``; the standard deviation of
    that over the resamples is the returned standard error. Resampling the scenes of
    all runs together keeps what the methods share (a scene hard for both cancels in
    the difference). :func:`xmodal.analysis.stats.paired_difference` adds it to the seeds' spread.

    Args:
        a: per seed, ``(target_hist [N, C], pred_prob [N, C])`` of method a on the test patches.
        b: the same for method b, paired with ``a`` by position (same seeds, same patches in
            the same order); None: the standard error of ``mean F1_a`` itself.
        groups: ``[N]`` scene id of every test patch.
        average: one of :data:`F1_AVERAGES`.
        threshold: decision threshold of :func:`xmodal.metrics.binarize`.
        n_boot, seed: as in :func:`bootstrap_interval` (same seed, same resamples).

    Returns:
        The bootstrap standard error (``ddof=1``); NaN with no seeds.

    Raises:
        ValueError: unequal numbers of seeds or patches, or fewer than 2 scenes.
    """
    if average not in F1_AVERAGES:
        raise ValueError(f"Invalid F1 average {average!r}; choose one of {list(F1_AVERAGES)}")
    if b is not None and len(a) != len(b):
        raise ValueError(f"scene_bootstrap_se: {len(a)} seeds of a but {len(b)} of b; pair them by seed")
    if not a:
        return math.nan
    codes, n_groups = _group_codes(groups, None, "scene_bootstrap_se")
    counts = resample_counts(n_groups, n_boot, seed).astype(np.float64)

    def f1(run: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
        tp, fp, fn = scene_counts(run[0], run[1], codes, n_groups, threshold)
        return _f1_from_counts(counts @ tp, counts @ fp, counts @ fn, average)

    diffs = np.zeros(n_boot)
    for k, run in enumerate(a):
        diffs += f1(run) - (f1(b[k]) if b is not None else 0.0)
    diffs /= len(a)
    return float(diffs.std(ddof=1)) if n_boot > 1 else math.nan


# ----------------------------------------------------------------------------- a results table's scenes
def scene_ids(ids: Sequence[str] | np.ndarray) -> np.ndarray:
    """The scene of every patch id (``"ROIs2017_winter_12_p34"`` -> ``"ROIs2017_winter_12"``).

    Raises:
        ValueError: an id that is not a SEN12MS patch id (:func:`xmodal.data.layout.parse_patch_id`).
    """
    keys = [parse_patch_id(str(i)) for i in ids]
    return np.array([f"{k.season_folder}_{k.scene}" for k in keys])


def seed_predictions(rows: pd.DataFrame, predictions: Mapping[str, Predictions], method: str,
                     sensor: str) -> dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Per seed, ``(ids, target, prob)`` of ``method`` on ``sensor`` among ``rows`` (runs without predictions: none)."""
    sub = rows[(rows["method"] == method) & (rows["modality"] == sensor)]
    out: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    for _, r in sub.drop_duplicates("seed").iterrows():
        p = predictions.get(str(r["run_dir"]))
        if p is None or sensor not in p.ids:
            continue
        out[int(r["seed"])] = (np.asarray(p.ids[sensor]).astype(str), p.target[sensor], p.prob[sensor])
    return out


def scene_se(rows: pd.DataFrame, predictions: Mapping[str, Predictions], a: tuple[str, str],
             b: tuple[str, str] | None, metric: str = "weighted") -> float:
    """The test scenes' standard error of ``mean over seeds (F1_a - F1_b)`` (:func:`scene_bootstrap_se`).

    ``a`` and ``b`` are ``(method, sensor)``, paired by seed among ``rows``. Defined only when every
    run was tested on the same patches (one split for all seeds); otherwise each seed drew its
    own test scenes, the seeds' spread already holds the split's share, and the result is NaN.
    """
    ra = seed_predictions(rows, predictions, *a)
    rb = seed_predictions(rows, predictions, *b) if b is not None else {}
    seeds = sorted(set(ra) & set(rb)) if b is not None else sorted(ra)
    if not seeds:
        return math.nan
    ref = ra[seeds[0]][0]
    runs = [ra[k] for k in seeds] + ([rb[k] for k in seeds] if b is not None else [])
    if any(len(r[0]) != len(ref) or set(r[0]) != set(ref) for r in runs):
        return math.nan
    aligned = []
    for ids, target, prob in runs:
        ia, ib = align_ids(ref, ids)
        aligned.append((target[ib], prob[ib]))
    groups = scene_ids(ref)
    if len(set(groups)) < 2:
        return math.nan
    k = len(seeds)
    return scene_bootstrap_se(aligned[:k], aligned[k:] if b is not None else None, groups, average=metric)
