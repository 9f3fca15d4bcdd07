""""Why 7?": each hidden unit's share of the answer's score, and the pixels that pushed it.

Shown under the answer on Draw a digit, and for a confident mistake picked on Explore
(cached there by the network, the mistake and the colours: the page reruns often).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import streamlit as st

from core.data import MnistData
from core.evaluation import Mistakes
from core.explain import explain, pixel_picture, sentences, why_figure
from core.params import TrainParams
from core.train import TrainResult, model_inputs
from core.weights import (
    WIDE_COLUMN_PX,
    WeightStyle,
    array_png,
    chart_width,
    figure_png,
    hidden_weight_images,
)
from ui import colours, kept, text
from ui.sidebar import show_link

PICTURE_PX = 224  # the digit with its pixels' pushes: 8 screen pixels per MNIST pixel
MISTAKE_KEY = "explore_why"  # the mistake picked on Explore (its place in the list), or None
MISTAKE_PARAM = "why"  # ...in the URL, counted from 1 as the list is


@dataclass(frozen=True)
class Drawn:
    """What the section shows, made once: the title, the two pictures and the words."""

    title: str
    bars: bytes
    pixels: bytes
    digit: int
    other: int
    lines: tuple[str, ...]


def draw(model, x: np.ndarray, *, style: WeightStyle, true_digit: int | None = None) -> Drawn:
    """The explanation of the network's answer for input ``x`` (as the network sees it),
    compared with ``true_digit`` when the answer is a mistake, else with the runner-up."""
    e = explain(model, x, runner_up=true_digit)
    compared = "runner-up" if true_digit is None else "true digit"
    fig = why_figure(e, hidden_weight_images(model), style=style, compared=compared)
    title = f"Why {e.digit}?" if true_digit is None else f"Why {e.digit} and not {e.other}?"
    return Drawn(title=title, bars=figure_png(fig), pixels=array_png(pixel_picture(e, zoom=8)),
                 digit=e.digit, other=e.other, lines=tuple(sentences(e)))


def section(drawn: Drawn, style: WeightStyle) -> None:
    """The bars beside the units' pictures; the digit with its pixels' pushes, and the words."""
    st.subheader(drawn.title)
    bars, words = st.columns([3, 2], gap="large")
    with bars, st.container(width=chart_width(WIDE_COLUMN_PX)):
        st.image(drawn.bars, caption=f"Each unit's activation × its vote for {drawn.digit} "
                 f"(dark) and for {drawn.other} (orange), the strongest units one by one; with "
                 "the others and the bias they add up to each digit's score.")
        colours.legend(style)
    with words:
        st.image(drawn.pixels, width=PICTURE_PX, output_format="PNG",
                 caption=f"Red pixels pushed towards {drawn.digit}, blue towards "
                         f"{drawn.other}; the deeper, the stronger.")
        st.markdown("\n".join(f"- {text.plain(line)}" for line in drawn.lines))


def drawing(result: TrainResult, digit: np.ndarray) -> None:
    """"Why <digit>?" for a drawn digit (0-255 pixels), compared with the runner-up."""
    x = model_inputs(digit.reshape(1, -1), scale_pixels=result.params.scale_pixels)[0]
    style = colours.weight_style()
    section(draw(result.model, x, style=style), style)


def mistake(result: TrainResult, data: MnistData, mistakes: Mistakes) -> None:
    """A choice of the listed mistakes (kept in the URL), and why the network made it."""
    picked = _picked(mistakes)
    if picked is None:
        return
    style = colours.weight_style()
    if result.stopped:  # a stopped network is not cached: it is not the finished one
        drawn = _draw_mistake(result, data, int(mistakes.rows[picked]), style)
    else:
        drawn = _cached_mistake(result.params, data.fingerprint, int(mistakes.rows[picked]),
                                style, result, data)
    section(drawn, style)


def _picked(mistakes: Mistakes) -> int | None:
    """The mistake the visitor (or the link) picked, by its place in the list."""
    n = len(mistakes.rows)
    if MISTAKE_KEY not in st.session_state:  # this session's first: the link's
        kept.put(MISTAKE_KEY, _from_link(st.query_params.get(MISTAKE_PARAM), n))
    if kept.value(MISTAKE_KEY, None) not in (None, *range(n)):  # another network's list
        kept.put(MISTAKE_KEY, None)  # (Reset, too, explains none)
    captions = mistakes.captions()
    picked = st.selectbox("Why did it make this mistake?", range(n),
                          st.session_state[MISTAKE_KEY], **kept.widget(MISTAKE_KEY),
                          format_func=lambda i: f"{i + 1}. {captions[i]}",
                          placeholder="Pick one of its mistakes", width=300,
                          help="Each hidden unit's share of its wrong answer's score and of the "
                               "true digit's, and the pixels that pushed it.")
    if picked is None:
        st.query_params.pop(MISTAKE_PARAM, None)
    else:
        st.query_params[MISTAKE_PARAM] = str(picked + 1)
    show_link()  # the link carries the mistake too
    return picked


def _from_link(asked: str | None, n: int) -> int | None:
    """The link's mistake (counted from 1), or None, saying so when the link's is not one."""
    if asked is None:
        return None
    if asked.isdigit() and 1 <= int(asked) <= n:
        return int(asked) - 1
    text.notices([f"The link asks to explain mistake {asked[:40]!r}; this network lists "
                  f"mistakes 1 to {n}: pick one below."], icon=":material/link_off:")
    return None


@st.cache_data(show_spinner="Working out why…", max_entries=64)
def _cached_mistake(params: TrainParams, fingerprint: str, row: int, style: WeightStyle,
                    _result: TrainResult, _data: MnistData) -> Drawn:
    return _draw_mistake(_result, _data, row, style)


def _draw_mistake(result: TrainResult, data: MnistData, row: int, style: WeightStyle) -> Drawn:
    X, y = data.subset(result.params.digits, "test")
    x = model_inputs(X[row:row + 1], scale_pixels=result.params.scale_pixels)[0]
    return draw(result.model, x, style=style, true_digit=int(y[row]))
