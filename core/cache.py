"""Where MLP Lens keeps what it computed once: the uint8 data copies and trained models."""

from __future__ import annotations

import os
import tempfile
import threading
from collections import OrderedDict
from pathlib import Path
from time import monotonic

CACHE_ENV = "MLP_LENS_CACHE"
_CHECK_SECONDS = 5.0  # how long a verdict on the cache folder holds
_checked: dict[Path, tuple[float, str]] = {}


def cache_dir() -> Path:
    """The cache folder: ``$MLP_LENS_CACHE``, else the user's cache folder."""
    configured = os.environ.get(CACHE_ENV)
    if configured:
        return Path(configured).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "mlp-lens"


# A network that could not be saved (a full disk) makes the folder unusable this long; then
# the next network is tried again (the disk may have room by then).
SAVE_FAILURE_SECONDS = 60.0
_CHECK_BYTES = 64 * 1024  # written by the check: a file of nothing can still be made on a full disk
_save_failures: dict[Path, tuple[float, str]] = {}


def cache_problem() -> str:
    """Why the cache folder cannot hold networks (it is a file, not writable, full, its
    ``models`` folder unreadable...), or "" if it can.

    Checked by writing real bytes into the folder and into ``models``, at most every few
    seconds per folder; a network whose save failed recently counts too (``note_save_failure``).
    """
    folder = cache_dir()
    failed_at, failure = _save_failures.get(folder, (-SAVE_FAILURE_SECONDS, ""))
    if monotonic() - failed_at < SAVE_FAILURE_SECONDS:
        return failure
    when, problem = _checked.get(folder, (-_CHECK_SECONDS, ""))
    if monotonic() - when < _CHECK_SECONDS:
        return problem
    try:
        folder.mkdir(parents=True, exist_ok=True)
        _write_probe(folder)
        models = folder / "models"
        if models.exists():
            os.listdir(models)  # joblib reads it on every look-up
            _write_probe(models)
        problem = ""
    except FileExistsError:
        problem = "it is a file, not a folder"
    except NotADirectoryError:
        problem = "its models folder is a file"
    except OSError as exc:
        problem = f"{type(exc).__name__}: {exc.strerror or exc}"
    _checked[folder] = (monotonic(), problem)
    return problem


def _write_probe(folder: Path) -> None:
    with tempfile.TemporaryFile(dir=folder) as probe:
        probe.write(b"\0" * _CHECK_BYTES)
        probe.flush()  # a disk without room refuses the bytes here (no fsync: it can be slow)


def note_save_failure(reason: str) -> None:
    """A network could not be written into the cache folder: say so, and keep the next ones
    in memory, for ``SAVE_FAILURE_SECONDS``."""
    _save_failures[cache_dir()] = (monotonic(), reason)


def free_space(folder: Path) -> str:
    """'1.2 MB free', or '' if the folder's disk cannot be asked."""
    try:
        import shutil

        return f"{shutil.disk_usage(folder).free / 1e6:.1f} MB free"
    except OSError:
        return ""


class InMemoryCache:
    """Stands in for ``joblib.Memory(...).cache(func)`` when the cache folder is unusable.

    Results are kept in this process, the ``size`` most recently used, keyed by
    ``key(*args)``; only ``__call__`` and ``check_call_in_cache`` are provided.
    """

    def __init__(self, func, *, key, size: int = 64):
        self.func, self._key, self._size = func, key, size
        self._results: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def __call__(self, *args):
        key = self._key(*args)
        with self._lock:
            if key in self._results:
                self._results.move_to_end(key)
                return self._results[key]
        value = self.func(*args)
        self.keep(args, value)
        return value

    def call(self, *args):
        """Compute again and keep the new value (as joblib's ``call``)."""
        with self._lock:
            self._results.pop(self._key(*args), None)
        return self(*args), {}

    def check_call_in_cache(self, *args) -> bool:
        with self._lock:
            return self._key(*args) in self._results

    def keep(self, args: tuple, value) -> None:
        """Hold ``value`` as the result for ``args`` (made elsewhere)."""
        with self._lock:
            self._results[self._key(*args)] = value
            while len(self._results) > self._size:
                self._results.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._results.clear()


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
