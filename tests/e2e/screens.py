"""Screenshots of every page at the three sizes the pages are judged at, for a person to look at.

Not a test: run it against a server that is already up, then open the PNGs::

    python -m tests.e2e.screens http://localhost:8611 /tmp/screens

Each page is opened in a fresh browser context (a new session), waited on
until no training is under way, and saved twice: ``NAME-WxH.png`` is the first
screen exactly as a visitor sees it, ``NAME-WxH-full.png`` the whole page.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, RUN_COUNTER, save_full_page, wait_for_app

SIZES = ((1400, 1000), (1024, 768), (390, 844))
PAGES = (
    ("explore", "/"),
    ("compare", "/Compare_seeds"),
    ("inspect", "/Inspect_a_unit"),
    ("data", "/Data"),
    ("draw", "/Draw_a_digit"),
    ("sweep", "/Sweep"),
    ("lesson", "/Lesson"),
)
SETTLE_TIMEOUT_S = 300


def _settle(page) -> None:
    """Wait for the run to end and for any training (a progress bar) to finish."""
    wait_for_app(page)
    deadline = time.monotonic() + SETTLE_TIMEOUT_S
    while page.locator('[data-testid="stProgress"]').count() and time.monotonic() < deadline:
        time.sleep(0.5)
    wait_for_app(page)
    time.sleep(1.0)  # images and charts finish drawing after the run


def shoot(url: str, folder: Path, *, query: str = "", only: tuple[str, ...] = ()) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    saved = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                             args=list(CHROMIUM_ARGS))
        for width, height in SIZES:
            for name, path in PAGES:
                if only and name not in only:
                    continue
                context = browser.new_context(viewport={"width": width, "height": height})
                context.add_init_script(RUN_COUNTER)
                page = context.new_page()
                page.goto(url + path + (f"?{query}" if query else ""))
                _settle(page)
                first = folder / f"{name}-{width}x{height}.png"
                page.screenshot(path=str(first))
                saved += [first, save_full_page(page, folder / f"{name}-{width}x{height}-full.png")]
                context.close()
        browser.close()
    return saved


if __name__ == "__main__":
    server, out = sys.argv[1], Path(sys.argv[2])
    names = tuple(sys.argv[3].split(",")) if len(sys.argv) > 3 else ()
    for saved in shoot(server, out, only=names):
        print(saved)
