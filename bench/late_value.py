"""Count the ``on_change`` calls of a widget nobody touched, in ``bench/late_value_app.py``.

``python -m bench.late_value --trials 20`` starts the minimal app (Streamlit alone,
no MLP Lens code) and, in a new Chromium session per trial, presses slider A three
times within 0.1 s, waits for the app to settle and reads the line listing B's
``on_change`` calls. Every call it lists is Streamlit taking a late value of a
widget it no longer draws for a change.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from bench.server import CHROMIUM, CHROMIUM_ARGS, serve

APP = "bench/late_value_app.py"
SETTLE_S = 2.0  # the app's runs take milliseconds: all three presses are taken by then
CHANGES = "on_change of B:"


def trial(browser, url: str) -> str:
    """Three quick presses on A in a new session; what the page says of B's ``on_change``."""
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 800, "height": 600})
    try:
        page = context.new_page()
        page.goto(url)
        expect(page.get_by_text(f"{CHANGES} none")).to_be_visible(timeout=30_000)
        page.get_by_role("slider", name="A").focus()
        for _ in range(3):
            page.keyboard.press("ArrowRight")
        time.sleep(SETTLE_S)
        return page.get_by_text(CHANGES).inner_text()
    finally:
        context.close()


def main(argv: list[str] | None = None) -> int:
    from playwright.sync_api import sync_playwright

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=20)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="mlp-lens-late-value-") as tmp, \
            serve(Path(tmp), script=APP) as server, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                             args=list(CHROMIUM_ARGS))
        said = [trial(browser, server.url) for _ in range(args.trials)]
        browser.close()
    for number, line in enumerate(said, 1):
        print(f"trial {number}: {line}")
    touched = sum(not line.endswith("none") for line in said)
    print(f"B's on_change ran in {touched} of {len(said)} trials, though nobody touched B.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
