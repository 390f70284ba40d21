"""The images a scene is classified from: opened, checked, aligned and read in windows.

An input is a GeoTIFF (read window by window with rasterio, never whole) or an array in
memory (``[bands, height, width]``; a cloud mask may be ``[height, width]``).

What is accepted, exactly:

* **S1**: backscatter sigma0 in dB as SEN12MS stores it, bands VV, VH; **S2**: reflectance
  x 10000, either the 13 bands B01 B02 B03 B04 B05 B06 B07 B08 B8A B09 B10 B11 B12 as SEN12MS
  stores them, or exactly the model's own bands in the model's order (for the default S2
  model the 10 bands B02..B08, B8A, B11, B12). When every band of a file is described by a
  band name (as SEN12MS-like files are), the bands are picked by name instead, in any order.
* **Grids**: S1 and S2 need the same CRS and pixel size, north-up, and pixel-aligned origins
  (their offset a whole number of pixels); they may cover different extents, and the map
  covers their overlap. Without georeferencing (arrays without a transform) the images must
  have the same shape. Anything else is refused with the file named: reproject or resample
  first (e.g. ``gdalwarp -tap``).
* **Cloud mask**: one band on the S2 image's grid, pixel for pixel (same shape, same transform),
  with the codes of :mod:`xmodal.data.clouds`: 0 clear, 1 cloud, 2 cloud shadow, 3 thin cloud
  (a binary 0/1 mask is valid); cover counts codes 1 and 3.
* **No data**: a pixel is missing when any band is NaN or infinite, or when every band holds the
  file's nodata value (``nodata=`` for arrays), as GDAL's dataset mask reads it (a single band at
  0, e.g. a dark S2 cirrus band, is data).
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from xmodal.data.clouds import MASK_CODES
from xmodal.data.normalize import SENSOR_BANDS, modality_label
from xmodal.rundir import ModelInput

from .errors import InferenceError, InferenceWarning

__all__ = ["Frame", "Raster", "align", "open_raster"]

#: Tolerance (pixels) on the alignment of two grids.
ALIGN_TOLERANCE_PX = 1e-3
#: Share of positive S1 values from which the image looks like linear power, not dB.
LINEAR_POWER_SHARE = 0.9
#: Largest S2 value below which the image looks like reflectance in 0..1, not x 10000.
UNIT_REFLECTANCE_MAX = 2.0


@dataclass
class Raster:
    """One input image (a GeoTIFF read in windows, or an array).

    Attributes:
        name: the file, or ``<s1 array>`` for an array.
        role: ``s1``, ``s2`` or ``clouds``.
        height, width, count: its size and band count.
        transform: its affine transform (``None``: not georeferenced).
        crs: its CRS (``None``: unknown).
        nodata: the value that marks a missing pixel (``None``: only NaN).
        descriptions: the band descriptions (``None`` where unset).
    """

    name: str
    role: str
    height: int
    width: int
    count: int
    transform: Any = None
    crs: Any = None
    nodata: float | None = None
    descriptions: tuple[str | None, ...] = ()
    _dataset: Any = None
    _array: np.ndarray | None = None
    _checked_units: bool = False

    def read(self, row: int, col: int, height: int, width: int) -> np.ndarray:
        """The window ``[count, height, width]`` at ``(row, col)`` of this image (native dtype)."""
        if self._array is not None:
            return self._array[:, row:row + height, col:col + width]
        from rasterio.windows import Window

        return self._dataset.read(window=Window(col, row, width, height))

    def missing(self, window: np.ndarray) -> np.ndarray:
        """``[h, w]`` bool: the pixels of a window that hold no data (NaN or infinite in a band, nodata in all)."""
        bad = np.zeros(window.shape[1:], dtype=bool)
        if window.dtype.kind == "f":
            bad |= ~np.isfinite(window).all(axis=0)
        if self.nodata is not None and not (isinstance(self.nodata, float) and math.isnan(self.nodata)):
            bad |= (window == self.nodata).all(axis=0)
        return bad

    def close(self) -> None:
        """Close the file (arrays: nothing)."""
        if self._dataset is not None:
            self._dataset.close()
            self._dataset = None

    # --- checks -----------------------------------------------------------------------
    def band_map(self, spec: ModelInput, run: str) -> list[int]:
        """Indices of the model's bands (:attr:`ModelInput.bands`) among this image's bands.

        Raises:
            InferenceError: the band count (or the band names) do not match, naming the file and the run.
        """
        names = [str(d).strip().upper() if d else "" for d in self.descriptions]
        known = set(SENSOR_BANDS[spec.sensor])
        if names and len(names) == self.count and all(n in known for n in names):
            missing = [b for b in spec.bands if b not in names]
            if missing:
                raise InferenceError(f"{self.name}: the bands {names} lack {missing}, which the "
                                     f"{modality_label(spec.modality)} model of {run} takes")
            return [names.index(b) for b in spec.bands]
        if self.count == len(spec.file_bands):
            return spec.band_index
        if self.count == len(spec.bands):
            return list(range(self.count))
        own = "" if len(spec.bands) == len(spec.file_bands) else (
            f", or its own {len(spec.bands)} ({' '.join(spec.bands)}) in that order")
        raise InferenceError(
            f"{self.name}: {self.count} band(s), but the {modality_label(spec.modality)} model of {run} takes the "
            f"{len(spec.file_bands)} {spec.sensor.upper()} bands of SEN12MS ({' '.join(spec.file_bands)}){own}")

    def check_units(self, window: np.ndarray, missing: np.ndarray) -> None:
        """Warn once when an S1 image looks like linear power or an S2 image like reflectance in 0..1."""
        if self._checked_units or self.role not in ("s1", "s2"):
            return
        values = window[:, ~missing]
        if values.size < 100:
            return
        self._checked_units = True
        if self.role == "s1":
            share = float((values > 0).mean())
            if share >= LINEAR_POWER_SHARE:
                warnings.warn(
                    f"{self.name}: {share:.0%} of the S1 values are positive (median {float(np.median(values)):.3g}): "
                    "this looks like linear power, not backscatter in dB; SEN12MS stores sigma0 in dB (mostly "
                    "-25 to 0), so convert with 10 * log10(x) first", InferenceWarning, stacklevel=4)
        elif float(values.max()) <= UNIT_REFLECTANCE_MAX:
            warnings.warn(
                f"{self.name}: every S2 value is at most {float(values.max()):.3g}: this looks like reflectance in "
                "0..1; SEN12MS stores reflectance x 10000, so multiply by 10000 first", InferenceWarning,
                stacklevel=4)

    def check_mask(self, window: np.ndarray) -> None:
        """Raise when a cloud-mask window holds a value that is not a mask code."""
        bad = np.setdiff1d(np.unique(window), list(MASK_CODES))
        if bad.size:
            raise InferenceError(
                f"{self.name}: cloud-mask values {bad[:5].tolist()} are not mask codes "
                f"({', '.join(f'{k} {v}' for k, v in MASK_CODES.items())}; a 0/1 mask is valid)")


def open_raster(source: Any, role: str, *, transform: Any = None, crs: Any = None,
                nodata: float | None = None) -> Raster:
    """Open one input: a GeoTIFF path or an array.

    Args:
        source: a file path, or an array ``[bands, height, width]`` (a mask also ``[height, width]``).
        role: ``s1``, ``s2`` or ``clouds``.
        transform, crs, nodata: georeferencing and nodata value of an array (ignored for files,
            which carry their own).

    Raises:
        InferenceError: the file cannot be opened, or the array has the wrong shape.
    """
    if isinstance(source, np.ndarray):
        arr = source[None] if source.ndim == 2 and role == "clouds" else source
        if arr.ndim != 3:
            raise InferenceError(f"<{role} array>: shape {source.shape}; an image is [bands, height, width]"
                                 + (" (a mask may be [height, width])" if role == "clouds" else ""))
        return Raster(f"<{role} array>", role, int(arr.shape[1]), int(arr.shape[2]), int(arr.shape[0]),
                      transform, crs, nodata, (), None, arr)
    path = os.fspath(source)
    if not os.path.isfile(path):
        raise InferenceError(f"{path}: no such file (the {_role_label(role)} image)")
    import rasterio
    from rasterio.errors import RasterioIOError

    try:
        ds = rasterio.open(path)
    except RasterioIOError as exc:
        raise InferenceError(f"{path}: not a raster image GDAL can read ({str(exc).splitlines()[0]})") from None
    georef = ds.crs is not None or not ds.transform.is_identity
    return Raster(path, role, ds.height, ds.width, ds.count, ds.transform if georef else None, ds.crs, ds.nodata,
                  tuple(ds.descriptions), ds)


def _role_label(role: str) -> str:
    return "cloud mask" if role == "clouds" else modality_label(role)


@dataclass(frozen=True)
class Frame:
    """The common extent of the inputs: the image the map is made of.

    Attributes:
        height, width: its size in pixels.
        transform: the affine transform of its upper-left pixel (``None``: not georeferenced).
        crs: its CRS (``None``: unknown).
        offsets: input name -> ``(row, col)`` of the frame's upper-left pixel in that input.
    """

    height: int
    width: int
    transform: Any
    crs: Any
    offsets: Mapping[str, tuple[int, int]]


def align(images: Mapping[str, Raster], mask: Raster | None = None) -> Frame:
    """The overlap of the sensor images, and where it lies in each of them (and in the mask).

    Raises:
        InferenceError: different CRS, pixel sizes or a rotated grid, origins that are not
            pixel-aligned, no overlap, different shapes without georeferencing, or a mask that is
            not on the S2 image's grid (each naming the files).
    """
    rasters = list(images.values())
    ref = rasters[0]
    geo = all(r.transform is not None for r in rasters)
    offsets: dict[str, tuple[int, int]] = {}
    if not geo or len(rasters) == 1:
        for r in rasters[1:]:
            if (r.height, r.width) != (ref.height, ref.width):
                raise InferenceError(
                    f"{r.name} is {r.height} x {r.width} pixels and {ref.name} {ref.height} x {ref.width}, and "
                    "without georeferencing (a transform) both must cover the same grid")
        offsets = {r.name: (0, 0) for r in rasters}
        frame = Frame(ref.height, ref.width, ref.transform if geo else None, ref.crs, offsets)
    else:
        frame = _overlap(rasters)
    if mask is not None:
        s2 = images.get("s2")
        if s2 is None:
            raise InferenceError(f"{mask.name}: a cloud mask describes an S2 image, but none was given (--s2)")
        if mask.count != 1 or (mask.height, mask.width) != (s2.height, s2.width):
            raise InferenceError(
                f"{mask.name}: a cloud mask of {mask.count} band(s) and {mask.height} x {mask.width} pixels, but "
                f"the S2 image {s2.name} is {s2.height} x {s2.width}: the mask must be one band on the S2 grid, "
                "pixel for pixel")
        if mask.transform is not None and s2.transform is not None and not mask.transform.almost_equals(
                s2.transform, precision=ALIGN_TOLERANCE_PX * abs(s2.transform.a)):
            raise InferenceError(f"{mask.name}: its transform differs from that of the S2 image {s2.name}: the mask "
                                 "must be on the S2 grid, pixel for pixel")
        frame = Frame(frame.height, frame.width, frame.transform, frame.crs,
                      {**frame.offsets, mask.name: frame.offsets[s2.name]})
    return frame


def _overlap(rasters: list[Raster]) -> Frame:
    """The pixel-aligned overlap of georeferenced images."""
    ref = rasters[0]
    t0 = ref.transform
    if t0.b != 0 or t0.d != 0:
        raise InferenceError(f"{ref.name}: a rotated grid is not supported; warp it north-up first")
    rows0, cols0, rows1, cols1 = [], [], [], []
    for r in rasters:
        t = r.transform
        if r.crs != ref.crs:
            raise InferenceError(f"{r.name} and {ref.name} have different CRS ({r.crs} and {ref.crs}); reproject one "
                                 "onto the other's grid (e.g. gdalwarp -t_srs ... -tr ... -tap)")
        same_size = math.isclose(t.a, t0.a, rel_tol=1e-6) and math.isclose(t.e, t0.e, rel_tol=1e-6)
        if t.b != 0 or t.d != 0 or not same_size:
            raise InferenceError(f"{r.name} has pixels of {t.a:g} x {-t.e:g} and {ref.name} of {t0.a:g} x {-t0.e:g} "
                                 "(CRS units, north-up): resample one onto the other's grid first")
        dc, dr = (t.c - t0.c) / t0.a + 0.0, (t.f - t0.f) / t0.e + 0.0  # + 0.0: no "-0.000" in messages
        if abs(dc - round(dc)) > ALIGN_TOLERANCE_PX or abs(dr - round(dr)) > ALIGN_TOLERANCE_PX:
            raise InferenceError(f"{r.name} is shifted by ({dr:.3f}, {dc:.3f}) pixels against {ref.name}: the grids "
                                 "must be pixel-aligned (e.g. gdalwarp -tap)")
        rows0.append(round(dr))
        cols0.append(round(dc))
        rows1.append(round(dr) + r.height)
        cols1.append(round(dc) + r.width)
    top, left, bottom, right = max(rows0), max(cols0), min(rows1), min(cols1)
    names = " and ".join(r.name for r in rasters)
    if bottom <= top or right <= left:
        raise InferenceError(f"{names} do not overlap (same CRS {ref.crs}, disjoint extents)")
    offsets = {r.name: (top - r0, left - c0) for r, r0, c0 in zip(rasters, rows0, cols0, strict=True)}
    return Frame(bottom - top, right - left, t0 @ type(t0).translation(left, top), ref.crs, offsets)
