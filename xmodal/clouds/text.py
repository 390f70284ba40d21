"""The clouds page's sentences, built from the numbers (verdicts, manifests, what was run).

Prose only: every number comes from its caller (a claims table of
:func:`~xmodal.clouds.fallback.fallback_claims`, a :class:`~xmodal.clouds.evaluation.CloudEvaluation`
and its manifest). Times are those the manifests recorded, never a figure written here;
folders are named as the page shows them (relative to the project), never by the
builder's absolute path.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from xmodal.analysis.stats import DOES_NOT_HOLD, HOLDS, INCONCLUSIVE, NOT_MEASURED, ONE_SEED

from .evaluation import CLOUDS_DIR, MANIFEST_FILE
from .fallback import FALLBACK_THRESHOLD, VALIDATION
from .selection import BASELINE_MODEL

if TYPE_CHECKING:
    import pandas as pd

    from .evaluation import CloudEvaluation

__all__ = ["evaluation_note", "recorded_time", "sensors_note", "threshold_note", "threshold_phrase", "verdict_text"]


def _interval(row: Any) -> str:
    if not math.isfinite(row["low"]):
        return f"{row['estimate']:+.3f} ({int(row['n'])} seed, no interval)"
    return (f"{row['estimate']:+.3f} (95% interval {row['low']:+.3f} to {row['high']:+.3f}, "
            f"{int(row['n'])} seeds)")


def verdict_text(claims: pd.DataFrame, model: str = "C+T+M", reference: str = BASELINE_MODEL) -> str:
    """Markdown sentences reading the verdicts of :func:`~xmodal.clouds.fallback.fallback_claims`.

    Never stronger than they are: "holds" / "does not hold" are stated as what the runs
    show (with the interval); "inconclusive" says the study cannot tell; "one seed" says
    there is no interval.
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


def recorded_time(ev: CloudEvaluation | None, study: str) -> str | None:
    """``"the last `xmodal clouds` call of study `x` took 212 s here (...)"`` from its manifest, or None."""
    if ev is None or ev.seconds is None:
        return None
    m = ev.manifest
    return (f"the last `xmodal clouds` call of study `{study}` took {ev.seconds:.0f} s here "
            f"({m.get('predictions_made', '?')} prediction files made, {m.get('predictions_reused', '?')} reused; "
            f"recorded in its `{CLOUDS_DIR}/{MANIFEST_FILE}`)")


def evaluation_note(ev: CloudEvaluation | None, study: str, data_root: str | None) -> str:
    """Markdown: which data the cloud figures show, or how to make the evaluation they need.

    Args:
        ev: the study's evaluation (None: not made yet).
        study: the study's name.
        data_root: its data root as the page names it (relative to the project; default ``data/<study>``).
    """
    if ev is None:
        data = str(data_root) if data_root is not None else f"data/{study}"
        return (f"**The study `{study}` has no cloud evaluation yet**, so this page shows no figure. It trains "
                "nothing (the trained runs are evaluated again on cloudy renderings of their test split):"
                f"\n\n```bash\nxmodal clouds --study {study} --data {data} --runs runs\n```\n\nthen build the book "
                "again. It needs the synthetic data the study ran on: real SEN12MS has no cloud-free and cloudy "
                "rendering of the same acquisition.")
    note = f"**Data of every figure and table in the next sections:** {ev.source}."
    trained = ev.manifest.get("training_thick_clouds")
    if trained == "off":
        note += " The models were trained on the study's own S2, which has no thick clouds."
    elif trained:
        note += f" The models were trained on the study's own S2, with thick clouds ({trained} cover)."
    if ev.stale:
        note += (f" {len(ev.stale)} run(s) changed since their cloud evaluation and are left out "
                 f"({', '.join(ev.stale[:3])}{', ...' if len(ev.stale) > 3 else ''}): run `xmodal clouds` again.")
    took = recorded_time(ev, study)
    if took:
        note += f" Time: {took}."
    return note


def sensors_note(profile: str, folder: str, *, runs: Sequence[str] = (), seeds: Sequence[int] = (),
                 evaluations: Sequence[tuple[str, CloudEvaluation | None]] = ()) -> str:
    """Markdown: what the chapter shows of the ``sensors`` profile, or how to produce it.

    Args:
        profile: the profile's name (``sensors``).
        folder: its study folder as the page names it (``runs/sensors``, relative to the project).
        runs: the run folders shown (none: the profile has not been run here).
        seeds: their seeds.
        evaluations: ``(study, evaluation or None)`` of the study trained on clear S2 and of the profile.
    """
    if not runs:
        commands = [(f"make study STUDY={profile}", f"its data (data/{profile}) and runs"),
                    (f"xmodal clouds --study {profile} --data data/{profile} --runs runs",
                     "no training: its runs under cloudy S2"),
                    ("make book", "this page then shows both studies")]
        width = max(len(c) for c, _ in commands) + 2
        how = ("```bash\n" + "".join(f"{c:<{width}}# {why}\n" for c, why in commands) + "```\n\n"
               f"(or `make book STUDY={profile}` for a book of that study alone).")
        return (f"**The `{profile}` profile has not been run here** (no finished run in `{folder}`). "
                f"To produce it:\n\n{how}")
    note = (f"**Data of this section:** synthetic SEN12MS-like data with thick clouds drawn into the S2 of some "
            f"scenes (study `{profile}`, `{folder}`): {len(runs)} Figure 2 runs, "
            f"{len(seeds)} seed{'s' if len(seeds) != 1 else ''} ({', '.join(map(str, seeds))}); scores on the "
            "study's own (cloudy) test split.")
    missing = [s for s, e in evaluations if e is None]
    if missing:
        to_run = " and ".join(f"`xmodal clouds --study {s} --data data/{s} --runs runs`" for s in missing)
        times = [t for s, e in evaluations if (t := recorded_time(e, s))]
        note += (" The comparison of models trained on clear and on cloudy S2 under fixed covers needs the cloud "
                 f"evaluation of both studies: run {to_run}"
                 + (f" ({'; '.join(times)})" if times else "") + ".")
    return note


def _grid_text(grid: Sequence[float]) -> str:
    """``"0 % to 100 % in steps of 5 %"`` (an even grid), else the list."""
    g = sorted(float(t) for t in grid)
    steps = {round(b - a, 6) for a, b in zip(g, g[1:], strict=False)}
    if len(g) > 2 and len(steps) == 1:
        return f"{g[0]:.0%} to {g[-1]:.0%} in steps of {steps.pop():.0%}"
    return ", ".join(f"{t:.0%}" for t in g)


def threshold_phrase(ev: CloudEvaluation, override: float | None = None, *, overridden_by: str = "--threshold") -> str:
    """A few words on where the fallback threshold comes from (the ``xmodal clouds`` output, a caption).

    Args:
        ev: the evaluation (its :attr:`~xmodal.clouds.evaluation.CloudEvaluation.threshold_choice`).
        override: a threshold given instead of the chosen one.
        overridden_by: how the override was given (named in the phrase).
    """
    choice = ev.threshold_choice
    if override is not None:
        how = ("the validation scenes chose" if choice["chosen_on"] == VALIDATION else "the hand-set one is")
        return f"set by {overridden_by} ({how} {float(choice['value']):.0%})"
    if choice["chosen_on"] == VALIDATION:
        return "chosen on the validation scenes"
    return f"hand-set: {choice.get('reason', 'no validation split')}"


def threshold_note(ev: CloudEvaluation | None, override: float | None = None, *,
                   overridden_by: str = "`THRESHOLD` in the page's first cell") -> str:
    """Markdown: the chapter's fallback threshold, how it was set, and on which patches.

    Every number comes from the evaluation's record of the choice
    (:func:`~xmodal.clouds.fallback.threshold_record`): the chosen threshold, the grid, the
    validation scenes, models, seeds and covers, the pooled score of the chosen and of the
    hand-set threshold.

    Args:
        ev: the evaluation (None: no evaluation, nothing to say).
        override: a threshold the page uses instead of the chosen one.
        overridden_by: how the page sets the override (named in the text).
    """
    if ev is None:
        return ""
    choice = ev.threshold_choice
    value = float(choice["value"])
    validated = choice["chosen_on"] == VALIDATION
    if override is not None:
        which = "threshold chosen on the validation scenes" if validated else "hand-set threshold"
        head = (f"**This page overrides the fallback threshold: it uses {float(override):.0%}**, set by "
                f"{overridden_by}. The {which} is {value:.0%}")
    elif validated:
        head = f"**The fallback threshold of this chapter, {value:.0%}, was chosen on the validation scenes**"
    else:
        head = f"**The fallback threshold of this chapter is the hand-set {value:.0%}**"
    if not validated:
        return (f"{head}: {choice.get('reason', 'the runs have no validation split')}, so there are no validation "
                "scenes to choose it on. It was fixed before looking at any result, as a cautious operational cut. "
                "Train the runs with `val_fraction` > 0 and run `xmodal clouds` again to choose it on validation "
                "scenes.")
    pooled = {round(float(r["threshold"]), 6): float(r["weighted"]) for r in choice.get("pooled", [])}
    best = pooled.get(round(value, 6), math.nan)
    seeds, models = choice.get("seeds", []), choice.get("models", [])
    scenes = choice.get("scenes") or []
    where = (f"{'/'.join(map(str, scenes))} scene{'s' if scenes != [1] else ''} held out of each run's training split"
             if scenes else "scenes held out of each run's training split")
    text = (f"{head}: {where}, never its test scenes, rendered at the same covers "
            f"({', '.join(f'{c:.0%}' for c in choice.get('covers', []))}) and predicted by the same models "
            f"({', '.join(models)}; {len(seeds)} seed{'s' if len(seeds) != 1 else ''}). Of the thresholds "
            f"{_grid_text(choice.get('grid', []))}, {value:.0%} gives the fallback the highest weighted F1 on those "
            f"patches, {best:.3f} (mean over every model, seed and cover); "
            "thresholds that switch the same patches score the same, and the lowest of them is taken.")
    hand = pooled.get(round(FALLBACK_THRESHOLD, 6))
    if hand is not None and round(value, 6) != round(FALLBACK_THRESHOLD, 6):
        tie = " (a tie, which goes to the lower threshold)" if abs(hand - best) <= 1e-12 else ""
        text += f" The hand-set threshold used before, {FALLBACK_THRESHOLD:.0%}, scores {hand:.3f} there{tie}."
    if override is None:
        text += " Every number below is measured on the test split with it; no test patch entered the choice."
    return text
