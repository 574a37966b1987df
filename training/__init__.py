"""Demand forecasting: a model zoo behind one interface over long frames ``unique_id, ds, y``."""

from training.errors import ForecastInputError
from training.models.base import Forecaster

__all__ = ["ForecastInputError", "Forecaster"]
