"""The grid of a sweep and its rows: what is trained, and what each configuration gave.

What a sweep lists is ``core.params.SWEEPS``: the grid's lists, their defaults and the
CSV's columns come from it, so a parameter swept there needs no line here.
"""

from __future__ import annotations

import csv
import io
import itertools
import math
from dataclasses import dataclass, replace

from core.outcome import outcome
from core.params import FIELDS, SWEEPS, InvalidParams, TrainParams
from core.train import TrainResult

MAX_CONFIGS = 200
BASE = TrainParams(holdout=True)  # a sweep scores each network on test digits it never saw
# ``outcome`` is how the training ended in Explore's words (core.outcome.MEANINGS);
# ``converged`` is scikit-learn's own flag, True for a network stuck with dead units too.
RESULTS = ("train_accuracy", "test_accuracy", "dead_units", "n_iter", "outcome", "converged",
           "fit_seconds", "worker")


def columns() -> tuple[str, ...]:
    """The CSV's columns: the swept parameters, what each network gave, every other setting."""
    fixed = [name for name in FIELDS if name not in SWEEPS]
    return (*SWEEPS, *RESULTS, *fixed, "data_fingerprint", "error")


@dataclass(frozen=True, init=False)
class SweepGrid:
    """The configurations of a sweep: every combination of its lists on ``base``.

    ``SweepGrid(base, hidden_units=(3, 6), ...)`` takes a list for each parameter of
    ``SWEEPS``; one left out is that sweep's default values. Each value is checked by
    ``TrainParams`` itself; every problem is one sentence of ``InvalidParams.messages``.
    """

    base: TrainParams
    lists: tuple[tuple[str, tuple], ...]  # (name, values), in the order of SWEEPS

    def __init__(self, base: TrainParams = BASE, **lists):
        unknown = set(lists) - set(SWEEPS)
        if unknown:
            raise TypeError(f"A sweep lists no {', '.join(sorted(unknown))}.")
        problems: list[str] = []
        checked = tuple((name, _checked(base, name, lists.get(name, sweep.values), problems))
                        for name, sweep in SWEEPS.items())
        object.__setattr__(self, "base", base)
        object.__setattr__(self, "lists", checked)
        if not problems and self.size > MAX_CONFIGS:
            problems.append(f"That is {self.size} configurations; a sweep runs at most "
                            f"{MAX_CONFIGS}. Shorten a list.")
        if problems:
            raise InvalidParams(problems)

    def __getitem__(self, name: str) -> tuple:
        """The values listed for parameter ``name``."""
        return dict(self.lists)[name]

    @property
    def size(self) -> int:
        return math.prod(len(values) for _, values in self.lists)

    def configurations(self) -> tuple[TrainParams, ...]:
        """Every configuration, the seeds (``Sweep.repeats``) of one setting next to each other."""
        order = sorted(self.lists, key=lambda pair: SWEEPS[pair[0]].repeats)  # stable
        names = [name for name, _ in order]
        return tuple(replace(self.base, **dict(zip(names, combo, strict=True)))
                     for combo in itertools.product(*(values for _, values in order)))


def _checked(base: TrainParams, name: str, values, problems: list[str]) -> tuple:
    """``values`` as ``TrainParams`` keeps them, each once; what is wrong goes to ``problems``."""
    if not values:
        problems.append(f"List at least one value for {name}.")
    checked = []
    for value in values:
        try:
            value = getattr(replace(base, **{name: value}), name)
        except InvalidParams as exc:
            problems.extend(m for m in exc.messages if m not in problems)
            continue
        if value not in checked:
            checked.append(value)
    return tuple(checked)


@dataclass(frozen=True)
class SweepRow:
    """What one configuration gave, or why it gave nothing (``error``)."""

    params: TrainParams
    worker: str  # a Dask worker's address, "local:<pid>", or "cache" (trained before)
    data_fingerprint: str
    train_accuracy: float | None = None
    test_accuracy: float | None = None
    dead_units: int | None = None
    n_iter: int | None = None
    outcome: str | None = None  # how it ended, in Explore's words (a key of MEANINGS)
    converged: bool | None = None  # scikit-learn's flag: the loss stopped improving
    fit_seconds: float | None = None
    error: str = ""

    @property
    def ok(self) -> bool:
        return not self.error

    def record(self) -> dict:
        """The row as the CSV writes it (``columns()``); a list of digits reads 0,1,2,3."""
        values = {name: getattr(self.params, name) for name in FIELDS}
        values.update((name, FIELDS[name].format(value)) for name, value in values.items()
                      if isinstance(value, tuple))
        values.update((name, getattr(self, name)) for name in (*RESULTS, "data_fingerprint",
                                                               "error"))
        return {name: "" if values[name] is None else values[name] for name in columns()}


def rows_csv(rows) -> str:
    """The rows as CSV text, one line per configuration, columns ``columns()``."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns(), lineterminator="\n")
    writer.writeheader()
    writer.writerows(row.record() for row in rows)
    return out.getvalue()


def row_from_result(result: TrainResult, *, worker: str, fingerprint: str) -> SweepRow:
    """The row of a trained network. ``test_accuracy`` is None without the hold-out."""
    return SweepRow(params=result.params, worker=worker, data_fingerprint=fingerprint,
                    train_accuracy=result.train_accuracy,
                    test_accuracy=result.test_accuracy,
                    dead_units=len(result.dead_units), n_iter=result.n_iter,
                    outcome=outcome(result).words, converged=result.converged,
                    fit_seconds=result.fit_seconds)
