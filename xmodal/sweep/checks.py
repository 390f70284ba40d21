"""Checks before anything trains: the data every point of a sweep reads, and the notebook's parameters.

A data root given by a user is checked by the one check of the data layer,
:func:`xmodal.data.check_data_root` (a folder holding the season's folder, else
:class:`~xmodal.data.RootError` naming the value and the fix); the deeper checks (files
paired, the synthetic marker complete, the fingerprint) are the fingerprint's
(:mod:`xmodal.fingerprint`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from xmodal.config import ConfigError, ExperimentConfig
from xmodal.sweep.grid import StudyPoint, data_key, root_summaries
from xmodal.sweep.spec import study_argument

if TYPE_CHECKING:
    from xmodal.fingerprint import RootSummary

__all__ = ["MAKE_DATA_HINT", "check_data", "check_parameters", "missing_root_hint"]

#: How to make a data root, quoted by the notebook's error for a missing ``data_root``.
MAKE_DATA_HINT = ("give a SEN12MS root in the official layout, e.g. one made by "
                  "`xmodal data synth --study quick --out data/quick`")


def check_data(
    points: Sequence[StudyPoint], *, hint: str = "", name: str = "data root",
) -> dict[tuple[Any, ...], RootSummary]:
    """Check the data every point reads, before any point starts.

    For each distinct (root, season) of the points: the root and its season
    folder exist (:func:`xmodal.data.check_data_root`), the synthetic marker (if any)
    is complete and matches the files, every patch has its S1, S2 and LC file (unless
    every point reading it skips bad patches), the official split lists exist where
    ``split: official`` asks for them, and a point's recorded ``data_fingerprint`` is
    the root's.

    Args:
        points: the points to run.
        hint: appended to the message when a root is missing (how to make or pass it).
        name: how the user gave the root (``"--data"``, ``"data.root of study 'quick'"``).

    Returns:
        ``(root, season, cache_dir, official lists)`` -> the :class:`~xmodal.fingerprint.RootSummary`.

    Raises:
        xmodal.data.RootError: a root is missing, incomplete or inconsistent (the message names it).
        xmodal.data.MissingFileError: an official split list is missing.
        ConfigError: a point's recorded data fingerprint is not its root's (naming both).
    """
    from xmodal.data import RootError, check_data_root

    by_key: dict[tuple[Any, ...], list[StudyPoint]] = {}
    for p in points:
        by_key.setdefault(data_key(p.config), []).append(p)
    roots: dict[tuple[Any, ...], RootSummary] = {}
    for key, group in by_key.items():
        root = check_data_root(key[0], season=key[1], name=name, hint=hint)
        summary = root_summaries(group[:1])[key]
        if summary.n_unpaired and any(p.config.bad_patch == "raise" for p in group):
            from xmodal.data.layout import SENSORS

            raise RootError(
                f"{root}: {summary.n_unpaired} patch(es) of season {summary.season} lack a partner file "
                f"({', '.join(f'{s.upper()} {summary.counts.get(s)}' for s in SENSORS)} files; "
                f"e.g. {', '.join(summary.unpaired)}); restore them, or set bad_patch: skip to leave them out"
            )
        for p in group:
            recorded = p.config.data_fingerprint
            if recorded is not None and recorded != summary.fingerprint:
                raise ConfigError(
                    f"Point {p.name}: its data_fingerprint {recorded} is not that of {root} (season "
                    f"{summary.season}: {summary.fingerprint}); point it at the data it was set up for"
                )
        roots[key] = summary
    return roots


def missing_root_hint(spec: Mapping[str, Any], from_option: bool) -> str:
    """How to make or pass a study's missing data root, for :func:`check_data`'s message."""
    if from_option:
        return "pass the folder of the SEN12MS data with --data"
    if (spec.get("data") or {}).get("synthetic"):
        root = (spec.get("data") or {}).get("root", "DIR")
        return (f"make it with `xmodal data synth --study {study_argument(spec)} --out {root}`, "
                "or pass the data's folder with --data")
    return "pass the folder of the data with --data"


def check_parameters(namespace: Mapping[str, Any], before: Iterable[str]) -> ExperimentConfig:
    """Check the notebook's parameters and the data root they name, before any training.

    The notebook records the names defined before its ``parameters`` cell; any
    new public name after the parameters (and papermill's injected cell) that is
    neither a config field nor ``out_dir`` is a misspelt parameter. The values
    must make a valid :class:`~xmodal.config.ExperimentConfig`, and the config is then
    identified as every entry point identifies it (:func:`xmodal.training.identified_config`:
    ``data_root`` must be a SEN12MS root holding the season, a recorded ``data_fingerprint``
    must be that root's, and a missing one is filled), so the notebook run by hand trains
    under the same identity as the sweep, ``xmodal train`` and the teaching helpers.

    Args:
        namespace: the notebook's ``globals()``.
        before: names defined before the parameters cell.

    Returns:
        The validated config, with ``data_fingerprint`` filled.

    Raises:
        ConfigError: naming the unknown parameter(s), the bad value or both fingerprints.
        xmodal.data.RootError: the data root is missing, lacks the season or cannot be read.
    """
    from xmodal.training import identified_config

    known = set(ExperimentConfig.field_names()) | {"out_dir"}
    new = {k for k in namespace if not k.startswith("_")} - set(before) - known
    if new:
        raise ConfigError(f"Unknown parameter(s) {sorted(new)}; valid parameters are {sorted(known)}")
    config = ExperimentConfig.from_dict({k: namespace[k] for k in ExperimentConfig.field_names() if k in namespace})
    return identified_config(config, hint=MAKE_DATA_HINT)
