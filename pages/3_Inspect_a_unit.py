"""Inspect a hidden unit: check by numbers what the weight images suggest."""

import streamlit as st

from core.process import configure_process
from ui import cached, live, render, units
from ui.sidebar import quick_settings, sidebar

configure_process()
st.set_page_config(page_title="MLP Lens · Inspect a unit", page_icon=":material/biotech:",
                   layout="wide")
params = sidebar()
st.title("Inspect a unit")
st.caption("The lesson reads the weight images by eye: “nodes 4 and 6 are determining if the "
           "digit is a 3”. Pick a unit and check such a claim with numbers.")
quick_settings()  # shown on phones only, where the sidebar is folded away
with render.guarded():
    result = live.network(params, cached.mnist()) if params is not None else None
    if result is not None and result.stopped:
        live.stopped_banner(result)
        st.info("Inspect this network once it has trained to the end.", icon=":material/pause:")
    elif result is not None:
        data = cached.mnist()
        units.all_units(result, data)
        unit = st.selectbox("Unit", range(params.hidden_units), format_func=lambda u: f"{u + 1}",
                            key="inspect_unit")
        units.one_unit(result, data, unit)
