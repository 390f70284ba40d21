"""Paired differences, verdicts and Holm's adjustment (xmodal.analysis.stats)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from xmodal.analysis import stats as S


# ----------------------------------------------------------------------------- paired differences
def test_paired_difference_matches_scipy_t_test_and_interval() -> None:
    rng = np.random.default_rng(0)
    a, b = rng.normal(0.7, 0.03, 6), rng.normal(0.68, 0.03, 6)
    d = a - b
    res = S.paired_difference(a, b, confidence=0.9)
    lo, hi = sps.t.interval(0.9, len(d) - 1, loc=d.mean(), scale=sps.sem(d))
    assert res.estimate == pytest.approx(d.mean())
    assert res.sd == pytest.approx(d.std(ddof=1))
    assert (res.low, res.high) == pytest.approx((lo, hi))
    assert res.half_width == pytest.approx((hi - lo) / 2)
    assert res.p == pytest.approx(sps.ttest_rel(a, b).pvalue)
    assert res.n == 6 and res.confidence == 0.9
    # a null other than 0 (non-inferiority): the one-sample test against it
    assert S.paired_difference(a, b, null=-0.02).p == pytest.approx(sps.ttest_1samp(d, -0.02).pvalue)


def test_paired_difference_one_seed_none_and_zero_variance() -> None:
    one = S.paired_difference([0.7], [0.6])
    assert one.n == 1 and one.estimate == pytest.approx(0.1)
    assert math.isnan(one.low) and math.isnan(one.high) and math.isnan(one.p) and math.isnan(one.sd)
    assert S.verdict(one.estimate, one.low, one.high) == S.ONE_SEED
    none = S.paired_difference([math.nan], [0.6])
    assert none.n == 0 and math.isnan(none.estimate)
    assert S.verdict(none.estimate, none.low, none.high) == S.NOT_MEASURED
    flat = S.paired_difference([0.5, 0.6, 0.7], [0.4, 0.5, 0.6], null=0.0)  # differences all 0.1
    assert flat.half_width == pytest.approx(0.0, abs=1e-12) and flat.low == pytest.approx(0.1)
    tie = S.paired_difference([0.5, 0.5], [0.5, 0.5])
    assert tie.sd == 0 and tie.p == 1.0 and S.verdict(tie.estimate, tie.low, tie.high) == S.INCONCLUSIVE


def test_paired_difference_pairs_series_by_seed_and_drops_failed_runs() -> None:
    a = pd.Series({0: 0.70, 1: 0.72, 2: 0.69, 3: math.nan})
    b = pd.Series({1: 0.65, 2: 0.66, 3: 0.60, 0: 0.60, 7: 0.1})  # other order; seed 7 unpaired
    res = S.paired_difference(a, b)
    assert res.n == 3 and res.estimate == pytest.approx(np.mean([0.10, 0.07, 0.03]))
    assert S.paired_difference(np.array([0.1, 0.07, 0.03])).estimate == pytest.approx(res.estimate)


def test_paired_difference_errors() -> None:
    with pytest.raises(ValueError, match="pairs need equal lengths"):
        S.paired_difference([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="invalid confidence"):
        S.paired_difference([1.0, 2.0], [1.0, 2.0], confidence=95)
    with pytest.raises(ValueError, match="must be 1-d"):
        S.paired_difference(np.zeros((2, 2)), np.zeros((2, 2)))


# ----------------------------------------------------------------------------- verdicts
@pytest.mark.parametrize(
    ("claim", "est", "low", "high", "expected"),
    [
        ("greater", 0.05, 0.01, 0.09, S.HOLDS),
        ("greater", -0.05, -0.09, -0.01, S.DOES_NOT_HOLD),
        ("greater", 0.05, -0.01, 0.11, S.INCONCLUSIVE),
        ("less", -0.05, -0.09, -0.01, S.HOLDS),
        ("less", 0.05, 0.01, 0.09, S.DOES_NOT_HOLD),
        ("less", 0.0, -0.01, 0.01, S.INCONCLUSIVE),
        # C+T+M keeps the Baseline: lower bound of the difference above -margin
        ("noninferior", -0.005, -0.015, 0.005, S.HOLDS),
        ("noninferior", -0.01, -0.03, 0.01, S.INCONCLUSIVE),
        ("noninferior", -0.06, -0.08, -0.04, S.DOES_NOT_HOLD),
        ("greater", 0.05, math.nan, math.nan, S.ONE_SEED),
        ("greater", math.nan, math.nan, math.nan, S.NOT_MEASURED),
    ],
)
def test_verdict_rule(claim: str, est: float, low: float, high: float, expected: str) -> None:
    assert S.verdict(est, low, high, claim=claim, margin=0.02) == expected
    assert expected in S.VERDICTS


def test_verdict_margin_and_errors() -> None:
    assert S.verdict(-0.03, -0.045, -0.015, claim="noninferior", margin=0.05) == S.HOLDS
    assert S.verdict(-0.03, -0.045, -0.015, claim="noninferior") == S.INCONCLUSIVE  # default 0.02
    assert S.NONINFERIORITY_MARGIN == 0.02
    with pytest.raises(ValueError, match="Invalid claim kind"):
        S.verdict(0.1, 0.0, 0.2, claim="better")
    with pytest.raises(ValueError, match="Invalid non-inferiority margin"):
        S.verdict(0.1, 0.0, 0.2, claim="noninferior", margin=-0.01)
    with pytest.raises(ValueError, match=r"low 0\.2 > high 0\.0"):
        S.verdict(0.1, 0.2, 0.0)


# ----------------------------------------------------------------------------- Holm
def test_holm_by_hand_with_nan_outside_the_family() -> None:
    # sorted 0.01, 0.03, 0.04, 0.5 (m = 4): 4*.01=.04, 3*.03=.09, 2*.04=.08 -> .09 (monotone), 1*.5=.5
    adj = S.holm([0.01, 0.04, 0.03, math.nan, 0.5])
    assert adj[[0, 1, 2, 4]] == pytest.approx([0.04, 0.09, 0.09, 0.5])
    assert math.isnan(adj[3])
    assert S.holm([0.6, 0.9]).tolist() == [1.0, 1.0]  # capped at 1
    assert S.holm([]).size == 0
    with pytest.raises(ValueError, match=r"must lie in \[0, 1\]"):
        S.holm([0.5, 1.5])


def _claims(rng: np.random.Generator) -> pd.DataFrame:
    seeds = range(5)
    rows = []
    for shift, kind in [(0.08, "greater"), (0.012, "greater"), (-0.03, "less"), (0.0, "noninferior"),
                        (-0.09, "noninferior"), (0.0, "greater")]:
        b = pd.Series(rng.normal(0.7, 0.02, 5), index=seeds)
        a = b + shift + pd.Series(rng.normal(0, 0.01, 5), index=seeds)
        rows.append({"claim": f"{kind} {shift}", "a": a, "b": b, "kind": kind, "paper": "x"})
    rows.append({"claim": "one seed", "a": pd.Series({0: 0.8}), "b": pd.Series({0: 0.7}), "kind": "greater",
                 "paper": "y"})
    return pd.DataFrame(rows)


def test_claim_verdicts_without_adjustment_equal_interval_verdicts() -> None:
    table = S.claim_verdicts(_claims(np.random.default_rng(1)), adjust="none")
    assert list(table.columns[:2]) == ["claim", "paper"]  # other columns carried through, a/b dropped
    assert "a" not in table.columns and table["p_holm"].isna().all()
    for row in table.itertuples():
        margin = S.NONINFERIORITY_MARGIN if row.kind == "noninferior" else 0.0
        assert row.verdict == S.verdict(row.estimate, row.low, row.high, claim=row.kind, margin=margin)
    assert table["verdict"].iloc[0] == S.HOLDS and table["verdict"].iloc[-1] == S.ONE_SEED
    ni = table[table["kind"] == "noninferior"]
    assert (ni["null"] == -S.NONINFERIORITY_MARGIN).all() and (ni["margin"] == S.NONINFERIORITY_MARGIN).all()


def test_claim_verdicts_holm_rule() -> None:
    table = S.claim_verdicts(_claims(np.random.default_rng(1)))
    fam = table["n"] >= 2
    assert table.loc[fam, "p_holm"].to_numpy() == pytest.approx(S.holm(table.loc[fam, "p"].to_numpy()))
    for row in table[fam].itertuples():
        significant = row.p_holm < 0.05
        on_claimed_side = (row.estimate > row.null) if row.kind != "less" else (row.estimate < row.null)
        expected = S.INCONCLUSIVE if not significant else (S.HOLDS if on_claimed_side else S.DOES_NOT_HOLD)
        assert row.verdict == expected
    # Holm is never more permissive than the unadjusted rule
    loose = S.claim_verdicts(_claims(np.random.default_rng(1)), adjust="none")
    assert ((table["verdict"] == loose["verdict"]) | (table["verdict"] == S.INCONCLUSIVE)).all()


def test_claim_verdicts_holm_takes_back_a_marginal_claim() -> None:
    # p ~ .03 beside four clear claims and one null claim: Holm doubles it (second-largest p) to ~ .05
    marginal = np.array([0.02, 0.035, 0.004, 0.01, 0.03])
    assert 0.025 < S.paired_difference(marginal).p < 0.05
    strong = [np.array([0.1, 0.11, 0.09, 0.1, 0.12]) + i * 0.01 for i in range(4)]
    null = np.array([0.01, -0.02, 0.015, -0.01, 0.0])
    claims = pd.DataFrame({"claim": ["marginal", *"abcd", "null"], "a": [marginal, *strong, null]})  # no b
    alone = S.claim_verdicts(claims, adjust="none")
    held = S.claim_verdicts(claims)
    assert alone["verdict"].iloc[0] == S.HOLDS and held["verdict"].iloc[0] == S.INCONCLUSIVE
    assert held["p_holm"].iloc[0] == pytest.approx(2 * held["p"].iloc[0])
    assert (held["verdict"].iloc[1:5] == S.HOLDS).all() and held["verdict"].iloc[5] == S.INCONCLUSIVE


def test_claim_verdicts_errors() -> None:
    with pytest.raises(ValueError, match=r"lacks column\(s\) \['a'\]"):
        S.claim_verdicts(pd.DataFrame({"claim": ["x"]}))
    with pytest.raises(ValueError, match="Invalid adjustment"):
        S.claim_verdicts(pd.DataFrame({"claim": ["x"], "a": [[0.1, 0.2]]}), adjust="bonferroni")
    with pytest.raises(ValueError, match="Invalid claim kind"):
        S.claim_verdicts(pd.DataFrame({"claim": ["x"], "a": [[0.1, 0.2]], "kind": ["bigger"]}))


def test_paired_difference_adds_the_scene_error_with_satterthwaite_df() -> None:
    # d = 0.1, 0.2, 0.3: mean 0.2, sd 0.1, se_seed = 0.1 / sqrt 3; a scene error equal to it
    # doubles the variance, so df = 2 * (sqrt 2)^4 = 8 and half = t_{8, .975} * sqrt(2) se_seed.
    se_seed = 0.1 / math.sqrt(3)
    res = S.paired_difference([0.1, 0.2, 0.3], se_scene=se_seed)
    assert res.se_seed == pytest.approx(se_seed) and res.se_scene == pytest.approx(se_seed)
    assert res.df == pytest.approx(8.0)
    assert res.half_width == pytest.approx(sps.t.ppf(0.975, 8) * math.sqrt(2) * se_seed)
    assert res.p == pytest.approx(2 * sps.t.sf(0.2 / (math.sqrt(2) * se_seed), 8))
    # no scene error (None, NaN or 0): the seeds' t-interval, df = n - 1
    for none in (None, math.nan, 0.0):
        plain = S.paired_difference([0.1, 0.2, 0.3], se_scene=none)
        assert plain.df == 2 and plain.half_width == pytest.approx(sps.t.ppf(0.975, 2) * se_seed)
    # identical seeds: only the scenes are uncertain, a normal interval
    flat = S.paired_difference([0.05, 0.05], se_scene=0.01)
    assert math.isinf(flat.df) and flat.half_width == pytest.approx(sps.norm.ppf(0.975) * 0.01)
    with pytest.raises(ValueError, match="se_scene"):
        S.paired_difference([0.1, 0.2], se_scene=-1.0)
    # claim_verdicts passes a se_scene column on
    table = pd.DataFrame({"claim": ["x"], "a": [[0.1, 0.2, 0.3]], "se_scene": [se_seed]})
    row = S.claim_verdicts(table).iloc[0]
    assert row["half_width"] == pytest.approx(res.half_width) and row["df"] == pytest.approx(8.0)


def test_public_names_exported() -> None:
    import xmodal.analysis as A
    from xmodal.analysis import bootstrap, homogeneity, latent, panels, tidy, triplets

    for module in (A, S, bootstrap, homogeneity, latent, panels, tidy, triplets):
        for name in module.__all__:
            assert hasattr(module, name), f"{module.__name__}.__all__ names {name}, which it lacks"
