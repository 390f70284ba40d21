"""How much of the sensor is left in the shared latent space, and how well the sensors meet there.

The paper's modality loss (eq. 2, behind the gradient reversal of eq. 4) and triplet
loss (eq. 3) aim at a latent space in which ``g^S1(f^S1) ~ g^S2(f^S2)`` for the same
scene. The UMAP pictures of the book show whether that happened; the measures here
put numbers on it, each beside the value it would take by chance:

=============================  ==============================================  =====================
measure                        question                                        chance level
=============================  ==============================================  =====================
:func:`modality_probe`         can a linear model tell the sensor from ``z``?  ``1 / M``
:func:`neighbour_mixing`       are a vector's neighbours from other sensors?   ``(N - N_m)/(N - 1)``
:func:`cross_modal_retrieval`  does ``z`` find the other sensor's patches      share of relevant
                               with similar labels (eq. 3's positives)?        items (AP, exact)
:func:`same_patch_retrieval`   does ``z`` find the *same* patch seen by the    ``k / N`` (recall@k)
                               other sensor?
=============================  ==============================================  =====================

:func:`latent_measures` computes all of them for one run's latent vectors (``z``
``[N, D]``, ``labels`` ``[N, C]``, ``modality`` ``[N]``, ``ids`` ``[N]``, the same
patch ids for every sensor) as one flat row of numbers.

All similarities are cosine similarities (unit-length latents: the nearest
neighbours are then the same as Euclidean ones). Matrices are built in blocks of
query rows, so a few thousand vectors need tens of megabytes.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from typing import Any, Final

import numpy as np

from xmodal.metrics import pairwise_intersection

__all__ = [
    "HIT_THRESHOLD",
    "NEIGHBOURS",
    "PROBE_FOLDS",
    "PROBE_MAX_ITER",
    "SAME_PATCH_KS",
    "modality_probe",
    "cross_modal_retrieval",
    "neighbour_mixing",
    "same_patch_retrieval",
    "latent_measures",
    "UMAP_METRIC",
    "umap_2d",
]

#: Two patches are *relevant* to each other when their soft labels' histogram intersection is at
#: least this: "similar class content", the triplet positives of eq. (3) (the config's ``positive_threshold``).
HIT_THRESHOLD: Final[float] = 0.5

#: Default number of neighbours / retrieved items (the ``k`` of recall@k and of the mixing measure).
NEIGHBOURS: Final[int] = 10

#: Default folds of the modality probe's stratified cross-validation.
PROBE_FOLDS: Final[int] = 5

#: Iteration cap of the probe's logistic regression (lbfgs).
PROBE_MAX_ITER: Final[int] = 1000

#: Ranks of the same-patch retrieval's recall@k.
SAME_PATCH_KS: Final[tuple[int, ...]] = (1, 10)

#: Query rows per block of the similarity matrices.
_BLOCK: Final[int] = 256

#: Length below which a latent vector counts as zero when normalising.
_EPS: Final[float] = 1e-12

#: Tolerance on histogram intersections compared with :data:`HIT_THRESHOLD` (float sums of label shares).
_HI_TOLERANCE: Final[float] = 1e-6


# ----------------------------------------------------------------------------- helpers
def _matrix(name: str, z: Any, where: str) -> np.ndarray:
    a = np.asarray(z, dtype=np.float64)
    if a.ndim != 2:
        raise ValueError(f"{where}: {name} must be a 2-d [N, D] array, got shape {a.shape}")
    if not np.isfinite(a).all():
        raise ValueError(f"{where}: {name} has {int((~np.isfinite(a)).sum())} non-finite values")
    return a


def _labels_1d(name: str, x: Any, n: int, where: str) -> np.ndarray:
    a = np.asarray(x).astype(str)
    if a.ndim != 1 or a.size != n:
        raise ValueError(f"{where}: {name} must hold one entry per vector ({n}), got shape {a.shape}")
    return a


def _unit(z: np.ndarray) -> np.ndarray:
    return z / np.maximum(np.linalg.norm(z, axis=1, keepdims=True), _EPS)


def _blocks(n: int) -> Iterator[slice]:
    for start in range(0, n, _BLOCK):
        yield slice(start, min(start + _BLOCK, n))


def _ordered_unique(x: np.ndarray) -> list[str]:
    """Distinct values in order of first appearance (the sensors as the run stored them)."""
    _, first = np.unique(x, return_index=True)
    return [str(x[i]) for i in np.sort(first)]


def _check_k(k: int, n: int, what: str, where: str) -> int:
    if not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"{where}: invalid k {k!r}; need an integer >= 1")
    if k > n:
        raise ValueError(f"{where}: k={k} is larger than the {n} {what}")
    return int(k)


# ----------------------------------------------------------------------------- probe
def modality_probe(
    z: np.ndarray,
    modality: Any,
    folds: int = PROBE_FOLDS,
    seed: int = 0,
    groups: Any = None,
) -> float:
    """Held-out balanced accuracy of a linear probe that predicts the sensor from the latent vector.

    A logistic regression (L2, ``C = 1``) on standardised ``z``, scored by stratified
    ``folds``-fold cross-validation (shuffled with ``seed``): every vector is predicted by
    the model fitted on the other folds, and the balanced accuracy (mean per-sensor
    recall) of these out-of-fold predictions is returned. Chance is ``1 / M`` for ``M``
    sensors, whatever their counts; 1 means the sensor is linearly readable from ``z``,
    i.e. the modality loss did not hide it -- even if the modality classifier of eq. (2)
    was fooled (a flipped but separable code fools that classifier, not a fresh probe).

    Pass the patch ids as ``groups`` when the sensors show the same patches: the folds
    then keep both views of a patch together (stratified group k-fold). Otherwise a
    vector's twin from the other sensor sits in the training folds with the opposite
    label, and perfectly aligned latents score *below* chance instead of at it.

    Args:
        z: ``[N, D]`` latent vectors.
        modality: ``[N]`` sensor of every vector (any labels; at least 2 distinct).
        folds: number of cross-validation folds (every sensor needs at least ``folds`` vectors).
        seed: seed of the fold assignment.
        groups: ``[N]`` optional group (patch id) of every vector, kept within one fold.

    Returns:
        The balanced accuracy in [0, 1].
    """
    x = _matrix("z", z, "modality_probe")
    m = _labels_1d("modality", modality, x.shape[0], "modality_probe")
    names, counts = np.unique(m, return_counts=True)
    if names.size < 2:
        raise ValueError(f"modality_probe: need at least 2 modalities, got {names.tolist()}")
    if not isinstance(folds, (int, np.integer)) or folds < 2:
        raise ValueError(f"modality_probe: invalid folds {folds!r}; need an integer >= 2")
    if counts.min() < folds:
        raise ValueError(
            f"modality_probe: modality {names[counts.argmin()]!r} has {counts.min()} vectors, fewer than folds={folds}"
        )
    from sklearn.linear_model import LogisticRegression  # scikit-learn (about a second) when a probe runs
    from sklearn.metrics import balanced_accuracy_score
    from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=PROBE_MAX_ITER))
    if groups is None:
        cv: Any = StratifiedKFold(n_splits=int(folds), shuffle=True, random_state=seed)
        g = None
    else:
        g = _labels_1d("groups", groups, x.shape[0], "modality_probe")
        if np.unique(g).size < folds:
            raise ValueError(f"modality_probe: {np.unique(g).size} groups, fewer than folds={folds}")
        cv = StratifiedGroupKFold(n_splits=int(folds), shuffle=True, random_state=seed)
    pred = cross_val_predict(probe, x, m, groups=g, cv=cv)
    return float(balanced_accuracy_score(m, pred))


# ----------------------------------------------------------------------------- mixing
def neighbour_mixing(z: np.ndarray, modality: Any, k: int = NEIGHBOURS) -> dict[str, float]:
    """Share of every vector's ``k`` nearest neighbours that come from another sensor.

    On unit-length latents (cosine similarity), each vector's ``k`` most similar other
    vectors (itself excluded) are found; its *mixing* is the share of them whose sensor
    differs from its own. Under perfect mixing (the sensor labels shuffled), a vector of
    sensor ``m`` expects ``(N - N_m) / (N - 1)``: 0.5 for two equal halves of a large set.
    0 means the sensors occupy separate regions.

    Args:
        z: ``[N, D]`` latent vectors.
        modality: ``[N]`` sensor of every vector (at least 2 distinct).
        k: neighbours per vector (``k <= N - 1``).

    Returns:
        ``{"mixing", "mixing_chance", "mixing_<m>", "mixing_<m>_chance" for every sensor m}``:
        overall values are means over all vectors, per-sensor ones over that sensor's vectors.
    """
    x = _unit(_matrix("z", z, "neighbour_mixing"))
    n = x.shape[0]
    m = _labels_1d("modality", modality, n, "neighbour_mixing")
    names = _ordered_unique(m)
    if len(names) < 2:
        raise ValueError(f"neighbour_mixing: need at least 2 modalities, got {names}")
    k = _check_k(k, n - 1, "other vectors (N - 1)", "neighbour_mixing")
    other = np.empty(n)
    for rows in _blocks(n):
        sim = x[rows] @ x.T
        sim[np.arange(sim.shape[0]), np.arange(n)[rows]] = -np.inf  # never one's own neighbour
        nearest = np.argpartition(-sim, k - 1, axis=1)[:, :k]
        other[rows] = (m[nearest] != m[rows, None]).mean(axis=1)
    _, code, sizes = np.unique(m, return_inverse=True, return_counts=True)
    chance = (n - sizes[code.ravel()]) / (n - 1)
    out = {"mixing": float(other.mean()), "mixing_chance": float(chance.mean())}
    for name in names:
        sel = m == name
        out[f"mixing_{name}"] = float(other[sel].mean())
        out[f"mixing_{name}_chance"] = float(chance[sel][0])
    return out


# ----------------------------------------------------------------------------- retrieval by labels
def _expected_random_ap(n_relevant: np.ndarray, n_items: int) -> np.ndarray:
    """Exact expected average precision of a uniformly random ranking (Bestgen 2015).

    With ``R`` relevant among ``N`` items, ``E[AP] = (R - 1)/(N - 1) + H_N (N - R) / (N (N - 1))``
    (``H_N`` the harmonic number): from ``E[AP] = 1/R sum_n 1/n E[rel(n) sum_{j<=n} rel(j)]``
    with ``P(rel(n)) = R/N`` and ``P(rel(n) rel(j)) = R(R-1)/(N(N-1))``. It tends to
    ``R / N`` for many relevant items, and exceeds it for few (``R = 1``: ``H_N / N``).
    """
    r = np.asarray(n_relevant, dtype=np.float64)
    if n_items == 1:
        return np.ones_like(r)
    harmonic = float((1.0 / np.arange(1, n_items + 1)).sum())
    return (r - 1) / (n_items - 1) + harmonic * (n_items - r) / (n_items * (n_items - 1))


def _rank_direction(
    q: np.ndarray, yq: np.ndarray, items: np.ndarray, yi: np.ndarray, k: int, seed: int
) -> dict[str, float]:
    """Mean average precision and recall@k of ranking ``items`` by cosine similarity to each query ``q``."""
    n_items = items.shape[0]
    # Ties are broken by a fixed random order of the items, not by their storage order, so that
    # collapsed (identical) latents score at chance level instead of by how the run sorted its patches.
    perm = np.random.default_rng(seed).permutation(n_items)
    items, yi = items[perm], yi[perm]
    ap, recall, relevant = [], [], []
    for rows in _blocks(q.shape[0]):
        rel = pairwise_intersection(yq[rows], yi) >= HIT_THRESHOLD - _HI_TOLERANCE
        order = np.argsort(-(q[rows] @ items.T), axis=1, kind="stable")
        hits = np.take_along_axis(rel, order, axis=1)
        cum = np.cumsum(hits, axis=1)
        r = cum[:, -1]
        with np.errstate(invalid="ignore", divide="ignore"):
            ap.append((hits * cum / np.arange(1, n_items + 1)).sum(axis=1) / r)
            recall.append(cum[:, k - 1] / np.minimum(k, r))
        relevant.append(r)
    r = np.concatenate(relevant)
    has = r > 0
    ap_all, rec_all = np.concatenate(ap)[has], np.concatenate(recall)[has]
    rq = r[has].astype(np.float64)
    nan = math.nan
    return {
        "map": float(ap_all.mean()) if has.any() else nan,
        "map_chance": float(_expected_random_ap(rq, n_items).mean()) if has.any() else nan,
        f"recall_at_{k}": float(rec_all.mean()) if has.any() else nan,
        f"recall_at_{k}_chance": float((k * rq / n_items / np.minimum(k, rq)).mean()) if has.any() else nan,
        "queries": float(has.sum()),
        "relevant_share": float((rq / n_items).mean()) if has.any() else nan,
    }


def cross_modal_retrieval(
    z_a: np.ndarray,
    y_a: np.ndarray,
    z_b: np.ndarray,
    y_b: np.ndarray,
    k: int = NEIGHBOURS,
    *,
    seed: int = 0,
) -> dict[str, float]:
    """Retrieval of the other sensor's patches with similar labels, ranked by cosine similarity.

    Every vector of sensor ``a`` is a query that ranks all vectors of sensor ``b``
    (``a -> b``), and the other way round (``b -> a``). An item is *relevant* (a hit)
    to a query when the histogram intersection of their soft labels is at least
    :data:`HIT_THRESHOLD` -- what eq. (3)'s triplets treat as a positive. The batches
    need not be aligned.

    * **mAP**: mean over queries of the average precision ``AP = 1/R sum_{n: hit} hits(<= n) / n``
      (``R`` relevant items). Its chance level is the exact expected AP of a random
      ranking for each query's ``R`` (about ``R / N``), averaged over the queries.
    * **recall@k** = ``hits in the top k / min(k, R)``, averaged over queries: 1 when
      the top ``k`` are all relevant (or hold all ``R``), 0 with no hit. Chosen over
      "at least one hit in the top k" because relevant sets here are large (every pure
      forest patch matches every other), which makes that version saturate near 1 even
      for poor rankings. Its chance level is exact: a random top ``k`` holds ``k R / N``
      relevant items on average, so chance = ``k R / (N min(k, R))`` averaged over queries.

    Queries without any relevant item are left out of both (their count is ``*_queries``).
    Ties in similarity are broken by a fixed-``seed`` random order of the items.

    Args:
        z_a, z_b: ``[N_a, D]``, ``[N_b, D]`` latent vectors of the two sensors.
        y_a, y_b: ``[N_a, C]``, ``[N_b, C]`` their soft labels.
        k: cut-off of recall@k (``k <= min(N_a, N_b)``).
        seed: seed of the tie-breaking order.

    Returns:
        For each direction ``d`` in ``a_to_b``, ``b_to_a``: ``d_map``, ``d_map_chance``,
        ``d_recall_at_<k>``, ``d_recall_at_<k>_chance``, ``d_queries`` (queries with a
        relevant item) and ``d_relevant_share`` (mean ``R / N``).
    """
    where = "cross_modal_retrieval"
    za, zb = _matrix("z_a", z_a, where), _matrix("z_b", z_b, where)
    ya, yb = _matrix("y_a", y_a, where), _matrix("y_b", y_b, where)
    if za.shape[1] != zb.shape[1]:
        raise ValueError(f"{where}: z_a {za.shape} and z_b {zb.shape} differ in dimension")
    if ya.shape[0] != za.shape[0] or yb.shape[0] != zb.shape[0] or ya.shape[1] != yb.shape[1]:
        raise ValueError(f"{where}: labels y_a {ya.shape}, y_b {yb.shape} do not match z_a {za.shape}, z_b {zb.shape}")
    k = _check_k(k, min(za.shape[0], zb.shape[0]), "vectors of the smaller sensor", where)
    ua, ub = _unit(za), _unit(zb)
    out: dict[str, float] = {}
    for name, res in (("a_to_b", _rank_direction(ua, ya, ub, yb, k, seed)),
                      ("b_to_a", _rank_direction(ub, yb, ua, ya, k, seed))):
        out.update({f"{name}_{key}": value for key, value in res.items()})
    return out


# ----------------------------------------------------------------------------- retrieval of the same patch
def same_patch_retrieval(
    z_a: np.ndarray,
    z_b: np.ndarray,
    *,
    ks: tuple[int, ...] = SAME_PATCH_KS,
    seed: int = 0,
) -> dict[str, float]:
    """Does a patch's latent vector find the *same* patch seen by the other sensor?

    Rows ``i`` of ``z_a`` and ``z_b`` are the same patch (aligned pairs, as SEN12MS
    provides for the test set). For every query in ``a`` the ``N`` vectors of ``b`` are
    ranked by cosine similarity, and the rank of the partner is recorded (and the
    other way round). Ties are broken by a fixed-``seed`` random order, so identical
    (collapsed) latents score at chance.

    Chance levels (random ranking): recall@k = ``k / N``; mean reciprocal rank =
    ``H_N / N``; median rank = ``(N + 1) / 2``.

    Args:
        z_a, z_b: ``[N, D]`` aligned latent vectors (``N >= 2``).
        ks: cut-offs of recall@k (values above ``N`` are capped at ``N``).
        seed: seed of the tie-breaking order.

    Returns:
        For each direction ``d`` in ``a_to_b``, ``b_to_a``: ``d_median_rank``, ``d_mrr``,
        ``d_recall_at_<k>`` for every ``k`` in ``ks``; plus ``n``, ``median_rank_chance``,
        ``mrr_chance`` and ``recall_at_<k>_chance``.
    """
    where = "same_patch_retrieval"
    za, zb = _matrix("z_a", z_a, where), _matrix("z_b", z_b, where)
    if za.shape != zb.shape:
        raise ValueError(f"{where}: z_a {za.shape} and z_b {zb.shape} must be aligned pairs of equal shape")
    n = za.shape[0]
    if n < 2:
        raise ValueError(f"{where}: need at least 2 aligned pairs, got {n}")
    for k in ks:
        _check_k(min(k, n), n, "pairs", where)
    ua, ub = _unit(za), _unit(zb)
    tiebreak = np.random.default_rng(seed).permutation(n)
    out: dict[str, float] = {"n": float(n)}
    for name, q, items in (("a_to_b", ua, ub), ("b_to_a", ub, ua)):
        ranks = np.empty(n)
        for rows in _blocks(n):
            sim = q[rows] @ items.T
            idx = np.arange(n)[rows]
            own = sim[np.arange(sim.shape[0]), idx][:, None]
            before = (sim > own) | ((sim == own) & (tiebreak[None, :] < tiebreak[idx, None]))
            ranks[rows] = 1 + before.sum(axis=1)
        out[f"{name}_median_rank"] = float(np.median(ranks))
        out[f"{name}_mrr"] = float((1.0 / ranks).mean())
        for k in ks:
            out[f"{name}_recall_at_{k}"] = float((ranks <= k).mean())
    out["median_rank_chance"] = (n + 1) / 2
    out["mrr_chance"] = float((1.0 / np.arange(1, n + 1)).sum() / n)
    for k in ks:
        out[f"recall_at_{k}_chance"] = min(k, n) / n
    return out


# ----------------------------------------------------------------------------- all of it, for one run
def latent_measures(
    z: np.ndarray,
    modality: Any,
    ids: Any,
    labels: np.ndarray,
    k: int = NEIGHBOURS,
) -> dict[str, float]:
    """All measures of this module for one run's latents, as one flat row of numbers.

    Args:
        z: ``[N, D]`` latent vectors of all sensors.
        modality: ``[N]`` sensor of every vector (at least 2 distinct).
        ids: ``[N]`` patch id of every vector; a patch appears at most once per sensor,
            and the same patches are stored for every sensor (pairs are matched by id, so
            their order does not matter).
        labels: ``[N, C]`` soft labels.
        k: neighbours / cut-off for mixing and label retrieval.

    Returns:
        ``n``, ``n_modalities``, ``k``; ``modality_probe`` and ``modality_probe_chance``
        (:func:`modality_probe`, folds grouped by patch id); the keys of :func:`neighbour_mixing`, and
        ``mixing_centred`` (the same on latents centred per sensor: what mixing is left
        once a constant offset between the sensors is removed); for every pair of sensors
        ``a``, ``b`` (in stored order), ``retrieval_<a>_to_<b>_*`` and ``retrieval_<b>_to_<a>_*``
        (:func:`cross_modal_retrieval`) and ``pair_<a>_to_<b>_*``, ``pair_<b>_to_<a>_*`` and
        ``pair_<a>_<b>_*_chance`` (:func:`same_patch_retrieval`; NaN when fewer than two
        patch ids are shared).
    """
    where = "latent_measures"
    x = _matrix("z", z, where)
    n = x.shape[0]
    m = _labels_1d("modality", modality, n, where)
    pid = _labels_1d("ids", ids, n, where)
    y = _matrix("labels", labels, where)
    if y.shape[0] != n:
        raise ValueError(f"{where}: labels {y.shape} do not match z {x.shape}")
    names = _ordered_unique(m)
    if len(names) < 2:
        raise ValueError(f"{where}: need at least 2 modalities, got {names}")
    rows = {name: np.flatnonzero(m == name) for name in names}
    for name, r in rows.items():
        if np.unique(pid[r]).size != r.size:
            raise ValueError(f"{where}: duplicate patch ids within modality {name!r}")
    out: dict[str, float] = {"n": float(n), "n_modalities": float(len(names)), "k": float(k)}
    out["modality_probe"] = modality_probe(x, m, groups=pid)
    out["modality_probe_chance"] = 1.0 / len(names)
    out.update(neighbour_mixing(x, m, k))
    centred = x.copy()
    for r in rows.values():
        centred[r] -= centred[r].mean(axis=0)
    out["mixing_centred"] = neighbour_mixing(centred, m, k)["mixing"]
    for a, b in itertools.combinations(names, 2):
        ra, rb = rows[a], rows[b]
        res = cross_modal_retrieval(x[ra], y[ra], x[rb], y[rb], k)
        for key, value in res.items():
            direction, rest = key[:6], key[7:]
            src, dst = (a, b) if direction == "a_to_b" else (b, a)
            out[f"retrieval_{src}_to_{dst}_{rest}"] = value
        _, ja, jb = np.intersect1d(pid[ra], pid[rb], assume_unique=True, return_indices=True)
        keys = [f"{d}_{s}" for d in ("a_to_b", "b_to_a") for s in
                ("median_rank", "mrr", *(f"recall_at_{kk}" for kk in SAME_PATCH_KS))]
        keys += ["n", "median_rank_chance", "mrr_chance", *(f"recall_at_{kk}_chance" for kk in SAME_PATCH_KS)]
        if ja.size >= 2:
            pair = same_patch_retrieval(x[ra[ja]], x[rb[jb]])
        else:
            pair = dict.fromkeys(keys, math.nan)
        for key in keys:
            if key.startswith("a_to_b_"):
                out[f"pair_{a}_to_{b}_{key[7:]}"] = pair[key]
            elif key.startswith("b_to_a_"):
                out[f"pair_{b}_to_{a}_{key[7:]}"] = pair[key]
            else:
                out[f"pair_{a}_{b}_{key}"] = pair[key]
    return out


# ----------------------------------------------------------------------------- the 2-d picture
#: The metric of every 2-d picture of latent vectors (:func:`umap_2d`).
UMAP_METRIC: Final[str] = "cosine"


def umap_2d(z: np.ndarray, *, n_neighbors: int = 15, min_dist: float = 0.1, seed: int = 0) -> np.ndarray:
    """UMAP of latent vectors into 2-d, metric cosine: the one picture of a latent space the book and explorer draw.

    Why cosine: the model is trained in angles. Eq. (3)'s triplets are chosen by
    :func:`xmodal.losses.mine_triplets`, which ranks the candidates by cosine similarity of the
    latents (the hard negative is the most similar one in angle), and every measure of this
    module (probe aside) compares unit-length latents: :func:`neighbour_mixing`, the label and
    same-patch retrieval. A cosine UMAP shows the neighbourhoods those numbers count; a Euclidean
    one would also spread vectors by their length, which the mining ignores (the triplet loss
    itself is a Euclidean distance on the unnormalised latents, so lengths are not meaningless,
    but they are not what decides which patches the model pulls together).

    Deterministic: seeded (``random_state``) and on one thread. ``n_neighbors`` is capped at
    ``N - 1`` (at least 2); the initialisation is spectral when ``N > n_neighbors + 2`` and
    random otherwise (the spectral one needs a connected graph). With fewer than 4 vectors
    UMAP cannot run: the first two principal components are returned instead.

    Args:
        z: ``[N, D]`` latent vectors (several runs may be stacked: their coordinates are then
            embedded together, which says nothing about how their spaces relate).
        n_neighbors: UMAP's neighbourhood size.
        min_dist: UMAP's minimum distance between embedded points.
        seed: UMAP's random state.

    Returns:
        ``[N, 2]`` float32 coordinates.
    """
    x = np.asarray(z, dtype=np.float32)
    if x.ndim != 2:
        raise ValueError(f"umap_2d: z must be an [N, D] array, got shape {x.shape}")
    n = len(x)
    if n < 4:
        centred = x - x.mean(0)
        u, sv, _ = np.linalg.svd(centred, full_matrices=False)
        xy = np.zeros((n, 2), np.float32)
        xy[:, : min(2, u.shape[1])] = (u * sv)[:, :2]
        return xy
    import warnings

    with warnings.catch_warnings():  # umap imports tqdm.auto, which warns without ipywidgets
        warnings.simplefilter("ignore")
        import umap

        k = max(2, min(int(n_neighbors), n - 1))
        reducer = umap.UMAP(n_neighbors=k, min_dist=float(min_dist), metric=UMAP_METRIC, random_state=int(seed),
                            n_jobs=1, init="spectral" if n > k + 2 else "random")
        return np.asarray(reducer.fit_transform(x), dtype=np.float32)
