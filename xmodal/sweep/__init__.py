"""Studies: a grid of experiments run through one parameterised notebook, resumably.

A *study* is a YAML file (a profile shipped in ``xmodal/studies/``, :func:`profiles`, or
any path) that says which data to use and which points to train; every point becomes
one validated :class:`~xmodal.config.ExperimentConfig` and one run folder
``<runs_dir>/<study>/<point-name>-<config hash>/``. The package, by role:

* :mod:`~xmodal.sweep.spec`: study files, the profiles, a study by name or YAML path
  (:func:`load_study`, :func:`resolve_study`);
* :mod:`~xmodal.sweep.grid`: the points and their identity (:class:`StudyPoint`,
  :func:`grid`, :func:`sweep_threads`, :func:`space_needed`);
* :mod:`~xmodal.sweep.checks`: the data and the notebook's parameters, checked before
  anything trains (:func:`check_data`, :func:`check_parameters`);
* :mod:`~xmodal.sweep.notebook`: the experiment notebook shipped in the package
  (:func:`notebook_path`) and what it shows after training (:func:`aligned_examples`);
* :mod:`~xmodal.sweep.kernel`, :mod:`~xmodal.sweep.workers`, :mod:`~xmodal.sweep.point`:
  a point in a Jupyter kernel (papermill) or in a long-lived worker process, start to end;
* :mod:`~xmodal.sweep.runner`: many points at once, signals and the summary
  (:func:`run_sweep`, :func:`run_point`, :class:`SweepInterrupted`);
* :mod:`~xmodal.sweep.times`: where a sweep's job time went (:func:`sweep_time_summary`).
"""

from xmodal.sweep.checks import check_data, check_parameters
from xmodal.sweep.grid import StudyPoint, grid, notebook_points, space_needed, sweep_threads
from xmodal.sweep.notebook import NOTEBOOK_ENV, aligned_examples, notebook_path
from xmodal.sweep.point import point_status
from xmodal.sweep.runner import SweepInterrupted, run_point, run_sweep
from xmodal.sweep.spec import (
    BUDGET_STUDY,
    DEFAULT_STUDY,
    EXECUTORS,
    LATENT_STUDY,
    NOTEBOOK_CHOICES,
    SENSORS_STUDY,
    STUDIES_DIR,
    StudyError,
    load_study,
    profile_path,
    profiles,
    resolve_study,
    study_argument,
)
from xmodal.sweep.times import SWEEP_TIMES_FILE, sweep_time_summary

__all__ = [
    # study files
    "BUDGET_STUDY", "DEFAULT_STUDY", "EXECUTORS", "LATENT_STUDY", "NOTEBOOK_CHOICES", "SENSORS_STUDY",
    "STUDIES_DIR", "StudyError", "load_study", "profile_path", "profiles", "resolve_study", "study_argument",
    # the grid
    "StudyPoint", "grid", "notebook_points", "space_needed", "sweep_threads",
    # checks and the notebook
    "NOTEBOOK_ENV", "aligned_examples", "check_data", "check_parameters",
    "notebook_path",
    # running
    "SweepInterrupted", "point_status", "run_point", "run_sweep",
    # times
    "SWEEP_TIMES_FILE", "sweep_time_summary",
]
