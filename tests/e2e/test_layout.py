"""The pages at the three sizes they are judged at: the picture first, nothing cut off, readable.

Each test opens its own browser context with the window of a real screen
(not the tall window the other flows use), so "visible without scrolling"
means what it says.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import (
    EXCEPTION,
    open_app,
    save_screenshot,
    wait_for_weight_grid,
)

pytestmark = pytest.mark.e2e

SHORT = "/?max_iter=5"

# Every element whose text is cut off: wider content than box, or an ellipsis in use.
TRUNCATED = """(root) => [...root.querySelectorAll('*')].filter((el) => {
    const style = getComputedStyle(el);
    if (!el.innerText || style.display === 'none') return false;
    return el.scrollWidth > el.clientWidth + 1
        && (style.overflow === 'hidden' || style.overflowX === 'hidden'
            || style.textOverflow === 'ellipsis');
}).map((el) => el.innerText)"""

# WCAG 2 contrast of each caption's text on the background it is drawn on.
CONTRASTS = """() => {
    const rgb = (text) => text.match(/[\\d.]+/g).map(Number);
    const luminance = ([r, g, b]) => {
        const lin = (c) => {
            c /= 255;
            return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
        };
        return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
    };
    const background = (el) => {
        for (let node = el; node; node = node.parentElement) {
            const colour = rgb(getComputedStyle(node).backgroundColor);
            if (colour.length < 4 || colour[3] > 0) return colour.slice(0, 3);
        }
        return [255, 255, 255];
    };
    const selector = '[data-testid="stCaptionContainer"], [data-testid="stImageCaption"]';
    const captions = [...document.querySelectorAll(selector)].filter((el) => el.innerText.trim());
    return captions.map((el) => {
        let [r, g, b, a] = rgb(getComputedStyle(el).color);
        a = a === undefined ? 1 : a;
        for (let node = el; node; node = node.parentElement) {
            a *= Number(getComputedStyle(node).opacity);
        }
        const back = background(el);
        const text = [r, g, b].map((c, i) => a * c + (1 - a) * back[i]);
        const [hi, lo] = [luminance(text), luminance(back)].sort((x, y) => y - x);
        return [el.innerText.slice(0, 40), (hi + 0.05) / (lo + 0.05)];
    });
}"""


@pytest.mark.parametrize("screen", [(1400, 1000)], indirect=True)
def test_the_weight_grid_starts_on_the_first_screen(screen: Page, server):
    """At 1400 x 1000, the grid's top edge and the metrics are in view without scrolling."""
    open_app(screen, server.url + SHORT)
    wait_for_weight_grid(screen, 6, 2, 3)
    screen.evaluate("() => document.querySelector('[data-testid=\"stMain\"]').scrollTo(0, 0)")
    grid = screen.get_by_test_id("stImage").filter(has_text="hidden units in a").locator(
        "img").bounding_box()
    assert grid is not None and 0 < grid["y"] < 1000 - 150, f"the grid starts at {grid}"
    metrics = screen.get_by_test_id("stMetric").filter(has_text="Training accuracy")
    assert metrics.bounding_box()["y"] < grid["y"]
    save_screenshot(screen, "layout-1400x1000")


@pytest.mark.parametrize("screen", [(1024, 768)], indirect=True)
def test_no_metric_is_cut_off_on_a_tablet(screen: Page, server):
    """At 1024 x 768 every metric's label and value is whole ("70,00…" was cut before)."""
    open_app(screen, server.url + SHORT)
    wait_for_weight_grid(screen, 6, 2, 3)
    screen.get_by_test_id("stExpander").filter(has_text="The data:").get_by_text(
        "The data:").click()  # its metrics too
    for metric in screen.get_by_test_id("stMetric").all():
        expect(metric).to_be_visible()
        assert metric.evaluate(TRUNCATED) == [], f"cut off in {metric.inner_text()!r}"
        box, main = metric.bounding_box(), screen.get_by_test_id("stMain").bounding_box()
        assert box["x"] + box["width"] <= main["x"] + main["width"]
    expect(screen.locator(EXCEPTION)).to_have_count(0)
    save_screenshot(screen, "layout-1024x768")


@pytest.mark.parametrize("screen", [(1400, 1000)], indirect=True)
def test_captions_meet_wcag_aa_contrast(screen: Page, server):
    """Every caption's text has a contrast of at least 4.5:1 on its background."""
    open_app(screen, server.url + SHORT)
    wait_for_weight_grid(screen, 6, 2, 3)
    contrasts = screen.evaluate(CONTRASTS)
    assert len(contrasts) >= 3
    low = [(text, round(ratio, 2)) for text, ratio in contrasts if ratio < 4.5]
    assert not low, f"captions below 4.5:1: {low}"


@pytest.mark.parametrize("screen", [(390, 844)], indirect=True)
def test_the_main_settings_are_usable_on_a_phone_without_the_sidebar(screen: Page, server):
    """At 390 x 844 the sidebar is folded away; digits, hidden units, alpha and random_state
    are in the page, and changing one there retrains the network."""
    open_app(screen, server.url + SHORT)
    wait_for_weight_grid(screen, 6, 2, 3)
    expect(screen.get_by_test_id("stSidebar")).not_to_be_in_viewport()
    quick = screen.locator(".st-key-quick_settings")
    expect(quick).to_be_in_viewport()
    for label in ("Digits", "Hidden units", "alpha (L2 penalty)", "random_state"):
        expect(quick.get_by_test_id("stWidgetLabel").filter(has_text=label).first).to_be_visible()
    thumb = quick.get_by_test_id("stSlider").filter(has_text="Hidden units").get_by_role("slider")
    thumb.press("ArrowRight")
    expect(screen).to_have_url(re.compile(r"[?&]hidden_units=7(&|$)"))
    wait_for_weight_grid(screen, 7, 3, 3)
    seed = quick.get_by_role("spinbutton", name="random_state")
    seed.fill("5")
    seed.press("Enter")
    expect(screen).to_have_url(re.compile(r"[?&]random_state=5(&|$)"))
    wait_for_weight_grid(screen, 7, 3, 3)
    expect(screen.locator(EXCEPTION)).to_have_count(0)
    save_screenshot(screen, "layout-390x844")


@pytest.mark.parametrize("screen", [(1024, 768)], indirect=True)
def test_the_page_copy_of_the_settings_is_hidden_where_the_sidebar_shows(screen: Page, server):
    open_app(screen, server.url + SHORT)
    expect(screen.get_by_test_id("stSidebar")).to_be_in_viewport()
    expect(screen.locator(".st-key-quick_settings")).to_be_hidden()


@pytest.mark.parametrize("screen", [(390, 844)], indirect=True)
def test_on_a_phone_every_page_is_one_tap_away_and_the_sweep_shows_its_settings(
        screen: Page, server):
    """With the sidebar folded away, a page without settings (The data) lists the other pages
    in the page itself; the Sweep shows the sidebar settings it uses (digits, max_iter)."""
    screen.goto(server.url + "/Data")
    quick = screen.locator(".st-key-quick_settings")
    expect(quick).to_be_in_viewport()
    links = quick.get_by_test_id("stPageLink")
    expect(links).to_have_count(7)
    expect(screen.get_by_test_id("stSidebar")).not_to_be_in_viewport()
    quick.get_by_text("Sweep", exact=True).click()
    expect(screen).to_have_url(re.compile(r"/Sweep"))
    quick = screen.locator(".st-key-quick_settings")
    for label in ("Digits", "max_iter"):
        expect(quick.get_by_test_id("stWidgetLabel").filter(has_text=label).first).to_be_visible()
    expect(quick.get_by_test_id("stWidgetLabel").filter(has_text="Hidden units")).to_have_count(0)
    expect(screen.locator(EXCEPTION)).to_have_count(0)
    save_screenshot(screen, "phone-sweep-390x844")
