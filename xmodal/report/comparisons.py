"""Paired comparisons of methods over seeds: Figure 2's differences, aligned against disjoint training, two budgets.

* :func:`paired_comparisons`: every method against every other on each sensor, Figure 2 runs, with
  intervals that include the test scenes' share when all runs share one test set;
* :func:`pairing_table`: each method trained on disjoint scenes against itself on aligned
  patches of the same size (non-inferiority, one Holm family);
* :func:`budget_table`: one size curve trained at two budgets, paired by size and seed.

Each comes with a display table and a sentence written from its numbers (``*_text``).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from xmodal.analysis.bootstrap import scene_se
from xmodal.analysis.stats import CONFIDENCE, NONINFERIORITY_MARGIN, claim_verdicts, paired_difference
from xmodal.analysis.tidy import ok_runs, sensors_in
from xmodal.config import METHODS
from xmodal.data.normalize import modality_label
from xmodal.report.format import pair_text
from xmodal.report.selection import aligned_method, final_runs, method_label, on_disjoint_scenes
from xmodal.rundir import Predictions

__all__ = [
    "COMPARISON_COLUMNS",
    "TARGET_HALF_WIDTH",
    "PAIRING_COLUMNS",
    "BUDGET_COLUMNS",
    "paired_comparisons",
    "comparisons_display",
    "comparisons_text",
    "pairing_table",
    "pairing_display",
    "budget_table",
    "budget_text",
]


#: Columns of :func:`paired_comparisons`.
COMPARISON_COLUMNS: tuple[str, ...] = (
    "sensor", "a", "b", "comparison", "estimate", "low", "high", "half_width", "n", "se_seed", "se_scene", "df",
)


#: The half-width the default study is designed to reach on every paired comparison of Figure 2.
TARGET_HALF_WIDTH: float = 0.03


def paired_comparisons(results: pd.DataFrame, predictions: Mapping[str, Predictions] | None = None, *,
                metric: str = "weighted", methods: Sequence[str] | None = None,
                confidence: float = CONFIDENCE) -> pd.DataFrame:
    """Every paired comparison of Figure 2: method against method, same sensor, full training set.

    For each sensor and each pair of methods (later minus earlier in the paper's order;
    the Baseline first), the mean difference over the seeds both methods ran, its
    ``confidence`` interval and half-width (:func:`paired_difference`): the seeds'
    spread plus, when every run saw the same test patches and ``predictions`` are given,
    the test scenes' bootstrap standard error (:func:`xmodal.analysis.bootstrap.scene_se`).

    Returns:
        :data:`COMPARISON_COLUMNS`, one row per comparison.
    """
    df = final_runs(results)
    order = [m for m in (methods or METHODS) if m in set(df["method"])]
    rows = []
    for sensor in sensors_in(df):
        for i, j in itertools.combinations(range(len(order)), 2):
            a, b = order[j], order[i]

            def series(m: str, sensor: str = sensor) -> pd.Series:
                sub = df[(df["method"] == m) & (df["modality"] == sensor)]
                return sub.groupby("seed")[metric].mean()

            sa, sb = series(a), series(b)
            if not len(sa) or not len(sb):
                continue
            se = scene_se(df, predictions, (a, sensor), (b, sensor), metric) if predictions is not None else math.nan
            d = paired_difference(sa, sb, confidence=confidence, se_scene=se)
            rows.append({"sensor": sensor, "a": a, "b": b,
                         "comparison": f"{method_label(a)} − {method_label(b)}",
                         "estimate": d.estimate, "low": d.low, "high": d.high, "half_width": d.half_width,
                         "n": d.n, "se_seed": d.se_seed, "se_scene": d.se_scene, "df": d.df})
    return pd.DataFrame(rows, columns=list(COMPARISON_COLUMNS))


def comparisons_display(table: pd.DataFrame, digits: int = 3) -> pd.DataFrame:
    """:func:`paired_comparisons` as the book shows it: one row per comparison, sensors side by side."""
    if not len(table):
        return pd.DataFrame()
    texts = []
    for r in table.to_dict(orient="records"):
        n = int(r["n"])
        est = f"{float(r['estimate']):+.{digits}f}"
        if n > 1:
            texts.append(f"{est} [{float(r['low']):+.{digits}f}, {float(r['high']):+.{digits}f}] "
                         f"±{float(r['half_width']):.{digits}f} (n={n})")
        else:
            texts.append(f"{est} (n={n})" if n else "–")
    cells = table.assign(text=texts)
    wide = cells.pivot_table(index="comparison", columns="sensor", values="text", aggfunc="first", sort=False)
    wide.columns = [modality_label(c) for c in wide.columns]
    return wide.reset_index()


def comparisons_text(table: pd.DataFrame, source: str | None = None,
                     target: float = TARGET_HALF_WIDTH) -> str:
    """How precise the Figure-2 comparisons are: widest half-width, how many meet ``target`` (computed)."""
    ok = table.dropna(subset=["half_width"])
    if not len(ok):
        return "No paired comparison has two seeds or more: no interval can be given."
    widest = ok.sort_values("half_width").iloc[-1]
    within = int((ok["half_width"] <= target).sum())
    seeds = sorted({int(n) for n in ok["n"]})
    n_text = f"{seeds[0]}" if len(seeds) == 1 else f"{seeds[0]}-{seeds[-1]}"
    scene = ok["se_scene"].fillna(0.0) > 0
    how = ("the seeds' spread and a bootstrap over the test scenes" if scene.all() else
           "the seeds' spread alone" if not scene.any() else
           "the seeds' spread, and a bootstrap over the test scenes where all runs share them")
    where = f" ({source})" if source else ""
    return (f"{len(ok)} paired comparisons{where}, {n_text} seeds each; intervals from {how}. "
            f"Half-widths {ok['half_width'].min():.3f}-{ok['half_width'].max():.3f}: **{within} of {len(ok)}** "
            f"are within ±{target:.2f}; the widest is {widest['comparison']} on "
            f"{modality_label(str(widest['sensor']))} (±{widest['half_width']:.3f}).")


#: Columns of :func:`pairing_table`.
PAIRING_COLUMNS: tuple[str, ...] = (
    "method", "measure", "aligned", "disjoint", "estimate", "low", "high", "half_width", "n", "verdict",
)


def pairing_table(results: pd.DataFrame, pairs: pd.DataFrame | None = None,
                  predictions: Mapping[str, Predictions] | None = None, *,
                  margin: float = NONINFERIORITY_MARGIN, confidence: float = CONFIDENCE) -> pd.DataFrame:
    """Training without aligned data: each method on disjoint scenes against itself on aligned patches.

    For every method run with ``pairing: disjoint`` (method key ``"<m> (disjoint)"``) and
    the same method on aligned patches (:func:`xmodal.report.selection.aligned_method`, from
    the runs' config fields) at the same training-set size, paired by seed: the
    weighted F1 on each sensor and the homogeneity of every pair of sensors, the disjoint
    run minus the aligned one, with its interval (test scenes included for F1, as in
    :func:`paired_comparisons`) and a non-inferiority verdict at ``margin`` (the paper's premise:
    aligned training data is not needed, so the disjoint runs should *keep* the aligned
    ones' accuracy and homogeneity). The verdicts form one Holm family.

    Returns:
        :data:`PAIRING_COLUMNS` (``aligned``/``disjoint``: mean over seeds).
    """
    ok = ok_runs(results)
    disjoint = ok[on_disjoint_scenes(ok)]
    claims_rows = []
    for dis in sorted(set(disjoint["method"])):
        base = aligned_method(disjoint[disjoint["method"] == dis].iloc[0])
        sizes = ok.loc[ok["method"] == dis, "n_train_requested"]
        for n in sizes.drop_duplicates():
            same = ok["n_train_requested"].isna() if pd.isna(n) else ok["n_train_requested"] == n
            rows = ok[same & ok["method"].isin([dis, base])]
            for sensor in sensors_in(rows[rows["method"] == dis]):
                def series(m: str, sensor: str = sensor, rows: pd.DataFrame = rows) -> pd.Series:
                    return rows[(rows["method"] == m) & (rows["modality"] == sensor)].groupby("seed")["weighted"].mean()

                se = (scene_se(rows, predictions, (dis, sensor), (base, sensor)) if predictions is not None
                      else math.nan)
                claims_rows.append({"claim": f"{base}: {modality_label(sensor)} weighted F1", "method": base,
                                    "measure": f"weighted F1, {modality_label(sensor)}", "a": series(dis),
                                    "b": series(base), "se_scene": se, "kind": "noninferior", "margin": margin})
            if pairs is not None and len(pairs):
                p_same = pairs["n_train"].isna() if pd.isna(n) else pairs["n_train"] == n
                psub = pairs[p_same & pairs["method"].isin([dis, base])]
                for (sa, sb), grp in psub.groupby(["sensor_a", "sensor_b"], sort=False):
                    def hs(m: str, grp: pd.DataFrame = grp) -> pd.Series:
                        return grp[grp["method"] == m].groupby("seed")["homogeneity"].mean()

                    if len(hs(dis)):
                        pair = pair_text(str(sa), str(sb))
                        claims_rows.append({"claim": f"{base}: homogeneity {pair}", "method": base,
                                            "measure": f"homogeneity s, {pair}", "a": hs(dis),
                                            "b": hs(base), "kind": "noninferior", "margin": margin})
    if not claims_rows:
        return pd.DataFrame(columns=list(PAIRING_COLUMNS))
    table = pd.DataFrame(claims_rows)
    means = [(float(pd.Series(r["b"]).mean()), float(pd.Series(r["a"]).mean())) for r in claims_rows]
    out = claim_verdicts(table, confidence=confidence)
    out["aligned"] = [m[0] for m in means]
    out["disjoint"] = [m[1] for m in means]
    return out[list(PAIRING_COLUMNS)].reset_index(drop=True)


def pairing_display(table: pd.DataFrame, digits: int = 3) -> pd.DataFrame:
    """:func:`pairing_table` as text cells."""
    if not len(table):
        return pd.DataFrame(columns=["method", "measure", "aligned", "disjoint", "disjoint − aligned", "verdict"])
    return pd.DataFrame({
        "method": table["method"].map(lambda m: method_label(str(m))),
        "measure": table["measure"],
        "aligned": table["aligned"].map(lambda v: f"{v:.{digits}f}"),
        "disjoint": table["disjoint"].map(lambda v: f"{v:.{digits}f}"),
        "disjoint − aligned": [
            f"{float(r['estimate']):+.{digits}f} [{float(r['low']):+.{digits}f}, {float(r['high']):+.{digits}f}] "
            f"(n={int(r['n'])})" if int(r["n"]) > 1 else f"{float(r['estimate']):+.{digits}f} (n={int(r['n'])})"
            for r in table.to_dict(orient="records")],
        "verdict": table["verdict"],
    })


#: Columns of :func:`budget_table`.
BUDGET_COLUMNS: tuple[str, ...] = (
    "n_train", "epochs", "epochs_longer", "mean", "mean_longer", "estimate", "low", "high", "n",
)


def _size_key(value: Any) -> float:
    return math.inf if pd.isna(value) else float(value)


def budget_table(results: pd.DataFrame, longer: pd.DataFrame, method: str = "baseline", sensor: str = "s2",
                 metric: str = "weighted", confidence: float = CONFIDENCE) -> pd.DataFrame:
    """One size curve at two training budgets: ``longer``'s runs minus ``results``' runs, per size, paired by seed.

    Both tables hold runs of ``method`` on ``sensor`` at the same requested training-set
    sizes (``n_train_requested``; missing = the whole split) and seeds, differing in their
    number of epochs. Each size gets both means, the mean paired difference (longer minus
    shorter) and its t-interval over seeds.

    Returns:
        :data:`BUDGET_COLUMNS`, one row per size found in both (``n_train``: the patches
        actually trained on, the whole split's count for the full set), smallest first.
    """
    def pick(df: pd.DataFrame) -> pd.DataFrame:
        ok = ok_runs(df)
        return ok[(ok["method"] == method) & (ok["modality"] == sensor)]

    a, b = pick(results), pick(longer)
    rows = []
    for req in sorted({_size_key(v) for v in b["n_train_requested"]}):
        def at(df: pd.DataFrame, req: float = req) -> pd.DataFrame:
            sel = df["n_train_requested"].isna() if math.isinf(req) else df["n_train_requested"] == req
            return df[sel]

        sa, sb = at(a), at(b)
        if not len(sa) or not len(sb):
            continue
        ya, yb = sa.groupby("seed")[metric].mean(), sb.groupby("seed")[metric].mean()
        d = paired_difference(yb, ya, confidence=confidence)
        rows.append({"n_train": int(sb["n_train"].max()), "epochs": int(sa["epochs"].max()),
                     "epochs_longer": int(sb["epochs"].max()), "mean": float(ya.mean()),
                     "mean_longer": float(yb.mean()),
                     "estimate": d.estimate, "low": d.low, "high": d.high, "n": d.n})
    return pd.DataFrame(rows, columns=list(BUDGET_COLUMNS))


def budget_text(table: pd.DataFrame, method: str = "baseline", sensor: str = "s2", source: str | None = None) -> str:
    """What the longer budget changes on the size curve, no more than the intervals allow (computed)."""
    if not len(table):
        return "No size was trained at both budgets."
    who = method_label(method, sensor)
    parts = []
    for r in table.to_dict(orient="records"):
        ci = (f" [{r['low']:+.3f}, {r['high']:+.3f}]" if int(r["n"]) > 1 else "")
        parts.append(f"{int(r['n_train'])} patches: {r['mean']:.3f} → {r['mean_longer']:.3f}, "
                     f"{r['estimate']:+.3f}{ci}")
    ratio = table["epochs_longer"].iloc[0] / table["epochs"].iloc[0]
    seeds = sorted({int(n) for n in table["n"]})
    up = [int(r["n_train"]) for r in table.to_dict(orient="records") if r["low"] > 0]
    down = [int(r["n_train"]) for r in table.to_dict(orient="records") if r["high"] < 0]
    if not up and not down:
        verdict = (f"No size changes beyond its interval: at this scale the curve's shape is the data's, not the "
                   f"budget's (with {', '.join(map(str, seeds))} seeds, changes smaller than the intervals' "
                   "half-widths cannot be excluded).")
    else:
        verdict = ""
        if up:
            verdict += f"The longer budget helps at {', '.join(map(str, up))} patches: there the curve was held back " \
                       "by the budget. "
        if down:
            verdict += f"It hurts at {', '.join(map(str, down))} patches (over-fitting a small set). "
    where = f" ({source})" if source else ""
    return (f"{who} trained {ratio:g} times as long{where}, weighted F1 at the default budget → the longer one, "
            f"paired difference and 95% interval over seeds: " + "; ".join(parts) + ". " + verdict.strip())
