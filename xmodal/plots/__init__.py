"""The figures (and page tables) of the book and of a run: they only draw.

Every figure is drawn from a table (the tidy results table of
:func:`xmodal.results.load_results`, a table of :mod:`xmodal.report` or of
:mod:`xmodal.clouds`), from the synthetic generator's parameters, or from patches read
through the data layer. Nothing here computes a statistic beyond means and intervals.

Sensors are never named here: the figures draw the sensors their tables hold, with the
labels and colours of the data layer (:class:`xmodal.data.normalize.ModalitySpec`).

Modules by what they draw (every name but the clouds chapter's is re-exported here):

* :mod:`~xmodal.plots.core`: class colours, and putting a figure or table on a page;
* :mod:`~xmodal.plots.results`: Figures 2 and 3, the training budget, validation curves, claims, comparisons;
* :mod:`~xmodal.plots.data`: patches, soft labels, class frequencies, the generator's signatures;
* :mod:`~xmodal.plots.method`: the architecture, the reversal schedule, a mined triplet batch;
* :mod:`~xmodal.plots.latent`: UMAP panels, latent measures, the adversary, the sensitivity study;
* :mod:`~xmodal.plots.runs`: one run's figures (the experiment notebook);
* :mod:`~xmodal.plots.calibration`: the calibration search (score against each sensor's knob);
* :mod:`~xmodal.plots.tuning`: equal tuning: the trials' history, parameter importance, the tuned
  runs' validation curves;
* :mod:`~xmodal.plots.regime`: the regime map's heatmaps;
* :mod:`~xmodal.plots.clouds`: the clouds chapter (called as ``plots.clouds.<name>``:
  its table names, such as ``summary_table``, are the chapter's).
"""

from __future__ import annotations

from . import clouds
from .calibration import calibration_figure
from .core import CLASS_COLORS, plotly_html, show_plotly, show_table
from .data import class_frequency_figure, patch_gallery, signature_figure, soft_label_example
from .latent import (
    MARKER_SYMBOLS,
    PANELS_PER_ROW,
    adversary_figure,
    latent_figure,
    latent_figure_static,
    latent_measures_figure,
    tradeoff_figure,
)
from .method import architecture_figure, grl_schedule_figure, triplet_figure
from .regime import regime_heatmaps
from .results import (
    LINE_STYLES,
    VERDICT_COLORS,
    budget_figure,
    claims_figure,
    comparisons_figure,
    figure2,
    figure3,
    validation_figure,
)
from .runs import (
    LOSS_LABELS,
    describe_data,
    display_rgb,
    plot_batch,
    plot_losses,
    plot_pairs,
    plot_per_class_f1,
    scores_table,
)
from .tuning import importance_figure, tuned_curves_figure, tuning_history_figure

__all__ = [
    "CLASS_COLORS",
    "LINE_STYLES",
    "LOSS_LABELS",
    "MARKER_SYMBOLS",
    "PANELS_PER_ROW",
    "VERDICT_COLORS",
    "adversary_figure",
    "architecture_figure",
    "budget_figure",
    "calibration_figure",
    "claims_figure",
    "class_frequency_figure",
    "clouds",
    "comparisons_figure",
    "describe_data",
    "display_rgb",
    "figure2",
    "figure3",
    "importance_figure",
    "grl_schedule_figure",
    "latent_figure",
    "latent_figure_static",
    "latent_measures_figure",
    "patch_gallery",
    "plot_batch",
    "plot_losses",
    "plot_pairs",
    "plot_per_class_f1",
    "plotly_html",
    "regime_heatmaps",
    "scores_table",
    "show_plotly",
    "show_table",
    "signature_figure",
    "soft_label_example",
    "tradeoff_figure",
    "triplet_figure",
    "validation_figure",
    "tuned_curves_figure",
    "tuning_history_figure",
]
