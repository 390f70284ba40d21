"""Equal tuning with Optuna: every model of a profile, the same trials, then its final runs.

:func:`tune` runs a profile with a ``tuning`` block (:mod:`xmodal.tuning.space`) in two steps:

1. **Trials.** One Optuna study per model of the profile's ``runs`` (a method on its sensors),
   named ``<profile>/<model>``, in Optuna's storage: by default a SQLite file beside the
   study's runs (``<runs>/<profile>-tuning/tuning.sqlite3``); ``storage`` takes any Optuna
   storage URL, so workers on several machines share one tuning study Optuna's own way. Every
   model gets the same number of finished trials (complete, pruned or failed). A trial samples
   the model's parameters (TPE, seeded), trains them with the profile's base settings on the
   training scenes, reports the validation score (:func:`xmodal.training.validation_score`)
   after every epoch to the median pruner, and returns the best validation score of its run
   (early stopping with the profile's ``patience``); it never reads a test patch. Each trial is
   a run folder like any other (``<runs>/<profile>-tuning/trials/<model>-<config hash>``), so a
   trial killed mid-run resumes
   from its checkpoint: trials left ``RUNNING`` by a killed tuner are failed and their
   parameters enqueued again (at once for the local SQLite file, which one tuner owns; after
   Optuna's heartbeat grace period for a shared ``storage``). The sampler of trial ``k`` is
   seeded by ``sampler_seed`` and ``k``, so an interrupted tuning proposes what an
   uninterrupted one would.
2. **Final runs.** Each model's best trial's parameters (``tuned-settings.json``) are set on
   its group of ``runs``, and the profile's seeds run through :func:`xmodal.sweep.run_sweep`
   into ``<runs>/<profile>/``: the same folders, resume and error records as any study.

Nothing here reads a test scene: the trials' only number is their validation score.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from xmodal import atomic
from xmodal.config import ExperimentConfig
from xmodal.sweep import StudyPoint, grid, resolve_study, run_sweep
from xmodal.sweep.checks import check_data, missing_root_hint
from xmodal.sweep.grid import resolve_data_root, with_fingerprints
from xmodal.tuning.space import TuningError, TuningSpec, method_space, tuning_spec

__all__ = [
    "SETTINGS_FILE",
    "Model",
    "default_storage",
    "final_spec",
    "models_of",
    "read_settings",
    "tune",
    "tuning_dir",
]

#: The tuned settings of every model, beside the trials (what the final runs use).
SETTINGS_FILE = "tuned-settings.json"
#: How long the trials and the final runs took (wall seconds), beside the trials.
TIMES_FILE = "tuning-times.json"


def tuning_dir(runs_dir: str | os.PathLike[str], study: str) -> Path:
    """``<runs>/<study>-tuning``: the storage file, the trials' run folders, the tuned settings."""
    return Path(runs_dir).resolve() / f"{study}-tuning"


def default_storage(folder: Path) -> str:
    """The SQLite storage URL of a tuning folder."""
    return f"sqlite:///{folder / 'tuning.sqlite3'}"


@dataclasses.dataclass(frozen=True)
class Model:
    """One tuned model: a group of the profile's runs on one set of sensors.

    Attributes:
        key: the point name without its seed, e.g. ``"baseline-s1-nall"`` (names the Optuna study).
        config: the first seed's config (the trials replace its seed and searched keys).
    """

    key: str
    config: ExperimentConfig

    @property
    def method(self) -> str:
        """The model's method."""
        return self.config.method


def models_of(points: Sequence[StudyPoint]) -> list[Model]:
    """The models of a profile's points: one per point name without its seed, in the spec's order."""
    seen: dict[str, Model] = {}
    for p in points:
        key = p.name.rsplit("-seed", 1)[0]
        seen.setdefault(key, Model(key, p.config))
    return list(seen.values())


# ----------------------------------------------------------------------------- Optuna
def _storage(url: str, shared: bool) -> Any:
    """Optuna's RDB storage: a patient SQLite connection; heartbeats when workers may be elsewhere."""
    import optuna
    from optuna.storages import RDBStorage, RetryFailedTrialCallback

    kwargs: dict[str, Any] = {}
    if url.startswith("sqlite"):
        kwargs["engine_kwargs"] = {"connect_args": {"timeout": 120}}
    if shared:
        kwargs.update(heartbeat_interval=30, grace_period=180,
                      failed_trial_callback=RetryFailedTrialCallback(max_retry=3))
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return RDBStorage(url, **kwargs)


_STALE = "stale"


def _spent(trials: Sequence[Any]) -> int:
    """Finished trials that count against the budget: complete, pruned, or failed (not a killed tuner's)."""
    from optuna.trial import TrialState

    return sum(1 for t in trials if t.state in (TrialState.COMPLETE, TrialState.PRUNED)
               or (t.state == TrialState.FAIL and not t.user_attrs.get(_STALE)))


def _retry_stale(study: Any, storage: Any) -> int:
    """Fail the trials a killed tuner left ``RUNNING`` and enqueue their parameters again (local storage)."""
    from optuna.trial import TrialState

    stale = [t for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))]
    for t in stale:
        storage.set_trial_user_attr(t._trial_id, _STALE, True)
        storage.set_trial_state_values(t._trial_id, TrialState.FAIL)
        study.enqueue_trial(dict(t.params), user_attrs={"retry_of": t.number})
    return len(stale)


def _tune_model(
    study_name: str, model: Model, tuning: dict[str, Any], storage_url: str, shared: bool, trials_dir: str,
) -> dict[str, Any]:
    """Run one model's trials until its budget is spent (in a worker process). Returns its summary."""
    import optuna

    spec = _tuning_from_dict(tuning)
    storage = _storage(storage_url, shared)
    name = f"{study_name}/{model.key}"
    study = optuna.create_study(study_name=name, storage=storage, direction="maximize", load_if_exists=True)
    if not shared:
        _retry_stale(study, storage)
    params = method_space(spec, model.method)
    base = model.config.to_dict()
    t0 = time.perf_counter()

    def objective(trial: optuna.Trial) -> float:
        from xmodal.training import run_experiment

        values = {p.name: p.suggest(trial) for p in params}
        config = ExperimentConfig.from_dict({**base, **values, "seed": spec.seed, "progress": False})
        out = Path(trials_dir) / f"{model.key}-{config.hash()}"
        trial.set_user_attr("run_dir", out.name)

        def report(info: Mapping[str, Any]) -> None:
            entry = info["history"][-1]
            score = float(entry.get("val_score", math.nan))
            trial.set_user_attr("epochs_trained", int(info["epoch"]))
            if not math.isnan(score):
                trial.report(score, int(info["epoch"]))
                if trial.should_prune():
                    raise optuna.TrialPruned(f"validation score {score:.3f} after epoch {info['epoch']}")

        result = run_experiment(config, out, on_epoch_end=report, test=False)  # a trial reads no test patch
        record = result.validation
        trial.set_user_attr("epochs_trained", int(record.get("epochs_trained") or 0))
        trial.set_user_attr("best_epoch", record.get("best_epoch"))
        trial.set_user_attr("best_step", record.get("best_step"))
        best = record.get("best_score")
        return math.nan if best is None else float(best)

    while _spent(study.get_trials(deepcopy=False)) < spec.trials:
        number = len(study.get_trials(deepcopy=False))
        sampler = optuna.samplers.TPESampler(seed=spec.sampler_seed * 100_003 + number,
                                             n_startup_trials=spec.startup_trials)
        pruner = optuna.pruners.MedianPruner(n_startup_trials=spec.pruner_startup_trials,
                                             n_warmup_steps=spec.pruner_warmup_epochs)
        study = optuna.load_study(study_name=name, storage=storage, sampler=sampler, pruner=pruner)
        study.optimize(objective, n_trials=1, catch=(ArithmeticError, ValueError, RuntimeError))
    return {"model": model.key, "seconds": time.perf_counter() - t0}


def _tuning_from_dict(obj: Mapping[str, Any]) -> TuningSpec:
    from xmodal.tuning.space import Param

    space = {g: tuple(Param(**{**p, "choices": tuple(p["choices"]) if p.get("choices") is not None else None})
                      for p in ps) for g, ps in obj["space"].items()}
    return TuningSpec(**{**obj, "space": space})


# ----------------------------------------------------------------------------- settings and final runs
def _settings(study_name: str, models: Sequence[Model], storage_url: str, shared: bool) -> dict[str, Any]:
    """Every model's best trial: parameters, validation score, stopping epoch, and its trial counts."""
    import optuna
    from optuna.trial import TrialState

    storage = _storage(storage_url, shared)
    out: dict[str, Any] = {}
    for model in models:
        study = optuna.load_study(study_name=f"{study_name}/{model.key}", storage=storage)
        trials = study.get_trials(deepcopy=False)
        complete = [t for t in trials if t.state == TrialState.COMPLETE and t.value is not None
                    and not math.isnan(t.value)]
        if not complete:
            raise TuningError(f"Model {model.key} of study {study_name!r} has no complete trial; see its trials in "
                              f"{storage_url}")
        best = max(complete, key=lambda t: (t.value, -t.number))  # the earliest of equal scores
        out[model.key] = {
            "method": model.method,
            "modalities": list(model.config.modalities),
            "params": dict(best.params),
            "value": float(best.value or 0.0),
            "trial": best.number,
            "best_epoch": best.user_attrs.get("best_epoch"),
            "best_step": best.user_attrs.get("best_step"),
            "counts": {s: sum(1 for t in trials if t.state.name == s and not t.user_attrs.get(_STALE))
                       for s in ("COMPLETE", "PRUNED", "FAIL")},
        }
    return out


def read_settings(folder: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The tuned settings a tuning folder holds (``None`` before the trials have finished)."""
    path = Path(folder) / SETTINGS_FILE
    if not path.exists():
        return None
    return dict(json.loads(path.read_text()))


def final_spec(spec: Mapping[str, Any], settings: Mapping[str, Any], models: Sequence[Model]) -> dict[str, Any]:
    """The profile's spec with every model's tuned parameters set on its own group of runs.

    A group that expands to several models (the Baselines on S1 and on S2) becomes one group per model.
    """
    by_mods = {(m.method, tuple(m.config.modalities)): m for m in models}
    runs = []
    for group in spec["runs"]:
        method = group["method"]
        mods_list = group.get("modalities")
        if mods_list is None:
            mods_list = [spec["base"].get("modalities") or ExperimentConfig().modalities]
        elif all(isinstance(m, str) for m in mods_list):
            mods_list = [mods_list] if method != "baseline" else [[m] for m in mods_list]
        for mods in mods_list:
            model = by_mods[(method, tuple(mods))]
            runs.append({**group, "modalities": [list(mods)],
                         "set": {**dict(group.get("set") or {}), **settings[model.key]["params"]}})
    return {**{k: v for k, v in spec.items() if k != "tuning"}, "runs": runs}


def tune(
    study: str | os.PathLike[str] | Mapping[str, Any],
    *,
    data_root: str | os.PathLike[str] | None = None,
    runs_dir: str | os.PathLike[str] = "runs",
    storage: str | None = None,
    jobs: int = 1,
    trials_only: bool = False,
    progress: bool = True,
) -> int:
    """Tune every model of a profile with the same budget, then run its final seeds (see the module docstring).

    Args:
        study: a tuning profile's name (``tuned``), a study YAML's path or a spec.
        data_root: the SEN12MS root to use instead of the profile's ``data.root``.
        runs_dir: the folder holding the study folders.
        storage: an Optuna storage URL shared by tuners on several machines (default: the
            SQLite file of :func:`default_storage`).
        jobs: models tuned at once (each in its own process), and points of the final sweep.
        trials_only: stop after the trials and the tuned settings (skip the final runs).
        progress: print what is done.

    Returns:
        The final sweep's exit code (0 when every run finished).

    Raises:
        TuningError: no ``tuning`` block or a bad one; StudyError, ConfigError: a bad profile;
        xmodal.data.Sen12MSError: the data root is missing or malformed (before anything runs).
    """
    if jobs < 1:
        raise TuningError(f"Invalid value for --jobs: {jobs!r}; must be >= 1")
    spec, folder = resolve_study(study)
    assert spec is not None
    tuning = tuning_spec(spec)
    if not spec["base"].get("val_fraction"):
        raise TuningError(f"Study {spec['name']!r}: tuning chooses on validation scenes; set base.val_fraction > 0")
    root = resolve_data_root(spec, data_root)
    points = grid(spec, data_root=root, jobs=jobs, fingerprints=False)
    roots = check_data(points, hint=missing_root_hint(spec, data_root is not None),
                       name="--data" if data_root is not None else f"data root of study {folder!r}")
    points = with_fingerprints(points, roots)
    models = models_of(points)
    tdir = tuning_dir(runs_dir, folder)
    (tdir / "trials").mkdir(parents=True, exist_ok=True)
    url = storage or default_storage(tdir)
    shared = storage is not None
    atomic.write_json(tdir / "tuning-spec.json", {"spec": spec, "tuning": tuning.to_dict(), "storage": url})
    order = sorted(models, key=lambda m: -len(m.config.losses) * len(m.config.modalities))  # long ones first
    t0 = time.perf_counter()
    args = [(spec["name"], m, tuning.to_dict(), url, shared, str(tdir / "trials")) for m in order]
    _storage(url, shared)  # create the tables once, before the workers race to
    if jobs == 1:
        done = [_tune_model(*a) for a in args]
    else:
        import multiprocessing

        with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
            done = list(pool.map(_tune_model, *zip(*args, strict=True)))
    trial_seconds = time.perf_counter() - t0
    settings = _settings(spec["name"], models, url, shared)
    atomic.write_json(tdir / SETTINGS_FILE, settings)
    if progress:
        for key, s in settings.items():
            print(f"{key}: validation {s['value']:.3f} at step {s['best_step']} with {s['params']} "
                  f"({s['counts']['COMPLETE']} complete, {s['counts']['PRUNED']} pruned, {s['counts']['FAIL']} failed)")
    times = {"trials_seconds": trial_seconds, "models": {d["model"]: d["seconds"] for d in done}, "jobs": jobs}
    if trials_only:
        atomic.write_json(tdir / TIMES_FILE, times)
        return 0
    t1 = time.perf_counter()
    code = run_sweep(final_spec(spec, settings, models), jobs=jobs, data_root=root, runs_dir=runs_dir,
                     progress=progress)
    times["final_seconds"] = time.perf_counter() - t1
    atomic.write_json(tdir / TIMES_FILE, times)
    return code
