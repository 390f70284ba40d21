"""The one validated configuration object of an experiment.

Every knob of a training run lives here, once. The notebook's ``parameters``
cell, the CLI, the study specs and the tests all build an
:class:`ExperimentConfig`; an unknown key or a bad value raises
:class:`ConfigError` naming it. The config is saved with every result, and its
hash (:meth:`ExperimentConfig.hash`) names the run's directory.

A run's identity (the hash) is *what it computed from what it saw*, not where
things sat:

- ``data_root`` says where to read the data; it is **not** in the hash, so moving
  or copying a data folder together with its runs keeps every run (the next
  sweep finds and reuses them). What the data *is* enters the hash as
  ``data_fingerprint`` (:func:`xmodal.fingerprint.data_fingerprint`: the
  generator's fingerprint for a synthetic root, a digest of the season's file
  names and sizes and the split lists for real SEN12MS). The sweep and every
  training entry point (``xmodal train``, ``python -m xmodal.training``, the
  teaching helpers: :func:`xmodal.training.identified_config`) fill it from the
  root and refuse a run whose recorded fingerprint differs from the root's;
  ``None`` means "not recorded" (a config built by hand), which identifies the
  run by its settings alone.
- ``threads`` (torch intra-op threads) changes the floating-point summation order,
  so it **is** in the hash: the study profiles fix it, and a sweep over a spec
  that leaves it ``None`` fills in ``cores // jobs`` before hashing.
- :attr:`ExperimentConfig.RUNTIME_KEYS` (progress bars, DataLoader workers, the
  cache folder, the device) do not change the numbers on a given device and are
  left out, as is ``data_root`` (:attr:`ExperimentConfig.LOCATION_KEYS`).

Names follow the paper: ``alpha`` and ``beta`` weight the triplet and the
classification loss (eq. 4), ``lam`` and ``mu`` are the negative-pair weight
and margin of the triplet loss (eq. 3).

``val_fraction`` holds whole scenes of the training split out for validation
(:func:`xmodal.data.splits.carve_validation`); the run scores them after every epoch (weighted
F1, mean over its sensors: :func:`xmodal.training.validation.validation_score`), and with
``patience`` it stops after that many epochs without a better score and keeps the best epoch's
weights (``epochs`` is then the cap). Every choice of the study is made on the validation
scenes; the test scenes are read by the final evaluation only.

``pairing`` (:data:`xmodal.data.splits.PAIRINGS`) says whether the sensors train on the same
patches (``"aligned"``) or on scenes of their own (``"disjoint"``: the training scenes are
partitioned between the sensors by :func:`xmodal.data.splits.partition_scenes`, ``n_train`` applies
to each sensor's part, and the test set stays aligned). ``"disjoint"`` tests the paper's claim that
the method needs no co-located training data; it needs two or more modalities.

How the modality loss ``M`` hides the sensor is ``alignment`` (:data:`xmodal.losses.ALIGNMENTS`):
``"reversal"``, the paper's ``- L_M`` of eq. (4) through a gradient reversal layer (Ganin &
Lempitsky 2015), is the default; the others are named ablations: ``"confusion"``, the encoders
push the modality classifier towards uniform outputs (Tzeng et al. 2015, ICCV); ``"coral"``,
Deep CORAL on the sensors' latent covariances (Sun & Saenko 2016); ``"mmd"``, a multi-kernel
maximum mean discrepancy (Gretton et al. 2012, JMLR; Long et al. 2015). ``grl_weight`` and
``grl_schedule`` are the weight and schedule of whichever alignment is used; methods without
``M`` ignore all three.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, ClassVar, get_type_hints

from xmodal.errors import XmodalError

__all__ = ["ConfigError", "ExperimentConfig", "METHODS", "METHOD_LOSSES", "choices"]

#: Method -> which losses it trains with (C = classification, M = modality, T = triplet).
METHOD_LOSSES: dict[str, frozenset[str]] = {
    "baseline": frozenset({"C"}),
    "C": frozenset({"C"}),
    "C+M": frozenset({"C", "M"}),
    "C+T": frozenset({"C", "T"}),
    "C+T+M": frozenset({"C", "T", "M"}),
}
METHODS: tuple[str, ...] = tuple(METHOD_LOSSES)

#: Runtime choices the trainer implements (defined here: the trainer reads them from the config).
OPTIMIZERS: tuple[str, ...] = ("adam", "adamw", "sgd")
LR_SCHEDULES: tuple[str, ...] = ("constant", "cosine")
DEVICES: tuple[str, ...] = ("auto", "cpu", "cuda")
PRECISIONS: tuple[str, ...] = ("fp32", "bf16", "fp16")


@functools.cache
def choices() -> dict[str, tuple[Any, ...]]:
    """Config key -> its valid values, taken from the modules that define them.

    Seasons, label schemes, split methods, pairings, normalizations, bad-patch policies and
    modalities come from :mod:`xmodal.data`, backbones from :mod:`xmodal.models`,
    GRL schedules and alignments from :mod:`xmodal.losses`. Those modules import torch, so the
    first call costs that import (about two seconds); importing this module and
    building configs that are never validated stay cheap. The result is cached.
    """
    from xmodal.data import MODALITIES, SEASONS
    from xmodal.data.labels import LABEL_SCHEMES
    from xmodal.data.sen12ms import BAD_PATCH_CHOICES, NORMALIZATIONS  # the reader's own lists
    from xmodal.data.splits import PAIRINGS, SPLIT_METHODS
    from xmodal.losses import ALIGNMENTS, GRL_SCHEDULES
    from xmodal.models import BACKBONES

    return {
        "method": METHODS,
        "season": tuple(SEASONS),
        "label_scheme": tuple(LABEL_SCHEMES),
        "split": tuple(SPLIT_METHODS),
        "pairing": tuple(PAIRINGS),
        "backbone": tuple(BACKBONES),
        "grl_schedule": tuple(GRL_SCHEDULES),
        "alignment": tuple(ALIGNMENTS),
        "optimizer": OPTIMIZERS,
        "lr_schedule": LR_SCHEDULES,
        "device": DEVICES,
        "precision": PRECISIONS,
        "normalization": tuple(NORMALIZATIONS),
        "bad_patch": tuple(BAD_PATCH_CHOICES),
        "modalities": tuple(MODALITIES),
    }


class ConfigError(XmodalError, ValueError):
    """A configuration key or value is invalid; the message names it."""


@dataclass
class ExperimentConfig:
    """All settings of one training run (one point of a study).

    Attributes are grouped as data, model, losses, optimisation, runtime. The
    defaults are a small CPU experiment on the synthetic data; the study specs
    in ``xmodal/studies/`` override them per profile.
    """

    # --- what is trained -------------------------------------------------------
    method: str = "C+T+M"  # baseline | C | C+M | C+T | C+T+M
    modalities: list[str] = field(default_factory=lambda: ["s1", "s2"])  # baseline: exactly one
    # --- data ------------------------------------------------------------------
    data_root: str = "data/synthetic"  # a SEN12MS root in the official layout (where to read: not in the hash)
    data_fingerprint: str | None = None  # what the root holds (filled by the sweep; None: not recorded)
    season: str = "winter"  # spring | summer | fall | winter
    label_scheme: str = "dfc9"  # dfc9 (nine classes, Savanna ignored: our reading of the paper's) | dfc10
    split: str = "scene"  # scene (no overlap leak) | random (a reading of the paper's) | official (train/test lists)
    test_fraction: float = 4000 / 31825  # share of patches (random) or scenes (scene) held out
    val_fraction: float = 0.0  # share of the training patches held out by whole scenes for validation (0: none)
    pairing: str = "aligned"  # aligned (every sensor trains on the same patches) | disjoint (each sensor
    #                           trains on its own scenes: no place is seen by two sensors; the test set stays aligned)
    n_train: int | None = None  # training patches per modality (None = all of the split)
    modality_n_train: dict[str, int] = field(default_factory=dict)  # training patches of these modalities
    #                           (overrides n_train for them: few S1 patches beside many S2; {} = n_train for all)
    n_test: int | None = None  # test patches (None = all of the split)
    patch_size: int | None = None  # side in pixels fed to the network (None = as stored)
    normalization: str = "sen12ms"  # sen12ms (published statistics) | dataset (computed on the training split)
    bad_patch: str = "raise"  # raise | skip (and report) on a corrupt or inconsistent patch
    cache_dir: str | None = None  # packed-cache folder (None = <data_root>/.xmodal_cache)
    # --- model -----------------------------------------------------------------
    backbone: str = "resnet18"  # resnet18 | resnet34 | resnet50 (the paper's), trained from scratch
    backbone_width: int = 64  # channels of the backbone's first stage (64: torchvision's, the paper's ResNet)
    latent_dim: int = 1024  # shared latent space (the paper's 1024)
    merge_hidden: list[int] = field(default_factory=lambda: [1024, 1024])  # hidden widths of the 3-layer merge nets
    classifier_hidden: int = 512  # hidden width of the shared classifier
    modality_hidden: int = 256  # hidden width of the modality classifier
    dropout: float = 0.2  # dropout in merge nets and classifier heads
    # --- losses (eq. 3, 4) -------------------------------------------------------
    alpha: float = 1.0  # weight of the triplet loss L_T
    beta: float = 1.0  # weight of the classification loss L_C
    lam: float = 1.0  # lambda: weight of the negative term in L_T
    mu: float = 1.0  # margin of the negative term in L_T
    grl_weight: float = 1.0  # final weight w of the alignment (the gradient reversal's, or the `alignment` term's)
    grl_schedule: str = "acmr"  # schedule of w: constant | acmr (2/(1+exp(-10p))-1 over training progress p)
    alignment: str = "reversal"  # how M hides the sensor: reversal (the paper's GRL) | confusion | coral | mmd
    positive_threshold: float = 0.5  # histogram intersection >= this: "similar" class content
    negative_threshold: float = 0.1  # histogram intersection <= this: "different" class content
    triplet_normalize: bool = True  # eq. 3 distances between unit-length latents (False: raw vectors)
    # --- optimisation ------------------------------------------------------------
    epochs: int = 10  # passes over the training set (with patience: the cap)
    patience: int | None = None  # stop after this many epochs without a better validation score (None: all epochs)
    steps_per_epoch: int | None = None  # optimisation steps per epoch (None = ceil(largest training set / batch_size))
    batch_size: int = 32  # per modality and step
    lr: float = 1e-3  # learning rate
    lr_schedule: str = "constant"  # constant | cosine (decays to 0 over the run's steps)
    weight_decay: float = 1e-4  # L2 / decoupled weight decay
    optimizer: str = "adam"  # adam | adamw | sgd
    seed: int = 0  # seeds data order and initialisation (and the split unless split_seed is set)
    split_seed: int | None = None  # seeds the split and the n_train/n_test subsample (None: seed)
    # --- runtime -----------------------------------------------------------------
    device: str = "auto"  # auto (CUDA when present) | cpu | cuda
    precision: str = "fp32"  # fp32 | bf16 (autocast) | fp16 (autocast + scaler, CUDA)
    channels_last: bool = False  # channels_last memory format for the backbones
    num_workers: int = 0  # DataLoader workers per modality
    threads: int | None = None  # torch intra-op threads (None = torch's default); in the hash
    n_latent: int = 500  # test patches per modality whose latent vectors are saved (UMAP)
    progress: bool = True  # tqdm progress bars

    # ------------------------------------------------------------------------
    def __post_init__(self) -> None:
        self.validate()

    @classmethod
    def field_names(cls) -> list[str]:
        """The config keys, in declaration order (the notebook's parameters follow it)."""
        return [f.name for f in fields(cls)]

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> ExperimentConfig:
        """Build a config from a mapping; unknown keys raise :class:`ConfigError`."""
        if not isinstance(values, dict):
            raise ConfigError(f"Config must be a mapping, got {type(values).__name__}")
        known = set(cls.field_names())
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(
                f"Unknown config key(s) {unknown}; valid keys are {sorted(known)}"
            )
        return cls(**values)

    @classmethod
    def from_file(cls, path: str | Path) -> ExperimentConfig:
        """Read a YAML or JSON file holding a mapping of config keys."""
        import yaml

        p = Path(path)
        try:
            data = yaml.safe_load(p.read_text())
        except FileNotFoundError:
            raise ConfigError(f"Config file not found: {p}") from None
        return cls.from_dict(data or {})

    def to_dict(self) -> dict[str, Any]:
        """Every key and value (what a run's result records as ``config``)."""
        return dataclasses.asdict(self)

    def replace(self, **changes: Any) -> ExperimentConfig:
        """A copy with ``changes`` applied (validated, unknown keys rejected)."""
        d = self.to_dict()
        unknown = sorted(set(changes) - set(d))
        if unknown:
            raise ConfigError(f"Unknown config key(s) {unknown}")
        d.update(changes)
        return type(self)(**d)

    #: Keys that do not change what is computed (on one device), left out of the hash.
    RUNTIME_KEYS: ClassVar[tuple[str, ...]] = ("progress", "num_workers", "cache_dir", "device")
    #: Keys that say where things are, left out of the hash (``data_fingerprint`` says what).
    LOCATION_KEYS: ClassVar[tuple[str, ...]] = ("data_root",)
    #: Keys added after runs existed, left out of the hash at the value that changes nothing (no
    #: validation split, no early stopping), so the runs made before them keep their folders.
    NEUTRAL_VALUES: ClassVar[dict[str, Any]] = {"val_fraction": 0.0, "patience": None, "modality_n_train": {}}

    @classmethod
    def identity_of(cls, config: Mapping[str, Any]) -> dict[str, Any]:
        """What identifies a run, from a config as a mapping (e.g. the ``config`` a result records).

        Every key but :attr:`RUNTIME_KEYS` and :attr:`LOCATION_KEYS`, and the keys of
        :attr:`NEUTRAL_VALUES` at their neutral value: the same settings on the same data
        (``data_fingerprint``) are the same run wherever the data and the runs sit.
        :meth:`hash` hashes exactly this; anything that groups or tells runs
        apart (the explorer's models, for one) uses it rather than a list of its own.
        """
        skip = set(cls.RUNTIME_KEYS) | set(cls.LOCATION_KEYS)
        neutral = cls.NEUTRAL_VALUES
        return {k: v for k, v in config.items()
                if k not in skip and not (k in neutral and v == neutral[k])}

    def identity(self) -> dict[str, Any]:
        """What identifies this run (:meth:`identity_of` of :meth:`to_dict`); :meth:`hash` hashes it."""
        return self.identity_of(self.to_dict())

    def hash(self) -> str:
        """Stable 12-hex-digit hash of everything that changes the result: :meth:`identity`.

        The same settings on the same data (``data_fingerprint``) give the same hash
        wherever the data and the runs sit.
        """
        blob = json.dumps(self.identity(), sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:12]

    @property
    def losses(self) -> frozenset[str]:
        """Losses this method trains with, e.g. ``{"C", "T", "M"}``."""
        return METHOD_LOSSES[self.method]

    # ------------------------------------------------------------------------
    def validate(self) -> None:
        """Check every value; raise :class:`ConfigError` naming the first bad one."""
        hints = get_type_hints(type(self))
        for f in fields(self):
            value = getattr(self, f.name)
            _check_type(f.name, value, hints[f.name])
        valid = choices()
        for key, allowed in valid.items():
            if key != "modalities" and getattr(self, key) not in allowed:
                raise ConfigError(
                    f"Invalid value for {key!r}: {getattr(self, key)!r}; choose one of {list(allowed)}"
                )
        mods = self.modalities
        if not mods:
            raise ConfigError("Invalid value for 'modalities': empty list")
        for m in mods:
            if m not in valid["modalities"]:
                raise ConfigError(
                    f"Invalid value for 'modalities': unknown modality {m!r}; choose from {list(valid['modalities'])}"
                )
        if self.data_fingerprint is not None and not self.data_fingerprint.strip():
            raise ConfigError("Invalid value for 'data_fingerprint': empty string; use null (not recorded)")
        if len(set(mods)) != len(mods):
            raise ConfigError(f"Invalid value for 'modalities': duplicates in {mods}")
        if self.method == "baseline" and len(mods) != 1:
            raise ConfigError(
                f"Invalid value for 'modalities': the baseline trains on exactly one modality, got {mods}"
            )
        if self.method != "baseline" and len(mods) < 2:
            raise ConfigError(
                f"Invalid value for 'modalities': method {self.method!r} needs at least two modalities, got {mods}"
            )
        if self.pairing == "disjoint" and len(mods) < 2:
            raise ConfigError(
                f"Invalid value for 'pairing': pairing 'disjoint' needs at least two modalities (each trains on "
                f"scenes of its own), got {mods} (method {self.method!r}); use 'aligned'"
            )
        _positive("epochs", self.epochs)
        _positive("batch_size", self.batch_size)
        _positive("latent_dim", self.latent_dim)
        if self.backbone_width <= 0 or self.backbone_width % 8:
            raise ConfigError(
                f"Invalid value for 'backbone_width': {self.backbone_width!r}; must be a positive multiple of 8 "
                "(64: torchvision's ResNet)"
            )
        _positive("classifier_hidden", self.classifier_hidden)
        _positive("modality_hidden", self.modality_hidden)
        _positive("n_latent", self.n_latent, allow_zero=True)
        _positive("num_workers", self.num_workers, allow_zero=True)
        if self.threads is not None:
            _positive("threads", self.threads)
        stray = sorted(set(self.modality_n_train) - set(mods))
        if stray:
            raise ConfigError(
                f"Invalid value for 'modality_n_train': {self.modality_n_train!r}; modalities {stray} are not "
                f"trained by this run (modalities {mods})"
            )
        for m, n in self.modality_n_train.items():
            _positive(f"modality_n_train[{m!r}]", n)
        for name in ("n_train", "n_test", "patch_size", "steps_per_epoch"):
            v = getattr(self, name)
            if v is not None:
                _positive(name, v)
        if len(self.merge_hidden) != 2 or any(h <= 0 for h in self.merge_hidden):
            raise ConfigError(
                f"Invalid value for 'merge_hidden': {self.merge_hidden!r}; the merge nets have 3 layers, "
                "so give two positive hidden widths"
            )
        if not 0.0 < self.test_fraction < 1.0:
            raise ConfigError(f"Invalid value for 'test_fraction': {self.test_fraction!r}; must be in (0, 1)")
        if not 0.0 <= self.val_fraction < 1.0:
            raise ConfigError(f"Invalid value for 'val_fraction': {self.val_fraction!r}; must be in [0, 1)")
        if self.patience is not None:
            _positive("patience", self.patience)
            if self.val_fraction == 0.0:
                raise ConfigError(
                    f"Invalid value for 'patience': {self.patience!r}; early stopping watches the validation "
                    "split, so set val_fraction > 0 (or patience null: train every epoch)"
                )
        if not 0.0 <= self.dropout < 1.0:
            raise ConfigError(f"Invalid value for 'dropout': {self.dropout!r}; must be in [0, 1)")
        if not self.lr > 0:
            raise ConfigError(f"Invalid value for 'lr': {self.lr!r}; must be > 0")
        for name in ("alpha", "beta", "lam", "mu", "grl_weight", "weight_decay"):
            if getattr(self, name) < 0:
                raise ConfigError(f"Invalid value for {name!r}: {getattr(self, name)!r}; must be >= 0")
        if not 0.0 <= self.negative_threshold < self.positive_threshold <= 1.0:
            raise ConfigError(
                "Invalid values for 'negative_threshold'/'positive_threshold': need "
                f"0 <= negative ({self.negative_threshold}) < positive ({self.positive_threshold}) <= 1"
            )
        if self.seed < 0:
            raise ConfigError(f"Invalid value for 'seed': {self.seed!r}; must be >= 0")
        if self.split_seed is not None and self.split_seed < 0:
            raise ConfigError(f"Invalid value for 'split_seed': {self.split_seed!r}; must be >= 0 or null (= seed)")

    @property
    def data_seed(self) -> int:
        """The seed of the split and the subsample: ``split_seed``, or ``seed`` when it is unset."""
        return self.seed if self.split_seed is None else self.split_seed


def _positive(name: str, value: int, allow_zero: bool = False) -> None:
    if value < 0 or (value == 0 and not allow_zero):
        raise ConfigError(f"Invalid value for {name!r}: {value!r}; must be {'>= 0' if allow_zero else '> 0'}")


def _check_type(name: str, value: Any, hint: Any) -> None:
    """Minimal runtime type check for the simple types used above."""
    import types
    import typing

    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(hint)
        if value is None and type(None) in args:
            return
        hint = next(a for a in args if a is not type(None))
        origin = typing.get_origin(hint)
    if origin is dict:
        key_t, item = typing.get_args(hint)
        if not isinstance(value, dict) or not all(_is(k, key_t) and _is(v, item) for k, v in value.items()):
            raise ConfigError(f"Invalid value for {name!r}: {value!r}; expected a mapping of {key_t.__name__} "
                              f"to {item.__name__}")
        return
    if origin is list:
        (item,) = typing.get_args(hint)
        if not isinstance(value, list) or not all(_is(v, item) for v in value):
            raise ConfigError(f"Invalid value for {name!r}: {value!r}; expected a list of {item.__name__}")
        return
    if not _is(value, hint):
        raise ConfigError(f"Invalid value for {name!r}: {value!r}; expected {getattr(hint, '__name__', hint)}")


def _is(value: Any, tp: Any) -> bool:
    if tp is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if tp is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, tp)
