""""Why 7?" in a real browser: under a drawn digit's answer, and for a mistake picked on Explore.

Each test draws (or picks) once, then looks at the section at the three sizes it is judged
at by resizing the window: the page does not rerun for that. The networks are those of the
drawing and hold-out flows, cached by the shared server.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import (
    EXCEPTION,
    TRAINING_TIMEOUT_MS,
    open_app,
    save_screenshot,
    wait_for_app,
    wait_for_weight_grid,
)
from tests.e2e.test_draw_flow import DRAW_LINK, HINT, SEVEN_BAR, SEVEN_STEM, answer, draw_stroke
from tests.e2e.test_layout_pages import SIZES

pytestmark = pytest.mark.e2e

HOLDOUT_LINK = "/?max_iter=5&scale_pixels=true&holdout=true"  # the hold-out flow's network
BARS_CAPTION = "Each unit's activation × its vote for"
DRAWN_FOR_PX = 300  # core.weights.WIDE_COLUMN_PX: the figure's text is a caption's size there


def expect_why_section_readable(page: Page, heading: str, name: str) -> None:
    """At every size: the heading, the bars shown at least as wide as they were drawn for
    (so their text is as large as a caption) and within the window, the words, no error."""
    for width, height in SIZES:
        page.set_viewport_size({"width": width, "height": height})
        section = page.get_by_role("heading", name=heading)
        section.scroll_into_view_if_needed()
        expect(section).to_be_visible()
        bars = page.get_by_test_id("stImage").filter(has_text=BARS_CAPTION).locator("img")
        bars.scroll_into_view_if_needed()
        box = bars.bounding_box()
        assert box["width"] >= DRAWN_FOR_PX - 10, f"bars {box['width']:.0f} px wide at {width}"
        assert box["x"] >= 0 and box["x"] + box["width"] <= width, f"bars cut off at {width}"
        expect(page.get_by_text("pushed towards").first).to_be_visible()
        expect(page.locator(EXCEPTION)).to_have_count(0)
        save_screenshot(page, f"why-{name}-{width}x{height}")


def test_a_drawn_digit_says_why_it_got_its_answer(page, server):
    """Once a digit is drawn, "Why <answer>?" shows the units' shares and the pixels."""
    open_app(page, server.url + DRAW_LINK)
    expect(page.get_by_text(HINT)).to_be_visible(timeout=TRAINING_TIMEOUT_MS)
    expect(page.get_by_role("heading", name=re.compile("^Why"))).to_have_count(0)
    draw_stroke(page, SEVEN_BAR)
    draw_stroke(page, SEVEN_STEM)
    expect(page.get_by_role("heading", name=re.compile(r"^Why \d\?"))).to_be_visible()
    digit = answer(page)
    expect(page.get_by_text(f"Its score for {digit} is")).to_be_visible()
    expect_why_section_readable(page, f"Why {digit}?", "draw")


def test_a_picked_mistake_says_why_it_was_not_the_true_digit_and_the_link_keeps_it(page,
                                                                                   server):
    """Explore with the hold-out: picking a listed mistake puts it in the URL and shows
    "Why <answer> and not <true digit>?"; the link opens on the same explanation."""
    open_app(page, server.url + HOLDOUT_LINK)
    wait_for_weight_grid(page, 6, 2, 3)
    picker = page.get_by_test_id("stSelectbox").filter(has_text="Why did it make this mistake?")
    expect(picker).to_be_visible()
    picker.click()
    first = page.get_by_role("option").first
    true, said = re.match(r"1\. (\d) → (\d)", first.inner_text()).groups()
    first.click()
    wait_for_app(page)
    expect(page).to_have_url(re.compile(r"[?&]why=1(&|$)"))
    heading = f"Why {said} and not {true}?"
    expect(page.get_by_role("heading", name=heading)).to_be_visible()
    expect_why_section_readable(page, heading, "mistake")
    open_app(page, page.url)
    expect(page.get_by_role("heading", name=heading)).to_be_visible(timeout=TRAINING_TIMEOUT_MS)
