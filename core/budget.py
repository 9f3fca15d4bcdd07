"""The server-wide training budget: how many networks may train at once, and who waits.

One server serves a whole class. Every training costs a core and ~0.4 GB on
the full data, so every job (``core.jobs``: a live training, a Compare seed, a
row of a local sweep) takes a ``Ticket`` from the one ``Budget`` of the
process before its worker trains, and gives it back when it ends or is
paused. At most ``MLP_LENS_MAX_TRAININGS`` tickets are granted at once (by
default the number of cores); the others wait in one first-come, first-served
line and know their place in it, so a page can say "waiting for a free
trainer: 2nd in line".

A training nobody looks at any more should not keep a core: a ``Watch``
records when a page last polled it, and the training stops once no page has
done so for ``MLP_LENS_UNWATCHED_SECONDS`` (60 s by default).

Usage::

    ticket = budget().request("seed 3")    # joins the line; granted at once if a trainer is free
    while not ticket.wait(0.2):            # poll, so the waiter can give up
        show(place_text(ticket.place))
    try:
        train()
    finally:
        ticket.release()                   # also leaves the line if never granted
"""

from __future__ import annotations

import ctypes
import logging
import os
import threading
from collections import deque
from time import monotonic

MAX_TRAININGS_ENV = "MLP_LENS_MAX_TRAININGS"
UNWATCHED_ENV = "MLP_LENS_UNWATCHED_SECONDS"
DEFAULT_UNWATCHED_SECONDS = 60.0

log = logging.getLogger("mlp_lens")


class Ticket:
    """One training's claim on a trainer: waiting in line, then granted, then released."""

    def __init__(self, budget: Budget, label: str):
        self.label = label
        self._budget = budget
        self._granted = threading.Event()
        self._released = False

    @property
    def granted(self) -> bool:
        return self._granted.is_set()

    @property
    def place(self) -> int:
        """0 once granted (or released); else 1 for the next in line, 2 for the one after..."""
        return self._budget._place(self)

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until granted (at most ``timeout`` seconds); whether it is."""
        return self._granted.wait(timeout)

    def release(self) -> None:
        """Give the trainer back, or leave the line. Calling it again does nothing."""
        self._budget._release(self)

    def __enter__(self) -> Ticket:
        return self

    def __exit__(self, *exc_info) -> None:
        self.release()


class Budget:
    """At most ``limit`` granted tickets at once; the others wait, first come, first served."""

    def __init__(self, limit: int | None = None):
        self.limit = max(1, int(limit if limit is not None else max_trainings()))
        self._lock = threading.Lock()
        self._granted: list[Ticket] = []
        self._line: deque[Ticket] = deque()
        self.peak = 0  # the most trainings granted at once so far

    def request(self, label: str = "") -> Ticket:
        """A new ticket: granted now if a trainer is free and nobody waits, else in line."""
        ticket = Ticket(self, label)
        with self._lock:
            self._line.append(ticket)
            self._grant()
        return ticket

    def resize(self, limit: int) -> None:
        """Grant up to ``limit`` tickets at once from now on (the trainers of a Dask cluster,
        or this machine's again once it is lost); tickets granted stay granted."""
        limit = max(1, int(limit))
        with self._lock:
            if limit != self.limit:
                log.info("trainers: %d (were %d)", limit, self.limit)
            self.limit = limit
            self._grant()

    @property
    def busy(self) -> int:
        with self._lock:
            return len(self._granted)

    @property
    def waiting(self) -> int:
        with self._lock:
            return len(self._line)

    def _place(self, ticket: Ticket) -> int:
        with self._lock:
            try:
                return self._line.index(ticket) + 1
            except ValueError:
                return 0

    def _release(self, ticket: Ticket) -> None:
        with self._lock:
            if ticket._released:
                return
            ticket._released = True
            if ticket in self._granted:
                self._granted.remove(ticket)
                log.info("trainer freed by %s: %d of %d busy, %d waiting", ticket.label,
                         len(self._granted), self.limit, len(self._line))
            elif ticket in self._line:
                self._line.remove(ticket)
            self._grant()

    def _grant(self) -> None:
        """Hand free trainers to the front of the line (the lock is held)."""
        while self._line and len(self._granted) < self.limit:
            ticket = self._line.popleft()
            self._granted.append(ticket)
            self.peak = max(self.peak, len(self._granted))
            ticket._granted.set()
            log.info("trainer taken by %s: %d of %d busy, %d waiting", ticket.label,
                     len(self._granted), self.limit, len(self._line))


class Watch:
    """When a page last looked at a training; ``unwatched`` once nobody has for too long."""

    def __init__(self, after: float | None = None):
        self.after = unwatched_seconds() if after is None else after
        self._seen = monotonic()

    def seen(self) -> None:
        """A page polled the training just now."""
        self._seen = monotonic()

    @property
    def idle_seconds(self) -> float:
        return monotonic() - self._seen

    @property
    def unwatched(self) -> bool:
        return self.idle_seconds > self.after


def max_trainings() -> int:
    """``MLP_LENS_MAX_TRAININGS``, or the number of cores."""
    return _positive(MAX_TRAININGS_ENV, os.cpu_count() or 1)


def unwatched_seconds() -> float:
    """``MLP_LENS_UNWATCHED_SECONDS``, or 60."""
    return float(_positive(UNWATCHED_ENV, DEFAULT_UNWATCHED_SECONDS))


_budget: Budget | None = None
_budget_lock = threading.Lock()


def budget() -> Budget:
    """The budget every training of this process shares (made on first use)."""
    global _budget
    with _budget_lock:
        if _budget is None:
            _budget = Budget()
        return _budget


def name_this_thread(name: str) -> None:
    """Give the calling thread a name the system shows (``top -H``, ``ps -L``), e.g.
    ``mlp-train``: trainings are then visible from outside the process. Linux only;
    elsewhere it does nothing."""
    try:
        libc = ctypes.CDLL(None)
        libc.prctl(15, name.encode()[:15], 0, 0, 0)  # 15: PR_SET_NAME, at most 15 bytes
    except (OSError, AttributeError):
        pass


def place_text(place: int) -> str:
    """'waiting for a free trainer: 2nd in line'."""
    return f"waiting for a free trainer: {ordinal(place)} in line"


def ordinal(n: int) -> str:
    """1st, 2nd, 3rd, 4th, ..., 11th, 12th, 13th, 21st."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _positive(name: str, default):
    try:
        value = float(os.environ.get(name, ""))
    except ValueError:
        return default
    if value <= 0:
        return default
    return type(default)(value)
