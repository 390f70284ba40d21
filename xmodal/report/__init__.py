"""The report layer: the paper's numbers and claims, run selection and labels, and the tables and prose built from them.

Sits above :mod:`xmodal.analysis` (pure statistics) and :mod:`xmodal.results` (the
loader); :mod:`xmodal.plots` draws what it computes, and the book's pages call it.

* :mod:`~xmodal.report.paper`: the paper's numbers and its claims as data (:data:`CLAIMS`);
* :mod:`~xmodal.report.selection`: the Figure 2 runs (:func:`final_runs`,
  :func:`figure2_runs`) and the one method label (:func:`method_label`);
* :mod:`~xmodal.report.scores`: scores, gaps and homogeneity beside the paper's;
* :mod:`~xmodal.report.comparisons`: paired comparisons, aligned against disjoint
  training, two training budgets;
* :mod:`~xmodal.report.claims`: the claims' verdicts and sentences;
* :mod:`~xmodal.report.validation`: whether each model's validation curve is on its plateau at
  the study's budget;
* :mod:`~xmodal.report.side_by_side`: the claims' verdicts of two studies side by side (hand-set
  and tuned settings), and which change;
* :mod:`~xmodal.report.sources`: a long profile's live runs or its shipped archive, labelled;
* :mod:`~xmodal.report.tuning`: equal tuning's ranges, settings, trials, importances, and where
  the tuned runs stopped;
* :mod:`~xmodal.report.regime`: the regime map: its source, the paper's signs per cell and in
  sentences, its table and the heatmaps' grids;
* :mod:`~xmodal.report.latent` and :mod:`~xmodal.report.adversary`: the latent page's summaries;
* :mod:`~xmodal.report.data_tables`: the data page's tables;
* :mod:`~xmodal.report.calibration`: the data page's world knobs and the calibrated world (its search,
  what it achieved, whether it is the default world);
* :mod:`~xmodal.report.notes`: the one-line notes under the figures;
* :mod:`~xmodal.report.format`: how a mean or an interval is written.

Every sentence a page shows is written here from numbers (the ``*_text`` and ``*_summary``
functions, :func:`source_note`, :func:`training_budget`): none is typed into a page.
``__all__`` lists what the pages call.
"""

from xmodal.report.adversary import adversary_curves, adversary_episodes, adversary_final, adversary_text
from xmodal.report.calibration import (
    CALIBRATED_PROFILE,
    NOT_DEFAULT_REASON,
    achieved_display,
    achieved_table,
    achieved_text,
    calibration_record,
    calibration_source,
    calibration_text,
    class_share_table,
    class_share_text,
    default_world_text,
    knobs_display,
    knobs_paragraph,
    round_scores,
    rounds_table,
    world_differences,
)
from xmodal.report.claims import CLAIM_COLUMNS, check_claims, claims_summary
from xmodal.report.comparisons import (
    TARGET_HALF_WIDTH,
    budget_table,
    budget_text,
    comparisons_display,
    comparisons_text,
    paired_comparisons,
    pairing_display,
    pairing_table,
)
from xmodal.report.data_tables import (
    biome_table,
    class_frequency_table,
    leakage_table,
    most_mixed,
    params_overview,
    pick_patches,
    soft_label_table,
)
from xmodal.report.latent import (
    label_settings,
    latent_contrasts,
    latent_summary,
    latent_text,
    summary_display,
    tradeoff_display,
    tradeoff_summary,
    tradeoff_text,
)
from xmodal.report.notes import source_note, training_budget
from xmodal.report.paper import CLAIMS, PAPER_HOMOGENEITY, PAPER_LABEL, PAPER_SCORES, Claim, paper_score
from xmodal.report.regime import (
    REGIME_PROFILE,
    RegimeSource,
    calibrated_cell,
    calibrated_check_text,
    knob_rows,
    no_regime_text,
    regime_run_text,
    regime_sentences,
    regime_signs,
    regime_source,
    regime_source_paragraph,
    regime_table,
)
from xmodal.report.scores import (
    comparison_table,
    gap_table,
    homogeneity_context_table,
    homogeneity_table,
    score_table,
)
from xmodal.report.selection import figure2_runs, final_pairs, final_runs, method_label, showcase_runs
from xmodal.report.side_by_side import changes_text, compare_verdicts, comparison_display, verdict_changes
from xmodal.report.sources import TUNED_PROFILE, ProfileSource, no_source_text, profile_source, source_paragraph
from xmodal.report.tuning import (
    curve_summary,
    importance_table,
    ranges_display,
    searched_ranges,
    settings_display,
    stopping_display,
    stopping_table,
    stopping_text,
    tuned_settings,
    tuning_history,
    tuning_time_text,
    validation_table,
)
from xmodal.report.validation import (
    PLATEAU_MARGIN,
    PLATEAU_SHARE,
    plateau_display,
    plateau_table,
    plateau_text,
)

__all__ = [
    # paper
    "PAPER_SCORES",
    "PAPER_HOMOGENEITY",
    "PAPER_LABEL",
    "CLAIMS",
    "Claim",
    "paper_score",
    # selection
    "final_runs",
    "final_pairs",
    "figure2_runs",
    "showcase_runs",
    "method_label",
    # notes
    "source_note",
    "training_budget",
    # scores
    "score_table",
    "comparison_table",
    "gap_table",
    "homogeneity_table",
    "homogeneity_context_table",
    # comparisons
    "TARGET_HALF_WIDTH",
    "paired_comparisons",
    "comparisons_display",
    "comparisons_text",
    "pairing_table",
    "pairing_display",
    "budget_table",
    "budget_text",
    # validation
    "PLATEAU_MARGIN",
    "PLATEAU_SHARE",
    "plateau_table",
    "plateau_display",
    "plateau_text",
    # claims
    "CLAIM_COLUMNS",
    "check_claims",
    "claims_summary",
    # two studies' verdicts side by side
    "compare_verdicts",
    "comparison_display",
    "verdict_changes",
    "changes_text",
    # a long profile's runs or archive, and its tuning
    "TUNED_PROFILE",
    "ProfileSource",
    "profile_source",
    "no_source_text",
    "source_paragraph",
    "searched_ranges",
    "ranges_display",
    "tuned_settings",
    "settings_display",
    "tuning_history",
    "importance_table",
    "validation_table",
    "curve_summary",
    "stopping_table",
    "stopping_display",
    "stopping_text",
    "tuning_time_text",
    # the regime map
    "REGIME_PROFILE",
    "RegimeSource",
    "regime_source",
    "regime_source_paragraph",
    "regime_run_text",
    "no_regime_text",
    "regime_signs",
    "regime_sentences",
    "calibrated_check_text",
    "regime_table",
    "calibrated_cell",
    "knob_rows",
    # latent
    "latent_summary",
    "summary_display",
    "latent_contrasts",
    "latent_text",
    "label_settings",
    "tradeoff_summary",
    "tradeoff_text",
    "tradeoff_display",
    # adversary
    "adversary_curves",
    "adversary_final",
    "adversary_episodes",
    "adversary_text",
    # data page
    "soft_label_table",
    "class_frequency_table",
    "pick_patches",
    "most_mixed",
    "params_overview",
    "biome_table",
    "leakage_table",
    # the world knobs and the calibrated world
    "CALIBRATED_PROFILE",
    "NOT_DEFAULT_REASON",
    "knobs_display",
    "knobs_paragraph",
    "calibration_source",
    "calibration_record",
    "calibration_text",
    "round_scores",
    "rounds_table",
    "achieved_table",
    "achieved_display",
    "achieved_text",
    "class_share_table",
    "class_share_text",
    "world_differences",
    "default_world_text",
]
