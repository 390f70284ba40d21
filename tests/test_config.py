"""A run's identity: the config hash and the data fingerprint (xmodal.config, xmodal.fingerprint)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from xmodal import fingerprint
from xmodal.config import ConfigError, ExperimentConfig, choices
from xmodal.data import MARKER_NAME, MissingFileError, RootError
from xmodal.fingerprint import check_fingerprint, data_fingerprint, inspect_root


# --------------------------------------------------------------------------- the hash
def test_hash_leaves_out_where_and_keeps_what() -> None:
    base = ExperimentConfig(data_root="/a/data", threads=1, data_fingerprint="synthetic:0123456789abcdef")
    assert base.replace(data_root="/elsewhere/data").hash() == base.hash()
    for runtime in ({"progress": False}, {"num_workers": 3}, {"cache_dir": "/tmp/c"}, {"device": "cpu"}):
        assert base.replace(**runtime).hash() == base.hash(), runtime
    assert base.replace(threads=2).hash() != base.hash(), "threads change the numbers: in the identity"
    assert base.replace(data_fingerprint="synthetic:fedcba9876543210").hash() != base.hash()
    assert base.replace(data_fingerprint=None).hash() != base.hash()
    # the hash is the identity's: what a reader of a result's recorded config groups runs by
    identity = base.identity()
    assert "threads" in identity and "data_root" not in identity and "device" not in identity
    assert ExperimentConfig.identity_of(base.to_dict()) == identity
    assert base.hash() == "dfca7930cb70"  # pinned (as before identity()): run folders are named by it


def test_choices_come_from_the_modules_that_define_them() -> None:
    from xmodal.data import MODALITIES, SEASONS
    from xmodal.data.labels import LABEL_SCHEMES
    from xmodal.data.sen12ms import BAD_PATCH_CHOICES, NORMALIZATIONS
    from xmodal.data.splits import SPLIT_METHODS
    from xmodal.losses import GRL_SCHEDULES
    from xmodal.models import BACKBONES

    c = choices()
    assert c["season"] == tuple(SEASONS) and c["label_scheme"] == tuple(LABEL_SCHEMES)
    assert c["split"] == tuple(SPLIT_METHODS) and c["backbone"] == tuple(BACKBONES)
    assert c["grl_schedule"] == tuple(GRL_SCHEDULES) and c["modalities"] == tuple(MODALITIES)
    assert c["normalization"] == NORMALIZATIONS and c["bad_patch"] == BAD_PATCH_CHOICES
    with pytest.raises(ConfigError, match=r"Invalid value for 'modalities': unknown modality 'sar'; choose from"):
        ExperimentConfig(modalities=["sar", "s2"])
    with pytest.raises(ConfigError, match="Invalid value for 'data_fingerprint': empty string"):
        ExperimentConfig(data_fingerprint=" ")


def test_pairing_is_validated() -> None:
    from xmodal.data.splits import PAIRINGS

    assert choices()["pairing"] == PAIRINGS == ("aligned", "disjoint")
    assert ExperimentConfig().pairing == "aligned"
    disjoint = ExperimentConfig(pairing="disjoint")
    assert disjoint.hash() != ExperimentConfig().hash() and disjoint.to_dict()["pairing"] == "disjoint"
    with pytest.raises(ConfigError, match=r"Invalid value for 'pairing': 'paired'; choose one of \['aligned', 'disj"):
        ExperimentConfig(pairing="paired")
    with pytest.raises(ConfigError, match="'pairing': pairing 'disjoint' needs at least two modalities"):
        ExperimentConfig(method="baseline", modalities=["s1"], pairing="disjoint")
    assert ExperimentConfig(method="baseline", modalities=["s1"], pairing="aligned").pairing == "aligned"


def test_config_imports_without_torch() -> None:
    code = "import sys, xmodal.config; assert 'torch' not in sys.modules, 'config pulled torch'"
    subprocess.run([sys.executable, "-c", code], check=True)


# --------------------------------------------------------------------------- the fingerprint
@pytest.mark.slow
def test_synthetic_fingerprint_follows_the_data_not_the_path(synthetic_root: Path, tmp_path: Path) -> None:
    summary = inspect_root(synthetic_root)
    assert summary.kind == "synthetic" and summary.fingerprint.startswith("synthetic:")
    assert summary.counts == {"s1": 36, "s2": 36, "lc": 36} and summary.n_patches == 36 and summary.n_unpaired == 0
    moved = tmp_path / "moved"
    shutil.copytree(synthetic_root, moved, ignore=shutil.ignore_patterns(".xmodal_cache"))
    assert data_fingerprint(moved) == summary.fingerprint
    marker = json.loads((moved / MARKER_NAME).read_text())
    marker["seasons"]["ROIs2017_winter"]["seed"] = 1  # other generator arguments: other data
    (moved / MARKER_NAME).write_text(json.dumps(marker))
    assert data_fingerprint(moved) != summary.fingerprint


@pytest.mark.slow
def test_real_fingerprint_is_a_digest_of_names_and_sizes(synthetic_copy: Path, tmp_path: Path) -> None:
    (synthetic_copy / MARKER_NAME).unlink()  # now it looks like a real SEN12MS download
    first = inspect_root(synthetic_copy)
    assert first.kind == "sen12ms" and first.fingerprint.startswith("sen12ms:")
    copy = tmp_path / "copy"
    shutil.copytree(synthetic_copy, copy, ignore=shutil.ignore_patterns(".xmodal_cache"))
    assert data_fingerprint(copy) == first.fingerprint
    victim = next(copy.rglob("*_s1_2_p3.tif"))
    victim.unlink()
    changed = inspect_root(copy)
    assert changed.fingerprint != first.fingerprint
    assert changed.n_unpaired == 1 and changed.unpaired == ("ROIs2017_winter_2_p3",)
    assert changed.counts == {"s1": 35, "s2": 36, "lc": 36}


@pytest.mark.slow
def test_listing_is_cached_by_folder_times(synthetic_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = data_fingerprint(synthetic_copy)
    cache = synthetic_copy / ".xmodal_cache" / "ROIs2017_winter" / fingerprint.FINGERPRINT_FILE
    assert cache.is_file()

    def no_listing(*args: object) -> dict:
        raise AssertionError("listed the files again although nothing changed")

    with monkeypatch.context() as m:
        m.setattr(fingerprint, "_list_season", no_listing)
        assert data_fingerprint(synthetic_copy) == first
    scene = next((synthetic_copy / "ROIs2017_winter").glob("s2_1"))
    (scene / "ROIs2017_winter_s2_1_p99.tif").write_bytes(b"x")  # a file added: its folder's time changes
    with pytest.raises(RootError, match="holds 109 patch files but the synthetic data marker records 108"):
        inspect_root(synthetic_copy)


@pytest.mark.slow
def test_read_only_cache_folder_still_works(synthetic_root: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    assert data_fingerprint(synthetic_root, cache_dir=blocker) == data_fingerprint(synthetic_root)


@pytest.mark.slow
def test_official_lists_enter_the_fingerprint_only_when_used(synthetic_copy: Path) -> None:
    plain = data_fingerprint(synthetic_copy)
    with pytest.raises(MissingFileError, match=r"Official split list not found: .*train_list.txt"):
        data_fingerprint(synthetic_copy, official_lists=True)
    for name in fingerprint.SPLIT_LIST_NAMES:
        (synthetic_copy / name).write_text("ROIs2017_winter_s1_1_p1.tif\n")
    official = data_fingerprint(synthetic_copy, official_lists=True)
    assert official != plain and data_fingerprint(synthetic_copy) == plain
    (synthetic_copy / "test_list.txt").write_text("ROIs2017_winter_s1_1_p2.tif\n")
    assert data_fingerprint(synthetic_copy, official_lists=True) != official


@pytest.mark.slow
def test_broken_roots_are_named(synthetic_copy: Path, tmp_path: Path) -> None:
    with pytest.raises(RootError, match=f"SEN12MS root not found: {tmp_path / 'nope'}"):
        inspect_root(tmp_path / "nope")
    with pytest.raises(RootError, match="has no folder ROIs1868_summer for season 'summer'"):
        inspect_root(synthetic_copy, "summer")
    marker = synthetic_copy / MARKER_NAME
    meta = json.loads(marker.read_text())
    marker.write_text(json.dumps({**meta, "status": "writing"}))
    with pytest.raises(RootError, match=r"is incomplete \(its marker xmodal_synthetic.json says status 'writing'"):
        inspect_root(synthetic_copy)
    marker.write_text("{broken")
    with pytest.raises(RootError, match="Cannot read the synthetic data marker"):
        inspect_root(synthetic_copy)


@pytest.mark.slow
def test_check_fingerprint_names_both(synthetic_root: Path) -> None:
    config = ExperimentConfig(data_root=str(synthetic_root))
    actual = check_fingerprint(config)
    assert check_fingerprint(config.replace(data_fingerprint=actual)) == actual
    with pytest.raises(ConfigError, match=rf"set up for data sen12ms:0000000000000000 but {synthetic_root} "
                                          rf"\(season winter\) holds {actual}"):
        check_fingerprint(config.replace(data_fingerprint="sen12ms:0000000000000000"))


def test_listing_a_large_root_is_fast(tmp_path: Path) -> None:
    """3,000 patch files (9,000 with S1/S2/LC) are listed in well under a second, and a cached listing is instant."""
    import time

    season = tmp_path / "ROIs2017_winter"
    for scene in range(1, 31):
        for sensor in ("s1", "s2", "lc"):
            folder = season / f"{sensor}_{scene}"
            folder.mkdir(parents=True)
            for patch in range(1, 101):
                (folder / f"ROIs2017_winter_{sensor}_{scene}_p{patch}.tif").write_bytes(b"")
    t0 = time.perf_counter()
    cold = inspect_root(tmp_path)
    t1 = time.perf_counter()
    warm = inspect_root(tmp_path)
    t2 = time.perf_counter()
    assert cold == warm and cold.n_patches == 3000
    assert t1 - t0 < 5 and t2 - t1 < 0.5, (t1 - t0, t2 - t1)
    assert os.stat(tmp_path / ".xmodal_cache" / "ROIs2017_winter" / fingerprint.FINGERPRINT_FILE).st_size > 0
