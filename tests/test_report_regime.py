"""The regime map in the report layer: live runs or the archive, the paper's signs per cell and in words.

On a hand-made regime archive (``regime_archive``) with known answers; nothing trains.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from regime_archive import CALIBRATED_CELL, HALF_WIDTH, NO_LIFT, SEEDS, write_regime_archive

from xmodal import report
from xmodal.analysis.regime import regime_differences
from xmodal.analysis.stats import NONINFERIORITY_MARGIN
from xmodal.report import regime as rr


def _source(folder: Path, **grid: object) -> rr.RegimeSource:
    write_regime_archive(folder / "archives", **grid)  # type: ignore[arg-type]
    found = report.regime_source(folder / "runs", folder / "archives")
    assert found is not None
    return found


@pytest.fixture(scope="module")
def lifts(tmp_path_factory: pytest.TempPathFactory) -> rr.RegimeSource:
    return _source(tmp_path_factory.mktemp("lifts"))


@pytest.fixture(scope="module")
def none(tmp_path_factory: pytest.TempPathFactory) -> rr.RegimeSource:
    return _source(tmp_path_factory.mktemp("none"), grid=NO_LIFT)


def _cell(row: dict, axes: list[str]) -> tuple:
    return tuple(rr._level(row[a]) for a in axes)


# ----------------------------------------------------------------------------- where the map comes from
def test_the_archive_is_read_labelled_and_its_cells_found(lifts: rr.RegimeSource) -> None:
    assert lifts.archived and lifts.kind == "archived"
    assert lifts.label == "archived results of profile 'regime' (commit fedcba9, 2027-01-15)"
    assert "synthetic SEN12MS-like data" in lifts.source and lifts.label in lifts.source
    assert lifts.axes == ["s1_contrast", "n_train_s1"] and lifts.methods == ["C", "C+T+M"]
    assert lifts.calibrated == CALIBRATED_CELL
    assert len(rr.regime_signs(lifts.differences, lifts.axes)) == 9
    assert set(lifts.differences["n"]) == {len(SEEDS)}
    # every run predicts the targets: the test scenes add nothing, every interval is the seeds' own
    assert (lifts.differences["se_scene"] == 0).all()
    assert lifts.differences["half_width"].to_numpy() == pytest.approx([HALF_WIDTH] * len(lifts.differences))
    assert lifts.n_runs == 90 and len(lifts.worlds) == 3


def test_predictions_do_not_change_the_intervals_here(lifts: rr.RegimeSource) -> None:
    bare = regime_differences(lifts.cells, lifts.axes, lifts.methods, pairs=lifts.base.pairs, predictions=None)
    assert bare["estimate"].to_numpy() == pytest.approx(lifts.differences["estimate"].to_numpy())
    assert bare["low"].to_numpy() == pytest.approx(lifts.differences["low"].to_numpy())
    assert (bare["se_scene"] == 0).all()


def test_neither_runs_nor_archive_gives_none_and_says_how_to_make_them(tmp_path: Path) -> None:
    assert report.regime_source(tmp_path / "runs", tmp_path / "archives") is None
    for text in (rr.no_regime_text(), rr.regime_source_paragraph(None)):
        assert "no archive of its results" in text
        assert "`make regime`" in text and "xmodal regime --study regime --jobs 2" in text
        assert "xmodal archive --study regime" in text
    assert "How long it took" not in rr.regime_run_text(None)


def test_the_source_is_chosen_by_profile_source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from xmodal.report import sources

    write_regime_archive(tmp_path / "archives")
    seen = {}

    def fake(runs_dir: object, profile: str, archive_dir: object) -> object:
        seen.update(runs_dir=runs_dir, profile=profile, archive_dir=archive_dir)
        return sources.profile_source(tmp_path / "none", profile, archive_dir)

    monkeypatch.setattr(rr, "profile_source", fake)
    found = rr.regime_source(tmp_path / "runs", tmp_path / "archives")
    assert found is not None and seen == {"runs_dir": tmp_path / "runs", "profile": "regime",
                                          "archive_dir": tmp_path / "archives"}


def test_calibrated_cell_off_the_grid_is_none(lifts: rr.RegimeSource) -> None:
    spec = {**lifts.spec, "data": {"synthetic": {"params": {"s1_contrast": 1.3}}}}
    assert rr.calibrated_cell(spec, lifts.differences, lifts.axes) is None
    text = rr.regime_sentences(lifts.differences, lifts.axes, None, source="S")
    assert any("is not a cell of this grid" in t for t in text)


# ----------------------------------------------------------------------------- the signs
def test_signs_per_cell(lifts: rr.RegimeSource) -> None:
    signs = rr.regime_signs(lifts.differences, lifts.axes)
    rows = {_cell(r, lifts.axes): r for r in signs.to_dict(orient="records")}
    assert [c for c, r in rows.items() if r["c_lifts_s1"]] == [(1.0, 72)]
    assert [c for c, r in rows.items() if not r["ctm_keeps"]] == [(1.0, 290), (2.6, 72)]
    assert not rows[(1.0, 290)]["ctm_keeps"]  # -0.015 +/- 0.01: its interval reaches below -margin, not shown
    assert {c for c, r in rows.items() if r["homogeneity_rises"]} == {
        (c, n) for c in (1.0, 1.8) for n in (72, 290, None)}
    assert [c for c, r in rows.items() if r["all_signs"]] == [(1.0, 72)]
    # a margin of 0.03: the -0.015 on S2 is now shown above it, the -0.05 still is not
    lenient = rr.regime_signs(lifts.differences, lifts.axes, margin=0.03)
    lost = {_cell(r, lifts.axes) for r in lenient.to_dict(orient="records") if not r["ctm_keeps"]}
    assert lost == {(2.6, 72)}


def test_sentences_name_exactly_the_cell_where_c_lifts_s1(lifts: rr.RegimeSource) -> None:
    text = rr.regime_sentences(lifts.differences, lifts.axes, lifts.calibrated, source=lifts.source)
    assert text[0].startswith("**All three of the paper's signs appear together in 1 of the 9 cells:** "
                              "s1_contrast 1, n_train_s1 72 (C − Baseline on S1 +0.060 [+0.050, +0.070] (n=3)")
    assert text[1] == ("**C lifts S1** (C − Baseline weighted F1 on S1, its 95% interval above 0) in 1 of the 9 "
                       "cells: s1_contrast 1, n_train_s1 72 (+0.060 [+0.050, +0.070] (n=3)).")
    assert f"shown above −{NONINFERIORITY_MARGIN:g} on both sensors" in text[2] and "in 7 of the 9 cells" in text[2]
    assert "It is shown to lose more than 0.02 (an interval wholly below −0.02) in s1_contrast 2.6, n_train_s1 72 " \
           "(S1 -0.005 [-0.015, +0.005] (n=3), S2 -0.050 [-0.060, -0.040] (n=3))." in text[2]
    assert "In the other 1 the intervals reach below −0.02 without lying wholly below it" in text[2]
    assert text[3].startswith("**Homogeneity rises** (C+T+M − Baseline homogeneity, its 95% interval above 0) in "
                              "6 of the 9 cells")
    assert "s1_contrast 2.6" not in text[3]
    assert text[4].startswith("**At the calibrated world** (s1_contrast 1.8, n_train_s1 all")
    assert "C − Baseline on S1 +0.000 [-0.010, +0.010] (n=3): no significant lift" in text[4]
    assert "homogeneity +0.050 [+0.040, +0.060] (n=3): rises" in text[4]
    caveat = text[5]
    assert "synthetic" in caveat and lifts.source in caveat
    assert "not adjusted for the 9 cells" in caveat and "about 5% of cells" in caveat
    assert not any("none of the" in t for t in text)


def test_sentences_when_no_cell_shows_the_lift(none: rr.RegimeSource) -> None:
    text = rr.regime_sentences(none.differences, none.axes, none.calibrated, source=none.source)
    assert text[0] == ("**No cell of the 9 shows all three of the paper's signs together** (C lifts S1 in 0, C+T+M "
                       "keeps accuracy in 9, homogeneity rises in 0 of the 9).")
    lift = text[1]
    assert lift.startswith("**C lifts S1 in none of the 9 cells**")
    assert "it grows as s1_contrast falls, at every level of n_train_s1 (at n_train_s1 72: +0.008 [-0.002, " \
           "+0.018] at 1, +0.006 [-0.004, +0.016] at 1.8, +0.004 [-0.006, +0.014] at 2.6)" in lift
    assert "it grows as n_train_s1 falls, at every level of s1_contrast" in lift
    assert "It is largest at s1_contrast 1, n_train_s1 72: +0.008 [-0.002, +0.018] (n=3)." in lift
    assert "(s1_contrast below 1, n_train_s1 below 72)" in lift and "more seeds than 3" in lift
    hom = text[3]
    assert hom.startswith("**Homogeneity rises in none of the 9 cells**")
    assert "It is largest at s1_contrast 2.6, n_train_s1 all: +0.008 [-0.002, +0.018] (n=3)." in hom
    assert "(s1_contrast above 2.6)" in hom  # "all" is the top of n_train_s1: nothing beyond it
    assert "in 9 of the 9 cells" in text[2] and "It does not in" not in text[2]


def test_sentences_without_homogeneity(lifts: rr.RegimeSource) -> None:
    diffs = lifts.differences[lifts.differences["quantity"] != "homogeneity"]
    text = rr.regime_sentences(diffs, lifts.axes, lifts.calibrated, source="S")
    assert "homogeneity rises: not measured" in text[0]
    assert text[3].startswith("**Homogeneity rises**: not measured")


# ----------------------------------------------------------------------------- the table and the grids
def test_table_marks_significant_cells_and_the_calibrated_world(lifts: rr.RegimeSource) -> None:
    table = rr.regime_table(lifts.differences, lifts.axes, lifts.calibrated)
    assert list(table.columns) == ["s1_contrast", "n_train_s1", "world", "C − Baseline, S1 weighted F1",
                                   "C − Baseline, S2 weighted F1", "C − Baseline, homogeneity",
                                   "C+T+M − Baseline, S1 weighted F1", "C+T+M − Baseline, S2 weighted F1",
                                   "C+T+M − Baseline, homogeneity", "n (seeds)"]
    assert list(table["s1_contrast"]) == ["1"] * 3 + ["1.8"] * 3 + ["2.6"] * 3
    assert list(table["n_train_s1"]) == ["72", "290", "all"] * 3
    assert list(table["world"]) == [""] * 5 + ["calibrated"] + [""] * 3
    assert table.iloc[0]["C − Baseline, S1 weighted F1"] == "+0.060 [+0.050, +0.070] *"
    assert table.iloc[1]["C − Baseline, S1 weighted F1"] == "+0.000 [-0.010, +0.010]"
    stars = sum(str(v).endswith(" *") for v in table.drop(columns=["world"]).to_numpy().ravel())
    assert stars == int(lifts.differences["significant"].sum()) == 9


def test_grids_and_panels(lifts: rr.RegimeSource) -> None:
    panels = rr.regime_panels(lifts.differences)
    assert panels == [("f1", "C", "s1"), ("f1", "C", "s2"), ("homogeneity", "C", "s1|s2"),
                      ("f1", "C+T+M", "s1"), ("f1", "C+T+M", "s2"), ("homogeneity", "C+T+M", "s1|s2")]
    est = rr.map_grid(lifts.differences, lifts.axes, "f1", "C", "s1")
    assert list(est.index) == ["1", "1.8", "2.6"] and list(est.columns) == ["72", "290", "all"]
    assert est.loc["1", "72"] == pytest.approx(0.06) and est.loc["1.8", "72"] == pytest.approx(0.005)
    sig = rr.map_grid(lifts.differences, lifts.axes, "f1", "C+T+M", "s2", "significant")
    assert sorted(zip(*sig.to_numpy().nonzero(), strict=True)) == [(0, 1), (2, 0)]
    text = rr.map_annotations(lifts.differences, lifts.axes, "f1", "C", "s1")
    assert text.loc["1", "72"] == "+0.060\n[+0.050, +0.070]"
    assert rr.axis_label("s1_contrast") == "s1_contrast (x)" and rr.axis_label("n_train_s1") == "n_train_s1 (patches)"
    knobs = rr.knob_rows(lifts.axes)
    assert list(knobs["knob"]) == lifts.axes and "meaning" in knobs


def test_run_text_comes_from_the_measured_times(lifts: rr.RegimeSource) -> None:
    text = rr.regime_run_text(lifts)
    assert "`make regime`" in text and "xmodal regime --study regime --jobs 2" in text
    assert "xmodal archive --study regime" in text
    assert "the 3 worlds' 90 runs took **2.0 h** of wall time (2 runs at a time on a machine with 2 CPU cores), " \
           "of which 6.0 min made the worlds' data" in text
    paragraph = rr.regime_source_paragraph(lifts)
    assert "**archived** results" in paragraph and "`regime.json`" in paragraph and "fedcba9" in paragraph


def test_the_calibrated_cell_is_set_beside_the_studys_own_runs_in_the_same_world(lifts: rr.RegimeSource) -> None:
    import pandas as pd

    (fingerprint,) = rr.calibrated_fingerprints(lifts)  # one world: one fingerprint
    lift = pd.DataFrame([{"id": "c-beats-baseline-s1", "estimate": 0.03, "low": 0.01, "high": 0.05, "n": 10,
                          "verdict": "holds"}])
    text = rr.calibrated_check_text(lifts, lift, fingerprint, "the study")
    assert f"the same data fingerprint, `{fingerprint}`" in text
    assert "+0.030 [+0.010, +0.050] (n=10), verdict *holds*" in text
    assert "on 3 seeds, measured +0.000 [-0.010, +0.010] (n=3)" in text
    assert "The larger set of seeds shows a lift the map's few seeds could not." in text and text.endswith(
        "Data: the study.")
    flat = lift.assign(estimate=0.0, low=-0.01, high=0.01, verdict="inconclusive")
    assert "Neither shows a lift." in rr.calibrated_check_text(lifts, flat, fingerprint, "S")
    assert rr.calibrated_check_text(lifts, lift, "synthetic:another-world", "S") == ""
    assert rr.calibrated_check_text(None, lift, fingerprint, "S") == ""
