"""What equal tuning did: the ranges searched, the settings found, the trials, and where the final runs stopped.

All pure functions of a tuning profile's records (:class:`xmodal.report.sources.ProfileSource`:
the archive's ``tuning``, ``runs`` and ``times``, or the same tables from live runs):

* :func:`searched_ranges`: every searched parameter, which models search it, its range, and the
  hand-set study's value beside it;
* :func:`tuned_settings` (and :func:`settings_display`): each model's best trial: its
  parameters, validation score, the step it stopped improving at, and how many trials
  completed, were pruned or failed;
* :func:`tuning_history`: every trial's validation score by trial number, and the best so far;
  :func:`importance_table`: the parameters' fANOVA importances per model;
* :func:`validation_table`, :func:`curve_summary` and :func:`stopping_table`: the final runs'
  validation curves (mean and t-interval over seeds per epoch) and the steps their early
  stopping kept;
* :func:`tuning_time_text` and :func:`stopping_text`: sentences from those numbers.

A model is a method on its sensors (the tuning's unit: each single-sensor Baseline is a model
of its own), named by :func:`model_name`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Final

import numpy as np
import pandas as pd

from xmodal.analysis.stats import CONFIDENCE, paired_difference
from xmodal.config import METHOD_LOSSES, METHODS
from xmodal.report.format import duration_text
from xmodal.report.selection import figure2_runs, method_label

__all__ = [
    "CURVE_COLUMNS",
    "HISTORY_COLUMNS",
    "STOPPING_COLUMNS",
    "curve_summary",
    "importance_table",
    "model_name",
    "ranges_display",
    "searched_ranges",
    "settings_display",
    "stopping_display",
    "stopping_table",
    "stopping_text",
    "tuned_settings",
    "tuning_history",
    "tuning_time_text",
    "validation_table",
]

#: The searched groups of a tuning spec (:mod:`xmodal.tuning.space`) in words.
_GROUPS: Final[dict[str, str]] = {"shared": "every model", "C": "with C", "T": "with the triplet loss T",
                                  "M": "with the modality loss M"}
#: Columns of :func:`tuning_history`.
HISTORY_COLUMNS: Final[tuple[str, ...]] = ("model", "trial", "state", "score", "best_so_far", "epochs_trained",
                                           "seconds")
#: Columns of :func:`curve_summary`.
CURVE_COLUMNS: Final[tuple[str, ...]] = ("model", "epoch", "step", "mean", "low", "high", "n")
#: Columns of :func:`stopping_table`.
STOPPING_COLUMNS: Final[tuple[str, ...]] = ("model", "n", "best_step_mean", "best_step_min", "best_step_max",
                                            "epochs_mean", "stopped_early", "cap_steps")


# ----------------------------------------------------------------------------- models
def model_name(method: str, modalities: Sequence[str]) -> str:
    """A tuned model's display name: ``"Baseline S1"`` (a model per sensor), ``"C+T+M"``."""
    mods = list(modalities)
    if method == "baseline":
        return method_label(method, sensor=mods[0] if len(mods) == 1 else None,
                            modalities=None if len(mods) == 1 else mods)
    return method_label(method, modalities=mods)


def _order(method: str, modalities: Sequence[str]) -> tuple[int, str]:
    """Sort key of a model: the methods' order (:data:`xmodal.config.METHODS`), then its sensors."""
    rank = METHODS.index(method) if method in METHODS else len(METHODS)
    return rank, "+".join(modalities)


def _settings(tuning: Mapping[str, Any] | None) -> dict[str, Any]:
    """The tuning record's settings, models in display order."""
    settings = dict((tuning or {}).get("settings") or {})
    return dict(sorted(settings.items(), key=lambda kv: _order(kv[1]["method"], kv[1]["modalities"])))


def _names(tuning: Mapping[str, Any] | None) -> dict[str, str]:
    """Model key (``"baseline-s1-nall"``) -> display name."""
    return {k: model_name(s["method"], s["modalities"]) for k, s in _settings(tuning).items()}


# ----------------------------------------------------------------------------- the search
def _group_methods(group: str, methods: Sequence[str]) -> str:
    """Which of ``methods`` search a group's parameters: ``"C+T, C+T+M"``."""
    return ", ".join(method_label(m) for m in methods if group == "shared" or group in METHOD_LOSSES.get(m, ()))


def searched_ranges(tuning: Mapping[str, Any], hand_config: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """Every searched parameter with its range, and the hand-set value beside it.

    Args:
        tuning: the tuning record (``ProfileSource.tuning``: its ``spec`` holds the ranges).
        hand_config: a config of the hand-set study (its value of each parameter), or None.

    Returns:
        Columns ``parameter``, ``searched by`` (the group and its models), ``low``, ``high``,
        ``scale`` (``log`` or ``linear``; ``choices`` for a list), ``range`` (in words) and
        ``hand-set`` (the config's value, NaN without one), in the spec's order.
    """
    methods = sorted({s["method"] for s in _settings(tuning).values()}, key=lambda m: _order(m, ()))
    rows = []
    for group, params in (tuning.get("spec") or {}).get("space", {}).items():
        for p in params:
            by = _group_methods(group, methods) if methods else ""
            if p.get("choices") is not None:
                low = high = math.nan
                scale, words = "choices", "one of " + ", ".join(str(c) for c in p["choices"])
            else:
                low, high = float(p["low"]), float(p["high"])
                scale = "log" if p.get("log") else "linear"
                words = f"{low:g} to {high:g}" + (" (log scale)" if p.get("log") else "")
            hand = (hand_config or {}).get(p["name"], math.nan)
            rows.append({"parameter": p["name"], "searched by": f"{_GROUPS.get(group, group)}"
                         + (f" ({by})" if by else ""), "low": low, "high": high, "scale": scale, "range": words,
                         "hand-set": hand})
    return pd.DataFrame(rows, columns=["parameter", "searched by", "low", "high", "scale", "range", "hand-set"])


def ranges_display(ranges: pd.DataFrame) -> pd.DataFrame:
    """:func:`searched_ranges` as text cells: parameter, who searches it, its range, the hand-set value."""
    return pd.DataFrame({"parameter": ranges["parameter"], "searched by": ranges["searched by"],
                         "range": ranges["range"], "hand-set": [_value(v) for v in ranges["hand-set"]]})


def tuned_settings(tuning: Mapping[str, Any], times: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """Each model's tuned settings: its best trial's parameters, validation score and stopping step.

    Args:
        tuning: the tuning record (``ProfileSource.tuning``).
        times: the profile's wall times (``ProfileSource.times``: ``tuning.models`` holds each model's), or None.

    Returns:
        One row per model (display order): ``model``, ``key``, ``trial`` (the best one's number),
        ``score`` (its validation score), ``best_epoch``, ``best_step``, ``complete``, ``pruned``,
        ``failed`` (trial counts), ``tuning_seconds`` (the model's trials' wall time, when recorded),
        then one column per searched parameter (NaN for a model that does not search it).
    """
    settings = _settings(tuning)
    seconds = dict(((times or {}).get("tuning") or {}).get("models") or {})
    params = list(dict.fromkeys(k for s in settings.values() for k in s.get("params", {})))
    rows = []
    for key, s in settings.items():
        counts = s.get("counts") or {}
        rows.append({"model": model_name(s["method"], s["modalities"]), "key": key, "trial": s.get("trial"),
                     "score": s.get("value"), "best_epoch": s.get("best_epoch"), "best_step": s.get("best_step"),
                     "complete": counts.get("COMPLETE", 0), "pruned": counts.get("PRUNED", 0),
                     "failed": counts.get("FAIL", 0), "tuning_seconds": seconds.get(key, math.nan),
                     **{p: s.get("params", {}).get(p, math.nan) for p in params}})
    return pd.DataFrame(rows, columns=["model", "key", "trial", "score", "best_epoch", "best_step", "complete",
                                       "pruned", "failed", "tuning_seconds", *params])


def _value(v: Any) -> str:
    """A parameter's value as a table shows it: three significant digits, ``–`` when absent."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    return f"{v:.3g}" if isinstance(v, (int, float)) and not isinstance(v, bool) else str(v)


def settings_display(table: pd.DataFrame, ranges: pd.DataFrame | None = None) -> pd.DataFrame:
    """:func:`tuned_settings` as text cells, with a first row of the hand-set values when ``ranges`` has them.

    Args:
        table: :func:`tuned_settings`.
        ranges: :func:`searched_ranges` (its ``hand-set`` column), or None.
    """
    params = [c for c in table.columns if c not in ("model", "key", "trial", "score", "best_epoch", "best_step",
                                                    "complete", "pruned", "failed", "tuning_seconds")]
    rows = []
    if ranges is not None and ranges["hand-set"].notna().any():
        hand = dict(zip(ranges["parameter"], ranges["hand-set"], strict=True))
        rows.append({"model": "hand-set (every model)", **{p: _value(hand.get(p)) for p in params},
                     "validation score": "", "best epoch (step)": "", "trials: complete / pruned / failed": "",
                     "tuning wall time": ""})
    for r in table.to_dict(orient="records"):
        sec = r["tuning_seconds"]
        rows.append({"model": r["model"], **{p: _value(r[p]) for p in params},
                     "validation score": _value(r["score"]),
                     "best epoch (step)": f"{r['best_epoch']} ({r['best_step']})" if r["best_step"] is not None
                     and r["best_step"] == r["best_step"] else "–",
                     "trials: complete / pruned / failed": f"{r['complete']} / {r['pruned']} / {r['failed']}",
                     "tuning wall time": duration_text(sec) if sec == sec else "–"})
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------- the trials
def tuning_history(tuning: Mapping[str, Any]) -> pd.DataFrame:
    """Every trial's validation score by trial number, per model, and the best complete score so far.

    A complete trial's ``score`` is its objective (the best validation score of its run); a pruned
    trial has none, so its ``score`` is the best validation score it reached before the pruner
    stopped it (NaN when it reported none). ``best_so_far`` counts complete trials only: it is the
    score of the setting the tuning would have chosen after that many trials (NaN before the first
    complete one).

    Returns:
        :data:`HISTORY_COLUMNS`, models in display order, trials by number.
    """
    names = _names(tuning)
    rows = []
    for t in (tuning.get("trials") or []):
        curve = [v for v in (t.get("curve") or []) if v is not None and math.isfinite(v)]
        if t.get("state") == "COMPLETE" and t.get("value") is not None:
            score = float(t["value"])
        else:
            score = max(curve) if curve else math.nan
        rows.append({"model": names.get(t["model"], t["model"]), "key": t["model"], "trial": int(t["number"]),
                     "state": str(t.get("state", "")).lower(), "score": score,
                     "epochs_trained": t.get("epochs_trained"), "seconds": t.get("seconds")})
    df = pd.DataFrame(rows, columns=["model", "key", "trial", "state", "score", "epochs_trained", "seconds"])
    order = {k: i for i, k in enumerate(names)}
    df = df.sort_values(["key", "trial"], key=lambda c: c.map(order) if c.name == "key" else c, kind="stable")
    complete = df["score"].where(df["state"] == "complete")
    df["best_so_far"] = complete.groupby(df["key"]).cummax().groupby(df["key"]).ffill()
    return df[list(HISTORY_COLUMNS)].reset_index(drop=True)


def importance_table(tuning: Mapping[str, Any]) -> pd.DataFrame:
    """The searched parameters' fANOVA importances per model (they sum to 1 per model).

    Returns:
        Columns ``model``, ``parameter``, ``importance``; models in display order, parameters by
        importance. A model whose trials could not apportion anything (fewer than two complete
        trials, or every trial scored the same) has no row.
    """
    names = _names(tuning)
    imp = tuning.get("importance") or {}
    rows = [{"model": names.get(k, k), "parameter": p, "importance": float(v)}
            for k in [*names, *(k for k in imp if k not in names)] if k in imp
            for p, v in sorted(imp[k].items(), key=lambda kv: -kv[1])]
    return pd.DataFrame(rows, columns=["model", "parameter", "importance"])


# ----------------------------------------------------------------------------- the final runs
def validation_table(runs: Sequence[Mapping[str, Any]], results: pd.DataFrame | None = None) -> pd.DataFrame:
    """The validation curve of every final run: one row per run and epoch.

    Args:
        runs: the runs' records (``ProfileSource.runs``: ``run_dir``, ``config``, ``validation``).
        results: the results table; when given, only its Figure 2 runs
            (:func:`~xmodal.report.selection.figure2_runs`).

    Returns:
        Columns ``model``, ``seed``, ``epoch``, ``step``, ``score``, ``best_epoch``, ``best_step``,
        ``epochs_trained``, ``cap_steps``, ``stopped_early``, ``run_dir``; runs without a curve have no row.
    """
    keep = set(figure2_runs(results)) if results is not None else None
    rows = []
    for r in runs:
        if keep is not None and r["run_dir"] not in keep:
            continue
        cfg, val = r.get("config") or {}, r.get("validation") or {}
        curve = val.get("curve") or []
        per_epoch = (int(curve[0]["step"]) // max(int(curve[0]["epoch"]), 1)) if curve else None
        cap = val.get("cap_epochs")
        for point in curve:
            rows.append({"model": model_name(cfg["method"], cfg["modalities"]), "_order": _order(cfg["method"],
                                                                                                 cfg["modalities"]),
                         "seed": cfg.get("seed"), "epoch": point["epoch"], "step": point["step"],
                         "score": point["score"], "best_epoch": val.get("best_epoch"),
                         "best_step": val.get("best_step"), "epochs_trained": val.get("epochs_trained"),
                         "cap_steps": cap * per_epoch if cap and per_epoch else None,
                         "stopped_early": bool(val.get("stopped_early")), "run_dir": r["run_dir"]})
    cols = ["model", "seed", "epoch", "step", "score", "best_epoch", "best_step", "epochs_trained", "cap_steps",
            "stopped_early", "run_dir"]
    if not rows:
        return pd.DataFrame(columns=cols)
    df = pd.DataFrame(rows).sort_values(["_order", "seed", "epoch"], kind="stable")
    for col in ("seed", "epoch", "step", "best_epoch", "best_step", "epochs_trained", "cap_steps"):
        df[col] = pd.to_numeric(df[col], errors="coerce").astype("Int64")
    df["score"] = pd.to_numeric(df["score"], errors="coerce").astype(float)
    return df[cols].reset_index(drop=True)


def curve_summary(curves: pd.DataFrame, confidence: float = CONFIDENCE) -> pd.DataFrame:
    """Mean validation score over seeds at every epoch of each model, with its t-interval.

    A run that stopped early has no point after its last epoch, so ``n`` counts the seeds still
    training at that epoch (the later means are those of the seeds that kept improving).

    Args:
        curves: :func:`validation_table`.
        confidence: of the intervals (:func:`xmodal.analysis.stats.paired_difference` of the scores).

    Returns:
        :data:`CURVE_COLUMNS` (``low``/``high`` NaN with one seed), models in the table's order.
    """
    rows = []
    for model in dict.fromkeys(curves["model"]):
        sub = curves[curves["model"] == model]
        for epoch in sorted({int(e) for e in sub["epoch"]}):
            g = sub[sub["epoch"] == epoch]
            d = paired_difference(g["score"].to_numpy(np.float64), confidence=confidence)
            rows.append({"model": model, "epoch": epoch, "step": int(g["step"].max()), "mean": d.estimate,
                         "low": d.low, "high": d.high, "n": d.n})
    return pd.DataFrame(rows, columns=list(CURVE_COLUMNS))


def stopping_table(curves: pd.DataFrame) -> pd.DataFrame:
    """Where each model's final runs stopped: the step whose weights they kept, and how long they trained.

    Args:
        curves: :func:`validation_table`.

    Returns:
        :data:`STOPPING_COLUMNS`: per model the number of runs ``n``, the kept (best) step's mean,
        minimum and maximum over them, the mean number of epochs trained, how many stopped early
        (before the cap) and the cap in steps.
    """
    runs = curves.drop_duplicates("run_dir")
    rows = []
    for model in dict.fromkeys(runs["model"]):
        sub = runs[runs["model"] == model]
        best = pd.to_numeric(sub["best_step"], errors="coerce").dropna().astype(float)
        cap = pd.to_numeric(sub["cap_steps"], errors="coerce").dropna()
        rows.append({"model": model, "n": len(sub),
                     "best_step_mean": float(best.mean()) if len(best) else math.nan,
                     "best_step_min": int(best.min()) if len(best) else None,
                     "best_step_max": int(best.max()) if len(best) else None,
                     "epochs_mean": float(pd.to_numeric(sub["epochs_trained"], errors="coerce").mean()),
                     "stopped_early": int(sub["stopped_early"].astype(bool).sum()),
                     "cap_steps": int(cap.max()) if len(cap) else None})
    return pd.DataFrame(rows, columns=list(STOPPING_COLUMNS))


def stopping_display(table: pd.DataFrame) -> pd.DataFrame:
    """:func:`stopping_table` as text cells."""
    return pd.DataFrame({
        "model": table["model"],
        "runs": table["n"],
        "step kept: mean (range)": [f"{m:.0f} ({lo}–{hi})" if m == m else "–"
                                    for m, lo, hi in zip(table["best_step_mean"], table["best_step_min"],
                                                         table["best_step_max"], strict=True)],
        "epochs trained (mean)": [f"{v:.1f}" for v in table["epochs_mean"]],
        "stopped early": [f"{s} of {n}" for s, n in zip(table["stopped_early"], table["n"], strict=True)],
        "cap (steps)": [str(c) if c is not None and c == c else "–" for c in table["cap_steps"]],
    })


def stopping_text(table: pd.DataFrame, source: str) -> str:
    """A Markdown sentence on where the final runs stopped, from :func:`stopping_table`."""
    if not len(table):
        return f"The final runs ({source}) recorded no validation curve."
    early = int(table["stopped_early"].sum())
    n = int(table["n"].sum())
    by_step = table.dropna(subset=["best_step_mean"]).sort_values("best_step_mean", kind="stable")
    if not len(by_step):
        return f"The final runs ({source}) recorded no kept step."
    lo, hi = by_step.iloc[0], by_step.iloc[-1]
    cap = table["cap_steps"].dropna()
    cap_text = f", of a cap of {int(cap.max())} steps" if len(cap) else ""
    if lo["model"] == hi["model"] or lo["best_step_mean"] == hi["best_step_mean"]:
        kept = f"is step {lo['best_step_mean']:.0f} for every model, on average over seeds{cap_text}"
    else:
        kept = (f"ranges, on average over seeds, from step {lo['best_step_mean']:.0f} ({lo['model']}) to step "
                f"{hi['best_step_mean']:.0f} ({hi['model']}){cap_text}")
    return (f"**Where the final runs stopped** ({source}). {early} of {n} runs stopped early (no better "
            f"validation score for `patience` epochs) and kept their best epoch's weights. The step kept {kept}.")


# ----------------------------------------------------------------------------- time
def _models_at_once(jobs: int) -> str:
    return "one model at a time" if jobs == 1 else f"{jobs} models at a time"


def tuning_time_text(times: Mapping[str, Any], tuning: Mapping[str, Any] | None, n_runs: int,
                     machine: Mapping[str, Any] | None = None) -> str:
    """A Markdown sentence on how long the profile took, from its measured wall times (never typed in).

    Args:
        times: ``ProfileSource.times``: ``tuning`` (``trials_seconds``, ``final_seconds``, ``jobs``).
        tuning: the tuning record (how many trials and models).
        n_runs: the number of final runs.
        machine: where it ran (``cpus``, ``platform``), or None.
    """
    t = dict(times.get("tuning") or {})
    if not t:
        return "No wall time of the tuning is on record for these results."
    trials = len((tuning or {}).get("trials") or [])
    models = len((tuning or {}).get("settings") or {})
    parts = []
    if "trials_seconds" in t:
        parts.append(f"the {trials} trials of {models} models took **{duration_text(float(t['trials_seconds']))}** of "
                     f"wall time ({_models_at_once(int(t.get('jobs') or 1))})")
    if "final_seconds" in t:
        parts.append(f"the {n_runs} final runs **{duration_text(float(t['final_seconds']))}**")
    total = float(t.get("trials_seconds") or 0) + float(t.get("final_seconds") or 0)
    where = ""
    if machine and machine.get("cpus"):
        where = f" on a machine with {machine['cpus']} CPU cores"
    said = "; ".join(parts)
    return (f"**How long it took.** {said[:1].upper() + said[1:]}: **{duration_text(total)}** in all{where}, "
            "measured by `xmodal tune` (the machine may have been busy with other work).")
