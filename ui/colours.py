"""One colour language on every page: the weight style a visitor chose, and its small legend.

The choice (red/blue or the lesson's grey; the scale) is kept in session
state, so every page draws weights the same way, and in the page's address
when it is not the default, so a shared link shows the same picture.
"""

from __future__ import annotations

import matplotlib
import numpy as np
import streamlit as st

from core.weights import COLOURS, DIGIT_CMAP, DIVERGING, LESSON, SCALES, WeightStyle
from ui import keys

STYLE = keys.WEIGHT_STYLE
_COLOUR_NAMES = {DIVERGING: "Red / blue", LESSON: "Grey (the lesson's)"}
_SCALE_NAMES = {"symmetric": "Per unit, 0 in the middle", "unit": "Per unit, lowest to highest",
                "shared": "One scale for all"}
_SCALE_HELP = ("**Per unit, 0 in the middle**: each picture from −m to +m (m its largest weight), "
               "so white is always 0. **Per unit, lowest to highest**: each picture stretched "
               "over its own range, as the lesson's matshow does. **One scale for all**: every "
               "picture on one scale, so a faint unit looks faint.")


def weight_style() -> WeightStyle:
    """The visitor's weight style: from this session, else from the link, else the default."""
    if STYLE not in st.session_state:
        colours = st.query_params.get("colours", DIVERGING)
        scale = st.query_params.get("scale", "symmetric")
        st.session_state[STYLE] = WeightStyle(
            colours if colours in COLOURS else DIVERGING,
            scale if scale in SCALES else "symmetric")
    style = st.session_state[STYLE]
    for name, value, default in (("colours", style.colours, DIVERGING),
                                 ("scale", style.scale, "symmetric")):
        if value == default:
            st.query_params.pop(name, None)
        else:
            st.query_params[name] = value
    return style


def style_controls(*, key: str) -> None:
    """Two compact choices, colours and scale. They change the stored style in their callbacks,
    so a picture drawn above them in the same run already has the new colours."""
    style = weight_style()
    row = st.container(horizontal=True, gap="small", key=f"{key}_style_row")
    row.segmented_control(
        "Colours", list(COLOURS), default=style.colours, format_func=_COLOUR_NAMES.get,
        key=f"{key}_colours", required=True, on_change=_store, args=(key,),
        help="Red/blue shows the sign of each weight: red pixels turn the unit on, blue turn "
             "it off. Grey draws the weights as the lesson's matshow does.")
    row.selectbox("Colour scale", list(SCALES), index=SCALES.index(style.scale),
                  format_func=_SCALE_NAMES.get, key=f"{key}_scale", width=240,
                  on_change=_store, args=(key,), help=_SCALE_HELP)


def _store(key: str) -> None:
    current = st.session_state[STYLE]
    colours = st.session_state.get(f"{key}_colours") or current.colours
    scale = st.session_state.get(f"{key}_scale") or current.scale
    st.session_state[STYLE] = WeightStyle(colours, scale)


def legend(style: WeightStyle, *, weights: bool = True, digits: bool = False) -> None:
    """The same small legend on every page: how weights are coloured, and how digits are."""
    parts = []
    if weights:
        low, high = ("low", "high") if style.scale == "unit" else ("−", "+")
        parts.append(_bar(style.cmap, low, high) + f"<span>{style.legend()}</span>")
    if digits:
        parts.append(_bar(DIGIT_CMAP, "0", "255")
                     + "<span>digits: ink (255) dark on light paper (0)</span>")
    st.html('<div class="mlp-legend">' + "".join(f"<div>{p}</div>" for p in parts) + "</div>")


def _bar(cmap: str, low: str, high: str) -> str:
    stops = matplotlib.colormaps[cmap](np.linspace(0, 1, 7), bytes=True)[:, :3]
    gradient = ", ".join(f"rgb({r},{g},{b})" for r, g, b in stops)
    return (f"<b>{low}</b><i style=\"background: linear-gradient(90deg, {gradient})\"></i>"
            f"<b>{high}</b>")
