"""Watching a network learn: the live view of a training, its Stop button, and page switches.

The worker thread (``core.live``) never calls Streamlit; a fragment polls its
snapshot twice a second. Each session watches one run; when its settings
change, the run it leaves keeps training to fill the cache, but a session
leaves at most one such run burning CPU: the one before is stopped.
"""

from __future__ import annotations

import time
import uuid

import streamlit as st

from core.data import MnistData
from core.live import TrainingRun, start_training
from core.params import TrainParams
from core.train import TrainResult, cached_failure, describe_partial, training_state
from core.weights import hidden_weight_images, weight_grid_mosaic
from ui import cached, colours, keys

REFRESH_SECONDS = 0.5


def network(params: TrainParams, data: MnistData) -> TrainResult | None:
    """The network for ``params``: finished, or stopped by the user; None while it trains or
    when its training failed (the page then says why)."""
    stopped = st.session_state.get(keys.STOPPED)
    if stopped is not None and stopped.params == params:
        return stopped
    st.session_state.pop(keys.STOPPED, None)
    state = training_state(params, data)
    if state == "trained":
        _switch_to(None)
        return cached.trained(params, data)
    failure = cached_failure(params, data) if state == "failed" else None
    if failure is not None:  # it trained and diverged: the same settings would again
        _switch_to(None)
        st.error(failure.message, icon=":material/error:")
        return None
    current = st.session_state.get(keys.RUN)
    if current is not None and current.params == params and current.done and current.error:
        st.error(current.error, icon=":material/error:")
        return None
    run = start_training(params, data, session=_session())
    _switch_to(run)
    _live_view(run)
    return None


def stopped_banner(result: TrainResult) -> None:
    if not result.stopped:
        return
    with st.container(border=True):
        st.warning(f"**Stopped at epoch {result.n_iter} of {result.params.max_iter}.** "
                   "You see the network as it was then, before it finished learning.",
                   icon=":material/pause:")
        st.button("Train to the end", key="resume_training",
                  on_click=lambda: st.session_state.pop(keys.STOPPED, None))


@st.fragment(run_every=REFRESH_SECONDS)
def _live_view(run: TrainingRun) -> None:
    if run.done:
        if run.error:
            st.error(run.error, icon=":material/error:")
            return
        st.rerun()  # the whole page now shows the finished network
    snapshot = run.snapshot()
    epoch = snapshot.epoch if snapshot else 0
    unit = "evaluation" if run.params.solver == "lbfgs" else "epoch"
    loss = f" · loss {snapshot.loss_curve[-1]:.4f}" if snapshot and snapshot.loss_curve else ""
    seconds = f" · {snapshot.seconds:.1f} s" if snapshot else ""
    label = f"Training: {unit} {epoch} of {run.params.max_iter}{loss}{seconds}"
    st.progress(min(epoch / run.params.max_iter, 1.0), text=label)
    st.button("Stop", key="stop_training", icon=":material/stop_circle:",
              on_click=_stop, args=(run,))
    if snapshot is None:
        return
    grid, curve = st.columns([3, 2], gap="large")
    with grid:
        images = hidden_weight_images(snapshot.model)
        style = colours.weight_style()
        st.image(weight_grid_mosaic(images, style=style),
                 caption=f"{len(images)} hidden units at {unit} {epoch}, left to right and top "
                         "to bottom (updating as it learns)")
        colours.legend(style)
    with curve:
        if len(snapshot.loss_curve) > 1:
            st.line_chart({"loss": list(snapshot.loss_curve)}, x_label="epoch",
                          y_label="loss", height=260)


def _stop(run: TrainingRun) -> None:
    """Keep the network as it is at the end of the current epoch, marked as stopped."""
    deadline = time.monotonic() + 30
    while run.snapshot() is None and not run.done and time.monotonic() < deadline:
        time.sleep(0.05)  # the first epoch has not ended yet
    run.release(_session(), stop=True)
    snapshot = run.snapshot()
    if snapshot is not None:
        st.session_state[keys.STOPPED] = describe_partial(
            run.params, run.data, snapshot.model, epoch=snapshot.epoch, seconds=snapshot.seconds)
    st.session_state.pop(keys.RUN, None)


def _switch_to(run: TrainingRun | None) -> None:
    """Watch ``run``; the run left behind goes on to fill the cache, the one before it stops."""
    current = st.session_state.get(keys.RUN)
    if current is run:
        return
    if current is not None and not current.done:
        previous = st.session_state.get(keys.ABANDONED)
        if previous is not None and previous is not run:
            previous.release(_session(), stop=True)
        current.release(_session(), stop=False)
        st.session_state[keys.ABANDONED] = current
    st.session_state[keys.RUN] = run


def _session() -> str:
    if keys.SESSION not in st.session_state:
        st.session_state[keys.SESSION] = uuid.uuid4().hex
    return st.session_state[keys.SESSION]
