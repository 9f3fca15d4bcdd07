"""The grid of a sweep and its rows: what is trained, and what each configuration gave."""

from __future__ import annotations

import csv
import io
import itertools
from dataclasses import dataclass, field, replace

from core.params import InvalidParams, TrainParams
from core.train import TrainResult

MAX_CONFIGS = 200
GRID_FIELDS = ("hidden_units", "alpha", "random_state", "scale_pixels", "solver")
COLUMNS = ("hidden_units", "alpha", "random_state", "scale_pixels", "solver", "train_accuracy",
           "test_accuracy", "dead_units", "n_iter", "converged", "fit_seconds", "worker",
           "digits", "max_iter", "learning_rate_init", "holdout", "data_fingerprint", "error")


@dataclass(frozen=True)
class SweepGrid:
    """The configurations of a sweep: every combination of the five lists on ``base``.

    Each value is checked by ``TrainParams`` itself; every problem is one
    sentence of ``InvalidParams.messages``.
    """

    base: TrainParams = field(default_factory=lambda: TrainParams(holdout=True))
    hidden_units: tuple[int, ...] = (3, 6, 12)
    alpha: tuple[float, ...] = (1e-4, 1e-2, 1.0)
    random_state: tuple[int, ...] = (2, 3)
    scale_pixels: tuple[bool, ...] = (False, True)
    solver: tuple[str, ...] = ("sgd",)

    def __post_init__(self):
        problems = []
        for name in GRID_FIELDS:
            values, checked = getattr(self, name), []
            if not values:
                problems.append(f"List at least one value for {name}.")
            for value in values:
                try:
                    value = getattr(replace(self.base, **{name: value}), name)
                except InvalidParams as exc:
                    problems.extend(m for m in exc.messages if m not in problems)
                    continue
                if value not in checked:
                    checked.append(value)
            object.__setattr__(self, name, tuple(checked))
        if not problems and self.size > MAX_CONFIGS:
            problems.append(f"That is {self.size} configurations; a sweep runs at most "
                            f"{MAX_CONFIGS}. Shorten a list.")
        if problems:
            raise InvalidParams(problems)

    @property
    def size(self) -> int:
        total = 1
        for name in GRID_FIELDS:
            total *= len(getattr(self, name))
        return total

    def configurations(self) -> tuple[TrainParams, ...]:
        """Every configuration, the seeds of one setting next to each other."""
        lists = [getattr(self, name) for name in GRID_FIELDS]
        order = ("hidden_units", "alpha", "scale_pixels", "solver", "random_state")
        lists = [lists[GRID_FIELDS.index(name)] for name in order]
        return tuple(replace(self.base, **dict(zip(order, combo, strict=True)))
                     for combo in itertools.product(*lists))


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
    converged: bool | None = None
    fit_seconds: float | None = None
    error: str = ""

    @property
    def ok(self) -> bool:
        return not self.error

    def record(self) -> dict:
        """The row as the CSV writes it (``COLUMNS``)."""
        p = self.params
        values = {name: getattr(p, name) for name in GRID_FIELDS}
        values.update({name: getattr(self, name) for name in (
            "train_accuracy", "test_accuracy", "dead_units", "n_iter", "converged",
            "fit_seconds", "worker", "data_fingerprint", "error")})
        values.update(digits=",".join(map(str, p.digits)), max_iter=p.max_iter,
                      learning_rate_init=p.learning_rate_init,
                      holdout=p.holdout)
        return {name: "" if values[name] is None else values[name] for name in COLUMNS}


def rows_csv(rows) -> str:
    """The rows as CSV text, one line per configuration, columns ``COLUMNS``."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(row.record() for row in rows)
    return out.getvalue()


def row_from_result(result: TrainResult, *, worker: str, fingerprint: str) -> SweepRow:
    """The row of a trained network. ``test_accuracy`` is None without the hold-out."""
    return SweepRow(params=result.params, worker=worker, data_fingerprint=fingerprint,
                    train_accuracy=result.train_accuracy,
                    test_accuracy=result.test_accuracy,
                    dead_units=len(result.dead_units), n_iter=result.n_iter,
                    converged=result.converged, fit_seconds=result.fit_seconds)
