"""The latent page's panels: the latent vectors of one or more runs, embedded in 2-d together.

A *panel* is a title and the :class:`~xmodal.rundir.Latents` of one or more runs (the
Baseline's panel stacks its single-sensor models). :func:`latent_embedding` maps every
panel with the one UMAP helper, :func:`xmodal.analysis.latent.umap_2d` (metric cosine:
see there why); :func:`xmodal.plots.latent_figure` draws the result.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from xmodal.analysis.latent import umap_2d
from xmodal.rundir import Latents

__all__ = ["stack_latents", "latent_embedding"]


def stack_latents(runs: Sequence[Latents]) -> Latents:
    """The latent vectors of several runs as one :class:`~xmodal.rundir.Latents` (rows in run order)."""
    return Latents(np.concatenate([np.asarray(r.z, dtype=np.float32) for r in runs]),
                   np.concatenate([np.asarray(r.labels) for r in runs]),
                   np.concatenate([np.asarray(r.prob) for r in runs]),
                   np.concatenate([np.asarray(r.modality).astype(str) for r in runs]),
                   np.concatenate([np.asarray(r.ids).astype(str) for r in runs]))


def latent_embedding(panels: Mapping[str, Sequence[Latents]], class_names: Sequence[str], seed: int = 0,
                     n_neighbors: int = 15) -> pd.DataFrame:
    """The latent vectors of each panel in 2-d (:func:`xmodal.analysis.latent.umap_2d`, seeded).

    Args:
        panels: panel title -> the latent vectors of one or more runs. Several runs in a
            panel (the Baseline models) are embedded *together*, although their latent
            spaces are not shared: nothing ties the coordinates of one sensor's model to
            those of another's.
        class_names: names of the soft-label entries.
        seed: UMAP's random state (deterministic output).
        n_neighbors: UMAP's neighbourhood size (at most the number of vectors - 1).

    Returns:
        A table with panel, x, y, modality, id, dominant class and a soft-label text.
    """
    frames = []
    for title, runs in panels.items():
        lat = stack_latents(runs)
        xy = umap_2d(lat.z, n_neighbors=n_neighbors, seed=seed)
        dominant = [class_names[i] for i in lat.labels.argmax(1)]
        text = [", ".join(f"{class_names[c]} {v:.2f}" for c, v in sorted(enumerate(row), key=lambda t: -t[1])
                          if v > 0) for row in lat.labels]
        frames.append(pd.DataFrame({"panel": title, "x": xy[:, 0], "y": xy[:, 1], "modality": lat.modality,
                                    "id": lat.ids, "dominant": dominant, "soft_label": text}))
    return pd.concat(frames, ignore_index=True)
