"""A class at once, measured from outside the server with headless visitors (``bench.visitor``).

Thirty visitors open the Explore page within ten seconds, each on its own network (the
lesson's settings with seeds 1-30, none trained yet), and watch it until it is finished;
then thirty more open the same, now cached, networks. Meanwhile a thread asks
``/_stcore/health`` every 0.2 s and ``ServerWatch`` samples the server's memory (PSS). The
run is judged against issue 22's goals:

- every network trained exactly once (the server log's training lines), in queue order
  (the order the pages joined the line, seen as each page's first progress bar);
- no error on any page (no exception element, no error message);
- a page's first elements within 2 s at the 95th percentile while the queue runs: the
  class's own pages as they arrive, and a passer-by who opens *The data* every 10 s for as
  long as the queue runs;
- ``/_stcore/health`` within 0.5 s at the 99th percentile;
- a cached network's page finished within 5 s at the 95th percentile;
- the server idle within 90 s after the last visitor leaves.

The load test (``tests/e2e/test_class.py``, ``make load``) asserts them; the benchmark's row
reports them. Where a goal is missed, ``CpuSplit`` says where the server's time went: its
event loop (the main thread), its other threads (the pages' script runs) or the trainings.
"""

from __future__ import annotations

import math
import os
import re
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import psutil

from bench.cluster import LocalCluster, local_cluster
from bench.server import Server, serve
from bench.serverwatch import ServerWatch
from bench.visitor import Crowd, Visit, run_crowd
from core.jobs import WORKER_NICENESS

CLASS_SIZE = 30
LOCAL = "local worker processes"
ARRIVALS_S = 10.0  # the class opens its links within this
DONE = "hidden units in a"  # the finished Explore page's caption: "6 hidden units in a 2 × 3 grid"
# A page that trains nothing: the warm-up (imports and the data load, before the class arrives)
# and the passer-by's, every PASSER_EVERY_S while the queue runs.
DATA_PAGE = ("/Data", "Pixel values")
PASSER_EVERY_S = 10.0
HEALTH_EVERY_S = 0.2
HEALTH_TIMEOUT_S = 5.0
SAME_MOMENT_S = 1.0  # pages that joined the line closer than this may be served either way
QUIET_CORES = 0.05  # the server and its workers use less than this: idle
QUIET_WINDOW_S = 2.0
TIMELINE_S = 0.5
TICKS = os.sysconf("SC_CLK_TCK")
# The goals (issue 22).
FIRST_ELEMENTS_S, HEALTH_S, CACHED_S, IDLE_S = 2.0, 0.5, 5.0, 90.0

TRAINED = re.compile(r"mlp_lens: training (TrainParams\(.*?\)) on \d+ images")
GRANTED = re.compile(r"mlp_lens: trainer taken by training TrainParams\(.*?\brandom_state=(\d+)\b")
SEED = re.compile(r"\brandom_state=(\d+)\b")


@dataclass(frozen=True)
class CpuSplit:
    """Where CPU time went, in cores over a stretch of wall time."""

    event_loop: float  # the server's main thread: Streamlit's event loop, HTTP and websockets
    script_runs: float  # the server's other threads: the pages' script runs, the jobs' threads
    trainings: float  # the server's child processes: the fork server and its workers
    machine: float  # every process on the machine, this one's own included
    loop_waiting: float  # seconds per second the event loop was ready to run but had no core
    pressure: float  # share of the time some task on the machine waited for a core (PSI)

    def text(self) -> str:
        others = self.machine - self.event_loop - self.script_runs - self.trainings
        return (f"server event loop {self.event_loop:.2f} cores, script runs "
                f"{self.script_runs:.2f}, trainings {self.trainings:.2f}; everything else on "
                f"the machine {max(others, 0.0):.2f} (of {psutil.cpu_count()}); each second "
                f"the event loop ran {self.event_loop:.2f} s and waited {self.loop_waiting:.2f} "
                f"s for a free core; some task on the machine waited for one {self.pressure:.0%} "
                "of the time")


@dataclass
class ClassRun:
    """What a class's run measured."""

    data: str  # which digits the server trained on
    where: str  # where the trainings ran: "local worker processes", "a local Dask cluster..."
    visitors: int
    training: Crowd  # the visitors who each watched a new network to its end
    cached: Crowd  # those who opened the cached networks afterwards
    joined: dict[int, float]  # seed -> when its page joined the line (its first progress bar)
    trained: Counter  # TrainParams text -> trainings logged
    granted: list[int]  # seeds, in the order the trainers were handed out
    health_asked: list[tuple[float, float]]  # (when, seconds) per health check
    tracebacks: int  # in the server's log
    peak_mb: float
    idle_after: float | None  # seconds after the last visitor left; None: not within IDLE_S
    cpu_queue: CpuSplit  # while the queue ran
    cpu_slow: dict[str, CpuSplit | None]  # what was slow -> the CPU while it was
    load: tuple[float, float]  # load average (1 min) at the start and the end
    when: str = field(default_factory=lambda: f"{datetime.now().astimezone():%Y-%m-%d %H:%M %Z}")

    def goals(self) -> list[Goal]:
        """Each measure of issue 22, with its goal where it has one."""
        new, cached = self.training.visits, self.cached.visits
        passers_by = self.training.passers_by
        done = [v.finished for v in cached]
        pages = new + passers_by + cached
        failed = [f"{v.path}: {v.problems[0]}" for v in pages if v.problems]
        return [
            _trained_once(self.trained, self.visitors, self.where),
            _queue_order(self.joined, self.granted),
            Goal("no error on any page", "none",
                 f"{len(failed)} of {len(pages)} pages, {self.tracebacks} tracebacks in the "
                 "server's log" + (f" ({failed[0]})" if failed else ""),
                 not failed and not self.tracebacks),
            _first_elements("the class's pages as they arrive", new),
            _first_elements(f"a passer-by every {PASSER_EVERY_S:.0f} s on The data",
                            passers_by),
            self._health(),
            Goal("a cached network's page finished, 95th percentile", "≤ 5 s", _spread(done),
                 _percentile(done, 95) <= CACHED_S),
            Goal("server memory peak (PSS, the server and its workers)", "",
                 f"{self.peak_mb:,.0f} MB", None),
            Goal("idle after the last visitor left", "≤ 90 s",
                 "not within 90 s" if self.idle_after is None else f"{self.idle_after:.0f} s",
                 self.idle_after is not None),
        ]

    def _health(self) -> Goal:
        took = [seconds for _, seconds in self.health_asked]
        start = min(v.opened_at for v in self.training.visits)
        slow = [at - start for at, seconds in self.health_asked if seconds > HEALTH_S]
        arriving = sum(at < ARRIVALS_S + PASSER_EVERY_S for at in slow)
        return Goal("/_stcore/health answered, 99th percentile", "≤ 0.5 s",
                    f"{_spread(took, 99)}, {len(took)} asked; {len(slow)} over 0.5 s, "
                    f"{arriving} of them while the class arrived (its first "
                    f"{ARRIVALS_S + PASSER_EVERY_S:.0f} s)", _percentile(took, 99) <= HEALTH_S)

    @property
    def queue_seconds(self) -> float:
        """From the first visitor's arrival to the last new network finished on its page."""
        return max((v.opened_at + v.finished for v in self.training.visits if v.finished),
                   default=0.0) - min(v.opened_at for v in self.training.visits)

    def table(self) -> str:
        """The run as Markdown: the goals, then what the load was."""
        lines = [f"{self.visitors} visitors within {ARRIVALS_S:.0f} s, each on a new network "
                 f"(the lesson's settings, seeds 1-{self.visitors}) on {self.data}, trained in "
                 f"{self.where}, then "
                 f"{self.visitors} on the cached ones; {self.when}, load average "
                 f"{self.load[0]:.1f} at the start, {self.load[1]:.1f} at the end.", "",
                 "| Measure | Goal | Measured | Met |", "|---|---|---|---|"]
        for goal in self.goals():
            met = {True: "yes", False: "**no**", None: "—"}[goal.met]
            lines.append(f"| {goal.name} | {goal.goal or '—'} | {goal.measured} | {met} |")
        lines += ["", f"The queue: {self.queue_seconds:.0f} s from the first arrival to the "
                  f"last network finished. CPU meanwhile: {self.cpu_queue.text()}. The "
                  f"visitors: {self.training.ms_per_message:.2f} ms of CPU per message "
                  f"({sum(v.messages for v in self.training.visits):,} messages)."]
        lines += [f"CPU while {what}: {split.text()}." for what, split in self.cpu_slow.items()
                  if split is not None]
        return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Goal:
    """One measure of the run: its goal (empty: reported only) and whether it was met."""

    name: str
    goal: str
    measured: str
    met: bool | None


def _first_elements(whose: str, visits: list[Visit]) -> Goal:
    name = f"first elements while the queue runs, 95th percentile: {whose}"
    if not visits:
        return Goal(name, "≤ 2 s", "none: the queue ended first", None)
    first = [v.first_element for v in visits]
    return Goal(name, "≤ 2 s", _spread(first) + f", {len(first)} pages",
                _percentile(first, 95) <= FIRST_ELEMENTS_S)


def _trained_once(trained: Counter, visitors: int, where: str) -> Goal:
    seeds = Counter(int(SEED.search(params).group(1)) for params in trained.elements())
    once = sum(seeds[seed] == 1 for seed in range(1, visitors + 1))
    others = sum(trained.values()) - once
    logs = "the server log" if where == LOCAL else "the Dask workers' logs"
    return Goal(f"every network trained exactly once ({logs})", f"{visitors} of "
                f"{visitors}", f"{once} of {visitors} once, {others} more trainings",
                once == visitors and not others)


def _queue_order(joined: dict[int, float], granted: list[int]) -> Goal:
    """Pairs of pages that joined the line more than SAME_MOMENT_S apart but were trained
    the other way round."""
    place = {seed: i for i, seed in enumerate(granted)}
    seeds = [seed for seed in joined if seed in place]
    swapped = sum(1 for a in seeds for b in seeds
                  if joined[a] + SAME_MOMENT_S < joined[b] and place[a] > place[b])
    return Goal("trained in queue order (the order the pages joined the line)",
                "first come, first served", f"{swapped} pairs out of order (of pages "
                f"{SAME_MOMENT_S:.0f} s or more apart)", swapped == 0)


def _percentile(values: list[float | None], q: float) -> float:
    """Nearest rank; a missing value (a page that never got there) counts as infinitely late."""
    ordered = sorted(float("inf") if v is None else v for v in values)
    if not ordered:
        return float("inf")
    return ordered[max(0, math.ceil(len(ordered) * q / 100) - 1)]


def _spread(values: list[float | None], q: float = 95) -> str:
    return (f"{_percentile(values, q):.2f} s (median {_percentile(values, 50):.2f} s, "
            f"slowest {_percentile(values, 100):.2f} s)")


def measure_class(tmp: Path, *, data_home: str | None, cache: Path | None = None,
                  visitors: int = CLASS_SIZE, max_iter: int | None = None,
                  dask_workers: int = 0, timeout: float = 3600.0) -> ClassRun:
    """Start a server (on the OpenML cache in ``data_home``, else the sample), warm it up with
    one visit, then run a class of ``visitors`` (``max_iter`` shortens each training). With
    ``dask_workers``, the server trains on a local Dask cluster of that many one-thread
    workers (at the local workers' lower priority, as on a machine shared with the server)."""
    extra = {"SCIKIT_LEARN_DATA": data_home} if data_home else {}
    data = f"the OpenML cache {Path(data_home).name}" if data_home else "the offline sample"
    with ExitStack() as stack:
        cluster = None
        if dask_workers:
            folder = tmp / "dask"
            folder.mkdir()
            cluster = stack.enter_context(local_cluster(folder, workers=dask_workers,
                                                        nice=WORKER_NICENESS))
            extra["MLP_LENS_DASK_SCHEDULER"] = cluster.address
        server = stack.enter_context(serve(tmp, sample=data_home is None, cache=cache,
                                           env=extra))
        warm = run_crowd(server.url, [(0.0, *DATA_PAGE)], timeout=timeout).visits[0]
        if not warm.ok:
            raise RuntimeError(f"the warm-up visit failed: {warm.problems}")
        return run_class(server, data=data, visitors=visitors, max_iter=max_iter,
                         cluster=cluster, timeout=timeout)


def run_class(server: Server, *, data: str, visitors: int = CLASS_SIZE,
              max_iter: int | None = None, cluster: LocalCluster | None = None,
              timeout: float = 3600.0) -> ClassRun:
    """The class on a running server whose data is loaded: ``visitors`` new networks, each
    watched to its end, then the same again cached; health, memory and CPU meanwhile. With
    ``cluster`` (the server's Dask cluster), the trainings are counted in its workers' logs."""
    seeds = range(1, visitors + 1)
    extra = f"&max_iter={max_iter}" if max_iter else ""
    plan = [(ARRIVALS_S * i / visitors, f"/?random_state={seed}{extra}", DONE)
            for i, seed in enumerate(seeds)]
    load = os.getloadavg()[0]
    with ServerWatch(server.pid) as watch, HealthPoll(server.url) as health, \
            CpuTimeline(server.pid) as timeline:
        before = _cpu(server.pid)
        training = run_crowd(server.url, plan, timeout=timeout,
                             meanwhile=(PASSER_EVERY_S, *DATA_PAGE))
        cpu_queue = before.until(_cpu(server.pid))
        cached = run_crowd(server.url, plan, timeout=timeout)
        idle_after = _seconds_until_quiet(server.pid, IDLE_S)
    log = server.stderr()
    trained = cluster.log_text() if cluster else log
    late = [(v.opened_at, v.opened_at + (v.first_element or v.left or 0.0))
            for v in training.visits + training.passers_by
            if v.first_element is None or v.first_element > FIRST_ELEMENTS_S]
    cpu_slow = {"health answers over 0.5 s": timeline.during(
                    [(at, at + took) for at, took in health.asked if took > HEALTH_S]),
                "pages whose first elements took over 2 s": timeline.during(late)}
    return ClassRun(
        data=data, visitors=visitors, training=training, cached=cached,
        where=f"a local Dask cluster of {len(cluster.workers)} one-thread workers"
        if cluster else LOCAL,
        joined={seed: v.opened_at + v.first_seen.get("progress", v.left or 0.0)
                for seed, v in zip(seeds, training.visits, strict=True)},
        trained=Counter(TRAINED.findall(trained)), granted=[int(s) for s in GRANTED.findall(log)],
        health_asked=health.asked, tracebacks=log.count("Traceback"), peak_mb=watch.peak_mb,
        idle_after=idle_after, cpu_queue=cpu_queue, cpu_slow=cpu_slow,
        load=(load, os.getloadavg()[0]))


class _Every:
    """Calls ``take`` every ``seconds`` (at a fixed rate) from a thread of its own, inside a
    ``with`` block, until ``take`` returns False."""

    def __init__(self, seconds: float, name: str):
        self.seconds = seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name=name)

    def take(self) -> bool:
        raise NotImplementedError

    def _run(self) -> None:
        due = time.monotonic()
        while not self._stop.wait(max(0.0, due - time.monotonic())):
            due = max(due + self.seconds, time.monotonic())  # late: the next one now, no burst
            if not self.take():
                return

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join()


class HealthPoll(_Every):
    """Asks ``/_stcore/health`` every ``HEALTH_EVERY_S``; records when it asked and how long
    the answer took (``HEALTH_TIMEOUT_S`` for none)."""

    def __init__(self, url: str):
        super().__init__(HEALTH_EVERY_S, "health")
        self.url = f"{url}/_stcore/health"
        self.asked: list[tuple[float, float]] = []  # (time.monotonic(), seconds)

    def take(self) -> bool:
        began = time.monotonic()
        try:
            with urllib.request.urlopen(self.url, timeout=HEALTH_TIMEOUT_S) as answer:
                answer.read()
            self.asked.append((began, time.monotonic() - began))
        except (urllib.error.URLError, OSError):
            self.asked.append((began, HEALTH_TIMEOUT_S))
        return True


@dataclass(frozen=True)
class _CpuReading:
    at: float
    main: float  # seconds of CPU: the server's main thread
    process: float  # the server process, every thread
    tree: float  # the server and every process under it, the ended ones included
    machine: float
    main_waiting: float  # seconds the main thread was ready to run but waited for a core
    pressure: float  # seconds some task on the machine waited for a core (/proc/pressure/cpu)

    def until(self, later: _CpuReading) -> CpuSplit:
        wall = max(later.at - self.at, 1e-9)
        main, process = later.main - self.main, later.process - self.process
        # Clock ticks are coarse: a difference of nothing may come out a tick below zero.
        return CpuSplit(event_loop=main / wall, script_runs=max(process - main, 0.0) / wall,
                        trainings=max(later.tree - self.tree - process, 0.0) / wall,
                        machine=(later.machine - self.machine) / wall,
                        loop_waiting=(later.main_waiting - self.main_waiting) / wall,
                        pressure=(later.pressure - self.pressure) / wall)


class CpuTimeline(_Every):
    """``_cpu`` readings every ``TIMELINE_S``, to say where the CPU went while something was
    slow."""

    def __init__(self, pid: int):
        super().__init__(TIMELINE_S, "cpu")
        self.pid = pid
        self.readings: list[_CpuReading] = []

    def take(self) -> bool:
        try:
            self.readings.append(_cpu(self.pid))
        except (OSError, psutil.Error):
            return False  # the server ended
        return True

    def during(self, spans: list[tuple[float, float]]) -> CpuSplit | None:
        """The split over the readings' intervals that overlap any of ``spans`` (start, end)."""
        parts = [(a, b) for a, b in zip(self.readings, self.readings[1:], strict=False)
                 if any(start < b.at and a.at < end for start, end in spans)]
        if not parts:
            return None
        first = total = parts[0][0]
        for a, b in parts:  # each interval's differences, added up onto the first reading
            total = _CpuReading(*(t + (y - x) for t, x, y in zip(
                vars(total).values(), vars(a).values(), vars(b).values(), strict=True)))
        return first.until(total)


def _cpu(pid: int) -> _CpuReading:
    """The CPU the server has used so far. An ended worker's time is in the ``cutime`` of the
    process that waited for it (the fork server), so each live process of the tree counts its
    own time and its ended children's."""
    tree = 0.0
    root = psutil.Process(pid)
    for process in [root, *root.children(recursive=True)]:
        try:
            tree += sum(_stat(Path(f"/proc/{process.pid}/stat"))[11:15]) / TICKS
        except OSError:
            continue  # it ended, and its waiter counted it
    times = psutil.cpu_times()
    # schedstat: nanoseconds on a core, nanoseconds ready to run but waiting for one, slices.
    waiting = int(Path(f"/proc/{pid}/task/{pid}/schedstat").read_text().split()[1]) / 1e9
    return _CpuReading(at=time.monotonic(), main_waiting=waiting, pressure=_pressure(),
                       main=sum(_stat(Path(f"/proc/{pid}/task/{pid}/stat"))[11:13]) / TICKS,
                       process=sum(_stat(Path(f"/proc/{pid}/stat"))[11:13]) / TICKS,
                       tree=tree, machine=times.user + times.nice + times.system)


def _pressure() -> float:
    """Seconds some task has waited for a core since boot (0 where the kernel has no PSI)."""
    try:
        some = Path("/proc/pressure/cpu").read_text().splitlines()[0]
    except OSError:
        return 0.0
    return int(some.rsplit("total=", 1)[1]) / 1e6


def _stat(path: Path) -> list[int]:
    """The numbers of a /proc stat line after the command's name (utime is [11])."""
    text = path.read_text()
    return [int(x) if x.lstrip("-").isdigit() else 0 for x in text[text.rindex(")") + 2:].split()]


def _seconds_until_quiet(pid: int, timeout: float) -> float | None:
    """Seconds until the server and its workers used under ``QUIET_CORES`` over a window."""
    start = time.monotonic()
    last = _cpu(pid)
    while time.monotonic() - start < timeout:
        time.sleep(QUIET_WINDOW_S)
        now = _cpu(pid)
        split = last.until(now)
        if split.event_loop + split.script_runs + split.trainings < QUIET_CORES:
            return now.at - start
        last = now
    return None

