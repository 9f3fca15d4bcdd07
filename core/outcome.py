"""What happened in a training, in plain words: why it stopped, and what to change if it helps.

scikit-learn's own flag ("converged") says only that the loss stopped
improving. A network whose units all died also stops improving, at a poor
accuracy, so the words here say what happened ("the loss stopped improving
after 46 epochs") and, when the result is poor for a known reason, why.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.train import TrainResult


@dataclass(frozen=True)
class Outcome:
    """One sentence about how a training ended, and a suggested change (or None)."""

    text: str
    more_epochs: int | None = None  # a larger max_iter that lets it finish, when it ran out


def epoch_word(result: TrainResult) -> str:
    """lbfgs counts iterations (loss evaluations), sgd and adam count epochs."""
    return "iterations" if result.params.solver == "lbfgs" else "epochs"


def outcome(result: TrainResult, *, most_iter: int = 1000) -> Outcome:
    """How ``result``'s training ended, in words a learner can act on.

    ``most_iter`` is the largest max_iter the settings allow: the suggested
    longer training never goes past it.
    """
    params, n = result.params, result.n_iter
    unit = epoch_word(result)
    if result.stopped:
        return Outcome(f"Stopped by you after {n} of {params.max_iter} {unit}.")
    if params.solver == "lbfgs":
        text = result.stop_reason[:1].upper() + result.stop_reason[1:] + "."
        return Outcome(text + _stuck(result))
    if n >= params.max_iter:
        more = min(params.max_iter * 2, most_iter)
        text = (f"It ran out of {unit}: the loss was still improving when it reached "
                f"max_iter = {params.max_iter}.")
        if more > params.max_iter:
            text += " Raise max_iter (under Advanced) to let it finish."
        return Outcome(text + _stuck(result), more_epochs=more if more > params.max_iter else None)
    model = result.model
    if getattr(params, "early_stopping", False):
        share = params.validation_fraction
        text = (f"The accuracy on the {share:.0%} of images set aside stopped improving after "
                f"{n} {unit} (by less than tol = {model.tol:g} for {model.n_iter_no_change} "
                f"{unit} in a row); the network kept is the one with the best score.")
    else:
        text = (f"The loss stopped improving after {n} {unit} (by less than tol = "
                f"{model.tol:g} for {model.n_iter_no_change} {unit} in a row).")
    return Outcome(text + _stuck(result))


def _stuck(result: TrainResult) -> str:
    """Said when dead (or saturated) units, not learning, are why the loss stopped moving."""
    dead, total = len(result.dead_units), result.params.hidden_units
    problem = result.unit_problem or "dead"
    if not dead:
        return ""
    if dead == total:
        return f" Every hidden unit is {problem}, so it is stuck, not finished."
    if 2 * dead >= total:
        return f" With {dead} of {total} hidden units {problem} it is stuck, not finished."
    return f" {dead} of {total} hidden units are {problem}: they learn (next to) nothing."
