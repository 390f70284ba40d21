"""Eq. (5) between sensors (xmodal.analysis.homogeneity): Baseline pairs, the references s is compared with.

Also the loading side (xmodal.results.load_homogeneity, baseline_homogeneity) on run folders
written by hand: nothing here trains.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hand_tables import pairs, prediction, three_sensors, write_run

from xmodal.analysis import homogeneity as H
from xmodal.metrics import histogram_intersection, homogeneity
from xmodal.report.scores import homogeneity_context_table, homogeneity_table
from xmodal.rundir import Predictions


def test_homogeneity_bounds_hold_per_patch_and_on_average() -> None:
    rng = np.random.default_rng(0)
    y, pa, pb = (rng.dirichlet(np.full(5, 0.5), 300) for _ in range(3))
    hi_a, hi_b, s_i = histogram_intersection(pa, y), histogram_intersection(pb, y), histogram_intersection(pa, pb)
    assert (s_i >= hi_a + hi_b - 1 - 1e-12).all()  # the per-sample inequality of the docstring
    assert (s_i <= 1 - np.abs(hi_a - hi_b) + 1e-12).all()
    ref = H.homogeneity_references(y, pa, pb)
    assert ref["s"] == pytest.approx(homogeneity(pa, pb))
    assert ref["s_lower_bound"] <= ref["s_lower_bound_per_patch"] <= ref["s"] <= ref["s_upper_bound_per_patch"]
    assert ref["hi_constant"] == pytest.approx(histogram_intersection(y, y.mean(axis=0)).mean())
    assert ref["s_constant"] == 1.0 and all(isinstance(v, float) for v in ref.values())


def test_homogeneity_references_by_hand() -> None:
    y = np.array([[1.0, 0, 0], [0, 1.0, 0], [0, 0, 1.0], [0.5, 0.5, 0]])
    pa = np.array([[0.8, 0.2, 0], [0, 1.0, 0], [0.6, 0, 0.4], [0.5, 0.5, 0]])  # top class hits: 1, 1, 0, 1
    pb = np.array([[1.0, 0, 0], [0.6, 0.4, 0], [0.3, 0, 0.7], [0.5, 0.5, 0]])  # hits: 1, 0, 1, 1
    ref = H.homogeneity_references(y, pa, pb, prior=np.array([0.5, 0.25, 0.25]))
    assert ref["hi_a"] == pytest.approx((0.8 + 1 + 0.4 + 1) / 4)
    assert ref["hi_b"] == pytest.approx((1 + 0.4 + 0.7 + 1) / 4)
    assert ref["s"] == pytest.approx((0.8 + 0.4 + 0.7 + 1) / 4)
    assert ref["s_lower_bound"] == pytest.approx(ref["hi_a"] + ref["hi_b"] - 1)
    assert ref["hi_constant"] == pytest.approx((0.5 + 0.25 + 0.25 + 0.75) / 4)
    assert (ref["dominant_hit_a"], ref["dominant_hit_b"]) == (0.75, 0.75)
    assert (ref["both_hit"], ref["both_miss"], ref["both_miss_if_independent"]) == (0.5, 0.0, 0.0625)
    assert ref["same_top_class"] == pytest.approx(0.5)  # rows 1 and 4 agree on the top class
    perfect = H.homogeneity_references(y[:3], y[:3], y[:3])
    assert perfect["s"] == perfect["s_lower_bound"] == 1.0 and math.isnan(perfect["error_correlation"])


def test_homogeneity_references_errors() -> None:
    y = np.eye(3)
    with pytest.raises(ValueError, match="shapes differ"):
        H.homogeneity_references(y, y, np.eye(3)[:2])
    with pytest.raises(ValueError, match="rows of prob_a must be distributions"):
        H.homogeneity_references(y, 2 * y, y)
    with pytest.raises(ValueError, match=r"prior has shape \(2,\)"):
        H.homogeneity_references(y, y, y, prior=np.array([0.5, 0.5]))


def test_baseline_homogeneity_aligns_two_runs_by_patch_id_for_every_pair() -> None:
    pairs = H.baseline_pairs(three_sensors())
    assert list(zip(pairs["sensor_a"], pairs["sensor_b"], strict=True)) == [("s1", "s2"), ("s1", "rgb"), ("s2", "rgb")]
    run = {s: pairs.loc[pairs["sensor_a"] == s, "run_dir_a"].iloc[0] for s in ("s1", "s2")}
    run["rgb"] = pairs.loc[pairs["sensor_b"] == "rgb", "run_dir_b"].iloc[0]
    preds = {
        run["s1"]: prediction("s1", ["p1", "p2", "p3"], [[1, 0], [0.5, 0.5], [0, 1]]),
        run["s2"]: prediction("s2", ["p3", "p1", "p9"], [[0, 1], [0.6, 0.4], [1, 0]]),  # another order, p9 only here
        run["rgb"]: prediction("rgb", ["q1", "q2"], [[1, 0], [0, 1]]),  # no patch in common with the others
    }
    hom = H.baseline_homogeneity(pairs, preds)
    assert list(hom.columns) == list(H.PAIR_COLUMNS)
    assert len(hom) == 1  # the rgb pairs share no patch
    row = hom.iloc[0]
    # p1: min(1, .6) + min(0, .4) = 0.6; p3: 1.0  -> mean 0.8 over 2 aligned pairs
    assert (row["sensor_a"], row["sensor_b"], row["n_pairs"]) == ("s1", "s2", 2)
    assert row["homogeneity"] == pytest.approx(0.8)
    assert row["method"] == "baseline" and row["pairing"] == "aligned" and pd.isna(row["n_train"]) and row["seed"] == 0


def test_homogeneity_context_puts_s_beside_its_accuracy_bound() -> None:
    ids = np.array([f"p{i}" for i in range(4)])
    target = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
    perfect = Predictions(["s1", "s2"], ["A", "B"], {"s1": ids, "s2": ids}, {"s1": target, "s2": target},
                          {"s1": target, "s2": target})
    flat = np.full((4, 2), 0.5)
    half = Predictions(["s1", "s2"], ["A", "B"], {"s1": ids, "s2": ids}, {"s1": target, "s2": target},
                       {"s1": flat, "s2": target})
    table = pairs([("C", "s1", "s2", None, 0, 1.0), ("C", "s1", "s2", None, 1, 1.0),
                   ("C+T+M", "s1", "s2", None, 0, 0.5)])
    table.loc[table["method"] == "C+T+M", ["run_dir_a", "run_dir_b"]] = "half"
    table.loc[table["method"] == "C", ["run_dir_a", "run_dir_b"]] = "perfect"
    ctx = H.homogeneity_context(table, {"perfect": perfect, "half": half}, priors={"half": np.array([0.5, 0.5])})
    perfect_rows = ctx[ctx["method"] == "C"]
    assert len(perfect_rows) == 2 and (perfect_rows["s"] == 1.0).all()
    assert (perfect_rows["s_lower_bound"] == 1.0).all()  # both sensors exact: s is forced to 1
    row = ctx[ctx["method"] == "C+T+M"].iloc[0]
    # s = sum min(0.5/0.5, one-hot) = 0.5; HI_s1 = 0.5, HI_s2 = 1: bound 0.5, so s says nothing beyond accuracy
    assert row["s"] == pytest.approx(0.5) and row["s_lower_bound"] == pytest.approx(0.5)
    assert row["hi_constant"] == pytest.approx(0.5) and row["s_constant"] == 1.0
    shown = homogeneity_context_table(ctx).set_index("method")
    assert shown.loc["C", "n"] == 2 and shown.loc["C", "s"].startswith("1.000 [")
    assert shown.loc["C+T+M", "s − bound"] == "0.000"


def test_load_homogeneity_joins_joint_models_and_every_pair_of_baselines(tmp_path: Path) -> None:
    from xmodal.results import baseline_homogeneity, load_homogeneity, load_results

    write_run(tmp_path, "C+T+M-s1+s2+rgb", "C+T+M", ["s1", "s2", "rgb"], config_hash="a" * 12,
              homogeneity={"s1|s2": 0.7, "s1|rgb": 0.6, "rgb|s2": 0.9})
    probs = {"s1": [[1, 0], [0, 1], [0.5, 0.5]], "s2": [[1, 0], [1, 0], [0.5, 0.5]], "rgb": [[0, 1], [0, 1], [0, 1]]}
    for i, s in enumerate(("s1", "s2", "rgb")):
        write_run(tmp_path, f"baseline-{s}", "baseline", [s], config_hash=f"{i}" * 12, probs={s: probs[s]})
    results = load_results(tmp_path)
    base = baseline_homogeneity(results).set_index(["sensor_a", "sensor_b"])["homogeneity"]
    assert base.to_dict() == pytest.approx({("s1", "s2"): 2 / 3, ("s1", "rgb"): 0.5, ("s2", "rgb"): 1 / 6})
    hom = load_homogeneity(tmp_path)
    assert list(hom.columns) == list(H.PAIR_COLUMNS) and len(hom) == 6
    assert set(hom["pairing"]) == {"aligned"}  # the runs' config value (runs older than the key: aligned)
    joint = hom[hom["method"] == "C+T+M"].set_index(["sensor_a", "sensor_b"])["homogeneity"]
    assert joint.to_dict() == {("s1", "s2"): 0.7, ("s1", "rgb"): 0.6, ("s2", "rgb"): 0.9}  # pairs in display order
    table = homogeneity_table(hom)
    assert len(table) == 6 and set(table["sensors"]) == {"S1, S2", "S1, RGB", "S2, RGB"}


def test_load_homogeneity_context_reads_the_pairs_it_is_given(tmp_path: Path) -> None:
    from xmodal.report.selection import final_pairs
    from xmodal.results import load_homogeneity, load_homogeneity_context

    probs = {"s1": [[1, 0], [0, 1], [0.5, 0.5]], "s2": [[1, 0], [1, 0], [0.5, 0.5]]}
    write_run(tmp_path, "C", "C", ["s1", "s2"], config_hash="c" * 12, probs=probs, homogeneity={"s1|s2": 2 / 3})
    write_run(tmp_path, "C-disjoint", "C", ["s1", "s2"], config_hash="d" * 12, probs=probs,
              homogeneity={"s1|s2": 2 / 3}, pairing="disjoint")
    hom = load_homogeneity(tmp_path)
    assert sorted(hom["pairing"]) == ["aligned", "disjoint"]
    ctx = load_homogeneity_context(final_pairs(hom))
    assert ctx["method"].tolist() == ["C"] and ctx["s"].iloc[0] == pytest.approx(2 / 3)
