"""Run a sweep from the command line and write one CSV row per configuration.

    python -m core.sweep --digits 0,1,2,3 --hidden-units 3,6 --alpha 0.0001,0.1 \\
        --seeds 2,3 --scale-pixels --holdout --max-iter 15 --out sweep.csv \\
        [--scheduler tcp://HOST:PORT]

The options come from the parameter table (``core.params``): a list for each
parameter ``SWEEPS`` names, values separated by commas (or semicolons), and one
value for every other setting; ``--help`` lists them with their defaults. Each
value is read by its parameter's kind, as the Sweep page reads it. A yes/no list
alone means yes: ``--scale-pixels`` is scaled pixels, ``--scale-pixels no,yes``
sweeps both. A progress bar goes to stderr. Every invalid argument gets one line
on stderr and the exit code is 2; a row that failed (its ``error`` column says
why) makes the exit code 1.
"""

from __future__ import annotations

import argparse
import logging
import re
import sys
from dataclasses import replace
from pathlib import Path
from time import monotonic

from core.budget import budget
from core.cache import atomic_write, cache_dir, cache_problem
from core.params import (
    FIELDS,
    SWEEPS,
    Choice,
    DigitList,
    InvalidParams,
    Kind,
    YesNo,
    read_whole,
)
from core.process import configure_process
from core.sweep.engine import SCHEDULER_ENV, EngineUnavailable, SweepInterrupted, open_engine
from core.sweep.grid import BASE, SweepGrid, rows_csv
from core.sweep.run import run_sweep

BAR_WIDTH = 30


def parse_args(argv=None) -> argparse.Namespace:
    parser = _parser()
    # The options that take no value, or may take none: a value after them is no value of theirs.
    flags = {option for action in parser._actions if action.nargs in (0, "?")
             for option in action.option_strings}
    return parser.parse_args(_joined(sys.argv[1:] if argv is None else list(argv), flags))


def _parser() -> argparse.ArgumentParser:
    """A list option for each parameter of ``SWEEPS``, a value option for every other one
    of the table (a yes/no one as --NAME/--no-NAME), and where to write and to run."""
    parser = argparse.ArgumentParser(prog="python -m core.sweep",
                                     description=__doc__.split("\n")[0])
    lists = parser.add_argument_group(
        "lists to sweep", "values separated by commas; a list left out is its default alone")
    for name, sweep in SWEEPS.items():
        kind, default = sweep.kind, sweep.kind.format(getattr(BASE, name))
        choices = f" ({', '.join(kind.choices)})" if isinstance(kind, Choice) else ""
        alone = dict(nargs="?", const="yes") if isinstance(kind, YesNo) else {}
        lists.add_argument(_option(name), dest=name, metavar="LIST", **alone,
                           help=f"{sweep.label}{choices}{'; alone: yes' if alone else ''} "
                                f"(default {default})")
    settings = parser.add_argument_group("settings every configuration shares")
    for name, kind in FIELDS.items():
        if name not in SWEEPS:
            default = getattr(BASE, name)
            yes_no = dict(action=argparse.BooleanOptionalAction, default=default)
            settings.add_argument(_option(name), dest=name,
                                  **(yes_no if isinstance(kind, YesNo) else {}),
                                  help=f"{kind.label} (default {kind.format(default)})")
    add = parser.add_argument
    add("--out", default="-", help="the CSV file to write ('-': stdout)")
    add("--scheduler", help=f"a Dask scheduler's address (else ${SCHEDULER_ENV}, else "
                            "local processes)")
    add("--jobs", help="local worker processes (as many as trainers: the server's budget)")
    return parser


def _option(name: str) -> str:
    """The option of parameter ``name``: its sweep's, else the name dashed."""
    return f"--{SWEEPS[name].option}" if name in SWEEPS else f"--{name.replace('_', '-')}"


def _joined(argv: list[str], flags: set[str]) -> list[str]:
    """``--alpha -1,2`` as ``--alpha=-1,2``: a value that starts with '-' but is no plain
    number ('-1,2', '-1e-3') would be taken for an option, and the value found missing."""
    joined, rest = [], iter(argv)
    for arg in rest:
        if arg.startswith("--") and "=" not in arg and arg not in flags:
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


def check_engine_options(args: argparse.Namespace) -> list[str]:
    """The problems with ``--jobs`` and ``--scheduler``, one line each, as the page checks."""
    problems = []
    if args.jobs is not None:
        limit = budget().limit
        try:
            jobs = read_whole(args.jobs)
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
    """The grid the arguments describe; ``InvalidParams`` lists every problem, one each.

    An option whose value gives nothing usable counts as left out, so that the others are
    checked too."""
    problems: list[str] = []
    lists = {name: _listed(_option(name), sweep.kind, getattr(args, name), problems)
             or (getattr(BASE, name),) for name, sweep in SWEEPS.items()}
    settings = {}
    for name, kind in FIELDS.items():
        option, value = _option(name), getattr(args, name)
        if name in SWEEPS or value is None:
            continue
        if isinstance(value, bool):  # a yes/no: --NAME or --no-NAME
            settings[name] = value
        elif isinstance(kind, DigitList):  # its value is a list
            settings[name] = _listed(option, kind, value, problems) or getattr(BASE, name)
        else:
            try:
                settings[name] = kind.read(value)
            except ValueError:
                problems.append(_unread(option, value, kind))
    try:
        base = replace(BASE, **settings)
    except InvalidParams as exc:
        problems.extend(exc.messages)
        base = BASE
    try:
        grid = SweepGrid(base=base, **lists)
    except InvalidParams as exc:
        problems.extend(m for m in exc.messages if m not in problems)
    if problems:
        raise InvalidParams(problems)
    return grid


def _listed(option: str, kind: Kind, text: str | None, problems: list[str]) -> tuple:
    """The values of a list option (none if left out); what is not one goes to ``problems``."""
    if text is None:
        return ()
    listed = kind.read_list(text)
    problems.extend(_unread(option, item, kind) for _, item in listed.unread)
    if not listed.values and not listed.unread:
        problems.append(f"{option}: list at least one value.")
    return listed.values


def _unread(option: str, text: str, kind: Kind) -> str:
    return f"{option}: '{text[:30]}' is not {kind.what}."


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
