"""The hidden layer's weights as 28x28 images, and figures in the lesson's style."""

from __future__ import annotations

import io
import math
import re
from dataclasses import dataclass
from functools import cache

import matplotlib
import numpy as np
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties, findfont
from matplotlib.patches import Rectangle
from matplotlib.textpath import TextToPath
from PIL import Image, ImageDraw, ImageFont
from sklearn.neural_network import MLPClassifier

DEAD_COLOUR = "#b03a2e"
DIVERGING, LESSON = "diverging", "lesson"
COLOURS = {DIVERGING: "RdBu_r", LESSON: "gray"}  # how weights are coloured, by name
SCALES = ("symmetric", "unit", "shared")
DIGIT_CMAP = "gray_r"  # digits everywhere: ink (255) dark on light paper (0), as the lesson says

# Text in a picture is never smaller than the page's captions (0.875 rem). A page shows each
# picture as wide as its column, so a figure is drawn for the narrowest column it is shown in
# (``shown_px`` CSS pixels): PX_PER_INCH pixels of that column make one inch of figure, and
# TEXT_PT points are CAPTION_PX pixels there, larger in any wider column.
CAPTION_PX = 14
PX_PER_INCH = 50
TEXT_PT = CAPTION_PX * 72 / PX_PER_INCH
PAD_INCHES = 0.1  # the white margin figure_png leaves around a figure
FIGURE_DPI = 110
# The narrowest a weight grid is shown: a seed's card on Compare (ui.theme.SEED_CARD_PX);
# Explore's grid column is never narrower (306 px at 1024 x 768).
GRID_SHOWN_PX = 260


@dataclass(frozen=True)
class WeightStyle:
    """How every page colours weights: one convention, the lesson's grey as the faithful option.

    ``colours``: ``"diverging"`` (blue negative, white zero, red positive) or
    ``"lesson"`` (the lesson's grey ``matshow``: black lowest, white highest).
    ``scale``: ``"symmetric"`` (each unit from -m to +m, m its largest
    |weight|, so zero is always the middle colour), ``"unit"`` (each unit
    from its own lowest to its own highest weight, as ``matshow`` does) or
    ``"shared"`` (every unit from -M to +M, M the largest |weight| of all, so
    strengths compare across units).
    """

    colours: str = DIVERGING
    scale: str = "symmetric"

    def __post_init__(self):
        if self.colours not in COLOURS or self.scale not in SCALES:
            raise ValueError(f"unknown weight style {self.colours!r}, {self.scale!r}")

    @property
    def cmap(self) -> str:
        return COLOURS[self.colours]

    def limits(self, images: np.ndarray, *, shared: float | None = None) -> np.ndarray:
        """The (low, high) of the colour scale of each image: shape (n, 2).

        ``shared`` is the largest |weight| to use for ``"shared"`` (to share one
        scale with other grids, such as other seeds'); by default these images'.
        """
        flat = images.reshape(len(images), -1)
        if self.scale == "unit":
            low, high = flat.min(axis=1), flat.max(axis=1)
        elif self.scale == "symmetric":
            high = np.abs(flat).max(axis=1)
            low = -high
        else:
            top = float(np.abs(flat).max()) if shared is None else shared
            high = np.full(len(images), top)
            low = -high
        same = high <= low  # a constant image: any scale shows it as one colour
        return np.stack([np.where(same, low - 1, low), np.where(same, high + 1, high)], axis=1)

    def legend(self) -> str:
        """The legend in words, for a caption under a weight picture."""
        scale = {"symmetric": "each unit on its own scale centred on 0",
                 "unit": "each unit from its own lowest to its own highest weight",
                 "shared": "one scale for all units"}[self.scale]
        if self.colours == DIVERGING:
            return f"red = positive weight (ink there turns the unit on), blue = negative " \
                   f"(ink there turns it off), white = 0; {scale}"
        return f"white = the highest weight, black = the lowest (the lesson's grey); {scale}"


DEFAULT_STYLE = WeightStyle()


def hidden_weight_images(model: MLPClassifier) -> np.ndarray:
    """``coefs_[0][:, i].reshape(28, 28)`` for every hidden unit i: shape (n_hidden, 28, 28)."""
    first_layer = model.coefs_[0]
    return first_layer.T.reshape(first_layer.shape[1], 28, 28)


def grid_shape(n: int) -> tuple[int, int]:
    """Rows and columns for n images: 2 x 3 for the lesson's 6, 3 x 3 for 9."""
    cols = math.ceil(math.sqrt(n))
    return math.ceil(n / cols), cols


def figure_inches(shown_px: float) -> float:
    """The width of a figure shown ``shown_px`` CSS pixels wide at its narrowest, so that its
    ``TEXT_PT`` text is ``CAPTION_PX`` pixels there (``figure_png``'s margin included)."""
    return shown_px / PX_PER_INCH - 2 * PAD_INCHES


def text_width(text: str, px: float = CAPTION_PX) -> float:
    """How wide ``text`` is, in pixels, set in the figures' font ``px`` pixels tall."""
    return _text_to_path().get_text_width_height_descent(
        text, FontProperties(size=px), ismath=False)[0]


@cache
def _text_to_path() -> TextToPath:
    return TextToPath()


def wrap_words(text: str, width: float, px: float = CAPTION_PX) -> list[str]:
    """``text`` in lines no wider than ``width`` pixels where it can be (a word wider than
    that gets a line of its own), breaking at spaces and keeping the spaces within a line."""
    lines: list[str] = []
    for paragraph in text.split("\n"):
        words = re.split(r"(\s+)", paragraph.strip())
        line = words[0]
        for space, word in zip(words[1::2], words[2::2], strict=True):
            if text_width(line + space + word, px) <= width:
                line += space + word
            else:
                lines.append(line)
                line = word
        lines.append(line)
    return lines


@dataclass(frozen=True)
class GridLayout:
    """Where each piece of a weight grid goes, in CSS pixels of the picture shown at its
    narrowest (``width`` wide, ``figure_png``'s white margin included).

    The titles are ``text`` pixels tall, ``CAPTION_PX`` unless one word cannot fit above its
    unit (Compare's "r=0.81" above each of 36 units); every unit has room for ``lines`` of
    title, so a unit that dies, or a network that finishes, moves nothing.
    """

    rows: int
    cols: int
    width: float
    tile: float  # each unit's square picture
    gap: float  # between two units side by side
    text: float
    lines: int  # title lines above each unit
    dead: str = " (dead)"  # what a dead unit's title ends with (" dead" where that cannot fit)
    heading: tuple[str, ...] = ()  # the lines above the grid (an exported file's settings)

    @property
    def margin(self) -> float:
        return PAD_INCHES * PX_PER_INCH

    @property
    def line(self) -> float:
        return 1.2 * self.text  # matplotlib's line spacing

    @property
    def band(self) -> float:
        """The title band above each row of units."""
        return self.lines * self.line + 0.25 * self.text

    @property
    def heading_text(self) -> float:
        """The heading's text size: smaller than the titles (it is read in the file)."""
        return HEADING_SHARE * self.text

    @property
    def top(self) -> float:
        """Where the first title band starts: under the margin and the heading."""
        if not self.heading:
            return self.margin
        return self.margin + 1.2 * self.heading_text * len(self.heading) + self.gap

    @property
    def height(self) -> float:
        return self.top + self.rows * (self.band + self.tile) + (self.rows - 1) * self.gap / 2 \
            + self.margin

    @property
    def room(self) -> float:
        """How wide a line of title may be: its unit's width and most of the gaps beside."""
        return self.tile + 2 * _REACH * self.gap

    def tile_at(self, i: int) -> tuple[float, float]:
        """The left and top of unit ``i``'s picture."""
        row, col = divmod(i, self.cols)
        left = self.margin + _REACH * self.gap + col * (self.tile + self.gap)
        return left, self.top + row * (self.band + self.tile + self.gap / 2) + self.band

    def title_lines(self, title: str) -> list[str]:
        """A title in lines that fit above its picture."""
        return wrap_words(title, self.room, self.text)


HEADING_SHARE = 0.65
_GAP_SHARE = 0.15  # the gap between two units, as a share of a unit's width
_REACH = 0.4  # how far into the gap beside it a title may reach, as a share of the gap


def grid_layout(titles, *, shown_px: float = GRID_SHOWN_PX, heading: str | None = None,
                units: bool = True) -> GridLayout:
    """The layout of a grid of ``len(titles)`` pictures, shown ``shown_px`` wide at its
    narrowest. With ``units`` each has room for its title and the word "(dead)", whether
    the unit is dead or not.
    """
    rows, cols = grid_shape(len(titles))
    inner = shown_px - 2 * PAD_INCHES * PX_PER_INCH
    # The units and the gaps between them; the titles at either end may reach as far out.
    tile = inner / (cols + _GAP_SHARE * (cols - 1 + 2 * _REACH))
    room = tile * (1 + 2 * _REACH * _GAP_SHARE)
    dead = "" if not units else " (dead)" if text_width("(dead)") <= room else " dead"
    widest = max(text_width(word) for title in titles for word in (title + dead).split())
    text = min(CAPTION_PX, CAPTION_PX * room / widest)
    lines = max(len(wrap_words(title + dead, room, text)) for title in titles)
    wrapped = tuple(wrap_words(heading, inner, HEADING_SHARE * text)) if heading else ()
    return GridLayout(rows=rows, cols=cols, width=shown_px, tile=tile, gap=_GAP_SHARE * tile,
                      text=text, lines=lines, dead=dead, heading=wrapped)


def weight_grid_figure(images: np.ndarray, *, style: WeightStyle = DEFAULT_STYLE, dead_units=(),
                       titles=None, shared: float | None = None, title: str | None = None,
                       shown_px: float = GRID_SHOWN_PX) -> Figure:
    """The lesson's picture: one ``matshow`` per unit, titled 1..n, no ticks, in ``style``.

    Dead units are marked "dead" in red; ``titles`` replaces the numbers;
    ``shared`` is the largest |weight| of a scale shared with other grids;
    ``title`` is a line above the grid (the settings, on an exported file).
    Laid out by ``grid_layout`` for a column ``shown_px`` wide at its narrowest, as
    ``weight_grid_image`` draws it.
    """
    titles = list(titles or [str(i + 1) for i in range(len(images))])
    layout = grid_layout(titles, shown_px=shown_px, heading=title)
    titles = [t + (layout.dead if i in dead_units else "") for i, t in enumerate(titles)]
    colours = [DEAD_COLOUR if i in dead_units else "black" for i in range(len(images))]
    return titled_grid_figure(images, layout, titles, colours=colours, cmap=style.cmap,
                              limits=style.limits(images, shared=shared))


def titled_grid_figure(images: np.ndarray, layout: GridLayout, titles, *, colours, cmap: str,
                       limits: np.ndarray) -> Figure:
    """Each image (``matshow``, from ``limits[i, 0]`` to ``limits[i, 1]`` of ``cmap``, no ticks)
    where ``layout`` puts it, under its title in its colour; the layout's heading on top."""
    margin = layout.margin
    width, height = layout.width - 2 * margin, layout.height - 2 * margin
    fig = Figure(figsize=(width / PX_PER_INCH, height / PX_PER_INCH))
    # The figure's whole box is in the saved picture (its margin around it), whatever the text
    # reaches: the picture's size and the live view's drawing of this layout agree.
    fig.add_artist(Rectangle((0, 0), 1, 1, transform=fig.transFigure, fill=False, linewidth=0))
    points = layout.text * 72 / PX_PER_INCH
    for i, image in enumerate(images):
        left, top = layout.tile_at(i)
        ax = fig.add_axes(((left - margin) / width, 1 - (top - margin + layout.tile) / height,
                           layout.tile / width, layout.tile / height))
        ax.matshow(image, cmap=cmap, vmin=limits[i, 0], vmax=limits[i, 1])
        ax.set_xticks(())
        ax.set_yticks(())
        for baseline, line in _title_baselines(layout, i, titles[i]):
            fig.text((left - margin + layout.tile / 2) / width, 1 - (baseline - margin) / height,
                     line, ha="center", va="baseline", fontsize=points, color=colours[i])
    if layout.heading:
        fig.suptitle("\n".join(layout.heading), y=1, va="top", linespacing=1.2,
                     fontsize=layout.heading_text * 72 / PX_PER_INCH)
    return fig


def _title_baselines(layout: GridLayout, i: int, title: str) -> list[tuple[float, str]]:
    """Picture ``i``'s title lines and where each sits (its baseline), the last just above it."""
    _, top = layout.tile_at(i)
    lines = layout.title_lines(title)
    last = top - 0.25 * layout.text - 0.2 * layout.text  # clear of the picture, descenders too
    return [(last - (len(lines) - 1 - n) * layout.line, line) for n, line in enumerate(lines)]


def weight_grid_image(images: np.ndarray, *, style: WeightStyle = DEFAULT_STYLE,
                      dead_units=(), shown_px: float = GRID_SHOWN_PX,
                      dpi: int = FIGURE_DPI) -> np.ndarray:
    """``weight_grid_figure``'s picture without matplotlib, as RGB uint8 pixels: the same
    layout, size and titles as ``figure_png`` gives it, drawn in milliseconds (for views that
    redraw often, such as a network still learning), so the finished grid takes its place
    without moving anything."""
    titles = [str(i + 1) for i in range(len(images))]
    layout = grid_layout(titles, shown_px=shown_px)
    scale = dpi / PX_PER_INCH
    size = (int(layout.width * scale), int(layout.height * scale))  # as matplotlib cuts it
    canvas = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(canvas)
    font = _font(round(layout.text * scale))
    side = round(layout.tile * scale)
    for i, picture in enumerate(coloured(images, style=style)):
        left, top = (round(v * scale) for v in layout.tile_at(i))
        canvas.paste(Image.fromarray(picture).resize((side, side), Image.Resampling.NEAREST),
                     (left, top))
        draw.rectangle((left, top, left + side, top + side), outline="black")  # the frame
        dead = i in dead_units
        title = titles[i] + (layout.dead if dead else "")
        for baseline, line in _title_baselines(layout, i, title):
            draw.text((left + side / 2, baseline * scale), line, font=font, anchor="ms",
                      fill=DEAD_COLOUR if dead else "black")
    return np.asarray(canvas)


@cache
def _font(px: int) -> ImageFont.FreeTypeFont:
    """The figures' font (matplotlib's DejaVu Sans), ``px`` pixels tall."""
    return ImageFont.truetype(findfont(FontProperties()), px)


def coloured(images: np.ndarray, *, style: WeightStyle = DEFAULT_STYLE,
             shared: float | None = None) -> np.ndarray:
    """Each image through the style's colour map and scale: (n, h, w, 3) uint8 RGB."""
    limits = style.limits(images, shared=shared)
    low, high = limits[:, 0, None, None], limits[:, 1, None, None]
    unit = np.clip((images - low) / (high - low), 0.0, 1.0)
    rgba = matplotlib.colormaps[style.cmap](unit, bytes=True)
    return rgba[..., :3]


def weight_grid_mosaic(images: np.ndarray, *, style: WeightStyle = DEFAULT_STYLE, zoom: int = 4,
                       gap: int = 2) -> np.ndarray:
    """The weight grid as one RGB uint8 image, coloured as ``weight_grid_figure`` colours it.

    A fast stand-in for ``weight_grid_figure`` (no matplotlib figure), for views
    that redraw often, such as a network that is still learning.
    """
    rows, cols = grid_shape(len(images))
    pictures = coloured(images, style=style)
    cell = 28 * zoom + gap
    mosaic = np.full((rows * cell + gap, cols * cell + gap, 3), 255, dtype=np.uint8)
    for i, picture in enumerate(pictures):
        top, left = gap + (i // cols) * cell, gap + (i % cols) * cell
        mosaic[top:top + 28 * zoom, left:left + 28 * zoom] = picture.repeat(zoom, 0).repeat(zoom, 1)
    return mosaic


def digit_mosaic(images: np.ndarray, *, zoom: int = 3, gap: int = 2) -> np.ndarray:
    """Digits (0-255) side by side in a square-ish grid, ink dark on light as on every page."""
    rows, cols = grid_shape(len(images))
    cell = 28 * zoom + gap
    mosaic = np.full((rows * cell + gap, cols * cell + gap), 200, dtype=np.uint8)
    for i, image in enumerate(np.asarray(images, dtype=np.float64)):
        top, left = gap + (i // cols) * cell, gap + (i % cols) * cell
        paper = (255 - np.clip(image, 0, 255)).astype(np.uint8)
        mosaic[top:top + 28 * zoom, left:left + 28 * zoom] = paper.repeat(zoom, 0).repeat(zoom, 1)
    return mosaic


def legend_strip(style: WeightStyle = DEFAULT_STYLE, *, width: int = 160, height: int = 10
                 ) -> np.ndarray:
    """A small colour bar for the legend: lowest (left) to highest (right), RGB uint8."""
    ramp = np.linspace(0.0, 1.0, width)
    row = matplotlib.colormaps[style.cmap](ramp, bytes=True)[:, :3]
    return np.repeat(row[None], height, axis=0)


# Explore's two columns (3 : 2) at their narrowest, 306 and 194 px at 1024 x 768 with the
# sidebar open; on a phone each has the whole width, 358 px.
WIDE_COLUMN_PX, NARROW_COLUMN_PX = 300, 190
# A chart is shown at most this many times as wide as the column it is drawn for, so that its
# text stays between 14 and 21 px; a wider column leaves room beside it. (Not the weight grid:
# the page's main picture takes its whole column.)
CHART_GROWTH = 1.5


def chart_width(narrowest_px: float) -> int:
    """How wide (CSS pixels, at most) to show a chart drawn for a column ``narrowest_px``
    wide; the page shows it narrower in a narrower column."""
    return round(CHART_GROWTH * narrowest_px)


def vote_columns(digits) -> list[str]:
    """The columns of ``coefs_[1]``, named. With two digits scikit-learn uses one logistic
    output, so the single column votes for the second digit (positive) or the first."""
    if len(digits) == 2:
        return [f"{digits[1]} (+) vs {digits[0]} (−)"]
    return [str(d) for d in digits]


def output_weights_figure(model: MLPClassifier, digits, *, shown_px: float = NARROW_COLUMN_PX
                          ) -> Figure:
    """``coefs_[1]`` as a unit x digit heatmap: red votes for a digit, blue against.

    Drawn for a column ``shown_px`` wide, its text as large as the page's captions there.
    Each cell shows its weight where every number fits (``cells_fit``); up to 18 units every
    row is numbered, beyond that units 1, 5, 10, ...
    """
    weights = model.coefs_[1]
    columns = vote_columns(digits)
    n_hidden = weights.shape[0]
    every_row = n_hidden <= _NUMBERED_ROWS
    rows_px = n_hidden * (_ROW_PX if every_row else _THIN_ROW_PX)
    fig = Figure(figsize=(figure_inches(shown_px), (rows_px + 6 * CAPTION_PX) / PX_PER_INCH),
                 layout="constrained")
    fig.get_layout_engine().set(w_pad=0.02, h_pad=0.02)
    ax, bar_ax = fig.subplots(2, 1, height_ratios=(rows_px, 0.6 * CAPTION_PX))
    limit = float(np.abs(weights).max()) or 1.0
    shown = ax.imshow(weights, cmap="RdBu_r", vmin=-limit, vmax=limit, aspect="auto")
    ax.set_xticks(range(len(columns)), columns)
    ticks = range(n_hidden) if every_row else [0, *range(4, n_hidden, 5)]
    ax.set_yticks(ticks, [str(i + 1) for i in ticks])
    ax.set_yticks(range(n_hidden), minor=True)
    ax.tick_params(labelsize=TEXT_PT, top=True, bottom=False, labeltop=True, labelbottom=False)
    ax.set_xlabel("output: digit", fontsize=TEXT_PT)
    ax.set_ylabel("hidden unit", fontsize=TEXT_PT)
    ax.xaxis.set_label_position("top")
    bar = fig.colorbar(shown, cax=bar_ax, orientation="horizontal")
    bar.set_ticks([-limit, 0, limit], labels=[f"−{limit:.2g}", "0", f"+{limit:.2g}"])
    bar.ax.tick_params(labelsize=TEXT_PT)
    fig.draw_without_rendering()  # lay it out, to know how wide a cell is
    numbers = [_vote(value) for value in np.ravel(weights)]
    if every_row and cells_fit(numbers, cell_px(ax, len(columns), shown_px)):
        for (row, col), value in np.ndenumerate(weights):
            ax.text(col, row, _vote(value), ha="center", va="center", fontsize=TEXT_PT,
                    color="white" if abs(value) > 0.6 * limit else "black")
    return fig


_NUMBERED_ROWS = 18
_ROW_PX, _THIN_ROW_PX = 1.25 * CAPTION_PX, 9  # a row with a number, and one without


def _vote(value: float) -> str:
    return f"{value:.1f}".replace("-", "−")


def cell_px(ax, n_columns: int, shown_px: float) -> float:
    """How wide one of ``n_columns`` cells of a laid out heatmap is, in CSS pixels, where its
    figure is shown ``shown_px`` wide (call ``Figure.draw_without_rendering`` first)."""
    fig = ax.get_figure()
    return ax.get_window_extent().width / n_columns / fig.dpi / (
        fig.get_figwidth() + 2 * PAD_INCHES) * shown_px


def cells_fit(labels, width: float) -> bool:
    """Whether every label, as large as a caption, fits in a cell ``width`` pixels wide (else
    the page lists the numbers beside the picture)."""
    return max(text_width(label) for label in labels) + 4 <= width


def array_png(rgb: np.ndarray) -> bytes:
    """An RGB (or grey) uint8 array as PNG bytes, made fast: pictures of flat pixel blocks
    compress well at the lowest level, and a page that shows them again sends the same bytes."""
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="png", compress_level=1)
    return buffer.getvalue()


def figure_png(fig: Figure, *, dpi: int = FIGURE_DPI) -> bytes:
    """The figure as PNG bytes, cut to what it draws with a margin of ``PAD_INCHES``."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight", pad_inches=PAD_INCHES)
    return buffer.getvalue()
