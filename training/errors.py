"""Domain errors of the forecasting package."""

from common.errors import InvalidInputError


class ForecastInputError(InvalidInputError, ValueError):
    """The history, frequency, horizon or quantiles given to a forecaster are unusable.

    The message names the offending column, series or argument so callers can show it as is. A ValueError
    too, so code that validates inputs in the usual Python way keeps catching it.
    """

    code = "unforecastable"
