"""How large a figure's text is on the page: in CSS pixels, once its PNG is scaled to a column."""

from __future__ import annotations

import io

from matplotlib.text import Text
from PIL import Image

from core.weights import FIGURE_DPI, figure_png

CAPTION_PX = 14  # the page's captions (0.875 rem), the smallest text a person has to read
# The widths (CSS pixels) each column shows a picture at, at 1400 x 1000, 1024 x 768 (sidebar
# open) and 390 x 844, measured in Chromium; Compare's seed cards at the width ui.theme gives
# them at the least (and at most).
EXPLORE_WIDE = (532, 306, 358)
EXPLORE_NARROW = (344, 194, 358)
SEED_CARD = (260, 440)


def smallest_text_px(fig, shown_px: float) -> tuple[float, str]:
    """The smallest text of ``fig`` (and what it says), in CSS pixels, when its PNG is shown
    ``shown_px`` wide as ``st.image`` shows it (scaled to the column's width)."""
    png = figure_png(fig)  # draws it: tick labels exist from here on
    scale = shown_px / Image.open(io.BytesIO(png)).width
    sizes = [(text.get_fontsize() / 72 * FIGURE_DPI * scale, text.get_text())
             for text in fig.findobj(Text) if text.get_visible() and text.get_text().strip()]
    return min(sizes)
