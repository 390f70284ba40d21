"""Latent-space explorer: the UMAP of a run's latent vectors as a page a person can question.

:func:`explore` reads the run folders of a study (or any list of run folders), embeds each
model's saved latent vectors in two dimensions with UMAP, and returns an
:class:`Explorer`: it displays itself in Jupyter (``_repr_html_``, everything inline) and
:meth:`Explorer.save` writes a standalone HTML file that works from ``file://`` with no
server and no network. In the page one can

1. choose the model: a drop-down per key of the runs' identity that varies among them
   (method, seed, training-set size, ...);
2. colour the points by sensor, dominant class of the soft label, whether the prediction
   is right (the dominant predicted class is the dominant class of the soft label), or the
   patch's homogeneity between the predictions of its sensors (the summand of eq. 5);
3. hover a point: the patch's thumbnails (S1 false colour VV, VH, VV-VH; S2 true colour
   B04, B03, B02), its soft label and the prediction of every sensor;
4. click a point: its aligned partner from the other sensor(s) is joined by a line, its
   ``k`` nearest cross-sensor neighbours (cosine, in the latent space) are ringed;
5. drag a lasso or a box: class histogram and sensor shares of the selection.

The page's weight is its data (mostly the thumbnails: 32 x 32 JPEG, each patch's encoded
once and shared by all models). Modules, in the order they build on each other:

* :mod:`~xmodal.explorer.runs`: run folders in, the menu's models out (the one place that
  reads a run folder);
* :mod:`~xmodal.explorer.embedding`: the UMAP of each model, cached in its run folder;
* :mod:`~xmodal.explorer.points`: colours, partners and neighbours of the points;
* :mod:`~xmodal.explorer.thumbnails`: the patches' thumbnails;
* :mod:`~xmodal.explorer.data`: everything the page shows, as one dict;
* :mod:`~xmodal.explorer.page`: the HTML (with ``assets/explorer.js`` and ``.css``) and :func:`explore`.
"""

from __future__ import annotations

from .data import build_data
from .embedding import CACHE_PREFIX, UMAP_PARAMS, cache_key, embed
from .errors import ExplorerError
from .page import Explorer, explore, page_weight, render_html
from .points import K_NEIGHBOURS, aligned_partners, colour_categories, cross_sensor_neighbours
from .runs import Model, RunRecord, find_runs, group_models, load_run, menu_value, model_menu
from .thumbnails import THUMB_SIZE, thumbnail

__all__ = [
    "CACHE_PREFIX",
    "K_NEIGHBOURS",
    "THUMB_SIZE",
    "UMAP_PARAMS",
    "Explorer",
    "ExplorerError",
    "Model",
    "RunRecord",
    "aligned_partners",
    "build_data",
    "cache_key",
    "colour_categories",
    "cross_sensor_neighbours",
    "embed",
    "explore",
    "find_runs",
    "group_models",
    "load_run",
    "menu_value",
    "model_menu",
    "page_weight",
    "render_html",
    "thumbnail",
]
