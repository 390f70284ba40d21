"""Cloud variants of a synthetic root: its S2 rendered again at fixed thick-cloud covers.

One variant per cover, beside the root it was made from::

    <data>-clouds/c000/ ... c100/      the study's data root with S2 re-rendered at a fixed
                                       thick-cloud cover (:func:`xmodal.data.make_cloud_variant`:
                                       only S2 and the masks are written, S1 and LC are hard links)

A variant already made from the same source at the same cover by the same generator
version is reused (:func:`make_variants`). Variants need a synthetic root (the generator
renders the clouds): real SEN12MS has no cloud-free / cloudy pairs of one acquisition
(SEN12MS-CR's cloudy S2 is another acquisition, see :func:`xmodal.data.make_cloudy_root`).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np

from xmodal.data.layout import MARKER_NAME
from xmodal.rundir import read_json

from .errors import CloudEvalError

__all__ = ["DEFAULT_COVERS", "Variant", "check_covers", "cover_name", "make_variants", "season_entry", "variant_root"]

#: S2 thick-cloud covers the test split is rendered at (0 is always added: the clear-sky reference).
DEFAULT_COVERS: Final[tuple[float, ...]] = (0.0, 0.25, 0.5, 0.75, 1.0)
#: Entries a cloud variant root may hold (it is removed and made again only if it holds nothing else).
_VARIANT_ENTRIES: Final[tuple[str, ...]] = (MARKER_NAME, ".xmodal_cache")


def check_covers(covers: Iterable[float]) -> tuple[float, ...]:
    """The covers to evaluate, sorted, without repeats, with 0 (the clear-sky reference) added.

    Raises:
        ValueError: a cover that is not a number in [0, 1] (the message names it).
    """
    out = {0.0}
    for c in covers:
        if isinstance(c, bool) or not isinstance(c, (int, float, np.integer, np.floating)) or not 0.0 <= c <= 1.0:
            raise ValueError(f"Invalid cloud cover {c!r}: a cover is the share of a patch under cloud, in [0, 1]")
        out.add(round(float(c), 6))
    return tuple(sorted(out))


def cover_name(cover: float) -> str:
    """Folder / file name of a cover: ``c000``, ``c025``, ``c050``, ``c100`` (``c012.5`` between percents)."""
    pct = round(float(cover) * 100.0, 4)
    return f"c{int(pct):03d}" if float(pct).is_integer() else f"c{pct:07.3f}".rstrip("0")


def variant_root(data_root: str | os.PathLike[str], cover: float) -> Path:
    """Where the cloud variant of ``data_root`` at ``cover`` lives: ``<data>-clouds/c050``."""
    root = Path(data_root).resolve()
    return root.parent / f"{root.name}-clouds" / cover_name(cover)


@dataclass(frozen=True)
class Variant:
    """One cloud variant: its cover, root, generator fingerprint and whether it was made now."""

    cover: float
    root: Path
    fingerprint: str
    made: bool


def season_entry(root: Path, sf: str) -> dict[str, Any] | None:
    """The synthetic marker's entry of season folder ``sf`` of ``root`` (None: not a complete synthetic root)."""
    meta = read_json(root / MARKER_NAME)
    if meta is None or meta.get("status") != "complete":
        return None
    entry = (meta.get("seasons") or {}).get(sf)
    return None if entry is None else {**entry, "version": meta.get("version"), "fingerprint": meta.get("fingerprint")}


def _current_variant(src_entry: Mapping[str, Any], dst: Path, sf: str, cover: float) -> str | None:
    """The fingerprint of the variant at ``dst`` if it is the one ``src_entry`` makes at ``cover``, else None."""
    from xmodal.data.synthetic import GENERATOR_VERSION, SyntheticParams

    got = season_entry(dst, sf)
    if got is None or got.get("version") != GENERATOR_VERSION or not got.get("fingerprint"):
        return None
    want = SyntheticParams.from_dict(dict(src_entry["params"])).replace(thick_cloud_fixed_cover=float(cover))
    same = all(got.get(k) == src_entry.get(k) for k in ("seed", "n_scenes", "patches_per_side", "patch_size"))
    try:  # a record may leave out the world knobs at their neutral values (SyntheticParams.identity)
        recorded = SyntheticParams.from_dict(dict(got.get("params") or {})).to_dict()
    except ValueError:
        return None
    if not same or json.loads(json.dumps(want.to_dict())) != recorded:
        return None
    return str(got["fingerprint"])


def make_variants(
    data_root: str | os.PathLike[str],
    covers: Iterable[float] = DEFAULT_COVERS,
    season: str = "winter",
    progress: bool = True,
) -> dict[float, Variant]:
    """Make (or reuse) the cloud variants of a synthetic root, one per cover.

    A variant already made from the same source arguments at the same cover by the
    same generator version is reused; another one in its place is made again (only
    if its folder holds nothing but a synthetic root, else an error names it).

    Args:
        data_root: a root made by :func:`xmodal.data.make_synthetic` (the study's data).
        covers: thick-cloud covers (0..1).
        season: the season to render.
        progress: show the generator's progress bars.

    Returns:
        cover -> variant (root, fingerprint, whether it was made now).

    Raises:
        CloudEvalError: ``data_root`` is not a synthetic root of ``season``, or a variant's
            folder holds other data.
    """
    from xmodal.data import make_cloud_variant
    from xmodal.data.layout import season_folder

    src = Path(data_root).resolve()
    sf = season_folder(season)
    src_entry = season_entry(src, sf)
    if src_entry is None:
        raise CloudEvalError(
            f"{src} is not a complete synthetic root of season {season!r} (no {MARKER_NAME} with it): "
            "cloud variants are rendered by the synthetic generator, so the cloud evaluation needs the "
            "synthetic data the study ran on (real SEN12MS has no cloudy re-rendering of the same acquisition)"
        )
    out: dict[float, Variant] = {}
    for cover in check_covers(covers):
        dst = variant_root(src, cover)
        fp = _current_variant(src_entry, dst, sf, cover)
        made = fp is None
        if made:
            if dst.exists():
                extra = sorted(p.name for p in dst.iterdir()
                               if p.name not in _VARIANT_ENTRIES and not p.name.startswith("ROIs"))
                if extra:
                    raise CloudEvalError(f"{dst} holds other data than a cloud variant ({extra[:3]}); move it away")
                shutil.rmtree(dst)
            make_cloud_variant(src, dst, cover, season=season, progress=progress)
            fp = _current_variant(src_entry, dst, sf, cover)
        if fp is None:  # pragma: no cover - the generator wrote something else than asked
            raise CloudEvalError(f"{dst}: the cloud variant just made does not match {src} at cover {cover}")
        out[cover] = Variant(cover, dst, fp, made)
    return out
