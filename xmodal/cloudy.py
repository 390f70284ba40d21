"""Clouds and the choice of sensor: a study's trained models on S2 rendered under thick clouds.

The paper exists because a sensor is not always available: over much of the world
Sentinel-2 is often cloudy, while Sentinel-1's radar sees through clouds. This
module evaluates the trained runs of a study on its own test split with the S2
imagery re-rendered at fixed thick-cloud covers, and scores what a practitioner
would deploy:

* **each sensor alone**: F1 (macro, weighted) of S2 as the clouds thicken, and of
  S1 (which the clouds do not touch);
* **a fallback system**: answer from S2 while a patch's cloud cover is below a
  threshold (:data:`FALLBACK_THRESHOLD`), from S1 otherwise (:func:`fallback`),
  built either from **two separate Baselines** (one model per sensor) or from
  **one cross-modal model** fed whichever sensor the policy picks;
* **how consistent the system's answers stay when it switches sensor**: the
  homogeneity of eq. (5) between the S1 and S2 answers at each cover, and, per
  patch, the agreement of the system's answer with its own clear-sky answer (the
  S2 answer at cover 0): histogram intersection (``consistency``) and the share of
  patches whose dominant class changed (``top_change``), over all patches and over
  the patches where the policy switched to S1 (``switch_*``).

Files (made by :func:`evaluate_clouds`, resumable)::

    <data>-clouds/c000/ ... c100/      the study's data root with S2 re-rendered at a fixed
                                       thick-cloud cover (xmodal.data.make_cloud_variant: only S2
                                       and the masks are written, S1 and LC are hard links)
    <runs>/<study>/clouds/
        evaluation.json                what the last evaluation covered: covers, variants, runs
        <run folder>/c050.npz          per-patch predictions of one run on the test split at
                                       cover 0.5: ids, soft labels, each patch's cloud cover
                                       (from the variant's cover list) and one probability array
                                       per sensor, with the fingerprints of model and data

A prediction file is reused when its model fingerprint (hash of the run's
result file, rewritten whenever the run is trained again) and data fingerprint
(the variant's generator fingerprint) are those of the current run and variant.

:func:`cover_table` (pure) turns predictions into a tidy table;
:func:`summarize` gives means with 95 % t-intervals over seeds;
:func:`compare` and :func:`fallback_claims` pair seeds
(:func:`xmodal.analysis.stats.paired_difference`, :func:`~xmodal.analysis.stats.claim_verdicts`);
:func:`verdict_text` turns the verdicts into sentences no stronger than the intervals.
:func:`sensor_scores` and :func:`pair_homogeneity` read the ``sensors`` profile
(training with cloudy S2, and a third sensor).

Cloud variants need a synthetic root (the generator renders the clouds): real
SEN12MS has no cloud-free / cloudy pairs of one acquisition (SEN12MS-CR's cloudy
S2 is another acquisition, see :func:`xmodal.data.make_cloudy_root`).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd

from xmodal import atomic
from xmodal.analysis.stats import (
    CONFIDENCE,
    DOES_NOT_HOLD,
    HOLDS,
    INCONCLUSIVE,
    NONINFERIORITY_MARGIN,
    NOT_MEASURED,
    ONE_SEED,
    claim_verdicts,
    paired_difference,
)
from xmodal.config import METHODS
from xmodal.data.clouds import CLOUD_FREE_SENSOR, CLOUDED_SENSOR
from xmodal.errors import XmodalError
from xmodal.metrics import f1_scores, histogram_intersection, homogeneity
from xmodal.rundir import Predictions, Result, RunDir, align_ids, iter_results, read_json

__all__ = [
    "BASELINE_MODEL",
    "CLOUDS_DIR",
    "DEFAULT_COVERS",
    "DEFAULT_METHODS",
    "FALLBACK",
    "FALLBACK_THRESHOLD",
    "MANIFEST_FILE",
    "OPTICAL",
    "RADAR",
    "SENSORS_STUDY",
    "TABLE_COLUMNS",
    "CloudEvalError",
    "SensorsSection",
    "CloudEvaluation",
    "CoverPredictions",
    "check_covers",
    "compare",
    "cover_name",
    "cover_table",
    "evaluate_clouds",
    "evaluation_note",
    "fallback",
    "fallback_claims",
    "load_evaluation",
    "make_variants",
    "model_fingerprint",
    "model_label",
    "pair_homogeneity",
    "select_runs",
    "sensor_scores",
    "sensors_section",
    "summarize",
    "threshold_table",
    "variant_root",
    "verdict_text",
]

#: S2 thick-cloud covers the test split is rendered at (0 is always added: the clear-sky reference).
DEFAULT_COVERS: Final[tuple[float, ...]] = (0.0, 0.25, 0.5, 0.75, 1.0)
#: The fallback answers from S1 for patches whose cloud cover is at least this share.
#: Chosen before looking at any result, as a cautious operational cut (a patch a third
#: under cloud is already hard to read), not tuned on the test split; ``--threshold`` changes it.
FALLBACK_THRESHOLD: Final[float] = 0.3
#: Methods evaluated by default (those a study has of them): the paper's Baseline, C and C+T+M.
DEFAULT_METHODS: Final[tuple[str, ...]] = ("baseline", "C", "C+T+M")
#: The sensor the clouds hide, and the one the fallback turns to.
OPTICAL: Final[str] = CLOUDED_SENSOR
RADAR: Final[str] = CLOUD_FREE_SENSOR
#: Name of the "model" made of every single-sensor Baseline of a seed (two separate networks).
BASELINE_MODEL: Final[str] = "Baseline"
#: The ``system`` of the fallback policy's rows (the others are sensor names).
FALLBACK: Final[str] = "fallback"
#: Folder of the evaluation inside the study folder, and its manifest.
CLOUDS_DIR: Final[str] = "clouds"
MANIFEST_FILE: Final[str] = "evaluation.json"
#: The study profile that trains with cloudy S2 and a third sensor.
SENSORS_STUDY: Final[str] = "sensors"
#: Version of the prediction files and the manifest.
SCHEMA: Final[int] = 1
#: Columns of :func:`cover_table`.
TABLE_COLUMNS: Final[tuple[str, ...]] = (
    "model", "method", "modalities", "system", "cover", "seed", "n", "macro", "weighted", "homogeneity",
    "switch_share", "consistency", "top_change", "switch_consistency", "switch_top_change",
)
#: Metrics :func:`summarize` gives intervals for.
SUMMARY_METRICS: Final[tuple[str, ...]] = TABLE_COLUMNS[7:]
_SYNTHETIC_MARKER: Final[str] = "xmodal_synthetic.json"
#: Entries a cloud variant root may hold (it is removed and made again only if it holds nothing else).
_VARIANT_ENTRIES: Final[tuple[str, ...]] = (_SYNTHETIC_MARKER, ".xmodal_cache")


class CloudEvalError(XmodalError, ValueError):
    """The cloud evaluation cannot run or its files cannot be read; the message names what and where."""


# ----------------------------------------------------------------------------- covers and variants
def check_covers(covers: Iterable[float]) -> tuple[float, ...]:
    """The covers to evaluate, sorted, without repeats, with 0 (the clear-sky reference) added.

    Raises:
        ValueError: a cover that is not a number in [0, 1] (the message names it).
    """
    out = {0.0}
    for c in covers:
        if isinstance(c, bool) or not isinstance(c, (int, float, np.integer, np.floating)) or not 0.0 <= c <= 1.0:
            raise ValueError(f"Invalid cloud cover {c!r}: a cover is the share of a patch under cloud, in [0, 1]")
        out.add(round(float(c), 6))
    return tuple(sorted(out))


def cover_name(cover: float) -> str:
    """Folder / file name of a cover: ``c000``, ``c025``, ``c050``, ``c100`` (``c012.5`` between percents)."""
    pct = round(float(cover) * 100.0, 4)
    return f"c{int(pct):03d}" if float(pct).is_integer() else f"c{pct:07.3f}".rstrip("0")


def variant_root(data_root: str | os.PathLike[str], cover: float) -> Path:
    """Where the cloud variant of ``data_root`` at ``cover`` lives: ``<data>-clouds/c050``."""
    root = Path(data_root).resolve()
    return root.parent / f"{root.name}-clouds" / cover_name(cover)


@dataclass(frozen=True)
class _Variant:
    cover: float
    root: Path
    fingerprint: str
    made: bool


def _season_entry(root: Path, sf: str) -> dict[str, Any] | None:
    meta = read_json(root / _SYNTHETIC_MARKER)
    if meta is None or meta.get("status") != "complete":
        return None
    entry = (meta.get("seasons") or {}).get(sf)
    return None if entry is None else {**entry, "version": meta.get("version"), "fingerprint": meta.get("fingerprint")}


def _current_variant(src_entry: Mapping[str, Any], dst: Path, sf: str, cover: float) -> str | None:
    """The fingerprint of the variant at ``dst`` if it is the one ``src_entry`` makes at ``cover``, else None."""
    from xmodal.data.synthetic import GENERATOR_VERSION, SyntheticParams

    got = _season_entry(dst, sf)
    if got is None or got.get("version") != GENERATOR_VERSION or not got.get("fingerprint"):
        return None
    want = SyntheticParams.from_dict(dict(src_entry["params"])).replace(thick_cloud_fixed_cover=float(cover))
    same = all(got.get(k) == src_entry.get(k) for k in ("seed", "n_scenes", "patches_per_side", "patch_size"))
    if not same or json.loads(json.dumps(want.to_dict())) != got.get("params"):
        return None
    return str(got["fingerprint"])


def make_variants(
    data_root: str | os.PathLike[str],
    covers: Iterable[float] = DEFAULT_COVERS,
    season: str = "winter",
    progress: bool = True,
) -> dict[float, _Variant]:
    """Make (or reuse) the cloud variants of a synthetic root, one per cover.

    A variant already made from the same source arguments at the same cover by the
    same generator version is reused; another one in its place is made again (only
    if its folder holds nothing but a synthetic root, else an error names it).

    Args:
        data_root: a root made by :func:`xmodal.data.make_synthetic` (the study's data).
        covers: thick-cloud covers (0..1).
        season: the season to render.
        progress: show the generator's progress bars.

    Returns:
        cover -> variant (root, fingerprint, whether it was made now).

    Raises:
        CloudEvalError: ``data_root`` is not a synthetic root of ``season``, or a variant's
            folder holds other data.
    """
    from xmodal.data import make_cloud_variant
    from xmodal.data.layout import season_folder

    src = Path(data_root).resolve()
    sf = season_folder(season)
    src_entry = _season_entry(src, sf)
    if src_entry is None:
        raise CloudEvalError(
            f"{src} is not a complete synthetic root of season {season!r} (no {_SYNTHETIC_MARKER} with it): "
            "cloud variants are rendered by the synthetic generator, so the cloud evaluation needs the "
            "synthetic data the study ran on (real SEN12MS has no cloudy re-rendering of the same acquisition)"
        )
    out: dict[float, _Variant] = {}
    for cover in check_covers(covers):
        dst = variant_root(src, cover)
        fp = _current_variant(src_entry, dst, sf, cover)
        made = fp is None
        if made:
            if dst.exists():
                extra = sorted(p.name for p in dst.iterdir()
                               if p.name not in _VARIANT_ENTRIES and not p.name.startswith("ROIs"))
                if extra:
                    raise CloudEvalError(f"{dst} holds other data than a cloud variant ({extra[:3]}); move it away")
                shutil.rmtree(dst)
            make_cloud_variant(src, dst, cover, season=season, progress=progress)
            fp = _current_variant(src_entry, dst, sf, cover)
        if fp is None:  # pragma: no cover - the generator wrote something else than asked
            raise CloudEvalError(f"{dst}: the cloud variant just made does not match {src} at cover {cover}")
        out[cover] = _Variant(cover, dst, fp, made)
    return out


# ----------------------------------------------------------------------------- runs
def model_label(method: str, modalities: Sequence[str]) -> str:
    """How tables name a model: ``Baseline``, ``C+T+M`` (on S1 and S2), ``C+T+M (s1+s2+rgb)``."""
    if method == "baseline":
        return BASELINE_MODEL
    if sorted(modalities) == sorted((RADAR, OPTICAL)):
        return method
    return f"{method} ({'+'.join(modalities)})"


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


def select_runs(study_dir: str | os.PathLike[str], methods: Sequence[str] | None = None) -> list[tuple[RunDir, Result]]:
    """The finished full-training-set runs of a study that the cloud evaluation uses.

    Args:
        study_dir: the study folder (``runs/<study>``).
        methods: methods to use; None: those of :data:`DEFAULT_METHODS` the study has.

    Returns:
        ``(run, result)`` pairs sorted by run folder: every single-sensor Baseline and every
        cross-modal run of the methods, trained on the whole training split (``n_train`` null).

    Raises:
        ValueError: an unknown method.
        CloudEvalError: no such folder; a requested method without a run (a Baseline needs
            both its S1 and S2 runs); or (default methods) runs that make no fallback system.
    """
    study = Path(study_dir)
    if not study.is_dir():
        raise CloudEvalError(f"No study folder {study}: run `xmodal sweep --study {study.name}` first")
    wanted = DEFAULT_METHODS if methods is None else tuple(methods)
    for m in wanted:
        if m not in METHODS:
            raise ValueError(f"Unknown method {m!r}; choose from {list(METHODS)}")
    # the paper's methods only: an alignment ablation (e.g. C+T+M with domain confusion) is another model
    runs = [(run, res) for run, res in iter_results(study)
            if res.config.get("n_train") is None and res.method in wanted
            and res.config.get("alignment", "reversal") == "reversal"]
    base = {res.modalities[0] for _, res in runs if res.method == "baseline"}
    cross = {res.method for _, res in runs if res.method != "baseline" and {RADAR, OPTICAL} <= set(res.modalities)}
    hint = f"run `xmodal sweep --study {study.name}` to train them"
    if methods is not None:
        for m in wanted:
            if m == "baseline" and not {RADAR, OPTICAL} <= base:
                raise CloudEvalError(
                    f"{study} has no finished full-training-set Baseline on {sorted({RADAR, OPTICAL} - base)} "
                    f"(the fallback pairs the S1 and S2 Baselines); {hint}")
            if m != "baseline" and m not in cross:
                raise CloudEvalError(
                    f"{study} has no finished full-training-set run of method {m!r} on [{RADAR}, {OPTICAL}]; {hint}")
    elif not ({RADAR, OPTICAL} <= base or cross):
        found = sorted({f"{res.method} {'+'.join(res.modalities)}" for _, res in iter_results(study)})
        raise CloudEvalError(
            f"{study} has no runs for the cloud evaluation: it needs the full-training-set Baselines on "
            f"{RADAR} and {OPTICAL}, or a cross-modal run ({', '.join(DEFAULT_METHODS[1:])}) on both; found "
            f"{found or 'no finished run'}; {hint}")
    return sorted(runs, key=lambda r: r[0].name)


# ----------------------------------------------------------------------------- evaluation
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


def _test_set(root: Path, modality: str, config: Any, stats: Mapping[str, Any] | None,
              cache: dict[tuple[Any, ...], Any] | None = None) -> Any:
    """The run's test split of ``modality`` read from ``root``, scaled as the run trained.

    ``cache`` keeps the data sets read so far, by what determines them (root, sensor and the
    split's settings): runs that share one split (a study with a ``split_seed``) read each
    variant's test split once.
    """
    import warnings

    from xmodal.data import Sen12MS

    key = (str(root), modality, config.season, config.split, config.test_fraction, config.data_seed,
           config.n_test, config.label_scheme, config.patch_size, config.normalization, config.bad_patch)
    ds = cache.get(key) if cache is not None else None
    if ds is None:
        # The variant's own packed cache (not the run's cache_dir, which holds the clear S2).
        with warnings.catch_warnings():  # skipped patches were reported when the run was trained
            warnings.simplefilter("ignore", UserWarning)
            ds = Sen12MS(root, season=config.season, modality=modality, split="test", split_method=config.split,
                         test_fraction=config.test_fraction, seed=config.data_seed, n_samples=config.n_test,
                         label_scheme=config.label_scheme, patch_size=config.patch_size,
                         normalization=config.normalization, bad_patch=config.bad_patch, progress=False)
        if cache is not None:
            cache[key] = ds
    if stats and not (np.allclose(ds.stats["mean"], stats["mean"]) and np.allclose(ds.stats["std"], stats["std"])):
        return _TrainingScale(ds, stats["mean"], stats["std"])
    return ds


def _prediction_path(study_dir: Path, run: RunDir, cover: float) -> Path:
    return study_dir / CLOUDS_DIR / run.name / f"{cover_name(cover)}.npz"


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


def _evaluate_cover(net: Any, run: RunDir, res: Result, own: Predictions | None, variant: _Variant,
                    device: str, cache: dict[tuple[Any, ...], Any] | None = None) -> dict[str, np.ndarray]:
    """Predict every sensor of a run on the test split of one cloud variant (checked against ``own``).

    ``cache`` holds the test sets and cover lists read by earlier calls (see :func:`_test_set`).
    """
    from xmodal import train
    from xmodal.config import ExperimentConfig
    from xmodal.data import cloud_cover

    config = ExperimentConfig.from_dict(dict(res.config))
    stats = res.data.get("stats") or {}
    ids: np.ndarray | None = None
    arrays: dict[str, np.ndarray] = {}
    for m in res.modalities:
        ds = _test_set(variant.root, m, config, stats.get(m), cache)
        e = train.evaluate(net, ds, m, device=device, precision=config.precision,
                           channels_last=config.channels_last)
        got = np.asarray(e["ids"]).astype(str)
        expected = own.ids[m] if own is not None and m in own.ids else ids
        if expected is not None and not np.array_equal(got, expected):
            diff = next((a for a, b in zip(got, expected, strict=False) if a != b), "(lengths differ)")
            raise CloudEvalError(
                f"{run.path}: the {m} test split read from {variant.root} ({len(got)} patches) is not the one the "
                f"run was tested on ({len(expected)} patches; first difference {diff}): was the cloud variant made "
                "from the root the study ran on?")
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
    predictions to ``<study>/clouds/<run>/<cover>.npz``; a file whose model and data
    fingerprints are current is kept, so a second call evaluates nothing. Writes the
    manifest ``<study>/clouds/evaluation.json`` last.

    Args:
        study_dir: the study folder (``runs/<study>``).
        data_root: the synthetic root the study ran on.
        covers: S2 thick-cloud covers in [0, 1]; 0 is always added (the clear-sky reference).
        methods: see :func:`select_runs`.
        device: where the models run.
        progress: progress bars (variants and evaluations).

    Returns:
        The manifest: covers, variants, runs, counts of predictions made and reused, seconds.

    Raises:
        ValueError: a bad cover or method. CloudEvalError: missing runs, data that is not
            synthetic, or a test split that differs from the run's own.
    """
    from tqdm.auto import tqdm

    from xmodal import train

    t0 = time.perf_counter()
    cover_list = check_covers(covers)
    study = Path(study_dir).resolve()
    runs = select_runs(study, methods)
    seasons = sorted({str(res.config.get("season")) for _, res in runs})
    if len(seasons) != 1:
        raise CloudEvalError(f"The runs of {study} use several seasons {seasons}; evaluate one season at a time")
    variants = make_variants(data_root, cover_list, season=seasons[0], progress=progress)
    t_variants = time.perf_counter() - t0
    from xmodal.data.layout import season_folder

    src_entry = _season_entry(Path(data_root).resolve(), season_folder(seasons[0])) or {}
    todo: list[tuple[RunDir, Result, str, list[float]]] = []
    n_reused = 0
    fingerprints = {run.name: model_fingerprint(run) for run, _ in runs}
    for run, res in runs:
        fp = fingerprints[run.name]
        missing = [c for c in cover_list
                   if not _is_current(_prediction_path(study, run, c), fp, variants[c].fingerprint)]
        n_reused += len(cover_list) - len(missing)
        if missing:
            todo.append((run, res, fp, missing))
    bar = tqdm(total=sum(len(t[3]) for t in todo), desc="cloud covers", unit="eval", disable=not progress)
    t1 = time.perf_counter()
    cache: dict[tuple[Any, ...], Any] = {}
    for run, res, fp, missing in todo:
        net, _ = train.load_model(run.path, device=device)
        own = run.predictions() if run.predictions_path.is_file() else None
        for c in missing:
            arrays = _evaluate_cover(net, run, res, own, variants[c], device, cache)
            meta = {"schema": SCHEMA, "run": run.name, "method": res.method, "modalities": res.modalities,
                    "seed": res.seed, "cover": c, "model_fingerprint": fp,
                    "data_fingerprint": variants[c].fingerprint, "variant": str(variants[c].root),
                    "class_names": res.class_names}
            atomic.write_npz(_prediction_path(study, run, c), {**arrays, "meta": np.array(json.dumps(meta))})
            bar.update(1)
    bar.close()
    n_made = sum(len(t[3]) for t in todo)
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
        "runs": {run.name: {"method": res.method, "modalities": res.modalities, "seed": res.seed,
                            "model": model_label(res.method, res.modalities),
                            "n_test": res.data.get("n_test"), "model_fingerprint": fingerprints[run.name]}
                 for run, res in runs},
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

    @property
    def model(self) -> str:
        """:func:`model_label` of the run."""
        return model_label(self.method, self.modalities)


@dataclass(frozen=True)
class CloudEvaluation:
    """A study's cloud evaluation as written by :func:`evaluate_clouds`.

    Attributes:
        manifest: ``evaluation.json``.
        predictions: every current prediction file.
        stale: runs left out because they changed (or vanished) since their evaluation.
    """

    manifest: dict[str, Any]
    predictions: list[CoverPredictions]
    stale: list[str] = field(default_factory=list)

    @property
    def covers(self) -> list[float]:
        """The covers evaluated."""
        return [float(c) for c in self.manifest.get("covers", [])]

    @property
    def seeds(self) -> list[int]:
        """The seeds of the runs read."""
        return sorted({p.seed for p in self.predictions})

    def table(self, threshold: float = FALLBACK_THRESHOLD) -> pd.DataFrame:
        """:func:`cover_table` of the predictions."""
        return cover_table(self.predictions, threshold=threshold)

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
                f"thick-cloud covers {covers}; full-training-set runs of {', '.join(models)}; "
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
    stale: list[str] = []
    for name, info in sorted(manifest.get("runs", {}).items()):
        run = RunDir(study / name)
        if not run.result_path.is_file() or model_fingerprint(run) != info.get("model_fingerprint"):
            stale.append(name)
            continue
        for c in manifest.get("covers", []):
            path = _prediction_path(study, run, float(c))
            try:
                with np.load(path, allow_pickle=False) as z:
                    meta = _meta(z)
                    mods = tuple(meta["modalities"])
                    preds.append(CoverPredictions(
                        run=name, method=str(meta["method"]), modalities=mods, seed=int(meta["seed"]),
                        cover=float(meta["cover"]), ids=z["ids"].astype(str), target=z["target"],
                        patch_cover=z["patch_cover"], prob={m: z[f"prob_{m}"] for m in mods}))
            except (OSError, ValueError, KeyError) as exc:
                raise CloudEvalError(f"{path} cannot be read ({exc}); run `xmodal clouds` again") from None
    return CloudEvaluation(manifest, preds, stale)


# ----------------------------------------------------------------------------- the fallback and the table
def fallback(
    prob_optical: np.ndarray,
    prob_radar: np.ndarray,
    patch_cover: np.ndarray,
    threshold: float = FALLBACK_THRESHOLD,
) -> tuple[np.ndarray, np.ndarray]:
    """The fallback policy: the optical answer below the cloud threshold, the radar one from it up.

    Args:
        prob_optical: ``[N, C]`` S2 predictions.
        prob_radar: ``[N, C]`` S1 predictions of the same patches.
        patch_cover: ``[N]`` each patch's cloud cover (0..1).
        threshold: a patch with ``cover >= threshold`` is answered from S1.

    Returns:
        ``(answer [N, C], switched [N] bool)``: the system's answer and where it used S1.

    Raises:
        ValueError: a threshold outside [0, 1] or arrays of other shapes.
    """
    if not 0.0 <= threshold <= 1.0:
        raise ValueError(f"Invalid fallback threshold {threshold!r}; it is a cloud cover, in [0, 1]")
    a, b = np.asarray(prob_optical), np.asarray(prob_radar)
    cover = np.asarray(patch_cover)
    if a.shape != b.shape or a.ndim != 2 or cover.shape != a.shape[:1]:
        raise ValueError(f"fallback: optical {a.shape}, radar {b.shape} and cover {cover.shape} must be "
                         "[N, C], [N, C] and [N]")
    switched = cover >= threshold
    return np.where(switched[:, None], b, a), switched


@dataclass
class _Merged:
    ids: np.ndarray
    target: np.ndarray
    patch_cover: np.ndarray
    prob: dict[str, np.ndarray]
    runs: dict[str, str]  # sensor -> the run that gave it

    def take(self, idx: np.ndarray) -> _Merged:
        return _Merged(self.ids[idx], self.target[idx], self.patch_cover[idx],
                       {m: p[idx] for m, p in self.prob.items()}, self.runs)


def _merge(groups: dict[tuple[str, int], dict[float, _Merged]], p: CoverPredictions) -> None:
    """Add one run's predictions to its model's group (a Baseline's sensors come from several runs)."""
    covers = groups.setdefault((p.model, p.seed), {})
    new = _Merged(np.asarray(p.ids).astype(str), np.asarray(p.target), np.asarray(p.patch_cover),
                  {m: np.asarray(v) for m, v in p.prob.items()}, {m: p.run for m in p.prob})
    old = covers.get(p.cover)
    if old is None:
        covers[p.cover] = new
        return
    twice = sorted(set(old.prob) & set(new.prob))
    if twice:
        raise ValueError(f"Runs {old.runs[twice[0]]} and {p.run} both give {p.model} seed {p.seed} on {twice} at "
                         f"cover {p.cover}: remove one of them")
    ia, ib = align_ids(old.ids, new.ids)
    merged = old.take(ia)
    merged.prob.update({m: v[ib] for m, v in new.prob.items()})
    merged.runs = {**old.runs, **new.runs}
    covers[p.cover] = merged


def _answer_row(answer: np.ndarray, target: np.ndarray, ref: np.ndarray | None) -> dict[str, float]:
    f1 = f1_scores(target, answer)
    row = {"macro": f1["macro"], "weighted": f1["weighted"], "consistency": math.nan, "top_change": math.nan}
    if ref is not None:
        row["consistency"] = float(histogram_intersection(answer, ref).mean())
        row["top_change"] = float((answer.argmax(1) != ref.argmax(1)).mean())
    return row


def cover_table(
    predictions: Iterable[CoverPredictions],
    *,
    threshold: float = FALLBACK_THRESHOLD,
    optical: str = OPTICAL,
    radar: str = RADAR,
    fallback_only: bool = False,
) -> pd.DataFrame:
    """The tidy table of the cloud evaluation: one row per model, system, cover and seed.

    The single-sensor Baselines of a seed form one model, :data:`BASELINE_MODEL`, whose
    S1 answer comes from the S1 network and S2 answer from the S2 network; every other
    run is a model of its own (:func:`model_label`). A model's rows at a cover:

    * ``system`` = each sensor: the model fed that sensor alone;
    * ``system`` = :data:`FALLBACK` (models with both ``optical`` and ``radar``): the
      :func:`fallback` answer (``switch_share``: share of patches answered from ``radar``).

    Columns (:data:`TABLE_COLUMNS`): ``macro``, ``weighted`` F1 (:func:`xmodal.metrics.f1_scores`);
    ``homogeneity``: eq. (5) between the model's ``radar`` and ``optical`` answers at this
    cover (the same on every row of a model and cover); ``consistency``: mean histogram
    intersection of the row's answer with the model's clear-sky answer (``optical`` at
    cover 0) for the same patch, and ``top_change``: share of patches whose dominant
    class differs from it; ``switch_consistency`` / ``switch_top_change``: the same over
    the patches the fallback answered from ``radar`` (NaN when none or not a fallback row).

    Args:
        predictions: per run and cover (e.g. :attr:`CloudEvaluation.predictions`).
        threshold: the fallback's cloud-cover threshold.
        optical, radar: the sensor the clouds hide and the one that replaces it.
        fallback_only: only the fallback rows (faster: F1 is the slow part).

    Raises:
        ValueError: two runs give the same model, seed, sensor and cover; a bad threshold.
    """
    if not 0.0 <= threshold <= 1.0:
        raise ValueError(f"Invalid fallback threshold {threshold!r}; it is a cloud cover, in [0, 1]")
    groups: dict[tuple[str, int], dict[float, _Merged]] = {}
    methods: dict[str, str] = {}
    for p in predictions:
        _merge(groups, p)
        methods[p.model] = p.method
    rows: list[dict[str, Any]] = []
    for (model, seed), by_cover in sorted(groups.items()):
        clear = by_cover.get(0.0)
        for cover, g in sorted(by_cover.items()):
            ref = None
            if clear is not None and optical in clear.prob:
                ia, ib = align_ids(g.ids, clear.ids)
                g = g.take(ia)
                ref = clear.prob[optical][ib]
            both = optical in g.prob and radar in g.prob
            hom = homogeneity(g.prob[radar], g.prob[optical]) if both and len(g.ids) else math.nan
            base = {"model": model, "method": methods[model], "modalities": "+".join(g.prob), "cover": cover,
                    "seed": seed, "n": len(g.ids), "homogeneity": hom, "switch_share": math.nan,
                    "switch_consistency": math.nan, "switch_top_change": math.nan}
            for sensor, prob in ({} if fallback_only else g.prob).items():
                rows.append({**base, "system": sensor, **_answer_row(prob, g.target, ref)})
            if both:
                answer, switched = fallback(g.prob[optical], g.prob[radar], g.patch_cover, threshold)
                row = {**base, "system": FALLBACK, **_answer_row(answer, g.target, ref),
                       "switch_share": float(switched.mean())}
                if ref is not None and switched.any():
                    row["switch_consistency"] = float(histogram_intersection(answer[switched], ref[switched]).mean())
                    row["switch_top_change"] = float((answer[switched].argmax(1) != ref[switched].argmax(1)).mean())
                rows.append(row)
    return pd.DataFrame(rows, columns=list(TABLE_COLUMNS))


def threshold_table(
    predictions: Iterable[CoverPredictions],
    thresholds: Sequence[float] = (0.1, FALLBACK_THRESHOLD, 0.5),
) -> pd.DataFrame:
    """The fallback rows of :func:`cover_table` for several thresholds (a ``threshold`` column first)."""
    preds = list(predictions)
    parts = [cover_table(preds, threshold=t, fallback_only=True).assign(threshold=float(t)) for t in thresholds]
    out = pd.concat(parts, ignore_index=True)
    return out[["threshold", *TABLE_COLUMNS]]


# ----------------------------------------------------------------------------- intervals and verdicts
def summarize(
    table: pd.DataFrame,
    metrics: Sequence[str] = SUMMARY_METRICS,
    *,
    confidence: float = CONFIDENCE,
) -> pd.DataFrame:
    """Mean over seeds with its t-interval, per model, system, cover and metric.

    Returns:
        Columns ``model, system, cover, metric, mean, low, high, sd, n`` (``low``/``high``
        NaN with one seed: no spread to estimate).
    """
    long = table.melt(id_vars=["model", "system", "cover", "seed"], value_vars=list(metrics), var_name="metric")
    rows = []
    for (model, system, cover, metric), g in long.groupby(["model", "system", "cover", "metric"], sort=True):
        d = paired_difference(g["value"].to_numpy(np.float64), confidence=confidence)
        rows.append({"model": model, "system": system, "cover": cover, "metric": metric, "mean": d.estimate,
                     "low": d.low, "high": d.high, "sd": d.sd, "n": d.n})
    return pd.DataFrame(rows, columns=["model", "system", "cover", "metric", "mean", "low", "high", "sd", "n"])


def _per_seed(table: pd.DataFrame, model: str, system: str, metric: str) -> pd.DataFrame:
    sub = table[(table["model"] == model) & (table["system"] == system)]
    return sub.pivot_table(index="seed", columns="cover", values=metric, aggfunc="first")


def compare(
    table: pd.DataFrame,
    model: str,
    reference: str = BASELINE_MODEL,
    *,
    system: str = FALLBACK,
    metric: str = "weighted",
    confidence: float = CONFIDENCE,
) -> pd.DataFrame:
    """Paired difference ``model - reference`` over seeds at every cover, for one system and metric.

    Returns:
        Columns ``cover, model, reference, system, metric, estimate, low, high, n, p``.

    Raises:
        CloudEvalError: ``model`` or ``reference`` has no row of ``system``.
    """
    a, b = _per_seed(table, model, system, metric), _per_seed(table, reference, system, metric)
    for name, t in ((model, a), (reference, b)):
        if t.empty:
            raise CloudEvalError(f"No {system!r} rows of model {name!r} in the cloud table "
                                 f"(models: {sorted(set(table['model']))})")
    rows = []
    for cover in sorted(set(a.columns) & set(b.columns)):
        d = paired_difference(a[cover], b[cover], confidence=confidence)
        rows.append({"cover": cover, "model": model, "reference": reference, "system": system, "metric": metric,
                     "estimate": d.estimate, "low": d.low, "high": d.high, "n": d.n, "p": d.p})
    return pd.DataFrame(rows, columns=["cover", "model", "reference", "system", "metric", "estimate", "low",
                                       "high", "n", "p"])


def fallback_claims(
    table: pd.DataFrame,
    model: str = "C+T+M",
    reference: str = BASELINE_MODEL,
    *,
    margin: float = NONINFERIORITY_MARGIN,
    confidence: float = CONFIDENCE,
) -> pd.DataFrame:
    """The claims about the fallback built on one ``model`` against one built on ``reference``.

    One family (Holm's adjustment, :func:`xmodal.analysis.stats.claim_verdicts`):

    * at the highest cover (where the policy answers the most patches from S1):
      ``switch_consistency`` is greater with ``model`` (its answers stay closer to its
      clear-sky answers when it switches sensor), and ``switch_top_change`` is less;
    * at every cover: the fallback's weighted F1 with ``model`` is at least that with
      ``reference`` minus ``margin`` (non-inferiority).

    Returns:
        The claims table of :func:`~xmodal.analysis.stats.claim_verdicts` with the extra
        columns ``cover`` and ``metric``.
    """
    covers = sorted(set(table.loc[table["system"] == FALLBACK, "cover"]))
    if not covers:
        raise CloudEvalError("The cloud table has no fallback rows")
    top = covers[-1]
    rows = []
    for metric, kind, what in (
        ("switch_consistency", "greater", "keeps its answers closer to its clear-sky answers"),
        ("switch_top_change", "less", "changes the dominant class of fewer patches"),
    ):
        a, b = _per_seed(table, model, FALLBACK, metric), _per_seed(table, reference, FALLBACK, metric)
        rows.append({"claim": f"When it switches to S1 (cover {top:.0%}), one {model} {what} than two "
                              f"{reference}s", "cover": top, "metric": metric, "kind": kind,
                     "a": a.get(top, pd.Series(dtype=float)), "b": b.get(top, pd.Series(dtype=float))})
    for c in covers:
        a, b = _per_seed(table, model, FALLBACK, "weighted"), _per_seed(table, reference, FALLBACK, "weighted")
        rows.append({"claim": f"At cover {c:.0%} the fallback with one {model} is as accurate (weighted F1) as "
                              f"with two {reference}s, within {margin}", "cover": c, "metric": "weighted",
                     "kind": "noninferior", "margin": margin,
                     "a": a.get(c, pd.Series(dtype=float)), "b": b.get(c, pd.Series(dtype=float))})
    return claim_verdicts(pd.DataFrame(rows), confidence=confidence)


def _interval(row: Any) -> str:
    if not math.isfinite(row["low"]):
        return f"{row['estimate']:+.3f} ({int(row['n'])} seed, no interval)"
    return (f"{row['estimate']:+.3f} (95% interval {row['low']:+.3f} to {row['high']:+.3f}, "
            f"{int(row['n'])} seeds)")


def verdict_text(claims: pd.DataFrame, model: str = "C+T+M", reference: str = BASELINE_MODEL) -> str:
    """Markdown sentences reading the verdicts of :func:`fallback_claims`, never stronger than they are.

    "holds" / "does not hold" are stated as what the runs show (with the interval);
    "inconclusive" says the study cannot tell; "one seed" says there is no interval.
    """
    out = []
    cons = claims[claims["metric"] == "switch_consistency"]
    top = claims[claims["metric"] == "switch_top_change"]
    for part, what_yes, what_no, unit in (
        (cons, f"one {model} switches sensor **more consistently** than two {reference}s",
         f"two {reference}s switch sensor **more consistently** than one {model}",
         "difference in switch consistency (histogram intersection with the clear-sky answer)"),
        (top, f"one {model} **changes the dominant class of fewer patches** when it switches than two "
              f"{reference}s", f"one {model} **changes the dominant class of more patches** when it switches "
              f"than two {reference}s", "difference in the share of switched patches whose dominant class changed"),
    ):
        if part.empty:
            continue
        row = part.iloc[0]
        v = row["verdict"]
        if v == HOLDS:
            out.append(f"On these runs, {what_yes}: {unit} {_interval(row)}.")
        elif v == DOES_NOT_HOLD:
            out.append(f"On these runs the claim is reversed: {what_no}: {unit} {_interval(row)}.")
        elif v == INCONCLUSIVE:
            out.append(f"The runs cannot tell whether {what_yes}: {unit} {_interval(row)}, an interval that "
                       "includes no difference (after Holm's adjustment).")
        elif v == ONE_SEED:
            out.append(f"With one seed there is no interval, so no verdict on whether {what_yes}: {unit} "
                       f"{_interval(row)}.")
        elif v == NOT_MEASURED:
            out.append(f"Whether {what_yes} is not measured (a run is missing).")
    acc = claims[claims["metric"] == "weighted"]
    if len(acc):
        counts = acc["verdict"].value_counts()
        covers = ", ".join(f"{c:.0%}" for c in acc["cover"])
        if counts.get(ONE_SEED, 0) == len(acc):
            out.append(f"Accuracy of the two fallbacks (covers {covers}): one seed, no interval.")
        else:
            parts = [f"{n} {v}" for v, n in counts.items()]
            out.append(f"That the fallback with one {model} is as accurate as with two {reference}s (weighted F1, "
                       f"within {acc['margin'].iloc[0]}) was tested at covers {covers}: {', '.join(parts)}.")
    return " ".join(out)


# ----------------------------------------------------------------------------- the sensors profile
def sensor_scores(study_dir: str | os.PathLike[str]) -> pd.DataFrame:
    """F1 of every full-training-set run of a study on each of its sensors (as trained and tested).

    Returns:
        Columns ``model, method, modalities, sensor, seed, macro, weighted, run``.
    """
    rows = []
    for run, res in iter_results(study_dir):
        if res.config.get("n_train") is not None:
            continue
        for sensor, m in res.metrics.items():
            rows.append({"model": model_label(res.method, res.modalities), "method": res.method,
                         "modalities": "+".join(res.modalities), "sensor": sensor, "seed": res.seed,
                         "macro": m.get("macro"), "weighted": m.get("weighted"), "run": run.name})
    return pd.DataFrame(rows, columns=["model", "method", "modalities", "sensor", "seed", "macro", "weighted", "run"])


def _pair(a: str, b: str) -> str:
    """``"s1|s2"``: a pair of sensors in a fixed order (S1, S2, then the others by name)."""
    order = {RADAR: 0, OPTICAL: 1}
    return "|".join(sorted((a, b), key=lambda m: (order.get(m, 2), m)))


def pair_homogeneity(study_dir: str | os.PathLike[str]) -> pd.DataFrame:
    """Eq. (5) for every pair of sensors, per model and seed, on the full training set.

    A cross-modal model's pairs come from its result; the Baseline's from the
    predictions of its separately trained single-sensor runs of the same seed, aligned by
    patch.

    Returns:
        Columns ``model, pair, seed, homogeneity`` (``pair`` like ``"s1|s2"``).
    """
    rows = []
    baselines: dict[int, dict[str, RunDir]] = {}
    for run, res in iter_results(study_dir):
        if res.config.get("n_train") is not None:
            continue
        if res.method == "baseline":
            baselines.setdefault(int(res.seed or 0), {})[res.modalities[0]] = run
            continue
        for pair, s in res.homogeneity.items():
            rows.append({"model": model_label(res.method, res.modalities), "pair": _pair(*pair.split("|")),
                         "seed": res.seed,
                         "homogeneity": s})
    for seed, by_sensor in sorted(baselines.items()):
        sensors = list(by_sensor)
        preds = {m: by_sensor[m].predictions() for m in sensors}
        for i, a in enumerate(sensors):
            for b in sensors[i + 1:]:
                ia, ib = align_ids(preds[a].ids[a], preds[b].ids[b])
                if len(ia):
                    rows.append({"model": BASELINE_MODEL, "pair": _pair(a, b), "seed": seed,
                                 "homogeneity": homogeneity(preds[a].prob[a][ia], preds[b].prob[b][ib])})
    return pd.DataFrame(rows, columns=["model", "pair", "seed", "homogeneity"])


# ----------------------------------------------------------------------------- what the chapter says
#: Wall time of ``xmodal clouds`` on the default study (40 runs: 10 seeds of Baseline S1 and S2, C,
#: C+T+M; 5 covers of the 108 test scenes), measured from a fresh clone on a 2-core CPU on
#: 2026-11-25: 212 s (variants 38 s, evaluation 169 s) while other work shared the CPU; alone,
#: about 100 s. The sensors profile's evaluation took 121 s.
CLOUDS_MINUTES: Final[str] = "about 2-4 minutes"
#: Wall time of the ``sensors`` profile's ``make study`` (its data, 15 runs with ``--jobs 2`` and
#: three notebooks), measured from a fresh clone on a 2-core CPU on 2026-11-25: 3 min 49 s.
SENSORS_MINUTES: Final[str] = "about 4 minutes"


def evaluation_note(ev: CloudEvaluation | None, study: str, data_root: str | os.PathLike[str] | None) -> str:
    """Markdown: which data the cloud figures show, or how to make the evaluation they need."""
    if ev is None:
        data = str(data_root) if data_root is not None else f"data/{study}"
        return (f"**The study `{study}` has no cloud evaluation yet**, so this page shows no figure. It takes "
                f"{CLOUDS_MINUTES} for the default study (no training: the trained runs are evaluated again on "
                f"cloudy renderings of their test split):\n\n```bash\nxmodal clouds --study {study} --data {data} "
                "--runs runs\n```\n\nthen build the book again. It needs the synthetic data the study ran on: real "
                "SEN12MS has no cloud-free and cloudy rendering of the same acquisition.")
    note = f"**Data of every figure and table in the next sections:** {ev.source}."
    trained = ev.manifest.get("training_thick_clouds")
    if trained == "off":
        note += " The models were trained on the study's own S2, which has no thick clouds."
    elif trained:
        note += f" The models were trained on the study's own S2, with thick clouds ({trained} cover)."
    if ev.stale:
        note += (f" {len(ev.stale)} run(s) changed since their cloud evaluation and are left out "
                 f"({', '.join(ev.stale[:3])}{', ...' if len(ev.stale) > 3 else ''}): run `xmodal clouds` again.")
    return note


@dataclass(frozen=True)
class SensorsSection:
    """What the chapter shows of the ``sensors`` profile.

    Attributes:
        study_dir: the profile's study folder.
        scores: :func:`sensor_scores` (None when the profile has no finished run).
        homogeneity: :func:`pair_homogeneity` (None likewise).
        clear: the cloud evaluation of the study trained on clear S2 (``default``), if made.
        cloudy: the cloud evaluation of the ``sensors`` study (trained with cloudy S2), if made.
        note: Markdown saying what is shown, or how to produce it and how long it takes.
    """

    study_dir: Path
    scores: pd.DataFrame | None
    homogeneity: pd.DataFrame | None
    clear: CloudEvaluation | None
    cloudy: CloudEvaluation | None
    note: str


def sensors_section(runs_dir: str | os.PathLike[str], clear_study: str = "default") -> SensorsSection:
    """The ``sensors`` profile's results under ``runs_dir`` (whatever study the book shows).

    Args:
        runs_dir: the folder holding one folder per study.
        clear_study: the study trained on clear S2 whose cloud evaluation it is compared with.
    """
    runs = Path(runs_dir)
    study = runs / SENSORS_STUDY
    commands = [(f"make study STUDY={SENSORS_STUDY}",
                 f"its data (data/{SENSORS_STUDY}) and 15 runs: {SENSORS_MINUTES}"),
                (f"xmodal clouds --study {SENSORS_STUDY} --data data/{SENSORS_STUDY} --runs runs", CLOUDS_MINUTES),
                ("make book", "this page then shows both studies")]
    width = max(len(c) for c, _ in commands) + 2
    how = ("```bash\n" + "".join(f"{c:<{width}}# {why}\n" for c, why in commands) + "```\n\n"
           f"(or `make book STUDY={SENSORS_STUDY}` for a book of that study alone).")
    scores = sensor_scores(study) if study.is_dir() else None
    if scores is None or scores.empty:
        return SensorsSection(study, None, None, None, None,
                              f"**The `{SENSORS_STUDY}` profile has not been run here** (no finished run in "
                              f"`{study}`). To produce it:\n\n{how}")
    hom = pair_homogeneity(study)
    cloudy_ev = load_evaluation(study, missing_ok=True)
    clear_ev = load_evaluation(runs / clear_study, missing_ok=True) if (runs / clear_study).is_dir() else None
    seeds = sorted({int(s) for s in scores["seed"].dropna()})
    note = (f"**Data of this section:** synthetic SEN12MS-like data with thick clouds drawn into the S2 of some "
            f"scenes (study `{SENSORS_STUDY}`, `{study}`): {scores['run'].nunique()} full-training-set runs, "
            f"{len(seeds)} seed{'s' if len(seeds) != 1 else ''} ({', '.join(map(str, seeds))}); scores on the "
            "study's own (cloudy) test split.")
    if cloudy_ev is None or clear_ev is None:
        missing = [f"`xmodal clouds --study {s} --data data/{s} --runs runs`"
                   for s, e in ((clear_study, clear_ev), (SENSORS_STUDY, cloudy_ev)) if e is None]
        note += (" The comparison of models trained on clear and on cloudy S2 under fixed covers needs the cloud "
                 f"evaluation of both studies: run {' and '.join(missing)} ({CLOUDS_MINUTES} each).")
    return SensorsSection(study, scores, hom, clear_ev, cloudy_ev, note)
