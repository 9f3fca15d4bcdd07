"""Why the network gave its answer for one digit: each hidden unit's share of the score.

A digit's score (its logit) is ``z_c = sum_j h_j * W2[j, c] + b2[c]``: every hidden unit
adds its activation times its vote for that digit, and the output bias adds the rest.
``predict_proba`` is the softmax of these scores. With two digits scikit-learn has one
logistic output, whose single score is for the second digit against the first; here
that is the second digit's score, and the first digit's score is 0, which gives the
same probabilities (the softmax of (0, z) is (1 - sigmoid(z), sigmoid(z))).

The pixels' share follows the same sum back through the first layer. For ReLU an
active unit is a straight line of its inputs, so ``x_i * sum_j W1[i, j] * W2[j, c]``
over the active units j, with the active units' biases, adds up to the score exactly;
for tanh and logistic the same sum with each unit's slope is gradient x input, an
approximation.
"""

from __future__ import annotations

from dataclasses import dataclass

import matplotlib
import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from scipy.special import expit
from sklearn.neural_network import MLPClassifier

from core.units import pre_activations
from core.weights import (
    CAPTION_PX,
    DEFAULT_STYLE,
    PAD_INCHES,
    PX_PER_INCH,
    TEXT_PT,
    WIDE_COLUMN_PX,
    WeightStyle,
    coloured,
    text_width,
)

EXACT = ("relu", "identity")  # activations whose pixel shares add up to the score exactly
MOST_UNITS = 8  # units the figure shows one by one; the others share one row
ANSWER_COLOUR, OTHER_COLOUR = "#3d3d3d", "#e8a33d"  # not red or blue: those are the weights'
OTHER_TEXT = "#9a5f00"  # the runner-up's numbers: its colour, dark enough to read


@dataclass(frozen=True)
class Explanation:
    """One input's scores, split by hidden unit and by pixel.

    Arrays are indexed by position in ``digits`` (``model.classes_``), never by digit.
    """

    digits: tuple[int, ...]
    activation: str
    x: np.ndarray  # the input as the network sees it, (784,)
    hidden: np.ndarray  # h: each hidden unit's output, (n_hidden,)
    units: np.ndarray  # h_j * vote of unit j for each digit, (n_hidden, n_digits)
    biases: np.ndarray  # the output layer's bias for each digit, (n_digits,)
    pixels: np.ndarray  # each pixel's share of each digit's score, (784, n_digits)
    hidden_biases: np.ndarray  # the hidden units' biases' share of each score, (n_digits,)
    chosen: int  # position of the digit it answers
    runner_up: int  # position of the digit it is compared with

    @property
    def scores(self) -> np.ndarray:
        """Each digit's score (logit): the units' contributions plus the bias."""
        return self.units.sum(axis=0) + self.biases

    @property
    def probabilities(self) -> np.ndarray:
        """The softmax of the scores: ``predict_proba`` for this input."""
        shifted = np.exp(self.scores - self.scores.max())
        return shifted / shifted.sum()

    @property
    def exact(self) -> bool:
        """Whether the pixels' shares add up to the scores exactly (else gradient x input)."""
        return self.activation in EXACT

    @property
    def digit(self) -> int:
        return self.digits[self.chosen]

    @property
    def other(self) -> int:
        return self.digits[self.runner_up]

    def pixel_difference(self) -> np.ndarray:
        """Each pixel's push towards the answer rather than the runner-up, (784,)."""
        return self.pixels[:, self.chosen] - self.pixels[:, self.runner_up]


def output_votes(model: MLPClassifier) -> tuple[np.ndarray, np.ndarray]:
    """Every hidden unit's vote for every digit, and every digit's bias: a score per digit.

    With two digits the one logistic output scores the second digit; the first scores 0.
    """
    votes, bias = model.coefs_[1], model.intercepts_[1]
    if votes.shape[1] == 1:
        return np.hstack([np.zeros_like(votes), votes]), np.array([0.0, bias[0]])
    return votes, bias


def explain(model: MLPClassifier, x: np.ndarray, *, runner_up: int | None = None
            ) -> Explanation:
    """Why ``model`` answers what it does for one input.

    Parameters
    ----------
    model : MLPClassifier
        A fitted network with one hidden layer.
    x : ndarray
        One input, 784 values, scaled as the network's training inputs were
        (``core.train.model_inputs``).
    runner_up : int, optional
        The digit to compare the answer with (a mistake's true digit); by default
        the digit with the second highest score. If it is the answer itself, the
        second highest is used.
    """
    x = np.asarray(x, dtype=np.float64).ravel()
    votes, biases = output_votes(model)
    pre = pre_activations(model, x[None])[0]
    hidden, slope = _activation_and_slope(model.activation, pre)
    through = votes * slope[:, None]  # each unit's vote, times how much it moves with its input
    units = hidden[:, None] * votes
    scores = units.sum(axis=0) + biases
    order = np.argsort(-scores, kind="stable")
    digits = tuple(int(d) for d in model.classes_)
    chosen = int(order[0])
    compared = digits.index(runner_up) if runner_up in digits else None
    return Explanation(
        digits=digits, activation=model.activation, x=x, hidden=hidden, units=units, biases=biases,
        pixels=x[:, None] * (model.coefs_[0] @ through),
        hidden_biases=model.intercepts_[0] @ through,
        chosen=chosen, runner_up=int(order[1]) if compared in (None, chosen) else compared)


def _activation_and_slope(activation: str, pre: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each unit's output for inputs ``pre``, and its slope there (ReLU: 1 if active, else 0)."""
    if activation == "relu":
        return np.maximum(pre, 0.0), (pre > 0).astype(np.float64)
    if activation == "tanh":
        out = np.tanh(pre)
        return out, 1.0 - out ** 2
    if activation == "logistic":
        out = expit(pre)
        return out, out * (1.0 - out)
    return pre, np.ones_like(pre)  # identity


def pixel_picture(explanation: Explanation, *, zoom: int = 10) -> np.ndarray:
    """The input in light grey, each pixel tinted red where it pushed towards the answer
    rather than the runner-up and blue where it pushed towards the runner-up, the stronger
    the push the deeper the colour (one scale: the largest push is the deepest).

    Returns RGB uint8, ``28 * zoom`` square.
    """
    push = explanation.pixel_difference().reshape(28, 28)
    top = float(np.abs(push).max()) or 1.0
    tint = matplotlib.colormaps["RdBu_r"](0.5 + 0.5 * push / top)[..., :3]
    strength = np.sqrt(np.abs(push) / top)[..., None]  # faint pushes stay visible
    base = _paper_and_ink(explanation, push.shape)
    rgb = (1 - strength) * base + strength * tint
    picture = np.round(255 * rgb).astype(np.uint8)
    return picture.repeat(zoom, axis=0).repeat(zoom, axis=1)


def _paper_and_ink(explanation: Explanation, shape) -> np.ndarray:
    """The input's ink in light grey on white: the digit's shape under the colours."""
    ink = explanation.x / (float(explanation.x.max()) or 1.0)
    grey = 1.0 - 0.4 * np.clip(ink, 0.0, 1.0).reshape(shape)
    return np.repeat(grey[..., None], 3, axis=-1)


def number(value: float) -> str:
    """A score or an activation as a person reads it: two figures, a true minus sign."""
    size = abs(value)
    if size < 0.005:
        return "0"
    text = f"{value:,.0f}" if size >= 10 else f"{value:.1f}" if size >= 1 else f"{value:.2f}"
    return text.replace("-", "−")


def signed(value: float) -> str:
    """``number`` with its sign, + included: a push towards a digit or away from it."""
    text = number(value)
    return text if text == "0" or text.startswith("−") else "+" + text


def sentences(explanation: Explanation, *, most: int = 3) -> list[str]:
    """What the numbers say, for a learner: the units that push the answer most, the one
    that pulls against it, what puts it ahead of the runner-up, the silent units, the
    pixels. Units are numbered from 1, as on every page."""
    e, c = explanation, explanation.chosen
    lines = [f"Its score for {e.digit} is {number(e.scores[c])}; for {e.other} "
             f"{number(e.scores[e.runner_up])}. Each unit adds its activation × its vote for "
             "a digit to that digit's score, and the bias adds the rest."]
    if len(e.digits) == 2:
        lines.append(f"With two digits the network has one output, a score for {e.digits[1]} "
                     f"against {e.digits[0]}: {e.digits[0]}'s score is 0 and every vote for "
                     "it is 0.")
    shares = e.units[:, c]
    helpers = [j for j in np.argsort(-shares, kind="stable")[:most] if shares[j] > 0]
    lines += [f"Unit {j + 1} {_fires(e, j)} on this digit and votes "
              f"{signed(e.units[j, c] / e.hidden[j])} for {e.digit}: {signed(shares[j])} "
              f"towards {e.digit}." for j in helpers]
    against = int(np.argmin(shares))
    if shares[against] < 0:
        lines.append(f"Unit {against + 1} {_fires(e, against)} but votes "
                     f"{signed(shares[against] / e.hidden[against])} for {e.digit}: "
                     f"{signed(shares[against])}, against it.")
    lead = e.units[:, c] - e.units[:, e.runner_up]
    ahead = int(np.argmax(lead))
    if lead[ahead] > 0:
        lines.append(f"Unit {ahead + 1} does most to put {e.digit} ahead of {e.other}: it adds "
                     f"{signed(e.units[ahead, c])} to {e.digit}'s score and "
                     f"{signed(e.units[ahead, e.runner_up])} to {e.other}'s.")
    lines += _silent(e)
    lines.append(_pixels_sentence(e))
    return lines


def _fires(e: Explanation, unit: int) -> str:
    """How unit ``unit`` responds to this input, in words, with its activation."""
    h = e.hidden[unit]
    if h < 0:
        return f"is negative ({number(h)})"
    strongest = float(e.hidden.max())
    return f"fires {'strongly' if h >= 0.5 * strongest else 'weakly'} ({number(h)})"


def _silent(e: Explanation) -> list[str]:
    """Which units are silent (exactly 0, as ReLU makes them): they add nothing."""
    silent = [int(j) + 1 for j in np.flatnonzero(e.hidden == 0)]
    if len(silent) == 1:
        return [f"Unit {silent[0]} is silent (0) on this digit: it adds nothing to any score."]
    if silent:
        return [f"Units {_listed(silent)} are silent (0) on this digit: they add nothing to "
                "any score."]
    return []


def _listed(numbers: list[int], *, named: int = 6) -> str:
    """"2, 5 and 9"; beyond ``named`` numbers, "2, 5, 9, 11, 12, 14 and 7 more"."""
    if len(numbers) <= named:
        return ", ".join(map(str, numbers[:-1])) + f" and {numbers[-1]}"
    return ", ".join(map(str, numbers[:named])) + f" and {len(numbers) - named} more"


def _pixels_sentence(e: Explanation) -> str:
    line = (f"In the picture, the pixels in red pushed towards {e.digit} rather than "
            f"{e.other}, those in blue towards {e.other}.")
    if e.exact:
        return line + (" With the active units' biases and the output biases they add up to "
                       "the difference of the two scores exactly.")
    return line + (f" For {e.activation} units this is gradient × input, an approximation: "
                   "the pushes need not add up to the scores.")


@dataclass(frozen=True)
class _Row:
    """One row of the figure: a unit (``unit`` its index), the others together, the bias or
    the score; its share of the answer's score and of the runner-up's."""

    label: str
    answer: float
    other: float
    unit: int | None = None


def _rows(e: Explanation, most: int) -> list[_Row]:
    """The ``most`` strongest units, sorted by their share of the answer's score, the rest
    summed in one row, the output bias, and the two scores they add up to."""
    c, r = e.chosen, e.runner_up
    strength = np.maximum(np.abs(e.units[:, c]), np.abs(e.units[:, r]))
    strongest = np.argsort(-strength, kind="stable")[:most]
    shown = sorted(strongest, key=lambda j: -e.units[j, c])
    rows = [_Row(f"unit {j + 1}", e.units[j, c], e.units[j, r], int(j)) for j in shown]
    rest = np.setdiff1d(np.arange(len(e.hidden)), strongest)
    if len(rest):
        rows.append(_Row(f"{len(rest)} others" if len(rest) > 1 else f"unit {rest[0] + 1}",
                         e.units[rest, c].sum(), e.units[rest, r].sum()))
    return rows + [_Row("bias", e.biases[c], e.biases[r]),
                   _Row("score", e.scores[c], e.scores[r])]


def why_figure(explanation: Explanation, images: np.ndarray, *,
               style: WeightStyle = DEFAULT_STYLE, compared: str = "runner-up",
               most: int = MOST_UNITS, shown_px: float = WIDE_COLUMN_PX) -> Figure:
    """A row per hidden unit: its weight image, a bar of its share of the answer's score and,
    under it, of the runner-up's (``compared`` names it), with both numbers; the strongest
    ``most`` units one by one, sorted by their share of the answer, the others summed in one
    row, then the bias and the score they all add up to.

    Drawn for a column ``shown_px`` wide at its narrowest, its text as large as the page's
    captions there; ``images`` are every unit's weight images, coloured as ``style`` says.
    """
    e = explanation
    rows = _rows(e, most)
    answers = [signed(row.answer) for row in rows]
    others = [signed(row.other) for row in rows]
    gap, row_px, top_px = 0.4 * CAPTION_PX, 2.1 * CAPTION_PX, 1.8 * CAPTION_PX
    label_px = max(text_width(row.label) for row in rows)
    picture_px = row_px * 28 / _ROW_PX  # the stacked pictures' pixels square
    numbers_px = [max(text_width(n) for n in column) for column in (answers, others)]
    width = shown_px - 2 * PAD_INCHES * PX_PER_INCH
    height = top_px + len(rows) * row_px + 0.3 * CAPTION_PX
    fig = Figure(figsize=(width / PX_PER_INCH, height / PX_PER_INCH))
    fig.add_artist(Rectangle((0, 0), 1, 1, transform=fig.transFigure, fill=False, linewidth=0))
    bars_left = label_px + picture_px + 2 * gap
    bars_px = width - bars_left - sum(numbers_px) - 3 * gap

    def box(left: float, span: float) -> tuple[float, float, float, float]:
        return (left / width, 1 - (top_px + len(rows) * row_px) / height, span / width,
                len(rows) * row_px / height)

    _pictures(fig.add_axes(box(label_px + gap, picture_px)), rows, images, style)
    _bars(fig.add_axes(box(bars_left, bars_px)), rows)
    for i, row in enumerate(rows):
        y = 1 - (top_px + (i + 0.5) * row_px) / height
        weight = "bold" if row.label == "score" else "normal"
        fig.text(label_px / width, y, row.label, ha="right", va="center", fontsize=TEXT_PT,
                 fontweight=weight)
        for column, (left, colour) in enumerate(((bars_left + bars_px + gap, ANSWER_COLOUR),
                                                  (width - numbers_px[1], OTHER_TEXT))):
            fig.text((left + numbers_px[column]) / width, y, (answers, others)[column][i],
                     ha="right", va="center", fontsize=TEXT_PT, color=colour, fontweight=weight)
    _key(fig, e, compared)
    return fig


_ROW_PX = 28 + 6  # a unit's picture and the gap below it, in the stacked image's pixels


def _pictures(ax, rows: list[_Row], images: np.ndarray, style: WeightStyle) -> None:
    """The units' weight images one above the other, beside their rows; white elsewhere."""
    pictures = coloured(images, style=style)  # every unit: a shared scale spans them all
    stack = np.full((len(rows) * _ROW_PX, 28, 3), 255, dtype=np.uint8)
    for i, row in enumerate(rows):
        if row.unit is not None:
            stack[i * _ROW_PX + 3:i * _ROW_PX + 31] = pictures[row.unit]
    ax.imshow(stack, aspect="auto", interpolation="nearest")
    ax.set_axis_off()


def _bars(ax, rows: list[_Row]) -> None:
    """Each row's two bars, the answer's above the runner-up's, from one zero line."""
    answers = np.array([row.answer for row in rows])
    others = np.array([row.other for row in rows])
    places = np.arange(len(rows))
    ax.barh(places - 0.19, answers, height=0.36, color=ANSWER_COLOUR)
    ax.barh(places + 0.19, others, height=0.36, color=OTHER_COLOUR)
    reach = max(float(np.abs(np.concatenate([answers, others])).max()), 1e-9)
    low, high = min(0.0, answers.min(), others.min()), max(0.0, answers.max(), others.max())
    ax.set_xlim(low - 0.03 * reach, high + 0.03 * reach)
    ax.set_ylim(len(rows) - 0.5, -0.5)
    ax.axvline(0, color="#777777", linewidth=0.8)
    ax.axhline(len(rows) - 1.5, color="#777777", linewidth=0.8)  # the sum under the line
    ax.set_axis_off()


def _key(fig: Figure, e: Explanation, compared: str) -> None:
    """The two colours, in a line above the bars."""
    fig.text(0, 1, f"■ {e.digit} (its answer)", ha="left", va="top", fontsize=TEXT_PT,
             color=ANSWER_COLOUR)
    fig.text(1, 1, f"■ {e.other} ({compared})", ha="right", va="top", fontsize=TEXT_PT,
             color=OTHER_TEXT)
