"""The Export section: the network as files, and the scikit-learn code that rebuilds it.

The files are made when their button is clicked (Streamlit runs the callable
in a server thread, without rerunning the page) and cached by the parameters,
the data's fingerprint and the colours, never by arrays; a network the user
stopped is not cached, so its files are made afresh.
"""

from __future__ import annotations

import streamlit as st

from core.data import MnistData
from core.export import (
    figure_svg,
    file_name,
    grid_figure,
    model_joblib,
    reproduce_code,
    weights_npz,
)
from core.replay import training_gif
from core.train import TrainResult
from core.weights import DEFAULT_STYLE, WeightStyle, figure_png
from ui import cached


def exports(result: TrainResult, data: MnistData, style: WeightStyle = DEFAULT_STYLE) -> None:
    """Download buttons for the weight grid, the weights and the model, and the Python code.

    The grid's files are drawn in the colours the page shows, with a title line
    naming the settings and the accuracy; every file's name carries the settings.
    """
    params = result.params
    st.subheader("Export")
    if result.stopped:
        st.caption(f"The files hold the network as you stopped it, after {result.n_iter} "
                   f"epochs; the Python code trains to the end (max_iter = {params.max_iter}).")
    # One wrapping row of buttons as wide as their labels: five equal columns cut the labels
    # to "Weigh…" on a tablet, where three of them looked the same.
    row = st.container(horizontal=True, gap="small", key="export_buttons")
    row.download_button("Weight grid (PNG)", _on_click(result, data, "png", style),
                        file_name=file_name(params, what="weights", extension="png"),
                        mime="image/png", key="export_png", on_click="ignore",
                        icon=":material/image:")
    row.download_button("Weight grid (SVG)", _on_click(result, data, "svg", style),
                        file_name=file_name(params, what="weights", extension="svg"),
                        mime="image/svg+xml", key="export_svg", on_click="ignore",
                        icon=":material/image:")
    _gif_button(row, result, data, style)
    row.download_button("Weights (.npz)", _on_click(result, data, "npz"),
                        file_name=file_name(params, what="weights", extension="npz"),
                        mime="application/octet-stream", key="export_npz", on_click="ignore",
                        icon=":material/table:",
                        help="coefs_0, coefs_1, intercepts_0 and intercepts_1, as in "
                             "scikit-learn; read them with numpy.load.")
    row.download_button("Model (.joblib)", _on_click(result, data, "joblib"),
                        file_name=file_name(params, what="model", extension="joblib"),
                        mime="application/octet-stream", key="export_joblib",
                        on_click="ignore", icon=":material/save:")
    notes = [] if result.history else \
        ["The training's animation (GIF) is kept for networks trained to the end."]
    notes.append("The model is a joblib file, a pickle, which can run code when loaded: "
                 "load only files you trust.")
    st.caption(" ".join(notes))
    _reproduce(result, data)


def _reproduce(result: TrainResult, data: MnistData) -> None:
    code = reproduce_code(result.params, source=data.source, n_train=data.n_train)
    scores = "training and test accuracy" if result.params.holdout else "training accuracy"
    with st.expander("Reproduce in Python", icon=":material/code:", key="export_reproduce"):
        st.caption("These lines train this network with scikit-learn alone, print its "
                   f"{scores} and draw its hidden units, as the lesson does. Run with one BLAS "
                   "thread (the script sets it), they give exactly these weights.")
        st.code(code, language="python")
        st.download_button("Download the script", code,
                           file_name=file_name(result.params, what="reproduce", extension="py"),
                           mime="text/x-python", key="export_code", on_click="ignore",
                           icon=":material/download:")


def _gif_button(row, result: TrainResult, data: MnistData, style: WeightStyle) -> None:
    history = result.history
    if history is None:
        return  # the caption under the row says why
    row.download_button(
        "Training (GIF)", _on_click(result, data, "gif", style),
        file_name=file_name(result.params, what="training", extension="gif"),
        mime="image/gif", key="export_gif", on_click="ignore", icon=":material/animation:",
        help=f"The weight grid at each of the {len(history.epochs)} recorded "
             f"{history.step_name}s, as an animation in the page's colours (made when you "
             "click: a few seconds, longer for many units).")


def _grid_png(result: TrainResult, style: WeightStyle) -> bytes:
    return figure_png(grid_figure(result, style, titled=True))


def _grid_svg(result: TrainResult, style: WeightStyle) -> bytes:
    return figure_svg(grid_figure(result, style, titled=True))


_MAKERS = {
    "png": _grid_png,
    "svg": _grid_svg,
    "gif": lambda result, style: training_gif(result.history, style=style),
    "npz": lambda result, style: weights_npz(result.model),
    "joblib": lambda result, style: model_joblib(result.model),
}


def _on_click(result: TrainResult, data: MnistData, kind: str,
              style: WeightStyle = DEFAULT_STYLE):
    """A callable that makes the export's bytes when its button is clicked (the SVG of 36
    units takes seconds), cached for a finished network; a stopped one's are made afresh."""
    if result.stopped:
        return lambda: _MAKERS[kind](result, style)
    params = result.params
    return lambda: _cached_file(params, data.fingerprint, kind, style, data)


@st.cache_data(show_spinner=False, max_entries=64)
def _cached_file(params, fingerprint: str, kind: str, style: WeightStyle, _data: MnistData
                 ) -> bytes:
    return _MAKERS[kind](cached.trained(params, _data), style)
