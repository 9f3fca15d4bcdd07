"""The sidebar every page shares: widgets in, one ``TrainParams`` out.

One source of truth: the settings live in session state under ``STORE``, filled from
the URL once per session and written into the URL on every run. A widget starts from
the stored value and changes it only through its ``on_change`` callback; the server
never writes into a widget (``_store`` says why, and how a widget shows a value set
elsewhere). The main settings have a second widget, in the page, for phones.
"""

from __future__ import annotations

import html
from dataclasses import asdict
from urllib.parse import urlencode

import streamlit as st

from core.cache import cache_dir, cache_problem
from core.params import (
    ADVANCED,
    FIELDS,
    MAIN,
    Choice,
    DigitList,
    InvalidParams,
    Number,
    TrainParams,
    Whole,
    YesNo,
)
from ui import colours, kept, keys, text, theme

PAGES = (  # the pages, in the order the sidebar lists them
    ("app.py", "Explore", ":material/grid_view:"),
    ("pages/2_Compare_seeds.py", "Compare", ":material/compare:"),
    ("pages/3_Inspect_a_unit.py", "Inspect a unit", ":material/center_focus_strong:"),
    ("pages/4_Data.py", "The data", ":material/dataset:"),
    ("pages/5_Draw_a_digit.py", "Draw a digit", ":material/draw:"),
    ("pages/6_Sweep.py", "Sweep", ":material/table_chart:"),
    ("pages/1_Lesson.py", "The lesson", ":material/school:"),
)
STORE, URL_NOTICES, LINK_SLOT = keys.PARAMS, keys.URL_NOTICES, keys.LINK_SLOT
GENERATIONS = keys.WIDGET_GENERATIONS
SIDEBAR = "sb"  # the key prefix of the settings' widgets in the sidebar
QUICK = "qs"  # the key prefix of the main settings' copy in the page (for phones)
ADVANCED_OPEN = keys.ADVANCED_OPEN
_COPY_LABEL = "Copy link to this view"
# A button that copies the link; where the clipboard is not available (plain http on
# another host) the browser's prompt shows the link, selected, to copy by hand.
_COPY_BUTTON = """
<button type="button" class="mlp-copy-link" data-link="{link}" title="{link}">{label}</button>
<script>
for (const button of document.querySelectorAll("button.mlp-copy-link:not([data-ready])")) {{
  button.dataset.ready = "1";
  button.addEventListener("click", async () => {{
    const link = button.dataset.link, label = button.textContent;
    try {{
      await navigator.clipboard.writeText(link);
      button.textContent = "Link copied";
      setTimeout(() => {{ button.textContent = label; }}, 2000);
    }} catch (error) {{
      window.prompt("Copy this link:", link);
    }}
  }});
}}
</script>
"""


def sidebar() -> TrainParams | None:
    """Draw the shared sidebar; return the chosen parameters, or None (with a message)."""
    _start_session()
    theme.apply()
    st.session_state.pop(LINK_SLOT, None)  # a link only for valid settings, made this run
    with st.sidebar:
        for path, label, icon in PAGES:
            st.page_link(path, label=label, icon=icon)
        st.header("Network")
        _section(MAIN)
        with st.expander("Advanced", key=ADVANCED_OPEN, on_change="rerun"):
            _section(ADVANCED)
        st.button("Reset to the lesson's settings", on_click=reset, key="sb_reset",
                  width="stretch")
        cache_notice()
    from_link, notices = st.session_state[URL_NOTICES]
    if st.session_state[STORE] == from_link:  # shown until the person changes a setting
        text.notices(notices, icon=":material/link:", most=len(FIELDS))  # one per field
    try:
        params = TrainParams(**st.session_state[STORE])
    except InvalidParams as exc:
        text.notices(exc.messages, kind="info", icon=":material/front_hand:", most=len(FIELDS))
        return None
    for name, value in params.to_query().items():  # other keys (a page's own) stay
        st.query_params[name] = value
    colours.weight_style()  # the picture's colours are part of the link too
    _share_link()
    return params


def _share_link() -> None:
    """The link to exactly this view, with a copy button; pages with settings of their own
    (the seed list) call ``show_link`` again once they have put them in the URL."""
    with st.sidebar:
        st.session_state[LINK_SLOT] = st.empty()
    show_link()


def show_link() -> None:
    """Write the link: this page's address and every query parameter it has now.

    Nothing when the settings are invalid: the sidebar then made no slot this run.
    """
    if LINK_SLOT not in st.session_state:
        return
    st.session_state[LINK_SLOT].html(
        _COPY_BUTTON.format(link=html.escape(current_link()), label=_COPY_LABEL),
        unsafe_allow_javascript=True)


def current_link() -> str:
    """This page's address with every query parameter it has now."""
    return f"{st.context.url or ''}?{urlencode(st.query_params.to_dict())}"


def reset() -> None:
    """Back to the lesson's settings, and every page's own settings to their defaults."""
    set_params(TrainParams())
    kept.reset()


def cache_notice() -> None:
    """Say once, in the sidebar, when networks are kept in memory only, where and why."""
    problem = cache_problem()
    if problem:
        st.caption(text.plain(f"Networks are kept in memory only (lost on restart): the cache "
                              f"folder {text.folder(cache_dir())} cannot be used ({problem})."))


def set_params(params: TrainParams) -> None:
    """Put ``params`` into the sidebar (for buttons' ``on_click``)."""
    for name, value in asdict(params).items():
        _store(name, value)


def set_param(name: str, value) -> None:
    """Change one sidebar value (for buttons' ``on_click``)."""
    _store(name, value)


def _moved(name: str, key: str, prefix: str) -> None:
    """``on_change`` of the widget ``key``, copy ``prefix`` of setting ``name``: store its value.

    Unless the copy has been made anew since: Streamlit forgets the value of a widget
    that a finished run no longer drew, so when the browser, not yet told, sends that
    widget's value again, it counts as a change and its ``on_change`` runs. (The page's
    copy, made anew at the sidebar's first press, put its old value back at the second.)
    """
    if key == _key(name, prefix):
        _store(name, st.session_state[key], moved=prefix)


def _store(name: str, value, *, moved: str | None = None) -> None:
    """Store a setting, and make anew every widget of it but the one the visitor ``moved``.

    The server never writes into a widget: the browser sends every widget's value with
    every request, and one sent before the browser took a written value carries the old
    one, which the server takes for a change (three quick presses on one copy of a
    setting met the other copy's old value, and the setting jumped back). So a widget
    that must show a value set elsewhere (by the other copy, or a button) becomes a new
    widget under a new key, starting from the stored value; the widget the visitor moves
    keeps its key, and an old widget's late value is never read.
    """
    st.session_state[STORE][name] = value
    generations = st.session_state.setdefault(GENERATIONS, {})
    for prefix in _copies(name):
        if prefix != moved:
            generations[f"{prefix}_{name}"] = generations.get(f"{prefix}_{name}", 0) + 1


def _copies(name: str) -> tuple[str, ...]:
    """The key prefixes of the widgets that show setting ``name``."""
    return (SIDEBAR, QUICK) if FIELDS[name].section == MAIN else (SIDEBAR,)


def _start_session() -> None:
    if STORE in st.session_state:
        return
    params, notices = TrainParams.from_query(st.query_params.to_dict())
    st.session_state[STORE] = asdict(params)
    st.session_state[URL_NOTICES] = (asdict(params), notices)


def quick_settings(names: tuple[str, ...] | None = None) -> None:
    """The other pages and the main settings again, in the page itself, for screens where the
    sidebar is folded away (phones): the theme shows this block only there. Both copies edit
    the same stored values. ``names``: the settings the page takes from the sidebar, if not
    the main ones (the Sweep lists its own units, alphas and seeds)."""
    with st.container(key="quick_settings", border=True):
        _page_links()
        st.caption("The settings this page uses; the sidebar (» at the top left) has them all.")
        _widgets(names or [name for name, kind in FIELDS.items() if kind.section == MAIN],
                 prefix=QUICK)


def quick_pages() -> None:
    """The other pages, in the page itself, for phones, on a page that uses no setting."""
    with st.container(key="quick_settings", border=True):
        _page_links()


def _page_links() -> None:
    st.caption("Pages (all of them are also in the sidebar, » at the top left):")
    with st.container(horizontal=True, gap="small"):
        for path, label, icon in PAGES:
            st.page_link(path, label=label, icon=icon)


def _key(name: str, prefix: str = SIDEBAR) -> str:
    """The key of the widget that shows ``name`` now: ``sb_hidden_units``, then
    ``sb_hidden_units_1``... each time ``_store`` makes that copy anew."""
    generation = st.session_state.get(GENERATIONS, {}).get(f"{prefix}_{name}", 0)
    return f"{prefix}_{name}_{generation}" if generation else f"{prefix}_{name}"


def _bind(name: str, prefix: str = SIDEBAR) -> dict:
    """Widget arguments that tie a widget to the stored value ``name``."""
    key = _key(name, prefix)
    return {"key": key, "help": FIELDS[name].help, "on_change": _moved,
            "args": (name, key, prefix)}


def _section(section: str, *, prefix: str = SIDEBAR) -> None:
    """The widget of every parameter in ``section``, in table order, each chosen by its kind."""
    _widgets([name for name, kind in FIELDS.items() if kind.section == section], prefix=prefix)


def _widgets(names, *, prefix: str = SIDEBAR) -> None:
    """The widget of each parameter in ``names``, each chosen by its kind, and why it is unused
    with the other settings as they are, if it is."""
    current, stored = _current(), st.session_state[STORE]
    for name in names:
        kind = FIELDS[name]
        _WIDGETS[type(kind)](name, kind, prefix, stored[name])  # the widget starts from it
        reason = current.unused(name) if current is not None else None
        if reason:
            st.caption(f"{kind.label}: {reason}")


def _current() -> TrainParams | None:
    try:
        return TrainParams(**st.session_state[STORE])
    except InvalidParams:
        return None


def _whole_widget(name: str, kind: Whole, prefix: str, value: int) -> None:
    if kind.slider:
        st.slider(kind.label, kind.low, kind.high, value, **_bind(name, prefix))
    else:
        st.number_input(kind.label, kind.low, kind.high, value, step=kind.step,
                        **_bind(name, prefix))
    if kind.zero:
        st.caption(f"{kind.label} 0 means {kind.zero}.")


def _number_widget(name: str, kind: Number, prefix: str, value: float) -> None:
    """A slider over the suggested steps; a value from a link that is not a step is kept as one."""
    options = sorted(set(kind.steps) | {value})
    st.select_slider(kind.label, options, value, format_func=lambda v: f"{v:g}",
                     **_bind(name, prefix))


def _choice_widget(name: str, kind: Choice, prefix: str, value: str) -> None:
    st.selectbox(kind.label, kind.choices, kind.choices.index(value), **_bind(name, prefix))


def _yes_no_widget(name: str, kind: YesNo, prefix: str, value: bool) -> None:
    st.checkbox(kind.label, value, **_bind(name, prefix))


def _digit_list_widget(name: str, kind: DigitList, prefix: str, value) -> None:
    st.multiselect(kind.label, list(range(kind.low, kind.high + 1)), value, **_bind(name, prefix))


_WIDGETS = {Whole: _whole_widget, Number: _number_widget, Choice: _choice_widget,
            YesNo: _yes_no_widget, DigitList: _digit_list_widget}
