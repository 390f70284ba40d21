"""One run from start to end: :func:`run_experiment` is the single entry point.

It returns a :class:`~xmodal.rundir.Result` and writes the run folder through
:class:`~xmodal.rundir.RunDir`: checks the inputs, builds (or resumes) the network, trains
epoch by epoch with a checkpoint after each, evaluates, and writes the result last.
:func:`train_on_datasets` does the same on datasets already loaded. :func:`identified_config`
is what every entry point (``xmodal train``, ``python -m xmodal.training``, the teaching
helpers; the sweep fills the same field in :mod:`xmodal.sweep`) does to a config before it
trains: check the data root and record what it holds, so the same training lands in the
same run folder whichever way it was started.
"""

from __future__ import annotations

import json
import os
import platform
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from xmodal import atomic
from xmodal.config import ConfigError, ExperimentConfig
from xmodal.rundir import Result, RunDir
from xmodal.training.batches import Inputs, PatchDataset, Streams, batch_per_process
from xmodal.training.checkpoint import ResumeError, make_checkpoint, restore, save_checkpoint
from xmodal.training.evaluation import Evaluation, evaluate_all
from xmodal.training.loop import ProbeSet, TrainState, build_state, probe_due, progress_bar, train_epoch
from xmodal.training.runtime import Dist, check_runtime, runtime_settings
from xmodal.training.validation import ValidationSet, best_epoch, should_stop, validation_record

if TYPE_CHECKING:
    from xmodal.data import Sen12MS

__all__ = ["identified_config", "run_experiment", "train_on_datasets"]


def identified_config(config: ExperimentConfig | Mapping[str, Any], *, hint: str = "") -> ExperimentConfig:
    """The config as every entry point trains it: its data root checked and what it holds recorded.

    ``xmodal train``, ``python -m xmodal.training`` and the teaching helpers call this before
    :func:`run_experiment` (the sweep fills the same field, through the same fingerprint, in
    :func:`xmodal.sweep.check_data`): the data root must be a folder holding the config's
    season (:func:`xmodal.data.check_data_root`), and ``data_fingerprint``
    (:func:`xmodal.fingerprint.check_fingerprint`) enters the run's hash, so the same
    training on the same data gets the same identity, and so the same run folder, whichever
    way it was started.

    Args:
        config: an :class:`~xmodal.config.ExperimentConfig` or a mapping of its keys.
        hint: how to make or pass a data root, appended to the message of a bad root.

    Returns:
        The config with ``data_fingerprint`` filled.

    Raises:
        RootError: the data root is not a folder, lacks the season's folder, or is unreadable
            (:func:`xmodal.fingerprint.inspect_root`).
        ConfigError: an invalid config, or a recorded ``data_fingerprint`` that is not the root's.
    """
    from xmodal.data import check_data_root
    from xmodal.fingerprint import check_fingerprint

    config = _as_config(config)
    check_data_root(config.data_root, season=config.season, hint=hint)
    return config.replace(data_fingerprint=check_fingerprint(config))


def train_size(config: ExperimentConfig, modality: str) -> int | None:
    """How many training patches ``modality`` reads: its ``modality_n_train`` entry, else ``n_train`` (None: all)."""
    return config.modality_n_train.get(modality, config.n_train)


def read_split(config: ExperimentConfig, modality: str, split: str, *, progress: bool = False) -> Sen12MS:
    """One sensor's training or test split, read as every run reads it (the one place that says how).

    Args:
        config: the run's configuration (data keys, ``data_seed``, ``n_train``/``n_test``).
        modality: the sensor.
        split: ``"train"``, ``"val"`` (the validation scenes, with ``val_fraction`` > 0) or ``"test"``.
        progress: show the reader's progress bar while it builds the cache.
    """
    from xmodal.data import Sen12MS

    return Sen12MS(
        config.data_root,
        modality=modality,
        split=split,
        n_samples=train_size(config, modality) if split == "train" else config.n_test,
        season=config.season,
        split_method=config.split,
        test_fraction=config.test_fraction,
        val_fraction=config.val_fraction,
        seed=config.data_seed,
        label_scheme=config.label_scheme,
        patch_size=config.patch_size,
        normalization=config.normalization,
        cache=True,
        cache_dir=config.cache_dir,
        bad_patch=config.bad_patch,
        progress=progress,
        pairing=config.pairing,
        pairing_modalities=list(config.modalities),
    )


def run_experiment(
    config: ExperimentConfig | Mapping[str, Any],
    out_dir: str | os.PathLike,
    *,
    resume: bool = True,
    on_epoch_end: Callable[[dict[str, Any]], None] | None = None,
    test: bool = True,
) -> Result:
    """Train and evaluate one configuration; write its files into ``out_dir``.

    Args:
        config: an :class:`~xmodal.config.ExperimentConfig` or a mapping of its keys.
        out_dir: the run's folder (created).
        resume: if ``out_dir`` holds a finished result of this config, return it
            without training; if it holds a checkpoint of this config, continue
            from it (an unreadable checkpoint is set aside and the run starts
            from scratch, see :mod:`xmodal.training.checkpoint`). ``False``
            starts from scratch and overwrites.
        on_epoch_end: called (on rank 0) with ``{"epoch", "history",
            "out_dir"}`` after each epoch's checkpoint is written; an exception
            raised there stops the run, leaving a resumable checkpoint.
        test: read and score the test split at the end. ``False`` (a tuning trial, whose
            only number is its validation score) never reads a test patch: the result has no
            test metrics and the folder no predictions; it needs ``val_fraction`` > 0.

    Returns:
        The run's :class:`~xmodal.rundir.Result` (also written to the run folder).

    Raises:
        ConfigError: an invalid config or runtime choice, or ``test=False`` without a validation split.
        ResumeError: ``out_dir`` holds a run of a different config (with ``resume=True``).
        xmodal.data.Sen12MSError: missing or corrupt data.
    """
    config = _as_config(config)
    out = Path(out_dir)
    if not test and config.val_fraction == 0.0:
        raise ConfigError("Invalid value for 'val_fraction': 0.0; a run that reads no test patch (test=False) is "
                          "scored on its validation split only, so set val_fraction > 0")
    if resume:
        done = _finished_result(out, config)
        if done is not None:
            return done
    ctx = Dist(config)
    try:
        check_runtime(config, ctx.device)
        from xmodal.data import describe_root

        train_sets, val_sets, test_sets = {}, {}, {}
        if not ctx.main:
            ctx.barrier()  # rank 0 reads first, so only one process builds the data cache
        for m in config.modalities:
            train_sets[m] = read_split(config, m, "train", progress=config.progress and ctx.main)
            if config.val_fraction > 0:
                val_sets[m] = read_split(config, m, "val")
            if test:
                test_sets[m] = read_split(config, m, "test", progress=config.progress and ctx.main)
        if ctx.main:
            ctx.barrier()
        description = describe_root(config.data_root)
        return train_on_datasets(
            config, train_sets, test_sets, out, resume=resume, on_epoch_end=on_epoch_end,
            data_description=description, val_sets=val_sets or None, test=test, _dist=ctx,
        )
    finally:
        ctx.close()


def _finished_result(out: Path, config: ExperimentConfig) -> Result | None:
    """The finished result of ``config`` in ``out``; ``None`` when there is none (or a broken one: train again).

    Raises:
        ResumeError: ``out`` holds a finished run of another config.
    """
    run = RunDir(out)
    result = run.read_result()
    if result is None or not result.ok:
        return None
    if result.config_hash != config.hash():
        raise ResumeError(
            f"{run.result_path} holds a finished run of another config (hash {result.config_hash}, this config "
            f"{config.hash()}); use another out_dir or resume=False to overwrite it"
        )
    return result


def train_on_datasets(
    config: ExperimentConfig | Mapping[str, Any],
    train_sets: Mapping[str, PatchDataset],
    test_sets: Mapping[str, PatchDataset],
    out_dir: str | os.PathLike,
    *,
    resume: bool = True,
    on_epoch_end: Callable[[dict[str, Any]], None] | None = None,
    data_description: Mapping[str, Any] | None = None,
    val_sets: Mapping[str, PatchDataset] | None = None,
    test: bool = True,
    _dist: Dist | None = None,
) -> Result:
    """Train and evaluate on given datasets (what :func:`run_experiment` calls after loading data).

    ``train_sets`` and ``test_sets`` (and ``val_sets``, which a config with ``val_fraction``
    > 0 needs) map every modality of ``config`` to a dataset following the
    :class:`xmodal.data.Sen12MS` contract (:class:`PatchDataset`). The test sets of different
    modalities must list the same patches (``ids``), as must the validation sets; with
    ``test=False`` (:func:`run_experiment`) ``test_sets`` may be empty and are never read. With
    ``pairing: disjoint`` the training sets must share no patch id and (when the ids are SEN12MS patch ids) no scene.

    Returns:
        The run's :class:`~xmodal.rundir.Result` (also written to the run folder).
    """
    config = _as_config(config)
    out = Path(out_dir)
    if resume:
        done = _finished_result(out, config)
        if done is not None:
            return done
    ctx = _dist or Dist(config)
    try:
        return _train_and_evaluate(config, train_sets, val_sets or {}, test_sets if test else {}, out, ctx, resume,
                                   on_epoch_end, data_description)
    finally:
        if _dist is None:
            ctx.close()


def _train_and_evaluate(
    config: ExperimentConfig,
    train_sets: Mapping[str, PatchDataset],
    val_sets: Mapping[str, PatchDataset],
    test_sets: Mapping[str, PatchDataset],
    out: Path,
    ctx: Dist,
    resume: bool,
    on_epoch_end: Callable[[dict[str, Any]], None] | None,
    data_description: Mapping[str, Any] | None,
) -> Result:
    """One run on loaded data: check, build (or resume), train epoch by epoch, evaluate, write.

    After every epoch the validation split is scored (every process scores it, so all take
    the same decision to stop); with ``patience`` training stops when it no longer improves
    and the best epoch's weights are the ones evaluated and kept. Rank 0 writes the run
    folder; under DDP the other processes train along and return rank 0's result.
    """
    inputs = check_inputs(config, train_sets, test_sets, ctx, val_sets, test=bool(test_sets))
    run = RunDir(out)
    t_start = time.perf_counter()
    with runtime_settings(config, ctx.device):
        if ctx.main:
            run.prepare()
            if not resume:
                run.clear_training()
        state = build_state(config, inputs, ctx)
        if resume:
            restore(state, run, config, ctx.device, main=ctx.main)
        model = ctx.wrap(state.net)
        streams = Streams(config, train_sets, ctx)
        probe = ProbeSet.of(val_sets or test_sets, inputs.modalities) if ctx.main else None
        validation = ValidationSet(val_sets, inputs.class_names) if val_sets else None
        bar = progress_bar(config, ctx, state.epoch, streams.steps)
        for epoch in range(state.epoch, config.epochs):
            if should_stop(state.history, config):
                break
            entry = train_epoch(model, state, streams, config, epoch, ctx, bar)
            if probe is not None and probe_due(config, epoch):
                entry.update(probe.measure(state.net, config, ctx.device))
            if validation is not None:
                entry.update(validation.measure(state.net, config, ctx.device))
            state.history.append(entry)
            if config.patience is not None and best_epoch(state.history) == state.epoch:
                state.keep_best()
            if ctx.main:
                save_checkpoint(run, make_checkpoint(config, inputs, state, ctx.device, final=False))
                if on_epoch_end is not None:
                    on_epoch_end({"epoch": state.epoch, "history": list(state.history), "out_dir": str(out)})
            ctx.barrier()
        if bar is not None:
            bar.close()
        if config.patience is not None and state.best_model is not None:
            state.net.load_state_dict(state.best_model)  # the best epoch's weights are the run's
        if not ctx.main:  # rank 0 evaluates and writes; the others wait for its result
            ctx.barrier()
            return run.result()
        evaluation = evaluate_all(state.net, test_sets, config, inputs, ctx.device) if test_sets else None
        data = _data_record(config, train_sets, test_sets, inputs, streams.steps, data_description, val_sets)
        result = _result(config, state, evaluation, data, ctx, time.perf_counter() - t_start)
        _write_outputs(run, evaluation, make_checkpoint(config, inputs, state, ctx.device, final=True), result)
        ctx.barrier()
        return run.result()  # exactly what a later call returns


def _as_config(config: ExperimentConfig | Mapping[str, Any]) -> ExperimentConfig:
    if isinstance(config, ExperimentConfig):
        config.validate()
        return config
    if isinstance(config, Mapping):
        return ExperimentConfig.from_dict(dict(config))
    raise ConfigError(f"run_experiment: config must be an ExperimentConfig or a mapping, got {type(config).__name__}")


def check_inputs(
    config: ExperimentConfig, train_sets: Mapping[str, PatchDataset], test_sets: Mapping[str, PatchDataset],
    ctx: Dist, val_sets: Mapping[str, PatchDataset] | None = None, *, test: bool = True,
) -> Inputs:
    """Check the runtime choice, the datasets and the batch size before anything is written.

    Raises:
        ConfigError: fp16 without CUDA, a modality of the config missing from the
            datasets or with an empty split, validation sets missing (``val_fraction`` > 0) or
            given without it, validation sets of the sensors listing different patches, fewer
            than 2 patches per process and step, or pairing ``"disjoint"`` with training sets
            that share a patch or a scene.
    """
    check_runtime(config, ctx.device)
    mods = list(config.modalities)
    if bool(val_sets) != (config.val_fraction > 0):
        raise ConfigError(
            f"Invalid value for 'val_fraction': {config.val_fraction!r}, but validation sets were "
            f"{'given' if val_sets else 'not given'}; pass val_sets exactly when val_fraction > 0"
        )
    splits = ([("training", train_sets)] + ([("test", test_sets)] if test else [])
              + ([("validation", val_sets)] if val_sets else []))
    for split, sets in splits:
        missing = [m for m in mods if m not in sets]
        if missing:
            raise ConfigError(f"The {split} sets lack modalities {missing} of the config")
    for m in mods:
        for split, sets in splits:
            if len(sets[m]) == 0:
                raise ConfigError(f"The {split} split of modality {m!r} is empty (data_root {config.data_root!r})")
    if val_sets and len({tuple(str(i) for i in val_sets[m].ids) for m in mods}) > 1:
        raise ConfigError(f"The validation sets of {mods} list different patches; every sensor must read the same")
    batch_per_process(config, ctx.world)
    if config.pairing == "disjoint":
        _check_disjoint(train_sets, mods)
    first = train_sets[mods[0]]
    return Inputs(mods, int(first.n_classes), list(first.class_names),
                   {m: int(train_sets[m].in_channels) for m in mods})


def _train_scenes(dataset: PatchDataset) -> set[tuple[str, int]] | None:
    """The scenes of a training set as ``(season folder, scene)``; ``None`` when its ids are not SEN12MS patch ids."""
    from xmodal.data.layout import parse_patch_id

    try:
        keys = [parse_patch_id(str(pid)) for pid in dataset.ids]
    except ValueError:
        return None
    return {(k.season_folder, k.scene) for k in keys}


def _shared(groups: Sequence[set[Any]]) -> set[Any]:
    """The elements in two or more of ``groups``."""
    seen: set[Any] = set()
    shared: set[Any] = set()
    for group in groups:
        shared |= seen & group
        seen |= group
    return shared


def _check_disjoint(train_sets: Mapping[str, PatchDataset], mods: Sequence[str]) -> None:
    """Pairing ``"disjoint"``: no patch and no scene in two modalities' training sets.

    Raises:
        ConfigError: naming the shared patches or scenes.
    """
    patches = _shared([{str(pid) for pid in train_sets[m].ids} for m in mods])
    scenes = [_train_scenes(train_sets[m]) for m in mods]
    places = _shared([s for s in scenes if s is not None]) if all(s is not None for s in scenes) else set()
    if patches or places:
        what = (f"{len(places)} scene(s), e.g. {sorted(places)[:3]}" if places
                else f"{len(patches)} patch(es), e.g. {sorted(patches)[:3]}")
        raise ConfigError(
            f"Invalid value for 'pairing': 'disjoint', but the training sets of {list(mods)} share {what}; give "
            "each modality the patches of scenes of its own (xmodal.data.partition_scenes; run_experiment does)"
        )


def _train_prior(train_sets: Mapping[str, PatchDataset], mods: Sequence[str]) -> np.ndarray:
    """The mean soft label of the run's training patches: every modality's, each patch id once.

    With pairing ``"aligned"`` that is the first modality's training set.
    """
    seen: set[str] = set()
    rows = []
    for m in mods:
        dataset = train_sets[m]
        keep = []
        for j, pid in enumerate(dataset.ids):
            if str(pid) not in seen:
                seen.add(str(pid))
                keep.append(j)
        rows.append(np.asarray(dataset.labels, dtype=np.float64)[keep])
    return np.concatenate(rows).mean(axis=0)


def _scene_count(dataset: PatchDataset) -> int | None:
    """How many scenes a dataset's patches come from (``None`` when its ids are not SEN12MS patch ids)."""
    scenes = _train_scenes(dataset)
    return None if scenes is None else len(scenes)


def _skipped(*datasets: Any) -> list[dict[str, Any]]:
    """The patches the datasets left out (``bad_patch="skip"``), each once, in order.

    Reads :attr:`xmodal.data.Sen12MS.skipped_patches` (``{"patch", "file", "error",
    "reason"}`` dicts); datasets without the attribute skipped nothing.
    """
    entries: dict[str, dict[str, Any]] = {}
    for dataset in datasets:
        for entry in getattr(dataset, "skipped_patches", None) or []:
            value = atomic.jsonable(dict(entry))
            entries.setdefault(json.dumps(value, sort_keys=True), value)
    return list(entries.values())


def _data_record(
    config: ExperimentConfig, train_sets: Mapping[str, PatchDataset], test_sets: Mapping[str, PatchDataset],
    inputs: Inputs, steps: int, description: Mapping[str, Any] | None,
    val_sets: Mapping[str, PatchDataset] | None = None,
) -> dict[str, Any]:
    """:attr:`Result.data <xmodal.rundir.Result.data>`: which data the run saw.

    Beside the sizes, the pairing's record: ``train_scenes`` (modality -> its
    training scenes; ``None`` when the ids are not SEN12MS patch ids),
    ``shared_train_scenes`` (scenes in two or more modalities' training sets: 0
    under ``"disjoint"``) and ``shared_train_patches`` (likewise for patch ids); with a
    validation split, ``n_val`` and ``val_scenes``.
    """
    mods = inputs.modalities
    scenes = {m: _train_scenes(train_sets[m]) for m in mods}
    known = [s for s in scenes.values() if s is not None]
    return {
        "kind": (description or {}).get("kind", "unknown"),
        "root": str(config.data_root),
        "season": config.season,
        "split": config.split,
        "pairing": config.pairing,
        "n_train": {m: len(train_sets[m]) for m in mods},
        "train_scenes": {m: len(s) if s is not None else None for m, s in scenes.items()},
        "shared_train_scenes": len(_shared(known)) if len(known) == len(mods) else None,
        "shared_train_patches": len(_shared([{str(pid) for pid in train_sets[m].ids} for m in mods])),
        "n_test": len(test_sets[mods[0]]) if test_sets else 0,
        "n_val": len(val_sets[mods[0]]) if val_sets else 0,
        "val_scenes": _scene_count(val_sets[mods[0]]) if val_sets else 0,
        "class_names": inputs.class_names,
        "stats": {m: getattr(train_sets[m], "stats", None) for m in mods},
        "steps_per_epoch": steps,
        "skipped": _skipped(*(train_sets[m] for m in mods), *(test_sets[m] for m in mods if m in test_sets)),
        "train_prior": _train_prior(train_sets, mods),
        "description": description,
    }


def _result(
    config: ExperimentConfig, state: TrainState, evaluation: Evaluation | None, data: dict[str, Any], ctx: Dist,
    total_seconds: float,
) -> Result:
    """The run's :class:`~xmodal.rundir.Result` (no test metrics when the test split was not read)."""
    train_seconds = float(sum(h["seconds"] for h in state.history))
    return Result(
        config=config.to_dict(),
        config_hash=config.hash(),
        data=data,
        metrics=evaluation.metrics if evaluation is not None else {},
        homogeneity=evaluation.homogeneity if evaluation is not None else {},
        history=state.history,
        validation=validation_record(state.history, config, int(data["steps_per_epoch"]), _n_val(data, config),
                                     data.get("val_scenes")),
        timings={
            "train_seconds": train_seconds,
            "seconds_per_epoch": train_seconds / max(state.epoch, 1),
            "eval_seconds": evaluation.seconds if evaluation is not None else 0.0,
            "total_seconds": total_seconds,
        },
        versions=_versions(),
        device=str(ctx.device),
        world_size=ctx.world,
    )


def _n_val(data: Mapping[str, Any], config: ExperimentConfig) -> dict[str, int]:
    return {m: int(data.get("n_val") or 0) for m in config.modalities}


def _versions() -> dict[str, str]:
    import torchvision

    try:
        from importlib.metadata import version

        xm = version("xmodal")
    except Exception:  # not installed (running from a source tree)
        xm = "unknown"
    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "numpy": np.__version__,
        "xmodal": xm,
    }


def _write_outputs(
    run: RunDir, evaluation: Evaluation | None, checkpoint: Mapping[str, Any], result: Result
) -> None:
    """Write the run folder: predictions, latents, the final checkpoint, the model record, and the result last."""
    if evaluation is not None:
        run.write_predictions(evaluation.predictions)
        run.write_latents(evaluation.latents)
    save_checkpoint(run, checkpoint)
    run.record_model(result)  # model.json: what inference needs (xmodal.inference); none for in-memory data
    run.write_result(result)

