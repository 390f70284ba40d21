"""The experiment notebook: its parameters mirror ExperimentConfig, and papermill runs it."""

from __future__ import annotations

import ast
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import papermill as pm
import pytest

import xmodal.sweep
from xmodal.config import ExperimentConfig
from xmodal.rundir import RunDir
from xmodal.sweep import NOTEBOOK_ENV, StudyError, notebook_path
from xmodal.training import first_step, loss_terms

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
    # the first code cell after the parameters builds the config, identified as every entry point does
    idx = nb.cells.index(_parameters_cell(nb))
    nxt = next(c for c in nb.cells[idx + 1:] if c.cell_type == "code")
    assert "config = check_parameters(" in nxt.source


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
    from xmodal.training import identified_config

    # the notebook run by hand trains under the identity every entry point gives (data fingerprint filled)
    assert result.config_hash == identified_config({k: v for k, v in params.items() if k != "out_dir"}).hash()
    assert set(result.metrics) == {"s1", "s2"}
    images = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if "image/png" in o.get("data", {})]
    assert len(images) >= 4, "the first batch, losses, per-class F1 and aligned pairs must be drawn"
    lesson = next(c for c in nb.cells if c.cell_type == "code" and "first_step(config)" in c.source)
    assert nb.cells.index(lesson) < next(i for i, c in enumerate(nb.cells) if "run_experiment(config" in c.source), \
        "the lesson comes before the long run"
    assert any("objective (eq. 4)" in str(o.get("data", {}).get("text/plain", "")) for o in lesson.outputs)
    texts = "".join(o.get("text", "") + str(o.get("data", {}).get("text/markdown", ""))
                    for c in nb.cells for o in c.get("outputs", []))
    assert "Synthetic SEN12MS-like data" in texts and str(synthetic_root) in texts


@pytest.mark.slow
def test_bad_parameter_fails_naming_it(synthetic_root: Path, tmp_path: Path) -> None:
    """A misspelt parameter stops the notebook in its kernel before anything is trained, naming it."""
    params = {**TINY, "data_root": str(synthetic_root), "out_dir": str(tmp_path / "run"), "epoch": 3}
    with pytest.raises(pm.PapermillExecutionError, match=r"Unknown parameter\(s\) \['epoch'\]") as info:
        pm.execute_notebook(str(NOTEBOOK), str(tmp_path / "out.ipynb"), parameters=params,
                            kernel_name="python3", progress_bar=False)
    assert info.value.ename == "ConfigError"
    assert RunDir(tmp_path / "run").status() == "pending"


@pytest.mark.slow
@pytest.mark.parametrize(
    "bad, message",
    [
        ({"method": "C+X"}, r"Invalid value for 'method': 'C\+X'"),
        ({"epochs": "3"}, r"Invalid value for 'epochs': '3'; expected int"),
    ],
)
def test_bad_parameter_value_fails_naming_it(bad: dict, message: str, synthetic_root: Path, tmp_path: Path) -> None:
    """A bad value, as papermill injects it, fails the notebook's ``check_parameters`` naming it.

    The kernel path of the check (papermill's error, no run started) is the one of the test above.
    """
    from xmodal.config import ConfigError
    from xmodal.sweep import check_parameters

    namespace = {**ExperimentConfig().to_dict(), **TINY, "data_root": str(synthetic_root),
                 "out_dir": str(tmp_path / "run"), **bad}
    with pytest.raises(ConfigError, match=message):
        check_parameters(namespace, before=[])


# ----------------------------------------------------------------------------- the template ships in the package
PROJECT = Path(__file__).resolve().parents[1]
PACKAGED = Path(xmodal.sweep.__file__).resolve().parent / "experiment.ipynb"


def test_notebook_path_finds_the_packaged_notebook(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(NOTEBOOK_ENV, raising=False)
    monkeypatch.chdir(tmp_path)  # not from a checkout's folder
    assert notebook_path() == PACKAGED and PACKAGED.is_file()
    # the readers' notebooks/experiment.ipynb is the same file (a link to the packaged one)
    assert (PROJECT / "notebooks" / "experiment.ipynb").resolve() == PACKAGED
    monkeypatch.setenv(NOTEBOOK_ENV, str(tmp_path / "gone.ipynb"))
    with pytest.raises(StudyError, match=rf"{tmp_path / 'gone.ipynb'} \(from \${NOTEBOOK_ENV}\) is not a file"):
        notebook_path()


@pytest.mark.slow
def test_the_wheel_holds_the_notebook_and_an_install_finds_it(tmp_path: Path) -> None:
    import shutil

    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(PROJECT / name, src / name)
    shutil.copytree(PROJECT / "xmodal", src / "xmodal", ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(src), "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(tmp_path / "whl")], check=True, capture_output=True)
    (wheel,) = (tmp_path / "whl").glob("xmodal-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        zf.extractall(tmp_path / "site")
    assert "xmodal/sweep/experiment.ipynb" in names
    assert {f"xmodal/studies/{p}.yaml" for p in xmodal.sweep.profiles()} <= names
    # the installed package finds its own notebook, from a folder that is no checkout
    out = subprocess.run([sys.executable, "-c", "from xmodal.sweep import notebook_path; print(notebook_path())"],
                         cwd=tmp_path, env={"PYTHONPATH": str(tmp_path / "site"), "PATH": ""}, check=True,
                         capture_output=True, text=True).stdout.strip()
    assert Path(out) == (tmp_path / "site" / "xmodal" / "sweep" / "experiment.ipynb").resolve()


# ----------------------------------------------------------------------------- the lesson before the long run
def test_loss_terms_weigh_each_term_as_eq_4() -> None:
    config = ExperimentConfig(method="C+T+M", alpha=0.5, beta=2.0)
    step = {"losses": {"L_C": 1.0, "L_M": 0.7, "L_T": 0.2, "loss": 2.0 + 0.1 - 0.3 * 0.7, "L_align": 0.0},
            "w": 0.3}
    table = loss_terms(step, config).set_index("term")
    assert table.loc[["L_C", "L_T", "L_M"], "weight"].tolist() == [2.0, 0.5, -0.3]
    assert table.loc[["L_C", "L_T", "L_M"], "contribution"].sum() == pytest.approx(table.loc["objective (eq. 4)",
                                                                                              "value"])
    only_c = loss_terms(step, ExperimentConfig(method="C")).set_index("term")
    assert only_c.loc[["L_T", "L_M"], "weight"].tolist() == [0.0, 0.0], "terms the method only logs"
    confusion = loss_terms(step, ExperimentConfig(method="C+M", alignment="confusion")).set_index("term")
    assert confusion.loc["L_M", "weight"] == 0.0 and confusion.loc["L_align", "weight"] == 0.3


@pytest.mark.slow
def test_first_step_is_the_runs_first_step(synthetic_root: Path, tmp_path: Path) -> None:
    import torch

    from xmodal.training import run_experiment

    config = ExperimentConfig.from_dict({**TINY, "data_root": str(synthetic_root), "grl_schedule": "constant",
                                         "grl_weight": 0.5, "epochs": 1, "steps_per_epoch": 1})
    state = torch.get_rng_state()
    step = first_step(config, n_show=3)
    assert torch.equal(torch.get_rng_state(), state), "the random state is restored"
    assert step["modalities"] == ["s1", "s2"] and step["batch_size"] == 8 and step["w"] == 0.5
    assert [len(step["ids"][m]) for m in ("s1", "s2")] == [3, 3]
    assert step["images"]["s1"].shape[:2] == (3, 2) and step["images"]["s2"].shape[:2] == (3, 10)
    assert step["target"]["s2"].shape == (3, len(step["class_names"]))
    # a run of that one step records the same losses: the lesson shows the run's own first step
    (entry,) = run_experiment(config, tmp_path / "run").history
    for key in ("L_C", "L_M", "L_T", "loss"):
        assert step["losses"][key] == pytest.approx(entry[key], rel=1e-5), key
