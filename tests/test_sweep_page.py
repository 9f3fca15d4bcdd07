"""The Sweep page, run headless with Streamlit's AppTest on the bundled sample of real digits."""

import time
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest
from streamlit.testing.v1 import AppTest

from core.params import TrainParams
from tests.test_pages import settle as settle_page

ROOT = Path(__file__).resolve().parents[1]
PAGE = "pages/6_Sweep.py"


@pytest.fixture(autouse=True)
def offline_sample(monkeypatch):
    monkeypatch.setenv("MLP_LENS_DATA", "sample")
    monkeypatch.delenv("MLP_LENS_DASK_SCHEDULER", raising=False)


def settle(at: AppTest, timeout: float = 240) -> AppTest:
    """Rerun until the sweep's progress bar is gone, with the page tests' own check."""
    return settle_page(at, timeout, what="the sweep")


def page(query=None) -> AppTest:
    """The Sweep page opened directly (the app's entry point is Explore)."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.query_params.update(query or {})
    return at.switch_page(PAGE).run()


def test_a_small_sweep_shows_rows_linked_to_explore_heatmaps_and_a_csv():
    """Two networks, 3 epochs: a table row each whose link opens exactly that network, the
    engine named, the heatmaps drawn, the CSV offered."""
    at = page({"max_iter": "3"})
    at.multiselect(key="sw_hidden_units").set_value([3])
    at.multiselect(key="sw_alpha").set_value([1e-4, 1.0])
    at.text_input(key="sw_random_state").set_value("2")
    at.multiselect(key="sw_scale_pixels").set_value([True])
    at.run()
    assert any(c.value.startswith("Engine: local processes") for c in at.caption)
    assert any(c.value.startswith("2 configurations") for c in at.caption)
    settle(at.button(key="sw_start").click().run())
    table = at.dataframe[0].value
    assert len(table) == 2 and set(table["alpha"]) == {1e-4, 1.0}
    assert (table["iterations"] == 3).all() and "error" not in table
    assert table["test accuracy"].between(0, 1).all()  # sweeps hold test digits out
    for link, alpha in zip(table["Explore"], table["alpha"], strict=True):
        query = dict(parse_qsl(urlsplit(link).query))
        expected = TrainParams(hidden_units=3, alpha=alpha, max_iter=3, scale_pixels=True,
                               holdout=True)
        assert TrainParams.from_query(query) == (expected, [])
    assert at.get("download_button")
    assert at.get("imgs") or at.get("image")  # the heatmaps
    assert not at.button(key="sw_start").disabled


def test_more_than_200_configurations_are_refused_before_anything_runs():
    at = page()
    at.multiselect(key="sw_hidden_units").set_value(list(range(1, 37)))
    at.text_input(key="sw_random_state").set_value("1, 2, 3, 4")
    at.run()
    assert any("at most 200" in i.value for i in at.info)
    assert at.button(key="sw_start").disabled


def test_an_unreachable_scheduler_says_so_quickly_and_offers_the_local_engine(monkeypatch):
    monkeypatch.setenv("MLP_LENS_DASK_SCHEDULER", "tcp://127.0.0.1:9")
    start = time.monotonic()
    at = page()
    assert time.monotonic() - start < 10 + 5  # the connection's bound, plus the page itself
    assert any("cannot be reached" in e.value for e in at.error)
    assert at.button(key="sw_start").disabled
    at.button(key="sw_use_local").click().run()
    assert not at.error
    assert any(c.value.startswith("Engine: local processes") for c in at.caption)
    assert not at.button(key="sw_start").disabled


def test_a_bad_seed_is_named_by_its_place_and_nothing_typed_is_shown_back():
    at = page()
    at.text_input(key="sw_random_state").set_value("2, **3**, x").run()
    messages = [i.value for i in at.info]
    assert "Seed number 2 in the list is not a whole number." in messages
    assert "Seed number 3 in the list is not a whole number." in messages
    assert not any("**" in m for m in messages)
    assert at.button(key="sw_start").disabled
