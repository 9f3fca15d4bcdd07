"""Watching a network learn, sharing a link to a view, and comparing seeds, in a real browser.

These flows use the session-wide server on the bundled offline sample (see
conftest.py); each opens its own browser context, so its own Streamlit session.
"""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import (
    EXCEPTION,
    GRID_CAPTION,
    TRAINING_TIMEOUT_MS,
    VIEWPORT,
    open_app,
    save_screenshot,
    wait_for_app,
    wait_for_weight_grid,
)
from tests.e2e.test_flows import grid_image_bytes, sidebar, sidebar_values

pytestmark = pytest.mark.e2e

# Ten digits, 36 units, 300 sgd epochs: about 45 ms an epoch on 5,000 sample digits, so the
# training lasts long enough to be watched (the flow stops it once it has seen it learn).
LONG_TRAINING = "/?digits=0,1,2,3,4,5,6,7,8,9&hidden_units=36&scale_pixels=true&max_iter=300"
PROGRESS = '[data-testid="stProgress"]'
LIVE_CAPTION = "(updating as it learns)"
SHARED_VIEW = "/?digits=1,4,7&hidden_units=4&alpha=0.01&random_state=17&max_iter=5"


def live_epoch(page: Page) -> int:
    """The epoch the progress bar names ("Training: epoch 12 of 300 · loss ...")."""
    text = page.locator(PROGRESS).first.inner_text(timeout=TRAINING_TIMEOUT_MS)
    found = re.search(r"epoch (\d+) of (\d+)", text)
    assert found, f"no epoch counter in {text!r}"
    return int(found.group(1))


def live_grid_src(page: Page) -> str:
    image = page.get_by_test_id("stImage").filter(has_text=LIVE_CAPTION).locator("img")
    return image.get_attribute("src", timeout=TRAINING_TIMEOUT_MS)


def wait_until(condition, *, timeout: float, what: str) -> None:
    """Poll ``condition`` (the page refreshes on its own once a second)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    pytest.fail(f"{what} within {timeout:.0f} s")


def test_the_page_shows_the_network_learning_and_stop_keeps_it(page, server):
    """The epoch counter advances and the grid redraws while it trains; Stop keeps that network."""
    page.goto(server.url + LONG_TRAINING)
    expect(page.get_by_text(LIVE_CAPTION)).to_be_visible(timeout=TRAINING_TIMEOUT_MS)
    first_epoch, first_grid = live_epoch(page), live_grid_src(page)
    assert 1 <= first_epoch < 300
    wait_until(lambda: live_epoch(page) > first_epoch and live_grid_src(page) != first_grid,
               timeout=30, what="the epoch counter and the grid did not move on")
    expect(page.get_by_text(re.compile(r"36 hidden units at epoch \d+"))).to_be_visible()
    expect(page.get_by_test_id("stVegaLiteChart")).to_be_visible()  # the growing loss curve
    save_screenshot(page, "7-training-live")

    page.get_by_role("button", name="Stop").click()
    stopped = page.get_by_test_id("stAlertContentWarning").filter(has_text="Stopped at epoch")
    expect(stopped).to_be_visible(timeout=TRAINING_TIMEOUT_MS)
    epoch = int(re.search(r"Stopped at epoch (\d+) of 300", stopped.inner_text()).group(1))
    assert first_epoch < epoch < 300
    wait_for_weight_grid(page, 36, 6, 6)
    expect(page.locator(PROGRESS)).to_have_count(0)
    expect(page.locator(EXCEPTION)).to_have_count(0)
    save_screenshot(page, "7-stopped")


def test_a_shared_link_opens_the_same_view_in_a_fresh_browser(page, server, browser):
    """The sidebar's one-line Copy link button puts the link on the clipboard; opened by someone
    else, it shows the same settings and the same weights."""
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.url)
    open_app(page, server.url + SHARED_VIEW)
    wait_for_weight_grid(page, 4, 2, 2)
    button = sidebar(page).get_by_role("button", name="Copy link to this view")
    button.click()
    expect(sidebar(page).get_by_role("button", name="Link copied")).to_be_visible()
    link = page.evaluate("() => navigator.clipboard.readText()")
    assert link.startswith(server.url) and "random_state=17" in link
    mine, my_grid = sidebar_values(page), grid_image_bytes(page)
    assert mine["digits"] == ["1", "4", "7"] and mine["alpha"] == "0.01"

    colleague = browser.new_context(viewport=VIEWPORT)
    try:
        theirs = colleague.new_page()
        open_app(theirs, link)
        wait_for_weight_grid(theirs, 4, 2, 2)
        # The page goes on drawing once the grid is there (under load the digits box was
        # read still empty): wait for its three digits, then read every setting.
        digits = sidebar(theirs).get_by_test_id("stMultiSelect").filter(has_text="Digits")
        expect(digits.locator("[data-tag]")).to_have_count(3)
        assert sidebar_values(theirs) == mine
        assert grid_image_bytes(theirs) == my_grid
        expect(theirs.locator(EXCEPTION)).to_have_count(0)
        link_notices = theirs.get_by_test_id("stAlertContentWarning").filter(has_text="link")
        expect(link_notices).to_have_count(0)
        save_screenshot(theirs, "8-shared-link")
    finally:
        colleague.close()


def test_comparing_three_seeds_shows_three_grids_lined_up(page, server):
    """Three seeds train in worker processes and each gets its own grid and similarity."""
    open_app(page, server.url + "/Compare_seeds?seeds=2,3,4&max_iter=5&scale_pixels=true")
    grids = page.locator(GRID_CAPTION).filter(has_text="lined up with the reference")
    expect(grids).to_have_count(3, timeout=TRAINING_TIMEOUT_MS)
    wait_for_app(page)
    for seed in (2, 3, 4):
        expect(page.locator(GRID_CAPTION).filter(has_text=f"seed {seed}: units")).to_be_visible()
    stability = page.get_by_test_id("stMetric").filter(has_text="Stability")
    value = float(stability.get_by_test_id("stMetricValue").inner_text())
    assert 0 < value <= 1
    # The reference is itself's perfect match; the other seeds are not.
    assert page.get_by_test_id("stMain").inner_text().count("similarity 1.00") == 1
    expect(page.locator(EXCEPTION)).to_have_count(0)
    save_screenshot(page, "9-compare-three-seeds")
