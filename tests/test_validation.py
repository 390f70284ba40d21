"""The validation split and early stopping: scenes apart, the score per epoch, the stop, resume.

The split tests read the tiny synthetic root of ``conftest.py`` through the reader every run
uses (:func:`xmodal.training.read_split`); the training tests use the in-memory datasets of
``test_train.py``.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from test_train import TINY, MemoryPatches

from xmodal.config import ConfigError, ExperimentConfig
from xmodal.data.layout import PatchKey
from xmodal.data.splits import carve_validation, scene_sets
from xmodal.training import best_epoch, load_model, run_experiment, should_stop, train_on_datasets
from xmodal.training.evaluation import evaluate
from xmodal.training.run import read_split


def _keys(scenes: int, per_scene: int) -> list[PatchKey]:
    return [PatchKey("ROIs2017_winter", s, p) for s in range(1, scenes + 1) for p in range(per_scene)]


def test_carving_takes_whole_scenes_near_the_share_and_keeps_a_training_scene() -> None:
    keys = _keys(20, 10)
    train, val = carve_validation(keys, 0.2, seed=3)
    assert len(train) + len(val) == len(keys) and not set(train) & set(val)
    parts = scene_sets(train=train, val=val)
    assert not parts["train"] & parts["val"]
    assert len(val) == 40  # 4 whole scenes of 10: the first draw that reaches 20% of 200 patches
    assert carve_validation(keys, 0.2, seed=3) == (train, val)  # seeded
    assert carve_validation(keys, 0.2, seed=4)[1] != val
    assert carve_validation(keys, 0.0, seed=3) == (keys, [])
    train, val = carve_validation(_keys(2, 5), 0.9, seed=0)
    assert len({k.scene for k in train}) == 1 and len({k.scene for k in val}) == 1
    with pytest.raises(ValueError, match="val_fraction 0"):
        carve_validation(_keys(1, 5), 0.2)
    with pytest.raises(ValueError, match="Invalid val_fraction"):
        carve_validation(keys, 1.0)


def test_patience_needs_a_validation_split_and_neutral_values_keep_the_runs_identity() -> None:
    with pytest.raises(ConfigError, match="'patience'.*val_fraction"):
        ExperimentConfig(patience=3)
    with pytest.raises(ConfigError, match="'val_fraction'"):
        ExperimentConfig(val_fraction=1.0)
    base = ExperimentConfig(data_root="/a/data", threads=1)
    assert "val_fraction" not in base.identity() and "patience" not in base.identity()
    split = base.replace(val_fraction=0.2)
    assert split.hash() != base.hash() and split.replace(patience=3).hash() != split.hash()


def _write_scene_lists(root: Path) -> None:
    """Official lists that keep scenes apart: the first scene for testing, the others for training."""
    names = sorted(p.name.replace("_s1_", "_lc_") for p in root.rglob("*_s1_*_p*.tif"))
    scenes = sorted({n.split("_p")[0] for n in names})
    (root / "test_list.txt").write_text("\n".join(n for n in names if n.startswith(scenes[0] + "_")) + "\n")
    (root / "train_list.txt").write_text("\n".join(n for n in names if not n.startswith(scenes[0] + "_")) + "\n")


@pytest.mark.slow
@pytest.mark.parametrize("split,pairing", [("scene", "aligned"), ("official", "aligned"), ("random", "aligned"),
                                           ("scene", "disjoint"), ("official", "disjoint")])
def test_no_scene_is_in_two_of_train_validation_and_test(
    synthetic_copy: Path, split: str, pairing: str
) -> None:
    if split == "official":
        _write_scene_lists(synthetic_copy)
    config = ExperimentConfig(method="C", data_root=str(synthetic_copy), split=split, test_fraction=0.25,
                              val_fraction=0.3, pairing=pairing, progress=False)
    sets = {part: {m: read_split(config, m, part) for m in ("s1", "s2")} for part in ("train", "val", "test")}
    ids = {part: {m: set(ds.ids) for m, ds in by_m.items()} for part, by_m in sets.items()}
    assert ids["val"]["s1"] == ids["val"]["s2"] and ids["test"]["s1"] == ids["test"]["s2"]  # aligned
    scenes = {part: {pid.rsplit("_p", 1)[0] for m in ("s1", "s2") for pid in ids[part][m]} for part in ids}
    assert all(scenes[part] for part in scenes)
    assert not scenes["train"] & scenes["val"]  # every split method: validation scenes have no training patch
    for m in ("s1", "s2"):
        assert not ids["train"][m] & ids["val"][m] and not ids["val"][m] & ids["test"][m]
        assert not ids["train"][m] & ids["test"][m]
    if split != "random":  # the random split shares scenes with the test split by design (the leak it models)
        assert not scenes["val"] & scenes["test"] and not scenes["train"] & scenes["test"]
    if pairing == "disjoint":
        own = [{pid.rsplit("_p", 1)[0] for pid in ids["train"][m]} for m in ("s1", "s2")]
        assert not own[0] & own[1]
    without = config.replace(val_fraction=0.0)
    assert ids["test"]["s1"] == set(read_split(without, "s1", "test").ids)  # carving leaves the test split alone
    if pairing == "aligned":  # the validation scenes come out of the training split
        assert set(read_split(without, "s1", "train").ids) == ids["val"]["s1"] | ids["train"]["s1"]


def _sets(n_val: int = 48) -> tuple[dict, dict, dict]:
    train = {m: MemoryPatches(m, 96, "train") for m in ("s1", "s2")}
    val = {m: MemoryPatches(m, n_val, "val", seed=5) for m in ("s1", "s2")}
    test = {m: MemoryPatches(m, 64, "test") for m in ("s1", "s2")}
    return train, val, test


class _Guarded(torch.utils.data.Dataset):
    """A test set that fails when read before training has finished."""

    def __init__(self, inner: MemoryPatches) -> None:
        self.inner, self.open = inner, False
        for name in ("ids", "labels", "modality", "in_channels", "n_classes", "class_names", "stats"):
            setattr(self, name, getattr(inner, name))

    def __len__(self) -> int:
        return len(self.inner)

    def __getitem__(self, i: int):
        assert self.open, "a test patch was read during training"
        return self.inner[i]


@pytest.mark.slow
def test_validation_is_scored_every_epoch_and_the_test_split_is_read_only_at_the_end(tmp_path: Path) -> None:
    train, val, test = _sets()
    guarded = {m: _Guarded(ds) for m, ds in test.items()}
    config = ExperimentConfig(method="C+T+M", epochs=3, steps_per_epoch=4, val_fraction=0.2, **TINY)

    def opened(info: dict) -> None:
        if info["epoch"] == config.epochs:
            for ds in guarded.values():
                ds.open = True

    result = train_on_datasets(config, train, guarded, tmp_path / "run", val_sets=val, on_epoch_end=opened)
    record = result.validation
    assert [p["epoch"] for p in record["curve"]] == [1, 2, 3] and [p["step"] for p in record["curve"]] == [4, 8, 12]
    for point, entry in zip(record["curve"], result.history, strict=True):
        assert point["score"] == pytest.approx(np.mean(list(point["f1_weighted"].values())))
        assert entry["val_score"] == point["score"]
    assert "probe_accuracy" in result.history[-1]  # the probe read validation patches: the guard let it
    assert record["best_epoch"] == best_epoch(result.history) and record["weights"] == "last"
    assert record["stopped_early"] is False and record["n_val"] == {"s1": 48, "s2": 48}
    with pytest.raises(ConfigError, match="val_fraction"):
        train_on_datasets(config, train, test, tmp_path / "other")


@pytest.mark.slow
def test_early_stopping_keeps_the_best_epoch_and_is_the_prefix_of_the_full_run(tmp_path: Path) -> None:
    train, val, test = _sets()
    full_cfg = ExperimentConfig(method="C", epochs=8, steps_per_epoch=3, val_fraction=0.2, **{**TINY, "lr": 0.05})
    full = train_on_datasets(full_cfg, train, test, tmp_path / "full", val_sets=val)
    scores = [p["score"] for p in full.validation["curve"]]
    patience = 2
    # where a patience of 2 stops the full run's curve
    stop = next((e for e in range(1, len(scores) + 1)
                 if e - (int(np.argmax(scores[:e])) + 1) >= patience), len(scores))
    stopped = train_on_datasets(full_cfg.replace(patience=patience), train, test, tmp_path / "es", val_sets=val)
    record = stopped.validation
    assert record["epochs_trained"] == stop and record["weights"] == "best"
    assert [p["score"] for p in record["curve"]] == scores[:stop]  # validation draws no random numbers
    assert record["best_epoch"] == int(np.argmax(scores[:stop])) + 1
    assert record["stopped_early"] == (stop < full_cfg.epochs)
    # the test scores are those of the best epoch's weights, which the checkpoint keeps
    net, _ = load_model(tmp_path / "es")
    f1 = {m: evaluate(net, val[m], m)["prob"] for m in ("s1", "s2")}
    from xmodal.metrics import f1_scores

    again = np.mean([f1_scores(val[m].labels, f1[m])["weighted"] for m in ("s1", "s2")])
    assert again == pytest.approx(record["best_score"], abs=1e-6)
    assert should_stop(stopped.history, full_cfg.replace(patience=patience)) == record["stopped_early"]


@pytest.mark.slow
def test_an_interrupted_early_stopped_run_resumes_to_the_same_result(tmp_path: Path) -> None:
    train, val, test = _sets()
    config = ExperimentConfig(method="C+M", epochs=6, steps_per_epoch=3, val_fraction=0.2, patience=2,
                              **{**TINY, "lr": 0.05})
    whole = train_on_datasets(config, train, test, tmp_path / "whole", val_sets=val)

    class Kill(Exception):
        pass

    def kill(info: dict) -> None:
        if info["epoch"] == 2:
            raise Kill

    with pytest.raises(Kill):
        train_on_datasets(config, train, test, tmp_path / "cut", val_sets=val, on_epoch_end=kill)
    resumed = train_on_datasets(config, train, test, tmp_path / "cut", val_sets=val)
    assert resumed.validation == whole.validation
    assert resumed.metrics == whole.metrics and resumed.homogeneity == whole.homogeneity


@pytest.mark.slow
def test_run_experiment_reads_the_validation_scenes(synthetic_root: Path, tmp_path: Path) -> None:
    config = ExperimentConfig(method="baseline", modalities=["s2"], data_root=str(synthetic_root),
                              test_fraction=0.25, val_fraction=0.3, patience=1, epochs=3, steps_per_epoch=2,
                              **{k: v for k, v in TINY.items() if k != "data_root"})
    result = run_experiment(config, tmp_path / "run")
    assert result.data["n_val"] == len(read_split(config, "s2", "val")) > 0 and result.data["val_scenes"] >= 1
    assert 1 <= result.validation["epochs_trained"] <= 3 and not math.isnan(result.validation["curve"][0]["score"])
    assert result.validation["scenes"] == result.data["val_scenes"]
