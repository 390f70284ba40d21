"""The experiment notebook: where it is, and what it calls besides training.

``experiment.ipynb``, the one template every point of a sweep runs, ships inside the
package (``xmodal/sweep/experiment.ipynb``, package data), so an installed ``xmodal``
runs sweeps without a checkout; ``notebooks/experiment.ipynb`` in the repository is a
link to it, for readers. The notebook stays thin: it checks its parameters
(:func:`xmodal.sweep.check_parameters`), shows one batch and the losses of the first
training step (:func:`xmodal.training.first_step`, :func:`xmodal.training.loss_terms`) before
the long run, trains (:func:`xmodal.training.run_experiment`) and shows a few aligned test patches
(:func:`aligned_examples`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from xmodal.config import ExperimentConfig
from xmodal.rundir import RunDir
from xmodal.sweep.spec import StudyError

__all__ = [
    "NOTEBOOK_ENV", "NOTEBOOK_NAME", "PACKAGED_NOTEBOOK",
    "aligned_examples", "notebook_path",
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
