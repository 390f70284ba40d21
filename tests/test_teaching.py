"""The helpers of the teaching notebooks (xmodal.teaching), on tiny synthetic data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from xmodal import teaching
from xmodal.config import ConfigError, ExperimentConfig
from xmodal.data import RootError
from xmodal.rundir import Result, RunDir

#: Tiny settings: one epoch of two steps of 8 patches of 16 px, a narrow model, one thread.
TINY = dict(
    epochs=1, steps_per_epoch=2, batch_size=8, patch_size=16, test_fraction=0.25, latent_dim=16,
    merge_hidden=[16, 16], classifier_hidden=8, modality_hidden=8, threads=1,
)


@pytest.fixture(scope="module")
def runs_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One runs folder for the whole module: notebooks and unit tests reuse each other's runs."""
    return tmp_path_factory.mktemp("teaching_runs")


@pytest.fixture(scope="module")
def base(synthetic_root: Path) -> ExperimentConfig:
    """The tiny base configuration, as the notebooks build it from ``TINY``."""
    return teaching.base_config(synthetic_root, method="C+T+M", **TINY)


@pytest.fixture(scope="module")
def lam_runs(base: ExperimentConfig, runs_dir: Path) -> list[Result]:
    """The runs of exercise 1 (lam = 0 and 1), shared with its notebooks."""
    return teaching.train_variants(base, [{"lam": 0.0}, {"lam": 1.0}], runs_dir, verbose=False)


# ----------------------------------------------------------------------------- configuration
def test_base_config_checks_the_data_root_and_builds_the_config(synthetic_root: Path) -> None:
    config = teaching.base_config(synthetic_root, method="C", epochs=2)
    assert config.data_root == str(synthetic_root)
    assert (config.method, config.epochs, config.progress) == ("C", 2, False)


def test_missing_data_root_is_named(tmp_path: Path) -> None:
    with pytest.raises(RootError, match=r"Invalid data_root '.*nope': no such folder.*make data"):
        teaching.check_data_root(tmp_path / "nope")


def test_data_root_without_the_season_is_named(tmp_path: Path) -> None:
    with pytest.raises(RootError, match=r"Invalid data_root .* holds no ROIs2017_winter folder"):
        teaching.base_config(tmp_path)


def test_bad_knob_is_named(synthetic_root: Path) -> None:
    with pytest.raises(ConfigError, match=r"Unknown config key\(s\) \['epoch'\]"):
        teaching.base_config(synthetic_root, epoch=3)
    with pytest.raises(ConfigError, match=r"Invalid value for 'latent_dim': 0"):
        teaching.base_config(synthetic_root, latent_dim=0)


def test_variant_dir_names_method_and_hash(base: ExperimentConfig, tmp_path: Path) -> None:
    config = base.replace(lam=0.0)
    assert teaching.variant_dir(tmp_path, config) == tmp_path / f"C+T+M-{config.hash()}"


# ----------------------------------------------------------------------------- training
def test_train_variants_trains_each_variant_in_order(lam_runs: list[Result], runs_dir: Path) -> None:
    assert [r.config["lam"] for r in lam_runs] == [0.0, 1.0]
    assert all(r.ok for r in lam_runs)
    for r in lam_runs:
        assert RunDir(teaching.variant_dir(runs_dir, r)).result().config_hash == r.config_hash


def test_train_variants_reuses_finished_runs(
    base: ExperimentConfig, lam_runs: list[Result], runs_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = RunDir(teaching.variant_dir(runs_dir, lam_runs[0])).result_path
    before = path.stat().st_mtime_ns
    again = teaching.train_variants(base, [{"lam": 0.0}], runs_dir)
    assert again[0].config_hash == lam_runs[0].config_hash
    assert path.stat().st_mtime_ns == before
    assert "reused" in capsys.readouterr().out


@pytest.mark.parametrize(
    "variants, error, message",
    [
        ([], ValueError, r"Invalid variants \[\]"),
        ({"lam": 0.0}, ValueError, r"Invalid variants \{'lam': 0.0\}"),
        ([{"lam": 0.0}, "lam=1"], ValueError, r"Invalid variant #1 'lam=1'"),
        ([{"lamda": 0.0}], ConfigError, r"Unknown config key\(s\) \['lamda'\]"),
        ([{"lam": -1.0}], ConfigError, r"Invalid value for 'lam': -1.0"),
    ],
)
def test_bad_variants_are_named(base: ExperimentConfig, tmp_path: Path, variants, error, message) -> None:
    with pytest.raises(error, match=message):
        teaching.train_variants(base, variants, tmp_path)
    assert not any(tmp_path.iterdir()), "nothing is trained when a variant is bad"


# ----------------------------------------------------------------------------- comparing
def test_compare_labels_rows_by_what_differs(lam_runs: list[Result]) -> None:
    table = teaching.compare(lam_runs)
    assert list(table.index) == ["lam=0.0", "lam=1.0"]
    assert list(table["lam"]) == [0.0, 1.0]
    for column in ("method", "train patches", "steps", "s1 macro", "s1 weighted", "s2 macro", "s2 weighted",
                   "homogeneity s1|s2"):
        assert column in table.columns
    assert list(table["steps"]) == [2, 2]
    assert table.loc["lam=1.0", "s2 weighted"] == pytest.approx(lam_runs[1].metrics["s2"]["weighted"])
    assert table.loc["lam=0.0", "homogeneity s1|s2"] == pytest.approx(lam_runs[0].homogeneity["s1|s2"])
    assert "2 runs (seed 0) on synthetic data" in table.attrs["source"]


def test_compare_single_run_is_labelled_by_method(lam_runs: list[Result]) -> None:
    table = teaching.compare(lam_runs[:1], metrics=("micro",))
    assert list(table.index) == ["C+T+M"]
    assert "s1 micro" in table.columns and "s1 macro" not in table.columns


def test_compare_errors(lam_runs: list[Result]) -> None:
    with pytest.raises(ValueError, match="at least one result"):
        teaching.compare([])
    with pytest.raises(ValueError, match=r"Unknown metric 'median'"):
        teaching.compare(lam_runs, metrics=("median",))


def test_ranking_orders_the_runs(lam_runs: list[Result]) -> None:
    table = teaching.compare(lam_runs)
    table["score"] = [0.25, 0.75]
    assert teaching.ranking(table, "score") == "lam=1.0 (0.750) > lam=0.0 (0.250)"
    assert teaching.ranking(table, "score", higher_is_better=False) == "lam=0.0 (0.250) < lam=1.0 (0.750)"
    with pytest.raises(KeyError, match=r"Unknown column 'scores'"):
        teaching.ranking(table, "scores")


def test_history_table(lam_runs: list[Result]) -> None:
    losses = teaching.history_table(lam_runs, "L_T")
    assert list(losses.columns) == ["lam=0.0", "lam=1.0"]
    assert list(losses.index) == [1]
    assert losses.loc[1, "lam=1.0"] == pytest.approx(lam_runs[1].history[0]["L_T"])
    with pytest.raises(KeyError, match=r"Unknown history key 'L_X'"):
        teaching.history_table(lam_runs, "L_X")


def test_prediction_difference(lam_runs: list[Result], runs_dir: Path) -> None:
    a, b = (teaching.variant_dir(runs_dir, r) for r in lam_runs)
    assert teaching.prediction_difference(a, a) == 0.0
    diff = teaching.prediction_difference(a, b)
    pa, pb = RunDir(a).predictions(), RunDir(b).predictions()
    assert diff == pytest.approx(max(np.abs(pa.prob[m] - pb.prob[m]).max() for m in pa.modalities))


def test_latent_similarity(lam_runs: list[Result], runs_dir: Path) -> None:
    run = teaching.variant_dir(runs_dir, lam_runs[0])
    z = RunDir(run).latents().z.astype(float)
    unit = z / np.linalg.norm(z, axis=1, keepdims=True)
    cos = unit @ unit.T
    expected = (cos.sum() - np.trace(cos)) / (len(z) * (len(z) - 1))
    assert teaching.latent_similarity(run) == pytest.approx(expected)
    assert -1.0 <= teaching.latent_similarity(run) <= 1.0


def test_plot_comparison(lam_runs: list[Result]) -> None:
    import matplotlib.pyplot as plt

    table = teaching.compare(lam_runs)
    fig = teaching.plot_comparison(table, ["s1 macro", "homogeneity s1|s2"], title="lam")
    assert fig.axes[0].get_title() == "lam"
    assert any("2 runs" in t.get_text() for t in fig.texts), "the figure says which data and how many runs"
    plt.close(fig)
    fig = teaching.plot_comparison(table, ["s1 weighted"], x="lam", by="method")
    assert len(fig.axes[0].lines) == 1
    plt.close(fig)
    with pytest.raises(KeyError, match=r"Unknown column 's3 macro'"):
        teaching.plot_comparison(table, ["s3 macro"])
