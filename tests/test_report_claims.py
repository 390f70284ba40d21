"""The paper's claims as data (xmodal.report.paper) and their verdicts (xmodal.report.claims), by claim id."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hand_tables import pairs, rows, three_sensors, two_seeds
from scipy import stats as sps

from xmodal.analysis.stats import DOES_NOT_HOLD, HOLDS, INCONCLUSIVE, NONINFERIORITY_MARGIN, NOT_MEASURED, VERDICTS
from xmodal.report import claims as C
from xmodal.report import paper


def test_the_papers_numbers_are_looked_up_in_either_pair_order() -> None:
    assert paper.paper_score("C", "s2", "weighted") == 0.80
    assert paper.paper_score("C+M", "s1", "macro") is None  # Figure 2 only, no number
    assert paper.paper_homogeneity("C+T+M", "s2", "s1") == paper.paper_homogeneity("C+T+M", "s1", "s2") == 0.67
    assert paper.paper_homogeneity("baseline", "s1", "rgb") is None
    assert paper.paper_sensors() == ["s1", "s2"]


def test_every_claim_is_a_record_with_its_kind_sensors_and_the_papers_numbers() -> None:
    ids = [c.id for c in paper.CLAIMS]
    assert len(ids) == len(set(ids)) == 20
    keeps = paper.claim("ctm-keeps-baseline-s1")
    assert (keeps.kind, keeps.margin, keeps.test, keeps.sensors) == (paper.NON_INFERIORITY, NONINFERIORITY_MARGIN,
                                                                      "noninferior", ("s1",))
    assert keeps.paper == (0.70, 0.63)
    assert paper.claim("ctm-below-baseline-macro-s2").test == "less"
    assert paper.claim("ctm-below-baseline-macro-s2").paper == (0.64, 0.68)
    assert paper.claim("ctm-beats-cm-s1").paper == (0.70, None)  # C+M: Figure 2 only
    assert paper.claim("s2-beats-s1-baseline").paper == (0.77, 0.63)
    gap = paper.claim("ctm-narrows-gap-s1-s2")
    assert gap.paper == pytest.approx((0.14, 0.09)) and gap.paper_difference == pytest.approx(0.05)
    assert paper.claim("ctm-more-homogeneous-than-baseline-s1-s2").paper == (0.67, 0.63)
    assert all(c.kind == paper.SUPERIORITY and c.margin is None for c in paper.CLAIMS if c.test != "noninferior")
    with pytest.raises(KeyError, match="No claim 'nope'"):
        paper.claim("nope")
    with pytest.raises(ValueError, match="needs a margin"):
        paper.Claim("x", paper.NON_INFERIORITY, "weighted", paper.Side("C", "s1"), paper.Side("baseline", "s1"),
                    ("s1",))


def test_claims_carry_paired_intervals_and_two_seeds_decide_nothing() -> None:
    p = pairs([("baseline", "s1", "s2", None, 0, 0.50), ("baseline", "s1", "s2", None, 1, 0.52),
               ("C", "s1", "s2", None, 0, 0.70), ("C", "s1", "s2", None, 1, 0.74)])
    table = C.check_claims(two_seeds(), p).set_index("id")
    assert list(table.reset_index().columns) == list(C.CLAIM_COLUMNS)
    assert set(table["verdict"]) <= set(VERDICTS)
    c = table.loc["c-beats-baseline-s1"]  # paired differences 0.10, 0.12
    half = sps.t.ppf(0.975, 1) * np.std([0.10, 0.12], ddof=1) / np.sqrt(2)
    assert c["estimate"] == pytest.approx(0.11) and c["half_width"] == pytest.approx(half) and c["n"] == 2
    assert (c["low"], c["high"]) == (pytest.approx(0.11 - half), pytest.approx(0.11 + half))
    assert c["verdict"] == INCONCLUSIVE  # the interval (t with 1 degree of freedom) contains 0
    keeps = table.loc["ctm-keeps-baseline-s2"]
    assert keeps["kind"] == "noninferior" and keeps["null"] == -NONINFERIORITY_MARGIN
    assert keeps["verdict"] == NOT_MEASURED  # no C+T+M run
    assert table.loc["ctm-more-homogeneous-than-c-s1-s2", "verdict"] == NOT_MEASURED
    gap = table.loc["ctm-narrows-gap-s1-s2"]
    assert gap["n"] == 0  # listed: the Baseline's gap is measured, C+T+M's is not
    assert set(table.index) >= {"s2-beats-s1-baseline", "s2-beats-s1-c"}  # the methods the study ran
    assert "s2-beats-s1-ctm" not in table.index
    assert table.loc["s2-beats-s1-baseline", "estimate"] == pytest.approx(0.11)  # 0.70 - 0.60, 0.74 - 0.62


def test_the_summary_counts_the_verdicts_of_the_table() -> None:
    table = C.check_claims(two_seeds())
    counts = table["verdict"].value_counts()
    summary = C.claims_summary(table, "the test")
    assert f"Of {len(table)} claims checked" in summary
    assert f"**{counts.get(HOLDS, 0)} hold**" in summary
    assert f"**{counts.get(DOES_NOT_HOLD, 0)} do not hold**" in summary
    empty = C.claims_summary(table.iloc[:0])
    assert "hold" not in empty and not any(ch.isdigit() for ch in empty)  # no claim checked: no verdict, no count


def test_no_claim_is_said_to_hold_without_an_interval() -> None:
    """One seed per method: no interval, so no "holds" or "does not hold", whatever the estimates."""
    one = rows([("baseline", "s1", "s1", None, 0, 0.1, 0.1), ("baseline", "s2", "s2", None, 0, 0.2, 0.2),
                ("C", "s1", "s1+s2", None, 0, 0.9, 0.9), ("C", "s2", "s1+s2", None, 0, 0.9, 0.9)])
    table = C.check_claims(one)
    assert not table["verdict"].isin([HOLDS, DOES_NOT_HOLD]).any()
    assert table.loc[table["n"] == 1, "high"].isna().all()
    summary = C.claims_summary(table)
    assert "**0 hold**" in summary and "**Hold:**" not in summary and "**Do not hold:**" not in summary


def _ten_seeds() -> pd.DataFrame:
    """Ten seeds: C is clearly above the Baseline on S1, equal on S2; C+T+M within the margin on S1 only."""
    rng = np.random.default_rng(0)
    specs = []
    for seed in range(10):
        noise = rng.normal(0, 0.005, 6)
        specs += [("baseline", "s1", "s1", None, seed, 0.50, 0.60 + noise[0]),
                  ("baseline", "s2", "s2", None, seed, 0.60, 0.70 + noise[1]),
                  ("C", "s1", "s1+s2", None, seed, 0.55, 0.70 + noise[2]),
                  ("C", "s2", "s1+s2", None, seed, 0.65, 0.70 + noise[3]),
                  ("C+T+M", "s1", "s1+s2", None, seed, 0.50, 0.595 + noise[4]),
                  ("C+T+M", "s2", "s1+s2", None, seed, 0.60, 0.60 + noise[5])]
    return rows(specs)


def test_claims_hold_only_when_the_holm_adjusted_interval_allows() -> None:
    table = C.check_claims(_ten_seeds()).set_index("id")
    assert table.loc["c-beats-baseline-s1", "verdict"] == HOLDS
    assert table.loc["c-beats-baseline-s2", "verdict"] == INCONCLUSIVE
    # 0.005 below the Baseline, well inside the 0.02 margin: non-inferior
    assert table.loc["ctm-keeps-baseline-s1", "verdict"] == HOLDS
    assert table.loc["ctm-keeps-baseline-s1", "estimate"] == pytest.approx(-0.005, abs=0.004)
    # 0.10 below: significantly worse than the margin allows
    assert table.loc["ctm-keeps-baseline-s2", "verdict"] == DOES_NOT_HOLD
    assert (table["p_holm"].dropna() >= table["p"].dropna()).all()
    # a wider margin is the caller's choice, and it changes the threshold, not the estimate
    wide = C.check_claims(_ten_seeds(), margin=0.2).set_index("id")
    assert wide.loc["ctm-keeps-baseline-s2", "null"] == -0.2 and wide.loc["ctm-keeps-baseline-s2", "verdict"] == HOLDS
    assert wide.loc["ctm-keeps-baseline-s2", "estimate"] == table.loc["ctm-keeps-baseline-s2", "estimate"]


def test_claims_check_the_papers_sensors_whatever_else_the_study_has() -> None:
    three = three_sensors()
    two = three[three["modality"] != "rgb"]
    with_rgb = C.check_claims(three)
    assert with_rgb["id"].tolist() == C.check_claims(two)["id"].tolist()
    assert not with_rgb["id"].str.contains("rgb").any()
    assert len(C.check_claims(three[three["modality"] == "rgb"])) == 0


def test_claims_leave_the_alignment_ablations_and_disjoint_runs_out() -> None:
    base = two_seeds()
    c_runs = base[base["config_method"] == "C"]
    ablation = rows([("C+T+M", r["modality"], r["trained_modalities"], r["n_train_requested"], r["seed"],
                      r["macro"], r["weighted"] - 0.3) for _, r in c_runs.iterrows()], alignment="confusion")
    disjoint = rows([("C", r["modality"], r["trained_modalities"], None, r["seed"], r["macro"], r["weighted"] - 0.3)
                     for _, r in c_runs.iterrows()], pairing="disjoint")
    table = C.check_claims(pd.concat([base, ablation, disjoint], ignore_index=True))
    plain = C.check_claims(base)
    assert table["id"].tolist() == plain["id"].tolist()
    pd.testing.assert_series_equal(table["estimate"], plain["estimate"])


def test_a_claims_sentence_follows_its_record() -> None:
    """Generated from the record: the sides, sensors and margin it states are the record's (no wording pinned)."""
    for c in paper.CLAIMS:
        text = C.claim_sentence(c)
        for method in {c.a.method, c.b.method}:
            assert ("Baseline" if method == "baseline" else method) in text
        assert all(s.upper() in text for s in c.sensors)
        assert (f"margin {NONINFERIORITY_MARGIN:.2f}" in text) == (c.kind == paper.NON_INFERIORITY)
    assert "margin 0.05" in C.claim_sentence(paper.claim("ctm-keeps-baseline-s1"), margin=0.05)
