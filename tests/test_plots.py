"""Study-wide figures and tables (xmodal.plots) on the results of a tiny, really trained study."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from book_study import tiny_study

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def study_dir(synthetic_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_study(synthetic_root, tmp_path_factory.getbasetemp() / "book_runs")


@pytest.fixture(scope="module")
def results(study_dir: Path):
    from xmodal.study import load_results

    df = load_results(study_dir)
    assert (df["status"] == "ok").all(), df[df["status"] != "ok"][["point", "error"]]
    return df


def _result(run_dir: str) -> dict:
    return json.loads((Path(run_dir) / "result.json").read_text())


def test_source_note_names_data_split_and_runs(results, study_dir: Path) -> None:
    from xmodal.plots import source_note

    note = source_note(results, study="booktest")
    n_runs = len([p for p in study_dir.iterdir() if (p / "result.json").is_file()])
    assert note.startswith("synthetic SEN12MS-like data, winter, scene split;")
    assert f"{n_runs} runs of study 'booktest'" in note


def test_comparison_table_puts_measured_means_beside_paper(results) -> None:
    from xmodal.plots import PAPER_RESULTS, comparison_table, final_runs

    table = comparison_table(results)
    assert len(table) == 2 + 2 * 4  # Baseline S1, S2 and four cross-modal methods x (S1, S2)
    full = final_runs(results)
    row = table[(table["method"] == "C+T+M") & (table["modality"] == "S1")].iloc[0]
    measured = full[(full["method"] == "C+T+M") & (full["modality"] == "s1")]["weighted"].mean()
    assert row["weighted F1 (this study)"].startswith(f"{measured:.3f}")
    assert row["weighted F1 (paper)"] == f"{PAPER_RESULTS['C+T+M']['s1']['weighted']:.2f}"
    cm = table[(table["method"] == "C+M") & (table["modality"] == "S2")].iloc[0]
    assert cm["macro F1 (paper)"] == "–"  # the paper gives no number for C+M


def test_figure2_draws_every_method_and_the_paper_markers(results) -> None:
    import matplotlib.pyplot as plt

    from xmodal.plots import figure2

    fig = figure2(results, source="SOURCE LINE")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["Baseline", "C", "C+M", "C+T", "C+T+M"]
    assert len(ax.patches) == 5 * 4  # 5 methods x (S1, S2) x (macro, weighted)
    heights = sorted(round(p.get_height(), 6) for p in ax.patches)
    assert all(0.0 <= h <= 1.0 for h in heights)
    paper_points = [c for c in ax.collections if c.get_label() == "reported by the paper"]
    assert paper_points, "the paper's numbers are missing from Figure 2"
    assert "SOURCE LINE" in ax.get_title()
    plt.close(fig)


def test_figure3_has_one_line_per_method_and_modality_over_sizes(results) -> None:
    import matplotlib.pyplot as plt

    from xmodal.plots import figure3

    fig = figure3(results)
    lines = fig.axes[0].get_lines()
    labels = sorted(line.get_label() for line in lines)
    assert labels == sorted(f"{m} {s}" for m in ("Baseline", "C", "C+T+M") for s in ("S1", "S2"))
    for line in lines:
        assert len(line.get_xdata()) == 2  # n_train 12 and the whole split
        assert (line.get_linestyle() == "--") == line.get_label().endswith("S1")
    plt.close(fig)


def test_homogeneity_table_matches_the_runs(results) -> None:
    from xmodal.plots import final_runs, homogeneity_table
    from xmodal.study import baseline_homogeneity

    base = baseline_homogeneity(results)
    table = homogeneity_table(results, base).set_index("method")
    assert list(table.index) == ["Baseline", "C", "C+M", "C+T", "C+T+M"]
    full_base = base[base["n_train"].isna()]["homogeneity"]
    assert table.loc["Baseline", "s_mean"] == pytest.approx(full_base.mean())
    run = final_runs(results).query("method == 'C+T+M'").iloc[0]["run_dir"]
    assert table.loc["C+T+M", "s_mean"] == pytest.approx(_result(run)["homogeneity"]["s1|s2"])
    assert table.loc["C+T+M", "s (paper)"] == "0.67"


def test_gap_table_is_s2_minus_s1(results) -> None:
    from xmodal.plots import final_runs, gap_table

    table = gap_table(results).set_index("method")
    full = final_runs(results)
    c = full[full["method"] == "C"].set_index("modality")["macro"]
    assert table.loc["C", "macro gap (this study)"].startswith(f"{c['s2'] - c['s1']:.3f}")
    assert table.loc["Baseline", "weighted gap (paper)"] == "0.14"


def test_claims_are_computed_from_the_results(results) -> None:
    from xmodal.plots import VERDICTS, claims, claims_summary, final_runs
    from xmodal.study import baseline_homogeneity

    table = claims(results, baseline_homogeneity(results))
    assert set(table["verdict"]) <= set(VERDICTS)
    full = final_runs(results)
    w = full.set_index(["method", "modality"])["weighted"]
    diff = w[("C", "s1")] - w[("baseline", "s1")]
    row = table[table["claim"] == "C beats the Baseline on S1 (weighted F1)"].iloc[0]
    assert row["this study"] == f"C − Baseline = {diff:+.3f} (1 seed)"
    expected = ("does not hold (no difference)" if diff == 0 else
                "holds (one seed, no spread)" if diff > 0 else "does not hold (one seed, no spread)")
    assert row["verdict"] == expected
    summary = claims_summary(table, "the tiny study")
    assert f"Of {len(table)} claims checked on the tiny study" in summary


def test_latent_embedding_is_seeded_and_the_plotly_figure_holds_every_point(study_dir: Path, results) -> None:
    from xmodal.plots import final_runs, latent_embedding, latent_figure, latent_mixing, load_latents, plotly_html

    run = final_runs(results).query("method == 'C+T+M'").iloc[0]["run_dir"]
    lat = load_latents(run)
    panels = {"C+T+M": [lat]}
    names = [f"class{i}" for i in range(lat["labels"].shape[1])]
    a = latent_embedding(panels, names, seed=0)
    b = latent_embedding(panels, names, seed=0)
    assert len(a) == len(lat["z"])
    assert set(a["modality"]) == {"s1", "s2"}
    np.testing.assert_allclose(a[["x", "y"]].to_numpy(), b[["x", "y"]].to_numpy())
    fig = latent_figure(a, names, title="T")
    shown = [t for t in fig.data if t.visible is not False]
    assert sum(len(t.x) for t in shown) == len(a)  # coloured by modality: every point once
    by_class = [t for t in fig.data if t.visible is False]
    assert sum(len(t.x) for t in by_class) == len(a)  # the other button: every point once
    assert {b.label for b in fig.layout.updatemenus[0].buttons} == {"colour by modality", "colour by dominant class"}
    assert "ROIs2017_winter" in str(shown[0].customdata[0][0])  # hover: the patch id
    html = plotly_html(fig, div_id="x")
    assert "Plotly.newPlot" in html and "https://" not in html
    mix = latent_mixing(panels)
    assert 0.0 <= mix.iloc[0, 2] <= 1.0


def test_mined_triplets_respect_the_label_thresholds(results) -> None:
    from xmodal.plots import final_runs, load_latents, mined_triplets

    run = final_runs(results).query("method == 'C+T+M'").iloc[0]["run_dir"]
    table, info = mined_triplets(load_latents(run), batch_size=10, n_show=10,
                                 positive_threshold=0.5, negative_threshold=0.1)
    rows = np.flatnonzero(info["valid"])
    s = info["s"]
    assert (s[rows, info["pos"][rows]] >= 0.5).all()
    assert (s[rows, info["neg"][rows]] <= 0.1).all()
    # the hard negative is the most similar in appearance among the negative candidates
    for k in rows:
        cand = s[k] <= 0.1
        assert info["cos"][k, info["neg"][k]] == pytest.approx(info["cos"][k][cand].max())
    assert len(table) == info["n"]


def test_soft_label_example_matches_the_label_layer(synthetic_root: Path) -> None:
    import matplotlib.pyplot as plt

    from xmodal.data.labels import soft_label
    from xmodal.plots import read_patch, soft_label_example

    pid = "ROIs2017_winter_1_p1"
    fig, table = soft_label_example(synthetic_root, pid)
    expected = soft_label(read_patch(synthetic_root, pid, "lc"))
    np.testing.assert_allclose(table["soft label"].to_numpy(), expected)
    assert table["soft label"].sum() == pytest.approx(1.0)
    assert (table["present for F1 (> 0.3)"] == (expected > 0.3)).all()
    plt.close(fig)


def test_read_patch_errors_name_the_problem(synthetic_root: Path) -> None:
    from xmodal.plots import read_patch

    with pytest.raises(ValueError, match="Not a SEN12MS patch id: 'scene 1'"):
        read_patch(synthetic_root, "scene 1", "s1")
    with pytest.raises(FileNotFoundError, match="No s2 file for patch ROIs2017_winter_99_p0"):
        read_patch(synthetic_root, "ROIs2017_winter_99_p0", "s2")


def test_latents_missing_is_a_clear_error(tmp_path: Path) -> None:
    from xmodal.plots import load_latents

    with pytest.raises(FileNotFoundError, match="No latent vectors in .*latents.npz"):
        load_latents(tmp_path)


def test_claim_statistics_pair_by_seed_and_weigh_the_spread() -> None:
    import pandas as pd

    from xmodal.plots import _diff, _verdict

    a = pd.Series([0.70, 0.72, 0.74], index=[0, 1, 2])
    b = pd.Series([0.60, 0.70, 0.80], index=[0, 1, 2])
    mean, std, n = _diff(a, b)  # paired by seed: differences 0.10, 0.02, -0.06
    assert (mean, n) == (pytest.approx(0.02), 3)
    assert std == pytest.approx(pd.Series([0.10, 0.02, -0.06]).std())
    assert _verdict(mean, std, n) == "inconclusive (difference within the spread over seeds)"
    assert _verdict(0.05, 0.01, 3) == "holds"
    assert _verdict(-0.05, 0.01, 3) == "does not hold"
    assert _verdict(-0.05, 0.01, 3, want_positive=False) == "holds"
    assert _verdict(0.05, math.nan, 1) == "holds (one seed, no spread)"
    assert _verdict(math.nan, math.nan, 0) == "not measured"


def test_training_budget_says_whether_the_size_curves_vary_only_the_data() -> None:
    from xmodal import plots

    fixed = plots.training_budget({"epochs": 10, "steps_per_epoch": 15, "batch_size": 32})
    assert "10 x 15 = 150 optimisation steps of 32 patches" in fixed and "vary only the data" in fixed
    per_epoch = plots.training_budget({"epochs": 6, "steps_per_epoch": None, "batch_size": 16})
    assert "6 epochs over its own training set" in per_epoch and "fewer" in per_epoch
