"""Sweep: many networks at once, to see which settings keep units alive and generalize."""

import streamlit as st

from core.process import configure_process
from ui import cached, render, sweep
from ui.sidebar import quick_settings, sidebar

configure_process()
st.set_page_config(page_title="MLP Lens · Sweep", page_icon=":material/biotech:", layout="wide")
params = sidebar()
st.title("Sweep: which settings keep units alive?")
st.caption("Train a network for every combination of the lists below, each seed included, and "
           "compare them: the test accuracy, how many hidden units never activate, and how much "
           "both move from seed to seed. Every network lands in the cache, so each row opens in "
           "Explore at once.")
quick_settings(("digits", "max_iter"))  # on phones: what the sweep takes from the sidebar
with render.guarded():
    if params is not None:
        grid = sweep.grid_controls(params)
        engine = sweep.engine()
        data = cached.mnist()
        sweep.run_controls(grid, engine, data)
    if sweep.current() is not None:
        sweep.results(sweep.current())
