"""The paper's claims checked on two studies, side by side: which verdicts change.

Issue 19 ("a fair fight") checks the claims again on the Figure 2 models at their tuned
settings. Each study's verdicts are :func:`xmodal.report.claims.check_claims` on its own runs:
the same intervals (seeds' t-interval widened by the test scenes' bootstrap) and the same Holm
family (every claim of that study's table). :func:`compare_verdicts` joins the two tables on the
claim's id beside the paper's numbers; :func:`verdict_changes` keeps the claims whose verdict
differs, and :func:`changes_text` says so in words, every number taken from the table.

The two columns are two separate experiments on the same test scenes, not a paired test of
tuning: a claim whose verdict changes is one whose answer depends on how the models were set.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Final

import pandas as pd

from xmodal.analysis.stats import DOES_NOT_HOLD, HOLDS, INCONCLUSIVE

__all__ = ["COMPARISON_COLUMNS", "SIDES", "changes_text", "compare_verdicts", "comparison_display",
           "verdict_changes"]

#: The two studies' default names: the hand-set settings of the default study, the tuned profile's.
SIDES: Final[tuple[str, str]] = ("hand-set", "tuned")
#: Columns of :func:`compare_verdicts`: the claim, the paper's numbers, per side (``a_``/``b_``) the
#: estimate, its interval, ``n`` seeds and the verdict (empty when the side did not check the claim),
#: and whether the verdicts differ.
COMPARISON_COLUMNS: Final[tuple[str, ...]] = (
    "id", "claim", "paper reports",
    "a_estimate", "a_low", "a_high", "a_n", "a_verdict",
    "b_estimate", "b_low", "b_high", "b_n", "b_verdict",
    "changed",
)
#: Written for a claim one study did not check (its sensors or methods were not run).
NOT_CHECKED: Final[str] = "not checked"


def _side(verdicts: pd.DataFrame, prefix: str) -> pd.DataFrame:
    keep = verdicts.set_index("id")[["estimate", "low", "high", "n", "verdict"]]
    return keep.rename(columns={c: f"{prefix}_{c}" for c in keep.columns})


def compare_verdicts(a: pd.DataFrame, b: pd.DataFrame) -> pd.DataFrame:
    """Two :func:`~xmodal.report.claims.check_claims` tables joined on the claim's id.

    Args:
        a: the first study's verdicts (the hand-set settings).
        b: the second study's verdicts (the tuned settings).

    Returns:
        :data:`COMPARISON_COLUMNS`, one row per claim of either table, in the claims' order (those
        of ``a`` first). ``changed`` is True when both studies checked the claim and their verdicts
        differ. Only a tested claim has a verdict to change (holds, does not hold or inconclusive:
        an interval, two seeds or more); "one seed", "not measured" and :data:`NOT_CHECKED` (the side
        did not check the claim: the other side's numbers and verdict only) never count as changed.
    """
    ids: list[str] = list(dict.fromkeys([*a["id"], *b["id"]]))
    if not ids:
        return pd.DataFrame(columns=list(COMPARISON_COLUMNS))
    first = pd.concat([a, b]).drop_duplicates("id").set_index("id")
    table = first.loc[ids, ["claim", "paper reports"]].join(_side(a, "a")).join(_side(b, "b"))
    for p in ("a", "b"):
        table[f"{p}_n"] = pd.to_numeric(table[f"{p}_n"], errors="coerce").fillna(0).astype(int)
        table[f"{p}_verdict"] = table[f"{p}_verdict"].fillna(NOT_CHECKED)
    table["changed"] = _tested(table, "a") & _tested(table, "b") & (table["a_verdict"] != table["b_verdict"])
    return table.reset_index()[list(COMPARISON_COLUMNS)]


#: The verdicts of a tested claim (one with an interval): the members of a study's Holm family.
TESTED: Final[tuple[str, ...]] = (HOLDS, DOES_NOT_HOLD, INCONCLUSIVE)


def _tested(table: pd.DataFrame, p: str) -> pd.Series:
    """Which claims side ``p`` tested (:data:`TESTED`)."""
    return table[f"{p}_verdict"].isin(TESTED)


def _estimate(est: Any, low: Any, high: Any, n: Any) -> str:
    """``"+0.110 [+0.083, +0.137] (n=10)"``; one seed: ``"+0.110 (n=1)"``; none: ``"–"``."""
    n = int(n)
    if n == 0 or est is None or not math.isfinite(float(est)):
        return "–"
    if n > 1 and math.isfinite(float(low)):
        return f"{float(est):+.3f} [{float(low):+.3f}, {float(high):+.3f}] (n={n})"
    return f"{float(est):+.3f} (n={n})"


def comparison_display(table: pd.DataFrame, sides: Sequence[str] = SIDES) -> pd.DataFrame:
    """:func:`compare_verdicts` as the page shows it: claim, paper, then per side the difference and verdict.

    Args:
        table: :func:`compare_verdicts`.
        sides: the two studies' names, for the column headers.
    """
    out = pd.DataFrame({"claim": table["claim"], "paper reports": table["paper reports"]})
    for p, name in zip(("a", "b"), sides, strict=True):
        out[f"{name}: difference [95% interval] (n)"] = [
            _estimate(*r) for r in zip(table[f"{p}_estimate"], table[f"{p}_low"], table[f"{p}_high"],
                                       table[f"{p}_n"], strict=True)]
        out[f"{name}: verdict"] = table[f"{p}_verdict"]
    out["verdict changed"] = ["yes" if c else "" for c in table["changed"]]
    return out


def verdict_changes(table: pd.DataFrame, sides: Sequence[str] = SIDES) -> pd.DataFrame:
    """The claims whose verdict changes: claim, ``"<a verdict> → <b verdict>"`` and both differences.

    Args:
        table: :func:`compare_verdicts`.
        sides: the two studies' names, for the column headers.
    """
    rows = table[table["changed"]]
    a, b = sides
    return pd.DataFrame({
        "claim": rows["claim"],
        f"{a} → {b}": [f"{x} → {y}" for x, y in zip(rows["a_verdict"], rows["b_verdict"], strict=True)],
        f"{a}: difference [95% interval] (n)": [
            _estimate(*r) for r in zip(rows["a_estimate"], rows["a_low"], rows["a_high"], rows["a_n"], strict=True)],
        f"{b}: difference [95% interval] (n)": [
            _estimate(*r) for r in zip(rows["b_estimate"], rows["b_low"], rows["b_high"], rows["b_n"], strict=True)],
    }).reset_index(drop=True)


def changes_text(table: pd.DataFrame, sources: Sequence[str], sides: Sequence[str] = SIDES) -> str:
    """A Markdown paragraph on which verdicts change, computed from :func:`compare_verdicts`.

    Args:
        table: :func:`compare_verdicts`.
        sources: the two studies' source lines (data, runs, live or archived), in the order of ``sides``.
        sides: the two studies' names.
    """
    a, b = sides
    both = table[_tested(table, "a") & _tested(table, "b")]
    changed = both[both["changed"]]
    n_a, n_b = int(_tested(table, "a").sum()), int(_tested(table, "b").sum())
    seeds = {side: sorted({int(n) for n in table[f"{p}_n"] if int(n) > 0}) for p, side in (("a", a), ("b", b))}

    def seed_text(ns: list[int]) -> str:
        if not ns:
            return "no seed"
        span = f"{ns[0]}" if ns[0] == ns[-1] else f"{ns[0]}-{ns[-1]}"
        return f"{span} seed{'s' if ns[-1] != 1 else ''}"

    text = [f"**{a.capitalize()}** ({sources[0]}; {seed_text(seeds[a])} per claim; {n_a} claims tested as one Holm "
            f"family) against **{b}** ({sources[1]}; {seed_text(seeds[b])} per claim; {n_b} claims tested as one "
            f"Holm family): "]
    if not len(both):
        text.append("**no claim was tested on both**, so no verdict can be compared (a verdict needs an "
                    "interval: two seeds or more).")
    elif not len(changed):
        text.append(f"of the {len(both)} claims tested on both, **no verdict changes**.")
    else:
        text.append(f"of the {len(both)} claims tested on both, "
                    f"**{len(changed)} change{'s' if len(changed) == 1 else ''} verdict**: "
                    + "; ".join(f"{r['claim']} ({r['a_verdict']} → {r['b_verdict']})"
                                for _, r in changed.iterrows())
                    + f". The other {len(both) - len(changed)} keep theirs.")
    only = table[_tested(table, "a") ^ _tested(table, "b")]
    if len(only):
        text.append(f" {len(only)} claim{'s are' if len(only) != 1 else ' is'} tested on one side only.")
    return "".join(text)
