"""Equal tuning of every method on the validation scenes (Optuna), and the tuned profile's final runs.

* :mod:`~xmodal.tuning.space` -- the ``tuning`` block of a profile: budget, sampler, pruner and
  the ranges searched, the same for every method that shares a parameter;
* :mod:`~xmodal.tuning.runner` -- :func:`tune`: one Optuna study per model in a storage beside
  the runs (resumable, shareable between machines), then the final seeds at the tuned settings.

The layer sits beside :mod:`xmodal.sweep` (whose runs, folders and resume it reuses) and below
:mod:`xmodal.results`.
"""

from xmodal.tuning.runner import (
    SETTINGS_FILE,
    Model,
    default_storage,
    final_spec,
    models_of,
    read_settings,
    tune,
    tuning_dir,
)
from xmodal.tuning.space import Param, TuningError, TuningSpec, method_space, tuning_spec

__all__ = [
    "SETTINGS_FILE",
    "Model",
    "Param",
    "TuningError",
    "TuningSpec",
    "default_storage",
    "final_spec",
    "method_space",
    "models_of",
    "read_settings",
    "tune",
    "tuning_dir",
    "tuning_spec",
]
