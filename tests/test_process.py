"""Process set-up: importing core changes nothing; configure_process does, once."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Prints the process's warning filters, BLAS/OpenMP thread limits, the mlp_lens logger's
# handlers and scikit-learn's lbfgs result check, before and after running STEP.
_PROBE = """
import json, logging, warnings
import numpy, scipy.optimize, sklearn.neural_network
from sklearn.neural_network import _multilayer_perceptron as mlp
from threadpoolctl import threadpool_info

def state():
    return {{"filters": [repr(f) for f in warnings.filters],
             "threads": sorted((p["internal_api"], p["num_threads"]) for p in threadpool_info()),
             "handlers": len(logging.getLogger("mlp_lens").handlers),
             "check": mlp._check_optimize_result.__qualname__}}

before = state()
{step}
print(json.dumps({{"before": before, "after": state()}}))
"""


def _probe(step: str) -> dict:
    done = subprocess.run([sys.executable, "-c", _PROBE.format(step=step)], cwd=ROOT,
                          capture_output=True, text=True, timeout=180, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_importing_core_changes_nothing_in_the_process():
    """Warning filters, thread limits, logging and scikit-learn are as they were after importing
    every core module (MLP Lens used as a library keeps the user's own set-up)."""
    found = _probe("import core.train, core.live, core.compare, core.units, core.draw, "
                   "core.export, core.process, core.sklearn_hooks")
    assert found["after"] == found["before"]


def test_a_training_leaves_the_process_as_it_found_it():
    """train_mlp uses one BLAS thread while it fits, then gives the threads back."""
    found = _probe(
        "from core.data import load_sample\nfrom core.params import TrainParams\n"
        "from core.train import train_mlp\nimport os, tempfile\n"
        "os.environ['MLP_LENS_CACHE'] = tempfile.mkdtemp()\n"
        "for solver in ('sgd', 'lbfgs'):\n"
        "    train_mlp(TrainParams(max_iter=2, solver=solver, hidden_units=2), load_sample())")
    assert found["after"]["threads"] == found["before"]["threads"]
    assert found["after"]["check"] == found["before"]["check"] == "_check_optimize_result"


def test_configure_process_quiets_convergence_warnings_limits_blas_and_logs():
    found = _probe("from core.process import configure_process\n"
                   "configure_process()\nconfigure_process()")
    before, after = found["before"], found["after"]
    new_filters = [f for f in after["filters"] if f not in before["filters"]]
    assert len(new_filters) == 1 and "ConvergenceWarning" in new_filters[0]
    assert all(n == 1 for api, n in after["threads"] if api in ("openblas", "mkl", "blis"))
    assert after["handlers"] == 1
