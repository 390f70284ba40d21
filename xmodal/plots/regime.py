"""The regime map drawn: one heatmap per gain over the Baselines, over the grid of worlds.

:func:`regime_heatmaps` draws the grids of :mod:`xmodal.report.regime` (:func:`~xmodal.report.regime.map_grid`,
:func:`~xmodal.report.regime.map_annotations`): a panel per method and quantity (weighted F1 on
each sensor, then homogeneity), its cells coloured by the estimate on a diverging scale centred on
0 and shared by the panels of one quantity, written as ``estimate [95% interval]``. A cell whose
interval excludes 0 carries a bold asterisk; the calibrated world's cell is outlined. The caption
names the data (synthetic) and the results' source.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from xmodal.report.regime import (
    axis_label,
    grid_levels,
    map_annotations,
    map_grid,
    panel_title,
    regime_panels,
)
from xmodal.worlds.regime import level_text

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

__all__ = ["CALIBRATED_LABEL", "SIGNIFICANT_GID", "regime_heatmaps"]

#: The ``gid`` of a significant cell's asterisk (one text per marked cell).
SIGNIFICANT_GID = "significant"
#: The label of the calibrated world's outline (one rectangle per panel).
CALIBRATED_LABEL = "calibrated world"


def _scale(diffs: pd.DataFrame, quantity: str) -> float:
    """The half-range of a quantity's colour scale: its largest estimate in size (at least 0.01)."""
    est = diffs.loc[diffs["quantity"] == quantity, "estimate"].to_numpy(float)
    est = est[np.isfinite(est)]
    return max(float(np.abs(est).max()) if est.size else 0.0, 0.01)


def regime_heatmaps(diffs: pd.DataFrame, axes: Sequence[str], calibrated_cell: Sequence[Any] | None = None, *,
                    source: str = "") -> Figure:
    """The regime map: a heatmap per method and quantity (rows: methods; columns: S1, S2, homogeneity).

    Args:
        diffs: :func:`xmodal.analysis.regime.regime_differences`.
        axes: the map's two axes (the heatmaps' rows, then columns).
        calibrated_cell: the calibrated world's cell (:func:`xmodal.report.regime.calibrated_cell`), outlined;
            None: no outline.
        source: the results' source line (data, profile, live or archived), for the caption.
    """
    import matplotlib.pyplot as plt
    import seaborn as sns
    from matplotlib import patheffects
    from matplotlib.patches import Rectangle

    panels = regime_panels(diffs)
    methods = list(dict.fromkeys(m for _, m, _ in panels))
    columns = max((sum(1 for _, m, _ in panels if m == method) for method in methods), default=1)
    levels = grid_levels(diffs, axes)
    rows_text = [level_text(v) for v in levels[0]]
    cols_text = [level_text(v) for v in levels[1]]
    scale = {q: _scale(diffs, q) for q in dict.fromkeys(q for q, _, _ in panels)}
    n_cells = len(diffs[list(axes)].astype(str).drop_duplicates())
    cell_w, cell_h = 1.25, 0.62
    width = max(3.4, 1.6 + cell_w * len(cols_text))
    height = max(2.6, 1.3 + cell_h * len(rows_text))
    with sns.axes_style("white"), sns.plotting_context("paper"):
        n_rows = max(len(methods), 1)
        fig, grid = plt.subplots(n_rows, columns, figsize=(width * columns, height * n_rows), squeeze=False)
        for ax in grid.ravel():
            ax.set_visible(False)
        for r, method in enumerate(methods):
            mine = [p for p in panels if p[1] == method]
            for c, (quantity, _, sensor) in enumerate(mine):
                ax = grid[r, c]
                ax.set_visible(True)
                est = map_grid(diffs, axes, quantity, method, sensor, "estimate")
                sig = map_grid(diffs, axes, quantity, method, sensor, "significant")
                text = map_annotations(diffs, axes, quantity, method, sensor)
                v = scale[quantity]
                sns.heatmap(est.astype(float), ax=ax, cmap="RdBu", center=0.0, vmin=-v, vmax=v,
                            annot=text.to_numpy(), fmt="", annot_kws={"fontsize": 7}, linewidths=0.6,
                            linecolor="white", square=False,
                            cbar_kws={"label": "difference" if quantity == "f1" else "homogeneity difference",
                                      "shrink": 0.85})
                for i in range(len(rows_text)):
                    for j in range(len(cols_text)):
                        if bool(sig.iloc[i, j]):
                            ax.text(j + 0.93, i + 0.1, "*", ha="right", va="top", fontsize=12, fontweight="bold",
                                    color="black", gid=SIGNIFICANT_GID,
                                    path_effects=[patheffects.withStroke(linewidth=2.5, foreground="white")])
                if calibrated_cell is not None:
                    i = rows_text.index(level_text(calibrated_cell[0]))
                    j = cols_text.index(level_text(calibrated_cell[1]))
                    ax.add_patch(Rectangle((j + 0.03, i + 0.03), 0.94, 0.94, fill=False, edgecolor="black", lw=2.2,
                                           label=CALIBRATED_LABEL, zorder=5))
                ax.set_title(panel_title(quantity, method, sensor), fontsize=9)
                ax.set_xlabel(axis_label(axes[1]))
                ax.set_ylabel(axis_label(axes[0]))
                ax.set_xticklabels(cols_text, rotation=0)
                ax.set_yticklabels(rows_text, rotation=0)
        where = ""
        if calibrated_cell is not None:
            cell = ", ".join(f"{a} {level_text(v)}" for a, v in zip(axes, calibrated_cell, strict=True))
            where = f" Outlined: the calibrated world ({cell})."
        fig.suptitle("The regime map: what the joint methods gain over the Baselines in each synthetic world",
                     fontsize=10)
        n = sorted({int(x) for x in diffs["n"]}) if len(diffs) else []
        seeds = "/".join(map(str, n)) if n else "no"
        fig.text(0.01, -0.01, "\n".join(textwrap.wrap(
            "Each cell: a method minus the Baselines of its cell (weighted F1 on one sensor, or eq. (5) homogeneity "
            f"of the sensors' predictions), mean over {seeds} seeds of the paired differences, with its 95% "
            "interval. Colour: the mean, on a scale centred on 0 and shared by the panels of one quantity. "
            "Bold *: the interval excludes 0; per cell, not adjusted for the "
            f"{n_cells} cells, so about 5% of cells where nothing happens would be marked by chance "
            f"(about {0.05 * n_cells:.1f} per panel).{where} The data are synthetic worlds of xmodal's generator. "
            f"Data: {source or 'unknown'}.", 170)), ha="left", va="top", fontsize=7.5, color="0.3")
        fig.tight_layout()
    return fig
