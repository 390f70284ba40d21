"""Bands, modalities, clipping and normalisation statistics.

A *modality* is a named choice of bands from one sensor file:

=======  ======  ===========================================================
name     sensor  bands
=======  ======  ===========================================================
s1       s1      VV, VH (sigma0 in dB)
s2       s2      B02 B03 B04 B05 B06 B07 B08 B8A B11 B12 (the 10 bands of the
                 official SEN12MS classification code: no 60 m bands)
s2all    s2      all 13 bands B01 ... B12
rgb      s2      B04 B03 B02 (a camera-like third modality for experiments
                 with more than two modalities)
=======  ======  ===========================================================

Pre-processing, as is common practice for SEN12MS: S1 NaNs are replaced by the
clip floor and values clipped to [-25, 0] dB; S2 reflectances clipped to
[0, 10000]. Then every band is z-scored. ``normalization="sen12ms"`` uses the
per-band statistics published with the official SEN12MS classification code
(below); the three 60 m bands B01, B09, B10 have no published statistics, so for
them the statistics are computed on the training split (recorded per band in
``stats["source"]``). ``normalization="dataset"`` computes all statistics on the
training split of the root at hand (never on the test split).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np

__all__ = [
    "S1_BANDS",
    "S2_BANDS",
    "LC_BANDS",
    "SENSOR_BANDS",
    "SENSOR_DTYPES",
    "CLIP",
    "ModalitySpec",
    "MODALITIES",
    "PUBLISHED_STATS",
    "modality_color",
    "modality_label",
    "modality_spec",
]

S1_BANDS: Final[tuple[str, ...]] = ("VV", "VH")
S2_BANDS: Final[tuple[str, ...]] = (
    "B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B10", "B11", "B12",
)
LC_BANDS: Final[tuple[str, ...]] = ("IGBP", "LCCS-LC", "LCCS-LU", "LCCS-SH")
SENSOR_BANDS: Final[dict[str, tuple[str, ...]]] = {"s1": S1_BANDS, "s2": S2_BANDS, "lc": LC_BANDS}
#: Data type each sensor's files must have.
SENSOR_DTYPES: Final[dict[str, str]] = {"s1": "float32", "s2": "uint16", "lc": "uint16"}
#: Clipping range per sensor (dB for S1, reflectance x 10000 for S2).
CLIP: Final[dict[str, tuple[float, float]]] = {"s1": (-25.0, 0.0), "s2": (0.0, 10000.0)}

#: Per-band (mean, std) published with the official SEN12MS classification code.
PUBLISHED_STATS: Final[dict[str, tuple[float, float]]] = {
    "VV": (-11.769, 4.525), "VH": (-18.295, 4.359),
    "B02": (1226.4, 741.6), "B03": (1137.4, 740.9), "B04": (1139.7, 960.1),
    "B05": (1351.0, 946.8), "B06": (1932.9, 985.5), "B07": (2211.2, 1082.4),
    "B08": (2155.0, 1057.8), "B8A": (2409.1, 1136.2), "B11": (2001.9, 1132.8),
    "B12": (1356.1, 991.5),
}


@dataclass(frozen=True)
class ModalitySpec:
    """A modality: which sensor file and which of its bands, and how figures show it.

    Attributes:
        name: the modality's name in configs and results (``s1``, ``s2``, ...).
        sensor: the sensor file it reads (``s1`` or ``s2``).
        bands: its bands, in the order fed to the network.
        label: short display name (``S1``), for legends, axes and tables.
        long_label: long display name (``Sentinel-1``), for titles.
        color: display colour (a matplotlib / plotly colour).
        views: how a patch of it is shown: (title, bands of the sensor file) per image;
            one band is drawn in grey, three as an RGB composite.
    """

    name: str
    sensor: str
    bands: tuple[str, ...]
    label: str = ""
    long_label: str = ""
    color: str = "grey"
    views: tuple[tuple[str, tuple[str, ...]], ...] = ()

    @property
    def band_index(self) -> list[int]:
        """Indices of :attr:`bands` in the sensor file (0-based)."""
        all_bands = SENSOR_BANDS[self.sensor]
        return [all_bands.index(b) for b in self.bands]

    @property
    def in_channels(self) -> int:
        """Number of input channels (bands)."""
        return len(self.bands)


_TRUE_COLOUR: Final[tuple[str, tuple[str, ...]]] = ("true colour", ("B04", "B03", "B02"))
_FALSE_COLOUR: Final[tuple[str, tuple[str, ...]]] = ("false colour (NIR)", ("B08", "B04", "B03"))

#: The modalities, in display order (Sentinel-1 blue, Sentinel-2 red: the paper's colours).
MODALITIES: Final[dict[str, ModalitySpec]] = {
    "s1": ModalitySpec("s1", "s1", S1_BANDS, "S1", "Sentinel-1", "#1f77b4",
                       (("VV (dB)", ("VV",)), ("VH (dB)", ("VH",)))),
    "s2": ModalitySpec("s2", "s2", ("B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B11", "B12"),
                       "S2", "Sentinel-2", "#d62728", (_TRUE_COLOUR, _FALSE_COLOUR)),
    "s2all": ModalitySpec("s2all", "s2", S2_BANDS, "S2 (13 bands)", "Sentinel-2 (13 bands)", "#ff7f0e",
                          (_TRUE_COLOUR, _FALSE_COLOUR)),
    "rgb": ModalitySpec("rgb", "s2", ("B04", "B03", "B02"), "RGB", "RGB", "#2ca02c", (_TRUE_COLOUR,)),
}


#: The colour composite that shows a patch of each sensor file at a glance: its caption and
#: the three channels (a band, or ``"A-B"`` for the difference of two bands): S1 as the common
#: false colour (VV, VH, VV - VH), S2 as true colour.
DISPLAY_COMPOSITES: Final[dict[str, tuple[str, tuple[str, str, str]]]] = {
    "s1": ("S1 false colour: VV, VH, VV−VH", ("VV", "VH", "VV-VH")),
    "s2": ("S2 true colour: B04, B03, B02", ("B04", "B03", "B02")),
}


def composite_channels(x: np.ndarray, band_names: Sequence[str], sensor: str) -> np.ndarray:
    """The ``[H, W, 3]`` channels of :data:`DISPLAY_COMPOSITES` for ``x`` ``[C, H, W]`` (not stretched).

    A band missing from ``band_names`` falls back to the nearest available one, so a
    modality with fewer bands (e.g. ``rgb``) still shows.
    """
    names = [str(b).upper() for b in band_names]

    def band(name: str, position: int) -> np.ndarray:
        if "-" in name:
            a, b = name.split("-")
            return band(a, position) - band(b, position)
        return x[names.index(name)] if name in names else x[min(position, len(names) - 1)]

    return np.stack([band(c, i) for i, c in enumerate(DISPLAY_COMPOSITES[sensor][1])], axis=-1)


def modality_spec(name: str) -> ModalitySpec:
    """The :class:`ModalitySpec` of ``name``; ValueError listing the valid names otherwise."""
    try:
        return MODALITIES[name]
    except KeyError:
        raise ValueError(f"Unknown modality {name!r}; choose one of {sorted(MODALITIES)}") from None


def modality_label(name: str, long: bool = False) -> str:
    """Display name of a modality (``"s1"`` -> ``"S1"``, long: ``"Sentinel-1"``); unknown names as given."""
    spec = MODALITIES.get(name)
    if spec is None:
        return name
    return (spec.long_label if long else spec.label) or name


def modality_color(name: str) -> str:
    """Display colour of a modality (grey for an unknown name)."""
    spec = MODALITIES.get(name)
    return spec.color if spec is not None else "grey"


def clean(sensor: str, arr: np.ndarray) -> np.ndarray:
    """NaN handling and clipping of raw sensor values (float32 out).

    S1: NaN -> clip floor (-25 dB, i.e. "no backscatter"), clip to [-25, 0].
    S2: clip to [0, 10000].
    """
    lo, hi = CLIP[sensor]
    out = np.asarray(arr, dtype=np.float32)
    if sensor == "s1":
        out = np.nan_to_num(out, nan=lo, posinf=hi, neginf=lo)
    return np.clip(out, lo, hi)
