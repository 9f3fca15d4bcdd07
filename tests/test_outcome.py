"""How a training ended, in words: a stuck network is not told to train longer."""

from core.outcome import outcome
from core.params import TrainParams
from core.train import train_mlp


def test_a_stuck_network_that_ran_out_of_epochs_is_not_offered_more(small):
    """The lesson's raw pixels kill most units within a few epochs: more epochs cannot bring
    them back, so the page offers no longer training (a healthy network that ran out does)."""
    stuck = train_mlp(TrainParams(max_iter=5), small)
    assert 2 * len(stuck.dead_units) >= stuck.params.hidden_units and stuck.n_iter == 5
    said = outcome(stuck)
    assert said.words == "stuck, not finished" and said.more_epochs is None
    assert "Raise max_iter" not in said.text and "stuck, not finished" in said.text

    healthy = train_mlp(TrainParams(max_iter=5, scale_pixels=True), small)
    said = outcome(healthy)
    assert not healthy.dead_units and said.words == "ran out of epochs"
    assert said.more_epochs == 10 and "Raise max_iter" in said.text
