"""The sidebar every page shares: widgets in, one ``TrainParams`` out.

Streamlit's pages-directory mode drops a widget's value when the page
changes, so the values live in session state under ``STORE`` (updated by the
widgets' callbacks) and are written back into the widgets at the top of every
run. The URL is read once per session and rewritten on every run.
"""

from __future__ import annotations

from dataclasses import asdict
from urllib.parse import urlencode

import streamlit as st

from core.params import FIELDS, InvalidParams, TrainParams

PAGES = (  # the pages, in the order the sidebar lists them
    ("app.py", "Explore", ":material/grid_view:"),
    ("pages/2_Compare_seeds.py", "Compare seeds", ":material/compare:"),
    ("pages/3_Inspect_a_unit.py", "Inspect a unit", ":material/center_focus_strong:"),
    ("pages/4_Data.py", "The data", ":material/dataset:"),
    ("pages/5_Draw_a_digit.py", "Draw a digit", ":material/draw:"),
    ("pages/1_Lesson.py", "The lesson", ":material/school:"),
)
STORE = "mlp_lens_params"
URL_NOTICES = "mlp_lens_url_notices"
LINK_SLOT = "mlp_lens_link_slot"  # where the sidebar shows the link, this run


def sidebar() -> TrainParams | None:
    """Draw the shared sidebar; return the chosen parameters, or None (with a message)."""
    _start_session()
    st.session_state.pop(LINK_SLOT, None)  # a link only for valid settings, made this run
    for name, value in st.session_state[STORE].items():
        st.session_state[_key(name)] = value
    with st.sidebar:
        for path, label, icon in PAGES:
            st.page_link(path, label=label, icon=icon)
        st.header("Network")
        _digits_widget()
        _hidden_units_widget()
        _log_choice_widget("alpha")
        _random_state_widget()
        with st.expander("Advanced"):
            st.selectbox(FIELDS["solver"].label, FIELDS["solver"].choices, **_bind("solver"))
            _max_iter_widget()
            _log_choice_widget("learning_rate_init")
            st.checkbox(FIELDS["scale_pixels"].label, **_bind("scale_pixels"))
        st.button("Reset to the lesson's settings", on_click=set_params, args=(TrainParams(),),
                  key="sb_reset", width="stretch")
    from_link, notices = st.session_state[URL_NOTICES]
    if st.session_state[STORE] == from_link:  # shown until the person changes a setting
        for notice in notices:
            st.warning(notice, icon=":material/link:")
    try:
        params = TrainParams(**st.session_state[STORE])
    except InvalidParams as exc:
        for message in exc.messages:
            st.info(message, icon=":material/front_hand:")
        return None
    for name, value in params.to_query().items():  # other keys (a page's own) stay
        st.query_params[name] = value
    _share_link()
    return params


def _share_link() -> None:
    """The link to exactly this view, with a copy button; pages with settings of their own
    (the seed list) call ``show_link`` again once they have put them in the URL."""
    with st.sidebar:
        st.caption("Copy link to this view")
        st.session_state[LINK_SLOT] = st.empty()
    show_link()


def show_link() -> None:
    """Write the link: this page's address and every query parameter it has now.

    Nothing when the settings are invalid: the sidebar then made no slot this run.
    """
    if LINK_SLOT not in st.session_state:
        return
    query = urlencode(st.query_params.to_dict())
    st.session_state[LINK_SLOT].code(f"{st.context.url or ''}?{query}", language=None,
                                     wrap_lines=True)


def set_params(params: TrainParams) -> None:
    """Put ``params`` into the sidebar (for buttons' ``on_click``)."""
    st.session_state[STORE] = _raw(params)


def set_param(name: str, value) -> None:
    """Change one sidebar value (for buttons' ``on_click``)."""
    st.session_state[STORE][name] = value


def _start_session() -> None:
    if STORE in st.session_state:
        return
    params, notices = TrainParams.from_query(st.query_params.to_dict())
    st.session_state[STORE] = _raw(params)
    st.session_state[URL_NOTICES] = (_raw(params), notices)


def _raw(params: TrainParams) -> dict:
    values = asdict(params)
    values["digits"] = list(params.digits)
    return values


def _key(name: str) -> str:
    return f"sb_{name}"


def _bind(name: str) -> dict:
    """Widget arguments that tie a widget to the stored value ``name``."""
    return {
        "key": _key(name),
        "help": FIELDS[name].help,
        "on_change": lambda: set_param(name, st.session_state[_key(name)]),
    }


def _digits_widget() -> None:
    spec = FIELDS["digits"]
    st.multiselect(spec.label, list(range(int(spec.low), int(spec.high) + 1)), **_bind("digits"))


def _hidden_units_widget() -> None:
    spec = FIELDS["hidden_units"]
    st.slider(spec.label, int(spec.low), int(spec.high), **_bind("hidden_units"))


def _random_state_widget() -> None:
    spec = FIELDS["random_state"]
    st.number_input(spec.label, int(spec.low), int(spec.high), step=1, **_bind("random_state"))


def _max_iter_widget() -> None:
    spec = FIELDS["max_iter"]
    st.number_input(spec.label, int(spec.low), int(spec.high), step=10, **_bind("max_iter"))


def _log_choice_widget(name: str) -> None:
    """A slider over log-spaced values; a value from a link that is not a step is kept as one."""
    spec = FIELDS[name]
    options = sorted(set(spec.steps) | {st.session_state[STORE][name]})
    st.select_slider(spec.label, options, format_func=lambda v: f"{v:g}", **_bind(name))
