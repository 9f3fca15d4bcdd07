"""Sweeps: many networks at once, to see which settings keep units alive and generalize.

A sweep is a grid of ``TrainParams`` (``SweepGrid``): a list of values for each
parameter ``core.params.SWEEPS`` names (hidden-layer sizes, alphas, random
states, pixel scalings, solvers), every other setting fixed. Each configuration
not yet in the model cache is trained by an engine through joblib: local worker
processes (``LocalEngine``: loky, one BLAS thread each), or a Dask cluster
(``DaskEngine``: joblib's Dask backend on a ``distributed.Client``) when a
scheduler address is given. The result is one ``SweepRow`` per configuration,
and every network is in this process's persistent cache, so Explore opens any
row at once.

Command line: ``python -m core.sweep --help``.

Compare seeds keeps its own pool (``core.compare.SeedTraining``) rather than
running on these engines, because joblib's engines cannot keep what it has:
a live epoch count per seed (a joblib task has no channel back until it
returns; the seed workers write theirs to shared memory), Stop ending a fit
in the middle (joblib can only cancel tasks not yet started; the seed pool
terminates the seed's process), and a crash costing only its seed (a dying
loky worker breaks every task in flight with it).
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
