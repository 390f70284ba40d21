"""Where and how a run computes: device, processes, precision, threads.

:class:`Dist` is this process's rank, world size and device (it joins a process group
under ``torchrun``); :func:`runtime_settings` sets threads and deterministic algorithms
for one run and restores the process's settings afterwards; :func:`autocast` and
:func:`to_device` apply the config's precision and memory format.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import torch
import torch.distributed as dist
from torch import Tensor, nn

from xmodal.config import ConfigError, ExperimentConfig

__all__ = ["Dist", "autocast", "check_runtime", "resolve_device", "runtime_settings", "to_device"]


def resolve_device(name: str, local_rank: int = 0) -> torch.device:
    """The torch device ``name`` (``auto``, ``cpu``, ``cuda``) means for the process of ``local_rank``.

    Raises:
        ConfigError: ``cuda`` without a CUDA device.
    """
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError("Invalid value for 'device': 'cuda' but no CUDA device is available; use 'auto' or 'cpu'")
        return torch.device("cuda", local_rank % torch.cuda.device_count())
    return torch.device("cpu")


def check_runtime(config: ExperimentConfig, device: torch.device) -> None:
    """Refuse a precision the device cannot run (fp16 needs CUDA), before anything is written.

    Raises:
        ConfigError: naming ``precision`` and what to use instead.
    """
    if config.precision == "fp16" and device.type != "cuda":
        raise ConfigError(
            "Invalid value for 'precision': 'fp16' needs CUDA (autocast + gradient scaler); use 'bf16' or 'fp32' on CPU"
        )


def autocast(precision: str, device: torch.device) -> contextlib.AbstractContextManager:
    """The autocast context of ``precision`` (fp32: none; bf16 or fp16 autocast on ``device``)."""
    if precision == "fp32":
        return contextlib.nullcontext()
    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    return torch.autocast(device_type=device.type, dtype=dtype)


def to_device(x: Tensor, device: torch.device, channels_last: bool) -> Tensor:
    """A batch moved to ``device`` (non-blocking), in channels_last memory format if asked."""
    x = x.to(device, non_blocking=True)
    return x.contiguous(memory_format=torch.channels_last) if channels_last else x


@contextlib.contextmanager
def runtime_settings(config: ExperimentConfig, device: torch.device) -> Iterator[None]:
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


class Dist:
    """Rank / world size / device of this process; joins a process group under torchrun."""

    def __init__(self, config: ExperimentConfig) -> None:
        self.world = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = int(os.environ.get("RANK", "0")) if self.world > 1 else 0
        local_rank = int(os.environ.get("LOCAL_RANK", "0")) if self.world > 1 else 0
        self.device = resolve_device(config.device, local_rank)
        self.created = False
        if self.world > 1 and not dist.is_initialized():
            if self.device.type == "cuda":
                torch.cuda.set_device(self.device)
            dist.init_process_group(backend="nccl" if self.device.type == "cuda" else "gloo")
            self.created = True

    @property
    def main(self) -> bool:
        """Whether this is rank 0, the process that writes the run folder."""
        return self.rank == 0

    def barrier(self) -> None:
        """Wait for every process (nothing when there is one)."""
        if self.world > 1:
            dist.barrier()

    def wrap(self, net: nn.Module) -> nn.Module:
        """The network as the processes train it: in DistributedDataParallel when there are several."""
        if self.world == 1:
            return net
        from torch.nn.parallel import DistributedDataParallel

        return DistributedDataParallel(net, device_ids=[self.device.index] if self.device.type == "cuda" else None)

    def close(self) -> None:
        """Leave the process group, if this object joined it."""
        if self.created and dist.is_initialized():
            dist.destroy_process_group()

