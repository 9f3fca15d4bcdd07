"""Compare: networks side by side that differ in one setting (the random seed by default)."""

import streamlit as st

from core.process import configure_process
from ui import cached, compare, render
from ui.sidebar import quick_settings, sidebar

configure_process()
st.set_page_config(page_title="MLP Lens · Compare", page_icon=":material/biotech:",
                   layout="wide")
params = sidebar()
st.title("Compare")
st.caption("Networks side by side that differ in one setting, each unit matched to its closest "
           "counterpart in the reference network. By default the random seed: the lesson says "
           "“If you change the random state you will likely get different results: there are "
           "many equivalently optimal neural networks that work differently.” Vary the hidden "
           "units, alpha, the pixel scaling, the solver, the activation or the learning rate "
           "to see what each changes.")
claim = st.container()  # what these networks show, once two have trained
quick_settings()  # shown on phones only, where the sidebar is folded away
with render.guarded():
    compare.holdout_caption(params)
    compared, reference, options = compare.controls(params)
    if params is not None and compared.values:
        data = cached.mnist()
        work = compare.training(params, compared, data)
        if not work.finished:
            compare.progress(work)
        compare.comparison(compare.results(work, data), reference, options, data, work,
                           claim=claim)
    elif params is not None:
        st.info("List at least one value to compare.", icon=":material/front_hand:")
