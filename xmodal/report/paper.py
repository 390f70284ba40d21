"""The paper's numbers and its claims, as data.

Senchugova and Hänsch report per-method, per-sensor F1 scores (Sec. 3.2, Figure 2) and
the homogeneity of eq. (5); from them they draw claims: C beats the Baseline, C+T+M keeps
its accuracy, S2 is more accurate than S1, C+T+M narrows the gap and is more homogeneous.
This module holds both as plain data:

* :data:`PAPER_SCORES` and :data:`PAPER_HOMOGENEITY`: the numbers the paper quotes;
* :data:`CLAIMS`: one :class:`Claim` record per claim the book checks: its id, the
  sensors it is about, its kind (superiority, or non-inferiority with a margin), the
  quantity and the two sides compared (``d = a - b``, paired by seed), and, through
  :meth:`Claim.paper`, the paper's own numbers for both sides.

:func:`xmodal.report.claims.check_claims` checks the records on a study's runs and writes
their sentences; nothing else in the package names a claim. The only sensor names of
the report layer are here: the paper's claims are checked on the sensors it reports.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

from xmodal.analysis.stats import NONINFERIORITY_MARGIN
from xmodal.analysis.tidy import sensor_order

__all__ = [
    "PAPER_SCORES",
    "PAPER_HOMOGENEITY",
    "PAPER_LABEL",
    "SUPERIORITY",
    "NON_INFERIORITY",
    "QUANTITIES",
    "ALWAYS",
    "IF_RUN",
    "IF_MEASURED",
    "Side",
    "Claim",
    "CLAIMS",
    "claim",
    "paper_score",
    "paper_homogeneity",
    "paper_sensors",
]

# ----------------------------------------------------------------------------- the paper's numbers
#: Macro and weighted F1 *reported by the paper* (Senchugova and Hänsch, Sec. 3.2 and Figure 2),
#: per (method, sensor). C+M and C+T appear only in the paper's Figure 2, without numbers.
PAPER_SCORES: dict[tuple[str, str], dict[str, float]] = {
    ("baseline", "s1"): {"macro": 0.58, "weighted": 0.63},
    ("baseline", "s2"): {"macro": 0.68, "weighted": 0.77},
    ("C", "s1"): {"macro": 0.60, "weighted": 0.73},
    ("C", "s2"): {"macro": 0.71, "weighted": 0.80},
    ("C+T+M", "s1"): {"macro": 0.55, "weighted": 0.70},
    ("C+T+M", "s2"): {"macro": 0.64, "weighted": 0.79},
}
#: Homogeneity s of eq. (5) *reported by the paper*, per (method, sensor, sensor).
PAPER_HOMOGENEITY: dict[tuple[str, str, str], float] = {
    ("baseline", "s1", "s2"): 0.63,
    ("C", "s1", "s2"): 0.66,
    ("C+T+M", "s1", "s2"): 0.67,
}
#: Where the paper's numbers come from, for captions.
PAPER_LABEL = "reported by the paper (SEN12MS winter, 27,825 training and 4,000 test patches, ResNet50)"


def paper_score(method: str, sensor: str, metric: str) -> float | None:
    """The paper's ``metric`` (macro / weighted F1) of ``method`` on ``sensor``, or ``None``."""
    return PAPER_SCORES.get((method, sensor), {}).get(metric)


def paper_homogeneity(method: str, a: str, b: str) -> float | None:
    """The paper's homogeneity of ``method`` between sensors ``a`` and ``b`` (either order), or ``None``."""
    return PAPER_HOMOGENEITY.get((method, a, b), PAPER_HOMOGENEITY.get((method, b, a)))


def paper_sensors() -> list[str]:
    """The sensors the paper reports scores for, in display order."""
    return sensor_order(s for _, s in PAPER_SCORES)


# ----------------------------------------------------------------------------- the paper's claims
#: A claim that one side is above the other (``d = a - b > 0``; below with :attr:`Claim.lower`).
SUPERIORITY: Final[str] = "superiority"
#: A claim that side ``a`` keeps side ``b``'s level: ``d > -margin``.
NON_INFERIORITY: Final[str] = "non-inferiority"

#: What a claim compares, per seed, and how the book names it:
#:
#: * ``weighted`` / ``macro``: the F1 of each side's method on its sensor;
#: * ``weighted_gap``: per method, its weighted F1 on the claim's second sensor minus its first
#:   (the paper's stronger sensor minus its weaker one);
#: * ``homogeneity``: per method, the homogeneity s of eq. (5) between the claim's two sensors.
QUANTITIES: Final[dict[str, str]] = {
    "weighted": "weighted F1",
    "macro": "macro F1",
    "weighted_gap": "weighted F1",
    "homogeneity": "eq. 5",
}

#: When a claim is listed in the verdict table (:attr:`Claim.listed`): always (a study without the
#: runs shows "not measured"), when the study ran the claim's method, or when it measured the quantity
#: for any method.
ALWAYS: Final[str] = "always"
IF_RUN: Final[str] = "if the method ran"
IF_MEASURED: Final[str] = "if measured"


@dataclass(frozen=True)
class Side:
    """One side of a claim: a method, and for an F1 claim the sensor it is scored on."""

    method: str
    sensor: str | None = None


@dataclass(frozen=True)
class Claim:
    """One claim of the paper, checked as a paired difference ``d = a - b`` over seeds.

    Attributes:
        id: the claim's stable identifier (pages and tests refer to it, never to its sentence).
        kind: :data:`SUPERIORITY` or :data:`NON_INFERIORITY`.
        quantity: a key of :data:`QUANTITIES`.
        a, b: the two sides; ``d = a - b`` per seed.
        sensors: the sensors the claim is about (for a pair: the paper's weaker sensor first).
        lower: a superiority claim the other way round: ``a`` is *below* ``b`` (``d < 0``); the
            sides keep the order in which the paper names them.
        margin: the non-inferiority margin (``d > -margin``); ``None`` for superiority.
        listed: when the claim appears in the verdict table (:data:`ALWAYS`, :data:`IF_RUN`,
            :data:`IF_MEASURED`).
    """

    id: str
    kind: str
    quantity: str
    a: Side
    b: Side
    sensors: tuple[str, ...]
    lower: bool = False
    margin: float | None = None
    listed: str = ALWAYS

    def __post_init__(self) -> None:
        if self.kind not in (SUPERIORITY, NON_INFERIORITY):
            raise ValueError(f"Claim {self.id!r}: invalid kind {self.kind!r}; choose {SUPERIORITY} or "
                             f"{NON_INFERIORITY}")
        if (self.margin is None) != (self.kind == SUPERIORITY) or (self.lower and self.kind != SUPERIORITY):
            raise ValueError(f"Claim {self.id!r}: a non-inferiority claim needs a margin (and no 'lower'); "
                             "a superiority claim has none")
        if self.quantity not in QUANTITIES:
            raise ValueError(f"Claim {self.id!r}: invalid quantity {self.quantity!r}; choose from {list(QUANTITIES)}")

    @property
    def test(self) -> str:
        """The claim as :func:`xmodal.analysis.stats.claim_verdicts` tests it: greater, less or noninferior."""
        if self.kind == NON_INFERIORITY:
            return "noninferior"
        return "less" if self.lower else "greater"

    @property
    def paper(self) -> tuple[float | None, float | None]:
        """The paper's numbers for sides ``a`` and ``b`` (``None`` where it gives none, e.g. Figure 2 only)."""
        if self.quantity in ("weighted", "macro"):
            return (paper_score(self.a.method, str(self.a.sensor), self.quantity),
                    paper_score(self.b.method, str(self.b.sensor), self.quantity))
        lo, hi = self.sensors
        if self.quantity == "homogeneity":
            return paper_homogeneity(self.a.method, lo, hi), paper_homogeneity(self.b.method, lo, hi)

        def gap(method: str) -> float | None:
            low, high = paper_score(method, lo, "weighted"), paper_score(method, hi, "weighted")
            return None if low is None or high is None else high - low

        return gap(self.a.method), gap(self.b.method)

    @property
    def paper_difference(self) -> float:
        """The paper's ``a - b`` (NaN where it gives no number for a side)."""
        pa, pb = self.paper
        return math.nan if pa is None or pb is None else pa - pb


def _per_sensor(s: str) -> list[Claim]:
    """The paper's claims about the methods on sensor ``s`` (weighted and macro F1)."""
    on = (s,)
    return [
        Claim(f"c-beats-baseline-{s}", SUPERIORITY, "weighted", Side("C", s), Side("baseline", s), on),
        Claim(f"ctm-keeps-baseline-{s}", NON_INFERIORITY, "weighted", Side("C+T+M", s), Side("baseline", s), on,
              margin=NONINFERIORITY_MARGIN),
        Claim(f"ctm-below-baseline-macro-{s}", SUPERIORITY, "macro", Side("C+T+M", s), Side("baseline", s), on,
              lower=True),
        Claim(f"c-beats-ctm-{s}", SUPERIORITY, "weighted", Side("C", s), Side("C+T+M", s), on),
        # the ablations: Figure 2 only, no numbers
        Claim(f"ctm-beats-cm-{s}", SUPERIORITY, "weighted", Side("C+T+M", s), Side("C+M", s), on),
        Claim(f"ctm-beats-ct-{s}", SUPERIORITY, "weighted", Side("C+T+M", s), Side("C+T", s), on),
    ]


def _per_pair(lo: str, hi: str) -> list[Claim]:
    """The paper's claims about a pair of sensors (``lo`` the one its Baseline scores lower on)."""
    pair = (lo, hi)
    return [
        *(Claim(f"{hi}-beats-{lo}-{m.lower().replace('+', '')}", SUPERIORITY, "weighted", Side(m, hi), Side(m, lo),
                pair, listed=IF_RUN) for m in ("baseline", "C", "C+M", "C+T", "C+T+M")),
        Claim(f"ctm-narrows-gap-{lo}-{hi}", SUPERIORITY, "weighted_gap", Side("baseline"), Side("C+T+M"), pair,
              listed=IF_MEASURED),
        Claim(f"ctm-more-homogeneous-than-baseline-{lo}-{hi}", SUPERIORITY, "homogeneity", Side("C+T+M"),
              Side("baseline"), pair, listed=IF_MEASURED),
        Claim(f"ctm-more-homogeneous-than-c-{lo}-{hi}", SUPERIORITY, "homogeneity", Side("C+T+M"), Side("C"), pair,
              listed=IF_MEASURED),
    ]


#: Every claim the book checks, in the order of the verdict table: per sensor the claims on the
#: methods, then per pair of sensors the sensors' order, the gap and the homogeneity. The claims on
#: a pair order its sensors as the paper's Baseline does (weaker first: S1 then S2).
CLAIMS: tuple[Claim, ...] = (*_per_sensor("s1"), *_per_sensor("s2"), *_per_pair("s1", "s2"))


def claim(claim_id: str) -> Claim:
    """The record of :data:`CLAIMS` with id ``claim_id``.

    Raises:
        KeyError: no such claim (the message lists the ids).
    """
    for c in CLAIMS:
        if c.id == claim_id:
            return c
    raise KeyError(f"No claim {claim_id!r}; the claims are {[c.id for c in CLAIMS]}")
