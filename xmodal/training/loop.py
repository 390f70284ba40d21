"""The training loop: network and optimiser, one step of eq. (4), an epoch of steps, the probe.

:func:`train_step` is one optimisation step on one batch per modality;
:func:`train_epoch` runs an epoch of them with the GRL weight (``grl_schedule``) and the
learning rate (:func:`learning_rate`, ``lr_schedule``) following training progress step
by step, and averages the logged losses. After some epochs (:func:`probe_due`) a fresh
linear probe reads the latents of a fixed set of test patches (:class:`ProbeSet`).
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np
import torch
import torch.distributed as dist
from torch import Tensor, nn

from xmodal.config import LR_SCHEDULES, ExperimentConfig
from xmodal.losses import classification_loss, grl_weight, modality_loss
from xmodal.models import CrossModalNet
from xmodal.training.batches import EVAL_BATCH_SIZE, Inputs, PatchDataset, Streams, collate
from xmodal.training.objective import LossRecord, alignment_loss, aligns, total_loss, triplet_term
from xmodal.training.runtime import Dist, autocast, to_device

__all__ = [
    "PROBE_PATCHES",
    "ProbeSet",
    "TrainState",
    "build_model",
    "build_state",
    "learning_rate",
    "make_optimizer",
    "probe_due",
    "progress_bar",
    "train_epoch",
    "train_step",
]


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
    aligned = aligns(config)
    net.grl.weight = 0.0 if aligned else grl_w
    sizes = [x.shape[0] for x in xs.values()]
    with autocast(config.precision, y.device):
        outputs = model(xs)
        L_align = alignment_loss(outputs["z"], sizes, net, config) if aligned else None
    L_C = classification_loss(outputs["logits"], y)
    L_M = modality_loss(outputs["modality_logits"], outputs["modality"])
    L_T, n_valid = triplet_term(outputs["z"], y, sizes, config)
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


@dataclasses.dataclass
class TrainState:
    """What training changes and a checkpoint keeps: network, optimiser, gradient scaler, history.

    ``best_model`` is a copy of the weights of the best validation epoch so far, kept only
    under early stopping (``patience``), which restores them at the end.
    """

    net: CrossModalNet
    optimizer: torch.optim.Optimizer
    scaler: torch.amp.GradScaler
    history: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    best_model: dict[str, Any] | None = None

    def keep_best(self) -> None:
        """Copy the current weights as the best epoch's (on the CPU: they wait there until restored)."""
        self.best_model = {k: v.detach().to("cpu", copy=True) for k, v in self.net.state_dict().items()}

    @property
    def epoch(self) -> int:
        """Epochs finished (one history entry each)."""
        return len(self.history)


def build_state(config: ExperimentConfig, inputs: Inputs, ctx: Dist) -> TrainState:
    """Network, optimiser and scaler, seeded: the same initialisation on every process."""
    torch.manual_seed(config.seed)
    net = build_model(config, inputs.in_channels, inputs.n_classes).to(ctx.device)
    if config.channels_last:
        net = net.to(memory_format=torch.channels_last)
    optimizer = make_optimizer(config, net.parameters())
    torch.manual_seed(config.seed + 1 + ctx.rank)  # dropout streams (distinct per rank); a checkpoint overrides
    scaler = torch.amp.GradScaler("cuda", enabled=config.precision == "fp16")
    return TrainState(net, optimizer, scaler)


#: Test patches per sensor (the same ids for every sensor) whose latents the per-epoch modality probe reads.
PROBE_PATCHES = 128


def probe_due(config: ExperimentConfig, epoch: int) -> bool:
    """Whether the probe runs after ``epoch`` (0-based): with M every other epoch and the last, else the last.

    Under early stopping the last epoch is not known in advance: the probe then runs every other epoch.
    """
    if config.patience is not None:
        return epoch % 2 == 0
    last = epoch == config.epochs - 1
    return last or ("M" in config.losses and epoch % 2 == 0)


class ProbeSet(NamedTuple):
    """The patches the per-epoch modality probe reads: up to :data:`PROBE_PATCHES` ids common to every sensor.

    They are the validation patches when the run has a validation split, the test patches otherwise.

    Attributes:
        datasets: sensor -> its test set.
        rows: sensor -> the rows of the chosen ids in that test set (the same ids, in the same order).
        ids: the chosen patch ids (the probe's groups: both views of a patch stay in one fold).
    """

    datasets: Mapping[str, PatchDataset]
    rows: dict[str, list[int]]
    ids: list[str]

    @classmethod
    def of(cls, test_sets: Mapping[str, PatchDataset], modalities: Sequence[str]) -> ProbeSet | None:
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
                    xb, _ = collate(getitems(chunk) if getitems is not None else [dataset[i] for i in chunk])
                    with autocast(config.precision, device):
                        zs.append(net.embed(to_device(xb, device, config.channels_last), m).float().cpu())
                mods += [m] * len(rows)
        finally:
            net.train(was_training)
        z = torch.cat(zs).numpy()
        if not np.isfinite(z).all():  # a diverged network: no probe, and the run goes on to say so in its losses
            return {"probe_accuracy": math.nan, "probe_seconds": time.perf_counter() - t0}
        accuracy = modality_probe(z, np.array(mods), groups=np.array(self.ids * len(self.datasets)))
        return {"probe_accuracy": accuracy, "probe_seconds": time.perf_counter() - t0}


def progress_bar(config: ExperimentConfig, ctx: Dist, start_epoch: int, steps: int) -> Any:
    """A tqdm bar over the run's steps on rank 0 (``None`` without ``progress`` or epochs to go)."""
    if not (config.progress and ctx.main and start_epoch < config.epochs):
        return None
    from tqdm.auto import tqdm

    return tqdm(total=config.epochs * steps, initial=start_epoch * steps,
                desc=f"{config.method} {'+'.join(config.modalities)}", unit="step", leave=False)


def train_epoch(
    model: nn.Module, state: TrainState, streams: Streams, config: ExperimentConfig, epoch: int, ctx: Dist,
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
    if not aligns(config):
        del means["L_align"]
    if len(config.modalities) < 2:
        del means["modality_accuracy"]
    if bar is not None:
        bar.set_postfix(epoch=epoch + 1, **{k: f"{means[k]:.3f}" for k in ("L_C", "L_M", "L_T")})
    return {"epoch": epoch + 1, **means, "grl_weight": w, "seconds": time.perf_counter() - t0}

