"""Archives of long profiles: the small results file the book renders when a profile's runs are absent.

A profile that cannot fit in ``make book`` (the ``tuned`` profile's tuning and final runs, the
regime map) runs on its own; :func:`write_archive` then keeps what its pages need in one JSON
file under 1 MB, ``xmodal/archives/<profile>.json``, with the profile, the commit and the date:

- ``results``: the tidy results table of its runs (:func:`xmodal.results.load_results`), and
  ``pairs``: their eq.-(5) homogeneity pairs (:func:`xmodal.results.load_homogeneity`);
- ``predictions``: what the intervals need from the test predictions. The F1 scores (and so the
  test scenes' bootstrap, :func:`xmodal.analysis.bootstrap.scene_se`) depend on a prediction only
  through its positive classes at the paper's threshold (:func:`xmodal.metrics.binarize`), so the
  archive keeps, per run and sensor, one class mask per test patch (deflated: about a character a patch) and the
  test patches' ids and target masks once; :func:`load_archive` rebuilds them as 0/1 arrays whose F1
  equals the run's;
- ``runs``: every run's full config, hash, validation curve and timings (what re-running a point
  from scratch needs, see ``tests/test_archive.py``);
- ``tuning`` (a tuning profile): the search, the tuned settings, every trial and the parameter
  importances; ``calibration`` (a calibration profile): the search's rounds and the chosen knob
  values; ``regime`` (a regime map, whose runs sit in one study folder per world): the grid and
  each world's knob values; ``times``: the measured wall times.

:func:`load_archive` returns an :class:`Archive` whose tables have the shapes the live loaders
give, with ``run_dir`` values ``archive:<profile>/<run folder>``, so the report layer computes the
same intervals from an archive as from runs on disk, and every page labels it as archived.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import json
import math
import os
import platform
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from xmodal import atomic
from xmodal.errors import XmodalError

if TYPE_CHECKING:
    import pandas as pd

    from xmodal.rundir import Predictions

__all__ = [
    "ARCHIVE_DIR",
    "ARCHIVE_SCHEMA",
    "MAX_ARCHIVE_BYTES",
    "Archive",
    "ArchiveError",
    "archive_path",
    "decode_masks",
    "encode_masks",
    "load_archive",
    "write_archive",
]

#: Where the archives ship: inside the package, so an installed xmodal renders them too.
ARCHIVE_DIR = Path(__file__).resolve().parent / "archives"
#: Version of the archive's layout.
ARCHIVE_SCHEMA = 1
#: The size an archive must stay under (it is committed with the project).
MAX_ARCHIVE_BYTES = 1_000_000
#: The prefix of an archived run's ``run_dir``.
ARCHIVE_PREFIX = "archive:"

_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_INDEX = {c: i for i, c in enumerate(_ALPHABET)}
#: The prefix of a deflated class-mask string (:func:`encode_masks` with ``compress``).
_ZLIB_PREFIX = "z:"


class ArchiveError(XmodalError, ValueError):
    """An archive is missing, unreadable, too large or inconsistent; the message names the file."""


def archive_path(profile: str, folder: str | os.PathLike[str] | None = None) -> Path:
    """``<folder>/<profile>.json`` (default folder: :data:`ARCHIVE_DIR`)."""
    return Path(folder or ARCHIVE_DIR) / f"{profile}.json"


# ----------------------------------------------------------------------------- class masks
def encode_masks(mask: np.ndarray, *, compress: bool = False) -> str:
    """Positive classes per row (``[N, C]`` booleans, C <= 12) as two characters a row.

    With ``compress``, the rows' codes are packed as 16-bit integers, deflated and written in
    base64 after the prefix ``"z:"`` (a few classes per patch repeat a lot: about a third of the size).
    """
    m = np.asarray(mask, dtype=bool)
    if m.ndim != 2 or m.shape[1] > 12:
        raise ArchiveError(f"encode_masks needs an [N, C<=12] mask, got shape {m.shape}")
    codes = (m.astype(np.int64) << np.arange(m.shape[1], dtype=np.int64)).sum(axis=1)
    if compress:
        import base64
        import zlib

        packed = zlib.compress(codes.astype("<u2").tobytes(), level=9)
        return _ZLIB_PREFIX + base64.b64encode(packed).decode("ascii")
    return "".join(_ALPHABET[c >> 6] + _ALPHABET[c & 63] for c in codes.tolist())


def decode_masks(text: str, n_classes: int) -> np.ndarray:
    """The ``[N, n_classes]`` 0/1 float32 array :func:`encode_masks` wrote (either form)."""
    if text.startswith(_ZLIB_PREFIX):
        import base64
        import binascii
        import zlib

        try:
            raw = zlib.decompress(base64.b64decode(text[len(_ZLIB_PREFIX):], validate=True))
        except (binascii.Error, zlib.error) as exc:
            raise ArchiveError(f"A compressed class-mask string cannot be read ({exc})") from None
        codes = np.frombuffer(raw, dtype="<u2").astype(np.int64)
        return ((codes[:, None] >> np.arange(n_classes)) & 1).astype(np.float32)
    if len(text) % 2:
        raise ArchiveError(f"A class-mask string has an odd length ({len(text)})")
    try:
        codes = np.array([(_INDEX[text[i]] << 6) | _INDEX[text[i + 1]] for i in range(0, len(text), 2)],
                         dtype=np.int64)
    except KeyError as exc:
        raise ArchiveError(f"A class-mask string holds {exc.args[0]!r}, not a mask character") from None
    return ((codes[:, None] >> np.arange(n_classes)) & 1).astype(np.float32)


# ----------------------------------------------------------------------------- writing
def _git_commit(where: Path) -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=where, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.stdout.strip() if out.returncode == 0 and out.stdout.strip() else "unknown"


def _records(df: pd.DataFrame, profile: str, study_path: Path) -> list[dict[str, Any]]:
    out = []
    for r in df.to_dict(orient="records"):
        r = {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in r.items()}
        if r.get("run_dir"):
            r["run_dir"] = _archived_dir(profile, Path(str(r["run_dir"])), study_path)
        for key in ("run_dir_a", "run_dir_b"):
            if r.get(key):
                r[key] = _archived_dir(profile, Path(str(r[key])), study_path)
        out.append(atomic.jsonable(r))
    return out


def _archived_dir(profile: str, run_dir: Path, study_path: Path) -> str:
    try:
        rel = run_dir.resolve().relative_to(study_path.resolve())
    except ValueError:
        rel = Path(run_dir.name)
    return f"{ARCHIVE_PREFIX}{profile}/{rel.as_posix()}"


def _prediction_masks(predictions: Mapping[str, Predictions], profile: str, study_path: Path) -> dict[str, Any]:
    """The test patches' ids and target masks once, and each run's and sensor's predicted masks."""
    from xmodal.metrics import F1_THRESHOLD, binarize

    ids: list[str] | None = None
    target: str | None = None
    classes: list[str] | None = None
    runs: dict[str, dict[str, str]] = {}
    for run_dir, pred in sorted(predictions.items()):
        key = _archived_dir(profile, Path(run_dir), study_path)
        runs[key] = {}
        for m in pred.modalities:
            order = np.argsort(pred.ids[m], kind="stable")
            these = [str(i) for i in np.asarray(pred.ids[m])[order]]
            t = encode_masks(binarize(pred.target[m][order], F1_THRESHOLD))
            if ids is None:
                ids, target, classes = these, t, list(pred.class_names)
            elif these != ids or t != target:
                raise ArchiveError(f"Run {run_dir} was tested on other patches than the profile's first run: an "
                                   "archive keeps one test set")
            runs[key][m] = encode_masks(binarize(pred.prob[m][order], F1_THRESHOLD), compress=True)
    return {"threshold": F1_THRESHOLD, "class_names": classes or [], "ids": ids or [], "target": target or "",
            "runs": runs}


def write_archive(
    profile: str,
    runs_dir: str | os.PathLike[str] = "runs",
    *,
    out: str | os.PathLike[str] | None = None,
    commit: str | None = None,
    date: str | None = None,
    tuning_folder: str | os.PathLike[str] | None = None,
) -> Path:
    """Archive a finished profile's runs (and its tuning, if it was tuned) into one JSON file.

    Args:
        profile: the profile's name (its runs are ``<runs_dir>/<profile>``).
        runs_dir: the folder holding the study folders.
        out: the archive's folder (default :data:`ARCHIVE_DIR`).
        commit: the commit the runs were made with (default: ``git rev-parse HEAD`` of the package's tree).
        date: the day the archive is written (default: today, UTC).
        tuning_folder: the tuning folder (default ``<runs_dir>/<profile>-tuning`` when it exists).

    Returns:
        The archive's path.

    Raises:
        ArchiveError: the profile has no finished run, its runs saw several test sets, or the
            archive would not stay under :data:`MAX_ARCHIVE_BYTES`.
    """
    import pandas as pd

    from xmodal.results import load_predictions, load_results, study_dir
    from xmodal.rundir import RunDir

    path = study_dir(runs_dir, profile)
    tuning = Path(tuning_folder) if tuning_folder else Path(runs_dir) / f"{profile}-tuning"
    worlds = _worlds(path)
    if worlds is None:
        results = load_results(path)
    else:  # a regime map: one study folder per world under the profile's folder
        found = [path / name for name in worlds if (path / name).is_dir()]
        if not found:
            raise ArchiveError(f"Regime {profile!r} in {path} has no world folder ({sorted(worlds)})")
        results = pd.concat([load_results(f) for f in found], ignore_index=True)
    ok = results[results["status"] == "ok"]
    if not len(ok):
        raise ArchiveError(f"Study {profile!r} in {path} has no finished run to archive")
    runs = []
    for run_dir in ok["run_dir"].drop_duplicates():
        res = RunDir(run_dir).result()
        metrics = atomic.jsonable(res.metrics)
        validation = atomic.jsonable(res.validation)
        if worlds is not None:  # a regime map's many runs: no per-class scores, each epoch's scores to 4 decimals
            metrics = {m: {k: v for k, v in d.items() if k not in ("per_class", "support")} for m, d in metrics.items()}
            curve = validation.get("curve", [])
            validation = {**{k: validation.get(k) for k in ("metric", "best_epoch", "epochs_trained", "weights")},
                          "scores": [_rounded(p.get("score"), 4) for p in curve],
                          "f1_weighted": {m: [_rounded((p.get("f1_weighted") or {}).get(m), 4) for p in curve]
                                          for m in res.config.get("modalities", [])}}
        runs.append({"run_dir": _archived_dir(profile, Path(run_dir), path), "config": atomic.jsonable(res.config),
                     "config_hash": res.config_hash, "metrics": metrics,
                     "homogeneity": atomic.jsonable(res.homogeneity),
                     "validation": validation, "timings": atomic.jsonable(res.timings),
                     "data": {k: res.data.get(k) for k in ("kind", "n_train", "n_val", "n_test", "val_scenes")},
                     "versions": res.versions})
    spec = _spec(profile, path, tuning)
    archive: dict[str, Any] = {
        "schema": ARCHIVE_SCHEMA,
        "profile": profile,
        "commit": commit or _git_commit(Path(__file__).resolve().parent),
        "date": date or _dt.datetime.now(_dt.timezone.utc).date().isoformat(),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
        "data": {"kind": str(ok["data_kind"].iloc[0]), "fingerprint": runs[0]["config"].get("data_fingerprint"),
                 "spec": spec["data"]},
        "spec": {k: spec.get(k) for k in ("name", "description", "extends", "data", "base", "seeds", "runs", "tuning",
                                          "calibration", "regime")},
        "results": _records(results, profile, path),
        "pairs": _records(_pairs(results, spec, worlds), profile, path),
        "predictions": _prediction_masks(load_predictions(results), profile, path),
        "runs": runs,
        "times": _times(path, tuning),
    }
    if spec.get("tuning") and tuning.is_dir():
        archive["tuning"] = _tuning_record(spec, tuning)
    calibration = Path(runs_dir) / f"{profile}-calibration" / "search.json"
    if spec.get("calibration") and calibration.exists():
        archive["calibration"] = _calibration_record(json.loads(calibration.read_text()))
    if worlds is not None:
        meta = json.loads((path / "regime-spec.json").read_text())
        archive["regime"] = {"spec": meta["regime"], "worlds": worlds}
        times = path / "regime-times.json"
        if times.exists():
            archive["times"]["regime"] = json.loads(times.read_text())
    text = json.dumps(atomic.jsonable(archive), separators=(",", ":"), sort_keys=False)
    if len(text.encode()) >= MAX_ARCHIVE_BYTES:
        raise ArchiveError(f"The archive of {profile!r} would take {len(text.encode()):,} bytes, over the "
                           f"{MAX_ARCHIVE_BYTES:,} an archive may take")
    target = archive_path(profile, out)
    target.parent.mkdir(parents=True, exist_ok=True)
    atomic.write_text(target, text + "\n")
    return target


def _pairs(results: pd.DataFrame, spec: Mapping[str, Any], worlds: Mapping[str, Any] | None) -> pd.DataFrame:
    """The homogeneity pairs: every joint run's and, for a regime map, every cell's pair of Baselines.

    The Baselines' homogeneity needs their predicted probabilities, which the archive does not keep
    (only the class masks), so it is computed here, per cell (:func:`xmodal.analysis.regime.cell_baseline_pairs`).
    """
    import pandas as pd

    from xmodal.results import load_homogeneity

    if worlds is None:
        return load_homogeneity(results)
    from xmodal.analysis.homogeneity import baseline_homogeneity
    from xmodal.analysis.regime import cell_baseline_pairs
    from xmodal.results import load_predictions
    from xmodal.worlds.regime import cell_axes, regime_cells

    joint = load_homogeneity(results[results["method"] != "baseline"])
    cells = regime_cells(results, spec)
    bp = cell_baseline_pairs(cells, cell_axes(spec))
    base = baseline_homogeneity(bp, load_predictions(results[results["method"] == "baseline"]))
    base["n_train"] = pd.to_numeric(base["n_train"], errors="coerce").astype("Int64")
    return pd.concat([joint, base], ignore_index=True)


def _rounded(obj: Any, digits: int = 6) -> Any:
    """``obj`` with every float rounded to ``digits`` decimals (a validation curve's scores)."""
    if isinstance(obj, float):
        return round(obj, digits)
    if isinstance(obj, dict):
        return {k: _rounded(v, digits) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_rounded(v, digits) for v in obj]
    return obj


def _worlds(path: Path) -> dict[str, Any] | None:
    """A regime map's worlds (name -> knob values) from its ``regime-spec.json``; None for another profile."""
    meta = path / "regime-spec.json"
    return dict(json.loads(meta.read_text())["worlds"]) if meta.exists() else None


def _calibration_record(search: Mapping[str, Any]) -> dict[str, Any]:
    """A calibration's search as the archive keeps it: the block, every round's values and scores, the choice."""
    keep = ("profile", "spec", "base_params", "chosen", "converged", "stopped", "search_seconds")
    rounds = [{k: r[k] for k in ("round", "values", "scores", "seconds")} for r in search.get("rounds", [])]
    return {**{k: search.get(k) for k in keep}, "rounds": rounds}


def _spec(profile: str, study_path: Path, tuning: Path) -> dict[str, Any]:
    """The spec the runs were made with: the tuning's (with its ``tuning`` block), else the sweep's or the profile's."""
    from xmodal.rundir import study_meta_path
    from xmodal.sweep.spec import load_study

    for path in (tuning / "tuning-spec.json", study_meta_path(study_path)):
        if path.exists():
            obj = json.loads(path.read_text())
            return dict(obj.get("spec", obj) if path.name == "tuning-spec.json" else obj)
    return load_study(profile)


def _times(study_path: Path, tuning: Path) -> dict[str, Any]:
    """The measured wall times: the final sweep's (``sweep-times.json``) and the tuning's."""
    out: dict[str, Any] = {}
    for name, path in (("sweep", study_path / "sweep-times.json"), ("tuning", tuning / "tuning-times.json")):
        if path.exists():
            try:
                out[name] = json.loads(path.read_text())
            except (OSError, ValueError):
                continue
    return out


def _tuning_record(spec: Mapping[str, Any], folder: Path) -> dict[str, Any]:
    """The search, the tuned settings, every trial (with its validation curve) and the parameter importances."""
    import optuna

    from xmodal.tuning import default_storage, read_settings, tuning_spec
    from xmodal.tuning.runner import _storage

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    meta = json.loads((folder / "tuning-spec.json").read_text()) if (folder / "tuning-spec.json").exists() else {}
    url = meta.get("storage") or default_storage(folder)
    storage = _storage(url, shared=False)
    settings = read_settings(folder) or {}
    trials: list[dict[str, Any]] = []
    importance: dict[str, dict[str, float]] = {}
    for key in settings:
        study = optuna.load_study(study_name=f"{spec['name']}/{key}", storage=storage)
        for t in study.get_trials(deepcopy=False):
            if t.user_attrs.get("stale"):
                continue
            trials.append({"model": key, "number": t.number, "state": t.state.name,
                           "value": None if t.value is None or math.isnan(t.value) else float(t.value),
                           "params": dict(t.params), "epochs_trained": t.user_attrs.get("epochs_trained"),
                           "best_epoch": t.user_attrs.get("best_epoch"),
                           "curve": [float(v) for _, v in sorted(t.intermediate_values.items())],
                           "seconds": (t.datetime_complete - t.datetime_start).total_seconds()
                           if t.datetime_complete and t.datetime_start else None})
        complete = [t for t in study.get_trials(deepcopy=False) if t.state.name == "COMPLETE"]
        if len(complete) >= 2 and len(complete[0].params) >= 2:
            try:
                imp = optuna.importance.get_param_importances(
                    study, evaluator=optuna.importance.FanovaImportanceEvaluator(seed=0))
            except (RuntimeError, ValueError):  # e.g. every trial scored the same: nothing to apportion
                continue
            importance[key] = {k: float(v) for k, v in imp.items()}
    return {"spec": tuning_spec(spec).to_dict(), "settings": settings, "trials": trials, "importance": importance,
            "storage": Path(url.split("///", 1)[-1]).name if url.startswith("sqlite") else "shared"}


# ----------------------------------------------------------------------------- reading
@dataclasses.dataclass(frozen=True)
class Archive:
    """A loaded archive: the tables the pages use, and what the archive says of itself.

    Attributes:
        profile, commit, date: what made it and when.
        results: the tidy results table (:data:`xmodal.results.RESULT_COLUMNS`).
        pairs: the homogeneity pairs (:data:`xmodal.analysis.homogeneity.PAIR_COLUMNS`).
        predictions: ``run_dir`` -> its test predictions as 0/1 class masks (F1 as the run's).
        runs: every run's config, hash, metrics, validation record and timings.
        tuning: the tuning record (``None`` for a profile that was not tuned).
        calibration: a calibration's search (``None`` for another profile): its block, rounds and choice.
        regime: a regime map's block and worlds (world study name -> knob values; ``None`` otherwise).
        times: the measured wall times.
        meta: everything else (machine, data, spec).
        path: the file read.
    """

    profile: str
    commit: str
    date: str
    results: pd.DataFrame
    pairs: pd.DataFrame
    predictions: dict[str, Predictions]
    runs: list[dict[str, Any]]
    tuning: dict[str, Any] | None
    times: dict[str, Any]
    meta: dict[str, Any]
    path: Path
    calibration: dict[str, Any] | None = None
    regime: dict[str, Any] | None = None

    @property
    def label(self) -> str:
        """How a page names it: ``"archived results of profile 'tuned' (commit abc1234, 2026-12-03)"``."""
        return f"archived results of profile {self.profile!r} (commit {self.commit[:7]}, {self.date})"

    def run(self, run_dir: str) -> dict[str, Any]:
        """The archived record of one run (by its ``run_dir``)."""
        for r in self.runs:
            if r["run_dir"] == run_dir:
                return r
        raise ArchiveError(f"{self.path}: no archived run {run_dir!r}")


def load_archive(profile: str, folder: str | os.PathLike[str] | None = None) -> Archive:
    """Read ``<folder>/<profile>.json`` (see the module docstring).

    Raises:
        ArchiveError: no such archive, or one that cannot be read (the message names the file).
    """
    import pandas as pd

    from xmodal.results import RESULT_COLUMNS
    from xmodal.rundir import Predictions

    path = archive_path(profile, folder)
    if not path.exists():
        raise ArchiveError(f"No archive of profile {profile!r}: {path} does not exist (`xmodal archive --study "
                           f"{profile}` writes it from the profile's runs)")
    try:
        obj = json.loads(path.read_text())
        if obj.get("schema") != ARCHIVE_SCHEMA:
            raise ArchiveError(f"{path} has archive schema {obj.get('schema')!r}; this xmodal reads {ARCHIVE_SCHEMA}")
        results = pd.DataFrame(obj["results"], columns=list(RESULT_COLUMNS))
        for col in ("macro", "weighted", "micro", "homogeneity", "seconds"):
            results[col] = pd.to_numeric(results[col], errors="coerce")
        for col in ("n_train", "n_train_requested", "n_test", "seed", "epochs", "patch_size"):
            results[col] = pd.to_numeric(results[col], errors="coerce").astype("Int64")
        pairs = pd.DataFrame(obj["pairs"])
        for col in ("n_train", "seed", "n_pairs"):
            if col in pairs:
                pairs[col] = pd.to_numeric(pairs[col], errors="coerce").astype("Int64")
        if "homogeneity" in pairs:
            pairs["homogeneity"] = pd.to_numeric(pairs["homogeneity"], errors="coerce")
        p = obj["predictions"]
        n_classes = len(p["class_names"])
        ids = np.array(p["ids"], dtype=str)
        target = decode_masks(p["target"], n_classes)
        predictions = {}
        for run_dir, by_sensor in p["runs"].items():
            mods = list(by_sensor)
            predictions[run_dir] = Predictions(
                modalities=mods, class_names=list(p["class_names"]), ids={m: ids for m in mods},
                target={m: target for m in mods}, prob={m: decode_masks(by_sensor[m], n_classes) for m in mods})
    except (OSError, ValueError, KeyError, TypeError) as exc:
        if isinstance(exc, ArchiveError):
            raise
        raise ArchiveError(f"{path} cannot be read as an archive ({type(exc).__name__}: {exc})") from None
    return Archive(profile=obj["profile"], commit=obj.get("commit", "unknown"), date=obj.get("date", "unknown"),
                   results=results, pairs=pairs, predictions=predictions, runs=list(obj["runs"]),
                   tuning=obj.get("tuning"), times=dict(obj.get("times") or {}),
                   meta={k: obj.get(k) for k in ("machine", "data", "spec")}, path=path,
                   calibration=obj.get("calibration"), regime=obj.get("regime"))
