"""A study's trained runs evaluated on its test split with S2 under fixed thick-cloud covers.

Files (made by :func:`evaluate_clouds`, resumable)::

    <runs>/<study>/clouds/
        evaluation.json                what the last evaluation covered: covers, variants, runs,
                                       the fallback threshold and how it was set (``threshold``,
                                       :func:`~xmodal.clouds.fallback.threshold_record`), and how
                                       long it took (``seconds``)
        <run folder>/c050.npz          per-patch predictions of one run on the test split at
                                       cover 0.5: ids, soft labels, each patch's cloud cover
                                       (from the variant's cover list) and one probability array
                                       per sensor, with the fingerprints of model and data
        <run folder>/val-c050.npz      the same on the run's validation split (runs trained with
                                       ``val_fraction`` > 0): what the threshold is chosen on

The fallback threshold is chosen on the validation patches alone; the test patches are
only scored with it. A prediction file is reused when its model fingerprint (:func:`model_fingerprint`: hash
of the run's result file, rewritten whenever the run is trained again) and data
fingerprint (the variant's generator fingerprint) are those of the current run and
variant. :func:`load_evaluation` reads it all back as a :class:`CloudEvaluation`.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import numpy as np

from xmodal import atomic
from xmodal.report.selection import method_label
from xmodal.results import method_of
from xmodal.rundir import Predictions, Result, RunDir, read_json

from .errors import CloudEvalError
from .fallback import FALLBACK_THRESHOLD, HAND_SET, VALIDATION, cover_table, threshold_record
from .selection import select_runs
from .variants import DEFAULT_COVERS, Variant, check_covers, cover_name, make_variants, season_entry

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "CLOUDS_DIR",
    "MANIFEST_FILE",
    "CloudEvaluation",
    "CoverPredictions",
    "evaluate_clouds",
    "load_evaluation",
    "model_fingerprint",
]

#: Folder of the evaluation inside the study folder, and its manifest.
CLOUDS_DIR: Final[str] = "clouds"
MANIFEST_FILE: Final[str] = "evaluation.json"
#: Version of the prediction files and the manifest.
SCHEMA: Final[int] = 1
#: The splits predicted: the test split (every number of the chapter) and the validation split
#: (the threshold's choice; runs trained with a validation split only).
TEST, VAL = "test", "val"


def model_fingerprint(run: RunDir | str | os.PathLike[str]) -> str:
    """Hash of the run's result file (a new training writes a new one).

    Raises:
        CloudEvalError: the run has no result.
    """
    path = (run if isinstance(run, RunDir) else RunDir(run)).result_path
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    except OSError as exc:
        raise CloudEvalError(f"{path} cannot be read ({exc})") from None


# ----------------------------------------------------------------------------- predicting
class _TrainingScale:
    """A test set z-scored with the statistics its run trained with, not the cloud variant's own.

    Only needed when a run computed statistics on its training split (``normalization:
    dataset``, or bands without published statistics): on a cloudy variant they would differ.
    ``x_train = (raw - m_t) / s_t = x * (s_v / s_t) + (m_v - m_t) / s_t``.
    """

    def __init__(self, dataset: Any, mean: Sequence[float], std: Sequence[float]) -> None:
        import torch

        self.dataset = dataset
        self.ids = list(dataset.ids)
        m_v = np.asarray(dataset.stats["mean"], np.float64)
        s_v = np.asarray(dataset.stats["std"], np.float64)
        m_t, s_t = np.asarray(mean, np.float64), np.asarray(std, np.float64)
        self.scale = torch.tensor(s_v / s_t, dtype=torch.float32)[:, None, None]
        self.shift = torch.tensor((m_v - m_t) / s_t, dtype=torch.float32)[:, None, None]

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, i: int) -> tuple[Any, Any]:
        x, y = self.dataset[i]
        return x * self.scale + self.shift, y

    def __getitems__(self, indices: Sequence[int]) -> tuple[Any, Any]:
        x, y = self.dataset.__getitems__(indices)
        return x * self.scale + self.shift, y


def _split_set(root: Path, modality: str, config: Any, stats: Mapping[str, Any] | None,
               cache: dict[tuple[Any, ...], Any] | None = None, split: str = TEST) -> Any:
    """The run's ``split`` of ``modality`` read from ``root``, as the run read it, scaled as it trained.

    Read by :func:`xmodal.training.read_split` (the one place that says how a run reads a
    split) with the variant's root. ``cache`` keeps the data sets read so far, by what
    determines them (root, sensor, split and its settings): runs that share one split (a
    study with a ``split_seed``) read each variant's split once.
    """
    import warnings

    from xmodal.training import read_split

    key = (str(root), modality, split, config.season, config.split, config.test_fraction, config.val_fraction,
           config.data_seed, config.n_test, config.label_scheme, config.patch_size, config.normalization,
           config.bad_patch)
    ds = cache.get(key) if cache is not None else None
    if ds is None:
        # The variant's own packed cache (not the run's cache_dir, which holds the clear S2).
        with warnings.catch_warnings():  # skipped patches were reported when the run was trained
            warnings.simplefilter("ignore", UserWarning)
            ds = read_split(config.replace(data_root=str(root), cache_dir=None), modality, split)
        if cache is not None:
            cache[key] = ds
    if stats and not (np.allclose(ds.stats["mean"], stats["mean"]) and np.allclose(ds.stats["std"], stats["std"])):
        return _TrainingScale(ds, stats["mean"], stats["std"])
    return ds


def _prediction_path(study_dir: Path, run: RunDir, cover: float, split: str = TEST) -> Path:
    prefix = "" if split == TEST else f"{split}-"
    return study_dir / CLOUDS_DIR / run.name / f"{prefix}{cover_name(cover)}.npz"


def _splits(res: Result) -> tuple[str, ...]:
    """The splits predicted for a run: the test split, and the validation split when it has one."""
    return (TEST, VAL) if float(res.config.get("val_fraction") or 0.0) > 0.0 else (TEST,)


def _meta(z: Mapping[str, np.ndarray]) -> dict[str, Any]:
    return dict(json.loads(str(z["meta"])))


def _is_current(path: Path, model_fp: str, data_fp: str) -> bool:
    try:
        with np.load(path, allow_pickle=False) as z:
            meta = _meta(z)
    except (OSError, ValueError, KeyError):
        return False
    return (meta.get("schema") == SCHEMA and meta.get("model_fingerprint") == model_fp
            and meta.get("data_fingerprint") == data_fp)


def _evaluate_cover(net: Any, run: RunDir, res: Result, own: Predictions | None, variant: Variant,
                    device: str, cache: dict[tuple[Any, ...], Any] | None = None,
                    split: str = TEST) -> dict[str, np.ndarray]:
    """Predict every sensor of a run on ``split`` of one cloud variant.

    The test split is checked against the run's own test predictions ``own``, the validation
    split against the number of validation patches the run recorded; every sensor must read
    the same patches. ``cache`` holds the data sets and cover lists read by earlier calls (see
    :func:`_split_set`).
    """
    import pandas as pd

    from xmodal import training
    from xmodal.config import ExperimentConfig
    from xmodal.data import cloud_cover

    config = ExperimentConfig.from_dict(dict(res.config))
    stats = res.data.get("stats") or {}
    ids: np.ndarray | None = None
    arrays: dict[str, np.ndarray] = {}
    n_val = (res.validation.get("n_val") or {}) if split == VAL else {}
    for m in res.modalities:
        ds = _split_set(variant.root, m, config, stats.get(m), cache, split)
        e = training.evaluate(net, ds, m, device=device, precision=config.precision,
                           channels_last=config.channels_last)
        got = np.asarray(e["ids"]).astype(str)
        expected = own.ids[m] if split == TEST and own is not None and m in own.ids else ids
        if expected is not None and not np.array_equal(got, expected):
            diff = next((a for a, b in zip(got, expected, strict=False) if a != b), "(lengths differ)")
            raise CloudEvalError(
                f"{run.path}: the {m} {split} split read from {variant.root} ({len(got)} patches) is not the one "
                f"the run was {'tested' if split == TEST else 'validated'} on ({len(expected)} patches; first "
                f"difference {diff}): was the cloud variant made from the root the study ran on?")
        if m in n_val and int(n_val[m]) != len(got):
            raise CloudEvalError(
                f"{run.path}: the {m} validation split read from {variant.root} has {len(got)} patches, the run "
                f"recorded {int(n_val[m])}: was the cloud variant made from the root the study ran on?")
        ids = got
        arrays[f"prob_{m}"] = np.asarray(e["prob"], np.float32)
        arrays["target"] = np.asarray(e["target"], np.float32)
    assert ids is not None
    cover_key = ("cover", str(variant.root), config.season)
    if cache is None or cover_key not in cache:
        listed = cloud_cover(variant.root, config.season)
        if cache is not None:
            cache[cover_key] = listed
    else:
        listed = cache[cover_key]
    covers = pd.Series(listed).reindex(ids)
    if covers.isna().any():
        raise CloudEvalError(f"{variant.root}: no cloud cover for patch {covers.index[covers.isna()][0]} "
                             "(its cover list or mask is missing)")
    arrays["ids"] = ids
    arrays["patch_cover"] = covers.to_numpy(np.float32)
    return arrays


def evaluate_clouds(
    study_dir: str | os.PathLike[str],
    data_root: str | os.PathLike[str],
    *,
    covers: Iterable[float] = DEFAULT_COVERS,
    methods: Sequence[str] | None = None,
    device: str = "cpu",
    progress: bool = True,
) -> dict[str, Any]:
    """Evaluate a study's runs on its test split rendered at fixed S2 cloud covers (resumable).

    Makes (or reuses) one cloud variant of ``data_root`` per cover (:func:`make_variants`),
    then predicts every sensor of every run of :func:`select_runs` on each variant's test
    split (the run's own split: same seed and settings) and writes the per-patch
    predictions to ``<study>/clouds/<run>/<cover>.npz``; a run trained with a validation
    split is predicted on it too (``val-<cover>.npz``). A file whose model and data
    fingerprints are current is kept, so a second call evaluates nothing. The fallback
    threshold is chosen on the validation predictions alone
    (:func:`~xmodal.clouds.fallback.threshold_record`; hand-set when a run has no validation
    split). Writes the manifest ``<study>/clouds/evaluation.json`` last, with the threshold
    and the call's wall time.

    Args:
        study_dir: the study folder (``runs/<study>``).
        data_root: the synthetic root the study ran on.
        covers: S2 thick-cloud covers in [0, 1]; 0 is always added (the clear-sky reference).
        methods: see :func:`select_runs`.
        device: where the models run.
        progress: progress bars (variants and evaluations).

    Returns:
        The manifest: covers, variants, runs, the threshold and how it was set, counts of
        predictions made and reused, seconds.

    Raises:
        ValueError: a bad cover or method. CloudEvalError: missing runs, data that is not
            synthetic, or a test split that differs from the run's own.
    """
    from tqdm.auto import tqdm

    from xmodal import training
    from xmodal.data.layout import season_folder

    t0 = time.perf_counter()
    cover_list = check_covers(covers)
    study = Path(study_dir).resolve()
    runs = select_runs(study, methods)
    seasons = sorted({str(res.config.get("season")) for _, res in runs})
    if len(seasons) != 1:
        raise CloudEvalError(f"The runs of {study} use several seasons {seasons}; evaluate one season at a time")
    variants = make_variants(data_root, cover_list, season=seasons[0], progress=progress)
    t_variants = time.perf_counter() - t0
    src_entry = season_entry(Path(data_root).resolve(), season_folder(seasons[0])) or {}
    todo: list[tuple[RunDir, Result, str, list[tuple[float, str]]]] = []
    n_reused = 0
    fingerprints = {run.name: model_fingerprint(run) for run, _ in runs}
    for run, res in runs:
        fp = fingerprints[run.name]
        wanted = [(c, split) for split in _splits(res) for c in cover_list]
        missing = [(c, split) for c, split in wanted
                   if not _is_current(_prediction_path(study, run, c, split), fp, variants[c].fingerprint)]
        n_reused += len(wanted) - len(missing)
        if missing:
            todo.append((run, res, fp, missing))
    bar = tqdm(total=sum(len(t[3]) for t in todo), desc="cloud covers", unit="eval", disable=not progress)
    t1 = time.perf_counter()
    cache: dict[tuple[Any, ...], Any] = {}
    for run, res, fp, missing in todo:
        net, _ = training.load_model(run.path, device=device)
        own = run.predictions() if run.predictions_path.is_file() else None
        for c, split in missing:
            arrays = _evaluate_cover(net, run, res, own, variants[c], device, cache, split)
            meta = {"schema": SCHEMA, "run": run.name, "method": method_of(res.config), "modalities": res.modalities,
                    "seed": res.seed, "cover": c, "split": split, "model_fingerprint": fp,
                    "data_fingerprint": variants[c].fingerprint, "variant": str(variants[c].root),
                    "class_names": res.class_names}
            atomic.write_npz(_prediction_path(study, run, c, split), {**arrays, "meta": np.array(json.dumps(meta))})
            bar.update(1)
    bar.close()
    n_made = sum(len(t[3]) for t in todo)
    # the threshold: chosen on the validation patches alone (never the test ones), else hand-set
    without_val = sorted(run.name for run, res in runs if VAL not in _splits(res))
    val_preds = [] if without_val else [p for run, _ in runs for p in _read_predictions(study, run, cover_list, VAL)]
    threshold = threshold_record(val_preds, without_validation=without_val)
    if threshold["chosen_on"] == VALIDATION:
        threshold["scenes"] = sorted({int(res.validation["scenes"]) for _, res in runs
                                      if res.validation.get("scenes") is not None})
    manifest = {
        "schema": SCHEMA,
        "study": study.name,
        "study_dir": str(study),
        "data_root": str(Path(data_root).resolve()),
        "data_kind": sorted({res.data_kind for _, res in runs}),
        "season": seasons[0],
        "training_thick_clouds": (src_entry.get("clouds") or {}).get("thick_clouds", "off"),
        "covers": list(cover_list),
        "variants": {cover_name(c): {"cover": c, "root": str(v.root), "fingerprint": v.fingerprint}
                     for c, v in variants.items()},
        "runs": {run.name: {"method": method_of(res.config), "modalities": res.modalities, "seed": res.seed,
                            "model": method_label(method_of(res.config), modalities=res.modalities),
                            "n_test": res.data.get("n_test"), "splits": list(_splits(res)),
                            "model_fingerprint": fingerprints[run.name]}
                 for run, res in runs},
        "threshold": threshold,
        "predictions_made": n_made,
        "predictions_reused": n_reused,
        "variants_made": sum(v.made for v in variants.values()),
        "seconds": {"variants": round(t_variants, 2), "evaluation": round(time.perf_counter() - t1, 2),
                    "total": round(time.perf_counter() - t0, 2)},
    }
    atomic.write_json(study / CLOUDS_DIR / MANIFEST_FILE, manifest)
    return manifest


# ----------------------------------------------------------------------------- reading it back
@dataclass(frozen=True)
class CoverPredictions:
    """Predictions of one run on its test split rendered at one S2 cloud cover.

    Attributes:
        run: the run folder's name.
        method: the run's method.
        modalities: the sensors it was trained (and evaluated) on.
        seed: the run's seed.
        cover: the thick-cloud cover the S2 of the split was rendered with.
        ids: patch ids ``[N]``.
        target: soft labels ``[N, C]``.
        patch_cover: each patch's cloud cover ``[N]`` (from the variant's cover list).
        prob: sensor -> predicted class probabilities ``[N, C]``.
        split: ``"test"``, or ``"val"``: the run's validation split (what the threshold is chosen on).
    """

    run: str
    method: str
    modalities: tuple[str, ...]
    seed: int
    cover: float
    ids: np.ndarray
    target: np.ndarray
    patch_cover: np.ndarray
    prob: Mapping[str, np.ndarray]
    split: str = TEST

    @property
    def model(self) -> str:
        """The model the run belongs to (:func:`~xmodal.report.selection.method_label` with its sensors)."""
        return method_label(self.method, modalities=self.modalities)


@dataclass(frozen=True)
class CloudEvaluation:
    """A study's cloud evaluation as written by :func:`evaluate_clouds`.

    Attributes:
        manifest: ``evaluation.json``.
        predictions: every current prediction file of the test split (every number of the chapter).
        stale: runs left out because they changed (or vanished) since their evaluation.
        validation: the same on the runs' validation splits (what the threshold was chosen on;
            empty for runs without one).
    """

    manifest: dict[str, Any]
    predictions: list[CoverPredictions]
    stale: list[str] = field(default_factory=list)
    validation: list[CoverPredictions] = field(default_factory=list)

    @property
    def covers(self) -> list[float]:
        """The covers evaluated."""
        return [float(c) for c in self.manifest.get("covers", [])]

    @property
    def seeds(self) -> list[int]:
        """The seeds of the runs read."""
        return sorted({p.seed for p in self.predictions})

    @property
    def seconds(self) -> float | None:
        """Wall time of the ``xmodal clouds`` call that wrote the manifest, as it recorded it (None: not recorded)."""
        total = (self.manifest.get("seconds") or {}).get("total")
        return None if total is None else float(total)

    @property
    def threshold_choice(self) -> dict[str, Any]:
        """How the fallback threshold was set (:func:`~xmodal.clouds.fallback.threshold_record`).

        An evaluation written before the threshold was chosen on validation has the hand-set one.
        """
        record = self.manifest.get("threshold")
        if not record:
            return {"value": FALLBACK_THRESHOLD, "chosen_on": HAND_SET,
                    "reason": "the evaluation predates the choice on validation scenes"}
        return dict(record)

    @property
    def threshold(self) -> float:
        """The fallback threshold of the chapter: chosen on the validation scenes, or the hand-set one."""
        return float(self.threshold_choice["value"])

    def fallback_threshold(self, override: float | None = None) -> float:
        """``override`` when given (checked), else :attr:`threshold`.

        Raises:
            ValueError: an override outside [0, 1].
        """
        if override is None:
            return self.threshold
        if isinstance(override, bool) or not 0.0 <= float(override) <= 1.0:
            raise ValueError(f"Invalid fallback threshold {override!r}; it is a cloud cover, in [0, 1]")
        return float(override)

    @property
    def threshold_curve(self) -> pd.DataFrame:
        """The validation curve of the choice: ``threshold, model, seed, weighted`` (empty when hand-set)."""
        import pandas as pd

        return pd.DataFrame(self.threshold_choice.get("curve") or [],
                            columns=["threshold", "model", "seed", "weighted"])

    def table(self, threshold: float | None = None) -> pd.DataFrame:
        """:func:`~xmodal.clouds.fallback.cover_table` of the test predictions (default: :attr:`threshold`)."""
        return cover_table(self.predictions, threshold=self.fallback_threshold(threshold))

    @property
    def source(self) -> str:
        """One line saying which data, profile, covers and seeds every figure comes from."""
        m = self.manifest
        kind = "/".join(m.get("data_kind") or ["unknown"])
        kind = "synthetic SEN12MS-like data" if kind == "synthetic" else kind
        n_test = sorted({int(r["n_test"]) for r in m.get("runs", {}).values() if r.get("n_test") is not None})
        covers = ", ".join(f"{c:.0%}" for c in self.covers)
        seeds = self.seeds
        models = sorted({p.model for p in self.predictions})
        return (f"{kind} (study '{m.get('study')}', {m.get('season')}), its test split"
                f"{' of ' + '/'.join(map(str, n_test)) + ' patches' if n_test else ''} with S2 rendered at "
                f"thick-cloud covers {covers}; Figure 2 runs of {', '.join(models)}; "
                f"{len(seeds)} seed{'s' if len(seeds) != 1 else ''} ({', '.join(map(str, seeds))})")


def load_evaluation(study_dir: str | os.PathLike[str], *, missing_ok: bool = False) -> CloudEvaluation | None:
    """Read a study's cloud evaluation (predictions of the runs still as they were evaluated).

    Args:
        study_dir: the study folder.
        missing_ok: return None instead of raising when the study has no evaluation.

    Raises:
        CloudEvalError: no evaluation (unless ``missing_ok``), or an unreadable prediction file.
    """
    study = Path(study_dir)
    manifest = read_json(study / CLOUDS_DIR / MANIFEST_FILE)
    if manifest is None:
        if missing_ok:
            return None
        raise CloudEvalError(
            f"No cloud evaluation in {study / CLOUDS_DIR}: run "
            f"`xmodal clouds --study {study.name} --data <its data root> --runs {study.parent}`")
    preds: list[CoverPredictions] = []
    val: list[CoverPredictions] = []
    stale: list[str] = []
    covers = [float(c) for c in manifest.get("covers", [])]
    for name, info in sorted(manifest.get("runs", {}).items()):
        run = RunDir(study / name)
        if not run.result_path.is_file() or model_fingerprint(run) != info.get("model_fingerprint"):
            stale.append(name)
            continue
        preds.extend(_read_predictions(study, run, covers, TEST))
        if VAL in info.get("splits", [TEST]):
            val.extend(_read_predictions(study, run, covers, VAL))
    return CloudEvaluation(manifest, preds, stale, val)


def _read_predictions(study: Path, run: RunDir, covers: Sequence[float], split: str) -> list[CoverPredictions]:
    """One run's prediction files of ``split`` at ``covers``.

    Raises:
        CloudEvalError: a file missing or unreadable.
    """
    out = []
    for c in covers:
        path = _prediction_path(study, run, float(c), split)
        try:
            with np.load(path, allow_pickle=False) as z:
                meta = _meta(z)
                mods = tuple(meta["modalities"])
                out.append(CoverPredictions(
                    run=run.name, method=str(meta["method"]), modalities=mods, seed=int(meta["seed"]),
                    cover=float(meta["cover"]), ids=z["ids"].astype(str), target=z["target"],
                    patch_cover=z["patch_cover"], prob={m: z[f"prob_{m}"] for m in mods},
                    split=str(meta.get("split", TEST))))
        except (OSError, ValueError, KeyError) as exc:
            raise CloudEvalError(f"{path} cannot be read ({exc}); run `xmodal clouds` again") from None
    return out
