"""A study of three sensors end to end: sweep, results, analysis tables and the book's page context.

``rgb`` is the camera-only view of Sentinel-2 (its visible bands B04, B03, B02). One C+T+M point on
S1, S2 and RGB and the three single-sensor Baselines run through :func:`xmodal.sweep.run_sweep` on
the tiny synthetic data; nothing downstream may assume two sensors.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

pytestmark = pytest.mark.slow

SENSORS = ["s1", "s2", "rgb"]
PAIRS = [("s1", "s2"), ("s1", "rgb"), ("s2", "rgb")]

THREE_SENSORS: dict = {
    "name": "three",
    "description": "C+T+M on S1, S2 and RGB, and a Baseline per sensor: 1 epoch of a narrow ResNet18.",
    "base": {
        "season": "winter", "split": "scene", "test_fraction": 0.25, "backbone": "resnet18",
        "latent_dim": 32, "merge_hidden": [32, 32], "classifier_hidden": 16, "modality_hidden": 8,
        "epochs": 1, "batch_size": 8, "n_latent": 12, "device": "cpu",
    },
    "seeds": [0],
    "runs": [
        {"method": "baseline", "modalities": [["s1"], ["s2"], ["rgb"]]},
        {"method": "C+T+M", "modalities": SENSORS},
    ],
}


@pytest.fixture(scope="module")
def study_dir(synthetic_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from xmodal.sweep import run_sweep

    runs = tmp_path_factory.mktemp("three_runs")
    status = run_sweep(dict(THREE_SENSORS), jobs=2, data_root=synthetic_root, runs_dir=runs, progress=False)
    assert status == 0, f"the three-sensor study failed; see the error files under {runs / 'three'}"
    return runs / "three"


@pytest.fixture(scope="module")
def results(study_dir: Path) -> pd.DataFrame:
    from xmodal.results import load_results

    df = load_results(study_dir)
    assert (df["status"] == "ok").all(), df[df["status"] != "ok"][["point", "error"]]
    return df


def test_results_have_a_row_per_run_and_sensor(results: pd.DataFrame) -> None:
    from xmodal import report

    assert len(results) == 3 + 3 and results["run_dir"].nunique() == 4
    joint = results[results["method"] == "C+T+M"]
    assert sorted(joint["modality"]) == sorted(SENSORS) and (joint["trained_modalities"] == "s1+s2+rgb").all()
    assert joint["homogeneity"].between(0, 1).all()
    scores = report.score_table(results)
    assert scores[["method", "modality"]].apply(tuple, axis=1).tolist() == (
        [("baseline", s) for s in SENSORS] + [("C+T+M", s) for s in SENSORS])
    assert scores["weighted_mean"].between(0, 1).all()
    comparison = report.comparison_table(results)
    assert set(comparison["modality"]) == {"S1", "S2", "RGB"}
    gaps = report.gap_table(results)
    assert len(gaps) == 2 * 3 and set(gaps["sensors"]) == {"S2 − S1", "RGB − S1", "RGB − S2"}


def test_homogeneity_of_every_pair_of_sensors_and_of_baselines(results: pd.DataFrame) -> None:
    from xmodal import report
    from xmodal.analysis.stats import VERDICTS
    from xmodal.results import baseline_homogeneity, load_homogeneity

    base = baseline_homogeneity(results)
    assert list(zip(base["sensor_a"], base["sensor_b"], strict=True)) == PAIRS
    assert base["homogeneity"].between(0, 1).all() and (base["n_pairs"] > 0).all()
    assert (base["run_dir_a"] != base["run_dir_b"]).all()  # two separately trained models
    pairs = load_homogeneity(results)
    joint = pairs[pairs["method"] == "C+T+M"]
    assert list(zip(joint["sensor_a"], joint["sensor_b"], strict=True)) == PAIRS
    table = report.homogeneity_table(pairs)
    assert table[["method", "sensors"]].apply(tuple, axis=1).tolist() == [
        (m, p) for m in ("Baseline", "C+T+M") for p in ("S1, S2", "S1, RGB", "S2, RGB")]
    paper = table.set_index(["method", "sensors"])["s (paper)"]
    assert paper[("C+T+M", "S1, S2")] == "0.67" and paper[("C+T+M", "S2, RGB")] == "–"
    verdicts = report.check_claims(results, pairs)
    assert len(verdicts) and set(verdicts["verdict"]) <= set(VERDICTS)
    assert not verdicts["id"].str.contains("rgb").any()  # the paper's claims, on the paper's sensors


def test_the_books_context_and_figures_take_the_sensors_from_the_runs(study_dir: Path, synthetic_root: Path) -> None:
    import matplotlib.pyplot as plt

    from xmodal import plots, report
    from xmodal.analysis.latent import latent_measures
    from xmodal.analysis.triplets import mined_triplets
    from xmodal.book import page_context, run_notebooks

    ctx = page_context(runs_dir=study_dir.parent, study="three", data_root=synthetic_root)
    assert ctx.sensors == SENSORS and ctx.n_runs == 4 and ctx.config["modalities"] == SENSORS
    assert len(run_notebooks(study_dir)) == 4
    assert len(report.homogeneity_table(ctx.homogeneity)) == 6
    panels = ctx.latent_panels()
    assert list(panels) == ["Baseline (three models)", "C+T+M"]
    lat = panels["C+T+M"][0]
    measures = latent_measures(lat.z, lat.modality, lat.ids, lat.labels, k=2)
    for a, b in PAIRS:  # every pair of sensors meets (or not) in the latent space, in both directions
        assert 0 <= measures[f"pair_{a}_to_{b}_recall_at_1"] <= 1
        assert 0 <= measures[f"pair_{b}_to_{a}_recall_at_1"] <= 1
    train, test = ctx.datasets()
    assert train.modality == "s1" and "an S1 input is 2 bands" in ctx.data_summary(train, test)
    fig = plots.figure2(ctx.results, source=ctx.source)
    assert len(fig.axes[0].patches) == 2 * 3 * 2  # (Baseline, C+T+M) x three sensors x (macro, weighted)
    plt.close(fig)
    fig = plots.patch_gallery(ctx.data_root, report.pick_patches(test.ids, test.labels, n=2), ctx.sensors)
    assert [ax.get_title() for ax in fig.axes[3:6]] == ["S2 false colour (NIR)", "RGB true colour", "land cover"]
    plt.close(fig)
    table, info = mined_triplets(panels["C+T+M"][0], batch_size=6)
    assert info["n"] == 6 and set(table["anchor"]) <= set(panels["C+T+M"][0].of("s1").ids)
