"""Equal tuning (xmodal.tuning): the search as data, the same budget per model, resume, the final runs."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from xmodal.config import ConfigError
from xmodal.sweep import grid, load_study
from xmodal.tuning import TuningError, final_spec, method_space, models_of, read_settings, tuning_dir, tuning_spec

SPACE = {"shared": {"lr": {"low": 1e-4, "high": 1e-2, "log": True}},
         "T": {"alpha": {"low": 0.1, "high": 10.0, "log": True}},
         "M": {"grl_weight": {"choices": [0.1, 1.0]}}}


def _spec(**tuning: Any) -> dict[str, Any]:
    return {"name": "t", "source": "t.yaml", "tuning": {"trials": 2, "space": SPACE, **tuning}}


@pytest.mark.parametrize(("tuning", "match"), [
    ({"trials": 0}, "'trials' must be an integer >= 1"),
    ({"budget": 3}, r"unknown key\(s\) \['budget'\]"),
    ({"space": {"shared": {"learning_rate": {"low": 1, "high": 2}}}}, "learning_rate' is not a config key"),
    ({"space": {"shared": {"lr": {"low": 0.0, "high": 1e-2, "log": True}}}}, "log scale: low must be > 0"),
    ({"space": {"shared": {"lr": {"low": 1e-2, "high": 1e-3}}}}, "low < high"),
    ({"space": {"shared": {"lr": {"low": 1e-3}}}}, "lacks 'high'"),
    ({"space": {"shared": {"lr": {"low": 1e-4, "high": 1e-2}}, "T": {"lr": {"low": 1e-4, "high": 1e-2}}}},
     r"searches \['lr'\] in two groups"),
    ({"space": {"X": {}}}, r"must map some of"),
    ({"pruner": {"patience": 2}}, "'tuning.pruner' takes"),
])
def test_a_bad_tuning_block_names_the_key(tuning: dict[str, Any], match: str) -> None:
    with pytest.raises(TuningError, match=match):
        tuning_spec(_spec(**tuning))
    with pytest.raises(TuningError, match="no 'tuning' block"):
        tuning_spec({"name": "default"})


def test_methods_that_share_a_loss_search_its_weight_over_the_same_range() -> None:
    spec = tuning_spec(_spec())
    names = {m: [p.name for p in method_space(spec, m)] for m in ("baseline", "C", "C+M", "C+T", "C+T+M")}
    assert names == {"baseline": ["lr"], "C": ["lr"], "C+M": ["lr", "grl_weight"], "C+T": ["lr", "alpha"],
                     "C+T+M": ["lr", "alpha", "grl_weight"]}
    assert method_space(spec, "C+T")[1] == method_space(spec, "C+T+M")[1]  # the same Param, the same range
    assert method_space(spec, "C+M")[0].describe() == "0.0001 to 0.01 (log scale)"
    assert method_space(spec, "C+M")[1].describe() == "one of 0.1, 1.0"
    with pytest.raises(ConfigError, match="'method'"):
        method_space(spec, "C+X")


def test_the_tuned_profile_tunes_every_figure2_model_equally_on_the_default_split() -> None:
    spec = load_study("tuned")
    default = load_study("default")
    tuning = tuning_spec(spec)
    assert spec["data"] == default["data"]
    changed = ("epochs", "patience")  # the cap and the stopping rule: everything else is the default's
    assert {k: v for k, v in spec["base"].items() if k not in changed} == {
        k: v for k, v in default["base"].items() if k not in changed}
    assert spec["base"]["val_fraction"] > 0 and spec["base"]["patience"] >= 1
    models = models_of(grid(spec, fingerprints=False))
    assert [m.key for m in models] == ["baseline-s1-nall", "baseline-s2-nall", "C-s1+s2-nall", "C+M-s1+s2-nall",
                                       "C+T-s1+s2-nall", "C+T+M-s1+s2-nall"]
    assert tuning.seed not in spec["seeds"]  # the trials' seed is not one the verdicts are computed on
    shared = {p.name for p in tuning.space["shared"]}
    for m in models:  # every model searches the shared parameters, over the same ranges
        assert {p.name for p in method_space(tuning, m.method)} >= shared
    settings = {m.key: {"params": {"lr": 0.002 + i / 1000}} for i, m in enumerate(models)}
    final = final_spec(spec, settings, models)
    points = grid(final, fingerprints=False)
    assert "tuning" not in final and len(points) == 60
    lr = {p.name.rsplit("-seed", 1)[0]: p.config.lr for p in points}
    assert lr == {m.key: settings[m.key]["params"]["lr"] for m in models}  # each Baseline its own setting


def _tiny_tuning(root: Path) -> dict[str, Any]:
    return {
        "name": "tinytune", "executor": "process", "notebooks": "none", "data": {"root": str(root)},
        "base": {"test_fraction": 0.25, "val_fraction": 0.3, "split_seed": 0, "backbone_width": 16,
                 "latent_dim": 16, "merge_hidden": [16, 16], "classifier_hidden": 8, "modality_hidden": 8,
                 "epochs": 3, "steps_per_epoch": 2, "batch_size": 8, "n_latent": 10, "device": "cpu", "threads": 1,
                 "patience": 1},
        "seeds": [0], "runs": [{"method": "baseline", "modalities": [["s2"]]}, {"method": "C+T"}],
        "tuning": {"trials": 2, "startup_trials": 1, "pruner": {"startup_trials": 1, "warmup_epochs": 1},
                   "space": {"shared": {"lr": {"low": 1e-4, "high": 1e-2, "log": True}},
                             "T": {"alpha": {"low": 0.1, "high": 10.0, "log": True}}}},
    }


@pytest.mark.slow
def test_tuning_spends_the_same_budget_per_model_reads_no_test_patch_and_resumes(
    synthetic_root: Path, tmp_path: Path
) -> None:
    from xmodal.tuning import tune

    spec = _tiny_tuning(synthetic_root)
    runs = tmp_path / "runs"
    assert tune(spec, runs_dir=runs, trials_only=True, progress=False) == 0
    folder = tuning_dir(runs, "tinytune")
    settings = read_settings(folder)
    assert settings is not None and set(settings) == {"baseline-s2-nall", "C+T-s1+s2-nall"}
    for s in settings.values():
        assert sum(s["counts"].values()) == 2 and s["best_step"] is not None
    assert set(settings["C+T-s1+s2-nall"]["params"]) == {"lr", "alpha"}
    trials = sorted((folder / "trials").iterdir())
    assert len(trials) == 4
    for t in trials:  # each trial is a run folder scored on validation only
        result = json.loads((t / "result.json").read_text())
        assert result["metrics"] == {} and result["validation"]["curve"] and not (t / "predictions.npz").exists()
    # a tuner killed with a trial running: the trial is failed and its parameters tried again, from its folder
    db = folder / "tuning.sqlite3"
    with sqlite3.connect(db) as con:
        con.execute("UPDATE trials SET state = 'RUNNING', datetime_complete = NULL WHERE number = 1 AND "
                    "study_id = (SELECT study_id FROM studies WHERE study_name = 'tinytune/baseline-s2-nall')")
    before = sorted(p.name for p in (folder / "trials").iterdir())
    assert tune(spec, runs_dir=runs, trials_only=True, progress=False) == 0
    assert sorted(p.name for p in (folder / "trials").iterdir()) == before  # the same run folder was reused
    again = read_settings(folder)
    assert again is not None and again["baseline-s2-nall"]["counts"] == settings["baseline-s2-nall"]["counts"]
    # the final runs: the profile's seeds at the tuned settings
    assert tune(spec, runs_dir=runs, progress=False) == 0
    finals = [json.loads(p.read_text()) for p in (runs / "tinytune").glob("*/result.json")]
    assert len(finals) == 2
    for r in finals:
        key = "baseline-s2-nall" if r["config"]["method"] == "baseline" else "C+T-s1+s2-nall"
        assert {k: r["config"][k] for k in again[key]["params"]} == again[key]["params"]
        assert r["metrics"] and r["validation"]["weights"] == "best"
    # the archive of the profile: every table the pages need, the trials, the F1 of every run
    from xmodal.archive import load_archive, write_archive
    from xmodal.metrics import f1_scores

    write_archive("tinytune", runs, out=tmp_path / "archives", commit="0" * 40, date="2026-12-03")
    archive = load_archive("tinytune", tmp_path / "archives")
    assert archive.tuning is not None and archive.tuning["settings"] == again
    assert sorted(t["model"] for t in archive.tuning["trials"]) == ["C+T-s1+s2-nall"] * 2 + ["baseline-s2-nall"] * 2
    assert len(archive.runs) == 2 and archive.times["tuning"]["final_seconds"] > 0
    for row in archive.results.itertuples():
        pred = archive.predictions[row.run_dir]
        assert f1_scores(pred.target[row.modality], pred.prob[row.modality])["weighted"] == pytest.approx(row.weighted)
