"""A global DeepAR or LSTM (pytorch-forecasting's RecurrentNetwork) model behind the Forecaster interface.

One network learns from every series (normalised per series by ``GroupNormalizer``), reading
``context`` past values to predict ``horizon`` steps. DeepAR predicts a distribution: quantiles come
from Monte Carlo sample paths. RecurrentNetwork predicts points; its quantiles are the point shifted
by the empirical quantiles of its in-sample one-step errors, widened with the square root of the step.

``fit`` trains in this process on CPU; ``training.train_job`` trains the same network with Ray
Train's TorchTrainer (DDP over workers) and loads the checkpoint back with ``from_checkpoint``.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from typing import Any, Literal, Self

import numpy as np
import pandas as pd

from training.errors import ForecastInputError
from training.models.base import POINT_COLUMN, Forecaster, monotone_quantiles
from training.validation import future_dates, quantile_column, validate_history, validate_horizon

Kind = Literal["deepar", "lstm"]
KINDS: tuple[Kind, ...] = ("deepar", "lstm")


def to_indexed(history: pd.DataFrame) -> pd.DataFrame:
    """``unique_id, time_idx, y`` with an integer step index per series (validated history in)."""
    out = history[["unique_id", "y"]].copy()
    out["time_idx"] = history.groupby("unique_id", sort=False).cumcount()
    out["y"] = out["y"].astype("float32")
    return out


def build_dataset(indexed: pd.DataFrame, horizon: int, context: int) -> Any:
    """The pytorch-forecasting TimeSeriesDataSet every worker builds identically from the same frame."""
    from pytorch_forecasting import TimeSeriesDataSet
    from pytorch_forecasting.data import GroupNormalizer

    return TimeSeriesDataSet(
        indexed,
        time_idx="time_idx",
        target="y",
        group_ids=["unique_id"],
        max_encoder_length=context,
        min_encoder_length=max(2, context // 2),
        max_prediction_length=horizon,
        time_varying_unknown_reals=["y"],
        target_normalizer=GroupNormalizer(groups=["unique_id"]),
        add_relative_time_idx=False,
        allow_missing_timesteps=False,
    )


def build_network(kind: Kind, dataset: Any, hidden_size: int = 16, learning_rate: float = 0.01) -> Any:
    from pytorch_forecasting import DeepAR, RecurrentNetwork

    if kind == "deepar":
        return DeepAR.from_dataset(dataset, hidden_size=hidden_size, rnn_layers=1, learning_rate=learning_rate)
    if kind == "lstm":
        return RecurrentNetwork.from_dataset(
            dataset, cell_type="LSTM", hidden_size=hidden_size, rnn_layers=1, learning_rate=learning_rate
        )
    raise ForecastInputError(f"unknown neural model {kind!r}; choose one of {KINDS}")


def quiet_lightning() -> None:
    """Lightning and pytorch-forecasting log tips and warnings on every fit; keep job logs readable."""
    for name in ("lightning.pytorch", "lightning", "pytorch_lightning", "lightning_fabric"):
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", module="lightning")
    warnings.filterwarnings("ignore", module="pytorch_forecasting")


def prediction_trainer() -> dict[str, Any]:
    """Trainer settings for ``network.predict``, a new dict each call (pytorch-forecasting adds its callback to it).

    Its default Trainer logs to ``lightning_logs/version_N`` in the working directory: a new folder on every
    forecast request a replica served, and two concurrent requests could pick the same N (FileExistsError).
    """
    return {"logger": False, "enable_checkpointing": False}


class NeuralForecaster(Forecaster):
    """DeepAR or LSTM, one global network for all series of a panel."""

    def __init__(
        self,
        kind: Kind = "deepar",
        *,
        horizon: int = 14,
        context: int | None = None,
        epochs: int = 5,
        hidden_size: int = 16,
        batch_size: int = 64,
        learning_rate: float = 0.01,
        n_samples: int = 200,
        seed: int = 0,
        accelerator: str = "cpu",
    ) -> None:
        if kind not in KINDS:
            raise ForecastInputError(f"unknown neural model {kind!r}; choose one of {KINDS}")
        self.name = kind
        self.kind: Kind = kind
        self.horizon = validate_horizon(horizon)
        self.context = context or 4 * horizon
        self.epochs = epochs
        self.hidden_size = hidden_size
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.n_samples = n_samples
        self.seed = seed
        # Lightning's accelerator for fit ("gpu" with training.compute.TrainCompute.use_gpu).
        self.accelerator = accelerator
        self.network: Any = None
        self._history: pd.DataFrame | None = None
        self._freq = ""
        self._residual_quantiles: dict[float, float] = {}

    @property
    def min_length(self) -> int:  # type: ignore[override]
        return max(2, self.context // 2) + self.horizon

    def fit(self, df: pd.DataFrame, freq: str) -> Self:
        import lightning.pytorch as pl

        quiet_lightning()
        history = validate_history(df, freq, min_length=self.min_length)
        pl.seed_everything(self.seed, workers=True, verbose=False)
        dataset = build_dataset(to_indexed(history), self.horizon, self.context)
        network = build_network(self.kind, dataset, self.hidden_size, self.learning_rate)
        trainer = pl.Trainer(
            max_epochs=self.epochs,
            accelerator=self.accelerator,
            gradient_clip_val=0.1,
            enable_progress_bar=False,
            enable_model_summary=False,
            enable_checkpointing=False,
            logger=False,
        )
        trainer.fit(network, dataset.to_dataloader(train=True, batch_size=self.batch_size, num_workers=0))
        return self.attach(network, history, freq)

    def attach(self, network: Any, history: pd.DataFrame, freq: str) -> Self:
        """Use a trained ``network`` (e.g. from a Ray Train checkpoint) for ``history``."""
        self.network, self._history, self._freq = network, validate_history(history, freq), freq
        self._residual_quantiles = {}
        return self

    @classmethod
    def from_checkpoint(cls, path: str, kind: Kind, history: pd.DataFrame, freq: str, **kwargs: Any) -> Self:
        from pytorch_forecasting import DeepAR, RecurrentNetwork

        network = (DeepAR if kind == "deepar" else RecurrentNetwork).load_from_checkpoint(
            path, map_location="cpu", weights_only=False
        )
        model = cls(kind, **kwargs)
        return model.attach(network, history, freq)

    def _forecast(self, horizon: int, levels: list[float], future: pd.DataFrame | None) -> pd.DataFrame:
        self._fitted(self.network)
        history = self._fitted(self._history)
        if horizon > self.horizon:
            raise ForecastInputError(f"{self.name} was trained for {self.horizon} steps, {horizon} requested")
        quiet_lightning()
        loader = self._prediction_loader()
        out = future_dates(history, horizon, self._freq)
        n_series = history["unique_id"].nunique()
        if self.kind == "deepar":
            samples = self.network.predict(
                loader, mode="samples", n_samples=self.n_samples, trainer_kwargs=prediction_trainer()
            ).numpy()
            samples = samples[:, :horizon, :]
            out[POINT_COLUMN] = samples.mean(axis=2).ravel()
            for q in levels:
                out[quantile_column(q)] = np.quantile(samples, q, axis=2).ravel()
        else:
            point = self.network.predict(loader, mode="prediction", trainer_kwargs=prediction_trainer()).numpy()
            point = point[:, :horizon]
            out[POINT_COLUMN] = point.ravel()
            if levels:
                offsets = self._error_quantiles(levels)
                widen = np.sqrt(np.arange(1, horizon + 1))[None, :]
                for q in levels:
                    out[quantile_column(q)] = (point + offsets[q] * widen).ravel()
        assert len(out) == n_series * horizon
        # A series that never went negative (demand) is not forecast negative, as by the other forecasters: the
        # network's normalised output and DeepAR's sample paths reach below zero on slow movers.
        non_negative = history.groupby("unique_id")["y"].min() >= 0
        rows = out["unique_id"].map(non_negative).fillna(False).to_numpy(dtype=bool)
        values = [POINT_COLUMN, *(quantile_column(q) for q in levels)]
        out.loc[rows, values] = out.loc[rows, values].clip(lower=0.0)
        return monotone_quantiles(out, levels)

    def _prediction_loader(self) -> Any:
        """The last ``context`` values of each series, then ``horizon`` placeholder steps to decode."""
        from pytorch_forecasting import TimeSeriesDataSet

        assert self._history is not None
        indexed = to_indexed(self._history)
        last = indexed.groupby("unique_id", sort=True).tail(1)
        future = pd.concat(
            [last.assign(time_idx=last["time_idx"] + step) for step in range(1, self.horizon + 1)], ignore_index=True
        )
        frame = pd.concat([indexed, future], ignore_index=True).sort_values(["unique_id", "time_idx"])
        dataset = TimeSeriesDataSet.from_parameters(
            self.network.dataset_parameters, frame, predict=True, stop_randomization=True
        )
        return dataset.to_dataloader(train=False, batch_size=self.batch_size, num_workers=0)

    def _error_quantiles(self, levels: Sequence[float]) -> dict[float, float]:
        """Quantiles of one-step errors on the last in-sample windows (LSTM intervals)."""
        missing = [q for q in levels if q not in self._residual_quantiles]
        if missing:
            assert self._history is not None
            from pytorch_forecasting import TimeSeriesDataSet

            indexed = to_indexed(self._history)
            dataset = TimeSeriesDataSet.from_parameters(
                self.network.dataset_parameters, indexed, predict=False, stop_randomization=True
            )
            loader = dataset.to_dataloader(train=False, batch_size=self.batch_size, num_workers=0)
            result = self.network.predict(loader, mode="prediction", return_y=True, trainer_kwargs=prediction_trainer())
            errors = (result.y[0][:, 0] - result.output[:, 0]).numpy()
            for q in missing:
                self._residual_quantiles[q] = float(np.quantile(errors, q)) if len(errors) else 0.0
        return {q: self._residual_quantiles[q] for q in levels}
