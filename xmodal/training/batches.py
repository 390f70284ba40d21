"""The training data as batches: the dataset contract and one stream of batches per modality.

:class:`PatchDataset` is what the trainer needs of a dataset (:class:`xmodal.data.Sen12MS`
follows it; the tests use in-memory ones). :class:`Streams` gives every step an
independently shuffled batch per modality (Sec. 2: no aligned pairs), each from a
:class:`~torch.utils.data.DistributedSampler` with a seed of its own, so the order
depends only on (seed, epoch) and a resumed run continues exactly.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, NamedTuple, Protocol, cast

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset, DistributedSampler, Sampler
from torch.utils.data._utils.collate import default_collate

from xmodal.config import ConfigError, ExperimentConfig
from xmodal.training.runtime import Dist, to_device

__all__ = ["EVAL_BATCH_SIZE", "Inputs", "PatchDataset", "Streams", "batch_per_process", "collate"]

#: Batch size of the evaluation pass (no gradients, so larger than training's).
EVAL_BATCH_SIZE = 128


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


class Inputs(NamedTuple):
    """What the network, the checkpoint and the result know of the data."""

    modalities: list[str]
    n_classes: int
    class_names: list[str]
    in_channels: dict[str, int]


def collate(batch: Any) -> tuple[Tensor, Tensor]:
    """Pass through ``(X, Y)`` from ``Dataset.__getitems__``; stack a list of samples otherwise."""
    if isinstance(batch, (tuple, list)) and len(batch) == 2 and isinstance(batch[0], Tensor) and batch[0].dim() == 4:
        return batch[0], batch[1]
    return tuple(default_collate(batch))


def batch_per_process(config: ExperimentConfig, world: int) -> int:
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
        collate_fn=collate,
        num_workers=workers,
        persistent_workers=workers > 0,
        pin_memory=device.type == "cuda",
        generator=torch.Generator().manual_seed(seed),
    )


class Streams:
    """One independently shuffled stream of training batches per modality (Sec. 2: no aligned pairs).

    An epoch is ``steps`` steps: ``steps_per_epoch``, or enough for the largest
    training set; every process takes :func:`batch_per_process` patches of
    every modality per step.
    """

    def __init__(self, config: ExperimentConfig, train_sets: Mapping[str, PatchDataset], ctx: Dist) -> None:
        n_max = max(len(train_sets[m]) for m in config.modalities)
        self.steps: int = config.steps_per_epoch or math.ceil(n_max / config.batch_size)
        per_rank = batch_per_process(config, ctx.world)
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
                xs[m] = to_device(xb, self.device, self.channels_last)
                ys.append(yb.to(self.device, non_blocking=True))
            yield xs, torch.cat(ys)

