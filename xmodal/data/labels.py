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

Values that are not IGBP codes (0 and 18..255; MODIS uses 255 for "unclassified")
carry no class. They are never dropped silently: :func:`label_codes` counts them
per patch, and the reader (:class:`~xmodal.data.Sen12MS`, :func:`~xmodal.data.check_root`)
applies :data:`INVALID_CODE_MAX_SHARE`. A patch with at most that share of such
pixels keeps a label, renormalised over its valid pixels, and is named in a
:class:`~xmodal.data.errors.LabelCodeWarning`; a patch with more is a bad patch
(:class:`~xmodal.data.errors.LabelCodeError`). Values above 255 cannot come from
the 8-bit MODIS product at all: a file holding any is always a bad patch.
"""

from __future__ import annotations

import os
import warnings
from typing import Final, NamedTuple

import numpy as np

from .errors import LabelCodeError, LabelCodeWarning

__all__ = [
    "IGBP_TO_SIMPLE",
    "IGBP_MAX_VALUE",
    "INVALID_CODE_MAX_SHARE",
    "CodeCounts",
    "label_codes",
    "check_label_codes",
    "invalid_code_note",
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

#: Largest value an IGBP band can hold: MODIS land cover is 8-bit (255 = unclassified).
IGBP_MAX_VALUE: Final[int] = 255

INVALID_CODE_MAX_SHARE: Final[float] = 0.05
"""Largest share of a patch's pixels with codes outside IGBP 1..17 that still gives it a label.

A SEN12MS patch (2.56 km) holds about 5 x 5 MODIS cells of 500 m, so one cell is
50 x 50 of its 256 x 256 pixels, 3.8 %: 0.05 tolerates one unclassified (or
fill) MODIS cell with some margin for cells cut by the patch border, and no
more. Up to this share the soft label is the histogram of the valid pixels
(renormalised), which moves any class share by at most ``share`` (a class
holding ``p`` becomes ``p / (1 - share)``), about one label step of 1/25; the
patch is named in a :class:`~xmodal.data.errors.LabelCodeWarning`. Above it, the
label would misstate the land cover (half code 0 and half grassland would read
as pure grassland): the patch raises :class:`~xmodal.data.errors.LabelCodeError`,
which ``bad_patch="skip"`` turns into a skipped, reported patch.
"""

#: Label schemes and the simplified classes they keep (in output order).
LABEL_SCHEMES: Final[dict[str, tuple[int, ...]]] = {
    "dfc10": tuple(range(1, 11)),
    "dfc9": tuple(c for c in range(1, 11) if c != SAVANNA),
}

# Lookup table IGBP code -> simplified class, 0 for "no data / unknown code".
_IGBP_LUT = np.zeros(256, dtype=np.int64)
for _code, _simple in IGBP_TO_SIMPLE.items():
    _IGBP_LUT[_code] = _simple


class CodeCounts(NamedTuple):
    """The land-cover codes of one IGBP map, as :func:`label_codes` counts them."""

    #: int64 [11]: pixels per simplified class 1..10; index 0 counts pixels that are not IGBP codes.
    counts: np.ndarray
    #: code -> pixels, for every value outside IGBP 1..17 (e.g. ``{0: 2048, 255: 12}``).
    invalid: dict[int, int]

    @property
    def share(self) -> float:
        """Share of the pixels that hold no IGBP code (0.0 for a clean map)."""
        total = int(self.counts.sum())
        return int(self.counts[0]) / total if total else 0.0


def label_codes(igbp: np.ndarray) -> CodeCounts:
    """Count the simplified classes and the non-IGBP values of one IGBP map, vectorised.

    Args:
        igbp: integer IGBP map (any shape, usually ``(H, W)``).

    Returns:
        the class counts (index 0: pixels outside IGBP 1..17) and the invalid
        codes with their pixel counts. Nothing is raised: the caller decides (see
        :func:`check_label_codes`).
    """
    arr = np.asarray(igbp).ravel()
    if arr.size and arr.dtype.kind == "u" and int(arr.max()) < 1 << 16:
        per_value = np.bincount(arr)
        codes = np.flatnonzero(per_value)
        pixels = per_value[codes]
    else:  # signed or wide values: sort instead of one bin per value
        codes, pixels = np.unique(arr.astype(np.int64, copy=False), return_counts=True)
    valid = (codes >= 1) & (codes <= 17)
    counts = np.bincount(_IGBP_LUT[codes[valid]], weights=pixels[valid], minlength=11).astype(np.int64)
    counts[0] = int(pixels[~valid].sum())
    invalid = {int(c): int(n) for c, n in zip(codes[~valid], pixels[~valid], strict=True)}
    return CodeCounts(counts, invalid)


def _codes_text(invalid: dict[int, int], limit: int = 8) -> str:
    items = sorted(invalid.items())
    text = ", ".join(f"{c}: {n} px" for c, n in items[:limit])
    return text + (f", and {len(items) - limit} more codes" if len(items) > limit else "")


def invalid_code_note(path: str | os.PathLike[str], invalid: dict[int, int], share: float) -> str:
    """One patch's entry in a warning: its file, share of non-IGBP pixels and the codes."""
    return f"{path} ({share:.1%} of the pixels; codes {_codes_text(invalid)})"


def check_label_codes(
    codes: CodeCounts, path: str | os.PathLike[str], max_share: float = INVALID_CODE_MAX_SHARE
) -> None:
    """Raise if an IGBP map cannot give a trustworthy label (see :data:`INVALID_CODE_MAX_SHARE`).

    Args:
        codes: the counts of :func:`label_codes`.
        path: the LC file, named in the message.
        max_share: largest share of non-IGBP pixels tolerated.

    Raises:
        LabelCodeError: values above 255 (not a MODIS IGBP band), or a share of
            non-IGBP pixels above ``max_share``; the message names the file, the
            codes and the share.
    """
    wide = {c: n for c, n in codes.invalid.items() if c > IGBP_MAX_VALUE or c < 0}
    if wide:
        raise LabelCodeError(
            f"{path}: the IGBP band holds values outside 0..{IGBP_MAX_VALUE} ({_codes_text(wide)}), which no "
            "MODIS IGBP raster has; check that band 1 of this file is the IGBP land cover, fix or remove the "
            "patch, or pass bad_patch='skip'"
        )
    share = codes.share
    if share > max_share:
        raise LabelCodeError(
            f"{path}: {share:.1%} of the pixels hold codes outside IGBP 1..17 ({_codes_text(codes.invalid)}), "
            f"more than the {max_share:.0%} tolerated (INVALID_CODE_MAX_SHARE); its soft label would misstate "
            "the land cover: fix or remove the patch, or pass bad_patch='skip'"
        )


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

    Warns:
        LabelCodeWarning: when some pixels hold no IGBP code (0, 18..255): they
            are ignored and the rest renormalised (this pure function knows no
            file and applies no threshold; the reader does, see
            :data:`INVALID_CODE_MAX_SHARE`).
    """
    return _soft_labels(igbp, scheme, stacklevel=3)


def _soft_labels(igbp: np.ndarray, scheme: str, stacklevel: int) -> np.ndarray:
    keep = _check_scheme(scheme)
    arr = np.asarray(igbp)
    if arr.ndim != 3:
        raise ValueError(f"Expected IGBP maps of shape (N, H, W), got {arr.shape}")
    simple = simplify(arr).reshape(arr.shape[0], -1)
    unknown = simple == 0
    if unknown.any():
        shares = unknown.mean(axis=1)
        warnings.warn(
            f"{int((shares > 0).sum())} of {len(shares)} IGBP map(s) hold codes outside 1..17 "
            f"({np.unique(arr.reshape(arr.shape[0], -1)[unknown]).tolist()[:8]}, up to {shares.max():.1%} of a "
            "map's pixels); those pixels are ignored and each label renormalised over the others",
            LabelCodeWarning,
            stacklevel=stacklevel,
        )
    # column index of each simplified class in the output, -1 for dropped ones
    col = np.full(11, -1, dtype=np.int64)
    col[list(keep)] = np.arange(len(keep))
    idx = col[simple]
    k = len(keep)
    rows = np.repeat(np.arange(arr.shape[0]), simple.shape[1])
    flat = idx.ravel()
    valid = flat >= 0
    counts = np.bincount(rows[valid] * k + flat[valid], minlength=arr.shape[0] * k)
    counts = counts.reshape(arr.shape[0], k).astype(np.float64)
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
    return _soft_labels(arr[None], scheme, stacklevel=3)[0]
