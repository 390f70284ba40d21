"""The study's results drawn: the paper's Figures 2 and 3, the training budget, validation curves, claims.

Drawn from the tidy results table (:func:`xmodal.results.load_results`) or a table of
:mod:`xmodal.report`; the Figure 2 runs are those of
:func:`~xmodal.report.selection.final_runs`. The paper's numbers
(:data:`xmodal.report.paper.PAPER_SCORES`) are drawn as markers labelled "reported
by the paper".
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

# The run selection, labels and paper's numbers of every page (the report layer's).
from xmodal.analysis.tidy import methods_in, ok_runs, sensor_order, sensors_in
from xmodal.data.normalize import modality_color, modality_label
from xmodal.metrics import F1_THRESHOLD
from xmodal.report.paper import paper_score
from xmodal.report.selection import final_runs, method_label

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

__all__ = [
    "LINE_STYLES",
    "VERDICT_COLORS",
    "budget_figure",
    "claims_figure",
    "comparisons_figure",
    "figure2",
    "figure3",
    "validation_figure",
]

#: Line style of each sensor in :func:`figure3`, in display order (the paper: S1 dashed, S2 solid).
LINE_STYLES: tuple[tuple[str, str], ...] = (("--", "dashed"), ("-", "solid"), (":", "dotted"),
                                            ("-.", "dash-dotted"))
#: Colours of the methods in :func:`figure3`.
_METHOD_COLORS: dict[str, str] = {"baseline": "#1f77b4", "C+T+M": "#2ca02c", "C": "#9467bd", "C+M": "#8c564b",
                                  "C+T": "#e377c2"}


# ---------------------------------------------------------------------------------
# Figures 2 and 3
# ---------------------------------------------------------------------------------
def figure2(results: pd.DataFrame, source: str | None = None) -> Figure:
    """The paper's Figure 2: macro and weighted F1 per method and sensor.

    Macro F1 opaque, weighted half-transparent; bars are means over seeds with the spread
    as error bars and every run as a dot; the numbers reported by the paper are black
    outlined markers beside.
    """
    import matplotlib.pyplot as plt

    df = final_runs(results)
    methods = methods_in(df)
    sensors = sensors_in(df)
    fig, ax = plt.subplots(figsize=(max(6.0, 1.9 * len(methods)), 4.2))
    slots = [(mod, metric) for mod in sensors for metric in ("macro", "weighted")]
    width = 0.8 / max(len(slots), 1)
    for i, method in enumerate(methods):
        for j, (mod, metric) in enumerate(slots):
            x = i - 0.4 + width * (j + 0.5)
            sub = df[(df["method"] == method) & (df["modality"] == mod)][metric].dropna()
            alpha = 1.0 if metric == "macro" else 0.45
            label = f"{modality_label(mod)} {metric} F1" if i == 0 else None
            if len(sub):
                ax.bar(x, sub.mean(), width * 0.92, color=modality_color(mod), alpha=alpha, label=label,
                       yerr=sub.std() if len(sub) > 1 else None, capsize=2, ecolor="black")
                ax.scatter(np.full(len(sub), x), sub, s=9, color="black", zorder=3)
            paper = paper_score(method, mod, metric)
            if paper is not None:
                ax.scatter([x], [paper], marker="D", s=30, facecolor="white", edgecolor="black",
                           zorder=4, label="reported by the paper" if (i == 0 and j == 0) else None)
    ax.set_xticks(range(len(methods)), [method_label(m) for m in methods])
    ax.set_ylabel(f"F1 (threshold {F1_THRESHOLD:g})")
    ax.set_ylim(0, 1)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8, ncol=3, loc="upper center", bbox_to_anchor=(0.5, -0.1))
    ax.set_title("Figure 2: F1 per method and modality (bars: mean, whiskers: std over seeds, "
                 "dots: runs)" + (f"\n{source}" if source else ""), fontsize=9)
    fig.tight_layout()
    return fig


def figure3(results: pd.DataFrame, source: str | None = None,
            methods: Sequence[str] = ("baseline", "C+T+M", "C")) -> Figure:
    """The paper's Figure 3: weighted F1 against the number of training samples.

    One colour per method (the Baseline, C+T+M and C), one line style per sensor
    (:data:`LINE_STYLES`: S1 dashed, S2 solid), bands = mean ± std over seeds.
    """
    import matplotlib.pyplot as plt

    ok = ok_runs(results)
    sensors = sensors_in(ok)
    styles = {s: LINE_STYLES[i % len(LINE_STYLES)] for i, s in enumerate(sensors)}
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    for method in methods:
        color = _METHOD_COLORS.get(method, "grey")
        for mod in sensors:
            sub = ok[(ok["method"] == method) & (ok["modality"] == mod)].dropna(subset=["weighted", "n_train"])
            if sub["n_train"].nunique() < 1:
                continue
            g = sub.groupby("n_train")["weighted"].agg(["mean", "std", "count"]).sort_index()
            x = g.index.to_numpy(dtype=float)
            ax.plot(x, g["mean"], styles[mod][0], marker="o", ms=4, color=color,
                    label=f"{method_label(method)} {modality_label(mod)}")
            std = g["std"].fillna(0).to_numpy(dtype=float)
            ax.fill_between(x, g["mean"] - std, g["mean"] + std, color=color, alpha=0.12)
    ax.set_xscale("log")
    sizes = sorted({float(v) for v in ok["n_train"].dropna()})
    if sizes:
        from matplotlib.ticker import NullFormatter, ScalarFormatter

        ax.set_xticks(sizes, [f"{v:g}" for v in sizes])
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.xaxis.set_major_formatter(ScalarFormatter())
    ax.set_xlabel("training samples per modality")
    ax.set_ylabel(f"weighted F1 (threshold {F1_THRESHOLD:g})")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, ncol=2)
    legend = ", ".join(f"{modality_label(s)} {styles[s][1]}" for s in sensors)
    ax.set_title(f"Figure 3: weighted F1 vs training-set size ({legend}; band: ± std over seeds)"
                 + (f"\n{source}" if source else ""), fontsize=9)
    fig.tight_layout()
    return fig


def budget_figure(results: pd.DataFrame, longer: pd.DataFrame, method: str = "baseline", sensor: str = "s2",
                  source: str | None = None) -> Figure:
    """One size curve at the study's budget and at a longer one (seaborn: mean and ± sd over seeds)."""
    import matplotlib.pyplot as plt
    import pandas as pd
    import seaborn as sns

    frames = []
    for df in (results, longer):
        ok = ok_runs(df)
        sub = ok[(ok["method"] == method) & (ok["modality"] == sensor)].dropna(subset=["weighted", "n_train"])
        steps = sub["epochs"].astype(int).astype(str) + " epochs"
        frames.append(sub.assign(budget=steps))
    data = pd.concat(frames, ignore_index=True)
    sns.set_theme(style="whitegrid", context="paper")
    fig, ax = plt.subplots(figsize=(6.0, 3.8))
    if len(data):
        sns.lineplot(data=data, x="n_train", y="weighted", hue="budget", style="budget", markers=True,
                     errorbar="sd", ax=ax, color=modality_color(sensor))
        ax.set_xscale("log")
        sizes = sorted({float(v) for v in data["n_train"]})
        ax.set_xticks(sizes, [f"{v:g}" for v in sizes])
        ax.minorticks_off()
    ax.set_xlabel("training samples per modality")
    ax.set_ylabel(f"weighted F1 (threshold {F1_THRESHOLD:g})")
    ax.set_title(f"{method_label(method, sensor)} at two training budgets (band: ± sd over seeds)"
                 + (f"\n{source}" if source else ""), fontsize=9)
    fig.tight_layout()
    sns.reset_orig()
    return fig


def validation_figure(curves: pd.DataFrame, source: str | None = None, plateau: pd.DataFrame | None = None) -> Figure:
    """The validation curve of every Figure 2 model against the optimisation step (seaborn).

    Args:
        curves: :func:`xmodal.report.curve_summary` (mean over seeds and t-interval per epoch).
        source: which data and runs (caption).
        plateau: :func:`xmodal.report.plateau_table`: its window (the epochs the plateau check
            compares) is shaded.

    Returns:
        The matplotlib figure: one line per model, bands the 95 % t-interval over seeds.
    """
    import textwrap

    import matplotlib.pyplot as plt
    import seaborn as sns

    sns.set_theme(style="whitegrid", context="paper")
    fig, ax = plt.subplots(figsize=(7.0, 4.0))
    models = list(dict.fromkeys(curves["model"]))
    palette = dict(zip(models, sns.color_palette("tab10", len(models)), strict=True))
    if len(curves):
        sns.lineplot(data=curves, x="step", y="mean", hue="model", hue_order=models, palette=palette, marker="o",
                     markersize=4, errorbar=None, ax=ax)
        for model, g in curves.groupby("model", sort=False):
            ax.fill_between(g["step"].to_numpy(float), g["low"].to_numpy(float), g["high"].to_numpy(float),
                            color=palette[str(model)], alpha=0.15, lw=0)
        sns.move_legend(ax, "upper left", bbox_to_anchor=(1.02, 1), title=None, frameon=False)
    if plateau is not None and len(plateau) and plateau["from_step"].notna().any():
        ax.axvspan(float(plateau["from_step"].min()), float(plateau["to_step"].max()), color="0.85", alpha=0.5,
                   lw=0, zorder=0)
    ax.set_xlabel("optimisation step")
    ax.set_ylabel(f"validation weighted F1 (threshold {F1_THRESHOLD:g}),\nmean over the model's sensors")
    ax.set_title("Validation curves of the Figure 2 models", fontsize=10)
    seeds = sorted({int(n) for n in curves["n"]}) if len(curves) else []
    n_text = "/".join(map(str, seeds)) if seeds else "no"
    spread = (f"lines: mean over {n_text} seeds, bands: 95% t-interval over seeds" if seeds and max(seeds) > 1
              else f"{n_text} seed{'s' if seeds != [1] else ''}: no interval")
    caption = f"{spread}; shaded: the epochs the plateau check compares" if plateau is not None else spread
    caption = f"{caption}. Data: {source}" if source else caption
    fig.text(0.01, -0.02, "\n".join(textwrap.wrap(caption, 130)), ha="left", va="top", fontsize=7.5, color="0.3")
    fig.tight_layout()
    sns.reset_orig()
    return fig


#: Colour of each verdict in :func:`claims_figure`.
VERDICT_COLORS: dict[str, str] = {"holds": "#2ca02c", "does not hold": "#d62728", "inconclusive": "#7f7f7f",
                                  "one seed": "#bcbd22", "not measured": "#c7c7c7"}


def claims_figure(verdicts: pd.DataFrame, source: str | None = None) -> Figure:
    """A forest plot of :func:`xmodal.report.check_claims`: each claim's paired estimate and interval.

    The dotted line at 0 is "no difference"; for a non-inferiority claim a short
    dashed tick marks minus its margin. Colour = verdict (:data:`VERDICT_COLORS`).
    """
    import matplotlib.pyplot as plt
    import seaborn as sns

    df = verdicts[verdicts["n"] > 0].reset_index(drop=True)
    sns.set_theme(style="whitegrid", context="paper")
    fig, ax = plt.subplots(figsize=(7.5, 0.32 * max(len(df), 3) + 1.2))
    if len(df):
        y = np.arange(len(df))
        for verdict_name, color in VERDICT_COLORS.items():
            sel = (df["verdict"] == verdict_name).to_numpy()
            if sel.any():
                ax.hlines(y[sel], df["low"][sel], df["high"][sel], color=color, lw=2)
        sns.scatterplot(x=df["estimate"], y=y, hue=df["verdict"], palette=VERDICT_COLORS, ax=ax, s=40,
                        zorder=3, edgecolor="black", linewidth=0.5)
        for i, (kind, null) in enumerate(zip(df["kind"], df["null"], strict=True)):
            if kind == "noninferior":
                ax.plot([float(null)] * 2, [i - 0.35, i + 0.35], "k--", lw=1)
        ax.set_yticks(y, df["claim"], fontsize=7)
        ax.invert_yaxis()
        ax.legend(title="verdict", fontsize=7, title_fontsize=7, loc="lower right")
    ax.axvline(0, color="black", ls=":", lw=1)
    ax.set_xlabel("paired difference over seeds (estimate and 95% interval)", fontsize=8)
    n = sorted({int(v) for v in df["n"]}) if len(df) else []
    ax.set_title("The paper's claims on this study" + (f" (n = {', '.join(map(str, n))} seeds)" if n else "")
                 + (f"\n{source}" if source else ""), fontsize=9)
    fig.tight_layout()
    sns.reset_orig()
    return fig


def comparisons_figure(table: pd.DataFrame, source: str | None = None, target: float | None = None) -> Figure:
    """A forest plot of :func:`xmodal.report.paired_comparisons`: every method-vs-method difference.

    One row per comparison, one colour per sensor; the coloured bar is the 95% interval
    (seeds and test scenes), the dotted line 0. With ``target``, a thin grey bar of
    half-width ``target`` (what the study was designed for) sits under each estimate: a
    coloured bar longer than its grey one is wider than designed.
    """
    import matplotlib.pyplot as plt
    import seaborn as sns

    df = table.dropna(subset=["estimate"]).reset_index(drop=True)
    sensors = sensor_order(df["sensor"]) if len(df) else []
    comps = list(dict.fromkeys(df["comparison"]))
    sns.set_theme(style="whitegrid", context="paper")
    fig, ax = plt.subplots(figsize=(7.5, 0.36 * max(len(comps), 3) + 1.3))
    if len(df):
        offset = {s: (i - (len(sensors) - 1) / 2) * 0.25 for i, s in enumerate(sensors)}
        palette = {s: modality_color(s) for s in sensors}
        y = np.array([comps.index(c) + offset[s] for c, s in zip(df["comparison"], df["sensor"], strict=True)])
        for s in sensors:
            sel = (df["sensor"] == s).to_numpy()
            ax.hlines(y[sel], df["low"][sel], df["high"][sel], color=palette[s], lw=2)
        sns.scatterplot(x=df["estimate"], y=y, hue=df["sensor"].map(modality_label),
                        palette={modality_label(s): c for s, c in palette.items()}, ax=ax, s=36, zorder=3,
                        edgecolor="black", linewidth=0.5)
        if target is not None:
            for i, est in enumerate(df["estimate"]):
                ax.plot([est - target, est + target], [y[i] + 0.09] * 2, color="0.55", lw=1)
        ax.set_yticks(np.arange(len(comps)), comps, fontsize=7)
        ax.invert_yaxis()
        ax.legend(title="sensor", fontsize=7, title_fontsize=7, loc="lower right")
    ax.axvline(0, color="black", ls=":", lw=1)
    what = "weighted F1 difference (estimate and 95% interval: seeds and test scenes)"
    if target is not None:
        what += f"; grey: ±{target:.2f}"
    ax.set_xlabel(what, fontsize=8)
    n = sorted({int(v) for v in df["n"]}) if len(df) else []
    ax.set_title("Figure 2's comparisons, method against method" + (f" (n = {', '.join(map(str, n))} seeds)" if n
                                                                    else "") + (f"\n{source}" if source else ""),
                 fontsize=9)
    fig.tight_layout()
    sns.reset_orig()
    return fig
