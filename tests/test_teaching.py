"""The teaching notebooks and their helpers (xmodal.teaching), on tiny synthetic data.

Every task and solution notebook of ``notebooks/teaching/`` is executed with papermill at tiny
settings; all of them, and the unit tests of the helpers, share one runs folder, so a run that
several exercises train alike (C+T+M with the base settings) is trained once and read back after.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import nbformat
import numpy as np
import papermill as pm
import pytest

from xmodal import teaching
from xmodal.config import ConfigError, ExperimentConfig
from xmodal.data import RootError
from xmodal.rundir import Result, RunDir

PROJECT = Path(__file__).resolve().parents[1]
NOTEBOOKS = PROJECT / "notebooks" / "teaching"
TEACHING_PAGE = PROJECT / "book" / "teaching.md"

#: The exercises of the teaching page, in order: notebook stem -> strings the solution must print.
EXERCISES: dict[str, tuple[str, ...]] = {
    "01-lambda": ("lam=0.0", "lam=1.0", "lam=5.0", "latent cosine", "Latent cosine similarity"),
    "02-drop-a-loss": ("C+T+M", "C+M", "C+T", "Lowest homogeneity in these runs"),
    "03-alpha-beta": ("method=C+T+M, alpha=0.0", "method=C+M, alpha=1.0",
                      "Largest difference of a predicted class probability**: 0.00e+00"),
    "04-third-modality": ("s1+s2+rgb", "rgb weighted", "homogeneity s2|rgb", "Weighted F1 per sensor"),
    "05-data-size": ("fixed steps", "epochs over the data", "Optimisation steps per run"),
    "06-split": ("split=random", "split=scene", "test patches overlapping a training patch"),
}
NOTEBOOK_STEMS = [f"{stem}{suffix}" for stem in EXERCISES for suffix in ("", "-solution")]
#: Notebooks that draw a figure (exercise 3 compares two runs number by number).
DRAWS_FIGURES = {"01-lambda", "01-lambda-solution", "02-drop-a-loss", "02-drop-a-loss-solution",
                 "04-third-modality-solution", "05-data-size", "05-data-size-solution", "06-split-solution"}

#: Parameters every teaching notebook has (its parameters cell may add exercise knobs after them).
COMMON_PARAMETERS = [
    "data_root", "runs_dir", "epochs", "steps_per_epoch", "batch_size", "patch_size", "test_fraction", "seed",
    "backbone", "latent_dim", "merge_hidden", "classifier_hidden", "modality_hidden", "threads",
]

#: Tiny settings: one epoch of two steps of 8 patches of 16 px, a narrow model, one thread.
TINY = dict(
    epochs=1, steps_per_epoch=2, batch_size=8, patch_size=16, test_fraction=0.25, latent_dim=16,
    merge_hidden=[16, 16], classifier_hidden=8, modality_hidden=8, threads=1,
)
#: Exercise knobs that must shrink with the data (the tiny root holds 27 training patches).
TINY_EXTRA: dict[str, dict] = {"05-data-size": {"n_train_sizes": [8, 16]}}


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
@pytest.mark.slow
def test_base_config_checks_the_data_root_and_builds_the_config(synthetic_root: Path) -> None:
    config = teaching.base_config(synthetic_root, method="C", epochs=2)
    assert config.data_root == str(synthetic_root)
    assert (config.method, config.epochs, config.progress) == ("C", 2, False)


def test_missing_data_root_is_named(tmp_path: Path) -> None:
    with pytest.raises(RootError, match=r"Invalid data_root '.*nope': the folder does not exist.*make data"):
        teaching.base_config(tmp_path / "nope")


@pytest.mark.slow
def test_the_base_config_is_the_default_profiles_own(synthetic_root: Path) -> None:
    """Drift: the exercises repeated the profile by hand (15 steps for 50, width 64 for 16, no cosine, 0.25)."""
    from xmodal.sweep import load_study

    profile = ExperimentConfig.from_dict(load_study(teaching.PROFILE)["base"]).to_dict()
    base = teaching.base_config(synthetic_root).to_dict()
    assert {k for k in profile if base[k] != profile[k]} == set(teaching.CHANGED_KEYS)
    assert base["data_root"] == str(synthetic_root) and base["data_fingerprint"].startswith("synthetic:")
    # a notebook parameter left at None keeps the profile's value; a given one changes only its key
    smaller = teaching.base_config(synthetic_root, epochs=2, steps_per_epoch=None, latent_dim=None).to_dict()
    assert {k for k in base if smaller[k] != base[k]} == {"epochs"}


def test_the_teaching_notebooks_repeat_no_setting_of_the_profile() -> None:
    """Every parameter naming a key of the profile's base defaults to None: the value is read from the profile."""
    profile_keys = set(teaching.profile_base())
    for stem in NOTEBOOK_STEMS:
        params = pm.inspect_notebook(str(NOTEBOOKS / f"{stem}.ipynb"))
        repeated = {name: p["default"] for name, p in params.items() if name in profile_keys and p["default"] != "None"}
        assert repeated == {}, f"{stem} repeats the profile's {repeated}"


def test_data_root_without_the_season_is_named(tmp_path: Path) -> None:
    with pytest.raises(RootError, match=r"Invalid data_root .* holds no ROIs2017_winter folder"):
        teaching.base_config(tmp_path)


@pytest.mark.slow
def test_bad_knob_is_named(synthetic_root: Path) -> None:
    with pytest.raises(ConfigError, match=r"Unknown config key\(s\) \['epoch'\]"):
        teaching.base_config(synthetic_root, epoch=3)
    with pytest.raises(ConfigError, match=r"Invalid value for 'latent_dim': 0"):
        teaching.base_config(synthetic_root, latent_dim=0)


@pytest.mark.slow
def test_variant_dir_names_method_and_hash(base: ExperimentConfig, tmp_path: Path) -> None:
    config = base.replace(lam=0.0)
    assert teaching.variant_dir(tmp_path, config) == tmp_path / f"C+T+M-{config.hash()}"


# ----------------------------------------------------------------------------- training
@pytest.mark.slow
def test_train_variants_trains_each_variant_in_order(lam_runs: list[Result], runs_dir: Path) -> None:
    assert [r.config["lam"] for r in lam_runs] == [0.0, 1.0]
    assert all(r.ok for r in lam_runs)
    for r in lam_runs:
        assert RunDir(teaching.variant_dir(runs_dir, r)).result().config_hash == r.config_hash


@pytest.mark.slow
def test_train_variants_reuses_finished_runs(
    base: ExperimentConfig, lam_runs: list[Result], runs_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = RunDir(teaching.variant_dir(runs_dir, lam_runs[0])).result_path
    before = path.stat().st_mtime_ns
    again = teaching.train_variants(base, [{"lam": 0.0}], runs_dir)
    assert again[0].config_hash == lam_runs[0].config_hash
    assert path.stat().st_mtime_ns == before
    assert "reused" in capsys.readouterr().out


@pytest.mark.slow
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
@pytest.mark.slow
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


@pytest.mark.slow
def test_compare_single_run_is_labelled_by_method(lam_runs: list[Result]) -> None:
    table = teaching.compare(lam_runs[:1], metrics=("micro",))
    assert list(table.index) == ["C+T+M"]
    assert "s1 micro" in table.columns and "s1 macro" not in table.columns


@pytest.mark.slow
def test_compare_errors(lam_runs: list[Result]) -> None:
    with pytest.raises(ValueError, match="at least one result"):
        teaching.compare([])
    with pytest.raises(ValueError, match=r"Unknown metric 'median'"):
        teaching.compare(lam_runs, metrics=("median",))


@pytest.mark.slow
def test_ranking_orders_the_runs(lam_runs: list[Result]) -> None:
    table = teaching.compare(lam_runs)
    table["score"] = [0.25, 0.75]
    assert teaching.ranking(table, "score") == "lam=1.0 (0.750) > lam=0.0 (0.250)"
    assert teaching.ranking(table, "score", higher_is_better=False) == "lam=0.0 (0.250) < lam=1.0 (0.750)"
    with pytest.raises(KeyError, match=r"Unknown column 'scores'"):
        teaching.ranking(table, "scores")


@pytest.mark.slow
def test_history_table(lam_runs: list[Result]) -> None:
    losses = teaching.history_table(lam_runs, "L_T")
    assert list(losses.columns) == ["lam=0.0", "lam=1.0"]
    assert list(losses.index) == [1]
    assert losses.loc[1, "lam=1.0"] == pytest.approx(lam_runs[1].history[0]["L_T"])
    with pytest.raises(KeyError, match=r"Unknown history key 'L_X'"):
        teaching.history_table(lam_runs, "L_X")


@pytest.mark.slow
def test_prediction_difference(lam_runs: list[Result], runs_dir: Path) -> None:
    a, b = (teaching.variant_dir(runs_dir, r) for r in lam_runs)
    assert teaching.prediction_difference(a, a) == 0.0
    diff = teaching.prediction_difference(a, b)
    pa, pb = RunDir(a).predictions(), RunDir(b).predictions()
    assert diff == pytest.approx(max(np.abs(pa.prob[m] - pb.prob[m]).max() for m in pa.modalities))


@pytest.mark.slow
def test_latent_similarity(lam_runs: list[Result], runs_dir: Path) -> None:
    run = teaching.variant_dir(runs_dir, lam_runs[0])
    z = RunDir(run).latents().z.astype(float)
    unit = z / np.linalg.norm(z, axis=1, keepdims=True)
    cos = unit @ unit.T
    expected = (cos.sum() - np.trace(cos)) / (len(z) * (len(z) - 1))
    assert teaching.latent_similarity(run) == pytest.approx(expected)
    assert -1.0 <= teaching.latent_similarity(run) <= 1.0


@pytest.mark.slow
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


# ----------------------------------------------------------------------------- the notebooks
def _read(stem: str) -> nbformat.NotebookNode:
    return nbformat.read(NOTEBOOKS / f"{stem}.ipynb", as_version=4)


def _parameters_cell(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    cells = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(cells) == 1, "exactly one cell must be tagged 'parameters'"
    return cells[0]


def test_every_exercise_has_a_task_and_a_solution() -> None:
    assert sorted(p.stem for p in NOTEBOOKS.glob("*.ipynb")) == sorted(NOTEBOOK_STEMS)
    headings = re.findall(r"^## (\d)\. ", TEACHING_PAGE.read_text(), flags=re.M)
    assert headings == [stem[1] for stem in EXERCISES], "one pair of notebooks per exercise of the page"


@pytest.mark.parametrize("stem", NOTEBOOK_STEMS)
def test_notebook_is_clean_and_follows_the_skeleton(stem: str) -> None:
    nb = _read(stem)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, "notebooks are committed without outputs"
    headings = [ln for c in nb.cells if c.cell_type == "markdown" for ln in c.source.splitlines()
                if ln.startswith("#")]
    kind = "(solution)" if stem.endswith("-solution") else "(task)"
    assert headings[0].startswith("# Exercise ") and headings[0].endswith(kind)
    for section in ("## Overview", "## Prerequisites", "## Imports", "## Parameters", "## Summary",
                    "## What's next", "## Resources and references"):
        assert section in headings, f"{stem} lacks {section}"
    assert "**Time to learn**" in "".join(c.source for c in nb.cells if c.cell_type == "markdown")
    turns = [c for c in nb.cells if c.cell_type == "code" and "# YOUR TURN" in c.source]
    assert len(turns) == (0 if stem.endswith("-solution") else 1), "the task has one cell to fill"


@pytest.mark.parametrize("stem", NOTEBOOK_STEMS)
def test_parameters_are_typed_and_documented(stem: str) -> None:
    tree = ast.parse(_parameters_cell(_read(stem)).source)
    assert all(isinstance(node, ast.AnnAssign) for node in tree.body), "only typed assignments"
    names = [node.target.id for node in tree.body if isinstance(node, ast.AnnAssign)]  # type: ignore[union-attr]
    assert names[: len(COMMON_PARAMETERS)] == COMMON_PARAMETERS
    params = pm.inspect_notebook(str(NOTEBOOKS / f"{stem}.ipynb"))
    for name, p in params.items():
        assert p["help"], f"{stem}: parameter {name} has no help comment"
        assert p["inferred_type_name"] != "None", f"{stem}: parameter {name} has no type"
    assert params["data_root"]["default"] == '"data/default"'
    assert "make book" in params["data_root"]["help"]


def test_task_and_solution_share_parameters() -> None:
    for stem in EXERCISES:
        assert _parameters_cell(_read(stem)).source == _parameters_cell(_read(f"{stem}-solution")).source


def test_teaching_page_links_the_notebooks_and_keeps_the_solutions_hidden() -> None:
    text = TEACHING_PAGE.read_text()
    for stem in NOTEBOOK_STEMS:
        assert f"notebooks/teaching/{stem}.ipynb" in text, f"the teaching page does not name {stem}"
    for stem in EXERCISES:
        assert f"papermill notebooks/teaching/{stem}.ipynb" in text
    assert text.count(":class: dropdown") >= len(EXERCISES)


def _outputs_text(nb: nbformat.NotebookNode) -> str:
    parts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            parts.append(out.get("text", ""))
            for mime in ("text/plain", "text/markdown", "text/html"):
                parts.append(str(out.get("data", {}).get(mime, "")))
    return "\n".join(parts)


@pytest.mark.slow
@pytest.mark.parametrize("stem", NOTEBOOK_STEMS)
def test_notebook_runs_with_tiny_settings(
    stem: str, synthetic_root: Path, runs_dir: Path, lam_runs: list[Result], tmp_path: Path
) -> None:
    exercise = stem.removesuffix("-solution")
    params = {**TINY, **TINY_EXTRA.get(exercise, {}), "data_root": str(synthetic_root), "runs_dir": str(runs_dir)}
    nb = pm.execute_notebook(str(NOTEBOOKS / f"{stem}.ipynb"), str(tmp_path / "out.ipynb"), parameters=params,
                             kernel_name="python3", progress_bar=False)
    text = _outputs_text(nb)
    assert "s1 weighted" in text, "the comparison table is shown"
    images = [o for c in nb.cells for o in c.get("outputs", []) if "image/png" in o.get("data", {})]
    if stem.endswith("-solution"):
        for expected in EXERCISES[exercise]:
            assert expected in text, f"{stem} does not show {expected!r}"
    assert bool(images) == (stem in DRAWS_FIGURES), f"{stem}: {len(images)} figure(s)"


@pytest.mark.slow
def test_bad_data_root_parameter_fails_naming_it(tmp_path: Path) -> None:
    with pytest.raises(pm.PapermillExecutionError, match=r"Invalid data_root 'no/such/root'") as info:
        pm.execute_notebook(str(NOTEBOOKS / "01-lambda.ipynb"), str(tmp_path / "out.ipynb"),
                            parameters={**TINY, "data_root": "no/such/root", "runs_dir": str(tmp_path / "runs")},
                            kernel_name="python3", progress_bar=False)
    assert info.value.ename == "RootError"
    assert not (tmp_path / "runs").exists()
