"""Which triplets eq. (3)'s miner picks in a real batch: the method page's table.

:func:`mined_triplets` runs the training's own miner (:func:`xmodal.losses.mine_triplets`,
torch) on a run's saved latent vectors and tabulates its choices: for each anchor, the
positive and the hard negative it picked from the other sensor, their label similarity
and their cosine similarity to the anchor.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from xmodal.analysis.tidy import sensor_order
from xmodal.rundir import Latents

__all__ = ["mined_triplets"]


def mined_triplets(latents: Latents, anchor_mod: str | None = None, other_mod: str | None = None,
                   batch_size: int = 16, n_show: int = 8, seed: int = 0,
                   positive_threshold: float = 0.5, negative_threshold: float = 0.1,
                   class_names: Sequence[str] | None = None) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Run :func:`xmodal.losses.mine_triplets` on a real batch and tabulate its choices.

    A batch of ``batch_size`` anchors of ``anchor_mod`` and an *independent* batch of
    ``other_mod`` (as in training: the two batches are not aligned) are drawn from a run's
    saved latent vectors; for each anchor the table shows its soft label, the positive
    and the hard negative chosen from the other sensor, their histogram intersection
    with the anchor's label and their cosine similarity to the anchor.

    Args:
        latents: a run's latent vectors (at least two sensors).
        anchor_mod: the sensor of the anchors (default: the run's first, in display order).
        other_mod: the sensor of the candidates (default: the run's second).
        batch_size: anchors (and candidates) drawn.
        n_show: rows of the table.
        seed: seeds the draw.
        positive_threshold: the run's mining threshold for positives.
        negative_threshold: the run's mining threshold for negatives.
        class_names: names of the soft-label entries.

    Returns:
        ``(table, info)``: info holds the label similarity ``s`` and cosine ``cos`` matrices,
        the chosen ``pos`` and ``neg`` indices, ``valid``, ``n_valid`` and ``n``.

    Raises:
        ValueError: the run's latent vectors hold fewer than two sensors (the message names them).
    """
    import torch

    from xmodal.losses import histogram_intersection, mine_triplets

    mod = np.asarray(latents.modality).astype(str)
    sensors = sensor_order(mod)
    if anchor_mod is None or other_mod is None:
        if len(sensors) < 2:
            raise ValueError(f"Triplets need latent vectors of two sensors; these hold {sensors}")
        anchor_mod, other_mod = anchor_mod or sensors[0], other_mod or sensors[1]
    rng = np.random.default_rng(seed)
    ia = np.flatnonzero(mod == anchor_mod)
    ib = np.flatnonzero(mod == other_mod)
    ia = rng.choice(ia, size=min(batch_size, len(ia)), replace=False)
    ib = rng.choice(ib, size=min(batch_size, len(ib)), replace=False)
    z = torch.as_tensor(np.asarray(latents.z, dtype=np.float32))
    y = torch.as_tensor(np.asarray(latents.labels, dtype=np.float32))
    pos, neg, valid = mine_triplets(z[ia], y[ia], z[ib], y[ib], positive_threshold, negative_threshold)
    s = histogram_intersection(y[ia], y[ib]).numpy()
    za = torch.nn.functional.normalize(z[ia], dim=1)
    zb = torch.nn.functional.normalize(z[ib], dim=1)
    cos = (za @ zb.T).numpy()
    ids = np.asarray(latents.ids).astype(str)
    names = list(class_names) if class_names is not None else [f"c{i}" for i in range(y.shape[1])]

    def lab(v: np.ndarray) -> str:
        top = np.argsort(-v)[:2]
        return ", ".join(f"{names[k]} {v[k]:.2f}" for k in top if v[k] > 0)

    rows = []
    yn = y.numpy()
    for k in range(len(ia)):
        ok = bool(valid[k])
        p, q = int(pos[k]), int(neg[k])
        rows.append({
            "anchor": ids[ia[k]], "anchor label": lab(yn[ia[k]]),
            "positive": ids[ib[p]] if ok else "– (no candidate)",
            "positive label": lab(yn[ib[p]]) if ok else "",
            "S(anchor, positive)": round(float(s[k, p]), 2) if ok else np.nan,
            "cos(anchor, positive)": round(float(cos[k, p]), 2) if ok else np.nan,
            "negative": ids[ib[q]] if ok else "– (no candidate)",
            "negative label": lab(yn[ib[q]]) if ok else "",
            "S(anchor, negative)": round(float(s[k, q]), 2) if ok else np.nan,
            "cos(anchor, negative)": round(float(cos[k, q]), 2) if ok else np.nan,
            "same patch as positive": bool(ok and ids[ia[k]] == ids[ib[p]]),
        })
    table = pd.DataFrame(rows)
    return table.head(n_show), {"s": s, "cos": cos, "pos": pos.numpy(), "neg": neg.numpy(),
                                 "valid": valid.numpy(), "n_valid": int(valid.sum()), "n": len(ia)}
