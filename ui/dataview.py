"""The data page's sections: what the lesson prints about MNIST, and more."""

from __future__ import annotations

import os

import streamlit as st

from core.cache import cache_dir, clear_cache, folder_size
from core.charts import bar_spec
from core.data import MnistData
from core.gallery import (
    examples_figure,
    mean_images_figure,
    pixel_histogram,
    pixel_histogram_figure,
)
from core.params import FIELDS
from core.weights import figure_png
from ui import cached, colours, keys, text

OPERATOR_ENV = "MLP_LENS_OPERATOR"  # "1": this page shows the cache folder and can clear it


def operator() -> bool:
    """Whether the server runs with the operator switch on (see docs/operators.md)."""
    return os.environ.get(OPERATOR_ENV) == "1"


def source_note(data: MnistData) -> str:
    """Where the digits come from, for a visitor: its first sentence, without the server's
    folders and settings (the operator sees the whole note)."""
    if operator():
        return data.note
    first, _, reason = data.note.partition(". ")
    first = first.split(", scikit-learn cache at")[0] + "."
    if data.source == "sample" and ("OpenML" in reason or "fetch_openml" in reason):
        return first + " OpenML could not be reached from this server."
    return first


# Keyed by the data's fingerprint (and the digits); ``_data`` itself is not hashed.
@st.cache_data(show_spinner=False)
def _examples_png(fingerprint: str, digits: tuple[int, ...], _data: MnistData) -> bytes:
    return figure_png(examples_figure(_data, digits))


@st.cache_data(show_spinner=False)
def _means_png(fingerprint: str, digits: tuple[int, ...], _data: MnistData) -> bytes:
    return figure_png(mean_images_figure(_data, digits))


@st.cache_data(show_spinner=False)
def _histogram_png(fingerprint: str, _data: MnistData) -> tuple[bytes, float]:
    counts = pixel_histogram(_data)
    return figure_png(pixel_histogram_figure(counts)), float(counts[0] / counts.sum())


def facts(data: MnistData) -> None:
    st.markdown(f"**Source:** {text.plain(source_note(data))}")
    st.markdown(f"**Test digits** (held out when *{FIELDS['holdout'].label}* is ticked): "
                f"{data.split}.")
    low, high = cached.pixel_range(data)
    row = st.container(horizontal=True, key="metrics_datapage")
    row.metric("X.shape", f"{len(data.y):,} × {data.X.shape[1]}", width="content",
               help="Images × pixels: each 28 × 28 image is one row of 784 numbers.")
    row.metric("Pixel range", f"{low} – {high}", width="content",
               help="0 is blank paper, 255 full ink.")
    row.metric("dtype", str(data.X.dtype), width="content", help="As MLP Lens stores it; "
               "fetch_openml gives int64, and training uses float64.")
    row.metric("First five labels", " ".join(str(v) for v in data.y[:5]), width="content",
               help="The digit each of the first five images shows.")


def counts(data: MnistData) -> None:
    st.subheader("Images per digit")
    st.vega_lite_chart(bar_spec(data.counts(range(10)), x_label="digit", y_label="images",
                                value_format=",d"), height=220, width="stretch")


def pictures(data: MnistData, digits: tuple[int, ...]) -> None:
    left, right = st.columns([3, 2], gap="large")
    with left:
        st.subheader("Examples")
        st.image(_examples_png(data.fingerprint, digits, data),
                 caption="The first ten images of each chosen digit.")
    with right:
        st.subheader("The mean image of each digit")
        st.image(_means_png(data.fingerprint, digits, data),
                 caption="Every image of the digit averaged, pixel by pixel.")
        st.subheader("Pixel values")
        png, blank = _histogram_png(data.fingerprint, data)
        st.image(png, caption=f"{blank:.0%} of all pixels are 0 (blank). Log scale.")
    colours.legend(colours.weight_style(), weights=False, digits=True)


def caches() -> None:
    """How much this server keeps; the folder and the Clear button only for its operator,
    since clearing wipes every visitor's networks."""
    st.subheader("Caches")
    folder = cache_dir()
    size = folder_size(folder) if folder.exists() else 0
    if not operator():
        st.markdown(f"This server keeps **{size / 1e6:.1f} MB** of data copies and trained "
                    "networks, shared by everyone who uses it: a network trained once loads "
                    "at once for the next person.")
        return
    st.markdown(f"Cached data copies and trained networks: {text.plain(text.folder(folder))} "
                f"— **{size / 1e6:.1f} MB**")
    if not st.session_state.get(keys.CONFIRM_CLEAR):
        st.button("Clear the caches…", key="data_clear",
                  on_click=lambda: st.session_state.update({keys.CONFIRM_CLEAR: True}))
        return
    st.warning(f"Delete {size / 1e6:.1f} MB of cached data and networks? Every network will have "
               "to train again, also for everyone else using this server: the cache is shared.",
               icon=":material/delete:")
    yes, no = st.columns([1, 5])
    yes.button("Yes, delete", key="data_clear_yes", type="primary", on_click=_clear)
    no.button("Cancel", key="data_clear_no",
              on_click=lambda: st.session_state.update({keys.CONFIRM_CLEAR: False}))


def _clear() -> None:
    freed = clear_cache()
    cached.forget_networks()
    st.cache_data.clear()
    st.session_state[keys.CONFIRM_CLEAR] = False
    st.toast(f"Cleared {freed / 1e6:.1f} MB.", icon=":material/delete:")
