"""The page: HTML + SVG drawn by a small hand-written script, and the one call that builds it.

The script and style are the package's ``assets/explorer.js`` and ``assets/explorer.css``
(no library), inlined in the page: the same fragment works in a book page, in a
standalone file and in a notebook output.
"""

from __future__ import annotations

import hashlib
import html as html_lib
import itertools
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .data import build_data
from .errors import ExplorerError
from .points import K_NEIGHBOURS
from .runs import find_runs, load_run
from .thumbnails import THUMB_SIZE

__all__ = ["Explorer", "explore", "page_weight", "render_html"]

#: The page's script and style.
_ASSETS = Path(__file__).with_name("assets")
_COUNTER = itertools.count()


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
