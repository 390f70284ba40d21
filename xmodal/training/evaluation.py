"""Inference: predict a test split, score every modality, load a trained network.

:func:`evaluate` predicts a whole dataset of one modality; :func:`evaluate_all` does so for
every modality of a run and computes F1 per modality and the eq.-(5) homogeneity of every
pair (:mod:`xmodal.metrics`), with the records the run folder keeps
(:class:`~xmodal.rundir.Predictions`, :class:`~xmodal.rundir.Latents`). :func:`load_model`
rebuilds a run's network from its checkpoint; :func:`predict` classifies a batch.
"""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple, cast

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset

from xmodal.config import ExperimentConfig
from xmodal.metrics import f1_scores, homogeneity
from xmodal.models import CrossModalNet
from xmodal.rundir import Latents, Predictions, RunDir, RunFolderError
from xmodal.training.batches import EVAL_BATCH_SIZE, Inputs, PatchDataset, collate
from xmodal.training.checkpoint import read_checkpoint
from xmodal.training.loop import build_model
from xmodal.training.runtime import autocast, to_device

__all__ = ["EVAL_BATCH_SIZE", "Evaluation", "evaluate", "evaluate_all", "load_model", "predict"]


@torch.no_grad()
def evaluate(
    net: CrossModalNet,
    dataset: PatchDataset,
    modality: str,
    *,
    device: torch.device | str | None = None,
    batch_size: int = EVAL_BATCH_SIZE,
    precision: str = "fp32",
    channels_last: bool = False,
    num_workers: int = 0,
) -> dict[str, Any]:
    """Predict a whole dataset of one modality (the network is put in eval mode meanwhile).

    Args:
        net: a trained :class:`~xmodal.models.CrossModalNet` (see :func:`load_model`).
        dataset: a dataset of ``modality`` (:class:`PatchDataset`).
        modality: which backbone and merge net to use.
        device: default: where ``net`` lives.
        batch_size: patches per forward pass.
        precision: as in the config (fp32, bf16, fp16).
        channels_last: as in the config.
        num_workers: DataLoader workers.

    Returns:
        ``{"ids": list[str], "prob": [N, C] float32 (softmax), "z": [N, D]
        float32 latents, "target": [N, C] float32 soft labels}``.
    """
    from torch.utils.data import BatchSampler, SequentialSampler

    device = torch.device(device) if device is not None else next(net.parameters()).device
    net.modality_index(modality)
    was_training = net.training
    net.eval()
    batches = BatchSampler(SequentialSampler(dataset), batch_size, drop_last=False)
    loader = DataLoader(cast(Dataset, dataset), batch_sampler=batches, collate_fn=collate, num_workers=num_workers,
                        pin_memory=device.type == "cuda")
    probs, zs, targets = [], [], []
    try:
        for xb, yb in loader:
            xb = to_device(xb, device, channels_last)
            with autocast(precision, device):
                outputs = net(xb, modality)
            probs.append(torch.softmax(outputs["logits"].float(), dim=1).cpu())
            zs.append(outputs["z"].float().cpu())
            targets.append(yb.float().cpu())
    finally:
        net.train(was_training)
    n_classes = net.n_classes
    return {
        "ids": [str(i) for i in getattr(dataset, "ids", range(len(dataset)))],
        "prob": torch.cat(probs).numpy() if probs else np.zeros((0, n_classes), np.float32),
        "z": torch.cat(zs).numpy() if zs else np.zeros((0, net.latent_dim), np.float32),
        "target": torch.cat(targets).numpy() if targets else np.zeros((0, n_classes), np.float32),
    }


@torch.no_grad()
def predict(net: CrossModalNet, x: Tensor, modality: str) -> np.ndarray:
    """Class probabilities ``[B, C]`` for a batch ``[B, C_m, H, W]`` (or one patch ``[C_m, H, W]``)."""
    was_training = net.training
    net.eval()
    if x.dim() == 3:
        x = x[None]
    device = next(net.parameters()).device
    prob = torch.softmax(net(x.to(device), modality)["logits"].float(), dim=1).cpu().numpy()
    net.train(was_training)
    return prob


def load_model(
    out_dir: str | os.PathLike, device: str | torch.device = "cpu"
) -> tuple[CrossModalNet, ExperimentConfig]:
    """The trained network of a run folder (in eval mode) and its config.

    Raises:
        RunFolderError: no checkpoint in ``out_dir``, or one that cannot be read (the message
            names the file; a damaged checkpoint of a finished run means training it again).
    """
    path = RunDir(out_dir).checkpoint_path
    if not path.exists():
        raise RunFolderError(f"No checkpoint in {Path(out_dir)}: expected {path} (has the run been trained?)")
    try:
        ckpt = read_checkpoint(path, device)
    except RunFolderError as exc:
        raise RunFolderError(f"{exc}; train the run again (resume=False, or xmodal train --no-resume)") from exc
    config = ExperimentConfig.from_dict(ckpt["config"])
    net = build_model(config, ckpt["in_channels"], int(ckpt["n_classes"]))
    net.load_state_dict(ckpt["model"])
    net.to(device).eval()
    return net, config


class Evaluation(NamedTuple):
    """What the test splits gave: F1 per modality, eq.-(5) homogeneity per pair, the records to write."""

    metrics: dict[str, dict[str, Any]]
    homogeneity: dict[str, float]
    predictions: Predictions
    latents: Latents
    seconds: float


def evaluate_all(
    net: CrossModalNet, test_sets: Mapping[str, PatchDataset], config: ExperimentConfig, inputs: Inputs,
    device: torch.device,
) -> Evaluation:
    """Predict every modality's test split; F1 per modality, eq.-(5) homogeneity of every pair of modalities."""
    t0 = time.perf_counter()
    mods = inputs.modalities
    evals = {
        m: evaluate(net, test_sets[m], m, device=device, precision=config.precision,
                    channels_last=config.channels_last, num_workers=config.num_workers)
        for m in mods
    }
    predictions = _predictions(mods, evals, inputs.class_names)
    metrics = {m: f1_scores(predictions.target[m], predictions.prob[m], class_names=inputs.class_names)
               for m in mods}
    homog = {}
    for a, b in itertools.combinations(mods, 2):
        ia, ib = predictions.aligned(a, b)
        homog[f"{a}|{b}"] = homogeneity(predictions.prob[a][ia], predictions.prob[b][ib])
    latents = _latents(mods, evals, config.n_latent)
    return Evaluation(metrics, homog, predictions, latents, time.perf_counter() - t0)


def _predictions(mods: Sequence[str], evals: Mapping[str, dict], class_names: Sequence[str]) -> Predictions:
    """The test predictions of every modality (from :func:`evaluate`)."""
    return Predictions(
        modalities=list(mods),
        class_names=list(class_names),
        ids={m: np.array(evals[m]["ids"]) for m in mods},
        target={m: evals[m]["target"] for m in mods},
        prob={m: evals[m]["prob"] for m in mods},
    )


def _latents(mods: Sequence[str], evals: Mapping[str, dict], n_latent: int) -> Latents:
    """Latents of the first ``n_latent`` test patches common to all modalities (same ids per modality)."""
    ids0 = list(evals[mods[0]]["ids"])
    common = set(ids0)
    for m in mods[1:]:
        common &= set(evals[m]["ids"])
    chosen = [pid for pid in ids0 if pid in common][:n_latent]
    z, lab, prob, mod, ids = [], [], [], [], []
    for m in mods:
        pos = {pid: j for j, pid in enumerate(evals[m]["ids"])}
        rows = np.array([pos[pid] for pid in chosen], dtype=np.int64)
        z.append(evals[m]["z"][rows])
        lab.append(evals[m]["target"][rows])
        prob.append(evals[m]["prob"][rows])
        mod.extend([m] * len(rows))
        ids.extend(chosen)
    return Latents(z=np.concatenate(z), labels=np.concatenate(lab), prob=np.concatenate(prob),
                   modality=np.array(mod, dtype=str), ids=np.array(ids, dtype=str))

