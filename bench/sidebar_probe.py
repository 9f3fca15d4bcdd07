"""Do three quick presses on Hidden units during a live training leave a page stuck?

``python -m bench.sidebar_probe --presses 20`` starts the real server on the
offline sample with an empty cache folder (so every setting trains, live),
and for each trial opens Explore in a new browser session at 1400 x 1000 on a
network nobody has trained (its own ``random_state``), waits for the live
view, focuses the sidebar's Hidden units slider and presses ArrowRight three
times within 0.1 s. It then reads the page every 0.1 s for at most 10 s, until
the URL's ``hidden_units``, the slider and the picture's caption ("N hidden
units ...") agree, and keep agreeing for a second. A page where they never do is
stuck; one that agrees on fewer than three steps lost a press, and is counted
apart. One line per trial, then the counts; exit 1 if any page got stuck.

``--copy page`` presses the page's copy (``.st-key-quick_settings``) at 390 x 844
instead; ``--url`` probes a server already running.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bench.server import CHROMIUM, CHROMIUM_ARGS, serve

START = 20  # hidden units before the presses: each trial ends on START + 3
# Every digit, 1000 epochs: a 20-unit network trains for tens of seconds on the sample,
# so the presses and the wait that follows all fall in a live training.
LINK = ("/?digits=0,1,2,3,4,5,6,7,8,9&scale_pixels=true&max_iter=1000"
        "&hidden_units={units}&random_state={seed}")
QUICK_S = 0.1  # the presses should take no longer (a busy page takes a key press late)
AGREE_WITHIN_S = 10.0
STEADY_S = 1.0  # agreeing means agreeing for this long: the live view redraws once a second
POLL_S = 0.1
LIVE_TIMEOUT_MS = 120_000
# An abandoned page's training ends 5 s after its last look (60 s by default), so the trials
# do not queue behind the trainings of the pages closed before them.
SERVER_ENV = {"MLP_LENS_UNWATCHED_SECONDS": "5"}
VIEWPORTS = {"sidebar": {"width": 1400, "height": 1000}, "page": {"width": 390, "height": 844}}
# Where each copy of the slider lives.
COPIES = {"sidebar": '[data-testid="stSidebar"]', "page": ".st-key-quick_settings"}
# URL parameter, slider value and every number N in a picture caption "N hidden units ...",
# read in one go so they are from the same moment.
READ_STATE = """(copy) => {
    const slider = [...document.querySelectorAll(copy + ' [data-testid="stSlider"]')]
        .find((el) => el.innerText.includes("Hidden units"));
    const thumb = slider && slider.querySelector('input[type="range"]');
    const captions = [...document.querySelectorAll(
            '[data-testid="stMain"] [data-testid="stImageCaption"]')]
        .map((el) => el.innerText.match(/^(\\d+) hidden units/)).filter(Boolean)
        .map((match) => Number(match[1]));
    const progress = document.querySelector('[data-testid="stProgress"]');
    return {
        url: new URLSearchParams(location.search).get("hidden_units"),
        slider: thumb ? thumb.value : null,
        captions,
        progress: progress ? progress.innerText.trim() : null,
    };
}"""


@dataclass(frozen=True)
class Trial:
    """One triple press and what the page showed after it."""

    seed: int
    press_seconds: float  # from the first press to the last
    agreed_after: float | None  # seconds from the last press until all three agreed; None: stuck
    state: dict  # the page's last reading: url, slider, captions

    @property
    def value(self) -> int | None:
        """The value all three agreed on (None while stuck)."""
        return int(self.state["slider"]) if self.agreed_after is not None else None

    def line(self) -> str:
        state = (f"url={self.state['url']} slider={self.state['slider']} "
                 f"captions={self.state['captions']} progress={self.state['progress']!r}")
        if self.agreed_after is None:
            return f"seed {self.seed}: STUCK after {AGREE_WITHIN_S:.0f} s ({state})"
        lost = "" if self.value == START + 3 else f", a press lost (ended on {self.value})"
        return (f"seed {self.seed}: agreed {self.agreed_after:.2f} s after the presses "
                f"({self.press_seconds * 1000:.0f} ms){lost}")


def agree(state: dict) -> bool:
    """URL, slider and every picture caption show the same number of hidden units."""
    if state["url"] is None or state["slider"] is None or not state["captions"]:
        return False
    values = {int(state["url"]), int(float(state["slider"])), *state["captions"]}
    return len(values) == 1


def triple_press(browser, url: str, *, seed: int, copy: str, shots: Path | None) -> Trial:
    """Open the link in a new session, wait for the live view, press three times, watch."""
    from playwright.sync_api import expect

    context = browser.new_context(viewport=VIEWPORTS[copy])
    try:
        page = context.new_page()
        page.goto(url + LINK.format(units=START, seed=seed))
        live = page.get_by_text(re.compile(rf"^{START} hidden units at epoch .*updating"))
        expect(live).to_be_visible(timeout=LIVE_TIMEOUT_MS)
        slider = page.locator(COPIES[copy]).get_by_test_id("stSlider").filter(
            has_text="Hidden units")
        slider.get_by_role("slider").focus()
        began = time.perf_counter()
        for _ in range(3):
            page.keyboard.press("ArrowRight")
        pressed = time.perf_counter()
        agreed = _watch(page, copy, pressed)
        state = page.evaluate(READ_STATE, COPIES[copy])
        if agreed is None and shots is not None:
            page.screenshot(path=str(shots / f"stuck-seed-{seed}.png"))
        return Trial(seed=seed, press_seconds=pressed - began, agreed_after=agreed, state=state)
    finally:
        context.close()


def _watch(page, copy: str, pressed: float) -> float | None:
    """Seconds from the presses until the page agreed and kept agreeing for ``STEADY_S``
    (None if that did not happen within ``AGREE_WITHIN_S``)."""
    since = None
    while time.perf_counter() - pressed < AGREE_WITHIN_S + STEADY_S:
        now = time.perf_counter() - pressed
        if not agree(page.evaluate(READ_STATE, COPIES[copy])):
            since = None
        elif since is None:
            since = now
        elif now - since >= STEADY_S:
            return since
        if since is None and now > AGREE_WITHIN_S:
            break
        time.sleep(POLL_S)
    return None


def probe(browser, url: str, *, presses: int, copy: str,
          shots: Path | None = None) -> list[Trial]:
    """``presses`` trials in ``browser`` (Playwright's), one at a time, each printed as it
    ends, against the server at ``url``."""
    trials = []
    for seed in range(100, 100 + presses):
        trials.append(triple_press(browser, url, seed=seed, copy=copy, shots=shots))
        print(trials[-1].line(), flush=True)
    return trials


def summary(trials: list[Trial]) -> str:
    stuck = [t for t in trials if t.agreed_after is None]
    times = [t.agreed_after for t in trials if t.agreed_after is not None]
    lost = [t for t in trials if t.value is not None and t.value != START + 3]
    said = f"{len(stuck)} of {len(trials)} pages stuck"
    if times:
        said += (f"; the others agreed after {statistics.median(times):.2f} s (median), "
                 f"{max(times):.2f} s at most")
    said += f"; {len(lost)} ended short of {START + 3} (a press lost)"
    quick = sum(t.press_seconds <= QUICK_S for t in trials)
    slowest = max(t.press_seconds for t in trials)
    return said + (f"; the three presses took {slowest * 1000:.0f} ms at most, and within "
                   f"{QUICK_S * 1000:.0f} ms in {quick} of {len(trials)}.")


@contextmanager
def _server(url: str | None, tmp: Path) -> Iterator[str]:
    """The address of the server at ``url``, or of a new one on the sample, stopped after."""
    if url:
        yield url.rstrip("/")
        return
    with serve(tmp, sample=True, env=SERVER_ENV) as server:
        yield server.url


def main(argv: list[str] | None = None) -> int:
    from playwright.sync_api import sync_playwright

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presses", type=int, default=20, help="triple presses (trials)")
    parser.add_argument("--copy", choices=sorted(COPIES), default="sidebar",
                        help="the slider pressed: the sidebar's, or the page's (on a phone)")
    parser.add_argument("--url", help="a server already running (default: start one)")
    parser.add_argument("--shots", type=Path, help="save a screenshot of each stuck page here")
    args = parser.parse_args(argv)
    if args.shots:
        args.shots.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="mlp-lens-probe-") as tmp, \
            _server(args.url, Path(tmp)) as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                             args=list(CHROMIUM_ARGS))
        trials = probe(browser, url, presses=args.presses, copy=args.copy, shots=args.shots)
        browser.close()
    print(summary(trials))
    return 1 if any(t.agreed_after is None for t in trials) else 0


if __name__ == "__main__":
    sys.exit(main())
