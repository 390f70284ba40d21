"""Speed and peak memory of :func:`xmodal.inference.predict_scene` on large scenes.

Makes a scene of ``side`` x ``side`` pixels (default 10,240) from S1 and S2, or takes yours,
maps it with a small trained model and prints patches per second and the peak resident
memory of the process during the prediction (``resource.getrusage``, after the imports and the
model: on Linux the peak is reset first), with the resident memory before it and the growth.
Each side runs in a fresh process, so the peak memory of a small and a large scene can be
compared: windowed reading keeps it flat.

The scene: one synthetic scene of 512 x 512 px (:func:`xmodal.data.scene.make_scene`, with
clouds over part of it) tiled into a GDAL VRT mosaic of the requested size, so a 10,000 x
10,000 px scene costs no 3 GB of disk; the reads go through GDAL window by window exactly as
for a GeoTIFF. The model: ``--run`` (a finished run folder), or by default one trained for one
epoch on a tiny synthetic root with the default study's architecture (ResNet18 at quarter
width on 32 px patches, 128-d latents): speed depends on the architecture, not the training.

Example::

    python benchmarks/predict_scene.py --sides 2048 10240 --threads 1

Measured on 2026-12-03 on the project's 2-core CPU, shared with other jobs (torch 2.14.1, one
torch thread, the default study's architecture, both sensors, stride 32 = one cell per patch),
two runs of the command above; speed varies with the machine's load, memory does not:

=========  ===========  =========  ==================  ===================  ====================
side (px)  cells        patches    seconds             patches/s            peak RSS (MB)
=========  ===========  =========  ==================  ===================  ====================
2,048      64 x 64      8,192      7.7 / 1.7           1,069 / 4,738        986 / 1,041
10,240     320 x 320    204,800    50.7 / 86.1         4,039 / 2,380        986 / 1,041
=========  ===========  =========  ==================  ===================  ====================

About 833 MB of the peak is resident before the prediction starts (torch, the imports and the
model); the prediction adds 152-153 MB (first run) or 207-208 MB (second) whatever the
scene's size: 25 times the pixels, the same memory. With several torch threads on a busy
machine the speed can collapse (2 threads competing with other jobs on these 2 cores ran the
same network at 87 instead of 1,415 patches/s): ``--threads 1`` is the safe choice there.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

#: Side of the synthetic scene the mosaic repeats.
TILE = 512
#: The default study's architecture (xmodal/studies/default.yaml), trained for one epoch on tiny data.
ARCHITECTURE: dict[str, Any] = dict(
    backbone="resnet18", backbone_width=16, latent_dim=128, merge_hidden=[256, 128], classifier_hidden=64,
    modality_hidden=32, epochs=1, batch_size=16, test_fraction=0.25, n_latent=10, threads=1, device="cpu",
    progress=False,
)


def train_small_model(folder: Path) -> Path:
    """A C+T+M run of the default study's architecture, trained one epoch on a tiny synthetic root."""
    from xmodal.config import ExperimentConfig
    from xmodal.data import make_synthetic
    from xmodal.training import run_experiment

    root = folder / "data"
    make_synthetic(root, n_scenes=4, patches_per_side=3, patch_size=32, seed=0, progress=False)
    run = folder / "run"
    run_experiment(ExperimentConfig(**ARCHITECTURE, method="C+T+M", data_root=str(root)), run)
    return run


def mosaic(tile: Path, side: int, out: Path) -> Path:
    """A GDAL VRT of ``side`` x ``side`` px repeating the GeoTIFF ``tile`` (read window by window)."""
    import rasterio

    with rasterio.open(tile) as ds:
        n, w, h, t = ds.count, ds.width, ds.height, ds.transform
        dtype = {"uint16": "UInt16", "float32": "Float32", "uint8": "Byte"}[ds.dtypes[0]]
        wkt, names = ds.crs.to_wkt(), ds.descriptions
    from xml.sax.saxutils import escape

    reps = -(-side // w)
    lines = [f'<VRTDataset rasterXSize="{side}" rasterYSize="{side}">', f"<SRS>{escape(wkt)}</SRS>",
             f"<GeoTransform>{t.c}, {t.a}, 0, {t.f}, 0, {t.e}</GeoTransform>"]
    for b in range(1, n + 1):
        lines.append(f'<VRTRasterBand dataType="{dtype}" band="{b}"><Description>{names[b - 1] or ""}</Description>')
        for r in range(reps):
            for c in range(reps):
                lines.append(f'<SimpleSource><SourceFilename relativeToVRT="0">{tile}</SourceFilename>'
                             f'<SourceBand>{b}</SourceBand><SrcRect xOff="0" yOff="0" xSize="{w}" ySize="{h}"/>'
                             f'<DstRect xOff="{c * w}" yOff="{r * h}" xSize="{w}" ySize="{h}"/></SimpleSource>')
        lines.append("</VRTRasterBand>")
    lines.append("</VRTDataset>")
    out.write_text("\n".join(lines))
    return out


def one(args: argparse.Namespace) -> dict[str, Any]:
    """Map one scene in this process; returns the measurements."""
    import torch

    from xmodal.inference import Model, predict_scene

    torch.set_num_threads(args.threads)
    work = Path(args.work)
    inputs: dict[str, Any] = {}
    if args.s1 or args.s2:
        inputs = {"s1": args.s1, "s2": args.s2, "clouds": args.clouds}
    else:
        for sensor in (("s1", "s2") if args.sensors == "both" else (args.sensors,)):
            inputs[sensor] = mosaic(work / "scene" / f"{sensor}.tif", args.one, work / f"{sensor}-{args.one}.vrt")
        if args.sensors == "both":
            inputs["clouds"] = mosaic(work / "scene" / "clouds.tif", args.one, work / f"clouds-{args.one}.vrt")
    model = Model.load(args.run)
    before = _reset_peak()
    t0 = time.perf_counter()
    res = predict_scene(model, out=work / f"map-{args.one}.tif", stride=args.stride, batch_size=args.batch_size,
                        progress=False, **inputs)
    seconds = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"side": args.one, "stride": res.stride, "cells": f"{res.rows} x {res.cols}", "patches": res.n_patches,
            "seconds": round(seconds, 1), "patches_per_second": round(res.n_patches / seconds, 1),
            "rss_before_mb": round(before), "peak_rss_mb": round(peak), "growth_mb": round(peak - before)}


def _reset_peak() -> float:
    """Resident memory now (MB), after resetting the peak so ``getrusage`` measures what follows.

    Linux resets a process's peak resident set (``VmHWM``, which ``ru_maxrss`` reads) when ``5``
    is written to ``/proc/self/clear_refs``; elsewhere the peak includes the imports.
    """
    try:
        Path("/proc/self/clear_refs").write_text("5")
        status = Path("/proc/self/status").read_text().splitlines()
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS")) / 1024
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> int:
    """Run every side in its own process and print a table."""
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--sides", type=int, nargs="+", default=[2048, 10240], help="scene sides to measure (pixels)")
    p.add_argument("--run", help="a finished run folder (default: train a small model first)")
    p.add_argument("--s1", help="your S1 GeoTIFF (instead of the synthetic mosaic)")
    p.add_argument("--s2", help="your S2 GeoTIFF")
    p.add_argument("--clouds", help="your cloud mask")
    p.add_argument("--sensors", choices=["s1", "s2", "both"], default="both", help="sensors of the synthetic scene")
    p.add_argument("--stride", type=int, help="stride (default: the run's patch footprint, one cell per patch)")
    p.add_argument("--threads", type=int, default=1, help="torch threads")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--work", help="working folder (default: a temporary one)")
    p.add_argument("--one", type=int, help=argparse.SUPPRESS)  # internal: measure this side in this process
    args = p.parse_args()
    if args.one is not None:
        print(json.dumps(one(args)))
        return 0
    with tempfile.TemporaryDirectory(prefix="xmodal-bench-") as tmp:
        work = Path(args.work or tmp)
        work.mkdir(parents=True, exist_ok=True)
        if args.run is None:
            print("training a small model (one epoch, the default study's architecture) ...", flush=True)
            args.run = str(train_small_model(work))
        if args.stride is None:
            from xmodal.inference import Model

            args.stride = Model.load(args.run).record.footprint
        if not (args.s1 or args.s2):
            from xmodal.data.scene import make_scene

            make_scene(work / "scene", side=TILE, patch_size=32, cloud_cover=0.35)
        rows = []
        for side in args.sides:
            cmd = [sys.executable, __file__, "--one", str(side), "--run", args.run, "--work", str(work),
                   "--sensors", args.sensors, "--stride", str(args.stride), "--threads", str(args.threads),
                   "--batch-size", str(args.batch_size)]
            for name in ("s1", "s2", "clouds"):
                if getattr(args, name):
                    cmd += [f"--{name}", getattr(args, name)]
            print(f"side {side} px ...", flush=True)
            out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
            rows.append(json.loads(out.strip().splitlines()[-1]))
            print(json.dumps(rows[-1]), flush=True)
    print(f"\n{'side':>7} {'cells':>13} {'patches':>9} {'seconds':>8} {'patches/s':>10} {'RSS before':>11} "
          f"{'peak RSS':>9} {'growth':>7}  (MB)")
    for r in rows:
        print(f"{r['side']:>7} {r['cells']:>13} {r['patches']:>9} {r['seconds']:>8} {r['patches_per_second']:>10} "
              f"{r['rss_before_mb']:>11} {r['peak_rss_mb']:>9} {r['growth_mb']:>7}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
