"""The shipped archives of the calibrated world and of the regime map: complete, and reproducible from the code.

Both are re-run in part from scratch, on data the generator makes again: the calibrated world's S1
Baseline of seed 0, and two cells of the regime map in the calibrated world, where both archives
meet (seed 0 of the S1 Baseline and of C, whose difference is the map's first panel).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from test_archive import TOLERANCE

from xmodal.archive import MAX_ARCHIVE_BYTES, archive_path, load_archive
from xmodal.metrics import f1_scores
from xmodal.sweep import load_study


@pytest.fixture(scope="module")
def calibrated():
    return load_archive("calibrated")


@pytest.fixture(scope="module")
def regime():
    return load_archive("regime")


@pytest.mark.parametrize("profile", ["calibrated", "regime"])
def test_the_archives_are_small_labelled_and_give_back_every_f1(profile: str) -> None:
    archive = load_archive(profile)
    assert archive_path(profile).stat().st_size < MAX_ARCHIVE_BYTES
    assert archive.profile == profile and len(archive.commit) == 40 and archive.commit[:7] in archive.label
    rows = archive.results[archive.results["status"] == "ok"]
    assert set(rows["run_dir"]) == set(archive.predictions)
    for r in rows.itertuples():
        pred = archive.predictions[r.run_dir]
        scores = f1_scores(pred.target[r.modality], pred.prob[r.modality], class_names=pred.class_names)
        assert scores["weighted"] == pytest.approx(r.weighted, abs=1e-12)


def test_the_calibrated_archive_holds_its_search_and_ten_seeds_of_each_baseline(calibrated) -> None:
    cal = calibrated.calibration
    assert cal["spec"]["targets"] == {"s1": 0.63, "s2": 0.77} and cal["spec"]["data_seed"] != 0
    assert cal["chosen"] == {k: v for k, v in load_study("calibrated")["data"]["synthetic"]["params"].items()
                             if k in cal["chosen"]}
    ok = calibrated.results[calibrated.results["status"] == "ok"]
    assert ok.groupby("modality")["seed"].nunique().to_dict() == {"s1": 10, "s2": 10}
    assert set(ok["method"]) == {"baseline"}


def test_the_regime_archive_holds_every_cell_of_its_grid(regime) -> None:
    from xmodal.analysis.regime import cells_of
    from xmodal.worlds import cell_axes, regime_cells

    spec = regime.meta["spec"]
    cells = regime_cells(regime.results, spec)
    axes = cell_axes(spec)
    levels = [list(v) for v in spec["regime"]["axes"].values()]
    assert len(cells_of(cells, axes)) == len(levels[0]) * len(levels[1])
    ok = cells[(cells["status"] == "ok") & ~cells["shared"]]
    per_cell = ok.groupby([*axes, "method"], dropna=False)["seed"].nunique()
    assert (per_cell == len(spec["regime"]["seeds"])).all() and len(spec["regime"]["seeds"]) >= 3
    assert regime.regime["worlds"] and regime.times["regime"]["worlds"]


@pytest.fixture(scope="module")
def calibrated_root(calibrated, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The calibrated world made again by the generator from the archive's data spec."""
    from xmodal.data import make_synthetic

    root = tmp_path_factory.mktemp("calibrated")
    make_synthetic(root, **{**calibrated.meta["data"]["spec"]["synthetic"], "progress": False})
    return root


@pytest.fixture(scope="module")
def rerun(calibrated_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Callable[[dict[str, Any]], Any]:
    """Train an archived run again from scratch on the calibrated world made again (once per run: the
    calibrated profile's S1 Baseline of seed 0 is also the regime map's, in the calibrated world's cell)."""
    from xmodal.training import identified_config, run_experiment

    out = tmp_path_factory.mktemp("reruns")
    done: dict[str, Any] = {}

    def again(run: dict[str, Any]) -> Any:
        if run["config_hash"] not in done:
            config = identified_config({**run["config"], "data_root": str(calibrated_root), "progress": False})
            assert config.data_fingerprint == run["config"]["data_fingerprint"]  # the generator made the same data
            assert config.hash() == run["config_hash"]
            done[run["config_hash"]] = run_experiment(config, out / Path(run["run_dir"]).name)
        return done[run["config_hash"]]

    return again


@pytest.mark.slow
def test_the_calibrated_worlds_s1_baseline_rerun_from_scratch(calibrated, rerun) -> None:
    (run,) = [r for r in calibrated.runs if r["config"]["seed"] == 0 and r["config"]["modalities"] == ["s1"]]
    again = rerun(run)
    for metric in ("weighted", "macro"):
        assert abs(again.metrics["s1"][metric] - run["metrics"]["s1"][metric]) <= TOLERANCE


@pytest.mark.slow
def test_two_cells_of_the_regime_map_rerun_from_scratch(regime, calibrated, rerun) -> None:
    """Seed 0 of the S1 Baseline and of C in two cells of the calibrated world (all of S1's patches, and the
    fewest): the runs and their gain, the map's first panel."""
    from xmodal.worlds import cell_axes, regime_cells

    spec = regime.meta["spec"]
    world_axis, size_axis = cell_axes(spec)
    level = calibrated.meta["data"]["spec"]["synthetic"]["params"][world_axis]
    sizes = [None, min(v for v in spec["regime"]["axes"][size_axis] if v is not None)]
    cells = regime_cells(regime.results, spec)
    by_dir = {r["run_dir"]: r for r in regime.runs}
    for size in sizes:
        same = cells[size_axis].isna() & ~cells["shared"] if size is None else cells[size_axis] == size
        rows = cells[(cells[world_axis] == level) & same & (cells["seed"] == 0)
                     & (cells["modality"] == "s1") & cells["method"].isin(["baseline", "C"])]
        assert len(rows) == 2
        gains = {}
        for r in rows.itertuples():
            run = by_dir[r.run_dir]
            again = rerun(run)
            assert abs(again.metrics["s1"]["weighted"] - r.weighted) <= TOLERANCE, (r.run_dir, size)
            gains[r.method] = (again.metrics["s1"]["weighted"], r.weighted)
        new = gains["C"][0] - gains["baseline"][0]
        old = gains["C"][1] - gains["baseline"][1]
        assert abs(new - old) <= 2 * TOLERANCE
