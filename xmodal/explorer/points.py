"""What a point is coloured by, its aligned partners from the other sensors, and its neighbours."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from xmodal.metrics import histogram_intersection

__all__ = ["K_NEIGHBOURS", "aligned_partners", "colour_categories", "cross_sensor_neighbours"]

#: Nearest cross-sensor neighbours marked when a point is clicked.
K_NEIGHBOURS = 5


def aligned_partners(ids: Sequence[str] | np.ndarray, modality: Sequence[str] | np.ndarray,
                     sensors: Sequence[str]) -> np.ndarray:
    """For every point, the index of the same patch seen by each sensor.

    Returns:
        ``[N, S]`` int array (``S = len(sensors)``): column ``b`` holds the row of the patch's
        sensor-``b`` vector, -1 when that sensor did not see it (a point's own column is itself).
    """
    id_arr = np.asarray(ids).astype(str)
    mod_arr = np.asarray(modality).astype(str)
    _, inv = np.unique(id_arr, return_inverse=True)
    sensor_idx = np.array([list(sensors).index(m) for m in mod_arr], dtype=np.int64)
    table = -np.ones((inv.max() + 1 if len(inv) else 0, len(sensors)), dtype=np.int64)
    table[inv, sensor_idx] = np.arange(len(id_arr))
    return table[inv]


def cross_sensor_neighbours(z: np.ndarray, modality: Sequence[str] | np.ndarray, sensors: Sequence[str],
                            k: int = K_NEIGHBOURS, partners: np.ndarray | None = None,
                            ) -> tuple[np.ndarray, np.ndarray]:
    """Nearest neighbours from the other sensors, by cosine similarity in the latent space.

    Args:
        z: ``[N, D]`` latent vectors.
        modality: ``[N]`` sensor of each vector.
        sensors: the sensors, in column order.
        k: neighbours per other sensor.
        partners: :func:`aligned_partners` (for the ranks).

    Returns:
        ``nn`` ``[N, S, k]`` int: the ``k`` nearest sensor-``b`` vectors of each point, nearest
        first (-1 for its own sensor, or where sensor ``b`` has fewer than ``k`` vectors);
        ``rank`` ``[N, S]`` int: 1 + the number of sensor-``b`` vectors closer than the point's
        own partner from ``b`` (1: the partner is the nearest; 0: no partner or own sensor).
    """
    z = np.asarray(z, dtype=np.float64)
    mod_arr = np.asarray(modality).astype(str)
    zn = z / np.maximum(np.linalg.norm(z, axis=1, keepdims=True), 1e-12)
    sim = zn @ zn.T
    n, s = len(z), len(sensors)
    nn = -np.ones((n, s, k), dtype=np.int64)
    rank = np.zeros((n, s), dtype=np.int64)
    for a, sa in enumerate(sensors):
        rows = np.flatnonzero(mod_arr == sa)
        for b, sb in enumerate(sensors):
            cols = np.flatnonzero(mod_arr == sb)
            if a == b or len(rows) == 0 or len(cols) == 0:
                continue
            sub = sim[np.ix_(rows, cols)]
            kk = min(k, len(cols))
            nn[rows, b, :kk] = cols[np.argsort(-sub, axis=1, kind="stable")[:, :kk]]
            if partners is not None:
                p = partners[rows, b]
                has = p >= 0
                own = sim[rows[has], p[has]]
                rank[rows[has], b] = 1 + (sub[has] > own[:, None]).sum(axis=1)
    return nn, rank


def colour_categories(labels: np.ndarray, prob: np.ndarray, partners: np.ndarray) -> dict[str, np.ndarray]:
    """What each point can be coloured by (the sensor is the point's own).

    Args:
        labels: ``[N, C]`` soft labels; prob: ``[N, C]`` predicted probabilities.
        partners: :func:`aligned_partners` of the points.

    Returns:
        ``dominant`` (class index of the largest soft-label share), ``predicted`` (class
        index of the largest probability), ``right`` (``predicted == dominant``: the
        dominant-class reading of "right", not the F1 one), and ``homogeneity``: the
        histogram intersection ``sum_c min(p_a(c), p_b(c))`` between the point's prediction
        and that of each other sensor for the same patch (the summand of eq. 5), averaged
        over the other sensors; NaN when no other sensor saw the patch.
    """
    labels = np.asarray(labels, dtype=np.float64)
    prob = np.asarray(prob, dtype=np.float64)
    dominant = labels.argmax(axis=1)
    predicted = prob.argmax(axis=1)
    n, s = partners.shape
    total = np.zeros(n)
    count = np.zeros(n)
    own = np.arange(n)
    for b in range(s):
        p = partners[:, b]
        ok = (p >= 0) & (p != own)
        total[ok] += histogram_intersection(prob[ok], prob[p[ok]])
        count[ok] += 1
    with np.errstate(invalid="ignore", divide="ignore"):
        homogeneity = np.where(count > 0, total / np.maximum(count, 1), np.nan)
    return {"dominant": dominant, "predicted": predicted, "right": predicted == dominant,
            "homogeneity": homogeneity}
