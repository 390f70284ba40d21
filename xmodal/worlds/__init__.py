"""Worlds: the synthetic generator's knobs turned into a calibration and a map of regimes.

- :mod:`xmodal.worlds.spec`: the ``calibration`` and ``regime`` blocks of a profile, checked.
- :mod:`xmodal.worlds.calibration`: :func:`calibrate` searches the knobs that make the Baselines
  score the paper's weighted F1 (``xmodal calibrate``, profile ``calibrated``).
- :mod:`xmodal.worlds.regime`: :func:`run_regime` trains the map's cells, a world per level of its
  generator knob (``xmodal regime``, profile ``regime``); :func:`regime_cells` says which cell a run is.

The knobs themselves are :data:`xmodal.data.knobs.KNOBS`.
"""

from xmodal.worlds.calibration import SEARCH_FILE, calibrate, calibration_dir, chosen_values, propose, read_search
from xmodal.worlds.regime import cell_axes, regime_cells, run_regime, world_specs
from xmodal.worlds.spec import CalibrationSpec, RegimeSpec, WorldError, calibration_spec, regime_spec

__all__ = [
    "SEARCH_FILE",
    "CalibrationSpec",
    "RegimeSpec",
    "WorldError",
    "calibrate",
    "calibration_dir",
    "calibration_spec",
    "cell_axes",
    "chosen_values",
    "propose",
    "read_search",
    "regime_cells",
    "regime_spec",
    "run_regime",
    "world_specs",
]
