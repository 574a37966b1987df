from datetime import date, datetime

import numpy as np
import pandas as pd
import pytest

from training.errors import ForecastInputError
from training.models.statistical import StatisticalForecaster
from training.validation import fill_gaps, validate_history


def test_missing_column_is_named(seasonal):
    with pytest.raises(ForecastInputError, match=r"missing column\(s\) \['y'\]"):
        validate_history(seasonal.drop(columns="y"), "MS")


def test_non_numeric_y_is_rejected(seasonal):
    with pytest.raises(ForecastInputError, match="column 'y' must be numeric, got dtype object"):
        validate_history(seasonal.assign(y="many"), "MS")


def test_missing_y_values_are_rejected(seasonal):
    seasonal.loc[3, "y"] = np.nan
    with pytest.raises(ForecastInputError, match="1 missing or infinite"):
        validate_history(seasonal, "MS")


def test_duplicate_rows_name_the_series_and_date(seasonal):
    doubled = pd.concat([seasonal, seasonal.iloc[[5]]])
    with pytest.raises(ForecastInputError, match=r"1 duplicate \(unique_id, ds\) row\(s\), e.g. unique_id='seasonal0'"):
        validate_history(doubled, "MS")


def test_gaps_are_rejected_and_fill_gaps_repairs_them(seasonal):
    gappy = seasonal.drop(index=[10, 11])
    with pytest.raises(ForecastInputError, match="'seasonal0' is not on a regular 'MS' grid"):
        validate_history(gappy, "MS")
    filled = validate_history(fill_gaps(gappy, "MS"), "MS")
    assert len(filled) == len(seasonal)
    assert filled.loc[10, "y"] == 0.0


def test_unknown_frequency_is_rejected(seasonal):
    with pytest.raises(ForecastInputError, match="unknown frequency 'fortnightly-ish'"):
        validate_history(seasonal, "fortnightly-ish")


@pytest.mark.parametrize("horizon", [0, -3, 2.5])
def test_horizon_must_be_a_positive_integer(seasonal, horizon):
    model = StatisticalForecaster("naive").fit(seasonal, "MS")
    with pytest.raises(ForecastInputError, match="horizon must be a positive integer"):
        model.predict(horizon)


def test_quantiles_outside_zero_one_are_rejected(seasonal):
    model = StatisticalForecaster("naive").fit(seasonal, "MS")
    with pytest.raises(ForecastInputError, match=r"strictly between 0 and 1, got \[1.5\]"):
        model.predict(3, [0.5, 1.5])


def test_series_shorter_than_a_season_is_too_short_for_seasonal_naive(seasonal):
    short = seasonal.groupby("unique_id").head(8)
    with pytest.raises(ForecastInputError, match="shorter than the 12 observations required"):
        StatisticalForecaster("seasonal_naive").fit(short, "MS")


def test_predict_before_fit_is_an_input_error():
    with pytest.raises(ForecastInputError, match="call fit"):
        StatisticalForecaster("auto_ets").predict(3)


def _daily(ds: list[str]) -> pd.DataFrame:
    return pd.DataFrame({"unique_id": "a", "ds": ds, "y": np.arange(len(ds), dtype=float)})


@pytest.mark.parametrize(
    "written", [["01/02/2024", "01/03/2024"], ["1.2.2024", "1.3.2024"], ["Feb 1 2024", "Feb 2 2024"]]
)
def test_a_date_written_other_than_iso_8601_is_refused_naming_it_not_guessed(written):
    # Before, pandas read 01/02/2024, 01/03/2024 month-first as 2 and 3 January, a regular daily series, whichever
    # the caller meant, without a word.
    refusal = rf"column 'ds' has {written[0]!r}, which is not ISO 8601 \(YYYY-MM-DD"
    with pytest.raises(ForecastInputError, match=refusal):
        validate_history(_daily(written), "D")


@pytest.mark.parametrize("dtype", ["string", "category"])
def test_a_text_column_of_pandas_own_string_or_category_type_is_held_to_iso_8601(dtype):
    # 0348432 looked for text in object columns only: these read 01/02/2024 month-first again, as plain pandas does.
    history = _daily(["01/02/2024", "01/03/2024"]).astype({"ds": dtype})
    with pytest.raises(ForecastInputError, match="which is not ISO 8601"):
        validate_history(history, "D")


def test_iso_8601_dates_and_times_are_read_as_written():
    days = validate_history(_daily(["2024-02-01", "2024-02-02T00:00", "2024-02-03 00:00:00"]), "D")
    assert days["ds"].tolist() == list(pd.date_range("2024-02-01", periods=3, freq="D"))
    hours = validate_history(_daily(["2024-02-01T09:00+01:00", "2024-02-01T10:00+01:00"]), "h")
    assert hours["ds"].tolist() == list(pd.date_range("2024-02-01 09:00", periods=2, freq="h", tz="UTC+01:00"))


def test_datetimes_given_as_objects_are_read_as_before():
    history = pd.DataFrame({"unique_id": "a", "ds": [date(2024, 2, 1), datetime(2024, 2, 2)], "y": [1.0, 2.0]})
    assert validate_history(history, "D")["ds"].tolist() == list(pd.date_range("2024-02-01", periods=2, freq="D"))
