"""The hidden layer's map on Explore: every image's hidden activations in 2-D, at the replayed
epoch, with how well they separate the digits and a caption that reads the map.

The method (PCA or t-SNE) is kept in session state and in the page's address (``map=tsne``;
PCA, the default, leaves it out). Each map is cached by the parameters, the data's
fingerprint, the epoch and the method (the data goes in as ``_data``, never hashed).
"""

from __future__ import annotations

import streamlit as st

from core.data import MnistData
from core.hidden_map import (
    METHOD_NAMES,
    METHODS,
    NEIGHBOURS,
    TSNE_POINTS,
    HiddenMap,
    hidden_map,
    map_caption,
    map_images,
    map_spec,
    network_at,
)
from core.params import TrainParams
from core.train import TrainResult
from ui import kept, keys

URL_KEY, DEFAULT = "map", "pca"
_METHOD_HELP = ("**PCA** (instant) shows the two directions in which the images' activations "
                "differ most: distances on the map are true to the layer. **t-SNE** (a few "
                f"seconds, at most {TSNE_POINTS:,} images) keeps each image near those whose "
                "activations are alike, which often draws the digits as clearer clusters; the "
                "gaps between clusters mean little.")


def map_method() -> str:
    """The visitor's method: from this session, else from the link, else PCA."""
    if keys.MAP_METHOD not in st.session_state:
        linked = st.query_params.get(URL_KEY, DEFAULT)
        kept.put(keys.MAP_METHOD, linked if linked in METHODS else DEFAULT)
    method = kept.value(keys.MAP_METHOD, DEFAULT)  # Reset goes back to PCA
    _keep_in_url(method)
    return method


def _keep_in_url(method: str) -> None:
    if method == DEFAULT:
        st.query_params.pop(URL_KEY, None)
    else:
        st.query_params[URL_KEY] = method


def hidden_map_section(result: TrainResult, data: MnistData, epoch: int | None) -> None:
    """The map at ``epoch`` (None: the finished network), its numbers and what it says."""
    network = network_at(result.model, result.history, epoch)
    step = result.history.step_name if result.history else "epoch"
    at = f" at {step} {network.epoch}" if network.epoch is not None else ""
    st.subheader(f"The hidden layer's map{at}")
    method = map_method()
    st.segmented_control("Map", METHODS, format_func=METHOD_NAMES.get, default=method,
                         required=True, **kept.widget(keys.MAP_METHOD, then=_store),
                         help=_METHOD_HELP)
    hmap, spec, images = _map(result, data, network.epoch, method)
    chart, numbers = st.columns([3, 2], gap="large")
    with chart:
        st.vega_lite_chart(spec, height=420, width="stretch",
                           key="hidden_map_chart")
        st.caption(_dots_note(hmap, images, result.params.activation))
    with numbers:
        _numbers(hmap)
        st.markdown(map_caption(hmap, activation=result.params.activation))
        if epoch is not None and network.final and network.epoch != epoch:
            st.caption(f"This network was trained before MLP Lens recorded every layer at "
                       f"each {step}: the map shows the end of training.")


def _store() -> None:
    """The visitor's method in the address, before the sidebar writes this run's link."""
    _keep_in_url(st.session_state[keys.MAP_METHOD])


def _numbers(hmap: HiddenMap) -> None:
    """How well the map, and the whole layer, separate the digits; the network's accuracy."""
    row = st.container(horizontal=True, key="hidden_map_numbers")
    if hmap.knn_map is not None:
        row.metric("Digit from neighbours, map", f"{hmap.knn_map:.0%}", width="content",
                   help=f"How often an image's {NEIGHBOURS} nearest neighbours on the 2-D map "
                        "have its digit (most of them), each image judged by neighbours from "
                        "the other four fifths of the images (5-fold cross-validation).")
        row.metric(f"… with all {hmap.units} units", f"{hmap.knn_full:.0%}", width="content",
                   help=f"The same, with the {NEIGHBOURS} nearest neighbours in the full "
                        f"hidden layer ({hmap.units} activations per image): what the network "
                        "itself has to work with. Above the map's, the map hides some of the "
                        "separation.")
    row.metric("Network right", f"{hmap.accuracy:.0%}", width="content",
               help="How often the network's answer at this epoch is right on these images.")


def _dots_note(hmap: HiddenMap, images: str, activation: str) -> str:
    shown = (f"all {hmap.n_images:,} {images}s" if len(hmap.rows) == hmap.n_images else
             f"{len(hmap.rows):,} of the {hmap.n_images:,} {images}s, sampled by digit")
    how = (f"PCA of the hidden activations ({activation}), refitted at each epoch"
           if hmap.method == "pca" else "t-SNE of the hidden activations")
    return (f"One dot per image: {shown}, placed by {how}. Hover a dot for its number "
            f"(counted from 0), its digit and the network's answer; a ringed digit marks the "
            "mean of its images. Scroll to zoom, drag to pan, double-click to reset.")


def _map(result: TrainResult, data: MnistData, epoch: int | None,
         method: str) -> tuple[HiddenMap, dict, str]:
    """The map, its chart (built once: a few milliseconds for 2,000 dots) and what its images
    are. Cached by the network's settings and how far it trained: a stopped network (not in
    the cache of networks) is the one its settings give after that many epochs, one BLAS
    thread, so its map is found again and never trained for."""
    cache = _tsne_map if method == "tsne" else _pca_map
    return cache(result.params, data.fingerprint, result.n_iter, result.stopped, epoch,
                 result, data)


def _compute(result: TrainResult, data: MnistData, epoch: int | None,
             method: str) -> tuple[HiddenMap, dict, str]:
    X, y, images = map_images(result.params, data)
    hmap = hidden_map(X, y, network_at(result.model, result.history, epoch), method=method)
    return hmap, map_spec(hmap, images=images), images


@st.cache_data(show_spinner=False, max_entries=256)
def _pca_map(params: TrainParams, fingerprint: str, n_iter: int, stopped: bool,
             epoch: int | None, _result: TrainResult,
             _data: MnistData) -> tuple[HiddenMap, dict, str]:
    return _compute(_result, _data, epoch, "pca")


@st.cache_data(show_spinner=f"t-SNE is placing up to {TSNE_POINTS:,} images (a few seconds)…",
               max_entries=64)
def _tsne_map(params: TrainParams, fingerprint: str, n_iter: int, stopped: bool,
              epoch: int | None, _result: TrainResult,
              _data: MnistData) -> tuple[HiddenMap, dict, str]:
    return _compute(_result, _data, epoch, "tsne")
