r"""Study files: the shipped profiles, reading and checking a study, and naming it by name or YAML path.

A *study* is a YAML file that says which data to use and which points to train: the
paper's ablations (Baseline on S1 and on S2, C, C+M, C+T, C+T+M), training-set sizes
(Figure 3) and seeds. The *profiles* are the study files shipped in ``xmodal/studies/``;
:func:`profiles` lists them from the files themselves, so a new file is a new profile.
Every command takes a study the same way (:func:`resolve_study`): a profile's name, the
path of a study YAML, or (for the commands that only read runs) the name of a study's
runs folder.

Study file format::

    name: quick                   # the folder under runs_dir
    description: one line shown in the book
    data:
      synthetic: {n_scenes: 4, patches_per_side: 3, patch_size: 32, seed: 0}  # make_synthetic kwargs
      root: data/quick            # the data root (``--data`` overrides it)
      # or, for real data:  sen12ms: true  (and no ``synthetic``: a root must be given)
    base: {backbone: resnet18, epochs: 2, threads: 1}   # ExperimentConfig values shared by all points
    seeds: [0]
    n_train: [null]               # default training-set sizes (null = the whole split)
    executor: notebook            # notebook (a Jupyter kernel per point) | process (long-lived workers)
    notebooks: all                # process executor: which finished points get their notebook
    runs:                         # groups; each expands over its sizes x seeds (x modalities)
      - {method: baseline, modalities: [[s1], [s2]], n_train: [16, 32]}
      - {method: C+T+M, n_train: [16, 32]}
      - {method: C+M, set: {alpha: 0.5}}     # ``set`` overrides config values of one group
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from xmodal.config import ConfigError, ExperimentConfig
from xmodal.errors import XmodalError

__all__ = [
    "BUDGET_STUDY",
    "DEFAULT_STUDY",
    "EXECUTORS",
    "LATENT_STUDY",
    "NOTEBOOK_CHOICES",
    "SENSORS_STUDY",
    "STUDIES_DIR",
    "StudyError",
    "load_study",
    "profile_path",
    "profiles",
    "resolve_study",
    "study_argument",
]

#: Folder of the study files shipped with the package (the profiles).
STUDIES_DIR: Final[Path] = Path(__file__).resolve().parent.parent / "studies"

#: The profile the book and ``make book`` show.
DEFAULT_STUDY: Final[str] = "default"
#: The profile the results page reads beside the default study: Figure 3 at twice the budget.
BUDGET_STUDY: Final[str] = "budget"
#: The profile the latent page reads beside the default study: the latent-space sensitivity study.
LATENT_STUDY: Final[str] = "latent"
#: The profile the clouds page reads: cloudy S2 and a third sensor.
SENSORS_STUDY: Final[str] = "sensors"

#: How a sweep runs its points: a Jupyter kernel each (``notebook``) or long-lived worker processes (``process``).
EXECUTORS: Final[tuple[str, ...]] = ("notebook", "process")
#: Which points get an executed notebook when the ``process`` executor trained them: every
#: point, those of the first seed of their group, or none (the notebook executor makes every one).
NOTEBOOK_CHOICES: Final[tuple[str, ...]] = ("all", "first-seed", "none")  # first-seed: of every method

_YAML_SUFFIXES = (".yaml", ".yml")
_TOP_KEYS = {"name", "description", "extends", "data", "base", "seeds", "n_train", "runs", "executor", "notebooks",
             "tuning", "calibration", "regime"}
_GROUP_KEYS = {"method", "modalities", "n_train", "seeds", "set", "name"}
_FOLDER_NAME = re.compile(r"[\w.+-]+")


class StudyError(XmodalError, ValueError):
    """A study file or a sweep request is invalid; the message names the file or value."""


def profiles() -> tuple[str, ...]:
    """The names of the shipped profiles: one per file ``xmodal/studies/<name>.yaml``, sorted."""
    return tuple(sorted(p.stem for p in STUDIES_DIR.glob("*.yaml")))


def profile_path(name: str) -> Path:
    """The file of the shipped profile ``name``.

    Raises:
        StudyError: no profile has that name (the message lists the profiles).
    """
    path = STUDIES_DIR / f"{name}.yaml"
    if name not in profiles():
        raise StudyError(f"Unknown profile {name!r}; the profiles are {list(profiles())} (files in {STUDIES_DIR})")
    return path


def _is_yaml_path(study: str) -> bool:
    return study.endswith(_YAML_SUFFIXES) or Path(study).is_file()


def _study_file(name_or_path: str | os.PathLike[str]) -> Path:
    """The study file a name (a profile) or a path names."""
    s = str(name_or_path)
    if not s.endswith(_YAML_SUFFIXES) and s in profiles():
        return STUDIES_DIR / f"{s}.yaml"
    p = Path(s)
    if p.is_file():
        return p
    if s.endswith(_YAML_SUFFIXES):
        raise StudyError(f"Study file {s} does not exist; give a study YAML or one of the profiles {list(profiles())}")
    raise StudyError(f"Unknown study {s!r}: not one of the profiles {list(profiles())} and no such file")


def load_study(name_or_path: str | os.PathLike[str] | Mapping[str, Any]) -> dict[str, Any]:
    """Read and check a study spec.

    Args:
        name_or_path: a profile's name (:func:`profiles`), a path to a YAML file, or an
            already loaded mapping.

    Returns:
        The spec as a dict with every top-level key present (``name``,
        ``description``, ``data``, ``base``, ``seeds``, ``n_train``, ``runs``,
        ``executor``, ``notebooks``, ``extends``, ``tuning``, ``calibration``, ``regime``) and ``source``
        (the file it came from, or ``None``).

    A study that ``extends`` a profile (its name) starts from that profile's ``data`` and
    ``base``: its own ``base`` keys override the profile's, its own ``data`` (when given)
    replaces it. So a study that must train on the same data and split as another (the
    ``budget`` and ``tuned`` profiles beside ``default``) says so once instead of copying them.

    Raises:
        StudyError: the file is missing or a key or value is invalid (the
            message names the file and the key).
        ConfigError: a ``base`` or ``set`` value is not a valid config value.
    """
    import yaml

    if isinstance(name_or_path, Mapping):
        raw: Any = dict(name_or_path)
        source = raw.get("source")
    else:
        path = _study_file(name_or_path)
        try:
            raw = yaml.safe_load(path.read_text())
        except yaml.YAMLError as exc:
            raise StudyError(f"Study file {path} is not valid YAML: {exc}") from None
        source = str(path)
    where = source or "study mapping"
    if not isinstance(raw, dict):
        raise StudyError(f"Study file {where} must hold a mapping, got {type(raw).__name__}")
    unknown = sorted(set(raw) - _TOP_KEYS - {"source"})
    if unknown:
        raise StudyError(f"Study file {where}: unknown key(s) {unknown}; valid keys are {sorted(_TOP_KEYS)}")
    parent: dict[str, Any] = {"data": {}, "base": {}}
    extends = raw.get("extends")
    if extends is not None:
        if extends not in profiles() or extends == raw.get("name"):
            raise StudyError(
                f"Study file {where}: 'extends' must name another profile, one of {list(profiles())}; got {extends!r}")
        parent = load_study(extends)
    spec: dict[str, Any] = {
        "name": raw.get("name") or (Path(source).stem if source else None),
        "description": raw.get("description", ""),
        "extends": extends,
        "data": dict(raw.get("data") or parent["data"]),
        "base": {**parent["base"], **dict(raw.get("base") or {})},
        "seeds": list(raw.get("seeds") or [0]),
        "n_train": list(raw.get("n_train") or [None]),
        "runs": list(raw.get("runs") or []),
        "executor": raw.get("executor") or "notebook",
        "notebooks": raw.get("notebooks") or "all",
        "tuning": raw.get("tuning"),  # a tuning profile's search (checked by xmodal.tuning)
        "calibration": raw.get("calibration"),  # a calibration's search (checked by xmodal.worlds)
        "regime": raw.get("regime"),  # a regime map's grid (checked by xmodal.worlds)
        "source": source,
    }
    if spec["executor"] not in EXECUTORS:
        raise StudyError(
            f"Study file {where}: invalid 'executor' {spec['executor']!r}; choose one of {list(EXECUTORS)}")
    if spec["notebooks"] not in NOTEBOOK_CHOICES:
        raise StudyError(
            f"Study file {where}: invalid 'notebooks' {spec['notebooks']!r}; choose one of {list(NOTEBOOK_CHOICES)}")
    if not spec["name"] or not _FOLDER_NAME.fullmatch(str(spec["name"])):
        raise StudyError(f"Study file {where}: 'name' must be a simple folder name, got {spec['name']!r}")
    if not spec["runs"]:
        raise StudyError(f"Study file {where}: 'runs' lists no experiments")
    try:
        ExperimentConfig.from_dict(spec["base"])
    except ConfigError as exc:
        raise ConfigError(f"Study file {where}, 'base': {exc}") from None
    for i, group in enumerate(spec["runs"]):
        if not isinstance(group, dict) or "method" not in group:
            raise StudyError(f"Study file {where}: runs[{i}] must be a mapping with a 'method'")
        bad = sorted(set(group) - _GROUP_KEYS)
        if bad:
            raise StudyError(
                f"Study file {where}: runs[{i}] has unknown key(s) {bad}; valid keys are {sorted(_GROUP_KEYS)}"
            )
    data = spec["data"]
    bad = sorted(set(data) - {"synthetic", "root", "sen12ms"})
    if bad:
        raise StudyError(f"Study file {where}: 'data' has unknown key(s) {bad}; use synthetic, root, sen12ms")
    return spec


def resolve_study(
    study: str | os.PathLike[str] | Mapping[str, Any], *, need_spec: bool = True,
) -> tuple[dict[str, Any] | None, str]:
    """A study as every command takes it: its spec and the name of its runs folder.

    The runs folder is the spec's ``name`` (``runs/<name>``), whether the study is given by
    a profile's name or by the path of a YAML file (whose stem may differ from its name).
    A command that only reads runs (``results``, ``book``, ``clouds``) may also name a
    study by its runs folder alone (a study run from a YAML kept elsewhere): then there is
    no spec.

    Args:
        study: a profile's name, a study YAML's path, a loaded spec, or (``need_spec=False``)
            the name of a runs folder.
        need_spec: refuse a name that is neither a profile nor a file.

    Returns:
        ``(spec, folder)``: the checked spec (:func:`load_study`; ``None`` for a runs folder
        name) and the runs folder's name.

    Raises:
        StudyError: no such study file or profile (``need_spec``), or the name is not a simple
            folder name; the file's own errors (:func:`load_study`).
    """
    if isinstance(study, Mapping):
        spec = load_study(study)
        return spec, str(spec["name"])
    s = str(study)
    if need_spec or _is_yaml_path(s) or s in profiles():
        spec = load_study(s)
        return spec, str(spec["name"])
    if not _FOLDER_NAME.fullmatch(s):
        raise StudyError(f"Unknown study {s!r}: not one of the profiles {list(profiles())}, no such study file, "
                         "and not the name of a runs folder")
    return None, s


def study_argument(spec: Mapping[str, Any]) -> str:
    """How to name ``spec`` on a command line: its profile's name when it is one, else its file."""
    name, source = spec.get("name"), spec.get("source")
    if name in profiles() and source and Path(source).resolve() == (STUDIES_DIR / f"{name}.yaml").resolve():
        return str(name)
    return str(source or name)
