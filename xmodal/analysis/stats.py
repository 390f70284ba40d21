"""Statistics for the study's verdicts, and reference points for the homogeneity of eq. (5).

The results pages ask three questions of every comparison:

* How large is a difference between two methods, paired by seed, and how sure are
  we? :func:`paired_difference` gives the mean difference, a t-interval and a
  two-sided p-value.
* How much of a single run's score is the luck of its test scenes?
  :func:`bootstrap_interval` and :func:`bootstrap_f1` resample whole *scenes*
  (patches of one scene overlap and share their land cover, so they are not
  independent test units).
* Does a claim of the paper hold? :func:`verdict` reads one interval;
  :func:`claim_verdicts` decides a whole family of claims with Holm's adjustment.

And one question about eq. (5): which values of the homogeneity ``s`` follow from the
accuracy of the two sensors alone? :func:`homogeneity_references` gives bounds on
``s`` implied by each sensor's agreement with the labels, a constant predictor's
scores, and how much the two sensors' errors agree.

The decision rule
-----------------
A claim compares a per-seed difference ``d = a - b`` (e.g. C+T+M minus Baseline,
weighted F1) with a threshold ``t``: ``t = 0`` for ``"greater"`` and ``"less"``
claims, ``t = -margin`` for ``"noninferior"`` ones ("C+T+M keeps the Baseline":
``d > -margin``). Its two-sided t-test of ``H0: mean(d) = t`` has p-value ``p``, and
the ``confidence`` t-interval of ``mean(d)`` is ``[low, high]``.

* Alone (:func:`verdict`), a claim **holds** when the interval lies entirely on the
  claimed side of ``t`` (``low > t``; ``high < t`` for ``"less"``), **does not
  hold** when it lies entirely on the other side, and is **inconclusive**
  otherwise. This is exactly ``p < 1 - confidence`` plus the sign of
  ``mean(d) - t`` (a two-sided test with a directional conclusion, i.e. a one-sided
  test at level ``(1 - confidence) / 2`` in each direction).
* In a family (:func:`claim_verdicts`), ``p`` is replaced by its Holm-adjusted value
  ``p_holm`` (:func:`holm`, family-wise error rate ``1 - confidence`` over all claims
  of the table): a claim holds when ``p_holm < 1 - confidence`` and ``mean(d)`` lies
  on the claimed side of ``t``; does not hold when ``p_holm < 1 - confidence`` and it
  lies on the other side; is inconclusive otherwise. The table still reports the
  *unadjusted* interval beside it, so an interval that excludes ``t`` may come with
  "inconclusive" when the adjustment takes the evidence back. Without adjustment
  (``adjust="none"``) the two rules give the same verdicts.
* With one seed there is no spread: the verdict is "one seed"; with none, "not measured".
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import pandas as pd
from scipy import stats as sps

from xmodal.metrics import F1_THRESHOLD, binarize, f1_scores, homogeneity

__all__ = [
    "CONFIDENCE",
    "NONINFERIORITY_MARGIN",
    "N_BOOT",
    "CLAIM_KINDS",
    "ADJUSTMENTS",
    "F1_AVERAGES",
    "VERDICTS",
    "HOLDS",
    "DOES_NOT_HOLD",
    "INCONCLUSIVE",
    "ONE_SEED",
    "NOT_MEASURED",
    "PairedDifference",
    "BootstrapInterval",
    "paired_difference",
    "claim_threshold",
    "verdict",
    "holm",
    "claim_verdicts",
    "resample_counts",
    "bootstrap_interval",
    "bootstrap_f1",
    "scene_counts",
    "scene_bootstrap_se",
    "row_intersection",
    "homogeneity_references",
]

#: Default confidence of intervals; ``1 - CONFIDENCE`` is the (family-wise) error rate of the verdicts.
CONFIDENCE: Final[float] = 0.95

#: Default non-inferiority margin, in weighted F1: "C+T+M keeps the Baseline" holds when the
#: lower bound of (C+T+M - Baseline) exceeds ``-NONINFERIORITY_MARGIN``. Why 0.02: it is the
#: scale of the differences the paper itself reads as changes. The smallest gain of C+T+M over
#: the Baseline it reports as an improvement is 0.02 (S2 weighted: 0.79 vs 0.77), the macro-F1
#: losses it calls a decrease are 0.03-0.04, and C's lead over C+T+M, called "consistently
#: better", is 0.01-0.03. A loss within 0.02 is thus no larger than a gain the paper presents
#: as real, and well below the S1-S2 gap it sets out to narrow (0.14 weighted for the
#: Baseline). A larger margin would let the losses the paper calls decreases pass as "keeps";
#: a smaller one would need far more seeds than the study runs to be shown at all.
NONINFERIORITY_MARGIN: Final[float] = 0.02

#: Default number of bootstrap resamples (the percentile interval's tails hold 25 resamples each at 95 %).
N_BOOT: Final[int] = 1000

#: What a claim says about ``d = a - b``: ``d > 0``, ``d < 0``, or ``d > -margin``.
CLAIM_KINDS: Final[tuple[str, ...]] = ("greater", "less", "noninferior")

#: Multiplicity adjustments of :func:`claim_verdicts`.
ADJUSTMENTS: Final[tuple[str, ...]] = ("holm", "none")

#: F1 averages that :func:`bootstrap_f1` computes (as :func:`xmodal.metrics.f1_scores`).
F1_AVERAGES: Final[tuple[str, ...]] = ("macro", "weighted", "micro")

HOLDS: Final[str] = "holds"
DOES_NOT_HOLD: Final[str] = "does not hold"
INCONCLUSIVE: Final[str] = "inconclusive"
ONE_SEED: Final[str] = "one seed"
NOT_MEASURED: Final[str] = "not measured"
#: The fixed vocabulary of verdicts (see the module docstring for the rule).
VERDICTS: Final[tuple[str, ...]] = (HOLDS, DOES_NOT_HOLD, INCONCLUSIVE, ONE_SEED, NOT_MEASURED)

#: Rows of probabilities / labels must sum to 1 within this tolerance (:func:`homogeneity_references`).
_SUM_TOLERANCE: Final[float] = 1e-3


# ----------------------------------------------------------------------------- paired differences
@dataclass(frozen=True)
class PairedDifference:
    """Mean of paired differences ``d = a - b`` over seeds, with its t-interval and test.

    Attributes:
        estimate: mean of ``d`` (NaN when ``n = 0``).
        sd: sample standard deviation of ``d`` (``ddof=1``; NaN when ``n < 2``).
        n: number of complete pairs.
        low, high: ``confidence`` t-interval ``estimate -/+ half_width`` (NaN when ``n < 2``).
        half_width: ``t_{n-1, (1+confidence)/2} * sd / sqrt(n)``.
        p: two-sided p-value of the one-sample t-test of ``H0: mean(d) = null``
            (NaN when ``n < 2``; with ``sd = 0`` it is 0 if ``estimate != null``, else 1).
        confidence: the interval's confidence level.
        null: the value tested by ``p``.
        se_seed: ``sd / sqrt(n)``, the standard error from the training seeds.
        se_scene: standard error that the choice of test scenes adds (a bootstrap over test
            scenes, :func:`scene_bootstrap_se`; 0 when not given).
        df: degrees of freedom of the t quantile (``n - 1``, or Welch-Satterthwaite's with ``se_scene``).
    """

    estimate: float
    sd: float
    n: int
    low: float
    high: float
    half_width: float
    p: float
    confidence: float
    null: float = 0.0
    se_seed: float = math.nan
    se_scene: float = 0.0
    df: float = math.nan


def _check_confidence(confidence: float, where: str) -> float:
    if not 0.0 < float(confidence) < 1.0:
        raise ValueError(f"{where}: invalid confidence {confidence!r}; need 0 < confidence < 1")
    return float(confidence)


def _differences(a: Any, b: Any) -> np.ndarray:
    """Per-seed differences ``a - b``: Series are paired by index, arrays by position; NaN pairs dropped."""
    if b is None:
        d = np.asarray(a, dtype=np.float64)
        if d.ndim != 1:
            raise ValueError(f"paired_difference: differences must be 1-d, got shape {d.shape}")
    else:
        if isinstance(a, pd.Series) and isinstance(b, pd.Series):
            a, b = a.align(b, join="inner")
        x = np.asarray(a, dtype=np.float64)
        y = np.asarray(b, dtype=np.float64)
        if x.ndim != 1 or y.ndim != 1:
            raise ValueError(f"paired_difference: a {x.shape} and b {y.shape} must be 1-d per-seed scores")
        if x.shape != y.shape:
            raise ValueError(f"paired_difference: a has {x.size} values and b has {y.size}; pairs need equal lengths")
        d = x - y
    return d[np.isfinite(d)]


def paired_difference(
    a: Any,
    b: Any = None,
    *,
    confidence: float = CONFIDENCE,
    null: float = 0.0,
    se_scene: float | None = None,
) -> PairedDifference:
    """Mean paired difference ``a - b`` over seeds, its t-interval and a two-sided p-value.

    The seeds are the units: each seed trains both methods (same split, same
    initialisation seed), so ``d_i = a_i - b_i`` removes what the two runs share.
    With ``n`` pairs, ``se = sd / sqrt(n)``, the interval is ``mean(d) -/+
    t_{n-1, (1+confidence)/2} se`` and ``p = 2 P(T_{n-1} > |mean(d) - null| / se)``
    (Student's one-sample t-test on the differences).

    When every seed is scored on the *same* test scenes (one split, a split seed apart
    from the training seed), the seeds' spread says nothing of how lucky those scenes
    are. ``se_scene`` adds that part: the standard error of ``mean(d)`` over resampled
    test scenes (:func:`scene_bootstrap_se`). The two sources are independent, so
    ``se = sqrt(se_seed^2 + se_scene^2)``; the t quantile then takes the
    Welch-Satterthwaite degrees of freedom ``df = (n - 1) (se / se_seed)^4`` (the
    bootstrap part counted as exactly known), which lie between ``n - 1`` and infinity.

    Args:
        a, b: per-seed scores. Two ``pandas.Series`` are paired by index (seeds present in
            both); otherwise by position (equal lengths). ``b=None``: ``a`` already holds
            the differences. Pairs with a NaN (a failed run) are dropped; ``n`` counts the rest.
        confidence: confidence level of the interval.
        null: the value of ``mean(d)`` tested by ``p`` (``-margin`` for a non-inferiority claim).
        se_scene: the test scenes' standard error of ``mean(d)`` (None or NaN: not
            known, the seeds' t-interval alone).

    Returns:
        A :class:`PairedDifference`. ``n = 0``: everything NaN. ``n = 1``: the estimate
        only (no spread, so interval and p are NaN; :func:`verdict` says "one seed").
        ``sd = 0``: a zero-width interval at the estimate.

    Raises:
        ValueError: for an invalid ``confidence``, non-1-d inputs or unequal lengths.
    """
    conf = _check_confidence(confidence, "paired_difference")
    scene = 0.0 if se_scene is None or not math.isfinite(se_scene) else float(se_scene)
    if scene < 0.0:
        raise ValueError(f"paired_difference: invalid se_scene {se_scene!r}; a standard error is >= 0")
    d = _differences(a, b)
    n = int(d.size)
    nan = math.nan
    if n == 0:
        return PairedDifference(nan, nan, 0, nan, nan, nan, nan, conf, float(null), nan, scene, nan)
    est = float(d.mean())
    if n == 1:
        return PairedDifference(est, nan, 1, nan, nan, nan, nan, conf, float(null), nan, scene, nan)
    sd = float(d.std(ddof=1))
    se_seed = sd / math.sqrt(n)
    se = math.hypot(se_seed, scene)
    df = float(n - 1) if scene == 0.0 else (math.inf if se_seed == 0.0 else (n - 1) * (se / se_seed) ** 4)
    half = float(sps.t.ppf(0.5 + conf / 2.0, df)) * se
    if se == 0.0:
        p = 1.0 if est == null else 0.0
    else:
        p = float(2.0 * sps.t.sf(abs(est - null) / se, df))
    return PairedDifference(est, sd, n, est - half, est + half, half, p, conf, float(null), se_seed, scene, df)


# ----------------------------------------------------------------------------- verdicts
def claim_threshold(claim: str, margin: float = NONINFERIORITY_MARGIN) -> float:
    """The value ``t`` a claim compares ``mean(a - b)`` with: ``-margin`` for non-inferiority, else 0."""
    if claim not in CLAIM_KINDS:
        raise ValueError(f"Invalid claim kind {claim!r}; choose one of {list(CLAIM_KINDS)}")
    if claim != "noninferior":
        return 0.0
    if not (math.isfinite(margin) and margin >= 0.0):
        raise ValueError(f"Invalid non-inferiority margin {margin!r}; need a finite margin >= 0")
    return -float(margin)


def _decide(estimate: float, threshold: float, significant: bool, claim: str) -> str:
    """Holds / does not hold / inconclusive from a significance decision and the side of the estimate."""
    if not significant or estimate == threshold:
        return INCONCLUSIVE
    above = estimate > threshold
    return HOLDS if above == (claim != "less") else DOES_NOT_HOLD


def verdict(
    estimate: float,
    low: float,
    high: float,
    *,
    claim: str = "greater",
    margin: float = NONINFERIORITY_MARGIN,
) -> str:
    """The verdict on one claim about ``d = a - b`` from its estimate and interval.

    With ``t`` = :func:`claim_threshold` (0, or ``-margin`` for ``"noninferior"``):

    * ``"greater"`` / ``"noninferior"``: **holds** if ``low > t``, **does not hold** if ``high < t``;
    * ``"less"``: **holds** if ``high < t``, **does not hold** if ``low > t``;
    * **inconclusive** when the interval contains ``t``; **one seed** when the interval
      is NaN (no spread); **not measured** when the estimate is NaN.

    For a t-interval this equals "two-sided ``p < 1 - confidence``, then the sign of
    ``estimate - t``", the rule :func:`claim_verdicts` applies to Holm-adjusted p-values.

    Args:
        estimate: mean difference ``a - b``.
        low, high: its interval.
        claim: one of :data:`CLAIM_KINDS`.
        margin: non-inferiority margin (``>= 0``; used only by ``"noninferior"``).

    Returns:
        One of :data:`VERDICTS`.
    """
    t = claim_threshold(claim, margin)
    if not math.isfinite(estimate):
        return NOT_MEASURED
    if not (math.isfinite(low) and math.isfinite(high)):
        return ONE_SEED
    if low > high:
        raise ValueError(f"verdict: interval low {low} > high {high}")
    significant = low > t or high < t
    return _decide(estimate, t, significant, claim)


def holm(p_values: Sequence[float] | np.ndarray) -> np.ndarray:
    """Holm's (1979) step-down adjusted p-values.

    With the ``m`` finite p-values sorted, ``p_(1) <= ... <= p_(m)``, the adjusted
    values are ``p~_(j) = min(1, max_{i <= j} (m - i + 1) p_(i))``; rejecting every
    hypothesis with ``p~ < alpha`` controls the family-wise error rate at ``alpha``
    under any dependence between the tests. NaN p-values (claims measured on one
    seed) are not part of the family: they stay NaN and do not increase ``m``.

    Args:
        p_values: 1-d p-values in [0, 1] (NaN allowed).

    Returns:
        The adjusted p-values, in the input order.
    """
    p = np.asarray(p_values, dtype=np.float64)
    if p.ndim != 1:
        raise ValueError(f"holm: p_values must be 1-d, got shape {p.shape}")
    ok = np.isfinite(p)
    if ((p[ok] < 0.0) | (p[ok] > 1.0)).any():
        raise ValueError(f"holm: p-values must lie in [0, 1], got {p[ok][(p[ok] < 0) | (p[ok] > 1)].tolist()}")
    out = np.full(p.shape, np.nan)
    q = p[ok]
    m = q.size
    if m:
        order = np.argsort(q, kind="stable")
        stepped = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * q[order]))
        adjusted = np.empty(m)
        adjusted[order] = stepped
        out[ok] = adjusted
    return out


def _missing(value: Any) -> bool:
    """None or a float NaN: a cell the claims table leaves empty."""
    return value is None or (isinstance(value, float) and math.isnan(value))


_STAT_COLUMNS: Final[tuple[str, ...]] = (
    "kind", "margin", "null", "estimate", "sd", "n", "se_seed", "se_scene", "df", "low", "high", "half_width",
    "p", "p_holm", "verdict",
)


def claim_verdicts(
    claims: pd.DataFrame,
    *,
    confidence: float = CONFIDENCE,
    adjust: str = "holm",
) -> pd.DataFrame:
    """Decide a family of claims, each a paired difference over seeds (rule: see the module docstring).

    Every row is one claim about ``d = a - b``. The rows of one call form the family of
    Holm's adjustment: pass all the claims a page reports at once.

    Args:
        claims: one row per claim with columns

            * ``claim`` (str): what is claimed, e.g. "C+T+M keeps the Baseline on S1";
            * ``a`` (per-seed scores: Series indexed by seed, or array-like) and optionally
              ``b`` (the same for the method compared with; missing or None: ``a`` holds
              the differences);
            * optionally ``kind`` (one of :data:`CLAIM_KINDS`, default ``"greater"``),
              ``margin`` (non-inferiority margin, default :data:`NONINFERIORITY_MARGIN`;
              ignored by the other kinds) and ``se_scene`` (the test scenes' standard
              error of the mean difference, :func:`scene_bootstrap_se`; missing: the
              seeds' t-interval alone).

            Any other columns (e.g. "paper reports") are carried through.
        confidence: level of the reported intervals; ``1 - confidence`` is the family-wise
            error rate of the verdicts.
        adjust: ``"holm"`` (verdicts from Holm-adjusted p) or ``"none"`` (from ``p``, the
            same as :func:`verdict` on each interval; ``p_holm`` is then NaN).

    Returns:
        The input's columns other than ``a``/``b``, then ``kind, margin, null, estimate,
        sd, n, se_seed, se_scene, df, low, high, half_width, p, p_holm, verdict``: ``null`` is the threshold
        ``t``, ``p`` the two-sided p-value of ``H0: mean(d) = t``, ``low``/``high`` the
        unadjusted interval.
    """
    conf = _check_confidence(confidence, "claim_verdicts")
    if adjust not in ADJUSTMENTS:
        raise ValueError(f"Invalid adjustment {adjust!r}; choose one of {list(ADJUSTMENTS)}")
    missing = [c for c in ("claim", "a") if c not in claims.columns]
    if missing:
        raise ValueError(f"claim_verdicts: claims table lacks column(s) {missing}; has {list(claims.columns)}")
    rows: list[dict[str, Any]] = []
    for rec in claims.to_dict(orient="records"):
        kind = "greater" if _missing(rec.get("kind")) else str(rec["kind"])
        margin = NONINFERIORITY_MARGIN if _missing(rec.get("margin")) else float(rec["margin"])
        t = claim_threshold(kind, margin)
        margin = margin if kind == "noninferior" else math.nan
        b = None if _missing(rec.get("b")) else rec["b"]
        se_scene = None if _missing(rec.get("se_scene")) else float(rec["se_scene"])
        d = paired_difference(rec["a"], b, confidence=conf, null=t, se_scene=se_scene)
        rows.append({"kind": kind, "margin": margin, "null": t, "estimate": d.estimate, "sd": d.sd, "n": d.n,
                     "se_seed": d.se_seed, "se_scene": d.se_scene, "df": d.df,
                     "low": d.low, "high": d.high, "half_width": d.half_width, "p": d.p})
    stats_df = pd.DataFrame(rows, columns=list(_STAT_COLUMNS[:-2]), index=claims.index)
    p = stats_df["p"].to_numpy(dtype=np.float64)
    p_holm = holm(p) if adjust == "holm" else np.full(p.shape, np.nan)
    p_used = p_holm if adjust == "holm" else p
    alpha = 1.0 - conf
    verdicts = []
    for est, n, pu, t, kind in zip(
        stats_df["estimate"], stats_df["n"], p_used, stats_df["null"], stats_df["kind"], strict=True
    ):
        if n == 0:
            verdicts.append(NOT_MEASURED)
        elif n == 1:
            verdicts.append(ONE_SEED)
        else:
            verdicts.append(_decide(float(est), float(t), bool(pu < alpha), kind))
    stats_df["p_holm"] = p_holm
    stats_df["verdict"] = verdicts
    carried = claims.drop(columns=[c for c in ("a", "b", *_STAT_COLUMNS) if c in claims.columns])
    return pd.concat([carried, stats_df], axis=1)


# ----------------------------------------------------------------------------- bootstrap over scenes
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
            :func:`row_intersection`, whose mean is eq. 5) -- or a function of the unit
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
    conf = _check_confidence(confidence, "bootstrap_interval")
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
    conf = _check_confidence(confidence, "bootstrap_f1")
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
    the difference). :func:`paired_difference` adds it to the seeds' spread.

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


# ----------------------------------------------------------------------------- homogeneity references
def row_intersection(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Per-row histogram intersection ``sum_c min(p[i, c], q[i, c])`` of two ``[N, C]`` arrays (``[N]``).

    ``q`` may also be one ``[C]`` histogram (a constant predictor), compared with every row of ``p``.
    """
    a = np.asarray(p, dtype=np.float64)
    b = np.asarray(q, dtype=np.float64)
    if a.ndim != 2 or not (b.shape == a.shape or b.shape == a.shape[1:]):
        raise ValueError(f"row_intersection: p {a.shape} must be [N, C] and q {b.shape} [N, C] or [C]")
    return np.minimum(a, b).sum(axis=1)


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
    hi_a, hi_b = row_intersection(pa, y), row_intersection(pb, y)
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
        "hi_constant": float(row_intersection(y, const).mean()),
        "f1_weighted_constant": float(f1_const),
        "error_correlation": err_corr,
        "dominant_hit_a": float(hit_a.mean()),
        "dominant_hit_b": float(hit_b.mean()),
        "both_hit": float((hit_a & hit_b).mean()),
        "both_miss": float((~hit_a & ~hit_b).mean()),
        "both_miss_if_independent": float((1.0 - hit_a.mean()) * (1.0 - hit_b.mean())),
        "same_top_class": float((top_a == top_b).mean()),
    }
