"""Write a small scikit-learn OpenML cache of mnist_784, so ``fetch_openml`` runs offline.

The layout is the one ``fetch_openml`` reads (``<data_home>/openml/openml.org/...``, gzip
JSON answers of OpenML's API and the gzip ARFF file), so the tests exercise scikit-learn's
real download-cache-and-parse path, with real MNIST digits, and no network.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
from pathlib import Path

import numpy as np

DATA_ID, FILE_ID = 554, 52667


def write_openml_cache(data_home: Path, X: np.ndarray, y: np.ndarray) -> Path:
    """Write rows ``X`` (n x 784, 0-255) with labels ``y`` as mnist_784 v1; return the ARFF path."""
    root = Path(data_home) / "openml" / "openml.org"
    header = ["@RELATION mnist_784", ""]
    header += [f"@ATTRIBUTE pixel{i} NUMERIC" for i in range(1, 785)]
    header += ["@ATTRIBUTE class {0,1,2,3,4,5,6,7,8,9}", "", "@DATA"]
    pairs = zip(X.tolist(), y.tolist(), strict=True)
    rows = (",".join(map(str, row)) + f",{label}" for row, label in pairs)
    raw = ("\n".join(header) + "\n" + "\n".join(rows) + "\n").encode()
    arff = root / "data" / "v1" / "download" / str(FILE_ID) / "mnist_784.arff.gz"
    arff.parent.mkdir(parents=True, exist_ok=True)
    arff.write_bytes(gzip.compress(raw))

    api = root / "api" / "v1" / "json" / "data"
    listing = {"data": {"dataset": [{"did": DATA_ID, "name": "mnist_784", "version": 1,
                                     "status": "active", "format": "ARFF", "file_id": FILE_ID}]}}
    search = api / "list" / "data_name" / "mnist_784" / "limit" / "2"
    _write_json(search / "data_version" / "1.gz", listing)
    _write_json(search / "status" / "active" / ".gz", listing)
    _write_json(api / f"{DATA_ID}.gz", {"data_set_description": {
        "id": str(DATA_ID), "name": "mnist_784", "version": "1", "format": "ARFF",
        "url": f"https://api.openml.org/data/v1/download/{FILE_ID}/mnist_784.arff",
        "file_id": str(FILE_ID), "default_target_attribute": "class", "status": "active",
        "md5_checksum": hashlib.md5(raw).hexdigest()}})
    features = [{"index": str(i), "name": f"pixel{i + 1}", "data_type": "numeric",
                 "is_target": "false", "is_ignore": "false", "is_row_identifier": "false",
                 "number_of_missing_values": "0"} for i in range(784)]
    features.append({"index": "784", "name": "class", "data_type": "nominal",
                     "nominal_value": [str(d) for d in range(10)], "is_target": "true",
                     "is_ignore": "false", "is_row_identifier": "false",
                     "number_of_missing_values": "0"})
    _write_json(api / "features" / f"{DATA_ID}.gz", {"data_features": {"feature": features}})
    _write_json(api / "qualities" / f"{DATA_ID}.gz", {"data_qualities": {"quality": [
        {"name": "NumberOfInstances", "value": f"{len(y)}.0"}]}})
    return arff


def _write_json(path: Path, obj) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(json.dumps(obj).encode()))


# ../shared next to the project's root; MLP_LENS_SHARED points elsewhere (a git worktree).
SHARED = Path(os.environ.get("MLP_LENS_SHARED", Path(__file__).resolve().parents[2] / "shared"))
SHARED_TOOL = SHARED / "tools" / "make_openml_mnist_cache.py"


def write_shared_openml_cache(data_home: Path, *, rows: int) -> Path:
    """Write mnist_784 with ../shared's tool: ``rows`` rows in MNIST's layout (real training
    digits first, the first ``rows // 7`` real MNIST test digits last). Skips the calling test
    where ../shared is absent (a user's machine)."""
    import subprocess
    import sys

    import pytest

    if not SHARED_TOOL.exists():
        pytest.skip(f"{SHARED_TOOL} not found (on project machines only)")
    subprocess.run([sys.executable, str(SHARED_TOOL), str(data_home), "--rows", str(rows)],
                   check=True, capture_output=True, timeout=300)
    return Path(data_home)
