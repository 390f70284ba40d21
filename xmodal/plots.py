"""Study-wide figures and tables of the book.

Every function takes what a study produced — the tidy results table of
:func:`xmodal.study.load_results` (a row per run and modality), the baseline
homogeneity of :func:`xmodal.study.baseline_homogeneity`, a run's ``latents.npz``,
or the SEN12MS root the study ran on — and returns a matplotlib figure, a plotly
figure or a pandas table. None of them trains. Figures of a single run (shown by
the experiment notebook) live in :mod:`xmodal.runplots`.

The paper's own numbers are quoted once, in :data:`PAPER_RESULTS`, and every
figure and table that uses them labels them "reported by the paper".
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

__all__ = [
    "PAPER_RESULTS",
    "METHOD_ORDER",
    "MODALITY_COLORS",
    "CLASS_COLORS",
    "method_label",
    "source_note",
    "final_runs",
    "score_table",
    "comparison_table",
    "homogeneity_table",
    "gap_table",
    "claims",
    "claims_summary",
    "VERDICTS",
    "figure2",
    "figure3",
    "training_budget",
    "read_patch",
    "patch_gallery",
    "soft_label_example",
    "class_frequency_figure",
    "params_table",
    "pick_patches",
    "most_mixed",
    "synthetic_intro",
    "params_overview",
    "signature_figure",
    "biome_table",
    "leakage_table",
    "architecture_figure",
    "grl_schedule_figure",
    "mined_triplets",
    "triplet_figure",
    "load_latents",
    "latent_embedding",
    "latent_figure",
    "latent_figure_static",
    "latent_mixing",
    "plotly_html",
    "show_plotly",
    "show_table",
]

#: Numbers *reported by the paper* (Senchugova and Hänsch), quoted for comparison:
#: macro and weighted F1 per modality (Sec. 3.2, Figure 2) and the homogeneity s of
#: eq. (5). C+M and C+T appear only in the paper's Figure 2, without numbers.
PAPER_RESULTS: dict[str, dict[str, Any]] = {
    "baseline": {"s1": {"macro": 0.58, "weighted": 0.63}, "s2": {"macro": 0.68, "weighted": 0.77},
                 "homogeneity": 0.63},
    "C": {"s1": {"macro": 0.60, "weighted": 0.73}, "s2": {"macro": 0.71, "weighted": 0.80},
          "homogeneity": 0.66},
    "C+T+M": {"s1": {"macro": 0.55, "weighted": 0.70}, "s2": {"macro": 0.64, "weighted": 0.79},
              "homogeneity": 0.67},
}
#: Where the paper's numbers come from, for captions.
PAPER_LABEL = "reported by the paper (SEN12MS winter, random split, ResNet50)"

#: Methods in the order of the paper's Figure 2.
METHOD_ORDER: tuple[str, ...] = ("baseline", "C", "C+M", "C+T", "C+T+M")
#: The paper's colours: Sentinel-1 blue, Sentinel-2 red.
MODALITY_COLORS: dict[str, str] = {"s1": "#1f77b4", "s2": "#d62728", "s2all": "#ff7f0e", "rgb": "#2ca02c"}
MODALITY_LABELS: dict[str, str] = {"s1": "S1", "s2": "S2", "s2all": "S2 (13 bands)", "rgb": "RGB"}
#: Colours of the simplified land-cover classes (those of the IEEE GRSS DFC2020).
CLASS_COLORS: dict[str, str] = {
    "Forest": "#009900", "Shrubland": "#c6b044", "Savanna": "#fbff13", "Grassland": "#b6ff05",
    "Wetland": "#27ff87", "Cropland": "#c24f44", "Urban": "#a5a5a5", "Snow/Ice": "#69fff8",
    "Barren": "#f9ffa4", "Water": "#1c0dff",
}
#: Sentinel-2 band order of a SEN12MS ``s2`` file (13 bands).
S2_BANDS: tuple[str, ...] = ("B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A",
                             "B09", "B10", "B11", "B12")
_ID_RE = re.compile(r"^(ROIs\d{4}_[a-z]+)_(\d+)_p(\d+)$")


def method_label(method: str, modality: str | None = None) -> str:
    """Display name of a method ("baseline" -> "Baseline")."""
    name = "Baseline" if method == "baseline" else method
    return f"{name} {MODALITY_LABELS.get(modality, modality)}" if modality else name


def _ok(results: Any) -> Any:
    if "status" in results.columns:
        return results[results["status"] == "ok"]
    return results


def _methods(df: Any) -> list[str]:
    present = set(df["method"].dropna())
    return [m for m in METHOD_ORDER if m in present] + sorted(present - set(METHOD_ORDER))


def _mods(df: Any) -> list[str]:
    order = list(MODALITY_COLORS)
    present = set(df["modality"].dropna())
    return [m for m in order if m in present] + sorted(present - set(order))


# ---------------------------------------------------------------------------------
# provenance
# ---------------------------------------------------------------------------------
def source_note(results: Any, study: str | None = None) -> str:
    """Which data and how many runs a figure shows, e.g.
    ``"synthetic data, winter, scene split; 14 runs of study 'quick', seeds 0"``."""
    ok = _ok(results)
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


# ---------------------------------------------------------------------------------
# tables
# ---------------------------------------------------------------------------------
def final_runs(results: Any) -> Any:
    """Rows of the runs on the full training set (the runs of the paper's Figure 2).

    Rows with ``n_train_requested`` missing (the whole split); for a method without such
    runs, those with its largest training set.
    """
    ok = _ok(results)
    full = ok[ok["n_train_requested"].isna()]
    rest = []
    for m in set(ok["method"]) - set(full["method"]):
        sub = ok[ok["method"] == m]
        rest.append(sub[sub["n_train"] == sub["n_train"].max()])
    import pandas as pd

    return pd.concat([full, *rest]) if rest else full


def score_table(results: Any, metrics: Sequence[str] = ("macro", "weighted")) -> Any:
    """Mean, standard deviation (over seeds) and number of runs per method and modality,
    on the full training set."""
    df = final_runs(results)
    g = df.groupby(["method", "modality"])[list(metrics)]
    out = g.agg(["mean", "std", "count"])
    out.columns = [f"{m}_{s}" for m, s in out.columns]
    out = out.reset_index()
    order = {m: i for i, m in enumerate(_methods(df))}
    return out.sort_values(["method", "modality"], key=lambda c: c.map(order) if c.name == "method" else c
                           ).reset_index(drop=True)


def _fmt(mean: float, std: float, n: int) -> str:
    if mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return "–"
    if n and n > 1 and std == std:
        return f"{mean:.3f} ± {std:.3f} (n={n})"
    return f"{mean:.3f} (n={n})"


def comparison_table(results: Any) -> Any:
    """Macro and weighted F1 per method and modality beside the numbers reported by the paper."""
    import pandas as pd

    st = score_table(results)
    rows = []
    for _, r in st.iterrows():
        paper = PAPER_RESULTS.get(r["method"], {}).get(r["modality"], {})
        rows.append({
            "method": method_label(r["method"]),
            "modality": MODALITY_LABELS.get(r["modality"], r["modality"]),
            "macro F1 (this study)": _fmt(r["macro_mean"], r["macro_std"], int(r["macro_count"])),
            "macro F1 (paper)": f"{paper['macro']:.2f}" if paper else "–",
            "weighted F1 (this study)": _fmt(r["weighted_mean"], r["weighted_std"], int(r["weighted_count"])),
            "weighted F1 (paper)": f"{paper['weighted']:.2f}" if paper else "–",
        })
    return pd.DataFrame(rows)


def _homogeneity_per_run(results: Any, baseline_hom: Any | None) -> Any:
    """One homogeneity value per run (method, seed) on the full training set."""
    import pandas as pd

    df = final_runs(results)
    cross = df[df["method"] != "baseline"].dropna(subset=["homogeneity"])
    rows = cross.drop_duplicates("run_dir")[["method", "seed", "homogeneity"]].to_dict("records")
    if baseline_hom is not None and len(baseline_hom):
        bh = baseline_hom[baseline_hom["n_train"].isna()] if baseline_hom["n_train"].isna().any() else \
            baseline_hom[baseline_hom["n_train"] == baseline_hom["n_train"].max()]
        rows += [{"method": "baseline", "seed": r["seed"], "homogeneity": r["homogeneity"]}
                 for _, r in bh.iterrows()]
    return pd.DataFrame(rows, columns=["method", "seed", "homogeneity"])


def homogeneity_table(results: Any, baseline_hom: Any | None = None) -> Any:
    """Homogeneity s (eq. 5) per method, beside the value reported by the paper.

    Args:
        results: the tidy results table.
        baseline_hom: :func:`xmodal.study.baseline_homogeneity` of the same study: the
            baseline's s compares the separately trained S1 and S2 baseline models.
    """
    import pandas as pd

    per_run = _homogeneity_per_run(results, baseline_hom)
    rows = []
    for m in _methods(per_run) if len(per_run) else []:
        v = per_run[per_run["method"] == m]["homogeneity"]
        paper = PAPER_RESULTS.get(m, {}).get("homogeneity")
        rows.append({"method": method_label(m),
                     "s (this study)": _fmt(v.mean(), v.std(), len(v)),
                     "s (paper)": f"{paper:.2f}" if paper is not None else "–",
                     "s_mean": v.mean(), "s_std": v.std(), "n": len(v)})
    return pd.DataFrame(rows, columns=["method", "s (this study)", "s (paper)", "s_mean", "s_std", "n"])


def _gap_per_seed(results: Any, metric: str) -> Any:
    """S2 minus S1 score per method and seed (full training set)."""
    df = final_runs(results)
    piv = df.pivot_table(index=["method", "seed"], columns="modality", values=metric, aggfunc="mean")
    if "s1" not in piv or "s2" not in piv:
        return piv.iloc[:0, :0]
    return (piv["s2"] - piv["s1"]).dropna().rename("gap").reset_index()


def gap_table(results: Any) -> Any:
    """The S1-S2 gap (S2 minus S1) in macro and weighted F1 per method, beside the paper's."""
    import pandas as pd

    rows = []
    macro = _gap_per_seed(results, "macro")
    weighted = _gap_per_seed(results, "weighted")
    if len(macro) == 0:
        return pd.DataFrame(columns=["method", "macro gap (this study)", "macro gap (paper)",
                                     "weighted gap (this study)", "weighted gap (paper)"])
    for m in _methods(macro):
        p = PAPER_RESULTS.get(m, {})
        gm = macro[macro["method"] == m]["gap"]
        gw = weighted[weighted["method"] == m]["gap"]
        rows.append({
            "method": method_label(m),
            "macro gap (this study)": _fmt(gm.mean(), gm.std(), len(gm)),
            "macro gap (paper)": f"{p['s2']['macro'] - p['s1']['macro']:.2f}" if p else "–",
            "weighted gap (this study)": _fmt(gw.mean(), gw.std(), len(gw)),
            "weighted gap (paper)": f"{p['s2']['weighted'] - p['s1']['weighted']:.2f}" if p else "–",
        })
    return pd.DataFrame(rows)


def _diff(a: Any, b: Any) -> tuple[float, float, int]:
    """Mean and spread of ``a - b`` over seeds: paired when the seeds match."""
    a = a.dropna()
    b = b.dropna()
    common = a.index.intersection(b.index)
    if len(common) >= 2:
        d = a.loc[common] - b.loc[common]
        return float(d.mean()), float(d.std()), len(d)
    if len(a) == 0 or len(b) == 0:
        return math.nan, math.nan, 0
    sd = math.sqrt((a.var() if len(a) > 1 else 0.0) + (b.var() if len(b) > 1 else 0.0))
    return float(a.mean() - b.mean()), sd if (len(a) > 1 or len(b) > 1) else math.nan, min(len(a), len(b))


#: Verdicts of :func:`claims` (a one-seed verdict says that no spread could be estimated).
VERDICTS: tuple[str, ...] = ("holds", "does not hold", "inconclusive (difference within the spread over seeds)",
                             "not measured", "holds (one seed, no spread)", "does not hold (one seed, no spread)",
                             "does not hold (no difference)")


def _verdict(mean: float, std: float, n: int, want_positive: bool = True) -> str:
    if n == 0 or mean != mean:
        return "not measured"
    if abs(mean) < 1e-12:
        return "does not hold (no difference)"
    sign_ok = mean > 0 if want_positive else mean < 0
    if n > 1 and std == std and abs(mean) <= std:
        return "inconclusive (difference within the spread over seeds)"
    verdict = "holds" if sign_ok else "does not hold"
    return verdict + (" (one seed, no spread)" if n == 1 else "")


def claims(results: Any, baseline_hom: Any | None = None) -> Any:
    """The paper's claims, each checked on this study's results.

    Every claim is a difference between two methods (or modalities) on the full
    training set; with several seeds it is paired by seed and reported as mean ± standard
    deviation. A claim *holds* when the difference has the claimed sign and exceeds its
    spread over seeds, is *inconclusive* when the spread is larger than the difference,
    and *does not hold* otherwise; with one seed the verdict says that no spread could be
    estimated (see :data:`VERDICTS`).

    Returns:
        A table with the claim, what the paper reports, what this study measures and the verdict.
    """
    import pandas as pd

    df = final_runs(results)

    def series(method: str, mod: str, metric: str) -> Any:
        sub = df[(df["method"] == method) & (df["modality"] == mod)]
        return sub.groupby("seed")[metric].mean()

    rows = []

    def add(claim: str, paper: str, d: tuple[float, float, int], what: str, positive: bool = True) -> None:
        mean, std, n = d
        measured = "–" if n == 0 else (f"{what} = {mean:+.3f}" + (f" ± {std:.3f}" if n > 1 and std == std else "")
                                        + f" ({n} seed{'s' if n != 1 else ''})")
        rows.append({"claim": claim, "paper reports": paper, "this study": measured,
                     "verdict": _verdict(mean, std, n, positive)})

    p = PAPER_RESULTS
    for mod in ("s1", "s2"):
        M = mod.upper()
        add(f"C beats the Baseline on {M} (weighted F1)",
            f"{p['C'][mod]['weighted']:.2f} vs {p['baseline'][mod]['weighted']:.2f}",
            _diff(series("C", mod, "weighted"), series("baseline", mod, "weighted")), "C − Baseline")
        add(f"C+T+M keeps or beats the Baseline on {M} (weighted F1)",
            f"{p['C+T+M'][mod]['weighted']:.2f} vs {p['baseline'][mod]['weighted']:.2f}",
            _diff(series("C+T+M", mod, "weighted"), series("baseline", mod, "weighted")), "C+T+M − Baseline")
        add(f"C+T+M loses macro F1 against the Baseline on {M}",
            f"{p['C+T+M'][mod]['macro']:.2f} vs {p['baseline'][mod]['macro']:.2f}",
            _diff(series("C+T+M", mod, "macro"), series("baseline", mod, "macro")), "C+T+M − Baseline",
            positive=False)
        add(f"C is more accurate than C+T+M on {M} (weighted F1)",
            f"{p['C'][mod]['weighted']:.2f} vs {p['C+T+M'][mod]['weighted']:.2f}",
            _diff(series("C", mod, "weighted"), series("C+T+M", mod, "weighted")), "C − C+T+M")
        for abl in ("C+M", "C+T"):
            add(f"Dropping a loss ({abl}) is worse than C+T+M on {M} (weighted F1)",
                "below C+T+M in every case (Figure 2, no numbers)",
                _diff(series("C+T+M", mod, "weighted"), series(abl, mod, "weighted")), f"C+T+M − {abl}")
    for method in _methods(df):
        add(f"S2 is more accurate than S1 ({method_label(method)}, weighted F1)",
            "S2 above S1 for every method",
            _diff(series(method, "s2", "weighted"), series(method, "s1", "weighted")), "S2 − S1")
    gaps = _gap_per_seed(results, "weighted")
    if len(gaps):
        g = gaps.set_index(["method", "seed"])["gap"]
        gb = g.xs("baseline", level="method") if "baseline" in g.index.get_level_values(0) else g.iloc[:0]
        gf = g.xs("C+T+M", level="method") if "C+T+M" in g.index.get_level_values(0) else g.iloc[:0]
        pb = p["baseline"]["s2"]["weighted"] - p["baseline"]["s1"]["weighted"]
        pf = p["C+T+M"]["s2"]["weighted"] - p["C+T+M"]["s1"]["weighted"]
        add("C+T+M narrows the S1-S2 gap of the Baseline (weighted F1)", f"gap {pb:.2f} → {pf:.2f}",
            _diff(gb, gf), "Baseline gap − C+T+M gap")
    hom = _homogeneity_per_run(results, baseline_hom)
    if len(hom):
        h = hom.groupby(["method", "seed"])["homogeneity"].mean()

        def hs(m: str) -> Any:
            return h.xs(m, level="method") if m in h.index.get_level_values(0) else h.iloc[:0]

        add("C+T+M is more homogeneous than the Baseline (eq. 5)",
            f"s = {p['C+T+M']['homogeneity']:.2f} vs {p['baseline']['homogeneity']:.2f}",
            _diff(hs("C+T+M"), hs("baseline")), "s(C+T+M) − s(Baseline)")
        add("C+T+M is more homogeneous than C (eq. 5)",
            f"s = {p['C+T+M']['homogeneity']:.2f} vs {p['C']['homogeneity']:.2f}",
            _diff(hs("C+T+M"), hs("C")), "s(C+T+M) − s(C)")
    return pd.DataFrame(rows, columns=["claim", "paper reports", "this study", "verdict"])


def claims_summary(verdicts: Any, source: str | None = None) -> str:
    """A Markdown paragraph counting which claims of :func:`claims` hold, computed from it."""
    if len(verdicts) == 0:
        return "No claim could be checked: the study has no comparable runs."
    v = verdicts["verdict"]
    holds = verdicts[v.str.startswith("holds")]["claim"].tolist()
    fails = verdicts[v.str.startswith("does not hold")]["claim"].tolist()
    unsure = verdicts[v.str.startswith("inconclusive")]["claim"].tolist()
    missing = verdicts[v == "not measured"]["claim"].tolist()
    lines = [f"Of {len(verdicts)} claims checked" + (f" on {source}" if source else "") + ", "
             f"**{len(holds)} hold**, **{len(fails)} do not hold**, {len(unsure)} are inconclusive"
             + (f" and {len(missing)} could not be measured" if missing else "") + "."]
    if holds:
        lines.append("\n**Hold:** " + "; ".join(holds) + ".")
    if fails:
        lines.append("\n**Do not hold:** " + "; ".join(fails) + ".")
    if unsure:
        lines.append("\n**Inconclusive:** " + "; ".join(unsure) + ".")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------
# Figures 2 and 3
# ---------------------------------------------------------------------------------
def figure2(results: Any, source: str | None = None):
    """The paper's Figure 2: macro (opaque) and weighted (half-transparent) F1 per method
    and modality, mean over seeds with the spread as error bars and every run as a dot;
    the numbers reported by the paper as black outlined markers beside."""
    import matplotlib.pyplot as plt

    df = final_runs(results)
    methods = _methods(df)
    mods = [m for m in _mods(df) if m in ("s1", "s2")] or _mods(df)
    fig, ax = plt.subplots(figsize=(max(6.0, 1.9 * len(methods)), 4.2))
    slots = [(mod, metric) for mod in mods for metric in ("macro", "weighted")]
    width = 0.8 / len(slots)
    for i, method in enumerate(methods):
        for j, (mod, metric) in enumerate(slots):
            x = i - 0.4 + width * (j + 0.5)
            sub = df[(df["method"] == method) & (df["modality"] == mod)][metric].dropna()
            color = MODALITY_COLORS.get(mod, "grey")
            alpha = 1.0 if metric == "macro" else 0.45
            label = f"{MODALITY_LABELS.get(mod, mod)} {metric} F1" if i == 0 else None
            if len(sub):
                ax.bar(x, sub.mean(), width * 0.92, color=color, alpha=alpha, label=label,
                       yerr=sub.std() if len(sub) > 1 else None, capsize=2, ecolor="black")
                ax.scatter(np.full(len(sub), x), sub, s=9, color="black", zorder=3)
            paper = PAPER_RESULTS.get(method, {}).get(mod, {}).get(metric)
            if paper is not None:
                ax.scatter([x], [paper], marker="D", s=30, facecolor="white", edgecolor="black",
                           zorder=4, label="reported by the paper" if (i == 0 and j == 0) else None)
    ax.set_xticks(range(len(methods)), [method_label(m) for m in methods])
    ax.set_ylabel("F1 (threshold 0.3)")
    ax.set_ylim(0, 1)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8, ncol=3, loc="upper center", bbox_to_anchor=(0.5, -0.1))
    ax.set_title("Figure 2: F1 per method and modality (bars: mean, whiskers: std over seeds, "
                 "dots: runs)" + (f"\n{source}" if source else ""), fontsize=9)
    fig.tight_layout()
    return fig


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


def figure3(results: Any, source: str | None = None, methods: Sequence[str] = ("baseline", "C+T+M", "C")):
    """The paper's Figure 3: weighted F1 against the number of training samples for the
    Baseline, C+T+M and C; S1 dashed, S2 solid, bands = mean ± std over seeds."""
    import matplotlib.pyplot as plt

    ok = _ok(results)
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    colors = {"baseline": "#1f77b4", "C+T+M": "#2ca02c", "C": "#9467bd", "C+M": "#8c564b", "C+T": "#e377c2"}
    for method in methods:
        for mod, style in (("s1", "--"), ("s2", "-")):
            sub = ok[(ok["method"] == method) & (ok["modality"] == mod)].dropna(subset=["weighted", "n_train"])
            if sub["n_train"].nunique() < 1:
                continue
            g = sub.groupby("n_train")["weighted"].agg(["mean", "std", "count"]).sort_index()
            x = g.index.to_numpy(dtype=float)
            ax.plot(x, g["mean"], style, marker="o", ms=4, color=colors.get(method, "grey"),
                    label=f"{method_label(method)} {MODALITY_LABELS[mod]}")
            std = g["std"].fillna(0).to_numpy(dtype=float)
            ax.fill_between(x, g["mean"] - std, g["mean"] + std, color=colors.get(method, "grey"), alpha=0.12)
    ax.set_xscale("log")
    sizes = sorted({float(v) for v in ok["n_train"].dropna()})
    if sizes:
        from matplotlib.ticker import NullFormatter, ScalarFormatter

        ax.set_xticks(sizes, [f"{v:g}" for v in sizes])
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.xaxis.set_major_formatter(ScalarFormatter())
    ax.set_xlabel("training samples per modality")
    ax.set_ylabel("weighted F1 (threshold 0.3)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, ncol=2)
    ax.set_title("Figure 3: weighted F1 vs training-set size (S1 dashed, S2 solid; band: ± std over seeds)"
                 + (f"\n{source}" if source else ""), fontsize=9)
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------------------------
# data
# ---------------------------------------------------------------------------------
def _patch_key(patch_id: str):
    from xmodal.data.layout import PatchKey

    m = _ID_RE.match(patch_id)
    if m is None:
        raise ValueError(f"Not a SEN12MS patch id: {patch_id!r} (expected e.g. 'ROIs2017_winter_12_p34')")
    return PatchKey(m.group(1), int(m.group(2)), int(m.group(3)))


def read_patch(root: str | Path, patch_id: str, sensor: str) -> np.ndarray:
    """The raw ``(bands, H, W)`` array of one patch's ``s1``, ``s2`` or ``lc`` GeoTIFF."""
    import rasterio

    from xmodal.data.layout import patch_path

    path = patch_path(root, _patch_key(patch_id), sensor)
    if not path.is_file():
        raise FileNotFoundError(f"No {sensor} file for patch {patch_id}: {path}")
    with rasterio.open(path) as src:
        return src.read()


def _stretch(img: np.ndarray, lo: float = 2, hi: float = 98) -> np.ndarray:
    a = np.nan_to_num(img.astype(np.float64))
    p0, p1 = np.percentile(a, [lo, hi])
    return np.clip((a - p0) / (p1 - p0 + 1e-9), 0, 1)


def _lc_rgb(lc: np.ndarray, scheme: str = "dfc10") -> np.ndarray:
    """Simplified land-cover map (from the IGBP band) as an RGB image."""
    from matplotlib.colors import to_rgb

    from xmodal.data.labels import SIMPLE_CLASS_NAMES, simplify

    simple = simplify(lc[0] if lc.ndim == 3 else lc)
    lut = np.zeros((11, 3))
    for i, name in enumerate(SIMPLE_CLASS_NAMES, start=1):
        lut[i] = to_rgb(CLASS_COLORS[name])
    return lut[simple]


def patch_gallery(root: str | Path, ids: Sequence[str], source: str | None = None):
    """S1 (VV, VH), S2 (true colour B04-B03-B02, false colour B08-B04-B03) and the
    land-cover map of a few patches, one row per patch."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    cols = ["S1 VV (dB)", "S1 VH (dB)", "S2 true colour", "S2 false colour (NIR)", "land cover"]
    fig, axes = plt.subplots(len(ids), len(cols), figsize=(2.2 * len(cols), 2.2 * len(ids)), squeeze=False)
    b = {name: i for i, name in enumerate(S2_BANDS)}
    present: set[str] = set()
    from xmodal.data.labels import SIMPLE_CLASS_NAMES, simplify

    for r, pid in enumerate(ids):
        s1 = read_patch(root, pid, "s1")
        s2 = read_patch(root, pid, "s2").astype(np.float64)
        lc = read_patch(root, pid, "lc")
        imgs = [
            np.clip(np.nan_to_num(s1[0], nan=-25.0), -25, 0),
            np.clip(np.nan_to_num(s1[1], nan=-25.0), -25, 0),
            _stretch(np.stack([s2[b["B04"]], s2[b["B03"]], s2[b["B02"]]], -1)),
            _stretch(np.stack([s2[b["B08"]], s2[b["B04"]], s2[b["B03"]]], -1)),
            _lc_rgb(lc),
        ]
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
    fig.legend(handles=handles, loc="lower center", ncol=min(6, len(handles)), fontsize=8)
    fig.suptitle("Aligned patches" + (f" — {source}" if source else ""), fontsize=9)
    fig.tight_layout(rect=(0, 0.06, 1, 0.97))
    return fig


def soft_label_example(root: str | Path, patch_id: str, scheme: str = "dfc9"):
    """How one land-cover map becomes a soft label: the map, its class histogram, and the
    classes that count as present for F1 (share > 0.3).

    Returns:
        ``(figure, table)``: the table has one row per class with its pixel count, share
        (the soft label) and whether it is above the F1 threshold.
    """
    import matplotlib.pyplot as plt
    import pandas as pd

    from xmodal.data.labels import LABEL_SCHEMES, SIMPLE_CLASS_NAMES, class_names, simplify, soft_label

    lc = read_patch(root, patch_id, "lc")
    simple = simplify(lc[0])
    label = soft_label(lc, scheme)
    names = class_names(scheme)
    counts = {SIMPLE_CLASS_NAMES[c - 1]: int((simple == c).sum()) for c in LABEL_SCHEMES[scheme]}
    table = pd.DataFrame({"class": names, "pixels": [counts[n] for n in names], "soft label": label,
                          "present for F1 (> 0.3)": label > 0.3})
    fig, (a0, a1) = plt.subplots(1, 2, figsize=(8.5, 3.2), gridspec_kw={"width_ratios": [1, 1.6]})
    a0.imshow(_lc_rgb(lc), interpolation="nearest")
    a0.set_title(f"IGBP map of {patch_id}\n(simplified classes)", fontsize=8)
    a0.set_xticks([])
    a0.set_yticks([])
    a1.bar(names, label, color=[CLASS_COLORS[n] for n in names], edgecolor="black")
    a1.axhline(0.3, color="black", ls=":", lw=1)
    a1.text(len(names) - 0.5, 0.31, "F1 threshold 0.3", ha="right", fontsize=7)
    a1.set_ylabel("share of pixels = soft label")
    a1.set_ylim(0, 1)
    a1.tick_params(axis="x", rotation=45, labelsize=8)
    a1.set_title(f"soft label ({scheme})", fontsize=8)
    fig.tight_layout()
    return fig, table


def class_frequency_figure(labels: np.ndarray, class_names: Sequence[str], title: str = ""):
    """Class frequencies of a set of soft labels: share of patches where a class is
    present (> 0), where it counts for F1 (> 0.3), and its mean share of pixels."""
    import matplotlib.pyplot as plt

    labels = np.asarray(labels)
    x = np.arange(len(class_names))
    fig, ax = plt.subplots(figsize=(7.5, 3.4))
    w = 0.27
    ax.bar(x - w, (labels > 0).mean(0), w, label="present in patch (> 0)", color="#9ecae1")
    ax.bar(x, (labels > 0.3).mean(0), w, label="counts for F1 (> 0.3)", color="#3182bd")
    ax.bar(x + w, labels.mean(0), w, label="mean share of pixels", color="#08519c")
    ax.set_xticks(x, class_names, rotation=45, fontsize=8)
    ax.set_ylabel("fraction of patches / pixels")
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return fig


def params_table(params: Mapping[str, Any], prefix: str = "") -> Any:
    """A nested parameter mapping (e.g. the synthetic generator's) as a flat table."""
    import pandas as pd

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


def pick_patches(ids: Sequence[str], labels: np.ndarray, n: int = 4, seed: int = 0) -> list[str]:
    """``n`` patch ids whose dominant classes differ where possible (seeded)."""
    labels = np.asarray(labels)
    order = np.random.default_rng(seed).permutation(len(ids))
    dominant = labels[order].argmax(1)
    _, first = np.unique(dominant, return_index=True)
    picks = list(order[np.sort(first)])
    picks += [i for i in order if i not in set(picks)]
    return [str(ids[i]) for i in picks[:n]]


def most_mixed(ids: Sequence[str], labels: np.ndarray) -> str:
    """The id of the patch whose soft label has the most classes (ties: the most even)."""
    labels = np.asarray(labels)
    key = (labels > 0).sum(1) - labels.max(1)
    return str(ids[int(np.argmax(key))])


def synthetic_intro(synthetic: bool, root: str | Path | None) -> str:
    """Markdown introducing the data-generation section of the data page."""
    if not synthetic:
        return (f"The study ran on a SEN12MS download (`{root}`), not on synthetic data: "
                "there is no generator to describe.")
    return (
        f"The study ran on **synthetic** SEN12MS-like data (`{root}`), written by "
        "`xmodal.data.make_synthetic` as real GeoTIFFs in the official layout, so the same reader "
        "is used as for SEN12MS. Each scene draws a biome and a class prior; land cover is a "
        "warped two-level Voronoi partition; the label is a coarse MODIS-like 500 m grid of "
        "majority classes (with boundary errors); Sentinel-2 reflectance is rendered from "
        "per-class 13-band signatures with scene, object and texture variability, adjacency blur, "
        "noise, winter snow and thin clouds; Sentinel-1 backscatter from per-class VV/VH levels "
        "in dB with multiplicative gamma speckle (mean 1, shape = number of looks). The vegetated "
        "classes overlap in backscatter, so S1 is less separable than S2, as on SEN12MS. Every "
        "parameter, with its unit (recorded in the data's `xmodal_synthetic.json`):"
    )


def params_overview(params: Any) -> Any:
    """The synthetic generator's parameters: group, name, value, unit, description.

    Args:
        params: a :class:`xmodal.data.synthetic.SyntheticParams`. Tables keyed by biome or
            by class are summarised here and shown in full by :func:`biome_table` and
            :func:`signature_figure`.
    """
    import pandas as pd

    def num(x: Any) -> str:
        return f"{x:g}" if isinstance(x, (int, float)) and not isinstance(x, bool) else str(x)

    rows = []
    for r in params.table():
        v = r["value"]
        if isinstance(v, dict) and v and all(isinstance(x, (dict, list)) for x in v.values()):
            first = next(iter(v))
            v = (f"per biome: see the biome table" if r["name"].startswith("biome")
                 else f"per class ({len(v)} rows): see the figure" if r["name"].startswith(("s1", "s2"))
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


def biome_table(params: Any) -> Any:
    """Biomes of the synthetic scenes: probability and class prior of each."""
    import pandas as pd

    return pd.DataFrame(params.biome_table())


def signature_figure(params: Any):
    """The synthetic data's class signatures: S2 mean reflectance per band and S1 mean
    backscatter (VV against VH, with the texture standard deviation)."""
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


def leakage_table(root: str | Path, config: Mapping[str, Any]) -> Any:
    """Share of test patches overlapping a training patch, for a random and a scene split
    of the same data and test fraction (the data layer's :func:`xmodal.data.split_leakage`)."""
    import pandas as pd

    from xmodal.data import split_leakage

    import warnings

    with warnings.catch_warnings():  # skipped (unlabelled) patches are reported on the data page
        warnings.simplefilter("ignore", UserWarning)
        shares = split_leakage(root, season=config.get("season", "winter"),
                               test_fraction=config.get("test_fraction", 4000 / 31825),
                               seed=config.get("seed", 0), label_scheme=config.get("label_scheme", "dfc9"))
    rows = []
    for method, share in shares.items():
        used = []
        if method == "random":
            used.append("the paper")
        if method == config.get("split"):
            used.append("this study")
        rows.append({"split": method, "test patches overlapping a training patch": f"{share:.1%}",
                     "used by": " and ".join(used) or "–"})
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------------
# method
# ---------------------------------------------------------------------------------
def architecture_figure(modalities: Sequence[str] = ("s1", "s2"), backbone: str = "ResNet",
                        latent_dim: int | str = 1024):
    """The architecture (the paper's Figure 1), drawn with matplotlib boxes."""
    import matplotlib.pyplot as plt
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
        col = MODALITY_COLORS.get(mod, "#cccccc")
        box(0.0, y, 1.2, 0.7, f"{MODALITY_LABELS.get(mod, mod)}\nimage $x^{{{mod.upper()}}}$", col + "55")
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


def grl_schedule_figure(final: float = 1.0):
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


def mined_triplets(latents: Mapping[str, np.ndarray], anchor_mod: str = "s1", other_mod: str = "s2",
                   batch_size: int = 16, n_show: int = 8, seed: int = 0,
                   positive_threshold: float = 0.5, negative_threshold: float = 0.1,
                   class_names: Sequence[str] | None = None) -> Any:
    """Run :func:`xmodal.losses.mine_triplets` on a real batch and tabulate its choices.

    A batch of ``batch_size`` anchors of ``anchor_mod`` and an *independent* batch of
    ``other_mod`` (as in training: the two batches are not aligned) are drawn from a run's
    saved latent vectors; for each anchor the table shows its soft label, the positive
    and the hard negative chosen from the other modality, their histogram intersection
    with the anchor's label and their cosine similarity to the anchor.
    """
    import pandas as pd
    import torch

    from xmodal.losses import histogram_intersection, mine_triplets

    mod = np.asarray(latents["modality"]).astype(str)
    rng = np.random.default_rng(seed)
    ia = np.flatnonzero(mod == anchor_mod)
    ib = np.flatnonzero(mod == other_mod)
    ia = rng.choice(ia, size=min(batch_size, len(ia)), replace=False)
    ib = rng.choice(ib, size=min(batch_size, len(ib)), replace=False)
    z = torch.as_tensor(np.asarray(latents["z"], dtype=np.float32))
    y = torch.as_tensor(np.asarray(latents["labels"], dtype=np.float32))
    pos, neg, valid = mine_triplets(z[ia], y[ia], z[ib], y[ib], positive_threshold, negative_threshold)
    s = histogram_intersection(y[ia], y[ib]).numpy()
    za = torch.nn.functional.normalize(z[ia], dim=1)
    zb = torch.nn.functional.normalize(z[ib], dim=1)
    cos = (za @ zb.T).numpy()
    ids = np.asarray(latents["ids"]).astype(str)
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


def triplet_figure(info: Mapping[str, Any], title: str = ""):
    """Label similarity S and cosine similarity of a mined batch, with each anchor's
    positive (circle) and hard negative (cross) marked."""
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
def load_latents(run_dir: str | Path) -> dict[str, np.ndarray]:
    """A run's ``latents.npz``: ``z`` [N, D], ``labels`` [N, K], ``modality`` [N], ``ids`` [N]."""
    path = Path(run_dir) / "latents.npz"
    if not path.is_file():
        raise FileNotFoundError(f"No latent vectors in {path}")
    with np.load(path, allow_pickle=False) as f:
        return {k: np.asarray(f[k]) for k in f.files}


def latent_embedding(panels: Mapping[str, Sequence[Mapping[str, np.ndarray]]],
                     class_names: Sequence[str], seed: int = 0, n_neighbors: int = 15) -> Any:
    """UMAP (seeded) of the latent vectors of each panel into 2-d.

    Args:
        panels: panel title -> the ``latents.npz`` contents of one or more runs. Several
            runs in a panel (the two Baseline models) are embedded *together*, although
            their latent spaces are not shared: nothing ties the coordinates of the S1
            model to those of the S2 model.
        class_names: names of the soft-label entries.
        seed: UMAP's random state (deterministic output).

    Returns:
        A table with panel, x, y, modality, id, dominant class and a soft-label text.
    """
    import warnings

    import pandas as pd

    with warnings.catch_warnings():  # umap imports tqdm.auto, which warns without ipywidgets
        warnings.simplefilter("ignore")
        import umap

    frames = []
    for title, runs in panels.items():
        z = np.concatenate([np.asarray(r["z"], dtype=np.float32) for r in runs])
        labels = np.concatenate([np.asarray(r["labels"]) for r in runs])
        mods = np.concatenate([np.asarray(r["modality"]).astype(str) for r in runs])
        ids = np.concatenate([np.asarray(r["ids"]).astype(str) for r in runs])
        k = max(2, min(n_neighbors, len(z) - 1))
        reducer = umap.UMAP(n_neighbors=k, min_dist=0.1, random_state=seed, n_jobs=1,
                            init="spectral" if len(z) > k + 2 else "random")
        xy = reducer.fit_transform(z)
        dominant = [class_names[i] for i in labels.argmax(1)]
        text = [", ".join(f"{class_names[c]} {v:.2f}" for c, v in sorted(enumerate(row), key=lambda t: -t[1])
                          if v > 0) for row in labels]
        frames.append(pd.DataFrame({"panel": title, "x": xy[:, 0], "y": xy[:, 1], "modality": mods,
                                    "id": ids, "dominant": dominant, "soft_label": text}))
    return pd.concat(frames, ignore_index=True)


def latent_figure(emb: Any, class_names: Sequence[str], title: str = ""):
    """Interactive plotly figure of :func:`latent_embedding`: one panel per method, points
    coloured by modality or by dominant class (buttons), hover shows patch id and soft label."""
    from plotly.subplots import make_subplots
    import plotly.graph_objects as go

    panels = list(dict.fromkeys(emb["panel"]))
    fig = make_subplots(rows=1, cols=len(panels), subplot_titles=panels, horizontal_spacing=0.04)
    by_mod, by_cls = [], []
    classes = [c for c in class_names if c in set(emb["dominant"])]
    for j, panel in enumerate(panels, start=1):
        sub = emb[emb["panel"] == panel]
        for mod in _mods(sub):
            s = sub[sub["modality"] == mod]
            fig.add_trace(go.Scatter(
                x=s["x"], y=s["y"], mode="markers", name=MODALITY_LABELS.get(mod, mod),
                legendgroup=f"mod-{mod}", showlegend=(j == 1),
                marker=dict(size=6, color=MODALITY_COLORS.get(mod, "grey"), opacity=0.75,
                            line=dict(width=0.3, color="black")),
                customdata=np.stack([s["id"], s["soft_label"], s["modality"]], -1),
                hovertemplate="%{customdata[0]} (%{customdata[2]})<br>%{customdata[1]}<extra></extra>",
            ), row=1, col=j)
            by_mod.append(len(fig.data) - 1)
        for cls in classes:
            s = sub[sub["dominant"] == cls]
            fig.add_trace(go.Scatter(
                x=s["x"], y=s["y"], mode="markers", name=cls, legendgroup=f"cls-{cls}",
                showlegend=(j == 1), visible=False,
                marker=dict(size=6, color=CLASS_COLORS.get(cls, "grey"), opacity=0.85,
                            symbol=["circle" if m == "s1" else "diamond" for m in s["modality"]],
                            line=dict(width=0.3, color="black")),
                customdata=np.stack([s["id"], s["soft_label"], s["modality"]], -1),
                hovertemplate="%{customdata[0]} (%{customdata[2]})<br>%{customdata[1]}<extra></extra>",
            ), row=1, col=j)
            by_cls.append(len(fig.data) - 1)
    n = len(fig.data)
    vis_mod = [i in by_mod for i in range(n)]
    vis_cls = [i in by_cls for i in range(n)]
    fig.update_layout(
        title=dict(text=title, font=dict(size=12), x=0.01, xanchor="left", y=0.98, yanchor="top"),
        height=480, margin=dict(t=120, l=20, r=20, b=20), template="plotly_white",
        updatemenus=[dict(type="buttons", direction="right", x=0.0, y=1.17, xanchor="left", yanchor="bottom",
                          buttons=[dict(label="colour by modality", method="update", args=[{"visible": vis_mod}]),
                                   dict(label="colour by dominant class", method="update",
                                        args=[{"visible": vis_cls}])])],
    )
    fig.update_xaxes(showticklabels=False)
    fig.update_yaxes(showticklabels=False)
    return fig


def latent_figure_static(emb: Any, class_names: Sequence[str], title: str = ""):
    """Static (matplotlib) version of :func:`latent_figure`: top row by modality, bottom row
    by dominant class."""
    import matplotlib.pyplot as plt

    panels = list(dict.fromkeys(emb["panel"]))
    fig, axes = plt.subplots(2, len(panels), figsize=(3.6 * len(panels), 7), squeeze=False)
    for j, panel in enumerate(panels):
        sub = emb[emb["panel"] == panel]
        for mod in _mods(sub):
            s = sub[sub["modality"] == mod]
            axes[0, j].scatter(s["x"], s["y"], s=8, color=MODALITY_COLORS.get(mod, "grey"), alpha=0.7,
                               label=MODALITY_LABELS.get(mod, mod))
        for cls in class_names:
            s = sub[sub["dominant"] == cls]
            if len(s):
                axes[1, j].scatter(s["x"], s["y"], s=8, color=CLASS_COLORS.get(cls, "grey"), alpha=0.85,
                                   label=cls, edgecolor="black", linewidth=0.2)
        axes[0, j].set_title(panel, fontsize=9)
        for ax in axes[:, j]:
            ax.set_xticks([])
            ax.set_yticks([])
    axes[0, 0].legend(fontsize=7)
    handles, labels = [], []
    for ax in axes[1]:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            if lab not in labels:
                handles.append(h)
                labels.append(lab)
    fig.legend(handles, labels, loc="lower center", ncol=min(9, len(labels)), fontsize=7)
    fig.suptitle(re.sub(r"<[^>]+>", " ", title), fontsize=9)
    fig.tight_layout(rect=(0, 0.05, 1, 0.96))
    return fig


def latent_mixing(panels: Mapping[str, Sequence[Mapping[str, np.ndarray]]], k: int = 10) -> Any:
    """How mixed the sensors are in each panel's latent space (original dimensions).

    Returns:
        A table per panel: number of vectors; *other-sensor neighbours*, the mean share of
        each vector's ``k`` nearest neighbours (Euclidean) that come from another sensor;
        *pair found*, the share of S1 vectors whose nearest S2 vector is the same patch.
    """
    import pandas as pd
    from sklearn.neighbors import NearestNeighbors

    rows = []
    for title, runs in panels.items():
        z = np.concatenate([np.asarray(r["z"], dtype=np.float32) for r in runs])
        mods = np.concatenate([np.asarray(r["modality"]).astype(str) for r in runs])
        ids = np.concatenate([np.asarray(r["ids"]).astype(str) for r in runs])
        kk = max(1, min(k, len(z) - 1))
        nn = NearestNeighbors(n_neighbors=kk + 1).fit(z)
        idx = nn.kneighbors(z, return_distance=False)[:, 1:]
        other = float((mods[idx] != mods[:, None]).mean())
        a, b = mods == "s1", mods == "s2"
        found = math.nan
        if a.any() and b.any():
            nb = NearestNeighbors(n_neighbors=1).fit(z[b])
            j = nb.kneighbors(z[a], return_distance=False)[:, 0]
            found = float((ids[b][j] == ids[a]).mean())
        rows.append({"panel": title, "vectors": len(z), f"other-sensor neighbours (k={kk})": round(other, 3),
                     "pair found (S1 → nearest S2)": round(found, 3) if found == found else "–",
                     "chance level of pair found": round(1 / max(int(b.sum()), 1), 3)})
    return pd.DataFrame(rows)


def plotly_html(fig: Any, div_id: str | None = None) -> str:
    """A plotly figure as an HTML fragment *without* plotly.js (the book serves its own
    copy, so pages work offline) and without links to plotly's servers."""
    return fig.to_html(full_html=False, include_plotlyjs=False, div_id=div_id,
                       config={"displaylogo": False, "responsive": True})


def show_table(table: Any, precision: int = 3) -> Any:
    """A table for a book page: no index column, no truncated cells, ``precision`` decimals."""
    return table.style.hide(axis="index").format(precision=precision, na_rep="–")


def show_plotly(fig: Any, div_id: str | None = None) -> Any:
    """Display a plotly figure in a notebook page of the book (see :func:`plotly_html`)."""
    from IPython.display import HTML

    return HTML(plotly_html(fig, div_id))


