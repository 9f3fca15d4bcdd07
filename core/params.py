"""Training parameters: one frozen dataclass whose fields are the parameter table.

Each field of ``TrainParams`` is declared once, with ``param(default, kind)``.
The kind (``Whole``, ``Number``, ``Choice``, ``YesNo``, ``DigitList``) carries
the label, help text, bounds, sidebar section and the ``MLPClassifier``
argument the field sets; validation, the URL round trip, the sidebar widget,
the estimator in ``core.train.make_model`` and the exported code are all
derived from it, as scikit-learn's ``_parameter_constraints`` and TensorFlow
Playground's ``state.ts`` do. ``TrainParams()`` is the lesson's exact settings.

To add a parameter, add one field here; only the code that uses it in another
way than as an estimator argument (``scale_pixels`` and ``holdout`` in the data)
needs a line. ``SWEEPS`` names the parameters a sweep lists (``core.sweep``):
its lists' defaults, command-line options, page widgets and table columns come
from there and from the kinds, so a parameter added there needs no other line.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import KW_ONLY, dataclass, field, fields, replace
from typing import Any, ClassVar

MAIN, ADVANCED = "main", "advanced"  # the sidebar sections
SOLVERS = ("sgd", "adam", "lbfgs")
ACTIVATIONS = ("relu", "tanh", "logistic", "identity")
LEARNING_RATES = ("constant", "invscaling", "adaptive")
ALPHA_STEPS = (0.0, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0)
LEARNING_RATE_STEPS = (1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0)
MOMENTUM_STEPS = (0.0, 0.5, 0.8, 0.9, 0.95, 0.99)
VALIDATION_STEPS = (0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5)
OFFERED = 100  # a list of more whole numbers than this is typed, not picked
SHOWN = 40  # at most this many characters of a bad value are echoed in a message
YES, NO = ("true", "yes", "on", "1"), ("false", "no", "off", "0")  # a yes/no, typed


def shown(value) -> str:
    """``repr(value)`` cut to about 40 characters: a 100 KB value from a link is not echoed."""
    text = repr(value)
    return text if len(text) <= SHOWN else text[:SHOWN - 1] + "…"


class InvalidParams(ValueError):
    """Raised with every problem found, each a sentence a person can act on."""

    def __init__(self, messages: list[str]):
        super().__init__(" ".join(messages))
        self.messages = messages


@dataclass(frozen=True)
class Kind:
    """What every parameter has: how it is shown, where, and what it sets in scikit-learn.

    ``arg`` is the ``MLPClassifier`` argument the value becomes (None: not an
    estimator argument), ``to_arg`` converts it when the two differ.
    ``when`` names the settings it depends on, ``{"solver": ("sgd",)}``: the
    sidebar says when it is unused.
    """

    label: str
    help: str
    _: KW_ONLY
    section: str = ADVANCED
    arg: str | None = None
    to_arg: Callable | None = None
    when: tuple[tuple[str, tuple], ...] = ()

    what: ClassVar[str] = "a value"  # what ``read`` takes, for "'x' is not a number."

    def parse(self, text: str):
        """The value a URL's text stands for, unchecked: what ``read`` makes of it, else the
        text itself (``check`` refuses it, ``nearest`` mends it)."""
        try:
            return self.read(text)
        except ValueError:
            return text.strip()

    def read(self, text: str):
        """One typed value; ``ValueError`` if the text is not ``what`` this kind reads
        (whether it is in range is for ``check`` to say)."""
        return text.strip()

    def read_list(self, text: str) -> Listed:
        """The values of a typed list (the command line's, the Sweep page's): items
        separated by commas or semicolons, each read by ``read``, blanks skipped."""
        values, unread = [], []
        for place, item in enumerate(_items(text), start=1):
            try:
                values.append(self.read(item))
            except ValueError:
                unread.append((place, item))
        return Listed(tuple(values), tuple(unread))

    def format(self, value) -> str:
        """The value as URL text; ``parse`` reads it back."""
        return str(value)

    def nearest(self, text: str, default):
        """A valid value for a URL text ``check`` refused: the default, unless overridden."""
        return default

    def offered(self) -> tuple | None:
        """The values a list of this kind is picked from; None: they are typed."""
        return None

    def argument(self, value):
        """The value scikit-learn receives."""
        return self.to_arg(value) if self.to_arg else value


@dataclass(frozen=True)
class Listed:
    """A typed list, read: the values, and each item that was none by its place (from 1)."""

    values: tuple
    unread: tuple[tuple[int, str], ...] = ()


def _items(text: str) -> list[str]:
    """The items of a typed list; a semicolon separates too (a person's habit)."""
    return [item.strip() for item in str(text).replace(";", ",").split(",") if item.strip()]


def _number(text: str):
    try:
        return float(text)
    except ValueError:
        return text


def _read_number(text: str) -> int | float:
    """A typed number: an int when typed as one ('-1'), so that a message quotes it as typed."""
    text = text.strip()
    try:
        return int(text)
    except ValueError:
        return float(text)


def read_whole(text: str) -> int:
    """A typed whole number ('3', '3.0', '1e3'); ``ValueError`` for anything else."""
    number = _read_number(text)
    if isinstance(number, float) and not number.is_integer():
        raise ValueError(text)  # 2.5, nan and inf
    return int(number)


def _whole(value) -> int:
    if isinstance(value, bool) or not float(value).is_integer():
        raise ValueError(value)
    return int(value)


@dataclass(frozen=True)
class Whole(Kind):
    """A whole number from ``low`` to ``high``; ``zero`` names what 0 means ("auto")."""

    low: int
    high: int
    _: KW_ONLY
    step: int = 1
    slider: bool = False
    zero: str | None = None

    def check(self, value) -> int:
        try:
            number = _whole(value)
        except (TypeError, ValueError, OverflowError):
            number = None
        if number is None or not self.low <= number <= self.high:
            low = max(self.low, 1) if self.zero else self.low
            extra = f", or {self.zero}" if self.zero else ""
            raise ValueError(f"{self.label} must be a whole number from {low:,.0f} to "
                             f"{self.high:,.0f}{extra} (got {shown(value)}).")
        return number

    @property
    def what(self) -> str:
        return "a whole number" + (f" or {self.zero}" if self.zero else "")

    def read(self, text: str) -> int:
        if self.zero and text.strip().lower() == self.zero:
            return 0
        return read_whole(text)

    def offered(self) -> tuple[int, ...] | None:
        return tuple(range(self.low, self.high + 1)) if self.high - self.low < OFFERED else None

    def format(self, value) -> str:
        return self.zero if self.zero and value == 0 else str(value)

    def nearest(self, text: str, default):
        number = _number(text)
        if not isinstance(number, float) or math.isnan(number):
            return default
        return self.check(round(min(max(number, self.low), self.high)))

    def argument(self, value):
        if self.zero and value == 0:
            return self.zero
        return super().argument(value)


@dataclass(frozen=True)
class Number(Kind):
    """A real number from ``low`` to ``high``, offered at ``steps`` (log-spaced where the
    scale is logarithmic); a value from a link between the steps is kept."""

    what: ClassVar[str] = "a number"

    low: float
    high: float
    steps: tuple[float, ...]

    def check(self, value) -> float:
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = math.nan
        if isinstance(value, bool) or not self.low <= number <= self.high:
            raise ValueError(f"{self.label} must be a number from {self.low:g} to "
                             f"{self.high:g} (got {shown(value)}).")
        return number

    def read(self, text: str) -> int | float:
        return _read_number(text)

    def offered(self) -> tuple[float, ...]:
        return self.steps

    def format(self, value) -> str:
        return repr(value)

    def nearest(self, text: str, default):
        number = _number(text)
        if not isinstance(number, float) or math.isnan(number):
            return default
        return self.check(min(max(number, self.low), self.high))


@dataclass(frozen=True)
class Choice(Kind):
    """One word out of ``choices``."""

    choices: tuple[str, ...]

    def check(self, value) -> str:
        if value not in self.choices:
            raise ValueError(f"{self.label} must be one of {', '.join(self.choices)} "
                             f"(got {shown(value)}).")
        return value

    def offered(self) -> tuple[str, ...]:
        return self.choices


@dataclass(frozen=True)
class YesNo(Kind):
    """True or false; a URL says true/false, typed text may say yes/no, on/off or 1/0 too."""

    what: ClassVar[str] = "yes or no"

    def check(self, value) -> bool:
        if not isinstance(value, bool):
            raise ValueError(f"{self.label} must be true or false (got {shown(value)}).")
        return value

    def read(self, text: str) -> bool:
        word = text.strip().lower()
        if word in YES or word in NO:
            return word in YES
        raise ValueError(text)

    def offered(self) -> tuple[bool, bool]:
        return (False, True)

    def format(self, value) -> str:
        return "true" if value else "false"


@dataclass(frozen=True)
class DigitList(Kind):
    """At least two different digits from ``low`` to ``high``, kept sorted; a URL says 0,1,2."""

    what: ClassVar[str] = "a whole number"
    low: int = 0
    high: int = 9

    def check(self, value) -> tuple[int, ...]:
        try:
            digits = sorted({_whole(d) for d in value})
        except (TypeError, ValueError, OverflowError):
            raise ValueError(f"{self.label} must be whole numbers from {self.low} to "
                             f"{self.high} (got {shown(value)}).") from None
        outside = [d for d in digits if not self.low <= d <= self.high]
        if outside:
            raise ValueError(f"{self.label} must be from {self.low} to {self.high} "
                             f"(got {shown(outside[0])}).")
        if len(digits) < 2:
            got = "none" if not digits else f"only {digits[0]}"
            raise ValueError(f"Pick at least two digits to tell apart (you picked {got}).")
        return tuple(digits)

    def parse(self, text: str):
        return [_number(item) for item in _items(text)]

    def read(self, text: str) -> int:
        """One digit of the list (``read_list`` reads the list)."""
        return read_whole(text)

    def format(self, value) -> str:
        return ",".join(map(str, value))


def param(default, kind: Kind):
    """A dataclass field described by ``kind``: one row of the parameter table."""
    return field(default=default, metadata={"kind": kind})


class ParamTable:
    """What a frozen dataclass of ``param`` fields can do: check itself, go to and come back
    from a URL, and give its estimator arguments. ``TrainParams`` is one; tests build others.
    """

    def __post_init__(self):
        problems = []
        for name, kind in self.table().items():
            try:
                value = kind.check(getattr(self, name))
            except ValueError as exc:
                problems.append(str(exc))
            else:
                # Frozen: normalised values (sorted digits, plain ints) are set once, here.
                object.__setattr__(self, name, value)
        if problems:
            raise InvalidParams(problems)

    @classmethod
    def table(cls) -> dict[str, Kind]:
        """Every field's kind, in the order the fields are declared."""
        return {f.name: f.metadata["kind"] for f in fields(cls)}

    def to_query(self) -> dict[str, str]:
        """The parameters as URL query values; ``from_query`` reads them back."""
        return {name: kind.format(getattr(self, name)) for name, kind in self.table().items()}

    @classmethod
    def from_query(cls, query: Mapping[str, Any]):
        """Read parameters from a URL, never failing: ``(params, notices)``.

        Missing keys take the default; malformed values take the default and
        out-of-range numbers the nearest valid value, each with a notice.
        Unknown keys are ignored.
        """
        default, values, notices = cls(), {}, []
        for name, kind in cls.table().items():
            if name not in query:
                continue
            raw = query[name]
            raw = str(raw[-1] if isinstance(raw, (list, tuple)) and raw else raw)
            try:
                values[name] = kind.check(kind.parse(raw))
            except ValueError as exc:
                fixed = kind.nearest(raw, getattr(default, name))
                values[name] = fixed
                notices.append(f"The link's {kind.label} = '{raw[:SHOWN]}' was not usable "
                               f"({exc}); using {kind.format(fixed)} instead.")
        return replace(default, **values), notices

    def estimator_arguments(self) -> dict[str, Any]:
        """The estimator's keyword arguments, in table order, from every field with an ``arg``."""
        return {kind.arg: kind.argument(getattr(self, name))
                for name, kind in self.table().items() if kind.arg}

    def unused(self, name: str) -> str | None:
        """Why field ``name`` has no effect with these settings, or None when it has one."""
        for other, values in self.table()[name].when:
            if getattr(self, other) not in values:
                kind = self.table()[other]
                allowed = " or ".join(map(kind.format, values))
                return (f"Used only when {kind.label} is {allowed}; "
                        f"now it is {kind.format(getattr(self, other))}.")
        return None


def _hidden_layer(units: int) -> tuple[int]:
    return (units,)


_SGD = (("solver", ("sgd",)),)
_STOCHASTIC = (("solver", ("sgd", "adam")),)


@dataclass(frozen=True)
class TrainParams(ParamTable):
    """Everything that decides a trained network. The defaults are the lesson's,
    and scikit-learn's for every setting the lesson leaves alone."""

    digits: tuple[int, ...] = param((0, 1, 2, 3), DigitList(
        "Digits", "Which digits the network learns to tell apart. More digits → a harder task: "
        "each unit has to serve more of them, and accuracy usually drops.", section=MAIN))
    hidden_units: int = param(6, Whole(
        "Hidden units", "How many units the hidden layer has: one weight picture each. More units "
        "→ more patterns it can pick up; fewer → each unit has to cover several digits.",
        1, 36, slider=True, section=MAIN,
        arg="hidden_layer_sizes", to_arg=_hidden_layer))
    alpha: float = param(1e-4, Number(
        "alpha (L2 penalty)", "How strongly large weights are punished. Higher alpha → smoother "
        "weight images, fewer extreme weights; too high and every weight shrinks towards 0 "
        "and accuracy drops. 0: no penalty.", 0.0, 10.0, ALPHA_STEPS,
        section=MAIN, arg="alpha"))
    random_state: int = param(2, Whole(
        "random_state", "The seed for the starting weights and the order of the images. Another "
        "seed gives a different but often equally good network: other units, in another "
        "order (see Compare).", 0, 2**32 - 1,
        section=MAIN, arg="random_state"))
    holdout: bool = param(False, YesNo(
        "Hold out MNIST's test digits",
        "Ticked: the network trains on MNIST's training digits only and is measured on the "
        "test digits it has never seen (test accuracy, confusions, its mistakes). Unticked, "
        "as in the lesson, it trains on every image.", section=MAIN))
    solver: str = param("sgd", Choice(
        "Solver", "How the weights are updated. sgd (the lesson's) steps down the loss a batch "
        "at a time; adam adapts each weight's step and is usually faster and safer; lbfgs "
        "uses every image for each step.", SOLVERS, arg="solver"))
    max_iter: int = param(200, Whole(
        "max_iter", "The most epochs it may train (an epoch is one pass over every training "
        "image; for lbfgs, iterations). Higher → more time to finish; it stops earlier when "
        "the loss stops improving.", 1, 1000, step=10, arg="max_iter"))
    learning_rate_init: float = param(0.001, Number(
        "learning_rate_init", "How big the steps are at the start (sgd and adam). Higher → "
        "learns faster but may overshoot, diverge or kill units; lower → steadier but "
        "slower.", 1e-6, 1.0,
        LEARNING_RATE_STEPS, arg="learning_rate_init"))
    scale_pixels: bool = param(False, YesNo(
        "Scale pixels to 0-1",
        "Divide the 0-255 pixel values by 255 before training. The lesson does not, and with "
        "sgd its huge first steps then kill most units; scaled pixels let them learn."))
    activation: str = param("relu", Choice(
        "activation", "The hidden units' function of their weighted input: relu (the "
        "lesson's; a unit can die, output 0 on every image), tanh or logistic (sigmoid; a "
        "unit can saturate), or identity (no bend: a linear model).",
        ACTIVATIONS, arg="activation"))
    batch_size: int = param(0, Whole(
        "batch_size", "Images per weight update (sgd and adam). Smaller → more, noisier "
        "updates per epoch; larger → fewer, smoother ones. auto is scikit-learn's "
        "default: min(200, number of images).", 0, 5000, step=10, zero="auto",
        arg="batch_size", when=_STOCHASTIC))
    momentum: float = param(0.9, Number(
        "momentum", "How much of the previous update each sgd step keeps. Higher → faster, "
        "smoother progress in a steady direction, but it can overshoot. sgd only.",
        0.0, 1.0, MOMENTUM_STEPS, arg="momentum", when=_SGD))
    learning_rate: str = param("constant", Choice(
        "learning_rate", "How sgd's step size changes: constant, shrinking over time "
        "(invscaling), or divided by 5 when the loss stalls (adaptive). sgd only.",
        LEARNING_RATES, arg="learning_rate", when=_SGD))
    early_stopping: bool = param(False, YesNo(
        "early_stopping", "Set aside validation_fraction of the training images and stop "
        "when their accuracy stops improving (sgd and adam): shorter training, and a "
        "network chosen on images it did not learn from.", arg="early_stopping",
        when=_STOCHASTIC))
    validation_fraction: float = param(0.1, Number(
        "validation_fraction", "Share of the training images set aside to decide early "
        "stopping. More → a surer signal, but fewer images to learn from.", 0.05, 0.5,
        VALIDATION_STEPS, arg="validation_fraction",
        when=(("early_stopping", (True,)),)))

    def describe_units(self) -> str:
        return f"{self.hidden_units} hidden unit{'s' if self.hidden_units != 1 else ''}"


FIELDS: dict[str, Kind] = TrainParams.table()


@dataclass(frozen=True)
class Sweep:
    """How a sweep lists parameter ``name``: the values it tries unless told otherwise, and
    the names it goes by where the table's own would not do.

    ``column`` names it in the results table and the heatmaps (default: the name, spaced),
    ``option`` on the command line (default: the name, dashed), ``label`` above its widget
    on the Sweep page (default: the kind's label); ``words`` say a yes/no as text.
    ``repeats``: its values repeat one setting (seeds), side by side in the grid and
    averaged over in the heatmaps.
    """

    name: str
    values: tuple
    _: KW_ONLY
    column: str = ""
    option: str = ""
    label: str = ""
    words: tuple[str, str] | tuple[()] = ()
    repeats: bool = False

    def __post_init__(self):
        kind = self.kind
        for attribute, default in (("column", self.name.replace("_", " ")),
                                   ("option", self.name.replace("_", "-")),
                                   ("label", kind.label)):
            object.__setattr__(self, attribute, getattr(self, attribute) or default)
        offered = kind.offered()
        # A list of digit lists has no widget nor option; a default must be one to pick.
        if isinstance(kind, DigitList) or not self.values or (
                offered is not None and not set(self.values) <= set(offered)):
            raise ValueError(f"A sweep cannot list {self.name} as {self.values}.")
        for value in self.values:
            kind.check(value)

    @property
    def kind(self) -> Kind:
        return FIELDS[self.name]

    def text(self, value) -> str:
        """A value as the sweep writes it: its word, or a number in short (1e-4 as 0.0001)."""
        if self.words:
            return self.words[bool(value)]
        return f"{value:g}" if isinstance(self.kind, Number) else self.kind.format(value)


SWEEPS: dict[str, Sweep] = {sweep.name: sweep for sweep in (  # in the order of their columns
    Sweep("hidden_units", (3, 6, 12)),
    Sweep("alpha", (1e-4, 1e-2, 1.0)),
    Sweep("random_state", (2, 3), option="seeds", column="seed", label="Seeds (random_state)",
          repeats=True),
    Sweep("scale_pixels", (False, True), column="pixels", label="Pixels",
          words=("raw 0–255", "scaled to 0–1")),
    Sweep("solver", ("sgd",)),
)}
