"""How the report layer writes a number: means with their spread, intervals, pairs of sensors.

Small shared conventions of every table and sentence of the report layer, so that a
mean reads the same on every page.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import pandas as pd

from xmodal.data.normalize import modality_label

__all__ = ["NOT_RECORDED", "ci_text", "mean_sd", "order_key", "pair_text"]

#: Written where a run did not record a quantity (runs older than it).
NOT_RECORDED = "not recorded"


def order_key(order: Sequence[str]) -> Callable[[pd.Series], pd.Series]:
    """A ``sort_values`` key ranking a column's values as in ``order`` (others last)."""
    rank = {v: i for i, v in enumerate(order)}
    return lambda col: col.map(lambda v: rank.get(v, len(rank)))


def pair_text(a: str, b: str) -> str:
    """A pair of sensors as the tables name it: ``"S1, S2"``."""
    return f"{modality_label(a)}, {modality_label(b)}"


def mean_sd(mean: float, std: float, n: int) -> str:
    """``"0.720 ± 0.028 (n=2)"`` (the standard deviation over ``n`` runs); one run: ``"0.660 (n=1)"``; none: ``"–"``."""
    if mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return "–"
    if n and n > 1 and std == std:
        return f"{mean:.3f} ± {std:.3f} (n={n})"
    return f"{mean:.3f} (n={n})"


def ci_text(estimate: float, low: float, high: float, n: int, digits: int = 3) -> str:
    """``"0.981 [0.950, 1.000]"``; one seed: ``"0.981 (1 seed)"``; none: :data:`NOT_RECORDED`."""
    if not n or not math.isfinite(estimate):
        return NOT_RECORDED
    if n < 2 or not math.isfinite(low):
        return f"{estimate:.{digits}f} (1 seed)"
    return f"{estimate:.{digits}f} [{low:.{digits}f}, {high:.{digits}f}]"


def duration_text(seconds: float) -> str:
    """A wall time as pages say it: ``"42 s"``, ``"12.5 min"``, ``"3.2 h"``."""
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 2 * 3600:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"
