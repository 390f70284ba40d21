"""The experiment notebook: its parameters mirror ExperimentConfig, and papermill runs it."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import nbformat
import papermill as pm
import pytest

from xmodal.config import ExperimentConfig
from xmodal.rundir import RunDir
from xmodal.study import notebook_path

NOTEBOOK = notebook_path()

#: A tiny but complete experiment on the shared tiny synthetic root.
TINY = dict(
    method="C+T+M", epochs=1, batch_size=8, latent_dim=32, merge_hidden=[32, 32],
    classifier_hidden=16, modality_hidden=8, test_fraction=0.25, n_latent=10,
    device="cpu", threads=1, progress=False,
)


def _parameters_cell(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    cells = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(cells) == 1, "exactly one cell must be tagged 'parameters'"
    return cells[0]


def test_parameters_cell_mirrors_experiment_config() -> None:
    nb = nbformat.read(NOTEBOOK, as_version=4)
    tree = ast.parse(_parameters_cell(nb).source)
    assigned = [node.target.id for node in tree.body if isinstance(node, ast.AnnAssign)]
    assert all(isinstance(node, ast.AnnAssign) for node in tree.body), "only typed assignments"
    assert assigned == ExperimentConfig.field_names() + ["out_dir"]
    # the defaults are the dataclass defaults
    namespace: dict = {}
    exec("from typing import Optional\n" + _parameters_cell(nb).source, namespace)
    assert {k: namespace[k] for k in ExperimentConfig.field_names()} == ExperimentConfig().to_dict()


def test_papermill_help_documents_every_parameter() -> None:
    params = pm.inspect_notebook(str(NOTEBOOK))
    assert list(params) == ExperimentConfig.field_names() + ["out_dir"]
    for name, p in params.items():
        assert p["help"], f"parameter {name} has no help comment"
        assert p["inferred_type_name"] != "None", f"parameter {name} has no type"
    assert params["epochs"]["inferred_type_name"] == "int"
    assert params["n_train"]["inferred_type_name"] == "Optional[int]"


def test_notebook_is_committed_clean_and_follows_the_skeleton() -> None:
    nb = nbformat.read(NOTEBOOK, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, "notebook must have no outputs"
    headings = [ln for c in nb.cells if c.cell_type == "markdown" for ln in c.source.splitlines()
                if ln.startswith("#")]
    assert headings[0].startswith("# ")
    for section in ("## Overview", "## Prerequisites", "## Imports", "## Parameters",
                    "## Summary", "## What's next"):
        assert section in headings
    # the first code cell after the parameters builds the config
    idx = nb.cells.index(_parameters_cell(nb))
    nxt = next(c for c in nb.cells[idx + 1:] if c.cell_type == "code")
    assert "ExperimentConfig.from_dict(" in nxt.source


def test_kernel_is_this_python() -> None:
    from jupyter_client.kernelspec import KernelSpecManager

    spec = KernelSpecManager().get_kernel_spec("python3")
    assert Path(spec.argv[0]).resolve() == Path(sys.executable).resolve() or spec.argv[0] in (
        "python", "python3", "{python}"), f"kernel python3 runs {spec.argv[0]}, not {sys.executable}"


@pytest.mark.slow
def test_papermill_runs_the_experiment(synthetic_root: Path, tmp_path: Path) -> None:
    out_dir = tmp_path / "run"
    params = {**TINY, "data_root": str(synthetic_root), "out_dir": str(out_dir)}
    nb = pm.execute_notebook(str(NOTEBOOK), str(tmp_path / "out.ipynb"), parameters=params,
                             kernel_name="python3", progress_bar=False)
    result = RunDir(out_dir).result()
    assert result.ok and result.method == "C+T+M"
    assert result.config_hash == ExperimentConfig.from_dict(
        {k: v for k, v in params.items() if k != "out_dir"}).hash()
    assert set(result.metrics) == {"s1", "s2"}
    images = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if "image/png" in o.get("data", {})]
    assert len(images) >= 3, "losses, per-class F1 and aligned pairs must be drawn"
    texts = "".join(o.get("text", "") + str(o.get("data", {}).get("text/markdown", ""))
                    for c in nb.cells for o in c.get("outputs", []))
    assert "Synthetic SEN12MS-like data" in texts and str(synthetic_root) in texts


@pytest.mark.parametrize(
    "bad, message",
    [
        ({"method": "C+X"}, r"Invalid value for 'method': 'C\+X'"),
        ({"epochs": "3"}, r"Invalid value for 'epochs': '3'; expected int"),
        ({"epoch": 3}, r"Unknown parameter\(s\) \['epoch'\]"),
    ],
)
def test_bad_parameter_fails_naming_it(bad: dict, message: str, synthetic_root: Path, tmp_path: Path) -> None:
    params = {**TINY, "data_root": str(synthetic_root), "out_dir": str(tmp_path / "run"), **bad}
    with pytest.raises(pm.PapermillExecutionError, match=message) as info:
        pm.execute_notebook(str(NOTEBOOK), str(tmp_path / "out.ipynb"), parameters=params,
                            kernel_name="python3", progress_bar=False)
    assert info.value.ename == "ConfigError"
    assert RunDir(tmp_path / "run").status() == "pending"
