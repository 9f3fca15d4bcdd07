"""Three quick presses on Hidden units during a live training leave no page stuck (issue 20).

Twenty trials of ``bench.sidebar_probe`` on each copy of the slider, the sidebar's at
1400 x 1000 and the page's at 390 x 844: about two minutes each, so a load run
(`make load`, not part of `make test`).
"""

from __future__ import annotations

import pytest

from bench.sidebar_probe import SERVER_ENV, START, probe
from tests.e2e.conftest import running_server

pytestmark = [pytest.mark.e2e, pytest.mark.load]

TRIALS = 20


@pytest.mark.parametrize("copy", ["sidebar", "page"])
def test_three_quick_presses_leave_url_slider_and_picture_agreeing(browser, tmp_path, copy):
    """On every page the URL, the slider and the picture's caption come to agree, and stay
    agreeing, on all three steps within 10 s: no press is lost, no setting jumps back."""
    with running_server(tmp_path, env=SERVER_ENV) as server:
        trials = probe(browser, server.url, presses=TRIALS, copy=copy)
    assert [t.line() for t in trials if t.value != START + 3] == []
