"""F1 at the 30 % threshold and cross-modal homogeneity (eq. 5) against hand-made cases."""

from __future__ import annotations

import numpy as np
import pytest

from xmodal.metrics import binarize, f1_scores, histogram_intersection, homogeneity


def test_binarize_uses_strict_threshold() -> None:
    assert binarize(np.array([[0.3, 0.31, 0.29, 0.1]])).tolist() == [[0, 1, 0, 0]]


def test_f1_by_hand() -> None:
    # Targets (share > .3):      A B C      Predictions (> .3):  A B C
    target = np.array([[0.8, 0.2, 0.0],  # 1 0 0               [.9 .1 0]  -> 1 0 0
                       [0.4, 0.6, 0.0],  # 1 1 0               [.2 .8 0]  -> 0 1 0
                       [0.0, 0.5, 0.5],  # 0 1 1               [0 .4 .6]  -> 0 1 1
                       [0.0, 0.0, 1.0]])  # 0 0 1              [.5 0 .5]  -> 1 0 1
    prob = np.array([[0.9, 0.1, 0.0], [0.2, 0.8, 0.0], [0.0, 0.4, 0.6], [0.5, 0.0, 0.5]])
    r = f1_scores(target, prob, class_names=["A", "B", "C"])
    # A: TP 1, FP 1, FN 1 -> F1 .5;  B: TP 2 -> 1;  C: TP 2 -> 1.
    assert r["per_class"] == pytest.approx({"A": 0.5, "B": 1.0, "C": 1.0})
    assert r["support"] == {"A": 2, "B": 2, "C": 2}
    assert r["macro"] == pytest.approx(2.5 / 3)
    assert r["weighted"] == pytest.approx((0.5 * 2 + 2 + 2) / 6)
    # micro: TP 5, FP 1, FN 1 -> 10 / 12
    assert r["micro"] == pytest.approx(10 / 12)


def test_f1_macro_ignores_classes_absent_from_targets_and_predictions() -> None:
    target = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    prob = target.copy()
    r = f1_scores(target, prob)
    assert r["macro"] == pytest.approx(1.0) and r["weighted"] == pytest.approx(1.0)
    assert r["per_class"]["2"] == 0.0 and r["support"]["2"] == 0
    # ... but a false positive on an absent class counts (F1 0 for that class).
    prob2 = np.array([[0.5, 0.0, 0.5], [0.0, 1.0, 0.0]])
    assert f1_scores(target, prob2)["macro"] == pytest.approx(2 / 3)


def test_f1_errors() -> None:
    with pytest.raises(ValueError, match="must be equal"):
        f1_scores(np.zeros((3, 2)), np.zeros((3, 3)))
    with pytest.raises(ValueError, match="class_names"):
        f1_scores(np.zeros((3, 2)), np.zeros((3, 2)), class_names=["a"])


def test_homogeneity_identical_disjoint_and_by_hand() -> None:
    p = np.array([[0.2, 0.8, 0.0], [1.0, 0.0, 0.0]])
    assert homogeneity(p, p) == pytest.approx(1.0)
    assert homogeneity(np.array([[1.0, 0.0]]), np.array([[0.0, 1.0]])) == pytest.approx(0.0)
    q = np.array([[0.5, 0.5, 0.0], [0.0, 0.0, 1.0]])
    # pair 1: min = .2 + .5 + 0 = .7; pair 2: 0 -> mean .35
    assert homogeneity(p, q) == pytest.approx(0.35)
    # the summand of eq. 5, per pair; homogeneity is its mean
    np.testing.assert_allclose(histogram_intersection(p, q), [0.7, 0.0])
    assert homogeneity(p, q) == histogram_intersection(p, q).mean()
    np.testing.assert_allclose(histogram_intersection(p, np.array([0.5, 0.5, 0.0])), [0.7, 0.5])  # one [C] histogram
    with pytest.raises(ValueError, match=r"p \(2, 3\) must be \[N, C\] and q \(2,\)"):
        histogram_intersection(np.zeros((2, 3)), np.zeros(2))


def test_homogeneity_errors() -> None:
    with pytest.raises(ValueError, match="must be equal"):
        homogeneity(np.zeros((2, 3)), np.zeros((3, 3)))
    with pytest.raises(ValueError, match="no aligned pairs"):
        homogeneity(np.zeros((0, 3)), np.zeros((0, 3)))


def test_histogram_intersection_is_eq5s_summand_per_pair_and_for_all_pairs() -> None:
    import torch

    from xmodal.losses import histogram_intersection as torch_all_pairs
    from xmodal.metrics import histogram_intersection, pairwise_intersection

    rng = np.random.default_rng(0)
    p, q = rng.dirichlet(np.ones(4), 7), rng.dirichlet(np.ones(4), 7)
    per_pair = histogram_intersection(p, q)
    assert per_pair.shape == (7,) and per_pair.mean() == homogeneity(p, q)  # eq. 5 is its mean, exactly
    assert histogram_intersection(p, p) == pytest.approx(np.ones(7))
    assert histogram_intersection(p, q[0]).tolist() == [histogram_intersection(p[i:i + 1], q[:1])[0]
                                                        for i in range(7)]  # one [C] row against every row
    all_pairs = pairwise_intersection(p, q)
    assert np.allclose(np.diag(all_pairs), per_pair)
    assert np.allclose(all_pairs, torch_all_pairs(torch.as_tensor(p), torch.as_tensor(q)).numpy())
    with pytest.raises(ValueError, match=r"q \(3,\) \[N, C\] or \[C\]"):
        histogram_intersection(p, np.ones(3))


def test_eq5s_histogram_intersection_is_written_once() -> None:
    """The drift of issue 18: eq. (5)'s sum of minima was written four times (metrics, stats, explorer, losses).

    ``xmodal.metrics`` holds the numpy form; ``xmodal.losses`` the torch form the miner needs.
    """
    import re
    from pathlib import Path

    import xmodal

    root = Path(xmodal.__file__).resolve().parent
    sum_of_minima = re.compile(r"\.minimum\([^\n]*\)\s*\.sum\(")
    found = sorted(str(p.relative_to(root.parent)) for p in root.rglob("*.py") if sum_of_minima.search(p.read_text()))
    assert found == ["xmodal/losses.py", "xmodal/metrics.py"]
