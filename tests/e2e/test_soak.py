"""A class at once: twelve visitors on mixed pages and settings for two minutes, then all leave.

The one long test (about 2.5 minutes). Each visitor opens a page, waits until
it has finished (its network trained, its seeds compared...), and opens the
next of its own round of pages and settings, on a server with the default
training budget (one trainer per core). Settings come from a small pool, so
visitors often ask for the same network at the same time. Recorded in the
output: visits finished, peak memory of the server and its workers, and the
most trainings under way at once (by the budget's log and by CPU per thread).
"""

from __future__ import annotations

import itertools
import time

import pytest
from playwright.sync_api import Error as PlaywrightError

from bench.serverwatch import ServerWatch, most_trainers_busy
from tests.e2e.conftest import EXCEPTION, running_server

# A load run (two minutes of twelve visitors): `make load`, not part of `make test`.
pytestmark = [pytest.mark.e2e, pytest.mark.load]

VISITORS = 12
SOAK_S = 120
VISIT_TIMEOUT_S = 240  # one page, on a 2-core machine loaded by other work too
IDLE_WITHIN_S = 90
UNWATCHED_S = 15  # a left training stops after this (60 s by default; shorter keeps it quick)
VIEWPORT = {"width": 1024, "height": 768}
SETTINGS = "hidden_units={h}&max_iter={m}&random_state={r}&scale_pixels=true"
# page address -> text on the page once it has finished
ROUND = (
    ("/?" + SETTINGS, "hidden units in a"),
    ("/Compare_seeds?seeds={r},{s}&" + SETTINGS, "Stability"),
    ("/Inspect_a_unit?" + SETTINGS, "Switch it off"),
    ("/Data", "Pixel values"),
    ("/Draw_a_digit?" + SETTINGS, "This network knows"),
    ("/Lesson", "What had to change"),
)
POOL = [dict(h=h, m=m, r=r, s=r + 1) for h, m, r in itertools.product((4, 9), (15, 40), (1, 2))]


class Visitor:
    """One person going round the pages, each with the next settings from the pool."""

    def __init__(self, browser, url: str, number: int):
        self.context = browser.new_context(viewport=VIEWPORT)
        self.page = self.context.new_page()
        self.url, self.number = url, number
        self.visits = (
            (path.format(**POOL[(number + turn) % len(POOL)]), done)
            for turn in itertools.count() for path, done in
            [ROUND[(number + turn) % len(ROUND)]])
        self.finished, self.problems, self.slowest = 0, [], 0.0
        self.current, self.done_text, self.started = "", "", 0.0

    def next(self) -> None:
        self.current, self.done_text = next(self.visits)
        self.started = time.monotonic()
        # A busy 2-core server may take longer than Playwright's 30 s to answer a navigation;
        # that is a slow visit (bounded by VISIT_TIMEOUT_S in ``check``), not an error.
        self.page.goto(self.url + self.current, wait_until="commit",
                       timeout=VISIT_TIMEOUT_S * 1000)

    def check(self) -> bool:
        """Whether the page has finished (a problem on it is recorded, and ends the visit)."""
        try:
            if self.page.locator(EXCEPTION).count():
                self.problems.append(f"{self.current}: "
                                     f"{self.page.locator(EXCEPTION).first.inner_text()[:200]}")
                return True
            main = self.page.locator('[data-testid="stMain"]').inner_text(timeout=10_000)
            running = self.page.locator('[data-test-script-state="running"]').count()
            training = self.page.locator('[data-testid="stProgress"]').count()
        except PlaywrightError:
            return False  # between two pages
        if time.monotonic() - self.started > VISIT_TIMEOUT_S:
            self.problems.append(f"{self.current} did not finish in {VISIT_TIMEOUT_S} s")
            return True
        done = self.done_text in main and not running and not training
        if done:
            self.slowest = max(self.slowest, time.monotonic() - self.started)
        return done


def test_twelve_visitors_for_two_minutes_then_the_server_is_idle(browser, tmp_path_factory):
    env = {"MLP_LENS_UNWATCHED_SECONDS": str(UNWATCHED_S)}
    with running_server(tmp_path_factory.mktemp("soak"), env=env) as server, \
            ServerWatch(server.pid) as watch:
        visitors = [Visitor(browser, server.url, n) for n in range(VISITORS)]
        try:
            for visitor in visitors:
                visitor.next()
            end = time.monotonic() + SOAK_S
            while time.monotonic() < end:
                for visitor in visitors:
                    if visitor.check():
                        visitor.finished += 1
                        visitor.next()
                time.sleep(0.5)
            for visitor in visitors:  # every visitor's last page finishes too
                while not visitor.check():
                    time.sleep(0.5)
                visitor.finished += 1
        finally:
            for visitor in visitors:
                visitor.context.close()
        left = time.monotonic()
        idle_after = watch.wait_until_idle(IDLE_WITHIN_S)
        seconds_to_idle = time.monotonic() - left
        trainers, limit = most_trainers_busy(server.stderr())
        log = server.stderr()
    problems = [problem for visitor in visitors for problem in visitor.problems]
    print(f"\nsoak: {VISITORS} visitors, {sum(v.finished for v in visitors)} pages finished in "
          f"{SOAK_S} s; peak memory {watch.peak_mb:.0f} MB; most trainings at once: "
          f"{trainers} of {limit} by the budget, {watch.busy_max} by CPU per thread; idle "
          f"{seconds_to_idle:.0f} s after the last visitor left; slowest page "
          f"{max(v.slowest for v in visitors):.0f} s")
    assert not problems, problems
    assert "Traceback" not in log, log[log.index("Traceback"):][:3000]
    assert all(visitor.finished >= 1 for visitor in visitors)
    assert idle_after is not None, f"still training {IDLE_WITHIN_S} s after everyone left"
    assert 1 <= trainers <= limit and watch.busy_max <= limit
