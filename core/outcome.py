"""What happened in a training, in plain words: why it stopped, and what to change if it helps.

scikit-learn's own flag ("converged") says only that the loss stopped
improving. A network whose units all died also stops improving, at a poor
accuracy, so the words here say what happened ("the loss stopped improving
after 46 epochs") and, when the result is poor for a known reason, why.

``Outcome.words`` names the ending in a few words of ``MEANINGS`` ("stuck, not
finished"): Explore shows them, and so do a sweep's table, CSV and heatmaps,
for the same network.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.train import TrainResult

# Every ending's words, and what they mean. "stuck, not finished" is said whatever stopped the
# training: half or more of the units learning nothing is what the person needs to know.
MEANINGS = {
    "converged": "the loss stopped improving (scikit-learn's convergence) with most hidden "
                 "units learning: the training finished.",
    "stopped early": "early_stopping: the accuracy on the images set aside stopped improving; "
                     "the network kept is the one with the best score.",
    "ran out of epochs": "it reached max_iter while the loss was still improving: a larger "
                         "max_iter lets it go on learning.",
    "ran out of iterations": "lbfgs reached max_iter before converging: a larger max_iter lets "
                             "it go on.",
    "did not converge": "lbfgs stopped before max_iter without converging (scipy's message "
                        "says why).",
    "unknown": "lbfgs stopped; whether it converged was not seen.",
    "stuck, not finished": "half or more of the hidden units are dead (or saturated) and learn "
                           "nothing, so the network is stuck at what the rest can do, however "
                           "the training stopped (scikit-learn may still call it converged).",
    "stopped by you": "you stopped it before the end: a partial network.",
}


@dataclass(frozen=True)
class Outcome:
    """How a training ended: its words (a key of ``MEANINGS``), one sentence about it, and a
    suggested change (or None)."""

    words: str
    text: str
    more_epochs: int | None = None  # a larger max_iter that lets it finish, when it ran out

    @property
    def meaning(self) -> str:
        return MEANINGS[self.words]


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
        return Outcome("stopped by you", f"Stopped by you after {n} of {params.max_iter} {unit}.")
    if params.solver == "lbfgs":
        text = result.stop_reason[:1].upper() + result.stop_reason[1:] + "."
        return _said(result, _lbfgs_words(result), text)
    if n >= params.max_iter:
        # A stuck network's dead units stay dead: more epochs are no fix for it.
        more = params.max_iter if _is_stuck(result) else min(params.max_iter * 2, most_iter)
        text = (f"It ran out of {unit}: the loss was still improving when it reached "
                f"max_iter = {params.max_iter}.")
        if more > params.max_iter:
            text += " Raise max_iter (under Advanced) to let it finish."
        return _said(result, f"ran out of {unit}", text,
                     more_epochs=more if more > params.max_iter else None)
    model = result.model
    if getattr(params, "early_stopping", False):
        share = params.validation_fraction
        text = (f"The accuracy on the {share:.0%} of images set aside stopped improving after "
                f"{n} {unit} (by less than tol = {model.tol:g} for {model.n_iter_no_change} "
                f"{unit} in a row); the network kept is the one with the best score.")
        return _said(result, "stopped early", text)
    text = (f"The loss stopped improving after {n} {unit} (by less than tol = "
            f"{model.tol:g} for {model.n_iter_no_change} {unit} in a row).")
    return _said(result, "converged", text)


def _lbfgs_words(result: TrainResult) -> str:
    """lbfgs's ending, from scipy's result (``TrainResult.converged``; None: not seen)."""
    if result.converged is None:
        return "unknown"
    if result.converged:
        return "converged"
    if result.n_iter >= result.params.max_iter:
        return "ran out of iterations"
    return "did not converge"


def _said(result: TrainResult, words: str, text: str, *, more_epochs: int | None = None
          ) -> Outcome:
    """The ending, unless half or more of the units learn nothing: then it is stuck."""
    if _is_stuck(result):
        words = "stuck, not finished"
    return Outcome(words, text + _stuck(result), more_epochs=more_epochs)


def _is_stuck(result: TrainResult) -> bool:
    dead = len(result.dead_units)
    return bool(dead) and 2 * dead >= result.params.hidden_units


def _stuck(result: TrainResult) -> str:
    """Said when dead (or saturated) units, not learning, are why the loss stopped moving."""
    dead, total = len(result.dead_units), result.params.hidden_units
    problem = result.unit_problem or "dead"
    if not dead:
        return ""
    if dead == total:
        return f" Every hidden unit is {problem}, so it is stuck, not finished."
    if _is_stuck(result):
        return f" With {dead} of {total} hidden units {problem} it is stuck, not finished."
    return f" {dead} of {total} hidden units are {problem}: they learn (next to) nothing."
