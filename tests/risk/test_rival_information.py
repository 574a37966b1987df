"""The candidate's rival for the champion (``risk.pipeline.train_judged``'s ``RivalRows``) knows what the champion
knew and nothing more: its scorer chosen and fitted on the lines settled as of the champion's day, each line on the
calendar the champion settled it on (its receiving warehouse's date at the champion's run)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from risk.early_warning import TRAINING_HISTORY_DAYS, champion_instant, tenant_identities, train_tenant
from risk.pipeline import RIVAL_DOCK_TODAY, fit_in_process, train_disruption_model, train_judged
from risk.repository import StoredModel
from risk.synthetic import generate_history
from tests.risk.conftest import TODAY

CUT = pd.Timestamp(date(2023, 1, 1) + timedelta(days=400))  # the champion's as-of day
DAY = CUT + pd.Timedelta(days=30)  # the candidate's
# A history on which the candidate's decision windows, which hold the compared lines, choose the booster, while
# those of a run on the champion's day choose the supplier-late-rate baseline.
KNOWN = (lambda h: h[h["order_date"] < DAY].reset_index(drop=True))(
    generate_history(lines=3000, suppliers=20, days=500, seed=1)
)


def test_the_rivals_scorer_is_chosen_on_what_was_settled_on_the_champions_day_not_on_the_compared_lines():
    on_champions_day = train_disruption_model(KNOWN, as_of=CUT)
    candidate, windows = train_judged(KNOWN, as_of=DAY, rival_as_of=CUT)
    assert candidate.scorer != on_champions_day.scorer  # the compared lines' outcomes flip the choice
    rival = windows.rival
    assert rival is not None and len(rival.late)
    # The rival is what a training run on the champion's day would have served, scorer choice included.
    assert np.allclose(rival.trial, on_champions_day.predict(rival.features))


def test_the_rival_learns_from_the_champions_window_when_the_candidates_starts_later():
    days = 300  # each model learns from the lines ordered in the 300 days before its own as-of day
    fitted: list = []

    def recording(sets):
        fitted.append(list(sets))
        return fit_in_process(sets)

    train_judged(KNOWN, as_of=CUT, history_days=days, fitter=recording)
    train_judged(KNOWN[KNOWN["order_date"] >= DAY - pd.Timedelta(days=days)], as_of=DAY, fitter=recording)
    (*_, champion_final), alone = fitted
    train_judged(KNOWN, as_of=DAY, rival_as_of=CUT, history_days=days, fitter=recording)
    rival_final = fitted[-1][-1]
    # The champion's oldest 30 days of lines and the supplier figures over them, the candidate's own fits unchanged.
    pd.testing.assert_frame_equal(rival_final[0], champion_final[0])
    assert np.array_equal(rival_final[1], champion_final[1])
    for (features, labels), (own_features, own_labels) in zip(alone, fitted[-1][: len(alone)], strict=True):
        pd.testing.assert_frame_equal(features, own_features)
        assert np.array_equal(labels, own_labels)


def dock_day(instant: datetime, zone: str) -> pd.Timestamp:
    return pd.Timestamp(instant.astimezone(ZoneInfo(zone)).date())


def test_a_los_angeles_line_due_the_day_before_the_champions_utc_day_is_not_known_to_the_rival():
    # The nightly run at 02:30 UTC: still the evening before in Los Angeles, where a line due that evening was
    # not late yet when the champion was trained. Even suppliers' lines come in there, odd ones are imported.
    champion_at = datetime.combine(CUT.date(), datetime.min.time(), UTC) + timedelta(hours=2, minutes=30)
    candidate_at = champion_at + timedelta(days=30)
    in_los_angeles = KNOWN["supplier_id"].str.split("-").str[1].astype(int) % 2 == 0
    docks = {
        at: pd.Series(dock_day(at, "America/Los_Angeles"), index=KNOWN.index).where(in_los_angeles)
        for at in (champion_at, candidate_at)
    }
    assert (docks[champion_at].dropna() == CUT - pd.Timedelta(days=1)).all()
    due_that_evening = in_los_angeles & (KNOWN["promised_date"] == CUT - pd.Timedelta(days=1))
    assert due_that_evening.any()
    fitted: list = []

    def recording(sets):
        fitted.append(list(sets))
        return fit_in_process(sets)

    train_judged(KNOWN.assign(dock_today=docks[champion_at]), as_of=CUT, fitter=recording)
    champion_sets = fitted[-1]
    candidate = KNOWN.assign(dock_today=docks[candidate_at], **{RIVAL_DOCK_TODAY: docks[champion_at]})
    train_judged(candidate, as_of=DAY, rival_as_of=CUT, fitter=recording)
    rival_final, champion_final = fitted[-1][-1], champion_sets[-1]
    assert len(rival_final[1]) == len(champion_final[1])
    pd.testing.assert_frame_equal(rival_final[0], champion_final[0])
    assert np.array_equal(rival_final[1], champion_final[1])


async def test_the_job_gives_the_rival_the_lines_the_champion_settled_on_its_los_angeles_date(world, owner_pool):
    await owner_pool.execute(
        "UPDATE app.warehouses SET timezone = 'America/Los_Angeles' WHERE id = $1", world.tenant.warehouses[0]
    )
    on_time, late = await world.supplier("ONTIME"), await world.supplier("LATE")
    await world.deliveries(on_time, 80, delay_days=0)
    await world.deliveries(late, 40, delay_days=3)
    # Ordered in the champion's three years but before the candidate's (a week later): the champion learnt from
    # them, its supplier figures too.
    oldest = TODAY - timedelta(days=TRAINING_HISTORY_DAYS)
    await world.deliveries(on_time, 3, delay_days=5, start=oldest)
    # The champion's run at 02:30 UTC on TODAY: the evening before in Los Angeles, where this line was due and
    # not late yet; a week later the candidate knows it late.
    await world.open_order(late, issued=TODAY - timedelta(days=10), expected=TODAY - timedelta(days=1))
    champion_at = datetime.combine(TODAY, time(2, 30), UTC)
    fitted: list = []

    def recording(sets):
        fitted.append(list(sets))
        return fit_in_process(sets)

    async with owner_pool.acquire() as owner:
        (who,) = await tenant_identities(owner, [world.tenant.id])
    champion = await train_tenant(world.database, who, recording, TODAY, at=champion_at)
    assert champion["promoted"] and champion["metrics"]["as_of_instant"] == champion_at.isoformat()
    week = timedelta(days=7)
    candidate = await train_tenant(world.database, who, recording, TODAY + week, force=True, at=champion_at + week)
    assert candidate["trained"], candidate
    (*_, champion_final), (*candidate_sets, rival_final) = fitted
    # The candidate's final booster knows the line due that evening, not the oldest three; the champion the reverse.
    assert max(len(labels) for _, labels in candidate_sets) == 121 and len(champion_final[1]) == 123
    pd.testing.assert_frame_equal(rival_final[0], champion_final[0])
    assert np.array_equal(rival_final[1], champion_final[1])
    async with owner_pool.acquire() as owner:
        start = await owner.fetchval("SELECT training_start FROM app.forecast_runs WHERE id = $1", candidate["run_id"])
    assert start.date() == TODAY - timedelta(days=300)  # its oldest line, not the champion's


def test_a_champion_stored_before_its_instant_was_recorded_is_taken_at_its_finish_on_its_as_of_day():
    finished = datetime(2026, 6, 1, 2, 41, tzinfo=UTC)

    def stored(**metrics):
        return StoredModel(uuid.uuid4(), 1, {"as_of": "2026-06-01", **metrics}, finished)

    recorded = datetime(2026, 6, 1, 2, 30, tzinfo=UTC)
    assert champion_instant(stored(as_of_instant=recorded.isoformat())) == recorded
    assert champion_instant(stored(as_of_instant=None)) is None  # dated with --today: every line on that day
    assert champion_instant(stored()) == finished
    assert champion_instant(StoredModel(uuid.uuid4(), 1, {"as_of": "2026-05-20"}, finished)) is None
