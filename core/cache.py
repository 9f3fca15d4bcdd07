"""Where MLP Lens keeps what it computed once: the uint8 data copies and trained models."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

CACHE_ENV = "MLP_LENS_CACHE"


def cache_dir() -> Path:
    """The cache folder: ``$MLP_LENS_CACHE``, else the user's cache folder."""
    configured = os.environ.get(CACHE_ENV)
    if configured:
        return Path(configured).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "mlp-lens"


def atomic_write(path: Path, write) -> None:
    """Call ``write(file)`` on a temporary file, then rename it to ``path``.

    The rename is atomic, so a reader sees either the old file or the whole
    new one, never a half-written file, even if the process dies mid-write.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as file:
            write(file)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def folder_size(path: Path) -> int:
    """Bytes used by the files below ``path`` (0 if it does not exist).

    Files that vanish while they are counted (a training renaming its temporary
    file, another visitor clearing the cache) count as 0, never as an error.
    """
    total = 0
    for file in path.rglob("*"):
        try:
            total += file.stat().st_size if file.is_file() else 0
        except FileNotFoundError:
            continue
    return total


def clear_cache() -> int:
    """Delete the cached data copies and trained networks; return the bytes freed.

    The OpenML download in scikit-learn's own data folder is left alone.
    """
    import shutil

    freed = 0
    for folder in (cache_dir() / "data", cache_dir() / "models"):
        freed += folder_size(folder) if folder.exists() else 0
        shutil.rmtree(folder, ignore_errors=True)
    return freed
