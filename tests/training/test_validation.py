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
