"""The latent space drawn: UMAP panels, its measures, the adversary, and the sensitivity study.

Drawn from the tables of :mod:`xmodal.analysis` and :mod:`xmodal.report` (``latent_embedding``,
``latent_summary``, ``tradeoff_summary``, ``adversary_curves``); the measures are shown
as estimates with their intervals over seeds (seaborn).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

# The labels, sensor order and adversary quantities of every page (the report layer's).
from xmodal.analysis.tidy import methods_in, sensors_in
from xmodal.data.normalize import modality_color, modality_label
from xmodal.report.adversary import ADVERSARY_QUANTITIES
from xmodal.report.selection import method_label

from .core import CLASS_COLORS

if TYPE_CHECKING:
    import pandas as pd
    import plotly.graph_objects as go
    from matplotlib.figure import Figure

__all__ = [
    "MARKER_SYMBOLS",
    "PANELS_PER_ROW",
    "adversary_figure",
    "latent_figure",
    "latent_figure_static",
    "latent_measures_figure",
    "tradeoff_figure",
]

#: Marker of each sensor in :func:`latent_figure` coloured by class, in display order.
MARKER_SYMBOLS: tuple[str, ...] = ("circle", "diamond", "square", "triangle-up", "cross", "x")
#: Panels per row of the small multiples below and of the UMAP view.
PANELS_PER_ROW = 3


def latent_figure(emb: pd.DataFrame, class_names: Sequence[str], title: str = "") -> go.Figure:
    """Interactive plotly figure of :func:`xmodal.analysis.panels.latent_embedding`.

    One panel per method (:data:`PANELS_PER_ROW` to a row), points coloured by sensor or by
    dominant class (buttons); hover shows patch id and soft label; coloured by class, each
    sensor has its own marker (:data:`MARKER_SYMBOLS`).
    """
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    panels = list(dict.fromkeys(emb["panel"]))
    symbols = {s: MARKER_SYMBOLS[i % len(MARKER_SYMBOLS)] for i, s in enumerate(sensors_in(emb))}
    ncols = max(1, min(PANELS_PER_ROW, len(panels)))
    nrows = max(1, math.ceil(len(panels) / ncols))
    fig = make_subplots(rows=nrows, cols=ncols, subplot_titles=panels, horizontal_spacing=0.04,
                        vertical_spacing=0.08 / nrows)
    by_mod, by_cls = [], []
    classes = [c for c in class_names if c in set(emb["dominant"])]
    for j, panel in enumerate(panels, start=1):
        row, col = (j - 1) // ncols + 1, (j - 1) % ncols + 1
        sub = emb[emb["panel"] == panel]
        for mod in sensors_in(sub):
            s = sub[sub["modality"] == mod]
            fig.add_trace(go.Scatter(
                x=s["x"], y=s["y"], mode="markers", name=modality_label(mod),
                legendgroup=f"mod-{mod}", showlegend=(j == 1),
                marker=dict(size=6, color=modality_color(mod), opacity=0.75,
                            line=dict(width=0.3, color="black")),
                customdata=np.stack([s["id"], s["soft_label"], s["modality"]], -1),
                hovertemplate="%{customdata[0]} (%{customdata[2]})<br>%{customdata[1]}<extra></extra>",
            ), row=row, col=col)
            by_mod.append(len(fig.data) - 1)
        for cls in classes:
            s = sub[sub["dominant"] == cls]
            fig.add_trace(go.Scatter(
                x=s["x"], y=s["y"], mode="markers", name=cls, legendgroup=f"cls-{cls}",
                showlegend=(j == 1), visible=False,
                marker=dict(size=6, color=CLASS_COLORS.get(cls, "grey"), opacity=0.85,
                            symbol=[symbols.get(m, MARKER_SYMBOLS[0]) for m in s["modality"]],
                            line=dict(width=0.3, color="black")),
                customdata=np.stack([s["id"], s["soft_label"], s["modality"]], -1),
                hovertemplate="%{customdata[0]} (%{customdata[2]})<br>%{customdata[1]}<extra></extra>",
            ), row=row, col=col)
            by_cls.append(len(fig.data) - 1)
    n = len(fig.data)
    vis_mod = [i in by_mod for i in range(n)]
    vis_cls = [i in by_cls for i in range(n)]
    fig.update_layout(
        title=dict(text=title, font=dict(size=12), x=0.01, xanchor="left", y=0.98, yanchor="top"),
        height=120 + 380 * nrows, margin=dict(t=120, l=20, r=20, b=20), template="plotly_white",
        updatemenus=[dict(type="buttons", direction="right", x=0.0, y=1.17, xanchor="left", yanchor="bottom",
                          buttons=[dict(label="colour by modality", method="update", args=[{"visible": vis_mod}]),
                                   dict(label="colour by dominant class", method="update",
                                        args=[{"visible": vis_cls}])])],
    )
    fig.update_xaxes(showticklabels=False)
    fig.update_yaxes(showticklabels=False)
    return fig


def latent_figure_static(emb: pd.DataFrame, class_names: Sequence[str], title: str = "") -> Figure:
    """Static (matplotlib) version of :func:`latent_figure`: each panel by sensor above, by class below.

    :data:`PANELS_PER_ROW` panels to a row.
    """
    import matplotlib.pyplot as plt

    panels = list(dict.fromkeys(emb["panel"]))
    ncols = max(1, min(PANELS_PER_ROW, len(panels)))
    nrows = max(1, math.ceil(len(panels) / ncols))
    fig, axes = plt.subplots(2 * nrows, ncols, figsize=(3.6 * ncols, 7 * nrows), squeeze=False)
    for j, panel in enumerate(panels):
        r, c = 2 * (j // ncols), j % ncols
        sub = emb[emb["panel"] == panel]
        for mod in sensors_in(sub):
            s = sub[sub["modality"] == mod]
            axes[r, c].scatter(s["x"], s["y"], s=8, color=modality_color(mod), alpha=0.7,
                               label=modality_label(mod))
        for cls in class_names:
            s = sub[sub["dominant"] == cls]
            if len(s):
                axes[r + 1, c].scatter(s["x"], s["y"], s=8, color=CLASS_COLORS.get(cls, "grey"), alpha=0.85,
                                       label=cls, edgecolor="black", linewidth=0.2)
        axes[r, c].set_title(panel, fontsize=9)
        for ax in axes[r:r + 2, c]:
            ax.set_xticks([])
            ax.set_yticks([])
    for j in range(len(panels), nrows * ncols):
        r, c = 2 * (j // ncols), j % ncols
        fig.delaxes(axes[r, c])
        fig.delaxes(axes[r + 1, c])
    axes[0, 0].legend(fontsize=7)
    handles, labels = [], []
    for ax in axes[1::2].flat:
        for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
            if lab not in labels:
                handles.append(h)
                labels.append(lab)
    fig.legend(handles, labels, loc="lower center", ncol=min(9, max(len(labels), 1)), fontsize=7)
    fig.suptitle(re.sub(r"<[^>]+>", " ", title), fontsize=9)
    fig.tight_layout(rect=(0, 0.05, 1, 0.96))
    return fig


# ---------------------------------------------------------------------------------
# latent measures, the adversary, the sensitivity study (seaborn: intervals over seeds)
# ---------------------------------------------------------------------------------
def _palette(keys: Sequence[Any]) -> dict[Any, Any]:
    import seaborn as sns

    return dict(zip(keys, sns.color_palette("colorblind", max(len(keys), 1)), strict=False))


def _forest_panels(tidy: pd.DataFrame, y: str, hue: str, title: str) -> Figure:
    """One panel per measure (``label``): every ``y`` value's estimate and interval, coloured by ``hue``.

    ``tidy`` has :data:`xmodal.report.latent.SUMMARY_COLUMNS`-like columns (``label``,
    ``estimate``, ``low``, ``high``, ``n``, ``chance``) and the ``y`` and ``hue`` columns. A
    dashed line marks the chance level; a row without a value reads "not recorded".
    """
    import matplotlib.pyplot as plt
    import pandas as pd
    import seaborn as sns

    labels = list(dict.fromkeys(tidy["label"]))
    rows = list(dict.fromkeys(tidy[y]))
    hues = list(dict.fromkeys(tidy[hue]))
    palette = _palette(hues)
    ncols = max(1, min(PANELS_PER_ROW, len(labels)))
    nrows = max(1, math.ceil(len(labels) / ncols))
    dodge = 0.0 if hue == y else 0.6 / max(len(hues), 1)
    with sns.axes_style("whitegrid"), sns.plotting_context("paper"):
        top, bottom = 0.5, 0.45 if dodge else 0.0  # inches for the title and for the legend
        height = (0.32 * len(rows) + 1.2) * nrows + top + bottom
        fig, axes = plt.subplots(nrows, ncols, figsize=(3.6 * ncols, height), squeeze=False, sharey=True)
        for ax, label in zip(axes.flat, labels, strict=False):
            sub = tidy[tidy["label"] == label].reset_index(drop=True)
            pos = np.array([rows.index(v) for v in sub[y]], dtype=float)
            if dodge:
                pos += np.array([(hues.index(h) - (len(hues) - 1) / 2) * dodge for h in sub[hue]])
            drawn = sub["n"].fillna(0).to_numpy() > 0
            for i in np.flatnonzero(drawn):
                ax.hlines(pos[i], sub["low"][i], sub["high"][i], color=palette[sub[hue][i]], lw=2)
            if drawn.any():
                sns.scatterplot(x=sub["estimate"][drawn], y=pos[drawn], hue=sub[hue][drawn], palette=palette,
                                hue_order=[h for h in hues if h in set(sub[hue][drawn])], ax=ax, s=36,
                                edgecolor="black", linewidth=0.5, zorder=3, legend=False)
            for i in np.flatnonzero(~drawn):
                ax.text(0.02, pos[i], "not recorded", transform=ax.get_yaxis_transform(), fontsize=7,
                        va="center", color="grey")
            chance = pd.to_numeric(sub["chance"], errors="coerce").mean()
            if np.isfinite(chance):
                ax.axvline(chance, color="black", ls="--", lw=1)
            ax.set_title(label + (f"\n(chance {chance:.2f}, dashed)" if np.isfinite(chance) else ""), fontsize=8)
            ax.set_xlabel("")
            ax.set_yticks(range(len(rows)), [str(r) for r in rows], fontsize=7)
            ax.set_ylim(len(rows) - 0.5, -0.5)
            ax.tick_params(axis="x", labelsize=7)
        for ax in list(axes.flat)[len(labels):]:
            ax.set_visible(False)
        if dodge:
            handles = [plt.Line2D([], [], marker="o", ls="", color=palette[h], markeredgecolor="black") for h in hues]
            fig.legend(handles, [str(h) for h in hues], loc="lower center", ncol=min(len(hues), 4), fontsize=8)
        fig.suptitle(title, fontsize=9)
        fig.tight_layout(rect=(0, bottom / height, 1, 1 - top / height))
    return fig


def _seeds_phrase(summary: pd.DataFrame) -> str:
    """``"3 seeds"``, ``"1 seed"``, ``"2/3 seeds"`` from a summary's ``n`` column."""
    n = sorted({int(v) for v in summary["n"] if v})
    return f"{'/'.join(map(str, n)) or 'no'} seed{'' if n == [1] else 's'}"


def latent_measures_figure(summary: pd.DataFrame, source: str | None = None) -> Figure:
    """:func:`xmodal.report.latent.latent_summary` drawn: a panel per measure, a row per method.

    Dots are means over seeds, bars their 95% t-intervals, dashed lines the chance levels.
    """
    df = summary.assign(method=[method_label(str(m)) for m in summary["method"]])
    return _forest_panels(df, "method", "method",
                          f"The latent space per method (dots: mean over {_seeds_phrase(df)}, "
                          "bars: 95% t-interval)" + (f"\n{source}" if source else ""))


def tradeoff_figure(summary: pd.DataFrame, source: str | None = None) -> Figure:
    """:func:`xmodal.report.latent.tradeoff_summary` drawn: a panel per quantity, a row per setting.

    Colours are the alignments (method labels); dots are means over seeds, bars their 95%
    t-intervals, dashed lines the chance levels.
    """
    df = summary.assign(method=[method_label(str(m)) for m in summary["method"]])
    return _forest_panels(df, "setting", "method",
                          f"Accuracy and the latent space per setting (α: triplet weight, w: alignment weight; "
                          f"dots: mean over {_seeds_phrase(df)}, bars: 95% t-interval)"
                          + (f"\n{source}" if source else ""))


def adversary_figure(curves: pd.DataFrame, source: str | None = None) -> Figure:
    """The adversary epoch by epoch (:func:`xmodal.report.adversary.adversary_curves`).

    One panel per quantity (``L_M``, the modality classifier's training accuracy, the
    per-epoch probe's accuracy), one colour per method; lines are means over seeds, bands
    the range over seeds; the dashed line is ``ln M`` for ``L_M`` and chance for the
    accuracies. A panel says which methods did not record its quantity.
    """
    import matplotlib.pyplot as plt
    import pandas as pd
    import seaborn as sns

    methods = methods_in(curves) if len(curves) else []
    palette = _palette([method_label(m) for m in methods])
    df = curves.assign(method=[method_label(str(m)) for m in curves["method"]])
    order = [method_label(m) for m in methods]
    with sns.axes_style("whitegrid"), sns.plotting_context("paper"):
        fig, axes = plt.subplots(1, len(ADVERSARY_QUANTITIES), figsize=(4.2 * len(ADVERSARY_QUANTITIES), 3.6),
                                 squeeze=False)
        legend_done = False
        for ax, (q, label) in zip(axes[0], ADVERSARY_QUANTITIES.items(), strict=True):
            sub = df[df["quantity"] == q]
            missing = [m for m in order if m not in set(sub["method"])]
            if len(sub):
                sns.lineplot(data=sub, x="epoch", y="value", hue="method", hue_order=[m for m in order if m not in
                                                                                       missing],
                             palette=palette, estimator="mean", errorbar=("pi", 100), ax=ax, legend=not legend_done)
                legend_done = legend_done or ax.get_legend() is not None
                chance = float(pd.to_numeric(sub["chance"], errors="coerce").mean())
                ax.axhline(chance, color="black", ls="--", lw=1)
                ax.annotate("ln M" if q == "L_M" else "chance", (1.0, chance), xycoords=("axes fraction", "data"),
                            ha="right", va="bottom", fontsize=7)
            if missing or not len(sub):
                ax.text(0.5, 0.04 if len(sub) else 0.5,
                        f"not recorded for {', '.join(missing)}" if len(sub) else "not recorded",
                        transform=ax.transAxes, ha="center", fontsize=7, color="grey")
            ax.set_title(label, fontsize=8)
            ax.set_xlabel("epoch")
            ax.set_ylabel("")
            legend = ax.get_legend()
            if legend is not None:  # one legend for the figure, below the panels
                fig.legend(legend.legend_handles, [t.get_text() for t in legend.get_texts()], loc="lower center",
                           ncol=min(len(order), 5), fontsize=7)
                legend.remove()
        fig.suptitle("The modality classifier and a fresh probe during training (line: mean over seeds, band: "
                     "range over seeds)" + (f"\n{source}" if source else ""), fontsize=9)
        fig.tight_layout(rect=(0, 0.08 if fig.legends else 0, 1, 1))
    return fig
