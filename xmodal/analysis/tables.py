"""Tables and statistics of a study: pure functions, tables or arrays in, tables out.

The inputs are what :mod:`xmodal.results` loads from the run folders:

* the tidy *results* table of :func:`xmodal.results.load_results`: one row per run and
  sensor (columns ``method``, ``modality``, ``trained_modalities``, ``n_train``,
  ``n_train_requested``, ``seed``, ``macro``, ``weighted``, ``status``, ``run_dir``, ...);
* the tidy *pair homogeneity* table of :func:`xmodal.results.load_homogeneity`: one row
  per run (or pair of single-sensor baselines) and pair of sensors, columns
  :data:`PAIR_COLUMNS`;
* a run's :class:`~xmodal.rundir.Predictions` and :class:`~xmodal.rundir.Latents`,
  and the synthetic generator's parameters.

Nothing here reads a run folder, trains or draws: :mod:`xmodal.results` loads and
:mod:`xmodal.plots` draws. Sensors are never named in the logic: they are the ones the
tables hold (the runs' configs), ordered as the data layer lists its modalities, and
pairs of sensors are :func:`itertools.combinations` of them. The only sensor names are
those of the numbers quoted from the paper (:data:`PAPER_SCORES`,
:data:`PAPER_HOMOGENEITY`): the paper's claims are checked on the sensors it reports.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from xmodal.config import METHODS
from xmodal.data.layout import parse_patch_id
from xmodal.data.normalize import MODALITIES, modality_label
from xmodal.metrics import F1_THRESHOLD, homogeneity
from xmodal.rundir import Latents, Predictions, align_ids

from . import stats

__all__ = [
    "PAIR_COLUMNS",
    "PAPER_HOMOGENEITY",
    "PAPER_LABEL",
    "PAPER_SCORES",
    "CLAIM_COLUMNS",
    "CONTEXT_COLUMNS",
    "VERDICTS",
    "ADVERSARY_QUANTITIES",
    "EPISODE_COLUMNS",
    "FLIP_MARGIN",
    "NOT_RECORDED",
    "SUMMARY_COLUMNS",
    "TRADEOFF_KEYS",
    "adversary_curves",
    "adversary_episodes",
    "adversary_final",
    "adversary_text",
    "baseline_homogeneity",
    "baseline_pairs",
    "biome_table",
    "claims",
    "claims_summary",
    "class_frequency_table",
    "comparison_table",
    "final_pairs",
    "final_runs",
    "gap_per_seed",
    "gap_table",
    "homogeneity_context",
    "homogeneity_context_table",
    "homogeneity_table",
    "latent_embedding",
    "label_settings",
    "latent_mixing",
    "latent_contrasts",
    "latent_measure_specs",
    "latent_summary",
    "latent_text",
    "leakage_table",
    "method_label",
    "methods_in",
    "mined_triplets",
    "most_mixed",
    "ok_runs",
    "paper_homogeneity",
    "paper_score",
    "paper_sensors",
    "params_overview",
    "params_table",
    "pick_patches",
    "score_table",
    "sensor_order",
    "sensor_pairs",
    "sensors_in",
    "soft_label_table",
    "source_note",
    "summary_display",
    "summary_table",
    "tradeoff_display",
    "tradeoff_summary",
    "tradeoff_text",
    "training_budget",
]

# ----------------------------------------------------------------------------- the paper's numbers
#: Macro and weighted F1 *reported by the paper* (Senchugova and Hänsch, Sec. 3.2 and Figure 2),
#: per (method, sensor). C+M and C+T appear only in the paper's Figure 2, without numbers.
PAPER_SCORES: dict[tuple[str, str], dict[str, float]] = {
    ("baseline", "s1"): {"macro": 0.58, "weighted": 0.63},
    ("baseline", "s2"): {"macro": 0.68, "weighted": 0.77},
    ("C", "s1"): {"macro": 0.60, "weighted": 0.73},
    ("C", "s2"): {"macro": 0.71, "weighted": 0.80},
    ("C+T+M", "s1"): {"macro": 0.55, "weighted": 0.70},
    ("C+T+M", "s2"): {"macro": 0.64, "weighted": 0.79},
}
#: Homogeneity s of eq. (5) *reported by the paper*, per (method, sensor, sensor).
PAPER_HOMOGENEITY: dict[tuple[str, str, str], float] = {
    ("baseline", "s1", "s2"): 0.63,
    ("C", "s1", "s2"): 0.66,
    ("C+T+M", "s1", "s2"): 0.67,
}
#: Where the paper's numbers come from, for captions.
PAPER_LABEL = "reported by the paper (SEN12MS winter, 27,825 training and 4,000 test patches, ResNet50)"

#: Columns of the pair homogeneity tables (:func:`baseline_homogeneity`,
#: :func:`xmodal.results.load_homogeneity`): ``n_train`` is the requested training-set size
#: (missing: the whole split); ``run_dir_a`` and ``run_dir_b`` are the same folder for a joint model.
PAIR_COLUMNS: tuple[str, ...] = (
    "study", "method", "sensor_a", "sensor_b", "n_train", "seed", "homogeneity", "n_pairs",
    "run_dir_a", "run_dir_b",
)

#: Verdicts of :func:`claims` (from :func:`xmodal.analysis.stats.claim_verdicts`).
VERDICTS: tuple[str, ...] = stats.VERDICTS
#: Columns of :func:`claims`.
CLAIM_COLUMNS: tuple[str, ...] = ("claim", "paper reports", "this study", "kind", "null", "estimate", "low", "high",
                                  "half_width", "n", "p", "p_holm", "verdict")


def paper_score(method: str, sensor: str, metric: str) -> float | None:
    """The paper's ``metric`` (macro / weighted F1) of ``method`` on ``sensor``, or ``None``."""
    return PAPER_SCORES.get((method, sensor), {}).get(metric)


def paper_homogeneity(method: str, a: str, b: str) -> float | None:
    """The paper's homogeneity of ``method`` between sensors ``a`` and ``b`` (either order), or ``None``."""
    return PAPER_HOMOGENEITY.get((method, a, b), PAPER_HOMOGENEITY.get((method, b, a)))


def paper_sensors() -> list[str]:
    """The sensors the paper reports scores for, in display order."""
    return sensor_order(s for _, s in PAPER_SCORES)


# ----------------------------------------------------------------------------- vocabulary
def method_label(method: str, sensor: str | None = None) -> str:
    """Display name of a method (``"baseline"`` -> ``"Baseline"``), with a sensor's label when given."""
    name = "Baseline" if method == "baseline" else method
    return f"{name} {modality_label(sensor)}" if sensor else name


def sensor_order(sensors: Iterable[str]) -> list[str]:
    """``sensors`` without repeats, in the data layer's order of modalities (unknown ones last, sorted)."""
    present = {str(s) for s in sensors}
    return [m for m in MODALITIES if m in present] + sorted(present - set(MODALITIES))


def sensor_pairs(sensors: Iterable[str]) -> list[tuple[str, str]]:
    """Every pair of ``sensors`` once, each pair and the pairs in :func:`sensor_order`."""
    return list(itertools.combinations(sensor_order(sensors), 2))


def sensors_in(table: pd.DataFrame, column: str = "modality") -> list[str]:
    """The sensors of a table's ``column``, in :func:`sensor_order`."""
    return sensor_order(table[column].dropna()) if column in table.columns else []


def methods_in(table: pd.DataFrame) -> list[str]:
    """The methods of a table, in the order of :data:`xmodal.config.METHODS` (unknown ones last)."""
    present = set(table["method"].dropna())
    return [m for m in METHODS if m in present] + sorted(present - set(METHODS))


def _order_key(order: Sequence[str]) -> Any:
    rank = {v: i for i, v in enumerate(order)}
    return lambda col: col.map(lambda v: rank.get(v, len(rank)))


def _pair_text(a: str, b: str) -> str:
    return f"{modality_label(a)}, {modality_label(b)}"


def _flat(columns: pd.Index) -> list[str]:
    """``("macro", "mean")`` -> ``"macro_mean"``: the columns of an aggregated table."""
    return ["_".join(map(str, c)) for c in columns]


def _fmt(mean: float, std: float, n: int) -> str:
    if mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return "–"
    if n and n > 1 and std == std:
        return f"{mean:.3f} ± {std:.3f} (n={n})"
    return f"{mean:.3f} (n={n})"


# ----------------------------------------------------------------------------- runs
def ok_runs(results: pd.DataFrame) -> pd.DataFrame:
    """The rows of finished runs (all rows when the table has no ``status``)."""
    if "status" in results.columns:
        return results[results["status"] == "ok"]
    return results


def is_disjoint(method: str) -> bool:
    """Whether a results table's method label is a run on disjoint scenes (``"C (disjoint)"``, see ``method_of``)."""
    tags = method.partition("(")[2].rstrip(")")
    return "disjoint" in [t.strip() for t in tags.split(",")]


def final_runs(results: pd.DataFrame) -> pd.DataFrame:
    """Rows of the runs on the full training set (the runs of the paper's Figure 2).

    Rows with ``n_train_requested`` missing (the whole split); for a method without such
    runs, those with its largest training set, except runs on disjoint scenes (which see
    part of the training set by design: :func:`pairing_table` compares them).
    """
    ok = ok_runs(results)
    full = ok[ok["n_train_requested"].isna()]
    rest = []
    for m in sorted(set(ok["method"]) - set(full["method"])):
        if is_disjoint(str(m)):
            continue
        sub = ok[ok["method"] == m]
        rest.append(sub[sub["n_train"] == sub["n_train"].max()])
    return pd.concat([full, *rest]) if rest else full


def showcase_runs(results: pd.DataFrame, seeds: int = 3) -> list[str]:
    """Run folders a page shows one by one: every method's full-training-set runs, its first ``seeds`` seeds.

    A study may hold many seeds and sizes; an interactive page (the explorer) needs one
    model per menu choice, not every run.
    """
    df = final_runs(results)
    out: list[str] = []
    for _, sub in df.groupby(["method", "trained_modalities"], sort=False):
        first = sorted(int(v) for v in sub["seed"].dropna().unique())[:seeds]
        out.extend(sub[sub["seed"].isin(first)]["run_dir"].drop_duplicates().astype(str))
    return sorted(set(out))


def source_note(results: pd.DataFrame, study: str | None = None) -> str:
    """Which data and how many runs a figure shows (one line for captions and titles).

    E.g. ``"synthetic SEN12MS-like data, winter, scene split; 14 runs of study 'quick', seeds 0"``.
    """
    ok = ok_runs(results)
    if len(ok) == 0:
        return "no finished run"
    kinds = sorted({str(k) for k in ok["data_kind"].dropna()}) if "data_kind" in ok else []
    kind = "/".join(kinds) if kinds else "unknown data"
    kind = {"synthetic": "synthetic SEN12MS-like data", "SEN12MS": "SEN12MS"}.get(kind, kind)
    seasons = sorted({str(s) for s in ok["season"].dropna()}) if "season" in ok else []
    splits = sorted({str(s) for s in ok["split"].dropna()}) if "split" in ok else []
    n_runs = ok["run_dir"].nunique() if "run_dir" in ok else len(ok)
    seeds = sorted({int(s) for s in ok["seed"].dropna()}) if "seed" in ok else []
    parts = [kind]
    if seasons:
        parts.append("/".join(seasons))
    if splits:
        parts.append("/".join(splits) + " split")
    where = f" of study '{study}'" if study else ""
    seed_txt = f", seeds {', '.join(map(str, seeds))}" if seeds else ""
    return f"{', '.join(parts)}; {n_runs} runs{where}{seed_txt}"


def summary_table(results: pd.DataFrame, by_size: bool = True) -> pd.DataFrame:
    """Mean, standard deviation and count of the scores per method x sensor (x training-set size).

    Only finished runs count; the ``n`` column is the number of runs (seeds).
    """
    ok = ok_runs(results)
    keys = ["method", "modality"] + (["n_train_requested"] if by_size else [])
    metrics = [c for c in ("macro", "weighted", "homogeneity") if c in ok]
    out = ok.groupby(keys, dropna=False)[metrics].agg(["mean", "std"])
    out.columns = _flat(out.columns)
    out["n"] = ok.groupby(keys, dropna=False).size()
    return out.reset_index().rename(columns={"n_train_requested": "n_train"})


# ----------------------------------------------------------------------------- scores
def score_table(results: pd.DataFrame, metrics: Sequence[str] = ("macro", "weighted")) -> pd.DataFrame:
    """Mean, standard deviation (over seeds) and number of runs per method and sensor, full training set."""
    df = final_runs(results)
    g = df.groupby(["method", "modality"])[list(metrics)]
    out = g.agg(["mean", "std", "count"])
    out.columns = _flat(out.columns)
    out = out.reset_index()
    methods, sensors = _order_key(methods_in(df)), _order_key(sensors_in(df))
    return out.sort_values(["method", "modality"], key=lambda c: methods(c) if c.name == "method" else sensors(c)
                           ).reset_index(drop=True)


def comparison_table(results: pd.DataFrame) -> pd.DataFrame:
    """Macro and weighted F1 per method and sensor beside the numbers reported by the paper."""
    rows = []
    for _, r in score_table(results).iterrows():
        macro = paper_score(r["method"], r["modality"], "macro")
        weighted = paper_score(r["method"], r["modality"], "weighted")
        rows.append({
            "method": method_label(r["method"]),
            "modality": modality_label(r["modality"]),
            "macro F1 (this study)": _fmt(r["macro_mean"], r["macro_std"], int(r["macro_count"])),
            "macro F1 (paper)": f"{macro:.2f}" if macro is not None else "–",
            "weighted F1 (this study)": _fmt(r["weighted_mean"], r["weighted_std"], int(r["weighted_count"])),
            "weighted F1 (paper)": f"{weighted:.2f}" if weighted is not None else "–",
        })
    return pd.DataFrame(rows, columns=["method", "modality", "macro F1 (this study)", "macro F1 (paper)",
                                       "weighted F1 (this study)", "weighted F1 (paper)"])


# ----------------------------------------------------------------------------- homogeneity
def baseline_pairs(results: pd.DataFrame) -> pd.DataFrame:
    """Pairs of single-sensor Baseline runs to compare: every pair of sensors, same study, seed, size.

    Returns:
        One row per pair: study, method (``"baseline"``), sensor_a, sensor_b, n_train
        (requested), seed, run_dir_a, run_dir_b; a sensor with several runs of the same
        study, seed and size uses the first.
    """
    cols = ["study", "method", "sensor_a", "sensor_b", "n_train", "seed", "run_dir_a", "run_dir_b"]
    ok = ok_runs(results)
    base = ok[(ok["method"] == "baseline") & (ok["trained_modalities"] == ok["modality"])]
    keys = ["study", "n_train_requested", "seed"]
    runs = {s: base[base["modality"] == s].drop_duplicates(keys).set_index(keys)["run_dir"]
            for s in sensors_in(base)}
    rows = []
    for a, b in sensor_pairs(runs):
        for key in runs[a].index.intersection(runs[b].index):
            rows.append({"study": key[0], "method": "baseline", "sensor_a": a, "sensor_b": b, "n_train": key[1],
                         "seed": key[2], "run_dir_a": runs[a][key], "run_dir_b": runs[b][key]})
    return pd.DataFrame(rows, columns=cols)


def baseline_homogeneity(pairs: pd.DataFrame, predictions: Mapping[str, Predictions]) -> pd.DataFrame:
    """Cross-modal homogeneity (eq. 5) of separately trained single-sensor Baselines.

    The paper's baseline homogeneity (0.63) compares a model trained on S1 only with one
    trained on S2 only. For every pair of :func:`baseline_pairs`, the test predictions of
    the two runs are aligned by patch id and compared with :func:`xmodal.metrics.homogeneity`.

    Args:
        pairs: :func:`baseline_pairs` of a results table.
        predictions: run folder (as in ``run_dir_a`` / ``run_dir_b``) -> its predictions.

    Returns:
        :data:`PAIR_COLUMNS`: one row per pair with at least one common test patch.
    """
    rows = []
    for _, p in pairs.iterrows():
        a, b = p["sensor_a"], p["sensor_b"]
        pa, pb = predictions[str(p["run_dir_a"])], predictions[str(p["run_dir_b"])]
        ia, ib = align_ids(pa.ids[a], pb.ids[b])
        if len(ia) == 0:
            continue
        rows.append({**{c: p[c] for c in pairs.columns if c in PAIR_COLUMNS},
                     "homogeneity": homogeneity(pa.prob[a][ia], pb.prob[b][ib]), "n_pairs": len(ia)})
    return pd.DataFrame(rows, columns=list(PAIR_COLUMNS))


def final_pairs(pairs: pd.DataFrame) -> pd.DataFrame:
    """Rows of a pair homogeneity table on the full training set, without missing scores.

    Per method: the runs on the whole split, or else those on its largest training set.
    """
    df = pairs.dropna(subset=["homogeneity"])
    keep = []
    for method, sub in df.groupby("method", sort=False):
        if is_disjoint(str(method)):
            continue
        full = sub[sub["n_train"].isna()]
        keep.append(full if len(full) else sub[sub["n_train"] == sub["n_train"].max()])
    return pd.concat(keep) if keep else df


def homogeneity_table(pairs: pd.DataFrame) -> pd.DataFrame:
    """Homogeneity s (eq. 5) per method and pair of sensors, beside the value reported by the paper.

    Args:
        pairs: the pair homogeneity table (:func:`xmodal.results.load_homogeneity`): the
            joint models' scores and the Baselines' (two separately trained models).

    Returns:
        method, sensors, "s (this study)", "s (paper)", s_mean, s_std, n (runs).
    """
    cols = ["method", "sensors", "s (this study)", "s (paper)", "s_mean", "s_std", "n"]
    df = final_pairs(pairs)
    rows = []
    for m in methods_in(df) if len(df) else []:
        for a, b in sensor_pairs(sensors_in(df, "sensor_a") + sensors_in(df, "sensor_b")):
            sel = (df["method"] == m) & (((df["sensor_a"] == a) & (df["sensor_b"] == b))
                                         | ((df["sensor_a"] == b) & (df["sensor_b"] == a)))
            v = df[sel]["homogeneity"]
            if len(v) == 0:
                continue
            paper = paper_homogeneity(m, a, b)
            rows.append({"method": method_label(m), "sensors": _pair_text(a, b),
                         "s (this study)": _fmt(v.mean(), v.std(), len(v)),
                         "s (paper)": f"{paper:.2f}" if paper is not None else "–",
                         "s_mean": v.mean(), "s_std": v.std(), "n": len(v)})
    return pd.DataFrame(rows, columns=cols)


#: Columns of :func:`homogeneity_context`: the pair's keys, then
#: :func:`xmodal.analysis.stats.homogeneity_references`' numbers.
CONTEXT_COLUMNS: tuple[str, ...] = (
    "method", "sensor_a", "sensor_b", "seed", "n", "s", "hi_a", "hi_b", "s_lower_bound", "s_lower_bound_per_patch",
    "s_constant", "hi_constant", "f1_weighted_constant", "error_correlation", "both_miss",
    "both_miss_if_independent", "same_top_class",
)


def homogeneity_context(pairs: pd.DataFrame, predictions: Mapping[str, Predictions],
                        priors: Mapping[str, np.ndarray] | None = None) -> pd.DataFrame:
    """What each homogeneity score of ``pairs`` is to be compared with (s alone says little).

    For every row of a pair table on the full training set (:func:`final_pairs`), the two
    sensors' test predictions are aligned by patch id and passed to
    :func:`xmodal.analysis.stats.homogeneity_references`: the accuracy-implied lower
    bound ``HI_a + HI_b - 1``, the score of a constant predictor (1 by construction) and its
    agreement with the labels, and how far the two sensors' errors coincide.

    Args:
        pairs: a pair homogeneity table (:data:`PAIR_COLUMNS`).
        predictions: run folder -> its predictions (every ``run_dir_a`` / ``run_dir_b``).
        priors: run folder -> the training labels' mean histogram (the constant
            predictor); a run without one uses its test labels' mean.

    Returns:
        :data:`CONTEXT_COLUMNS`, one row per pair with common test patches.
    """
    rows = []
    for _, p in final_pairs(pairs).iterrows():
        a, b = p["sensor_a"], p["sensor_b"]
        pa, pb = predictions[str(p["run_dir_a"])], predictions[str(p["run_dir_b"])]
        ia, ib = align_ids(pa.ids[a], pb.ids[b])
        if len(ia) == 0:
            continue
        prior = (priors or {}).get(str(p["run_dir_a"]))
        refs = stats.homogeneity_references(pa.target[a][ia], pa.prob[a][ia], pb.prob[b][ib], prior=prior)
        rows.append({"method": p["method"], "sensor_a": a, "sensor_b": b, "seed": p["seed"],
                     **{k: refs[k] for k in CONTEXT_COLUMNS[4:]}})
    return pd.DataFrame(rows, columns=list(CONTEXT_COLUMNS))


def homogeneity_context_table(context: pd.DataFrame, confidence: float = stats.CONFIDENCE) -> pd.DataFrame:
    """Per method and pair of sensors: s beside its references, each mean [95% interval] over seeds.

    Columns: method, sensors, n (seeds), "s", "lower bound from accuracy", "s − bound",
    "constant predictor: HI with labels", "both sensors miss the dominant class",
    "... if their errors were independent", "error correlation".
    """
    def ci(v: pd.Series) -> str:
        d = stats.paired_difference(v.to_numpy(dtype=float), confidence=confidence)
        if d.n == 0:
            return "–"
        return f"{d.estimate:.3f}" + (f" [{d.low:.3f}, {d.high:.3f}]" if d.n > 1 else "")

    cols = ["method", "sensors", "n", "s", "lower bound from accuracy", "s − bound",
            "constant predictor: HI with labels", "both miss the dominant class", "… if errors were independent",
            "error correlation"]
    rows = []
    for m in methods_in(context) if len(context) else []:
        for a, b in sensor_pairs(sensors_in(context, "sensor_a") + sensors_in(context, "sensor_b")):
            sub = context[(context["method"] == m) & (((context["sensor_a"] == a) & (context["sensor_b"] == b))
                                                      | ((context["sensor_a"] == b) & (context["sensor_b"] == a)))]
            if len(sub) == 0:
                continue
            rows.append({"method": method_label(m), "sensors": _pair_text(a, b), "n": len(sub),
                         "s": ci(sub["s"]), "lower bound from accuracy": ci(sub["s_lower_bound"]),
                         "s − bound": ci(sub["s"] - sub["s_lower_bound"]),
                         "constant predictor: HI with labels": ci(sub["hi_constant"]),
                         "both miss the dominant class": ci(sub["both_miss"]),
                         "… if errors were independent": ci(sub["both_miss_if_independent"]),
                         "error correlation": ci(sub["error_correlation"])})
    return pd.DataFrame(rows, columns=cols)


def _pair_series(pairs: pd.DataFrame, a: str, b: str) -> pd.Series:
    """Homogeneity per (method, seed) between ``a`` and ``b`` on the full training set."""
    df = final_pairs(pairs)
    sel = ((df["sensor_a"] == a) & (df["sensor_b"] == b)) | ((df["sensor_a"] == b) & (df["sensor_b"] == a))
    return df[sel].groupby(["method", "seed"])["homogeneity"].mean()


# ----------------------------------------------------------------------------- gaps between sensors
def gap_per_seed(results: pd.DataFrame, metric: str, a: str, b: str) -> pd.DataFrame:
    """``b`` minus ``a`` score per method and seed (full training set): columns method, seed, gap."""
    df = final_runs(results)
    piv = df.pivot_table(index=["method", "seed"], columns="modality", values=metric, aggfunc="mean")
    if a not in piv or b not in piv:
        return pd.DataFrame(columns=["method", "seed", "gap"])
    return (piv[b] - piv[a]).dropna().rename("gap").reset_index()


def gap_table(results: pd.DataFrame) -> pd.DataFrame:
    """The gap between every pair of sensors in macro and weighted F1 per method, beside the paper's.

    A pair's gap is the later sensor minus the earlier one in display order (S2 minus S1).
    """
    cols = ["method", "sensors", "macro gap (this study)", "macro gap (paper)",
            "weighted gap (this study)", "weighted gap (paper)"]
    rows = []
    for a, b in sensor_pairs(sensors_in(final_runs(results))):
        macro = gap_per_seed(results, "macro", a, b)
        weighted = gap_per_seed(results, "weighted", a, b)
        for m in methods_in(macro) if len(macro) else []:
            gm = macro[macro["method"] == m]["gap"]
            gw = weighted[weighted["method"] == m]["gap"]
            paper = {}
            for metric in ("macro", "weighted"):
                pa, pb = paper_score(m, a, metric), paper_score(m, b, metric)
                paper[metric] = f"{pb - pa:.2f}" if pa is not None and pb is not None else "–"
            rows.append({
                "method": method_label(m),
                "sensors": f"{modality_label(b)} − {modality_label(a)}",
                "macro gap (this study)": _fmt(gm.mean(), gm.std(), len(gm)),
                "macro gap (paper)": paper["macro"],
                "weighted gap (this study)": _fmt(gw.mean(), gw.std(), len(gw)),
                "weighted gap (paper)": paper["weighted"],
            })
    return pd.DataFrame(rows, columns=cols)


# ----------------------------------------------------------------------------- paired comparisons
#: Columns of :func:`comparisons`.
COMPARISON_COLUMNS: tuple[str, ...] = (
    "sensor", "a", "b", "comparison", "estimate", "low", "high", "half_width", "n", "se_seed", "se_scene", "df",
)

#: The half-width the default study is designed to reach on every paired comparison of Figure 2.
TARGET_HALF_WIDTH: float = 0.03


def scene_ids(ids: Sequence[str] | np.ndarray) -> np.ndarray:
    """The scene of every patch id (``"ROIs2017_winter_12_p34"`` -> ``"ROIs2017_winter_12"``).

    Raises:
        ValueError: an id that is not a SEN12MS patch id (:func:`xmodal.data.layout.parse_patch_id`).
    """
    keys = [parse_patch_id(str(i)) for i in ids]
    return np.array([f"{k.season_folder}_{k.scene}" for k in keys])


def seed_predictions(rows: pd.DataFrame, predictions: Mapping[str, Predictions], method: str,
                     sensor: str) -> dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Per seed, ``(ids, target, prob)`` of ``method`` on ``sensor`` among ``rows`` (runs without predictions: none)."""
    sub = rows[(rows["method"] == method) & (rows["modality"] == sensor)]
    out: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    for _, r in sub.drop_duplicates("seed").iterrows():
        p = predictions.get(str(r["run_dir"]))
        if p is None or sensor not in p.ids:
            continue
        out[int(r["seed"])] = (np.asarray(p.ids[sensor]).astype(str), p.target[sensor], p.prob[sensor])
    return out


def scene_se(rows: pd.DataFrame, predictions: Mapping[str, Predictions], a: tuple[str, str],
             b: tuple[str, str] | None, metric: str = "weighted") -> float:
    """The test scenes' standard error of ``mean over seeds (F1_a - F1_b)`` (:func:`stats.scene_bootstrap_se`).

    ``a`` and ``b`` are ``(method, sensor)``, paired by seed among ``rows``. Defined only when every
    run was tested on the same patches (one split for all seeds); otherwise each seed drew its
    own test scenes, the seeds' spread already holds the split's share, and the result is NaN.
    """
    ra = seed_predictions(rows, predictions, *a)
    rb = seed_predictions(rows, predictions, *b) if b is not None else {}
    seeds = sorted(set(ra) & set(rb)) if b is not None else sorted(ra)
    if not seeds:
        return math.nan
    ref = ra[seeds[0]][0]
    runs = [ra[k] for k in seeds] + ([rb[k] for k in seeds] if b is not None else [])
    if any(len(r[0]) != len(ref) or set(r[0]) != set(ref) for r in runs):
        return math.nan
    aligned = []
    for ids, target, prob in runs:
        ia, ib = align_ids(ref, ids)
        aligned.append((target[ib], prob[ib]))
    groups = scene_ids(ref)
    if len(set(groups)) < 2:
        return math.nan
    k = len(seeds)
    return stats.scene_bootstrap_se(aligned[:k], aligned[k:] if b is not None else None, groups, average=metric)


def comparisons(results: pd.DataFrame, predictions: Mapping[str, Predictions] | None = None, *,
                metric: str = "weighted", methods: Sequence[str] | None = None,
                confidence: float = stats.CONFIDENCE) -> pd.DataFrame:
    """Every paired comparison of Figure 2: method against method, same sensor, full training set.

    For each sensor and each pair of methods (later minus earlier in the paper's order;
    the Baseline first), the mean difference over the seeds both methods ran, its
    ``confidence`` interval and half-width (:func:`stats.paired_difference`): the seeds'
    spread plus, when every run saw the same test patches and ``predictions`` are given,
    the test scenes' bootstrap standard error (:func:`scene_se`).

    Returns:
        :data:`COMPARISON_COLUMNS`, one row per comparison.
    """
    df = final_runs(results)
    order = [m for m in (methods or METHODS) if m in set(df["method"])]
    rows = []
    for sensor in sensors_in(df):
        for i, j in itertools.combinations(range(len(order)), 2):
            a, b = order[j], order[i]

            def series(m: str, sensor: str = sensor) -> pd.Series:
                sub = df[(df["method"] == m) & (df["modality"] == sensor)]
                return sub.groupby("seed")[metric].mean()

            sa, sb = series(a), series(b)
            if not len(sa) or not len(sb):
                continue
            se = scene_se(df, predictions, (a, sensor), (b, sensor), metric) if predictions is not None else math.nan
            d = stats.paired_difference(sa, sb, confidence=confidence, se_scene=se)
            rows.append({"sensor": sensor, "a": a, "b": b,
                         "comparison": f"{method_label(a)} − {method_label(b)}",
                         "estimate": d.estimate, "low": d.low, "high": d.high, "half_width": d.half_width,
                         "n": d.n, "se_seed": d.se_seed, "se_scene": d.se_scene, "df": d.df})
    return pd.DataFrame(rows, columns=list(COMPARISON_COLUMNS))


def comparisons_display(table: pd.DataFrame, digits: int = 3) -> pd.DataFrame:
    """:func:`comparisons` as the book shows it: one row per comparison, sensors side by side."""
    if not len(table):
        return pd.DataFrame()
    texts = []
    for r in table.to_dict(orient="records"):
        n = int(r["n"])
        est = f"{float(r['estimate']):+.{digits}f}"
        if n > 1:
            texts.append(f"{est} [{float(r['low']):+.{digits}f}, {float(r['high']):+.{digits}f}] "
                         f"±{float(r['half_width']):.{digits}f} (n={n})")
        else:
            texts.append(f"{est} (n={n})" if n else "–")
    cells = table.assign(text=texts)
    wide = cells.pivot_table(index="comparison", columns="sensor", values="text", aggfunc="first", sort=False)
    wide.columns = [modality_label(c) for c in wide.columns]
    return wide.reset_index()


def comparisons_text(table: pd.DataFrame, source: str | None = None,
                     target: float = TARGET_HALF_WIDTH) -> str:
    """How precise the Figure-2 comparisons are: widest half-width, how many meet ``target`` (computed)."""
    ok = table.dropna(subset=["half_width"])
    if not len(ok):
        return "No paired comparison has two seeds or more: no interval can be given."
    widest = ok.sort_values("half_width").iloc[-1]
    within = int((ok["half_width"] <= target).sum())
    seeds = sorted({int(n) for n in ok["n"]})
    n_text = f"{seeds[0]}" if len(seeds) == 1 else f"{seeds[0]}-{seeds[-1]}"
    scene = ok["se_scene"].fillna(0.0) > 0
    how = ("the seeds' spread and a bootstrap over the test scenes" if scene.all() else
           "the seeds' spread alone" if not scene.any() else
           "the seeds' spread, and a bootstrap over the test scenes where all runs share them")
    where = f" ({source})" if source else ""
    return (f"{len(ok)} paired comparisons{where}, {n_text} seeds each; intervals from {how}. "
            f"Half-widths {ok['half_width'].min():.3f}-{ok['half_width'].max():.3f}: **{within} of {len(ok)}** "
            f"are within ±{target:.2f}; the widest is {widest['comparison']} on "
            f"{modality_label(str(widest['sensor']))} (±{widest['half_width']:.3f}).")


#: Columns of :func:`pairing_table`.
PAIRING_COLUMNS: tuple[str, ...] = (
    "method", "measure", "aligned", "disjoint", "estimate", "low", "high", "half_width", "n", "verdict",
)


def pairing_table(results: pd.DataFrame, pairs: pd.DataFrame | None = None,
                  predictions: Mapping[str, Predictions] | None = None, *,
                  margin: float = stats.NONINFERIORITY_MARGIN, confidence: float = stats.CONFIDENCE) -> pd.DataFrame:
    """Training without aligned data: each method on disjoint scenes against itself on aligned patches.

    For every method run with ``pairing: disjoint`` (method label ``"<m> (disjoint)"``) and
    the same method on aligned patches at the same training-set size, paired by seed: the
    weighted F1 on each sensor and the homogeneity of every pair of sensors, the disjoint
    run minus the aligned one, with its interval (test scenes included for F1, as in
    :func:`comparisons`) and a non-inferiority verdict at ``margin`` (the paper's premise:
    aligned training data is not needed, so the disjoint runs should *keep* the aligned
    ones' accuracy and homogeneity). The verdicts form one Holm family.

    Returns:
        :data:`PAIRING_COLUMNS` (``aligned``/``disjoint``: mean over seeds).
    """
    ok = ok_runs(results)
    claims_rows = []
    for dis in sorted(m for m in set(ok["method"]) if is_disjoint(str(m))):
        base = str(dis).partition(" (")[0]
        sizes = ok.loc[ok["method"] == dis, "n_train_requested"]
        for n in sizes.drop_duplicates():
            same = ok["n_train_requested"].isna() if pd.isna(n) else ok["n_train_requested"] == n
            rows = ok[same & ok["method"].isin([dis, base])]
            for sensor in sensors_in(rows[rows["method"] == dis]):
                def series(m: str, sensor: str = sensor, rows: pd.DataFrame = rows) -> pd.Series:
                    return rows[(rows["method"] == m) & (rows["modality"] == sensor)].groupby("seed")["weighted"].mean()

                se = (scene_se(rows, predictions, (dis, sensor), (base, sensor)) if predictions is not None
                      else math.nan)
                claims_rows.append({"claim": f"{base}: {modality_label(sensor)} weighted F1", "method": base,
                                    "measure": f"weighted F1, {modality_label(sensor)}", "a": series(dis),
                                    "b": series(base), "se_scene": se, "kind": "noninferior", "margin": margin})
            if pairs is not None and len(pairs):
                p_same = pairs["n_train"].isna() if pd.isna(n) else pairs["n_train"] == n
                psub = pairs[p_same & pairs["method"].isin([dis, base])]
                for (sa, sb), grp in psub.groupby(["sensor_a", "sensor_b"], sort=False):
                    def hs(m: str, grp: pd.DataFrame = grp) -> pd.Series:
                        return grp[grp["method"] == m].groupby("seed")["homogeneity"].mean()

                    if len(hs(dis)):
                        pair = _pair_text(str(sa), str(sb))
                        claims_rows.append({"claim": f"{base}: homogeneity {pair}", "method": base,
                                            "measure": f"homogeneity s, {pair}", "a": hs(dis),
                                            "b": hs(base), "kind": "noninferior", "margin": margin})
    if not claims_rows:
        return pd.DataFrame(columns=list(PAIRING_COLUMNS))
    table = pd.DataFrame(claims_rows)
    means = [(float(pd.Series(r["b"]).mean()), float(pd.Series(r["a"]).mean())) for r in claims_rows]
    out = stats.claim_verdicts(table, confidence=confidence)
    out["aligned"] = [m[0] for m in means]
    out["disjoint"] = [m[1] for m in means]
    return out[list(PAIRING_COLUMNS)].reset_index(drop=True)


def pairing_display(table: pd.DataFrame, digits: int = 3) -> pd.DataFrame:
    """:func:`pairing_table` as text cells."""
    if not len(table):
        return pd.DataFrame(columns=["method", "measure", "aligned", "disjoint", "disjoint − aligned", "verdict"])
    return pd.DataFrame({
        "method": table["method"].map(lambda m: method_label(str(m))),
        "measure": table["measure"],
        "aligned": table["aligned"].map(lambda v: f"{v:.{digits}f}"),
        "disjoint": table["disjoint"].map(lambda v: f"{v:.{digits}f}"),
        "disjoint − aligned": [
            f"{float(r['estimate']):+.{digits}f} [{float(r['low']):+.{digits}f}, {float(r['high']):+.{digits}f}] "
            f"(n={int(r['n'])})" if int(r["n"]) > 1 else f"{float(r['estimate']):+.{digits}f} (n={int(r['n'])})"
            for r in table.to_dict(orient="records")],
        "verdict": table["verdict"],
    })


#: Columns of :func:`budget_table`.
BUDGET_COLUMNS: tuple[str, ...] = (
    "n_train", "epochs", "epochs_longer", "mean", "mean_longer", "estimate", "low", "high", "n",
)


def _size_key(value: Any) -> float:
    return math.inf if pd.isna(value) else float(value)


def budget_table(results: pd.DataFrame, longer: pd.DataFrame, method: str = "baseline", sensor: str = "s2",
                 metric: str = "weighted", confidence: float = stats.CONFIDENCE) -> pd.DataFrame:
    """One size curve at two training budgets: ``longer``'s runs minus ``results``' runs, per size, paired by seed.

    Both tables hold runs of ``method`` on ``sensor`` at the same requested training-set
    sizes (``n_train_requested``; missing = the whole split) and seeds, differing in their
    number of epochs. Each size gets both means, the mean paired difference (longer minus
    shorter) and its t-interval over seeds.

    Returns:
        :data:`BUDGET_COLUMNS`, one row per size found in both (``n_train``: the patches
        actually trained on, the whole split's count for the full set), smallest first.
    """
    def pick(df: pd.DataFrame) -> pd.DataFrame:
        ok = ok_runs(df)
        return ok[(ok["method"] == method) & (ok["modality"] == sensor)]

    a, b = pick(results), pick(longer)
    rows = []
    for req in sorted({_size_key(v) for v in b["n_train_requested"]}):
        def at(df: pd.DataFrame, req: float = req) -> pd.DataFrame:
            sel = df["n_train_requested"].isna() if math.isinf(req) else df["n_train_requested"] == req
            return df[sel]

        sa, sb = at(a), at(b)
        if not len(sa) or not len(sb):
            continue
        ya, yb = sa.groupby("seed")[metric].mean(), sb.groupby("seed")[metric].mean()
        d = stats.paired_difference(yb, ya, confidence=confidence)
        rows.append({"n_train": int(sb["n_train"].max()), "epochs": int(sa["epochs"].max()),
                     "epochs_longer": int(sb["epochs"].max()), "mean": float(ya.mean()),
                     "mean_longer": float(yb.mean()),
                     "estimate": d.estimate, "low": d.low, "high": d.high, "n": d.n})
    return pd.DataFrame(rows, columns=list(BUDGET_COLUMNS))


def budget_text(table: pd.DataFrame, method: str = "baseline", sensor: str = "s2", source: str | None = None) -> str:
    """What the longer budget changes on the size curve, no more than the intervals allow (computed)."""
    if not len(table):
        return "No size was trained at both budgets."
    who = method_label(method, sensor)
    parts = []
    for r in table.to_dict(orient="records"):
        ci = (f" [{r['low']:+.3f}, {r['high']:+.3f}]" if int(r["n"]) > 1 else "")
        parts.append(f"{int(r['n_train'])} patches: {r['mean']:.3f} → {r['mean_longer']:.3f}, "
                     f"{r['estimate']:+.3f}{ci}")
    ratio = table["epochs_longer"].iloc[0] / table["epochs"].iloc[0]
    seeds = sorted({int(n) for n in table["n"]})
    up = [int(r["n_train"]) for r in table.to_dict(orient="records") if r["low"] > 0]
    down = [int(r["n_train"]) for r in table.to_dict(orient="records") if r["high"] < 0]
    if not up and not down:
        verdict = (f"No size changes beyond its interval: at this scale the curve's shape is the data's, not the "
                   f"budget's (with {', '.join(map(str, seeds))} seeds, changes smaller than the intervals' "
                   "half-widths cannot be excluded).")
    else:
        verdict = ""
        if up:
            verdict += f"The longer budget helps at {', '.join(map(str, up))} patches: there the curve was held back " \
                       "by the budget. "
        if down:
            verdict += f"It hurts at {', '.join(map(str, down))} patches (over-fitting a small set). "
    where = f" ({source})" if source else ""
    return (f"{who} trained {ratio:g} times as long{where}, weighted F1 at the default budget → the longer one, "
            f"paired difference and 95% interval over seeds: " + "; ".join(parts) + ". " + verdict.strip())


# ----------------------------------------------------------------------------- the paper's claims
def claims(results: pd.DataFrame, pairs: pd.DataFrame | None = None,
           predictions: Mapping[str, Predictions] | None = None, *,
           margin: float = stats.NONINFERIORITY_MARGIN, confidence: float = stats.CONFIDENCE) -> pd.DataFrame:
    """The paper's claims, each checked on this study's results with an interval.

    Every claim is a difference ``d = a - b`` between two methods (or sensors) on the full
    training set, paired by seed. Each gets the mean difference, its t-interval over seeds
    (``confidence``, unadjusted; for the F1 claims widened by the test scenes' bootstrap
    standard error, :func:`scene_se`, when ``predictions`` are given and all runs share one
    test set), ``n`` and a verdict from
    :func:`xmodal.analysis.stats.claim_verdicts`: a claim *holds* when the Holm-adjusted
    p-value over the whole table (the family) is below ``1 - confidence`` and the
    estimate lies on the claimed side; *does not hold* when it is significant on the other
    side; *inconclusive* otherwise; "one seed" when no interval can be estimated. Claims
    that a method *keeps* another's accuracy ("C+T+M keeps the Baseline") are
    non-inferiority claims: they hold when the difference is significantly above
    ``-margin``. Claims are checked on the sensors the paper reports
    (:func:`paper_sensors`) that the study has; the sensors' order of accuracy is the paper's.

    Args:
        results: the tidy results table.
        pairs: the pair homogeneity table (joint models and Baselines), for the claims on eq. (5).
        predictions: run folder -> its test predictions (for the test scenes' share of the F1 intervals).
        margin: the non-inferiority margin (weighted F1).
        confidence: level of the intervals; ``1 - confidence`` is the family-wise error rate.

    Returns:
        :data:`CLAIM_COLUMNS`: the claim, what the paper reports, what this study measures
        (estimate and interval as text), the claim's kind, the numbers and the verdict.
    """
    df = final_runs(results)
    present = set(sensors_in(df))
    sensors = [s for s in paper_sensors() if s in present]

    def series(method: str, sensor: str, metric: str) -> pd.Series:
        sub = df[(df["method"] == method) & (df["modality"] == sensor)]
        return sub.groupby("seed")[metric].mean()

    def paper(method: str, sensor: str, metric: str) -> str:
        v = paper_score(method, sensor, metric)
        return "–" if v is None else f"{v:.2f}"

    rows: list[dict[str, Any]] = []

    def add(claim: str, reported: str, a: pd.Series, b: pd.Series, what: str, kind: str = "greater",
            scene: tuple[tuple[str, str], tuple[str, str], str] | None = None) -> None:
        se = math.nan
        if scene is not None and predictions is not None:
            se = scene_se(df, predictions, scene[0], scene[1], scene[2])
        rows.append({"claim": claim, "paper reports": reported, "what": what, "a": a, "b": b, "kind": kind,
                     "margin": margin, "se_scene": se})

    for s in sensors:
        S = modality_label(s)
        add(f"C beats the Baseline on {S} (weighted F1)",
            f"{paper('C', s, 'weighted')} vs {paper('baseline', s, 'weighted')}",
            series("C", s, "weighted"), series("baseline", s, "weighted"), "C − Baseline",
            scene=(("C", s), ("baseline", s), "weighted"))
        add(f"C+T+M keeps the Baseline's accuracy on {S} (weighted F1, margin {margin:.2f})",
            f"{paper('C+T+M', s, 'weighted')} vs {paper('baseline', s, 'weighted')}",
            series("C+T+M", s, "weighted"), series("baseline", s, "weighted"), "C+T+M − Baseline", "noninferior",
            scene=(("C+T+M", s), ("baseline", s), "weighted"))
        add(f"C+T+M loses macro F1 against the Baseline on {S}",
            f"{paper('C+T+M', s, 'macro')} vs {paper('baseline', s, 'macro')}",
            series("C+T+M", s, "macro"), series("baseline", s, "macro"), "C+T+M − Baseline", "less",
            scene=(("C+T+M", s), ("baseline", s), "macro"))
        add(f"C is more accurate than C+T+M on {S} (weighted F1)",
            f"{paper('C', s, 'weighted')} vs {paper('C+T+M', s, 'weighted')}",
            series("C", s, "weighted"), series("C+T+M", s, "weighted"), "C − C+T+M",
            scene=(("C", s), ("C+T+M", s), "weighted"))
        for abl in ("C+M", "C+T"):
            add(f"Dropping a loss ({abl}) is worse than C+T+M on {S} (weighted F1)",
                "below C+T+M in every case (Figure 2, no numbers)",
                series("C+T+M", s, "weighted"), series(abl, s, "weighted"), f"C+T+M − {abl}",
                scene=(("C+T+M", s), (abl, s), "weighted"))

    def base_weighted(s: str) -> float:
        return paper_score("baseline", s, "weighted") or 0.0

    for lo_hi in sensor_pairs(sensors):
        lo, hi = sorted(lo_hi, key=base_weighted)  # the paper's weaker sensor first
        LO, HI = modality_label(lo), modality_label(hi)
        for method in (m for m in methods_in(df) if m in METHODS):  # the paper's methods, not the ablations
            add(f"{HI} is more accurate than {LO} ({method_label(method)}, weighted F1)",
                f"{HI} above {LO} for every method",
                series(method, hi, "weighted"), series(method, lo, "weighted"), f"{HI} − {LO}",
                scene=((method, hi), (method, lo), "weighted"))
        gaps = gap_per_seed(results, "weighted", lo, hi)
        if len(gaps):
            g = gaps.set_index(["method", "seed"])["gap"]
            gb = g.xs("baseline", level="method") if "baseline" in g.index.get_level_values(0) else g.iloc[:0]
            gf = g.xs("C+T+M", level="method") if "C+T+M" in g.index.get_level_values(0) else g.iloc[:0]
            pb = (paper_score("baseline", hi, "weighted") or math.nan) - (paper_score("baseline", lo, "weighted")
                                                                          or math.nan)
            pf = (paper_score("C+T+M", hi, "weighted") or math.nan) - (paper_score("C+T+M", lo, "weighted")
                                                                       or math.nan)
            add(f"C+T+M narrows the {LO}-{HI} gap of the Baseline (weighted F1)", f"gap {pb:.2f} → {pf:.2f}",
                gb, gf, "Baseline gap − C+T+M gap")
        h = _pair_series(pairs, lo, hi) if pairs is not None and len(pairs) else pd.Series(dtype=float)
        if len(h):

            def hs(m: str, h: pd.Series = h) -> pd.Series:
                return h.xs(m, level="method") if m in h.index.get_level_values(0) else h.iloc[:0]

            def ps(m: str, lo: str = lo, hi: str = hi) -> str:
                v = paper_homogeneity(m, lo, hi)
                return "–" if v is None else f"{v:.2f}"

            add("C+T+M is more homogeneous than the Baseline (eq. 5)", f"s = {ps('C+T+M')} vs {ps('baseline')}",
                hs("C+T+M"), hs("baseline"), "s(C+T+M) − s(Baseline)")
            add("C+T+M is more homogeneous than C (eq. 5)", f"s = {ps('C+T+M')} vs {ps('C')}",
                hs("C+T+M"), hs("C"), "s(C+T+M) − s(C)")
    if not rows:
        return pd.DataFrame(columns=list(CLAIM_COLUMNS))
    table = stats.claim_verdicts(pd.DataFrame(rows), confidence=confidence)

    def measured(r: pd.Series) -> str:
        n = int(r["n"])
        if n == 0:
            return "–"
        text = f"{r['what']} = {r['estimate']:+.3f}"
        if n > 1:
            text += f" [{r['low']:+.3f}, {r['high']:+.3f}]"
        return text + f" ({n} seed{'s' if n != 1 else ''})"

    table["this study"] = table.apply(measured, axis=1)
    return table[list(CLAIM_COLUMNS)].reset_index(drop=True)


def claims_summary(verdicts: pd.DataFrame, source: str | None = None,
                   confidence: float = stats.CONFIDENCE) -> str:
    """A Markdown paragraph counting which claims of :func:`claims` hold, computed from it."""
    if len(verdicts) == 0:
        return "No claim could be checked: the study has no comparable runs."
    v = verdicts["verdict"]
    holds = verdicts[v == stats.HOLDS]["claim"].tolist()
    fails = verdicts[v == stats.DOES_NOT_HOLD]["claim"].tolist()
    unsure = verdicts[v == stats.INCONCLUSIVE]["claim"].tolist()
    single = verdicts[v == stats.ONE_SEED]["claim"].tolist()
    missing = verdicts[v == stats.NOT_MEASURED]["claim"].tolist()
    n_seeds = verdicts.loc[verdicts["n"] > 0, "n"]
    seeds = (f"{int(n_seeds.min())}" if n_seeds.min() == n_seeds.max() else f"{int(n_seeds.min())}-"
             f"{int(n_seeds.max())}") if len(n_seeds) else "0"
    tested = len(verdicts) - len(single) - len(missing)
    plural = "" if seeds == "1" else "s"
    where = f" on {source}" if source else ""
    lines = [f"Of {len(verdicts)} claims checked{where} ({seeds} seed{plural} each), "
             f"**{len(holds)} hold**, **{len(fails)} do not hold** and {len(unsure)} are inconclusive"
             + (f"; {len(single)} rest on one seed" if single else "")
             + (f"; {len(missing)} could not be measured" if missing else "") + ". "
             f"The {tested} tested claims form one family: a verdict is significant only after Holm's "
             f"correction, so the chance that any \"holds\" or \"does not hold\" above is wrong is at most "
             f"{1 - confidence:.0%} (if the seeds' differences are roughly normal)."]
    if holds:
        lines.append("\n**Hold:** " + "; ".join(holds) + ".")
    if fails:
        lines.append("\n**Do not hold:** " + "; ".join(fails) + ".")
    if unsure:
        lines.append("\n**Inconclusive** (the interval is too wide to decide): " + "; ".join(unsure) + ".")
    return "\n".join(lines)


def training_budget(config: Mapping[str, Any]) -> str:
    """One Markdown sentence on how long a run of the size sweep trains (from its config).

    With ``steps_per_epoch`` set, every run takes the same number of optimisation
    steps whatever its training-set size, so a size curve varies only the data;
    without it, an epoch is a pass over the run's own training set, so smaller sets
    also get fewer steps.
    """
    epochs, batch = int(config["epochs"]), int(config["batch_size"])
    steps = config.get("steps_per_epoch")
    if steps:
        return (f"**Training budget:** every run takes the same {epochs} x {int(steps)} = "
                f"{epochs * int(steps)} optimisation steps of {batch} patches per modality, whatever its "
                "training-set size, so the curves vary only the data.")
    return (f"**Training budget:** every run takes {epochs} epochs over its own training set "
            f"(batches of {batch} patches per modality), so smaller training sets also get fewer "
            "optimisation steps: the curves mix the amount of data with the amount of training.")


# ----------------------------------------------------------------------------- latent space
def _stack(runs: Sequence[Latents]) -> Latents:
    return Latents(np.concatenate([np.asarray(r.z, dtype=np.float32) for r in runs]),
                   np.concatenate([np.asarray(r.labels) for r in runs]),
                   np.concatenate([np.asarray(r.prob) for r in runs]),
                   np.concatenate([np.asarray(r.modality).astype(str) for r in runs]),
                   np.concatenate([np.asarray(r.ids).astype(str) for r in runs]))


def latent_embedding(panels: Mapping[str, Sequence[Latents]], class_names: Sequence[str], seed: int = 0,
                     n_neighbors: int = 15) -> pd.DataFrame:
    """UMAP (seeded) of the latent vectors of each panel into 2-d.

    Args:
        panels: panel title -> the latent vectors of one or more runs. Several runs in a
            panel (the Baseline models) are embedded *together*, although their latent
            spaces are not shared: nothing ties the coordinates of one sensor's model to
            those of another's.
        class_names: names of the soft-label entries.
        seed: UMAP's random state (deterministic output).
        n_neighbors: UMAP's neighbourhood size (at most the number of vectors - 1).

    Returns:
        A table with panel, x, y, modality, id, dominant class and a soft-label text.
    """
    import warnings

    with warnings.catch_warnings():  # umap imports tqdm.auto, which warns without ipywidgets
        warnings.simplefilter("ignore")
        import umap

    frames = []
    for title, runs in panels.items():
        lat = _stack(runs)
        k = max(2, min(n_neighbors, len(lat.z) - 1))
        reducer = umap.UMAP(n_neighbors=k, min_dist=0.1, random_state=seed, n_jobs=1,
                            init="spectral" if len(lat.z) > k + 2 else "random")
        xy = reducer.fit_transform(lat.z)
        dominant = [class_names[i] for i in lat.labels.argmax(1)]
        text = [", ".join(f"{class_names[c]} {v:.2f}" for c, v in sorted(enumerate(row), key=lambda t: -t[1])
                          if v > 0) for row in lat.labels]
        frames.append(pd.DataFrame({"panel": title, "x": xy[:, 0], "y": xy[:, 1], "modality": lat.modality,
                                    "id": lat.ids, "dominant": dominant, "soft_label": text}))
    return pd.concat(frames, ignore_index=True)


def latent_mixing(panels: Mapping[str, Sequence[Latents]], k: int = 10) -> pd.DataFrame:
    """How mixed the sensors are in each panel's latent space (original dimensions).

    Returns:
        A table per panel: number of vectors; *other-sensor neighbours*, the mean share of
        each vector's ``k`` nearest neighbours (Euclidean) that come from another sensor;
        for every pair of sensors (a, b), *pair found*, the share of a's vectors whose
        nearest vector of b is the same patch, and its chance level (one over b's vectors).
    """
    from sklearn.neighbors import NearestNeighbors

    stacked = {title: _stack(runs) for title, runs in panels.items()}
    pairs = sensor_pairs(itertools.chain.from_iterable(lat.modality for lat in stacked.values()))
    rows = []
    for title, lat in stacked.items():
        z, mods, ids = lat.z, lat.modality, lat.ids
        kk = max(1, min(k, len(z) - 1))
        nn = NearestNeighbors(n_neighbors=kk + 1).fit(z)
        idx = nn.kneighbors(z, return_distance=False)[:, 1:]
        row: dict[str, Any] = {"panel": title, "vectors": len(z),
                               f"other-sensor neighbours (k={kk})": round(float((mods[idx] != mods[:, None]).mean()),
                                                                          3)}
        for a, b in pairs:
            ia, ib = mods == a, mods == b
            found: Any = "–"
            if ia.any() and ib.any():
                j = NearestNeighbors(n_neighbors=1).fit(z[ib]).kneighbors(z[ia], return_distance=False)[:, 0]
                found = round(float((ids[ib][j] == ids[ia]).mean()), 3)
            A, B = modality_label(a), modality_label(b)
            row[f"pair found ({A} → nearest {B})"] = found
            row[f"chance level of pair found ({A} → {B})"] = round(1 / max(int(ib.sum()), 1), 3)
        rows.append(row)
    return pd.DataFrame(rows)


def mined_triplets(latents: Latents, anchor_mod: str | None = None, other_mod: str | None = None,
                   batch_size: int = 16, n_show: int = 8, seed: int = 0,
                   positive_threshold: float = 0.5, negative_threshold: float = 0.1,
                   class_names: Sequence[str] | None = None) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Run :func:`xmodal.losses.mine_triplets` on a real batch and tabulate its choices.

    A batch of ``batch_size`` anchors of ``anchor_mod`` and an *independent* batch of
    ``other_mod`` (as in training: the two batches are not aligned) are drawn from a run's
    saved latent vectors; for each anchor the table shows its soft label, the positive
    and the hard negative chosen from the other sensor, their histogram intersection
    with the anchor's label and their cosine similarity to the anchor.

    Args:
        latents: a run's latent vectors (at least two sensors).
        anchor_mod: the sensor of the anchors (default: the run's first, in display order).
        other_mod: the sensor of the candidates (default: the run's second).
        batch_size: anchors (and candidates) drawn.
        n_show: rows of the table.
        seed: seeds the draw.
        positive_threshold: the run's mining threshold for positives.
        negative_threshold: the run's mining threshold for negatives.
        class_names: names of the soft-label entries.

    Returns:
        ``(table, info)``: info holds the label similarity ``s`` and cosine ``cos`` matrices,
        the chosen ``pos`` and ``neg`` indices, ``valid``, ``n_valid`` and ``n``.

    Raises:
        ValueError: the run's latent vectors hold fewer than two sensors (the message names them).
    """
    import torch

    from xmodal.losses import histogram_intersection, mine_triplets

    mod = np.asarray(latents.modality).astype(str)
    sensors = sensor_order(mod)
    if anchor_mod is None or other_mod is None:
        if len(sensors) < 2:
            raise ValueError(f"Triplets need latent vectors of two sensors; these hold {sensors}")
        anchor_mod, other_mod = anchor_mod or sensors[0], other_mod or sensors[1]
    rng = np.random.default_rng(seed)
    ia = np.flatnonzero(mod == anchor_mod)
    ib = np.flatnonzero(mod == other_mod)
    ia = rng.choice(ia, size=min(batch_size, len(ia)), replace=False)
    ib = rng.choice(ib, size=min(batch_size, len(ib)), replace=False)
    z = torch.as_tensor(np.asarray(latents.z, dtype=np.float32))
    y = torch.as_tensor(np.asarray(latents.labels, dtype=np.float32))
    pos, neg, valid = mine_triplets(z[ia], y[ia], z[ib], y[ib], positive_threshold, negative_threshold)
    s = histogram_intersection(y[ia], y[ib]).numpy()
    za = torch.nn.functional.normalize(z[ia], dim=1)
    zb = torch.nn.functional.normalize(z[ib], dim=1)
    cos = (za @ zb.T).numpy()
    ids = np.asarray(latents.ids).astype(str)
    names = list(class_names) if class_names is not None else [f"c{i}" for i in range(y.shape[1])]

    def lab(v: np.ndarray) -> str:
        top = np.argsort(-v)[:2]
        return ", ".join(f"{names[k]} {v[k]:.2f}" for k in top if v[k] > 0)

    rows = []
    yn = y.numpy()
    for k in range(len(ia)):
        ok = bool(valid[k])
        p, q = int(pos[k]), int(neg[k])
        rows.append({
            "anchor": ids[ia[k]], "anchor label": lab(yn[ia[k]]),
            "positive": ids[ib[p]] if ok else "– (no candidate)",
            "positive label": lab(yn[ib[p]]) if ok else "",
            "S(anchor, positive)": round(float(s[k, p]), 2) if ok else np.nan,
            "cos(anchor, positive)": round(float(cos[k, p]), 2) if ok else np.nan,
            "negative": ids[ib[q]] if ok else "– (no candidate)",
            "negative label": lab(yn[ib[q]]) if ok else "",
            "S(anchor, negative)": round(float(s[k, q]), 2) if ok else np.nan,
            "cos(anchor, negative)": round(float(cos[k, q]), 2) if ok else np.nan,
            "same patch as positive": bool(ok and ids[ia[k]] == ids[ib[p]]),
        })
    table = pd.DataFrame(rows)
    return table.head(n_show), {"s": s, "cos": cos, "pos": pos.numpy(), "neg": neg.numpy(),
                                 "valid": valid.numpy(), "n_valid": int(valid.sum()), "n": len(ia)}


# ----------------------------------------------------------------------------- latent measures over seeds
#: Columns of the tidy summaries of :func:`latent_summary`, :func:`adversary_final` and
#: :func:`tradeoff_summary`: one row per group and measure, the estimate its mean over seeds with a
#: t-interval (:func:`xmodal.analysis.stats.paired_difference` of the values), ``n`` the seeds measured
#: and ``chance`` the value the measure takes by chance (NaN where there is none).
SUMMARY_COLUMNS: tuple[str, ...] = ("method", "alignment", "measure", "label", "estimate", "low", "high", "n",
                                    "chance")
#: Neighbours / cut-off of the latent measures shown (:data:`xmodal.analysis.latent.NEIGHBOURS`); a
#: table measured with a smaller ``k`` (runs with fewer latents, column ``k``) is shown with its own.
LATENT_K: int = 10
#: The same-patch recall@k shown (one of :data:`xmodal.analysis.latent.SAME_PATCH_KS`).
SAME_PATCH_K: int = 10
#: Quantities of the adversary's curves (history keys) and how the book names them.
ADVERSARY_QUANTITIES: dict[str, str] = {
    "L_M": "modality classifier's loss L_M",
    "modality_accuracy": "modality classifier's training accuracy",
    "probe_accuracy": "linear probe's held-out accuracy (test patches)",
}
#: Run settings the sensitivity study varies (:func:`tradeoff_summary` groups by them).
TRADEOFF_KEYS: tuple[str, ...] = ("method", "alignment", "alpha", "grl_weight", "steps")
#: Written where a run did not record a quantity (runs older than it).
NOT_RECORDED = "not recorded"


def _interval(values: Any, confidence: float) -> tuple[float, float, float, int]:
    """Mean of the finite ``values`` with its t-interval over them: ``(estimate, low, high, n)``."""
    v = np.asarray(pd.to_numeric(pd.Series(values), errors="coerce"), dtype=np.float64)
    d = stats.paired_difference(v[np.isfinite(v)], confidence=confidence)
    return d.estimate, d.low, d.high, d.n


def _ci_text(estimate: float, low: float, high: float, n: int, digits: int = 3) -> str:
    """``"0.981 [0.950, 1.000]"``; one seed: ``"0.981 (1 seed)"``; none: :data:`NOT_RECORDED`."""
    if not n or not math.isfinite(estimate):
        return NOT_RECORDED
    if n < 2 or not math.isfinite(low):
        return f"{estimate:.{digits}f} (1 seed)"
    return f"{estimate:.{digits}f} [{low:.{digits}f}, {high:.{digits}f}]"


def _sensors_of(table: pd.DataFrame) -> list[str]:
    """The sensors of a table with a ``sensors`` column (``"s1+s2"``), in display order."""
    if "sensors" not in table.columns:
        return []
    return sensor_order(itertools.chain.from_iterable(str(s).split("+") for s in table["sensors"].dropna()))


def _first_column(table: pd.DataFrame, *names: str) -> str | None:
    return next((n for n in names if n in table.columns), None)


def _k_of(table: pd.DataFrame, k: int | None) -> int:
    """``k`` if given, else the smallest ``k`` the table's runs were measured with (:data:`LATENT_K` without)."""
    if k is not None:
        return int(k)
    ks = pd.to_numeric(table["k"], errors="coerce").dropna() if "k" in table.columns else pd.Series(dtype=float)
    return int(ks.min()) if len(ks) else LATENT_K


def latent_measure_specs(table: pd.DataFrame, k: int | None = None) -> list[tuple[str, str | None, str]]:
    """``(column, chance column, label)`` of every measure the latent page shows that ``table`` holds.

    The sensors are those of the table's ``sensors`` column; for every pair of them (both
    directions): label retrieval mAP and recall@k (:func:`xmodal.analysis.latent.cross_modal_retrieval`)
    and same-patch recall@:data:`SAME_PATCH_K` (:func:`xmodal.analysis.latent.same_patch_retrieval`);
    for all of them: the modality probe and the neighbour mixing (raw and with latents centred
    per sensor). ``k`` defaults to the table's (:func:`_k_of`).
    """
    k = _k_of(table, k)
    specs: list[tuple[str, str | None, str]] = [("modality_probe", "modality_probe_chance", "probe accuracy")]
    pairs = sensor_pairs(_sensors_of(table))
    for kind, label in (("map", "label retrieval mAP"), (f"recall_at_{k}", f"label recall@{k}")):
        for a, b in pairs:
            for s, t in ((a, b), (b, a)):
                col = f"retrieval_{s}_to_{t}_{kind}"
                specs.append((col, f"{col}_chance", f"{label} {modality_label(s)}→{modality_label(t)}"))
    specs.append(("mixing", "mixing_chance", f"neighbour mixing (k={k})"))
    specs.append(("mixing_centred", "mixing_chance", f"neighbour mixing, centred per sensor (k={k})"))
    for a, b in pairs:
        p = SAME_PATCH_K
        chance = _first_column(table, f"pair_{a}_{b}_recall_at_{p}_chance", f"pair_{b}_{a}_recall_at_{p}_chance")
        for s, t in ((a, b), (b, a)):
            specs.append((f"pair_{s}_to_{t}_recall_at_{p}", chance,
                          f"same patch in top {p} {modality_label(s)}→{modality_label(t)}"))
    return [(c, ch if ch in table.columns else None, lab) for c, ch, lab in specs if c in table.columns]


def _groups(table: pd.DataFrame, keys: Sequence[str]) -> list[tuple[dict[str, Any], pd.DataFrame]]:
    """``table`` split by ``keys`` (missing values kept), methods in the paper's order."""
    if len(table) == 0:
        return []
    order = {m: i for i, m in enumerate(methods_in(table))}
    out = []
    for values, sub in table.groupby(list(keys), dropna=False, sort=False):
        values = values if isinstance(values, tuple) else (values,)
        out.append((dict(zip(keys, values, strict=True)), sub))

    def value_key(v: Any) -> tuple[int, float, str]:
        if isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool):
            return (1, float(v), "") if v == v else (2, 0.0, "")
        return (0, 0.0, str(v)) if v is not None else (2, 0.0, "")

    return sorted(out, key=lambda t: (order.get(str(t[0].get("method")), len(order)),
                                      *(value_key(t[0].get(k)) for k in keys[1:])))


def _alignment_value(sub: pd.DataFrame) -> Any:
    if "alignment" not in sub.columns:
        return None
    vals = sub["alignment"].dropna().unique()
    return vals[0] if len(vals) else None


def latent_summary(measures: pd.DataFrame, *, k: int | None = None,
                   confidence: float = stats.CONFIDENCE) -> pd.DataFrame:
    """Every latent measure per method: its mean over seeds, t-interval and chance level.

    Args:
        measures: :func:`xmodal.results.load_latent_measures` (one row per run: ``method``,
            ``alignment``, ``seed``, ``sensors`` and the measures). Pass the runs of one
            training-set size (:func:`final_runs`): the seeds of a method are its units.
        k: the cut-off whose recall@k is shown (default: the table's, :func:`latent_measure_specs`).
        confidence: level of the intervals.

    Returns:
        :data:`SUMMARY_COLUMNS`, one row per method and measure (:func:`latent_measure_specs`);
        ``n`` counts the seeds with a value, ``chance`` is the mean chance level over them.
    """
    rows = []
    specs = latent_measure_specs(measures, k)
    for key, sub in _groups(measures, ["method"]):
        for col, chance, label in specs:
            est, low, high, n = _interval(sub[col], confidence)
            ch = float(pd.to_numeric(sub[chance], errors="coerce").mean()) if chance else math.nan
            rows.append({"method": key["method"], "alignment": _alignment_value(sub), "measure": col,
                         "label": label, "estimate": est, "low": low, "high": high, "n": n, "chance": ch})
    return pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))


def summary_display(summary: pd.DataFrame, row: str = "method", digits: int = 3) -> pd.DataFrame:
    """A tidy summary (:data:`SUMMARY_COLUMNS`) as a table to read: a row per ``row``, a column per measure.

    Cells read ``mean [low, high]`` (the interval over seeds; "(1 seed)" without one; "not
    recorded" without any value); ``seeds`` gives the number of seeds; a last row "chance"
    holds every measure's chance level (where it has one).
    """
    labels = list(dict.fromkeys(summary["label"]))
    rows = []
    for value, sub in summary.groupby(row, sort=False):
        out: dict[str, Any] = {row: method_label(str(value)) if row == "method" else value,
                               "seeds": int(sub["n"].max()) if len(sub) else 0}
        for _, r in sub.iterrows():
            out[r["label"]] = _ci_text(r["estimate"], r["low"], r["high"], int(r["n"]), digits)
        rows.append(out)
    chance = summary.groupby("label", sort=False)["chance"].mean()
    if chance.notna().any():
        rows.append({row: "chance", "seeds": "", **{lab: (f"{chance[lab]:.{digits}f}" if chance[lab] == chance[lab]
                                                          else "–") for lab in labels}})
    return pd.DataFrame(rows, columns=[row, "seeds", *labels])


def latent_contrasts(measures: pd.DataFrame, reference: str = "C", *, k: int | None = None,
                     confidence: float = stats.CONFIDENCE) -> pd.DataFrame:
    """Each method minus ``reference`` on every latent measure, paired by seed.

    Returns:
        method, measure, label, estimate, low, high, n (seeds both have), p: the paired
        t-interval of :func:`xmodal.analysis.stats.paired_difference` (unadjusted).
    """
    cols = ["method", "measure", "label", "estimate", "low", "high", "n", "p"]
    if len(measures) == 0 or reference not in set(measures["method"]):
        return pd.DataFrame(columns=cols)
    ref = measures[measures["method"] == reference].groupby("seed")
    rows = []
    for key, sub in _groups(measures[measures["method"] != reference], ["method"]):
        mine = sub.groupby("seed")
        for col, _, label in latent_measure_specs(measures, k):
            d = stats.paired_difference(mine[col].mean(), ref[col].mean(), confidence=confidence)
            rows.append({"method": key["method"], "measure": col, "label": label, "estimate": d.estimate,
                         "low": d.low, "high": d.high, "n": d.n, "p": d.p})
    return pd.DataFrame(rows, columns=cols)


def _side(r: pd.Series | Mapping[str, Any], level: float) -> str:
    """Where the interval of ``r`` lies against ``level``: above, below, within or unknown.

    ``"within"``: the interval contains ``level``; ``"unknown"``: there is no interval (fewer
    than two seeds) or no level.
    """
    if not (r["n"] and r["n"] > 1 and math.isfinite(r["low"]) and math.isfinite(level)):
        return "unknown"
    if r["low"] > level:
        return "above"
    if r["high"] < level:
        return "below"
    return "within"


def _seeds_sentence(summary: pd.DataFrame, source: str | None) -> str:
    """The first sentence of the texts below: how many seeds, what the intervals are, which data."""
    n = sorted({int(v) for v in summary["n"] if v})
    where = f" ({source})" if source else ""
    if not n or n == [1]:
        return (f"One seed per method{where}: the numbers below are single runs, without intervals, and no "
                "statement about chance or differences is made from them.")
    return (f"Intervals are {int(100 * stats.CONFIDENCE)}% t-intervals over seeds (n = {', '.join(map(str, n))} "
            f"per method){where}; a statement below is made only where an interval lies entirely on one side of "
            "its reference.")


def latent_text(summary: pd.DataFrame, contrasts: pd.DataFrame | None = None, source: str | None = None) -> str:
    """Markdown on the latent measures, saying only what the intervals allow.

    For each method: whether the probe reads the sensor above chance, whether the
    neighbours mix the sensors as much as chance, and whether the same patch is found
    more often than chance; then, from :func:`latent_contrasts`, the differences to the
    reference whose intervals exclude 0.
    """
    if len(summary) == 0:
        return "No multi-sensor run with latent vectors: nothing to measure."
    lines = [_seeds_sentence(summary, source)]
    for method, sub in summary.groupby("method", sort=False):
        by = {r["measure"]: r for _, r in sub.iterrows()}
        parts = []
        probe = by.get("modality_probe")
        if probe is not None and probe["n"]:
            side = _side(probe, probe["chance"])
            values = f"{probe['estimate']:.2f}, chance {probe['chance']:.2f}"
            parts.append({"above": f"a linear probe tells the sensors apart ({values})",
                          "below": f"the probe scores below chance ({values})",
                          "within": f"the probe cannot be told from chance ({values})",
                          "unknown": f"the probe scores {values} (one seed: no interval)"}[side])
        mix = by.get("mixing")
        if mix is not None and mix["n"]:
            side = _side(mix, mix["chance"])
            values = f"{mix['estimate']:.2f} vs {mix['chance']:.2f} by chance"
            parts.append({"above": f"a vector's neighbours come from the other sensor more often than by chance "
                                   f"({values})",
                          "below": f"a vector's neighbours come from the other sensor less often than by chance "
                                   f"({values})",
                          "within": f"the neighbour mixing cannot be told from chance ({values})",
                          "unknown": f"neighbour mixing {values} (one seed)"}[side])
        found = [r for m, r in by.items() if m.startswith("pair_") and r["n"]]
        if found:
            sides = {_side(r, r["chance"]) for r in found}
            if sides == {"above"}:
                parts.append("the same patch seen by the other sensor is among the top "
                             f"{SAME_PATCH_K} more often than by chance, in both directions")
            elif "above" not in sides and "unknown" not in sides:
                parts.append(f"no interval of finding the same patch among the top {SAME_PATCH_K} lies above "
                             "chance, in either direction")
        if parts:
            lines.append(f"- **{method_label(str(method))}**: " + "; ".join(parts) + ".")
    if contrasts is not None and len(contrasts):
        sure = contrasts[(contrasts["n"] > 1) & ((contrasts["low"] > 0) | (contrasts["high"] < 0))]
        if not (contrasts["n"] > 1).any():
            lines.append("\nWith one seed per method, differences between methods have no interval: none is "
                         "claimed here.")
        elif len(sure):
            diffs = "; ".join(f"{method_label(str(r['method']))} − C, {r['label']}: {r['estimate']:+.3f} "
                              f"[{r['low']:+.3f}, {r['high']:+.3f}]" for _, r in sure.iterrows())
            lines.append(f"\nDifferences to C whose interval excludes 0 (paired by seed, not adjusted for the "
                         f"{len(contrasts)} comparisons): {diffs}.")
        else:
            lines.append("\nNo difference to C has an interval that excludes 0: with these seeds the methods' "
                         "latent spaces cannot be told apart on these measures.")
    return "\n".join(lines)


# ----------------------------------------------------------------------------- the adversary, epoch by epoch
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
    order = _order_key(methods_in(out) if len(out) else [])
    return out.sort_values(["method", "seed", "epoch"], key=lambda c: order(c) if c.name == "method" else c,
                           kind="stable").reset_index(drop=True)[cols]


def adversary_final(history: pd.DataFrame, methods: Sequence[str] | None = None, *,
                    confidence: float = stats.CONFIDENCE) -> pd.DataFrame:
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
    for key, sub in _groups(last, ["method"]):
        m = pd.to_numeric(sub["n_sensors"], errors="coerce").astype(float).mean()
        for q, label in ADVERSARY_QUANTITIES.items():
            values = sub[q] if q in sub.columns else pd.Series(dtype=float)
            est, low, high, n = _interval(values, confidence)
            rows.append({"method": key["method"], "alignment": _alignment_value(sub), "measure": q, "label": label,
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
        row: dict[str, Any] = {"method": method, "alignment": _alignment_value(sub),
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
    lines = ["At the last epoch. " + _seeds_sentence(final, source)]
    for method, sub in final.groupby("method", sort=False):
        by = {r["measure"]: r for _, r in sub.iterrows()}
        lm, acc, probe = by.get("L_M"), by.get("modality_accuracy"), by.get("probe_accuracy")
        parts = []
        flipped = False
        if lm is not None and lm["n"]:
            side = _side(lm, lm["chance"])
            flipped = side == "above"
            parts.append(f"L_M = {_ci_text(lm['estimate'], lm['low'], lm['high'], int(lm['n']), 2)}" + {
                "above": f", above ln M = {lm['chance']:.3f}: the modality classifier does worse than guessing",
                "below": f", below ln M = {lm['chance']:.3f}: the modality classifier still tells the sensors apart",
                "within": f", not distinguishable from ln M = {lm['chance']:.3f} with these seeds",
                "unknown": f" (ln M = {lm['chance']:.3f})"}[side])
        if acc is not None and acc["n"]:
            text = f"its training accuracy {_ci_text(acc['estimate'], acc['low'], acc['high'], int(acc['n']), 2)}"
            if _side(acc, acc["chance"]) == "below":
                text += " (below chance: it calls most patches by the other sensor's name)"
            parts.append(text)
        elif acc is not None:
            parts.append(f"its training accuracy {NOT_RECORDED}")
        probe_side = "unknown"
        if probe is not None and probe["n"]:
            probe_side = _side(probe, probe["chance"])
            ci = _ci_text(probe["estimate"], probe["low"], probe["high"], int(probe["n"]), 2)
            parts.append(f"a fresh linear probe {ci}" + {
                "above": " (above chance: the sensor is still readable from the latents)",
                "below": " (below chance)",
                "within": " (not distinguishable from chance: hidden from a linear reader, as far as the seeds tell)",
                "unknown": f" (chance {probe['chance']:.2f})"}[probe_side])
        elif probe is not None:
            parts.append(f"the per-epoch probe {NOT_RECORDED} (runs older than it; the final latents' probe "
                         "is in the measures table)")
        line = f"- **{method_label(str(method))}**: " + "; ".join(parts) + "."
        reversal = _alignment_value(sub) == "reversal"
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


# ----------------------------------------------------------------------------- the sensitivity study
def _setting_label(row: Mapping[Any, Any]) -> str:
    steps = row.get("steps")
    parts = [f"α={float(row['alpha']):g}" if row.get("alpha") is not None else "α=?",
             f"w={float(row['grl_weight']):g}" if row.get("grl_weight") is not None else "w=?"]
    if steps is not None and steps == steps:
        parts.append(f"{int(steps)} steps")
    return ", ".join(parts)


def label_settings(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` with a method's name extended by its setting where the method ran with several.

    A study that varies ``alpha``, ``grl_weight`` or the number of optimisation ``steps`` (the
    ``latent`` profile) would otherwise pool different settings under one method: its C+T+M runs
    become e.g. ``"C+T+M (α=1, w=5, 150 steps)"``. A method run with one setting keeps its name.

    Args:
        table: :func:`xmodal.results.load_latent_measures` or :func:`xmodal.results.load_histories`.
    """
    keys = [k for k in TRADEOFF_KEYS[2:] if k in table.columns]
    if not keys or len(table) == 0:
        return table
    several = {m for m, sub in table.groupby("method") if len(sub[keys].astype(str).drop_duplicates()) > 1}
    labels = [f"{r['method']} ({_setting_label(r)})" if r["method"] in several else r["method"]
              for r in table.to_dict("records")]
    return table.assign(method=labels)


def tradeoff_summary(measures: pd.DataFrame, results: pd.DataFrame, *,
                     confidence: float = stats.CONFIDENCE) -> pd.DataFrame:
    """Accuracy against alignment per setting of the sensitivity study, each mean and interval over seeds.

    Per setting (:data:`TRADEOFF_KEYS`: method, alignment, triplet weight ``alpha``, alignment
    weight ``grl_weight``, optimisation steps): weighted F1 per sensor, homogeneity (eq. 5),
    the modality probe's accuracy and the label-retrieval mAP in each direction.

    Args:
        measures: :func:`xmodal.results.load_latent_measures` of the study's runs.
        results: the tidy results table (:func:`xmodal.results.load_results`) of the same runs.
        confidence: level of the intervals.

    Returns:
        ``setting`` (e.g. ``"α=1, w=5, 150 steps"``), :data:`SUMMARY_COLUMNS` and the
        settings' keys; one row per setting and quantity.
    """
    cols = ["setting", *SUMMARY_COLUMNS, *TRADEOFF_KEYS[2:]]
    if len(measures) == 0:
        return pd.DataFrame(columns=cols)
    ok = ok_runs(results)
    weighted = ok.pivot_table(index="run_dir", columns="modality", values="weighted", aggfunc="mean")
    homog = ok.groupby("run_dir")["homogeneity"].mean()
    runs = measures.set_index("run_dir", drop=False)
    sensors = _sensors_of(measures)
    quantities: list[tuple[str, str, pd.Series, float]] = []
    for s in sensors:
        if s in weighted.columns:
            quantities.append((f"weighted_{s}", f"weighted F1 {modality_label(s)}",
                               weighted[s].reindex(runs.index), math.nan))
    quantities.append(("homogeneity", "homogeneity s (eq. 5)", homog.reindex(runs.index), math.nan))
    for col, chance, label in latent_measure_specs(measures):
        if col == "modality_probe" or col.endswith("_map"):
            ch = float(pd.to_numeric(runs[chance], errors="coerce").mean()) if chance else math.nan
            quantities.append((col, label, runs[col], ch))
    keyed = runs.reset_index(drop=True)
    rows = []
    for key, sub in _groups(keyed, list(TRADEOFF_KEYS)):
        idx = sub["run_dir"]
        for name, label, values, level in quantities:
            est, low, high, n = _interval(values.reindex(idx).to_numpy(), confidence)
            rows.append({"setting": _setting_label(key), **key, "measure": name, "label": label, "estimate": est,
                         "low": low, "high": high, "n": n, "chance": level})
    return pd.DataFrame(rows, columns=cols)


def tradeoff_text(summary: pd.DataFrame, source: str | None = None) -> str:
    """Markdown on :func:`tradeoff_summary`: which settings hide the sensor from the probe, at what accuracy.

    Per method (alignment): the settings whose probe interval lies above chance (the sensor
    stays linearly readable) and those whose interval reaches chance, then the range of each
    sensor's weighted F1 over the settings. Settings are compared only by non-overlapping
    intervals (a conservative reading).
    """
    if len(summary) == 0:
        return "No run of the sensitivity study."
    lines = [_seeds_sentence(summary, source)]
    for method, sub in summary.groupby("method", sort=False):
        probe = sub[sub["measure"] == "modality_probe"]
        sides = {r["setting"]: _side(r, r["chance"]) for _, r in probe.iterrows() if r["n"]}
        readable = [k for k, v in sides.items() if v == "above"]
        hidden = [k for k, v in sides.items() if v in ("within", "below")]
        parts = []
        if sides:
            parts.append(f"the probe reads the sensor above chance in {len(readable)} of {len(sides)} settings"
                         + (f"; its interval reaches chance for {'; '.join(hidden)}" if hidden else ""))
        for measure in dict.fromkeys(m for m in sub["measure"] if str(m).startswith("weighted_")):
            f1 = sub[(sub["measure"] == measure) & (sub["n"] > 0)].sort_values("estimate")
            if len(f1) > 1:
                lo, hi = f1.iloc[0], f1.iloc[-1]
                apart = hi["n"] > 1 and lo["n"] > 1 and hi["low"] > lo["high"]
                parts.append(f"{lo['label']} from {lo['estimate']:.2f} ({lo['setting']}) to {hi['estimate']:.2f} "
                             f"({hi['setting']})" + (", intervals apart" if apart else ", intervals overlapping"))
        if parts:
            lines.append(f"- **{method_label(str(method))}**: " + "; ".join(parts) + ".")
    lines.append("\nSettings are compared here only where their intervals do not overlap, a conservative reading "
                 "(the settings share seeds, so paired differences would be sharper).")
    return "\n".join(lines)


def tradeoff_display(summary: pd.DataFrame, digits: int = 3) -> pd.DataFrame:
    """:func:`tradeoff_summary` as a table to read: one row per alignment and setting."""
    if len(summary) == 0:
        return pd.DataFrame(columns=["alignment", "setting", "seeds"])
    df = summary.assign(row=summary["method"].map(lambda m: method_label(str(m))) + " · " + summary["setting"])
    table = summary_display(df.drop(columns=["method"]).rename(columns={"row": "method"}), row="method",
                            digits=digits)
    return table.rename(columns={"method": "method · setting"})


# ----------------------------------------------------------------------------- data
def soft_label_table(lc: np.ndarray, scheme: str = "dfc9") -> pd.DataFrame:
    """How one land-cover map (a patch's ``lc`` array) becomes a soft label.

    Returns:
        One row per class of ``scheme``: its pixel count, its share (the soft label) and
        whether it counts as present for F1 (share above :data:`xmodal.metrics.F1_THRESHOLD`).
    """
    from xmodal.data.labels import LABEL_SCHEMES, SIMPLE_CLASS_NAMES, class_names, simplify, soft_label

    simple = simplify(lc[0] if lc.ndim == 3 else lc)
    label = soft_label(lc, scheme)
    names = class_names(scheme)
    counts = {SIMPLE_CLASS_NAMES[c - 1]: int((simple == c).sum()) for c in LABEL_SCHEMES[scheme]}
    return pd.DataFrame({"class": names, "pixels": [counts[n] for n in names], "soft label": label,
                         f"present for F1 (> {F1_THRESHOLD:g})": label > F1_THRESHOLD})


def class_frequency_table(labels: np.ndarray, class_names: Sequence[str]) -> pd.DataFrame:
    """Class frequencies of a set of soft labels ``[N, C]``.

    Returns:
        Per class: the share of patches where it is present (> 0), where it counts for F1
        (above the threshold), and its mean share of pixels.
    """
    labels = np.asarray(labels)
    return pd.DataFrame({"class": list(class_names),
                         "present in patch (> 0)": (labels > 0).mean(0),
                         f"counts for F1 (> {F1_THRESHOLD:g})": (labels > F1_THRESHOLD).mean(0),
                         "mean share of pixels": labels.mean(0)})


def pick_patches(ids: Sequence[str], labels: np.ndarray, n: int = 4, seed: int = 0) -> list[str]:
    """``n`` patch ids whose dominant classes differ where possible (seeded)."""
    labels = np.asarray(labels)
    order = np.random.default_rng(seed).permutation(len(ids))
    dominant = labels[order].argmax(1)
    _, first = np.unique(dominant, return_index=True)
    picks = list(order[np.sort(first)])
    chosen = set(picks)
    picks += [i for i in order if i not in chosen]
    return [str(ids[i]) for i in picks[:n]]


def most_mixed(ids: Sequence[str], labels: np.ndarray) -> str:
    """The id of the patch whose soft label has the most classes (ties: the most even)."""
    labels = np.asarray(labels)
    key = (labels > 0).sum(1) - labels.max(1)
    return str(ids[int(np.argmax(key))])


def params_table(params: Mapping[str, Any], prefix: str = "") -> pd.DataFrame:
    """A nested parameter mapping (e.g. the synthetic generator's) as a flat table."""
    rows: list[dict[str, Any]] = []

    def walk(obj: Any, key: str) -> None:
        if isinstance(obj, Mapping):
            for k, v in obj.items():
                walk(v, f"{key}.{k}" if key else str(k))
        else:
            if isinstance(obj, (list, tuple)):
                obj = ", ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in obj)
            rows.append({"parameter": key, "value": obj})

    walk(params, prefix)
    return pd.DataFrame(rows, columns=["parameter", "value"])


def params_overview(params: Any) -> pd.DataFrame:
    """The synthetic generator's parameters: group, name, value, unit, description.

    Args:
        params: a :class:`xmodal.data.synthetic.SyntheticParams`. Tables keyed by biome or
            by class are summarised here and shown in full by :func:`biome_table` and
            :func:`xmodal.plots.signature_figure`.
    """

    def num(x: Any) -> str:
        return f"{x:g}" if isinstance(x, (int, float)) and not isinstance(x, bool) else str(x)

    rows = []
    for r in params.table():
        v = r["value"]
        if isinstance(v, dict) and v and all(isinstance(x, (dict, list)) for x in v.values()):
            first = next(iter(v))
            v = ("per biome: see the biome table" if r["name"].startswith("biome")
                 else f"per class ({len(v)} rows): see the figure" if all(isinstance(x, list) for x in v.values())
                 else f"{len(v)} entries, e.g. {first}: {v[first]}")
        elif isinstance(v, dict):
            v = ", ".join(f"{k} {num(x)}" for k, x in v.items())
        elif isinstance(v, list):
            v = ", ".join(num(x) for x in v)
        else:
            v = num(v)
        rows.append({"group": r["group"], "parameter": r["name"], "value": v, "unit": r["unit"],
                     "description": r["description"]})
    return pd.DataFrame(rows)


def biome_table(params: Any) -> pd.DataFrame:
    """Biomes of the synthetic scenes: probability and class prior of each."""
    return pd.DataFrame(params.biome_table())


def leakage_table(shares: Mapping[str, float], config: Mapping[str, Any]) -> pd.DataFrame:
    """Share of test patches overlapping a training patch per split method, and who uses it.

    Args:
        shares: split method -> share (:func:`xmodal.data.split_leakage`).
        config: a run's config (its ``split`` is "this study's").
    """
    rows = []
    for method, share in shares.items():
        used = []
        if method == "random":
            used.append("the paper")
        if method == config.get("split"):
            used.append("this study")
        rows.append({"split": method, "test patches overlapping a training patch": f"{share:.1%}",
                     "used by": " and ".join(used) or "–"})
    return pd.DataFrame(rows, columns=["split", "test patches overlapping a training patch", "used by"])
