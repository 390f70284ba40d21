"""Tests of cloud masks, cover lists and cloud filters on roots made by the generator."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import rasterio

from xmodal.data import Sen12MS, describe_root, make_cloud_variant, make_synthetic
from xmodal.data.cache import scan_season
from xmodal.data.clouds import (
    CLOUD,
    COVER_LIST_NAME,
    SHADOW,
    CloudDataError,
    cloud_cover,
    cover_list_path,
    make_cloudy_root,
    read_cloudy_list,
    read_cover_list,
    select_patches,
    write_cover_list,
)
from xmodal.data.layout import PatchKey, mask_path, parse_mask_filename, parse_patch_filename, patch_path
from xmodal.data.synthetic import SyntheticParams

SF = "ROIs2017_winter"
#: A root where about half the scenes have thick clouds: 4 scenes of 3 x 3 patches of 16 px.
CLOUDY = {"n_scenes": 4, "patches_per_side": 3, "patch_size": 16, "seed": 4, "progress": False,
          "params": SyntheticParams(thick_cloud_prob=0.5)}
N_PATCHES = 36
QUIET = {"split": "all", "progress": False, "label_scheme": "dfc10"}  # dfc10: no patch skipped


@pytest.fixture(scope="module")
def cloudy_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cloudy")
    make_synthetic(root, **CLOUDY)
    return root


@pytest.fixture()
def cloudy_copy(cloudy_root: Path, tmp_path: Path) -> Path:
    dst = tmp_path / "copy"
    shutil.copytree(cloudy_root, dst, ignore=shutil.ignore_patterns(".xmodal_cache"))
    return dst


@pytest.mark.slow
def test_fixture_has_clear_and_cloudy_patches(cloudy_root: Path) -> None:
    cover = cloud_cover(cloudy_root)
    assert len(cover) == N_PATCHES
    values = np.array(list(cover.values()))
    assert (values == 0).any() and (values > 0.2).any()


@pytest.mark.slow
def test_layout_names_masks_and_the_reader_ignores_them(cloudy_root: Path) -> None:
    key = PatchKey(SF, 3, 7)
    path = mask_path(cloudy_root, key)
    assert path == cloudy_root / SF / "cld_3" / "ROIs2017_winter_cld_3_p7.tif"
    assert path == patch_path(cloudy_root, key, "cld")
    assert parse_mask_filename(path.name) == key
    assert parse_patch_filename(path.name) is None
    assert parse_mask_filename("ROIs2017_winter_s2_3_p7.tif") is None
    scan = scan_season(cloudy_root, "winter")
    assert sorted(scan) == ["lc", "s1", "s2"] and all(len(v) == N_PATCHES for v in scan.values())
    assert describe_root(cloudy_root)["seasons"]["winter"] == {"s1": N_PATCHES, "s2": N_PATCHES,
                                                               "lc": N_PATCHES}
    ds = Sen12MS(cloudy_root, modality="s2", **QUIET)
    assert len(ds) == N_PATCHES and not ds.skipped


@pytest.mark.slow
def test_cloud_cover_from_list_equals_masks(cloudy_root: Path) -> None:
    listed = cloud_cover(cloudy_root, source="list")
    from_masks = cloud_cover(cloudy_root, source="masks")
    assert listed.keys() == from_masks.keys()
    for pid in listed:
        assert listed[pid] == pytest.approx(from_masks[pid], abs=1e-6)
    shadow = cloud_cover(cloudy_root, kind="shadow")
    assert any(v > 0 for v in shadow.values())
    arr = rasterio.open(mask_path(cloudy_root, PatchKey(SF, 1, 1))).read(1)
    assert shadow["ROIs2017_winter_1_p1"] == pytest.approx((arr == SHADOW).mean(), abs=1e-6)
    with pytest.raises(ValueError, match="Unknown cover kind 'haze'"):
        cloud_cover(cloudy_root, kind="haze")
    with pytest.raises(ValueError, match="Unknown cover source 'web'"):
        cloud_cover(cloudy_root, source="web")


@pytest.mark.slow
def test_cover_list_missing_or_stale_falls_back_to_masks(cloudy_copy: Path) -> None:
    truth = cloud_cover(cloudy_copy, source="masks")
    listed = cover_list_path(cloudy_copy)  # written after the masks
    path = mask_path(cloudy_copy, PatchKey(SF, 1, 1))
    with rasterio.open(path, "r+") as f:
        f.write(np.full((1, 16, 16), CLOUD, dtype=np.uint8))  # a mask newer than the list
    assert cloud_cover(cloudy_copy)["ROIs2017_winter_1_p1"] == 1.0
    stale = cloud_cover(cloudy_copy, source="list")["ROIs2017_winter_1_p1"]
    assert stale == pytest.approx(truth["ROIs2017_winter_1_p1"], abs=1e-6) and stale < 1.0
    write_cover_list(cloudy_copy)
    assert cloud_cover(cloudy_copy, source="list")["ROIs2017_winter_1_p1"] == 1.0
    listed.unlink()
    assert len(cloud_cover(cloudy_copy)) == N_PATCHES
    with pytest.raises(CloudDataError, match=f"No cloud cover list .*{COVER_LIST_NAME}"):
        cloud_cover(cloudy_copy, source="list")


@pytest.mark.slow
def test_max_cloud_cover_selects_patches_and_keeps_the_split(cloudy_root: Path) -> None:
    cover = cloud_cover(cloudy_root)
    threshold = 0.1
    expected = sorted((pid for pid, v in cover.items() if v <= threshold),
                      key=lambda pid: tuple(int(x) for x in pid.split("_")[2].split("_p")))
    ds = Sen12MS(cloudy_root, modality="s2", max_cloud_cover=threshold, **QUIET)
    assert sorted(ds.ids) == sorted(expected) and 0 < len(ds) < N_PATCHES
    ds_s1 = Sen12MS(cloudy_root, modality="s1", max_cloud_cover=threshold, **QUIET)
    assert ds_s1.ids == ds.ids  # the modalities stay aligned
    full = Sen12MS(cloudy_root, modality="s2", split="test", progress=False, label_scheme="dfc10")
    test = Sen12MS(cloudy_root, modality="s2", split="test", progress=False, label_scheme="dfc10",
                   max_cloud_cover=threshold)
    assert test.test_keys == full.test_keys  # the split does not depend on the clouds
    assert set(test.ids) == {k.id for k in full.test_keys if cover[k.id] <= threshold}
    assert len(Sen12MS(cloudy_root, max_cloud_cover=1.0, **QUIET)) == N_PATCHES


@pytest.mark.slow
def test_cloudy_list_leaves_out_listed_patches(cloudy_root: Path, tmp_path: Path) -> None:
    listing = tmp_path / "cloudy.txt"
    listing.write_text(
        "# cloudy patches of the winter season\n"
        "ROIs2017_winter_1_p1\n"
        "\n"
        "ROIs2017_winter_s2_2_p5.tif   # an S2 file name\n"
        "/data/SEN12MS/ROIs2017_winter/s1_3/ROIs2017_winter_s1_3_p9.tif\n"
        "ROIs2017_winter_s2_cloudy_4_p2.tif\n"
        "ROIs1158_spring_1_p1\n"  # another season: matches nothing here
    )
    gone = {"ROIs2017_winter_1_p1", "ROIs2017_winter_2_p5", "ROIs2017_winter_3_p9", "ROIs2017_winter_4_p2"}
    assert read_cloudy_list(listing) == gone | {"ROIs1158_spring_1_p1"}
    ds = Sen12MS(cloudy_root, cloudy_list=listing, **QUIET)
    assert len(ds) == N_PATCHES - 4 and not gone & set(ds.ids)
    keys = Sen12MS(cloudy_root, **QUIET).keys
    assert [k.id for k in select_patches(keys, cloudy_root, cloudy_list=sorted(gone))] == ds.ids
    both = select_patches(keys, cloudy_root, max_cloud_cover=0.1, cloudy_list=sorted(gone))
    cover = cloud_cover(cloudy_root)
    assert [k.id for k in both] == [k.id for k in keys if k.id not in gone and cover[k.id] <= 0.1]
    cloudy_only = select_patches(keys, cloudy_root, min_cloud_cover=0.2)
    assert cloudy_only and all(cover[k.id] >= 0.2 for k in cloudy_only)


@pytest.mark.slow
def test_malformed_cloudy_list_names_file_and_line(cloudy_root: Path, tmp_path: Path) -> None:
    listing = tmp_path / "bad_list.txt"
    listing.write_text("ROIs2017_winter_1_p1\n# fine\npatch number twelve\n")
    with pytest.raises(CloudDataError, match="bad_list.txt, line 3: 'patch number twelve' is not a SEN12MS patch id"):
        Sen12MS(cloudy_root, cloudy_list=listing, **QUIET)
    with pytest.raises(CloudDataError, match="cloudy list, line 2: 'ROIs2017_winter_1'"):
        read_cloudy_list(["ROIs2017_winter_1_p1", "ROIs2017_winter_1"])
    with pytest.raises(CloudDataError, match="Cloudy-patch list not found: .*missing.txt"):
        read_cloudy_list(tmp_path / "missing.txt")


@pytest.mark.slow
def test_cover_filter_without_masks_names_the_missing_mask(cloudy_copy: Path) -> None:
    for folder in (cloudy_copy / SF).glob("cld_1"):
        shutil.rmtree(folder)
    cover_list_path(cloudy_copy).unlink()
    with pytest.raises(CloudDataError, match="9 patch\\(es\\) .* no cloud cover .*ROIs2017_winter_cld_1_p1.tif"):
        Sen12MS(cloudy_copy, max_cloud_cover=0.5, **QUIET)
    for folder in (cloudy_copy / SF).glob("cld_*"):
        shutil.rmtree(folder)
    with pytest.raises(CloudDataError, match="No cloud masks under .*ROIs2017_winter/cld_<scene>"):
        select_patches([PatchKey(SF, 1, 1)], cloudy_copy, max_cloud_cover=0.5)
    with pytest.raises(CloudDataError, match="No cloud masks under"):
        write_cover_list(cloudy_copy)
    assert cloud_cover(cloudy_copy) == {}


@pytest.mark.slow
def test_bad_mask_and_bad_cover_list_name_the_file(cloudy_copy: Path) -> None:
    path = mask_path(cloudy_copy, PatchKey(SF, 2, 3))
    with rasterio.open(path, "r+") as f:
        f.write(np.full((1, 16, 16), 7, dtype=np.uint8))
    with pytest.raises(CloudDataError, match="ROIs2017_winter_cld_2_p3.tif: value 7 is not a cloud mask code"):
        cloud_cover(cloudy_copy, source="masks")
    path.write_bytes(b"not a tiff")
    with pytest.raises(CloudDataError, match="ROIs2017_winter_cld_2_p3.tif: cannot be read as a GeoTIFF"):
        cloud_cover(cloudy_copy, source="masks")
    listed = cover_list_path(cloudy_copy)
    lines = listed.read_text().splitlines()
    lines[2] = "ROIs2017_winter_1_p2,1,2,lots,0,0"
    listed.write_text("\n".join(lines) + "\n")
    with pytest.raises(CloudDataError, match=f"{COVER_LIST_NAME}, line 3: 'ROIs2017_winter_1_p2,1,2,lots"):
        read_cover_list(cloudy_copy)
    listed.write_text("id,cover\n")
    with pytest.raises(CloudDataError, match=f"{COVER_LIST_NAME}: header \\['id', 'cover'\\]"):
        read_cover_list(cloudy_copy)


@pytest.mark.slow
@pytest.mark.parametrize("bad", [1.5, -0.1, True, "0.3"])
def test_bad_threshold_raises(cloudy_root: Path, bad: object) -> None:
    with pytest.raises(ValueError, match="Invalid max_cloud_cover"):
        select_patches([PatchKey(SF, 1, 1)], cloudy_root, max_cloud_cover=bad)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------
# SEN12MS-CR
# ---------------------------------------------------------------------------------


def _fake_cr(variant: Path, cr: Path, scenes: tuple[int, ...], nested: bool, skip: set[PatchKey]) -> None:
    """Copy a variant root's S2 into SEN12MS-CR's cloudy layout."""
    folder = cr / f"{SF}_s2_cloudy"
    if nested:
        folder = folder / f"{SF}_s2_cloudy"
    for s2 in sorted((variant / SF).glob("s2_*/*.tif")):
        key = parse_patch_filename(s2.name)[0]  # type: ignore[index]
        if key.scene in scenes and key not in skip:
            dst = folder / f"s2_cloudy_{key.scene}" / f"{SF}_s2_cloudy_{key.scene}_p{key.patch}.tif"
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(s2, dst)


@pytest.fixture(scope="module")
def clear_and_cloudy(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("cr")
    kw = {"n_scenes": 3, "patches_per_side": 2, "patch_size": 16, "seed": 0, "progress": False}
    make_synthetic(base / "sen12ms", **kw)
    make_cloud_variant(base / "sen12ms", base / "cloudy", 0.6, progress=False)
    return base / "sen12ms", base / "cloudy"


@pytest.mark.slow
@pytest.mark.parametrize("nested", [False, True])
def test_cloudy_view_reads_sen12ms_cr_s2(
    clear_and_cloudy: tuple[Path, Path], tmp_path: Path, nested: bool
) -> None:
    sen12ms, cloudy = clear_and_cloudy
    _fake_cr(cloudy, tmp_path / "cr", scenes=(1, 2), nested=nested, skip={PatchKey(SF, 2, 4)})
    summary = make_cloudy_root(sen12ms, tmp_path / "cr", tmp_path / "view")
    assert summary["patches"] == 7 and summary["left_out"]["no_cloudy_s2"] == 5
    assert summary["georef_checked_scenes"] == 2
    assert not list((tmp_path / "view").rglob("cld_*"))  # SEN12MS's masks describe its own S2
    ds = Sen12MS(tmp_path / "view", modality="s2all", **QUIET)
    assert len(ds) == 7 and PatchKey(SF, 2, 4) not in ds.keys
    for i, key in enumerate(ds.keys):
        want = rasterio.open(patch_path(cloudy, key, "s2")).read()
        np.testing.assert_array_equal(ds.raw(i), np.clip(want, 0, 10000))
        assert os.path.islink(patch_path(tmp_path / "view", key, "s1"))
        assert patch_path(tmp_path / "view", key, "lc").read_bytes() == patch_path(sen12ms, key, "lc").read_bytes()
    s1 = Sen12MS(tmp_path / "view", modality="s1", **QUIET)
    assert s1.ids == ds.ids
    # made again: the season is replaced, not mixed
    assert make_cloudy_root(sen12ms, tmp_path / "cr", tmp_path / "view")["patches"] == 7


@pytest.mark.slow
def test_cloudy_view_errors(clear_and_cloudy: tuple[Path, Path], tmp_path: Path) -> None:
    sen12ms, cloudy = clear_and_cloudy
    with pytest.raises(CloudDataError, match="No SEN12MS-CR cloudy S2 under .*ROIs2017_winter_s2_cloudy"):
        make_cloudy_root(sen12ms, tmp_path / "empty", tmp_path / "view")
    _fake_cr(cloudy, tmp_path / "cr", scenes=(1,), nested=False, skip=set())
    # a scene-3 patch filed as scene 1: its georeferencing gives it away
    wrong = tmp_path / "cr" / f"{SF}_s2_cloudy" / "s2_cloudy_1" / f"{SF}_s2_cloudy_1_p1.tif"
    shutil.copy2(patch_path(cloudy, PatchKey(SF, 3, 1), "s2"), wrong)
    with pytest.raises(CloudDataError, match="ROIs2017_winter_s2_cloudy_1_p1.tif and .* do not cover the same ground"):
        make_cloudy_root(sen12ms, tmp_path / "cr", tmp_path / "view")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    with pytest.raises(CloudDataError, match="already holds data that is not a cloudy view"):
        make_cloudy_root(sen12ms, tmp_path / "cr", tmp_path / "other")
    with pytest.raises(CloudDataError, match="must be a new folder"):
        make_cloudy_root(sen12ms, tmp_path / "cr", sen12ms)
