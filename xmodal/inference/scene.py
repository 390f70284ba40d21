"""A land-cover map of a whole scene from either sensor: :func:`predict_scene`.

The scene is read in horizontal strips one patch tall (rasterio windows, never the whole
image) and classified patch by patch at the run's patch size, the patches placed every
``stride`` pixels. **The output grid has one cell per stride x stride block of the scene**
(the map is written at block resolution: its transform is the scene's scaled by the
stride), and a cell's answer is the mean of the class probabilities of every patch that
covers it (``(footprint / stride)^2`` patches inside the scene). The stride must divide the
patch footprint, so that every patch covers whole cells; the default is half a patch, the
overlap SEN12MS itself is cut with. The last ``height % stride`` rows and ``width % stride``
columns of the scene, less than one cell, are not mapped.

Missing data is never classified: a patch is classified only when at most
:data:`MAX_PATCH_MISSING` of its pixels are missing (those few are filled as the training
data's NaNs were, see :meth:`~xmodal.inference.model.Model.prepare`), and a cell gets no
answer from a sensor when more than :data:`MAX_CELL_MISSING` of its own pixels are missing
there or no classified patch covers it. Cells without an answer hold the nodata value.

With both sensors, every cell also gets the homogeneity of the two answers (eq. 5 per cell,
:func:`xmodal.metrics.histogram_intersection`) and the answer of the fallback policy
(:mod:`xmodal.inference.fallback`): S2 where the cell is clear, S1 where its cloud cover
(from the cloud mask) reaches the threshold, S1 where S2 has no data.

Memory: the strips, a rolling buffer of ``footprint / stride`` rows of cells and one row of
tiles of the output; it grows with the scene's width, not with its area. The arrays of
the returned :class:`SceneMap` (cell resolution) are kept only when asked (by default when no
output file is written).
"""

from __future__ import annotations

import contextlib
import math
import os
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np

from xmodal.data.clouds import CLOUDY_CODES
from xmodal.data.normalize import modality_label
from xmodal.metrics import histogram_intersection
from xmodal.rundir import RunDir

from .errors import InferenceError, InferenceWarning
from .fallback import FALLBACK_THRESHOLD, NO_ANSWER, SOURCE_CODES, cell_fallback, check_threshold
from .model import Model, load_models
from .raster import Frame, Raster, align, open_raster
from .writer import LatentWriter, MapWriter, check_latents_path, write_atomically

__all__ = [
    "DEFAULT_BATCH_SIZE", "MAX_CELL_MISSING", "MAX_PATCH_MISSING", "Grid", "SceneMap", "make_grid", "predict_scene",
]

#: Patches per forward pass.
DEFAULT_BATCH_SIZE: Final[int] = 64
#: Largest share of missing pixels of a patch that is still classified (its missing pixels filled).
MAX_PATCH_MISSING: Final[float] = 0.1
#: Largest share of missing pixels of a cell that still gets an answer.
MAX_CELL_MISSING: Final[float] = 0.5
#: Patches from which ``progress=None`` shows a progress bar.
PROGRESS_MIN_PATCHES: Final[int] = 5000
#: Relative difference of pixel size (scene against training data) from which a warning is given.
PIXEL_SIZE_TOLERANCE: Final[float] = 0.25


@dataclass(frozen=True)
class Grid:
    """The patches and the output cells of a scene.

    Attributes:
        height, width: the scene (the inputs' overlap) in pixels.
        footprint: side of a patch in scene pixels (the run's stored patch size).
        stride: pixels between two patches, and the side of an output cell.
    """

    height: int
    width: int
    footprint: int
    stride: int

    @property
    def k(self) -> int:
        """Cells along a patch's side (``footprint / stride``)."""
        return self.footprint // self.stride

    @property
    def rows(self) -> int:
        """Rows of output cells."""
        return self.height // self.stride

    @property
    def cols(self) -> int:
        """Columns of output cells."""
        return self.width // self.stride

    @property
    def patch_rows(self) -> int:
        """Rows of patches (patch ``(i, j)`` starts at pixel ``(i * stride, j * stride)``)."""
        return (self.height - self.footprint) // self.stride + 1

    @property
    def patch_cols(self) -> int:
        """Columns of patches."""
        return (self.width - self.footprint) // self.stride + 1

    @property
    def n_patches(self) -> int:
        """Patches per sensor."""
        return self.patch_rows * self.patch_cols


def make_grid(frame: Frame, footprint: int, stride: int | None, names: str) -> Grid:
    """The grid of a scene, with the run's footprint and the user's stride (default: half a patch).

    Raises:
        InferenceError: a stride that does not divide the footprint, or a scene smaller than one patch.
    """
    if stride is None:
        stride = max(footprint // 2, 1)
    if isinstance(stride, bool) or not isinstance(stride, (int, np.integer)) or not 1 <= stride <= footprint \
            or footprint % stride:
        valid = [d for d in range(1, footprint + 1) if footprint % d == 0]
        raise InferenceError(f"stride {stride!r}: it must divide the run's patch footprint of {footprint} px "
                             f"(one of {valid[-6:]}); an output cell is stride x stride pixels")
    if frame.height < footprint or frame.width < footprint:
        raise InferenceError(f"{names}: {frame.height} x {frame.width} pixels is smaller than one patch of the model "
                             f"({footprint} x {footprint} pixels)")
    return Grid(frame.height, frame.width, footprint, int(stride))


@dataclass
class SceneMap:
    """The map of a scene: what :func:`predict_scene` returns.

    Arrays are on the output grid (``[rows, cols]``, one cell per stride x stride block);
    they are ``None`` when not kept (``keep=False``, the default when a file is written).

    Attributes:
        class_names: the classes.
        modalities: the modalities that were predicted.
        runs: modality -> the run folder that answered for it.
        stride, footprint: the grid's stride and the patch footprint, in scene pixels.
        rows, cols: the output grid.
        transform, crs: the output grid's georeferencing (``None`` without).
        threshold: the fallback's cloud threshold (with both sensors).
        prob: modality -> class probabilities ``[rows, cols, C]`` (NaN where none).
        answer: the map's answer ``[rows, cols, C]``: the fallback's with both sensors, else the sensor's.
        classes: dominant class of :attr:`answer` ``[rows, cols]`` (-1 where none).
        source: the sensor of each cell's answer (0 S2, 1 S1, -1 none).
        homogeneity: eq. (5) per cell between the S1 and S2 answers (NaN where either is missing).
        cover: each cell's cloud cover (``None`` without a cloud mask).
        latents: modality -> latent vectors ``[rows, cols, D]`` (only with ``latents=``).
        path, latents_path: the files written (``None`` when not written).
        n_patches: patches classified (all modalities).
        seconds: wall time of the prediction.
    """

    class_names: list[str]
    modalities: list[str]
    runs: dict[str, str]
    stride: int
    footprint: int
    rows: int
    cols: int
    transform: Any = None
    crs: Any = None
    threshold: float | None = None
    prob: dict[str, np.ndarray] | None = None
    answer: np.ndarray | None = None
    classes: np.ndarray | None = None
    source: np.ndarray | None = None
    homogeneity: np.ndarray | None = None
    cover: np.ndarray | None = None
    latents: dict[str, np.ndarray] | None = None
    path: Path | None = None
    latents_path: Path | None = None
    n_patches: int = 0
    seconds: float = 0.0
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def patches_per_second(self) -> float:
        """Patches classified per second of wall time."""
        return self.n_patches / self.seconds if self.seconds > 0 else math.nan

    def class_map(self, modality: str | None = None) -> np.ndarray:
        """Dominant class per cell ``[rows, cols]`` (-1 where none): of ``modality``'s answer, or of the map's."""
        if modality is None:
            if self.classes is None:
                raise InferenceError("the map's arrays were not kept: call predict_scene(..., keep=True)")
            return self.classes
        if self.prob is None:
            raise InferenceError("the map's arrays were not kept: call predict_scene(..., keep=True)")
        return _argmax(self.prob[modality])

    def disagreement(self, a: str = "s1", b: str = "s2") -> np.ndarray:
        """Per cell: 1.0 where the dominant classes of ``a`` and ``b`` differ, 0.0 where they agree, else NaN."""
        ca, cb = self.class_map(a), self.class_map(b)
        out = (ca != cb).astype(np.float32)
        out[(ca < 0) | (cb < 0)] = np.nan
        return out

    def summary(self) -> str:
        """One line: the grid, the patches and their speed, where the answers came from."""
        where = f" to {self.path}" if self.path is not None else ""
        parts = [f"{self.rows} x {self.cols} cells of {self.stride} px{where}",
                 f"{self.n_patches} patches in {self.seconds:.1f} s ({self.patches_per_second:.0f} patches/s)"]
        total = self.rows * self.cols
        if total and self.counts:
            parts.append(", ".join(f"{k} {v / total:.0%}" for k, v in self.counts.items()) + " of the cells")
        return "; ".join(parts)


def _argmax(prob: np.ndarray) -> np.ndarray:
    """Dominant class of ``[..., C]`` probabilities, -1 where NaN."""
    has = np.isfinite(prob).all(axis=-1)
    return np.where(has, np.argmax(np.nan_to_num(prob, nan=-1.0), axis=-1), NO_ANSWER).astype(np.int16)


def _window_share(flags: np.ndarray, footprint: int, stride: int, n: int) -> np.ndarray:
    """Share of flagged pixels of each of ``n`` patches along a strip ``[footprint, width]`` of flags."""
    cs = np.concatenate([[0], np.cumsum(flags.sum(axis=0, dtype=np.int64))])
    starts = np.arange(n) * stride
    return (cs[starts + footprint] - cs[starts]) / float(footprint * footprint)


def _patches(strip: np.ndarray, footprint: int, stride: int) -> np.ndarray:
    """View ``[n, ..., footprint, footprint]`` of the patches of a strip ``[..., footprint, width]`` (no copy)."""
    view = np.lib.stride_tricks.sliding_window_view(strip, footprint, axis=-1)[..., ::stride, :]
    return np.moveaxis(view, -2, 0)


def predict_scene(
    runs: str | os.PathLike[str] | RunDir | Model | Sequence[str | os.PathLike[str] | RunDir | Model],
    s1: str | os.PathLike[str] | np.ndarray | None = None,
    s2: str | os.PathLike[str] | np.ndarray | None = None,
    clouds: str | os.PathLike[str] | np.ndarray | None = None,
    out: str | os.PathLike[str] | None = None,
    *,
    stride: int | None = None,
    cloud_threshold: float = FALLBACK_THRESHOLD,
    latents: str | os.PathLike[str] | bool | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    device: str = "cpu",
    threads: int | None = None,
    transform: Any = None,
    crs: Any = None,
    nodata: float | None = None,
    progress: bool | None = None,
    keep: bool | None = None,
    derive_record: bool = False,
) -> SceneMap:
    """Classify a scene with a trained run (or several) from S1, S2 or both: the map, in one call.

    Args:
        runs: a finished run folder, or several whose sensors make one system (e.g. the
            S1 and the S2 Baseline): each sensor's model is the first run that has it. A
            :class:`~xmodal.inference.model.Model` already loaded may stand for its folder.
        s1: Sentinel-1 image: a GeoTIFF path or an array ``[2, H, W]``, VV and VH backscatter
            sigma0 in dB as in SEN12MS (an image in linear power gets a warning).
        s2: Sentinel-2 image: a GeoTIFF path or an array ``[bands, H, W]``, reflectance x 10000,
            the 13 SEN12MS bands B01..B12 (with B8A) or exactly the model's bands in its order.
        clouds: the S2 cloud mask on the S2 grid (codes 0 clear, 1 cloud, 2 shadow, 3 thin cloud).
        out: the map GeoTIFF to write (atomically; see :mod:`xmodal.inference.writer`), or ``None``.
        stride: pixels between patches and side of an output cell; must divide the footprint
            (default: half of it).
        cloud_threshold: with both sensors, a cell at least this cloudy is answered from S1.
        latents: also write the latent vectors to this ``.tif`` or ``.npz`` file; ``True``
            keeps them in the result only.
        batch_size: patches per forward pass.
        device: torch device.
        threads: torch threads while predicting (``None``: torch's default, all cores; on a busy
            machine one thread can be many times faster than several competing for the cores).
        transform, crs, nodata: georeferencing and nodata value of array inputs.
        progress: a progress bar (``None``: when the scene has more than
            :data:`PROGRESS_MIN_PATCHES` patches).
        keep: keep the arrays in the result (``None``: when ``out`` is ``None`` or ``latents`` is ``True``).
        derive_record: use a run folder without ``model.json`` by deriving its record from its
            ``result.json`` (see :meth:`~xmodal.inference.model.Model.load`).

    Returns:
        The :class:`SceneMap`.

    Raises:
        InferenceError: an unusable run folder or bad input, naming the file and what is wrong.

    Warns:
        InferenceWarning: S1 that looks like linear power, S2 that looks like reflectance in
            0..1, or a pixel size far from the training data's.
    """
    t0 = time.perf_counter()
    models = load_models(runs, device, derive_record=derive_record)
    given = {s: v for s, v in (("s2", s2), ("s1", s1)) if v is not None}  # S2 first: the grid of reference
    if not given:
        raise InferenceError("give an S1 image, an S2 image or both (--s1, --s2)")
    used = {m: model for m, model in models.items() if model.input(m).sensor in given}
    for sensor in given:
        if not any(model.input(m).sensor == sensor for m, model in used.items()):
            takes = ", ".join(sorted({modality_label(model.input(m).sensor) for m, model in models.items()}))
            raise InferenceError(f"the run(s) {', '.join(sorted({str(x.run.path) for x in models.values()}))} have no "
                                 f"{modality_label(sensor)} model (they take {takes}): leave out the "
                                 f"{modality_label(sensor)} image")
    threshold = check_threshold(cloud_threshold)
    if not isinstance(batch_size, int) or batch_size < 1:
        raise InferenceError(f"batch size {batch_size!r}: give a positive number of patches per forward pass")
    out_path = None if out is None else Path(out)
    lat_path = None if latents is None or isinstance(latents, bool) else check_latents_path(latents)
    keep = (out_path is None or latents is True) if keep is None else keep
    for target in (out_path, lat_path):
        if target is not None and any(isinstance(v, (str, os.PathLike)) and Path(v).resolve() == target.resolve()
                                      for v in (s1, s2, clouds)):
            raise InferenceError(f"{target} is one of the inputs: write the map to another file")
    with contextlib.ExitStack() as stack:
        images: dict[str, Raster] = {}
        for sensor, source in given.items():
            images[sensor] = open_raster(source, sensor, transform=transform, crs=crs, nodata=nodata)
            stack.callback(images[sensor].close)
        mask = None
        if clouds is not None:
            mask = open_raster(clouds, "clouds", transform=transform, crs=crs)
            stack.callback(mask.close)
        band_maps = {m: images[model.input(m).sensor].band_map(model.input(m), str(model.run.path))
                     for m, model in used.items()}
        frame = align(images, mask)
        first = next(iter(used.values()))
        names = " and ".join(r.name for r in images.values())
        where = names if len(images) == 1 else f"the overlap of {names}"
        grid = make_grid(frame, first.record.footprint, stride, where)
        _check_pixel_size(frame, first, names)
        job = _Job(used, images, mask, band_maps, frame, grid, threshold, batch_size, keep,
                   want_latents=latents is not None and latents is not False,
                   latents_kind="npz" if lat_path is not None and lat_path.suffix.lower() == ".npz" else "tif")
        show = grid.n_patches * len(used) > PROGRESS_MIN_PATCHES if progress is None else progress
        targets = [p for p in (out_path, lat_path) if p is not None]

        def work(temporaries: list[Path]) -> SceneMap:
            tmp = dict(zip([p for p in (out_path, lat_path) if p is not None], temporaries, strict=True))
            return job.run(tmp.get(out_path) if out_path else None, tmp.get(lat_path) if lat_path else None, show)

        if threads is not None:
            stack.enter_context(_torch_threads(threads))
        result = write_atomically(targets, work)
    result.path, result.latents_path = out_path, lat_path
    result.seconds = time.perf_counter() - t0
    return result


@contextlib.contextmanager
def _torch_threads(threads: int) -> Any:
    """Run with ``threads`` torch threads, then restore the previous number."""
    import torch

    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise InferenceError(f"threads {threads!r}: give a positive number of torch threads")
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _check_pixel_size(frame: Frame, model: Model, names: str) -> None:
    """Warn when the scene's pixels are far from the training images' (both in metres)."""
    expected = model.record.pixel_size_m
    if expected is None or frame.transform is None or frame.crs is None or not frame.crs.is_projected:
        return
    try:
        factor = float(frame.crs.linear_units_factor[1])
    except Exception:  # pragma: no cover - CRS without linear units
        return
    size = abs(frame.transform.a) * factor
    if abs(size - expected) > PIXEL_SIZE_TOLERANCE * expected:
        warnings.warn(f"{names}: pixels of {size:g} m, but the run {model.run.path} was trained on {expected:g} m "
                      "pixels; a patch then covers another area than in training: resample the scene first",
                      InferenceWarning, stacklevel=3)


class _Job:
    """One prediction: strips in, rows of cells out (see the module docstring)."""

    def __init__(self, models: Mapping[str, Model], images: Mapping[str, Raster], mask: Raster | None,
                 band_maps: Mapping[str, list[int]], frame: Frame, grid: Grid, threshold: float, batch_size: int,
                 keep: bool, want_latents: bool, latents_kind: str = "tif") -> None:
        self.models, self.images, self.mask = dict(models), dict(images), mask
        self.band_maps, self.frame, self.grid = dict(band_maps), frame, grid
        self.threshold, self.batch_size, self.keep, self.want_latents = threshold, batch_size, keep, want_latents
        self.latents_kind = latents_kind
        self.modalities = list(self.models)
        self.sensor_of = {m: model.input(m).sensor for m, model in self.models.items()}
        # each sensor's own modality answers for it (``s2`` before ``rgb``), the fallback pairs them
        self.primary: dict[str, str] = {}
        for m in sorted(self.modalities, key=lambda m: m != self.sensor_of[m]):
            self.primary.setdefault(self.sensor_of[m], m)
        self.both = {"s1", "s2"} <= set(self.primary)
        self.class_names = next(iter(self.models.values())).class_names
        k, cols, n_cls = grid.k, grid.cols, len(self.class_names)
        self.psum = {m: np.zeros((k, cols, n_cls)) for m in self.modalities}
        self.count = {m: np.zeros((k, cols), np.int64) for m in self.modalities}
        self.dims = {m: int(self.models[m].net.latent_dim) for m in self.modalities}  # type: ignore[arg-type]
        self.zsum = {m: np.zeros((k, cols, self.dims[m])) for m in self.modalities} if want_latents else {}
        self.missing = {s: np.zeros((k, cols)) for s in self.images}
        self.csum = np.zeros((k, cols))
        self.ccount = np.zeros((k, cols))
        self.n_patches = 0
        self.counts = {"S2": 0, "S1": 0, "no answer": 0} if self.both else {}

    # --- the result -------------------------------------------------------------------
    def _result(self) -> SceneMap:
        g = self.grid
        rows, cols, n_cls = g.rows, g.cols, len(self.class_names)
        t = self.frame.transform
        res = SceneMap(self.class_names, self.modalities, {m: str(x.run.path) for m, x in self.models.items()},
                       g.stride, g.footprint, rows, cols, None if t is None else t @ type(t).scale(g.stride),
                       self.frame.crs, self.threshold if self.both else None)
        if self.keep:
            res.prob = {m: np.full((rows, cols, n_cls), np.nan, np.float32) for m in self.modalities}
            res.answer = np.full((rows, cols, n_cls), np.nan, np.float32)
            res.classes = np.full((rows, cols), NO_ANSWER, np.int16)
            res.source = np.full((rows, cols), NO_ANSWER, np.int8)
            res.homogeneity = np.full((rows, cols), np.nan, np.float32) if self.both else None
            res.cover = np.zeros((rows, cols), np.float32) if self.mask is not None else None
            if self.want_latents:
                res.latents = {m: np.full((rows, cols, d), np.nan, np.float32) for m, d in self.dims.items()}
        return res

    def run(self, map_tmp: Path | None, latents_tmp: Path | None, show: bool) -> SceneMap:
        """Classify every strip and write (and keep) every row of cells."""
        from tqdm import tqdm  # not tqdm.auto: no widget (and no warning) in a notebook

        g = self.grid
        res = self._result()
        tags = {"XMODAL_RUNS": "; ".join(f"{m}: {p}" for m, p in res.runs.items()), "XMODAL_STRIDE": g.stride,
                "XMODAL_FOOTPRINT": g.footprint, "XMODAL_GRID": "one cell per stride x stride block of the scene",
                "XMODAL_CLOUD_THRESHOLD": self.threshold if self.both else "",
                "XMODAL_INPUTS": "; ".join(f"{s}: {r.name}" for s, r in self.images.items())
                + (f"; clouds: {self.mask.name}" if self.mask is not None else "")}
        writers: list[Any] = []
        try:
            mw = None if map_tmp is None else MapWriter(map_tmp, g.rows, g.cols, res.transform, res.crs,
                                                         self.class_names, self.both, tags)
            if mw is not None:
                writers.append(mw)
            lw = None if latents_tmp is None else LatentWriter(latents_tmp, self.latents_kind, g.rows, g.cols,
                                                                self.dims, res.transform, res.crs)
            if lw is not None:
                writers.append(lw)
            bar = tqdm(total=g.patch_rows, unit="row", desc="predict", disable=not show, leave=False)
            for i in range(g.patch_rows):
                last = i == g.patch_rows - 1
                finished = range(i, i + g.k) if last else range(i, i + 1)
                self._strip(i, finished)
                for row in finished:
                    self._finish(row, res, mw, lw)
                bar.update(1)
            bar.close()
            for w in writers:
                w.close()
            writers.clear()
        finally:
            for w in writers:  # an interrupted prediction: close what is open (the caller removes the files)
                w.abort()
        res.n_patches, res.counts = self.n_patches, dict(self.counts)
        return res

    # --- one strip of patches ---------------------------------------------------------------
    def _strip(self, i: int, finished: range) -> None:
        g, k, s_, p_ = self.grid, self.grid.k, self.grid.stride, self.grid.footprint
        width = g.cols * s_
        for sensor, image in self.images.items():
            r0, c0 = self.frame.offsets[image.name]
            win = image.read(r0 + i * s_, c0, p_, width)
            miss = image.missing(win)
            image.check_units(win, miss)
            for a, row in enumerate(finished):  # the cells whose own pixels this strip holds last
                self.missing[sensor][row % k] = miss[a * s_:(a + 1) * s_].reshape(s_, g.cols, s_).mean(axis=(0, 2))
            share = _window_share(miss, p_, s_, g.patch_cols)
            ok = np.flatnonzero(share <= MAX_PATCH_MISSING)
            if not ok.size:
                continue
            miss_patches = _patches(miss, p_, s_)
            for m in (m for m in self.modalities if self.sensor_of[m] == sensor):
                patches = _patches(win[self.band_maps[m]], p_, s_)
                for start in range(0, ok.size, self.batch_size):
                    j = ok[start:start + self.batch_size]
                    invalid = miss_patches[j] if share[j].any() else None
                    model = self.models[m]
                    prob, z = model.classify(m, model.prepare(m, patches[j], invalid))
                    self._add(m, i, j, prob, z)
                    self.n_patches += j.size
        if self.mask is not None:
            r0, c0 = self.frame.offsets[self.mask.name]
            cells = self.mask.read(r0 + i * s_, c0, p_, width)[0]
            self.mask.check_mask(cells)
            cover = _window_share(np.isin(cells, CLOUDY_CODES), p_, s_, g.patch_cols)
            for a in range(k):
                for b in range(k):
                    self.csum[(i + a) % k, b:b + g.patch_cols] += cover
                    self.ccount[(i + a) % k, b:b + g.patch_cols] += 1

    def _add(self, m: str, i: int, j: np.ndarray, prob: np.ndarray, z: np.ndarray) -> None:
        """Add the answers of patches ``(i, j)`` to the cells they cover."""
        k = self.grid.k
        for a in range(k):
            for b in range(k):
                self.psum[m][(i + a) % k, j + b] += prob
                self.count[m][(i + a) % k, j + b] += 1
                if self.want_latents:
                    self.zsum[m][(i + a) % k, j + b] += z

    # --- one finished row of cells --------------------------------------------------------------
    def _finish(self, row: int, res: SceneMap, mw: MapWriter | None, lw: LatentWriter | None) -> None:
        q = row % self.grid.k
        prob: dict[str, np.ndarray] = {}
        zrow: dict[str, np.ndarray] = {}
        for m in self.modalities:
            n = self.count[m][q]
            has = (n > 0) & (self.missing[self.sensor_of[m]][q] <= MAX_CELL_MISSING)
            p = np.full(self.psum[m][q].shape, np.nan)
            p[has] = self.psum[m][q][has] / n[has, None]
            prob[m] = p
            if self.want_latents:
                z = np.full(self.zsum[m][q].shape, np.nan)
                z[has] = self.zsum[m][q][has] / n[has, None]
                zrow[m] = z
        cover = self.csum[q] / np.maximum(self.ccount[q], 1) if self.mask is not None else np.zeros(self.grid.cols)
        hom = source = cls_s2 = cls_s1 = None
        if self.both:
            opt, rad = prob[self.primary["s2"]], prob[self.primary["s1"]]
            answer, source = cell_fallback(opt, rad, cover, self.threshold)
            both = np.isfinite(opt).all(axis=1) & np.isfinite(rad).all(axis=1)
            hom = np.full(len(opt), np.nan)
            if both.any():
                hom[both] = histogram_intersection(opt[both], rad[both])
            cls_s2, cls_s1 = _argmax(opt), _argmax(rad)
            self.counts["S2"] += int((source == SOURCE_CODES["s2"]).sum())
            self.counts["S1"] += int((source == SOURCE_CODES["s1"]).sum())
            self.counts["no answer"] += int((source == NO_ANSWER).sum())
        else:
            sensor, m = next(iter(self.primary.items()))
            answer = prob[m]
            source = np.where(np.isfinite(answer).all(axis=1), SOURCE_CODES[sensor], NO_ANSWER).astype(np.int8)
        classes = _argmax(answer)
        if mw is not None:
            mw.add_row(answer, classes, hom, source, cls_s2, cls_s1)
        if lw is not None:
            lw.add_row(zrow)
        if self.keep:
            assert res.prob is not None and res.answer is not None and res.classes is not None
            assert res.source is not None
            for m in self.modalities:
                res.prob[m][row] = prob[m]
            res.answer[row], res.classes[row], res.source[row] = answer, classes, source
            if res.homogeneity is not None and hom is not None:
                res.homogeneity[row] = hom
            if res.cover is not None:
                res.cover[row] = cover
            if res.latents is not None:
                for m in self.modalities:
                    res.latents[m][row] = zrow[m]
        for m in self.modalities:
            self.psum[m][q] = 0.0
            self.count[m][q] = 0
            if self.want_latents:
                self.zsum[m][q] = 0.0
        self.csum[q] = 0.0
        self.ccount[q] = 0.0

