"""Forecast a panel on Ray: series partitioned over tasks, results streamed back as they finish.

Shared by the nightly batch job (``training.batch_forecast``) and ``chainsight forecast``; each task
runs ``training.planning.forecast_panel`` (the service's selection) on its share of the series. The
selection's panel-level rules (the global model, the choice of pool) count the series of the panel they
are given, so no chunk is smaller than those rules need (``panel_chunks``); a large panel is cut into no
more than twice the cluster's CPUs, so each chunk keeps as much of the panel's evidence as the CPUs allow.
Series are assigned to chunks by a stable hash of their id, so a rerun on the same cluster partitions them
the same way.
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import pandas as pd
import ray

from training.planning import Profile, auto_forecaster, forecast_panel

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ChunkResult:
    index: int
    forecast: pd.DataFrame
    selection: pd.DataFrame
    series: int


def partition(history: pd.DataFrame, chunks: int) -> list[pd.DataFrame]:
    """Split a long frame into at most ``chunks`` frames of whole series, their series counts at most one apart.

    Series are ordered by a stable hash of the id and cut into consecutive runs: the same series partition the
    same way whatever the order of the rows.
    """
    ids = sorted(history["unique_id"].astype(str).unique(), key=lambda uid: (zlib.crc32(uid.encode()), uid))
    count = max(1, min(chunks, len(ids)))
    bucket = {uid: rank * count // len(ids) for rank, uid in enumerate(ids)}
    keys = history["unique_id"].astype(str).map(bucket)
    return [part for _, part in history.groupby(keys, sort=True)]


def panel_chunks(history: pd.DataFrame, freq: str, horizon: int, profile: Profile, most: int | None = None) -> int:
    """How many tasks forecast ``history``: as many as leave each the series the selection's panel rules need.

    Each task's selection sees its chunk as the panel: the global model joins only where the chunk has
    ``global_min_series`` long series, a pool other than the default is chosen only where it has
    ``min_series_for_pool``. So a panel under twice the larger of the two is one task, the whole panel's
    evidence. ``most`` (if given) lowers the count, never below one.
    """
    selector = auto_forecaster(freq, horizon, profile)
    needed = max(1, selector.min_series_for_pool, selector.global_min_series)
    count = max(1, int(history["unique_id"].nunique()) // needed)
    return count if most is None else max(1, min(most, count))


def _share(future: pd.DataFrame | None, part: pd.DataFrame) -> pd.DataFrame | None:
    """The rows of ``future`` that belong to the series of ``part``."""
    if future is None:
        return None
    return future[future["unique_id"].astype(str).isin(part["unique_id"].astype(str).unique())]


def _forecast_chunk(
    index: int,
    chunk: pd.DataFrame,
    freq: str,
    horizon: int,
    quantiles: Sequence[float],
    profile: Profile,
    future: pd.DataFrame | None = None,
) -> ChunkResult:
    outcome = forecast_panel(chunk, freq, horizon, quantiles, profile, future=future)
    return ChunkResult(index, outcome.forecast, outcome.selection, int(chunk["unique_id"].nunique()))


def forecast_on_ray(
    history: pd.DataFrame,
    freq: str,
    horizon: int,
    quantiles: Sequence[float],
    *,
    profile: Profile = "full",
    chunks: int | None = None,
    on_progress: Callable[[int, int, int, int], None] | None = None,
    future: pd.DataFrame | None = None,
) -> Iterator[ChunkResult]:
    """Yield each chunk's forecasts as soon as its task finishes (Ray must be initialised).

    Covariate columns of ``history`` travel with their series; ``future`` (their values over the
    horizon) is split the same way.

    The series are cut into ``panel_chunks`` chunks, at most ``chunks`` (default: twice the cluster's CPUs, so
    that stragglers leave no CPU idle): a chunk split off below what the panel rules need would forecast its
    series without the global model or the pool the whole panel earns them, and one split off beyond what the
    CPUs run at once would only thin each chunk's evidence.
    ``on_progress(done_chunks, total_chunks, done_series, total_series)`` follows every chunk.
    """
    most = chunks if chunks is not None else max(1, 2 * int(ray.cluster_resources().get("CPU", 1)))
    parts = partition(history, panel_chunks(history, freq, horizon, profile, most))
    total_series = int(history["unique_id"].nunique())
    task = ray.remote(num_cpus=1, max_retries=2)(_forecast_chunk)
    pending = {
        task.remote(i, part, freq, horizon, list(quantiles), profile, _share(future, part)): i
        for i, part in enumerate(parts)
    }
    done_chunks = done_series = 0
    while pending:
        ready, _ = ray.wait(list(pending), num_returns=1)
        for ref in ready:
            pending.pop(ref)
            result: ChunkResult = ray.get(ref)
            done_chunks += 1
            done_series += result.series
            if on_progress is not None:
                on_progress(done_chunks, len(parts), done_series, total_series)
            yield result
