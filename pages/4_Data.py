"""The data the network learns from."""

import streamlit as st

from core.process import configure_process
from ui import cached, dataview, render
from ui.sidebar import quick_pages, sidebar

configure_process()
st.set_page_config(page_title="MLP Lens · The data", page_icon=":material/biotech:",
                   layout="wide")
params = sidebar()
st.title("The data")
st.caption("MNIST: 28 × 28 images of handwritten digits, one pixel value from 0 (blank) to 255 "
           "(ink) per pixel, and the digit each one shows.")
quick_pages()  # shown on phones only, where the sidebar is folded away
with render.guarded():
    data = cached.mnist()
    dataview.facts(data)
    dataview.counts(data)
    dataview.pictures(data, params.digits if params is not None else tuple(range(10)))
    dataview.caches()
