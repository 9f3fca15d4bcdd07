"""Replaying a training in the pages (AppTest): the epoch slider, the charts, the GIF button."""

import pickle

import joblib
import pytest
from test_pages import grid_caption, kept_widget, offline_sample, run, settle  # noqa: F401 - the fixture

from core.cache import cache_dir
from core.data import load_sample
from core.params import TrainParams
from core.train import train_mlp


def test_the_epoch_slider_replays_the_grid_and_says_when_units_died():
    """The lesson's settings: the slider starts at the last epoch; moving it to epoch 1
    redraws the grid there (its caption says so) and marks the charts; the warning says
    when the dead units died."""
    at = run()
    slider = kept_widget(at, "select_slider", "replay_epoch")
    last = int(slider.options[-1])
    assert slider.value == last and slider.options[0] == "1"
    # The slider's own default is the last epoch, so a browser that draws it anew shows that
    # (Compare's slider, set by the server, came up at epoch 1 and sent it back).
    assert list(slider.proto.default) == [len(slider.options) - 1]
    assert f"at the end of training (epoch {last})" in grid_caption(at)
    assert any("died at epoch" in w.value and "never activate" in w.value for w in at.warning)
    assert any(s.value == f"The training, replayed to epoch {last}" for s in at.subheader)

    settle(kept_widget(at, "select_slider", "replay_epoch").set_value(1).run())
    assert grid_caption(at).startswith("6 hidden units in a 2 × 3 grid at epoch 1 of "
                                       f"{last}, replayed")
    assert any(s.value == "The training, replayed to epoch 1" for s in at.subheader)
    assert any(c.value == f"Recorded after every one of the {last} epochs." for c in at.caption)


def test_lbfgs_is_replayed_per_loss_evaluation_and_says_so():
    at = run(query={"solver": "lbfgs", "scale_pixels": "true", "max_iter": "8",
                    "random_state": "51"})
    slider = kept_widget(at, "select_slider", "replay_epoch")
    assert slider.label == "Loss evaluation"
    assert any("after each loss evaluation" in c.value for c in at.caption)


def test_the_training_gif_is_offered_with_the_other_downloads():
    at = run()
    gif = next(b for b in at.get("download_button") if b.proto.label == "Training (GIF)")
    assert gif.proto.deferred_file_id or gif.proto.url  # made when clicked


def test_a_network_cached_before_histories_is_shown_without_one():
    """A cached result without a history (as pickled before it existed) still shows its grid,
    metrics and exports; only the replay is missing, and nothing crashes."""
    params = TrainParams(max_iter=6, scale_pixels=True, random_state=52)
    result = train_mlp(params, load_sample())
    state = dict(vars(result))
    del state["history"]
    rewritten = 0
    for path in (cache_dir() / "models").rglob("output.pkl"):
        try:
            cached = joblib.load(path)
        except (EOFError, pickle.UnpicklingError):
            continue  # another test's deliberately damaged entry
        if getattr(cached, "params", None) == params:
            old = object.__new__(type(cached))
            old.__dict__.update(state)  # as unpickled from before: no "history" attribute
            joblib.dump(old, path)
            rewritten += 1
    assert rewritten == 1
    at = run(query={"max_iter": "6", "scale_pixels": "true", "random_state": "52"})
    assert not [s.key for s in at.get("select_slider") if s.key.startswith("replay_epoch")]
    assert grid_caption(at).startswith("6 hidden units in a 2 × 3 grid:")
    assert any("kept for networks trained to the end" in c.value for c in at.caption)


@pytest.mark.parametrize("unit", [0])
def test_the_inspector_shows_a_unit_over_the_training(unit):
    at = run(query={"scale_pixels": "true", "max_iter": "40"})
    settle(at.switch_page("pages/3_Inspect_a_unit.py").run())
    assert any(m.value.startswith("**Over the training**") for m in at.markdown)
    assert not at.exception


def test_compare_replays_every_seed_at_one_epoch():
    at = run(query={"seeds": "2,3", "max_iter": "12", "scale_pixels": "true"})
    settle(at.switch_page("pages/2_Compare_seeds.py").run())
    slider = kept_widget(at, "select_slider", "cmp_epoch")
    assert slider.label == "Epoch (all seeds)" and slider.value == int(slider.options[-1])
    assert list(slider.proto.default) == [len(slider.options) - 1]  # as drawn anew
    settle(slider.set_value(1).run())
    captions = [image.proto.imgs[0].caption for image in at.get("image")]
    assert captions == ["seed 2 at epoch 1: units lined up with the reference",
                        "seed 3 at epoch 1: units lined up with the reference"]
