"""Study-wide figures of the book: they only draw.

Every figure is drawn from a table (the tidy results table of
:func:`xmodal.results.load_results`, or a table of :mod:`xmodal.report`), from
the synthetic generator's parameters, or from patches read through the data layer
(:func:`xmodal.data.layout.read_patch`). The statistics and tables themselves live in
:mod:`xmodal.analysis` and :mod:`xmodal.report`; figures of a single run (shown by the experiment notebook)
in :mod:`xmodal.runplots`.

Sensors are never named here: the figures draw the sensors their tables hold, with the
labels and colours of the data layer (:class:`xmodal.data.normalize.ModalitySpec`). The
paper's numbers (:data:`xmodal.report.paper.PAPER_SCORES`) are drawn as markers
labelled "reported by the paper".
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from xmodal.analysis.tidy import methods_in, ok_runs, sensor_order, sensors_in
from xmodal.data.normalize import S2_BANDS, SENSOR_BANDS, clean, modality_color, modality_label, modality_spec
from xmodal.metrics import F1_THRESHOLD
from xmodal.report.paper import paper_score
from xmodal.report.selection import final_runs, method_label

if TYPE_CHECKING:
    import pandas as pd
    import plotly.graph_objects as go
    from IPython.display import HTML
    from matplotlib.figure import Figure
    from pandas.io.formats.style import Styler

__all__ = [
    "CLASS_COLORS",
    "LINE_STYLES",
    "PANELS_PER_ROW",
    "MARKER_SYMBOLS",
    "adversary_figure",
    "architecture_figure",
    "claims_figure",
    "class_frequency_figure",
    "figure2",
    "figure3",
    "grl_schedule_figure",
    "latent_figure",
    "latent_figure_static",
    "latent_measures_figure",
    "patch_gallery",
    "plotly_html",
    "show_plotly",
    "show_table",
    "signature_figure",
    "soft_label_example",
    "tradeoff_figure",
    "triplet_figure",
]

#: Colours of the simplified land-cover classes (those of the IEEE GRSS DFC2020).
CLASS_COLORS: dict[str, str] = {
    "Forest": "#009900", "Shrubland": "#c6b044", "Savanna": "#fbff13", "Grassland": "#b6ff05",
    "Wetland": "#27ff87", "Cropland": "#c24f44", "Urban": "#a5a5a5", "Snow/Ice": "#69fff8",
    "Barren": "#f9ffa4", "Water": "#1c0dff",
}
#: Line style of each sensor in :func:`figure3`, in display order (the paper: S1 dashed, S2 solid).
LINE_STYLES: tuple[tuple[str, str], ...] = (("--", "dashed"), ("-", "solid"), (":", "dotted"),
                                            ("-.", "dash-dotted"))
#: Marker of each sensor in :func:`latent_figure` coloured by class, in display order.
MARKER_SYMBOLS: tuple[str, ...] = ("circle", "diamond", "square", "triangle-up", "cross", "x")
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


#: Colour of each verdict in :func:`claims_figure`.
VERDICT_COLORS: dict[str, str] = {"holds": "#2ca02c", "does not hold": "#d62728", "inconclusive": "#7f7f7f",
                                  "one seed": "#bcbd22", "not measured": "#c7c7c7"}


def claims_figure(verdicts: pd.DataFrame, source: str | None = None) -> Figure:
    """A forest plot of :func:`xmodal.report.claims.check_claims`: each claim's paired estimate and interval.

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
    """A forest plot of :func:`xmodal.report.comparisons.paired_comparisons`: every method-vs-method difference.

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


# ---------------------------------------------------------------------------------
# data
# ---------------------------------------------------------------------------------
def _stretch(img: np.ndarray, lo: float = 2, hi: float = 98) -> np.ndarray:
    a = np.nan_to_num(img.astype(np.float64))
    p0, p1 = np.percentile(a, [lo, hi])
    return np.clip((a - p0) / (p1 - p0 + 1e-9), 0, 1)


def _lc_rgb(lc: np.ndarray) -> np.ndarray:
    """Simplified land-cover map (from the IGBP band) as an RGB image."""
    from matplotlib.colors import to_rgb

    from xmodal.data.labels import SIMPLE_CLASS_NAMES, simplify

    simple = simplify(lc[0] if lc.ndim == 3 else lc)
    lut = np.zeros((len(SIMPLE_CLASS_NAMES) + 1, 3))
    for i, name in enumerate(SIMPLE_CLASS_NAMES, start=1):
        lut[i] = to_rgb(CLASS_COLORS[name])
    return lut[simple]


def patch_gallery(root: str | os.PathLike[str], ids: Sequence[str], sensors: Sequence[str],
                  source: str | None = None) -> Figure:
    """The patches ``ids`` seen by each of ``sensors``, and their land-cover map, one row per patch.

    Each sensor is shown as its :attr:`~xmodal.data.normalize.ModalitySpec.views` say (S1: VV
    and VH in dB; S2: true colour B04-B03-B02 and false colour B08-B04-B03), from the raw
    GeoTIFFs read through :func:`xmodal.data.layout.read_patch`.

    Raises:
        ValueError: an unknown sensor or patch id (the message names it).
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    from xmodal.data.labels import SIMPLE_CLASS_NAMES, simplify
    from xmodal.data.layout import LAND_COVER, read_patch

    specs = [modality_spec(s) for s in sensor_order(sensors)]
    cols = [f"{spec.label} {title}" for spec in specs for title, _ in spec.views] + ["land cover"]
    fig, axes = plt.subplots(len(ids), len(cols), figsize=(2.2 * len(cols), 2.2 * len(ids)), squeeze=False)
    present: set[str] = set()
    for r, pid in enumerate(ids):
        files: dict[str, np.ndarray] = {}
        imgs = []
        for spec in specs:
            if spec.sensor not in files:
                files[spec.sensor] = read_patch(root, pid, spec.sensor)
            arr = files[spec.sensor]
            for _, bands in spec.views:
                idx = [SENSOR_BANDS[spec.sensor].index(b) for b in bands]
                imgs.append(clean(spec.sensor, arr[idx[0]]) if len(idx) == 1
                            else _stretch(np.stack([arr[i].astype(np.float64) for i in idx], -1)))
        lc = read_patch(root, pid, LAND_COVER)
        imgs.append(_lc_rgb(lc))
        present |= {SIMPLE_CLASS_NAMES[c - 1] for c in np.unique(simplify(lc[0])) if c > 0}
        for c, img in enumerate(imgs):
            ax = axes[r, c]
            ax.imshow(img, cmap="gray" if img.ndim == 2 else None, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(cols[c], fontsize=9)
        axes[r, 0].set_ylabel(pid.replace("ROIs", "").replace("_", " "), fontsize=7)
    handles = [Patch(color=CLASS_COLORS[n], label=n) for n in SIMPLE_CLASS_NAMES if n in present]
    fig.legend(handles=handles, loc="lower center", ncol=min(6, max(len(handles), 1)), fontsize=8)
    fig.suptitle("Aligned patches" + (f" — {source}" if source else ""), fontsize=9)
    fig.tight_layout(rect=(0, 0.06, 1, 0.97))
    return fig


def soft_label_example(root: str | os.PathLike[str], patch_id: str,
                       scheme: str = "dfc9") -> tuple[Figure, pd.DataFrame]:
    """How one land-cover map becomes a soft label.

    The map, its class histogram, and the classes that count as present for F1 (share
    above the threshold).

    Returns:
        ``(figure, table)``: the table is :func:`xmodal.report.data_tables.soft_label_table`
        (one row per class with its pixel count, share and whether it counts for F1).
    """
    import matplotlib.pyplot as plt

    from xmodal.data.layout import LAND_COVER, read_patch
    from xmodal.report.data_tables import soft_label_table

    lc = read_patch(root, patch_id, LAND_COVER)
    table = soft_label_table(lc, scheme)
    names = list(table["class"])
    fig, (a0, a1) = plt.subplots(1, 2, figsize=(8.5, 3.2), gridspec_kw={"width_ratios": [1, 1.6]})
    a0.imshow(_lc_rgb(lc), interpolation="nearest")
    a0.set_title(f"IGBP map of {patch_id}\n(simplified classes)", fontsize=8)
    a0.set_xticks([])
    a0.set_yticks([])
    a1.bar(names, table["soft label"], color=[CLASS_COLORS[n] for n in names], edgecolor="black")
    a1.axhline(F1_THRESHOLD, color="black", ls=":", lw=1)
    a1.text(len(names) - 0.5, F1_THRESHOLD + 0.01, f"F1 threshold {F1_THRESHOLD:g}", ha="right", fontsize=7)
    a1.set_ylabel("share of pixels = soft label")
    a1.set_ylim(0, 1)
    a1.tick_params(axis="x", rotation=45, labelsize=8)
    a1.set_title(f"soft label ({scheme})", fontsize=8)
    fig.tight_layout()
    return fig, table


def class_frequency_figure(table: pd.DataFrame, title: str = "") -> Figure:
    """Class frequencies of :func:`xmodal.report.data_tables.class_frequency_table`.

    One bar per column (present in a patch, counts for F1, mean share of pixels) and class.
    """
    import matplotlib.pyplot as plt

    names = list(table["class"])
    columns = [c for c in table.columns if c != "class"]
    x = np.arange(len(names))
    fig, ax = plt.subplots(figsize=(7.5, 3.4))
    w = 0.81 / max(len(columns), 1)
    colors = ("#9ecae1", "#3182bd", "#08519c")
    for j, col in enumerate(columns):
        color = colors[j % len(colors)]
        ax.bar(x + (j - (len(columns) - 1) / 2) * w, table[col], w, label=col, color=color)
    ax.set_xticks(x, names, rotation=45, fontsize=8)
    ax.set_ylabel("fraction of patches / pixels")
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return fig


def signature_figure(params: Any) -> Figure:
    """The synthetic data's class signatures.

    S2 mean reflectance per band and S1 mean backscatter (VV against VH, with the texture
    standard deviation), as the generator's parameters give them.
    """
    import matplotlib.pyplot as plt

    sig = params.signature_table()
    bs = params.backscatter_table()
    fig, (a0, a1) = plt.subplots(1, 2, figsize=(11, 3.8), gridspec_kw={"width_ratios": [1.6, 1]})
    for row in sig:
        name = row["class"]
        a0.plot(S2_BANDS, [row[b] for b in S2_BANDS], marker="o", ms=3, color=CLASS_COLORS.get(name, "grey"),
                label=name, path_effects=None)
    a0.set_ylabel("reflectance × 10000")
    a0.set_title("Sentinel-2 class signatures", fontsize=9)
    a0.tick_params(axis="x", labelsize=7)
    a0.legend(fontsize=7, ncol=2)
    a0.grid(alpha=0.3)
    for row in bs:
        name = row["class"]
        a1.errorbar(row["VV"], row["VH"], xerr=row["texture_sd"], yerr=row["texture_sd"], fmt="o",
                    color=CLASS_COLORS.get(name, "grey"), mec="black", label=name)
        a1.annotate(name, (row["VV"], row["VH"]), fontsize=7, xytext=(3, 3), textcoords="offset points")
    a1.set_xlabel("VV (dB)")
    a1.set_ylabel("VH (dB)")
    a1.set_title("Sentinel-1 class backscatter (± texture s.d.)", fontsize=9)
    a1.grid(alpha=0.3)
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------------------------
# method
# ---------------------------------------------------------------------------------
def architecture_figure(modalities: Sequence[str], backbone: str = "ResNet",
                        latent_dim: int | str = 1024) -> Figure:
    """The architecture (the paper's Figure 1) for the sensors of a run, drawn with matplotlib boxes."""
    import matplotlib.pyplot as plt
    from matplotlib.colors import to_hex
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    n = len(modalities)
    fig, ax = plt.subplots(figsize=(10, 1.6 + 1.3 * n))
    ax.set_xlim(-0.15, 10.1)
    ax.set_ylim(0, 1.3 * n + 0.6)
    ax.axis("off")

    def box(x: float, y: float, w: float, h: float, text: str, color: str) -> None:
        ax.add_patch(FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0.03", fc=color, ec="black", lw=1))
        ax.text(x + w / 2, y + h / 2, text, ha="center", va="center", fontsize=8.5)

    def arrow(x0: float, y0: float, x1: float, y1: float, style: str = "-|>", color: str = "black") -> None:
        ax.add_patch(FancyArrowPatch((x0, y0), (x1, y1), arrowstyle=style, mutation_scale=10, color=color, lw=1))

    mid = (1.3 * n + 0.6) / 2
    for i, mod in enumerate(modalities):
        y = 1.3 * (n - 1 - i) + 0.5
        col = to_hex(modality_color(mod))
        box(0.0, y, 1.2, 0.7, f"{modality_label(mod)}\nimage $x^{{{mod.upper()}}}$", col + "55")
        box(1.6, y, 1.7, 0.7, f"{backbone}\n$f^{{{mod.upper()}}}$ (own weights)", col + "33")
        box(3.7, y, 1.7, 0.7, f"merge net $g^{{{mod.upper()}}}$\n3 FC layers", col + "33")
        arrow(1.2, y + 0.35, 1.6, y + 0.35)
        arrow(3.3, y + 0.35, 3.7, y + 0.35)
        arrow(5.4, y + 0.35, 5.85, mid)
    box(5.85, mid - 0.45, 1.3, 0.9, f"shared latent\n$z$ ({latent_dim}-d)", "#ffe699")
    box(7.6, mid + 0.35, 2.3, 0.75, "classifier\n$\\mathcal{L}_C$ KL (eq. 1)", "#c6e0b4")
    box(7.6, mid - 0.55, 2.3, 0.75, "GRL → modality classifier\n$\\mathcal{L}_M$ (eq. 2)", "#f4b183")
    box(7.6, mid - 1.45, 2.3, 0.7, "triplets across modalities\n$\\mathcal{L}_T$ (eq. 3)", "#bdd7ee")
    arrow(7.15, mid + 0.1, 7.6, mid + 0.7)
    arrow(7.15, mid, 7.6, mid - 0.18)
    arrow(7.15, mid - 0.1, 7.6, mid - 1.1)
    ax.text(5.0, 0.05, r"$\mathcal{L} = \alpha\,\mathcal{L}_T + \beta\,\mathcal{L}_C - \mathcal{L}_M$ (eq. 4);"
            " the minus sign is the gradient reversal layer (GRL)", ha="center", fontsize=9)
    fig.tight_layout()
    return fig


def grl_schedule_figure(final: float = 1.0) -> Figure:
    """The weight of the gradient reversal over training progress (``xmodal.losses.grl_weight``)."""
    import matplotlib.pyplot as plt

    from xmodal.losses import grl_weight

    p = np.linspace(0, 1, 101)
    fig, ax = plt.subplots(figsize=(5, 2.6))
    for schedule in ("constant", "acmr"):
        ax.plot(p, [grl_weight(float(v), schedule, final) for v in p], label=schedule)
    ax.set_xlabel("training progress p")
    ax.set_ylabel("reversal weight")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def triplet_figure(info: Mapping[str, Any], title: str = "") -> Figure:
    """Label similarity S and cosine similarity of a mined batch.

    ``info`` is that of :func:`xmodal.analysis.triplets.mined_triplets`; each anchor's
    positive (circle) and hard negative (cross) are marked.
    """
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(9, 3.8))
    for ax, key, name in ((axes[0], "s", "histogram intersection S of soft labels"),
                          (axes[1], "cos", "cosine similarity of latent vectors")):
        im = ax.imshow(info[key], cmap="viridis", vmin=0 if key == "s" else -1, vmax=1)
        rows = np.flatnonzero(info["valid"])
        ax.scatter(info["pos"][rows], rows, marker="o", facecolor="none", edgecolor="white", s=60,
                   label="positive")
        ax.scatter(info["neg"][rows], rows, marker="x", color="red", s=40, label="hard negative")
        ax.set_xlabel("other-modality batch")
        ax.set_ylabel("anchor")
        ax.set_title(name, fontsize=8)
        fig.colorbar(im, ax=ax, fraction=0.046)
    axes[0].legend(fontsize=7, loc="upper right")
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------------------------
# latent space
# ---------------------------------------------------------------------------------
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
#: Panels per row of the small multiples below and of the UMAP view.
PANELS_PER_ROW = 3


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

    from xmodal.report.adversary import ADVERSARY_QUANTITIES

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


# ---------------------------------------------------------------------------------
# showing figures and tables on a book page
# ---------------------------------------------------------------------------------
def plotly_html(fig: go.Figure, div_id: str | None = None) -> str:
    """A plotly figure as an HTML fragment without plotly.js and without links to plotly's servers.

    The book serves its own copy of plotly.js, so pages work offline.
    """
    return str(fig.to_html(full_html=False, include_plotlyjs=False, div_id=div_id,
                           config={"displaylogo": False, "responsive": True}))


def show_table(table: pd.DataFrame, precision: int = 3) -> Styler:
    """A table for a book page: no index column, no truncated cells, ``precision`` decimals."""
    return table.style.hide(axis="index").format(precision=precision, na_rep="–")


def show_plotly(fig: go.Figure, div_id: str | None = None) -> HTML:
    """Display a plotly figure in a notebook page of the book (see :func:`plotly_html`)."""
    from IPython.display import HTML

    return HTML(plotly_html(fig, div_id))
