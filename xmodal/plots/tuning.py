"""Equal tuning drawn: the trials' history, the parameters' importance, the tuned runs' validation curves.

Each figure draws a table of :mod:`xmodal.report.tuning` (one small panel per model) and
carries a caption under it naming the data, the profile, how many trials or runs it shows and
whether they are archived (the ``source`` line of :class:`xmodal.report.sources.ProfileSource`).
"""

from __future__ import annotations

import math
import textwrap
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

__all__ = ["importance_figure", "tuned_curves_figure", "tuning_history_figure"]

#: Panels per row of the small multiples.
_COLUMNS = 3
#: Marker and colour of a trial's state.
_STATE_STYLE: dict[str, tuple[str, str]] = {"complete": ("o", "#1f77b4"), "pruned": ("X", "#d62728"),
                                            "fail": ("s", "#7f7f7f")}


def _grid(n: int, width: float = 4.0, height: float = 2.9, sharey: bool = True) -> tuple[Figure, list[Any]]:
    import matplotlib.pyplot as plt

    cols = min(_COLUMNS, max(n, 1))
    rows = max(1, math.ceil(n / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(width * cols, height * rows), sharey=sharey, squeeze=False)
    flat = list(axes.ravel())
    for ax in flat[n:]:
        ax.set_visible(False)
    return fig, flat[:n]


def _caption(fig: Figure, text: str) -> None:
    """A caption under the figure (wrapped), as the book's other figures carry it."""
    fig.text(0.01, -0.01, "\n".join(textwrap.wrap(text, 160)), ha="left", va="top", fontsize=7.5, color="0.3")


def tuning_history_figure(history: pd.DataFrame, source: str) -> Figure:
    """Every trial's validation score by trial number, one panel per model, and the best complete score so far.

    Args:
        history: :func:`xmodal.report.tuning.tuning_history`.
        source: the results' source line (data, profile, live or archived).
    """
    import seaborn as sns

    models = list(dict.fromkeys(history["model"]))
    with sns.axes_style("whitegrid"), sns.plotting_context("paper"):
        fig, axes = _grid(len(models))
        states = [s for s in _STATE_STYLE if s in set(history["state"])]
        for ax, model in zip(axes, models, strict=True):
            sub = history[history["model"] == model]
            ax.step(sub["trial"], sub["best_so_far"], where="post", color="black", lw=1.2,
                    label="best complete trial so far")
            sns.scatterplot(data=sub.dropna(subset=["score"]), x="trial", y="score", hue="state", style="state",
                            hue_order=states, style_order=states, palette={s: _STATE_STYLE[s][1] for s in states},
                            markers={s: _STATE_STYLE[s][0] for s in states}, s=45, ax=ax, legend=ax is axes[-1],
                            zorder=3)
            ax.set_title(model, fontsize=9)
            ax.set_xlabel("trial")
            ax.set_ylabel("validation score")
            ax.set_xticks(sorted({int(t) for t in sub["trial"]}))
        if axes and axes[-1].get_legend() is not None:
            sns.move_legend(axes[-1], "upper left", bbox_to_anchor=(1.02, 1), frameon=False, title=None)
        n_trials = len(history)
        fig.suptitle("Tuning history: the validation score of every trial", fontsize=10)
        _caption(fig, f"Dots: a complete trial's validation score (the best epoch's weighted F1 on the validation "
                      f"scenes, mean over the model's sensors); crosses: a trial the median pruner stopped, at "
                      f"the best score it reached; line: the best complete trial so far. {n_trials} trials of "
                      f"{len(models)} models. Data: {source}.")
        fig.tight_layout()
    return fig


def importance_figure(importance: pd.DataFrame, source: str) -> Figure:
    """Each model's fANOVA parameter importances as bars (one panel per model).

    Args:
        importance: :func:`xmodal.report.tuning.importance_table`.
        source: the results' source line.
    """
    import seaborn as sns

    models = list(dict.fromkeys(importance["model"]))
    params = list(dict.fromkeys(importance.sort_values("importance", ascending=False)["parameter"]))
    palette = dict(zip(params, sns.color_palette("colorblind", max(len(params), 1)), strict=False))
    with sns.axes_style("whitegrid"), sns.plotting_context("paper"):
        fig, axes = _grid(max(len(models), 1), width=3.6, height=2.2 + 0.18 * len(params), sharey=False)
        for ax, model in zip(axes, models, strict=False):
            sub = importance[importance["model"] == model]
            sns.barplot(data=sub, x="importance", y="parameter", hue="parameter", palette=palette, ax=ax,
                        legend=False)
            ax.set_xlim(0, 1)
            ax.set_title(model, fontsize=9)
            ax.set_xlabel("fANOVA importance")
            ax.set_ylabel("")
        if not models:
            axes[0].text(0.5, 0.5, "no importance could be computed", ha="center", va="center")
            axes[0].set_axis_off()
        fig.suptitle("Which parameters mattered: fANOVA importance of each searched parameter", fontsize=10)
        _caption(fig, "The share of the variance of the trials' validation scores that each parameter explains "
                      "(Optuna's fANOVA evaluator, seeded; a model's bars sum to 1). With a few trials per model "
                      f"these are rough. {len(models)} models. Data: {source}.")
        fig.tight_layout()
    return fig


def tuned_curves_figure(summary: pd.DataFrame, stopping: pd.DataFrame, curves: pd.DataFrame,
                        source: str) -> Figure:
    """The tuned runs' validation curves (mean and 95% interval over seeds) with the steps they kept.

    Args:
        summary: :func:`xmodal.report.tuning.curve_summary`.
        stopping: :func:`xmodal.report.tuning.stopping_table`.
        curves: :func:`xmodal.report.tuning.validation_table` (each run's kept step, drawn as a tick).
        source: the results' source line.
    """
    import seaborn as sns

    models = list(dict.fromkeys(summary["model"]))
    colors = dict(zip(models, sns.color_palette("colorblind", max(len(models), 1)), strict=False))
    with sns.axes_style("whitegrid"), sns.plotting_context("paper"):
        fig, axes = _grid(len(models))
        for ax, model in zip(axes, models, strict=True):
            sub = summary[summary["model"] == model]
            sns.lineplot(data=sub, x="step", y="mean", color=colors[model], marker="o", markersize=3, ax=ax)
            ok = sub.dropna(subset=["low", "high"])
            ax.fill_between(ok["step"].to_numpy(float), ok["low"].to_numpy(float), ok["high"].to_numpy(float),
                            color=colors[model], alpha=0.2, lw=0)
            kept = curves[curves["model"] == model].drop_duplicates("run_dir")["best_step"].dropna()
            sns.rugplot(x=kept.to_numpy(float), ax=ax, color="black", height=0.06, lw=1.2)
            row = stopping[stopping["model"] == model]
            if len(row) and not np.isnan(float(row["best_step_mean"].iloc[0])):
                ax.axvline(float(row["best_step_mean"].iloc[0]), color="black", ls="--", lw=1)
            ax.set_title(model, fontsize=9)
            ax.set_xlabel("optimisation step")
            ax.set_ylabel("validation score")
        n_runs = curves["run_dir"].nunique() if len(curves) else 0
        fig.suptitle("The tuned runs' validation curves, and where early stopping kept their weights", fontsize=10)
        _caption(fig, "Line: the validation score (weighted F1 on the validation scenes, mean over the model's "
                      "sensors) averaged over seeds; band: its 95% t-interval (the seeds still training at that "
                      "step: runs that stopped early drop out); ticks: the step each run kept; dashed: their mean. "
                      f"{n_runs} runs of {len(models)} models. Data: {source}.")
        fig.tight_layout()
    return fig
