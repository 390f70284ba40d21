"""The one loader of a study's results: run folders in, tidy tables out.

Every reader of finished runs goes through here: the ``xmodal results`` command, the
book's pages and the report layer. A study's folder is found from the study as every
command takes it (:func:`study_dir`: a profile's name, a study YAML's path or a runs
folder's name); its runs are found below it (:func:`xmodal.rundir.find_runs`); each
config hash counts once (a study copied or moved below the folder is not counted twice).
A run folder whose records cannot be read (a truncated ``result.json``, say) is not
dropped: it keeps a row with status ``"unreadable"`` whose ``error`` names the file and
the reason, and :class:`UnreadableRunWarning` says so once per folder.
"""

from __future__ import annotations

import json
import math
import os
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from xmodal.errors import XmodalError

if TYPE_CHECKING:
    import pandas as pd

    from xmodal.rundir import Predictions, Result, RunDir, RunError

__all__ = [
    "RESULT_COLUMNS",
    "LATENT_KEY_COLUMNS",
    "ResultsError",
    "UnreadableRunWarning",
    "load_results",
    "study_dir",
    "load_latent_measures",
    "load_histories",
    "load_validation",
    "method_of",
    "load_per_class",
    "load_predictions",
    "load_homogeneity",
    "load_homogeneity_context",
    "baseline_homogeneity",
    "summarize",
    "export_csv",
]


class ResultsError(XmodalError, ValueError):
    """A study's results cannot be found or read; the message names the folder or file."""


class UnreadableRunWarning(UserWarning):
    """A run folder's record (``result.json`` or ``error.json``) cannot be read; the message names the file and why."""


def study_dir(runs_dir: str | os.PathLike[str], study: str | os.PathLike[str]) -> Path:
    """The folder of a study's runs: ``<runs_dir>/<name>`` for a study as every command takes it.

    Args:
        runs_dir: the folder holding one folder per study.
        study: a profile's name, a study YAML's path (its ``name`` names the folder) or the
            name of a runs folder (:func:`xmodal.sweep.resolve_study`).

    Raises:
        ResultsError: the folder does not exist (the message names it and the sweep that makes it).
        xmodal.sweep.StudyError: ``study`` is a YAML path that does not exist or is invalid.
    """
    from xmodal.sweep.spec import resolve_study

    _, folder = resolve_study(study, need_spec=False)
    path = Path(runs_dir) / folder
    if not path.is_dir():
        raise ResultsError(f"No runs of study {str(study)!r}: {path} does not exist; run "
                           f"`xmodal sweep --study {study} --runs {runs_dir}` first, or pass the --runs folder "
                           "that holds it")
    return path


RESULT_COLUMNS: tuple[str, ...] = (
    "study", "point", "method", "config_method", "alignment", "pairing", "modality", "trained_modalities", "n_train",
    "n_train_requested", "n_test", "seed", "macro", "weighted", "micro", "homogeneity", "seconds", "epochs",
    "backbone", "patch_size", "data_kind", "season", "split", "status", "error", "config_hash", "run_dir",
)


def _pairing_of(config: Mapping[str, Any]) -> str:
    """Whether the run's sensors trained on the same patches (runs older than the key: aligned)."""
    return str(config.get("pairing") or "aligned")


def _alignment_of(config: Mapping[str, Any]) -> str | None:
    """How the run's ``M`` hid the sensor (``None`` for a method without ``M``; runs older than the key: reversal)."""
    from xmodal.config import METHOD_LOSSES

    if "M" not in METHOD_LOSSES.get(str(config.get("method")), frozenset()):
        return None
    return str(config.get("alignment") or "reversal")


def method_of(config: Mapping[str, Any]) -> str:
    """The run's method as the results tables name it: the config's method, with a non-default alignment or pairing.

    ``C+T+M`` with ``alignment: confusion`` is ``"C+T+M (confusion)"``, ``C`` with ``pairing: disjoint``
    is ``"C (disjoint)"``, so the tables and claims
    that select the paper's method names exactly never mix an ablation into the paper's method.
    The one composition of a run's method key: the results tables carry it beside the config
    fields it is made of (``config_method``, ``alignment``, ``pairing``), from which the report
    layer selects runs (:mod:`xmodal.report.selection`, whose
    :func:`~xmodal.report.selection.method_label` is the one display name of a key).
    """
    method = str(config.get("method"))
    alignment = _alignment_of(config)
    tags = [] if alignment in (None, "reversal") else [str(alignment)]
    if config.get("pairing") not in (None, "aligned"):
        tags.append(str(config.get("pairing")))
    return f"{method} ({', '.join(tags)})" if tags else method


def _runs_once(root: Path) -> list[tuple[RunDir, Result | None, RunError | None]]:
    """Every run at or below ``root`` with its result and error, each config hash once.

    Two run folders hold the same config hash when a study was copied or moved (its runs
    folder twice under ``root``): the first in path order is kept, a finished run before a
    failed one.
    """
    from xmodal.rundir import find_runs

    kept: dict[str, tuple[RunDir, Result | None, RunError | None]] = {}
    for run in find_runs(root):
        res = run.read_result()
        err = None if res is not None and res.ok else run.read_error()
        if res is None and err is None:  # its records exist (find_runs) but none can be read
            err = _unreadable(run)
        config_hash = res.config_hash if res is not None else (err.extra.get("config_hash") if err else None)
        key = str(config_hash) if config_hash else str(run.path)
        old = kept.get(key)
        if old is None or (not (old[1] is not None and old[1].ok) and res is not None and res.ok):
            kept[key] = (run, res, err)
    return sorted(kept.values(), key=lambda t: t[0].path)


#: ``status`` of a run folder whose records cannot be read (its ``error`` names the file and why).
UNREADABLE = "unreadable"


def _why_unreadable(path: Path) -> str:
    """Why a run record (a JSON file of :mod:`xmodal.rundir`) cannot be read, in a few words."""
    from xmodal.rundir import Result

    try:
        text = path.read_text()
    except OSError as exc:
        return exc.strerror or type(exc).__name__
    except UnicodeDecodeError:
        return "not text (binary content)"
    if not text.strip():
        return "empty"
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:  # ends early (a killed writer, a full disk) or garbled
        truncated = exc.pos >= len(text.rstrip()) or exc.msg.startswith("Unterminated string")
        return f"{'truncated' if truncated else 'not valid'} JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"
    if not isinstance(obj, dict):
        return f"holds a JSON {type(obj).__name__}, not an object"
    if path.name == "result.json":
        try:
            Result.from_dict(obj)
        except (TypeError, ValueError) as exc:
            return f"not a run result ({exc})"
    return "unreadable"


def _unreadable(run: RunDir) -> RunError:
    """The error record of a run folder none of whose records can be read, naming each and why; warns once."""
    from xmodal.rundir import RunError

    files = [p for p in (run.result_path, run.error_path) if p.exists()]
    reasons = "; ".join(f"{p}: {_why_unreadable(p)}" for p in files)
    message = (f"cannot read run folder {run.path}: {reasons}; run the sweep again to redo it, "
               "or remove the folder")
    warnings.warn(message, UnreadableRunWarning, stacklevel=4)
    return RunError("UnreadableRun", message, [], {"status": UNREADABLE})


def _study_of(run: RunDir) -> str:
    from xmodal.rundir import read_json, study_meta_path

    meta = read_json(study_meta_path(run.path.parent))
    return str(meta.get("name")) if meta and meta.get("name") else run.path.parent.name


def _point_of(run: RunDir, config_hash: str | None) -> str:
    if config_hash and run.name.endswith(f"-{config_hash}"):
        return run.name[: -len(config_hash) - 1]
    import re

    return re.sub(r"-[0-9a-f]{12}$", "", run.name)


def _micro_f1(run: RunDir, modality: str) -> float:
    """Micro F1 of ``modality`` from the run's predictions (results written before ``micro`` was recorded)."""
    from xmodal.metrics import F1_THRESHOLD, f1_scores
    from xmodal.rundir import RunFolderError

    try:
        pred = run.predictions()
    except RunFolderError:
        return math.nan
    if modality not in pred.prob:
        return math.nan
    return float(f1_scores(pred.target[modality], pred.prob[modality], threshold=F1_THRESHOLD)["micro"])


def load_results(path: str | os.PathLike[str]) -> pd.DataFrame:
    """The tidy results table: one row per run and evaluated sensor.

    The sensors of a run are those of its config (:attr:`xmodal.rundir.Result.modalities`).
    A run folder found twice (the same config hash: a study copied or moved below
    ``path``) counts once: the first in path order, a finished run before a failed one.

    Args:
        path: a study folder (``runs/default``), a folder of study folders
            (``runs``) or a single run directory.

    Returns:
        A DataFrame with columns :data:`RESULT_COLUMNS`. ``method`` is :func:`method_of` the
        run's config (the paper's name, or e.g. ``"C+T+M (confusion)"`` for an alignment
        ablation) and ``alignment`` the run's alignment (``None`` without ``M``). ``homogeneity`` is the
        mean eq.-(5) score over the sensor pairs involving the row's sensor
        (NaN for the single-sensor baseline: see :func:`load_homogeneity`);
        failed runs have ``status == "failed"``, NaN scores and their ``error``; a run folder
        whose records cannot be read has ``status == "unreadable"`` and an ``error`` naming the
        file and the reason (and :class:`UnreadableRunWarning` says so).

    Raises:
        ResultsError: ``path`` does not exist (the message names it).

    Warns:
        UnreadableRunWarning: once per run folder whose records cannot be read.
    """
    import pandas as pd

    root = Path(path)
    if not root.exists():
        raise ResultsError(f"No results: {root} does not exist")
    rows: list[dict[str, Any]] = []
    for run, res, err in _runs_once(root):
        if res is not None and res.ok:
            rows.extend(_result_rows(run, res))
        else:
            rows.extend(_failed_rows(run, res, err))
    df = pd.DataFrame(rows, columns=list(RESULT_COLUMNS))
    for col in ("macro", "weighted", "micro", "homogeneity", "seconds"):
        df[col] = pd.to_numeric(df[col], errors="coerce")
    for col in ("n_train", "n_train_requested", "n_test", "seed", "epochs", "patch_size"):
        df[col] = pd.to_numeric(df[col], errors="coerce").astype("Int64")
    return df.sort_values(["study", "method", "modality", "n_train_requested", "seed"],
                          na_position="last", kind="stable").reset_index(drop=True)


def _failed_rows(run: RunDir, res: Result | None, err: RunError | None) -> list[dict[str, Any]]:
    cfg = (err.config if err is not None else {}) or (res.config if res is not None else {})
    config_hash = (err.extra.get("config_hash") if err is not None else None) or (res.config_hash if res else None)
    mods = list(cfg.get("modalities") or ["?"])
    return [{
        "study": _study_of(run), "point": _point_of(run, config_hash),
        "method": method_of(cfg) if cfg.get("method") else None, "config_method": cfg.get("method"),
        "alignment": _alignment_of(cfg), "pairing": _pairing_of(cfg),
        "modality": mod, "trained_modalities": "+".join(cfg.get("modalities") or []),
        "n_train": cfg.get("n_train"), "n_train_requested": cfg.get("n_train"),
        "seed": cfg.get("seed"), "epochs": cfg.get("epochs"), "backbone": cfg.get("backbone"),
        "patch_size": cfg.get("patch_size"), "split": cfg.get("split"), "season": cfg.get("season"),
        "status": _failed_status(res, err),
        "error": err.summary if err is not None else None,
        "config_hash": config_hash, "run_dir": str(run.path),
    } for mod in mods]


def _failed_status(res: Result | None, err: RunError | None) -> str:
    if err is not None:
        return str(err.extra.get("status") or "failed")
    return res.status if res is not None else "unknown"


def _result_rows(run: RunDir, res: Result) -> list[dict[str, Any]]:
    cfg = res.config
    rows = []
    for mod in res.modalities:
        m = res.metrics.get(mod, {})
        micro = m.get("micro")
        rows.append({
            "study": _study_of(run), "point": _point_of(run, res.config_hash), "method": method_of(cfg),
            "config_method": cfg.get("method"), "alignment": _alignment_of(cfg), "pairing": _pairing_of(cfg),
            "modality": mod, "trained_modalities": "+".join(res.modalities),
            "n_train": res.n_train(mod), "n_train_requested": cfg.get("n_train"), "n_test": res.data.get("n_test"),
            "seed": res.seed, "macro": m.get("macro"), "weighted": m.get("weighted"),
            "micro": micro if micro is not None else _micro_f1(run, mod),
            "homogeneity": res.homogeneity_of(mod),
            "seconds": res.timings.get("total_seconds"), "epochs": len(res.history) or cfg.get("epochs"),
            "backbone": cfg.get("backbone"), "patch_size": cfg.get("patch_size"),
            "data_kind": res.data.get("kind"), "season": res.data.get("season", cfg.get("season")),
            "split": res.data.get("split", cfg.get("split")), "status": "ok", "error": None,
            "config_hash": res.config_hash, "run_dir": str(run.path),
        })
    return rows


def load_per_class(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Per-class F1 of every finished run: one row per run, sensor and class.

    Columns: study, point, method, modality, n_train, seed, class, f1, support, run_dir.
    """
    import pandas as pd

    rows = []
    for run, res, _ in _runs_once(Path(path)):
        if res is None or not res.ok:
            continue
        for mod in res.modalities:
            m = res.metrics.get(mod, {})
            support = m.get("support") or {}
            for cls, f1 in (m.get("per_class") or {}).items():
                rows.append({"study": _study_of(run), "point": _point_of(run, res.config_hash),
                             "method": method_of(res.config), "modality": mod, "n_train": res.n_train(mod),
                             "seed": res.seed, "class": cls, "f1": f1,
                             "support": support.get(cls), "run_dir": str(run.path)})
    return pd.DataFrame(rows, columns=["study", "point", "method", "modality", "n_train", "seed",
                                       "class", "f1", "support", "run_dir"])


def _results_table(results: pd.DataFrame | str | os.PathLike[str]) -> pd.DataFrame:
    import pandas as pd

    return results if isinstance(results, pd.DataFrame) else load_results(results)


def baseline_homogeneity(results: pd.DataFrame | str | os.PathLike[str]) -> pd.DataFrame:
    """Cross-modal homogeneity (eq. 5) of separately trained single-sensor Baselines.

    The paper's baseline homogeneity (0.63) compares a model trained on S1 only with one
    trained on S2 only. This pairs the single-sensor Baseline runs of every pair of
    sensors of the same study, seed and training-set size
    (:func:`xmodal.analysis.homogeneity.baseline_pairs`), reads their test predictions and
    aligns them by patch id (:func:`xmodal.analysis.homogeneity.baseline_homogeneity`).

    Args:
        results: a :func:`load_results` table or a path it accepts.

    Returns:
        One row per pair of runs, columns :data:`xmodal.analysis.homogeneity.PAIR_COLUMNS`.
    """
    from xmodal.analysis import homogeneity
    from xmodal.rundir import RunDir

    pairs = homogeneity.baseline_pairs(_results_table(results))
    runs = {str(r) for r in pairs["run_dir_a"]} | {str(r) for r in pairs["run_dir_b"]}
    return homogeneity.baseline_homogeneity(pairs, {r: RunDir(r).predictions() for r in sorted(runs)})


def load_predictions(results: pd.DataFrame | str | os.PathLike[str]) -> dict[str, Predictions]:
    """The test predictions of every finished run of a results table, by run folder.

    A run whose ``predictions.npz`` is missing or unreadable is left out (the tables that
    need predictions then give no test-scene share for it).
    """
    from xmodal.rundir import RunDir

    df = _results_table(results)
    out: dict[str, Predictions] = {}
    for run_dir in df.loc[df["status"] == "ok", "run_dir"].drop_duplicates():
        try:
            out[str(run_dir)] = RunDir(run_dir).predictions()
        except (OSError, ValueError, KeyError):
            continue
    return out


def load_homogeneity(results: pd.DataFrame | str | os.PathLike[str]) -> pd.DataFrame:
    """The homogeneity (eq. 5) of every pair of sensors: one row per run (or pair of runs) and pair.

    The joint models' scores come from each finished run's result (the trainer compares
    the aligned test predictions of every pair of its sensors); the single-sensor
    Baselines' from :func:`baseline_homogeneity`.

    Args:
        results: a :func:`load_results` table or a path it accepts.

    Returns:
        Columns :data:`xmodal.analysis.homogeneity.PAIR_COLUMNS`; for a joint model ``n_pairs``
        is its number of test patches and ``run_dir_a == run_dir_b``.
    """
    import pandas as pd

    from xmodal.analysis.homogeneity import PAIR_COLUMNS
    from xmodal.analysis.tidy import sensor_order
    from xmodal.rundir import RunDir

    df = _results_table(results)
    ok = df[df["status"] == "ok"].drop_duplicates("run_dir")
    rows = []
    for _, r in ok.iterrows():
        res = RunDir(r["run_dir"]).result()
        for key, score in res.homogeneity.items():
            pair = sensor_order(key.split("|"))
            if len(pair) != 2:
                continue
            a, b = pair
            rows.append({"study": r["study"], "method": method_of(res.config), "pairing": _pairing_of(res.config),
                         "sensor_a": a, "sensor_b": b,
                         "n_train": r["n_train_requested"], "seed": res.seed, "homogeneity": score,
                         "n_pairs": res.data.get("n_test"), "run_dir_a": r["run_dir"], "run_dir_b": r["run_dir"]})
    joint = pd.DataFrame(rows, columns=list(PAIR_COLUMNS))
    base = baseline_homogeneity(df)
    out = pd.concat([f for f in (joint, base) if len(f)]) if len(joint) or len(base) else joint
    for col in ("n_train", "seed", "n_pairs"):
        out[col] = pd.to_numeric(out[col], errors="coerce").astype("Int64")
    out["homogeneity"] = pd.to_numeric(out["homogeneity"], errors="coerce")
    return out.reset_index(drop=True)


def load_homogeneity_context(pairs: pd.DataFrame) -> pd.DataFrame:
    """:func:`xmodal.analysis.homogeneity.homogeneity_context` of every row of a pair homogeneity table.

    Reads the test predictions of the pairs' runs and, for the constant predictor, each run's
    training-label mean (``Result.data["train_prior"]``) when it recorded one. Select the rows
    first: the book passes the Figure 2 runs' pairs
    (``xmodal.report.selection.final_pairs(load_homogeneity(results))``).

    Args:
        pairs: rows of :func:`load_homogeneity`.
    """
    import numpy as np

    from xmodal.analysis.homogeneity import homogeneity_context
    from xmodal.rundir import RunDir

    runs = sorted({str(r) for r in pairs["run_dir_a"]} | {str(r) for r in pairs["run_dir_b"]})
    predictions = {r: RunDir(r).predictions() for r in runs}
    priors = {}
    for r in runs:
        prior = RunDir(r).result().data.get("train_prior")
        if prior is not None:
            priors[r] = np.asarray(prior, dtype=float)
    return homogeneity_context(pairs, predictions, priors)


#: Columns of :func:`load_latent_measures` before the measures of :func:`xmodal.analysis.latent.latent_measures`.
LATENT_KEY_COLUMNS: tuple[str, ...] = (
    "study", "point", "method", "alignment", "seed", "n_train", "alpha", "grl_weight", "steps", "sensors", "run_dir",
)


def _multi_sensor_runs(results: pd.DataFrame) -> list[tuple[pd.Series, Result]]:
    """The finished runs of a results table trained on two or more sensors, each once, with their result."""
    from xmodal.rundir import RunDir

    ok = results[results["status"] == "ok"].drop_duplicates("run_dir")
    out = []
    for _, row in ok.iterrows():
        res = RunDir(row["run_dir"]).read_result()
        if res is not None and res.ok and len(res.modalities) >= 2:
            out.append((row, res))
    return out


def _run_keys(row: pd.Series, res: Result) -> dict[str, Any]:
    cfg = res.config
    epochs = len(res.history) or int(cfg.get("epochs") or 0)
    per_epoch = res.data.get("steps_per_epoch") or cfg.get("steps_per_epoch")
    return {
        "study": row["study"], "point": row["point"], "method": method_of(cfg), "alignment": _alignment_of(cfg),
        "seed": res.seed, "n_train": cfg.get("n_train"), "alpha": cfg.get("alpha"), "grl_weight": cfg.get("grl_weight"),
        "steps": epochs * int(per_epoch) if per_epoch else None, "sensors": "+".join(res.modalities),
        "run_dir": str(row["run_dir"]),
    }


def load_latent_measures(results: pd.DataFrame | str | os.PathLike[str]) -> pd.DataFrame:
    """:func:`xmodal.analysis.latent.latent_measures` of every finished multi-sensor run: one row per run.

    Reads each run's latent vectors (:meth:`xmodal.rundir.RunDir.latents`: the first
    ``n_latent`` test patches of every sensor) and measures how much of the sensor is left in
    the latent space (linear probe, neighbour mixing) and how well the sensors meet there
    (label and same-patch retrieval).

    Args:
        results: a :func:`load_results` table (e.g. only the full-training-set runs,
            :func:`xmodal.report.selection.final_runs`) or a path it accepts.

    Returns:
        :data:`LATENT_KEY_COLUMNS` (``n_train`` the requested size, missing for the whole
        split; ``steps`` the run's optimisation steps; ``sensors`` e.g. ``"s1+s2"``), then
        the numbers of :func:`~xmodal.analysis.latent.latent_measures` with ``k`` =
        :data:`~xmodal.analysis.latent.NEIGHBOURS` neighbours, or fewer when a sensor has fewer
        latents (column ``k``). A run without latents, or with too few of them to measure,
        keeps its row with the measures missing.
    """
    import numpy as np
    import pandas as pd

    from xmodal.analysis.latent import NEIGHBOURS, latent_measures
    from xmodal.rundir import RunDir, RunFolderError

    rows = []
    for row, res in _multi_sensor_runs(_results_table(results)):
        keys = _run_keys(row, res)
        try:
            lat = RunDir(row["run_dir"]).latents()
            fewest = int(np.unique(lat.modality, return_counts=True)[1].min())
            keys.update(latent_measures(lat.z, lat.modality, lat.ids, lat.labels, k=min(NEIGHBOURS, fewest)))
        except (RunFolderError, ValueError):
            pass
        rows.append(keys)
    df = pd.DataFrame(rows)
    for col in LATENT_KEY_COLUMNS:
        if col not in df.columns:
            df[col] = None
    for col in ("seed", "n_train", "steps"):
        df[col] = pd.to_numeric(df[col], errors="coerce").astype("Int64")
    return df[list(LATENT_KEY_COLUMNS) + [c for c in df.columns if c not in LATENT_KEY_COLUMNS]]


def load_histories(results: pd.DataFrame | str | os.PathLike[str]) -> pd.DataFrame:
    """The training history of every finished multi-sensor run: one row per run and epoch.

    Args:
        results: a :func:`load_results` table or a path it accepts.

    Returns:
        :data:`LATENT_KEY_COLUMNS`, ``n_sensors``, ``epoch`` and every key the runs' histories
        hold (``L_C``, ``L_M``, ``L_T``, ``loss``, ``modality_accuracy``, ``probe_accuracy``, ...),
        the epoch's ``grl_weight`` (the scheduled weight at its last step) as ``w``: ``grl_weight``
        is the config's. A key a run did not record (runs older than it) is missing (NaN) in its rows.
    """
    import pandas as pd

    rows = []
    for row, res in _multi_sensor_runs(_results_table(results)):
        keys = {**_run_keys(row, res), "n_sensors": len(res.modalities)}
        for i, entry in enumerate(res.history):
            epoch = {("w" if k == "grl_weight" else k): v for k, v in entry.items() if k != "epoch"}
            rows.append({**keys, "epoch": i + 1, **epoch})
    df = pd.DataFrame(rows)
    for col in (*LATENT_KEY_COLUMNS, "n_sensors", "epoch"):
        if col not in df.columns:
            df[col] = None
    for col in ("seed", "n_train", "steps", "n_sensors", "epoch"):
        df[col] = pd.to_numeric(df[col], errors="coerce").astype("Int64")
    first = [*LATENT_KEY_COLUMNS, "n_sensors", "epoch"]
    return df[first + [c for c in df.columns if c not in first]]


def load_validation(results: pd.DataFrame | str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Every finished run's validation record, as the archive keeps it: what the curves are computed from.

    One dict per run: ``run_dir`` (as the results table names it), ``config`` and ``validation``
    (:attr:`xmodal.rundir.Result.validation`, written by
    :func:`xmodal.training.validation.validation_record`; empty for a run trained without a
    validation split). The form of :attr:`xmodal.archive.Archive.runs`, so
    :func:`xmodal.report.tuning.validation_table` reads live runs and archives alike.

    Args:
        results: a :func:`load_results` table or a path it accepts.
    """
    from xmodal.rundir import RunDir

    df = _results_table(results)
    out = []
    for run_dir in df.loc[df["status"] == "ok", "run_dir"].drop_duplicates():
        res = RunDir(run_dir).read_result()
        if res is not None:
            out.append({"run_dir": str(run_dir), "config": dict(res.config), "validation": dict(res.validation)})
    return out


def summarize(df: pd.DataFrame, by_size: bool = True) -> pd.DataFrame:
    """Mean, standard deviation and count of the scores per method x sensor (x n_train).

    Only finished runs count; the ``n`` column is the number of runs (seeds); see
    :func:`xmodal.analysis.tidy.summary_table`.
    """
    from xmodal.analysis.tidy import summary_table

    return summary_table(df, by_size=by_size)


def export_csv(df: pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Write ``df`` to ``path`` as CSV atomically; returns the path."""
    from xmodal.atomic import write_text

    return write_text(path, df.to_csv(index=False))
