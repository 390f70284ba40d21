"""The calibration search drawn: each sensor's score against its knob's value, with the target band.

Drawn from :func:`xmodal.report.calibration.round_scores` (and, when given,
:func:`~xmodal.report.calibration.achieved_table`); the caption names the data, the profile, how
many rounds and seeds it shows and whether they are archived.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

__all__ = ["calibration_figure"]


def calibration_figure(record: Mapping[str, Any], source: str = "", achieved: pd.DataFrame | None = None) -> Figure:
    """One panel per sensor: the mean weighted F1 of every scored knob value (± sd over the seeds).

    Every seed's score is a small dot, the mean a large one labelled with its round; the shaded
    band is the target ± tolerance, the dashed vertical line the chosen value. With ``achieved``,
    a diamond with its 95% interval marks the test score the chosen value reached on the study's own
    test scenes (the search scored *calibration scenes*, another draw of the same world).

    Args:
        record: the calibration record (``archive.calibration``).
        source: the results' source line (data, profile, live or archived) for the caption.
        achieved: :func:`xmodal.report.calibration.achieved_table` (optional).
    """
    import matplotlib.pyplot as plt
    import pandas as pd
    import seaborn as sns

    from xmodal.data.normalize import modality_color, modality_label
    from xmodal.report.calibration import round_scores

    scores = round_scores(record)
    scored = scores[scores["scored"]]
    sensors = list(record["spec"]["targets"])
    chosen = record.get("chosen") or {}
    seeds = [{"sensor": r["sensor"], "value": r["value"], "weighted": float(w)}
             for rnd in record.get("rounds", []) for s, sc in (rnd.get("scores") or {}).items()
             for r in [{"sensor": s, "value": rnd["values"][record["spec"]["knobs"][s]["knob"]]}]
             for w in sc.get("weighted", []) if w is not None]
    per_seed = pd.DataFrame(seeds, columns=["sensor", "value", "weighted"])
    with sns.axes_style("whitegrid"), sns.plotting_context("paper"):
        fig, axes = plt.subplots(1, len(sensors), figsize=(4.6 * len(sensors), 3.4), squeeze=False)
        for ax, sensor in zip(axes[0], sensors, strict=True):
            knob = record["spec"]["knobs"][sensor]
            target = float(record["spec"]["targets"][sensor])
            tol = float(record["spec"]["tolerance"])
            color = modality_color(sensor)
            sub = scored[scored["sensor"] == sensor].sort_values("value")
            ax.axhspan(target - tol, target + tol, color="0.85", zorder=0, label=f"target {target:.2f} ± {tol:.2f}")
            ax.axhline(target, color="0.4", lw=0.8, zorder=1)
            sns.scatterplot(data=per_seed[per_seed["sensor"] == sensor], x="value", y="weighted", color=color,
                            alpha=0.35, s=14, ax=ax, label="one seed", zorder=2)
            ax.errorbar(sub["value"], sub["mean"], yerr=sub["sd"].fillna(0.0), fmt="o", color=color, ms=6,
                        capsize=3, lw=1.0, zorder=3, label="mean ± sd over seeds")
            for _, r in sub.iterrows():
                ax.annotate(f"r{int(r['round'])}", (r["value"], r["mean"]), textcoords="offset points",
                            xytext=(5, -10), fontsize=7, color="0.3")
            if knob["knob"] in chosen:
                ax.axvline(float(chosen[knob["knob"]]), color="black", ls="--", lw=1.0, zorder=1,
                           label=f"chosen {knob['knob']} = {float(chosen[knob['knob']]):g}")
            if achieved is not None and len(achieved):
                a = achieved[achieved["sensor"] == sensor]
                if len(a) and int(a["n"].iloc[0]) and not math.isnan(float(a["value"].iloc[0])):
                    r = a.iloc[0]
                    err = ([[r["mean"] - r["low"]], [r["high"] - r["mean"]]] if math.isfinite(r["low"]) else None)
                    shift = 0.03 * (float(knob["high"]) - float(knob["low"]))  # beside the search's own dot
                    ax.errorbar([r["value"] + shift], [r["mean"]], yerr=err, fmt="D", color="black", mfc="white", ms=7,
                                capsize=4, zorder=4, label=f"test scenes, {int(r['n'])} seeds (95% interval)")
            ax.set_xlim(float(knob["low"]), float(knob["high"]))
            ax.set_xlabel(f"{knob['knob']} (searched range)")
            ax.set_ylabel("weighted F1 (Baseline)")
            ax.set_title(f"{modality_label(sensor)}: {knob['knob']}", fontsize=9)
            ax.legend(fontsize=6.5, loc="best", frameon=True)
        n_rounds = len(record.get("rounds", []))
        n_seeds = len(record["spec"].get("seeds", []))
        fig.suptitle("Calibration: the Baselines' score against each sensor's knob", fontsize=10)
        caption = (f"Dots: the Baseline's weighted F1 on the calibration scenes (generator seed "
                   f"{record['spec'].get('data_seed')}, not the study's), one per seed and their mean ± sd over "
                   f"{n_seeds} seeds, labelled with the round (r0, r1, ...); {n_rounds} rounds. Band: the paper's "
                   "score ± the tolerance; dashed line: the chosen value.")
        if achieved is not None and len(achieved):
            caption += (" Diamond (drawn just right of the chosen value): its test weighted F1 on the study's own test "
                        "scenes, with its 95% interval.")
        if source:
            caption += f" Data: {source}."
        fig.text(0.01, -0.01, "\n".join(textwrap.wrap(caption, 150)), ha="left", va="top", fontsize=7.5,
                 color="0.3")
        fig.tight_layout()
    return fig
