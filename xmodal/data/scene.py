"""One larger synthetic scene with thick clouds over part of it, and its truth: what a map is made of.

The study's data are patches cut from small scenes; a person who uses a trained model
instead has a whole scene. :func:`make_scene` renders one scene with the synthetic
generator's own physics (:mod:`xmodal.data.synthetic`: the same land cover, S2, S1 and
cloud rendering as the training patches, with the same :class:`SyntheticParams`) and
writes it as five GeoTIFFs in one folder, with the scene's CRS and 10 m transform::

    s1.tif      VV, VH sigma0 in dB, float32 (a few NaN pixels in some scenes, as in SEN12MS)
    s2.tif      the 13 bands B01..B12 (with B8A), reflectance x 10000, uint16, under thick clouds
    clouds.tif  the S2 cloud mask, uint8: 0 clear, 1 cloud, 2 cloud shadow, 3 thin cloud
    truth.tif   the true land cover at pixel resolution, IGBP codes (uint8)
    label.tif   the coarse MODIS-like label the training patches carry (IGBP codes, uint8)

The clouds cover part of the scene, not all of it: the thick-cloud field keeps its large
scales (``thick_cloud_cluster_scale`` 0, where the training roots remove them so that every
patch of a scene gets about the scene's cover) and its cells are ``cloud_scale`` patch sides
wide, so the clouds gather in a few large banks with clear sky between them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np

from .clouds import CLOUDY_CODES
from .normalize import S1_BANDS, S2_BANDS
from .synthetic import CLD_BANDS, SyntheticParams, _make_scene, _write_tif

__all__ = ["SCENE_FILES", "SyntheticScene", "make_scene"]

#: The files of a scene folder, by role.
SCENE_FILES: Final[dict[str, str]] = {
    "s1": "s1.tif", "s2": "s2.tif", "clouds": "clouds.tif", "truth": "truth.tif", "label": "label.tif",
}
#: File recording the scene's arguments, written last (a folder without it is incomplete).
SCENE_RECORD: Final[str] = "scene.json"


@dataclass(frozen=True)
class SyntheticScene:
    """A scene written by :func:`make_scene`.

    Attributes:
        folder: the scene's folder.
        side: its width and height in pixels.
        patch_size: the patch size its physics were scaled for (the training data's).
        cloud_cover: share of the S2 pixels flagged cloud (codes 1 and 3) in its mask.
        info: biome, EPSG code, seeds and the other draws of the scene.
    """

    folder: Path
    side: int
    patch_size: int
    cloud_cover: float
    info: dict[str, Any] = field(default_factory=dict)

    def path(self, role: str) -> Path:
        """The file of ``role`` (a key of :data:`SCENE_FILES`)."""
        return self.folder / SCENE_FILES[role]

    @property
    def s1(self) -> Path:
        """``s1.tif``."""
        return self.path("s1")

    @property
    def s2(self) -> Path:
        """``s2.tif``."""
        return self.path("s2")

    @property
    def clouds(self) -> Path:
        """``clouds.tif``."""
        return self.path("clouds")

    def truth(self) -> np.ndarray:
        """The true land cover, IGBP codes ``[side, side]``."""
        return _read_band(self.path("truth"))

    def label(self) -> np.ndarray:
        """The MODIS-like label, IGBP codes ``[side, side]``."""
        return _read_band(self.path("label"))


def _read_band(path: Path) -> np.ndarray:
    import rasterio

    with rasterio.open(path) as ds:
        return ds.read(1)


def make_scene(
    folder: str | Path,
    *,
    side: int = 512,
    patch_size: int = 32,
    cloud_cover: float = 0.35,
    cloud_scale: float = 2.0,
    season: str = "winter",
    seed: int = 0,
    scene: int = 1,
    params: SyntheticParams | dict[str, Any] | None = None,
) -> SyntheticScene:
    """Render one synthetic scene with thick clouds over part of it and write its files.

    Args:
        folder: where the files go (created; files of an earlier scene are replaced).
        side: width and height in pixels (at least one patch).
        patch_size: the patch size of the training data, which scales the land cover's
            regions and objects (as :func:`~xmodal.data.make_synthetic` does).
        cloud_cover: share of the scene under thick cloud (0..1).
        cloud_scale: width of the cloud field's cells, in patch sides (larger: fewer, larger banks).
        season: the season (sun height, snow).
        seed, scene: the random streams, as in :func:`~xmodal.data.make_synthetic` (scene ``k``
            of seed ``s`` has the land cover of scene ``k`` of a root made with seed ``s``, at this size).
        params: the generator's physics (default :class:`SyntheticParams()`; pass the training
            root's, e.g. ``PageContext.synthetic_params()``, so the scene looks like the training data).

    Returns:
        The :class:`SyntheticScene`.

    Raises:
        ValueError: a bad argument (the message names it).
    """
    from rasterio.crs import CRS
    from rasterio.transform import Affine

    from xmodal import atomic

    if not isinstance(side, int) or side < patch_size or patch_size < 2:
        raise ValueError(f"make_scene: side {side!r} must be an int of at least patch_size {patch_size!r} (>= 2)")
    if not 0.0 <= float(cloud_cover) <= 1.0:
        raise ValueError(f"make_scene: cloud_cover {cloud_cover!r} must be in [0, 1]")
    if not float(cloud_scale) > 0:
        raise ValueError(f"make_scene: cloud_scale {cloud_scale!r} must be > 0 (patch sides)")
    base = params if isinstance(params, SyntheticParams) else SyntheticParams.from_dict(dict(params or {}))
    p = base.replace(thick_cloud_fixed_cover=float(cloud_cover), thick_cloud_scale=float(cloud_scale),
                     thick_cloud_cluster_scale=0.0)
    sc = _make_scene(p, seed, season, scene, side, patch_size)
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    (out / SCENE_RECORD).unlink(missing_ok=True)
    crs = CRS.from_epsg(sc.info["epsg"])
    x0, y0 = sc.info["origin"]
    res = float(p.pixel_size_m)
    transform = Affine(res, 0.0, x0, 0.0, -res, y0)
    layers: dict[str, tuple[np.ndarray, tuple[str, ...], str | None]] = {
        "s1": (sc.s1, S1_BANDS, None),
        "s2": (sc.s2, S2_BANDS, None),
        "clouds": (sc.cld[None].astype(np.uint8), CLD_BANDS, "deflate"),
        "truth": (sc.igbp_true[None].astype(np.uint8), ("IGBP (true land cover)",), "deflate"),
        "label": (sc.igbp_label[None].astype(np.uint8), ("IGBP (MODIS-like label)",), "deflate"),
    }
    for role, (arr, names, compress) in layers.items():
        def write(tmp: Path, a: np.ndarray = arr, n: tuple[str, ...] = names, c: str | None = compress) -> None:
            _write_tif(tmp, a, crs, transform, n, c)

        atomic.write_with(out / SCENE_FILES[role], write, fsync=False)
    cover = float(np.isin(sc.cld, CLOUDY_CODES).mean())
    info = {"biome": sc.info["biome"], "epsg": sc.info["epsg"], "seed": seed, "scene": scene, "season": season,
            "s1_nan_pixels": sc.info["s1_nan_pixels"], "thick_cloud_cover": sc.info["thick_cloud_cover"],
            "cloud_scale": float(cloud_scale)}
    atomic.write_json(out / SCENE_RECORD, {"side": side, "patch_size": patch_size, "cloud_cover": cover, **info,
                                           "params": p.to_dict()})
    return SyntheticScene(out, side, patch_size, cover, info)

