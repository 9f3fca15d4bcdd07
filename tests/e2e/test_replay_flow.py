"""Replaying a training in a real browser: the epoch slider redraws the grid; the GIF downloads."""

from __future__ import annotations

import io
import re

import pytest
from PIL import Image
from playwright.sync_api import Page, expect

from core.export import file_name
from core.params import TrainParams
from tests.e2e.conftest import GRID_CAPTION, open_app, wait_for_app, wait_for_weight_grid

pytestmark = pytest.mark.e2e

EPOCHS = 8
LINK = f"/?max_iter={EPOCHS}&scale_pixels=true&random_state=61"


def epoch_thumb(page: Page):
    slider = page.get_by_test_id("stMain").get_by_test_id("stSlider").filter(has_text="Epoch")
    return slider.get_by_role("slider")


def test_the_epoch_slider_replays_the_grid_and_the_training_downloads_as_a_gif(page, server):
    """A person drags the epoch back one step and sees the grid at that epoch (its caption
    says which), then takes the training away as an animated GIF, one frame per epoch."""
    open_app(page, server.url + LINK)
    wait_for_weight_grid(page, 6, 2, 3)
    caption = page.locator(GRID_CAPTION).filter(has_text="hidden units in a")
    expect(caption).to_contain_text(f"at the end of training (epoch {EPOCHS})")

    epoch_thumb(page).press("ArrowLeft")
    wait_for_app(page)
    expect(caption).to_contain_text(f"at epoch {EPOCHS - 1} of {EPOCHS}, replayed")
    expect(page.get_by_text(f"The training, replayed to epoch {EPOCHS - 1}")).to_be_visible()

    with page.expect_download(timeout=120_000) as download:
        page.get_by_role("button", name=re.compile("Training \\(GIF\\)")).click()
    params = TrainParams(max_iter=EPOCHS, scale_pixels=True, random_state=61)
    assert download.value.suggested_filename == file_name(params, what="training",
                                                          extension="gif")
    gif = Image.open(io.BytesIO(open(download.value.path(), "rb").read()))
    assert gif.format == "GIF" and gif.n_frames == EPOCHS
