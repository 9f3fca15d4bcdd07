"""Replaying a finished training: the epoch slider, and the pictures at the chosen epoch.

Every picture comes from the network's history (``TrainResult.history``) and is
cached by the parameters, the data's fingerprint and the epoch, never by arrays
(the data goes in as ``_data``, which Streamlit does not hash).
A network without a history (stopped by the user) shows its final state only.
"""

from __future__ import annotations

import streamlit as st

from core.data import MnistData
from core.history import TrainingHistory, deaths_text
from core.params import TrainParams
from core.replay import activity_figure, grid_at_figure, loss_at_figure, unit_epochs_figure
from core.train import TrainResult
from core.weights import (
    NARROW_COLUMN_PX,
    WIDE_COLUMN_PX,
    WeightStyle,
    chart_width,
    figure_png,
)
from ui import cached, kept, keys


def epoch_slider(result: TrainResult) -> int | None:
    """The slider that picks the epoch to show (the last by default); None without a history."""
    history = result.history
    if history is None:
        return None
    if st.session_state.get(keys.REPLAY_NETWORK) != result.params or \
            kept.value(keys.REPLAY_EPOCH, None) not in history.epochs:
        st.session_state[keys.REPLAY_NETWORK] = result.params  # another network: back to its end
        kept.put(keys.REPLAY_EPOCH, history.epochs[-1])
    label = "Loss evaluation" if history.per_evaluation else "Epoch"
    epoch = st.select_slider(label, options=history.epochs,
                             value=st.session_state[keys.REPLAY_EPOCH],
                             **kept.widget(keys.REPLAY_EPOCH),
                             help="Replay the training: the weight grid, the loss and each "
                                  f"unit's activity as they were at this {history.step_name}.")
    st.caption(recording_note(result))
    return epoch


def recording_note(result: TrainResult) -> str:
    """What the slider steps through, in plain words."""
    history = result.history
    total = history.epochs[-1]
    if history.per_evaluation:
        kept = (f"all {total} loss evaluations" if len(history.epochs) == total else
                f"{len(history.epochs)} of its {total} loss evaluations, evenly spaced")
        return (f"lbfgs has no epochs: MLP Lens recorded the network after each loss evaluation "
                f"(its {result.n_iter} iterations made {total}); you can replay {kept}.")
    if len(history.epochs) == total:
        note = f"Recorded after every one of the {total} epochs."
    else:
        note = (f"Recorded at {len(history.epochs)} of the {total} epochs, evenly spaced "
                "(always the first and the last).")
    if result.params.early_stopping:
        note += (" With early stopping the last frame is the network kept: the one that "
                 "scored best on the images set aside.")
    return note


def step_name(result: TrainResult) -> str:
    """'epoch', or 'evaluation' for lbfgs."""
    return result.history.step_name if result.history else "epoch"


def grid_png(result: TrainResult, data: MnistData, epoch: int, style: WeightStyle) -> bytes:
    return _grid_png(result.params, data.fingerprint, epoch, style, data)


def deaths(result: TrainResult) -> str:
    """'Units 1 and 2 died at epoch 1, unit 5 at epoch 3.', or '' without a history."""
    if result.history is None or not result.dead_units:
        return ""
    return deaths_text(result.history)


def replay_charts(result: TrainResult, data: MnistData, epoch: int) -> None:
    """The loss curve and every unit's activity over the training, both marked at ``epoch``."""
    history = result.history
    st.subheader(f"The training, replayed to {history.step_name} {epoch}")
    loss, activity = st.columns([2, 3], gap="large")
    with loss, st.container(width=chart_width(NARROW_COLUMN_PX)):
        st.image(_loss_png(result.params, data.fingerprint, epoch, data),
                 caption=f"Training loss at each recorded {history.step_name}; the dashed "
                         f"line is {history.step_name} {epoch}, where the loss is "
                         f"{history.loss[history.frame(epoch)]:.4g}.")
    with activity, st.container(width=chart_width(WIDE_COLUMN_PX)):
        st.image(_activity_png(result.params, data.fingerprint, epoch, data),
                 caption=_activity_caption(result))


def _activity_caption(result: TrainResult) -> str:
    size = result.history.probe_size
    if result.params.activation == "relu":
        return (f"Share of {size} fixed training images each unit fires on (ReLU output > 0). "
                "A dead unit's line falls to zero and stays there.")
    return (f"Share of {size} fixed training images on which each unit's input is positive "
            f"({result.params.activation} output above its midpoint). Only ReLU units die.")


def unit_over_training(result: TrainResult, data: MnistData, unit: int) -> None:
    """One unit's weights at its first, telling and last epochs, side by side."""
    st.markdown("**Over the training**: its weights when training began, when it died or "
                "stopped changing, and at the end (one colour scale)")
    if result.history is None:
        st.caption("This network has no recorded history.")
        return
    st.image(_unit_png(result.params, data.fingerprint, unit, data))
    if result.history.per_evaluation:
        st.caption("lbfgs is recorded after each loss evaluation, not each epoch.")


def _history(params: TrainParams, data: MnistData) -> TrainingHistory:
    return cached.trained(params, data).history


@st.cache_data(show_spinner=False, max_entries=256)
def _grid_png(params: TrainParams, fingerprint: str, epoch: int, style: WeightStyle,
              _data: MnistData) -> bytes:
    return figure_png(grid_at_figure(_history(params, _data), epoch, style=style))


@st.cache_data(show_spinner=False, max_entries=256)
def _loss_png(params: TrainParams, fingerprint: str, epoch: int, _data: MnistData) -> bytes:
    return figure_png(loss_at_figure(_history(params, _data), epoch))


@st.cache_data(show_spinner=False, max_entries=256)
def _activity_png(params: TrainParams, fingerprint: str, epoch: int, _data: MnistData) -> bytes:
    return figure_png(activity_figure(_history(params, _data), epoch))


@st.cache_data(show_spinner=False, max_entries=64)
def _unit_png(params: TrainParams, fingerprint: str, unit: int, _data: MnistData) -> bytes:
    return figure_png(unit_epochs_figure(_history(params, _data), unit))
