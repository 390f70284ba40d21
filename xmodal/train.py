"""Training and evaluation of one experiment: :func:`run_experiment` is the single entry point.

The notebook, the CLI (``xmodal train``), ``torchrun -m xmodal.train`` and the
tests all call :func:`run_experiment`, which returns a :class:`~xmodal.rundir.Result`
and writes the run folder ``out_dir`` through :class:`~xmodal.rundir.RunDir`
(every file atomically, see :mod:`xmodal.atomic`):

* the checkpoint -- after every epoch: weights, optimiser, epoch, RNG state,
  history; slimmed to the weights once the run is complete;
* the :class:`~xmodal.rundir.Predictions` -- test ids, soft labels and class
  probabilities per modality;
* the :class:`~xmodal.rundir.Latents` -- latent vectors of the first
  ``n_latent`` test patches of every modality (the same ids for every modality,
  so pairs can be connected);
* the :class:`~xmodal.rundir.Result` -- config, hash, data description, metrics,
  homogeneity, history, timings, versions (written last).

Training (Sec. 2 of the paper):

* **baseline**: one modality, the same network, classification loss only.
* **C, C+M, C+T, C+T+M**: all configured modalities. Every step draws an
  *independent* batch of ``batch_size`` patches per modality (independent
  shuffles, no alignment: the paper does not need aligned pairs), each batch
  with its own soft labels, and minimises
  ``alpha * L_T + beta * L_C - L_M`` (eq. 4, :func:`total_loss`) where present; the minus sign of
  ``L_M`` is the gradient reversal layer in front of the modality classifier,
  its weight following ``grl_schedule`` over training progress (updated every
  step). With another ``alignment`` (:data:`xmodal.losses.ALIGNMENTS`, named
  ablations) the reversal weight stays 0, the modality classifier learns on the
  latents alone, and ``- L_M`` becomes ``+ w L_align`` for the encoders
  (:func:`alignment_loss`), ``w`` on the same schedule. ``L_T`` (eq. 3, mean over valid anchors, see
  :func:`xmodal.losses.triplet_loss`) runs over every *ordered* pair of
  modalities ``(a, b)``: anchors from ``a``, positive and hard negative from ``b``
  (:func:`xmodal.losses.mine_triplets`), with distances between latent vectors
  scaled to unit length (:data:`TRIPLET_NORMALIZE`: the raw reading collapses the
  latent space).
* Methods without ``M`` still train the modality classifier, as a *probe*, with
  reversal weight 0: no gradient reaches the encoders, but the logged ``L_M``
  shows how well the modality can be told from the latent vector in every
  method (``ln 2 = 0.693`` means "not at all" for two modalities). Likewise
  ``L_T`` is computed and logged for every method but only trained with ``T``.
* The adversary is recorded: every epoch's history holds the modality classifier's
  training accuracy (``modality_accuracy``, argmax against the true sensor, averaged
  over the steps like the losses) and, at the end of the epoch, ``probe_accuracy``:
  a fresh linear probe (:func:`xmodal.analysis.latent.modality_probe`, folds grouped
  by patch) on the latents of a fixed set of up to :data:`PROBE_PATCHES` test patches
  per sensor, and the seconds it took (``probe_seconds``). A flipped code fools the
  modality classifier (``L_M`` above ``ln M``, accuracy below chance) but not the
  probe. The probe runs after every other epoch (the 1st, 3rd, ...) and the last for
  the methods with ``M`` (whose adversary it watches), and after the last epoch only for
  the others (C, C+T): a probe costs about a tenth of a second, which a study of many
  short runs feels. Single-sensor runs record neither.
* ``pairing`` says which patches the modalities train on: ``"aligned"``, the
  same training split for every modality (each place seen by every sensor, in
  different batches); ``"disjoint"``, the training scenes partitioned between the
  modalities (:func:`xmodal.data.splits.partition_scenes`): no place is seen by
  two sensors. The losses need nothing else: ``L_C`` reads each batch's own
  labels, ``L_T`` relates the modalities' batches by their labels alone, ``L_M``
  by the sensor. The test split stays aligned. :func:`train_on_datasets` refuses
  ``"disjoint"`` training sets that share a patch or a scene, and the result's data
  records the training scenes per modality and how many they share.
* An epoch is ``ceil(n_max / batch_size)`` steps, ``n_max`` the largest
  training set among the modalities, or ``steps_per_epoch`` steps when that is
  set (a fixed optimisation budget, so that runs on training sets of different
  sizes differ only in their data); a modality's sampler reshuffles and
  continues when it runs out, so every batch is full.

Runtime: seeded and deterministic on CPU, device ``auto`` (CUDA when present),
fp32 / bf16 autocast / fp16 autocast with a gradient scaler (CUDA only),
optional channels_last, ``torch.set_num_threads(threads)``, DataLoader workers,
tqdm progress. Under ``torchrun`` (``WORLD_SIZE > 1``) it joins a process group
(gloo on CPU, nccl on CUDA), wraps the network in DistributedDataParallel, shards
every modality with a :class:`~torch.utils.data.DistributedSampler` (each rank
takes ``ceil(batch_size / world_size)`` of every step's batch) and only rank 0
writes files.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import itertools
import json
import math
import os
import platform
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple, Protocol, cast

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import Tensor, nn
from torch.utils.data import DataLoader, Dataset, DistributedSampler, Sampler
from torch.utils.data._utils.collate import default_collate

from xmodal import atomic
from xmodal.config import LR_SCHEDULES, ConfigError, ExperimentConfig
from xmodal.errors import XmodalError
from xmodal.losses import (
    classification_loss,
    coral_loss,
    domain_confusion_loss,
    grl_weight,
    mine_triplets,
    mmd_loss,
    modality_loss,
    pairwise_alignment_loss,
    triplet_loss,
)
from xmodal.metrics import f1_scores, homogeneity
from xmodal.models import CrossModalNet
from xmodal.rundir import Latents, Predictions, Result, RunDir

__all__ = [
    "LossRecord",
    "PROBE_PATCHES",
    "PatchDataset",
    "ResumeError",
    "run_experiment",
    "train_on_datasets",
    "train_step",
    "total_loss",
    "alignment_loss",
    "build_model",
    "make_optimizer",
    "load_model",
    "evaluate",
    "predict",
    "main",
]

#: Whether eq. 3 measures distances between latent vectors scaled to unit length (default).
#: The paper mines hard negatives by *cosine* similarity, i.e. by direction; with raw
#: vectors the un-margined positive term ``||x^a - x^b_+||`` pulls every vector toward the
#: others at constant force, so the whole latent space shrinks and the classifier starves:
#: on tiny synthetic runs C+T reached weighted F1 ~0.2 with raw vectors against ~0.6-0.7 on
#: the unit sphere (where distances lie in [0, 2] and the margin ``mu = 1`` means "cosine
#: similarity at most 0.5"). A config key ``triplet_normalize`` overrides it when present.
TRIPLET_NORMALIZE = True
#: Batch size of the evaluation pass (no gradients, so larger than training's).
EVAL_BATCH_SIZE = 128
#: Test patches per sensor (the same ids for every sensor) whose latents the per-epoch modality probe reads.
PROBE_PATCHES = 128


class ResumeError(XmodalError, RuntimeError):
    """``out_dir`` holds a checkpoint or result of a different configuration."""


class PatchDataset(Protocol):
    """The dataset contract of :class:`xmodal.data.Sen12MS` that the trainer relies on.

    Items are ``(x [C, H, W], y [n_classes])`` (soft label); an optional
    ``__getitems__`` returns a whole batch at once. Optional attributes are read
    when present: ``stats`` (normalisation) and ``skipped_patches`` (patches left out).
    """

    @property
    def ids(self) -> Sequence[str]:
        """Patch ids, one per item."""

    @property
    def labels(self) -> np.ndarray:
        """Soft labels ``[N, C]``, one row per item."""

    @property
    def n_classes(self) -> int:
        """Classes of the soft labels."""

    @property
    def class_names(self) -> Sequence[str]:
        """Names of the classes."""

    @property
    def in_channels(self) -> int:
        """Bands of ``x``."""

    def __len__(self) -> int: ...

    def __getitem__(self, index: int, /) -> tuple[Tensor, Tensor]: ...


# ----------------------------------------------------------------------------- helpers
def _as_config(config: ExperimentConfig | Mapping[str, Any]) -> ExperimentConfig:
    if isinstance(config, ExperimentConfig):
        config.validate()
        return config
    if isinstance(config, Mapping):
        return ExperimentConfig.from_dict(dict(config))
    raise ConfigError(f"run_experiment: config must be an ExperimentConfig or a mapping, got {type(config).__name__}")


def _versions() -> dict[str, str]:
    import torchvision

    try:
        from importlib.metadata import version

        xm = version("xmodal")
    except Exception:  # not installed (running from a source tree)
        xm = "unknown"
    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "numpy": np.__version__,
        "xmodal": xm,
    }


def _resolve_device(name: str, local_rank: int = 0) -> torch.device:
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError("Invalid value for 'device': 'cuda' but no CUDA device is available; use 'auto' or 'cpu'")
        return torch.device("cuda", local_rank % torch.cuda.device_count())
    return torch.device("cpu")


def _check_runtime(config: ExperimentConfig, device: torch.device) -> None:
    if config.precision == "fp16" and device.type != "cuda":
        raise ConfigError(
            "Invalid value for 'precision': 'fp16' needs CUDA (autocast + gradient scaler); use 'bf16' or 'fp32' on CPU"
        )


def _collate(batch: Any) -> tuple[Tensor, Tensor]:
    """Pass through ``(X, Y)`` from ``Dataset.__getitems__``; stack a list of samples otherwise."""
    if isinstance(batch, (tuple, list)) and len(batch) == 2 and isinstance(batch[0], Tensor) and batch[0].dim() == 4:
        return batch[0], batch[1]
    return tuple(default_collate(batch))


class _StepBatches(Sampler[list[int]]):
    """Index batches of one modality for one epoch of exactly ``steps`` steps.

    Indices come from a :class:`~torch.utils.data.DistributedSampler` (one
    replica when not distributed) with a seed of its own per modality, so
    modalities are shuffled independently; when the shard runs out before
    ``steps * batch_size`` indices the next reshuffle continues it. The order
    depends only on (seed, epoch), which makes a resumed run exact.
    """

    def __init__(self, dataset: PatchDataset, batch_size: int, steps: int, seed: int, rank: int, world: int) -> None:
        self.sampler: DistributedSampler = DistributedSampler(
            cast(Dataset, dataset), num_replicas=world, rank=rank, shuffle=True, seed=seed)
        self.batch_size = batch_size
        self.steps = steps
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.steps

    def __iter__(self) -> Iterator[list[int]]:
        need = self.steps * self.batch_size
        idx: list[int] = []
        rep = 0
        while len(idx) < need:
            self.sampler.set_epoch(self.epoch * 1000 + rep)
            idx.extend(self.sampler)
            rep += 1
        for s in range(self.steps):
            yield idx[s * self.batch_size : (s + 1) * self.batch_size]


def _loader(
    dataset: PatchDataset, batch_sampler: Sampler, config: ExperimentConfig, seed: int, device: torch.device
) -> DataLoader:
    workers = config.num_workers
    return DataLoader(
        cast(Dataset, dataset),
        batch_sampler=batch_sampler,
        collate_fn=_collate,
        num_workers=workers,
        persistent_workers=workers > 0,
        pin_memory=device.type == "cuda",
        generator=torch.Generator().manual_seed(seed),
    )


def _autocast(precision: str, device: torch.device) -> contextlib.AbstractContextManager:
    if precision == "fp32":
        return contextlib.nullcontext()
    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    return torch.autocast(device_type=device.type, dtype=dtype)


def make_optimizer(config: ExperimentConfig, params: Any) -> torch.optim.Optimizer:
    """The optimiser ``config.optimizer`` names, over ``params``.

    Adam and AdamW use their fused kernel (CPU and CUDA): on a 2-core CPU the
    unfused update of two ResNet18s took 143 ms per step, the fused one 29 ms.
    """
    if config.optimizer == "adam":
        return torch.optim.Adam(params, lr=config.lr, weight_decay=config.weight_decay, fused=True)
    if config.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay, fused=True)
    return torch.optim.SGD(params, lr=config.lr, momentum=0.9, weight_decay=config.weight_decay, nesterov=True)


def learning_rate(progress: float, config: ExperimentConfig) -> float:
    """The learning rate at training ``progress`` in [0, 1] under ``config.lr_schedule``.

    ``constant``: ``lr`` throughout. ``cosine`` (Loshchilov and Hutter, SGDR, 2017, without
    restarts): ``lr (1 + cos(pi p)) / 2``, from ``lr`` at the first step to 0 at the last,
    so the run ends with small steps and its final weights depend less on the last batches.
    """
    if config.lr_schedule == "constant":
        return config.lr
    if config.lr_schedule == "cosine":
        p = min(max(float(progress), 0.0), 1.0)
        return config.lr * 0.5 * (1.0 + math.cos(math.pi * p))
    raise ValueError(f"Invalid lr_schedule {config.lr_schedule!r}; choose one of {list(LR_SCHEDULES)}")


def build_model(config: ExperimentConfig, in_channels: Mapping[str, int], n_classes: int) -> CrossModalNet:
    """The :class:`~xmodal.models.CrossModalNet` a config describes."""
    return CrossModalNet(
        in_channels,
        n_classes,
        backbone=config.backbone,
        latent_dim=config.latent_dim,
        merge_hidden=tuple(config.merge_hidden),
        classifier_hidden=config.classifier_hidden,
        modality_hidden=config.modality_hidden,
        dropout=config.dropout,
        backbone_width=config.backbone_width,
    )


def _to_device(x: Tensor, device: torch.device, channels_last: bool) -> Tensor:
    x = x.to(device, non_blocking=True)
    return x.contiguous(memory_format=torch.channels_last) if channels_last else x


def _triplet_term(
    z: Tensor, y: Tensor, sizes: Sequence[int], config: ExperimentConfig
) -> tuple[Tensor, Tensor]:
    """L_T over every ordered modality pair (a, b): mean over valid anchors, and their count.

    The latent vectors enter eq. 3 scaled to unit length (unless the config
    sets ``triplet_normalize: false``): see :data:`TRIPLET_NORMALIZE`.
    """
    unit = bool(getattr(config, "triplet_normalize", TRIPLET_NORMALIZE))
    zs, ys = z.split(list(sizes)), y.split(list(sizes))
    total = z.new_zeros((), dtype=torch.float32)
    count = z.new_zeros((), dtype=torch.float32)
    for a in range(len(sizes)):
        for b in range(len(sizes)):
            if a == b:
                continue
            pos, neg, valid = mine_triplets(
                zs[a].detach(), ys[a], zs[b].detach(), ys[b], config.positive_threshold, config.negative_threshold
            )
            za, zb = (F.normalize(zs[a].float(), dim=1), F.normalize(zs[b].float(), dim=1)) if unit else (zs[a], zs[b])
            per = triplet_loss(za, zb[pos], zb[neg], config.lam, config.mu, reduction="none")
            v = valid.to(per.dtype)
            total = total + (per * v).sum()
            count = count + v.sum()
    return total / count.clamp(min=1.0), count


class LossRecord(NamedTuple):
    """The losses of one training step, detached 0-d tensors on the device (reading them syncs the host).

    Attributes:
        L_C: the classification loss (eq. 1).
        L_M: the modality classifier's loss (eq. 2); logged for every method (a probe without ``M``).
        L_T: the triplet loss (eq. 3), mean over valid anchors; logged for every method.
        loss: the eq. (4) objective the encoders minimise (:func:`total_loss` with the step's weight ``w``).
        triplet_valid: the fraction of anchors with a valid triplet.
        modality_accuracy: the modality classifier's accuracy on the step's batch (argmax against the
            true sensor): below chance when the encoders have flipped the code under gradient reversal.
        L_align: the alignment term of a non-reversal ``alignment`` (:func:`alignment_loss`), 0 otherwise
            (and then left out of the history).
    """

    L_C: Tensor
    L_M: Tensor
    L_T: Tensor
    loss: Tensor
    triplet_valid: Tensor
    modality_accuracy: Tensor
    L_align: Tensor


def _probe_due(config: ExperimentConfig, epoch: int) -> bool:
    """Whether the probe runs after ``epoch`` (0-based): with M every other epoch and the last, else the last."""
    last = epoch == config.epochs - 1
    return last or ("M" in config.losses and epoch % 2 == 0)


def _aligns(config: ExperimentConfig) -> bool:
    """Whether the encoders minimise an alignment term of their own (``M`` with an alignment other than reversal)."""
    return "M" in config.losses and config.alignment != "reversal"


def alignment_loss(z: Tensor, sizes: Sequence[int], net: CrossModalNet, config: ExperimentConfig) -> Tensor:
    """``L_align``, the encoders' term of a non-reversal ``config.alignment`` (wiring: :mod:`xmodal.losses`).

    * ``"confusion"``: :func:`~xmodal.losses.domain_confusion_loss` of the modality classifier
      applied to ``z`` with its parameters *detached*: the gradient reaches the encoders only,
      while the classifier itself keeps learning ``L_M`` on latents it cannot move.
    * ``"coral"`` / ``"mmd"``: :func:`~xmodal.losses.coral_loss` / :func:`~xmodal.losses.mmd_loss`
      between the sensors' latents of the batch (every pair of sensors,
      :func:`~xmodal.losses.pairwise_alignment_loss`), on the raw latent vectors.

    Args:
        z: ``[N, D]`` latents of the step, the sensors' batches concatenated.
        sizes: rows of each sensor in ``z``, in order.
        net: the network (its ``modality_classifier`` for ``"confusion"``).
        config: ``alignment``.

    Returns:
        A 0-d tensor.

    Raises:
        ValueError: ``config.alignment`` is ``"reversal"`` (its term is the gradient reversal itself).
    """
    if config.alignment == "confusion":
        head = net.modality_classifier
        frozen = {name: p.detach() for name, p in head.named_parameters()}
        return domain_confusion_loss(torch.func.functional_call(head, frozen, (z,)))
    if config.alignment in ("coral", "mmd"):
        fn = coral_loss if config.alignment == "coral" else mmd_loss
        return pairwise_alignment_loss(z.split(list(sizes)), fn)
    raise ValueError(f"alignment_loss: alignment {config.alignment!r} has no term of its own")


def total_loss(
    L_C: Tensor, L_M: Tensor, L_T: Tensor, config: ExperimentConfig, grl_w: float | None = None,
    L_align: Tensor | None = None, *, backprop: bool | None = None,
) -> Tensor:
    """Eq. (4), ``alpha * L_T + beta * L_C - L_M``, over the losses of the method (``config.losses``).

    The minus sign of ``L_M`` is the gradient reversal layer in front of the
    modality classifier: the classifier minimises ``L_M`` while the encoders
    receive its gradient reversed and scaled by the GRL weight ``w``. With
    another ``config.alignment`` (an ablation), ``- w * L_M`` becomes ``+ w * L_align``
    (:func:`alignment_loss`) and the reversal weight stays 0. The equation has two readings:

    * back-propagated (``backprop=True``; the default when ``grl_w`` is None) --
      ``beta * L_C (+ alpha * L_T) + L_M (+ w * L_align)``. ``L_M`` is always in it:
      without ``M`` or with another alignment it trains the modality classifier on
      latents it cannot move (reversal weight 0: a probe, or the adversary of
      ``"confusion"``); ``w * L_align`` is there only for a method with ``M`` and a
      non-reversal alignment.
    * the objective the encoders minimise (``grl_w`` given, ``backprop`` not set) --
      ``beta * L_C (+ alpha * L_T) (- w * L_M | + w * L_align)``: the ``loss`` of the history.

    Args:
        L_C: the classification loss (eq. 1).
        L_M: the modality classifier's loss (eq. 2).
        L_T: the triplet loss (eq. 3).
        config: ``losses``, ``alpha``, ``beta``, ``alignment``.
        grl_w: the step's alignment weight ``w`` (the GRL weight for ``"reversal"``).
        L_align: the step's :func:`alignment_loss` (needed with ``M`` and a non-reversal alignment).
        backprop: which reading (see above).

    Returns:
        A 0-d tensor.

    Raises:
        ValueError: ``L_align`` or ``w`` missing where the reading needs them.
    """
    if backprop is None:
        backprop = grl_w is None
    aligned = _aligns(config)
    if aligned and (L_align is None or grl_w is None):
        raise ValueError(f"total_loss: alignment {config.alignment!r} with M needs L_align and its weight grl_w")
    if not backprop and grl_w is None:
        raise ValueError("total_loss: the encoders' objective needs the step's weight grl_w")
    loss = config.beta * L_C
    if "T" in config.losses:
        loss = loss + config.alpha * L_T
    if backprop:
        loss = loss + L_M
        if aligned:
            loss = loss + cast(float, grl_w) * cast(Tensor, L_align)
        return loss
    if aligned:
        loss = loss + cast(float, grl_w) * cast(Tensor, L_align)
    elif "M" in config.losses:
        loss = loss - cast(float, grl_w) * L_M
    return loss


def train_step(
    model: nn.Module,
    xs: Mapping[str, Tensor],
    y: Tensor,
    config: ExperimentConfig,
    optimizer: torch.optim.Optimizer,
    scaler: torch.amp.GradScaler,
    grl_w: float,
) -> LossRecord:
    """One optimisation step of eq. (4) on one batch per modality.

    Args:
        model: a :class:`~xmodal.models.CrossModalNet`, possibly wrapped in DDP.
        xs: modality -> batch ``[B_m, C_m, H, W]`` (already on the device).
        y: the soft labels of all batches, concatenated in ``xs`` order.
        config: losses (``config.losses``), ``alpha``, ``beta``, ``lam``, ``mu``,
            thresholds, precision.
        optimizer: the optimiser (:func:`make_optimizer`).
        scaler: the gradient scaler (disabled unless fp16).
        grl_w: the alignment weight ``w`` for this step (0 for methods without M:
            the modality classifier is then a probe that does not touch the encoders).
            With ``"reversal"`` it is the gradient reversal's weight; with another
            ``config.alignment`` the reversal weight is 0 and ``w`` weights :func:`alignment_loss`.

    Returns:
        The step's :class:`LossRecord` (detached; no host sync).
    """
    net: CrossModalNet = model.module if hasattr(model, "module") else model  # type: ignore[assignment]
    aligned = _aligns(config)
    net.grl.weight = 0.0 if aligned else grl_w
    sizes = [x.shape[0] for x in xs.values()]
    with _autocast(config.precision, y.device):
        outputs = model(xs)
        L_align = alignment_loss(outputs["z"], sizes, net, config) if aligned else None
    L_C = classification_loss(outputs["logits"], y)
    L_M = modality_loss(outputs["modality_logits"], outputs["modality"])
    L_T, n_valid = _triplet_term(outputs["z"], y, sizes, config)
    optimizer.zero_grad(set_to_none=True)
    scaler.scale(total_loss(L_C, L_M, L_T, config, grl_w if aligned else None, L_align, backprop=True)).backward()
    scaler.step(optimizer)
    scaler.update()
    with torch.no_grad():
        anchors = max(y.shape[0] * (len(xs) - 1), 1)
        accuracy = (outputs["modality_logits"].argmax(dim=1) == outputs["modality"]).float().mean()
        return LossRecord(L_C.detach(), L_M.detach(), L_T.detach(),
                          total_loss(L_C, L_M, L_T, config, grl_w, L_align), n_valid / anchors, accuracy,
                          L_align.detach().float() if L_align is not None else torch.zeros((), device=y.device))


class _EpochLosses:
    """The sums of an epoch's :class:`LossRecord` s, in one device tensor: no host sync per step."""

    def __init__(self, device: torch.device) -> None:
        self.sums = torch.zeros(len(LossRecord._fields), device=device)
        self.steps = 0

    def add(self, record: LossRecord) -> None:
        self.sums += torch.stack(record)
        self.steps += 1

    def means(self, world: int) -> dict[str, float]:
        """Every loss of :class:`LossRecord` by name, averaged over the steps and the ``world`` processes."""
        if world > 1:
            dist.all_reduce(self.sums)
            self.sums /= world
        return dict(zip(LossRecord._fields, (self.sums / self.steps).tolist(), strict=True))


# ----------------------------------------------------------------------------- distributed
class _Dist:
    """Rank / world size / device of this process; joins a process group under torchrun."""

    def __init__(self, config: ExperimentConfig) -> None:
        self.world = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = int(os.environ.get("RANK", "0")) if self.world > 1 else 0
        local_rank = int(os.environ.get("LOCAL_RANK", "0")) if self.world > 1 else 0
        self.device = _resolve_device(config.device, local_rank)
        self.created = False
        if self.world > 1 and not dist.is_initialized():
            if self.device.type == "cuda":
                torch.cuda.set_device(self.device)
            dist.init_process_group(backend="nccl" if self.device.type == "cuda" else "gloo")
            self.created = True

    @property
    def main(self) -> bool:
        return self.rank == 0

    def barrier(self) -> None:
        if self.world > 1:
            dist.barrier()

    def wrap(self, net: nn.Module) -> nn.Module:
        """The network as the processes train it: in DistributedDataParallel when there are several."""
        if self.world == 1:
            return net
        from torch.nn.parallel import DistributedDataParallel

        return DistributedDataParallel(net, device_ids=[self.device.index] if self.device.type == "cuda" else None)

    def close(self) -> None:
        if self.created and dist.is_initialized():
            dist.destroy_process_group()


# ----------------------------------------------------------------------------- entry point
def run_experiment(
    config: ExperimentConfig | Mapping[str, Any],
    out_dir: str | os.PathLike,
    *,
    resume: bool = True,
    on_epoch_end: Callable[[dict[str, Any]], None] | None = None,
) -> Result:
    """Train and evaluate one configuration; write its files into ``out_dir``.

    Args:
        config: an :class:`~xmodal.config.ExperimentConfig` or a mapping of its keys.
        out_dir: the run's folder (created).
        resume: if ``out_dir`` holds a finished result of this config, return it
            without training; if it holds a checkpoint of this config, continue
            from it. ``False`` starts from scratch and overwrites.
        on_epoch_end: called (on rank 0) with ``{"epoch", "history",
            "out_dir"}`` after each epoch's checkpoint is written; an exception
            raised there stops the run, leaving a resumable checkpoint.

    Returns:
        The run's :class:`~xmodal.rundir.Result` (also written to the run folder).

    Raises:
        ConfigError: an invalid config or runtime choice.
        ResumeError: ``out_dir`` holds a run of a different config (with ``resume=True``).
        xmodal.data.Sen12MSError: missing or corrupt data.
    """
    config = _as_config(config)
    out = Path(out_dir)
    if resume:
        done = _finished_result(out, config)
        if done is not None:
            return done
    ctx = _Dist(config)
    try:
        _check_runtime(config, ctx.device)
        from xmodal.data import Sen12MS, describe_root

        common: dict[str, Any] = dict(
            season=config.season,
            split_method=config.split,
            test_fraction=config.test_fraction,
            seed=config.data_seed,
            label_scheme=config.label_scheme,
            patch_size=config.patch_size,
            normalization=config.normalization,
            cache=True,
            cache_dir=config.cache_dir,
            bad_patch=config.bad_patch,
            progress=config.progress and ctx.main,
            pairing=config.pairing,
            pairing_modalities=list(config.modalities),
        )
        train_sets, test_sets = {}, {}
        if not ctx.main:
            ctx.barrier()  # rank 0 reads first, so only one process builds the data cache
        for m in config.modalities:
            train_sets[m] = Sen12MS(config.data_root, modality=m, split="train", n_samples=config.n_train, **common)
            test_sets[m] = Sen12MS(config.data_root, modality=m, split="test", n_samples=config.n_test, **common)
        if ctx.main:
            ctx.barrier()
        description = describe_root(config.data_root)
        return train_on_datasets(
            config, train_sets, test_sets, out, resume=resume, on_epoch_end=on_epoch_end,
            data_description=description, _dist=ctx,
        )
    finally:
        ctx.close()


def _finished_result(out: Path, config: ExperimentConfig) -> Result | None:
    """The finished result of ``config`` in ``out``; ``None`` when there is none (or a broken one: train again).

    Raises:
        ResumeError: ``out`` holds a finished run of another config.
    """
    run = RunDir(out)
    result = run.read_result()
    if result is None or not result.ok:
        return None
    if result.config_hash != config.hash():
        raise ResumeError(
            f"{run.result_path} holds a finished run of another config (hash {result.config_hash}, this config "
            f"{config.hash()}); use another out_dir or resume=False to overwrite it"
        )
    return result


def train_on_datasets(
    config: ExperimentConfig | Mapping[str, Any],
    train_sets: Mapping[str, PatchDataset],
    test_sets: Mapping[str, PatchDataset],
    out_dir: str | os.PathLike,
    *,
    resume: bool = True,
    on_epoch_end: Callable[[dict[str, Any]], None] | None = None,
    data_description: Mapping[str, Any] | None = None,
    _dist: _Dist | None = None,
) -> Result:
    """Train and evaluate on given datasets (what :func:`run_experiment` calls after loading data).

    ``train_sets`` and ``test_sets`` map every modality of ``config`` to a
    dataset following the :class:`xmodal.data.Sen12MS` contract
    (:class:`PatchDataset`). The test sets of different modalities must list
    the same patches (``ids``). With ``pairing: disjoint`` the training sets
    must share no patch id and (when the ids are SEN12MS patch ids) no scene.

    Returns:
        The run's :class:`~xmodal.rundir.Result` (also written to the run folder).
    """
    config = _as_config(config)
    out = Path(out_dir)
    if resume:
        done = _finished_result(out, config)
        if done is not None:
            return done
    ctx = _dist or _Dist(config)
    try:
        return _train_and_evaluate(config, train_sets, test_sets, out, ctx, resume, on_epoch_end, data_description)
    finally:
        if _dist is None:
            ctx.close()


def _train_and_evaluate(
    config: ExperimentConfig,
    train_sets: Mapping[str, PatchDataset],
    test_sets: Mapping[str, PatchDataset],
    out: Path,
    ctx: _Dist,
    resume: bool,
    on_epoch_end: Callable[[dict[str, Any]], None] | None,
    data_description: Mapping[str, Any] | None,
) -> Result:
    """One run on loaded data: check, build (or resume), train epoch by epoch, evaluate, write.

    Rank 0 writes the run folder; under DDP the other processes train along and
    return rank 0's result.
    """
    inputs = _check_inputs(config, train_sets, test_sets, ctx)
    run = RunDir(out)
    t_start = time.perf_counter()
    with _runtime(config, ctx.device):
        if ctx.main:
            run.prepare()
            if not resume:
                run.clear_training()
        state = _build_state(config, inputs, ctx)
        if resume:
            _resume(state, run, config, ctx.device)
        model = ctx.wrap(state.net)
        streams = _Streams(config, train_sets, ctx)
        probe = _ProbeSet.of(test_sets, inputs.modalities) if ctx.main else None
        bar = _progress_bar(config, ctx, state.epoch, streams.steps)
        for epoch in range(state.epoch, config.epochs):
            entry = _train_epoch(model, state, streams, config, epoch, ctx, bar)
            if probe is not None and _probe_due(config, epoch):
                entry.update(probe.measure(state.net, config, ctx.device))
            state.history.append(entry)
            if ctx.main:
                _save_checkpoint(run, _checkpoint(config, inputs, state, ctx.device, final=False))
                if on_epoch_end is not None:
                    on_epoch_end({"epoch": state.epoch, "history": list(state.history), "out_dir": str(out)})
            ctx.barrier()
        if bar is not None:
            bar.close()
        if not ctx.main:  # rank 0 evaluates and writes; the others wait for its result
            ctx.barrier()
            return run.result()
        evaluation = _evaluate_all(state.net, test_sets, config, inputs, ctx.device)
        data = _data_record(config, train_sets, test_sets, inputs, streams.steps, data_description)
        result = _result(config, state, evaluation, data, ctx, time.perf_counter() - t_start)
        _write_outputs(run, evaluation, _checkpoint(config, inputs, state, ctx.device, final=True), result)
        ctx.barrier()
        return run.result()  # exactly what a later call returns


# ----------------------------------------------------------------------------- the steps of a run, in order
class _Inputs(NamedTuple):
    """What the network, the checkpoint and the result know of the data."""

    modalities: list[str]
    n_classes: int
    class_names: list[str]
    in_channels: dict[str, int]


@dataclasses.dataclass
class _TrainState:
    """What training changes and a checkpoint keeps: network, optimiser, gradient scaler, history."""

    net: CrossModalNet
    optimizer: torch.optim.Optimizer
    scaler: torch.amp.GradScaler
    history: list[dict[str, Any]] = dataclasses.field(default_factory=list)

    @property
    def epoch(self) -> int:
        """Epochs finished (one history entry each)."""
        return len(self.history)


class _Evaluation(NamedTuple):
    """What the test splits gave: F1 per modality, eq.-(5) homogeneity per pair, the records to write."""

    metrics: dict[str, dict[str, Any]]
    homogeneity: dict[str, float]
    predictions: Predictions
    latents: Latents
    seconds: float


def _batch_per_process(config: ExperimentConfig, world: int) -> int:
    """Patches of every modality each process takes per step.

    Raises:
        ConfigError: fewer than 2 (BatchNorm needs at least 2).
    """
    per_rank = math.ceil(config.batch_size / world)
    if per_rank < 2:
        raise ConfigError(
            f"Invalid value for 'batch_size': {config.batch_size} gives {per_rank} patch per process and step; "
            "BatchNorm needs at least 2"
        )
    return per_rank


def _check_inputs(
    config: ExperimentConfig, train_sets: Mapping[str, PatchDataset], test_sets: Mapping[str, PatchDataset],
    ctx: _Dist,
) -> _Inputs:
    """Check the runtime choice, the datasets and the batch size before anything is written.

    Raises:
        ConfigError: fp16 without CUDA, a modality of the config missing from the
            datasets or with an empty split, fewer than 2 patches per process and step,
            or pairing ``"disjoint"`` with training sets that share a patch or a scene.
    """
    _check_runtime(config, ctx.device)
    mods = list(config.modalities)
    for name, sets in (("train_sets", train_sets), ("test_sets", test_sets)):
        missing = [m for m in mods if m not in sets]
        if missing:
            raise ConfigError(f"{name} lacks modalities {missing} of the config")
    for m in mods:
        for split, sets in (("training", train_sets), ("test", test_sets)):
            if len(sets[m]) == 0:
                raise ConfigError(f"The {split} split of modality {m!r} is empty (data_root {config.data_root!r})")
    _batch_per_process(config, ctx.world)
    if config.pairing == "disjoint":
        _check_disjoint(train_sets, mods)
    first = train_sets[mods[0]]
    return _Inputs(mods, int(first.n_classes), list(first.class_names),
                   {m: int(train_sets[m].in_channels) for m in mods})


def _train_scenes(dataset: PatchDataset) -> set[tuple[str, int]] | None:
    """The scenes of a training set as ``(season folder, scene)``; ``None`` when its ids are not SEN12MS patch ids."""
    from xmodal.data.layout import parse_patch_id

    try:
        keys = [parse_patch_id(str(pid)) for pid in dataset.ids]
    except ValueError:
        return None
    return {(k.season_folder, k.scene) for k in keys}


def _shared(groups: Sequence[set[Any]]) -> set[Any]:
    """The elements in two or more of ``groups``."""
    seen: set[Any] = set()
    shared: set[Any] = set()
    for group in groups:
        shared |= seen & group
        seen |= group
    return shared


def _check_disjoint(train_sets: Mapping[str, PatchDataset], mods: Sequence[str]) -> None:
    """Pairing ``"disjoint"``: no patch and no scene in two modalities' training sets.

    Raises:
        ConfigError: naming the shared patches or scenes.
    """
    patches = _shared([{str(pid) for pid in train_sets[m].ids} for m in mods])
    scenes = [_train_scenes(train_sets[m]) for m in mods]
    places = _shared([s for s in scenes if s is not None]) if all(s is not None for s in scenes) else set()
    if patches or places:
        what = (f"{len(places)} scene(s), e.g. {sorted(places)[:3]}" if places
                else f"{len(patches)} patch(es), e.g. {sorted(patches)[:3]}")
        raise ConfigError(
            f"Invalid value for 'pairing': 'disjoint', but the training sets of {list(mods)} share {what}; give "
            "each modality the patches of scenes of its own (xmodal.data.partition_scenes; run_experiment does)"
        )


def _train_prior(train_sets: Mapping[str, PatchDataset], mods: Sequence[str]) -> np.ndarray:
    """The mean soft label of the run's training patches: every modality's, each patch id once.

    With pairing ``"aligned"`` that is the first modality's training set.
    """
    seen: set[str] = set()
    rows = []
    for m in mods:
        dataset = train_sets[m]
        keep = []
        for j, pid in enumerate(dataset.ids):
            if str(pid) not in seen:
                seen.add(str(pid))
                keep.append(j)
        rows.append(np.asarray(dataset.labels, dtype=np.float64)[keep])
    return np.concatenate(rows).mean(axis=0)


@contextlib.contextmanager
def _runtime(config: ExperimentConfig, device: torch.device) -> Iterator[None]:
    """Threads and deterministic algorithms for one run; the process's settings return afterwards.

    Notebooks run several experiments in one process.
    """
    threads = torch.get_num_threads()
    deterministic = torch.are_deterministic_algorithms_enabled()
    warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    try:
        if config.threads is not None:
            torch.set_num_threads(config.threads)
        torch.use_deterministic_algorithms(True, warn_only=True)
        if device.type == "cuda":
            torch.backends.cudnn.benchmark = False
        yield
    finally:
        torch.set_num_threads(threads)
        torch.use_deterministic_algorithms(deterministic, warn_only=warn_only)


def _build_state(config: ExperimentConfig, inputs: _Inputs, ctx: _Dist) -> _TrainState:
    """Network, optimiser and scaler, seeded: the same initialisation on every process."""
    torch.manual_seed(config.seed)
    net = build_model(config, inputs.in_channels, inputs.n_classes).to(ctx.device)
    if config.channels_last:
        net = net.to(memory_format=torch.channels_last)
    optimizer = make_optimizer(config, net.parameters())
    torch.manual_seed(config.seed + 1 + ctx.rank)  # dropout streams (distinct per rank); a checkpoint overrides
    scaler = torch.amp.GradScaler("cuda", enabled=config.precision == "fp16")
    return _TrainState(net, optimizer, scaler)


def _resume(state: _TrainState, run: RunDir, config: ExperimentConfig, device: torch.device) -> None:
    """Continue from the run folder's checkpoint, if there is one.

    A per-epoch checkpoint restores weights, optimiser, scaler, history and RNG
    state, so the run goes on as if never stopped; a finished run's slim
    checkpoint restores weights and history (only the evaluation is missing).

    Raises:
        ResumeError: the checkpoint belongs to another config.
    """
    path = run.checkpoint_path
    if not path.exists():
        return
    ckpt = torch.load(path, map_location=device, weights_only=True)
    if ckpt.get("config_hash") != config.hash():
        raise ResumeError(
            f"{path} belongs to another config (hash {ckpt.get('config_hash')}, this config "
            f"{config.hash()}); use another out_dir or resume=False to start over"
        )
    state.net.load_state_dict(ckpt["model"])
    state.history = list(ckpt["history"])
    if ckpt.get("optimizer") is None:  # slim: the run was complete
        return
    state.optimizer.load_state_dict(ckpt["optimizer"])
    state.scaler.load_state_dict(ckpt["scaler"])
    torch.set_rng_state(ckpt["rng"]["torch"].cpu())
    if device.type == "cuda" and ckpt["rng"].get("cuda") is not None:
        torch.cuda.set_rng_state(ckpt["rng"]["cuda"].cpu(), device)


class _Streams:
    """One independently shuffled stream of training batches per modality (Sec. 2: no aligned pairs).

    An epoch is ``steps`` steps: ``steps_per_epoch``, or enough for the largest
    training set; every process takes :func:`_batch_per_process` patches of
    every modality per step.
    """

    def __init__(self, config: ExperimentConfig, train_sets: Mapping[str, PatchDataset], ctx: _Dist) -> None:
        n_max = max(len(train_sets[m]) for m in config.modalities)
        self.steps: int = config.steps_per_epoch or math.ceil(n_max / config.batch_size)
        per_rank = _batch_per_process(config, ctx.world)
        self.device, self.channels_last = ctx.device, config.channels_last
        self.samplers: dict[str, _StepBatches] = {}
        self.loaders: dict[str, DataLoader] = {}
        for k, m in enumerate(config.modalities):
            seed_m = (config.seed + 1) * 1_000_003 + 7919 * k
            self.samplers[m] = _StepBatches(train_sets[m], per_rank, self.steps, seed_m, ctx.rank, ctx.world)
            self.loaders[m] = _loader(train_sets[m], self.samplers[m], config, seed_m, ctx.device)

    def epoch(self, epoch: int) -> Iterator[tuple[dict[str, Tensor], Tensor]]:
        """The steps of one epoch: a batch per modality (on the device) and their soft labels, concatenated."""
        for sampler in self.samplers.values():
            sampler.set_epoch(epoch)
        iters = {m: iter(loader) for m, loader in self.loaders.items()}
        for _ in range(self.steps):
            xs, ys = {}, []
            for m, batches in iters.items():
                xb, yb = next(batches)
                xs[m] = _to_device(xb, self.device, self.channels_last)
                ys.append(yb.to(self.device, non_blocking=True))
            yield xs, torch.cat(ys)


class _ProbeSet(NamedTuple):
    """The test patches the per-epoch modality probe reads: up to :data:`PROBE_PATCHES` ids common to every sensor.

    Attributes:
        datasets: sensor -> its test set.
        rows: sensor -> the rows of the chosen ids in that test set (the same ids, in the same order).
        ids: the chosen patch ids (the probe's groups: both views of a patch stay in one fold).
    """

    datasets: Mapping[str, PatchDataset]
    rows: dict[str, list[int]]
    ids: list[str]

    @classmethod
    def of(cls, test_sets: Mapping[str, PatchDataset], modalities: Sequence[str]) -> _ProbeSet | None:
        """The probe set of a run; ``None`` for a single sensor or fewer aligned patches than the probe's folds."""
        from xmodal.analysis.latent import PROBE_FOLDS

        if len(modalities) < 2:
            return None
        first = [str(i) for i in test_sets[modalities[0]].ids]
        common = set(first)
        for m in modalities[1:]:
            common &= {str(i) for i in test_sets[m].ids}
        ids = [pid for pid in first if pid in common][:PROBE_PATCHES]
        if len(ids) < PROBE_FOLDS:
            return None
        rows = {}
        for m in modalities:
            pos = {str(pid): j for j, pid in enumerate(test_sets[m].ids)}
            rows[m] = [pos[pid] for pid in ids]
        return cls({m: test_sets[m] for m in modalities}, rows, ids)

    @torch.no_grad()
    def measure(self, net: CrossModalNet, config: ExperimentConfig, device: torch.device) -> dict[str, float]:
        """``probe_accuracy`` (:func:`~xmodal.analysis.latent.modality_probe` on the set's latents), ``probe_seconds``.

        Reads the patches without a DataLoader and runs the network in eval mode, so it
        draws nothing from torch's random number generators: training goes on exactly
        as without the probe.
        """
        from xmodal.analysis.latent import modality_probe

        t0 = time.perf_counter()
        was_training = net.training
        net.eval()
        zs, mods = [], []
        try:
            for m, dataset in self.datasets.items():
                rows = self.rows[m]
                for start in range(0, len(rows), EVAL_BATCH_SIZE):
                    chunk = rows[start:start + EVAL_BATCH_SIZE]
                    getitems = getattr(dataset, "__getitems__", None)
                    xb, _ = _collate(getitems(chunk) if getitems is not None else [dataset[i] for i in chunk])
                    with _autocast(config.precision, device):
                        zs.append(net.embed(_to_device(xb, device, config.channels_last), m).float().cpu())
                mods += [m] * len(rows)
        finally:
            net.train(was_training)
        z = torch.cat(zs).numpy()
        if not np.isfinite(z).all():  # a diverged network: no probe, and the run goes on to say so in its losses
            return {"probe_accuracy": math.nan, "probe_seconds": time.perf_counter() - t0}
        accuracy = modality_probe(z, np.array(mods), groups=np.array(self.ids * len(self.datasets)))
        return {"probe_accuracy": accuracy, "probe_seconds": time.perf_counter() - t0}


def _progress_bar(config: ExperimentConfig, ctx: _Dist, start_epoch: int, steps: int) -> Any:
    """A tqdm bar over the run's steps on rank 0 (``None`` without ``progress`` or epochs to go)."""
    if not (config.progress and ctx.main and start_epoch < config.epochs):
        return None
    from tqdm.auto import tqdm

    return tqdm(total=config.epochs * steps, initial=start_epoch * steps,
                desc=f"{config.method} {'+'.join(config.modalities)}", unit="step", leave=False)


def _train_epoch(
    model: nn.Module, state: _TrainState, streams: _Streams, config: ExperimentConfig, epoch: int, ctx: _Dist,
    bar: Any,
) -> dict[str, Any]:
    """One epoch of :func:`train_step` s, the GRL weight following ``grl_schedule`` step by step.

    Returns:
        The epoch's history entry: ``epoch``, every field of :class:`LossRecord`
        averaged over the steps and processes (``L_align`` only with an alignment term,
        ``modality_accuracy`` only with two or more sensors), the last ``grl_weight`` and ``seconds``.
    """
    t0 = time.perf_counter()
    model.train()
    sums = _EpochLosses(ctx.device)
    total_steps = config.epochs * streams.steps
    w = 0.0
    for step, (xs, y) in enumerate(streams.epoch(epoch)):
        progress = (epoch * streams.steps + step) / max(total_steps - 1, 1)
        if "M" in config.losses:
            w = grl_weight(progress, config.grl_schedule, config.grl_weight)
        if config.lr_schedule != "constant":
            for group in state.optimizer.param_groups:
                group["lr"] = learning_rate(progress, config)
        sums.add(train_step(model, xs, y, config, state.optimizer, state.scaler, w))
        if bar is not None:
            bar.update(1)
    means = sums.means(ctx.world)
    if not _aligns(config):
        del means["L_align"]
    if len(config.modalities) < 2:
        del means["modality_accuracy"]
    if bar is not None:
        bar.set_postfix(epoch=epoch + 1, **{k: f"{means[k]:.3f}" for k in ("L_C", "L_M", "L_T")})
    return {"epoch": epoch + 1, **means, "grl_weight": w, "seconds": time.perf_counter() - t0}


def _checkpoint(
    config: ExperimentConfig, inputs: _Inputs, state: _TrainState, device: torch.device, *, final: bool
) -> dict[str, Any]:
    """The run's checkpoint: what :func:`load_model` needs, and unless ``final`` what resuming needs.

    Args:
        config: the run's config (its hash guards resuming).
        inputs: modalities, classes and channels of the data.
        state: network, optimiser, scaler, history.
        device: where the CUDA RNG state is read from.
        final: the run is complete: keep the weights and history only
            (``optimizer`` ``None`` tells :func:`_resume` that only evaluation is missing).
    """
    ckpt: dict[str, Any] = {
        "config_hash": config.hash(),
        "config": config.to_dict(),
        "in_channels": inputs.in_channels,
        "n_classes": inputs.n_classes,
        "class_names": inputs.class_names,
        "epoch": state.epoch,
        "model": state.net.state_dict(),
        "optimizer": None,
        "history": state.history,
    }
    if not final:
        ckpt["optimizer"] = state.optimizer.state_dict()
        ckpt["scaler"] = state.scaler.state_dict()
        ckpt["rng"] = {"torch": torch.get_rng_state(),
                       "cuda": torch.cuda.get_rng_state(device) if device.type == "cuda" else None}
    return ckpt


def _tensor_bytes(obj: Any) -> int:
    """Bytes of the tensors in a (nested) checkpoint object."""
    if isinstance(obj, Tensor):
        return obj.numel() * obj.element_size()
    if isinstance(obj, Mapping):
        return sum(_tensor_bytes(v) for v in obj.values())
    if isinstance(obj, (list, tuple)):
        return sum(_tensor_bytes(v) for v in obj)
    return 0


def _save_checkpoint(run: RunDir, checkpoint: Mapping[str, Any]) -> None:
    """``torch.save`` the checkpoint atomically (no fsync: checkpoints are large and re-creatable).

    A failure removes the temporary file; a full disk raises :class:`xmodal.atomic.DiskFullError`.
    """
    atomic.write_with(run.checkpoint_path, lambda tmp: torch.save(checkpoint, tmp), fsync=False,
                      nbytes=_tensor_bytes(checkpoint))


def _evaluate_all(
    net: CrossModalNet, test_sets: Mapping[str, PatchDataset], config: ExperimentConfig, inputs: _Inputs,
    device: torch.device,
) -> _Evaluation:
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
    return _Evaluation(metrics, homog, predictions, latents, time.perf_counter() - t0)


def _skipped(*datasets: Any) -> list[dict[str, Any]]:
    """The patches the datasets left out (``bad_patch="skip"``), each once, in order.

    Reads :attr:`xmodal.data.Sen12MS.skipped_patches` (``{"patch", "file", "error",
    "reason"}`` dicts); datasets without the attribute skipped nothing.
    """
    entries: dict[str, dict[str, Any]] = {}
    for dataset in datasets:
        for entry in getattr(dataset, "skipped_patches", None) or []:
            value = atomic.jsonable(dict(entry))
            entries.setdefault(json.dumps(value, sort_keys=True), value)
    return list(entries.values())


def _data_record(
    config: ExperimentConfig, train_sets: Mapping[str, PatchDataset], test_sets: Mapping[str, PatchDataset],
    inputs: _Inputs, steps: int, description: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """:attr:`Result.data <xmodal.rundir.Result.data>`: which data the run saw.

    Beside the sizes, the pairing's record: ``train_scenes`` (modality -> its
    training scenes; ``None`` when the ids are not SEN12MS patch ids),
    ``shared_train_scenes`` (scenes in two or more modalities' training sets: 0
    under ``"disjoint"``) and ``shared_train_patches`` (likewise for patch ids).
    """
    mods = inputs.modalities
    scenes = {m: _train_scenes(train_sets[m]) for m in mods}
    known = [s for s in scenes.values() if s is not None]
    return {
        "kind": (description or {}).get("kind", "unknown"),
        "root": str(config.data_root),
        "season": config.season,
        "split": config.split,
        "pairing": config.pairing,
        "n_train": {m: len(train_sets[m]) for m in mods},
        "train_scenes": {m: len(s) if s is not None else None for m, s in scenes.items()},
        "shared_train_scenes": len(_shared(known)) if len(known) == len(mods) else None,
        "shared_train_patches": len(_shared([{str(pid) for pid in train_sets[m].ids} for m in mods])),
        "n_test": len(test_sets[mods[0]]),
        "class_names": inputs.class_names,
        "stats": {m: getattr(train_sets[m], "stats", None) for m in mods},
        "steps_per_epoch": steps,
        "skipped": _skipped(*(train_sets[m] for m in mods), *(test_sets[m] for m in mods)),
        "train_prior": _train_prior(train_sets, mods),
        "description": description,
    }


def _result(
    config: ExperimentConfig, state: _TrainState, evaluation: _Evaluation, data: dict[str, Any], ctx: _Dist,
    total_seconds: float,
) -> Result:
    """The run's :class:`~xmodal.rundir.Result`."""
    train_seconds = float(sum(h["seconds"] for h in state.history))
    return Result(
        config=config.to_dict(),
        config_hash=config.hash(),
        data=data,
        metrics=evaluation.metrics,
        homogeneity=evaluation.homogeneity,
        history=state.history,
        timings={
            "train_seconds": train_seconds,
            "seconds_per_epoch": train_seconds / max(state.epoch, 1),
            "eval_seconds": evaluation.seconds,
            "total_seconds": total_seconds,
        },
        versions=_versions(),
        device=str(ctx.device),
        world_size=ctx.world,
    )


def _write_outputs(run: RunDir, evaluation: _Evaluation, checkpoint: Mapping[str, Any], result: Result) -> None:
    """Write the run folder: predictions, latents, the final checkpoint, the model record, and the result last."""
    run.write_predictions(evaluation.predictions)
    run.write_latents(evaluation.latents)
    _save_checkpoint(run, checkpoint)
    run.record_model(result)  # model.json: what inference needs (xmodal.inference); none for in-memory data
    run.write_result(result)


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


# ----------------------------------------------------------------------------- inference helpers
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
    loader = DataLoader(cast(Dataset, dataset), batch_sampler=batches, collate_fn=_collate, num_workers=num_workers,
                        pin_memory=device.type == "cuda")
    probs, zs, targets = [], [], []
    try:
        for xb, yb in loader:
            xb = _to_device(xb, device, channels_last)
            with _autocast(precision, device):
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
        FileNotFoundError: no checkpoint in ``out_dir``.
    """
    path = RunDir(out_dir).checkpoint_path
    if not path.exists():
        raise FileNotFoundError(f"No checkpoint in {Path(out_dir)}: expected {path} (has the run been trained?)")
    ckpt = torch.load(path, map_location=device, weights_only=True)
    config = ExperimentConfig.from_dict(ckpt["config"])
    net = build_model(config, ckpt["in_channels"], int(ckpt["n_classes"]))
    net.load_state_dict(ckpt["model"])
    net.to(device).eval()
    return net, config


# ----------------------------------------------------------------------------- command line
def main(argv: Sequence[str] | None = None) -> int:
    """``python -m xmodal.train --config cfg.yaml --out DIR`` (also under ``torchrun``)."""
    import yaml

    parser = argparse.ArgumentParser(prog="python -m xmodal.train", description="Train and evaluate one experiment.")
    parser.add_argument("--config", help="YAML/JSON file of ExperimentConfig keys")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config key (value read as YAML); repeatable")
    parser.add_argument("--out", required=True, help="the run's output folder")
    parser.add_argument("--no-resume", action="store_true", help="start from scratch even if out holds a checkpoint")
    args = parser.parse_args(argv)
    values: dict[str, Any] = {}
    if args.config:
        values.update(ExperimentConfig.from_file(args.config).to_dict())
    for item in args.set:
        key, sep, raw = item.partition("=")
        if not sep:
            parser.error(f"--set expects KEY=VALUE, got {item!r}")
        values[key.strip()] = yaml.safe_load(raw)
    try:
        config = ExperimentConfig.from_dict(values)
        result = run_experiment(config, args.out, resume=not args.no_resume)
    except (ConfigError, ResumeError) as exc:
        print(f"xmodal.train: {exc}", file=sys.stderr)
        return 2
    if int(os.environ.get("RANK", "0")) == 0:
        for m, r in result.metrics.items():
            print(f"{m}: macro F1 {r['macro']:.3f}  weighted F1 {r['weighted']:.3f}")
        for pair, s in result.homogeneity.items():
            print(f"homogeneity {pair}: {s:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
