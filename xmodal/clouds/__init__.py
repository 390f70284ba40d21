"""Clouds and the choice of sensor: a study's trained models on S2 rendered under thick clouds.

The paper exists because a sensor is not always available: over much of the world
Sentinel-2 is often cloudy, while Sentinel-1's radar sees through clouds. This package
evaluates the trained runs of a study on its own test split with the S2 imagery
re-rendered at fixed thick-cloud covers, and scores what a practitioner would deploy:

* **each sensor alone**: F1 (macro, weighted) of S2 as the clouds thicken, and of S1
  (which the clouds do not touch);
* **a fallback system**: answer from S2 while a patch's cloud cover is below a threshold,
  from S1 otherwise (:func:`fallback`), built either from **two separate Baselines** or from
  **one cross-modal model**; the threshold is chosen on the runs' validation scenes
  (:func:`threshold_record`: the cloudy variants of the validation patches are predicted
  too), or is the hand-set :data:`FALLBACK_THRESHOLD` for runs without a validation split;
* **how consistent the system's answers stay when it switches sensor**: eq. (5) between
  the S1 and S2 answers at each cover, and per patch the agreement of the system's answer
  with its own clear-sky answer (``consistency``, ``top_change``, and the same over the
  patches the policy switched to S1).

Modules, in the order they build on each other:

* :mod:`~xmodal.clouds.variants`: the study's data rendered at fixed covers (the data
  layer's :func:`xmodal.data.make_cloud_variant`, one per cover);
* :mod:`~xmodal.clouds.selection`: which runs (the study's Figure 2 runs) and how a model
  is named;
* :mod:`~xmodal.clouds.fallback`: the policy, the tidy table, intervals and claims (pure);
* :mod:`~xmodal.clouds.evaluation`: predicting every run on every variant (resumable
  files) and reading them back;
* :mod:`~xmodal.clouds.text`: the page's sentences, from those numbers;
* :mod:`~xmodal.clouds.sensors`: the ``sensors`` profile (cloudy training, a third sensor).

The data layer's :mod:`xmodal.data.clouds` reads and selects the clouds of a root (masks,
cover lists, SEN12MS-CR); the figures are :mod:`xmodal.plots.clouds`. The sensor the
clouds hide and the one the fallback turns to are the data layer's
:data:`~xmodal.data.clouds.CLOUDED_SENSOR` and :data:`~xmodal.data.clouds.CLOUD_FREE_SENSOR`.
"""

from __future__ import annotations

from .errors import CloudEvalError
from .evaluation import (
    CLOUDS_DIR,
    MANIFEST_FILE,
    CloudEvaluation,
    CoverPredictions,
    evaluate_clouds,
    load_evaluation,
    model_fingerprint,
)
from .fallback import (
    FALLBACK,
    FALLBACK_THRESHOLD,
    HAND_SET,
    SUMMARY_METRICS,
    TABLE_COLUMNS,
    THRESHOLD_GRID,
    THRESHOLD_SCORE_COLUMNS,
    VALIDATION,
    choose_threshold,
    compare,
    cover_table,
    fallback,
    fallback_claims,
    summarize,
    threshold_record,
    threshold_scores,
    threshold_table,
)
from .selection import BASELINE_MODEL, DEFAULT_METHODS, select_runs
from .sensors import SENSORS_STUDY, SensorsSection, pair_homogeneity, sensor_scores, sensors_section
from .text import evaluation_note, recorded_time, sensors_note, threshold_note, threshold_phrase, verdict_text
from .variants import DEFAULT_COVERS, check_covers, cover_name, make_variants, variant_root

__all__ = [
    "BASELINE_MODEL",
    "CLOUDS_DIR",
    "DEFAULT_COVERS",
    "DEFAULT_METHODS",
    "FALLBACK",
    "FALLBACK_THRESHOLD",
    "HAND_SET",
    "MANIFEST_FILE",
    "SENSORS_STUDY",
    "SUMMARY_METRICS",
    "TABLE_COLUMNS",
    "THRESHOLD_GRID",
    "THRESHOLD_SCORE_COLUMNS",
    "VALIDATION",
    "CloudEvalError",
    "CloudEvaluation",
    "CoverPredictions",
    "SensorsSection",
    "check_covers",
    "choose_threshold",
    "compare",
    "cover_name",
    "cover_table",
    "evaluate_clouds",
    "evaluation_note",
    "fallback",
    "fallback_claims",
    "load_evaluation",
    "make_variants",
    "model_fingerprint",
    "pair_homogeneity",
    "recorded_time",
    "select_runs",
    "sensor_scores",
    "sensors_note",
    "sensors_section",
    "summarize",
    "threshold_note",
    "threshold_phrase",
    "threshold_record",
    "threshold_scores",
    "threshold_table",
    "variant_root",
    "verdict_text",
]
