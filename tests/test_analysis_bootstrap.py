"""The test scenes' bootstrap (xmodal.analysis.bootstrap): resamples of whole scenes, checked against slow paths."""

from __future__ import annotations

import math

import numpy as np
import pytest

from xmodal.analysis import bootstrap as B
from xmodal.metrics import f1_scores


def test_resample_counts_draw_whole_groups() -> None:
    counts = B.resample_counts(7, n_boot=50, seed=3)
    assert counts.shape == (50, 7) and (counts.sum(axis=1) == 7).all()
    assert np.array_equal(counts, B.resample_counts(7, n_boot=50, seed=3))
    with pytest.raises(ValueError, match="Invalid n_boot"):
        B.resample_counts(7, n_boot=0)


def test_bootstrap_mean_vectorised_equals_function_path() -> None:
    rng = np.random.default_rng(0)
    groups = np.repeat(["s1", "s2", "s3", "s4", "s5", "s6"], [3, 5, 2, 4, 6, 1])
    values = rng.random(groups.size)
    fast = B.bootstrap_interval(values, groups, n_boot=200, seed=1)
    slow = B.bootstrap_interval(lambda idx: values[idx].mean(), groups, n_boot=200, seed=1)
    assert fast.estimate == pytest.approx(values.mean())
    assert (fast.low, fast.high, fast.se) == pytest.approx((slow.low, slow.high, slow.se))
    assert fast.n_groups == 6 and fast.n_boot == 200 and fast.low <= fast.estimate <= fast.high


def test_bootstrap_constant_within_scenes_is_scene_level() -> None:
    # every patch of a scene has the same value: the bootstrap sees 2 units (scenes), not 100 patches
    groups = np.repeat([0, 1], 50)
    res = B.bootstrap_interval(groups.astype(float), groups, n_boot=400, seed=0)
    assert res.low == pytest.approx(0.0) and res.high == pytest.approx(1.0)


def test_bootstrap_f1_matches_f1_scores_on_every_resample() -> None:
    rng = np.random.default_rng(0)
    n, c = 60, 4
    target = rng.dirichlet(np.full(c, 0.4), n)
    prob = 0.6 * target + 0.4 * rng.dirichlet(np.ones(c), n)
    groups = rng.integers(0, 8, n)
    for average in B.F1_AVERAGES:
        fast = B.bootstrap_f1(target, prob, groups, average=average, n_boot=40, seed=2)
        def f1(idx: np.ndarray, avg: str = average) -> float:
            return f1_scores(target[idx], prob[idx])[avg]

        slow = B.bootstrap_interval(f1, groups, n_boot=40, seed=2)
        assert fast.estimate == pytest.approx(f1_scores(target, prob)[average])
        assert (fast.low, fast.high, fast.se) == pytest.approx((slow.low, slow.high, slow.se))


def test_bootstrap_errors() -> None:
    with pytest.raises(ValueError, match="at least 2 groups"):
        B.bootstrap_interval(np.ones(5), np.zeros(5))
    with pytest.raises(ValueError, match="3 group ids for 5 test units"):
        B.bootstrap_interval(np.ones(5), [0, 1, 1])
    with pytest.raises(ValueError, match="Invalid F1 average"):
        B.bootstrap_f1(np.ones((2, 2)) / 2, np.ones((2, 2)) / 2, [0, 1], average="samples")
    with pytest.raises(ValueError, match="must be equal"):
        B.bootstrap_f1(np.ones((2, 2)) / 2, np.ones((2, 3)) / 3, [0, 1])


def test_scene_bootstrap_se_matches_a_resample_by_resample_difference() -> None:
    rng = np.random.default_rng(1)
    n, c, seeds = 48, 4, 3
    target = rng.dirichlet(np.full(c, 0.4), n)
    groups = rng.integers(0, 6, n)
    runs_a = [(target, 0.7 * target + 0.3 * rng.dirichlet(np.ones(c), n)) for _ in range(seeds)]
    runs_b = [(target, 0.5 * target + 0.5 * rng.dirichlet(np.ones(c), n)) for _ in range(seeds)]
    fast = B.scene_bootstrap_se(runs_a, runs_b, groups, n_boot=50, seed=3)
    codes = np.unique(groups, return_inverse=True)[1]
    units = np.arange(n)
    slow = []
    for row in B.resample_counts(6, 50, 3):
        idx = np.repeat(units, row[codes])
        slow.append(np.mean([f1_scores(t[idx], p[idx])["weighted"] - f1_scores(u[idx], q[idx])["weighted"]
                             for (t, p), (u, q) in zip(runs_a, runs_b, strict=True)]))
    assert fast == pytest.approx(np.std(slow, ddof=1))
    # b = None: the error of one method's mean F1, the bootstrap_f1 standard error for one seed
    one = B.scene_bootstrap_se(runs_a[:1], None, groups, n_boot=50, seed=3)
    assert one == pytest.approx(B.bootstrap_f1(*runs_a[0], groups, n_boot=50, seed=3).se)
    # a method against itself: the scenes cancel exactly
    assert B.scene_bootstrap_se(runs_a, runs_a, groups, n_boot=50) == pytest.approx(0.0)
    assert math.isnan(B.scene_bootstrap_se([], [], groups))
    with pytest.raises(ValueError, match="pair them by seed"):
        B.scene_bootstrap_se(runs_a, runs_b[:2], groups)
