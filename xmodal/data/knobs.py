"""The world knobs: the few settings that say what kind of world the synthetic data are.

The generator has about a hundred physical parameters (:class:`xmodal.data.synthetic.SyntheticParams`);
a handful of them decide what the study's verdicts depend on: what each sensor can tell apart,
how noisy the labels are, how much the two sensors share, and how many training patches each
sensor has. :data:`KNOBS` names them, with their physical meaning, their range and which way
they move the sensors, so that the calibration (:mod:`xmodal.worlds.calibration`) and the regime
map (:mod:`xmodal.worlds.regime`) speak of the same knobs as the data page.

A knob is either a generator parameter (``kind="generator"``: a field of ``SyntheticParams``,
so a new value makes a new data root) or a training setting (``kind="training"``: a config key,
the same data). :func:`knob` finds one by name, :func:`knob_table` lists them for display.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Final

from xmodal.errors import XmodalError

__all__ = ["KNOBS", "Knob", "KnobError", "knob", "knob_table"]


class KnobError(XmodalError, ValueError):
    """An unknown knob or a value outside its range; the message names both."""


@dataclasses.dataclass(frozen=True)
class Knob:
    """One world knob.

    Attributes:
        name: how profiles and pages name it.
        kind: ``"generator"`` (a :class:`~xmodal.data.synthetic.SyntheticParams` field) or
            ``"training"`` (a config key).
        param: the field or config key it sets.
        sensor: the sensor it acts on (``"s1"``, ``"s2"``, or ``"both"``).
        meaning: what it is, physically.
        low, high: its range (``high`` may be ``inf``).
        neutral: the generator's (or config's) default.
        unit: its unit.
        easier: ``+1`` when a higher value makes its sensor's task easier, ``-1`` when harder.
    """

    name: str
    kind: str
    param: str
    sensor: str
    meaning: str
    low: float
    high: float
    neutral: Any
    unit: str
    easier: int

    def check(self, value: Any) -> Any:
        """``value`` if it is in range (``None`` means "all" for a training size); else :class:`KnobError`."""
        if value is None and self.kind == "training":
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise KnobError(f"Knob {self.name!r}: {value!r} is not a number")
        if not self.low <= value <= self.high:
            raise KnobError(f"Knob {self.name!r}: {value!r} is outside its range [{self.low:g}, {self.high:g}]")
        if self.kind == "training" and int(value) != value:
            raise KnobError(f"Knob {self.name!r}: {value!r} must be a whole number of patches")
        return int(value) if self.kind == "training" else float(value)


#: The knobs, in the order the pages list them.
KNOBS: Final[tuple[Knob, ...]] = (
    Knob("s1_looks", "generator", "s1_looks", "s1",
         "Equivalent number of looks of the S1 speckle (gamma, mean 1, in linear power). Sentinel-1 GRD "
         "IW has about 4.4; more looks average the speckle away, one look is single-look complex.",
         1.0, 50.0, 4.4, "looks", +1),
    Knob("s1_contrast", "generator", "s1_contrast", "s1",
         "Class contrast of the backscatter: every class's mean VV and VH is moved to the classes' mean "
         "plus this times its distance from it. 1 = the generator's table (typical C-band values), 0 = "
         "one mean for every class (S1 separates classes by texture only).",
         0.0, 3.0, 1.0, "x", +1),
    Knob("s1_blind", "generator", "s1_blind", "s1",
         "How much the sensors share: the fraction by which the backscatter of the open vegetated "
         "classes (shrubland, savanna, grassland, cropland) is pulled to their common mean. 0 = their "
         "own means; 1 = S1 cannot tell them apart while S2 still can.",
         0.0, 1.0, 0.0, "-", -1),
    Knob("s2_noise", "generator", "s2_noise", "s2",
         "How variable S2 is within a class: one factor on every nuisance variation of S2 (scene, band "
         "and object gains, texture, soil mixing, sensor noise). 0 = each class its signature; 1 = the "
         "generator's values.",
         0.0, 3.0, 1.0, "x", -1),
    Knob("label_noise", "generator", "label_noise", "both",
         "How noisy the labels are: the probability that a 500 m MODIS-like label cell takes the "
         "runner-up class under it (a boundary error) instead of the majority.",
         0.0, 0.5, 0.03, "-", -1),
    Knob("n_train_s1", "training", "modality_n_train", "s1",
         "How many training patches S1 has beside S2's (config modality_n_train: {s1: n}); S2 keeps all "
         "of its training patches. All = the same patches as S2 (the paper's setting).",
         1.0, math.inf, None, "patches", +1),
)

_BY_NAME: Final[dict[str, Knob]] = {k.name: k for k in KNOBS}


def knob(name: str) -> Knob:
    """The knob called ``name``; :class:`KnobError` naming the known ones otherwise."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise KnobError(f"Unknown knob {name!r}; the knobs are {list(_BY_NAME)}") from None


def knob_table() -> list[dict[str, Any]]:
    """One row per knob for display: name, sensor, what it sets, range, default, unit, meaning."""
    rows = []
    for k in KNOBS:
        high = "all" if k.kind == "training" else f"{k.high:g}"
        rows.append({"knob": k.name, "sensor": k.sensor.upper() if k.sensor != "both" else "both",
                     "sets": f"{'generator' if k.kind == 'generator' else 'config'}: {k.param}",
                     "range": f"{k.low:g} to {high}", "default": "all" if k.neutral is None else k.neutral,
                     "unit": k.unit, "higher means": "easier" if k.easier > 0 else "harder",
                     "meaning": k.meaning})
    return rows
