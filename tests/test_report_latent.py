"""The latent page's summaries (xmodal.report.latent, xmodal.report.adversary) over seeds, with known answers.

The tests assert the numbers and the side of each interval against its chance level; a
sentence is checked only for a rule it must keep (no statement from one seed, the flipping
failure named only where the numbers show it).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from xmodal import report as R
from xmodal.report.latent import SUMMARY_COLUMNS, side_of


def _measures(values: dict[str, list[float]], seeds: tuple[int, ...] = (0, 1, 2)) -> pd.DataFrame:
    """A load_latent_measures-like table: per method, per seed, the probe = value, other measures derived."""
    rows = []
    for method, probe in values.items():
        for seed, v in zip(seeds, probe, strict=True):
            rows.append({"method": method, "alignment": "confusion" if "confusion" in method else
                         (None if method in ("C", "C+T") else "reversal"), "seed": seed, "n_train": pd.NA,
                         "alpha": 1.0, "grl_weight": 1.0, "steps": 150, "sensors": "s1+s2",
                         "run_dir": f"/r/{method}-{seed}",
                         "modality_probe": v, "modality_probe_chance": 0.5,
                         "retrieval_s1_to_s2_map": v / 2, "retrieval_s1_to_s2_map_chance": 0.2,
                         "retrieval_s2_to_s1_map": v / 4, "retrieval_s2_to_s1_map_chance": 0.2,
                         "mixing": 0.01 * seed, "mixing_chance": 0.5025,
                         "pair_s1_to_s2_recall_at_10": 0.5, "pair_s2_to_s1_recall_at_10": math.nan,
                         "pair_s1_s2_recall_at_10_chance": 0.05})
    return pd.DataFrame(rows)


def test_latent_summary_gives_mean_t_interval_and_chance_per_method_and_measure() -> None:
    from scipy import stats as sps

    m = _measures({"C+T+M": [1.0, 0.9, 0.8], "C": [1.0, 1.0, 1.0]})
    s = R.latent_summary(m)
    assert list(s.columns) == list(SUMMARY_COLUMNS)
    assert list(dict.fromkeys(s["method"])) == ["C", "C+T+M"]  # the paper's order
    assert list(dict.fromkeys(s["label"])) == [
        "probe accuracy", "label retrieval mAP S1→S2", "label retrieval mAP S2→S1", "neighbour mixing (k=10)",
        "same patch in top 10 S1→S2", "same patch in top 10 S2→S1"]  # only the measures the table holds
    r = s[(s["method"] == "C+T+M") & (s["measure"] == "modality_probe")].iloc[0]
    half = sps.t.ppf(0.975, 2) * 0.1 / math.sqrt(3)
    assert r["estimate"] == pytest.approx(0.9) and r["n"] == 3 and r["chance"] == 0.5
    assert (r["low"], r["high"]) == (pytest.approx(0.9 - half), pytest.approx(0.9 + half))
    c = s[(s["method"] == "C") & (s["measure"] == "modality_probe")].iloc[0]
    assert c["low"] == c["high"] == 1.0  # no spread: a zero-width interval
    missing = s[s["measure"] == "pair_s2_to_s1_recall_at_10"]
    assert (missing["n"] == 0).all() and missing["estimate"].isna().all()
    assert np.allclose(s[s["measure"] == "pair_s1_to_s2_recall_at_10"]["chance"], 0.05)


def test_summary_display_reads_intervals_not_recorded_and_a_chance_row() -> None:
    s = R.latent_summary(_measures({"C+T+M": [1.0, 0.9, 0.8]}))
    t = R.summary_display(s)
    assert list(t.columns[:3]) == ["method", "seeds", "probe accuracy"]
    assert t.iloc[0]["probe accuracy"].startswith("0.900 [") and t.iloc[0]["seeds"] == 3
    assert t.iloc[0]["same patch in top 10 S2→S1"] == "not recorded"
    assert t.iloc[-1]["method"] == "chance" and t.iloc[-1]["probe accuracy"] == "0.500"
    one = R.summary_display(R.latent_summary(_measures({"C": [0.7]}, seeds=(0,))))
    assert one.iloc[0]["probe accuracy"] == "0.700 (1 seed)"


def test_latent_contrasts_pair_the_seeds() -> None:
    m = _measures({"C": [1.0, 1.0, 1.0], "C+T+M": [0.8, 0.79, 0.81]})
    d = R.latent_contrasts(m, reference="C")
    r = d[(d["method"] == "C+T+M") & (d["measure"] == "modality_probe")].iloc[0]
    assert r["estimate"] == pytest.approx(-0.2) and r["n"] == 3 and r["high"] < 0
    assert set(d["method"]) == {"C+T+M"}
    assert len(R.latent_contrasts(m, reference="C+M")) == 0  # no such reference


def test_latent_text_says_only_what_the_intervals_allow() -> None:
    m = _measures({"C": [1.0, 0.99, 1.0], "C+T+M": [0.4, 0.7, 0.55]})
    summary = R.latent_summary(m)
    probe = summary[summary["measure"] == "modality_probe"].set_index("method")
    # what the text may say is decided by where each interval lies against chance
    assert side_of(probe.loc["C"], probe.loc["C", "chance"]) == "above"
    assert side_of(probe.loc["C+T+M"], probe.loc["C+T+M", "chance"]) == "within"
    mix = summary[summary["measure"] == "mixing"].iloc[0]
    assert side_of(mix, mix["chance"]) == "below"  # mixing 0.00-0.02 against 0.50
    text = R.latent_text(summary, R.latent_contrasts(m), source="synthetic")
    c_line = text.split("**C**")[1].split("\n")[0]
    assert "tells the sensors apart" in c_line and "tells the sensors apart" not in text.split("**C+T+M**")[1]
    assert "synthetic" in text and "n = 3" in text
    # the rule: one seed has no interval, so nothing is said against chance
    one = R.latent_text(R.latent_summary(_measures({"C": [1.0]}, seeds=(0,))))
    assert "tells the sensors apart" not in one and "than by chance" not in one


def _history(method: str, seeds: int, final: dict[str, list[float]], epochs: int = 3) -> pd.DataFrame:
    rows = []
    for seed in range(seeds):
        for e in range(1, epochs + 1):
            row = {"method": method, "alignment": "reversal", "seed": seed, "run_dir": f"/r/{method}-{seed}",
                   "n_sensors": 2, "epoch": e, "L_C": 1.0 / e}
            for key, values in final.items():
                row[key] = values[seed] if e == epochs else 0.69
            rows.append(row)
    return pd.DataFrame(rows)


def test_adversary_curves_and_the_flipping_failure() -> None:
    flipped = _history("C+M", 3, {"L_M": [1.0, 1.1, 1.2], "modality_accuracy": [0.2, 0.25, 0.3],
                                  "probe_accuracy": [1.0, 0.99, 1.0]})
    old = _history("C+T+M", 2, {"L_M": [0.6, 0.7]})  # runs older than the per-epoch record
    history = pd.concat([old, flipped], ignore_index=True)
    curves = R.adversary_curves(history)
    assert list(dict.fromkeys(curves["method"])) == ["C+M", "C+T+M"]
    assert set(curves[curves["method"] == "C+T+M"]["quantity"]) == {"L_M"}
    assert len(curves[curves["method"] == "C+M"]) == 3 * 3 * 3  # seeds x epochs x quantities
    lm = curves[curves["quantity"] == "L_M"]["chance"]
    assert np.allclose(lm, math.log(2)) and np.allclose(curves[curves["quantity"] != "L_M"]["chance"], 0.5)
    final = R.adversary_final(history)
    r = final[(final["method"] == "C+M") & (final["measure"] == "L_M")].iloc[0]
    assert r["estimate"] == pytest.approx(1.1) and r["n"] == 3 and r["low"] > math.log(2)
    assert final[(final["method"] == "C+T+M") & (final["measure"] == "probe_accuracy")]["n"].iloc[0] == 0
    acc = final[(final["method"] == "C+M") & (final["measure"] == "modality_accuracy")].iloc[0]
    assert acc["high"] < acc["chance"]  # confidently wrong: accuracy below 1 / M
    text = R.adversary_text(final)
    # the rule: the flipping failure is named only where L_M is above ln M and the probe still reads the sensor
    assert "flipping failure" in text.split("**C+M**")[1].split("\n")[0]
    ctm = text.split("**C+T+M**")[1]
    assert "flipping" not in ctm and ctm.count("not recorded") == 2  # its accuracy and probe were not recorded
    table = R.summary_display(final)
    assert table.loc[table["method"] == "C+T+M", "linear probe's held-out accuracy (test patches)"].iloc[0] == \
        "not recorded"


def test_tradeoff_summary_groups_the_settings_of_the_sensitivity_study() -> None:
    m = pd.concat([_measures({"C+T+M": [1.0, 0.9, 0.8]}),
                   _measures({"C+T+M": [0.6, 0.5, 0.55]}).assign(grl_weight=5.0),
                   _measures({"C+T+M (confusion)": [0.5, 0.5, 0.6]})], ignore_index=True)
    m["run_dir"] = [f"/r/{i}" for i in range(len(m))]
    results = pd.DataFrame([{"run_dir": rd, "modality": s, "weighted": 0.5 + 0.1 * (s == "s2") + 0.01 * i,
                             "homogeneity": 0.8, "status": "ok"}
                            for i, rd in enumerate(m["run_dir"]) for s in ("s1", "s2")])
    t = R.tradeoff_summary(m, results)
    assert list(dict.fromkeys(zip(t["method"], t["setting"], strict=True))) == [
        ("C+T+M", "α=1, w=1, 150 steps"), ("C+T+M", "α=1, w=5, 150 steps"),
        ("C+T+M (confusion)", "α=1, w=1, 150 steps")]
    assert list(dict.fromkeys(t["label"])) == ["weighted F1 S1", "weighted F1 S2", "homogeneity s (eq. 5)",
                                               "probe accuracy", "label retrieval mAP S1→S2",
                                               "label retrieval mAP S2→S1"]
    w5 = t[(t["grl_weight"] == 5.0) & (t["measure"] == "weighted_s2")].iloc[0]
    assert w5["estimate"] == pytest.approx(0.6 + 0.04) and w5["n"] == 3  # runs 3, 4, 5
    probe = t[(t["grl_weight"] == 5.0) & (t["measure"] == "modality_probe")].iloc[0]
    assert probe["estimate"] == pytest.approx(0.55) and probe["chance"] == 0.5
    probes = t[(t["method"] == "C+T+M") & (t["measure"] == "modality_probe")].set_index("setting")
    sides = {k: side_of(r, r["chance"]) for k, r in probes.iterrows()}
    assert sides == {"α=1, w=1, 150 steps": "above", "α=1, w=5, 150 steps": "within"}  # [0.65, 1.15], [0.43, 0.67]
    text = R.tradeoff_text(t, source="study 'latent'")
    assert "n = 3 per method" in text and "study 'latent'" in text
    ctm = text.split("**C+T+M**")[1].split("\n")[0]
    assert "1 of 2 settings" in ctm and "α=1, w=5, 150 steps" in ctm  # the counts and the setting at chance
    shown = R.tradeoff_display(t)
    assert shown.columns[0] == "method · setting" and shown.iloc[1, 0] == "C+T+M · α=1, w=5, 150 steps"
    assert shown.iloc[-1, 0] == "chance"


def test_adversary_episodes_count_the_flipped_epochs_and_read_the_probe() -> None:
    rows = []
    for seed in (0, 1):
        for epoch, (lm, acc, probe) in enumerate([(0.6, 0.8, 1.0), (1.6, 0.03, 1.0), (0.9, 0.7, 0.98)], start=1):
            rows.append({"method": "C+M", "alignment": "reversal", "seed": seed, "run_dir": f"/r/{seed}",
                         "n_sensors": 2, "epoch": epoch, "L_M": lm + 0.1 * seed, "modality_accuracy": acc,
                         "probe_accuracy": probe})
    old = _history("C+T+M", 1, {"L_M": [0.9]})  # L_M only (an old run): 0.69 then 0.9 at the end
    curves = R.adversary_curves(pd.concat([pd.DataFrame(rows), old], ignore_index=True))
    e = R.adversary_episodes(curves).set_index("method")
    assert e.loc["C+M", "epochs"] == 6 and e.loc["C+M", "flipped"] == 2  # epoch 3: above ln 2 but accuracy 0.7
    assert (e.loc["C+M", "worst_seed"], e.loc["C+M", "worst_epoch"]) == (1, 2)
    assert e.loc["C+M", "worst_L_M"] == pytest.approx(1.7) and e.loc["C+M", "probe_min"] == 1.0
    assert e.loc["C+T+M", "flipped"] == 1 and not e.loc["C+T+M", "probe_recorded"]  # 0.9 >= ln 2 + 0.1
    assert e.loc["C+M", "alignment"] == "reversal"
    text = R.adversary_text(R.adversary_final(pd.concat([pd.DataFrame(rows), old])), e.reset_index())
    cm = text.split("**C+M**")[1].split("\n")[0]
    assert "2 of its 6 epochs" in cm and "L_M = 1.70" in cm  # the episodes' numbers
    assert "flipping failure" in cm
    confusion = R.adversary_episodes(curves.assign(alignment="confusion"))
    text = R.adversary_text(R.adversary_final(pd.concat([pd.DataFrame(rows), old])), confusion)
    assert "flipping" not in text  # only gradient reversal flips: the others are not told they did
    assert len(R.adversary_episodes(curves.iloc[:0])) == 0


def test_label_settings_keeps_the_settings_of_a_method_apart() -> None:
    m = pd.concat([_measures({"C+T+M": [1.0, 0.9, 0.8], "C": [1.0, 1.0, 1.0]}),
                   _measures({"C+T+M": [0.6, 0.5, 0.55]}).assign(grl_weight=5.0)], ignore_index=True)
    labelled = R.label_settings(m)
    assert set(labelled["method"]) == {"C", "C+T+M (α=1, w=1, 150 steps)", "C+T+M (α=1, w=5, 150 steps)"}
    assert len(R.latent_summary(labelled)["method"].unique()) == 3
    same = _measures({"C+T+M": [1.0, 0.9, 0.8]})
    assert R.label_settings(same)["method"].tolist() == ["C+T+M"] * 3  # one setting: its own name
