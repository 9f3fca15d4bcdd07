"""The hidden layer's map in a real browser, at the three screen sizes the pages are judged at.

One short training with the test digits held out (286 test images of 0-3 in the offline
sample, so t-SNE takes a moment, not seconds), on the shared server.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import (
    EXCEPTION,
    open_app,
    save_screenshot,
    wait_for_app,
    wait_for_weight_grid,
)
from tests.e2e.test_replay_flow import epoch_thumb

pytestmark = pytest.mark.e2e

EPOCHS = 6
LINK = f"/?max_iter={EPOCHS}&scale_pixels=true&holdout=true&random_state=7"
SIZES = ((1400, 1000), (1024, 768), (390, 844))
TEST_IMAGES = 286
# Each symbol layer's marks as Vega draws them (SVG): the dots, then the rings of the means.
MARKS = """(chart) => [...chart.querySelectorAll('g.mark-symbol.role-mark')].map(
    (layer) => [...layer.querySelectorAll('path')].map((dot) => dot.getAttribute('transform')))"""


def map_section(page: Page):
    main = page.get_by_test_id("stMain")
    return (main.get_by_role("heading", name=re.compile("The hidden layer's map")),
            main.get_by_test_id("stVegaLiteChart").filter(has=page.locator(".mark-text")),
            main.get_by_test_id("stCaptionContainer").filter(has_text="One dot per image"))


def expect_map(page: Page, *, epoch: int, method: str) -> list[str]:
    """The map's heading names the epoch, its chart draws a dot per test image and a ring per
    digit inside the window's width, and its caption counts them and names the method.
    Returns where the dots are."""
    heading, chart, caption = map_section(page)
    expect(heading).to_have_text(f"The hidden layer's map at epoch {epoch}")
    expect(caption).to_contain_text(f"all {TEST_IMAGES} test images, placed by {method}")
    chart.scroll_into_view_if_needed()
    expect(chart.locator("svg").first).to_be_visible()
    dots, rings = chart.evaluate(MARKS)
    assert (len(dots), len(rings)) == (TEST_IMAGES, 4)
    box, width = chart.bounding_box(), page.viewport_size["width"]
    assert box["x"] >= 0 and box["x"] + box["width"] <= width + 1, (box, width)
    numbers = page.get_by_test_id("stMetric").filter(has_text="Digit from neighbours, map")
    expect(numbers.get_by_test_id("stMetricValue")).to_have_text(re.compile(r"^\d{1,3}%$"))
    expect(page.locator(EXCEPTION)).to_have_count(0)
    return dots


def expect_hover_names_the_image(page: Page) -> None:
    """Hovering a dot shows its test image's number, its digit and the network's answer (the
    first of a few dots that no digit's ring covers)."""
    _, chart, _ = map_section(page)
    tip = page.locator("#vg-tooltip-element")
    for n in range(0, TEST_IMAGES, 47):
        box = chart.locator("g.mark-symbol.role-mark").first.locator("path").nth(n).bounding_box()
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        if tip.filter(has_text="test image").is_visible():
            break
    expect(tip).to_contain_text(re.compile(r"test image\s*\d+\s*true digit\s*[0-3]\s*"
                                           r"network's answer\s*[0-3]"))


def test_the_map_follows_the_replay_and_switches_to_t_sne_at_every_size(page: Page, server):
    """A person finds the map under the replay, drags the epoch back and sees the map of that
    epoch, then picks t-SNE (which the address keeps); at each of the three sizes."""
    page.set_viewport_size({"width": SIZES[0][0], "height": SIZES[0][1]})
    open_app(page, server.url + LINK)
    wait_for_weight_grid(page, 6, 2, 3)
    at_end = expect_map(page, epoch=EPOCHS, method="PCA")
    save_screenshot(page, "hidden-map-pca-1400x1000")
    expect_hover_names_the_image(page)

    epoch_thumb(page).press("ArrowLeft")
    wait_for_app(page)
    before = expect_map(page, epoch=EPOCHS - 1, method="PCA")
    assert before != at_end, "the dots did not move with the epoch"

    page.get_by_role("radiogroup", name="Map").get_by_role("radio", name="t-SNE").click()
    wait_for_app(page)
    assert expect_map(page, epoch=EPOCHS - 1, method="t-SNE") != before
    expect(page).to_have_url(re.compile(r"[?&]map=tsne(&|$)"))
    for width, height in SIZES[1:]:
        page.set_viewport_size({"width": width, "height": height})
        expect_map(page, epoch=EPOCHS - 1, method="t-SNE")
        save_screenshot(page, f"hidden-map-tsne-{width}x{height}")
