"""Sweeps on the local engine: the grid, the rows, the cache, faults, Stop, the command line."""

import csv
import io
import os
import re
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from core import budget as budget_module
from core.data import MnistData
from core.outcome import outcome
from core.params import FIELDS, SWEEPS, InvalidParams, Sweep, TrainParams
from core.sweep import (
    MAX_CONFIGS,
    EngineUnavailable,
    LocalEngine,
    SweepGrid,
    SweepRun,
    columns,
    open_engine,
    rows_csv,
    run_sweep,
)
from core.sweep.__main__ import build_grid, parse_args
from core.sweep.__main__ import main as sweep_main
from core.sweep.figures import cells, dead_share_of, heatmaps_figure, outcomes_note
from core.train import is_trained, train_mlp, train_once, trainings_run

ROOT = Path(__file__).resolve().parents[1]
TINY = TrainParams(max_iter=3, scale_pixels=True, holdout=True)


@pytest.fixture(scope="module")
def engine():
    """Two local worker processes at a time (each configuration a job of its own)."""
    return LocalEngine(2)


@pytest.fixture(scope="module")
def swept(small, engine):
    """A 2 x 2 sweep on 1,200 real digits, 3 epochs: the configurations and their rows."""
    grid = SweepGrid(base=TINY, hidden_units=(3, 6), alpha=(1e-4, 1.0), random_state=(2,),
                     scale_pixels=(True,), solver=("sgd",))
    return grid.configurations(), run_sweep(grid.configurations(), small, engine)


def test_the_default_grid_is_36_networks_of_the_five_lists():
    grid = SweepGrid()
    configs = grid.configurations()
    assert grid.size == len(configs) == 36 == len(set(configs))
    assert {p.hidden_units for p in configs} == {3, 6, 12}
    assert {p.scale_pixels for p in configs} == {False, True}
    assert configs[0].random_state == 2 and configs[1].random_state == 3  # seeds side by side


def test_invalid_lists_give_one_message_per_problem_from_trainparams():
    with pytest.raises(InvalidParams) as caught:
        SweepGrid(hidden_units=(3, 40), alpha=(-1.0,), solver=("sgd", "newton"), random_state=())
    messages = caught.value.messages
    assert "Hidden units must be a whole number from 1 to 36 (got 40)." in messages
    assert any(m.startswith("alpha (L2 penalty) must be a number") for m in messages)
    assert any("newton" in m for m in messages)
    assert "List at least one value for random_state." in messages
    assert len(messages) == 4


def test_more_than_200_configurations_are_refused():
    with pytest.raises(InvalidParams, match=f"at most {MAX_CONFIGS}"):
        SweepGrid(hidden_units=tuple(range(1, 21)), random_state=tuple(range(11)))


def test_each_row_is_the_network_train_once_gives_here_and_lands_in_the_cache(swept, small):
    """Same n_iter, accuracy, dead units and weights as training in this process (one BLAS
    thread both sides); every network is cached, so Explore opens it without training."""
    configs, rows = swept
    assert [row.params for row in rows] == list(configs)
    before = trainings_run()
    for row in rows:
        assert row.ok and row.worker.startswith("local:") and row.worker != f"local:{os.getpid()}"
        here = train_once(row.params, small)
        cached = train_mlp(row.params, small)
        assert (row.n_iter, row.train_accuracy, row.test_accuracy) \
            == (here.n_iter, here.train_accuracy, here.test_accuracy)
        assert row.test_accuracy is not None
        assert row.dead_units == len(here.dead_units)
        assert row.data_fingerprint == small.fingerprint
        for mine, theirs in zip(here.model.coefs_, cached.model.coefs_, strict=True):
            np.testing.assert_array_equal(mine, theirs)
    assert trainings_run() == before + len(rows)  # the train_once calls only: train_mlp loaded


def test_a_second_sweep_loads_every_row_from_the_cache(swept, small, engine):
    configs, rows = swept
    again = run_sweep(configs, small, engine)
    assert [r.worker for r in again] == ["cache"] * len(rows)
    assert [r.n_iter for r in again] == [r.n_iter for r in rows]


def test_the_csv_has_the_issues_columns_and_one_row_per_configuration(swept):
    configs, rows = swept
    table = list(csv.DictReader(io.StringIO(rows_csv(rows))))
    assert tuple(table[0]) == columns()
    assert columns()[:len(SWEEPS)] == tuple(SWEEPS)  # the swept parameters first
    assert set(FIELDS) <= set(columns())  # and every setting of the network
    assert len(table) == len(configs)
    assert table[0]["hidden_units"] == "3" and table[0]["scale_pixels"] == "True"
    assert all(t["worker"].startswith("local:") for t in table)


def test_a_rows_outcome_is_in_explores_words_and_the_csv_keeps_scikit_learns_flag(small,
                                                                                  engine):
    """Issue 21: the stuck raw-pixel network (every unit dead, 25 %) was ticked "converged"
    and the 95 % scaled one was not. Each row now says how its training ended in the words
    Explore says for that network (core.outcome); the CSV keeps scikit-learn's flag beside
    them, and each setting's heatmap counts its trainings in the same words."""
    raw = replace(TINY, max_iter=200, scale_pixels=False)
    scaled = replace(raw, scale_pixels=True)
    rows = {row.params.scale_pixels: row for row in run_sweep([raw, scaled], small, engine)}
    assert (rows[False].dead_units, rows[False].converged) == (6, True)
    assert rows[False].train_accuracy < 0.3 and rows[False].outcome == "stuck, not finished"
    assert (rows[True].dead_units, rows[True].converged, rows[True].n_iter) == (0, False, 200)
    assert rows[True].train_accuracy > 0.9 and rows[True].outcome == "ran out of epochs"
    for row in rows.values():
        said = outcome(train_mlp(row.params, small))  # Explore's words: loaded, not trained
        assert row.outcome == said.words and said.words in said.text.lower()
    table = list(csv.DictReader(io.StringIO(rows_csv(rows.values()))))
    assert [(t["scale_pixels"], t["outcome"], t["converged"]) for t in table] == [
        ("False", "stuck, not finished", "True"), ("True", "ran out of epochs", "False")]
    titles = [ax.get_title() for ax in heatmaps_figure(rows.values()).axes if ax.get_title()]
    assert titles[0].endswith("pixels raw 0–255, solver sgd\n1 stuck, not finished")
    assert titles[2].endswith("pixels scaled to 0–1, solver sgd\n1 ran out of epochs")
    assert outcomes_note([*rows.values(), replace(rows[True], error="it died")]) == (
        "1 ran out of epochs · 1 stuck, not finished")  # a failed row is no network to count


def test_a_parameter_added_to_the_sweeps_is_swept_with_no_other_change(monkeypatch, small,
                                                                     engine):
    """One more entry in the table's SWEEPS: the command has its list option, the default
    grid doubles, the CSV has its column, and the heatmaps keep its values apart."""
    monkeypatch.setitem(SWEEPS, "activation", Sweep("activation", ("relu", "tanh")))
    assert SweepGrid().size == 72
    argv = ["--scale-pixels", "--activation", "relu;tanh", "--max-iter", "3"]
    grid = build_grid(parse_args(argv))
    assert grid.configurations() == tuple(replace(TINY, activation=a) for a in ("relu", "tanh"))
    rows = run_sweep(grid.configurations(), small, engine)
    table = list(csv.DictReader(io.StringIO(rows_csv(rows))))
    assert [t["activation"] for t in table] == ["relu", "tanh"]
    assert list(table[0]).count("activation") == 1
    titles = [ax.get_title() for ax in heatmaps_figure(rows).axes if ax.get_title()]
    assert [t.split("\n")[1] for t in titles[::2]] == [
        "pixels scaled to 0–1, solver sgd, activation relu",
        "pixels scaled to 0–1, solver sgd, activation tanh"]


def test_heatmaps_average_over_seeds(small):
    """Two seeds of one cell: the heatmap cell is their mean, with their spread."""
    rows = run_sweep([replace(TINY, random_state=s) for s in (2, 3)], small, LocalEngine(1))
    found = cells(rows, dead_share_of)[(6, 1e-4)]
    shares = [r.dead_units / 6 for r in rows]
    assert found.n == 2 and found.mean == pytest.approx(np.mean(shares))
    assert found.spread == pytest.approx(np.std(shares))
    figure = heatmaps_figure(rows)
    assert len(figure.axes) == 4  # accuracy and dead units, each with its colour bar
    assert "pixels scaled to 0–1, solver sgd" in figure.axes[0].get_title()
    assert "mean test accuracy" in figure.axes[0].get_title()


class _DiesInTheWorker(TrainParams):
    """A configuration whose worker process dies the moment it receives it (a real exit)."""

    def __reduce__(self):
        return (os._exit, (3,))


def test_a_dying_worker_fails_its_row_and_the_rest_finish(engine, small):
    """A worker process that dies (a real exit, as it receives its configuration) costs its
    own row only, which says so; the others are networks."""
    killer = _DiesInTheWorker(max_iter=3, random_state=7, scale_pixels=True)
    configs = [replace(TINY, random_state=5), killer, replace(TINY, random_state=6)]
    found = {r.params.random_state: r for r in run_sweep(configs, small, engine)}
    assert "died" in found[7].error and "exit code 3" in found[7].error
    assert found[5].ok and found[6].ok and found[5].n_iter == 3


def test_stop_starts_no_new_training_and_keeps_the_rows_done(small):
    configs = [replace(TINY, random_state=s, max_iter=30) for s in range(20, 30)]
    run = SweepRun(configs, small, LocalEngine(1))
    deadline = time.monotonic() + 120
    while not run.rows and time.monotonic() < deadline:
        time.sleep(0.1)
    run.stop()
    assert run.wait(60)
    now = run.progress()
    assert now.finished and now.stopped and not now.error
    assert 1 <= now.done < len(configs)
    assert sum(is_trained(p, small) for p in configs) == now.done


def test_a_sweep_no_page_watches_stops_and_keeps_the_rows_done(small, caplog):
    """A visitor who leaves the Sweep page stops polling it: after the unwatched limit it
    starts no new training, keeps what is done and says why; a watched one goes on."""
    # 40 networks of 30 units: far more than the loky worker (maybe already started) trains
    # before the 1 s limit.
    configs = [replace(TINY, random_state=s, max_iter=100, hidden_units=30)
               for s in range(70, 110)]
    caplog.set_level("INFO", logger="mlp_lens")
    left = SweepRun(configs, small, LocalEngine(1), unwatched_after=1.0)
    assert left.wait(120)
    now = left.progress()
    assert now.finished and now.stopped and now.abandoned and not now.error
    assert now.done < len(configs)
    assert sum(is_trained(p, small) for p in configs) == now.done
    assert "no page watched it for 1 s" in caplog.text

    watched = SweepRun(configs[:3], small, LocalEngine(1), unwatched_after=1.0)
    deadline = time.monotonic() + 120
    while not watched.finished and time.monotonic() < deadline:
        watched.progress()  # the page's fragment polls twice a second
        time.sleep(0.3)
    now = watched.progress()
    assert now.finished and now.done == 3 and not now.stopped and not now.abandoned


def test_an_unreachable_scheduler_says_so_within_ten_seconds():
    start = time.monotonic()
    with pytest.raises(EngineUnavailable, match="cannot be reached"):
        open_engine("tcp://127.0.0.1:9")
    assert time.monotonic() - start <= 10


def test_invalid_command_line_arguments_get_one_line_each_and_exit_2(capsys):
    code = sweep_main(["--hidden-units", "3,x,40", "--alpha", "-1", "--digits", "3",
                       "--scale-pixels", "maybe", "--out", "never.csv"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert err == ["error: --hidden-units: 'x' is not a whole number.",
                   "error: --scale-pixels: 'maybe' is not yes or no.",
                   "error: Pick at least two digits to tell apart (you picked only 3).",
                   "error: Hidden units must be a whole number from 1 to 36 (got 40).",
                   "error: alpha (L2 penalty) must be a number from 0 to 10 (got -1)."]
    assert not Path("never.csv").exists()


def test_the_commands_options_are_the_parameter_table(capsys):
    """--help lists a list option for each swept parameter (the names users know) and a value
    option for every other setting of the table; left out, each is the sweep's base."""
    with pytest.raises(SystemExit):
        sweep_main(["--help"])
    said = capsys.readouterr().out
    lists, settings = said.split("lists to sweep:")[1].split("settings every configuration")

    def options(text):
        return set(re.findall(r"^  (--[a-z-]+)", text, re.MULTILINE))

    assert options(lists) == {f"--{sweep.option}" for sweep in SWEEPS.values()} == {
        "--hidden-units", "--alpha", "--seeds", "--scale-pixels", "--solver"}
    assert options(settings) == {f"--{name.replace('_', '-')}" for name in FIELDS
                                 if name not in SWEEPS}
    assert build_grid(parse_args([])).configurations() == (TrainParams(holdout=True),)
    assert build_grid(parse_args(["--activation", "tanh", "--no-holdout"])).base == TrainParams(
        activation="tanh")


@pytest.mark.parametrize("argv, said", [
    (["--alpha", "-1,0.1"], "error: alpha (L2 penalty) must be a number from 0 to 10 (got -1)."),
    (["--alpha", "-1e-3"], "error: alpha (L2 penalty) must be a number from 0 to 10 (got "
                           "-0.001)."),
    (["--jobs", "-3"], "error: --jobs: '-3' is not a whole number from 1 to 2 (the trainers "
                       "this machine has: MLP_LENS_MAX_TRAININGS)."),
    (["--jobs", "8"], "error: --jobs: '8' is not a whole number from 1 to 2 (the trainers "
                      "this machine has: MLP_LENS_MAX_TRAININGS)."),
    (["--scheduler", "notanaddress"], "error: --scheduler: 'notanaddress' is not a "
                                      "scheduler's address, such as tcp://HOST:8786."),
], ids=["a negative alpha in a list", "a negative exponent", "negative jobs",
        "jobs past the budget", "no address"])
def test_the_commands_numbers_are_checked_like_the_pages(capsys, monkeypatch, argv, said):
    """A value that starts with '-' is a value, not an option; --jobs stays within the
    trainers the server would give (MLP_LENS_MAX_TRAININGS); a scheduler is an address.
    One line each, exit 2, at once, nothing started."""
    monkeypatch.setenv("MLP_LENS_MAX_TRAININGS", "2")
    monkeypatch.setattr(budget_module, "_budget", None)
    started = time.monotonic()
    assert sweep_main([*argv, "--out", "never.csv"]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [said]
    assert time.monotonic() - started < 5 and not Path("never.csv").exists()


def test_the_command_writes_the_csv_with_a_progress_bar_on_stderr(tmp_path):
    """The issue's command, small: 2 x 2 networks on the bundled sample, 2 epochs."""
    out = tmp_path / "sweep.csv"
    env = {**os.environ, "MLP_LENS_DATA": "sample", "MLP_LENS_CACHE": str(tmp_path / "cache")}
    done = subprocess.run(
        [sys.executable, "-m", "core.sweep", "--digits", "0,1,2,3", "--hidden-units", "3,6",
         "--alpha", "0.0001,0.1", "--seeds", "2", "--scale-pixels", "--holdout",
         "--max-iter", "2", "--jobs", "2", "--out", str(out)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    assert "] 4/4 configurations" in done.stderr and "[###" in done.stderr
    table = list(csv.DictReader(out.open()))
    assert [(t["hidden_units"], t["alpha"]) for t in table] == [
        ("3", "0.0001"), ("3", "0.1"), ("6", "0.0001"), ("6", "0.1")]
    assert all(t["worker"].startswith("local:") and t["n_iter"] == "2" for t in table)
    assert all(t["holdout"] == "True" and 0 <= float(t["test_accuracy"]) <= 1 for t in table)


def test_a_sweep_onto_a_full_disk_writes_its_rows_and_says_the_networks_were_not_kept(
        tmp_path, full_disk):
    """The networks are too large for the cache folder's disk: the CSV has every row, and the
    command says in one line that they could not be kept, with exit code 1 (not 0)."""
    out = tmp_path / "sweep.csv"
    env = {**os.environ, "MLP_LENS_DATA": "sample", "MLP_LENS_CACHE": str(full_disk)}
    done = subprocess.run(
        [sys.executable, "-m", "core.sweep", "--digits", "0,1,2,3,4,5,6,7,8,9",
         "--hidden-units", "30", "--seeds", "1,2", "--scale-pixels", "--max-iter", "20",
         "--out", str(out)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 1, done.stderr
    assert "could not be saved" in done.stderr and "Traceback" not in done.stderr
    table = list(csv.DictReader(out.open()))
    assert [t["random_state"] for t in table] == ["1", "2"] and not any(t["error"] for t in table)
    assert not [p for p in full_disk.rglob("*") if p.is_file() and "output.pkl" in p.name]


def test_data_that_no_longer_match_their_fingerprint_fail_the_row_and_nothing_is_kept(small,
                                                                                    engine):
    """One pixel changed after the data were fingerprinted (as a file changed under a running
    server): the worker notices, trains nothing, and the cache keeps nothing."""
    # Rows of their own: no copy of these data was written for a worker before the change.
    changed = MnistData(small.X[:700].copy(), small.y[:700].copy(), source="sample",
                        note="changed")
    changed.X[0, 400] ^= 1
    params = replace(TINY, random_state=11)
    (row,) = run_sweep([params], changed, engine)
    assert "fingerprint" in row.error and row.n_iter is None
    assert not is_trained(params, changed)


def test_two_visitors_sweeping_at_once_both_finish_on_the_shared_workers(small):
    """Two sweeps in two threads of one server share loky's workers; every row of both is
    a network, and a configuration both list is right in both."""
    first = [replace(TINY, random_state=s) for s in (40, 41, 42)]
    second = [replace(TINY, random_state=s) for s in (42, 43, 44)]
    runs = [SweepRun(configs, small, LocalEngine(2)) for configs in (first, second)]
    for run in runs:
        assert run.wait(300)
    for run, configs in zip(runs, (first, second), strict=True):
        assert not run.progress().error
        assert sorted(r.params.random_state for r in run.rows) == [p.random_state for p in configs]
        assert all(r.ok and r.n_iter == 3 for r in run.rows)


def test_local_sweeps_take_trainers_from_the_servers_budget(small):
    """While every trainer of the server is taken (visitors training in Explore), a local
    sweep waits in the same line; once one is free, it trains."""
    from core.budget import budget

    trainers = budget()
    held = [trainers.request("explore") for _ in range(trainers.limit)]
    try:
        assert all(ticket.granted for ticket in held)
        run = SweepRun([replace(TINY, random_state=60)], small, LocalEngine(2))
        time.sleep(3)
        assert run.progress().done == 0 and trainers.waiting == 1
    finally:
        for ticket in held:
            ticket.release()
    assert run.wait(180)
    assert [row.ok for row in run.rows] == [True]
