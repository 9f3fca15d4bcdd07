"""Charts as plain Vega-Lite specs: the pictures of st.line_chart and st.bar_chart, no Altair,
and the hidden layer's map (a scatter of digits).

Streamlit's built-in charts build an Altair chart and convert it on every call
(about 115 ms for a 200-point line in Streamlit 1.67); a page that refreshes
twice a second spent most of its time there. These functions build the same
picture as a dict in well under a millisecond, for ``st.vega_lite_chart``:
the same marks, axes, grid lines, hover point, tooltips and zoom that the
built-in charts give, with the data inline.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json"
# Each axis's labels and title as large as the page's captions (Streamlit's theme draws the
# labels smaller, and its config outranks a chart's own "config": set on each axis instead).
CAPTION_PX = 14
AXIS_TEXT = {"labelFontSize": CAPTION_PX, "titleFontSize": CAPTION_PX}
HIGHLIGHT, BAR = "#e45756", "#4c78a8"  # the predicted digit's bar, and every other bar
_ZOOM = {"name": "zoom", "select": {"type": "interval", "encodings": ["x", "y"]},
         "bind": "scales"}  # drag to pan, scroll to zoom, double-click to reset, as built-in


def line_spec(values: Sequence[float], *, x_label: str, y_label: str, first: int = 1,
              value_format: str = ".4f") -> dict:
    """One line of ``values`` over ``x_label`` = first, first + 1, ...; hovering shows the
    nearest point and its two numbers, as ``st.line_chart`` does."""
    x, y = x_label, y_label
    rows = [{x: first + i, y: float(value)} for i, value in enumerate(values)]
    encoding = {
        "x": {"field": x, "type": "quantitative", "title": x_label,
              "axis": {"grid": False, "tickMinStep": 1, **AXIS_TEXT}},
        "y": {"field": y, "type": "quantitative", "title": y_label,
              "axis": {"grid": True, **AXIS_TEXT}},
        "tooltip": [{"field": x, "type": "quantitative", "title": x_label},
                    {"field": y, "type": "quantitative", "title": y_label,
                     "format": value_format}],
    }
    hover = {"name": "hover", "select": {"type": "point", "fields": [x], "nearest": True,
                                         "on": "mousemove", "clear": "mouseleave"}}
    return {
        "$schema": SCHEMA,
        "data": {"values": rows},
        "layer": [
            {"mark": {"type": "line"}, "encoding": encoding, "params": [_ZOOM]},
            {"mark": {"type": "point", "opacity": 0}, "encoding": encoding, "params": [hover]},
            {"mark": {"type": "point", "filled": True, "size": 65}, "encoding": encoding,
             "transform": [{"filter": {"param": "hover", "empty": False}}]},
        ],
    }


def bar_spec(values: Mapping[str, float], *, x_label: str, y_label: str,
             horizontal: bool = False, highlight: str | None = None,
             domain: tuple[float, float] | None = None, value_format: str | None = None,
             axis_format: str | None = None) -> dict:
    """One bar per key, in the given order, as ``st.bar_chart`` draws a dict.

    ``x_label`` names the keys and ``y_label`` the values, also when ``horizontal``
    puts the keys on the vertical axis. ``highlight`` draws that key's bar in its
    own colour; ``domain`` fixes the value axis; ``value_format`` and ``axis_format``
    are d3 formats of the value in the tooltip and on the axis (``".1%"``, ``"%"``).
    """
    key, value = x_label, y_label
    rows = [{key: str(k), value: float(v)} for k, v in values.items()]
    keys = {"field": key, "type": "ordinal", "title": x_label, "sort": None,
            "axis": {"grid": False, "labelAngle": 0, **AXIS_TEXT}}
    amounts = {"field": value, "type": "quantitative", "title": y_label,
               "axis": {"grid": True, **AXIS_TEXT,
                        **({"format": axis_format} if axis_format else {})}}
    if domain is not None:
        amounts["scale"] = {"domain": list(domain)}
    tip = {"field": value, "type": "quantitative", "title": y_label}
    if value_format:
        tip["format"] = value_format
    encoding = {"x": amounts, "y": keys} if horizontal else {"x": keys, "y": amounts}
    encoding["tooltip"] = [{"field": key, "type": "nominal", "title": x_label}, tip]
    if highlight is not None:
        encoding["color"] = {"condition": {"test": f"datum[{key!r}] === {str(highlight)!r}",
                                           "value": HIGHLIGHT}, "value": BAR}
    return {"$schema": SCHEMA, "data": {"values": rows}, "mark": {"type": "bar"},
            "encoding": encoding}



# One colour per digit, safe for colour-blind eyes: Okabe and Ito's, then two of Paul Tol's
# (Okabe-Ito's yellow is too pale on white: Tol's darker one stands in for it).
DIGIT_COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#DDAA33",
                 "#000000", "#882255", "#999933")


def digit_scatter_spec(points: Mapping[str, Sequence], centres: Sequence[Mapping], *,
                       x_label: str, y_label: str, tooltip: Mapping[str, str]) -> dict:
    """One dot per row of the columns ``points`` ("x", "y", "digit" and those ``tooltip``
    shows, by column name -> title, in its order), coloured by digit; each of ``centres``
    (fields "x", "y" and "digits", one or more) drawn as a large white ring with its digits
    written in it, in the digit's colour (grey for several that fall in one place). Drag to
    pan, scroll to zoom.

    The dots go as CSV text (a third of the JSON rows' size, and built in a fraction of
    the time): a page sends the spec again on every run.
    """
    digits = sorted({int(d) for c in centres for d in c["digits"]} |
                    {int(d) for d in points["digit"]})
    colour = {"field": "digit", "type": "nominal", "title": "digit",
              "scale": {"domain": [str(d) for d in digits],
                        "range": [DIGIT_COLOURS[d % 10] for d in digits]},
              "legend": {"orient": "top", "direction": "horizontal", "labelFontSize": CAPTION_PX,
                         "titleFontSize": CAPTION_PX, "symbolSize": 120}}
    axis = {"grid": False, "tickCount": 5, "format": "~f", **AXIS_TEXT}
    scale = {"zero": False, "padding": 40}  # room for a ring at the edge
    x = {"field": "x", "type": "quantitative", "title": x_label, "axis": axis, "scale": scale}
    y = {"field": "y", "type": "quantitative", "title": y_label, "axis": axis, "scale": scale}
    parse = {name: "number" if name in ("x", "y") else "string" for name in points}
    dots = {"data": {"values": _csv(points), "format": {"type": "csv", "parse": parse}},
            "mark": {"type": "circle", "size": 28, "opacity": 0.65},
            "encoding": {"x": x, "y": y, "color": colour,
                         "tooltip": [{"field": f, "type": "nominal", "title": t}
                                     for f, t in tooltip.items()]},
            "params": [_ZOOM]}
    rings = {"data": {"values": [_ring(c) for c in centres]},
             "encoding": {"x": x, "y": y}, "layer": [
                 {"mark": {"type": "point", "shape": "circle", "filled": True, "fill": "white",
                           "fillOpacity": 0.5, "strokeWidth": 3, "opacity": 1},
                  "encoding": {"stroke": {"field": "ring", "type": "nominal", "scale": None},
                               "size": {"field": "size", "type": "quantitative",
                                        "scale": None}}},
                 {"mark": {"type": "text", "fontSize": 16, "fontWeight": "bold",
                           "color": "black"},
                  "encoding": {"text": {"field": "label", "type": "nominal"},
                               "tooltip": {"value": None}}}]}
    # Room on the left: on a phone the y axis's title was cut at the page's edge.
    return {"$schema": SCHEMA, "padding": {"left": 12, "top": 5, "right": 5, "bottom": 5},
            "layer": [dots, rings]}


def _ring(centre: Mapping) -> dict:
    """A centre's ring: its digits as its label, a circle wide enough for them (Vega's size is
    an area in square pixels), the digit's colour or grey for several."""
    digits = [int(d) for d in centre["digits"]]
    label = " ".join(map(str, digits))
    return {"x": centre["x"], "y": centre["y"], "label": label,
            "size": max(480, (9 * len(label) + 10) ** 2),
            "ring": DIGIT_COLOURS[digits[0] % 10] if len(digits) == 1 else "#555555"}


def _csv(columns: Mapping[str, Sequence]) -> str:
    """The columns as CSV text with a header; real numbers to 5 significant digits."""
    cells = [np.char.mod("%.5g", values) if np.issubdtype(np.asarray(values).dtype, np.floating)
             else np.asarray(values).astype(str) for values in columns.values()]
    return "\n".join([",".join(columns), *(",".join(row) for row in zip(*cells, strict=True))])
