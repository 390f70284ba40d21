"""Tests of the SEN12MS reader: labels, normalisation, round trip, splits, the packed cache, bad inputs.

Values are checked against what rasterio reads from the GeoTIFFs (with the
documented cleaning applied), never against the reader's own code paths. Files
are damaged only in private copies of the tiny synthetic root (``synthetic_copy``).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import rasterio
import torch
from torch.utils.data import DataLoader

from xmodal.cli import main as cli_main
from xmodal.data import (
    IGBP_TO_SIMPLE,
    INVALID_CODE_MAX_SHARE,
    PAPER_TEST_FRACTION,
    PUBLISHED_STATS,
    AllNaNError,
    BandCountError,
    CorruptFileError,
    DTypeError,
    FileProblem,
    LabelCodeError,
    LabelCodeWarning,
    MissingFileError,
    PatchKey,
    PatchSizeError,
    RootError,
    Sen12MS,
    Sen12MSError,
    Sen12MSWarning,
    SplitListError,
    SplitListWarning,
    check_root,
    class_names,
    label_codes,
    make_split,
    make_synthetic,
    n_classes,
    partition_scenes,
    patch_path,
    read_official_lists,
    soft_label,
    soft_labels,
    split_leakage,
)
from xmodal.data.labels import check_label_codes, simplify
from xmodal.data.normalize import S2_BANDS, clean, modality_spec

SF = "ROIs2017_winter"
#: The tiny root of conftest.py: 4 scenes of 3 x 3 patches of 32 px.
N_SCENES, N_PER_SCENE, SIDE = 4, 9, 32
N_PATCHES = N_SCENES * N_PER_SCENE
#: Half the float16 spacing of S1 values in [-32, -16) dB: the rounding of the packed cache.
S1_CACHE_ATOL = 2.0**-7


# -- helpers -------------------------------------------------------------------------------


def _path(root: Path, scene: int, patch: int, sensor: str) -> Path:
    return patch_path(root, PatchKey(SF, scene, patch), sensor)


def _read(path: Path) -> np.ndarray:
    with rasterio.open(path) as src:
        return src.read()


def _rewrite(path: Path, arr: np.ndarray) -> None:
    """Overwrite the GeoTIFF ``path`` with ``arr`` [bands, H, W], keeping its CRS and transform.

    The profile, tags and band descriptions of the existing file are copied, and
    its band count, data type and size are adapted to ``arr`` (how a wrong file
    is made on purpose).
    """
    with rasterio.open(path) as src:
        profile, tags, descriptions = src.profile, src.tags(), src.descriptions
    profile.update(count=arr.shape[0], dtype=arr.dtype.name, height=arr.shape[1], width=arr.shape[2])
    for key in ("blockxsize", "blockysize", "tiled"):
        profile.pop(key, None)
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(np.ascontiguousarray(arr))
        dst.update_tags(**{k: v for k, v in tags.items() if k != "AREA_OR_POINT"})  # GDAL sets that one
        if len(descriptions) == arr.shape[0]:
            dst.descriptions = descriptions


def _index(ds: Sen12MS, scene: int, patch: int) -> int:
    return ds.ids.index(PatchKey(SF, scene, patch).id)


def _denormalise(x: torch.Tensor | np.ndarray, ds: Sen12MS) -> np.ndarray:
    """Undo the z-scoring with the statistics the dataset records in ``ds.stats``."""
    mean = np.asarray(ds.stats["mean"], dtype=np.float64)[:, None, None]
    std = np.asarray(ds.stats["std"], dtype=np.float64)[:, None, None]
    return np.asarray(x, dtype=np.float64) * std + mean


def _expected(root: Path, key: PatchKey, modality: str) -> np.ndarray:
    """The cleaned bands of ``modality`` of patch ``key``, read with rasterio."""
    spec = modality_spec(modality)
    return clean(spec.sensor, _read(patch_path(root, key, spec.sensor)))[spec.band_index]


def _batch(batch: tuple[torch.Tensor, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """Pass a batch from ``Sen12MS.__getitems__`` through unchanged (as the trainer's collate does)."""
    return batch


# -- labels --------------------------------------------------------------------------------


def test_igbp_to_simple_mapping() -> None:
    assert sorted(IGBP_TO_SIMPLE) == list(range(1, 18))
    groups = {
        1: [1, 2, 3, 4, 5], 2: [6, 7], 3: [8, 9], 4: [10], 5: [11], 6: [12, 14], 7: [13],
        8: [15], 9: [16], 10: [17],
    }
    for simple, codes in groups.items():
        assert [IGBP_TO_SIMPLE[c] for c in codes] == [simple] * len(codes)
    codes = np.arange(0, 19).reshape(1, 19)
    np.testing.assert_array_equal(
        simplify(codes)[0], [0, 1, 1, 1, 1, 1, 2, 2, 3, 3, 4, 5, 6, 7, 6, 8, 9, 10, 0]
    )
    with pytest.raises(ValueError, match=r"IGBP codes must lie in 1\.\.17, found values in \[1, 300\]"):
        simplify(np.array([[1, 300]]))


def test_class_names_of_the_schemes() -> None:
    assert class_names("dfc10") == [
        "Forest", "Shrubland", "Savanna", "Grassland", "Wetland",
        "Cropland", "Urban", "Snow/Ice", "Barren", "Water",
    ]
    assert class_names("dfc9") == [c for c in class_names("dfc10") if c != "Savanna"]
    assert (n_classes("dfc9"), n_classes("dfc10")) == (9, 10)
    with pytest.raises(ValueError, match="Unknown label scheme 'dfc7'"):
        class_names("dfc7")


def test_soft_label_of_a_hand_made_patch() -> None:
    igbp = np.array(
        [
            [1, 1, 2, 5],      # Forest x4
            [8, 9, 10, 10],    # Savanna x2, Grassland x2
            [12, 14, 13, 17],  # Cropland x2, Urban, Water
            [17, 17, 16, 15],  # Water x2, Barren, Snow/Ice
        ],
        dtype=np.uint16,
    )
    # order: Forest Shrubland Savanna Grassland Wetland Cropland Urban Snow/Ice Barren Water
    dfc10 = np.array([4, 0, 2, 2, 0, 2, 1, 1, 1, 3]) / 16
    dfc9 = np.array([4, 0, 2, 0, 2, 1, 1, 1, 3]) / 14  # savanna pixels ignored, the rest renormalised
    np.testing.assert_allclose(soft_label(igbp, "dfc10"), dfc10, rtol=1e-6)
    np.testing.assert_allclose(soft_label(igbp, "dfc9"), dfc9, rtol=1e-6)
    np.testing.assert_allclose(soft_label(igbp), dfc9, rtol=1e-6)  # dfc9 is the default
    assert soft_label(igbp).dtype == np.float32
    # a full LC patch (4, H, W): only its first band (IGBP) counts
    lc = np.stack([igbp, np.full_like(igbp, 11), np.full_like(igbp, 40), np.full_like(igbp, 50)])
    np.testing.assert_allclose(soft_label(lc, "dfc10"), dfc10, rtol=1e-6)
    # stacked patches give the same rows
    stack = soft_labels(np.stack([igbp, np.full_like(igbp, 17)]), "dfc9")
    np.testing.assert_allclose(stack, [dfc9, np.eye(9)[8]], rtol=1e-6)


def test_soft_label_of_savanna_and_unknown_codes() -> None:
    savanna = np.full((4, 4), 9, dtype=np.uint16)
    savanna[0, :2] = 8  # woody savanna is savanna too
    assert soft_label(savanna, "dfc9").tolist() == [0.0] * 9
    assert soft_label(savanna, "dfc10").tolist() == np.eye(10)[2].tolist()
    half = np.array([[9, 9], [10, 0]])  # savanna, savanna, grassland, unknown code 0
    unknown = r"1 of 1 IGBP map\(s\) hold codes outside 1\.\.17 \(\[0\], up to 25\.0% of a map's pixels\)"
    with pytest.warns(LabelCodeWarning, match=unknown):  # never silently, even in the pure function
        assert soft_label(half, "dfc9").tolist() == np.eye(9)[2].tolist()  # only the grassland pixel counts
    with pytest.warns(LabelCodeWarning, match="ignored and each label renormalised"):
        np.testing.assert_allclose(soft_label(half, "dfc10"), [0, 0, 2 / 3, 1 / 3, 0, 0, 0, 0, 0, 0], rtol=1e-6)
    with pytest.raises(ValueError, match=r"Expected an LC patch \(H, W\) or \(bands, H, W\)"):
        soft_label(np.zeros(5))


@pytest.mark.slow
def test_dataset_drops_pure_savanna_under_dfc9_only(synthetic_copy: Path) -> None:
    p = _path(synthetic_copy, 3, 4, "lc")
    lc = _read(p)
    lc[0] = 9
    _rewrite(p, lc)
    pid = PatchKey(SF, 3, 4).id
    with pytest.warns(UserWarning, match=rf"Skipped 1 SEN12MS patch.*{pid}: no pixel of a dfc9 class"):
        ds9 = Sen12MS(synthetic_copy, split="all", label_scheme="dfc9", progress=False)
    assert pid not in ds9.ids and len(ds9) == N_PATCHES - 1
    assert [s for s, _ in ds9.skipped] == [pid]
    assert ds9.n_classes == 9 and "Savanna" not in ds9.class_names
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ds10 = Sen12MS(synthetic_copy, split="all", label_scheme="dfc10", progress=False)
    assert ds10.skipped == [] and len(ds10) == N_PATCHES
    assert ds10.n_classes == 10 and ds10.class_names[2] == "Savanna"
    np.testing.assert_array_equal(ds10[_index(ds10, 3, 4)][1].numpy(), np.eye(10, dtype=np.float32)[2])


def _reference_label(igbp: np.ndarray, scheme: str = "dfc9") -> np.ndarray:
    """The soft label computed by hand: histogram of the kept simplified classes of the IGBP 1..17 pixels."""
    kept = [c for c in range(1, 11) if scheme == "dfc10" or c != 3]
    simple = np.array([IGBP_TO_SIMPLE.get(int(v), 0) for v in igbp.ravel()])
    counts = np.array([(simple == c).sum() for c in kept], dtype=np.float64)
    return counts / counts.sum()


def test_label_codes_counts_the_values_outside_igbp() -> None:
    igbp = np.array([[1, 10, 10, 0], [18, 255, 17, 17], [17, 0, 300, 9]], dtype=np.uint16)
    codes = label_codes(igbp)
    assert codes.invalid == {0: 2, 18: 1, 255: 1, 300: 1}
    #                                     none F  Sh Sa G  W  Cr U  Sn B  Wa
    np.testing.assert_array_equal(codes.counts, [5, 1, 0, 1, 2, 0, 0, 0, 0, 0, 3])
    assert codes.share == pytest.approx(5 / 12)
    clean_codes = label_codes(np.array([[1, 2], [3, 17]], dtype=np.int32))  # signed maps too
    assert clean_codes.invalid == {} and clean_codes.share == 0.0
    assert label_codes(np.array([[-1, 5]])).invalid == {-1: 1}


def test_check_label_codes_threshold_and_messages(tmp_path: Path) -> None:
    assert INVALID_CODE_MAX_SHARE == 0.05
    path = tmp_path / "x_lc_1_p1.tif"
    igbp = np.full((20, 20), 10, dtype=np.uint16)
    igbp.flat[:20] = 0  # 20 of 400 pixels: exactly 5 %, tolerated
    check_label_codes(label_codes(igbp), path)
    igbp.flat[20] = 255  # 21 of 400 pixels: 5.25 %
    match = rf"{re.escape(str(path))}: 5\.2% of the pixels hold codes outside IGBP 1\.\.17 \(0: 20 px, 255: 1 px\)"
    with pytest.raises(LabelCodeError, match=match):
        check_label_codes(label_codes(igbp), path)
    check_label_codes(label_codes(igbp), path, max_share=0.1)
    igbp[:] = 10
    igbp[0, 0] = 999  # a single value above 255 is not a MODIS IGBP raster, whatever its share
    with pytest.raises(LabelCodeError, match=rf"{re.escape(str(path))}: the IGBP band holds values outside 0\.\.255 "
                                             r"\(999: 1 px\), which no MODIS IGBP raster has"):
        check_label_codes(label_codes(igbp), path, max_share=1.0)
    assert issubclass(LabelCodeError, Sen12MSError) and issubclass(LabelCodeWarning, Sen12MSWarning)


@pytest.mark.slow
def test_clean_root_labels_are_unchanged(synthetic_root: Path) -> None:
    """No warning, nothing skipped, and every label is the hand-computed histogram of its LC file."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ds = Sen12MS(synthetic_root, split="all", progress=False)
    assert ds.skipped == [] and ds.skipped_patches == [] and ds.label_code_patches == []
    assert ds.store.invalid_codes == {}
    expected = np.stack([_reference_label(_read(patch_path(synthetic_root, k, "lc"))[0]) for k in ds.keys])
    np.testing.assert_allclose(ds.labels, expected, rtol=0, atol=1e-7)


def _sprinkle_invalid_codes(root: Path, scene: int, patch: int) -> tuple[Path, np.ndarray]:
    """Put codes 0 (40 px) and 255 (11 px) in an LC file: 51 of 1024 px, 4.98 %, just under the threshold."""
    p = _path(root, scene, patch, "lc")
    lc = _read(p)
    flat = lc[0].reshape(-1)
    flat[:40] = 0
    flat[100:111] = 255
    _rewrite(p, lc)
    return p, lc[0]


@pytest.mark.slow
@pytest.mark.parametrize("cache", [True, False])
def test_small_share_of_invalid_codes_warns_and_renormalises(synthetic_copy: Path, tmp_path: Path,
                                                             cache: bool) -> None:
    clean_ds = Sen12MS(synthetic_copy, split="all", progress=False, cache_dir=tmp_path / "clean")
    p, igbp = _sprinkle_invalid_codes(synthetic_copy, 3, 4)
    pid = PatchKey(SF, 3, 4).id
    match = (rf"1 SEN12MS patch\(es\) of .* hold land-cover codes outside IGBP 1\.\.17 on at most 5% .*"
             rf"renormalised over the others: {re.escape(str(p))} \(5\.0% of the pixels; codes 0: 40 px, 255: 11 px\)")
    for attempt in ("build", "cache hit"):  # the cache keeps the warning: it is raised again on a hit
        with pytest.warns(LabelCodeWarning, match=match):
            ds = Sen12MS(synthetic_copy, split="all", cache=cache, progress=False)
        assert ds.store.rebuilt == (attempt == "build")
        assert ds.label_code_patches == [{"patch": pid, "file": str(p), "codes": [0, 255], "share": 51 / 1024}]
        assert ds.skipped_patches == [] and len(ds) == N_PATCHES
        # the label of the patch: its valid pixels, renormalised
        label = ds[_index(ds, 3, 4)][1].numpy()
        np.testing.assert_allclose(label, _reference_label(igbp), atol=1e-6)
        assert float(label.sum()) == pytest.approx(1.0)
        # every other patch keeps exactly its label
        others = [i for i, k in enumerate(ds.ids) if k != pid]
        np.testing.assert_array_equal(ds.labels[others], clean_ds.labels[others])


@pytest.mark.slow
def test_dataset_skips_pure_unknown_codes_as_label_errors(synthetic_copy: Path) -> None:
    p = _path(synthetic_copy, 1, 2, "lc")
    lc = _read(p)
    lc[0] = 0  # no IGBP code at all: a label error (it used to be silently "unlabelled")
    _rewrite(p, lc)
    with pytest.raises(LabelCodeError, match=rf"{re.escape(str(p))}: 100\.0% of the pixels .* \(0: 1024 px\)"):
        Sen12MS(synthetic_copy, progress=False)
    with pytest.warns(UserWarning, match=r"Skipped 1 SEN12MS patch"):
        ds = Sen12MS(synthetic_copy, split="all", bad_patch="skip", progress=False)
    assert ds.skipped_patches == [{"patch": PatchKey(SF, 1, 2).id, "file": str(p), "error": "LabelCodeError",
                                   "reason": ds.skipped[0][1]}]


@pytest.mark.slow
def test_skipped_patches_are_the_same_for_every_split_and_modality(synthetic_copy: Path) -> None:
    bad = _truncate(synthetic_copy)
    savanna = _path(synthetic_copy, 3, 4, "lc")
    lc = _read(savanna)
    lc[0] = 9
    _rewrite(savanna, lc)
    records = []
    for modality, split in (("s1", "train"), ("s2", "test"), ("s2", "all")):
        with pytest.warns(UserWarning, match="Skipped 2 SEN12MS patch"):
            ds = Sen12MS(synthetic_copy, modality=modality, split=split, bad_patch="skip", progress=False)
        records.append(ds.skipped_patches)
    assert records[0] == records[1] == records[2]
    assert [(r["patch"], r["file"], r["error"]) for r in records[0]] == [
        (PatchKey(SF, 2, 5).id, str(bad), "CorruptFileError"),
        (PatchKey(SF, 3, 4).id, str(savanna), "unlabelled"),
    ]
    assert json.loads(json.dumps(records[0])) == records[0]


# -- normalisation ---------------------------------------------------------------------------


def test_clean_by_hand() -> None:
    s1 = np.array([[[np.nan, -40.0, -25.0, -12.5, 0.0, 7.5, np.inf, -np.inf]]], dtype=np.float32)
    out = clean("s1", s1)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out[0, 0], [-25, -25, -25, -12.5, 0, 0, 0, -25])
    s2 = np.array([[[0, 1, 5000, 9999, 10000, 10001, 12000, 65535]]], dtype=np.uint16)
    out = clean("s2", s2)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out[0, 0], [0, 1, 5000, 9999, 10000, 10000, 10000, 10000])


@pytest.mark.slow
@pytest.mark.parametrize("cache", [True, False])
def test_s1_nan_and_clipping_in_the_dataset(synthetic_copy: Path, cache: bool) -> None:
    p = _path(synthetic_copy, 2, 5, "s1")
    s1 = _read(p)
    s1[:, 0, 0] = np.nan  # NaN in both bands -> the clip floor
    s1[0, 0, 1], s1[0, 0, 2], s1[0, 0, 3] = -40.0, 7.5, -12.5  # below, above, inside [-25, 0]
    s1[1, 0, 1], s1[1, 0, 2] = 3.0, -31.0
    _rewrite(p, s1)
    ds = Sen12MS(synthetic_copy, modality="s1", split="all", cache=cache, progress=False)
    (mvv, svv), (mvh, svh) = PUBLISHED_STATS["VV"], PUBLISHED_STATS["VH"]
    assert ds.stats["mean"] == [mvv, mvh] and ds.stats["std"] == [svv, svh]
    assert ds.stats["bands"] == ["VV", "VH"] and ds.stats["normalization"] == "sen12ms"
    assert ds.stats["source"] == {"VV": "published (SEN12MS)", "VH": "published (SEN12MS)"}
    assert ds.stats["clip"] == [-25.0, 0.0] and ds.stats["nan_fill"] == -25.0
    x = ds[_index(ds, 2, 5)][0].numpy()
    assert np.isfinite(x).all()
    np.testing.assert_allclose(
        x[0, 0, :4], [(-25 - mvv) / svv, (-25 - mvv) / svv, (0 - mvv) / svv, (-12.5 - mvv) / svv], atol=1e-5
    )
    np.testing.assert_allclose(x[1, 0, :3], [(-25 - mvh) / svh, (0 - mvh) / svh, (-25 - mvh) / svh], atol=1e-5)
    raw = _denormalise(ds.images(), ds)
    assert raw.min() >= -25 - 1e-4 and raw.max() <= 0 + 1e-4


@pytest.mark.slow
@pytest.mark.parametrize("cache", [True, False])
def test_s2_clipping_and_band_selection(synthetic_copy: Path, cache: bool) -> None:
    p = _path(synthetic_copy, 2, 5, "s2")
    s2 = _read(p)
    b02, b04 = S2_BANDS.index("B02"), S2_BANDS.index("B04")
    s2[b02, 0, :4] = [12000, 65535, 10000, 0]
    s2[b04, 0, 0] = 4321
    _rewrite(p, s2)
    ds = Sen12MS(synthetic_copy, modality="s2", split="all", cache=cache, progress=False)
    assert ds.in_channels == 10 and ds[0][0].shape == (10, SIDE, SIDE)
    assert ds.band_names == ["B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B11", "B12"]
    assert ds.stats["bands"] == ds.band_names and ds.stats["clip"] == [0.0, 10000.0]
    assert ds.stats["mean"] == [PUBLISHED_STATS[b][0] for b in ds.band_names]
    assert ds.stats["std"] == [PUBLISHED_STATS[b][1] for b in ds.band_names]
    assert set(ds.stats["source"].values()) == {"published (SEN12MS)"} and ds.stats["nan_fill"] is None
    x = ds[_index(ds, 2, 5)][0].numpy()
    m02, s02 = PUBLISHED_STATS["B02"]
    m04, s04 = PUBLISHED_STATS["B04"]
    np.testing.assert_allclose(x[0, 0, :4], np.array([10000, 10000, 10000, 0]) / s02 - m02 / s02, atol=1e-5)
    assert x[2, 0, 0] == pytest.approx((4321 - m04) / s04, abs=1e-5)  # channel 2 is B04

    all13 = Sen12MS(synthetic_copy, modality="s2all", split="all", cache=cache, progress=False)
    assert all13.in_channels == 13 and all13.band_names == list(S2_BANDS)
    assert all13[0][0].shape == (13, SIDE, SIDE)
    derived = {"B01", "B09", "B10"}  # no published statistics: computed on the training split
    assert all13.stats["source"] == {
        b: "training split" if b in derived else "published (SEN12MS)" for b in S2_BANDS
    }
    train = np.stack([_expected(synthetic_copy, k, "s2all") for k in all13.train_keys]).astype(np.float64)
    for b in derived:
        i = S2_BANDS.index(b)
        assert all13.stats["mean"][i] == pytest.approx(train[:, i].mean(), rel=1e-9)
        assert all13.stats["std"][i] == pytest.approx(train[:, i].std(), rel=1e-9)
    y = all13[_index(all13, 2, 5)][0].numpy()
    assert y[b02, 0, 1] == pytest.approx((10000 - m02) / s02, abs=1e-5)
    np.testing.assert_allclose(y[[S2_BANDS.index(b) for b in ds.band_names]], x, atol=1e-5)


@pytest.mark.slow
def test_dataset_normalization_uses_the_training_split_only(synthetic_root: Path) -> None:
    ds = Sen12MS(synthetic_root, modality="s2", split="test", normalization="dataset", test_fraction=0.25,
                 progress=False)
    assert set(ds.stats["source"].values()) == {"training split"}
    train = np.stack([_expected(synthetic_root, k, "s2") for k in ds.train_keys]).astype(np.float64)
    test = np.stack([_expected(synthetic_root, k, "s2") for k in ds.test_keys]).astype(np.float64)
    np.testing.assert_allclose(ds.stats["mean"], train.mean(axis=(0, 2, 3)), rtol=1e-9)
    np.testing.assert_allclose(ds.stats["std"], train.std(axis=(0, 2, 3)), rtol=1e-9)
    both = np.concatenate([train, test]).mean(axis=(0, 2, 3))
    assert not np.allclose(ds.stats["mean"], both, rtol=1e-6)  # the test patches did not enter
    z = ds.images().astype(np.float64)
    np.testing.assert_allclose(z * np.asarray(ds.stats["std"])[:, None, None]
                               + np.asarray(ds.stats["mean"])[:, None, None], test, atol=5e-3)


# -- reading -----------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("cache", [True, False])
@pytest.mark.parametrize("modality", ["s1", "s2", "s2all", "rgb"])
def test_round_trip_against_rasterio(synthetic_root: Path, modality: str, cache: bool) -> None:
    ds = Sen12MS(synthetic_root, modality=modality, split="all", cache=cache, progress=False)
    channels = {"s1": 2, "s2": 10, "s2all": 13, "rgb": 3}[modality]
    assert len(ds) == N_PATCHES and ds.in_channels == channels
    atol = S1_CACHE_ATOL + 1e-4 if (modality == "s1" and cache) else (1e-4 if modality == "s1" else 5e-3)
    for i, key in enumerate(ds.keys):
        x, y = ds[i]
        assert x.dtype == torch.float32 and x.shape == (channels, SIDE, SIDE)
        assert y.dtype == torch.float32 and y.shape == (9,)
        assert float(y.sum()) == pytest.approx(1.0, abs=1e-6) and float(y.min()) >= 0
        lc = _read(patch_path(synthetic_root, key, "lc"))
        np.testing.assert_allclose(y.numpy(), soft_label(lc, "dfc9"), atol=1e-6)
        np.testing.assert_allclose(_denormalise(x, ds), _expected(synthetic_root, key, modality), atol=atol)
    assert ds.ids == [k.id for k in ds.keys] and ds.ids[0] == f"{SF}_1_p1"
    # whole batches (what the DataLoader calls) equal the items, in the requested order
    idx = [5, 0, 33, 17]
    xb, yb = ds.__getitems__(idx)
    assert xb.shape == (4, channels, SIDE, SIDE) and yb.shape == (4, 9)
    for j, i in enumerate(idx):
        torch.testing.assert_close(xb[j], ds[i][0], rtol=0, atol=0)
        torch.testing.assert_close(yb[j], ds[i][1], rtol=0, atol=0)


@pytest.mark.slow
def test_dataloader_batches(synthetic_root: Path) -> None:
    ds = Sen12MS(synthetic_root, modality="s2", split="all", progress=False)
    batches = list(DataLoader(ds, batch_size=8, shuffle=False, collate_fn=_batch))
    assert [len(b[0]) for b in batches] == [8, 8, 8, 8, 4]
    x = torch.cat([b[0] for b in batches])
    torch.testing.assert_close(x, torch.from_numpy(ds.images()), rtol=0, atol=0)
    torch.testing.assert_close(torch.cat([b[1] for b in batches]), torch.from_numpy(ds.labels), rtol=0, atol=0)


@pytest.mark.slow
@pytest.mark.parametrize(
    "kwargs",
    [
        dict(split="train"),
        dict(split="test"),
        dict(split="test", split_method="random", test_fraction=0.3, seed=4),
        dict(split="train", n_samples=10, seed=2),
    ],
)
def test_s1_and_s2_list_the_same_patches(synthetic_root: Path, kwargs: dict) -> None:
    s1 = Sen12MS(synthetic_root, modality="s1", progress=False, **kwargs)
    s2 = Sen12MS(synthetic_root, modality="s2", progress=False, **kwargs)
    assert len(s1) > 0 and s1.ids == s2.ids and s1.keys == s2.keys
    np.testing.assert_array_equal(s1.labels, s2.labels)
    for i in (0, len(s1) - 1):
        torch.testing.assert_close(s1[i][1], s2[i][1], rtol=0, atol=0)
    if "n_samples" in kwargs:
        assert len(s1) == kwargs["n_samples"]


@pytest.mark.slow
@pytest.mark.parametrize(("modality", "patch_size"), [("s1", None), ("s2", None), ("s1", 16), ("s2", 16)])
def test_no_cache_gives_the_cache_values(synthetic_root: Path, modality: str, patch_size: int | None) -> None:
    common = dict(modality=modality, split="all", patch_size=patch_size, progress=False)
    cached = Sen12MS(synthetic_root, cache=True, **common)
    direct = Sen12MS(synthetic_root, cache=False, **common)
    assert direct.ids == cached.ids
    np.testing.assert_array_equal(direct.labels, cached.labels)
    a, b = cached.images(), direct.images()
    side = patch_size or SIDE
    assert a.shape == b.shape == (N_PATCHES, cached.in_channels, side, side)
    if modality == "s2":
        np.testing.assert_array_equal(a, b)  # integer reflectances in both paths
    else:
        # the cache stores S1 in float16 (documented in xmodal.data.cache)
        std = np.asarray(cached.stats["std"])[:, None, None]
        np.testing.assert_allclose(a, b, rtol=0, atol=(S1_CACHE_ATOL + 1e-5) / std.min())
    if patch_size:
        # area averaging of the stored 32 px patches
        full = Sen12MS(synthetic_root, cache=False, modality=modality, split="all", progress=False)
        raw = _denormalise(full.images([3]), full)[0]
        if modality == "s2":
            raw = np.rint(raw)  # the stored reflectances are integers
        pooled = raw.reshape(raw.shape[0], side, 2, side, 2).mean(axis=(2, 4))
        if modality == "s2":
            pooled = np.rint(pooled)  # rounded half to even, as stored
        np.testing.assert_allclose(_denormalise(direct.images([3]), direct)[0], pooled, atol=5e-3)


# -- splits ------------------------------------------------------------------------------------


def _keys(n_scenes: int, per_scene: int) -> list[PatchKey]:
    return [PatchKey(SF, s, p) for s in range(1, n_scenes + 1) for p in range(1, per_scene + 1)]


@pytest.mark.slow
def test_scene_split_holds_out_whole_scenes(synthetic_root: Path) -> None:
    ds = Sen12MS(synthetic_root, modality="s1", split="test", split_method="scene", test_fraction=0.25,
                 progress=False)
    train_scenes = {k.scene for k in ds.train_keys}
    test_scenes = {k.scene for k in ds.test_keys}
    assert train_scenes.isdisjoint(test_scenes)
    assert train_scenes | test_scenes == set(range(1, N_SCENES + 1))
    assert len(ds.test_keys) == N_PER_SCENE and ds.keys == ds.test_keys
    assert sorted(ds.train_keys + ds.test_keys) == sorted(_keys(N_SCENES, N_PER_SCENE))
    assert ds.leakage() == 0.0
    for seed in range(5):
        train, test = make_split(_keys(10, 9), "scene", 0.3, seed)
        assert {k.scene for k in train}.isdisjoint({k.scene for k in test})
        assert len(test) == 27  # three whole scenes reach 30 % of 90 patches


@pytest.mark.slow
def test_random_split_leaks_and_scene_split_does_not(synthetic_root: Path) -> None:
    out = split_leakage(synthetic_root, test_fraction=0.25)
    assert out["scene"] == 0.0
    assert out["random"] > 0.5  # neighbouring patches overlap by half


def test_random_split_is_seeded() -> None:
    keys = _keys(4, 25)
    a = make_split(keys, "random", 0.2, seed=0)
    assert make_split(list(reversed(keys)), "random", 0.2, seed=0) == a  # input order does not matter
    b = make_split(keys, "random", 0.2, seed=1)
    assert a != b and set(a[1]) != set(b[1])
    for train, test in (a, b):
        assert len(test) == 20 and set(train).isdisjoint(test) and sorted(train + test) == sorted(keys)
        assert train == sorted(train) and test == sorted(test)


@pytest.mark.parametrize(("n", "n_test"), [(36, 5), (100, 13), (1000, 126), (31825, 4000)])
def test_random_split_is_proportional(n: int, n_test: int) -> None:
    keys = [PatchKey(SF, 1 + i // 100, 1 + i % 100) for i in range(n)]
    train, test = make_split(keys, "random", PAPER_TEST_FRACTION, seed=0)
    assert len(test) == n_test == round(n * PAPER_TEST_FRACTION)
    assert len(train) == n - n_test


@pytest.mark.slow
def test_random_split_of_the_dataset(synthetic_root: Path) -> None:
    test = Sen12MS(synthetic_root, modality="s2", split="test", split_method="random", progress=False)
    train = Sen12MS(synthetic_root, modality="s2", split="train", split_method="random", progress=False)
    assert len(test) == round(N_PATCHES * PAPER_TEST_FRACTION) == 5
    assert len(train) == N_PATCHES - 5 and set(train.ids).isdisjoint(test.ids)
    other = Sen12MS(synthetic_root, modality="s2", split="test", split_method="random", seed=1, progress=False)
    assert other.ids != test.ids


@pytest.mark.parametrize("modalities", [["s1", "s2"], ["s1", "s2", "rgb"]])
def test_partition_scenes_gives_every_modality_scenes_of_its_own(modalities: list[str]) -> None:
    # 10 scenes of unequal sizes: scene s holds s patches
    keys = [PatchKey(SF, s, p) for s in range(1, 11) for p in range(1, s + 1)]
    m = len(modalities)
    partitions = []
    for seed in range(5):
        parts = partition_scenes(keys, modalities, seed)
        assert list(parts) == modalities
        scenes = {mod: {k.scene for k in part} for mod, part in parts.items()}
        for a in modalities:
            for b in modalities:
                if a != b:
                    assert scenes[a].isdisjoint(scenes[b]), (seed, a, b)
            assert len(scenes[a]) in (10 // m, -(-10 // m))  # about 1/M of the scenes each
            assert parts[a] == [k for k in keys if k.scene in scenes[a]]  # whole scenes, in input order
        assert sorted(k for part in parts.values() for k in part) == sorted(keys)  # every patch, once
        assert partition_scenes(keys, modalities, seed) == parts  # seeded
        assert partition_scenes(list(reversed(keys)), modalities, seed) == {
            mod: list(reversed(part)) for mod, part in parts.items()}  # the input order only orders the parts
        partitions.append(scenes)
    assert len({tuple(sorted(p[modalities[0]])) for p in partitions}) > 1  # the seed matters


def test_partition_scenes_needs_a_scene_per_modality() -> None:
    keys = _keys(2, 3)
    assert [len(part) for part in partition_scenes(keys, ["s1", "s2"]).values()] == [3, 3]
    with pytest.raises(ValueError, match=r"has 2 scene\(s\) \[1, 2\] for 3 modalities \['s1', 's2', 'rgb'\]"):
        partition_scenes(keys, ["s1", "s2", "rgb"])
    with pytest.raises(ValueError, match="distinct modalities"):
        partition_scenes(keys, ["s1", "s1"])


@pytest.mark.slow
def test_disjoint_pairing_of_the_dataset(synthetic_root: Path) -> None:
    common = dict(split_method="scene", test_fraction=0.25, progress=False, pairing="disjoint",
                  pairing_modalities=["s1", "s2"])
    train = {m: Sen12MS(synthetic_root, modality=m, split="train", **common) for m in ("s1", "s2")}
    test = {m: Sen12MS(synthetic_root, modality=m, split="test", **common) for m in ("s1", "s2")}
    aligned = Sen12MS(synthetic_root, modality="s1", split="train", split_method="scene", test_fraction=0.25,
                      progress=False)
    scenes = {m: {k.scene for k in ds.keys} for m, ds in train.items()}
    assert scenes["s1"] and scenes["s2"] and scenes["s1"].isdisjoint(scenes["s2"])
    assert sorted(train["s1"].keys + train["s2"].keys) == sorted(aligned.keys)  # the whole training split
    assert train["s1"].keys == train["s1"].train_part and train["s1"].train_keys == aligned.train_keys
    assert test["s1"].ids == test["s2"].ids == Sen12MS(  # the test set stays aligned
        synthetic_root, modality="s2", split="test", split_method="scene", test_fraction=0.25, progress=False).ids
    small = Sen12MS(synthetic_root, modality="s2", split="train", n_samples=3, **common)
    assert set(small.keys) <= set(train["s2"].keys) and len(small) == 3
    too_many = len(train["s1"]) + 1
    with pytest.raises(ValueError, match=rf"n_samples={too_many} exceeds the {len(train['s1'])} patches of the "
                                         r"s1 part of the train split \(scene; pairing 'disjoint'"):
        Sen12MS(synthetic_root, modality="s1", split="train", n_samples=too_many, **common)
    with pytest.raises(ValueError, match="must hold modality 'rgb'"):
        Sen12MS(synthetic_root, modality="rgb", split="train", **common)
    with pytest.raises(ValueError, match=r"Unknown pairing 'paired'; choose one of \['aligned', 'disjoint'\]"):
        Sen12MS(synthetic_root, modality="s1", pairing="paired", progress=False)


@pytest.mark.slow
def test_disjoint_pairing_normalises_with_the_own_scenes(synthetic_root: Path) -> None:
    common = dict(test_fraction=0.25, progress=False, normalization="dataset", pairing="disjoint",
                  pairing_modalities=["s1", "s2"])
    own = Sen12MS(synthetic_root, modality="s2", split="test", **common)
    part = np.stack([_expected(synthetic_root, k, "s2") for k in own.train_part]).astype(np.float64)
    np.testing.assert_allclose(own.stats["mean"], part.mean(axis=(0, 2, 3)), rtol=1e-9)
    assert len(own.train_part) < len(own.train_keys)


@pytest.mark.slow
def test_official_split_reads_the_lists(synthetic_copy: Path) -> None:
    train = [PatchKey(SF, s, p) for s in (1, 2) for p in range(1, 10)]
    test = [PatchKey(SF, 4, p) for p in range(1, 10)]
    # S2 names for training; LC names, S1 names with a folder, and blank lines for testing
    (synthetic_copy / "train_list.txt").write_text(
        "\n".join(patch_path(synthetic_copy, k, "s2").name for k in train) + "\n"
    )
    lines = [patch_path(synthetic_copy, k, "lc").name for k in test[:5]]
    lines += ["", "  "] + [f"{SF}/s1_4/{patch_path(synthetic_copy, k, 's1').name}" for k in test[5:]]
    (synthetic_copy / "test_list.txt").write_text("\n".join(lines) + "\n")
    ds = Sen12MS(synthetic_copy, modality="s1", split="test", split_method="official", progress=False)
    assert ds.train_keys == train and ds.test_keys == test and ds.keys == test
    assert Sen12MS(synthetic_copy, modality="s2", split="train", split_method="official",
                   progress=False).ids == [k.id for k in train]
    # scene 3 is in neither list, so in neither set
    assert all(k.scene != 3 for k in ds.train_keys + ds.test_keys)


@pytest.mark.slow
def test_official_split_without_lists(synthetic_copy: Path) -> None:
    with pytest.raises(MissingFileError, match=r"Official split list not found: .*train_list\.txt"):
        Sen12MS(synthetic_copy, split_method="official", progress=False)
    (synthetic_copy / "train_list.txt").write_text(f"{SF}_s2_1_p1.tif\n")
    with pytest.raises(MissingFileError, match=r"Official split list not found: .*test_list\.txt") as info:
        Sen12MS(synthetic_copy, split_method="official", progress=False)
    assert str(synthetic_copy / "test_list.txt") in str(info.value)
    (synthetic_copy / "test_list.txt").write_text("\n")
    with pytest.raises(ValueError, match="name 1 training and 0 test patches"):
        Sen12MS(synthetic_copy, split_method="official", progress=False)


def _write_lists(root: Path, train: list[str], test: list[str]) -> tuple[Path, Path]:
    """Write the official lists (one name per line) and return their paths."""
    paths = root / "train_list.txt", root / "test_list.txt"
    for path, lines in zip(paths, (train, test), strict=True):
        path.write_text("\n".join(lines) + "\n")
    return paths


def _names(root: Path, scenes: tuple[int, ...], sensor: str = "s2") -> list[str]:
    return [patch_path(root, PatchKey(SF, s, p), sensor).name for s in scenes for p in range(1, 10)]


@pytest.mark.slow
def test_official_split_warns_about_a_duplicate_line(synthetic_copy: Path) -> None:
    train = _names(synthetic_copy, (1, 2))
    train.insert(3, patch_path(synthetic_copy, PatchKey(SF, 1, 2), "lc").name)  # line 4: the LC name of line 2
    train_list, _ = _write_lists(synthetic_copy, train, _names(synthetic_copy, (4,)))
    match = (rf"{re.escape(str(train_list))}: 1 duplicate line\(s\), each patch counts once: "
             rf"line 4 repeats {SF}_1_p2 of line 2")
    with pytest.warns(SplitListWarning, match=match):
        ds = Sen12MS(synthetic_copy, split="train", split_method="official", progress=False)
    assert ds.train_keys == [PatchKey(SF, s, p) for s in (1, 2) for p in range(1, 10)]
    assert ds.skipped_patches == []


@pytest.mark.slow
@pytest.mark.parametrize("bad_patch", ["raise", "skip"])
def test_official_split_rejects_a_patch_in_both_lists(synthetic_copy: Path, bad_patch: str) -> None:
    test = _names(synthetic_copy, (4,)) + [patch_path(synthetic_copy, PatchKey(SF, 2, 7), "s1").name]
    train_list, test_list = _write_lists(synthetic_copy, _names(synthetic_copy, (1, 2)), test)
    match = (rf"1 patch\(es\) are in both {re.escape(str(train_list))} and {re.escape(str(test_list))}, a train/test "
             rf"leak: {SF}_2_p7 \(train_list\.txt line 16, test_list\.txt line 10\)")
    with pytest.raises(SplitListError, match=match):  # a leak is never skipped
        Sen12MS(synthetic_copy, split_method="official", bad_patch=bad_patch, progress=False)


@pytest.mark.slow
def test_official_split_with_a_listed_patch_missing(synthetic_copy: Path) -> None:
    train = _names(synthetic_copy, (1, 2))
    train.insert(2, f"{SF}_s2_7_p1.tif")  # line 3: scene 7 does not exist
    train.append("ROIs1158_spring_s2_1_p1.tif")  # another season: not looked for in a winter root
    train_list, _ = _write_lists(synthetic_copy, train, _names(synthetic_copy, (4,)))
    line = rf"{re.escape(str(train_list))}, line 3: lists {SF}_7_p1, which has no file under"
    with pytest.raises(MissingFileError, match=rf"1 patch\(es\) of the official split lists have no file: {line}"):
        Sen12MS(synthetic_copy, split_method="official", progress=False)
    with (
        pytest.warns(SplitListWarning, match=f"have no file and are left out: {line}"),
        pytest.warns(UserWarning, match=rf"Skipped 1 SEN12MS patch\(es\) of .*; first: {line}"),
    ):
        ds = Sen12MS(synthetic_copy, split="train", split_method="official", bad_patch="skip", progress=False)
    assert ds.train_keys == [PatchKey(SF, s, p) for s in (1, 2) for p in range(1, 10)]
    assert ds.skipped_patches == [{"patch": f"{SF}_7_p1", "file": str(train_list), "error": "MissingFileError",
                                   "reason": ds.skipped[0][1]}]


@pytest.mark.slow
def test_official_split_with_a_bad_listed_patch_reports_it_once(synthetic_copy: Path) -> None:
    """A listed patch whose file is corrupt is a bad patch (on disk), not a missing one."""
    _write_lists(synthetic_copy, _names(synthetic_copy, (1, 2)), _names(synthetic_copy, (4,)))
    bad = _truncate(synthetic_copy)  # patch (2, 5), in the training list
    with pytest.raises(CorruptFileError, match=re.escape(str(bad))):
        Sen12MS(synthetic_copy, split_method="official", progress=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ds = Sen12MS(synthetic_copy, split_method="official", bad_patch="skip", progress=False)
    assert [type(w.message) for w in caught] == [Sen12MSWarning]  # "Skipped 1 ...", no list warning
    assert [r["error"] for r in ds.skipped_patches] == ["CorruptFileError"]
    assert PatchKey(SF, 2, 5) not in ds.train_keys and len(ds.train_keys) == 17


@pytest.mark.slow
def test_official_split_with_a_line_that_names_no_patch(synthetic_copy: Path) -> None:
    test = _names(synthetic_copy, (4,)) + ["notes: made by hand"]
    _, test_list = _write_lists(synthetic_copy, _names(synthetic_copy, (1, 2)), test)
    line = rf"{re.escape(str(test_list))}, line 10: 'notes: made by hand'"
    with pytest.raises(SplitListError, match=rf"1 line\(s\) of the official split lists name no SEN12MS patch.*{line}"):
        Sen12MS(synthetic_copy, split_method="official", progress=False)
    with pytest.warns(SplitListWarning, match=rf"{line}; those lines are ignored"):
        ds = Sen12MS(synthetic_copy, split="test", split_method="official", bad_patch="skip", progress=False)
    assert ds.keys == [PatchKey(SF, 4, p) for p in range(1, 10)]


@pytest.mark.slow
def test_read_official_lists_on_its_own(synthetic_copy: Path) -> None:
    train_list, test_list = _write_lists(synthetic_copy, _names(synthetic_copy, (1,)), _names(synthetic_copy, (2,)))
    lists = read_official_lists(synthetic_copy)  # no disk check without on_disk
    assert lists.train_path == train_list and lists.test_path == test_list and lists.missing == []
    assert lists.train[PatchKey(SF, 1, 3)] == 3 and lists.test[PatchKey(SF, 2, 9)] == 9
    # make_split alone takes its keys as the patches on disk
    keys = [PatchKey(SF, s, p) for s in (1, 2) for p in range(1, 9)]  # p9 of both scenes absent
    with pytest.raises(MissingFileError, match=r"2 patch\(es\) of the official split lists have no file"):
        make_split(keys, "official", root=synthetic_copy)
    with pytest.warns(SplitListWarning, match="left out"):
        train, test = make_split(keys, "official", root=synthetic_copy, bad_patch="skip")
    assert (len(train), len(test)) == (8, 8)


# -- the packed cache ----------------------------------------------------------------------------


def _forbid_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make any GeoTIFF decoding fail the test (a cache hit decodes nothing)."""

    def fail(path: Path, sensor: str) -> None:
        raise AssertionError(f"GeoTIFF decoded on a cache hit: {path}")

    monkeypatch.setattr("xmodal.data.cache.decode_patch", fail)


@pytest.mark.slow
def test_second_construction_is_a_cache_hit(synthetic_copy: Path, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    cache_dir = tmp_path / "cache"
    first = Sen12MS(synthetic_copy, modality="s2", cache_dir=cache_dir, progress=False)
    assert first.store.rebuilt
    manifest = first.store.dir / "manifest.json"
    assert manifest.is_file() and manifest.parent.parent.parent == cache_dir
    assert not (synthetic_copy / ".xmodal_cache").exists()
    stamp = manifest.stat().st_mtime_ns
    expected = first.images()

    _forbid_decoding(monkeypatch)
    again = Sen12MS(synthetic_copy, modality="s2", cache_dir=cache_dir, progress=False)
    assert not again.store.rebuilt
    np.testing.assert_array_equal(again.images(), expected)
    # one cache serves every modality and split
    s1 = Sen12MS(synthetic_copy, modality="s1", split="test", cache_dir=cache_dir, progress=False)
    assert not s1.store.rebuilt and len(s1) > 0
    assert manifest.stat().st_mtime_ns == stamp


@pytest.mark.slow
def test_changed_file_invalidates_the_cache(synthetic_copy: Path, tmp_path: Path) -> None:
    cache_dir = tmp_path / "cache"
    before = Sen12MS(synthetic_copy, modality="s2", split="all", cache_dir=cache_dir, progress=False)
    i = _index(before, 2, 3)
    p = _path(synthetic_copy, 2, 3, "s2")
    s2 = _read(p)
    new = np.full_like(s2, 4321)
    assert not np.array_equal(before.raw(i), clean("s2", new)[modality_spec("s2").band_index])
    size = p.stat().st_size
    with rasterio.open(p, "r+") as dst:  # new values written in place
        dst.write(new)
    assert p.stat().st_size == size  # same size: only the modification time tells
    lc_path = _path(synthetic_copy, 2, 3, "lc")
    lc = _read(lc_path)
    lc[0] = 17  # all water
    _rewrite(lc_path, lc)
    after = Sen12MS(synthetic_copy, modality="s2", split="all", cache_dir=cache_dir, progress=False)
    assert after.store.rebuilt
    np.testing.assert_array_equal(after.raw(_index(after, 2, 3)), np.full((10, SIDE, SIDE), 4321.0))
    np.testing.assert_array_equal(after[_index(after, 2, 3)][1].numpy(), np.eye(9, dtype=np.float32)[8])
    # the other patches are unchanged
    j = _index(before, 1, 1)
    np.testing.assert_array_equal(after.raw(j), before.raw(j))


@pytest.mark.slow
def test_added_and_removed_patches_invalidate_the_cache(synthetic_copy: Path, tmp_path: Path) -> None:
    cache_dir = tmp_path / "cache"
    before = Sen12MS(synthetic_copy, modality="s2", split="all", cache_dir=cache_dir, progress=False)
    assert len(before) == N_PATCHES
    new = PatchKey(SF, 2, 10)
    for sensor in ("s1", "s2", "lc"):
        shutil.copy(_path(synthetic_copy, 2, 9, sensor), patch_path(synthetic_copy, new, sensor))
    s2 = _read(patch_path(synthetic_copy, new, "s2"))
    _rewrite(patch_path(synthetic_copy, new, "s2"), np.full_like(s2, 1234))
    added = Sen12MS(synthetic_copy, modality="s2", split="all", cache_dir=cache_dir, progress=False)
    assert added.store.rebuilt and len(added) == N_PATCHES + 1
    assert added.ids[_index(added, 2, 9) + 1] == new.id  # sorted by (scene, patch number)
    np.testing.assert_array_equal(added.raw(added.ids.index(new.id)), np.full((10, SIDE, SIDE), 1234.0))
    for sensor in ("s1", "s2", "lc"):
        _path(synthetic_copy, 3, 1, sensor).unlink()
    removed = Sen12MS(synthetic_copy, modality="s2", split="all", cache_dir=cache_dir, progress=False)
    assert removed.store.rebuilt and len(removed) == N_PATCHES
    assert PatchKey(SF, 3, 1).id not in removed.ids


# -- bad inputs ----------------------------------------------------------------------------------


def _truncate(root: Path) -> Path:
    p = _path(root, 2, 5, "s2")
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2])
    return p


def _not_a_tiff(root: Path) -> Path:
    p = _path(root, 2, 5, "lc")
    p.write_text("this is a text file with a .tif name\n" * 20)
    return p


def _s2_band_count(root: Path) -> Path:
    p = _path(root, 2, 5, "s2")
    _rewrite(p, _read(p)[:12])
    return p


def _s1_band_count(root: Path) -> Path:
    p = _path(root, 2, 5, "s1")
    s1 = _read(p)
    _rewrite(p, np.concatenate([s1, s1[:1]]))
    return p


def _s2_dtype(root: Path) -> Path:
    p = _path(root, 2, 5, "s2")
    _rewrite(p, _read(p).astype(np.float32))
    return p


def _s1_dtype(root: Path) -> Path:
    p = _path(root, 2, 5, "s1")
    _rewrite(p, _read(p).astype(np.float64))
    return p


def _lc_dtype(root: Path) -> Path:
    p = _path(root, 2, 5, "lc")
    _rewrite(p, _read(p).astype(np.uint8))
    return p


def _s1_size(root: Path) -> Path:
    """Only the S1 file of a patch is smaller than its partners."""
    p = _path(root, 2, 5, "s1")
    _rewrite(p, _read(p)[:, :24, :24])
    return p


def _first_patch_size(root: Path) -> Path:
    """All three files of the first patch are smaller than the rest of the root."""
    for sensor in ("s1", "s2", "lc"):
        p = _path(root, 1, 1, sensor)
        _rewrite(p, _read(p)[:, :24, :24])
    return _path(root, 1, 1, "s2")


def _no_s1(root: Path) -> Path:
    p = _path(root, 2, 5, "s1")
    p.unlink()
    return p


def _no_lc(root: Path) -> Path:
    p = _path(root, 2, 5, "lc")
    p.unlink()
    return p


def _all_nan(root: Path) -> Path:
    p = _path(root, 2, 5, "s1")
    _rewrite(p, np.full_like(_read(p), np.nan))
    return p


def _lc_half_unknown(root: Path) -> Path:
    """The issue's example: half code 0, half grassland (it used to read as pure grassland)."""
    p = _path(root, 2, 5, "lc")
    lc = _read(p)
    lc[0] = 10
    lc[0, : SIDE // 2] = 0
    _rewrite(p, lc)
    return p


def _lc_above_255(root: Path) -> Path:
    """One IGBP pixel of 300: not an 8-bit MODIS raster (this used to raise a bare ValueError)."""
    p = _path(root, 2, 5, "lc")
    lc = _read(p)
    lc[0, 3, 4] = 300
    _rewrite(p, lc)
    return p


BAD_INPUTS: list[tuple[Callable[[Path], Path], type[Sen12MSError], str, tuple[int, int]]] = [
    (_truncate, CorruptFileError, "cannot be read as a GeoTIFF", (2, 5)),
    (_not_a_tiff, CorruptFileError, "cannot be read as a GeoTIFF.*not recognized", (2, 5)),
    (_s2_band_count, BandCountError, "12 bands, expected 13 for S2", (2, 5)),
    (_s1_band_count, BandCountError, r"3 bands, expected 2 for S1 \(VV, VH\)", (2, 5)),
    (_s2_dtype, DTypeError, "data type float32, expected uint16 for S2", (2, 5)),
    (_s1_dtype, DTypeError, "data type float64, expected float32 for S1", (2, 5)),
    (_lc_dtype, DTypeError, "data type uint8, expected uint16 for LC", (2, 5)),
    (_s1_size, PatchSizeError, r"24x24 pixels, but its partner files are 32x32 \(S2\), 32x32 \(LC\)", (2, 5)),
    (_first_patch_size, PatchSizeError, "24x24 pixels, but the other patches of this root are 32x32", (1, 1)),
    (_no_s1, MissingFileError, "has no partner file", (2, 5)),
    (_no_lc, MissingFileError, "has no partner file", (2, 5)),
    (_all_nan, AllNaNError, "every Sentinel-1 pixel is NaN", (2, 5)),
    (_lc_half_unknown, LabelCodeError,
     r"50\.0% of the pixels hold codes outside IGBP 1\.\.17 \(0: 512 px\), more than the 5% tolerated", (2, 5)),
    (_lc_above_255, LabelCodeError, r"the IGBP band holds values outside 0\.\.255 \(300: 1 px\)", (2, 5)),
]


@pytest.mark.slow
@pytest.mark.parametrize(("damage", "error", "match", "where"), BAD_INPUTS,
                         ids=[d[0].__name__.strip("_") for d in BAD_INPUTS])
def test_bad_patch_is_reported_with_its_file(
    synthetic_copy: Path, damage: Callable[[Path], Path], error: type[Sen12MSError], match: str,
    where: tuple[int, int],
) -> None:
    bad = damage(synthetic_copy)
    pid = PatchKey(SF, *where).id
    with pytest.raises(error, match=match) as info:
        Sen12MS(synthetic_copy, progress=False)
    assert str(bad) in str(info.value)
    assert "more bad patch" not in str(info.value)  # exactly one bad patch
    # the problem is recorded in the cache: raised again without decoding anew
    with pytest.raises(error, match=match):
        Sen12MS(synthetic_copy, modality="s1", progress=False)

    skipped = rf"Skipped 1 SEN12MS patch\(es\) of {re.escape(str(synthetic_copy))}; first: .*{re.escape(bad.name)}"
    with pytest.warns(UserWarning, match=skipped):
        ds = Sen12MS(synthetic_copy, split="all", bad_patch="skip", progress=False)
    assert not ds.store.rebuilt
    assert [p for p, _ in ds.skipped] == [pid] and str(bad) in ds.skipped[0][1]
    # the JSON-able record the trainer writes into result.json
    assert ds.skipped_patches == [{"patch": pid, "file": str(bad), "error": error.__name__, "reason": ds.skipped[0][1]}]
    assert json.loads(json.dumps(ds.skipped_patches)) == ds.skipped_patches
    assert len(ds) == N_PATCHES - 1 and pid not in ds.ids
    x, y = ds.__getitems__(list(range(len(ds))))
    assert torch.isfinite(x).all() and torch.allclose(y.sum(dim=1), torch.ones(len(ds)))


@pytest.mark.slow
def test_several_bad_patches(synthetic_copy: Path) -> None:
    first, second = _not_a_tiff(synthetic_copy), _path(synthetic_copy, 4, 2, "s2")
    _rewrite(second, _read(second)[:12])
    with pytest.raises(CorruptFileError, match=r"and 1 more bad patch\(es\); bad_patch='skip' skips them") as info:
        Sen12MS(synthetic_copy, progress=False)
    assert first.name in str(info.value)
    with pytest.warns(UserWarning, match="Skipped 2 SEN12MS patch"):
        ds = Sen12MS(synthetic_copy, split="all", bad_patch="skip", progress=False)
    assert [p for p, _ in ds.skipped] == [PatchKey(SF, 2, 5).id, PatchKey(SF, 4, 2).id]
    assert second.name in ds.skipped[1][1] and "12 bands" in ds.skipped[1][1]
    assert len(ds) == N_PATCHES - 2


def test_empty_root(tmp_path: Path) -> None:
    absent = rf"{re.escape(str(tmp_path))} has no folder {SF} for season 'winter' \(found no season folders\)"
    with pytest.raises(RootError, match=absent):
        Sen12MS(tmp_path, progress=False)
    (tmp_path / SF / "s2_1").mkdir(parents=True)
    with pytest.raises(RootError, match=rf"No SEN12MS patch files under {re.escape(str(tmp_path / SF))}"):
        Sen12MS(tmp_path, progress=False)


def test_nonexistent_root(tmp_path: Path) -> None:
    missing = tmp_path / "no_such_root"
    with pytest.raises(RootError, match=f"SEN12MS root not found: {re.escape(str(missing))}"):
        Sen12MS(missing, progress=False)
    assert not missing.exists()  # no cache folder created on the way


def test_root_that_is_a_file(tmp_path: Path) -> None:
    f = tmp_path / "sen12ms.tar"
    f.write_bytes(b"not a folder")
    with pytest.raises(RootError, match=f"SEN12MS root is not a folder: {re.escape(str(f))}"):
        Sen12MS(f, progress=False)


@pytest.mark.slow
def test_unknown_or_absent_season(synthetic_root: Path) -> None:
    unknown = r"Unknown season 'monsoon'; choose one of \['fall', 'spring', 'summer', 'winter'\]"
    with pytest.raises(ValueError, match=unknown):
        Sen12MS(synthetic_root, season="monsoon", progress=False)
    with pytest.raises(RootError, match=rf"has no folder ROIs1868_summer for season 'summer' \(found \['{SF}'\]\)"):
        Sen12MS(synthetic_root, season="summer", progress=False)


@pytest.mark.slow
def test_too_few_usable_patches(tmp_path: Path) -> None:
    make_synthetic(tmp_path, n_scenes=2, patches_per_side=1, patch_size=16, seed=5, progress=False)
    os.remove(_path(tmp_path, 2, 1, "s2"))
    with pytest.warns(UserWarning, match="Skipped 1"), pytest.raises(RootError, match="fewer than two usable patches"):
        Sen12MS(tmp_path, bad_patch="skip", progress=False)


@pytest.fixture(scope="module")
def small_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A smaller root than the shared one (2 scenes of 2 x 2 patches of 16 px)."""
    root = tmp_path_factory.mktemp("sen12ms_small")
    make_synthetic(root, n_scenes=2, patches_per_side=2, patch_size=16, seed=1, progress=False)
    return root


@pytest.mark.slow
@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"modality": "s3"}, "Unknown modality 's3'"),
        ({"split": "validation"}, "Unknown split 'validation'"),
        ({"split": "val"}, "The 'val' split needs val_fraction > 0"),
        ({"split": "val", "val_fraction": 1.0}, "Invalid val_fraction 1.0"),
        ({"split_method": "region"}, "Unknown split method 'region'"),
        ({"label_scheme": "igbp"}, "Unknown label scheme 'igbp'"),
        ({"normalization": "minmax"}, "Unknown normalization 'minmax'"),
        ({"bad_patch": "ignore"}, "Invalid bad_patch 'ignore'"),
        ({"patch_size": 0}, "Invalid patch_size 0"),
        ({"patch_size": 64}, "patch_size=64 is larger than the stored patches"),
        ({"test_fraction": 1.0}, r"Invalid test_fraction 1\.0"),
        ({"n_samples": 1000}, "n_samples=1000 exceeds the"),
    ],
)
def test_bad_arguments(small_root: Path, kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        Sen12MS(small_root, progress=False, **kwargs)


# -- checking a whole root -------------------------------------------------------------------------


@pytest.mark.slow
def test_check_root_of_a_clean_root(synthetic_root: Path) -> None:
    before = sorted((str(p), p.stat().st_mtime_ns) for p in synthetic_root.rglob("*"))
    assert check_root(synthetic_root) == []
    assert check_root(synthetic_root, season="winter") == []
    assert sorted((str(p), p.stat().st_mtime_ns) for p in synthetic_root.rglob("*")) == before  # writes nothing
    with pytest.raises(RootError, match=r"has no folder ROIs1868_summer for season 'summer'"):
        check_root(synthetic_root, season="summer")
    with pytest.raises(RootError, match="SEN12MS root not found"):
        check_root(synthetic_root / "absent")


@pytest.mark.slow
def test_check_root_lists_every_bad_file(synthetic_copy: Path) -> None:
    truncated, not_tiff = _truncate(synthetic_copy), _not_a_tiff(synthetic_copy)  # patch (2, 5): S2 and LC
    no_s1 = _path(synthetic_copy, 1, 3, "s1")
    no_s1.unlink()
    small = _path(synthetic_copy, 4, 4, "s2")
    _rewrite(small, _read(small)[:, :24, :24])
    half = _path(synthetic_copy, 3, 3, "lc")
    lc = _read(half)
    lc[0, :16] = 0
    _rewrite(half, lc)
    _sprinkle_invalid_codes(synthetic_copy, 3, 6)  # under the threshold: fine
    found = check_root(synthetic_copy)
    assert all(isinstance(f, FileProblem) for f in found)
    assert {(f.file, f.error) for f in found} == {
        (str(truncated), "CorruptFileError"),
        (str(not_tiff), "CorruptFileError"),
        (str(no_s1), "MissingFileError"),
        (str(small), "PatchSizeError"),
        (str(half), "LabelCodeError"),
    }
    assert found == sorted(found)
    by_file = {f.file: f.problem for f in found}
    assert by_file[str(not_tiff)].startswith(f"{not_tiff}: cannot be read as a GeoTIFF")
    assert by_file[str(small)] == f"{small}: 24x24 pixels, but most files of {SF} are 32x32"
    assert "50.0% of the pixels hold codes outside IGBP 1..17" in by_file[str(half)]


@pytest.mark.slow
def test_cli_data_info_check(synthetic_root: Path, synthetic_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["data", "info", str(synthetic_root), "--check"]) == 0
    out = capsys.readouterr().out
    assert '"kind": "synthetic"' in out
    assert f"check: every file of {synthetic_root} opens and passes the reader's checks" in out

    truncated, not_tiff = _truncate(synthetic_copy), _not_a_tiff(synthetic_copy)
    assert cli_main(["data", "info", str(synthetic_copy)]) == 0  # without --check: counts only, as before
    assert "check:" not in capsys.readouterr().out
    assert cli_main(["data", "info", str(synthetic_copy), "--check", "--season", "winter"]) == 2
    out = capsys.readouterr().out
    assert f"check: 2 bad file(s) in {synthetic_copy} (season winter):" in out
    assert f"  {truncated}: CorruptFileError: cannot be read as a GeoTIFF" in out
    assert re.search(rf"  {re.escape(str(not_tiff))}: CorruptFileError: cannot be read as a GeoTIFF.*not recognized",
                     out)

    assert cli_main(["data", "info", str(synthetic_copy), "--check", "--season", "summer"]) == 2
    assert "has no folder ROIs1868_summer" in capsys.readouterr().err


def test_the_one_data_root_check_names_the_value_and_what_is_wrong(tmp_path: Path) -> None:
    from xmodal.data import RootError, check_data_root

    with pytest.raises(RootError, match=r"Invalid --data '.*nowhere': the folder does not exist; make it"):
        check_data_root(tmp_path / "nowhere", name="--data", hint="make it")
    (tmp_path / "file").write_text("x")
    with pytest.raises(RootError, match="is not a folder"):
        check_data_root(tmp_path / "file")
    with pytest.raises(RootError, match="holds no ROIs2017_winter folder"):
        check_data_root(tmp_path, season="winter")
    with pytest.raises(RootError, match="Invalid season 'monsoon'"):
        check_data_root(tmp_path, season="monsoon")
    (tmp_path / "ROIs2017_winter").mkdir()
    assert check_data_root(str(tmp_path), season="winter") == tmp_path
