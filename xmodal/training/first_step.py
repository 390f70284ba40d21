"""The first step of a run, shown before the long run: one batch and the loss terms of eq. (4).

The experiment notebook opens its lesson with this: the first batch of every sensor as the
network sees it, and the value and weight of each loss term of the first optimisation step
(:func:`first_step`, :func:`loss_terms`). Both are computed by the training code itself, so
what the lesson shows is what the run does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from xmodal.config import ExperimentConfig

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["first_step", "loss_terms"]


def first_step(config: ExperimentConfig | Mapping[str, Any], *, n_show: int = 6) -> dict[str, Any]:
    """The first batch of a run and the losses of its first training step, as training makes them.

    Builds the network and the batch streams exactly as the run does (same seeds: the
    initial weights and the first batch of every sensor are the run's), and takes one
    :func:`~xmodal.training.loop.train_step` on a copy that is then dropped. Nothing is written and
    the process's random state, threads and determinism settings are restored, so the run
    that follows is not changed by it.

    Args:
        config: the run's configuration.
        n_show: patches of each sensor's batch kept for display.

    Returns:
        ``{"modalities", "ids": {mod: [n_show]}, "images": {mod: [n_show, C, H, W]} (as the network
        sees them), "band_names": {mod}, "target": {mod: [n_show, K]} (soft labels), "class_names",
        "batch_size", "losses": {L_C, L_M, L_T, loss, triplet_valid, modality_accuracy, L_align},
        "w" (the alignment weight of the first step)}``.
    """
    import numpy as np
    import torch

    from xmodal.losses import grl_weight
    from xmodal.training.batches import Streams
    from xmodal.training.loop import build_state, train_step
    from xmodal.training.run import check_inputs, read_split
    from xmodal.training.runtime import Dist, runtime_settings

    cfg = config if isinstance(config, ExperimentConfig) else ExperimentConfig.from_dict(dict(config))
    cfg = cfg.replace(progress=False, num_workers=0)
    train_sets = {m: read_split(cfg, m, "train") for m in cfg.modalities}
    ctx = Dist(cfg)
    try:
        val_sets = {m: read_split(cfg, m, "val") for m in cfg.modalities} if cfg.val_fraction > 0 else None
        inputs = check_inputs(cfg, train_sets, {}, ctx, val_sets, test=False)  # the lesson reads no test patch
        with torch.random.fork_rng(devices=[]), runtime_settings(cfg, ctx.device):
            state = build_state(cfg, inputs, ctx)
            streams = Streams(cfg, train_sets, ctx)
            w = grl_weight(0.0, cfg.grl_schedule, cfg.grl_weight) if "M" in cfg.losses else 0.0
            xs, y = next(streams.epoch(0))
            first = {m: next(iter(streams.samplers[m])) for m in inputs.modalities}
            state.net.train()
            record = train_step(state.net, xs, y, cfg, state.optimizer, state.scaler, w)
    finally:
        ctx.close()
    labels = dict(zip(inputs.modalities, y.split([x.shape[0] for x in xs.values()]), strict=True))
    return {
        "modalities": list(inputs.modalities),
        "ids": {m: [str(train_sets[m].ids[i]) for i in first[m][:n_show]] for m in inputs.modalities},
        "images": {m: xs[m][:n_show].float().cpu().numpy() for m in inputs.modalities},
        "band_names": {m: list(train_sets[m].band_names) for m in inputs.modalities},
        "target": {m: np.asarray(labels[m][:n_show].float().cpu()) for m in inputs.modalities},
        "class_names": list(inputs.class_names),
        "batch_size": int(xs[inputs.modalities[0]].shape[0]),
        "losses": {k: float(v) for k, v in record._asdict().items()},
        "w": float(w),
    }


def loss_terms(step: Mapping[str, Any], config: ExperimentConfig | Mapping[str, Any]) -> pd.DataFrame:
    """The loss terms of :func:`first_step` and their weights in eq. (4), one row per term.

    Columns: ``term``, ``value``, ``weight`` (its factor in the objective the encoders minimise:
    ``beta`` for L_C, ``alpha`` for L_T, ``-w`` for L_M under gradient reversal, ``+w`` for another
    alignment's term, 0 for a term the method only logs) and ``contribution`` (value x weight);
    the last row, ``objective (eq. 4)``, is their sum as training records it.
    """
    import pandas as pd

    cfg = config if isinstance(config, ExperimentConfig) else ExperimentConfig.from_dict(dict(config))
    losses, w = step["losses"], float(step["w"])
    aligned = "M" in cfg.losses and cfg.alignment != "reversal"
    weights = {
        "L_C": cfg.beta,
        "L_T": cfg.alpha if "T" in cfg.losses else 0.0,
        "L_M": -w if "M" in cfg.losses and not aligned and w else 0.0,
    }
    if aligned:
        weights["L_align"] = w
    rows = [{"term": k, "value": losses[k], "weight": wk, "contribution": losses[k] * wk} for k, wk in weights.items()]
    rows.append({"term": "objective (eq. 4)", "value": losses["loss"], "weight": None, "contribution": losses["loss"]})
    return pd.DataFrame(rows, columns=["term", "value", "weight", "contribution"])
