"""The official SEN12MS folder layout and patch identifiers.

``ROOT/ROIs2017_winter/s1_<scene>/ROIs2017_winter_s1_<scene>_p<patch>.tif``, and
the same with ``s2`` and ``lc``. A patch is identified across sensors by
``PatchKey(season_folder, scene, patch)``; its string form
``"ROIs2017_winter_<scene>_p<patch>"`` is the *patch id* used in results, plots
and hover texts.

Beside the three sensors, a season may hold cloud masks of the S2 patches (not
part of the official release; see :mod:`xmodal.data.clouds`)::

    ROOT/ROIs2017_winter/cld_<scene>/ROIs2017_winter_cld_<scene>_p<patch>.tif

:func:`parse_patch_filename` does not match them (the reader ignores them), and
:func:`parse_mask_filename` does.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Final, NamedTuple

if TYPE_CHECKING:
    import numpy as np

__all__ = [
    "LAND_COVER",
    "SEASONS",
    "SENSORS",
    "PatchKey",
    "season_folder",
    "check_data_root",
    "patch_path",
    "parse_patch_filename",
    "CLOUD_MASK",
    "MARKER_NAME",
    "mask_path",
    "parse_mask_filename",
    "parse_patch_id",
    "read_patch",
]

#: Season name -> folder name in the official release.
SEASONS: Final[dict[str, str]] = {
    "spring": "ROIs1158_spring",
    "summer": "ROIs1868_summer",
    "fall": "ROIs1970_fall",
    "winter": "ROIs2017_winter",
}

#: Sensor folders of a season: Sentinel-1, Sentinel-2, land cover.
SENSORS: Final[tuple[str, ...]] = ("s1", "s2", "lc")
#: The sensor folder of the land-cover maps (the labels).
LAND_COVER: Final[str] = "lc"

#: Marker file at the root of a synthetic data set (written by :func:`xmodal.data.make_synthetic`):
#: its presence says the root is synthetic, its content records the generator's arguments.
MARKER_NAME: Final[str] = "xmodal_synthetic.json"

#: Folder and file-name tag of the cloud masks written beside the patches (not a sensor).
CLOUD_MASK: Final[str] = "cld"

_FILE_RE = re.compile(r"^(ROIs\d{4}_[a-z]+)_(s1|s2|lc)_(\d+)_p(\d+)\.tif$")
_MASK_RE = re.compile(rf"^(ROIs\d{{4}}_[a-z]+)_{CLOUD_MASK}_(\d+)_p(\d+)\.tif$")
_ID_RE = re.compile(r"^(ROIs\d{4}_[a-z]+)_(\d+)_p(\d+)$")


class PatchKey(NamedTuple):
    """Identifies one patch location (shared by its S1, S2 and LC files)."""

    season_folder: str
    scene: int
    patch: int

    @property
    def id(self) -> str:
        """Patch id, e.g. ``"ROIs2017_winter_12_p34"``."""
        return f"{self.season_folder}_{self.scene}_p{self.patch}"


def season_folder(season: str) -> str:
    """Folder name of ``season`` ("winter" -> "ROIs2017_winter").

    Raises:
        ValueError: for an unknown season, listing the valid ones.
    """
    try:
        return SEASONS[season]
    except KeyError:
        raise ValueError(
            f"Unknown season {season!r}; choose one of {sorted(SEASONS)}"
        ) from None


def check_data_root(
    root: str | os.PathLike[str],
    *,
    season: str | None = None,
    name: str = "data_root",
    hint: str = "",
) -> Path:
    """The one check of a data root given by a user: a folder, holding the season's folder.

    Every entry point (the CLI's commands, the sweep, the notebook's parameters, the teaching
    helpers) checks the root it was given with this function, so every one of them fails the
    same way, with :class:`~xmodal.data.errors.RootError`. The deeper checks (files paired,
    the synthetic marker complete, the fingerprint) are the reader's and the fingerprint's.

    Args:
        root: the folder (relative paths are relative to the current folder).
        season: the season whose folder must be there (``None``: any content).
        name: how the user gave the root (``"data_root"``, ``"--data"``), for the message.
        hint: how to make or pass a root, appended to the message.

    Returns:
        ``root`` as a :class:`~pathlib.Path`.

    Raises:
        RootError: naming ``name``, the value, what is wrong and the ``hint``.
    """
    from xmodal.data.errors import RootError

    path = Path(root).expanduser()
    where = f" (relative to {Path.cwd()})" if not path.is_absolute() else ""
    tail = f"; {hint}" if hint else ""
    if not path.is_dir():
        what = "does not exist" if not path.exists() else "is not a folder"
        raise RootError(f"Invalid {name} {str(root)!r}: the folder {what}{where}{tail}")
    if season is not None:
        if season not in SEASONS:
            raise RootError(f"Invalid season {season!r}; choose one of {sorted(SEASONS)}")
        folder = SEASONS[season]
        if not (path / folder).is_dir():
            raise RootError(f"Invalid {name} {str(root)!r}: it holds no {folder} folder{where}, so it is not a "
                            f"SEN12MS root of the {season} season{tail}")
    return path


def patch_path(root: str | os.PathLike[str], key: PatchKey, sensor: str) -> Path:
    """Path of the ``sensor`` file ("s1", "s2", "lc", or "cld" for the cloud mask) of ``key``."""
    if sensor not in (*SENSORS, CLOUD_MASK):
        raise ValueError(f"Unknown sensor {sensor!r}; choose one of {(*SENSORS, CLOUD_MASK)}")
    sf = key.season_folder
    return (
        Path(root) / sf / f"{sensor}_{key.scene}" / f"{sf}_{sensor}_{key.scene}_p{key.patch}.tif"
    )


def parse_patch_filename(name: str) -> tuple[PatchKey, str] | None:
    """Parse ``"ROIs2017_winter_s2_12_p34.tif"`` into its key and sensor, or None."""
    m = _FILE_RE.match(name)
    if m is None:
        return None
    sf, sensor, scene, patch = m.groups()
    return PatchKey(sf, int(scene), int(patch)), sensor


def mask_path(root: str | os.PathLike[str], key: PatchKey) -> Path:
    """Path of the cloud mask of patch ``key``: ``<season>/cld_<scene>/<season>_cld_<scene>_p<patch>.tif``."""
    return patch_path(root, key, CLOUD_MASK)


def parse_mask_filename(name: str) -> PatchKey | None:
    """Parse ``"ROIs2017_winter_cld_12_p34.tif"`` into its key, or None."""
    m = _MASK_RE.match(name)
    if m is None:
        return None
    sf, scene, patch = m.groups()
    return PatchKey(sf, int(scene), int(patch))
def parse_patch_id(patch_id: str) -> PatchKey:
    """The key of a patch id (``"ROIs2017_winter_12_p34"``), the inverse of :attr:`PatchKey.id`.

    Raises:
        ValueError: ``patch_id`` is not a SEN12MS patch id (the message names it).
    """
    m = _ID_RE.match(patch_id)
    if m is None:
        raise ValueError(f"Not a SEN12MS patch id: {patch_id!r} (expected e.g. 'ROIs2017_winter_12_p34')")
    sf, scene, patch = m.groups()
    return PatchKey(sf, int(scene), int(patch))


def read_patch(root: str | os.PathLike[str], patch: str | PatchKey, sensor: str) -> np.ndarray:
    """The raw ``[bands, H, W]`` array of one patch's ``sensor`` GeoTIFF (``"s1"``, ``"s2"`` or ``"lc"``).

    The file is checked as the reader checks it (band count, data type;
    :func:`xmodal.data.cache.decode_patch`).

    Args:
        root: the SEN12MS root.
        patch: a patch id or its :class:`PatchKey`.
        sensor: the sensor file.

    Raises:
        ValueError: ``patch`` is not a patch id.
        MissingFileError: the patch has no such file (the message names the path).
        CorruptFileError, BandCountError, DTypeError, AllNaNError: the file cannot be used.
    """
    from .cache import decode_patch
    from .errors import MissingFileError

    key = patch if isinstance(patch, PatchKey) else parse_patch_id(patch)
    path = patch_path(root, key, sensor)
    if not path.is_file():
        raise MissingFileError(f"No {sensor} file for patch {key.id}: {path}")
    return decode_patch(path, sensor)[0]
