"""A page's own choice, kept in the session apart from the widget that shows it.

The server never writes into a widget. The browser keeps each widget's value and sends it
with every click, and a widget whose value the server wrote may come up in the browser at
its own default and send that back: a Compare link opened in a new tab showed
"random_state" and no values, and the first click compared the seeds; Compare's epoch slider,
set to the last epoch, went back to epoch 1 at the next click. So a choice lives under its
own key (:func:`value`); its widget starts from it (the widget's default *is* the choice) and
stores what the visitor does (:func:`widget`); a choice set from outside, by a link, a new
network or Reset, gets a new widget under a new key (:func:`put`), whose late values from the
browser are ignored. The sidebar's settings work the same way (``ui.sidebar._store``).
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from ui import keys


def value(key: str, default):
    """The choice ``key``: as kept, else ``default``, which Reset puts back."""
    st.session_state.setdefault(keys.PAGE_SETTINGS, {})[key] = default
    if key not in st.session_state:
        put(key, default)
    return st.session_state[key]


def put(key: str, choice) -> None:
    """Set the choice ``key`` from outside its widget: the widget is made anew to show it."""
    st.session_state[key] = choice
    generations = st.session_state.setdefault(keys.KEPT_GENERATIONS, {})
    generations[key] = generations.get(key, 0) + 1


def widget(key: str, then: Callable[[], None] | None = None) -> dict:
    """The ``key`` and ``on_change`` of the widget that shows the choice ``key`` (pass it
    ``value(key, ...)`` as its default); ``then`` runs after a change is kept."""
    name = _widget_key(key)
    return {"key": name, "on_change": _moved, "args": (key, name, then)}


def reset() -> None:
    """Every page's choices back to their defaults (the sidebar's Reset)."""
    for key, default in st.session_state.get(keys.PAGE_SETTINGS, {}).items():
        put(key, default)


def _widget_key(key: str) -> str:
    return f"{key}_{st.session_state.get(keys.KEPT_GENERATIONS, {}).get(key, 0)}"


def _moved(key: str, name: str, then: Callable[[], None] | None) -> None:
    """Keep the visitor's change, unless it is the late value of an older widget of ``key``
    (Streamlit runs the callback of a widget no longer drawn when the browser sends its value
    again)."""
    if name == _widget_key(key):
        st.session_state[key] = st.session_state[name]
        if then is not None:
            then()
