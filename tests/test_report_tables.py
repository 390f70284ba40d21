"""The report layer's tables (xmodal.report): scores, gaps, homogeneity, comparisons, budgets, notes, data tables.

On hand-made tables with known answers (tests/hand_tables.py); nothing here trains. The
tests assert numbers; a sentence is checked only for the numbers it carries or for a rule
it must keep.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hand_tables import pairs, predictions_for, rows, three_sensors, two_seeds

from xmodal import report as R
from xmodal.analysis.stats import DOES_NOT_HOLD, HOLDS, paired_difference
from xmodal.analysis.tidy import summary_table
from xmodal.report.comparisons import BUDGET_COLUMNS, COMPARISON_COLUMNS, PAIRING_COLUMNS
from xmodal.report.data_tables import params_table
from xmodal.report.scores import gap_per_seed


def test_source_note_names_data_split_runs_and_seeds() -> None:
    note = R.source_note(two_seeds(), study="t")
    assert "7 runs of study 't'" in note and "seeds 0, 1" in note  # the numbers come from the table
    assert "synthetic" in note and "winter" in note and "scene split" in note
    empty = R.source_note(two_seeds().iloc[:0])
    assert "run" in empty and not any(ch.isdigit() for ch in empty)  # nothing measured: no number invented


def test_score_and_summary_tables() -> None:
    st = R.score_table(two_seeds()).set_index(["method", "modality"])
    assert st.loc[("C", "s1"), "weighted_mean"] == pytest.approx(0.72)
    assert st.loc[("C", "s1"), "weighted_std"] == pytest.approx(np.std([0.70, 0.74], ddof=1))
    assert st.loc[("C", "s1"), "weighted_count"] == 2  # the n=10 run is not on the full set
    order = R.score_table(three_sensors())[["method", "modality"]].apply(tuple, axis=1).tolist()
    assert order == [("baseline", "s1"), ("baseline", "s2"), ("baseline", "rgb"),
                     ("C+T+M", "s1"), ("C+T+M", "s2"), ("C+T+M", "rgb")]
    summary = summary_table(two_seeds())
    assert summary["n"].sum() == len(two_seeds())
    assert {"method", "modality", "n_train", "macro_mean", "weighted_std", "n"} <= set(summary.columns)


def test_comparison_table_puts_the_papers_numbers_beside() -> None:
    table = R.comparison_table(two_seeds()).set_index(["method", "modality"])
    assert table.loc[("C", "S1"), "weighted F1 (this study)"] == f"0.720 ± {np.std([0.70, 0.74], ddof=1):.3f} (n=2)"
    assert table.loc[("C", "S1"), "weighted F1 (paper)"] == "0.73"
    assert table.loc[("Baseline", "S2"), "macro F1 (paper)"] == "0.68"
    rgb = R.comparison_table(three_sensors()).set_index(["method", "modality"]).loc[("C+T+M", "RGB")]
    assert rgb["weighted F1 (this study)"] == "0.660 (n=1)" and rgb["weighted F1 (paper)"] == "–"


def test_homogeneity_table_per_method_and_pair_beside_the_paper() -> None:
    table_in = pairs([
        ("baseline", "s1", "s2", None, 0, 0.50), ("baseline", "s1", "s2", None, 1, 0.54),
        ("C+T+M", "s1", "s2", None, 0, 0.70), ("C+T+M", "s2", "s1", None, 1, 0.74),  # either order
        ("C+T+M", "s1", "rgb", None, 0, 0.80), ("C+T+M", "s1", "s2", 10, 0, 0.10),  # n=10: not final
        ("C", "s1", "s2", 10, 0, 0.3), ("C", "s1", "s2", 20, 0, 0.4), ("C", "s1", "s2", 20, 1, math.nan),
    ])
    final = R.final_pairs(table_in)
    assert sorted(final[final["method"] == "C"]["homogeneity"]) == [0.4]  # largest set, NaN dropped
    table = R.homogeneity_table(table_in)
    assert table[["method", "sensors"]].apply(tuple, axis=1).tolist() == [
        ("Baseline", "S1, S2"), ("C", "S1, S2"), ("C+T+M", "S1, S2"), ("C+T+M", "S1, RGB")]
    row = table.set_index(["method", "sensors"]).loc[("C+T+M", "S1, S2")]
    assert row["s_mean"] == pytest.approx(0.72) and row["n"] == 2 and row["s (paper)"] == "0.67"
    assert table.set_index(["method", "sensors"]).loc[("C+T+M", "S1, RGB"), "s (paper)"] == "–"
    assert table.set_index(["method", "sensors"]).loc[("Baseline", "S1, S2"), "s (this study)"].startswith("0.520 ± ")
    assert len(R.homogeneity_table(table_in.iloc[:0])) == 0


def test_gap_is_the_later_sensor_minus_the_earlier_per_seed() -> None:
    gaps = gap_per_seed(two_seeds(), "macro", "s1", "s2").set_index(["method", "seed"])["gap"]
    assert gaps[("baseline", 1)] == pytest.approx(0.12) and gaps[("C", 0)] == pytest.approx(0.10)
    assert len(gap_per_seed(two_seeds(), "macro", "s1", "rgb")) == 0
    table = R.gap_table(two_seeds()).set_index("method")
    assert table.loc["Baseline", "sensors"] == "S2 − S1"
    assert table.loc["Baseline", "macro gap (this study)"].startswith("0.110 ± ")
    assert table.loc["Baseline", "weighted gap (paper)"] == "0.14"
    three = R.gap_table(three_sensors())
    assert set(three["sensors"]) == {"S2 − S1", "RGB − S1", "RGB − S2"}
    rgb = three.set_index(["method", "sensors"]).loc[("C+T+M", "RGB − S2")]
    assert rgb["weighted gap (this study)"] == "-0.060 (n=1)" and rgb["weighted gap (paper)"] == "–"
    assert list(R.gap_table(two_seeds().iloc[:0])) == list(table.reset_index().columns)


def test_comparisons_pair_every_method_per_sensor_with_scene_share() -> None:
    preds = predictions_for(two_seeds())
    table = R.paired_comparisons(two_seeds(), preds)
    assert list(table.columns) == list(COMPARISON_COLUMNS)
    assert list(zip(table["sensor"], table["comparison"], strict=True)) == [
        ("s1", "C − Baseline"), ("s2", "C − Baseline")]
    row = table.iloc[0]  # C - Baseline on S1: differences 0.10 and 0.12 over two seeds
    assert row["estimate"] == pytest.approx(0.11) and row["n"] == 2
    assert row["se_seed"] == pytest.approx(0.01) and row["se_scene"] > 0
    assert row["df"] > 1  # Welch-Satterthwaite: the scene share adds degrees of freedom
    plain = R.paired_comparisons(two_seeds())  # without predictions: the seeds' t-interval
    assert plain.iloc[0]["half_width"] == pytest.approx(paired_difference([0.10, 0.12]).half_width)
    assert plain.iloc[0]["se_scene"] == 0.0
    text = R.comparisons_text(plain, "synthetic data")
    assert "**0 of 2**" in text  # two seeds: t_{1} makes every interval wider than the target
    shown = R.comparisons_display(plain)
    assert list(shown.columns) == ["comparison", "S1", "S2"] and shown.iloc[0]["S1"].startswith("+0.110 [")


def test_pairing_table_compares_disjoint_with_aligned_runs_of_the_same_size() -> None:
    aligned, disjoint = [], []
    for seed in range(3):
        for s, w_al, w_dis in (("s1", 0.60, 0.59), ("s2", 0.70, 0.60)):
            aligned += [("C", s, "s1+s2", 500, seed, 0.5, w_al + 0.01 * seed), ("C", s, "s1+s2", None, seed, 0.5, 0.9)]
            disjoint += [("C", s, "s1+s2", 500, seed, 0.5, w_dis + 0.01 * seed)]
    df = pd.concat([rows(aligned), rows(disjoint, pairing="disjoint")], ignore_index=True)
    assert set(df["method"]) == {"C", "C (disjoint)"}  # the key the loader makes of the config fields
    hom = pd.concat([pairs([("C", "s1", "s2", 500, k, 0.80 + 0.001 * k) for k in range(3)]),
                     pairs([("C (disjoint)", "s1", "s2", 500, k, 0.79 + 0.001 * k) for k in range(3)], "disjoint")])
    table = R.pairing_table(df, hom)
    assert list(table.columns) == list(PAIRING_COLUMNS)
    got = table.set_index("measure")
    # S1: -0.01 exactly on every seed (sd 0): above -0.02, so it keeps the aligned accuracy
    assert got.loc["weighted F1, S1", "estimate"] == pytest.approx(-0.01)
    assert got.loc["weighted F1, S1", "verdict"] == HOLDS and set(got["method"]) == {"C"}
    # S2: -0.10 on every seed: significantly below the margin
    assert got.loc["weighted F1, S2", "verdict"] == DOES_NOT_HOLD
    assert got.loc["homogeneity s, S1, S2", "aligned"] == pytest.approx(0.801)
    assert got.loc["homogeneity s, S1, S2", "verdict"] == HOLDS
    shown = R.pairing_display(table)
    assert shown.iloc[0]["disjoint − aligned"].startswith("-0.010 [")
    assert len(R.pairing_table(df[df["method"] == "C"])) == 0


def test_budget_table_pairs_one_curve_at_two_budgets_by_size_and_seed() -> None:
    short = rows([("baseline", "s2", "s2", n, k, 0.5, w + 0.01 * k)
                   for n, w in ((50, 0.50), (None, 0.70)) for k in range(3)])
    long = rows([("baseline", "s2", "s2", n, k, 0.5, w + 0.01 * k)
                  for n, w in ((50, 0.60), (None, 0.70)) for k in range(3)])
    short["epochs"], long["epochs"] = 10, 20
    table = R.budget_table(short, long)
    assert list(table.columns) == list(BUDGET_COLUMNS)
    assert list(table["n_train"]) == [50, 100]  # the full set last (its patch count: 100 in _rows)
    assert table["estimate"].tolist() == pytest.approx([0.10, 0.0])
    assert table.iloc[0]["low"] == pytest.approx(0.10) and table.iloc[0]["n"] == 3  # identical gains: sd 0
    text = R.budget_text(table)
    assert "2 times as long" in text  # 20 epochs against 10
    assert "helps at 50 patches" in text and "100 patches" not in text.split("helps at")[1]  # only where low > 0
    same = R.budget_table(short, short.assign(epochs=20))
    assert "No size changes beyond its interval" in R.budget_text(same)
    none = R.budget_text(R.budget_table(short, long, sensor="s1"))
    assert not any(ch.isdigit() for ch in none)  # no size trained at both budgets: no number to report


def test_training_budget_says_whether_the_size_curves_vary_only_the_data() -> None:
    fixed = R.training_budget({"epochs": 10, "steps_per_epoch": 15, "batch_size": 32})
    assert "150" in fixed and "32" in fixed  # 10 x 15 steps of 32 patches, from the config
    per_epoch = R.training_budget({"epochs": 6, "steps_per_epoch": None, "batch_size": 16})
    assert "6 epochs" in per_epoch and "16" in per_epoch
    # the rule: only a fixed number of steps lets the curves be read as varying the data alone
    assert "vary only the data" in fixed and "vary only the data" not in per_epoch


def test_soft_label_and_class_frequency_tables() -> None:
    from xmodal.data.labels import class_names

    lc = np.zeros((4, 4, 4), dtype=np.uint16)
    lc[0, :, :2] = 1  # IGBP 1: Forest, half of the pixels
    lc[0, :, 2:] = 17  # IGBP 17: Water
    table = R.soft_label_table(lc, "dfc9").set_index("class")
    assert table.loc["Forest", "pixels"] == 8 and table.loc["Forest", "soft label"] == pytest.approx(0.5)
    assert table.loc["Water", "present for F1 (> 0.3)"] and not table.loc["Urban", "present for F1 (> 0.3)"]
    labels = np.array([[0.5, 0.5, 0.0], [0.2, 0.0, 0.8]])
    freq = R.class_frequency_table(labels, ["a", "b", "c"]).set_index("class")
    assert freq.loc["a", "present in patch (> 0)"] == 1.0 and freq.loc["a", "counts for F1 (> 0.3)"] == 0.5
    assert freq.loc["c", "mean share of pixels"] == pytest.approx(0.4)
    assert list(R.soft_label_table(lc, "dfc10")["class"]) == class_names("dfc10")


def test_patch_choices_and_parameter_tables() -> None:
    from xmodal.data.synthetic import SyntheticParams

    labels = np.array([[1, 0, 0], [0, 1, 0], [1, 0, 0], [0.4, 0.3, 0.3]])
    ids = ["a", "b", "c", "d"]
    picks = R.pick_patches(ids, labels, n=3, seed=0)
    assert len(set(picks)) == 3 and picks == R.pick_patches(ids, labels, n=3, seed=0)
    assert len({int(labels[ids.index(p)].argmax()) for p in picks[:2]}) == 2  # different dominant classes first
    assert R.most_mixed(ids, labels) == "d"
    flat = params_table({"a": {"b": 1.5, "c": [0.5, 2.0]}, "d": "x"})
    assert flat.to_dict("records") == [{"parameter": "a.b", "value": 1.5}, {"parameter": "a.c", "value": "0.5, 2"},
                                       {"parameter": "d", "value": "x"}]
    params = SyntheticParams()
    overview = R.params_overview(params).set_index("parameter")
    assert overview.loc["s2_signatures", "value"].startswith("per class (")
    assert overview.loc["biome_priors", "value"] == "per biome: see the biome table"
    assert len(R.biome_table(params)) == len(params.biome_table())
    leak = R.leakage_table({"random": 0.25, "scene": 0.0}, {"split": "scene"}).set_index("split")
    assert leak.loc["random", "used by"] == "the paper" and leak.loc["scene", "used by"] == "this study"
    assert leak.loc["random", "test patches overlapping a training patch"] == "25.0%"
