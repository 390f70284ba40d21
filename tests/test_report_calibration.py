"""The data page's world knobs and calibrated world, computed from a hand-made archive with known answers."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pytest
import scipy.stats as sps
from calibrated_archive import ACHIEVED, CHOSEN, SEEDS, SPREAD, expected_shares, write_calibrated_archive

from xmodal import report
from xmodal.data.knobs import KNOBS
from xmodal.sweep import load_study


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> report.ProfileSource:
    folder = tmp_path_factory.mktemp("archives")
    write_calibrated_archive(folder)
    found = report.calibration_source(Path(folder) / "no-runs", folder)
    assert found is not None and found.archived
    return found


def test_knobs_table_and_paragraph_name_every_knob() -> None:
    table = report.knobs_display()
    assert list(table["knob"]) == [k.name for k in KNOBS]
    assert list(table.columns)[-1] == "meaning"
    assert table.set_index("knob").loc["n_train_s1", "range"] == "1 to all"
    text = report.knobs_paragraph()
    for k in KNOBS:
        assert f"`{k.name}`" in text, k.name
    assert "Shrubland, Savanna, Grassland, Cropland" in text and "S2 still can" in text
    assert "ran on" not in text
    assert "This book's study ran on SEN12MS: the knobs set the synthetic generator only" in report.knobs_paragraph(
        "SEN12MS")


def test_rounds_table_shows_every_round_and_the_kept_values(source: report.ProfileSource) -> None:
    record = report.calibration_record(source)
    assert record is not None
    scores = report.round_scores(record)
    assert len(scores) == 6 and list(scores.columns) == list(report.calibration.ROUND_COLUMNS)
    s2 = scores[scores["sensor"] == "s2"]
    assert list(s2["scored"]) == [True, True, False] and list(s2["chosen"]) == [False, True, False]
    s1 = scores[scores["sensor"] == "s1"]
    assert list(s1["value"]) == [1.0, 1.6, 1.8] and list(s1["chosen"]) == [False, False, True]
    assert list(s1["n"]) == [3, 3, 3] and s1["target"].eq(0.63).all()
    table = report.rounds_table(record)
    assert list(table.columns) == ["round", "S1: s1_contrast", "S1 weighted F1 (target 0.63 ± 0.02)",
                                   "S2: s2_noise", "S2 weighted F1 (target 0.77 ± 0.02)"]
    assert list(table["S1: s1_contrast"]) == ["1", "1.6", "1.8"]
    assert table.iloc[0, 2] == "0.542 ± 0.010 (n=3)"
    assert table.iloc[2, 2] == "0.634 ± 0.010 (n=3) ← chosen"
    assert table.iloc[1, 4] == "0.772 ± 0.010 (n=3) ← chosen" and table.iloc[2, 4] == "kept (scored before)"


def test_achieved_scores_with_intervals_against_the_target(source: report.ProfileSource) -> None:
    table = report.achieved_table(source)
    assert list(table["sensor"]) == ["s1", "s2"]
    s1, s2 = table.iloc[0], table.iloc[1]
    assert s1["mean"] == pytest.approx(ACHIEVED["s1"]) and s2["mean"] == pytest.approx(ACHIEVED["s2"])
    assert int(s1["n"]) == int(s2["n"]) == len(SEEDS)
    assert s1["within"] and not s2["within"]
    assert s1["value"] == CHOSEN["s1_contrast"] and s2["value"] == CHOSEN["s2_noise"]
    for r in (s1, s2):  # the test scenes' bootstrap widens the seeds' t-interval
        assert math.isfinite(r["se_scene"]) and r["se_scene"] > 0
        assert r["low"] < r["mean"] < r["high"]
    # without predictions: the seeds' t-interval alone, exactly
    bare = dataclasses.replace(source, archive=dataclasses.replace(source.archive, predictions={}))
    t = report.achieved_table(bare)
    half = sps.t.ppf(0.975, len(SEEDS) - 1) * SPREAD * np.std(np.arange(10), ddof=1) / math.sqrt(len(SEEDS))
    assert t.iloc[0]["high"] - t.iloc[0]["mean"] == pytest.approx(half)
    assert math.isnan(t.iloc[0]["se_scene"]) and t.iloc[0]["interval_within"]  # 0.63 ± 0.009 inside ± 0.02
    assert half < s1["high"] - s1["mean"]
    shown = report.achieved_display(table)
    assert list(shown["within ± tolerance"]) == ["yes", "no"]
    assert list(shown["target (paper)"]) == ["0.63 ± 0.02", "0.77 ± 0.02"]
    assert shown.iloc[0]["test weighted F1 [95% interval]"].startswith("0.630 [")
    text = report.achieved_text(table, source.source)
    assert "Baseline S1 (s1_contrast = 1.8): test weighted F1 0.630 [" in text
    assert "over 10 seeds, **within** ± 0.02 of the target 0.63 (difference +0.000)" in text
    assert "Baseline S2 (s2_noise = 0.5): test weighted F1 0.800 [" in text
    assert "**outside** ± 0.02 of the target 0.77 (difference +0.030, band 0.75 to 0.79)" in text
    assert "archived results of profile 'calibrated' (commit fedcba9, 2026-12-05)" in text
    assert "synthetic SEN12MS-like data" in text
    assert "the whole interval lies in the band" in report.achieved_text(t, "x")


def test_achieved_without_runs_or_record(source: report.ProfileSource) -> None:
    empty = dataclasses.replace(source, archive=dataclasses.replace(
        source.archive, results=source.results[source.results["modality"] == "s1"]))
    table = report.achieved_table(empty)
    assert int(table.iloc[1]["n"]) == 0 and not table.iloc[1]["within"]
    assert "Baseline S2: no finished run" in report.achieved_text(table, "x")
    none = dataclasses.replace(source, archive=dataclasses.replace(source.archive, calibration=None))
    assert report.calibration_record(none) is None and report.achieved_table(none).empty
    assert "record is missing" in report.achieved_text(report.achieved_table(none), "x")


def test_class_shares_of_the_calibrated_world(source: report.ProfileSource) -> None:
    shares = report.class_share_table(source)
    expected = expected_shares()
    assert list(shares["class"]) == list(expected)
    assert shares["share"].tolist() == pytest.approx(list(expected.values()))
    assert shares["n"].eq(30).all() and (shares["patches"] == (shares["share"] * 30).round().astype(int)).all()
    text = report.class_share_text(shares, source.source)
    assert "never the land cover" in text and "tests/test_worlds.py" in text and "over the 30 test patches" in text
    top = max(expected, key=expected.get)
    assert f"the most frequent is {top} ({expected[top]:.1%})" in text
    bare = dataclasses.replace(source, archive=dataclasses.replace(source.archive, predictions={}))
    assert report.class_share_table(bare).empty
    assert "cannot be shown" in report.class_share_text(report.class_share_table(bare), "x")


def test_calibration_text_says_what_the_search_did(source: report.ProfileSource) -> None:
    text = report.calibration_text(source)
    assert "archived results of profile 'calibrated' (commit fedcba9, 2026-12-05)" in text
    assert "**synthetic**" in text and "These are **archived** results (`calibrated.json`" in text
    assert "S1 0.63, S2 0.77, within ± 0.02" in text
    assert "`s1_contrast` for S1 (searched in [0.5, 3], starting at 1 and 1.6)" in text
    assert "on 3 seeds (0, 1, 2)" in text and "generator seed 1 instead of the study's" in text
    assert "never sees the study's own validation or test scenes" in text
    assert "It ran 3 of at most 7 rounds in 12 minutes of wall time" in text
    assert "(stopped: every sensor within half the tolerance); it chose `s1_contrast` = 1.8, `s2_noise` = 0.5." in text
    assert "ran on" not in text
    real = report.calibration_text(source, "SEN12MS")
    assert real.startswith("*This book's study ran on SEN12MS; this section is about the synthetic world")
    missing = report.calibration_text(None)
    assert "no finished run beside this study and no archive" in missing
    assert "`make calibrated`" in missing and "xmodal calibrate --study calibrated --jobs 2" in missing
    assert "xmodal archive --study calibrated" in missing
    none = dataclasses.replace(source, archive=dataclasses.replace(source.archive, calibration=None))
    assert "carry no record of the calibration search" in report.calibration_text(none)


def test_default_world_text_compares_the_knobs(source: report.ProfileSource, tmp_path: Path) -> None:
    assert report.world_differences({"s1_contrast": 1.0}, {}) == {}
    assert report.world_differences(CHOSEN, {"s2_noise": 0.5}) == {"s1_contrast": (1.0, 1.8)}
    text = report.default_world_text(source, default_params={})  # a default profile that sets no knob: 1 and 1
    assert text.startswith("**The calibrated world is not the default world** (`s1_contrast` 1 in the default "
                           "world, 1.8 in the calibrated one, `s2_noise` 1 in the default world, 0.5")
    assert report.NOT_DEFAULT_REASON in text and "54 minutes" in text and "Regime page" in text
    same = report.default_world_text(source, default_params=dict(CHOSEN))
    assert same.startswith("**The calibrated world is the default world:**")
    write_calibrated_archive(tmp_path, params={"s1_contrast": 1.0, "s2_noise": 1.0})
    neutral = report.calibration_source(tmp_path / "no-runs", tmp_path)
    assert report.default_world_text(neutral, default_params={}).startswith(
        "**The calibrated world is the default world:**")
    shipped = load_study("default")["data"]["synthetic"]["params"]  # the shipped default is the calibrated world
    write_calibrated_archive(tmp_path, params=dict(shipped))
    assert report.default_world_text(report.calibration_source(tmp_path / "no-runs", tmp_path)).startswith(
        "**The calibrated world is the default world:**")
    assert report.default_world_text(None) == ""
