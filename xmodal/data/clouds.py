"""Clouds in SEN12MS: cloud masks beside the patches, per-patch cover, filters, SEN12MS-CR.

Over much of the world Sentinel-2 is often cloudy while Sentinel-1 radar sees
through clouds. This module reads what is known about the clouds of a root and
selects patches by it. What is supported, exactly:

**Cloud masks** (not part of the SEN12MS release: the synthetic generator writes
them, and for real data you make them yourself, e.g. with s2cloudless or Fmask),
one per patch beside the sensor folders::

    ROOT/ROIs2017_winter/cld_<scene>/ROIs2017_winter_cld_<scene>_p<patch>.tif

a single-band integer GeoTIFF (the generator writes uint8 with the patch's CRS
and transform) holding the codes :data:`CLEAR` 0, :data:`CLOUD` 1 (thick, opaque
cloud), :data:`SHADOW` 2 (cloud shadow) and :data:`THIN_CLOUD` 3 (semi-transparent
cloud). Any other value is an error naming the file. A binary detector output
(0 clear / 1 cloud) is a valid mask. The mask may have any size: covers are
fractions of its pixels. The reader (:mod:`~xmodal.data.cache`,
:func:`~xmodal.data.layout.parse_patch_filename`) ignores the ``cld`` folders.

**Cover list**, one per season, ``ROOT/ROIs2017_winter/cloud_cover.csv`` with the
columns of :data:`COVER_COLUMNS`: ``cloud_cover`` is the share of the patch
flagged cloud (codes 1 and 3), ``shadow_cover`` of code 2, ``thin_cloud_cover``
of code 3 alone (already counted in ``cloud_cover``). The generator writes it;
:func:`write_cover_list` makes it from the masks of any root.
:func:`cloud_cover` reads it, or the masks when the list is absent or older than
a mask.

**Selecting patches**: :func:`select_patches` (and ``Sen12MS(...,
max_cloud_cover=..., cloudy_list=...)``, which calls it on the patches of the
chosen split, before ``n_samples`` subsampling, so the split itself does not
depend on the clouds) keeps the patches whose cover is at most a threshold
and/or drops the patches of a *cloudy list*: a text file (or a list of strings)
of patch ids (``ROIs2017_winter_12_p34``) or patch file names of any sensor
(``ROIs2017_winter_s2_12_p34.tif``, also ``..._s2_cloudy_12_p34.tif`` and paths
ending in them), one per line, with blank lines and ``#`` comments ignored. A
malformed line raises :class:`CloudDataError` naming the file and the line.

**SEN12MS-CR** (Ebel et al., 2021, IEEE TGRS 59: the cloudy companion of
SEN12MS) ships cloudy Sentinel-2 patches as
``CR/ROIs2017_winter_s2_cloudy/s2_cloudy_<scene>/ROIs2017_winter_s2_cloudy_<scene>_p<patch>.tif``
(also accepted one folder deeper, as some archives unpack:
``CR/ROIs2017_winter_s2_cloudy/ROIs2017_winter_s2_cloudy/s2_cloudy_<scene>/...``).
:func:`make_cloudy_root` builds a *view root* in the official layout whose S2
files are symbolic links to those cloudy patches and whose S1 and LC files are
links to the SEN12MS ones, so the unchanged reader, trainer and study run on
cloudy S2. Only patches present in both (same season, scene and patch number)
are linked (SEN12MS's cloud masks are not: they describe its own S2); the
pairing is checked by comparing the CRS and bounds of the cloudy
S2 with the SEN12MS S2 of the first patch of every scene.

What trained models do under clouds (the study's data rendered at fixed covers by
:func:`~xmodal.data.make_cloud_variant`, the fallback to S1) is :mod:`xmodal.clouds`,
which names the two sensors with :data:`CLOUDED_SENSOR` and :data:`CLOUD_FREE_SENSOR`.

Not supported: SEN12MS-CR's own S1 and cloud-free S2 folders (the view takes S1
and LC from SEN12MS; SEN12MS-CR has no land cover), SEN12MS-CR-TS (time
series), computing cloud masks (no detector is bundled: masks come from the
generator or from you), cloud probabilities (masks must hold codes, not 0-100
probabilities), and masks in another layout than the one above.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
import shutil
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Final

import numpy as np

from .errors import Sen12MSError
from .layout import CLOUD_MASK, PatchKey, mask_path, parse_mask_filename, patch_path, season_folder

__all__ = [
    "CLEAR",
    "CLOUDED_SENSOR",
    "CLOUD_FREE_SENSOR",
    "CLOUD",
    "CLOUDY_CODES",
    "COVER_COLUMNS",
    "COVER_LIST_NAME",
    "CR_CLOUDY_TAG",
    "MASK_CODES",
    "SHADOW",
    "THIN_CLOUD",
    "VIEW_MARKER_NAME",
    "CloudDataError",
    "cloud_cover",
    "cover_list_path",
    "covers_from_masks",
    "make_cloudy_root",
    "mask_fractions",
    "read_cloudy_list",
    "read_cover_list",
    "select_patches",
    "write_cover_csv",
    "write_cover_list",
]

#: The sensor that clouds hide (optical, Sentinel-2) and the one that sees through them
#: (radar, Sentinel-1): what a fallback policy turns to.
CLOUDED_SENSOR: Final[str] = "s2"
CLOUD_FREE_SENSOR: Final[str] = "s1"

#: Mask code of a clear pixel.
CLEAR: Final[int] = 0
#: Mask code of a thick (opaque) cloud pixel.
CLOUD: Final[int] = 1
#: Mask code of a cloud-shadow pixel (not under a cloud).
SHADOW: Final[int] = 2
#: Mask code of a thin (semi-transparent) cloud pixel: the ground shows through.
THIN_CLOUD: Final[int] = 3
#: Every valid mask code, with its meaning.
MASK_CODES: Final[dict[int, str]] = {CLEAR: "clear", CLOUD: "cloud", SHADOW: "cloud shadow",
                                     THIN_CLOUD: "thin cloud"}
#: Codes counted as cloud in a patch's cloud cover.
CLOUDY_CODES: Final[tuple[int, ...]] = (CLOUD, THIN_CLOUD)
#: File name of a season's cover list, inside the season folder.
COVER_LIST_NAME: Final[str] = "cloud_cover.csv"
#: Columns of the cover list (covers are shares of the patch's pixels, 0..1).
COVER_COLUMNS: Final[tuple[str, ...]] = (
    "patch_id", "scene", "patch", "cloud_cover", "shadow_cover", "thin_cloud_cover",
)
#: Decimals written for the covers of the list (a 256 x 256 patch's pixel is 1.5e-5).
_COVER_DECIMALS: Final[int] = 6
#: Suffix of SEN12MS-CR's cloudy S2 folders and files (``<season folder>_s2_cloudy``).
CR_CLOUDY_TAG: Final[str] = "s2_cloudy"
#: Marker written at the root of a view made by :func:`make_cloudy_root`.
VIEW_MARKER_NAME: Final[str] = "xmodal_cloudy_view.json"
#: Largest georeferencing difference (in pixels) accepted between paired files.
_GEOREF_TOLERANCE_PX: Final[float] = 0.5

_ID_RE = re.compile(r"^(ROIs\d{4}_[a-z]+)_(\d+)_p(\d+)$")
_NAME_RE = re.compile(r"^(ROIs\d{4}_[a-z]+)_(?:s1|s2|lc|cld|s2_cloudy)_(\d+)_p(\d+)(?:\.tif)?$")


class CloudDataError(Sen12MSError):
    """A cloud mask, cover list, cloudy-patch list or SEN12MS-CR folder cannot be used."""


# ---------------------------------------------------------------------------------
# masks and cover lists
# ---------------------------------------------------------------------------------


def mask_fractions(masks: np.ndarray) -> np.ndarray:
    """Cloud, shadow and thin-cloud shares of masks ``(..., H, W)`` as ``(..., 3)``.

    The cloud share counts :data:`CLOUDY_CODES` (thick and thin); the last column is
    the thin-cloud share alone.
    """
    m = np.asarray(masks)
    n = m.shape[-2] * m.shape[-1]
    flat = m.reshape(*m.shape[:-2], n)
    cloud = np.isin(flat, CLOUDY_CODES).sum(axis=-1)
    shadow = (flat == SHADOW).sum(axis=-1)
    thin = (flat == THIN_CLOUD).sum(axis=-1)
    return np.stack([cloud, shadow, thin], axis=-1) / max(n, 1)


def cover_list_path(root: str | os.PathLike[str], season: str = "winter") -> Path:
    """Path of the cover list of ``season`` under ``root``."""
    return Path(root) / season_folder(season) / COVER_LIST_NAME


def write_cover_csv(path: str | os.PathLike[str], covers: Mapping[PatchKey, Iterable[float]]) -> None:
    """Write a cover list atomically: one row per patch, sorted by (scene, patch).

    Args:
        path: the CSV file.
        covers: key -> (cloud_cover, shadow_cover, thin_cloud_cover).
    """
    path = Path(path)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(COVER_COLUMNS)
    for key in sorted(covers, key=lambda k: (k.scene, k.patch)):
        w.writerow([key.id, key.scene, key.patch,
                    *(f"{float(v):.{_COVER_DECIMALS}f}" for v in covers[key])])
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(buf.getvalue())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def read_cover_list(root: str | os.PathLike[str], season: str = "winter") -> dict[str, dict[str, float]]:
    """The cover list of a season: patch id -> {"cloud_cover", "shadow_cover", "thin_cloud_cover"}.

    Raises:
        CloudDataError: the list is missing or malformed (naming the file and line).
    """
    path = cover_list_path(root, season)
    if not path.is_file():
        raise CloudDataError(f"No cloud cover list {path}")
    out: dict[str, dict[str, float]] = {}
    with open(path, newline="") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if header is None or tuple(header) != COVER_COLUMNS:
            raise CloudDataError(f"{path}: header {header!r}, expected {list(COVER_COLUMNS)}")
        for line_no, row in enumerate(reader, start=2):
            try:
                if len(row) != len(COVER_COLUMNS) or _ID_RE.match(row[0]) is None:
                    raise ValueError(row)
                values = [float(v) for v in row[3:]]
                if not all(0.0 <= v <= 1.0 for v in values):
                    raise ValueError(row)
            except ValueError:
                raise CloudDataError(
                    f"{path}, line {line_no}: {','.join(row)!r} is not 'patch_id,scene,patch' and "
                    f"three covers in [0, 1]"
                ) from None
            out[row[0]] = dict(zip(COVER_COLUMNS[3:], values, strict=True))
    return out


def _scan_masks(root: Path, season: str) -> dict[PatchKey, Path]:
    sdir = root / season_folder(season)
    found: dict[PatchKey, Path] = {}
    if not sdir.is_dir():
        return found
    with os.scandir(sdir) as scenes:
        for scene in scenes:
            if not (scene.is_dir() and scene.name.startswith(f"{CLOUD_MASK}_")):
                continue
            with os.scandir(scene.path) as files:
                for f in files:
                    key = parse_mask_filename(f.name)
                    if key is not None:
                        found[key] = Path(f.path)
    return found


def _read_mask(path: Path) -> np.ndarray:
    import rasterio
    from rasterio.errors import RasterioError

    try:
        with rasterio.open(path) as src:
            if src.count != 1:
                raise CloudDataError(f"{path}: {src.count} bands, a cloud mask has one")
            arr = src.read(1)
    except CloudDataError:
        raise
    except (RasterioError, OSError, ValueError) as exc:
        raise CloudDataError(f"{path}: cannot be read as a GeoTIFF ({exc})") from None
    if not np.issubdtype(arr.dtype, np.integer):
        raise CloudDataError(f"{path}: data type {arr.dtype}, a cloud mask holds integer codes")
    bad = ~np.isin(arr, list(MASK_CODES))
    if bad.any():
        raise CloudDataError(
            f"{path}: value {int(arr[bad][0])} is not a cloud mask code "
            f"({', '.join(f'{k} {v}' for k, v in MASK_CODES.items())})"
        )
    return arr


def covers_from_masks(root: str | os.PathLike[str], season: str = "winter") -> dict[PatchKey, np.ndarray]:
    """Read every cloud mask of a season: key -> (cloud, shadow, thin-cloud) shares.

    Raises:
        CloudDataError: a mask is unreadable or holds a value that is not a mask code.
    """
    masks = _scan_masks(Path(root), season)
    return {key: mask_fractions(_read_mask(path)) for key, path in sorted(masks.items())}


def write_cover_list(root: str | os.PathLike[str], season: str = "winter") -> Path:
    """Compute the covers from the masks of a season and write its cover list.

    Returns:
        The path of the list.

    Raises:
        CloudDataError: no mask in the season, or a bad mask (named).
    """
    covers = covers_from_masks(root, season)
    if not covers:
        raise CloudDataError(_no_masks_message(Path(root), season))
    path = cover_list_path(root, season)
    write_cover_csv(path, covers)
    return path


def _no_masks_message(root: Path, season: str) -> str:
    sf = season_folder(season)
    return (f"No cloud masks under {root / sf} (expected "
            f"{root / sf}/{CLOUD_MASK}_<scene>/{sf}_{CLOUD_MASK}_<scene>_p<patch>.tif)")


#: Kinds of cover :func:`cloud_cover` reports -> column of :func:`mask_fractions`.
_COVER_KINDS: Final[dict[str, int]] = {"cloud": 0, "shadow": 1, "thin_cloud": 2}


def cloud_cover(
    root: str | os.PathLike[str], season: str = "winter", kind: str = "cloud", source: str = "auto"
) -> dict[str, float]:
    """Share of each patch under cloud (or shadow), from the cover list or the masks.

    Args:
        root: a SEN12MS root.
        season: season name.
        kind: "cloud" (codes 1 and 3), "shadow" (2) or "thin_cloud" (3).
        source: "list" (the cover list), "masks" (read every mask), or "auto": the
            list if it exists and is not older than any mask, else the masks.

    Returns:
        Patch id (``"ROIs2017_winter_12_p34"``) -> share of its pixels, for every
        patch with a mask (or a row in the list); empty if the season has neither.

    Raises:
        ValueError: unknown ``kind`` or ``source``; CloudDataError: a bad list or mask.
    """
    if kind not in _COVER_KINDS:
        raise ValueError(f"Unknown cover kind {kind!r}; choose one of {list(_COVER_KINDS)}")
    if source not in ("auto", "list", "masks"):
        raise ValueError(f"Unknown cover source {source!r}; choose 'auto', 'list' or 'masks'")
    root = Path(root)
    listed = cover_list_path(root, season)
    if source == "auto":
        masks = _scan_masks(root, season)
        fresh = listed.is_file() and all(
            p.stat().st_mtime_ns <= listed.stat().st_mtime_ns for p in masks.values())
        source = "list" if fresh else "masks"
    if source == "list":
        col = f"{kind}_cover"
        return {pid: row[col] for pid, row in read_cover_list(root, season).items()}
    i = _COVER_KINDS[kind]
    return {key.id: float(v[i]) for key, v in covers_from_masks(root, season).items()}


# ---------------------------------------------------------------------------------
# selecting patches
# ---------------------------------------------------------------------------------


def read_cloudy_list(source: str | os.PathLike[str] | Iterable[str]) -> set[str]:
    """Patch ids of a cloudy-patch list (see the module docstring for the format).

    Args:
        source: a text file, or an iterable of ids / file names (a ``str`` is a path).

    Raises:
        CloudDataError: the file is missing or a line is not a patch id or file name
            (naming the file and line).
    """
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.is_file():
            raise CloudDataError(f"Cloudy-patch list not found: {path}")
        lines: Iterable[str] = path.read_text().splitlines()
        where = str(path)
    else:
        lines = source
        where = "cloudy list"
    ids: set[str] = set()
    for line_no, line in enumerate(lines, start=1):
        entry = str(line).split("#", 1)[0].strip()
        if not entry:
            continue
        name = entry.replace("\\", "/").rsplit("/", 1)[-1]
        m = _ID_RE.match(name) or _NAME_RE.match(name)
        if m is None:
            raise CloudDataError(
                f"{where}, line {line_no}: {entry!r} is not a SEN12MS patch id "
                f"(e.g. ROIs2017_winter_12_p34) or patch file name (e.g. ROIs2017_winter_s2_12_p34.tif)"
            )
        sf, scene, patch = m.groups()
        ids.add(PatchKey(sf, int(scene), int(patch)).id)
    return ids


def select_patches(
    keys: Sequence[PatchKey],
    root: str | os.PathLike[str],
    season: str = "winter",
    max_cloud_cover: float | None = None,
    min_cloud_cover: float | None = None,
    cloudy_list: str | os.PathLike[str] | Iterable[str] | None = None,
) -> list[PatchKey]:
    """The patches of ``keys`` (order kept) that pass the cloud filters.

    Args:
        keys: candidate patches.
        root: their SEN12MS root (masks or cover list needed for the cover filters).
        season: their season.
        max_cloud_cover: keep patches with cloud cover <= this (0..1).
        min_cloud_cover: keep patches with cloud cover >= this (0..1).
        cloudy_list: drop the patches listed (file or iterable, see :func:`read_cloudy_list`).

    Raises:
        ValueError: a threshold outside [0, 1]; CloudDataError: a cover filter on
            patches without a mask (naming the first missing mask), or a bad list.
    """
    for name, v in (("max_cloud_cover", max_cloud_cover), ("min_cloud_cover", min_cloud_cover)):
        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float))
                              or not 0.0 <= v <= 1.0):
            raise ValueError(f"Invalid {name} {v!r}; must be in [0, 1]")
    out = list(keys)
    if cloudy_list is not None:
        cloudy = read_cloudy_list(cloudy_list)
        out = [k for k in out if k.id not in cloudy]
    if max_cloud_cover is None and min_cloud_cover is None:
        return out
    cover = cloud_cover(root, season)
    missing = [k for k in out if k.id not in cover]
    if missing:
        raise CloudDataError(
            f"{len(missing)} patch(es) of {root} have no cloud cover for a cover filter; first: "
            f"{missing[0].id} has no mask {mask_path(root, missing[0])}"
            + ("" if cover else f". {_no_masks_message(Path(root), season)}")
        )
    lo = -math.inf if min_cloud_cover is None else min_cloud_cover
    hi = math.inf if max_cloud_cover is None else max_cloud_cover
    return [k for k in out if lo <= cover[k.id] <= hi]


# ---------------------------------------------------------------------------------
# SEN12MS-CR
# ---------------------------------------------------------------------------------


def _cr_cloudy_files(cr_root: Path, sf: str) -> dict[PatchKey, Path]:
    """SEN12MS-CR cloudy S2 files of a season folder: key -> path."""
    folder = f"{sf}_{CR_CLOUDY_TAG}"
    candidates = [cr_root / folder, cr_root / folder / folder]
    base = next((c for c in candidates if c.is_dir() and any(
        p.is_dir() and p.name.startswith(f"{CR_CLOUDY_TAG}_") for p in c.iterdir())), None)
    if base is None:
        raise CloudDataError(
            f"No SEN12MS-CR cloudy S2 under {cr_root} (expected "
            f"{cr_root / folder}/{CR_CLOUDY_TAG}_<scene>/{sf}_{CR_CLOUDY_TAG}_<scene>_p<patch>.tif)"
        )
    pattern = re.compile(rf"^{re.escape(sf)}_{CR_CLOUDY_TAG}_(\d+)_p(\d+)\.tif$")
    found: dict[PatchKey, Path] = {}
    for scene in base.iterdir():
        if not (scene.is_dir() and scene.name.startswith(f"{CR_CLOUDY_TAG}_")):
            continue
        for f in scene.iterdir():
            m = pattern.match(f.name)
            if m:
                found[PatchKey(sf, int(m.group(1)), int(m.group(2)))] = f
    return found


def _check_georef(a: Path, b: Path) -> None:
    import rasterio

    with rasterio.open(a) as fa, rasterio.open(b) as fb:
        tol = _GEOREF_TOLERANCE_PX * max(abs(fa.res[0]), abs(fa.res[1]))
        same = fa.crs == fb.crs and all(abs(x - y) <= tol for x, y in zip(fa.bounds, fb.bounds, strict=True))
        if not same:
            raise CloudDataError(
                f"{a} and {b} do not cover the same ground (CRS {fa.crs} / {fb.crs}, bounds "
                f"{tuple(fa.bounds)} / {tuple(fb.bounds)}): SEN12MS-CR and SEN12MS do not pair here"
            )


def _link(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(src.resolve(), dst)


def make_cloudy_root(
    sen12ms_root: str | os.PathLike[str],
    cr_root: str | os.PathLike[str],
    out_root: str | os.PathLike[str],
    season: str = "winter",
) -> dict[str, Any]:
    """A view root in the official layout with SEN12MS-CR's cloudy S2 and SEN12MS's S1 and LC.

    Every patch with a SEN12MS S1 and LC file and a SEN12MS-CR cloudy S2 file
    gets symbolic links (absolute paths) under ``out_root``. The usual reader
    then reads cloudy S2 (``Sen12MS(out_root, ...)``). Cloud masks of
    ``sen12ms_root`` describe its own S2, not the cloudy one, so they are not
    linked: masks of the cloudy S2 (from your detector) go into the view's
    ``cld_<scene>`` folders. The view records its sources in
    ``out_root/xmodal_cloudy_view.json``; making it again replaces its season.

    Args:
        sen12ms_root: SEN12MS root (official layout).
        cr_root: SEN12MS-CR root holding ``<season folder>_s2_cloudy``.
        out_root: the view (created; must be empty or an earlier view).
        season: season name.

    Returns:
        A summary: counts of linked patches and of patches left out, paths.

    Raises:
        CloudDataError: no cloudy S2 found, ``out_root`` holds other data, or a
            pair does not share its georeferencing (naming both files).
    """
    from .cache import scan_season

    src, cr, out = Path(sen12ms_root), Path(cr_root), Path(out_root)
    sf = season_folder(season)
    if out.resolve() in (src.resolve(), cr.resolve()):
        raise CloudDataError(f"The view {out} must be a new folder, not one of its sources")
    marker = out / VIEW_MARKER_NAME
    if out.exists() and any(out.iterdir()) and not marker.is_file():
        raise CloudDataError(f"{out} already holds data that is not a cloudy view (no {VIEW_MARKER_NAME})")
    scan = scan_season(src, season)
    cloudy = _cr_cloudy_files(cr, sf)
    keys = sorted(set(scan["s1"]) & set(scan["lc"]) & set(cloudy), key=lambda k: (k.scene, k.patch))
    if not keys:
        raise CloudDataError(f"No patch of {src / sf} has a cloudy S2 in {cr} (same scene and patch numbers)")
    checked: set[int] = set()
    for key in keys:
        if key.scene not in checked and key in scan["s2"]:
            _check_georef(cloudy[key], src / scan["s2"][key][0])
            checked.add(key.scene)
    if (out / sf).exists():
        shutil.rmtree(out / sf)
    out.mkdir(parents=True, exist_ok=True)
    for key in keys:
        _link(src / scan["s1"][key][0], patch_path(out, key, "s1"))
        _link(src / scan["lc"][key][0], patch_path(out, key, "lc"))
        _link(cloudy[key], patch_path(out, key, "s2"))
    summary = {
        "kind": "SEN12MS view with SEN12MS-CR cloudy S2",
        "season": season,
        "sen12ms_root": str(src.resolve()),
        "cr_root": str(cr.resolve()),
        "patches": len(keys),
        "left_out": {
            "no_cloudy_s2": len((set(scan["s1"]) & set(scan["lc"])) - set(cloudy)),
            "cloudy_s2_without_sen12ms": len(set(cloudy) - (set(scan["s1"]) & set(scan["lc"]))),
        },
        "georef_checked_scenes": len(checked),
    }
    old = json.loads(marker.read_text()) if marker.is_file() else {}
    seasons = {**old.get("seasons", {}), sf: summary}
    marker.write_text(json.dumps({"kind": summary["kind"], "seasons": seasons}, indent=2) + "\n")
    return summary
