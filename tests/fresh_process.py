"""Run plain scikit-learn code the way a person runs a script: in a new Python process.

MLP Lens limits BLAS to one thread in the test process (``core.train``), and some
shapes give different weights with more threads. A reference fitted in the test
process would inherit that limit and hide the difference, so references run here,
with the machine's default threads, and send their network back in a file.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np

# Variables that would cap BLAS's threads in the child; a person's shell has none of them.
_THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                     "BLIS_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")


def fresh_env(*, data_home: Path | None = None) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items()
           if key not in _THREAD_VARIABLES and key != "PYTHONPATH"}
    env["MPLBACKEND"] = "Agg"  # plt.show() returns at once
    if data_home is not None:
        env["SCIKIT_LEARN_DATA"] = str(data_home)
    return env


def run_script(code: str, folder: Path, *, data_home: Path | None = None,
               name: str = "script.py", save: str = "*mlp.coefs_, *mlp.intercepts_",
               timeout: float = 300) -> tuple[str, list[np.ndarray]]:
    """Save ``code`` (which fits ``mlp``) in ``folder``, run it with ``python``, and return
    its output and the arrays ``save`` names (``mlp.coefs_ + mlp.intercepts_``). One line is
    appended to save them."""
    saved = folder / f"{Path(name).stem}-network.npz"
    script = folder / name
    script.write_text(code + f"\nnp.savez({str(saved)!r}, {save})\n")
    run = subprocess.run([sys.executable, "-W", "ignore", script.name], cwd=folder,
                         env=fresh_env(data_home=data_home), capture_output=True, text=True,
                         timeout=timeout)
    assert run.returncode == 0, run.stderr
    with np.load(saved) as npz:
        return run.stdout, [npz[f"arr_{i}"] for i in range(len(npz.files))]


def blas_threads_in_a_fresh_process() -> int:
    """How many threads BLAS gets in a new Python process started like ``run_script``'s."""
    code = ("import numpy, sklearn.neural_network\n"
            "from threadpoolctl import threadpool_info\n"
            "print(min(i['num_threads'] for i in threadpool_info() if i['user_api'] == 'blas'))")
    run = subprocess.run([sys.executable, "-c", code], env=fresh_env(), capture_output=True,
                         text=True, timeout=120, check=True)
    return int(run.stdout.strip())


def same_network(arrays: list[np.ndarray], model) -> bool:
    expected = model.coefs_ + model.intercepts_
    return len(arrays) == len(expected) and all(
        np.array_equal(a, b) for a, b in zip(arrays, expected, strict=True))
