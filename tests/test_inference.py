"""Inference: a run folder as a model, the map of a scene (command and Python call), bad inputs, scores.

The slow tests share three tiny runs trained once on the tiny synthetic root of ``conftest.py``
(C+T+M on S1 and S2, and the two single-sensor Baselines) and one small synthetic scene with
thick clouds over part of it (:func:`xmodal.data.scene.make_scene`).
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from xmodal.inference import InferenceError, InferenceWarning, cell_fallback, predict_scene
from xmodal.inference.fallback import NO_ANSWER, SOURCE_CODES
from xmodal.inference.score import cell_truth, score_map
from xmodal.rundir import ModelInput, ModelRecord, Result, RunDir, model_record_of

TINY = dict(
    backbone="resnet18", backbone_width=8, latent_dim=16, merge_hidden=[16, 16], classifier_hidden=16,
    modality_hidden=8, epochs=1, batch_size=8, test_fraction=0.25, n_latent=5, threads=1, device="cpu",
    progress=False,
)
#: The synthetic root's patch size: the runs' footprint.
P = 32


# ----------------------------------------------------------------------------- fixtures
@pytest.fixture(autouse=True)
def _one_torch_thread() -> Any:
    """One torch thread per test (on a shared machine, threads that compete for cores are many times slower)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def runs(synthetic_root: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Three tiny runs: C+T+M on S1 and S2, the S1 and the S2 Baseline."""
    from xmodal.config import ExperimentConfig
    from xmodal.training import run_experiment

    base = tmp_path_factory.mktemp("inference_runs")
    out = {}
    for name, method, mods in (("ctm", "C+T+M", ["s1", "s2"]), ("b1", "baseline", ["s1"]),
                               ("b2", "baseline", ["s2"])):
        cfg = ExperimentConfig(**TINY, method=method, modalities=mods, data_root=str(synthetic_root))
        run_experiment(cfg, base / name)
        out[name] = base / name
    return out


@pytest.fixture(scope="module")
def models(runs: dict[str, Path]) -> dict[str, Any]:
    """The three runs loaded once (a loaded model stands for its folder in predict_scene)."""
    from xmodal.inference import Model

    return {name: Model.load(path) for name, path in runs.items()}


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A 96 x 96 px synthetic scene (three patches wide), 40 % of it under thick cloud."""
    from xmodal.data.scene import make_scene

    return make_scene(tmp_path_factory.mktemp("scene"), side=96, patch_size=P, cloud_cover=0.4, cloud_scale=1.0,
                      scene=3)


def _read(path: Path) -> tuple[np.ndarray, dict[str, Any]]:
    import rasterio

    with rasterio.open(path) as ds:
        return ds.read(), dict(ds.profile)


def _tif(path: Path, arr: np.ndarray, profile: dict[str, Any], **changes: Any) -> Path:
    """Write ``arr`` as a GeoTIFF with ``profile`` (a source's) and ``changes``."""
    import rasterio

    prof = {k: v for k, v in profile.items() if k in ("driver", "crs", "transform", "nodata")}
    prof.update(count=arr.shape[0], height=arr.shape[1], width=arr.shape[2], dtype=arr.dtype.name, **changes)
    with rasterio.open(path, "w", **prof) as dst:
        dst.write(arr)
    return path


def _one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = [line for line in capsys.readouterr().err.strip().splitlines() if line]
    assert len(err) == 1 and err[0].startswith("xmodal predict: "), err
    return err[0]


# ----------------------------------------------------------------------------- the record (fast)
def _result(**data: Any) -> Result:
    stats = {"s1": {"bands": ["VV", "VH"], "mean": [-11.769, -18.295], "std": [4.525, 4.359], "clip": [-25.0, 0.0],
                    "nan_fill": -25.0, "normalization": "sen12ms"}}
    return Result.from_dict({
        "config": {"method": "baseline", "modalities": ["s1"], "label_scheme": "dfc9", "patch_size": None,
                   "season": "winter", "data_root": "/nonexistent"},
        "config_hash": "abc123def456",
        "data": {"kind": "synthetic", "class_names": ["A", "B"], "stats": stats,
                 "description": {"synthetic": {"patch_size": 64}, "synthetic_params": {"pixel_size_m": 10.0}},
                 **data}})


def test_model_record_round_trips_and_is_derived_from_the_result() -> None:
    record = model_record_of(_result())
    assert record.footprint == record.patch_size == 64 and record.pixel_size_m == 10.0
    assert record.class_names == ["A", "B"] and record.modalities == ["s1"] and record.checkpoint == "checkpoint.pt"
    assert record.inputs["s1"].band_index == [0, 1] and record.inputs["s1"].nan_fill == -25.0
    again = ModelRecord.from_dict(json.loads(json.dumps(record.to_dict())))
    assert again == record
    s2 = ModelInput("s2", "s2", ["B01", "B02", "B03"], ["B03", "B02"], [0, 0], [1, 1], [0, 1e4])
    assert s2.band_index == [2, 1]
    with pytest.raises(ValueError, match="not a model record"):
        ModelRecord.from_dict({"checkpoint": "x"})
    with pytest.raises(ValueError, match="newer than this xmodal"):
        ModelRecord.from_dict({**record.to_dict(), "schema": 99})


def test_a_result_without_statistics_gives_no_record(tmp_path: Path) -> None:
    res = _result(stats={"s1": {"mean": [0.0, 0.0]}})  # in-memory datasets: no std, no bands
    with pytest.raises(ValueError, match="no normalisation statistics"):
        model_record_of(res)
    assert RunDir(tmp_path).record_model(res) is None and not RunDir(tmp_path).model_path.exists()
    no_size = _result(description={})
    with pytest.raises(ValueError, match="holds no S2 patch"):
        model_record_of(no_size)


def test_an_old_run_folder_says_how_to_write_its_record(tmp_path: Path) -> None:
    from xmodal.inference import Model

    run = RunDir(tmp_path / "old")
    run.write_result(_result())
    with pytest.raises(InferenceError, match=r"has no model.json .*xmodal predict --write-record .*old"):
        Model.load(run.path)
    with pytest.raises(InferenceError, match="holds no finished run"):
        Model.load(tmp_path)
    with pytest.raises(InferenceError, match="no such folder"):
        Model.load(tmp_path / "missing")
    run.model_path.write_text("{not json")
    with pytest.raises(InferenceError, match="model.json is unreadable; write it again"):
        Model.load(run.path)


# ----------------------------------------------------------------------------- fallback and scores (fast)
def test_the_fallback_answers_each_cell_from_the_sensor_the_policy_picks() -> None:
    s2 = np.array([[0.9, 0.1], [0.9, 0.1], [np.nan, np.nan], [0.9, 0.1], [np.nan, np.nan]])
    s1 = np.array([[0.2, 0.8], [0.2, 0.8], [0.2, 0.8], [np.nan, np.nan], [np.nan, np.nan]])
    cover = np.array([0.0, 0.5, 0.0, 0.5, 0.0])
    answer, source = cell_fallback(s2, s1, cover, threshold=0.3)
    assert source.tolist() == [SOURCE_CODES["s2"], SOURCE_CODES["s1"], SOURCE_CODES["s1"], NO_ANSWER, NO_ANSWER]
    assert np.allclose(answer[:3], [[0.9, 0.1], [0.2, 0.8], [0.2, 0.8]]) and np.isnan(answer[3:]).all()
    assert cell_fallback(s2, s1, cover, threshold=1.0)[1][:2].tolist() == [0, 0]  # never clouded enough
    assert cell_fallback(s2, s1, cover, threshold=0.0)[1][:2].tolist() == [1, 1]  # always S1
    with pytest.raises(InferenceError, match="cloud threshold 1.5"):
        cell_fallback(s2, s1, cover, threshold=1.5)


def test_map_scores_count_cells_and_resample_blocks() -> None:
    igbp = np.full((8, 8), 10)  # grassland
    igbp[:, 4:] = 17  # water on the right half
    igbp[:2, :2] = 8  # savanna: no label under dfc9
    truth = cell_truth(igbp, stride=2)
    assert truth.shape == (4, 4, 9) and np.isnan(truth[0, 0]).all() and np.allclose(np.nansum(truth, axis=-1)[1:], 1)
    perfect = score_map(np.nan_to_num(truth), truth, block=2, n_boot=200)
    assert perfect.accuracy.estimate == perfect.weighted_f1.estimate == 1.0 and perfect.accuracy.low == 1.0
    assert perfect.n_cells == 15 and perfect.n_blocks == 4 and perfect.coverage == 1.0
    wrong = truth[..., ::-1].copy()  # every class swapped for another
    half = np.where(np.arange(4)[None, :, None] < 2, np.nan_to_num(truth), wrong)
    half[3, 3] = np.nan  # no answer
    score = score_map(half, truth, block=2, n_boot=200)
    assert score.n_cells == 14 and math.isclose(score.coverage, 14 / 15)
    assert math.isclose(score.accuracy.estimate, 7 / 14) and score.accuracy.low < 0.5 < score.accuracy.high
    with pytest.raises(ValueError, match="must be equal"):
        score_map(half[:2], truth)


def test_the_page_s_reading_is_never_stronger_than_its_intervals() -> None:
    from xmodal.analysis.bootstrap import BootstrapInterval
    from xmodal.inference.compare import SystemMaps, reading
    from xmodal.inference.scene import SceneMap
    from xmodal.inference.score import MapScore

    def system(name: str, acc: tuple[float, float, float]) -> SystemMaps:
        ci = BootstrapInterval(acc[0], acc[1], acc[2], (acc[2] - acc[1]) / 2, 0.01, 1000, 64, 0.95)
        score = MapScore(ci, ci, 100, 64, 1.0, 4)
        return SystemMaps(name, [], SceneMap(["A"], ["s1", "s2"], {}, 16, 32, 1, 1), np.zeros((1, 1, 1)),
                          {"S2": score, "S1": score, "fallback": score})

    close = reading({"Baseline": system("Baseline", (0.70, 0.66, 0.74)),
                     "C+T+M": system("C+T+M", (0.73, 0.69, 0.77))}, "C+T+M")
    assert "C+T+M: accuracy of the fallback map 0.73 [0.69, 0.77]" in close.replace("**", "")
    assert "within the interval of that of the Baselines (their 95 % intervals overlap)" in close
    apart = reading({"Baseline": system("Baseline", (0.60, 0.58, 0.62)),
                     "C+T+M": system("C+T+M", (0.73, 0.69, 0.77))}, "C+T+M")
    assert "is above that of the Baselines (their 95 % intervals do not overlap)" in apart
    assert "illustration, not a test" in apart


def test_a_stride_that_does_not_divide_the_footprint_and_a_small_scene_are_refused() -> None:
    from xmodal.inference.raster import Frame
    from xmodal.inference.scene import make_grid

    frame = Frame(100, 70, None, None, {})
    grid = make_grid(frame, 32, None, "scene.tif")
    assert (grid.stride, grid.k, grid.rows, grid.cols, grid.patch_rows, grid.patch_cols) == (16, 2, 6, 4, 5, 3)
    with pytest.raises(InferenceError, match=r"stride 12: it must divide the run's patch footprint of 32 px"):
        make_grid(frame, 32, 12, "scene.tif")
    with pytest.raises(InferenceError, match=r"scene.tif: 100 x 70 pixels is smaller than one patch .*128 x 128"):
        make_grid(frame, 128, 64, "scene.tif")


# ----------------------------------------------------------------------------- a trained run as a model (slow)
@pytest.mark.slow
def test_the_trainer_writes_the_record_and_a_model_needs_only_the_folder(runs: dict[str, Path], tmp_path: Path,
                                                                         synthetic_root: Path) -> None:
    from xmodal.inference import Model

    run = RunDir(runs["ctm"])
    record = run.read_model_record()
    assert record is not None and record == model_record_of(run.result())
    assert record.footprint == record.patch_size == P and record.modalities == ["s1", "s2"]
    assert record.inputs["s2"].bands == ["B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B11", "B12"]
    assert record.class_names == run.result().class_names and record.data_kind == "synthetic"
    moved = tmp_path / "moved"  # the data root and the study are not needed
    shutil.copytree(run.path, moved)
    model = Model.load(moved)
    assert model.modalities == ["s1", "s2"] and model.record == record


@pytest.mark.slow
def test_a_stored_patch_gets_the_run_s_own_test_prediction(runs: dict[str, Path], synthetic_root: Path) -> None:
    from xmodal.data.layout import parse_patch_id, patch_path

    pred = RunDir(runs["ctm"]).predictions()
    for row in (0, len(pred.ids["s1"]) - 1):
        key = parse_patch_id(str(pred.ids["s1"][row]))
        res = predict_scene(runs["ctm"], s1=patch_path(synthetic_root, key, "s1"),
                            s2=patch_path(synthetic_root, key, "s2"), stride=P)
        assert res.rows == res.cols == 1
        for m in ("s1", "s2"):
            assert res.prob is not None and np.allclose(res.prob[m][0, 0], pred.prob[m][row], atol=1e-5), m


@pytest.mark.slow
def test_the_command_writes_the_map_and_the_latents(runs: dict[str, Path], scene: Any, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    import rasterio

    from xmodal.cli import main
    from xmodal.inference.writer import read_map

    out, lat = tmp_path / "map.tif", tmp_path / "z.tif"
    code = main(["predict", str(runs["ctm"]), "--s1", str(scene.s1), "--s2", str(scene.s2), "--clouds",
                 str(scene.clouds), "--out", str(out), "--stride", "16", "--latents", str(lat), "--threads", "1"])
    assert code == 0 and "wrote 6 x 6 cells of 16 px" in capsys.readouterr().out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["map.tif", "z.tif"]  # no temporary left
    with rasterio.open(scene.s2) as s2, rasterio.open(out) as ds:
        assert ds.count == 1 and ds.dtypes[0] == "uint8" and ds.descriptions == ("class",)
        assert ds.crs == s2.crs and ds.transform == s2.transform @ s2.transform.scale(16)
        assert ds.profile["tiled"] and ds.block_shapes == [(256, 256)] and ds.colormap(1)[0][3] == 255
        assert len(ds.subdatasets) == 2
    with rasterio.open(f"GTIFF_DIR:2:{out}") as ds:
        names = RunDir(runs["ctm"]).read_model_record().class_names  # type: ignore[union-attr]
        assert list(ds.descriptions) == [f"p({c})" for c in names] + [
            "homogeneity", "sensor (0 S2, 1 S1)", "class S2", "class S1"]
        assert ds.scales[0] == pytest.approx(0.004)
    saved = read_map(out)
    kept = predict_scene(runs["ctm"], s1=scene.s1, s2=scene.s2, clouds=scene.clouds, stride=16, latents=True)
    assert kept.classes is not None and kept.source is not None and kept.answer is not None and kept.cover is not None
    assert np.array_equal(saved["class"], kept.classes) and np.array_equal(saved["sensor"], kept.source)
    assert np.nanmax(np.abs(saved["prob"] - kept.answer)) <= 0.5 / 250 + 1e-6
    assert np.nanmax(np.abs(saved["homogeneity"] - kept.homogeneity)) <= 0.5 / 250 + 1e-6
    assert saved["class_names"] == names
    clouded = kept.cover >= 0.3
    assert clouded.any() and (~clouded).any()  # the clouds cover part of the scene
    assert (kept.source[clouded] == SOURCE_CODES["s1"]).all() and (kept.source[~clouded] == SOURCE_CODES["s2"]).all()
    z, _ = _read(lat)
    assert kept.latents is not None and z.shape == (2 * 16, 6, 6)
    assert np.allclose(np.moveaxis(z[:16], 0, -1), kept.latents["s1"], atol=1e-5)


@pytest.mark.slow
def test_the_python_call_takes_arrays_and_either_sensor(runs: dict[str, Path], models: dict[str, Any], scene: Any,
                                                        tmp_path: Path) -> None:
    import rasterio

    s1, _ = _read(scene.s1)
    s2, _ = _read(scene.s2)
    from_files = predict_scene(runs["ctm"], s1=scene.s1, s2=scene.s2, stride=16)
    from_arrays = predict_scene(models["ctm"], s1=s1, s2=s2, stride=16)
    assert from_arrays.transform is None and from_files.transform is not None
    assert from_arrays.prob is not None and from_files.prob is not None
    for m in ("s1", "s2"):
        assert np.allclose(from_arrays.prob[m], from_files.prob[m], equal_nan=True)
    only_s1 = predict_scene(models["ctm"], s1=scene.s1, stride=16, latents=tmp_path / "z.npz", keep=True)
    assert only_s1.modalities == ["s1"] and only_s1.homogeneity is None and only_s1.threshold is None
    assert np.allclose(only_s1.answer, from_files.prob["s1"], equal_nan=True)  # type: ignore[arg-type]
    with np.load(tmp_path / "z.npz") as z:
        assert z["z_s1"].shape == (6, 6, 16) and list(z["modalities"]) == ["s1"]
    pair = predict_scene([runs["b1"], runs["b2"]], s1=scene.s1, s2=scene.s2, clouds=scene.clouds, stride=16)
    assert pair.runs == {"s1": str(runs["b1"]), "s2": str(runs["b2"])} and pair.homogeneity is not None
    with rasterio.open(scene.s2) as ds:
        coarse, crs = ds.transform @ ds.transform.scale(2), ds.crs
    with pytest.warns(InferenceWarning, match=r"<s2 array>: pixels of 20 m, but the run .* was trained on 10 m"):
        predict_scene(models["b2"], s2=s2, transform=coarse, crs=crs, stride=16)
    ten = s2[[1, 2, 3, 4, 5, 6, 7, 8, 11, 12]]  # exactly the model's bands, in its order
    assert np.allclose(predict_scene(models["b2"], s2=ten, stride=16).answer,  # type: ignore[arg-type]
                       predict_scene(models["b2"], s2=s2, stride=16).answer, equal_nan=True)


@pytest.mark.slow
def test_missing_data_is_never_classified(runs: dict[str, Path], scene: Any) -> None:
    s1, _ = _read(scene.s1)
    s2, _ = _read(scene.s2)
    s1 = s1.copy()
    s1[:, :48, :48] = np.nan  # the upper-left quarter: 3 x 3 cells of S1 without data
    s2 = s2.copy()
    s2[:, 48:, :] = 0  # the lower half of S2: nodata 0
    s2[:, 40:44, 40:44] = 0  # and a few pixels inside the valid half: still classified
    res = predict_scene(runs["ctm"], s1=s1, s2=s2, stride=16, nodata=0)
    assert res.prob is not None and res.source is not None and res.classes is not None
    s1_missing = ~np.isfinite(res.prob["s1"]).all(axis=-1)
    s2_missing = ~np.isfinite(res.prob["s2"]).all(axis=-1)
    assert s1_missing[:3, :3].all() and not s1_missing[3:].any() and not s1_missing[:, 3:].any()
    assert s2_missing[3:].all() and not s2_missing[:3].any()
    assert (res.source[:3, :3] == SOURCE_CODES["s2"]).all() and (res.source[3:] == SOURCE_CODES["s1"]).all()
    both = predict_scene(runs["ctm"], s1=s1, s2=np.where(np.arange(96)[None, :, None] < 48, 0, s2), stride=16,
                         nodata=0)
    assert both.classes is not None and (both.classes[:3, :3] == NO_ANSWER).all()


@pytest.mark.slow
def test_windows_are_one_patch_tall(runs: dict[str, Path], scene: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from xmodal.inference.raster import Raster

    heights: list[int] = []
    real = Raster.read

    def spy(self: Raster, row: int, col: int, height: int, width: int) -> np.ndarray:
        heights.append(height)
        return real(self, row, col, height, width)

    monkeypatch.setattr(Raster, "read", spy)
    predict_scene(runs["ctm"], s1=scene.s1, s2=scene.s2, clouds=scene.clouds, stride=8)
    assert heights and max(heights) == P  # a strip is one patch tall, whatever the scene's height


@pytest.mark.slow
def test_an_interrupted_prediction_leaves_the_old_map_and_no_temporary(
        runs: dict[str, Path], scene: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    from xmodal.cli import main
    from xmodal.inference import Model

    out = tmp_path / "map.tif"
    out.write_bytes(b"the previous map")
    calls = []
    real = Model.classify

    def interrupted(self: Model, modality: str, x: Any) -> Any:
        calls.append(modality)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(self, modality, x)

    monkeypatch.setattr(Model, "classify", interrupted)
    with pytest.raises(KeyboardInterrupt):
        predict_scene(runs["ctm"], s1=scene.s1, s2=scene.s2, out=out, latents=tmp_path / "z.tif", stride=16)
    assert out.read_bytes() == b"the previous map" and sorted(p.name for p in tmp_path.iterdir()) == ["map.tif"]
    calls.clear()
    assert main(["predict", str(runs["ctm"]), "--s2", str(scene.s2), "--out", str(out), "--quiet"]) == 130
    assert out.read_bytes() == b"the previous map" and sorted(p.name for p in tmp_path.iterdir()) == ["map.tif"]


@pytest.mark.slow
def test_an_old_folder_gets_its_record_written_by_the_command(runs: dict[str, Path], tmp_path: Path, scene: Any,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    from xmodal.cli import main

    old = tmp_path / "old"
    shutil.copytree(runs["b2"], old)
    record = RunDir(old).read_model_record()
    RunDir(old).model_path.unlink()
    assert main(["predict", str(old), "--s2", str(scene.s2), "--out", str(tmp_path / "m.tif")]) == 2
    assert "has no model.json" in _one_error_line(capsys)
    derived = predict_scene(old, s2=scene.s2, stride=16, derive_record=True)
    assert main(["predict", str(old), "--write-record"]) == 0 and RunDir(old).read_model_record() == record
    assert np.array_equal(predict_scene(old, s2=scene.s2, stride=16).classes, derived.classes)  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- bad input (slow: GeoTIFFs)
@pytest.mark.slow
def test_each_bad_input_is_one_clear_line(runs: dict[str, Path], models: dict[str, Any], scene: Any, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    from rasterio.transform import Affine

    from xmodal.cli import main

    s1, prof1 = _read(scene.s1)
    s2, prof2 = _read(scene.s2)
    mask, profm = _read(scene.clouds)
    t = prof1["transform"]
    ctm = models["ctm"]

    def refused(match: str, **kw: Any) -> None:
        with pytest.raises(InferenceError, match=match):
            predict_scene(ctm, **{"stride": 16, **kw})

    four = _tif(tmp_path / "four.tif", s2[:4], prof2)
    refused(r"four.tif: 4 band\(s\), but the S2 model of .* takes the 13 S2 bands of SEN12MS \(B01 .*"
            r"or its own 10 \(B02", s2=four)
    other_crs = _tif(tmp_path / "crs.tif", s1, prof1, crs="EPSG:4326")
    refused(r"crs.tif and .*s2.tif have different CRS", s1=other_crs, s2=scene.s2)
    far = _tif(tmp_path / "far.tif", s1, prof1, transform=t @ Affine.translation(500, 0))
    refused(r"do not overlap", s1=far, s2=scene.s2)
    shifted = _tif(tmp_path / "shift.tif", s1, prof1, transform=t @ Affine.translation(0.5, 0))
    refused(r"shift.tif is shifted by \(0.000, 0.500\) pixels against .*s2.tif", s1=shifted, s2=scene.s2)
    coarse = _tif(tmp_path / "coarse.tif", s1, prof1, transform=t @ Affine.scale(2))
    refused(r"coarse.tif has pixels of 20 x 20 .* resample", s1=coarse, s2=scene.s2)
    small = _tif(tmp_path / "small.tif", s2[:, :20, :20], prof2)
    refused(r"small.tif: 20 x 20 pixels is smaller than one patch of the model \(32 x 32 pixels\)", s2=small)
    part = _tif(tmp_path / "part.tif", mask[:, :50], profm)
    refused(r"part.tif: a cloud mask of 1 band\(s\) and 50 x 96 pixels, but the S2 image .*s2.tif is 96 x 96",
            s1=scene.s1, s2=scene.s2, clouds=part)
    bad_codes = _tif(tmp_path / "codes.tif", np.full_like(mask, 7), profm)
    refused(r"codes.tif: cloud-mask values \[7\] are not mask codes", s1=scene.s1, s2=scene.s2, clouds=bad_codes)
    refused(r"a cloud mask describes an S2 image, but none was given", s1=scene.s1, clouds=scene.clouds)
    with pytest.raises(InferenceError, match=r"have no S1 model \(they take S2\): leave out the S1 image"):
        predict_scene(models["b2"], s1=scene.s1, s2=scene.s2)
    refused(r"stride 24: it must divide", s2=scene.s2, stride=24)
    refused(r"s2.tif is one of the inputs", s2=scene.s2, out=scene.s2)
    refused(r"nowhere.tif: no such file", s2=tmp_path / "nowhere.tif")
    not_tif = tmp_path / "text.tif"
    not_tif.write_text("not an image")
    refused(r"text.tif: not a raster image", s2=not_tif)
    refused(r"--latents .*z.csv: give a file ending in .tif", s2=scene.s2, latents=tmp_path / "z.csv")
    # the command: one line, exit code 2
    assert main(["predict", str(runs["ctm"]), "--s2", str(four), "--out", str(tmp_path / "m.tif")]) == 2
    assert "four.tif: 4 band(s)" in _one_error_line(capsys)
    assert main(["predict", str(runs["ctm"]), "--s2", str(scene.s2)]) == 2
    assert "--out MAP.tif" in _one_error_line(capsys)
    assert not (tmp_path / "m.tif").exists()


@pytest.mark.slow
def test_s1_in_linear_power_gets_a_warning(runs: dict[str, Path], scene: Any, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    from xmodal.cli import main

    s1, prof = _read(scene.s1)
    linear = _tif(tmp_path / "linear.tif", (10 ** (s1 / 10)).astype(np.float32), prof)
    with pytest.warns(InferenceWarning, match=r"linear.tif: 100% of the S1 values are positive .* not backscatter "
                                               r"in dB.*10 \* log10"):
        predict_scene(runs["b1"], s1=linear, stride=16)
    assert main(["predict", str(runs["b1"]), "--s1", str(linear), "--out", str(tmp_path / "m.tif"), "--quiet"]) == 0
    assert "xmodal predict: warning: " in capsys.readouterr().err


@pytest.mark.slow
def test_runs_of_one_map_must_share_their_classes(runs: dict[str, Path], scene: Any, tmp_path: Path) -> None:
    other = tmp_path / "other"
    shutil.copytree(runs["b2"], other)
    record = json.loads(RunDir(other).model_path.read_text())
    record["class_names"] = [f"class {k}" for k in range(len(record["class_names"]))]
    RunDir(other).model_path.write_text(json.dumps(record))
    with pytest.raises(InferenceError, match="runs of one map must share their classes"):
        predict_scene([runs["b1"], other], s1=scene.s1, s2=scene.s2)


@pytest.mark.slow
def test_the_scene_has_clouds_over_part_of_it_and_a_truth(scene: Any) -> None:
    import rasterio

    assert 0.2 < scene.cloud_cover < 0.6 and scene.side == 96
    truth = scene.truth()
    assert truth.shape == (96, 96) and set(np.unique(truth)) <= set(range(1, 18))
    with rasterio.open(scene.s2) as s2, rasterio.open(scene.s1) as s1:
        assert s2.count == 13 and s1.count == 2 and s1.transform == s2.transform and s1.crs == s2.crs
    with pytest.raises(ValueError, match="side 16 must be an int of at least patch_size 32"):
        from xmodal.data.scene import make_scene

        make_scene(scene.folder / "x", side=16)
