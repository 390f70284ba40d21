"""Every notebook (the book's pages, the experiment template, the exercises) calls names the package has.

A name moved or renamed in the package breaks a page only when the book is built, minutes
later; this reads the notebooks' code and checks every ``module.name`` they use, in seconds.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted([*ROOT.glob("book/*.ipynb"), *ROOT.glob("notebooks/**/*.ipynb"),
                    ROOT / "xmodal" / "sweep" / "experiment.ipynb"])
_FROM = re.compile(r"^[ \t]*from (xmodal(?:\.\w+)*) import (?:\(([^)]*)\)|([\w, \t]+)$)", re.M)


def _code(path: Path) -> str:
    nb = nbformat.read(path, as_version=4)
    return "\n".join(c.source for c in nb.cells if c.cell_type == "code")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_name_a_notebook_uses_exists(path: Path) -> None:
    code = _code(path)
    bound: dict[str, object] = {}
    missing: list[str] = []
    for module_name, grouped, inline in _FROM.findall(code):
        names = grouped or inline
        module = importlib.import_module(module_name)
        for name in (n.strip() for n in names.replace("\n", " ").split(",")):
            if not name:
                continue
            if not hasattr(module, name):
                try:
                    bound[name] = importlib.import_module(f"{module_name}.{name}")
                except ModuleNotFoundError:
                    missing.append(f"{module_name}.{name}")
                continue
            bound[name] = getattr(module, name)
    for alias, obj in bound.items():
        if not hasattr(obj, "__path__") and not hasattr(obj, "__file__"):
            continue  # a function or class: its attributes are not names of the package
        for chain in re.findall(rf"(?<![\w.]){re.escape(alias)}((?:\.\w+)+)", code):
            target: object = obj
            for part in chain.strip(".").split("."):
                if not hasattr(target, part):
                    missing.append(f"{alias}{chain}")
                    break
                target = getattr(target, part)
                if not (hasattr(target, "__path__") or hasattr(target, "__file__")):
                    break  # past the package's modules: a method of a returned object
    assert sorted(set(missing)) == []
