"""SEN12MS data: the reader, labels, splits, the packed cache and a synthetic generator.

Public names: :class:`Sen12MS` (a torch Dataset per modality), :func:`make_synthetic`
and :class:`SyntheticParams` (SEN12MS-like GeoTIFFs in the official layout),
:data:`IGBP_TO_SIMPLE`, :func:`soft_label`, :data:`INVALID_CODE_MAX_SHARE`,
:func:`class_names`, :func:`make_split`, :func:`partition_scenes`, :func:`read_official_lists`,
:func:`describe_root`, :func:`check_root`, the errors (all subclasses of
:class:`Sen12MSError`) and the warnings (all subclasses of :class:`Sen12MSWarning`). Clouds
(:mod:`xmodal.data.clouds`): :func:`cloud_cover`, :func:`select_patches`,
:func:`make_cloudy_root` (SEN12MS-CR cloudy S2) and :func:`make_cloud_variant` (a synthetic
root's S2 again with a fixed cloud cover).
"""

from typing import TYPE_CHECKING, Any

from .cache import PackedCache
from .clouds import CloudDataError, cloud_cover, make_cloudy_root, select_patches
from .errors import (
    AllNaNError,
    BandCountError,
    CorruptFileError,
    DTypeError,
    LabelCodeError,
    LabelCodeWarning,
    MissingFileError,
    PatchSizeError,
    RootError,
    Sen12MSError,
    Sen12MSWarning,
    SplitListError,
    SplitListWarning,
)
from .labels import (
    IGBP_TO_SIMPLE,
    INVALID_CODE_MAX_SHARE,
    LABEL_SCHEMES,
    SIMPLE_CLASS_NAMES,
    class_names,
    label_codes,
    n_classes,
    soft_label,
    soft_labels,
)
from .layout import MARKER_NAME, SEASONS, PatchKey, check_data_root, patch_path, season_folder
from .normalize import MODALITIES as MODALITY_SPECS
from .normalize import PUBLISHED_STATS, modality_spec
from .splits import (
    PAIRINGS,
    PAPER_TEST_FRACTION,
    OfficialLists,
    leakage,
    make_split,
    partition_scenes,
    read_official_lists,
    subsample,
)
from .synthetic import SyntheticParams, make_cloud_variant, make_synthetic

if TYPE_CHECKING:
    from .sen12ms import FileProblem, Sen12MS, check_root, describe_root, split_leakage

#: The names of the reader's module :mod:`xmodal.data.sen12ms`, which imports torch (a second or two):
#: loaded when one is first used, so that reading results, drawing and the book do not pay for torch.
_READER_NAMES = frozenset({"FileProblem", "Sen12MS", "check_root", "describe_root", "split_leakage"})


def __getattr__(name: str) -> Any:
    """A name of the reader's module, imported on first use (a module ``__getattr__``, PEP 562)."""
    if name in _READER_NAMES:
        from . import sen12ms

        value = getattr(sen12ms, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

#: Modality name -> number of input channels.
MODALITIES: dict[str, int] = {name: spec.in_channels for name, spec in MODALITY_SPECS.items()}

__all__ = [
    "AllNaNError", "BandCountError", "CorruptFileError", "DTypeError", "LabelCodeError", "MissingFileError",
    "PatchSizeError", "RootError", "Sen12MSError", "SplitListError",
    "LabelCodeWarning", "Sen12MSWarning", "SplitListWarning",
    "IGBP_TO_SIMPLE", "INVALID_CODE_MAX_SHARE", "LABEL_SCHEMES", "SIMPLE_CLASS_NAMES", "class_names",
    "label_codes", "n_classes", "soft_label", "soft_labels",
    "SEASONS", "PatchKey", "check_data_root", "patch_path", "season_folder",
    "MODALITIES", "MODALITY_SPECS", "PUBLISHED_STATS", "modality_spec",
    "MARKER_NAME", "FileProblem", "Sen12MS", "check_root", "describe_root", "split_leakage",
    "PAPER_TEST_FRACTION", "OfficialLists", "leakage", "make_split", "read_official_lists", "subsample",
    "PAIRINGS", "partition_scenes",
    "PackedCache", "SyntheticParams", "make_synthetic",
    "CloudDataError", "cloud_cover", "make_cloudy_root", "select_patches", "make_cloud_variant",
]
