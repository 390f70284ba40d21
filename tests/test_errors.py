"""One exception base for the package, and the CLI's exit codes by class."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import xmodal
from xmodal.cli import describe_error
from xmodal.errors import EXIT_BAD_INPUT, EXIT_FAILED, XmodalError


def _package_exceptions() -> list[type[Exception]]:
    found: dict[str, type[Exception]] = {}
    for info in pkgutil.walk_packages(xmodal.__path__, prefix="xmodal."):
        module = importlib.import_module(info.name)
        for _, obj in inspect.getmembers(module, inspect.isclass):
            if (issubclass(obj, Exception) and not issubclass(obj, Warning)
                    and obj.__module__.startswith("xmodal.")):
                found[f"{obj.__module__}.{obj.__qualname__}"] = obj
    return [found[k] for k in sorted(found)]


def test_every_error_of_the_package_derives_from_the_one_base() -> None:
    errors = _package_exceptions()
    assert len(errors) >= 10
    outside = [f"{e.__module__}.{e.__qualname__}" for e in errors if not issubclass(e, XmodalError)]
    assert outside == []


@pytest.mark.parametrize("code", [EXIT_BAD_INPUT, EXIT_FAILED])
def test_the_cli_maps_exit_codes_by_class(code: int) -> None:
    class SomeLayerError(XmodalError, ValueError):
        exit_code = code

    message, got = describe_error(SomeLayerError("bad value 3 in x.yaml\nmore detail"))
    assert got == code
    assert message.startswith("bad value 3 in x.yaml")


def test_every_error_class_says_its_exit_code() -> None:
    codes = {e.exit_code for e in _package_exceptions()}
    assert codes <= {EXIT_BAD_INPUT, EXIT_FAILED}
