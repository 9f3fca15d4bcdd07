"""Time the lesson's code against MLP Lens on this machine: ``python -m bench.run``.

One command, one run: it prepares the data (the shared tool's offline OpenML
cache of mnist_784, else the bundled sample), runs every row in a fresh Python
process one after another, and prints a Markdown report on stdout (progress
goes to stderr). The same report is saved as JSON under ``bench/results/``.

Options: ``--rows N`` (rows the tool writes, default 70,000), ``--max-iter N``
(default 200, the lesson's), ``--quick`` (2,000 rows and 5 epochs: the smoke
test's setting).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from datetime import datetime
from os import getloadavg
from pathlib import Path
from time import perf_counter

from bench.datahome import DataSource, prepare_data
from bench.machine import describe_machine
from bench.measure import ROOT, Measurement, measure
from bench.report import (
    collect_rows,
    digits_note,
    held_out,
    markdown,
    networks,
    parallel_capacity,
    write_json,
)
from bench.watch import CHROMIUM, WATCHED

LESSON_MAX_ITER, QUICK_ROWS, QUICK_MAX_ITER = 200, 2_000, 5
SEEDS = (2, 3, 4, 5)  # the Compare seeds page's default
SWEEP_ENGINES = ("sequential", "local", "dask")
# The largest network's cache entry: (training images, max_iter). Enough epochs for the
# history's 100 frames; its size on disk does not depend on the number of images.
LARGEST, LARGEST_QUICK = (5_000, 1000), (500, 150)
NO_OPENML = "not run: needs the OpenML cache (see Data)"
NO_CHROMIUM = f"not run: needs Chromium at {CHROMIUM} (apt-get install chromium)"
NO_CLASS_QUICK = "not run with --quick: a class takes minutes (`make load` runs it too)"
NO_VISIT_QUICK = ("not run with --quick: a server and Chromium of its own (the browser tests "
                  "open first pages too)")
WATCH_WINDOW, WATCH_WINDOW_QUICK = 8.0, 1.0  # seconds of a live training whose CPU is read


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, help="rows of mnist_784 the tool writes (70000)")
    parser.add_argument("--max-iter", type=int, help="epochs, for every row (200, the lesson's)")
    parser.add_argument("--quick", action="store_true",
                        help=f"tiny: {QUICK_ROWS} rows and {QUICK_MAX_ITER} epochs (smoke test)")
    parser.add_argument("--reruns", type=_positive, default=5, help="page reruns to time (5)")
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared",
                        help="the shared folder with tools/make_openml_mnist_cache.py")
    parser.add_argument("--data-dir", type=Path, default=ROOT / "bench" / ".data",
                        help="where the built OpenML caches are kept for the next run")
    parser.add_argument("--results-dir", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument("--work-dir", type=Path,
                        help="for MLP Lens's caches (default: a temporary folder, removed)")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds per process")
    args = parser.parse_args(argv)
    args.rows = args.rows or (QUICK_ROWS if args.quick else 70_000)
    args.max_iter = args.max_iter or (QUICK_MAX_ITER if args.quick else LESSON_MAX_ITER)
    return args


def main(argv=None) -> int:
    """Run the benchmark; print the report; return 1 if any row failed."""
    args = parse_args(argv)
    started = perf_counter()
    _progress("describing the machine")
    machine = describe_machine()
    _progress(f"preparing the data ({args.rows:,} rows)")
    source = prepare_data(shared=args.shared, rows=args.rows, data_dir=args.data_dir)
    _progress(source.note)
    work = args.work_dir or Path(tempfile.mkdtemp(prefix="mlp-lens-bench-"))
    try:
        measurements = Bench(source, args, work).run_all()
    finally:
        if args.work_dir is None:
            shutil.rmtree(work, ignore_errors=True)
    text, payload = _report(machine, source, args, measurements, perf_counter() - started)
    sys.stdout.write(text)
    sys.stdout.flush()
    _progress(f"JSON: {write_json(args.results_dir, payload)}")
    failed = [key for key, m in measurements.items() if isinstance(m, Measurement) and not m.ok]
    return 1 if failed else 0


class Bench:
    """The measurements, in order, each in a fresh process with its own MLP Lens cache."""

    def __init__(self, source: DataSource, args: argparse.Namespace, work: Path):
        self.source, self.args, self.work = source, args, work
        self.home = str(source.home) if source.openml else None
        self.prime = work / "prime"  # holds the uint8 data copy every MLP Lens row starts from

    def run_all(self) -> dict[str, Measurement | str]:
        primed = self._measure("priming MLP Lens's data copy", "lens_load", cache=self.prime,
                               data_home=self.home)
        if not primed.ok:
            reason = f"not run: priming the data copy failed ({primed.error})"
            return {"prime": primed, **dict.fromkeys(_ALL_KEYS, reason)}
        found: dict[str, Measurement | str] = {}
        found["fetch"] = self._lesson_only("data load: fetch_openml", "fetch_load",
                                           cache=self.prime, data_home=self.home)
        found["load"] = self._measure("data load: load_mnist", "lens_load", cache=self.prime,
                                      data_home=self.home)
        for scale, suffix in ((False, ""), (True, "_scaled")):
            found["lesson" + suffix] = self._lesson_only(
                f"lesson script{suffix}", "lesson_script", cache=self.prime,
                data_home=self.home, max_iter=self.args.max_iter, scale=scale)
        for scale, suffix in ((False, ""), (True, "_scaled")):
            found.update(self._cold_and_warm(scale, suffix))
        for scale, suffix in ((False, ""), (True, "_scaled")):
            found["holdout" + suffix] = _expect(self._measure(
                f"MLP Lens cold, test digits held out{suffix}", "lens_train",
                cache=_fresh_cache(self.prime, self.work / ("holdout" + suffix)),
                data_home=self.home, max_iter=self.args.max_iter, scale=scale, holdout=True),
                trained=1)
        found["page"] = self._page(self.work / "models")
        found["charts"] = self._measure("the page's loss chart, drawn two ways", "charts",
                                        cache=self.work / "models", data_home=self.home,
                                        max_iter=self.args.max_iter)
        found.update(self._watching())
        for parallel, key in ((False, "seeds_sequential"), (True, "seeds_parallel")):
            how = "in parallel workers" if parallel else "one after another"
            found[key] = self._measure(
                f"4 seeds {how}", "seeds",
                cache=_fresh_cache(self.prime, self.work / key), data_home=self.home,
                max_iter=self.args.max_iter, seeds=list(SEEDS), parallel=parallel)
        found["capacity"] = self._measure("parallel capacity: one process, then two at once",
                                          "capacity", cache=self.work / "capacity")
        found["first_visit"] = NO_VISIT_QUICK if self.args.quick else self._measure(
            "first visit of a new server (offline sample)", "first_visit",
            cache=self.work / "first_visit") if Path(CHROMIUM).exists() else NO_CHROMIUM
        found["class"] = NO_CLASS_QUICK if self.args.quick else self._measure(
            "a class of visitors", "class_run",
            cache=_fresh_cache(self.prime, self.work / "class"), data_home=self.home)
        found["first_weights"] = self._measure(
            "first live weights of a new network (offline sample)", "first_weights",
            cache=_fresh_cache(self.prime, self.work / "first_weights"),
            max_iter=self.args.max_iter)
        for how in ("processes", "threads"):
            found[f"two_{how}"] = self._measure(
                f"2 trainings at once in 2 {how}", "two_trainings", cache=self.prime,
                data_home=self.home, max_iter=self.args.max_iter, how=how)
        for engine in SWEEP_ENGINES:
            key = f"sweep_{engine}"
            found[key] = self._measure(
                f"sweep of 16 configurations: {engine}", "sweep",
                cache=_fresh_cache(self.prime, self.work / key), data_home=self.home,
                max_iter=self.args.max_iter, engine=engine)
        found["recording"] = self._measure(
            "cost of recording the history", "recording", cache=self.prime,
            data_home=self.home, max_iter=self.args.max_iter, scale=False, repeats=2)
        rows, epochs = LARGEST_QUICK if self.args.quick else LARGEST
        found["history_size"] = self._measure(
            "largest network's cache entry", "history_size",
            cache=_fresh_cache(self.prime, self.work / "largest"), data_home=self.home,
            rows=rows, max_iter=epochs)
        return found

    def _cold_and_warm(self, scale: bool, suffix: str) -> dict[str, Measurement]:
        """Train in a cache holding only the data copy, then load the same network from it."""
        cache = _fresh_cache(self.prime, self.work / ("models" + suffix))
        train = {"data_home": self.home, "max_iter": self.args.max_iter, "scale": scale}
        cold = self._measure(f"MLP Lens cold{suffix}", "lens_train", cache=cache, **train)
        warm = self._measure(f"MLP Lens warm{suffix}", "lens_train", cache=cache, **train)
        return {"cold" + suffix: _expect(cold, trained=1),
                "warm" + suffix: _expect(warm, trained=0)}

    def _page(self, cache: Path) -> Measurement:
        """The Explore page on the lesson config's warm cache, loading data as a server would."""
        epochs = self.args.max_iter
        query = {} if epochs == LESSON_MAX_ITER else {"max_iter": str(epochs)}
        return self._measure("page: first run and reruns", "page", cache=cache,
                             sklearn_data=self.home, app=str(ROOT / "app.py"),
                             reruns=self.args.reruns, query=query)

    def _watching(self) -> dict[str, Measurement | str]:
        """One network trained by core alone, then the same watched live in Chromium, each
        from an empty model cache (the watched one on a server of its own)."""
        query = {**WATCHED, "max_iter": str(self.args.max_iter)}
        alone = self._measure("36 units, 10 digits, core alone", "core_alone",
                              cache=_fresh_cache(self.prime, self.work / "alone"),
                              data_home=self.home, query=query)
        if not Path(CHROMIUM).exists():
            _progress(f"watched: {NO_CHROMIUM}")
            return {"core_alone": alone, "watched": NO_CHROMIUM}
        watched = self._measure("the same network watched in Chromium", "watched",
                                cache=_fresh_cache(self.prime, self.work / "watched"),
                                data_home=self.home, query=query,
                                window=WATCH_WINDOW_QUICK if self.args.quick else WATCH_WINDOW)
        return {"core_alone": alone, "watched": watched}

    def _lesson_only(self, label: str, workload: str, **arguments) -> Measurement | str:
        if not self.source.openml:
            _progress(f"{label}: {NO_OPENML}")
            return NO_OPENML
        return self._measure(label, workload, **arguments)

    def _measure(self, label: str, workload: str, *, cache: Path, sklearn_data=None,
                 **arguments) -> Measurement:
        env = {"MLP_LENS_CACHE": str(cache),
               "MLP_LENS_DATA": None if self.source.openml else "sample"}
        if sklearn_data is not None:
            env["SCIKIT_LEARN_DATA"] = sklearn_data
        _progress(f"{label} …")
        found = measure(workload, env=env, timeout=self.args.timeout, **arguments)
        _progress(f"{label}: " + (f"{found.values['seconds'] or 0:.3f} s, "
                                  f"{found.rss_mb:,.0f} MB" if found.ok else found.error))
        return found


_ALL_KEYS = ("fetch", "load", "lesson", "lesson_scaled", "cold", "warm", "cold_scaled",
             "warm_scaled", "holdout", "holdout_scaled", "page", "charts", "core_alone",
             "watched", "seeds_sequential", "seeds_parallel", "capacity", "two_processes",
             "two_threads", "first_visit", "class", "first_weights", "sweep_sequential",
             "sweep_local", "sweep_dask", "recording", "history_size")


def _fresh_cache(prime: Path, cache: Path) -> Path:
    """A cache folder with the primed uint8 data copy and no trained network."""
    shutil.rmtree(cache, ignore_errors=True)
    shutil.copytree(prime / "data", cache / "data")
    return cache


def _expect(found: Measurement, *, trained: int) -> Measurement:
    """Mark a cold row that did not train, or a warm row that did, as failed."""
    if not found.ok or found.values["trained_here"] == trained:
        return found
    wanted = "a training" if trained else "a cache hit"
    return Measurement(found.workload, found.values, found.process_seconds,
                       error=f"expected {wanted}, got {found.values['trained_here']} trainings")


def _report(machine: dict, source: DataSource, args, measurements, wall: float
            ) -> tuple[str, dict]:
    """The Markdown text and the JSON payload of this run."""
    rows = collect_rows(measurements)
    trained, tested = networks(measurements), held_out(measurements)
    epochs = "the lesson's" if args.max_iter == LESSON_MAX_ITER else "not the lesson's 200"
    settings = (f"max_iter={args.max_iter} ({epochs}); {args.reruns} page reruns"
                + ("; --quick" if args.quick else ""))
    note = digits_note(measurements)
    load_after = getloadavg()
    capacity = parallel_capacity(measurements)
    text = markdown(machine=machine, data_note=source.note, settings=settings, rows=rows,
                    trained=trained, digits_note=note, load_after=load_after, wall_seconds=wall,
                    tested=tested, capacity=capacity)
    payload = {"when": datetime.now().astimezone().isoformat(), "machine": machine,
               "load_average_after": load_after, "options": vars(args), "data": source,
               "rows": rows, "networks": trained, "held_out": tested, "digits": note,
               "parallel_capacity": capacity,
               "measurements": measurements, "wall_seconds": wall, "markdown": text}
    return text, payload


def _progress(message: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {message}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
