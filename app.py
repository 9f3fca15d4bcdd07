"""MLP Lens: the Explore page. Run with `streamlit run app.py`."""

import sys

import streamlit as st

st.set_page_config(page_title="MLP Lens · Explore", page_icon=":material/biotech:", layout="wide")
starting = st.empty()
if "ui.render" not in sys.modules:  # a new server: its first page imports scikit-learn first
    starting.info("Starting MLP Lens: loading scikit-learn (a few seconds, once per server)…",
                  icon=":material/hourglass:")

from core.process import configure_process  # noqa: E402 - after the page says it is starting
from ui import cached, colours, evaluation, live, render, replay  # noqa: E402
from ui.exports import exports  # noqa: E402
from ui.hidden_map import hidden_map_section  # noqa: E402
from ui.sidebar import quick_settings, sidebar  # noqa: E402

configure_process()
starting.empty()
params = sidebar()
st.title("What does each hidden unit learn?")
st.caption("A scikit-learn MLPClassifier with one hidden layer, trained on MNIST digits. "
           "Change the settings and the network retrains.")
quick_settings()  # shown on phones only, where the sidebar is folded away
with render.guarded():
    data = cached.mnist()
    render.data_summary(data, params)
    result = live.network(params, data) if params is not None else None
    if result is not None:
        live.stopped_banner(result)
        render.metrics(result)
        render.fix_effect(result)
        evaluation.holdout_note(result)
        render.dead_units_warning(result)
        grid, votes = st.columns([3, 2], gap="large")
        with grid:
            st.subheader("What each hidden unit looks for")
            style = colours.weight_style()
            epoch = render.weight_grid(result, data, style)
            colours.style_controls(key="explore")
        with votes:
            st.subheader("How each unit votes")
            render.output_weights(result, data)
        evaluation.held_out(result, data)
        if epoch is None:
            render.loss_curve(result)
        else:
            replay.replay_charts(result, data, epoch)
            render.validation_curve(result)
        hidden_map_section(result, data, epoch)
        exports(result, data, style)
