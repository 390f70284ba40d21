"""Analysis of a study: pure functions from tables and arrays to tables.

:mod:`xmodal.study` loads the runs into tidy tables, this package computes the
tables and statistics the book shows, and :mod:`xmodal.plots` draws them.
"""

# --- xmodal.analysis.tables: results, comparison, homogeneity, gap and claims tables,
# --- latent mixing, data-page tables (reporting) --------------------------------------
from .tables import (
    PAIR_COLUMNS,
    PAPER_HOMOGENEITY,
    PAPER_LABEL,
    PAPER_SCORES,
    VERDICTS,
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
    # --- xmodal.analysis.tables (reporting) ---
    "PAIR_COLUMNS",
    "PAPER_HOMOGENEITY",
    "PAPER_LABEL",
    "PAPER_SCORES",
    "VERDICTS",
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
