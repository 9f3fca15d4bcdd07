"""The pages, run headless with Streamlit's AppTest on the bundled sample of real digits."""

import html
import re
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core import jobs
from core.cache import cache_dir, folder_size
from core.train import trainings_run
from ui.text import plain

ROOT = Path(__file__).resolve().parents[1]


def _trained() -> int:
    """Networks trained so far by this process: here, or in its jobs' worker processes."""
    return trainings_run() + jobs.started()
EXPLORE, LESSON = str(ROOT / "app.py"), "pages/1_Lesson.py"


@pytest.fixture(autouse=True)
def offline_sample(monkeypatch):
    """The pages load the bundled sample: no network, and fast."""
    monkeypatch.setenv("MLP_LENS_DATA", "sample")


@pytest.fixture
def operator(monkeypatch):
    """The server's operator switch is on: the data page shows the cache and can clear it."""
    monkeypatch.setenv("MLP_LENS_OPERATOR", "1")


def run(script=EXPLORE, query=None) -> AppTest:
    at = AppTest.from_file(script, default_timeout=120)
    at.query_params.update(query or {})
    return settle(at.run())


def settle(at: AppTest, timeout: float = 120, *, what: str = "training") -> AppTest:
    """Rerun until no progress bar is left (the browser's fragment polls the same way)."""
    deadline = time.monotonic() + timeout
    while at.get("progress") and time.monotonic() < deadline:
        time.sleep(0.2)
        at.run()
    assert not at.get("progress"), f"{what} did not finish in time"
    assert not at.exception
    assert not at.error, [e.value for e in at.error]  # what ui.render.guarded shows instead
    return at


def run_page(page: str, query=None) -> AppTest:
    """Open ``page`` first (a link to it), without running the Explore page before."""
    at = AppTest.from_file(EXPLORE, default_timeout=120)
    at.query_params.update(query or {})
    at.switch_page(page)
    return at.run()


def setting(at: AppTest, kind: str, name: str, copy: str = "sb"):
    """The widget that shows setting ``name`` now, in the sidebar or (``"qs"``) in the page;
    a copy made anew has a numbered key (``sb_hidden_units_1``)."""
    widgets = [w for w in getattr(at, kind) if re.fullmatch(rf"{copy}_{name}(_\d+)?", w.key or "")]
    assert len(widgets) == 1, [w.key for w in widgets]
    return widgets[0]


def kept_widget(at: AppTest, kind: str, key: str):
    """The widget of a page's own choice ``key``: numbered anew when a link, a new network
    or Reset sets the choice (ui/kept.py)."""
    widgets = [w for w in getattr(at, kind) if re.fullmatch(rf"{key}_\d+", w.key or "")]
    assert len(widgets) == 1, [w.key for w in widgets]
    return widgets[0]


def grid_caption(at: AppTest) -> str:
    return at.get("image")[0].proto.imgs[0].caption


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def shared_link(at: AppTest) -> str | None:
    """The link the sidebar's "Copy link" button copies, or None when it shows none."""
    for element in at.sidebar.get("html"):
        found = re.search(r'data-link="([^"]*)"', element.proto.body)
        if found:
            return html.unescape(found.group(1))
    return None


def test_default_run_shows_data_metrics_and_the_lessons_weight_grid():
    """First load: the lesson's settings, a 2 x 3 grid of 6 units, no exception."""
    at = run()
    assert not at.exception
    assert grid_caption(at).startswith("6 hidden units in a 2 × 3 grid")
    assert metric(at, "X.shape") == "5,000 × 784"
    assert metric(at, "Pixel range") == "0 – 255"
    assert metric(at, "Training images") == "2,000"
    assert metric(at, "Epochs").endswith(" of 200")
    assert any("`(784, 6)` and `(6, 4)`" in c.value for c in at.caption)
    assert any("Offline sample" in c.value for c in at.caption)
    assert at.expander[0].label.startswith("The data: 5,000 × 784")  # folded: the picture first
    assert not any("MLP_LENS_DATA" in c.value for c in at.caption)  # no server settings shown


def test_the_lessons_settings_say_which_units_are_dead_and_offer_the_fix():
    """Honest words: not "converged" but stuck; the fix says what it did and shows where."""
    at = run()
    dead = metric(at, "Dead units")
    assert dead != "0 of 6"
    assert not any(m.label == "Converged" for m in at.metric)
    assert metric(at, "Outcome") == "stuck, not finished"  # what a sweep's table says too
    assert any(c.value.startswith("The loss stopped improving after ") and "stuck" in c.value
               for c in at.caption)
    assert any("never activate" in w.value and "raw 0–255" in w.value for w in at.warning)
    before = metric(at, "Training accuracy")
    settle(at.button(key="fix_scale_pixels").click().run())
    assert setting(at, "checkbox", "scale_pixels").value is True
    assert float(metric(at, "Training accuracy").rstrip("%")) > 90
    assert not any("never activate" in w.value for w in at.warning)
    effect = next(s.value for s in at.success if "Scaling the pixels" in s.value)
    assert f"training accuracy {before} → {metric(at, 'Training accuracy')}" in effect
    assert f"dead units {dead.split()[0]} → 0" in effect
    assert at.session_state["sb_advanced"] is True  # the sidebar shows the setting it changed


def test_the_votes_are_listed_as_numbers_under_their_heatmap():
    """A narrow column has no room for readable numbers in the heatmap's cells: a table
    under it gives each unit's weight to each digit."""
    at = run(query={"max_iter": "5"})
    votes = next(e for e in at.expander if e.label == "The numbers")
    table = votes.dataframe[0].value
    assert list(table.columns) == ["0", "1", "2", "3"] and list(table.index) == [1, 2, 3, 4, 5, 6]


def test_nine_hidden_units_show_nine_images():
    at = run()
    settle(setting(at, "slider", "hidden_units").set_value(9).run())
    assert not at.exception
    assert grid_caption(at).startswith("9 hidden units in a 3 × 3 grid")
    assert any("`(784, 9)` and `(9, 4)`" in c.value for c in at.caption)


def test_an_empty_digit_selection_explains_and_trains_nothing():
    at = run()
    setting(at, "multiselect", "digits").set_value([]).run()
    assert not at.exception
    assert any("Pick at least two digits" in i.value for i in at.info)
    assert not at.get("image")
    setting(at, "multiselect", "digits").set_value([7]).run()
    assert any("you picked only 7" in i.value for i in at.info)
    assert shared_link(at) is None  # no link to a view that cannot be shown
    at.switch_page("pages/2_Compare_seeds.py").run()
    assert not at.exception and shared_link(at) is None
    assert any("you picked only 7" in i.value for i in at.info)


def test_parameters_survive_a_page_switch():
    """Pages-directory mode drops widget values on a page switch; the sidebar keeps them."""
    at = run()
    setting(at, "slider", "hidden_units").set_value(4).run()
    setting(at, "number_input", "random_state").set_value(7).run()
    setting(at, "multiselect", "digits").set_value([1, 7]).run()
    setting(at, "checkbox", "scale_pixels").check().run()
    for script in (LESSON, "app.py", LESSON):
        settle(at.switch_page(script).run())
        assert not at.exception
        assert setting(at, "slider", "hidden_units").value == 4
        assert setting(at, "number_input", "random_state").value == 7
        assert setting(at, "multiselect", "digits").value == [1, 7]
        assert setting(at, "checkbox", "scale_pixels").value is True


def test_the_server_never_writes_into_a_setting_widget_the_browser_holds():
    """A request the browser sent before it took a written value carries the old one, which
    the server takes for a change: three quick presses on one copy of a setting met the
    other copy's old value and the setting jumped back. A copy that must show another
    value is a new widget instead; the copy the visitor moves keeps its own."""
    at = run(query={"max_iter": "5"})
    sidebar_copy, page_copy = (setting(at, "slider", "hidden_units", copy).key
                               for copy in ("sb", "qs"))
    at.run()  # nothing changed: no value goes to the browser
    assert not setting(at, "slider", "hidden_units").proto.set_value
    assert not setting(at, "slider", "hidden_units", "qs").proto.set_value
    settle(setting(at, "slider", "hidden_units", "qs").set_value(4).run())  # the page's copy
    assert setting(at, "slider", "hidden_units", "qs").key == page_copy  # kept
    moved = setting(at, "slider", "hidden_units")
    assert moved.key != sidebar_copy and moved.value == 4  # the sidebar's copy, made anew
    assert grid_caption(at).startswith("4 hidden units")
    for _ in range(2):
        at.run()  # neither copy is written into again
        assert not setting(at, "slider", "hidden_units").proto.set_value
        assert not setting(at, "slider", "hidden_units", "qs").proto.set_value
    assert setting(at, "slider", "hidden_units").key == moved.key
    at.button(key="sb_reset").click().run()  # a button: both copies made anew
    assert {setting(at, "slider", "hidden_units", copy).value for copy in ("sb", "qs")} == {6}
    assert setting(at, "slider", "hidden_units", "qs").key != page_copy
    at.switch_page(LESSON).run()  # another page's widgets start from the stored values
    assert setting(at, "slider", "hidden_units").value == 6


def test_the_lesson_page_resets_the_sidebar_to_the_lessons_settings():
    at = run()
    setting(at, "slider", "hidden_units").set_value(3).run()
    at.switch_page(LESSON).run()
    assert not at.exception
    assert any("What had to change" in h.value for h in at.header)
    at.button(key="lesson_reset").click().run()
    assert setting(at, "slider", "hidden_units").value == 6
    assert any("lesson's exact settings" in s.value for s in at.success)
    settle(at.switch_page("app.py").run())
    assert grid_caption(at).startswith("6 hidden units")


def test_a_link_sets_the_parameters():
    at = run(query={"hidden_units": "5", "random_state": "3", "digits": "2,5,8"})
    assert not at.exception
    assert setting(at, "slider", "hidden_units").value == 5
    assert setting(at, "multiselect", "digits").value == [2, 5, 8]
    assert grid_caption(at).startswith("5 hidden units")


def test_a_link_with_nonsense_values_shows_notices_and_still_renders():
    at = run(query={"hidden_units": "abc", "alpha": "-7", "solver": "rm -rf /", "digits": "1,x"})
    assert not at.exception
    notices = [w.value for w in at.warning if w.value.startswith("The link's")]
    assert len(notices) == 4
    assert setting(at, "slider", "hidden_units").value == 6
    assert grid_caption(at).startswith("6 hidden units")


def test_a_new_network_is_shown_learning_and_then_finished():
    """The first view of an untrained config shows the epoch counter and the grid as it learns."""
    at = AppTest.from_file(EXPLORE, default_timeout=120)
    at.query_params.update({"random_state": "101", "scale_pixels": "true", "max_iter": "60"})
    at.run()
    first = at.get("progress")[0].proto.text  # its worker process may not have begun yet
    assert first.startswith(("Training: epoch", "Starting the training: its worker")), first
    assert at.button(key="stop_training")
    seen = set()
    deadline = time.monotonic() + 60
    while at.get("progress") and time.monotonic() < deadline:
        seen.add(at.get("progress")[0].proto.text.split(" · ")[0])
        time.sleep(0.1)
        at.run()
    assert len(seen) >= 2  # the counter moved while we watched
    assert metric(at, "Epochs").endswith(" of 60")
    assert grid_caption(at).startswith("6 hidden units")


def test_stop_keeps_the_partial_network_marked_stopped():
    at = AppTest.from_file(EXPLORE, default_timeout=120)
    at.query_params.update({"random_state": "102", "scale_pixels": "true", "max_iter": "1000"})
    at.run()
    deadline = time.monotonic() + 30
    while not re.search(r"^Training: epoch [1-9]", at.get("progress")[0].proto.text) and \
            time.monotonic() < deadline:
        time.sleep(0.1)
        at.run()
    trained_here = trainings_run()
    at.button(key="stop_training").click().run()
    assert not at.exception and not at.get("progress")
    banner = next(w.value for w in at.warning if "Stopped at epoch" in w.value)
    epoch = int(banner.split("Stopped at epoch ")[1].split()[0])
    assert 1 <= epoch < 1000
    assert metric(at, "Epochs") == f"{epoch} of 1000"
    assert grid_caption(at).startswith("6 hidden units")
    # Every view of the stopped network (its map too) is drawn from it: the page never trains
    # the finished one in the server's own process (the map once did, for 9 s).
    assert any(h.value.startswith("The hidden layer's map") for h in at.subheader)
    at.run()
    assert trainings_run() == trained_here
    settle(at.button(key="resume_training").click().run(), timeout=180)
    assert metric(at, "Epochs").endswith(" of 1000")
    assert not any("Stopped at epoch" in w.value for w in at.warning)


def test_a_refresh_without_a_new_epoch_draws_nothing_new():
    """The live view draws a run's grid and curve once per epoch: while the run is held,
    refreshing the page (three times) re-sends the same picture and chart, drawn once."""
    at = AppTest.from_file(EXPLORE, default_timeout=120)
    at.query_params.update({"random_state": "103", "scale_pixels": "true", "max_iter": "1000",
                            "learning_rate_init": "0.0001"})
    at.run()
    deadline = time.monotonic() + 60
    while not re.search(r"epoch ([2-9]|\d\d+) ", at.get("progress")[0].proto.text):
        assert time.monotonic() < deadline, "no second epoch in time"
        time.sleep(0.1)
        at.run()
    (run,) = [r for r in jobs.running() if r.params.random_state == 103]
    try:
        at.button(key="pause_live").click().run()
        while not run.held:
            assert time.monotonic() < deadline, "the run did not hold in time"
            time.sleep(0.05)
        at.run()
        drawn, shown = run.draws, grid_caption(at)
        charts = at.get("vega_lite_chart")
        for _ in range(3):
            at.run()
            assert grid_caption(at) == shown and "(held here)" in shown
            assert at.get("vega_lite_chart")[0].proto.spec == charts[0].proto.spec
        assert run.draws == drawn
    finally:
        at.button(key="stop_training").click().run()
    assert run.wait(30)


def test_the_sidebar_offers_a_link_that_reproduces_the_view():
    at = run(query={"hidden_units": "5", "digits": "2,5,8"})
    link = shared_link(at)
    query = link.split("?", 1)[1]
    assert "hidden_units=5" in query and "digits=2%2C5%2C8" in query
    again = run(query=dict(pair.split("=") for pair in query.replace("%2C", ",").split("&")))
    assert again.slider(key="sb_hidden_units").value == 5
    assert again.multiselect(key="sb_digits").value == [2, 5, 8]


def test_the_export_section_offers_every_download_and_the_code():
    at = run()
    keys = {b.proto.id for b in at.get("download_button")}
    assert len(keys) == 6  # PNG, SVG, GIF, npz, joblib and the script
    code = next(c.value for c in at.code if "MLPClassifier(" in c.value)
    assert "hidden_layer_sizes=(6,)" in code and "random_state=2" in code
    assert any("pickle" in c.value for c in at.caption)


def test_compare_seeds_cleans_the_list_trains_and_lines_up_units():
    at = run(query={"seeds": "2,3,3,-1,abc", "max_iter": "20", "scale_pixels": "true"})
    settle(at.switch_page("pages/2_Compare_seeds.py").run())
    assert not at.exception
    assert len([w for w in at.warning if "left out" in w.value or "twice" in w.value]) == 3
    assert kept_widget(at, "text_input", "cmp_seeds_text").value == "2,3,3,-1,abc"
    assert len(at.get("image")) == 2
    assert at.metric[0].label.startswith("Stability")
    assert 0 <= float(at.metric[0].value) < 1
    assert any("similarity **1.00**" in c.value for c in at.caption)  # the reference itself
    link = shared_link(at)
    assert "seeds=2%2C3" in link and "max_iter=20" in link  # the cleaned seeds, shareable


def test_compare_says_what_these_seeds_show_and_one_click_fixes_dead_units():
    """The lesson's raw pixels kill units in every seed: under the lesson's quote the page says
    these are not equally good networks, and why; its button scales the pixels. Scaled, the
    seeds are then judged again."""
    at = run_page("pages/2_Compare_seeds.py", {"seeds": "2,3", "max_iter": "10"})
    settle(at)
    said = [w.value for w in at.warning if "dead units in seed 2" in w.value]
    assert len(said) == 1 and "seed 3 (" in said[0], [w.value for w in at.warning]
    assert said[0].startswith("**N") and "Equally good" not in said[0]
    assert not at.success
    settle(at.button(key="cmp_fix_scale_pixels").click().run())
    assert setting(at, "checkbox", "scale_pixels").value is True
    assert not [w for w in at.warning if "dead units" in w.value]
    assert len(at.success) + len([w for w in at.warning if w.value.startswith("**N")]) == 1


def test_compare_varies_hidden_units_from_a_link_and_lists_the_units_without_a_counterpart():
    """A link that varies the hidden units: a network for each valid value, titled by it; the
    12-unit card has its 6 matched units first, then its other 6 under their own caption; the
    link keeps the comparison. Varying the pixels instead says which did best and why."""
    at = settle(run_page("pages/2_Compare_seeds.py", {
        "vary": "hidden_units", "values": "6,12,40", "max_iter": "5", "scale_pixels": "true"}))
    assert [w.value for w in at.warning if "40" in w.value] == ["40 is outside 1 to 36; left out."]
    assert [i.proto.imgs[0].caption for i in at.get("image")] == [
        "6 hidden units: units lined up with the reference",
        "12 hidden units: units lined up with the reference",
        "12 hidden units: units with no counterpart"]
    assert [c.value for c in at.caption if "no counterpart" in c.value] == [
        "6 units with no counterpart in the reference (6 hidden units):"]
    assert metric(at, "Units alike") and not [m for m in at.metric if m.label == "Stability"]
    link = shared_link(at)
    assert "vary=hidden_units" in link and "values=6%2C12&" in link and "seeds=" not in link
    # The controls start from the link's comparison, so a browser that draws them anew shows
    # it (a link opened in a new tab showed "random_state" and an empty box, and the first
    # click sent those back), and a run of the page keeps it.
    for _ in range(2):
        vary = kept_widget(at, "selectbox", "cmp_vary")
        listed = kept_widget(at, "text_input", "cmp_values_hidden_units")
        assert vary.value == "hidden_units" and listed.value == "6,12,40"
        assert vary.options[vary.proto.default] == "hidden units"
        assert listed.proto.default == "6,12,40"
        settle(at.run())
    settle(kept_widget(at, "selectbox", "cmp_vary").set_value("scale_pixels").run())
    said = [i.value for i in at.info if i.value.startswith("**Best: pixels scaled 0–1**")]
    assert len(said) == 1 and "raw pixels 0–255: " in said[0], [i.value for i in at.info]
    assert "vary=scale_pixels&values=false%2Ctrue" in shared_link(at)
    pills = kept_widget(at, "button_group", "cmp_values_scale_pixels")
    assert list(pills.proto.default) == [0, 1]
    settle(kept_widget(at, "selectbox", "cmp_vary").set_value("hidden_units").run())
    assert kept_widget(at, "text_input", "cmp_values_hidden_units").value == "6,12,40"  # kept


def test_a_link_that_varies_an_unknown_setting_compares_its_seeds_and_says_so():
    at = settle(run_page("pages/2_Compare_seeds.py", {
        "vary": "**digits**", "seeds": "2", "values": "1,2", "max_iter": "5",
        "scale_pixels": "true"}))
    said = [w.value for w in at.warning if "vary" in w.value]
    assert len(said) == 1 and "is not a setting Compare can vary" in said[0]
    assert "**" not in said[0]  # the link's text, shown as text
    assert [i.proto.imgs[0].caption for i in at.get("image")] == [
        "seed 2: units lined up with the reference"]
    assert "values=" not in shared_link(at) and "seeds=2" in shared_link(at)


def test_the_unit_inspector_answers_which_unit_does_what():
    at = run(query={"scale_pixels": "true", "max_iter": "40"})
    settle(at.switch_page("pages/3_Inspect_a_unit.py").run())
    assert not at.exception
    table = at.dataframe[0].value
    assert list(table["unit"]) == [1, 2, 3, 4, 5, 6]
    at.selectbox(key="inspect_unit").set_value(3).run()
    assert not at.exception
    assert any("16 images that excite it most" in m.value for m in at.markdown)
    ablation = at.dataframe[1].value
    assert list(ablation["digit"]) == [0, 1, 2, 3]


def test_the_inspector_flags_a_dead_unit_with_the_reason():
    at = run()
    settle(at.switch_page("pages/3_Inspect_a_unit.py").run())
    dead_unit = next(i for i, row in enumerate(at.dataframe[0].value.to_dict("records"))
                     if row["active on"] == 0)
    at.selectbox(key="inspect_unit").set_value(dead_unit).run()
    assert any("is dead" in w.value and "raw 0–255" in w.value and "sgd's first steps" in w.value
               for w in at.warning)
    assert any("closest to switching it on" in m.value for m in at.markdown)
    assert any("16 images that inhibit it most" in m.value for m in at.markdown)


def test_visitors_see_the_cache_size_but_not_its_folder_nor_a_clear_button():
    at = run(query={"max_iter": "5", "random_state": "12"})
    at.switch_page("pages/4_Data.py").run()
    assert not at.exception
    text = " ".join(m.value for m in at.markdown)
    assert "MB** of data copies and trained networks" in text
    assert str(cache_dir()) not in text and "MLP_LENS" not in text
    assert not [b for b in at.button if b.key == "data_clear"]


def test_a_visitor_is_told_once_why_the_trainings_run_on_this_machine(monkeypatch):
    """A Dask scheduler was given but could not be used (or was lost, core.jobs says): the
    first page a visitor opens says so, once; the next run of the page does not again."""
    notice = ("The Dask scheduler at tcp://10.0.0.9:8786 cannot be reached in 5 s "
              "(OSError: timed out). Trainings run on this machine instead.")
    monkeypatch.setattr(jobs, "_notice", notice)
    at = run_page("pages/4_Data.py")
    assert [t.value for t in at.toast] == [plain(notice)]
    at.run()
    assert not at.toast


def test_the_data_page_describes_the_data_and_clears_caches_after_confirming(operator):
    at = run()
    at.switch_page("pages/4_Data.py").run()
    assert not at.exception
    assert metric(at, "X.shape") == "5,000 × 784" and metric(at, "dtype") == "uint8"
    assert len(at.get("image")) == 3  # examples, mean images, pixel histogram
    at.button(key="data_clear").click().run()
    assert any("Every network will have to train again" in w.value for w in at.warning)
    at.button(key="data_clear_no").click().run()
    assert at.button(key="data_clear")


def test_clearing_the_caches_deletes_the_networks_and_they_train_again(operator):
    at = run(query={"max_iter": "5", "random_state": "11"})
    models = cache_dir() / "models"
    assert folder_size(models) > 0  # the Explore page trained and stored this network
    at.switch_page("pages/4_Data.py").run()
    at.button(key="data_clear").click().run()
    at.button(key="data_clear_yes").click().run()
    assert not at.exception
    assert any(t.value.startswith("Cleared ") for t in at.toast)
    assert not models.exists() and not (cache_dir() / "data").exists()
    assert "— **0.0 MB**" in next(m.value for m in at.markdown if "Cached data copies" in m.value)
    before = _trained()
    settle(at.switch_page("app.py").run())
    assert not at.exception
    assert _trained() == before + 1 and folder_size(models) > 0


def test_the_draw_page_shows_the_canvas_hint_before_anything_is_drawn():
    """An empty canvas is not an error: the page says what to do, and predicts nothing."""
    at = run(query={"max_iter": "15", "scale_pixels": "true"})
    settle(at.switch_page("pages/5_Draw_a_digit.py").run())
    assert not at.error
    assert [t.value for t in at.title] == ["Draw a digit"]
    assert any(i.value.startswith("Draw a 0, 1, 2 or 3 in the box") for i in at.info)
    assert any("knows 0, 1, 2 and 3" in c.value for c in at.caption)
    assert not at.get("image") and not at.metric  # no processed input, no answer


def test_the_new_settings_come_from_a_link_and_early_stopping_shows_its_curve():
    """A link with early stopping and tanh: the Advanced widgets hold the values, the page shows
    the validation accuracy next to the loss, and the units are counted as saturated."""
    at = run(query={"activation": "tanh", "early_stopping": "true", "validation_fraction": "0.2",
                    "batch_size": "100", "scale_pixels": "true", "max_iter": "40",
                    "digits": "0,1"})
    assert setting(at, "selectbox", "activation").value == "tanh"
    assert setting(at, "checkbox", "early_stopping").value is True
    assert setting(at, "number_input", "batch_size").value == 100
    assert any(h.value == "Validation accuracy" for h in at.subheader)
    assert any("validation_scores_" in c.value for c in at.caption)
    assert metric(at, "Saturated units").endswith("of 6")
    code = next(c.value for c in at.code if "MLPClassifier(" in c.value)
    assert 'activation="tanh"' in code and "early_stopping=True" in code


def test_sgd_only_settings_say_so_under_another_solver():
    at = run(query={"solver": "adam", "scale_pixels": "true", "max_iter": "5"})
    notes = [c.value for c in at.sidebar.caption]
    assert "momentum: Used only when Solver is sgd; now it is adam." in notes
    assert any(n.startswith("learning_rate: Used only when Solver is sgd") for n in notes)
    setting(at, "selectbox", "solver").set_value("sgd").run()
    assert not any("Solver is sgd" in c.value for c in at.sidebar.caption)


def test_every_sidebar_control_and_every_metric_explains_itself_on_hover():
    """A learner can hover any setting or number and read what it is and what moving it does."""
    at = run(query={"max_iter": "5", "random_state": "13"})
    widgets = [*at.sidebar.slider, *at.sidebar.select_slider, *at.sidebar.number_input,
               *at.sidebar.selectbox, *at.sidebar.checkbox, *at.sidebar.multiselect]
    assert len(widgets) >= 14
    for widget in widgets:
        assert widget.help and len(widget.help) > 40, f"{widget.label}: {widget.help!r}"
    alpha = next(w for w in at.sidebar.select_slider if w.key == "sb_alpha")
    assert "Higher alpha → smoother weight images" in alpha.help
    assert len(at.metric) >= 8
    for shown in at.metric:
        assert shown.help, f"the metric {shown.label!r} has no explanation"


def test_the_main_settings_have_a_copy_in_the_page_that_edits_the_same_values():
    """For phones (the theme hides it elsewhere): the page's copy and the sidebar stay in step."""
    at = run(query={"max_iter": "5", "random_state": "14"})
    assert setting(at, "slider", "hidden_units", "qs").value == 6
    settle(setting(at, "slider", "hidden_units", "qs").set_value(4).run())
    assert setting(at, "slider", "hidden_units").value == 4
    assert grid_caption(at).startswith("4 hidden units")
    setting(at, "number_input", "random_state").set_value(15).run()
    assert setting(at, "number_input", "random_state", "qs").value == 15


def test_a_diverged_network_shows_its_message_and_does_not_train_again(sample):
    """A cached failure is neither a network nor "not trained yet": the page says why it failed,
    starts no training, and shows no metrics or grid.

    The failure is real: scikit-learn fits pixels of extreme size (inside TrainParams' bounds
    uint8 digits never diverge) and the outcome is stored under the sample's cache key."""
    from core.data import MnistData
    from core.params import TrainParams
    from core.train import TrainingFailed, _cached_fit, training_state

    params = TrainParams(max_iter=5, random_state=977)
    extreme = MnistData(sample.X.astype(float) * 1e150, sample.y, source="sample", note="")
    _cached_fit()(params, sample.fingerprint, extreme)
    assert training_state(params, sample) == "failed"
    before = _trained()
    at = AppTest.from_file(EXPLORE, default_timeout=120)
    at.query_params.update({"max_iter": "5", "random_state": "977"})
    at.run()
    assert not at.exception and not at.get("progress")
    # As text, never Markdown (the message names learning\_rate\_init, with underscores).
    assert [e.value for e in at.error] == [plain(str(TrainingFailed(_diverged(params))))]
    assert not at.get("image") and not any(m.label == "Training accuracy" for m in at.metric)
    assert _trained() == before


def _diverged(params) -> str:
    from core.train import _diverged_message

    return _diverged_message(params)


HOLDOUT_LINK = {"holdout": "true", "scale_pixels": "true", "max_iter": "20"}


def test_a_holdout_link_shows_test_accuracy_the_split_the_confusions_and_the_mistakes():
    """A link with holdout=true: train and test accuracy side by side, the split named with each
    side's counts, the confusion matrix and the most confident mistakes, and a script that
    splits the same way."""
    at = run(query=HOLDOUT_LINK)
    assert setting(at, "checkbox", "holdout").value is True
    assert metric(at, "Training / test images") == "1,714 / 286"
    test = next(m for m in at.metric if m.label == "Test accuracy")
    assert test.value.endswith("%") and "points vs training" in test.delta
    assert any("stratified split" in c.value and "715 test images" in c.value
               for c in at.caption)
    assert "On digits it has never seen" in [s.value for s in at.subheader]
    captions = [img.caption for element in at.get("image") for img in element.proto.imgs]
    assert any(c.startswith("Confusion matrix") for c in captions)
    counts = next(e for e in at.expander if e.label == "The counts").dataframe[0].value
    assert list(counts.columns) == ["0", "1", "2", "3", "recall"]  # its numbers, listed
    assert any("true digit → its answer" in c for c in captions)
    assert any("most confident mistakes" in m.value for m in at.markdown)
    code = next(c.value for c in at.code if "MLPClassifier(" in c.value)
    assert "train_test_split(" in code and 'print(f"Test accuracy' in code
    query = shared_link(at).split("?", 1)[1]
    assert "holdout=true" in query
    again = run(query=dict(pair.split("=") for pair in query.replace("%2C", ",").split("&")))
    assert again.checkbox(key="sb_holdout").value is True
    for label in ("Training accuracy", "Test accuracy", "Training / test images"):
        assert metric(again, label) == metric(at, label)


def test_a_link_to_a_mistake_explains_it_and_a_wrong_one_says_so():
    """why=2: the second listed mistake, "Why <answer> and not <true digit>?"; why=99 (there
    are 12): a notice, the picker empty, the link's why gone."""
    at = run(query={**HOLDOUT_LINK, "why": "2"})
    picked = kept_widget(at, "selectbox", "explore_why")
    assert picked.value == 1 and picked.proto.default == 1  # drawn anew, it shows the link's
    true, said = picked.format_func(picked.value).split(". ")[1].split(" (")[0].split(" → ")
    assert f"Why {said} and not {true}?" in [s.value for s in at.subheader]
    assert any(line.startswith(f"Its score for {said} is") for shown in at.markdown
               for line in shown.value.replace("\\", "").split("- ")[1:])
    at = run(query={**HOLDOUT_LINK, "why": "99"})
    assert any("explain mistake" in w.value and "1 to 12" in w.value for w in at.warning)
    assert kept_widget(at, "selectbox", "explore_why").value is None
    assert "why" not in at.query_params
    assert not [s.value for s in at.subheader if s.value.startswith("Why")]


def test_with_the_holdout_off_a_note_says_so_and_its_button_turns_it_on():
    at = run(query={"scale_pixels": "true", "max_iter": "20"})
    assert setting(at, "checkbox", "holdout").value is False
    assert "sb_holdout" not in {c.key for c in at.sidebar.expander[0].checkbox}  # main block
    assert any("it has seen every one of them" in c.value for c in at.caption)
    assert not [m for m in at.metric if m.label == "Test accuracy"]
    settle(at.button(key="turn_on_holdout").click().run())
    assert setting(at, "checkbox", "holdout").value is True
    assert [m for m in at.metric if m.label == "Test accuracy"]
    assert at.query_params["holdout"] in ("true", ["true"])


def test_compare_seeds_with_the_holdout_shows_each_seeds_test_accuracy_and_the_spread():
    at = run(query={**HOLDOUT_LINK, "seeds": "2,3"})
    settle(at.switch_page("pages/2_Compare_seeds.py").run())
    assert len([c for c in at.caption if "test accuracy **" in c.value]) == 2
    spread = next(m for m in at.metric if m.label == "Test accuracy across seeds")
    assert spread.value.endswith("%") and spread.delta.startswith("spread ")


def test_the_inspector_with_the_holdout_scores_switching_off_on_the_test_images():
    at = run(query=HOLDOUT_LINK)
    settle(at.switch_page("pages/3_Inspect_a_unit.py").run())
    assert any("on the held-out test images" in m.value for m in at.markdown)
    assert list(at.dataframe[1].value["digit"]) == [0, 1, 2, 3]


HOSTILE = {
    "solver": "**Your session expired** — [log in again](https://evil.example/login)",
    "hidden_units": "![](https://evil.example/p.png)",
}


def test_a_links_values_are_shown_as_text_never_as_markdown():
    """Notices quote what a link supplied, escaped: no bold text, link or outside image."""
    at = run_page("pages/1_Lesson.py", HOSTILE)
    quoted = [w.value for w in at.warning if w.value.startswith("The link")]
    assert len(quoted) == 2
    for value in quoted:
        assert "](" not in value and "**" not in value and "https://" not in value
    assert any(r"\*\*Your session expired\*\* — \[log in again" in v for v in quoted)
    assert any("\\!\\[\\]\\(https\u200b\\://evil" in v for v in quoted)  # a zero-width space


def test_a_seed_list_of_fifty_thousand_entries_gives_a_few_notices_and_reset_clears_it():
    flood = "a," * 50_000 + "**x**"
    at = run_page("pages/2_Compare_seeds.py", {"seeds": flood})
    notices = [w.value for w in at.warning]
    assert len(notices) == 4, notices[:5]
    assert notices[-1] == "… and 49,998 more."
    assert all(len(notice) < 120 for notice in notices)
    at.button(key="sb_reset").click().run()
    try:
        assert kept_widget(at, "text_input", "cmp_seeds_text").value == "2, 3, 4, 5"
        assert not [w for w in at.warning if w.icon == ":material/filter_alt:"]
        assert at.query_params["seeds"] in ("2,3,4,5", ["2,3,4,5"])
    finally:
        at.session_state["cmp_training"][1].stop()


def test_a_seed_waiting_for_a_trainer_waits_and_the_page_trains_nothing_itself():
    """Every trainer is taken: the seed says its place in line, and the page's own run
    neither trains it nor blocks (it used to train a waiting seed in the script thread)."""
    from core.budget import budget

    held = [budget().request("another visitor") for _ in range(budget().limit)]
    before = trainings_run()
    at = run_page("pages/2_Compare_seeds.py", {
        "seeds": "82", "max_iter": "1000", "hidden_units": "30", "scale_pixels": "true",
        "digits": "0,1,2,3,4,5,6,7,8,9"})
    work = at.session_state["cmp_training"][1]
    try:
        deadline = time.monotonic() + 10
        while work.poll()[82].state != "waiting" and time.monotonic() < deadline:
            time.sleep(0.05)
        assert work.jobs[82].state == "waiting"
        at.run()
        assert trainings_run() == before and work.job(82).pid is None  # no worker, nor here
        bars = [p.proto.text for p in at.get("progress")]
        assert any("seed 82: waiting for a free trainer" in text and "in line" in text
                   for text in bars), bars
        held.pop().release()
        deadline = time.monotonic() + 30
        while work.poll()[82].epoch == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert work.jobs[82].state == "training" and work.job(82).pid is not None
    finally:
        work.stop()
        for ticket in held:
            ticket.release()


def test_a_failed_seed_can_be_retried_without_a_reload():
    import os
    import signal

    at = run_page("pages/2_Compare_seeds.py", {
        "seeds": "81", "max_iter": "1000", "hidden_units": "30", "scale_pixels": "true",
        "digits": "0,1,2,3,4,5,6,7,8,9"})
    work = at.session_state["cmp_training"][1]
    deadline = time.monotonic() + 60
    while work.poll()[81].epoch == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    os.kill(work.job(81).pid, signal.SIGKILL)
    assert work.wait(30) and work.jobs[81].state == "failed"
    at.run()
    assert any("killed by signal SIGKILL" in e.value for e in at.error)
    at.button(key="cmp_retry_81").click().run()
    work = at.session_state["cmp_training"][1]
    try:
        assert work.poll()[81].state in ("queued", "waiting", "training", "done")
        assert not any("SIGKILL" in e.value for e in at.error)
    finally:
        work.stop()


def test_a_second_visitor_of_the_same_compare_link_follows_the_first_ones_training():
    """A class opens one Compare link: the second page starts no worker of its own; its seed
    card shows the first page's training, live, and says it is shared."""
    query = {"seeds": "83", "max_iter": "1000", "hidden_units": "30", "scale_pixels": "true",
             "digits": "0,1,2,3,4,5,6,7,8,9"}
    first = run_page("pages/2_Compare_seeds.py", query)
    work, other = first.session_state["cmp_training"][1], None
    try:
        deadline = time.monotonic() + 60
        while work.poll()[83].epoch == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        second = run_page("pages/2_Compare_seeds.py", query)
        other = second.session_state["cmp_training"][1]
        deadline = time.monotonic() + 60
        while not (other.poll()[83].following and other.epoch(83)) and time.monotonic() < deadline:
            time.sleep(0.05)
        second.run()
        bars = [p.proto.text for p in second.get("progress")]
        assert any(re.search(r"seed 83: epoch \d+ of 1000, shared with another page", text)
                   for text in bars), bars
        assert any("updating as it learns" in i.proto.imgs[0].caption for i in second.get("image"))
        assert other.job(83) is work.job(83)
    finally:
        work.stop()
        if other is not None:
            other.stop()


def test_without_a_usable_cache_folder_the_pages_work_and_say_why_once(tmp_path, monkeypatch):
    (tmp_path / "file").write_text("a file where the cache folder should be")
    monkeypatch.setenv("MLP_LENS_CACHE", str(tmp_path / "file"))
    at = run(query={"max_iter": "3", "random_state": "91"})
    assert grid_caption(at).startswith("6 hidden units")
    said = [c.value for c in at.sidebar.caption if "kept in memory only" in c.value]
    assert len(said) == 1 and "it is a file, not a folder" in said[0]
    for page in ("pages/2_Compare_seeds.py", "pages/3_Inspect_a_unit.py", "pages/4_Data.py",
                 "pages/5_Draw_a_digit.py"):
        settle(at.switch_page(page).run())


def test_on_a_full_disk_a_new_network_trains_once_is_shown_and_the_sidebar_says_why(
        full_disk, monkeypatch):
    """The cache folder has room for small files but not for the network: the page trains it
    once, shows it (no endless retraining), and the sidebar says the networks are kept in
    memory because one could not be saved."""
    monkeypatch.setenv("MLP_LENS_CACHE", str(full_disk))
    before = _trained()
    at = run(query={"random_state": "104", "scale_pixels": "true", "max_iter": "40",
                    "hidden_units": "24"})
    assert grid_caption(at).startswith("24 hidden units")
    settle(at.run())
    assert _trained() == before + 1
    said = " ".join(c.value for c in at.sidebar.caption)
    assert "kept in memory only" in said and "could not be saved" in said


def test_server_folders_are_shortened_for_a_visitor_on_another_machine(monkeypatch):
    monkeypatch.setenv("MLP_LENS_OPERATOR", "1")  # folders are shown at all only then
    at = run_page("pages/4_Data.py")
    shown = " ".join(m.value for m in at.markdown)
    folder = cache_dir()
    assert str(folder) not in shown.replace("\\", "")
    assert f"…/{folder.parent.name}/{folder.name}".replace("_", r"\_") in shown
