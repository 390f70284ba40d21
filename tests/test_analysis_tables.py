"""The study's tables and statistics (xmodal.analysis.tables) on hand-made tables with known answers.

Also the loading side (xmodal.results.load_results / load_homogeneity / baseline_homogeneity) on
run folders written through xmodal.rundir by hand: nothing here trains.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from xmodal.analysis import tables
from xmodal.rundir import Latents, Predictions, Result, RunDir, RunError


def _rows(specs: list[tuple]) -> pd.DataFrame:
    """A results table from (method, sensor, trained, n_requested, seed, macro, weighted) tuples."""
    rows = []
    for method, sensor, trained, n_req, seed, macro, weighted in specs:
        rows.append({"study": "t", "method": method, "modality": sensor, "trained_modalities": trained,
                     "n_train": 100 if n_req is None else n_req, "n_train_requested": n_req, "seed": seed,
                     "macro": macro, "weighted": weighted, "homogeneity": math.nan, "status": "ok",
                     "data_kind": "synthetic", "season": "winter", "split": "scene",
                     "run_dir": f"/runs/t/{method}-{trained}-n{n_req}-seed{seed}"})
    df = pd.DataFrame(rows)
    df["n_train_requested"] = df["n_train_requested"].astype("Int64")
    return df


@pytest.fixture()
def two_seeds() -> pd.DataFrame:
    """Baseline S1 / S2 and C on S1+S2, two seeds, full training set; C also at n=10."""
    return _rows([
        ("baseline", "s1", "s1", None, 0, 0.50, 0.60), ("baseline", "s1", "s1", None, 1, 0.52, 0.62),
        ("baseline", "s2", "s2", None, 0, 0.60, 0.70), ("baseline", "s2", "s2", None, 1, 0.64, 0.74),
        ("C", "s1", "s1+s2", None, 0, 0.55, 0.70), ("C", "s2", "s1+s2", None, 0, 0.65, 0.75),
        ("C", "s1", "s1+s2", None, 1, 0.57, 0.74), ("C", "s2", "s1+s2", None, 1, 0.67, 0.77),
        ("C", "s1", "s1+s2", 10, 0, 0.30, 0.40), ("C", "s2", "s1+s2", 10, 0, 0.35, 0.45),
    ])


@pytest.fixture()
def three_sensors() -> pd.DataFrame:
    """Baselines on s1, s2 and rgb and C+T+M on all three, one seed."""
    return _rows([
        ("baseline", "s1", "s1", None, 0, 0.50, 0.60), ("baseline", "s2", "s2", None, 0, 0.60, 0.70),
        ("baseline", "rgb", "rgb", None, 0, 0.55, 0.65),
        ("C+T+M", "s1", "s1+s2+rgb", None, 0, 0.52, 0.61), ("C+T+M", "s2", "s1+s2+rgb", None, 0, 0.62, 0.72),
        ("C+T+M", "rgb", "s1+s2+rgb", None, 0, 0.58, 0.66),
    ])


# ----------------------------------------------------------------------------- vocabulary
def test_sensors_are_ordered_as_the_data_layer_lists_them_and_paired_once() -> None:
    assert tables.sensor_order(["rgb", "s2", "s1", "s2", "zz", "aa"]) == ["s1", "s2", "rgb", "aa", "zz"]
    assert tables.sensor_pairs(["rgb", "s1", "s2"]) == [("s1", "s2"), ("s1", "rgb"), ("s2", "rgb")]
    assert tables.sensor_pairs(["s2"]) == []
    df = pd.DataFrame({"method": ["C+T+M", "zeta", "baseline", "C"], "modality": ["rgb", "s1", None, "s1"]})
    assert tables.methods_in(df) == ["baseline", "C", "C+T+M", "zeta"]
    assert tables.sensors_in(df) == ["s1", "rgb"]
    assert tables.method_label("baseline", "s2") == "Baseline S2"
    assert tables.method_label("C+T+M") == "C+T+M"


def test_the_papers_numbers_are_looked_up_in_either_pair_order() -> None:
    assert tables.paper_score("C", "s2", "weighted") == 0.80
    assert tables.paper_score("C+M", "s1", "macro") is None  # Figure 2 only, no number
    assert tables.paper_homogeneity("C+T+M", "s2", "s1") == tables.paper_homogeneity("C+T+M", "s1", "s2") == 0.67
    assert tables.paper_homogeneity("baseline", "s1", "rgb") is None
    assert tables.paper_sensors() == ["s1", "s2"]


# ----------------------------------------------------------------------------- runs and scores
def test_final_runs_take_the_whole_split_or_else_the_largest_set(two_seeds: pd.DataFrame) -> None:
    small_only = _rows([("C+M", "s1", "s1+s2", 10, 0, 0.3, 0.4), ("C+M", "s1", "s1+s2", 20, 0, 0.4, 0.5)])
    df = pd.concat([two_seeds, small_only, two_seeds.iloc[:1].assign(status="failed")], ignore_index=True)
    final = tables.final_runs(df)
    assert final["n_train_requested"].isna().sum() == 8 and (final["status"] == "ok").all()
    assert final[final["method"] == "C+M"]["n_train"].tolist() == [20]


def test_source_note_names_data_split_runs_and_seeds(two_seeds: pd.DataFrame) -> None:
    assert tables.source_note(two_seeds, study="t") == (
        "synthetic SEN12MS-like data, winter, scene split; 7 runs of study 't', seeds 0, 1")
    assert tables.source_note(two_seeds.iloc[:0]) == "no finished run"


def test_score_and_summary_tables(two_seeds: pd.DataFrame, three_sensors: pd.DataFrame) -> None:
    st = tables.score_table(two_seeds).set_index(["method", "modality"])
    assert st.loc[("C", "s1"), "weighted_mean"] == pytest.approx(0.72)
    assert st.loc[("C", "s1"), "weighted_std"] == pytest.approx(np.std([0.70, 0.74], ddof=1))
    assert st.loc[("C", "s1"), "weighted_count"] == 2  # the n=10 run is not on the full set
    order = tables.score_table(three_sensors)[["method", "modality"]].apply(tuple, axis=1).tolist()
    assert order == [("baseline", "s1"), ("baseline", "s2"), ("baseline", "rgb"),
                     ("C+T+M", "s1"), ("C+T+M", "s2"), ("C+T+M", "rgb")]
    summary = tables.summary_table(two_seeds)
    assert summary["n"].sum() == len(two_seeds)
    assert {"method", "modality", "n_train", "macro_mean", "weighted_std", "n"} <= set(summary.columns)


def test_comparison_table_puts_the_papers_numbers_beside(two_seeds: pd.DataFrame,
                                                         three_sensors: pd.DataFrame) -> None:
    table = tables.comparison_table(two_seeds).set_index(["method", "modality"])
    assert table.loc[("C", "S1"), "weighted F1 (this study)"] == f"0.720 ± {np.std([0.70, 0.74], ddof=1):.3f} (n=2)"
    assert table.loc[("C", "S1"), "weighted F1 (paper)"] == "0.73"
    assert table.loc[("Baseline", "S2"), "macro F1 (paper)"] == "0.68"
    rgb = tables.comparison_table(three_sensors).set_index(["method", "modality"]).loc[("C+T+M", "RGB")]
    assert rgb["weighted F1 (this study)"] == "0.660 (n=1)" and rgb["weighted F1 (paper)"] == "–"


# ----------------------------------------------------------------------------- homogeneity
def _pred(sensor: str, ids: list[str], prob: list[list[float]]) -> Predictions:
    p = np.asarray(prob, dtype=float)
    return Predictions([sensor], ["A", "B"], {sensor: np.asarray(ids)}, {sensor: p}, {sensor: p})


def test_baseline_homogeneity_aligns_two_runs_by_patch_id_for_every_pair(three_sensors: pd.DataFrame) -> None:
    pairs = tables.baseline_pairs(three_sensors)
    assert list(zip(pairs["sensor_a"], pairs["sensor_b"], strict=True)) == [("s1", "s2"), ("s1", "rgb"), ("s2", "rgb")]
    run = {s: pairs.loc[pairs["sensor_a"] == s, "run_dir_a"].iloc[0] for s in ("s1", "s2")}
    run["rgb"] = pairs.loc[pairs["sensor_b"] == "rgb", "run_dir_b"].iloc[0]
    preds = {
        run["s1"]: _pred("s1", ["p1", "p2", "p3"], [[1, 0], [0.5, 0.5], [0, 1]]),
        run["s2"]: _pred("s2", ["p3", "p1", "p9"], [[0, 1], [0.6, 0.4], [1, 0]]),  # another order, p9 only here
        run["rgb"]: _pred("rgb", ["q1", "q2"], [[1, 0], [0, 1]]),  # no patch in common with the others
    }
    hom = tables.baseline_homogeneity(pairs, preds)
    assert list(hom.columns) == list(tables.PAIR_COLUMNS)
    assert len(hom) == 1  # the rgb pairs share no patch
    row = hom.iloc[0]
    # p1: min(1, .6) + min(0, .4) = 0.6; p3: 1.0  -> mean 0.8 over 2 aligned pairs
    assert (row["sensor_a"], row["sensor_b"], row["n_pairs"]) == ("s1", "s2", 2)
    assert row["homogeneity"] == pytest.approx(0.8)
    assert row["method"] == "baseline" and pd.isna(row["n_train"]) and row["seed"] == 0


def _pairs(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame([{"study": "t", "method": m, "sensor_a": a, "sensor_b": b, "n_train": n, "seed": seed,
                          "homogeneity": h, "n_pairs": 10, "run_dir_a": f"{m}{seed}", "run_dir_b": f"{m}{seed}"}
                         for m, a, b, n, seed, h in rows], columns=list(tables.PAIR_COLUMNS))


def test_homogeneity_table_per_method_and_pair_beside_the_paper() -> None:
    pairs = _pairs([
        ("baseline", "s1", "s2", None, 0, 0.50), ("baseline", "s1", "s2", None, 1, 0.54),
        ("C+T+M", "s1", "s2", None, 0, 0.70), ("C+T+M", "s2", "s1", None, 1, 0.74),  # either order
        ("C+T+M", "s1", "rgb", None, 0, 0.80), ("C+T+M", "s1", "s2", 10, 0, 0.10),  # n=10: not final
        ("C", "s1", "s2", 10, 0, 0.3), ("C", "s1", "s2", 20, 0, 0.4), ("C", "s1", "s2", 20, 1, math.nan),
    ])
    final = tables.final_pairs(pairs)
    assert sorted(final[final["method"] == "C"]["homogeneity"]) == [0.4]  # largest set, NaN dropped
    table = tables.homogeneity_table(pairs)
    assert table[["method", "sensors"]].apply(tuple, axis=1).tolist() == [
        ("Baseline", "S1, S2"), ("C", "S1, S2"), ("C+T+M", "S1, S2"), ("C+T+M", "S1, RGB")]
    row = table.set_index(["method", "sensors"]).loc[("C+T+M", "S1, S2")]
    assert row["s_mean"] == pytest.approx(0.72) and row["n"] == 2 and row["s (paper)"] == "0.67"
    assert table.set_index(["method", "sensors"]).loc[("C+T+M", "S1, RGB"), "s (paper)"] == "–"
    assert table.set_index(["method", "sensors"]).loc[("Baseline", "S1, S2"), "s (this study)"].startswith("0.520 ± ")
    assert len(tables.homogeneity_table(pairs.iloc[:0])) == 0


# ----------------------------------------------------------------------------- gaps
def test_gap_is_the_later_sensor_minus_the_earlier_per_seed(two_seeds: pd.DataFrame,
                                                            three_sensors: pd.DataFrame) -> None:
    gaps = tables.gap_per_seed(two_seeds, "macro", "s1", "s2").set_index(["method", "seed"])["gap"]
    assert gaps[("baseline", 1)] == pytest.approx(0.12) and gaps[("C", 0)] == pytest.approx(0.10)
    assert len(tables.gap_per_seed(two_seeds, "macro", "s1", "rgb")) == 0
    table = tables.gap_table(two_seeds).set_index("method")
    assert table.loc["Baseline", "sensors"] == "S2 − S1"
    assert table.loc["Baseline", "macro gap (this study)"].startswith("0.110 ± ")
    assert table.loc["Baseline", "weighted gap (paper)"] == "0.14"
    three = tables.gap_table(three_sensors)
    assert set(three["sensors"]) == {"S2 − S1", "RGB − S1", "RGB − S2"}
    rgb = three.set_index(["method", "sensors"]).loc[("C+T+M", "RGB − S2")]
    assert rgb["weighted gap (this study)"] == "-0.060 (n=1)" and rgb["weighted gap (paper)"] == "–"
    assert list(tables.gap_table(two_seeds.iloc[:0])) == list(table.reset_index().columns)


# ----------------------------------------------------------------------------- claims
def test_claims_carry_paired_intervals_and_two_seeds_decide_nothing(two_seeds: pd.DataFrame) -> None:
    from scipy import stats as sps

    pairs = _pairs([("baseline", "s1", "s2", None, 0, 0.50), ("baseline", "s1", "s2", None, 1, 0.52),
                    ("C", "s1", "s2", None, 0, 0.70), ("C", "s1", "s2", None, 1, 0.74)])
    table = tables.claims(two_seeds, pairs).set_index("claim")
    assert list(table.reset_index().columns) == list(tables.CLAIM_COLUMNS)
    assert set(table["verdict"]) <= set(tables.VERDICTS)
    c = table.loc["C beats the Baseline on S1 (weighted F1)"]  # paired differences 0.10, 0.12
    half = sps.t.ppf(0.975, 1) * np.std([0.10, 0.12], ddof=1) / np.sqrt(2)
    assert c["paper reports"] == "0.73 vs 0.63"
    assert c["estimate"] == pytest.approx(0.11) and c["half_width"] == pytest.approx(half) and c["n"] == 2
    assert c["this study"] == f"C − Baseline = +0.110 [{0.11 - half:+.3f}, {0.11 + half:+.3f}] (2 seeds)"
    assert c["verdict"] == "inconclusive"  # the interval (t with 1 degree of freedom) contains 0
    keeps = table.loc["C+T+M keeps the Baseline's accuracy on S2 (weighted F1, margin 0.02)"]
    assert keeps["kind"] == "noninferior" and keeps["verdict"] == "not measured"
    hom = table.loc["C+T+M is more homogeneous than C (eq. 5)"]
    assert hom["paper reports"] == "s = 0.67 vs 0.66" and hom["verdict"] == "not measured"
    assert "C+T+M narrows the S1-S2 gap of the Baseline (weighted F1)" in table.index
    summary = tables.claims_summary(table.reset_index(), "the test")
    assert summary.startswith(f"Of {len(table)} claims checked on the test (2 seeds each), **0 hold**")
    assert "Holm" in summary
    assert tables.claims_summary(table.iloc[:0]) == "No claim could be checked: the study has no comparable runs."


def test_claims_hold_only_when_the_holm_adjusted_interval_allows() -> None:
    """Ten seeds: C is clearly above the Baseline on S1, equal on S2; C+T+M within the margin."""
    rng = np.random.default_rng(0)
    specs = []
    for seed in range(10):
        noise = rng.normal(0, 0.005, 6)
        specs += [("baseline", "s1", "s1", None, seed, 0.50, 0.60 + noise[0]),
                  ("baseline", "s2", "s2", None, seed, 0.60, 0.70 + noise[1]),
                  ("C", "s1", "s1+s2", None, seed, 0.55, 0.70 + noise[2]),
                  ("C", "s2", "s1+s2", None, seed, 0.65, 0.70 + noise[3]),
                  ("C+T+M", "s1", "s1+s2", None, seed, 0.50, 0.595 + noise[4]),
                  ("C+T+M", "s2", "s1+s2", None, seed, 0.60, 0.60 + noise[5])]
    table = tables.claims(_rows(specs)).set_index("claim")
    assert table.loc["C beats the Baseline on S1 (weighted F1)", "verdict"] == "holds"
    assert table.loc["C beats the Baseline on S2 (weighted F1)", "verdict"] == "inconclusive"
    # 0.005 below the Baseline, well inside the 0.02 margin: non-inferior
    assert table.loc["C+T+M keeps the Baseline's accuracy on S1 (weighted F1, margin 0.02)", "verdict"] == "holds"
    # 0.10 below: significantly worse than the margin allows
    assert table.loc["C+T+M keeps the Baseline's accuracy on S2 (weighted F1, margin 0.02)",
                     "verdict"] == "does not hold"
    assert (table["p_holm"].dropna() >= table["p"].dropna()).all()


def test_claims_check_the_papers_sensors_whatever_else_the_study_has(three_sensors: pd.DataFrame) -> None:
    two = three_sensors[three_sensors["modality"] != "rgb"]
    with_rgb = tables.claims(three_sensors)
    assert with_rgb["claim"].tolist() == tables.claims(two)["claim"].tolist()
    assert not with_rgb["claim"].str.contains("RGB").any()
    only_rgb = three_sensors[three_sensors["modality"] == "rgb"]
    assert len(tables.claims(only_rgb)) == 0


def test_training_budget_says_whether_the_size_curves_vary_only_the_data() -> None:
    fixed = tables.training_budget({"epochs": 10, "steps_per_epoch": 15, "batch_size": 32})
    assert "10 x 15 = 150 optimisation steps of 32 patches" in fixed and "vary only the data" in fixed
    per_epoch = tables.training_budget({"epochs": 6, "steps_per_epoch": None, "batch_size": 16})
    assert "6 epochs over its own training set" in per_epoch and "fewer" in per_epoch


# ----------------------------------------------------------------------------- latent space
def _latents(sensors: list[str], n: int = 6, seed: int = 0, shift: float = 0.0) -> Latents:
    """The same patches seen by every sensor: sensor k's vectors are patch vectors + k * shift."""
    rng = np.random.default_rng(seed)
    base = rng.normal(size=(n, 4)).astype(np.float32) * 5
    labels = np.eye(3)[np.arange(n) % 3]
    z = np.concatenate([base + k * shift for k in range(len(sensors))])
    ids = np.array([f"p{i}" for i in range(n)] * len(sensors))
    mod = np.repeat(np.array(sensors), n)
    return Latents(z, np.tile(labels, (len(sensors), 1)), np.tile(labels, (len(sensors), 1)), mod, ids)


def test_latent_mixing_measures_every_pair_of_sensors() -> None:
    mixed = _latents(["s1", "s2", "rgb"], shift=0.0)  # identical vectors: every pair found
    apart = _latents(["s1", "s2"], shift=1000.0)  # far apart: no other-sensor neighbour
    table = tables.latent_mixing({"mixed": [mixed], "apart": [apart]}, k=2).set_index("panel")
    assert table.loc["mixed", "vectors"] == 18
    assert table.loc["mixed", "pair found (S1 → nearest S2)"] == 1.0
    assert table.loc["mixed", "pair found (S2 → nearest RGB)"] == 1.0
    assert table.loc["mixed", "chance level of pair found (S1 → RGB)"] == round(1 / 6, 3)
    assert table.loc["apart", "other-sensor neighbours (k=2)"] == 0.0
    assert table.loc["apart", "pair found (S1 → nearest RGB)"] == "–"  # no rgb in that panel
    stacked = tables.latent_mixing({"two runs": [mixed.of("s1"), mixed.of("s2")]}, k=2)
    assert stacked.iloc[0]["pair found (S1 → nearest S2)"] == 1.0


def test_mined_triplets_respect_the_label_thresholds_on_the_first_two_sensors() -> None:
    lat = _latents(["rgb", "s1"], n=9, shift=0.1)
    table, info = tables.mined_triplets(lat, batch_size=6, n_show=4, positive_threshold=0.5, negative_threshold=0.1)
    assert len(table) == 4 and info["n"] == 6
    ids_s1 = set(lat.of("s1").ids)
    assert set(table["anchor"]) <= ids_s1  # anchors from s1, the first sensor in display order
    rows = np.flatnonzero(info["valid"])
    assert len(rows) and (info["s"][rows, info["pos"][rows]] >= 0.5).all()
    assert (info["s"][rows, info["neg"][rows]] <= 0.1).all()
    with pytest.raises(ValueError, match=r"two sensors; these hold \['s1'\]"):
        tables.mined_triplets(lat.of("s1"))


# ----------------------------------------------------------------------------- data tables
def test_soft_label_and_class_frequency_tables() -> None:
    from xmodal.data.labels import class_names

    lc = np.zeros((4, 4, 4), dtype=np.uint16)
    lc[0, :, :2] = 1  # IGBP 1: Forest, half of the pixels
    lc[0, :, 2:] = 17  # IGBP 17: Water
    table = tables.soft_label_table(lc, "dfc9").set_index("class")
    assert table.loc["Forest", "pixels"] == 8 and table.loc["Forest", "soft label"] == pytest.approx(0.5)
    assert table.loc["Water", "present for F1 (> 0.3)"] and not table.loc["Urban", "present for F1 (> 0.3)"]
    labels = np.array([[0.5, 0.5, 0.0], [0.2, 0.0, 0.8]])
    freq = tables.class_frequency_table(labels, ["a", "b", "c"]).set_index("class")
    assert freq.loc["a", "present in patch (> 0)"] == 1.0 and freq.loc["a", "counts for F1 (> 0.3)"] == 0.5
    assert freq.loc["c", "mean share of pixels"] == pytest.approx(0.4)
    assert list(tables.soft_label_table(lc, "dfc10")["class"]) == class_names("dfc10")


def test_patch_choices_and_parameter_tables() -> None:
    from xmodal.data.synthetic import SyntheticParams

    labels = np.array([[1, 0, 0], [0, 1, 0], [1, 0, 0], [0.4, 0.3, 0.3]])
    ids = ["a", "b", "c", "d"]
    picks = tables.pick_patches(ids, labels, n=3, seed=0)
    assert len(set(picks)) == 3 and picks == tables.pick_patches(ids, labels, n=3, seed=0)
    assert len({int(labels[ids.index(p)].argmax()) for p in picks[:2]}) == 2  # different dominant classes first
    assert tables.most_mixed(ids, labels) == "d"
    flat = tables.params_table({"a": {"b": 1.5, "c": [0.5, 2.0]}, "d": "x"})
    assert flat.to_dict("records") == [{"parameter": "a.b", "value": 1.5}, {"parameter": "a.c", "value": "0.5, 2"},
                                       {"parameter": "d", "value": "x"}]
    params = SyntheticParams()
    overview = tables.params_overview(params).set_index("parameter")
    assert overview.loc["s2_signatures", "value"].startswith("per class (")
    assert overview.loc["biome_priors", "value"] == "per biome: see the biome table"
    assert len(tables.biome_table(params)) == len(params.biome_table())
    leak = tables.leakage_table({"random": 0.25, "scene": 0.0}, {"split": "scene"}).set_index("split")
    assert leak.loc["random", "used by"] == "the paper" and leak.loc["scene", "used by"] == "this study"
    assert leak.loc["random", "test patches overlapping a training patch"] == "25.0%"


# ----------------------------------------------------------------------------- from run folders to tables
def _write_run(study: Path, name: str, method: str, sensors: list[str], seed: int = 0,
               config_hash: str = "abcdef012345", probs: dict[str, list[list[float]]] | None = None,
               homogeneity: dict[str, float] | None = None, micro: bool = True) -> RunDir:
    run = RunDir(study / f"{name}-{config_hash}")
    metrics = {s: {"macro": 0.5, "weighted": 0.6, **({"micro": 0.7} if micro else {}),
                   "per_class": {"A": 0.4, "B": 0.6}, "support": {"A": 1, "B": 2}} for s in sensors}
    run.write_result(Result.from_dict({
        "config": {"method": method, "modalities": sensors, "seed": seed, "n_train": None, "epochs": 1},
        "config_hash": config_hash, "data": {"kind": "synthetic", "n_test": 3, "n_train": {s: 9 for s in sensors},
                                             "class_names": ["A", "B"]},
        "metrics": metrics, "homogeneity": homogeneity or {}, "history": [{"epoch": 1}],
        "timings": {"total_seconds": 1.0}}))
    if probs is not None:
        ids = {s: np.array(["p1", "p2", "p3"]) for s in sensors}
        p = {s: np.asarray(probs[s], dtype=float) for s in sensors}
        run.write_predictions(Predictions(sensors, ["A", "B"], ids, p, p))
    return run


def test_load_results_reads_runs_through_rundir_and_counts_a_copied_run_once(tmp_path: Path) -> None:
    from xmodal.results import load_per_class, load_results
    from xmodal.rundir import study_meta_path

    study = tmp_path / "runs" / "mine"
    study_meta_path(study).parent.mkdir(parents=True)
    study_meta_path(study).write_text('{"name": "mine"}')
    _write_run(study, "C-s1+s2-nall-seed0", "C", ["s1", "s2"], homogeneity={"s1|s2": 0.8})
    copy = tmp_path / "runs" / "mine-copy"
    _write_run(copy, "C-s1+s2-nall-seed0", "C", ["s1", "s2"], homogeneity={"s1|s2": 0.8})  # same hash
    failed = RunDir(study / "baseline-s1-nall-seed0-0123456789ab")
    failed.write_error(RunError("ValueError", "bad patch", ["line"], {
        "config": {"method": "baseline", "modalities": ["s1"], "seed": 0}, "config_hash": "0123456789ab"}))
    df = load_results(tmp_path / "runs")
    ok = df[df["status"] == "ok"]
    assert len(ok) == 2 and set(ok["run_dir"]) == {str(study / "C-s1+s2-nall-seed0-abcdef012345")}
    assert set(ok["study"]) == {"mine"} and set(ok["point"]) == {"C-s1+s2-nall-seed0"}
    assert ok["homogeneity"].tolist() == [0.8, 0.8] and ok["micro"].tolist() == [0.7, 0.7]
    bad = df[df["status"] == "failed"].iloc[0]
    assert bad["error"] == "ValueError: bad patch" and bad["point"] == "baseline-s1-nall-seed0"
    assert len(load_per_class(tmp_path / "runs")) == 2 * 2  # the copy is not counted twice
    from xmodal.results import ResultsError

    with pytest.raises(ResultsError, match="No results: .*nowhere does not exist"):
        load_results(tmp_path / "nowhere")


def test_micro_f1_falls_back_on_the_predictions_at_the_threshold(tmp_path: Path) -> None:
    from xmodal.metrics import f1_scores
    from xmodal.results import load_results

    probs = {"s1": [[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]]}
    _write_run(tmp_path, "baseline-s1", "baseline", ["s1"], probs=probs, micro=False)
    p = np.asarray(probs["s1"])
    assert load_results(tmp_path)["micro"].iloc[0] == pytest.approx(f1_scores(p, p)["micro"])


def test_load_homogeneity_joins_joint_models_and_every_pair_of_baselines(tmp_path: Path) -> None:
    from xmodal.results import baseline_homogeneity, load_homogeneity, load_results

    _write_run(tmp_path, "C+T+M-s1+s2+rgb", "C+T+M", ["s1", "s2", "rgb"], config_hash="a" * 12,
               homogeneity={"s1|s2": 0.7, "s1|rgb": 0.6, "rgb|s2": 0.9})
    probs = {"s1": [[1, 0], [0, 1], [0.5, 0.5]], "s2": [[1, 0], [1, 0], [0.5, 0.5]], "rgb": [[0, 1], [0, 1], [0, 1]]}
    for i, s in enumerate(("s1", "s2", "rgb")):
        _write_run(tmp_path, f"baseline-{s}", "baseline", [s], config_hash=f"{i}" * 12, probs={s: probs[s]})
    results = load_results(tmp_path)
    base = baseline_homogeneity(results).set_index(["sensor_a", "sensor_b"])["homogeneity"]
    assert base.to_dict() == pytest.approx({("s1", "s2"): 2 / 3, ("s1", "rgb"): 0.5, ("s2", "rgb"): 1 / 6})
    hom = load_homogeneity(tmp_path)
    assert list(hom.columns) == list(tables.PAIR_COLUMNS) and len(hom) == 6
    joint = hom[hom["method"] == "C+T+M"].set_index(["sensor_a", "sensor_b"])["homogeneity"]
    assert joint.to_dict() == {("s1", "s2"): 0.7, ("s1", "rgb"): 0.6, ("s2", "rgb"): 0.9}  # pairs in display order
    table = tables.homogeneity_table(hom)
    assert len(table) == 6 and set(table["sensors"]) == {"S1, S2", "S1, RGB", "S2, RGB"}


def test_homogeneity_context_puts_s_beside_its_accuracy_bound() -> None:
    from xmodal.rundir import Predictions

    ids = np.array([f"p{i}" for i in range(4)])
    target = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
    perfect = Predictions(["s1", "s2"], ["A", "B"], {"s1": ids, "s2": ids}, {"s1": target, "s2": target},
                          {"s1": target, "s2": target})
    flat = np.full((4, 2), 0.5)
    half = Predictions(["s1", "s2"], ["A", "B"], {"s1": ids, "s2": ids}, {"s1": target, "s2": target},
                       {"s1": flat, "s2": target})
    pairs = _pairs([("C", "s1", "s2", None, 0, 1.0), ("C", "s1", "s2", None, 1, 1.0),
                    ("C+T+M", "s1", "s2", None, 0, 0.5)])
    pairs.loc[pairs["method"] == "C+T+M", ["run_dir_a", "run_dir_b"]] = "half"
    pairs.loc[pairs["method"] == "C", ["run_dir_a", "run_dir_b"]] = "perfect"
    ctx = tables.homogeneity_context(pairs, {"perfect": perfect, "half": half},
                                     priors={"half": np.array([0.5, 0.5])})
    perfect_rows = ctx[ctx["method"] == "C"]
    assert len(perfect_rows) == 2 and (perfect_rows["s"] == 1.0).all()
    assert (perfect_rows["s_lower_bound"] == 1.0).all()  # both sensors exact: s is forced to 1
    row = ctx[ctx["method"] == "C+T+M"].iloc[0]
    # s = sum min(0.5/0.5, one-hot) = 0.5; HI_s1 = 0.5, HI_s2 = 1: bound 0.5, so s says nothing beyond accuracy
    assert row["s"] == pytest.approx(0.5) and row["s_lower_bound"] == pytest.approx(0.5)
    assert row["hi_constant"] == pytest.approx(0.5) and row["s_constant"] == 1.0
    table = tables.homogeneity_context_table(ctx).set_index("method")
    assert table.loc["C", "n"] == 2 and table.loc["C", "s"].startswith("1.000 [")
    assert table.loc["C+T+M", "s − bound"] == "0.000"


# ----------------------------------------------------------------------------- latent measures over seeds
def _measures(values: dict[str, list[float]], seeds: tuple[int, ...] = (0, 1, 2)) -> pd.DataFrame:
    """A load_latent_measures-like table: per method, per seed, the probe = value, other measures derived."""
    rows = []
    for method, probe in values.items():
        for seed, v in zip(seeds, probe, strict=True):
            rows.append({"method": method, "alignment": "confusion" if "confusion" in method else
                         (None if method in ("C", "C+T") else "reversal"), "seed": seed, "n_train": pd.NA,
                         "alpha": 1.0, "grl_weight": 1.0, "steps": 150, "sensors": "s1+s2",
                         "run_dir": f"/r/{method}-{seed}",
                         "modality_probe": v, "modality_probe_chance": 0.5,
                         "retrieval_s1_to_s2_map": v / 2, "retrieval_s1_to_s2_map_chance": 0.2,
                         "retrieval_s2_to_s1_map": v / 4, "retrieval_s2_to_s1_map_chance": 0.2,
                         "mixing": 0.01 * seed, "mixing_chance": 0.5025,
                         "pair_s1_to_s2_recall_at_10": 0.5, "pair_s2_to_s1_recall_at_10": math.nan,
                         "pair_s1_s2_recall_at_10_chance": 0.05})
    return pd.DataFrame(rows)


def test_latent_summary_gives_mean_t_interval_and_chance_per_method_and_measure() -> None:
    from scipy import stats as sps

    m = _measures({"C+T+M": [1.0, 0.9, 0.8], "C": [1.0, 1.0, 1.0]})
    s = tables.latent_summary(m)
    assert list(s.columns) == list(tables.SUMMARY_COLUMNS)
    assert list(dict.fromkeys(s["method"])) == ["C", "C+T+M"]  # the paper's order
    assert list(dict.fromkeys(s["label"])) == [
        "probe accuracy", "label retrieval mAP S1→S2", "label retrieval mAP S2→S1", "neighbour mixing (k=10)",
        "same patch in top 10 S1→S2", "same patch in top 10 S2→S1"]  # only the measures the table holds
    r = s[(s["method"] == "C+T+M") & (s["measure"] == "modality_probe")].iloc[0]
    half = sps.t.ppf(0.975, 2) * 0.1 / math.sqrt(3)
    assert r["estimate"] == pytest.approx(0.9) and r["n"] == 3 and r["chance"] == 0.5
    assert (r["low"], r["high"]) == (pytest.approx(0.9 - half), pytest.approx(0.9 + half))
    c = s[(s["method"] == "C") & (s["measure"] == "modality_probe")].iloc[0]
    assert c["low"] == c["high"] == 1.0  # no spread: a zero-width interval
    missing = s[s["measure"] == "pair_s2_to_s1_recall_at_10"]
    assert (missing["n"] == 0).all() and missing["estimate"].isna().all()
    assert np.allclose(s[s["measure"] == "pair_s1_to_s2_recall_at_10"]["chance"], 0.05)


def test_summary_display_reads_intervals_not_recorded_and_a_chance_row() -> None:
    s = tables.latent_summary(_measures({"C+T+M": [1.0, 0.9, 0.8]}))
    t = tables.summary_display(s)
    assert list(t.columns[:3]) == ["method", "seeds", "probe accuracy"]
    assert t.iloc[0]["probe accuracy"].startswith("0.900 [") and t.iloc[0]["seeds"] == 3
    assert t.iloc[0]["same patch in top 10 S2→S1"] == "not recorded"
    assert t.iloc[-1]["method"] == "chance" and t.iloc[-1]["probe accuracy"] == "0.500"
    one = tables.summary_display(tables.latent_summary(_measures({"C": [0.7]}, seeds=(0,))))
    assert one.iloc[0]["probe accuracy"] == "0.700 (1 seed)"


def test_latent_contrasts_pair_the_seeds() -> None:
    m = _measures({"C": [1.0, 1.0, 1.0], "C+T+M": [0.8, 0.79, 0.81]})
    d = tables.latent_contrasts(m, reference="C")
    r = d[(d["method"] == "C+T+M") & (d["measure"] == "modality_probe")].iloc[0]
    assert r["estimate"] == pytest.approx(-0.2) and r["n"] == 3 and r["high"] < 0
    assert set(d["method"]) == {"C+T+M"}
    assert len(tables.latent_contrasts(m, reference="C+M")) == 0  # no such reference


def test_latent_text_says_only_what_the_intervals_allow() -> None:
    m = _measures({"C": [1.0, 0.99, 1.0], "C+T+M": [0.4, 0.7, 0.55]})
    text = tables.latent_text(tables.latent_summary(m), tables.latent_contrasts(m), source="synthetic")
    assert "**C**: a linear probe tells the sensors apart" in text
    assert "**C+T+M**: the probe cannot be told from chance" in text
    assert "less often than by chance" in text  # mixing 0.00-0.02 against 0.50
    assert "synthetic" in text and "n = 3" in text
    one = tables.latent_text(tables.latent_summary(_measures({"C": [1.0]}, seeds=(0,))))
    assert "one seed: no interval" in one and "tells the sensors apart" not in one


def _history(method: str, seeds: int, final: dict[str, list[float]], epochs: int = 3) -> pd.DataFrame:
    rows = []
    for seed in range(seeds):
        for e in range(1, epochs + 1):
            row = {"method": method, "alignment": "reversal", "seed": seed, "run_dir": f"/r/{method}-{seed}",
                   "n_sensors": 2, "epoch": e, "L_C": 1.0 / e}
            for key, values in final.items():
                row[key] = values[seed] if e == epochs else 0.69
            rows.append(row)
    return pd.DataFrame(rows)


def test_adversary_curves_and_the_flipping_failure() -> None:
    flipped = _history("C+M", 3, {"L_M": [1.0, 1.1, 1.2], "modality_accuracy": [0.2, 0.25, 0.3],
                                  "probe_accuracy": [1.0, 0.99, 1.0]})
    old = _history("C+T+M", 2, {"L_M": [0.6, 0.7]})  # runs older than the per-epoch record
    history = pd.concat([old, flipped], ignore_index=True)
    curves = tables.adversary_curves(history)
    assert list(dict.fromkeys(curves["method"])) == ["C+M", "C+T+M"]
    assert set(curves[curves["method"] == "C+T+M"]["quantity"]) == {"L_M"}
    assert len(curves[curves["method"] == "C+M"]) == 3 * 3 * 3  # seeds x epochs x quantities
    lm = curves[curves["quantity"] == "L_M"]["chance"]
    assert np.allclose(lm, math.log(2)) and np.allclose(curves[curves["quantity"] != "L_M"]["chance"], 0.5)
    final = tables.adversary_final(history)
    r = final[(final["method"] == "C+M") & (final["measure"] == "L_M")].iloc[0]
    assert r["estimate"] == pytest.approx(1.1) and r["n"] == 3 and r["low"] > math.log(2)
    assert final[(final["method"] == "C+T+M") & (final["measure"] == "probe_accuracy")]["n"].iloc[0] == 0
    text = tables.adversary_text(final)
    assert "This is the flipping failure" in text.split("**C+M**")[1].split("\n")[0]
    assert "below chance: it calls most patches by the other sensor's name" in text
    ctm = text.split("**C+T+M**")[1]
    assert "per-epoch probe not recorded" in ctm and "training accuracy not recorded" in ctm
    assert "flipping" not in ctm
    table = tables.summary_display(final)
    assert table.loc[table["method"] == "C+T+M", "linear probe's held-out accuracy (test patches)"].iloc[0] == \
        "not recorded"


def test_tradeoff_summary_groups_the_settings_of_the_sensitivity_study() -> None:
    m = pd.concat([_measures({"C+T+M": [1.0, 0.9, 0.8]}),
                   _measures({"C+T+M": [0.6, 0.5, 0.55]}).assign(grl_weight=5.0),
                   _measures({"C+T+M (confusion)": [0.5, 0.5, 0.6]})], ignore_index=True)
    m["run_dir"] = [f"/r/{i}" for i in range(len(m))]
    results = pd.DataFrame([{"run_dir": rd, "modality": s, "weighted": 0.5 + 0.1 * (s == "s2") + 0.01 * i,
                             "homogeneity": 0.8, "status": "ok"}
                            for i, rd in enumerate(m["run_dir"]) for s in ("s1", "s2")])
    t = tables.tradeoff_summary(m, results)
    assert list(dict.fromkeys(zip(t["method"], t["setting"], strict=True))) == [
        ("C+T+M", "α=1, w=1, 150 steps"), ("C+T+M", "α=1, w=5, 150 steps"),
        ("C+T+M (confusion)", "α=1, w=1, 150 steps")]
    assert list(dict.fromkeys(t["label"])) == ["weighted F1 S1", "weighted F1 S2", "homogeneity s (eq. 5)",
                                               "probe accuracy", "label retrieval mAP S1→S2",
                                               "label retrieval mAP S2→S1"]
    w5 = t[(t["grl_weight"] == 5.0) & (t["measure"] == "weighted_s2")].iloc[0]
    assert w5["estimate"] == pytest.approx(0.6 + 0.04) and w5["n"] == 3  # runs 3, 4, 5
    probe = t[(t["grl_weight"] == 5.0) & (t["measure"] == "modality_probe")].iloc[0]
    assert probe["estimate"] == pytest.approx(0.55) and probe["chance"] == 0.5
    text = tables.tradeoff_text(t, source="study 'latent'")
    assert "n = 3 per method" in text and "study 'latent'" in text
    ctm = text.split("**C+T+M**")[1].split("\n")[0]
    assert "the probe reads the sensor above chance in 1 of 2 settings" in ctm  # [0.65, 1.15] vs [0.43, 0.67]
    assert "its interval reaches chance for α=1, w=5, 150 steps" in ctm
    assert "weighted F1 S1 from 0.51 (α=1, w=1, 150 steps) to 0.54 (α=1, w=5, 150 steps), intervals overlapping" in ctm
    shown = tables.tradeoff_display(t)
    assert shown.columns[0] == "method · setting" and shown.iloc[1, 0] == "C+T+M · α=1, w=5, 150 steps"
    assert shown.iloc[-1, 0] == "chance"


def test_claims_leave_the_alignment_ablations_out(two_seeds: pd.DataFrame) -> None:
    ablation = two_seeds[two_seeds["method"] == "C"].assign(method="C+T+M (confusion)")
    df = pd.concat([two_seeds, ablation], ignore_index=True)
    claims = tables.claims(df)
    assert not claims["claim"].str.contains("confusion").any()
    assert len(claims) == len(tables.claims(two_seeds))


def test_adversary_episodes_count_the_flipped_epochs_and_read_the_probe() -> None:
    rows = []
    for seed in (0, 1):
        for epoch, (lm, acc, probe) in enumerate([(0.6, 0.8, 1.0), (1.6, 0.03, 1.0), (0.9, 0.7, 0.98)], start=1):
            rows.append({"method": "C+M", "alignment": "reversal", "seed": seed, "run_dir": f"/r/{seed}",
                         "n_sensors": 2, "epoch": epoch, "L_M": lm + 0.1 * seed, "modality_accuracy": acc,
                         "probe_accuracy": probe})
    old = _history("C+T+M", 1, {"L_M": [0.9]})  # L_M only (an old run): 0.69 then 0.9 at the end
    curves = tables.adversary_curves(pd.concat([pd.DataFrame(rows), old], ignore_index=True))
    e = tables.adversary_episodes(curves).set_index("method")
    assert e.loc["C+M", "epochs"] == 6 and e.loc["C+M", "flipped"] == 2  # epoch 3: above ln 2 but accuracy 0.7
    assert (e.loc["C+M", "worst_seed"], e.loc["C+M", "worst_epoch"]) == (1, 2)
    assert e.loc["C+M", "worst_L_M"] == pytest.approx(1.7) and e.loc["C+M", "probe_min"] == 1.0
    assert e.loc["C+T+M", "flipped"] == 1 and not e.loc["C+T+M", "probe_recorded"]  # 0.9 >= ln 2 + 0.1
    assert e.loc["C+M", "alignment"] == "reversal"
    text = tables.adversary_text(tables.adversary_final(pd.concat([pd.DataFrame(rows), old])), e.reset_index())
    cm = text.split("**C+M**")[1].split("\n")[0]
    assert ("2 of its 6 epochs (all seeds) had L_M above ln M and the classifier's training accuracy 0.1 or more "
            "below chance (largest: seed 1, epoch 2, L_M = 1.70, training accuracy 0.03, probe 1.00)") in cm
    assert "the flipping failure of gradient reversal" in cm
    confusion = tables.adversary_episodes(curves.assign(alignment="confusion"))
    text = tables.adversary_text(tables.adversary_final(pd.concat([pd.DataFrame(rows), old])), confusion)
    assert "flipping" not in text  # only gradient reversal flips: the others are not told they did
    assert "was not recorded (runs older than the per-epoch probe)" in text.split("**C+T+M**")[1]
    assert len(tables.adversary_episodes(curves.iloc[:0])) == 0


def test_label_settings_keeps_the_settings_of_a_method_apart() -> None:
    m = pd.concat([_measures({"C+T+M": [1.0, 0.9, 0.8], "C": [1.0, 1.0, 1.0]}),
                   _measures({"C+T+M": [0.6, 0.5, 0.55]}).assign(grl_weight=5.0)], ignore_index=True)
    labelled = tables.label_settings(m)
    assert set(labelled["method"]) == {"C", "C+T+M (α=1, w=1, 150 steps)", "C+T+M (α=1, w=5, 150 steps)"}
    assert len(tables.latent_summary(labelled)["method"].unique()) == 3
    same = _measures({"C+T+M": [1.0, 0.9, 0.8]})
    assert tables.label_settings(same)["method"].tolist() == ["C+T+M"] * 3  # one setting: its own name


# ----------------------------------------------------------------------------- paired comparisons and pairing
def _predictions(df: pd.DataFrame, n_scenes: int = 6, per_scene: int = 5, seed: int = 0) -> dict[str, Predictions]:
    """Predictions for every run of ``df`` on one shared test set (``n_scenes`` scenes), noisier for lower F1."""
    rng = np.random.default_rng(seed)
    ids = np.array([f"ROIs2017_winter_{s}_p{p}" for s in range(1, n_scenes + 1) for p in range(per_scene)])
    target = rng.dirichlet(np.full(4, 0.3), len(ids))
    out: dict[str, Predictions] = {}
    for run_dir, sub in df.groupby("run_dir"):
        sensors = list(sub["modality"])
        probs = {}
        for s in sensors:
            noise = 1.0 - float(sub.loc[sub["modality"] == s, "weighted"].iloc[0])
            probs[s] = (1 - noise) * target + noise * rng.dirichlet(np.ones(4), len(ids))
        out[str(run_dir)] = Predictions(sensors, ["a", "b", "c", "d"], {s: ids for s in sensors},
                                        {s: target for s in sensors}, probs)
    return out


def test_scene_ids_and_scene_se_need_one_shared_test_set(two_seeds: pd.DataFrame) -> None:
    assert list(tables.scene_ids(["ROIs2017_winter_12_p3", "ROIs1158_spring_7_p10"])) == [
        "ROIs2017_winter_12", "ROIs1158_spring_7"]
    preds = _predictions(two_seeds)
    df = tables.final_runs(two_seeds)
    se = tables.scene_se(df, preds, ("C", "s1"), ("baseline", "s1"))
    assert se > 0
    # the same number computed directly by the statistics module
    def of(method: str) -> list[Predictions]:
        sub = df[(df["method"] == method) & (df["modality"] == "s1")].sort_values("seed")
        return [preds[d] for d in sub["run_dir"]]

    runs, base = of("C"), of("baseline")
    groups = tables.scene_ids(runs[0].ids["s1"])
    direct = tables.stats.scene_bootstrap_se([(p.target["s1"], p.prob["s1"]) for p in runs],
                                              [(p.target["s1"], p.prob["s1"]) for p in base], groups)
    assert se == pytest.approx(direct)
    # a run tested on other patches (its own split): no shared test set, so no scene share
    other = dict(preds)
    key = str(df[(df["method"] == "C") & (df["seed"] == 1)]["run_dir"].iloc[0])
    p = other[key]
    other[key] = Predictions(p.modalities, p.class_names, {s: np.array([i + "x" for i in v]) for s, v in p.ids.items()},
                             p.target, p.prob)
    assert math.isnan(tables.scene_se(df, other, ("C", "s1"), ("baseline", "s1")))
    assert math.isnan(tables.scene_se(df, preds, ("C+M", "s1"), ("baseline", "s1")))  # no such runs


def test_comparisons_pair_every_method_per_sensor_with_scene_share(two_seeds: pd.DataFrame) -> None:
    preds = _predictions(two_seeds)
    table = tables.comparisons(two_seeds, preds)
    assert list(table.columns) == list(tables.COMPARISON_COLUMNS)
    assert list(zip(table["sensor"], table["comparison"], strict=True)) == [
        ("s1", "C − Baseline"), ("s2", "C − Baseline")]
    row = table.iloc[0]  # C - Baseline on S1: differences 0.10 and 0.12 over two seeds
    assert row["estimate"] == pytest.approx(0.11) and row["n"] == 2
    assert row["se_seed"] == pytest.approx(0.01) and row["se_scene"] > 0
    assert row["df"] > 1  # Welch-Satterthwaite: the scene share adds degrees of freedom
    plain = tables.comparisons(two_seeds)  # without predictions: the seeds' t-interval
    assert plain.iloc[0]["half_width"] == pytest.approx(tables.stats.paired_difference([0.10, 0.12]).half_width)
    assert plain.iloc[0]["se_scene"] == 0.0
    text = tables.comparisons_text(plain, "synthetic data")
    assert "2 paired comparisons (synthetic data), 2 seeds each" in text and "seeds' spread alone" in text
    assert "0 of 2" in text  # two seeds: t_{1} makes every interval wide
    shown = tables.comparisons_display(plain)
    assert list(shown.columns) == ["comparison", "S1", "S2"] and shown.iloc[0]["S1"].startswith("+0.110 [")


def test_pairing_table_compares_disjoint_with_aligned_runs_of_the_same_size() -> None:
    rows = []
    for seed in range(3):
        for s, w_al, w_dis in (("s1", 0.60, 0.59), ("s2", 0.70, 0.60)):
            rows += [("C", s, "s1+s2", 500, seed, 0.5, w_al + 0.01 * seed),
                     ("C (disjoint)", s, "s1+s2", 500, seed, 0.5, w_dis + 0.01 * seed),
                     ("C", s, "s1+s2", None, seed, 0.5, 0.9)]
    df = _rows(rows)
    assert tables.is_disjoint("C (disjoint)") and tables.is_disjoint("C+T+M (confusion, disjoint)")
    assert not tables.is_disjoint("C+T+M (confusion)") and not tables.is_disjoint("C")
    assert "C (disjoint)" not in set(tables.final_runs(df)["method"])  # never a Figure-2 bar
    pairs = pd.DataFrame([{"study": "t", "method": m, "sensor_a": "s1", "sensor_b": "s2", "n_train": 500,
                           "seed": k, "homogeneity": h + 0.001 * k, "n_pairs": 30, "run_dir_a": "x", "run_dir_b": "x"}
                          for k in range(3) for m, h in (("C", 0.80), ("C (disjoint)", 0.79))])
    table = tables.pairing_table(df, pairs)
    assert list(table.columns) == list(tables.PAIRING_COLUMNS)
    got = table.set_index("measure")
    # S1: -0.01 exactly on every seed (sd 0): above -0.02, so it keeps the aligned accuracy
    assert got.loc["weighted F1, S1", "estimate"] == pytest.approx(-0.01)
    assert got.loc["weighted F1, S1", "verdict"] == tables.stats.HOLDS
    # S2: -0.10 on every seed: significantly below the margin
    assert got.loc["weighted F1, S2", "verdict"] == tables.stats.DOES_NOT_HOLD
    assert got.loc["homogeneity s, S1, S2", "aligned"] == pytest.approx(0.801)
    assert got.loc["homogeneity s, S1, S2", "verdict"] == tables.stats.HOLDS
    shown = tables.pairing_display(table)
    assert shown.iloc[0]["disjoint − aligned"].startswith("-0.010 [")
    assert len(tables.pairing_table(df[df["method"] == "C"])) == 0


def test_showcase_runs_take_the_first_seeds_of_every_full_set_method(two_seeds: pd.DataFrame) -> None:
    runs = tables.showcase_runs(two_seeds, seeds=1)
    assert runs == sorted({"/runs/t/baseline-s1-nNone-seed0", "/runs/t/baseline-s2-nNone-seed0",
                           "/runs/t/C-s1+s2-nNone-seed0"})
    assert len(tables.showcase_runs(two_seeds, seeds=5)) == 6  # three full-set models, two seeds each


def test_budget_table_pairs_one_curve_at_two_budgets_by_size_and_seed() -> None:
    short = _rows([("baseline", "s2", "s2", n, k, 0.5, w + 0.01 * k)
                   for n, w in ((50, 0.50), (None, 0.70)) for k in range(3)])
    long = _rows([("baseline", "s2", "s2", n, k, 0.5, w + 0.01 * k)
                  for n, w in ((50, 0.60), (None, 0.70)) for k in range(3)])
    short["epochs"], long["epochs"] = 10, 20
    table = tables.budget_table(short, long)
    assert list(table.columns) == list(tables.BUDGET_COLUMNS)
    assert list(table["n_train"]) == [50, 100]  # the full set last (its patch count: 100 in _rows)
    assert table["estimate"].tolist() == pytest.approx([0.10, 0.0])
    assert table.iloc[0]["low"] == pytest.approx(0.10) and table.iloc[0]["n"] == 3  # identical gains: sd 0
    text = tables.budget_text(table)
    assert text.startswith("Baseline S2 trained 2 times as long")
    assert "helps at 50 patches" in text and "100 patches: 0.710 → 0.710" in text
    same = tables.budget_table(short, short.assign(epochs=20))
    assert "No size changes beyond its interval" in tables.budget_text(same)
    assert tables.budget_text(tables.budget_table(short, long, sensor="s1")) == "No size was trained at both budgets."
