"""The Draw a digit page's pieces: the canvas, what the network sees, its answer, its units."""

from __future__ import annotations

import numpy as np
import streamlit as st

from core.charts import bar_spec
from core.draw import (
    ROWS_PER_BLOCK,
    activations_figure,
    digit_probabilities,
    drawing_activations,
    ink_from_paper,
    mnist_style,
)
from core.train import TrainResult
from core.weights import figure_png, hidden_weight_images
from ui import colours, keys, render

CANVAS_KEY = "draw_canvas"
CANVAS_PX = 280  # ten screen pixels per MNIST pixel
COLUMN_PX = CANVAS_PX + 16  # a column that holds the canvas whole, never clipped
STROKE_PX = 24  # a digit drawn across the box gets MNIST's 2-3 px strokes


def hint(digits: tuple[int, ...]) -> str:
    """What to draw: the digits this network knows."""
    return f"Draw a {render.join_words(digits, 'or')} in the box, with the mouse or a finger."


def drawing_row(result: TrainResult) -> np.ndarray | None:
    """The canvas with the answer (or what to draw) beside it, then what the network sees;
    the drawing as an MNIST digit, None while the box is blank.

    The answer takes the room the canvas leaves: beside it on a tablet (about 250 px), right
    under it on a phone, so it shows, without scrolling, where the pen lifts.
    """
    digits = result.params.digits
    row = st.container(horizontal=True, gap="small", key="draw_row")
    with row.container(width=COLUMN_PX):
        digit = digit_from(canvas())
    with row.container(key="draw_answer"):
        if digit is None:
            st.subheader("Its answer")
            st.info(hint(digits), icon=":material/draw:")
        else:
            answer(result, digit)
        st.caption(f"This network knows {render.join_words(digits)}: whatever you draw, it "
                   "answers with one of them.")
    if digit is not None:
        with row.container(width=COLUMN_PX):
            processed(digit)
    return digit


def canvas() -> np.ndarray | None:
    """The drawing box; its picture as an RGBA array, or None before anything is drawn."""
    # A components-v2 component registers itself on import, which needs a running app.
    from streamlit_drawable_canvas import st_canvas

    st.subheader("Your drawing")
    st.space("small")  # the canvas's toolbar floats above it, over the heading's margin
    cleared = st.session_state.get(keys.DRAWING_CLEARED, 0)
    drawn = st_canvas(stroke_width=STROKE_PX, stroke_color="#000", background_color="#fff",
                      height=CANVAS_PX, width=CANVAS_PX, drawing_mode="freedraw",
                      key=f"{CANVAS_KEY}_{cleared}" if cleared else CANVAS_KEY,
                      return_image_data=True)
    return drawn.image_data


def _clear() -> None:
    """A new, empty canvas: the canvas's own bin shows only while a mouse is over the box."""
    st.session_state[keys.DRAWING_CLEARED] = st.session_state.get(keys.DRAWING_CLEARED, 0) + 1


def digit_from(drawing: np.ndarray | None) -> np.ndarray | None:
    """The drawing as an MNIST digit (ink 255 on blank 0), None while the box is blank."""
    return mnist_style(ink_from_paper(drawing)) if drawing is not None else None


def processed(digit: np.ndarray) -> None:
    """The 28 x 28 input made from the drawing, dark on light as every page shows digits."""
    st.subheader("What it sees")
    zoom = CANVAS_PX // digit.shape[0]
    # PNG: JPEG would blur the pixel blocks that show the 28 x 28 grid.
    st.image(np.kron(255 - digit, np.ones((zoom, zoom), dtype=np.uint8)), width=CANVAS_PX,
             output_format="PNG",
             caption="Your digit as MNIST made its digits: scaled to fit 20 × 20 pixels, "
                     "centred by its centre of mass in 28 × 28, values 0–255.")


def answer(result: TrainResult, digit: np.ndarray) -> None:
    """The predicted digit and the probability of every digit the network knows."""
    probabilities = digit_probabilities(result.model, digit.ravel(),
                                        scale_pixels=result.params.scale_pixels)
    best = max(probabilities, key=probabilities.get)
    st.subheader("Its answer")
    line = st.container(horizontal=True, gap="medium", vertical_alignment="center")
    line.metric("The network says", str(best), delta=f"{probabilities[best]:.0%} probability",
                delta_color="off", delta_arrow="off", width="content",
                help="The digit with the highest probability.")
    line.button("Clear", key="draw_clear", icon=":material/ink_eraser:", on_click=_clear,
                help="Empty the box, to draw another digit.")
    # Bars on a fixed 0-100% scale, the predicted digit in its own colour.
    st.vega_lite_chart(bar_spec({str(d): p for d, p in probabilities.items()}, x_label="digit",
                                y_label="probability", highlight=str(best), domain=(0, 1),
                                value_format=".1%", axis_format="%"),
                       height=230, width="stretch")


def units(result: TrainResult, digit: np.ndarray) -> None:
    """Each hidden unit's weight image next to its activation on the drawing."""
    activations = drawing_activations(result.model, digit.ravel(),
                                     scale_pixels=result.params.scale_pixels)
    style = colours.weight_style()
    fig = activations_figure(hidden_weight_images(result.model), activations,
                             dead_units=result.dead_units, style=style)
    st.subheader("What each hidden unit makes of it")
    # One column of units fits beside the words; more go side by side, full width, below them.
    one_column = len(activations) <= ROWS_PER_BLOCK
    picture, words = st.columns([3, 2], gap="large") if one_column else (st.container(),) * 2
    with words:
        st.markdown("A unit adds up your pixels, each times the weight at that spot, plus its "
                    f"bias, and passes the sum through {_BEND[result.params.activation]}. Ink on "
                    "the positive parts of its picture turns it on, ink on the negative parts "
                    "turns it off; the output layer weighs the units' outputs to vote for a "
                    "digit.")
        st.markdown(f"**{int(np.count_nonzero(activations))} of {len(activations)} units** "
                    "are active on your drawing.")
        render.dead_units_warning(result)
    with picture:
        st.image(figure_png(fig), caption="Left: each unit's weights as a 28 × 28 image. "
                 "Right: its output for your digit, on one scale for all units.")
        colours.legend(style, digits=True)


_BEND = {"relu": "ReLU: a negative sum becomes 0", "tanh": "tanh, which squeezes it between −1 "
         "and 1", "logistic": "the logistic function, which squeezes it between 0 and 1",
         "identity": "nothing (identity): the output is the sum itself"}
