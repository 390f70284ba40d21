"""Analysis of a study's results: pure statistics and measures, arrays and tidy tables in, numbers out.

Sits above :mod:`xmodal.metrics` and :mod:`xmodal.results` (the loader) in the layering and
below :mod:`xmodal.report` (the paper's claims, run selection, labels and prose): numpy,
scipy, pandas and scikit-learn (torch only for the training's own triplet miner), no
trainer, no plotting, no sentences.

* :mod:`~xmodal.analysis.tidy`: the tidy tables' vocabulary (finished rows, sensors and
  methods in display order, means per group);
* :mod:`~xmodal.analysis.stats`: paired differences over seeds, verdicts with Holm's adjustment;
* :mod:`~xmodal.analysis.bootstrap`: the test scenes' share of the uncertainty;
* :mod:`~xmodal.analysis.homogeneity`: eq. (5) between separately trained Baselines, and
  what a homogeneity score is to be compared with;
* :mod:`~xmodal.analysis.latent`: how much of the sensor is left in the latent space, how
  well the sensors meet there, and the one 2-d picture of it (:func:`umap_2d`, cosine);
* :mod:`~xmodal.analysis.panels`: the latent page's panels embedded in 2-d;
* :mod:`~xmodal.analysis.triplets`: the triplets eq. (3)'s miner picks in a real batch.

``__all__`` lists what the pages call.
"""

from xmodal.analysis.latent import UMAP_METRIC, latent_measures, umap_2d
from xmodal.analysis.panels import latent_embedding
from xmodal.analysis.stats import CONFIDENCE, NONINFERIORITY_MARGIN, VERDICTS, paired_difference
from xmodal.analysis.tidy import methods_in, ok_runs, sensor_order, sensor_pairs, sensors_in
from xmodal.analysis.triplets import mined_triplets

__all__ = [
    "CONFIDENCE",
    "NONINFERIORITY_MARGIN",
    "VERDICTS",
    "UMAP_METRIC",
    "latent_embedding",
    "latent_measures",
    "methods_in",
    "mined_triplets",
    "ok_runs",
    "paired_difference",
    "sensor_order",
    "sensor_pairs",
    "sensors_in",
    "umap_2d",
]
