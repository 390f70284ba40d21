"""The map as a tiled GeoTIFF, and the latent vectors as a GeoTIFF or an ``.npz``, written row by row.

The map (``xmodal predict --out MAP.tif``) is one GeoTIFF on the output grid (one cell per
stride x stride block of the scene, see :mod:`xmodal.inference.scene`) with the scene's CRS
and the grid's transform, tiled 256 x 256 and deflate-compressed, in two pages (TIFF
directories, which GDAL shows as the subdatasets ``GTIFF_DIR:1:MAP.tif`` and
``GTIFF_DIR:2:MAP.tif``; QGIS offers both as layers):

1. the first page, what opening ``MAP.tif`` shows: one band ``class``, the dominant class of
   the answer, ``0 .. C-1`` in the order of the class names (tags ``CLASS_<k>``), with a colour
   table (the DFC2020 colours of the book's figures);
2. the second page, the layers: ``p(<class>)`` for every class, the class probabilities of the
   answer; with both sensors also ``homogeneity``, eq. (5) between the cell's S1 and S2
   answers, ``sensor (0 S2, 1 S1)``, which sensor the fallback answered from, and
   ``class S2``, ``class S1``, each sensor's own dominant class.

Why two pages: TIFF keeps one data type for all bands of a page and allows a colour table only
on a page of one band. Both pages are ``uint8`` with the nodata value 255 for cells without an
answer; probabilities and homogeneity are stored as ``round(250 x value)`` with the band scale
0.004 (GDAL and rasterio's ``scales`` turn them back into 0..1, to 0.002). :func:`read_map`
reads both pages back as arrays.

Latents (``--latents``): with a ``.tif`` name a float32 GeoTIFF on the same grid with
``D`` bands per modality (``<modality> z000`` ...; NaN where none), written row by row; with
an ``.npz`` name the arrays ``z_<modality>`` ``[rows, cols, D]`` (NaN where none), the
transform and CRS, held in memory until the end (cells x D floats: use ``.tif`` for large scenes).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final

import numpy as np

from xmodal import atomic

from .errors import InferenceError

__all__ = [
    "LATENT_SUFFIXES", "NODATA", "PROB_SCALE", "LatentWriter", "MapWriter", "check_latents_path", "map_band_names",
    "read_map", "write_atomically",
]

#: The map's nodata value (every band).
NODATA: Final[int] = 255
#: Stored value of probability 1 (probabilities are ``round(PROB_SCALE * p)``).
PROB_SCALE: Final[int] = 250
#: Tile side of the GeoTIFFs (a multiple of 16, as GeoTIFF requires).
TILE: Final[int] = 256
#: File suffixes ``--latents`` accepts.
LATENT_SUFFIXES: Final[tuple[str, ...]] = (".tif", ".tiff", ".npz")


def map_band_names(class_names: Sequence[str], both: bool) -> list[str]:
    """Descriptions of the bands of the map's second page (the layers), in order."""
    names = [f"p({c})" for c in class_names]
    if both:
        names += ["homogeneity", "sensor (0 S2, 1 S1)", "class S2", "class S1"]
    return names


def _class_colours(class_names: Sequence[str]) -> dict[int, tuple[int, int, int, int]]:
    """The colour table of the class band: the book's class colours, nodata transparent."""
    from matplotlib.colors import to_rgb

    # The class colours of the book's figures (xmodal.plots moves to xmodal/plots/ with issue 18).
    from xmodal.plots import CLASS_COLORS

    table: dict[int, tuple[int, int, int, int]] = {}
    for k, name in enumerate(class_names):
        r, g, b = (int(round(255 * v)) for v in to_rgb(CLASS_COLORS.get(name, "grey")))
        table[k] = (r, g, b, 255)
    table[NODATA] = (0, 0, 0, 0)
    return table


def _profile(rows: int, cols: int, count: int, dtype: str, transform: Any, crs: Any, nodata: float) -> dict[str, Any]:
    profile: dict[str, Any] = {
        "driver": "GTiff", "height": rows, "width": cols, "count": count, "dtype": dtype, "nodata": nodata,
        "tiled": True, "blockxsize": TILE, "blockysize": TILE, "compress": "deflate", "interleave": "pixel",
    }
    if transform is not None:
        profile["transform"] = transform
    if crs is not None:
        profile["crs"] = crs
    return profile


class _RowBuffer:
    """Rows of a raster collected until a whole row of tiles can be written at once."""

    def __init__(self, dst: Any, cols: int, count: int, dtype: Any, fill: float) -> None:
        self.dst, self.row, self.fill = dst, 0, fill
        self.block = np.full((count, TILE, cols), fill, dtype=dtype)
        self.n = 0

    def add(self, values: np.ndarray) -> None:
        """Append one row ``[count, cols]``; writes a full row of tiles."""
        self.block[:, self.n] = values
        self.n += 1
        if self.n == TILE:
            self.flush()

    def flush(self) -> None:
        """Write the rows collected so far."""
        from rasterio.windows import Window

        if self.n:
            self.dst.write(self.block[:, :self.n], window=Window(0, self.row, self.block.shape[2], self.n))
            self.row += self.n
            self.n = 0
            self.block.fill(self.fill)


class MapWriter:
    """The map GeoTIFF, written one row of cells at a time (see the module docstring).

    The class band goes straight into ``path``; the layers into a temporary file beside it,
    appended to ``path`` as its second page by :meth:`close` (tile row by tile row).

    Args:
        path: the file to write (a temporary name; the caller renames it).
        rows, cols: the output grid.
        transform, crs: the grid's georeferencing (``None`` when the scene has none).
        class_names: the classes.
        both: whether both sensors were given (the homogeneity and sensor bands).
        tags: dataset tags (runs, stride, threshold, ...).
    """

    def __init__(self, path: str | os.PathLike[str], rows: int, cols: int, transform: Any, crs: Any,
                 class_names: Sequence[str], both: bool, tags: Mapping[str, Any]) -> None:
        import rasterio

        self.path, self.rows, self.cols = Path(path), rows, cols
        self.transform, self.crs, self.both = transform, crs, both
        self.class_names = list(class_names)
        self.tags = {**{k: str(v) for k, v in tags.items()},
                     **{f"CLASS_{k}": name for k, name in enumerate(self.class_names)}}
        self.names = map_band_names(class_names, both)
        self.layers_path = atomic.temp_name(self.path)
        self.classes = rasterio.open(self.path, "w", **_profile(rows, cols, 1, "uint8", transform, crs, NODATA))
        self.classes.descriptions = ("class",)
        self.classes.write_colormap(1, _class_colours(class_names))
        self.classes.update_tags(**self.tags)
        self.layers = rasterio.open(self.layers_path, "w",
                                    **_profile(rows, cols, len(self.names), "uint8", transform, crs, NODATA))
        self.class_rows = _RowBuffer(self.classes, cols, 1, np.uint8, NODATA)
        self.layer_rows = _RowBuffer(self.layers, cols, len(self.names), np.uint8, NODATA)

    def add_row(self, answer: np.ndarray, classes: np.ndarray, homogeneity: np.ndarray | None = None,
                source: np.ndarray | None = None, class_s2: np.ndarray | None = None,
                class_s1: np.ndarray | None = None) -> None:
        """Append one row of cells: ``answer [cols, C]`` (NaN where none) and the integer layers (-1: none)."""
        self.class_rows.add(_codes(classes)[None])
        layers = [*_scaled(answer.T)]
        if self.both:
            assert homogeneity is not None and source is not None and class_s2 is not None and class_s1 is not None
            layers += [*_scaled(homogeneity[None]), _codes(source), _codes(class_s2), _codes(class_s1)]
        self.layer_rows.add(np.stack(layers))

    def close(self) -> None:
        """Write the last rows, then append the layers to the file as its second page."""
        import rasterio
        from rasterio.windows import Window

        try:
            self.class_rows.flush()
            self.layer_rows.flush()
            self.classes.close()
            self.layers.close()
            profile = _profile(self.rows, self.cols, len(self.names), "uint8", self.transform, self.crs, NODATA)
            with rasterio.open(self.layers_path) as src, \
                    rasterio.open(self.path, "w", APPEND_SUBDATASET="YES", **profile) as dst:
                dst.descriptions = tuple(self.names)
                dst.scales = tuple([1.0 / PROB_SCALE] * len(self.class_names)
                                   + ([1.0 / PROB_SCALE, 1.0, 1.0, 1.0] if self.both else []))
                dst.update_tags(**self.tags)
                for row in range(0, self.rows, TILE):
                    window = Window(0, row, self.cols, min(TILE, self.rows - row))
                    dst.write(src.read(window=window), window=window)
        finally:
            self.abort()

    def abort(self) -> None:
        """Close the files and remove the temporary layers file (an interrupted prediction)."""
        for ds in (self.classes, self.layers):
            with contextlib.suppress(Exception):
                ds.close()
        self.layers_path.unlink(missing_ok=True)


def read_map(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The map GeoTIFF of :class:`MapWriter` as arrays (probabilities and homogeneity unscaled to 0..1).

    Returns:
        ``{"class": [rows, cols] int16 (-1 where none), "prob": [rows, cols, C] float32 (NaN where
        none), "class_names", "transform", "crs", "tags"}``, and with both sensors ``"homogeneity"``
        (NaN where none), ``"sensor"``, ``"class S2"``, ``"class S1"`` (int16, -1 where none).
    """
    import rasterio

    with rasterio.open(path) as ds:
        codes = ds.read(1)
        tags = ds.tags()
        out: dict[str, Any] = {"class": np.where(codes == NODATA, -1, codes).astype(np.int16),
                               "transform": ds.transform, "crs": ds.crs, "tags": tags}
    names = [tags[f"CLASS_{k}"] for k in range(len(tags)) if f"CLASS_{k}" in tags]
    out["class_names"] = names
    with rasterio.open(f"GTIFF_DIR:2:{os.fspath(path)}") as ds:
        layers = ds.read()
        desc = list(ds.descriptions)
    scaled = np.where(layers == NODATA, np.nan, layers / PROB_SCALE).astype(np.float32)
    out["prob"] = np.moveaxis(scaled[:len(names)], 0, -1)
    for i, name in enumerate(desc[len(names):], start=len(names)):
        if name == "homogeneity":
            out[name] = scaled[i]
        else:
            out[name.split(" (")[0]] = np.where(layers[i] == NODATA, -1, layers[i]).astype(np.int16)
    return out


def _scaled(values: np.ndarray) -> np.ndarray:
    """Values in 0..1 as ``uint8`` ``round(PROB_SCALE * v)``, :data:`NODATA` where NaN."""
    v = np.asarray(values, dtype=np.float64)
    out = np.rint(np.clip(np.nan_to_num(v, nan=0.0), 0.0, 1.0) * PROB_SCALE).astype(np.uint8)
    out[~np.isfinite(v)] = NODATA
    return out


def _codes(values: np.ndarray) -> np.ndarray:
    """Integer codes as ``uint8``, :data:`NODATA` where negative."""
    v = np.asarray(values)
    return np.where(v < 0, NODATA, v).astype(np.uint8)


def check_latents_path(path: str | os.PathLike[str]) -> Path:
    """The ``--latents`` path, or InferenceError for a suffix other than ``.tif`` / ``.npz``."""
    p = Path(path)
    if p.suffix.lower() not in LATENT_SUFFIXES:
        raise InferenceError(f"--latents {p}: give a file ending in .tif (GeoTIFF, written row by row) or .npz")
    return p


class LatentWriter:
    """The latent vectors of every cell, per modality (see the module docstring).

    Args:
        path: the file to write (a temporary name; ``kind`` says its format).
        kind: ``"tif"`` or ``"npz"``.
        rows, cols: the output grid.
        dims: modality -> latent size.
        transform, crs: the grid's georeferencing.
    """

    def __init__(self, path: str | os.PathLike[str], kind: str, rows: int, cols: int, dims: Mapping[str, int],
                 transform: Any, crs: Any) -> None:
        self.path, self.kind, self.dims = Path(path), kind, dict(dims)
        self.transform, self.crs = transform, crs
        names = [f"{m} z{d:03d}" for m, n in self.dims.items() for d in range(n)]
        if kind == "npz":
            self.arrays = {m: np.full((rows, cols, n), np.nan, np.float32) for m, n in self.dims.items()}
            self.row = 0
            return
        import rasterio

        self.dst = rasterio.open(path, "w", **_profile(rows, cols, len(names), "float32", transform, crs, np.nan))
        self.dst.descriptions = tuple(names)
        self.buffer = _RowBuffer(self.dst, cols, len(names), np.float32, np.nan)

    def add_row(self, z: Mapping[str, np.ndarray]) -> None:
        """Append one row: modality -> ``[cols, D]`` (NaN where none)."""
        if self.kind == "npz":
            for m in self.dims:
                self.arrays[m][self.row] = z[m]
            self.row += 1
            return
        self.buffer.add(np.concatenate([z[m].T for m in self.dims]))

    def close(self) -> None:
        """Write what is left and close."""
        if self.kind == "npz":
            # typed Any: numpy's stub reads ``**arrays`` as possibly binding its ``allow_pickle: bool`` keyword
            arrays: dict[str, Any] = {f"z_{m}": a for m, a in self.arrays.items()}
            arrays["modalities"] = np.array(list(self.dims))
            arrays["transform"] = np.array(list(self.transform)[:6] if self.transform is not None else [], np.float64)
            arrays["crs"] = np.array(self.crs.to_wkt() if self.crs is not None else "")
            with open(self.path, "wb") as fh:
                np.savez_compressed(fh, **arrays)
            return
        self.buffer.flush()
        self.dst.close()

    def abort(self) -> None:
        """Close the file without finishing it (an interrupted prediction; the caller removes it)."""
        if self.kind != "npz":
            with contextlib.suppress(Exception):
                self.dst.close()


def write_atomically(targets: Sequence[Path], work: Any, _temporaries: Sequence[Path] = ()) -> Any:
    """Run ``work(temporaries)`` and rename each temporary over its target; on any failure remove them.

    One :func:`xmodal.atomic.write_with` per target, nested, so every output appears complete
    under its name or not at all: an interrupted prediction leaves the previous file (if any)
    and no half-written one.
    """
    if not targets:
        return work(list(_temporaries))
    box: dict[str, Any] = {}

    def inner(tmp: Path) -> None:
        box["value"] = write_atomically(targets[1:], work, (*_temporaries, tmp))

    atomic.write_with(targets[0], inner, fsync=False)
    return box["value"]
