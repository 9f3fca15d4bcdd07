"""Watching a network learn: the live view of a training, Pause / Step / Resume, Stop.

The training runs in a worker process (``core.jobs``); a fragment polls its
snapshot once a second. Each session watches one run. Fiddling is free: when
the settings change, the run the session leaves stops at once, unless another
open page watches it too, so three quick slider steps leave one training.
Pause holds the same fit between two epochs; Resume finishes it.
"""

from __future__ import annotations

import time
import uuid

import streamlit as st

from core import pace
from core.budget import budget, place_text
from core.data import MnistData
from core.jobs import Job, start
from core.params import TrainParams
from core.train import TrainResult, cached_failure, describe_partial, training_state
from ui import cached, colours, keys, text

# Once a second: each refresh is a script run (about 10 ms of the server's CPU, all in Streamlit)
# and, at a new epoch, one drawing of the grid shared by every watcher (about 11 ms for 36
# units), so a watching page costs under 0.03 of a core; a paused one half that.
REFRESH_SECONDS = 1.0
# A held run changes only when someone steps, resumes or stops it (a click here reruns the view
# at once); the slow refresh notices another page doing so, and tells the run it is watched.
HELD_REFRESH_SECONDS = 5.0


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
        st.error(text.plain(failure.message), icon=":material/error:")
        return None
    current = st.session_state.get(keys.RUN)
    if current is not None and current.params == params and current.done and current.error:
        _failed(current)
        return None
    run = start(params, data, session=_session())
    _switch_to(run)
    (_held_view if run.held else _live_view)(run)
    return None


def stopped_banner(result: TrainResult) -> None:
    if not result.stopped:
        return
    with st.container(border=True):
        st.warning(f"**Stopped at epoch {result.n_iter} of {result.params.max_iter}.** "
                   "You see the network as it was then, before it finished learning. (Pause "
                   "instead of Stop to go on later from where it was.)",
                   icon=":material/stop_circle:")
        st.button("Train again from the start", key="resume_training",
                  on_click=lambda: st.session_state.pop(keys.STOPPED, None))


@st.fragment(run_every=REFRESH_SECONDS)
def _live_view(run: Job) -> None:
    _view(run, held=False)


@st.fragment(run_every=HELD_REFRESH_SECONDS)
def _held_view(run: Job) -> None:
    _view(run, held=True)


def _view(run: Job, *, held: bool) -> None:
    """The run as it is now; ``held`` says which of the two refreshing views shows it: when
    the run holds, or goes on, the page switches to the other one (a run of the whole page)."""
    if run.done:
        if run.error:
            st.rerun()  # the whole page shows the failure, with a Retry
            return
        st.rerun()  # the whole page now shows the finished network
    if run.held != held:
        st.rerun()  # paused and now held, or going on again: refresh at the other pace
    run.seen(_session())
    snapshot, place = run.snapshot(), run.place
    if place and snapshot is None:
        # No Stop here: nothing has been computed yet, and leaving the page leaves the line.
        st.progress(0.0, text=f"{place_text(place).capitalize()}. This server trains "
                              f"{budget().limit} networks at a time; yours starts when one ends.")
        return
    text = _progress_text(run, snapshot)
    if place:  # resumed (or stepped) after a pause, which gave its trainer back
        text = (f"{place_text(place).capitalize()}: yours goes on from {_unit(run)} "
                f"{snapshot.epoch} when one of the server's {budget().limit} trainers is free.")
    st.progress(min((snapshot.epoch if snapshot else 0) / run.params.max_iter, 1.0),
                text=text)
    _controls(run)
    style = colours.weight_style()
    frame = run.frame(style)  # drawn once per epoch for every page watching; a refresh re-sends it
    if frame is None:
        return
    grid, curve = st.columns([3, 2], gap="large")
    with grid:
        state = "held here" if run.held else "updating as it learns"
        # As it is ("auto" would re-encode it as JPEG), blown up with sharp edges (theme.py).
        st.container(key="live_grid").image(
            frame.grid_png, output_format="PNG", width=frame.width,
            caption=f"{frame.units} hidden units at {_unit(run)} {frame.epoch}, left to "
                    f"right and top to bottom ({state})")
        colours.legend(style)
    with curve:
        if frame.loss_spec is not None:
            st.vega_lite_chart(frame.loss_spec, height=260, width="stretch")


def _unit(run: Job) -> str:
    return "evaluation" if run.params.solver == "lbfgs" else "epoch"


def _progress_text(run: Job, snapshot) -> str:
    """"Training: epoch 12 of 300 · loss 0.1234 · 2.1 s · about 40 s left"."""
    if snapshot is None and not run.held:
        return f"Starting the training: its worker process is on its way ({_unit(run)} 1 " \
               f"of {run.params.max_iter} next)…"
    unit, epoch = _unit(run), snapshot.epoch if snapshot else 0
    state = "Paused at" if run.held else "Training:"
    text = f"{state} {unit} {epoch} of {run.params.max_iter}"
    if snapshot and snapshot.loss_curve:
        text += f" · loss {snapshot.loss_curve[-1]:.4f}"
    if snapshot:
        text += f" · {snapshot.seconds:.1f} s"
    if run.worker is not None and not run.worker.startswith("local:"):
        text += f" · on the Dask cluster ({run.worker})"
    own = snapshot.seconds / snapshot.epoch if snapshot and snapshot.epoch >= 3 else None
    left = pace.estimate(run.params, run.images, done=epoch, own=own)
    if left is not None and not run.held:
        text += f" · {pace.describe(left)} left at most" if own else (
            f" · {pace.describe(left)} at most (measured on similar runs)")
    return text


def _controls(run: Job) -> None:
    """Pause, or Resume and Step while paused; Stop keeps the network as it is."""
    row = st.container(horizontal=True, gap="small")
    if run.paused:
        row.button("Resume", key="resume_live", icon=":material/play_arrow:", type="primary",
                   on_click=_resume, args=(run,),
                   help="Go on training from where it holds; the finished "
                   "network is exactly the one an uninterrupted training gives.")
        row.button(f"Step one {_unit(run)}", key="step_live", icon=":material/skip_next:",
                   on_click=_step, args=(run,), disabled=not run.held,
                   help=f"Train exactly one more {_unit(run)}, then hold again.")
    else:
        row.button("Pause", key="pause_live", icon=":material/pause:", on_click=run.pause,
                   help=f"Hold the training at the end of this {_unit(run)}, using no CPU and "
                        "giving its trainer to whoever waits, to look at the units; Resume "
                        "goes on from there (after a wait in line if the server is busy).")
    row.button("Stop", key="stop_training", icon=":material/stop_circle:",
               on_click=_stop, args=(run,),
               help="End the training now and keep the network as it is (it is not finished).")


def _step(run: Job) -> None:
    """One more epoch; the page shows it once it is held again (the held view refreshes only
    every few seconds), or the run's place in line for a trainer."""
    before = run.snapshot()
    run.step()
    _wait_until(lambda: run.done or run.place > 0 or (run.held and run.snapshot() is not before),
                seconds=10)


def _resume(run: Job) -> None:
    """Go on; the page shows it going (the live view) once the fit has left its hold."""
    run.resume()
    _wait_until(lambda: run.done or not run.held, seconds=2)


def _wait_until(condition, *, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.02)


def _stop(run: Job) -> None:
    """Keep the network as it is at the end of the current epoch, marked as stopped."""
    # The first epoch may not have ended yet.
    _wait_until(lambda: run.snapshot() is not None or run.done, seconds=30)
    now = run.network_now()  # asked of the worker before it ends
    run.release(_session(), stop=True)
    if now is not None:
        model, epoch, seconds = now
        st.session_state[keys.STOPPED] = describe_partial(run.params, run.data, model,
                                                          epoch=epoch, seconds=seconds)
    st.session_state.pop(keys.RUN, None)


def _failed(run: Job) -> None:
    """Why the training gave no network, and a Retry (a new job: a worker that died, e.g.
    killed by the system, fails only its own training)."""
    st.error(text.plain(run.error), icon=":material/error:")
    st.button("Retry", key="retry_training", icon=":material/refresh:", type="primary",
              on_click=lambda: st.session_state.pop(keys.RUN, None))


def _switch_to(run: Job | None) -> None:
    """Watch ``run``; the run left behind stops at once unless another open page watches it."""
    current = st.session_state.get(keys.RUN)
    if current is run:
        return
    if current is not None and not current.done:
        current.release(_session(), stop=True)
    st.session_state[keys.RUN] = run


def _session() -> str:
    if keys.SESSION not in st.session_state:
        st.session_state[keys.SESSION] = uuid.uuid4().hex
    return st.session_state[keys.SESSION]
