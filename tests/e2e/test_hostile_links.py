"""Links made to mislead: what they supply is shown as text, in a real browser.

A shared link's values are quoted in the page's notices. Rendered as
Markdown, they could show a bold "log in again" link or make the visitor's
browser fetch an image from another site; here they must stay plain text.
"""

from __future__ import annotations

from urllib.parse import quote, urlparse

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import EXCEPTION, open_app

pytestmark = pytest.mark.e2e

PHISHING = "**Your session expired** — [log in again](https://evil.example/login)"
TRACKER = "![](https://evil.example/p.png)"
LINKS = {
    "sidebar notices": f"/Data?solver={quote(PHISHING)}&hidden_units={quote(TRACKER)}",
    "seed notices": f"/Compare_seeds?seeds={quote(TRACKER + ',' + PHISHING)}",
}


@pytest.mark.parametrize("where", list(LINKS))
def test_a_links_markdown_is_shown_as_text_and_fetches_nothing(page, server, where):
    outside = []
    page.route(lambda url: urlparse(url).hostname == "evil.example",
               lambda route: (outside.append(route.request.url), route.abort()))
    open_app(page, server.url + LINKS[where])
    alerts = page.get_by_test_id("stAlert")
    # As typed (a zero-width space after "https" keeps the address from becoming a link).
    expect(alerts.filter(has_text="![](https").filter(has_text="://evil.example/p.png)").first
           ).to_be_visible()
    expect(alerts.filter(has_text="**Your session expired**").first).to_be_visible()
    hosts = page.eval_on_selector_all(  # the page's own links carry the query: hosts only
        "a[href], img[src]", "els => els.map(e => new URL(e.href || e.src).hostname)")
    assert "evil.example" not in hosts
    expect(page.locator("[data-testid=stAlert] strong")).to_have_count(0)
    expect(page.locator(EXCEPTION)).to_have_count(0)
    assert not outside, f"the page fetched {outside}"
