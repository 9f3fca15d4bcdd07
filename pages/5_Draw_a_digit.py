"""Draw a digit: the network's answer and every hidden unit's activation, as you draw."""

import streamlit as st

from core.process import configure_process
from ui import cached, draw, live, render
from ui.sidebar import quick_settings, sidebar

configure_process()
st.set_page_config(page_title="MLP Lens · Draw a digit", page_icon=":material/biotech:",
                   layout="wide")
params = sidebar()
st.title("Draw a digit")
st.caption("Draw in the box; each time you lift the pen the network answers, and you see what "
           "each hidden unit makes of your digit.")
quick_settings()  # shown on phones only, where the sidebar is folded away
with render.guarded():
    result = live.network(params, cached.mnist()) if params is not None else None
    if result is not None:
        live.stopped_banner(result)
        # Canvas, answer, then the input it made: wrapped on a phone, the answer sits right
        # under the canvas.
        row = st.container(horizontal=True, gap="medium")
        with row.container(width=draw.COLUMN_PX):
            digit = draw.digit_from(draw.canvas(result.params.digits))
        with row.container(width=draw.COLUMN_PX):
            if digit is None:
                st.subheader("Its answer")
                st.info(draw.hint(result.params.digits), icon=":material/draw:")
            else:
                draw.answer(result, digit)
        if digit is not None:
            with row.container(width=draw.COLUMN_PX):
                draw.processed(digit)
            draw.units(result, digit)
