"""The unit inspector's sections, drawn from cached measurements of the current network."""

from __future__ import annotations

import numpy as np
import streamlit as st

from core.charts import bar_spec
from core.data import MnistData
from core.params import TrainParams
from core.train import (
    TrainResult,
    dead_units_cause,
    held_out_inputs,
    training_images,
    training_inputs,
)
from core.units import (
    UnitReport,
    activation_figure,
    unit_report,
    unit_weight_figure,
    units_table,
    votes,
)
from core.weights import WeightStyle, digit_mosaic, figure_png, hidden_weight_images
from ui import cached, colours, replay


# Keyed by the parameters, the data's fingerprint and the unit; ``_data`` is not hashed.
@st.cache_data(show_spinner="Measuring the unit on every training image…", max_entries=64)
def _report(params: TrainParams, fingerprint: str, unit: int, _data: MnistData) -> UnitReport:
    X, y = training_inputs(params, _data)
    return unit_report(cached.trained(params, _data).model, X, y, unit,
                       held_out=_held_out(params, _data))


@st.cache_data(show_spinner="Measuring every unit…", max_entries=64)
def _table(params: TrainParams, fingerprint: str, _data: MnistData) -> list[dict]:
    X, y = training_inputs(params, _data)
    return units_table(cached.trained(params, _data).model, X, y,
                       held_out=_held_out(params, _data))


def _held_out(params: TrainParams, data: MnistData):
    """The test images the cost of switching a unit off is measured on (hold-out on), or None."""
    return held_out_inputs(params, data) if params.holdout else None


@st.cache_data(show_spinner=False, max_entries=64)
def _pictures(params: TrainParams, fingerprint: str, unit: int, style: WeightStyle,
              _data: MnistData) -> dict[str, bytes | np.ndarray]:
    """The unit's weight image and activation plot (PNG), and its extreme images (mosaics)."""
    report = _report(params, fingerprint, unit, _data)
    X, y = training_images(params, _data)
    image = hidden_weight_images(cached.trained(params, _data).model)[unit]

    def mosaic(rows):
        return digit_mosaic(np.asarray(X[rows]).reshape(-1, 28, 28), zoom=3)

    return {"weights": figure_png(unit_weight_figure(image, unit, style=style)),
            "activation": figure_png(activation_figure(report, y)),
            "top": mosaic(report.top), "bottom": mosaic(report.bottom)}


def all_units(result: TrainResult, data: MnistData) -> None:
    """Every unit's measurements: a sortable table, or, where it would need a sideways scroll
    (a phone), a static one whose headings wrap (ui.theme shows one of the two)."""
    st.subheader("All units at a glance")
    rows = _table(result.params, data.fingerprint, data)
    with st.container(key="units_glance"):
        with st.container(key="units_wide"):
            st.dataframe(rows, hide_index=True, width="stretch", column_config={
                "active on": st.column_config.ProgressColumn(
                    "active on", format="percent", min_value=0.0, max_value=1.0,
                    help="Share of training images on which the unit's output is > 0"),
                "accuracy lost when off": st.column_config.NumberColumn(
                    format="percent", help=_scored_on(result.params)),
            })
        with st.container(key="units_narrow"):
            st.table([{**row, "active on": f"{row['active on']:.1%}",
                       "accuracy lost when off": f"{row['accuracy lost when off']:.1%}"}
                      for row in rows], hide_index=True, border="horizontal")
            st.caption("Active on: the share of training images on which the unit's output is "
                       "> 0. Accuracy lost when off: how much worse the network does without "
                       f"the unit. {_scored_on(result.params)}")


def one_unit(result: TrainResult, data: MnistData, unit: int) -> None:
    params = result.params
    report = _report(params, data.fingerprint, unit, data)
    style = colours.weight_style()
    pictures = _pictures(params, data.fingerprint, unit, style, data)
    if report.dead:
        st.warning(f"Unit {unit + 1} is dead: its ReLU output is zero on every training image, "
                   "so it takes no part in any decision. " + dead_units_cause(params),
                   icon=":material/heart_broken:")
    elif unit in result.dead_units and result.unit_problem == "saturated":
        st.warning(f"Unit {unit + 1} is saturated: its {params.activation} output is within 1% of "
                   "its limits on every training image, where its slope is almost zero, so it "
                   "barely learns. " + dead_units_cause(params), icon=":material/heart_broken:")
    left, right = st.columns(2, gap="large")
    with left:
        st.image(pictures["weights"])
    with right:
        st.markdown("**How it votes**: its weight to each digit's output")
        # With horizontal bars, x is still the index (the digits), drawn upright.
        st.vega_lite_chart(bar_spec(votes(result.model, unit), x_label="digit",
                                    y_label="weight (positive = votes for)", horizontal=True,
                                    value_format=".2f"), height=220, width="stretch")
        st.markdown("**When it fires**: its activation on each digit's images")
        st.image(pictures["activation"])
    replay.unit_over_training(result, data, unit)
    _extremes(report, pictures)
    colours.legend(style, digits=True)
    _ablation(report)


def _extremes(report: UnitReport, pictures: dict) -> None:
    top, bottom = st.columns(2, gap="large")
    if report.dead:
        top.markdown("**The 16 images that come closest to switching it on** "
                     "(its output is zero on all)")
    else:
        top.markdown("**The 16 images that excite it most**")
    top.image(pictures["top"], clamp=True)
    bottom.markdown("**The 16 images that inhibit it most** (its input furthest below zero)")
    bottom.image(pictures["bottom"], clamp=True)


def _scored_on(params: TrainParams) -> str:
    if params.holdout:
        return "Measured on the held-out test images, which the network never trained on."
    return "Measured on the training images (tick the hold-out to measure on test images)."


def _ablation(report: UnitReport) -> None:
    where = ("the held-out test images" if report.scored_on == "test"
             else "the training images")
    st.markdown(f"**Switch it off**: accuracy per digit with the unit on and off, on {where}")
    rows = [{"digit": d, "with the unit": report.accuracy_on[d],
             "without it": report.accuracy_off[d], "its contribution": report.contribution[d]}
            for d in report.accuracy_on]
    percent = st.column_config.NumberColumn(format="percent")
    st.dataframe(rows, hide_index=True, column_config={
        "with the unit": percent, "without it": percent, "its contribution": percent})
