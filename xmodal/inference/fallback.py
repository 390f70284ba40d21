"""The fallback policy on a map: each cell answered from S2 where it is clear, from S1 where clouded.

The policy is the study's (:func:`xmodal.clouds.fallback.fallback`, the one definition, with its
threshold :data:`FALLBACK_THRESHOLD`): a cell whose cloud cover is at least the threshold is
answered from S1, any other from S2. On a map two more cases occur, where a sensor has no
answer for a cell (no data there): a cell without an S2 answer is answered from S1, and a
clouded cell without an S1 answer gets no answer (it stays empty rather than be read
through the cloud).

A cell's cloud cover is the mean cover of the patches that were classified for it (each
patch's cover being the share of its pixels flagged cloud, codes 1 and 3 of
:mod:`xmodal.data.clouds`): the cover of what the S2 answer of that cell has seen.
"""

from __future__ import annotations

from typing import Final

import numpy as np

# The study's fallback policy and threshold: the clouds chapter's, the one definition.
from xmodal.clouds.fallback import FALLBACK_THRESHOLD, fallback

from .errors import InferenceError

__all__ = ["FALLBACK_THRESHOLD", "NO_ANSWER", "SOURCE_CODES", "cell_fallback", "check_threshold"]

#: Code of a cell without an answer in the integer layers (class, sensor used).
NO_ANSWER: Final[int] = -1
#: Code of the sensor each cell's answer came from.
SOURCE_CODES: Final[dict[str, int]] = {"s2": 0, "s1": 1}


def check_threshold(threshold: float) -> float:
    """``threshold`` as a float in [0, 1]; InferenceError otherwise."""
    try:
        t = float(threshold)
    except (TypeError, ValueError):
        t = float("nan")
    if not 0.0 <= t <= 1.0:
        raise InferenceError(f"cloud threshold {threshold!r}: it is a share of a cell under cloud, in [0, 1] "
                             f"(default {FALLBACK_THRESHOLD})")
    return t


def cell_fallback(
    prob_optical: np.ndarray,
    prob_radar: np.ndarray,
    cover: np.ndarray,
    threshold: float = FALLBACK_THRESHOLD,
) -> tuple[np.ndarray, np.ndarray]:
    """The fallback answer of every cell and the sensor it came from.

    Args:
        prob_optical: ``[N, C]`` S2 answers, NaN rows where S2 has none.
        prob_radar: ``[N, C]`` S1 answers of the same cells, NaN rows where S1 has none.
        cover: ``[N]`` each cell's cloud cover (0..1; zeros without a cloud mask).
        threshold: a cell with ``cover >= threshold`` is answered from S1.

    Returns:
        ``(answer [N, C], source [N])``: the answer (NaN rows where none) and
        :data:`SOURCE_CODES` of its sensor (:data:`NO_ANSWER` where none).
    """
    opt = np.asarray(prob_optical, dtype=np.float64)
    rad = np.asarray(prob_radar, dtype=np.float64)
    has_opt = np.asarray(np.isfinite(opt).all(axis=1))
    has_rad = np.asarray(np.isfinite(rad).all(axis=1))
    # the policy proper, on the cells where both sensors answer
    answer, switched = fallback(np.where(has_opt[:, None], opt, 0.0), np.where(has_rad[:, None], rad, 0.0),
                                np.asarray(cover, dtype=np.float64), check_threshold(threshold))
    use_radar = (switched | ~has_opt) & has_rad
    use_optical = ~switched & has_opt
    source = np.full(len(opt), NO_ANSWER, dtype=np.int8)
    source[use_optical] = SOURCE_CODES["s2"]
    source[use_radar] = SOURCE_CODES["s1"]
    answer = np.where(np.asarray(use_radar)[:, None], rad, answer)
    answer[source == NO_ANSWER] = np.nan
    return answer, source
