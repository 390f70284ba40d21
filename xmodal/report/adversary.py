"""The adversary of eq. (2) epoch by epoch: its loss and accuracy against chance, and the flipping failure.

With gradient reversal the encoders maximise the modality classifier's loss ``L_M``; they
can do so without hiding the sensor, by making the classifier *confidently wrong* (a
flipped code). These functions read the runs' histories
(:func:`xmodal.results.load_histories`): the curves (:func:`adversary_curves`), the last
epoch with intervals over seeds (:func:`adversary_final`), the epochs in which the
classifier was flipped (:func:`adversary_episodes`), and a text that says only what the
intervals allow (:func:`adversary_text`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from xmodal.analysis.stats import CONFIDENCE
from xmodal.analysis.tidy import methods_in
from xmodal.report.format import NOT_RECORDED, ci_text, order_key
from xmodal.report.latent import SUMMARY_COLUMNS, alignment_of, groups_of, interval_over_seeds, seeds_sentence, side_of
from xmodal.report.selection import method_label

__all__ = [
    "ADVERSARY_QUANTITIES",
    "FLIP_MARGIN",
    "EPISODE_COLUMNS",
    "adversary_curves",
    "adversary_final",
    "adversary_episodes",
    "adversary_text",
]


#: Quantities of the adversary's curves (history keys) and how the book names them.
ADVERSARY_QUANTITIES: dict[str, str] = {
    "L_M": "modality classifier's loss L_M",
    "modality_accuracy": "modality classifier's training accuracy",
    "probe_accuracy": "linear probe's held-out accuracy (test patches)",
}


def adversary_curves(history: pd.DataFrame, methods: Sequence[str] | None = None) -> pd.DataFrame:
    """The adversary's quantities per run and epoch, in long form for plotting.

    Args:
        history: :func:`xmodal.results.load_histories` (one row per run and epoch).
        methods: the methods to keep (default: all, in the paper's order).

    Returns:
        method, alignment (``None`` without ``M``), seed, run_dir, epoch, quantity (a key of
        :data:`ADVERSARY_QUANTITIES`), label, value, chance (``ln M`` for ``L_M``, ``1 / M`` for
        the accuracies, ``M`` the run's sensors). Quantities a run did not record have no rows.
    """
    cols = ["method", "alignment", "seed", "run_dir", "epoch", "quantity", "label", "value", "chance"]
    if len(history) == 0:
        return pd.DataFrame(columns=cols)
    df = history if methods is None else history[history["method"].isin(list(methods))]
    frames = []
    n_sensors = pd.to_numeric(df["n_sensors"], errors="coerce").astype(float)
    for q, label in ADVERSARY_QUANTITIES.items():
        if q not in df.columns:
            continue
        chance = np.log(n_sensors) if q == "L_M" else 1.0 / n_sensors
        alignment = df["alignment"] if "alignment" in df.columns else None
        part = pd.DataFrame({"method": df["method"], "alignment": alignment, "seed": df["seed"],
                             "run_dir": df["run_dir"], "epoch": df["epoch"], "quantity": q, "label": label,
                             "value": pd.to_numeric(df[q], errors="coerce"), "chance": chance})
        frames.append(part.dropna(subset=["value"]))
    out = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=cols)
    order = order_key(methods_in(out) if len(out) else [])
    return out.sort_values(["method", "seed", "epoch"], key=lambda c: order(c) if c.name == "method" else c,
                           kind="stable").reset_index(drop=True)[cols]


def adversary_final(history: pd.DataFrame, methods: Sequence[str] | None = None, *,
                    confidence: float = CONFIDENCE) -> pd.DataFrame:
    """The adversary at the last epoch: each quantity's mean over seeds, t-interval and chance level.

    Returns:
        :data:`SUMMARY_COLUMNS`, one row per method and quantity of :data:`ADVERSARY_QUANTITIES`;
        a quantity no run of the method recorded has ``n = 0`` (shown as "not recorded").
    """
    if len(history) == 0:
        return pd.DataFrame(columns=list(SUMMARY_COLUMNS))
    df = history if methods is None else history[history["method"].isin(list(methods))]
    last = df.sort_values("epoch").groupby("run_dir", sort=False).tail(1)
    rows = []
    for key, sub in groups_of(last, ["method"]):
        m = pd.to_numeric(sub["n_sensors"], errors="coerce").astype(float).mean()
        for q, label in ADVERSARY_QUANTITIES.items():
            values = sub[q] if q in sub.columns else pd.Series(dtype=float)
            est, low, high, n = interval_over_seeds(values, confidence)
            rows.append({"method": key["method"], "alignment": alignment_of(sub), "measure": q, "label": label,
                         "estimate": est, "low": low, "high": high, "n": n,
                         "chance": float(np.log(m)) if q == "L_M" else 1.0 / m})
    return pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))


#: How far below chance the modality classifier's training accuracy must be (or, where it was not
#: recorded, how far above ``ln M`` its loss) for an epoch to count as *confidently wrong*.
FLIP_MARGIN: float = 0.1


#: Columns of :func:`adversary_episodes`.
EPISODE_COLUMNS: tuple[str, ...] = (
    "method", "alignment", "epochs", "flipped", "accuracy_recorded", "probe_recorded", "probe_min", "probe_max",
    "worst_seed", "worst_epoch", "worst_L_M", "worst_accuracy", "worst_probe",
)


def adversary_episodes(curves: pd.DataFrame) -> pd.DataFrame:
    """The epochs in which the modality classifier was *confidently wrong*, per method.

    An epoch (of one run) counts as *flipped* when its mean ``L_M`` is above ``ln M`` and the
    classifier's training accuracy at least :data:`FLIP_MARGIN` below chance (where the accuracy
    was not recorded: ``L_M`` at least :data:`FLIP_MARGIN` above ``ln M``): it does worse than
    guessing because it names the sensors the wrong way round. Whether the sensor was hidden
    meanwhile is what the probe of the same epoch says.

    Args:
        curves: :func:`adversary_curves`.

    Returns:
        :data:`EPISODE_COLUMNS`: per method the epochs with ``L_M`` (all seeds), the flipped
        ones, whether accuracy and probe were recorded, the probe's range over the flipped
        epochs, and the flipped epoch with the largest ``L_M`` (seed, epoch, ``L_M``,
        accuracy, probe).
    """
    rows = []
    for method in methods_in(curves) if len(curves) else []:
        sub = curves[curves["method"] == method]
        w = pd.DataFrame(sub.pivot_table(index=["run_dir", "seed", "epoch"], columns="quantity", values="value"))
        w = w.reset_index()
        chance = sub.groupby("quantity")["chance"].mean()  # one number of sensors per method
        if "L_M" not in w.columns:
            continue
        w = w[w["L_M"].notna()]
        has_acc = "modality_accuracy" in w.columns and bool(w["modality_accuracy"].notna().any())
        has_probe = "probe_accuracy" in w.columns and bool(w["probe_accuracy"].notna().any())
        if has_acc:
            flip = (w["L_M"] > chance["L_M"]) & (w["modality_accuracy"] <= chance["modality_accuracy"] - FLIP_MARGIN)
        else:
            flip = w["L_M"] >= chance["L_M"] + FLIP_MARGIN
        f = w[flip].sort_values("L_M")
        row: dict[str, Any] = {"method": method, "alignment": alignment_of(sub),
                               "epochs": len(w), "flipped": int(flip.sum()),
                               "accuracy_recorded": has_acc, "probe_recorded": has_probe}
        if len(f):
            worst = f.iloc[-1]
            row.update({"worst_seed": int(worst["seed"]), "worst_epoch": int(worst["epoch"]), "worst_L_M": worst["L_M"],
                        "worst_accuracy": worst["modality_accuracy"] if has_acc else math.nan,
                        "worst_probe": worst["probe_accuracy"] if has_probe else math.nan})
            if has_probe:
                row.update({"probe_min": f["probe_accuracy"].min(), "probe_max": f["probe_accuracy"].max()})
        rows.append(row)
    return pd.DataFrame(rows, columns=list(EPISODE_COLUMNS))


def _episode_text(e: Mapping[str, Any]) -> str:
    """One method's flipped epochs in words (see :func:`adversary_episodes`)."""
    epochs = f"{e['epochs']} epoch{'' if e['epochs'] == 1 else 's'} (all seeds)"
    what = (f"L_M above ln M and the classifier's training accuracy {FLIP_MARGIN:g} or more below chance"
            if e["accuracy_recorded"] else f"L_M {FLIP_MARGIN:g} or more above ln M")
    if not e["flipped"]:
        return f"Its one epoch did not have {what}." if e["epochs"] == 1 else f"None of its {epochs} had {what}."
    worst = (f"largest: seed {int(e['worst_seed'])}, epoch {int(e['worst_epoch'])}, L_M = {e['worst_L_M']:.2f}"
             + (f", training accuracy {e['worst_accuracy']:.2f}" if e["accuracy_recorded"] else "")
             + (f", probe {e['worst_probe']:.2f}" if e["probe_recorded"] else ""))
    text = f"{e['flipped']} of its {epochs} had {what} ({worst})."
    reversal = e.get("alignment") == "reversal"
    if e["probe_recorded"] and e["probe_min"] > 0.9:
        text += f" In those epochs the probe on test latents scored {e['probe_min']:.2f}–{e['probe_max']:.2f}"
        text += (": the encoders made the adversary confidently wrong without hiding the sensor, the flipping "
                 "failure of gradient reversal." if reversal else ".")
    elif e["probe_recorded"]:
        text += f" In those epochs the probe on test latents scored {e['probe_min']:.2f}–{e['probe_max']:.2f}."
    else:
        text += " Whether the sensor stayed readable meanwhile was not recorded (runs older than the per-epoch probe)."
    return text


def adversary_text(final: pd.DataFrame, episodes: pd.DataFrame | None = None, source: str | None = None) -> str:
    """Markdown reading the adversary, method by method, as far as the intervals allow.

    With gradient reversal the encoders maximise ``L_M``; they can do so without hiding the
    sensor, by making the modality classifier *confidently wrong* (a flipped code): ``L_M``
    rises above ``ln M`` and its accuracy falls below chance, while a fresh probe still tells
    the sensors apart. The last epoch (``final``, :func:`adversary_final`) is read with its
    intervals over seeds; the epochs in which the classifier was flipped
    (``episodes``, :func:`adversary_episodes`) are counted.
    """
    if len(final) == 0:
        return "No multi-sensor run: there is no adversary to show."
    by_method = {} if episodes is None else {r["method"]: r for _, r in episodes.iterrows()}
    lines = ["At the last epoch. " + seeds_sentence(final, source)]
    for method, sub in final.groupby("method", sort=False):
        by = {r["measure"]: r for _, r in sub.iterrows()}
        lm, acc, probe = by.get("L_M"), by.get("modality_accuracy"), by.get("probe_accuracy")
        parts = []
        flipped = False
        if lm is not None and lm["n"]:
            side = side_of(lm, lm["chance"])
            flipped = side == "above"
            parts.append(f"L_M = {ci_text(lm['estimate'], lm['low'], lm['high'], int(lm['n']), 2)}" + {
                "above": f", above ln M = {lm['chance']:.3f}: the modality classifier does worse than guessing",
                "below": f", below ln M = {lm['chance']:.3f}: the modality classifier still tells the sensors apart",
                "within": f", not distinguishable from ln M = {lm['chance']:.3f} with these seeds",
                "unknown": f" (ln M = {lm['chance']:.3f})"}[side])
        if acc is not None and acc["n"]:
            text = f"its training accuracy {ci_text(acc['estimate'], acc['low'], acc['high'], int(acc['n']), 2)}"
            if side_of(acc, acc["chance"]) == "below":
                text += " (below chance: it calls most patches by the other sensor's name)"
            parts.append(text)
        elif acc is not None:
            parts.append(f"its training accuracy {NOT_RECORDED}")
        probe_side = "unknown"
        if probe is not None and probe["n"]:
            probe_side = side_of(probe, probe["chance"])
            ci = ci_text(probe["estimate"], probe["low"], probe["high"], int(probe["n"]), 2)
            parts.append(f"a fresh linear probe {ci}" + {
                "above": " (above chance: the sensor is still readable from the latents)",
                "below": " (below chance)",
                "within": " (not distinguishable from chance: hidden from a linear reader, as far as the seeds tell)",
                "unknown": f" (chance {probe['chance']:.2f})"}[probe_side])
        elif probe is not None:
            parts.append(f"the per-epoch probe {NOT_RECORDED} (runs older than it; the final latents' probe "
                         "is in the measures table)")
        line = f"- **{method_label(str(method))}**: " + "; ".join(parts) + "."
        reversal = alignment_of(sub) == "reversal"
        if flipped and probe_side == "above" and reversal:
            line += (" This is the flipping failure: the encoders raised the adversary's loss by making it "
                     "confidently wrong, not by hiding the sensor.")
        elif flipped and reversal:
            line += (" The adversary is beaten; whether the sensor is hidden or merely flipped needs the probe "
                     "(see the measures table).")
        if method in by_method:
            line += " " + _episode_text({str(k): v for k, v in by_method[method].items()})
        lines.append(line)
    return "\n".join(lines)
