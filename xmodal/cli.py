"""The ``xmodal`` command line: a thin shell over the package.

Subcommands::

    xmodal data synth --out DIR [--study default | --scenes N ...]   make synthetic SEN12MS-like data
    xmodal data info ROOT [--check [--season S]]                     describe (and check) a SEN12MS root
    xmodal train [--config FILE] [--set key=value ...] --out DIR     one experiment
    xmodal sweep --study NAME [--jobs N] [--data DIR]                a whole study, resumable
    xmodal results --study NAME [--csv FILE]                         the tidy results table
    xmodal book [--study NAME]                                       build the Jupyter Book
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Sequence

__all__ = ["main"]


def _parse_set(items: Sequence[str]) -> dict[str, Any]:
    """Parse ``key=value`` overrides; values are read as YAML (``3``, ``[s1, s2]``, ``null``)."""
    import yaml

    out: dict[str, Any] = {}
    for item in items:
        if "=" not in item:
            raise SystemExit(f"xmodal: --set expects key=value, got {item!r}")
        key, _, raw = item.partition("=")
        out[key.strip()] = yaml.safe_load(raw)
    return out


def _cmd_data_synth(args: argparse.Namespace) -> int:
    from xmodal.data import make_synthetic

    kwargs: dict[str, Any] = {}
    if args.study:
        from xmodal.study import load_study

        spec = load_study(args.study)
        synth = (spec.get("data") or {}).get("synthetic")
        if not synth:
            raise SystemExit(
                f"xmodal: study {args.study!r} expects real SEN12MS data (no 'data: synthetic' section)"
            )
        kwargs.update(synth)
    for name in ("n_scenes", "patches_per_side", "patch_size", "season", "seed"):
        value = getattr(args, name)
        if value is not None:
            kwargs[name] = value
    summary = make_synthetic(args.out, progress=not args.quiet, **kwargs)
    if not args.quiet:
        print(json.dumps(summary, indent=2, default=str))
    return 0


def _cmd_data_info(args: argparse.Namespace) -> int:
    from xmodal.data import check_root, describe_root

    print(json.dumps(describe_root(args.root), indent=2, default=str))
    if not args.check:
        return 0
    bad = check_root(args.root, season=args.season, progress=sys.stderr.isatty())
    where = f"{args.root}" + (f" (season {args.season})" if args.season else "")
    if not bad:
        print(f"check: every file of {where} opens and passes the reader's checks")
        return 0
    print(f"check: {len(bad)} bad file(s) in {where}:")
    for item in bad:
        print(f"  {item.file}: {item.error}: {item.problem.removeprefix(f'{item.file}: ')}")
    return 2


def _cmd_train(args: argparse.Namespace) -> int:
    from xmodal.config import ExperimentConfig
    from xmodal.train import run_experiment

    values: dict[str, Any] = {}
    if args.config:
        values.update(ExperimentConfig.from_file(args.config).to_dict())
    values.update(_parse_set(args.set))
    config = ExperimentConfig.from_dict(values)
    result = run_experiment(config, args.out, resume=not args.no_resume)
    metrics = result.get("metrics", {})
    for mod, m in metrics.items():
        print(f"{mod}: macro F1 {m['macro']:.3f}  weighted F1 {m['weighted']:.3f}")
    for pair, s in (result.get("homogeneity") or {}).items():
        print(f"homogeneity {pair}: {s:.3f}")
    return 0


def _cmd_sweep(args: argparse.Namespace) -> int:
    from xmodal.study import run_sweep

    return run_sweep(
        args.study,
        jobs=args.jobs,
        data_root=args.data,
        runs_dir=args.runs,
        print_commands=args.print_commands,
        only=args.only,
    )


def _cmd_results(args: argparse.Namespace) -> int:
    from xmodal.study import export_csv, load_results, summarize

    run_dir = Path(args.runs) / args.study
    df = load_results(run_dir)
    if args.csv:
        export_csv(df, args.csv)
        print(f"wrote {len(df)} rows to {args.csv}")
    with_pandas_width = summarize(df)
    print(with_pandas_width.to_string())
    return 0


def _cmd_book(args: argparse.Namespace) -> int:
    from xmodal.book import build_book

    index = build_book(runs_dir=args.runs, study=args.study, data_root=args.data)
    print(f"The book is at {Path(index).resolve()}")
    return 0


def _cmd_clouds(args: argparse.Namespace) -> int:
    """``xmodal clouds``: evaluate a study's runs on its test split rendered at S2 cloud covers."""
    import time

    import pandas as pd

    from xmodal import cloudy

    t0 = time.perf_counter()
    study_dir = Path(args.runs).resolve() / (Path(args.study).stem if args.study.endswith((".yaml", ".yml"))
                                             else args.study)
    try:
        covers = cloudy.DEFAULT_COVERS if args.covers is None else args.covers
        manifest = cloudy.evaluate_clouds(study_dir, args.data, covers=covers, methods=args.methods,
                                          device=args.device, progress=not args.quiet)
        ev = cloudy.load_evaluation(study_dir)
    except ValueError as exc:  # CloudEvalError too: a bad cover, missing runs, data that is not synthetic
        print(f"xmodal clouds: {exc}", file=sys.stderr)
        return 2
    assert ev is not None
    threshold = cloudy.FALLBACK_THRESHOLD if args.threshold is None else args.threshold
    try:
        table = ev.table(threshold=threshold)
    except ValueError as exc:  # a threshold outside [0, 1]
        print(f"xmodal clouds: {exc}", file=sys.stderr)
        return 2
    means = cloudy.summarize(table, ("weighted",))
    wide = means.pivot_table(index=["model", "system"], columns="cover", values="mean")
    with pd.option_context("display.width", 160, "display.precision", 3):
        print(f"Weighted F1 (mean over seeds) against S2 cloud cover; fallback to S1 from cover {threshold}:")
        print(wide.to_string())
    sec = manifest["seconds"]
    print(f"{manifest['predictions_made']} prediction file(s) made, {manifest['predictions_reused']} reused, "
          f"{manifest['variants_made']} cloud variant(s) made; variants {sec['variants']:.0f} s, evaluation "
          f"{sec['evaluation']:.0f} s, total {time.perf_counter() - t0:.0f} s. Files: {study_dir / cloudy.CLOUDS_DIR}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``xmodal`` command."""
    p = argparse.ArgumentParser(prog="xmodal", description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="command", required=True)

    data = sub.add_parser("data", help="make or inspect SEN12MS data")
    dsub = data.add_subparsers(dest="data_command", required=True)
    synth = dsub.add_parser("synth", help="write synthetic SEN12MS-like GeoTIFFs in the official layout")
    synth.add_argument("--out", required=True, help="root folder to write (official SEN12MS layout)")
    synth.add_argument("--study", help="take the generator settings from this study's 'data' section")
    synth.add_argument("--scenes", dest="n_scenes", type=int, help="number of scenes")
    synth.add_argument("--patches-per-side", type=int, help="patches along each side of a scene")
    synth.add_argument("--patch-size", type=int, help="patch side in pixels (SEN12MS: 256)")
    synth.add_argument("--season", help="spring | summer | fall | winter")
    synth.add_argument("--seed", type=int, help="random seed (same seed, same files)")
    synth.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    synth.set_defaults(func=_cmd_data_synth)
    info = dsub.add_parser("info", help="describe a SEN12MS root (kind, seasons, counts)")
    info.add_argument("root")
    info.add_argument("--check", action="store_true",
                      help="decode every file and list the bad ones (exit code 2 if any)")
    info.add_argument("--season", choices=["spring", "summer", "fall", "winter"],
                      help="with --check: only this season (default: every season present)")
    info.set_defaults(func=_cmd_data_info)

    train = sub.add_parser("train", help="train and evaluate one experiment")
    train.add_argument("--config", help="YAML/JSON file of ExperimentConfig keys")
    train.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                       help="override one config key (repeatable), e.g. --set method=C+T+M")
    train.add_argument("--out", required=True, help="run directory (result.json, checkpoint.pt, ...)")
    train.add_argument("--no-resume", action="store_true", help="ignore an existing checkpoint")
    train.set_defaults(func=_cmd_train)

    sweep = sub.add_parser("sweep", help="run every pending point of a study with papermill")
    sweep.add_argument("--study", required=True, help="quick | default | paper | path to a study YAML")
    sweep.add_argument("--jobs", type=int, default=1, help="points run in parallel (threads are divided)")
    sweep.add_argument("--data", help="SEN12MS root to use instead of the study's own")
    sweep.add_argument("--runs", default="runs", help="folder holding one directory per study")
    sweep.add_argument("--only", help="run only points whose name contains this text")
    sweep.add_argument("--print-commands", action="store_true",
                       help="print one shell command per pending point (e.g. for a Slurm job array) and exit")
    sweep.set_defaults(func=_cmd_sweep)

    results = sub.add_parser("results", help="aggregate a study's runs into one table")
    results.add_argument("--study", required=True)
    results.add_argument("--runs", default="runs")
    results.add_argument("--csv", help="write the tidy table (a row per run and modality) to this CSV")
    results.set_defaults(func=_cmd_results)

    clouds = sub.add_parser("clouds", help="evaluate a study's runs on S2 rendered at fixed cloud covers")
    clouds.add_argument("--study", required=True, help="the study whose runs to evaluate (its folder under --runs)")
    clouds.add_argument("--data", required=True, help="the synthetic root the study ran on (variants go beside it)")
    clouds.add_argument("--runs", default="runs", help="folder holding one directory per study")
    clouds.add_argument("--covers", type=float, nargs="+",
                        help="S2 thick-cloud covers in [0, 1] (default 0 0.25 0.5 0.75 1; 0 is always added)")
    clouds.add_argument("--threshold", type=float,
                        help="the fallback answers from S1 for patches at least this cloudy (default 0.3; "
                             "for the printed table only: the files hold every patch's cover)")
    clouds.add_argument("--methods", nargs="+", help="methods to evaluate (default: baseline, C, C+T+M if present)")
    clouds.add_argument("--device", default="cpu", help="torch device of the models")
    clouds.add_argument("--quiet", action="store_true", help="no progress bars")
    clouds.set_defaults(func=_cmd_clouds)

    book = sub.add_parser("book", help="build the Jupyter Book from a study's results (offline)")
    book.add_argument("--study", default="default")
    book.add_argument("--runs", default="runs")
    book.add_argument("--data", help="the SEN12MS root the study ran on (for the data pages)")
    book.set_defaults(func=_cmd_book)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``xmodal`` command."""
    from xmodal.config import ConfigError
    from xmodal.data.errors import Sen12MSError

    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ConfigError as exc:
        print(f"xmodal: invalid configuration: {exc}", file=sys.stderr)
        return 2
    except Sen12MSError as exc:
        print(f"xmodal: bad SEN12MS data: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
