"""Analysis of a study's results: statistics for verdicts, homogeneity references, latent-space measures.

Sits above :mod:`xmodal.metrics` in the layering: pure functions on arrays and
DataFrames (numpy, scipy, pandas, scikit-learn), no torch, no trainer, no plotting.

* :mod:`xmodal.analysis.stats`: paired differences over seeds, bootstrap over test
  scenes, verdicts with Holm's adjustment, references for the homogeneity of eq. (5).
* :mod:`xmodal.analysis.latent`: how much of the sensor is left in the latent space
  (linear probe, neighbour mixing) and how well the sensors meet there (retrieval).
* :mod:`xmodal.analysis.tables`: the tables the book shows (scores, comparisons,
  homogeneity, gaps, claims, latent mixing, data-page tables): :mod:`xmodal.results`
  loads the runs into tidy tables, this package computes, :mod:`xmodal.plots` draws.
"""

from xmodal.analysis.latent import (
    HIT_THRESHOLD,
    NEIGHBOURS,
    PROBE_FOLDS,
    PROBE_MAX_ITER,
    SAME_PATCH_KS,
    cross_modal_retrieval,
    latent_measures,
    modality_probe,
    neighbour_mixing,
    same_patch_retrieval,
)
from xmodal.analysis.stats import (
    ADJUSTMENTS,
    CLAIM_KINDS,
    CONFIDENCE,
    DOES_NOT_HOLD,
    F1_AVERAGES,
    HOLDS,
    INCONCLUSIVE,
    N_BOOT,
    NONINFERIORITY_MARGIN,
    NOT_MEASURED,
    ONE_SEED,
    VERDICTS,
    BootstrapInterval,
    PairedDifference,
    bootstrap_f1,
    bootstrap_interval,
    claim_threshold,
    claim_verdicts,
    holm,
    homogeneity_references,
    paired_difference,
    resample_counts,
    row_intersection,
    verdict,
)

from .tables import (
    PAIR_COLUMNS,
    PAPER_HOMOGENEITY,
    PAPER_LABEL,
    PAPER_SCORES,
    baseline_homogeneity,
    baseline_pairs,
    claims,
    claims_summary,
    comparison_table,
    final_pairs,
    final_runs,
    gap_table,
    homogeneity_table,
    latent_mixing,
    method_label,
    score_table,
    sensor_order,
    sensor_pairs,
    source_note,
    summary_table,
    training_budget,
)

__all__ = [
    # latent
    "HIT_THRESHOLD",
    "NEIGHBOURS",
    "PROBE_FOLDS",
    "PROBE_MAX_ITER",
    "SAME_PATCH_KS",
    "modality_probe",
    "cross_modal_retrieval",
    "neighbour_mixing",
    "same_patch_retrieval",
    "latent_measures",
    # stats
    "CONFIDENCE",
    "NONINFERIORITY_MARGIN",
    "N_BOOT",
    "CLAIM_KINDS",
    "ADJUSTMENTS",
    "F1_AVERAGES",
    "VERDICTS",
    "HOLDS",
    "DOES_NOT_HOLD",
    "INCONCLUSIVE",
    "ONE_SEED",
    "NOT_MEASURED",
    "PairedDifference",
    "BootstrapInterval",
    "paired_difference",
    "claim_threshold",
    "verdict",
    "holm",
    "claim_verdicts",
    "resample_counts",
    "bootstrap_interval",
    "bootstrap_f1",
    "row_intersection",
    "homogeneity_references",
    # --- xmodal.analysis.tables (reporting) ---
    "PAIR_COLUMNS",
    "PAPER_HOMOGENEITY",
    "PAPER_LABEL",
    "PAPER_SCORES",
    "baseline_homogeneity",
    "baseline_pairs",
    "claims",
    "claims_summary",
    "comparison_table",
    "final_pairs",
    "final_runs",
    "gap_table",
    "homogeneity_table",
    "latent_mixing",
    "method_label",
    "score_table",
    "sensor_order",
    "sensor_pairs",
    "source_note",
    "summary_table",
    "training_budget",
    # --- end of xmodal.analysis.tables ---
]
