"""What the numbers were measured on: CPU, load, library versions, BLAS threads, environment.

The environment is reported, never changed: BLAS settings such as
``OPENBLAS_CORETYPE`` are passed on to every measured process as they are.
"""

from __future__ import annotations

import os
import platform
import sys
from importlib.metadata import PackageNotFoundError, version

PACKAGES = ("numpy", "scipy", "scikit-learn", "pandas", "joblib", "streamlit", "threadpoolctl")
ENV_PREFIXES = ("OPENBLAS", "OMP_", "MKL_", "NVPL", "BLIS", "GOTO", "VECLIB", "SKLEARN")


def describe_machine() -> dict:
    """The facts a reader needs to compare this run with another machine's."""
    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpu": _cpu_model(),
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg(),
        "packages": {name: _version(name) for name in PACKAGES},
        "threadpools": _threadpools(),
        "environment": _blas_environment(),
    }


def _version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass  # not Linux: platform's answer below
    return platform.processor() or platform.machine()


def _threadpools() -> list[dict]:
    """threadpoolctl's view once numpy, scipy and scikit-learn are loaded (as in a workload)."""
    import numpy  # noqa: F401 - loads its BLAS
    import scipy.linalg  # noqa: F401 - loads scipy's BLAS
    import sklearn.neural_network  # noqa: F401 - loads scikit-learn's OpenMP
    from threadpoolctl import threadpool_info

    keys = ("user_api", "internal_api", "prefix", "version", "num_threads", "architecture")
    return [{key: pool.get(key) for key in keys} for pool in threadpool_info()]


def _blas_environment() -> dict[str, str]:
    """Every variable that steers BLAS or OpenMP threads, plus OPENBLAS_CORETYPE even if unset."""
    found = {name: value for name, value in os.environ.items() if name.startswith(ENV_PREFIXES)}
    found.setdefault("OPENBLAS_CORETYPE", "(unset)")
    return dict(sorted(found.items()))
