"""Watching a server under load from outside: memory, CPU per thread, and its trainer log.

A training is a job's worker process (``core.jobs``), named by the system
while it trains (``mlp-train``: see ``core.budget.name_this_thread``). A training counts as
under way while such a thread gets CPU time; a thread waiting for a trainer
has no such name yet. On a shared, loaded machine a training may get only a
small share of a core, so any CPU time over the window counts.
"""

from __future__ import annotations

import re
import threading
import time
from collections import deque
from pathlib import Path

import psutil

from core.jobs import TRAINING_THREAD

SAMPLE_S = 0.2
WINDOW = 10  # samples: CPU time is compared with 2 s before
TRAINERS_LINE = re.compile(r"mlp_lens: trainer taken by .*?: (\d+) of (\d+) busy, (\d+) waiting")


class ServerWatch:
    """Samples, in the background, the server's and its child processes' memory (proportional
    set size: shared pages split between the processes sharing them) and
    each thread's CPU time: the peak memory, and the most trainings under way at once."""

    def __init__(self, pid: int):
        self._root = psutil.Process(pid)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._cpu: deque[dict] = deque(maxlen=WINDOW + 1)  # per sample: training thread -> ticks
        self.peak_mb = 0.0
        self.busy_now = 0  # trainings that got CPU time over the last window
        self.busy_max = 0

    def sample(self) -> None:
        ticks, rss = {}, 0
        for process in [self._root, *self._root.children(recursive=True)]:
            try:
                # Proportional: a page of the libraries that the fork server shares with every
                # worker it forked counts once, split between them, not once per process.
                rss += process.memory_full_info().pss
                ticks.update(_training_threads(process.pid))
            except psutil.NoSuchProcess:
                continue  # a worker that ended between listing and reading
        self.peak_mb = max(self.peak_mb, rss / 2**20)
        self._cpu.append(ticks)
        before = self._cpu[0]
        self.busy_now = sum(used > before.get(thread, 0) for thread, used in ticks.items())
        self.busy_max = max(self.busy_max, self.busy_now)

    def restart_count(self) -> None:
        """Count from now on only."""
        self.busy_max = 0

    def wait_until_idle(self, timeout: float) -> float | None:
        """Seconds until no training got CPU time over a whole window, or None if that did
        not happen within ``timeout``."""
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            time.sleep(SAMPLE_S)
            if time.monotonic() - start > WINDOW * SAMPLE_S and self.busy_now == 0:
                return time.monotonic() - start
        return None

    def _run(self) -> None:
        while not self._stop.wait(SAMPLE_S):
            self.sample()

    def __enter__(self) -> ServerWatch:
        self.sample()
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()


def _training_threads(pid: int) -> dict[tuple[int, int], int]:
    """The training threads of process ``pid`` and the CPU time (ticks) each has used."""
    found = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            name = (task / "comm").read_text().strip()
            stat = (task / "stat").read_text()
        except OSError:
            continue  # the thread ended
        if name == TRAINING_THREAD:
            fields = stat[stat.rindex(")") + 2:].split()
            # A worker is one training however many threads it has: the threads its BLAS or
            # OpenMP start take the name of the thread that starts them.
            key = (pid, 0)
            found[key] = found.get(key, 0) + int(fields[11]) + int(fields[12])  # utime + stime
    return found


def most_trainers_busy(stderr: str) -> tuple[int, int]:
    """The most trainers the server's budget had granted at once, and its limit (its log)."""
    found = [(int(busy), int(limit)) for busy, limit, _ in TRAINERS_LINE.findall(stderr)]
    return (max(busy for busy, _ in found), found[0][1]) if found else (0, 0)
