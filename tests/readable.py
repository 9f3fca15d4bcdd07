"""How large a figure's text is on the page: in CSS pixels, once its PNG is scaled to a column."""

from __future__ import annotations

import io

from matplotlib.text import Text
from PIL import Image

from core.weights import FIGURE_DPI, chart_width, figure_png

CAPTION_PX = 14  # the page's captions (0.875 rem), the smallest text a person has to read
# The widths (CSS pixels) of Explore's two columns at 1400 x 1000, 1024 x 768 (sidebar open)
# and 390 x 844, measured in Chromium; Compare's seed cards at the width ui.theme gives them
# at the least (and at most).
EXPLORE_WIDE = (532, 306, 358)
EXPLORE_NARROW = (344, 194, 358)
SEED_CARD = (260, 440)


def chart_widths(columns, narrowest_px: float) -> tuple[int, ...]:
    """How wide a chart drawn for ``narrowest_px`` is shown in each of ``columns``: the
    column's width, at most ``chart_width``."""
    return tuple(min(column, chart_width(narrowest_px)) for column in columns)


def text_sizes(fig, shown_px: float) -> list[tuple[float, str]]:
    """Each text of ``fig`` (its size in CSS pixels, and what it says) when its PNG is shown
    ``shown_px`` wide, as ``st.image`` shows it (scaled to the width it is given)."""
    png = figure_png(fig)  # draws it: tick labels exist from here on
    scale = shown_px / Image.open(io.BytesIO(png)).width
    return [(text.get_fontsize() / 72 * FIGURE_DPI * scale, text.get_text())
            for text in fig.findobj(Text) if text.get_visible() and text.get_text().strip()]


def smallest_text_px(fig, shown_px: float) -> tuple[float, str]:
    return min(text_sizes(fig, shown_px))


def assert_readable_chart(fig, columns, narrowest_px: float) -> None:
    """As large as the captions in every column, and about half again as large at most (the
    PNG is cut to what it draws, so a little larger than the chart's design)."""
    for shown in chart_widths(columns, narrowest_px):
        sizes = text_sizes(fig, shown)
        (low, small), (high, large) = min(sizes), max(sizes)
        assert low >= CAPTION_PX - 0.05, f"{small!r} is {low:.1f} px at {shown} px"
        assert high <= 22, f"{large!r} is {high:.1f} px at {shown} px"
