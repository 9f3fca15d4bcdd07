"""The Explore page's honest evaluation: the network on test digits it has never seen.

Figures are built in ``core.evaluation`` and cached here by the parameters and
the data's fingerprint; the data itself is passed as ``_data``, which
Streamlit does not hash.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.data import MnistData
from core.evaluation import (
    Mistakes,
    confident_mistakes,
    confusion_figure,
    mistakes_figure,
    recall_labels,
)
from core.params import TrainParams
from core.train import TrainResult, held_out_inputs
from core.weights import NARROW_COLUMN_PX, WIDE_COLUMN_PX, chart_width, figure_png
from ui import explain
from ui.sidebar import set_param


def holdout_note(result: TrainResult) -> None:
    """With the hold-out off: one line saying so, and a button that turns it on."""
    if result.params.holdout:
        return
    with st.container(horizontal=True, vertical_alignment="center"):
        st.caption(f"Every number here is measured on the {result.n_samples:,} images the "
                   "network trained on: it has seen every one of them.")
        st.button("Hold out the test digits and retrain", on_click=set_param,
                  args=("holdout", True), key="turn_on_holdout", icon=":material/science:")


def held_out(result: TrainResult, data: MnistData) -> None:
    """The confusion matrix on the test digits, the most confident mistakes, and why it made
    the one the visitor picks."""
    if result.test_accuracy is None:
        return
    st.subheader("On digits it has never seen")
    st.caption(f"Measured on the {result.n_test:,} test images of the chosen digits: "
               f"{data.split}.")
    confusion, mistakes = st.columns([2, 3], gap="large")
    with confusion:
        with st.container(width=chart_width(NARROW_COLUMN_PX)):
            st.image(_confusion_png(result, data),
                     caption="Confusion matrix: each row is a true digit's test images, each "
                             "column what the network answered; the diagonal is right, red "
                             "cells are mistakes. Right: each digit's recall.")
        with st.expander("The counts", icon=":material/table:", key="explore_confusion"):
            st.dataframe(_confusion_table(result))
    with mistakes:
        png, wrong = _mistakes_png(result, data)
        if wrong.n_wrong == 0:
            st.success("It gets every test image right.", icon=":material/check_circle:")
            return
        st.markdown(f"**Its most confident mistakes**: {len(wrong.rows)} of its "
                    f"{wrong.n_wrong:,} wrong answers, most sure first")
        with st.container(width=chart_width(WIDE_COLUMN_PX)):
            st.image(png, caption="Each titled true digit → its answer (the probability it "
                                  "gave that answer).")
    explain.mistake(result, data, wrong)


def _confusion_table(result: TrainResult) -> pd.DataFrame:
    """The confusion matrix as a table, a row per true digit, and each digit's recall."""
    digits = [str(d) for d in result.params.digits]
    table = pd.DataFrame(result.confusion, columns=digits,
                         index=pd.Index(digits, name="true digit"))
    table["recall"] = recall_labels(result.confusion)
    return table


def _confusion_png(result: TrainResult, data: MnistData) -> bytes:
    """Cached for a finished network; a stopped one's (not cached either) is drawn afresh."""
    if result.stopped:
        return figure_png(confusion_figure(result.confusion, result.params.digits))
    return _cached_confusion_png(result.params, data.fingerprint, result)


@st.cache_data(show_spinner=False, max_entries=64)
def _cached_confusion_png(params: TrainParams, fingerprint: str, _result: TrainResult) -> bytes:
    return figure_png(confusion_figure(_result.confusion, params.digits))


def _mistakes_png(result: TrainResult, data: MnistData) -> tuple[bytes, Mistakes]:
    if result.stopped:
        return _draw_mistakes(result, data)
    return _cached_mistakes_png(result.params, data.fingerprint, result, data)


@st.cache_data(show_spinner="Finding its most confident mistakes…", max_entries=64)
def _cached_mistakes_png(params: TrainParams, fingerprint: str, _result: TrainResult,
                         _data: MnistData) -> tuple[bytes, Mistakes]:
    return _draw_mistakes(_result, _data)


def _draw_mistakes(result: TrainResult, data: MnistData) -> tuple[bytes, Mistakes]:
    X, y = held_out_inputs(result.params, data)
    mistakes = confident_mistakes(result.model, X, y)
    if mistakes.n_wrong == 0:
        return b"", mistakes
    images = data.subset(result.params.digits, "test")[0][mistakes.rows]
    return figure_png(mistakes_figure(images, mistakes)), mistakes
