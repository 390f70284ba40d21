"""Synthetic SEN12MS-like data: real GeoTIFFs in the official layout.

The generator lets every part of the project (reader, trainer, study, book) run
on a laptop without the 510 GB SEN12MS release, while exercising exactly the code
path a real run uses: it writes GeoTIFFs with a CRS, a 10 m affine transform and
band descriptions, in the folder layout of the official release::

    ROOT/ROIs2017_winter/s1_<scene>/ROIs2017_winter_s1_<scene>_p<patch>.tif
    ROOT/ROIs2017_winter/s2_<scene>/ROIs2017_winter_s2_<scene>_p<patch>.tif
    ROOT/ROIs2017_winter/lc_<scene>/ROIs2017_winter_lc_<scene>_p<patch>.tif

S1: VV, VH sigma0 in dB, float32. S2: the 13 bands B01..B12 (with B8A), surface
reflectance x 10000, uint16. LC: IGBP, LCCS-LC, LCCS-LU, LCCS-SH, uint16. Beside
them, the cloud mask of every S2 patch and the season's cover list (see
:mod:`xmodal.data.clouds`; the reader ignores both)::

    ROOT/ROIs2017_winter/cld_<scene>/ROIs2017_winter_cld_<scene>_p<patch>.tif
    ROOT/ROIs2017_winter/cloud_cover.csv

masks uint8 (0 clear, 1 cloud, 2 cloud shadow, 3 thin cloud) with the patch's CRS
and transform; the list has one row per patch (cloud, shadow and thin-cloud
shares). And a marker ``ROOT/xmodal_synthetic.json`` recording the arguments,
every physical parameter and the counts (written last and atomically: a root
without it is incomplete).

How a scene is made (one scene = one SEN12MS "ROI"; every number below is a field
of :class:`SyntheticParams`):

1. **Biome and class priors.** Each scene draws a biome (temperate forest,
   cropland, savanna, ...) and a Dirichlet-perturbed prior over the ten
   simplified classes, so class frequencies are strongly imbalanced across the
   data set and vary from scene to scene as in SEN12MS. In winter the snowy
   mountain biome is more likely.
2. **True land cover at 10 m.** A two-level Voronoi partition with warped
   boundaries: large regions (about ``region_scale`` patch sides) draw a class
   from the scene prior, small inclusions (lakes, villages, woods) replace it
   with probability ``inclusion_prob``. Small cells are also the *objects*
   (fields, stands) that carry object-level spectral variability. Each class is
   refined into an IGBP code (e.g. forest -> needleleaf / broadleaf / mixed).
3. **Coarse MODIS-like label.** A 500 m label grid, misaligned with the patch
   grid like the MODIS sinusoidal grid, holds about ``label_cells_per_patch`` x
   ``label_cells_per_patch`` cells per patch; each cell takes the majority IGBP
   code of the true cover under it, and with probability ``label_noise`` the
   runner-up (a boundary error) instead. The LC file holds this label resampled
   to 10 m, so soft labels come in steps of about 1/25 and the imagery is finer
   than its labels -- as in SEN12MS.
4. **Sentinel-2** surface reflectance x 10000 rendered from the *true* cover:
   per-class 13-band signatures, per-scene gains (illumination, phenology),
   per-object gain and soil mixing (vigour, density), correlated texture, an
   adjacency blur, sensor noise, seasonal snow on open land in some winter
   scenes, and optional thin clouds (B10 cirrus responds to them; ``cloud_prob``,
   about 6% of scenes).
5. **Sentinel-1** sigma0 in dB: per-class VV/VH backscatter, per-scene offsets
   (incidence angle, soil moisture, wind on water), per-object and textural
   variation, bright urban scatterers, multiplicative gamma speckle in linear
   power (``s1_looks`` looks, mean 1), a few NaN pixels in some scenes. The
   vegetated classes overlap in backscatter, so S1 is intrinsically less
   separable than S2.
6. **Thick clouds and their shadows** (off by default: ``thick_cloud_prob`` 0),
   laid over the finished S2 of the scene, so that overlapping patches agree and
   shadows cross patch borders. A scene is cloudy with probability
   ``thick_cloud_prob`` and its cover drawn from Beta(``thick_cloud_cover_beta``),
   or every scene gets the cover ``thick_cloud_fixed_cover``
   (``make_synthetic(cloud_cover=...)``, for evaluation sweeps). The clouds are
   the top ``cover`` share of a smooth random field (cells of about 2.5 x
   ``thick_cloud_scale``; variations above ``thick_cloud_cluster_scale``
   removed, so every patch of a scene gets about the scene's cover, s.d. about
   0.05), with soft edges: bright and nearly flat from the visible to the NIR
   (``cloud_reflectance`` with a cloud-top texture equal in every band), bright
   in the cirrus band B10 (``cloud_b10``), with their own sensor noise. Each
   cloud casts a shadow displaced by height x tan(sun zenith) away from the sun
   (``cloud_height_m``, ``sun_zenith_deg``, ``sun_azimuth_deg``), in which the
   ground keeps ``cloud_shadow_factor`` of its reflectance (diffuse skylight,
   more in the blue). The masks flag cloud where the opacity is at least half,
   and shadow where a masked cloud's shadow falls outside any cloud.
7. **Patches** are cut from the scene with stride ``patch_size / 2`` (SEN12MS:
   256 px patches, stride 128), so neighbours overlap by half: a random split
   leaks, a split by scene is honest.

**World knobs.** A few parameters say what kind of world the data are, and are named as knobs
(:mod:`xmodal.data.knobs`, with their physical meaning and range): ``s1_looks`` (speckle),
``s1_contrast`` (how far apart the classes' mean backscatter is), ``s1_blind`` (how much of what S2
separates S1 cannot: the open vegetated classes' backscatter pulled together), ``s2_noise`` (one
factor on every within-class variation of S2) and ``label_noise``. The S1 knobs change only the S1
files and ``s2_noise`` only the S2 files (the land cover, hence the labels and class shares, stays),
which the calibration (:mod:`xmodal.worlds.calibration`) and the regime map rely on. At their neutral
values (:data:`NEUTRAL_KNOBS`) the data are those made before the knobs existed, with the same
fingerprint.

Everything is drawn from ``numpy.random.default_rng`` seeded by
``(seed, season, scene)``, so a scene's content does not depend on how many
scenes are generated, and equal arguments give identical bytes. Clouds come
from a separate stream of the scene (seeded by ``(seed, season, scene,
0xC10D)``), so S1 and LC are identical whatever the cloud parameters, and the
clouds of a fixed cover are a subset of those of any higher cover.
:func:`make_cloud_variant` uses this to make the S2 of a root again with a
fixed cover into a new root that hard-links the source's S1 and LC (for the
default study's 864-patch root, on 2 busy shared CPU cores: 8-11 s per cover,
about 45 s for covers 0, 0.25, 0.5, 0.75 and 1, against 16 s for the whole root).

Generator version 2 writes the same S1, S2 and LC files as version 1 for the
same arguments (masks and cover list added) unless ``cloud_prob`` differs from
its default 0.06: version 1 drew a thin-cloud field from the main stream exactly
for the scenes below ``cloud_prob``, so its S1 depended on it.

Why one module of about 1,600 lines: the generator draws every scene from one random stream
in a fixed order (land cover, S2, S1, clouds), and that order is what makes a seed give the same
files in every version; its stages share that stream and the documented physical parameters
(:class:`SyntheticParams`, a third of the length), so splitting them would spread the one order
over several files. A reader starts at :func:`make_synthetic`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Final

import numpy as np

from .clouds import CLEAR, CLOUD, COVER_LIST_NAME, SHADOW, THIN_CLOUD, mask_fractions, write_cover_csv
from .labels import SIMPLE_CLASS_NAMES, soft_labels
from .layout import CLOUD_MASK, MARKER_NAME, SEASONS, SENSORS, PatchKey, mask_path, patch_path, season_folder
from .normalize import LC_BANDS, S1_BANDS, S2_BANDS  # the band names written into the files: the reader's

__all__ = [
    "NEUTRAL_KNOBS",
    "SyntheticParams",
    "make_synthetic",
    "s1_class_means",
    "make_cloud_variant",
    "MARKER_NAME",
    "S1_BANDS",
    "S2_BANDS",
    "LC_BANDS",
    "GENERATOR_VERSION",
]


#: Version of the generator's output; bump when the same arguments give different data.
#: Version 2 (clouds) writes the same S1, S2 and LC files as version 1 whenever
#: ``cloud_prob`` has its default (0.06), and adds cloud masks and the cover list.
GENERATOR_VERSION: Final[int] = 2

#: Versions whose S1 and LC files equal this version's for the same arguments, provided
#: ``cloud_prob`` equals :data:`_V1_THIN_CLOUD_DRAW` for version 1.
_S1_LC_COMPATIBLE_VERSIONS: Final[tuple[int, ...]] = (1, 2)

#: ``cloud_prob`` of generator version 1. A scene whose thin-cloud draw falls below it
#: draws its thin-cloud field from the scene's main stream, as version 1 did, whatever
#: ``cloud_prob`` is now (and uses it only if the scene is thin-cloudy); other thin-cloudy
#: scenes draw it from their cloud stream. So S1 never depends on ``cloud_prob`` and the
#: default data are those of version 1.
_V1_THIN_CLOUD_DRAW: Final[float] = 0.06

#: Appended to a scene's seed to make its cloud stream (spawned into one stream for thin
#: and one for thick clouds): clouds never consume the stream that makes land cover,
#: labels and S1, so those stay identical whatever the cloud parameters.
_CLOUD_STREAM: Final[int] = 0xC10D

#: Ground size of a SEN12MS patch side (256 px x 10 m); the generator's spatial scales are
#: in patch sides, so lengths in metres (shadow offsets) convert with it.
SEN12MS_PATCH_M: Final[float] = 2560.0

#: Largest accepted sun zenith angle, degrees (the shadow offset grows with its tangent).
_MAX_SUN_ZENITH_DEG: Final[float] = 85.0

#: Field s.d. over which a thin cloud's opacity ramps up from its edge (generator version 1).
_THIN_CLOUD_RAMP: Final[float] = 0.8

#: Parameters that do not change S1 or LC (a root differing only in these shares them).
_CLOUD_PARAMS: Final[frozenset[str]] = frozenset({
    "cloud_prob", "cloud_max_opacity", "cloud_cover", "cloud_reflectance", "cloud_b10",
    "thin_cloud_mask_opacity", "thick_cloud_prob", "thick_cloud_cover_beta",
    "thick_cloud_fixed_cover", "thick_cloud_scale", "thick_cloud_cluster_scale",
    "thick_cloud_opacity", "thick_cloud_edge", "thick_cloud_texture_sd",
    "thick_cloud_texture_scale", "cloud_height_m", "sun_zenith_deg", "sun_azimuth_deg",
    "cloud_shadow_factor",
})

#: The world knobs of the generator at their neutral values (the data made before they existed):
#: when all of them are neutral they are left out of the data's record and fingerprint
#: (:meth:`SyntheticParams.identity`).
NEUTRAL_KNOBS: Final[dict[str, Any]] = {
    "s1_contrast": 1.0, "s1_blind": 0.0, "s2_noise": 1.0,
    "s1_blind_classes": ["Shrubland", "Savanna", "Grassland", "Cropland"],
}

#: The ten S2 bands whose signatures are parameters (B01, B09, B10 are derived from them).
SIGNATURE_BANDS: Final[tuple[str, ...]] = (
    "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B11", "B12",
)

_CLASSES: Final[tuple[str, ...]] = SIMPLE_CLASS_NAMES  # index 0 = simplified class 1
_N_CLASSES: Final[int] = len(_CLASSES)
_OPEN_LAND: Final[tuple[str, ...]] = ("Shrubland", "Savanna", "Grassland", "Cropland", "Barren")
_VEGETATION: Final[tuple[str, ...]] = (
    "Forest", "Shrubland", "Savanna", "Grassland", "Wetland", "Cropland",
)

#: MODIS LCCS layers derived from IGBP (plausible codes of MCD12Q1's LC_Prop1..3):
#: IGBP -> (LCCS land cover, LCCS land use, LCCS surface hydrology).
IGBP_TO_LCCS: Final[dict[int, tuple[int, int, int]]] = {
    1: (11, 10, 10),   # evergreen needleleaf forest
    2: (12, 10, 10),   # evergreen broadleaf forest
    3: (13, 10, 10),   # deciduous needleleaf forest
    4: (14, 10, 10),   # deciduous broadleaf forest
    5: (15, 10, 10),   # mixed forest
    6: (41, 40, 40),   # closed shrubland
    7: (43, 40, 40),   # open shrubland
    8: (21, 20, 20),   # woody savanna
    9: (22, 20, 30),   # savanna
    10: (31, 30, 30),  # grassland
    11: (31, 30, 50),  # permanent wetland (herbaceous wetland)
    12: (31, 36, 30),  # cropland (herbaceous cropland)
    13: (32, 9, 30),   # urban and built-up
    14: (31, 35, 30),  # cropland / natural vegetation mosaic
    15: (2, 2, 2),     # permanent snow and ice
    16: (1, 1, 1),     # barren
    17: (3, 3, 3),     # water bodies
}
_LCCS_LUT = np.zeros((18, 3), dtype=np.uint16)
for _code, _lccs in IGBP_TO_LCCS.items():
    _LCCS_LUT[_code] = _lccs


def _p(default: Any, unit: str, doc: str, group: str) -> Any:
    """A documented dataclass field (unit, description and group live in the metadata)."""
    meta = {"unit": unit, "doc": doc, "group": group}
    if isinstance(default, (dict, list)):
        def fresh() -> Any:  # every instance gets its own copy of a mutable default
            return _deepcopy(default)

        return field(default_factory=fresh, metadata=meta)
    return field(default=default, metadata=meta)


def _deepcopy(value: Any) -> Any:
    return json.loads(json.dumps(value))


@dataclass
class SyntheticParams:
    """Every physical parameter of the synthetic SEN12MS-like data, in one place.

    Defaults are typical values from remote-sensing practice (not measurements of
    SEN12MS), tuned so that a simple classifier on per-patch band statistics
    separates the classes clearly better from S2 than from S1 and perfectly from
    neither. Measured with the defaults (96 winter scenes of 6 x 6 patches of
    64 px, seeds 0-2; a random forest on each band's patch mean and s.d.,
    trained on 72 scenes and tested on the other 24; nine-class labels
    thresholded at 0.3): weighted F1 0.71-0.74 from S2 (macro 0.60-0.62) and
    0.54-0.58 from S1 (macro 0.46-0.55). Class-keyed tables use the simplified class names of
    :data:`xmodal.data.labels.SIMPLE_CLASS_NAMES`. Each field carries its unit
    and description in its metadata; :meth:`table` lists them for display.
    """

    # --- land cover -------------------------------------------------------------
    biome_weights: dict[str, float] = _p(
        {
            "temperate forest": 0.20, "cropland plains": 0.22, "savanna": 0.18,
            "grassland steppe": 0.14, "arid": 0.08, "urban coast": 0.06,
            "boreal wetland": 0.07, "snowy mountains": 0.05,
        },
        "weight", "Probability (unnormalised) that a scene belongs to each biome.", "land cover",
    )
    biome_priors: dict[str, dict[str, float]] = _p(
        {
            "temperate forest": {"Forest": 0.55, "Shrubland": 0.03, "Savanna": 0.10,
                                 "Grassland": 0.12, "Wetland": 0.01, "Cropland": 0.12,
                                 "Urban": 0.03, "Water": 0.04},
            "cropland plains": {"Forest": 0.10, "Savanna": 0.05, "Grassland": 0.15,
                                "Wetland": 0.01, "Cropland": 0.57, "Urban": 0.08, "Water": 0.04},
            "savanna": {"Forest": 0.10, "Shrubland": 0.08, "Savanna": 0.50, "Grassland": 0.20,
                        "Cropland": 0.07, "Urban": 0.01, "Barren": 0.02, "Water": 0.02},
            "grassland steppe": {"Shrubland": 0.12, "Savanna": 0.08, "Grassland": 0.50,
                                 "Cropland": 0.17, "Barren": 0.08, "Urban": 0.02, "Water": 0.03},
            "arid": {"Shrubland": 0.30, "Savanna": 0.03, "Grassland": 0.15, "Cropland": 0.02,
                     "Urban": 0.03, "Barren": 0.45, "Water": 0.02},
            "urban coast": {"Forest": 0.10, "Savanna": 0.03, "Grassland": 0.12, "Wetland": 0.03,
                            "Cropland": 0.15, "Urban": 0.32, "Water": 0.25},
            "boreal wetland": {"Forest": 0.45, "Shrubland": 0.05, "Savanna": 0.05,
                               "Grassland": 0.08, "Wetland": 0.14, "Water": 0.20,
                               "Snow/Ice": 0.03},
            "snowy mountains": {"Forest": 0.20, "Shrubland": 0.05, "Grassland": 0.15,
                                "Snow/Ice": 0.30, "Barren": 0.25, "Water": 0.05},
        },
        "weight", "Class prior of each biome (unnormalised; classes left out have weight 0).",
        "land cover",
    )
    prior_concentration: float = _p(
        12.0, "-", "Dirichlet concentration of a scene's class prior around its biome's prior "
        "(smaller = scenes differ more).", "land cover",
    )
    prior_floor: float = _p(
        0.002, "-", "Weight added to every class of every scene prior, so that any class can "
        "occur anywhere (rarely).", "land cover",
    )
    winter_snow_factor: float = _p(
        3.0, "x", "In winter, the snowy-mountain biome weight is multiplied by this factor.",
        "land cover",
    )
    igbp_codes: dict[str, dict[str, float]] = _p(
        {
            "Forest": {"1": 0.30, "2": 0.15, "3": 0.05, "4": 0.25, "5": 0.25},
            "Shrubland": {"6": 0.3, "7": 0.7},
            "Savanna": {"8": 0.6, "9": 0.4},
            "Grassland": {"10": 1.0},
            "Wetland": {"11": 1.0},
            "Cropland": {"12": 0.6, "14": 0.4},
            "Urban": {"13": 1.0},
            "Snow/Ice": {"15": 1.0},
            "Barren": {"16": 1.0},
            "Water": {"17": 1.0},
        },
        "weight", "IGBP codes of each simplified class and their weights (a scene picks a "
        "dominant code per class; objects keep it with probability igbp_dominant_prob).",
        "land cover",
    )
    igbp_dominant_prob: float = _p(
        0.75, "-", "Probability that an object takes its scene's dominant IGBP code for its "
        "class (otherwise a code drawn from igbp_codes).", "land cover",
    )
    region_scale: float = _p(
        0.8, "patch side", "Mean size of a large land-cover region (Voronoi cell), in patch "
        "sides (a 256 px SEN12MS patch is 2.56 km).", "land cover",
    )
    object_scale: float = _p(
        0.25, "patch side", "Mean size of an object (field, stand, lake, village): the small "
        "Voronoi cells, in patch sides.", "land cover",
    )
    inclusion_prob: float = _p(
        0.12, "-", "Probability that an object is an inclusion whose class is drawn anew "
        "from the scene prior (a lake in a forest, a village in cropland).", "land cover",
    )
    boundary_warp: float = _p(
        0.10, "patch side", "Standard deviation of the smooth displacement that bends region "
        "boundaries, in patch sides (object edges bend half as much).", "land cover",
    )
    # --- labels -----------------------------------------------------------------
    label_cells_per_patch: float = _p(
        5.0, "cells", "MODIS label cells across a patch side (500 m cells, 2.56 km patch: "
        "about 5), i.e. label cell = patch_size / this, in pixels.", "labels",
    )
    label_noise: float = _p(
        0.03, "-", "Probability that a label cell takes the runner-up class under it (a "
        "boundary error) instead of the majority; a random class if the cell is pure.",
        "labels",
    )
    # --- Sentinel-2 -------------------------------------------------------------
    s2_signatures: dict[str, list[float]] = _p(
        {
            "Forest": [300, 500, 300, 800, 2200, 2800, 3000, 3100, 1500, 700],
            "Shrubland": [800, 1100, 1300, 1600, 1900, 2050, 2150, 2250, 3100, 2600],
            "Savanna": [450, 700, 650, 1100, 2100, 2500, 2700, 2800, 2300, 1450],
            "Grassland": [500, 800, 700, 1200, 2500, 2900, 3100, 3200, 2500, 1500],
            "Wetland": [400, 550, 420, 700, 1300, 1600, 1700, 1750, 1000, 500],
            "Cropland": [700, 900, 1000, 1300, 1800, 2100, 2300, 2400, 2600, 1900],
            "Urban": [1100, 1200, 1300, 1400, 1600, 1700, 1800, 1850, 2000, 1800],
            "Snow/Ice": [8500, 8300, 8000, 7800, 7500, 7200, 7000, 6900, 800, 600],
            "Barren": [1500, 1900, 2300, 2500, 2700, 2800, 2900, 3000, 3500, 3000],
            "Water": [600, 500, 300, 250, 200, 180, 150, 150, 80, 50],
        },
        "reflectance x 10000", "Mean reflectance of each class in B02, B03, B04, B05, B06, "
        "B07, B08, B8A, B11, B12.", "Sentinel-2",
    )
    s2_soil: list[float] = _p(
        [1200, 1500, 1800, 2000, 2200, 2300, 2400, 2500, 3000, 2600],
        "reflectance x 10000", "Bare-soil spectrum mixed into vegetation objects (sparse "
        "canopy, stubble), same bands as s2_signatures.", "Sentinel-2",
    )
    s2_soil_mix_max: float = _p(
        0.20, "-", "Maximum fraction of bare soil mixed into a vegetation object (uniform "
        "between 0 and this).", "Sentinel-2",
    )
    s2_b01_gain: float = _p(
        1.05, "x", "B01 (coastal aerosol) = s2_b01_gain * B02 + s2_b01_offset.", "Sentinel-2",
    )
    s2_b01_offset: float = _p(100.0, "reflectance x 10000", "Offset of B01 over B02.", "Sentinel-2")
    s2_b09_fraction: float = _p(
        0.35, "-", "B09 (water vapour) as a fraction of B8A.", "Sentinel-2",
    )
    s2_b10_level: float = _p(
        15.0, "reflectance x 10000", "B10 (cirrus) of a clear sky: near zero.", "Sentinel-2",
    )
    s2_scene_gain_sd: float = _p(
        0.05, "relative", "Per scene and class multiplicative gain s.d. (phenology, "
        "illumination, atmosphere), all bands alike.", "Sentinel-2",
    )
    s2_band_gain_sd: float = _p(
        0.03, "relative", "Per scene and band multiplicative gain s.d. (residual atmosphere).",
        "Sentinel-2",
    )
    s2_object_gain_sd: dict[str, float] = _p(
        {"Forest": 0.06, "Shrubland": 0.08, "Savanna": 0.08, "Grassland": 0.06, "Wetland": 0.08,
         "Cropland": 0.18, "Urban": 0.10, "Snow/Ice": 0.04, "Barren": 0.08, "Water": 0.10},
        "relative", "Per object multiplicative gain s.d. of each class (density, vigour; "
        "cropland: field to field differences in crop and tillage).", "Sentinel-2",
    )
    s2_texture_sd: dict[str, float] = _p(
        {"Forest": 0.07, "Shrubland": 0.12, "Savanna": 0.12, "Grassland": 0.05, "Wetland": 0.10,
         "Cropland": 0.05, "Urban": 0.25, "Snow/Ice": 0.03, "Barren": 0.06, "Water": 0.04},
        "relative", "S.d. of the spatially correlated multiplicative texture of each class "
        "(urban: roofs, roads and shadows; savanna and shrubland: scattered trees and bushes).",
        "Sentinel-2",
    )
    s2_texture_scale: float = _p(
        1.5, "px", "Correlation length (Gaussian sigma) of the texture.", "Sentinel-2",
    )
    s2_adjacency_px: float = _p(
        0.6, "px", "Gaussian blur sigma mixing neighbouring pixels (point spread, adjacency).",
        "Sentinel-2",
    )
    s2_noise_rel: float = _p(0.02, "relative", "Per-pixel multiplicative sensor noise s.d.",
                             "Sentinel-2")
    s2_noise_abs: float = _p(15.0, "reflectance x 10000", "Per-pixel additive sensor noise s.d.",
                             "Sentinel-2")
    s2_noise: float = _p(
        1.0, "x", "World knob: how variable S2 is within a class. Multiplies every nuisance "
        "variation of S2 alike: scene, band and object gains, texture, soil mixing and sensor "
        "noise (0 = every pixel of a class its signature, 1 = the values above, 2 = twice). "
        "Range 0-3.", "Sentinel-2",
    )
    seasonal_snow_prob: dict[str, float] = _p(
        {"winter": 0.06, "spring": 0.03, "fall": 0.02, "summer": 0.0},
        "-", "Probability per season that a scene has seasonal snow on open land (the annual "
        "MODIS label does not change; S2 sees snow, S1 little).", "Sentinel-2",
    )
    seasonal_snow_cover: float = _p(
        0.5, "-", "Fraction of the open land (shrubland, savanna, grassland, cropland, barren) "
        "of a snowy scene under snow.", "Sentinel-2",
    )
    leaf_off_nir: float = _p(
        0.65, "x", "In winter, red-edge and NIR reflectance of deciduous forest (IGBP 3, 4) and "
        "half of it for mixed forest (IGBP 5) are multiplied by this (leaf-off).", "Sentinel-2",
    )
    # --- clouds -----------------------------------------------------------------
    cloud_prob: float = _p(
        0.06, "-", "Probability that a scene has thin (semi-transparent) clouds, blended into S2 "
        "before the sensor noise.", "clouds",
    )
    cloud_max_opacity: float = _p(
        0.6, "-", "Maximum opacity of a thin cloud (0 = clear, 1 = opaque).", "clouds",
    )
    cloud_cover: float = _p(
        0.35, "-", "Approximate fraction of a thin-cloudy scene under thin cloud (not the thick "
        "clouds' cover: see thick_cloud_fixed_cover).", "clouds",
    )
    cloud_reflectance: list[float] = _p(
        [5200, 5000, 4900, 4900, 4800, 4700, 4600, 4600, 3200, 2400],
        "reflectance x 10000", "Reflectance of an opaque cloud (thin and thick clouds), same bands "
        "as s2_signatures: bright and nearly flat from the visible to the NIR, lower in the SWIR.",
        "clouds",
    )
    cloud_b10: float = _p(
        1500.0, "reflectance x 10000", "B10 (cirrus, 1375 nm) of an opaque cloud: bright for "
        "high-topped clouds, while the clear-sky surface is hidden by water vapour.", "clouds",
    )
    thin_cloud_mask_opacity: float = _p(
        0.1, "-", "Thin-cloud pixels at least this opaque are flagged 3 (thin cloud) in the cloud "
        "mask; fainter haze counts as clear.", "clouds",
    )
    thick_cloud_prob: float = _p(
        0.0, "-", "Probability that a scene's S2 acquisition has thick clouds and their shadows; "
        "about this share of the patches is then cloudy. 0 (the default) switches them off.",
        "clouds",
    )
    thick_cloud_cover_beta: list[float] = _p(
        [2.0, 2.0], "-", "Beta(a, b) distribution of the thick-cloud cover of a cloudy scene "
        "(share of its pixels under cloud, mean a / (a + b)); each of its patches gets about "
        "that cover.", "clouds",
    )
    thick_cloud_fixed_cover: float | None = _p(
        None, "-", "If set, every scene, hence about every patch, gets this thick-cloud cover, "
        "overriding thick_cloud_prob and thick_cloud_cover_beta (evaluation sweeps; "
        "make_synthetic(cloud_cover=...)). The clouds of a scene grow with the cover: the "
        "clouds at a lower cover are a subset of those at a higher one.", "clouds",
    )
    thick_cloud_scale: float = _p(
        0.08, "patch side", "Correlation length (Gaussian sigma) of the thick-cloud field: cloud "
        "cells of about 2.5 times this (0.5 km on a 2.56 km patch, cumulus-like).", "clouds",
    )
    thick_cloud_cluster_scale: float = _p(
        0.25, "patch side", "Cloud-field variations larger than this (Gaussian sigma) are "
        "removed, so cloud is spread evenly and each patch gets about its scene's cover "
        "(patch-to-patch s.d. about 0.05 at cover 0.5); 0 keeps them (clouds gather in decks, "
        "patch covers spread more).", "clouds",
    )
    thick_cloud_opacity: float = _p(
        1.0, "-", "Opacity of a thick cloud's core (1 = the ground is hidden).", "clouds",
    )
    thick_cloud_edge: float = _p(
        0.3, "field s.d.", "Soft cloud edges: the opacity rises from 0 to full over this range "
        "of the (unit s.d.) cloud field, centred on the cloud boundary, so the mask's boundary "
        "is at half opacity; 0 = hard edges.", "clouds",
    )
    thick_cloud_texture_sd: float = _p(
        0.08, "relative", "S.d. of the multiplicative brightness texture of cloud tops, the "
        "same in every band (clouds stay spectrally flat).", "clouds",
    )
    thick_cloud_texture_scale: float = _p(
        2.0, "px", "Correlation length (Gaussian sigma) of the cloud-top texture.", "clouds",
    )
    cloud_height_m: list[float] = _p(
        [500.0, 2000.0], "m", "Range of the thick clouds' top height (uniform, one per scene); "
        "with the sun zenith angle it sets how far the shadows fall from their clouds: "
        "height x tan(zenith), converted to patch sides with a 2.56 km SEN12MS patch.", "clouds",
    )
    sun_zenith_deg: dict[str, float] = _p(
        {"winter": 65.0, "spring": 45.0, "summer": 35.0, "fall": 55.0}, "deg",
        "Sun zenith angle at the Sentinel-2 overpass (about 10:30 local solar time, mid "
        "northern latitudes) per season; one geometry for every scene (the generator does not "
        "model the hemisphere).", "clouds",
    )
    sun_azimuth_deg: float = _p(
        150.0, "deg", "Sun azimuth at the overpass, clockwise from north; shadows fall the "
        "opposite way (north-west of their clouds).", "clouds",
    )
    cloud_shadow_factor: list[float] = _p(
        [0.45, 0.40, 0.35, 0.33, 0.31, 0.30, 0.29, 0.29, 0.25, 0.22], "-",
        "Reflectance under the shadow of an opaque cloud relative to the sunlit ground (what "
        "the diffuse skylight leaves; higher in the blue), same bands as s2_signatures.",
        "clouds",
    )
    # --- Sentinel-1 -------------------------------------------------------------
    s1_sigma0_db: dict[str, list[float]] = _p(
        {
            "Forest": [-7.0, -13.0], "Shrubland": [-9.0, -16.0], "Savanna": [-8.5, -15.0],
            "Grassland": [-11.0, -18.0], "Wetland": [-9.0, -17.0], "Cropland": [-10.0, -17.0],
            "Urban": [0.0, -7.0], "Snow/Ice": [-12.0, -20.0], "Barren": [-14.0, -22.0],
            "Water": [-22.0, -28.0],
        },
        "dB", "Mean backscatter sigma0 of each class, VV and VH.", "Sentinel-1",
    )
    s1_scene_offset_sd: float = _p(
        0.5, "dB", "Per scene offset s.d., all classes alike (incidence angle, calibration).",
        "Sentinel-1",
    )
    s1_class_offset_sd: float = _p(
        0.4, "dB", "Per scene and class offset s.d. (soil moisture, crop state, frozen "
        "ground).", "Sentinel-1",
    )
    s1_object_sd: float = _p(
        0.6, "dB", "Per object offset s.d. (tillage, canopy structure).", "Sentinel-1",
    )
    s1_texture_sd: dict[str, float] = _p(
        {"Forest": 1.0, "Shrubland": 1.0, "Savanna": 1.0, "Grassland": 0.8, "Wetland": 1.5,
         "Cropland": 1.0, "Urban": 3.5, "Snow/Ice": 1.0, "Barren": 1.0, "Water": 1.0},
        "dB", "S.d. of the spatially correlated texture of each class (urban: high variance).",
        "Sentinel-1",
    )
    s1_texture_scale: float = _p(
        1.0, "px", "Correlation length (Gaussian sigma) of the texture.", "Sentinel-1",
    )
    s1_water_wind_sd: float = _p(
        2.0, "dB", "Extra per scene s.d. of water backscatter (wind roughening).", "Sentinel-1",
    )
    s1_urban_bright_frac: float = _p(
        0.05, "-", "Fraction of urban pixels that are bright double-bounce scatterers.",
        "Sentinel-1",
    )
    s1_urban_bright_db: float = _p(
        10.0, "dB", "Extra backscatter of a bright urban scatterer.", "Sentinel-1",
    )
    s1_snow_offset: list[float] = _p(
        [-1.0, -1.0], "dB", "VV, VH change under seasonal (dry) snow: C-band sees through it.",
        "Sentinel-1",
    )
    s1_looks: float = _p(
        4.4, "looks", "Equivalent number of looks: shape of the gamma speckle (mean 1) "
        "multiplied onto linear power (GRD IW: about 4.4).", "Sentinel-1",
    )
    s1_contrast: float = _p(
        1.0, "x", "World knob: class contrast of the backscatter. Every class's mean VV and VH "
        "(s1_sigma0_db) is moved to the classes' mean + s1_contrast x (its value - that mean): 1 = "
        "the table, 0 = one mean backscatter for every class (S1 then separates classes by texture "
        "only), 2 = twice the table's differences. Range 0-3.", "Sentinel-1",
    )
    s1_blind: float = _p(
        0.0, "-", "World knob: how much of what S2 separates S1 cannot. The mean backscatter of the "
        "s1_blind_classes is pulled towards their common mean by this fraction (after s1_contrast): "
        "0 = their own means, 1 = one mean for all of them (S1 cannot tell them apart; S2 still "
        "can). Range 0-1.", "Sentinel-1",
    )
    s1_blind_classes: list[str] = _p(
        ["Shrubland", "Savanna", "Grassland", "Cropland"], "classes",
        "The classes s1_blind merges in S1 (open vegetated land, whose C-band backscatter is "
        "similar in winter).", "Sentinel-1",
    )
    s1_mixing_px: float = _p(
        0.5, "px", "Gaussian blur sigma of linear backscatter before speckle (resolution "
        "cell larger than the 10 m pixel).", "Sentinel-1",
    )
    s1_nan_scene_prob: float = _p(
        0.15, "-", "Probability that a scene holds NaN pixels (as some real SEN12MS files "
        "do).", "Sentinel-1",
    )
    s1_nan_pixel_rate: float = _p(
        0.002, "-", "Fraction of the pixels of such a scene set to NaN (both bands).",
        "Sentinel-1",
    )
    # --- georeferencing ---------------------------------------------------------
    pixel_size_m: float = _p(10.0, "m", "Ground sampling distance of every file.",
                             "georeferencing")

    def __post_init__(self) -> None:
        self.validate()

    # -- (de)serialisation -------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """All parameters as plain JSON-serialisable values."""
        return _deepcopy(dataclasses.asdict(self))

    def identity(self) -> dict[str, Any]:
        """What identifies the data: :meth:`to_dict`, without the world knobs when every one is neutral.

        The knobs (:data:`NEUTRAL_KNOBS`) came after data were made with the parameters alone; with
        all of them at their neutral values the files are those made without them, and are recorded
        (marker, fingerprint) as they were then. A world that turns any knob records every parameter.
        """
        values = self.to_dict()
        if all(values[k] == v for k, v in NEUTRAL_KNOBS.items()):
            return {k: v for k, v in values.items() if k not in NEUTRAL_KNOBS}
        return values

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> SyntheticParams:
        """Build from :meth:`to_dict` output; unknown keys raise ``ValueError`` naming them."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"Unknown synthetic parameter(s) {unknown}; known: {sorted(known)}")
        return cls(**_deepcopy(values))

    def replace(self, **changes: Any) -> SyntheticParams:
        """A copy with some parameters changed (validated)."""
        unknown = sorted(set(changes) - {f.name for f in fields(self)})
        if unknown:
            raise ValueError(f"Unknown synthetic parameter(s) {unknown}")
        return dataclasses.replace(self, **changes)

    def table(self) -> list[dict[str, Any]]:
        """One row per parameter for display: group, name, value, unit, description.

        Class-keyed tables (signatures, backscatter) stay as their dict values;
        :meth:`signature_table` and :meth:`backscatter_table` give them as rows.
        """
        rows = []
        for f in fields(self):
            rows.append(
                {
                    "group": f.metadata["group"],
                    "name": f.name,
                    "value": _deepcopy(getattr(self, f.name)),
                    "unit": f.metadata["unit"],
                    "description": f.metadata["doc"],
                }
            )
        return rows

    def signature_table(self) -> list[dict[str, Any]]:
        """S2 mean reflectance (x 10000) per class and all 13 bands, one row per class."""
        sig = _s2_signature_matrix(self)
        return [
            {"class": name, **{b: float(round(sig[i, j], 1)) for j, b in enumerate(S2_BANDS)}}
            for i, name in enumerate(_CLASSES)
        ]

    def backscatter_table(self) -> list[dict[str, Any]]:
        """S1 mean sigma0 (dB) and texture s.d. per class, one row per class."""
        return [
            {
                "class": name,
                "VV": float(self.s1_sigma0_db[name][0]),
                "VH": float(self.s1_sigma0_db[name][1]),
                "texture_sd": float(self.s1_texture_sd[name]),
            }
            for name in _CLASSES
        ]

    def biome_table(self) -> list[dict[str, Any]]:
        """Biomes with their probability and normalised class prior, one row per biome."""
        total = sum(self.biome_weights.values())
        rows = []
        for b, w in self.biome_weights.items():
            prior = self.biome_priors[b]
            norm = sum(prior.values()) or 1.0
            rows.append({
                "biome": b,
                "probability": round(w / total, 4),
                **{c: round(prior.get(c, 0.0) / norm, 4) for c in _CLASSES},
            })
        return rows

    # -- validation ---------------------------------------------------------------
    def validate(self) -> None:
        """Check every value; raise ``ValueError`` naming the parameter and value."""
        probs = (
            "igbp_dominant_prob", "inclusion_prob", "label_noise", "s2_soil_mix_max",
            "cloud_prob", "cloud_max_opacity", "cloud_cover", "seasonal_snow_cover",
            "thin_cloud_mask_opacity", "thick_cloud_prob",
            "s1_urban_bright_frac", "s1_nan_scene_prob", "s1_nan_pixel_rate", "s1_blind",
        )
        for name in probs:
            v = getattr(self, name)
            if not _is_real(v) or not 0.0 <= v <= 1.0:
                raise ValueError(f"Synthetic parameter {name} must be in [0, 1], got {v!r}")
        positive = (
            "prior_concentration", "winter_snow_factor", "region_scale", "object_scale",
            "label_cells_per_patch", "s2_b01_gain", "s1_looks", "pixel_size_m",
        )
        for name in positive:
            v = getattr(self, name)
            if not _is_real(v) or not v > 0:
                raise ValueError(f"Synthetic parameter {name} must be > 0, got {v!r}")
        non_negative = (
            "prior_floor", "boundary_warp", "s2_b01_offset", "s2_b09_fraction", "s2_b10_level",
            "s2_scene_gain_sd", "s2_band_gain_sd", "s2_texture_scale", "s2_adjacency_px",
            "s2_noise_rel", "s2_noise_abs", "cloud_b10", "thick_cloud_scale",
            "thick_cloud_cluster_scale", "thick_cloud_edge", "thick_cloud_texture_sd",
            "thick_cloud_texture_scale",
            "leaf_off_nir", "s1_scene_offset_sd", "s1_class_offset_sd", "s1_object_sd",
            "s1_texture_scale", "s1_water_wind_sd", "s1_urban_bright_db", "s1_mixing_px",
            "s1_contrast", "s2_noise",
        )
        for name in non_negative:
            v = getattr(self, name)
            if not _is_real(v) or not v >= 0:
                raise ValueError(f"Synthetic parameter {name} must be >= 0, got {v!r}")
        for name in ("s2_signatures", "s2_object_gain_sd", "s2_texture_sd", "s1_sigma0_db",
                     "s1_texture_sd", "igbp_codes"):
            table = getattr(self, name)
            missing = [c for c in _CLASSES if c not in table]
            extra = [c for c in table if c not in _CLASSES]
            if missing or extra:
                raise ValueError(
                    f"Synthetic parameter {name} needs exactly the classes {list(_CLASSES)}; "
                    f"missing {missing}, unknown {extra}"
                )
        for name in ("s2_object_gain_sd", "s2_texture_sd", "s1_texture_sd"):
            for c, v in getattr(self, name).items():
                if not _is_real(v) or v < 0:
                    raise ValueError(f"Synthetic parameter {name}[{c!r}] must be >= 0, got {v!r}")
        for c, sig in self.s2_signatures.items():
            if len(sig) != len(SIGNATURE_BANDS) or min(sig) < 0:
                raise ValueError(
                    f"Synthetic parameter s2_signatures[{c!r}] must hold "
                    f"{len(SIGNATURE_BANDS)} non-negative values {SIGNATURE_BANDS}, got {sig!r}"
                )
        for name in ("s2_soil", "cloud_reflectance"):
            v = getattr(self, name)
            if len(v) != len(SIGNATURE_BANDS) or min(v) < 0:
                raise ValueError(
                    f"Synthetic parameter {name} must hold {len(SIGNATURE_BANDS)} non-negative "
                    f"values {SIGNATURE_BANDS}, got {v!r}"
                )
        self._validate_clouds()
        for c, vv_vh in self.s1_sigma0_db.items():
            if len(vv_vh) != 2:
                raise ValueError(f"Synthetic parameter s1_sigma0_db[{c!r}] must be [VV, VH], "
                                 f"got {vv_vh!r}")
        blind = self.s1_blind_classes
        if not isinstance(blind, list) or any(c not in _CLASSES for c in blind) or len(set(blind)) != len(blind):
            raise ValueError(f"Synthetic parameter s1_blind_classes must list distinct classes of "
                             f"{list(_CLASSES)}, got {blind!r}")
        if len(self.s1_snow_offset) != 2:
            raise ValueError(f"Synthetic parameter s1_snow_offset must be [VV, VH], got "
                             f"{self.s1_snow_offset!r}")
        for c, codes in self.igbp_codes.items():
            simple = _CLASSES.index(c) + 1
            from .labels import IGBP_TO_SIMPLE

            bad = [k for k in codes if not str(k).isdigit()
                   or IGBP_TO_SIMPLE.get(int(k)) != simple]
            if bad or not codes or min(codes.values()) < 0 or sum(codes.values()) <= 0:
                raise ValueError(
                    f"Synthetic parameter igbp_codes[{c!r}] must map IGBP codes of class {c} "
                    f"to non-negative weights, got {codes!r}"
                )
        if set(self.biome_weights) != set(self.biome_priors):
            raise ValueError(
                "Synthetic parameters biome_weights and biome_priors must name the same biomes, "
                f"got {sorted(self.biome_weights)} and {sorted(self.biome_priors)}"
            )
        if not self.biome_weights or min(self.biome_weights.values()) < 0 or sum(
            self.biome_weights.values()
        ) <= 0:
            raise ValueError(f"Synthetic parameter biome_weights must be non-negative with a "
                             f"positive sum, got {self.biome_weights!r}")
        for b, prior in self.biome_priors.items():
            extra = [c for c in prior if c not in _CLASSES]
            if extra or min(prior.values(), default=-1) < 0:
                raise ValueError(
                    f"Synthetic parameter biome_priors[{b!r}] must map class names "
                    f"{list(_CLASSES)} to non-negative weights, got {prior!r}"
                )
        for s, v in self.seasonal_snow_prob.items():
            if s not in SEASONS or not _is_real(v) or not 0 <= v <= 1:
                raise ValueError(
                    f"Synthetic parameter seasonal_snow_prob must map seasons {sorted(SEASONS)} "
                    f"to probabilities, got {s!r}: {v!r}"
                )

    def _validate_clouds(self) -> None:
        """Check the thick-cloud and sun-geometry parameters (see :meth:`validate`)."""
        v = self.thick_cloud_opacity
        if not _is_real(v) or not 0.0 < v <= 1.0:
            raise ValueError(f"Synthetic parameter thick_cloud_opacity must be in (0, 1], got {v!r}")
        fixed = self.thick_cloud_fixed_cover
        if fixed is not None and (not _is_real(fixed) or not 0.0 <= fixed <= 1.0):
            raise ValueError(
                f"Synthetic parameter thick_cloud_fixed_cover must be None or in [0, 1], got {fixed!r}"
            )
        ab = self.thick_cloud_cover_beta
        if (not isinstance(ab, (list, tuple)) or len(ab) != 2
                or not all(_is_real(x) and x > 0 for x in ab)):
            raise ValueError(
                f"Synthetic parameter thick_cloud_cover_beta must be [a, b] with a, b > 0, got {ab!r}"
            )
        h = self.cloud_height_m
        if (not isinstance(h, (list, tuple)) or len(h) != 2 or not all(_is_real(x) for x in h)
                or not 0 <= h[0] <= h[1]):
            raise ValueError(
                f"Synthetic parameter cloud_height_m must be [min, max] with 0 <= min <= max, got {h!r}"
            )
        for s, z in self.sun_zenith_deg.items():
            if s not in SEASONS or not _is_real(z) or not 0 <= z <= _MAX_SUN_ZENITH_DEG:
                raise ValueError(
                    f"Synthetic parameter sun_zenith_deg must map seasons {sorted(SEASONS)} to "
                    f"angles in [0, {_MAX_SUN_ZENITH_DEG:g}], got {s!r}: {z!r}"
                )
        if not _is_real(self.sun_azimuth_deg):
            raise ValueError(f"Synthetic parameter sun_azimuth_deg must be a number, got "
                             f"{self.sun_azimuth_deg!r}")
        f = self.cloud_shadow_factor
        if len(f) != len(SIGNATURE_BANDS) or not all(_is_real(x) and 0 <= x <= 1 for x in f):
            raise ValueError(
                f"Synthetic parameter cloud_shadow_factor must hold {len(SIGNATURE_BANDS)} values "
                f"in [0, 1] {SIGNATURE_BANDS}, got {f!r}"
            )

    @property
    def thick_clouds(self) -> str:
        """How thick clouds are made: "off", "drawn" (thick_cloud_prob) or "fixed"."""
        if self.thick_cloud_fixed_cover is not None:
            return "fixed"
        return "drawn" if self.thick_cloud_prob > 0 else "off"


def _is_real(v: Any) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool) and (
        np.isfinite(v)
    )


# ---------------------------------------------------------------------------------
# scene synthesis
# ---------------------------------------------------------------------------------


def _s2_signature_matrix(p: SyntheticParams, base: np.ndarray | None = None) -> np.ndarray:
    """Expand 10-band spectra ``(..., 10)`` (default: the class signatures) to 13 bands."""
    if base is None:
        base = np.array([p.s2_signatures[c] for c in _CLASSES], dtype=np.float64)
    base = np.asarray(base, dtype=np.float64)
    b02, b8a = base[..., 0], base[..., 7]
    b01 = p.s2_b01_gain * b02 + p.s2_b01_offset
    b09 = p.s2_b09_fraction * b8a
    b10 = np.full_like(b02, p.s2_b10_level)
    # 13-band order: B01 B02..B8A B09 B10 B11 B12
    return np.concatenate(
        [b01[..., None], base[..., :8], b09[..., None], b10[..., None], base[..., 8:]], axis=-1
    )


def _smooth_noise(rng: np.random.Generator, shape: tuple[int, ...], sigma: float) -> np.ndarray:
    """Gaussian-filtered white noise over the last two axes, rescaled to unit s.d."""
    from scipy.ndimage import gaussian_filter

    white = rng.standard_normal(shape)
    if sigma <= 0:
        return white
    sig = (0,) * (len(shape) - 2) + (sigma, sigma)
    out = gaussian_filter(white, sigma=sig, mode="wrap")
    sd = out.std(axis=(-2, -1), keepdims=True)
    return out / np.where(sd > 0, sd, 1.0)


def _blur(arr: np.ndarray, sigma: float) -> np.ndarray:
    from scipy.ndimage import gaussian_filter

    if sigma <= 0:
        return arr
    return gaussian_filter(arr, sigma=(0,) * (arr.ndim - 2) + (sigma, sigma), mode="nearest")


def _voronoi(
    rng: np.random.Generator, side: int, cell: float, coords: np.ndarray
) -> tuple[np.ndarray, int]:
    """Nearest of ~(side/cell)^2 random seeds for each coordinate ``(n, 2)``, and the seed count."""
    from scipy.spatial import cKDTree

    margin = cell
    span = side + 2 * margin
    n = max(1, int(rng.poisson((span / cell) ** 2)))
    seeds = rng.uniform(-margin, side + margin, size=(n, 2))
    _, idx = cKDTree(seeds).query(coords)
    return idx.astype(np.int64), n


class _Scene:
    """Arrays of one synthetic scene (full extent, before cutting patches)."""

    def __init__(self) -> None:
        self.igbp_true: np.ndarray
        self.igbp_label: np.ndarray
        self.s2: np.ndarray
        self.s1: np.ndarray
        self.cld: np.ndarray
        self.info: dict[str, Any] = {}


def _scene_prior(
    rng: np.random.Generator, p: SyntheticParams, season: str
) -> tuple[str, np.ndarray]:
    """Draw a scene's biome and its class prior (Dirichlet around the biome's prior)."""
    biomes = list(p.biome_weights)
    w = np.array([p.biome_weights[b] for b in biomes], dtype=np.float64)
    if season == "winter":
        w = w * np.array([p.winter_snow_factor if b == "snowy mountains" else 1.0 for b in biomes])
    biome = biomes[int(rng.choice(len(biomes), p=w / w.sum()))]
    base = np.array([p.biome_priors[biome].get(c, 0.0) for c in _CLASSES], dtype=np.float64)
    base = base / max(base.sum(), 1e-12)
    alpha = p.prior_concentration * base + 1e-3
    prior = rng.dirichlet(alpha) + p.prior_floor
    return biome, prior / prior.sum()


def _igbp_choices(p: SyntheticParams) -> list[tuple[np.ndarray, np.ndarray]]:
    out = []
    for c in _CLASSES:
        codes = np.array([int(k) for k in p.igbp_codes[c]], dtype=np.int64)
        w = np.array(list(p.igbp_codes[c].values()), dtype=np.float64)
        out.append((codes, w / w.sum()))
    return out


def _land_cover(
    rng: np.random.Generator, p: SyntheticParams, side: int, patch_size: int, prior: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """True fine land cover: (simplified class 0..9, IGBP code, object id), each (side, side)."""
    yy, xx = np.mgrid[0:side, 0:side].astype(np.float64)
    grid = np.stack([yy.ravel(), xx.ravel()], axis=1)
    # smooth displacement: natural region boundaries bend fully, object (field) edges half
    d = _smooth_noise(rng, (2, side, side), sigma=0.15 * patch_size).reshape(2, -1).T
    d *= p.boundary_warp * patch_size
    region, n_region = _voronoi(rng, side, p.region_scale * patch_size, grid + d)
    obj, n_obj = _voronoi(rng, side, p.object_scale * patch_size, grid + 0.5 * d)
    region_cls = rng.choice(_N_CLASSES, size=n_region, p=prior)
    is_incl = rng.random(n_obj) < p.inclusion_prob
    incl_cls = rng.choice(_N_CLASSES, size=n_obj, p=prior)
    cls = np.where(is_incl[obj], incl_cls[obj], region_cls[region])
    # IGBP code: per scene a dominant code per class, objects deviate sometimes
    codes_tab = np.empty((n_obj, _N_CLASSES), dtype=np.int64)
    keep = rng.random((n_obj, _N_CLASSES)) < p.igbp_dominant_prob
    for k, (codes, w) in enumerate(_igbp_choices(p)):
        dominant = codes[rng.choice(len(codes), p=w)]
        other = codes[rng.choice(len(codes), size=n_obj, p=w)]
        codes_tab[:, k] = np.where(keep[:, k], dominant, other)
    igbp = codes_tab[obj, cls]
    shape = (side, side)
    return cls.reshape(shape), igbp.reshape(shape), obj.reshape(shape)


def _coarse_label(
    rng: np.random.Generator, p: SyntheticParams, igbp: np.ndarray, patch_size: int,
    prior: np.ndarray,
) -> np.ndarray:
    """MODIS-like label: majority IGBP code per (misaligned) coarse cell, with label noise."""
    side = igbp.shape[0]
    cell = patch_size / p.label_cells_per_patch
    oy, ox = rng.uniform(0, cell, size=2)
    cy = np.floor((np.arange(side) + oy) / cell).astype(np.int64)
    cx = np.floor((np.arange(side) + ox) / cell).astype(np.int64)
    ncx = int(cx[-1]) + 1
    ncell = (int(cy[-1]) + 1) * ncx
    cell_id = cy[:, None] * ncx + cx[None, :]
    counts = np.bincount(
        (cell_id * 18 + igbp).ravel(), minlength=ncell * 18
    ).reshape(ncell, 18).astype(np.float64)
    counts += rng.random(counts.shape) * 0.01 * (counts > 0)  # random tie-breaking
    order = np.argsort(-counts, axis=1)
    first, second = order[:, 0], order[:, 1]
    has_second = counts[np.arange(ncell), second] > 0
    noisy = rng.random(ncell) < p.label_noise
    choices = _igbp_choices(p)
    rand_cls = rng.choice(_N_CLASSES, size=ncell, p=prior)
    rand_code = np.array([choices[c][0][0] for c in range(_N_CLASSES)])[rand_cls]
    label = np.where(noisy, np.where(has_second, second, rand_code), first)
    return label[cell_id]


def _render_s2(
    rng: np.random.Generator, p: SyntheticParams, cls: np.ndarray, igbp: np.ndarray,
    obj: np.ndarray, season: str, snow: np.ndarray, thin_rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray | None]:
    """S2 reflectance x 10000 ``(13, H, W)`` uint16 and the thin clouds' opacity (or None).

    The thin-cloud field comes from ``rng`` for scenes whose draw is below
    :data:`_V1_THIN_CLOUD_DRAW` (as in generator version 1), else from ``thin_rng``.
    """
    side = cls.shape[0]
    n_obj = int(obj.max()) + 1
    sig10 = np.array([p.s2_signatures[c] for c in _CLASSES], dtype=np.float64)  # (10 cls, 10 b)
    soil = np.asarray(p.s2_soil, dtype=np.float64)
    veg = np.isin(np.arange(_N_CLASSES), [_CLASSES.index(c) for c in _VEGETATION])
    # object-level soil mixing for vegetation, and leaf-off deciduous forest in winter
    k = p.s2_noise  # the world knob: every nuisance variation of S2 scales with it
    mix = rng.uniform(0, p.s2_soil_mix_max * k, size=n_obj)[obj] * veg[cls]
    spec = sig10[cls] * (1 - mix[..., None]) + soil * mix[..., None]  # (H, W, 10)
    if season == "winter":
        leaf = np.ones(18)
        leaf[[3, 4]] = p.leaf_off_nir
        leaf[5] = 0.5 * (1 + p.leaf_off_nir)
        nir = np.array([0, 0, 0, 1, 1, 1, 1, 1, 0, 0], dtype=bool)  # B05..B8A
        spec[..., nir] *= leaf[igbp][..., None]
    obj_sd = np.array([p.s2_object_gain_sd[c] for c in _CLASSES]) * k
    tex_sd = np.array([p.s2_texture_sd[c] for c in _CLASSES]) * k
    gain = (
        np.exp(rng.normal(0, p.s2_scene_gain_sd * k, size=_N_CLASSES))[cls]
        * np.exp(rng.standard_normal(n_obj)[obj] * obj_sd[cls])
        * np.exp(tex_sd[cls] * _smooth_noise(rng, (side, side), p.s2_texture_scale))
    )
    spec *= gain[..., None]
    spec *= np.exp(rng.normal(0, p.s2_band_gain_sd * k, size=len(SIGNATURE_BANDS)))
    if snow.any():
        snow_sig = np.asarray(p.s2_signatures["Snow/Ice"], dtype=np.float64)
        spec = spec * (1 - snow[..., None]) + snow_sig * snow[..., None]
    refl = _s2_signature_matrix(p, spec)  # (H, W, 13)
    refl = np.moveaxis(refl, -1, 0)  # (13, H, W)
    refl = _blur(refl, p.s2_adjacency_px)
    draw = rng.random()
    cloudy = bool(draw < p.cloud_prob)
    alpha = None
    if draw < _V1_THIN_CLOUD_DRAW or cloudy:
        field_ = _smooth_noise(rng if draw < _V1_THIN_CLOUD_DRAW else thin_rng, (side, side),
                               sigma=side / 8)
    if cloudy:
        thresh = np.quantile(field_, 1 - p.cloud_cover)
        alpha = np.clip((field_ - thresh) / _THIN_CLOUD_RAMP, 0, 1) * p.cloud_max_opacity
        refl = refl * (1 - alpha) + _cloud_spectrum(p)[:, None, None] * alpha
    refl = refl * (1 + p.s2_noise_rel * k * rng.standard_normal(refl.shape))
    refl = refl + p.s2_noise_abs * k * rng.standard_normal(refl.shape)
    return np.clip(np.rint(refl), 0, 65535).astype(np.uint16), alpha


def _cloud_spectrum(p: SyntheticParams) -> np.ndarray:
    """Reflectance x 10000 of an opaque cloud in the 13 bands."""
    cloud = _s2_signature_matrix(p, np.asarray(p.cloud_reflectance, dtype=np.float64))
    cloud[S2_BANDS.index("B10")] = p.cloud_b10
    return cloud


def _expand_factors(p10: Sequence[float]) -> np.ndarray:
    """Per-band factors on the 10 signature bands -> 13 bands (B01 as B02; B09, B10 as B8A)."""
    f = np.asarray(p10, dtype=np.float64)
    return np.concatenate([f[:1], f[:8], f[7:8], f[7:8], f[8:]])


@dataclass
class _CloudLayer:
    """Thick clouds over one scene: opacity, cloud-top texture, shadow strength and masks."""

    alpha: np.ndarray  # (H, W) opacity of the cloud, 0..thick_cloud_opacity
    texture: np.ndarray  # (H, W) multiplicative cloud-top brightness
    shadow: np.ndarray  # (H, W) opacity of the cloud casting a shadow here, 0..opacity
    cloud_mask: np.ndarray  # (H, W) bool, the cloud (opacity above half)
    shadow_mask: np.ndarray  # (H, W) bool, shadow of a cloud's masked part, not under cloud
    cover: float  # target cover of the scene
    height_m: float  # cloud-top height
    offset_px: tuple[int, int]  # shadow displacement (rows, columns) from its cloud


def _shadow_offset_px(p: SyntheticParams, season: str, height_m: float, patch_size: int) -> np.ndarray:
    """Displacement (rows, columns) of a cloud's shadow, in pixels (rows grow southward)."""
    length = height_m * np.tan(np.radians(p.sun_zenith_deg.get(season, 0.0)))
    length_px = length / SEN12MS_PATCH_M * patch_size
    az = np.radians(p.sun_azimuth_deg)
    # away from the sun: east -sin(az), north -cos(az); a row step is one pixel south
    return np.array([np.cos(az), -np.sin(az)]) * length_px


def _thick_clouds(
    rng: np.random.Generator, p: SyntheticParams, season: str, side: int, patch_size: int
) -> _CloudLayer | None:
    """Draw a scene's thick clouds and shadows from its thick-cloud stream (None: clear).

    The draws are the same for every cover (scene draw, Beta cover, height, then the
    field), so the clouds of a fixed cover are a subset of those of any higher cover.
    """
    from scipy.ndimage import gaussian_filter

    if p.thick_clouds == "off":
        return None
    draw = rng.random()
    beta_a, beta_b = p.thick_cloud_cover_beta  # validated: two values
    drawn_cover = rng.beta(beta_a, beta_b)
    lowest, highest = p.cloud_height_m
    height = rng.uniform(lowest, highest)
    fixed = p.thick_cloud_fixed_cover
    if fixed is not None:  # p.thick_clouds == "fixed"
        cover = float(fixed)
    else:
        cover = float(drawn_cover) if draw < p.thick_cloud_prob else 0.0
    if cover <= 0.0:
        return None
    # a margin wide enough for the longest shadow: clouds outside the scene shade it too
    longest = _shadow_offset_px(p, season, p.cloud_height_m[1], patch_size)
    pad = int(np.ceil(np.abs(longest).max())) + 1
    full = side + 2 * pad
    f = _smooth_noise(rng, (full, full), p.thick_cloud_scale * patch_size)
    if p.thick_cloud_cluster_scale > 0:
        f = f - gaussian_filter(f, p.thick_cloud_cluster_scale * patch_size, mode="wrap")
        f /= max(float(f.std()), 1e-12)
    inner = np.s_[pad:pad + side, pad:pad + side]
    thresh = -np.inf if cover >= 1.0 else float(np.quantile(f[inner], 1.0 - cover))
    above = f - thresh
    if p.thick_cloud_edge > 0:
        ramp = np.clip(0.5 + above / p.thick_cloud_edge, 0.0, 1.0)
    else:
        ramp = (above > 0).astype(np.float64)
    alpha_full = p.thick_cloud_opacity * ramp
    dr, dc = (int(v) for v in np.rint(_shadow_offset_px(p, season, height, patch_size)))
    src = np.s_[pad - dr:pad - dr + side, pad - dc:pad - dc + side]  # where the shadow's cloud is
    cloud_mask = above[inner] > 0
    texture = np.exp(p.thick_cloud_texture_sd
                     * _smooth_noise(rng, (side, side), p.thick_cloud_texture_scale))
    return _CloudLayer(
        alpha=alpha_full[inner], texture=texture, shadow=alpha_full[src], cloud_mask=cloud_mask,
        shadow_mask=(above[src] > 0) & ~cloud_mask, cover=cover, height_m=float(height),
        offset_px=(dr, dc),
    )


def _apply_thick_clouds(
    rng: np.random.Generator, p: SyntheticParams, s2: np.ndarray, layer: _CloudLayer
) -> np.ndarray:
    """Shade the ground under shadows, then blend the clouds (with their own sensor noise)."""
    refl = s2.astype(np.float64)
    shade = 1.0 - layer.shadow * (1.0 - _expand_factors(p.cloud_shadow_factor))[:, None, None]
    cloud = _cloud_spectrum(p)[:, None, None] * layer.texture
    cloud = cloud * (1 + p.s2_noise_rel * p.s2_noise * rng.standard_normal(cloud.shape))
    cloud = cloud + p.s2_noise_abs * p.s2_noise * rng.standard_normal(cloud.shape)
    refl = refl * shade * (1.0 - layer.alpha) + cloud * layer.alpha
    return np.clip(np.rint(refl), 0, 65535).astype(np.uint16)


def _cloud_mask(
    p: SyntheticParams, side: int, thin_alpha: np.ndarray | None, layer: _CloudLayer | None
) -> np.ndarray:
    """The scene's cloud mask (uint8 codes of :mod:`xmodal.data.clouds`): cloud > shadow > thin."""
    mask = np.full((side, side), CLEAR, dtype=np.uint8)
    if thin_alpha is not None:
        mask[(thin_alpha > 0) & (thin_alpha >= p.thin_cloud_mask_opacity)] = THIN_CLOUD
    if layer is not None:
        mask[layer.shadow_mask] = SHADOW
        mask[layer.cloud_mask] = CLOUD
    return mask


def s1_class_means(p: SyntheticParams) -> np.ndarray:
    """Mean VV, VH backscatter (dB) of every class ``(10, 2)``, after the knobs s1_contrast and s1_blind.

    ``s1_contrast`` scales every class's distance from the classes' mean; ``s1_blind`` then pulls
    the ``s1_blind_classes`` towards their own common mean. At their neutral values (1 and 0)
    this is the table ``s1_sigma0_db`` exactly.
    """
    tab = np.array([p.s1_sigma0_db[c] for c in _CLASSES], dtype=np.float64)
    if p.s1_contrast != 1.0:
        centre = tab.mean(axis=0)
        tab = centre + p.s1_contrast * (tab - centre)
    if p.s1_blind > 0 and p.s1_blind_classes:
        idx = [_CLASSES.index(c) for c in p.s1_blind_classes]
        tab[idx] = tab[idx] + p.s1_blind * (tab[idx].mean(axis=0) - tab[idx])
    return tab


def _render_s1(
    rng: np.random.Generator, p: SyntheticParams, cls: np.ndarray, obj: np.ndarray,
    snow: np.ndarray,
) -> tuple[np.ndarray, int]:
    """S1 sigma0 in dB ``(2, H, W)`` float32 and the number of NaN pixels."""
    side = cls.shape[0]
    n_obj = int(obj.max()) + 1
    tab = s1_class_means(p)  # (10, 2), after the world knobs s1_contrast and s1_blind
    tex_sd = np.array([p.s1_texture_sd[c] for c in _CLASSES], dtype=np.float64)
    offset = rng.normal(0, p.s1_scene_offset_sd, size=2).mean() + rng.normal(0, 0.3, size=2)
    class_off = rng.normal(0, p.s1_class_offset_sd, size=(_N_CLASSES, 1))
    class_off[_CLASSES.index("Water")] += rng.normal(0, p.s1_water_wind_sd)
    db = tab[cls] + offset + class_off[cls]  # (H, W, 2)
    db += rng.normal(0, p.s1_object_sd, size=(n_obj, 1))[obj]
    db += (tex_sd[cls][..., None] * _smooth_noise(rng, (2, side, side), p.s1_texture_scale)
           .transpose(1, 2, 0))
    urban = cls == _CLASSES.index("Urban")
    bright = urban & (rng.random((side, side)) < p.s1_urban_bright_frac)
    db += (bright * p.s1_urban_bright_db)[..., None]
    db += snow[..., None] * np.asarray(p.s1_snow_offset, dtype=np.float64)
    lin = np.moveaxis(10.0 ** (db / 10.0), -1, 0)
    lin = _blur(lin, p.s1_mixing_px)
    lin = lin * rng.gamma(p.s1_looks, 1.0 / p.s1_looks, size=lin.shape)
    out = (10.0 * np.log10(np.maximum(lin, 1e-10))).astype(np.float32)
    n_nan = 0
    if rng.random() < p.s1_nan_scene_prob and p.s1_nan_pixel_rate > 0:
        mask = rng.random((side, side)) < p.s1_nan_pixel_rate
        out[:, mask] = np.nan
        n_nan = int(mask.sum())
    return out, n_nan


def _make_scene(
    p: SyntheticParams, seed: int, season: str, scene: int, side: int, patch_size: int
) -> _Scene:
    season_idx = list(SEASONS).index(season)
    rng = np.random.default_rng(np.random.SeedSequence([seed, season_idx, scene]))
    thin_seq, thick_seq = np.random.SeedSequence([seed, season_idx, scene, _CLOUD_STREAM]).spawn(2)
    thick_rng = np.random.default_rng(thick_seq)
    sc = _Scene()
    biome, prior = _scene_prior(rng, p, season)
    cls, igbp, obj = _land_cover(rng, p, side, patch_size, prior)
    sc.igbp_true = igbp
    sc.igbp_label = _coarse_label(rng, p, igbp, patch_size, prior)
    # seasonal snow on open land
    snowy = bool(rng.random() < p.seasonal_snow_prob.get(season, 0.0))
    snow = np.zeros((side, side))
    if snowy:
        open_land = np.isin(cls, [_CLASSES.index(c) for c in _OPEN_LAND])
        f = _smooth_noise(rng, (side, side), sigma=side / 10)
        thresh = np.quantile(f, 1 - p.seasonal_snow_cover)
        snow = np.clip((f - thresh) / 0.5, 0, 1) * open_land
    sc.s2, thin_alpha = _render_s2(rng, p, cls, igbp, obj, season, snow,
                                   np.random.default_rng(thin_seq))
    sc.s1, n_nan = _render_s1(rng, p, cls, obj, snow)
    # georeferencing: a UTM zone per scene
    zone = int(rng.integers(1, 61))
    north = bool(rng.random() < 0.7)
    epsg = (32600 if north else 32700) + zone
    x0 = float(np.round(rng.uniform(200_000, 800_000), -1))
    y0 = float(np.round(rng.uniform(1_000_000, 9_000_000), -1))
    # thick clouds and shadows last, from their own stream: the main stream is untouched
    layer = _thick_clouds(thick_rng, p, season, side, patch_size)
    if layer is not None:
        sc.s2 = _apply_thick_clouds(thick_rng, p, sc.s2, layer)
    sc.cld = _cloud_mask(p, side, thin_alpha, layer)
    sc.info = {
        "biome": biome, "prior": prior, "thin_cloudy": thin_alpha is not None,
        "thick_cloud_cover": 0.0 if layer is None else layer.cover,
        "seasonal_snow": snowy, "s1_nan_pixels": n_nan, "epsg": epsg, "origin": (x0, y0),
    }
    return sc


# ---------------------------------------------------------------------------------
# writing
# ---------------------------------------------------------------------------------


def _write_tif(path: Path, arr: np.ndarray, crs: Any, transform: Any,
               descriptions: tuple[str, ...], compress: str | None = None) -> None:
    import rasterio

    profile = {
        "driver": "GTiff", "width": arr.shape[2], "height": arr.shape[1], "count": arr.shape[0],
        "dtype": arr.dtype.name, "crs": crs, "transform": transform, "interleave": "pixel",
    }
    if compress:
        profile["compress"] = compress
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(arr)
        dst.descriptions = descriptions
        dst.update_tags(SOURCE="xmodal synthetic SEN12MS-like data")


#: Band description of the cloud-mask files.
CLD_BANDS: Final[tuple[str, ...]] = ("cloud mask: 0 clear, 1 cloud, 2 cloud shadow, 3 thin cloud",)


def _link_or_copy(src: Path, dst: Path) -> None:
    """Hard-link ``src`` to ``dst`` (a copy across file systems)."""
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def _write_scene(
    root: Path, sf: str, scene: int, sc: _Scene, patches_per_side: int, patch_size: int,
    res: float, reuse_from: Path | None = None,
) -> tuple[np.ndarray, int, np.ndarray]:
    """Cut a scene into overlapping patches and write their S1, S2, LC and cloud-mask files.

    With ``reuse_from``, S1 and LC are hard links to (or copies of) that root's files
    instead of being written.

    Returns the IGBP band of every patch ``(n_patches, patch_size, patch_size)``, the
    number of patches whose S1 holds NaNs and the cloud masks ``(n_patches, P, P)``.
    """
    from rasterio.crs import CRS
    from rasterio.transform import Affine

    stride = patch_size // 2
    crs = CRS.from_epsg(sc.info["epsg"])
    x0, y0 = sc.info["origin"]
    for sensor in (*SENSORS, CLOUD_MASK):
        (root / sf / f"{sensor}_{scene}").mkdir()
    lccs = np.moveaxis(_LCCS_LUT[sc.igbp_label], -1, 0)  # (3, H, W)
    lc = np.concatenate([sc.igbp_label[None].astype(np.uint16), lccs])
    igbp_patches, masks = [], []
    n_nan = 0
    for r in range(patches_per_side):
        for c in range(patches_per_side):
            key = PatchKey(sf, scene, r * patches_per_side + c + 1)
            win = np.s_[:, r * stride: r * stride + patch_size, c * stride: c * stride + patch_size]
            # north-up 10 m grid; the patch's upper-left corner is at its true offset
            transform = Affine(res, 0.0, x0 + c * stride * res, 0.0, -res, y0 - r * stride * res)
            s1p = np.ascontiguousarray(sc.s1[win])
            n_nan += bool(np.isnan(s1p).any())
            lcp = np.ascontiguousarray(lc[win])
            cldp = np.ascontiguousarray(sc.cld[None][win])
            igbp_patches.append(lcp[0])
            masks.append(cldp[0])
            if reuse_from is None:
                _write_tif(patch_path(root, key, "s1"), s1p, crs, transform, S1_BANDS)
            else:
                _link_or_copy(patch_path(reuse_from, key, "s1"), patch_path(root, key, "s1"))
            _write_tif(patch_path(root, key, "s2"), np.ascontiguousarray(sc.s2[win]), crs,
                       transform, S2_BANDS)
            # blocky labels and masks compress ~40x; noisy imagery barely, so it stays raw
            if reuse_from is None:
                _write_tif(patch_path(root, key, "lc"), lcp, crs, transform, LC_BANDS,
                           compress="deflate")
            else:
                _link_or_copy(patch_path(reuse_from, key, "lc"), patch_path(root, key, "lc"))
            _write_tif(mask_path(root, key), cldp, crs, transform, CLD_BANDS, compress="deflate")
    return np.stack(igbp_patches), n_nan, np.stack(masks)


def _atomic_write_json(path: Path, data: dict[str, Any]) -> None:
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(data, f, indent=2, sort_keys=False)
            f.write("\n")
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _fingerprint(
    season: str, seed: int, n_scenes: int, patches_per_side: int, patch_size: int,
    params: SyntheticParams,
) -> str:
    """Hash of everything that determines the data: equal fingerprints, identical files."""
    key = json.dumps(
        [GENERATOR_VERSION, season, int(seed), int(n_scenes), int(patches_per_side),
         int(patch_size), params.identity()],
        sort_keys=True,
    )
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def _check_int(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value!r}")
    return int(value)


def _validate_args(
    n_scenes: Any, patches_per_side: Any, patch_size: Any, season: Any, seed: Any,
    params: Any,
) -> SyntheticParams:
    _check_int("n_scenes", n_scenes, 1)
    _check_int("patches_per_side", patches_per_side, 1)
    _check_int("patch_size", patch_size, 2)
    if patch_size % 2:
        raise ValueError(
            f"patch_size must be divisible by 2 (patches overlap by half), got {patch_size!r}"
        )
    _check_int("seed", seed, 0)
    if season not in SEASONS:
        raise ValueError(f"Unknown season {season!r}; choose one of {sorted(SEASONS)}")
    if params is None:
        params = SyntheticParams()
    elif isinstance(params, dict):
        params = SyntheticParams.from_dict(params)
    elif not isinstance(params, SyntheticParams):
        raise ValueError(f"params must be a SyntheticParams or dict, got {type(params).__name__}")
    else:
        params.validate()
    if patch_size / params.label_cells_per_patch < 1:
        raise ValueError(
            f"patch_size {patch_size} is smaller than label_cells_per_patch "
            f"{params.label_cells_per_patch}: a label cell must span at least one pixel"
        )
    return params


def _check_reuse(
    reuse_from: str | Path, root: Path, sf: str, seed: int, n_scenes: int, patches_per_side: int,
    patch_size: int, params: SyntheticParams,
) -> tuple[Path, dict[str, Any]]:
    """Check that ``reuse_from`` holds the S1 and LC these arguments make; return it and its marker."""
    src = Path(reuse_from)
    marker = src / MARKER_NAME
    try:
        meta = json.loads(marker.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise ValueError(f"reuse_from {str(src)!r} is not a synthetic root: cannot read {marker} ({e})") from None
    if src.resolve() == root.resolve():
        raise ValueError(f"reuse_from must be another root than {str(root)!r}")
    entry = meta.get("seasons", {}).get(sf)
    if meta.get("status") != "complete" or entry is None:
        raise ValueError(f"reuse_from {str(src)!r} holds no complete synthetic season {sf} ({marker})")
    version = int(meta.get("version", 0))
    src_params = SyntheticParams.from_dict(entry.get("params", meta.get("params", {})))
    want = {"seed": seed, "n_scenes": n_scenes, "patches_per_side": patches_per_side,
            "patch_size": patch_size}
    got = {k: entry.get(k) for k in want}
    differ = sorted(k for k in want if got[k] != want[k])
    src_values = src_params.to_dict()
    differ += sorted(k for k, v in params.to_dict().items()
                     if k not in _CLOUD_PARAMS and src_values[k] != v)
    if version not in _S1_LC_COMPATIBLE_VERSIONS or (
        version == 1 and src_params.cloud_prob != _V1_THIN_CLOUD_DRAW
    ):
        differ.append(f"generator version {version}")
    if differ:
        raise ValueError(
            f"reuse_from {str(src)!r} was made with other S1/LC arguments ({', '.join(differ)}): "
            f"its S1 and LC are not the ones these arguments make"
        )
    return src, meta


def make_synthetic(
    root: str | Path,
    n_scenes: int = 24,
    patches_per_side: int = 6,
    patch_size: int = 64,
    season: str = "winter",
    seed: int = 0,
    params: SyntheticParams | dict[str, Any] | None = None,
    progress: bool = True,
    cloud_cover: float | None = None,
    reuse_from: str | Path | None = None,
) -> dict[str, Any]:
    """Write a synthetic SEN12MS-like data set in the official layout.

    Each of the ``n_scenes`` scenes is a square of ``(patches_per_side + 1) *
    patch_size / 2`` pixels at 10 m, cut into ``patches_per_side ** 2`` patches
    of ``patch_size`` pixels with stride ``patch_size / 2`` (neighbours overlap by
    half, as in SEN12MS). Scenes are numbered 1..n_scenes and patches
    1..patches_per_side**2 row by row. Every patch also gets a cloud mask and a
    row in the season's cover list. See the module docstring for the physics
    and :class:`SyntheticParams` for every parameter.

    An existing synthetic season folder of the same season under ``root`` is
    replaced; a folder that was not made by this generator (no marker) is never
    touched.

    Args:
        root: Output folder (created if needed).
        n_scenes: Number of scenes (SEN12MS "ROIs").
        patches_per_side: Patches per scene side.
        patch_size: Patch side in pixels (even; SEN12MS: 256).
        season: "spring", "summer", "fall" or "winter" (selects the folder; winter
            makes snow more likely).
        seed: Random seed; equal arguments give identical files.
        params: Physical parameters (default :class:`SyntheticParams()`), or a dict
            of them.
        progress: Show a tqdm progress bar over scenes.
        cloud_cover: Thick-cloud cover (0..1) given to every scene, hence about every
            patch: sets ``params.thick_cloud_fixed_cover`` (evaluation sweeps). S1
            and LC do not depend on it.
        reuse_from: A synthetic root made with the same arguments except cloud
            parameters (generator version 1 roots too, if their ``cloud_prob`` is
            the default): its S1 and LC files are hard-linked (copied across file
            systems) instead of written, so only S2 and the masks are written.

    Returns:
        A JSON-serialisable summary: arguments, counts, class frequencies of the
        labels, the clouds, elapsed seconds and paths (the marker file holds the
        same plus the parameters).

    Raises:
        ValueError: for a bad argument (the message names it), if ``root``
            already holds data of the season that this generator did not make, or
            if ``reuse_from`` was made with other S1/LC arguments.
    """
    import rasterio
    from tqdm.auto import tqdm

    t0 = time.perf_counter()
    params = _validate_args(n_scenes, patches_per_side, patch_size, season, seed, params)
    if cloud_cover is not None:
        if not _is_real(cloud_cover) or not 0.0 <= cloud_cover <= 1.0:
            raise ValueError(f"cloud_cover must be None or in [0, 1], got {cloud_cover!r}")
        params = params.replace(thick_cloud_fixed_cover=float(cloud_cover))
    root = Path(root)
    if root.exists() and not root.is_dir():
        raise ValueError(f"root {str(root)!r} exists and is not a folder")
    sf = season_folder(season)
    source: tuple[Path, dict[str, Any]] | None = None
    if reuse_from is not None:
        source = _check_reuse(reuse_from, root, sf, seed, n_scenes, patches_per_side, patch_size,
                              params)
    marker = root / MARKER_NAME
    season_dir = root / sf
    old: dict[str, Any] = {}
    if marker.exists():
        try:
            old = json.loads(marker.read_text())
        except (OSError, json.JSONDecodeError) as e:
            raise ValueError(f"Cannot read the synthetic marker {marker}: {e}") from None
    if season_dir.exists() and any(season_dir.iterdir()) and sf not in old.get("seasons", {}):
        raise ValueError(
            f"{season_dir} already holds data that this generator did not make "
            f"(no entry in {marker}); refusing to overwrite it"
        )
    root.mkdir(parents=True, exist_ok=True)
    if old:
        # until the final marker is written the root is incomplete: say so
        _atomic_write_json(marker, {**old, "status": "writing"})
    if season_dir.exists():
        shutil.rmtree(season_dir)
    season_dir.mkdir(parents=True)

    stride = patch_size // 2
    side = stride * (patches_per_side + 1)
    n_patch = patches_per_side ** 2
    class_hist = np.zeros(_N_CLASSES)
    igbp_hist = np.zeros(18)
    n_mixed = n_multilabel = n_snowy = n_nan_patches = n_thin_scenes = n_thick_scenes = 0
    covers: dict[PatchKey, np.ndarray] = {}
    biomes: dict[str, int] = {}
    scenes_iter = tqdm(
        range(1, n_scenes + 1), desc=f"synthetic {sf}", unit="scene", disable=not progress
    )
    with rasterio.Env():  # one GDAL environment for all files
        for scene in scenes_iter:
            sc = _make_scene(params, seed, season, scene, side, patch_size)
            lc_patches, n_nan, masks = _write_scene(
                root, sf, scene, sc, patches_per_side, patch_size, params.pixel_size_m,
                reuse_from=None if source is None else source[0],
            )
            soft = soft_labels(lc_patches, "dfc10")
            class_hist += soft.sum(axis=0)
            igbp_hist += np.bincount(lc_patches.ravel(), minlength=18)[:18]
            n_mixed += int(((soft > 0).sum(axis=1) >= 2).sum())
            n_multilabel += int(((soft > 0.3).sum(axis=1) >= 2).sum())
            n_snowy += sc.info["seasonal_snow"]
            n_thin_scenes += sc.info["thin_cloudy"]
            n_thick_scenes += sc.info["thick_cloud_cover"] > 0
            n_nan_patches += n_nan
            biomes[sc.info["biome"]] = biomes.get(sc.info["biome"], 0) + 1
            for i, frac in enumerate(mask_fractions(masks)):
                covers[PatchKey(sf, scene, i + 1)] = frac
    cover_list = season_dir / COVER_LIST_NAME
    write_cover_csv(cover_list, covers)

    total_patches = n_scenes * n_patch
    class_freq = class_hist / max(class_hist.sum(), 1e-12)
    igbp_freq = igbp_hist / max(igbp_hist.sum(), 1e-12)
    cov = np.stack(list(covers.values()))
    summary: dict[str, Any] = {
        "kind": "synthetic",
        "status": "complete",
        "generator": "xmodal.data.synthetic",
        "version": GENERATOR_VERSION,
        "fingerprint": _fingerprint(season, seed, n_scenes, patches_per_side, patch_size, params),
        "season": season,
        "season_folder": sf,
        "seed": int(seed),
        "n_scenes": int(n_scenes),
        "patches_per_side": int(patches_per_side),
        "patch_size": int(patch_size),
        "counts": {
            "scenes": int(n_scenes),
            "patches": int(total_patches),
            "files": int(3 * total_patches),
            "cloud_masks": int(total_patches),
            "mixed_patches": int(n_mixed),
            "multi_label_patches": int(n_multilabel),
            "cloudy_patches": int((cov[:, 0] > 0).sum()),
            "snowy_scenes": int(n_snowy),
            "s1_nan_patches": int(n_nan_patches),
        },
        "clouds": {
            "thick_clouds": params.thick_clouds,
            "fixed_cover": params.thick_cloud_fixed_cover,
            "thin_cloudy_scenes": int(n_thin_scenes),
            "thick_cloudy_scenes": int(n_thick_scenes),
            "mean_cloud_cover": round(float(cov[:, 0].mean()), 5),
            "mean_shadow_cover": round(float(cov[:, 1].mean()), 5),
            "s1_lc_from": None if source is None else str(source[0]),
        },
        "biomes": dict(sorted(biomes.items())),
        "class_frequencies": {c: round(float(f), 5) for c, f in zip(_CLASSES, class_freq, strict=True)},
        "igbp_frequencies": {str(k): round(float(igbp_freq[k]), 5) for k in range(1, 18)},
        "elapsed_seconds": round(time.perf_counter() - t0, 3),
        "paths": {"root": str(root), "season": str(season_dir), "marker": str(marker),
                  "cover_list": str(cover_list)},
    }
    seasons = dict(old.get("seasons", {})) if old else {}
    seasons = {k: v for k, v in seasons.items() if (root / k).is_dir()}
    seasons[sf] = {k: summary[k] for k in ("season", "seed", "n_scenes", "patches_per_side",
                                           "patch_size", "counts", "clouds")}
    seasons[sf]["params"] = params.identity()  # what xmodal.fingerprint hashes: the record of before the knobs
    try:
        from importlib.metadata import version

        xmodal_version = version("xmodal")
    except Exception:  # pragma: no cover - not installed as a distribution
        xmodal_version = "unknown"
    record = {**summary, "xmodal_version": xmodal_version, "params": params.to_dict(),
              "seasons": seasons}
    _atomic_write_json(marker, record)
    summary["elapsed_seconds"] = round(time.perf_counter() - t0, 3)
    return summary


def make_cloud_variant(
    src_root: str | Path,
    dst_root: str | Path,
    cloud_cover: float,
    season: str = "winter",
    progress: bool = True,
) -> dict[str, Any]:
    """A copy of a synthetic root whose S2 has a fixed thick-cloud cover (S1, LC shared).

    Re-renders the S2 of ``src_root``'s scenes with ``cloud_cover`` (all other
    arguments and parameters read from its marker) into ``dst_root``, writes
    the masks and the cover list, and hard-links S1 and LC (identical whatever
    the clouds). Cover 0 gives back the source's S2 if it had no thick clouds.

    Args:
        src_root: A root made by :func:`make_synthetic`.
        dst_root: The new root.
        cloud_cover: Thick-cloud cover (0..1) of every scene.
        season: Season of ``src_root`` to use.
        progress: Show a progress bar.

    Returns:
        The summary of :func:`make_synthetic`.

    Raises:
        ValueError: ``src_root`` is not a complete synthetic root of ``season``.
    """
    src = Path(src_root)
    sf = season_folder(season)
    try:
        meta = json.loads((src / MARKER_NAME).read_text())
        entry = meta["seasons"][sf]
    except (OSError, json.JSONDecodeError, KeyError):
        raise ValueError(f"{str(src)!r} holds no synthetic season {sf} (see {src / MARKER_NAME})") from None
    return make_synthetic(
        dst_root, n_scenes=entry["n_scenes"], patches_per_side=entry["patches_per_side"],
        patch_size=entry["patch_size"], season=season, seed=entry["seed"],
        params=SyntheticParams.from_dict(entry["params"]), progress=progress,
        cloud_cover=cloud_cover, reuse_from=src,
    )
