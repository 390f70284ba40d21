"""Statistics for the study's verdicts: paired differences over seeds, and claims decided with Holm's adjustment.

The results pages ask two questions of every comparison:

* How large is a difference between two methods, paired by seed, and how sure are
  we? :func:`paired_difference` gives the mean difference, a t-interval and a
  two-sided p-value (the test scenes' share of the uncertainty comes from
  :mod:`xmodal.analysis.bootstrap`).
* Does a claim of the paper hold? :func:`verdict` reads one interval;
  :func:`claim_verdicts` decides a whole family of claims with Holm's adjustment.

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
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import pandas as pd
from scipy import stats as sps

__all__ = [
    "CONFIDENCE",
    "NONINFERIORITY_MARGIN",
    "CLAIM_KINDS",
    "ADJUSTMENTS",
    "VERDICTS",
    "HOLDS",
    "DOES_NOT_HOLD",
    "INCONCLUSIVE",
    "ONE_SEED",
    "NOT_MEASURED",
    "PairedDifference",
    "check_confidence",
    "paired_difference",
    "claim_threshold",
    "verdict",
    "holm",
    "claim_verdicts",
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

#: What a claim says about ``d = a - b``: ``d > 0``, ``d < 0``, or ``d > -margin``.
CLAIM_KINDS: Final[tuple[str, ...]] = ("greater", "less", "noninferior")

#: Multiplicity adjustments of :func:`claim_verdicts`.
ADJUSTMENTS: Final[tuple[str, ...]] = ("holm", "none")

HOLDS: Final[str] = "holds"
DOES_NOT_HOLD: Final[str] = "does not hold"
INCONCLUSIVE: Final[str] = "inconclusive"
ONE_SEED: Final[str] = "one seed"
NOT_MEASURED: Final[str] = "not measured"
#: The fixed vocabulary of verdicts (see the module docstring for the rule).
VERDICTS: Final[tuple[str, ...]] = (HOLDS, DOES_NOT_HOLD, INCONCLUSIVE, ONE_SEED, NOT_MEASURED)


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
            scenes, :func:`xmodal.analysis.bootstrap.scene_bootstrap_se`; 0 when not given).
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


def check_confidence(confidence: float, where: str) -> float:
    """``confidence`` as a float in (0, 1); ``where`` names the caller in the error.

    Raises:
        ValueError: ``confidence`` is not strictly between 0 and 1.
    """
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
    test scenes (:func:`xmodal.analysis.bootstrap.scene_bootstrap_se`). The two sources are independent, so
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
    conf = check_confidence(confidence, "paired_difference")
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
              error of the mean difference, :func:`xmodal.analysis.bootstrap.scene_bootstrap_se`; missing: the
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
    conf = check_confidence(confidence, "claim_verdicts")
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
