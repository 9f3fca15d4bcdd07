"""Run a sweep from the command line and write one CSV row per configuration.

    python -m core.sweep --digits 0,1,2,3 --hidden-units 3,6 --alpha 0.0001,0.1 \\
        --seeds 2,3 --scale-pixels --holdout --max-iter 15 --out sweep.csv \\
        [--scheduler tcp://HOST:PORT]

Lists are comma-separated. ``--scale-pixels`` alone means scaled pixels;
``--scale-pixels no,yes`` sweeps both. A progress bar goes to stderr. Every
invalid argument gets one line on stderr and the exit code is 2; a row that
failed (its ``error`` column says why) makes the exit code 1.
"""

from __future__ import annotations

import argparse
import logging
import re
import sys
from pathlib import Path
from time import monotonic

from core.budget import budget
from core.cache import atomic_write, cache_dir, cache_problem
from core.params import InvalidParams, TrainParams
from core.process import configure_process
from core.sweep.engine import SCHEDULER_ENV, EngineUnavailable, SweepInterrupted, open_engine
from core.sweep.grid import SweepGrid, rows_csv
from core.sweep.run import run_sweep

BAR_WIDTH = 30
YES, NO = ("yes", "true", "1", "on"), ("no", "false", "0", "off")


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m core.sweep",
                                     description=__doc__.split("\n")[0])
    add = parser.add_argument
    add("--digits", default="0,1,2,3", help="the digits to tell apart (0,1,2,3)")
    add("--hidden-units", default="6", help="hidden-layer sizes to try (6)")
    add("--alpha", default="0.0001", help="L2 penalties to try (0.0001)")
    add("--seeds", default="2", help="random_state values to try (2)")
    add("--scale-pixels", nargs="?", const="yes", default="no",
        help="divide pixels by 255: alone 'yes'; or a list such as no,yes (no)")
    add("--solver", default="sgd", help="solvers to try: sgd, adam, lbfgs (sgd)")
    add("--holdout", action=argparse.BooleanOptionalAction, default=True,
        help="score on held-out test digits (on by default for sweeps)")
    add("--max-iter", default="200", help="epochs at most (200)")
    add("--learning-rate-init", default="0.001", help="initial step size (0.001)")
    add("--out", default="-", help="the CSV file to write ('-': stdout)")
    add("--scheduler", help=f"a Dask scheduler's address (else ${SCHEDULER_ENV}, else "
                            "local processes)")
    add("--jobs", help="local worker processes (as many as trainers: the server's budget)")
    return parser.parse_args(_joined(sys.argv[1:] if argv is None else list(argv)))


def _joined(argv: list[str]) -> list[str]:
    """``--alpha -1,2`` as ``--alpha=-1,2``: a value that starts with '-' but is no plain
    number ('-1,2', '-1e-3') would be taken for an option, and the value found missing."""
    joined, rest = [], iter(argv)
    for arg in rest:
        if arg.startswith("--") and "=" not in arg and arg not in _FLAGS:
            value = next(rest, None)
            if value is not None and value.startswith("-") and not value.startswith("--"):
                joined.append(f"{arg}={value}")
                continue
            joined.append(arg)
            if value is not None:
                joined.append(value)
            continue
        joined.append(arg)
    return joined


_FLAGS = ("--holdout", "--no-holdout", "--scale-pixels", "--help")  # they take no value here


def check_engine_options(args: argparse.Namespace) -> list[str]:
    """The problems with ``--jobs`` and ``--scheduler``, one line each, as the page checks."""
    problems = []
    if args.jobs is not None:
        limit = budget().limit
        try:
            jobs = int(args.jobs)
        except ValueError:
            jobs = 0
        if not 1 <= jobs <= limit:
            problems.append(f"--jobs: '{str(args.jobs)[:30]}' is not a whole number from 1 to "
                            f"{limit} (the trainers this machine has: MLP_LENS_MAX_TRAININGS).")
        else:
            args.jobs = jobs
    if args.scheduler and not _ADDRESS.fullmatch(args.scheduler.strip()):
        problems.append(f"--scheduler: '{args.scheduler[:60]}' is not a scheduler's address, "
                        "such as tcp://HOST:8786.")
    return problems


_ADDRESS = re.compile(r"((tcp|tls)://)?[A-Za-z0-9_.\-\[\]:]+:\d{1,5}")


def build_grid(args: argparse.Namespace) -> SweepGrid:
    """The grid the arguments describe; ``InvalidParams`` lists every problem, one each."""
    problems: list[str] = []
    default = TrainParams()

    def items(option: str, text: str, convert, fallback):
        """The list's values; a list with no usable value goes on as ``fallback``, so that
        the other arguments are checked too."""
        values = []
        for part in (p.strip() for p in str(text).split(",")):
            if not part:
                continue
            try:
                values.append(convert(part))
            except ValueError:
                problems.append(f"--{option}: '{part[:30]}' is not {convert.__doc__}.")
        if not values:
            if not any(p.startswith(f"--{option}:") for p in problems):
                problems.append(f"--{option}: list at least one value.")
            return tuple(fallback)
        return tuple(values)

    lists = {"hidden_units": items("hidden-units", args.hidden_units, _number, [6]),
             "alpha": items("alpha", args.alpha, _number, [1e-4]),
             "random_state": items("seeds", args.seeds, _number, [2]),
             "scale_pixels": items("scale-pixels", args.scale_pixels, _yes_no, [False]),
             "solver": items("solver", args.solver, _word, ["sgd"])}
    base = {"digits": items("digits", args.digits, _number, default.digits),
            "max_iter": items("max-iter", args.max_iter, _number, [default.max_iter])[0],
            "learning_rate_init": items("learning-rate-init", args.learning_rate_init,
                                        _number, [default.learning_rate_init])[0],
            "holdout": args.holdout}
    try:
        base_params = TrainParams(**base)
    except InvalidParams as exc:
        problems.extend(exc.messages)
        base_params = default
    try:
        grid = SweepGrid(base=base_params, **lists)
    except InvalidParams as exc:
        problems.extend(m for m in exc.messages if m not in problems)
    if problems:
        raise InvalidParams(problems)
    return grid


def _number(text: str):
    """a number"""
    value = float(text)
    return int(value) if value.is_integer() and "." not in text and "e" not in text else value


def _yes_no(text: str) -> bool:
    """yes or no"""
    if text.lower() in YES:
        return True
    if text.lower() in NO:
        return False
    raise ValueError(text)


def _word(text: str) -> str:
    """a word"""
    return text


class ProgressBar:
    """``[#####-----] 5/16 configurations, 12 s, ~20 s left`` on stderr, redrawn in place."""

    def __init__(self, total: int, stream=sys.stderr):
        self.total, self.done, self.trained, self.failed = total, 0, 0, 0
        self.stream, self.started = stream, monotonic()

    def __call__(self, row) -> None:
        self.done += 1
        self.trained += row.worker != "cache"
        self.failed += not row.ok
        self.draw()

    def draw(self) -> None:
        elapsed = monotonic() - self.started
        filled = round(BAR_WIDTH * self.done / max(self.total, 1))
        left = (f", ~{elapsed / self.trained * (self.total - self.done):.0f} s left"
                if self.trained and self.done < self.total else "")
        failed = f", {self.failed} failed" if self.failed else ""
        self.stream.write(f"\r[{'#' * filled}{'-' * (BAR_WIDTH - filled)}] {self.done}/"
                          f"{self.total} configurations, {elapsed:.0f} s{left}{failed}  ")
        if self.done == self.total:
            self.stream.write("\n")
        self.stream.flush()


def main(argv=None) -> int:
    configure_process()
    args = parse_args(argv)
    try:
        grid, problems = build_grid(args), check_engine_options(args)
    except InvalidParams as exc:
        grid, problems = None, [*exc.messages, *check_engine_options(args)]
    if problems:
        for message in problems:
            print(f"error: {message}", file=sys.stderr)
        return 2
    try:
        engine = open_engine(args.scheduler, n_workers=args.jobs)
    except EngineUnavailable as exc:
        print(f"error: {exc} Leave out --scheduler (and {SCHEDULER_ENV}) to run on this "
              "machine's processes.", file=sys.stderr)
        return 1
    _quiet_distributed()
    from core.data import load_mnist

    data = load_mnist()
    print(f"{grid.size} configurations on {engine.description}; data: {data.note}",
          file=sys.stderr)
    bar = ProgressBar(grid.size)
    bar.draw()
    try:
        rows = run_sweep(grid.configurations(), data, engine, on_row=bar)
    except SweepInterrupted as exc:  # a lost scheduler: the rows finished first are written
        print(f"\nerror: {exc}", file=sys.stderr)
        _write(exc.rows, args.out)
        return 1
    except (EngineUnavailable, OSError, TimeoutError) as exc:
        print(f"\nerror: {exc}", file=sys.stderr)
        return 1
    finally:
        _close_quietly(engine)
    _write(rows, args.out)
    unsaved = cache_problem()
    if unsaved:  # the rows are right, but their networks will train again
        print(f"error: the networks could not all be kept in the cache folder {cache_dir()} "
              f"({unsaved}): the pages will train them again.", file=sys.stderr)
    return 1 if bar.failed or unsaved else 0


def _quiet_distributed() -> None:
    """We report a lost scheduler ourselves, in one line: not distributed's reconnection
    attempts, each logged with a traceback (its loggers set their own levels)."""
    for name in ["distributed", *logging.root.manager.loggerDict]:
        if name == "distributed" or name.startswith("distributed."):
            logging.getLogger(name).setLevel(logging.CRITICAL)


def _write(rows, out: str) -> None:
    text = rows_csv(rows)
    if out == "-":
        sys.stdout.write(text)
    else:
        atomic_write(Path(out), lambda file: file.write(text.encode()))
        print(f"wrote {len(rows)} rows to {out}", file=sys.stderr)


def _close_quietly(engine) -> None:
    """Close the engine; a cluster already lost has nothing left to close."""
    try:
        engine.close()
    except Exception as exc:  # noqa: BLE001 - the sweep's own outcome is what matters
        print(f"note: closing the engine: {type(exc).__name__}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
