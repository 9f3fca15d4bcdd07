"""The charts as plain Vega-Lite specs: valid, and the same picture Streamlit's built-in charts
draw (data, axes, labels, hover help), without Altair's conversion on every page run."""

import altair as alt
import pytest
from streamlit.elements.lib.built_in_chart_utils import ChartType, generate_chart

from core.charts import AXIS_TEXT, HIGHLIGHT, bar_spec, line_spec

LOSS = [2.31, 1.2, 0.71, 0.52, 0.5]


def _layers(spec: dict) -> list[dict]:
    return spec.get("layer", [spec])


def test_the_loss_spec_is_valid_vega_lite_and_draws_every_epoch_from_one():
    spec = line_spec(LOSS, x_label="epoch", y_label="loss")
    alt.LayerChart.from_dict(spec, validate=True)  # raises on anything Vega-Lite would reject
    assert spec["data"]["values"] == [{"epoch": i + 1, "loss": v} for i, v in enumerate(LOSS)]


def test_the_loss_spec_looks_and_hovers_as_st_line_chart_did():
    """Same marks (a line, the nearest point on hover), axis titles and grid lines, zoom by
    dragging; the tooltip names both numbers (the built-in said "index", ours "epoch")."""
    ours = line_spec(LOSS, x_label="epoch", y_label="loss")
    theirs = generate_chart(ChartType.LINE, {"loss": LOSS}, x_axis_label="epoch",
                            y_axis_label="loss", height=220).to_dict()
    assert [layer["mark"] for layer in _layers(ours)] == \
        [layer["mark"] for layer in _layers(theirs)]
    for mine, built_in in zip(_layers(ours), _layers(theirs), strict=True):
        for channel in ("x", "y"):
            assert mine["encoding"][channel]["title"] == built_in["encoding"][channel]["title"]
            assert mine["encoding"][channel]["axis"] == \
                {**built_in["encoding"][channel]["axis"], **AXIS_TEXT}  # larger text only
        assert [t["title"] if "title" in t else t["field"] for t in
                mine["encoding"]["tooltip"]] == ["epoch", "loss"]
    zoom = [p for layer in _layers(ours) for p in layer.get("params", [])
            if p.get("bind") == "scales"]
    assert len(zoom) == 1
    values = [row["loss"] for row in theirs["datasets"][theirs["data"]["name"]]]
    assert values == [row["loss"] for row in ours["data"]["values"]]


@pytest.mark.parametrize("horizontal", [False, True])
def test_a_bar_spec_draws_the_keys_in_order_as_st_bar_chart_did(horizontal):
    counts = {"0": 500, "1": 563, "2": 488}
    ours = bar_spec(counts, x_label="digit", y_label="images", horizontal=horizontal)
    alt.Chart.from_dict(ours, validate=True)
    kind = ChartType.HORIZONTAL_BAR if horizontal else ChartType.VERTICAL_BAR
    theirs = generate_chart(kind, counts, x_axis_label="digit", y_axis_label="images",
                            height=220).to_dict()
    assert ours["mark"] == theirs["mark"]
    keys, amounts = ("y", "x") if horizontal else ("x", "y")
    for channel in (keys, amounts):
        assert ours["encoding"][channel]["title"] == theirs["encoding"][channel]["title"]
        assert ours["encoding"][channel]["type"] == theirs["encoding"][channel]["type"]
    assert ours["encoding"][keys]["sort"] is None  # the dict's order, not sorted
    assert [(r["digit"], r["images"]) for r in ours["data"]["values"]] == \
        [(k, float(v)) for k, v in counts.items()]
    assert [t["title"] for t in ours["encoding"]["tooltip"]] == ["digit", "images"]


def test_the_predicted_digit_has_its_own_colour_on_a_fixed_percent_scale():
    spec = bar_spec({"3": 0.9, "5": 0.1}, x_label="digit", y_label="probability",
                    highlight="3", domain=(0, 1), value_format=".1%", axis_format="%")
    alt.Chart.from_dict(spec, validate=True)
    colour = spec["encoding"]["color"]
    assert colour["condition"]["value"] == HIGHLIGHT and "'3'" in colour["condition"]["test"]
    assert spec["encoding"]["y"]["scale"] == {"domain": [0, 1]}
    assert spec["encoding"]["y"]["axis"]["format"] == "%"
    assert spec["encoding"]["tooltip"][1]["format"] == ".1%"


def test_the_axes_text_is_as_large_as_the_page_captions():
    """Streamlit's theme draws tick labels smaller than the captions under the charts."""
    for spec in (line_spec(LOSS, x_label="epoch", y_label="loss"),
                 bar_spec({"0": 1.0, "1": 2.0}, x_label="digit", y_label="images")):
        (alt.LayerChart if "layer" in spec else alt.Chart).from_dict(spec, validate=True)
        for layer in _layers(spec):
            for channel in ("x", "y"):
                axis = layer["encoding"][channel]["axis"]
                assert axis["labelFontSize"] >= 14 and axis["titleFontSize"] >= 14
