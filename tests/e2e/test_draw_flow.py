"""Drawing a digit in a real browser: strokes on the canvas, and the network's answer.

The canvas (streamlit-drawable-canvas, a components-v2 element, no iframe)
sends its picture to the app when a stroke ends, on mouse up; each stroke
reruns the page, which shows the 28 x 28 input, the probabilities and every
hidden unit's activation.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import Locator, Page, expect
from scipy import ndimage

from tests.e2e.conftest import (
    EXCEPTION,
    RUN_TIMEOUT_MS,
    TRAINING_TIMEOUT_MS,
    open_app,
    save_screenshot,
    wait_for_app,
)

pytestmark = pytest.mark.e2e

DRAW_LINK = "/Draw_a_digit?max_iter=15&scale_pixels=true"
HINT = "Draw a 0, 1, 2 or 3 in the box"
SEEN_CAPTION = "Your digit as MNIST made its digits"
UNITS_CAPTION = "each unit's weights as a 28 × 28 image"
# The drawing surface (Fabric.js stacks three canvases there); Clear makes a new one, keyed
# draw_canvas_1, draw_canvas_2...
CANVAS = '[class*="st-key-draw_canvas"] canvas'
# A "7" in the canvas's own pixels (280 x 280): the bar, then the stem.
SEVEN_BAR = [(60, 60), (220, 60)]
SEVEN_STEM = [(220, 60), (170, 150), (130, 250)]


def canvas_box(page: Page) -> dict:
    """Where the drawing surface is on the page."""
    canvas = page.locator(CANVAS).last
    expect(canvas).to_be_visible()
    canvas.scroll_into_view_if_needed()
    return canvas.bounding_box()


def draw_stroke(page: Page, points) -> None:
    """Press, move through ``points`` in small steps, release: one stroke, as a hand draws it."""
    box = canvas_box(page)
    x0, y0 = box["x"], box["y"]
    page.mouse.move(x0 + points[0][0], y0 + points[0][1])
    page.mouse.down()
    for x, y in points[1:]:
        page.mouse.move(x0 + x, y0 + y, steps=12)
    page.mouse.up()
    wait_for_app(page)


def seen(page: Page) -> Locator:
    """The processed input's ``img``; its address changes with its content."""
    return page.get_by_test_id("stImage").filter(has_text=SEEN_CAPTION).locator("img")


def seen_image(page: Page) -> np.ndarray:
    """The processed input as the browser fetched it, back at 28 x 28, as ink (255) on blank (0):
    the page shows it dark on light, as every page shows digits."""
    reply = page.request.get(seen(page).get_attribute("src"))
    assert reply.ok, f"the processed input did not load: {reply.status}"
    pixels = 255 - np.asarray(Image.open(io.BytesIO(reply.body())).convert("L"))
    return pixels[::pixels.shape[0] // 28, ::pixels.shape[1] // 28]


def answer(page: Page) -> str:
    return page.get_by_test_id("stMetric").filter(has_text="The network says").get_by_test_id(
        "stMetricValue").inner_text()


def test_drawing_a_digit_shows_what_the_network_sees_and_its_answer(page, server):
    """Empty canvas: a hint. Each stroke: the MNIST-style input, probabilities and units."""
    open_app(page, server.url + DRAW_LINK)
    expect(page.get_by_text(HINT)).to_be_visible(timeout=TRAINING_TIMEOUT_MS)
    expect(page.locator(EXCEPTION)).to_have_count(0)

    draw_stroke(page, SEVEN_BAR)
    expect(seen(page)).to_be_visible(timeout=RUN_TIMEOUT_MS)
    expect(page.get_by_text(HINT)).to_have_count(0)
    bar = seen_image(page)
    assert bar.max() == 255 and np.ptp(np.flatnonzero(bar.any(axis=0))) + 1 == 20

    before = seen(page).get_attribute("src")
    draw_stroke(page, SEVEN_STEM)
    expect(seen(page)).not_to_have_attribute("src", before, timeout=RUN_TIMEOUT_MS)
    wait_for_app(page)
    expect(page.get_by_test_id("stMetric").filter(has_text="The network says")).to_be_visible()
    assert answer(page) in {"0", "1", "2", "3"}
    expect(page.get_by_test_id("stVegaLiteChart")).to_be_visible()  # the probabilities
    expect(page.get_by_test_id("stImage").filter(has_text=UNITS_CAPTION)).to_be_visible()
    seven = seen_image(page)
    assert not np.array_equal(seven, bar), "the second stroke did not change the input"
    np.testing.assert_allclose(ndimage.center_of_mass(seven.astype(float)), (14, 14), atol=0.5)
    expect(page.locator(EXCEPTION)).to_have_count(0)
    save_screenshot(page, "6-draw-a-digit")

    page.get_by_role("button", name="Reset canvas & history").click()
    wait_for_app(page)
    expect(page.get_by_text(HINT)).to_be_visible(timeout=RUN_TIMEOUT_MS)
    expect(page.get_by_test_id("stMetric").filter(has_text="The network says")).to_have_count(0)
