"""The experiment notebook: where it is, and what it calls besides training.

``experiment.ipynb``, the one template every point of a sweep runs, ships inside the
package (``xmodal/sweep/experiment.ipynb``, package data), so an installed ``xmodal``
runs sweeps without a checkout; ``notebooks/experiment.ipynb`` in the repository is a
link to it, for readers. The notebook stays thin: it checks its parameters
(:func:`xmodal.sweep.check_parameters`), shows one batch and the losses of the first
training step (:func:`first_step`, :func:`loss_terms`) before the long run, trains
(:func:`xmodal.train.run_experiment`) and shows a few aligned test patches
(:func:`aligned_examples`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from xmodal.config import ExperimentConfig
from xmodal.rundir import RunDir
from xmodal.sweep.spec import StudyError

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "NOTEBOOK_ENV", "NOTEBOOK_NAME", "PACKAGED_NOTEBOOK",
    "aligned_examples", "first_step", "loss_terms", "notebook_path",
]

#: File name of the experiment notebook (in the package folder ``xmodal/sweep/``).
NOTEBOOK_NAME: Final[str] = "experiment.ipynb"
#: Environment variable naming another experiment notebook to run instead of the packaged one.
NOTEBOOK_ENV: Final[str] = "XMODAL_NOTEBOOK"
#: The notebook shipped with the package.
PACKAGED_NOTEBOOK: Final[Path] = Path(__file__).resolve().parent / NOTEBOOK_NAME


def notebook_path(notebook: str | os.PathLike[str] | None = None) -> Path:
    """Locate ``experiment.ipynb``, the one notebook every point runs.

    Looks at, in order: the ``notebook`` argument, ``$XMODAL_NOTEBOOK``, and the
    notebook shipped in the package (:data:`PACKAGED_NOTEBOOK`).

    Raises:
        StudyError: the notebook is not found (the message says where it looked).
    """
    if notebook is not None:
        candidate, origin = Path(notebook), "the notebook argument"
    elif os.environ.get(NOTEBOOK_ENV):
        candidate, origin = Path(os.environ[NOTEBOOK_ENV]), f"${NOTEBOOK_ENV}"
    else:
        candidate, origin = PACKAGED_NOTEBOOK, "the package"
    if candidate.is_file():
        return candidate.resolve()
    raise StudyError(
        f"Experiment notebook not found: {candidate} (from {origin}) is not a file; give an existing notebook, "
        f"unset {NOTEBOOK_ENV} to use the packaged one, or reinstall xmodal if the package lacks it"
    )


# ----------------------------------------------------------------------------- before training: the first step
def _train_sets(config: ExperimentConfig) -> dict[str, Any]:
    """The training split of every sensor, read as :func:`xmodal.train.run_experiment` reads it."""
    from xmodal.data import Sen12MS

    common: dict[str, Any] = dict(
        season=config.season, split_method=config.split, test_fraction=config.test_fraction, seed=config.data_seed,
        label_scheme=config.label_scheme, patch_size=config.patch_size, normalization=config.normalization,
        cache=True, cache_dir=config.cache_dir, bad_patch=config.bad_patch, progress=False,
        pairing=config.pairing, pairing_modalities=list(config.modalities),
    )
    return {m: Sen12MS(config.data_root, modality=m, split="train", n_samples=config.n_train, **common)
            for m in config.modalities}


def first_step(config: ExperimentConfig | Mapping[str, Any], *, n_show: int = 6) -> dict[str, Any]:
    """The first batch of a run and the losses of its first training step, as training makes them.

    Builds the network and the batch streams exactly as the run does (same seeds: the
    initial weights and the first batch of every sensor are the run's), and takes one
    :func:`xmodal.train.train_step` on a copy that is then dropped. Nothing is written and
    the process's random state, threads and determinism settings are restored, so the run
    that follows is not changed by it.

    Args:
        config: the run's configuration.
        n_show: patches of each sensor's batch kept for display.

    Returns:
        ``{"modalities", "ids": {mod: [n_show]}, "images": {mod: [n_show, C, H, W]} (as the network
        sees them), "band_names": {mod}, "target": {mod: [n_show, K]} (soft labels), "class_names",
        "batch_size", "losses": {L_C, L_M, L_T, loss, triplet_valid, modality_accuracy, L_align},
        "w" (the alignment weight of the first step)}``.
    """
    import numpy as np
    import torch

    from xmodal.losses import grl_weight
    from xmodal.train import _build_state, _check_inputs, _Dist, _runtime, _Streams, train_step

    cfg = config if isinstance(config, ExperimentConfig) else ExperimentConfig.from_dict(dict(config))
    cfg = cfg.replace(progress=False, num_workers=0)
    train_sets = _train_sets(cfg)
    ctx = _Dist(cfg)
    try:
        inputs = _check_inputs(cfg, train_sets, train_sets, ctx)
        with torch.random.fork_rng(devices=[]), _runtime(cfg, ctx.device):
            state = _build_state(cfg, inputs, ctx)
            streams = _Streams(cfg, train_sets, ctx)
            w = grl_weight(0.0, cfg.grl_schedule, cfg.grl_weight) if "M" in cfg.losses else 0.0
            xs, y = next(streams.epoch(0))
            first = {m: next(iter(streams.samplers[m])) for m in inputs.modalities}
            state.net.train()
            record = train_step(state.net, xs, y, cfg, state.optimizer, state.scaler, w)
    finally:
        ctx.close()
    labels = dict(zip(inputs.modalities, y.split([x.shape[0] for x in xs.values()]), strict=True))
    return {
        "modalities": list(inputs.modalities),
        "ids": {m: [str(train_sets[m].ids[i]) for i in first[m][:n_show]] for m in inputs.modalities},
        "images": {m: xs[m][:n_show].float().cpu().numpy() for m in inputs.modalities},
        "band_names": {m: list(train_sets[m].band_names) for m in inputs.modalities},
        "target": {m: np.asarray(labels[m][:n_show].float().cpu()) for m in inputs.modalities},
        "class_names": list(inputs.class_names),
        "batch_size": int(xs[inputs.modalities[0]].shape[0]),
        "losses": {k: float(v) for k, v in record._asdict().items()},
        "w": float(w),
    }


def loss_terms(step: Mapping[str, Any], config: ExperimentConfig | Mapping[str, Any]) -> pd.DataFrame:
    """The loss terms of :func:`first_step` and their weights in eq. (4), one row per term.

    Columns: ``term``, ``value``, ``weight`` (its factor in the objective the encoders minimise:
    ``beta`` for L_C, ``alpha`` for L_T, ``-w`` for L_M under gradient reversal, ``+w`` for another
    alignment's term, 0 for a term the method only logs) and ``contribution`` (value x weight);
    the last row, ``objective (eq. 4)``, is their sum as training records it.
    """
    import pandas as pd

    cfg = config if isinstance(config, ExperimentConfig) else ExperimentConfig.from_dict(dict(config))
    losses, w = step["losses"], float(step["w"])
    aligned = "M" in cfg.losses and cfg.alignment != "reversal"
    weights = {
        "L_C": cfg.beta,
        "L_T": cfg.alpha if "T" in cfg.losses else 0.0,
        "L_M": -w if "M" in cfg.losses and not aligned and w else 0.0,
    }
    if aligned:
        weights["L_align"] = w
    rows = [{"term": k, "value": losses[k], "weight": wk, "contribution": losses[k] * wk} for k, wk in weights.items()]
    rows.append({"term": "objective (eq. 4)", "value": losses["loss"], "weight": None, "contribution": losses["loss"]})
    return pd.DataFrame(rows, columns=["term", "value", "weight", "contribution"])


# ----------------------------------------------------------------------------- after training: aligned examples
def aligned_examples(
    config: ExperimentConfig | Mapping[str, Any],
    run_dir: str | os.PathLike[str],
    *,
    n: int = 4,
    seed: int = 0,
) -> dict[str, Any]:
    """A few aligned test patches of a finished run: images, soft labels, predictions.

    Reads the run's predictions (:meth:`xmodal.rundir.RunDir.predictions`) and
    loads the same test patches from each trained modality through
    :class:`xmodal.data.Sen12MS` (aligned by patch id). Patches are drawn so
    that their dominant classes differ where possible.

    Args:
        config: the run's configuration.
        run_dir: the run folder.
        n: number of patches.
        seed: seeds the choice of patches.

    Returns:
        ``{"ids", "modalities", "class_names", "target" [n, K], "prob": {mod: [n, K]},
        "images": {mod: [n, C, H, W]}, "band_names": {mod: [...]}}``.

    Raises:
        StudyError: a patch of the predictions is not in the data's test split.
    """
    import numpy as np

    from xmodal.data import Sen12MS

    cfg = config if isinstance(config, ExperimentConfig) else ExperimentConfig.from_dict(dict(config))
    run = RunDir(run_dir)
    mods = list(cfg.modalities)
    pred = run.predictions()
    ids = np.asarray(pred.ids[mods[0]]).astype(str)
    target = np.asarray(pred.target[mods[0]])
    prob = {}
    for m in mods:  # align every modality's predictions to the first one's ids
        pos = {pid: j for j, pid in enumerate(pred.ids[m])}
        prob[m] = np.asarray(pred.prob[m])[[pos[pid] for pid in ids]]
    names = list(pred.class_names) or None
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(ids))
    dominant = target[order].argmax(axis=1)
    _, first = np.unique(dominant, return_index=True)  # one patch per dominant class first
    picks = list(order[np.sort(first)])
    chosen = set(picks)
    picks += [i for i in order if i not in chosen]
    picks = picks[: min(n, len(ids))]
    sel = [ids[i] for i in picks]
    images: dict[str, Any] = {}
    band_names: dict[str, list[str]] = {}
    class_names = names
    for m in mods:
        ds = Sen12MS(cfg.data_root, season=cfg.season, modality=m, split="test",
                     split_method=cfg.split, test_fraction=cfg.test_fraction, seed=cfg.data_seed,
                     label_scheme=cfg.label_scheme, patch_size=cfg.patch_size,
                     normalization="sen12ms", cache_dir=cfg.cache_dir, bad_patch=cfg.bad_patch)
        where = {pid: i for i, pid in enumerate(ds.ids)}
        missing = [pid for pid in sel if pid not in where]
        if missing:
            raise StudyError(f"Patches {missing[:3]} of {run.predictions_path} are not in the "
                             f"{m} test split of {cfg.data_root}")
        x, _ = ds.__getitems__([where[pid] for pid in sel])
        images[m] = np.asarray(x)
        band_names[m] = list(ds.band_names)
        class_names = class_names or list(ds.class_names)
    return {"ids": sel, "modalities": mods, "class_names": class_names,
            "target": target[picks], "prob": {m: prob[m][picks] for m in mods},
            "images": images, "band_names": band_names}
