"""Equal tuning in the report layer: live runs or the archive, the verdicts side by side, the tuning's tables.

On hand-made tables and a hand-made archive (``tuned_archive``) with known answers; nothing trains.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hand_tables import predictions_for, write_run
from tuned_archive import HAND_SET, IMPORTANCE, MODELS, SEEDS, STEPS_PER_EPOCH, TIMES, hand_set, write_tuned_archive

from xmodal import report
from xmodal.analysis.stats import HOLDS, INCONCLUSIVE, NOT_MEASURED, ONE_SEED
from xmodal.report.side_by_side import NOT_CHECKED
from xmodal.rundir import Result


@pytest.fixture()
def archived(tmp_path: Path) -> report.ProfileSource:
    write_tuned_archive(tmp_path / "archives")
    source = report.profile_source(tmp_path / "runs", "tuned", tmp_path / "archives")
    assert source is not None
    return source


# ----------------------------------------------------------------------------- where the results come from
def test_the_archive_is_used_and_labelled_when_the_runs_are_absent(archived: report.ProfileSource) -> None:
    assert archived.kind == "archived" and archived.archived
    assert archived.label == "archived results of profile 'tuned' (commit 0123456, 2026-12-03)"
    assert archived.source == ("synthetic SEN12MS-like data, winter, scene split; 18 runs of study 'tuned', seeds "
                               "0, 1, 2; archived results of profile 'tuned' (commit 0123456, 2026-12-03)")
    assert archived.data_kind == "synthetic" and archived.machine["cpus"] == 2


def test_neither_runs_nor_archive_gives_none_and_says_how_to_make_them(tmp_path: Path) -> None:
    assert report.profile_source(tmp_path / "runs", "tuned", tmp_path / "archives") is None
    text = report.no_source_text("tuned")
    assert "xmodal tune --study tuned --jobs 2 --data data/default" in text
    assert "xmodal archive --study tuned" in text


def test_live_runs_win_over_the_archive_and_are_labelled_live(tmp_path: Path) -> None:
    write_tuned_archive(tmp_path / "archives")
    study = tmp_path / "runs" / "tuned"
    probs = {"s1": [[1.0, 0.0], [0.0, 1.0], [0.6, 0.4]], "s2": [[1.0, 0.0], [0.0, 1.0], [0.4, 0.6]]}
    for seed in (0, 1):
        run = write_run(study, f"C-s1+s2-nall-seed{seed}", "C", ["s1", "s2"], seed=seed, config_hash=f"{seed}" * 12,
                        probs=probs)
        record = run.result().to_dict()
        record["validation"] = {"curve": [{"epoch": 1, "step": 50, "score": 0.5}], "best_epoch": 1, "best_step": 50}
        run.write_result(Result.from_dict(record))
    source = report.profile_source(tmp_path / "runs", "tuned", tmp_path / "archives")
    assert source is not None and source.kind == "live" and not source.archived
    assert source.label == "live runs of profile 'tuned' (2 runs in runs/tuned)"
    assert "archived" not in source.source and source.tuning is None
    assert set(source.results["method"]) == {"C"} and len(source.predictions) == 2
    curves = report.validation_table(source.runs)
    assert list(curves["best_step"]) == [50, 50]


# ----------------------------------------------------------------------------- the verdicts side by side
def _verdicts(rows: list[tuple[str, float, float, float, int, str]]) -> pd.DataFrame:
    return pd.DataFrame([{"id": i, "claim": f"claim {i}", "paper reports": f"paper {i}", "estimate": e, "low": lo,
                          "high": hi, "n": n, "verdict": v} for i, e, lo, hi, n, v in rows])


def test_compare_verdicts_marks_a_changed_verdict_and_keeps_an_unchanged_one() -> None:
    hand = _verdicts([("a", 0.10, 0.05, 0.15, 10, HOLDS), ("b", 0.02, -0.01, 0.05, 10, INCONCLUSIVE),
                      ("c", np.nan, np.nan, np.nan, 0, NOT_MEASURED), ("d", 0.3, np.nan, np.nan, 1, ONE_SEED)])
    tuned = _verdicts([("a", 0.01, -0.02, 0.04, 10, INCONCLUSIVE), ("b", 0.03, -0.01, 0.07, 10, INCONCLUSIVE),
                       ("c", 0.2, 0.1, 0.3, 10, HOLDS), ("e", 0.1, 0.0, 0.2, 10, INCONCLUSIVE)])
    table = report.compare_verdicts(hand, tuned)
    assert list(table["id"]) == ["a", "b", "c", "d", "e"]
    assert list(table["changed"]) == [True, False, False, False, False]  # c: not measured; d: one seed; e: one side
    row = table.set_index("id").loc["a"]
    assert (row["a_estimate"], row["a_n"], row["a_verdict"]) == (0.10, 10, HOLDS)
    assert (row["b_estimate"], row["b_low"], row["b_verdict"]) == (0.01, -0.02, INCONCLUSIVE)
    assert table.set_index("id").loc["d", "b_verdict"] == NOT_CHECKED
    shown = report.comparison_display(table)
    assert list(shown.columns) == ["claim", "paper reports", "hand-set: difference [95% interval] (n)",
                                   "hand-set: verdict", "tuned: difference [95% interval] (n)", "tuned: verdict",
                                   "verdict changed"]
    assert shown.iloc[0, 2] == "+0.100 [+0.050, +0.150] (n=10)" and shown.iloc[3, 2] == "+0.300 (n=1)"
    assert shown.iloc[2, 2] == "–" and list(shown["verdict changed"]) == ["yes", "", "", "", ""]
    changes = report.verdict_changes(table)
    assert list(changes["claim"]) == ["claim a"] and changes.iloc[0, 1] == "holds → inconclusive"
    text = report.changes_text(table, ["H", "T"])
    assert "of the 2 claims tested on both, **1 changes verdict**: claim a (holds → inconclusive)" in text
    assert "The other 1 keep theirs" in text and "(H; 1-10 seeds per claim; 2 claims tested" in text
    assert "2 claims are tested on one side only" in text  # c and e (d has one seed: not tested)


def test_no_change_is_said_as_such() -> None:
    same = _verdicts([("a", 0.1, 0.05, 0.15, 3, HOLDS)])
    table = report.compare_verdicts(same, same)
    assert not table["changed"].any() and len(report.verdict_changes(table)) == 0
    assert "of the 1 claims tested on both, **no verdict changes**" in report.changes_text(table, ["x", "y"])
    one = _verdicts([("a", 0.1, np.nan, np.nan, 1, ONE_SEED)])
    table = report.compare_verdicts(one, same)
    assert not table["changed"].any()  # one seed: no verdict to change
    assert "**no claim was tested on both**" in report.changes_text(table, ["x", "y"])


def test_claims_checked_on_hand_set_and_tuned_runs_change_where_the_tables_differ(
        archived: report.ProfileSource) -> None:
    hand = hand_set()
    a = report.check_claims(hand, None, predictions_for(hand))
    b = report.check_claims(archived.results, archived.pairs, archived.predictions)
    table = report.compare_verdicts(a, b).set_index("id")
    # C is 0.10 above the Baseline on S1 by hand (HAND_SET), equal to it when tuned
    assert HAND_SET[("C", "s1")] - HAND_SET[("baseline", "s1")] == pytest.approx(0.10)
    assert table.loc["c-beats-baseline-s1", "a_verdict"] == HOLDS
    assert table.loc["c-beats-baseline-s1", "b_verdict"] == INCONCLUSIVE
    assert table.loc["c-beats-baseline-s1", "changed"]
    assert table.loc["c-beats-baseline-s1", "b_estimate"] == pytest.approx(0.0, abs=1e-9)
    # S2 beats S1 for the Baseline on both sides, with the same numbers (the Baselines are the same)
    row = table.loc["s2-beats-s1-baseline"]
    assert row["a_verdict"] == row["b_verdict"] == HOLDS and not row["changed"]
    assert row["a_n"] == row["b_n"] == len(SEEDS)
    # the homogeneity claims: the hand-set table had no pairs
    assert table.loc["ctm-more-homogeneous-than-c-s1-s2", "a_verdict"] == NOT_CHECKED


# ----------------------------------------------------------------------------- the tuning's tables
def test_searched_ranges_and_tuned_settings(archived: report.ProfileSource) -> None:
    assert archived.tuning is not None
    ranges = report.searched_ranges(archived.tuning, {"lr": 1e-3, "dropout": 0.0})
    assert list(ranges["parameter"]) == ["lr", "weight_decay", "dropout", "alpha", "mu", "grl_weight"]
    lr = ranges.set_index("parameter").loc["lr"]
    assert (lr["low"], lr["high"], lr["scale"], lr["hand-set"]) == (3e-4, 3e-3, "log", 1e-3)
    assert ranges.set_index("parameter").loc["alpha", "searched by"] == "with the triplet loss T (C+T, C+T+M)"
    assert np.isnan(ranges.set_index("parameter").loc["mu", "hand-set"])
    settings = report.tuned_settings(archived.tuning, archived.times)
    assert list(settings["model"]) == ["Baseline S1", "Baseline S2", "C", "C+M", "C+T", "C+T+M"]
    ctm = settings.set_index("model").loc["C+T+M"]
    assert (ctm["alpha"], ctm["grl_weight"], ctm["complete"], ctm["pruned"], ctm["best_step"]) == (2.0, 0.3, 6, 2, 400)
    assert ctm["tuning_seconds"] == 1005.0
    assert np.isnan(settings.set_index("model").loc["C", "alpha"])
    shown = report.settings_display(settings, ranges)
    assert shown.iloc[0]["model"] == "hand-set (every model)" and shown.iloc[0]["lr"] == "0.001"
    assert shown.iloc[-1]["trials: complete / pruned / failed"] == "6 / 2 / 0"
    assert shown.iloc[-1]["tuning wall time"] == "16.8 min" and shown.iloc[1]["alpha"] == "–"


def test_tuning_history_and_importance(archived: report.ProfileSource) -> None:
    assert archived.tuning is not None
    history = report.tuning_history(archived.tuning)
    assert len(history) == 8 * len(MODELS)
    first = history[history["model"] == "Baseline S1"]
    assert list(first["state"]) == ["complete"] * 3 + ["pruned"] + ["complete"] * 2 + ["pruned", "complete"]
    assert first["score"].iloc[3] == pytest.approx(0.45)  # a pruned trial: the best score it reached
    # the best complete trial so far, carried over the pruned ones
    assert list(first["best_so_far"].round(3)) == [0.44, 0.45, 0.46, 0.46, 0.48, 0.49, 0.49, 0.51]
    importance = report.importance_table(archived.tuning)
    assert list(importance[importance["model"] == "C"]["parameter"]) == list(IMPORTANCE)
    assert importance.groupby("model")["importance"].sum().round(6).eq(1.0).all()


def test_tuned_runs_curves_and_stopping_steps(archived: report.ProfileSource) -> None:
    curves = report.validation_table(archived.runs, archived.results)
    assert curves["run_dir"].nunique() == len(MODELS) * len(SEEDS)
    stopping = report.stopping_table(curves).set_index("model")
    # Baseline S1 kept epochs 4, 5, 6 (seeds 0, 1, 2): steps 200, 250, 300
    s1 = stopping.loc["Baseline S1"]
    assert (s1["n"], s1["best_step_mean"], s1["best_step_min"], s1["best_step_max"]) == (3, 250.0, 200, 300)
    assert s1["stopped_early"] == 3 and s1["cap_steps"] == 20 * STEPS_PER_EPOCH
    summary = report.curve_summary(curves)
    first = summary[(summary["model"] == "Baseline S1") & (summary["epoch"] == 1)].iloc[0]
    assert (first["step"], first["n"], first["mean"]) == (STEPS_PER_EPOCH, 3, pytest.approx(0.52))
    last = summary[summary["model"] == "Baseline S1"].iloc[-1]
    assert last["n"] == 1 and np.isnan(last["low"])  # only the longest run is still training
    text = report.stopping_text(report.stopping_table(curves), "SRC")
    assert "18 of 18 runs stopped early" in text and "from step 250 (Baseline S1) to step 500 (C+T+M)" in text
    assert "(SRC)" in text


def test_tuning_time_comes_from_the_measured_times(archived: report.ProfileSource) -> None:
    text = report.tuning_time_text(archived.times, archived.tuning, 18, archived.machine)
    assert TIMES["trials_seconds"] / 3600 == 2.0 and TIMES["final_seconds"] / 60 == 60.0
    assert "The 48 trials of 6 models took **2.0 h** of wall time (2 models at a time)" in text
    assert "the 18 final runs **60.0 min**: **3.0 h** in all on a machine with 2 CPU cores" in text
    assert report.tuning_time_text({}, None, 0) == "No wall time of the tuning is on record for these results."
