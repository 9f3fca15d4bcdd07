"""The unit inspector's sections, drawn from cached measurements of the current network."""

from __future__ import annotations

import numpy as np
import streamlit as st

from core.data import MnistData
from core.params import TrainParams
from core.train import TrainResult, training_inputs
from core.units import (
    UnitReport,
    activation_figure,
    unit_report,
    unit_weight_figure,
    units_table,
    votes,
)
from core.weights import figure_png, hidden_weight_images, weight_grid_mosaic
from ui import cached


@st.cache_data(show_spinner="Measuring the unit on every training image…", max_entries=64)
def _report(params: TrainParams, fingerprint: str, unit: int) -> UnitReport:
    X, y = training_inputs(params, cached.mnist())
    return unit_report(cached.trained(params, cached.mnist()).model, X, y, unit)


@st.cache_data(show_spinner="Measuring every unit…", max_entries=64)
def _table(params: TrainParams, fingerprint: str) -> list[dict]:
    X, y = training_inputs(params, cached.mnist())
    return units_table(cached.trained(params, cached.mnist()).model, X, y)


def all_units(result: TrainResult, data: MnistData) -> None:
    st.subheader("All units at a glance")
    st.dataframe(
        _table(result.params, data.fingerprint), hide_index=True, width="stretch",
        column_config={
            "active on": st.column_config.ProgressColumn(
                "active on", help="Share of training images on which the unit's output is > 0",
                format="percent", min_value=0.0, max_value=1.0),
            "accuracy lost when off": st.column_config.NumberColumn(format="percent"),
        })


def one_unit(result: TrainResult, data: MnistData, unit: int) -> None:
    params = result.params
    report = _report(params, data.fingerprint, unit)
    if report.dead:
        st.warning(f"Unit {unit + 1} is dead: its ReLU output is zero on every training image, "
                   "so it takes no part in any decision."
                   + ("" if params.scale_pixels else " The cause is the raw 0–255 pixels with "
                      "sgd; tick 'Scale pixels to 0-1'."), icon=":material/heart_broken:")
    left, right = st.columns(2, gap="large")
    with left:
        image = hidden_weight_images(result.model)[unit]
        st.image(figure_png(unit_weight_figure(image, unit)))
    with right:
        st.markdown("**How it votes**: its weight to each digit's output")
        # With horizontal bars, x is still the index (the digits), drawn upright.
        st.bar_chart(votes(result.model, unit), horizontal=True, height=220, x_label="digit",
                     y_label="weight (positive = votes for)")
        st.markdown("**When it fires**: its activation on each digit's images")
        _, y = data.subset(params.digits)
        st.image(figure_png(activation_figure(report, y)))
    _extremes(report, data, params)
    _ablation(report)


def _extremes(report: UnitReport, data: MnistData, params: TrainParams) -> None:
    if report.dead:
        st.markdown("**The images that excite it most and least**: none; it is zero on all.")
        return
    X, _ = data.subset(params.digits)
    top, bottom = st.columns(2, gap="large")
    top.markdown("**The 16 images that excite it most**")
    top.image(weight_grid_mosaic(np.asarray(X[report.top], dtype=float).reshape(-1, 28, 28),
                                 zoom=3), clamp=True)
    bottom.markdown("**16 of the images that excite it least**")
    bottom.image(weight_grid_mosaic(np.asarray(X[report.bottom], dtype=float).reshape(-1, 28, 28),
                                    zoom=3), clamp=True)


def _ablation(report: UnitReport) -> None:
    st.markdown("**Switch it off**: accuracy per digit with the unit on and off")
    rows = [{"digit": d, "with the unit": report.accuracy_on[d],
             "without it": report.accuracy_off[d], "its contribution": report.contribution[d]}
            for d in report.accuracy_on]
    percent = st.column_config.NumberColumn(format="percent")
    st.dataframe(rows, hide_index=True, column_config={
        "with the unit": percent, "without it": percent, "its contribution": percent})
