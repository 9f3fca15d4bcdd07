"""The Compare page's pieces: the setting varied and its values, the parallel training, the
grids side by side."""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from functools import partial

import numpy as np
import streamlit as st

from core.budget import place_text
from core.compare import (
    MAX_VALUES,
    SEED,
    VARIED,
    Comparing,
    SeedTraining,
    SeedVerdict,
    align_units,
    clean_values,
    seed_verdict,
    setting_verdict,
    stability,
    value_title,
)
from core.data import MnistData
from core.evaluation import spread
from core.outcome import epoch_word
from core.params import FIELDS, Choice, TrainParams, YesNo
from core.train import TrainingFailed, TrainResult
from core.weights import (
    array_png,
    figure_png,
    hidden_weight_images,
    weight_grid_figure,
    weight_grid_mosaic,
)
from ui import cached, colours, kept, keys, text
from ui.sidebar import set_param, show_link


def holdout_caption(params: TrainParams | None) -> None:
    if params is not None and params.holdout:
        st.caption("Each network trains on the training digits only and is measured on the "
                   "held-out test digits.")
    elif params is not None:
        st.caption("There is no held-out set: like the lesson, every image of the chosen digits "
                   f"is used for training. Tick *{FIELDS['holdout'].label}* to measure each "
                   "network on digits it has never seen.")


# The Vary control's words for each setting, and what its list of values is called.
_VARY_LABELS = {"random_state": "random_state (seeds)", "hidden_units": "hidden units",
                "alpha": "alpha", "scale_pixels": "pixel scaling", "solver": "solver",
                "activation": "activation", "learning_rate_init": "learning rate"}
_LIST_LABELS = {"random_state": "Seeds to compare", "hidden_units": "Hidden units to compare",
                "alpha": "Alphas to compare", "scale_pixels": "Pixels to compare",
                "solver": "Solvers to compare", "activation": "Activations to compare",
                "learning_rate_init": "Learning rates (learning_rate_init) to compare"}
_LINK_KEYS = ("vary", "values", "seeds")


def controls(params: TrainParams | None) -> tuple[Comparing, object, dict]:
    """The setting to vary and its values (in the URL), the reference network, view options."""
    _from_link()
    row = st.container(horizontal=True, gap="medium", vertical_alignment="bottom")
    with row:
        varied = tuple(VARIED)
        name = st.selectbox("Vary", varied, varied.index(kept.value(keys.VARY, SEED)),
                            format_func=_VARY_LABELS.get, width=220, **kept.widget(keys.VARY),
                            help="The one setting the networks side by side differ in; every "
                                 "other setting is the sidebar's.")
        values, notices = _values_widget(name)
    _link_notices(name)
    text.notices(notices, icon=":material/filter_alt:")
    compared = Comparing(name, values)
    _to_url(compared)
    show_link()  # the link carries the comparison too
    if name != SEED:
        st.caption(f"Every other setting is the sidebar's; here each network has its own "
                   f"{_VARY_LABELS[name]}, one of the values above.")
    unused = params.unused(name) if params is not None else None
    if unused:
        st.info(text.plain(f"{FIELDS[name].label}: {unused} These networks differ in nothing "
                           "that changes them."), icon=":material/info:")
    if not values:
        return compared, None, {}
    with st.container(horizontal=True, gap="medium", vertical_alignment="bottom"):
        reference, options = _reference(compared), _view_options()
    colours.style_controls(key="cmp")
    return compared, reference, options


def _picked(name: str) -> bool:
    """A setting of a few choices: its values are picked (pills), not typed."""
    return isinstance(FIELDS[name], (Choice, YesNo))


def _values_key(name: str) -> str:
    return keys.SEEDS if name == SEED else keys.VALUES + name


def _values(name: str):
    """The values of setting ``name`` as kept (those of ``VARIED`` at first, and after Reset)."""
    values = VARIED[name]
    default = (list(values) if _picked(name) else
               ", ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in values))
    return kept.value(_values_key(name), default)


def _from_link() -> None:
    """Put a link's comparison (a new visit, or Explore's link here) into the controls; not
    the URL this page wrote itself, which the controls are ahead of."""
    query = {key: st.query_params[key] for key in _LINK_KEYS if key in st.query_params}
    if not query or query == st.session_state.get(keys.COMPARE_WRITTEN):
        return
    name, notices = query.get("vary", SEED), []
    if name not in VARIED:
        notices.append(f"The link's vary = '{name[:40]}' is not a setting Compare can vary; "
                       "comparing seeds instead.")
        name = SEED
    kept.put(keys.VARY, name)
    listed = query.get("seeds" if name == SEED else "values")
    if listed is not None and _picked(name):
        values, found = clean_values(name, listed)
        kept.put(_values_key(name), list(values))
        notices += [f"The link's values: {notice}" for notice in found]
    elif listed is not None:
        kept.put(_values_key(name), listed)  # its notices show under the text box
    st.session_state[keys.COMPARE_LINK_NOTICES] = (name, _values(name), tuple(notices))


def _link_notices(name: str) -> None:
    """What was wrong in the link, until the visitor changes the comparison."""
    shown, values, notices = st.session_state.get(keys.COMPARE_LINK_NOTICES, (None, None, ()))
    if shown == name and values == _values(name):
        text.notices(notices, icon=":material/link:")


def _values_widget(name: str) -> tuple[tuple, list[str]]:
    """The values to compare: pills for a setting of a few choices, else a typed list."""
    if _picked(name):
        offered = FIELDS[name].offered()
        picked = st.pills(_LIST_LABELS[name], offered, selection_mode="multi",
                          default=[value for value in _values(name) if value in offered],
                          format_func=lambda value: value_title(name, value),
                          **kept.widget(_values_key(name)))
        return tuple(picked), []
    listed = st.text_input(f"{_LIST_LABELS[name]} (up to {MAX_VALUES}, separated by commas)",
                           _values(name), **kept.widget(_values_key(name)))
    return clean_values(name, listed)


def _to_url(compared: Comparing) -> None:
    """The comparison in the URL (``seeds=`` alone for seeds, as old links have it)."""
    written = compared.to_query()
    for key in _LINK_KEYS:
        if key in written:
            st.query_params[key] = written[key]
        elif key in st.query_params:
            del st.query_params[key]
    st.session_state[keys.COMPARE_WRITTEN] = written


def _reference(compared: Comparing):
    """The network the others are lined up with: the first, unless the visitor picks another."""
    seeds = compared.name == SEED
    return st.selectbox("Reference seed" if seeds else "Reference network", compared.values,
                        format_func=compared.title, width=220,
                        key="cmp_reference" if seeds else f"cmp_reference_{compared.name}",
                        help="The network the others are lined up with.")


def _view_options() -> dict:
    return {
        "align": st.toggle("Line up the units", value=True, key="cmp_align",
                           help="Reorder each network's units to best match the reference's, "
                                "by the correlation of their weight images."),
        "flip": st.toggle("Flip negatively matched units", key="cmp_flip",
                          help="ReLU units are not sign-symmetric: a flipped unit is not "
                               "the same unit, only the same picture in negative."),
    }


def training(params: TrainParams, compared: Comparing, data: MnistData) -> SeedTraining:
    """The session's training of these networks, started (or reused) for these settings."""
    key = (params, compared, data.fingerprint)
    current = st.session_state.get(keys.SEED_TRAINING)
    if current is None or current[0] != key:
        if current is not None:
            current[1].stop()
        st.session_state[keys.SEED_TRAINING] = (
            key, SeedTraining(params, compared.values, data, field=compared.name))
    work = st.session_state[keys.SEED_TRAINING][1]
    for seed, job in work.poll().items():
        if job.abandoned:  # stopped while nobody watched: this visitor is back
            work.retry(seed)
    return work


@st.fragment(run_every=0.5)
def progress(work: SeedTraining) -> None:
    """Each network's progress and weights while workers train, and a Stop; the page redraws
    once all are done."""
    jobs = work.poll()
    if work.finished:
        st.rerun()
    st.button("Stop", key="cmp_stop", icon=":material/stop_circle:", on_click=work.stop,
              help="End the trainings still running; finished networks stay. A network "
                   "another page also waits for goes on training for that page.")
    style = colours.weight_style()
    cards = st.container(horizontal=True, gap="medium", key="seedcards_live")  # ui.theme
    for seed, job in jobs.items():
        title = value_title(work.field, seed)
        with cards.container(key=f"seedcard_live_{_slug(seed)}"):
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
            st.progress(min(done, 1.0), text=f"{title}: {state}")
            png = _live_png(work, seed, epoch, style) if job.state in ("training", "held") \
                else None
            if png is not None:
                st.image(png, output_format="PNG",  # as it is: "auto" re-encodes it as JPEG
                         caption=f"{title} at epoch {epoch} (updating as it learns)")
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


def results(work: SeedTraining, data: MnistData) -> dict[object, TrainResult | str]:
    """Each finished network (by its value), or the message saying why it has none."""
    out = {}
    for seed, job in work.poll().items():
        title = value_title(work.field, seed)
        if job.state in ("queued", "waiting", "training", "held"):
            continue  # its job (or the line for a trainer) has it; never trained here
        if job.state == "stopped":
            out[seed] = f"The network with {title} was stopped before it finished."
            continue
        if job.state == "failed":
            out[seed] = f"Training the network with {title} failed: {job.error}."
            continue
        try:
            out[seed] = cached.trained(job.params, data)
        except TrainingFailed as exc:
            out[seed] = str(exc)
    return out


def comparison(found: dict, reference, options: dict, data: MnistData, work: SeedTraining, *,
               claim) -> None:
    """What the networks show (written in ``claim``, a container under the page's
    introduction), how alike their units are, and one lesson-style grid per network."""
    good = {value: r for value, r in found.items() if not isinstance(r, str)}
    title = partial(value_title, work.field)
    if reference not in good:
        if isinstance(found.get(reference), str):
            st.error(text.plain(f"The reference ({title(reference)}) has no network to compare "
                                f"with: {found[reference]}"), icon=":material/error:")
            _retry_button(work, reference)
        else:
            st.info(f"Waiting for the reference ({title(reference)})…",
                    icon=":material/hourglass:")
        return
    pixels = cached.inked_pixels(data)
    ref_images = hidden_weight_images(good[reference].model)
    aligned = {value: align_units(ref_images, hidden_weight_images(r.model), pixels=pixels)
               for value, r in good.items()}
    score = _summary(work.field, [aligned[v] for v in good if v != reference], good)
    if work.finished:  # a verdict on every network, not on the first to finish
        with claim:
            _verdict(seed_verdict(good, stability=score) if work.field == SEED else
                     setting_verdict(good, name=work.field), seeds=work.field == SEED)
    style = colours.weight_style()
    shared = _shared_limit(good) if style.scale == "shared" else None
    options = {**options, "epoch": _epoch_slider(good, work.field),
               "reference": title(reference), "reference_units": len(ref_images)}
    # Columns of one width (ui.theme): three on a wide screen, two on a tablet, one on a phone.
    cards = st.container(horizontal=True, gap="medium", key="seedcards")
    for value, result in found.items():
        with cards.container(key=f"seedcard_{_slug(value)}"):
            _seed_card(title(value), result, aligned.get(value), value == reference, options,
                       style, shared)
            _retry_button(work, value)
    colours.legend(style)
    st.caption("Hover over a network's picture and click its expand icon to see it larger.")


def _summary(field: str, others: list, good: dict) -> float:
    """The mean |correlation| of matched units with the reference, as a metric; and the test
    accuracies' spread beside it."""
    score = stability(others)
    summary = st.container(horizontal=True, key="cmp_summary")
    waiting = "— (waiting for a second network)"
    if field == SEED:
        summary.metric("Stability", f"{score:.2f}" if others else waiting, width="content",
                       help="The mean |correlation| of matched units across seeds. 1.00: every "
                            "seed learns the same units; near 0: entirely different ones.")
    else:
        summary.metric("Units alike", f"{score:.2f}" if others else waiting, width="content",
                       help="The mean |correlation| of each network's units with the "
                            "reference's units they are matched to. 1.00: the same units.")
    _test_spread(summary, good, field)
    return score


def _slug(value) -> str:
    """A value as part of a widget key (and a CSS class): 0.01 -> 0_01."""
    return re.sub(r"[^0-9A-Za-z]+", "_", str(value))


def _retry_button(work: SeedTraining, value) -> None:
    """A failed or stopped network can be trained again without reloading the page."""
    if work.jobs[value].state in ("failed", "stopped"):
        st.button(f"Retry {value_title(work.field, value)}", key=f"cmp_retry_{_slug(value)}",
                  icon=":material/refresh:", on_click=work.retry, args=(value,))


def _verdict(verdict: SeedVerdict | None, *, seeds: bool) -> None:
    """Whether these seeds bear out the lesson's claim, and the fix when they do not; for
    another setting, which value did best."""
    if verdict is None:
        return
    if verdict.alike:
        st.success(verdict.text, icon=":material/balance:")
    elif not seeds:
        st.info(verdict.text, icon=":material/compare:")
    elif not verdict.scale_pixels:
        st.warning(verdict.text, icon=":material/warning:")
    else:
        with st.container(border=True):
            st.warning(verdict.text, icon=":material/warning:")
            st.button("Scale pixels to 0–1 and retrain", on_click=set_param,
                      args=("scale_pixels", True), key="cmp_fix_scale_pixels", type="primary")


def _epoch_slider(good: dict[int, TrainResult], field: str) -> int | None:
    """One epoch for every network (the last by default); None if one has no history, or
    they count different steps (lbfgs beside sgd)."""
    histories = [r.history for r in good.values()]
    if not histories or any(h is None for h in histories):
        return None
    if len({h.step_name for h in histories}) > 1:
        return None
    epochs = sorted(set().union(*(h.epochs for h in histories)))
    if len(epochs) < 2:
        return None
    if kept.value(keys.REPLAY_ALL_SEEDS, None) not in epochs:  # other networks: their end
        kept.put(keys.REPLAY_ALL_SEEDS, epochs[-1])
    step = histories[0].step_name
    every = "all seeds" if field == SEED else "all networks"
    return st.select_slider(
        f"{step.capitalize()} ({every})", options=epochs,
        value=st.session_state[keys.REPLAY_ALL_SEEDS], **kept.widget(keys.REPLAY_ALL_SEEDS),
        help=f"Replay every network's training: each grid as it was at this {step}; one "
             "that stopped earlier shows its end. Units stay lined up as at the end.")


def _seed_images(result: TrainResult, epoch: int | None) -> tuple[np.ndarray, tuple, str]:
    """The network's weight images and dead units at ``epoch`` (its end when past it), and
    when."""
    history = result.history
    if epoch is None or epoch >= history.epochs[-1]:
        return hidden_weight_images(result.model), result.dead_units, ""
    return history.weight_images(epoch), history.dead_at(epoch), f" at {history.step_name} {epoch}"


def _seed_card(title, result, alignment, is_reference, options, style, shared) -> None:
    """One network: its units lined up with the reference's (those with no counterpart there
    after, under their own caption), its accuracy and how alike it is."""
    st.markdown(f"**{title}**" + (" · reference" if is_reference else ""))
    if isinstance(result, str):
        st.error(text.plain(result), icon=":material/error:")
        return
    images, dead_units, when = _seed_images(result, options["epoch"])
    corr = dict(zip(alignment.order, alignment.correlations, strict=False))  # matched units
    lined_up = options["align"]
    order = alignment.order[:alignment.matched] if lined_up else range(len(images))
    fig = _grid(images, order, corr, dead_units, options["flip"], style, shared)
    st.image(figure_png(fig), caption=f"{title}{when}: units "
             + ("lined up with the reference" if lined_up else "in their own order"))
    missing = options["reference_units"] - alignment.matched
    if lined_up and missing:
        st.caption(f"Lined up with {alignment.matched} of the reference's "
                   f"{options['reference_units']} units; its other {missing} have no "
                   "counterpart here.")
    if lined_up and alignment.unmatched:
        rest = alignment.unmatched
        st.caption(f"{len(rest)} unit{'s' if len(rest) != 1 else ''} with no counterpart in the "
                   f"reference ({options['reference']}):")
        fig = _grid(images, rest, {}, dead_units, False, style, shared)
        st.image(figure_png(fig), caption=f"{title}{when}: units with no counterpart")
    tested = ("" if result.test_accuracy is None else
              f" · test accuracy **{result.test_accuracy:.1%}**")
    st.caption(
        f"training accuracy **{result.train_accuracy:.1%}**{tested} · {result.n_iter} "
        f"{epoch_word(result)} · {len(result.dead_units)} {result.unit_problem or 'dead'} · "
        f"similarity **{alignment.similarity:.2f}**")


def _grid(images, order, corr: dict, dead_units, flip: bool, style, shared):
    """The units ``order`` of ``images`` as a grid, each titled by its number and (when it is
    matched) its correlation with its reference unit; negatively matched ones flipped if
    ``flip``."""
    order = list(order)
    signs = np.array([-1 if flip and corr.get(u, 0) < 0 else 1 for u in order])
    shown = images[order] * signs[:, None, None]
    titles = [f"{u + 1}{' −' if s < 0 else ''}" + (f"  r={corr[u]:.2f}" if u in corr else "")
              for u, s in zip(order, signs, strict=True)]
    dead = {i for i, u in enumerate(order) if u in dead_units}
    return weight_grid_figure(shown, style=style, dead_units=dead, titles=titles, shared=shared)


def _test_spread(row, good: dict, field: str) -> None:
    """The networks' test accuracies: mean and spread (with the hold-out on)."""
    scores = [r.test_accuracy for r in good.values() if r.test_accuracy is not None]
    if not scores:
        return
    found = spread(scores)
    which = "seeds" if field == SEED else "networks"
    row.metric(f"Test accuracy across {which}", f"{found.mean:.1%}", width="content",
               delta=f"spread {found.range * 100:.1f} points "
                     f"({found.low:.1%} to {found.high:.1%}), std {found.std * 100:.1f}",
               delta_color="off",
               help="The mean of each network's accuracy on the held-out test images it never "
                    "trained on. Equally good networks differ by about the spread.")


def _shared_limit(results: dict[int, TrainResult]) -> float:
    return float(max(np.abs(r.model.coefs_[0]).max() for r in results.values()))
