"""The data drawn: aligned patches, soft labels, class frequencies and the synthetic data's signatures.

Patches are read through the data layer (:func:`xmodal.data.layout.read_patch`) and
shown as each sensor's :attr:`~xmodal.data.normalize.ModalitySpec.views` say; tables come
from :mod:`xmodal.report.data_tables`; the synthetic signatures from the generator's parameters.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

# The display order of sensors and the soft-label table (the report layer's).
from xmodal.analysis.tidy import sensor_order
from xmodal.data.normalize import S2_BANDS, SENSOR_BANDS, clean, modality_spec
from xmodal.metrics import F1_THRESHOLD
from xmodal.report.data_tables import soft_label_table

from .core import CLASS_COLORS

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

__all__ = ["class_frequency_figure", "patch_gallery", "signature_figure", "soft_label_example"]


def _stretch(img: np.ndarray, lo: float = 2, hi: float = 98) -> np.ndarray:
    a = np.nan_to_num(img.astype(np.float64))
    p0, p1 = np.percentile(a, [lo, hi])
    return np.clip((a - p0) / (p1 - p0 + 1e-9), 0, 1)


def _lc_rgb(lc: np.ndarray) -> np.ndarray:
    """Simplified land-cover map (from the IGBP band) as an RGB image."""
    from matplotlib.colors import to_rgb

    from xmodal.data.labels import SIMPLE_CLASS_NAMES, simplify

    simple = simplify(lc[0] if lc.ndim == 3 else lc)
    lut = np.zeros((len(SIMPLE_CLASS_NAMES) + 1, 3))
    for i, name in enumerate(SIMPLE_CLASS_NAMES, start=1):
        lut[i] = to_rgb(CLASS_COLORS[name])
    return lut[simple]


def patch_gallery(root: str | os.PathLike[str], ids: Sequence[str], sensors: Sequence[str],
                  source: str | None = None) -> Figure:
    """The patches ``ids`` seen by each of ``sensors``, and their land-cover map, one row per patch.

    Each sensor is shown as its :attr:`~xmodal.data.normalize.ModalitySpec.views` say (S1: VV
    and VH in dB; S2: true colour B04-B03-B02 and false colour B08-B04-B03), from the raw
    GeoTIFFs read through :func:`xmodal.data.layout.read_patch`.

    Raises:
        ValueError: an unknown sensor or patch id (the message names it).
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    from xmodal.data.labels import SIMPLE_CLASS_NAMES, simplify
    from xmodal.data.layout import LAND_COVER, read_patch

    specs = [modality_spec(s) for s in sensor_order(sensors)]
    cols = [f"{spec.label} {title}" for spec in specs for title, _ in spec.views] + ["land cover"]
    fig, axes = plt.subplots(len(ids), len(cols), figsize=(2.2 * len(cols), 2.2 * len(ids)), squeeze=False)
    present: set[str] = set()
    for r, pid in enumerate(ids):
        files: dict[str, np.ndarray] = {}
        imgs = []
        for spec in specs:
            if spec.sensor not in files:
                files[spec.sensor] = read_patch(root, pid, spec.sensor)
            arr = files[spec.sensor]
            for _, bands in spec.views:
                idx = [SENSOR_BANDS[spec.sensor].index(b) for b in bands]
                imgs.append(clean(spec.sensor, arr[idx[0]]) if len(idx) == 1
                            else _stretch(np.stack([arr[i].astype(np.float64) for i in idx], -1)))
        lc = read_patch(root, pid, LAND_COVER)
        imgs.append(_lc_rgb(lc))
        present |= {SIMPLE_CLASS_NAMES[c - 1] for c in np.unique(simplify(lc[0])) if c > 0}
        for c, img in enumerate(imgs):
            ax = axes[r, c]
            ax.imshow(img, cmap="gray" if img.ndim == 2 else None, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(cols[c], fontsize=9)
        axes[r, 0].set_ylabel(pid.replace("ROIs", "").replace("_", " "), fontsize=7)
    handles = [Patch(color=CLASS_COLORS[n], label=n) for n in SIMPLE_CLASS_NAMES if n in present]
    fig.legend(handles=handles, loc="lower center", ncol=min(6, max(len(handles), 1)), fontsize=8)
    fig.suptitle("Aligned patches" + (f" — {source}" if source else ""), fontsize=9)
    fig.tight_layout(rect=(0, 0.06, 1, 0.97))
    return fig


def soft_label_example(root: str | os.PathLike[str], patch_id: str,
                       scheme: str = "dfc9") -> tuple[Figure, pd.DataFrame]:
    """How one land-cover map becomes a soft label.

    The map, its class histogram, and the classes that count as present for F1 (share
    above the threshold).

    Returns:
        ``(figure, table)``: the table is :func:`xmodal.report.data_tables.soft_label_table`
        (one row per class with its pixel count, share and whether it counts for F1).
    """
    import matplotlib.pyplot as plt

    from xmodal.data.layout import LAND_COVER, read_patch

    lc = read_patch(root, patch_id, LAND_COVER)
    table = soft_label_table(lc, scheme)
    names = list(table["class"])
    fig, (a0, a1) = plt.subplots(1, 2, figsize=(8.5, 3.2), gridspec_kw={"width_ratios": [1, 1.6]})
    a0.imshow(_lc_rgb(lc), interpolation="nearest")
    a0.set_title(f"IGBP map of {patch_id}\n(simplified classes)", fontsize=8)
    a0.set_xticks([])
    a0.set_yticks([])
    a1.bar(names, table["soft label"], color=[CLASS_COLORS[n] for n in names], edgecolor="black")
    a1.axhline(F1_THRESHOLD, color="black", ls=":", lw=1)
    a1.text(len(names) - 0.5, F1_THRESHOLD + 0.01, f"F1 threshold {F1_THRESHOLD:g}", ha="right", fontsize=7)
    a1.set_ylabel("share of pixels = soft label")
    a1.set_ylim(0, 1)
    a1.tick_params(axis="x", rotation=45, labelsize=8)
    a1.set_title(f"soft label ({scheme})", fontsize=8)
    fig.tight_layout()
    return fig, table


def class_frequency_figure(table: pd.DataFrame, title: str = "") -> Figure:
    """Class frequencies of :func:`xmodal.report.data_tables.class_frequency_table`.

    One bar per column (present in a patch, counts for F1, mean share of pixels) and class.
    """
    import matplotlib.pyplot as plt

    names = list(table["class"])
    columns = [c for c in table.columns if c != "class"]
    x = np.arange(len(names))
    fig, ax = plt.subplots(figsize=(7.5, 3.4))
    w = 0.81 / max(len(columns), 1)
    colors = ("#9ecae1", "#3182bd", "#08519c")
    for j, col in enumerate(columns):
        color = colors[j % len(colors)]
        ax.bar(x + (j - (len(columns) - 1) / 2) * w, table[col], w, label=col, color=color)
    ax.set_xticks(x, names, rotation=45, fontsize=8)
    ax.set_ylabel("fraction of patches / pixels")
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return fig


def signature_figure(params: Any) -> Figure:
    """The synthetic data's class signatures.

    S2 mean reflectance per band and S1 mean backscatter (VV against VH, with the texture
    standard deviation), as the generator's parameters give them.
    """
    import matplotlib.pyplot as plt

    sig = params.signature_table()
    bs = params.backscatter_table()
    fig, (a0, a1) = plt.subplots(1, 2, figsize=(11, 3.8), gridspec_kw={"width_ratios": [1.6, 1]})
    for row in sig:
        name = row["class"]
        a0.plot(S2_BANDS, [row[b] for b in S2_BANDS], marker="o", ms=3, color=CLASS_COLORS.get(name, "grey"),
                label=name, path_effects=None)
    a0.set_ylabel("reflectance × 10000")
    a0.set_title("Sentinel-2 class signatures", fontsize=9)
    a0.tick_params(axis="x", labelsize=7)
    a0.legend(fontsize=7, ncol=2)
    a0.grid(alpha=0.3)
    for row in bs:
        name = row["class"]
        a1.errorbar(row["VV"], row["VH"], xerr=row["texture_sd"], yerr=row["texture_sd"], fmt="o",
                    color=CLASS_COLORS.get(name, "grey"), mec="black", label=name)
        a1.annotate(name, (row["VV"], row["VH"]), fontsize=7, xytext=(3, 3), textcoords="offset points")
    a1.set_xlabel("VV (dB)")
    a1.set_ylabel("VH (dB)")
    a1.set_title("Sentinel-1 class backscatter (± texture s.d.)", fontsize=9)
    a1.grid(alpha=0.3)
    fig.tight_layout()
    return fig
