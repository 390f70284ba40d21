"""Land-cover labels: IGBP codes, the simplified DFC2020 schemes and soft labels.

SEN12MS ships MODIS land cover resampled to 10 m. Its first band holds the IGBP
scheme (values 1..17). Following the paper (and the IEEE GRSS Data Fusion
Contest 2020, which it cites), IGBP is simplified to ten classes:

==  ===========  ==========================
#   class        IGBP codes
==  ===========  ==========================
1   Forest       1-5 (needleleaf, broadleaf, mixed)
2   Shrubland    6-7 (closed, open)
3   Savanna      8-9 (woody savanna, savanna)
4   Grassland    10
5   Wetland      11
6   Cropland     12, 14 (cropland, cropland/natural mosaic)
7   Urban        13
8   Snow/Ice     15
9   Barren       16
10  Water        17
==  ===========  ==========================

The paper speaks of *nine* classes. The DFC2020 baselines (and the official
SEN12MS code, ``no_savanna=True``) drop Savanna: MODIS savanna is defined by
tree cover between 10 % and 60 %, so it is neither forest nor grassland and is
the least reliable class of the MODIS product at 10 m. In the nine-class scheme
(``"dfc9"``, the default) savanna pixels are *ignored*: they do not enter the
histogram, the remaining classes are renormalised, and a patch that is entirely
savanna has no label (the dataset reports and drops it). ``"dfc10"`` keeps all
ten classes.

A patch's *soft label* is the relative histogram of its simplified classes
(eq. 1 of the paper compares the prediction against it with a KL divergence).
"""

from __future__ import annotations

from typing import Final

import numpy as np

__all__ = [
    "IGBP_TO_SIMPLE",
    "SIMPLE_CLASS_NAMES",
    "LABEL_SCHEMES",
    "class_names",
    "n_classes",
    "simplify",
    "soft_label",
    "soft_labels",
]

#: IGBP code (1..17) -> simplified DFC2020 class (1..10).
IGBP_TO_SIMPLE: Final[dict[int, int]] = {
    1: 1, 2: 1, 3: 1, 4: 1, 5: 1,
    6: 2, 7: 2,
    8: 3, 9: 3,
    10: 4,
    11: 5,
    12: 6, 14: 6,
    13: 7,
    15: 8,
    16: 9,
    17: 10,
}

#: Names of the ten simplified classes, index 0 = class 1.
SIMPLE_CLASS_NAMES: Final[tuple[str, ...]] = (
    "Forest", "Shrubland", "Savanna", "Grassland", "Wetland",
    "Cropland", "Urban", "Snow/Ice", "Barren", "Water",
)

SAVANNA: Final[int] = 3

#: Label schemes and the simplified classes they keep (in output order).
LABEL_SCHEMES: Final[dict[str, tuple[int, ...]]] = {
    "dfc10": tuple(range(1, 11)),
    "dfc9": tuple(c for c in range(1, 11) if c != SAVANNA),
}

# Lookup table IGBP code -> simplified class, 0 for "no data / unknown code".
_IGBP_LUT = np.zeros(256, dtype=np.int64)
for _code, _simple in IGBP_TO_SIMPLE.items():
    _IGBP_LUT[_code] = _simple


def _check_scheme(scheme: str) -> tuple[int, ...]:
    try:
        return LABEL_SCHEMES[scheme]
    except KeyError:
        raise ValueError(
            f"Unknown label scheme {scheme!r}; choose one of {sorted(LABEL_SCHEMES)}"
        ) from None


def class_names(scheme: str = "dfc9") -> list[str]:
    """Names of the classes of ``scheme`` in the order of the label vector."""
    return [SIMPLE_CLASS_NAMES[c - 1] for c in _check_scheme(scheme)]


def n_classes(scheme: str = "dfc9") -> int:
    """Number of classes (length of the soft label) of ``scheme``."""
    return len(_check_scheme(scheme))


def simplify(igbp: np.ndarray) -> np.ndarray:
    """Map an array of IGBP codes to simplified classes 1..10 (0 = unknown code).

    Raises:
        ValueError: if a value is outside 0..255 (not an IGBP raster).
    """
    arr = np.asarray(igbp)
    if arr.size and (arr.min() < 0 or arr.max() > 255):
        raise ValueError(
            f"IGBP codes must lie in 1..17, found values in [{arr.min()}, {arr.max()}]"
        )
    return _IGBP_LUT[arr.astype(np.int64)]


def soft_labels(igbp: np.ndarray, scheme: str = "dfc9") -> np.ndarray:
    """Soft labels of a stack of IGBP maps, vectorised.

    Args:
        igbp: integer array ``(N, H, W)`` of IGBP codes.
        scheme: ``"dfc9"`` (Savanna ignored) or ``"dfc10"``.

    Returns:
        float32 array ``(N, K)``; each row sums to 1, or is all zeros when the
        patch holds no pixel of a kept class (e.g. only savanna under dfc9, or
        only unknown codes).
    """
    keep = _check_scheme(scheme)
    arr = np.asarray(igbp)
    if arr.ndim != 3:
        raise ValueError(f"Expected IGBP maps of shape (N, H, W), got {arr.shape}")
    simple = simplify(arr).reshape(arr.shape[0], -1)
    # column index of each simplified class in the output, -1 for dropped ones
    col = np.full(11, -1, dtype=np.int64)
    col[list(keep)] = np.arange(len(keep))
    idx = col[simple]
    k = len(keep)
    rows = np.repeat(np.arange(arr.shape[0]), simple.shape[1])
    flat = idx.ravel()
    valid = flat >= 0
    counts = np.zeros((arr.shape[0], k), dtype=np.float64)
    np.add.at(counts, (rows[valid], flat[valid]), 1.0)
    total = counts.sum(axis=1, keepdims=True)
    hist = np.divide(counts, total, out=np.zeros_like(counts), where=total > 0)
    return hist.astype(np.float32)


def soft_label(lc_patch: np.ndarray, scheme: str = "dfc9") -> np.ndarray:
    """Soft label (relative class histogram) of one land-cover patch.

    Args:
        lc_patch: IGBP map ``(H, W)``, or the full SEN12MS LC patch ``(4, H, W)``
            whose first band is IGBP.
        scheme: ``"dfc9"`` (default, Savanna ignored) or ``"dfc10"``.

    Returns:
        float32 vector of length ``n_classes(scheme)`` summing to 1 (all zeros if
        no pixel belongs to a kept class).
    """
    arr = np.asarray(lc_patch)
    if arr.ndim == 3:
        arr = arr[0]
    if arr.ndim != 2:
        raise ValueError(f"Expected an LC patch (H, W) or (bands, H, W), got {arr.shape}")
    return soft_labels(arr[None], scheme)[0]
