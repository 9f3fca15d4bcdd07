"""The Compare seeds page's pieces: the seed list, the parallel training, the seed grids."""

from __future__ import annotations

import numpy as np
import streamlit as st

from core.compare import DEFAULT_SEEDS, SeedTraining, align_units, clean_seeds, stability
from core.data import MnistData
from core.params import TrainParams
from core.train import TrainingFailed, TrainResult
from core.weights import figure_png, hidden_weight_images, weight_grid_figure
from ui import cached
from ui.sidebar import show_link

SEEDS, TRAINING = "cmp_seeds_text", "cmp_training"
PER_ROW = 4


def seed_controls() -> tuple[tuple[int, ...], int, dict]:
    """The seed list (kept across pages and in the URL), the reference seed, and view options."""
    if SEEDS not in st.session_state:
        st.session_state[SEEDS] = st.query_params.get(
            "seeds", ", ".join(map(str, DEFAULT_SEEDS)))
    text = st.text_input("Seeds to compare (up to 8, separated by commas)", key=SEEDS)
    seeds, notices = clean_seeds(text.replace(";", ",").split(","))
    for notice in notices:
        st.warning(notice, icon=":material/filter_alt:")
    st.query_params["seeds"] = ",".join(map(str, seeds))
    show_link()  # the link carries the seeds too
    if not seeds:
        return seeds, 0, {}
    cols = st.columns([1, 1, 1, 1])
    reference = cols[0].selectbox("Reference seed", seeds, key="cmp_reference")
    options = {
        "align": cols[1].toggle("Line up the units", value=True, key="cmp_align",
                                help="Reorder each seed's units to best match the reference."),
        "flip": cols[2].toggle("Flip negatively matched units", key="cmp_flip",
                               help="ReLU units are not sign-symmetric: a flipped unit is not "
                                    "the same unit, only the same picture in negative."),
        "shared": cols[3].toggle("One colour scale for all", key="cmp_shared"),
    }
    return seeds, reference, options


def training(params: TrainParams, seeds, data: MnistData) -> SeedTraining:
    """The session's training of these seeds, started (or reused) for these settings."""
    key = (params, tuple(seeds), data.fingerprint)
    current = st.session_state.get(TRAINING)
    if current is None or current[0] != key:
        if current is not None:
            current[1].stop()
        st.session_state[TRAINING] = (key, SeedTraining(params, seeds, data))
    return st.session_state[TRAINING][1]


@st.fragment(run_every=0.5)
def progress(work: SeedTraining) -> None:
    """Per-seed progress while workers train; the page redraws once all are done."""
    jobs = work.poll()
    if work.finished:
        st.rerun()
    cols = st.columns(min(len(jobs), PER_ROW))
    for i, (seed, job) in enumerate(jobs.items()):
        with cols[i % PER_ROW]:
            max_iter = job.params.max_iter
            text = {"done": "ready", "queued": "waiting for a free core",
                    "failed": f"failed: {job.error}"}.get(
                job.state, f"epoch {work.epoch(seed)} of {max_iter}")
            done = 1.0 if job.state in ("done", "failed") else work.epoch(seed) / max_iter
            st.progress(min(done, 1.0), text=f"seed {seed}: {text}")


def results(work: SeedTraining, data: MnistData) -> dict[int, TrainResult | str]:
    """Each finished seed's network, or the message saying why it has none."""
    out = {}
    for seed, job in work.poll().items():
        if job.state in ("queued", "training"):
            continue
        if job.state == "failed":
            out[seed] = f"Training seed {seed} failed: {job.error}."
            continue
        try:
            out[seed] = cached.trained(job.params, data)
        except TrainingFailed as exc:
            out[seed] = str(exc)
    return out


def comparison(found: dict[int, TrainResult | str], reference: int, options: dict,
               data: MnistData) -> None:
    """The stability summary and one lesson-style grid per seed."""
    good = {seed: r for seed, r in found.items() if not isinstance(r, str)}
    if reference not in good:
        if isinstance(found.get(reference), str):
            st.error(f"The reference seed {reference} has no network to compare with: "
                     f"{found[reference]}")
        else:
            st.info(f"Waiting for the reference seed {reference}…", icon=":material/hourglass:")
        return
    pixels = cached.inked_pixels(data.fingerprint)
    ref_images = hidden_weight_images(good[reference].model)
    aligned = {seed: align_units(ref_images, hidden_weight_images(r.model), pixels=pixels)
               for seed, r in good.items()}
    others = [aligned[s] for s in good if s != reference]
    st.metric("Stability: mean |correlation| of matched units across seeds",
              f"{stability(others):.2f}" if others else "— (waiting for a second seed)",
              help="1.00: every seed learns the same units; near 0: entirely different ones.")
    limits = _shared_limits(good) if options["shared"] else None
    seeds = list(found)
    for start in range(0, len(seeds), PER_ROW):
        cols = st.columns(PER_ROW)
        for col, seed in zip(cols, seeds[start:start + PER_ROW], strict=False):
            with col:
                _seed_column(seed, found[seed], aligned.get(seed), seed == reference,
                             options, limits)


def _seed_column(seed, result, alignment, is_reference, options, limits) -> None:
    st.markdown(f"**seed {seed}**" + (" · reference" if is_reference else ""))
    if isinstance(result, str):
        st.error(result, icon=":material/error:")
        return
    images = hidden_weight_images(result.model)
    order = list(alignment.order) if options["align"] else list(range(len(images)))
    corr = dict(zip(alignment.order, alignment.correlations, strict=True))
    signs = np.array([np.sign(corr[u]) if options["flip"] and corr[u] < 0 else 1 for u in order])
    shown = images[order] * signs[:, None, None]
    titles = [f"{u + 1}{' −' if s < 0 else ''}  r={corr[u]:.2f}" for u, s in zip(order, signs,
                                                                           strict=True)]
    dead = {i for i, u in enumerate(order) if u in result.dead_units}
    fig = weight_grid_figure(shown, dead_units=dead, titles=titles,
                             shared_scale=limits is not None, limits=limits)
    st.image(figure_png(fig), caption=f"seed {seed}: units "
             + ("lined up with the reference" if options["align"] else "in their own order"))
    st.caption(
        f"training accuracy **{result.train_accuracy:.1%}** · {result.n_iter} iterations · "
        f"{'converged' if result.converged else 'not converged'} · "
        f"{len(result.dead_units)} {result.unit_problem or 'dead'} · "
        f"similarity **{alignment.similarity:.2f}**")


def _shared_limits(results: dict[int, TrainResult]) -> tuple[float, float]:
    first_layers = [r.model.coefs_[0] for r in results.values()]
    return (float(min(w.min() for w in first_layers)), float(max(w.max() for w in first_layers)))
