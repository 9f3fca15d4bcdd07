"""Sweeps: many networks at once, to see which settings keep units alive and generalize.

A sweep is a grid of ``TrainParams`` (``SweepGrid``): a list of values for each
parameter ``core.params.SWEEPS`` names (hidden-layer sizes, alphas, random
states, pixel scalings, solvers), every other setting fixed. Each configuration
not yet in the model cache is trained by an engine: local worker processes
(``LocalEngine``: each configuration a job of the server's, ``core.jobs``, as
every training is, one BLAS thread each), or a Dask cluster
(``DaskEngine``: joblib's Dask backend on a ``distributed.Client``) when a
scheduler address is given. The result is one ``SweepRow`` per configuration,
and every network is in this process's persistent cache, so Explore opens any
row at once.

Command line: ``python -m core.sweep --help``.
"""

from core.sweep.engine import (
    SCHEDULER_ENV,
    DaskEngine,
    EngineUnavailable,
    LocalEngine,
    SweepInterrupted,
    check_versions,
    open_engine,
    versions,
)
from core.sweep.grid import BASE, MAX_CONFIGS, SweepGrid, SweepRow, columns, rows_csv
from core.sweep.run import SweepProgress, SweepRun, run_sweep

__all__ = ["BASE", "MAX_CONFIGS", "SCHEDULER_ENV", "DaskEngine", "EngineUnavailable",
           "LocalEngine", "SweepGrid", "SweepInterrupted", "SweepProgress", "SweepRow", "SweepRun",
           "check_versions", "columns", "open_engine", "rows_csv", "run_sweep", "versions"]
