"""Sphinx extension of the xmodal book: everything the pages load comes from the book.

* Interactive figures are written into the pages as ``<div>`` + ``Plotly.newPlot(...)``
  without the library (see :func:`xmodal.plots.plotly_html`). This extension adds a
  ``<script>`` tag for the book's own copy of ``plotly.min.js``
  (``_static/vendor/plotly/plotly.min.js``, copied from the installed ``plotly`` package by
  :func:`xmodal.book.build_book`) to exactly the pages whose body calls ``Plotly.newPlot``,
  so pages without figures stay light.
* Jupyter Book always loads sphinx-thebe, whose page scripts name a CDN (unpkg.com) from
  which thebe would be fetched on demand. Live code cells are switched off in this book
  (``launch_buttons: thebe: false``), so those scripts are dropped from every page.
"""

from __future__ import annotations

from typing import Any

PLOTLY_JS = "vendor/plotly/plotly.min.js"


def _is_thebe(js: Any) -> bool:
    name = str(js)
    body = str(getattr(js, "attributes", {}).get("body", "") or "")
    return "sphinx-thebe" in name or "THEBE_JS_URL" in body or "THEBE_JS_URL" in name


def _page_scripts(app: Any, pagename: str, templatename: str, context: dict, doctree: Any) -> None:
    if "script_files" in context:
        context["script_files"][:] = [js for js in context["script_files"] if not _is_thebe(js)]
    body = context.get("body") or ""
    if "Plotly.newPlot" in body:
        # Called from html-page-context, add_js_file affects this page only (Sphinx >= 3.5).
        app.add_js_file(PLOTLY_JS, priority=200)


def setup(app: Any) -> dict[str, Any]:
    app.connect("html-page-context", _page_scripts)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
