"""Networks side by side that differ in one setting (the random seed by default): train them in
parallel, line up their units, compare.

Equally good networks learn different units, in a different order. To compare
two of them, each unit of one is matched to a unit of the other by the
assignment that maximises the total absolute correlation of their weight
images (the Hungarian algorithm, ``scipy.optimize.linear_sum_assignment``).
Networks with different numbers of units match as many units as the smaller
one has; the other's remaining units have no counterpart and are listed after.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass, replace
from time import monotonic

import numpy as np
from scipy.optimize import linear_sum_assignment

from core import jobs
from core.budget import Budget
from core.data import MnistData
from core.evaluation import spread
from core.jobs import Job
from core.params import FIELDS, SWEEPS, Number, TrainParams
from core.train import TrainResult, dead_units_cause, training_state

MAX_VALUES = 8  # networks side by side, each a job of its own
MAX_SEEDS = MAX_VALUES
log = logging.getLogger("mlp_lens")
DEFAULT_SEEDS = (2, 3, 4, 5)
# The settings Compare can vary, in the order the page offers them, with the values it
# starts from (the Sweep's lists where it has one).
VARIED: dict[str, tuple] = {
    "random_state": DEFAULT_SEEDS,
    "hidden_units": SWEEPS["hidden_units"].values,
    "alpha": SWEEPS["alpha"].values,
    "scale_pixels": SWEEPS["scale_pixels"].values,
    "solver": ("sgd", "adam"),
    "activation": ("relu", "tanh"),
    "learning_rate_init": (0.001, 0.01, 0.1),
}
SEED = "random_state"


def value_title(name: str, value) -> str:
    """A network by its value of the varied setting: "seed 2", "12 hidden units",
    "pixels scaled 0–1", "alpha = 0.01", "solver = adam"."""
    if name == SEED:
        return f"seed {value}"
    if name == "hidden_units":
        return f"{value} hidden unit{'s' if value != 1 else ''}"
    if name == "scale_pixels":
        return "pixels scaled 0–1" if value else "raw pixels 0–255"
    return f"{name} = {value:g}" if isinstance(FIELDS[name], Number) else f"{name} = {value}"


@dataclass(frozen=True)
class Comparing:
    """What the networks side by side differ in: setting ``name``, one network per value."""

    name: str = SEED
    values: tuple = DEFAULT_SEEDS

    def title(self, value) -> str:
        return value_title(self.name, value)

    def to_query(self) -> dict[str, str]:
        """The comparison in a URL: ``seeds=2,3`` as links always had it, else
        ``vary=alpha&values=0.0001,0.01``."""
        listed = ",".join(FIELDS[self.name].format(v) for v in self.values)
        return {"seeds": listed} if self.name == SEED else {"vary": self.name, "values": listed}


@dataclass(frozen=True)
class Alignment:
    """How a network's units line up with a reference network's units.

    The first ``matched`` units of ``order`` are matched, in the reference's order; the rest
    (when this network has more units) have no counterpart in the reference.
    """

    order: tuple[int, ...]  # this network's units: the matched ones, then the rest
    correlations: tuple[float, ...]  # signed correlation of each matched pair
    similarity: float  # mean absolute correlation of the matched pairs, 0..1
    partners: tuple[int, ...] = ()  # the reference unit each matched unit is lined up with

    @property
    def matched(self) -> int:
        return len(self.correlations)

    @property
    def unmatched(self) -> tuple[int, ...]:
        """This network's units with no counterpart in the reference."""
        return self.order[self.matched:]


def unit_correlations(reference: np.ndarray, images: np.ndarray, *, pixels=None) -> np.ndarray:
    """Pearson correlation of every reference unit's weight image with every unit's: (n, m).

    ``pixels`` (a boolean mask of 784) restricts it to pixels that are ever
    inked: weights from always-blank pixels keep their random start and do
    not change what the network computes. Scale-free, so networks trained on
    raw and on scaled pixels compare; a diverged (not finite) unit correlates 0.
    """
    a = reference.reshape(len(reference), -1)
    b = images.reshape(len(images), -1)
    if pixels is not None:
        a, b = a[:, pixels], b[:, pixels]
    with np.errstate(invalid="ignore", over="ignore"):
        a = (a - a.mean(axis=1, keepdims=True)) / (a.std(axis=1, keepdims=True) + 1e-12)
        b = (b - b.mean(axis=1, keepdims=True)) / (b.std(axis=1, keepdims=True) + 1e-12)
        corr = a @ b.T / a.shape[1]
    return np.nan_to_num(corr, nan=0.0, posinf=0.0, neginf=0.0)


def align_units(reference: np.ndarray, images: np.ndarray, *, pixels=None) -> Alignment:
    """Match units of ``images`` to reference units one to one, maximising total |correlation|.

    With as many units on each side every unit is matched, ``order[i]`` to reference unit i.
    With fewer reference units, each has a match and the rest of ``images`` come after, in
    their own order; with more, every unit of ``images`` is matched, in the order of the
    reference units it matches (``partners``).
    """
    corr = unit_correlations(reference, images, pixels=pixels)
    rows, cols = linear_sum_assignment(np.abs(corr), maximize=True)  # rows ascending
    matched = corr[rows, cols]
    rest = sorted(set(range(len(images))) - {int(c) for c in cols})
    return Alignment(order=tuple(int(c) for c in cols) + tuple(rest),
                     correlations=tuple(float(r) for r in matched),
                     similarity=float(np.abs(matched).mean()),
                     partners=tuple(int(r) for r in rows))


def stability(alignments: list[Alignment]) -> float:
    """Mean similarity of the other seeds to the reference: 1 means the same units every time."""
    return float(np.mean([a.similarity for a in alignments])) if alignments else 1.0


SIMILAR = 0.03  # seeds whose accuracies lie within 3 points of each other are about as good
GOOD = 0.8  # a good network gets at least 80 % of the way from guessing to every image right
SAME_UNITS = 0.9  # a stability above this: the seeds learn much the same units


@dataclass(frozen=True)
class SeedVerdict:
    """What trained seeds show about the lesson's claim, in plain words (Markdown)."""

    alike: bool  # equally good networks: similar, good accuracies and no dead units
    text: str
    scale_pixels: bool  # the usual fix is scaling the raw 0–255 pixels to 0–1


def seed_verdict(results: dict[int, TrainResult], *, stability: float) -> SeedVerdict | None:
    """Do these seeds make "many equivalently optimal networks that work differently"?

    Alike when every seed reaches about the same, good accuracy (test accuracy with the
    hold-out, else training accuracy) with no dead or saturated units; then ``stability``
    says how different their units are. Otherwise the words say which it is and what usually
    helps. None for fewer than two seeds, which show nothing either way.
    """
    if len(results) < 2:
        return None
    params = next(iter(results.values())).params
    kind = "test" if all(r.test_accuracy is not None for r in results.values()) else "training"
    found = spread(r.test_accuracy if kind == "test" else r.train_accuracy
                   for r in results.values())
    chance = 1 / len(params.digits)
    similar, good = found.range <= SIMILAR, found.low >= chance + GOOD * (1 - chance)
    reach = f"{kind} accuracy from {found.low:.1%} to {found.high:.1%}"
    if not good:
        reach += f" (guessing scores about {chance:.0%})"
    broken = {seed: len(r.dead_units) for seed, r in results.items() if r.dead_units}
    if broken:
        units = ", ".join(f"seed {seed} ({n} of {params.hidden_units})"
                          for seed, n in broken.items())
        return SeedVerdict(False, f"**{_headline(similar, good)}**: "
                           f"{next(iter(results.values())).unit_problem} units in {units}; "
                           f"{reach}. Why: {dead_units_cause(params)}",
                           scale_pixels=not params.scale_pixels)
    if not (similar and good):
        return SeedVerdict(False, f"**{_headline(similar, good)}**: {reach}. "
                           + _unequal_help(results, params, similar),
                           scale_pixels=not params.scale_pixels)
    units = ("much the same units, in another order" if stability >= SAME_UNITS else
             "different units")
    return SeedVerdict(True, f"**Equally good networks with {units}**: {reach}, stability "
                       f"{stability:.2f} (the mean |correlation| of matched units; 1.00 would be "
                       "the same units).", scale_pixels=False)


def _headline(similar: bool, good: bool) -> str:
    if not similar:
        return "Not equally good networks here"
    if not good:
        return "No good networks here"
    return "Equally good networks, but with units that take no part"


def _unequal_help(results: dict[int, TrainResult], params: TrainParams, similar: bool) -> str:
    """What usually evens out seeds that end up unequal or poor."""
    if not params.scale_pixels:
        return "Scaling the pixels to 0–1 usually lets every seed learn."
    unfinished = [seed for seed, r in results.items() if r.converged is False]
    if unfinished:
        return (f"{'Every seed' if len(unfinished) == len(results) else 'Some seeds'} stopped "
                f"at max_iter = {params.max_iter} before the loss settled: a larger max_iter "
                "lets them finish.")
    return ("These settings do not let the network learn these digits well." if
            similar else "With these settings, which seed you pick matters.")


def setting_verdict(results: dict, *, name: str) -> SeedVerdict | None:
    """Which value of setting ``name`` did best, by how much, and what it did to the units.

    Judged on test accuracy with the hold-out, else on training accuracy; within ``SIMILAR``
    of each other the values are about as good. Each value's dead (or saturated) units are
    listed when any has some (raw pixels: most dead; scaled: none). None for fewer than two.
    """
    if len(results) < 2:
        return None
    kind = "test" if all(r.test_accuracy is not None for r in results.values()) else "training"
    scores = {value: r.test_accuracy if kind == "test" else r.train_accuracy
              for value, r in results.items()}
    best, worst = max(scores, key=scores.get), min(scores, key=scores.get)
    found = spread(scores.values())
    if found.range <= SIMILAR:
        text = (f"**About equally good**: {kind} accuracy from {found.low:.1%} to "
                f"{found.high:.1%}.")
    else:
        text = (f"**Best: {value_title(name, best)}**, {kind} accuracy {found.high:.1%}, "
                f"against {found.low:.1%} for {value_title(name, worst)}.")
    broken = any(r.dead_units for r in results.values())
    if broken:
        text += " Units that take no part: " + "; ".join(
            f"{value_title(name, value)}: " + (f"{len(r.dead_units)} of {r.params.hidden_units} "
                                                f"{r.unit_problem}" if r.dead_units else "none")
            for value, r in results.items()) + "."
    unfinished = [r for r in results.values() if r.converged is False]
    if unfinished:
        text += (f" {'Every network' if len(unfinished) == len(results) else 'Some networks'} "
                 f"stopped at max_iter = {unfinished[0].params.max_iter} before the loss "
                 "settled.")
    return SeedVerdict(found.range <= SIMILAR and not broken, text, scale_pixels=False)


def clean_seeds(text: str) -> tuple[tuple[int, ...], list[str]]:
    """Seeds from a person's list: ``clean_values`` of ``random_state``."""
    return clean_values(SEED, text)


def clean_values(name: str, text: str) -> tuple[tuple, list[str]]:
    """Values of setting ``name`` from a person's list (commas or semicolons; each item read by
    the setting's own kind, as the Sweep reads its lists): valid, no repeats, at most eight.

    Each problem gets a notice, which quotes the value cut to about 40 characters
    (the list may come from a link of any length).
    """
    spec = FIELDS[name]
    listed = spec.read_list(text)
    notices = [f"'{_cut(item)}' is not {spec.what}; left out." for _, item in listed.unread]
    values = []
    for value in listed.values:
        try:
            value = spec.check(value)
        except ValueError:
            notices.append(_refused(spec, value))
            continue
        if value in values:
            notices.append(f"{spec.format(value)} was listed twice; kept once.")
        else:
            values.append(value)
    if len(values) > MAX_VALUES:
        word = "seeds" if name == SEED else "values"
        notices.append(f"At most {MAX_VALUES} {word}; kept the first {MAX_VALUES}.")
        values = values[:MAX_VALUES]
    return tuple(values), notices


def _refused(spec, value) -> str:
    """Why a value read from the list is left out: "'x' is not one of sgd, adam, lbfgs";
    "40 is outside 1 to 36"."""
    if hasattr(spec, "choices"):
        return f"'{_cut(str(value))}' is not one of {', '.join(spec.choices)}; left out."
    bounds = (f"{spec.low:g} to {spec.high:g}" if isinstance(spec, Number) else
              f"{spec.low:,.0f} to {spec.high:,.0f}")
    return f"{_cut(str(value))} is outside {bounds}; left out."


def _cut(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True)
class SeedJob:
    """One seed of a page's comparison, as the page shows it."""

    params: TrainParams
    state: str  # queued (for this page's turn), waiting (for a trainer), training, held,
    #             done, failed or stopped
    error: str = ""
    place: int = 0  # its place in the line for a free trainer (0 unless waiting)
    following: bool = False  # another page watches the same training too
    abandoned: bool = False  # stopped because no page watched it (not by a person)
    epoch: int = 0


class SeedTraining:
    """Train the seeds (or the values of another setting, ``field``) that are not cached yet,
    each one a job (``core.jobs``), ``n_jobs`` at a time, so one page's eight seeds never stand
    in line ahead of every other visitor.

    A seed whose network another page is training already (Explore, or another Compare page)
    follows that job: the registry of jobs is keyed by the network, so it trains once. Each
    job runs in its own worker process, so a worker that dies fails its own seed only (and
    ``retry`` trains it again). ``poll()`` tells the jobs this page is watching them, and
    starts the next seeds as earlier ones end; ``stop()`` lets go of them (a job another page
    also watches goes on for that page).
    """

    def __init__(self, params: TrainParams, seeds, data: MnistData, *, n_jobs: int | None = None,
                 trainers: Budget | None = None, unwatched_after: float | None = None,
                 field: str = SEED):
        self.data, self.field = data, field
        self.n_jobs = n_jobs or min(len(seeds), os.cpu_count() or 1)
        # ``seeds`` are the values of ``field`` (random_state unless told): one network each.
        self.params = {seed: replace(params, **{field: seed}) for seed in seeds}
        self._trainers, self._unwatched_after = trainers, unwatched_after
        self._session = f"seeds-{id(self)}"  # its name among the watchers of a job
        self._lock = threading.Lock()
        self._jobs: dict[int, Job] = {}
        self._queued = [seed for seed in seeds
                        if training_state(self.params[seed], data) == "untrained"]
        self._stopped: set[int] = set()
        self.jobs: dict[int, SeedJob] = {}
        self.poll()

    def poll(self) -> dict[int, SeedJob]:
        """Every seed as it is now; this page is watching them."""
        with self._lock:
            self._start_queued()
            self.jobs = {seed: self._seen(seed) for seed in self.params}
        return self.jobs

    def job(self, seed: int) -> Job | None:
        """The job training ``seed`` (perhaps for other pages too); None if it needed none."""
        return self._jobs.get(seed)

    def epoch(self, seed: int) -> int:
        snapshot = self._snapshot(seed)
        return snapshot.epoch if snapshot else 0

    def weights(self, seed: int) -> np.ndarray | None:
        """The seed's hidden weight images at its latest epoch: (n_hidden, 28, 28); None before
        its first epoch (or when it came from the cache)."""
        snapshot = self._snapshot(seed)
        return snapshot.images if snapshot and snapshot.epoch else None

    @property
    def worker_peak_mb(self) -> float:
        """The largest peak resident memory of the workers so far (MB), as each reported it
        on finishing; it counts the libraries the worker shares with the fork server."""
        return max((job.peak_kb for job in self._jobs.values()), default=0) / 1024

    @property
    def finished(self) -> bool:
        return all(job.state in _ENDED for job in self.poll().values())

    def wait(self, timeout: float) -> bool:
        deadline = monotonic() + timeout
        while not self.finished and monotonic() < deadline:
            threading.Event().wait(0.1)
        return self.finished

    def retry(self, seed: int) -> None:
        """Train a failed (or stopped) seed again."""
        with self._lock:
            if self._state(seed) in ("failed", "stopped"):
                self._stopped.discard(seed)
                self._jobs.pop(seed, None)
                self._queued.append(seed)
                self._start_queued()

    def stop(self) -> None:
        """Let go of every seed still training or waiting: the jobs nobody else watches end."""
        with self._lock:
            for seed in self.params:
                job = self._jobs.get(seed)
                if seed in self._queued or (job is not None and not job.done):
                    self._stopped.add(seed)
                    if job is not None:
                        job.release(self._session, stop=True)
            self._queued.clear()

    def _start_queued(self) -> None:
        active = sum(not job.done and seed not in self._stopped
                     for seed, job in self._jobs.items())
        while self._queued and active < self.n_jobs:
            seed = self._queued.pop(0)
            if training_state(self.params[seed], self.data) == "untrained":
                self._jobs[seed] = jobs.start(self.params[seed], self.data,
                                              session=self._session, trainers=self._trainers,
                                              unwatched_after=self._unwatched_after)
                active += 1

    def _seen(self, seed: int) -> SeedJob:
        params, job = self.params[seed], self._jobs.get(seed)
        if job is None:
            return SeedJob(params, self._state(seed))
        job.seen(self._session)
        snapshot = job.snapshot()
        error = job.error or ("no page was watching" if job.abandoned else "")
        return SeedJob(params, self._state(seed), error, job.place, job.watchers() > 1,
                       job.abandoned, snapshot.epoch if snapshot else 0)

    def _state(self, seed: int) -> str:
        job = self._jobs.get(seed)
        if seed in self._stopped:
            return "stopped"
        if job is None:
            return "queued" if seed in self._queued else "done"
        return job.state

    def _snapshot(self, seed: int):
        job = self._jobs.get(seed)
        return job.snapshot() if job is not None else None


_ENDED = ("done", "failed", "stopped")
