"""The plateau check of the validation curves, on hand-made curves with known answers; the loader on run folders."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hand_tables import rows, write_run

from xmodal import plots, report
from xmodal.analysis.stats import NOT_MEASURED, ONE_SEED, paired_difference
from xmodal.report.validation import ON_PLATEAU, STILL_IMPROVING, UNDECIDED
from xmodal.results import load_results, load_validation

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


def _records(results: pd.DataFrame) -> list[dict[str, Any]]:
    """:func:`load_validation`-like records: Baseline S1 rising, Baseline S2 noisy, C+T+M flat (also at n=10)."""
    out = []
    for _, r in results.drop_duplicates("run_dir").iterrows():
        key = {"baseline": {"s1": RISING, "s2": NOISY}.get(r["trained_modalities"]), "C+T+M": FLAT}[r["method"]]
        curve = [{"epoch": e, "step": e * STEPS, "score": score, "f1_weighted": {}}
                 for e, score in enumerate(key[int(r["seed"])], start=1)]
        config = {"method": r["method"], "modalities": r["trained_modalities"].split("+"), "seed": int(r["seed"])}
        out.append({"run_dir": r["run_dir"], "config": config, "validation": {
            "curve": curve, "best_epoch": EPOCHS, "best_step": EPOCHS * STEPS, "epochs_trained": EPOCHS,
            "cap_epochs": EPOCHS, "stopped_early": False, "weights": "last", "scenes": 2}})
    return out


def _curves(results: pd.DataFrame) -> pd.DataFrame:
    """The Figure 2 runs' curves, as the Results page makes them."""
    return report.validation_table(_records(results), results)


def test_the_curves_are_those_of_the_figure_2_models_mean_and_t_interval_over_seeds() -> None:
    results = _results()
    curves = report.curve_summary(_curves(results))
    assert list(dict.fromkeys(curves["model"])) == ["Baseline S1", "Baseline S2", "C+T+M"]  # the n=10 runs are not
    row = curves[(curves["model"] == "Baseline S1") & (curves["epoch"] == 4)].iloc[0]
    d = paired_difference(np.array([RISING[s][3] for s in (0, 1, 2)]))
    assert (row["step"], row["n"]) == (4 * STEPS, 3)
    assert (row["mean"], row["low"], row["high"]) == pytest.approx((d.estimate, d.low, d.high))
    assert len(curves) == 3 * EPOCHS


def test_the_plateau_verdicts_follow_the_interval_of_the_paired_gain() -> None:
    curves = _curves(_results())
    table = report.plateau_table(curves).set_index("model")
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
    assert report.plateau_table(curves, margin=0.2).set_index("model").loc["Baseline S2", "verdict"] == ON_PLATEAU
    whole = report.plateau_table(curves, share=1.0)
    assert set(whole["k"]) == {10} and set(whole["verdict"]) == {NOT_MEASURED}  # no epoch 0 to compare with
    for bad, match in (({"share": 0.0}, "Invalid plateau share 0.0"), ({"margin": -0.01}, "Invalid plateau margin")):
        with pytest.raises(ValueError, match=match):
            report.plateau_table(curves, **bad)  # type: ignore[arg-type]


def test_one_seed_one_epoch_and_no_curve_say_so() -> None:
    results = _results()
    curves = _curves(results)
    one = report.plateau_table(curves[curves["seed"] == 0])
    assert set(one["verdict"]) == {ONE_SEED} and one["low"].isna().all()
    first = report.plateau_table(curves[curves["epoch"] == 1].assign(cap_steps=STEPS))  # a budget of one epoch
    assert set(first["verdict"]) == {NOT_MEASURED} and (first["n"] == 0).all() and set(first["k"]) == {1}
    none = report.plateau_table(report.validation_table([], results))
    assert none.empty and "not measured here" in report.plateau_text(none)
    text = report.plateau_text(first)
    assert "Not measured: Baseline S1, Baseline S2, C+T+M (fewer than 2 epochs" in text
    assert "Gain of the last epochs" not in text
    assert "With one seed there is no interval, so no verdict for Baseline S1, Baseline S2, C+T+M" in \
        report.plateau_text(one)


def test_the_sentences_carry_the_table_s_numbers_and_verdicts() -> None:
    table = report.plateau_table(_curves(_results()))
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

    curves = _curves(_results())
    fig = plots.validation_figure(report.curve_summary(curves), "synthetic SEN12MS-like data; 9 runs",
                                  report.plateau_table(curves))
    ax = fig.axes[0]
    assert ax.get_xlabel() == "optimisation step"
    assert {t.get_text() for t in ax.get_legend().get_texts()} == {"Baseline S1", "Baseline S2", "C+T+M"}
    caption = " ".join(t.get_text() for t in fig.texts).replace("\n", " ")
    assert "mean over 3 seeds" in caption and "synthetic SEN12MS-like data" in caption
    plt.close(fig)


def test_load_validation_reads_every_run_s_record(tmp_path: Path) -> None:
    study = tmp_path / "runs" / "t"
    with_val = write_run(study, "C-s1+s2", "C", ["s1", "s2"], seed=1, config_hash="a" * 12, val_fraction=0.2)
    record = {"curve": [{"epoch": 1, "step": 5, "score": 0.4, "f1_weighted": {"s1": 0.3, "s2": 0.5}},
                        {"epoch": 2, "step": 10, "score": 0.5, "f1_weighted": {"s1": 0.4, "s2": 0.6}}],
              "best_epoch": 2, "best_step": 10, "epochs_trained": 2, "cap_epochs": 2, "stopped_early": False,
              "weights": "last", "scenes": 3}
    with_val.write_result(dataclasses.replace(with_val.result(), validation=record))
    write_run(study, "baseline-s1", "baseline", ["s1"], config_hash="b" * 12)  # trained without a validation split
    results = load_results(study)
    records = sorted(load_validation(results), key=lambda r: r["run_dir"])
    assert [Path(r["run_dir"]).name for r in records] == ["C-s1+s2-" + "a" * 12, "baseline-s1-" + "b" * 12]
    assert records[0]["validation"] == record and records[0]["config"]["val_fraction"] == 0.2
    assert records[1]["validation"] == {}
    curves = report.validation_table(records, results)
    assert list(curves["score"]) == [0.4, 0.5] and list(curves["step"]) == [5, 10] and set(curves["model"]) == {"C"}
    assert list(curves["cap_steps"]) == [10, 10] and not math.isnan(curves["score"].sum())
