"""One model kind fitted with Ray Train for the train job (``training.train_job``): the model it scores, the model it
forecasts from and, for a kind whose intervals come from its validation window (``training.validation_spread``),
the model that forecasts that window, fitted in the same Ray Train run."""

from __future__ import annotations

from typing import Any, NamedTuple, cast
from uuid import UUID

import pandas as pd

from training import registry
from training.compute import TrainCompute
from training.models.neural import Kind
from training.ray_fits import fit_boosters, load_neural, train_neural

KINDS = ("deepar", "lstm", "xgboost")


class KindFit(NamedTuple):
    """A kind fitted for the train job: the model on its training data (to score), the same trained model on the
    full history (to forecast from), the artifact location, the accelerator used and, when asked, the kind fitted on
    the validation set (``validation_spread.validation_set``), to forecast the validation window."""

    model: Any
    serving: Any
    artifact: str
    device: str
    validation: Any = None


def fit_kind(
    kind: str,
    train: pd.DataFrame,
    history: pd.DataFrame,
    freq: str,
    *,
    horizon: int,
    epochs: int,
    compute: TrainCompute,
    storage_path: str,
    tenant_id: UUID | None = None,
    earlier: pd.DataFrame | None = None,
) -> KindFit:
    """Fit ``kind`` on ``train`` with Ray Train, and on ``earlier`` too when given (xgboost only, in the same run:
    until 2026-12-08 a second Ray Train run, its workers, imports and collective started again). A neural run is
    named after the model, ``kind`` and ``tenant_id`` (``ray_fits`` makes each fit's name unique)."""
    if kind == "xgboost":
        sets = [train] if earlier is None else [train, earlier]
        fit, *more = fit_boosters(sets, freq, compute=compute, storage_path=storage_path)
        validation = None if earlier is None else more[0].forecaster(earlier)
        return KindFit(fit.forecaster(train), fit.forecaster(history), fit.checkpoint_dir, compute.xgboost_device,
                       validation)  # fmt: skip
    if kind not in KINDS:  # the job's --models refuses one before any work; a caller's is this kind's failure
        raise ValueError(f"unknown model {kind!r}; choose from {', '.join(KINDS)}")
    if earlier is not None:  # DeepAR and LSTM forecast their own quantiles (validation_spread.VALIDATED_KINDS)
        raise ValueError(f"{kind} is not fitted on a validation set")
    neural = cast(Kind, kind)
    name = f"{registry.champion_key(freq)}-{kind}" + (f"-{tenant_id}" if tenant_id else "")
    result = train_neural(
        train, freq, kind=neural, horizon=horizon, epochs=epochs, compute=compute, storage_path=storage_path, name=name
    )
    model = load_neural(result, train, freq, kind=neural, horizon=horizon)
    serving = load_neural(result, history, freq, kind=neural, horizon=horizon)
    return KindFit(model, serving, result.checkpoint_dir, result.accelerator)
