"""The benchmark's report: the rows and the trained networks, as Markdown and JSON.

It reports measurements only; what they should be is for the issues that set targets.

``ROWS`` is the one table of what is reported: each row's name, the
measurement it comes from, and the row of the lesson's plain code it is
compared with.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

from bench.measure import Measurement

NOT_RUN = "not run"
_CONVERGED = {True: "yes", False: "no", None: "unknown"}


def _lesson_detail(v: dict) -> str:
    return (f"imports {v['imports']:.1f} + fetch_openml and X[y <= '3'] {v['load']:.1f} + "
            f"fit {v['fit']:.1f} s ({v['n_iter']} epochs)")


def _lens_detail(v: dict) -> str:
    how = "trained" if v["trained_here"] else "loaded from the model cache"
    return (f"imports {v['imports']:.1f} + load_mnist {v['load']:.2f} + "
            f"train_mlp {v['train']:.2f} s ({how})")


def _call_detail(v: dict) -> str:
    return (f"the call alone, after importing sklearn.datasets; {v['total']:.2f} s with "
            f"imports; {v['rows']:,} rows")


def _page_first_detail(v: dict) -> str:
    return f"first AppTest run (data and model from disk); AppTest import {v['imports']:.1f} s"


def _charts_detail(v: dict) -> str:
    return (f"the page's loss chart ({v['points']} epochs), median of {v['repeats']} draws: "
            f"a Vega-Lite spec; st.line_chart took {v['altair'] * 1000:.1f} ms")


def _charts_altair_detail(v: dict) -> str:
    return f"the same chart through Altair, median of {v['repeats']} draws"


def _two_trainings_detail(v: dict) -> str:
    where = ("two threads of one process, as the server's live trainings ran before"
             if v["how"] == "threads" else
             "two jobs (core.jobs): worker processes from the fork server, as trainings run now")
    return f"the lesson config, seeds 2 and 3, not cached, at once: {where}"


def _first_visit_detail(v: dict) -> str:
    """The goal: at most 3 s."""
    return (f"a new server on the offline sample (ready for visitors in {v['ready']}), its "
            f"first visitor: from opening the page to the training's start (finished page at "
            f"{v['finished']:.1f} s); goal at most 3 s")


def _class_detail(v: dict) -> str:
    """The goals of issue 22, each measured."""
    goals = "; ".join(f"{g['name']}: {g['measured']}" + (f" (goal {g['goal']})" if g["goal"]
                                                           else "") for g in v["goals"])
    return (f"{v['visitors']} headless visitors within 10 s, each on a new network on "
            f"{v['data']}, then {v['visitors']} on the cached ones (load average "
            f"{v['load'][0]:.1f} at the start): time to the last network finished; {goals}; "
            f"CPU while the queue ran: {v['cpu']}")


def _first_weights_detail(v: dict) -> str:
    """The goal: at most 0.5 s."""
    return (f"from asking for a new network (36 units, {v['n_samples']:,} sample images) to "
            f"its first epoch's weights, with the fork server warm (its first job took "
            f"{v['warm_up']:.1f} s); goal at most 0.5 s")


def _core_alone_detail(v: dict) -> str:
    return (f"train_mlp alone, {v['n_iter']} epochs on {v['n_samples']:,} images "
            f"(training accuracy {v['train_accuracy']:.1%})")


def _watched_detail(v: dict) -> str:
    """The goals: at most 1.15x core alone, at most 0.03 of a core for the page threads."""
    if v.get("page_cores") is None:
        cpu = "page CPU not measured: the training ended inside the window"
    else:
        cpu = (f"server CPU over {v['window']:.0f} s of the training: page threads "
               f"**{v['page_cores']:.3f}** of a core (goal ≤ 0.03), the training "
               f"{v['training_cores']:.2f}")
    return (f"link opened → finished page, one visitor in Chromium (goal ≤ 1.15×): the first "
            f"live view at {v['first_view']:.1f} s, the training ended at {v['trained']:.1f} s, "
            f"the finished network shown at {v['seconds']:.1f} s; {cpu}")


def _page_rerun_detail(v: dict) -> str:
    times = v["reruns"]
    return f"median of {len(times)} reruns, {min(times):.3f}–{max(times):.3f} s"


def _seeds_detail(v: dict) -> str:
    if not v["workers"]:
        return (f"seeds {', '.join(map(str, v['seeds']))}: train_mlp one after another in one "
                f"process (after imports {v['imports']:.1f} + load_mnist {v['load']:.2f} s)")
    return (f"{v['workers']} worker processes at a time, each mapping the {v['data_mb']:.0f} MB "
            f"uint8 copy; largest worker's peak RSS {v['worker_peak_mb']:,.0f} MB (forked "
            "from a fork server that imported scikit-learn once)")


def _sweep_detail(v: dict) -> str:
    how = {"sequential": "train_mlp one after another in one process",
           "local": f"local engine: {v['workers']} loky worker processes, their start included",
           "dask": f"Dask cluster of {v['workers']} worker processes on this machine (its "
                   f"start, {v['cluster_start'] or 0:.1f} s, not included)"}[v["engine"]]
    return f"{v['configs']} networks, {v['epochs']} epochs in all; {how}; weights {v['weights']}"


def _capacity_detail(v: dict) -> str:
    return (f"the same CPU-bound Python function: {v['alone']:.2f} s in one process, "
            f"{v['pair']:.2f} s for two processes at once: capacity **{v['capacity']:.2f}** "
            f"processes (2.00: two full cores)")


def _recording_detail(v: dict) -> str:
    return (f"(#13: must stay under 1.10× a plain fit) fastest of {len(v['plain_all'])} "
            f"alternating fits each, lesson config, one BLAS thread ({v['n_iter']} epochs on "
            f"{v['n_samples']:,} images; {v['frames']} frames, probe of {v['probe']}; same "
            f"weights: {'yes' if v['same_weights'] else 'NO'})")


def _history_size_detail(v: dict) -> str:
    return (f"cache entry on disk {v['entry_bytes'] / 1e6:.1f} MB, of which the history "
            f"{v['history_bytes'] / 1e6:.1f} MB ({v['frames']} frames of {v['n_iter']} epochs; "
            f"time: training on {v['rows']:,} images, which does not change the size)")


@dataclass(frozen=True)
class RowSpec:
    """One row of the table."""

    key: str
    name: str
    baseline: str  # the key of the lesson-code row it is compared with
    detail: Callable[[dict], str]
    measurement: str = ""  # the measurement it reads, when not ``key``
    value: str = "seconds"  # the reported number that is its time


ROWS = (
    RowSpec("lesson", "lesson script (raw pixels)", "lesson", _lesson_detail),
    RowSpec("lesson_scaled", "lesson script (scaled pixels, X5 / 255)", "lesson_scaled",
            _lesson_detail),
    RowSpec("cold", "MLP Lens cold (lesson config)", "lesson", _lens_detail),
    RowSpec("cold_scaled", "MLP Lens cold (scaled pixels)", "lesson_scaled", _lens_detail),
    RowSpec("warm", "MLP Lens warm (lesson config)", "lesson", _lens_detail),
    RowSpec("warm_scaled", "MLP Lens warm (scaled pixels)", "lesson_scaled", _lens_detail),
    RowSpec("holdout", "MLP Lens cold, test digits held out (lesson config)", "lesson",
            _lens_detail),
    RowSpec("holdout_scaled", "MLP Lens cold, test digits held out (scaled pixels)",
            "lesson_scaled", _lens_detail),
    RowSpec("fetch", "data load: fetch_openml (scikit-learn's cache)", "fetch", _call_detail),
    RowSpec("load", "data load: load_mnist (MLP Lens's uint8 copy)", "fetch", _call_detail),
    RowSpec("page_first", "page first run (cached model)", "lesson", _page_first_detail,
            measurement="page", value="first_run"),
    RowSpec("page_rerun", "page rerun (cached model)", "lesson", _page_rerun_detail,
            measurement="page"),
    RowSpec("charts_altair", "page's loss chart via st.line_chart (before)", "charts_altair",
            _charts_altair_detail, measurement="charts", value="altair"),
    RowSpec("charts", "page's loss chart as a Vega-Lite spec", "charts_altair", _charts_detail),
    RowSpec("core_alone", "36 units, 10 digits, trained by core alone", "core_alone",
            _core_alone_detail),
    RowSpec("watched", "the same network watched live in Chromium", "core_alone",
            _watched_detail),
    RowSpec("seeds_sequential", "4 seeds one after another (lesson config)", "seeds_sequential",
            _seeds_detail),
    RowSpec("seeds_parallel", "4 seeds in parallel workers (lesson config)", "seeds_sequential",
            _seeds_detail),
    RowSpec("capacity", "parallel capacity: 2 processes at once", "capacity", _capacity_detail),
    RowSpec("two_processes", "2 trainings at once as 2 jobs (worker processes)", "two_processes",
            _two_trainings_detail),
    RowSpec("two_threads", "2 trainings at once in 2 threads of one process", "two_processes",
            _two_trainings_detail),
    RowSpec("first_visit", "first visit of a new server to training start (sample)", "",
            _first_visit_detail),
    RowSpec("class", "a class: 30 visitors on new networks, then 30 on cached ones", "",
            _class_detail),
    RowSpec("first_weights", "first live weights of a new network (sample)", "",
            _first_weights_detail),
    RowSpec("sweep_sequential", "sweep of 16 configurations, one after another",
            "sweep_sequential", _sweep_detail),
    RowSpec("sweep_local", "sweep of 16 configurations, local engine (2 processes)",
            "sweep_sequential", _sweep_detail),
    RowSpec("sweep_dask", "sweep of 16 configurations, local Dask cluster (2 processes)",
            "sweep_sequential", _sweep_detail),
    RowSpec("fit_plain", "fit without recording the history", "fit_plain", _recording_detail,
            measurement="recording", value="plain"),
    RowSpec("fit_recorded", "fit recording the history", "fit_plain", _recording_detail,
            measurement="recording", value="recorded"),
    RowSpec("history_size", "largest network (36 units, 10 digits) trained and cached", "",
            _history_size_detail),
)
# Rows that run two processes at once: their ratio is shown next to the bound this machine
# allows, 1 / capacity (0.5 only where two processes really run at full speed).
PARALLEL_ROWS = ("seeds_parallel", "sweep_local", "sweep_dask")
BASELINE_NAMES = {"lesson": "lesson script", "lesson_scaled": "lesson script (scaled)",
                  "charts_altair": "st.line_chart", "core_alone": "core alone",
                  "two_processes": "2 processes",
                  "fetch": "fetch_openml", "seeds_sequential": "one after another",
                  "sweep_sequential": "one after another", "capacity": "one process alone",
                  "fit_plain": "plain fit"}


@dataclass(frozen=True)
class Row:
    """One measured (or skipped) row."""

    key: str
    name: str
    baseline: str
    status: str  # "ok", "failed" or "not run"
    seconds: float | None
    rss_mb: float | None
    detail: str


def collect_rows(measurements: dict[str, Measurement | str]) -> dict[str, Row]:
    """Every row of ``ROWS`` from the measurements (a string: why it was not run)."""
    return {spec.key: _row(spec, measurements.get(spec.measurement or spec.key, NOT_RUN))
            for spec in ROWS}


def _row(spec: RowSpec, found: Measurement | str) -> Row:
    if isinstance(found, str):
        return Row(spec.key, spec.name, spec.baseline, NOT_RUN, None, None, found)
    if not found.ok:
        return Row(spec.key, spec.name, spec.baseline, "failed", None, found.rss_mb, found.error)
    values = found.values
    return Row(spec.key, spec.name, spec.baseline, "ok", values[spec.value], found.rss_mb,
               spec.detail(values))


def ratio(rows: dict[str, Row], key: str) -> float | None:
    """The row's time over its baseline's, when both ran (None for a row without one)."""
    if rows[key].baseline not in rows:
        return None
    row, base = rows[key], rows[rows[key].baseline]
    if row.seconds is None or not base.seconds:
        return None
    return row.seconds / base.seconds


def networks(measurements: dict[str, Measurement | str]) -> list[dict]:
    """The lesson config's and the scaled config's trained networks, from MLP Lens's results."""
    found = []
    for suffix, config in (("", "lesson config (raw pixels)"), ("_scaled", "scaled pixels")):
        result = _values(measurements, "cold" + suffix) or _values(measurements, "warm" + suffix)
        if result is None:
            continue
        lesson = _values(measurements, "lesson" + suffix)
        found.append({
            "config": config,
            "training_rows": result["n_samples"],
            "train_accuracy": result["train_accuracy"],
            "dead_units": f"{result['dead_units']} of {result['hidden_units']}",
            "epochs": result["n_iter"],
            "converged": result["converged"],
            "same_weights_as_lesson": None if lesson is None else
            result["weights"] == lesson["weights"] and result["n_iter"] == lesson["n_iter"],
        })
    return found


def held_out(measurements: dict[str, Measurement | str]) -> list[dict]:
    """Training and test accuracy of the lesson config and the scaled config, each trained on
    the training digits only and measured on the held-out test digits."""
    found = []
    for suffix, config in (("", "lesson config (raw pixels)"), ("_scaled", "scaled pixels")):
        result = _values(measurements, "holdout" + suffix)
        if result is None or result["test_accuracy"] is None:
            continue
        found.append({"config": config, "training_rows": result["n_samples"],
                      "test_rows": result["n_test"], "train_accuracy": result["train_accuracy"],
                      "test_accuracy": result["test_accuracy"], "epochs": result["n_iter"],
                      "dead_units": f"{result['dead_units']} of {result['hidden_units']}",
                      "split": result["split"]})
    return found


def _held_out_table(found: list[dict]) -> list[str]:
    if not found:
        return ["Not measured (see the failed rows above)."]
    lines = [f"{found[0]['split']}.", "",
             "| Configuration | Training rows (0–3) | Test rows (0–3) | Training accuracy "
             "| Test accuracy | Gap (points) | Dead units | Epochs |",
             "|---|--:|--:|--:|--:|--:|--:|--:|"]
    for f in found:
        gap = (f["train_accuracy"] - f["test_accuracy"]) * 100
        lines.append(f"| {f['config']} | {f['training_rows']:,} | {f['test_rows']:,} "
                     f"| {f['train_accuracy']:.2%} | {f['test_accuracy']:.2%} | {gap:+.2f} "
                     f"| {f['dead_units']} | {f['epochs']} |")
    return lines


def _values(measurements: dict, key: str) -> dict | None:
    found = measurements.get(key)
    return found.values if isinstance(found, Measurement) and found.ok else None


def markdown(*, machine: dict, data_note: str, settings: str, rows: dict[str, Row],
             trained: list[dict], digits_note: str, load_after: tuple,
             wall_seconds: float, tested: list[dict] = (),
             capacity: float | None = None) -> str:
    """The whole report, ready to paste into an issue."""
    lines = ["## MLP Lens benchmark", "",
             f"Run {datetime.now().astimezone():%Y-%m-%d %H:%M %Z}. Every row is one fresh "
             "Python process, run one after another; time is wall-clock inside the process "
             "(imports included unless said), peak RSS is the process's `ru_maxrss`.", ""]
    lines += _header(machine, data_note, settings, load_after)
    lines += ["", "| Row | Time (s) | vs. the lesson's code | Peak RSS (MB) | Breakdown |",
              "|---|--:|--:|--:|---|"]
    lines += [_table_line(rows, key, capacity) for key in rows]
    lines += ["", "### The trained networks (for the record)", ""] + _networks_table(trained)
    lines += ["", "### On MNIST's test digits (trained with them held out)", ""]
    lines += _held_out_table(list(tested))
    lines += ["", digits_note, "", f"Whole benchmark: {wall_seconds:.0f} s of wall clock "
              "(data preparation included)."]
    return "\n".join(lines) + "\n"


def _header(machine: dict, data_note: str, settings: str, load_after: tuple) -> list[str]:
    packages = " · ".join(f"{name} {v}" for name, v in machine["packages"].items())
    pools = " · ".join(f"{_pool(p)}: {p['num_threads']} threads" for p in machine["threadpools"])
    env = ", ".join(f"`{k}={v}`" for k, v in machine["environment"].items())
    load = " ".join(f"{x:.2f}" for x in machine["load_average"])
    return [
        f"- **Machine:** {machine['cpu']} · {machine['cpus']} CPUs · {machine['platform']} · "
        f"load average {load} at the start, {load_after[0]:.2f} at the end",
        f"- **Python** {machine['python']} · {packages}",
        f"- **BLAS/OpenMP (threadpoolctl):** {pools}",
        f"- **Environment (left as is):** {env}",
        f"- **Data:** {data_note}",
        f"- **Settings:** {settings}",
    ]


def _pool(pool: dict) -> str:
    """``openblas (libscipy_openblas 0.3.30, Haswell)``: the library behind one thread pool."""
    about = ", ".join(str(pool[k]) for k in ("version", "architecture") if pool.get(k))
    return f"{pool['internal_api']} ({pool['prefix']}{' ' + about if about else ''})"


def _table_line(rows: dict[str, Row], key: str, capacity: float | None) -> str:
    row = rows[key]
    seconds = _seconds(row.seconds) if row.seconds is not None else row.status
    rss = f"{row.rss_mb:,.0f}" if row.rss_mb else "—"
    return (f"| {row.name} | {seconds} | {_ratio_text(rows, key, capacity)} | {rss} "
            f"| {row.detail} |")


def _ratio_text(rows: dict[str, Row], key: str, capacity: float | None = None) -> str:
    value, base = ratio(rows, key), rows[key].baseline
    if key == "capacity":
        return f"capacity {capacity:.2f}" if capacity else "—"
    if key == base:
        return "1.00 (baseline)" if value is not None else "—"
    if value is None:
        return "—"
    text = f"{value:.3f}× {BASELINE_NAMES[base]}" if value < 0.1 else \
        f"{value:.2f}× {BASELINE_NAMES[base]}"
    if key in PARALLEL_ROWS and capacity:
        text += f" (bound here: {1 / capacity:.2f}× = 1 / capacity {capacity:.2f})"
    return text


def parallel_capacity(measurements: dict[str, Measurement | str]) -> float | None:
    """Processes' worth of speed two processes at once get here (from the capacity row)."""
    found = _values(measurements, "capacity")
    return found["capacity"] if found else None


def _seconds(value: float) -> str:
    return f"{value:.3f}" if value < 10 else f"{value:.1f}"


def _networks_table(trained: list[dict]) -> list[str]:
    if not trained:
        return ["No network was trained (see the failed rows above)."]
    lines = ["| Configuration | Training rows (0–3) | Training accuracy | Dead units | Epochs "
             "| Converged | Same weights as the lesson script |", "|---|--:|--:|--:|--:|---|---|"]
    for t in trained:
        same = {True: "yes", False: "**no**", None: "— (not run)"}[t["same_weights_as_lesson"]]
        lines.append(f"| {t['config']} | {t['training_rows']:,} | {t['train_accuracy']:.2%} "
                     f"| {t['dead_units']} | {t['epochs']} | {_CONVERGED[t['converged']]} "
                     f"| {same} |")
    return lines


def digits_note(measurements: dict[str, Measurement | str]) -> str:
    """How many training rows digits 0–3 give, of how many, per digit."""
    load = _values(measurements, "load")
    if load is None:
        return "Training rows for digits 0–3: unknown (the load_mnist row did not run)."
    counts = {int(d): n for d, n in load["counts"].items()}
    chosen = sum(counts[d] for d in range(4))
    each = ", ".join(f"{d}: {counts[d]:,}" for d in range(4))
    note = f"Training rows for digits 0–3: **{chosen:,}** of {load['rows']:,} ({each})."
    if load["source"] == "sample":
        note += " The bundled sample: 500 real MNIST digits per class."
    return note


def write_json(folder: Path, payload: dict) -> Path:
    """Save the run under ``folder`` as ``bench-<time>.json``; return its path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"bench-{datetime.now():%Y%m%d-%H%M%S}.json"
    path.write_text(json.dumps(payload, indent=2, default=_jsonable) + "\n", encoding="utf-8")
    return path


def _jsonable(value):
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "__dataclass_fields__"):
        return asdict(value)
    raise TypeError(f"cannot write {type(value).__name__} as JSON")
