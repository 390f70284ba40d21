"""The data page's world knobs and the calibrated world: the search, what it achieved, and whether it is the default.

The world knobs (:mod:`xmodal.data.knobs`) are the few generator settings that say what kind of
world the synthetic data are; the ``calibrated`` profile (``xmodal/studies/calibrated.yaml``) sets
two of them so that the Baselines score the paper's weighted F1 (:mod:`xmodal.worlds.calibration`).
Its results reach a page as a :class:`~xmodal.report.sources.ProfileSource` (its live runs
``<runs>/calibrated`` with the search in ``<runs>/calibrated-calibration``, else its archive
``calibrated.json``); everything the page shows of them is computed here:

* :func:`knobs_display` and :func:`knobs_paragraph`: the knobs, and what each does to which sensor;
* :func:`round_scores` and :func:`rounds_table`: every round of the search (calibration scenes);
* :func:`achieved_table` and :func:`achieved_text`: the Baselines' test weighted F1 in the calibrated
  world (the study's own test scenes), with 95% intervals (seeds and test scenes), against the target;
* :func:`class_share_table` and :func:`class_share_text`: the class shares of the calibrated world's
  test patches (the knobs never touch the land cover);
* :func:`calibration_text`, :func:`default_world_text`: the sentences around them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import pandas as pd

from xmodal.analysis.stats import CONFIDENCE, paired_difference
from xmodal.data.knobs import KNOBS, knob, knob_table
from xmodal.data.normalize import modality_label
from xmodal.report.format import ci_text, mean_sd

if TYPE_CHECKING:
    import os

    from xmodal.report.sources import ProfileSource

__all__ = [
    "ACHIEVED_COLUMNS",
    "CALIBRATED_PROFILE",
    "NOT_DEFAULT_REASON",
    "ROUND_COLUMNS",
    "achieved_display",
    "achieved_table",
    "achieved_text",
    "calibration_record",
    "calibration_source",
    "calibration_text",
    "class_share_table",
    "class_share_text",
    "default_world_text",
    "knobs_display",
    "knobs_paragraph",
    "round_scores",
    "rounds_table",
    "world_differences",
]

#: The calibration profile (``xmodal/studies/calibrated.yaml``).
CALIBRATED_PROFILE: Final[str] = "calibrated"

#: Why the calibrated world is not the default one (the data page says it when their knobs differ).
NOT_DEFAULT_REASON: Final[str] = (
    "The hand-set and tuned verdicts of the Results and Tuning pages are paired on the default world's test "
    "scenes, and the tuned profile's archive was made there: switching the default world would mean re-running "
    "the tuned profile (54 minutes) as well as the default study. The Regime page shows the verdicts in the "
    "calibrated world instead.")

#: Columns of :func:`round_scores` (one row per round and sensor).
ROUND_COLUMNS: Final[tuple[str, ...]] = ("round", "sensor", "knob", "value", "scored", "mean", "sd", "n",
                                         "target", "tolerance", "chosen", "seconds")
#: Columns of :func:`achieved_table` (one row per sensor).
ACHIEVED_COLUMNS: Final[tuple[str, ...]] = ("sensor", "knob", "value", "target", "tolerance", "mean", "low",
                                            "high", "n", "se_scene", "within", "interval_within")

_HOW_TO_MAKE = ("`make calibrated` (or `xmodal calibrate --study calibrated --jobs 2`) searches the knobs and "
                "trains the profile's runs into `runs/calibrated`; `xmodal archive --study calibrated` then writes "
                "`xmodal/archives/calibrated.json`, which the book renders when the runs are absent. Build the "
                "book again afterwards.")


# ----------------------------------------------------------------------------- the knobs
def knobs_display() -> pd.DataFrame:
    """:func:`xmodal.data.knobs.knob_table` as a page table (one row per knob, the meaning last)."""
    return pd.DataFrame(knob_table(), columns=["knob", "sensor", "sets", "range", "default", "unit",
                                               "higher means", "meaning"]).astype({"default": str})


def knobs_paragraph(data_kind: str = "synthetic") -> str:
    """Markdown: what each world knob does to which sensor (from :data:`xmodal.data.knobs.KNOBS`).

    Args:
        data_kind: the kind of data the page's study ran on (``"synthetic"`` or ``"SEN12MS"``); on
            real data the paragraph says that the knobs set the generator only.
    """
    names = {k.name: f"`{k.name}`" for k in KNOBS}
    blind = knob("s1_blind")
    from xmodal.data.synthetic import SyntheticParams

    blind_classes = ", ".join(SyntheticParams().s1_blind_classes)
    text = (
        "Each knob acts on one sensor's files, or on the labels, and leaves the land cover under them as it is. "
        f"{names['s1_looks']} sets the speckle of S1 (gamma-distributed, mean 1, on linear power): more looks "
        f"average it away, so S1's patches get less noisy; S2 does not change. {names['s1_contrast']} moves every "
        "class's mean VV and VH backscatter away from (above 1) or towards (below 1) the classes' common mean, so "
        "S1 separates the classes by their mean backscatter more or less easily; at 0 only texture is left. "
        f"{names['s1_blind']} decides how much the two sensors share: it pulls the mean backscatter of the open "
        f"vegetated classes ({blind_classes}) towards their common mean (after {names['s1_contrast']}), so at "
        f"{blind.high:g} S1 cannot tell them apart while S2 still can: what S2 knows of these classes is then "
        f"no longer in S1. {names['s2_noise']} multiplies every nuisance variation of S2 within a class (scene, "
        "band and object gains, texture, soil mixing, sensor noise): at 0 every pixel of a class has (nearly) "
        "its class's signature, higher values make S2 harder; S1 does not change. "
        f"{names['label_noise']} is the probability that a 500 m label cell takes the runner-up class under it "
        "instead of the majority: it makes the labels of both sensors noisier, and it is the only knob that "
        f"touches the label files. {names['n_train_s1']} is not a generator setting but a training one: how many "
        "training patches S1 has beside S2's (the config key `modality_n_train`), the same data otherwise.")
    if data_kind != "synthetic":
        text += (f" *This book's study ran on {data_kind}: the knobs set the synthetic generator only, and the "
                 "table lists them for the synthetic worlds of the profiles below.*")
    return text


# ----------------------------------------------------------------------------- the source and its record
def calibration_source(runs_dir: str | os.PathLike[str],
                       archive_dir: str | os.PathLike[str] | None = None) -> ProfileSource | None:
    """The ``calibrated`` profile's live runs, else its archive, else None (:func:`~xmodal.report.profile_source`)."""
    from xmodal.report.sources import profile_source

    return profile_source(runs_dir, CALIBRATED_PROFILE, archive_dir)


def calibration_record(source: ProfileSource | None) -> dict[str, Any] | None:
    """The calibration search's record of a source (its ``calibration``), or None."""
    if source is None:
        return None
    record = source.archive.calibration
    return dict(record) if record else None


def _sensors(record: Mapping[str, Any]) -> list[str]:
    return list(record["spec"]["targets"])


def round_scores(record: Mapping[str, Any]) -> pd.DataFrame:
    """One row per round and sensor of the search: the knob value, and its score when it was scored.

    A sensor whose value was not re-scored in a round (its knob kept a value scored before) has
    ``scored`` False and NaN scores. ``chosen`` marks the rounds that scored the chosen value.

    Returns:
        :data:`ROUND_COLUMNS`: round, sensor, knob, value, scored, mean, sd, n (seeds), target,
        tolerance, chosen, seconds (the round's wall time).
    """
    spec = record["spec"]
    chosen = record.get("chosen") or {}
    rows = []
    for r in record.get("rounds", []):
        for sensor in _sensors(record):
            name = spec["knobs"][sensor]["knob"]
            value = r["values"].get(name)
            score = (r.get("scores") or {}).get(sensor)
            weighted = [float(v) for v in (score or {}).get("weighted", []) if v is not None]
            rows.append({"round": int(r["round"]), "sensor": sensor, "knob": name,
                         "value": float(value) if value is not None else math.nan, "scored": score is not None,
                         "mean": float(score["mean"]) if score else math.nan,
                         "sd": float(score["sd"]) if score and score.get("sd") is not None else math.nan,
                         "n": len(weighted) if score else 0, "target": float(spec["targets"][sensor]),
                         "tolerance": float(spec["tolerance"]),
                         "chosen": bool(score) and value is not None and chosen.get(name) == value,
                         "seconds": float(r["seconds"]) if r.get("seconds") is not None else math.nan})
    df = pd.DataFrame(rows, columns=list(ROUND_COLUMNS))
    return df.astype({"round": int, "n": int, "scored": bool, "chosen": bool})


def rounds_table(record: Mapping[str, Any]) -> pd.DataFrame:
    """The search's rounds for a page: per sensor its knob's value and the mean ± sd weighted F1 over the seeds.

    The score columns name the target (``"S1 weighted F1 (target 0.63 ± 0.02)"``); a value kept from
    an earlier round reads "kept (scored before)", and the chosen value carries "← chosen".
    """
    scores = round_scores(record)
    tol = float(record["spec"]["tolerance"])
    out: dict[str, list[Any]] = {"round": sorted(set(scores["round"]))}
    for sensor in _sensors(record):
        sub = scores[scores["sensor"] == sensor].set_index("round")
        name = record["spec"]["knobs"][sensor]["knob"]
        target = float(record["spec"]["targets"][sensor])
        label = modality_label(sensor)
        out[f"{label}: {name}"] = [f"{sub.loc[k, 'value']:g}" for k in out["round"]]
        out[f"{label} weighted F1 (target {target:.2f} ± {tol:.2f})"] = [
            (mean_sd(sub.loc[k, "mean"], sub.loc[k, "sd"], int(sub.loc[k, "n"]))
             + (" ← chosen" if sub.loc[k, "chosen"] else "")) if sub.loc[k, "scored"] else "kept (scored before)"
            for k in out["round"]]
    return pd.DataFrame(out)


# ----------------------------------------------------------------------------- what it achieved
def _baselines(source: ProfileSource) -> pd.DataFrame:
    from xmodal.report.selection import final_runs

    df = final_runs(source.results)
    return df[df["method"] == "baseline"]


def achieved_table(source: ProfileSource, record: Mapping[str, Any] | None = None,
                   confidence: float = CONFIDENCE) -> pd.DataFrame:
    """Per sensor: the Baseline's test weighted F1 in the calibrated world, its interval, n, the target.

    The mean is over the profile's seeds; its ``confidence`` interval is the t-interval of
    :func:`xmodal.analysis.stats.paired_difference` of the per-seed scores (minus 0), with the
    test scenes' bootstrap share (:func:`xmodal.analysis.bootstrap.scene_se`) when every seed was
    tested on the same scenes. ``within``: the mean lies within ± tolerance of the target;
    ``interval_within``: the whole interval does.

    Args:
        source: the profile's results.
        record: the calibration record (default: the source's).
        confidence: of the intervals.

    Returns:
        :data:`ACHIEVED_COLUMNS`, one row per sensor of the calibration block (sensors without
        a finished Baseline have n 0 and NaN scores).
    """
    from xmodal.analysis.bootstrap import scene_se

    record = record if record is not None else calibration_record(source)
    if record is None:
        return pd.DataFrame(columns=list(ACHIEVED_COLUMNS))
    base = _baselines(source)
    chosen = record.get("chosen") or {}
    tol = float(record["spec"]["tolerance"])
    rows = []
    for sensor in _sensors(record):
        name = record["spec"]["knobs"][sensor]["knob"]
        target = float(record["spec"]["targets"][sensor])
        sub = base[base["modality"] == sensor].drop_duplicates("seed")
        series = pd.Series(sub["weighted"].to_numpy(dtype=float), index=sub["seed"].astype(int).to_numpy())
        se = scene_se(base, source.predictions, ("baseline", sensor), None, "weighted") if len(sub) else math.nan
        d = paired_difference(series, None, confidence=confidence, se_scene=se)
        within = bool(d.n) and abs(d.estimate - target) <= tol + 1e-12
        interval_within = (d.n > 1 and math.isfinite(d.low) and d.low >= target - tol - 1e-12
                           and d.high <= target + tol + 1e-12)
        rows.append({"sensor": sensor, "knob": name, "value": chosen.get(name, math.nan), "target": target,
                     "tolerance": tol, "mean": d.estimate, "low": d.low, "high": d.high, "n": d.n,
                     "se_scene": se, "within": within, "interval_within": bool(interval_within)})
    return pd.DataFrame(rows, columns=list(ACHIEVED_COLUMNS))


def achieved_display(table: pd.DataFrame) -> pd.DataFrame:
    """:func:`achieved_table` as text cells."""
    return pd.DataFrame({
        "sensor": [modality_label(s) for s in table["sensor"]],
        "knob (chosen value)": [f"{k} = {v:g}" if v == v else k for k, v in zip(table["knob"], table["value"],
                                                                                 strict=True)],
        "target (paper)": [f"{t:.2f} ± {tol:.2f}" for t, tol in zip(table["target"], table["tolerance"], strict=True)],
        "test weighted F1 [95% interval]": [ci_text(m, lo, hi, int(n)) for m, lo, hi, n in
                                            zip(table["mean"], table["low"], table["high"], table["n"], strict=True)],
        "n (seeds)": table["n"].astype(int),
        "within ± tolerance": ["yes" if w else ("–" if not n else "no")
                               for w, n in zip(table["within"], table["n"], strict=True)],
    })


def achieved_text(table: pd.DataFrame, source: str, confidence: float = CONFIDENCE) -> str:
    """Markdown: for each sensor, its achieved test weighted F1 with interval and n against the target."""
    if not len(table):
        return "The calibration's record is missing, so there is no target to compare the runs with."
    said = []
    for _, r in table.iterrows():
        label = f"Baseline {modality_label(r['sensor'])}"
        if not r["n"]:
            said.append(f"{label}: no finished run, so nothing to compare with its target {r['target']:.2f}.")
            continue
        score = ci_text(r["mean"], r["low"], r["high"], int(r["n"]))
        band = f"{r['target'] - r['tolerance']:.2f} to {r['target'] + r['tolerance']:.2f}"
        gap = r["mean"] - r["target"]
        if r["within"]:
            how = (f"**within** ± {r['tolerance']:.2f} of the target {r['target']:.2f} (difference {gap:+.3f})"
                   + ("; the whole interval lies in the band " + band if r["interval_within"]
                      else f"; the interval reaches outside the band {band}"))
        else:
            how = (f"**outside** ± {r['tolerance']:.2f} of the target {r['target']:.2f} (difference {gap:+.3f}, "
                   f"band {band})")
        said.append(f"{label} ({r['knob']} = {r['value']:g}): test weighted F1 {score} over {int(r['n'])} seeds, "
                    f"{how}.")
    pct = f"{confidence:.0%}"
    return (" ".join(said) + f" Intervals: {pct}, over the seeds and, when every seed was scored on the same test "
            f"scenes, a bootstrap over those scenes. Data: {source}.")


# ----------------------------------------------------------------------------- class shares
def class_share_table(source: ProfileSource) -> pd.DataFrame:
    """The share of the calibrated world's test patches in which each class is present (label share > 0.3).

    Read from the archived targets (one class mask per test patch, the same for every run).
    Columns: class, patches, share, n (test patches). Empty when no run kept predictions.
    """
    preds = [p for p in source.predictions.values() if p.modalities]
    if not preds:
        return pd.DataFrame(columns=["class", "patches", "share", "n"])
    p = preds[0]
    target = np.asarray(p.target[p.modalities[0]], dtype=float) > 0.5
    n = int(target.shape[0])
    return pd.DataFrame({"class": list(p.class_names), "patches": target.sum(axis=0).astype(int),
                         "share": target.mean(axis=0) if n else np.zeros(len(p.class_names)), "n": n})


def class_share_text(shares: pd.DataFrame, source: str) -> str:
    """Markdown: why the calibrated world's class shares are the default world's, and how many patches show it."""
    why = ("The two knobs change the S1 (`s1_contrast`) or the S2 (`s2_noise`) files only, never the land cover "
           "nor the labels: the generator draws the land cover first, from the same generator seed, and only then "
           "renders each sensor from it, so the calibrated world's labels, and so its class shares, are the default "
           "world's exactly (`tests/test_worlds.py` checks that the land-cover files are identical).")
    if not len(shares):
        return why + " The runs kept no test predictions, so the shares cannot be shown from them."
    n = int(shares["n"].iloc[0])
    top = shares.sort_values("share", ascending=False, kind="stable").iloc[0]
    return (why + f" The table counts, over the {n} test patches of the calibrated world, in how many each class is "
            f"present (its share of the patch's label above 0.3); the most frequent is {top['class']} "
            f"({top['share']:.1%}). Data: {source}.")


# ----------------------------------------------------------------------------- the sentences
def calibration_text(source: ProfileSource | None, data_kind: str = "synthetic") -> str:
    """Markdown for the top of the section: which runs, the search's target and what it did, or how to make it.

    Args:
        source: the ``calibrated`` profile's results (:func:`calibration_source`), or None.
        data_kind: the kind of data the page's study ran on; on real data the text says that this
            section is about the synthetic world.
    """
    real = (f"*This book's study ran on {data_kind}; this section is about the synthetic world of the "
            "`calibrated` profile, not about the data of the other pages.* ") if data_kind != "synthetic" else ""
    if source is None:
        return real + ("*The `calibrated` profile has no finished run beside this study and no archive of its "
                       "results ships with this copy of xmodal, so this section has nothing to show.* To make "
                       "them: " + _HOW_TO_MAKE)
    text = real + (f"**Data of this section:** {source.source}. The data are **synthetic**: the calibrated world "
                   "of the generator, made and run by the profile `calibrated`.")
    if source.archived:
        text += (f" These are **archived** results (`{source.archive.path.name}`, written from the runs at commit "
                 f"`{source.archive.commit[:7]}` on {source.archive.date}): the profile's runs were not beside this "
                 "study.")
    else:
        text += " These are **live** runs, read from disk when the book was built."
    record = calibration_record(source)
    if record is None:
        return text + (" The runs carry no record of the calibration search (`<runs>/calibrated-calibration/"
                       "search.json` was not beside them), so the search cannot be shown. " + _HOW_TO_MAKE)
    spec = record["spec"]
    targets = ", ".join(f"{modality_label(s)} {t:.2f}" for s, t in spec["targets"].items())
    knobs = ", ".join(f"`{k['knob']}` for {modality_label(s)} (searched in [{k['low']:g}, {k['high']:g}], "
                      f"starting at {' and '.join(f'{v:g}' for v in k['start'])})" for s, k in spec["knobs"].items())
    seeds = spec["seeds"]
    rounds = record.get("rounds", [])
    text += (f" **Target:** the paper's Baselines (Figure 2, weighted F1): {targets}, within ± "
             f"{spec['tolerance']:.2f}. **Knobs:** {knobs}. **The search** (`xmodal.worlds.calibration`) trains "
             f"each sensor's Baseline at the study's settings on {len(seeds)} seeds ({', '.join(map(str, seeds))}) "
             f"and scores it on *calibration scenes*: every round draws the world anew with generator seed "
             f"{spec['data_seed']} instead of the study's, so the search never sees the study's own validation or "
             "test scenes, on which its result is measured below. A knob changes its own sensor's files only and a "
             "Baseline reads one sensor, so both searches share a round, and a sensor whose value was already "
             "scored keeps its score. After the start values it interpolates between the closest scores on "
             "either side of the target (a bracketing secant on the mean over the seeds); a sensor is done when a "
             "score comes within half the tolerance of its target, and the chosen value is the scored one "
             f"closest to it. It ran {len(rounds)} of at most {spec['rounds']} rounds")
    seconds = record.get("search_seconds")
    if seconds:
        text += f" in {seconds / 60:.0f} minutes of wall time"
    stopped = record.get("stopped") or ("every sensor within half the tolerance" if record.get("converged")
                                        else "without every sensor within half the tolerance")
    chosen = ", ".join(f"`{k}` = {v:g}" for k, v in (record.get("chosen") or {}).items())
    text += f" (stopped: {stopped}); it chose {chosen}."
    return text


def _effective(params: Mapping[str, Any]) -> dict[str, Any]:
    from xmodal.data.synthetic import SyntheticParams

    return SyntheticParams.from_dict(dict(params)).to_dict()


def world_differences(calibrated: Mapping[str, Any], default: Mapping[str, Any]) -> dict[str, tuple[Any, Any]]:
    """The generator parameters whose values differ between two worlds: ``name -> (default, calibrated)``.

    Both are ``data.synthetic.params`` of a profile; a parameter one of them leaves out takes the
    generator's default (so ``{}`` and ``{"s1_contrast": 1.0}`` are the same world).
    """
    a, b = _effective(default), _effective(calibrated)
    return {k: (a[k], b[k]) for k in sorted(set(default) | set(calibrated)) if a[k] != b[k]}


def _value(v: Any) -> str:
    return f"{v:g}" if isinstance(v, (int, float)) and not isinstance(v, bool) else str(v)


def _calibrated_params(source: ProfileSource) -> dict[str, Any]:
    spec = source.archive.meta.get("spec") or {}
    synth = ((spec.get("data") or {}).get("synthetic")) or {}
    if "params" in synth:
        return dict(synth.get("params") or {})
    record = calibration_record(source) or {}
    return {**(record.get("base_params") or {}), **(record.get("chosen") or {})}


def default_world_text(source: ProfileSource | None, default_params: Mapping[str, Any] | None = None) -> str:
    """Markdown: whether the calibrated world is the default study's world, and if not, why not.

    Args:
        source: the ``calibrated`` profile's results (None: nothing to compare).
        default_params: the default profile's generator parameters (default: those of
            ``xmodal/studies/default.yaml``).
    """
    if source is None:
        return ""
    if default_params is None:
        from xmodal.sweep import load_study

        default_params = (load_study("default")["data"].get("synthetic") or {}).get("params") or {}
    diff = world_differences(_calibrated_params(source), default_params)
    if not diff:
        return ("**The calibrated world is the default world:** the default profile's generator parameters equal "
                "the calibrated ones, so the other pages' runs are made in it.")
    said = ", ".join(f"`{k}` {_value(d)} in the default world, {_value(c)} in the calibrated one"
                     for k, (d, c) in diff.items())
    return (f"**The calibrated world is not the default world** ({said}): the other pages' runs are made in the "
            f"default world, and stay there. {NOT_DEFAULT_REASON}")
