"""Held-out test digits in a real browser: the toggle, the figures, and a shared link.

Runs on the shared server of the offline sample, with short trainings (max_iter=5).
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import (
    EXCEPTION,
    RUN_COUNTER,
    VIEWPORT,
    open_app,
    save_screenshot,
    wait_for_app,
    wait_for_weight_grid,
)

pytestmark = pytest.mark.e2e

SHORT_SCALED = "/?max_iter=5&scale_pixels=true"
HOLDOUT_LABEL = "Hold out MNIST's test digits"


def holdout_box(page: Page):
    return page.get_by_test_id("stSidebar").get_by_role("checkbox", name=HOLDOUT_LABEL)


def expect_held_out_view(page: Page) -> str:
    """The hold-out's view is complete; returns the test accuracy it shows."""
    main = page.get_by_test_id("stMain")
    test = page.get_by_test_id("stMetric").filter(has_text="Test accuracy")
    expect(test).to_contain_text("points vs training")
    expect(page.get_by_test_id("stMetric").filter(has_text="Training / test images")
           ).to_contain_text("1,714 / 286")
    expect(main.get_by_role("heading", name="On digits it has never seen")).to_be_visible()
    expect(main.get_by_text("Confusion matrix: each row is a true digit")).to_be_visible()
    expect(main.get_by_text("Its most confident mistakes")).to_be_visible()
    expect(main.get_by_text("Measured on the 286 test images of the chosen digits: a fixed "
                            "stratified split of the sample")).to_be_visible()
    for caption in ("Confusion matrix", "true digit → its answer"):
        image = page.get_by_test_id("stImage").filter(has_text=caption).locator("img")
        assert page.request.get(image.get_attribute("src")).ok
    expect(holdout_box(page)).to_be_checked()
    expect(page.locator(EXCEPTION)).to_have_count(0)
    return test.get_by_test_id("stMetricValue").inner_text()


def test_the_button_holds_out_the_test_digits_and_a_link_reproduces_the_view(page, server,
                                                                             browser):
    """Off: a note and a button. The button ticks the box, retrains on the training digits and
    shows the test accuracy, confusions and mistakes; the sidebar's link, opened in another
    browser, shows the same numbers."""
    open_app(page, server.url + SHORT_SCALED)
    wait_for_weight_grid(page, 6, 2, 3)
    expect(holdout_box(page)).not_to_be_checked()
    expect(page.get_by_text("it has seen every one of them")).to_be_visible()
    page.get_by_role("button", name="Hold out the test digits and retrain").click()
    wait_for_app(page)
    wait_for_weight_grid(page, 6, 2, 3)
    expect(page).to_have_url(re.compile(r"[?&]holdout=true(&|$)"))
    shown = expect_held_out_view(page)
    save_screenshot(page, "holdout-1-explore")
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.url)
    page.get_by_test_id("stSidebar").get_by_role("button", name="Copy link to this view").click()
    link = page.evaluate("() => navigator.clipboard.readText()")
    assert link.startswith(server.url) and "holdout=true" in link

    context = browser.new_context(viewport=VIEWPORT)
    context.add_init_script(RUN_COUNTER)
    try:
        other = context.new_page()
        open_app(other, link)
        wait_for_weight_grid(other, 6, 2, 3)
        assert expect_held_out_view(other) == shown
    finally:
        context.close()


def test_unticking_the_box_goes_back_to_the_lessons_training_on_every_image(page, server):
    open_app(page, server.url + SHORT_SCALED + "&holdout=true")
    wait_for_weight_grid(page, 6, 2, 3)
    expect_held_out_view(page)
    # A person clicks the label (the styled box, not the hidden input, takes the click).
    page.get_by_test_id("stSidebar").get_by_test_id("stCheckbox").filter(
        has_text=HOLDOUT_LABEL).get_by_text(HOLDOUT_LABEL).click()
    wait_for_app(page)
    wait_for_weight_grid(page, 6, 2, 3)
    expect(page).to_have_url(re.compile(r"[?&]holdout=false(&|$)"))
    expect(page.get_by_test_id("stMetric").filter(has_text="Test accuracy")).to_have_count(0)
    expect(page.get_by_text("it has seen every one of them")).to_be_visible()
