"""Training parameters: one frozen dataclass and the table that describes it.

``TrainParams()`` is the lesson's exact settings. The field table ``FIELDS``
drives validation, the sidebar's widgets, the URL round trip and cache keys,
so a parameter is described once, here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

SOLVERS = ("sgd", "adam", "lbfgs")
ALPHA_STEPS = (0.0, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0)
LEARNING_RATE_STEPS = (1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0)


@dataclass(frozen=True)
class FieldSpec:
    """How one parameter is shown, bounded and written in a URL."""

    label: str
    help: str
    low: float | None = None
    high: float | None = None
    choices: tuple = ()
    steps: tuple = ()  # suggested values for a log-scale slider


FIELDS: dict[str, FieldSpec] = {
    "digits": FieldSpec("Digits", "Which digits the network learns to tell apart.", 0, 9),
    "hidden_units": FieldSpec("Hidden units", "Size of the single hidden layer.", 1, 36),
    "alpha": FieldSpec(
        "alpha (L2 penalty)", "Strength of the weight penalty.", 0.0, 10.0, steps=ALPHA_STEPS
    ),
    "random_state": FieldSpec(
        "random_state", "Seed for the initial weights and the shuffling.", 0, 2**32 - 1
    ),
    "solver": FieldSpec("Solver", "The optimiser scikit-learn uses.", choices=SOLVERS),
    "max_iter": FieldSpec("max_iter", "Maximum number of epochs.", 1, 1000),
    "learning_rate_init": FieldSpec(
        "learning_rate_init",
        "Initial step size (sgd and adam).",
        1e-6,
        1.0,
        steps=LEARNING_RATE_STEPS,
    ),
    "scale_pixels": FieldSpec(
        "Scale pixels to 0-1",
        "Divide the 0-255 pixel values by 255 before training. The lesson does not.",
    ),
}


class InvalidParams(ValueError):
    """Raised with every problem found, each a sentence a person can act on."""

    def __init__(self, messages: list[str]):
        super().__init__(" ".join(messages))
        self.messages = messages


@dataclass(frozen=True)
class TrainParams:
    """Everything that decides a trained network. The defaults are the lesson's."""

    digits: tuple[int, ...] = (0, 1, 2, 3)
    hidden_units: int = 6
    alpha: float = 1e-4
    random_state: int = 2
    solver: str = "sgd"
    max_iter: int = 200
    learning_rate_init: float = 0.001
    scale_pixels: bool = False

    def __post_init__(self):
        problems = []
        for f in fields(self):
            try:
                value = _CHECKS[f.name](FIELDS[f.name], getattr(self, f.name))
            except ValueError as exc:
                problems.append(str(exc))
            else:
                # Frozen: normalised values (sorted digits, plain ints) are set once, here.
                object.__setattr__(self, f.name, value)
        if problems:
            raise InvalidParams(problems)

    def to_query(self) -> dict[str, str]:
        """The parameters as URL query values; ``from_query`` reads them back."""
        return {name: _FORMAT[name](getattr(self, name)) for name in FIELDS}

    @classmethod
    def from_query(cls, query: Mapping[str, Any]) -> tuple[TrainParams, list[str]]:
        """Read parameters from a URL, never failing.

        Missing keys take the default; malformed values take the default and
        out-of-range numbers the nearest valid value, each with a notice.
        Unknown keys are ignored.
        """
        default, values, notices = cls(), {}, []
        for name, spec in FIELDS.items():
            if name not in query:
                continue
            raw = query[name]
            raw = raw[-1] if isinstance(raw, (list, tuple)) and raw else raw
            try:
                values[name] = _CHECKS[name](spec, _PARSE[name](str(raw)))
            except ValueError as exc:
                fixed = _nearest_valid(name, spec, str(raw), getattr(default, name))
                values[name] = fixed
                notices.append(
                    f"The link's {spec.label} = '{str(raw)[:40]}' was not usable ({exc}); "
                    f"using {_FORMAT[name](fixed)} instead."
                )
        return replace(default, **values), notices

    def describe_units(self) -> str:
        return f"{self.hidden_units} hidden unit{'s' if self.hidden_units != 1 else ''}"


def _check_digits(spec: FieldSpec, value) -> tuple[int, ...]:
    try:
        digits = sorted({_whole(d) for d in value})
    except (TypeError, ValueError):
        raise ValueError(f"Digits must be whole numbers from 0 to 9 (got {value!r}).") from None
    outside = [d for d in digits if not spec.low <= d <= spec.high]
    if outside:
        raise ValueError(f"Digits must be from 0 to 9 (got {outside[0]}).")
    if len(digits) < 2:
        got = "none" if not digits else f"only {digits[0]}"
        raise ValueError(f"Pick at least two digits to tell apart (you picked {got}).")
    return tuple(digits)


def _whole(value) -> int:
    if isinstance(value, bool) or not float(value).is_integer():
        raise ValueError(value)
    return int(value)


def _check_int(spec: FieldSpec, value) -> int:
    try:
        number = _whole(value)
    except (TypeError, ValueError, OverflowError):
        number = None
    if number is None or not spec.low <= number <= spec.high:
        raise ValueError(
            f"{spec.label} must be a whole number from {spec.low:,.0f} to {spec.high:,.0f} "
            f"(got {value!r})."
        )
    return number


def _check_float(spec: FieldSpec, value) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if isinstance(value, bool) or not spec.low <= number <= spec.high:
        raise ValueError(
            f"{spec.label} must be a number from {spec.low:g} to {spec.high:g} (got {value!r})."
        )
    return number


def _check_choice(spec: FieldSpec, value) -> str:
    if value not in spec.choices:
        raise ValueError(f"{spec.label} must be one of {', '.join(spec.choices)} (got {value!r}).")
    return value


def _check_bool(spec: FieldSpec, value) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{spec.label} must be true or false (got {value!r}).")
    return value


def _parse_bool(text: str):
    return {"true": True, "1": True, "false": False, "0": False}.get(text.strip().lower(), text)


def _parse_number(text: str):
    try:
        return float(text)
    except ValueError:
        return text


def _nearest_valid(name: str, spec: FieldSpec, raw: str, default):
    """Clamp an out-of-range number into its bounds; anything else gets the default."""
    number = _parse_number(raw)
    if spec.low is None or name == "digits" or not isinstance(number, float):
        return default
    if math.isnan(number):
        return default
    clamped = min(max(number, spec.low), spec.high)
    return _CHECKS[name](spec, round(clamped) if isinstance(default, int) else clamped)


_CHECKS = {
    "digits": _check_digits,
    "hidden_units": _check_int,
    "alpha": _check_float,
    "random_state": _check_int,
    "solver": _check_choice,
    "max_iter": _check_int,
    "learning_rate_init": _check_float,
    "scale_pixels": _check_bool,
}
_PARSE = {
    "digits": lambda text: [_parse_number(part) for part in text.split(",") if part.strip()],
    "hidden_units": _parse_number,
    "alpha": _parse_number,
    "random_state": _parse_number,
    "solver": str.strip,
    "max_iter": _parse_number,
    "learning_rate_init": _parse_number,
    "scale_pixels": _parse_bool,
}
_FORMAT = {
    "digits": lambda digits: ",".join(map(str, digits)),
    "hidden_units": str,
    "alpha": repr,
    "random_state": str,
    "solver": str,
    "max_iter": str,
    "learning_rate_init": repr,
    "scale_pixels": lambda flag: "true" if flag else "false",
}
