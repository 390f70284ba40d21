"""Use a trained model: a land-cover map of a whole scene from either sensor.

A finished run folder is a model (:class:`Model`: its weights and ``model.json``, the
:class:`~xmodal.rundir.ModelRecord`); :func:`predict_scene` classifies a scene of any size
from S1, S2 or both, in windows, and writes the map as a tiled GeoTIFF (the command
``xmodal predict`` calls it); :func:`score_map` scores a map against a truth map with a
bootstrap interval over blocks of the scene.

Modules: :mod:`~xmodal.inference.model` (a run folder as a model),
:mod:`~xmodal.inference.raster` (the inputs: checks, grids, windows),
:mod:`~xmodal.inference.scene` (the prediction), :mod:`~xmodal.inference.fallback` (the
fallback policy per cell), :mod:`~xmodal.inference.writer` (the GeoTIFF and latent files),
:mod:`~xmodal.inference.score` (scores against a truth map),
:mod:`~xmodal.inference.compare` (systems compared on one scene, the book's map page) and
:mod:`~xmodal.inference.figures` (maps as figures).
"""

from .errors import InferenceError, InferenceWarning
from .fallback import FALLBACK_THRESHOLD, cell_fallback
from .model import Model, load_models, write_model_record
from .scene import Grid, SceneMap, predict_scene
from .score import MapScore, cell_truth, score_map

__all__ = [
    "FALLBACK_THRESHOLD",
    "Grid",
    "InferenceError",
    "InferenceWarning",
    "MapScore",
    "Model",
    "SceneMap",
    "cell_fallback",
    "cell_truth",
    "load_models",
    "predict_scene",
    "score_map",
    "write_model_record",
]
