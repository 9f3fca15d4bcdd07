"""The in-process caches of the UI layer, keyed by small values only.

Data and trained networks are shared by every session of this server. Large
arrays are never hashed: each cached function is keyed by ``TrainParams`` and
the data's fingerprint, and gets the data itself as ``_data``, an argument
Streamlit does not hash (its leading underscore says so). The public helpers
take the ``MnistData`` and pass both.
"""

from __future__ import annotations

import streamlit as st

from core.data import MnistData, load_mnist
from core.export import grid_figure
from core.params import TrainParams
from core.train import TrainResult, train_mlp
from core.weights import DEFAULT_STYLE, WeightStyle, figure_png, output_weights_figure


# An hour: a server that fell back to the offline sample tries OpenML again later.
@st.cache_resource(show_spinner="Loading MNIST (the first load parses OpenML's file: ~10 s)…",
                   ttl=3600)
def mnist() -> MnistData:
    return load_mnist()


def pixel_range(data: MnistData) -> tuple[int, int]:
    return _pixel_range(data.fingerprint, data)


def inked_pixels(data: MnistData):
    """The pixels that are not blank in every image (weights elsewhere never change the output)."""
    return _inked_pixels(data.fingerprint, data)


def trained(params: TrainParams, data: MnistData) -> TrainResult:
    """The network for ``params``, trained now if need be (``ui.live`` shows it learn)."""
    return _trained(params, data.fingerprint, data)


@st.cache_data(show_spinner=False)
def _pixel_range(fingerprint: str, _data: MnistData) -> tuple[int, int]:
    return int(_data.X.min()), int(_data.X.max())


@st.cache_data(show_spinner=False)
def _inked_pixels(fingerprint: str, _data: MnistData):
    return _data.X.max(axis=0) > 0


# 64: a network in memory carries its training history (about 2 MB for 6 units, 12 MB for 36).
@st.cache_resource(show_spinner=False, max_entries=64)
def _trained(params: TrainParams, fingerprint: str, _data: MnistData) -> TrainResult:
    return train_mlp(params, _data)


def forget_networks() -> None:
    """Drop the trained networks held in memory (the loaded data stays: it is still valid)."""
    _trained.clear()


def weight_grid_png(result: TrainResult, data: MnistData, style: WeightStyle = DEFAULT_STYLE,
                    *, titled: bool = False) -> bytes:
    """The weight grid in ``style``; ``titled`` adds the settings and accuracy above it (for
    the downloaded file). Cached for finished networks, drawn afresh for stopped ones."""
    if result.stopped:
        return _grid_png(result, style, titled)
    return _cached_grid_png(result.params, data.fingerprint, style, titled, data)


def output_weights_png(result: TrainResult, data: MnistData) -> bytes:
    if result.stopped:
        return _votes_png(result)
    return _cached_votes_png(result.params, data.fingerprint, data)


@st.cache_data(show_spinner=False, max_entries=256)
def _cached_grid_png(params: TrainParams, fingerprint: str, style: WeightStyle,
                     titled: bool, _data: MnistData) -> bytes:
    return _grid_png(trained(params, _data), style, titled)


@st.cache_data(show_spinner=False, max_entries=256)
def _cached_votes_png(params: TrainParams, fingerprint: str, _data: MnistData) -> bytes:
    return _votes_png(trained(params, _data))


def _grid_png(result: TrainResult, style: WeightStyle, titled: bool) -> bytes:
    return figure_png(grid_figure(result, style, titled=titled))


def _votes_png(result: TrainResult) -> bytes:
    return figure_png(output_weights_figure(result.model, result.params.digits))
