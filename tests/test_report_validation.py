"""Validation curves and the plateau check, on hand-made curves with known answers; the loader on run folders."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hand_tables import rows, write_run

from xmodal import plots, report
from xmodal.analysis.stats import NOT_MEASURED, ONE_SEED, paired_difference
from xmodal.report.validation import ON_PLATEAU, STILL_IMPROVING, UNDECIDED, model_label
from xmodal.results import VALIDATION_COLUMNS, load_results, load_validation

EPOCHS = 10
STEPS = 50  # optimisation steps per epoch


def _results() -> pd.DataFrame:
    """Baseline S1 / S2 and C+T+M on the whole split, three seeds; C+T+M also on 10 patches (not Figure 2)."""
    specs = []
    for seed in (0, 1, 2):
        specs += [("baseline", "s1", "s1", None, seed, 0.5, 0.6), ("baseline", "s2", "s2", None, seed, 0.6, 0.7),
                  ("C+T+M", "s1", "s1+s2", None, seed, 0.5, 0.6), ("C+T+M", "s2", "s1+s2", None, seed, 0.6, 0.7),
                  ("C+T+M", "s1", "s1+s2", 10, seed, 0.3, 0.4), ("C+T+M", "s2", "s1+s2", 10, seed, 0.3, 0.4)]
    return rows(specs)


#: Per model and seed, the validation score at epochs 1..10.
RISING = {s: [0.30 + 0.03 * e + 0.001 * s for e in range(1, EPOCHS + 1)] for s in (0, 1, 2)}       # +0.06 / 2 epochs
FLAT = {s: [0.5 + 0.02 * min(e, 5) + 0.001 * s * (e % 2) for e in range(1, EPOCHS + 1)] for s in (0, 1, 2)}
NOISY = {0: [0.5] * 8 + [0.50, 0.56], 1: [0.5] * 8 + [0.50, 0.47], 2: [0.5] * 8 + [0.50, 0.52]}


def _curves(results: pd.DataFrame) -> pd.DataFrame:
    """:func:`load_validation`-like rows: Baseline S1 rising, Baseline S2 noisy, C+T+M flat (also at n=10)."""
    out = []
    runs = results.drop_duplicates("run_dir")
    for _, r in runs.iterrows():
        key = {"baseline": {"s1": RISING, "s2": NOISY}.get(r["trained_modalities"]), "C+T+M": FLAT}[r["method"]]
        for e, score in enumerate(key[int(r["seed"])], start=1):
            out.append({"study": "t", "method": r["method"], "trained_modalities": r["trained_modalities"],
                        "seed": r["seed"], "epoch": e, "step": e * STEPS, "score": score, "best_epoch": EPOCHS,
                        "epochs_trained": EPOCHS, "cap_epochs": EPOCHS, "stopped_early": False, "weights": "last",
                        "scenes": 2, "run_dir": r["run_dir"]})
    return pd.DataFrame(out, columns=list(VALIDATION_COLUMNS))


def test_curves_are_the_mean_and_t_interval_over_seeds_of_each_figure_2_model() -> None:
    results = _results()
    curves = report.validation_curves(results, _curves(results))
    assert list(curves.columns) == ["model", "epoch", "step", "mean", "low", "high", "n"]
    assert list(dict.fromkeys(curves["model"])) == ["Baseline S1", "Baseline S2", "C+T+M"]  # the n=10 runs are not
    row = curves[(curves["model"] == "Baseline S1") & (curves["epoch"] == 4)].iloc[0]
    d = paired_difference(np.array([RISING[s][3] for s in (0, 1, 2)]))
    assert (row["step"], row["n"]) == (4 * STEPS, 3)
    assert (row["mean"], row["low"], row["high"]) == pytest.approx((d.estimate, d.low, d.high))
    assert len(curves) == 3 * EPOCHS
    assert model_label("baseline", "s2") == "Baseline S2" and model_label("C", "s1+s2+rgb") == "C (s1+s2+rgb)"


def test_the_plateau_verdicts_follow_the_interval_of_the_paired_gain() -> None:
    results = _results()
    table = report.plateau_table(results, _curves(results)).set_index("model")
    assert report.PLATEAU_SHARE == 0.2 and report.PLATEAU_MARGIN == 0.01
    # k = 20% of 10 epochs: epoch 10 against epoch 8, paired by seed
    assert set(table["k"]) == {2} and set(table["from_epoch"]) == {8} and set(table["last_epoch"]) == {EPOCHS}
    assert set(table["from_step"]) == {8 * STEPS} and set(table["to_step"]) == {EPOCHS * STEPS}
    d = paired_difference(pd.Series({s: RISING[s][9] for s in RISING}), pd.Series({s: RISING[s][7] for s in RISING}))
    got = table.loc["Baseline S1"]
    assert (got["estimate"], got["low"], got["high"], got["n"]) == pytest.approx((d.estimate, d.low, d.high, 3))
    assert got["estimate"] == pytest.approx(0.06) and got["verdict"] == STILL_IMPROVING
    assert table.loc["C+T+M", "verdict"] == ON_PLATEAU and table.loc["C+T+M", "high"] < 0.01
    assert table.loc["Baseline S2", "verdict"] == UNDECIDED  # +0.06, -0.03, +0.02: the interval spans 0 and 0.01
    assert table.loc["C+T+M", "score"] == pytest.approx(np.mean([FLAT[s][9] for s in FLAT]))
    # a margin large enough makes the noisy one a plateau; a share of the whole budget looks back 10 epochs
    assert report.plateau_table(results, _curves(results), margin=0.2).set_index("model").loc[
        "Baseline S2", "verdict"] == ON_PLATEAU
    whole = report.plateau_table(results, _curves(results), share=1.0)
    assert set(whole["k"]) == {10} and set(whole["verdict"]) == {NOT_MEASURED}  # no epoch 0 to compare with
    for bad, match in (({"share": 0.0}, "Invalid plateau share 0.0"), ({"margin": -0.01}, "Invalid plateau margin")):
        with pytest.raises(ValueError, match=match):
            report.plateau_table(results, _curves(results), **bad)  # type: ignore[arg-type]


def test_one_seed_one_epoch_and_no_curve_say_so() -> None:
    results = _results()
    curves = _curves(results)
    one = report.plateau_table(results, curves[curves["seed"] == 0])
    assert set(one["verdict"]) == {ONE_SEED} and one["low"].isna().all()
    first = report.plateau_table(results, curves[curves["epoch"] == 1])  # a budget of one epoch
    assert set(first["verdict"]) == {NOT_MEASURED} and (first["n"] == 0).all()
    none = report.plateau_table(results, curves.iloc[:0])
    assert none.empty and "not measured here" in report.plateau_text(none)
    assert report.validation_curves(results, curves.iloc[:0]).empty
    text = report.plateau_text(first)
    assert "Not measured: Baseline S1, Baseline S2, C+T+M (fewer than 3 epochs" in text
    assert "Gain of the last epochs" not in text
    assert "With one seed there is no interval, so no verdict for Baseline S1, Baseline S2, C+T+M" in \
        report.plateau_text(one)


def test_the_sentences_carry_the_table_s_numbers_and_verdicts() -> None:
    results = _results()
    table = report.plateau_table(results, _curves(results))
    text = report.plateau_text(table, "hand-made")
    r = table.set_index("model").loc["Baseline S1"]
    gain = f"{r['estimate']:+.3f} [{r['low']:+.3f}, {r['high']:+.3f}] (3 seeds)"
    assert f"Baseline S1: {gain}, **still improving**" in text
    assert "compared with the score 2 epochs earlier (the last 2 of the budget's 10)" in text
    assert "below 0.01 weighted F1" in text
    assert "Still improving at the end of the budget: Baseline S1." in text
    assert "whether Baseline S2 is still improving" in text and "Every model is on its plateau" not in text
    flat = table[table["model"] == "C+T+M"]
    assert "Every model is on its plateau" in report.plateau_text(flat)
    shown = report.plateau_display(table)
    assert list(shown["epochs compared"]) == ["8 → 10"] * 3 and list(shown["verdict"]) == list(table["verdict"])
    early = table.assign(stopped_early=[0, 0, 2])
    assert "2 run(s) stopped early" in report.plateau_text(early)


def test_the_figure_draws_a_line_per_model_and_names_data_and_seeds() -> None:
    import matplotlib.pyplot as plt

    results = _results()
    curves = report.validation_curves(results, _curves(results))
    plateau = report.plateau_table(results, _curves(results))
    fig = plots.validation_figure(curves, "synthetic SEN12MS-like data; 9 runs", plateau)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "optimisation step"
    assert {t.get_text() for t in ax.get_legend().get_texts()} == {"Baseline S1", "Baseline S2", "C+T+M"}
    caption = " ".join(t.get_text() for t in fig.texts).replace("\n", " ")
    assert "mean over 3 seeds" in caption and "synthetic SEN12MS-like data" in caption
    plt.close(fig)


def test_load_validation_reads_every_run_s_curve(tmp_path: Path) -> None:
    study = tmp_path / "runs" / "t"
    with_val = write_run(study, "C-s1+s2", "C", ["s1", "s2"], seed=1, config_hash="a" * 12, val_fraction=0.2)
    res = with_val.result()
    record = {"curve": [{"epoch": 1, "step": 5, "score": 0.4, "f1_weighted": {"s1": 0.3, "s2": 0.5}},
                        {"epoch": 2, "step": 10, "score": 0.5, "f1_weighted": {"s1": 0.4, "s2": 0.6}}],
              "best_epoch": 2, "epochs_trained": 2, "cap_epochs": 2, "stopped_early": False, "weights": "last",
              "scenes": 3}
    with_val.write_result(dataclasses.replace(res, validation=record))
    write_run(study, "baseline-s1", "baseline", ["s1"], config_hash="b" * 12)  # trained without a validation split
    df = load_validation(load_results(study))
    assert list(df.columns) == list(VALIDATION_COLUMNS) and len(df) == 2
    assert list(df["score"]) == [0.4, 0.5] and list(df["step"]) == [5, 10] and set(df["method"]) == {"C"}
    assert set(df["trained_modalities"]) == {"s1+s2"} and set(df["seed"]) == {1} and set(df["scenes"]) == {3}
    assert not math.isnan(df["score"].sum())
