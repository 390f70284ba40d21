"""Tests of the synthetic SEN12MS-like generator (files read back with rasterio)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import rasterio

from xmodal.data.clouds import CLEAR, CLOUD, COVER_LIST_NAME, SHADOW, THIN_CLOUD, read_cover_list
from xmodal.data.labels import SIMPLE_CLASS_NAMES, soft_labels
from xmodal.data.layout import PatchKey, mask_path, parse_patch_filename, patch_path
from xmodal.data.synthetic import (
    LC_BANDS,
    MARKER_NAME,
    S1_BANDS,
    S2_BANDS,
    SEN12MS_PATCH_M,
    SIGNATURE_BANDS,
    SyntheticParams,
    make_cloud_variant,
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


@pytest.mark.slow
def test_layout_and_file_names(small_root: tuple[Path, dict]) -> None:
    root, summary = small_root
    files = sorted(p.relative_to(root).as_posix() for p in root.rglob("*.tif"))
    expected = sorted(
        patch_path(root, PatchKey(SF, scene, patch), sensor).relative_to(root).as_posix()
        for scene in (1, 2)
        for patch in range(1, 10)
        for sensor in ("s1", "s2", "lc", "cld")
    )
    assert files == expected
    assert files[0] == "ROIs2017_winter/cld_1/ROIs2017_winter_cld_1_p1.tif"
    for name in files:
        parsed = parse_patch_filename(Path(name).name)
        if Path(name).parent.name.startswith("cld_"):
            assert parsed is None  # masks are not sensor files: the reader ignores them
            continue
        assert parsed is not None and parsed[1] == Path(name).parent.name.split("_")[0]
    assert sorted(p.name for p in root.iterdir()) == [SF, MARKER_NAME]
    assert (root / SF / COVER_LIST_NAME).is_file()
    assert not list(root.rglob("*.aux.xml"))
    assert summary["counts"]["patches"] == 18 and summary["counts"]["files"] == 54
    assert summary["counts"]["cloud_masks"] == 18


@pytest.mark.slow
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


@pytest.mark.slow
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


@pytest.mark.slow
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


@pytest.mark.slow
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
    data = [n for n in a if "_cld_" not in n]  # clear-sky masks are all zero for any seed
    differing = [n for n in data if a[n].tobytes() != c[n].tobytes()]
    assert len(differing) == len(data) == 54


@pytest.mark.slow
def test_scene_does_not_depend_on_scene_count(
    tmp_path: Path, small_root: tuple[Path, dict]
) -> None:
    root, _ = small_root
    make_synthetic(tmp_path, **{**SMALL, "n_scenes": 1})
    one = _all_arrays(tmp_path)
    two = _all_arrays(root)
    assert one and all(one[n].tobytes() == two[n].tobytes() for n in one)


@pytest.mark.slow
def test_neighbouring_patches_overlap_by_half(small_root: tuple[Path, dict]) -> None:
    root, _ = small_root
    for sensor in ("s2", "lc"):
        p1 = _read(patch_path(root, PatchKey(SF, 1, 1), sensor))
        p2 = _read(patch_path(root, PatchKey(SF, 1, 2), sensor))
        p4 = _read(patch_path(root, PatchKey(SF, 1, 4), sensor))
        np.testing.assert_array_equal(p1[:, :, 8:], p2[:, :, :8])
        np.testing.assert_array_equal(p1[:, 8:, :], p4[:, :8, :])
        assert not np.array_equal(p1, p2)


@pytest.mark.slow
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


@pytest.mark.slow
def test_labels_are_coarser_than_imagery(small_root: tuple[Path, dict]) -> None:
    root, _ = small_root
    lc = _read(patch_path(root, PatchKey(SF, 1, 5), "lc"))[0]
    # label cells are patch_size / 5 = 3.2 px: runs of equal labels along rows
    changes = (np.diff(lc.astype(int), axis=1) != 0).mean()
    assert changes < 0.4
    s2 = _read(patch_path(root, PatchKey(SF, 1, 5), "s2")).astype(int)
    assert (np.diff(s2[7], axis=1) != 0).mean() > 0.9  # imagery varies pixel to pixel


@pytest.mark.slow
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


@pytest.mark.slow
def test_clouds_brighten_s2(tmp_path: Path) -> None:
    clear = SyntheticParams(cloud_prob=0.0)
    cloudy = SyntheticParams(cloud_prob=1.0, cloud_cover=0.9, cloud_max_opacity=0.8)
    s_clear = make_synthetic(tmp_path / "a", **{**SMALL, "params": clear})
    s_cloudy = make_synthetic(tmp_path / "b", **{**SMALL, "params": cloudy})
    assert s_clear["counts"]["cloudy_patches"] == 0
    assert s_cloudy["counts"]["cloudy_patches"] == 18
    assert s_cloudy["clouds"]["thin_cloudy_scenes"] == 2
    b10 = S2_BANDS.index("B10")
    a = np.stack([_read(p)[b10] for p in (tmp_path / "a").rglob("s2_*/*.tif")])
    b = np.stack([_read(p)[b10] for p in (tmp_path / "b").rglob("s2_*/*.tif")])
    assert b.mean() > 5 * a.mean()
    # thin clouds are flagged 3 in the masks, never 1 or 2 (no thick clouds by default)
    masks = np.stack([_read(p)[0] for p in (tmp_path / "b").rglob("cld_*/*.tif")])
    assert set(np.unique(masks)) == {CLEAR, THIN_CLOUD}


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
        ({"cloud_cover": 1.5}, "cloud_cover must be None or in \\[0, 1\\], got 1.5"),
        ({"cloud_cover": "half"}, "cloud_cover must be None or in \\[0, 1\\]"),
        ({"params": {"thick_cloud_prob": -0.1}}, "thick_cloud_prob must be in \\[0, 1\\]"),
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


@pytest.mark.slow
def test_regenerating_replaces_the_season(tmp_path: Path) -> None:
    make_synthetic(tmp_path, **{**SMALL, "n_scenes": 3})
    make_synthetic(tmp_path, **SMALL)
    assert sorted(p.name for p in (tmp_path / SF).iterdir()) == [
        "cld_1", "cld_2", COVER_LIST_NAME, "lc_1", "lc_2", "s1_1", "s1_2", "s2_1", "s2_2",
    ]
    make_synthetic(tmp_path, **{**SMALL, "season": "summer", "n_scenes": 1})
    marker = json.loads((tmp_path / MARKER_NAME).read_text())
    assert sorted(marker["seasons"]) == ["ROIs1868_summer", SF]
    assert marker["season"] == "summer"


@pytest.mark.slow
def test_progress_bar_over_scenes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    make_synthetic(tmp_path, **{**SMALL, "n_scenes": 1, "progress": True})
    assert "scene" in capsys.readouterr().err


@pytest.mark.slow
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


# ---------------------------------------------------------------------------------
# clouds
# ---------------------------------------------------------------------------------

#: Tolerance on the mean mask cover of a root made with a fixed thick-cloud cover (the
#: cover is exact per scene; patches weigh the scene's pixels unevenly).
FIXED_COVER_TOL = 0.03
#: Tolerance on any one patch's cover at a fixed cover (patch-to-patch s.d. ~0.05).
PATCH_COVER_TOL = 0.2
#: Array digests (sha256 of the decoded arrays of scenes 1-2, files sorted by name, first
#: 16 hex digits) of ``CLOUD_FREE`` made by generator version 1, before the clouds work;
#: scene 1 has thin clouds, so the version-1 thin-cloud path is covered too.
V1_DIGESTS = {"s1": "335a626e20acf7b0", "s2": "a08d7f507c1d8250", "lc": "3de884830485e58a"}
CLOUD_FREE = {"n_scenes": 2, "patches_per_side": 2, "patch_size": 16, "seed": 0, "progress": False}


def _digest(root: Path, sensor: str) -> str:
    import hashlib

    h = hashlib.sha256()
    for p in sorted(root.rglob(f"{sensor}_*/*.tif"), key=lambda p: p.name):
        h.update(_read(p).tobytes())
    return h.hexdigest()[:16]


def _bytes(root: Path, sensor: str) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(root.rglob(f"{sensor}_*/*.tif"))}


def _masks(root: Path) -> np.ndarray:
    return np.stack([_read(p)[0] for p in sorted(root.rglob("cld_*/*.tif"))])


@pytest.fixture(scope="module")
def cover_roots(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A clear root and its cloud variants with fixed covers 0, 0.25 and 0.5 (S2 only)."""
    base = tmp_path_factory.mktemp("covers")
    kw = {"n_scenes": 3, "patches_per_side": 3, "patch_size": 32, "seed": 2, "progress": False}
    make_synthetic(base / "clear", **kw)
    roots = {"clear": base / "clear"}
    for cover in (0.0, 0.25, 0.5):
        roots[str(cover)] = base / f"cover{cover}"
        make_cloud_variant(base / "clear", roots[str(cover)], cover, progress=False)
    return roots


@pytest.mark.slow
def test_clouds_off_gives_version_1_data(tmp_path: Path) -> None:
    summary = make_synthetic(tmp_path, **CLOUD_FREE)
    assert {s: _digest(tmp_path, s) for s in V1_DIGESTS} == V1_DIGESTS
    assert summary["clouds"]["thick_clouds"] == "off"
    assert summary["clouds"]["thin_cloudy_scenes"] == 1


@pytest.mark.slow
def test_s1_and_lc_identical_whatever_the_clouds(tmp_path: Path) -> None:
    settings = {
        "clear": {},
        "drawn": {"params": SyntheticParams(thick_cloud_prob=1.0, cloud_height_m=[2000, 3000])},
        "fixed": {"cloud_cover": 0.7},
        "thin": {"params": SyntheticParams(cloud_prob=1.0, cloud_max_opacity=0.9)},
        "no_thin": {"params": SyntheticParams(cloud_prob=0.0, thick_cloud_fixed_cover=0.3)},
    }
    for name, kw in settings.items():
        make_synthetic(tmp_path / name, **{**CLOUD_FREE, **kw})
    ref = {s: _bytes(tmp_path / "clear", s) for s in ("s1", "lc", "s2")}
    for name in settings:
        for sensor in ("s1", "lc"):
            assert _bytes(tmp_path / name, sensor) == ref[sensor], (name, sensor)
        if name != "clear":
            assert _bytes(tmp_path / name, "s2") != ref["s2"], name


@pytest.mark.slow
def test_fixed_cover_gives_every_patch_about_that_cover(cover_roots: dict[str, Path]) -> None:
    for cover in (0.0, 0.25, 0.5):
        masks = _masks(cover_roots[str(cover)])
        thick = (masks == CLOUD).mean(axis=(1, 2))
        assert abs(thick.mean() - cover) <= FIXED_COVER_TOL, (cover, thick.mean())
        assert np.abs(thick - cover).max() <= PATCH_COVER_TOL, (cover, thick)
    # the clouds grow with the cover: those at 0.25 lie inside those at 0.5
    low, high = _masks(cover_roots["0.25"]) == CLOUD, _masks(cover_roots["0.5"]) == CLOUD
    assert low.any() and not (low & ~high).any()
    # cover 0 of a clear root gives back its S2
    assert _bytes(cover_roots["0.0"], "s2") == _bytes(cover_roots["clear"], "s2")


@pytest.mark.slow
def test_drawn_cover_share_of_cloudy_patches(tmp_path: Path) -> None:
    prob = 0.4
    n = 100
    params = SyntheticParams(thick_cloud_prob=prob, cloud_prob=0.0)
    summary = make_synthetic(tmp_path, n_scenes=n, patches_per_side=1, patch_size=8, seed=1,
                             progress=False, params=params)
    covers = read_cover_list(tmp_path, "winter")
    cover = np.array([c["cloud_cover"] for c in covers.values()])
    # binomial s.d. of the share with 100 scenes is 0.05: allow three
    assert abs((cover > 0).mean() - prob) <= 0.15, (cover > 0).mean()
    assert summary["counts"]["cloudy_patches"] == int((cover > 0).sum())
    a, b = params.thick_cloud_cover_beta
    assert abs(cover[cover > 0].mean() - a / (a + b)) <= 0.1  # Beta(2, 2): mean 0.5


@pytest.mark.slow
def test_masks_and_cover_list_for_every_patch(cover_roots: dict[str, Path]) -> None:
    root = cover_roots["0.5"]
    covers = read_cover_list(root, "winter")
    assert len(covers) == 27
    for scene in (1, 2, 3):
        for patch in range(1, 10):
            key = PatchKey(SF, scene, patch)
            with rasterio.open(mask_path(root, key)) as m, \
                    rasterio.open(patch_path(root, key, "s2")) as s2:
                assert m.count == 1 and m.dtypes == ("uint8",) and m.shape == (32, 32)
                assert m.crs == s2.crs and m.transform == s2.transform
                arr = m.read(1)
            assert set(np.unique(arr)) <= {CLEAR, CLOUD, SHADOW, THIN_CLOUD}
            row = covers[key.id]
            assert row["cloud_cover"] == pytest.approx(np.isin(arr, [CLOUD, THIN_CLOUD]).mean(), abs=1e-6)
            assert row["shadow_cover"] == pytest.approx((arr == SHADOW).mean(), abs=1e-6)
    marker = _marker(root)
    assert marker["clouds"]["thick_clouds"] == "fixed" and marker["clouds"]["fixed_cover"] == 0.5
    assert marker["params"]["thick_cloud_fixed_cover"] == 0.5


@pytest.mark.slow
def test_clouds_bright_flat_b10_and_shadows_dark(cover_roots: dict[str, Path]) -> None:
    root, clear_root = cover_roots["0.5"], cover_roots["clear"]
    s2 = np.stack([_read(p) for p in sorted(root.rglob("s2_*/*.tif"))]).astype(np.float64)
    s2_clear = np.stack([_read(p) for p in sorted(clear_root.rglob("s2_*/*.tif"))]).astype(np.float64)
    masks = _masks(root)
    px = {code: s2.transpose(1, 0, 2, 3)[:, masks == code] for code in (CLEAR, CLOUD, SHADOW)}
    vnir = [S2_BANDS.index(b) for b in ("B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A")]
    cloud_vnir = px[CLOUD][vnir].mean(axis=1)
    assert cloud_vnir.min() > 3500  # bright ...
    assert (cloud_vnir.max() - cloud_vnir.min()) / cloud_vnir.mean() < 0.2  # ... and flat
    b10 = S2_BANDS.index("B10")
    assert px[CLOUD][b10].mean() > 10 * px[CLEAR][b10].mean()
    others = [i for i in range(13) if i != b10]
    assert (px[SHADOW][others].mean(axis=1) < px[CLEAR][others].mean(axis=1)).all()
    # the same ground is darker in shadow than without clouds
    shade = s2_clear.transpose(1, 0, 2, 3)[:, masks == SHADOW]
    assert (px[SHADOW][others].mean(axis=1) < 0.8 * shade[others].mean(axis=1)).all()


@pytest.mark.slow
def test_shadows_fall_away_from_the_sun(tmp_path: Path) -> None:
    """One patch per scene (patch = scene): every shadow pixel's cloud is at the sun-geometry offset."""
    height, zenith, azimuth, size = 1500.0, 60.0, 150.0, 64
    params = SyntheticParams(cloud_height_m=[height, height], sun_azimuth_deg=azimuth,
                             sun_zenith_deg={"winter": zenith}, cloud_prob=0.0)
    make_synthetic(tmp_path, n_scenes=2, patches_per_side=1, patch_size=size, seed=0,
                   progress=False, params=params, cloud_cover=0.3)
    length = height * np.tan(np.radians(zenith)) / SEN12MS_PATCH_M * size  # pixels
    dr = int(np.rint(np.cos(np.radians(azimuth)) * length))  # rows grow southward
    dc = int(np.rint(-np.sin(np.radians(azimuth)) * length))
    assert dr < 0 and dc < 0  # sun in the south-east: shadows north-west of their clouds
    for m in _masks(tmp_path):
        cloud, shadow = m == CLOUD, m == SHADOW
        # source of each pixel's shadow: the pixel at -(dr, dc); compare where it is inside
        src = np.zeros_like(cloud)
        src[max(dr, 0):size + min(dr, 0), max(dc, 0):size + min(dc, 0)] = \
            cloud[max(-dr, 0):size + min(-dr, 0), max(-dc, 0):size + min(-dc, 0)]
        inside = np.zeros_like(cloud)
        inside[max(dr, 0):size + min(dr, 0), max(dc, 0):size + min(dc, 0)] = True
        assert shadow.any()
        np.testing.assert_array_equal(shadow[inside], (src & ~cloud)[inside])


@pytest.mark.slow
def test_cloud_variant_links_s1_lc_and_rejects_other_roots(
    tmp_path: Path, cover_roots: dict[str, Path]
) -> None:
    src, variant = cover_roots["clear"], cover_roots["0.5"]
    for sensor in ("s1", "lc"):
        assert _bytes(variant, sensor) == _bytes(src, sensor)
    a = patch_path(src, PatchKey(SF, 1, 1), "s1").stat()
    b = patch_path(variant, PatchKey(SF, 1, 1), "s1").stat()
    assert (a.st_ino, a.st_dev) == (b.st_ino, b.st_dev)  # a hard link, not a copy
    assert _marker(variant)["clouds"]["s1_lc_from"] == str(src)
    kw = {"n_scenes": 3, "patches_per_side": 3, "patch_size": 32, "progress": False}
    with pytest.raises(ValueError, match="other S1/LC arguments \\(seed\\)"):
        make_synthetic(tmp_path / "x", **kw, seed=3, reuse_from=src)
    with pytest.raises(ValueError, match="other S1/LC arguments \\(s1_looks\\)"):
        make_synthetic(tmp_path / "x", **kw, seed=2, params={"s1_looks": 3.0}, reuse_from=src)
    with pytest.raises(ValueError, match="is not a synthetic root"):
        make_synthetic(tmp_path / "x", **kw, seed=2, reuse_from=tmp_path)
    with pytest.raises(ValueError, match="holds no synthetic season ROIs1868_summer"):
        make_cloud_variant(src, tmp_path / "y", 0.5, season="summer", progress=False)


def test_cloud_params_documented_and_checked() -> None:
    rows = {r["name"]: r for r in SyntheticParams().table()}
    for name in ("thick_cloud_prob", "thick_cloud_cover_beta", "thick_cloud_fixed_cover",
                 "cloud_height_m", "sun_zenith_deg", "sun_azimuth_deg", "cloud_shadow_factor"):
        assert rows[name]["group"] == "clouds" and rows[name]["unit"] and rows[name]["description"]
    assert SyntheticParams().thick_clouds == "off"
    assert SyntheticParams(thick_cloud_prob=0.2).thick_clouds == "drawn"
    assert SyntheticParams(thick_cloud_fixed_cover=0.0).thick_clouds == "fixed"
    bad = {
        "thick_cloud_fixed_cover": (1.5, "thick_cloud_fixed_cover must be None or in \\[0, 1\\]"),
        "thick_cloud_cover_beta": ([0, 1], "thick_cloud_cover_beta must be \\[a, b\\] with a, b > 0"),
        "cloud_height_m": ([2000, 500], "cloud_height_m must be \\[min, max\\]"),
        "sun_zenith_deg": ({"winter": 95}, "sun_zenith_deg must map seasons"),
        "cloud_shadow_factor": ([0.5] * 3, f"cloud_shadow_factor must hold {len(SIGNATURE_BANDS)}"),
        "thick_cloud_opacity": (0.0, "thick_cloud_opacity must be in \\(0, 1\\]"),
        "thick_cloud_scale": (-1.0, "thick_cloud_scale must be >= 0"),
    }
    for name, (value, match) in bad.items():
        with pytest.raises(ValueError, match=match):
            SyntheticParams(**{name: value})
