"""The clouds package: fallback policy, tables, run selection, resumability, errors, notes, figures, the chapter."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from xmodal import clouds, plots
from xmodal.analysis.stats import paired_difference
from xmodal.clouds import BASELINE_MODEL, FALLBACK, CloudEvalError, CloudEvaluation, CoverPredictions
from xmodal.metrics import f1_scores

#: A tiny synthetic root: 4 scenes of 3 x 3 patches of 16 px (one test scene under the 0.25 scene split, one
#: validation scene of the three others).
TINY = dict(n_scenes=4, patches_per_side=3, patch_size=16, seed=0, progress=False)
#: A run of 1 epoch of 2 steps on it (a few seconds).
TINY_RUN: dict[str, Any] = {
    "season": "winter", "split": "scene", "test_fraction": 0.25, "val_fraction": 0.3, "label_scheme": "dfc10",
    "backbone": "resnet18",
    "latent_dim": 16, "merge_hidden": [16, 16], "classifier_hidden": 8, "modality_hidden": 8, "epochs": 1,
    "steps_per_epoch": 2, "batch_size": 4, "patch_size": 16, "n_latent": 4, "device": "cpu", "threads": 1,
    "progress": False, "seed": 0,
}
BOOK = Path(__file__).resolve().parents[1] / "book" / "clouds.ipynb"


def _link_tree(src: Path, dst: Path, **kwargs: Any) -> None:
    """Copy a folder with hard links (run folders hold large checkpoints); replace a file before editing it."""
    shutil.copytree(src, dst, copy_function=os.link, **kwargs)


# ----------------------------------------------------------------------------- hand-made predictions
def _pred(run: str, method: str, mods: tuple[str, ...], cover: float, prob: dict[str, Any], patch_cover: Any,
          seed: int = 0, target: Any = None) -> CoverPredictions:
    n = len(patch_cover)
    t = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]])[:n] if target is None \
        else np.asarray(target)
    return CoverPredictions(run, method, mods, seed, cover, np.array([f"p{i}" for i in range(n)]), t,
                            np.asarray(patch_cover, float), {m: np.asarray(v, float) for m, v in prob.items()})


A = [[0.8, 0.1, 0.1], [0.1, 0.8, 0.1], [0.1, 0.1, 0.8], [0.8, 0.1, 0.1]]   # right everywhere
B = [[0.1, 0.8, 0.1], [0.1, 0.8, 0.1], [0.1, 0.1, 0.8], [0.1, 0.1, 0.8]]   # wrong on p0 and p3
U = [[1 / 3, 1 / 3, 1 / 3]] * 4                                           # cloud: no information


def test_fallback_picks_s2_below_the_threshold_and_s1_from_it() -> None:
    s2 = np.array([[1.0, 0.0], [1.0, 0.0], [1.0, 0.0], [1.0, 0.0]])
    s1 = np.array([[0.0, 1.0], [0.0, 1.0], [0.0, 1.0], [0.0, 1.0]])
    answer, switched = clouds.fallback(s2, s1, np.array([0.0, 0.29, 0.3, 0.9]), threshold=0.3)
    assert switched.tolist() == [False, False, True, True]
    np.testing.assert_array_equal(answer, np.array([[1, 0], [1, 0], [0, 1], [0, 1]]))
    assert clouds.fallback(s2, s1, np.ones(4), threshold=1.0)[1].all()  # cover 1 >= threshold 1: S1
    with pytest.raises(ValueError, match="Invalid fallback threshold 1.5"):
        clouds.fallback(s2, s1, np.zeros(4), threshold=1.5)
    with pytest.raises(ValueError, match=r"cover \(3,\)"):
        clouds.fallback(s2, s1, np.zeros(3))


@pytest.mark.parametrize("bad", [-0.1, 1.5, "half", True, float("nan")])
def test_a_bad_cover_is_named(bad: Any) -> None:
    with pytest.raises(ValueError, match=f"Invalid cloud cover {bad!r}"):
        clouds.check_covers([0.5, bad])


def test_covers_are_sorted_unique_and_include_the_clear_sky() -> None:
    assert clouds.check_covers([1, 0.5, 0.5000000001, 0.25]) == (0.0, 0.25, 0.5, 1.0)
    assert [clouds.cover_name(c) for c in (0, 0.25, 0.5, 1, 0.125)] == ["c000", "c025", "c050", "c100", "c012.5"]
    assert clouds.variant_root("/x/data/default", 0.5) == Path("/x/data/default-clouds/c050")
    from xmodal.report.selection import method_label

    assert method_label("baseline", modalities=["s2"]) == BASELINE_MODEL == method_label("baseline")
    assert method_label("C+T+M", modalities=["s2", "s1"]) == "C+T+M"
    assert method_label("C+T+M", modalities=["s1", "s2", "rgb"]) == "C+T+M (s1+s2+rgb)"


def _hand_predictions(seed: int = 0, b1: Any = B) -> list[CoverPredictions]:
    """Two Baselines (S2 right, S1 = ``b1``) and one C+T+M (S2 right, S1 = A), at covers 0 and 0.5."""
    covers0, covers5 = [0.0, 0.0, 0.0, 0.0], [0.1, 0.4, 0.5, 0.6]
    return [
        _pred("b-s1", "baseline", ("s1",), 0.0, {"s1": b1}, covers0, seed),
        _pred("b-s2", "baseline", ("s2",), 0.0, {"s2": A}, covers0, seed),
        _pred("b-s1", "baseline", ("s1",), 0.5, {"s1": b1}, covers5, seed),
        _pred("b-s2", "baseline", ("s2",), 0.5, {"s2": U}, covers5, seed),
        _pred("x", "C+T+M", ("s1", "s2"), 0.0, {"s1": A, "s2": A}, covers0, seed),
        _pred("x", "C+T+M", ("s1", "s2"), 0.5, {"s1": A, "s2": U}, covers5, seed),
    ]


def test_cover_table_numbers_on_hand_made_probabilities() -> None:
    table = clouds.cover_table(_hand_predictions(), threshold=0.3)
    assert list(table.columns) == list(clouds.TABLE_COLUMNS)
    row = table.set_index(["model", "system", "cover"])
    b, u, t = np.array(B), np.array(U), _hand_predictions()[0].target
    # F1 of each sensor is the metric's
    assert row.loc[(BASELINE_MODEL, "s1", 0.0), "weighted"] == pytest.approx(f1_scores(t, b)["weighted"])
    assert row.loc[(BASELINE_MODEL, "s2", 0.5), "macro"] == pytest.approx(f1_scores(t, u)["macro"])
    # the fallback at cover 0.5 (patch covers 0.1 0.4 0.5 0.6): p0 from S2, p1..p3 from S1
    fb = row.loc[(BASELINE_MODEL, FALLBACK, 0.5)]
    expected = np.vstack([u[:1], b[1:]])
    assert fb["switch_share"] == pytest.approx(0.75)
    assert fb["weighted"] == pytest.approx(f1_scores(t, expected)["weighted"])
    # eq. 5 between the two Baselines' answers: rows of A and B meet in 0.3, 1, 1, 0.3 (cover 0)
    assert row.loc[(BASELINE_MODEL, "s1", 0.0), "homogeneity"] == pytest.approx(np.mean([0.3, 1.0, 1.0, 0.3]))
    # against the clear-sky answer (S2 at cover 0 = A): the switched patches p1..p3 answer B
    assert fb["switch_consistency"] == pytest.approx(np.mean([1.0, 1.0, 0.3]))
    assert fb["switch_top_change"] == pytest.approx(1 / 3)
    assert fb["consistency"] == pytest.approx(np.mean([1 / 3 + 0.2, 1.0, 1.0, 0.3]))  # p0: cloudy S2 (U) vs A
    # one cross-modal model whose S1 answer is its S2 answer: perfectly consistent when it switches
    x = row.loc[("C+T+M", FALLBACK, 0.5)]
    assert x["switch_consistency"] == pytest.approx(1.0) and x["switch_top_change"] == 0.0
    assert row.loc[("C+T+M", "s2", 0.0), "consistency"] == pytest.approx(1.0)
    assert np.isnan(row.loc[("C+T+M", FALLBACK, 0.0), "switch_consistency"])  # nothing switched at cover 0
    assert set(table["system"]) == {"s1", "s2", FALLBACK}
    assert len(clouds.cover_table(_hand_predictions(), fallback_only=True)) == 4


def test_a_model_and_seed_given_twice_is_an_error_naming_the_runs() -> None:
    preds = _hand_predictions()
    with pytest.raises(ValueError, match=r"Runs b-s1 and b-s1-copy both give Baseline seed 0 on \['s1'\] at cover 0"):
        clouds.cover_table([*preds, _pred("b-s1-copy", "baseline", ("s1",), 0.0, {"s1": B}, [0.0] * 4)])


def _three_seeds() -> pd.DataFrame:
    wrong = [[0.1, 0.8, 0.1], [0.8, 0.1, 0.1], [0.1, 0.8, 0.1], [0.1, 0.1, 0.8]]
    preds = [*_hand_predictions(0), *_hand_predictions(1, wrong), *_hand_predictions(2, [[0.4, 0.5, 0.1]] * 4)]
    return clouds.cover_table(preds, threshold=0.3)


def test_summary_and_comparison_are_the_paired_differences_over_seeds() -> None:
    table = _three_seeds()
    s = clouds.summarize(table, ("switch_consistency",)).set_index(["model", "system", "cover"])
    vals = table[(table["model"] == BASELINE_MODEL) & (table["system"] == FALLBACK) & (table["cover"] == 0.5)]
    d = paired_difference(vals["switch_consistency"].to_numpy())
    got = s.loc[(BASELINE_MODEL, FALLBACK, 0.5)]
    assert (got["mean"], got["low"], got["high"], got["n"]) == pytest.approx((d.estimate, d.low, d.high, 3))
    comp = clouds.compare(table, "C+T+M", metric="switch_consistency").set_index("cover")
    x = table[(table["model"] == "C+T+M") & (table["system"] == FALLBACK) & (table["cover"] == 0.5)]
    d2 = paired_difference(x.set_index("seed")["switch_consistency"], vals.set_index("seed")["switch_consistency"])
    assert comp.loc[0.5, "estimate"] == pytest.approx(d2.estimate) and comp.loc[0.5, "n"] == 3
    with pytest.raises(CloudEvalError, match="No 'fallback' rows of model 'C'"):
        clouds.compare(table, "C")


def test_claims_pair_the_seeds_of_the_two_fallbacks() -> None:
    table = _three_seeds()
    claims = clouds.fallback_claims(table, "C+T+M")
    assert list(claims["metric"]) == ["switch_consistency", "switch_top_change", "weighted", "weighted"]
    assert list(claims["kind"]) == ["greater", "less", "noninferior", "noninferior"]
    cons = claims.iloc[0]
    fb = table[(table["system"] == FALLBACK) & (table["cover"] == 0.5)].pivot(index="seed", columns="model",
                                                                              values="switch_consistency")
    d = paired_difference(fb["C+T+M"], fb[BASELINE_MODEL])
    assert cons["cover"] == 0.5 and cons["n"] == 3
    assert (cons["estimate"], cons["low"], cons["high"]) == pytest.approx((d.estimate, d.low, d.high))
    one = clouds.verdict_text(clouds.fallback_claims(clouds.cover_table(_hand_predictions()), "C+T+M"))
    assert "no interval" in one and "one seed" in one


# ----------------------------------------------------------------------------- the threshold, chosen on validation
def _scores(rows: list[tuple[float, str, int, float]]) -> pd.DataFrame:
    """A :func:`clouds.threshold_scores` table from (threshold, model, seed, weighted), one cover."""
    return pd.DataFrame([{"threshold": t, "model": m, "method": m, "seed": s, "cover": 0.5, "n": 4, "weighted": w,
                          "switch_share": 0.0} for t, m, s, w in rows], columns=list(clouds.THRESHOLD_SCORE_COLUMNS))


def test_the_threshold_with_the_best_pooled_score_wins_and_ties_go_to_the_lower() -> None:
    # pooled means over models and seeds: 0.1 -> 0.55, 0.2 -> 0.65, 0.3 -> 0.60
    table = _scores([(0.1, "Baseline", 0, 0.5), (0.1, "C+T+M", 0, 0.6), (0.2, "Baseline", 0, 0.7),
                     (0.2, "C+T+M", 0, 0.6), (0.3, "Baseline", 0, 0.9), (0.3, "C+T+M", 0, 0.3)])
    assert clouds.choose_threshold(table) == 0.2  # not 0.3, where one model alone is best
    tie = _scores([(0.0, "x", 0, 0.4), (0.25, "x", 0, 0.8), (0.5, "x", 0, 0.8), (0.75, "x", 0, 0.8)])
    assert clouds.choose_threshold(tie) == 0.25
    assert clouds.choose_threshold(tie.iloc[::-1]) == 0.25  # whatever the order of the rows
    with pytest.raises(CloudEvalError, match="No fallback score to choose a threshold from"):
        clouds.choose_threshold(_scores([]))


def test_threshold_scores_are_the_fallback_f1_at_each_threshold_of_the_grid() -> None:
    preds = _hand_predictions()
    scores = clouds.threshold_scores(preds, (0.3, 0.05, 0.7))
    assert list(scores.columns) == list(clouds.THRESHOLD_SCORE_COLUMNS)
    assert sorted(set(scores["threshold"])) == [0.05, 0.3, 0.7] and set(scores["model"]) == {BASELINE_MODEL, "C+T+M"}
    table = clouds.cover_table(preds, threshold=0.3, fallback_only=True).set_index(["model", "cover"])
    got = scores[scores["threshold"] == 0.3].set_index(["model", "cover"])
    pd.testing.assert_series_equal(got["weighted"], table["weighted"], check_names=False)
    # the C+T+M fallback at cover 0.5 (patch covers 0.1 0.4 0.5 0.6): S1 is right, the cloudy S2 is not
    x = scores[(scores["model"] == "C+T+M") & (scores["cover"] == 0.5)].set_index("threshold")
    assert x.loc[0.05, "switch_share"] == 1.0 and x.loc[0.7, "switch_share"] == 0.0
    assert x.loc[0.05, "weighted"] > x.loc[0.7, "weighted"]
    # pooled, 0.3 wins: the Baselines' fallback (S1 wrong on p0) gains more there than C+T+M loses
    assert clouds.choose_threshold(scores) == 0.3
    assert clouds.choose_threshold(scores[scores["model"] == "C+T+M"]) == 0.05
    with pytest.raises(ValueError, match="Invalid fallback threshold 1.2"):
        clouds.threshold_scores(preds, (0.5, 1.2))


def test_the_record_names_the_choice_or_why_it_is_hand_set() -> None:
    val = _hand_predictions(0) + _hand_predictions(1)
    record = clouds.threshold_record(val, grid=(0.05, 0.3, 0.7))
    assert record["chosen_on"] == clouds.VALIDATION and record["value"] == 0.3
    assert record["seeds"] == [0, 1] and record["models"] == [BASELINE_MODEL, "C+T+M"]
    assert record["covers"] == [0.0, 0.5]
    assert len(record["curve"]) == 3 * 2 * 2 and [r["threshold"] for r in record["pooled"]] == [0.05, 0.3, 0.7]
    json.dumps(record)  # it goes into the manifest
    old = clouds.threshold_record(val, without_validation=["b-s1", "x"])
    assert old["chosen_on"] == clouds.HAND_SET and old["value"] == clouds.FALLBACK_THRESHOLD == 0.3
    assert "2 run(s) have no validation split (b-s1, x)" in old["reason"]


def test_no_test_patch_enters_the_choice_and_old_evaluations_keep_the_hand_set_threshold() -> None:
    # test predictions on which the highest threshold would win, validation ones on which the lowest does
    good_s2 = [_pred("x", "C+T+M", ("s1", "s2"), c, {"s1": B, "s2": A}, [c] * 4) for c in (0.0, 0.5)]
    val = [p for p in _hand_predictions() if p.run == "x"]
    manifest = {"covers": [0.0, 0.5], "threshold": clouds.threshold_record(val, grid=(0.05, 0.3, 0.7))}
    ev = CloudEvaluation(manifest, good_s2, [], val)
    assert clouds.choose_threshold(clouds.threshold_scores(good_s2, (0.05, 0.3, 0.7))) == 0.7
    assert ev.threshold == 0.05 and ev.fallback_threshold() == 0.05 and ev.fallback_threshold(0.6) == 0.6
    assert set(ev.table()["cover"]) == {0.0, 0.5} and ev.table()["switch_share"].max() == 1.0  # 0.05 on the test
    with pytest.raises(ValueError, match="Invalid fallback threshold 2"):
        ev.fallback_threshold(2)
    assert len(ev.threshold_curve) == 3 and "chosen on the validation scenes" in clouds.threshold_phrase(ev)
    note = clouds.threshold_note(ev)
    assert "**The fallback threshold of this chapter, 5%, was chosen on the validation scenes**" in note
    assert "no test patch entered the choice" in note and "The hand-set threshold used before, 30%" in note
    assert "overrides the fallback threshold: it uses 60%" in clouds.threshold_note(ev, 0.6)
    assert "set by --threshold (the validation scenes chose 5%)" == clouds.threshold_phrase(ev, 0.6)
    old = CloudEvaluation({"covers": [0.0, 0.5]}, good_s2)  # written before the choice on validation
    assert old.threshold == clouds.FALLBACK_THRESHOLD and old.threshold_curve.empty
    assert "the hand-set 30%" in clouds.threshold_note(old) and "predates" in clouds.threshold_phrase(old)
    assert clouds.threshold_note(None) == ""


def _claims(verdict: str, estimate: float, low: float, high: float, n: int = 3) -> pd.DataFrame:
    return pd.DataFrame([
        {"metric": "switch_consistency", "cover": 1.0, "verdict": verdict, "estimate": estimate, "low": low,
         "high": high, "n": n, "margin": np.nan},
        {"metric": "weighted", "cover": 0.0, "verdict": verdict, "estimate": estimate, "low": low, "high": high,
         "n": n, "margin": 0.02},
    ])


@pytest.mark.parametrize(("verdict", "low", "high", "says"), [
    ("holds", 0.05, 0.15, "On these runs, one C+T+M switches sensor **more consistently**"),
    ("does not hold", -0.15, -0.05, "the claim is reversed: two Baselines switch sensor **more consistently**"),
    ("inconclusive", -0.05, 0.25, "The runs cannot tell whether"),
    ("one seed", np.nan, np.nan, "With one seed there is no interval"),
])
def test_the_verdict_sentence_is_no_stronger_than_the_interval(verdict: str, low: float, high: float,
                                                                says: str) -> None:
    text = clouds.verdict_text(_claims(verdict, 0.1, low, high, 1 if verdict == "one seed" else 3))
    assert says in text
    if verdict != "one seed":
        assert f"95% interval {low:+.3f} to {high:+.3f}, 3 seeds" in text
    if verdict in ("inconclusive", "one seed"):
        assert "On these runs" not in text and "whether one C+T+M switches" in text


# ----------------------------------------------------------------------------- a tiny trained study
@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A tiny synthetic root, a study of three tiny trained runs and a ``sensors`` study of two."""
    from xmodal.data import make_synthetic
    from xmodal.training import run_experiment

    base = tmp_path_factory.mktemp("cloudy")
    root = base / "data" / "tiny"
    make_synthetic(root, **TINY)
    runs = base / "runs"
    for study, points in (
        ("tiny", [("baseline", ["s1"]), ("baseline", ["s2"]), ("C+T+M", ["s1", "s2"])]),
        ("sensors", [("baseline", ["rgb"]), ("C+T+M", ["s1", "s2", "rgb"])]),
    ):
        for method, mods in points:
            name = f"{method}-{'+'.join(mods)}-nall-seed0"
            run_experiment({**TINY_RUN, "data_root": str(root), "method": method, "modalities": mods},
                           runs / study / name)
    # an alignment ablation beside C+T+M: another model, which the evaluation leaves out (not a second C+T+M)
    run_experiment({**TINY_RUN, "data_root": str(root), "method": "C+T+M", "modalities": ["s1", "s2"],
                    "alignment": "confusion"}, runs / "tiny" / "confusion-C+T+M-s1+s2-nall-seed0")
    for name in ("baseline-s1-nall-seed0", "baseline-s2-nall-seed0"):  # the sensors study's S1/S2 Baselines
        _link_tree(runs / "tiny" / name, runs / "sensors" / name)
    return {"root": root, "runs": runs, "study": runs / "tiny", "sensors": runs / "sensors"}


@pytest.fixture(scope="module")
def evaluated(tiny: dict[str, Path]) -> dict[str, Any]:
    manifest = clouds.evaluate_clouds(tiny["study"], tiny["root"], covers=[1.0, 0.5], progress=False)
    return {**tiny, "manifest": manifest}


@pytest.mark.slow
def test_evaluation_writes_variants_and_predictions_of_every_run(evaluated: dict[str, Any]) -> None:
    m, study = evaluated["manifest"], evaluated["study"]
    # 3 runs x 3 covers x 2 splits (test, validation)
    assert m["covers"] == [0.0, 0.5, 1.0] and m["predictions_made"] == 18 and m["variants_made"] == 3
    for name in ("c000", "c050", "c100"):
        assert (evaluated["root"].parent / "tiny-clouds" / name / "xmodal_synthetic.json").is_file()
    assert json.loads((study / "clouds" / "evaluation.json").read_text())["runs"].keys() == {
        "C+T+M-s1+s2-nall-seed0", "baseline-s1-nall-seed0", "baseline-s2-nall-seed0"}
    ev = clouds.load_evaluation(study)
    assert ev is not None and len(ev.predictions) == 9 and len(ev.validation) == 9 and not ev.stale
    from xmodal.rundir import RunDir

    own = RunDir(study / "C+T+M-s1+s2-nall-seed0").predictions()
    for p in ev.predictions:
        if p.run.startswith("C+T+M"):
            np.testing.assert_array_equal(p.ids, own.ids["s1"])  # the run's own test split
            np.testing.assert_allclose(p.prob["s1"], own.prob["s1"], atol=1e-5)  # S1 is untouched by clouds
            if p.cover == 0.0:
                np.testing.assert_allclose(p.prob["s2"], own.prob["s2"], atol=1e-5)  # clear S2 as trained
            if p.cover == 1.0:
                assert p.patch_cover.min() > 0.8
    table = ev.table()
    assert set(table["model"]) == {BASELINE_MODEL, "C+T+M"} and table["seed"].eq(0).all()
    # the validation patches: the run's own validation scenes, none of its test scenes
    val_ids = {str(i) for p in ev.validation for i in p.ids}
    assert len(val_ids) == RunDir(study / "C+T+M-s1+s2-nall-seed0").result().validation["n_val"]["s1"] == 9
    assert not val_ids & {str(i) for p in ev.predictions for i in p.ids}
    assert {p.split for p in ev.validation} == {"val"} and {p.split for p in ev.predictions} == {"test"}
    choice = ev.threshold_choice
    assert choice["chosen_on"] == clouds.VALIDATION and choice["covers"] == [0.0, 0.5, 1.0] and choice["seeds"] == [0]
    assert ev.threshold == clouds.choose_threshold(clouds.threshold_scores(ev.validation))
    assert m["threshold"]["scenes"] == [1] and "chosen on the validation scenes" in clouds.threshold_note(ev)
    assert "synthetic SEN12MS-like data (study 'tiny'" in ev.source and "1 seed (0)" in ev.source


@pytest.mark.slow
def test_a_second_call_evaluates_nothing(evaluated: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    import xmodal.data
    import xmodal.training

    def fail(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("nothing should be evaluated or rendered again")

    monkeypatch.setattr(xmodal.training, "evaluate", fail)
    monkeypatch.setattr(xmodal.training, "load_model", fail)
    monkeypatch.setattr(xmodal.data, "make_cloud_variant", fail)
    seen: list[Any] = []
    record = clouds.evaluation.threshold_record

    def spy(predictions: Any, **kwargs: Any) -> dict[str, Any]:
        seen.extend(predictions)
        return record(seen, **kwargs)

    monkeypatch.setattr(clouds.evaluation, "threshold_record", spy)  # what the choice is made on
    again = clouds.evaluate_clouds(evaluated["study"], evaluated["root"], covers=[0.5, 1.0], progress=False)
    assert again["predictions_made"] == 0 and again["predictions_reused"] == 18 and again["variants_made"] == 0
    assert len(seen) == 9 and {p.split for p in seen} == {"val"}
    ev = clouds.load_evaluation(evaluated["study"])
    assert ev is not None
    test_ids = {str(i) for p in ev.predictions for i in p.ids}
    assert test_ids and not test_ids & {str(i) for p in seen for i in p.ids}, "no test patch enters the choice"


@pytest.mark.slow
def test_a_retrained_run_is_stale_and_evaluated_again(evaluated: dict[str, Any], tmp_path: Path) -> None:
    study = tmp_path / "tiny"
    _link_tree(evaluated["study"], study)
    result = study / "baseline-s1-nall-seed0" / "result.json"
    obj = json.loads(result.read_text())
    obj["timings"]["total_seconds"] += 1.0  # as a new training would rewrite it
    result.unlink()  # a hard link to the original run's file
    result.write_text(json.dumps(obj))
    ev = clouds.load_evaluation(study)
    assert ev is not None and ev.stale == ["baseline-s1-nall-seed0"] and len(ev.predictions) == 6
    assert "changed since their cloud evaluation" in clouds.evaluation_note(ev, "tiny", None)
    again = clouds.evaluate_clouds(study, evaluated["root"], covers=[0.5, 1.0], progress=False)
    assert again["predictions_made"] == 6 and again["predictions_reused"] == 12


@pytest.mark.slow
def test_the_runs_are_the_figure_2_runs_every_page_selects(evaluated: dict[str, Any], tmp_path: Path) -> None:
    """One selection: the evaluation's runs are final_runs' (a run on disjoint scenes is another method)."""
    from xmodal.report.selection import final_runs
    from xmodal.results import load_results

    study = tmp_path / "tiny"
    _link_tree(evaluated["study"], study, ignore=shutil.ignore_patterns("clouds"))
    copy = study / "disjoint-C+T+M-s1+s2-nall-seed0"
    _link_tree(study / "C+T+M-s1+s2-nall-seed0", copy)
    result = copy / "result.json"
    obj = json.loads(result.read_text())
    obj["config"]["pairing"] = "disjoint"  # the same method on disjoint scenes: not a Figure 2 run of C+T+M
    obj["config_hash"] = "0123456789ab"
    result.unlink()  # a hard link to the original run's file
    result.write_text(json.dumps(obj))
    picked = [run.name for run, _ in clouds.select_runs(study)]
    table = final_runs(load_results(study))
    assert picked == sorted({Path(p).name for p in table.loc[table["method"].isin(clouds.DEFAULT_METHODS), "run_dir"]})
    assert picked == ["C+T+M-s1+s2-nall-seed0", "baseline-s1-nall-seed0", "baseline-s2-nall-seed0"]


def test_notes_take_times_from_the_records_and_name_folders_relative_to_the_project(tmp_path: Path) -> None:
    manifest = {"study": "tiny", "season": "winter", "data_kind": ["synthetic"], "covers": [0.0, 0.5], "runs": {},
                "predictions_made": 9, "predictions_reused": 0, "seconds": {"total": 123.4}}
    ev = CloudEvaluation(manifest, _hand_predictions())
    assert ev.seconds == 123.4 and "123 s" in clouds.evaluation_note(ev, "tiny", "data/tiny")
    again = clouds.evaluation_note(CloudEvaluation({**manifest, "seconds": {"total": 98.0}}, []), "tiny", "data/tiny")
    assert "98 s" in again and "123" not in again  # the record's time, no other
    assert "minute" not in clouds.evaluation_note(None, "tiny", None)  # no time written into the library
    note = clouds.sensors_note("sensors", "runs/sensors", runs=["r0", "r1"], seeds=[0, 1],
                               evaluations=[("default", ev), ("sensors", None)])
    assert "123 s" in note and "--study sensors" in note and "--study default" not in note
    # the profile not run here: its folder as the page names it, never the builder's absolute path
    runs = tmp_path / "builder" / "runs"
    runs.mkdir(parents=True)
    (runs / "sensors").mkdir()
    assert str(tmp_path) not in clouds.sensors_section(runs).note
    assert "`runs/sensors`" in clouds.sensors_section(runs, shown_as="runs").note


@pytest.mark.slow
def test_a_study_without_the_needed_runs_is_named(evaluated: dict[str, Any], tmp_path: Path) -> None:
    with pytest.raises(CloudEvalError, match="No study folder .*nowhere"):
        clouds.evaluate_clouds(tmp_path / "nowhere", evaluated["root"])
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(CloudEvalError, match=r"has no runs for the cloud evaluation.*found no finished run"):
        clouds.evaluate_clouds(empty, evaluated["root"])
    half = tmp_path / "half"
    _link_tree(evaluated["study"] / "baseline-s1-nall-seed0", half / "baseline-s1-nall-seed0")
    with pytest.raises(CloudEvalError, match=r"has no runs for the cloud evaluation.*baseline s1"):
        clouds.select_runs(half)
    with pytest.raises(CloudEvalError, match=r"no finished Figure 2 run of the Baseline on \['s2'\]"):
        clouds.select_runs(half, ["baseline"])
    with pytest.raises(CloudEvalError, match="no finished Figure 2 run of method 'C'"):
        clouds.select_runs(evaluated["study"], ["baseline", "C"])
    with pytest.raises(ValueError, match="Unknown method 'D'"):
        clouds.select_runs(evaluated["study"], ["D"])
    with pytest.raises(ValueError, match="Invalid cloud cover 2"):
        clouds.evaluate_clouds(evaluated["study"], evaluated["root"], covers=[0.5, 2])
    with pytest.raises(CloudEvalError, match="No cloud evaluation in .*empty.*xmodal clouds --study empty"):
        clouds.load_evaluation(empty)
    assert clouds.load_evaluation(empty, missing_ok=True) is None


@pytest.mark.slow
def test_data_that_is_not_synthetic_or_a_foreign_folder_is_refused(evaluated: dict[str, Any], tmp_path: Path) -> None:
    with pytest.raises(CloudEvalError, match="is not a complete synthetic root of season 'winter'"):
        clouds.make_variants(tmp_path, [0.5])
    root = tmp_path / "data"
    _link_tree(evaluated["root"], root, ignore=shutil.ignore_patterns(".xmodal_cache"))
    foreign = clouds.variant_root(root, 0.5)
    foreign.mkdir(parents=True)
    (foreign / "notes.txt").write_text("mine")
    with pytest.raises(CloudEvalError, match=r"holds other data than a cloud variant \(\['notes.txt'\]\)"):
        clouds.make_variants(root, [0.5], progress=False)
    assert (foreign / "notes.txt").is_file()


@pytest.mark.slow
def test_a_test_split_from_other_data_is_refused(evaluated: dict[str, Any], tmp_path: Path) -> None:
    from xmodal.data import make_synthetic

    other = tmp_path / "other"
    make_synthetic(other, **{**TINY, "patches_per_side": 2})  # another geometry: other test patches
    study = tmp_path / "tiny"
    _link_tree(evaluated["study"], study, ignore=shutil.ignore_patterns("clouds"))
    with pytest.raises(CloudEvalError, match="is not the one the run was tested on"):
        clouds.evaluate_clouds(study, other, covers=[0.5], progress=False)


def test_a_run_z_scored_on_its_training_split_keeps_its_statistics() -> None:
    import torch

    class Fake:
        ids = ["a", "b"]
        stats = {"mean": [10.0, 0.0], "std": [2.0, 1.0]}
        raw = torch.tensor([[[[14.0]], [[3.0]]], [[[10.0]], [[-1.0]]]])

        def __len__(self) -> int:
            return 2

        def __getitems__(self, idx: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
            m = torch.tensor(self.stats["mean"])[:, None, None]
            s = torch.tensor(self.stats["std"])[:, None, None]
            return (self.raw[idx] - m) / s, torch.zeros(len(idx), 3)

        def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
            x, y = self.__getitems__([i])
            return x[0], y[0]

    from xmodal.clouds.evaluation import _TrainingScale

    ds = _TrainingScale(Fake(), mean=[12.0, 1.0], std=[4.0, 2.0])
    x, _ = ds.__getitems__([0, 1])
    expected = (Fake.raw - torch.tensor([12.0, 1.0])[:, None, None]) / torch.tensor([4.0, 2.0])[:, None, None]
    torch.testing.assert_close(x, expected)
    torch.testing.assert_close(ds[1][0], expected[1])


@pytest.mark.slow
def test_cli_clouds(evaluated: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    from xmodal.cli import main

    args = ["clouds", "--study", "tiny", "--data", str(evaluated["root"]), "--runs", str(evaluated["runs"]),
            "--covers", "0.5", "1", "--quiet"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "Weighted F1" in out and "fallback" in out and "0 prediction file(s) made, 18 reused" in out
    assert "(chosen on the validation scenes)" in out
    assert main([*args, "--threshold", "0.6"]) == 0
    assert "from cover 0.6 (set by --threshold (the validation scenes chose" in capsys.readouterr().out
    assert main([*args[:-4], "--covers", "1.5"]) == 2
    assert "Invalid cloud cover 1.5" in capsys.readouterr().err
    assert main([*args, "--threshold", "2"]) == 2
    assert "Invalid fallback threshold 2.0" in capsys.readouterr().err


@pytest.mark.slow
def test_sensors_section_reads_the_three_sensor_profile(evaluated: dict[str, Any]) -> None:
    clouds.evaluate_clouds(evaluated["sensors"], evaluated["root"], covers=[0.5, 1.0], progress=False)
    section = clouds.sensors_section(evaluated["runs"], clear_study="tiny")
    assert section.scores is not None and section.homogeneity is not None
    assert set(section.scores["model"]) == {BASELINE_MODEL, "C+T+M (s1+s2+rgb)"}
    hom = section.homogeneity.set_index(["model", "pair"])["homogeneity"]
    assert {"s1|s2", "s1|rgb", "s2|rgb"} <= {p for _, p in hom.index}
    assert section.clear is not None and section.cloudy is not None and "Data of this section" in section.note
    diff = plots.clouds.sensors_differences(section.scores, section.homogeneity)
    assert len(diff) == 6 and "homogeneity S1 – RGB" in set(diff["score"])
    assert "has not been run here" in clouds.sensors_section(evaluated["study"]).note


def test_the_sensors_profile_expands_and_its_data_block_is_valid() -> None:
    from xmodal.data.synthetic import SyntheticParams
    from xmodal.sweep import grid, load_study

    spec = load_study(clouds.SENSORS_STUDY)
    names = [p.name for p in grid(spec, data_root="/tmp/somewhere")]
    assert len(names) == 15 and "C+T+M-s1+s2+rgb-nall-seed2" in names and "baseline-rgb-nall-seed0" in names
    synth = spec["data"]["synthetic"]
    assert SyntheticParams.from_dict(synth["params"]).thick_clouds == "drawn"
    default = load_study("default")["data"]["synthetic"]
    assert {k: v for k, v in synth.items() if k != "params"} == {k: v for k, v in default.items() if k != "params"}
    assert synth["params"] == {**default["params"], "thick_cloud_prob": 0.3}  # the default world, with clouds


# ----------------------------------------------------------------------------- figures and the chapter
def test_figures_and_tables_from_a_hand_made_table() -> None:
    import matplotlib.pyplot as plt

    table = _three_seeds()
    for fig in (plots.clouds.f1_against_cover(table, "C+T+M", threshold=0.3, source="hand-made"),
                plots.clouds.consistency_figure(table, "C+T+M", source="hand-made"),
                plots.clouds.tradeoff_figure(table, "C+T+M"),
                plots.clouds.training_clouds_figure(table, table)):
        assert fig.axes and fig.texts  # the caption says where the data came from and how many seeds
        assert any("mean over 3 seeds" in t.get_text() for t in fig.texts)
        plt.close(fig)
    summary = plots.clouds.summary_table(table, "C+T+M")
    assert list(summary.iloc[:, 0]) == ["S2 Baseline", "C+T+M fed S2", "S1 Baseline", "C+T+M fed S1",
                                        "Fallback, two Baselines", "Fallback, one C+T+M"]
    assert "[" in summary.loc[0, "cover 0%"]  # mean [interval] with three seeds
    thr = plots.clouds.threshold_summary(clouds.threshold_table(_hand_predictions(), (0.5, 0.1, 0.5)))
    assert list(thr["threshold"]) == [0.1, 0.1, 0.5, 0.5]
    curve = pd.DataFrame(clouds.threshold_record(_hand_predictions(0) + _hand_predictions(1))["curve"])
    fig = plots.clouds.threshold_curve_figure(curve, 0.05, source="hand-made")
    assert any("mean over 2 seeds" in t.get_text() for t in fig.texts)
    assert {"chosen: 5%", "hand-set: 30%"} <= {t.get_text() for t in fig.axes[0].get_legend().get_texts()}
    plt.close(fig)
    claims = plots.clouds.claims_table(clouds.fallback_claims(table))
    assert list(claims.columns)[-1] == "verdict" and len(claims) == 4


@pytest.mark.slow
def test_the_chapter_runs_against_a_tiny_study(evaluated: dict[str, Any], tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    import nbformat
    import papermill as pm

    clouds.evaluate_clouds(evaluated["sensors"], evaluated["root"], covers=[0.5, 1.0], progress=False)
    monkeypatch.setenv("XMODAL_RUNS", str(evaluated["runs"]))
    monkeypatch.setenv("XMODAL_STUDY", "tiny")
    monkeypatch.setenv("XMODAL_DATA", str(evaluated["root"]))
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")  # as the book build draws
    out = tmp_path / "clouds.ipynb"
    pm.execute_notebook(str(BOOK), str(out), kernel_name="python3", progress_bar=False, cwd=str(BOOK.parent))
    nb = nbformat.read(out, as_version=4)
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    text = json.dumps(outputs)
    assert len(images) >= 4, "the accuracy, threshold, consistency and trade-off figures"
    assert "study &#x27;tiny&#x27;" in text or "study 'tiny'" in text
    assert "was chosen on the validation scenes" in text and "no test patch entered the choice" in text
    assert "Fallback, one C+T+M" in text and "no interval" in text
    src = nbformat.read(BOOK, as_version=4)
    assert all(not c.get("outputs") for c in src.cells if c.cell_type == "code"), "committed without outputs"
