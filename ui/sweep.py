"""The Sweep page's pieces: the lists, the engine, Run/Stop with progress, and the results."""

from __future__ import annotations

import os
from dataclasses import replace
from urllib.parse import urlencode, urljoin

import pandas as pd
import streamlit as st

from core.data import MnistData
from core.outcome import MEANINGS
from core.params import FIELDS, SWEEPS, InvalidParams, Sweep, TrainParams
from core.sweep import (
    BASE,
    MAX_CONFIGS,
    SCHEDULER_ENV,
    DaskEngine,
    EngineUnavailable,
    LocalEngine,
    SweepGrid,
    SweepRun,
    rows_csv,
)
from core.sweep.figures import heatmaps_figure
from core.train import is_trained
from core.weights import figure_png
from ui import keys


def grid_controls(params: TrainParams) -> SweepGrid | None:
    """A list for each parameter of ``SWEEPS``, two to a row (in three, a tablet hid every
    chip past the second behind a fade), and the hold-out (the sidebar fixes the rest); the
    grid, or None with what to change."""
    rows = -(-(len(SWEEPS) + 1) // 2)  # the lists and the hold-out
    cells = [cell for _ in range(rows) for cell in st.columns(2)]
    problems: list[str] = []
    lists = {name: _list_widget(cell, sweep, problems)
             for cell, (name, sweep) in zip(cells, SWEEPS.items(), strict=False)}
    holdout = cells[len(SWEEPS)].toggle(
        "Hold out test digits", value=BASE.holdout, key="sw_holdout",
        help="Train on the training digits only and score each network on the test digits it "
             "never saw (on by default for sweeps).")
    fixed = [f"{kind.label} {kind.format(getattr(params, name))}" for name, kind in FIELDS.items()
             if name not in SWEEPS and name != "holdout"]
    swept = [sweep.kind.label for sweep in SWEEPS.values()]
    st.caption(f"These lists (and the hold-out) replace the sidebar's {', '.join(swept[:-1])} and "
               f"{swept[-1]}; the rest comes from the sidebar ({'; '.join(fixed[:3])}; …). At "
               f"most {MAX_CONFIGS} configurations per sweep.")
    try:
        grid = SweepGrid(base=replace(params, holdout=holdout), **lists)
    except InvalidParams as exc:
        problems += exc.messages
    for problem in dict.fromkeys(problems):
        st.info(problem, icon=":material/front_hand:")
    return None if problems else grid


def _list_widget(cell, sweep: Sweep, problems: list[str]) -> tuple:
    """The values listed for ``sweep``: picked where its kind offers them, else typed and read
    by its kind, as the command line reads them."""
    kind, key = sweep.kind, f"sw_{sweep.name}"
    offered = kind.offered()
    if offered is not None:
        return tuple(cell.multiselect(sweep.label, list(offered), default=list(sweep.values),
                                      format_func=sweep.text, key=key))
    typed = cell.text_input(f"{sweep.label}, separated by commas",
                            ", ".join(map(sweep.text, sweep.values)), key=key)
    listed = kind.read_list(typed)
    # Said by place, so that nothing typed is shown back as Markdown.
    noun = sweep.column[:1].upper() + sweep.column[1:]
    problems.extend(f"{noun} number {place} in the list is not {kind.what}."
                    for place, _ in listed.unread)
    return listed.values


def engine() -> LocalEngine | DaskEngine | None:
    """The engine this page runs on, shown on the page; None (with a way out) if unusable."""
    address = os.environ.get(SCHEDULER_ENV, "").strip()
    if not address or st.session_state.get(keys.SWEEP_ENGINE) == "local":
        found = LocalEngine()
        if address:
            st.button("Try the Dask cluster again", key="sw_retry_cluster",
                      on_click=lambda: st.session_state.pop(keys.SWEEP_ENGINE, None))
    else:
        try:
            found = _dask_engine(address)
            if not found.connected:  # the scheduler went away since: connect afresh
                _dask_engine.clear()
                found = _dask_engine(address)
        except EngineUnavailable as exc:
            st.error(f"{exc}", icon=":material/cloud_off:")
            st.button("Run on this server's own processes instead", key="sw_use_local",
                      on_click=lambda: st.session_state.update({keys.SWEEP_ENGINE: "local"}))
            return None
    st.caption(f"Engine: {found.description}.")
    return found


@st.cache_resource(show_spinner="Connecting to the Dask cluster…")
def _dask_engine(address: str) -> DaskEngine:
    """One client per scheduler for the whole server (a failure is not cached: it raises)."""
    return DaskEngine(address)


def current() -> SweepRun | None:
    return st.session_state.get(keys.SWEEP_RUN)


def run_controls(grid: SweepGrid | None, found_engine, data: MnistData) -> None:
    """Run and Stop, and what Run would do; one running sweep per visitor."""
    run = current()
    running = run is not None and not run.finished
    if grid is not None and not running:
        cached = sum(is_trained(p, data) for p in grid.configurations())
        st.caption(f"{grid.size} configuration{'s' if grid.size != 1 else ''}"
                   + (f", {cached} already trained (loaded from the cache)" if cached else ""))
    # One row of buttons as wide as their words: in fixed columns "Run sweep" was cut off
    # at tablet width.
    row = st.container(horizontal=True, vertical_alignment="center")
    row.button("Run sweep", type="primary", key="sw_start",
               disabled=grid is None or found_engine is None or running,
               on_click=_start, args=(grid, data, found_engine))
    row.button("Stop", key="sw_stop", disabled=not running,
               on_click=run.stop if running else None)
    if running:
        row.caption("One sweep at a time per visitor: Stop it to start another.")
        progress(run)


def _start(grid: SweepGrid, data: MnistData, found_engine) -> None:
    run = current()
    if run is not None and not run.finished:
        return
    st.session_state[keys.SWEEP_RUN] = SweepRun(grid.configurations(), data, found_engine)


@st.fragment(run_every=0.5)
def progress(run: SweepRun) -> None:
    """Configurations done of total, time so far and to go; the page redraws at the end."""
    now = run.progress()
    if now.finished:
        st.rerun()
    left = (f" · about {now.remaining:.0f} s left" if now.remaining is not None
            else " · starting the workers")
    stopping = " · stopping after the trainings under way" if now.stopped else ""
    st.progress(now.done / max(now.total, 1),
                text=f"{now.done} of {now.total} configurations · {now.elapsed:.0f} s"
                     f"{left}{stopping}")


def results(run: SweepRun) -> None:
    """The table (sortable, each row linked to Explore), the heatmaps and the CSV."""
    order = {params: i for i, params in enumerate(run.configurations)}
    rows, now = sorted(run.rows, key=lambda r: order[r.params]), run.progress()
    if now.error:
        st.error(now.error, icon=":material/error:")
    if now.abandoned:
        st.info("This sweep stopped: no page watched it for a while. The networks it trained "
                "are kept; Run sweep goes on from the cache.", icon=":material/visibility_off:")
    if not rows:
        return
    failed = sum(not r.ok for r in rows)
    state = "stopped" if now.stopped else ("finished" if now.finished else "running")
    st.subheader("Results")
    st.caption(f"{len(rows)} of {now.total} configurations ({state}, {now.elapsed:.0f} s) on "
               f"{run.engine.description}" + (f"; {failed} failed" if failed else "") + ".")
    st.dataframe(_table(rows), hide_index=True, key="sw_table", column_config={
        "Explore": st.column_config.LinkColumn("Explore", display_text="open",
                                               help="This configuration in Explore"),
        "test accuracy": st.column_config.NumberColumn(format="%.3f"),
        "train accuracy": st.column_config.NumberColumn(format="%.3f"),
        "outcome": st.column_config.TextColumn(help=_OUTCOME_HELP),
        "fit s": st.column_config.NumberColumn(format="%.2f")})
    st.download_button("Download CSV", rows_csv(rows),
                       file_name=f"mlp-lens_sweep_{len(rows)}_networks.csv",
                       mime="text/csv", key="sw_csv", icon=":material/download:")
    if any(r.ok for r in rows):
        st.subheader("Over hidden units × alpha")
        st.caption("Each cell: the mean over the seeds, and below it their standard deviation. "
                   "Over each accuracy map: how its trainings ended, in Explore's words.")
        st.image(figure_png(heatmaps_figure(rows)))


_OUTCOME_HELP = ("How each training ended, in the words Explore shows for it:\n\n"
                 + "\n".join(f"- **{words}**: {meaning}" for words, meaning in MEANINGS.items())
                 + "\n\nThe CSV also keeps scikit-learn's own flag, `converged`, which is "
                   "true for a network stuck with dead units too.")


def _table(rows) -> pd.DataFrame:
    """One line per configuration, in the grid's order; test accuracy only with a hold-out,
    the error column only when a row failed."""
    table = pd.DataFrame([{
        "Explore": explore_link(r.params),
        **{sweep.column: _cell(sweep, getattr(r.params, name)) for name, sweep in SWEEPS.items()},
        "test accuracy": r.test_accuracy,
        "train accuracy": r.train_accuracy, "dead units": r.dead_units,
        "iterations": r.n_iter, "outcome": r.outcome, "fit s": r.fit_seconds,
        "worker": r.worker, "error": r.error,
    } for r in rows])
    if table["test accuracy"].isna().all():
        table = table.drop(columns="test accuracy")
    if (table["error"] == "").all():
        table = table.drop(columns="error")
    return table


def _cell(sweep: Sweep, value):
    """A number stays a number, so that its column sorts by value; anything else, its words."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value
    return sweep.text(value)


def explore_link(params: TrainParams) -> str:
    """The Explore page for exactly this configuration (``TrainParams.to_query``)."""
    base = urljoin(st.context.url, "./") if st.context.url else "./"
    return f"{base}?{urlencode(params.to_query())}"
