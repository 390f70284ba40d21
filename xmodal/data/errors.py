"""Errors of the data layer. Every message names the file (or value) and what is wrong."""

from __future__ import annotations

__all__ = [
    "Sen12MSError",
    "RootError",
    "MissingFileError",
    "CorruptFileError",
    "BandCountError",
    "DTypeError",
    "PatchSizeError",
    "AllNaNError",
    "ERRORS_BY_NAME",
]


class Sen12MSError(ValueError):
    """Base class: the SEN12MS data cannot be read as asked."""


class RootError(Sen12MSError):
    """The root does not exist, is empty, or does not follow the official layout."""


class MissingFileError(Sen12MSError):
    """A patch lacks one of its partner files (S1, S2 or LC) or a split list is missing."""


class CorruptFileError(Sen12MSError):
    """A GeoTIFF cannot be opened or decoded (truncated, not a TIFF, unreadable)."""


class BandCountError(Sen12MSError):
    """A GeoTIFF has the wrong number of bands for its sensor."""


class DTypeError(Sen12MSError):
    """A GeoTIFF has the wrong data type for its sensor."""


class PatchSizeError(Sen12MSError):
    """A GeoTIFF's size differs from the other patches of the root."""


class AllNaNError(Sen12MSError):
    """A Sentinel-1 patch holds no valid pixel."""


#: Error class by name, to re-raise errors recorded in a cache manifest.
ERRORS_BY_NAME: dict[str, type[Sen12MSError]] = {
    cls.__name__: cls
    for cls in (
        Sen12MSError, RootError, MissingFileError, CorruptFileError,
        BandCountError, DTypeError, PatchSizeError, AllNaNError,
    )
}
