"""A minimal Streamlit app: a widget no longer drawn runs its ``on_change`` on a late value.

Slider A's ``on_change`` makes slider B anew under a new key (``b_0``, ``b_1``...),
as MLP Lens makes anew the other copy of a setting. Nobody touches B. Press A three
times quickly: when the run after the first press has finished before the second
press is sent, but the browser has not yet drawn ``b_1``, the second request
carries ``b_0``'s value. Streamlit dropped ``b_0``'s value at the end of that run
(it was not drawn) but kept its callback, so the value sent counts as a change and
``b_0``'s ``on_change`` runs. The page lists every ``on_change`` of B: there should
be none. ``python -m bench.late_value`` presses A in Chromium and counts them.
"""

import streamlit as st

st.session_state.setdefault("b_generation", 0)
st.session_state.setdefault("b_changes", [])


def a_moved() -> None:
    st.session_state.b_generation += 1


def b_moved(key: str) -> None:
    st.session_state.b_changes.append(f"{key}={st.session_state[key]}")


st.slider("A", 0, 100, 50, key="a", on_change=a_moved)
b = f"b_{st.session_state.b_generation}"
st.slider("B", 0, 100, 50, key=b, on_change=b_moved, args=(b,))
st.write("on_change of B: " + (", ".join(st.session_state.b_changes) or "none"))
