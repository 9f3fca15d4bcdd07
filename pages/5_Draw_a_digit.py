"""Draw a digit: the network's answer and every hidden unit's activation, as you draw."""

import streamlit as st

from core.process import configure_process
from ui import cached, draw, explain, live, render
from ui.sidebar import quick_settings, sidebar

configure_process()
st.set_page_config(page_title="MLP Lens · Draw a digit", page_icon=":material/biotech:",
                   layout="wide")
params = sidebar()
st.title("Draw a digit")
st.caption("Draw in the box; each time you lift the pen the network answers, says why, and "
           "you see what each hidden unit makes of your digit.")
settings = st.container()  # phones: the main settings (ui.sidebar.quick_settings) go here…
with render.guarded():
    result = live.network(params, cached.mnist()) if params is not None else None
    if result is not None:
        live.stopped_banner(result)
        digit = draw.drawing_row(result)
        settings = st.container()  # …or, once there is a canvas, under it and its answer
        if digit is not None:
            explain.drawing(result, digit)
            draw.units(result, digit)
with settings:
    quick_settings()  # shown on phones only, where the sidebar is folded away
