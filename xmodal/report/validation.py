"""Whether each Figure 2 model's validation score is on its plateau at the study's budget.

Every run with a validation split scores it after every epoch (:mod:`xmodal.training.validation`:
the mean weighted F1 over the run's sensors on whole scenes held out of its training split).
A study that trains every method for the same fixed budget must show that the budget does not
hold a method back: that its validation score has stopped rising by the end. The curves are
:func:`xmodal.report.tuning.validation_table` of the runs (the Figure 2 runs, one model per
method and sensors, each single-sensor Baseline a model of its own) and their mean over seeds
:func:`xmodal.report.tuning.curve_summary`; this module adds, per model:

* :func:`plateau_table`: the **gain of the last epoch over the epoch** ``k`` **epochs before it**
  (``k``: the last :data:`PLATEAU_SHARE` of the budget), paired by seed
  (:func:`xmodal.analysis.stats.paired_difference`), and a verdict: :data:`ON_PLATEAU` when the
  interval's upper end is below :data:`PLATEAU_MARGIN`, else :data:`STILL_IMPROVING` when its
  lower end is above 0, else :data:`UNDECIDED` (one seed: no interval; fewer epochs than
  ``k + 1`` or no curve: not measured);
* :func:`plateau_text` and :func:`plateau_display`: its sentences and table, from those numbers.

All pure.
"""

from __future__ import annotations

import math
from typing import Final

import numpy as np
import pandas as pd

from xmodal.analysis.stats import CONFIDENCE, NONINFERIORITY_MARGIN, NOT_MEASURED, ONE_SEED, paired_difference
from xmodal.report.format import ci_text

__all__ = [
    "ON_PLATEAU",
    "PLATEAU_COLUMNS",
    "PLATEAU_MARGIN",
    "PLATEAU_SHARE",
    "PLATEAU_VERDICTS",
    "STILL_IMPROVING",
    "UNDECIDED",
    "plateau_display",
    "plateau_table",
    "plateau_text",
]

#: The share of the budget the plateau check looks back over: the last fifth of the epochs.
PLATEAU_SHARE: Final[float] = 0.2
#: A model is on its plateau when its last epochs gained less than this (weighted F1, upper end of
#: the 95 % interval). Half the non-inferiority margin of the claims (0.02): a gain this small over
#: the last fifth of training could not, even repeated over another such stretch, move a verdict.
PLATEAU_MARGIN: Final[float] = NONINFERIORITY_MARGIN / 2
ON_PLATEAU: Final[str] = "on its plateau"
STILL_IMPROVING: Final[str] = "still improving"
UNDECIDED: Final[str] = "undecided"
#: The verdicts of :func:`plateau_table`.
PLATEAU_VERDICTS: Final[tuple[str, ...]] = (ON_PLATEAU, STILL_IMPROVING, UNDECIDED, ONE_SEED, NOT_MEASURED)
#: Columns of :func:`plateau_table`.
PLATEAU_COLUMNS: Final[tuple[str, ...]] = (
    "model", "last_epoch", "k", "from_epoch", "from_step", "to_step", "score", "estimate", "low", "high", "n",
    "stopped_early", "margin", "verdict",
)


def _verdict(n: int, low: float, high: float, margin: float) -> str:
    if n == 0:
        return NOT_MEASURED
    if n == 1 or not math.isfinite(high):
        return ONE_SEED
    if high < margin:  # a gain shown positive but bounded below the margin is too small to matter
        return ON_PLATEAU
    if low > 0.0:
        return STILL_IMPROVING
    return UNDECIDED


def plateau_table(
    curves: pd.DataFrame,
    *,
    share: float = PLATEAU_SHARE,
    margin: float = PLATEAU_MARGIN,
    confidence: float = CONFIDENCE,
) -> pd.DataFrame:
    """Whether each model's validation score is on its plateau at the end of its budget.

    Per run, the gain ``score(last epoch) - score(last epoch - k)``, with ``k = max(1,
    round(share * cap))`` epochs of the budget's cap (``cap_steps`` over the steps per epoch;
    the last epoch when not recorded); per model, the mean gain over seeds with its t-interval
    (:func:`~xmodal.analysis.stats.paired_difference`, paired by seed) and the verdict of the
    module docstring. A run stopped early (``patience``) ends at its own last epoch.

    Args:
        curves: :func:`xmodal.report.tuning.validation_table` (pass the results table to it:
            the Figure 2 runs).
        share: the share of the budget looked back over, in (0, 1].
        margin: the largest gain, in weighted F1, that still counts as a plateau (> 0).
        confidence: of the intervals.

    Returns:
        :data:`PLATEAU_COLUMNS`, one row per model in the table's order: its last epoch (the
        largest over seeds), ``k``, the epoch and step compared with and the last step, the mean
        last score, the gain's ``estimate``/``low``/``high`` and ``n`` seeds, how many runs
        stopped early, the margin and the verdict (:data:`PLATEAU_VERDICTS`).

    Raises:
        ValueError: a share outside (0, 1] or a margin that is not positive.
    """
    if not 0.0 < share <= 1.0:
        raise ValueError(f"Invalid plateau share {share!r}: the share of the budget looked back over, in (0, 1]")
    if not margin > 0.0:
        raise ValueError(f"Invalid plateau margin {margin!r}: a gain in weighted F1, > 0")
    df = curves.dropna(subset=["epoch", "step", "score"])
    rows = []
    for model in dict.fromkeys(df["model"]):
        sub = df[df["model"] == model]
        caps = [int(c) // max(int(st) // max(int(e), 1), 1) for c, st, e in
                zip(sub["cap_steps"], sub["step"], sub["epoch"], strict=True) if not pd.isna(c) and int(st) > 0]
        k = max(1, int(round(share * (max(caps) if caps else int(sub["epoch"].max())))))
        last: dict[int, float] = {}
        before: dict[int, float] = {}
        steps: list[int] = []
        ends: list[int] = []
        froms: list[tuple[int, int]] = []
        early = 0
        for _, g in sub.groupby("run_dir", sort=True):
            points = {int(e): (float(sc), int(st)) for e, sc, st in zip(g["epoch"], g["score"], g["step"], strict=True)}
            end = max(points)
            ends.append(end)
            early += bool(g["stopped_early"].fillna(False).astype(bool).any())
            if end - k in points:
                seed = int(g["seed"].iloc[0])
                last[seed], before[seed] = points[end][0], points[end - k][0]
                steps.append(points[end][1])
                froms.append((end - k, points[end - k][1]))
        d = paired_difference(pd.Series(last, dtype=float), pd.Series(before, dtype=float), confidence=confidence)
        first: tuple[int, int | None] = min(froms) if froms else (max(ends) - k, None)
        rows.append({"model": model, "last_epoch": max(ends), "k": k, "from_epoch": first[0], "from_step": first[1],
                     "to_step": max(steps) if steps else None, "score": float(np.mean(list(last.values())))
                     if last else math.nan, "estimate": d.estimate, "low": d.low, "high": d.high, "n": d.n,
                     "stopped_early": early, "margin": margin, "verdict": _verdict(d.n, d.low, d.high, margin)})
    out = pd.DataFrame(rows, columns=list(PLATEAU_COLUMNS))
    for col in ("from_step", "to_step"):
        out[col] = pd.to_numeric(out[col], errors="coerce").astype("Int64")
    return out


def plateau_display(table: pd.DataFrame, digits: int = 3) -> pd.DataFrame:
    """:func:`plateau_table` as text cells: model, epochs compared, last score, gain [interval], verdict."""
    return pd.DataFrame({
        "model": table["model"],
        "epochs compared": [f"{int(f)} → {int(e)}" for f, e in zip(table["from_epoch"], table["last_epoch"],
                                                                    strict=True)],
        "validation score (last epoch)": [f"{v:.{digits}f}" if math.isfinite(v) else "–" for v in table["score"]],
        "gain over the last epochs [95% interval]": [
            ci_text(float(e), float(lo), float(hi), int(n), digits) if int(n) else "–"
            for e, lo, hi, n in zip(table["estimate"], table["low"], table["high"], table["n"], strict=True)],
        "seeds": table["n"].astype(int),
        "verdict": table["verdict"],
    })


def _gain(row: pd.Series) -> str:
    if int(row["n"]) > 1 and math.isfinite(float(row["low"])):
        return (f"{float(row['estimate']):+.3f} [{float(row['low']):+.3f}, {float(row['high']):+.3f}] "
                f"({int(row['n'])} seeds)")
    return f"{float(row['estimate']):+.3f} ({int(row['n'])} seed, no interval)"


def plateau_text(table: pd.DataFrame, source: str | None = None) -> str:
    """Markdown sentences reading :func:`plateau_table`: the rule, each model's gain and verdict, the conclusion.

    Every number is the table's; the sentences never say more than the verdicts.
    """
    if not len(table):
        return ("No Figure 2 run of this study recorded a validation curve (they were trained without a validation "
                "split, `val_fraction` 0), so whether the budget holds a method back is not measured here.")
    r0 = table.iloc[0]
    where = f" ({source})" if source else ""
    text = [f"**Is every model on its plateau at this budget?**{where} The validation score of each Figure 2 model "
            f"(weighted F1 on the validation scenes, mean over the model's sensors) at its last epoch is compared "
            f"with the score {int(r0['k'])} epoch{'s' if int(r0['k']) != 1 else ''} earlier (the last "
            f"{int(r0['k'])} of the budget's {int(r0['last_epoch'])}), paired by seed. A model is **{ON_PLATEAU}** "
            f"when the 95% interval of that gain lies below {float(r0['margin']):g} weighted F1, "
            f"**{STILL_IMPROVING}** when it lies above 0, and **{UNDECIDED}** otherwise."]
    parts = [f"{r['model']}: {_gain(r)}, **{r['verdict']}**" for _, r in table.iterrows()
             if r["verdict"] != NOT_MEASURED]
    if parts:
        text.append("Gain of the last epochs: " + "; ".join(parts) + ".")
    by = {v: list(table.loc[table["verdict"] == v, "model"]) for v in PLATEAU_VERDICTS}
    if len(by[ON_PLATEAU]) == len(table):
        text.append(f"Every model is on its plateau: the fixed budget holds none of them back, to within "
                    f"{float(r0['margin']):g} weighted F1.")
    else:
        if by[STILL_IMPROVING]:
            text.append(f"Still improving at the end of the budget: {', '.join(by[STILL_IMPROVING])}. Their test "
                        "scores are those of a budget that stopped them while they improved; a longer budget may "
                        "change the comparisons that involve them.")
        if by[UNDECIDED]:
            text.append(f"The seeds cannot tell whether {', '.join(by[UNDECIDED])} "
                        f"{'is' if len(by[UNDECIDED]) == 1 else 'are'} still improving: the interval includes both "
                        "no gain and a gain of the margin.")
        if by[ONE_SEED]:
            text.append(f"With one seed there is no interval, so no verdict for {', '.join(by[ONE_SEED])}.")
        if by[NOT_MEASURED]:
            short = table[table["verdict"] == NOT_MEASURED]
            text.append(f"Not measured: {', '.join(by[NOT_MEASURED])} (fewer than {int(short['k'].max()) + 1} "
                        "epochs, none to look back to).")
    early = int(table["stopped_early"].sum())
    if early:
        text.append(f"{early} run(s) stopped early (no better validation score for `patience` epochs) and kept their "
                    "best epoch's weights; their last epoch is where they stopped.")
    return " ".join(text)
