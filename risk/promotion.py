"""A retrained disruption model against the champion, on the same lines, out of sample for both.

Each run's own Brier score comes from its own decision windows, another period than the champion's: late-rate
levels move several-fold between years, so comparing the two figures compares periods, not models (until
2026-12-07 a candidate trained on fresher data lost to an older champion whose period had been easier). Each run
stores the day its outcomes were settled as of (``metrics["as_of"]``). The lines promised on or after the
champion's as-of day, and settled as of the candidate's, taught neither: the champion scores them, and so does the
candidate's procedure rerun, in the candidate's own training run, on what was settled as of the champion's day,
each line on the calendar the champion settled it on (its warehouse's date at the champion's run): the scorer
chosen on decision windows cut from those lines and refitted on them (the same information: a fitted-on-more
candidate would win by its data alone, an older trial by luck). Until 2026-12-07 (late evening) that scorer was the
candidate's own, chosen on windows holding the compared lines (it had seen their outcomes), and the cut was the UTC
day (a warehouse west of UTC showed it the lines due the evening before, not yet late for the champion). Until
2026-12-07 (evening) only the candidate's window lines ordered after the champion's data ended were compared, with
the window trials' figures (models older than the champion): a week's retrain had a handful of them, too few to
decide. A champion stored without its as-of day is still judged so.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd

from risk.judging import RivalRows, WindowRows
from risk.model import DisruptionModel
from risk.scorer_choice import MIN_DECISION_LATE
from training.registry import RunRecord

Verdict = tuple[bool, str, float | None, float | None]  # promoted, why, the candidate's and champion's Brier


def same_rows_verdict(
    windows: WindowRows, training_end: datetime | None, champion: RunRecord, held: DisruptionModel
) -> Verdict | None:
    """Whether the candidate (its window lines ``windows``, its data ending ``training_end``) replaces ``champion``
    (``held``, its stored model): it does unless the champion scores a lower Brier on the lines promised since its
    as-of day than the candidate's refitted scorer (``windows.rival``; a champion without its as-of day: than the
    window trials, on the window lines ordered after its data ended), with at least ``MIN_DECISION_LATE`` late lines
    among them; with fewer, the fresher candidate (its scorer chosen over the baseline) serves. None where the
    candidate's data is no fresher, or either end is unknown: no line is new to the champion, and the registry
    compares the runs' own figures, measured on the same period."""
    if training_end is None or champion.training_end is None or training_end <= champion.training_end:
        return None
    rival = windows.rival
    if rival is not None and champion.metrics.get("as_of") == rival.as_of.date().isoformat():
        return _on_champion_information(rival, champion, held)
    ended = pd.Timestamp(champion.training_end).tz_convert(None)
    new = (windows.order_date > ended).to_numpy()
    lines, late = int(new.sum()), int(windows.late[new].sum())
    since = f"ordered after champion v{champion.version}'s data ended ({ended:%Y-%m-%d})"
    if not lines:
        why = f"no line {since} is settled in the candidate's decision windows, so the fresher candidate serves"
        return True, why, None, None
    ours, theirs = (
        _brier(windows.served[new], windows.late[new]),
        _brier(held.predict(windows.features[new]), windows.late[new]),
    )
    figures = (
        f"Brier {ours:.4f} vs champion v{champion.version}'s {theirs:.4f} on the same {lines} lines ({late} late) "
        f"{since}, out of sample for both"
    )
    few = f"at least {MIN_DECISION_LATE} late lines are needed to show that the champion is better"
    return _decided(figures, few, late, ours, theirs)


def _on_champion_information(rival: RivalRows, champion: RunRecord, held: DisruptionModel) -> Verdict:
    lines, late = len(rival.late), int(rival.late.sum())
    since = f"promised since champion v{champion.version}'s as-of day {rival.as_of:%Y-%m-%d}"
    if not lines:
        return True, f"no line {since} is settled yet, so the fresher candidate serves", None, None
    ours, theirs = _brier(rival.trial, rival.late), _brier(held.predict(rival.features), rival.late)
    figures = (
        f"Brier {ours:.4f} (the candidate's scorer chosen and fitted on what was settled on that day) vs champion "
        f"v{champion.version}'s {theirs:.4f} on the same {lines} lines ({late} late) {since}, out of sample for both"
    )
    few = f"too few late lines to compare (at least {MIN_DECISION_LATE} are needed)"
    return _decided(figures, few, late, ours, theirs)


def _brier(probabilities: np.ndarray, late: np.ndarray) -> float:
    return round(float(np.mean((probabilities - late) ** 2)), 4)


def _decided(figures: str, few: str, late: int, ours: float, theirs: float) -> Verdict:
    """The champion keeps serving only with a lower Brier on at least ``MIN_DECISION_LATE`` late lines."""
    if late < MIN_DECISION_LATE:
        return True, f"{figures}: {few}, so the fresher candidate serves", ours, theirs
    if theirs < ours:
        return False, f"{figures}: the champion is better and keeps serving", ours, theirs
    return True, f"{figures}: the champion is not better, so the fresher candidate serves", ours, theirs
