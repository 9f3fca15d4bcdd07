"""The Compare seeds page's pieces: the seed list, the parallel training, the seed grids."""

from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np
import streamlit as st

from core.budget import place_text
from core.compare import (
    DEFAULT_SEEDS,
    SeedTraining,
    SeedVerdict,
    align_units,
    clean_seeds,
    seed_verdict,
    stability,
)
from core.data import MnistData
from core.evaluation import spread
from core.outcome import epoch_word
from core.params import FIELDS, TrainParams
from core.train import TrainingFailed, TrainResult
from core.weights import (
    array_png,
    figure_png,
    hidden_weight_images,
    weight_grid_figure,
    weight_grid_mosaic,
)
from ui import cached, colours, keys, text
from ui.sidebar import page_setting, set_param, show_link


def holdout_caption(params: TrainParams | None) -> None:
    if params is not None and params.holdout:
        st.caption("Each seed trains on the training digits only and is measured on the "
                   "held-out test digits.")
    elif params is not None:
        st.caption("There is no held-out set: like the lesson, every image of the chosen digits "
                   f"is used for training. Tick *{FIELDS['holdout'].label}* to measure each "
                   "seed on digits it has never seen.")


def seed_controls() -> tuple[tuple[int, ...], int, dict]:
    """The seed list (kept across pages and in the URL), the reference seed, and view options."""
    default = ", ".join(map(str, DEFAULT_SEEDS))
    page_setting(keys.SEEDS, default)  # Reset puts the default list back
    if keys.SEEDS not in st.session_state:
        st.session_state[keys.SEEDS] = st.query_params.get("seeds", default)
    listed = st.text_input("Seeds to compare (up to 8, separated by commas)", key=keys.SEEDS)
    seeds, notices = clean_seeds(listed)
    text.notices(notices, icon=":material/filter_alt:")
    st.query_params["seeds"] = ",".join(map(str, seeds))
    show_link()  # the link carries the seeds too
    if not seeds:
        return seeds, 0, {}
    row = st.container(horizontal=True, gap="medium", vertical_alignment="bottom")
    reference = row.selectbox("Reference seed", seeds, key="cmp_reference", width=160,
                              help="The seed the others are lined up with.")
    options = {
        "align": row.toggle("Line up the units", value=True, key="cmp_align",
                            help="Reorder each seed's units to best match the reference's, by "
                                 "the correlation of their weight images."),
        "flip": row.toggle("Flip negatively matched units", key="cmp_flip",
                           help="ReLU units are not sign-symmetric: a flipped unit is not "
                                "the same unit, only the same picture in negative."),
    }
    colours.style_controls(key="cmp")
    return seeds, reference, options


def training(params: TrainParams, seeds, data: MnistData) -> SeedTraining:
    """The session's training of these seeds, started (or reused) for these settings."""
    key = (params, tuple(seeds), data.fingerprint)
    current = st.session_state.get(keys.SEED_TRAINING)
    if current is None or current[0] != key:
        if current is not None:
            current[1].stop()
        st.session_state[keys.SEED_TRAINING] = (key, SeedTraining(params, seeds, data))
    work = st.session_state[keys.SEED_TRAINING][1]
    for seed, job in work.poll().items():
        if job.abandoned:  # stopped while nobody watched: this visitor is back
            work.retry(seed)
    return work


@st.fragment(run_every=0.5)
def progress(work: SeedTraining) -> None:
    """Each seed's progress and weights while workers train, and a Stop; the page redraws
    once all are done."""
    jobs = work.poll()
    if work.finished:
        st.rerun()
    st.button("Stop", key="cmp_stop", icon=":material/stop_circle:", on_click=work.stop,
              help="End the trainings still running; finished seeds stay. A seed another "
                   "page also waits for goes on training for that page.")
    style = colours.weight_style()
    cards = st.container(horizontal=True, gap="medium", key="seedcards_live")  # ui.theme
    for seed, job in jobs.items():
        with cards.container(key=f"seedcard_live_{seed}"):
            max_iter, epoch = job.params.max_iter, job.epoch
            if job.place:
                state = place_text(job.place)
            else:
                shared = ", shared with another page" if job.following else ""
                state = {"done": "ready", "queued": "waiting for its turn",
                         "failed": f"failed: {job.error}", "stopped": "stopped",
                         "held": f"paused at epoch {epoch} on another page"}.get(
                    job.state, f"epoch {epoch} of {max_iter}{shared}")
            done = 1.0 if job.state in ("done", "failed") else epoch / max_iter
            st.progress(min(done, 1.0), text=f"seed {seed}: {state}")
            png = _live_png(work, seed, epoch, style) if job.state in ("training", "held") \
                else None
            if png is not None:
                st.image(png, output_format="PNG",  # as it is: "auto" re-encodes it as JPEG
                         caption=f"seed {seed} at epoch {epoch} (updating as it learns)")
    colours.legend(style)


_LIVE_PNGS: OrderedDict = OrderedDict()  # (network, data, epoch, style) -> PNG, for all pages
_LIVE_PNGS_LOCK = threading.Lock()


def _live_png(work: SeedTraining, seed: int, epoch: int, style) -> bytes | None:
    """A training seed's weights at ``epoch``, drawn once for every page and refresh that
    shows that epoch (the card refreshes twice a second; an epoch may take seconds)."""
    key = (work.jobs[seed].params, work.data.fingerprint, epoch, style)
    with _LIVE_PNGS_LOCK:
        if key in _LIVE_PNGS:
            return _LIVE_PNGS[key]
    images = work.weights(seed)
    if images is None:
        return None
    png = array_png(weight_grid_mosaic(images, style=style, zoom=3))
    with _LIVE_PNGS_LOCK:
        _LIVE_PNGS[key] = png
        while len(_LIVE_PNGS) > 64:
            _LIVE_PNGS.popitem(last=False)
    return png


def results(work: SeedTraining, data: MnistData) -> dict[int, TrainResult | str]:
    """Each finished seed's network, or the message saying why it has none."""
    out = {}
    for seed, job in work.poll().items():
        if job.state in ("queued", "waiting", "training", "held"):
            continue  # its job (or the line for a trainer) has it; never trained here
        if job.state == "stopped":
            out[seed] = f"Seed {seed} was stopped before it finished."
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
               data: MnistData, work: SeedTraining, *, claim) -> None:
    """What the seeds show (written in ``claim``, a container under the page's introduction),
    the stability summary, and one lesson-style grid per seed."""
    good = {seed: r for seed, r in found.items() if not isinstance(r, str)}
    if reference not in good:
        if isinstance(found.get(reference), str):
            st.error(text.plain(f"The reference seed {reference} has no network to compare "
                                f"with: {found[reference]}"), icon=":material/error:")
            _retry_button(work, reference)
        else:
            st.info(f"Waiting for the reference seed {reference}…", icon=":material/hourglass:")
        return
    pixels = cached.inked_pixels(data)
    ref_images = hidden_weight_images(good[reference].model)
    aligned = {seed: align_units(ref_images, hidden_weight_images(r.model), pixels=pixels)
               for seed, r in good.items()}
    others = [aligned[s] for s in good if s != reference]
    score = stability(others)
    summary = st.container(horizontal=True)
    summary.metric("Stability", f"{score:.2f}" if others else "— (waiting for a second seed)",
                   width="content",
                   help="The mean |correlation| of matched units across seeds. 1.00: every seed "
                        "learns the same units; near 0: entirely different ones.")
    _test_spread(summary, good)
    if work.finished:  # a verdict on every seed, not on the first to finish
        with claim:
            _verdict(seed_verdict(good, stability=score))
    style = colours.weight_style()
    shared = _shared_limit(good) if style.scale == "shared" else None
    options = {**options, "epoch": _epoch_slider(good)}
    # Columns of one width (ui.theme): three on a wide screen, two on a tablet, one on a phone.
    cards = st.container(horizontal=True, gap="medium", key="seedcards")
    for seed, result in found.items():
        with cards.container(key=f"seedcard_{seed}"):
            _seed_card(seed, result, aligned.get(seed), seed == reference, options, style, shared)
            _retry_button(work, seed)
    colours.legend(style)
    st.caption("Hover over a seed's picture and click its expand icon to see it larger.")


def _retry_button(work: SeedTraining, seed: int) -> None:
    """A failed or stopped seed can be trained again without reloading the page."""
    if work.jobs[seed].state in ("failed", "stopped"):
        st.button(f"Retry seed {seed}", key=f"cmp_retry_{seed}", icon=":material/refresh:",
                  on_click=work.retry, args=(seed,))


def _verdict(verdict: SeedVerdict | None) -> None:
    """Whether these seeds bear out the lesson's claim; the fix when they do not."""
    if verdict is None:
        return
    if verdict.alike:
        st.success(verdict.text, icon=":material/balance:")
        return
    with st.container(border=True):
        st.warning(verdict.text, icon=":material/warning:")
        if verdict.scale_pixels:
            st.button("Scale pixels to 0–1 and retrain", on_click=set_param,
                      args=("scale_pixels", True), key="cmp_fix_scale_pixels", type="primary")


def _epoch_slider(good: dict[int, TrainResult]) -> int | None:
    """One epoch for every seed (the last by default); None if a seed has no history."""
    histories = [r.history for r in good.values()]
    if not histories or any(h is None for h in histories):
        return None
    epochs = sorted(set().union(*(h.epochs for h in histories)))
    if len(epochs) < 2:
        return None
    if st.session_state.get(keys.REPLAY_ALL_SEEDS) not in epochs:
        st.session_state[keys.REPLAY_ALL_SEEDS] = epochs[-1]
    step = histories[0].step_name
    return st.select_slider(
        f"{step.capitalize()} (all seeds)", options=epochs, key=keys.REPLAY_ALL_SEEDS,
        help=f"Replay every seed's training: each grid as it was at this {step}; a seed "
             "that stopped earlier shows its end. Units stay lined up as at the end.")


def _seed_images(result: TrainResult, epoch: int | None) -> tuple[np.ndarray, tuple, str]:
    """The seed's weight images and dead units at ``epoch`` (its end when past it), and when."""
    history = result.history
    if epoch is None or epoch >= history.epochs[-1]:
        return hidden_weight_images(result.model), result.dead_units, ""
    return history.weight_images(epoch), history.dead_at(epoch), f" at {history.step_name} {epoch}"


def _seed_card(seed, result, alignment, is_reference, options, style, shared) -> None:
    st.markdown(f"**seed {seed}**" + (" · reference" if is_reference else ""))
    if isinstance(result, str):
        st.error(text.plain(result), icon=":material/error:")
        return
    images, dead_units, when = _seed_images(result, options["epoch"])
    order = list(alignment.order) if options["align"] else list(range(len(images)))
    corr = dict(zip(alignment.order, alignment.correlations, strict=True))
    signs = np.array([np.sign(corr[u]) if options["flip"] and corr[u] < 0 else 1 for u in order])
    shown = images[order] * signs[:, None, None]
    titles = [f"{u + 1}{' −' if s < 0 else ''}  r={corr[u]:.2f}" for u, s in zip(order, signs,
                                                                           strict=True)]
    dead = {i for i, u in enumerate(order) if u in dead_units}
    fig = weight_grid_figure(shown, style=style, dead_units=dead, titles=titles, shared=shared)
    st.image(figure_png(fig), caption=f"seed {seed}{when}: units "
             + ("lined up with the reference" if options["align"] else "in their own order"))
    tested = ("" if result.test_accuracy is None else
              f" · test accuracy **{result.test_accuracy:.1%}**")
    st.caption(
        f"training accuracy **{result.train_accuracy:.1%}**{tested} · {result.n_iter} "
        f"{epoch_word(result)} · {len(result.dead_units)} {result.unit_problem or 'dead'} · "
        f"similarity **{alignment.similarity:.2f}**")


def _test_spread(row, good: dict[int, TrainResult]) -> None:
    """The seeds' test accuracies: mean and spread (with the hold-out on)."""
    scores = [r.test_accuracy for r in good.values() if r.test_accuracy is not None]
    if not scores:
        return
    found = spread(scores)
    row.metric("Test accuracy across seeds", f"{found.mean:.1%}", width="content",
               delta=f"spread {found.range * 100:.1f} points "
                     f"({found.low:.1%} to {found.high:.1%}), std {found.std * 100:.1f}",
               delta_color="off",
               help="The mean of each seed's accuracy on the held-out test images it never "
                    "trained on. Equally good networks differ by about the spread.")


def _shared_limit(results: dict[int, TrainResult]) -> float:
    return float(max(np.abs(r.model.coefs_[0]).max() for r in results.values()))
