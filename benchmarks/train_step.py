"""Throughput of the cross-modal training step, and whether speed-ups cost accuracy.

Measures images per second (both modalities counted) of

* ``full``: :func:`xmodal.training.train_step` with C+T+M (both backbones, merge
  nets, classifier, GRL + modality classifier, triplet mining, eq. 4), and
* ``bare``: a plain PyTorch loop training the same two ResNet backbones (plus a
  linear layer each) with soft-target cross entropy only, on the same batches,

for fp32, bf16 autocast, channels_last and both combined, at the given thread
counts. With ``--accuracy`` it also trains short runs (synthetic SEN12MS-like
data from :func:`xmodal.data.make_synthetic`, the real reader and trainer) in
each precision / memory format and reports weighted and macro F1, so a speed-up
is only made a default when it does not hurt accuracy.

Example::

    python benchmarks/train_step.py --patch-size 32 --batch-size 32 --threads 1 2 --accuracy

Figures seen on a 2-core CPU (torch 2.14.1, ResNet18, batch 32 per modality,
fused Adam in both loops, images/s of both modalities, full C+T+M step / bare
loop; ratio full/bare 0.96-1.00 everywhere):

=====================  ===============  ===============  ===============  ===============
mode                   32 px, 1 thread  32 px, 2 threads 64 px, 1 thread  64 px, 2 threads
=====================  ===============  ===============  ===============  ===============
fp32                   233 / 239        426 / 446        93 / 94          165 / 169
bf16                   204 / 210        357 / 370        119 / 121        210 / 213
channels_last          202 / 205        371 / 380        81 / 82          148 / 150
bf16 + channels_last   189 / 193        344 / 352        126 / 126        217 / 223
=====================  ===============  ===============  ===============  ===============

The full step runs at 0.96-1.00x the bare loop: mining, merge nets and heads
are cheap next to the backbones. At 32 px (the default study) bf16 and
channels_last are slower than fp32 on this CPU; at 64 px bf16 gains 1.3x. Both
stay options, off by default; the ``paper`` profile (a GPU) turns them on.
Short synthetic runs (3 seeds, 32 px, ``--accuracy``) showed no accuracy cost
of bf16 or channels_last (final L_C 0.598 fp32, 0.613 bf16, 0.609
channels_last, 0.601 both; F1 differences within the seed-to-seed spread of a
108-patch test set). Adam's fused kernel matters on the CPU: the unfused update
of two ResNet18s took 143 ms per step against 29 ms fused.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from xmodal.config import ExperimentConfig
from xmodal.models import build_backbone
from xmodal.training import build_model, make_optimizer, train_step

MODES = {
    "fp32": dict(precision="fp32", channels_last=False),
    "bf16": dict(precision="bf16", channels_last=False),
    "channels_last": dict(precision="fp32", channels_last=True),
    "bf16+channels_last": dict(precision="bf16", channels_last=True),
}
BANDS = {"s1": 2, "s2": 10}
N_CLASSES = 9


def _batches(batch_size: int, patch: int, seed: int = 0) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    xs = {m: torch.randn(batch_size, c, patch, patch, generator=g) for m, c in BANDS.items()}
    y = torch.softmax(3 * torch.randn(batch_size * len(BANDS), N_CLASSES, generator=g), dim=1)
    return xs, y


def _interleaved(steps: dict[str, Callable[[], None]], warmup: int, iters: int) -> dict[str, float]:
    """Median seconds per step of each closure, timed in alternation.

    Alternating the candidates step by step exposes them to the same background
    load (the machine may be shared), so their ratio is steadier than that of
    two consecutive timings.
    """
    for step in steps.values():
        for _ in range(warmup):
            step()
    times: dict[str, list[float]] = {k: [] for k in steps}
    for _ in range(iters):
        for k, step in steps.items():
            t0 = time.perf_counter()
            step()
            times[k].append(time.perf_counter() - t0)
    return {k: statistics.median(v) for k, v in times.items()}


def full_step(config: ExperimentConfig, patch: int) -> Callable[[], None]:
    """A closure running :func:`xmodal.training.train_step` (C+T+M) on fixed batches."""
    torch.manual_seed(0)
    net = build_model(config, BANDS, N_CLASSES)
    if config.channels_last:
        net = net.to(memory_format=torch.channels_last)
    net.train()
    opt = make_optimizer(config, net.parameters())  # the trainer's own optimiser
    scaler = torch.amp.GradScaler("cuda", enabled=False)
    xs, y = _batches(config.batch_size, patch)
    if config.channels_last:
        xs = {m: x.contiguous(memory_format=torch.channels_last) for m, x in xs.items()}

    def step() -> None:
        train_step(net, xs, y, config, opt, scaler, 1.0)

    return step


def bare_step(config: ExperimentConfig, patch: int) -> Callable[[], None]:
    """A closure of a plain loop: the two backbones + a linear layer each, soft-target CE, Adam."""
    torch.manual_seed(0)
    nets = {}
    for m, c in BANDS.items():
        backbone, feat = build_backbone(config.backbone, c)
        nets[m] = nn.Sequential(backbone, nn.Linear(feat, N_CLASSES))
    model = nn.ModuleDict(nets)
    if config.channels_last:
        model = model.to(memory_format=torch.channels_last)
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay, fused=True)
    xs, y = _batches(config.batch_size, patch)
    if config.channels_last:
        xs = {m: x.contiguous(memory_format=torch.channels_last) for m, x in xs.items()}
    ys = y.split(config.batch_size)
    dtype = torch.bfloat16 if config.precision == "bf16" else None

    def step() -> None:
        with torch.autocast("cpu", dtype=dtype, enabled=dtype is not None):
            logits = [model[m](xs[m]) for m in BANDS]
        loss = sum(F.cross_entropy(lg.float(), t) for lg, t in zip(logits, ys, strict=True))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    return step


def accuracy_runs(args: argparse.Namespace, base: dict) -> dict[str, dict]:
    """Short C+T+M runs on synthetic data in every mode; weighted / macro F1 per modality."""
    from xmodal.data import make_synthetic
    from xmodal.training import run_experiment

    out: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "data"
        make_synthetic(root, n_scenes=args.acc_scenes, patches_per_side=6, patch_size=args.patch_size, seed=0,
                       progress=False)
        for mode in args.modes:
            runs = []
            t0 = time.perf_counter()
            for seed in args.acc_seeds:
                cfg = dict(base, **MODES[mode], data_root=str(root), epochs=args.acc_epochs, test_fraction=0.25,
                           progress=False, threads=args.threads[-1], n_latent=0, seed=seed)
                runs.append(run_experiment(cfg, Path(tmp) / f"run_{mode}_{seed}", resume=False))
            row: dict[str, float] = {"seconds": time.perf_counter() - t0}
            for m in runs[0].metrics:
                for avg in ("weighted", "macro"):
                    row[f"{m}_{avg}"] = statistics.mean(r.metrics[m][avg] for r in runs)
            row["final_L_C"] = statistics.mean(r.history[-1]["L_C"] for r in runs)
            out[mode] = row
            print(f"  accuracy {mode:20s} (mean of {len(runs)} seeds) "
                  + "  ".join(f"{k} {v:.3f}" for k, v in row.items()), flush=True)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--backbone", default="resnet18", choices=["resnet18", "resnet34", "resnet50"])
    p.add_argument("--patch-size", type=int, default=32)
    p.add_argument("--batch-size", type=int, default=32, help="per modality")
    p.add_argument("--latent-dim", type=int, default=128)
    p.add_argument("--merge-hidden", type=int, nargs=2, default=[256, 128])
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    p.add_argument("--modes", nargs="+", default=list(MODES), choices=list(MODES))
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--iters", type=int, default=10)
    p.add_argument("--accuracy", action="store_true", help="also train short runs per mode and compare F1")
    p.add_argument("--acc-epochs", type=int, default=6)
    p.add_argument("--acc-scenes", type=int, default=12)
    p.add_argument("--acc-seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--skip-throughput", action="store_true", help="only the accuracy runs")
    p.add_argument("--json", help="write the figures to this file")
    args = p.parse_args(argv)

    base = dict(method="C+T+M", modalities=list(BANDS), backbone=args.backbone, latent_dim=args.latent_dim,
                merge_hidden=list(args.merge_hidden), classifier_hidden=64, modality_hidden=32,
                batch_size=args.batch_size)
    images = 2 * args.batch_size
    rows = []
    print(f"{args.backbone}, {args.patch_size}x{args.patch_size} px, batch {args.batch_size} per modality "
          f"(images/s count both modalities), torch {torch.__version__}")
    for threads in [] if args.skip_throughput else args.threads:
        torch.set_num_threads(threads)
        for mode in args.modes:
            cfg = ExperimentConfig(**base, **MODES[mode])
            t = _interleaved({"full": full_step(cfg, args.patch_size), "bare": bare_step(cfg, args.patch_size)},
                             args.warmup, args.iters)
            full, bare = images / t["full"], images / t["bare"]
            rows.append(dict(threads=threads, mode=mode, full=full, bare=bare, ratio=full / bare))
            print(f"threads {threads}  {mode:20s} full C+T+M {full:7.1f} img/s   bare CE loop {bare:7.1f} img/s   "
                  f"ratio {full / bare:.2f}", flush=True)
    report: dict = {"args": vars(args), "throughput": rows}
    if args.accuracy:
        torch.set_num_threads(args.threads[-1])
        report["accuracy"] = accuracy_runs(args, base)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
