"""Compare random seeds: are they equally good networks that learn different units?"""

import streamlit as st

from core.process import configure_process
from ui import cached, compare, render
from ui.sidebar import quick_settings, sidebar

configure_process()
st.set_page_config(page_title="MLP Lens · Compare seeds", page_icon=":material/biotech:",
                   layout="wide")
params = sidebar()
st.title("Compare random seeds")
st.caption("The lesson: “If you change the random state you will likely get different "
           "results: there are many equivalently optimal neural networks that work "
           "differently.” Here each seed trains with the same settings, side by side, each unit "
           "matched to its closest counterpart in the reference seed.")
claim = st.container()  # what these seeds show, once two have trained
quick_settings()  # shown on phones only, where the sidebar is folded away
with render.guarded():
    compare.holdout_caption(params)
    seeds, reference, options = compare.seed_controls()
    if params is not None and seeds:
        data = cached.mnist()
        work = compare.training(params, seeds, data)
        if not work.finished:
            compare.progress(work)
        compare.comparison(compare.results(work, data), reference, options, data, work,
                           claim=claim)
    elif params is not None:
        st.info("List at least one seed to compare.", icon=":material/front_hand:")
