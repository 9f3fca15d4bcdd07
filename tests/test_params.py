"""TrainParams: the lesson's defaults, validation a person can act on, and the URL round trip."""

import ast
import math
from dataclasses import dataclass

import pytest
from sklearn.neural_network import MLPClassifier

from core.export import estimator_call
from core.params import (
    ADVANCED,
    FIELDS,
    MAIN,
    SWEEPS,
    Choice,
    DigitList,
    InvalidParams,
    Number,
    ParamTable,
    Sweep,
    TrainParams,
    Whole,
    YesNo,
    param,
)


def test_defaults_are_the_lessons_settings():
    """TrainParams() is MLPClassifier(hidden_layer_sizes=(6,), max_iter=200, alpha=1e-4, sgd, 2)."""
    p = TrainParams()
    assert p.digits == (0, 1, 2, 3)
    assert (p.hidden_units, p.alpha, p.random_state) == (6, 1e-4, 2)
    assert (p.solver, p.max_iter, p.learning_rate_init) == ("sgd", 200, 0.001)
    assert p.scale_pixels is False


def test_digits_are_normalised_to_a_sorted_tuple_of_ints():
    assert TrainParams(digits=[3, 1, 1, 7.0]).digits == (1, 3, 7)


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"digits": ()}, "at least two digits"),
        ({"digits": (4,)}, "you picked only 4"),
        ({"digits": (0, 12)}, "from 0 to 9"),
        ({"hidden_units": 0}, "Hidden units must be a whole number from 1 to 36"),
        ({"hidden_units": 2.5}, "Hidden units"),
        ({"alpha": math.nan}, "alpha"),
        ({"alpha": -1.0}, "alpha"),
        ({"random_state": -1}, "random_state"),
        ({"solver": "newton"}, "one of sgd, adam, lbfgs"),
        ({"max_iter": 0}, "max_iter"),
        ({"learning_rate_init": 0.0}, "learning_rate_init"),
        ({"scale_pixels": "yes"}, "true or false"),
    ],
)
def test_invalid_values_are_refused_with_a_message_naming_the_problem(changes, says):
    with pytest.raises(InvalidParams) as caught:
        TrainParams(**changes)
    assert says in " ".join(caught.value.messages)


def test_every_problem_is_reported_at_once():
    with pytest.raises(InvalidParams) as caught:
        TrainParams(digits=(), hidden_units=0, alpha=math.inf)
    assert len(caught.value.messages) == 3


def test_the_field_table_describes_every_field():
    assert set(FIELDS) == set(TrainParams.__dataclass_fields__)


@pytest.mark.parametrize(
    "params",
    [TrainParams(), TrainParams(digits=(3, 8), hidden_units=17, alpha=0.0, random_state=2**32 - 1,
                                solver="adam", max_iter=37, learning_rate_init=0.0123,
                                scale_pixels=True)],
)
def test_url_round_trip_is_the_identity(params):
    """params -> URL query -> params gives the same parameters, with no notice."""
    assert TrainParams.from_query(params.to_query()) == (params, [])


def test_a_missing_or_unknown_url_key_gives_the_default_silently():
    assert TrainParams.from_query({"page": "lesson", "hidden_units": "9"}) == (
        TrainParams(hidden_units=9), [])


def test_nonsense_in_a_url_falls_back_with_a_notice_per_field():
    """Malformed values take the default; out-of-range numbers the nearest valid value."""
    params, notices = TrainParams.from_query({
        "digits": "1,x", "hidden_units": "99", "alpha": "nan", "random_state": "-3",
        "solver": "rm -rf /", "max_iter": "2.6", "scale_pixels": "maybe",
    })
    assert params == TrainParams(hidden_units=36, random_state=0, max_iter=3)
    assert len(notices) == 7
    assert all(notice.startswith("The link's ") for notice in notices)


# The kind-driven table: a made-up table with one field of each kind.

@dataclass(frozen=True)
class Toy(ParamTable):
    """A TrainParams-like table: every behaviour below comes from the kinds alone."""

    count: int = param(3, Whole("count", "How many.", 0, 10, zero="auto", arg="n"))
    rate: float = param(0.5, Number("rate", "How fast.", 0.0, 1.0, (0.1, 0.5), arg="rate"))
    shape: str = param("round", Choice("shape", "Which.", ("round", "square"), arg="shape"))
    flag: bool = param(False, YesNo("flag", "Whether.", arg="flag"))
    picks: tuple[int, ...] = param((1, 2), DigitList("picks", "Which digits.", arg="picks"))
    local: bool = param(True, YesNo("local", "Not an estimator argument."))


TOY_OTHER = Toy(count=0, rate=0.123456789, shape="square", flag=True, picks=(9, 0, 4),
                local=False)


@pytest.mark.parametrize("toy", [Toy(), TOY_OTHER, Toy(count=10, rate=0.0, picks=(0, 9))])
def test_a_made_up_table_round_trips_through_a_link(toy):
    assert Toy.from_query(toy.to_query()) == (toy, [])


def test_a_made_up_table_is_written_to_a_link_by_kind():
    assert TOY_OTHER.to_query() == {"count": "auto", "rate": "0.123456789", "shape": "square",
                                    "flag": "true", "picks": "0,4,9", "local": "false"}


@pytest.mark.parametrize(
    ("changes", "says"),
    [({"count": 11}, "count must be a whole number from 1 to 10, or auto (got 11)"),
     ({"count": 1.5}, "count must be a whole number"),
     ({"rate": 2.0}, "rate must be a number from 0 to 1 (got 2.0)"),
     ({"rate": True}, "rate must be a number"),
     ({"shape": "oval"}, "shape must be one of round, square (got 'oval')"),
     ({"flag": 1}, "flag must be true or false (got 1)"),
     ({"picks": (3,)}, "you picked only 3"),
     ({"picks": (3, 10)}, "picks must be from 0 to 9 (got 10)")],
)
def test_a_made_up_table_is_validated_by_kind(changes, says):
    with pytest.raises(InvalidParams) as caught:
        Toy(**changes)
    assert caught.value.messages == [next(m for m in caught.value.messages if says in m)]


def test_a_made_up_table_clamps_numbers_from_a_link_and_defaults_the_rest():
    params, notices = Toy.from_query({"count": "12.4", "rate": "-3", "shape": "oval",
                                      "flag": "maybe", "picks": "5", "local": "nan"})
    assert params == Toy(count=10, rate=0.0)
    assert len(notices) == 6
    assert "using 10 instead" in notices[0] and "using 0.0 instead" in notices[1]
    assert Toy.from_query({"count": "AUTO"}) == (Toy(count=0), [])


@pytest.mark.parametrize(
    ("name", "typed", "values", "unread"),
    [("count", "3, auto; 1e1,, 2.5, x", (3, 0, 10), ((4, "2.5"), (5, "x"))),
     ("rate", "0.5, -1; 1e-3, x", (0.5, -1, 0.001), ((4, "x"),)),
     ("shape", "round; oval", ("round", "oval"), ()),
     ("flag", "yes, NO; on, 0, true, maybe", (True, False, True, False, True), ((6, "maybe"),)),
     ("picks", "0, 9; 3.0, x", (0, 9, 3), ((4, "x"),))],
)
def test_a_typed_list_is_read_by_its_kind(name, typed, values, unread):
    """Items split at commas or semicolons, blanks skipped, each read by the kind; an item
    that is none is named by its place. Range is the check's: -1 and 'oval' are read."""
    listed = Toy.table()[name].read_list(typed)
    assert (listed.values, listed.unread) == (values, unread)
    assert [type(v) for v in listed.values] == [type(v) for v in values]  # -1 stays -1


def test_a_typed_value_the_kind_cannot_read_says_what_it_should_be():
    table = Toy.table()
    assert (table["count"].what, table["rate"].what, table["flag"].what) == (
        "a whole number or auto", "a number", "yes or no")
    for name, typed in (("count", "2.5"), ("count", "nan"), ("rate", "x"), ("flag", "maybe")):
        with pytest.raises(ValueError):
            table[name].read(typed)


def test_a_made_up_table_gives_its_estimator_arguments_and_their_code():
    """Fields with an ``arg`` become keyword arguments (0 as its word), written as exact Python."""
    arguments = TOY_OTHER.estimator_arguments()
    assert arguments == {"n": "auto", "rate": 0.123456789, "shape": "square", "flag": True,
                         "picks": (0, 4, 9)}
    call = ast.parse(estimator_call(arguments, name="Toy")).body[0].value
    assert call.func.id == "Toy"
    assert {kw.arg: ast.literal_eval(kw.value) for kw in call.keywords} == arguments


def test_the_sweeps_are_fields_listed_with_their_defaults_and_names():
    """What a sweep lists, and the names users know it by on the page and the command line."""
    assert [(s.name, s.option, s.column) for s in SWEEPS.values()] == [
        ("hidden_units", "hidden-units", "hidden units"), ("alpha", "alpha", "alpha"),
        ("random_state", "seeds", "seed"), ("scale_pixels", "scale-pixels", "pixels"),
        ("solver", "solver", "solver")]
    assert [s.text(v) for s in SWEEPS.values() for v in s.values] == [
        "3", "6", "12", "0.0001", "0.01", "1", "2", "3", "raw 0–255", "scaled to 0–1", "sgd"]


@pytest.mark.parametrize(("name", "values"), [
    ("digits", ((0, 1),)),  # a list of lists has no widget nor option
    ("alpha", (0.5,)),  # the page offers alpha's steps only
    ("random_state", (-1,)),  # out of range
    ("solver", ()),
])
def test_a_sweep_the_page_or_the_command_could_not_list_is_refused(name, values):
    with pytest.raises(ValueError):
        Sweep(name, values)


def test_every_kind_has_a_sidebar_widget_and_every_field_a_section():
    sidebar = pytest.importorskip("ui.sidebar")
    kinds = {type(kind) for kind in (*Toy.table().values(), *FIELDS.values())}
    assert kinds <= set(sidebar._WIDGETS)
    assert {kind.section for kind in FIELDS.values()} == {MAIN, ADVANCED}


def test_a_huge_value_is_echoed_cut_short():
    """A 100 KB value in a link (or given directly) is quoted in at most about 40 characters."""
    huge = "9" * 100_000
    _, notices = TrainParams.from_query({name: huge for name in FIELDS})
    assert len(notices) == len(FIELDS)
    assert all(len(notice) < 400 for notice in notices), max(map(len, notices))
    with pytest.raises(InvalidParams) as caught:
        TrainParams(solver=huge, digits=(huge,), alpha=huge, scale_pixels=huge, hidden_units=huge)
    assert all(len(message) < 200 for message in caught.value.messages)


# The settings a learner reaches for after the lesson's.

NEW_SETTINGS = TrainParams(activation="tanh", batch_size=64, momentum=0.5,
                           learning_rate="adaptive", early_stopping=True,
                           validation_fraction=0.2)


def test_the_new_settings_default_to_scikit_learns_defaults():
    """So the lesson's network is unchanged: every row beyond the lesson's is sklearn's default."""
    defaults = MLPClassifier().get_params()
    for name in ("activation", "batch_size", "momentum", "learning_rate", "early_stopping",
                 "validation_fraction"):
        kind = FIELDS[name]
        assert kind.section == ADVANCED
        assert kind.argument(getattr(TrainParams(), name)) == defaults[kind.arg], name
    assert TrainParams().estimator_arguments()["batch_size"] == "auto"


def test_the_new_settings_round_trip_through_a_link():
    query = NEW_SETTINGS.to_query()
    assert {key: query[key] for key in ("activation", "batch_size", "momentum", "learning_rate",
                                        "early_stopping", "validation_fraction")} == {
        "activation": "tanh", "batch_size": "64", "momentum": "0.5",
        "learning_rate": "adaptive", "early_stopping": "true", "validation_fraction": "0.2"}
    assert TrainParams.from_query(query) == (NEW_SETTINGS, [])


def test_an_older_link_without_the_new_keys_still_works():
    old = {"digits": "1,7", "hidden_units": "9", "alpha": "0.001", "random_state": "4",
           "solver": "adam", "max_iter": "50", "learning_rate_init": "0.01",
           "scale_pixels": "true"}
    params, notices = TrainParams.from_query(old)
    assert notices == []
    assert params == TrainParams(digits=(1, 7), hidden_units=9, alpha=0.001, random_state=4,
                                 solver="adam", max_iter=50, learning_rate_init=0.01,
                                 scale_pixels=True)


@pytest.mark.parametrize(
    ("changes", "says"),
    [({"activation": "softmax"}, "one of relu, tanh, logistic, identity"),
     ({"batch_size": -1}, "batch_size must be a whole number from 1 to 5,000, or auto"),
     ({"momentum": 1.5}, "momentum must be a number from 0 to 1"),
     ({"learning_rate": "optimal"}, "one of constant, invscaling, adaptive"),
     ({"early_stopping": "no"}, "true or false"),
     ({"validation_fraction": 0.0}, "validation_fraction must be a number from 0.05 to 0.5")],
)
def test_the_new_settings_are_validated(changes, says):
    with pytest.raises(InvalidParams) as caught:
        TrainParams(**changes)
    assert says in " ".join(caught.value.messages)


def test_a_setting_another_solver_ignores_says_so():
    adam = TrainParams(solver="adam")
    assert adam.unused("momentum") == "Used only when Solver is sgd; now it is adam."
    assert adam.unused("learning_rate").startswith("Used only when Solver is sgd")
    assert adam.unused("batch_size") is None and TrainParams().unused("momentum") is None
    assert TrainParams(solver="lbfgs").unused("early_stopping").endswith("now it is lbfgs.")
    assert TrainParams().unused("validation_fraction").startswith(
        "Used only when early_stopping is true")
    assert TrainParams(early_stopping=True).unused("validation_fraction") is None


def test_holdout_is_off_by_default_and_round_trips_through_the_url():
    """The lesson trains on every image; a link with holdout=true turns the hold-out on."""
    assert TrainParams().holdout is False
    assert TrainParams().to_query()["holdout"] == "false"
    params, notices = TrainParams.from_query({"holdout": "true", "scale_pixels": "1"})
    assert params.holdout is True and params.scale_pixels is True and not notices
    assert TrainParams.from_query(params.to_query())[0] == params
    assert FIELDS["holdout"].label == "Hold out MNIST's test digits"
    fixed, notices = TrainParams.from_query({"holdout": "maybe"})
    assert fixed.holdout is False and "Hold out MNIST's test digits" in notices[0]
