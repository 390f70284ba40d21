"""The ``xmodal`` command line: a thin shell over the package.

Subcommands::

    xmodal data synth --out DIR [--study default | --scenes N ...]   make synthetic SEN12MS-like data
    xmodal data info ROOT [--check [--season S]]                     describe (and check) a SEN12MS root
    xmodal train [--config FILE] [--set key=value ...] --out DIR     one experiment (= python -m xmodal.training)
    xmodal sweep --study STUDY [--jobs N] [--data DIR]               a whole study, resumable
    xmodal tune [--study tuned] [--jobs N] [--storage URL]          equal tuning on validation scenes, final runs
    xmodal archive --study tuned [--runs DIR]                        a long profile's results as a small archive
    xmodal run-point RUN_DIR                                         one point prepared by sweep --print-commands
    xmodal results --study STUDY [--csv FILE]                        the tidy results table
    xmodal clouds --study STUDY --data DIR                           the runs on S2 at fixed cloud covers
    xmodal predict RUN [RUN ...] --s1 S1.tif --s2 S2.tif --out MAP.tif  a land-cover map of a scene
    xmodal book [--study STUDY]                                      build the Jupyter Book

Every command takes a study the same way (:func:`xmodal.sweep.resolve_study`): a profile's
name (a file of ``xmodal/studies/``) or the path of a study YAML, whose ``name`` is its runs
folder (``--runs``/<name>); the commands that only read runs (results, clouds, book) also take
the name of a runs folder. A study folder that does not exist is an error that names it.

Every command reports a problem the same way: one line on stderr,
``xmodal <command>: <what is wrong, naming the file, value or option, and what to do>``,
and an exit code: 2 for bad input (options, config, study, data), 1 for failed
runs and other failures (a full disk, a folder that cannot be written), 130 for
Ctrl-C (143 for SIGTERM). ``--debug`` (or ``XMODAL_DEBUG=1``) shows the
traceback instead.
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from xmodal.errors import EXIT_BAD_INPUT, EXIT_FAILED, XmodalError
from xmodal.sweep.spec import DEFAULT_STUDY, EXECUTORS, profiles

__all__ = ["main", "build_parser", "DEBUG_ENV"]

#: Environment variable that turns on ``--debug`` (any value but "", "0", "false", "no").
DEBUG_ENV = "XMODAL_DEBUG"
#: How every command takes a study (:func:`xmodal.sweep.resolve_study`).
STUDY_HELP = f"a profile ({' | '.join(profiles())}) or the path of a study YAML"


def _parse_set(items: Sequence[str]) -> dict[str, Any]:
    """Parse ``key=value`` overrides; values are read as YAML (``3``, ``[s1, s2]``, ``null``)."""
    import yaml

    from xmodal.config import ConfigError

    out: dict[str, Any] = {}
    for item in items:
        if "=" not in item:
            raise ConfigError(f"--set expects key=value, got {item!r}")
        key, _, raw = item.partition("=")
        try:
            out[key.strip()] = yaml.safe_load(raw)
        except yaml.YAMLError as exc:
            raise ConfigError(f"--set {item!r}: the value is not valid YAML ({exc.__class__.__name__})") from None
    return out


def _cmd_data_synth(args: argparse.Namespace) -> int:
    from xmodal.data import make_synthetic

    kwargs: dict[str, Any] = {}
    if args.study:
        from xmodal.sweep import StudyError

        spec = _study_spec(args.study)
        synth = (spec.get("data") or {}).get("synthetic")
        if not synth:
            raise StudyError(
                f"study {args.study!r} expects real SEN12MS data (no 'data: synthetic' section); "
                "give the scenes with --scenes etc. or choose a synthetic study"
            )
        kwargs.update(synth)
    for name in ("n_scenes", "patches_per_side", "patch_size", "season", "seed"):
        value = getattr(args, name)
        if value is not None:
            kwargs[name] = value
    if args.param:
        from xmodal.config import ConfigError

        try:
            params = _parse_set(args.param)
        except ConfigError as exc:
            raise ConfigError(str(exc).replace("--set", "--param")) from None
        kwargs["params"] = {**(kwargs.get("params") or {}), **params}
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
    """``xmodal train`` (also ``python -m xmodal.training``, which ``torchrun`` starts): one identified run."""
    from xmodal.config import ExperimentConfig
    from xmodal.training import identified_config, run_experiment

    values: dict[str, Any] = {}
    if args.config:
        values.update(ExperimentConfig.from_file(args.config).to_dict())
    values.update(_parse_set(args.set))
    config = identified_config(values, hint="give the SEN12MS root with --set data_root=DIR (or in the --config file)")
    result = run_experiment(config, args.out, resume=not args.no_resume)
    if int(os.environ.get("RANK", "0")) != 0:  # under torchrun, rank 0 speaks for the run
        return 0
    for mod, m in result.metrics.items():
        print(f"{mod}: macro F1 {m['macro']:.3f}  weighted F1 {m['weighted']:.3f}")
    for pair, s in result.homogeneity.items():
        print(f"homogeneity {pair}: {s:.3f}")
    return 0


def _study_spec(study: str) -> dict[str, Any]:
    """The spec of a study given by profile name or YAML path (the commands that make data or runs)."""
    from xmodal.sweep import resolve_study

    spec, _ = resolve_study(study, need_spec=True)
    assert spec is not None
    return spec


def _study_dir(runs: str, study: str) -> Path:
    """The runs folder of a study given by profile name, YAML path or runs folder name (the reading commands).

    Raises:
        ResultsError: the folder does not exist (naming it and the sweep that makes it).
    """
    from xmodal.results import study_dir

    return study_dir(runs, study)


def _cmd_sweep(args: argparse.Namespace) -> int:
    from xmodal.sweep import run_sweep

    return run_sweep(
        _study_spec(args.study),
        jobs=args.jobs,
        data_root=args.data,
        runs_dir=args.runs,
        print_commands=args.print_commands,
        only=args.only,
        executor=args.executor,
    )


def _cmd_tune(args: argparse.Namespace) -> int:
    from xmodal.tuning import tune

    return tune(_study_spec(args.study), jobs=args.jobs, data_root=args.data, runs_dir=args.runs,
                storage=args.storage, trials_only=args.trials_only)


def _cmd_calibrate(args: argparse.Namespace) -> int:
    from xmodal.worlds import calibrate

    return calibrate(_study_spec(args.study), runs_dir=args.runs, data_dir=args.data_dir, data_root=args.data,
                     jobs=args.jobs, search_only=args.search_only)


def _cmd_regime(args: argparse.Namespace) -> int:
    from xmodal.worlds import run_regime

    return run_regime(_study_spec(args.study), runs_dir=args.runs, data_dir=args.data_dir, jobs=args.jobs,
                      only=args.only)


def _cmd_archive(args: argparse.Namespace) -> int:
    from xmodal.archive import MAX_ARCHIVE_BYTES, write_archive

    path = write_archive(args.study, args.runs, out=args.out)
    print(f"wrote {path} ({path.stat().st_size:,} bytes; an archive stays under {MAX_ARCHIVE_BYTES:,})")
    return 0


def _cmd_run_point(args: argparse.Namespace) -> int:
    from xmodal.sweep import run_point

    return run_point(args.run_dir, notebook=args.notebook, kernel_name=args.kernel)


def _cmd_results(args: argparse.Namespace) -> int:
    import warnings

    from xmodal.results import UnreadableRunWarning, export_csv, load_results, summarize

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UnreadableRunWarning)
        df = load_results(_study_dir(args.runs, args.study))
    for w in caught:  # one line per run folder that could not be read
        if issubclass(w.category, UnreadableRunWarning):
            print(f"xmodal results: {w.message}", file=sys.stderr)
        else:
            warnings.showwarning(w.message, w.category, w.filename, w.lineno)
    if args.csv:
        export_csv(df, args.csv)
        print(f"wrote {len(df)} rows to {args.csv}")
    with_pandas_width = summarize(df)
    print(with_pandas_width.to_string())
    return 0


def _check_book_data(study_dir: Path, data: str | None) -> None:
    """Before the book builds: the data root it will read exists (``--data``, or the one the runs used).

    Raises:
        xmodal.data.RootError: naming the missing folder and ``--data`` (:func:`xmodal.data.check_data_root`).
    """
    from xmodal.data import check_data_root
    from xmodal.rundir import iter_results

    if data:
        check_data_root(data, name="--data", hint="give the data root the study ran on")
        return
    roots: set[str] = set()
    for _run, res in iter_results(study_dir):
        root = res.data.get("root") or res.config.get("data_root")
        if root:
            roots.add(str(root))
    for root in sorted(roots):
        check_data_root(root, name=f"data root of the runs in {study_dir}",
                        hint="moved or deleted? pass the data's folder with --data")


def _cmd_book(args: argparse.Namespace) -> int:
    from xmodal.book import ENV_DATA, build_book

    data = args.data or os.environ.get(ENV_DATA)
    _check_book_data(_study_dir(args.runs, args.study), data)
    index = build_book(runs_dir=args.runs, study=args.study, data_root=data)
    print(f"The book is at {Path(index).resolve()}")
    return 0


def _cmd_clouds(args: argparse.Namespace) -> int:
    """``xmodal clouds``: evaluate a study's runs on its test split rendered at S2 cloud covers."""
    import time

    import pandas as pd

    from xmodal import clouds

    t0 = time.perf_counter()
    study_dir = _study_dir(args.runs, args.study).resolve()
    # a bad cover or threshold, missing runs, data that is not synthetic: ValueErrors, one line from main()
    covers = clouds.DEFAULT_COVERS if args.covers is None else args.covers
    manifest = clouds.evaluate_clouds(study_dir, args.data, covers=covers, methods=args.methods,
                                      device=args.device, progress=not args.quiet)
    ev = clouds.load_evaluation(study_dir)
    assert ev is not None
    threshold = ev.fallback_threshold(args.threshold)
    table = ev.table(threshold=threshold)
    means = clouds.summarize(table, ("weighted",))
    wide = means.pivot_table(index=["model", "system"], columns="cover", values="mean")
    with pd.option_context("display.width", 160, "display.precision", 3):
        print(f"Weighted F1 on the test split (mean over seeds) against S2 cloud cover; fallback to S1 from cover "
              f"{threshold:g} ({clouds.threshold_phrase(ev, args.threshold)}):")
        print(wide.to_string())
    sec = manifest["seconds"]
    print(f"{manifest['predictions_made']} prediction file(s) made, {manifest['predictions_reused']} reused, "
          f"{manifest['variants_made']} cloud variant(s) made; variants {sec['variants']:.0f} s, evaluation "
          f"{sec['evaluation']:.0f} s, total {time.perf_counter() - t0:.0f} s. Files: {study_dir / clouds.CLOUDS_DIR}")
    return 0


def _cmd_predict(args: argparse.Namespace) -> int:
    """``xmodal predict``: a land-cover map of a scene from a trained run (see xmodal.inference)."""
    import warnings

    from xmodal.inference import FALLBACK_THRESHOLD, InferenceError, InferenceWarning, predict_scene, write_model_record

    if args.write_record:
        for run in args.runs:
            print(f"wrote {write_model_record(run)}")
        return 0
    if args.out is None:
        raise InferenceError("give the map to write with --out MAP.tif")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", InferenceWarning)
        threshold = FALLBACK_THRESHOLD if args.cloud_threshold is None else args.cloud_threshold
        result = predict_scene(
            args.runs, s1=args.s1, s2=args.s2, clouds=args.clouds, out=args.out, stride=args.stride,
            cloud_threshold=threshold, latents=args.latents, batch_size=args.batch_size, device=args.device,
            threads=args.threads, progress=False if args.quiet else None, keep=False)
    for w in caught:
        print(f"xmodal predict: warning: {w.message}", file=sys.stderr)
    print(f"wrote {result.summary()}" + (f"; latents to {result.latents_path}" if result.latents_path else ""))
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``xmodal`` command."""
    debug = argparse.ArgumentParser(add_help=False)
    debug.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                       help=f"show the traceback of an error (also: {DEBUG_ENV}=1)")
    p = argparse.ArgumentParser(prog="xmodal", description=(__doc__ or "").split("\n")[0], parents=[debug])
    sub = p.add_subparsers(dest="command", required=True)

    data = sub.add_parser("data", help="make or inspect SEN12MS data")
    dsub = data.add_subparsers(dest="data_command", required=True)
    synth = dsub.add_parser("synth", parents=[debug],
                            help="write synthetic SEN12MS-like GeoTIFFs in the official layout")
    synth.add_argument("--out", required=True, help="root folder to write (official SEN12MS layout)")
    synth.add_argument("--study", help="take the generator settings from this study's 'data' section: "
                       + STUDY_HELP)
    synth.add_argument("--scenes", dest="n_scenes", type=int, help="number of scenes")
    synth.add_argument("--patches-per-side", type=int, help="patches along each side of a scene")
    synth.add_argument("--patch-size", type=int, help="patch side in pixels (SEN12MS: 256)")
    synth.add_argument("--season", help="spring | summer | fall | winter")
    synth.add_argument("--seed", type=int, help="random seed (same seed, same files)")
    synth.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                       help="set a generator parameter, e.g. a world knob: --param s1_contrast=2.5 (repeatable; "
                            "see xmodal.data.knobs and SyntheticParams)")
    synth.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    synth.set_defaults(func=_cmd_data_synth)
    info = dsub.add_parser("info", parents=[debug], help="describe a SEN12MS root (kind, seasons, counts)")
    info.add_argument("root")
    info.add_argument("--check", action="store_true",
                      help="decode every file and list the bad ones (exit code 2 if any)")
    info.add_argument("--season", choices=["spring", "summer", "fall", "winter"],
                      help="with --check: only this season (default: every season present)")
    info.set_defaults(func=_cmd_data_info)

    train = sub.add_parser("train", parents=[debug], help="train and evaluate one experiment")
    train.add_argument("--config", help="YAML/JSON file of ExperimentConfig keys")
    train.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                       help="override one config key (repeatable), e.g. --set method=C+T+M")
    train.add_argument("--out", required=True, help="run folder (its files: see xmodal.rundir)")
    train.add_argument("--no-resume", action="store_true", help="ignore an existing checkpoint")
    train.set_defaults(func=_cmd_train)

    sweep = sub.add_parser("sweep", parents=[debug], help="run every pending point of a study with papermill")
    sweep.add_argument("--study", required=True, help=STUDY_HELP)
    sweep.add_argument("--jobs", type=int, default=1,
                       help="points run in parallel (a study without 'threads' gives each cores/jobs threads)")
    sweep.add_argument("--data", help="SEN12MS root to use instead of the study's own")
    sweep.add_argument("--runs", default="runs", help="folder holding one directory per study")
    sweep.add_argument("--only", help="run only points whose name contains this text")
    sweep.add_argument("--executor", choices=EXECUTORS,
                       help="notebook: a Jupyter kernel per point; process: --jobs long-lived workers, then the "
                            "executed notebooks the study's 'notebooks' key asks for (default: the study's "
                            "'executor', else notebook)")
    sweep.add_argument("--print-commands", action="store_true",
                       help="prepare every pending point and print one shell command per point "
                            "(e.g. for a Slurm job array) instead of running them")
    sweep.set_defaults(func=_cmd_sweep)

    tune = sub.add_parser("tune", parents=[debug],
                          help="tune every model of a tuning profile on validation scenes (Optuna), then run "
                               "its final seeds at the tuned settings")
    tune.add_argument("--study", default="tuned", help=STUDY_HELP + " (one with a 'tuning' block; default: tuned)")
    tune.add_argument("--jobs", type=int, default=1, help="models tuned at once, and points of the final sweep")
    tune.add_argument("--data", help="SEN12MS root to use instead of the study's own")
    tune.add_argument("--runs", default="runs", help="folder holding one directory per study")
    tune.add_argument("--storage", help="an Optuna storage URL shared by tuners on several machines (default: "
                                        "<runs>/<study>-tuning/tuning.sqlite3)")
    tune.add_argument("--trials-only", action="store_true", help="stop after the trials and the tuned settings")
    tune.set_defaults(func=_cmd_tune)

    calibrate = sub.add_parser("calibrate", parents=[debug],
                               help="search the world knobs that make the Baselines score the paper's weighted F1, "
                                    "then train the calibrated profile's runs")
    calibrate.add_argument("--study", default="calibrated",
                           help=STUDY_HELP + " (one with a 'calibration' block; default: calibrated)")
    calibrate.add_argument("--jobs", type=int, default=1, help="runs trained at once")
    calibrate.add_argument("--runs", default="runs", help="folder holding one directory per study")
    calibrate.add_argument("--data-dir", default="data", help="where the search's data roots go")
    calibrate.add_argument("--data", help="the calibrated world's data root (default: the study's own)")
    calibrate.add_argument("--search-only", action="store_true", help="stop after the search")
    calibrate.set_defaults(func=_cmd_calibrate)

    regime = sub.add_parser("regime", parents=[debug],
                            help="train every cell of a regime map: a world per level of its generator knob")
    regime.add_argument("--study", default="regime", help=STUDY_HELP + " (one with a 'regime' block; default: regime)")
    regime.add_argument("--jobs", type=int, default=1, help="runs trained at once")
    regime.add_argument("--runs", default="runs", help="folder holding one directory per study")
    regime.add_argument("--data-dir", default="data", help="where the worlds' data roots go")
    regime.add_argument("--only", help="run only the worlds whose name contains this text")
    regime.set_defaults(func=_cmd_regime)

    archive = sub.add_parser("archive", parents=[debug],
                             help="keep a finished long profile's results in one small JSON file the book renders")
    archive.add_argument("--study", required=True, help="the profile's name (its runs are <runs>/<name>)")
    archive.add_argument("--runs", default="runs", help="folder holding one directory per study")
    archive.add_argument("--out", help="the archive's folder (default: the package's xmodal/archives)")
    archive.set_defaults(func=_cmd_archive)

    point = sub.add_parser("run-point", parents=[debug],
                           help="run one point prepared by `xmodal sweep --print-commands` (as the sweep would)")
    point.add_argument("run_dir", help="the point's run folder (holds its parameters)")
    point.add_argument("--notebook", help="the experiment notebook (default: the repository's)")
    point.add_argument("--kernel", default="python3", help="Jupyter kernel that runs the notebook")
    point.set_defaults(func=_cmd_run_point)

    results = sub.add_parser("results", parents=[debug], help="aggregate a study's runs into one table")
    results.add_argument("--study", required=True, help=STUDY_HELP + " | the name of a runs folder")
    results.add_argument("--runs", default="runs", help="folder holding one directory per study")
    results.add_argument("--csv", help="write the tidy table (a row per run and modality) to this CSV")
    results.set_defaults(func=_cmd_results)

    clouds = sub.add_parser("clouds", parents=[debug],
                            help="evaluate a study's runs on S2 rendered at fixed cloud covers")
    clouds.add_argument("--study", required=True, help=STUDY_HELP + " | the name of a runs folder")
    clouds.add_argument("--data", required=True, help="the synthetic root the study ran on (variants go beside it)")
    clouds.add_argument("--runs", default="runs", help="folder holding one directory per study")
    clouds.add_argument("--covers", type=float, nargs="+",
                        help="S2 thick-cloud covers in [0, 1] (default 0 0.25 0.5 0.75 1; 0 is always added)")
    clouds.add_argument("--threshold", type=float,
                        help="the fallback answers from S1 for patches at least this cloudy (default: the "
                             "threshold chosen on the runs' validation scenes, 0.3 for runs without; for the "
                             "printed table only: the files hold every patch's cover)")
    clouds.add_argument("--methods", nargs="+", help="methods to evaluate (default: baseline, C, C+T+M if present)")
    clouds.add_argument("--device", default="cpu", help="torch device of the models")
    clouds.add_argument("--quiet", action="store_true", help="no progress bars")
    clouds.set_defaults(func=_cmd_clouds)

    predict = sub.add_parser(
        "predict", parents=[debug], formatter_class=argparse.RawDescriptionHelpFormatter,
        help="a land-cover map of a scene from a trained run, from S1, S2 or both",
        description=(
            "Classify a scene of any size with a trained run (read in windows, patch by patch at the run's patch\n"
            "size) and write the map as a tiled GeoTIFF on a grid of one cell per stride x stride block, with the\n"
            "scene's CRS. Page 1: the dominant class (colour table); page 2 (GTIFF_DIR:2:MAP.tif): the class\n"
            "probabilities and, with both sensors, the homogeneity of the two answers (eq. 5) and the sensor the\n"
            "fallback used (S2 where clear, S1 where clouded).\n\n"
            "Inputs, as SEN12MS stores them:\n"
            "  --s1  Sentinel-1 backscatter sigma0 in dB (not linear power), bands VV, VH.\n"
            "  --s2  Sentinel-2 reflectance x 10000, the 13 bands B01 B02 B03 B04 B05 B06 B07 B08 B8A B09 B10\n"
            "        B11 B12, or exactly the model's bands in its order (the default S2 model: B02..B08 B8A B11 B12).\n"
            "  --clouds  cloud mask on the S2 grid: 0 clear, 1 cloud, 2 cloud shadow, 3 thin cloud (0/1 works).\n"
            "S1 and S2 need the same CRS and pixel size on pixel-aligned grids; the map covers their overlap.\n"
            "NaN and nodata pixels are never classified: their cells hold nodata (255)."))
    predict.add_argument("runs", nargs="+", metavar="RUN",
                         help="a finished run folder; several make one system (e.g. the S1 and the S2 Baseline)")
    predict.add_argument("--s1", help="Sentinel-1 GeoTIFF: VV, VH sigma0 in dB")
    predict.add_argument("--s2", help="Sentinel-2 GeoTIFF: reflectance x 10000, 13 bands B01..B12 with B8A")
    predict.add_argument("--clouds", help="the S2 cloud mask GeoTIFF (codes 0-3 of xmodal.data.clouds)")
    predict.add_argument("--out", help="the map GeoTIFF to write (written atomically)")
    predict.add_argument("--stride", type=int,
                         help="pixels between patches and side of an output cell; must divide the run's patch "
                              "footprint (default: half a patch)")
    predict.add_argument("--cloud-threshold", type=float, default=None,
                         help="with both sensors, a cell at least this share under cloud is answered from S1 "
                              "(default 0.3)")
    predict.add_argument("--latents", help="also write the latent vectors of every cell (.tif or .npz)")
    predict.add_argument("--batch-size", type=int, default=64, help="patches per forward pass (default 64)")
    predict.add_argument("--device", default="cpu", help="torch device (default cpu)")
    predict.add_argument("--threads", type=int,
                         help="torch threads (default: all cores; 1 is often faster on a busy machine)")
    predict.add_argument("--quiet", action="store_true", help="no progress bar")
    predict.add_argument("--write-record", action="store_true",
                         help="write model.json of the run folder(s) from their result.json (folders trained "
                              "before xmodal wrote it) and exit")
    predict.set_defaults(func=_cmd_predict)

    book = sub.add_parser("book", parents=[debug], help="build the Jupyter Book from a study's results (offline)")
    book.add_argument("--study", default=DEFAULT_STUDY, help=STUDY_HELP + " | the name of a runs folder")
    book.add_argument("--runs", default="runs", help="folder holding one directory per study")
    book.add_argument("--data", help="the SEN12MS root the study ran on (default: the one its runs recorded)")
    book.set_defaults(func=_cmd_book)
    return p


def _debug_requested(args: argparse.Namespace) -> bool:
    env = os.environ.get(DEBUG_ENV, "").strip().lower()
    return bool(getattr(args, "debug", False)) or env not in ("", "0", "false", "no")


def _target_of(filename: object) -> str:
    """The file a path stands for: the target of an atomic writer's temporary file, else the path itself.

    A failed write names its temporary file, which no longer exists: name the file being written.
    """
    from xmodal.atomic import TEMP_RE

    path = Path(os.fsdecode(filename)) if isinstance(filename, (str, bytes, os.PathLike)) else Path(str(filename))
    m = TEMP_RE.match(path.name)
    return str(path.with_name(m.group("target"))) if m else str(path)


def describe_error(exc: BaseException) -> tuple[str, int]:
    """The one-line message and exit code of an error, as :func:`main` prints it.

    The project's errors (:class:`~xmodal.errors.XmodalError`) carry messages that name the file,
    value or option, and their class says the exit code; an :class:`OSError` is described by its
    file (a permission problem or a read-only file system names the path it could not write; a temporary file
    of :mod:`xmodal.atomic` is named by the file it was to become). Only the first line of a message is kept:
    it says what is wrong and what to do; ``--debug`` shows the rest.
    """
    from xmodal.atomic import DiskFullError

    code = EXIT_BAD_INPUT
    if isinstance(exc, DiskFullError):
        message, code = str(exc.strerror or exc), exc.exit_code
    elif isinstance(exc, XmodalError):
        message, code = str(exc), exc.exit_code
    elif isinstance(exc, OSError) and exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        where = _target_of(exc.filename) if exc.filename is not None else "a file"
        message = (f"{(exc.strerror or 'permission denied').lower()}: cannot write {where}; choose a folder "
                   "you can write (--runs, --out) or change its permissions")
        code = EXIT_FAILED
    elif isinstance(exc, OSError) and exc.filename is not None and exc.strerror:
        target = _target_of(exc.filename)
        if exc.filename2 is not None:
            target += f" -> {_target_of(exc.filename2)}"
        message, code = f"{exc.strerror}: {target}", EXIT_FAILED
    elif isinstance(exc, OSError):
        message, code = str(exc), EXIT_FAILED
    elif isinstance(exc, ValueError):
        message = str(exc)
    else:
        message = (f"unexpected {type(exc).__name__}: {exc} (a bug: run again with --debug for the traceback "
                   "and report it)")
        code = EXIT_FAILED
    lines = message.strip().splitlines() or [type(exc).__name__]
    first = lines[0].rstrip(":")
    if len(lines) > 1:
        first += f" ({len(lines) - 1} more line(s) with --debug)"
    return first, code


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``xmodal`` command."""
    args = build_parser().parse_args(argv)
    command = args.command + (f" {args.data_command}" if args.command == "data" else "")
    debug = _debug_requested(args)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt as exc:
        from xmodal.sweep import SweepInterrupted

        if debug:
            raise
        if isinstance(exc, SweepInterrupted):
            print(f"xmodal {command}: {exc}", file=sys.stderr)
            return exc.exit_code
        print(f"xmodal {command}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if debug:
            raise
        message, code = describe_error(exc)
        print(f"xmodal {command}: {message}", file=sys.stderr)
        return code


if __name__ == "__main__":
    sys.exit(main())
