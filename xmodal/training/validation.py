"""The validation split during training: the score after every epoch, and when to stop.

A run with ``val_fraction`` > 0 holds whole training scenes out (:func:`xmodal.data.splits.carve_validation`)
and scores them after every epoch (:class:`ValidationSet`): weighted F1 at the paper's threshold
for every sensor the run serves, and their mean, :func:`validation_score`, the one number every
choice of the study is made on (the stopping epoch here, the hyperparameters in
:mod:`xmodal.tuning`, the clouds' fallback threshold). With ``patience`` the run stops after
that many epochs without a better score (:func:`should_stop`) and keeps the best epoch's weights;
``epochs`` is then the cap. Everything here follows from the run's ``history``, so a resumed run
takes the same decisions as one never stopped, and :func:`validation_record` is what
``result.json`` keeps under ``validation``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np
import torch

from xmodal.config import ExperimentConfig
from xmodal.metrics import F1_THRESHOLD, f1_scores
from xmodal.models import CrossModalNet
from xmodal.training.batches import EVAL_BATCH_SIZE, PatchDataset, collate
from xmodal.training.runtime import autocast, to_device

__all__ = [
    "VALIDATION_METRIC",
    "ValidationSet",
    "best_epoch",
    "should_stop",
    "validation_record",
    "validation_score",
]

#: What :func:`validation_score` is, in words (recorded with every curve).
VALIDATION_METRIC = f"weighted F1 (threshold {F1_THRESHOLD}) on the validation scenes, mean over the run's sensors"


def validation_score(f1_weighted: Mapping[str, float]) -> float:
    """The one validation number: the mean weighted F1 over the sensors a run serves (NaN when none)."""
    values = [float(v) for v in f1_weighted.values()]
    return float(np.mean(values)) if values else math.nan


class ValidationSet(NamedTuple):
    """A run's validation datasets (sensor -> dataset; the same patches for every sensor)."""

    datasets: Mapping[str, PatchDataset]
    class_names: list[str]

    @torch.no_grad()
    def measure(self, net: CrossModalNet, config: ExperimentConfig, device: torch.device) -> dict[str, Any]:
        """``val_f1_weighted`` (sensor -> weighted F1), ``val_score`` (their mean) and ``val_seconds``.

        Reads the patches without a DataLoader, in eval mode, so it draws nothing from torch's
        random number generators: a run trains exactly as it would without validation, and a
        run stopped early is the prefix of the same run trained to the cap.
        """
        t0 = time.perf_counter()
        was_training = net.training
        net.eval()
        f1 = {}
        try:
            for m, dataset in self.datasets.items():
                probs, targets = [], []
                getitems = getattr(dataset, "__getitems__", None)
                for start in range(0, len(dataset), EVAL_BATCH_SIZE):
                    rows = list(range(start, min(start + EVAL_BATCH_SIZE, len(dataset))))
                    xb, yb = collate(getitems(rows) if getitems is not None else [dataset[i] for i in rows])
                    with autocast(config.precision, device):
                        logits = net(to_device(xb, device, config.channels_last), m)["logits"]
                    probs.append(torch.softmax(logits.float(), dim=1).cpu())
                    targets.append(yb.float().cpu())
                prob = torch.cat(probs).numpy()
                # a diverged network scores nothing: NaN, never the best epoch
                f1[m] = (f1_scores(torch.cat(targets).numpy(), prob, class_names=self.class_names)["weighted"]
                         if np.isfinite(prob).all() else math.nan)
        finally:
            net.train(was_training)
        return {"val_f1_weighted": f1, "val_score": validation_score(f1), "val_seconds": time.perf_counter() - t0}


def _scores(history: Sequence[Mapping[str, Any]]) -> list[float]:
    return [float(h.get("val_score", math.nan)) for h in history]


def best_epoch(history: Sequence[Mapping[str, Any]]) -> int | None:
    """The epoch (1-based) of the best validation score so far, the earliest on a tie; ``None`` without one."""
    best, best_score = None, -math.inf
    for i, score in enumerate(_scores(history)):
        if not math.isnan(score) and score > best_score:
            best, best_score = i + 1, score
    return best


def should_stop(history: Sequence[Mapping[str, Any]], config: ExperimentConfig) -> bool:
    """Whether training stops before another epoch: ``patience`` epochs without a better validation score.

    Always ``False`` without ``patience``; the cap (``epochs``) is the loop's own end.
    """
    if config.patience is None or not history:
        return False
    best = best_epoch(history)
    return len(history) - (best or 0) >= config.patience


def validation_record(
    history: Sequence[Mapping[str, Any]], config: ExperimentConfig, steps_per_epoch: int,
    n_val: Mapping[str, int], scenes: int | None,
) -> dict[str, Any]:
    """What ``result.json`` keeps under ``validation`` (empty without a validation split).

    Keys: ``metric`` (:data:`VALIDATION_METRIC`), ``n_val`` (sensor -> patches), ``scenes``,
    ``curve`` (per epoch: ``epoch``, ``step``, ``score``, ``f1_weighted``), ``best_epoch``,
    ``best_step``, ``best_score``, ``epochs_trained``, ``stopped_early`` (fewer epochs than the
    cap), ``patience``, ``cap_epochs`` and ``weights``: ``"best"`` (early stopping keeps the
    best epoch's weights, which the test scores are from) or ``"last"``.
    """
    if config.val_fraction == 0.0:
        return {}
    curve = [{"epoch": int(h["epoch"]), "step": int(h["epoch"]) * steps_per_epoch,
              "score": float(h.get("val_score", math.nan)), "f1_weighted": dict(h.get("val_f1_weighted") or {})}
             for h in history]
    best = best_epoch(history)
    return {
        "metric": VALIDATION_METRIC,
        "n_val": dict(n_val),
        "scenes": scenes,
        "curve": curve,
        "best_epoch": best,
        "best_step": None if best is None else best * steps_per_epoch,
        "best_score": None if best is None else curve[best - 1]["score"],
        "epochs_trained": len(history),
        "stopped_early": len(history) < config.epochs,
        "patience": config.patience,
        "cap_epochs": config.epochs,
        "weights": "best" if config.patience is not None else "last",
    }
