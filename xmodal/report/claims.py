"""The paper's claims checked on a study: verdicts computed from the claim records, sentences written from them.

The claims are data (:data:`xmodal.report.paper.CLAIMS`: id, sensors, kind, quantity, the
two sides, the paper's numbers). :func:`check_claims` measures each record's paired difference on
the Figure 2 runs and decides the whole table as one family
(:func:`xmodal.analysis.stats.claim_verdicts`, Holm's adjustment); :func:`claim_sentence`,
:func:`difference_label` and :func:`paper_text` write a record in words, and
:func:`claims_summary` counts the verdicts. A claim is identified by its ``id`` everywhere;
its sentence is only shown.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import pandas as pd

from xmodal.analysis.bootstrap import scene_se
from xmodal.analysis.stats import (
    CONFIDENCE,
    DOES_NOT_HOLD,
    HOLDS,
    INCONCLUSIVE,
    NOT_MEASURED,
    ONE_SEED,
    claim_verdicts,
)
from xmodal.analysis.tidy import methods_in, sensors_in
from xmodal.data.normalize import modality_label
from xmodal.report.paper import CLAIMS, IF_MEASURED, IF_RUN, NON_INFERIORITY, QUANTITIES, Claim
from xmodal.report.scores import gap_per_seed, homogeneity_per_seed
from xmodal.report.selection import final_runs, method_label
from xmodal.rundir import Predictions

__all__ = [
    "CLAIM_COLUMNS",
    "check_claims",
    "claims_summary",
    "claim_sentence",
    "difference_label",
    "paper_text",
]

#: Columns of :func:`check_claims`: the claim's id and sentence, what the paper reports, what this study
#: measures (as text), the test (``kind``: greater / less for a superiority claim, noninferior), the
#: threshold ``null`` of the difference, its estimate and interval, seeds, p-values and the verdict.
CLAIM_COLUMNS: tuple[str, ...] = ("id", "claim", "paper reports", "this study", "kind", "null", "estimate", "low",
                                  "high", "half_width", "n", "p", "p_holm", "verdict")


# ----------------------------------------------------------------------------- a claim in words
def _name(method: str) -> str:
    """A method as a sentence's subject or object: ``"the Baseline"``, ``"C+T+M"``."""
    return "the Baseline" if method == "baseline" else method_label(method)


def _margin(c: Claim, margin: float | None) -> float | None:
    """The claim's non-inferiority margin (``margin`` overrides the record's); None for superiority."""
    if c.kind != NON_INFERIORITY:
        return None
    return c.margin if margin is None else float(margin)


def claim_sentence(c: Claim, margin: float | None = None) -> str:
    """The claim as the book states it, e.g. ``"C beats the Baseline on S1 (weighted F1)"``.

    Args:
        c: a claim record.
        margin: the non-inferiority margin to state (default: the record's).
    """
    q = QUANTITIES[c.quantity]
    a, b = _name(c.a.method), _name(c.b.method)
    if c.quantity in ("weighted", "macro"):
        if c.a.method == c.b.method:  # one method, two sensors
            sa, sb = modality_label(str(c.a.sensor)), modality_label(str(c.b.sensor))
            verb = "is below" if c.lower else "beats"
            return f"{sa} {verb} {sb} ({method_label(c.a.method)}, {q})"
        on = modality_label(str(c.a.sensor))
        if c.kind == NON_INFERIORITY:
            return f"{a} keeps {b}'s {q} on {on} (margin {_margin(c, margin):.2f})"
        return f"{a} {'is below' if c.lower else 'beats'} {b} on {on} ({q})"
    lo, hi = (modality_label(s) for s in c.sensors)
    if c.quantity == "weighted_gap":
        return f"{b} {'widens' if c.lower else 'narrows'} the {lo}-{hi} gap of {a} ({q})"
    return f"{a} is {'less' if c.lower else 'more'} homogeneous than {b} ({lo}, {hi}; {q})"


def difference_label(c: Claim) -> str:
    """What ``d = a - b`` of the claim is, e.g. ``"C − Baseline"``, ``"S2 − S1"``, ``"s(C+T+M) − s(C)"``."""
    a, b = method_label(c.a.method), method_label(c.b.method)
    if c.quantity in ("weighted", "macro"):
        if c.a.method == c.b.method:
            return f"{modality_label(str(c.a.sensor))} − {modality_label(str(c.b.sensor))}"
        return f"{a} − {b}"
    if c.quantity == "weighted_gap":
        return f"{a} gap − {b} gap"
    return f"s({a}) − s({b})"


def paper_text(c: Claim) -> str:
    """What the paper reports for the claim's two sides, e.g. ``"0.73 vs 0.63"`` (Figure 2 only: no numbers)."""
    pa, pb = c.paper

    def num(v: float | None) -> str:
        return "–" if v is None else f"{v:.2f}"

    if c.quantity == "weighted_gap":
        return f"gap {num(pa)} → {num(pb)}"
    if c.quantity == "homogeneity":
        return f"s = {num(pa)} vs {num(pb)}"
    if pa is None and pb is None:
        return "Figure 2 only, no numbers"
    return f"{num(pa)} vs {num(pb)}" + (" (–: Figure 2 only)" if pa is None or pb is None else "")


def _measured(r: Mapping[Any, Any]) -> str:
    """What this study measures for one claim: ``"C − Baseline = +0.110 [+0.083, +0.137] (2 seeds)"``."""
    n = int(r["n"])
    if n == 0:
        return "–"
    text = f"{r['what']} = {r['estimate']:+.3f}"
    if n > 1:
        text += f" [{r['low']:+.3f}, {r['high']:+.3f}]"
    return text + f" ({n} seed{'s' if n != 1 else ''})"


# ----------------------------------------------------------------------------- the verdicts
def _of(series: pd.Series, method: str) -> pd.Series:
    """The per-seed values of ``method`` in a (method, seed) series (empty when it has none)."""
    return series.xs(method, level="method") if method in series.index.get_level_values(0) else series.iloc[:0]


def check_claims(results: pd.DataFrame, pairs: pd.DataFrame | None = None,
           predictions: Mapping[str, Predictions] | None = None, *,
           margin: float | None = None, confidence: float = CONFIDENCE) -> pd.DataFrame:
    """The paper's claims (:data:`xmodal.report.paper.CLAIMS`), each checked on this study's runs with an interval.

    Every claim is a difference ``d = a - b`` between its two sides on the Figure 2 runs
    (:func:`xmodal.report.selection.final_runs`), paired by seed. Each gets the mean difference,
    its t-interval over seeds (``confidence``, unadjusted; for the F1 claims widened by the test
    scenes' bootstrap standard error, :func:`xmodal.analysis.bootstrap.scene_se`, when
    ``predictions`` are given and all runs share one test set), ``n`` and a verdict from
    :func:`xmodal.analysis.stats.claim_verdicts`: a claim *holds* when the Holm-adjusted p-value
    over the whole table (the family) is below ``1 - confidence`` and the estimate lies on the
    claimed side; *does not hold* when it is significant on the other side; *inconclusive*
    otherwise; "one seed" when no interval can be estimated. A non-inferiority claim ("C+T+M
    keeps the Baseline") holds when the difference is significantly above ``-margin``.

    A claim is checked when the study has its sensors; it is listed as the record says
    (:attr:`xmodal.report.paper.Claim.listed`): always (a study without the runs shows "not
    measured"), for the methods the study ran, or when the quantity was measured.

    Args:
        results: the tidy results table.
        pairs: the pair homogeneity table (joint models and Baselines), for the claims on eq. (5).
        predictions: run folder -> its test predictions (for the test scenes' share of the F1 intervals).
        margin: a non-inferiority margin replacing the records' (weighted F1).
        confidence: level of the intervals; ``1 - confidence`` is the family-wise error rate.

    Returns:
        :data:`CLAIM_COLUMNS`, one row per claim checked, in the order of the records.
    """
    df = final_runs(results)
    present = set(sensors_in(df))
    ran = set(methods_in(df))

    def series(method: str, sensor: str | None, metric: str) -> pd.Series:
        sub = df[(df["method"] == method) & (df["modality"] == sensor)]
        return sub.groupby("seed")[metric].mean()

    rows: list[dict[str, Any]] = []
    for c in CLAIMS:
        if not set(c.sensors) <= present or (c.listed == IF_RUN and c.a.method not in ran):
            continue
        se = math.nan
        if c.quantity in ("weighted", "macro"):
            a, b = series(c.a.method, c.a.sensor, c.quantity), series(c.b.method, c.b.sensor, c.quantity)
            if predictions is not None:
                se = scene_se(df, predictions, (c.a.method, str(c.a.sensor)), (c.b.method, str(c.b.sensor)),
                              c.quantity)
        else:
            lo, hi = c.sensors
            if c.quantity == "weighted_gap":
                gaps = gap_per_seed(results, "weighted", lo, hi)
                per_seed = gaps.set_index(["method", "seed"])["gap"] if len(gaps) else pd.Series(dtype=float)
            else:
                per_seed = (homogeneity_per_seed(pairs, lo, hi) if pairs is not None and len(pairs)
                            else pd.Series(dtype=float))
            if c.listed == IF_MEASURED and not len(per_seed):
                continue
            a, b = _of(per_seed, c.a.method), _of(per_seed, c.b.method)
        rows.append({"id": c.id, "claim": claim_sentence(c, margin), "paper reports": paper_text(c),
                     "what": difference_label(c), "a": a, "b": b, "kind": c.test, "margin": _margin(c, margin),
                     "se_scene": se})
    if not rows:
        return pd.DataFrame(columns=list(CLAIM_COLUMNS))
    table = claim_verdicts(pd.DataFrame(rows), confidence=confidence)
    table["this study"] = [_measured(r) for r in table.to_dict(orient="records")]
    return table[list(CLAIM_COLUMNS)].reset_index(drop=True)


def claims_summary(verdicts: pd.DataFrame, source: str | None = None, confidence: float = CONFIDENCE) -> str:
    """A Markdown paragraph counting which claims of :func:`check_claims` hold, computed from it.

    A claim is named under "Hold" or "Do not hold" only with its verdict, and a verdict other
    than inconclusive needs an interval (two seeds or more: :func:`xmodal.analysis.stats.claim_verdicts`).
    """
    if len(verdicts) == 0:
        return "No claim could be checked: the study has no comparable runs."
    v = verdicts["verdict"]
    holds = verdicts[v == HOLDS]["claim"].tolist()
    fails = verdicts[v == DOES_NOT_HOLD]["claim"].tolist()
    unsure = verdicts[v == INCONCLUSIVE]["claim"].tolist()
    single = verdicts[v == ONE_SEED]["claim"].tolist()
    missing = verdicts[v == NOT_MEASURED]["claim"].tolist()
    n_seeds = verdicts.loc[verdicts["n"] > 0, "n"]
    seeds = (f"{int(n_seeds.min())}" if n_seeds.min() == n_seeds.max() else f"{int(n_seeds.min())}-"
             f"{int(n_seeds.max())}") if len(n_seeds) else "0"
    tested = len(verdicts) - len(single) - len(missing)
    plural = "" if seeds == "1" else "s"
    where = f" on {source}" if source else ""
    lines = [f"Of {len(verdicts)} claims checked{where} ({seeds} seed{plural} each), "
             f"**{len(holds)} hold**, **{len(fails)} do not hold** and {len(unsure)} are inconclusive"
             + (f"; {len(single)} rest on one seed" if single else "")
             + (f"; {len(missing)} could not be measured" if missing else "") + ". "
             f"The {tested} tested claims form one family: a verdict is significant only after Holm's "
             f"correction, so the chance that any \"holds\" or \"does not hold\" above is wrong is at most "
             f"{1 - confidence:.0%} (if the seeds' differences are roughly normal)."]
    if holds:
        lines.append("\n**Hold:** " + "; ".join(holds) + ".")
    if fails:
        lines.append("\n**Do not hold:** " + "; ".join(fails) + ".")
    if unsure:
        lines.append("\n**Inconclusive** (the interval is too wide to decide): " + "; ".join(unsure) + ".")
    return "\n".join(lines)
