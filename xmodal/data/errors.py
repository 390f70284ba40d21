"""Errors of the data layer. Every message names the file (or value) and what is wrong."""

from __future__ import annotations

from xmodal.errors import XmodalError

__all__ = [
    "Sen12MSError",
    "RootError",
    "MissingFileError",
    "CorruptFileError",
    "BandCountError",
    "DTypeError",
    "PatchSizeError",
    "AllNaNError",
    "LabelCodeError",
    "SplitListError",
    "Sen12MSWarning",
    "LabelCodeWarning",
    "SplitListWarning",
    "ERRORS_BY_NAME",
]


class Sen12MSError(XmodalError, ValueError):
    """Base class: the SEN12MS data cannot be read as asked."""


class RootError(Sen12MSError):
    """The root does not exist, is empty, or does not follow the official layout."""


class MissingFileError(Sen12MSError):
    """A file is missing: a patch's partner file (S1, S2 or LC), a split list, or a patch a split list names."""


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


class LabelCodeError(Sen12MSError):
    """A land-cover patch holds too many values that are not IGBP codes (1..17), or values above 255.

    See :data:`xmodal.data.labels.INVALID_CODE_MAX_SHARE` for the share tolerated.
    """


class SplitListError(Sen12MSError):
    """An official split list is inconsistent: a patch in both lists, or a line naming no patch."""


class Sen12MSWarning(UserWarning):
    """Base class of the data layer's warnings: the data is usable, but not as clean as it should be."""


class LabelCodeWarning(Sen12MSWarning):
    """Land-cover patches hold a few pixels outside IGBP 1..17; they are ignored and the label renormalised."""


class SplitListWarning(Sen12MSWarning):
    """An official split list repeats a patch (or, with ``bad_patch="skip"``, names a missing or unknown one)."""


#: Error class by name, to re-raise errors recorded in a cache manifest.
ERRORS_BY_NAME: dict[str, type[Sen12MSError]] = {
    cls.__name__: cls
    for cls in (
        Sen12MSError, RootError, MissingFileError, CorruptFileError,
        BandCountError, DTypeError, PatchSizeError, AllNaNError, LabelCodeError, SplitListError,
    )
}
