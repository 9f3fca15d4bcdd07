"""Explore's live training on a real Dask cluster, watched, paused and resumed in a browser.

The server is started with ``MLP_LENS_DASK_SCHEDULER`` naming test_sweep_dask's
cluster (the ``dask scheduler`` and two ``dask worker`` processes with empty
cache and data folders), so the page's training runs there. The page must show
it training on the cluster, its epochs arriving, hold it on Pause, finish it on
Resume, and cache exactly the network plain scikit-learn gives with one BLAS
thread (computed in a fresh Python, as test_pause does).
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from playwright.sync_api import Page, expect

from core.data import load_sample
from core.params import TrainParams
from core.train import is_trained, train_mlp
from tests.e2e.conftest import EXCEPTION, TRAINING_TIMEOUT_MS, VIEWPORT, serve, wait_for_weight_grid
from tests.e2e.test_pause import PROGRESS, _plain_scikit_learn, paused_epoch
from tests.test_sweep_dask import cluster  # noqa: F401 - the fixture

pytestmark = pytest.mark.e2e

# A small step, so the loss keeps falling and the fit runs every epoch (test_jobs_dask's SLOW).
ON_THE_CLUSTER = TrainParams(hidden_units=12, scale_pixels=True, learning_rate_init=1e-4,
                             max_iter=300, random_state=87)
TRAINING_THERE = re.compile(r"Training: epoch (\d+) of \d+ .*on the Dask cluster \(tcp://")


def _epochs_seen(page: Page, count: int) -> set[int]:
    """The epochs the progress bar names while it trains there, until ``count`` differ."""
    seen: set[int] = set()
    progress = page.locator(PROGRESS).filter(has_text="on the Dask cluster")
    while len(seen) < count:
        expect(progress.filter(has_text=TRAINING_THERE)).to_be_visible(
            timeout=TRAINING_TIMEOUT_MS)
        found = TRAINING_THERE.search(progress.first.inner_text())
        if found:
            seen.add(int(found.group(1)))
        if len(seen) < count:  # wait for the page to show another epoch than the last
            expect(progress.first).not_to_contain_text(
                f"epoch {found.group(1) if found else ''} of", timeout=TRAINING_TIMEOUT_MS)
    return seen


def test_a_page_trains_on_the_cluster_pauses_resumes_and_caches_the_local_network(
        browser, cluster, tmp_path, monkeypatch):  # noqa: F811 - the fixture imported above
    """Two epochs arrive from the Dask worker while the page watches; Pause holds it there
    (the epoch stays), Resume finishes it, and the cache holds, bit for bit, the network
    plain scikit-learn trains."""
    query = "&".join(f"{k}={v}" for k, v in ON_THE_CLUSTER.to_query().items())
    env = {"MLP_LENS_DASK_SCHEDULER": cluster.address}
    with serve(tmp_path, env=env) as server:
        context = browser.new_context(viewport=VIEWPORT)
        try:
            page = context.new_page()
            page.goto(f"{server.url}/?{query}")
            seen = _epochs_seen(page, 2)
            page.get_by_role("button", name="Pause").click()
            expect(page.locator(PROGRESS).filter(has_text="Paused at epoch")).to_be_visible(
                timeout=TRAINING_TIMEOUT_MS)
            expect(page.get_by_text("(held here)")).to_be_visible()
            held = paused_epoch(page)
            assert max(seen) <= held < ON_THE_CLUSTER.max_iter
            page.get_by_role("button", name="Resume").click()
            wait_for_weight_grid(page, 12, 3, 4)
            expect(page.locator(EXCEPTION)).to_have_count(0)
        finally:
            context.close()
        assert "training TrainParams" in server.stderr()
    monkeypatch.setenv("MLP_LENS_CACHE", str(server.cache))
    data = load_sample()
    assert is_trained(ON_THE_CLUSTER, data), "the resumed network was not cached"
    cached = train_mlp(ON_THE_CLUSTER, data).model
    assert cached.n_iter_ == ON_THE_CLUSTER.max_iter
    reference = _plain_scikit_learn(ON_THE_CLUSTER, tmp_path)
    for ours, theirs in zip([*cached.coefs_, *cached.intercepts_], reference, strict=True):
        np.testing.assert_array_equal(ours, theirs)
