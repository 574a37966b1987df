"""Domain errors of the forecasting package."""


class ForecastInputError(ValueError):
    """The history, frequency, horizon or quantiles given to a forecaster are unusable.

    The message names the offending column, series or argument so callers can show it as is.
    """
