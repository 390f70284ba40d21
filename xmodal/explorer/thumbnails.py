"""Patch thumbnails for the page: each sensor's display composite as a small JPEG data URI."""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from xmodal.data.normalize import DISPLAY_COMPOSITES

__all__ = ["THUMB_QUALITY", "THUMB_SIZE", "VIEWS", "thumbnail"]

#: Thumbnail side in pixels, and JPEG quality.
THUMB_SIZE = 32
THUMB_QUALITY = 80
#: Thumbnail views: the file a view is read from, the bands it shows and its caption.
VIEWS: dict[str, dict[str, str]] = {
    sensor: {"sensor": sensor, "caption": caption} for sensor, (caption, _) in DISPLAY_COMPOSITES.items()
}


def thumbnail(root: str | Path, patch_id: str, view: str, size: int = THUMB_SIZE,
              quality: int = THUMB_QUALITY) -> str:
    """A patch's thumbnail as a ``data:image/jpeg;base64,...`` URI.

    The display conventions are the project's (:func:`xmodal.plots.display_rgb`: S1
    false colour VV, VH, VV-VH; S2 true colour B04, B03, B02; each channel stretched
    between its 2nd and 98th percentile), then the image is box-averaged to ``size`` pixels.

    Raises:
        xmodal.data.MissingFileError: if the patch's file is not under ``root``.
    """
    from PIL import Image

    from xmodal.data.layout import read_patch
    from xmodal.data.normalize import SENSOR_BANDS
    from xmodal.plots.runs import display_rgb

    sensor = VIEWS[view]["sensor"]
    raw = read_patch(root, patch_id, sensor)
    rgb = display_rgb(raw, SENSOR_BANDS[sensor], sensor)
    img = Image.fromarray((np.nan_to_num(rgb) * 255 + 0.5).astype(np.uint8))
    if img.size != (size, size):
        img = img.resize((size, size), Image.Resampling.BOX)
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _view_of(sensor: str) -> str | None:
    """The thumbnail view of a modality (``s2all`` and ``rgb`` read the S2 file), or None."""
    from xmodal.data import MODALITY_SPECS

    spec = MODALITY_SPECS.get(sensor)
    return spec.sensor if spec is not None and spec.sensor in VIEWS else None


def _thumbnails(ids: Sequence[str], views: Sequence[str], roots: Sequence[str | None], size: int,
                ) -> tuple[dict[str, list[str | None]], str]:
    """Thumbnails of every patch and view, and a note saying what is missing."""
    found = [Path(r) for r in dict.fromkeys(r for r in roots if r) if Path(r).is_dir()]
    out: dict[str, list[str | None]] = {v: [None] * len(ids) for v in views}
    if not found:
        named = ", ".join(str(r) for r in dict.fromkeys(r for r in roots if r)) or "none recorded"
        return out, f"No thumbnails: the data the runs read is not here ({named})."
    root = found[0]
    missing = 0
    for view in views:
        for i, pid in enumerate(ids):
            try:
                out[view][i] = thumbnail(root, pid, view, size=size)
            except (FileNotFoundError, ValueError, OSError):
                missing += 1
    total = len(ids) * len(views)
    note = f"Thumbnails: {total - missing} of {total} read from {root}"
    note += f" ({missing} patch files missing)." if missing else "."
    return out, note
