"""Many users at once: eight people open four configurations on a cold server at the same time."""

from __future__ import annotations

import re
import time
from collections import Counter

import pytest
from playwright.sync_api import expect

from bench.serverwatch import ServerWatch, most_trainers_busy
from tests.e2e.conftest import (
    EXCEPTION,
    TRAINING_TIMEOUT_MS,
    VIEWPORT,
    Server,
    running_server,
    save_screenshot,
    wait_for_weight_grid,
)

pytestmark = [pytest.mark.e2e, pytest.mark.alone]  # eight browsers, then CPU per thread

# hidden units -> (rows, columns) of its weight grid; max_iter keeps each training short.
GRIDS = {3: (2, 2), 4: (2, 2), 5: (2, 3), 7: (3, 3)}
VISITORS_PER_CONFIG = 2
MAX_ITER = 5
MEMORY_LIMIT_MB = 700
TRAINING_LINE = re.compile(r"mlp_lens: training TrainParams\(.*?\bhidden_units=(\d+)\b")


@pytest.fixture(scope="module")
def fresh_server(tmp_path_factory):
    """A server of its own, with an empty cache: nothing is trained or loaded yet."""
    with running_server(tmp_path_factory.mktemp("crowd")) as server:
        yield server


def trainings_by_units(server: Server) -> Counter:
    """How many real trainings the server logged, per number of hidden units."""
    return Counter(int(units) for units in TRAINING_LINE.findall(server.stderr()))


def test_eight_visitors_at_once_train_each_configuration_once(browser, fresh_server):
    """Eight sessions load at once: all render, each configuration trains once, memory stays low.

    Every ``goto`` returns as soon as its navigation commits, so the browser
    loads all eight pages at the same time and the server sees eight sessions
    ask for data and networks together; only then does the test wait for each.
    """
    visitors = [units for units in GRIDS for _ in range(VISITORS_PER_CONFIG)]
    contexts = [browser.new_context(viewport=VIEWPORT) for _ in visitors]
    errors: list[str] = []
    try:
        with ServerWatch(fresh_server.pid) as memory:
            pages = []
            for context, units in zip(contexts, visitors, strict=True):
                page = context.new_page()
                page.on("pageerror", lambda error: errors.append(str(error)))
                page.goto(f"{fresh_server.url}/?hidden_units={units}&max_iter={MAX_ITER}",
                          wait_until="commit")
                pages.append(page)
            for page, units in zip(pages, visitors, strict=True):
                wait_for_weight_grid(page, units, *GRIDS[units])
                assert page.locator(EXCEPTION).count() == 0, f"an exception for {units} units"
                assert f"hidden_units={units}" in page.url
                # max_iter=5 is below n_iter_no_change=10: every visitor's network runs out.
                expect(page.get_by_test_id("stCaptionContainer").filter(
                    has_text="It ran out of epochs")).to_be_visible()
            save_screenshot(pages[0], "concurrency-visitor-1")
        trained = trainings_by_units(fresh_server)
    finally:
        for context in contexts:
            context.close()

    print(f"server peak memory: {memory.peak_mb:.0f} MB")  # shown with -rP or -s
    assert not errors, f"uncaught errors in the pages: {errors}"
    assert trained == Counter(dict.fromkeys(GRIDS, 1)), (
        f"each configuration should train exactly once; trainings by hidden units: {trained}")
    assert memory.peak_mb < MEMORY_LIMIT_MB, (
        f"the server used {memory.peak_mb:.0f} MB (limit {MEMORY_LIMIT_MB} MB)")


# Ten digits, 36 units, scaled pixels: long trainings (each a few hundred epochs on the sample).
LONG = "/?digits=0,1,2,3,4,5,6,7,8,9&hidden_units=36&scale_pixels=true&max_iter=1000"
UNWATCHED_S = 5


def test_one_trainer_serves_three_visitors_in_turn_and_trains_nothing_once_they_leave(
        browser, tmp_path_factory):
    """The server trains at most MLP_LENS_MAX_TRAININGS networks at once (measured by the CPU
    of each of its threads): the others wait, with their place in line on the page; once every
    visitor has left, no training goes on past MLP_LENS_UNWATCHED_SECONDS."""
    env = {"MLP_LENS_MAX_TRAININGS": "1", "MLP_LENS_UNWATCHED_SECONDS": str(UNWATCHED_S)}
    contexts = [browser.new_context(viewport=VIEWPORT) for _ in range(3)]
    with running_server(tmp_path_factory.mktemp("budget"), env=env) as server, \
            ServerWatch(server.pid) as watch:
        try:
            pages = [context.new_page() for context in contexts]
            for seed, page in enumerate(pages, start=1):
                page.goto(f"{server.url}{LONG}&random_state={seed}", wait_until="commit")
            shown = _until_each_is_shown(pages, (
                "(updating as it learns)", "Waiting for a free trainer: 1st in line",
                "Waiting for a free trainer: 2nd in line"), timeout=TRAINING_TIMEOUT_MS / 1000)
            assert len(set(shown.values())) == 3, f"one page each: {shown}"
            watch.restart_count()
            time.sleep(4)  # CPU samples while one trains and two wait
            busy_while_open = watch.busy_max
        finally:
            for context in contexts:
                context.close()
        idle_after = watch.wait_until_idle(UNWATCHED_S + 30)
        log = server.stderr()
    print(f"busy threads at most: {busy_while_open}; idle {idle_after} s after the visitors "
          f"left; peak memory {watch.peak_mb:.0f} MB")
    assert busy_while_open == 1, f"{busy_while_open} threads trained at once with one trainer"
    assert most_trainers_busy(log) == (1, 1)
    assert idle_after is not None, "trainings went on after every visitor had left"
    assert "no page watched it" in log


def _until_each_is_shown(pages, texts, *, timeout: float) -> dict[str, int]:
    """Wait until each text is on one of the pages at the same time (they update themselves);
    on which page each is."""
    deadline, found = time.monotonic() + timeout, {}
    while time.monotonic() < deadline:
        found = {}
        for index, page in enumerate(pages):
            content = page.locator('[data-testid="stMain"]').inner_text()
            found.update({text: index for text in texts if text in content})
        if len(found) == len(texts):
            return found
        time.sleep(0.5)
    pytest.fail(f"only {sorted(found)} of {texts} were shown within {timeout:.0f} s")
