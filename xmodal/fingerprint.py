"""What a data root holds, whatever its path: the fingerprint that identifies a run's data.

A run is identified by its settings and by the data it saw
(:meth:`xmodal.config.ExperimentConfig.hash` leaves ``data_root`` out and takes
``data_fingerprint`` in), so a data folder and its runs can be moved or copied
together and the next sweep reuses every run. The fingerprint of one season of
a root is:

- **synthetic roots** (made by :func:`xmodal.data.make_synthetic`, which leaves
  ``xmodal_synthetic.json`` at the root): ``"synthetic:<16 hex>"``, a digest of
  the generator's version and the arguments it recorded for that season (seed,
  scenes, patches, patch size, physical parameters): equal arguments, identical
  files.
- **real SEN12MS**: ``"sen12ms:<16 hex>"``, SHA-256 over the sorted
  ``(path relative to the root, size in bytes)`` of every patch file of the
  season folder. Files are only listed and stat-ed, never opened.
- with ``split: official``, the digest also covers the content of the split
  lists (``train_list.txt``, ``test_list.txt``) at the root; other splits do not
  read them, so adding them does not change other runs' identity.

The file listing of a season is cached in the data cache folder
(``<cache_dir or root/.xmodal_cache>/<season folder>/fingerprint.json``), keyed
by the modification times of the season folder and of its scene folders, which
change whenever a file is added, removed or renamed. A cached listing costs one
``stat`` per scene folder instead of one per file; a file rewritten in place
with a new size is noticed by the packed data cache when a run reads it, not
here. A root that cannot be written is listed every time.

:func:`inspect_root` also checks what a sweep needs before it starts any run:
the root and season folder exist, the synthetic marker is complete and matches
the files, and every patch has its S1, S2 and LC file.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from xmodal import atomic

if TYPE_CHECKING:
    from xmodal.config import ExperimentConfig

__all__ = [
    "FINGERPRINT_FILE",
    "SPLIT_LIST_NAMES",
    "RootSummary",
    "check_fingerprint",
    "config_fingerprint",
    "data_fingerprint",
    "inspect_root",
]

#: The cached listing of a season, in ``<cache folder>/<season folder>/``.
FINGERPRINT_FILE = "fingerprint.json"
#: Layout version of the cached listing (bump to ignore old caches).
_CACHE_VERSION = 1
#: The split lists read by :func:`xmodal.data.make_split` for ``split: official``.
SPLIT_LIST_NAMES: tuple[str, ...] = ("train_list.txt", "test_list.txt")
#: The reader's default cache folder under the root (see :class:`xmodal.data.PackedCache`).
_DEFAULT_CACHE = ".xmodal_cache"
#: Patch ids listed in a summary of patches that lack a partner file.
_SHOW_UNPAIRED = 5


@dataclass(frozen=True)
class RootSummary:
    """One season of a data root, as a sweep checks it before training.

    Attributes:
        root: the root (absolute).
        season: the season name.
        kind: ``"synthetic"`` (generator's marker lists the season) or ``"sen12ms"``.
        fingerprint: what the season holds (see the module docstring).
        counts: patch files per sensor (``s1``, ``s2``, ``lc``).
        n_patches: patches with all three files.
        unpaired: ids of (at most five) patches lacking a partner file.
        n_unpaired: how many patches lack a partner file.
        marker_files: the file count the synthetic marker records (None for real data).
    """

    root: Path
    season: str
    kind: str
    fingerprint: str
    counts: dict[str, int] = field(default_factory=dict)
    n_patches: int = 0
    unpaired: tuple[str, ...] = ()
    n_unpaired: int = 0
    marker_files: int | None = None

    @property
    def n_files(self) -> int:
        """Patch files of the season, all sensors."""
        return sum(self.counts.values())


def _cache_file(root: Path, season_folder: str, cache_dir: str | os.PathLike[str] | None) -> Path:
    base = Path(cache_dir) if cache_dir is not None else root / _DEFAULT_CACHE
    return base / season_folder / FINGERPRINT_FILE


def _listing_key(season_dir: Path) -> dict[str, Any]:
    """Modification times of the season folder and its scene folders (one ``stat`` each)."""
    scenes: dict[str, int] = {}
    with os.scandir(season_dir) as it:
        for entry in it:
            if entry.is_dir():
                scenes[entry.name] = entry.stat().st_mtime_ns
    return {"version": _CACHE_VERSION, "season_dir": season_dir.stat().st_mtime_ns, "scenes": scenes}


def _list_season(root: Path, season: str) -> dict[str, Any]:
    """Stat-scan the season: digest of (relative path, size), counts, unpaired patches."""
    from xmodal.data.cache import scan_season
    from xmodal.data.layout import SENSORS

    scan = scan_season(root, season)  # RootError naming the root or season folder when missing
    entries = sorted((rel, size) for files in scan.values() for rel, size, _ in files.values())
    digest = hashlib.sha256()
    for rel, size in entries:
        digest.update(f"{Path(rel).as_posix()}\t{size}\n".encode())
    keys = [set(scan[s]) for s in SENSORS]
    complete = set.intersection(*keys)
    unpaired = sorted(set.union(*keys) - complete)
    return {
        "digest": digest.hexdigest(),
        "counts": {s: len(scan[s]) for s in SENSORS},
        "n_patches": len(complete),
        "unpaired": [k.id for k in unpaired[:_SHOW_UNPAIRED]],
        "n_unpaired": len(unpaired),
    }


def _season_listing(root: Path, season: str, cache_dir: str | os.PathLike[str] | None) -> dict[str, Any]:
    from xmodal.data.cache import scan_season
    from xmodal.data.layout import season_folder

    sf = season_folder(season)
    season_dir = root / sf
    if not season_dir.is_dir():
        scan_season(root, season)  # raises the reader's RootError (root or season folder missing)
    key = _listing_key(season_dir)
    cache = _cache_file(root, sf, cache_dir)
    with contextlib.suppress(OSError, ValueError):
        cached = json.loads(cache.read_text())
        if isinstance(cached, dict) and cached.get("key") == key:
            return dict(cached["listing"])
    listing = _list_season(root, season)
    with contextlib.suppress(OSError):  # a read-only root: list it every time
        atomic.write_json(cache, {"key": key, "listing": listing}, fsync=False)
    return listing


def _read_marker(root: Path) -> dict[str, Any] | None:
    from xmodal.data import MARKER_NAME
    from xmodal.data.errors import RootError

    marker = root / MARKER_NAME
    if not marker.exists():
        return None
    try:
        obj = json.loads(marker.read_text())
    except (OSError, ValueError) as exc:
        raise RootError(f"Cannot read the synthetic data marker {marker} ({exc}); make the data again "
                        f"with `xmodal data synth --out {root}`") from None
    if not isinstance(obj, dict):
        raise RootError(f"The synthetic data marker {marker} does not hold a mapping; make the data again")
    if obj.get("status", "complete") != "complete":
        raise RootError(
            f"The synthetic data at {root} is incomplete (its marker {marker.name} says status "
            f"{obj.get('status')!r}: the generator was stopped); make it again with `xmodal data synth --out {root}`"
        )
    return obj


def _lists_digest(root: Path) -> str:
    from xmodal.data.errors import MissingFileError

    digest = hashlib.sha256()
    for name in SPLIT_LIST_NAMES:
        path = root / name
        try:
            digest.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
        except FileNotFoundError:
            raise MissingFileError(
                f"Official split list not found: {path} (split 'official' needs {' and '.join(SPLIT_LIST_NAMES)} "
                "at the SEN12MS root; use split 'scene' or 'random' otherwise)"
            ) from None
    return digest.hexdigest()


def inspect_root(
    root: str | os.PathLike[str],
    season: str = "winter",
    *,
    cache_dir: str | os.PathLike[str] | None = None,
    official_lists: bool = False,
) -> RootSummary:
    """Check one season of a data root and compute its fingerprint.

    Args:
        root: the SEN12MS root (official layout), real or synthetic.
        season: ``spring`` | ``summer`` | ``fall`` | ``winter``.
        cache_dir: the data cache folder (``None``: ``<root>/.xmodal_cache``), where
            the season's listing is cached.
        official_lists: include the official split lists (``split: official``).

    Returns:
        The season's :class:`RootSummary` (patches lacking a partner file are
        counted in it, not raised: the reader may be told to skip them).

    Raises:
        xmodal.data.RootError: the root or season folder is missing or holds no
            patch file, or the synthetic marker is broken, incomplete, or does not
            match the files (the message names the path and what to do).
        xmodal.data.MissingFileError: ``official_lists`` and a split list is missing.
        ValueError: an unknown season.
    """
    from xmodal.data.errors import RootError
    from xmodal.data.layout import season_folder

    root = Path(root).expanduser().resolve()
    sf = season_folder(season)
    marker = _read_marker(root)
    listing = _season_listing(root, season, cache_dir)
    kind, marker_files = "sen12ms", None
    recorded = ((marker or {}).get("seasons") or {}).get(sf)
    if recorded is not None:
        kind = "synthetic"
        marker_files = int((recorded.get("counts") or {}).get("files", -1))
        n_files = sum(listing["counts"].values())
        if marker_files != n_files:
            raise RootError(
                f"{root / sf} holds {n_files} patch files but the synthetic data marker records {marker_files}: "
                f"files were deleted or added; make the data again with `xmodal data synth --out {root}`"
            )
        args = {k: v for k, v in recorded.items() if k != "counts"}
        material = json.dumps({"generator_version": marker.get("version") if marker else None, **args},
                              sort_keys=True, default=str)
    else:
        material = listing["digest"]
    if official_lists:
        material += "|lists:" + _lists_digest(root)
    fingerprint = f"{kind}:{hashlib.sha256(material.encode()).hexdigest()[:16]}"
    return RootSummary(root=root, season=season, kind=kind, fingerprint=fingerprint,
                       counts=dict(listing["counts"]), n_patches=int(listing["n_patches"]),
                       unpaired=tuple(listing["unpaired"]), n_unpaired=int(listing["n_unpaired"]),
                       marker_files=marker_files)


def data_fingerprint(
    root: str | os.PathLike[str],
    season: str = "winter",
    *,
    cache_dir: str | os.PathLike[str] | None = None,
    official_lists: bool = False,
) -> str:
    """The fingerprint of one season of ``root`` (see :func:`inspect_root` and the module docstring)."""
    return inspect_root(root, season, cache_dir=cache_dir, official_lists=official_lists).fingerprint


def config_fingerprint(config: ExperimentConfig) -> str:
    """The fingerprint of the data ``config`` reads (its root, season, cache folder and split)."""
    return data_fingerprint(config.data_root, config.season, cache_dir=config.cache_dir,
                            official_lists=config.split == "official")


def check_fingerprint(config: ExperimentConfig) -> str:
    """Check that ``config.data_fingerprint`` (when recorded) is what its root holds now.

    Returns:
        The root's fingerprint.

    Raises:
        ConfigError: the recorded fingerprint differs from the root's (the message
            names both and the root).
        xmodal.data.RootError: the root cannot be read (see :func:`inspect_root`).
    """
    from xmodal.config import ConfigError

    actual = config_fingerprint(config)
    if config.data_fingerprint is not None and config.data_fingerprint != actual:
        raise ConfigError(
            f"Invalid value for 'data_fingerprint': the run was set up for data {config.data_fingerprint} but "
            f"{config.data_root} (season {config.season}) holds {actual}: the data changed or this is another "
            "data set; point data_root at the data the run was made for, or set the run up again "
            "(xmodal sweep writes new runs for new data)"
        )
    return actual
