"""Study-wide figures (xmodal.plots): drawn from hand-made tables and the tiny synthetic data;
the few checks that need a really trained study are marked slow."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from book_study import shared_tiny_study

METHODS = ("baseline", "C", "C+M", "C+T", "C+T+M")


def _results(sensors: tuple[str, ...] = ("s1", "s2"), sizes: tuple[int | None, ...] = (None,),
             seeds: tuple[int, ...] = (0,)) -> pd.DataFrame:
    """A results table: every method on ``sensors`` (the baseline once per sensor), known scores."""
    rows = []
    for method in METHODS:
        for k, s in enumerate(sensors):
            for n in sizes:
                for seed in seeds:
                    trained = s if method == "baseline" else "+".join(sensors)
                    score = 0.4 + 0.05 * k + 0.01 * METHODS.index(method) + 0.001 * seed + (0 if n is None else -0.1)
                    rows.append({"method": method, "modality": s, "trained_modalities": trained,
                                 "n_train": 100 if n is None else n, "n_train_requested": n, "seed": seed,
                                 "macro": score, "weighted": score + 0.1, "status": "ok",
                                 "run_dir": f"/r/{method}-{trained}-{n}-{seed}"})
    df = pd.DataFrame(rows)
    df["n_train_requested"] = df["n_train_requested"].astype("Int64")
    return df


# ----------------------------------------------------------------------------- Figures 2 and 3
def test_figure2_draws_every_method_sensor_and_the_paper_markers() -> None:
    import matplotlib.pyplot as plt

    from xmodal.plots import figure2

    fig = figure2(_results(seeds=(0, 1)), source="SOURCE LINE")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["Baseline", "C", "C+M", "C+T", "C+T+M"]
    assert len(ax.patches) == 5 * 2 * 2  # methods x (S1, S2) x (macro, weighted)
    assert max(p.get_height() for p in ax.patches) == pytest.approx(0.4 + 0.05 + 0.04 + 0.1 + 0.0005)
    paper_points = [c for c in ax.collections if c.get_label() == "reported by the paper"]
    assert paper_points, "the paper's numbers are missing from Figure 2"
    assert "SOURCE LINE" in ax.get_title() and ax.get_ylabel() == "F1 (threshold 0.3)"
    labels = {t.get_text() for t in ax.get_legend().get_texts()}
    assert {"S1 macro F1", "S2 weighted F1", "reported by the paper"} <= labels
    plt.close(fig)
    fig = figure2(_results(("s1", "s2", "rgb")))
    assert len(fig.axes[0].patches) == 5 * 3 * 2
    assert "RGB weighted F1" in {t.get_text() for t in fig.axes[0].get_legend().get_texts()}
    plt.close(fig)


def test_figure3_has_one_line_per_method_and_sensor_over_sizes() -> None:
    import matplotlib.pyplot as plt

    from xmodal.plots import figure3

    fig = figure3(_results(sizes=(12, None)), source="SRC")
    ax = fig.axes[0]
    labels = sorted(line.get_label() for line in ax.get_lines())
    assert labels == sorted(f"{m} {s}" for m in ("Baseline", "C", "C+T+M") for s in ("S1", "S2"))
    for line in ax.get_lines():
        assert len(line.get_xdata()) == 2  # n_train 12 and the whole split (100)
        assert (line.get_linestyle() == "--") == line.get_label().endswith("S1")
    assert "(S1 dashed, S2 solid; band: ± std over seeds)" in ax.get_title() and "SRC" in ax.get_title()
    plt.close(fig)
    fig = figure3(_results(("s1", "s2", "rgb"), sizes=(12, None)))
    styles = {line.get_label().split()[-1]: line.get_linestyle() for line in fig.axes[0].get_lines()}
    assert styles == {"S1": "--", "S2": "-", "RGB": ":"}
    assert "S1 dashed, S2 solid, RGB dotted" in fig.axes[0].get_title()
    plt.close(fig)


# ----------------------------------------------------------------------------- data
@pytest.mark.slow
def test_patch_gallery_shows_the_views_of_each_sensor(synthetic_root: Path) -> None:
    import matplotlib.pyplot as plt

    from xmodal.plots import patch_gallery

    ids = ["ROIs2017_winter_1_p1", "ROIs2017_winter_2_p3"]
    fig = patch_gallery(synthetic_root, ids, ["s2", "s1"], source="SRC")
    titles = [ax.get_title() for ax in fig.axes[:5]]
    assert titles == ["S1 VV (dB)", "S1 VH (dB)", "S2 true colour", "S2 false colour (NIR)", "land cover"]
    assert len(fig.axes) == 2 * 5 and fig.get_suptitle() == "Aligned patches — SRC"
    vv = fig.axes[0].get_images()[0].get_array()
    assert vv.min() >= -25 and vv.max() <= 0  # dB clipped as the reader does
    plt.close(fig)
    fig = patch_gallery(synthetic_root, ids[:1], ["s1", "s2", "rgb"])
    assert [ax.get_title() for ax in fig.axes][-2:] == ["RGB true colour", "land cover"]
    plt.close(fig)
    with pytest.raises(ValueError, match="Unknown modality 'radar'"):
        patch_gallery(synthetic_root, ids, ["radar"])


@pytest.mark.slow
def test_soft_label_example_matches_the_label_layer(synthetic_root: Path) -> None:
    import matplotlib.pyplot as plt

    from xmodal.data.labels import soft_label
    from xmodal.data.layout import read_patch
    from xmodal.plots import soft_label_example

    pid = "ROIs2017_winter_1_p1"
    fig, table = soft_label_example(synthetic_root, pid)
    expected = soft_label(read_patch(synthetic_root, pid, "lc"))
    np.testing.assert_allclose(table["soft label"].to_numpy(), expected)
    assert table["soft label"].sum() == pytest.approx(1.0)
    assert (table["present for F1 (> 0.3)"] == (expected > 0.3)).all()
    assert len(fig.axes[1].patches) == len(table)
    plt.close(fig)


@pytest.mark.slow
def test_read_patch_reads_through_the_data_layer_and_names_the_problem(synthetic_root: Path) -> None:
    from xmodal.data.errors import MissingFileError
    from xmodal.data.layout import PatchKey, parse_patch_id, read_patch

    key = parse_patch_id("ROIs2017_winter_12_p34")
    assert key == PatchKey("ROIs2017_winter", 12, 34) and key.id == "ROIs2017_winter_12_p34"
    s2 = read_patch(synthetic_root, "ROIs2017_winter_1_p1", "s2")
    assert s2.shape[0] == 13 and s2.dtype == np.uint16
    assert read_patch(synthetic_root, PatchKey("ROIs2017_winter", 1, 1), "s1").shape[0] == 2
    with pytest.raises(ValueError, match="Not a SEN12MS patch id: 'scene 1'"):
        read_patch(synthetic_root, "scene 1", "s1")
    with pytest.raises(MissingFileError, match="No s2 file for patch ROIs2017_winter_99_p0: .*s2_99"):
        read_patch(synthetic_root, "ROIs2017_winter_99_p0", "s2")


def test_class_frequency_and_signature_figures() -> None:
    import matplotlib.pyplot as plt

    from xmodal.data.normalize import S2_BANDS
    from xmodal.data.synthetic import SyntheticParams
    from xmodal.plots import class_frequency_figure, signature_figure
    from xmodal.report.data_tables import class_frequency_table

    table = class_frequency_table(np.array([[0.5, 0.5, 0.0], [0.2, 0.0, 0.8]]), ["a", "b", "c"])
    fig = class_frequency_figure(table, title="T")
    ax = fig.axes[0]
    assert len(ax.patches) == 3 * 3 and ax.get_title() == "T"
    assert {t.get_text() for t in ax.get_legend().get_texts()} == set(table.columns) - {"class"}
    plt.close(fig)
    fig = signature_figure(SyntheticParams())
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == list(S2_BANDS)
    plt.close(fig)


# ----------------------------------------------------------------------------- method
def test_architecture_has_one_branch_per_sensor() -> None:
    import matplotlib.pyplot as plt

    from xmodal.plots import architecture_figure, grl_schedule_figure

    for sensors in (["s1", "s2"], ["s1", "s2", "rgb"]):
        fig = architecture_figure(sensors, backbone="resnet18", latent_dim=32)
        texts = [t.get_text() for t in fig.axes[0].texts]
        assert sum(t.startswith("merge net") for t in texts) == len(sensors)
        assert any(t.startswith("RGB\n") for t in texts) == ("rgb" in sensors)
        plt.close(fig)
    fig = grl_schedule_figure()
    assert {line.get_label() for line in fig.axes[0].get_lines()} == {"constant", "acmr"}
    plt.close(fig)


def test_triplet_figure_marks_positives_and_negatives() -> None:
    import matplotlib.pyplot as plt

    from xmodal.plots import triplet_figure

    info = {"s": np.eye(4), "cos": np.zeros((4, 4)), "pos": np.array([0, 1, 2, 3]), "neg": np.array([1, 2, 3, 0]),
            "valid": np.array([True, True, False, True])}
    fig = triplet_figure(info, title="T")
    marked = [c for c in fig.axes[0].collections if c.get_label() in ("positive", "hard negative")]
    assert [len(c.get_offsets()) for c in marked] == [3, 3]
    plt.close(fig)


# ----------------------------------------------------------------------------- latent space
def _embedding(sensors: tuple[str, ...] = ("s1", "s2")) -> pd.DataFrame:
    n = 4
    rows = []
    for panel in ("Baseline", "C+T+M"):
        for s in sensors:
            for i in range(n):
                rows.append({"panel": panel, "x": float(i), "y": float(len(rows)), "modality": s,
                             "id": f"ROIs2017_winter_1_p{i}", "dominant": ("Forest", "Water")[i % 2],
                             "soft_label": "Forest 1.00"})
    return pd.DataFrame(rows)


def test_latent_figure_holds_every_point_once_per_colouring() -> None:
    from xmodal.plots import MARKER_SYMBOLS, latent_figure, plotly_html

    emb = _embedding(("s1", "s2", "rgb"))
    fig = latent_figure(emb, ["Forest", "Water", "Urban"], title="T")
    shown = [t for t in fig.data if t.visible is not False]
    assert sum(len(t.x) for t in shown) == len(emb)  # coloured by sensor: every point once
    assert {t.name for t in shown} == {"S1", "S2", "RGB"}
    by_class = [t for t in fig.data if t.visible is False]
    assert sum(len(t.x) for t in by_class) == len(emb)  # the other button: every point once
    assert set(np.concatenate([t.marker.symbol for t in by_class])) == set(MARKER_SYMBOLS[:3])
    assert {b.label for b in fig.layout.updatemenus[0].buttons} == {"colour by modality", "colour by dominant class"}
    assert "ROIs2017_winter" in str(shown[0].customdata[0][0])  # hover: the patch id
    html = plotly_html(fig, div_id="x")
    assert "Plotly.newPlot" in html and "https://" not in html


def test_static_latent_figure_has_a_row_per_colouring() -> None:
    import matplotlib.pyplot as plt

    from xmodal.plots import latent_figure_static

    fig = latent_figure_static(_embedding(), ["Forest", "Water"], title="a <sub>b</sub>")
    assert len(fig.axes) == 4 and fig.axes[0].get_title() == "Baseline"
    assert {t.get_text() for t in fig.axes[0].get_legend().get_texts()} == {"S1", "S2"}
    plt.close(fig)


def test_latent_figures_wrap_many_panels_into_rows() -> None:
    import matplotlib.pyplot as plt

    from xmodal.plots import PANELS_PER_ROW, latent_figure, latent_figure_static

    emb = pd.concat([_embedding().assign(panel=f"P{i}") for i in range(PANELS_PER_ROW + 1)], ignore_index=True)
    fig = latent_figure(emb, ["Forest", "Water"])
    assert len(fig.layout.annotations) == PANELS_PER_ROW + 1  # a title per panel
    assert fig.layout.height > 480 and fig.layout.xaxis4.domain == fig.layout.xaxis.domain  # second row
    static = latent_figure_static(emb, ["Forest", "Water"])
    assert len(static.axes) == 2 * (PANELS_PER_ROW + 1)  # unused cells removed
    plt.close(static)


def _tidy(groups: list[str], labels: list[str], n: int = 3) -> pd.DataFrame:
    rows = []
    for i, g in enumerate(groups):
        for j, lab in enumerate(labels):
            rows.append({"method": g, "alignment": None, "measure": lab, "label": lab, "estimate": 0.5 + 0.1 * i,
                         "low": 0.4 + 0.1 * i, "high": 0.6 + 0.1 * i, "n": 0 if (i, j) == (0, 1) else n,
                         "chance": 0.5 if j == 0 else math.nan})
    return pd.DataFrame(rows)


def test_latent_measures_figure_draws_a_panel_per_measure_and_the_chance_line() -> None:
    import matplotlib.pyplot as plt

    from xmodal.plots import latent_measures_figure

    fig = latent_measures_figure(_tidy(["C", "C+T+M", "C+T+M (confusion)"], ["probe accuracy", "mAP", "mixing",
                                                                              "recall"]), source="src")
    axes = [ax for ax in fig.axes if ax.get_visible()]
    assert len(axes) == 4 and axes[0].get_title().startswith("probe accuracy\n(chance 0.50")
    assert [t.get_text() for t in axes[0].get_yticklabels()] == ["C", "C+T+M", "C+T+M (confusion)"]
    assert any(t.get_text() == "not recorded" for t in axes[1].texts)  # C has no value there
    assert any(line.get_linestyle() == "--" for line in axes[0].lines)  # the chance level
    assert "src" in fig._suptitle.get_text() and "3 seeds" in fig._suptitle.get_text()
    plt.close(fig)


def test_tradeoff_figure_colours_the_alignments() -> None:
    import matplotlib.pyplot as plt

    from xmodal.plots import tradeoff_figure

    a = _tidy(["C+T+M"], ["weighted F1 S1", "probe accuracy"]).assign(setting="α=1, w=1, 150 steps")
    b = a.assign(method="C+T+M (confusion)")
    c = a.assign(setting="α=1, w=5, 150 steps")
    fig = tradeoff_figure(pd.concat([a, b, c], ignore_index=True))
    axes = [ax for ax in fig.axes if ax.get_visible()]
    assert [t.get_text() for t in axes[0].get_yticklabels()] == ["α=1, w=1, 150 steps", "α=1, w=5, 150 steps"]
    assert {t.get_text() for t in fig.legends[0].get_texts()} == {"C+T+M", "C+T+M (confusion)"}
    plt.close(fig)


def test_adversary_figure_says_what_was_not_recorded() -> None:
    import matplotlib.pyplot as plt

    from xmodal.plots import adversary_figure

    rows = []
    for method, quantities in (("C+M", ("L_M", "modality_accuracy", "probe_accuracy")), ("C+T+M", ("L_M",))):
        for seed in (0, 1):
            for epoch in (1, 2, 3):
                for q in quantities:
                    rows.append({"method": method, "seed": seed, "run_dir": f"{method}{seed}", "epoch": epoch,
                                 "quantity": q, "label": q, "value": 0.7 + 0.1 * epoch + 0.01 * seed,
                                 "chance": math.log(2) if q == "L_M" else 0.5})
    fig = adversary_figure(pd.DataFrame(rows), source="src")
    assert len(fig.axes) == 3
    lm, acc, probe = fig.axes
    assert {t.get_text() for t in fig.legends[0].get_texts()} == {"C+M", "C+T+M"}
    assert any(len(line.get_ydata()) and line.get_ydata()[0] == pytest.approx(math.log(2)) for line in lm.lines)
    assert any("not recorded for C+T+M" in t.get_text() for t in probe.texts)
    empty = adversary_figure(pd.DataFrame(rows[:0], columns=list(rows[0])))
    assert all(any(t.get_text() == "not recorded" for t in ax.texts) for ax in empty.axes)
    plt.close("all")


def test_show_table_hides_the_index_and_formats_missing_values() -> None:
    from xmodal.plots import show_table

    html = show_table(pd.DataFrame({"a": [1.23456, math.nan]})).to_html()
    assert "1.235" in html and "–" in html


# ----------------------------------------------------------------------------- on a trained study
@pytest.fixture(scope="module")
def study_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return shared_tiny_study(tmp_path_factory)[0]


@pytest.fixture(scope="module")
def results(study_dir: Path) -> pd.DataFrame:
    from xmodal.results import load_results

    df = load_results(study_dir)
    assert (df["status"] == "ok").all(), df[df["status"] != "ok"][["point", "error"]]
    return df


@pytest.mark.slow
def test_tables_of_a_trained_study_match_its_runs(results: pd.DataFrame, study_dir: Path) -> None:
    from xmodal.report import comparison_table, final_runs, homogeneity_table, source_note
    from xmodal.results import load_homogeneity
    from xmodal.rundir import RunDir, find_runs

    note = source_note(results, study="booktest")
    assert note.startswith("synthetic SEN12MS-like data, winter, scene split;")
    assert f"{len(find_runs(study_dir))} runs of study 'booktest'" in note
    table = comparison_table(results)
    assert len(table) == 2 + 2 * 5  # Baseline S1, S2 and four cross-modal methods and the confusion ablation x 2
    hom = homogeneity_table(load_homogeneity(results)).set_index("method")
    assert list(hom.index) == ["Baseline", "C", "C+M", "C+T", "C+T+M", "C+T+M (confusion)"]
    assert hom.loc["C+T+M", "n"] == 1  # the ablation is never pooled with the paper's method
    run = final_runs(results).query("method == 'C+T+M'").iloc[0]["run_dir"]
    assert hom.loc["C+T+M", "s_mean"] == pytest.approx(RunDir(run).result().homogeneity["s1|s2"])
    assert hom.loc["C+T+M", "s (paper)"] == "0.67"


@pytest.mark.slow
def test_latent_embedding_of_a_run_is_seeded_and_drawn(results: pd.DataFrame) -> None:
    from xmodal.analysis.panels import latent_embedding
    from xmodal.plots import latent_figure
    from xmodal.report.selection import final_runs
    from xmodal.rundir import RunDir

    run = final_runs(results).query("method == 'C+T+M'").iloc[0]["run_dir"]
    lat = RunDir(run).latents()
    panels = {"C+T+M": [lat]}
    names = [f"class{i}" for i in range(lat.labels.shape[1])]
    a = latent_embedding(panels, names, seed=0)
    b = latent_embedding(panels, names, seed=0)
    assert len(a) == len(lat.z) and set(a["modality"]) == {"s1", "s2"}
    np.testing.assert_allclose(a[["x", "y"]].to_numpy(), b[["x", "y"]].to_numpy())
    fig = latent_figure(a, names)
    assert sum(len(t.x) for t in fig.data if t.visible is not False) == len(a)


def test_claims_figure_draws_one_interval_per_measured_claim() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import pandas as pd

    from xmodal.plots import claims_figure

    verdicts = pd.DataFrame({
        "claim": ["a beats b", "c keeps d", "e beats f"], "kind": ["greater", "noninferior", "greater"],
        "estimate": [0.05, -0.01, float("nan")], "low": [0.02, -0.015, float("nan")],
        "high": [0.08, -0.005, float("nan")], "n": [5, 5, 0], "null": [0.0, -0.02, 0.0],
        "verdict": ["holds", "holds", "not measured"]})
    fig = claims_figure(verdicts, "synthetic data")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a beats b", "c keeps d"]
    assert "n = 5 seeds" in ax.get_title() and "synthetic data" in ax.get_title()


def test_comparisons_and_budget_figures_draw_their_rows() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import pandas as pd

    from xmodal.plots import budget_figure, comparisons_figure
    from xmodal.report.selection import method_label

    table = pd.DataFrame({"sensor": ["s1", "s2", "s1"], "comparison": ["C − Baseline", "C − Baseline", "C+T − C"],
                          "estimate": [0.01, -0.02, 0.0], "low": [-0.01, -0.04, -0.03], "high": [0.03, 0.0, 0.03],
                          "n": [8, 8, 8]})
    fig = comparisons_figure(table, "synthetic data", target=0.03)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["C − Baseline", "C+T − C"]
    assert "±0.03" in ax.get_xlabel() and "n = 8 seeds" in ax.get_title()
    assert len(ax.collections) >= 2  # one set of interval bars per sensor (and the points)

    def rows(epochs: int, shift: float) -> pd.DataFrame:
        return pd.DataFrame([{"method": "baseline", "modality": "s2", "n_train": n, "n_train_requested": n,
                              "seed": k, "weighted": 0.5 + shift + 0.01 * k, "epochs": epochs, "status": "ok"}
                             for n in (50, 150) for k in range(3)])

    fig = budget_figure(rows(10, 0.0), rows(20, 0.05), "baseline", "s2", "synthetic data")
    ax = fig.axes[0]
    assert {t.get_text() for t in ax.get_legend().get_texts()} >= {"10 epochs", "20 epochs"}
    assert method_label("baseline", "s2") in ax.get_title()
