"""Tests of the synthetic SEN12MS-like generator (files read back with rasterio)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import rasterio

from xmodal.data.labels import SIMPLE_CLASS_NAMES, soft_labels
from xmodal.data.layout import PatchKey, parse_patch_filename, patch_path
from xmodal.data.synthetic import (
    LC_BANDS,
    MARKER_NAME,
    S1_BANDS,
    S2_BANDS,
    SyntheticParams,
    make_synthetic,
)

SMALL = dict(n_scenes=2, patches_per_side=3, patch_size=16, seed=0, progress=False)
SF = "ROIs2017_winter"


def _read(path: Path) -> np.ndarray:
    with rasterio.open(path) as f:
        return f.read()


def _marker(root: Path) -> dict:
    return json.loads((root / MARKER_NAME).read_text())


def _all_arrays(root: Path) -> dict[str, np.ndarray]:
    return {p.name: _read(p) for p in sorted(root.rglob("*.tif"))}


@pytest.fixture(scope="module")
def small_root(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("synth_small")
    summary = make_synthetic(root, **SMALL)
    return root, summary


def test_layout_and_file_names(small_root: tuple[Path, dict]) -> None:
    root, summary = small_root
    files = sorted(p.relative_to(root).as_posix() for p in root.rglob("*.tif"))
    expected = sorted(
        patch_path(root, PatchKey(SF, scene, patch), sensor).relative_to(root).as_posix()
        for scene in (1, 2)
        for patch in range(1, 10)
        for sensor in ("s1", "s2", "lc")
    )
    assert files == expected
    assert files[0] == "ROIs2017_winter/lc_1/ROIs2017_winter_lc_1_p1.tif"
    for name in files:
        parsed = parse_patch_filename(Path(name).name)
        assert parsed is not None and parsed[1] == Path(name).parent.name.split("_")[0]
    assert sorted(p.name for p in root.iterdir()) == [SF, MARKER_NAME]
    assert not list(root.rglob("*.aux.xml"))
    assert summary["counts"]["patches"] == 18 and summary["counts"]["files"] == 54


def test_marker_records_arguments_and_params(small_root: tuple[Path, dict]) -> None:
    root, summary = small_root
    marker = json.loads((root / MARKER_NAME).read_text())
    assert marker["kind"] == "synthetic" and marker["status"] == "complete"
    assert marker["seed"] == 0 and marker["n_scenes"] == 2 and marker["patch_size"] == 16
    assert marker["counts"] == summary["counts"]
    assert SyntheticParams.from_dict(marker["params"]) == SyntheticParams()
    assert marker["seasons"][SF]["n_scenes"] == 2
    assert marker["fingerprint"] == summary["fingerprint"] and len(marker["fingerprint"]) == 16
    assert summary["paths"]["marker"] == str(root / MARKER_NAME)
    assert summary["elapsed_seconds"] > 0
    json.dumps(summary)  # JSON-serialisable


def test_dtypes_bands_descriptions_crs_transform(small_root: tuple[Path, dict]) -> None:
    root, _ = small_root
    spec = {"s1": ("float32", S1_BANDS), "s2": ("uint16", S2_BANDS), "lc": ("uint16", LC_BANDS)}
    for scene in (1, 2):
        crs = None
        for sensor, (dtype, bands) in spec.items():
            p1 = patch_path(root, PatchKey(SF, scene, 1), sensor)
            p2 = patch_path(root, PatchKey(SF, scene, 2), sensor)  # right neighbour
            p4 = patch_path(root, PatchKey(SF, scene, 4), sensor)  # neighbour below
            with rasterio.open(p1) as a, rasterio.open(p2) as b, rasterio.open(p4) as c:
                assert a.count == len(bands) and a.dtypes == (dtype,) * len(bands)
                assert a.descriptions == bands
                assert (a.width, a.height) == (16, 16)
                epsg = a.crs.to_epsg()
                assert 32601 <= epsg <= 32660 or 32701 <= epsg <= 32760
                crs = crs or a.crs
                assert a.crs == crs  # one CRS per scene
                assert a.res == (10.0, 10.0)
                # stride = patch_size / 2 = 8 px = 80 m
                assert b.transform.c - a.transform.c == pytest.approx(80.0)
                assert b.transform.f == a.transform.f
                assert c.transform.f - a.transform.f == pytest.approx(-80.0)
                assert c.transform.c == a.transform.c


def test_value_ranges(small_root: tuple[Path, dict]) -> None:
    root, _ = small_root
    lc = np.stack([_read(p) for p in sorted(root.rglob("lc_*/*.tif"))])
    igbp = lc[:, 0]
    assert igbp.min() >= 1 and igbp.max() <= 17
    assert set(np.unique(lc[:, 1])) <= {1, 2, 3, 11, 12, 13, 14, 15, 21, 22, 31, 32, 41, 43}
    s2 = np.stack([_read(p) for p in sorted(root.rglob("s2_*/*.tif"))]).astype(np.float64)
    b = {name: s2[:, i].mean() for i, name in enumerate(S2_BANDS)}
    assert b["B10"] < 0.2 * b["B02"]  # cirrus band near zero
    assert b["B09"] < b["B8A"]
    s1 = np.stack([_read(p) for p in sorted(root.rglob("s1_*/*.tif"))])
    assert -35 < np.nanmedian(s1[:, 0]) < 5 and np.nanmedian(s1[:, 1]) < np.nanmedian(s1[:, 0])


def test_deterministic_for_a_seed(tmp_path: Path, small_root: tuple[Path, dict]) -> None:
    root, _ = small_root
    again = tmp_path / "again"
    make_synthetic(again, **SMALL)
    assert _marker(again)["fingerprint"] == _marker(root)["fingerprint"]
    a, b = _all_arrays(root), _all_arrays(again)
    assert a.keys() == b.keys()
    for name in a:
        assert a[name].tobytes() == b[name].tobytes(), name
    other = tmp_path / "other"
    summary = make_synthetic(other, **{**SMALL, "seed": 1})
    assert summary["fingerprint"] != _marker(root)["fingerprint"]
    c = _all_arrays(other)
    differing = [n for n in a if a[n].tobytes() != c[n].tobytes()]
    assert len(differing) == len(a)


def test_scene_does_not_depend_on_scene_count(
    tmp_path: Path, small_root: tuple[Path, dict]
) -> None:
    root, _ = small_root
    make_synthetic(tmp_path, **{**SMALL, "n_scenes": 1})
    one = _all_arrays(tmp_path)
    two = _all_arrays(root)
    assert one and all(one[n].tobytes() == two[n].tobytes() for n in one)


def test_neighbouring_patches_overlap_by_half(small_root: tuple[Path, dict]) -> None:
    root, _ = small_root
    for sensor in ("s2", "lc"):
        p1 = _read(patch_path(root, PatchKey(SF, 1, 1), sensor))
        p2 = _read(patch_path(root, PatchKey(SF, 1, 2), sensor))
        p4 = _read(patch_path(root, PatchKey(SF, 1, 4), sensor))
        np.testing.assert_array_equal(p1[:, :, 8:], p2[:, :, :8])
        np.testing.assert_array_equal(p1[:, 8:, :], p4[:, :8, :])
        assert not np.array_equal(p1, p2)


def test_classes_imbalanced_and_patches_multi_class(tmp_path: Path) -> None:
    summary = make_synthetic(tmp_path, n_scenes=12, patches_per_side=2, patch_size=20,
                             seed=3, progress=False)
    freq = summary["class_frequencies"]
    assert sum(freq.values()) == pytest.approx(1.0, abs=1e-3)
    common = sum(freq[c] for c in ("Forest", "Savanna", "Grassland", "Cropland"))
    assert common > 0.5
    assert freq["Wetland"] < 0.05 and freq["Snow/Ice"] < 0.1
    assert max(freq.values()) > 5 * min(v for v in freq.values())
    lc = np.stack([_read(p)[0] for p in sorted(tmp_path.rglob("lc_*/*.tif"))])
    soft = soft_labels(lc, "dfc10")
    n_present = (soft > 0).sum(axis=1)
    assert (n_present >= 2).mean() > 0.5  # multi-class patches are common
    assert summary["counts"]["mixed_patches"] == int((n_present >= 2).sum())
    # coarse labels: at most ~ (5+1)^2 label cells per patch, far fewer values than pixels
    assert all(len(np.unique(p)) <= 36 for p in lc)
    assert summary["igbp_frequencies"]["8"] + summary["igbp_frequencies"]["9"] > 0  # savanna


def test_labels_are_coarser_than_imagery(small_root: tuple[Path, dict]) -> None:
    root, _ = small_root
    lc = _read(patch_path(root, PatchKey(SF, 1, 5), "lc"))[0]
    # label cells are patch_size / 5 = 3.2 px: runs of equal labels along rows
    changes = (np.diff(lc.astype(int), axis=1) != 0).mean()
    assert changes < 0.4
    s2 = _read(patch_path(root, PatchKey(SF, 1, 5), "s2")).astype(int)
    assert (np.diff(s2[7], axis=1) != 0).mean() > 0.9  # imagery varies pixel to pixel


def test_s1_nans_only_where_allowed(tmp_path: Path) -> None:
    none = SyntheticParams(s1_nan_scene_prob=0.0)
    make_synthetic(tmp_path / "a", **{**SMALL, "params": none})
    s1 = np.stack([_read(p) for p in (tmp_path / "a").rglob("s1_*/*.tif")])
    assert not np.isnan(s1).any()
    some = SyntheticParams(s1_nan_scene_prob=1.0, s1_nan_pixel_rate=0.01)
    summary = make_synthetic(tmp_path / "b", **{**SMALL, "params": some})
    s1 = np.stack([_read(p) for p in (tmp_path / "b").rglob("s1_*/*.tif")])
    nan = np.isnan(s1)
    assert nan.any() and nan.mean() < 0.05
    assert (nan[:, 0] == nan[:, 1]).all()  # a NaN pixel is NaN in both bands
    assert summary["counts"]["s1_nan_patches"] > 0
    for p in (tmp_path / "b").rglob("s2_*/*.tif"):
        assert _read(p).dtype == np.uint16  # S2 has no NaN by dtype


def test_clouds_brighten_s2(tmp_path: Path) -> None:
    clear = SyntheticParams(cloud_prob=0.0)
    cloudy = SyntheticParams(cloud_prob=1.0, cloud_cover=0.9, cloud_max_opacity=0.8)
    s_clear = make_synthetic(tmp_path / "a", **{**SMALL, "params": clear})
    s_cloudy = make_synthetic(tmp_path / "b", **{**SMALL, "params": cloudy})
    assert s_clear["counts"]["cloudy_patches"] == 0
    assert s_cloudy["counts"]["cloudy_patches"] == 18
    b10 = S2_BANDS.index("B10")
    a = np.stack([_read(p)[b10] for p in (tmp_path / "a").rglob("s2_*/*.tif")])
    b = np.stack([_read(p)[b10] for p in (tmp_path / "b").rglob("s2_*/*.tif")])
    assert b.mean() > 5 * a.mean()


def test_params_table_documents_every_field() -> None:
    p = SyntheticParams()
    rows = p.table()
    assert [r["name"] for r in rows] == list(p.to_dict())
    for r in rows:
        assert r["description"] and r["unit"] and r["group"]
    assert SyntheticParams.from_dict(p.to_dict()) == p
    sig = {r["class"]: r for r in p.signature_table()}
    assert sig["Water"]["B08"] < sig["Forest"]["B08"]  # water dark in NIR
    assert sig["Snow/Ice"]["B02"] > 5 * sig["Forest"]["B02"]
    assert len(p.backscatter_table()) == 10
    biomes = p.biome_table()
    assert sum(r["probability"] for r in biomes) == pytest.approx(1.0, abs=1e-3)
    assert all(sum(r[c] for c in SIMPLE_CLASS_NAMES) == pytest.approx(1.0, abs=1e-3)
               for r in biomes)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"season": "monsoon"}, "Unknown season 'monsoon'"),
        ({"n_scenes": 0}, "n_scenes must be >= 1, got 0"),
        ({"patches_per_side": -1}, "patches_per_side must be >= 1, got -1"),
        ({"patch_size": 15}, "patch_size must be divisible by 2.*15"),
        ({"patch_size": 0}, "patch_size must be >= 2, got 0"),
        ({"patch_size": 2.0}, "patch_size must be an integer"),
        ({"seed": -3}, "seed must be >= 0, got -3"),
        ({"n_scenes": True}, "n_scenes must be an integer"),
        ({"params": {"label_noise": 2.0}}, "label_noise must be in \\[0, 1\\], got 2.0"),
        ({"params": {"no_such": 1}}, "Unknown synthetic parameter.*no_such"),
        ({"params": 3}, "params must be a SyntheticParams"),
    ],
)
def test_bad_arguments_raise(tmp_path: Path, kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        make_synthetic(tmp_path, **{**SMALL, **kwargs})
    assert not (tmp_path / MARKER_NAME).exists()


def test_bad_params_raise() -> None:
    with pytest.raises(ValueError, match="s1_looks must be > 0, got 0"):
        SyntheticParams(s1_looks=0)
    with pytest.raises(ValueError, match="s2_signatures.*missing \\['Water'\\]"):
        sig = SyntheticParams().s2_signatures
        del sig["Water"]
        SyntheticParams(s2_signatures=sig)
    with pytest.raises(ValueError, match="igbp_codes\\['Forest'\\]"):
        SyntheticParams().replace(igbp_codes={**SyntheticParams().igbp_codes, "Forest": {"10": 1}})


def test_root_must_be_a_folder(tmp_path: Path) -> None:
    f = tmp_path / "file.txt"
    f.write_text("x")
    with pytest.raises(ValueError, match="file.txt' exists and is not a folder"):
        make_synthetic(f, **SMALL)


def test_refuses_to_overwrite_foreign_data(tmp_path: Path) -> None:
    real = tmp_path / SF / "s2_1"
    real.mkdir(parents=True)
    (real / "ROIs2017_winter_s2_1_p1.tif").write_bytes(b"not ours")
    with pytest.raises(ValueError, match="did not make"):
        make_synthetic(tmp_path, **SMALL)
    assert (real / "ROIs2017_winter_s2_1_p1.tif").read_bytes() == b"not ours"


def test_regenerating_replaces_the_season(tmp_path: Path) -> None:
    make_synthetic(tmp_path, **{**SMALL, "n_scenes": 3})
    make_synthetic(tmp_path, **SMALL)
    assert sorted(p.name for p in (tmp_path / SF).iterdir()) == [
        "lc_1", "lc_2", "s1_1", "s1_2", "s2_1", "s2_2",
    ]
    make_synthetic(tmp_path, **{**SMALL, "season": "summer", "n_scenes": 1})
    marker = json.loads((tmp_path / MARKER_NAME).read_text())
    assert sorted(marker["seasons"]) == ["ROIs1868_summer", SF]
    assert marker["season"] == "summer"


def test_progress_bar_over_scenes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    make_synthetic(tmp_path, **{**SMALL, "n_scenes": 1, "progress": True})
    assert "scene" in capsys.readouterr().err


@pytest.mark.filterwarnings("ignore:Only one sample available")
def test_s2_separates_classes_better_than_s1(tmp_path: Path) -> None:
    """The physics the study rests on: S1 backscatter overlaps between vegetation classes."""
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
    from sklearn.model_selection import GroupKFold, cross_val_score

    make_synthetic(tmp_path, n_scenes=48, patches_per_side=3, patch_size=32, seed=0,
                   progress=False)
    lc_files = sorted(tmp_path.rglob("lc_*/*.tif"))
    y = soft_labels(np.stack([_read(p)[0] for p in lc_files]), "dfc10")
    scene = np.array([int(p.parent.name.split("_")[1]) for p in lc_files])
    pure = y.max(axis=1) >= 0.6  # patches dominated by one class
    score = {}
    for sensor in ("s1", "s2"):
        x = np.stack([_read(Path(str(p).replace("lc_", f"{sensor}_"))) for p in lc_files])
        x = np.nan_to_num(x.astype(np.float64), nan=-25.0).reshape(len(x), x.shape[1], -1)
        feats = np.concatenate([x.mean(axis=2), x.std(axis=2)], axis=1)
        lda = LinearDiscriminantAnalysis(solver="lsqr", shrinkage="auto")
        score[sensor] = cross_val_score(
            lda, feats[pure], y[pure].argmax(axis=1), groups=scene[pure], cv=GroupKFold(4)
        ).mean()
    assert pure.sum() > 150
    assert score["s2"] > score["s1"] + 0.05, score
    assert 0.4 < score["s1"] and score["s2"] < 0.95, score  # informative, not trivial
