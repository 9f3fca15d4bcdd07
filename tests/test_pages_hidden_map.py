"""The hidden layer's map in the Explore page (AppTest): its method in the link, and Reset."""

from test_pages import kept_widget, offline_sample, run, settle, shared_link  # noqa: F401 - the fixture

from ui import keys

LINK = {"max_iter": "5", "scale_pixels": "true", "holdout": "true", "random_state": "7"}


def _dots_note(at) -> str:
    return next(c.value for c in at.caption if c.value.startswith("One dot per image"))


def test_a_link_opens_the_t_sne_map_and_reset_goes_back_to_pca():
    """map=tsne in a link opens the t-SNE map of the test images (the link the page offers
    keeps it); Reset brings back PCA and drops it from the address, with no warning."""
    at = run(query={**LINK, "map": "tsne"})
    assert at.session_state[keys.MAP_METHOD] == "tsne"
    control = kept_widget(at, "button_group", keys.MAP_METHOD)
    assert control.value == "tsne" and list(control.proto.default) == [1]  # as drawn anew
    assert "placed by t-SNE" in _dots_note(at) and "all 286 test images" in _dots_note(at)
    assert "map=tsne" in shared_link(at)
    assert any(s.value == "The hidden layer's map at epoch 5" for s in at.subheader)
    settle(at.button(key="sb_reset").click().run())
    assert at.session_state[keys.MAP_METHOD] == "pca"
    assert kept_widget(at, "button_group", keys.MAP_METHOD).value == "pca"
    assert "placed by PCA" in _dots_note(at) and "map" not in at.query_params
    assert not at.warning or all("Session State" not in w.value for w in at.warning)
