"""Figures and tables of the clouds chapter: accuracy and consistency against S2 cloud cover.

Draws the tables of :mod:`xmodal.clouds` (:func:`~xmodal.clouds.cover_table` and the
``sensors`` profile's :func:`~xmodal.clouds.sensor_scores` /
:func:`~xmodal.clouds.pair_homogeneity`); computes nothing but means and intervals.
Its tables go on a page through :func:`xmodal.plots.show_table`.
Seeds are the spread: every line is the mean over seeds with its 95 % t-interval
(:func:`xmodal.analysis.stats.paired_difference` of the values, drawn by seaborn's
``errorbar``); with one seed there is no interval and none is drawn.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Final

import numpy as np
import pandas as pd

from xmodal.analysis.stats import CONFIDENCE, paired_difference
from xmodal.clouds import BASELINE_MODEL, FALLBACK, FALLBACK_THRESHOLD, summarize
from xmodal.data.clouds import CLOUD_FREE_SENSOR, CLOUDED_SENSOR
from xmodal.data.normalize import MODALITIES

__all__ = [
    "SYSTEM_COLORS",
    "claims_table",
    "consistency_figure",
    "f1_against_cover",
    "line_label",
    "lines",
    "pairs_table",
    "sensors_differences",
    "sensors_table",
    "summary_table",
    "threshold_curve_figure",
    "threshold_summary",
    "tradeoff_figure",
    "training_clouds_figure",
]

#: Colour of each system: the radar, the optical sensor, the fallback between them, RGB.
SYSTEM_COLORS: Final[dict[str, str]] = {**{m: spec.color for m, spec in MODALITIES.items()}, FALLBACK: "#7b3294"}
_SENSOR_NAMES: Final[dict[str, str]] = {m: spec.label for m, spec in MODALITIES.items()}
_METRIC_NAMES: Final[dict[str, str]] = {
    "macro": "macro F1", "weighted": "weighted F1", "homogeneity": "homogeneity s (eq. 5) between S1 and S2 answers",
    "consistency": "agreement with the clear-sky answer", "top_change": "share of patches whose dominant class changed",
    "switch_consistency": "agreement with the clear-sky answer, switched patches",
    "switch_top_change": "dominant class changed, switched patches", "switch_share": "share answered from S1",
}


def _sensor_rank(name: Any) -> tuple[int, str]:
    """Display order of sensors (S1, S2, then the others), by key or display name."""
    first = (CLOUD_FREE_SENSOR, CLOUDED_SENSOR)
    order = [*first, *(m for m in MODALITIES if m not in first)]
    names = [_SENSOR_NAMES[k] for k in order]
    key = str(name)
    return (order.index(key) if key in order else names.index(key) if key in names else len(order), key)


def _t_interval(values: Any) -> tuple[float, float]:
    """Seaborn ``errorbar``: the 95 % t-interval of the mean over seeds (a point with one seed)."""
    d = paired_difference(np.asarray(values, dtype=np.float64), confidence=CONFIDENCE)
    if not math.isfinite(d.low):
        return d.estimate, d.estimate
    return d.low, d.high


def line_label(model: str, system: str) -> str:
    """``"S2 Baseline"``, ``"C+T+M fed S1"``, ``"Fallback, two Baselines"``, ``"Fallback, one C+T+M"``."""
    if system == FALLBACK:
        return "Fallback, two Baselines" if model == BASELINE_MODEL else f"Fallback, one {model}"
    sensor = _SENSOR_NAMES.get(system, system.upper())
    return f"{sensor} Baseline" if model == BASELINE_MODEL else f"{model} fed {sensor}"


def lines(table: pd.DataFrame, model: str = "C+T+M") -> pd.DataFrame:
    """The rows of the chapter's six lines, with a ``line`` column (:func:`line_label`), in drawing order.

    The lines: S2 and S1 of the Baseline and of ``model``, and the two fallbacks.
    """
    systems = [CLOUDED_SENSOR, CLOUD_FREE_SENSOR, FALLBACK]
    keep = table[table["model"].isin([BASELINE_MODEL, model]) & table["system"].isin(systems)]
    out = keep.assign(line=[line_label(m, s) for m, s in zip(keep["model"], keep["system"], strict=True)])
    order = {line_label(m, s): i for i, (s, m) in enumerate(
        (s, m) for s in (CLOUDED_SENSOR, CLOUD_FREE_SENSOR, FALLBACK) for m in (BASELINE_MODEL, model))}
    out = out.assign(_o=out["line"].map(order)).sort_values(["_o", "cover", "seed"])
    return out.drop(columns="_o")


def _styles(labels: Sequence[str], model: str) -> tuple[dict[str, str], dict[str, Any], dict[str, float]]:
    """Colour, dashes and width of each line: sensor by colour, Baseline dashed, fallbacks thick."""
    colors, dashes, widths = {}, {}, {}
    for system in (CLOUDED_SENSOR, CLOUD_FREE_SENSOR, FALLBACK):
        for m in (BASELINE_MODEL, model):
            name = line_label(m, system)
            colors[name] = SYSTEM_COLORS[system]
            dashes[name] = (4, 2) if m == BASELINE_MODEL else ""
            widths[name] = 2.6 if system == FALLBACK else 1.5
    return ({k: colors[k] for k in labels}, {k: dashes[k] for k in labels}, {k: widths[k] for k in labels})


def _cover_axis(ax: Any, covers: Sequence[float]) -> None:
    ax.set_xticks(list(covers))
    ax.set_xticklabels([f"{c:.0%}" for c in covers])
    ax.set_xlabel("S2 thick-cloud cover of the test patches")


def _caption(fig: Any, source: str | None, n_seeds: int) -> None:
    spread = (f"lines: mean over {n_seeds} seeds, bands: 95% t-interval over seeds" if n_seeds > 1
              else "one seed: no interval")
    text = f"{spread}. Data: {source}" if source else spread
    import textwrap

    fig.text(0.01, -0.02, "\n".join(textwrap.wrap(text, 150)), ha="left", va="top", fontsize=7.5, color="0.3")


def f1_against_cover(
    table: pd.DataFrame,
    model: str = "C+T+M",
    *,
    metrics: Sequence[str] = ("weighted", "macro"),
    threshold: float | None = None,
    source: str | None = None,
) -> Any:
    """F1 against S2 cloud cover for the six lines of the chapter, one panel per metric.

    Args:
        table: :func:`xmodal.clouds.cover_table`.
        model: the cross-modal model beside the Baselines.
        metrics: F1 averages, one panel each.
        threshold: the fallback's threshold, named in the title.
        source: which data the figure shows (caption).

    Returns:
        The matplotlib figure.
    """
    import matplotlib.pyplot as plt
    import seaborn as sns

    df = lines(table, model)
    labels = list(dict.fromkeys(df["line"]))
    colors, dashes, widths = _styles(labels, model)
    covers = sorted(set(df["cover"]))
    fig, axes = plt.subplots(1, len(metrics), figsize=(5.2 * len(metrics), 4.2), squeeze=False)
    for ax, metric in zip(axes[0], metrics, strict=True):
        sns.lineplot(data=df, x="cover", y=metric, hue="line", style="line", hue_order=labels, style_order=labels,
                     palette=colors, dashes=dashes, markers=True, errorbar=_t_interval, ax=ax,
                     legend=ax is axes[0][-1])
        for line in ax.get_lines():
            if line.get_label() in widths:
                line.set_linewidth(widths[line.get_label()])
        _cover_axis(ax, covers)
        ax.set_ylim(0, 1)
        ax.set_ylabel(_METRIC_NAMES.get(metric, metric))
        ax.grid(alpha=0.3)
    if axes[0][-1].get_legend() is not None:
        sns.move_legend(axes[0][-1], "upper left", bbox_to_anchor=(1.02, 1), title=None, frameon=False)
    rule = f" (fallback: S1 from {threshold:.0%} cover per patch)" if threshold is not None else ""
    fig.suptitle(f"Accuracy as clouds cover S2{rule}", fontsize=11)
    _caption(fig, source, df["seed"].nunique())
    fig.tight_layout()
    return fig


def consistency_figure(table: pd.DataFrame, model: str = "C+T+M", *, source: str | None = None) -> Any:
    """How the answers of the two fallback systems hold together as the clouds thicken.

    Three panels against cover, two lines each (two Baselines, one ``model``): the
    homogeneity of eq. (5) between the S1 and S2 answers (how much the answer would
    change if the system switched now), the agreement of the fallback's answer with the
    system's clear-sky answer (histogram intersection), and the share of patches whose
    dominant class changed from the clear-sky answer.
    """
    import matplotlib.pyplot as plt
    import seaborn as sns

    df = lines(table, model)
    df = df[df["system"] == FALLBACK]
    labels = list(dict.fromkeys(df["line"]))
    colors, dashes, _ = _styles(labels, model)
    colors = {k: ("#7f7f7f" if "Baselines" in k else SYSTEM_COLORS[FALLBACK]) for k in labels}
    covers = sorted(set(df["cover"]))
    panels = (("homogeneity", (0, 1)), ("consistency", (0, 1)), ("top_change", (0, 1)))
    fig, axes = plt.subplots(1, 3, figsize=(14, 4.0))
    for ax, (metric, ylim) in zip(axes, panels, strict=True):
        sns.lineplot(data=df, x="cover", y=metric, hue="line", style="line", hue_order=labels, style_order=labels,
                     palette=colors, dashes=dashes, markers=True, errorbar=_t_interval, ax=ax,
                     legend=ax is axes[-1])
        _cover_axis(ax, covers)
        ax.set_ylim(*ylim)
        ax.set_ylabel(_METRIC_NAMES[metric], fontsize=9)
        ax.grid(alpha=0.3)
    if axes[-1].get_legend() is not None:
        sns.move_legend(axes[-1], "upper left", bbox_to_anchor=(1.02, 1), title=None, frameon=False)
    fig.suptitle("Consistency of the fallback systems' answers", fontsize=11)
    _caption(fig, source, df["seed"].nunique())
    fig.tight_layout()
    return fig


def tradeoff_figure(table: pd.DataFrame, model: str = "C+T+M", *, source: str | None = None) -> Any:
    """Accuracy against consistency of the two fallback systems: one point per seed and cover.

    x: agreement with the clear-sky answer; y: weighted F1; colour: the system; marker
    size: the cover. Up and right is better on both.
    """
    import matplotlib.pyplot as plt
    import seaborn as sns

    df = lines(table, model)
    df = df[df["system"] == FALLBACK]
    labels = list(dict.fromkeys(df["line"]))
    colors = {k: ("#7f7f7f" if "Baselines" in k else SYSTEM_COLORS[FALLBACK]) for k in labels}
    fig, ax = plt.subplots(figsize=(6.4, 4.6))
    df = df.assign(system=df["line"])
    df["S2 cloud cover"] = [f"{c:.0%}" for c in df["cover"]]
    sns.scatterplot(data=df, x="consistency", y="weighted", hue="system", hue_order=labels, palette=colors,
                    style="S2 cloud cover", s=60, alpha=0.85, ax=ax)
    ax.set_xlim(0, 1.02)
    ax.set_ylim(0, 1)
    ax.set_xlabel(_METRIC_NAMES["consistency"])
    ax.set_ylabel("weighted F1")
    ax.grid(alpha=0.3)
    sns.move_legend(ax, "upper left", bbox_to_anchor=(1.02, 1), frameon=False)
    ax.set_title("Fallback systems: accuracy against consistency (a point per seed and cover)", fontsize=10)
    _caption(fig, source, df["seed"].nunique())
    fig.tight_layout()
    return fig


def threshold_curve_figure(
    curve: pd.DataFrame,
    chosen: float,
    *,
    hand_set: float | None = FALLBACK_THRESHOLD,
    source: str | None = None,
) -> Any:
    """The validation curve of the fallback threshold: the fallback's weighted F1 on the validation patches.

    One line per fallback system (mean over seeds, band: 95 % t-interval), the pooled mean the
    threshold is chosen on (black), the chosen threshold (solid vertical) and the hand-set one
    (dotted).

    Args:
        curve: :attr:`xmodal.clouds.CloudEvaluation.threshold_curve` (``threshold, model, seed,
            weighted``: per seed the mean over the covers).
        chosen: the threshold chosen on this curve.
        hand_set: the hand-set threshold to mark (None: not marked).
        source: which data the figure shows (caption).

    Returns:
        The matplotlib figure.
    """
    import matplotlib.pyplot as plt
    import seaborn as sns

    df = curve.assign(system=[line_label(str(m), FALLBACK) for m in curve["model"]])
    base = line_label(BASELINE_MODEL, FALLBACK)
    cross = sorted(set(df["system"]) - {base})
    labels = [base, *cross] if base in set(df["system"]) else cross
    palette = sns.color_palette("flare", max(len(cross), 1))
    colors = {k: palette[cross.index(k)] if k in cross else "#7f7f7f" for k in labels}
    fig, ax = plt.subplots(figsize=(6.6, 4.2))
    if len(df):
        sns.lineplot(data=df, x="threshold", y="weighted", hue="system", hue_order=labels, palette=colors,
                     errorbar=_t_interval, marker="o", markersize=4, ax=ax)
        pooled = df.groupby("threshold", sort=True)["weighted"].mean()
        ax.plot(pooled.index, pooled.to_numpy(), color="black", lw=2, label="pooled (what the choice maximises)")
    ax.axvline(chosen, color="black", lw=1.2, label=f"chosen: {chosen:.0%}")
    if hand_set is not None and round(hand_set, 6) != round(chosen, 6):
        ax.axvline(hand_set, color="0.4", lw=1.2, ls=":", label=f"hand-set: {hand_set:.0%}")
    ticks = [t for t in sorted(set(df["threshold"])) if round(t * 100) % 10 == 0] if len(df) else [chosen]
    ax.set_xticks(ticks, [f"{t:.0%}" for t in ticks])
    ax.set_xlabel("fallback threshold: patches at least this cloudy are answered from S1")
    ax.set_ylabel("fallback weighted F1, validation patches")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1), frameon=False, fontsize=8)
    ax.set_title("Choosing the threshold on the validation scenes (mean over the covers)", fontsize=10)
    _caption(fig, source, int(df["seed"].nunique()) if len(df) else 0)
    fig.tight_layout()
    return fig


def _cell(mean: float, low: float, high: float, n: int) -> str:
    if not math.isfinite(mean):
        return "–"
    if n < 2 or not math.isfinite(low):
        return f"{mean:.3f}"
    return f"{mean:.3f} [{low:.3f}, {high:.3f}]"


def summary_table(table: pd.DataFrame, model: str = "C+T+M", metric: str = "weighted") -> pd.DataFrame:
    """One row per line of the chapter, one column per cover: mean over seeds [95 % t-interval]."""
    df = lines(table, model)
    s = summarize(df.drop(columns="line"), (metric,))
    s = s.assign(line=[line_label(m, sy) for m, sy in zip(s["model"], s["system"], strict=True)])
    s = s.assign(cell=[_cell(*v) for v in zip(s["mean"], s["low"], s["high"], s["n"], strict=True)])
    wide = s.pivot(index="line", columns="cover", values="cell")
    wide = wide.reindex([x for x in dict.fromkeys(df["line"]) if x in wide.index])
    wide.columns = [f"cover {c:.0%}" for c in wide.columns]
    return wide.reset_index().rename(columns={"line": _METRIC_NAMES.get(metric, metric)})


def threshold_summary(thresholds: pd.DataFrame, model: str = "C+T+M", metric: str = "weighted") -> pd.DataFrame:
    """Fallback ``metric`` per threshold and cover (:func:`xmodal.clouds.threshold_table`), mean [interval]."""
    rows = []
    df = thresholds[thresholds["model"].isin([BASELINE_MODEL, model])]
    for (t, m, c), g in df.groupby(["threshold", "model", "cover"], sort=True):
        d = paired_difference(g[metric].to_numpy(np.float64))
        rows.append({"threshold": t, "system": line_label(str(m), FALLBACK), "cover": float(c),  # type: ignore[arg-type]
                     "cell": f"{_cell(d.estimate, d.low, d.high, d.n)} ({g['switch_share'].mean():.0%} S1)"})
    wide = pd.DataFrame(rows).pivot_table(index=["threshold", "system"], columns="cover", values="cell",
                                          aggfunc="first")
    wide.columns = [f"cover {c:.0%}" for c in wide.columns]
    return wide.reset_index()


def claims_table(claims: pd.DataFrame) -> pd.DataFrame:
    """The claims of :func:`xmodal.clouds.fallback_claims` for display: claim, difference [interval], verdict."""
    cells = [_cell(e, lo, hi, n) for e, lo, hi, n in zip(claims["estimate"], claims["low"], claims["high"],
                                                        claims["n"], strict=True)]
    return pd.DataFrame({"claim": claims["claim"], "difference (mean over seeds) [95% interval]": cells,
                         "seeds": claims["n"].astype(int), "p (Holm)": claims["p_holm"],
                         "verdict": claims["verdict"]})


def sensors_table(scores: pd.DataFrame, metric: str = "weighted") -> pd.DataFrame:
    """F1 per model (rows) and sensor (columns) of :func:`xmodal.clouds.sensor_scores`: mean [interval]."""
    rows = []
    for (model, sensor), g in scores.groupby(["model", "sensor"], sort=True):
        d = paired_difference(g[metric].to_numpy(np.float64))
        rows.append({"model": model, "sensor": _SENSOR_NAMES.get(str(sensor), str(sensor)),
                     "cell": _cell(d.estimate, d.low, d.high, d.n)})
    wide = pd.DataFrame(rows).pivot(index="model", columns="sensor", values="cell").fillna("–")
    wide = wide[sorted(wide.columns, key=_sensor_rank)]
    return wide.reset_index().rename(columns={"model": _METRIC_NAMES.get(metric, metric)})


def pairs_table(hom: pd.DataFrame) -> pd.DataFrame:
    """Homogeneity per model (rows) and pair of sensors (columns) of :func:`xmodal.clouds.pair_homogeneity`."""
    rows = []
    for (model, pair), g in hom.groupby(["model", "pair"], sort=True):
        d = paired_difference(g["homogeneity"].to_numpy(np.float64))
        name = " – ".join(_SENSOR_NAMES.get(p, p) for p in str(pair).split("|"))
        rows.append({"model": model, "pair": name, "cell": _cell(d.estimate, d.low, d.high, d.n)})
    wide = pd.DataFrame(rows).pivot(index="model", columns="pair", values="cell").fillna("–")
    wide = wide[sorted(wide.columns, key=lambda p: [_sensor_rank(x) for x in str(p).split(" – ")])]
    return wide.reset_index().rename(columns={"model": "homogeneity s (eq. 5)"})


def training_clouds_figure(
    clear: pd.DataFrame,
    cloudy_trained: pd.DataFrame,
    models: Sequence[str] = (BASELINE_MODEL, "C+T+M", "C+T+M (s1+s2+rgb)"),
    *,
    metric: str = "weighted",
    source: str | None = None,
) -> Any:
    """S2 alone and the fallback against cover, for models trained on clear and on cloudy S2.

    Two panels (S2 alone, the fallback); colour: the model; line style: the training data.

    Args:
        clear: :func:`xmodal.clouds.cover_table` of the study trained on clear S2 (``default``).
        cloudy_trained: the same of the study trained with cloudy S2 (``sensors``).
        models: the models shown, those present in either table.
        metric: the F1 average.
        source: which data the figure shows (caption).
    """
    import matplotlib.pyplot as plt
    import seaborn as sns

    parts = [t[t["model"].isin(models) & t["system"].isin([CLOUDED_SENSOR, FALLBACK])].assign(training=name)
             for name, t in (("trained on clear S2", clear), ("trained with cloudy S2", cloudy_trained))]
    df = pd.concat(parts, ignore_index=True)
    present = [m for m in models if m in set(df["model"])]
    palette = dict(zip(present, ["#7f7f7f", SYSTEM_COLORS[FALLBACK], "#e08214", "#1b7837"], strict=False))
    covers = sorted(set(df["cover"]))
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    for ax, system, title in ((axes[0], CLOUDED_SENSOR, "S2 alone"), (axes[1], FALLBACK, "the fallback to S1")):
        sub = df[df["system"] == system]
        sns.lineplot(data=sub, x="cover", y=metric, hue="model", style="training", hue_order=present,
                     style_order=["trained on clear S2", "trained with cloudy S2"], palette=palette, markers=True,
                     errorbar=_t_interval, ax=ax, legend=ax is axes[1])
        _cover_axis(ax, covers)
        ax.set_ylim(0, 1)
        ax.set_ylabel(_METRIC_NAMES.get(metric, metric))
        ax.set_title(title, fontsize=10)
        ax.grid(alpha=0.3)
    if axes[1].get_legend() is not None:
        sns.move_legend(axes[1], "upper left", bbox_to_anchor=(1.02, 1), frameon=False)
    fig.suptitle("Does training with cloudy S2 help?", fontsize=11)
    _caption(fig, source, df["seed"].nunique())
    fig.tight_layout()
    return fig


def sensors_differences(
    scores: pd.DataFrame,
    hom: pd.DataFrame,
    model: str = "C+T+M (s1+s2+rgb)",
    reference: str = BASELINE_MODEL,
    metric: str = "weighted",
) -> pd.DataFrame:
    """``model`` minus ``reference`` per sensor (F1) and per pair of sensors (homogeneity), paired by seed."""
    rows = []
    for sensor in sorted(set(scores.loc[scores["model"] == model, "sensor"])):
        a = scores[(scores["model"] == model) & (scores["sensor"] == sensor)].set_index("seed")[metric]
        b = scores[(scores["model"] == reference) & (scores["sensor"] == sensor)].set_index("seed")[metric]
        d = paired_difference(a, b)
        rows.append({"score": f"{_METRIC_NAMES.get(metric, metric)} on {_SENSOR_NAMES.get(sensor, sensor)}",
                     "difference [95% interval]": _cell(d.estimate, d.low, d.high, d.n), "seeds": d.n})
    for pair in sorted(set(hom.loc[hom["model"] == model, "pair"])):
        a = hom[(hom["model"] == model) & (hom["pair"] == pair)].set_index("seed")["homogeneity"]
        b = hom[(hom["model"] == reference) & (hom["pair"] == pair)].set_index("seed")["homogeneity"]
        d = paired_difference(a, b)
        name = " – ".join(_SENSOR_NAMES.get(p, p) for p in str(pair).split("|"))
        rows.append({"score": f"homogeneity {name}", "difference [95% interval]": _cell(d.estimate, d.low, d.high, d.n),
                     "seeds": d.n})
    out = pd.DataFrame(rows, columns=["score", "difference [95% interval]", "seeds"])
    return out.rename(columns={"difference [95% interval]": f"{model} − {reference} [95% interval]"})

