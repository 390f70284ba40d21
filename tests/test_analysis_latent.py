"""Latent-space measures on hand-made latents with known answers."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from xmodal.analysis import latent as L


def _two_clouds(n: int = 60, d: int = 4, offset: float = 0.0, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(2 * n, d))
    z[n:, 0] += offset
    return z, np.repeat(["s1", "s2"], n)


def _average_precision(relevant_in_rank_order: tuple[bool, ...]) -> float:
    hits = np.cumsum(relevant_in_rank_order)
    ranks = np.arange(1, len(relevant_in_rank_order) + 1)
    return float((np.array(relevant_in_rank_order) * hits / ranks).sum() / hits[-1])


# ----------------------------------------------------------------------------- probe
def test_probe_separated_sensors_score_one() -> None:
    z, m = _two_clouds(offset=20.0)
    assert L.modality_probe(z, m) == 1.0
    z3 = np.concatenate([z, np.random.default_rng(1).normal(size=(60, 4)) + np.array([0, 0, 20, 0])])
    assert L.modality_probe(z3, np.concatenate([m, np.repeat("s3", 60)])) == 1.0  # any number of modalities


def test_probe_identical_distributions_is_near_chance() -> None:
    z, m = _two_clouds(n=150, offset=0.0)
    assert L.modality_probe(z, m) == pytest.approx(0.5, abs=0.1)


def test_probe_twins_in_one_fold() -> None:
    # the same vectors for both sensors: grouped folds give exactly chance, ungrouped ones fall below it
    z = np.random.default_rng(0).normal(size=(40, 5))
    zz, m, ids = np.concatenate([z, z]), np.repeat(["s1", "s2"], 40), np.tile(np.arange(40), 2)
    assert L.modality_probe(zz, m, groups=ids) == 0.5
    assert L.modality_probe(zz, m) < 0.5
    with pytest.raises(ValueError, match="3 groups, fewer than folds=5"):
        L.modality_probe(zz, m, groups=np.arange(80) % 3)


def test_probe_errors() -> None:
    z, m = _two_clouds(n=4)
    with pytest.raises(ValueError, match="at least 2 modalities"):
        L.modality_probe(z, np.repeat("s1", 8))
    with pytest.raises(ValueError, match="has 4 vectors, fewer than folds=5"):
        L.modality_probe(z, m)
    with pytest.raises(ValueError, match="one entry per vector"):
        L.modality_probe(z, m[:5], folds=2)


# ----------------------------------------------------------------------------- mixing
def test_mixing_far_apart_is_zero_and_twins_are_one() -> None:
    z, m = _two_clouds(n=30)
    z += np.repeat([[50.0, 0, 0, 0], [0, 50.0, 0, 0]], 30, axis=0)  # the sensors point in orthogonal directions
    res = L.neighbour_mixing(z, m, k=5)
    assert res["mixing"] == 0.0 and res["mixing_s1"] == 0.0
    assert res["mixing_chance"] == pytest.approx(30 / 59)
    twins = np.random.default_rng(0).normal(size=(20, 6))
    res = L.neighbour_mixing(np.concatenate([twins, twins]), np.repeat(["a", "b"], 20), k=1)
    assert res["mixing"] == 1.0  # each vector's nearest other vector is its twin from the other sensor


def test_mixing_chance_with_unequal_sensors() -> None:
    z = np.random.default_rng(0).normal(size=(10, 3))
    res = L.neighbour_mixing(z, ["a"] * 4 + ["b"] * 6, k=3)
    assert res["mixing_a_chance"] == pytest.approx(6 / 9) and res["mixing_b_chance"] == pytest.approx(4 / 9)
    assert res["mixing_chance"] == pytest.approx((4 * 6 / 9 + 6 * 4 / 9) / 10)


def test_mixing_errors() -> None:
    z, m = _two_clouds(n=3)
    with pytest.raises(ValueError, match="k=6 is larger than the 5 other vectors"):
        L.neighbour_mixing(z, m, k=6)
    with pytest.raises(ValueError, match="at least 2 modalities"):
        L.neighbour_mixing(z, ["s1"] * 6)


# ----------------------------------------------------------------------------- label retrieval
def test_retrieval_toy_with_computable_average_precision() -> None:
    # One query [1, 0]; items at angles 0, 45, 90, 135 degrees -> ranked 0, 1, 2, 3 by cosine similarity.
    # Items 0 and 2 share the query's class (relevant), items 1 and 3 do not.
    za = np.array([[1.0, 0.0]])
    zb = np.array([[1.0, 0.0], [1.0, 1.0], [0.0, 1.0], [-1.0, 1.0]])
    ya = np.array([[1.0, 0.0]])
    yb = np.array([[1.0, 0.0], [0.0, 1.0], [0.6, 0.4], [0.2, 0.8]])  # intersections 1, 0, .6, .2
    res = L.cross_modal_retrieval(za, ya, zb, yb, k=1)
    assert res["a_to_b_map"] == pytest.approx((1 / 1 + 2 / 3) / 2)
    assert res["a_to_b_recall_at_1"] == 1.0 and res["a_to_b_recall_at_1_chance"] == pytest.approx(2 / 4)
    assert res["a_to_b_queries"] == 1 and res["a_to_b_relevant_share"] == 0.5
    # chance AP: exact expectation over all 24 orderings of the 4 items (2 relevant)
    aps = [_average_precision(p) for p in itertools.permutations((True, True, False, False))]
    assert res["a_to_b_map_chance"] == pytest.approx(np.mean(aps))
    # b -> a: only items 0 and 2 have a relevant item (the query); 1 of 1 ranked first
    assert res["b_to_a_queries"] == 2 and res["b_to_a_map"] == 1.0 and res["b_to_a_map_chance"] == 1.0


@pytest.mark.parametrize(("n_items", "n_relevant"), [(5, 1), (5, 3), (6, 6), (1, 1)])
def test_retrieval_chance_ap_is_exact(n_items: int, n_relevant: int) -> None:
    rel = (True,) * n_relevant + (False,) * (n_items - n_relevant)
    aps = [_average_precision(p) for p in set(itertools.permutations(rel))]
    yb = np.array([[1.0, 0.0]] * n_relevant + [[0.0, 1.0]] * (n_items - n_relevant))
    res = L.cross_modal_retrieval(np.ones((1, 2)), np.array([[1.0, 0.0]]), np.eye(n_items, 2) + 0.1, yb, k=1)
    assert res["a_to_b_map_chance"] == pytest.approx(np.mean(aps))


def test_retrieval_recall_at_k_definition() -> None:
    # query with 3 relevant items among 6, ranked at positions 1, 4, 5: recall@2 = 1 / min(2, 3), recall@5 = 3 / 3
    angles = np.deg2rad([0, 10, 20, 30, 40, 50])
    zb = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    yb = np.array([[1.0, 0]] + [[0, 1.0]] * 2 + [[1.0, 0]] * 2 + [[0, 1.0]])
    za, ya = np.ones((6, 1)) * [1.0, 0.0], np.ones((6, 1)) * [1.0, 0.0]  # six copies of one query
    assert L.cross_modal_retrieval(za, ya, zb, yb, k=1)["a_to_b_recall_at_1"] == 1.0
    res2 = L.cross_modal_retrieval(za, ya, zb, yb, k=2)
    assert res2["a_to_b_recall_at_2"] == pytest.approx(1 / 2)
    assert res2["a_to_b_recall_at_2_chance"] == pytest.approx(2 * 3 / 6 / 2)  # k R / (N min(k, R))
    assert L.cross_modal_retrieval(za, ya, zb, yb, k=5)["a_to_b_recall_at_5"] == 1.0


def test_retrieval_separated_classes_are_perfect_and_collapsed_latents_at_chance() -> None:
    rng = np.random.default_rng(0)
    cls = rng.integers(0, 3, 90)
    y = np.eye(3)[cls]
    centres = np.eye(3) * 10
    za, zb = centres[cls] + rng.normal(size=(90, 3)), centres[cls] + rng.normal(size=(90, 3))
    res = L.cross_modal_retrieval(za, y, zb, y, k=10)
    assert res["a_to_b_map"] == 1.0 and res["b_to_a_recall_at_10"] == 1.0
    flat = L.cross_modal_retrieval(np.ones((90, 3)), y, np.ones((90, 3)), y, k=10)
    assert flat["a_to_b_map"] == pytest.approx(flat["a_to_b_map_chance"], abs=0.05)


def test_retrieval_errors() -> None:
    z, y = np.zeros((3, 2)), np.full((3, 2), 0.5)
    with pytest.raises(ValueError, match="k=4 is larger than the 3 vectors"):
        L.cross_modal_retrieval(z, y, z, y, k=4)
    with pytest.raises(ValueError, match="differ in dimension"):
        L.cross_modal_retrieval(z, y, np.zeros((3, 5)), y)
    with pytest.raises(ValueError, match="do not match"):
        L.cross_modal_retrieval(z, y[:2], z, y, k=1)
    with pytest.raises(ValueError, match="invalid k 0"):
        L.cross_modal_retrieval(z, y, z, y, k=0)


# ----------------------------------------------------------------------------- same-patch retrieval
def test_same_patch_aligned_pairs_are_found() -> None:
    rng = np.random.default_rng(0)
    za = rng.normal(size=(50, 8))
    res = L.same_patch_retrieval(za, za + 0.01 * rng.normal(size=za.shape))
    assert res["a_to_b_recall_at_1"] == res["b_to_a_recall_at_1"] == 1.0
    assert res["a_to_b_median_rank"] == 1.0 and res["a_to_b_mrr"] == 1.0
    assert res["recall_at_1_chance"] == pytest.approx(1 / 50) and res["recall_at_10_chance"] == pytest.approx(0.2)
    assert res["median_rank_chance"] == 25.5
    assert res["mrr_chance"] == pytest.approx(sum(1 / r for r in range(1, 51)) / 50)


def test_same_patch_by_hand_and_collapsed() -> None:
    za = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    zb = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])  # the first two partners swapped
    res = L.same_patch_retrieval(za, zb, ks=(1, 2))
    # query 0 [1,0]: cos to b = 0, 1, .71 -> partner b0 ranked 3rd; query 1 likewise 3rd; query 2 finds b2 first
    assert res["a_to_b_recall_at_1"] == pytest.approx(1 / 3) and res["a_to_b_median_rank"] == 3.0
    assert res["a_to_b_mrr"] == pytest.approx((1 / 3 + 1 / 3 + 1) / 3)
    flat = L.same_patch_retrieval(np.ones((400, 3)), np.ones((400, 3)))
    assert flat["a_to_b_median_rank"] == pytest.approx(200.5, rel=0.15)  # ties broken at random, not by order
    assert flat["a_to_b_recall_at_10"] < 0.1


def test_same_patch_errors() -> None:
    with pytest.raises(ValueError, match="aligned pairs of equal shape"):
        L.same_patch_retrieval(np.zeros((3, 2)), np.zeros((4, 2)))
    with pytest.raises(ValueError, match="at least 2 aligned pairs"):
        L.same_patch_retrieval(np.zeros((1, 2)), np.zeros((1, 2)))


# ----------------------------------------------------------------------------- one run
def _run(n: int = 40, seed: int = 0) -> dict[str, np.ndarray]:
    """A run whose two sensors have the same latents, stored in different patch orders."""
    rng = np.random.default_rng(seed)
    z1 = rng.normal(size=(n, 5))
    labels = rng.dirichlet(np.full(3, 0.3), n)
    ids = np.array([f"p{i}" for i in range(n)])
    perm = rng.permutation(n)
    return {"z": np.concatenate([z1, z1[perm]]), "labels": np.concatenate([labels, labels[perm]]),
            "modality": np.repeat(["s1", "s2"], n), "ids": np.concatenate([ids, ids[perm]])}


def test_latent_measures_pairs_by_id_whatever_the_order() -> None:
    run = _run()
    res = L.latent_measures(run["z"], run["modality"], run["ids"], run["labels"], k=5)
    assert res["pair_s1_to_s2_recall_at_1"] == res["pair_s2_to_s1_recall_at_1"] == 1.0
    assert res["pair_s1_s2_recall_at_1_chance"] == pytest.approx(1 / 40)
    assert res["modality_probe"] == 0.5 and res["modality_probe_chance"] == 0.5  # twins share a fold
    assert res["retrieval_s1_to_s2_map"] > res["retrieval_s1_to_s2_map_chance"]
    assert res["mixing_s1"] == pytest.approx(res["mixing_s2"])
    assert all(isinstance(v, float) for v in res.values())


def test_latent_measures_any_number_of_modalities() -> None:
    run = _run(n=30)
    z = np.concatenate([run["z"], run["z"][:30] + np.array([30.0, 0, 0, 0, 0])])
    res = L.latent_measures(z, np.concatenate([run["modality"], np.repeat("s3", 30)]),
                            np.concatenate([run["ids"], run["ids"][:30]]),
                            np.concatenate([run["labels"], run["labels"][:30]]), k=5)
    assert res["n_modalities"] == 3 and res["modality_probe_chance"] == pytest.approx(1 / 3)
    for a, b in itertools.combinations(["s1", "s2", "s3"], 2):
        assert f"retrieval_{b}_to_{a}_map" in res and f"pair_{a}_to_{b}_mrr" in res
    assert res["mixing_centred"] >= res["mixing"]
    assert not math.isnan(res["pair_s1_to_s3_recall_at_1"])


def test_latent_measures_errors() -> None:
    run = _run(n=10)
    ids = run["ids"].copy()
    ids[1] = ids[0]
    with pytest.raises(ValueError, match="duplicate patch ids within modality 's1'"):
        L.latent_measures(run["z"], run["modality"], ids, run["labels"], k=3)
    with pytest.raises(ValueError, match="labels"):
        L.latent_measures(run["z"], run["modality"], run["ids"], run["labels"][:5], k=3)


# ----------------------------------------------------------------------------- the one 2-d picture
def _package_sources() -> dict[str, str]:
    from pathlib import Path

    import xmodal

    root = Path(xmodal.__file__).resolve().parent
    return {str(p.relative_to(root.parent)): p.read_text() for p in sorted(root.rglob("*.py"))}


def test_latents_are_embedded_in_one_place_with_the_cosine_metric() -> None:
    """The drift of issue 18: the latent page's UMAP was Euclidean, the explorer's cosine."""
    assert L.UMAP_METRIC == "cosine"
    makers = sorted(path for path, text in _package_sources().items() if "umap.UMAP(" in text)
    assert makers == ["xmodal/analysis/latent.py"]


def test_umap_2d_of_fewer_than_four_vectors_is_their_principal_plane() -> None:
    xy = L.umap_2d(np.array([[1.0, 0.0, 0.0], [0.0, 2.0, 0.0], [0.0, 0.0, 3.0]]))
    assert xy.shape == (3, 2) and xy.dtype == np.float32 and np.allclose(xy.sum(axis=0), 0.0, atol=1e-5)
    with pytest.raises(ValueError, match=r"\[N, D\] array"):
        L.umap_2d(np.zeros(5))


@pytest.mark.slow  # UMAP's numba compilation takes tens of seconds on a busy 2-core machine
def test_umap_2d_is_cosine_umap_so_a_vectors_length_does_not_move_it() -> None:
    import umap

    rng = np.random.default_rng(0)
    z = rng.normal(size=(40, 8)).astype(np.float32)
    xy = L.umap_2d(z, seed=0)
    direct = umap.UMAP(n_neighbors=15, min_dist=0.1, metric="cosine", random_state=0, n_jobs=1,
                       init="spectral").fit_transform(z)
    np.testing.assert_array_equal(xy, direct)
    # scaling each vector by a power of two changes no cosine (exactly, in floating point)
    scaled = z * (2.0 ** rng.integers(-3, 4, (40, 1))).astype(np.float32)
    np.testing.assert_array_equal(L.umap_2d(scaled, seed=0), xy)
    euclid = umap.UMAP(n_neighbors=15, min_dist=0.1, metric="euclidean", random_state=0, n_jobs=1,
                       init="spectral").fit_transform(scaled)
    assert not np.allclose(euclid, xy)  # what the latent page drew before


@pytest.mark.slow
def test_latent_embedding_embeds_each_panel_with_umap_2d() -> None:
    from hand_tables import latents

    from xmodal.analysis.panels import latent_embedding, stack_latents

    runs = [latents(["s1"], n=12, seed=1), latents(["s2"], n=12, seed=2)]
    emb = latent_embedding({"two runs": runs}, ["a", "b", "c"], seed=0)
    stacked = stack_latents(runs)
    assert len(emb) == 24 and emb["modality"].tolist() == stacked.modality.tolist()
    np.testing.assert_array_equal(emb[["x", "y"]].to_numpy(dtype=np.float32), L.umap_2d(stacked.z, seed=0))
    assert emb["dominant"].iloc[0] == "a" and emb["soft_label"].iloc[0] == "a 1.00"


# ----------------------------------------------------------------------------- the miner's triplets
def test_mined_triplets_respect_the_label_thresholds_on_the_first_two_sensors() -> None:
    from hand_tables import latents

    from xmodal.analysis.triplets import mined_triplets

    lat = latents(["rgb", "s1"], n=9, shift=0.1)
    table, info = mined_triplets(lat, batch_size=6, n_show=4, positive_threshold=0.5, negative_threshold=0.1)
    assert len(table) == 4 and info["n"] == 6
    ids_s1 = set(lat.of("s1").ids)
    assert set(table["anchor"]) <= ids_s1  # anchors from s1, the first sensor in display order
    rows = np.flatnonzero(info["valid"])
    assert len(rows) and (info["s"][rows, info["pos"][rows]] >= 0.5).all()
    assert (info["s"][rows, info["neg"][rows]] <= 0.1).all()
    with pytest.raises(ValueError, match=r"two sensors; these hold \['s1'\]"):
        mined_triplets(lat.of("s1"))
