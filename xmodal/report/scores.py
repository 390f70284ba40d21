"""The Figure 2 tables: scores per method and sensor, gaps between sensors, homogeneity, beside the paper's.

Every table here is computed on the Figure 2 runs (:func:`xmodal.report.selection.final_runs`,
:func:`~xmodal.report.selection.final_pairs`) and puts the paper's number
(:mod:`xmodal.report.paper`) beside this study's mean and spread over seeds.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from xmodal.analysis.stats import CONFIDENCE, paired_difference
from xmodal.analysis.tidy import flat_columns, methods_in, sensor_pairs, sensors_in
from xmodal.data.normalize import modality_label
from xmodal.report.format import mean_sd, order_key, pair_text
from xmodal.report.paper import paper_homogeneity, paper_score
from xmodal.report.selection import final_pairs, final_runs, method_label

__all__ = [
    "score_table",
    "comparison_table",
    "gap_per_seed",
    "gap_table",
    "homogeneity_table",
    "homogeneity_per_seed",
    "homogeneity_context_table",
]


def score_table(results: pd.DataFrame, metrics: Sequence[str] = ("macro", "weighted")) -> pd.DataFrame:
    """Mean, standard deviation (over seeds) and number of runs per method and sensor, full training set."""
    df = final_runs(results)
    g = df.groupby(["method", "modality"])[list(metrics)]
    out = g.agg(["mean", "std", "count"])
    out.columns = flat_columns(out.columns)
    out = out.reset_index()
    methods, sensors = order_key(methods_in(df)), order_key(sensors_in(df))
    return out.sort_values(["method", "modality"], key=lambda c: methods(c) if c.name == "method" else sensors(c)
                           ).reset_index(drop=True)


def comparison_table(results: pd.DataFrame) -> pd.DataFrame:
    """Macro and weighted F1 per method and sensor beside the numbers reported by the paper."""
    rows = []
    for _, r in score_table(results).iterrows():
        macro = paper_score(r["method"], r["modality"], "macro")
        weighted = paper_score(r["method"], r["modality"], "weighted")
        rows.append({
            "method": method_label(r["method"]),
            "modality": modality_label(r["modality"]),
            "macro F1 (this study)": mean_sd(r["macro_mean"], r["macro_std"], int(r["macro_count"])),
            "macro F1 (paper)": f"{macro:.2f}" if macro is not None else "–",
            "weighted F1 (this study)": mean_sd(r["weighted_mean"], r["weighted_std"], int(r["weighted_count"])),
            "weighted F1 (paper)": f"{weighted:.2f}" if weighted is not None else "–",
        })
    return pd.DataFrame(rows, columns=["method", "modality", "macro F1 (this study)", "macro F1 (paper)",
                                       "weighted F1 (this study)", "weighted F1 (paper)"])


def gap_per_seed(results: pd.DataFrame, metric: str, a: str, b: str) -> pd.DataFrame:
    """``b`` minus ``a`` score per method and seed (full training set): columns method, seed, gap."""
    df = final_runs(results)
    piv = df.pivot_table(index=["method", "seed"], columns="modality", values=metric, aggfunc="mean")
    if a not in piv or b not in piv:
        return pd.DataFrame(columns=["method", "seed", "gap"])
    return (piv[b] - piv[a]).dropna().rename("gap").reset_index()


def gap_table(results: pd.DataFrame) -> pd.DataFrame:
    """The gap between every pair of sensors in macro and weighted F1 per method, beside the paper's.

    A pair's gap is the later sensor minus the earlier one in display order (S2 minus S1).
    """
    cols = ["method", "sensors", "macro gap (this study)", "macro gap (paper)",
            "weighted gap (this study)", "weighted gap (paper)"]
    rows = []
    for a, b in sensor_pairs(sensors_in(final_runs(results))):
        macro = gap_per_seed(results, "macro", a, b)
        weighted = gap_per_seed(results, "weighted", a, b)
        for m in methods_in(macro) if len(macro) else []:
            gm = macro[macro["method"] == m]["gap"]
            gw = weighted[weighted["method"] == m]["gap"]
            paper = {}
            for metric in ("macro", "weighted"):
                pa, pb = paper_score(m, a, metric), paper_score(m, b, metric)
                paper[metric] = f"{pb - pa:.2f}" if pa is not None and pb is not None else "–"
            rows.append({
                "method": method_label(m),
                "sensors": f"{modality_label(b)} − {modality_label(a)}",
                "macro gap (this study)": mean_sd(gm.mean(), gm.std(), len(gm)),
                "macro gap (paper)": paper["macro"],
                "weighted gap (this study)": mean_sd(gw.mean(), gw.std(), len(gw)),
                "weighted gap (paper)": paper["weighted"],
            })
    return pd.DataFrame(rows, columns=cols)


def homogeneity_table(pairs: pd.DataFrame) -> pd.DataFrame:
    """Homogeneity s (eq. 5) per method and pair of sensors, beside the value reported by the paper.

    Args:
        pairs: the pair homogeneity table (:func:`xmodal.results.load_homogeneity`): the
            joint models' scores and the Baselines' (two separately trained models).

    Returns:
        method, sensors, "s (this study)", "s (paper)", s_mean, s_std, n (runs).
    """
    cols = ["method", "sensors", "s (this study)", "s (paper)", "s_mean", "s_std", "n"]
    df = final_pairs(pairs)
    rows = []
    for m in methods_in(df) if len(df) else []:
        for a, b in sensor_pairs(sensors_in(df, "sensor_a") + sensors_in(df, "sensor_b")):
            sel = (df["method"] == m) & (((df["sensor_a"] == a) & (df["sensor_b"] == b))
                                         | ((df["sensor_a"] == b) & (df["sensor_b"] == a)))
            v = df[sel]["homogeneity"]
            if len(v) == 0:
                continue
            paper = paper_homogeneity(m, a, b)
            rows.append({"method": method_label(m), "sensors": pair_text(a, b),
                         "s (this study)": mean_sd(v.mean(), v.std(), len(v)),
                         "s (paper)": f"{paper:.2f}" if paper is not None else "–",
                         "s_mean": v.mean(), "s_std": v.std(), "n": len(v)})
    return pd.DataFrame(rows, columns=cols)


def homogeneity_per_seed(pairs: pd.DataFrame, a: str, b: str) -> pd.Series:
    """Homogeneity per (method, seed) between sensors ``a`` and ``b`` (either order), Figure 2 runs only."""
    df = final_pairs(pairs)
    sel = ((df["sensor_a"] == a) & (df["sensor_b"] == b)) | ((df["sensor_a"] == b) & (df["sensor_b"] == a))
    return df[sel].groupby(["method", "seed"])["homogeneity"].mean()


def homogeneity_context_table(context: pd.DataFrame, confidence: float = CONFIDENCE) -> pd.DataFrame:
    """Per method and pair of sensors: s beside its references, each mean [95% interval] over seeds.

    Columns: method, sensors, n (seeds), "s", "lower bound from accuracy", "s − bound",
    "constant predictor: HI with labels", "both sensors miss the dominant class",
    "... if their errors were independent", "error correlation".
    """
    def ci(v: pd.Series) -> str:
        d = paired_difference(v.to_numpy(dtype=float), confidence=confidence)
        if d.n == 0:
            return "–"
        return f"{d.estimate:.3f}" + (f" [{d.low:.3f}, {d.high:.3f}]" if d.n > 1 else "")

    cols = ["method", "sensors", "n", "s", "lower bound from accuracy", "s − bound",
            "constant predictor: HI with labels", "both miss the dominant class", "… if errors were independent",
            "error correlation"]
    rows = []
    for m in methods_in(context) if len(context) else []:
        for a, b in sensor_pairs(sensors_in(context, "sensor_a") + sensors_in(context, "sensor_b")):
            sub = context[(context["method"] == m) & (((context["sensor_a"] == a) & (context["sensor_b"] == b))
                                                      | ((context["sensor_a"] == b) & (context["sensor_b"] == a)))]
            if len(sub) == 0:
                continue
            rows.append({"method": method_label(m), "sensors": pair_text(a, b), "n": len(sub),
                         "s": ci(sub["s"]), "lower bound from accuracy": ci(sub["s_lower_bound"]),
                         "s − bound": ci(sub["s"] - sub["s_lower_bound"]),
                         "constant predictor: HI with labels": ci(sub["hi_constant"]),
                         "both miss the dominant class": ci(sub["both_miss"]),
                         "… if errors were independent": ci(sub["both_miss_if_independent"]),
                         "error correlation": ci(sub["error_correlation"])})
    return pd.DataFrame(rows, columns=cols)
