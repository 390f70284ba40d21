"""The world knobs, the calibration's search and the regime map's runs and statistics."""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from xmodal.config import ConfigError, ExperimentConfig
from xmodal.data.knobs import KNOBS, KnobError, knob, knob_table
from xmodal.data.synthetic import NEUTRAL_KNOBS, SyntheticParams, s1_class_means
from xmodal.sweep import load_study
from xmodal.worlds import (
    WorldError,
    calibration_spec,
    cell_axes,
    chosen_values,
    propose,
    regime_cells,
    regime_spec,
    world_specs,
)

TINY = dict(n_scenes=3, patches_per_side=2, patch_size=32, seed=0, progress=False)


# ----------------------------------------------------------------------------- the knobs
def test_every_knob_has_a_meaning_a_range_and_a_place() -> None:
    fields = set(SyntheticParams().to_dict())
    names = {k.name for k in KNOBS}
    assert {"s1_looks", "s1_contrast", "s1_blind", "s2_noise", "label_noise", "n_train_s1"} <= names
    for k in KNOBS:
        assert len(k.meaning) > 60 and k.low < k.high and k.easier in (-1, 1)
        if k.kind == "generator":
            assert k.param in fields and getattr(SyntheticParams(), k.param) == k.neutral
        else:
            assert k.param in ExperimentConfig.field_names()
    assert [r["knob"] for r in knob_table()] == [k.name for k in KNOBS]
    with pytest.raises(KnobError, match="Unknown knob 'speckle'"):
        knob("speckle")
    with pytest.raises(KnobError, match=r"outside its range \[0, 3\]"):
        knob("s1_contrast").check(4.0)
    with pytest.raises(KnobError, match="whole number"):
        knob("n_train_s1").check(2.5)
    assert knob("n_train_s1").check(None) is None


def test_the_generator_documents_every_knob_with_its_range() -> None:
    rows = {r["name"]: r for r in SyntheticParams().table()}
    for name in ("s1_contrast", "s1_blind", "s2_noise"):
        assert "World knob" in rows[name]["description"] and "Range" in rows[name]["description"]


def test_the_s1_knobs_move_the_class_means_as_documented() -> None:
    p = SyntheticParams()
    table = np.array([p.s1_sigma0_db[c] for c in p.s1_sigma0_db])
    assert np.array_equal(s1_class_means(p), table)
    twice = s1_class_means(p.replace(s1_contrast=2.0))
    assert np.allclose(twice - twice.mean(axis=0), 2 * (table - table.mean(axis=0)))
    assert np.allclose(s1_class_means(p.replace(s1_contrast=0.0)), table.mean(axis=0))
    blind = s1_class_means(p.replace(s1_blind=1.0))
    names = list(p.s1_sigma0_db)
    idx = [names.index(c) for c in p.s1_blind_classes]
    assert np.allclose(blind[idx], blind[idx].mean(axis=0)) and np.allclose(np.delete(blind, idx, 0),
                                                                             np.delete(table, idx, 0))
    with pytest.raises(ValueError, match="s1_blind must be in"):
        p.replace(s1_blind=1.5)
    with pytest.raises(ValueError, match="s1_blind_classes must list distinct classes"):
        p.replace(s1_blind_classes=["Forest", "Tundra"])
    with pytest.raises(ValueError, match="s2_noise must be >= 0"):
        p.replace(s2_noise=-1.0)


def _digests(root: Path) -> dict[str, str]:
    out = {}
    for sensor in ("s1", "s2", "lc"):
        h = hashlib.sha256()
        for f in sorted(root.rglob(f"*_{sensor}_*.tif")):
            h.update(f.read_bytes())
        out[sensor] = h.hexdigest()
    return out


@pytest.mark.slow
def test_each_sensor_knob_changes_its_own_files_only(tmp_path: Path) -> None:
    """What the calibration and the regime map rely on: a knob of one sensor leaves the other's files,
    and the land cover (so the labels and the class shares) byte for byte as they were."""
    from xmodal.data import make_synthetic

    made = {}
    for name, params in {"plain": {}, "neutral": dict(NEUTRAL_KNOBS), "s1": {"s1_contrast": 1.8, "s1_blind": 0.5},
                         "s2": {"s2_noise": 0.4}, "labels": {"label_noise": 0.2}}.items():
        summary = make_synthetic(tmp_path / name, params=params, **TINY)
        made[name] = (_digests(tmp_path / name), summary["fingerprint"])
    plain, fp = made["plain"]
    assert made["neutral"] == (plain, fp)  # neutral knobs: the same files and fingerprint as before them
    s1, fp1 = made["s1"]
    assert s1["s1"] != plain["s1"] and s1["s2"] == plain["s2"] and s1["lc"] == plain["lc"] and fp1 != fp
    s2, fp2 = made["s2"]
    assert s2["s2"] != plain["s2"] and s2["s1"] == plain["s1"] and s2["lc"] == plain["lc"] and fp2 != fp
    assert made["labels"][0]["lc"] != plain["lc"]


# ----------------------------------------------------------------------------- unequal training sets
def test_modality_n_train_is_checked_and_left_out_of_the_hash_when_empty() -> None:
    plain = ExperimentConfig()
    assert ExperimentConfig(modality_n_train={}).hash() == plain.hash()
    few = ExperimentConfig(modality_n_train={"s1": 72})
    assert few.hash() != plain.hash()
    from xmodal.training.run import train_size

    assert train_size(few, "s1") == 72 and train_size(few, "s2") is None
    assert train_size(few.replace(n_train=500), "s2") == 500
    with pytest.raises(ConfigError, match=r"modalities \['s2'\] are not trained by this run"):
        ExperimentConfig(method="baseline", modalities=["s1"], modality_n_train={"s2": 10})
    with pytest.raises(ConfigError, match="modality_n_train\\['s1'\\]"):
        ExperimentConfig(modality_n_train={"s1": 0})
    with pytest.raises(ConfigError, match="expected a mapping of str to int"):
        ExperimentConfig(modality_n_train={"s1": "many"})


@pytest.mark.slow
def test_few_s1_patches_beside_all_of_s2s(synthetic_root: Path) -> None:
    from xmodal.training import read_split

    cfg = ExperimentConfig(data_root=str(synthetic_root), test_fraction=0.25, modality_n_train={"s1": 5},
                           progress=False)
    s1, s2 = read_split(cfg, "s1", "train"), read_split(cfg, "s2", "train")
    assert len(s1) == 5 and len(s2) > 5
    assert set(s1.ids) <= set(s2.ids)  # nested: the few are a subset of the many


# ----------------------------------------------------------------------------- calibration
def _cal(**over: Any) -> Any:
    spec = load_study("calibrated")
    block = {**spec["calibration"], **over}
    return calibration_spec({**spec, "calibration": block})


def test_the_search_scores_the_start_values_then_brackets_the_target() -> None:
    s1 = _cal().knobs["s1"]  # s1_contrast, higher is easier; start 1.0, 1.6; range 0.5-3
    assert propose([], 0.63, s1) == 1.0
    assert propose([(1.0, 0.54)], 0.63, s1) == 1.6
    # a bracket: linear interpolation between the closest values on either side
    assert propose([(1.0, 0.54), (1.6, 0.60), (2.0, 0.70)], 0.63, s1) == pytest.approx(1.72)
    # no bracket: the secant of the two closest, along the knob's direction
    assert propose([(1.0, 0.54), (1.6, 0.60)], 0.63, s1) == pytest.approx(1.9, abs=1e-3)
    # a secant of the wrong sign (noise): a quarter of the range in the knob's direction
    assert propose([(1.0, 0.60), (1.6, 0.59)], 0.63, s1) == pytest.approx(1.0 + 0.25 * 2.5)
    # clipped to the range, and None once the value it arrives at was scored
    assert propose([(1.0, 0.10), (1.6, 0.11)], 0.63, s1) == 3.0
    assert propose([(1.0, 0.54), (1.6, 0.60), (1.7, 0.62), (1.74, 0.64)], 0.63, s1) == pytest.approx(1.72)
    assert propose([(1.0, 0.54), (1.6, 0.6), (1.72, 0.62), (1.73, 0.61), (1.74, 0.64)], 0.63, s1) is None
    s2 = _cal().knobs["s2"]  # s2_noise, higher is harder
    assert propose([(1.0, 0.74), (0.5, 0.76)], 0.77, s2) == pytest.approx(0.25, abs=1e-3)


def test_the_chosen_value_is_the_scored_one_closest_to_the_target() -> None:
    record = {"spec": _cal().to_dict(), "rounds": [
        {"round": 0, "values": {"s1_contrast": 1.0, "s2_noise": 1.0}, "scores": {"s1": {"mean": 0.54},
                                                                                 "s2": {"mean": 0.74}}},
        {"round": 1, "values": {"s1_contrast": 1.8, "s2_noise": 0.5}, "scores": {"s1": {"mean": 0.64},
                                                                                 "s2": {"mean": 0.765}}},
        {"round": 2, "values": {"s1_contrast": 1.7, "s2_noise": 0.5}, "scores": {"s1": {"mean": 0.615}}},
    ]}
    assert chosen_values(record) == {"s1_contrast": 1.8, "s2_noise": 0.5}


def test_a_bad_calibration_block_names_the_key() -> None:
    with pytest.raises(WorldError, match="other than the study's own data seed 0"):
        _cal(data_seed=0)
    with pytest.raises(WorldError, match="does not set the data of s1 alone"):
        _cal(knobs={"s1": {"knob": "s2_noise"}, "s2": {"knob": "s2_noise"}})
    with pytest.raises(WorldError, match="'knobs' must name one knob for each sensor"):
        _cal(knobs={"s1": {"knob": "s1_contrast"}})
    with pytest.raises(WorldError, match="outside its range"):
        _cal(knobs={"s1": {"knob": "s1_contrast", "start": [5.0]}, "s2": {"knob": "s2_noise"}})
    with pytest.raises(WorldError, match="has no 'calibration' block"):
        calibration_spec(load_study("default"))


def test_the_profile_holds_the_values_its_search_chose() -> None:
    """The calibrated profile's world is what the search chose; the archive records that search."""
    from xmodal.archive import load_archive

    archive = load_archive("calibrated")
    params = load_study("calibrated")["data"]["synthetic"]["params"]
    assert archive.calibration is not None
    assert chosen_values(archive.calibration) == {k: params[k] for k in archive.calibration["chosen"]}
    assert archive.meta["spec"]["data"]["synthetic"]["params"] == params


@pytest.mark.slow
def test_a_calibration_searches_resumes_and_refuses_a_profile_without_its_choice(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from xmodal.worlds import calibrate, read_search

    spec = load_study("quick")
    spec = {**spec, "name": "tinycal", "source": None, "runs": [{"method": "baseline", "modalities": [["s1"], ["s2"]]}],
            "seeds": [0], "data": {"synthetic": {**spec["data"]["synthetic"], "params": {"s1_contrast": 1.5,
                                                                                        "s2_noise": 0.7}}},
            "base": {**spec["base"], "epochs": 1, "steps_per_epoch": 2, "batch_size": 8},
            "calibration": {"targets": {"s1": 0.99, "s2": 0.99}, "tolerance": 0.02, "seeds": [0], "rounds": 2,
                            "knobs": {"s1": {"knob": "s1_contrast", "low": 0.5, "high": 3.0, "start": [1.0, 2.0]},
                                      "s2": {"knob": "s2_noise", "low": 0.0, "high": 1.5, "start": [1.0, 0.5]}}}}
    code = calibrate(spec, runs_dir=tmp_path / "runs", data_dir=tmp_path / "data", progress=False)
    record = read_search(tmp_path / "runs" / "tinycal-calibration")
    assert [r["values"] for r in record["rounds"]] == [{"s1_contrast": 1.0, "s2_noise": 1.0},
                                                      {"s1_contrast": 2.0, "s2_noise": 0.5}]
    assert record["stopped"].startswith("the round limit") and not record["converged"]
    for r in record["rounds"]:  # the calibration scenes are another draw of the world
        marker = json.loads((Path(r["root"]) / "xmodal_synthetic.json").read_text())
        assert marker["seed"] == 1 and marker["params"]["s1_contrast"] == r["values"]["s1_contrast"]
        assert len(r["scores"]["s1"]["weighted"]) == 1 and 0 <= r["scores"]["s1"]["mean"] <= 1
    # the profile holds values the search did not score, so it does not hold its choice: nothing more runs
    assert code == 3 and "write these values" in capsys.readouterr().out
    assert not (tmp_path / "runs" / "tinycal").exists()
    # resuming adds nothing (the rounds are spent) and keeps every round as it was
    before = json.loads((tmp_path / "runs" / "tinycal-calibration" / "search.json").read_text())["rounds"]
    calibrate(spec, runs_dir=tmp_path / "runs", data_dir=tmp_path / "data", progress=False)
    assert read_search(tmp_path / "runs" / "tinycal-calibration")["rounds"] == before
    other = {**spec, "calibration": {**spec["calibration"], "seeds": [0, 1]}}
    with pytest.raises(WorldError, match="another calibration block"):
        calibrate(other, runs_dir=tmp_path / "runs", data_dir=tmp_path / "data", progress=False)


# ----------------------------------------------------------------------------- the regime map
def test_the_regime_block_is_checked() -> None:
    spec = load_study("regime")
    regime = regime_spec(spec)
    assert [k.name for k, _ in regime.axes] == cell_axes(spec) == ["s1_contrast", "n_train_s1"]
    assert all(len(levels) >= 3 for _, levels in regime.axes) and len(regime.seeds) >= 3
    calibrated = load_study("calibrated")["data"]["synthetic"]["params"]["s1_contrast"]
    assert calibrated in dict(regime.axes)[knob("s1_contrast")]  # the calibrated world is a cell
    bad = {**spec, "regime": {**spec["regime"], "axes": {"s1_contrast": [1.0, 2.0], "n_train_s1": [None, 10, 5]}}}
    with pytest.raises(WorldError, match="three distinct levels or more"):
        regime_spec(bad)
    bad = {**spec, "regime": {**spec["regime"], "axes": {"n_train_s1": [None, 10, 5]}}}
    with pytest.raises(WorldError, match="exactly two knobs"):
        regime_spec(bad)
    bad = {**spec, "regime": {**spec["regime"], "methods": ["baseline"]}}
    with pytest.raises(WorldError, match="'methods' must list joint methods"):
        regime_spec(bad)


def test_a_world_per_generator_level_and_a_run_group_per_training_level() -> None:
    spec = load_study("regime")
    worlds = world_specs(spec, "/data")
    assert [w["world"] for w in worlds] == [{"s1_contrast": v} for v in (1.0, 1.774, 2.5)]
    w = worlds[0]
    assert w["name"] == "regime-s1_contrast-1" and w["data"]["root"] == "/data/regime/regime-s1_contrast-1"
    assert w["data"]["synthetic"]["params"] == {**spec["data"]["synthetic"]["params"], "s1_contrast": 1.0}
    from xmodal.sweep import grid

    points = grid({k: v for k, v in w.items() if k != "world"}, data_root="/data/x", fingerprints=False)
    n_seeds = len(spec["regime"]["seeds"])
    assert len(points) == (3 * 3 + 1) * n_seeds
    few = [p for p in points if p.name.startswith("n_train_s1-72-")]
    assert {p.config.method for p in few} == {"baseline", "C", "C+T+M"}
    assert all(p.config.modality_n_train == {"s1": 72} for p in few)
    s2 = [p for p in points if p.config.modalities == ["s2"]]
    assert len(s2) == n_seeds and all(p.config.modality_n_train == {} for p in s2)


def _regime_table() -> pd.DataFrame:
    """A results table of two worlds x two S1 sizes (all, 50), seeds 0-2: C lifts S1 only with 50 patches."""
    rows = []
    for world, contrast in (("regime-s1_contrast-1", 1.0), ("regime-s1_contrast-2", 2.0)):
        for seed in range(3):
            rows.append({"study": world, "method": "baseline", "modality": "s2", "n_train": 1000, "seed": seed,
                         "weighted": 0.75 + 0.01 * seed, "homogeneity": math.nan, "status": "ok",
                         "run_dir": f"{world}/b2-{seed}"})
            for n in (1000, 50):
                base = 0.5 + 0.05 * contrast - (0.1 if n == 50 else 0.0) + 0.01 * seed
                rows.append({"study": world, "method": "baseline", "modality": "s1", "n_train": n, "seed": seed,
                             "weighted": base, "homogeneity": math.nan, "status": "ok",
                             "run_dir": f"{world}/b1-{n}-{seed}"})
                lift = 0.08 + 0.002 * seed if n == 50 else 0.001 * (seed - 1)
                for s, w in (("s1", base + lift), ("s2", 0.75 + 0.01 * seed)):
                    rows.append({"study": world, "method": "C", "modality": s, "n_train": n if s == "s1" else 1000,
                                 "seed": seed, "weighted": w, "homogeneity": 0.7 + 0.01 * seed, "status": "ok",
                                 "run_dir": f"{world}/c-{n}-{seed}"})
    return pd.DataFrame(rows)


def test_each_run_gets_its_cell_and_each_cell_its_gains() -> None:
    from xmodal.analysis.regime import cell_baseline_pairs, cells_of, regime_differences

    spec = load_study("regime")
    spec = {**spec, "regime": {"axes": {"s1_contrast": [1.0, 2.0, 3.0], "n_train_s1": [None, 50, 10]},
                               "seeds": [0, 1, 2], "methods": ["C"]}}
    cells = regime_cells(_regime_table(), spec)
    assert cells.loc[cells["run_dir"] == "regime-s1_contrast-2/c-50-1", "n_train_s1"].tolist() == [50, 50]
    assert cells.loc[cells["run_dir"] == "regime-s1_contrast-2/c-1000-1", "n_train_s1"].isna().all()
    assert cells.loc[cells["method"] == "baseline"].query("modality == 's2'")["shared"].all()
    axes = cell_axes(spec)
    assert cells_of(cells, axes) == [(1.0, 50), (1.0, None), (2.0, 50), (2.0, None)]
    pairs = cell_baseline_pairs(cells, axes)
    assert len(pairs) == 4 * 3 and set(pairs["run_dir_b"].str.split("/").str[1].str[:2]) == {"b2"}
    pairs["homogeneity"] = 0.6
    diffs = regime_differences(cells, axes, ["C"], pairs=pairs)
    f1 = diffs[(diffs["quantity"] == "f1") & (diffs["sensor"] == "s1")].set_index(axes)
    assert f1.loc[(2.0, 50), "estimate"] == pytest.approx(0.082) and f1.loc[(2.0, 50), "significant"]
    assert f1.loc[(1.0, 50), "n"] == 3 and f1.loc[(1.0, 50), "low"] > 0
    nothing = diffs[(diffs["quantity"] == "f1") & (diffs["sensor"] == "s1") & diffs["n_train_s1"].isna()]
    assert nothing["estimate"].abs().max() < 1e-9 or not nothing["significant"].any()
    s2 = diffs[(diffs["quantity"] == "f1") & (diffs["sensor"] == "s2")]
    assert np.allclose(s2["estimate"], 0.0) and not s2["significant"].any()
    h = diffs[diffs["quantity"] == "homogeneity"].set_index(axes)
    assert h.loc[(1.0, None), "estimate"] == pytest.approx(0.11) and h.loc[(1.0, None), "significant"]
    with pytest.raises(WorldError, match="not worlds of 'regime'"):
        regime_cells(_regime_table().assign(study="elsewhere"), spec)
