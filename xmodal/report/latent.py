"""The latent page's summaries: every latent measure per method over seeds, read only as far as the intervals allow.

The inputs are :func:`xmodal.results.load_latent_measures` (one row per multi-sensor run and
the numbers of :func:`xmodal.analysis.latent.latent_measures`) and, for the sensitivity
study, the results table of the same runs. Each summary is tidy (:data:`SUMMARY_COLUMNS`:
one row per group and measure, the mean over seeds with its t-interval and the measure's
chance level); :func:`summary_display` makes a table to read of it, and the ``*_text``
functions write sentences that say only what the intervals allow. The adversary's
curves are in :mod:`xmodal.report.adversary`.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from xmodal.analysis.stats import CONFIDENCE, paired_difference
from xmodal.analysis.tidy import methods_in, ok_runs, sensor_order, sensor_pairs
from xmodal.data.normalize import modality_label
from xmodal.report.format import ci_text
from xmodal.report.selection import method_label

__all__ = [
    "SUMMARY_COLUMNS",
    "LATENT_K",
    "SAME_PATCH_K",
    "TRADEOFF_KEYS",
    "latent_measure_specs",
    "latent_summary",
    "summary_display",
    "latent_contrasts",
    "latent_text",
    "label_settings",
    "tradeoff_summary",
    "tradeoff_text",
    "tradeoff_display",
    "interval_over_seeds",
    "side_of",
    "seeds_sentence",
    "alignment_of",
    "groups_of",
]


#: Columns of the tidy summaries of :func:`latent_summary`, :func:`xmodal.report.adversary.adversary_final` and
#: :func:`tradeoff_summary`: one row per group and measure, the estimate its mean over seeds with a
#: t-interval (:func:`xmodal.analysis.paired_difference` of the values), ``n`` the seeds measured
#: and ``chance`` the value the measure takes by chance (NaN where there is none).
SUMMARY_COLUMNS: tuple[str, ...] = ("method", "alignment", "measure", "label", "estimate", "low", "high", "n",
                                    "chance")


#: Neighbours / cut-off of the latent measures shown (:data:`xmodal.analysis.latent.NEIGHBOURS`); a
#: table measured with a smaller ``k`` (runs with fewer latents, column ``k``) is shown with its own.
LATENT_K: int = 10


#: The same-patch recall@k shown (one of :data:`xmodal.analysis.latent.SAME_PATCH_KS`).
SAME_PATCH_K: int = 10


#: Run settings the sensitivity study varies (:func:`tradeoff_summary` groups by them).
TRADEOFF_KEYS: tuple[str, ...] = ("method", "alignment", "alpha", "grl_weight", "steps")


def interval_over_seeds(values: Any, confidence: float) -> tuple[float, float, float, int]:
    """Mean of the finite ``values`` with its t-interval over them: ``(estimate, low, high, n)``."""
    v = np.asarray(pd.to_numeric(pd.Series(values), errors="coerce"), dtype=np.float64)
    d = paired_difference(v[np.isfinite(v)], confidence=confidence)
    return d.estimate, d.low, d.high, d.n


def _sensors_of(table: pd.DataFrame) -> list[str]:
    """The sensors of a table with a ``sensors`` column (``"s1+s2"``), in display order."""
    if "sensors" not in table.columns:
        return []
    return sensor_order(itertools.chain.from_iterable(str(s).split("+") for s in table["sensors"].dropna()))


def _first_column(table: pd.DataFrame, *names: str) -> str | None:
    return next((n for n in names if n in table.columns), None)


def _k_of(table: pd.DataFrame, k: int | None) -> int:
    """``k`` if given, else the smallest ``k`` the table's runs were measured with (:data:`LATENT_K` without)."""
    if k is not None:
        return int(k)
    ks = pd.to_numeric(table["k"], errors="coerce").dropna() if "k" in table.columns else pd.Series(dtype=float)
    return int(ks.min()) if len(ks) else LATENT_K


def latent_measure_specs(table: pd.DataFrame, k: int | None = None) -> list[tuple[str, str | None, str]]:
    """``(column, chance column, label)`` of every measure the latent page shows that ``table`` holds.

    The sensors are those of the table's ``sensors`` column; for every pair of them (both
    directions): label retrieval mAP and recall@k (:func:`xmodal.analysis.latent.cross_modal_retrieval`)
    and same-patch recall@:data:`SAME_PATCH_K` (:func:`xmodal.analysis.latent.same_patch_retrieval`);
    for all of them: the modality probe and the neighbour mixing (raw and with latents centred
    per sensor). ``k`` defaults to the table's (:func:`_k_of`).
    """
    k = _k_of(table, k)
    specs: list[tuple[str, str | None, str]] = [("modality_probe", "modality_probe_chance", "probe accuracy")]
    pairs = sensor_pairs(_sensors_of(table))
    for kind, label in (("map", "label retrieval mAP"), (f"recall_at_{k}", f"label recall@{k}")):
        for a, b in pairs:
            for s, t in ((a, b), (b, a)):
                col = f"retrieval_{s}_to_{t}_{kind}"
                specs.append((col, f"{col}_chance", f"{label} {modality_label(s)}→{modality_label(t)}"))
    specs.append(("mixing", "mixing_chance", f"neighbour mixing (k={k})"))
    specs.append(("mixing_centred", "mixing_chance", f"neighbour mixing, centred per sensor (k={k})"))
    for a, b in pairs:
        p = SAME_PATCH_K
        chance = _first_column(table, f"pair_{a}_{b}_recall_at_{p}_chance", f"pair_{b}_{a}_recall_at_{p}_chance")
        for s, t in ((a, b), (b, a)):
            specs.append((f"pair_{s}_to_{t}_recall_at_{p}", chance,
                          f"same patch in top {p} {modality_label(s)}→{modality_label(t)}"))
    return [(c, ch if ch in table.columns else None, lab) for c, ch, lab in specs if c in table.columns]


def groups_of(table: pd.DataFrame, keys: Sequence[str]) -> list[tuple[dict[str, Any], pd.DataFrame]]:
    """``table`` split by ``keys`` (missing values kept), methods in the paper's order."""
    if len(table) == 0:
        return []
    order = {m: i for i, m in enumerate(methods_in(table))}
    out = []
    for values, sub in table.groupby(list(keys), dropna=False, sort=False):
        values = values if isinstance(values, tuple) else (values,)
        out.append((dict(zip(keys, values, strict=True)), sub))

    def value_key(v: Any) -> tuple[int, float, str]:
        if isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool):
            return (1, float(v), "") if v == v else (2, 0.0, "")
        return (0, 0.0, str(v)) if v is not None else (2, 0.0, "")

    return sorted(out, key=lambda t: (order.get(str(t[0].get("method")), len(order)),
                                      *(value_key(t[0].get(k)) for k in keys[1:])))


def alignment_of(sub: pd.DataFrame) -> Any:
    """The alignment of a group's runs (its first non-missing value; None without the column or a value)."""
    if "alignment" not in sub.columns:
        return None
    vals = sub["alignment"].dropna().unique()
    return vals[0] if len(vals) else None


def latent_summary(measures: pd.DataFrame, *, k: int | None = None,
                   confidence: float = CONFIDENCE) -> pd.DataFrame:
    """Every latent measure per method: its mean over seeds, t-interval and chance level.

    Args:
        measures: :func:`xmodal.results.load_latent_measures` (one row per run: ``method``,
            ``alignment``, ``seed``, ``sensors`` and the measures). Pass the runs of one
            training-set size (:func:`xmodal.report.selection.final_runs`): the seeds of a method are its units.
        k: the cut-off whose recall@k is shown (default: the table's, :func:`latent_measure_specs`).
        confidence: level of the intervals.

    Returns:
        :data:`SUMMARY_COLUMNS`, one row per method and measure (:func:`latent_measure_specs`);
        ``n`` counts the seeds with a value, ``chance`` is the mean chance level over them.
    """
    rows = []
    specs = latent_measure_specs(measures, k)
    for key, sub in groups_of(measures, ["method"]):
        for col, chance, label in specs:
            est, low, high, n = interval_over_seeds(sub[col], confidence)
            ch = float(pd.to_numeric(sub[chance], errors="coerce").mean()) if chance else math.nan
            rows.append({"method": key["method"], "alignment": alignment_of(sub), "measure": col,
                         "label": label, "estimate": est, "low": low, "high": high, "n": n, "chance": ch})
    return pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))


def summary_display(summary: pd.DataFrame, row: str = "method", digits: int = 3) -> pd.DataFrame:
    """A tidy summary (:data:`SUMMARY_COLUMNS`) as a table to read: a row per ``row``, a column per measure.

    Cells read ``mean [low, high]`` (the interval over seeds; "(1 seed)" without one; "not
    recorded" without any value); ``seeds`` gives the number of seeds; a last row "chance"
    holds every measure's chance level (where it has one).
    """
    labels = list(dict.fromkeys(summary["label"]))
    rows = []
    for value, sub in summary.groupby(row, sort=False):
        out: dict[str, Any] = {row: method_label(str(value)) if row == "method" else value,
                               "seeds": int(sub["n"].max()) if len(sub) else 0}
        for _, r in sub.iterrows():
            out[r["label"]] = ci_text(r["estimate"], r["low"], r["high"], int(r["n"]), digits)
        rows.append(out)
    chance = summary.groupby("label", sort=False)["chance"].mean()
    if chance.notna().any():
        rows.append({row: "chance", "seeds": "", **{lab: (f"{chance[lab]:.{digits}f}" if chance[lab] == chance[lab]
                                                          else "–") for lab in labels}})
    return pd.DataFrame(rows, columns=[row, "seeds", *labels])


def latent_contrasts(measures: pd.DataFrame, reference: str = "C", *, k: int | None = None,
                     confidence: float = CONFIDENCE) -> pd.DataFrame:
    """Each method minus ``reference`` on every latent measure, paired by seed.

    Returns:
        method, measure, label, estimate, low, high, n (seeds both have), p: the paired
        t-interval of :func:`xmodal.analysis.paired_difference` (unadjusted).
    """
    cols = ["method", "measure", "label", "estimate", "low", "high", "n", "p"]
    if len(measures) == 0 or reference not in set(measures["method"]):
        return pd.DataFrame(columns=cols)
    ref = measures[measures["method"] == reference].groupby("seed")
    rows = []
    for key, sub in groups_of(measures[measures["method"] != reference], ["method"]):
        mine = sub.groupby("seed")
        for col, _, label in latent_measure_specs(measures, k):
            d = paired_difference(mine[col].mean(), ref[col].mean(), confidence=confidence)
            rows.append({"method": key["method"], "measure": col, "label": label, "estimate": d.estimate,
                         "low": d.low, "high": d.high, "n": d.n, "p": d.p})
    return pd.DataFrame(rows, columns=cols)


def side_of(r: pd.Series | Mapping[str, Any], level: float) -> str:
    """Where the interval of ``r`` lies against ``level``: above, below, within or unknown.

    ``"within"``: the interval contains ``level``; ``"unknown"``: there is no interval (fewer
    than two seeds) or no level.
    """
    if not (r["n"] and r["n"] > 1 and math.isfinite(r["low"]) and math.isfinite(level)):
        return "unknown"
    if r["low"] > level:
        return "above"
    if r["high"] < level:
        return "below"
    return "within"


def seeds_sentence(summary: pd.DataFrame, source: str | None) -> str:
    """The first sentence of the texts below: how many seeds, what the intervals are, which data."""
    n = sorted({int(v) for v in summary["n"] if v})
    where = f" ({source})" if source else ""
    if not n or n == [1]:
        return (f"One seed per method{where}: the numbers below are single runs, without intervals, and no "
                "statement about chance or differences is made from them.")
    return (f"Intervals are {int(100 * CONFIDENCE)}% t-intervals over seeds (n = {', '.join(map(str, n))} "
            f"per method){where}; a statement below is made only where an interval lies entirely on one side of "
            "its reference.")


def latent_text(summary: pd.DataFrame, contrasts: pd.DataFrame | None = None, source: str | None = None) -> str:
    """Markdown on the latent measures, saying only what the intervals allow.

    For each method: whether the probe reads the sensor above chance, whether the
    neighbours mix the sensors as much as chance, and whether the same patch is found
    more often than chance; then, from :func:`latent_contrasts`, the differences to the
    reference whose intervals exclude 0.
    """
    if len(summary) == 0:
        return "No multi-sensor run with latent vectors: nothing to measure."
    lines = [seeds_sentence(summary, source)]
    for method, sub in summary.groupby("method", sort=False):
        by = {r["measure"]: r for _, r in sub.iterrows()}
        parts = []
        probe = by.get("modality_probe")
        if probe is not None and probe["n"]:
            side = side_of(probe, probe["chance"])
            values = f"{probe['estimate']:.2f}, chance {probe['chance']:.2f}"
            parts.append({"above": f"a linear probe tells the sensors apart ({values})",
                          "below": f"the probe scores below chance ({values})",
                          "within": f"the probe cannot be told from chance ({values})",
                          "unknown": f"the probe scores {values} (one seed: no interval)"}[side])
        mix = by.get("mixing")
        if mix is not None and mix["n"]:
            side = side_of(mix, mix["chance"])
            values = f"{mix['estimate']:.2f} vs {mix['chance']:.2f} by chance"
            parts.append({"above": f"a vector's neighbours come from the other sensor more often than by chance "
                                   f"({values})",
                          "below": f"a vector's neighbours come from the other sensor less often than by chance "
                                   f"({values})",
                          "within": f"the neighbour mixing cannot be told from chance ({values})",
                          "unknown": f"neighbour mixing {values} (one seed)"}[side])
        found = [r for m, r in by.items() if m.startswith("pair_") and r["n"]]
        if found:
            sides = {side_of(r, r["chance"]) for r in found}
            if sides == {"above"}:
                parts.append("the same patch seen by the other sensor is among the top "
                             f"{SAME_PATCH_K} more often than by chance, in both directions")
            elif "above" not in sides and "unknown" not in sides:
                parts.append(f"no interval of finding the same patch among the top {SAME_PATCH_K} lies above "
                             "chance, in either direction")
        if parts:
            lines.append(f"- **{method_label(str(method))}**: " + "; ".join(parts) + ".")
    if contrasts is not None and len(contrasts):
        sure = contrasts[(contrasts["n"] > 1) & ((contrasts["low"] > 0) | (contrasts["high"] < 0))]
        if not (contrasts["n"] > 1).any():
            lines.append("\nWith one seed per method, differences between methods have no interval: none is "
                         "claimed here.")
        elif len(sure):
            diffs = "; ".join(f"{method_label(str(r['method']))} − C, {r['label']}: {r['estimate']:+.3f} "
                              f"[{r['low']:+.3f}, {r['high']:+.3f}]" for _, r in sure.iterrows())
            lines.append(f"\nDifferences to C whose interval excludes 0 (paired by seed, not adjusted for the "
                         f"{len(contrasts)} comparisons): {diffs}.")
        else:
            lines.append("\nNo difference to C has an interval that excludes 0: with these seeds the methods' "
                         "latent spaces cannot be told apart on these measures.")
    return "\n".join(lines)


def _setting_label(row: Mapping[Any, Any]) -> str:
    steps = row.get("steps")
    parts = [f"α={float(row['alpha']):g}" if row.get("alpha") is not None else "α=?",
             f"w={float(row['grl_weight']):g}" if row.get("grl_weight") is not None else "w=?"]
    if steps is not None and steps == steps:
        parts.append(f"{int(steps)} steps")
    return ", ".join(parts)


def label_settings(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` with a method's name extended by its setting where the method ran with several.

    A study that varies ``alpha``, ``grl_weight`` or the number of optimisation ``steps`` (the
    ``latent`` profile) would otherwise pool different settings under one method: its C+T+M runs
    become e.g. ``"C+T+M (α=1, w=5, 150 steps)"``. A method run with one setting keeps its name.

    Args:
        table: :func:`xmodal.results.load_latent_measures` or :func:`xmodal.results.load_histories`.
    """
    keys = [k for k in TRADEOFF_KEYS[2:] if k in table.columns]
    if not keys or len(table) == 0:
        return table
    several = {m for m, sub in table.groupby("method") if len(sub[keys].astype(str).drop_duplicates()) > 1}
    labels = [f"{r['method']} ({_setting_label(r)})" if r["method"] in several else r["method"]
              for r in table.to_dict("records")]
    return table.assign(method=labels)


def tradeoff_summary(measures: pd.DataFrame, results: pd.DataFrame, *,
                     confidence: float = CONFIDENCE) -> pd.DataFrame:
    """Accuracy against alignment per setting of the sensitivity study, each mean and interval over seeds.

    Per setting (:data:`TRADEOFF_KEYS`: method, alignment, triplet weight ``alpha``, alignment
    weight ``grl_weight``, optimisation steps): weighted F1 per sensor, homogeneity (eq. 5),
    the modality probe's accuracy and the label-retrieval mAP in each direction.

    Args:
        measures: :func:`xmodal.results.load_latent_measures` of the study's runs.
        results: the tidy results table (:func:`xmodal.results.load_results`) of the same runs.
        confidence: level of the intervals.

    Returns:
        ``setting`` (e.g. ``"α=1, w=5, 150 steps"``), :data:`SUMMARY_COLUMNS` and the
        settings' keys; one row per setting and quantity.
    """
    cols = ["setting", *SUMMARY_COLUMNS, *TRADEOFF_KEYS[2:]]
    if len(measures) == 0:
        return pd.DataFrame(columns=cols)
    ok = ok_runs(results)
    weighted = ok.pivot_table(index="run_dir", columns="modality", values="weighted", aggfunc="mean")
    homog = ok.groupby("run_dir")["homogeneity"].mean()
    runs = measures.set_index("run_dir", drop=False)
    sensors = _sensors_of(measures)
    quantities: list[tuple[str, str, pd.Series, float]] = []
    for s in sensors:
        if s in weighted.columns:
            quantities.append((f"weighted_{s}", f"weighted F1 {modality_label(s)}",
                               weighted[s].reindex(runs.index), math.nan))
    quantities.append(("homogeneity", "homogeneity s (eq. 5)", homog.reindex(runs.index), math.nan))
    for col, chance, label in latent_measure_specs(measures):
        if col == "modality_probe" or col.endswith("_map"):
            ch = float(pd.to_numeric(runs[chance], errors="coerce").mean()) if chance else math.nan
            quantities.append((col, label, runs[col], ch))
    keyed = runs.reset_index(drop=True)
    rows = []
    for key, sub in groups_of(keyed, list(TRADEOFF_KEYS)):
        idx = sub["run_dir"]
        for name, label, values, level in quantities:
            est, low, high, n = interval_over_seeds(values.reindex(idx).to_numpy(), confidence)
            rows.append({"setting": _setting_label(key), **key, "measure": name, "label": label, "estimate": est,
                         "low": low, "high": high, "n": n, "chance": level})
    return pd.DataFrame(rows, columns=cols)


def tradeoff_text(summary: pd.DataFrame, source: str | None = None) -> str:
    """Markdown on :func:`tradeoff_summary`: which settings hide the sensor from the probe, at what accuracy.

    Per method (alignment): the settings whose probe interval lies above chance (the sensor
    stays linearly readable) and those whose interval reaches chance, then the range of each
    sensor's weighted F1 over the settings. Settings are compared only by non-overlapping
    intervals (a conservative reading).
    """
    if len(summary) == 0:
        return "No run of the sensitivity study."
    lines = [seeds_sentence(summary, source)]
    for method, sub in summary.groupby("method", sort=False):
        probe = sub[sub["measure"] == "modality_probe"]
        sides = {r["setting"]: side_of(r, r["chance"]) for _, r in probe.iterrows() if r["n"]}
        readable = [k for k, v in sides.items() if v == "above"]
        hidden = [k for k, v in sides.items() if v in ("within", "below")]
        parts = []
        if sides:
            parts.append(f"the probe reads the sensor above chance in {len(readable)} of {len(sides)} settings"
                         + (f"; its interval reaches chance for {'; '.join(hidden)}" if hidden else ""))
        for measure in dict.fromkeys(m for m in sub["measure"] if str(m).startswith("weighted_")):
            f1 = sub[(sub["measure"] == measure) & (sub["n"] > 0)].sort_values("estimate")
            if len(f1) > 1:
                lo, hi = f1.iloc[0], f1.iloc[-1]
                apart = hi["n"] > 1 and lo["n"] > 1 and hi["low"] > lo["high"]
                parts.append(f"{lo['label']} from {lo['estimate']:.2f} ({lo['setting']}) to {hi['estimate']:.2f} "
                             f"({hi['setting']})" + (", intervals apart" if apart else ", intervals overlapping"))
        if parts:
            lines.append(f"- **{method_label(str(method))}**: " + "; ".join(parts) + ".")
    lines.append("\nSettings are compared here only where their intervals do not overlap, a conservative reading "
                 "(the settings share seeds, so paired differences would be sharper).")
    return "\n".join(lines)


def tradeoff_display(summary: pd.DataFrame, digits: int = 3) -> pd.DataFrame:
    """:func:`tradeoff_summary` as a table to read: one row per alignment and setting."""
    if len(summary) == 0:
        return pd.DataFrame(columns=["alignment", "setting", "seeds"])
    df = summary.assign(row=summary["method"].map(lambda m: method_label(str(m))) + " · " + summary["setting"])
    table = summary_display(df.drop(columns=["method"]).rename(columns={"row": "method"}), row="method",
                            digits=digits)
    return table.rename(columns={"method": "method · setting"})
