"""Process set-up, in one place: what the server, the seed workers and the benchmark change.

Importing any ``core`` module changes nothing in the process. ``configure_process()``
is called once by each entry point that owns its process (every page, the seed
worker, the benchmark's workloads); a library user who imports ``core.train``
and never calls it keeps their own warning filters, logging and BLAS threads.
"""

from __future__ import annotations

import ctypes
import logging
import os
import sys
import threading
import warnings
from contextlib import contextmanager

LOGGER = "mlp_lens"
_lock = threading.Lock()  # guards the state below
_configured = False
_one_thread_users = 0
_one_thread_limiter = None


def configure_process() -> None:
    """Set up this process to run MLP Lens; calling it again does nothing.

    - scikit-learn's ``ConvergenceWarning`` is not printed: each result says whether its fit
      converged, and why it stopped (``TrainResult.converged``, ``stop_reason``).
    - BLAS gets one thread, for good (see ``one_blas_thread`` for why one).
    - glibc's C heap has at most two arenas (``give_memory_back`` says why).
    - The ``mlp_lens`` logger writes to stderr, so an operator (and the concurrency test)
      sees each real training ("mlp_lens: training TrainParams(...)") once.
    """
    global _configured
    with _lock:
        if _configured:
            return
        from sklearn.exceptions import ConvergenceWarning
        from threadpoolctl import threadpool_limits

        warnings.filterwarnings("ignore", category=ConvergenceWarning)
        threadpool_limits(limits=1, user_api="blas")
        _few_malloc_arenas()
        log = logging.getLogger(LOGGER)
        if not log.handlers:
            handler = _Stderr()
            handler.setFormatter(logging.Formatter("%(asctime)s %(name)s: %(message)s"))
            log.addHandler(handler)
            log.setLevel(logging.INFO)
        _configured = True


class _Stderr(logging.StreamHandler):
    """Writes to ``sys.stderr`` as it is at each message, not as it was when made: a training
    thread that logged after pytest had closed a test's captured stream raised in logging."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _ignored) -> None:
        pass


@contextmanager
def one_blas_thread():
    """BLAS has one thread while any block of this kind runs in the process.

    These networks multiply batches of 200 images by a few dozen weights: two
    BLAS threads spend more time handing the small products over than computing
    them. One thread fits the lesson's network 2.5-3x faster on 2 cores, and
    leaves the other core to a second visitor's training. It also fixes the
    weights: for some shapes OpenBLAS sums in another order with two threads.

    Thread limits are process-wide, so ``threadpool_limits`` as a plain context
    manager would race between two trainings in two threads (the first to end
    would restore two threads under the other). The limit is set by the first
    block to enter and restored by the last to leave, unless ``configure_process``
    has run meanwhile: then one thread is the process's setting, and it stays.
    """
    global _one_thread_users, _one_thread_limiter
    with _lock:
        # Set even when ``configure_process`` has run: a ``threadpool_limits`` block that
        # began before it and ended after it restored the threads it found (seen in the tests).
        if _one_thread_users == 0:
            from threadpoolctl import threadpool_limits

            _one_thread_limiter = threadpool_limits(limits=1, user_api="blas")
        _one_thread_users += 1
    try:
        yield
    finally:
        with _lock:
            _one_thread_users -= 1
            if _one_thread_users == 0 and _one_thread_limiter is not None:
                if not _configured:
                    _one_thread_limiter.restore_original_limits()
                _one_thread_limiter = None


def fork_server():
    """The multiprocessing context every job's worker process comes from (``core.jobs``): a
    fork server, one clean process that has imported scikit-learn once (``core.forkserver``)
    and forks each worker from itself in milliseconds.

    Not plain ``fork``: the Streamlit server runs many threads, and a child forked from it
    can inherit a lock some other thread held. Not ``spawn``: each worker would spend
    2-3 s importing scikit-learn again.
    """
    import multiprocessing

    context = multiprocessing.get_context("forkserver")
    # core.forkserver also keeps the page (Streamlit's __main__) out of the workers.
    context.set_forkserver_preload(["core.forkserver"])
    return context


def start_fork_server() -> None:
    """Start the fork server now, in the background: it spends 2-3 s importing scikit-learn in
    a process of its own while the caller goes on with its own imports, so a first visit
    waits for the longer of the two, not for both one after the other."""
    def start() -> None:
        from multiprocessing import forkserver

        fork_server()
        forkserver.ensure_running()

    threading.Thread(target=start, daemon=True, name="fork-server").start()


def give_memory_back() -> None:
    """Return the C heap's free memory to the system (glibc's ``malloc_trim``).

    glibc gives threads malloc arenas of their own and keeps what they freed: after 30
    abandoned trainings (a thread each) the server held 240 MB more than before, for good.
    With at most two arenas (``configure_process``) and this call when a training ends, it
    holds less than before. Elsewhere than glibc it does nothing.
    """
    _libc_call("malloc_trim", 0)


# glibc's mallopt parameters, and what a fit on a Dask worker sets them to.
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_KEEP_BYTES, _MMAP_ABOVE_BYTES = 128 * 2**20, 32 * 2**20
_GLIBC_DEFAULT = 128 * 2**10  # both thresholds' starting value


@contextmanager
def freed_memory_reused():
    """Inside the block, the C heap keeps what it frees for the next allocation, and gives it
    back to the system at the end.

    A Dask nanny starts its workers with ``MALLOC_TRIM_THRESHOLD_=65536``: glibc then hands
    every freed block over 64 KB back to the system, and a fit's batch arrays (1.2 MB each,
    hundreds per epoch) fault their pages in again every time. A lesson's fit on 28,000
    digits took 2.2x as long on a Dask worker as in a local worker (1.2 s of its 2.9 s in
    the kernel). Outside glibc it does nothing.
    """
    _libc_call("mallopt", _M_TRIM_THRESHOLD, _KEEP_BYTES)
    _libc_call("mallopt", _M_MMAP_THRESHOLD, _MMAP_ABOVE_BYTES)
    try:
        yield
    finally:
        trim = os.environ.get("MALLOC_TRIM_THRESHOLD_", "")  # as the process was started
        _libc_call("mallopt", _M_TRIM_THRESHOLD, int(trim) if trim.isdigit() else _GLIBC_DEFAULT)
        _libc_call("mallopt", _M_MMAP_THRESHOLD, _GLIBC_DEFAULT)
        give_memory_back()


def _few_malloc_arenas() -> None:
    _libc_call("mallopt", -8, 2)  # M_ARENA_MAX = 2


def _libc_call(name: str, *args) -> None:
    try:
        getattr(ctypes.CDLL("libc.so.6"), name)(*args)
    except (OSError, AttributeError):
        pass
