"""TrainParams: the lesson's defaults, validation a person can act on, and the URL round trip."""

import math

import pytest

from core.params import FIELDS, InvalidParams, TrainParams


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
