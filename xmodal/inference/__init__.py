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
:mod:`~xmodal.inference.score` (scores against a truth map) and
:mod:`~xmodal.inference.figures` (maps as figures).
"""

from .errors import InferenceError, InferenceWarning
from .fallback import FALLBACK_THRESHOLD, cell_fallback
from .model import Model, load_models, write_model_record
from .scene import Grid, SceneMap, predict_scene

__all__ = [
    "FALLBACK_THRESHOLD",
    "Grid",
    "InferenceError",
    "InferenceWarning",
    "Model",
    "SceneMap",
    "cell_fallback",
    "load_models",
    "predict_scene",
    "write_model_record",
]
