"""Maps as figures: a scene and its truth, and the maps of one or more systems side by side.

Class maps use the DFC2020 class colours of the book's other figures; cells without an
answer are white. Every figure says in its title which data it shows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from xmodal.data.labels import SIMPLE_CLASS_NAMES, simplify

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from xmodal.data.scene import SyntheticScene

__all__ = ["class_image", "maps_figure", "scene_figure"]


def _colours() -> Mapping[str, str]:
    # The class colours of the book's figures (xmodal.plots moves to xmodal/plots/ with issue 18).
    from xmodal.plots import CLASS_COLORS

    return CLASS_COLORS


def class_image(classes: np.ndarray, class_names: Sequence[str]) -> np.ndarray:
    """RGB image ``[rows, cols, 3]`` of a class map (indices into ``class_names``; -1 white)."""
    from matplotlib.colors import to_rgb

    colours = _colours()
    lut = np.ones((len(class_names) + 1, 3))
    for k, name in enumerate(class_names):
        lut[k] = to_rgb(colours.get(name, "grey"))
    idx = np.where(np.asarray(classes) < 0, len(class_names), classes)
    return lut[idx]


def _legend(fig: Figure, class_names: Sequence[str], present: set[str]) -> None:
    from matplotlib.patches import Patch

    colours = _colours()
    handles = [Patch(color=colours.get(n, "grey"), label=n) for n in class_names if n in present]
    fig.legend(handles=handles, loc="outside lower center", ncol=min(len(handles), 10) or 1, fontsize=8,
               frameon=False)


def _stretch(img: np.ndarray, where: np.ndarray | None = None) -> np.ndarray:
    """Scale to 0..1 between the 2nd and 98th percentiles (of the pixels ``where``, e.g. the clear ones)."""
    a = np.nan_to_num(np.asarray(img, dtype=np.float64))
    ref = a[where] if where is not None and where.any() else a
    lo, hi = np.percentile(ref, [2, 98])
    return np.clip((a - lo) / (hi - lo + 1e-9), 0, 1)


def scene_figure(scene: SyntheticScene, class_names: Sequence[str] | None = None) -> Figure:
    """The scene's S2 true colour, its cloud mask, its S1 VV and its true land cover, side by side."""
    import matplotlib.pyplot as plt
    import rasterio
    from matplotlib.colors import ListedColormap

    names = list(class_names or SIMPLE_CLASS_NAMES)
    with rasterio.open(scene.clouds) as ds:
        mask = ds.read(1)
    with rasterio.open(scene.s2) as ds:
        rgb = np.stack([_stretch(ds.read(b), mask == 0) for b in (4, 3, 2)], axis=-1)
    with rasterio.open(scene.s1) as ds:
        vv = ds.read(1)
    truth = simplify(scene.truth())  # 1..10, 0 unknown
    classes = np.array([names.index(SIMPLE_CLASS_NAMES[c - 1]) if c and SIMPLE_CLASS_NAMES[c - 1] in names else -1
                        for c in range(11)])[truth]
    fig, axes = plt.subplots(1, 4, figsize=(13, 4.0), layout="constrained")
    axes[0].imshow(rgb)
    axes[0].set_title("S2 true colour (B04, B03, B02)", fontsize=9)
    codes = ListedColormap(["#1f3b57", "white", "#555555", "#bbbbbb"])  # clear, cloud, shadow, thin cloud
    axes[1].imshow(mask, cmap=codes, vmin=-0.5, vmax=3.5, interpolation="nearest")
    axes[1].set_title("cloud mask (white cloud, grey shadow)", fontsize=9)
    axes[2].imshow(np.clip(vv, -25, 0), cmap="gray")
    axes[2].set_title("S1 VV (dB, -25 to 0)", fontsize=9)
    axes[3].imshow(class_image(classes, names), interpolation="nearest")
    axes[3].set_title("true land cover (white: not a class)", fontsize=9)
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    _legend(fig, names, {names[c] for c in np.unique(classes) if c >= 0})
    fig.suptitle(f"The synthetic scene: {scene.side} x {scene.side} px, {scene.info.get('biome', '')} biome, "
                 f"{scene.cloud_cover:.0%} of S2 under cloud", fontsize=10)
    return fig


def maps_figure(
    rows: Mapping[str, Mapping[str, np.ndarray]],
    class_names: Sequence[str],
    titles: Mapping[tuple[str, str], str] | None = None,
    suptitle: str = "",
) -> Figure:
    """A grid of maps: one row per system, one column per map.

    Args:
        rows: system -> panel title -> a class map ``[rows, cols]`` (int, -1 none) or a
            disagreement map (float 0/1, NaN none; a panel whose title starts with
            ``"disagree"`` is drawn in black and white).
        class_names: the classes of the class maps.
        titles: ``(system, panel)`` -> a second title line (e.g. the panel's score).
        suptitle: the figure's title (which data, which runs).
    """
    import matplotlib.pyplot as plt

    n_rows = len(rows)
    n_cols = max(len(p) for p in rows.values())
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(2.9 * n_cols, 3.3 * n_rows + 0.8), squeeze=False,
                             layout="constrained")
    present: set[str] = set()
    for r, (system, panels) in enumerate(rows.items()):
        for c in range(n_cols):
            ax = axes[r, c]
            ax.set_xticks([])
            ax.set_yticks([])
            if c >= len(panels):
                ax.axis("off")
                continue
            title, arr = list(panels.items())[c]
            if title.startswith("disagree"):
                shown = np.where(np.isnan(arr), 0.5, arr)
                ax.imshow(shown, cmap="Greys", vmin=0, vmax=1, interpolation="nearest")
            else:
                ax.imshow(class_image(arr, class_names), interpolation="nearest")
                present |= {class_names[k] for k in np.unique(arr) if k >= 0}
            extra = (titles or {}).get((system, title))
            ax.set_title(f"{title}" + (f"\n{extra}" if extra else ""), fontsize=8)
            if c == 0:
                ax.set_ylabel(system, fontsize=9)
    _legend(fig, class_names, present)
    if suptitle:
        fig.suptitle(suptitle, fontsize=9)
    return fig


def score_line(score: Any) -> str:
    """``acc 0.73 [0.70, 0.76]`` for a :class:`~xmodal.inference.score.MapScore`."""
    a = score.accuracy
    return f"acc {a.estimate:.2f} [{a.low:.2f}, {a.high:.2f}]"
