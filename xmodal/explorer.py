"""Latent-space explorer: the UMAP of a run's latent vectors as a page a person can question.

:func:`explore` reads the run folders of a study (or any list of run folders), embeds each
model's saved latent vectors in two dimensions with UMAP, and returns an
:class:`Explorer`: it displays itself in Jupyter (``_repr_html_``, everything inline) and
:meth:`Explorer.save` writes a standalone HTML file that works from ``file://`` with no
server and no network. In the page one can

1. choose the model: a drop-down per config key that varies among the runs (method, seed,
   training-set size, ...);
2. colour the points by sensor, dominant class of the soft label, whether the prediction
   is right (the dominant predicted class is the dominant class of the soft label), or the
   patch's homogeneity between the predictions of its sensors (the summand of eq. 5);
3. hover a point: the patch's thumbnails (S1 false colour VV, VH, VV-VH; S2 true colour
   B04, B03, B02), its soft label and the prediction of every sensor;
4. click a point: its aligned partner from the other sensor(s) is joined by a line, its
   ``k`` nearest cross-sensor neighbours (cosine, in the latent space) are ringed;
5. drag a lasso or a box: class histogram and sensor shares of the selection.

The page is plain HTML + SVG drawn by a small hand-written script
(``explorer_assets/explorer.js``, no library): the same fragment then works in a book page,
in a standalone file and in a notebook output, and the page's weight is its data (mostly
the thumbnails: 32 x 32 JPEG, each patch's encoded once and shared by all models).

Embeddings are cached per model in the (first) run folder as
``explorer-umap-<key>.npz``, where the key hashes the bytes of the latents file(s), the
UMAP parameters and the umap-learn version, so rebuilding a page does not run UMAP again.

Everything a run folder is read for goes through the functions of the section "run folder
readers" (:func:`load_run`, :func:`find_runs`).
"""

from __future__ import annotations

import base64
import hashlib
import html as html_lib
import io
import itertools
import json
import os
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from xmodal.data.normalize import DISPLAY_COMPOSITES, MODALITIES
from xmodal.errors import EXIT_FAILED, XmodalError
from xmodal.rundir import RunDir
from xmodal.rundir import find_runs as find_run_dirs

__all__ = [
    "UMAP_PARAMS",
    "Explorer",
    "ExplorerError",
    "Model",
    "RunRecord",
    "aligned_partners",
    "build_data",
    "cache_key",
    "colour_categories",
    "cross_sensor_neighbours",
    "embed",
    "explore",
    "find_runs",
    "group_models",
    "load_run",
    "model_menu",
    "render_html",
    "thumbnail",
]

#: UMAP settings of the explorer (cosine, like the neighbours the page marks; seeded).
UMAP_PARAMS: dict[str, Any] = {"n_neighbors": 15, "min_dist": 0.1, "metric": "cosine", "random_state": 0}
#: Nearest cross-sensor neighbours marked when a point is clicked.
K_NEIGHBOURS = 5
#: Thumbnail side in pixels, and JPEG quality.
THUMB_SIZE = 32
THUMB_QUALITY = 80
#: Config keys that say where or how fast a run ran, not which model it trained: never a menu.
RUNTIME_KEYS = frozenset({"data_root", "cache_dir", "device", "progress", "threads", "num_workers"})
#: Menu keys shown first, in this order; the other varying keys follow alphabetically.
MENU_FIRST = ("method", "modalities", "n_train", "seed")
#: Cache files written into run folders.
CACHE_PREFIX = "explorer-umap-"
#: Thumbnail views: the file a view is read from, the bands it shows and its caption.
VIEWS: dict[str, dict[str, str]] = {
    sensor: {"sensor": sensor, "caption": caption} for sensor, (caption, _) in DISPLAY_COMPOSITES.items()
}
#: Colours of "prediction right" (Okabe-Ito blue and orange, readable for colour-blind eyes).
RIGHT_COLOURS = {"right": "#0072b2", "wrong": "#e69f00"}
#: Viridis, for the homogeneity scale 0..1.
VIRIDIS = ["#440154", "#482878", "#3e4989", "#31688e", "#26828e", "#1f9e89", "#35b779", "#6ece58",
           "#b5de2b", "#fde725"]

_ASSETS = Path(__file__).with_name("explorer_assets")
_COUNTER = itertools.count()


class ExplorerError(XmodalError, RuntimeError):
    """The explorer cannot be built; the message says what is missing."""

    exit_code = EXIT_FAILED


# ---------------------------------------------------------------------------------
# run folder readers (the one place that knows a run folder's files)
# ---------------------------------------------------------------------------------
@dataclass
class RunRecord:
    """What the explorer reads from one run folder.

    Attributes:
        path: the run folder.
        config: the run's ``ExperimentConfig`` as a dict (its result's config).
        class_names: names of the soft-label entries.
        metrics: per modality, macro and weighted F1 (its result's metrics).
        homogeneity: eq. (5) per sensor pair, ``"s1|s2" -> s``.
        data_root: the SEN12MS root the run read (as recorded; may be gone).
        latents_file: the latents file the arrays below come from.
        z: ``[N, D]`` latent vectors; ``labels``/``prob``: ``[N, C]`` soft labels and predicted
            probabilities; ``modality``/``ids``: ``[N]`` sensor and patch id of each row.
    """

    path: Path
    config: dict[str, Any]
    class_names: list[str]
    metrics: dict[str, dict[str, float]]
    homogeneity: dict[str, float]
    data_root: str | None
    latents_file: Path
    z: np.ndarray
    labels: np.ndarray
    prob: np.ndarray
    modality: np.ndarray
    ids: np.ndarray


def load_run(run_dir: str | Path) -> RunRecord:
    """Read one finished run folder (its result and latent vectors, through :mod:`xmodal.rundir`).

    Raises:
        ExplorerError: the run did not finish, or its files are missing or unreadable.
    """
    from xmodal.rundir import RunFolderError

    run = RunDir(run_dir)
    try:
        result = run.result()
    except RunFolderError as err:
        raise ExplorerError(f"{run.name}: no readable result ({err})") from None
    if not result.ok:
        raise ExplorerError(f"{run.name}: status {result.status!r}, not a finished run")
    if not run.has_latents():
        raise ExplorerError(f"{run.name}: no latent vectors ({run.latents_path} is missing)")
    try:
        lat = run.latents()
    except RunFolderError as err:
        raise ExplorerError(str(err)) from None
    if len(lat.z) == 0:
        raise ExplorerError(f"{run.name}: no latent vectors were saved (n_latent = 0)")
    config = dict(result.config)
    metrics: dict[str, dict[str, float]] = {
        m: {k: float(v[k]) for k in ("macro", "weighted") if k in v} for m, v in result.metrics.items()
    }
    return RunRecord(
        path=run.path, config=config, class_names=result.class_names, metrics=metrics,
        homogeneity={k: float(v) for k, v in result.homogeneity.items()},
        data_root=_resolve_root(result.data.get("root") or config.get("data_root"), run.path),
        latents_file=run.latents_path,
        z=lat.z.astype(np.float32), labels=lat.labels.astype(np.float32), prob=lat.prob.astype(np.float32),
        modality=lat.modality.astype(str), ids=lat.ids.astype(str),
    )


def _resolve_root(root: str | None, run_dir: Path) -> str | None:
    """The recorded data root, found from here when it is relative.

    A relative root (``data/quick``) is looked for from the current folder, then from
    the run folder's ancestors (``runs/<study>/<run>`` sits in the project).
    """
    if not root or Path(root).is_absolute() or Path(root).is_dir():
        return root
    for base in run_dir.resolve().parents:
        if (base / root).is_dir():
            return str(base / root)
    return root


def find_runs(source: str | Path | Iterable[str | Path]) -> list[Path]:
    """Run folders named by ``source``.

    ``source`` is a study folder (its run folders holding a result), one run folder,
    or a list of run folders.

    Raises:
        ExplorerError: if no run folder is found.
    """
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if RunDir(path).result_path.is_file():
            runs = [path]
        elif path.is_dir():
            runs = [r.path for r in find_run_dirs(path) if r.result_path.is_file()]
        else:
            raise ExplorerError(f"No such folder: {path}")
    else:
        runs = [Path(p) for p in source]
    if not runs:
        raise ExplorerError(f"No run folder (holding a finished result) in {source}")
    return runs


# ---------------------------------------------------------------------------------
# models and the menu
# ---------------------------------------------------------------------------------
@dataclass
class Model:
    """What one entry of the model menu shows.

    One run, or the Baseline's one-sensor runs that differ only in their sensor
    (two separate models, embedded together).

    Attributes:
        runs: the run(s), ordered by sensor.
        config: the shared config; ``modalities`` lists every sensor of the runs.
    """

    runs: list[RunRecord]
    config: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.config:
            self.config = dict(self.runs[0].config)

    @property
    def shared_space(self) -> bool:
        """Whether all points live in one latent space (one network)."""
        return len(self.runs) == 1

    def _cat(self, name: str) -> np.ndarray:
        return np.concatenate([getattr(r, name) for r in self.runs])

    @property
    def z(self) -> np.ndarray:
        """``[N, D]`` latent vectors of all the runs, stacked in run order."""
        return self._cat("z")

    @property
    def labels(self) -> np.ndarray:
        """``[N, C]`` soft labels, rows as in :attr:`z`."""
        return self._cat("labels")

    @property
    def prob(self) -> np.ndarray:
        """``[N, C]`` predicted class probabilities, rows as in :attr:`z`."""
        return self._cat("prob")

    @property
    def modality(self) -> np.ndarray:
        """``[N]`` sensor of each row."""
        return self._cat("modality")

    @property
    def ids(self) -> np.ndarray:
        """``[N]`` patch id of each row."""
        return self._cat("ids")

    @property
    def sensors(self) -> list[str]:
        """Sensors in the order of the config's ``modalities``."""
        present = list(dict.fromkeys(self.modality.tolist()))
        order = [m for m in self.config.get("modalities", []) if m in present]
        return order + [m for m in present if m not in order]


def _model_key(config: Mapping[str, Any], drop: Iterable[str] = ()) -> str:
    skip = set(RUNTIME_KEYS) | set(drop)
    return json.dumps({k: v for k, v in config.items() if k not in skip}, sort_keys=True, default=str)


def group_models(runs: Sequence[RunRecord]) -> list[Model]:
    """The models of the menu: one :class:`Model` per run, Baseline pairs joined.

    Baseline runs which differ only in their one sensor become one model
    ("Baseline (two models)"), as in the book's latent page.

    Models are sorted by method (the paper's order), then by the menu keys.
    """
    from xmodal.config import METHODS as METHOD_ORDER

    groups: dict[str, list[RunRecord]] = {}
    singles: list[list[RunRecord]] = []
    for run in runs:
        mods = list(run.config.get("modalities") or [])
        if run.config.get("method") == "baseline" and len(mods) == 1:
            groups.setdefault(_model_key(run.config, drop=("modalities",)), []).append(run)
        else:
            singles.append([run])
    members: list[list[RunRecord]] = []
    for group in groups.values():
        seen: dict[str, RunRecord] = {}
        for run in group:  # the same sensor twice (a copied folder): keep separate models
            mod = run.config["modalities"][0]
            if mod in seen:
                singles.append([run])
            else:
                seen[mod] = run
        members.append(list(seen.values()))
    members += singles
    models = []
    for rs in members:
        config = dict(rs[0].config)
        if len(rs) > 1:
            mods = [m for r in rs for m in r.config["modalities"]]
            order = {m: i for i, m in enumerate(MODALITIES)}
            rs = sorted(rs, key=lambda r: (order.get(r.config["modalities"][0], 9), r.config["modalities"][0]))
            config["modalities"] = sorted(mods, key=lambda m: (order.get(m, 9), m))
        models.append(Model(runs=list(rs), config=config))

    def sort_key(m: Model) -> tuple:
        method = m.config.get("method", "")
        rank = METHOD_ORDER.index(method) if method in METHOD_ORDER else len(METHOD_ORDER)
        n_train = m.config.get("n_train")
        return (rank, method, float("inf") if n_train is None else n_train, m.config.get("seed", 0),
                _model_key(m.config), str(m.runs[0].path))

    return sorted(models, key=sort_key)


def menu_value(key: str, value: Any) -> str:
    """How a config value reads in the menu (``n_train=None`` -> ``"all"``, lists joined by ``+``)."""
    if key == "n_train" and value is None:
        return "all"
    if key == "method" and value == "baseline":
        return "Baseline"
    if isinstance(value, (list, tuple)):
        return "+".join(str(v) for v in value)
    return str(value)


def model_menu(configs: Sequence[Mapping[str, Any]]) -> dict[str, list[str]]:
    """The drop-downs of the page: varying config key -> its values as they read in the menu.

    Every config key whose value varies among ``configs`` gets a drop-down (runtime keys
    such as ``device`` or ``data_root`` excepted); its values come in a natural order
    (methods as in the paper, numbers ascending, ``all`` last).
    """
    from xmodal.config import METHODS as METHOD_ORDER

    keys = sorted({k for c in configs for k in c} - RUNTIME_KEYS)
    varying = {}
    for key in keys:
        raw = [c.get(key) for c in configs]
        distinct = list(dict.fromkeys(json.dumps(v, sort_keys=True, default=str) for v in raw))
        if len(distinct) < 2:
            continue
        uniq: dict[str, Any] = {}
        for v in raw:
            uniq.setdefault(menu_value(key, v), v)

        def order(item: tuple[str, Any], key: str = key) -> tuple:
            label, v = item
            if key == "method" and v in METHOD_ORDER:
                return (0, METHOD_ORDER.index(v), 0.0, label)
            if v is None:
                return (2, 0, 0.0, label)
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                return (1, 0, float(v), label)
            return (1, 1, 0.0, label)

        values = [label for label, _ in sorted(uniq.items(), key=order)]
        varying[key] = values
    first = [k for k in MENU_FIRST if k in varying]
    return {k: varying[k] for k in first + sorted(set(varying) - set(first))}


# ---------------------------------------------------------------------------------
# UMAP, cached
# ---------------------------------------------------------------------------------
def _file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _umap_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("umap-learn")
    except PackageNotFoundError:
        return "unknown"


def cache_key(latents_files: Sequence[str | Path], params: Mapping[str, Any]) -> str:
    """The key of a cached embedding (hex SHA-256).

    It hashes the content hashes of the latents file(s) (in order), the UMAP
    parameters and the umap-learn version.
    """
    h = hashlib.sha256()
    for f in latents_files:
        h.update(_file_sha256(Path(f)).encode())
    h.update(json.dumps(dict(params), sort_keys=True).encode())
    h.update(_umap_version().encode())
    return h.hexdigest()


def _run_umap(z: np.ndarray, params: Mapping[str, Any]) -> np.ndarray:
    """UMAP of ``z`` into 2-d (seeded, one thread).

    With fewer than 4 vectors: the first two principal components instead (UMAP
    needs a few neighbours).
    """
    z = np.asarray(z, dtype=np.float32)
    n = len(z)
    if n < 4:
        centred = z - z.mean(0)
        u, s, _ = np.linalg.svd(centred, full_matrices=False)
        xy = np.zeros((n, 2), np.float32)
        xy[:, : min(2, u.shape[1])] = (u * s)[:, :2]
        return xy
    with warnings.catch_warnings():  # umap imports tqdm.auto (warns without ipywidgets)
        warnings.simplefilter("ignore")
        import umap

        k = max(2, min(int(params.get("n_neighbors", 15)), n - 1))
        reducer = umap.UMAP(n_neighbors=k, min_dist=float(params.get("min_dist", 0.1)),
                            metric=str(params.get("metric", "euclidean")),
                            random_state=int(params.get("random_state", 0)), n_jobs=1,
                            init="spectral" if n > k + 2 else "random")
        return np.asarray(reducer.fit_transform(z), dtype=np.float32)


def embed(model: Model, params: Mapping[str, Any] | None = None,
          cache: bool | str | Path = True) -> tuple[np.ndarray, str]:
    """2-d UMAP coordinates of a model's latent vectors, from the cache when possible.

    Args:
        model: the model (its runs' latent vectors are embedded together).
        params: UMAP settings (default :data:`UMAP_PARAMS`).
        cache: True: ``explorer-umap-<key>.npz`` in the model's first run folder;
            a folder: there instead (for read-only runs); False: never cache.

    Returns:
        ``[N, 2]`` float32 coordinates, and how they were obtained (``"cache"``,
        ``"umap"``, or ``"umap (not cached: ...)"``).
    """
    params = dict(UMAP_PARAMS if params is None else params)
    if cache is False:
        return _run_umap(model.z, params), "umap"
    key = cache_key([r.latents_file for r in model.runs], params)
    folder = model.runs[0].path if cache is True else Path(cache)
    path = folder / f"{CACHE_PREFIX}{key[:16]}.npz"
    if path.is_file():
        try:
            with np.load(path, allow_pickle=False) as f:
                if str(f["key"]) == key and f["xy"].shape == (len(model.z), 2):
                    return np.asarray(f["xy"], dtype=np.float32), "cache"
        except (OSError, ValueError, KeyError):
            pass  # unreadable: compute again and overwrite
    xy = _run_umap(model.z, params)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
        with open(tmp, "wb") as fh:
            np.savez(fh, xy=xy, key=np.array(key), params=np.array(json.dumps(params, sort_keys=True)))
        os.replace(tmp, path)
    except OSError as err:
        return xy, f"umap (not cached: {err.strerror or err})"
    return xy, "umap"


# ---------------------------------------------------------------------------------
# what a point is coloured by, its partner and its neighbours
# ---------------------------------------------------------------------------------
def aligned_partners(ids: Sequence[str] | np.ndarray, modality: Sequence[str] | np.ndarray,
                     sensors: Sequence[str]) -> np.ndarray:
    """For every point, the index of the same patch seen by each sensor.

    Returns:
        ``[N, S]`` int array (``S = len(sensors)``): column ``b`` holds the row of the patch's
        sensor-``b`` vector, -1 when that sensor did not see it (a point's own column is itself).
    """
    id_arr = np.asarray(ids).astype(str)
    mod_arr = np.asarray(modality).astype(str)
    _, inv = np.unique(id_arr, return_inverse=True)
    sensor_idx = np.array([list(sensors).index(m) for m in mod_arr], dtype=np.int64)
    table = -np.ones((inv.max() + 1 if len(inv) else 0, len(sensors)), dtype=np.int64)
    table[inv, sensor_idx] = np.arange(len(id_arr))
    return table[inv]


def cross_sensor_neighbours(z: np.ndarray, modality: Sequence[str] | np.ndarray, sensors: Sequence[str],
                            k: int = K_NEIGHBOURS, partners: np.ndarray | None = None,
                            ) -> tuple[np.ndarray, np.ndarray]:
    """Nearest neighbours from the other sensors, by cosine similarity in the latent space.

    Args:
        z: ``[N, D]`` latent vectors.
        modality: ``[N]`` sensor of each vector.
        sensors: the sensors, in column order.
        k: neighbours per other sensor.
        partners: :func:`aligned_partners` (for the ranks).

    Returns:
        ``nn`` ``[N, S, k]`` int: the ``k`` nearest sensor-``b`` vectors of each point, nearest
        first (-1 for its own sensor, or where sensor ``b`` has fewer than ``k`` vectors);
        ``rank`` ``[N, S]`` int: 1 + the number of sensor-``b`` vectors closer than the point's
        own partner from ``b`` (1: the partner is the nearest; 0: no partner or own sensor).
    """
    z = np.asarray(z, dtype=np.float64)
    mod_arr = np.asarray(modality).astype(str)
    zn = z / np.maximum(np.linalg.norm(z, axis=1, keepdims=True), 1e-12)
    sim = zn @ zn.T
    n, s = len(z), len(sensors)
    nn = -np.ones((n, s, k), dtype=np.int64)
    rank = np.zeros((n, s), dtype=np.int64)
    for a, sa in enumerate(sensors):
        rows = np.flatnonzero(mod_arr == sa)
        for b, sb in enumerate(sensors):
            cols = np.flatnonzero(mod_arr == sb)
            if a == b or len(rows) == 0 or len(cols) == 0:
                continue
            sub = sim[np.ix_(rows, cols)]
            kk = min(k, len(cols))
            nn[rows, b, :kk] = cols[np.argsort(-sub, axis=1, kind="stable")[:, :kk]]
            if partners is not None:
                p = partners[rows, b]
                has = p >= 0
                own = sim[rows[has], p[has]]
                rank[rows[has], b] = 1 + (sub[has] > own[:, None]).sum(axis=1)
    return nn, rank


def colour_categories(labels: np.ndarray, prob: np.ndarray, partners: np.ndarray) -> dict[str, np.ndarray]:
    """What each point can be coloured by (the sensor is the point's own).

    Args:
        labels: ``[N, C]`` soft labels; prob: ``[N, C]`` predicted probabilities.
        partners: :func:`aligned_partners` of the points.

    Returns:
        ``dominant`` (class index of the largest soft-label share), ``predicted`` (class
        index of the largest probability), ``right`` (``predicted == dominant``: the
        dominant-class reading of "right", not the F1 one), and ``homogeneity``: the
        histogram intersection ``sum_c min(p_a(c), p_b(c))`` between the point's prediction
        and that of each other sensor for the same patch (the summand of eq. 5), averaged
        over the other sensors; NaN when no other sensor saw the patch.
    """
    labels = np.asarray(labels, dtype=np.float64)
    prob = np.asarray(prob, dtype=np.float64)
    dominant = labels.argmax(axis=1)
    predicted = prob.argmax(axis=1)
    n, s = partners.shape
    total = np.zeros(n)
    count = np.zeros(n)
    own = np.arange(n)
    for b in range(s):
        p = partners[:, b]
        ok = (p >= 0) & (p != own)
        total[ok] += np.minimum(prob[ok], prob[p[ok]]).sum(axis=1)
        count[ok] += 1
    with np.errstate(invalid="ignore", divide="ignore"):
        homogeneity = np.where(count > 0, total / np.maximum(count, 1), np.nan)
    return {"dominant": dominant, "predicted": predicted, "right": predicted == dominant,
            "homogeneity": homogeneity}


# ---------------------------------------------------------------------------------
# thumbnails
# ---------------------------------------------------------------------------------
def thumbnail(root: str | Path, patch_id: str, view: str, size: int = THUMB_SIZE,
              quality: int = THUMB_QUALITY) -> str:
    """A patch's thumbnail as a ``data:image/jpeg;base64,...`` URI.

    The display conventions are the project's (:func:`xmodal.runplots.display_rgb`: S1
    false colour VV, VH, VV-VH; S2 true colour B04, B03, B02; each channel stretched
    between its 2nd and 98th percentile), then the image is box-averaged to ``size`` pixels.

    Raises:
        xmodal.data.MissingFileError: if the patch's file is not under ``root``.
    """
    from PIL import Image

    from xmodal.data.layout import read_patch
    from xmodal.data.normalize import SENSOR_BANDS
    from xmodal.runplots import display_rgb

    sensor = VIEWS[view]["sensor"]
    raw = read_patch(root, patch_id, sensor)
    rgb = display_rgb(raw, SENSOR_BANDS[sensor], sensor)
    img = Image.fromarray((np.nan_to_num(rgb) * 255 + 0.5).astype(np.uint8))
    if img.size != (size, size):
        img = img.resize((size, size), Image.Resampling.BOX)
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _view_of(sensor: str) -> str | None:
    """The thumbnail view of a modality (``s2all`` and ``rgb`` read the S2 file), or None."""
    from xmodal.data import MODALITY_SPECS

    spec = MODALITY_SPECS.get(sensor)
    return spec.sensor if spec is not None and spec.sensor in VIEWS else None


def _thumbnails(ids: Sequence[str], views: Sequence[str], roots: Sequence[str | None], size: int,
                ) -> tuple[dict[str, list[str | None]], str]:
    """Thumbnails of every patch and view, and a note saying what is missing."""
    found = [Path(r) for r in dict.fromkeys(r for r in roots if r) if Path(r).is_dir()]
    out: dict[str, list[str | None]] = {v: [None] * len(ids) for v in views}
    if not found:
        named = ", ".join(str(r) for r in dict.fromkeys(r for r in roots if r)) or "none recorded"
        return out, f"No thumbnails: the data the runs read is not here ({named})."
    root = found[0]
    missing = 0
    for view in views:
        for i, pid in enumerate(ids):
            try:
                out[view][i] = thumbnail(root, pid, view, size=size)
            except (FileNotFoundError, ValueError, OSError):
                missing += 1
    total = len(ids) * len(views)
    note = f"Thumbnails: {total - missing} of {total} read from {root}"
    note += f" ({missing} patch files missing)." if missing else "."
    return out, note


# ---------------------------------------------------------------------------------
# the page's data
# ---------------------------------------------------------------------------------
def _pct(a: np.ndarray) -> list[list[int]]:
    """Shares as integer percents (what the page shows; keeps the page light)."""
    return np.rint(np.asarray(a, dtype=np.float64) * 100).astype(int).tolist()


def _model_title(values: Mapping[str, str], model: Model) -> str:
    if values:
        return ", ".join(f"{k} {v}" if k != "method" else v for k, v in values.items())
    return menu_value("method", model.config.get("method", "model"))


def build_data(runs: Sequence[RunRecord], *, k: int = K_NEIGHBOURS, umap_params: Mapping[str, Any] | None = None,
               cache: bool | str | Path = True, data_root: str | Path | None = None,
               thumb_size: int = THUMB_SIZE, title: str | None = None,
               skipped: Sequence[tuple[str, str]] = ()) -> dict[str, Any]:
    """Everything the page shows, as one JSON-serialisable dict.

    Args:
        runs: the runs (see :func:`load_run`).
        k: cross-sensor neighbours marked on click.
        umap_params: UMAP settings (default :data:`UMAP_PARAMS`).
        cache: where embeddings are cached (see :func:`embed`).
        data_root: the SEN12MS root for thumbnails (default: the one the runs recorded);
            without it, the page has no thumbnails and says so.
        thumb_size: thumbnail side in pixels.
        title: the page's heading.
        skipped: ``(run folder, reason)`` of runs left out, listed in the page.

    Returns:
        ``{"title", "sensors", "views", "classes", "colours", "menu", "models", "patches",
        "notes", ...}``: ``patches`` holds each patch's id, thumbnails and soft label (in
        percent) once; a model's points refer to patches by index (and carry their own
        ``label`` only when their soft labels differ, e.g. another label scheme).
    """
    from xmodal.data.normalize import modality_color, modality_label
    from xmodal.plots import CLASS_COLORS

    if not runs:
        raise ExplorerError("No finished run with latent vectors to explore")
    params = dict(UMAP_PARAMS if umap_params is None else umap_params)
    models = group_models(runs)
    menu = model_menu([m.config for m in models])
    all_sensors = list(dict.fromkeys(s for m in models for s in m.sensors))
    patch_ids = list(dict.fromkeys(pid for m in models for pid in m.ids.tolist()))
    patch_index = {pid: i for i, pid in enumerate(patch_ids)}
    classes = list(dict.fromkeys(c for r in runs for c in r.class_names))
    how: list[str] = []
    out_models = []
    # Soft labels belong to the patch: stored once (by patch) unless a model's differ (another scheme).
    shared_labels: dict[int, list[int]] = {}
    label_classes: list[int] | None = None
    for model in models:
        sensors = model.sensors
        mod = model.modality
        ids = model.ids
        xy, source = embed(model, params, cache)
        how.append(source)
        partners = aligned_partners(ids, mod, sensors)
        cats = colour_categories(model.labels, model.prob, partners)
        if model.shared_space:
            nn, rank = cross_sensor_neighbours(model.z, mod, sensors, k=k, partners=partners)
        else:
            nn, rank = np.zeros((len(ids), len(sensors), 0), np.int64), np.zeros((len(ids), len(sensors)), np.int64)
        own = np.array([sensors.index(m) for m in mod])
        others = [[b for b in range(len(sensors)) if b != a] for a in own]
        found = float(np.mean(rank[rank > 0] == 1)) if (rank > 0).any() else None
        class_pos = [classes.index(c) for c in model.runs[0].class_names]
        values = {key: menu_value(key, model.config.get(key)) for key in menu}
        metrics: dict[str, dict[str, float]] = {}
        hom: dict[str, float] = {}
        for r in model.runs:
            metrics.update(r.metrics)
            hom.update(r.homogeneity)
        patch_rows = [patch_index[p] for p in ids.tolist()]
        label_pct = _pct(model.labels)
        own_labels = label_classes not in (None, class_pos) or any(
            shared_labels.get(j, row) != row for j, row in zip(patch_rows, label_pct, strict=True))
        if not own_labels:
            label_classes = class_pos
            shared_labels.update(zip(patch_rows, label_pct, strict=True))
        out_models.append({
            "title": _model_title(values, model),
            "values": values,
            "runs": [r.path.name for r in model.runs],
            "shared": model.shared_space,
            "sensors": [all_sensors.index(s) for s in sensors],
            "classes": class_pos,
            "metrics": metrics,
            "homogeneity": hom,
            "pair_found": found,
            "embedding": source,
            "points": {
                "patch": patch_rows,
                "sensor": [all_sensors.index(m) for m in mod.tolist()],
                "x": np.round(xy[:, 0].astype(np.float64), 3).tolist(),
                "y": np.round(xy[:, 1].astype(np.float64), 3).tolist(),
                **({"label": label_pct} if own_labels else {}),  # else: patches.label
                "prob": _pct(model.prob),
                "dominant": cats["dominant"].tolist(),
                "predicted": cats["predicted"].tolist(),
                "right": cats["right"].astype(int).tolist(),
                "hom": [None if np.isnan(h) else round(float(h), 3) for h in cats["homogeneity"]],
                # other sensors' partner rows, ranks and neighbours (own sensor left out)
                "partner": [[int(partners[i, b]) for b in others[i]] for i in range(len(ids))],
                "rank": [[int(rank[i, b]) for b in others[i]] for i in range(len(ids))],
                "nn": [[int(j) for b in others[i] for j in nn[i, b] if j >= 0] for i in range(len(ids))],
            },
        })
    views = list(dict.fromkeys(v for s in all_sensors if (v := _view_of(s)) is not None))
    roots = [str(data_root)] if data_root is not None else [r.data_root for r in runs]
    thumbs, thumb_note = _thumbnails(patch_ids, views, roots, thumb_size)
    default = next((i for i, m in enumerate(models)
                    if m.config.get("method") == "C+T+M" and m.config.get("n_train") is None), 0)
    cached = sum(h == "cache" for h in how)
    notes = [
        (f"UMAP of each model's saved latent vectors (test patches), {json.dumps(params)}; "
         f"{cached} of {len(how)} embeddings read from the cache in the run folders."),
        "Right: the class with the largest predicted probability is the dominant class of the soft label.",
        ("Homogeneity: sum over classes of min(p_a, p_b) between the patch's predictions from two sensors "
         "(the summand of eq. 5; its mean over the test patches is s)."),
        (f"Neighbours: the {k} nearest latent vectors from each other sensor, by cosine similarity in "
         "the latent space (not in the 2-d projection)."),
        thumb_note,
    ]
    if skipped:
        notes.append("Left out: " + "; ".join(f"{name} ({why})" for name, why in skipped) + ".")
    return {
        "title": title or "Latent-space explorer",
        "sensors": all_sensors,
        "sensor_labels": [modality_label(s) for s in all_sensors],
        "sensor_colours": [modality_color(s) for s in all_sensors],
        "sensor_views": [_view_of(s) for s in all_sensors],
        "views": {v: VIEWS[v]["caption"] for v in views},
        "classes": classes,
        "class_colours": [CLASS_COLORS.get(c, "#7f7f7f") for c in classes],
        "right_colours": RIGHT_COLOURS,
        "scale": VIRIDIS,
        "k": k,
        "menu": menu,
        "default": default,
        "models": out_models,
        "patches": {"ids": patch_ids, "thumbs": thumbs,
                    "label": [shared_labels.get(i) for i in range(len(patch_ids))]},
        "has_thumbs": any(t is not None for ts in thumbs.values() for t in ts),
        "notes": notes,
    }


# ---------------------------------------------------------------------------------
# the page
# ---------------------------------------------------------------------------------
def _asset(name: str) -> str:
    path = _ASSETS / name
    if not path.is_file():
        raise ExplorerError(f"The explorer's {name} is missing from {_ASSETS}: reinstall xmodal")
    return path.read_text(encoding="utf-8")


def _json_for_script(obj: Any) -> str:
    """JSON that is safe inside ``<script>`` (no ``</script>`` or ``<!--`` can appear)."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False, allow_nan=False).replace("<", "\\u003c")


def page_weight(data: Mapping[str, Any]) -> dict[str, int]:
    """Bytes of the page's parts.

    Returns:
        ``thumbnails`` (their base64 text), ``data`` (the rest of the JSON), ``code``
        (script and style) and ``total``.
    """
    thumbs = sum(len(t) for ts in data["patches"]["thumbs"].values() for t in ts if t)
    data_bytes = len(_json_for_script(data).encode()) - thumbs
    code = len(_asset("explorer.js").encode()) + len(_asset("explorer.css").encode())
    return {"thumbnails": thumbs, "data": data_bytes, "code": code, "total": thumbs + data_bytes + code}


def render_html(data: Mapping[str, Any], standalone: bool = False) -> str:
    """The explorer as HTML; nothing is loaded from anywhere.

    A ``<div>`` with its style, data and script inline, mounted by an inline call
    (works in a notebook output and in a book page); ``standalone=True`` wraps it in
    a whole document.
    """
    data = dict(data)
    weight = page_weight(data)
    data["weight"] = weight
    digest = hashlib.sha1(_json_for_script(data).encode()).hexdigest()[:8]
    uid = f"xme-{digest}-{next(_COUNTER)}"
    fragment = (
        f'<div class="xme" id="{uid}">\n'
        f"<style>\n{_asset('explorer.css')}</style>\n"
        f'<script type="application/json" class="xme-data">{_json_for_script(data)}</script>\n'
        '<p class="xme-nojs">The latent-space explorer needs JavaScript '
        "(in Jupyter: trust the notebook, then run the cell again).</p>\n"
        f"<script>\n{_asset('explorer.js')}</script>\n"
        f'<script>window.XmodalExplorer.mount("{uid}", document.currentScript);</script>\n'
        "</div>"
    )
    if not standalone:
        return fragment
    title = html_lib.escape(str(data.get("title", "Latent-space explorer")))
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{title}</title>\n</head>\n"
        '<body style="margin:1rem 1.5rem;font-family:system-ui,sans-serif;background:#fff">\n'
        f"{fragment}\n</body>\n</html>\n"
    )


@dataclass
class Explorer:
    """A built explorer: displays itself in Jupyter, saves itself as one HTML file.

    Attributes:
        data: the page's data (:func:`build_data`).
    """

    data: dict[str, Any]

    def html(self, standalone: bool = False) -> str:
        """The page as HTML (see :func:`render_html`)."""
        return render_html(self.data, standalone=standalone)

    def _repr_html_(self) -> str:
        return self.html()

    def save(self, path: str | Path) -> Path:
        """Write a standalone HTML file (no server, no network needed) and return its path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.html(standalone=True), encoding="utf-8")
        return path

    def weight(self) -> dict[str, int]:
        """Bytes of the page's parts (see :func:`page_weight`)."""
        return page_weight(self.data)

    @property
    def models(self) -> list[str]:
        """Titles of the models in the menu."""
        return [m["title"] for m in self.data["models"]]

    def __repr__(self) -> str:
        w = self.weight()
        return (f"<Explorer: {len(self.data['models'])} models, {len(self.data['patches']['ids'])} patches, "
                f"{w['total'] / 1024:.0f} kB>")


def explore(source: str | Path | Iterable[str | Path], *, data_root: str | Path | None = None,
            k: int = K_NEIGHBOURS, umap_params: Mapping[str, Any] | None = None,
            cache: bool | str | Path = True, thumb_size: int = THUMB_SIZE, title: str | None = None) -> Explorer:
    """The latent-space explorer of a study's runs, in one call.

    Args:
        source: a study folder (``runs/<study>``), one run folder, or a list of run folders.
            Runs that did not finish or saved no latent vectors are left out (the page
            lists them).
        data_root: the SEN12MS root for the thumbnails (default: the one the runs recorded).
        k: nearest cross-sensor neighbours marked when a point is clicked.
        umap_params: UMAP settings (default :data:`UMAP_PARAMS`).
        cache: cache embeddings in the run folders (True), in another folder, or not (False).
        thumb_size: thumbnail side in pixels.
        title: the page's heading (default names the study folder).

    Returns:
        An :class:`Explorer`: display it in Jupyter, or ``.save("explorer.html")``.

    Raises:
        ExplorerError: no run folder, or none with latent vectors.
    """
    folders = find_runs(source)
    runs, skipped = [], []
    for folder in folders:
        try:
            runs.append(load_run(folder))
        except ExplorerError as err:
            skipped.append((folder.name, str(err).split(": ", 1)[-1]))
    if not runs:
        raise ExplorerError("No finished run with latent vectors in "
                            + ", ".join(str(f) for f in folders[:3]) + (" ..." if len(folders) > 3 else ""))
    if title is None:
        study = Path(source).name if isinstance(source, (str, os.PathLike)) and len(folders) > 1 else None
        title = f"Latent-space explorer: study {study}" if study else "Latent-space explorer"
    data = build_data(runs, k=k, umap_params=umap_params, cache=cache, data_root=data_root,
                      thumb_size=thumb_size, title=title, skipped=skipped)
    return Explorer(data)
