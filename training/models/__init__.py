"""Forecasting models: statistical, intermittent-demand, gradient-boosted and neural."""
