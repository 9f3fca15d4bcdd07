"""Every page at the three sizes it is judged at: no button, tab, metric or table header cut off.

One server, one browser window: Explore trains a small network first (five epochs), then
each page is opened at 1400 x 1000, waited on until it shows its last section with nothing
training, and measured there, then at 1024 x 768 and 390 x 844 (the window narrowed). The
tests then say, page by page, what was cut off and where. (``st.dataframe`` draws its headers
on a canvas, out of reach here; ``st.table`` headers are measured.)
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import EXCEPTION, RUN_COUNTER, TRAINING_TIMEOUT_MS
from ui.theme import NARROW_PX

pytestmark = pytest.mark.e2e

SIZES = ((1400, 1000), (1024, 768), (390, 844))
# Every page shows the same small network, trained once, measured on held-out digits (more
# metrics: the test accuracy and its gap, the seeds' spread on Compare).
QUERY = "?max_iter=5&holdout=true"
# Each page, and what it shows once it has drawn everything.
PAGES = {
    "Explore": ("/", "Export"),
    "Compare": ("/Compare_seeds", "Stability"),
    "Inspect": ("/Inspect_a_unit", "All units at a glance"),
    "Data": ("/Data", "Pixel values"),
    "Draw": ("/Draw_a_digit", "Your drawing"),
    "Sweep": ("/Sweep", "Sweep: which settings keep units alive?"),
    "Lesson": ("/Lesson", "3 · Train one hidden layer of six units"),
}
CHECKED = ", ".join(f'[data-testid="stMain"] {selector}' for selector in (
    "button", '[role="tab"]', '[data-testid="stMetricLabel"]', '[data-testid="stMetricValue"]',
    '[data-testid="stMetricDelta"]', "th", '[role="columnheader"]'))

# How many elements were checked, and each whose text does not fit: the element (or a node
# within it that holds its text) is narrower than its text, perhaps ending it with an ellipsis.
CUT_OFF = """(selector) => {
    const shown = (el) => el.getClientRects().length > 0 && el.getBoundingClientRect().width > 0
        && getComputedStyle(el).visibility !== 'hidden';
    const holders = (el) => {
        const found = new Set();
        const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
        while (walker.nextNode()) {
            let node = walker.currentNode.parentElement;
            if (!walker.currentNode.textContent.trim()
                || node.closest('[data-testid="stIconMaterial"]')) continue;
            while (node !== el && getComputedStyle(node).display === 'inline') {
                node = node.parentElement;
            }
            found.add(node);
        }
        return [...found];
    };
    const cut = [];
    let checked = 0;
    for (const el of document.querySelectorAll(selector)) {
        if (!shown(el) || el.closest('[aria-hidden="true"]')) continue;
        checked += 1;
        for (const node of holders(el)) {
            const style = getComputedStyle(node);
            const wider = node.scrollWidth > node.clientWidth + 1;
            const ellipsis = wider && style.textOverflow === 'ellipsis'
                && style.overflowX !== 'visible';
            if (wider) {
                cut.push(`${JSON.stringify(node.innerText.trim().slice(0, 50))} (`
                         + `${node.scrollWidth} px of text in ${node.clientWidth} px`
                         + `${ellipsis ? ', with an ellipsis' : ''})`);
            }
        }
    }
    return {checked, cut};
}"""

SETTLED = """() => {
    const app = document.querySelector('[data-testid="stApp"]');
    return app && app.getAttribute('data-test-script-state') === 'notRunning'
        && !document.querySelector('[data-testid="stProgress"], [data-testid="stSkeleton"]')
        && [...document.images].every((image) => image.complete);
}"""


def _settle(page: Page, marker: str) -> None:
    """Wait until the page shows ``marker``, trains nothing and has drawn its pictures."""
    shown = page.get_by_text(marker, exact=True).first
    expect(shown.or_(page.locator(EXCEPTION).first)).to_be_visible(timeout=TRAINING_TIMEOUT_MS)
    page.wait_for_function(SETTLED, timeout=TRAINING_TIMEOUT_MS)
    page.evaluate("() => document.fonts.ready")  # icons are words until their font is in


# The window has its new size: Streamlit folds the sidebar away below 768 px and brings it
# back above, and the layout has been redrawn since.
RESIZED = """(narrow) => new Promise((done) => {
    const sidebar = document.querySelector('[data-testid="stSidebar"]');
    const folded = !sidebar || sidebar.getBoundingClientRect().width === 0;
    if (folded !== (window.innerWidth < narrow)) { done(false); return; }
    requestAnimationFrame(() => requestAnimationFrame(() => done(true)));
})"""


@pytest.fixture(scope="module")
def measured(browser, server) -> dict[str, dict[str, dict]]:
    """What each page cuts off at each size, measured in one window: each page is opened
    once, wide, and the window then narrowed (the page lays itself out again without a run)."""
    context = browser.new_context()
    context.add_init_script(RUN_COUNTER)
    page = context.new_page()
    found: dict[str, dict[str, dict]] = {name: {} for name in PAGES}
    try:
        for name, (path, marker) in PAGES.items():
            for n, (width, height) in enumerate(SIZES):
                page.set_viewport_size({"width": width, "height": height})
                if n == 0:
                    page.goto(server.url + path + QUERY)
                    _settle(page, marker)
                    assert page.locator(EXCEPTION).count() == 0, f"{name} shows an error"
                page.wait_for_function(RESIZED, arg=NARROW_PX)
                found[name][f"{width}x{height}"] = page.evaluate(CUT_OFF, CHECKED)
    finally:
        context.close()
    return found


def _assert_whole(measured, name: str) -> None:
    cut = {size: found["cut"] for size, found in measured[name].items() if found["cut"]}
    assert not cut, f"{name} cuts off: {cut}"


def test_explore_cuts_nothing_off(measured):
    """Explore's downloads read 'Weigh…', 'Weigh…', 'Traini…' on a tablet; every button,
    metric and header is whole at every size."""
    _assert_whole(measured, "Explore")
    # Its five downloads, its buttons and its metrics were all there to measure.
    assert all(found["checked"] >= 15 for found in measured["Explore"].values())


@pytest.mark.parametrize("name", [name for name in PAGES if name != "Explore"])
def test_the_other_pages_cut_nothing_off(measured, name):
    _assert_whole(measured, name)
