"""The real server and headless Chromium, for tests that drive the page as a person would.

A server is ``streamlit run app.py`` in its own process group, on a free
localhost port, with its own cache folder and an empty scikit-learn data
folder; its stderr (where every real training is logged) goes to a file.
``wait_for_app`` is the one way to wait for the page: it watches the attribute
Streamlit sets on the app element while a script runs, never a fixed sleep.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from bench.server import (  # noqa: F401 - the browser tests import them from here
    CHROMIUM,
    CHROMIUM_ARGS,
    Server,
    ServerFailed,
    serve,
    server_environment,
)

ROOT = Path(__file__).resolve().parents[2]
REQUIRE_BROWSER_ENV = "MLP_LENS_REQUIRE_BROWSER"  # "1" in CI: a missing Chromium fails
SCREENSHOTS_ENV = "MLP_LENS_SCREENSHOTS"
# Tall, because Streamlit's main area scrolls inside the window: a full-page
# screenshot only holds what the viewport shows (``save_screenshot`` grows it further).
VIEWPORT = {"width": 1400, "height": 2200}

# How long an interaction may take to start a script run before we assume it
# needed none. Only such an interaction waits this long: a run is counted even
# when it ends before ``wait_for_app`` looks.
RUN_START_GRACE_MS = 10_000
RUN_TIMEOUT_MS = 90_000
TRAINING_TIMEOUT_MS = 120_000  # a loaded 2-core machine trains slowly while it renders
# Every ``expect`` waits as long as a script run may take (Playwright's default is 5 s): with
# the tests two at a time on 2 cores, a server took more than 5 s to write a slider's new
# value into the URL.
expect.set_options(timeout=RUN_TIMEOUT_MS)

APP = '[data-testid="stApp"]'
SCRIPT_STATE = "data-test-script-state"  # "initial", then "running" / "notRunning"
# A traceback, or the short error message the pages show instead of one (ui.render.guarded).
EXCEPTION = '[data-testid="stException"], [data-testid="stAlertContentError"]'
# Counts the script runs a page has seen, so ``wait_for_app`` cannot miss a short one.
RUN_COUNTER = """
window.__mlpLensRuns = 0;
new MutationObserver((records) => {
    for (const record of records) {
        const state = record.target.getAttribute("data-test-script-state");
        if (state === "running" && record.oldValue !== "running") window.__mlpLensRuns += 1;
    }
}).observe(document, {subtree: true, attributes: true, attributeOldValue: true,
                      attributeFilter: ["data-test-script-state"]});
"""
GRID_CAPTION = '[data-testid="stImageCaption"]'


@contextmanager
def running_server(tmp: Path, *, sample: bool = True, cache: Path | None = None,
                   env: dict[str, str] | None = None) -> Iterator[Server]:
    """Start the app on a free port, wait until it is healthy, and stop it afterwards.

    ``env`` adds to the server's environment (``MLP_LENS_MAX_TRAININGS``...). A server that
    exits or never answers fails the test, with the end of its stderr.
    """
    try:
        with serve(tmp, sample=sample, cache=cache, env=env) as server:
            yield server
    except ServerFailed as exc:
        pytest.fail(str(exc))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Show the end of each server's stderr (tracebacks, trainings) under a failed test."""
    report = yield
    if report.failed:
        for name, value in getattr(item, "funcargs", {}).items():
            if isinstance(value, Server):
                report.sections.append((f"{name} stderr (last 4000 characters)",
                                        value.stderr()[-4000:]))
    return report


@pytest.fixture(scope="session")
def server(tmp_path_factory) -> Iterator[Server]:
    """One server on the offline sample, shared by the flows (each flow has its own session)."""
    with running_server(tmp_path_factory.mktemp("server")) as running:
        yield running


def require_chromium() -> str:
    """Chromium's path; without it the browser tests skip, or fail when they are required."""
    if CHROMIUM.exists():
        return str(CHROMIUM)
    message = ("Chromium not found: install it with `sudo apt-get install chromium` "
               "to run the browser tests")
    if os.environ.get(REQUIRE_BROWSER_ENV) == "1":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def browser():
    executable = require_chromium()
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, headless=True,
                                              args=list(CHROMIUM_ARGS))
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser) -> Iterator[Page]:
    """A fresh browser context, so every test is a new Streamlit session."""
    context = browser.new_context(viewport=VIEWPORT)
    context.add_init_script(RUN_COUNTER)
    new_page = context.new_page()
    errors: list[str] = []
    new_page.on("pageerror", lambda error: errors.append(str(error)))
    yield new_page
    context.close()
    assert not errors, f"uncaught errors in the page: {errors}"


@pytest.fixture
def screen(browser, request) -> Iterator[Page]:
    """A page in a window of the size the test names (``parametrize("screen", ..., indirect)``),
    not the tall window of ``page``, so "in view without scrolling" means what it says."""
    width, height = request.param
    context = browser.new_context(viewport={"width": width, "height": height})
    context.add_init_script(RUN_COUNTER)
    new_page = context.new_page()
    yield new_page
    context.close()


def wait_for_app(page: Page, *, timeout: int = RUN_TIMEOUT_MS) -> None:
    """Wait until the script run that the last navigation or interaction started has ended.

    The run begins a moment after the interaction and may even be over before
    this is called, so watching the state alone can miss it or stop too early.
    The page's ``RUN_COUNTER`` counts every change to ``running``: first wait
    until a run has started since the last call (tolerating, after a grace
    period, an interaction that needed none), then for ``notRunning`` and for
    the status widget ("Running...") to go. Pages that poll (a fragment with
    ``run_every``) keep starting short runs; assert on the content you expect
    with ``expect``.
    """
    try:
        page.wait_for_function(
            "() => window.__mlpLensRuns === undefined"
            " || window.__mlpLensRuns > (window.__mlpLensRunsSeen || 0)",
            timeout=RUN_START_GRACE_MS)
    except PlaywrightTimeout:
        pass  # nothing to rerun
    if page.evaluate("() => window.__mlpLensRuns === undefined"):  # a page without the counter
        try:
            page.wait_for_selector(f'{APP}[{SCRIPT_STATE}="running"]', state="attached",
                                   timeout=RUN_START_GRACE_MS)
        except PlaywrightTimeout:
            pass  # already finished, or nothing to rerun
    page.wait_for_selector(f'{APP}[{SCRIPT_STATE}="notRunning"]', state="attached",
                           timeout=timeout)
    expect(page.locator('[data-testid="stStatusWidget"]')).to_have_count(0, timeout=timeout)
    _mark_runs_seen(page)


def _mark_runs_seen(page: Page) -> None:
    """The page is settled: the next ``wait_for_app`` waits for a run that starts after now."""
    page.evaluate("() => { window.__mlpLensRunsSeen = window.__mlpLensRuns; }")


def open_app(page: Page, url: str) -> None:
    page.goto(url)
    wait_for_app(page)


def wait_for_weight_grid(page: Page, units: int, rows: int, cols: int) -> None:
    """Wait for the finished network's weight grid (training may still be under way).

    An exception on the page ends the wait at once, instead of at the timeout.
    """
    caption = page.locator(GRID_CAPTION).filter(
        has_text=f"{units} hidden units in a {rows} × {cols} grid")
    exception = page.locator(EXCEPTION)
    expect(caption.or_(exception).first).to_be_visible(timeout=TRAINING_TIMEOUT_MS)
    assert exception.count() == 0, (
        f"the page shows an exception instead of the {units}-unit grid "
        "(the traceback is in the server's stderr, printed below the failure)")
    # The grid is drawn part-way through the run that shows the finished network.
    page.wait_for_selector(f'{APP}[{SCRIPT_STATE}="notRunning"]', state="attached",
                           timeout=RUN_TIMEOUT_MS)
    _mark_runs_seen(page)


def screenshot_dir() -> Path:
    configured = os.environ.get(SCREENSHOTS_ENV)
    folder = Path(configured) if configured else ROOT / "tests" / "e2e" / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def save_screenshot(page: Page, name: str) -> Path:
    """A screenshot of the whole page, the main area grown to its full height first."""
    return save_full_page(page, screenshot_dir() / f"{name}.png")


def save_full_page(page: Page, path: Path) -> Path:
    """Grow the window to the main area's (or the sidebar's) full height and save the page."""
    needed = page.evaluate(
        """() => {
            const main = document.querySelector('[data-testid="stMain"]');
            const side = document.querySelector('[data-testid="stSidebarContent"]');
            return Math.max(main ? main.scrollHeight : 0, side ? side.scrollHeight : 0);
        }""")
    size = page.viewport_size or VIEWPORT
    if needed > size["height"]:
        page.set_viewport_size({"width": size["width"], "height": int(needed) + 40})
    page.screenshot(path=str(path), full_page=True)
    return path
