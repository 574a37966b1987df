import pytest

from training.errors import ForecastInputError
from training.frequency import default_horizon, season_length, seasonalities


@pytest.mark.parametrize(
    ("freq", "expected"),
    [
        ("15min", 96),
        ("h", 24),
        ("2h", 12),
        ("D", 7),
        ("B", 5),
        ("W", 52),
        ("W-MON", 52),
        ("MS", 12),
        ("ME", 12),
        ("QS", 4),
        ("BQS", 4),
        ("BQE", 4),
        ("BYS", 1),
        ("BYE", 1),
        ("YS", 1),
        ("YE", 1),
    ],
)
def test_season_length_follows_the_calendar(freq, expected):
    assert season_length(freq) == expected


def test_hourly_data_has_daily_and_weekly_cycles():
    assert seasonalities("h") == [24, 168]


def test_default_horizon_matches_m4_for_weekly_and_hourly():
    assert (default_horizon("W"), default_horizon("h")) == (13, 48)


def test_nonsense_frequency_raises_input_error():
    with pytest.raises(ForecastInputError, match="unknown frequency"):
        season_length("every so often")


@pytest.mark.parametrize("freq", ["ns", "500ms"])
def test_a_frequency_stepping_below_a_second_raises_input_error(freq):
    # Before, 'ns' divided by zero (a step of 0 whole seconds): a ZeroDivisionError traceback from the CLI.
    with pytest.raises(ForecastInputError, match="at least one second"):
        seasonalities(freq)
