"""What watching a training costs: one visitor in headless Chromium against core alone.

``watched`` starts the real server (``bench.server``) on the data the bench uses,
opens *The data* page once (so imports and the data load are behind it, as on a
server that has had a visitor), then opens a link to a network nobody has
trained and times it from the link to the finished page. Meanwhile it reads
the CPU time from ``/proc``: the training's worker process (named ``mlp-train``
while it trains) and the server's (the page threads, the event loop), over a
window while the training runs. ``core_alone`` trains the
same network with ``core.train.train_mlp`` in a fresh process, as the baseline.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from bench.server import CHROMIUM, CHROMIUM_ARGS  # noqa: F401 - bench.run checks for it

# The network the rows watch: the heavy case, 36 units on every digit.
WATCHED = {"digits": "0,1,2,3,4,5,6,7,8,9", "hidden_units": "36", "scale_pixels": "true"}
TICKS = os.sysconf("SC_CLK_TCK")


def core_alone(*, data_home: str | None, query: dict) -> dict:
    """``train_mlp`` of the network in ``query``, in this fresh process, as the server would."""
    from time import perf_counter

    from core.data import load_mnist
    from core.params import TrainParams
    from core.process import configure_process
    from core.train import train_mlp

    configure_process()
    data = load_mnist(data_home=data_home)
    params, _ = TrainParams.from_query(query)
    began = perf_counter()
    result = train_mlp(params, data)
    return {"seconds": perf_counter() - began, "n_iter": result.n_iter,
            "n_samples": result.n_samples, "train_accuracy": result.train_accuracy}


def watched(*, data_home: str | None, query: dict, window: float) -> dict:
    """Open the link to ``query`` in Chromium and time it until the finished page shows;
    the server's CPU per thread over ``window`` seconds of the training."""
    from playwright.sync_api import expect, sync_playwright

    from bench.server import serve
    from core.params import TrainParams

    params, _ = TrainParams.from_query(query)
    link = "/?" + "&".join(f"{k}={v}" for k, v in params.to_query().items())
    finished = f"{params.hidden_units} hidden units in a"  # the finished grid's caption
    extra = {"SCIKIT_LEARN_DATA": data_home} if data_home else {}
    with tempfile.TemporaryDirectory(prefix="mlp-lens-watch-") as tmp, \
            serve(Path(tmp), sample=data_home is None, cache=Path(os.environ["MLP_LENS_CACHE"]),
                  env=extra) as server, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                             args=list(CHROMIUM_ARGS))
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(server.url + "/Data")  # imports and the data load, before the clock
        expect(page.get_by_text("Images per digit")).to_be_visible(timeout=120_000)
        began = time.perf_counter()
        page.goto(server.url + link)
        live, done = page.get_by_text("(updating as it learns)"), page.get_by_text(finished)
        expect(live.or_(done).first).to_be_visible(timeout=600_000)
        first_view = time.perf_counter() - began
        cpu = _window(server.pid, window) if live.count() else _NOT_SEEN
        while training_cpu(server.pid):
            time.sleep(0.05)
        trained = time.perf_counter() - began  # the training thread has ended
        expect(done).to_be_visible(timeout=3_600_000)
        seconds = time.perf_counter() - began
        problems = page.locator('[data-testid="stException"], '
                                '[data-testid="stAlertContentError"]').count()
        browser.close()
    return {"seconds": seconds, **cpu, "link": link, "first_view": first_view,
            "trained": trained,
            "problem": f"{problems} error(s) on the page" if problems else ""}


_NOT_SEEN = {"window": 0.0, "page_cores": None, "training_cores": None}  # over too soon


def _window(pid: int, seconds: float) -> dict:
    """CPU time over up to ``seconds`` of a training: the training's worker process, and the
    server (the page threads, which come and go, and the event loop), in cores:
    read every quarter second, up to the last reading at which the training still ran. None
    where it ran for less than a second of the window."""
    first, first_total, start = training_cpu(pid), process_cpu(pid), time.perf_counter()
    last = None
    while time.perf_counter() - start < seconds:
        time.sleep(0.25)
        now, total, at = training_cpu(pid), process_cpu(pid), time.perf_counter()
        if not now or set(now) != set(first):
            break  # the training ended (or another began): its last reading was the one before
        last = (now, total, at - start)
    if not first or last is None or last[2] < 1.0:
        return _NOT_SEEN
    now, total, wall = last
    trained = sum(now[worker] - first[worker] for worker in now)
    pages = total - first_total  # the trainings run in worker processes, not in the server
    return {"window": wall, "page_cores": pages / wall, "training_cores": trained / wall}


def _cpu(stat: str) -> float:
    """utime + stime of a /proc stat line, in seconds."""
    fields = stat[stat.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def process_cpu(pid: int) -> float:
    """All CPU the process has used, the threads that have ended included."""
    return _cpu(Path(f"/proc/{pid}/stat").read_text())


def training_cpu(pid: int) -> dict[int, float]:
    """The CPU seconds of each worker process of server ``pid`` that trains now (its jobs'
    workers, children of its fork server, named ``mlp-train`` while they train)."""
    import psutil

    from core.jobs import TRAINING_THREAD

    found = {}
    try:
        children = psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return found
    for child in children:
        try:
            if child.name() == TRAINING_THREAD:
                times = child.cpu_times()
                found[child.pid] = times.user + times.system
        except psutil.NoSuchProcess:
            continue  # the training ended
    return found


def first_visit() -> dict:
    """A new server on the offline sample (its data copy written already, as on a machine that
    has run MLP Lens once; its log said it is ready for visitors) and its first visitor, on the
    lesson's settings not trained yet:
    seconds from opening the page to the training's start (the worker's log line
    "mlp_lens: training ...", as it starts fitting) and to the finished page."""
    from datetime import datetime

    from playwright.sync_api import expect, sync_playwright

    from bench.server import serve
    from core.data import load_sample

    cache = Path(os.environ["MLP_LENS_CACHE"])
    load_sample()  # writes the sample's uint8 copy into the cache, as a first run once did
    with tempfile.TemporaryDirectory(prefix="mlp-lens-visit-") as tmp, \
            serve(Path(tmp), sample=True, cache=cache) as server, \
            sync_playwright() as playwright:
        deadline = time.monotonic() + 120  # a server started a moment before its first visitor
        while "ready for visitors" not in server.stderr() and time.monotonic() < deadline:
            time.sleep(0.1)
        ready = next((line for line in server.stderr().splitlines() if "ready for" in line), "")
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                             args=list(CHROMIUM_ARGS))
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        opened = datetime.now()
        began = time.perf_counter()
        page.goto(server.url + "/")
        expect(page.get_by_text("hidden units in a")).to_be_visible(timeout=300_000)
        seconds = time.perf_counter() - began
        started = next((line for line in server.stderr().splitlines()
                        if "mlp_lens: training TrainParams" in line), "")
        browser.close()
    if not started:
        return {"seconds": None, "finished": seconds, "problem": "no training was logged"}
    at = datetime.strptime(started[:23], "%Y-%m-%d %H:%M:%S,%f")
    return {"seconds": (at - opened).total_seconds(), "finished": seconds,
            "ready": ready.rsplit(" in ", 1)[-1], "problem": ""}

