"""The fallback policy and its scores: S2 while a patch is clear enough, S1 from a cloud cover up.

:func:`fallback` is the policy; :func:`cover_table` (pure) turns the predictions of a cloud
evaluation into a tidy table (each sensor alone and the fallback, per model, cover and
seed: F1, eq. (5) between the sensors' answers, and how far the answers stay from the
model's clear-sky answer); :func:`threshold_table` gives the fallback at other thresholds;
:func:`threshold_scores` and :func:`choose_threshold` choose the threshold on the validation
scenes (:func:`threshold_record` is what the evaluation keeps of the choice);
:func:`summarize` gives means with t-intervals over seeds; :func:`compare` and
:func:`fallback_claims` pair seeds (:func:`xmodal.analysis.stats.paired_difference`,
:func:`~xmodal.analysis.stats.claim_verdicts`). A system is built either from **two
separate Baselines** (one network per sensor, :data:`~xmodal.clouds.selection.BASELINE_MODEL`)
or from **one cross-modal model** fed whichever sensor the policy picks.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import pandas as pd

from xmodal.analysis.stats import CONFIDENCE, NONINFERIORITY_MARGIN, claim_verdicts, paired_difference
from xmodal.data.clouds import CLOUD_FREE_SENSOR, CLOUDED_SENSOR
from xmodal.metrics import f1_scores, histogram_intersection, homogeneity
from xmodal.rundir import align_ids

from .errors import CloudEvalError
from .selection import BASELINE_MODEL

if TYPE_CHECKING:
    from .evaluation import CoverPredictions

__all__ = [
    "FALLBACK",
    "FALLBACK_THRESHOLD",
    "HAND_SET",
    "SUMMARY_METRICS",
    "TABLE_COLUMNS",
    "THRESHOLD_GRID",
    "THRESHOLD_SCORE_COLUMNS",
    "VALIDATION",
    "choose_threshold",
    "compare",
    "cover_table",
    "fallback",
    "fallback_claims",
    "summarize",
    "threshold_record",
    "threshold_scores",
    "threshold_table",
]

#: The hand-set threshold: the fallback answers from S1 for patches whose cloud cover is at least
#: this share. Fixed before looking at any result, as a cautious operational cut (a patch a third
#: under cloud is already hard to read). Only used when the runs have no validation split to
#: choose the threshold on (:func:`threshold_record`); ``--threshold`` overrides either.
FALLBACK_THRESHOLD: Final[float] = 0.3
#: Candidate thresholds of the validation choice: the cloud covers 0 %, 5 %, ..., 100 %.
THRESHOLD_GRID: Final[tuple[float, ...]] = tuple(round(0.05 * i, 2) for i in range(21))
#: How a threshold was set (``chosen_on`` of :func:`threshold_record`).
VALIDATION: Final[str] = "validation"
HAND_SET: Final[str] = "hand-set"
#: Pooled scores closer than this to the best count as a tie (they are equal: the same patches switched).
_TIE: Final[float] = 1e-12
#: Columns of :func:`threshold_scores`.
THRESHOLD_SCORE_COLUMNS: Final[tuple[str, ...]] = (
    "threshold", "model", "method", "seed", "cover", "n", "weighted", "switch_share",
)
#: The ``system`` of the fallback policy's rows (the others are sensor names).
FALLBACK: Final[str] = "fallback"
#: Columns of :func:`cover_table`.
TABLE_COLUMNS: Final[tuple[str, ...]] = (
    "model", "method", "modalities", "system", "cover", "seed", "n", "macro", "weighted", "homogeneity",
    "switch_share", "consistency", "top_change", "switch_consistency", "switch_top_change",
)
#: Metrics :func:`summarize` gives intervals for.
SUMMARY_METRICS: Final[tuple[str, ...]] = TABLE_COLUMNS[7:]



def _check_threshold(threshold: float) -> None:
    """Refuse a fallback threshold outside [0, 1] (it is a cloud cover), naming it."""
    if not 0.0 <= threshold <= 1.0:
        raise ValueError(f"Invalid fallback threshold {threshold!r}; it is a cloud cover, in [0, 1]")


def _grouped(predictions: Iterable[Any]) -> tuple[dict[tuple[str, int], dict[float, _Merged]], dict[str, str]]:
    """The predictions merged by (model, seed) and cover, and each model's method."""
    groups: dict[tuple[str, int], dict[float, _Merged]] = {}
    methods: dict[str, str] = {}
    for p in predictions:
        _merge(groups, p)
        methods[p.model] = p.method
    return groups, methods

def fallback(
    prob_optical: np.ndarray,
    prob_radar: np.ndarray,
    patch_cover: np.ndarray,
    threshold: float = FALLBACK_THRESHOLD,
) -> tuple[np.ndarray, np.ndarray]:
    """The fallback policy: the optical answer below the cloud threshold, the radar one from it up.

    Args:
        prob_optical: ``[N, C]`` S2 predictions.
        prob_radar: ``[N, C]`` S1 predictions of the same patches.
        patch_cover: ``[N]`` each patch's cloud cover (0..1).
        threshold: a patch with ``cover >= threshold`` is answered from S1.

    Returns:
        ``(answer [N, C], switched [N] bool)``: the system's answer and where it used S1.

    Raises:
        ValueError: a threshold outside [0, 1] or arrays of other shapes.
    """
    _check_threshold(threshold)
    a, b = np.asarray(prob_optical), np.asarray(prob_radar)
    cover = np.asarray(patch_cover)
    if a.shape != b.shape or a.ndim != 2 or cover.shape != a.shape[:1]:
        raise ValueError(f"fallback: optical {a.shape}, radar {b.shape} and cover {cover.shape} must be "
                         "[N, C], [N, C] and [N]")
    switched = cover >= threshold
    return np.where(switched[:, None], b, a), switched


@dataclass
class _Merged:
    ids: np.ndarray
    target: np.ndarray
    patch_cover: np.ndarray
    prob: dict[str, np.ndarray]
    runs: dict[str, str]  # sensor -> the run that gave it

    def take(self, idx: np.ndarray) -> _Merged:
        return _Merged(self.ids[idx], self.target[idx], self.patch_cover[idx],
                       {m: p[idx] for m, p in self.prob.items()}, self.runs)


def _merge(groups: dict[tuple[str, int], dict[float, _Merged]], p: CoverPredictions) -> None:
    """Add one run's predictions to its model's group (a Baseline's sensors come from several runs)."""
    covers = groups.setdefault((p.model, p.seed), {})
    new = _Merged(np.asarray(p.ids).astype(str), np.asarray(p.target), np.asarray(p.patch_cover),
                  {m: np.asarray(v) for m, v in p.prob.items()}, {m: p.run for m in p.prob})
    old = covers.get(p.cover)
    if old is None:
        covers[p.cover] = new
        return
    twice = sorted(set(old.prob) & set(new.prob))
    if twice:
        raise ValueError(f"Runs {old.runs[twice[0]]} and {p.run} both give {p.model} seed {p.seed} on {twice} at "
                         f"cover {p.cover}: remove one of them")
    ia, ib = align_ids(old.ids, new.ids)
    merged = old.take(ia)
    merged.prob.update({m: v[ib] for m, v in new.prob.items()})
    merged.runs = {**old.runs, **new.runs}
    covers[p.cover] = merged


def _answer_row(answer: np.ndarray, target: np.ndarray, ref: np.ndarray | None) -> dict[str, float]:
    f1 = f1_scores(target, answer)
    row = {"macro": f1["macro"], "weighted": f1["weighted"], "consistency": math.nan, "top_change": math.nan}
    if ref is not None:
        row["consistency"] = float(histogram_intersection(answer, ref).mean())
        row["top_change"] = float((answer.argmax(1) != ref.argmax(1)).mean())
    return row


def cover_table(
    predictions: Iterable[CoverPredictions],
    *,
    threshold: float = FALLBACK_THRESHOLD,
    optical: str = CLOUDED_SENSOR,
    radar: str = CLOUD_FREE_SENSOR,
    fallback_only: bool = False,
) -> pd.DataFrame:
    """The tidy table of the cloud evaluation: one row per model, system, cover and seed.

    The single-sensor Baselines of a seed form one model, :data:`BASELINE_MODEL`, whose
    S1 answer comes from the S1 network and S2 answer from the S2 network; every other
    run is a model of its own (:func:`~xmodal.report.selection.method_label` with its
    sensors). A model's rows at a cover:

    * ``system`` = each sensor: the model fed that sensor alone;
    * ``system`` = :data:`FALLBACK` (models with both ``optical`` and ``radar``): the
      :func:`fallback` answer (``switch_share``: share of patches answered from ``radar``).

    Columns (:data:`TABLE_COLUMNS`): ``macro``, ``weighted`` F1 (:func:`xmodal.metrics.f1_scores`);
    ``homogeneity``: eq. (5) between the model's ``radar`` and ``optical`` answers at this
    cover (the same on every row of a model and cover); ``consistency``: mean histogram
    intersection of the row's answer with the model's clear-sky answer (``optical`` at
    cover 0) for the same patch, and ``top_change``: share of patches whose dominant
    class differs from it; ``switch_consistency`` / ``switch_top_change``: the same over
    the patches the fallback answered from ``radar`` (NaN when none or not a fallback row).

    Args:
        predictions: per run and cover (e.g. :attr:`CloudEvaluation.predictions`).
        threshold: the fallback's cloud-cover threshold.
        optical, radar: the sensor the clouds hide and the one that replaces it.
        fallback_only: only the fallback rows (faster: F1 is the slow part).

    Raises:
        ValueError: two runs give the same model, seed, sensor and cover; a bad threshold.
    """
    _check_threshold(threshold)
    groups, methods = _grouped(predictions)
    rows: list[dict[str, Any]] = []
    for (model, seed), by_cover in sorted(groups.items()):
        clear = by_cover.get(0.0)
        for cover, g in sorted(by_cover.items()):
            ref = None
            if clear is not None and optical in clear.prob:
                ia, ib = align_ids(g.ids, clear.ids)
                g = g.take(ia)
                ref = clear.prob[optical][ib]
            both = optical in g.prob and radar in g.prob
            hom = homogeneity(g.prob[radar], g.prob[optical]) if both and len(g.ids) else math.nan
            base = {"model": model, "method": methods[model], "modalities": "+".join(g.prob), "cover": cover,
                    "seed": seed, "n": len(g.ids), "homogeneity": hom, "switch_share": math.nan,
                    "switch_consistency": math.nan, "switch_top_change": math.nan}
            for sensor, prob in ({} if fallback_only else g.prob).items():
                rows.append({**base, "system": sensor, **_answer_row(prob, g.target, ref)})
            if both:
                answer, switched = fallback(g.prob[optical], g.prob[radar], g.patch_cover, threshold)
                row = {**base, "system": FALLBACK, **_answer_row(answer, g.target, ref),
                       "switch_share": float(switched.mean())}
                if ref is not None and switched.any():
                    row["switch_consistency"] = float(histogram_intersection(answer[switched], ref[switched]).mean())
                    row["switch_top_change"] = float((answer[switched].argmax(1) != ref[switched].argmax(1)).mean())
                rows.append(row)
    return pd.DataFrame(rows, columns=list(TABLE_COLUMNS))


def threshold_table(
    predictions: Iterable[CoverPredictions],
    thresholds: Sequence[float] = (0.1, FALLBACK_THRESHOLD, 0.5),
) -> pd.DataFrame:
    """The fallback rows of :func:`cover_table` for several thresholds (a ``threshold`` column first).

    The thresholds are taken sorted, each once.
    """
    preds = list(predictions)
    parts = [cover_table(preds, threshold=t, fallback_only=True).assign(threshold=t)
             for t in sorted({float(t) for t in thresholds})]
    out = pd.concat(parts, ignore_index=True)
    return out[["threshold", *TABLE_COLUMNS]]


# ----------------------------------------------------------------------------- the threshold, chosen on validation
def threshold_scores(
    predictions: Iterable[CoverPredictions],
    grid: Sequence[float] = THRESHOLD_GRID,
    *,
    optical: str = CLOUDED_SENSOR,
    radar: str = CLOUD_FREE_SENSOR,
) -> pd.DataFrame:
    """The fallback's weighted F1 at every threshold of ``grid``, per model, seed and cover.

    What the threshold is chosen from: given the predictions of the *validation* patches
    (:attr:`CloudEvaluation.validation <xmodal.clouds.evaluation.CloudEvaluation.validation>`),
    the points of the validation curve. Models are those of :func:`cover_table` (the
    Baselines of a seed are one model); a model without both ``optical`` and ``radar`` has no
    fallback and no row. Thresholds that switch the same patches are scored once.

    Returns:
        Columns :data:`THRESHOLD_SCORE_COLUMNS` (``switch_share``: share of patches answered
        from ``radar``), sorted by threshold, model, seed and cover.

    Raises:
        ValueError: a threshold outside [0, 1]; two runs giving the same model, seed, sensor and cover.
    """
    thresholds = sorted({float(t) for t in grid})
    for t in thresholds:
        _check_threshold(t)
    groups, methods = _grouped(predictions)
    rows: list[dict[str, Any]] = []
    for (model, seed), by_cover in sorted(groups.items()):
        for cover, g in sorted(by_cover.items()):
            if optical not in g.prob or radar not in g.prob or not len(g.ids):
                continue
            scored: dict[bytes, float] = {}
            for t in thresholds:
                answer, switched = fallback(g.prob[optical], g.prob[radar], g.patch_cover, t)
                key = np.packbits(switched).tobytes()
                if key not in scored:
                    scored[key] = f1_scores(g.target, answer)["weighted"]
                rows.append({"threshold": t, "model": model, "method": methods[model], "seed": seed, "cover": cover,
                             "n": len(g.ids), "weighted": scored[key], "switch_share": float(switched.mean())})
    out = pd.DataFrame(rows, columns=list(THRESHOLD_SCORE_COLUMNS))
    return out.sort_values(["threshold", "model", "seed", "cover"], kind="stable").reset_index(drop=True)


def choose_threshold(scores: pd.DataFrame) -> float:
    """The threshold whose fallback scores best, pooled: the highest mean weighted F1, ties to the lower.

    The mean is over every row of a threshold in ``scores`` (:func:`threshold_scores`): every
    model, seed and cover count alike, so one threshold serves both fallback systems. Of
    thresholds with the same pooled score (they switch the same patches) the lowest wins: the
    cautious choice, answering more patches from the sensor the clouds do not touch.

    Raises:
        CloudEvalError: no finite score (no fallback model, or no patch).
    """
    means = scores.groupby("threshold", sort=True)["weighted"].mean().dropna()
    if means.empty:
        raise CloudEvalError("No fallback score to choose a threshold from (the predictions hold no model with "
                             f"both {CLOUDED_SENSOR} and {CLOUD_FREE_SENSOR}, or no patch)")
    best = float(means.max())
    return float(means.index[means.to_numpy() >= best - _TIE][0])


def threshold_record(
    predictions: Iterable[CoverPredictions],
    *,
    without_validation: Sequence[str] = (),
    grid: Sequence[float] = THRESHOLD_GRID,
) -> dict[str, Any]:
    """The fallback threshold of a cloud evaluation and how it was set (JSON-able).

    Chosen on the validation patches (:func:`threshold_scores`, :func:`choose_threshold`)
    when every run has a validation split; else the hand-set :data:`FALLBACK_THRESHOLD`,
    saying why. Only ``predictions`` enter the choice: pass the validation predictions,
    never the test ones.

    Args:
        predictions: the runs' predictions on their validation patches, at every cover.
        without_validation: the runs that have no validation split (any: hand-set).
        grid: the candidate thresholds.

    Returns:
        ``value``, ``chosen_on`` (:data:`VALIDATION` or :data:`HAND_SET`) and ``reason``; when
        chosen on validation also ``grid``, ``covers``, ``models``, ``seeds``, ``n`` (patches per
        model, seed and cover), ``pooled`` (per threshold: the mean weighted F1 over every
        model, seed and cover, and ``switch_share``) and ``curve`` (per threshold, model and
        seed: the mean over the covers).
    """
    preds = list(predictions)
    if without_validation or not preds:
        runs = sorted(without_validation)
        why = (f"{len(runs)} run(s) have no validation split ({', '.join(runs[:3])}{', ...' if len(runs) > 3 else ''})"
               if runs else "no validation predictions")
        return {"value": FALLBACK_THRESHOLD, "chosen_on": HAND_SET, "reason": why}
    scores = threshold_scores(preds, grid)
    value = choose_threshold(scores)
    pooled = scores.groupby("threshold", sort=True)[["weighted", "switch_share"]].mean().reset_index()
    curve = scores.groupby(["threshold", "model", "seed"], sort=True)["weighted"].mean().reset_index()
    return {
        "value": value,
        "chosen_on": VALIDATION,
        "reason": "the highest mean weighted F1 of the fallback on the validation patches (every model, seed and "
                  "cover alike), ties to the lower threshold",
        "grid": sorted({float(t) for t in grid}),
        "covers": sorted({float(c) for c in scores["cover"]}),
        "models": sorted(set(scores["model"])),
        "seeds": sorted({int(s) for s in scores["seed"]}),
        "n": sorted({int(n) for n in scores["n"]}),
        "pooled": [{"threshold": float(r["threshold"]), "weighted": float(r["weighted"]),
                    "switch_share": float(r["switch_share"])} for r in pooled.to_dict(orient="records")],
        "curve": [{"threshold": float(r["threshold"]), "model": str(r["model"]), "seed": int(r["seed"]),
                   "weighted": float(r["weighted"])} for r in curve.to_dict(orient="records")],
    }


# ----------------------------------------------------------------------------- intervals and verdicts
def summarize(
    table: pd.DataFrame,
    metrics: Sequence[str] = SUMMARY_METRICS,
    *,
    confidence: float = CONFIDENCE,
) -> pd.DataFrame:
    """Mean over seeds with its t-interval, per model, system, cover and metric.

    Returns:
        Columns ``model, system, cover, metric, mean, low, high, sd, n`` (``low``/``high``
        NaN with one seed: no spread to estimate).
    """
    long = table.melt(id_vars=["model", "system", "cover", "seed"], value_vars=list(metrics), var_name="metric")
    rows = []
    for (model, system, cover, metric), g in long.groupby(["model", "system", "cover", "metric"], sort=True):
        d = paired_difference(g["value"].to_numpy(np.float64), confidence=confidence)
        rows.append({"model": model, "system": system, "cover": cover, "metric": metric, "mean": d.estimate,
                     "low": d.low, "high": d.high, "sd": d.sd, "n": d.n})
    return pd.DataFrame(rows, columns=["model", "system", "cover", "metric", "mean", "low", "high", "sd", "n"])


def _per_seed(table: pd.DataFrame, model: str, system: str, metric: str) -> pd.DataFrame:
    sub = table[(table["model"] == model) & (table["system"] == system)]
    return sub.pivot_table(index="seed", columns="cover", values=metric, aggfunc="first")


def compare(
    table: pd.DataFrame,
    model: str,
    reference: str = BASELINE_MODEL,
    *,
    system: str = FALLBACK,
    metric: str = "weighted",
    confidence: float = CONFIDENCE,
) -> pd.DataFrame:
    """Paired difference ``model - reference`` over seeds at every cover, for one system and metric.

    Returns:
        Columns ``cover, model, reference, system, metric, estimate, low, high, n, p``.

    Raises:
        CloudEvalError: ``model`` or ``reference`` has no row of ``system``.
    """
    a, b = _per_seed(table, model, system, metric), _per_seed(table, reference, system, metric)
    for name, t in ((model, a), (reference, b)):
        if t.empty:
            raise CloudEvalError(f"No {system!r} rows of model {name!r} in the cloud table "
                                 f"(models: {sorted(set(table['model']))})")
    rows = []
    for cover in sorted(set(a.columns) & set(b.columns)):
        d = paired_difference(a[cover], b[cover], confidence=confidence)
        rows.append({"cover": cover, "model": model, "reference": reference, "system": system, "metric": metric,
                     "estimate": d.estimate, "low": d.low, "high": d.high, "n": d.n, "p": d.p})
    return pd.DataFrame(rows, columns=["cover", "model", "reference", "system", "metric", "estimate", "low",
                                       "high", "n", "p"])


def fallback_claims(
    table: pd.DataFrame,
    model: str = "C+T+M",
    reference: str = BASELINE_MODEL,
    *,
    margin: float = NONINFERIORITY_MARGIN,
    confidence: float = CONFIDENCE,
) -> pd.DataFrame:
    """The claims about the fallback built on one ``model`` against one built on ``reference``.

    One family (Holm's adjustment, :func:`xmodal.analysis.stats.claim_verdicts`):

    * at the highest cover (where the policy answers the most patches from S1):
      ``switch_consistency`` is greater with ``model`` (its answers stay closer to its
      clear-sky answers when it switches sensor), and ``switch_top_change`` is less;
    * at every cover: the fallback's weighted F1 with ``model`` is at least that with
      ``reference`` minus ``margin`` (non-inferiority).

    Returns:
        The claims table of :func:`~xmodal.analysis.stats.claim_verdicts` with the extra
        columns ``cover`` and ``metric``.
    """
    covers = sorted(set(table.loc[table["system"] == FALLBACK, "cover"]))
    if not covers:
        raise CloudEvalError("The cloud table has no fallback rows")
    top = covers[-1]
    rows = []
    for metric, kind, what in (
        ("switch_consistency", "greater", "keeps its answers closer to its clear-sky answers"),
        ("switch_top_change", "less", "changes the dominant class of fewer patches"),
    ):
        a, b = _per_seed(table, model, FALLBACK, metric), _per_seed(table, reference, FALLBACK, metric)
        rows.append({"claim": f"When it switches to S1 (cover {top:.0%}), one {model} {what} than two "
                              f"{reference}s", "cover": top, "metric": metric, "kind": kind,
                     "a": a.get(top, pd.Series(dtype=float)), "b": b.get(top, pd.Series(dtype=float))})
    for c in covers:
        a, b = _per_seed(table, model, FALLBACK, "weighted"), _per_seed(table, reference, FALLBACK, "weighted")
        rows.append({"claim": f"At cover {c:.0%} the fallback with one {model} is as accurate (weighted F1) as "
                              f"with two {reference}s, within {margin}", "cover": c, "metric": "weighted",
                     "kind": "noninferior", "margin": margin,
                     "a": a.get(c, pd.Series(dtype=float)), "b": b.get(c, pd.Series(dtype=float))})
    return claim_verdicts(pd.DataFrame(rows), confidence=confidence)
