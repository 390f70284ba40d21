"""Analysis of a study's results: statistics for verdicts, homogeneity references, latent-space measures.

Sits above :mod:`xmodal.metrics` in the layering: pure functions on arrays and
DataFrames (numpy, scipy, pandas, scikit-learn), no torch, no trainer, no plotting.

* :mod:`xmodal.analysis.stats`: paired differences over seeds, bootstrap over test
  scenes, verdicts with Holm's adjustment, references for the homogeneity of eq. (5).
* :mod:`xmodal.analysis.latent`: how much of the sensor is left in the latent space
  (linear probe, neighbour mixing) and how well the sensors meet there (retrieval).
"""

from xmodal.analysis.latent import (
    HIT_THRESHOLD,
    NEIGHBOURS,
    PROBE_FOLDS,
    cross_modal_retrieval,
    latent_measures,
    modality_probe,
    neighbour_mixing,
    same_patch_retrieval,
)
from xmodal.analysis.stats import (
    CLAIM_KINDS,
    CONFIDENCE,
    N_BOOT,
    NONINFERIORITY_MARGIN,
    VERDICTS,
    BootstrapInterval,
    PairedDifference,
    bootstrap_f1,
    bootstrap_interval,
    claim_verdicts,
    holm,
    homogeneity_references,
    paired_difference,
    row_intersection,
    verdict,
)

__all__ = [
    # stats
    "CLAIM_KINDS",
    "CONFIDENCE",
    "N_BOOT",
    "NONINFERIORITY_MARGIN",
    "VERDICTS",
    "BootstrapInterval",
    "PairedDifference",
    "bootstrap_f1",
    "bootstrap_interval",
    "claim_verdicts",
    "holm",
    "homogeneity_references",
    "paired_difference",
    "row_intersection",
    "verdict",
    # latent
    "HIT_THRESHOLD",
    "NEIGHBOURS",
    "PROBE_FOLDS",
    "cross_modal_retrieval",
    "latent_measures",
    "modality_probe",
    "neighbour_mixing",
    "same_patch_retrieval",
]
