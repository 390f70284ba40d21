"""What a tuning study searches: the ``tuning`` block of a profile, checked, and the ranges per method.

A profile with a ``tuning`` block (``xmodal/studies/tuned.yaml``) tunes every model of its
``runs`` with the same budget::

    tuning:
      trials: 8             # trials per model, the same for every model
      seed: 100             # the training seed of every trial (the final runs use the profile's seeds)
      sampler_seed: 0       # seeds Optuna's TPE sampler
      startup_trials: 3     # random trials before TPE models the results
      pruner: {startup_trials: 3, warmup_epochs: 4}   # Optuna's median pruner, on the validation score
      space:
        shared: {lr: {low: 3.0e-4, high: 3.0e-3, log: true}, ...}   # every method, the same ranges
        T: {alpha: {low: 0.1, high: 10.0, log: true}, ...}          # methods with the triplet loss
        M: {grl_weight: {low: 0.03, high: 3.0, log: true}}         # methods with the modality loss

Each parameter is a config key (:class:`~xmodal.config.ExperimentConfig`) with a float or int range
(``low``, ``high``, optional ``log``) or a list of ``choices``. A method searches the ``shared``
parameters and those of each of its losses (:data:`xmodal.config.METHOD_LOSSES`: ``C``, ``T``,
``M``), so two methods that share a loss search its weight over the same range.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from xmodal.config import METHOD_LOSSES, ConfigError, ExperimentConfig
from xmodal.errors import XmodalError

__all__ = ["Param", "TuningError", "TuningSpec", "method_space", "tuning_spec"]

#: The groups of the search space: every method's, and one per loss.
GROUPS: tuple[str, ...] = ("shared", "C", "T", "M")


class TuningError(XmodalError, ValueError):
    """A ``tuning`` block, a storage or a tuning run is invalid; the message names the key or file."""


@dataclasses.dataclass(frozen=True)
class Param:
    """One searched config key: a range (``low``, ``high``, ``log``) or ``choices``."""

    name: str
    low: float | None = None
    high: float | None = None
    log: bool = False
    choices: tuple[Any, ...] | None = None
    integer: bool = False

    def describe(self) -> str:
        """The range in words, e.g. ``"3e-04 to 3e-03 (log)"`` or ``"one of constant, acmr"``."""
        if self.choices is not None:
            return "one of " + ", ".join(str(c) for c in self.choices)
        return f"{self.low:g} to {self.high:g}" + (" (log scale)" if self.log else "")

    def suggest(self, trial: Any) -> Any:
        """The trial's value (an :class:`optuna.trial.Trial`)."""
        if self.choices is not None:
            return trial.suggest_categorical(self.name, list(self.choices))
        if self.integer:
            return trial.suggest_int(self.name, int(self.low or 0), int(self.high or 0), log=self.log)
        return trial.suggest_float(self.name, float(self.low or 0.0), float(self.high or 0.0), log=self.log)


@dataclasses.dataclass(frozen=True)
class TuningSpec:
    """A checked ``tuning`` block (see the module docstring)."""

    trials: int
    seed: int
    sampler_seed: int
    startup_trials: int
    pruner_startup_trials: int
    pruner_warmup_epochs: int
    space: dict[str, tuple[Param, ...]]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able record (what the archive keeps)."""
        out = dataclasses.asdict(self)
        out["space"] = {g: [dataclasses.asdict(p) for p in ps] for g, ps in self.space.items()}
        return out


def _param(group: str, name: str, value: Any, where: str) -> Param:
    if name not in ExperimentConfig.field_names():
        raise TuningError(f"{where}: 'tuning.space.{group}.{name}' is not a config key")
    if not isinstance(value, Mapping):
        raise TuningError(f"{where}: 'tuning.space.{group}.{name}' must be a mapping with low/high or choices")
    if "choices" in value:
        choices = value["choices"]
        if not isinstance(choices, Sequence) or isinstance(choices, str) or not choices:
            raise TuningError(f"{where}: 'tuning.space.{group}.{name}.choices' must be a non-empty list")
        return Param(name, choices=tuple(choices))
    try:
        low, high = value["low"], value["high"]
    except KeyError as exc:
        raise TuningError(f"{where}: 'tuning.space.{group}.{name}' lacks {exc.args[0]!r}") from None
    integer = isinstance(low, int) and isinstance(high, int) and not isinstance(low, bool)
    if not (isinstance(low, (int, float)) and isinstance(high, (int, float)) and low < high):
        raise TuningError(f"{where}: 'tuning.space.{group}.{name}' needs numbers low < high, got {low!r}, {high!r}")
    log = bool(value.get("log", False))
    if log and low <= 0:
        raise TuningError(f"{where}: 'tuning.space.{group}.{name}' is searched on a log scale: low must be > 0")
    return Param(name, float(low), float(high), log, integer=integer)


def _int(block: Mapping[str, Any], key: str, default: int, where: str, minimum: int = 0) -> int:
    value = block.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise TuningError(f"{where}: '{key}' must be an integer >= {minimum}, got {value!r}")
    return value


def tuning_spec(spec: Mapping[str, Any]) -> TuningSpec:
    """The checked ``tuning`` block of a loaded study spec.

    Raises:
        TuningError: no ``tuning`` block, an unknown key, a bad range, or a parameter that is
            not a config key (the message names the study file and the key).
    """
    where = f"Study file {spec.get('source') or spec.get('name')}"
    block = spec.get("tuning")
    if not isinstance(block, Mapping):
        raise TuningError(f"{where} has no 'tuning' block: only a tuning profile (e.g. 'tuned') can be tuned")
    known = {"trials", "seed", "sampler_seed", "startup_trials", "pruner", "space"}
    unknown = sorted(set(block) - known)
    if unknown:
        raise TuningError(f"{where}: unknown key(s) {unknown} in 'tuning'; valid keys are {sorted(known)}")
    pruner = block.get("pruner") or {}
    if not isinstance(pruner, Mapping) or set(pruner) - {"startup_trials", "warmup_epochs"}:
        raise TuningError(f"{where}: 'tuning.pruner' takes startup_trials and warmup_epochs, got {pruner!r}")
    space_block = block.get("space") or {}
    bad = sorted(set(space_block) - set(GROUPS))
    if bad or not space_block:
        raise TuningError(f"{where}: 'tuning.space' must map some of {list(GROUPS)} to parameters, got {bad or '{}'}")
    space = {g: tuple(_param(g, n, v, where) for n, v in (space_block.get(g) or {}).items()) for g in GROUPS}
    names = [p.name for ps in space.values() for p in ps]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise TuningError(f"{where}: 'tuning.space' searches {twice} in two groups; give each key one range")
    return TuningSpec(
        trials=_int(block, "trials", 8, where, 1),
        seed=_int(block, "seed", 100, where),
        sampler_seed=_int(block, "sampler_seed", 0, where),
        startup_trials=_int(block, "startup_trials", 3, where),
        pruner_startup_trials=_int(pruner, "startup_trials", 3, where),
        pruner_warmup_epochs=_int(pruner, "warmup_epochs", 4, where),
        space=space,
    )


def method_space(tuning: TuningSpec, method: str) -> tuple[Param, ...]:
    """The parameters a method searches: the shared ones and those of each of its losses, in that order."""
    try:
        losses = METHOD_LOSSES[method]
    except KeyError:
        raise ConfigError(f"Invalid value for 'method': {method!r}; choose one of {list(METHOD_LOSSES)}") from None
    return tuning.space["shared"] + tuple(p for g in ("C", "T", "M") if g in losses for p in tuning.space[g])
