"""The packed cache: GeoTIFFs decoded once into memory-mapped arrays.

Reading a GeoTIFF costs milliseconds; indexing a memory-mapped ``.npy`` array
costs microseconds. On first use the files of one season are decoded once,
checked (band count, data type, size, NaNs, partners) and packed into::

    <cache_dir>/<season folder>/<patch size>/
        manifest.json   source files (size, mtime), keys, bounds, problems found,
                        codes outside IGBP 1..17 per patch
        s1.npy          float16 [N, 2, P, P]    cleaned sigma0 in dB
        s2.npy          uint16  [N, 13, P, P]   clipped reflectance x 10000
        lc.npy          float32 [N, 11]         pixel counts of simplified classes 0..10
                                                (0: pixels holding no IGBP code)

``P`` is the stored size or the requested ``patch_size`` (area averaging).
Later datasets and runs open the arrays with ``mmap_mode="r"``. Before each use
the source folders are stat-scanned; a changed, added or removed file
invalidates the cache and it is rebuilt (with a log message). The cache is built
in a temporary folder and renamed into place under a file lock, so parallel
runs neither corrupt nor duplicate it.

Problems found while decoding (corrupt file, wrong band count, IGBP values
above 255, ...) do not stop the build: they are recorded in the manifest with
the file at fault, and the dataset then raises them (``bad_patch="raise"``) or
skips those patches and reports them (``bad_patch="skip"``). The cache records
facts, not policy: the codes outside IGBP 1..17 of each patch are stored with
their pixel counts, and every dataset built on the cache (with or without
``cache=True`` for the images) applies
:data:`~xmodal.data.labels.INVALID_CODE_MAX_SHARE` to them anew, so a cache hit
warns and skips exactly as the build did.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import shutil
import tempfile
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from .errors import (
    AllNaNError,
    BandCountError,
    CorruptFileError,
    DTypeError,
    PatchSizeError,
    RootError,
    Sen12MSError,
)
from .labels import IGBP_MAX_VALUE, CodeCounts, check_label_codes, label_codes
from .layout import SENSORS, PatchKey, parse_patch_filename, patch_path, season_folder
from .normalize import SENSOR_BANDS, SENSOR_DTYPES, clean

__all__ = ["PackedCache", "Problem", "scan_season", "decode_patch", "CACHE_VERSION"]

log = logging.getLogger(__name__)

#: Bump when the cache format changes (old caches are rebuilt). 2: invalid IGBP codes and problem files.
CACHE_VERSION = 2
_STORE_DTYPES = {"s1": np.float16, "s2": np.uint16, "lc": np.float32}


class Problem(NamedTuple):
    """Why a patch failed a check while the cache was built."""

    #: Name of the :class:`~xmodal.data.errors.Sen12MSError` subclass, e.g. ``"CorruptFileError"``.
    error: str
    #: The error message (it names the file).
    message: str
    #: The file at fault (for a missing partner: the missing file).
    file: str


def scan_season(root: Path, season: str) -> dict[str, dict[PatchKey, tuple[str, int, int]]]:
    """Stat-scan the S1, S2 and LC folders of a season.

    Returns:
        sensor -> {key: (path relative to root, size, mtime_ns)}.

    Raises:
        RootError: root missing, not a folder, without the season folder, or with
            no patch files in it.
    """
    root = Path(root)
    sf = season_folder(season)
    layout = f"{root}/{sf}/s2_<scene>/{sf}_s2_<scene>_p<patch>.tif (and the same for s1, lc)"
    if not root.exists():
        raise RootError(f"SEN12MS root not found: {root} (expected the official layout {layout})")
    if not root.is_dir():
        raise RootError(f"SEN12MS root is not a folder: {root}")
    sdir = root / sf
    if not sdir.is_dir():
        present = sorted(p.name for p in root.iterdir() if p.is_dir() and p.name.startswith("ROIs"))
        raise RootError(
            f"{root} has no folder {sf} for season {season!r} (found {present or 'no season folders'}); "
            f"expected the official layout {layout}"
        )
    found: dict[str, dict[PatchKey, tuple[str, int, int]]] = {s: {} for s in SENSORS}
    with os.scandir(sdir) as scenes:
        for scene in scenes:
            if not scene.is_dir():
                continue
            with os.scandir(scene.path) as files:
                for f in files:
                    parsed = parse_patch_filename(f.name)
                    if parsed is None:
                        continue
                    key, sensor = parsed
                    st = f.stat()
                    found[sensor][key] = (f"{sf}/{scene.name}/{f.name}", st.st_size, st.st_mtime_ns)
    if not any(found.values()):
        raise RootError(f"No SEN12MS patch files under {sdir} (expected {layout})")
    return found


def _downsample(arr: np.ndarray, size: int) -> np.ndarray:
    """Area-average ``arr`` [C, H, W] to ``size`` x ``size`` (integer factor) or interpolate."""
    c, h, w = arr.shape
    if h == size and w == size:
        return arr
    if h % size == 0 and w % size == 0:
        return arr.reshape(c, size, h // size, size, w // size).mean(axis=(2, 4))
    import torch
    import torch.nn.functional as F

    t = torch.from_numpy(np.ascontiguousarray(arr, dtype=np.float32))[None]
    return F.interpolate(t, size=(size, size), mode="bilinear", antialias=True, align_corners=False)[0].numpy()


def decode_patch(path: Path, sensor: str) -> tuple[np.ndarray, tuple[float, float, float, float]]:
    """Read and check one GeoTIFF of ``sensor``.

    Returns:
        the raw array [bands, H, W] and the bounds (left, bottom, right, top).

    Raises:
        CorruptFileError, BandCountError, DTypeError, AllNaNError: naming ``path``;
        LabelCodeError: an LC file whose IGBP band holds values above 255 (the
            share of codes 0 and 18..255 is checked by the callers, see
            :data:`~xmodal.data.labels.INVALID_CODE_MAX_SHARE`).
    """
    import rasterio
    from rasterio.errors import RasterioError

    expected_bands = len(SENSOR_BANDS[sensor])
    try:
        with rasterio.open(path) as src:
            if src.count != expected_bands:
                raise BandCountError(
                    f"{path}: {src.count} bands, expected {expected_bands} for {sensor.upper()} "
                    f"({', '.join(SENSOR_BANDS[sensor])})"
                )
            if src.dtypes[0] != SENSOR_DTYPES[sensor]:
                raise DTypeError(
                    f"{path}: data type {src.dtypes[0]}, expected {SENSOR_DTYPES[sensor]} for {sensor.upper()}"
                )
            arr = src.read()
            b = src.bounds
            bounds = (float(b.left), float(b.bottom), float(b.right), float(b.top))
    except Sen12MSError:
        raise
    except (RasterioError, OSError, ValueError) as exc:
        raise CorruptFileError(f"{path}: cannot be read as a GeoTIFF ({exc})") from None
    if sensor == "s1" and np.isnan(arr).all():
        raise AllNaNError(f"{path}: every Sentinel-1 pixel is NaN")
    if sensor == "lc" and arr.size and int(arr[0].max()) > IGBP_MAX_VALUE:
        check_label_codes(label_codes(arr[0]), path, max_share=1.0)  # raises for the values above 255 only
    return arr, bounds


@dataclass
class _Decoded:
    arrays: dict[str, np.ndarray]
    bounds: tuple[float, float, float, float]
    size: tuple[int, int]
    codes: CodeCounts


class PackedCache:
    """Memory-mapped arrays of one season of a SEN12MS root (see module docstring).

    Args:
        root: the SEN12MS root.
        season: season name.
        patch_size: stored side length (None = as in the files).
        cache_dir: where caches live (default ``<root>/.xmodal_cache``).
        progress: show a progress bar while decoding.
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        season: str = "winter",
        patch_size: int | None = None,
        cache_dir: str | os.PathLike[str] | None = None,
        progress: bool = True,
    ) -> None:
        self.root = Path(root)
        self.season = season
        self.patch_size = patch_size
        base = Path(cache_dir) if cache_dir is not None else self.root / ".xmodal_cache"
        self.dir = base / season_folder(season) / (str(patch_size) if patch_size else "native")
        self.progress = progress
        self.rebuilt = False
        self._open()

    # -- public -------------------------------------------------------------
    @property
    def keys(self) -> list[PatchKey]:
        """Keys of all patches with all three files present, sorted by (scene, patch)."""
        return self._keys

    def array(self, sensor: str) -> np.ndarray:
        """The memory-mapped array of ``sensor``; key ``keys[i]`` is row ``rows[i]``."""
        return self._arrays[sensor]

    @property
    def problems(self) -> dict[str, Problem]:
        """Patch id -> :class:`Problem` (error class name, message, file) for patches that failed a check."""
        return self._problems

    @property
    def invalid_codes(self) -> dict[str, dict[int, int]]:
        """Patch id -> {code: pixels} of the values outside IGBP 1..17, for the packed patches holding any.

        Their share of each patch is ``array("lc")[row, 0] / array("lc")[row].sum()``.
        """
        return self._invalid_codes

    @property
    def on_disk(self) -> frozenset[PatchKey]:
        """Every patch with at least one file in the season folder (good, bad or incomplete)."""
        return self._on_disk

    @property
    def bounds(self) -> np.ndarray:
        """[N, 4] bounds (left, bottom, right, top) of each patch in its CRS."""
        return self._bounds

    # -- building -----------------------------------------------------------
    def _open(self) -> None:
        scan = scan_season(self.root, self.season)
        self._on_disk = frozenset().union(*[set(scan[s]) for s in SENSORS])
        sources = {s: {k.id: list(v) for k, v in scan[s].items()} for s in SENSORS}
        with self._lock():
            manifest = self._read_manifest()
            if manifest is None or manifest.get("sources") != sources or manifest.get("version") != CACHE_VERSION:
                if manifest is not None:
                    log.warning("SEN12MS cache %s is out of date (source files changed); rebuilding", self.dir)
                self._build(scan, sources)
                self.rebuilt = True
                manifest = self._read_manifest()
                assert manifest is not None
        self._load(manifest)

    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        try:
            self.dir.parent.mkdir(parents=True, exist_ok=True)
            lock = open(self.dir.parent / f".{self.dir.name}.lock", "w")
        except OSError as exc:
            raise RootError(
                f"Cannot write the packed cache under {self.dir.parent} ({exc}); "
                "pass cache_dir= (config key 'cache_dir') pointing at a writable folder"
            ) from None
        with lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _read_manifest(self) -> dict[str, Any] | None:
        try:
            return json.loads((self.dir / "manifest.json").read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return None

    def _build(
        self,
        scan: dict[str, dict[PatchKey, tuple[str, int, int]]],
        sources: dict[str, Any],
        ref_size: tuple[int, int] | None = None,
    ) -> None:
        """Decode, check and pack every patch of the scan into the cache folder.

        Args:
            scan: the stat scan of :func:`scan_season`.
            sources: its JSON form, recorded in the manifest.
            ref_size: the size every patch must have; None takes the size of the
                first readable patch and, if most patches turn out to have another
                size, packs again against that one (so a single odd patch is the
                one reported, whatever its position).
        """
        from tqdm.auto import tqdm

        all_keys = sorted(set().union(*[set(scan[s]) for s in SENSORS]), key=lambda k: (k.scene, k.patch))
        problems: dict[str, Problem] = {}
        complete: list[PatchKey] = []
        for key in all_keys:
            missing = [s for s in SENSORS if key not in scan[s]]
            if missing:
                have = next(s for s in SENSORS if key in scan[s])
                paths = ", ".join(str(patch_path(self.root, key, s)) for s in missing)
                problems[key.id] = Problem(
                    "MissingFileError",
                    f"{patch_path(self.root, key, have)} has no partner file(s): {paths}",
                    str(patch_path(self.root, key, missing[0])),
                )
            else:
                complete.append(key)

        def work(key: PatchKey) -> _Decoded | Problem:
            arrays: dict[str, np.ndarray] = {}
            bounds = (0.0, 0.0, 0.0, 0.0)
            path = self.root
            try:
                for sensor in SENSORS:
                    path = self.root / scan[sensor][key][0]
                    arrays[sensor], b = decode_patch(path, sensor)
                    if sensor == SENSORS[0]:
                        bounds = b
                shapes = {s: tuple(a.shape[1:]) for s, a in arrays.items()}
                if len(set(shapes.values())) > 1:
                    # name the file whose size no partner shares (the first one if all differ)
                    odd = next(s for s in SENSORS if list(shapes.values()).count(shapes[s]) == 1)
                    others = ", ".join(f"{shapes[s][0]}x{shapes[s][1]} ({s.upper()})" for s in SENSORS if s != odd)
                    path = self.root / scan[odd][key][0]
                    raise PatchSizeError(
                        f"{path}: {shapes[odd][0]}x{shapes[odd][1]} pixels, but its partner files are {others}"
                    )
            except Sen12MSError as exc:
                return Problem(type(exc).__name__, str(exc), str(path))
            codes = label_codes(arrays["lc"][0])
            return _Decoded(arrays, bounds, shapes["s2"], codes)

        side = self.patch_size
        tmp = Path(tempfile.mkdtemp(prefix=f".{self.dir.name}-", dir=self.dir.parent))
        try:
            n = len(complete)
            mm: dict[str, np.memmap] = {}
            nan_frac = np.zeros(n, dtype=np.float32)
            rows: list[int] = []
            good: list[PatchKey] = []
            bounds: list[tuple[float, float, float, float]] = []
            ref: tuple[int, int] | None = ref_size
            sizes: list[tuple[int, int]] = []  # size of every readable patch, in decoding order
            invalid: dict[str, dict[int, int]] = {}
            # decoded patches are written as they arrive: memory stays flat on the full release
            with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
                it = pool.map(work, complete)
                for i, (key, r) in enumerate(tqdm(zip(complete, it, strict=True), total=n, disable=not self.progress,
                                                  desc=f"Packing {season_folder(self.season)} GeoTIFFs", unit="patch")):
                    if isinstance(r, Problem):
                        problems[key.id] = r
                        continue
                    sizes.append(r.size)
                    if ref is None:
                        ref = r.size
                    if r.size == ref and not mm:
                        side = side or ref[0]
                        if side > ref[0]:
                            raise Sen12MSError(f"patch_size={side} is larger than the stored patches ({ref[0]} px)")
                        shapes = {"s1": (n, 2, side, side), "s2": (n, 13, side, side), "lc": (n, 11)}
                        mm = {s: np.lib.format.open_memmap(tmp / f"{s}.npy", mode="w+", dtype=_STORE_DTYPES[s],
                                                           shape=shapes[s]) for s in SENSORS}
                    if r.size != ref:
                        problems[key.id] = Problem(
                            "PatchSizeError",
                            f"{self.root / scan['s2'][key][0]}: {r.size[0]}x{r.size[1]} pixels, "
                            f"but the other patches of this root are {ref[0]}x{ref[1]}",
                            str(self.root / scan["s2"][key][0]),
                        )
                        continue
                    assert side is not None  # fixed above, when the arrays were created
                    s1 = r.arrays["s1"]
                    nan_frac[i] = float(np.isnan(s1).mean())
                    mm["s1"][i] = _downsample(clean("s1", s1), side)
                    mm["s2"][i] = np.rint(_downsample(clean("s2", r.arrays["s2"]), side)).astype(np.uint16)
                    mm["lc"][i] = r.codes.counts
                    if r.codes.invalid:
                        invalid[key.id] = r.codes.invalid
                    rows.append(i)
                    good.append(key)
                    bounds.append(r.bounds)
            common = Counter(sizes).most_common(1)[0][0] if sizes else None
            if ref_size is None and common is not None and common != ref:
                # the first readable patch was an odd one: pack against the size most patches have
                del mm
                shutil.rmtree(tmp, ignore_errors=True)
                log.info("Most SEN12MS patches of %s are %dx%d pixels; packing again against that size",
                         self.root, common[0], common[1])
                self._build(scan, sources, ref_size=common)
                return
            if not mm:
                first = next(iter(problems.values()), None)
                raise RootError(f"No readable patch under {self.root / season_folder(self.season)}"
                                + (f"; first problem: {first[1]}" if first else ""))
            assert ref is not None  # the arrays exist, so a reference size was found
            for m in mm.values():
                m.flush()
            del mm
            np.save(tmp / "nan_fraction.npy", nan_frac)
            manifest = {
                "version": CACHE_VERSION,
                "root": str(self.root),
                "season": self.season,
                "stored_size": list(ref),
                "patch_size": side,
                "keys": [[k.season_folder, k.scene, k.patch] for k in good],
                "rows": rows,
                "bounds": [list(b) for b in bounds],
                "problems": {pid: list(p) for pid, p in problems.items()},
                "invalid_codes": {pid: sorted(codes.items()) for pid, codes in invalid.items()},
                "sources": sources,
            }
            (tmp / "manifest.json").write_text(json.dumps(manifest))
            if self.dir.exists():
                shutil.rmtree(self.dir)
            os.replace(tmp, self.dir)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        if problems:
            log.info("%d SEN12MS patches failed checks while packing %s", len(problems), self.dir)

    def _load(self, manifest: dict[str, Any]) -> None:
        self._keys = [PatchKey(sf, int(sc), int(p)) for sf, sc, p in manifest["keys"]]
        self._bounds = np.asarray(manifest["bounds"], dtype=np.float64).reshape(-1, 4)
        self.rows = np.asarray(manifest["rows"], dtype=np.int64)
        self._problems = {k: Problem(*v) for k, v in manifest["problems"].items()}
        self._invalid_codes = {
            pid: {int(c): int(n) for c, n in pairs} for pid, pairs in manifest["invalid_codes"].items()
        }
        self.stored_size = tuple(manifest["stored_size"])
        self.side = int(manifest["patch_size"])
        self._arrays = {s: np.load(self.dir / f"{s}.npy", mmap_mode="r") for s in SENSORS}
        self.nan_fraction = np.load(self.dir / "nan_fraction.npy")
