"""The ``calibration`` and ``regime`` blocks of a profile, checked.

A calibration profile (``xmodal/studies/calibrated.yaml``) says which knob sets each sensor's
difficulty and what its Baseline should score::

    calibration:
      targets: {s1: 0.63, s2: 0.77}   # the paper's Baseline weighted F1 (Figure 2)
      tolerance: 0.02                 # how close the achieved scores must come
      knobs:                          # per sensor: the knob that sets it, its search range and first values
        s1: {knob: s1_contrast, low: 0.5, high: 3.0, start: [1.0, 1.6]}
        s2: {knob: s2_noise, low: 0.0, high: 1.5, start: [1.0, 0.5]}
      seeds: [0, 1, 2]                # training seeds of every round
      data_seed: 1                    # the calibration scenes: another draw of the world (never the study's)
      rounds: 6                       # most rounds of the search

A regime profile (``xmodal/studies/regime.yaml``) says which knobs the map crosses::

    regime:
      axes:                           # two knobs (:data:`xmodal.data.knobs.KNOBS`), three levels or more each
        s1_contrast: [1.0, 1.5, 2.0]
        n_train_s1: [null, 290, 72]   # null: all of S1's training patches
      seeds: [0, 1, 2]
      methods: [C, C+T+M]             # compared with the Baselines of their cell

The knobs are the world knobs of :mod:`xmodal.data.knobs`; a generator knob makes a world (a data
root) per level, a training knob makes run groups within a world.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from xmodal.config import METHODS
from xmodal.data.knobs import Knob, KnobError, knob
from xmodal.errors import XmodalError

__all__ = ["CalibrationSpec", "RegimeSpec", "WorldError", "calibration_spec", "regime_spec"]


class WorldError(XmodalError, ValueError):
    """A bad ``calibration`` or ``regime`` block, or a search that cannot go on; the message names the key."""


@dataclasses.dataclass(frozen=True)
class SensorKnob:
    """The knob that sets one sensor's difficulty in a calibration, with its search range and first values."""

    sensor: str
    knob: Knob
    low: float
    high: float
    start: tuple[float, ...]


@dataclasses.dataclass(frozen=True)
class CalibrationSpec:
    """A checked ``calibration`` block (see the module docstring)."""

    targets: dict[str, float]
    tolerance: float
    knobs: dict[str, SensorKnob]
    seeds: tuple[int, ...]
    data_seed: int
    rounds: int

    def to_dict(self) -> dict[str, Any]:
        """The block as plain values (what the search records, and compares on resuming)."""
        return {"targets": dict(self.targets), "tolerance": self.tolerance,
                "knobs": {s: {"knob": k.knob.name, "low": k.low, "high": k.high, "start": list(k.start)}
                          for s, k in self.knobs.items()},
                "seeds": list(self.seeds), "data_seed": self.data_seed, "rounds": self.rounds}


@dataclasses.dataclass(frozen=True)
class RegimeSpec:
    """A checked ``regime`` block: the two axes (knob, levels), the seeds and the compared methods."""

    axes: tuple[tuple[Knob, tuple[Any, ...]], ...]
    seeds: tuple[int, ...]
    methods: tuple[str, ...]

    @property
    def world_axes(self) -> list[tuple[Knob, tuple[Any, ...]]]:
        """The axes of generator knobs (a data root per level)."""
        return [(k, lv) for k, lv in self.axes if k.kind == "generator"]

    @property
    def training_axes(self) -> list[tuple[Knob, tuple[Any, ...]]]:
        """The axes of training knobs (run groups within a world)."""
        return [(k, lv) for k, lv in self.axes if k.kind == "training"]

    def to_dict(self) -> dict[str, Any]:
        """The block as plain values (what the regime's record and archive keep)."""
        return {"axes": {k.name: list(lv) for k, lv in self.axes}, "seeds": list(self.seeds),
                "methods": list(self.methods)}


def _where(spec: Mapping[str, Any], block: str) -> str:
    return f"Study {spec.get('name')!r}, '{block}'"


def _number(where: str, key: str, value: Any, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise WorldError(f"{where}: '{key}' must be a number in [{low:g}, {high:g}], got {value!r}")
    return float(value)


def _seeds(where: str, value: Any) -> tuple[int, ...]:
    if (not isinstance(value, list) or not value
            or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in value)
            or len(set(value)) != len(value)):
        raise WorldError(f"{where}: 'seeds' must be a list of distinct integers >= 0, got {value!r}")
    return tuple(value)


def calibration_spec(spec: Mapping[str, Any]) -> CalibrationSpec:
    """The profile's ``calibration`` block, checked (:class:`WorldError` names a bad key)."""
    where = _where(spec, "calibration")
    block = spec.get("calibration")
    if not isinstance(block, Mapping):
        raise WorldError(f"Study {spec.get('name')!r} has no 'calibration' block (see xmodal/studies/calibrated.yaml)")
    unknown = sorted(set(block) - {"targets", "tolerance", "knobs", "seeds", "data_seed", "rounds"})
    if unknown:
        raise WorldError(f"{where}: unknown key(s) {unknown}")
    targets = block.get("targets")
    if not isinstance(targets, Mapping) or not targets:
        raise WorldError(f"{where}: 'targets' must map sensors to weighted F1 targets, got {targets!r}")
    targets = {str(s): _number(where, f"targets.{s}", v, 0.0, 1.0) for s, v in targets.items()}
    knobs_raw = block.get("knobs")
    if not isinstance(knobs_raw, Mapping) or set(knobs_raw) != set(targets):
        raise WorldError(f"{where}: 'knobs' must name one knob for each sensor of 'targets' {sorted(targets)}, "
                         f"got {knobs_raw!r}")
    knobs: dict[str, SensorKnob] = {}
    for sensor, entry in knobs_raw.items():
        if not isinstance(entry, Mapping) or set(entry) - {"knob", "low", "high", "start"} or "knob" not in entry:
            raise WorldError(f"{where}: knobs.{sensor} must be {{knob, low, high, start}}, got {entry!r}")
        try:
            k = knob(str(entry["knob"]))
        except KnobError as exc:
            raise WorldError(f"{where}: knobs.{sensor}: {exc}") from None
        if k.kind != "generator" or k.sensor != sensor:
            raise WorldError(f"{where}: knobs.{sensor}: knob {k.name!r} does not set the data of {sensor} alone "
                             f"(it acts on {k.sensor}, {k.kind})")
        try:
            low, high = k.check(entry.get("low", k.low)), k.check(entry.get("high", k.high))
            start = tuple(k.check(v) for v in entry.get("start", [k.neutral]))
        except KnobError as exc:
            raise WorldError(f"{where}: knobs.{sensor}: {exc}") from None
        if not low < high or not start or not all(low <= v <= high for v in start):
            raise WorldError(f"{where}: knobs.{sensor}: need low < high and start values within them, got "
                             f"{entry!r}")
        knobs[sensor] = SensorKnob(sensor, k, low, high, start)
    if len({k.knob.name for k in knobs.values()}) != len(knobs):
        raise WorldError(f"{where}: every sensor needs a knob of its own")
    rounds = block.get("rounds", 6)
    if isinstance(rounds, bool) or not isinstance(rounds, int) or rounds < max(len(k.start) for k in knobs.values()):
        raise WorldError(f"{where}: 'rounds' must be an integer at least as large as the start values, got {rounds!r}")
    data_seed = block.get("data_seed", 1)
    study_seed = ((spec.get("data") or {}).get("synthetic") or {}).get("seed", 0)
    if isinstance(data_seed, bool) or not isinstance(data_seed, int) or data_seed < 0 or data_seed == study_seed:
        raise WorldError(f"{where}: 'data_seed' must be an integer >= 0 other than the study's own data seed "
                         f"{study_seed} (the search must not see the study's scenes), got {data_seed!r}")
    return CalibrationSpec(targets=targets, tolerance=_number(where, "tolerance", block.get("tolerance", 0.02), 0, 1),
                           knobs=knobs, seeds=_seeds(where, block.get("seeds", [0, 1, 2])), data_seed=data_seed,
                           rounds=rounds)


def regime_spec(spec: Mapping[str, Any]) -> RegimeSpec:
    """The profile's ``regime`` block, checked (:class:`WorldError` names a bad key)."""
    where = _where(spec, "regime")
    block = spec.get("regime")
    if not isinstance(block, Mapping):
        raise WorldError(f"Study {spec.get('name')!r} has no 'regime' block (see xmodal/studies/regime.yaml)")
    unknown = sorted(set(block) - {"axes", "seeds", "methods"})
    if unknown:
        raise WorldError(f"{where}: unknown key(s) {unknown}")
    axes_raw = block.get("axes")
    if not isinstance(axes_raw, Mapping) or len(axes_raw) != 2:
        raise WorldError(f"{where}: 'axes' must map exactly two knobs to their levels, got {axes_raw!r}")
    axes = []
    for name, levels in axes_raw.items():
        try:
            k = knob(str(name))
            if not isinstance(levels, list) or len(levels) < 3 or len(set(map(str, levels))) != len(levels):
                raise WorldError(f"{where}: axes.{name} must list three distinct levels or more, got {levels!r}")
            axes.append((k, tuple(k.check(v) for v in levels)))
        except KnobError as exc:
            raise WorldError(f"{where}: axes.{name}: {exc}") from None
    if not any(k.kind == "generator" for k, _ in axes):
        raise WorldError(f"{where}: at least one axis must be a generator knob (a world per level)")
    methods = block.get("methods", ["C", "C+T+M"])
    if not isinstance(methods, list) or not methods or not all(m in METHODS and m != "baseline" for m in methods):
        raise WorldError(f"{where}: 'methods' must list joint methods of {[m for m in METHODS if m != 'baseline']}, "
                         f"got {methods!r}")
    seeds = _seeds(where, block.get("seeds", [0, 1, 2]))
    if len(seeds) < 2:
        raise WorldError(f"{where}: a cell's interval needs 2 seeds or more, got {list(seeds)}")
    return RegimeSpec(axes=tuple(axes), seeds=seeds, methods=tuple(methods))
